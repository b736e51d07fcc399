/*
** layers_pool.c — max, average and adaptive average pooling of
** N x C x H x W images, forward and backward, and the pooling shape rule.
**
** The kernels follow PyTorch's CPU kernels case by case, so that an answer
** worked here is the one PyTorch prints:
**   - max pooling never reads padded positions (they act as -inf), keeps
**     the first of equal maxima, and lets a NaN win (the last NaN of the
**     window, as PyTorch's "val > max || isnan(val)" does);
**   - average pooling divides by the window clipped to the padded input
**     (count_include_pad) or by the number of real elements in it;
**   - adaptive window i covers [floor(i·H/oh), ceil((i+1)·H/oh)).
** Inputs of any strides are copied to contiguous first, so every kernel
** walks one H x W plane at a time with plain index arithmetic; outputs are
** new contiguous tensors.  Backward passes recompute the windows from the
** settings instead of saving them, which keeps the saved state small.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "simd.h"

/* Settings beyond this are refused up front: it keeps every product in
** the shape rule (dilation·kernel, (out−1)·stride) far from overflow. */
#define POOL_SETTING_MAX INT32_MAX

/* ======================================================================
** Shape rule
** ====================================================================== */

/* Rounds toward minus infinity (C's / truncates toward zero); b > 0. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

int pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                  int ceil_mode, int64_t *out) {
  int64_t n;
  if (k < 1) return nn_fail(NN_EARG, "kernel size must be at least 1 (got %lld)", (long long)k);
  if (stride < 1)
    return nn_fail(NN_EARG, "stride must be at least 1 (got %lld)", (long long)stride);
  if (dil < 1) return nn_fail(NN_EARG, "dilation must be at least 1 (got %lld)", (long long)dil);
  if (pad < 0)
    return nn_fail(NN_EARG, "padding must not be negative (got %lld)", (long long)pad);
  if (in < 0) return nn_fail(NN_EARG, "input size must not be negative (got %lld)", (long long)in);
  if (in > POOL_SETTING_MAX || k > POOL_SETTING_MAX || stride > POOL_SETTING_MAX ||
      dil > POOL_SETTING_MAX)
    return nn_fail(NN_ELIMIT, "pooling sizes must be at most %d (got input %lld, kernel "
                   "%lld, stride %lld, dilation %lld)", POOL_SETTING_MAX, (long long)in,
                   (long long)k, (long long)stride, (long long)dil);
  /* PyTorch's limit: more padding would let a window lie wholly in it */
  if (pad > k / 2)
    return nn_fail(NN_EARG, "padding %lld is more than half the kernel %lld",
                   (long long)pad, (long long)k);
  /* ceil(a/s) = floor((a + s − 1)/s) */
  n = floor_div(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  /* in ceil mode the last window must start inside the input or the left
  ** padding, never wholly in the right padding */
  if (ceil_mode && (n - 1) * stride >= in + pad) n--;
  if (n < 1)
    return nn_fail(NN_ESHAPE, "input size %lld is too small for the window %lld "
                   "(padding %lld, dilation %lld)", (long long)in, (long long)k,
                   (long long)pad, (long long)dil);
  *out = n;
  return NN_OK;
}

/* ======================================================================
** Geometry shared by max and average pooling
** ====================================================================== */

typedef struct Geom {
  int64_t n, c, h, w;   /* input */
  int64_t oh, ow;       /* output plane */
} Geom;

/* "3x2" of a {height, width} pair. */
static const char *pair_str(char *buf, size_t n, const int64_t *v) {
  snprintf(buf, n, "%lldx%lld", (long long)v[0], (long long)v[1]);
  return buf;
}

static int need_4d(const Tensor *t, const char *what) {
  char b[128];
  if (t->ndim != 4)
    return nn_fail(NN_ESHAPE, "%s must be 4-D N x C x H x W, got %s", what,
                   tensor_shape_str(t, b, sizeof b));
  return NN_OK;
}

