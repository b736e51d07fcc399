/*
** layers_conv.c — 2-D convolution and transposed convolution, forward and
** backward, with all the arithmetic in gemm().
**
** A convolution of one sample and one group is a matrix product.  Unroll
** every receptive field of the input into a column ("im2col"), giving a
** rows x L matrix (rows = Cin/groups·kh·kw, L = Hout·Wout), and multiply
** the Cout/groups x rows weight matrix by it.  The backward is two more
** products: gw = gy · colsᵀ, and gx = col2im(wᵀ · gy), where col2im adds
** every column back onto the receptive field it came from.  The transposed
** convolution is exactly that input gradient used as a layer, so its
** forward is the data half of the conv backward, and its backward is a
** conv forward (for gx) plus the conv weight gradient with the roles of
** input and gradient swapped.
**
** Two ways to run the products:
**   - "wide" (stride 1, the common case): no column matrix at all; one GEMM
**     per kernel tap straight over a zero-padded copy of the input (see the
**     section below).  It reaches 90-100% of the GEMM's speed for the
**     forward and both gradients.
**   - "cols" (strides > 1, few input channels, small images): im2col in
**     blocks of columns small enough to stay in cache between being
**     written and being read by the GEMM (the whole matrix for a 5x5 kernel
**     over 256 channels of 32x32 would be 52 MB); small images of a batch
**     are put side by side in one block so the GEMM stays wide.
*/
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"


/*
** {======================================================
** Shape rules
** =======================================================
*/

/* Settings beyond this are refused up front, so that the size formulas
** below cannot overflow int64 (2^40 is far past any tensor the cap allows). */
#define SETTING_MAX ((int64_t)1 << 40)

static int check_window(int64_t in, int64_t k, int64_t stride, int64_t pad,
                        int64_t dil) {
  if (k < 1) return nn_fail(NN_EARG, "kernel size must be at least 1 (got %lld)", (long long)k);
  if (stride < 1) return nn_fail(NN_EARG, "stride must be at least 1 (got %lld)", (long long)stride);
  if (dil < 1) return nn_fail(NN_EARG, "dilation must be at least 1 (got %lld)", (long long)dil);
  if (pad < 0) return nn_fail(NN_EARG, "padding must not be negative (got %lld)", (long long)pad);
  if (in < 0) return nn_fail(NN_EARG, "negative input size %lld", (long long)in);
  if (in > SETTING_MAX || k > SETTING_MAX || stride > SETTING_MAX ||
      pad > SETTING_MAX || dil > SETTING_MAX || (k - 1) > SETTING_MAX / dil)
    return nn_fail(NN_ELIMIT, "convolution settings too large (input %lld, kernel %lld, "
                   "stride %lld, padding %lld, dilation %lld)", (long long)in,
                   (long long)k, (long long)stride, (long long)pad, (long long)dil);
  return NN_OK;
}

int conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                  int64_t *out) {
  int64_t span;
  int st = check_window(in, k, stride, pad, dil);
  if (st != NN_OK) return st;
  span = dil * (k - 1) + 1;   /* the extent the dilated kernel covers */
  /* an empty input has no output even when padding would frame one */
  if (in == 0 || in + 2 * pad < span)
    return nn_fail(NN_ESHAPE, "input size %lld is too small for kernel %lld with "
                   "padding %lld and dilation %lld", (long long)in, (long long)k,
                   (long long)pad, (long long)dil);
  *out = (in + 2 * pad - span) / stride + 1;
  return NN_OK;
}

int conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                            int64_t dil, int64_t output_padding, int64_t *out) {
  int64_t n;
  int st = check_window(in, k, stride, pad, dil);
  if (st != NN_OK) return st;
  /* PyTorch's rule: output_padding picks one of the sizes whose forward
  ** convolution gives back `in`, so it must stay below the stride (or the
  ** dilation, which also leaves positions unreached) */
  if (output_padding < 0 || output_padding >= (stride > dil ? stride : dil))
    return nn_fail(NN_EARG, "output_padding %lld must be at least 0 and smaller than "
                   "the stride %lld or the dilation %lld", (long long)output_padding,
                   (long long)stride, (long long)dil);
  n = (in - 1) * stride - 2 * pad + dil * (k - 1) + output_padding + 1;
  if (in == 0 || n < 1)
    return nn_fail(NN_ESHAPE, "input size %lld gives an empty output with kernel %lld, "
                   "stride %lld, padding %lld, dilation %lld and output_padding %lld",
                   (long long)in, (long long)k, (long long)stride, (long long)pad,
                   (long long)dil, (long long)output_padding);
  *out = n;
  return NN_OK;
}

/* }====================================================== */


/*
** {======================================================
** Geometry, im2col and col2im
** =======================================================
*/

/* One convolution seen from its input side: x is N x C x H x W, y is
** N x K x OH x OW.  For the transposed convolution x is its output and y
** its input.  OH/OW are stored, not derived: the transposed backward runs a
** convolution restricted to the transposed input's size, which can be one
** short of what the rule gives when output_padding >= stride. */
typedef struct Geom {
  int64_t N, C, H, W, K, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw, groups;
  int64_t Cg, Kg, rows, L, taps;   /* per group channels; rows = Cg·taps */
} Geom;

