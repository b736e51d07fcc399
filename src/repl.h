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

#endif
