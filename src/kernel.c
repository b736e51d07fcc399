/*
** kernel.c — nncalc as a Jupyter kernel: the five sockets of the
** connection file, a heartbeat thread, and the loop that answers requests
** one at a time (execute_request is in kernel_exec.c).
**
** Interrupts follow the kernelspec's interrupt_mode "signal": the client
** sends SIGINT, which run.c turns into the error `interrupted` exactly as
** Ctrl-C in the REPL (a Lua hook, nn_interrupted for C kernels).  Between
** requests SIGINT is ignored, so an interrupt that comes late does not
** kill the kernel.
*/
#include "kernel.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <zmq.h>

#include "complete.h"
#include "repl.h"

#ifndef NNCALC_VERSION
#define NNCALC_VERSION "0.1.0"
#endif

/* ======================================================================
** Sockets and the heartbeat
** ====================================================================== */

static void *open_socket(Kernel *k, int type, const KConn *c, int port) {
  char ep[160];
  int linger = 0;
  void *s = zmq_socket(k->ctx, type);
  if (s == NULL) return NULL;
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
  if (strcmp(c->transport, "ipc") == 0) snprintf(ep, sizeof ep, "ipc://%s-%d", c->ip, port);
  else snprintf(ep, sizeof ep, "%s://%s:%d", c->transport, c->ip, port);
  if (zmq_bind(s, ep) != 0) {
    fprintf(stderr, "nncalc --kernel: cannot listen on %s: %s\n", ep, zmq_strerror(zmq_errno()));
    zmq_close(s);
    return NULL;
  }
  return s;
}

/* Echoes every ping until the context is shut down; runs beside long
** computations, so the client never takes a busy kernel for a dead one. */
static void *heartbeat(void *sock) {
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) {
      zmq_msg_close(&m);
      if (zmq_errno() == ETERM) break;
      continue;
    }
    if (zmq_msg_send(&m, sock, 0) < 0) zmq_msg_close(&m);
  }
  zmq_close(sock);
  return NULL;
}

/* ======================================================================
** Small requests
** ====================================================================== */

static cJSON *ok_content(void) {
  cJSON *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "status", "ok");
  return c;
}

static void kernel_info(Kernel *k, void *sock, const KMsg *m) {
  cJSON *c = ok_content(), *li = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "protocol_version", "5.3");
  cJSON_AddStringToObject(c, "implementation", "nncalc");
  cJSON_AddStringToObject(c, "implementation_version", NNCALC_VERSION);
  cJSON_AddStringToObject(li, "name", "lua");
  cJSON_AddStringToObject(li, "version", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
  cJSON_AddStringToObject(li, "mimetype", "text/x-lua");
  cJSON_AddStringToObject(li, "file_extension", ".lua");
  cJSON_AddStringToObject(li, "pygments_lexer", "lua");
  cJSON_AddStringToObject(li, "codemirror_mode", "lua");
  cJSON_AddItemToObject(c, "language_info", li);
  cJSON_AddStringToObject(c, "banner", "nncalc " NNCALC_VERSION " (Lua 5.4, float64 tensors)\n"
                          "help() for topics, ?name for one function, lesson() for lessons");
  cJSON_AddItemToObject(c, "help_links", cJSON_CreateArray());
  cJSON_AddFalseToObject(c, "debugger");
  kw_send(k, sock, m, "kernel_info_reply", c);
}

/* cursor_pos counts code points (protocol 5.2 on); C counts bytes. */
static size_t byte_offset(const char *s, long cp) {
  size_t i;
  long seen = 0;
  for (i = 0; s[i] != '\0'; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80 && seen++ == cp) break;
  return i;
}

static long code_points(const char *s, size_t n) {
  long cp = 0;
  size_t i;
  for (i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) cp++;
  return cp;
}

static long cursor_of(const KMsg *m, const char *code) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->content, "cursor_pos");
  return cJSON_IsNumber(v) ? (long)v->valuedouble : code_points(code, strlen(code));
}

/* The characters that end a word for Tab completion (as complete.c). */
static int word_char(int c) {
  return c != '\0' && strchr(" \t\n\"\\'`@$><=;|&{(,+-*/%^#[]~", c) == NULL;
}

