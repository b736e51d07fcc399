/*
** linalg.c — small dense linear algebra on contiguous row-major doubles.
**
** Two engines, both chosen for accuracy on homework-sized matrices:
**
**   LU with partial pivoting (Doolittle, row swaps recorded LAPACK-style)
**   for det, inv and solve;
**
**   a one-sided Jacobi SVD (Hestenes) for pinv, svdvals and rank.  Jacobi
**   is accurate for small singular values (what rank and pinv hinge on)
**   and needs no bidiagonalisation code, which keeps this file short.
**
** When is a matrix singular?  During the LU, a pivot column counts as
** singular when its largest candidate pivot satisfies
**     |pivot| <= n * DBL_EPSILON * max|A_ij|
** i.e. the pivot is at rounding-error level relative to the entries of A.
** That makes [[1,2,3],[4,5,6],[7,8,9]] singular (its last pivot is ~1e-16
** instead of 0) and is scale-invariant: 1e-200 * I is not singular.  det
** uses this test alone and returns exactly 0 when it fires.  inv and solve
** also estimate the 1-norm condition number after the LU and refuse when
** 1/cond <= n * DBL_EPSILON (see lu_of): the answer would have no correct
** digit.  The failure message gives the numerical rank (by SVD).
**
** Messages count rows and columns from 1, as the student sees them at the
** Lua prompt.  Non-finite entries (NaN, Inf) are rejected with NN_EARG: no
** factorisation means anything with them.
*/
#include "linalg.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* Jacobi sweeps before we give up refining.  Convergence is quadratic, so
** real matrices need well under 20; the cap only guarantees termination. */
#define JACOBI_MAX_SWEEPS 60


/* ======================================================================
** helpers
** ====================================================================== */

/*
** Sizes come from tensors, but this file may be called directly: reject
** negative dimensions up front so no later product can go negative.
*/
static int check_dims(int64_t a, int64_t b) {
  if (a < 0 || b < 0)
    return nn_fail(NN_EARG, "negative matrix size %lldx%lld", (long long)a, (long long)b);
  return NN_OK;
}

/*
** malloc for a rows x cols array of doubles with an overflow check, so a
** bogus size becomes NN_ELIMIT instead of a short buffer.  Always allocates
** at least one element, so NULL means out of memory and never "empty".
*/
static int alloc_doubles(double **p, int64_t rows, int64_t cols) {
  size_t count;
  *p = NULL;
  if (rows > 0 && cols > (int64_t)(SIZE_MAX / sizeof(double)) / rows)
    return nn_fail(NN_ELIMIT, "matrix too large (%lldx%lld)", (long long)rows, (long long)cols);
  count = (size_t)(rows * cols);
  *p = malloc((count ? count : 1) * sizeof(double));
  if (*p == NULL)
    return nn_fail(NN_ENOMEM, "out of memory for a %lldx%lld work matrix",
                   (long long)rows, (long long)cols);
  return NN_OK;
}

/*
** A NaN or Inf would silently poison every pivot or rotation; tell the
** student where it is instead.  `what` names the operand ("matrix", ...).
*/
static int check_finite(const char *what, int64_t rows, int64_t cols, const double *A) {
  int64_t i, j;
  for (i = 0; i < rows; i++)
    for (j = 0; j < cols; j++)
      if (!isfinite(A[i * cols + j]))
        return nn_fail(NN_EARG, "%s has a non-finite entry (%g) at row %lld, column %lld",
                       what, A[i * cols + j], (long long)(i + 1), (long long)(j + 1));
  return NN_OK;
}

static double max_abs(int64_t count, const double *A) {
  double m = 0.0;
  int64_t i;
  for (i = 0; i < count; i++)
    if (fabs(A[i]) > m) m = fabs(A[i]);
  return m;
}

/* The pinv/rank cut-off ratio: the caller's, or max(m,n)*eps by default. */
static double effective_rcond(int64_t m, int64_t n, double rcond) {
  if (rcond > 0) return rcond;
  return (double)(m > n ? m : n) * DBL_EPSILON;
}

