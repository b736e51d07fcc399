/*
** l_tensor.c — the Tensor userdata: construction from Lua values, 1-based
** indexing, shape methods and the arithmetic metamethods.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua_api.h"
#include "functions.h"

/* ======================================================================
** Shapes
** ====================================================================== */

static int shape_tostring(lua_State *L) {
  luaL_Buffer b;
  lua_Integer i, n = luaL_len(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "{");
  for (i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    luaL_addvalue(&b);
    if (i < n) luaL_addstring(&b, ", ");
  }
  luaL_addstring(&b, "}");
  luaL_pushresult(&b);
  return 1;
}

static int shape_eq(lua_State *L) {
  lua_Integer i, n = luaL_len(L, 1);
  int eq = n == luaL_len(L, 2);
  for (i = 1; eq && i <= n; i++) {
    lua_geti(L, 1, i);
    lua_geti(L, 2, i);
    eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  lua_pushboolean(L, eq);
  return 1;
}

static int shape_self(lua_State *L) {
  lua_settop(L, 1);
  return 1;
}

/* ======================================================================
** Construction
** ====================================================================== */

/* Finds the shape of a nested table by following first elements. */
static int nested_shape(lua_State *L, int idx, int64_t *size) {
  int nd = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (nd == TENSOR_MAXDIM) {
      luaL_error(L, "tensor: table nested deeper than %d levels", TENSOR_MAXDIM);
    }
    size[nd++] = (int64_t)luaL_len(L, -1);
    if (size[nd - 1] == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

/* Copies the nested table at idx into data, checking that every level has
** the length the shape says (no ragged rows) and every leaf is a number. */
static void nested_fill(lua_State *L, int idx, int nd, const int64_t *size,
                        int depth, double **data, char *path, size_t plen) {
  int64_t i, n = size[depth];
  if (!lua_istable(L, idx) || lt_test(L, idx))
    luaL_error(L, "tensor: element %s is a %s, expected a table of %I values "
               "(rows must all have the same shape)",
               plen ? path : "(top)", luaL_typename(L, idx), (lua_Integer)n);
  if (luaL_len(L, idx) != n)
    luaL_error(L, "tensor: ragged table, row %s has %I entries, expected %I",
               plen ? path : "(top)", (lua_Integer)luaL_len(L, idx), (lua_Integer)n);
  for (i = 0; i < n; i++) {
    size_t l = plen + (size_t)snprintf(path + plen, 256 - plen, "[%lld]", (long long)i + 1);
    lua_geti(L, idx, i + 1);
    if (depth + 1 < nd) {
      nested_fill(L, lua_gettop(L), nd, size, depth + 1, data, path, l);
    } else {
      int isnum;
      double v = lua_tonumberx(L, -1, &isnum);
      Tensor *one = lt_test(L, -1);
      /* a single value read from a graph (a 0-d tensor) counts as its number */
      if (one != NULL && tensor_numel(one) == 1) {
        v = tensor_get_flat(one, 0);
        isnum = 1;
      } else if (!isnum || lua_type(L, -1) != LUA_TNUMBER) {
        luaL_error(L, "tensor: element %s is a %s, expected a number",
                   path, lt_typename(L, -1));
      }
      *(*data)++ = v;
    }
    lua_pop(L, 1);
  }
}

static int t_tensor(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  int nd;
  char path[256] = "";
  double *data;
  Tensor **slot, *t;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    return lt_push(L, tensor_scalar(lua_tonumber(L, 1)), "tensor");
  }
  if ((t = lt_test(L, 1)) != NULL) return lt_push(L, tensor_clone(t), "tensor");
  luaL_argexpected(L, lua_istable(L, 1), 1, "table of numbers");
  nd = nested_shape(L, 1, size);
  slot = lt_newslot(L);   /* owns the tensor if filling raises */
  lt_set(L, slot, tensor_new(nd, size), "tensor");
  data = (*slot)->storage->data;
  nested_fill(L, 1, nd, size, 0, &data, path, 0);
  return 1;
}

/* zeros, ones, rand, randn: a shape in, a tensor out; the constructor is
** picked by the closure's upvalue. */
static int t_shaped(lua_State *L) {
  static const char *const names[] = {"zeros", "ones", "rand", "randn"};
  int64_t size[TENSOR_MAXDIM];
  int which = (int)lua_tointeger(L, lua_upvalueindex(1));
  int nd = lt_checkshape(L, 1, size);
  Tensor *t = which == 0 ? tensor_zeros(nd, size)
            : which == 1 ? op_full(nd, size, 1.0)
            : which == 2 ? op_rand(nd, size) : op_randn(nd, size);
  return lt_push(L, t, names[which]);
}

static int t_full(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  int nd;
  double v;
  luaL_argexpected(L, lua_istable(L, 1), 1, "shape table");
  v = luaL_checknumber(L, 2);
  nd = lt_checkshape(L, 1, size);
  return lt_push(L, op_full(nd, size, v), "full");
}

static int t_eye(lua_State *L) {
  int64_t n = lt_checksize(L, 1, 1);
  int64_t m = lua_isnoneornil(L, 2) ? n : lt_checksize(L, 2, 2);
  return lt_push(L, op_eye(n, m), "eye");
}

static int t_arange(lua_State *L) {
  double a = luaL_checknumber(L, 1);
  double b, step;
  if (lua_isnoneornil(L, 2)) { b = a; a = 1; }   /* arange(n) = 1..n */
  else b = luaL_checknumber(L, 2);
  step = luaL_optnumber(L, 3, 1.0);
  return lt_push(L, op_arange(a, b, step), "arange");
}

static int t_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  int64_t n = lua_isnoneornil(L, 3) ? 100 : lt_checksize(L, 3, 3);
  return lt_push(L, op_linspace(a, b, n), "linspace");
}

static int t_seed(lua_State *L) {
  lua_Integer s = lt_checkinteger(L, 1);
  rng_seed((uint64_t)s);
  return 0;
}

/* nncalc._draw_seed(): a seed from the global stream, so that a module
** built after seed(n) gets the same parameters in every run. */
static int t_draw_seed(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)rng_draw_seed());
  return 1;
}

