/*
** bench_conv.c — convolution throughput (float64, single thread) against
** the GEMM it is built on.
**
** Two workloads:
**   (a) one ResNet-style layer: 1x64x56x56 -> 128 channels, 3x3, padding 1;
**   (b) an Inception-style block on 1x256x32x32: four branches, each applied
**       to the 256-channel input with "same" padding: 1x1 -> 128,
**       3x3 -> 192 (padding 1), 5x5 -> 96 (padding 2) and the pool
**       projection 1x1 -> 64 (its 3x3 max pool is not a convolution and is
**       left out); the block's total is reported.
** For each: ms per call and GFLOP/s of the forward and of forward +
** backward (gx, gw and gb), beside the GFLOP/s of gemm() on the same
** shapes as the convolution's main GEMM (Cout x Hout·Wout x Cin·kh·kw per
** sample), measured in the same run, in alternation with the convolution so
** that frequency drift hits both alike.  FLOPs = 2·N·Cout·Hout·Wout·
** (Cin/groups)·kh·kw for the forward, three times that for forward +
** backward.  Targets: forward at least 80% (a) / 70% (b) of the GEMM's
** GFLOP/s, forward + backward at most 3.2x the forward.  PyTorch runs the
** same two forwards in bench_anchors.lua, in the same `make bench`.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gemm.h"
#include "layers.h"
#include "ops.h"

#define TARGET_SECONDS 0.15   /* one measurement */
#define ROUNDS 5              /* measurements per figure, best kept */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One convolution of a workload with its operands and gradients. */
typedef struct Branch {
  int64_t cout, k, pad;
  Tensor *w, *b, *gy;
  double *A, *B, *C;   /* the main GEMM's operands, for the reference */
  int64_t M, N, K;
} Branch;

typedef struct Work {
  const char *name;
  Tensor *x;
  int nbranch;
  Branch br[4];
  double flops;              /* forward */
  double want_ratio;         /* forward GFLOP/s over GEMM GFLOP/s */
} Work;

static Tensor *randn4(int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t s[4];
  s[0] = a; s[1] = b; s[2] = c; s[3] = d;
  return op_randn(4, s);
}

static void die(const char *what) {
  fprintf(stderr, "bench_conv: %s: %s\n", what, nn_errmsg());
  exit(1);
}

static Conv2dParams params(int64_t pad) {
  Conv2dParams p = {{1, 1}, {0, 0}, {1, 1}, {0, 0}, 1};
  p.padding[0] = p.padding[1] = pad;
  return p;
}

static void setup(Work *wk) {
  int i;
  int64_t j, cin = wk->x->size[1], h = wk->x->size[2], w = wk->x->size[3];
  wk->flops = 0;
  for (i = 0; i < wk->nbranch; i++) {
    Branch *b = &wk->br[i];
    int64_t nb = b->cout;
    b->w = randn4(b->cout, cin, b->k, b->k);
    b->b = op_randn(1, &nb);
    b->gy = randn4(wk->x->size[0], b->cout, h, w);   /* "same" padding */
    if (b->w == NULL || b->b == NULL || b->gy == NULL) die("setup");
    b->M = b->cout;
    b->N = h * w;
    b->K = cin * b->k * b->k;
    b->A = malloc((size_t)(b->M * b->K) * sizeof(double));
    b->B = malloc((size_t)(b->K * b->N) * sizeof(double));
    b->C = malloc((size_t)(b->M * b->N) * sizeof(double));
    if (b->A == NULL || b->B == NULL || b->C == NULL) die("malloc");
    for (j = 0; j < b->M * b->K; j++) b->A[j] = rng_normal();
    for (j = 0; j < b->K * b->N; j++) b->B[j] = rng_normal();
    wk->flops += 2.0 * (double)wk->x->size[0] * (double)(b->M * b->N) * (double)b->K;
  }
}

static void teardown(Work *wk) {
  int i;
  for (i = 0; i < wk->nbranch; i++) {
    Branch *b = &wk->br[i];
    tensor_release(b->w);
    tensor_release(b->b);
    tensor_release(b->gy);
    free(b->A);
    free(b->B);
    free(b->C);
  }
  tensor_release(wk->x);
}

