/* convt2x2__ref.c: scalar references of the 2x2 stride-2 transposed
 * convolution, forward and backward. */
#include "kernels.h"

#include <string.h>

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
dae_convt2x2_backward_ref (const DaeConvArgs *a, const float *in,
                           const float *dz, float *dweight, float *dbias,
                           float *din)
{
  const guint h = a->h, w = a->w, ow = 2 * w;
  const size_t iplane = (size_t) h * w, oplane = 4 * iplane;
  memset (dweight, 0, (size_t) a->in_c * a->out_c * 4 * sizeof (float));
  memset (dbias, 0, a->out_c * sizeof (float));
  if (din)
    memset (din, 0, a->n * a->in_c * iplane * sizeof (float));
  for (size_t n = 0; n < a->n; n++)
    for (guint oc = 0; oc < a->out_c; oc++)
      {
        const float *g = dz + (n * a->out_c + oc) * oplane;
        float sb = 0.0f;
        for (size_t i = 0; i < oplane; i++)
          sb += g[i];
        dbias[oc] += sb;
        for (guint ic = 0; ic < a->in_c; ic++)
          {
            const float *x = in + (n * a->in_c + ic) * iplane;
            float *dx = din ? din + (n * a->in_c + ic) * iplane : NULL;
            const float *k = a->weight + ((size_t) ic * a->out_c + oc) * 4;
            float *dk = dweight + ((size_t) ic * a->out_c + oc) * 4;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
            for (guint y = 0; y < h; y++)
              for (guint xx = 0; xx < w; xx++)
                {
                  const float v = x[y * w + xx];
                  const float *q = g + (size_t) 2 * y * ow + 2 * xx;
                  s0 += v * q[0];
                  s1 += v * q[1];
                  s2 += v * q[ow];
                  s3 += v * q[ow + 1];
                  if (dx)
                    dx[y * w + xx] += (k[0] * q[0] + k[1] * q[1]) + (k[2] * q[ow] + k[3] * q[ow + 1]);
                }
            dk[0] += s0;
            dk[1] += s1;
            dk[2] += s2;
            dk[3] += s3;
          }
      }
}