static int check_rcond(double rcond) {
  if (isnan(rcond))
    return nn_fail(NN_EARG, "rcond is NaN (use a number, or 0 for the default)");
  return NN_OK;
}


/* ======================================================================
** LU with partial pivoting
** ====================================================================== */

/*
** In-place LU of the n x n row-major LU: P A = L U with unit-diagonal L
** below the diagonal and U on and above it.  piv[k] is the row swapped
** with row k at step k; *sign is the permutation's sign (for det).
**
** Returns NN_OK, NN_EINTR, or NN_ESINGULAR *without* setting a message
** (det turns it into 0, inv/solve into a detailed message): *badcol and
** *badpiv then give the 0-based column and its largest candidate pivot.
** tol is the absolute pivot threshold (n * eps * max|A|, computed by the
** caller from the original matrix).
*/
static int lu_factor(int64_t n, double *LU, int64_t *piv, int *sign, double tol,
                     int64_t *badcol, double *badpiv) {
  int64_t i, j, k, p;
  *sign = 1;
  for (k = 0; k < n; k++) {
    double *rowk = LU + k * n;
    double big = fabs(rowk[k]);
    int rc = nn_check_interrupt();
    if (rc != NN_OK) return rc;
    p = k;
    for (i = k + 1; i < n; i++)
      if (fabs(LU[i * n + k]) > big) { big = fabs(LU[i * n + k]); p = i; }
    piv[k] = p;
    if (big <= tol) {
      *badcol = k;
      *badpiv = big;
      return NN_ESINGULAR;
    }
    if (p != k) {
      double *rowp = LU + p * n;
      for (j = 0; j < n; j++) { double t = rowk[j]; rowk[j] = rowp[j]; rowp[j] = t; }
      *sign = -*sign;
    }
    for (i = k + 1; i < n; i++) {
      double *rowi = LU + i * n;
      double l = rowi[k] / rowk[k];
      rowi[k] = l;
      for (j = k + 1; j < n; j++) rowi[j] -= l * rowk[j];
    }
  }
  return NN_OK;
}

/*
** Overwrites the n x m row-major X with U^-1 L^-1 P X.  Row-oriented so
** every inner loop walks contiguous memory; works in place, which is what
** lets la_solve accept X == B.
*/
static int lu_solve_inplace(int64_t n, int64_t m, const double *LU, const int64_t *piv,
                            double *X) {
  int64_t i, j, k;
  if (m == 0) return NN_OK;               /* no columns (X may be NULL) */
  for (k = 0; k < n; k++) {               /* apply the row swaps in order */
    if (piv[k] != k) {
      double *a = X + k * m, *b = X + piv[k] * m;
      for (j = 0; j < m; j++) { double t = a[j]; a[j] = b[j]; b[j] = t; }
    }
  }
  for (i = 0; i < n; i++) {               /* L y = P b, L unit lower */
    double *xi = X + i * m;
    int rc = nn_check_interrupt();
    if (rc != NN_OK) return rc;
    for (k = 0; k < i; k++) {
      double l = LU[i * n + k];
      const double *xk = X + k * m;
      if (l != 0.0)
        for (j = 0; j < m; j++) xi[j] -= l * xk[j];
    }
  }
  for (i = n - 1; i >= 0; i--) {          /* U x = y */
    double *xi = X + i * m;
    double d = LU[i * n + i];
    int rc = nn_check_interrupt();
    if (rc != NN_OK) return rc;
    for (k = i + 1; k < n; k++) {
      double u = LU[i * n + k];
      const double *xk = X + k * m;
      if (u != 0.0)
        for (j = 0; j < m; j++) xi[j] -= u * xk[j];
    }
    for (j = 0; j < m; j++) xi[j] /= d;
  }
  return NN_OK;
}

