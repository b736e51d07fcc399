/*
** check_linalg.c — unit tests for linalg.c (det, inv, solve, pinv, svdvals,
** rank).  Expected values are worked by hand (noted beside each), or are
** identities that hold for any matrix (A inv(A) = I, the Moore-Penrose
** conditions), checked on reproducible pseudo-random matrices.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "linalg.h"
#include "status.h"

/* ---- helpers ------------------------------------------------------------ */

/* A fixed LCG so every run sees the same "random" matrices. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 2862933555777941757ULL + 3037000493ULL; }
static double urand(void) {   /* uniform in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}
static void fill_random(double *A, int64_t count) {
  int64_t i;
  for (i = 0; i < count; i++) A[i] = urand();
}

/* C (m x n) = A (m x k) * B (k x n), all row-major. */
static void matmul(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C) {
  int64_t i, j, l;
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      double acc = 0.0;
      for (l = 0; l < k; l++) acc += A[i * k + l] * B[l * n + j];
      C[i * n + j] = acc;
    }
}

static void transpose(int64_t m, int64_t n, const double *A, double *T) {
  int64_t i, j;
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) T[j * m + i] = A[i * n + j];
}

static double max_abs_of(int64_t count, const double *A) {
  double mx = 0.0;
  int64_t i;
  for (i = 0; i < count; i++)
    if (fabs(A[i]) > mx) mx = fabs(A[i]);
  return mx;
}

/* |got - want| <= tol * max(1, max|want|), elementwise. */
static void assert_mat_close(const double *got, const double *want, int64_t count, double tol,
                             const char *what) {
  double scale = max_abs_of(count, want);
  int64_t i;
  if (scale < 1.0) scale = 1.0;
  for (i = 0; i < count; i++)
    ck_assert_msg(fabs(got[i] - want[i]) <= tol * scale,
                  "%s: element %lld is %.17g, expected %.17g", what, (long long)i, got[i],
                  want[i]);
}

static void assert_identity(int64_t n, const double *M, double tol, const char *what) {
  int64_t i, j;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++)
      ck_assert_msg(fabs(M[i * n + j] - (i == j ? 1.0 : 0.0)) <= tol,
                    "%s: (%lld,%lld) is %.17g", what, (long long)i, (long long)j, M[i * n + j]);
}

static void assert_symmetric(int64_t n, const double *M, double tol, const char *what) {
  double scale = max_abs_of(n * n, M);
  int64_t i, j;
  if (scale < 1.0) scale = 1.0;
  for (i = 0; i < n; i++)
    for (j = 0; j < i; j++)
      ck_assert_msg(fabs(M[i * n + j] - M[j * n + i]) <= tol * scale,
                    "%s not symmetric at (%lld,%lld): %.17g vs %.17g", what, (long long)i,
                    (long long)j, M[i * n + j], M[j * n + i]);
}

/* Checks the four Moore-Penrose conditions for P = pinv(A), A m x n. */
static void assert_moore_penrose(int64_t m, int64_t n, const double *A, const double *P,
                                 double tol) {
  double *AP = malloc((size_t)(m * m) * sizeof(double));
  double *PA = malloc((size_t)(n * n) * sizeof(double));
  double *APA = malloc((size_t)(m * n) * sizeof(double));
  double *PAP = malloc((size_t)(n * m) * sizeof(double));
  ck_assert(AP && PA && APA && PAP);
  matmul(m, n, m, A, P, AP);
  matmul(n, m, n, P, A, PA);
  matmul(m, m, n, AP, A, APA);
  matmul(n, n, m, PA, P, PAP);
  assert_mat_close(APA, A, m * n, tol, "A P A = A");
  assert_mat_close(PAP, P, n * m, tol, "P A P = P");
  assert_symmetric(m, AP, tol, "A P");
  assert_symmetric(n, PA, tol, "P A");
  free(AP);
  free(PA);
  free(APA);
  free(PAP);
}

static void setup(void) {
  nn_interrupted = 0;
  nn_fail(NN_OK, "%s", "");
}

/* ---- det ---------------------------------------------------------------- */

START_TEST(test_det_small) {
  const double A2[] = {1, 2, 3, 4};                    /* 1*4 - 2*3 = -2 */
  const double A3[] = {6, 1, 1, 4, -2, 5, 2, 8, 7};    /* 6(-54) - 1(18) + 1(36) = -306 */
  const double A1[] = {-2.5};
  double d = 0;
  ck_assert_int_eq(la_det(2, A2, &d), NN_OK);
  ck_assert_double_eq_tol(d, -2.0, 1e-14);
  ck_assert_int_eq(la_det(3, A3, &d), NN_OK);
  ck_assert_double_eq_tol(d, -306.0, 1e-12);
  ck_assert_int_eq(la_det(1, A1, &d), NN_OK);
  ck_assert_double_eq(d, -2.5);
}
END_TEST

