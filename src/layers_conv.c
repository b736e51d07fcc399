/*
** layers_conv.c — 2-D convolution and transposed convolution, forward and
** backward, as im2col + GEMM.
**
** A convolution of one sample and one group is a matrix product: unroll
** every receptive field of the input into a column ("im2col"), giving a
** rows x L matrix (rows = Cin/groups·kh·kw, L = Hout·Wout), and multiply
** the Cout/groups x rows weight matrix by it.  The backward is two more
** products: gw = gy · colsᵀ, and gx = col2im(wᵀ · gy), where col2im adds
** every column back onto the receptive field it came from.  The transposed
** convolution is exactly that input gradient used as a layer, so its
** forward is the data half of the conv backward and its backward is a conv
** forward (for gx) and the conv weight gradient with the roles of input
** and gradient swapped.  Everything heavy is gemm().
**
** The column matrix is built in blocks of columns rather than whole: a
** block small enough to stay in cache is written by im2col and read back by
** the GEMM right away, instead of streaming a matrix of tens of megabytes
** through memory (a 5x5 kernel over 256 channels of 32x32 would need
** 52 MB).  When one sample has few output positions (small late-layer
** images), whole samples are batched into one block so the GEMM stays wide.
** A 1x1 kernel with stride 1 and no padding needs no im2col at all: the
** input plane already is the column matrix.
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
  int64_t Cg, Kg, rows, L;   /* per group channels in/out; rows = Cg·kh·kw */
  int direct;                /* 1x1, stride 1, unpadded: x is the column matrix */
} Geom;

