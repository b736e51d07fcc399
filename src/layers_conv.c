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
** Three ways to run them (the dispatch near the end picks by shape):
**   - "direct" (stride 1, thin layers: LeNet's, CIFAR's, an image's first
**     layer): no matrix product at all, register-blocked loops over a
**     padded copy of each sample (conv_direct.c);
**   - "cols": im2col in blocks of columns small enough to stay in cache
**     between being written and being read by the GEMM (the whole matrix
**     for a 5x5 kernel over 256 channels of 32x32 would be 52 MB); small
**     images of a batch are put side by side in one block so the GEMM
**     stays wide.  Any setting; the only path for strides > 1.
**   - "wide" (stride 1, many channels, large images): no column matrix at
**     all, one GEMM per kernel tap straight over a zero-padded copy of the
**     input (see its section), for the forward and the input gradient.
**     Where it is chosen it runs at 90-100% of the speed of the one big
**     GEMM, where narrow blocks of columns lost up to 25%.
*/
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"
#include "gemm.h"
#include "workspace.h"


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
                   "stride %lld, padding %lld, dilation %lld)", (long long)in, (long long)k,
                   (long long)stride, (long long)pad, (long long)dil);
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
  if (in > 0 && in - 1 > SETTING_MAX / stride)
    return nn_fail(NN_ELIMIT, "input size %lld with stride %lld: output too large",
                   (long long)in, (long long)stride);
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
static void unfold_whole(const Geom *G, double *xs, double *cols, int64_t ld, int back);