static void geom_finish(Geom *G) {
  G->Cg = G->C / G->groups;
  G->Kg = G->K / G->groups;
  G->taps = G->kh * G->kw;
  G->rows = G->Cg * G->taps;
  G->L = G->OH * G->OW;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/*
** im2col (back = 0): columns [j0, j0+cw) (flat output positions
** oh·OW + ow) of the column matrix of one sample and group into cols (row
** stride ld), xs pointing at the group's Cg x H x W planes.  Row
** (c·kh + i)·kw + j holds input (c, oh·sh − ph + i·dh, ow·sw − pw + j·dw)
** per column, 0 outside: the order of the weights' Cg x kh x kw, so a
** weight row times a column is one output.  col2im (back = 1) is the
** adjoint: it adds every entry of cols onto the input position it was read
** from (padding positions drop out); only then is xs written.
*/
static void unfold(const Geom *G, double *xs, double *cols, int64_t ld, int64_t j0,
                   int64_t cw, int back) {
  int64_t r;
  for (r = 0; r < G->rows; r++) {
    int64_t c = r / G->taps, i = r % G->taps / G->kw, j = r % G->kw;
    int64_t offh = i * G->dh - G->ph, offw = j * G->dw - G->pw, pos = 0, p = j0;
    /* output columns [lo, hi) read inside the input's width */
    int64_t lo = offw >= 0 ? 0 : ceil_div(-offw, G->sw);
    int64_t hi = G->W - offw <= 0 ? 0 : ceil_div(G->W - offw, G->sw);
    double *xc = xs + c * G->H * G->W, *row = cols + r * ld;
    if (hi > G->OW) hi = G->OW;
    while (pos < cw) {   /* one output row, or the part of it in range */
      int64_t oh = p / G->OW, ow0 = p % G->OW, ow;
      int64_t n = G->OW - ow0 < cw - pos ? G->OW - ow0 : cw - pos;
      int64_t ih = oh * G->sh + offh, a = ow0 + n, b = ow0 + n;
      double *o = row + pos;   /* column ow is o[ow − ow0] */
      if (ih >= 0 && ih < G->H) {
        a = lo > ow0 ? lo : ow0;
        b = hi < ow0 + n ? hi : ow0 + n;
        if (b < a) b = a;
      }
      if (back) {
        for (ow = a; ow < b; ow++) xc[ih * G->W + ow * G->sw + offw] += o[ow - ow0];
      }
      else {
        for (ow = ow0; ow < a; ow++) o[ow - ow0] = 0.0;
        if (G->sw == 1 && a < b)
          memcpy(o + (a - ow0), xc + ih * G->W + a + offw, (size_t)(b - a) * sizeof(double));
        else
          for (ow = a; ow < b; ow++) o[ow - ow0] = xc[ih * G->W + ow * G->sw + offw];
        for (ow = b; ow < ow0 + n; ow++) o[ow - ow0] = 0.0;
      }
      pos += n;
      p += n;
    }
  }
}

/* Scratch for the drivers: n doubles, or NN_ENOMEM. */
static int scratch_get(double **p, int64_t n) {
  if (n < 1) n = 1;
  if ((uint64_t)n > SIZE_MAX / sizeof(double) ||
      (*p = malloc((size_t)n * sizeof(double))) == NULL)
    return nn_fail(NN_ENOMEM, "out of memory allocating %lld elements of "
                   "convolution workspace", (long long)n);
  return NN_OK;
}

/* }====================================================== */


/*
** {======================================================
** Columns in blocks
** =======================================================
*/

/*
** Block sizes, measured on Zen 4 (1 MiB L2 per core, 32 MiB L3).  A block
** of about COL_BUDGET doubles (2 MiB) is written by im2col and read by the
** GEMM while still in cache; it never gets narrower than MIN_COLS columns,
** as a GEMM with a narrow right-hand side loses more than the cache saves.
** COL_HARD bounds the block's memory for absurd kernels (it may then be
** narrower).
*/
#define COL_BUDGET ((int64_t)1 << 18)
#define MIN_COLS 256
#define COL_HARD ((int64_t)1 << 25)

/* Samples n0 .. n0+nb−1 and, of each, columns j0 .. j0+cw−1: nb > 1 only
** with whole samples (j0 = 0, cw = L), laid side by side. */
typedef struct Block { int64_t n0, nb, j0, cw; } Block;

/* Columns per sample and samples per block. */
static void plan_blocks(const Geom *G, int64_t *cw, int64_t *nb) {
  int64_t tw = G->rows > 0 ? COL_BUDGET / G->rows : COL_BUDGET;
  if (tw < MIN_COLS) {
    tw = G->rows > 0 ? COL_HARD / G->rows : MIN_COLS;
    if (tw > MIN_COLS) tw = MIN_COLS;
    if (tw < 1) tw = 1;
  }
  *nb = 1;
  *cw = G->L < tw ? G->L : tw;
  if (G->L < tw && G->N > 1) {
    *nb = tw / (G->L > 0 ? G->L : 1);
    if (*nb > G->N) *nb = G->N;
    if (*nb < 1) *nb = 1;
  }
}

/* Steps *B to the next block (the first when first is set); 0 at the end. */
static int next_block(const Geom *G, int64_t cw, int64_t nb, Block *B, int first) {
  if (first) B->n0 = B->j0 = 0;
  else if (nb > 1) B->n0 += B->nb;
  else if ((B->j0 += B->cw) >= G->L) {
    B->j0 = 0;
    B->n0++;
  }
  if (B->n0 >= G->N || G->L == 0) return 0;
  B->nb = nb > 1 ? (G->N - B->n0 < nb ? G->N - B->n0 : nb) : 1;
  B->cw = G->L - B->j0 < cw ? G->L - B->j0 : cw;
  return 1;
}

/* The group's planes of sample n of an N x C x H x W tensor. */
static double *planes(const Geom *G, const double *x, int64_t n, int64_t g) {
  return (double *)x + (n * G->C + g * G->Cg) * G->H * G->W;
}

/* The Kg x (nb·cw) part of an N x K x L tensor t (the output side) that a
** block and group cover: a view into t when the block is one sample, else
** gathered into tmp. */
static const double *block_out(const Geom *G, const double *t, const Block *B, int64_t g,
                               double *tmp, int64_t *ld) {
  int64_t s, k, w = B->nb * B->cw;
  if (B->nb == 1) {
    *ld = G->L;
    return t + (B->n0 * G->K + g * G->Kg) * G->L + B->j0;
  }
  for (s = 0; s < B->nb; s++)
    for (k = 0; k < G->Kg; k++)
      memcpy(tmp + k * w + s * B->cw, t + ((B->n0 + s) * G->K + g * G->Kg + k) * G->L,
             (size_t)B->cw * sizeof(double));
  *ld = w;
  return tmp;
}

/* The column matrix of a block and group, samples side by side. */
static void block_cols(const Geom *G, const double *x, const Block *B, int64_t g,
                       double *cols) {
  int64_t s;
  for (s = 0; s < B->nb; s++)
    unfold(G, planes(G, x, B->n0 + s, g), cols + s * B->cw, B->nb * B->cw, B->j0, B->cw, 0);
}

/* y = conv(x, w) + bias; y is N x K x OH x OW, bias K doubles or NULL. */
static int cols_forward(const Geom *G, const double *x, const double *w,
                        const double *bias, double *y) {
  Block B;
  double *cols = NULL, *tmp = NULL;
  int64_t cw, nb, g, n, k, s, j;
  int st, first = 1;
  plan_blocks(G, &cw, &nb);
  st = scratch_get(&cols, G->rows * nb * cw);
  if (st == NN_OK && nb > 1) st = scratch_get(&tmp, G->Kg * nb * cw);
  if (st == NN_OK && bias != NULL && nb == 1)   /* the GEMMs add onto the bias */
    for (n = 0; n < G->N; n++)
      for (k = 0; k < G->K; k++)
        for (j = 0; j < G->L; j++) y[(n * G->K + k) * G->L + j] = bias[k];
  for (; st == NN_OK && next_block(G, cw, nb, &B, first); first = 0)
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      int64_t w2 = B.nb * B.cw;
      const double *wg = w + g * G->Kg * G->rows;
      if ((st = nn_check_interrupt()) != NN_OK) break;
      block_cols(G, x, &B, g, cols);
      if (nb == 1) {
        st = gemm(0, 0, G->Kg, B.cw, G->rows, 1.0, wg, G->rows, cols, w2,
                  bias != NULL ? 1.0 : 0.0, y + (B.n0 * G->K + g * G->Kg) * G->L + B.j0,
                  G->L);
        continue;
      }
      st = gemm(0, 0, G->Kg, w2, G->rows, 1.0, wg, G->rows, cols, w2, 0.0, tmp, w2);
      for (s = 0; st == NN_OK && s < B.nb; s++)
        for (k = 0; k < G->Kg; k++) {
          double bk = bias != NULL ? bias[g * G->Kg + k] : 0.0;
          double *dst = y + ((B.n0 + s) * G->K + g * G->Kg + k) * G->L;
          const double *src = tmp + k * w2 + s * B.cw;
          for (j = 0; j < B.cw; j++) dst[j] = src[j] + bk;
        }
    }
  free(cols);
  free(tmp);
  return st;
}

