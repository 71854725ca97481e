/* resample2__ref.c: scalar references of the 2x2 max-pool and the 2x
 * upsample, forward and backward. */
#include "kernels.h"
#include "maxpool2_window.h"

#include <string.h>

void
dae_maxpool2_ref (size_t n, guint c, guint h, guint w, const float *in,
                  float *out)
{
  const guint oh = (h + 1) / 2, ow = (w + 1) / 2;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *x = in + p * h * w;
      float *o = out + p * oh * ow;
      for (guint y = 0; y < oh; y++)
        for (guint xx = 0; xx < ow; xx++)
          {
            /* An odd edge leaves a window of one row or column ('same'). */
            const guint ya = 2 * y, yb = MIN (2 * y + 1, h - 1);
            const guint xa = 2 * xx, xb = MIN (2 * xx + 1, w - 1);
            float m = x[ya * w + xa];
            m = MAX (m, x[ya * w + xb]);
            m = MAX (m, x[yb * w + xa]);
            m = MAX (m, x[yb * w + xb]);
            o[y * ow + xx] = m;
          }
    }
}

void
dae_upsample2_ref (size_t n, guint c, guint h, guint w, const float *in,
                   float *out)
{
  const guint ow = 2 * w;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *x = in + p * h * w;
      float *o = out + p * 4 * h * w;
      for (guint y = 0; y < h; y++)
        {
          float *r = o + (size_t) 2 * y * ow;
          for (guint xx = 0; xx < w; xx++)
            r[2 * xx] = r[2 * xx + 1] = x[y * w + xx];
          memcpy (r + ow, r, ow * sizeof (float));
        }
    }
}

void
dae_maxpool2_backward_ref (size_t n, guint c, guint h, guint w,
                           const float *in, const float *dout, float *din)
{
  pool_backward_planes (n, c, h, w, in, dout, din, FALSE, NULL);
}

/* The gradient only reaches a ReLU's input where its output, the window's
 * maximum here, is positive. */
void
dae_maxpool2_backward_relu_ref (size_t n, guint c, guint h, guint w,
                                const float *in, const float *dout, float *din)
{
  pool_backward_planes (n, c, h, w, in, dout, din, TRUE, NULL);
}

/* din = the sum of each 2x2 copy, then the ReLU's derivative: zero where
 * the upsample's input (the ReLU's output) is not positive. */
void
dae_upsample2_backward_relu_ref (size_t n, guint c, guint h, guint w,
                                 const float *in, const float *dout, float *din)
{
  dae_upsample2_backward_ref (n, c, h, w, dout, din);
  dae_activation_backward_ref (n * c * h * w, DAE_ACT_RELU, in, din);
}

void
dae_upsample2_backward_ref (size_t n, guint c, guint h, guint w,
                            const float *dout, float *din)
{
  const guint ow = 2 * w;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *g = dout + p * 4 * h * w;
      float *d = din + p * h * w;
      for (guint y = 0; y < h; y++)
        {
          const float *r0 = g + (size_t) 2 * y * ow, *r1 = r0 + ow;
          for (guint xx = 0; xx < w; xx++)
            d[y * w + xx] = (r0[2 * xx] + r0[2 * xx + 1]) + (r1[2 * xx] + r1[2 * xx + 1]);
        }
    }
}