/* A tensor from make() with the generator seeded by sd, the global stream
** left where it was. */
static Tensor *seeded(lua_Integer sd, int nd, const int64_t *size, Tensor *(*make)(int, const int64_t *)) {
  RngState saved;
  Tensor *t;
  rng_save(&saved);
  rng_seed((uint64_t)sd);
  t = make(nd, size);
  rng_restore(&saved);
  return t;
}

/* nncalc._uniform_seeded(seed, a, b, n1, ...): uniform [a, b) numbers from
** their own stream, leaving the global one where it was (lazy parameters
** come out the same whenever they are first touched). */
static int t_uniform_seeded(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  lua_Integer sd = lt_checkinteger(L, 1);
  double a = luaL_checknumber(L, 2), b = luaL_checknumber(L, 3);
  int nd = lt_checkshape(L, 4, size);
  Tensor *t = seeded(sd, nd, size, op_rand);
  if (t != NULL) {
    int64_t i, n = tensor_numel(t);
    for (i = 0; i < n; i++) t->storage->data[i] = a + (b - a) * t->storage->data[i];
  }
  return lt_push(L, t, "uniform");
}

/* nncalc._normal_seeded(seed, n1, ...): N(0, 1) numbers from their own
** stream, as _uniform_seeded (nn.Embedding's weights). */
static int t_normal_seeded(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  lua_Integer sd = lt_checkinteger(L, 1);
  int nd = lt_checkshape(L, 2, size);
  return lt_push(L, seeded(sd, nd, size, op_randn), "normal");
}

/* limits{max_elements=N} sets; limits() returns the current table. */
static int t_limits(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      if (strcmp(k, "max_elements") == 0) {
        lua_Integer n;
        if (!lt_towhole(L, -1, &n) || n < 1)
          luaL_error(L, "limits: max_elements must be a positive whole number, got %s",
                     lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL) : lt_typename(L, -1));
        if (nn_set_max_elements((int64_t)n) != NN_OK) lt_error(L, "limits");
      } else {
        luaL_error(L, "limits: unknown limit '%s' (known: max_elements)", k);
      }
      lua_pop(L, 1);
    }
  }
  lua_createtable(L, 0, 1);
  lua_pushinteger(L, (lua_Integer)nn_max_elements());
  lua_setfield(L, -2, "max_elements");
  return 1;
}

/* ======================================================================
** Indexing: x[i], x[{i, j}], x[{i, {a, b}, {}}] and assignment
** ====================================================================== */

/* Where a position lies: " (or -3..-1) for dimension 2 (shape 4x3)". */
static const char *where_in(lua_State *L, const Tensor *t, int d) {
  char b[128];
  return lua_pushfstring(L, " (or %I..-1) for dimension %d (shape %s)", -(lua_Integer)t->size[d],
                         d + 1, tensor_shape_str(t, b, sizeof b));
}

