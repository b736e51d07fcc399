/*
** l_aux.c — the helpers every binding uses (as lauxlib serves Lua's own
** libraries): the Tensor userdata and its checks, pushing results and
** core errors, whole numbers, dims and shapes, ranges, and options tables.
** The rules they enforce are stated once in lua_api.h.
*/
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "lua_api.h"
#include "autograd.h"

/* ======================================================================
** The Tensor userdata
** ====================================================================== */

/* The metatable is also kept under this address in the registry: every
** op checks its arguments, and a light-userdata key avoids the string
** lookup luaL_testudata makes on each call. */
static const char mt_key = 0;
static const void *tensor_mt = NULL;   /* the metatable itself, for == tests */

static Tensor **test_slot(lua_State *L, int arg) {
  Tensor **p = lua_touserdata(L, arg);
  int same;
  if (p == NULL || lua_type(L, arg) != LUA_TUSERDATA || !lua_getmetatable(L, arg)) return NULL;
  same = lua_topointer(L, -1) == tensor_mt;
  lua_pop(L, 1);
  return same ? p : NULL;
}

Tensor *lt_test(lua_State *L, int arg) {
  Tensor **p = test_slot(L, arg);
  return p != NULL ? *p : NULL;
}

Tensor *lt_check(lua_State *L, int arg) {
  Tensor **p = test_slot(L, arg);
  if (p == NULL) luaL_typeerror(L, arg, "tensor");
  if (*p == NULL) luaL_argerror(L, arg, "tensor has been closed");
  return *p;
}

Tensor *lt_totensor(lua_State *L, int arg) {
  Tensor *t = lt_test(L, arg);
  if (t != NULL) return tensor_retain(t);
  if (lua_type(L, arg) == LUA_TNUMBER) {
    t = tensor_scalar(lua_tonumber(L, arg));
    if (t == NULL) lt_error(L, "tensor");
    return t;
  }
  luaL_typeerror(L, arg, "tensor or number");
  return NULL;
}

Tensor **lt_newslot(lua_State *L) {
  Tensor **p;
  lt_gc_pace(L);
  p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &mt_key);
  lua_setmetatable(L, -2);
  return p;
}

const char *lt_typename(lua_State *L, int arg) {
  Tensor **p = test_slot(L, arg);
  if (p != NULL) return *p != NULL ? "tensor" : "closed tensor";
  return luaL_typename(L, arg);
}

int lt_error(lua_State *L, const char *fname) {
  /* a kernel that honoured Ctrl-C has reported it: the hook the signal
  ** handler set must not raise a second time */
  if (nn_errcode() == NN_EINTR) lua_sethook(L, NULL, 0, 0);
  return luaL_error(L, "%s: %s", fname, nn_errmsg());
}

void lt_set(lua_State *L, Tensor **slot, Tensor *t, const char *fname) {
  if (t == NULL) lt_error(L, fname);
  *slot = t;
}

