/* conv3x3__avx512.c: the conv3x3 family for AVX-512F (16 floats). */
#include "kernels.h"
#include "../dispatch.h"

#include <immintrin.h>
#include <string.h>

#define ISA avx512
#define VL 16
#define VEC __m512
#define OCB_MAX 8 /* 8 channels x 3 vectors: 24 of the 32 registers */
#define PV_MAX 3
#define PV1_MAX 8

#define V_LOADU(p) _mm512_loadu_ps (p)
#define V_STOREU(p, v) _mm512_storeu_ps ((p), (v))
#define V_STORE_N(p, v, n) _mm512_mask_storeu_ps ((p), (__mmask16) ((1u << (n)) - 1), (v))
#define V_LOAD_N(p, n) _mm512_maskz_loadu_ps ((__mmask16) ((1u << (n)) - 1), (p))
#define V_BCAST(p) _mm512_set1_ps (*(p))
#define V_SET1(x) _mm512_set1_ps (x)
#define V_ZERO() _mm512_setzero_ps ()
#define V_FMA(a, b, c) _mm512_fmadd_ps ((a), (b), (c))
#define V_ADD(a, b) _mm512_add_ps ((a), (b))
#define V_SUB(a, b) _mm512_sub_ps ((a), (b))
#define V_MUL(a, b) _mm512_mul_ps ((a), (b))
#define V_DIV(a, b) _mm512_div_ps ((a), (b))
#define V_MAX(a, b) _mm512_max_ps ((a), (b))
#define V_MIN(a, b) _mm512_min_ps ((a), (b))
#define V_ROUND(a) _mm512_roundscale_ps ((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define V_POW2N(n)                                                           \
  _mm512_castsi512_ps (_mm512_slli_epi32 (                                   \
      _mm512_add_epi32 (_mm512_cvtps_epi32 (n), _mm512_set1_epi32 (127)), 23))

/* even = a0 a2 .. b0 b2 .., odd = a1 a3 .. b1 b3 ..: 32 floats split by parity. */
#define V_DEINTERLEAVE(a, b, even, odd)                                      \
  do                                                                         \
    {                                                                        \
      const __m512i ie_ = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16,  \
                                             18, 20, 22, 24, 26, 28, 30);    \
      const __m512i io_ = _mm512_setr_epi32 (1, 3, 5, 7, 9, 11, 13, 15, 17,  \
                                             19, 21, 23, 25, 27, 29, 31);    \
      (even) = _mm512_permutex2var_ps ((a), ie_, (b));                       \
      (odd) = _mm512_permutex2var_ps ((a), io_, (b));                        \
    }                                                                        \
  while (0)

static inline __m512
pairmax_avx512 (__m512 a, __m512 b)
{
  __m512 even, odd;
  V_DEINTERLEAVE (a, b, even, odd);
  return _mm512_max_ps (even, odd);
}
#define V_PAIRMAX(a, b) pairmax_avx512 ((a), (b))

#define V_INTERLEAVE(a, b, lo, hi)                                           \
  do                                                                         \
    {                                                                        \
      const __m512i il_ = _mm512_setr_epi32 (0, 16, 1, 17, 2, 18, 3, 19, 4,  \
                                             20, 5, 21, 6, 22, 7, 23);       \
      const __m512i ih_ = _mm512_setr_epi32 (8, 24, 9, 25, 10, 26, 11, 27,   \
                                             12, 28, 13, 29, 14, 30, 15, 31); \
      (lo) = _mm512_permutex2var_ps ((a), il_, (b));                         \
      (hi) = _mm512_permutex2var_ps ((a), ih_, (b));                         \
    }                                                                        \
  while (0)

#include "conv3x3__simd.c"
