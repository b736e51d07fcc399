/*
** bench_gemm.c — double-precision GEMM throughput, single thread.
**
** Prints the machine's measured FMA peak, then GFLOP/s for square
** C = A * B at n = 64 .. 1024 through three doors: gemm() (what nncalc
** uses), gemm_own() (the project's kernel) and cblas_dgemm() (when built
** with HAVE_CBLAS), each also as a fraction of the peak.  It ends with the
** two performance targets and PASS/MISS, and a small-size table (quicker,
** noisier) that shows where packing starts to pay.
**
** Timing: each figure is the best of several measurements of ~0.2 s each
** (CLOCK_MONOTONIC); the three contenders are measured in alternation so
** that a frequency or neighbour-noise drift hits them alike.
*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 199309L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"
#include "status.h"

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#ifdef HAVE_CBLAS
#include <cblas.h>
#endif

#define TARGET_SECONDS 0.2   /* one measurement */
#define ROUNDS 3             /* measurements per figure, best kept */


/*
** {======================================================
** Clock
** =======================================================
*/

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* }====================================================== */


/*
** {======================================================
** FMA peak
** =======================================================
*/

/* The widest vector the build targets, and enough independent chains to
** hide FMA latency on every current x86 core (2 FMA pipes x 4-5 cycles
** latency, with margin) while still fitting the register file: 16 of 32
** zmm, 10 of 16 ymm/xmm. */
#if defined(__AVX512F__)
#define PVL 8
#define NCHAIN 16
#elif defined(__AVX__)
#define PVL 4
#define NCHAIN 10
#else
#define PVL 2
#define NCHAIN 10
#endif

__extension__ typedef double pvd __attribute__((vector_size(PVL * 8)));

/* -std=c11 turns off FMA contraction, so ask for the fused op by name. */
#if defined(__AVX512F__)
#define PFMA(acc, x, y) \
  ((pvd)_mm512_fmadd_pd((__m512d)(x), (__m512d)(y), (__m512d)(acc)))
#define FMA_NAME "512-bit FMA"
#elif defined(__FMA__) && defined(__AVX__)
#define PFMA(acc, x, y) \
  ((pvd)_mm256_fmadd_pd((__m256d)(x), (__m256d)(y), (__m256d)(acc)))
#define FMA_NAME "256-bit FMA"
#elif defined(__FMA__)
#define PFMA(acc, x, y) ((pvd)_mm_fmadd_pd((__m128d)(x), (__m128d)(y), (__m128d)(acc)))
#define FMA_NAME "128-bit FMA"
#else
#define PFMA(acc, x, y) ((acc) + (x) * (y))
#define FMA_NAME "mul+add, no FMA"
#endif

/* Read through a volatile so the compiler cannot fold x * 1.0 away. */
static volatile double one = 1.0, tiny = 1e-12;

/* Run `iters` rounds of NCHAIN independent FMA chains; returns a value
** derived from every chain so none is dead code. */
static double fma_chains(long iters) {
  pvd acc[NCHAIN], x, y;
  double s = 0.0;
  long it;
  int c, l;
  for (l = 0; l < PVL; l++) {
    x[l] = one;
    y[l] = tiny;
  }
  for (c = 0; c < NCHAIN; c++) acc[c] = x * (double)c;
  for (it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (c = 0; c < NCHAIN; c++) acc[c] = PFMA(y, acc[c], x);
  }
  for (c = 0; c < NCHAIN; c++)
    for (l = 0; l < PVL; l++) s += acc[c][l];
  return s;
}

static volatile double sink;   /* keeps results observable */

/* Peak GFLOP/s: best of a few ~0.2 s runs (2 flops per lane per FMA). */
static double fma_peak(void) {
  long iters = 1 << 16;
  double t, best = 0.0;
  int r;
  for (;;) {   /* calibrate */
    t = now();
    sink += fma_chains(iters);
    t = now() - t;
    if (t > TARGET_SECONDS / 4) break;
    iters *= 2;
  }
  iters = (long)((double)iters * TARGET_SECONDS / t) + 1;
  for (r = 0; r < ROUNDS; r++) {
    double gf;
    t = now();
    sink += fma_chains(iters);
    t = now() - t;
    gf = 2.0 * PVL * NCHAIN * (double)iters / t * 1e-9;
    if (gf > best) best = gf;
  }
  return best;
}

