/*
** simd.h — the vector register type of the hand-blocked kernels (gemm.c,
** conv_direct.c), written with GCC vector types rather than intrinsics
** (bar the one fused multiply-add): the same source becomes 512-bit code
** with AVX-512, 256-bit with AVX, and 128-bit SSE2 (or the target's own
** vectors) otherwise.  VL doubles a register, NREG registers to fill.
*/
#ifndef NNCALC_SIMD_H
#define NNCALC_SIMD_H

#if defined(__FMA__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
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
#if defined(__AVX512F__)
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

#endif