/* For dL/dy = gy: gx = col2im(wᵀ·gy) and gw = Σ gy·colsᵀ, either may be
** NULL (and then w, or x, is not read). */
static int cols_backward(const Geom *G, const double *x, const double *w,
                         const double *gy, double *gx, double *gw) {
  Block B;
  double *cols = NULL, *dcols = NULL, *tmp = NULL;
  int64_t cw, nb, g, s;
  int st = NN_OK, first = 1;
  plan_blocks(G, &cw, &nb);
  if (gw != NULL) st = scratch_get(&cols, G->rows * nb * cw);
  if (st == NN_OK && gx != NULL) st = scratch_get(&dcols, G->rows * nb * cw);
  if (st == NN_OK && nb > 1) st = scratch_get(&tmp, G->Kg * nb * cw);
  if (st == NN_OK && gx != NULL)
    memset(gx, 0, (size_t)(G->N * G->C * G->H * G->W) * sizeof(double));
  if (st == NN_OK && gw != NULL) memset(gw, 0, (size_t)(G->K * G->rows) * sizeof(double));
  for (; st == NN_OK && next_block(G, cw, nb, &B, first); first = 0)
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      int64_t ldg, w2 = B.nb * B.cw;
      const double *gyb;
      if ((st = nn_check_interrupt()) != NN_OK) break;
      gyb = block_out(G, gy, &B, g, tmp, &ldg);
      if (gw != NULL) {
        block_cols(G, x, &B, g, cols);
        st = gemm(0, 1, G->Kg, G->rows, w2, 1.0, gyb, ldg, cols, w2, 1.0,
                  gw + g * G->Kg * G->rows, G->rows);
      }
      if (st != NN_OK || gx == NULL) continue;
      st = gemm(1, 0, G->rows, w2, G->Kg, 1.0, w + g * G->Kg * G->rows, G->rows, gyb, ldg,
                0.0, dcols, w2);
      for (s = 0; st == NN_OK && s < B.nb; s++)
        unfold(G, planes(G, gx, B.n0 + s, g), dcols + s * B.cw, w2, B.j0, B.cw, 1);
    }
  free(cols);
  free(dcols);
  free(tmp);
  return st;
}

