/*
** status.h — how the C core reports failure, and the limits it enforces.
**
** The core never aborts and never longjmps: a function that can fail returns
** NULL (constructors) or a non-zero nn_status, and leaves a human-readable
** detail in nn_errmsg().  The Lua binding prefixes the name of the Lua
** function and raises, e.g. "mm: size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)".
** assert() is kept for our own bugs only.
*/
#ifndef NNCALC_STATUS_H
#define NNCALC_STATUS_H

#include <signal.h>
#include <stdint.h>
#include <stddef.h>

typedef enum {
  NN_OK = 0,
  NN_ESHAPE,     /* shapes do not fit the operation */
  NN_EINDEX,     /* index out of range */
  NN_EARG,       /* a bad argument value (negative size, bad dim, NaN ...) */
  NN_ENOMEM,     /* malloc failed */
  NN_ELIMIT,     /* a size over the allocation cap, or an overflowing product */
  NN_ESINGULAR,  /* a singular matrix where an inverse is needed */
  NN_EINTR       /* interrupted by the user (Ctrl-C) */
} nn_status;

/* Record a failure: formats the detail message and returns `code`. */
int nn_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
const char *nn_errmsg(void);   /* detail of the most recent failure */
int nn_errcode(void);          /* code of the most recent failure */

/* Set asynchronously by the SIGINT handler; long kernels poll it between
** blocks of work and give up with NN_EINTR.  Whoever reports the
** interruption clears it. */
extern volatile sig_atomic_t nn_interrupted;
int nn_check_interrupt(void);  /* NN_EINTR (and clears the flag) or NN_OK */

/* The allocation cap, in elements (default 2^27, or NNCALC_MAX_ELEMENTS).
** It can be raised up to NN_MAX_ADDRESSABLE and no further: the most
** doubles whose byte count fits both size_t and int64 (2^60 - 1 on 64-bit
** machines), so that no size, byte count or stride product of a tensor
** the cap admits can overflow. */
#define NN_MAX_ADDRESSABLE \
  ((int64_t)((SIZE_MAX < (uint64_t)INT64_MAX ? SIZE_MAX : (uint64_t)INT64_MAX) / sizeof(double)))
int64_t nn_max_elements(void);
/* 1 when NNCALC_MAX_ELEMENTS is unset or a positive whole number; 0 when it
** was set to something else (the default is used then). */
int nn_max_elements_env_ok(void);
/* NN_EARG unless 1 <= n <= NN_MAX_ADDRESSABLE. */
int nn_set_max_elements(int64_t n);

/* Writes "3x2" (or "scalar" for 0 dims) into buf; returns buf. */
char *nn_shape_str(char *buf, int bufsize, int ndim, const int64_t *size);

#endif