/* A 1-based position (negative from the end) along dim d of t, read from
** stack index idx, as 0-based.  arg is the argument it came in as, or 0
** for an entry of an index table (errors then name fname). */
static int64_t checkindex(lua_State *L, int idx, int arg, const Tensor *t, int d,
                          const char *fname) {
  lua_Integer given, i, n = (lua_Integer)t->size[d];
  if (!lt_towhole(L, idx, &given)) {
    if (arg > 0) luaL_argerror(L, arg, lt_notwhole(L, idx));
    luaL_error(L, "%s: index must be a whole number, got %s", fname,
               lua_type(L, idx) == LUA_TNUMBER ? luaL_tolstring(L, idx, NULL) : lt_typename(L, idx));
  }
  i = given < 0 && given >= -n ? given + n + 1 : given;
  if (i < 1 || i > n) lt_rangeerror(L, arg, fname, "index", given, 1, n, where_in(L, t, d));
  return (int64_t)i - 1;
}

/* Reads a {first, last} range (1-based, inclusive, negative from the end;
** {} is everything, {i} is just i) for dimension d of t. */
static void checkrange(lua_State *L, int idx, const Tensor *t, int d, const char *fname,
                       int64_t *start, int64_t *len) {
  lua_Integer n = luaL_len(L, idx), a = 1, b = t->size[d], size = t->size[d];
  char sh[128];
  int k;
  for (k = 1; k <= 2 && k <= n; k++) {
    lua_Integer v;
    lua_geti(L, idx, k);
    if (!lt_towhole(L, -1, &v))
      luaL_error(L, "%s: range entry %d must be a whole number, got %s", fname, k,
                 lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL) : lt_typename(L, -1));
    lua_pop(L, 1);
    if (v < 0 && v >= -size) v += size + 1;
    if (k == 1) a = b = v;
    else b = v;
  }
  if (n > 2 || a < 1 || b > size || b < a - 1)
    luaL_error(L, "%s: range {%I, %I} out of bounds for dimension %d of size %I (shape %s)",
               fname, a, b, d + 1, size, tensor_shape_str(t, sh, sizeof sh));
  *start = a - 1;
  *len = b - a + 1;
}

/* Reads the index at idx (a number, or a table of numbers, {first, last}
** ranges and {}): entry k applies to dim k of t.  A number drops its dim;
** a range keeps it.  Everything is checked before any tensor is made. */
static void checkspec(lua_State *L, Tensor *t, int idx, const char *fname, IndexSpec *spec) {
  lua_Integer k, n;
  char b[128];
  spec->n = 0;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (t->ndim == 0) luaL_error(L, "%s: cannot index a scalar", fname);
    spec->n = 1;
    spec->is_range[0] = 0;
    spec->start[0] = checkindex(L, idx, 0, t, 0, fname);
    return;
  }
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: cannot index a tensor with a %s", fname, luaL_typename(L, idx));
  n = luaL_len(L, idx);
  if (n > t->ndim)
    luaL_error(L, "%s: %I indices for a tensor of shape %s", fname, n,
               tensor_shape_str(t, b, sizeof b));
  for (k = 1; k <= n; k++) {
    int ty = lua_geti(L, idx, k), d = (int)k - 1;
    spec->is_range[d] = ty == LUA_TTABLE;
    if (ty == LUA_TNUMBER)
      spec->start[d] = checkindex(L, -1, 0, t, d, fname);
    else if (ty == LUA_TTABLE)
      checkrange(L, lua_gettop(L), t, d, fname, &spec->start[d], &spec->len[d]);
    else
      luaL_error(L, "%s: index %d is a %s (numbers, {first, last} ranges or {} expected)",
                 fname, (int)k, lua_typename(L, ty));
    lua_pop(L, 1);
  }
  spec->n = (int)n;
}

/* Only tensors have this metatable: NULL here means the tensor was closed
** (its methods can still be looked up, and then say so themselves). */
static int closed(lua_State *L, const char *fname) {
  return luaL_error(L, "%s: the tensor has been closed (local x <close> ended its life)", fname);
}

/* x.T: the transpose of a matrix, the dimensions reversed for more (as
** PyTorch's .mT/.permute), a vector or scalar as it is. */
static int t_T(lua_State *L, Tensor *t, int methods) {
  int i;
  if (t->ndim <= 1) { lua_settop(L, 1); return 1; }
  lua_getfield(L, methods, t->ndim == 2 ? "t" : "permute");
  lua_pushvalue(L, 1);
  if (t->ndim > 2)
    for (i = t->ndim; i >= 1; i--) lua_pushinteger(L, i);
  lua_call(L, t->ndim == 2 ? 1 : 1 + t->ndim, 1);
  return 1;
}

