/* check_status.c — error messages, the interrupt flag and the size cap. */
#include <string.h>

#include "check_suites.h"
#include "status.h"

START_TEST(fail_records_message_and_code) {
  ck_assert_int_eq(nn_fail(NN_ESHAPE, "bad %s %d", "shape", 3), NN_ESHAPE);
  ck_assert_str_eq(nn_errmsg(), "bad shape 3");
  ck_assert_int_eq(nn_errcode(), NN_ESHAPE);
}
END_TEST

START_TEST(interrupt_is_reported_once) {
  nn_interrupted = 1;
  ck_assert_int_eq(nn_check_interrupt(), NN_EINTR);
  ck_assert_str_eq(nn_errmsg(), "interrupted");
  ck_assert_int_eq(nn_check_interrupt(), NN_OK);
}
END_TEST

START_TEST(max_elements_settable_and_validated) {
  int64_t old = nn_max_elements();
  ck_assert_int_eq(nn_set_max_elements(10), NN_OK);
  ck_assert_int_eq(nn_max_elements(), 10);
  ck_assert_int_eq(nn_set_max_elements(0), NN_EARG);
  ck_assert_int_eq(nn_set_max_elements(-5), NN_EARG);
  ck_assert_int_eq(nn_max_elements(), 10);
  nn_set_max_elements(old);
}
END_TEST

START_TEST(shape_strings) {
  char b[64];
  int64_t s[3] = {3, 2, 10};
  ck_assert_str_eq(nn_shape_str(b, sizeof b, 3, s), "3x2x10");
  ck_assert_str_eq(nn_shape_str(b, sizeof b, 1, s), "3");
  ck_assert_str_eq(nn_shape_str(b, sizeof b, 0, s), "scalar");
}
END_TEST

Suite *status_suite(void) {
  Suite *s = suite_create("status");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, fail_records_message_and_code);
  tcase_add_test(tc, interrupt_is_reported_once);
  tcase_add_test(tc, max_elements_settable_and_validated);
  tcase_add_test(tc, shape_strings);
  suite_add_tcase(s, tc);
  return s;
}
