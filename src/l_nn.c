/*
** l_nn.c — the layer primitives and losses from Lua, PyTorch's functional
** names: linear, conv2d, max_pool2d, batch_norm, cross_entropy, ...  The
** nn modules of lua/nn/ are built on these.  Settings come as an options
** table, sizes as a number or an {h, w} pair.
*/
#include <math.h>
#include <string.h>

#include "fn_layers.h"
#include "lua_api.h"

/* ======================================================================
** Linear and activations
** ====================================================================== */

static int l_linear(lua_State *L) {
  Tensor *x = lt_check(L, 1), *w = lt_check(L, 2);
  Tensor *b = lua_isnoneornil(L, 3) || lua_toboolean(L, 3) == 0 ? NULL : lt_check(L, 3);
  return lt_push(L, fn_linear(x, w, b), "linear");
}

static int l_leaky_relu(lua_State *L) {
  double slope = luaL_optnumber(L, 2, 0.01);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    double v = lua_tonumber(L, 1);
    lua_pushnumber(L, v > 0 ? v : slope * v);
    return 1;
  }
  return lt_push(L, fn_leaky_relu(lt_check(L, 1), slope), "leaky_relu");
}

/* elu(x [, alpha=1]) */
static int l_elu(lua_State *L) {
  double alpha = luaL_optnumber(L, 2, 1.0);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    double v = lua_tonumber(L, 1);
    lua_pushnumber(L, v > 0 ? v : alpha * expm1(v));
    return 1;
  }
  return lt_push(L, fn_elu(lt_check(L, 1), alpha), "elu");
}

/* ======================================================================
** Convolution
** ====================================================================== */

static int conv(lua_State *L, int transposed) {
  static const char *const known[] = {"stride", "padding", "dilation", "groups", "output_padding", NULL};
  const char *name = transposed ? "conv_transpose2d" : "conv2d";
  Tensor *x = lt_check(L, 1), *w = lt_check(L, 2), *b = NULL;
  Conv2dParams p;
  int opts;
  if (lt_test(L, 3)) {
    b = lt_check(L, 3);
    opts = lt_opts(L, 4);
  } else if (lua_istable(L, 3)) {
    opts = 3;
  } else {
    opts = lt_opts(L, 4);   /* conv2d(x, w, nil, {...}) */
  }
  lt_checkkeys(L, opts, name, known);
  p.stride[0] = p.stride[1] = p.dilation[0] = p.dilation[1] = 1;
  p.padding[0] = p.padding[1] = p.output_padding[0] = p.output_padding[1] = 0;
  lt_optpair(L, opts, name, "stride", 1, p.stride);
  lt_optpair(L, opts, name, "padding", 0, p.padding);
  lt_optpair(L, opts, name, "dilation", 1, p.dilation);
  lt_optpair(L, opts, name, "output_padding", 0, p.output_padding);
  p.groups = (int64_t)lt_optwhole(L, opts, name, "groups", 1, 1);
  if (!transposed && (p.output_padding[0] || p.output_padding[1]))
    return luaL_error(L, "conv2d: output_padding is only for conv_transpose2d");
  return lt_push(L, transposed ? fn_conv_transpose2d(x, w, b, &p) : fn_conv2d(x, w, b, &p), name);
}

static int l_conv2d(lua_State *L) { return conv(L, 0); }
static int l_conv_transpose2d(lua_State *L) { return conv(L, 1); }

/* ======================================================================
** Pooling
** ====================================================================== */

static void pool_params(lua_State *L, const char *name, Pool2dParams *p, int avg) {
  static const char *const known_max[] = {"stride", "padding", "dilation", "ceil_mode", NULL};
  static const char *const known_avg[] = {"stride", "padding", "ceil_mode", "count_include_pad", NULL};
  int opts = lt_opts(L, 3);
  if (lua_isnoneornil(L, 2)) luaL_error(L, "%s: a kernel size is needed", name);
  lt_checkkeys(L, opts, name, avg ? known_avg : known_max);
  lt_checkpair(L, 2, name, "kernel_size", 1, p->kernel);
  /* the stride defaults to the kernel; a given stride must be positive */
  if (!lt_optpair(L, opts, name, "stride", 1, p->stride)) {
    p->stride[0] = p->kernel[0];
    p->stride[1] = p->kernel[1];
  }
  p->padding[0] = p->padding[1] = 0;
  p->dilation[0] = p->dilation[1] = 1;
  lt_optpair(L, opts, name, "padding", 0, p->padding);
  lt_optpair(L, opts, name, "dilation", 1, p->dilation);
  p->ceil_mode = lt_optbool(L, opts, "ceil_mode", 0);
  p->count_include_pad = lt_optbool(L, opts, "count_include_pad", 1);
}

