/* check_suites.h — every Check suite of the C core; check_main.c runs them all. */
#ifndef NNCALC_CHECK_SUITES_H
#define NNCALC_CHECK_SUITES_H

#include <check.h>

Suite *status_suite(void);
Suite *tensor_suite(void);
Suite *ops_suite(void);
Suite *gemm_suite(void);
Suite *linalg_suite(void);
Suite *autograd_suite(void);
Suite *pool_suite(void);
Suite *conv_suite(void);

#endif
