/*
** check_conv.c — convolution and transposed convolution (layers_conv.c):
** values worked by hand, a naive loop reference over many settings (both
** internal paths: the "wide" per-tap GEMMs of stride 1 on many channels,
** see conv_cases, and the blocked im2col otherwise, with batched samples
** and blocks that split rows), every backward against
** central finite differences of L = Σ(y·r) for a random r and against the
** reference loops, the adjoint identity that ties the two layers, the
** refusals with their messages, interruption, and no tensor left alive.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_fixture.h"
#include "check_suites.h"
#include "layers.h"
#include "ops.h"

#define TOL 1e-11      /* relative to the largest reference value */
#define FD_STEP 1e-5
#define FD_TOL 1e-7

/* ---- helpers ------------------------------------------------------------ */


static Tensor *mk4(int64_t a, int64_t b, int64_t c, int64_t d, const double *v) {
  int64_t s[4], i;
  Tensor *t;
  s[0] = a; s[1] = b; s[2] = c; s[3] = d;
  t = keep(v != NULL ? tensor_new(4, s) : op_randn(4, s));
  if (v != NULL)
    for (i = 0; i < tensor_numel(t); i++) t->storage->data[i] = v[i];
  return t;
}

static Tensor *randvec(int64_t n) { return keep(op_randn(1, &n)); }

static Conv2dParams params(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                           int64_t dw, int64_t groups) {
  Conv2dParams p;
  memset(&p, 0, sizeof p);
  p.stride[0] = sh; p.stride[1] = sw;
  p.padding[0] = ph; p.padding[1] = pw;
  p.dilation[0] = dh; p.dilation[1] = dw;
  p.groups = groups;
  return p;
}

static double at(const Tensor *t, int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t i[4];
  i[0] = a; i[1] = b; i[2] = c; i[3] = d;
  return *tensor_ptr(t, i);
}

static double *at_mut(Tensor *t, int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t i[4];
  i[0] = a; i[1] = b; i[2] = c; i[3] = d;
  return tensor_ptr(t, i);
}

static double dot(const Tensor *a, const Tensor *b) {
  double s = 0.0;
  int64_t i;
  ck_assert(tensor_same_shape(a, b));
  for (i = 0; i < tensor_numel(a); i++) s += tensor_get_flat(a, i) * tensor_get_flat(b, i);
  return s;
}

/* got == want within TOL of want's largest magnitude (at least 1). */
static void expect_close(const Tensor *got, const Tensor *want, double tol, const char *what) {
  double scale = 1.0;
  int64_t i, n = tensor_numel(want);
  char a[64], b[64];
  ck_assert_msg(tensor_same_shape(got, want), "%s: shape %s, want %s", what,
                tensor_shape_str(got, a, sizeof a), tensor_shape_str(want, b, sizeof b));
  for (i = 0; i < n; i++)
    if (fabs(tensor_get_flat(want, i)) > scale) scale = fabs(tensor_get_flat(want, i));
  for (i = 0; i < n; i++)
    ck_assert_msg(fabs(tensor_get_flat(got, i) - tensor_get_flat(want, i)) <= tol * scale,
                  "%s: element %lld is %.17g, want %.17g", what, (long long)i,
                  tensor_get_flat(got, i), tensor_get_flat(want, i));
}

static void expect_vals(const Tensor *t, const double *v, const char *what) {
  int64_t i;
  for (i = 0; i < tensor_numel(t); i++)
    ck_assert_msg(fabs(tensor_get_flat(t, i) - v[i]) <= 1e-14, "%s: element %lld is %.17g, "
                  "want %.17g", what, (long long)i, tensor_get_flat(t, i), v[i]);
}

#define FAILS(call, code, part)                                                      \
  do {                                                                               \
    int rc_ = (call);                                                                \
    ck_assert_msg(rc_ == (code), "%s gave %d (%s), want %d", #call, rc_, nn_errmsg(), \
                  (int)(code));                                                      \
    ck_assert_msg(strstr(nn_errmsg(), (part)) != NULL, "message \"%s\" lacks \"%s\"",   \
                  nn_errmsg(), (part));                                              \
  } while (0)

#define FAILS_NULL(call, code, part) FAILS((call) == NULL ? nn_errcode() : -1, code, part)

/* ---- the reference: plain loops over every output and kernel tap --------- */

/* One pass computes y (if wanted), and gx, gw for dL/dy = gy (if gy).
** Convolution: y[n,k,oh,ow] = b[k] + Σ x[n, g·Cg+c, oh·sh−ph+i·dh, ow·sw−pw+j·dw]·w[k,c,i,j].
** Transposed (w is Cin x Cout/g x kh x kw): x[n,ci,h,w] times w[ci,co,i,j]
** lands on y[n, g·Coutg+co, h·sh−ph+i·dh, w·sw−pw+j·dw]. */
static void naive(int transposed, const Tensor *x, const Tensor *w, const Tensor *b,
                  const Conv2dParams *p, Tensor *y, const Tensor *gy, Tensor *gx, Tensor *gw) {
  int64_t G = p->groups, N = x->size[0], Cx = x->size[1], H = x->size[2], W = x->size[3];
  int64_t kh = w->size[2], kw = w->size[3], n, a, c, h, v, i, j;
  const Tensor *o = y != NULL ? y : gy;   /* has the output's shape */
  /* the "small" side (spatially): conv output or transposed input */
  int64_t Cs = transposed ? Cx : w->size[0], Hs = transposed ? H : o->size[2];
  int64_t Ws = transposed ? W : o->size[3], Cb = transposed ? o->size[1] : Cx;
  int64_t Cbg = Cb / G, Csg = Cs / G, Hb = transposed ? o->size[2] : H;
  int64_t Wb = transposed ? o->size[3] : W;
  if (y != NULL) {
    tensor_fill(y, 0.0);
    if (b != NULL)
      for (n = 0; n < N; n++)
        for (c = 0; c < y->size[1]; c++)
          for (h = 0; h < y->size[2]; h++)
            for (v = 0; v < y->size[3]; v++) *at_mut(y, n, c, h, v) = tensor_get_flat(b, c);
  }
  if (gx != NULL) tensor_fill(gx, 0.0);
  if (gw != NULL) tensor_fill(gw, 0.0);
  for (n = 0; n < N; n++)
    for (a = 0; a < Cs; a++)            /* small-side channel */
      for (h = 0; h < Hs; h++)
        for (v = 0; v < Ws; v++)
          for (c = 0; c < Cbg; c++)     /* big-side channel within the group */
            for (i = 0; i < kh; i++)
              for (j = 0; j < kw; j++) {
                int64_t hb = h * p->stride[0] - p->padding[0] + i * p->dilation[0];
                int64_t wb = v * p->stride[1] - p->padding[1] + j * p->dilation[1];
                int64_t cb = a / Csg * Cbg + c;   /* same group as a */
                double wt, s, bg;
                if (hb < 0 || hb >= Hb || wb < 0 || wb >= Wb) continue;
                wt = at(w, a, c, i, j);   /* w[k][c] or w[ci][co]: both [a][c] */
                if (!transposed) {   /* small side is y, big side is x */
                  s = at(x, n, cb, hb, wb);
                  if (y != NULL) *at_mut(y, n, a, h, v) += s * wt;
                  if (gy != NULL) {
                    bg = at(gy, n, a, h, v);
                    *at_mut(gx, n, cb, hb, wb) += bg * wt;
                    *at_mut(gw, a, c, i, j) += bg * s;
                  }
                }
                else {               /* small side is x, big side is y */
                  s = at(x, n, a, h, v);
                  if (y != NULL) *at_mut(y, n, cb, hb, wb) += s * wt;
                  if (gy != NULL) {
                    bg = at(gy, n, cb, hb, wb);
                    *at_mut(gx, n, a, h, v) += bg * wt;
                    *at_mut(gw, a, c, i, j) += bg * s;
                  }
                }
              }
}

