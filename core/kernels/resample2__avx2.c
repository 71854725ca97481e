/* resample2__avx2.c: 2x2 max-pool and 2x upsample, forward and backward,
 * eight windows at a time: the passes between convolutions in training.
 *
 * Same signatures and same bits as the references (resample2__ref.c).  Max-pool forward takes the maximum in the reference's
 * order (a, b, then c, then d: the same result for signed zeros too); its
 * backward sends the gradient to the first maximum of each window, chosen
 * by masks.  Upsample backward adds each 2x2 block in the reference's
 * order.  The loops and the windows cut by an odd edge of the max-pool
 * backward are the reference's own (maxpool2_window.h). */
#include "kernels.h"
#include "maxpool2_window.h"

#include <immintrin.h>

/* Lanes 0..k-1 of 8 on, for maskload.  (Masked stores are microcoded and
 * slow on AMD's cores: partial vectors are stored through store_n.) */
static inline __m256i
lanes_below (int k)
{
  const __m256i idx = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32 (_mm256_set1_epi32 (k), idx);
}

/* The first n (< 8 allowed) lanes of v to d. */
static inline void
store_n (float *d, __m256 v, int n)
{
  if (n >= 8)
    {
      _mm256_storeu_ps (d, v);
      return;
    }
  float tmp[8];
  _mm256_storeu_ps (tmp, v);
  memcpy (d, tmp, (size_t) MAX (n, 0) * sizeof (float));
}

/* x[0..2k) as its even and odd samples, each in window order. */
static inline void
load_pairs (const float *x, int k, __m256 *even, __m256 *odd)
{
  __m256 lo, hi;
  if (k == 8)
    {
      lo = _mm256_loadu_ps (x);
      hi = _mm256_loadu_ps (x + 8);
    }
  else
    {
      lo = _mm256_maskload_ps (x, lanes_below (2 * k));
      hi = _mm256_maskload_ps (x + 8, lanes_below (2 * k - 8));
    }
  /* [x0 x2 x8 x10 | x4 x6 x12 x14] -> [x0 x2 x4 x6 x8 x10 x12 x14] */
  *even = _mm256_castpd_ps (_mm256_permute4x64_pd (
      _mm256_castps_pd (_mm256_shuffle_ps (lo, hi, _MM_SHUFFLE (2, 0, 2, 0))),
      _MM_SHUFFLE (3, 1, 2, 0)));
  *odd = _mm256_castpd_ps (_mm256_permute4x64_pd (
      _mm256_castps_pd (_mm256_shuffle_ps (lo, hi, _MM_SHUFFLE (3, 1, 3, 1))),
      _MM_SHUFFLE (3, 1, 2, 0)));
}

/* The inverse of load_pairs: interleaves and stores 2k samples. */
static inline void
store_pairs (float *d, int k, __m256 even, __m256 odd)
{
  const __m256 a = _mm256_unpacklo_ps (even, odd), b = _mm256_unpackhi_ps (even, odd);
  const __m256 lo = _mm256_permute2f128_ps (a, b, 0x20);
  const __m256 hi = _mm256_permute2f128_ps (a, b, 0x31);
  if (k == 8)
    {
      _mm256_storeu_ps (d, lo);
      _mm256_storeu_ps (d + 8, hi);
    }
  else
    {
      store_n (d, lo, 2 * k);
      store_n (d + 8, hi, 2 * k - 8);
    }
}

/* k <= 8 whole windows of one pair of rows. */
static inline void
windows8 (const float *xa, const float *xb, const float *g, float *da, float *db,
          int k, gboolean relu)
{
  __m256 a, b, c, d;
  load_pairs (xa, k, &a, &b);
  load_pairs (xb, k, &c, &d);
  __m256 v = k == 8 ? _mm256_loadu_ps (g) : _mm256_maskload_ps (g, lanes_below (k));
  /* _mm256_max_ps (p, q) is p > q ? p : q, as GLib's MAX in the reference. */
  const __m256 m = _mm256_max_ps (_mm256_max_ps (a, b), _mm256_max_ps (c, d));
  if (relu)
    v = _mm256_and_ps (v, _mm256_cmp_ps (m, _mm256_setzero_ps (), _CMP_GT_OQ));
  const __m256 ea = _mm256_cmp_ps (a, m, _CMP_EQ_OQ);
  const __m256 eb = _mm256_andnot_ps (ea, _mm256_cmp_ps (b, m, _CMP_EQ_OQ));
  const __m256 eab = _mm256_or_ps (ea, eb);
  const __m256 ec = _mm256_andnot_ps (eab, _mm256_cmp_ps (c, m, _CMP_EQ_OQ));
  const __m256 ed = _mm256_andnot_ps (_mm256_or_ps (eab, ec),
                                      _mm256_castsi256_ps (_mm256_set1_epi32 (-1)));
  store_pairs (da, k, _mm256_and_ps (v, ea), _mm256_and_ps (v, eb));
  store_pairs (db, k, _mm256_and_ps (v, ec), _mm256_and_ps (v, ed));
}