static int l_max_pool2d(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  Pool2dParams p;
  pool_params(L, "max_pool2d", &p, 0);
  return lt_push(L, fn_max_pool2d(x, &p), "max_pool2d");
}

static int l_avg_pool2d(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  Pool2dParams p;
  pool_params(L, "avg_pool2d", &p, 1);
  return lt_push(L, fn_avg_pool2d(x, &p), "avg_pool2d");
}

static int l_adaptive_avg_pool2d(lua_State *L) {
  Tensor *x = lt_check(L, 1);
  int64_t s[2];
  lt_checkpair(L, 2, "adaptive_avg_pool2d", "output_size", 1, s);
  return lt_push(L, fn_adaptive_avg_pool2d(x, s[0], s[1]), "adaptive_avg_pool2d");
}

/* ======================================================================
** Batch normalization: batch_norm(x, {weight=, bias=, running_mean=,
** running_var=, training=true, momentum=0.1, eps=1e-5})
** ====================================================================== */

static int l_batch_norm(lua_State *L) {
  static const char *const known[] = {"weight", "bias", "running_mean", "running_var",
                                      "training", "momentum", "eps", NULL};
  Tensor *x = lt_check(L, 1);
  int opts = lt_opts(L, 2);
  BatchNormState s;
  Tensor *w, *b;
  lt_checkkeys(L, opts, "batch_norm", known);
  w = lt_opttensor(L, opts, "batch_norm", "weight");
  b = lt_opttensor(L, opts, "batch_norm", "bias");
  s.running_mean = lt_opttensor(L, opts, "batch_norm", "running_mean");
  s.running_var = lt_opttensor(L, opts, "batch_norm", "running_var");
  s.training = lt_optbool(L, opts, "training", 1);
  s.momentum = lt_optnumber(L, opts, "batch_norm", "momentum", 0.1);
  s.eps = lt_optnumber(L, opts, "batch_norm", "eps", 1e-5);
  if (b != NULL && w == NULL)
    return luaL_error(L, "batch_norm: a bias needs a weight too");
  if (!s.training && (s.running_mean == NULL || s.running_var == NULL))
    return luaL_error(L, "batch_norm: evaluation needs running_mean and running_var");
  return lt_push(L, fn_batch_norm(x, w, b, &s), "batch_norm");
}

/* ======================================================================
** Losses: loss(input, target [, {reduction="mean"|"sum"|"none"}])
** ====================================================================== */

static Reduction reduction(lua_State *L, int opts, const char *fname) {
  static const char *const known[] = {"reduction", NULL};
  const char *r = "mean";
  lt_checkkeys(L, opts, fname, known);
  if (opts != 0 && lua_getfield(L, opts, "reduction") != LUA_TNIL) r = lua_tostring(L, -1);
  if (opts != 0) lua_pop(L, 1);
  if (r != NULL && strcmp(r, "mean") == 0) return RED_MEAN;
  if (r != NULL && strcmp(r, "sum") == 0) return RED_SUM;
  if (r != NULL && strcmp(r, "none") == 0) return RED_NONE;
  luaL_error(L, "%s: reduction must be \"mean\", \"sum\" or \"none\"", fname);
  return RED_MEAN;
}

