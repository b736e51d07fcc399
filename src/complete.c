/*
** complete.c — Tab completion over live Lua values: globals and keywords,
** fields after `.`, methods after `:`, through nested tables.
**
** Completion must never run user code, so it reads with lua_rawget only
** and follows a metatable's __index only when that is a table.  Objects
** whose __index is a function (tensors, nn modules) expose their methods
** through a `__methods` table in their metatable, set for this purpose.
** The one call it makes is nncalc's own: a package that loads on first use
** (nn, models, optim) is loaded, so that its names are there to offer.
*/
#include "complete.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
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

/* If the value at idx is one of nncalc's packages not yet loaded (its
** metatable named "nncalc.package", prelude.lua), loads it through its
** __load.  A failure leaves it as it was. */
static void load_package(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return;
  lua_pushliteral(L, "__name");
  if (lua_rawget(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "nncalc.package") == 0) {
    lua_pushliteral(L, "__load");
    if (lua_rawget(L, -3) == LUA_TFUNCTION) {
      if (lua_pcall(L, 0, 0, 0) != LUA_OK) lua_pop(L, 1);
    }
    else lua_pop(L, 1);
  }
  lua_pop(L, 2);
}

/* One step of a path: the member k (a string, or an integer index when
** isnum) of the value at -1, replacing it; nil when there is none.  Raw
** reads only, through the class when the value itself lacks it. */
static void step_into(lua_State *L, const char *k, size_t klen, int isnum) {
  load_package(L, -1);
  push_members(L, -1);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) return;
  if (isnum) lua_rawgeti(L, -1, (lua_Integer)strtoll(k, NULL, 10));
  else { lua_pushlstring(L, k, klen); lua_rawget(L, -2); }
  if (lua_isnil(L, -1) && !isnum) {
    /* maybe inherited through a class table */
    lua_pop(L, 1);
    push_index_table(L, -1);
    if (lua_isnil(L, -1)) { lua_remove(L, -2); return; }
    lua_pushlstring(L, k, klen);
    lua_rawget(L, -2);
    lua_remove(L, -2);
  }
  lua_remove(L, -2);
}

/* Resolves "a.b[2].c" (the part of the word before the last separator)
** from the globals, raw reads only.  Pushes the value or nil. */
static void resolve(lua_State *L, const char *path, size_t len) {
  size_t i = 0;
  lua_pushglobaltable(L);
  while (i < len && !lua_isnil(L, -1)) {
    size_t j;
    if (path[i] == '[') {   /* [n]: an index into the array part */
      j = i + 1;
      while (j < len && isdigit((unsigned char)path[j])) j++;
      if (j == i + 1 || j >= len || path[j] != ']') { lua_pop(L, 1); lua_pushnil(L); return; }
      step_into(L, path + i + 1, j - i - 1, 1);
      i = j + 1;
      if (i < len && (path[i] == '.' || path[i] == ':')) i++;
      continue;
    }
    j = i;
    while (j < len && path[j] != '.' && path[j] != ':' && path[j] != '[') j++;
    step_into(L, path + i, j - i, 0);
    i = (j < len && path[j] == '[') ? j : j + 1;
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
  load_package(L, t);
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

/* Fields that the value at idx answers through a function __index (and
** so are not keys anywhere): its metatable's __fields, a table of names
** (a tensor's grad, shape, T) or the name of a raw field of the value
** whose keys they are (a module's parameters before their first read). */
static void collect_fields(lua_State *L, int idx, int list, const char *prefix, size_t plen,
                           const char *stem) {
  idx = lua_absindex(L, idx);
  if (!lua_getmetatable(L, idx)) return;
  lua_pushliteral(L, "__fields");
  lua_rawget(L, -2);
  if (lua_type(L, -1) == LUA_TSTRING && lua_type(L, idx) == LUA_TTABLE) {
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);
    lua_remove(L, -2);
  }
  if (lua_type(L, -1) == LUA_TTABLE) collect(L, list, prefix, plen, stem, 0, 8);   /* no class */
  lua_pop(L, 2);
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

/* The help entries starting with stem, as "?name": nncalc's own
** _help_names (term.lua), never a user's function. */
static void help_names(lua_State *L, int list, const char *stem) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "nncalc") == LUA_TTABLE) {
    lua_pushliteral(L, "_help_names");
    if (lua_rawget(L, -2) == LUA_TFUNCTION) {
      lua_pushstring(L, stem);
      if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
        for (i = 1; i <= n; i++) {
          lua_pushliteral(L, "?");
          lua_rawgeti(L, -2, i);
          if (!lua_isstring(L, -1)) { lua_pop(L, 2); continue; }
          lua_concat(L, 2);
          lua_pushboolean(L, 1);
          lua_rawset(L, list);
        }
      }
    }
  }
  lua_settop(L, top);
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
  if (sep == NULL && word[0] == '?') {
    help_names(L, list, word + 1);
  } else if (sep == NULL) {
    int i;
    for (i = 0; keywords[i]; i++)
      if (strncmp(keywords[i], word, strlen(word)) == 0) {
        lua_pushboolean(L, 1);
        lua_setfield(L, list, keywords[i]);
      }
    lua_pushglobaltable(L);
    collect(L, list, "", 0, word, 0, 0);
  } else if (word[0] == '.' || word[0] == ':' || word[0] == '[') {
    /* ".cm" after f() or x[i]: the value is not a name we may read
    ** without running code, so nothing is offered (not the globals) */
  } else if (word[0] == '?') {
    help_names(L, list, word + 1);
  } else {
    resolve(L, word, (size_t)(sep - word));
    if (*sep == '.') collect_fields(L, -1, list, word, (size_t)(sep - word) + 1, sep + 1);
    push_members(L, -1);
    if (!lua_isnil(L, -1))
      collect(L, list, word, (size_t)(sep - word) + 1, sep + 1, *sep == ':', 0);
  }
  lua_settop(L, list);
  out = matches_from(L, list);
  lua_settop(L, top);
  return out;
}

