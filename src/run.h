/*
** run.h — running Lua code the way nncalc reports it: under lua_pcall
** with a message handler, Ctrl-C turned into a Lua error `interrupted`
** (a hook for Lua code, nn_interrupted for C kernels), and errors printed
** as one line, plus a traceback in debug mode.
*/
#ifndef NNCALC_RUN_H
#define NNCALC_RUN_H

#include <lua.h>

extern const char *run_progname;
extern int run_debug;      /* print tracebacks with errors */

/* Where nncalc's own Lua files live: an error raised in them (a wrapper
** checking its arguments) is reported at the user's line that called in. */
void run_set_libdir(const char *dir);

/* Calls the function below narg arguments; status as lua_pcall. */
int run_call(lua_State *L, int narg, int nres);
/* Prints the error on top of the stack (if status != LUA_OK) and pops it. */
int run_report(lua_State *L, int status);
/* Loads and runs a chunk from a string / file (NULL = stdin). */
int run_string(lua_State *L, const char *code, const char *chunkname);
int run_file(lua_State *L, const char *path);

#endif