static int loss(lua_State *L, LossKind k) {
  const char *name = loss_name[k];
  Tensor *x = lt_check(L, 1), *t, **slot;
  Reduction red = reduction(L, lt_opts(L, 3), name);
  int probs = 0;
  if (lua_istable(L, 2) && lt_test(L, 2) == NULL) {   /* {1, 2}: a table of targets */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "nncalc");
    lua_getfield(L, -1, "tensor");
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)   /* "tensor: ragged table ..." is about the target */
      return luaL_error(L, "%s: the target table: %s", name, lua_tostring(L, -1));
    lua_replace(L, 2);
    lua_pop(L, 2);
  }
  if (k == LOSS_CROSS_ENTROPY || k == LOSS_NLL) {
    /* class indices (1-based numbers) or class probabilities (x's shape) */
    slot = lt_newslot(L);
    if (lua_type(L, 2) == LUA_TNUMBER) {
      lt_set(L, slot, tensor_scalar(lua_tonumber(L, 2) - 1), name);
    } else {
      Tensor *given = lt_check(L, 2);
      probs = tensor_same_shape(given, x) && x->ndim >= 1 && !(x->ndim == 1 && given->ndim == 0);
      if (probs && x->ndim == 1 && x->size[0] == 1) probs = 0;   /* one class: an index */
      lt_set(L, slot, probs ? tensor_retain(given) : op_binary_scalar(OP_SUB, given, 1.0, 0), name);
    }
    t = *slot;
  } else {
    t = lua_type(L, 2) == LUA_TNUMBER ? NULL : lt_check(L, 2);
    if (t == NULL) {   /* a number target: that value everywhere */
      slot = lt_newslot(L);
      lt_set(L, slot, op_full(x->ndim, x->size, lua_tonumber(L, 2)), name);
      t = *slot;
    }
  }
  if (red == RED_NONE || x->requires_grad || t->requires_grad)
    return lt_push(L, fn_loss(k, x, t, probs, red), name);
  return lt_pushvalue(L, fn_loss(k, x, t, probs, red), name);
}

static int l_mse_loss(lua_State *L) { return loss(L, LOSS_MSE); }
static int l_l1_loss(lua_State *L) { return loss(L, LOSS_L1); }
static int l_bce(lua_State *L) { return loss(L, LOSS_BCE); }
static int l_bce_logits(lua_State *L) { return loss(L, LOSS_BCE_LOGITS); }
static int l_cross_entropy(lua_State *L) { return loss(L, LOSS_CROSS_ENTROPY); }
static int l_nll_loss(lua_State *L) { return loss(L, LOSS_NLL); }

/* ======================================================================
** Shape rules for Lua (the nn modules' out_shape, summary, conv_out)
** nncalc._conv_size(n, k, stride, pad, dil [, "pool", ceil | "transpose", outpad])
** ====================================================================== */

static int l_conv_size(lua_State *L) {
  int64_t v[5], out;
  int i, rc;
  const char *kind = luaL_optstring(L, 6, "conv");
  for (i = 0; i < 5; i++) v[i] = (int64_t)lt_checkinteger(L, i + 1);
  if (strcmp(kind, "pool") == 0)
    rc = pool_out_size(v[0], v[1], v[2], v[3], v[4], lua_toboolean(L, 7), &out);
  else if (strcmp(kind, "transpose") == 0)
    rc = conv_transpose_out_size(v[0], v[1], v[2], v[3], v[4], (int64_t)lt_optinteger(L, 7, 0), &out);
  else
    rc = conv_out_size(v[0], v[1], v[2], v[3], v[4], &out);
  if (rc != NN_OK) {
    lua_pushnil(L);
    lua_pushstring(L, nn_errmsg());
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)out);
  return 1;
}

static const luaL_Reg functions[] = {
  {"linear", l_linear}, {"leaky_relu", l_leaky_relu}, {"elu", l_elu},
  {"conv2d", l_conv2d}, {"conv_transpose2d", l_conv_transpose2d},
  {"max_pool2d", l_max_pool2d}, {"avg_pool2d", l_avg_pool2d},
  {"adaptive_avg_pool2d", l_adaptive_avg_pool2d}, {"batch_norm", l_batch_norm},
  {"mse_loss", l_mse_loss}, {"l1_loss", l_l1_loss},
  {"binary_cross_entropy", l_bce}, {"binary_cross_entropy_with_logits", l_bce_logits},
  {"cross_entropy", l_cross_entropy}, {"nll_loss", l_nll_loss},
  {"_conv_size", l_conv_size},
  {NULL, NULL}
};

void lt_open_nn(lua_State *L, int lib, int methods) {
  lua_pushvalue(L, lib);
  luaL_setfuncs(L, functions, 0);
  lua_pop(L, 1);
  lua_pushvalue(L, methods);
  lua_pushcfunction(L, l_leaky_relu);
  lua_setfield(L, -2, "leaky_relu");
  lua_pushcfunction(L, l_elu);
  lua_setfield(L, -2, "elu");
  lua_pop(L, 1);
}