/* }====================================================== */


/*
** {======================================================
** GEMM timing
** =======================================================
*/

enum { PATH_GEMM, PATH_OWN, PATH_BLAS, NPATH };
static const char *const path_name[NPATH] = {"gemm", "gemm_own", "cblas_dgemm"};

static int have_path(int path) {
  return path != PATH_BLAS || gemm_have_blas();
}

static void run_path(int path, int64_t n, const double *A, const double *B,
                     double *C) {
  int st = NN_OK;
  switch (path) {
    case PATH_GEMM:
      st = gemm(0, 0, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
      break;
    case PATH_OWN:
      st = gemm_own(0, 0, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
      break;
    default:
#ifdef HAVE_CBLAS
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n,
                  (int)n, 1.0, A, (int)n, B, (int)n, 0.0, C, (int)n);
#endif
      break;
  }
  if (st != NN_OK) {
    fprintf(stderr, "bench_gemm: %s failed: %s\n", path_name[path], nn_errmsg());
    exit(EXIT_FAILURE);
  }
}

/* Seconds for `reps` calls. */
static double time_reps(int path, int64_t n, long reps, const double *A,
                        const double *B, double *C) {
  double t = now();
  long r;
  for (r = 0; r < reps; r++) run_path(path, n, A, B, C);
  return now() - t;
}

/* Calls per ~TARGET_SECONDS measurement, from a short trial. */
static long calibrate(int path, int64_t n, const double *A, const double *B,
                      double *C) {
  long reps = 1;
  double t;
  for (;;) {
    t = time_reps(path, n, reps, A, B, C);
    if (t > TARGET_SECONDS / 10 || reps > (1L << 30)) break;
    reps *= 4;
  }
  reps = (long)((double)reps * TARGET_SECONDS / t);
  return reps > 0 ? reps : 1;
}

/* Deterministic data in [-1, 1) (xorshift64*). */
static void fill(double *x, int64_t count, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  int64_t i;
  for (i = 0; i < count; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    x[i] = (double)((s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1p-52 - 1.0;
  }
}

/* Largest |x - y| relative to max |y|: a sanity check that the contenders
** computed the same thing (the benchmark times nothing broken). */
static double max_rel_diff(const double *x, const double *y, int64_t count) {
  double d = 0.0, m = 0.0;
  int64_t i;
  for (i = 0; i < count; i++) {
    double e = x[i] > y[i] ? x[i] - y[i] : y[i] - x[i];
    double a = y[i] < 0 ? -y[i] : y[i];
    if (e > d) d = e;
    if (a > m) m = a;
  }
  return m > 0 ? d / m : d;
}

/* GFLOP/s of each path at size n into gf[] (0 for a missing path). */
static void measure(int64_t n, int rounds, double gf[NPATH]) {
  size_t bytes = (size_t)(n * n) * sizeof(double);
  double *A = malloc(bytes), *B = malloc(bytes), *C = malloc(bytes);
  double *C0 = malloc(bytes);
  long reps[NPATH];
  double best[NPATH];
  int p, r;
  if (A == NULL || B == NULL || C == NULL || C0 == NULL) {
    fprintf(stderr, "bench_gemm: out of memory at n = %lld\n", (long long)n);
    exit(EXIT_FAILURE);
  }
  fill(A, n * n, 1);
  fill(B, n * n, 2);
  memset(C, 0, bytes);
  /* cross-check against the own kernel before timing anything */
  run_path(PATH_OWN, n, A, B, C0);
  for (p = 0; p < NPATH; p++) {
    double d;
    gf[p] = best[p] = 0.0;
    if (!have_path(p)) continue;
    run_path(p, n, A, B, C);
    d = max_rel_diff(C, C0, n * n);
    if (d > 1e-12 * (double)n) {
      fprintf(stderr, "bench_gemm: %s disagrees with gemm_own at n = %lld "
              "(relative difference %g)\n", path_name[p], (long long)n, d);
      exit(EXIT_FAILURE);
    }
    reps[p] = calibrate(p, n, A, B, C);
    best[p] = 1e300;
  }
  for (r = 0; r < rounds; r++) {
    for (p = 0; p < NPATH; p++) {
      double t;
      if (!have_path(p)) continue;
      t = time_reps(p, n, reps[p], A, B, C) / (double)reps[p];
      if (t < best[p]) best[p] = t;
    }
  }
  for (p = 0; p < NPATH; p++)
    if (have_path(p)) gf[p] = 2.0 * (double)n * (double)n * (double)n / best[p] * 1e-9;
  free(A);
  free(B);
  free(C);
  free(C0);
}

/* }====================================================== */


static const int64_t sizes[] = {64, 128, 256, 512, 1024};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static const int64_t small_sizes[] = {2, 4, 8, 12, 16, 20, 24, 32, 48};
#define NSMALL ((int)(sizeof small_sizes / sizeof small_sizes[0]))

static void print_cell(double gf, double peak) {
  if (gf > 0.0)
    printf(" %8.1f %5.1f%%", gf, 100.0 * gf / peak);
  else
    printf(" %8s %6s", "-", "-");
}

int main(int argc, char **argv) {
  double gf[NSIZES][NPATH], peak;
  if (argc > 1 && strcmp(argv[1], "--peak") == 0) {   /* for bench_anchors.lua */
    printf("%.1f\n", fma_peak());
    return 0;
  }
  int i, p, pass_path = 1, pass_own = 1;
  double t0 = now();

#if defined(HAVE_CBLAS) && defined(OPENBLAS_VERSION)
  /* a single-threaded comparison: the own kernel is single-threaded */
  openblas_set_num_threads(1);
#endif
  setvbuf(stdout, NULL, _IOLBF, 0);

  peak = fma_peak();
  printf("FMA peak, 1 thread (%d independent chains of %s): %.1f GFLOP/s\n\n",
         NCHAIN, FMA_NAME, peak);
  printf("double-precision GEMM, C = A * B, n x n, 1 thread; "
         "GFLOP/s and %% of FMA peak\n");
  printf("gemm() large-product backend: %s\n\n", gemm_backend());
  printf("%6s |", "n");
  for (p = 0; p < NPATH; p++) printf(" %15s", path_name[p]);
  printf(" | own/cblas\n");
  for (i = 0; i < NSIZES; i++) {
    measure(sizes[i], ROUNDS, gf[i]);
    printf("%6lld |", (long long)sizes[i]);
    for (p = 0; p < NPATH; p++) print_cell(gf[i][p], peak);
    if (gf[i][PATH_BLAS] > 0.0)
      printf(" | %8.1f%%\n", 100.0 * gf[i][PATH_OWN] / gf[i][PATH_BLAS]);
    else
      printf(" | %9s\n", "-");
  }

  printf("\nsmall products, GFLOP/s (gemm() runs a direct loop for the "
         "tiniest, see gemm.c)\n");
  printf("%6s |", "n");
  for (p = 0; p < NPATH; p++) printf(" %15s", path_name[p]);
  printf("\n");
  for (i = 0; i < NSMALL; i++) {
    double g[NPATH];
    measure(small_sizes[i], 1, g);
    printf("%6lld |", (long long)small_sizes[i]);
    for (p = 0; p < NPATH; p++) print_cell(g[p], peak);
    printf("\n");
  }

  printf("\ntargets:\n");
  if (!gemm_have_blas()) {
    printf("  nncalc path within 5%% of cblas_dgemm at n >= 128: n/a "
           "(built without CBLAS)\n");
    printf("  own kernel >= 75%% of cblas_dgemm at n = 512: n/a "
           "(built without CBLAS)\n");
  }
  else {
    for (i = 0; i < NSIZES; i++) {
      if (sizes[i] >= 128 && gf[i][PATH_GEMM] < 0.95 * gf[i][PATH_BLAS])
        pass_path = 0;
      if (sizes[i] == 512 && gf[i][PATH_OWN] < 0.75 * gf[i][PATH_BLAS])
        pass_own = 0;
    }
    printf("  nncalc path within 5%% of cblas_dgemm at n >= 128: %s\n",
           pass_path ? "PASS" : "MISS");
    printf("  own kernel >= 75%% of cblas_dgemm at n = 512: %s\n",
           pass_own ? "PASS" : "MISS");
  }
  printf("(%.1f s)\n", now() - t0);
  return EXIT_SUCCESS;
}
