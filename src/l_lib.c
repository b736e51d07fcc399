/*
** l_lib.c — assembles the nncalc Lua library: one table of functions and
** one table of Tensor methods, filled by each binding file.
*/
#include "lua_api.h"

int lt_open_core(lua_State *L) {
  int lib, methods;
  lua_newtable(L);
  lib = lua_gettop(L);
  lua_newtable(L);
  methods = lua_gettop(L);
  lt_open_tensor(L, lib, methods);
  lt_open_ops(L, lib, methods);
  lt_open_autograd(L, lib, methods);
  lt_open_nn(L, lib, methods);
  lt_open_optim(L, lib);
  lua_pushvalue(L, methods);
  lua_setfield(L, lib, "Tensor");   /* Lua code adds methods here (format ...) */
  /* a method called with no name Lua can see (pcall(x.exp, ...), a method
  ** stored in a variable) is named by luaL_argerror from package.loaded:
  ** 'nncalc.Tensor.exp', never '?' */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, methods);
  lua_setfield(L, -2, "nncalc.Tensor");
  lua_settop(L, lib);
  return 1;
}
