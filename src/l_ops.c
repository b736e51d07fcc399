/*
** l_ops.c — Lua functions over tensor kernels: elementwise maths,
** comparisons, reductions, softmax, products and linear algebra.  Each is
** both a function (exp(x), sum(x, 1)) and a method (x:exp(), x:sum(1)).
*/
#include <math.h>
#include <string.h>

#include "lua_api.h"
#include "functions.h"

/* ======================================================================
** Elementwise
** ====================================================================== */

/* A unary function: numbers in, number out (exp(1) is e); tensors in,
** tensor out.  The op is the closure's upvalue. */
static int t_unary(lua_State *L) {
  UnaryOp op = (UnaryOp)lua_tointeger(L, lua_upvalueindex(1));
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_pushnumber(L, op_unary_apply(op, lua_tonumber(L, 1)));
    return 1;
  }
  return lt_push(L, fn_unary(op, lt_check(L, 1)), op_unary_name[op]);
}

/* gelu(x [, {approximate="none"|"tanh"}]): the exact form or PyTorch's
** tanh one (the gelu_tanh op). */
static int t_gelu(lua_State *L) {
  UnaryOp op = OP_GELU;
  if (lua_istable(L, 2)) {
    const char *a;
    lua_getfield(L, 2, "approximate");
    a = lua_isnil(L, -1) ? "none" : lua_tostring(L, -1);
    if (a != NULL && strcmp(a, "tanh") == 0) op = OP_GELU_TANH;
    else if (a == NULL || strcmp(a, "none") != 0)
      return luaL_argerror(L, 2, "approximate must be \"none\" or \"tanh\"");
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, 2)) {
    return luaL_argerror(L, 2, "options table expected, e.g. {approximate=\"tanh\"}");
  }
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_pushnumber(L, op_unary_apply(op, lua_tonumber(L, 1)));
    return 1;
  }
  return lt_push(L, fn_unary(op, lt_check(L, 1)), "gelu");
}

/* where(c, a, b): a where c ≠ 0, else b (a, b tensors or numbers). */
static int t_where(lua_State *L) {
  Tensor *c = lt_check(L, 1), *a, *b, **slot;
  if (lt_test(L, 2) == NULL) luaL_checknumber(L, 2);
  if (lt_test(L, 3) == NULL) luaL_checknumber(L, 3);
  a = *lt_newslot(L) = lt_totensor(L, 2);
  b = *lt_newslot(L) = lt_totensor(L, 3);
  if (a == NULL || b == NULL) return lt_error(L, "where");
  slot = lt_newslot(L);
  *slot = fn_where(c, a, b);
  return *slot ? 1 : lt_error(L, "where");
}

/* masked_fill(x, mask, v): v where mask ≠ 0, else x (PyTorch's). */
static int t_masked_fill(lua_State *L) {
  Tensor *x = lt_check(L, 1), *m = lt_check(L, 2), *v, **slot;
  luaL_checknumber(L, 3);
  v = *lt_newslot(L) = lt_totensor(L, 3);
  if (v == NULL) return lt_error(L, "masked_fill");
  slot = lt_newslot(L);
  *slot = fn_where(m, v, x);
  return *slot ? 1 : lt_error(L, "masked_fill");
}

/* tril(x [, k]) / triu(x [, k]) over the last two dims */
static int t_tril(lua_State *L) { return lt_push(L, fn_tri(lt_check(L, 1), lt_optinteger(L, 2, 0), 0), "tril"); }
static int t_triu(lua_State *L) { return lt_push(L, fn_tri(lt_check(L, 1), lt_optinteger(L, 2, 0), 1), "triu"); }

