/*
** check_pool.c — pooling and batch normalization (layers_pool.c,
** layers_norm.c): values worked by hand, naive reference loops over many
** settings (strided inputs, batches, padding, dilation, ceil mode), every
** backward against central finite differences of L = Σ(y·r) for a random
** r, the refusals with their messages, and no tensor left alive.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_fixture.h"
#include "check_suites.h"
#include "layers.h"
#include "ops.h"

#define TOL 1e-12
#define FD_STEP 1e-5
#define FD_TOL 1e-7

/* ---- helpers ------------------------------------------------------------ */


/* A helper's own temporaries, released by the helper. */
static Tensor *ok(Tensor *t) {
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  return t;
}

/* mk() whose tensor finish() releases */
static Tensor *mkk(int ndim, const int64_t *size, const double *v) { return keep(mk(ndim, size, v)); }

static Tensor *vec(int64_t n, const double *v) { return mkk(1, &n, v); }

static Tensor *t4(int64_t n, int64_t c, int64_t h, int64_t w, const double *v) {
  int64_t s[4];
  s[0] = n; s[1] = c; s[2] = h; s[3] = w;
  return mkk(4, s, v);
}

/* An n x c x h x w view that is not contiguous and starts at an offset (a
** narrowed transpose), filled with standard normals or (distinct) with a
** shuffle of 0.01·k, so that no window has ties and a step of FD_STEP
** never changes a winner. */
enum { FILL_NORMAL, FILL_DISTINCT };
static Tensor *strided4(int64_t n, int64_t c, int64_t h, int64_t w, int fill) {
  int64_t s[4], i, j, numel = n * c * h * w;
  Tensor *base, *tr, *v;
  s[0] = n; s[1] = c; s[2] = w; s[3] = h + 1;
  base = ok(tensor_zeros(4, s));
  tr = ok(tensor_transpose(base, 2, 3));
  v = keep(tensor_narrow(tr, 2, 1, h));
  tensor_release(tr); tensor_release(base);
  ck_assert(!tensor_is_contiguous(v) && v->offset != 0);
  for (i = 0; i < numel; i++)
    tensor_set_flat(v, i, fill == FILL_NORMAL ? rng_normal() : 0.01 * (double)i - 1.0);
  if (fill == FILL_DISTINCT)
    for (i = numel - 1; i > 0; i--) {   /* Fisher-Yates */
      double t;
      j = (int64_t)(rng_uniform() * (double)(i + 1));
      t = tensor_get_flat(v, i);
      tensor_set_flat(v, i, tensor_get_flat(v, j));
      tensor_set_flat(v, j, t);
    }
  return v;
}

static int same(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want) || tol == 0) return got == want;
  return fabs(got - want) <= tol * (fabs(want) > 1 ? fabs(want) : 1);
}

/* Values in row-major order: exact when tol is 0 (NaN matches NaN). */
static void expect_vals(const Tensor *t, int64_t n, const double *v, double tol) {
  int64_t i;
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  ck_assert_int_eq(tensor_numel(t), n);
  for (i = 0; i < n; i++)
    ck_assert_msg(same(tensor_get_flat(t, i), v[i], tol), "element %lld: got %.17g, want %.17g",
                  (long long)i, tensor_get_flat(t, i), v[i]);
}

static void expect_shape4(const Tensor *t, int64_t n, int64_t c, int64_t h, int64_t w) {
  ck_assert_msg(t->ndim == 4 && t->size[0] == n && t->size[1] == c && t->size[2] == h &&
                t->size[3] == w, "shape %lldx%lldx%lldx%lld", (long long)t->size[0],
                (long long)t->size[1], (long long)t->size[2], (long long)t->size[3]);
}

/* want is a contiguous tensor of the expected shape. */
static void expect_like(const Tensor *got, const Tensor *want, double tol) {
  ck_assert(tensor_same_shape(got, want) && tensor_is_contiguous(want));
  expect_vals(got, tensor_numel(want), want->storage->data + want->offset, tol);
}

/* A call that must fail with this code and a message containing msg. */
#define REFUSED(call, code, msg) do { \
    ck_assert_ptr_null(call); \
    expect_error(code, msg); \
  } while (0)
#define FAILS(call, code, msg) do { \
    ck_assert_int_eq(call, code); \
    expect_error(code, msg); \
  } while (0)

static Pool2dParams params(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                           int64_t pw, int64_t d, int ceil_mode, int count_include_pad) {
  Pool2dParams p;
  p.kernel[0] = kh; p.kernel[1] = kw;
  p.stride[0] = sh; p.stride[1] = sw;
  p.padding[0] = ph; p.padding[1] = pw;
  p.dilation[0] = d; p.dilation[1] = d;
  p.ceil_mode = ceil_mode; p.count_include_pad = count_include_pad;
  return p;
}

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil) {
  int64_t n = -1;
  ck_assert_msg(pool_out_size(in, k, s, p, d, ceil, &n) == NN_OK, "%s", nn_errmsg());
  return n;
}

/* ---- hand-worked pooling ------------------------------------------------ */

static const double img4[16] = {1, 3, 2, 1,
                                4, 6, 5, 0,
                                7, 2, 9, 8,
                                1, 0, 3, 4};

START_TEST(maxpool_2x2_by_hand) {
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1);
  double gyv[4] = {1, 2, 3, 4}, wy[4] = {6, 5, 7, 9}, wa[4] = {5, 6, 8, 10};
  double wgx[16] = {0, 0, 0, 0, 0, 1, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0};
  Tensor *x = t4(1, 1, 4, 4, img4), *am, *y = keep(layer_maxpool2d(x, &p, &am));
  keep(am);
  expect_shape4(y, 1, 1, 2, 2);
  expect_vals(y, 4, wy, 0);
  expect_vals(am, 4, wa, 0);          /* flat h*W + w of each winner */
  expect_vals(keep(layer_maxpool2d_backward(x, am, t4(1, 1, 2, 2, gyv))), 16, wgx, 0);
  finish();
}
END_TEST

