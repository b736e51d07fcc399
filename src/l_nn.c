/*
** l_nn.c — the layer primitives and losses from Lua, PyTorch's functional
** names: linear, conv2d, max_pool2d, batch_norm, cross_entropy, ...  The
** nn modules of lua/nn/ are built on these.  Settings come as an options
** table, sizes as a number or an {h, w} pair.
*/
#include <string.h>

#include "fn_layers.h"
#include "lua_api.h"

/* ======================================================================
** Options
** ====================================================================== */

/* opts[key] as an {h, w} pair (a number means both); def when absent. */
static void opt_pair(lua_State *L, int opts, const char *fname, const char *key,
                     int64_t def, int64_t out[2]) {
  int t;
  out[0] = out[1] = def;
  if (opts == 0) return;
  t = lua_getfield(L, opts, key);
  if (t == LUA_TNUMBER) {
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint) luaL_error(L, "%s: %s must be a whole number, got %s", fname, key, lua_tostring(L, -1));
    out[0] = out[1] = (int64_t)v;
  } else if (t == LUA_TTABLE) {
    int k;
    if (luaL_len(L, -1) != 2) luaL_error(L, "%s: %s must be a number or an {h, w} pair", fname, key);
    for (k = 0; k < 2; k++) {
      int isint;
      lua_Integer v;
      lua_geti(L, -1, k + 1);
      v = lua_tointegerx(L, -1, &isint);
      if (!isint) luaL_error(L, "%s: %s[%d] must be a whole number", fname, key, k + 1);
      out[k] = (int64_t)v;
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    luaL_error(L, "%s: %s must be a number or an {h, w} pair, got %s", fname, key, lua_typename(L, t));
  }
  lua_pop(L, 1);
}

static int opt_bool(lua_State *L, int opts, const char *key, int def) {
  int v = def;
  if (opts == 0) return def;
  if (lua_getfield(L, opts, key) != LUA_TNIL) v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static double opt_number(lua_State *L, int opts, const char *fname, const char *key, double def) {
  double v = def;
  if (opts == 0) return def;
  if (lua_getfield(L, opts, key) != LUA_TNIL) {
    int isnum;
    v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) luaL_error(L, "%s: %s must be a number", fname, key);
  }
  lua_pop(L, 1);
  return v;
}

/* Every key of opts must be one of the known ones (a typo is an error). */
static void check_keys(lua_State *L, int opts, const char *fname, const char *const *known) {
  if (opts == 0) return;
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int i, found = 0;
    for (i = 0; k && known[i]; i++)
      if (strcmp(k, known[i]) == 0) found = 1;
    if (!found) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (i = 0; known[i]; i++) {
        luaL_addstring(&b, i ? ", " : "");
        luaL_addstring(&b, known[i]);
      }
      luaL_pushresult(&b);
      luaL_error(L, "%s: unknown option '%s' (known: %s)", fname, k ? k : "?", lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* The options table at arg, or 0 when there is none. */
static int opts_at(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return 0;
  luaL_checktype(L, arg, LUA_TTABLE);
  return arg;
}

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

/* ======================================================================
** Convolution
** ====================================================================== */

static int conv(lua_State *L, int transposed) {
  static const char *const known[] = {"stride", "padding", "dilation", "groups", "output_padding", NULL};
  const char *name = transposed ? "conv_transpose2d" : "conv2d";
  Tensor *x = lt_check(L, 1), *w = lt_check(L, 2), *b = NULL;
  Conv2dParams p;
  int opts;
  int64_t g[2];
  if (lt_test(L, 3)) {
    b = lt_check(L, 3);
    opts = opts_at(L, 4);
  } else if (lua_istable(L, 3)) {
    opts = 3;
  } else {
    opts = opts_at(L, 4);   /* conv2d(x, w, nil, {...}) */
  }
  check_keys(L, opts, name, known);
  opt_pair(L, opts, name, "stride", 1, p.stride);
  opt_pair(L, opts, name, "padding", 0, p.padding);
  opt_pair(L, opts, name, "dilation", 1, p.dilation);
  opt_pair(L, opts, name, "output_padding", 0, p.output_padding);
  opt_pair(L, opts, name, "groups", 1, g);
  p.groups = g[0];
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
  int opts = opts_at(L, 3);
  int64_t k[2];
  lua_newtable(L);   /* kernel read through the same pair parser */
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "kernel");
  opt_pair(L, lua_gettop(L), name, "kernel", 0, k);
  lua_pop(L, 1);
  if (lua_isnoneornil(L, 2)) luaL_error(L, "%s: a kernel size is needed", name);
  check_keys(L, opts, name, avg ? known_avg : known_max);
  p->kernel[0] = k[0];
  p->kernel[1] = k[1];
  opt_pair(L, opts, name, "stride", 0, p->stride);
  if (p->stride[0] == 0 && p->stride[1] == 0) {   /* stride defaults to the kernel */
    p->stride[0] = k[0];
    p->stride[1] = k[1];
  }
  opt_pair(L, opts, name, "padding", 0, p->padding);
  opt_pair(L, opts, name, "dilation", 1, p->dilation);
  p->ceil_mode = opt_bool(L, opts, "ceil_mode", 0);
  p->count_include_pad = opt_bool(L, opts, "count_include_pad", 1);
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
  lua_newtable(L);
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "output_size");
  opt_pair(L, lua_gettop(L), "adaptive_avg_pool2d", "output_size", -1, s);
  if (s[0] < 1 || s[1] < 1)
    return luaL_error(L, "adaptive_avg_pool2d: output size must be positive, got %I x %I",
                      (lua_Integer)s[0], (lua_Integer)s[1]);
  return lt_push(L, fn_adaptive_avg_pool2d(x, s[0], s[1]), "adaptive_avg_pool2d");
}

