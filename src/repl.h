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

/* The REPL's rules, shared with the Jupyter kernel (kernel_exec.c). */
/* Compiles code as one REPL entry: `return code` first, then code as a
** chunk, then statements ending in an expression (`x = f(); x.grad`).
** Pushes the function, or the chunk's error message; status as lua_load. */
int repl_compile(lua_State *L, const char *code);
/* The error on top (status from repl_compile) ran into the end of input:
** more lines are needed.  Pops the message when so. */
int repl_incomplete(lua_State *L, int status);
/* The entry ends with ';': its values are not shown. */
int repl_quiet(const char *code);
/* Shows the n values on top through nncalc.display, sets `_`; pops them. */
void repl_show(lua_State *L, int n);
/* `?name` as the code help("name") (`?` alone: help()); frees line. */
char *repl_help_line(char *line);

#endif