START_TEST(test_det_row_swap_sign) {
  const double P2[] = {0, 1, 1, 0};                    /* one swap: -1 */
  const double A3[] = {0, 2, 0, 3, 0, 0, 0, 0, 4};     /* -(2*3*4) = -24 */
  const double A3b[] = {0, 0, 1, 0, 1, 0, 1, 0, 0};    /* anti-diagonal 3x3: -1 */
  const double A2[] = {0, 5, 2, 3};                    /* 0*3 - 5*2 = -10 */
  double d = 0;
  ck_assert_int_eq(la_det(2, P2, &d), NN_OK);
  ck_assert_double_eq_tol(d, -1.0, 1e-15);
  ck_assert_int_eq(la_det(3, A3, &d), NN_OK);
  ck_assert_double_eq_tol(d, -24.0, 1e-13);
  ck_assert_int_eq(la_det(3, A3b, &d), NN_OK);
  ck_assert_double_eq_tol(d, -1.0, 1e-15);
  ck_assert_int_eq(la_det(2, A2, &d), NN_OK);
  ck_assert_double_eq_tol(d, -10.0, 1e-14);
}
END_TEST

START_TEST(test_det_singular_is_zero) {
  const double A2[] = {1, 2, 2, 4};
  const double A3[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};     /* rows in arithmetic progression */
  const double Z[] = {0, 0, 0, 0};
  double d = 1;
  ck_assert_int_eq(la_det(2, A2, &d), NN_OK);
  ck_assert_double_eq(d, 0.0);
  d = 1;
  /* naive LU leaves a last pivot of ~1e-16: the tolerance makes it exactly 0 */
  ck_assert_int_eq(la_det(3, A3, &d), NN_OK);
  ck_assert_double_eq(d, 0.0);
  d = 1;
  ck_assert_int_eq(la_det(2, Z, &d), NN_OK);
  ck_assert_double_eq(d, 0.0);
}
END_TEST

START_TEST(test_det_scale) {
  /* det is exact for powers of ten far from 1, overflows and underflows
  ** honestly, and uses the same relative pivot test as inv */
  const double Big[] = {1e100, 0, 0, 0, 1e100, 0, 0, 0, 1e100};   /* 1e300 */
  const double Huge[] = {1e150, 0, 0, 0, 1e150, 0, 0, 0, 1e150};  /* 1e450: inf */
  const double Tiny[] = {1e-200, 0, 0, 1e-200};                   /* 1e-400: 0 */
  const double Near[] = {1, 0, 0, 1e-20};            /* pivot below 2 eps * max|A| */
  double d = 0;
  ck_assert_int_eq(la_det(3, Big, &d), NN_OK);
  ck_assert_msg(fabs(d / 1e300 - 1.0) < 1e-14, "det = %g, expected 1e300", d);
  ck_assert_int_eq(la_det(3, Huge, &d), NN_OK);
  ck_assert(isinf(d) && d > 0);
  ck_assert_int_eq(la_det(2, Tiny, &d), NN_OK);
  ck_assert_double_eq(d, 0.0);
  ck_assert_int_eq(la_det(2, Near, &d), NN_OK);
  ck_assert_double_eq(d, 0.0);
}
END_TEST

START_TEST(test_det_random_matches_product) {
  /* det(A B) = det(A) det(B) on random 5x5 */
  double A[25], B[25], C[25], da, db, dc;
  rng_seed(11);
  fill_random(A, 25);
  fill_random(B, 25);
  matmul(5, 5, 5, A, B, C);
  ck_assert_int_eq(la_det(5, A, &da), NN_OK);
  ck_assert_int_eq(la_det(5, B, &db), NN_OK);
  ck_assert_int_eq(la_det(5, C, &dc), NN_OK);
  ck_assert_msg(fabs(dc - da * db) <= 1e-12 * fabs(da * db), "%g vs %g", dc, da * db);
}
END_TEST

/* ---- inv ---------------------------------------------------------------- */

