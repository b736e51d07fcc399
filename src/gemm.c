/*
** gemm.c — dense double-precision matrix multiply.
**
** gemm_own() follows the Goto/BLIS scheme.  The N dimension is cut into
** column blocks of NC, K into slabs of KC, M into row blocks of MC.  For
** each (column block, K slab) op(B) is packed once into NR-wide panels
** (the packed block is sized for L2 and reused by every row block); each
** row block of op(A) is packed into MR-tall panels.  The micro-kernel then
** computes an MR x NR tile of C as kc rank-1 updates: per k it loads NR
** consecutive packed B values as vectors and broadcasts MR packed A values,
** so C's rows (contiguous in row-major) are what the vectors run along.
** The A micro-panel (MR x kc) stays in L1 while the kernel sweeps the B
** panels.  Packing absorbs transposition, leading dimensions and the ragged
** edges (panels are zero-padded), so the kernel only ever sees one layout.
**
** The kernel is written with GCC vector types rather than intrinsics (bar
** the one fused multiply-add): the same source becomes 512-bit code with
** AVX-512, 256-bit with AVX, and 128-bit SSE2 otherwise, with the tile
** shape picked to fit each register file (32 zmm, 16 ymm, 16 xmm).
*/
#include "gemm.h"

#include <math.h>
#include <stdlib.h>

#include "simd.h"
#include "status.h"


#ifdef HAVE_CBLAS
#include <limits.h>
#include <cblas.h>
#endif


/*
** {======================================================
** Vector type and tile shape
** =======================================================
*/

/* VL doubles per vector register (simd.h); MR rows x NV vectors of accumulators.
** Register budget: MR*NV accumulators + NV B vectors + 1 broadcast must fit
** the register file, and MR*NV must cover FMA latency x throughput. */
#if VL == 8
#define MR 8
#define NV 3
#elif VL == 4
#define MR 6
#define NV 2
#else
#define MR 4
#define NV 2
#endif

#define NR (VL * NV)       /* columns of C per micro-tile */

/* Cache blocking: KC x NR of B plus MR x KC of A per kernel call; the
** packed B block (KC x NC) is the L2 resident, the A micro-panel the L1
** one.  Measured on the target (Zen 4: 32 KiB L1d, 1 MiB L2). */
#define KC 256
#define MC 96
#define NC 384

/* }====================================================== */


/*
** {======================================================
** Reference and direct loops
** =======================================================
*/

/* op(X)[i][j] for a row-major X with row stride ld */
#define OPA(i, p)  (transA ? A[(p) * lda + (i)] : A[(i) * lda + (p)])
#define OPB(p, j)  (transB ? B[(j) * ldb + (p)] : B[(p) * ldb + (j)])

void gemm_ref(int transA, int transB, int64_t M, int64_t N, int64_t K,
              double alpha, const double *A, int64_t lda,
              const double *B, int64_t ldb,
              double beta, double *C, int64_t ldc) {
  int64_t i, j, p;
  for (i = 0; i < M; i++) {
    for (j = 0; j < N; j++) {
      double s = 0.0;
      for (p = 0; p < K; p++) s += OPA(i, p) * OPB(p, j);
      /* beta == 0 must not read C: 0 * NaN would be NaN */
      C[i * ldc + j] = (beta == 0.0) ? alpha * s
                                     : alpha * s + beta * C[i * ldc + j];
    }
  }
}

/* C = beta * C, the whole update when alpha == 0 or K == 0 (BLAS does not
** read A or B then, so neither do we). */
static void scale_c(int64_t M, int64_t N, double beta, double *C, int64_t ldc) {
  int64_t i, j;
  if (beta == 1.0) return;
  for (i = 0; i < M; i++)
    for (j = 0; j < N; j++)
      C[i * ldc + j] = (beta == 0.0) ? 0.0 : beta * C[i * ldc + j];
}

