/*
** check_fixture.h — the bookkeeping the layer suites share: every tensor a
** test makes passes through keep(); finish() releases them all and checks
** that no other tensor or storage was left alive; each test case starts
** from a clean count (and a fixed random seed).
*/
#ifndef NNCALC_CHECK_FIXTURE_H
#define NNCALC_CHECK_FIXTURE_H

#include <check.h>

#include "tensor.h"

Tensor *keep(Tensor *t);
void finish(void);
/* A test case whose tests start with the counts and the seed reset. */
TCase *new_case(Suite *s, const char *name);

#endif