static guint
rows_avx2 (const float *xa, const float *xb, const float *g, float *da, float *db,
           guint full, gboolean relu)
{
  guint xx = 0;
  while (xx < full)
    {
      const guint k = MIN (8u, full - xx);
      windows8 (xa + 2 * xx, xb + 2 * xx, g + xx, da + 2 * xx, db + 2 * xx, (int) k, relu);
      xx += k;
    }
  return xx;
}

void
dae_maxpool2_backward_avx2 (size_t n, guint c, guint h, guint w, const float *in,
                            const float *dout, float *din)
{
  pool_backward_planes (n, c, h, w, in, dout, din, FALSE, rows_avx2);
}

void
dae_maxpool2_backward_relu_avx2 (size_t n, guint c, guint h, guint w,
                                 const float *in, const float *dout, float *din)
{
  pool_backward_planes (n, c, h, w, in, dout, din, TRUE, rows_avx2);
}

/* ---- max-pool forward ---------------------------------------------------- */

void
dae_maxpool2_avx2 (size_t n, guint c, guint h, guint w, const float *in, float *out)
{
  const guint oh = (h + 1) / 2, ow = (w + 1) / 2, full = w / 2;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *x = in + p * h * w;
      float *o = out + p * oh * ow;
      for (guint y = 0; y < oh; y++)
        {
          const guint ya = 2 * y, yb = MIN (2 * y + 1, h - 1);
          const float *xa = x + (size_t) ya * w, *xb = x + (size_t) yb * w;
          float *orow = o + (size_t) y * ow;
          guint xx = 0;
          while (xx < full)
            {
              const int k = (int) MIN (8u, full - xx);
              __m256 a, b, cc, d;
              load_pairs (xa + 2 * xx, k, &a, &b);
              load_pairs (xb + 2 * xx, k, &cc, &d);
              /* MAX (m, v) is m > v ? m : v, which _mm256_max_ps (m, v) is. */
              const __m256 m = _mm256_max_ps (_mm256_max_ps (_mm256_max_ps (a, b), cc), d);
              store_n (orow + xx, m, k);
              xx += (guint) k;
            }
          if (xx < ow) /* odd width: a window of one column */
            orow[xx] = MAX (xa[2 * xx], xb[2 * xx]);
        }
    }
}

/* ---- upsample forward and backward ----------------------------------------- */

void
dae_upsample2_avx2 (size_t n, guint c, guint h, guint w, const float *in, float *out)
{
  const guint ow = 2 * w;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *x = in + p * h * w;
      float *o = out + p * 4 * h * w;
      for (guint y = 0; y < h; y++)
        {
          const float *xr = x + (size_t) y * w;
          float *r0 = o + (size_t) 2 * y * ow, *r1 = r0 + ow;
          for (guint xx = 0; xx < w; xx += 8)
            {
              const int k = (int) MIN (8u, w - xx);
              const __m256i m_k = lanes_below (k);
              const __m256 v = k == 8 ? _mm256_loadu_ps (xr + xx) : _mm256_maskload_ps (xr + xx, m_k);
              store_pairs (r0 + 2 * xx, k, v, v);
              store_pairs (r1 + 2 * xx, k, v, v);
            }
        }
    }
}

/* din = the sum of each 2x2 block of dout, in the reference's order; with
 * relu, zero where the upsample's input (a ReLU's output) is not positive. */
static inline void
upsample2_backward_avx2 (size_t n, guint c, guint h, guint w, const float *in,
                         const float *dout, float *din, gboolean relu)
{
  const guint ow = 2 * w;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *g = dout + p * 4 * h * w;
      const float *x = relu ? in + p * h * w : NULL;
      float *d = din + p * h * w;
      for (guint y = 0; y < h; y++)
        {
          const float *r0 = g + (size_t) 2 * y * ow, *r1 = r0 + ow;
          for (guint xx = 0; xx < w; xx += 8)
            {
              const int k = (int) MIN (8u, w - xx);
              const __m256i m_k = lanes_below (k);
              __m256 a, b, cc, dd;
              load_pairs (r0 + 2 * xx, k, &a, &b);
              load_pairs (r1 + 2 * xx, k, &cc, &dd);
              __m256 s = _mm256_add_ps (_mm256_add_ps (a, b), _mm256_add_ps (cc, dd));
              if (relu)
                {
                  const float *xr = x + (size_t) y * w + xx;
                  const __m256 v = k == 8 ? _mm256_loadu_ps (xr) : _mm256_maskload_ps (xr, m_k);
                  s = _mm256_and_ps (s, _mm256_cmp_ps (v, _mm256_setzero_ps (), _CMP_GT_OQ));
                }
              store_n (d + (size_t) y * w + xx, s, k);
            }
        }
    }
}

void
dae_upsample2_backward_avx2 (size_t n, guint c, guint h, guint w, const float *dout,
                             float *din)
{
  upsample2_backward_avx2 (n, c, h, w, NULL, dout, din, FALSE);
}

void
dae_upsample2_backward_relu_avx2 (size_t n, guint c, guint h, guint w, const float *in,
                                  const float *dout, float *din)
{
  upsample2_backward_avx2 (n, c, h, w, in, dout, din, TRUE);
}
