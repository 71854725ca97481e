/* conv3x3-gemm-backward.c: the backward pass of a 3x3 convolution as two
 * sgemms over the whole batch, with the columns laid out as in the forward
 * pass (dae_im2col3x3):
 *   dW[out_c][in_c*9]    = dz[out_c][n*h*w] x col[in_c*9][n*h*w]^T
 *   dcol[in_c*9][n*h*w]  = W^T x dz, then scattered back (col2im) to din. */
#include "kernels.h"
#include "dae-config.h"

#include <string.h>
#if DAE_HAVE_BLAS
#include <cblas.h>
#endif

size_t
dae_conv3x3_gemm_backward_scratch (const DaeConvArgs *a)
{
  const size_t cols = a->n * a->h * a->w;
  return (size_t) a->in_c * 9 * cols + (size_t) a->out_c * cols;
}

/* din[n][ic][y][x] = sum of the dcol entries that read that sample. */
static void
col2im3x3 (const DaeConvArgs *a, const float *col, float *din)
{
  const guint h = a->h, w = a->w;
  const size_t plane = (size_t) h * w, cols = a->n * plane;
  memset (din, 0, a->n * a->in_c * plane * sizeof (float));
  for (guint ic = 0; ic < a->in_c; ic++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++)
        {
          const float *row = col + ((size_t) ic * 9 + ky * 3 + kx) * cols;
          const int dy = ky - 1, dx = kx - 1;
          const int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? (int) w - 1 : (int) w;
          for (size_t n = 0; n < a->n; n++)
            {
              float *d = din + (n * a->in_c + ic) * plane;
              const float *r = row + n * plane;
              for (int y = 0; y < (int) h; y++)
                {
                  const int sy = y + dy;
                  if (sy < 0 || sy >= (int) h)
                    continue;
                  float *ds = d + (size_t) sy * w + dx;
                  const float *ry = r + (size_t) y * w;
                  for (int xx = x0; xx < x1; xx++)
                    ds[xx] += ry[xx];
                }
            }
        }
}

void
dae_conv3x3_gemm_backward (const DaeConvArgs *a, const float *in,
                           const float *dz, float *dweight, float *dbias,
                           float *din, float *scratch)
{
  const size_t plane = (size_t) a->h * a->w, cols = a->n * plane;
  const size_t k = (size_t) a->in_c * 9;
  float *col = scratch, *dzt = scratch + k * cols;

  /* [n][out_c][hw] -> [out_c][n][hw], summing the bias gradient on the way. */
  for (guint oc = 0; oc < a->out_c; oc++)
    {
      float sb = 0.0f;
      for (size_t n = 0; n < a->n; n++)
        {
          const float *g = dz + (n * a->out_c + oc) * plane;
          float *t = dzt + oc * cols + n * plane;
          memcpy (t, g, plane * sizeof (float));
          for (size_t i = 0; i < plane; i++)
            sb += g[i];
        }
      dbias[oc] = sb;
    }

  dae_im2col3x3 (a, in, col);
#if DAE_HAVE_BLAS
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, a->out_c, k, cols,
               1.0f, dzt, cols, col, cols, 0.0f, dweight, k);
#else
  for (guint oc = 0; oc < a->out_c; oc++)
    for (size_t kk = 0; kk < k; kk++)
      {
        const float *g = dzt + oc * cols, *c = col + kk * cols;
        float s = 0.0f;
        for (size_t j = 0; j < cols; j++)
          s += g[j] * c[j];
        dweight[oc * k + kk] = s;
      }
#endif
  if (din == NULL)
    return;

  /* The columns are read; their buffer now takes dcol. */
#if DAE_HAVE_BLAS
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, k, cols, a->out_c,
               1.0f, a->weight, k, dzt, cols, 0.0f, col, cols);
#else
  for (size_t kk = 0; kk < k; kk++)
    {
      float *c = col + kk * cols;
      memset (c, 0, cols * sizeof (float));
      for (guint oc = 0; oc < a->out_c; oc++)
        {
          const float wk = a->weight[oc * k + kk];
          const float *g = dzt + oc * cols;
          for (size_t j = 0; j < cols; j++)
            c[j] += wk * g[j];
        }
    }
#endif
  col2im3x3 (a, col, din);
}
