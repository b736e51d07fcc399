/*
** run.c — protected calls, Ctrl-C and error reports (after lua.c).
*/
#include "run.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "status.h"

const char *run_progname = "nncalc";
int run_debug = 0;
static lua_State *running = NULL;

/* The hook set by the signal handler: raises inside Lua code at the next
** instruction.  C kernels see nn_interrupted instead, since hooks do not
** fire inside C. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  nn_interrupted = 0;
  luaL_error(L, "interrupted");
}

static void on_sigint(int sig) {
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  (void)sig;
  /* the terminal has echoed ^C: the message goes on its own line */
  if (write(STDERR_FILENO, "\n", 1) < 0) { /* nothing to do */ }
  nn_interrupted = 1;
  if (running != NULL) lua_sethook(running, stop_hook, mask, 1);
}

static char libdir[4096];

void run_set_libdir(const char *dir) {
  snprintf(libdir, sizeof libdir, "@%s/", dir);
}

static int in_libdir(const lua_Debug *ar) {
  return libdir[0] != '\0' && strncmp(ar->source, libdir, strlen(libdir)) == 0;
}

/* "lua/nn/Module.lua:49: Linear: ..." means a check in nncalc's own Lua
** code fired, for a call the user made: the message gets the position of
** the innermost caller outside that code (their script, -e or REPL line)
** instead.  Leaves msg alone when it carries no such position. */
#define RELOCATE_LEVELS 64
static const char *relocate(lua_State *L, const char *msg) {
  lua_Debug ar;
  int level, seen_lua = 0, stripped_first = 0;
  size_t skip = 0;
  /* lua_getstack(L, n) walks n frames, so visiting every frame of a stack
  ** that overflowed inside nncalc's code was quadratic (a minute to
  ** report one error); the user's frame is near the top or nowhere, so
  ** the walk stops after RELOCATE_LEVELS frames */
  for (level = 1; level <= RELOCATE_LEVELS && lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar) || ar.what[0] == 'C') continue;
    /* nncalc's embedded modules are stripped bytecode (source "=?", no
    ** lines): where a source module's message would have carried its own
    ** position, theirs carries none, and gets the caller's all the same */
    if (strcmp(ar.source, "=?") == 0) {
      if (!seen_lua) stripped_first = 1;
      seen_lua = 1;
      continue;
    }
    if (ar.currentline <= 0) continue;
    seen_lua = 1;
    if (in_libdir(&ar)) {
      if (skip == 0) {   /* does msg start with this frame's position? */
        const char *pos = lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
        if (strncmp(msg, pos, strlen(pos)) == 0) skip = strlen(pos);
        lua_pop(L, 1);
      }
      continue;
    }
    if (skip == 0 && stripped_first) {
      const char *pos = lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
      int has = strncmp(msg, pos, strlen(pos)) == 0;
      lua_pop(L, 1);
      if (has) return msg;
    } else if (skip == 0) {
      return msg;
    }
    return lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline, msg + skip);
  }
  /* no caller left on the stack (a REPL line `return f(...)` is a tail
  ** call): the message alone beats a position inside nncalc */
  return skip > 0 ? lua_pushstring(L, msg + skip) : msg;
}

/* Adds a traceback in debug mode; turns non-string errors into text. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  } else if (!run_debug) {
    msg = relocate(L, msg);
  }
  if (run_debug) luaL_traceback(L, L, msg, 1);
  return 1;
}

int run_call(lua_State *L, int narg, int nres) {
  int status, base = lua_gettop(L) - narg;
  void (*old)(int);
  lua_State *prev = running;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  running = L;
  old = signal(SIGINT, on_sigint);
  status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, old);
  running = prev;
  lua_sethook(L, NULL, 0, 0);
  nn_interrupted = 0;   /* an interrupt that arrived after the work ended */
  lua_remove(L, base);
  return status;
}

/* ======================================================================
** Output order: stdout is flushed before anything goes to stderr
** ====================================================================== */

void run_eprintf(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

static int is_stderr(lua_State *L, int idx) {
  luaL_Stream *s = luaL_testudata(L, idx, LUA_FILEHANDLE);
  return s != NULL && s->closef != NULL && s->f == stderr;
}

/* file:write(...), the original method as upvalue 1 */
static int ordered_file_write(lua_State *L) {
  if (is_stderr(L, 1)) fflush(stdout);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* io.write(...): the default output file is kept in the registry under
** "_IO_output" (liolib.c's IO_OUTPUT) */
static int ordered_io_write(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, "_IO_output");
  if (is_stderr(L, -1)) fflush(stdout);
  lua_pop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static void wrap(lua_State *L, int table, const char *name, lua_CFunction f) {
  if (lua_getfield(L, table, name) == LUA_TFUNCTION) {
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, table, name);
  } else {
    lua_pop(L, 1);
  }
}

void run_order_output(lua_State *L) {
  if (luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE &&
      lua_getfield(L, -1, "__index") == LUA_TTABLE) {   /* the methods of every file */
    wrap(L, lua_gettop(L), "write", ordered_file_write);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, LUA_IOLIBNAME) == LUA_TTABLE) wrap(L, lua_gettop(L), "write", ordered_io_write);
  lua_pop(L, 2);
}

/* Pushes the message as the terminal should see it: term.lua's
** nncalc._error_text transliterates it where the locale is not UTF-8.
** Raw gets, so a user's globals cannot raise here; any failure keeps the
** message as it was. */
static void push_report_text(lua_State *L, int msg) {
  lua_pushglobaltable(L);
  lua_pushliteral(L, "nncalc");
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_pushliteral(L, "_error_text");
    if (lua_rawget(L, -2) == LUA_TFUNCTION) {
      lua_pushvalue(L, msg);
      if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  lua_pushvalue(L, msg);
}

int run_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg;
    if (lua_type(L, -1) == LUA_TSTRING) push_report_text(L, lua_gettop(L));
    else lua_pushnil(L);
    msg = lua_tostring(L, -1);
    run_eprintf("%s\n", msg != NULL ? msg : "(error with no message)");
    lua_pop(L, 2);
  }
  return status;
}

int run_string(lua_State *L, const char *code, const char *chunkname) {
  int status = luaL_loadbuffer(L, code, strlen(code), chunkname);
  if (status == LUA_OK) status = run_call(L, 0, 0);
  return run_report(L, status);
}

int run_file(lua_State *L, const char *path) {
  int status = luaL_loadfile(L, path);
  if (status == LUA_OK) status = run_call(L, 0, 0);
  return run_report(L, status);
}
