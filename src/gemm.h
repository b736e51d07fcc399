/*
** gemm.h — dense double-precision matrix multiply, the one hot loop of nncalc.
**
**   C = alpha * op(A) * op(B) + beta * C
**
** All matrices are row-major.  op(X) is X, or X transposed when transX is
** non-zero.  op(A) is M x K, op(B) is K x N, C is M x N.  lda, ldb and ldc
** are row strides in elements (the distance between X[i][0] and X[i+1][0]
** of the matrix *as stored*).  When beta == 0, C is written without being
** read, so it may hold garbage or NaN.
**
** Example: C (2x3) = A (2x4) * B (4x3), all contiguous:
**     gemm(0, 0, 2, 3, 4, 1.0, A, 4, B, 3, 0.0, C, 3);
**
** gemm() is the path nncalc uses: small products run a direct loop (no
** packing overhead for homework-sized matrices), large ones go to CBLAS when
** the build found it (HAVE_CBLAS) and to gemm_own() otherwise.  gemm_own()
** is the project's cache-blocked kernel: packed panels of A and B and a
** register-tiled micro-kernel written with GCC vector types.  The exact
** thresholds, and why, are in gemm.c.
**
** As in BLAS, C must not overlap A or B, and alpha == 0 or K == 0 reduces the call to C = beta * C and
** reads neither A nor B.  Leading dimensions of A and B may be shorter than
** a row (overlapping rows, e.g. ldb 0 repeats one row); gemm() sends such
** calls, which CBLAS would reject, to gemm_own().
**
** Both return NN_OK, or with nn_errmsg() set:
**   NN_EINTR   nn_interrupted was raised (polled between blocks of
**              gemm_own, and once before a CBLAS call, which cannot be
**              stopped midway; the direct loop is too short to poll).  C is
**              then partially updated.  The flag is cleared.
**   NN_ENOMEM  the packing buffers (at most ~1 MiB) could not be allocated.
**   NN_EARG    a negative M, N or K.
**
** gemm_own keeps its packing buffers between calls (allocating them each
** time costs as much as a 128 x 128 product), so it is not thread-safe:
** call it from one thread.  The buffers stay reachable, not leaked.
*/
#ifndef NNCALC_GEMM_H
#define NNCALC_GEMM_H

#include <stdint.h>

int gemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
         double alpha, const double *A, int64_t lda,
         const double *B, int64_t ldb,
         double beta, double *C, int64_t ldc);

int gemm_own(int transA, int transB, int64_t M, int64_t N, int64_t K,
             double alpha, const double *A, int64_t lda,
             const double *B, int64_t ldb,
             double beta, double *C, int64_t ldc);

/* The triple loop: the reference the tests compare the kernels against. */
void gemm_ref(int transA, int transB, int64_t M, int64_t N, int64_t K,
              double alpha, const double *A, int64_t lda,
              const double *B, int64_t ldb,
              double beta, double *C, int64_t ldc);

/* 1 when the binary was built against CBLAS. */
int gemm_have_blas(void);
/* "openblas" (or "cblas" for another CBLAS) or "own": what gemm() uses for
** large products, given gemm_force_own(). */
const char *gemm_backend(void);
/* Force gemm() to the own kernel (1) or back to the default (0); tests use
** this to compare the two paths through the same public entry point. */
void gemm_force_own(int on);

#endif