/* A binary elementwise method; either side may be a number. */
static int t_binary(lua_State *L) {
  BinaryOp op = (BinaryOp)lua_tointeger(L, lua_upvalueindex(1));
  Tensor *a = lt_test(L, 1), *b = lt_test(L, 2);
  const char *name = op_binary_name[op];
  if (a != NULL && b != NULL) return lt_push(L, fn_binary(op, a, b), name);
  if (a != NULL) return lt_push(L, fn_binary_scalar(op, a, luaL_checknumber(L, 2), 0), name);
  if (b != NULL) return lt_push(L, fn_binary_scalar(op, b, luaL_checknumber(L, 1), 1), name);
  lua_pushnumber(L, op_binary_apply(op, luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
  return 1;
}

/* ======================================================================
** Reductions
** ====================================================================== */

/* Reads the reduction dim (0-based, -1 for all elements) and keepdim from
** positional arguments (x, dim, keepdim) or a table (x, {dim=, keepdim=}). */
static int reduce_args(lua_State *L, Tensor *t, int *keepdim) {
  *keepdim = 0;
  if (lua_istable(L, 2)) {
    int dim = -1;
    lua_getfield(L, 2, "keepdim");
    *keepdim = lua_toboolean(L, -1);
    if (lua_getfield(L, 2, "dim") != LUA_TNIL) {
      lua_replace(L, 2);   /* so errors name argument 2 */
      dim = lt_checkdim(L, 2, t, 0);
    }
    return dim;
  }
  if (lua_isnoneornil(L, 2)) return -1;
  *keepdim = lua_toboolean(L, 3);
  return lt_checkdim(L, 2, t, 0);
}

/* Pushes op over dim (a tensor) or over everything (a single value). */
static void push_reduce(lua_State *L, ReduceOp op, Tensor *t, int dim, int keepdim) {
  const char *name = op_reduce_name[op];
  int arg = op == OP_ARGMAX || op == OP_ARGMIN;
  if (dim < 0 && arg) {
    double v;
    if (op_reduce_all(op, t, &v) != NN_OK) lt_error(L, name);
    lua_pushinteger(L, (lua_Integer)v + 1);   /* 1-based */
  } else if (dim < 0) {
    lt_pushvalue(L, fn_reduce_all(op, t), name);
  } else {
    Tensor **slot = lt_newslot(L);
    lt_set(L, slot, fn_reduce(op, t, dim, keepdim), name);
    if (arg) {
      Tensor *one = op_binary_scalar(OP_ADD, *slot, 1.0, 0);   /* 1-based */
      if (one == NULL) lt_error(L, name);
      tensor_release(*slot);
      *slot = one;
    }
  }
}

/* sum{dims=1} must not quietly sum everything */
static const char *const reduce_keys[] = {"dim", "keepdim", NULL};

static int reduce(lua_State *L, ReduceOp op) {
  Tensor *t = lt_check(L, 1);
  int keepdim, dim;
  if (lua_istable(L, 2) && lt_test(L, 2) == NULL) lt_checkkeys(L, 2, op_reduce_name[op], reduce_keys);
  dim = reduce_args(L, t, &keepdim);
  push_reduce(L, op, t, dim, keepdim);
  return 1;
}

static int t_sum(lua_State *L) { return reduce(L, OP_SUM); }
static int t_mean(lua_State *L) { return reduce(L, OP_MEAN); }
static int t_prod(lua_State *L) { return reduce(L, OP_PROD); }
static int t_argmax(lua_State *L) { return reduce(L, OP_ARGMAX); }
static int t_argmin(lua_State *L) { return reduce(L, OP_ARGMIN); }

/* max(x) is a number; max(x, d) gives the values along d and their 1-based
** positions; max(a, b) of two tensors or two numbers is elementwise. */
static int minmax(lua_State *L, ReduceOp op, ReduceOp argop, BinaryOp elem) {
  Tensor *t;
  int keepdim, dim;
  if (lt_test(L, 2) != NULL || lua_type(L, 1) == LUA_TNUMBER) {
    Tensor *a = lt_test(L, 1), *b = lt_test(L, 2);
    const char *name = op_binary_name[elem];
    if (a != NULL && b != NULL) return lt_push(L, fn_binary(elem, a, b), name);
    if (b != NULL) return lt_push(L, fn_binary_scalar(elem, b, luaL_checknumber(L, 1), 1), name);
    lua_pushnumber(L, op_binary_apply(elem, luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
  }
  t = lt_check(L, 1);
  if (lua_istable(L, 2)) lt_checkkeys(L, 2, op_reduce_name[op], reduce_keys);
  dim = reduce_args(L, t, &keepdim);
  push_reduce(L, op, t, dim, keepdim);
  if (dim < 0) return 1;
  push_reduce(L, argop, t, dim, keepdim);
  return 2;
}

static int t_max(lua_State *L) { return minmax(L, OP_MAX, OP_ARGMAX, OP_MAXIMUM); }
static int t_min(lua_State *L) { return minmax(L, OP_MIN, OP_ARGMIN, OP_MINIMUM); }

/* softmax(x [, dim]): dim defaults to the last one. */
static int softmax_common(lua_State *L, int log_form) {
  Tensor *t = lt_check(L, 1);
  const char *name = log_form ? "log_softmax" : "softmax";
  int dim;
  if (t->ndim == 0)
    return luaL_error(L, "%s: needs at least one dimension (got a scalar)", name);
  dim = lua_isnoneornil(L, 2) ? t->ndim - 1 : lt_checkdim(L, 2, t, 0);
  return lt_push(L, log_form ? fn_log_softmax(t, dim) : fn_softmax(t, dim), name);
}

static int t_softmax(lua_State *L) { return softmax_common(L, 0); }
static int t_log_softmax(lua_State *L) { return softmax_common(L, 1); }

/* ======================================================================
** Products
** ====================================================================== */

static int t_dot(lua_State *L) {
  return lt_pushvalue(L, fn_dot(lt_check(L, 1), lt_check(L, 2)), "dot");
}

static int t_mv(lua_State *L) { return lt_push(L, fn_mv(lt_check(L, 1), lt_check(L, 2)), "mv"); }
static int t_mm(lua_State *L) { return lt_push(L, fn_mm(lt_check(L, 1), lt_check(L, 2)), "mm"); }
static int t_bmm(lua_State *L) { return lt_push(L, fn_bmm(lt_check(L, 1), lt_check(L, 2)), "bmm"); }
static int t_outer(lua_State *L) {
  return lt_push(L, fn_outer(lt_check(L, 1), lt_check(L, 2)), "outer");
}

static int t_matmul(lua_State *L) {
  const char *kind;
  Tensor **slot = lt_newslot(L);
  *slot = fn_matmul(lt_check(L, 1), lt_check(L, 2), &kind);
  if (*slot == NULL) return luaL_error(L, "matmul (as %s): %s", kind, nn_errmsg());
  if ((*slot)->ndim == 0 && !(*slot)->requires_grad) lua_pushnumber(L, (*slot)->storage->data[0]);
  return 1;
}

/* ======================================================================
** Linear algebra
** ====================================================================== */

static int t_det(lua_State *L) {
  return lt_pushvalue(L, fn_det(lt_check(L, 1)), "det");
}

static int t_inv(lua_State *L) { return lt_push(L, fn_inv(lt_check(L, 1)), "inv"); }
static int t_solve(lua_State *L) {
  return lt_push(L, fn_solve(lt_check(L, 1), lt_check(L, 2)), "solve");
}
static int t_pinv(lua_State *L) {
  Tensor *a = lt_check(L, 1);
  if (a->requires_grad && ag_grad_enabled)
    return luaL_error(L, "pinv: has no gradient; use solve or inv in a graph, or call "
                      "pinv on x:detach()");
  return lt_push(L, op_pinv(a, luaL_optnumber(L, 2, 0.0)), "pinv");
}

/* eigh(A) -> w, V: eigenvalues ascending and eigenvectors as columns. */
static int t_eigh(lua_State *L) {
  Tensor *a = lt_check(L, 1), *w, *v;
  Tensor **sw, **sv;
  if (a->requires_grad && ag_grad_enabled)
    return luaL_error(L, "eigh: has no gradient; call eigh on x:detach()");
  sw = lt_newslot(L);   /* both slots exist before anything can fail */
  sv = lt_newslot(L);
  if (op_eigh(a, &w, &v) != NN_OK) return lt_error(L, "eigh");
  *sw = w;
  *sv = v;
  return 2;
}

static int t_rank(lua_State *L) {
  int64_t r;
  if (op_rank(lt_check(L, 1), luaL_optnumber(L, 2, 0.0), &r) != NN_OK)
    return lt_error(L, "rank");
  lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

/* ======================================================================
** Comparing whole tensors
** ====================================================================== */

/* allclose(a, b [, rtol [, atol]]): same broadcast shape and
** |a - b| <= atol + rtol*|b| everywhere (NumPy's rule; defaults 1e-5, 1e-8). */
static int t_allclose(lua_State *L) {
  double rtol = luaL_optnumber(L, 3, 1e-5), atol = luaL_optnumber(L, 4, 1e-8);
  Tensor *a, *b, *ea, *eb, *ops[2];
  TensorIter it;
  int64_t size[TENSOR_MAXDIM], i;
  int ndim, close = 1;
  luaL_argcheck(L, rtol >= 0, 3, "the relative tolerance must be >= 0");
  luaL_argcheck(L, atol >= 0, 4, "the absolute tolerance must be >= 0");
  if (lua_type(L, 1) == LUA_TNUMBER && lt_test(L, 2) == NULL) lt_check(L, 2);
  /* hold both in userdata slots, so a raised error frees them */
  a = *lt_newslot(L) = lt_totensor(L, 1);
  b = *lt_newslot(L) = lt_totensor(L, 2);
  if (op_broadcast_shape(a, b, &ndim, size) != NN_OK) return lt_error(L, "allclose");
  ea = *lt_newslot(L) = tensor_expand(a, ndim, size);
  eb = *lt_newslot(L) = tensor_expand(b, ndim, size);
  if (ea == NULL || eb == NULL) return lt_error(L, "allclose");
  ops[0] = ea;
  ops[1] = eb;
  tensor_iter_init(&it, 2, ops);
  while (close && tensor_iter_next(&it))
    for (i = 0; i < it.inner && close; i++) {
      double x = it.ptr[0][i * it.istride[0]], y = it.ptr[1][i * it.istride[1]];
      if (isnan(x) || isnan(y)) close = 0;
      else if (x != y) close = fabs(x - y) <= atol + rtol * fabs(y);
    }
  lua_pushboolean(L, close);
  return 1;
}

/* ======================================================================
** Registration
** ====================================================================== */

static const luaL_Reg shared[] = {
  {"sum", t_sum}, {"mean", t_mean}, {"prod", t_prod}, {"max", t_max},
  {"min", t_min}, {"argmax", t_argmax}, {"argmin", t_argmin},
  {"softmax", t_softmax}, {"log_softmax", t_log_softmax},
  {"dot", t_dot}, {"mv", t_mv}, {"mm", t_mm}, {"bmm", t_bmm},
  {"outer", t_outer}, {"matmul", t_matmul},
  {"det", t_det}, {"inv", t_inv}, {"solve", t_solve}, {"pinv", t_pinv}, {"eigh", t_eigh},
  {"rank", t_rank}, {"allclose", t_allclose},
  {"where", t_where}, {"masked_fill", t_masked_fill}, {"tril", t_tril}, {"triu", t_triu},
  {NULL, NULL}
};

static void set_closures(lua_State *L, int target, const char *const *names,
                         int n, lua_CFunction f) {
  int i;
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, target, names[i]);
  }
}

void lt_open_ops(lua_State *L, int lib, int methods) {
  int targets[2], k;
  targets[0] = lib;
  targets[1] = methods;
  for (k = 0; k < 2; k++) {
    lua_pushvalue(L, targets[k]);
    luaL_setfuncs(L, shared, 0);
    set_closures(L, lua_gettop(L), op_unary_name, OP_UNARY_COUNT, t_unary);
    set_closures(L, lua_gettop(L), op_binary_name, OP_BINARY_COUNT, t_binary);
    lua_pushcfunction(L, t_gelu);
    lua_setfield(L, -2, "gelu");
    lua_pop(L, 1);
  }
}