/* Checks the settings as pairs (so the message shows both axes), then
** applies the shape rule to each axis. */
static int pool_geometry(const Tensor *x, const Pool2dParams *p, int is_max, Geom *g) {
  char bx[128], bk[48], bs[48], bp[48], bd[48];
  int a, rc;
  if (need_4d(x, "the input") != NN_OK) return NN_ESHAPE;
  pair_str(bk, sizeof bk, p->kernel);
  pair_str(bs, sizeof bs, p->stride);
  pair_str(bp, sizeof bp, p->padding);
  pair_str(bd, sizeof bd, p->dilation);
  for (a = 0; a < 2; a++) {
    if (p->kernel[a] < 1)
      return nn_fail(NN_EARG, "kernel size must be at least 1 (got %s)", bk);
    if (p->stride[a] < 1) return nn_fail(NN_EARG, "stride must be at least 1 (got %s)", bs);
    if (p->padding[a] < 0)
      return nn_fail(NN_EARG, "padding must not be negative (got %s)", bp);
    /* PyTorch's avg_pool2d has no dilation; a silent one would mislead */
    if (!is_max && p->dilation[a] != 1)
      return nn_fail(NN_EARG, "average pooling has no dilation (got %s, want 1x1)", bd);
    if (p->dilation[a] < 1)
      return nn_fail(NN_EARG, "dilation must be at least 1 (got %s)", bd);
  }
  for (a = 0; a < 2; a++)
    if (p->padding[a] > p->kernel[a] / 2)
      return nn_fail(NN_EARG, "padding %s is more than half the kernel %s", bp, bk);
  g->n = x->size[0];
  g->c = x->size[1];
  g->h = x->size[2];
  g->w = x->size[3];
  rc = pool_out_size(g->h, p->kernel[0], p->stride[0], p->padding[0], p->dilation[0],
                     p->ceil_mode, &g->oh);
  if (rc == NN_OK)
    rc = pool_out_size(g->w, p->kernel[1], p->stride[1], p->padding[1], p->dilation[1],
                       p->ceil_mode, &g->ow);
  if (rc == NN_ESHAPE) {
    tensor_shape_str(x, bx, sizeof bx);
    if (is_max)
      return nn_fail(NN_ESHAPE, "input %s is too small for the %s window (stride %s, "
                     "padding %s, dilation %s%s)", bx, bk, bs, bp, bd,
                     p->ceil_mode ? ", ceil_mode" : "");
    return nn_fail(NN_ESHAPE, "input %s is too small for the %s window (stride %s, "
                   "padding %s%s)", bx, bk, bs, bp, p->ceil_mode ? ", ceil_mode" : "");
  }
  return rc;
}

/* gy must be N x C x oh x ow for the backward of a pooling of x. */
static int check_grad_shape(const Tensor *gy, const Geom *g) {
  int64_t want[4];
  char b1[128], b2[128];
  want[0] = g->n;
  want[1] = g->c;
  want[2] = g->oh;
  want[3] = g->ow;
  if (gy->ndim != 4 || gy->size[0] != want[0] || gy->size[1] != want[1] ||
      gy->size[2] != want[2] || gy->size[3] != want[3])
    return nn_fail(NN_ESHAPE, "gradient has shape %s, want %s (the output shape)",
                   tensor_shape_str(gy, b1, sizeof b1), nn_shape_str(b2, sizeof b2, 4, want));
  return NN_OK;
}

static double *data_of(const Tensor *t) { return t->storage->data + t->offset; }

static Tensor *new_output(const Geom *g) {
  int64_t size[4];
  size[0] = g->n;
  size[1] = g->c;
  size[2] = g->oh;
  size[3] = g->ow;
  return tensor_new(4, size);
}

/* ======================================================================
** Max pooling
** ====================================================================== */

/* The first position >= 0 of start, start + d, start + 2d, ... */
static int64_t first_inside(int64_t start, int64_t d) {
  return start >= 0 ? start : start + ((-start + d - 1) / d) * d;
}

/* The 2x2, stride-2 pooling of most networks, every window inside the
** plane: the general loop below with its bounds worked out once, the
** same comparisons in the same order. */
#define TAKE(pos) do { double v_ = in[pos]; \
    if (v_ > best || isnan(v_)) { best = v_; at = (pos); } } while (0)