/*
** Solves A^T x = b in place from the factors of P A = L U, i.e.
** U^T w = b, L^T v = w, x = P^T v (the swaps undone in reverse order).
** Only the condition estimator needs it.
*/
static void lu_solve_trans_vec(int64_t n, const double *LU, const int64_t *piv, double *x) {
  int64_t i, k;
  for (i = 0; i < n; i++) {               /* U^T w = b, U^T lower */
    double acc = x[i];
    for (k = 0; k < i; k++) acc -= LU[k * n + i] * x[k];
    x[i] = acc / LU[i * n + i];
  }
  for (i = n - 1; i >= 0; i--) {          /* L^T v = w, L^T unit upper */
    double acc = x[i];
    for (k = i + 1; k < n; k++) acc -= LU[k * n + i] * x[k];
    x[i] = acc;
  }
  for (k = n - 1; k >= 0; k--) {
    if (piv[k] != k) { double t = x[k]; x[k] = x[piv[k]]; x[piv[k]] = t; }
  }
}

static double norm1_vec(int64_t n, const double *x) {
  double acc = 0.0;
  int64_t i;
  for (i = 0; i < n; i++) acc += fabs(x[i]);
  return acc;
}

/*
** Estimates |A^-1|_1 from the LU factors with Hager's method as refined
** by Higham (the algorithm behind LAPACK's dgecon): a few solves with A and
** A^T climb towards the column of A^-1 with the largest 1-norm, and a
** final solve with an alternating-sign vector guards against the cases
** where that climb stalls.  O(n^2) per solve, so it is cheap next to the
** O(n^3) factorisation.  work holds 2n doubles.
*/
static int inv_norm1_estimate(int64_t n, const double *LU, const int64_t *piv, double *work,
                              double *est) {
  double *x = work, *z = work + n, best = 0.0, alt;
  int64_t i, j, prevj = -1;
  int iter, rc;
  for (i = 0; i < n; i++) x[i] = 1.0 / (double)n;
  for (iter = 0; iter < 5; iter++) {
    double y1, zmax, ztx = 0.0;
    if ((rc = lu_solve_inplace(n, 1, LU, piv, x)) != NN_OK) return rc;   /* x = A^-1 x */
    y1 = norm1_vec(n, x);
    if (iter > 0 && y1 <= best) break;     /* no progress: keep the best so far */
    best = y1;
    for (i = 0; i < n; i++) z[i] = x[i] >= 0 ? 1.0 : -1.0;
    lu_solve_trans_vec(n, LU, piv, z);                                /* z = A^-T sign(y) */
    /* x was e_j (or ones/n): z^T x is z[prevj] (or mean of z) */
    if (prevj >= 0) ztx = z[prevj];
    else for (i = 0; i < n; i++) ztx += z[i] / (double)n;
    j = 0;
    zmax = fabs(z[0]);
    for (i = 1; i < n; i++)
      if (fabs(z[i]) > zmax) { zmax = fabs(z[i]); j = i; }
    if (zmax <= ztx || j == prevj) break;  /* a local maximum of |A^-1 x|_1 */
    for (i = 0; i < n; i++) x[i] = 0.0;
    x[j] = 1.0;
    prevj = j;
  }
  for (i = 0; i < n; i++)
    x[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (n > 1 ? (double)i / (double)(n - 1) : 0.0));
  if ((rc = lu_solve_inplace(n, 1, LU, piv, x)) != NN_OK) return rc;
  alt = 2.0 * norm1_vec(n, x) / (3.0 * (double)n);
  *est = best > alt ? best : alt;
  return NN_OK;
}

/* |A|_1: the largest column sum of absolute values. */
static double norm1_mat(int64_t n, const double *A) {
  double best = 0.0;
  int64_t i, j;
  for (j = 0; j < n; j++) {
    double acc = 0.0;
    for (i = 0; i < n; i++) acc += fabs(A[i * n + j]);
    if (acc > best) best = acc;
  }
  return best;
}