/* }====================================================== */


/*
** {======================================================
** Stride 1: wide output, no column matrix
** =======================================================
*/

/*
** With stride 1, output (oh, ow) reads, for kernel tap (i, j), the input
** at (oh + i·dh − ph, ow + j·dw − pw).  In a zero-padded copy of the input
** with rows Wp = W + 2·pw long that is flat position oh·Wp + ow + off,
** off = i·dh·Wp + j·dw.  So if the output is computed "wide", with rows Wp
** long too (the last Wp − OW entries of each row are junk, then dropped),
** each tap is one plain GEMM: the Kg x Cg weight slice of the tap times the
** padded planes seen from off (row stride Hp·Wp), summed over the taps.
** The price is computing the junk (3% for 56x56 with a 3x3 kernel, 12% for
** 32x32 with 5x5); the gain is that nothing is unrolled, which makes the
** GEMMs 90-100% as fast as the one big im2col GEMM would run on its own.
** Backward, per tap: gw's slice is gy_wide · (planes from off)ᵀ, and gx
** gets slice ᵀ · gy_wide added at off into a padded gradient; gy_wide must
** then be 0 in the junk, which lands on real positions.
*/

/* When the wide form pays: stride 1, enough channels per group to give
** the GEMMs a real inner dimension, little junk, and enough positions per
** sample (small images of a batch do better batched as columns). */
#define WIDE_MIN_CG 16
#define WIDE_MIN_L 128

typedef struct Wide {
  int64_t Hp, Wp, P, ldw, Np;   /* padded plane; wide row stride, used width */
  int pad, same;                /* input needs padding; wide = plain output */
} Wide;

static int wide_plan(const Geom *G, Wide *D) {
  D->Hp = G->H + 2 * G->ph;
  D->Wp = G->W + 2 * G->pw;
  D->P = D->Hp * D->Wp;
  D->ldw = G->OH * D->Wp;
  D->Np = (G->OH - 1) * D->Wp + G->OW;
  D->pad = G->ph != 0 || G->pw != 0;
  D->same = D->Wp == G->OW;
  return G->sh == 1 && G->sw == 1 && G->Cg >= WIDE_MIN_CG && G->L >= WIDE_MIN_L &&
         D->Np * 4 <= G->L * 5;
}

/* Sample n's planes, through the padded copy xp (borders zeroed already)
** when the convolution pads. */
static const double *wide_input(const Geom *G, const Wide *D, const double *x, int64_t n,
                                double *xp) {
  int64_t c, h;
  const double *xs = x + n * G->C * G->H * G->W;
  if (!D->pad) return xs;
  for (c = 0; c < G->C; c++)
    for (h = 0; h < G->H; h++)
      memcpy(xp + c * D->P + (h + G->ph) * D->Wp + G->pw, xs + (c * G->H + h) * G->W,
             (size_t)G->W * sizeof(double));
  return xp;
}

/* Weights per tap: ws[t][k][c] = w[k][c][t] (back = 0), or the reverse. */
static void tap_major(const Geom *G, double *w, double *ws, int back) {
  int64_t t, k, c;
  for (k = 0; k < G->K; k++)
    for (c = 0; c < G->Cg; c++)
      for (t = 0; t < G->taps; t++) {
        double *a = &w[(k * G->Cg + c) * G->taps + t], *b = &ws[(t * G->K + k) * G->Cg + c];
        if (back) *a = *b;
        else *b = *a;
      }
}

static int64_t tap_offset(const Geom *G, const Wide *D, int64_t t) {
  return t / G->kw * G->dh * D->Wp + t % G->kw * G->dw;
}