/* 3x3 windows, stride 2, padding 1 on 4x4: a 2x2 output whose windows
** overlap.  On 0..15 every winner lies in its own 2x2 block (5, 7, 13, 15),
** so each input gets one window's gradient; with one peak at (1, 1) all
** four windows pick it, and its gradient is their sum. */
START_TEST(maxpool_overlapping_windows_by_hand) {
  Pool2dParams p = params(3, 3, 2, 2, 1, 1, 1, 0, 1);
  double ramp[16], peak[16] = {0}, gyv[4] = {1, 2, 3, 4};
  double wa[4] = {5, 7, 13, 15}, wg1[16] = {0}, wg2[16] = {0};
  Tensor *x, *am;
  int i;
  for (i = 0; i < 16; i++) ramp[i] = i;
  wg1[5] = 1; wg1[7] = 2; wg1[13] = 3; wg1[15] = 4;
  x = t4(1, 1, 4, 4, ramp);
  keep(layer_maxpool2d(x, &p, &am));
  keep(am);
  expect_vals(am, 4, wa, 0);
  expect_vals(keep(layer_maxpool2d_backward(x, am, t4(1, 1, 2, 2, gyv))), 16, wg1, 0);
  peak[5] = 9;
  wg2[5] = 1 + 2 + 3 + 4;
  x = t4(1, 1, 4, 4, peak);
  keep(layer_maxpool2d(x, &p, &am));
  keep(am);
  expect_vals(keep(layer_maxpool2d_backward(x, am, t4(1, 1, 2, 2, gyv))), 16, wg2, 0);
  finish();
}
END_TEST

START_TEST(avgpool_2x2_by_hand) {
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1);
  double wy[4] = {3.5, 2, 2.5, 6}, gyv[4] = {4, 8, -4, 2};
  double wgx[16] = {1, 1, 2, 2, 1, 1, 2, 2, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5};
  Tensor *x = t4(1, 1, 4, 4, img4);
  /* (1+3+4+6)/4, (2+1+5+0)/4, (7+2+1+0)/4, (9+8+3+4)/4 */
  expect_vals(keep(layer_avgpool2d(x, &p)), 4, wy, 0);
  expect_vals(keep(layer_avgpool2d_backward(x, &p, t4(1, 1, 2, 2, gyv))), 16, wgx, 0);
  finish();
}
END_TEST

/* A 5x5 image 0..24 (x[h][w] = 5h + w), 2x2 windows, stride 2: floor mode
** drops the last row and column, ceil mode adds a third row and column
** whose windows hang over the edge (avg divides by the real part). */
START_TEST(ceil_mode_adds_a_row) {
  Pool2dParams fl = params(2, 2, 2, 2, 0, 0, 1, 0, 1), ce = fl;
  double v[25], wmf[4] = {6, 8, 16, 18}, wmc[9] = {6, 8, 9, 16, 18, 19, 21, 23, 24};
  double wac[9] = {3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24};
  Tensor *x, *a, *b;
  int i;
  for (i = 0; i < 25; i++) v[i] = (double)i;
  ce.ceil_mode = 1;
  x = t4(1, 1, 5, 5, v);
  a = keep(layer_maxpool2d(x, &fl, NULL));
  b = keep(layer_maxpool2d(x, &ce, NULL));
  expect_shape4(a, 1, 1, 2, 2);
  expect_vals(a, 4, wmf, 0);
  expect_shape4(b, 1, 1, 3, 3);
  expect_vals(b, 9, wmc, 0);
  expect_vals(keep(layer_avgpool2d(x, &ce)), 9, wac, 0);
  /* the rule alone: 5 with k 2, s 2, p 1 would give 4 by ceil, but the
  ** fourth window would start in the right padding, so 3 */
  ck_assert_int_eq(out_size(5, 2, 2, 1, 1, 1), 3);
  ck_assert_int_eq(out_size(4, 3, 2, 0, 1, 0), 1);
  ck_assert_int_eq(out_size(4, 3, 2, 0, 1, 1), 2);
  ck_assert_int_eq(out_size(7, 3, 1, 0, 2, 0), 3);   /* dilated span 5 */
  ck_assert_int_eq(out_size(32, 3, 2, 1, 1, 0), 16);
  finish();
}
END_TEST

/* 3x3 image 1..9, 2x2 windows, stride 2, padding 1: the corner window
** holds one real value, divided by 4 when padding counts, else by 1. */
START_TEST(count_include_pad_by_hand) {
  Pool2dParams inc = params(2, 2, 2, 2, 1, 1, 1, 0, 1), exc = inc;
  Pool2dParams row = params(1, 3, 1, 2, 0, 1, 1, 1, 1), rowx = row;
  double v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, r[4] = {1, 2, 3, 4};
  double wi[4] = {0.25, 1.25, 2.75, 7}, we[4] = {1, 2.5, 5.5, 7};
  /* 1x4 row, windows [-1,2) [1,4) [3,6) (ceil mode); the last one is
  ** clipped to the padded input [-1,5): divisor 2, of which 1 is real */
  double wri[3] = {1, 3, 2}, wre[3] = {1.5, 3, 4};
  Tensor *x = t4(1, 1, 3, 3, v), *xr = t4(1, 1, 1, 4, r), *y;
  exc.count_include_pad = rowx.count_include_pad = 0;
  expect_vals(keep(layer_avgpool2d(x, &inc)), 4, wi, 0);
  expect_vals(keep(layer_avgpool2d(x, &exc)), 4, we, 0);
  y = keep(layer_avgpool2d(xr, &row));
  expect_shape4(y, 1, 1, 1, 3);
  expect_vals(y, 3, wri, 0);
  expect_vals(keep(layer_avgpool2d(xr, &rowx)), 3, wre, 0);
  finish();
}
END_TEST

/* 5 -> 3 windows [0,2) [1,4) [3,5); on the 5x5 image 5h + w each output
** is 5·(row mean) + (column mean) with means 0.5, 2, 3.5. */
START_TEST(adaptive_5_to_3_by_hand) {
  double r[5] = {1, 2, 3, 4, 5}, v[25], wr[3] = {1.5, 3, 4.5};
  double w2[9] = {3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21}, ones[3] = {1, 1, 1};
  double wg[5] = {0.5, 0.5 + 1.0 / 3, 1.0 / 3, 1.0 / 3 + 0.5, 0.5};
  Tensor *xr = t4(1, 1, 1, 5, r), *yr = keep(layer_adaptive_avgpool2d(xr, 1, 3));
  int i;
  for (i = 0; i < 25; i++) v[i] = (double)i;
  expect_shape4(yr, 1, 1, 1, 3);
  expect_vals(yr, 3, wr, 0);
  expect_vals(keep(layer_adaptive_avgpool2d_backward(xr, t4(1, 1, 1, 3, ones))), 5, wg, TOL);
  expect_vals(keep(layer_adaptive_avgpool2d(t4(1, 1, 5, 5, v), 3, 3)), 9, w2, TOL);
  finish();
}
END_TEST

