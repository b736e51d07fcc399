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

/* Output order.  stdout is buffered and stderr is not, so through
** `2>&1 | cat` an error would overtake the prints before it: everything
** nncalc sends to stderr flushes stdout first.  C code writes there with
** run_eprintf; run_order_output makes Lua's io.stderr:write (and io.write
** while io.output() is stderr) do the same. */
#ifdef __GNUC__
__attribute__((format(printf, 1, 2)))
#endif
void run_eprintf(const char *fmt, ...);
void run_order_output(lua_State *L);

/* Calls the function below narg arguments; status as lua_pcall. */
int run_call(lua_State *L, int narg, int nres);
/* Prints the error on top of the stack (if status != LUA_OK) and pops it. */
int run_report(lua_State *L, int status);
/* Loads and runs a chunk from a string / file (NULL = stdin). */
int run_string(lua_State *L, const char *code, const char *chunkname);
int run_file(lua_State *L, const char *path);

#endif
