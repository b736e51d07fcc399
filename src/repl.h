/*
** repl.h — the interactive loop.  With tty set it reads through GNU
** Readline with prompts; otherwise it reads plain lines from stdin with no
** prompts or escapes, so a session can be replayed from a file.
*/
#ifndef NNCALC_REPL_H
#define NNCALC_REPL_H

#include <lua.h>

/* Runs until end of input; returns the number of statements that failed. */
int repl_run(lua_State *L, int tty);

/* The terminal's size as Readline knows it (followed through SIGWINCH in
** the REPL, asked of the terminal elsewhere); 0 when stdout is not a
** terminal. */
int repl_screen_size(int *rows, int *cols);

/* The REPL's rules, shared with the Jupyter kernel (kernel_exec.c). */
#define REPL_INCOMPLETE (-2)   /* repl_compile(): the statement goes on */
/* Compiles code as one REPL entry: `return code` first, then code as a
** chunk, then statements ending in an expression (`x = f(); x.grad`).
** LUA_OK pushes the function; REPL_INCOMPLETE (the code ran into its end)
** pushes nothing; any other status pushes the error message. */
int repl_compile(lua_State *L, const char *code);
/* The entry ends with ';': its values are not shown. */
int repl_quiet(const char *code);
/* Shows the n values on top through nncalc.display, sets `_`; pops them. */
void repl_show(lua_State *L, int n);
/* A line asking for help (`?name`, `name?`, `?` alone) as the code
** help("name") or help(); any other line as it is.  Takes over line. */
char *repl_help_line(char *line);

/* One line read through Readline at a terminal (editing, arrow keys, the
** session's history), for prompts inside a running program (a lesson's
** ask): malloc'd, or NULL at end of input, with *interrupted set when
** Ctrl-C abandoned it. */
char *repl_read_answer(const char *prompt, int *interrupted);

#endif