/* PyTorch's rules at the edges: a NaN in the window wins, equal maxima
** keep the first, an all -inf window names its first real position, and a
** window that dilation lets miss the input entirely gives -inf with
** argmax -1, which the backward skips. */
START_TEST(maxpool_nan_ties_and_empty) {
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1), q = params(1, 2, 1, 1, 0, 1, 3, 0, 1);
  double v[8] = {1, NAN, -INFINITY, -INFINITY, 5, 2, -INFINITY, -INFINITY};
  double wy[2] = {NAN, -INFINITY}, wa[2] = {1, 2};
  double t[8] = {3, 1, 3, 2, 0, 3, 0, 3}, wt[2] = {3, 3}, wta[2] = {0, 2};
  double r[2] = {7, 8}, wq[1] = {-INFINITY}, wqa[1] = {-1}, g1[1] = {5}, wg[2] = {0, 0};
  Tensor *am, *xq, *y;
  expect_vals(keep(layer_maxpool2d(t4(1, 1, 2, 4, v), &p, &am)), 2, wy, 0);
  expect_vals(keep(am), 2, wa, 0);
  expect_vals(keep(layer_maxpool2d(t4(1, 1, 2, 4, t), &p, &am)), 2, wt, 0);
  expect_vals(keep(am), 2, wta, 0);
  /* a row of 2, kernel 2 with dilation 3 and padding 1: taps at -1 and 2 */
  xq = t4(1, 1, 1, 2, r);
  y = keep(layer_maxpool2d(xq, &q, &am));
  expect_shape4(y, 1, 1, 1, 1);
  expect_vals(y, 1, wq, 0);
  expect_vals(keep(am), 1, wqa, 0);
  expect_vals(keep(layer_maxpool2d_backward(xq, am, t4(1, 1, 1, 1, g1))), 2, wg, 0);
  finish();
}
END_TEST

/* ---- naive references over many settings -------------------------------- */

static const Pool2dParams settings[] = {
  /* kernel   stride   padding  dilation ceil  include_pad */
  {{2, 2}, {2, 2}, {0, 0}, {1, 1}, 0, 1},
  {{3, 3}, {1, 1}, {1, 1}, {1, 1}, 0, 1},   /* overlapping, padded */
  {{3, 2}, {2, 1}, {1, 0}, {1, 1}, 0, 0},   /* stride != kernel */
  {{3, 3}, {2, 2}, {1, 1}, {2, 2}, 0, 1},   /* dilation 2 */
  {{2, 3}, {3, 2}, {1, 1}, {2, 1}, 1, 0},   /* ceil mode, mixed dilation */
  {{3, 3}, {2, 2}, {0, 1}, {1, 1}, 1, 1},
  {{4, 4}, {3, 3}, {2, 2}, {1, 1}, 1, 1},
  {{1, 1}, {1, 1}, {0, 0}, {1, 1}, 0, 1},
  {{2, 2}, {1, 1}, {1, 0}, {1, 1}, 0, 0},
};
#define NSETTINGS ((int)(sizeof settings / sizeof settings[0]))

/* Settings for average pooling: the same without dilation. */
static Pool2dParams as_avg(Pool2dParams p, int include_pad) {
  p.dilation[0] = p.dilation[1] = 1;
  p.count_include_pad = include_pad;
  return p;
}

static double at4(const Tensor *x, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t idx[4];
  idx[0] = n; idx[1] = c; idx[2] = h; idx[3] = w;
  return *tensor_ptr(x, idx);
}

/* y[n][c][oy][ox] straight from the definition, read through the strides;
** the divisor by counting window taps inside [-p, in + p). */
static Tensor *ref_pool(const Tensor *x, const Pool2dParams *p, int is_max) {
  int64_t s[4], n, c, oy, ox, ky, kx, k = 0;
  Tensor *y;
  s[0] = x->size[0]; s[1] = x->size[1];
  s[2] = out_size(x->size[2], p->kernel[0], p->stride[0], p->padding[0], p->dilation[0],
                  p->ceil_mode);
  s[3] = out_size(x->size[3], p->kernel[1], p->stride[1], p->padding[1], p->dilation[1],
                  p->ceil_mode);
  y = keep(tensor_new(4, s));
  for (n = 0; n < s[0]; n++)
    for (c = 0; c < s[1]; c++)
      for (oy = 0; oy < s[2]; oy++)
        for (ox = 0; ox < s[3]; ox++) {
          double best = -INFINITY, sum = 0, real = 0, padded = 0;
          for (ky = 0; ky < p->kernel[0]; ky++)
            for (kx = 0; kx < p->kernel[1]; kx++) {
              int64_t iy = oy * p->stride[0] - p->padding[0] + ky * p->dilation[0];
              int64_t ix = ox * p->stride[1] - p->padding[1] + kx * p->dilation[1];
              if (iy < x->size[2] + p->padding[0] && ix < x->size[3] + p->padding[1])
                padded++;
              if (iy < 0 || iy >= x->size[2] || ix < 0 || ix >= x->size[3]) continue;
              real++;
              sum += at4(x, n, c, iy, ix);
              best = fmax(best, at4(x, n, c, iy, ix));
            }
          y->storage->data[k++] =
            is_max ? best : real == 0 ? 0 : sum / (p->count_include_pad ? padded : real);
        }
  return y;
}

START_TEST(pooling_matches_reference) {
  int i, inc;
  rng_seed(11);
  for (i = 0; i < NSETTINGS; i++) {
    Tensor *x = strided4(3, 2, 7, 6, FILL_NORMAL);
    expect_like(keep(layer_maxpool2d(x, &settings[i], NULL)), ref_pool(x, &settings[i], 1), 0);
    for (inc = 0; inc < 2; inc++) {
      Pool2dParams a = as_avg(settings[i], inc);
      expect_like(keep(layer_avgpool2d(x, &a)), ref_pool(x, &a, 0), TOL);
    }
  }
  finish();
}
END_TEST

static Tensor *ref_adaptive(const Tensor *x, int64_t oh, int64_t ow) {
  int64_t s[4], n, c, i, j, h, w, k = 0;
  double H = (double)x->size[2], W = (double)x->size[3];
  Tensor *y;
  s[0] = x->size[0]; s[1] = x->size[1]; s[2] = oh; s[3] = ow;
  y = keep(tensor_new(4, s));
  for (n = 0; n < s[0]; n++)
    for (c = 0; c < s[1]; c++)
      for (i = 0; i < oh; i++)
        for (j = 0; j < ow; j++) {
          double sum = 0, cnt = 0;
          for (h = (int64_t)floor(i * H / oh); h < (int64_t)ceil((i + 1) * H / oh); h++)
            for (w = (int64_t)floor(j * W / ow); w < (int64_t)ceil((j + 1) * W / ow); w++) {
              sum += at4(x, n, c, h, w);
              cnt++;
            }
          y->storage->data[k++] = sum / cnt;
        }
  return y;
}