/* ======================================================================
** Batch normalization: batch_norm(x, {weight=, bias=, running_mean=,
** running_var=, training=true, momentum=0.1, eps=1e-5})
** ====================================================================== */

static Tensor *opt_tensor(lua_State *L, int opts, const char *fname, const char *key) {
  Tensor *t = NULL;
  if (opts == 0) return NULL;
  if (lua_getfield(L, opts, key) != LUA_TNIL) {
    t = lt_test(L, -1);
    if (t == NULL) luaL_error(L, "%s: %s must be a tensor", fname, key);
  }
  lua_pop(L, 1);   /* still referenced by the options table */
  return t;
}

static int l_batch_norm(lua_State *L) {
  static const char *const known[] = {"weight", "bias", "running_mean", "running_var",
                                      "training", "momentum", "eps", NULL};
  Tensor *x = lt_check(L, 1);
  int opts = opts_at(L, 2);
  BatchNormState s;
  Tensor *w, *b;
  check_keys(L, opts, "batch_norm", known);
  w = opt_tensor(L, opts, "batch_norm", "weight");
  b = opt_tensor(L, opts, "batch_norm", "bias");
  s.running_mean = opt_tensor(L, opts, "batch_norm", "running_mean");
  s.running_var = opt_tensor(L, opts, "batch_norm", "running_var");
  s.training = opt_bool(L, opts, "training", 1);
  s.momentum = opt_number(L, opts, "batch_norm", "momentum", 0.1);
  s.eps = opt_number(L, opts, "batch_norm", "eps", 1e-5);
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
  check_keys(L, opts, fname, known);
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
  Reduction red = reduction(L, opts_at(L, 3), name);
  int probs = 0;
  if (lua_istable(L, 2) && lt_test(L, 2) == NULL) {   /* {1, 2}: a table of targets */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "nncalc");
    lua_getfield(L, -1, "tensor");
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
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
  for (i = 0; i < 5; i++) v[i] = (int64_t)luaL_checkinteger(L, i + 1);
  if (strcmp(kind, "pool") == 0)
    rc = pool_out_size(v[0], v[1], v[2], v[3], v[4], lua_toboolean(L, 7), &out);
  else if (strcmp(kind, "transpose") == 0)
    rc = conv_transpose_out_size(v[0], v[1], v[2], v[3], v[4], (int64_t)luaL_optinteger(L, 7, 0), &out);
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
  {"linear", l_linear}, {"leaky_relu", l_leaky_relu},
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
  lua_pop(L, 1);
}
