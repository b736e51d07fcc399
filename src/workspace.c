/*
** workspace.c — the layer kernels' kept scratch buffer (see workspace.h).
*/
#include "workspace.h"

#include <stdlib.h>

#include "status.h"

#define WORKSPACE_KEEP ((int64_t)1 << 23)
#define ALIGN 8   /* doubles: 64 bytes, a cache line and an AVX-512 vector */

static double *buf = NULL;
static int64_t cap = 0;

static int64_t rounded(int64_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

int workspace_get(int count, const int64_t *n, double **part) {
  int64_t total = 0;
  int i;
  for (i = 0; i < count; i++) {
    part[i] = NULL;
    if (n[i] < 0 || n[i] > (INT64_MAX / 2) / (int64_t)sizeof(double) - total)
      return nn_fail(NN_ELIMIT, "convolution workspace of %lld elements is too large",
                     (long long)n[i]);
    total += rounded(n[i]);
  }
  if (total > cap) {
    free(buf);
    cap = 0;
    if ((uint64_t)total > SIZE_MAX / sizeof(double) ||
        (buf = aligned_alloc(ALIGN * sizeof(double), (size_t)total * sizeof(double))) == NULL)
      return nn_fail(NN_ENOMEM, "out of memory allocating %lld elements of "
                     "convolution workspace", (long long)total);
    cap = total;
  }
  for (total = 0, i = 0; i < count; total += rounded(n[i]), i++)
    part[i] = n[i] > 0 ? buf + total : NULL;
  return NN_OK;
}

int workspace_done(int st) {
  if (cap > WORKSPACE_KEEP) {
    free(buf);
    buf = NULL;
    cap = 0;
  }
  return st;
}
