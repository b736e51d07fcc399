/*
** conv_direct.c — direct stride-1 convolution for small images and thin
** layers (LeNet's, CIFAR's, an image's first layer), forward and both
** gradients, with no column matrix.
**
** There im2col is the cost: LeNet's first layer unrolls a 1x32x32 image
** into a 25 x 784 column matrix, 25 times the input, and the GEMMs that
** follow have 16 or 25 to sum over, too few to pay for their packing.
**
** Seen "wide" (as in layers_conv.c), with output rows as long as the
** padded input's (Wp; the last Wp − OW entries of a row are junk), tap t
** = (i, j) of wide output position p reads the padded input at
** p + off(t), off(t) = i·dh·Wp + j·dw.  Flatten (input channel, tap) into
** one index r with offset roff(r) = c·plane + off(t), and the three
** computations are
**   forward      y[k][p]   = Σ_r w[k][r] · xp[p + roff(r)]
**   weights      gw[k][r]  = Σ_n Σ_p gy[k][p] · xp[p + roff(r)]
**   input        gx[c][q]  = Σ_k Σ_t w[k][c][t] · gy[k][q − off(t)]
** the last being the first again with the roles turned round: gy padded
** in front by the largest offset is its input, the C input channels its
** outputs, and the offsets run backwards.  So one correlation kernel does
** the forward and the input gradient, and one dot-product kernel the
** weights.  Both keep a block of accumulators in vector registers while
** every r is added, which makes them FMA-bound: per r the correlation
** loads PV vectors of input and KB weights to feed KB·PV FMAs, the dot
** product loads KB + RB vectors for KB·RB.  The junk positions (and, for
** the input gradient, taps that fall outside gy) are the price: wide,
** LeNet's second layer does 40% more multiply-adds forward than it
** needs, its first 14%.  So the forward computes rows of OW rounded up
** to half a vector instead where that is shorter (compact rows, a vector
** split across two where it must: see Rows), the weights rows of exactly
** OW over kw shifted copies of the input, or of OW rounded up to a whole
** vector (see shifted_pays): on AVX2 neither computes junk on LeNet.  The
** input gradient, which needs the wide rows, skips the tap rows that
** miss gy (see Band): 40% more than needed on LeNet's second layer, where
** it was twice as many.
*/
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"

#include "gemm.h"
#include "simd.h"
#include "status.h"
#include "workspace.h"

/* Vectors (vd, simd.h) are moved with memcpy (unaligned), never passed
** or returned by value. */
#define MAX_PB (4 * VL)   /* the widest block of positions, PV = 4 */

#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

/* ======================================================================
** Kernels
** ====================================================================== */

/* Computed positions run along rows of `wc` (the padded width Wp, or in
** the compact form the output width rounded up to half a vector), the
** input's along rows of wp (Wp; OW for the weights' shifted copies):
** position p reads the input from (p / wc)·wp + p % wc on.  Wide, the
** mapping is p itself.  Compact, a half vector never straddles two rows
** (wc is a multiple of HL), but a vector does where wc is not a multiple
** of VL (split): the kernels then load its halves from their own places.
** (The weights round compact rows up to a whole vector, see
** shifted_pays.)  They read the mapping from a
** table with an entry per half vector (half_starts): working it out as
** they go cost the dot products more than the junk it saved. */
typedef struct Rows {
  int64_t wc, wp;
  int split;   /* a vector may straddle two rows */
} Rows;

/* The input position of computed position p */
static int64_t rows_in(const Rows *R, int64_t p) { return p / R->wc * R->wp + p % R->wc; }

/* Which rows r a block of positions needs, when not all of them: r
** runs tap row by tap row (per tap row, `per` rows of r), and wide
** position q (q = y·Wp + x from the output's origin) reaches gy only
** with tap rows i where 0 <= y + ph − i·dh < OH.  The others read the
** zeros around gy.  In the input gradient of LeNet's second layer (14
** output rows from 10 of gy, 5 tap rows) they were 29% of the FMAs. */
typedef struct Band {
  int64_t Wp, H, OH, kh, dh, ph, per;
} Band;

/* The rows [*lo, *hi) of r for positions [q, q + n) */
static void band_rows(const Band *B, int64_t q, int64_t n, int64_t *lo, int64_t *hi) {
  int64_t y0 = q / B->Wp, y1 = (q + n - 1) / B->Wp, top, i0, i1;
  if (y1 > B->H - 1) y1 = B->H - 1;   /* the overrun past the last row */
  if (y0 > y1) y0 = y1;
  top = y0 + B->ph - B->OH + 1;       /* the lowest tap row: i·dh >= top */
  i0 = top <= 0 ? 0 : (top + B->dh - 1) / B->dh;
  i1 = (y1 + B->ph) / B->dh;          /* the highest: i·dh <= y1 + ph */
  if (i1 > B->kh - 1) i1 = B->kh - 1;
  *lo = i0 * B->per;
  *hi = i1 >= i0 ? (i1 + 1) * B->per : *lo;
}

