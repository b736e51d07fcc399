/*
** kernel.h — nncalc as a Jupyter kernel (messaging protocol 5.3 over
** ZeroMQ), built only when libzmq, libcjson and libcrypto are present.
**
**   kernel.c          sockets, the heartbeat thread, the message loop and
**                     the small requests (kernel_info, complete, inspect,
**                     is_complete, shutdown)
**   kernel_wire.c     the wire format: frames, HMAC-SHA256 signatures,
**                     headers; the connection file
**   kernel_exec.c     execute_request: the cell compiled by the REPL's
**                     rules, its output captured as stream messages, its
**                     value shown as the REPL shows it, ask() through
**                     input_request
**   kernel_install.c  the kernelspec (kernel.json)
**
** A message on the wire, after the routing identities of ROUTER sockets:
**   "<IDS|MSG>", hex HMAC-SHA256 of the next four frames, header,
**   parent_header, metadata, content (JSON), then binary buffers (unused).
** Messages whose signature does not match the connection file's key are
** logged on stderr and dropped before anything is parsed or run.
*/
#ifndef NNCALC_KERNEL_H
#define NNCALC_KERNEL_H

#include <stddef.h>

#include <cJSON.h>
#include <lua.h>

/* A received message; ids are the ROUTER identities to reply to. */
typedef struct KMsg {
  int nids;
  char **ids;
  size_t *idlen;
  cJSON *header, *parent, *metadata, *content;
} KMsg;

typedef struct Kernel {
  void *ctx, *shell, *control, *iopub, *stdin_sock;
  unsigned char *key;
  size_t keylen;
  char session[40];
  int execution_count;
  int done;                  /* a shutdown_request was answered */
  int bad_signatures;        /* messages rejected so far (for the log) */
  int subscribers;           /* iopub subscriptions now (an XPUB socket counts them) */
  lua_State *L;
  const KMsg *current;       /* the execute_request running: parent of its output */
  int allow_stdin;
} Kernel;

/* Connection file fields the kernel needs. */
typedef struct KConn {
  char transport[16], ip[64], key[512], scheme[32];
  int shell, iopub, stdin_port, control, hb;
} KConn;

/* ---- kernel.c ---------------------------------------------------------- */
/* Runs the kernel on L (nncalc's library loaded) until shutdown; returns
** the exit status. */
int kernel_main(lua_State *L, const char *connection_file);

/* ---- kernel_wire.c ----------------------------------------------------- */
/* Reads a connection file; 0 on success, else prints why on stderr. */
int kw_read_connection(KConn *c, const char *path);
/* Receives one message from sock: 0 ok, 1 rejected (bad signature or
** malformed: logged and dropped), -1 nothing received. */
int kw_recv(Kernel *k, void *sock, KMsg *m);
void kw_free(KMsg *m);
/* Sends a message of type with content (taken over) as a child of parent
** (may be NULL); on iopub the topic replaces the identities. */
int kw_send(Kernel *k, void *sock, const KMsg *parent, const char *type, cJSON *content);
/* iopub status busy/idle around a request. */
void kw_status(Kernel *k, const KMsg *parent, const char *state);
/* A fresh random UUID (version 4), as text. */
void kw_uuid(char out[37]);
/* The string field name of obj, or dflt. */
const char *kw_str(const cJSON *obj, const char *name, const char *dflt);

/* ---- kernel_exec.c ----------------------------------------------------- */
/* Points Lua's io.stdout/io.stderr/io.stdin at the kernel (stream
** messages, input_request) and installs the kernel's nncalc.present. */
void kx_init(Kernel *k);
void kx_close(Kernel *k);
/* Handles execute_request m: execute_input, output, reply. */
void kx_execute(Kernel *k, const KMsg *m);
/* Runs code with its output captured (not sent); returns the status and
** the text in *out (malloc'd). */
int kx_capture(Kernel *k, const char *code, char **out);
/* Compiles a cell as the kernel runs it (see kernel_exec.c); pushes the
** function or the error message; status as repl_compile. */
int kx_compile(lua_State *L, const char *code);
/* The code a cell runs: a one-line help request (`?name`, `name?`) as the
** REPL runs it; malloc'd. */
char *kx_cell_code(const char *code);

/* ---- kernel_install.c -------------------------------------------------- */
/* nncalc --install-kernel [--user | --prefix P]: argv after the option. */
int kernel_install(int argc, char **argv);

#endif
