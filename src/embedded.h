/*
** embedded.h — nncalc's Lua modules, compiled into the binary at build
** time: stripped bytecode made by tools/luaembed.c from every .lua file under lua/
** (the generated build/embedded_lua.c), looked up by module name.  Loading
** them skips compiling ~72 kB of Lua on every start; NNCALC_LUA_DIR turns
** them off in favour of the source files (l_loader.c).
*/
#ifndef NNCALC_EMBEDDED_H
#define NNCALC_EMBEDDED_H

#include <stddef.h>

typedef struct EmbeddedModule {
  const char *name;              /* "nncalc.nn.Linear" */
  const unsigned char *code;     /* a binary chunk, for luaL_loadbufferx "b" */
  size_t size;
} EmbeddedModule;

/* The generated table, sorted by name (strcmp). */
extern const EmbeddedModule embedded_modules[];
extern const int embedded_count;

/* The module called name, or NULL. */
const EmbeddedModule *embedded_find(const char *name);

#endif