/*
** The singular-matrix message for inv/solve.  A pivot column alone does
** not tell a student much, so we also compute the numerical rank by SVD:
** "rank 2 of 3" says what is wrong.  If the SVD finds full rank (our
** criteria are a little stricter than pinv's), the matrix is merely too
** ill-conditioned, and we say that instead.  `why` is the detail that
** triggered the failure.  An interrupt during the rank computation wins
** over the singular report.
*/
static int fail_singular(int64_t n, const double *A, const char *why) {
  int64_t rank = -1;
  int rc;
  if (max_abs(n * n, A) == 0.0)
    return nn_fail(NN_ESINGULAR, "matrix is singular: it is all zeros");
  rc = la_rank(n, n, A, 0.0, &rank);
  if (rc == NN_EINTR) return rc;
  if (rc != NN_OK || rank < 0)
    return nn_fail(NN_ESINGULAR, "matrix is singular (%s)", why);
  if (rank < n)
    return nn_fail(NN_ESINGULAR,
                   "matrix is singular: rank %lld of %lld (%s); pinv gives a least-squares answer",
                   (long long)rank, (long long)n, why);
  return nn_fail(NN_ESINGULAR,
                 "matrix is numerically singular (%s): too ill-conditioned to invert reliably",
                 why);
}

/*
** Copies A and factors it; on success the caller owns *LU and *piv.  On
** any failure nothing is left allocated and the status carries a message.
**
** "Singular" for inv/solve means either
**   - a pivot column whose largest candidate is <= n * eps * max|A|
**     (exactly or nearly dependent columns, caught during the LU), or
**   - an estimated reciprocal condition number 1/(|A|_1 |A^-1|_1) that is
**     <= n * eps: the answer would have no reliable digit.  Partial
**     pivoting can miss near-singularity (the 12x12 Hilbert matrix has
**     healthy-looking pivots but cond ~ 1e16); this catches it.
** Both thresholds use n * eps, as pinv's default cut-off max(m,n) * eps.
*/
static int lu_of(int64_t n, const double *A, double **LU, int64_t **piv, int *sign) {
  int64_t badcol = 0;
  double badpiv = 0.0, tol, *work = NULL, est = 0.0, rcond;
  char why[160];
  int rc;
  *piv = NULL;
  rc = alloc_doubles(LU, n, n);
  if (rc != NN_OK) return rc;
  *piv = malloc((size_t)(n > 0 ? n : 1) * sizeof **piv);
  if (*piv == NULL) {
    rc = nn_fail(NN_ENOMEM, "out of memory for LU pivots (n=%lld)", (long long)n);
    goto fail;
  }
  if (n > 0) memcpy(*LU, A, (size_t)(n * n) * sizeof(double));
  tol = (double)n * DBL_EPSILON * max_abs(n * n, A);
  rc = lu_factor(n, *LU, *piv, sign, tol, &badcol, &badpiv);
  if (rc == NN_ESINGULAR) {
    snprintf(why, sizeof why, "no pivot above %g in column %lld of %lld", tol,
             (long long)(badcol + 1), (long long)n);
    rc = fail_singular(n, A, why);
  }
  if (rc != NN_OK) goto fail;

  if ((rc = alloc_doubles(&work, 2, n)) != NN_OK) goto fail;
  rc = inv_norm1_estimate(n, *LU, *piv, work, &est);
  free(work);
  if (rc != NN_OK) goto fail;
  rcond = 1.0 / (norm1_mat(n, A) * est);   /* an overflow gives 0: singular */
  if (!(rcond > (double)n * DBL_EPSILON)) {
    snprintf(why, sizeof why, "condition number about %.2g, over 1/(n*eps) = %.2g",
             1.0 / rcond, 1.0 / ((double)n * DBL_EPSILON));
    rc = fail_singular(n, A, why);
    goto fail;
  }
  return NN_OK;
fail:
  free(*LU); *LU = NULL;
  free(*piv); *piv = NULL;
  return rc;
}


/* ======================================================================
** det / inv / solve
** ====================================================================== */

