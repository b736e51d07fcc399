/*
** lua_api.h — the one binding header: how tensors cross into Lua.
**
** A tensor is a full userdata holding one Tensor* (a reference it owns) with
** the metatable "nncalc.Tensor".  The userdata is created holding NULL
** before anything can fail, then filled; __gc tolerates NULL.
**
** Errors.  Wrong Lua types raise through luaL_argerror ("bad argument #2 to
** 'mm' (tensor expected, got string)"); failures reported by the core raise
** "<function>: <nn_errmsg()>", e.g. "mm: size mismatch, 3x2 * 3x1 (inner
** dims 2 vs 3)".  Indices and dims are 1-based here and 0-based in the core.
*/
#ifndef NNCALC_LUA_API_H
#define NNCALC_LUA_API_H

#include <lauxlib.h>
#include <lua.h>

#include "tensor.h"

#define TENSOR_MT "nncalc.Tensor"
#define SHAPE_MT "nncalc.Shape"

/* ======================================================================
** The Tensor userdata
** ====================================================================== */

/* The tensor at arg, or a type error (or "tensor has been closed"). */
Tensor *lt_check(lua_State *L, int arg);
/* The tensor at arg, or NULL if it is not one. */
Tensor *lt_test(lua_State *L, int arg);
/* A tensor from arg: a tensor is retained, a number becomes a 0-d tensor;
** anything else is a type error.  Release the result. */
Tensor *lt_totensor(lua_State *L, int arg);
/* "tensor" for tensors ("closed tensor" for one whose userdata was
** closed), else the Lua type name. */
const char *lt_typename(lua_State *L, int arg);

/* Pushes an empty tensor userdata and returns its slot; store the new
** tensor in it with lt_set (which raises if t is NULL). */
Tensor **lt_newslot(lua_State *L);
void lt_set(lua_State *L, Tensor **slot, Tensor *t, const char *fname);
/* Both at once: push t (a new reference, owned from now on), or raise
** "fname: <core message>" when t is NULL.  Returns 1. */
int lt_push(lua_State *L, Tensor *t, const char *fname);
/* Pushes a single-value tensor t (owned from now on) as a plain number, or
** as the 0-d tensor itself when it is part of a gradient graph. */
int lt_pushvalue(lua_State *L, Tensor *t, const char *fname);
/* Raises "fname: <core message>". */
int lt_error(lua_State *L, const char *fname);
/* The finalizer (__gc and __close), and the metatable that uses it, left
** on the stack (l_tensor.c adds the methods). */
int lt_gc(lua_State *L);
void lt_newtensormt(lua_State *L);

/* ======================================================================
** Whole numbers, ranges, dims and shapes
**
** A whole number is any number with an integer value: 3, 3.0 and 2^5
** (Lua's ^ always gives a float) are whole, 2.5 is refused and named
** ("whole number expected, got 2.5").
**
** Out of range, one idiom: "<what> <v> out of range <lo>..<hi><tail>",
** raised as an argument error ("bad argument #3 to 'narrow' (start 9 out
** of range 1..4 ...)"), or, for a position inside an index (arg 0, no
** argument names it), as "fname: index 7 out of range 1..3 ...".
** ====================================================================== */

/* 1 and the value in *v when the value at idx is a whole number. */
int lt_towhole(lua_State *L, int idx, lua_Integer *v);
/* Pushes (and returns) "whole number expected, got <value or type>". */
const char *lt_notwhole(lua_State *L, int idx);
/* luaL_checkinteger/luaL_optinteger, naming a value that is not whole. */
lua_Integer lt_checkinteger(lua_State *L, int arg);
lua_Integer lt_optinteger(lua_State *L, int arg, lua_Integer def);
/* luaL_argerror with a formatted reason (lua_pushfstring's formats). */
int lt_argerror(lua_State *L, int arg, const char *fmt, ...);
int lt_rangeerror(lua_State *L, int arg, const char *fname, const char *what, lua_Integer v,
                  lua_Integer lo, lua_Integer hi, const char *tail);

/* A 1-based dim argument (negative counts from the end) as 0-based;
** extra allows dims past the last (unsqueeze's new one). */
int lt_checkdim(lua_State *L, int arg, const Tensor *t, int extra);
/* One size from the value at stack index idx (which is argument arg). */
int64_t lt_checksize(lua_State *L, int idx, int arg);
/* A shape given as sizes from arg on, or as one table at arg; returns the
** number of dims. */
int lt_checkshape(lua_State *L, int arg, int64_t *size);
/* Pushes a shape table {3, 2} with the Shape metatable. */
void lt_pushshape(lua_State *L, int ndim, const int64_t *size);

/* ======================================================================
** Options tables: f(x, {stride = 2, padding = 1})
**
** Absent means the default; a value that is given is checked, so
** {stride = 0} is refused where a positive stride is required, never read
** as "absent".  Messages read "fname: key must be ..., got v".
** ====================================================================== */

/* The options table at arg (absolute index), or 0 when it is none/nil. */
int lt_opts(lua_State *L, int arg);
/* Every key of opts must be one of known (NULL-terminated): a typo is an
** error that lists the known keys. */
void lt_checkkeys(lua_State *L, int opts, const char *fname, const char *const *known);
int lt_optbool(lua_State *L, int opts, const char *key, int def);
double lt_optnumber(lua_State *L, int opts, const char *fname, const char *key, double def);
/* opts[key] as a whole number >= min, def when absent. */
lua_Integer lt_optwhole(lua_State *L, int opts, const char *fname, const char *key,
                        lua_Integer min, lua_Integer def);
/* opts[key] as a tensor (borrowed from the table), NULL when absent. */
Tensor *lt_opttensor(lua_State *L, int opts, const char *fname, const char *key);
/* An {h, w} pair of whole numbers >= min (a number means both) from the
** value at idx, named `what` in errors. */
void lt_checkpair(lua_State *L, int idx, const char *fname, const char *what, int64_t min,
                  int64_t out[2]);
/* opts[key] as such a pair: 1 when given, 0 (out untouched) when absent. */
int lt_optpair(lua_State *L, int opts, const char *fname, const char *key, int64_t min,
               int64_t out[2]);

/* Collector pacing (l_gc.c): lt_gc_pace before each new tensor userdata;
** lt_gc_start once the library is loaded. */
void lt_gc_pace(lua_State *L);
void lt_gc_start(lua_State *L);

/* Library openers: each adds its functions to the table at the top of the
** stack and its methods to the methods table (upvalue-free). */
void lt_open_tensor(lua_State *L, int lib, int methods);
void lt_open_ops(lua_State *L, int lib, int methods);
void lt_open_autograd(lua_State *L, int lib, int methods);
void lt_open_nn(lua_State *L, int lib, int methods);
void lt_open_optim(lua_State *L, int lib);
/* Pushes the C library: one table of functions, the Tensor methods as
** its field Tensor (l_lib.c). */
int lt_open_core(lua_State *L);
/* Serves "nncalc.*" modules from dir (the folder holding nncalc/), in the
** library's environment, and loads nncalc.prelude; lib is the index of the
** C library's table (l_loader.c). */
int lt_boot(lua_State *L, int lib, const char *dir);
/* require "nncalc" from a stock lua5.4: lt_open_core + lt_boot from the
** folder package.path finds nncalc/prelude.lua in. */
int luaopen_nncalc(lua_State *L);

#endif
