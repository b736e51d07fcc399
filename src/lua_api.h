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

/* The tensor at arg, or a type error. */
Tensor *lt_check(lua_State *L, int arg);
/* The tensor at arg, or NULL if it is not one. */
Tensor *lt_test(lua_State *L, int arg);
/* A tensor from arg: a tensor is retained, a number becomes a 0-d tensor;
** anything else is a type error.  Release the result. */
Tensor *lt_totensor(lua_State *L, int arg);

/* Pushes an empty tensor userdata and returns its slot; store the new
** tensor in it with lt_set (which raises if t is NULL). */
Tensor **lt_newslot(lua_State *L);
void lt_set(lua_State *L, Tensor **slot, Tensor *t, const char *fname);
/* Both at once: push t (a new reference, owned from now on), or raise
** "fname: <core message>" when t is NULL.  Returns 1. */
int lt_push(lua_State *L, Tensor *t, const char *fname);

/* "tensor" for tensors, else the Lua type name. */
const char *lt_typename(lua_State *L, int arg);
/* Pushes a single-value tensor t (owned from now on) as a plain number, or
** as the 0-d tensor itself when it is part of a gradient graph. */
int lt_pushvalue(lua_State *L, Tensor *t, const char *fname);
/* Raises "fname: <core message>". */
int lt_error(lua_State *L, const char *fname);

/* A 1-based dim argument (negative counts from the end) as 0-based. */
int lt_checkdim(lua_State *L, int arg, const Tensor *t, int extra);
/* A shape given as integers from arg on, or as one table at arg. */
int lt_checkshape(lua_State *L, int arg, int64_t *size);
/* Pushes a shape table {3, 2} with the Shape metatable. */
void lt_pushshape(lua_State *L, int ndim, const int64_t *size);

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
