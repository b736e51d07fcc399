/*
** kernel_exec.c — running a cell for the Jupyter kernel, so that a
** notebook shows what the REPL shows for the same code:
**   - the cell compiles by the REPL's rules (repl_compile), and a cell of
**     statements ending in an expression returns that expression, as the
**     REPL line holding it would;
**   - what Lua writes (print, io.write, io.stdout, io.stderr) becomes
**     stream messages: Lua's standard files are pointed at fopencookie
**     streams whose writes collect here;
**   - the value is shown by nncalc.display (the REPL's printer) as the
**     execute_result's text/plain, plus HTML or SVG from jupyter.lua;
**   - reading io.stdin (ask() and pause() in lessons) sends input_request
**     and waits for the input_reply;
**   - errors are the REPL's one-line message.
*/
#define _GNU_SOURCE   /* fopencookie */
#include "kernel.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lualib.h>
#include <zmq.h>

#include "repl.h"
#include "run.h"
#include "status.h"

/* ======================================================================
** Output streams
** ====================================================================== */

typedef struct Stream {
  Kernel *k;
  const char *name;      /* "stdout" or "stderr" */
  char *buf;
  size_t len, cap;
  int hold;              /* collect only (a value's text, inspect): send nothing */
  double last;           /* when it was last sent */
} Stream;

static Stream out_s, err_s;
static FILE *out_f, *err_f, *in_f;
static FILE *saved_out, *saved_err, *saved_in, *saved_stdout;
static char *in_buf;
static size_t in_len, in_pos;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A copy of s[0..n) that is valid UTF-8 (what JSON needs): a byte that
** starts no valid sequence becomes U+FFFD. */
static char *utf8_copy(const char *s, size_t n) {
  char *out = malloc(3 * n + 1), *o = out;
  size_t i = 0;
  if (out == NULL) return NULL;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
               : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    size_t j;
    int ok = len > 0 && i + len <= n;
    for (j = 1; ok && j < len; j++) ok = ((unsigned char)s[i + j] & 0xC0) == 0x80;
    if (ok && c != 0) { memcpy(o, s + i, len); o += len; i += len; }
    else { memcpy(o, "\xEF\xBF\xBD", 3); o += 3; i++; }
  }
  *o = '\0';
  return out;
}

static void stream_send(Stream *s, size_t n) {
  cJSON *c;
  char *text;
  if (n == 0) return;
  if (s->k->current != NULL && (text = utf8_copy(s->buf, n)) != NULL) {
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", s->name);
    cJSON_AddStringToObject(c, "text", text);
    free(text);
    kw_send(s->k, s->k->iopub, s->k->current, "stream", c);
  }
  memmove(s->buf, s->buf + n, s->len - n);
  s->len -= n;
  s->last = now_s();
}

/* Everything written so far goes out, in the order it was written. */
static void streams_flush(void) {
  if (!out_s.hold) stream_send(&out_s, out_s.len);
  if (!err_s.hold) stream_send(&err_s, err_s.len);
}

/* Collects; sends whole lines every tenth of a second or 16 KB, so a
** long computation's progress shows while it runs. */
static ssize_t stream_write(void *cookie, const char *data, size_t n) {
  Stream *s = cookie, *other = s == &out_s ? &err_s : &out_s;
  if (s->len + n + 1 > s->cap) {
    size_t cap = (s->len + n + 1) * 2;
    char *b = realloc(s->buf, cap);
    if (b == NULL) return -1;
    s->buf = b;
    s->cap = cap;
  }
  if (!s->hold && !other->hold && other->len > 0) stream_send(other, other->len);
  memcpy(s->buf + s->len, data, n);
  s->len += n;
  if (!s->hold && (s->len > 16384 || now_s() - s->last > 0.1)) {
    size_t upto = s->len;
    while (upto > 0 && s->buf[upto - 1] != '\n') upto--;
    stream_send(s, upto);
  }
  return (ssize_t)n;
}

/* The collected text of s as a string (malloc'd); s is emptied. */
static char *stream_take(Stream *s) {
  char *t = utf8_copy(s->buf != NULL ? s->buf : "", s->len);
  s->len = 0;
  return t;
}

/* ======================================================================
** Standard input: input_request / input_reply
** ====================================================================== */

