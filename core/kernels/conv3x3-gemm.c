/* conv3x3-gemm.c: 3x3 convolution as im2col over the batch + sgemm:
 * C[out_c][n*h*w] = W[out_c][in_c*9] x col[in_c*9][n*h*w]. */
#include "kernels.h"
#include "dae-config.h"

#include <string.h>
#if DAE_HAVE_BLAS
#include <cblas.h>
#endif

size_t
dae_conv3x3_gemm_scratch (const DaeConvArgs *a)
{
  const size_t cols = a->n * a->h * a->w;
  return (size_t) a->in_c * 9 * cols + (size_t) a->out_c * cols;
}

/* Row (ic, ky, kx) of col holds, for every pixel of every image, the input
 * sample under that tap (zero outside the image). */
void
dae_im2col3x3 (const DaeConvArgs *a, const float *in, float *col)
{
  const guint h = a->h, w = a->w;
  const size_t plane = (size_t) h * w, cols = a->n * plane;
  for (guint ic = 0; ic < a->in_c; ic++)
    for (int ky = 0; ky < 3; ky++)
      for (int kx = 0; kx < 3; kx++)
        {
          float *row = col + ((size_t) ic * 9 + ky * 3 + kx) * cols;
          const int dy = ky - 1, dx = kx - 1;
          for (size_t n = 0; n < a->n; n++)
            {
              const float *x = in + (n * a->in_c + ic) * plane;
              float *r = row + n * plane;
              for (int y = 0; y < (int) h; y++)
                {
                  float *ry = r + (size_t) y * w;
                  const int sy = y + dy;
                  if (sy < 0 || sy >= (int) h)
                    {
                      memset (ry, 0, w * sizeof (float));
                      continue;
                    }
                  const float *xs = x + (size_t) sy * w;
                  const int x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? (int) w - 1 : (int) w;
                  if (x0 > 0)
                    ry[0] = 0.0f;
                  if (x1 < (int) w)
                    ry[w - 1] = 0.0f;
                  if (x1 > x0)
                    memcpy (ry + x0, xs + x0 + dx, (x1 - x0) * sizeof (float));
                }
            }
        }
}

void
dae_conv3x3_gemm (const DaeConvArgs *a, const float *in, float *out,
                  float *scratch)
{
  const size_t plane = (size_t) a->h * a->w, cols = a->n * plane;
  const size_t k = (size_t) a->in_c * 9;
  float *col = scratch, *c = scratch + k * cols;
  dae_im2col3x3 (a, in, col);
#if DAE_HAVE_BLAS
  /* One sgemm per tile over the batch's im2col: OpenBLAS rounds an element
   * differently with N, so a fixed N keeps each tile's result independent of
   * the batch it came in (and BLAS runs single-threaded, see threads.c). */
  for (size_t t = 0; t < a->n; t++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, a->out_c, plane, k,
                 1.0f, a->weight, k, col + t * plane, cols, 0.0f, c + t * plane, cols);
#else
  for (guint oc = 0; oc < a->out_c; oc++)
    {
      float *cr = c + oc * cols;
      memset (cr, 0, cols * sizeof (float));
      for (size_t kk = 0; kk < k; kk++)
        {
          const float wk = a->weight[oc * k + kk];
          const float *xr = col + kk * cols;
          for (size_t j = 0; j < cols; j++)
            cr[j] += wk * xr[j];
        }
    }
#endif
  /* [out_c][n][hw] -> [n][out_c][hw], with bias and activation. */
  for (size_t n = 0; n < a->n; n++)
    for (guint oc = 0; oc < a->out_c; oc++)
      {
        float *o = out + (n * a->out_c + oc) * plane;
        const float *cr = c + oc * cols + n * plane;
        const float b = a->bias[oc];
        for (size_t i = 0; i < plane; i++)
          o[i] = cr[i] + b;
        dae_activate_ref (plane, a->act, o);
      }
}