START_TEST(test_inv_2x2) {
  const double A[] = {4, 7, 2, 6};                     /* det 10 */
  const double want[] = {0.6, -0.7, -0.2, 0.4};
  double X[4];
  ck_assert_int_eq(la_inv(2, A, X), NN_OK);
  assert_mat_close(X, want, 4, 1e-15, "inv [[4,7],[2,6]]");
}
END_TEST

START_TEST(test_inv_random_6x6) {
  double A[36], X[36], AX[36], XA[36];
  int64_t i;
  rng_seed(42);
  fill_random(A, 36);
  for (i = 0; i < 6; i++) A[i * 6 + i] += 6.0;        /* diagonally dominant */
  ck_assert_int_eq(la_inv(6, A, X), NN_OK);
  matmul(6, 6, 6, A, X, AX);
  matmul(6, 6, 6, X, A, XA);
  assert_identity(6, AX, 1e-13, "A inv(A)");
  assert_identity(6, XA, 1e-13, "inv(A) A");
}
END_TEST

START_TEST(test_inv_needs_pivoting) {
  /* a zero leading entry: no LU without row swaps */
  const double A[] = {0, 1, 2, 1, 0, 3, 4, -3, 8};
  double X[9], AX[9];
  ck_assert_int_eq(la_inv(3, A, X), NN_OK);
  matmul(3, 3, 3, A, X, AX);
  assert_identity(3, AX, 1e-14, "A inv(A)");
}
END_TEST

START_TEST(test_inv_tiny_scale_not_singular) {
  /* the criterion is relative to max|A|, so 1e-200 * I inverts */
  const double A[] = {1e-200, 0, 0, 2e-200};
  double X[4];
  ck_assert_int_eq(la_inv(2, A, X), NN_OK);
  ck_assert_msg(fabs(X[0] / 1e200 - 1) < 1e-15 && fabs(X[3] / 5e199 - 1) < 1e-15,
                "inv = %g %g", X[0], X[3]);
  ck_assert_double_eq(X[1], 0.0);
  ck_assert_double_eq(X[2], 0.0);
}
END_TEST

START_TEST(test_inv_singular) {
  const double A2[] = {1, 2, 2, 4};
  const double A3[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const double Z[] = {0};
  double X[9];
  ck_assert_int_eq(la_inv(2, A2, X), NN_ESINGULAR);
  ck_assert_int_eq(nn_errcode(), NN_ESINGULAR);
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "singular"));
  ck_assert_msg(strstr(nn_errmsg(), "rank 1 of 2") != NULL, "message: %s", nn_errmsg());
  ck_assert_int_eq(la_inv(3, A3, X), NN_ESINGULAR);
  ck_assert_msg(strstr(nn_errmsg(), "rank 2 of 3") != NULL, "message: %s", nn_errmsg());
  ck_assert_msg(strstr(nn_errmsg(), "column 3") != NULL, "message: %s", nn_errmsg());
  ck_assert_int_eq(la_inv(1, Z, X), NN_ESINGULAR);
  ck_assert_msg(strstr(nn_errmsg(), "singular: it is all zeros") != NULL, "message: %s",
                nn_errmsg());
}
END_TEST

START_TEST(test_inv_ill_conditioned) {
  /* Pivots alone miss these: unit upper triangular with -1 above the
  ** diagonal has all pivots 1, yet its inverse has entries 2^(j-i-1), so
  ** cond grows like 2^n.  At n = 20 it inverts exactly; at n = 60
  ** (cond ~ 1e19) the condition estimate refuses.  Likewise the 12x12
  ** Hilbert matrix (cond ~ 1.7e16), while the 6x6 one (~1.5e7) inverts. */
  enum { BIG = 60 };
  static double U[BIG * BIG], X[BIG * BIG], H[BIG * BIG], HX[BIG * BIG];
  int64_t i, j, n;
  n = 20;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) U[i * n + j] = i == j ? 1.0 : (j > i ? -1.0 : 0.0);
  ck_assert_int_eq(la_inv(n, U, X), NN_OK);
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      double want = j < i ? 0.0 : (j == i ? 1.0 : ldexp(1.0, (int)(j - i - 1)));
      ck_assert_msg(X[i * n + j] == want, "(%lld,%lld) = %g, expected %g", (long long)i,
                    (long long)j, X[i * n + j], want);
    }
  n = BIG;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) U[i * n + j] = i == j ? 1.0 : (j > i ? -1.0 : 0.0);
  ck_assert_int_eq(la_inv(n, U, X), NN_ESINGULAR);
  ck_assert_msg(strstr(nn_errmsg(), "singular") && strstr(nn_errmsg(), "condition number"),
                "message: %s", nn_errmsg());
  n = 12;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) H[i * n + j] = 1.0 / (double)(i + j + 1);
  ck_assert_int_eq(la_inv(n, H, X), NN_ESINGULAR);
  ck_assert_msg(strstr(nn_errmsg(), "singular") != NULL, "message: %s", nn_errmsg());
  ck_assert_int_eq(la_solve(n, 1, H, H, X), NN_ESINGULAR);
  n = 6;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) H[i * n + j] = 1.0 / (double)(i + j + 1);
  ck_assert_int_eq(la_inv(n, H, X), NN_OK);
  matmul(n, n, n, H, X, HX);
  assert_identity(n, HX, 1e-8, "H6 inv(H6)");
}
END_TEST