/* The direct loop for small products.  When op(B)'s rows are contiguous
** and long enough to vectorize (measured: from about 16), each row of C
** is built as a sum of scaled rows of op(B), an axpy per k, which the
** compiler vectorizes along j without reordering any sum; otherwise it is
** the reference's dot products.  Either way no packing, no allocation. */
static void gemm_small(int transA, int transB, int64_t M, int64_t N, int64_t K,
                       double alpha, const double *A, int64_t lda,
                       const double *B, int64_t ldb,
                       double beta, double *C, int64_t ldc) {
  /* op(A)[i][p] = A[i * ai + p * ap], op(B)[p][j] = B[p * bp + j * bj] */
  int64_t ai = transA ? 1 : lda, ap = transA ? lda : 1;
  int64_t i, j, p;
  if (transB || N < 16) {
    int64_t bp = transB ? 1 : ldb, bj = transB ? ldb : 1;
    for (i = 0; i < M; i++) {
      for (j = 0; j < N; j++) {
        double s = 0.0;
        for (p = 0; p < K; p++) s += A[i * ai + p * ap] * B[p * bp + j * bj];
        C[i * ldc + j] = (beta == 0.0) ? alpha * s
                                       : alpha * s + beta * C[i * ldc + j];
      }
    }
    return;
  }
  for (i = 0; i < M; i++) {
    double *restrict c = C + i * ldc;
    if (beta == 0.0)   /* not 0 * c: C may hold NaN */
      for (j = 0; j < N; j++) c[j] = 0.0;
    else if (beta != 1.0)
      for (j = 0; j < N; j++) c[j] *= beta;
    for (p = 0; p < K; p++) {
      const double *restrict b = B + p * ldb;
      double t = alpha * A[i * ai + p * ap];
      for (j = 0; j < N; j++) c[j] += t * b[j];
    }
  }
}

/* }====================================================== */


/*
** {======================================================
** Packing
** =======================================================
*/

/* Pack rows [i0, i0+mc) x columns [p0, p0+kc) of op(A) into MR-tall panels:
** panel r holds, for each p, the MR values op(A)[i0+r*MR .. +MR][p].  Rows
** past mc are zero so the kernel can always run a full tile. */
static void pack_a(int transA, int64_t mc, int64_t kc,
                   const double *A, int64_t lda, int64_t i0, int64_t p0,
                   double *restrict buf) {
  int64_t ir, i, p;
  for (ir = 0; ir < mc; ir += MR) {
    int64_t mr = (mc - ir < MR) ? mc - ir : MR;
    if (!transA) {
      const double *a = A + (i0 + ir) * lda + p0;
      for (p = 0; p < kc; p++) {
        for (i = 0; i < mr; i++) buf[p * MR + i] = a[i * lda + p];
        for (; i < MR; i++) buf[p * MR + i] = 0.0;
      }
    }
    else {
      /* op(A) = A^T: the MR values for one p are contiguous in A */
      const double *a = A + p0 * lda + (i0 + ir);
      for (p = 0; p < kc; p++) {
        for (i = 0; i < mr; i++) buf[p * MR + i] = a[p * lda + i];
        for (; i < MR; i++) buf[p * MR + i] = 0.0;
      }
    }
    buf += MR * kc;
  }
}

/* Pack rows [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-wide panels,
** zero-padded past nc. */
static void pack_b(int transB, int64_t kc, int64_t nc,
                   const double *B, int64_t ldb, int64_t p0, int64_t j0,
                   double *restrict buf) {
  int64_t jr, j, p;
  for (jr = 0; jr < nc; jr += NR) {
    int64_t nr = (nc - jr < NR) ? nc - jr : NR;
    if (!transB) {
      const double *b = B + p0 * ldb + (j0 + jr);
      for (p = 0; p < kc; p++) {
        for (j = 0; j < nr; j++) buf[p * NR + j] = b[p * ldb + j];
        for (; j < NR; j++) buf[p * NR + j] = 0.0;
      }
    }
    else {
      /* op(B) = B^T: read B row by row (contiguous), scatter into columns */
      const double *b = B + (j0 + jr) * ldb + p0;
      for (j = 0; j < nr; j++)
        for (p = 0; p < kc; p++) buf[p * NR + j] = b[j * ldb + p];
      for (; j < NR; j++)
        for (p = 0; p < kc; p++) buf[p * NR + j] = 0.0;
    }
    buf += NR * kc;
  }
}

/* }====================================================== */


/*
** {======================================================
** Micro-kernel
** =======================================================
*/

