/*
** conv_direct.c — direct stride-1 convolution for inputs with few channels
** (an image's first layer: 1 channel for MNIST/LeNet, 3 for RGB).
**
** There im2col is the cost: LeNet's first layer unrolls a 1x32x32 image
** into a 25 x 784 column matrix, 25 times the input, and the GEMM after it
** has only Cin·taps = 25 to sum over.  Seen "wide" instead (as in
** layers_conv.c: output rows as long as the input's, so tap (i, j) of
** output position p reads the padded input at p + i·dh·Wp + j·dw), each
** output channel is a sum of shifted copies of the input planes, and a
** block of KB channels x PB positions stays in registers while every tap
** is added: PB/8 loads of the input and KB broadcasts of weights feed
** KB·PB/8 vector FMAs.  The weight gradient is the same walk with dot
** products: gw[k][c][t] = Σ_p gy_wide[k][p] · x_pad[c][p + off(t)], the
** junk columns of gy_wide being 0.
*/
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"

#include "gemm.h"
#include "status.h"

/* eight doubles, GCC/Clang vector extension (one AVX-512 register, two
** AVX2 ones), loaded unaligned; never passed or returned by value, which
** without AVX-512 would depend on the ABI */
typedef double v8 __attribute__((vector_size(64)));
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8))

#define KB 6     /* output channels per register block */
#define PB 32    /* wide positions per register block (4 AVX-512 vectors) */

/* The padded input planes of one sample, rows Wp long, with PB + the
** largest tap offset of zeros after them, so that a block's reads past the
** last real position stay inside (they only feed junk outputs). */
static void pad_sample(const DirectGeom *G, const double *x, double *xp, int64_t P, int64_t Wp,
                       int64_t plane) {
  int64_t c, h;
  memset(xp, 0, (size_t)(G->C * plane) * sizeof(double));
  for (c = 0; c < G->C; c++)
    for (h = 0; h < G->H; h++)
      memcpy(xp + c * plane + (h + G->ph) * Wp + G->pw, x + (c * G->H + h) * G->W,
             (size_t)G->W * sizeof(double));
  (void)P;
}

typedef struct Plan { int64_t Hp, Wp, P, plane, Np, Npb, taps, *off; } Plan;

static int plan(const DirectGeom *G, Plan *D) {
  int64_t t, max_off = 0;
  D->Hp = G->H + 2 * G->ph;
  D->Wp = G->W + 2 * G->pw;
  D->P = D->Hp * D->Wp;
  D->taps = G->kh * G->kw;
  D->Np = (G->OH - 1) * D->Wp + G->OW;          /* wide positions in use */
  D->Npb = (D->Np + PB - 1) / PB * PB;          /* rounded up to blocks */
  if ((D->off = malloc((size_t)D->taps * sizeof *D->off)) == NULL) return -1;
  for (t = 0; t < D->taps; t++) {
    D->off[t] = t / G->kw * G->dh * D->Wp + t % G->kw * G->dw;
    if (D->off[t] > max_off) max_off = D->off[t];
  }
  D->plane = D->Npb + max_off > D->P ? D->Npb + max_off : D->P;
  return 0;
}