/* ---- solve -------------------------------------------------------------- */

START_TEST(test_solve_multiple_rhs) {
  const double A[] = {2, 1, 1, 1, 3, 2, 1, 0, 0};     /* det -1 */
  const double Xw[] = {1, -2, 2, 0.5, -3, 4};          /* 3x2 known solution */
  double B[6], X[6];
  matmul(3, 3, 2, A, Xw, B);
  ck_assert_int_eq(la_solve(3, 2, A, B, X), NN_OK);
  assert_mat_close(X, Xw, 6, 1e-14, "solve, 2 right-hand sides");
}
END_TEST

START_TEST(test_solve_aliased) {
  /* X == B: the answer overwrites the right-hand side */
  double A[49], Xw[21], B[21];
  int64_t i;
  rng_seed(7);
  fill_random(A, 49);
  for (i = 0; i < 7; i++) A[i * 7 + i] += 4.0;
  fill_random(Xw, 21);
  matmul(7, 7, 3, A, Xw, B);
  ck_assert_int_eq(la_solve(7, 3, A, B, B), NN_OK);
  assert_mat_close(B, Xw, 21, 1e-13, "solve in place");
}
END_TEST

START_TEST(test_solve_swap_2x2) {
  const double A[] = {0, 1, 1, 0};                     /* x = (b2, b1) */
  double b[] = {3, 5};
  ck_assert_int_eq(la_solve(2, 1, A, b, b), NN_OK);
  ck_assert_double_eq(b[0], 5.0);
  ck_assert_double_eq(b[1], 3.0);
}
END_TEST

START_TEST(test_solve_singular) {
  const double A[] = {1, 2, 2, 4};
  const double B[] = {1, 2};
  double X[2] = {7, 7};
  ck_assert_int_eq(la_solve(2, 1, A, B, X), NN_ESINGULAR);
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "singular"));
  ck_assert_msg(strstr(nn_errmsg(), "rank 1 of 2") != NULL, "message: %s", nn_errmsg());
  /* X is untouched on failure */
  ck_assert_double_eq(X[0], 7.0);
  ck_assert_double_eq(X[1], 7.0);
}
END_TEST

/* ---- pinv --------------------------------------------------------------- */

START_TEST(test_pinv_rank1) {
  /* A = u u^T with u = (1,2): pinv = A / |u|^4 = A / 25 */
  const double A[] = {1, 2, 2, 4};
  const double want[] = {1.0 / 25, 2.0 / 25, 2.0 / 25, 4.0 / 25};
  double P[4];
  ck_assert_int_eq(la_pinv(2, 2, A, P, 0.0), NN_OK);
  assert_mat_close(P, want, 4, 1e-15, "pinv [[1,2],[2,4]]");
}
END_TEST