/* nncalc._wants_grad(x): whether x requires grad (help on a value). */
static int t_wants_grad(lua_State *L) {
  lua_pushboolean(L, lt_check(L, 1)->requires_grad);
  return 1;
}

static int t_index(lua_State *L) {
  Tensor *t = lt_test(L, 1), *v;
  IndexSpec spec;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    if (k[0] == 'g' && strcmp(k, "grad") == 0) {   /* x.grad */
      if (t == NULL) return closed(L, "grad");
      if (t->grad != NULL) return lt_push(L, tensor_retain(t->grad), "grad");
      /* an intermediate's gradient is not kept: the methods' hook (in
      ** autograd.lua, once loaded) says so, once, as PyTorch warns */
      if (t->node != NULL && !t->retain_grad) {
        lua_pushliteral(L, "_nonleaf_grad");
        if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TFUNCTION) {
          lua_pushvalue(L, 1);
          lua_call(L, 1, 0);
        } else {
          lua_pop(L, 1);
        }
      }
      lua_pushnil(L);
      return 1;
    }
    /* PyTorch's spellings: x.shape is a field there (and stays a method
    ** here: a shape table called returns itself), x.T the transpose */
    if (k[0] == 's' && strcmp(k, "shape") == 0) {
      if (t == NULL) return closed(L, "shape");
      lt_pushshape(L, t->ndim, t->size);
      return 1;
    }
    if (k[0] == 'T' && k[1] == '\0') return t == NULL ? closed(L, "T") : t_T(L, t, lua_upvalueindex(1));
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));   /* the methods table */
    return 1;
  }
  if (t == NULL) return closed(L, "index");
  checkspec(L, t, 2, "index", &spec);
  v = fn_index(t, &spec);
  /* a single element reads as a plain number, as on paper */
  if (v != NULL && v->ndim == 0) return lt_pushvalue(L, v, "index");
  return lt_push(L, v, "index");
}

/* Writing into a tensor that a graph computed would change values the
** backward pass needs: only leaves may be written, and views of a leaf
** (W[1][2] = 7, W[i][i]:fill(0.25)), which write into the leaf itself.  A
** write that would corrupt a recorded backward (the leaf was used and its
** values are saved) is caught by the storage's version when that backward
** runs. */
static void check_writable(lua_State *L, const Tensor *t, const char *fname) {
  const Tensor *base = t;
  while (base->node != NULL && base->node->nin >= 1 && base->node->in[0]->storage == base->storage)
    base = base->node->in[0];   /* a view: the same storage as what it views */
  if (base->node != NULL && ag_grad_enabled)
    luaL_error(L, "%s: cannot write into a tensor computed in a gradient graph (by %s#%I); "
               "write into a :detach()ed copy, or inside no_grad", fname,
               base->node->op->name, (lua_Integer)base->node->id);
  if (tensor_check_no_overlap(t) != NN_OK) lt_error(L, fname);
}

static int t_newindex(lua_State *L) {
  Tensor *t = lt_test(L, 1), *src, **slot;
  IndexSpec spec;
  int rc;
  if (t == NULL) return closed(L, "index assignment");
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (strcmp(lua_tostring(L, 2), "grad") == 0 && lua_isnil(L, 3)) {   /* x.grad = nil */
      tensor_release(t->grad);
      t->grad = NULL;
      return 0;
    }
    return luaL_error(L, "cannot set field '%s' of a tensor", lua_tostring(L, 2));
  }
  check_writable(L, t, "index assignment");
  checkspec(L, t, 2, "index assignment", &spec);
  slot = lt_newslot(L);
  lt_set(L, slot, tensor_index(t, &spec), "index assignment");
  if (lua_type(L, 3) == LUA_TNUMBER) {
    rc = tensor_fill(*slot, lua_tonumber(L, 3));
  } else if ((src = lt_test(L, 3)) != NULL) {
    rc = tensor_copy(*slot, src);
  } else {
    return luaL_error(L, "index assignment: cannot assign a %s to a tensor element "
                      "(number or tensor expected)", luaL_typename(L, 3));
  }
  if (rc != NN_OK) return lt_error(L, "index assignment");
  return 0;
}

/* ======================================================================
** Shape and view methods
** ====================================================================== */

static int t_shape(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lt_pushshape(L, t->ndim, t->size);
  return 1;
}

static int t_size(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnoneornil(L, 2)) return t_shape(L);
  lua_pushinteger(L, (lua_Integer)t->size[lt_checkdim(L, 2, t, 0)]);
  return 1;
}

