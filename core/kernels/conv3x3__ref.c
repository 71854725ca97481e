/* conv3x3__ref.c: the scalar references of the 3x3 convolution family, the
 * specification every optimised variant is tested against: the convolution,
 * the fused variants (defined as the composition of the layer references,
 * one tile at a time) and the backward pass. */
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

void
dae_conv3x3_maxpool2_ref (const DaeConvArgs *a, const float *in, float *out)
{
  const size_t iplane = (size_t) a->h * a->w;
  const size_t oplane = (size_t) ((a->h + 1) / 2) * ((a->w + 1) / 2);
  g_autofree float *tmp = g_new (float, a->out_c * iplane);
  DaeConvArgs one = *a;
  one.n = 1;
  for (size_t t = 0; t < a->n; t++)
    {
      dae_conv3x3_ref (&one, in + t * a->in_c * iplane, tmp);
      dae_maxpool2_ref (1, a->out_c, a->h, a->w, tmp, out + t * a->out_c * oplane);
    }
}

void
dae_upsample2_conv3x3_ref (const DaeConvArgs *a, const float *in, float *out)
{
  const size_t iplane = (size_t) a->h * a->w, uplane = 4 * iplane;
  g_autofree float *tmp = g_new (float, a->in_c * uplane);
  DaeConvArgs one = *a;
  one.n = 1;
  one.h = 2 * a->h;
  one.w = 2 * a->w;
  for (size_t t = 0; t < a->n; t++)
    {
      dae_upsample2_ref (1, a->in_c, a->h, a->w, in + t * a->in_c * iplane, tmp);
      dae_conv3x3_ref (&one, tmp, out + t * a->out_c * uplane);
    }
}

/* Upsample, concat and conv3x3 (direct, or Winograd's) of each tile. */
static void
upcat_ref (const DaeConvArgs *a, guint up_c, const float *up, const float *skip, float *out,
           gboolean winograd)
{
  const size_t plane = (size_t) a->h * a->w;
  const size_t skip_f = (size_t) (a->in_c - up_c) * plane;
  g_autofree float *tmp = g_new (float, a->in_c * plane);
  DaeConvArgs one = *a;
  one.n = 1;
  for (size_t t = 0; t < a->n; t++)
    {
      float *o = out + t * a->out_c * plane;
      dae_upsample2_ref (1, up_c, a->h / 2, a->w / 2, up + t * up_c * (plane / 4), tmp);
      memcpy (tmp + up_c * plane, skip + t * skip_f, skip_f * sizeof (float));
      if (winograd)
        dae_conv3x3_winograd_ref (&one, tmp, o, NULL);
      else
        dae_conv3x3_ref (&one, tmp, o);
    }
}

void
dae_upsample2_concat_conv3x3_ref (const DaeConvArgs *a, guint up_c, const float *up,
                                  const float *skip, float *out)
{
  upcat_ref (a, up_c, up, skip, out, FALSE);
}

void
dae_upsample2_concat_conv3x3_winograd_ref (const DaeConvArgs *a, guint up_c, const float *up,
                                           const float *skip, float *out)
{
  upcat_ref (a, up_c, up, skip, out, TRUE);
}

void
dae_conv3x3_backward_ref (const DaeConvArgs *a, const float *in,
                          const float *dz, float *dweight, float *dbias,
                          float *din)
{
  const guint h = a->h, w = a->w;
  const size_t plane = (size_t) h * w;
  memset (dweight, 0, (size_t) a->out_c * a->in_c * 9 * sizeof (float));
  memset (dbias, 0, a->out_c * sizeof (float));
  if (din)
    memset (din, 0, a->n * a->in_c * plane * sizeof (float));
  for (size_t n = 0; n < a->n; n++)
    for (guint oc = 0; oc < a->out_c; oc++)
      {
        const float *g = dz + (n * a->out_c + oc) * plane;
        float sb = 0.0f;
        for (size_t i = 0; i < plane; i++)
          sb += g[i];
        dbias[oc] += sb;
        for (guint ic = 0; ic < a->in_c; ic++)
          {
            const float *x = in + (n * a->in_c + ic) * plane;
            float *dx = din ? din + (n * a->in_c + ic) * plane : NULL;
            const size_t k0 = ((size_t) oc * a->in_c + ic) * 9;
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                {
                  const int dy = ky - 1, dxo = kx - 1;
                  const int y0 = dy < 0 ? 1 : 0, y1 = dy > 0 ? (int) h - 1 : (int) h;
                  const int x0 = dxo < 0 ? 1 : 0, x1 = dxo > 0 ? (int) w - 1 : (int) w;
                  const float wk = a->weight[k0 + ky * 3 + kx];
                  float s = 0.0f;
                  for (int y = y0; y < y1; y++)
                    {
                      const float *gr = g + (size_t) y * w;
                      const size_t r = (size_t) (y + dy) * w + dxo;
                      for (int xx = x0; xx < x1; xx++)
                        s += gr[xx] * x[r + xx];
                      if (dx)
                        for (int xx = x0; xx < x1; xx++)
                          dx[r + xx] += wk * gr[xx];
                    }
                  dweight[k0 + ky * 3 + kx] += s;
                }
          }
      }
}