START_TEST(adaptive_matches_reference) {
  static const int64_t outs[][2] = {{3, 3}, {1, 1}, {7, 6}, {4, 2}, {9, 8}, {2, 5}};
  int i;
  rng_seed(12);
  for (i = 0; i < 6; i++) {
    Tensor *x = strided4(3, 2, 7, 6, FILL_NORMAL);
    expect_like(keep(layer_adaptive_avgpool2d(x, outs[i][0], outs[i][1])),
                ref_adaptive(x, outs[i][0], outs[i][1]), TOL);
  }
  finish();
}
END_TEST

/* The 2x2, stride-2 pooling of most networks runs VL windows at a time,
** the last group of a row overlapping the one before (layers_pool.c).
** Every row width from 1 window to past three 8-lane groups, odd widths
** and heights (a column or row left out), on values drawn from a few
** levels so that windows tie, with NaN and infinities in some rows: the
** value and position of every window's first maximum (a NaN wins, the
** last of them, as PyTorch's "v > best || isnan(v)"), and the backward
** against gx[argmax] += gy into zeros, so +0.0 where gy is -0.0. */
static double pick(void) {
  double u = rng_uniform();
  if (u < 0.02) return NAN;
  if (u < 0.04) return INFINITY;
  if (u < 0.06) return -INFINITY;
  if (u < 0.10) return -0.0;
  return floor(rng_uniform() * 6.0) - 2.0;   /* -2 .. 3: ties */
}

START_TEST(maxpool_2x2_every_row_width) {
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1);
  int64_t w, h, i, oy, ox, c;
  rng_seed(15);
  for (w = 2; w <= 2 * 27 + 1; w++)
    for (h = 2; h <= 5; h += 3) {
      int64_t oh = h / 2, ow = w / 2, s[4] = {1, 3, h, w}, so[4] = {1, 3, oh, ow};
      Tensor *x = keep(tensor_new(4, s)), *gy = keep(tensor_new(4, so)), *am = NULL, *y, *gx;
      Tensor *wy = keep(tensor_new(4, so)), *wa = keep(tensor_new(4, so)), *wg = keep(tensor_zeros(4, s));
      double *xv = x->storage->data;
      int clean = w % 3 == 0;   /* some planes of finite values only */
      for (i = 0; i < 3 * h * w; i++) xv[i] = clean ? floor(rng_uniform() * 4.0) : pick();
      for (i = 0; i < 3 * oh * ow; i++)   /* some -0.0: the winner gets +0.0, as 0 + -0 */
        gy->storage->data[i] = rng_uniform() < 0.1 ? -0.0 : rng_normal();
      for (c = 0; c < 3; c++)
        for (oy = 0; oy < oh; oy++)
          for (ox = 0; ox < ow; ox++) {
            const double *pl = xv + c * h * w;
            int64_t at = 2 * oy * w + 2 * ox, k, o = (c * oh + oy) * ow + ox;
            double best = -INFINITY;
            int64_t win = at;
            for (k = 0; k < 4; k++) {
              int64_t q = at + (k / 2) * w + k % 2;
              if (pl[q] > best || isnan(pl[q])) best = pl[q], win = q;
            }
            wy->storage->data[o] = best;
            wa->storage->data[o] = (double)win;
            wg->storage->data[c * h * w + win] += gy->storage->data[o];
          }
      y = keep(layer_maxpool2d(x, &p, &am));
      keep(am);
      expect_like(y, wy, 0);
      expect_like(am, wa, 0);
      expect_like(keep(layer_maxpool2d(x, &p, NULL)), wy, 0);
      gx = keep(layer_maxpool2d_backward(x, am, gy));
      expect_like(gx, wg, 0);
      for (i = 0; i < 3 * h * w; i++)
        ck_assert_msg(!(gx->storage->data[i] == 0 && signbit(gx->storage->data[i])),
                      "a -0.0 at %lld (w %lld)", (long long)i, (long long)w);
      /* an argmax naming one position for every window of a plane (not
      ** from this input's pooling): the gradients add up there */
      for (i = 0; i < 3 * oh * ow; i++) am->storage->data[i] = 1;
      gx = keep(layer_maxpool2d_backward(x, am, gy));
      for (c = 0; c < 3; c++) {
        double sum = 0;
        for (i = 0; i < oh * ow; i++) sum += gy->storage->data[c * oh * ow + i];
        ck_assert_msg(fabs(gx->storage->data[c * h * w + 1] - sum) <= 1e-12 * (1 + fabs(sum)),
                      "w %lld: %.17g, want %.17g", (long long)w, gx->storage->data[c * h * w + 1], sum);
        for (i = 0; i < h * w; i++)
          if (i != 1 || oh * ow == 0) ck_assert(gx->storage->data[c * h * w + i] == 0);
      }
      finish();   /* this width's tensors (and none left over) */
    }
}
END_TEST

/* relu is nondecreasing, so it commutes with taking a maximum. */
START_TEST(maxpool_commutes_with_relu) {
  int i;
  rng_seed(13);
  for (i = 0; i < NSETTINGS; i++) {
    Tensor *x = strided4(2, 3, 8, 7, FILL_NORMAL), *rx = keep(op_unary(OP_RELU, x));
    Tensor *a = keep(layer_maxpool2d(x, &settings[i], NULL));
    expect_like(keep(layer_maxpool2d(rx, &settings[i], NULL)), keep(op_unary(OP_RELU, a)), 0);
  }
  finish();
}
END_TEST

/* ---- pooling gradients by finite differences ---------------------------- */

enum { MAXP, AVGP, ADAPT };
typedef struct PoolCase {
  int kind;
  Pool2dParams p;
  int64_t oh, ow;
  Tensor *x, *r;   /* the input nudged, and the weights of L = Σ y·r */
} PoolCase;

static Tensor *pool_fwd(const Tensor *x, const PoolCase *pc) {
  if (pc->kind == MAXP) return ok(layer_maxpool2d(x, &pc->p, NULL));
  if (pc->kind == AVGP) return ok(layer_avgpool2d(x, &pc->p));
  return ok(layer_adaptive_avgpool2d(x, pc->oh, pc->ow));
}

