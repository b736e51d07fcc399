/* check_fixture.c — see check_fixture.h. */
#include "check_fixture.h"

#include "ops.h"

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
