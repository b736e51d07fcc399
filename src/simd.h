/*
** simd.h — the vector register type of the hand-blocked kernels (gemm.c,
** conv_direct.c, layers_pool.c), written with GCC vector types rather
** than intrinsics (bar the fused multiply-add and vhalves' blend): the same source
** becomes 512-bit code with AVX-512, 256-bit with AVX, and 128-bit SSE2
** (or the target's own vectors) otherwise.  VL doubles a register, NREG
** registers to fill.
*/
#ifndef NNCALC_SIMD_H
#define NNCALC_SIMD_H

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

/* NNCALC_VL=n builds the generic vector code at n doubles a vector, with
** the register count of the target that has them, whatever this one has:
** so the kernels' logic at another width (AVX-512's 8, SSE2's 2) runs and
** is tested here (tests/build_test.sh), slowly. */
#if defined(NNCALC_VL)
#if NNCALC_VL != 2 && NNCALC_VL != 4 && NNCALC_VL != 8
#error "NNCALC_VL must be 2, 4 or 8"
#endif
#define VL NNCALC_VL
#define NREG (VL == 8 ? 32 : 16)
#define SIMD_GENERIC 1
#elif defined(__AVX512F__)
#define VL 8
#define NREG 32
#elif defined(__AVX__)
#define VL 4
#define NREG 16
#else
#define VL 2
#define NREG 16
#endif

/* vector_size is a GNU extension; __extension__ keeps -Wpedantic quiet.
** vd is the register type.  Memory holds doubles, so it is accessed
** through may_alias types: vda where aligned by construction, vdu where
** a row may start anywhere. */
__extension__ typedef double vd __attribute__((vector_size(VL * 8)));
__extension__ typedef double vda
  __attribute__((vector_size(VL * 8), may_alias));
__extension__ typedef double vdu
  __attribute__((vector_size(VL * 8), aligned(8), may_alias));

/* acc + x * y.  In ISO C mode (-std=c11) GCC defaults to
** -ffp-contract=off and would emit a multiply and an add, halving the
** kernels' peak, so the fused form is asked for explicitly when the
** target has it.  The intrinsic types are GCC vector types of the same
** size, so the casts are free. */
#if defined(SIMD_GENERIC)
#define VFMA(acc, x, y) ((acc) + (x) * (y))
#elif defined(__AVX512F__)
#define VFMA(acc, x, y) \
  ((vd)_mm512_fmadd_pd((__m512d)(x), (__m512d)(y), (__m512d)(acc)))
#elif defined(__FMA__) && defined(__AVX__)
#define VFMA(acc, x, y) \
  ((vd)_mm256_fmadd_pd((__m256d)(x), (__m256d)(y), (__m256d)(acc)))
#elif defined(__FMA__)
#define VFMA(acc, x, y) \
  ((vd)_mm_fmadd_pd((__m128d)(x), (__m128d)(y), (__m128d)(acc)))
#else
#define VFMA(acc, x, y) ((acc) + (x) * (y))
#endif

/* x in every lane.  Not (vd){0} + x: that is an add, not a copy, to the
** compiler (0 + -0 is +0), and costs an instruction per broadcast. */
static inline vd splat(double x) {
#if VL == 8
  return (vd){x, x, x, x, x, x, x, x};
#elif VL == 4
  return (vd){x, x, x, x};
#else
  return (vd){x, x};
#endif
}

/* A vector from two places: its low VL/2 doubles from lo, its high ones
** from hi (conv_direct.c's vectors that straddle two rows of an image),
** as two whole vectors blended: hi − VL/2 to hi + VL/2 and lo to lo + VL
** must be readable.  A blend runs beside the FMAs where an insert of a
** half (or the lane permute GCC makes of a shuffle) took their port, a
** quarter slower; through memory (memcpy into each half) the halves'
** stores could not be forwarded to the vector's load, which cost ten
** times the FMAs fed.  Hence the intrinsics. */
#define HL (VL / 2)
#if VL == 8
#define HALVES 0, 1, 2, 3, 12, 13, 14, 15
#elif VL == 4
#define HALVES 0, 1, 6, 7
#else
#define HALVES 0, 3
#endif
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define HAVE_SHUFFLEVECTOR 1
#endif
#endif
static inline vd vhalves(const double *lo, const double *hi) {
#if VL == 8 && !defined(SIMD_GENERIC)
  return (vd)_mm512_mask_blend_pd(0xF0, _mm512_loadu_pd(lo), _mm512_loadu_pd(hi - HL));
#elif VL == 4 && !defined(SIMD_GENERIC)
  return (vd)_mm256_blend_pd(_mm256_loadu_pd(lo), _mm256_loadu_pd(hi - HL), 0xC);
#elif defined(HAVE_SHUFFLEVECTOR)
  return __builtin_shufflevector(*(const vdu *)lo, *(const vdu *)(hi - HL), HALVES);
#else
  vd v;
  int i;
  for (i = 0; i < HL; i++) { v[i] = lo[i]; v[HL + i] = hi[i]; }
  return v;
#endif
}

/* Lane masks, as vector comparisons give them (all ones or all zeros per
** lane), and the select and lane shuffles the pooling kernels are made
** of.  GCC's __builtin_shuffle becomes one or two permutes; elsewhere the
** lane loops say the same thing. */
__extension__ typedef long long vm __attribute__((vector_size(VL * 8)));

/* m ? a : b, lane by lane, on the bits (exact for any double) */
static inline vd vsel(vm m, vd a, vd b) { return (vd)((m & (vm)a) | (~m & (vm)b)); }

#if defined(__GNUC__) && !defined(__clang__)
#if VL == 8
#define EVEN_LANES (vm){0, 2, 4, 6, 8, 10, 12, 14}
#define ODD_LANES (vm){1, 3, 5, 7, 9, 11, 13, 15}
#define LOW_ZIP (vm){0, 8, 1, 9, 2, 10, 3, 11}
#define HIGH_ZIP (vm){4, 12, 5, 13, 6, 14, 7, 15}
#elif VL == 4
#define EVEN_LANES (vm){0, 2, 4, 6}
#define ODD_LANES (vm){1, 3, 5, 7}
#define LOW_ZIP (vm){0, 4, 1, 5}
#define HIGH_ZIP (vm){2, 6, 3, 7}
#else
#define EVEN_LANES (vm){0, 2}
#define ODD_LANES (vm){1, 3}
#define LOW_ZIP (vm){0, 2}
#define HIGH_ZIP (vm){1, 3}
#endif
/* The 2·VL doubles at p as their even and odd elements */
static inline void vunzip(const double *p, vd *even, vd *odd) {
  vd lo = *(const vdu *)p, hi = *(const vdu *)(p + VL);
  *even = __builtin_shuffle(lo, hi, EVEN_LANES);
  *odd = __builtin_shuffle(lo, hi, ODD_LANES);
}
/* a[0] b[0] a[1] b[1] ... to the 2·VL doubles at p */
static inline void vzip(double *p, vd a, vd b) {
  *(vdu *)p = __builtin_shuffle(a, b, LOW_ZIP);
  *(vdu *)(p + VL) = __builtin_shuffle(a, b, HIGH_ZIP);
}
#else
static inline void vunzip(const double *p, vd *even, vd *odd) {
  int i;
  for (i = 0; i < VL; i++) { (*even)[i] = p[2 * i]; (*odd)[i] = p[2 * i + 1]; }
}
static inline void vzip(double *p, vd a, vd b) {
  int i;
  for (i = 0; i < VL; i++) { p[2 * i] = a[i]; p[2 * i + 1] = b[i]; }
}
#endif

#endif
