/*
** check_gemm.c — gemm_own() and gemm() against the triple loop gemm_ref().
**
** Every comparison runs through three doors (a loop test's _i): gemm_own,
** gemm as built (CBLAS when HAVE_CBLAS) and gemm with gemm_force_own(1).
** Shapes cover 0, 1, primes and the sizes on both sides of the kernel's
** tile and cache-block edges; leading dimensions are padded and matrices
** start at odd offsets so that no alignment is assumed.  Elements are
** compared with one assertion per product (Check's per-assertion
** bookkeeping is too slow for per-element asserts).
*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "gemm.h"
#include "status.h"


/*
** {======================================================
** Helpers
** =======================================================
*/

typedef int (*gemm_fn)(int, int, int64_t, int64_t, int64_t, double,
                       const double *, int64_t, const double *, int64_t,
                       double, double *, int64_t);

static int gemm_forced(int transA, int transB, int64_t M, int64_t N,
                       int64_t K, double alpha, const double *A, int64_t lda,
                       const double *B, int64_t ldb, double beta, double *C,
                       int64_t ldc) {
  int st;
  gemm_force_own(1);
  st = gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_force_own(0);
  return st;
}

static const gemm_fn impls[] = {gemm_own, gemm, gemm_forced};
static const char *const impl_names[] = {"gemm_own", "gemm", "gemm(forced own)"};
#define NIMPLS 3

/* Deterministic data (xorshift64*), uniform in [-1, 1). */
static uint64_t rng_state;

static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }

static double rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-52 - 1.0;
}

/* A rows x ld array (at least one element) of random values. */
static double *rand_mat(int64_t rows, int64_t ld) {
  int64_t n = rows * ld > 0 ? rows * ld : 1, i;
  double *x = malloc((size_t)n * sizeof(double));
  ck_assert_ptr_nonnull(x);
  for (i = 0; i < n; i++) x[i] = rng_next();
  return x;
}

/* Largest error of got against want over an M x N block with row stride
** ld, as a multiple of the allowed error 1e-12 * (K + 1) * (1 + |want|)
** (so the product passes when the result is <= 1).  The padding between
** N and ld must be bit-identical to want's (both started as copies), which
** catches edge tiles that write past the matrix.  NaN scores infinity. */
static double err_score(const double *got, const double *want, int64_t M,
                        int64_t N, int64_t ld, int64_t K) {
  double worst = 0.0;
  int64_t i, j;
  for (i = 0; i < M; i++) {
    for (j = 0; j < ld; j++) {
      double g = got[i * ld + j], w = want[i * ld + j], e;
      if (j >= N) {   /* padding: untouched */
        if (memcmp(&g, &w, sizeof g) != 0) return INFINITY;
        continue;
      }
      if (isnan(g) || isnan(w)) return INFINITY;
      e = fabs(g - w) / (1e-12 * (double)(K + 1) * (1.0 + fabs(w)));
      if (e > worst) worst = e;
    }
  }
  return worst;
}

/* Run impl and gemm_ref on the same random problem and compare.  pad is
** added to every leading dimension; offsets of 1 element misalign all
** three matrices.  cnan fills C with NaN first (meaningful with beta 0). */
static void check_case(int impl, int transA, int transB, int64_t M, int64_t N,
                       int64_t K, double alpha, double beta, int64_t pad,
                       int cnan) {
  int64_t arows = transA ? K : M, acols = transA ? M : K;
  int64_t brows = transB ? N : K, bcols = transB ? K : N;
  int64_t lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
  double *A = rand_mat(arows + 1, lda), *B = rand_mat(brows + 1, ldb);
  double *C = rand_mat(M + 1, ldc), *R;
  int64_t csize = (M + 1) * ldc > 0 ? (M + 1) * ldc : 1;   /* as rand_mat */
  double score;
  int st;
  if (cnan) {
    int64_t i;
    for (i = 0; i < csize; i++) C[i] = NAN;
  }
  R = malloc((size_t)csize * sizeof(double));
  ck_assert_ptr_nonnull(R);
  memcpy(R, C, (size_t)csize * sizeof(double));
  gemm_ref(transA, transB, M, N, K, alpha, A + 1, lda, B + 1, ldb, beta,
           R + 1, ldc);
  st = impls[impl](transA, transB, M, N, K, alpha, A + 1, lda, B + 1, ldb,
                   beta, C + 1, ldc);
  ck_assert_msg(st == NN_OK, "%s returned %d (%s)", impl_names[impl], st,
                nn_errmsg());
  /* compare the whole buffer from C + 1: the rows' padding included */
  score = err_score(C + 1, R + 1, M, N, ldc, K);
  ck_assert_msg(score <= 1.0,
                "%s: trans %d%d M=%lld N=%lld K=%lld alpha=%g beta=%g pad=%lld "
                "nanC=%d: error %g x tolerance", impl_names[impl], transA,
                transB, (long long)M, (long long)N, (long long)K, alpha, beta,
                (long long)pad, cnan, score);
  /* the element before C and the rest of the row past M are not ours */
  ck_assert(memcmp(C, R, sizeof(double)) == 0);
  if (ldc > 1)
    ck_assert(memcmp(C + 1 + M * ldc, R + 1 + M * ldc,
                     (size_t)(ldc - 1) * sizeof(double)) == 0);
  free(A);
  free(B);
  free(C);
  free(R);
}