START_TEST(test_pinv_tall_full_rank) {
  /* A 4x2; A^T A = [[84,100],[100,120]], det 80, so
  ** pinv = [[120,-100],[-100,84]]/80 * A^T */
  const double A[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const double G[] = {120.0 / 80, -100.0 / 80, -100.0 / 80, 84.0 / 80};
  double At[8], want[8], P[8];
  transpose(4, 2, A, At);
  matmul(2, 2, 4, G, At, want);
  ck_assert_int_eq(la_pinv(4, 2, A, P, 0.0), NN_OK);
  assert_mat_close(P, want, 8, 1e-13, "pinv tall");
}
END_TEST

START_TEST(test_pinv_wide_min_norm) {
  /* X = [[1,2,3],[4,5,6]], t = (1,2): X X^T = [[14,32],[32,77]], det 54;
  ** (X X^T)^-1 t = (13,-4)/54; X^T of that = (-3,6,15)/54 */
  const double X[] = {1, 2, 3, 4, 5, 6};
  const double t[] = {1, 2};
  const double want[] = {-1.0 / 18, 1.0 / 9, 5.0 / 18};
  double P[6], w[3], Xw[2];
  ck_assert_int_eq(la_pinv(2, 3, X, P, 0.0), NN_OK);
  matmul(3, 2, 1, P, t, w);
  assert_mat_close(w, want, 3, 1e-14, "pinv(X) t");
  matmul(2, 3, 1, X, w, Xw);                           /* it solves X w = t exactly */
  assert_mat_close(Xw, t, 2, 1e-14, "X pinv(X) t");
  assert_moore_penrose(2, 3, X, P, 1e-13);
}
END_TEST

START_TEST(test_pinv_wide_random_min_norm) {
  /* a random 3x7 X: pinv(X) t = X^T (X X^T)^-1 t, the latter via la_solve */
  double X[21], Xt[21], G[9], t[3], y[3], want[7], P[21], got[7];
  rng_seed(2024);
  fill_random(X, 21);
  fill_random(t, 3);
  transpose(3, 7, X, Xt);
  matmul(3, 7, 3, X, Xt, G);
  ck_assert_int_eq(la_solve(3, 1, G, t, y), NN_OK);
  matmul(7, 3, 1, Xt, y, want);
  ck_assert_int_eq(la_pinv(3, 7, X, P, 0.0), NN_OK);
  matmul(7, 3, 1, P, t, got);
  assert_mat_close(got, want, 7, 1e-12, "min-norm solution");
}
END_TEST

START_TEST(test_pinv_moore_penrose_rank_deficient) {
  /* A = B C with B 5x2 and C 2x4: rank 2, neither tall- nor wide-full-rank */
  int seed;
  for (seed = 1; seed <= 20; seed++) {
    double B[10], C[8], A[20], At[20], P[20], Pt[20];
    int64_t r = -1;
    rng_seed((uint64_t)seed);
    fill_random(B, 10);
    fill_random(C, 8);
    matmul(5, 2, 4, B, C, A);
    ck_assert_int_eq(la_pinv(5, 4, A, P, 0.0), NN_OK);
    assert_moore_penrose(5, 4, A, P, 1e-11);
    ck_assert_int_eq(la_rank(5, 4, A, 0.0, &r), NN_OK);
    ck_assert_int_eq(r, 2);
    /* the wide (transposed) case goes down the other path: pinv(A^T) = pinv(A)^T */
    transpose(5, 4, A, At);
    ck_assert_int_eq(la_pinv(4, 5, At, Pt, 0.0), NN_OK);
    assert_moore_penrose(4, 5, At, Pt, 1e-11);
    transpose(4, 5, P, At);                          /* reuse At for pinv(A)^T */
    assert_mat_close(Pt, At, 20, 1e-11, "pinv(A^T) = pinv(A)^T");
  }
}
END_TEST

START_TEST(test_pinv_larger_random) {
  /* 30x20 full column rank: pinv(A) A = I, and Moore-Penrose */
  enum { M = 30, N = 20 };
  static double A[M * N], P[N * M], PA[N * N], At[N * M], Pt[M * N];
  rng_seed(99);
  fill_random(A, M * N);
  ck_assert_int_eq(la_pinv(M, N, A, P, 0.0), NN_OK);
  matmul(N, M, N, P, A, PA);
  assert_identity(N, PA, 1e-12, "pinv(A) A");
  assert_moore_penrose(M, N, A, P, 1e-11);
  transpose(M, N, A, At);
  ck_assert_int_eq(la_pinv(N, M, At, Pt, 0.0), NN_OK);
  assert_moore_penrose(N, M, At, Pt, 1e-11);
}
END_TEST

START_TEST(test_pinv_threshold) {
  /* diag(1, 1e-20): the default cut-off (2 eps) drops 1e-20, rcond 1e-25 keeps it */
  const double A[] = {1, 0, 0, 1e-20};
  const double Z[] = {0, 0, 0, 0, 0, 0};
  double P[6];
  int64_t r;
  ck_assert_int_eq(la_pinv(2, 2, A, P, 0.0), NN_OK);
  ck_assert_double_eq_tol(P[0], 1.0, 1e-15);
  ck_assert_double_eq(P[3], 0.0);
  ck_assert_int_eq(la_pinv(2, 2, A, P, 1e-25), NN_OK);
  ck_assert_msg(fabs(P[3] / 1e20 - 1) < 1e-14, "P[3] = %g", P[3]);
  ck_assert_int_eq(la_rank(2, 2, A, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 1);
  ck_assert_int_eq(la_rank(2, 2, A, 1e-25, &r), NN_OK);
  ck_assert_int_eq(r, 2);
  /* the zero matrix: pinv is zero (2x3 in, 3x2 out) */
  memset(P, 0xff, sizeof P);
  ck_assert_int_eq(la_pinv(2, 3, Z, P, 0.0), NN_OK);
  assert_mat_close(P, Z, 6, 0.0, "pinv(0)");
}
END_TEST

START_TEST(test_pinv_extreme_scale) {
  /* entries whose squares would overflow or underflow: Jacobi works scaled */
  const double A[] = {1e-300, 2e-300, 2e-300, 4e-300};
  const double B[] = {3e200, 0, 4e200, 5e200};
  double P[4], s[2];
  ck_assert_int_eq(la_pinv(2, 2, A, P, 0.0), NN_OK);
  ck_assert_msg(fabs(P[0] / (1e300 / 25) - 1) < 1e-14 && fabs(P[3] / (4e300 / 25) - 1) < 1e-14,
                "pinv = %g %g", P[0], P[3]);
  ck_assert_int_eq(la_svdvals(2, 2, B, s), NN_OK);
  ck_assert_msg(fabs(s[0] / (3e200 * sqrt(5.0)) - 1) < 1e-14, "s0 = %g", s[0]);
  ck_assert_msg(fabs(s[1] / (1e200 * sqrt(5.0)) - 1) < 1e-14, "s1 = %g", s[1]);
}
END_TEST

/* ---- svdvals / rank ----------------------------------------------------- */

START_TEST(test_svdvals_diagonal) {
  const double D[] = {3, 0, 0, 0, -7, 0, 0, 0, 0.5};  /* |d| sorted: 7, 3, 0.5 */
  const double W[] = {2, 0, 0, 0, 5, 0};               /* 2x3: 5, 2 */
  double s[3];
  ck_assert_int_eq(la_svdvals(3, 3, D, s), NN_OK);
  ck_assert_double_eq_tol(s[0], 7.0, 1e-15);
  ck_assert_double_eq_tol(s[1], 3.0, 1e-15);
  ck_assert_double_eq_tol(s[2], 0.5, 1e-15);
  ck_assert_int_eq(la_svdvals(2, 3, W, s), NN_OK);
  ck_assert_double_eq_tol(s[0], 5.0, 1e-15);
  ck_assert_double_eq_tol(s[1], 2.0, 1e-15);
}
END_TEST

START_TEST(test_svdvals_2x2) {
  /* A^T A = [[25,20],[20,25]], eigenvalues 45 and 5: s = 3 sqrt5, sqrt5 */
  const double A[] = {3, 0, 4, 5};
  double s[2];
  ck_assert_int_eq(la_svdvals(2, 2, A, s), NN_OK);
  ck_assert_double_eq_tol(s[0], 3.0 * sqrt(5.0), 1e-14);
  ck_assert_double_eq_tol(s[1], sqrt(5.0), 1e-14);
}
END_TEST

START_TEST(test_svdvals_random_invariants) {
  /* sum s^2 = |A|_F^2 and prod s = |det A| on a random 8x8; descending */
  double A[64], s[8], fro = 0, ss = 0, prod = 1, d;
  int i;
  rng_seed(5);
  fill_random(A, 64);
  for (i = 0; i < 64; i++) fro += A[i] * A[i];
  ck_assert_int_eq(la_svdvals(8, 8, A, s), NN_OK);
  for (i = 0; i < 8; i++) {
    ss += s[i] * s[i];
    prod *= s[i];
    if (i > 0) ck_assert(s[i - 1] >= s[i]);
  }
  ck_assert_double_eq_tol(ss, fro, 1e-12 * fro);
  ck_assert_int_eq(la_det(8, A, &d), NN_OK);
  ck_assert_msg(fabs(prod - fabs(d)) <= 1e-12 * fabs(d), "prod s %g vs |det| %g", prod, d);
}
END_TEST

START_TEST(test_rank) {
  const double I3[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  const double A3[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const double Z[] = {0, 0, 0, 0, 0, 0};
  const double W[] = {1, 2, 3, 2, 4, 6};               /* 2x3, second row = 2 * first */
  const double T[] = {1, 0, 0, 1, 1, 1};               /* 3x2 full column rank */
  int64_t r = -1;
  ck_assert_int_eq(la_rank(3, 3, I3, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 3);
  ck_assert_int_eq(la_rank(3, 3, A3, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 2);
  ck_assert_int_eq(la_rank(2, 3, Z, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 0);
  ck_assert_int_eq(la_rank(2, 3, W, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 1);
  ck_assert_int_eq(la_rank(3, 2, T, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 2);
  /* a cut-off of 1 keeps nothing (s > 1 * max s never holds) */
  ck_assert_int_eq(la_rank(3, 3, I3, 1.0, &r), NN_OK);
  ck_assert_int_eq(r, 0);
}
END_TEST

/* ---- edge cases --------------------------------------------------------- */

START_TEST(test_zero_size) {
  const double A[] = {1, 2, 3};
  double d = 0, s[1] = {42}, X[3] = {9, 9, 9};
  int64_t r = -1;
  ck_assert_int_eq(la_det(0, NULL, &d), NN_OK);
  ck_assert_double_eq(d, 1.0);
  ck_assert_int_eq(la_inv(0, NULL, NULL), NN_OK);
  ck_assert_int_eq(la_solve(0, 3, NULL, NULL, NULL), NN_OK);
  ck_assert_int_eq(la_pinv(0, 3, NULL, NULL, 0.0), NN_OK);
  ck_assert_int_eq(la_pinv(3, 0, NULL, NULL, 0.0), NN_OK);
  ck_assert_int_eq(la_svdvals(0, 3, NULL, s), NN_OK);
  ck_assert_double_eq(s[0], 42.0);                     /* min(m,n) = 0: nothing written */
  ck_assert_int_eq(la_rank(3, 0, NULL, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 0);
  r = -1;
  ck_assert_int_eq(la_rank(0, 0, NULL, 0.0, &r), NN_OK);
  ck_assert_int_eq(r, 0);
  /* n x 0 right-hand side: A is still checked, X has nothing to hold */
  {
    const double A2[] = {2, 0, 0, 3};
    const double S2[] = {1, 1, 1, 1};
    ck_assert_int_eq(la_solve(2, 0, A2, NULL, NULL), NN_OK);
    ck_assert_int_eq(la_solve(2, 0, S2, NULL, NULL), NN_ESINGULAR);
  }
  /* 1x3 and 3x1: the vector cases of pinv; pinv(a) = a^T / |a|^2 = a^T / 14 */
  ck_assert_int_eq(la_pinv(1, 3, A, X, 0.0), NN_OK);
  ck_assert_double_eq_tol(X[0], 1.0 / 14, 1e-16);
  ck_assert_double_eq_tol(X[1], 2.0 / 14, 1e-16);
  ck_assert_double_eq_tol(X[2], 3.0 / 14, 1e-16);
  ck_assert_int_eq(la_pinv(3, 1, A, X, 0.0), NN_OK);
  ck_assert_double_eq_tol(X[2], 3.0 / 14, 1e-16);
}
END_TEST

START_TEST(test_bad_arguments) {
  double A[] = {1, 2, 3, 4}, X[4], d;
  int64_t r;
  ck_assert_int_eq(la_det(-1, A, &d), NN_EARG);
  ck_assert_int_eq(la_solve(2, -1, A, A, X), NN_EARG);
  ck_assert_int_eq(la_pinv(-2, 2, A, X, 0.0), NN_EARG);
  ck_assert_int_eq(la_rank(2, 2, A, NAN, &r), NN_EARG);
  A[3] = NAN;
  ck_assert_int_eq(la_det(2, A, &d), NN_EARG);
  ck_assert_msg(strstr(nn_errmsg(), "row 2, column 2") != NULL, "message: %s", nn_errmsg());
  ck_assert_int_eq(la_inv(2, A, X), NN_EARG);
  ck_assert_int_eq(la_pinv(2, 2, A, X, 0.0), NN_EARG);
  ck_assert_int_eq(la_svdvals(2, 2, A, X), NN_EARG);
  A[3] = 4;
  X[0] = 1; X[1] = INFINITY;
  ck_assert_int_eq(la_solve(2, 1, A, X, X), NN_EARG);
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "right-hand side"));
}
END_TEST

START_TEST(test_interrupt) {
  double A[16], P[16], s[4], d;
  int64_t r;
  rng_seed(3);
  fill_random(A, 16);
  nn_interrupted = 1;
  ck_assert_int_eq(la_pinv(4, 4, A, P, 0.0), NN_EINTR);
  ck_assert_int_eq(nn_interrupted, 0);                 /* reported, hence cleared */
  nn_interrupted = 1;
  ck_assert_int_eq(la_svdvals(4, 4, A, s), NN_EINTR);
  nn_interrupted = 1;
  ck_assert_int_eq(la_rank(4, 4, A, 0.0, &r), NN_EINTR);
  nn_interrupted = 1;
  ck_assert_int_eq(la_det(4, A, &d), NN_EINTR);
  nn_interrupted = 1;
  ck_assert_int_eq(la_inv(4, A, P), NN_EINTR);
  ck_assert_int_eq(nn_interrupted, 0);
  /* and afterwards everything works again */
  ck_assert_int_eq(la_pinv(4, 4, A, P, 0.0), NN_OK);
}
END_TEST

/* ---- eigh ------------------------------------------------------------------ */

/* [[2,1],[1,2]]: eigenvalues 1 and 3, eigenvectors (1,-1)/√2 and (1,1)/√2
** (up to sign); a non-symmetric matrix is refused naming the entry. */
START_TEST(test_eigh) {
  const double A[4] = {2, 1, 1, 2}, N[4] = {1, 2, 3, 4};
  const double T[9] = {2, -1, 0, -1, 2, -1, 0, -1, 2};
  double w[3], V[9];
  ck_assert_int_eq(la_eigh(2, A, w, V), NN_OK);
  ck_assert_double_eq_tol(w[0], 1.0, 1e-15);
  ck_assert_double_eq_tol(w[1], 3.0, 1e-15);
  ck_assert_double_eq_tol(fabs(V[0 * 2 + 0]), sqrt(0.5), 1e-15);
  ck_assert_double_eq_tol(V[0 * 2 + 0] + V[1 * 2 + 0], 0.0, 1e-15);   /* (1,-1) direction */
  ck_assert_double_eq_tol(V[0 * 2 + 1] - V[1 * 2 + 1], 0.0, 1e-15);   /* (1,1) direction */
  ck_assert_int_eq(la_eigh(3, T, w, V), NN_OK);   /* 2 - 2cos(kπ/4) */
  ck_assert_double_eq_tol(w[0], 2 - sqrt(2.0), 1e-15);
  ck_assert_double_eq_tol(w[1], 2.0, 1e-15);
  ck_assert_double_eq_tol(w[2], 2 + sqrt(2.0), 1e-15);
  ck_assert_int_eq(la_eigh(2, N, w, V), NN_EARG);
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "symmetric"));
  ck_assert_int_eq(la_eigh(0, A, w, V), NN_OK);
}
END_TEST

Suite *linalg_suite(void) {
  Suite *s = suite_create("linalg");
  TCase *tc;

  tc = tcase_create("det");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_det_small);
  tcase_add_test(tc, test_det_row_swap_sign);
  tcase_add_test(tc, test_det_singular_is_zero);
  tcase_add_test(tc, test_det_scale);
  tcase_add_test(tc, test_det_random_matches_product);
  suite_add_tcase(s, tc);

  tc = tcase_create("inv_solve");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_inv_2x2);
  tcase_add_test(tc, test_inv_random_6x6);
  tcase_add_test(tc, test_inv_needs_pivoting);
  tcase_add_test(tc, test_inv_tiny_scale_not_singular);
  tcase_add_test(tc, test_inv_singular);
  tcase_add_test(tc, test_inv_ill_conditioned);
  tcase_add_test(tc, test_solve_multiple_rhs);
  tcase_add_test(tc, test_solve_aliased);
  tcase_add_test(tc, test_solve_swap_2x2);
  tcase_add_test(tc, test_solve_singular);
  suite_add_tcase(s, tc);

  tc = tcase_create("pinv");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_pinv_rank1);
  tcase_add_test(tc, test_pinv_tall_full_rank);
  tcase_add_test(tc, test_pinv_wide_min_norm);
  tcase_add_test(tc, test_pinv_wide_random_min_norm);
  tcase_add_test(tc, test_pinv_moore_penrose_rank_deficient);
  tcase_add_test(tc, test_pinv_larger_random);
  tcase_add_test(tc, test_pinv_threshold);
  tcase_add_test(tc, test_pinv_extreme_scale);
  suite_add_tcase(s, tc);

  tc = tcase_create("svd_rank");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_svdvals_diagonal);
  tcase_add_test(tc, test_svdvals_2x2);
  tcase_add_test(tc, test_svdvals_random_invariants);
  tcase_add_test(tc, test_rank);
  suite_add_tcase(s, tc);

  tc = tcase_create("edge");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, test_zero_size);
  tcase_add_test(tc, test_eigh);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_interrupt);
  suite_add_tcase(s, tc);

  return s;
}
