/*
** workspace.h — scratch memory kept between calls of the layer kernels.
**
** Fresh megabytes from malloc on every call are fresh pages, and faulting
** them in cost up to 20% of a convolution's time (measured on
** bench_conv's layer (a)).  So the kernels carve their scratch out of one
** buffer that stays allocated between calls: up to WORKSPACE_KEEP doubles
** (64 MiB), reachable from here, so not a leak; a larger one is freed by
** workspace_done().  Not thread-safe, like gemm().
*/
#ifndef NNCALC_WORKSPACE_H
#define NNCALC_WORKSPACE_H

#include <stdint.h>

/* part[i] = n[i] doubles (NULL when n[i] is 0), each 64-byte aligned,
** uninitialised; NN_OK, or NN_ENOMEM with the message set.  The parts are
** valid until the next workspace_get(). */
int workspace_get(int count, const int64_t *n, double **part);

/* Ends a use: frees the buffer if it grew past the kept size; returns st. */
int workspace_done(int st);

#endif
