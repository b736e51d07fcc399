/*
** complete.h — Readline Tab completion of Lua names (see complete.c).
*/
#ifndef NNCALC_COMPLETE_H
#define NNCALC_COMPLETE_H

#include <lua.h>

/* Installs the completer for the REPL on state L. */
void complete_init(lua_State *L);
/* The completions of word: a malloc'd NULL-terminated array whose first
** entry is their common prefix (free each string and the array), or NULL. */
char **complete_list(lua_State *L, const char *word);

#endif