static int by_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void complete(Kernel *k, void *sock, const KMsg *m) {
  const char *code = kw_str(m->content, "code", "");
  size_t end = byte_offset(code, cursor_of(m, code)), start = end;
  cJSON *c = ok_content(), *list = cJSON_CreateArray();
  char *word;
  char **found;
  while (start > 0 && word_char((unsigned char)code[start - 1])) start--;
  word = strndup(code + start, end - start);
  found = word != NULL ? complete_list(k->L, word) : NULL;
  if (found != NULL) {
    int i, n = 0;
    while (found[n + 1] != NULL) n++;
    qsort(found + 1, (size_t)n, sizeof *found, by_text);   /* as nncalc.complete lists them */
    for (i = 1; found[i] != NULL; i++) {
      cJSON_AddItemToArray(list, cJSON_CreateString(found[i]));
      free(found[i]);
    }
    free(found[0]);
    free(found);
  }
  free(word);
  cJSON_AddItemToObject(c, "matches", list);
  cJSON_AddNumberToObject(c, "cursor_start", (double)code_points(code, start));
  cJSON_AddNumberToObject(c, "cursor_end", (double)code_points(code, end));
  cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
  kw_send(k, sock, m, "complete_reply", c);
}

/* The name under the cursor (a.b:c), as ?name in the REPL asks for it. */
static void inspect(Kernel *k, void *sock, const KMsg *m) {
  const char *code = kw_str(m->content, "code", "");
  size_t at = byte_offset(code, cursor_of(m, code)), a = at, b = at;
  cJSON *c = ok_content(), *data = cJSON_CreateObject();
  int found = 0;
#define NAMECHAR(ch) (isalnum((unsigned char)(ch)) || (ch) == '_' || (ch) == '.' || (ch) == ':')
  while (a > 0 && NAMECHAR(code[a - 1])) a--;
  while (code[b] != '\0' && NAMECHAR(code[b])) b++;
#undef NAMECHAR
  if (b > a) {
    char *line = malloc(b - a + 2), *help, *text = NULL;
    if (line != NULL) {
      line[0] = '?';
      memcpy(line + 1, code + a, b - a);
      line[b - a + 1] = '\0';
      help = repl_help_line(line);
      found = kx_capture(k, help, &text) == LUA_OK;
      free(help);
      if (found && text != NULL) cJSON_AddStringToObject(data, "text/plain", text);
      free(text);
    }
  }
  cJSON_AddBoolToObject(c, "found", found);
  cJSON_AddItemToObject(c, "data", data);
  cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
  kw_send(k, sock, m, "inspect_reply", c);
}

/* The REPL's multi-line rule: incomplete when the cell fails to compile
** only because its end came too soon. */
static void is_complete(Kernel *k, void *sock, const KMsg *m) {
  char *code = kx_cell_code(kw_str(m->content, "code", ""));
  const char *status;
  cJSON *c = cJSON_CreateObject();
  int top = lua_gettop(k->L), st = code != NULL ? kx_compile(k->L, code) : LUA_ERRMEM;
  status = st == LUA_OK ? "complete" : st == REPL_INCOMPLETE ? "incomplete" : "invalid";
  lua_settop(k->L, top);
  free(code);
  cJSON_AddStringToObject(c, "status", status);
  if (strcmp(status, "incomplete") == 0) cJSON_AddStringToObject(c, "indent", "");
  kw_send(k, sock, m, "is_complete_reply", c);
}

static void shutdown_req(Kernel *k, void *sock, const KMsg *m) {
  cJSON *c = ok_content();
  cJSON_AddBoolToObject(c, "restart",
                        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m->content, "restart")));
  kw_send(k, sock, m, "shutdown_reply", c);
  k->done = 1;
}

/* ======================================================================
** The loop
** ====================================================================== */

static void reply_empty(Kernel *k, void *sock, const KMsg *m, const char *type, const char *field,
                        cJSON *value) {
  cJSON *c = ok_content();
  if (field != NULL) cJSON_AddItemToObject(c, field, value);
  kw_send(k, sock, m, type, c);
}

/* iopub is an XPUB socket, so subscriptions arrive as messages: \1 for a
** new subscriber, \0 for one that left.  Reads those that are there, or
** waits up to wait_ms for one. */
static void read_subscriptions(Kernel *k, int wait_ms) {
  zmq_pollitem_t item = {k->iopub, 0, ZMQ_POLLIN, 0};
  while (zmq_poll(&item, 1, wait_ms) > 0 && (item.revents & ZMQ_POLLIN)) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, k->iopub, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&m) >= 1)
      k->subscribers += *(unsigned char *)zmq_msg_data(&m) == 1 ? 1 : -1;
    zmq_msg_close(&m);
    wait_ms = 0;
  }
}

