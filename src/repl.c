/*
** repl.c — the read-eval-print loop (after lua.c): readline at a terminal,
** plain lines from a pipe; `return <line>` is tried first so expressions
** print; an incomplete statement asks for more lines; `_` keeps the last
** value; a trailing `;` keeps quiet.  Knows Lua and readline, not tensors.
*/
#include "repl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "complete.h"
#include "history.h"
#include "run.h"

#define PROMPT1 "> "
#define PROMPT2 ">> "
#define EOFMARK "<eof>"
#define STATUS_ABANDONED (-1)   /* compile(): the user pressed Ctrl-C */

/* ======================================================================
** Reading lines
**
** At a terminal, readline's callback interface under select(): a Ctrl-C
** at the prompt makes select() return EINTR, and the half-typed line is
** dropped cleanly (no longjmp out of readline).
** ====================================================================== */

static volatile sig_atomic_t prompt_sigint = 0;
static int line_interrupted = 0;   /* the last read_line ended by Ctrl-C */
static int line_had_nul = 0;       /* lines refused for a NUL byte (an error each) */
static char *cb_line;
static int cb_done;

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_sigint = 1;
}

static void on_line(char *line) {
  cb_line = line;
  cb_done = 1;
  rl_callback_handler_remove();
}

static char *tty_read_line(const char *prompt) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);   /* no SA_RESTART: select() must wake */
  prompt_sigint = 0;
  cb_done = 0;
  cb_line = NULL;
  fflush(stdout);
  rl_callback_handler_install(prompt, on_line);
  while (!cb_done) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fileno(rl_instream ? rl_instream : stdin), &fds);
    if (select(fileno(rl_instream ? rl_instream : stdin) + 1, &fds, NULL, NULL, NULL) < 0) {
      if (errno != EINTR) break;
      if (prompt_sigint) {
        /* leave the abandoned line visible, marked ^C, as a shell does */
        rl_point = rl_end;
        rl_redisplay();
        fputs("^C", rl_outstream ? rl_outstream : stdout);
        rl_free_line_state();
        rl_callback_sigcleanup();
        rl_callback_handler_remove();
        rl_cleanup_after_signal();
        fputs("\n", rl_outstream ? rl_outstream : stdout);
        line_interrupted = 1;
        break;
      }
      continue;
    }
    rl_callback_read_char();
  }
  sigaction(SIGINT, &old, NULL);
  return cb_line;
}

/* One line without its newline, malloc'd; NULL at end of input or when
** Ctrl-C abandoned the line (then line_interrupted is set). */
static char *read_line(int tty, const char *prompt) {
  line_interrupted = 0;
  if (tty) return tty_read_line(prompt);
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
    /* the line is a C string from here on: a NUL byte in it would cut it
    ** short without a word, so the line is refused, saying why */
    if (memchr(line, '\0', (size_t)n) != NULL) {
      run_eprintf("stdin: a line holds a NUL byte and was not run (inside a string, write \"\\0\")\n");
      line[0] = '\0';
      line_had_nul = 1;
    }
    return line;
  }
}

/* ======================================================================
** Compiling what was typed
** ====================================================================== */

/* An incomplete statement: a syntax error that ran into the end of input. */
static int incomplete(lua_State *L, int status, const char *code) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg, n = strlen(code);
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t lmark = sizeof(EOFMARK) - 1;
    /* a "..." string ends on its line (unless the line ends in a backslash,
    ** Lua's escaped newline): more lines could never finish it */
    if (strstr(msg, "unfinished string near " EOFMARK) != NULL && (n == 0 || code[n - 1] != '\\'))
      return 0;
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
  int status;
  while (n > 0 && (code[n - 1] == ' ' || code[n - 1] == '\t')) n--;
  if (n > 0 && code[n - 1] == ';') n--;
  ret = lua_pushfstring(L, "return %s;", lua_pushlstring(L, code, n));
  lua_remove(L, -2);
  status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_remove(L, -2);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* `x = f(); x.grad`: statements ending in an expression, which Lua
