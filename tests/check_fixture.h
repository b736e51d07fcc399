/*
** check_fixture.h — what the C suites share: tensors from literal values,
** shape and error assertions, and the layer suites' bookkeeping (every
** tensor a test makes passes through keep(); finish() releases them all and
** checks that no other tensor or storage was left alive; each test case
** starts from a clean count and a fixed random seed).
*/
#ifndef NNCALC_CHECK_FIXTURE_H
#define NNCALC_CHECK_FIXTURE_H

#include <check.h>

#include "tensor.h"

/* A contiguous tensor holding v[0..numel-1] in row-major order. */
Tensor *mk(int ndim, const int64_t *size, const double *v);
/* t is non-NULL (else the failure's message is shown) with this shape. */
void expect_shape(const Tensor *t, int ndim, const int64_t *size);
/* The last failure had this code and (unless NULL) a message containing needle. */
void expect_error(int code, const char *needle);

Tensor *keep(Tensor *t);
void finish(void);
/* A test case whose tests start with the counts and the seed reset. */
TCase *new_case(Suite *s, const char *name);

#endif