static void window_2x2(const double *in, const Geom *g, int64_t oy, int64_t ox, double *out,
                       double *arg) {
  int64_t p = 2 * oy * g->w + 2 * ox, at = p;
  double best = -INFINITY;
  TAKE(p);
  TAKE(p + 1);
  TAKE(p + g->w);
  TAKE(p + g->w + 1);
  out[oy * g->ow + ox] = best;
  if (arg != NULL) arg[oy * g->ow + ox] = (double)at;
}
#undef TAKE

/* 0, 2, 4, ...: each lane's window start, relative to the first lane's */
static vd lane_starts(void) {
  vd v;
  int i;
  for (i = 0; i < VL; i++) v[i] = 2.0 * i;
  return v;
}

/* A row of windows, VL at a time, as compare-and-select chains on vector
** lanes (branches on real activations are coin flips): the first maximum
** of each window and its position, as window_2x2 finds them.  The last
** group overlaps the one before when VL does not divide ow (rewriting
** the same values), so a row needs ow >= VL.  Returns nonzero if the row
** holds a NaN or an infinity, whose x - x is NaN: then window_2x2 redoes
** it. */
static int pool_row_2x2(const double *r0, const double *r1, int64_t ow, double w,
                        double base, double *o, double *am) {
  vd zero = splat(0.0), one = splat(1.0), down = splat(w), diag = splat(w + 1.0);
  vd starts = lane_starts(), nan_seen = zero;
  int64_t ox = 0;
  int i, seen = 0;
  while (ox < ow) {
    vd a, b, c, d, m, k;
    vm gt;
    if (ox + VL > ow) ox = ow - VL;
    vunzip(r0 + 2 * ox, &a, &b);
    vunzip(r1 + 2 * ox, &c, &d);
    gt = (vm)(b > a), m = vsel(gt, b, a), k = vsel(gt, one, zero);
    gt = (vm)(c > m), m = vsel(gt, c, m), k = vsel(gt, down, k);
    gt = (vm)(d > m), m = vsel(gt, d, m), k = vsel(gt, diag, k);
    nan_seen += (a - a) + (b - b) + (c - c) + (d - d);
    *(vdu *)(o + ox) = m;
    *(vdu *)(am + ox) = splat(base + 2.0 * (double)ox) + starts + k;
    ox += VL;
  }
  for (i = 0; i < VL; i++) seen |= nan_seen[i] != 0.0;
  return seen;
}

/* Without arg the positions go to scratch (ow doubles), so that the row
** kernel has no branch.  Rows narrower than a vector go window by
** window. */
static void maxpool_plane_2x2(const double *in, const Geom *g, double *out, double *arg,
                              double *scratch) {
  int64_t oy, ox, w = g->w, ow = g->ow;
  for (oy = 0; oy < g->oh; oy++) {
    const double *r0 = in + 2 * oy * w;
    double *am = arg != NULL ? arg + oy * ow : scratch;
    if (ow < VL ||
        pool_row_2x2(r0, r0 + w, ow, (double)w, (double)(2 * oy * w), out + oy * ow, am))
      for (ox = 0; ox < ow; ox++) window_2x2(in, g, oy, ox, out, arg);
  }
}

