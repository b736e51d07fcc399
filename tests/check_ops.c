/*
** check_ops.c — the tensor kernels of ops.h: creation and the random
** generator, elementwise maths with broadcasting, reductions and softmax,
** products, and the linear-algebra wrappers.  Expected values are worked by
** hand (or are the correctly rounded value of a closed form, noted beside
** it); exact where the arithmetic is exact, else within 1e-12.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_fixture.h"
#include "check_suites.h"
#include "ops.h"

#define TOL 1e-12

/* ---- helpers ------------------------------------------------------------ */

static Tensor *vec(int64_t n, const double *v) { return mk(1, &n, v); }

static Tensor *mat(int64_t r, int64_t c, const double *v) {
  int64_t s[2];
  s[0] = r;
  s[1] = c;
  return mk(2, s, v);
}

static int close_to(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  if (tol == 0) return got == want;
  return fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

/* Shape, and values in row-major order: exact when tol is 0 (NaN matches
** NaN, inf matches the same inf), else within tol (relative above 1). */
static void expect_vals(const Tensor *t, int ndim, const int64_t *size,
                        const double *v, double tol) {
  int64_t i, n;
  expect_shape(t, ndim, size);
  n = tensor_numel(t);
  for (i = 0; i < n; i++) {
    double got = tensor_get_flat(t, i);
    ck_assert_msg(close_to(got, v[i], tol), "element %lld: got %.17g, want %.17g",
                  (long long)i, got, v[i]);
  }
}

static void expect_vec(const Tensor *t, int64_t n, const double *v, double tol) {
  expect_vals(t, 1, &n, v, tol);
}

static void expect_mat(const Tensor *t, int64_t r, int64_t c, const double *v, double tol) {
  int64_t s[2];
  s[0] = r;
  s[1] = c;
  expect_vals(t, 2, s, v, tol);
}

/* ---- creation ----------------------------------------------------------- */

START_TEST(full_and_eye) {
  int64_t s[2] = {2, 2};
  double wf[4] = {1.5, 1.5, 1.5, 1.5};
  double w3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, w23[6] = {1, 0, 0, 0, 1, 0};
  double w32[6] = {1, 0, 0, 1, 0, 0};
  Tensor *f = op_full(2, s, 1.5), *e = op_eye(3, 3), *r = op_eye(2, 3), *c = op_eye(3, 2);
  expect_vals(f, 2, s, wf, 0);
  expect_mat(e, 3, 3, w3, 0);
  expect_mat(r, 2, 3, w23, 0);
  expect_mat(c, 3, 2, w32, 0);
  ck_assert_ptr_null(op_eye(-1, 2));
  expect_error(NN_EARG, NULL);
  tensor_release(c);
  tensor_release(r);
  tensor_release(e);
  tensor_release(f);
}
END_TEST

START_TEST(arange_includes_stop) {
  double w[5] = {1, 2, 3, 4, 5}, wd[3] = {5, 3, 1}, wz[1] = {0};
  Tensor *a = op_arange(1, 5, 1), *b = op_arange(0, 1, 0.1), *d = op_arange(5, 1, -2);
  Tensor *z = op_arange(0, 0, 1), *e = op_arange(1, 0, 1);
  int64_t i;
  expect_vec(a, 5, w, 0);
  ck_assert_int_eq(b->ndim, 1);
  ck_assert_int_eq(b->size[0], 11);
  for (i = 0; i <= 10; i++)
    ck_assert_double_eq_tol(tensor_get_flat(b, i), (double)i / 10, TOL);
  ck_assert(tensor_get_flat(b, 0) == 0.0);
  expect_vec(d, 3, wd, 0);
  expect_vec(z, 1, wz, 0);
  ck_assert_int_eq(e->ndim, 1);
  ck_assert_int_eq(e->size[0], 0);
  ck_assert_ptr_null(op_arange(0, 1, 0));
  expect_error(NN_EARG, "step");
  ck_assert_ptr_null(op_arange(0, NAN, 1));
  expect_error(NN_EARG, NULL);
  tensor_release(e);
  tensor_release(z);
  tensor_release(d);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

START_TEST(arange_over_cap) {
  int64_t old = nn_max_elements();
  nn_set_max_elements(1000);
  ck_assert_ptr_null(op_arange(1, 1001, 1));
  expect_error(NN_ELIMIT, NULL);
  ck_assert_ptr_null(op_arange(0, 1e300, 1e-300));
  expect_error(NN_ELIMIT, NULL);
  nn_set_max_elements(old);
}
END_TEST

START_TEST(linspace_end_points_exact) {
  double w[5] = {0, 0.25, 0.5, 0.75, 1}, w1[1] = {3};
  Tensor *a = op_linspace(0, 1, 5), *b = op_linspace(0.1, 0.7, 7), *c = op_linspace(3, 7, 1);
  Tensor *d = op_linspace(-1, 1, 0);
  int64_t i;
  expect_vec(a, 5, w, 0);
  ck_assert_int_eq(b->size[0], 7);
  ck_assert(tensor_get_flat(b, 0) == 0.1);
  ck_assert(tensor_get_flat(b, 6) == 0.7);
  for (i = 0; i < 7; i++)
    ck_assert_double_eq_tol(tensor_get_flat(b, i), 0.1 * (double)(i + 1), TOL);
  expect_vec(c, 1, w1, 0);
  ck_assert_int_eq(d->ndim, 1);
  ck_assert_int_eq(d->size[0], 0);
  ck_assert_ptr_null(op_linspace(0, 1, -1));
  expect_error(NN_EARG, NULL);
  ck_assert_ptr_null(op_linspace(0, INFINITY, 3));
  expect_error(NN_EARG, NULL);
  tensor_release(d);
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

START_TEST(rng_known_answers) {
  /* xoshiro256** seeded by splitmix64, from the reference algorithms */
  rng_seed(0);
  ck_assert(rng_uniform() == 0.6012629994179048);
  ck_assert(rng_uniform() == 0.7477740925472398);
  ck_assert(rng_uniform() == 0.10301998939503632);
  rng_seed(42);
  ck_assert(rng_uniform() == 0.08386297105988216);
  ck_assert(rng_uniform() == 0.3789802506626686);
  ck_assert(rng_uniform() == 0.6800434110281394);
}
END_TEST

START_TEST(rand_same_seed_same_numbers) {
  int64_t s[2] = {10, 10}, i;
  Tensor *a, *b, *c;
  rng_seed(1234);
  a = op_rand(2, s);
  rng_seed(1234);
  b = op_rand(2, s);
  rng_seed(1235);
  c = op_rand(2, s);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(memcmp(a->storage->data, b->storage->data, 100 * sizeof(double)), 0);
  ck_assert_int_ne(memcmp(a->storage->data, c->storage->data, 100 * sizeof(double)), 0);
  for (i = 0; i < 100; i++) {
    double v = a->storage->data[i];
    ck_assert(v >= 0.0 && v < 1.0);
  }
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

START_TEST(rand_stays_in_unit_interval) {
  int64_t n = 10000, i;
  double sum = 0;
  Tensor *a;
  rng_seed(99);
  a = op_rand(1, &n);
  ck_assert_ptr_nonnull(a);
  for (i = 0; i < n; i++) {
    double v = a->storage->data[i];
    ck_assert(v >= 0.0 && v < 1.0);
    sum += v;
  }
  ck_assert_double_eq_tol(sum / (double)n, 0.5, 0.015);   /* sd 0.0029 */
  tensor_release(a);
}
END_TEST

START_TEST(randn_same_seed_same_numbers) {
  /* an odd count leaves a Box-Muller spare behind: reseeding must drop it */
  int64_t n = 3;
  Tensor *a, *b;
  rng_seed(7);
  a = op_randn(1, &n);
  rng_seed(7);
  b = op_randn(1, &n);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_int_eq(memcmp(a->storage->data, b->storage->data, 3 * sizeof(double)), 0);
  ck_assert(a->storage->data[0] != a->storage->data[1]);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

START_TEST(randn_moments) {
  int64_t n = 10000, i;
  double sum = 0, sq = 0, mean, var;
  Tensor *a;
  rng_seed(2024);
  a = op_randn(1, &n);
  ck_assert_ptr_nonnull(a);
  for (i = 0; i < n; i++) {
    ck_assert(isfinite(a->storage->data[i]));
    sum += a->storage->data[i];
  }
  mean = sum / (double)n;
  for (i = 0; i < n; i++) sq += (a->storage->data[i] - mean) * (a->storage->data[i] - mean);
  var = sq / (double)(n - 1);
  ck_assert_double_eq_tol(mean, 0.0, 0.05);   /* sd of the mean 0.01 */
  ck_assert_double_eq_tol(var, 1.0, 0.07);    /* sd of the variance 0.014 */
  tensor_release(a);
}
END_TEST

/* ---- unary -------------------------------------------------------------- */

/* op_unary on x[0..n-1] equals want[] (tol as in expect_vals), and
** op_unary_apply agrees element by element. */
static void check_unary(UnaryOp op, int64_t n, const double *x, const double *want, double tol) {
  Tensor *t = vec(n, x), *r = op_unary(op, t);
  int64_t i;
  expect_vec(r, n, want, tol);
  for (i = 0; i < n; i++)
    ck_assert_msg(close_to(op_unary_apply(op, x[i]), want[i], tol), "%s(%g)",
                  op_unary_name[op], x[i]);
  tensor_release(r);
  tensor_release(t);
}

START_TEST(unary_neg_abs_sign_relu) {
  double x[5] = {-2, -0.5, 0, 0.5, 3};
  double neg[5] = {2, 0.5, 0, -0.5, -3}, ab[5] = {2, 0.5, 0, 0.5, 3};
  double xs[5] = {-3, 0, 2.5, NAN, -0.0}, sg[5] = {-1, 0, 1, NAN, 0};
  double xr[5] = {-1, 0, 2, NAN, -1e-300}, rl[5] = {0, 0, 2, NAN, 0};
  check_unary(OP_NEG, 5, x, neg, 0);
  check_unary(OP_ABS, 5, x, ab, 0);
  check_unary(OP_SIGN, 5, xs, sg, 0);
  check_unary(OP_RELU, 5, xr, rl, 0);
}
END_TEST

START_TEST(unary_exp_log_sqrt) {
  double x[4] = {0, 1, -1, 2};
  double ex[4] = {1, 2.718281828459045, 0.36787944117144233, 7.38905609893065};
  double xl[5] = {1, 2.718281828459045, 0.5, 0, -1};
  double lg[5] = {0, 1, -0.6931471805599453, -INFINITY, NAN};
  double xq[5] = {0, 4, 2.25, 2, -1}, sq[5] = {0, 2, 1.5, 1.4142135623730951, NAN};
  check_unary(OP_EXP, 4, x, ex, TOL);
  check_unary(OP_LOG, 5, xl, lg, TOL);
  check_unary(OP_SQRT, 5, xq, sq, 0);   /* sqrt is correctly rounded */
}
END_TEST

START_TEST(unary_tanh_sigmoid_softplus) {
  double xt[4] = {0, 1, -1, 20}, th[4] = {0, 0.7615941559557649, -0.7615941559557649, 1};
  /* sigmoid(2) = 1/(1+e^-2); at +-800 exp overflows unless handled */
  double xs[5] = {0, 2, -2, 800, -800};
  double sg[5] = {0.5, 0.8807970779778823, 0.11920292202211755, 1, 0};
  /* softplus(1) = log(1+e), softplus(-1) = log(1+1/e) */
  double xp[5] = {0, 1, -1, 800, -800};
  double sp[5] = {0.6931471805599453, 1.3132616875182228, 0.31326168751822286, 800, 0};
  check_unary(OP_TANH, 4, xt, th, TOL);
  check_unary(OP_SIGMOID, 5, xs, sg, TOL);
  check_unary(OP_SOFTPLUS, 5, xp, sp, TOL);
  /* exactly, not just within tolerance: no NaN, no inf */
  ck_assert(op_unary_apply(OP_SIGMOID, 800) == 1.0);
  ck_assert(op_unary_apply(OP_SIGMOID, -800) == 0.0);
  ck_assert(op_unary_apply(OP_SOFTPLUS, 800) == 800.0);
  ck_assert(op_unary_apply(OP_SOFTPLUS, -800) == 0.0);
  ck_assert(op_unary_apply(OP_RELU, 0.0) == 0.0);
  ck_assert(op_unary_apply(OP_SIGN, 0.0) == 0.0);
}
END_TEST

START_TEST(unary_on_transposed_view) {
  double a[6] = {1, -2, 3, -4, 5, -6}, w[6] = {1, 4, 2, 5, 3, 6};
  Tensor *m = mat(2, 3, a), *t = tensor_t(m), *r = op_unary(OP_ABS, t);
  int64_t st[2] = {2, 1};
  expect_mat(r, 3, 2, w, 0);
  ck_assert(tensor_is_contiguous(r));
  ck_assert_int_eq(r->stride[0], st[0]);
  ck_assert_int_eq(r->stride[1], st[1]);
  ck_assert_ptr_ne(r->storage, m->storage);
  tensor_release(r);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

/* ---- binary ------------------------------------------------------------- */

static void check_binary(BinaryOp op, const double *want, double tol) {
  double a[5] = {6, -2, 3, 2, 1}, b[5] = {3, 4, 3, 0.5, -1};
  Tensor *ta = vec(5, a), *tb = vec(5, b), *r = op_binary(op, ta, tb);
  int64_t i;
  expect_vec(r, 5, want, tol);
  for (i = 0; i < 5; i++)
    ck_assert_msg(close_to(op_binary_apply(op, a[i], b[i]), want[i], tol), "%s(%g, %g)",
                  op_binary_name[op], a[i], b[i]);
  tensor_release(r);
  tensor_release(tb);
  tensor_release(ta);
}

START_TEST(binary_arithmetic) {
  double add[5] = {9, 2, 6, 2.5, 0}, sub[5] = {3, -6, 0, 1.5, 2};
  double mul[5] = {18, -8, 9, 1, -1}, dv[5] = {2, -0.5, 1, 4, -1};
  double pw[5] = {216, 16, 27, 1.4142135623730951, 1};
  check_binary(OP_ADD, add, 0);
  check_binary(OP_SUB, sub, 0);
  check_binary(OP_MUL, mul, 0);
  check_binary(OP_DIV, dv, 0);
  check_binary(OP_POW, pw, TOL);
}
END_TEST

START_TEST(binary_comparisons) {
  /* a = {6,-2,3,2,1}, b = {3,4,3,0.5,-1} */
  double eq[5] = {0, 0, 1, 0, 0}, ne[5] = {1, 1, 0, 1, 1};
  double lt[5] = {0, 1, 0, 0, 0}, le[5] = {0, 1, 1, 0, 0};
  double gt[5] = {1, 0, 0, 1, 1}, ge[5] = {1, 0, 1, 1, 1};
  check_binary(OP_EQ, eq, 0);
  check_binary(OP_NE, ne, 0);
  check_binary(OP_LT, lt, 0);
  check_binary(OP_LE, le, 0);
  check_binary(OP_GT, gt, 0);
  check_binary(OP_GE, ge, 0);
}
END_TEST

START_TEST(binary_maximum_minimum) {
  double mx[5] = {6, 4, 3, 2, 1}, mn[5] = {3, -2, 3, 0.5, -1};
  check_binary(OP_MAXIMUM, mx, 0);
  check_binary(OP_MINIMUM, mn, 0);
  /* NaN propagates from either side */
  ck_assert(isnan(op_binary_apply(OP_MAXIMUM, NAN, 1)));
  ck_assert(isnan(op_binary_apply(OP_MAXIMUM, 1, NAN)));
  ck_assert(isnan(op_binary_apply(OP_MINIMUM, NAN, 1)));
  ck_assert(isnan(op_binary_apply(OP_MINIMUM, 1, NAN)));
  /* and the comparisons with NaN are false (ne true) */
  ck_assert(op_binary_apply(OP_EQ, NAN, NAN) == 0);
  ck_assert(op_binary_apply(OP_NE, NAN, NAN) == 1);
  ck_assert(op_binary_apply(OP_LT, NAN, 1) == 0);
  ck_assert(op_binary_apply(OP_GE, NAN, 1) == 0);
}
END_TEST

START_TEST(broadcast_column_plus_row) {
  double c[3] = {1, 2, 3}, r[4] = {10, 20, 30, 40};
  double w[12] = {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43};
  double ws[12] = {-9, -19, -29, -39, -8, -18, -28, -38, -7, -17, -27, -37};
  Tensor *tc = mat(3, 1, c), *tr = mat(1, 4, r);
  Tensor *sum = op_binary(OP_ADD, tc, tr), *dif = op_binary(OP_SUB, tc, tr);
  int ndim = -1;
  int64_t size[TENSOR_MAXDIM];
  expect_mat(sum, 3, 4, w, 0);
  ck_assert(tensor_is_contiguous(sum));
  expect_mat(dif, 3, 4, ws, 0);
  ck_assert_int_eq(op_broadcast_shape(tc, tr, &ndim, size), NN_OK);
  ck_assert_int_eq(ndim, 2);
  ck_assert_int_eq(size[0], 3);
  ck_assert_int_eq(size[1], 4);
  tensor_release(dif);
  tensor_release(sum);
  tensor_release(tr);
  tensor_release(tc);
}
END_TEST

START_TEST(broadcast_vector_and_matrix) {
  double v[3] = {1, 2, 3}, m[6] = {10, 20, 30, 40, 50, 60};
  double w[6] = {11, 22, 33, 41, 52, 63}, wd[6] = {9, 18, 27, 39, 48, 57};
  double wx[6] = {10, 40, 90, 40, 100, 180};
  Tensor *tv = vec(3, v), *tm = mat(2, 3, m), *s = tensor_scalar(2);
  Tensor *a = op_binary(OP_ADD, tv, tm), *b = op_binary(OP_SUB, tm, tv);
  Tensor *c = op_binary(OP_MUL, tv, tm), *d = op_binary(OP_MUL, s, tm);
  double w2[6] = {20, 40, 60, 80, 100, 120};
  int ndim = -1;
  int64_t size[TENSOR_MAXDIM];
  expect_mat(a, 2, 3, w, 0);
  expect_mat(b, 2, 3, wd, 0);
  expect_mat(c, 2, 3, wx, 0);
  expect_mat(d, 2, 3, w2, 0);
  ck_assert_int_eq(op_broadcast_shape(tv, tm, &ndim, size), NN_OK);
  ck_assert_int_eq(ndim, 2);
  ck_assert_int_eq(size[0], 2);
  ck_assert_int_eq(size[1], 3);
  tensor_release(d);
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
  tensor_release(s);
  tensor_release(tm);
  tensor_release(tv);
}
END_TEST

START_TEST(binary_on_strided_views) {
  /* m^T (3x2, strides 1,3) + a column of m^T broadcast */
  double m[6] = {1, 2, 3, 4, 5, 6};
  double w[6] = {2, 5, 4, 7, 6, 9};
  Tensor *tm = mat(2, 3, m), *t = tensor_t(tm), *r0 = tensor_select(tm, 0, 0);
  Tensor *col = tensor_unsqueeze(r0, 1);   /* {1,2,3} as 3x1 */
  Tensor *r = op_binary(OP_ADD, t, col);
  /* t = [[1,4],[2,5],[3,6]] + [[1],[2],[3]] */
  expect_mat(r, 3, 2, w, 0);
  tensor_release(r);
  tensor_release(col);
  tensor_release(r0);
  tensor_release(t);
  tensor_release(tm);
}
END_TEST

START_TEST(scalar_first_ops) {
  double x[3] = {0.25, 2, -1};
  double one_minus[3] = {0.75, -1, 2}, minus_one[3] = {-0.75, 1, -2};
  double two_over[3] = {8, 1, -2}, over_two[3] = {0.125, 1, -0.5};
  double two_pow[3] = {1.189207115002721, 4, 0.5}, pow_two[3] = {0.0625, 4, 1};
  Tensor *t = vec(3, x);
  Tensor *a = op_binary_scalar(OP_SUB, t, 1, 1), *b = op_binary_scalar(OP_SUB, t, 1, 0);
  Tensor *c = op_binary_scalar(OP_DIV, t, 2, 1), *d = op_binary_scalar(OP_DIV, t, 2, 0);
  Tensor *e = op_binary_scalar(OP_POW, t, 2, 1), *f = op_binary_scalar(OP_POW, t, 2, 0);
  Tensor *g = op_binary_scalar(OP_LT, t, 1, 1);
  double lt[3] = {0, 1, 0};   /* 1 < x */
  expect_vec(a, 3, one_minus, 0);
  expect_vec(b, 3, minus_one, 0);
  expect_vec(c, 3, two_over, 0);
  expect_vec(d, 3, over_two, 0);
  expect_vec(e, 3, two_pow, TOL);   /* 2^0.25 = 1.189207115002721 */
  expect_vec(f, 3, pow_two, 0);
  expect_vec(g, 3, lt, 0);
  tensor_release(g);
  tensor_release(f);
  tensor_release(e);
  tensor_release(d);
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
  tensor_release(t);
}
END_TEST

START_TEST(binary_shape_mismatch) {
  double z[8] = {0};
  Tensor *a = mat(2, 3, z), *b = mat(4, 1, z), *u = vec(3, z), *v = vec(4, z);
  int ndim;
  int64_t size[TENSOR_MAXDIM];
  ck_assert_ptr_null(op_binary(OP_ADD, a, b));
  expect_error(NN_ESHAPE, "2x3");
  expect_error(NN_ESHAPE, "4x1");
  ck_assert_ptr_null(op_binary(OP_MUL, v, a));
  expect_error(NN_ESHAPE, "2x3");
  ck_assert_msg(strstr(nn_errmsg(), "4 and") != NULL, "message: %s", nn_errmsg());
  ck_assert_int_eq(op_broadcast_shape(u, v, &ndim, size), NN_ESHAPE);
  ck_assert_msg(strstr(nn_errmsg(), "3 and 4") != NULL, "message: %s", nn_errmsg());
  tensor_release(v);
  tensor_release(u);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

/* ---- reductions --------------------------------------------------------- */

/* A = [[1,5,3],[4,2,6]] */
static const double A23[6] = {1, 5, 3, 4, 2, 6};

START_TEST(reduce_all_elements) {
  Tensor *a = mat(2, 3, A23);
  double r;
  ck_assert_int_eq(op_reduce_all(OP_SUM, a, &r), NN_OK);
  ck_assert(r == 21);
  ck_assert_int_eq(op_reduce_all(OP_MEAN, a, &r), NN_OK);
  ck_assert(r == 3.5);
  ck_assert_int_eq(op_reduce_all(OP_MAX, a, &r), NN_OK);
  ck_assert(r == 6);
  ck_assert_int_eq(op_reduce_all(OP_MIN, a, &r), NN_OK);
  ck_assert(r == 1);
  ck_assert_int_eq(op_reduce_all(OP_ARGMAX, a, &r), NN_OK);
  ck_assert(r == 5);
  ck_assert_int_eq(op_reduce_all(OP_ARGMIN, a, &r), NN_OK);
  ck_assert(r == 0);
  ck_assert_int_eq(op_reduce_all(OP_PROD, a, &r), NN_OK);
  ck_assert(r == 720);
  tensor_release(a);
}
END_TEST

/* op_reduce along dim without keepdim gives want (length n); with keepdim
** the same values with a size-1 dim in place. */
static void check_reduce(ReduceOp op, const Tensor *a, int dim, const double *want) {
  Tensor *r = op_reduce(op, a, dim, 0), *k = op_reduce(op, a, dim, 1);
  int64_t n = a->size[1 - dim], ks[2];
  ks[0] = dim == 0 ? 1 : n;
  ks[1] = dim == 0 ? n : 1;
  expect_vals(r, 1, &n, want, 0);
  expect_vals(k, 2, ks, want, 0);
  tensor_release(k);
  tensor_release(r);
}

START_TEST(reduce_along_dim0) {
  Tensor *a = mat(2, 3, A23);
  double sum[3] = {5, 7, 9}, mean[3] = {2.5, 3.5, 4.5}, mx[3] = {4, 5, 6};
  double mn[3] = {1, 2, 3}, amx[3] = {1, 0, 1}, amn[3] = {0, 1, 0}, pr[3] = {4, 10, 18};
  check_reduce(OP_SUM, a, 0, sum);
  check_reduce(OP_MEAN, a, 0, mean);
  check_reduce(OP_MAX, a, 0, mx);
  check_reduce(OP_MIN, a, 0, mn);
  check_reduce(OP_ARGMAX, a, 0, amx);
  check_reduce(OP_ARGMIN, a, 0, amn);
  check_reduce(OP_PROD, a, 0, pr);
  tensor_release(a);
}
END_TEST

START_TEST(reduce_along_dim1) {
  Tensor *a = mat(2, 3, A23);
  double sum[2] = {9, 12}, mean[2] = {3, 4}, mx[2] = {5, 6};
  double mn[2] = {1, 2}, amx[2] = {1, 2}, amn[2] = {0, 1}, pr[2] = {15, 48};
  check_reduce(OP_SUM, a, 1, sum);
  check_reduce(OP_MEAN, a, 1, mean);
  check_reduce(OP_MAX, a, 1, mx);
  check_reduce(OP_MIN, a, 1, mn);
  check_reduce(OP_ARGMAX, a, 1, amx);
  check_reduce(OP_ARGMIN, a, 1, amn);
  check_reduce(OP_PROD, a, 1, pr);
  tensor_release(a);
}
END_TEST

START_TEST(reduce_transposed_input) {
  /* B = [[1,9,3],[4,2,6]]; B^T = [[1,4],[9,2],[3,6]], row-major {1,4,9,2,3,6} */
  double b[6] = {1, 9, 3, 4, 2, 6};
  double s0[2] = {13, 12}, s1[3] = {5, 11, 9}, am0[2] = {1, 2}, am1[3] = {1, 0, 1};
  double mn1[3] = {1, 2, 3};
  Tensor *m = mat(2, 3, b), *t = tensor_t(m), *r;
  double v;
  check_reduce(OP_SUM, t, 0, s0);
  check_reduce(OP_SUM, t, 1, s1);
  check_reduce(OP_ARGMAX, t, 0, am0);
  check_reduce(OP_ARGMAX, t, 1, am1);
  check_reduce(OP_MIN, t, 1, mn1);
  ck_assert_int_eq(op_reduce_all(OP_ARGMAX, t, &v), NN_OK);
  ck_assert(v == 2);   /* flat position in B^T, not in storage */
  ck_assert_int_eq(op_reduce_all(OP_ARGMIN, t, &v), NN_OK);
  ck_assert(v == 0);
  ck_assert_int_eq(op_reduce_all(OP_SUM, t, &v), NN_OK);
  ck_assert(v == 25);
  /* a narrowed view with an offset */
  r = tensor_narrow(m, 1, 1, 2);   /* [[9,3],[2,6]] */
  ck_assert_int_eq(op_reduce_all(OP_ARGMIN, r, &v), NN_OK);
  ck_assert(v == 2);
  ck_assert_int_eq(op_reduce_all(OP_PROD, r, &v), NN_OK);
  ck_assert(v == 324);
  tensor_release(r);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

START_TEST(reduce_nan_propagates) {
  double x[4] = {1, NAN, 3, 0};
  double m[6] = {1, 2, 3, 4, NAN, 0};
  Tensor *t = vec(4, x), *tm = mat(2, 3, m), *r;
  double v;
  double wmax[2] = {3, NAN}, wmin[2] = {1, NAN}, wam[2] = {2, 1};
  int64_t two = 2;
  ck_assert_int_eq(op_reduce_all(OP_MAX, t, &v), NN_OK);
  ck_assert(isnan(v));
  ck_assert_int_eq(op_reduce_all(OP_MIN, t, &v), NN_OK);
  ck_assert(isnan(v));
  ck_assert_int_eq(op_reduce_all(OP_ARGMAX, t, &v), NN_OK);
  ck_assert(v == 1);
  r = op_reduce(OP_MAX, tm, 1, 0);
  expect_vals(r, 1, &two, wmax, 0);
  tensor_release(r);
  r = op_reduce(OP_MIN, tm, 1, 0);
  expect_vals(r, 1, &two, wmin, 0);
  tensor_release(r);
  r = op_reduce(OP_ARGMAX, tm, 1, 0);
  expect_vals(r, 1, &two, wam, 0);
  tensor_release(r);
  tensor_release(tm);
  tensor_release(t);
}
END_TEST

START_TEST(reduce_empty) {
  int64_t z[1] = {0}, z2[2] = {2, 0}, two = 2;
  Tensor *e = tensor_zeros(1, z), *e2 = tensor_zeros(2, z2), *r;
  double v = -1, zeros[2] = {0, 0}, ones[2] = {1, 1};
  ck_assert_int_eq(op_reduce_all(OP_SUM, e, &v), NN_OK);
  ck_assert(v == 0);
  ck_assert_int_eq(op_reduce_all(OP_PROD, e, &v), NN_OK);
  ck_assert(v == 1);
  ck_assert_int_eq(op_reduce_all(OP_MAX, e, &v), NN_ESHAPE);
  ck_assert_int_eq(op_reduce_all(OP_MIN, e, &v), NN_ESHAPE);
  ck_assert_int_eq(op_reduce_all(OP_ARGMAX, e, &v), NN_ESHAPE);
  ck_assert_int_eq(op_reduce_all(OP_ARGMIN, e, &v), NN_ESHAPE);
  ck_assert_ptr_null(op_reduce(OP_MAX, e2, 1, 0));
  expect_error(NN_ESHAPE, "2x0");
  r = op_reduce(OP_SUM, e2, 1, 0);
  expect_vals(r, 1, &two, zeros, 0);
  tensor_release(r);
  r = op_reduce(OP_PROD, e2, 1, 0);
  expect_vals(r, 1, &two, ones, 0);
  tensor_release(r);
  tensor_release(e2);
  tensor_release(e);
}
END_TEST

START_TEST(reduce_bad_dim_and_scalar) {
  Tensor *a = mat(2, 3, A23), *s = tensor_scalar(4);
  double v;
  ck_assert_ptr_null(op_reduce(OP_SUM, a, 2, 0));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(op_reduce(OP_SUM, a, -1, 0));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(op_reduce(OP_SUM, s, 0, 0));
  expect_error(NN_EINDEX, NULL);
  ck_assert_int_eq(op_reduce_all(OP_MEAN, s, &v), NN_OK);
  ck_assert(v == 4);
  ck_assert_int_eq(op_reduce_all(OP_ARGMAX, s, &v), NN_OK);
  ck_assert(v == 0);
  tensor_release(s);
  tensor_release(a);
}
END_TEST

START_TEST(reduce_1d_gives_scalar) {
  double x[4] = {2, 7, 7, 1};
  Tensor *t = vec(4, x), *r = op_reduce(OP_ARGMAX, t, 0, 0), *k = op_reduce(OP_SUM, t, 0, 1);
  int64_t one = 1;
  double w[1] = {17};
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->ndim, 0);
  ck_assert(tensor_get_flat(r, 0) == 1);   /* the first of equal maxima */
  expect_vals(k, 1, &one, w, 0);
  tensor_release(k);
  tensor_release(r);
  tensor_release(t);
}
END_TEST

/* ---- softmax ------------------------------------------------------------ */

/* X = [[1,2,3],[1,1,1]]: softmax of {1,2,3} is e^{x-3}/sum, of {1,1,1} 1/3 */
static const double X23[6] = {1, 2, 3, 1, 1, 1};
static const double SM123[3] = {0.09003057317038046, 0.24472847105479764, 0.6652409557748218};
static const double LSM123[3] = {-2.4076059644443806, -1.4076059644443804, -0.4076059644443804};

START_TEST(softmax_along_each_dim) {
  Tensor *x = mat(2, 3, X23), *s1 = op_softmax(x, 1), *s0 = op_softmax(x, 0);
  double w1[6], w0[6];
  int64_t i, j;
  memcpy(w1, SM123, sizeof SM123);
  w1[3] = w1[4] = w1[5] = 1.0 / 3;
  /* columns (1,1), (2,1), (3,1): 1/2, sigmoid(+-1), sigmoid(+-2) */
  w0[0] = 0.5; w0[3] = 0.5;
  w0[1] = 0.7310585786300049; w0[4] = 0.2689414213699951;
  w0[2] = 0.8807970779778823; w0[5] = 0.11920292202211755;
  expect_mat(s1, 2, 3, w1, TOL);
  expect_mat(s0, 2, 3, w0, TOL);
  for (i = 0; i < 2; i++) {
    double z = 0;
    for (j = 0; j < 3; j++) z += tensor_get_flat(s1, i * 3 + j);
    ck_assert_double_eq_tol(z, 1.0, TOL);
  }
  for (j = 0; j < 3; j++)
    ck_assert_double_eq_tol(tensor_get_flat(s0, j) + tensor_get_flat(s0, 3 + j), 1.0, TOL);
  tensor_release(s0);
  tensor_release(s1);
  tensor_release(x);
}
END_TEST

START_TEST(log_softmax_along_each_dim) {
  Tensor *x = mat(2, 3, X23), *s1 = op_log_softmax(x, 1), *s0 = op_log_softmax(x, 0);
  double w1[6], w0[6];
  memcpy(w1, LSM123, sizeof LSM123);
  w1[3] = w1[4] = w1[5] = -1.0986122886681098;   /* -log 3 */
  w0[0] = w0[3] = -0.6931471805599453;            /* -log 2 */
  w0[1] = -0.31326168751822286; w0[4] = -1.3132616875182228;   /* -softplus(-+1) */
  w0[2] = -0.1269280110429726; w0[5] = -2.1269280110429727;    /* -softplus(-+2) */
  expect_mat(s1, 2, 3, w1, TOL);
  expect_mat(s0, 2, 3, w0, TOL);
  tensor_release(s0);
  tensor_release(s1);
  tensor_release(x);
}
END_TEST

START_TEST(softmax_is_stable) {
  double big[3] = {1000, 1001, 1002}, neg[3] = {-1002, -1001, -1000};
  Tensor *b = vec(3, big), *n = vec(3, neg);
  Tensor *sb = op_softmax(b, 0), *lb = op_log_softmax(b, 0);
  Tensor *sn = op_softmax(n, 0), *ln = op_log_softmax(n, 0);
  expect_vec(sb, 3, SM123, TOL);
  expect_vec(lb, 3, LSM123, TOL);
  expect_vec(sn, 3, SM123, TOL);
  expect_vec(ln, 3, LSM123, TOL);
  tensor_release(ln);
  tensor_release(sn);
  tensor_release(lb);
  tensor_release(sb);
  tensor_release(n);
  tensor_release(b);
}
END_TEST

START_TEST(softmax_on_transposed_view) {
  /* X^T = [[1,1],[2,1],[3,1]]; softmax along dim 0 = columns of X^T = rows of X */
  Tensor *x = mat(2, 3, X23), *t = tensor_t(x), *s = op_softmax(t, 0);
  double w[6];
  w[0] = SM123[0]; w[2] = SM123[1]; w[4] = SM123[2];
  w[1] = w[3] = w[5] = 1.0 / 3;
  expect_mat(s, 3, 2, w, TOL);
  ck_assert(tensor_is_contiguous(s));
  tensor_release(s);
  tensor_release(t);
  tensor_release(x);
}
END_TEST

START_TEST(softmax_errors) {
  Tensor *s = tensor_scalar(1), *x = mat(2, 3, X23);
  ck_assert_ptr_null(op_softmax(s, 0));
  expect_error(NN_ESHAPE, NULL);
  ck_assert_ptr_null(op_log_softmax(x, 2));
  expect_error(NN_EINDEX, NULL);
  tensor_release(x);
  tensor_release(s);
}
END_TEST

/* ---- products ----------------------------------------------------------- */

START_TEST(dot_products) {
  double a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, m[9] = {1, 0, 0, 2, 0, 0, 3, 0, 0};
  Tensor *ta = vec(3, a), *tb = vec(3, b), *tm = mat(3, 3, m), *col = tensor_select(tm, 1, 0);
  Tensor *t4 = vec(4, m), *t2 = mat(3, 3, m);
  double r = 0;
  ck_assert_int_eq(op_dot(ta, tb, &r), NN_OK);
  ck_assert(r == 32);
  ck_assert_int_eq(op_dot(col, tb, &r), NN_OK);   /* strided column {1,2,3} */
  ck_assert(r == 32);
  ck_assert_int_eq(op_dot(ta, t4, &r), NN_ESHAPE);
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 3 . 4 (inner dims 3 vs 4)");
  ck_assert_int_eq(op_dot(ta, t2, &r), NN_ESHAPE);
  tensor_release(t2);
  tensor_release(t4);
  tensor_release(col);
  tensor_release(tm);
  tensor_release(tb);
  tensor_release(ta);
}
END_TEST

START_TEST(mv_products) {
  double a[6] = {1, 2, 3, 4, 5, 6}, x[2] = {2, 1}, w[3] = {4, 10, 16};
  double y[3] = {1, 0, -1}, wt[2] = {-4, -4}, x3[3] = {1, 1, 1};
  Tensor *ta = mat(3, 2, a), *tx = vec(2, x), *r = op_mv(ta, tx);
  Tensor *tt = tensor_t(ta), *ty = vec(3, y), *rt = op_mv(tt, ty), *t3 = vec(3, x3);
  expect_vec(r, 3, w, 0);
  expect_vec(rt, 2, wt, 0);   /* [[1,3,5],[2,4,6]] . (1,0,-1) */
  ck_assert_ptr_null(op_mv(ta, t3));
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 3x2 * 3 (inner dims 2 vs 3)");
  ck_assert_ptr_null(op_mv(tx, tx));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(t3);
  tensor_release(rt);
  tensor_release(ty);
  tensor_release(tt);
  tensor_release(r);
  tensor_release(tx);
  tensor_release(ta);
}
END_TEST

START_TEST(mm_products) {
  double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
  double w[4] = {58, 64, 139, 154};
  /* the same operands stored transposed */
  double at[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {7, 9, 11, 8, 10, 12};
  double aat[4] = {14, 32, 32, 77};
  Tensor *A = mat(2, 3, a), *B = mat(3, 2, b), *C = op_mm(A, B);
  Tensor *AS = mat(3, 2, at), *BS = mat(2, 3, bt), *AT = tensor_t(AS), *BT = tensor_t(BS);
  Tensor *C2 = op_mm(AT, BT), *C3 = op_mm(A, BT), *C4 = op_mm(AT, B);
  Tensor *At = tensor_t(A), *G = op_mm(A, At);
  expect_mat(C, 2, 2, w, 0);
  ck_assert(tensor_is_contiguous(C));
  expect_mat(C2, 2, 2, w, 0);
  expect_mat(C3, 2, 2, w, 0);
  expect_mat(C4, 2, 2, w, 0);
  expect_mat(G, 2, 2, aat, 0);
  tensor_release(G);
  tensor_release(At);
  tensor_release(C4);
  tensor_release(C3);
  tensor_release(C2);
  tensor_release(BT);
  tensor_release(AT);
  tensor_release(BS);
  tensor_release(AS);
  tensor_release(C);
  tensor_release(B);
  tensor_release(A);
}
END_TEST

START_TEST(mm_thin_and_odd_operands) {
  double r[3] = {1, 2, 3}, c[3] = {4, 5, 6}, w1[1] = {32};
  double wo[9] = {4, 8, 12, 5, 10, 15, 6, 12, 18};   /* c_i r_j */
  double b[6] = {7, 8, 9, 10, 11, 12}, we[4] = {58, 64, 58, 64};
  double big[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, wn[4] = {2 * 7 + 3 * 9, 2 * 8 + 3 * 10,
                                                                  6 * 7 + 7 * 9, 6 * 8 + 7 * 10};
  int64_t s23[2] = {2, 3}, z0[2] = {2, 0}, z1[2] = {0, 3};
  double zeros[6] = {0, 0, 0, 0, 0, 0};
  Tensor *R = mat(1, 3, r), *C = mat(3, 1, c), *dot = op_mm(R, C), *outer = op_mm(C, R);
  Tensor *v = vec(3, r), *E = tensor_expand(v, 2, s23), *B = mat(3, 2, b), *EB = op_mm(E, B);
  Tensor *M = mat(3, 4, big), *N = tensor_narrow(M, 1, 1, 2), *B2 = mat(2, 2, b);
  Tensor *NB, *N2 = NULL;
  Tensor *K0 = tensor_zeros(2, z0), *K1 = tensor_zeros(2, z1), *KK = op_mm(K0, K1);
  expect_mat(dot, 1, 1, w1, 0);
  expect_mat(outer, 3, 3, wo, 0);
  expect_mat(EB, 2, 2, we, 0);   /* stride-0 rows */
  /* rows 0 and 1 of M's columns 1..2: [[2,3],[6,7]] (row stride 4) */
  N2 = tensor_narrow(N, 0, 0, 2);
  NB = op_mm(N2, B2);
  expect_mat(NB, 2, 2, wn, 0);
  /* K = 0: the empty sum is 0 */
  expect_mat(KK, 2, 3, zeros, 0);
  tensor_release(KK);
  tensor_release(K1);
  tensor_release(K0);
  tensor_release(NB);
  tensor_release(N2);
  tensor_release(B2);
  tensor_release(N);
  tensor_release(M);
  tensor_release(EB);
  tensor_release(B);
  tensor_release(E);
  tensor_release(v);
  tensor_release(outer);
  tensor_release(dot);
  tensor_release(C);
  tensor_release(R);
}
END_TEST

START_TEST(mm_large_strided_operands) {
  /* big enough for the BLAS / blocked path: A is a 64x60 window of an
  ** 80x70 matrix (row stride 70, offset), B = S^T for a 50x60 S; small
  ** integers keep every sum exact, so the triple loop is the reference */
  int64_t sa[2] = {80, 70}, ss[2] = {50, 60}, i, j, k, bad = 0;
  Tensor *BIG = tensor_new(2, sa), *S = tensor_new(2, ss), *A, *A1, *B, *C;
  ck_assert_ptr_nonnull(BIG);
  ck_assert_ptr_nonnull(S);
  for (i = 0; i < 80 * 70; i++) BIG->storage->data[i] = (double)((i * 7) % 11) - 5;
  for (i = 0; i < 50 * 60; i++) S->storage->data[i] = (double)((i * 5) % 13) - 6;
  A1 = tensor_narrow(BIG, 0, 3, 64);
  A = tensor_narrow(A1, 1, 5, 60);
  B = tensor_t(S);
  C = op_mm(A, B);
  ck_assert_ptr_nonnull(C);
  ck_assert_int_eq(C->size[0], 64);
  ck_assert_int_eq(C->size[1], 50);
  for (i = 0; i < 64; i++)
    for (j = 0; j < 50; j++) {
      double want = 0;
      for (k = 0; k < 60; k++)
        want += BIG->storage->data[(i + 3) * 70 + k + 5] * S->storage->data[j * 60 + k];
      if (C->storage->data[i * 50 + j] != want) bad++;
    }
  ck_assert_int_eq(bad, 0);
  tensor_release(C);
  tensor_release(B);
  tensor_release(A);
  tensor_release(A1);
  tensor_release(S);
  tensor_release(BIG);
}
END_TEST

START_TEST(products_with_empty_inner_dim) {
  int64_t z2[2] = {2, 0}, z1[1] = {0};
  Tensor *A = tensor_zeros(2, z2), *x = tensor_zeros(1, z1), *r = op_mv(A, x);
  double zeros[2] = {0, 0}, d = -1;
  expect_vec(r, 2, zeros, 0);
  ck_assert_int_eq(op_dot(x, x, &d), NN_OK);
  ck_assert(d == 0);
  tensor_release(r);
  tensor_release(x);
  tensor_release(A);
}
END_TEST

START_TEST(mm_mismatch_message) {
  double z[6] = {0};
  Tensor *a = mat(3, 2, z), *b = mat(3, 1, z), *v = vec(3, z);
  const char *kind = NULL;
  ck_assert_ptr_null(op_mm(a, b));
  ck_assert_int_eq(nn_errcode(), NN_ESHAPE);
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)");
  ck_assert_ptr_null(op_matmul(a, b, &kind));
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 3x2 * 3x1 (inner dims 2 vs 3)");
  ck_assert_str_eq(kind, "mm");
  ck_assert_ptr_null(op_mm(a, v));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(v);
  tensor_release(b);
  tensor_release(a);
}
END_TEST

START_TEST(bmm_products) {
  /* A0 = [[1,2],[3,4]], A1 = [[0,1],[1,0]]; B0 = [[5,6],[7,8]], B1 = [[1,2],[3,4]] */
  double a[8] = {1, 2, 3, 4, 0, 1, 1, 0}, b[8] = {5, 6, 7, 8, 1, 2, 3, 4};
  double w[8] = {19, 22, 43, 50, 3, 4, 1, 2};
  double wb[8] = {19, 22, 43, 50, 7, 10, 15, 22};   /* A0 * B0, A0 * B1 */
  int64_t s[3] = {2, 2, 2}, s1[3] = {1, 2, 2}, s3[3] = {3, 2, 2}, s233[3] = {2, 3, 3};
  double z[18] = {0};
  Tensor *A = mk(3, s, a), *B = mk(3, s, b), *C = op_bmm(A, B);
  Tensor *A0 = mk(3, s1, a), *CB = op_bmm(A0, B), *Z = mk(3, s3, z), *Y = mk(3, s233, z);
  expect_vals(C, 3, s, w, 0);
  expect_vals(CB, 3, s, wb, 0);
  ck_assert_ptr_null(op_bmm(A, Z));
  expect_error(NN_ESHAPE, "2x2x2");
  ck_assert_ptr_null(op_bmm(A, Y));
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 2x2x2 * 2x3x3 (inner dims 2 vs 3)");
  tensor_release(Y);
  tensor_release(Z);
  tensor_release(CB);
  tensor_release(A0);
  tensor_release(C);
  tensor_release(B);
  tensor_release(A);
}
END_TEST

START_TEST(outer_product) {
  double u[2] = {1, 2}, v[3] = {3, 4, 5}, w[6] = {3, 4, 5, 6, 8, 10};
  Tensor *tu = vec(2, u), *tv = vec(3, v), *r = op_outer(tu, tv);
  expect_mat(r, 2, 3, w, 0);
  ck_assert_ptr_null(op_outer(r, tv));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(r);
  tensor_release(tv);
  tensor_release(tu);
}
END_TEST

START_TEST(matmul_dispatch) {
  double a[6] = {1, 2, 3, 4, 5, 6}, x[3] = {1, 0, -1}, y[2] = {1, -1};
  double wmv[2] = {-2, -2}, wvm[3] = {-3, -3, -3}, wmm[4] = {14, 32, 32, 77};
  double wb[8] = {14, 32, 32, 77, 14, 32, 32, 77};
  int64_t s3[3] = {2, 2, 3}, s322[3] = {2, 2, 2};
  double a2[12] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6};
  Tensor *A = mat(2, 3, a), *X = vec(3, x), *Y = vec(2, y), *At = tensor_t(A);
  Tensor *B3 = mk(3, s3, a2), *r;
  const char *kind = NULL;
  r = op_matmul(X, X, &kind);
  ck_assert_str_eq(kind, "dot");
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->ndim, 0);
  ck_assert(tensor_get_flat(r, 0) == 2);
  tensor_release(r);
  r = op_matmul(A, X, &kind);
  ck_assert_str_eq(kind, "mv");
  expect_vec(r, 2, wmv, 0);
  tensor_release(r);
  r = op_matmul(Y, A, &kind);
  ck_assert_str_eq(kind, "vm");
  expect_vec(r, 3, wvm, 0);
  tensor_release(r);
  r = op_matmul(A, At, &kind);
  ck_assert_str_eq(kind, "mm");
  expect_mat(r, 2, 2, wmm, 0);
  tensor_release(r);
  r = op_matmul(B3, At, &kind);   /* 3-D * 2-D: the matrix is shared by the batch */
  ck_assert_str_eq(kind, "bmm");
  expect_vals(r, 3, s322, wb, 0);
  tensor_release(r);
  {
    Tensor *B3t = tensor_transpose(B3, 1, 2);
    r = op_matmul(B3, B3t, &kind);
    ck_assert_str_eq(kind, "bmm");
    expect_vals(r, 3, s322, wb, 0);
    tensor_release(r);
    tensor_release(B3t);
  }
  ck_assert_ptr_null(op_matmul(X, A, &kind));
  ck_assert_str_eq(kind, "vm");
  ck_assert_str_eq(nn_errmsg(), "size mismatch, 3 * 2x3 (inner dims 3 vs 2)");
  ck_assert_ptr_null(op_matmul(A, Y, &kind));
  ck_assert_str_eq(kind, "mv");
  expect_error(NN_ESHAPE, NULL);
  ck_assert_ptr_null(op_matmul(X, B3, &kind));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(B3);
  tensor_release(At);
  tensor_release(Y);
  tensor_release(X);
  tensor_release(A);
}
END_TEST

/* ---- linear algebra ----------------------------------------------------- */

START_TEST(det_wrapper) {
  double a[4] = {1, 2, 3, 4}, d3[9] = {2, 0, 0, 0, 3, 0, 0, 0, 4}, r[6] = {1, 2, 3, 4, 5, 6};
  double u[9] = {2, 1, 0, 0, 3, 0, 0, 0, 4};   /* a transposed input: det 24 */
  Tensor *A = mat(2, 2, a), *D = mat(3, 3, d3), *R = mat(2, 3, r), *U = mat(3, 3, u);
  Tensor *UT = tensor_t(U), *V = vec(4, a);
  double det = 0;
  ck_assert_int_eq(op_det(A, &det), NN_OK);
  ck_assert_double_eq_tol(det, -2, TOL);
  ck_assert_int_eq(op_det(D, &det), NN_OK);
  ck_assert_double_eq_tol(det, 24, TOL);
  ck_assert_int_eq(op_det(UT, &det), NN_OK);
  ck_assert_double_eq_tol(det, 24, TOL);
  ck_assert_int_eq(op_det(R, &det), NN_ESHAPE);
  expect_error(NN_ESHAPE, "2x3");
  ck_assert_int_eq(op_det(V, &det), NN_ESHAPE);
  {
    int64_t z[2] = {0, 0};
    Tensor *E = tensor_zeros(2, z);
    ck_assert_int_eq(op_det(E, &det), NN_OK);
    ck_assert(det == 1);   /* the empty product */
    tensor_release(E);
  }
  tensor_release(V);
  tensor_release(UT);
  tensor_release(U);
  tensor_release(R);
  tensor_release(D);
  tensor_release(A);
}
END_TEST

START_TEST(inv_wrapper) {
  /* [[4,7],[2,6]]^-1 = [[6,-7],[-2,4]] / 10 */
  double a[4] = {4, 7, 2, 6}, w[4] = {0.6, -0.7, -0.2, 0.4}, wt[4] = {0.6, -0.2, -0.7, 0.4};
  double s[4] = {1, 2, 2, 4}, r[6] = {1, 2, 3, 4, 5, 6};
  Tensor *A = mat(2, 2, a), *I = op_inv(A), *AT = tensor_t(A), *IT = op_inv(AT);
  Tensor *S = mat(2, 2, s), *R = mat(2, 3, r);
  expect_mat(I, 2, 2, w, TOL);
  expect_mat(IT, 2, 2, wt, TOL);
  ck_assert_ptr_null(op_inv(S));
  expect_error(NN_ESINGULAR, NULL);
  ck_assert_ptr_null(op_inv(R));
  expect_error(NN_ESHAPE, "2x3");
  tensor_release(R);
  tensor_release(S);
  tensor_release(IT);
  tensor_release(AT);
  tensor_release(I);
  tensor_release(A);
}
END_TEST

START_TEST(solve_wrapper) {
  /* 2x + y = 3, x + 3y = 5  ->  x = 0.8, y = 1.4 */
  double a[4] = {2, 1, 1, 3}, b[2] = {3, 5}, w[2] = {0.8, 1.4};
  double bm[4] = {3, 1, 5, 0}, wm[4] = {0.8, 0.6, 1.4, -0.2};
  double r[6] = {1, 2, 3, 4, 5, 6}, b3[3] = {1, 2, 3};
  Tensor *A = mat(2, 2, a), *B = vec(2, b), *X = op_solve(A, B);
  Tensor *BM = mat(2, 2, bm), *XM = op_solve(A, BM), *R = mat(2, 3, r), *B3 = vec(3, b3);
  expect_vec(X, 2, w, TOL);
  ck_assert_ptr_ne(X->storage, B->storage);
  ck_assert(B->storage->data[0] == 3 && B->storage->data[1] == 5);   /* b untouched */
  expect_mat(XM, 2, 2, wm, TOL);
  ck_assert_ptr_null(op_solve(R, B));
  expect_error(NN_ESHAPE, "2x3");
  ck_assert_ptr_null(op_solve(A, B3));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(B3);
  tensor_release(R);
  tensor_release(XM);
  tensor_release(BM);
  tensor_release(X);
  tensor_release(B);
  tensor_release(A);
}
END_TEST

START_TEST(pinv_wrapper_minimum_norm) {
  /* X = [[1,2,3],[4,5,6]]: XX^T = [[14,32],[32,77]], det 54, so
  ** pinv X = X^T (XX^T)^-1 = [[-51,24],[-6,6],[39,-12]] / 54, and the
  ** minimum-norm solution of X w = (1,2) is w = (-1/18, 1/9, 5/18). */
  double x[6] = {1, 2, 3, 4, 5, 6};
  double wp[6] = {-51.0 / 54, 24.0 / 54, -6.0 / 54, 6.0 / 54, 39.0 / 54, -12.0 / 54};
  double t[2] = {1, 2}, ww[3] = {-1.0 / 18, 1.0 / 9, 5.0 / 18};
  Tensor *X = mat(2, 3, x), *P = op_pinv(X, 0), *T = vec(2, t), *W = P ? op_mv(P, T) : NULL;
  Tensor *XT = tensor_t(X), *PT = op_pinv(XT, 0), *V = vec(2, t);
  int64_t rank = -1;
  expect_mat(P, 3, 2, wp, TOL);
  expect_vec(W, 3, ww, TOL);
  /* pinv(X^T) = pinv(X)^T */
  {
    double wpt[6] = {wp[0], wp[2], wp[4], wp[1], wp[3], wp[5]};
    expect_mat(PT, 2, 3, wpt, TOL);
  }
  ck_assert_ptr_null(op_pinv(V, 0));
  expect_error(NN_ESHAPE, NULL);
  ck_assert_int_eq(op_rank(X, 0, &rank), NN_OK);
  ck_assert_int_eq(rank, 2);
  tensor_release(V);
  tensor_release(PT);
  tensor_release(XT);
  tensor_release(W);
  tensor_release(T);
  tensor_release(P);
  tensor_release(X);
}
END_TEST

Suite *ops_suite(void) {
  Suite *s = suite_create("ops");
  TCase *tc = tcase_create("creation");
  tcase_add_test(tc, full_and_eye);
  tcase_add_test(tc, arange_includes_stop);
  tcase_add_test(tc, arange_over_cap);
  tcase_add_test(tc, linspace_end_points_exact);
  tcase_add_test(tc, rng_known_answers);
  tcase_add_test(tc, rand_same_seed_same_numbers);
  tcase_add_test(tc, rand_stays_in_unit_interval);
  tcase_add_test(tc, randn_same_seed_same_numbers);
  tcase_add_test(tc, randn_moments);
  suite_add_tcase(s, tc);

  tc = tcase_create("elementwise");
  tcase_add_test(tc, unary_neg_abs_sign_relu);
  tcase_add_test(tc, unary_exp_log_sqrt);
  tcase_add_test(tc, unary_tanh_sigmoid_softplus);
  tcase_add_test(tc, unary_on_transposed_view);
  tcase_add_test(tc, binary_arithmetic);
  tcase_add_test(tc, binary_comparisons);
  tcase_add_test(tc, binary_maximum_minimum);
  tcase_add_test(tc, broadcast_column_plus_row);
  tcase_add_test(tc, broadcast_vector_and_matrix);
  tcase_add_test(tc, binary_on_strided_views);
  tcase_add_test(tc, scalar_first_ops);
  tcase_add_test(tc, binary_shape_mismatch);
  suite_add_tcase(s, tc);

  tc = tcase_create("reduce");
  tcase_add_test(tc, reduce_all_elements);
  tcase_add_test(tc, reduce_along_dim0);
  tcase_add_test(tc, reduce_along_dim1);
  tcase_add_test(tc, reduce_transposed_input);
  tcase_add_test(tc, reduce_nan_propagates);
  tcase_add_test(tc, reduce_empty);
  tcase_add_test(tc, reduce_bad_dim_and_scalar);
  tcase_add_test(tc, reduce_1d_gives_scalar);
  tcase_add_test(tc, softmax_along_each_dim);
  tcase_add_test(tc, log_softmax_along_each_dim);
  tcase_add_test(tc, softmax_is_stable);
  tcase_add_test(tc, softmax_on_transposed_view);
  tcase_add_test(tc, softmax_errors);
  suite_add_tcase(s, tc);

  tc = tcase_create("products");
  tcase_add_test(tc, dot_products);
  tcase_add_test(tc, mv_products);
  tcase_add_test(tc, mm_products);
  tcase_add_test(tc, mm_thin_and_odd_operands);
  tcase_add_test(tc, mm_large_strided_operands);
  tcase_add_test(tc, products_with_empty_inner_dim);
  tcase_add_test(tc, mm_mismatch_message);
  tcase_add_test(tc, bmm_products);
  tcase_add_test(tc, outer_product);
  tcase_add_test(tc, matmul_dispatch);
  suite_add_tcase(s, tc);

  tc = tcase_create("linalg");
  tcase_add_test(tc, det_wrapper);
  tcase_add_test(tc, inv_wrapper);
  tcase_add_test(tc, solve_wrapper);
  tcase_add_test(tc, pinv_wrapper_minimum_norm);
  suite_add_tcase(s, tc);
  return s;
}