static Tensor *pool_bwd(const Tensor *x, const Tensor *gy, const PoolCase *pc) {
  Tensor *y, *am, *gx;
  if (pc->kind == AVGP) return ok(layer_avgpool2d_backward(x, &pc->p, gy));
  if (pc->kind == ADAPT) return ok(layer_adaptive_avgpool2d_backward(x, gy));
  y = ok(layer_maxpool2d(x, &pc->p, &am));
  gx = ok(layer_maxpool2d_backward(x, am, gy));
  tensor_release(am); tensor_release(y);
  return gx;
}

static double dot_all(const Tensor *a, const Tensor *b) {
  int64_t i;
  double s = 0;
  for (i = 0; i < tensor_numel(a); i++) s += tensor_get_flat(a, i) * tensor_get_flat(b, i);
  return s;
}

/* Central differences (L(w+h) − L(w−h))/2h in each entry of wrt, against
** the gradient grad that a backward gave for it. */
static void fd_compare(double (*loss)(void *), void *ctx, Tensor *wrt,
                       const Tensor *grad, const char *what) {
  int64_t i;
  ck_assert(tensor_same_shape(grad, wrt));
  for (i = 0; i < tensor_numel(wrt); i++) {
    double v = tensor_get_flat(wrt, i), lp, lm, fd;
    tensor_set_flat(wrt, i, v + FD_STEP);
    lp = loss(ctx);
    tensor_set_flat(wrt, i, v - FD_STEP);
    lm = loss(ctx);
    tensor_set_flat(wrt, i, v);
    fd = (lp - lm) / (2 * FD_STEP);
    ck_assert_msg(fabs(fd - tensor_get_flat(grad, i)) <= FD_TOL,
                  "%s, element %lld: backward %.12g, differences %.12g", what, (long long)i,
                  tensor_get_flat(grad, i), fd);
  }
}

static double pool_loss(void *ctx) {
  const PoolCase *pc = ctx;
  Tensor *y = pool_fwd(pc->x, pc);
  double l = dot_all(y, pc->r);
  tensor_release(y);
  return l;
}

/* L = Σ y·r for a random r: the backward with gy = r gives dL/dx. */
static void gradcheck_pool(Tensor *x, PoolCase *pc) {
  static const char *const name[] = {"max pool", "avg pool", "adaptive avg pool"};
  Tensor *y = pool_fwd(x, pc), *gx;
  pc->x = x;
  pc->r = ok(op_randn(y->ndim, y->size));
  gx = pool_bwd(x, pc->r, pc);
  fd_compare(pool_loss, pc, x, gx, name[pc->kind]);
  tensor_release(gx); tensor_release(pc->r); tensor_release(y);
}

START_TEST(pooling_gradients) {
  static const int64_t outs[][2] = {{3, 3}, {2, 4}, {6, 5}};
  PoolCase pc;
  int i;
  rng_seed(14);
  for (i = 0; i < NSETTINGS; i++) {
    Tensor *x = strided4(3, 2, 6, 5, FILL_DISTINCT);   /* no ties in max pooling */
    pc.kind = MAXP; pc.p = settings[i];
    gradcheck_pool(x, &pc);
    pc.kind = AVGP; pc.p = as_avg(settings[i], 1);
    gradcheck_pool(x, &pc);
    pc.p.count_include_pad = 0;
    gradcheck_pool(x, &pc);
  }
  for (i = 0; i < 3; i++) {
    pc.kind = ADAPT; pc.oh = outs[i][0]; pc.ow = outs[i][1];
    gradcheck_pool(strided4(2, 2, 5, 4, FILL_NORMAL), &pc);
  }
  finish();
}
END_TEST

/* ---- batch normalization ------------------------------------------------ */

static BatchNormState bn_state(Tensor *rm, Tensor *rv, double momentum, double eps,
                               int training) {
  BatchNormState s;
  s.running_mean = rm; s.running_var = rv;
  s.momentum = momentum; s.eps = eps; s.training = training;
  return s;
}

/* A batch of 4 with 2 channels, rows {1,2} {1,6} {3,2} {3,6}: channel 0
** is {1,1,3,3} (mean 2, var 1), channel 1 is {2,6,2,6} (mean 4, var 4),
** so with eps 0 x̂ is ±1 and invstd {1, 1/2}.  gamma {2, 1/2}, beta {1, -1}. */
static const int64_t s42[2] = {4, 2};
static const double bn_x[8] = {1, 2, 1, 6, 3, 2, 3, 6}, bn_g[2] = {2, 0.5}, bn_b[2] = {1, -1};

START_TEST(batchnorm_training_by_hand) {
  double z[2] = {0, 0}, o[2] = {1, 1}, ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  double wy[8] = {-1, -1.5, -1, -0.5, 3, -1.5, 3, -0.5}, wm[2] = {2, 4}, wi[2] = {1, 0.5};
  /* running = 0.9·running + 0.1·batch, the variance unbiased: 4/3 and 16/3 */
  double wrm[2] = {0.2, 0.4}, wrv[2] = {0.9 + 0.4 / 3, 0.9 + 1.6 / 3};
  double wplain[8] = {-1, -1, -1, 1, 1, -1, 1, 1};
  double wgb[2] = {4, 4}, wgg[2] = {0, 0}, wgx[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Tensor *x = mkk(2, s42, bn_x), *gm = vec(2, bn_g), *rm = vec(2, z), *rv = vec(2, o);
  Tensor *mean, *is, *gx, *gg, *gb;
  BatchNormState s = bn_state(rm, rv, 0.1, 0, 1);
  expect_vals(keep(layer_batchnorm(x, gm, vec(2, bn_b), &s, &mean, &is)), 8, wy, TOL);
  expect_vals(keep(mean), 2, wm, TOL);
  expect_vals(keep(is), 2, wi, TOL);
  expect_vals(rm, 2, wrm, TOL);
  expect_vals(rv, 2, wrv, TOL);
  s = bn_state(NULL, NULL, 0.1, 0, 1);   /* no affine, no running stats */
  expect_vals(keep(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL)), 8, wplain, TOL);
  /* a constant gradient moves no x in training: Σgy and Σgy·x̂ cancel it */
  ck_assert_int_eq(layer_batchnorm_backward(x, gm, mean, is, 1, mkk(2, s42, ones), &gx, &gg,
                                            &gb), NN_OK);
  expect_vals(keep(gx), 8, wgx, TOL);
  expect_vals(keep(gg), 2, wgg, TOL);
  expect_vals(keep(gb), 2, wgb, TOL);
  finish();
}
END_TEST