static void unfold(const Geom *G, double *xs, double *cols, int64_t ld, int64_t j0,
                   int64_t cw, int back) {
  int64_t r;
  if (j0 == 0 && cw == G->L) {
    unfold_whole(G, xs, cols, ld, back);
    return;
  }
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
        if (a > ow0 + n) a = ow0 + n;   /* (as in unfold_whole) */
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

/* unfold of all the columns of a sample, the case of every small image
** (LeNet's, CIFAR's): the same entries, walked by output row without the
** per-row divisions, and with inline loops where memcpy's call would cost
** more than its 10 to 30 doubles. */
static void unfold_whole(const Geom *G, double *xs, double *cols, int64_t ld, int back) {
  int64_t r, oh, ow, OW = G->OW, sw = G->sw;
  for (r = 0; r < G->rows; r++) {
    int64_t c = r / G->taps, i = r % G->taps / G->kw, j = r % G->kw;
    int64_t offh = i * G->dh - G->ph, offw = j * G->dw - G->pw;
    int64_t lo = offw >= 0 ? 0 : ceil_div(-offw, sw);
    int64_t hi = G->W - offw <= 0 ? 0 : ceil_div(G->W - offw, sw);
    double *xc = xs + c * G->H * G->W, *row = cols + r * ld;
    /* a padding wider than the image can put a tap's whole row in it:
    ** then lo passes OW, and its zeros must not run into the next row
    ** (the next sample's, or the first sample's of the next r) */
    if (hi > OW) hi = OW;
    if (lo > OW) lo = OW;
    if (hi < lo) hi = lo;
    for (oh = 0; oh < G->OH; oh++) {
      int64_t ih = oh * G->sh + offh;
      double *o = row + oh * OW, *line;
      if (ih < 0 || ih >= G->H) {
        if (!back)
          for (ow = 0; ow < OW; ow++) o[ow] = 0.0;
        continue;
      }
      line = xc + ih * G->W;   /* column ow reads line[ow·sw + offw] */
      if (back) {
        for (ow = lo; ow < hi; ow++) line[ow * sw + offw] += o[ow];
        continue;
      }
      for (ow = 0; ow < lo; ow++) o[ow] = 0.0;
      if (sw == 1)
        for (ow = lo; ow < hi; ow++) o[ow] = line[ow + offw];
      else
        for (ow = lo; ow < hi; ow++) o[ow] = line[ow * sw + offw];
      for (ow = hi; ow < OW; ow++) o[ow] = 0.0;
    }
  }
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

/* Columns per block. */
static int64_t block_width(const Geom *G) {
  int64_t tw = G->rows > 0 ? COL_BUDGET / G->rows : COL_BUDGET;
  if (tw < MIN_COLS) {
    tw = G->rows > 0 ? COL_HARD / G->rows : MIN_COLS;
    if (tw > MIN_COLS) tw = MIN_COLS;
    if (tw < 1) tw = 1;
  }
  return tw;
}

/* Columns per sample and samples per block. */
static void plan_blocks(const Geom *G, int64_t *cw, int64_t *nb) {
  int64_t tw = block_width(G);
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
  double *part[2], *cols, *tmp;
  int64_t cw, nb, g, n, k, s, j, size[2];
  int st, first = 1;
  plan_blocks(G, &cw, &nb);
  size[0] = G->rows * nb * cw;
  size[1] = nb > 1 ? G->Kg * nb * cw : 0;
  st = workspace_get(2, size, part);
  cols = part[0], tmp = part[1];
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
  return workspace_done(st);
}

/* For dL/dy = gy: gx = col2im(wᵀ·gy) and gw = Σ gy·colsᵀ, either may be
** NULL (and then w, or x, is not read). */
static int cols_backward(const Geom *G, const double *x, const double *w,
                         const double *gy, double *gx, double *gw) {
  Block B;
  double *part[3], *cols, *dcols, *tmp;
  int64_t cw, nb, g, s, size[3];
  int st, first = 1;
  plan_blocks(G, &cw, &nb);
  size[0] = gw != NULL ? G->rows * nb * cw : 0;
  size[1] = gx != NULL ? G->rows * nb * cw : 0;
  size[2] = nb > 1 ? G->Kg * nb * cw : 0;
  st = workspace_get(3, size, part);
  cols = part[0], dcols = part[1], tmp = part[2];
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
  return workspace_done(st);
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
** GEMMs 90-100% as fast as the one im2col GEMM would run on its own.  The
** input gradient is the same in reverse: each tap's slice transposed times
** gy (widened, with 0 in the junk, which lands on real positions) is added
** at off into a padded gradient.
*/

/*
** When the wide form pays (measured): stride 1; enough channels per group
** to give the per-tap GEMMs a real inner dimension (at 16 they ran 20%
** slower than columns); little junk; and either no copy at all (1x1,
** unpadded) or a sample too large for one block of columns, whose narrow
** blocks then cost more (up to 25% at 256 channels with 3x3 or 5x5; on
** a 14x14 image, one block, columns won by 20%).
*/
#define WIDE_MIN_CG 32
#define WIDE_MIN_L 128

typedef struct Wide {
  int64_t Hp, Wp, P, ldw, Np;   /* padded plane; wide row stride, used width */
  int pad, same;                /* input needs padding; wide = plain output */
} Wide;

static int wide_plan(const Geom *G, Wide *D) {
  /* a padding beyond the image is odd enough for the general path, and
  ** bounds the padded plane's size */
  if (G->sh != 1 || G->sw != 1 || G->Cg < WIDE_MIN_CG || G->L < WIDE_MIN_L ||
      G->ph > G->H || G->pw > G->W)
    return 0;
  D->Hp = G->H + 2 * G->ph;
  D->Wp = G->W + 2 * G->pw;
  D->P = D->Hp * D->Wp;
  D->ldw = G->OH * D->Wp;
  D->Np = (G->OH - 1) * D->Wp + G->OW;
  D->pad = G->ph != 0 || G->pw != 0;
  D->same = D->Wp == G->OW;
  return D->Np * 4 <= G->L * 5 && ((D->same && !D->pad) || G->L > block_width(G));
}

/* Copies the N x C x H x W planes of sample n into the middle of padded
** ones (back = 0), or the middle back out (back = 1). */
static void pad_copy(const Geom *G, const Wide *D, double *x, int64_t n, double *xp, int back) {
  int64_t c, h;
  for (c = 0; c < G->C; c++)
    for (h = 0; h < G->H; h++) {
      double *a = x + ((n * G->C + c) * G->H + h) * G->W;
      double *b = xp + c * D->P + (h + G->ph) * D->Wp + G->pw;
      memcpy(back ? a : b, back ? b : a, (size_t)G->W * sizeof(double));
    }
}

/* The weights per tap, each a K x Cg matrix: ws[t][k][c] = w[k][c][t]. */
static void tap_major(const Geom *G, const double *w, double *ws) {
  int64_t t, k, c;
  for (k = 0; k < G->K; k++)
    for (c = 0; c < G->Cg; c++)
      for (t = 0; t < G->taps; t++)
        ws[(t * G->K + k) * G->Cg + c] = w[(k * G->Cg + c) * G->taps + t];
}

/* Where tap t reads in a padded plane. */
static int64_t tap_offset(const Geom *G, const Wide *D, int64_t t) {
  return t / G->kw * G->dh * D->Wp + t % G->kw * G->dw;
}

static int wide_forward(const Geom *G, const Wide *D, const double *x, const double *w,
                        const double *bias, double *y) {
  double *part[3];   /* weights per tap, padded input, wide output */
  int64_t n, g, t, k, oh, ow, size[3];
  int st;
  size[0] = G->K * G->rows;
  size[1] = D->pad ? G->C * D->P : 0;
  size[2] = D->same ? 0 : G->K * D->ldw;
  if ((st = workspace_get(3, size, part)) != NN_OK) return st;
  tap_major(G, w, part[0]);
  if (D->pad) memset(part[1], 0, (size_t)size[1] * sizeof(double));   /* the border */
  for (n = 0; st == NN_OK && n < G->N; n++) {
    const double *xs = x + n * G->C * G->H * G->W;
    double *ys = y + n * G->K * G->L, *out = D->same ? ys : part[2];
    if (D->pad) {
      pad_copy(G, D, (double *)x, n, part[1], 0);
      xs = part[1];
    }
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      if ((st = nn_check_interrupt()) != NN_OK) break;
      for (t = 0; st == NN_OK && t < G->taps; t++)
        st = gemm(0, 0, G->Kg, D->Np, G->Cg, 1.0, part[0] + (t * G->K + g * G->Kg) * G->Cg,
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
  return workspace_done(st);
}

/* gx for dL/dy = gy. */
static int wide_grad_input(const Geom *G, const Wide *D, const double *w, const double *gy,
                           double *gx) {
  double *part[3];   /* weights per tap, wide gy, padded gx */
  int64_t n, g, t, k, oh, size[3];
  int st;
  size[0] = G->K * G->rows;
  size[1] = D->same ? 0 : G->K * D->ldw;
  size[2] = D->pad ? G->C * D->P : 0;
  if ((st = workspace_get(3, size, part)) != NN_OK) return st;
  tap_major(G, w, part[0]);
  if (!D->same) memset(part[1], 0, (size_t)size[1] * sizeof(double));   /* the junk */
  for (n = 0; st == NN_OK && n < G->N; n++) {
    const double *gys = gy + n * G->K * G->L;
    double *gxs = D->pad ? part[2] : gx + n * G->C * G->H * G->W;
    if (!D->same) {
      for (k = 0; k < G->K; k++)
        for (oh = 0; oh < G->OH; oh++)
          memcpy(part[1] + k * D->ldw + oh * D->Wp, gys + (k * G->OH + oh) * G->OW,
                 (size_t)G->OW * sizeof(double));
      gys = part[1];
    }
    memset(gxs, 0, (size_t)(G->C * D->P) * sizeof(double));
    for (g = 0; st == NN_OK && g < G->groups; g++) {
      if ((st = nn_check_interrupt()) != NN_OK) break;
      for (t = 0; st == NN_OK && t < G->taps; t++)
        st = gemm(1, 0, G->Cg, D->Np, G->Kg, 1.0, part[0] + (t * G->K + g * G->Kg) * G->Cg,
                  G->Cg, gys + g * G->Kg * D->ldw, D->ldw, 1.0,
                  gxs + g * G->Cg * D->P + tap_offset(G, D, t), D->P);
    }
    if (st == NN_OK && D->pad) pad_copy(G, D, gx, n, part[2], 1);   /* border dropped */
  }
  return workspace_done(st);
}

/* }====================================================== */


/*
** {======================================================
** Dispatch
** =======================================================
*/

static ConvPath forced = CONV_AUTO;

void conv_force_path(ConvPath p) { forced = p; }

static void direct_geom(const Geom *G, DirectGeom *D) {
  D->N = G->N; D->C = G->C; D->H = G->H; D->W = G->W; D->K = G->K;
  D->kh = G->kh; D->kw = G->kw; D->ph = G->ph; D->pw = G->pw; D->dh = G->dh; D->dw = G->dw;
  D->OH = G->OH; D->OW = G->OW;
}

/*
** When the direct kernels (conv_direct.c) pay, measured against the
** columns and the wide form, forced in turn, on 18 layers from LeNet's to
** an Inception block's (float64, one thread): stride 1 and one group,
** and a padding no wider than the image (beyond it the junk grows).  The
** forward then ran 1.1-3.2x faster than the better of the other two,
** except a 1x1 unpadded kernel, which the wide form does as one GEMM
** (0.83x).  The backward ran 1.1-2.1x faster on thin layers (LeNet's 2.1x,
** 64 channels in and out 1.15x) but 0.84-1.0x with 128 or more output
** channels, more than 576 rows (Cin·kh·kw), or a large image (224x224:
** 0.75x, where the widened gradient no longer stays in cache).
*/
#define DIRECT_BWD_MAX_ROWS 576
#define DIRECT_BWD_MAX_K 64
#define DIRECT_BWD_MAX_L 4096   /* output positions */

static int direct_plan(const Geom *G, int backward, DirectGeom *D) {
  int pays;
  if (G->sh != 1 || G->sw != 1 || G->groups != 1 || G->ph > G->H || G->pw > G->W || G->L == 0)
    return 0;
  pays = !(G->kh == 1 && G->kw == 1 && G->ph == 0 && G->pw == 0) &&
         (!backward || (G->rows <= DIRECT_BWD_MAX_ROWS && G->K <= DIRECT_BWD_MAX_K &&
                        G->L <= DIRECT_BWD_MAX_L));
  if (forced == CONV_AUTO ? !pays : forced != CONV_DIRECT) return 0;
  direct_geom(G, D);
  return 1;
}

/* One group and a kernel over the whole input: a matrix product. */
static int fc_plan(const Geom *G, DirectGeom *D) {
  if (G->groups != 1 || G->N == 0 || forced != CONV_AUTO) return 0;
  direct_geom(G, D);
  return conv_is_fc(D);
}

static int wide_chosen(const Geom *G, Wide *D) {
  return (forced == CONV_AUTO || forced == CONV_WIDE) && wide_plan(G, D);
}

static int conv_forward_raw(const Geom *G, const double *x, const double *w,
                            const double *bias, double *y) {
  Wide D;
  DirectGeom DG;
  if (fc_plan(G, &DG)) return conv_fc_forward(&DG, x, w, bias, y);
  if (direct_plan(G, 0, &DG)) return conv_direct_forward(&DG, x, w, bias, y);
  if (wide_chosen(G, &D)) return wide_forward(G, &D, x, w, bias, y);
  return cols_forward(G, x, w, bias, y);
}

/* gx and/or gw (NULL: not wanted) for dL/dy = gy; x is read only for gw,
** w only for gx. */
static int conv_backward_raw(const Geom *G, const double *x, const double *w,
                             const double *gy, double *gx, double *gw) {
  Wide D;
  DirectGeom DG;
  int st = NN_OK;
  if (fc_plan(G, &DG)) return conv_fc_backward(&DG, x, w, gy, gx, gw);
  if (direct_plan(G, 1, &DG)) {
    if (gw != NULL) st = conv_direct_grad_weight(&DG, x, gy, gw);
    return st == NN_OK && gx != NULL ? conv_direct_grad_input(&DG, w, gy, gx) : st;
  }
  /* gw by columns: the per-tap GEMMs for it are Kg x Cg products with a
  ** long inner dimension, which ran 10-20% slower than the one im2col GEMM
  ** (measured); gx gains from the wide form as much as the forward does */
  if (wide_chosen(G, &D)) {
    st = gx != NULL ? wide_grad_input(G, &D, w, gy, gx) : NN_OK;
    return st == NN_OK && gw != NULL ? cols_backward(G, x, w, gy, NULL, gw) : st;
  }
  return cols_backward(G, x, w, gy, gx, gw);
}

/* gb[k] = Σ over n and positions of gy[n, k, ·] (gy N x K x L).  Eight
** running sums instead of one: a single chain of dependent additions took
** 0.4 ms of the benchmark's 20 ms backward. */
static void bias_grad(int64_t N, int64_t K, int64_t L, const double *gy, double *gb) {
  int64_t n, k, j, i;
  for (k = 0; k < K; k++) gb[k] = 0.0;
  for (n = 0; n < N; n++)
    for (k = 0; k < K; k++) {
      const double *r = gy + (n * K + k) * L;
      double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (j = 0; j + 8 <= L; j += 8)
        for (i = 0; i < 8; i++) s[i] += r[j + i];
      for (; j < L; j++) s[0] += r[j];
      gb[k] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
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
  G->N = x->size[0], G->groups = p->groups;
  G->kh = k[0], G->kw = k[1];
  G->sh = p->stride[0], G->sw = p->stride[1];
  G->ph = p->padding[0], G->pw = p->padding[1];
  G->dh = p->dilation[0], G->dw = p->dilation[1];
  if (!transposed) {
    G->C = cin, G->H = x->size[2], G->W = x->size[3];
    G->K = cout, G->OH = out[0], G->OW = out[1];
  }
  else {   /* the transposed input is the convolution's output */
    G->C = cout, G->H = out[0], G->W = out[1];
    G->K = cin, G->OH = x->size[2], G->OW = x->size[3];
  }
  G->Cg = G->C / G->groups, G->Kg = G->K / G->groups;
  G->taps = G->kh * G->kw, G->rows = G->Cg * G->taps, G->L = G->OH * G->OW;
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

static double *data(const Tensor *t) {
  return t != NULL ? t->storage->data + t->offset : NULL;
}

/* A contiguous version of t (NULL for NULL); 0 when a copy failed. */
static int contig(const Tensor *t, Tensor **out) {
  *out = NULL;
  return t == NULL || (*out = tensor_contiguous(t)) != NULL;
}

/* Both forwards; G describes the convolution, so for the transposed one
** the output is G's input side. */
static Tensor *forward(const Tensor *x, const Tensor *w, const Tensor *b,
                       const Conv2dParams *p, int transposed) {
  Geom G;
  Tensor *xc = NULL, *wc = NULL, *bc = NULL, *y = NULL;
  int64_t size[4], n, j;
  int st = NN_ENOMEM;
  if (conv_setup(x, w, b, p, transposed, &G) != NN_OK) return NULL;
  size[0] = G.N;
  size[1] = transposed ? G.C : G.K;
  size[2] = transposed ? G.H : G.OH;
  size[3] = transposed ? G.W : G.OW;
  if ((y = tensor_new(4, size)) != NULL && contig(x, &xc) && contig(w, &wc) &&
      contig(b, &bc)) {
    if (!transposed) st = conv_forward_raw(&G, data(xc), data(wc), data(bc), data(y));
    else {   /* the input gradient of the convolution whose output x would be */
      double *yd = data(y), *bd = data(bc);
      st = conv_backward_raw(&G, NULL, data(wc), data(xc), yd, NULL);
      for (n = 0; st == NN_OK && bd != NULL && n < G.N * G.C; n++)   /* n: plane */
        for (j = 0; j < G.H * G.W; j++) yd[n * G.H * G.W + j] += bd[n % G.C];
    }
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

/* Both backwards: the wanted gradients (pointer not NULL), all or none. */
static int backward(const Tensor *x, const Tensor *w, const Conv2dParams *p, const Tensor *gy,
                    Tensor **gx, Tensor **gw, Tensor **gb, int transposed) {
  Geom G;
  Tensor *g[3] = {NULL, NULL, NULL}, *xc = NULL, *wc = NULL, *gyc = NULL;
  int64_t nb;
  int st, i;
  if (gx != NULL) *gx = NULL;
  if (gw != NULL) *gw = NULL;
  if (gb != NULL) *gb = NULL;
  if ((st = conv_setup(x, w, NULL, p, transposed, &G)) != NN_OK) return st;
  st = transposed ? check_grad(gy, G.N, G.C, G.H, G.W) : check_grad(gy, G.N, G.K, G.OH, G.OW);
  if (st != NN_OK) return st;
  nb = transposed ? G.C : G.K;
  if ((gx != NULL && (g[0] = tensor_new(4, x->size)) == NULL) ||
      (gw != NULL && (g[1] = tensor_new(4, w->size)) == NULL) ||
      (gb != NULL && (g[2] = tensor_new(1, &nb)) == NULL) || !contig(gy, &gyc) ||
      !contig(gw != NULL ? x : NULL, &xc) || !contig(gx != NULL ? w : NULL, &wc))
    st = nn_errcode();
  else if (!transposed) {
    if (gx != NULL || gw != NULL)
      st = conv_backward_raw(&G, data(xc), data(wc), data(gyc), data(g[0]), data(g[1]));
  }
  else {
    /* gx: the convolution of gy, restricted to x's size; gw: the
    ** convolution's weight gradient with gy as its input and x as the
    ** gradient of its output */
    if (gx != NULL) st = conv_forward_raw(&G, data(gyc), data(wc), NULL, data(g[0]));
    if (st == NN_OK && gw != NULL)
      st = conv_backward_raw(&G, data(gyc), NULL, data(xc), NULL, data(g[1]));
  }
  if (st == NN_OK && gb != NULL)
    bias_grad(G.N, nb, transposed ? G.H * G.W : G.L, data(gyc), data(g[2]));
  tensor_release(xc);
  tensor_release(wc);
  tensor_release(gyc);
  for (i = 0; i < 3 && st != NN_OK; i++) tensor_release(g[i]);
  if (st == NN_OK && gx != NULL) *gx = g[0];
  if (st == NN_OK && gw != NULL) *gw = g[1];
  if (st == NN_OK && gb != NULL) *gb = g[2];
  return st;
}

Tensor *layer_conv2d(const Tensor *x, const Tensor *w, const Tensor *b,
                     const Conv2dParams *p) {
  return forward(x, w, b, p, 0);
}

int layer_conv2d_backward(const Tensor *x, const Tensor *w, const Conv2dParams *p,
                          const Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb) {
  return backward(x, w, p, gy, gx, gw, gb, 0);
}

Tensor *layer_conv_transpose2d(const Tensor *x, const Tensor *w, const Tensor *b,
                               const Conv2dParams *p) {
  return forward(x, w, b, p, 1);
}

int layer_conv_transpose2d_backward(const Tensor *x, const Tensor *w,
                                    const Conv2dParams *p, const Tensor *gy,
                                    Tensor **gx, Tensor **gw, Tensor **gb) {
  return backward(x, w, p, gy, gx, gw, gb, 1);
}

/* }====================================================== */
