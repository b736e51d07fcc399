/*
** linalg.h — small dense linear algebra for homework: det, inv, solve, pinv,
** eigh.
**
** Works on contiguous row-major double arrays and knows nothing of tensors;
** ops_linalg.c wraps it.  Sizes are small (homework matrices), so clarity
** and accuracy win over speed: LU with partial pivoting for det/inv/solve,
** a one-sided Jacobi SVD for pinv (accurate for rank-deficient and
** under-determined systems, where pinv gives the minimum-norm solution).
**
** Every function returns NN_OK or an nn_status with nn_errmsg() set:
** NN_ESINGULAR for a singular matrix in inv/solve, NN_ENOMEM, NN_EINTR
** (the interrupt flag is polled; nothing is leaked and outputs may be
** partly written), NN_EARG for a negative size, a NaN or Inf entry or a
** NaN rcond, NN_ELIMIT for a size whose byte count overflows.  Messages
** count rows and columns from 1, as the Lua user does.  A 0 x 0 (or
** m x 0) input is fine and writes nothing (det of 0 x 0 is 1).
**
** Singular, for inv/solve, means a pivot with |pivot| <= n*eps*max|A| in
** the LU, or an estimated 1-norm condition number >= 1/(n*eps); the
** message then gives the numerical rank.  det uses the pivot test only.
*/
#ifndef NNCALC_LINALG_H
#define NNCALC_LINALG_H

#include <stdint.h>

/* *det = det(A), A is n x n.  A singular matrix gives 0, not an error
** (including numerically singular ones such as [[1,2,3],[4,5,6],[7,8,9]]). */
int la_det(int64_t n, const double *A, double *det);

/* Ainv = A^-1 (both n x n; may not alias). */
int la_inv(int64_t n, const double *A, double *Ainv);

/* X = A^-1 B, A is n x n, B and X are n x m.  X may be B (in-place solve);
** X is not written when A is singular. */
int la_solve(int64_t n, int64_t m, const double *A, const double *B, double *X);

/* P = pinv(A): A is m x n, P is n x m.  Singular values at or below
** rcond * max(singular value) count as zero; rcond <= 0 picks the default
** max(m, n) * DBL_EPSILON. */
int la_pinv(int64_t m, int64_t n, const double *A, double *P, double rcond);

/* Singular values of A (m x n), descending, into s[min(m,n)]. */
int la_svdvals(int64_t m, int64_t n, const double *A, double *s);

/* Numerical rank: singular values above the pinv threshold. */
int la_rank(int64_t m, int64_t n, const double *A, double rcond, int64_t *rank);

/* The eigenvalues w[0..n-1] (ascending) and orthonormal eigenvectors (the
** columns of V, n x n) of a symmetric A: A = V diag(w) Vᵀ.  A matrix that
** is not symmetric (beyond rounding) is NN_EARG naming the entry. */
int la_eigh(int64_t n, const double *A, double *w, double *V);

#endif
