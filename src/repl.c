/*
** repl.c — the read-eval-print loop (after lua.c): readline at a terminal,
** plain lines from a pipe; `return <line>` is tried first so expressions
** print; an incomplete statement asks for more lines; `_` keeps the last
** value; a trailing `;` keeps quiet.  Knows Lua and readline, not tensors.
*/
#include "repl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "run.h"

#define PROMPT1 "> "
#define PROMPT2 ">> "
#define EOFMARK "<eof>"

/* ======================================================================
** Reading lines
** ====================================================================== */

/* One line without its newline, malloc'd; NULL at end of input. */
static char *read_line(int tty, const char *prompt) {
  if (tty) return readline(prompt);
  {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
      free(line);
      return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
    return line;
  }
}

/* ======================================================================
** Compiling what was typed
** ====================================================================== */

/* An incomplete statement: a syntax error that ran into the end of input. */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t lmark = sizeof(EOFMARK) - 1;
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Ends with ';' (after trailing blanks): the user asked for no print. */
static int quiet_line(const char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  return n > 0 && s[n - 1] == ';';
}

/* Tries `return <code>` so that an expression yields its values; a
** trailing ';' (no print wanted) is left out. */
static int try_expression(lua_State *L, const char *code) {
  size_t n = strlen(code);
  const char *ret;
  while (n > 0 && (code[n - 1] == ' ' || code[n - 1] == '\t')) n--;
  if (n > 0 && code[n - 1] == ';') n--;
  ret = lua_pushfstring(L, "return %s;", lua_pushlstring(L, code, n));
  lua_remove(L, -2);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_remove(L, -2);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* Compiles a complete chunk from lines, reading continuation lines while
** the statement is incomplete.  Leaves the function on the stack and the
** full text in *text (malloc'd); returns the load status, or -1 at EOF. */
static int compile(lua_State *L, int tty, char *first, char **text) {
  luaL_Buffer b;
  int status;
  size_t len = strlen(first);
  char *code = first;
  for (;;) {
    if ((status = try_expression(L, code)) == LUA_OK) break;
    status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
    if (status == LUA_OK || !incomplete(L, status)) break;
    {
      char *more = read_line(tty, PROMPT2);
      if (more == NULL) {   /* EOF inside a statement: report it as is */
        status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
        *text = code;
        return status;
      }
      luaL_buffinit(L, &b);
      luaL_addlstring(&b, code, len);
      luaL_addchar(&b, '\n');
      luaL_addstring(&b, more);
      luaL_pushresult(&b);
      free(more);
      free(code);
      code = strdup(lua_tostring(L, -1));
      lua_pop(L, 1);
      if (code == NULL) return luaL_error(L, "out of memory");
      len = strlen(code);
    }
  }
  *text = code;
  return status;
}

/* ======================================================================
** Printing results
** ====================================================================== */

/* Shows the n values on top of the stack through nncalc.display (set by
** the prelude), or print() when there is none; sets `_` to the first. */
static void show_results(lua_State *L, int n) {
  lua_pushvalue(L, -n);
  lua_setglobal(L, "_");
  if (lua_getglobal(L, "nncalc") == LUA_TTABLE) {
    lua_getfield(L, -1, "display");
    lua_remove(L, -2);
  }
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_getglobal(L, "print");
  }
  lua_insert(L, -(n + 1));
  run_report(L, run_call(L, n, 0));
}

/* ======================================================================
** The loop
** ====================================================================== */

int repl_run(lua_State *L, int tty) {
  int errors = 0;
  char *line;
  while ((line = read_line(tty, PROMPT1)) != NULL) {
    char *text = NULL;
    int status, base = lua_gettop(L);
    if (line[0] == '\0') { free(line); continue; }
    status = compile(L, tty, line, &text);
    if (tty && text != NULL && text[0] != '\0') add_history(text);
    if (status == LUA_OK) status = run_call(L, 0, LUA_MULTRET);
    if (status == LUA_OK) {
      int n = lua_gettop(L) - base;
      if (n > 0 && !quiet_line(text)) show_results(L, n);
    } else {
      errors++;
      run_report(L, status);
    }
    lua_settop(L, base);
    free(text);
  }
  if (tty) putchar('\n');
  return errors;
}