int lt_push(lua_State *L, Tensor *t, const char *fname) {
  Tensor **slot;
  if (t == NULL) return lt_error(L, fname);
  /* if the userdata allocation fails, Lua raises and t would leak; the
  ** window is one small allocation and only under memory exhaustion */
  slot = lt_newslot(L);
  *slot = t;
  /* detect_anomaly: remember where in the script each op was made */
  if (ag_anomaly && t->node != NULL && t->node->site == NULL) {
    luaL_where(L, 1);
    ag_set_site(t->node, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return 1;
}

/* The finalizer (and __close): test_slot, not luaL_checkudata, whose
** lookup of the metatable by name cost a string comparison for every
** tensor the collector frees. */
int lt_gc(lua_State *L) {
  Tensor **p = test_slot(L, 1);
  if (p == NULL) luaL_typeerror(L, 1, TENSOR_MT);
  tensor_release(*p);
  *p = NULL;
  return 0;
}

/* Creates the Tensor metatable (left on the stack) with its name and
** finalizer, and remembers it for lt_test. */
void lt_newtensormt(lua_State *L) {
  luaL_newmetatable(L, TENSOR_MT);
  tensor_mt = lua_topointer(L, -1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &mt_key);
  lua_pushliteral(L, "tensor");
  lua_setfield(L, -2, "__name");   /* "bad argument ... got tensor" */
  lua_pushcfunction(L, lt_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, lt_gc);
  lua_setfield(L, -2, "__close");
}

/* Pushes a single value the way the rules say: a plain number, except
** inside a gradient graph, where the 0-d tensor keeps the gradient. */
int lt_pushvalue(lua_State *L, Tensor *t, const char *fname) {
  if (t == NULL) return lt_error(L, fname);
  if (t->requires_grad) return lt_push(L, t, fname);
  lua_pushnumber(L, tensor_get_flat(t, 0));
  tensor_release(t);
  return 1;
}

void lt_pushshape(lua_State *L, int ndim, const int64_t *size) {
  int i;
  lua_createtable(L, ndim, 0);
  for (i = 0; i < ndim; i++) {
    lua_pushinteger(L, (lua_Integer)size[i]);
    lua_rawseti(L, -2, i + 1);
  }
  luaL_setmetatable(L, SHAPE_MT);
}

/* ======================================================================
** Whole numbers and ranges
** ====================================================================== */

int lt_towhole(lua_State *L, int idx, lua_Integer *v) {
  int isint;
  *v = 0;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  *v = lua_tointegerx(L, idx, &isint);   /* 64.0 converts; 2.5 does not */
  return isint;
}

/* a float with an integer value too large for lua_Integer (1e+300, 2^63) */
static int past_integers(lua_State *L, int idx) {
  double v = lua_tonumber(L, idx);
  return lua_type(L, idx) == LUA_TNUMBER && isfinite(v) && v == floor(v);
}

const char *lt_notwhole(lua_State *L, int idx) {
  /* the number itself ("2.5", "1e+300"), or the type of anything else */
  if (past_integers(L, idx))
    return lua_pushfstring(L, "whole number expected, got %s, past the largest (2^63 - 1)",
                           luaL_tolstring(L, idx, NULL));
  return lua_pushfstring(L, "whole number expected, got %s", lua_type(L, idx) == LUA_TNUMBER
                         ? luaL_tolstring(L, idx, NULL) : lt_typename(L, idx));
}

lua_Integer lt_checkinteger(lua_State *L, int arg) {
  lua_Integer v;
  if (!lt_towhole(L, arg, &v)) luaL_argerror(L, arg, lt_notwhole(L, arg));
  return v;
}

lua_Integer lt_optinteger(lua_State *L, int arg, lua_Integer def) {
  return lua_isnoneornil(L, arg) ? def : lt_checkinteger(L, arg);
}

int lt_argerror(lua_State *L, int arg, const char *fmt, ...) {
  va_list ap;
  const char *msg;
  va_start(ap, fmt);
  msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return luaL_argerror(L, arg, msg);
}

int lt_rangeerror(lua_State *L, int arg, const char *fname, const char *what, lua_Integer v,
                  lua_Integer lo, lua_Integer hi, const char *tail) {
  const char *msg = lua_pushfstring(L, "%s %I out of range %I..%I%s", what, v, lo, hi,
                                    tail != NULL ? tail : "");
  if (arg > 0) return luaL_argerror(L, arg, msg);
  return luaL_error(L, "%s: %s", fname, msg);
}

/* ======================================================================
** Dims and shapes
** ====================================================================== */

int lt_checkdim(lua_State *L, int arg, const Tensor *t, int extra) {
  lua_Integer given = lt_checkinteger(L, arg), d = given;
  int n = t->ndim + extra;
  if (d < 0 && d >= -(lua_Integer)n) d += n + 1;
  if (d < 1 || d > n) {
    char b[128];
    if (n == 0)
      return lt_argerror(L, arg, "dimension %I given for a tensor with no dimensions (shape %s)",
                         given, tensor_shape_str(t, b, sizeof b));
    return lt_rangeerror(L, arg, NULL, "dimension", given, 1, n, lua_pushfstring(L,
        " (or %d..-1) for a tensor of shape %s", -n, tensor_shape_str(t, b, sizeof b)));
  }
  return (int)d - 1;
}

int64_t lt_checksize(lua_State *L, int idx, int arg) {
  lua_Integer v;
  if (!lt_towhole(L, idx, &v)) {
    if (past_integers(L, idx))
      luaL_argerror(L, arg, lua_pushfstring(L, "size %s is past the largest integer (2^63 - 1)",
                                            luaL_tolstring(L, idx, NULL)));
    if (lua_type(L, idx) == LUA_TNUMBER)
      luaL_argerror(L, arg, lua_pushfstring(L, "size %s is not a whole number",
                                            luaL_tolstring(L, idx, NULL)));
    luaL_argerror(L, arg, lua_pushfstring(L, "size expected, got %s", lt_typename(L, idx)));
  }
  return (int64_t)v;
}

int lt_checkshape(lua_State *L, int arg, int64_t *size) {
  int n, i;
  if (lua_istable(L, arg) && !lt_test(L, arg)) {
    lua_Integer len = luaL_len(L, arg);
    if (len < 0 || len > TENSOR_MAXDIM)
      luaL_argerror(L, arg, lua_pushfstring(L, "%I dimensions (at most %d)", len, TENSOR_MAXDIM));
    n = (int)len;
    for (i = 0; i < n; i++) {
      lua_geti(L, arg, i + 1);
      size[i] = lt_checksize(L, -1, arg);
      lua_pop(L, 1);
    }
    return n;
  }
  n = lua_gettop(L) - arg + 1;
  if (n < 0) n = 0;
  if (n > TENSOR_MAXDIM)
    luaL_argerror(L, arg, lua_pushfstring(L, "%d dimensions (at most %d)", n, TENSOR_MAXDIM));
  for (i = 0; i < n; i++) size[i] = lt_checksize(L, arg + i, arg + i);
  return n;
}

/* ======================================================================
** Options tables
** ====================================================================== */

int lt_opts(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return 0;
  if (lua_type(L, arg) != LUA_TTABLE || lt_test(L, arg) != NULL)
    luaL_typeerror(L, arg, "options table");
  return lua_absindex(L, arg);
}

void lt_checkkeys(lua_State *L, int opts, const char *fname, const char *const *known) {
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
      if (k == NULL) {
        const char *ty = luaL_typename(L, -3), *names = lua_tostring(L, -1);
        const char *key = luaL_tolstring(L, -3, NULL);
        luaL_error(L, "%s: option keys are names, got the %s key %s (known: %s)", fname, ty,
                   key, names);
      }
      luaL_error(L, "%s: unknown option '%s' (known: %s)", fname, k, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  }
}

int lt_optbool(lua_State *L, int opts, const char *key, int def) {
  int v = def;
  if (opts == 0) return def;
  if (lua_getfield(L, opts, key) != LUA_TNIL) v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

double lt_optnumber(lua_State *L, int opts, const char *fname, const char *key, double def) {
  double v = def;
  if (opts == 0) return def;
  if (lua_getfield(L, opts, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "%s: %s must be a number, got %s", fname, key, lt_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

lua_Integer lt_optwhole(lua_State *L, int opts, const char *fname, const char *key,
                        lua_Integer min, lua_Integer def) {
  lua_Integer v = def;
  if (opts == 0) return def;
  if (lua_getfield(L, opts, key) != LUA_TNIL && (!lt_towhole(L, -1, &v) || v < min))
    luaL_error(L, "%s: %s must be a whole number >= %I, got %s", fname, key, min,
               lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL) : lt_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

Tensor *lt_opttensor(lua_State *L, int opts, const char *fname, const char *key) {
  Tensor *t = NULL;
  if (opts == 0) return NULL;
  if (lua_getfield(L, opts, key) != LUA_TNIL) {
    t = lt_test(L, -1);
    if (t == NULL) luaL_error(L, "%s: %s must be a tensor, got %s", fname, key, lt_typename(L, -1));
    if (*(Tensor **)lua_touserdata(L, -1) == NULL) luaL_error(L, "%s: %s has been closed", fname, key);
  }
  lua_pop(L, 1);   /* still referenced by the options table */
  return t;
}

void lt_checkpair(lua_State *L, int idx, const char *fname, const char *what, int64_t min,
                  int64_t out[2]) {
  lua_Integer v[2] = {0, 0};
  int k;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE && lt_test(L, idx) == NULL && luaL_len(L, idx) == 2) {
    for (k = 0; k < 2; k++) {
      int ok;
      lua_geti(L, idx, k + 1);
      ok = lt_towhole(L, -1, &v[k]);
      if (!ok || v[k] < min)
        luaL_error(L, "%s: %s[%d] must be a whole number >= %d, got %s", fname, what, k + 1,
                   (int)min, luaL_tolstring(L, -1, NULL));
      lua_pop(L, 1);
    }
  } else if (lua_type(L, idx) == LUA_TNUMBER) {
    if (!lt_towhole(L, idx, &v[0]) || v[0] < min)
      luaL_error(L, "%s: %s must be a whole number >= %d, got %s", fname, what, (int)min,
                 luaL_tolstring(L, idx, NULL));
    v[1] = v[0];
  } else {
    luaL_error(L, "%s: %s must be a whole number >= %d or an {h, w} pair of them, got %s", fname,
               what, (int)min, lua_type(L, idx) == LUA_TTABLE && lt_test(L, idx) == NULL
               ? lua_pushfstring(L, "a table of %I", (lua_Integer)luaL_len(L, idx)) : lt_typename(L, idx));
  }
  out[0] = (int64_t)v[0];
  out[1] = (int64_t)v[1];
}

int lt_optpair(lua_State *L, int opts, const char *fname, const char *key, int64_t min,
               int64_t out[2]) {
  if (opts == 0) return 0;
  if (lua_getfield(L, opts, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  lt_checkpair(L, -1, fname, key, min, out);
  lua_pop(L, 1);
  return 1;
}
