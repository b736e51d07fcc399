/*
** status.c — the last error message, the interrupt flag and the size cap.
*/
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define NN_DEFAULT_MAX_ELEMENTS ((int64_t)1 << 27)

static char errbuf[512];
static int errcode;
volatile sig_atomic_t nn_interrupted = 0;
static int64_t max_elements = -1;   /* -1: not yet read from the environment */

int nn_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, sizeof errbuf, fmt, ap);
  va_end(ap);
  errcode = code;
  return code;
}

const char *nn_errmsg(void) { return errbuf; }
int nn_errcode(void) { return errcode; }

int nn_check_interrupt(void) {
  if (!nn_interrupted) return NN_OK;
  nn_interrupted = 0;
  return nn_fail(NN_EINTR, "interrupted");
}

static int env_ok = 1;

int64_t nn_max_elements(void) {
  if (max_elements < 0) {
    const char *s = getenv("NNCALC_MAX_ELEMENTS");
    char *end;
    long long v;
    max_elements = NN_DEFAULT_MAX_ELEMENTS;
    if (s != NULL && *s != '\0') {
      errno = 0;
      v = strtoll(s, &end, 10);
      /* a malformed value is not fatal: the default is safe (the program
      ** says so, see nn_max_elements_env_ok) */
      if (errno == 0 && *end == '\0' && v > 0 && v <= NN_MAX_ADDRESSABLE) max_elements = v;
      else env_ok = 0;
    }
  }
  return max_elements;
}

int nn_max_elements_env_ok(void) {
  nn_max_elements();
  return env_ok;
}

int nn_set_max_elements(int64_t n) {
  if (n <= 0)
    return nn_fail(NN_EARG, "max_elements must be positive (got %lld)", (long long)n);
  if (n > NN_MAX_ADDRESSABLE)
    return nn_fail(NN_EARG, "max_elements %lld is more doubles than memory can address "
                   "(at most %lld, 2^60 - 1)", (long long)n, (long long)NN_MAX_ADDRESSABLE);
  max_elements = n;
  return NN_OK;
}

char *nn_shape_str(char *buf, int bufsize, int ndim, const int64_t *size) {
  int i, n = 0;
  if (ndim == 0) {
    snprintf(buf, (size_t)bufsize, "scalar");
    return buf;
  }
  buf[0] = '\0';
  for (i = 0; i < ndim && n < bufsize; i++)
    n += snprintf(buf + n, (size_t)(bufsize - n), i ? "x%lld" : "%lld", (long long)size[i]);
  return buf;
}