/* Evaluation with running mean {1, 2} and var {4, 1/4}: invstd {1/2, 2}. */
START_TEST(batchnorm_eval_by_hand) {
  double m[2] = {1, 2}, v[2] = {4, 0.25}, wy[8] = {1, -1, 1, 3, 3, -1, 3, 3};
  double wi[2] = {0.5, 2}, gyv[8] = {1, 1, 2, 2, 3, 3, 4, 4};
  /* gy·gamma·invstd = gy·1 in both channels; x̂ = {0,0,1,1} and {0,8,0,8}
  ** give Σgy·x̂ = 3 + 4 and 8·(2 + 4) */
  double wgx[8] = {1, 1, 2, 2, 3, 3, 4, 4}, wgb[2] = {10, 10}, wgg[2] = {7, 48};
  double one[1] = {5}, m1[1] = {5}, v1[1] = {1}, wy1[1] = {0};
  int64_t s11[2] = {1, 1};
  Tensor *x = mkk(2, s42, bn_x), *gm = vec(2, bn_g), *rm = vec(2, m), *rv = vec(2, v);
  Tensor *mean, *is, *gx, *gg, *gb;
  BatchNormState s = bn_state(rm, rv, 0.1, 0, 0);
  expect_vals(keep(layer_batchnorm(x, gm, vec(2, bn_b), &s, &mean, &is)), 8, wy, TOL);
  expect_vals(keep(mean), 2, m, 0);
  expect_vals(keep(is), 2, wi, TOL);
  expect_vals(rm, 2, m, 0);   /* evaluation leaves the statistics alone */
  expect_vals(rv, 2, v, 0);
  ck_assert_int_eq(layer_batchnorm_backward(x, gm, mean, is, 0, mkk(2, s42, gyv), &gx, &gg,
                                            &gb), NN_OK);
  expect_vals(keep(gx), 8, wgx, TOL);
  expect_vals(keep(gg), 2, wgg, TOL);
  expect_vals(keep(gb), 2, wgb, TOL);
  /* one value per channel is fine in evaluation */
  s = bn_state(vec(1, m1), vec(1, v1), 0.1, 0, 0);
  expect_vals(keep(layer_batchnorm(mkk(2, s11, one), NULL, NULL, &s, NULL, NULL)), 1, wy1, 0);
  finish();
}
END_TEST

/* N x C, N x C x L and N x C x H x W, strided, against per-channel loops
** by definition; the running stats updated from the batch. */
START_TEST(batchnorm_matches_reference) {
  static const int64_t shapes[][4] = {{3, 2, 5, 1}, {3, 2, 4, 3}, {5, 3, 1, 1}};
  static const int nd[] = {3, 4, 2};
  int k;
  rng_seed(15);
  for (k = 0; k < 3; k++) {
    int64_t c, i, C = shapes[k][1], n, L, sw[4];
    Tensor *x, *g, *b, *rm, *rv, *rm0, *rv0, *y, *mean, *is;
    BatchNormState s;
    /* C x N x ... in memory, viewed as N x C x ... */
    memcpy(sw, shapes[k], sizeof sw);
    sw[0] = shapes[k][1]; sw[1] = shapes[k][0];
    x = keep(tensor_transpose(keep(op_randn(nd[k], sw)), 0, 1));
    ck_assert(!tensor_is_contiguous(x));
    g = keep(op_randn(1, &C)); b = keep(op_randn(1, &C));
    rm = keep(op_randn(1, &C)); rv = keep(op_rand(1, &C));
    rm0 = keep(tensor_clone(rm)); rv0 = keep(tensor_clone(rv));
    s = bn_state(rm, rv, 0.3, 1e-5, 1);
    n = tensor_numel(x);
    L = n / (shapes[k][0] * C);
    y = keep(layer_batchnorm(x, g, b, &s, &mean, &is));
    keep(mean); keep(is);
    for (c = 0; c < C; c++) {
      double sum = 0, sq = 0, m, v, M = (double)(n / C);
      for (i = 0; i < n; i++)
        if ((i / L) % C == c) sum += tensor_get_flat(x, i);
      m = sum / M;
      for (i = 0; i < n; i++)
        if ((i / L) % C == c) sq += (tensor_get_flat(x, i) - m) * (tensor_get_flat(x, i) - m);
      v = sq / M;
      ck_assert(same(tensor_get_flat(mean, c), m, TOL));
      ck_assert(same(tensor_get_flat(is, c), 1 / sqrt(v + 1e-5), TOL));
      ck_assert(same(tensor_get_flat(rm, c), 0.7 * tensor_get_flat(rm0, c) + 0.3 * m, TOL));
      ck_assert(same(tensor_get_flat(rv, c),
                     0.7 * tensor_get_flat(rv0, c) + 0.3 * v * M / (M - 1), TOL));
      for (i = 0; i < n; i++)
        if ((i / L) % C == c)
          ck_assert(same(tensor_get_flat(y, i), tensor_get_flat(g, c) *
                         (tensor_get_flat(x, i) - m) / sqrt(v + 1e-5) + tensor_get_flat(b, c),
                         1e-11));
    }
  }
  finish();
}
END_TEST

/* L = Σ y·r through forward and backward; x, gamma and beta each nudged. */
typedef struct BnCase {
  Tensor *x, *gamma, *beta, *r;
  BatchNormState s;
} BnCase;

static double bn_loss(void *ctx) {
  BnCase *bc = ctx;
  Tensor *y = ok(layer_batchnorm(bc->x, bc->gamma, bc->beta, &bc->s, NULL, NULL));
  double l = dot_all(y, bc->r);
  tensor_release(y);
  return l;
}

static void gradcheck_bn(int ndim, const int64_t *shape, int training, int affine) {
  BnCase bc;
  int64_t C = shape[1], sw[4];
  Tensor *rm = keep(op_randn(1, &C)), *rv = keep(op_rand(1, &C)), *mean, *is, *gx, *gg, *gb;
  /* the first and last dims swapped in memory: a strided input */
  memcpy(sw, shape, (size_t)ndim * sizeof *shape);
  sw[0] = shape[ndim - 1]; sw[ndim - 1] = shape[0];
  bc.x = keep(tensor_transpose(keep(op_randn(ndim, sw)), 0, ndim - 1));
  bc.gamma = affine ? keep(op_randn(1, &C)) : NULL;
  bc.beta = affine ? keep(op_randn(1, &C)) : NULL;
  tensor_fill(rv, 0.5);
  /* in training no running stats, so the nudged forwards change nothing */
  bc.s = bn_state(training ? NULL : rm, training ? NULL : rv, 0.1, 1e-5, training);
  bc.r = keep(op_randn(ndim, shape));
  keep(layer_batchnorm(bc.x, bc.gamma, bc.beta, &bc.s, &mean, &is));
  keep(mean); keep(is);
  ck_assert_int_eq(layer_batchnorm_backward(bc.x, bc.gamma, mean, is, training, bc.r, &gx,
                                            &gg, &gb), NN_OK);
  keep(gg); keep(gb);
  fd_compare(bn_loss, &bc, bc.x, keep(gx), training ? "x (training)" : "x (evaluation)");
  if (affine) {
    fd_compare(bn_loss, &bc, bc.gamma, gg, "gamma");
    fd_compare(bn_loss, &bc, bc.beta, gb, "beta");
  }
}