/* A correlation: rows of out (ldo apart) for kb output channels at
** computed positions pos0 + [0, np) (np a multiple of the block), each
** bias[kk] (0 without a bias) plus the sum over r of
** wp[r·KB + kk] · in[rows_in(p) + roff[r]], rows_in of the h-th half
** vector being at[h]; with a band, only over its rows for the block. */
typedef struct Corr {
  const double *in;   /* the input at computed position 0 */
  const int64_t *roff;
  int64_t nr;
  const double *wp;   /* packed: the KB weights of each r in turn */
  const double *bias; /* the block's KB biases, or NULL */
  double *out;
  int64_t ldo, np;
  const Band *band;   /* or NULL: every r for every block */
  int64_t pos0;       /* the first position of out */
  const int64_t *at;  /* where each half vector from pos0 on reads the input */
  int split;          /* vectors may straddle rows (which kernel) */
} Corr;

/* Vector j of a block whose half vectors start at at[0], at[1], ...:
** one load, or two where vectors straddle rows. */
#define LOAD_VEC(SPLIT, v, base, at, j)                                     \
  do {                                                                       \
    if (SPLIT) (v) = vhalves((base) + (at)[2 * (j)], (base) + (at)[2 * (j) + 1]); \
    else memcpy(&(v), (base) + (at)[2 * (j)], sizeof(vd));                  \
  } while (0)