/* C[MR x NR] = alpha * a * b + beta * C, where a is a packed MR x kc panel
** and b a packed kc x NR panel (64-byte aligned).  The accumulators are a
** fixed-size array indexed by constants only, so GCC keeps them all in
** registers after unrolling.  beta == 0 does not read C. */
static void kernel(int64_t kc, const double *restrict a,
                   const double *restrict b, double *restrict c, int64_t ldc,
                   double alpha, double beta) {
  vd acc[MR][NV];
  int64_t p;
  int i, j;
#pragma GCC unroll 32
  for (i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (j = 0; j < NV; j++) acc[i][j] = (vd){0};
#pragma GCC unroll 2
  for (p = 0; p < kc; p++) {
    vd bv[NV];
#pragma GCC unroll 8
    for (j = 0; j < NV; j++) bv[j] = ((const vda *)b)[j];
#pragma GCC unroll 32
    for (i = 0; i < MR; i++) {
      vd ai = splat(a[i]);
#pragma GCC unroll 8
      for (j = 0; j < NV; j++) acc[i][j] = VFMA(acc[i][j], bv[j], ai);
    }
    a += MR;
    b += NR;
  }
  if (beta == 0.0) {
#pragma GCC unroll 32
    for (i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (j = 0; j < NV; j++)
        *(vdu *)(c + i * ldc + j * VL) = acc[i][j] * alpha;
  }
  else if (beta == 1.0) {
#pragma GCC unroll 32
    for (i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (j = 0; j < NV; j++)
        *(vdu *)(c + i * ldc + j * VL) += acc[i][j] * alpha;
  }
  else {
#pragma GCC unroll 32
    for (i = 0; i < MR; i++)
#pragma GCC unroll 8
      for (j = 0; j < NV; j++) {
        vdu *cv = (vdu *)(c + i * ldc + j * VL);
        *cv = *cv * beta + acc[i][j] * alpha;
      }
  }
}

/* A ragged tile (mr < MR or nr < NR): run the full kernel into a scratch
** tile, then merge only the valid part, so the kernel stays branch-free. */
static void kernel_edge(int64_t kc, const double *a, const double *b,
                        double *c, int64_t ldc, int64_t mr, int64_t nr,
                        double alpha, double beta) {
  _Alignas(64) double t[MR * NR];
  int64_t i, j;
  kernel(kc, a, b, t, NR, alpha, 0.0);
  for (i = 0; i < mr; i++)
    for (j = 0; j < nr; j++)
      c[i * ldc + j] = (beta == 0.0) ? t[i * NR + j]
                                     : t[i * NR + j] + beta * c[i * ldc + j];
}

/* }====================================================== */


/*
** {======================================================
** Blocked driver
** =======================================================
*/

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/* Round up to a multiple of m. */
static int64_t roundup(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* The packing buffers, kept between calls: allocating and page-faulting
** in up to a megabyte per call cost as much as a whole 128 x 128 product
** (measured: 27 instead of 45 GFLOP/s).  The cache only grows, to at most
** (MC + NC) * KC doubles, and stays reachable from here, so LeakSanitizer
** does not count it.  Not thread-safe: nncalc calls gemm from one thread. */
static double *packbuf = NULL;
static int64_t packsize = 0;   /* in doubles */

/* A 64-byte aligned (cache line and zmm width) buffer of n doubles, or NULL. */
static double *pack_space(int64_t n) {
  if (n > packsize) {
    size_t bytes = (size_t)roundup(n * (int64_t)sizeof(double), 64);
    double *p = aligned_alloc(64, bytes);
    if (p == NULL) return NULL;   /* the old, smaller buffer stays valid */
    free(packbuf);
    packbuf = p;
    packsize = n;
  }
  return packbuf;
}

/* One row block: every MR x NR tile of the mc x nc block of C at c. */
static void macro_kernel(int64_t mc, int64_t nc, int64_t kc,
                         const double *abuf, const double *bbuf,
                         double *c, int64_t ldc, double alpha, double beta) {
  int64_t ir, jr;
  for (ir = 0; ir < mc; ir += MR) {
    int64_t mr = min64(MR, mc - ir);
    const double *a = abuf + ir * kc;
    for (jr = 0; jr < nc; jr += NR) {
      int64_t nr = min64(NR, nc - jr);
      double *cij = c + ir * ldc + jr;
      if (mr == MR && nr == NR)
        kernel(kc, a, bbuf + jr * kc, cij, ldc, alpha, beta);
      else
        kernel_edge(kc, a, bbuf + jr * kc, cij, ldc, mr, nr, alpha, beta);
    }
  }
}

static int check_dims(const char *who, int64_t M, int64_t N, int64_t K) {
  if (M < 0 || N < 0 || K < 0)
    return nn_fail(NN_EARG, "%s: negative size %lldx%lldx%lld", who,
                   (long long)M, (long long)N, (long long)K);
  return NN_OK;
}

int gemm_own(int transA, int transB, int64_t M, int64_t N, int64_t K,
             double alpha, const double *A, int64_t lda,
             const double *B, int64_t ldb,
             double beta, double *C, int64_t ldc) {
  double *abuf, *bbuf;
  int64_t jc, pc, ic, asize;
  int st = check_dims("gemm", M, N, K);
  if (st != NN_OK) return st;
  if (M == 0 || N == 0) return NN_OK;
  if (K == 0 || alpha == 0.0) {
    scale_c(M, N, beta, C, ldc);
    return NN_OK;
  }
  /* size the buffers to the problem so small calls allocate little; B's
  ** part starts on a 64-byte boundary so its vector loads are aligned */
  asize = roundup(roundup(min64(M, MC), MR) * min64(K, KC), 8);
  abuf = pack_space(asize + roundup(min64(N, NC), NR) * min64(K, KC));
  if (abuf == NULL)
    return nn_fail(NN_ENOMEM, "gemm: cannot allocate packing buffers");
  bbuf = abuf + asize;
  for (jc = 0; jc < N; jc += NC) {
    int64_t nc = min64(NC, N - jc);
    for (pc = 0; pc < K; pc += KC) {
      int64_t kc = min64(KC, K - pc);
      /* only the first K slab applies beta; later ones accumulate */
      double b = (pc == 0) ? beta : 1.0;
      pack_b(transB, kc, nc, B, ldb, pc, jc, bbuf);
      for (ic = 0; ic < M; ic += MC) {
        int64_t mc = min64(MC, M - ic);
        st = nn_check_interrupt();
        if (st != NN_OK) return st;
        pack_a(transA, mc, kc, A, lda, ic, pc, abuf);
        macro_kernel(mc, nc, kc, abuf, bbuf, C + ic * ldc + jc, ldc, alpha, b);
      }
    }
  }
  return NN_OK;
}

/* }====================================================== */


/*
** {======================================================
** Dispatch
** =======================================================
*/

static int force_own = 0;

/*
** When the direct loop beats the blocked paths, measured on Zen 4
** (AVX-512), time per call over all four transposes.  OpenBLAS has
** small-matrix kernels of its own and wins from about 4x4x4 (64
** multiply-adds) on; at the homework's 2x3x2 the loop takes 13 ns against
** 18-36 ns.  The packed kernel costs ~100 ns of setup and wins from about
** 8x8x8 on, except for shapes that leave its MR x NR tile mostly empty: a
** matrix-vector product (N == 1), and a few rows of C (M < 4), where the
** loop's axpy form runs along long rows of op(B).  None of these is long
** enough to need interrupt polling.  M*N*K is compared as a double: for
** huge sizes it would overflow int64.
*/
static int direct_beats_own(int transB, int64_t M, int64_t N, int64_t K) {
  return (double)M * (double)N * (double)K < 512 || N == 1 ||
         (M < 4 && !transB && N >= 16);
}

#ifdef HAVE_CBLAS
/* OpenBLAS is loaded on the first product that needs it, not at start-up:
** linking it costs ~3 ms of every start (its constructor probes the CPU
** and spawns threads), which is most of nncalc's start-up budget.  If it
** cannot be loaded, the own kernel does the work. */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef NNCALC_BLAS_LIB
#define NNCALC_BLAS_LIB "libopenblas.so.0"
#endif

typedef void (*DgemmFn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE,
                        int, int, int, double, const double *, int, const double *, int,
                        double, double *, int);
static DgemmFn blas_dgemm = NULL;
static int blas_state = 0;   /* 0 not tried, 1 loaded, -1 unavailable */

/* OpenBLAS reserves its buffers when it loads: about 175 MB of address
** space with one thread, 310 MB with its default threads on two cores
** (measured here, VmPeak).  When mmap fails it waits and retries, forever
** and deaf to Ctrl-C, so under `ulimit -v` (or a data limit) that leaves
** it less than this, the own kernel does the work instead. */
#define BLAS_ADDRESS_NEED ((unsigned long long)512 << 20)

/* The address space this process uses now (Linux's /proc; 0 elsewhere). */
static unsigned long long address_space_used(void) {
  unsigned long long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f != NULL) {
    if (fscanf(f, "%llu", &pages) != 1) pages = 0;
    fclose(f);
  }
  return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static int room_for_blas(void) {
  static const int limits[2] = {RLIMIT_AS, RLIMIT_DATA};
  unsigned long long used = address_space_used();
  int i;
  for (i = 0; i < 2; i++) {
    struct rlimit rl;
    if (getrlimit(limits[i], &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (unsigned long long)rl.rlim_cur < used + BLAS_ADDRESS_NEED)
      return 0;
  }
  return 1;
}

static int blas_load(void) {
  void *lib;
  if (blas_state != 0) return blas_state > 0;
  blas_state = -1;
  if (!room_for_blas()) return 0;
  /* one thread (set below too): its constructor then starts no others */
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
  lib = dlopen(NNCALC_BLAS_LIB, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return 0;
  *(void **)&blas_dgemm = dlsym(lib, "cblas_dgemm");
  if (blas_dgemm == NULL) return 0;
  {
    /* one thread: deterministic sums, and the machine stays responsive */
    void (*set_threads)(int);
    *(void **)&set_threads = dlsym(lib, "openblas_set_num_threads");
    if (set_threads != NULL) set_threads(1);
  }
  blas_state = 1;
  return 1;
}

/* Large products go to BLAS in bands of rows, so that Ctrl-C (which BLAS
** does not know about) is honoured between bands, every few milliseconds. */
static int blas_gemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
                     double alpha, const double *A, int64_t lda,
                     const double *B, int64_t ldb, double beta, double *C, int64_t ldc) {
  /* at most 2^30 multiply-adds a band (about 25 ms here): few enough
  ** calls that BLAS keeps its speed, n = 1024 being exactly one, and the
  ** rows split evenly, so no band is a sliver */
  double macs = (double)M * (double)N * (double)K;
  int64_t bands = (int64_t)ceil(macs / (double)(1 << 30));
  int64_t band = bands > 1 ? (M + bands - 1) / bands : M;
  int64_t r;
  if (band < 256) band = 256;
  for (r = 0; r < M; r += band) {
    int64_t rows = M - r < band ? M - r : band;
    const double *Ar = transA ? A + r : A + r * lda;
    int st = nn_check_interrupt();
    if (st != NN_OK) return st;
    blas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
               transB ? CblasTrans : CblasNoTrans, (int)rows, (int)N, (int)K,
               alpha, Ar, (int)lda, B, (int)ldb, beta, C + r * ldc, (int)ldc);
  }
  return NN_OK;
}

static int direct_beats_blas(int64_t M, int64_t N, int64_t K) {
  return (double)M * (double)N * (double)K < 32;
}

/* CBLAS rejects (and OpenBLAS reports on stderr) leading dimensions below
** the stored row length and sizes past int; such calls go to gemm_own,
** which has no such limits. */
static int blas_ok(int transA, int transB, int64_t M, int64_t N, int64_t K,
                   int64_t lda, int64_t ldb, int64_t ldc) {
  int64_t acols = transA ? M : K, bcols = transB ? K : N;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX) return 0;
  if (lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) return 0;
  return lda >= (acols > 1 ? acols : 1) && ldb >= (bcols > 1 ? bcols : 1) &&
         ldc >= (N > 1 ? N : 1);
}
#endif

int gemm(int transA, int transB, int64_t M, int64_t N, int64_t K,
         double alpha, const double *A, int64_t lda,
         const double *B, int64_t ldb,
         double beta, double *C, int64_t ldc) {
  int st = check_dims("gemm", M, N, K);
  if (st != NN_OK) return st;
  if (M == 0 || N == 0) return NN_OK;
  if (K == 0 || alpha == 0.0) {
    scale_c(M, N, beta, C, ldc);
    return NN_OK;
  }
#ifdef HAVE_CBLAS
  if (!force_own && blas_ok(transA, transB, M, N, K, lda, ldb, ldc)) {
    if (direct_beats_blas(M, N, K)) {
      gemm_small(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
      return NN_OK;
    }
    if (blas_load())
      return blas_gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
#endif
  if (direct_beats_own(transB, M, N, K)) {
    gemm_small(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return NN_OK;
  }
  return gemm_own(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int gemm_have_blas(void) {
#ifdef HAVE_CBLAS
  return 1;
#else
  return 0;
#endif
}

const char *gemm_backend(void) {
#ifdef HAVE_CBLAS
  if (!force_own && blas_state >= 0) {
#ifdef OPENBLAS_VERSION
    return "openblas";
#else
    return "cblas";
#endif
  }
#endif
  return "own";
}

void gemm_force_own(int on) { force_own = (on != 0); }

/* }====================================================== */