START_TEST(batchnorm_gradients) {
  static const int64_t s2[2] = {6, 3}, s3[3] = {3, 2, 4}, s4[4] = {2, 3, 2, 3};
  int training, affine;
  rng_seed(16);
  for (training = 0; training < 2; training++)
    for (affine = 0; affine < 2; affine++) {
      gradcheck_bn(2, s2, training, affine);
      gradcheck_bn(3, s3, training, affine);
      gradcheck_bn(4, s4, training, affine);
    }
  finish();
}
END_TEST

/* ---- refusals ----------------------------------------------------------- */

START_TEST(pool_errors) {
  double v[16] = {0};
  int64_t n = -7, s3[3] = {1, 4, 4};
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1), q;
  Tensor *x = t4(1, 1, 4, 4, v), *x3 = mkk(3, s3, v), *small = t4(1, 1, 2, 2, v), *am = NULL;
  FAILS(pool_out_size(4, 0, 1, 0, 1, 0, &n), NN_EARG, "kernel size must be at least 1 (got 0)");
  FAILS(pool_out_size(4, 2, 0, 0, 1, 0, &n), NN_EARG, "stride must be at least 1 (got 0)");
  FAILS(pool_out_size(4, 2, 1, 0, 0, 0, &n), NN_EARG, "dilation must be at least 1 (got 0)");
  FAILS(pool_out_size(4, 2, 1, -1, 1, 0, &n), NN_EARG, "padding must not be negative (got -1)");
  FAILS(pool_out_size(4, 3, 1, 2, 1, 0, &n), NN_EARG, "padding 2 is more than half the kernel 3");
  FAILS(pool_out_size(2, 3, 1, 0, 1, 0, &n), NN_ESHAPE,
        "input size 2 is too small for the window 3");
  FAILS(pool_out_size(4, 2, 1, 0, 4, 1, &n), NN_ESHAPE, "dilation 4");   /* span 5 */
  FAILS(pool_out_size((int64_t)1 << 40, 2, 1, 0, 1, 0, &n), NN_ELIMIT, "at most");
  ck_assert_int_eq(n, -7);   /* untouched on failure */

  REFUSED(layer_maxpool2d(x3, &p, &am), NN_ESHAPE,
          "the input must be 4-D N x C x H x W, got 1x4x4");
  ck_assert_ptr_null(am);
  q = p; q.kernel[1] = 0;
  REFUSED(layer_maxpool2d(x, &q, NULL), NN_EARG, "kernel size must be at least 1 (got 2x0)");
  q = p; q.stride[0] = -1;
  REFUSED(layer_avgpool2d(x, &q), NN_EARG, "stride must be at least 1 (got -1x2)");
  q = p; q.padding[1] = -1;
  REFUSED(layer_maxpool2d(x, &q, NULL), NN_EARG, "padding must not be negative (got 0x-1)");
  q = p; q.dilation[0] = 0;
  REFUSED(layer_maxpool2d(x, &q, NULL), NN_EARG, "dilation must be at least 1 (got 0x1)");
  q = params(3, 3, 1, 1, 2, 2, 1, 0, 1);
  REFUSED(layer_avgpool2d(x, &q), NN_EARG, "padding 2x2 is more than half the kernel 3x3");
  q = p; q.dilation[0] = q.dilation[1] = 2;
  REFUSED(layer_avgpool2d(x, &q), NN_EARG, "average pooling has no dilation (got 2x2, want 1x1)");
  q = params(3, 3, 1, 1, 0, 0, 1, 0, 1);
  REFUSED(layer_maxpool2d(small, &q, NULL), NN_ESHAPE,
          "input 1x1x2x2 is too small for the 3x3 window (stride 1x1, padding 0x0, dilation 1x1)");
  q.ceil_mode = 1;
  REFUSED(layer_avgpool2d(small, &q), NN_ESHAPE,
          "input 1x1x2x2 is too small for the 3x3 window (stride 1x1, padding 0x0, ceil_mode)");
  REFUSED(layer_adaptive_avgpool2d(x, 0, 2), NN_EARG,
          "output size must be at least 1x1 (got 0x2)");
  REFUSED(layer_adaptive_avgpool2d(t4(1, 1, 0, 3, v), 1, 1), NN_ESHAPE,
          "input 1x1x0x3 has an empty image to pool");
  REFUSED(layer_adaptive_avgpool2d(x3, 1, 1), NN_ESHAPE, "must be 4-D");

  /* an interrupt stops the kernel, which cleans up and reports it */
  nn_interrupted = 1;
  REFUSED(layer_maxpool2d(x, &p, &am), NN_EINTR, "interrupted");
  ck_assert_ptr_null(am);
  ck_assert_int_eq(nn_interrupted, 0);
  keep(layer_avgpool2d(x, &p));   /* and the next call runs */
  finish();
}
END_TEST

START_TEST(pool_backward_errors) {
  double v[16] = {0}, bad[4] = {0, 1, 16, 2}, frac[4] = {0, 0.5, 1, 2};
  Pool2dParams p = params(2, 2, 2, 2, 0, 0, 1, 0, 1);
  Tensor *x = t4(1, 1, 4, 4, v), *gy = t4(1, 1, 2, 2, v), *gyb = t4(2, 1, 2, 2, v);
  REFUSED(layer_maxpool2d_backward(x, t4(1, 1, 2, 2, bad), gy), NN_EARG,
          "argmax entry 16 is not a position in the 4x4 plane");
  REFUSED(layer_maxpool2d_backward(x, t4(1, 1, 2, 2, frac), gy), NN_EARG, "argmax entry 0.5");
  REFUSED(layer_maxpool2d_backward(x, t4(1, 1, 1, 4, v), gy), NN_ESHAPE,
          "argmax has shape 1x1x1x4 but the gradient 1x1x2x2");
  REFUSED(layer_maxpool2d_backward(x, gyb, gyb), NN_ESHAPE,
          "gradient 2x1x2x2 does not fit input 1x1x4x4");
  REFUSED(layer_maxpool2d_backward(x, gy, mkk(2, s42, v)), NN_ESHAPE,
          "the gradient must be 4-D N x C x H x W, got 4x2");
  REFUSED(layer_avgpool2d_backward(x, &p, t4(1, 1, 3, 2, v)), NN_ESHAPE,
          "gradient has shape 1x1x3x2, want 1x1x2x2");
  REFUSED(layer_adaptive_avgpool2d_backward(x, gyb), NN_ESHAPE,
          "gradient has shape 2x1x2x2, want 1x1x2x2");
  finish();
}
END_TEST