/* Sends input_request with prompt (ANSI colour codes left out: an input
** box shows them as text) and waits for the input_reply: its value,
** malloc'd, or NULL when input is not allowed or Ctrl-C stopped the wait. */
static char *input_request(Kernel *k, const char *prompt) {
  char *plain = malloc(strlen(prompt) + 1), *o = plain;
  const char *p;
  cJSON *c;
  if (plain == NULL || !k->allow_stdin || k->current == NULL) { free(plain); return NULL; }
  for (p = prompt; *p; p++) {
    if (p[0] == '\033' && p[1] == '[') {   /* ESC [ digits ; ... m */
      const char *q = p + 2;
      while (*q && (isdigit((unsigned char)*q) || *q == ';')) q++;
      if (*q == 'm') { p = q; continue; }
    }
    if (*p != '\001' && *p != '\002') *o++ = *p;   /* Readline's markers */
  }
  *o = '\0';
  streams_flush();
  c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "prompt", plain);
  cJSON_AddFalseToObject(c, "password");
  free(plain);
  kw_send(k, k->stdin_sock, k->current, "input_request", c);
  while (!nn_interrupted) {
    zmq_pollitem_t item = {k->stdin_sock, 0, ZMQ_POLLIN, 0};
    KMsg r;
    int rc = zmq_poll(&item, 1, 200);
    if (rc <= 0 || kw_recv(k, k->stdin_sock, &r) != 0) continue;
    if (strcmp(kw_str(r.header, "msg_type", ""), "input_reply") == 0) {
      char *v = strdup(kw_str(r.content, "value", ""));
      kw_free(&r);
      return v;
    }
    kw_free(&r);
  }
  return NULL;
}

/* Reading io.stdin: the unfinished last line written (the question) is
** the prompt.  0 when a line came, -1 at "end of input". */
static int ask_frontend(Kernel *k) {
  size_t upto = out_s.len, n;
  char *prompt, *v;
  if (!k->allow_stdin || k->current == NULL) return -1;
  while (upto > 0 && out_s.buf[upto - 1] != '\n') upto--;
  if (!out_s.hold) stream_send(&out_s, upto);
  prompt = out_s.hold ? strdup("") : stream_take(&out_s);
  v = input_request(k, prompt != NULL ? prompt : "");
  free(prompt);
  if (v == NULL) return -1;
  n = strlen(v);
  free(in_buf);
  in_buf = malloc(n + 2);
  if (in_buf != NULL) {
    memcpy(in_buf, v, n);
    in_buf[n] = '\n';
    in_len = n + 1;
    in_pos = 0;
  }
  free(v);
  return in_buf != NULL ? 0 : -1;
}

static ssize_t stdin_read(void *cookie, char *buf, size_t size) {
  size_t n;
  if (in_pos >= in_len && ask_frontend(cookie) != 0) return 0;
  n = in_len - in_pos < size ? in_len - in_pos : size;
  memcpy(buf, in_buf + in_pos, n);
  in_pos += n;
  return (ssize_t)n;
}

/* ======================================================================
** Lua's side: io.stdout/io.stderr/io.stdin, nncalc.present
** ====================================================================== */

static Kernel *K;
static int mime_ref = LUA_NOREF;   /* nncalc.jupyter's mime, in the registry */

/* nncalc.present(text [, {mime = string | function}]): a display_data
** message, text/plain always (consoles, nbconvert to text) and each rich
** form beside it; functions are called only here, so the REPL never pays
** for an SVG it does not show. */
static int l_present(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  cJSON *c, *data;
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  if (out_s.hold || K->current == NULL) {   /* collecting text: the text */
    fprintf(out_f, "%s\n", text);
    return 0;
  }
  data = cJSON_CreateObject();
  {
    char *t = utf8_copy(text, strlen(text));
    cJSON_AddStringToObject(data, "text/plain", t != NULL ? t : "");
    free(t);
  }
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        if (lua_isfunction(L, -1)) lua_call(L, 0, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
          char *t = utf8_copy(lua_tostring(L, -1), lua_rawlen(L, -1));
          if (t != NULL) cJSON_AddStringToObject(data, lua_tostring(L, -2), t);
          free(t);
        }
      }
      lua_pop(L, 1);
    }
  }
  streams_flush();
  c = cJSON_CreateObject();
  cJSON_AddItemToObject(c, "data", data);
  cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
  cJSON_AddItemToObject(c, "transient", cJSON_CreateObject());
  kw_send(K, K->iopub, K->current, "display_data", c);
  return 0;
}