/*
** det = sign * prod(U_kk).  The product is kept as mantissa * 2^exponent
** so that intermediate pivots cannot overflow or underflow when the final
** determinant is representable.
*/
int la_det(int64_t n, const double *A, double *det) {
  double *LU = NULL, mant = 1.0, badpiv, tol;
  int64_t *piv = NULL, k, badcol;
  int sign, rc;
  long e2 = 0;
  *det = 0.0;
  if ((rc = check_dims(n, n)) != NN_OK) return rc;
  if (n == 0) { *det = 1.0; return NN_OK; }
  if ((rc = check_finite("matrix", n, n, A)) != NN_OK) return rc;
  if ((rc = alloc_doubles(&LU, n, n)) != NN_OK) return rc;
  piv = malloc((size_t)n * sizeof *piv);
  if (piv == NULL) {
    free(LU);
    return nn_fail(NN_ENOMEM, "out of memory for LU pivots (n=%lld)", (long long)n);
  }
  memcpy(LU, A, (size_t)(n * n) * sizeof(double));
  tol = (double)n * DBL_EPSILON * max_abs(n * n, A);
  rc = lu_factor(n, LU, piv, &sign, tol, &badcol, &badpiv);
  if (rc == NN_OK) {
    for (k = 0; k < n; k++) {
      int e;
      mant = frexp(mant * LU[k * n + k], &e);
      e2 += e;
    }
    if (e2 > INT32_MAX) e2 = INT32_MAX;      /* ldexp saturates to inf/0 */
    if (e2 < INT32_MIN) e2 = INT32_MIN;
    *det = sign * ldexp(mant, (int)e2);
  } else if (rc == NN_ESINGULAR) {
    *det = 0.0;                                  /* singular is an answer */
    rc = NN_OK;
  }
  free(LU);
  free(piv);
  return rc;
}

int la_solve(int64_t n, int64_t m, const double *A, const double *B, double *X) {
  double *LU;
  int64_t *piv;
  int sign, rc;
  if ((rc = check_dims(n, n)) != NN_OK) return rc;
  if ((rc = check_dims(n, m)) != NN_OK) return rc;
  if (n == 0) return NN_OK;
  if ((rc = check_finite("matrix", n, n, A)) != NN_OK) return rc;
  if ((rc = check_finite("right-hand side", n, m, B)) != NN_OK) return rc;
  /* factor a copy first: after this A and B are only read through LU and
  ** X, so X may be B (and even A) */
  if ((rc = lu_of(n, A, &LU, &piv, &sign)) != NN_OK) return rc;
  if (X != B && m > 0) memmove(X, B, (size_t)(n * m) * sizeof(double));
  rc = lu_solve_inplace(n, m, LU, piv, X);
  free(LU);
  free(piv);
  return rc;
}

int la_inv(int64_t n, const double *A, double *Ainv) {
  double *LU;
  int64_t *piv, i;
  int sign, rc;
  if ((rc = check_dims(n, n)) != NN_OK) return rc;
  if (n == 0) return NN_OK;
  if ((rc = check_finite("matrix", n, n, A)) != NN_OK) return rc;
  if ((rc = lu_of(n, A, &LU, &piv, &sign)) != NN_OK) return rc;
  memset(Ainv, 0, (size_t)(n * n) * sizeof(double));
  for (i = 0; i < n; i++) Ainv[i * n + i] = 1.0;
  rc = lu_solve_inplace(n, n, LU, piv, Ainv);
  free(LU);
  free(piv);
  return rc;
}


/* ======================================================================
** One-sided Jacobi SVD
** ====================================================================== */

/*
** The SVD of an m x n matrix, computed on whichever of A and A^T is tall:
** W holds `cols` = min(m,n) columns of length `rows` = max(m,n), stored
** column by column (each column contiguous, which is what the rotations
** touch).  After jacobi(), W's columns are U_k * s_k, mutually orthogonal,
** and V (cols x cols, also column by column, optional) is orthogonal with
**     T = W V^T,   T = A (m >= n) or A^T (m < n),
** where T was scaled by 2^-scale_exp so its largest entry lies in [0.5, 1):
** that keeps the squared column norms far from overflow and underflow.
** s[k] = |W_k| of the scaled matrix; multiply by 2^scale_exp for A's.
*/
typedef struct {
  int64_t m, n;         /* A is m x n */
  int64_t rows, cols;   /* rows = max(m,n), cols = min(m,n) */
  int transposed;       /* 1 when T = A^T (m < n) */
  int scale_exp;        /* A = 2^scale_exp * (scaled A) */
  double *W, *V, *s;
} Svd;