static void handle(Kernel *k, void *sock) {
  KMsg m;
  const char *type;
  if (kw_recv(k, sock, &m) != 0) return;
  /* A client's iopub subscription can arrive after its first request
  ** (ZeroMQ's slow joiner): published then, busy/idle would be lost and
  ** the client would wait for idle forever.  So wait for a subscriber
  ** (briefly: a client may not listen at all). */
  if (k->subscribers <= 0) {
    double waited = 0;
    while (k->subscribers <= 0 && waited < 2000) { read_subscriptions(k, 100); waited += 100; }
  }
  type = kw_str(m.header, "msg_type", "");
  kw_status(k, &m, "busy");
  if (strcmp(type, "kernel_info_request") == 0) kernel_info(k, sock, &m);
  else if (strcmp(type, "execute_request") == 0) kx_execute(k, &m);
  else if (strcmp(type, "complete_request") == 0) complete(k, sock, &m);
  else if (strcmp(type, "inspect_request") == 0) inspect(k, sock, &m);
  else if (strcmp(type, "is_complete_request") == 0) is_complete(k, sock, &m);
  else if (strcmp(type, "shutdown_request") == 0) shutdown_req(k, sock, &m);
  /* an interrupt_request finds nothing running: requests run one at a time */
  else if (strcmp(type, "interrupt_request") == 0) reply_empty(k, sock, &m, "interrupt_reply", NULL, NULL);
  else if (strcmp(type, "comm_info_request") == 0)
    reply_empty(k, sock, &m, "comm_info_reply", "comms", cJSON_CreateObject());
  else if (strcmp(type, "history_request") == 0)
    reply_empty(k, sock, &m, "history_reply", "history", cJSON_CreateArray());
  else {
    fprintf(stderr, "nncalc kernel: ignoring a message of type '%s'\n", type);
    fflush(stderr);
  }
  kw_status(k, &m, "idle");
  kw_free(&m);
}

int kernel_main(lua_State *L, const char *connection_file) {
  Kernel k;
  KConn c;
  void *hb;
  pthread_t hb_thread;
  int hb_started = 0;
  memset(&k, 0, sizeof k);
  if (kw_read_connection(&c, connection_file) != 0) return 1;
  k.L = L;
  k.keylen = strlen(c.key);
  k.key = (unsigned char *)c.key;
  kw_uuid(k.session);
  signal(SIGINT, SIG_IGN);   /* run_call catches it while cells run */
  k.ctx = zmq_ctx_new();
  k.shell = open_socket(&k, ZMQ_ROUTER, &c, c.shell);
  k.control = open_socket(&k, ZMQ_ROUTER, &c, c.control);
  k.stdin_sock = open_socket(&k, ZMQ_ROUTER, &c, c.stdin_port);
  k.iopub = open_socket(&k, ZMQ_XPUB, &c, c.iopub);
  hb = open_socket(&k, ZMQ_REP, &c, c.hb);
  if (hb != NULL) hb_started = pthread_create(&hb_thread, NULL, heartbeat, hb) == 0;
  if (k.shell && k.control && k.stdin_sock && k.iopub && hb_started) {
    kx_init(&k);
    kw_status(&k, NULL, "starting");
    while (!k.done) {
      zmq_pollitem_t items[3] = {{k.control, 0, ZMQ_POLLIN, 0}, {k.shell, 0, ZMQ_POLLIN, 0},
                                 {k.iopub, 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 3, -1) < 0) {
        if (zmq_errno() == EINTR) continue;
        fprintf(stderr, "nncalc kernel: %s\n", zmq_strerror(zmq_errno()));
        break;
      }
      if (items[2].revents & ZMQ_POLLIN) read_subscriptions(&k, 0);
      if (items[0].revents & ZMQ_POLLIN) handle(&k, k.control);
      else if (items[1].revents & ZMQ_POLLIN) handle(&k, k.shell);
    }
    kx_close(&k);
  } else if (hb != NULL && !hb_started) {
    zmq_close(hb);
  }
  if (k.shell) zmq_close(k.shell);
  if (k.control) zmq_close(k.control);
  if (k.stdin_sock) zmq_close(k.stdin_sock);
  if (k.iopub) zmq_close(k.iopub);
  zmq_ctx_shutdown(k.ctx);   /* wakes the heartbeat with ETERM */
  if (hb_started) pthread_join(hb_thread, NULL);
  zmq_ctx_term(k.ctx);
  return k.done ? 0 : 1;
}