static int t_stride(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lt_pushshape(L, t->ndim, t->stride);
    return 1;
  }
  lua_pushinteger(L, (lua_Integer)t->stride[lt_checkdim(L, 2, t, 0)]);
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, lt_check(L, 1)->ndim);
  return 1;
}

static int t_numel(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tensor_numel(lt_check(L, 1)));
  return 1;
}

static int t_len(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_pushinteger(L, t->ndim > 0 ? (lua_Integer)t->size[0] : 0);
  return 1;
}

static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, tensor_is_contiguous(lt_check(L, 1)));
  return 1;
}

static int t_item(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  char b[128];
  if (tensor_numel(t) != 1)
    return luaL_error(L, "item: tensor of shape %s has %d elements, not 1",
                      tensor_shape_str(t, b, sizeof b), (int)tensor_numel(t));
  lua_pushnumber(L, tensor_get_flat(t, 0));
  return 1;
}

/* Flat row-major read, 1-based: for the Lua-side printer. */
static int t_flat(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  lua_Integer i = lt_checkinteger(L, 2);
  if (i < 1 || i > tensor_numel(t))
    return lt_rangeerror(L, 2, "_flat", "flat index", i, 1, (lua_Integer)tensor_numel(t), NULL);
  lua_pushnumber(L, tensor_get_flat(t, (int64_t)i - 1));
  return 1;
}

static int t_view(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  Tensor *t = lt_check(L, 1);
  int nd = lt_checkshape(L, 2, size);
  return lt_push(L, fn_view(t, nd, size), "view");
}

static int t_reshape(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  Tensor *t = lt_check(L, 1);
  int nd = lt_checkshape(L, 2, size);
  return lt_push(L, fn_reshape(t, nd, size), "reshape");
}

static int t_expand(lua_State *L) {
  int64_t size[TENSOR_MAXDIM];
  Tensor *t = lt_check(L, 1);
  int nd = lt_checkshape(L, 2, size);
  return lt_push(L, fn_expand(t, nd, size), "expand");
}

static int t_t(lua_State *L) {
  return lt_push(L, fn_t(lt_check(L, 1)), "t");
}

static int t_transpose(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int d0, d1;
  if (lua_isnoneornil(L, 2)) return t_t(L);
  d0 = lt_checkdim(L, 2, t, 0);
  d1 = lt_checkdim(L, 3, t, 0);
  return lt_push(L, fn_transpose(t, d0, d1), "transpose");
}

static int t_permute(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int64_t p[TENSOR_MAXDIM];
  int perm[TENSOR_MAXDIM], n = lt_checkshape(L, 2, p), d;
  char b[128];
  if (n != t->ndim)
    return luaL_error(L, "permute: %d dims given for a tensor of shape %s", n,
                      tensor_shape_str(t, b, sizeof b));
  for (d = 0; d < n; d++) {
    if (p[d] < 1 || p[d] > n)
      return lt_rangeerror(L, lua_istable(L, 2) ? 2 : 2 + d, "permute", "dimension",
                           (lua_Integer)p[d], 1, n, lua_pushfstring(L, " (shape %s)",
                           tensor_shape_str(t, b, sizeof b)));
    perm[d] = (int)(p[d] - 1);
  }
  return lt_push(L, fn_permute(t, perm), "permute");
}

static int t_squeeze(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int d = lua_isnoneornil(L, 2) ? -1 : lt_checkdim(L, 2, t, 0);
  return lt_push(L, fn_squeeze(t, d), "squeeze");
}

static int t_unsqueeze(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  return lt_push(L, fn_unsqueeze(t, lt_checkdim(L, 2, t, 1)), "unsqueeze");
}

static int t_narrow(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int d = lt_checkdim(L, 2, t, 0);
  lua_Integer given = lt_checkinteger(L, 3), len = lt_checkinteger(L, 4), start = given;
  /* negative from the end, as in indexing; checked before any arithmetic;
  ** start may be one past the end (an empty narrow) */
  if (start < 0 && start >= -(lua_Integer)t->size[d]) start += (lua_Integer)t->size[d] + 1;
  if (start < 1 || start > t->size[d] + 1)
    return lt_rangeerror(L, 3, "narrow", "start", given, 1, (lua_Integer)t->size[d] + 1,
                         where_in(L, t, d));
  return lt_push(L, fn_narrow(t, d, (int64_t)start - 1, (int64_t)len), "narrow");
}

static int t_select(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  int d = lt_checkdim(L, 2, t, 0);
  return lt_push(L, fn_select(t, d, checkindex(L, 3, 3, t, d, "select")), "select");
}

