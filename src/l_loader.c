/*
** l_loader.c — how nncalc's own Lua modules are found and run.
**
** Names under "nncalc." (nncalc.summary, nncalc.nn.Linear ...) are served
** by a searcher placed right after package.preload, from nncalc's own
** folder only: a student's check.lua or nncalc/ folder first on
** package.path changes nothing, and their `require "check"` is theirs.
**
** Each module runs in the library's environment (the registry's
** "nncalc.env", given its metatable by the prelude): a bare `zeros` or
** `summary` inside nncalc means nncalc's, whatever the user's globals
** hold, and a module's top-level assignment never writes a user global.
** Only the prelude's globals() writes _G, from the exports table.
**
** The modules come precompiled from the binary itself (embedded.h), unless
** NNCALC_LUA_DIR is set: then from the source files in that folder, so
** that a change to them shows without a rebuild.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embedded.h"
#include "lua_api.h"

#ifndef NNCALC_DATADIR
#define NNCALC_DATADIR "/usr/local/share/nncalc"
#endif

#define ENV_KEY "nncalc.env"
#define PREFIX "nncalc."

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Pushes dir/nncalc/a/b.lua for "nncalc.a.b" (or .../b/init.lua when only
** that exists); returns whether the file exists. */
static int module_path(lua_State *L, const char *dir, const char *name) {
  luaL_Buffer b;
  const char *p;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, dir);
  luaL_addchar(&b, '/');
  for (p = name; *p; p++) luaL_addchar(&b, *p == '.' ? '/' : *p);
  luaL_pushresult(&b);
  lua_pushfstring(L, "%s.lua", lua_tostring(L, -1));
  if (is_file(lua_tostring(L, -1))) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  lua_pushfstring(L, "%s/init.lua", lua_tostring(L, -1));
  lua_remove(L, -2);
  return is_file(lua_tostring(L, -1));
}

/* Gives the function on top of the stack the library's environment as its
** first upvalue (a main chunk's _ENV). */
static void set_env(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, ENV_KEY);
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
}

/* The embedded module name, as the searcher's loader and data. */
static int load_embedded(lua_State *L, const char *name, const EmbeddedModule *m) {
  /* the chunk name only labels load errors: stripped code keeps none */
  if (luaL_loadbufferx(L, (const char *)m->code, m->size, name, "b") != LUA_OK)
    return luaL_error(L, "error loading nncalc's embedded module '%s':\n\t%s", name,
                      lua_tostring(L, -1));
  set_env(L);
  lua_pushfstring(L, "(embedded) %s", name);
  return 2;
}

/* package.searchers entry: upvalue 1 is the folder that holds nncalc/,
** upvalue 2 whether to look in the embedded modules first. */
static int searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *dir = lua_tostring(L, lua_upvalueindex(1));
  const char *path;
  const EmbeddedModule *m;
  if (strncmp(name, PREFIX, sizeof PREFIX - 1) != 0 || strstr(name, "..") != NULL) return 0;
  if (lua_toboolean(L, lua_upvalueindex(2)) && (m = embedded_find(name)) != NULL)
    return load_embedded(L, name, m);
  if (!module_path(L, dir, name)) {
    lua_pushfstring(L, "no file '%s' (nncalc's own modules)", lua_tostring(L, -1));
    return 1;
  }
  path = lua_tostring(L, -1);
  if (luaL_loadfilex(L, path, "t") != LUA_OK)
    return luaL_error(L, "error loading nncalc module '%s' from '%s':\n\t%s", name, path,
                      lua_tostring(L, -1));
  set_env(L);
  lua_insert(L, -2);   /* loader, then its data (the path) */
  return 2;
}

/* Installs the searcher ahead of package.path's, creates the library
** environment (with _G and nncalc in it) and records lib.luadir.  lib is
** the index of the nncalc table. */
static void install(lua_State *L, int lib, const char *dir) {
  lua_Integer i, n;
  lib = lua_absindex(L, lib);
  lua_createtable(L, 0, 4);
  lua_pushglobaltable(L);
  lua_setfield(L, -2, "_G");
  lua_pushvalue(L, lib);
  lua_setfield(L, -2, "nncalc");
  lua_setfield(L, LUA_REGISTRYINDEX, ENV_KEY);
  lua_pushstring(L, dir);
  lua_setfield(L, lib, "luadir");
  lua_pushliteral(L, NNCALC_DATADIR);   /* lessons, when installed */
  lua_setfield(L, lib, "datadir");

  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  n = (lua_Integer)luaL_len(L, -1);
  for (i = n; i >= 2; i--) {   /* make room at 2, after preload */
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushstring(L, dir);
  lua_pushboolean(L, getenv("NNCALC_LUA_DIR") == NULL || *getenv("NNCALC_LUA_DIR") == '\0');
  lua_pushcclosure(L, searcher, 2);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}

int lt_boot(lua_State *L, int lib, const char *dir) {
  install(L, lib, dir);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nncalc.prelude");
  lua_call(L, 1, 0);
  return 0;
}

/* require "nncalc" from a stock lua5.4: the C library, then its Lua half
** from the folder where package.path finds nncalc/prelude.lua (found once,
** here; later changes to package.path cannot redirect nncalc's modules). */
int luaopen_nncalc(lua_State *L) {
  const char *path;
  size_t n, tail = strlen("/nncalc/prelude.lua");
  lt_open_core(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "nncalc");   /* modules that require "nncalc" get it */
  lua_pop(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushliteral(L, "nncalc.prelude");
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 2);
  path = lua_tolstring(L, -2, &n);
  if (path == NULL || n <= tail)
    return luaL_error(L, "nncalc: cannot find its Lua files (nncalc/prelude.lua) on package.path:%s",
                      lua_tostring(L, -1));
  lua_pushlstring(L, path, n - tail);
  lt_boot(L, -5, lua_tostring(L, -1));
  lua_pop(L, 4);
  return 1;
}