static void svd_free(Svd *svd) {
  free(svd->W);
  free(svd->V);
  free(svd->s);
  svd->W = svd->V = svd->s = NULL;
}

static double dot(int64_t len, const double *x, const double *y) {
  double acc = 0.0;
  int64_t i;
  for (i = 0; i < len; i++) acc += x[i] * y[i];
  return acc;
}

/* x, y <- c x - s y, s x + c y */
static void rotate(int64_t len, double *x, double *y, double c, double s) {
  int64_t i;
  for (i = 0; i < len; i++) {
    double xi = x[i], yi = y[i];
    x[i] = c * xi - s * yi;
    y[i] = s * xi + c * yi;
  }
}

/*
** Hestenes' method: sweep over all column pairs (p, q) and rotate each pair
** to make the columns orthogonal; the product of the rotations is V.  A pair
** counts as orthogonal when |W_p . W_q| <= tol |W_p| |W_q| with
** tol = sqrt(rows) * eps (as LAPACK's dgesvj), a relative test, so tiny
** columns are treated as carefully as large ones.  Zero columns (exact rank
** deficiency) are skipped.  Stops after a sweep with no rotation, or after
** JACOBI_MAX_SWEEPS (the result is then still a good SVD, just not polished
** to the last bit; it never happened in testing).  Polls the interrupt flag
** once per sweep.
*/
static int jacobi(int64_t rows, int64_t cols, double *W, double *V, double *s) {
  const double tol = sqrt((double)rows) * DBL_EPSILON;
  int64_t p, q, k;
  int sweep;
  for (sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
    int rotated = 0;
    int rc = nn_check_interrupt();
    if (rc != NN_OK) return rc;
    for (p = 0; p < cols - 1; p++) {
      for (q = p + 1; q < cols; q++) {
        double *wp = W + p * rows, *wq = W + q * rows;
        double alpha = dot(rows, wp, wp), beta = dot(rows, wq, wq);
        double gamma = dot(rows, wp, wq), zeta, t, c, sn;
        if (alpha == 0.0 || beta == 0.0) continue;
        if (fabs(gamma) <= tol * sqrt(alpha) * sqrt(beta)) continue;
        /* the rotation angle that zeroes the new W_p . W_q; the smaller
        ** root of t^2 + 2 zeta t - 1 = 0, guarded against zeta^2 overflow */
        zeta = (beta - alpha) / (2.0 * gamma);
        if (fabs(zeta) > 1e150)
          t = 0.5 / zeta;
        else
          t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
        c = 1.0 / sqrt(1.0 + t * t);
        sn = c * t;
        rotate(rows, wp, wq, c, sn);
        if (V != NULL) rotate(cols, V + p * cols, V + q * cols, c, sn);
        rotated = 1;
      }
    }
    if (!rotated) break;
  }
  for (k = 0; k < cols; k++) {
    double *wk = W + k * rows;
    s[k] = sqrt(dot(rows, wk, wk));
  }
  return NN_OK;
}

