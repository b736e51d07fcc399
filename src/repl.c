/*
** repl.c — the read-eval-print loop (after lua.c): readline at a terminal,
** plain lines from a pipe; `return <line>` is tried first so expressions
** print; an incomplete statement asks for more lines; `_` keeps the last
** value; a trailing `;` keeps quiet.  Knows Lua and readline, not tensors.
*/
#include "repl.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

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

/* ======================================================================
** The terminal's size: a resize sets a flag; Readline re-reads the size
** when someone next asks (summary tables, plots, the pager, the prompt).
** ====================================================================== */

static volatile sig_atomic_t resized = 0;
static int readline_on = 0;

static void on_sigwinch(int sig) {
  (void)sig;
  resized = 1;
}

int repl_screen_size(int *rows, int *cols) {
  struct winsize ws;
  if (!isatty(STDOUT_FILENO)) return 0;
  if (readline_on) {
    if (resized) { resized = 0; rl_resize_terminal(); }
    rl_get_screen_size(rows, cols);
    if (*cols > 0 && *rows > 0) return 1;
  }
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
  *rows = ws.ws_row;
  *cols = ws.ws_col;
  return 1;
}

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
  if (resized) { resized = 0; rl_resize_terminal(); }
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

char *repl_read_answer(const char *prompt, int *interrupted) {
  char *line;
  line_interrupted = 0;
  line = tty_read_line(prompt);
  *interrupted = line_interrupted;
  line_interrupted = 0;
  if (line != NULL && *line != '\0') add_history(line);   /* this session only */
  return line;
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
int repl_quiet(const char *s) {
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

/* `x = f(); x.grad` or `x = f(); x:sum()`: statements ending in an
** expression.  Splits at the last ';' and returns the expression's values,
** but only when both halves compile on their own: `for i = 1, 3 do x = i;
** print(x) end` must stay a loop (`... return print(x) end` would compile),
** and a ';' inside a string at worst makes this attempt fail. */
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
  status = luaL_loadbuffer(L, lua_tostring(L, -2), k, "=stdin");
  lua_pop(L, 1);   /* the head compiled alone (or its error) */
  if (status == LUA_OK) {
    ret = lua_pushfstring(L, "return %s;", lua_tostring(L, -1));
    status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
    lua_pop(L, 2);   /* the tail compiled alone (or its error), its text */
  }
  if (status != LUA_OK) { lua_pop(L, 2); return status; }
  ret = lua_pushfstring(L, "%s return %s;", lua_tostring(L, -2), lua_tostring(L, -1));
  status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  lua_rotate(L, -4, 1);   /* the function (or error) below the three strings */
  lua_pop(L, 3);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* One attempt at compiling code as typed: an expression, a chunk, or
** statements ending in an expression.  LUA_OK leaves the function on the
** stack; REPL_INCOMPLETE means the statement goes on (nothing pushed);
** any other status leaves the error message. */
int repl_compile(lua_State *L, const char *code) {
  int status;
  if (try_expression(L, code) == LUA_OK) return LUA_OK;
  /* before the chunk: `x = f(); x:sum()` is a chunk too, whose call's
  ** values would be dropped; before incomplete(): `x = 1; x.grad` also
  ** ends in "near <eof>" */
  if (try_statements_then_expression(L, code) == LUA_OK) return LUA_OK;
  status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  if (status == LUA_OK) return LUA_OK;
  return incomplete(L, status, code) ? REPL_INCOMPLETE : status;
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
  while ((status = repl_compile(L, code)) == REPL_INCOMPLETE) {
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
  *text = code;
  return status;
}

/* ======================================================================
** Printing results
** ====================================================================== */

/* Shows the n values on top of the stack through nncalc.display (set by
** the prelude), or print() when there is none; sets `_` to the first. */
void repl_show(lua_State *L, int n) {
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

/* Runs the function compile() left (status LUA_OK) or reports the error;
** prints the values unless text ends in ';'.  Returns 1 on an error. */
static int execute(lua_State *L, int tty, int status, const char *text, int base) {
  if (tty) history_add_entry(text);
  if (status == LUA_OK) status = run_call(L, 0, LUA_MULTRET);
  if (status == LUA_OK) {
    int n = lua_gettop(L) - base;
    if (n > 0 && !repl_quiet(text)) repl_show(L, n);
  } else {
    run_report(L, status);
  }
  lua_settop(L, base);
  return status != LUA_OK;
}

/* A pasted block (bracketed paste puts its newlines in one line): its
** lines run as a sequence of chunks, each as if typed, so statements run
** and expressions print.  A statement still open at the end of the block
** continues at the >> prompt.  Returns the number of errors. */
static int is_blank(const char *s) { return s[strspn(s, " \t\r\n")] == '\0'; }

static int run_pasted(lua_State *L, int tty, char *block) {
  int errors = 0, base = lua_gettop(L);
  size_t from = 0, len = strlen(block);
  while (from < len) {
    int status = REPL_INCOMPLETE;
    char *code = NULL;
    /* the shortest run of lines from `from` that compiles (or fails) */
    while (status == REPL_INCOMPLETE && from < len) {
      const char *nl = strchr(block + from, '\n');
      size_t stop = nl ? (size_t)(nl - block) : len;
      char *grown = code ? malloc(strlen(code) + (stop - from) + 2) : strndup(block + from, stop - from);
      if (grown == NULL) { free(code); free(block); return errors + 1; }
      if (code) {
        sprintf(grown, "%s\n%.*s", code, (int)(stop - from), block + from);
        free(code);
      }
      code = grown;
      from = nl ? stop + 1 : len;
      if (!is_blank(code)) status = repl_compile(L, code);
    }
    if (is_blank(code)) { free(code); continue; }
    if (status == REPL_INCOMPLETE) {   /* still open at the end: read on */
      char *text = NULL;
      status = compile(L, tty, code, &text);
      code = text;
      if (status == STATUS_ABANDONED) { lua_settop(L, base); free(code); break; }
    }
    errors += execute(L, tty, status, code, base);
    free(code);
  }
  free(block);
  return errors;
}

/* `x?` (IPython's spelling) is `?x` when x is a name path (W1, net[1].weight,
** x:sum); Lua itself never ends a statement with '?'. */
static int is_trailing_help(const char *line) {
  size_t n = strlen(line), i;
  while (n > 0 && line[n - 1] == ' ') n--;
  if (n < 2 || line[n - 1] != '?') return 0;
  i = strspn(line, " ");
  if (!(isalpha((unsigned char)line[i]) || line[i] == '_')) return 0;
  for (; i < n - 1; i++)
    if (!(isalnum((unsigned char)line[i]) || strchr("_.:[]", line[i]) != NULL)) return 0;
  return 1;
}

char *repl_help_line(char *line) {
  if (is_trailing_help(line)) {
    char *q = malloc(strlen(line) + 2);
    if (q != NULL) {
      q[0] = '?';
      strcpy(q + 1, line);
      *strrchr(q, '?') = '\0';
      free(line);
      line = q;
    }
  }
  return line[0] == '?' ? help_shortcut(line) : line;
}

int repl_run(lua_State *L, int tty) {
  int errors = 0;
  char *line;
  if (tty) {
    struct sigaction sa;
    rl_catch_signals = 0;   /* SIGINT is ours (see tty_read_line) */
    rl_catch_sigwinch = 0;  /* and SIGWINCH, also while a command runs */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigwinch;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, NULL);
    rl_initialize();
    readline_on = 1;
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
    if (strchr(line, '\n') != NULL) { errors += run_pasted(L, tty, line); continue; }
    line = repl_help_line(line);
    status = compile(L, tty, line, &text);
    if (status == STATUS_ABANDONED) {
      lua_settop(L, base);
      free(text);
      continue;
    }
    errors += execute(L, tty, status, text, base);
    free(text);
  }
  if (tty) {
    history_close();
    putchar('\n');
  }
  return errors;
}
