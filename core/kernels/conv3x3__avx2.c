/* conv3x3__avx2.c: the conv3x3 family for AVX2 + FMA (8 floats). */
#include "kernels.h"
#include "../dispatch.h"

#include <immintrin.h>
#include <string.h>

#define ISA avx2
#define VL 8
#define VEC __m256
#ifndef OCB_MAX
#define OCB_MAX 4 /* 4 channels x 3 vectors: 12 of the 16 registers */
#define PV_MAX 3
#endif
#define PV1_MAX 8 /* one output channel: more pixels instead */

static const gint32 store_mask[2 * VL] = { -1, -1, -1, -1, -1, -1, -1, -1,
                                           0, 0, 0, 0, 0, 0, 0, 0 };

#define V_LOADU(p) _mm256_loadu_ps (p)
#define V_STOREU(p, v) _mm256_storeu_ps ((p), (v))
#define V_STORE_N(p, v, n)                                                   \
  _mm256_maskstore_ps ((p), _mm256_loadu_si256 ((const __m256i *) (store_mask + VL - (n))), (v))
#define V_LOAD_N(p, n)                                                       \
  _mm256_maskload_ps ((p), _mm256_loadu_si256 ((const __m256i *) (store_mask + VL - (n))))
#define V_BCAST(p) _mm256_broadcast_ss (p)
#define V_SET1(x) _mm256_set1_ps (x)
#define V_ZERO() _mm256_setzero_ps ()
#define V_FMA(a, b, c) _mm256_fmadd_ps ((a), (b), (c))
#define V_ADD(a, b) _mm256_add_ps ((a), (b))
#define V_SUB(a, b) _mm256_sub_ps ((a), (b))
#define V_MUL(a, b) _mm256_mul_ps ((a), (b))
#define V_DIV(a, b) _mm256_div_ps ((a), (b))
#define V_MAX(a, b) _mm256_max_ps ((a), (b))
#define V_MIN(a, b) _mm256_min_ps ((a), (b))
#define V_ROUND(a) _mm256_round_ps ((a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/* 2^n for integral n in [-126, 127]: n + 127 into the exponent field. */
#define V_POW2N(n)                                                           \
  _mm256_castsi256_ps (_mm256_slli_epi32 (                                   \
      _mm256_add_epi32 (_mm256_cvtps_epi32 (n), _mm256_set1_epi32 (127)), 23))

/* max over the pairs of (a, b) read as 16 floats: 8 results in order. */
static inline __m256
pairmax_avx2 (__m256 a, __m256 b)
{
  __m256 even = _mm256_shuffle_ps (a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
  __m256 odd = _mm256_shuffle_ps (a, b, 0xdd);
  __m256 m = _mm256_max_ps (even, odd);         /* p0 p1 p4 p5 | p2 p3 p6 p7 */
  return _mm256_castpd_ps (_mm256_permute4x64_pd (_mm256_castps_pd (m), 0xd8));
}
#define V_PAIRMAX(a, b) pairmax_avx2 ((a), (b))

#define V_INTERLEAVE(a, b, lo, hi)                                           \
  do                                                                         \
    {                                                                        \
      __m256 l_ = _mm256_unpacklo_ps ((a), (b)); /* a0 b0 a1 b1 | a4 b4 .. */ \
      __m256 h_ = _mm256_unpackhi_ps ((a), (b)); /* a2 b2 a3 b3 | a6 b6 .. */ \
      (lo) = _mm256_permute2f128_ps (l_, h_, 0x20);                          \
      (hi) = _mm256_permute2f128_ps (l_, h_, 0x31);                          \
    }                                                                        \
  while (0)

/* even = a0 a2 .. b0 b2 .., odd = a1 a3 .. b1 b3 ..: 16 floats split by parity. */
#define V_DEINTERLEAVE(a, b, even, odd)                                      \
  do                                                                         \
    {                                                                        \
      (even) = _mm256_castpd_ps (_mm256_permute4x64_pd (                     \
          _mm256_castps_pd (_mm256_shuffle_ps ((a), (b), 0x88)), 0xd8));     \
      (odd) = _mm256_castpd_ps (_mm256_permute4x64_pd (                      \
          _mm256_castps_pd (_mm256_shuffle_ps ((a), (b), 0xdd)), 0xd8));     \
    }                                                                        \
  while (0)

#include "conv3x3__simd.c"
