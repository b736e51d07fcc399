/*
** kernel_wire.c — the Jupyter wire format (messaging protocol 5.3): the
** connection file, multipart frames, HMAC-SHA256 signatures (OpenSSL
** libcrypto) and message headers.
*/
#include "kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zmq.h>

#define DELIM "<IDS|MSG>"

/* ======================================================================
** Small helpers
** ====================================================================== */

const char *kw_str(const cJSON *obj, const char *name, const char *dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(v) && v->valuestring != NULL ? v->valuestring : dflt;
}

void kw_uuid(char out[37]) {
  unsigned char b[16];
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f != NULL ? fread(b, 1, sizeof b, f) : 0;
  if (f != NULL) fclose(f);
  if (got != sizeof b) {   /* no /dev/urandom: unique enough for message ids */
    static unsigned long counter = 0;
    unsigned long t = (unsigned long)time(NULL) ^ (++counter * 2654435761u);
    for (got = 0; got < sizeof b; got++) b[got] = (unsigned char)(t >> (got % 8 * 8)) ^ (unsigned char)got;
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
           b[13], b[14], b[15]);
}

/* ISO 8601 in UTC with microseconds, as the protocol's header.date. */
static void now_iso(char out[40]) {
  struct timespec ts;
  struct tm tm;
  char base[24];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 40, "%.19s.%06dZ", base, (int)(ts.tv_nsec / 1000 % 1000000));
}

/* ======================================================================
** The connection file
** ====================================================================== */

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) != NULL) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    else buf[n] = '\0';
  }
  fclose(f);
  return buf;
}

