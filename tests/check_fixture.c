/* check_fixture.c — see check_fixture.h. */
#include "check_fixture.h"

#include <string.h>

#include "ops.h"

Tensor *mk(int ndim, const int64_t *size, const double *v) {
  Tensor *t = tensor_new(ndim, size);
  int64_t i, n;
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  n = tensor_numel(t);
  for (i = 0; i < n; i++) t->storage->data[i] = v[i];
  return t;
}

void expect_shape(const Tensor *t, int ndim, const int64_t *size) {
  int d;
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  ck_assert_int_eq(t->ndim, ndim);
  for (d = 0; d < ndim; d++)
    ck_assert_msg(t->size[d] == size[d], "size[%d]: got %lld, want %lld", d,
                  (long long)t->size[d], (long long)size[d]);
}

void expect_error(int code, const char *needle) {
  ck_assert_int_eq(nn_errcode(), code);
  if (needle != NULL)
    ck_assert_msg(strstr(nn_errmsg(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  nn_errmsg(), needle);
}

#define MAX_KEPT 256
static Tensor *kept[MAX_KEPT];
static int nkept;
static int64_t live_tensors0, live_storages0;

static void start(void) {
  nkept = 0;
  live_tensors0 = tensor_live_count();
  live_storages0 = storage_live_count();
  rng_seed(20240611);
}

Tensor *keep(Tensor *t) {
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  ck_assert(nkept < MAX_KEPT);
  return kept[nkept++] = t;
}

void finish(void) {
  while (nkept > 0) tensor_release(kept[--nkept]);
  ck_assert_int_eq(tensor_live_count(), live_tensors0);
  ck_assert_int_eq(storage_live_count(), live_storages0);
}

TCase *new_case(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, start, NULL);
  tcase_set_timeout(tc, 60);   /* the finite differences under the sanitizers */
  suite_add_tcase(s, tc);
  return tc;
}