/* }====================================================== */


/*
** {======================================================
** Hand-worked examples
** =======================================================
*/

START_TEST(test_2x2_by_hand) {
  /* [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50];
  ** 2 * that - [1 1; 1 1] = [37 43; 85 99] */
  static const double A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
  double C[4] = {1, 1, 1, 1};
  ck_assert_int_eq(impls[_i](0, 0, 2, 2, 2, 2.0, A, 2, B, 2, -1.0, C, 2), NN_OK);
  ck_assert_double_eq(C[0], 37);
  ck_assert_double_eq(C[1], 43);
  ck_assert_double_eq(C[2], 85);
  ck_assert_double_eq(C[3], 99);
  /* A^T B = [1 3; 2 4] [5 6; 7 8] = [26 30; 38 44] */
  ck_assert_int_eq(impls[_i](1, 0, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2), NN_OK);
  ck_assert_double_eq(C[0], 26);
  ck_assert_double_eq(C[1], 30);
  ck_assert_double_eq(C[2], 38);
  ck_assert_double_eq(C[3], 44);
  /* A B^T = [1 2; 3 4] [5 7; 6 8] = [17 23; 39 53] */
  ck_assert_int_eq(impls[_i](0, 1, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2), NN_OK);
  ck_assert_double_eq(C[0], 17);
  ck_assert_double_eq(C[1], 23);
  ck_assert_double_eq(C[2], 39);
  ck_assert_double_eq(C[3], 53);
  /* A^T B^T = (B A)^T; B A = [23 34; 31 46] */
  ck_assert_int_eq(impls[_i](1, 1, 2, 2, 2, 1.0, A, 2, B, 2, 0.0, C, 2), NN_OK);
  ck_assert_double_eq(C[0], 23);
  ck_assert_double_eq(C[1], 31);
  ck_assert_double_eq(C[2], 34);
  ck_assert_double_eq(C[3], 46);
}
END_TEST

START_TEST(test_2x3_by_hand) {
  /* the homework shape: (2x3) (3x2) = [1 2 3; 4 5 6] [7 8; 9 10; 11 12]
  ** = [58 64; 139 154] */
  static const double A[] = {1, 2, 3, 4, 5, 6}, B[] = {7, 8, 9, 10, 11, 12};
  double C[4];
  ck_assert_int_eq(impls[_i](0, 0, 2, 2, 3, 1.0, A, 3, B, 2, 0.0, C, 2), NN_OK);
  ck_assert_double_eq(C[0], 58);
  ck_assert_double_eq(C[1], 64);
  ck_assert_double_eq(C[2], 139);
  ck_assert_double_eq(C[3], 154);
}
END_TEST

/* }====================================================== */


/*
** {======================================================
** Sweeps against the reference
** =======================================================
*/

/* Every (M, N, K) from a set of small sizes that straddle the tile edges
** (MR and NR are at most 24 for any vector width), all four transposes. */
START_TEST(test_small_shapes) {
  static const int64_t d[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 25};
  static const int64_t k[] = {0, 1, 2, 7, 16, 17};
  const int nd = (int)(sizeof d / sizeof d[0]), nk = (int)(sizeof k / sizeof k[0]);
  int a, b, c, t;
  rng_seed(1);
  for (t = 0; t < 4; t++)
    for (a = 0; a < nd; a++)
      for (b = 0; b < nd; b++)
        for (c = 0; c < nk; c++)
          check_case(_i, t & 1, t >> 1, d[a], d[b], k[c], 1.0, 0.0, 0, 0);
}
END_TEST