static int port_of(const cJSON *j, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

int kw_read_connection(KConn *c, const char *path) {
  char *text = slurp(path);
  cJSON *j;
  memset(c, 0, sizeof *c);
  if (text == NULL) {
    fprintf(stderr, "nncalc --kernel: cannot read the connection file %s\n", path);
    return -1;
  }
  j = cJSON_Parse(text);
  free(text);
  if (!cJSON_IsObject(j)) {
    fprintf(stderr, "nncalc --kernel: %s is not a JSON object (a Jupyter connection file?)\n", path);
    cJSON_Delete(j);
    return -1;
  }
  snprintf(c->transport, sizeof c->transport, "%s", kw_str(j, "transport", "tcp"));
  snprintf(c->ip, sizeof c->ip, "%s", kw_str(j, "ip", "127.0.0.1"));
  snprintf(c->key, sizeof c->key, "%s", kw_str(j, "key", ""));
  snprintf(c->scheme, sizeof c->scheme, "%s", kw_str(j, "signature_scheme", "hmac-sha256"));
  c->shell = port_of(j, "shell_port");
  c->iopub = port_of(j, "iopub_port");
  c->stdin_port = port_of(j, "stdin_port");
  c->control = port_of(j, "control_port");
  c->hb = port_of(j, "hb_port");
  cJSON_Delete(j);
  if (c->shell < 0 || c->iopub < 0 || c->stdin_port < 0 || c->control < 0 || c->hb < 0) {
    fprintf(stderr, "nncalc --kernel: %s lacks one of shell_port, iopub_port, stdin_port, "
            "control_port, hb_port\n", path);
    return -1;
  }
  if (c->key[0] != '\0' && strcmp(c->scheme, "hmac-sha256") != 0) {
    fprintf(stderr, "nncalc --kernel: signature scheme '%s' is not supported (hmac-sha256 is)\n",
            c->scheme);
    return -1;
  }
  return 0;
}

/* ======================================================================
** Signatures: hex HMAC-SHA256 of header, parent, metadata, content
** ====================================================================== */

static void sign(const Kernel *k, const char *const part[4], const size_t len[4], char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  size_t total = 0, at = 0;
  unsigned char *buf;
  hex[0] = '\0';
  if (k->keylen == 0) return;   /* no key: messages go unsigned */
  for (i = 0; i < 4; i++) total += len[i];
  buf = malloc(total + 1);
  if (buf == NULL) return;
  for (i = 0; i < 4; i++) { memcpy(buf + at, part[i], len[i]); at += len[i]; }
  if (HMAC(EVP_sha256(), k->key, (int)k->keylen, buf, total, md, &mdlen) == NULL) mdlen = 0;
  free(buf);
  for (i = 0; i < mdlen && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ======================================================================
** Receiving
** ====================================================================== */

typedef struct Frames { int n, cap; zmq_msg_t *f; } Frames;

static void frames_free(Frames *fr) {
  int i;
  for (i = 0; i < fr->n; i++) zmq_msg_close(&fr->f[i]);
  free(fr->f);
}

static int recv_frames(void *sock, Frames *fr) {
  int more = 1;
  memset(fr, 0, sizeof *fr);
  while (more) {
    if (fr->n == fr->cap) {
      int cap = fr->cap ? 2 * fr->cap : 8;
      zmq_msg_t *g = realloc(fr->f, (size_t)cap * sizeof *g);
      if (g == NULL) return -1;
      fr->f = g;
      fr->cap = cap;
    }
    zmq_msg_init(&fr->f[fr->n]);
    if (zmq_msg_recv(&fr->f[fr->n], sock, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&fr->f[fr->n]);
      return -1;
    }
    more = zmq_msg_more(&fr->f[fr->n]);
    fr->n++;
  }
  return 0;
}

static cJSON *parse_frame(zmq_msg_t *f) {
  return cJSON_ParseWithLength(zmq_msg_data(f), zmq_msg_size(f));
}

static void reject(Kernel *k, const char *why) {
  k->bad_signatures++;
  fprintf(stderr, "nncalc kernel: message rejected (%s); not executed\n", why);
  fflush(stderr);
}

int kw_recv(Kernel *k, void *sock, KMsg *m) {
  Frames fr;
  int d, i;
  memset(m, 0, sizeof *m);
  if (recv_frames(sock, &fr) < 0) { frames_free(&fr); return -1; }
  for (d = 0; d < fr.n; d++)
    if (zmq_msg_size(&fr.f[d]) == strlen(DELIM) && memcmp(zmq_msg_data(&fr.f[d]), DELIM, strlen(DELIM)) == 0)
      break;
  if (d + 5 >= fr.n) { reject(k, "malformed: no delimiter and four parts"); frames_free(&fr); return 1; }
  {
    const char *part[4];
    size_t len[4];
    char want[65];
    const char *got = zmq_msg_data(&fr.f[d + 1]);
    size_t glen = zmq_msg_size(&fr.f[d + 1]);
    for (i = 0; i < 4; i++) { part[i] = zmq_msg_data(&fr.f[d + 2 + i]); len[i] = zmq_msg_size(&fr.f[d + 2 + i]); }
    sign(k, part, len, want);
    if (glen != strlen(want) || (glen > 0 && CRYPTO_memcmp(got, want, glen) != 0)) {
      reject(k, "bad signature");
      frames_free(&fr);
      return 1;
    }
  }
  m->header = parse_frame(&fr.f[d + 2]);
  m->parent = parse_frame(&fr.f[d + 3]);
  m->metadata = parse_frame(&fr.f[d + 4]);
  m->content = parse_frame(&fr.f[d + 5]);
  if (!cJSON_IsObject(m->header) || !cJSON_IsObject(m->content)) {
    reject(k, "malformed: header or content is not a JSON object");
    kw_free(m);
    frames_free(&fr);
    return 1;
  }
  m->nids = d;
  m->ids = calloc((size_t)(d > 0 ? d : 1), sizeof *m->ids);
  m->idlen = calloc((size_t)(d > 0 ? d : 1), sizeof *m->idlen);
  for (i = 0; i < d && m->ids != NULL && m->idlen != NULL; i++) {
    m->idlen[i] = zmq_msg_size(&fr.f[i]);
    m->ids[i] = malloc(m->idlen[i] + 1);
    if (m->ids[i] != NULL) memcpy(m->ids[i], zmq_msg_data(&fr.f[i]), m->idlen[i]);
    else m->idlen[i] = 0;
  }
  if (m->ids == NULL || m->idlen == NULL) m->nids = 0;
  frames_free(&fr);
  return 0;
}

void kw_free(KMsg *m) {
  int i;
  for (i = 0; i < m->nids; i++) free(m->ids[i]);
  free(m->ids);
  free(m->idlen);
  cJSON_Delete(m->header);
  cJSON_Delete(m->parent);
  cJSON_Delete(m->metadata);
  cJSON_Delete(m->content);
  memset(m, 0, sizeof *m);
}

/* ======================================================================
** Sending
** ====================================================================== */

static cJSON *new_header(const Kernel *k, const char *type) {
  char id[37], date[40];
  cJSON *h = cJSON_CreateObject();
  kw_uuid(id);
  now_iso(date);
  cJSON_AddStringToObject(h, "msg_id", id);
  cJSON_AddStringToObject(h, "session", k->session);
  cJSON_AddStringToObject(h, "username", "nncalc");
  cJSON_AddStringToObject(h, "date", date);
  cJSON_AddStringToObject(h, "msg_type", type);
  cJSON_AddStringToObject(h, "version", "5.3");
  return h;
}

int kw_send(Kernel *k, void *sock, const KMsg *parent, const char *type, cJSON *content) {
  cJSON *header = new_header(k, type);
  char *part[4];
  size_t len[4];
  char sig[65], topic[96];
  int i, rc = 0;
  part[0] = cJSON_PrintUnformatted(header);
  part[1] = parent != NULL && parent->header != NULL ? cJSON_PrintUnformatted(parent->header) : strdup("{}");
  part[2] = strdup("{}");
  part[3] = cJSON_PrintUnformatted(content != NULL ? content : cJSON_CreateObject());
  cJSON_Delete(header);
  cJSON_Delete(content);
  for (i = 0; i < 4; i++) {
    if (part[i] == NULL) rc = -1;
    len[i] = part[i] != NULL ? strlen(part[i]) : 0;
  }
  if (rc == 0) {
    sign(k, (const char *const *)part, len, sig);
    if (sock == k->iopub) {
      snprintf(topic, sizeof topic, "kernel.%s.%s", k->session, type);
      zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE);
    } else if (parent != NULL) {
      for (i = 0; i < parent->nids; i++) zmq_send(sock, parent->ids[i], parent->idlen[i], ZMQ_SNDMORE);
    }
    zmq_send(sock, DELIM, strlen(DELIM), ZMQ_SNDMORE);
    zmq_send(sock, sig, strlen(sig), ZMQ_SNDMORE);
    for (i = 0; i < 4; i++)
      if (zmq_send(sock, part[i], len[i], i < 3 ? ZMQ_SNDMORE : 0) < 0) rc = -1;
  }
  for (i = 0; i < 4; i++) free(part[i]);
  return rc;
}

void kw_status(Kernel *k, const KMsg *parent, const char *state) {
  cJSON *c = cJSON_CreateObject();
  cJSON_AddStringToObject(c, "execution_state", state);
  kw_send(k, k->iopub, parent, "status", c);
}
