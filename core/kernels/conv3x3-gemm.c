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
 * sample under that tap (zero outside the image).  In a flattened plane the
 * tap is one offset, dy*w + dx: one memcpy per plane, zeros where it runs
 * off the top or bottom, then the column that wrapped around is cleared
 * (row-sized copies are slow for small planes). */
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
          const ptrdiff_t off = (ptrdiff_t) dy * w + dx;
          /* dest[i] = src[i + off] for i in [lo, hi), zero elsewhere. */
          const size_t lo = MIN ((size_t) MAX (-off, 0), plane);
          const size_t hi = off > 0 ? (plane > (size_t) off ? plane - off : 0) : plane;
          for (size_t n = 0; n < a->n; n++)
            {
              const float *x = in + (n * a->in_c + ic) * plane;
              float *r = row + n * plane;
              memset (r, 0, lo * sizeof (float));
              if (hi > lo)
                memcpy (r + lo, x + lo + off, (hi - lo) * sizeof (float));
              memset (r + MAX (hi, lo), 0, (plane - MAX (hi, lo)) * sizeof (float));
              if (dx != 0)
                for (guint y = 0; y < h; y++)
                  r[(size_t) y * w + (dx < 0 ? 0 : w - 1)] = 0.0f;
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