static int t_contiguous(lua_State *L) {
  return lt_push(L, fn_contiguous(lt_check(L, 1)), "contiguous");
}

static int t_clone(lua_State *L) {
  return lt_push(L, fn_clone(lt_check(L, 1)), "clone");
}

static int t_copy(lua_State *L) {
  Tensor *t = lt_check(L, 1), *src = lt_check(L, 2);
  check_writable(L, t, "copy");
  if (tensor_copy(t, src) != NN_OK) return lt_error(L, "copy");
  lua_settop(L, 1);
  return 1;
}

static int t_fill(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  double v = luaL_checknumber(L, 2);
  check_writable(L, t, "fill");
  if (tensor_fill(t, v) != NN_OK) return lt_error(L, "fill");
  lua_settop(L, 1);
  return 1;
}

/* Indices from a table or a 1-D tensor of 1-based positions. */
static int t_index_select(lua_State *L) {
  Tensor *t = lt_check(L, 1), *it;
  int d = lt_checkdim(L, 2, t, 0);
  lua_Integer n, i, size = (lua_Integer)t->size[d];
  int64_t *idx;
  if ((it = lt_test(L, 3)) != NULL) {
    if (it->ndim != 1) return lt_argerror(L, 3, "1-D tensor of indices expected, got %d-D", it->ndim);
    n = (lua_Integer)it->size[0];
  } else {
    luaL_checktype(L, 3, LUA_TTABLE);
    n = luaL_len(L, 3);   /* a __len may say anything */
  }
  if (n < 0 || n > (lua_Integer)nn_max_elements())
    return lt_argerror(L, 3, "%I indices: the length must be 0..%I (limits().max_elements)",
                       n, (lua_Integer)nn_max_elements());
  idx = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *idx, 0);
  for (i = 0; i < n; i++) {
    lua_Integer v, k;
    if (it != NULL) {
      lua_pushnumber(L, tensor_get_flat(it, (int64_t)i));
    } else if (lua_geti(L, 3, i + 1) != LUA_TNUMBER) {
      return lt_argerror(L, 3, "index at position %I is a %s, not a number", i + 1,
                         lt_typename(L, -1));
    }
    if (!lt_towhole(L, -1, &v))
      return lt_argerror(L, 3, "index %s at position %I is not a whole number",
                         luaL_tolstring(L, -1, NULL), i + 1);
    lua_pop(L, 1);
    k = v < 0 && v >= -size ? v + size + 1 : v;   /* from the end, as in indexing */
    if (k < 1 || k > size)
      return lt_rangeerror(L, 3, "index_select", "index", v, 1, size, lua_pushfstring(L,
          " (or %I..-1) at position %I, for dimension %d", -size, i + 1, d + 1));
    idx[i] = (int64_t)k - 1;
  }
  return lt_push(L, fn_index_select(t, d, idx, (int64_t)n), "index_select");
}

/* The tensors of a list table (or of the arguments) for cat and stack. */
static int join(lua_State *L, int stack, const char *fname) {
  Tensor *buf[64];
  int n, i, dim_arg;
  if (lua_istable(L, 1) && !lt_test(L, 1)) {
    n = (int)luaL_len(L, 1);
    dim_arg = 2;
    luaL_argcheck(L, n >= 1 && n <= 64, 1, "a list of 1 to 64 tensors expected");
    for (i = 0; i < n; i++) {
      lua_geti(L, 1, i + 1);
      if ((buf[i] = lt_test(L, -1)) == NULL)
        return luaL_error(L, "%s: element %d of the list is a %s, not a tensor",
                          fname, i + 1, luaL_typename(L, -1));
      lua_pop(L, 1);   /* still referenced by the list table */
    }
  } else {
    return luaL_argerror(L, 1, "list of tensors expected");
  }
  {
    int d = lua_isnoneornil(L, dim_arg) ? 0 : lt_checkdim(L, dim_arg, buf[0], stack);
    return lt_push(L, stack ? fn_stack(buf, n, d) : fn_cat(buf, n, d), fname);
  }
}

static int t_cat(lua_State *L) { return join(L, 0, "cat"); }
static int t_stack(lua_State *L) { return join(L, 1, "stack"); }