int conv_direct_forward(const DirectGeom *G, const double *x, const double *w,
                        const double *bias, double *y) {
  Plan D;
  double *xp, *yw;
  int64_t n, k0, p0, c, t, kk, oh, ow;
  if (plan(G, &D) != 0) return -1;
  xp = malloc((size_t)(G->C * D.plane) * sizeof(double));
  yw = malloc((size_t)(G->K * D.Npb) * sizeof(double));
  if (xp == NULL || yw == NULL) {
    free(xp); free(yw); free(D.off);
    return -1;
  }
  for (n = 0; n < G->N; n++) {
    pad_sample(G, x + n * G->C * G->H * G->W, xp, D.P, D.Wp, D.plane);
    for (k0 = 0; k0 < G->K; k0 += KB) {
      int64_t kb = G->K - k0 < KB ? G->K - k0 : KB;
      for (p0 = 0; p0 < D.Npb; p0 += PB) {
        v8 acc[KB][PB / 8];
        int j;
        for (kk = 0; kk < KB; kk++) {
          double b0 = bias != NULL && kk < kb ? bias[k0 + kk] : 0.0;
          for (j = 0; j < PB / 8; j++) acc[kk][j] = (v8){0} + b0;
        }
        for (c = 0; c < G->C; c++)
          for (t = 0; t < D.taps; t++) {
            const double *xs = xp + c * D.plane + D.off[t] + p0;
            const double *wt = w + ((k0 + 0) * G->C + c) * D.taps + t;   /* w[k0][c][t] */
            int64_t ws = G->C * D.taps;
            v8 xv[PB / 8];
            for (j = 0; j < PB / 8; j++) LOAD8(xv[j], xs + 8 * j);
            for (kk = 0; kk < KB; kk++) {
              double wv = wt[(kk < kb ? kk : 0) * ws];
              for (j = 0; j < PB / 8; j++) acc[kk][j] += xv[j] * wv;
            }
          }
        for (kk = 0; kk < kb; kk++)   /* one vector store each (a 256-byte memcpy was a call) */
          for (j = 0; j < PB / 8; j++) memcpy(yw + (k0 + kk) * D.Npb + p0 + 8 * j, &acc[kk][j], sizeof(v8));
      }
    }
    for (kk = 0; kk < G->K; kk++)   /* the real columns of the wide rows */
      for (oh = 0; oh < G->OH; oh++)
        for (ow = 0; ow < G->OW; ow++)
          y[((n * G->K + kk) * G->OH + oh) * G->OW + ow] = yw[kk * D.Npb + oh * D.Wp + ow];
  }
  free(xp);
  free(yw);
  free(D.off);
  return 0;
}

int conv_direct_grad_weight(const DirectGeom *G, const double *x, const double *gy,
                            double *gw) {
  Plan D;
  double *xp, *gyw;
  int64_t n, k0, c, t, kk, p, oh;
  if (plan(G, &D) != 0) return -1;
  xp = malloc((size_t)(G->C * D.plane) * sizeof(double));
  gyw = calloc((size_t)(G->K * D.Npb), sizeof(double));   /* junk stays 0 */
  if (xp == NULL || gyw == NULL) {
    free(xp); free(gyw); free(D.off);
    return -1;
  }
  memset(gw, 0, (size_t)(G->K * G->C * D.taps) * sizeof(double));
  for (n = 0; n < G->N; n++) {
    pad_sample(G, x + n * G->C * G->H * G->W, xp, D.P, D.Wp, D.plane);
    for (kk = 0; kk < G->K; kk++)
      for (oh = 0; oh < G->OH; oh++)
        memcpy(gyw + kk * D.Npb + oh * D.Wp, gy + ((n * G->K + kk) * G->OH + oh) * G->OW,
               (size_t)G->OW * sizeof(double));
    for (c = 0; c < G->C; c++)
      for (t = 0; t < D.taps; t++) {
        const double *xs = xp + c * D.plane + D.off[t];
        for (k0 = 0; k0 < G->K; k0 += KB) {
          int64_t kb = G->K - k0 < KB ? G->K - k0 : KB;
          const double *gk[KB];
          v8 acc[KB];
          for (kk = 0; kk < KB; kk++) {
            gk[kk] = gyw + (k0 + (kk < kb ? kk : 0)) * D.Npb;
            acc[kk] = (v8){0};
          }
          for (p = 0; p < D.Npb; p += 8) {
            v8 xv, gv;
            LOAD8(xv, xs + p);
            for (kk = 0; kk < KB; kk++) {
              LOAD8(gv, gk[kk] + p);
              acc[kk] += gv * xv;
            }
          }
          for (kk = 0; kk < kb; kk++) {
            double s = 0.0;
            int q;
            for (q = 0; q < 8; q++) s += acc[kk][q];
            gw[((k0 + kk) * G->C + c) * D.taps + t] += s;
          }
        }
      }
  }
  free(xp);
  free(gyw);
  free(D.off);
  return 0;
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
