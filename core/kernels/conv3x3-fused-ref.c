/* conv3x3-fused-ref.c: scalar references of the fused variants, defined as
 * the composition of the layer references, one tile at a time. */
#include "kernels.h"

#include <string.h>

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

void
dae_upsample2_concat_conv3x3_ref (const DaeConvArgs *a, guint up_c, const float *up,
                                  const float *skip, float *out)
{
  const size_t plane = (size_t) a->h * a->w;
  const size_t skip_f = (size_t) (a->in_c - up_c) * plane;
  g_autofree float *tmp = g_new (float, a->in_c * plane);
  DaeConvArgs one = *a;
  one.n = 1;
  for (size_t t = 0; t < a->n; t++)
    {
      dae_upsample2_ref (1, up_c, a->h / 2, a->w / 2, up + t * up_c * (plane / 4), tmp);
      memcpy (tmp + up_c * plane, skip + t * skip_f, skip_f * sizeof (float));
      dae_conv3x3_ref (&one, tmp, out + t * a->out_c * plane);
    }
}