/* KB channels x PV vectors of positions; KB·PV + PV + 1 <= NREG.  Each
** block is made twice, for vectors in one piece and for split ones. */
#define CORR_KERNEL(KB, PV)                                                  \
  CORR_BODY(corr_##KB##x##PV, KB, PV, 0)                                     \
  CORR_BODY(corr_##KB##x##PV##_split, KB, PV, 1)
#define CORR_BODY(NAME, KB, PV, SPLIT)                                       \
  static void NAME(const Corr *X) {                                          \
    int64_t p0, r, lo = 0, hi = X->nr;                                       \
    double b[KB];                                                            \
    int kk, j;                                                               \
    UNROLL for (kk = 0; kk < KB; kk++) b[kk] = X->bias != NULL ? X->bias[kk] : 0.0; \
    for (p0 = 0; p0 < X->np; p0 += VL * PV) {                                \
      vd acc[KB][PV], xv[PV];                                               \
      const double *wq;                                                      \
      const int64_t *at = X->at + 2 * (p0 / VL);                             \
      if (X->band != NULL) band_rows(X->band, X->pos0 + p0, VL * PV, &lo, &hi); \
      wq = X->wp + lo * KB;                                                  \
      UNROLL for (kk = 0; kk < KB; kk++)                                     \
        UNROLL for (j = 0; j < PV; j++) acc[kk][j] = splat(b[kk]);          \
      for (r = lo; r < hi; r++, wq += KB) {                                  \
        const double *xs = X->in + X->roff[r];                               \
        UNROLL for (j = 0; j < PV; j++) LOAD_VEC(SPLIT, xv[j], xs, at, j);  \
        UNROLL for (kk = 0; kk < KB; kk++)                                   \
          UNROLL for (j = 0; j < PV; j++) acc[kk][j] = VFMA(acc[kk][j], xv[j], splat(wq[kk]));      \
      }                                                                      \
      UNROLL for (kk = 0; kk < KB; kk++)                                     \
        UNROLL for (j = 0; j < PV; j++)                                      \
          memcpy(X->out + kk * X->ldo + p0 + VL * j, &acc[kk][j], sizeof(vd)); \
    }                                                                        \
  }

/* Dot products over nseg segments of nv vectors of positions: for KB
** rows of gy (ldg apart) and RB offsets, the vector partial sum
**   part[kk][rr] += Σ_s Σ_v gy[s·gseg + kk·ldg + v·VL + lane]
**                            · in[s·iseg + at[2v] + lane + roff[rr]]
** (VL doubles each: consecutive rr VL apart, consecutive kk ldp apart;
** at[2v] the input position of the call's v-th vector, a whole one).
** The lanes are summed once, after the last sample, so a call may be
** short: one L1-sized tile, of one sample or of a few whole ones (the
** segments): LeNet's second layer has 25 vectors a sample, and calls
** that short spent a tenth of the time starting and ending. */
typedef struct Dots {
  const double *gy, *in;   /* gy at the first position, in at position 0 */
  int64_t ldg, nv;
  int64_t nseg, gseg, iseg;
  const int64_t *at;       /* where the input of each half vector starts */
  const int64_t *roff;
  double *part;
  int64_t ldp;
} Dots;

/* KB rows x RB offsets; KB·RB + KB + 1 <= NREG.  Vectors are whole: split
** ones (see plan) would make the dot products, which load KB + RB vectors
** for KB·RB FMAs, wait on their loads, and ran them 1.25 times slower. */
#define DOTS_KERNEL(KB, RB)                                                  \
  static void dots_##KB##x##RB(const Dots *D) {                              \
    vd acc[KB][RB], g[KB], xv;                                              \
    int64_t v, s;                                                            \
    int kk, rr;                                                              \
    UNROLL for (kk = 0; kk < KB; kk++)                                       \
      UNROLL for (rr = 0; rr < RB; rr++)                                     \
        memcpy(&acc[kk][rr], D->part + kk * D->ldp + rr * VL, sizeof(vd));  \
    for (s = 0; s < D->nseg; s++) {                                          \
      const double *gs = D->gy + s * D->gseg, *in = D->in + s * D->iseg;     \
      for (v = 0; v < D->nv; v++) {                                          \
        const double *xs = in + D->at[2 * v];                                \
        UNROLL for (kk = 0; kk < KB; kk++)                                   \
          memcpy(&g[kk], gs + kk * D->ldg + v * VL, sizeof(vd));            \
        UNROLL for (rr = 0; rr < RB; rr++) {                                 \
          memcpy(&xv, xs + D->roff[rr], sizeof(vd));                        \
          UNROLL for (kk = 0; kk < KB; kk++) acc[kk][rr] = VFMA(acc[kk][rr], g[kk], xv);    \
        }                                                                    \
      }                                                                      \
    }                                                                        \
    UNROLL for (kk = 0; kk < KB; kk++)                                       \
      UNROLL for (rr = 0; rr < RB; rr++)                                     \
        memcpy(D->part + kk * D->ldp + rr * VL, &acc[kk][rr], sizeof(vd));  \
  }

typedef void (*CorrFn)(const Corr *);
typedef void (*DotsFn)(const Dots *);

/* The blocks, widest first: a layer's channels are split greedily. */
#if NREG >= 32
CORR_KERNEL(8, 3)
CORR_KERNEL(6, 4)
CORR_KERNEL(4, 4)
CORR_KERNEL(2, 4)
CORR_KERNEL(1, 4)
static const struct { int kb, pv; CorrFn fn[2]; } corr_blocks[] = {
  {8, 3, {corr_8x3, corr_8x3_split}}, {6, 4, {corr_6x4, corr_6x4_split}},
  {4, 4, {corr_4x4, corr_4x4_split}}, {2, 4, {corr_2x4, corr_2x4_split}},
  {1, 4, {corr_1x4, corr_1x4_split}}};
DOTS_KERNEL(4, 6)
DOTS_KERNEL(4, 5)
DOTS_KERNEL(4, 4)
DOTS_KERNEL(2, 6)
DOTS_KERNEL(2, 5)
DOTS_KERNEL(2, 4)
DOTS_KERNEL(1, 6)
DOTS_KERNEL(1, 5)
DOTS_KERNEL(1, 4)
#define DOTS_KBS {4, 2, 1}
#define DOTS_KB0 4
#define DOTS_RBS {6, 5, 4}
static const DotsFn dots_fns[3][3] = {{dots_4x6, dots_4x5, dots_4x4},
                                      {dots_2x6, dots_2x5, dots_2x4},
                                      {dots_1x6, dots_1x5, dots_1x4}};
#else
CORR_KERNEL(6, 2)
CORR_KERNEL(4, 3)
CORR_KERNEL(2, 4)
CORR_KERNEL(1, 4)
static const struct { int kb, pv; CorrFn fn[2]; } corr_blocks[] = {
  {6, 2, {corr_6x2, corr_6x2_split}}, {4, 3, {corr_4x3, corr_4x3_split}},
  {2, 4, {corr_2x4, corr_2x4_split}}, {1, 4, {corr_1x4, corr_1x4_split}}};
DOTS_KERNEL(3, 4)
DOTS_KERNEL(3, 3)
DOTS_KERNEL(3, 2)
DOTS_KERNEL(2, 4)
DOTS_KERNEL(2, 3)
DOTS_KERNEL(2, 2)
DOTS_KERNEL(1, 4)
DOTS_KERNEL(1, 3)
DOTS_KERNEL(1, 2)
#define DOTS_KBS {3, 2, 1}
#define DOTS_KB0 3
#define DOTS_RBS {4, 3, 2}
static const DotsFn dots_fns[3][3] = {{dots_3x4, dots_3x3, dots_3x2},
                                      {dots_2x4, dots_2x3, dots_2x2},
                                      {dots_1x4, dots_1x3, dots_1x2}};
#endif
#define NCORR ((int)(sizeof corr_blocks / sizeof corr_blocks[0]))

/* The widest correlation block for the k channels left. */
static int corr_block(int64_t left) {
  int b = 0;
  while (b < NCORR - 1 && corr_blocks[b].kb > left) b++;
  return b;
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* n doubles of 0 at p, which may be NULL when n is 0 (no input channels). */
static void zero(double *p, int64_t n) {
  if (n > 0) memset(p, 0, (size_t)n * sizeof(double));
}

/* ======================================================================
** Geometry
** ====================================================================== */

typedef struct Plan {
  int64_t Hp, Wp, taps, max_off;
  Rows rows;       /* computed rows: Wp long (wide), or compact */
  int64_t Np;      /* computed positions in use: (OH − 1)·wc + OW */
  int64_t ldo;     /* a computed row of y or gy, with room for a block's overrun */
  int64_t plane;   /* a padded input plane, with room for reads past it */
} Plan;

/* Computed rows of the output width rounded up to `unit` (VL, or HL for
** split vectors) where that is shorter than Wp, else (and for unit 0)
** the wide rows.  On AVX2 LeNet's are 28 of 32 and 10 of 14, where the
** wide rows computed 14% and 40% more than the output and rows of whole
** vectors (12) 20% more on the second layer.  The forward takes split
** vectors: a blend each, less than the 20%; the weights whole ones (see
** DOTS_KERNEL); the input gradient needs the wide rows. */
static void plan(const DirectGeom *G, Plan *D, int64_t unit) {
  int64_t wc = unit > 0 ? round_up(G->OW, unit) : 0, last;
  D->Hp = G->H + 2 * G->ph;
  D->Wp = G->W + 2 * G->pw;
  D->taps = G->kh * G->kw;
  D->max_off = (G->kh - 1) * G->dh * D->Wp + (G->kw - 1) * G->dw;
  D->rows.wp = D->Wp;
  D->rows.wc = unit > 0 && wc < D->Wp ? wc : D->Wp;
  D->rows.split = D->rows.wc != D->rows.wp && D->rows.wc % VL != 0;   /* wide: p itself */
  D->Np = (G->OH - 1) * D->rows.wc + G->OW;
  D->ldo = round_up(D->Np, VL) + MAX_PB;
  /* a block reads a vector from up to MAX_PB past Np, plus the largest
  ** offset */
  last = rows_in(&D->rows, round_up(D->Np, VL) + MAX_PB) + VL + D->max_off;
  D->plane = round_up(D->Hp * D->Wp > last ? D->Hp * D->Wp : last, VL);
}

/* Half vectors a call may read, from position 0: npos positions and a
** block's overrun. */
static int64_t halves_of(int64_t npos) { return 2 * (round_up(npos, VL) + MAX_PB) / VL; }

/* at[h] = the input position of half vector h, for the halves of npos */
static void half_starts(const Rows *R, int64_t npos, int64_t *at) {
  int64_t h;
  for (h = 0; h < halves_of(npos); h++) at[h] = rows_in(R, h * HL);
}

static int64_t tap_off(const DirectGeom *G, const Plan *D, int64_t t) {
  return t / G->kw * G->dh * D->Wp + t % G->kw * G->dw;
}

/* n doubles, a vector at a time: memcpy's call costs more than the 5 to 30
** doubles of an image row (4% of LeNet's backward), and GCC turns a copy
** loop back into the call unless told not to. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void copy_row(double *restrict dst, const double *restrict src, int64_t n) {
  int64_t i = 0;
  vd v;
  for (; i + VL <= n; i += VL) {
    memcpy(&v, src + i, sizeof v);
    memcpy(dst + i, &v, sizeof v);
  }
  for (; i < n; i++) dst[i] = src[i];
}

/* The zero-padded planes of one sample into xp (C planes): only the
** interior is written, the padding was zeroed once. */
static void pad_sample(const DirectGeom *G, const Plan *D, const double *x, double *xp) {
  int64_t c, h;
  for (c = 0; c < G->C; c++)
    for (h = 0; h < G->H; h++)
      copy_row(xp + c * D->plane + (h + G->ph) * D->Wp + G->pw, x + (c * G->H + h) * G->W,
               G->W);
}

/* The K rows of one sample's gy, widened to the computed rows at `at`
** within rows `ld` apart (the junk and the rest were zeroed once). */
static void widen_grad(const DirectGeom *G, const Plan *D, const double *gy, double *gw,
                       int64_t ld, int64_t at) {
  int64_t k, oh;
  for (k = 0; k < G->K; k++)
    for (oh = 0; oh < G->OH; oh++)
      copy_row(gw + k * ld + at + oh * D->rows.wc, gy + (k * G->OH + oh) * G->OW, G->OW);
}

/* Runs the correlation of every block of `nout` output channels:
** w(o, r) is the weight of output channel o for row r; wp is scratch of
** nout·nr doubles for the packed weights. */
typedef double (*WeightAt)(const DirectGeom *G, const double *w, int64_t o, int64_t r);

static void pack_blocks(const DirectGeom *G, const double *w, WeightAt at, int64_t nout,
                        int64_t nr, double *wp) {
  int64_t o0 = 0, r;
  while (o0 < nout) {
    int b = corr_block(nout - o0), kk, kb = corr_blocks[b].kb;
    for (r = 0; r < nr; r++)
      for (kk = 0; kk < kb; kk++) wp[o0 * nr + r * kb + kk] = at(G, w, o0 + kk, r);
    o0 += kb;
  }
}

/*
** Positions are taken in tiles, so that what a tile reads of every input
** channel (its width plus the largest offset) and the tile of results
** stay in L2 while each block of output channels passes over them; each
** block's real columns of the tile are written to their place as soon as
** they are computed (or straight there, see correlate).  On a
** 224x224 image with 64 output channels one pass over all positions per
** block streamed the input from memory eight times, and the wide result
** (26 MB) twice more, at half the speed of the columns.  TILE_BYTES was
** measured; tiles are whole blocks of every width.
*/
#define TILE_BYTES ((int64_t)1 << 18)
#define TILE_STEP (3 * MAX_PB)   /* a multiple of VL·PV for every block */

static int64_t tile_width(int64_t channels, int64_t max_off, int64_t npos) {
  int64_t t = TILE_BYTES / ((int64_t)sizeof(double) * (channels > 0 ? channels : 1)) - max_off;
  t = t / TILE_STEP * TILE_STEP;
  if (t < 2 * TILE_STEP) t = 2 * TILE_STEP;
  return t < npos ? t : round_up(npos, TILE_STEP);
}

/* Where a correlation's results go: output channel o's plane at
** dst + o·dplane, rows of `width` real columns out of every computed row
** of wc. */
typedef struct Emit {
  double *dst;
  int64_t dplane, width, wc;
} Emit;

/* The real columns of computed positions [p, p + n) of kb channels from
** o0 on, held from src (rows lds apart, position p first). */
static void emit_block(const Emit *E, int64_t o0, int kb, const double *src, int64_t lds,
                       int64_t p, int64_t n) {
  int64_t i;
  int kk;
  for (kk = 0; kk < kb; kk++) {
    const double *s = src + kk * lds - p;
    double *dst = E->dst + (o0 + kk) * E->dplane;
    int64_t q = p, end = p + n;
    while (q < end) {   /* the rest of one computed row at a time */
      int64_t row = q / E->wc, col = q % E->wc;
      int64_t step = E->wc - col < end - q ? E->wc - col : end - q;
      int64_t m = col < E->width ? (E->width - col < step ? E->width - col : step) : 0;
      double *d = dst + row * E->width + col;
      for (i = 0; i < m; i++) d[i] = s[q + i];
      q += step;
    }
  }
}

/* The tile buffer a correlation needs: a tile and overrun for each
** channel of the widest block (one block's part of a tile at a time). */
static int64_t tile_buffer(int64_t nout, int64_t tile) {
  return (nout < corr_blocks[0].kb ? nout : corr_blocks[0].kb) * (tile + MAX_PB);
}

/* Runs block b of X over positions [p, p + np) (np a multiple of the
** block) into out, rows ldo apart; at is the table from position 0. */
static void run_block(Corr *X, int b, const int64_t *at, int64_t p, int64_t np, double *out,
                      int64_t ldo) {
  X->at = at + 2 * (p / VL);   /* (blocks are whole vectors) */
  X->pos0 = p;
  X->np = np;
  X->out = out;
  X->ldo = ldo;
  corr_blocks[b].fn[X->split](X);
}

/* Every output channel of the correlation J at computed positions
** [0, npos), tile by tile (tile positions, through tb), emitted by E: J
** holds every channel's packed weights and biases, and the table of
** input positions from position 0; correlate sets the rest.  Where the
** computed rows are the real ones (E->wc == E->width: compact rows of an
** output width that is a multiple of half a vector, or wide rows as long
** as the output's, as in an unpadded input gradient) a block's whole vectors go
** straight to their place, and only the last part block through the tile
** buffer tb: copying LeNet's first layer out of tb was a fifth of its
** forward. */
static void correlate(const Corr *J, int64_t nout, int64_t tile, double *tb, int64_t npos,
                      const Emit *E) {
  int64_t p0, ldt = tile + MAX_PB;
  int direct = E->wc == E->width;
  for (p0 = 0; p0 < npos; p0 += tile) {
    int64_t o0 = 0, n = npos - p0 < tile ? npos - p0 : tile;
    while (o0 < nout) {
      int b = corr_block(nout - o0), kb = corr_blocks[b].kb;
      int64_t step = VL * corr_blocks[b].pv, whole = direct ? n / step * step : 0;
      Corr X = *J;
      X.wp = J->wp + o0 * J->nr;
      X.bias = J->bias != NULL ? J->bias + o0 : NULL;
      if (whole > 0)
        run_block(&X, b, J->at, p0, whole, E->dst + o0 * E->dplane + p0, E->dplane);
      if (whole < n) {
        run_block(&X, b, J->at, p0 + whole, round_up(n - whole, step), tb, ldt);
        emit_block(E, o0, kb, tb, ldt, p0 + whole, n - whole);
      }
      o0 += kb;
    }
  }
}

/* The packed weights of nout channels over nr rows: never empty, so that
** every pointer into it is one (a layer without input channels has none) */
static int64_t weight_pack(int64_t nout, int64_t nr) { return nout * nr > 0 ? nout * nr : 1; }

static double weight_forward(const DirectGeom *G, const double *w, int64_t k, int64_t r) {
  return w[k * G->C * G->kh * G->kw + r];   /* w[k][c][t], r = c·taps + t */
}

/* The input gradient's r runs tap row by tap row, r = (i·K + k)·kw + j,
** so that a band of tap rows is a range of r. */
static int64_t input_k(const DirectGeom *G, int64_t r) { return r / G->kw % G->K; }
static int64_t input_tap(const DirectGeom *G, int64_t r) {
  return r / (G->K * G->kw) * G->kw + r % G->kw;
}

static double weight_input(const DirectGeom *G, const double *w, int64_t c, int64_t r) {
  int64_t taps = G->kh * G->kw;
  return w[(input_k(G, r) * G->C + c) * taps + input_tap(G, r)];
}

/* ======================================================================
** The three computations
** ====================================================================== */

/* The offsets (nroff of them, zeroed) and the workspace parts of one call;
** on failure nothing is left allocated. */
static int get_scratch(int64_t nroff, int count, const int64_t *size, double **part,
                       int64_t **roff) {
  int st;
  if ((*roff = calloc((size_t)nroff + 1, sizeof **roff)) == NULL)
    return nn_fail(NN_ENOMEM, "out of memory in the convolution's workspace");
  if ((st = workspace_get(count, size, part)) != NN_OK) {
    free(*roff);
    *roff = NULL;
  }
  return st;
}

int conv_direct_forward(const DirectGeom *G, const double *x, const double *w,
                        const double *bias, double *y) {
  Plan D;
  double *part[3], *xp, *tb, *wp;
  int64_t *roff, *at, n, r, nr = G->C * G->kh * G->kw, size[3], tile;
  int st;
  Corr J = {0};
  Emit E;
  plan(G, &D, HL);
  tile = tile_width(G->C + G->K, D.max_off, D.Np);
  size[0] = G->C * D.plane;
  size[1] = tile_buffer(G->K, tile);
  size[2] = weight_pack(G->K, nr);
  if ((st = get_scratch(nr + halves_of(D.Np), 3, size, part, &roff)) != NN_OK) return st;
  xp = part[0], tb = part[1], wp = part[2], at = roff + nr;
  half_starts(&D.rows, D.Np, at);
  E.dplane = G->OH * G->OW, E.width = G->OW, E.wc = D.rows.wc;
  for (r = 0; r < nr; r++) roff[r] = r / D.taps * D.plane + tap_off(G, &D, r % D.taps);
  pack_blocks(G, w, weight_forward, G->K, nr, wp);
  J.in = xp, J.roff = roff, J.nr = nr, J.wp = wp, J.bias = bias, J.at = at;
  J.split = D.rows.split;
  zero(xp, size[0]);
  for (n = 0; n < G->N && st == NN_OK; n++) {
    E.dst = y + n * G->K * G->OH * G->OW;
    pad_sample(G, &D, x + n * G->C * G->H * G->W, xp);
    correlate(&J, G->K, tile, tb, D.Np, &E);
    st = nn_check_interrupt();
  }
  free(roff);
  return workspace_done(st);
}

int conv_direct_grad_input(const DirectGeom *G, const double *w, const double *gy, double *gx) {
  Plan D;
  Band B;
  double *part[3], *gp, *tb, *wp;
  int64_t *roff, *at, n, r, q0, Nq, gplane, nr = G->K * G->kh * G->kw, size[3], tile;
  int st;
  Corr J = {0};
  Emit E;
  plan(G, &D, 0);
  /* output positions: the interior of the padded input, wide; gy sits
  ** max_off into each of its planes so that q − off(t) never goes below 0 */
  q0 = G->ph * D.Wp + G->pw;
  Nq = (G->H - 1) * D.Wp + G->W;
  gplane = round_up(D.max_off + (Nq + q0 > D.Np ? Nq + q0 : D.Np) + MAX_PB + VL, VL);
  size[0] = G->K * gplane;
  tile = tile_width(G->K + G->C, q0 + D.max_off, Nq);
  size[1] = tile_buffer(G->C, tile);
  size[2] = weight_pack(G->C, nr);
  if ((st = get_scratch(nr + halves_of(Nq), 3, size, part, &roff)) != NN_OK) return st;
  gp = part[0], tb = part[1], wp = part[2], at = roff + nr;
  half_starts(&D.rows, Nq, at);   /* wide: p itself */
  E.dplane = G->H * G->W, E.width = G->W, E.wc = D.Wp;
  for (r = 0; r < nr; r++)
    roff[r] = input_k(G, r) * gplane + q0 + D.max_off - tap_off(G, &D, input_tap(G, r));
  B.Wp = D.Wp, B.H = G->H, B.OH = G->OH, B.kh = G->kh, B.dh = G->dh, B.ph = G->ph;
  B.per = G->K * G->kw;
  pack_blocks(G, w, weight_input, G->C, nr, wp);
  J.in = gp, J.roff = roff, J.nr = nr, J.wp = wp, J.band = &B, J.at = at;
  zero(gp, size[0]);
  for (n = 0; n < G->N && st == NN_OK; n++) {
    E.dst = gx + n * G->C * G->H * G->W;
    widen_grad(G, &D, gy + n * G->K * G->OH * G->OW, gp, gplane, D.max_off);
    correlate(&J, G->C, tile, tb, Nq, &E);
    st = nn_check_interrupt();
  }
  free(roff);
  return workspace_done(st);
}

/* Positions a weight-gradient tile spans: its KB rows of gy (16 KB with
** one input channel's stretch) stay in L1 while every block of offsets
** passes over them, and each channel's stretch while that channel's
** taps do.  Before, each block streamed its rows of gy from L2 (for a
** chunk of samples at a time), and on a 512 KB L2 the dot products ran
** at half their FMA rate. */
#define DOTS_TILE_BYTES ((int64_t)1 << 14)
#define DOTS_TILE (DOTS_TILE_BYTES / (int64_t)sizeof(double) / (DOTS_KB0 + 1) / VL * VL)

/*
** Rows of whole vectors cost the junk columns of compact rows (LeNet's
** second layer: 12 for 10).  The weight gradient can instead read its
** input kw times over: copy (c, j) holds channel c's padded rows from
** column j·dw on, OW long, so that tap (i, j) of position p = y·OW + x
** reads copy (c, j) at p + i·dh·OW, every vector whole and none junk.
** It pays where the copies (kw planes of Hp·OW a channel and sample,
** counted as two FMAs a vector: a load and a store) cost less than the
** junk: on LeNet's second layer 490 -> 467 us at batch 32 (the copies are
** 7% of it).
*/
static int64_t shifted_plane(const DirectGeom *G, const Plan *D) {
  return round_up(D->Hp * G->OW + VL, VL);   /* and a vector's overrun */
}

static int shifted_pays(const DirectGeom *G, const Plan *D, int64_t nrp) {
  int64_t whole = round_up(D->Np, VL) / VL, exact = round_up(G->OH * G->OW, VL) / VL;
  int64_t copies = G->C * G->kw * D->Hp * round_up(G->OW, VL) / VL;
  return G->K * nrp * exact + 2 * copies < G->K * nrp * whole;
}

/* One sample's copies into sp (planes `plane` apart) from its padded
** input at src (planes src_plane, rows src_row apart). */
static void shift_sample(const DirectGeom *G, const Plan *D, const double *src,
                         int64_t src_plane, int64_t src_row, double *sp, int64_t plane) {
  int64_t c, j, y;
  for (c = 0; c < G->C; c++)
    for (j = 0; j < G->kw; j++)
      for (y = 0; y < D->Hp; y++)
        copy_row(sp + (c * G->kw + j) * plane + y * G->OW,
                 src + c * src_plane + y * src_row + j * G->dw, G->OW);
}

/* Where a chunk of samples goes: sample s of the chunk at in + s·iseg
** (xp when that is the padded input itself, else the shifted copies sp,
** xp then holding one padded sample on its way), its gy rows at
** gs + s·gseg (gy itself in place, else widened into gyw). */
typedef struct GwIn {
  int shifted, padded, in_place;
  double *xp, *sp, *gyw;
  int64_t xplane, splane, iseg, gseg;
} GwIn;

static void gw_load(const DirectGeom *G, const Plan *D, const GwIn *I, const double *x,
                    const double *gy, int64_t n, int64_t s) {
  const double *xs = x + n * G->C * G->H * G->W;
  double *xq = I->shifted ? I->xp : I->xp + s * I->xplane;   /* (xp NULL when unused) */
  if (!I->shifted || I->padded) pad_sample(G, D, xs, xq);
  if (I->shifted)
    shift_sample(G, D, I->padded ? xq : xs, I->padded ? D->plane : G->H * G->W,
                 I->padded ? D->Wp : G->W, I->sp + s * I->iseg, I->splane);
  if (!I->in_place) widen_grad(G, D, gy + n * G->K * G->OH * G->OW, I->gyw + s * I->gseg, D->ldo, 0);
}

int conv_direct_grad_weight(const DirectGeom *G, const double *x, const double *gy,
                            double *gw) {
  static const int kbs[] = DOTS_KBS, rbs[] = DOTS_RBS;
  Plan D;
  GwIn I;
  double *part[4], *acc;
  const double *gs;
  int64_t *roff, *at, n0, ns, r, nr = G->C * G->kh * G->kw, nrp, size[4], k, k0, r0, p0, nv, q;
  int64_t out_plane = G->OH * G->OW, per, tile, chunk, ldg;
  int st, best = 0, i;
  if (G->K == 0 || nr == 0) return NN_OK;   /* gw has no elements */
  plan(G, &D, VL);
  /* the offset block of least cost: each block of RB offsets (rows
  ** padded to whole blocks) does KB·RB FMAs and KB + RB loads a vector.
  ** Fewest padded rows alone chose LeNet's RB = 2 on AVX2, 1.45 times
  ** the time per row of RB = 3 or 4. */
  for (i = 1; i < 3; i++)
    if (round_up(nr, rbs[i]) / rbs[i] * (kbs[0] * rbs[i] + kbs[0] + rbs[i]) <
        round_up(nr, rbs[best]) / rbs[best] * (kbs[0] * rbs[best] + kbs[0] + rbs[best]))
      best = i;
  /* offsets padded to a whole number of blocks (the extra rows read
  ** offset 0 and are dropped) */
  nrp = round_up(nr, rbs[best]);
  I.shifted = shifted_pays(G, &D, nrp);
  I.padded = G->ph > 0 || G->pw > 0;
  I.splane = 0;
  if (I.shifted) {   /* positions p = y·OW + x, read at p */
    D.rows.wc = D.rows.wp = G->OW;
    D.Np = out_plane;
    D.ldo = round_up(D.Np, VL) + MAX_PB;
    I.splane = shifted_plane(G, &D);
  }
  /* computed rows that are gy's, in whole vectors, are read where they
  ** are: widening LeNet's first layer was a sixth of its weight gradient */
  I.in_place = D.rows.wc == G->OW && D.Np % VL == 0;
  ldg = I.in_place ? out_plane : D.ldo;
  nv = round_up(D.Np, VL) / VL;
  /* a tile is DOTS_TILE positions of a sample, or a chunk of whole
  ** samples as many as DOTS_TILE_BYTES holds of their KB rows of gy and
  ** one channel's input: on LeNet's second layer 2, 1.1 times faster
  ** than 1, and 5 (counting gy alone) as slow as 1 */
  per = nv * VL;
  tile = per < DOTS_TILE ? per : DOTS_TILE;
  chunk = DOTS_TILE_BYTES / ((int64_t)sizeof(double) *
                             (DOTS_KB0 * per + (I.shifted ? G->kw * I.splane : D.plane)));
  if (per >= DOTS_TILE || chunk < 1) chunk = 1;
  if (chunk > G->N && G->N > 0) chunk = G->N;
  I.xplane = G->C * D.plane;
  I.iseg = I.shifted ? G->C * G->kw * I.splane : I.xplane;
  I.gseg = I.in_place ? G->K * out_plane : G->K * D.ldo;
  size[0] = !I.shifted ? chunk * I.xplane : I.padded ? I.xplane : 0;
  size[1] = I.in_place ? 0 : chunk * I.gseg;
  size[2] = G->K * nrp * VL;   /* the vector partial sums */
  size[3] = I.shifted ? chunk * I.iseg : 0;
  if ((st = get_scratch(nrp + halves_of(D.Np), 4, size, part, &roff)) != NN_OK) return st;
  I.xp = part[0], I.gyw = part[1], acc = part[2], I.sp = part[3], at = roff + nrp;
  for (r = 0; r < nr; r++)
    roff[r] = I.shifted ? (r / D.taps * G->kw + r % G->kw) * I.splane +
                              r % D.taps / G->kw * G->dh * G->OW
                        : r / D.taps * D.plane + tap_off(G, &D, r % D.taps);
  half_starts(&D.rows, D.Np, at);
  for (i = 0; i < 4; i++) zero(part[i], size[i]);
  for (n0 = 0; n0 < G->N && st == NN_OK; n0 += chunk) {
    ns = G->N - n0 < chunk ? G->N - n0 : chunk;
    for (k = 0; k < ns; k++) gw_load(G, &D, &I, x, gy, n0 + k, k);
    gs = I.in_place ? gy + n0 * I.gseg : I.gyw;
    for (p0 = 0; p0 < per; p0 += tile)
      for (k0 = 0; k0 < G->K;) {
        int kb = 0;
        Dots X;
        while (kb < 2 && kbs[kb] > G->K - k0) kb++;
        X.gy = gs + k0 * ldg + p0;
        X.ldg = ldg;
        X.in = I.shifted ? I.sp : I.xp;
        X.at = at + 2 * (p0 / VL);
        X.nv = (per - p0 < tile ? per - p0 : tile) / VL;
        X.nseg = ns, X.gseg = I.gseg, X.iseg = I.iseg;
        X.ldp = nrp * VL;
        for (r0 = 0; r0 < nr; r0 += rbs[best]) {
          X.roff = roff + r0;
          X.part = acc + (k0 * nrp + r0) * VL;
          dots_fns[kb][best](&X);
        }
        k0 += kbs[kb];
      }
    st = nn_check_interrupt();
  }
  for (k = 0; k < G->K && st == NN_OK; k++)
    for (r = 0; r < nr; r++) {
      const double *a = acc + (k * nrp + r) * VL;
      double sum = 0.0;
      for (q = 0; q < VL; q++) sum += a[q];
      gw[k * nr + r] = sum;
    }
  free(roff);
  return workspace_done(st);
}

/* ======================================================================
** A kernel as large as its unpadded input (LeNet's C5, a classifier
** written as a convolution): one output per sample, so the layer is a
** matrix product with the flattened samples, and no column matrix is
** needed (it would only be the input transposed).
** ====================================================================== */

int conv_is_fc(const DirectGeom *G) {
  return G->OH == 1 && G->OW == 1 && G->ph == 0 && G->pw == 0 && G->kh == G->H &&
         G->kw == G->W;
}

int conv_fc_forward(const DirectGeom *G, const double *x, const double *w,
                    const double *bias, double *y) {
  int64_t n, k, R = G->C * G->H * G->W;
  for (n = 0; n < G->N; n++)
    for (k = 0; k < G->K; k++) y[n * G->K + k] = bias != NULL ? bias[k] : 0.0;
  return gemm(0, 1, G->N, G->K, R, 1.0, x, R, w, R, 1.0, y, G->K);
}

int conv_fc_backward(const DirectGeom *G, const double *x, const double *w,
                     const double *gy, double *gx, double *gw) {
  int64_t R = G->C * G->H * G->W;
  int st = NN_OK;
  if (gx != NULL) st = gemm(0, 0, G->N, R, G->K, 1.0, gy, G->K, w, R, 0.0, gx, R);
  if (st == NN_OK && gw != NULL) st = gemm(1, 0, G->K, R, G->N, 1.0, gy, G->K, x, R, 0.0, gw, R);
  return st;
}
