/*
** complete.c — Tab completion over live Lua values: globals and keywords,
** fields after `.`, methods after `:`, through nested tables.
**
** Completion must never run user code, so it reads with lua_rawget only
** and follows a metatable's __index only when that is a table.  Objects
** whose __index is a function (tensors, nn modules) expose their methods
** through a `__methods` table in their metatable, set for this purpose.
*/
#include "complete.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

static lua_State *CL = NULL;

static const char *const keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while", NULL
};

/* Pushes the table whose keys are members of the value at idx: the value
** itself if a table, else its metatable's __methods or table __index.
** Pushes nil when there is none. */
static void push_members(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_pushvalue(L, idx);
    return;
  }
  if (lua_getmetatable(L, idx)) {
    lua_pushliteral(L, "__methods");
    if (lua_rawget(L, -2) == LUA_TTABLE) { lua_remove(L, -2); return; }
    lua_pop(L, 1);
    lua_pushliteral(L, "__index");
    if (lua_rawget(L, -2) == LUA_TTABLE) { lua_remove(L, -2); return; }
    lua_pop(L, 2);
  }
  lua_pushnil(L);
}

/* The metatable __index (a table) of the table at idx, or nil: the class
** of an object, whose methods complete too. */
static void push_index_table(lua_State *L, int idx) {
  static const char *const fields[] = {"__methods", "__index"};
  int i;
  idx = lua_absindex(L, idx);
  if (lua_getmetatable(L, idx)) {
    for (i = 0; i < 2; i++) {
      lua_pushstring(L, fields[i]);
      if (lua_rawget(L, -2) == LUA_TTABLE && !lua_rawequal(L, -1, idx)) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pushnil(L);
}

/* Resolves "a.b.c" (the part of the word before the last separator) from
** the globals, raw reads only.  Pushes the value or nil. */
static void resolve(lua_State *L, const char *path, size_t len) {
  size_t i = 0;
  lua_pushglobaltable(L);
  while (i < len) {
    size_t j = i;
    while (j < len && path[j] != '.' && path[j] != ':') j++;
    push_members(L, -1);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) return;
    lua_pushlstring(L, path + i, j - i);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
      /* maybe inherited through a class table */
      lua_pop(L, 1);
      push_index_table(L, -1);
      if (lua_isnil(L, -1)) { lua_remove(L, -2); return; }
      lua_pushlstring(L, path + i, j - i);
      lua_rawget(L, -2);
      lua_remove(L, -2);
    }
    lua_remove(L, -2);
    i = j + 1;
  }
}

static int is_identifier(const char *s) {
  if (!isalpha((unsigned char)*s) && *s != '_') return 0;
  for (s++; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return 0;
  return 1;
}

/* Collects the matching keys of the table at -1 (and of its class) into
** the Lua table at list, as prefix..key. */
static void collect(lua_State *L, int list, const char *prefix, size_t plen,
                    const char *stem, int methods_only, int depth) {
  int t = lua_gettop(L);
  size_t slen = strlen(stem);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -2);
      /* _private names only when asked for with a leading _ */
      if (strncmp(k, stem, slen) == 0 && is_identifier(k) &&
          (k[0] != '_' || stem[0] == '_')) {
        if (!methods_only || lua_isfunction(L, -1)) {
          lua_pushlstring(L, prefix, plen);
          lua_pushstring(L, k);
          lua_concat(L, 2);
          lua_pushboolean(L, 1);
          lua_rawset(L, list);   /* a set: no duplicates from the class */
        }
      }
    }
    lua_pop(L, 1);
  }
  if (depth < 8) {
    push_index_table(L, t);
    if (!lua_isnil(L, -1)) collect(L, list, prefix, plen, stem, methods_only, depth + 1);
    lua_pop(L, 1);
  }
}

static char **matches_from(lua_State *L, int list) {
  char **out;
  size_t n = 0, cap = 16, i;
  out = malloc(cap * sizeof *out);
  if (out == NULL) return NULL;
  out[n++] = NULL;   /* slot 0: the common prefix, filled below */
  lua_pushnil(L);
  while (lua_next(L, list)) {
    if (n + 1 >= cap) {
      char **grown = realloc(out, (cap *= 2) * sizeof *out);
      if (grown == NULL) break;
      out = grown;
    }
    out[n++] = strdup(lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  if (lua_gettop(L) > list) lua_settop(L, list);
  if (n == 1) { free(out); return NULL; }
  out[n] = NULL;
  /* common prefix of all matches goes first, as readline expects */
  {
    size_t common = strlen(out[1]);
    for (i = 2; i < n; i++) {
      size_t k = 0;
      while (k < common && out[i][k] == out[1][k]) k++;
      common = k;
    }
    out[0] = strndup(out[1], common);
  }
  return out;
}

/* All completions of `word` (which may be "a.b:c"), as a malloc'd
** NULL-terminated array with the common prefix first, or NULL. */
static char **complete_word(lua_State *L, const char *word) {
  const char *sep = NULL, *p;
  int top = lua_gettop(L), list;
  char **out;
  for (p = word; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  lua_newtable(L);
  list = lua_gettop(L);
  if (sep == NULL) {
    int i;
    for (i = 0; keywords[i]; i++)
      if (strncmp(keywords[i], word, strlen(word)) == 0) {
        lua_pushboolean(L, 1);
        lua_setfield(L, list, keywords[i]);
      }
    lua_pushglobaltable(L);
    collect(L, list, "", 0, word, 0, 0);
  } else if (word[0] == '.' || word[0] == ':') {
    /* ".cm" after net[1] or f(): the value is not a name we may read
    ** without running code, so nothing is offered (not the globals) */
  } else {
    resolve(L, word, (size_t)(sep - word));
    push_members(L, -1);
    if (!lua_isnil(L, -1))
      collect(L, list, word, (size_t)(sep - word) + 1, sep + 1, *sep == ':', 0);
  }
  lua_settop(L, list);
  out = matches_from(L, list);
  lua_settop(L, top);
  return out;
}

static char **attempt(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;   /* no file-name fallback */
  rl_completion_suppress_append = 1;  /* "tensor", not "tensor " */
  if (CL == NULL) return NULL;
  return complete_word(CL, text);
}

void complete_init(lua_State *L) {
  CL = L;
  rl_readline_name = "nncalc";
  rl_attempted_completion_function = attempt;
  /* '.' and ':' belong to the word, so "x:su" completes as one piece */
  rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^#[]~";
  rl_completion_append_character = '\0';
}

char **complete_list(lua_State *L, const char *word) {
  return complete_word(L, word);
}