static int is_plain_2x2(const Geom *g, const Pool2dParams *p) {
  return p->kernel[0] == 2 && p->kernel[1] == 2 && p->stride[0] == 2 && p->stride[1] == 2 &&
         p->padding[0] == 0 && p->padding[1] == 0 && p->dilation[0] == 1 &&
         p->dilation[1] == 1 && 2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

/* One plane.  A window may miss the input entirely (dilation can step over
** it); its output is -inf and its argmax -1, which the backward skips. */
static void maxpool_plane(const double *in, const Geom *g, const Pool2dParams *p,
                          double *out, double *arg) {
  int64_t oy, ox, iy, ix;
  int64_t kh = p->kernel[0], kw = p->kernel[1], dh = p->dilation[0], dw = p->dilation[1];
  for (oy = 0; oy < g->oh; oy++) {
    int64_t ys = oy * p->stride[0] - p->padding[0];
    int64_t y1 = ys + (kh - 1) * dh + 1 < g->h ? ys + (kh - 1) * dh + 1 : g->h;
    int64_t y0 = first_inside(ys, dh);
    for (ox = 0; ox < g->ow; ox++) {
      int64_t xs = ox * p->stride[1] - p->padding[1];
      int64_t x1 = xs + (kw - 1) * dw + 1 < g->w ? xs + (kw - 1) * dw + 1 : g->w;
      int64_t x0 = first_inside(xs, dw);
      double best = -INFINITY;
      /* all -inf: PyTorch names the window's first real position */
      int64_t at = (y0 < y1 && x0 < x1) ? y0 * g->w + x0 : -1;
      for (iy = y0; iy < y1; iy += dh)
        for (ix = x0; ix < x1; ix += dw) {
          double v = in[iy * g->w + ix];
          if (v > best || isnan(v)) {
            best = v;
            at = iy * g->w + ix;
          }
        }
      out[oy * g->ow + ox] = best;
      if (arg != NULL) arg[oy * g->ow + ox] = (double)at;
    }
  }
}

Tensor *layer_maxpool2d(const Tensor *x, const Pool2dParams *p, Tensor **argmax) {
  Geom g;
  Tensor *xc = NULL, *y = NULL, *am = NULL;
  int64_t pl, in_plane, out_plane;
  double *scratch = NULL;
  int plain;
  if (argmax != NULL) *argmax = NULL;
  if (pool_geometry(x, p, 1, &g) != NN_OK) return NULL;
  if ((xc = tensor_contiguous(x)) == NULL || (y = new_output(&g)) == NULL ||
      (argmax != NULL && (am = new_output(&g)) == NULL))
    goto fail;
  plain = is_plain_2x2(&g, p);
  /* (no scratch, no fast path: the general loop needs none) */
  if (plain && am == NULL &&
      (scratch = malloc((size_t)(g.ow > 0 ? g.ow : 1) * sizeof *scratch)) == NULL)
    plain = 0;
  in_plane = g.h * g.w;
  out_plane = g.oh * g.ow;
  for (pl = 0; pl < g.n * g.c; pl++) {
    if (nn_check_interrupt() != NN_OK) goto fail;
    if (plain)
      maxpool_plane_2x2(data_of(xc) + pl * in_plane, &g, data_of(y) + pl * out_plane,
                        am != NULL ? data_of(am) + pl * out_plane : NULL, scratch);
    else
      maxpool_plane(data_of(xc) + pl * in_plane, &g, p, data_of(y) + pl * out_plane,
                    am != NULL ? data_of(am) + pl * out_plane : NULL);
  }
  free(scratch);
  tensor_release(xc);
  if (argmax != NULL) *argmax = am;
  return y;
fail:
  free(scratch);
  tensor_release(am);
  tensor_release(y);
  tensor_release(xc);
  return NULL;
}

/* When every winner lies in its own 2x2 block of the plane (as after the
** 2x2, stride-2 pooling of most networks), each input position gets the
** gradient of at most one window: each block is written whole, the
** winner's gradient (0 + gy, so a -0.0 lands as +0.0, as when it is added
** into zeros) and three zeros (+0.0, by masking the bits), in one pass
** where zeroing the input-sized gradient first was another.
** Branch-free, VL windows at a time (the winner's place in its block is
** a coin flip on real activations, and testing it cost more than the
** rest of the backward); the last group of a row overlaps the one before
** as in pool_row_2x2.  Returns 0 if some winner lay outside its block or
** the rows are narrower than a vector, and then the caller starts over. */
static int scatter_blocks(const double *a, const double *d, double *dst, int64_t planes,
                          int64_t oh, int64_t ow, int64_t w) {
  vd zero = splat(0.0), one = splat(1.0), down = splat((double)w), diag = splat(w + 1.0);
  vd starts = lane_starts();
  vm bad = (vm){0};
  int64_t pl, oy, ox;
  int i, any = 0;
  if (ow < VL) return 0;
  for (pl = 0; pl < planes; pl++, a += oh * ow, d += oh * ow, dst += 4 * oh * ow)
    for (oy = 0; oy < oh; oy++) {
      const double *ar = a + oy * ow, *dr = d + oy * ow;
      double *r0 = dst + 2 * oy * w, base = (double)(2 * oy * w);
      for (ox = 0; ox < ow; ox += VL) {
        vd at;
        vm g, m0, m1, m2, m3;
        if (ox + VL > ow) ox = ow - VL;
        at = *(const vdu *)(ar + ox) - (splat(base + 2.0 * (double)ox) + starts);
        g = (vm)(*(const vdu *)(dr + ox) + zero);   /* 0 + gy, as a += into zeros: -0 is +0 */
        m0 = (vm)(at == zero), m1 = (vm)(at == one), m2 = (vm)(at == down), m3 = (vm)(at == diag);
        vzip(r0 + 2 * ox, (vd)(g & m0), (vd)(g & m1));
        vzip(r0 + w + 2 * ox, (vd)(g & m2), (vd)(g & m3));
        bad |= ~(m0 | m1 | m2 | m3);
      }
    }
  for (i = 0; i < VL; i++) any |= bad[i] != 0;
  return !any;
}

/* The gradient goes to each window's winner; overlapping windows that
** share a winner add up. */
Tensor *layer_maxpool2d_backward(const Tensor *x, const Tensor *argmax, const Tensor *gy) {
  Tensor *gx = NULL, *gc = NULL, *ac = NULL;
  int64_t pl, i, planes, hw, out_plane;
  char b1[128], b2[128];
  if (need_4d(x, "the input") != NN_OK || need_4d(gy, "the gradient") != NN_OK) return NULL;
  if (gy->size[0] != x->size[0] || gy->size[1] != x->size[1]) {
    nn_fail(NN_ESHAPE, "gradient %s does not fit input %s (batch and channels differ)",
            tensor_shape_str(gy, b1, sizeof b1), tensor_shape_str(x, b2, sizeof b2));
    return NULL;
  }
  if (!tensor_same_shape(argmax, gy)) {
    nn_fail(NN_ESHAPE, "argmax has shape %s but the gradient %s",
            tensor_shape_str(argmax, b1, sizeof b1), tensor_shape_str(gy, b2, sizeof b2));
    return NULL;
  }
  if ((gc = tensor_contiguous(gy)) == NULL || (ac = tensor_contiguous(argmax)) == NULL)
    goto fail;
  planes = x->size[0] * x->size[1];
  hw = x->size[2] * x->size[3];
  out_plane = gy->size[2] * gy->size[3];
  if (x->size[2] == 2 * gy->size[2] && x->size[3] == 2 * gy->size[3]) {
    if ((gx = tensor_new(4, x->size)) == NULL) goto fail;
    if (scatter_blocks(data_of(ac), data_of(gc), data_of(gx), planes, gy->size[2],
                       gy->size[3], x->size[3])) {
      tensor_release(ac);
      tensor_release(gc);
      return gx;
    }
    tensor_fill(gx, 0.0);
  }
  else if ((gx = tensor_zeros(4, x->size)) == NULL) goto fail;
  for (pl = 0; pl < planes; pl++) {
    const double *a = data_of(ac) + pl * out_plane, *d = data_of(gc) + pl * out_plane;
    double *dst = data_of(gx) + pl * hw;
    if (nn_check_interrupt() != NN_OK) goto fail;
    for (i = 0; i < out_plane; i++) {
      /* -1 marks a window that held no input; anything else must be a
      ** position in the plane, or the argmax came from another input */
      if (a[i] == -1) continue;
      if (!(a[i] >= 0 && a[i] < (double)hw && a[i] == floor(a[i]))) {
        nn_fail(NN_EARG, "argmax entry %g is not a position in the %lldx%lld plane of "
                "input %s", a[i], (long long)x->size[2], (long long)x->size[3],
                tensor_shape_str(x, b1, sizeof b1));
        goto fail;
      }
      dst[(int64_t)a[i]] += d[i];
    }
  }
  tensor_release(ac);
  tensor_release(gc);
  return gx;
fail:
  tensor_release(ac);
  tensor_release(gc);
  tensor_release(gx);
  return NULL;
}

/* ======================================================================
** Average pooling
** ====================================================================== */

/* One axis of window o: the real elements [*lo, *hi), and the returned
** size of the window clipped to the padded input [−pad, in + pad), which
** is PyTorch's divisor with count_include_pad. */
static int64_t avg_axis(int64_t o, int64_t in, int64_t k, int64_t stride, int64_t pad,
                        int64_t *lo, int64_t *hi) {
  int64_t a = o * stride - pad, b = a + k < in + pad ? a + k : in + pad;
  *lo = a > 0 ? a : 0;
  *hi = b < in ? b : in;
  return b - a;
}

/* Window o = [y0, y1) x [x0, x1) of a plane of width w: with gy == NULL
** the forward (out[o] = sum / div), else the backward (gx += gy[o] / div
** over the window).  Shared by average and adaptive pooling. */
static void average_window(const double *in, double *out, const double *gy, double *gx,
                           int64_t w, int64_t o, int64_t y0, int64_t y1, int64_t x0,
                           int64_t x1, double div) {
  int64_t iy, ix;
  if (gy == NULL) {
    double sum = 0.0;
    for (iy = y0; iy < y1; iy++)
      for (ix = x0; ix < x1; ix++) sum += in[iy * w + ix];
    out[o] = sum / div;
  } else {
    double share = gy[o] / div;
    for (iy = y0; iy < y1; iy++)
      for (ix = x0; ix < x1; ix++) gx[iy * w + ix] += share;
  }
}

/* Walks the windows of one plane; with gy == NULL it is the forward
** (out[o] = mean of window o), else the backward (gx += gy[o]/divisor
** over window o).  One walk keeps the two divisor rules from diverging. */
static void avgpool_plane(const Geom *g, const Pool2dParams *p, const double *in,
                          double *out, const double *gy, double *gx) {
  int64_t oy, ox, y0, y1, x0, x1, span_y, span_x;
  for (oy = 0; oy < g->oh; oy++) {
    span_y = avg_axis(oy, g->h, p->kernel[0], p->stride[0], p->padding[0], &y0, &y1);
    for (ox = 0; ox < g->ow; ox++) {
      double div;
      span_x = avg_axis(ox, g->w, p->kernel[1], p->stride[1], p->padding[1], &x0, &x1);
      if (y0 >= y1 || x0 >= x1) {   /* no real element: PyTorch leaves 0 */
        if (gy == NULL) out[oy * g->ow + ox] = 0.0;
        continue;
      }
      div = p->count_include_pad ? (double)(span_y * span_x) : (double)((y1 - y0) * (x1 - x0));
      average_window(in, out, gy, gx, g->w, oy * g->ow + ox, y0, y1, x0, x1, div);
    }
  }
}

Tensor *layer_avgpool2d(const Tensor *x, const Pool2dParams *p) {
  Geom g;
  Tensor *xc = NULL, *y = NULL;
  int64_t pl;
  if (pool_geometry(x, p, 0, &g) != NN_OK) return NULL;
  if ((xc = tensor_contiguous(x)) == NULL || (y = new_output(&g)) == NULL) goto fail;
  for (pl = 0; pl < g.n * g.c; pl++) {
    if (nn_check_interrupt() != NN_OK) goto fail;
    avgpool_plane(&g, p, data_of(xc) + pl * g.h * g.w, data_of(y) + pl * g.oh * g.ow,
                  NULL, NULL);
  }
  tensor_release(xc);
  return y;
fail:
  tensor_release(y);
  tensor_release(xc);
  return NULL;
}

Tensor *layer_avgpool2d_backward(const Tensor *x, const Pool2dParams *p, const Tensor *gy) {
  Geom g;
  Tensor *gc = NULL, *gx = NULL;
  int64_t pl;
  if (pool_geometry(x, p, 0, &g) != NN_OK || check_grad_shape(gy, &g) != NN_OK) return NULL;
  if ((gc = tensor_contiguous(gy)) == NULL || (gx = tensor_zeros(4, x->size)) == NULL)
    goto fail;
  for (pl = 0; pl < g.n * g.c; pl++) {
    if (nn_check_interrupt() != NN_OK) goto fail;
    avgpool_plane(&g, p, NULL, NULL, data_of(gc) + pl * g.oh * g.ow,
                  data_of(gx) + pl * g.h * g.w);
  }
  tensor_release(gc);
  return gx;
fail:
  tensor_release(gx);
  tensor_release(gc);
  return NULL;
}

/* ======================================================================
** Adaptive average pooling
** ====================================================================== */

static int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
static int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

/* Forward (gy == NULL) or backward of one plane, as in avgpool_plane. */
static void adaptive_plane(const Geom *g, const double *in, double *out, const double *gy,
                           double *gx) {
  int64_t oy, ox;
  for (oy = 0; oy < g->oh; oy++) {
    int64_t y0 = adaptive_start(oy, g->h, g->oh), y1 = adaptive_end(oy, g->h, g->oh);
    for (ox = 0; ox < g->ow; ox++) {
      int64_t x0 = adaptive_start(ox, g->w, g->ow), x1 = adaptive_end(ox, g->w, g->ow);
      average_window(in, out, gy, gx, g->w, oy * g->ow + ox, y0, y1, x0, x1,
                     (double)((y1 - y0) * (x1 - x0)));
    }
  }
}

/* x is 4-D with a non-empty image, and oh, ow are usable output sizes. */
static int adaptive_geometry(const Tensor *x, int64_t oh, int64_t ow, Geom *g) {
  char b[128];
  if (need_4d(x, "the input") != NN_OK) return NN_ESHAPE;
  if (oh < 1 || ow < 1)
    return nn_fail(NN_EARG, "output size must be at least 1x1 (got %lldx%lld)",
                   (long long)oh, (long long)ow);
  if (x->size[2] < 1 || x->size[3] < 1)
    return nn_fail(NN_ESHAPE, "input %s has an empty image to pool",
                   tensor_shape_str(x, b, sizeof b));
  /* i·H must not overflow in the window bounds */
  if (oh > POOL_SETTING_MAX || ow > POOL_SETTING_MAX || x->size[2] > POOL_SETTING_MAX ||
      x->size[3] > POOL_SETTING_MAX)
    return nn_fail(NN_ELIMIT, "adaptive pooling sizes must be at most %d (got input %s, "
                   "output %lldx%lld)", POOL_SETTING_MAX, tensor_shape_str(x, b, sizeof b),
                   (long long)oh, (long long)ow);
  g->n = x->size[0];
  g->c = x->size[1];
  g->h = x->size[2];
  g->w = x->size[3];
  g->oh = oh;
  g->ow = ow;
  return NN_OK;
}

Tensor *layer_adaptive_avgpool2d(const Tensor *x, int64_t oh, int64_t ow) {
  Geom g;
  Tensor *xc = NULL, *y = NULL;
  int64_t pl;
  if (adaptive_geometry(x, oh, ow, &g) != NN_OK) return NULL;
  if ((xc = tensor_contiguous(x)) == NULL || (y = new_output(&g)) == NULL) goto fail;
  for (pl = 0; pl < g.n * g.c; pl++) {
    if (nn_check_interrupt() != NN_OK) goto fail;
    adaptive_plane(&g, data_of(xc) + pl * g.h * g.w, data_of(y) + pl * g.oh * g.ow, NULL,
                   NULL);
  }
  tensor_release(xc);
  return y;
fail:
  tensor_release(y);
  tensor_release(xc);
  return NULL;
}

/* The output size comes from gy, so only x and gy are needed. */
Tensor *layer_adaptive_avgpool2d_backward(const Tensor *x, const Tensor *gy) {
  Geom g;
  Tensor *gc = NULL, *gx = NULL;
  int64_t pl;
  if (need_4d(gy, "the gradient") != NN_OK ||
      adaptive_geometry(x, gy->size[2], gy->size[3], &g) != NN_OK ||
      check_grad_shape(gy, &g) != NN_OK)
    return NULL;
  if ((gc = tensor_contiguous(gy)) == NULL || (gx = tensor_zeros(4, x->size)) == NULL)
    goto fail;
  for (pl = 0; pl < g.n * g.c; pl++) {
    if (nn_check_interrupt() != NN_OK) goto fail;
    adaptive_plane(&g, NULL, NULL, data_of(gc) + pl * g.oh * g.ow,
                   data_of(gx) + pl * g.h * g.w);
  }
  tensor_release(gc);
  return gx;
fail:
  tensor_release(gx);
  tensor_release(gc);
  return NULL;
}