static int wide_forward(const Geom *G, const Wide *D, const double *x, const double *w,
                        const double *bias, double *y) {
  double *ws = NULL, *xp = NULL, *yw = NULL;
  int64_t n, g, t, k, oh, ow;
  int st = scratch_get(&ws, G->K * G->rows);
  if (st == NN_OK && D->pad && (st = scratch_get(&xp, G->C * D->P)) == NN_OK)
    memset(xp, 0, (size_t)(G->C * D->P) * sizeof(double));
  if (st == NN_OK && !D->same) st = scratch_get(&yw, G->K * D->ldw);
  if (st == NN_OK) tap_major(G, (double *)w, ws, 0);
  for (n = 0; st == NN_OK && n < G->N; n++) {
    const double *xs = wide_input(G, D, x, n, xp);
    double *ys = y + n * G->K * G->L, *out = D->same ? ys : yw;
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      if ((st = nn_check_interrupt()) != NN_OK) break;
      for (t = 0; st == NN_OK && t < G->taps; t++)
        st = gemm(0, 0, G->Kg, D->Np, G->Cg, 1.0, ws + (t * G->K + g * G->Kg) * G->Cg,
                  G->Cg, xs + g * G->Cg * D->P + tap_offset(G, D, t), D->P,
                  t > 0 ? 1.0 : 0.0, out + g * G->Kg * D->ldw, D->ldw);
    }
    if (st != NN_OK || (D->same && bias == NULL)) continue;
    for (k = 0; k < G->K; k++)   /* drop the junk, add the bias */
      for (oh = 0; oh < G->OH; oh++)
        for (ow = 0; ow < G->OW; ow++)
          ys[(k * G->OH + oh) * G->OW + ow] =
            out[k * D->ldw + oh * D->Wp + ow] + (bias != NULL ? bias[k] : 0.0);
  }
  free(ws);
  free(xp);
  free(yw);
  return st;
}

static int wide_backward(const Geom *G, const Wide *D, const double *x, const double *w,
                         const double *gy, double *gx, double *gw) {
  double *ws = NULL, *gws = NULL, *xp = NULL, *gyw = NULL, *gxp = NULL;
  int64_t n, g, t, k, c, h, oh, sz = G->K * G->rows;
  int st = NN_OK;
  if (gx != NULL && (st = scratch_get(&ws, sz)) == NN_OK) tap_major(G, (double *)w, ws, 0);
  if (st == NN_OK && gw != NULL && (st = scratch_get(&gws, sz)) == NN_OK)
    memset(gws, 0, (size_t)sz * sizeof(double));
  if (st == NN_OK && gw != NULL && D->pad && (st = scratch_get(&xp, G->C * D->P)) == NN_OK)
    memset(xp, 0, (size_t)(G->C * D->P) * sizeof(double));
  if (st == NN_OK && !D->same && (st = scratch_get(&gyw, G->K * D->ldw)) == NN_OK)
    memset(gyw, 0, (size_t)(G->K * D->ldw) * sizeof(double));   /* the junk stays 0 */
  if (st == NN_OK && gx != NULL && D->pad) st = scratch_get(&gxp, G->C * D->P);
  for (n = 0; st == NN_OK && n < G->N; n++) {
    const double *xs = gw != NULL ? wide_input(G, D, x, n, xp) : NULL;
    const double *gys = gy + n * G->K * G->L;
    double *gxs = gx == NULL ? NULL : D->pad ? gxp : gx + n * G->C * G->H * G->W;
    if (!D->same) {
      for (k = 0; k < G->K; k++)
        for (oh = 0; oh < G->OH; oh++)
          memcpy(gyw + k * D->ldw + oh * D->Wp, gys + (k * G->OH + oh) * G->OW,
                 (size_t)G->OW * sizeof(double));
      gys = gyw;
    }
    if (gxs != NULL) memset(gxs, 0, (size_t)(G->C * D->P) * sizeof(double));
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      const double *gyg = gys + g * G->Kg * D->ldw;
      if ((st = nn_check_interrupt()) != NN_OK) break;
      for (t = 0; st == NN_OK && t < G->taps; t++) {
        int64_t off = g * G->Cg * D->P + tap_offset(G, D, t), wo = (t * G->K + g * G->Kg) * G->Cg;
        if (gw != NULL)
          st = gemm(0, 1, G->Kg, G->Cg, D->Np, 1.0, gyg, D->ldw, xs + off, D->P, 1.0,
                    gws + wo, G->Cg);
        if (st == NN_OK && gx != NULL)
          st = gemm(1, 0, G->Cg, D->Np, G->Kg, 1.0, ws + wo, G->Cg, gyg, D->ldw, 1.0,
                    gxs + off, D->P);
      }
    }
    if (st == NN_OK && gx != NULL && D->pad)   /* the padding's gradient goes */
      for (c = 0; c < G->C; c++)
        for (h = 0; h < G->H; h++)
          memcpy(gx + ((n * G->C + c) * G->H + h) * G->W,
                 gxp + c * D->P + (h + G->ph) * D->Wp + G->pw, (size_t)G->W * sizeof(double));
  }
  if (st == NN_OK && gw != NULL) tap_major(G, gw, gws, 1);
  free(ws);
  free(gws);
  free(xp);
  free(gyw);
  free(gxp);
  return st;
}

/* }====================================================== */


/*
** {======================================================
** Dispatch
** =======================================================
*/

static int conv_forward_raw(const Geom *G, const double *x, const double *w,
                            const double *bias, double *y) {
  Wide D;
  if (wide_plan(G, &D)) return wide_forward(G, &D, x, w, bias, y);
  return cols_forward(G, x, w, bias, y);
}