** rejects as a chunk.  Splits at the last ';' and returns the expression's
** values.  Only tried when the line compiles no other way, so a ';' inside
** a string can at worst make this attempt fail too. */
static int try_statements_then_expression(lua_State *L, const char *code) {
  size_t n = strlen(code), k;
  const char *ret;
  int status;
  while (n > 0 && (code[n - 1] == ' ' || code[n - 1] == '\t')) n--;
  if (n > 0 && code[n - 1] == ';') n--;
  k = n;
  while (k > 0 && code[k - 1] != ';') k--;
  if (k == 0) return LUA_ERRSYNTAX;
  lua_pushlstring(L, code, k);
  lua_pushlstring(L, code + k, n - k);
  ret = lua_pushfstring(L, "%s return %s;", lua_tostring(L, -2), lua_tostring(L, -1));
  status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_rotate(L, -4, 1);   /* the function (or error) below the three strings */
  lua_pop(L, 3);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* Compiles a complete chunk from lines, reading continuation lines while
** the statement is incomplete.  Leaves the function on the stack and the
** full text in *text (malloc'd); returns the load status, or
** STATUS_ABANDONED when Ctrl-C dropped the statement. */
static int compile(lua_State *L, int tty, char *first, char **text) {
  luaL_Buffer b;
  int status;
  size_t len = strlen(first);
  char *code = first;
  for (;;) {
    if ((status = try_expression(L, code)) == LUA_OK) break;
    status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
    if (status == LUA_OK) break;
    /* before incomplete(): `x = 1; x.grad` also ends in "near <eof>" */
    if (try_statements_then_expression(L, code) == LUA_OK) {
      lua_remove(L, -2);   /* the first error */
      status = LUA_OK;
      break;
    }
    if (!incomplete(L, status, code)) break;
    {
      char *more = read_line(tty, PROMPT2);
      if (more == NULL && line_interrupted) {   /* Ctrl-C: drop the statement */
        *text = code;
        return STATUS_ABANDONED;
      }
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
  /* the library's own table, not the global (which the user may reuse) */
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "nncalc") == LUA_TTABLE) {
    lua_getfield(L, -1, "display");
    lua_remove(L, -2);
  }
  lua_remove(L, -2);
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

/* `?name` asks for help on name; `?` alone lists the topics. */
static char *help_shortcut(char *line) {
  const char *p = line + 1;
  char *out;
  size_t n;
  while (*p == ' ') p++;
  n = strlen(p);
  while (n > 0 && p[n - 1] == ' ') n--;
  out = malloc(n + 16);
  if (out == NULL) return line;
  if (n == 0) strcpy(out, "help()");
  else snprintf(out, n + 16, "help(%c%.*s%c)", '"', (int)n, p, '"');
  free(line);
  return out;
}

int repl_run(lua_State *L, int tty) {
  int errors = 0;
  char *line;
  if (tty) {
    rl_catch_signals = 0;   /* SIGINT is ours (see tty_read_line) */
    complete_init(L);
    history_open();
  }
  for (;;) {
    char *text = NULL;
    int status, base = lua_gettop(L);
    line = read_line(tty, PROMPT1);
    if (line == NULL) {
      if (line_interrupted) continue;   /* Ctrl-C at the prompt: new prompt */
      break;
    }
    if (line_had_nul) { errors++; line_had_nul = 0; }
    if (line[0] == '\0') { free(line); continue; }
    if (line[0] == '?') line = help_shortcut(line);
    status = compile(L, tty, line, &text);
    if (status == STATUS_ABANDONED) {
      lua_settop(L, base);
      free(text);
      continue;
    }
    if (tty) history_add_entry(text);
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
  if (tty) {
    history_close();
    putchar('\n');
  }
  return errors;
}
