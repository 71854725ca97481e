/* backward-ref.c: scalar references of the layers' backward passes, the
 * specification the GEMM and SIMD variants are tested against. */
#include "kernels.h"
#include "pool-window.h"

#include <string.h>

void
dae_activation_backward_ref (size_t count, DaeActivation act, const float *y,
                             float *dy)
{
  switch (act)
    {
    case DAE_ACT_NONE:
      break;
    case DAE_ACT_RELU:
      /* PyTorch's threshold_backward: no gradient where the output is 0.
       * A mask, not a branch: the pattern is random. */
      for (size_t i = 0; i < count; i++)
        {
          guint32 bits;
          memcpy (&bits, dy + i, 4);
          bits &= -(guint32) (y[i] > 0.0f);
          memcpy (dy + i, &bits, 4);
        }
      break;
    case DAE_ACT_SIGMOID:
      for (size_t i = 0; i < count; i++)
        dy[i] *= y[i] * (1.0f - y[i]);
      break;
    }
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
