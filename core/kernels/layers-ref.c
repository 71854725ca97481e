/* layers-ref.c: scalar references of the layers other than conv3x3. */
#include "kernels.h"

#include <math.h>
#include <string.h>

void
dae_activate_ref (size_t count, DaeActivation act, float *x)
{
  switch (act)
    {
    case DAE_ACT_NONE:
      break;
    case DAE_ACT_RELU:
      for (size_t i = 0; i < count; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case DAE_ACT_SIGMOID:
      for (size_t i = 0; i < count; i++)
        x[i] = 1.0f / (1.0f + expf (-x[i]));
      break;
    }
}

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
dae_convt2x2_ref (const DaeConvArgs *a, const float *in, float *out)
{
  const guint h = a->h, w = a->w, ow = 2 * w;
  const size_t iplane = (size_t) h * w, oplane = 4 * iplane;
  for (size_t n = 0; n < a->n; n++)
    {
      const float *src = in + n * a->in_c * iplane;
      float *dst = out + n * a->out_c * oplane;
      for (guint oc = 0; oc < a->out_c; oc++)
        {
          float *o = dst + oc * oplane;
          for (size_t i = 0; i < oplane; i++)
            o[i] = a->bias[oc];
          for (guint ic = 0; ic < a->in_c; ic++)
            {
              const float *x = src + ic * iplane;
              const float *k = a->weight + ((size_t) ic * a->out_c + oc) * 4;
              for (guint y = 0; y < h; y++)
                for (guint xx = 0; xx < w; xx++)
                  {
                    const float v = x[y * w + xx];
                    float *q = o + (size_t) 2 * y * ow + 2 * xx;
                    q[0] += v * k[0];
                    q[1] += v * k[1];
                    q[ow] += v * k[2];
                    q[ow + 1] += v * k[3];
                  }
            }
          dae_activate_ref (oplane, a->act, o);
        }
    }
}

void
dae_add_ref (size_t count, const float *a, const float *b, DaeActivation act,
             float *out)
{
  for (size_t i = 0; i < count; i++)
    out[i] = a[i] + b[i];
  dae_activate_ref (count, act, out);
}