/* nncalc._read_answer(prompt): a lesson's ask and pause read through the
** notebook's input box; nil, "interrupted" after an interrupt (the lesson
** ends, as Ctrl-C at the REPL's prompt), nil when input is not allowed. */
static int l_read_answer(lua_State *L) {
  char *v = input_request(K, luaL_optstring(L, 1, ""));
  if (v == NULL) {
    lua_pushnil(L);
    if (!nn_interrupted) return 1;
    nn_interrupted = 0;   /* the lesson's own way out, not the hook's */
    lua_sethook(L, NULL, 0, 0);
    lua_pushliteral(L, "interrupted");
    return 2;
  }
  lua_pushstring(L, v);
  free(v);
  return 1;
}

/* nncalc.interactive(): lessons wait for answers when the frontend can
** give them (allow_stdin), as at a terminal. */
static int l_interactive(lua_State *L) {
  lua_pushboolean(L, K->current != NULL && K->allow_stdin);
  return 1;
}

/* Points the io library's file handle io[name] at f, remembering the old. */
static FILE *swap_file(lua_State *L, const char *name, FILE *f) {
  FILE *old = NULL;
  luaL_Stream *p;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_IOLIBNAME);
  lua_remove(L, -2);
  lua_getfield(L, -1, name);
  p = luaL_testudata(L, -1, LUA_FILEHANDLE);
  if (p != NULL) { old = p->f; p->f = f; }
  lua_pop(L, 2);
  return old;
}