static void geom_finish(Geom *G) {
  G->Cg = G->C / G->groups;
  G->Kg = G->K / G->groups;
  G->rows = G->Cg * G->kh * G->kw;
  G->L = G->OH * G->OW;
  G->direct = G->kh == 1 && G->kw == 1 && G->sh == 1 && G->sw == 1 && G->ph == 0 &&
              G->pw == 0 && G->OH == G->H && G->OW == G->W;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Output columns ow whose input column ow·sw + off lies in [0, W), as
** [*lo, *hi); the rest read padding. */
static void valid_range(const Geom *G, int64_t off, int64_t *lo, int64_t *hi) {
  int64_t a = off >= 0 ? 0 : ceil_div(-off, G->sw);
  int64_t b = G->W - off <= 0 ? 0 : ceil_div(G->W - off, G->sw);
  if (b > G->OW) b = G->OW;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* Columns [j0, j0+cw) (flat output positions oh·OW + ow) of the column
** matrix of one sample and group, xs pointing at its Cg x H x W planes.
** Row r = (c·kh + i)·kw + j of dst (row stride ld) holds input (c, oh·sh −
** ph + i·dh, ow·sw − pw + j·dw) per column, 0 outside: the order of the
** weights' Cg x kh x kw, so one weight row times one column is one output. */
static void im2col(const Geom *G, const double *xs, int64_t j0, int64_t cw,
                   double *dst, int64_t ld) {
  int64_t c, i, j;
  for (c = 0; c < G->Cg; c++) {
    const double *xc = xs + c * G->H * G->W;
    for (i = 0; i < G->kh; i++) {
      int64_t offh = i * G->dh - G->ph;
      for (j = 0; j < G->kw; j++) {
        int64_t offw = j * G->dw - G->pw, lo, hi, pos = 0, p = j0;
        double *row = dst + ((c * G->kh + i) * G->kw + j) * ld;
        valid_range(G, offw, &lo, &hi);
        while (pos < cw) {   /* one output row (or its part) at a time */
          int64_t oh = p / G->OW, ow0 = p % G->OW;
          int64_t n = G->OW - ow0 < cw - pos ? G->OW - ow0 : cw - pos;
          int64_t ih = oh * G->sh + offh, a, b, ow;
          double *out = row + pos - ow0;   /* out[ow] is column ow */
          if (ih < 0 || ih >= G->H) a = b = ow0 + n;
          else {
            a = lo > ow0 ? lo : ow0;
            b = hi < ow0 + n ? hi : ow0 + n;
            if (b < a) b = a;
          }
          for (ow = ow0; ow < a; ow++) out[ow] = 0.0;
          if (a < b) {
            const double *src = xc + ih * G->W + offw;   /* src[ow·sw], ow in [a, b) */
            if (G->sw == 1) memcpy(out + a, src + a, (size_t)(b - a) * sizeof(double));
            else
              for (ow = a; ow < b; ow++) out[ow] = src[ow * G->sw];
          }
          for (ow = b; ow < ow0 + n; ow++) out[ow] = 0.0;
          pos += n;
          p += n;
        }
      }
    }
  }
}

/* The adjoint of im2col: adds every entry of the columns onto the input
** position it was read from (padding positions are dropped). */
static void col2im(const Geom *G, const double *src, int64_t ld, int64_t j0, int64_t cw,
                   double *xs) {
  int64_t c, i, j;
  for (c = 0; c < G->Cg; c++) {
    double *xc = xs + c * G->H * G->W;
    for (i = 0; i < G->kh; i++) {
      int64_t offh = i * G->dh - G->ph;
      for (j = 0; j < G->kw; j++) {
        int64_t offw = j * G->dw - G->pw, lo, hi, pos = 0, p = j0;
        const double *row = src + ((c * G->kh + i) * G->kw + j) * ld;
        valid_range(G, offw, &lo, &hi);
        while (pos < cw) {
          int64_t oh = p / G->OW, ow0 = p % G->OW;
          int64_t n = G->OW - ow0 < cw - pos ? G->OW - ow0 : cw - pos;
          int64_t ih = oh * G->sh + offh;
          if (ih >= 0 && ih < G->H) {
            int64_t a = lo > ow0 ? lo : ow0, b = hi < ow0 + n ? hi : ow0 + n, ow;
            const double *in = row + pos - ow0;
            double *dstrow = xc + ih * G->W + offw;
            if (G->sw == 1)
              for (ow = a; ow < b; ow++) dstrow[ow] += in[ow];
            else
              for (ow = a; ow < b; ow++) dstrow[ow * G->sw] += in[ow];
          }
          pos += n;
          p += n;
        }
      }
    }
  }
}

/* }====================================================== */


/*
** {======================================================
** Blocks of columns
** =======================================================
*/

/*
** Block sizes, measured on Zen 4 (1 MiB L2 per core, 32 MiB L3) with the
** benchmark's shapes.  A block of about COL_BUDGET doubles (2 MiB) is
** produced by im2col and consumed by the GEMM while it is still in cache;
** it never gets narrower than MIN_COLS columns, since a GEMM with a narrow
** right-hand side loses more than the cache saves.  COL_HARD bounds the
** block's memory for absurd kernels (it may then be narrower).
*/
#ifndef COL_BUDGET
#define COL_BUDGET ((int64_t)1 << 18)
#endif
#ifndef MIN_COLS
#define MIN_COLS 256
#endif
#define COL_HARD ((int64_t)1 << 25)

/* Samples n0 .. n0+nb−1 and, of each, columns j0 .. j0+cw−1: nb > 1 only
** with whole samples (j0 = 0, cw = L), laid side by side. */
typedef struct Block { int64_t n0, nb, j0, cw; } Block;

typedef struct Plan {
  int64_t cw, nb;   /* columns per sample per block; samples per block */
} Plan;

static Plan make_plan(const Geom *G) {
  Plan P;
  int64_t tw = G->rows > 0 ? COL_BUDGET / G->rows : COL_BUDGET;
  if (tw < MIN_COLS) {
    tw = G->rows > 0 ? COL_HARD / G->rows : MIN_COLS;
    if (tw > MIN_COLS) tw = MIN_COLS;
    if (tw < 1) tw = 1;
  }
  P.nb = 1;
  P.cw = G->L < tw ? G->L : tw;
  if (G->L < tw && G->N > 1) {
    P.nb = tw / (G->L > 0 ? G->L : 1);
    if (P.nb > G->N) P.nb = G->N;
    if (P.nb < 1) P.nb = 1;
  }
  /* a direct convolution keeps no column buffer small: one GEMM per
  ** sample, unless small samples are batched (then their columns are
  ** copied side by side, which is the im2col of a 1x1 kernel) */
  else if (G->direct) P.cw = G->L;
  if (P.cw < 1) P.cw = 1;
  return P;
}

/* Steps *B to the next block; 0 after the last. */
static int next_block(const Geom *G, const Plan *P, Block *B, int first) {
  if (first) {
    B->n0 = 0;
    B->j0 = 0;
  }
  else if (P->nb > 1) B->n0 += B->nb;
  else if ((B->j0 += B->cw) >= G->L) {
    B->j0 = 0;
    B->n0++;
  }
  if (B->n0 >= G->N || G->L == 0) return 0;
  B->nb = P->nb > 1 ? (G->N - B->n0 < P->nb ? G->N - B->n0 : P->nb) : 1;
  B->cw = G->L - B->j0 < P->cw ? G->L - B->j0 : P->cw;
  return 1;
}

/* The group's Cg input planes of sample n. */
static const double *in_planes(const Geom *G, const double *x, int64_t n, int64_t g) {
  return x + (n * G->C + g * G->Cg) * G->H * G->W;
}

/* Column matrix of a block and group, side by side per sample; *ld gets
** its row stride.  Direct convolutions point into x instead of copying. */
static const double *block_cols(const Geom *G, const double *x, const Block *B, int64_t g,
                                double *buf, int64_t *ld) {
  int64_t s, w = B->nb * B->cw;
  if (G->direct && B->nb == 1) {
    *ld = G->L;
    return in_planes(G, x, B->n0, g) + B->j0;
  }
  for (s = 0; s < B->nb; s++)
    im2col(G, in_planes(G, x, B->n0 + s, g), B->j0, B->cw, buf + s * B->cw, w);
  *ld = w;
  return buf;
}

/* The Kg x (nb·cw) part of an N x K x L tensor t (output side) that a block
** and group cover: a view into t when the block is one sample, else
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

/* Scratch for the drivers; any pointer may stay NULL when not needed. */
typedef struct Scratch { double *cols, *dcols, *tmp; } Scratch;

static void scratch_free(Scratch *S) {
  free(S->cols);
  free(S->dcols);
  free(S->tmp);
}

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
** Drivers over contiguous data
** =======================================================
*/

/* y = conv(x, w) + bias; y is N x K x OH x OW, bias K doubles or NULL. */
static int conv_forward_raw(const Geom *G, const double *x, const double *w,
                            const double *bias, double *y) {
  Plan P = make_plan(G);
  Scratch S = {NULL, NULL, NULL};
  Block B;
  int64_t width = P.nb * P.cw, g, n, k, s, j;
  int st = NN_OK, first = 1;
  if (!(G->direct && P.nb == 1)) st = scratch_get(&S.cols, G->rows * width);
  if (st == NN_OK && P.nb > 1) st = scratch_get(&S.tmp, G->Kg * width);
  if (st != NN_OK) goto done;
  if (bias != NULL && P.nb == 1)   /* the GEMMs then add onto the bias */
    for (n = 0; n < G->N; n++)
      for (k = 0; k < G->K; k++)
        for (j = 0; j < G->L; j++) y[(n * G->K + k) * G->L + j] = bias[k];
  for (; next_block(G, &P, &B, first); first = 0) {
    for (g = 0; g < G->groups; g++) {
      int64_t ldb, w2 = B.nb * B.cw;
      const double *cols, *wg = w + g * G->Kg * G->rows;
      if ((st = nn_check_interrupt()) != NN_OK) goto done;
      cols = block_cols(G, x, &B, g, S.cols, &ldb);
      if (P.nb == 1) {
        st = gemm(0, 0, G->Kg, B.cw, G->rows, 1.0, wg, G->rows, cols, ldb,
                  bias != NULL ? 1.0 : 0.0, y + (B.n0 * G->K + g * G->Kg) * G->L + B.j0,
                  G->L);
        if (st != NN_OK) goto done;
        continue;
      }
      st = gemm(0, 0, G->Kg, w2, G->rows, 1.0, wg, G->rows, cols, ldb, 0.0, S.tmp, w2);
      if (st != NN_OK) goto done;
      for (s = 0; s < B.nb; s++)
        for (k = 0; k < G->Kg; k++) {
          double bk = bias != NULL ? bias[g * G->Kg + k] : 0.0;
          double *dst = y + ((B.n0 + s) * G->K + g * G->Kg + k) * G->L;
          const double *src = S.tmp + k * w2 + s * B.cw;
          for (j = 0; j < B.cw; j++) dst[j] = src[j] + bk;
        }
    }
  }
done:
  scratch_free(&S);
  return st;
}

/* For dL/dy = gy: gx = col2im(wᵀ·gy) (gx zeroed here) and gw = Σ gy·colsᵀ,
** either may be NULL; x is only read for gw. */
static int conv_backward_raw(const Geom *G, const double *x, const double *w,
                             const double *gy, double *gx, double *gw) {
  Plan P = make_plan(G);
  Scratch S = {NULL, NULL, NULL};
  Block B;
  int64_t width = P.nb * P.cw, g, s;
  int st = NN_OK, first = 1;
  int direct_gx = G->direct && P.nb == 1;   /* GEMM straight into gx */
  if (gw != NULL && !(G->direct && P.nb == 1)) st = scratch_get(&S.cols, G->rows * width);
  if (st == NN_OK && gx != NULL && !direct_gx)
    st = scratch_get(&S.dcols, G->rows * width);
  if (st == NN_OK && P.nb > 1) st = scratch_get(&S.tmp, G->Kg * width);
  if (st != NN_OK) goto done;
  if (gx != NULL && !direct_gx)
    memset(gx, 0, (size_t)(G->N * G->C * G->H * G->W) * sizeof(double));
  if (gw != NULL) memset(gw, 0, (size_t)(G->K * G->rows) * sizeof(double));
  for (; next_block(G, &P, &B, first); first = 0) {
    for (g = 0; g < G->groups; g++) {
      int64_t ldg, w2 = B.nb * B.cw;
      const double *gyb, *wg = w != NULL ? w + g * G->Kg * G->rows : NULL;
      if ((st = nn_check_interrupt()) != NN_OK) goto done;
      gyb = block_out(G, gy, &B, g, S.tmp, &ldg);
      if (gw != NULL) {
        int64_t ldc;
        const double *cols = block_cols(G, x, &B, g, S.cols, &ldc);
        st = gemm(0, 1, G->Kg, G->rows, w2, 1.0, gyb, ldg, cols, ldc, 1.0,
                  gw + g * G->Kg * G->rows, G->rows);
        if (st != NN_OK) goto done;
      }
      if (gx == NULL) continue;
      if (direct_gx) {
        st = gemm(1, 0, G->rows, w2, G->Kg, 1.0, wg, G->rows, gyb, ldg, 0.0,
                  gx + (B.n0 * G->C + g * G->Cg) * G->L + B.j0, G->L);
        if (st != NN_OK) goto done;
        continue;
      }
      st = gemm(1, 0, G->rows, w2, G->Kg, 1.0, wg, G->rows, gyb, ldg, 0.0, S.dcols, w2);
      if (st != NN_OK) goto done;
      for (s = 0; s < B.nb; s++)
        col2im(G, S.dcols + s * B.cw, w2, B.j0, B.cw,
               gx + (B.n0 + s) * G->C * G->H * G->W + g * G->Cg * G->H * G->W);
    }
  }
done:
  scratch_free(&S);
  return st;
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