/* One call of each kind over the whole workload. */
static void run_gemm(Work *wk) {
  int i;
  int64_t n;
  for (i = 0; i < wk->nbranch; i++) {
    Branch *b = &wk->br[i];
    for (n = 0; n < wk->x->size[0]; n++)
      if (gemm(0, 0, b->M, b->N, b->K, 1.0, b->A, b->K, b->B, b->N, 0.0, b->C, b->N) != NN_OK)
        die("gemm");
  }
}

static void run_conv(Work *wk, int backward) {
  int i;
  for (i = 0; i < wk->nbranch; i++) {
    Branch *b = &wk->br[i];
    Conv2dParams p = params(b->pad);
    Tensor *y = layer_conv2d(wk->x, b->w, b->b, &p), *gx, *gw, *gb;
    if (y == NULL) die("conv2d");
    tensor_release(y);
    if (!backward) continue;
    if (layer_conv2d_backward(wk->x, b->w, &p, b->gy, &gx, &gw, &gb) != NN_OK)
      die("conv2d backward");
    tensor_release(gx);
    tensor_release(gw);
    tensor_release(gb);
  }
}

/* Seconds per call of kind 0 (GEMM), 1 (forward), 2 (forward + backward):
** the fastest call in TARGET_SECONDS, since on a shared machine the slow
** calls are the ones something else interrupted. */
static double time_once(Work *wk, int kind) {
  double t0 = now(), best = 1e30;
  do {
    double t = now();
    if (kind == 0) run_gemm(wk);
    else run_conv(wk, kind == 2);
    t = now() - t;
    if (t < best) best = t;
  } while (now() - t0 < TARGET_SECONDS);
  return best;
}

static int bench(Work *wk) {
  double best[3] = {1e30, 1e30, 1e30}, gf[3], ratio, fb;
  int r, k, ok1, ok2;
  setup(wk);
  for (k = 0; k < 3; k++) time_once(wk, k);   /* warm up: BLAS load, page faults */
  for (r = 0; r < ROUNDS; r++)
    for (k = 0; k < 3; k++) {
      double t = time_once(wk, k);
      if (t < best[k]) best[k] = t;
    }
  gf[0] = wk->flops / best[0] * 1e-9;
  gf[1] = wk->flops / best[1] * 1e-9;
  gf[2] = 3.0 * wk->flops / best[2] * 1e-9;
  ratio = gf[1] / gf[0];
  fb = best[2] / best[1];
  ok1 = ratio >= wk->want_ratio;
  ok2 = fb <= 3.2;
  printf("\n%s  (%.2f GFLOP forward)\n", wk->name, wk->flops * 1e-9);
  printf("  %-22s %9s %9s\n", "", "ms/call", "GFLOP/s");
  printf("  %-22s %9.2f %9.1f\n", "gemm, same shapes", best[0] * 1e3, gf[0]);
  printf("  %-22s %9.2f %9.1f\n", "conv2d forward", best[1] * 1e3, gf[1]);
  printf("  %-22s %9.2f %9.1f\n", "conv2d fwd+bwd", best[2] * 1e3, gf[2]);
  printf("  forward at %.0f%% of GEMM (target >= %.0f%%)   %s\n", 100.0 * ratio,
         100.0 * wk->want_ratio, ok1 ? "PASS" : "MISS");
  printf("  fwd+bwd = %.2f x forward (target <= 3.2)   %s\n", fb, ok2 ? "PASS" : "MISS");
  teardown(wk);
  return ok1 && ok2;
}

int main(void) {
  Work a = {"(a) 1x64x56x56 -> 128, 3x3, padding 1", NULL, 1,
            {{128, 3, 1, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}},
            0, 0.8};
  Work b = {"(b) Inception block on 1x256x32x32: 1x1->128, 3x3->192, 5x5->96, 1x1->64",
            NULL, 4,
            {{128, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
             {192, 3, 1, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
             {96, 5, 2, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0},
             {64, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0}},
            0, 0.7};
  int pass;
  rng_seed(1);
  printf("conv2d benchmark: float64, single thread, gemm backend: ");
  a.x = randn4(1, 64, 56, 56);
  b.x = randn4(1, 256, 32, 32);
  if (a.x == NULL || b.x == NULL) die("setup");
  printf("%s\n", gemm_backend());
  pass = bench(&a);
  pass &= bench(&b);
  printf("\n%s\n", pass ? "all targets PASS" : "some targets MISS");
  return 0;
}