START_TEST(batchnorm_errors) {
  int64_t s13[2] = {1, 3}, s1311[4] = {1, 3, 1, 1}, s23[2] = {2, 3}, s31[2] = {3, 1};
  double z[6] = {1, 2, 3, 4, 5, 6}, r0[3] = {0, 0, 0}, r1[3] = {1, 1, 1};
  Tensor *x = mkk(2, s23, z), *v5 = vec(5, z), *v4 = vec(4, z), *m31 = mkk(2, s31, z);
  Tensor *rm = vec(3, r0), *rv = vec(3, r1), *mean, *is, *gx;
  BatchNormState s = bn_state(rm, rv, 0.1, 1e-5, 1);
  REFUSED(layer_batchnorm(mkk(2, s13, z), NULL, NULL, &s, &mean, &is), NN_ESHAPE,
          "batch norm in training needs more than one value per channel, got input 1x3");
  ck_assert_ptr_null(mean);
  REFUSED(layer_batchnorm(mkk(4, s1311, z), NULL, NULL, &s, NULL, NULL), NN_ESHAPE,
          "got input 1x3x1x1");
  REFUSED(layer_batchnorm(v5, NULL, NULL, &s, NULL, NULL), NN_ESHAPE,
          "batch norm needs an N x C input (2 or more dims), got 5");
  REFUSED(layer_batchnorm(x, v4, NULL, &s, NULL, NULL), NN_ESHAPE,
          "gamma has shape 4, want 3 (the channels of input 2x3)");
  REFUSED(layer_batchnorm(x, NULL, m31, &s, NULL, NULL), NN_ESHAPE, "beta has shape 3x1, want 3");
  s.running_var = v4;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL), NN_ESHAPE,
          "running_var has shape 4, want 3");
  s.running_var = rv; s.running_mean = v5;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL), NN_ESHAPE,
          "running_mean has shape 5, want 3");
  s.running_mean = rm; s.eps = -1;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL), NN_EARG,
          "eps must be a number >= 0 (got -1)");
  s.eps = 1e-5; s.momentum = NAN;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL), NN_EARG,
          "momentum must be a finite number");
  s.momentum = 0.1; s.training = 0; s.running_var = NULL;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, NULL, NULL), NN_EARG,
          "batch norm in evaluation needs running_mean and running_var");
  REFUSED(layer_batchnorm(x, NULL, NULL, NULL, NULL, NULL), NN_EARG, "needs its state");
  /* interrupted in training: no output, and the running stats untouched */
  s.running_var = rv; s.training = 1;
  nn_interrupted = 1;
  REFUSED(layer_batchnorm(x, NULL, NULL, &s, &mean, &is), NN_EINTR, "interrupted");
  expect_vals(rm, 3, r0, 0);
  expect_vals(rv, 3, r1, 0);

  /* the backward checks its operands too */
  keep(layer_batchnorm(x, NULL, NULL, &s, &mean, &is));
  keep(mean); keep(is);
  FAILS(layer_batchnorm_backward(x, NULL, mean, is, 1, m31, &gx, NULL, NULL), NN_ESHAPE,
        "gradient has shape 3x1, want 2x3 (the input shape)");
  ck_assert_ptr_null(gx);
  FAILS(layer_batchnorm_backward(x, NULL, v4, is, 1, x, &gx, NULL, NULL), NN_ESHAPE,
        "mean has shape 4, want 3");
  FAILS(layer_batchnorm_backward(x, NULL, mean, v5, 1, x, &gx, NULL, NULL), NN_ESHAPE,
        "invstd has shape 5, want 3");
  FAILS(layer_batchnorm_backward(x, v4, mean, is, 1, x, &gx, NULL, NULL), NN_ESHAPE,
        "gamma has shape 4, want 3");
  FAILS(layer_batchnorm_backward(x, NULL, NULL, is, 1, x, &gx, NULL, NULL), NN_EARG,
        "needs the mean and invstd");
  FAILS(layer_batchnorm_backward(v5, NULL, mean, is, 1, v5, &gx, NULL, NULL), NN_ESHAPE, "got 5");
  nn_interrupted = 1;
  FAILS(layer_batchnorm_backward(x, NULL, mean, is, 1, x, &gx, NULL, NULL), NN_EINTR,
        "interrupted");
  ck_assert_ptr_null(gx);
  finish();
}
END_TEST


Suite *pool_suite(void) {
  Suite *s = suite_create("pool");
  TCase *tc = new_case(s, "hand");
  tcase_add_test(tc, maxpool_2x2_by_hand);
  tcase_add_test(tc, maxpool_overlapping_windows_by_hand);
  tcase_add_test(tc, avgpool_2x2_by_hand);
  tcase_add_test(tc, ceil_mode_adds_a_row);
  tcase_add_test(tc, count_include_pad_by_hand);
  tcase_add_test(tc, adaptive_5_to_3_by_hand);
  tcase_add_test(tc, maxpool_nan_ties_and_empty);
  tcase_add_test(tc, maxpool_2x2_every_row_width);
  tcase_add_test(tc, batchnorm_training_by_hand);
  tcase_add_test(tc, batchnorm_eval_by_hand);
  tc = new_case(s, "reference");
  tcase_add_test(tc, pooling_matches_reference);
  tcase_add_test(tc, adaptive_matches_reference);
  tcase_add_test(tc, maxpool_commutes_with_relu);
  tcase_add_test(tc, batchnorm_matches_reference);
  tc = new_case(s, "gradients");
  tcase_add_test(tc, pooling_gradients);
  tcase_add_test(tc, batchnorm_gradients);
  tc = new_case(s, "errors");
  tcase_add_test(tc, pool_errors);
  tcase_add_test(tc, pool_backward_errors);
  tcase_add_test(tc, batchnorm_errors);
  return s;
}
