/*
** check_main.c — one runner for all C suites.  CK_FORK (Check's default)
** isolates each test, so a crash fails one test rather than the run; the
** sanitizer build sets CK_FORK=no so leaks are attributed to the test run.
*/
#include <stdio.h>
#include <stdlib.h>

#include "autograd.h"
#include "check_suites.h"

int main(void) {
  int failed, run;
  SRunner *sr;
  ag_init();
  sr = srunner_create(status_suite());
  srunner_add_suite(sr, tensor_suite());
  srunner_add_suite(sr, ops_suite());
  srunner_add_suite(sr, gemm_suite());
  srunner_add_suite(sr, linalg_suite());
  srunner_add_suite(sr, autograd_suite());
  srunner_add_suite(sr, pool_suite());
  srunner_add_suite(sr, conv_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  run = srunner_ntests_run(sr);
  srunner_free(sr);
  printf("check: %d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