/* Where the cursor is: inside a string literal (the quote that opened it
** in *quote_at), or in code. */
static int in_string(const char *line, int upto, int *quote_at) {
  char q = 0;
  int i;
  for (i = 0; i < upto && line[i]; i++) {
    if (q && line[i] == '\\') { i++; continue; }
    if (q && line[i] == q) q = 0;
    else if (!q && (line[i] == '"' || line[i] == '\'')) { q = line[i]; *quote_at = i; }
    else if (!q && line[i] == '-' && line[i + 1] == '-') break;   /* a comment */
  }
  return q != 0;
}

/* In code a word runs through dots, colons and [n] (net[1].we); in a
** string only the quote ends it (hw/set1.lua). */
static char *word_breaks(void) {
  static char code_breaks[] = " \t\n\"\\'`@$><=;|&{(,+-*/%^#~";
  static char string_breaks[] = "\"'";
  int q = 0;
  return in_string(rl_line_buffer, rl_point, &q) ? string_breaks : code_breaks;
}

/* help("conv_ and help "conv_ complete help names, other strings file names */
static int help_string(const char *line, int quote_at) {
  int i = quote_at - 1;
  while (i >= 0 && (line[i] == ' ' || line[i] == '(')) i--;
  return i >= 3 && strncmp(line + i - 3, "help", 4) == 0 && (i == 3 || !isalnum((unsigned char)line[i - 4]));
}

static char *help_generator(const char *text, int state) {
  static char **m;
  static int k;
  if (state == 0) {
    char *word = malloc(strlen(text) + 2);
    if (m != NULL) { while (m[k] != NULL) free(m[k++]); free(m); }
    m = NULL;
    k = 1;
    if (word == NULL) return NULL;
    sprintf(word, "?%s", text);
    m = complete_word(CL, word);
    free(word);
    if (m != NULL) free(m[0]);
  }
  if (m == NULL || m[k] == NULL) return NULL;
  {
    char *r = strdup(m[k] + 1);   /* without the '?' */
    free(m[k++]);
    return r;
  }
}

static char **attempt(const char *text, int start, int end) {
  int quote_at = 0;
  (void)end;
  rl_attempted_completion_over = 1;   /* no file-name fallback */
  rl_completion_suppress_append = 1;  /* "tensor", not "tensor " */
  if (CL == NULL) return NULL;
  if (in_string(rl_line_buffer, start, &quote_at)) {
    if (help_string(rl_line_buffer, quote_at)) return rl_completion_matches(text, help_generator);
    return rl_completion_matches(text, rl_filename_completion_function);
  }
  return complete_word(CL, text);
}

void complete_init(lua_State *L) {
  CL = L;
  rl_readline_name = "nncalc";
  rl_attempted_completion_function = attempt;
  /* '.', ':' and [n] belong to the word, so "x:su" and "net[1].we"
  ** complete as one piece; in a string only the quotes break */
  rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^#~";
  rl_completion_word_break_hook = word_breaks;
  rl_completion_append_character = '\0';
}

char **complete_list(lua_State *L, const char *word) {
  return complete_word(L, word);
}