void kx_init(Kernel *k) {
  cookie_io_functions_t w = {NULL, stream_write, NULL, NULL};
  cookie_io_functions_t r = {stdin_read, NULL, NULL, NULL};
  K = k;
  out_s.k = err_s.k = k;
  out_s.name = "stdout";
  err_s.name = "stderr";
  out_f = fopencookie(&out_s, "w", w);
  err_f = fopencookie(&err_s, "w", w);
  in_f = fopencookie(k, "r", r);
  if (out_f == NULL || err_f == NULL || in_f == NULL) return;
  setvbuf(out_f, NULL, _IONBF, 0);
  setvbuf(err_f, NULL, _IONBF, 0);
  setvbuf(in_f, NULL, _IONBF, 0);
  saved_out = swap_file(k->L, "stdout", out_f);
  saved_err = swap_file(k->L, "stderr", err_f);
  saved_in = swap_file(k->L, "stdin", in_f);
  saved_stdout = stdout;
  stdout = out_f;   /* glibc: a variable; Lua's own print writes here */
  /* the library's own table (the global may be the user's by now) */
  lua_getfield(k->L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(k->L, -1, "nncalc");
  lua_remove(k->L, -2);
  lua_pushcfunction(k->L, l_present);
  lua_setfield(k->L, -2, "present");
  lua_pushcfunction(k->L, l_interactive);
  lua_setfield(k->L, -2, "interactive");
  lua_pushcfunction(k->L, l_read_answer);
  lua_setfield(k->L, -2, "_read_answer");
  lua_pushboolean(k->L, 0);   /* notebooks speak UTF-8 whatever the locale */
  lua_setfield(k->L, -2, "ascii");
  lua_pop(k->L, 1);
  /* loaded now, before any cell: a user's `require = nil` cannot break it */
  lua_getglobal(k->L, "require");
  lua_pushliteral(k->L, "nncalc.jupyter");
  if (run_call(k->L, 1, 1) == LUA_OK && lua_istable(k->L, -1)) {
    lua_getfield(k->L, -1, "mime");
    mime_ref = luaL_ref(k->L, LUA_REGISTRYINDEX);
  } else {
    run_eprintf("nncalc kernel: no rich output (nncalc.jupyter: %s)\n", luaL_tolstring(k->L, -1, NULL));
    lua_pop(k->L, 1);
  }
  lua_pop(k->L, 1);
}

void kx_close(Kernel *k) {
  if (out_f == NULL || err_f == NULL || in_f == NULL) {
    if (out_f) fclose(out_f);
    if (err_f) fclose(err_f);
    if (in_f) fclose(in_f);
    return;
  }
  swap_file(k->L, "stdout", saved_out);
  swap_file(k->L, "stderr", saved_err);
  swap_file(k->L, "stdin", saved_in);
  stdout = saved_stdout;
  fclose(out_f);
  fclose(err_f);
  fclose(in_f);
  out_f = err_f = in_f = NULL;
  free(out_s.buf);
  free(err_s.buf);
  free(in_buf);
  in_buf = NULL;
}

/* ======================================================================
** Compiling a cell
** ====================================================================== */

/* code[0..n) loads as a chunk (or as `return code[0..n)` when ret). */
static int loads(lua_State *L, const char *code, size_t n, int ret) {
  int st;
  if (ret) {
    lua_pushliteral(L, "return ");
    lua_pushlstring(L, code, n);
    lua_pushliteral(L, ";");
    lua_concat(L, 3);
    st = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
    lua_pop(L, 2);
  } else {
    st = luaL_loadbuffer(L, code, n, "=stdin");
    lua_pop(L, 1);
  }
  return st == LUA_OK;
}

/* A cell is what the REPL would read as several entries: its last
** expression is the value shown.  From the last line up, the first split
** where the lines above load as a chunk and the rest as an expression
** becomes `above; return rest`.  A rest that starts with '(' is not split
** off (Lua reads `f\n(x)` as a call).  Otherwise the REPL's own rules. */
int kx_compile(lua_State *L, const char *code) {
  size_t n = strlen(code), p;
  while (n > 0 && isspace((unsigned char)code[n - 1])) n--;
  if (n > 0 && code[n - 1] == ';') n--;
  for (p = n; ; p--) {
    if (p == 0 || code[p - 1] == '\n') {
      const char *rest = code + p;
      while (rest < code + n && isspace((unsigned char)*rest)) rest++;
      if (rest < code + n && (p == 0 || *rest != '(') &&
          loads(L, code + p, n - p, 1) && (p == 0 || loads(L, code, p, 0))) {
        int st;
        lua_pushlstring(L, code, p);
        lua_pushliteral(L, "return ");
        lua_pushlstring(L, code + p, n - p);
        lua_pushliteral(L, ";");
        lua_concat(L, 4);
        st = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
        lua_remove(L, -2);
        if (st == LUA_OK) return st;
        lua_pop(L, 1);
      }
    }
    if (p == 0) break;
  }
  return repl_compile(L, code);
}

/* ======================================================================
** Running
** ====================================================================== */

int kx_capture(Kernel *k, const char *code, char **text) {
  lua_State *L = k->L;
  int st, top = lua_gettop(L);
  out_s.hold = err_s.hold = 1;
  st = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  if (st == LUA_OK) st = run_call(L, 0, 0);
  *text = stream_take(&out_s);
  err_s.len = 0;
  out_s.hold = err_s.hold = 0;
  lua_settop(L, top);
  return st;
}

/* Adds the rich forms of the value on top (jupyter.lua's mime) to data. */
static void add_mime(lua_State *L, cJSON *data) {
  int top = lua_gettop(L);
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, mime_ref) == LUA_TFUNCTION) {
    lua_pushvalue(L, top);
    if (run_call(L, 1, 1) == LUA_OK && lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
          char *t = utf8_copy(lua_tostring(L, -1), lua_rawlen(L, -1));
          if (t != NULL) cJSON_AddStringToObject(data, lua_tostring(L, -2), t);
          free(t);
        }
        lua_pop(L, 1);
      }
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      fprintf(stderr, "nncalc kernel: rich output failed: %s\n", lua_tostring(L, -1));
    }
  }
  lua_settop(L, top);
}