/* Larger, non-square and prime shapes on both sides of the cache blocks
** (MC = 96, KC = 256, NC = 384 on every target), with padded leading
** dimensions and a general alpha and beta. */
START_TEST(test_block_edges) {
  static const int64_t shapes[][3] = {
    {95, 383, 255}, {96, 384, 256}, {97, 385, 257},
    {193, 31, 513}, {1, 769, 300}, {300, 1, 300}, {101, 103, 107},
    {7, 11, 600}, {200, 200, 1}, {23, 770, 2}, {64, 64, 64},
  };
  const int ns = (int)(sizeof shapes / sizeof shapes[0]);
  int s, t;
  rng_seed(2);
  for (s = 0; s < ns; s++)
    for (t = 0; t < 4; t++)
      check_case(_i, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                 -0.75, 0.5, 3, 0);
}
END_TEST

/* The alpha/beta special cases, each through every transpose. */
START_TEST(test_alpha_beta) {
  static const double ab[][2] = {
    {1, 0}, {1, 1}, {2, 0}, {-0.5, 2}, {1, -1}, {0, 0.5}, {0, 0}, {0, 1},
  };
  const int nab = (int)(sizeof ab / sizeof ab[0]);
  int k, t;
  rng_seed(3);
  for (k = 0; k < nab; k++)
    for (t = 0; t < 4; t++) {
      check_case(_i, t & 1, t >> 1, 37, 29, 41, ab[k][0], ab[k][1], 2, 0);
      check_case(_i, t & 1, t >> 1, 3, 2, 4, ab[k][0], ab[k][1], 1, 0);
      check_case(_i, t & 1, t >> 1, 130, 70, 300, ab[k][0], ab[k][1], 0, 0);
      /* few rows of C, long rows of op(B): gemm's direct axpy form */
      check_case(_i, t & 1, t >> 1, 1, 20, 1, ab[k][0], ab[k][1], 1, 0);
      check_case(_i, t & 1, t >> 1, 3, 50, 7, ab[k][0], ab[k][1], 0, 0);
      check_case(_i, t & 1, t >> 1, 60, 1, 50, ab[k][0], ab[k][1], 0, 0);
    }
}
END_TEST

/* beta == 0 writes C without reading it: NaN in C must not leak through,
** on the direct, BLAS and blocked paths alike (and with alpha == 0 or
** K == 0, where the product is skipped). */
START_TEST(test_beta0_nan) {
  static const int64_t shapes[][3] = {
    {2, 3, 2}, {17, 25, 9}, {97, 385, 257}, {5, 5, 0}, {40, 33, 70},
  };
  const int ns = (int)(sizeof shapes / sizeof shapes[0]);
  int s, t;
  rng_seed(4);
  for (s = 0; s < ns; s++)
    for (t = 0; t < 4; t++) {
      check_case(_i, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                 1.0, 0.0, 1, 1);
      check_case(_i, t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                 0.0, 0.0, 1, 1);
    }
}
END_TEST

/* alpha == 0 does not read A or B (BLAS semantics): NaN there stays out. */
START_TEST(test_alpha0_ignores_ab) {
  double A[6 * 7], B[7 * 5], C[6 * 5];
  int i;
  for (i = 0; i < 6 * 7; i++) A[i] = NAN;
  for (i = 0; i < 7 * 5; i++) B[i] = NAN;
  for (i = 0; i < 6 * 5; i++) C[i] = i;
  ck_assert_int_eq(impls[_i](0, 0, 6, 5, 7, 0.0, A, 7, B, 5, 2.0, C, 5), NN_OK);
  for (i = 0; i < 6 * 5; i++) ck_assert_double_eq(C[i], 2.0 * i);
}
END_TEST

/* Degenerate sizes touch nothing (M or N zero) or only scale C (K zero),
** even with null or tiny leading dimensions. */
START_TEST(test_empty) {
  double C[6] = {1, 2, 3, 4, 5, 6};
  int i;
  ck_assert_int_eq(impls[_i](0, 0, 0, 3, 4, 1.0, NULL, 4, NULL, 3, 0.0, C, 3), NN_OK);
  ck_assert_int_eq(impls[_i](0, 0, 2, 0, 4, 1.0, NULL, 4, NULL, 0, 0.0, C, 3), NN_OK);
  for (i = 0; i < 6; i++) ck_assert_double_eq(C[i], i + 1);
  ck_assert_int_eq(impls[_i](0, 0, 2, 3, 0, 1.0, NULL, 0, NULL, 3, 3.0, C, 3), NN_OK);
  for (i = 0; i < 6; i++) ck_assert_double_eq(C[i], 3.0 * (i + 1));
}
END_TEST