/* gx and/or gw (NULL: not wanted) for dL/dy = gy; x is read only for gw,
** w only for gx. */
static int conv_backward_raw(const Geom *G, const double *x, const double *w,
                             const double *gy, double *gx, double *gw) {
  Wide D;
  if (wide_plan(G, &D)) return wide_backward(G, &D, x, w, gy, gx, gw);
  return cols_backward(G, x, w, gy, gx, gw);
}

/* gb[k] = Σ over n and positions of gy[n, k, ·] (gy N x K x L). */
static void bias_grad(int64_t N, int64_t K, int64_t L, const double *gy, double *gb) {
  int64_t n, k, j;
  for (k = 0; k < K; k++) gb[k] = 0.0;
  for (n = 0; n < N; n++)
    for (k = 0; k < K; k++) {
      const double *r = gy + (n * K + k) * L;
      double s = 0.0;
      for (j = 0; j < L; j++) s += r[j];
      gb[k] += s;
    }
}

/* }====================================================== */
/*
** {======================================================
** Validation
** =======================================================
*/

/* A {height, width} setting as the user wrote it: "2" when both agree,
** else "{2, 1}". */
static const char *pair_str(char *buf, int size, const int64_t v[2]) {
  if (v[0] == v[1]) snprintf(buf, (size_t)size, "%lld", (long long)v[0]);
  else snprintf(buf, (size_t)size, "{%lld, %lld}", (long long)v[0], (long long)v[1]);
  return buf;
}

/* Settings shared by both layers: groups, stride, dilation, padding. */
static int check_params(const Conv2dParams *p) {
  char b[64];
  if (p->groups < 1)
    return nn_fail(NN_EARG, "groups must be at least 1 (got %lld)", (long long)p->groups);
  if (p->stride[0] < 1 || p->stride[1] < 1)
    return nn_fail(NN_EARG, "stride must be at least 1 (got %s)", pair_str(b, sizeof b, p->stride));
  if (p->dilation[0] < 1 || p->dilation[1] < 1)
    return nn_fail(NN_EARG, "dilation must be at least 1 (got %s)",
                   pair_str(b, sizeof b, p->dilation));
  if (p->padding[0] < 0 || p->padding[1] < 0)
    return nn_fail(NN_EARG, "padding must not be negative (got %s)",
                   pair_str(b, sizeof b, p->padding));
  return NN_OK;
}