/* ---- settings ------------------------------------------------------------ */

typedef struct Case {
  const char *what;
  int64_t n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  int bias;
} Case;

/* Convolutions.  The direct kernels (conv_direct.c) take stride 1, one
** group, padding at most the image, Cin·kh·kw <= 400 and Cout <= 64.  The
** wide path takes the rest of stride 1 with >= 32 channels per group, wide
** rows at most 25% longer than the output's, and either a 1x1 unpadded
** kernel on >= 128 positions or more positions than one block of columns
** holds (2^18 / (channels·taps), at least 256).  every_path_matches_naive
** runs each case through each path. */
static const Case conv_cases[] = {
  {"plain 3x3", 1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 1, 1, 1, 0},
  {"stride 2", 2, 3, 7, 7, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1},
  {"asymmetric kernel, stride and padding", 1, 2, 7, 9, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1},
  {"padding 2", 1, 2, 6, 6, 2, 3, 3, 1, 1, 2, 2, 1, 1, 1, 0},
  {"dilation 2", 1, 2, 9, 9, 3, 3, 3, 1, 1, 0, 0, 2, 2, 1, 1},
  {"groups 2", 2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1},
  {"depthwise", 1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 1},
  {"depthwise x2, stride 2", 1, 3, 5, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 3, 0},
  {"batch 3 (samples side by side)", 3, 2, 5, 5, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1},
  {"batch 4, groups 2, stride 2", 4, 4, 6, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 1},
  {"1x1", 3, 3, 8, 8, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
  {"kernel as large as the input", 1, 3, 4, 4, 2, 4, 4, 1, 1, 0, 0, 1, 1, 1, 1},
  {"5x1 kernel, stride {3,2}, dilation {1,3}", 1, 2, 5, 7, 2, 5, 1, 3, 2, 2, 0, 1, 3, 1, 1},
  {"column blocks splitting rows", 1, 64, 40, 40, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1},
  {"wide 3x3 padding 1, batch 2", 2, 32, 32, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
  {"wide 5x5 padding 2", 1, 32, 20, 20, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1},
  {"wide 1x1, groups 2", 2, 64, 12, 12, 8, 1, 1, 1, 1, 0, 0, 1, 1, 2, 1},
  {"wide unpadded", 1, 32, 34, 34, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, 0},
  {"wide 2x2 unpadded", 1, 32, 47, 47, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1},
  {"wide dilation 2, padding {2,1}", 1, 32, 32, 34, 3, 3, 3, 1, 1, 2, 1, 2, 2, 1, 1},
  /* the direct kernels: output channels in blocks of 8, 6, 4, 2, 1,
  ** positions in blocks of 24 or 32, rows (Cin·taps) in blocks of 4-6 */
  {"direct: LeNet's first layer, batch 2", 2, 1, 14, 14, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1},
  {"direct: 7 channels out (a part block), padding {1,2}", 2, 3, 9, 11, 7, 3, 3, 1, 1, 1, 2, 1, 1, 1, 1},
  {"direct: 13 out, dilation {2,1}, 4 in", 1, 4, 10, 7, 13, 3, 2, 1, 1, 2, 0, 2, 1, 1, 0},
  {"direct: LeNet's second layer (16 out: two blocks of 8), batch 3", 3, 6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1},
  {"direct: 10 out (8 + 2), 7 rows of 1x1 (blocks of 4, one padded)", 2, 7, 5, 6, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
  {"direct: 1 out, padding as wide as the image", 1, 2, 3, 4, 1, 3, 3, 1, 1, 3, 4, 1, 1, 1, 1},
  {"direct: 3 out, dilation 3, 5x4 kernel", 2, 2, 16, 15, 3, 5, 4, 1, 1, 2, 1, 3, 3, 1, 0},
  {"direct: 64 out, 400 rows (the limits)", 1, 16, 9, 9, 64, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1},
  /* the input gradient runs only the tap rows that reach gy (Band): one
  ** output row under dilation 3 leaves input rows no tap reaches, and
  ** rows 2 wide put several in one block of positions */
  {"direct: dilation 3 over 7 rows to 1, rows 3 wide", 2, 3, 7, 3, 5, 3, 2, 1, 1, 0, 1, 3, 1, 1, 1},
  {"direct: 5 tap rows, padding 2, dilation 2, rows 2 wide", 1, 2, 9, 2, 3, 5, 1, 1, 1, 2, 0, 2, 1, 1, 0},
  /* output rows rounded up to half a vector (the forward) or a whole one
  ** (the weights, unless they use shifted copies) shorter than the padded
  ** ones: compact rows, for every vector width up to 8 */
  {"direct: compact rows, 9-wide kernel on 20 columns", 2, 3, 6, 20, 5, 3, 9, 1, 1, 0, 0, 1, 1, 1, 1},
  {"direct: compact rows with padding {1,2}", 1, 2, 5, 13, 4, 2, 7, 1, 1, 1, 2, 1, 1, 1, 0},
  {"direct: compact rows, dilation {1,2}, 9 out", 3, 2, 7, 18, 9, 3, 4, 1, 1, 0, 1, 1, 2, 1, 1},
  /* computed rows that are the output's (its width a multiple of the
  ** vector) take the blocks' whole vectors straight to y, the last part
  ** block through the tile buffer; an unpadded input gradient too */
  {"direct: 28-wide rows in place (LeNet's first layer, 32x32)", 2, 1, 32, 32, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1},
  {"direct: rows in place over two tiles, 16 in, 16 out", 1, 16, 36, 36, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1},
  /* found by random_geometries_on_every_path: a tap row wholly in a
  ** padding wider than the image zeroed the next sample's first column */
  {"columns: padding wider than the image, dilation 2, batch 2", 2, 4, 7, 1, 6, 4, 3, 1, 1, 1, 2, 2, 2, 1, 0},
  {"columns at stride 1 past the direct limit (65 out)", 2, 5, 8, 8, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
  /* a kernel over the whole unpadded input is one matrix product */
  {"whole-input kernel (LeNet's C5), batch 3, stride 2", 3, 5, 5, 5, 7, 5, 5, 2, 2, 0, 0, 1, 1, 1, 1},
  {"whole-input 3x2 kernel, 1 channel", 2, 1, 3, 2, 4, 3, 2, 1, 1, 0, 0, 1, 1, 1, 0},
};
#define NCONV ((int)(sizeof conv_cases / sizeof conv_cases[0]))

/* Transposed: cin is the input's channels, cout the output's; sh.. as
** above; opad per axis in oh, ow. */
typedef struct TCaseT {
  Case c;
  int64_t oh, ow;
} TCaseT;

static const TCaseT tconv_cases[] = {
  {{"plain 2x2", 1, 1, 2, 2, 1, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0}, 0, 0},
  {{"stride 2, padding 1, output_padding 1", 2, 3, 4, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, 1, 1},
  {{"groups 2, asymmetric", 1, 4, 3, 5, 6, 2, 3, 2, 1, 0, 1, 1, 2, 2, 1}, 1, 0},
  {{"output_padding past the stride (dilation 2)", 1, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1}, 1, 1},
  {{"depthwise, batch 3", 3, 3, 3, 3, 3, 3, 3, 2, 2, 0, 0, 1, 1, 3, 1}, 0, 0},
  {{"wide (32 output channels)", 1, 4, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 0},
  {{"wide, restricted by output_padding", 1, 4, 32, 32, 32, 3, 3, 1, 1, 1, 1, 2, 2, 1, 0}, 1, 1},
};
#define NTCONV ((int)(sizeof tconv_cases / sizeof tconv_cases[0]))

static Conv2dParams case_params(const Case *c) {
  return params(c->sh, c->sw, c->ph, c->pw, c->dh, c->dw, c->groups);
}

/* x, w, b (or NULL) of a case, random. */
static void case_operands(const Case *c, int transposed, Tensor **x, Tensor **w, Tensor **b) {
  *x = mk4(c->n, c->cin, c->h, c->w, NULL);
  *w = transposed ? mk4(c->cin, c->cout / c->groups, c->kh, c->kw, NULL)
                  : mk4(c->cout, c->cin / c->groups, c->kh, c->kw, NULL);
  *b = c->bias ? randvec(c->cout) : NULL;
}

static Tensor *layer(int transposed, const Tensor *x, const Tensor *w, const Tensor *b,
                     const Conv2dParams *p) {
  return transposed ? layer_conv_transpose2d(x, w, b, p) : layer_conv2d(x, w, b, p);
}

static int layer_back(int transposed, const Tensor *x, const Tensor *w, const Conv2dParams *p,
                      const Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb) {
  return transposed ? layer_conv_transpose2d_backward(x, w, p, gy, gx, gw, gb)
                    : layer_conv2d_backward(x, w, p, gy, gx, gw, gb);
}

/* The forward against the loops, then the backward against the loops. */
static void check_against_naive(const Case *c, int transposed, const Conv2dParams *p) {
  Tensor *x, *w, *b, *y, *want, *gy, *gx, *gw, *gb, *wgx, *wgw;
  double gbk;
  int64_t k, n, h, v;
  case_operands(c, transposed, &x, &w, &b);
  y = keep(layer(transposed, x, w, b, p));
  want = keep(tensor_zeros(4, y->size));
  naive(transposed, x, w, b, p, want, NULL, NULL, NULL);
  expect_close(y, want, TOL, c->what);
  gy = mk4(y->size[0], y->size[1], y->size[2], y->size[3], NULL);
  ck_assert_int_eq(layer_back(transposed, x, w, p, gy, &gx, &gw, &gb), NN_OK);
  keep(gx); keep(gw); keep(gb);
  wgx = keep(tensor_zeros(4, x->size));
  wgw = keep(tensor_zeros(4, w->size));
  naive(transposed, x, w, NULL, p, NULL, gy, wgx, wgw);
  expect_close(gx, wgx, TOL, "gx");
  expect_close(gw, wgw, TOL, "gw");
  for (k = 0; k < gy->size[1]; k++) {
    gbk = 0.0;
    for (n = 0; n < gy->size[0]; n++)
      for (h = 0; h < gy->size[2]; h++)
        for (v = 0; v < gy->size[3]; v++) gbk += at(gy, n, k, h, v);
    ck_assert_msg(fabs(tensor_get_flat(gb, k) - gbk) <= TOL * (1 + fabs(gbk)), "gb");
  }
}

/* Central differences of L = Σ y·r by every entry of x, w and b. */
static void check_fd(const Case *c, int transposed, const Conv2dParams *p) {
  Tensor *x, *w, *b, *y, *r, *gx, *gw, *gb, *ops[3], *grads[3];
  int k;
  case_operands(c, transposed, &x, &w, &b);
  if (b == NULL) b = randvec(c->cout);
  y = keep(layer(transposed, x, w, b, p));
  r = mk4(y->size[0], y->size[1], y->size[2], y->size[3], NULL);
  ck_assert_int_eq(layer_back(transposed, x, w, p, r, &gx, &gw, &gb), NN_OK);
  keep(gx); keep(gw); keep(gb);
  ops[0] = x; ops[1] = w; ops[2] = b;
  grads[0] = gx; grads[1] = gw; grads[2] = gb;
  for (k = 0; k < 3; k++) {
    int64_t i;
    for (i = 0; i < tensor_numel(ops[k]); i++) {
      double *e = ops[k]->storage->data + i, save = *e, lp, lm, num;
      Tensor *t;
      *e = save + FD_STEP;
      t = layer(transposed, x, w, b, p);
      lp = dot(t, r);
      tensor_release(t);
      *e = save - FD_STEP;
      t = layer(transposed, x, w, b, p);
      lm = dot(t, r);
      tensor_release(t);
      *e = save;
      num = (lp - lm) / (2 * FD_STEP);
      ck_assert_msg(fabs(num - tensor_get_flat(grads[k], i)) <= FD_TOL * (1 + fabs(num)),
                    "%s: d/d%s[%lld] is %.12g, numerically %.12g", c->what,
                    k == 0 ? "x" : k == 1 ? "w" : "b", (long long)i,
                    tensor_get_flat(grads[k], i), num);
    }
  }
}

static Conv2dParams tcase_params(const TCaseT *t) {
  Conv2dParams p = case_params(&t->c);
  p.output_padding[0] = t->oh;
  p.output_padding[1] = t->ow;
  return p;
}

/* ---- hand-worked values ------------------------------------------------- */

START_TEST(diagonal_kernel_by_hand) {
  /* [[6,0,1],[3,4,1],[4,7,0]] with [[1,0],[0,1]]: each output is the sum of
  ** a window's main diagonal: 6+4, 0+1 / 3+7, 4+0 */
  static const double xv[] = {6, 0, 1, 3, 4, 1, 4, 7, 0}, kv[] = {1, 0, 0, 1};
  static const double want[] = {10, 1, 10, 4};
  Conv2dParams p = params(1, 1, 0, 0, 1, 1, 1);
  Tensor *y = keep(layer_conv2d(mk4(1, 1, 3, 3, xv), mk4(1, 1, 2, 2, kv), NULL, &p));
  ck_assert_int_eq(y->size[2], 2);
  ck_assert_int_eq(y->size[3], 2);
  expect_vals(y, want, "diagonal");
  finish();
}
END_TEST

START_TEST(averaging_kernel_is_average_pooling) {
  /* 1..16 in a 4x4; 2x2 kernel of 0.25, stride 2: the mean of each
  ** 2x2 block, (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5, ... */
  static const double kv[] = {0.25, 0.25, 0.25, 0.25}, want[] = {3.5, 5.5, 11.5, 13.5};
  double xv[16];
  Conv2dParams p = params(2, 2, 0, 0, 1, 1, 1);
  int i;
  for (i = 0; i < 16; i++) xv[i] = i + 1;
  expect_vals(keep(layer_conv2d(mk4(1, 1, 4, 4, xv), mk4(1, 1, 2, 2, kv), NULL, &p)), want,
              "average");
  finish();
}
END_TEST

START_TEST(rgb_to_gray_is_a_1x1_conv) {
  /* pixels red, green, blue, white: gray = 0.299 R + 0.587 G + 0.114 B */
  static const double xv[] = {1, 0, 0, 1, /* R */ 0, 1, 0, 1, /* G */ 0, 0, 1, 1 /* B */};
  static const double wv[] = {0.299, 0.587, 0.114}, want[] = {0.299, 0.587, 0.114, 1.0};
  Conv2dParams p = params(1, 1, 0, 0, 1, 1, 1);
  expect_vals(keep(layer_conv2d(mk4(1, 3, 2, 2, xv), mk4(1, 3, 1, 1, wv), NULL, &p)), want,
              "gray");
  finish();
}
END_TEST

START_TEST(difference_kernels_on_a_ramp) {
  /* x[h][w] = 2w + 3h: [-1 1] across gives 2 everywhere (5x4), down 3 (4x5);
  ** with padding 1 across, the first column sees 0 on its left (x itself,
  ** 3h) and the last sees 0 on its right (−x, −(8 + 3h)) */
  static const double d[] = {-1, 1};
  double xv[25];
  Conv2dParams p = params(1, 1, 0, 0, 1, 1, 1), pp = params(1, 1, 0, 1, 1, 1, 1);
  Tensor *x, *gx, *gy, *gp;
  int h, v;
  for (h = 0; h < 5; h++)
    for (v = 0; v < 5; v++) xv[h * 5 + v] = 2 * v + 3 * h;
  x = mk4(1, 1, 5, 5, xv);
  gx = keep(layer_conv2d(x, mk4(1, 1, 1, 2, d), NULL, &p));
  gy = keep(layer_conv2d(x, mk4(1, 1, 2, 1, d), NULL, &p));
  gp = keep(layer_conv2d(x, mk4(1, 1, 1, 2, d), NULL, &pp));
  ck_assert_int_eq(gx->size[3], 4);
  ck_assert_int_eq(gy->size[2], 4);
  ck_assert_int_eq(gp->size[3], 6);
  for (h = 0; h < 20; h++) {
    ck_assert_double_eq(tensor_get_flat(gx, h), 2.0);
    ck_assert_double_eq(tensor_get_flat(gy, h), 3.0);
  }
  for (h = 0; h < 5; h++) {
    ck_assert_double_eq(at(gp, 0, 0, h, 0), 3.0 * h);
    ck_assert_double_eq(at(gp, 0, 0, h, 3), 2.0);
    ck_assert_double_eq(at(gp, 0, 0, h, 5), -(8.0 + 3.0 * h));
  }
  finish();
}
END_TEST

START_TEST(transposed_by_hand) {
  /* [[1,2],[3,4]] spread by [[1,0],[0,1]]: itself at (0,0) plus itself
  ** shifted to (1,1); bias 10 on every output */
  static const double xv[] = {1, 2, 3, 4}, kv[] = {1, 0, 0, 1}, bv[] = {10};
  static const double want[] = {11, 12, 10, 13, 15, 12, 10, 13, 14};
  Conv2dParams p = params(1, 1, 0, 0, 1, 1, 1);
  int64_t one = 1;
  Tensor *b = keep(tensor_new(1, &one));
  b->storage->data[0] = bv[0];
  expect_vals(keep(layer_conv_transpose2d(mk4(1, 1, 2, 2, xv), mk4(1, 1, 2, 2, kv), b, &p)),
              want, "transposed");
  finish();
}
END_TEST

/* ---- shape rules ---------------------------------------------------------- */

START_TEST(shape_rules) {
  int64_t o = -1;
  ck_assert_int_eq(conv_out_size(5, 3, 1, 0, 1, &o), NN_OK);
  ck_assert_int_eq(o, 3);
  ck_assert_int_eq(conv_out_size(7, 3, 2, 1, 1, &o), NN_OK);   /* (7+2−3)/2+1 */
  ck_assert_int_eq(o, 4);
  ck_assert_int_eq(conv_out_size(9, 3, 1, 0, 2, &o), NN_OK);   /* span 5 */
  ck_assert_int_eq(o, 5);
  ck_assert_int_eq(conv_out_size(4, 5, 1, 1, 1, &o), NN_OK);
  ck_assert_int_eq(o, 2);
  FAILS(conv_out_size(4, 5, 1, 0, 1, &o), NN_ESHAPE, "input size 4 is too small for kernel 5");
  FAILS(conv_out_size(0, 1, 1, 1, 1, &o), NN_ESHAPE, "input size 0");
  FAILS(conv_out_size(4, 0, 1, 0, 1, &o), NN_EARG, "kernel size must be at least 1");
  FAILS(conv_out_size(4, 2, 0, 0, 1, &o), NN_EARG, "stride must be at least 1 (got 0)");
  FAILS(conv_out_size(4, 2, 1, -1, 1, &o), NN_EARG, "padding must not be negative");
  FAILS(conv_out_size(4, 2, 1, 0, 0, &o), NN_EARG, "dilation must be at least 1");
  FAILS(conv_out_size(4, (int64_t)1 << 40, 1, 0, (int64_t)1 << 30, &o), NN_ELIMIT, "too large");
  /* transposed: (in−1)·s − 2p + d(k−1) + op + 1 */
  ck_assert_int_eq(conv_transpose_out_size(3, 3, 2, 1, 1, 1, &o), NN_OK);
  ck_assert_int_eq(o, 6);
  ck_assert_int_eq(conv_transpose_out_size(3, 3, 2, 1, 1, 0, &o), NN_OK);
  ck_assert_int_eq(o, 5);
  ck_assert_int_eq(conv_transpose_out_size(4, 3, 1, 1, 2, 1, &o), NN_OK);   /* op < dil */
  ck_assert_int_eq(o, 7);
  FAILS(conv_transpose_out_size(3, 3, 2, 1, 1, 2, &o), NN_EARG, "output_padding 2");
  FAILS(conv_transpose_out_size(3, 3, 1, 0, 1, 1, &o), NN_EARG, "smaller than the stride 1");
  FAILS(conv_transpose_out_size(3, 3, 2, 0, 1, -1, &o), NN_EARG, "output_padding -1");
  FAILS(conv_transpose_out_size(1, 1, 1, 1, 1, 0, &o), NN_ESHAPE, "empty output");
  finish();
}
END_TEST

/* ---- against the reference ---------------------------------------------- */

START_TEST(conv_matches_naive) {
  Conv2dParams p = case_params(&conv_cases[_i]);
  check_against_naive(&conv_cases[_i], 0, &p);
  finish();
}
END_TEST

/* Every case again with each path forced where it applies (columns
** elsewhere): the three must agree with the loops whatever the dispatch
** picks today.  _i runs over cases x {columns, wide, direct}. */
START_TEST(every_path_matches_naive) {
  static const ConvPath paths[] = {CONV_COLUMNS, CONV_WIDE, CONV_DIRECT};
  const Case *c = &conv_cases[_i / 3];
  Conv2dParams p = case_params(c);
  conv_force_path(paths[_i % 3]);
  check_against_naive(c, 0, &p);
  if (_i / 3 < NTCONV) {
    Conv2dParams pt = tcase_params(&tconv_cases[_i / 3]);
    check_against_naive(&tconv_cases[_i / 3].c, 1, &pt);
  }
  conv_force_path(CONV_AUTO);
  finish();
}
END_TEST

/* 6 random geometries in each of the 10 runs of this test (seeded by
** _i, so a failure names its run): channels and kernels around every
** block size of the direct kernels, paddings up to past the image,
** dilations, batches, a third strided or grouped; through the direct
** kernels, columns and the wide form, each against the loops, the
** transposed convolution too. */
static uint64_t lcg(uint64_t *st) {
  *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
  return *st >> 33;
}

START_TEST(random_geometries_on_every_path) {
  static const ConvPath paths[] = {CONV_DIRECT, CONV_COLUMNS, CONV_WIDE};
  uint64_t st = 1000 + (uint64_t)_i;
  int tries = 0, done = 0;
  while (done < 6 && tries++ < 200) {
    Case c = {"random", 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0};
    Conv2dParams p;
    int64_t o;
    int k;
    c.n = 1 + (int64_t)(lcg(&st) % 3);
    c.cin = 1 + (int64_t)(lcg(&st) % 10);
    c.h = 1 + (int64_t)(lcg(&st) % 12);
    c.w = 1 + (int64_t)(lcg(&st) % 12);
    c.cout = 1 + (int64_t)(lcg(&st) % 14);
    c.kh = 1 + (int64_t)(lcg(&st) % 5);
    c.kw = 1 + (int64_t)(lcg(&st) % 5);
    c.ph = (int64_t)(lcg(&st) % 4);
    c.pw = (int64_t)(lcg(&st) % 4);
    c.dh = 1 + (int64_t)(lcg(&st) % 2);
    c.dw = 1 + (int64_t)(lcg(&st) % 2);
    c.bias = (int)(lcg(&st) % 2);
    /* a third of them strided or grouped: columns then, whatever is forced */
    if (lcg(&st) % 3 == 0) {
      c.sh = 1 + (int64_t)(lcg(&st) % 2);
      c.sw = 1 + (int64_t)(lcg(&st) % 2);
      c.groups = (c.cin % 2 == 0 && c.cout % 2 == 0) ? 2 : 1;
    }
    if (conv_out_size(c.h, c.kh, c.sh, c.ph, c.dh, &o) != NN_OK ||
        conv_out_size(c.w, c.kw, c.sw, c.pw, c.dw, &o) != NN_OK)
      continue;
    p = case_params(&c);
    p.output_padding[0] = p.output_padding[1] = 0;
    for (k = 0; k < 3; k++) {
      int64_t t;
      conv_force_path(paths[k]);
      check_against_naive(&c, 0, &p);
      if (conv_transpose_out_size(c.h, c.kh, c.sh, c.ph, c.dh, 0, &t) == NN_OK &&
          conv_transpose_out_size(c.w, c.kw, c.sw, c.pw, c.dw, 0, &t) == NN_OK)
        check_against_naive(&c, 1, &p);
    }
    finish();   /* (releases this geometry's tensors: none may be left) */
    done++;
  }
  conv_force_path(CONV_AUTO);
  ck_assert_int_eq(done, 6);
  finish();
}
END_TEST

START_TEST(conv_transpose_matches_naive) {
  Conv2dParams p = tcase_params(&tconv_cases[_i]);
  Tensor *x, *w, *b, *y;
  int64_t o[2];
  int d;
  check_against_naive(&tconv_cases[_i].c, 1, &p);
  /* and the shape is the rule's */
  case_operands(&tconv_cases[_i].c, 1, &x, &w, &b);
  y = keep(layer_conv_transpose2d(x, w, b, &p));
  for (d = 0; d < 2; d++) {
    ck_assert_int_eq(conv_transpose_out_size(x->size[2 + d], w->size[2 + d], p.stride[d],
                                             p.padding[d], p.dilation[d],
                                             p.output_padding[d], &o[d]), NN_OK);
    ck_assert_int_eq(y->size[2 + d], o[d]);
  }
  ck_assert_int_eq(y->size[1], tconv_cases[_i].c.cout);
  finish();
}
END_TEST

START_TEST(non_contiguous_operands) {
  /* x and w transposed in H/W, gy a narrowed view: same as their copies */
  Conv2dParams p = params(2, 1, 1, 0, 1, 2, 1);
  Tensor *xs = mk4(2, 3, 9, 7, NULL), *ws = mk4(4, 3, 2, 3, NULL);
  Tensor *x = keep(tensor_transpose(xs, 2, 3)), *w = keep(tensor_transpose(ws, 2, 3));
  Tensor *xc = keep(tensor_clone(x)), *wc = keep(tensor_clone(w));
  Tensor *y = keep(layer_conv2d(x, w, NULL, &p)), *want = keep(layer_conv2d(xc, wc, NULL, &p));
  Tensor *big, *gy, *gyc, *gx, *gw, *gb, *gx2, *gw2, *gb2;
  ck_assert(!tensor_is_contiguous(x));
  expect_close(y, want, 0.0, "strided forward");
  big = mk4(y->size[0], y->size[1] + 2, y->size[2], y->size[3], NULL);
  gy = keep(tensor_narrow(big, 1, 1, y->size[1]));
  gyc = keep(tensor_clone(gy));
  ck_assert_int_eq(layer_conv2d_backward(x, w, &p, gy, &gx, &gw, &gb), NN_OK);
  keep(gx); keep(gw); keep(gb);
  ck_assert_int_eq(layer_conv2d_backward(xc, wc, &p, gyc, &gx2, &gw2, &gb2), NN_OK);
  keep(gx2); keep(gw2); keep(gb2);
  expect_close(gx, gx2, 0.0, "strided gx");
  expect_close(gw, gw2, 0.0, "strided gw");
  expect_close(gb, gb2, 0.0, "strided gb");
  finish();
}
END_TEST

START_TEST(only_wanted_gradients) {
  /* NULL outputs are skipped; what is computed matches the full call */
  const Case *c = &conv_cases[5];
  Conv2dParams p = case_params(c);
  Tensor *x, *w, *b, *y, *gy, *gx, *gw, *gb, *gw2;
  case_operands(c, 0, &x, &w, &b);
  y = keep(layer_conv2d(x, w, b, &p));
  gy = mk4(y->size[0], y->size[1], y->size[2], y->size[3], NULL);
  ck_assert_int_eq(layer_conv2d_backward(x, w, &p, gy, &gx, &gw, &gb), NN_OK);
  keep(gx); keep(gw); keep(gb);
  ck_assert_int_eq(layer_conv2d_backward(x, w, &p, gy, NULL, &gw2, NULL), NN_OK);
  expect_close(keep(gw2), gw, 0.0, "gw alone");
  ck_assert_int_eq(layer_conv_transpose2d_backward(y, w, &p, x, NULL, NULL, &gb), NN_OK);
  ck_assert_int_eq(keep(gb)->size[0], c->cin);
  finish();
}
END_TEST

/* ---- finite differences -------------------------------------------------- */

START_TEST(conv_backward_by_finite_differences) {
  static const int pick[] = {0, 1, 2, 4, 5, 7, 8, 12};
  const Case *c = &conv_cases[pick[_i]];
  Conv2dParams p = case_params(c);
  check_fd(c, 0, &p);
  finish();
}
END_TEST

START_TEST(conv_transpose_backward_by_finite_differences) {
  Conv2dParams p = tcase_params(&tconv_cases[_i]);
  check_fd(&tconv_cases[_i].c, 1, &p);
  finish();
}
END_TEST

/* ---- the two layers are adjoint ------------------------------------------- */

START_TEST(transpose_is_the_adjoint) {
  /* <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, with output_padding
  ** chosen so the transposed output has x's size */
  const Case *c = &conv_cases[_i];
  Conv2dParams p = case_params(c);
  Tensor *x, *w, *b, *cx, *y, *ty;
  double lhs, rhs;
  int d;
  case_operands(c, 0, &x, &w, &b);
  cx = keep(layer_conv2d(x, w, NULL, &p));
  y = mk4(cx->size[0], cx->size[1], cx->size[2], cx->size[3], NULL);
  for (d = 0; d < 2; d++)
    p.output_padding[d] =
      (x->size[2 + d] + 2 * p.padding[d] - p.dilation[d] * (w->size[2 + d] - 1) - 1) %
      p.stride[d];
  ty = keep(layer_conv_transpose2d(y, w, NULL, &p));
  ck_assert(tensor_same_shape(ty, x));
  lhs = dot(cx, y);
  rhs = dot(x, ty);
  ck_assert_msg(fabs(lhs - rhs) <= 1e-10 * (1 + fabs(lhs)), "%s: %.17g vs %.17g", c->what,
                lhs, rhs);
  finish();
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

START_TEST(conv_errors) {
  Conv2dParams p = params(1, 1, 0, 0, 1, 1, 1), q;
  Tensor *x = mk4(1, 3, 4, 4, NULL), *w = mk4(2, 3, 3, 3, NULL), *gx = x, *gw = x, *gb = x;
  int64_t s3[3] = {3, 4, 4}, s2[2] = {2, 3}, old = nn_max_elements();
  Tensor *x3 = keep(op_randn(3, s3)), *m = keep(op_randn(2, s2));
  FAILS_NULL(layer_conv2d(x3, w, NULL, &p), NN_ESHAPE, "expected a 4-D input (N x C x H x W), got 3x4x4");
  FAILS_NULL(layer_conv2d(x, m, NULL, &p), NN_ESHAPE, "expected 4-D weights (Cout x Cin/groups x kh x kw), got 2x3");
  FAILS_NULL(layer_conv2d(x, mk4(2, 4, 3, 3, NULL), NULL, &p), NN_ESHAPE,
             "input has 3 channels, the weights expect 4 (groups 1): input 1x3x4x4, weights 2x4x3x3");
  q = p; q.groups = 2;
  FAILS_NULL(layer_conv2d(x, mk4(2, 1, 3, 3, NULL), NULL, &q), NN_ESHAPE,
             "input 1x3x4x4 has 3 channels, not divisible by groups 2");
  FAILS_NULL(layer_conv2d(mk4(1, 4, 4, 4, NULL), mk4(3, 2, 3, 3, NULL), NULL, &q), NN_ESHAPE,
             "weights 3x2x3x3 have 3 output channels, not divisible by groups 2");
  FAILS_NULL(layer_conv2d(mk4(1, 4, 4, 4, NULL), w, NULL, &q), NN_ESHAPE,
             "the weights expect 6 (groups 2)");
  q.groups = 0;
  FAILS_NULL(layer_conv2d(x, w, NULL, &q), NN_EARG, "groups must be at least 1 (got 0)");
  FAILS_NULL(layer_conv2d(x, w, randvec(3), &p), NN_ESHAPE,
             "bias has shape 3, expected 2 (one per output channel)");
  FAILS_NULL(layer_conv2d(x, w, m, &p), NN_ESHAPE, "bias has shape 2x3");
  q = p; q.stride[0] = 0;
  FAILS_NULL(layer_conv2d(x, w, NULL, &q), NN_EARG, "stride must be at least 1 (got {0, 1})");
  q = p; q.dilation[1] = 0;
  FAILS_NULL(layer_conv2d(x, w, NULL, &q), NN_EARG, "dilation must be at least 1 (got {1, 0})");
  q = p; q.padding[0] = q.padding[1] = -1;
  FAILS_NULL(layer_conv2d(x, w, NULL, &q), NN_EARG, "padding must not be negative (got -1)");
  FAILS_NULL(layer_conv2d(x, mk4(2, 3, 5, 5, NULL), NULL, &p), NN_ESHAPE,
             "input 1x3x4x4 is too small for the 5x5 kernel with padding 0 and dilation 1");
  q = p; q.dilation[0] = q.dilation[1] = 2;
  FAILS_NULL(layer_conv2d(x, w, NULL, &q), NN_ESHAPE,
             "input 1x3x4x4 is too small for the 3x3 kernel with padding 0 and dilation 2");
  q = p; q.padding[1] = 1;   /* 5 columns fit with padding 1, 4 rows do not */
  FAILS_NULL(layer_conv2d(x, mk4(2, 3, 5, 5, NULL), NULL, &q), NN_ESHAPE,
             "padding {0, 1} and dilation 1");
  FAILS_NULL(layer_conv2d(mk4(1, 3, 0, 4, NULL), w, NULL, &p), NN_ESHAPE,
             "input 1x3x0x4 has an empty image");
  FAILS_NULL(layer_conv2d(x, mk4(2, 3, 0, 3, NULL), NULL, &p), NN_ESHAPE,
             "weights 2x3x0x3 have an empty kernel");
  /* the output over the size cap: refused by the allocator, nothing leaks */
  ck_assert_int_eq(nn_set_max_elements(100), NN_OK);
  FAILS_NULL(layer_conv2d(x, mk4(20, 3, 1, 1, NULL), NULL, &p), NN_ELIMIT, "1x20x4x4");
  ck_assert_int_eq(nn_set_max_elements(old), NN_OK);
  /* backward: the gradient must have the output's shape; outputs are NULL */
  FAILS(layer_conv2d_backward(x, w, &p, mk4(1, 2, 3, 3, NULL), &gx, &gw, &gb), NN_ESHAPE,
        "gradient 1x2x3x3 does not match the output 1x2x2x2");
  ck_assert(gx == NULL && gw == NULL && gb == NULL);
  FAILS(layer_conv2d_backward(x, mk4(2, 4, 3, 3, NULL), &p, x, &gx, NULL, NULL), NN_ESHAPE,
        "input has 3 channels");
  finish();
}
END_TEST

START_TEST(conv_transpose_errors) {
  Conv2dParams p = params(2, 2, 0, 0, 1, 1, 1), q;
  Tensor *x = mk4(1, 3, 4, 4, NULL), *w = mk4(3, 2, 3, 3, NULL), *gx = x;
  q = p; q.output_padding[0] = 2;
  FAILS_NULL(layer_conv_transpose2d(x, w, NULL, &q), NN_EARG,
             "output_padding {2, 0} must be at least 0 and smaller than the stride 2 or the dilation 1");
  q = params(1, 1, 0, 0, 1, 1, 1); q.output_padding[1] = 1;
  FAILS_NULL(layer_conv_transpose2d(x, w, NULL, &q), NN_EARG, "output_padding {0, 1}");
  FAILS_NULL(layer_conv_transpose2d(x, mk4(4, 2, 3, 3, NULL), NULL, &p), NN_ESHAPE,
             "input has 3 channels, the weights expect 4 (groups 1): input 1x3x4x4, weights 4x2x3x3");
  q = p; q.groups = 2;
  FAILS_NULL(layer_conv_transpose2d(x, w, NULL, &q), NN_ESHAPE,
             "input 1x3x4x4 has 3 channels, not divisible by groups 2");
  FAILS_NULL(layer_conv_transpose2d(x, w, randvec(3), &p), NN_ESHAPE,
             "bias has shape 3, expected 2");
  q = params(1, 1, 2, 2, 1, 1, 1);
  FAILS_NULL(layer_conv_transpose2d(mk4(1, 3, 1, 1, NULL), mk4(3, 2, 3, 3, NULL), NULL, &q),
             NN_ESHAPE, "input 1x3x1x1 gives an empty output with the 3x3 kernel, stride 1, "
             "padding 2 and dilation 1");
  FAILS(layer_conv_transpose2d_backward(x, w, &p, x, &gx, NULL, NULL), NN_ESHAPE,
        "gradient 1x3x4x4 does not match the output 1x2x9x9");
  ck_assert_ptr_null(gx);
  finish();
}
END_TEST

START_TEST(empty_batch) {
  Conv2dParams p = params(1, 1, 1, 1, 1, 1, 1);
  Tensor *x = mk4(0, 3, 5, 5, NULL), *w = mk4(2, 3, 3, 3, NULL), *y, *gx, *gw, *gb, *b;
  int64_t i;
  y = keep(layer_conv2d(x, w, randvec(2), &p));
  ck_assert_int_eq(y->size[0], 0);
  ck_assert_int_eq(layer_conv2d_backward(x, w, &p, y, &gx, &gw, &gb), NN_OK);
  keep(gx); keep(gw); keep(gb);
  ck_assert_double_eq(tensor_get_flat(gw, 0), 0.0);
  ck_assert_double_eq(tensor_get_flat(gb, 1), 0.0);
  /* no input channels: an empty sum, so the output is the bias */
  x = mk4(2, 0, 4, 4, NULL);
  b = randvec(3);
  y = keep(layer_conv2d(x, mk4(3, 0, 2, 2, NULL), b, &p));
  ck_assert_int_eq(y->size[1], 3);
  for (i = 0; i < tensor_numel(y); i++)
    ck_assert_double_eq(tensor_get_flat(y, i), tensor_get_flat(b, i / 25 % 3));
  finish();
}
END_TEST

START_TEST(interrupted) {
  /* the cols path, the wide path, the direct kernels, the backward and the
  ** transpose all stop, clear the flag and leave nothing behind */
  static const ConvPath paths[] = {CONV_WIDE, CONV_DIRECT};
  const Case *small = &conv_cases[1], *wide = &conv_cases[14];
  Conv2dParams ps = case_params(small), pw = case_params(wide);
  Tensor *x, *w, *b, *xw, *ww, *bw, *gx = NULL, *gw = NULL, *gb = NULL, *y;
  int i;
  case_operands(small, 0, &x, &w, &b);
  case_operands(wide, 0, &xw, &ww, &bw);
  nn_interrupted = 1;
  FAILS_NULL(layer_conv2d(x, w, b, &ps), NN_EINTR, "interrupted");
  ck_assert_int_eq(nn_interrupted, 0);
  for (i = 0; i < 2; i++) {
    conv_force_path(paths[i]);
    nn_interrupted = 1;
    FAILS_NULL(layer_conv2d(xw, ww, bw, &pw), NN_EINTR, "interrupted");
    y = keep(layer_conv2d(xw, ww, bw, &pw));
    nn_interrupted = 1;
    FAILS(layer_conv2d_backward(xw, ww, &pw, y, &gx, &gw, &gb), NN_EINTR, "interrupted");
    ck_assert(gx == NULL && gw == NULL && gb == NULL);
    nn_interrupted = 1;
    FAILS_NULL(layer_conv_transpose2d(y, ww, NULL, &pw), NN_EINTR, "interrupted");
    nn_interrupted = 1;
    FAILS(layer_conv_transpose2d_backward(y, ww, &pw, xw, &gx, &gw, &gb), NN_EINTR,
          "interrupted");
    ck_assert_int_eq(nn_interrupted, 0);
  }
  conv_force_path(CONV_AUTO);
  finish();
}
END_TEST


Suite *conv_suite(void) {
  Suite *s = suite_create("conv");
  TCase *tc = new_case(s, "hand");
  tcase_add_test(tc, diagonal_kernel_by_hand);
  tcase_add_test(tc, averaging_kernel_is_average_pooling);
  tcase_add_test(tc, rgb_to_gray_is_a_1x1_conv);
  tcase_add_test(tc, difference_kernels_on_a_ramp);
  tcase_add_test(tc, transposed_by_hand);
  tcase_add_test(tc, shape_rules);
  tc = new_case(s, "naive");
  tcase_add_loop_test(tc, conv_matches_naive, 0, NCONV);
  tcase_add_loop_test(tc, conv_transpose_matches_naive, 0, NTCONV);
  tcase_add_loop_test(tc, every_path_matches_naive, 0, 3 * NCONV);
  tcase_add_loop_test(tc, random_geometries_on_every_path, 0, 10);
  tcase_add_test(tc, non_contiguous_operands);
  tcase_add_test(tc, only_wanted_gradients);
  tc = new_case(s, "gradients");
  tcase_add_loop_test(tc, conv_backward_by_finite_differences, 0, 8);
  tcase_add_loop_test(tc, conv_transpose_backward_by_finite_differences, 0, 5);
  tcase_add_loop_test(tc, transpose_is_the_adjoint, 0, NCONV);
  tc = new_case(s, "errors");
  tcase_add_test(tc, conv_errors);
  tcase_add_test(tc, conv_transpose_errors);
  tcase_add_test(tc, empty_batch);
  tcase_add_test(tc, interrupted);
  return s;
}