/* A nested Lua table with the tensor's values (a number for 0-d). */
static void push_table(lua_State *L, const Tensor *t, int d, int64_t off) {
  int64_t i;
  if (d == t->ndim) {
    lua_pushnumber(L, t->storage->data[off]);
    return;
  }
  lua_createtable(L, (int)t->size[d], 0);
  for (i = 0; i < t->size[d]; i++) {
    push_table(L, t, d + 1, off + i * t->stride[d]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_totable(lua_State *L) {
  Tensor *t = lt_check(L, 1);
  push_table(L, t, 0, t->offset);
  return 1;
}

/* ======================================================================
** Arithmetic metamethods
** ====================================================================== */

/* a op b where either side may be a number. */
static int arith(lua_State *L, BinaryOp op, const char *fname) {
  Tensor *a = lt_test(L, 1), *b = lt_test(L, 2);
  if (a != NULL && b != NULL) return lt_push(L, fn_binary(op, a, b), fname);
  if (a != NULL && lua_type(L, 2) == LUA_TNUMBER)
    return lt_push(L, fn_binary_scalar(op, a, lua_tonumber(L, 2), 0), fname);
  if (b != NULL && lua_type(L, 1) == LUA_TNUMBER)
    return lt_push(L, fn_binary_scalar(op, b, lua_tonumber(L, 1), 1), fname);
  if (strcmp(lt_typename(L, 1), "closed tensor") == 0 || strcmp(lt_typename(L, 2), "closed tensor") == 0)
    return closed(L, fname);
  if (a == NULL && b == NULL && lua_type(L, 1) == LUA_TNUMBER && lua_type(L, 2) == LUA_TNUMBER)
    return luaL_error(L, "%s: needs a tensor, got two numbers (for numbers use the operators)", fname);
  if (a == NULL && b == NULL)
    return luaL_error(L, "%s: needs a tensor, got a %s and a %s", fname, lt_typename(L, 1), lt_typename(L, 2));
  return luaL_error(L, "%s: cannot combine a %s with a %s (tensors and numbers only)",
                    fname, lt_typename(L, 1), lt_typename(L, 2));
}

static int t_add(lua_State *L) { return arith(L, OP_ADD, "add"); }
static int t_sub(lua_State *L) { return arith(L, OP_SUB, "sub"); }
static int t_div(lua_State *L) { return arith(L, OP_DIV, "div"); }
static int t_pow(lua_State *L) { return arith(L, OP_POW, "pow"); }
static int t_mod(lua_State *L) { return arith(L, OP_REMAINDER, "remainder"); }
static int t_cmul(lua_State *L) { return arith(L, OP_MUL, "cmul"); }
static int t_cdiv(lua_State *L) { return arith(L, OP_DIV, "cdiv"); }

/* `*` is the product written on paper: numbers (and 0-d tensors) scale,
** tensors multiply as matrices (dot / mv / mm / bmm by dims). */
static int t_mul(lua_State *L) {
  Tensor *a = lt_test(L, 1), *b = lt_test(L, 2);
  const char *kind;
  Tensor **slot;
  if (a == NULL || b == NULL || a->ndim == 0 || b->ndim == 0)
    return arith(L, OP_MUL, "mul");
  slot = lt_newslot(L);
  *slot = fn_matmul(a, b, &kind);
  if (*slot == NULL) return lt_error(L, kind);
  /* dot of two vectors is a number, like any single value */
  if ((*slot)->ndim == 0 && !(*slot)->requires_grad) lua_pushnumber(L, (*slot)->storage->data[0]);
  return 1;
}

static int t_unm(lua_State *L) {
  return lt_push(L, fn_unary(OP_NEG, lt_check(L, 1)), "neg");
}

/* a == b: same shape and the same values (use a:eq(b) for elementwise). */
static int t_eq(lua_State *L) {
  Tensor *a = lt_test(L, 1), *b = lt_test(L, 2), *ops[2];
  TensorIter it;
  int64_t i;
  int eq = a != NULL && b != NULL && tensor_same_shape(a, b);
  if (eq) {
    ops[0] = a;
    ops[1] = b;
    tensor_iter_init(&it, 2, ops);
    while (eq && tensor_iter_next(&it))
      for (i = 0; i < it.inner && eq; i++)
        eq = it.ptr[0][i * it.istride[0]] == it.ptr[1][i * it.istride[1]];
  }
  lua_pushboolean(L, eq);
  return 1;
}

/* A number, or the value of a single-value tensor (L < 1 for a loss). */
static int single_value(lua_State *L, int i, double *v) {
  Tensor *t = lt_test(L, i);
  if (t != NULL && tensor_numel(t) == 1 && t->ndim == 0) { *v = tensor_get_flat(t, 0); return 1; }
  if (t == NULL && lua_type(L, i) == LUA_TNUMBER) { *v = lua_tonumber(L, i); return 1; }
  return 0;
}

static int compare(lua_State *L, int strict) {
  double a, b;
  if (!single_value(L, 1, &a) || !single_value(L, 2, &b))
    return luaL_error(L, "cannot compare tensors with < or <=: use x:lt(y), x:le(y), "
                      "x:gt(y) or x:ge(y) for elementwise 0/1 results");
  lua_pushboolean(L, strict ? a < b : a <= b);
  return 1;
}

static int t_lt(lua_State *L) { return compare(L, 1); }
static int t_le(lua_State *L) { return compare(L, 0); }

static int t_tostring(lua_State *L) {
  Tensor *t;
  char b[128];
  /* printing never fails: a closed tensor (local x <close>) says so */
  if (strcmp(lt_typename(L, 1), "closed tensor") == 0) {
    lua_pushliteral(L, "[closed tensor]");
    return 1;
  }
  t = lt_check(L, 1);
  lua_getfield(L, lua_upvalueindex(1), "format");
  if (lua_isfunction(L, -1)) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
  }
  lua_pushfstring(L, "[tensor %s]", tensor_shape_str(t, b, sizeof b));
  return 1;
}

/* ======================================================================
** Registration
** ====================================================================== */

static const luaL_Reg creators[] = {
  {"tensor", t_tensor}, {"full", t_full},
  {"eye", t_eye}, {"arange", t_arange}, {"linspace", t_linspace},
  {"seed", t_seed}, {"limits", t_limits}, {"_draw_seed", t_draw_seed},
  {"_uniform_seeded", t_uniform_seeded}, {"_normal_seeded", t_normal_seeded}, {"_wants_grad", t_wants_grad},
  {"cat", t_cat}, {"stack", t_stack},
  {NULL, NULL}
};

/* Both methods (x:reshape(2, 3)) and functions (reshape(x, 2, 3)). */
static const luaL_Reg shared[] = {
  {"shape", t_shape}, {"size", t_size}, {"stride", t_stride}, {"dim", t_dim},
  {"numel", t_numel}, {"is_contiguous", t_is_contiguous}, {"item", t_item},
  {"view", t_view}, {"reshape", t_reshape}, {"expand", t_expand},
  {"t", t_t}, {"transpose", t_transpose}, {"permute", t_permute},
  {"squeeze", t_squeeze}, {"unsqueeze", t_unsqueeze}, {"narrow", t_narrow},
  {"select", t_select}, {"contiguous", t_contiguous}, {"clone", t_clone},
  {"copy", t_copy}, {"fill", t_fill}, {"index_select", t_index_select},
  {"totable", t_totable}, {"cmul", t_cmul}, {"cdiv", t_cdiv},
  {NULL, NULL}
};

static const luaL_Reg metamethods[] = {
  {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div}, {"__mod", t_mod},
  {"__pow", t_pow}, {"__unm", t_unm}, {"__eq", t_eq}, {"__lt", t_lt},
  {"__le", t_le}, {"__len", t_len},
  {NULL, NULL}
};

void lt_open_tensor(lua_State *L, int lib, int methods) {
  lt_newtensormt(L);
  luaL_setfuncs(L, metamethods, 0);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, t_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_tostring, 1);
  lua_setfield(L, -2, "__tostring");
  lua_pushvalue(L, methods);
  lua_setfield(L, -2, "__methods");   /* for Tab completion (complete.c) */
  lua_pop(L, 1);

  /* the fields __index answers besides the methods, for Tab completion */
  luaL_getmetatable(L, TENSOR_MT);
  lua_createtable(L, 0, 3);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "grad");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "shape");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "T");
  lua_setfield(L, -2, "__fields");
  lua_pop(L, 1);

  luaL_newmetatable(L, SHAPE_MT);
  lua_pushcfunction(L, shape_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, shape_self);
  lua_setfield(L, -2, "__call");   /* x:shape() as x.shape(x) */
  lua_pushcfunction(L, shape_eq);
  lua_setfield(L, -2, "__eq");
  lua_pop(L, 1);

  lua_pushvalue(L, lib);
  luaL_setfuncs(L, creators, 0);
  {
    static const char *const shaped[] = {"zeros", "ones", "rand", "randn"};
    int i;
    for (i = 0; i < 4; i++) {
      lua_pushinteger(L, i);
      lua_pushcclosure(L, t_shaped, 1);
      lua_setfield(L, -2, shaped[i]);
    }
  }
  luaL_setfuncs(L, shared, 0);
  lua_pop(L, 1);
  lua_pushvalue(L, methods);
  luaL_setfuncs(L, shared, 0);
  lua_pushcfunction(L, t_flat);
  lua_setfield(L, -2, "_flat");
  lua_pop(L, 1);
}