/*
** Checks x, w and b for a convolution (transposed = 0) or a transposed
** convolution (1) and fills in the geometry, always described from the
** convolution's side (see Geom).  Messages name the settings and shapes;
** the binding prefixes the Lua function's name.
*/
static int conv_setup(const Tensor *x, const Tensor *w, const Tensor *b,
                      const Conv2dParams *p, int transposed, Geom *G) {
  char xs[96], ws[96], bs[96], s1[64], s2[64];
  int64_t cin, cout, k[2], out[2];
  int st, d;
  if (x->ndim != 4)
    return nn_fail(NN_ESHAPE, "expected a 4-D input (N x C x H x W), got %s",
                   tensor_shape_str(x, xs, sizeof xs));
  if (w->ndim != 4)
    return nn_fail(NN_ESHAPE, "expected 4-D weights (%s x kh x kw), got %s",
                   transposed ? "Cin x Cout/groups" : "Cout x Cin/groups",
                   tensor_shape_str(w, ws, sizeof ws));
  if ((st = check_params(p)) != NN_OK) return st;
  tensor_shape_str(x, xs, sizeof xs);
  tensor_shape_str(w, ws, sizeof ws);
  cin = x->size[1];
  /* the channel count the weights expect of the input, and produce */
  if (!transposed) {
    if (cin % p->groups != 0)
      return nn_fail(NN_ESHAPE, "input %s has %lld channels, not divisible by groups %lld",
                     xs, (long long)cin, (long long)p->groups);
    if (w->size[0] % p->groups != 0)
      return nn_fail(NN_ESHAPE, "weights %s have %lld output channels, not divisible "
                     "by groups %lld", ws, (long long)w->size[0], (long long)p->groups);
    if (w->size[1] > INT64_MAX / p->groups || cin != w->size[1] * p->groups)
      return nn_fail(NN_ESHAPE, "input has %lld channels, the weights expect %lld "
                     "(groups %lld): input %s, weights %s", (long long)cin,
                     (long long)(w->size[1] * p->groups), (long long)p->groups, xs, ws);
    cout = w->size[0];
  }
  else {
    for (d = 0; d < 2; d++)
      if (p->output_padding[d] < 0 ||
          p->output_padding[d] >= (p->stride[d] > p->dilation[d] ? p->stride[d]
                                                                 : p->dilation[d]))
        return nn_fail(NN_EARG, "output_padding %s must be at least 0 and smaller than "
                       "the stride %s or the dilation %s (per axis)",
                       pair_str(s1, sizeof s1, p->output_padding),
                       pair_str(s2, sizeof s2, p->stride),
                       pair_str(bs, sizeof bs, p->dilation));
    if (cin != w->size[0])
      return nn_fail(NN_ESHAPE, "input has %lld channels, the weights expect %lld "
                     "(groups %lld): input %s, weights %s", (long long)cin,
                     (long long)w->size[0], (long long)p->groups, xs, ws);
    if (cin % p->groups != 0)
      return nn_fail(NN_ESHAPE, "input %s has %lld channels, not divisible by groups %lld",
                     xs, (long long)cin, (long long)p->groups);
    if (w->size[1] > INT64_MAX / p->groups)
      return nn_fail(NN_ELIMIT, "weights %s with groups %lld: too many channels", ws,
                     (long long)p->groups);
    cout = w->size[1] * p->groups;
  }
  k[0] = w->size[2];
  k[1] = w->size[3];
  if (k[0] < 1 || k[1] < 1)
    return nn_fail(NN_ESHAPE, "weights %s have an empty kernel", ws);
  if (b != NULL && (b->ndim != 1 || b->size[0] != cout))
    return nn_fail(NN_ESHAPE, "bias has shape %s, expected %lld (one per output channel)",
                   tensor_shape_str(b, bs, sizeof bs), (long long)cout);
  if (x->size[2] == 0 || x->size[3] == 0)
    return nn_fail(NN_ESHAPE, "input %s has an empty image", xs);
  for (d = 0; d < 2; d++) {
    st = transposed
      ? conv_transpose_out_size(x->size[2 + d], k[d], p->stride[d], p->padding[d],
                                p->dilation[d], p->output_padding[d], &out[d])
      : conv_out_size(x->size[2 + d], k[d], p->stride[d], p->padding[d], p->dilation[d],
                      &out[d]);
    if (st == NN_ESHAPE && !transposed)
      return nn_fail(NN_ESHAPE, "input %s is too small for the %lldx%lld kernel with "
                     "padding %s and dilation %s", xs, (long long)k[0], (long long)k[1],
                     pair_str(s1, sizeof s1, p->padding), pair_str(s2, sizeof s2, p->dilation));
    if (st == NN_ESHAPE)
      return nn_fail(NN_ESHAPE, "input %s gives an empty output with the %lldx%lld kernel, "
                     "stride %s, padding %s and dilation %s", xs, (long long)k[0],
                     (long long)k[1], pair_str(bs, sizeof bs, p->stride),
                     pair_str(s1, sizeof s1, p->padding), pair_str(s2, sizeof s2, p->dilation));
    if (st != NN_OK) return st;
  }
  G->N = x->size[0];
  G->kh = k[0];
  G->kw = k[1];
  G->sh = p->stride[0];
  G->sw = p->stride[1];
  G->ph = p->padding[0];
  G->pw = p->padding[1];
  G->dh = p->dilation[0];
  G->dw = p->dilation[1];
  G->groups = p->groups;
  if (!transposed) {
    G->C = cin;  G->H = x->size[2];  G->W = x->size[3];
    G->K = cout; G->OH = out[0];     G->OW = out[1];
  }
  else {   /* the transposed input is the convolution's output */
    G->C = cout; G->H = out[0];      G->W = out[1];
    G->K = cin;  G->OH = x->size[2]; G->OW = x->size[3];
  }
  geom_finish(G);
  return NN_OK;
}

/* A backward's gy must have the forward output's shape. */
static int check_grad(const Tensor *gy, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t want[4];
  char a[96], b[96];
  want[0] = n; want[1] = c; want[2] = h; want[3] = w;
  if (gy->ndim != 4 || gy->size[0] != n || gy->size[1] != c || gy->size[2] != h ||
      gy->size[3] != w)
    return nn_fail(NN_ESHAPE, "gradient %s does not match the output %s",
                   tensor_shape_str(gy, a, sizeof a), nn_shape_str(b, sizeof b, 4, want));
  return NN_OK;
}

/* }====================================================== */


/*
** {======================================================
** Public functions
** =======================================================
*/

static double *data(const Tensor *t) { return t->storage->data + t->offset; }

/* Contiguous versions of the operands a driver reads (NULL in, NULL out);
** 0 when a copy failed (the message is set). */
static int contig(const Tensor *t, Tensor **out) {
  *out = NULL;
  if (t == NULL) return 1;
  return (*out = tensor_contiguous(t)) != NULL;
}

static void add_bias(const Geom *G, const double *bias, double *y) {
  int64_t n, c, j, L = G->H * G->W;
  for (n = 0; n < G->N; n++)
    for (c = 0; c < G->C; c++) {
      double *r = y + (n * G->C + c) * L;
      for (j = 0; j < L; j++) r[j] += bias[c];
    }
}

Tensor *layer_conv2d(const Tensor *x, const Tensor *w, const Tensor *b,
                     const Conv2dParams *p) {
  Geom G;
  Tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  int64_t size[4];
  int st = NN_ENOMEM;
  if (conv_setup(x, w, b, p, 0, &G) != NN_OK) return NULL;
  size[0] = G.N; size[1] = G.K; size[2] = G.OH; size[3] = G.OW;
  if ((y = tensor_new(4, size)) != NULL && contig(x, &xc) && contig(w, &wc) && contig(b, &bc))
    st = conv_forward_raw(&G, data(xc), data(wc), bc != NULL ? data(bc) : NULL, data(y));
  tensor_release(xc);
  tensor_release(wc);
  tensor_release(bc);
  if (st != NN_OK) {
    tensor_release(y);
    return NULL;
  }
  return y;
}