/* The n values on top, shown as the REPL shows them: nncalc.display's
** text, and for a single value its rich forms too. */
static void show_value(Kernel *k, int n, int count) {
  lua_State *L = k->L;
  char *text;
  cJSON *c, *data;
  size_t len;
  lua_pushvalue(L, -n);
  lua_insert(L, -(n + 1));
  streams_flush();
  out_s.hold = 1;
  repl_show(L, n);
  out_s.hold = 0;
  text = stream_take(&out_s);
  len = text != NULL ? strlen(text) : 0;
  if (len > 0) {
    if (text[len - 1] == '\n') text[len - 1] = '\0';
    data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "text/plain", text);
    if (n == 1) add_mime(L, data);
    c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "execution_count", count);
    cJSON_AddItemToObject(c, "data", data);
    cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
    kw_send(k, k->iopub, k->current, "execute_result", c);
  }
  free(text);
  lua_pop(L, 1);
}

static int flag(const KMsg *m, const char *name, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->content, name);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

char *kx_cell_code(const char *code) {
  const char *p = code;
  char *line;
  size_t n;
  while (isspace((unsigned char)*p)) p++;
  n = strlen(p);
  while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
  if (memchr(p, '\n', n) != NULL) return strdup(code);
  line = strndup(p, n);
  return line != NULL ? repl_help_line(line) : NULL;
}

void kx_execute(Kernel *k, const KMsg *m) {
  lua_State *L = k->L;
  const char *code = kw_str(m->content, "code", "");
  int silent = flag(m, "silent", 0), store = flag(m, "store_history", 1);
  int base = lua_gettop(L), st, count;
  char *src = kx_cell_code(code);
  cJSON *reply = cJSON_CreateObject();
  if (!silent && store) k->execution_count++;
  count = k->execution_count;
  if (!silent) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "code", code);
    cJSON_AddNumberToObject(c, "execution_count", count);
    kw_send(k, k->iopub, m, "execute_input", c);
  }
  k->current = m;
  k->allow_stdin = flag(m, "allow_stdin", 1);
  out_s.hold = err_s.hold = silent;
  if (in_f != NULL) {   /* what the last cell left unread (a '\n' after a number) */
    __fpurge(in_f);
    clearerr(in_f);
  }
  in_len = in_pos = 0;
  out_s.last = err_s.last = now_s();
  st = src == NULL ? LUA_ERRMEM : kx_compile(L, src);
  if (st == REPL_INCOMPLETE)   /* the message the REPL gives at end of input */
    st = luaL_loadbuffer(L, src, strlen(src), "=stdin");
  if (st == LUA_OK) st = run_call(L, 0, LUA_MULTRET);
  if (st == LUA_OK) {
    int n = lua_gettop(L) - base;
    if (n > 0 && !silent && !repl_quiet(src)) show_value(k, n, count);
    streams_flush();
    cJSON_AddStringToObject(reply, "status", "ok");
    cJSON_AddItemToObject(reply, "user_expressions", cJSON_CreateObject());
    cJSON_AddItemToObject(reply, "payload", cJSON_CreateArray());
  } else {
    const char *raw = src == NULL ? "not enough memory" : lua_tostring(L, -1);
    char *msg = utf8_copy(raw ? raw : "(error with no message)", strlen(raw ? raw : "(error with no message)"));
    size_t len = msg != NULL ? strlen(msg) : 0;
    const char *ename = len >= 11 && strcmp(msg + len - 11, "interrupted") == 0 ? "Interrupted" : "Error";
    cJSON *tb = cJSON_CreateArray(), *e = cJSON_CreateObject();
    streams_flush();
    cJSON_AddItemToArray(tb, cJSON_CreateString(msg ? msg : ""));
    cJSON_AddStringToObject(e, "ename", ename);
    cJSON_AddStringToObject(e, "evalue", msg ? msg : "");
    cJSON_AddItemToObject(e, "traceback", cJSON_Duplicate(tb, 1));
    if (!silent) kw_send(k, k->iopub, m, "error", e);
    else cJSON_Delete(e);
    cJSON_AddStringToObject(reply, "status", "error");
    cJSON_AddStringToObject(reply, "ename", ename);
    cJSON_AddStringToObject(reply, "evalue", msg ? msg : "");
    cJSON_AddItemToObject(reply, "traceback", tb);
    free(msg);
  }
  out_s.len = err_s.len = 0;   /* silent: what it wrote is dropped */
  out_s.hold = err_s.hold = 0;
  cJSON_AddNumberToObject(reply, "execution_count", count);
  kw_send(k, k->shell, m, "execute_reply", reply);
  k->current = NULL;
  lua_settop(L, base);
  free(src);
}