/*
** Fills *svd for the m x n A (m, n > 0): validates, scales, copies A (or
** A^T) into W column by column, runs jacobi().  V is computed only when
** want_v.  On failure everything is freed and the status is set.
*/
static int svd_compute(Svd *svd, int64_t m, int64_t n, const double *A, int want_v) {
  int64_t i, j, k;
  double amax;
  int rc;
  memset(svd, 0, sizeof *svd);
  svd->m = m;
  svd->n = n;
  svd->transposed = m < n;
  svd->rows = m < n ? n : m;
  svd->cols = m < n ? m : n;
  if ((rc = check_finite("matrix", m, n, A)) != NN_OK) return rc;
  if ((rc = alloc_doubles(&svd->W, svd->rows, svd->cols)) != NN_OK) goto fail;
  if ((rc = alloc_doubles(&svd->s, 1, svd->cols)) != NN_OK) goto fail;
  if (want_v && (rc = alloc_doubles(&svd->V, svd->cols, svd->cols)) != NN_OK) goto fail;

  amax = max_abs(m * n, A);
  svd->scale_exp = 0;
  if (amax > 0) frexp(amax, &svd->scale_exp);
  /* column k of T is column k of A, or row k of A when transposed */
  for (k = 0; k < svd->cols; k++)
    for (i = 0; i < svd->rows; i++) {
      double a = svd->transposed ? A[k * n + i] : A[i * n + k];
      svd->W[k * svd->rows + i] = ldexp(a, -svd->scale_exp);
    }
  if (svd->V != NULL) {
    memset(svd->V, 0, (size_t)(svd->cols * svd->cols) * sizeof(double));
    for (j = 0; j < svd->cols; j++) svd->V[j * svd->cols + j] = 1.0;
  }
  if ((rc = jacobi(svd->rows, svd->cols, svd->W, svd->V, svd->s)) != NN_OK) goto fail;
  return NN_OK;
fail:
  svd_free(svd);
  return rc;
}

static double max_of(int64_t len, const double *s) {
  double m = 0.0;
  int64_t k;
  for (k = 0; k < len; k++)
    if (s[k] > m) m = s[k];
  return m;
}


/* ======================================================================
** pinv / svdvals / rank
** ====================================================================== */

/*
** pinv(T) = V S^+ U^T = sum over kept k of v_k w_k^T / s_k^2 (w_k = U_k s_k),
** and pinv(A) = pinv(T)^T when T = A^T.  Kept means s_k > rcond * max(s);
** the rest are treated as exactly zero, which is what makes pinv(X) t the
** minimum-norm least-squares solution.  The scaling of A is undone at the
** end (pinv(2^e B) = 2^-e pinv(B), exact).
*/
int la_pinv(int64_t m, int64_t n, const double *A, double *P, double rcond) {
  Svd svd;
  double thr;
  int64_t i, j, k, rows, cols;
  int rc;
  if ((rc = check_dims(m, n)) != NN_OK) return rc;
  if ((rc = check_rcond(rcond)) != NN_OK) return rc;
  if (m == 0 || n == 0) return NN_OK;          /* P is n x m: nothing to write */
  if ((rc = svd_compute(&svd, m, n, A, 1)) != NN_OK) return rc;
  rows = svd.rows;
  cols = svd.cols;
  thr = effective_rcond(m, n, rcond) * max_of(cols, svd.s);
  memset(P, 0, (size_t)(n * m) * sizeof(double));
  for (k = 0; k < cols; k++) {
    const double *wk = svd.W + k * rows, *vk = svd.V + k * cols;
    double inv2;
    if (!(svd.s[k] > thr)) continue;
    inv2 = 1.0 / (svd.s[k] * svd.s[k]);
    if (!svd.transposed) {          /* P (n x m) += v_k w_k^T / s^2, n = cols */
      for (i = 0; i < n; i++) {
        double f = vk[i] * inv2;
        for (j = 0; j < m; j++) P[i * m + j] += f * wk[j];
      }
    } else {                        /* P (n x m) += w_k v_k^T / s^2, m = cols */
      for (i = 0; i < n; i++) {
        double f = wk[i] * inv2;
        for (j = 0; j < m; j++) P[i * m + j] += f * vk[j];
      }
    }
  }
  for (i = 0; i < n * m; i++) P[i] = ldexp(P[i], -svd.scale_exp);
  svd_free(&svd);
  return NN_OK;
}

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

int la_svdvals(int64_t m, int64_t n, const double *A, double *s) {
  Svd svd;
  int64_t k;
  int rc;
  if ((rc = check_dims(m, n)) != NN_OK) return rc;
  if (m == 0 || n == 0) return NN_OK;
  if ((rc = svd_compute(&svd, m, n, A, 0)) != NN_OK) return rc;
  for (k = 0; k < svd.cols; k++) s[k] = ldexp(svd.s[k], svd.scale_exp);
  qsort(s, (size_t)svd.cols, sizeof *s, cmp_desc);
  svd_free(&svd);
  return NN_OK;
}