/* Allocates the wanted gradients (pointer not NULL) with the given shapes. */
static int new_grads(Tensor **gx, const int64_t *xs, Tensor **gw, const int64_t *ws,
                     Tensor **gb, int64_t nb, Tensor *out[3]) {
  out[0] = out[1] = out[2] = NULL;
  if (gx != NULL && (out[0] = tensor_new(4, xs)) == NULL) return 0;
  if (gw != NULL && (out[1] = tensor_new(4, ws)) == NULL) return 0;
  if (gb != NULL && (out[2] = tensor_new(1, &nb)) == NULL) return 0;
  return 1;
}

/* Hands the gradients over on success, or drops them. */
static int finish_grads(int st, Tensor *g[3], Tensor **gx, Tensor **gw, Tensor **gb) {
  int i;
  if (st != NN_OK) {
    for (i = 0; i < 3; i++) tensor_release(g[i]);
    return st;
  }
  if (gx != NULL) *gx = g[0];
  if (gw != NULL) *gw = g[1];
  if (gb != NULL) *gb = g[2];
  return NN_OK;
}

int layer_conv2d_backward(const Tensor *x, const Tensor *w, const Conv2dParams *p,
                          const Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb) {
  Geom G;
  Tensor *g[3], *xc = NULL, *wc = NULL, *gyc = NULL;
  int st;
  if (gx != NULL) *gx = NULL;
  if (gw != NULL) *gw = NULL;
  if (gb != NULL) *gb = NULL;
  if ((st = conv_setup(x, w, NULL, p, 0, &G)) != NN_OK) return st;
  if ((st = check_grad(gy, G.N, G.K, G.OH, G.OW)) != NN_OK) return st;
  if (new_grads(gx, x->size, gw, w->size, gb, G.K, g) && contig(gy, &gyc) &&
      contig(gw != NULL ? x : NULL, &xc) && contig(gx != NULL ? w : NULL, &wc)) {
    st = NN_OK;
    if (gx != NULL || gw != NULL)
      st = conv_backward_raw(&G, xc != NULL ? data(xc) : NULL, wc != NULL ? data(wc) : NULL,
                             data(gyc), g[0] != NULL ? data(g[0]) : NULL,
                             g[1] != NULL ? data(g[1]) : NULL);
    if (st == NN_OK && g[2] != NULL) bias_grad(G.N, G.K, G.L, data(gyc), data(g[2]));
  }
  else st = nn_errcode();
  tensor_release(xc);
  tensor_release(wc);
  tensor_release(gyc);
  return finish_grads(st, g, gx, gw, gb);
}

Tensor *layer_conv_transpose2d(const Tensor *x, const Tensor *w, const Tensor *b,
                               const Conv2dParams *p) {
  Geom G;
  Tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  int64_t size[4];
  int st = NN_ENOMEM;
  if (conv_setup(x, w, b, p, 1, &G) != NN_OK) return NULL;
  size[0] = G.N; size[1] = G.C; size[2] = G.H; size[3] = G.W;
  if ((y = tensor_new(4, size)) != NULL && contig(x, &xc) && contig(w, &wc) &&
      contig(b, &bc)) {
    /* the input gradient of the convolution whose output x would be */
    st = conv_backward_raw(&G, NULL, data(wc), data(xc), data(y), NULL);
    if (st == NN_OK && bc != NULL) add_bias(&G, data(bc), data(y));
  }
  tensor_release(xc);
  tensor_release(wc);
  tensor_release(bc);
  if (st != NN_OK) {
    tensor_release(y);
    return NULL;
  }
  return y;
}

int layer_conv_transpose2d_backward(const Tensor *x, const Tensor *w,
                                    const Conv2dParams *p, const Tensor *gy,
                                    Tensor **gx, Tensor **gw, Tensor **gb) {
  Geom G;
  Tensor *g[3], *xc = NULL, *wc = NULL, *gyc = NULL;
  int st;
  if (gx != NULL) *gx = NULL;
  if (gw != NULL) *gw = NULL;
  if (gb != NULL) *gb = NULL;
  if ((st = conv_setup(x, w, NULL, p, 1, &G)) != NN_OK) return st;
  if ((st = check_grad(gy, G.N, G.C, G.H, G.W)) != NN_OK) return st;
  if (new_grads(gx, x->size, gw, w->size, gb, G.C, g) && contig(gy, &gyc) &&
      contig(gw != NULL ? x : NULL, &xc) && contig(gx != NULL ? w : NULL, &wc)) {
    st = NN_OK;
    /* gx: the convolution of gy, restricted to x's size; gw: the
    ** convolution's weight gradient with gy as its input and x as the
    ** gradient of its output */
    if (g[0] != NULL) st = conv_forward_raw(&G, data(gyc), data(wc), NULL, data(g[0]));
    if (st == NN_OK && g[1] != NULL)
      st = conv_backward_raw(&G, data(gyc), NULL, data(xc), NULL, data(g[1]));
    if (st == NN_OK && g[2] != NULL) bias_grad(G.N, G.C, G.H * G.W, data(gyc), data(g[2]));
  }
  else st = nn_errcode();
  tensor_release(xc);
  tensor_release(wc);
  tensor_release(gyc);
  return finish_grads(st, g, gx, gw, gb);
}

/* }====================================================== */

