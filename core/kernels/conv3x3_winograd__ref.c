/* conv3x3_winograd__ref.c: the 3x3 convolution through Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, 2016), scalar, one output tile of
 * 2x2 pixels at a time: 16 multiply-adds per input channel where the
 * direct convolution takes 36.  The SIMD variants run the same operations
 * in the same order, vectorised over tiles, so they give these bits (but
 * for the sigmoid, whose exp differs).
 *
 * Output tile (i, j) covers pixels 2i..2i+1 x 2j..2j+1 and reads the 4x4
 * input patch d at rows 2i-1.. and columns 2j-1.. (zero outside):
 *   V = B^T d B, U = G g G^T, M = sum over input channels of U .* V,
 *   y = A^T M A, with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],  A^T = [1 1 1 0; 0 1 -1 -1].
 * Position pos = 4 * row + column of the 4x4 transformed tile. */
#include "kernels.h"

#include <math.h>
#include <string.h>

void
dae_winograd_weights (const DaeConvArgs *a, float *u)
{
  /* In double: the weights are transformed once per layer, and the
   * halvings and sums then round only once. */
  const size_t per = (size_t) a->out_c * a->in_c;
  for (size_t k = 0; k < per; k++)
    {
      const float *g = a->weight + k * 9;
      double t[4][3];
      for (int c = 0; c < 3; c++)
        {
          t[0][c] = g[c];
          t[1][c] = 0.5 * ((double) g[c] + g[3 + c] + g[6 + c]);
          t[2][c] = 0.5 * ((double) g[c] - g[3 + c] + g[6 + c]);
          t[3][c] = g[6 + c];
        }
      for (int r = 0; r < 4; r++)
        {
          u[(4 * r + 0) * per + k] = (float) t[r][0];
          u[(4 * r + 1) * per + k] = (float) (0.5 * (t[r][0] + t[r][1] + t[r][2]));
          u[(4 * r + 2) * per + k] = (float) (0.5 * (t[r][0] - t[r][1] + t[r][2]));
          u[(4 * r + 3) * per + k] = (float) t[r][2];
        }
    }
}

static float
pixel (const float *x, guint h, guint w, int y, int xx)
{
  return y >= 0 && y < (int) h && xx >= 0 && xx < (int) w ? x[(size_t) y * w + xx] : 0.0f;
}

void
dae_conv3x3_winograd_ref (const DaeConvArgs *a, const float *in, float *out,
                          float *pooled)
{
  const guint h = a->h, w = a->w, th = (h + 1) / 2, tw = (w + 1) / 2;
  const size_t plane = (size_t) h * w, per = (size_t) a->out_c * a->in_c;
  const size_t nt = (size_t) th * tw, oplane = nt;
  g_autofree float *u = g_new (float, 16 * per);
  g_autofree float *v = g_new (float, 16 * a->in_c * nt); /* [pos][ic][tile] */
  g_autofree float *tmp = g_new (float, a->out_c * plane);
  dae_winograd_weights (a, u);
  for (size_t n = 0; n < a->n; n++)
    {
      const float *src = in + n * a->in_c * plane;
      float *dst = out ? out + n * a->out_c * plane : tmp;
      for (guint ic = 0; ic < a->in_c; ic++)
        for (guint i = 0; i < th; i++)
          for (guint j = 0; j < tw; j++)
            {
              const float *x = src + ic * plane;
              float d[4][4], e[4][4];
              for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                  d[r][c] = pixel (x, h, w, 2 * (int) i - 1 + r, 2 * (int) j - 1 + c);
              for (int c = 0; c < 4; c++)
                {
                  e[0][c] = d[0][c] - d[2][c];
                  e[1][c] = d[1][c] + d[2][c];
                  e[2][c] = d[2][c] - d[1][c];
                  e[3][c] = d[1][c] - d[3][c];
                }
              float *vt = v + (size_t) ic * nt + i * tw + j;
              const size_t ps = (size_t) a->in_c * nt;
              for (int r = 0; r < 4; r++)
                {
                  vt[(4 * r + 0) * ps] = e[r][0] - e[r][2];
                  vt[(4 * r + 1) * ps] = e[r][1] + e[r][2];
                  vt[(4 * r + 2) * ps] = e[r][2] - e[r][1];
                  vt[(4 * r + 3) * ps] = e[r][1] - e[r][3];
                }
            }
      for (guint oc = 0; oc < a->out_c; oc++)
        {
          float *o = dst + oc * plane;
          for (size_t t = 0; t < nt; t++)
            {
              float m[16], s[2][4], y[2][2];
              for (int p = 0; p < 16; p++)
                {
                  const float *up = u + p * per + (size_t) oc * a->in_c;
                  const float *vp = v + (size_t) p * a->in_c * nt + t;
                  float acc = 0.0f;
                  for (guint ic = 0; ic < a->in_c; ic++)
                    acc = fmaf (up[ic], vp[ic * nt], acc);
                  m[p] = acc;
                }
              for (int c = 0; c < 4; c++)
                {
                  s[0][c] = m[c] + m[4 + c] + m[8 + c];
                  s[1][c] = m[4 + c] - m[8 + c] - m[12 + c];
                }
              for (int r = 0; r < 2; r++)
                {
                  y[r][0] = s[r][0] + s[r][1] + s[r][2];
                  y[r][1] = s[r][1] - s[r][2] - s[r][3];
                }
              const guint i = t / tw, j = t % tw;
              for (guint r = 0; r < 2; r++)
                for (guint c = 0; c < 2; c++)
                  if (2 * i + r < h && 2 * j + c < w)
                    o[(2 * i + r) * w + 2 * j + c] = y[r][c] + a->bias[oc];
            }
          dae_activate_ref (plane, a->act, o);
        }
      if (pooled)
        dae_maxpool2_ref (1, a->out_c, h, w, dst, pooled + n * a->out_c * oplane);
    }
}