int la_rank(int64_t m, int64_t n, const double *A, double rcond, int64_t *rank) {
  Svd svd;
  double thr;
  int64_t k, r = 0;
  int rc;
  *rank = 0;
  if ((rc = check_dims(m, n)) != NN_OK) return rc;
  if ((rc = check_rcond(rcond)) != NN_OK) return rc;
  if (m == 0 || n == 0) return NN_OK;
  if ((rc = svd_compute(&svd, m, n, A, 0)) != NN_OK) return rc;
  thr = effective_rcond(m, n, rcond) * max_of(svd.cols, svd.s);
  for (k = 0; k < svd.cols; k++)
    if (svd.s[k] > thr) r++;
  svd_free(&svd);
  *rank = r;
  return NN_OK;
}

/* ======================================================================
** Symmetric eigenvalues: cyclic Jacobi rotations
** ====================================================================== */

/*
** Each rotation J in the (p, q) plane is chosen so that (Jᵀ A J)_pq = 0:
** with θ = (a_qq - a_pp) / (2 a_pq), t = tan φ is the smaller root of
** t² + 2θt - 1 = 0.  Sweeps over all pairs until the off-diagonal part is
** below rounding (quadratic convergence); V accumulates the rotations, so
** A = V diag(w) Vᵀ.  Accurate to a few ulps of ‖A‖ on small matrices,
** which is what homework Hessians are.
*/
int la_eigh(int64_t n, const double *A, double *w, double *V) {
  double *a, scale, tol;
  int64_t i, j, k, p, q;
  int rc, sweep;
  if ((rc = check_dims(n, n)) != NN_OK) return rc;
  if ((rc = check_finite("matrix", n, n, A)) != NN_OK) return rc;
  scale = max_abs(n * n, A);
  tol = 64 * DBL_EPSILON * (scale > 0 ? scale : 1);
  for (i = 0; i < n; i++)
    for (j = i + 1; j < n; j++)
      if (fabs(A[i * n + j] - A[j * n + i]) > tol)
        return nn_fail(NN_EARG, "needs a symmetric matrix; entry (%lld,%lld) is %g but "
                       "(%lld,%lld) is %g", (long long)i + 1, (long long)j + 1, A[i * n + j],
                       (long long)j + 1, (long long)i + 1, A[j * n + i]);
  if ((rc = alloc_doubles(&a, n, n)) != NN_OK) return rc;
  for (i = 0; i < n; i++)   /* the symmetric part, exactly symmetric */
    for (j = 0; j < n; j++) a[i * n + j] = 0.5 * (A[i * n + j] + A[j * n + i]);
  for (i = 0; i < n * n; i++) V[i] = 0.0;
  for (i = 0; i < n; i++) V[i * n + i] = 1.0;
  for (sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
    double off = 0.0;
    for (p = 0; p < n; p++)
      for (q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (sqrt(off) <= DBL_EPSILON * DBL_EPSILON * (scale > 0 ? scale : 1)) break;
    for (p = 0; p < n; p++)
      for (q = p + 1; q < n; q++) {
        double apq = a[p * n + q], theta, t, c, s;
        if (apq == 0.0) continue;
        theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        c = 1.0 / sqrt(t * t + 1.0);
        s = t * c;
        for (k = 0; k < n; k++) {   /* A J: columns p and q */
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (k = 0; k < n; k++) {   /* Jᵀ (A J): rows p and q */
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = a[q * n + p] = 0.0;
        for (k = 0; k < n; k++) {   /* V J */
          double vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  for (i = 0; i < n; i++) w[i] = a[i * n + i];
  free(a);
  /* ascending, as numpy.linalg.eigh, the columns of V following */
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && w[j - 1] > w[j]; j--) {
      double tmp = w[j - 1];
      w[j - 1] = w[j];
      w[j] = tmp;
      for (k = 0; k < n; k++) {
        tmp = V[k * n + j - 1];
        V[k * n + j - 1] = V[k * n + j];
        V[k * n + j] = tmp;
      }
    }
  return NN_OK;
}
