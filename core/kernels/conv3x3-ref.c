/* conv3x3-ref.c: the scalar reference 3x3 convolution, the specification
 * every optimised variant is tested against. */
#include "kernels.h"

#include <string.h>

void
dae_conv3x3_ref (const DaeConvArgs *a, const float *in, float *out)
{
  const guint h = a->h, w = a->w;
  const size_t plane = (size_t) h * w;
  for (size_t n = 0; n < a->n; n++)
    {
      const float *src = in + n * a->in_c * plane;
      float *dst = out + n * a->out_c * plane;
      for (guint oc = 0; oc < a->out_c; oc++)
        {
          float *o = dst + oc * plane;
          for (size_t i = 0; i < plane; i++)
            o[i] = a->bias[oc];
          for (guint ic = 0; ic < a->in_c; ic++)
            {
              const float *x = src + ic * plane;
              const float *k = a->weight + ((size_t) oc * a->in_c + ic) * 9;
              for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                  {
                    const float wk = k[ky * 3 + kx];
                    /* Rows and columns whose tap falls outside read zero. */
                    const int dy = ky - 1, dx = kx - 1;
                    const int y0 = dy < 0 ? 1 : 0, y1 = dy > 0 ? (int) h - 1 : (int) h;
                    const int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? (int) w - 1 : (int) w;
                    for (int y = y0; y < y1; y++)
                      {
                        const float *xr = x + (size_t) (y + dy) * w + dx;
                        float *orow = o + (size_t) y * w;
                        for (int xx = x0; xx < x1; xx++)
                          orow[xx] += wk * xr[xx];
                      }
                  }
            }
          dae_activate_ref (plane, a->act, o);
        }
    }
}