/* Read-only operands may use leading dimensions shorter than a row: A
** with lda 1 is a Hankel matrix, B with ldb 0 repeats one row.  CBLAS
** rejects these, so gemm() must route them to its own kernel. */
START_TEST(test_short_ld) {
  const int64_t M = 40, N = 50, K = 30;
  double *A, *B, *C, *R = malloc((size_t)(M * N) * sizeof(double));
  int t;
  ck_assert_ptr_nonnull(R);
  rng_seed(6);
  A = rand_mat(M + K, 1);
  B = rand_mat(1, N);
  C = rand_mat(M, N);
  for (t = 0; t < 2; t++) {   /* op(A) = A or A^T: the same Hankel matrix */
    memcpy(R, C, (size_t)(M * N) * sizeof(double));
    gemm_ref(t, 0, M, N, K, 1.5, A, 1, B, 0, 0.5, R, N);
    ck_assert_int_eq(impls[_i](t, 0, M, N, K, 1.5, A, 1, B, 0, 0.5, C, N), NN_OK);
    ck_assert(err_score(C, R, M, N, N, K) <= 1.0);
  }
  free(A);
  free(B);
  free(C);
  free(R);
}
END_TEST

START_TEST(test_negative_size) {
  double C[1] = {0};
  ck_assert_int_eq(impls[_i](0, 0, -1, 1, 1, 1.0, C, 1, C, 1, 0.0, C, 1), NN_EARG);
  ck_assert_int_eq(nn_errcode(), NN_EARG);
  ck_assert_int_eq(impls[_i](0, 0, 1, 1, -2, 1.0, C, 1, C, 1, 0.0, C, 1), NN_EARG);
}
END_TEST

/* }====================================================== */


/*
** {======================================================
** Interrupts and backend selection
** =======================================================
*/

/* A raised flag stops a large product with NN_EINTR and is cleared; the
** next call runs normally. */
START_TEST(test_interrupt) {
  const int64_t n = 200;
  double *A, *B, *C, *R;
  rng_seed(5);
  A = rand_mat(n, n);
  B = rand_mat(n, n);
  C = rand_mat(n, n);
  R = rand_mat(n, n);
  nn_interrupted = 1;
  ck_assert_int_eq(impls[_i](0, 0, n, n, n, 1.0, A, n, B, n, 0.0, C, n), NN_EINTR);
  ck_assert_int_eq(nn_interrupted, 0);
  ck_assert_int_eq(nn_errcode(), NN_EINTR);
  ck_assert_int_eq(impls[_i](0, 0, n, n, n, 1.0, A, n, B, n, 0.0, C, n), NN_OK);
  gemm_ref(0, 0, n, n, n, 1.0, A, n, B, n, 0.0, R, n);
  ck_assert(err_score(C, R, n, n, n, n) <= 1.0);
  free(A);
  free(B);
  free(C);
  free(R);
}
END_TEST

START_TEST(test_backend) {
  const char *b = gemm_backend();
  if (gemm_have_blas())
    ck_assert(strcmp(b, "openblas") == 0 || strcmp(b, "cblas") == 0);
  else
    ck_assert_str_eq(b, "own");
  gemm_force_own(1);
  ck_assert_str_eq(gemm_backend(), "own");
  gemm_force_own(0);
  ck_assert_str_eq(gemm_backend(), b);
}
END_TEST

/* }====================================================== */


Suite *gemm_suite(void) {
  Suite *s = suite_create("gemm");
  TCase *tc = tcase_create("by hand");
  tcase_add_loop_test(tc, test_2x2_by_hand, 0, NIMPLS);
  tcase_add_loop_test(tc, test_2x3_by_hand, 0, NIMPLS);
  tcase_add_loop_test(tc, test_alpha0_ignores_ab, 0, NIMPLS);
  tcase_add_loop_test(tc, test_empty, 0, NIMPLS);
  tcase_add_loop_test(tc, test_short_ld, 0, NIMPLS);
  tcase_add_loop_test(tc, test_negative_size, 0, NIMPLS);
  suite_add_tcase(s, tc);

  tc = tcase_create("vs reference");
  /* the sweeps take a few seconds under sanitizers: give them room */
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_small_shapes, 0, NIMPLS);
  tcase_add_loop_test(tc, test_block_edges, 0, NIMPLS);
  tcase_add_loop_test(tc, test_alpha_beta, 0, NIMPLS);
  tcase_add_loop_test(tc, test_beta0_nan, 0, NIMPLS);
  suite_add_tcase(s, tc);

  tc = tcase_create("control");
  tcase_add_loop_test(tc, test_interrupt, 0, NIMPLS);
  tcase_add_test(tc, test_backend);
  suite_add_tcase(s, tc);
  return s;
}
