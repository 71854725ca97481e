/* pointwise__avx2.c: a skip connection's sum, eight floats at a time; the
 * same bits as the reference (pointwise__ref.c). */
#include "kernels.h"

#include <immintrin.h>

void
dae_add_avx2 (size_t count, const float *a, const float *b, DaeActivation act, float *out)
{
  if (act != DAE_ACT_NONE && act != DAE_ACT_RELU)
    {
      dae_add_ref (count, a, b, act, out);
      return;
    }
  const __m256 zero = _mm256_setzero_ps ();
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    {
      __m256 s = _mm256_add_ps (_mm256_loadu_ps (a + i), _mm256_loadu_ps (b + i));
      if (act == DAE_ACT_RELU)
        s = _mm256_max_ps (s, zero);
      _mm256_storeu_ps (out + i, s);
    }
  /* The reference's own loops for the tail: the same bits (its ReLU
   * included, whatever it does with -0 and NaN). */
  if (i < count)
    dae_add_ref (count - i, a + i, b + i, act, out + i);
}
