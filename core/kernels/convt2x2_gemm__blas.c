/* convt2x2_gemm__blas.c: the backward pass of the 2x2 stride-2
 * transposed convolution through sgemm (a portable loop where no BLAS was
 * found).  Each output pixel (2y+a, 2x+b)
 * has one input pixel (y, x) under it, so with dz rearranged per image as
 * dz4[(oc, a, b)][y][x] (space to depth) both gradients are plain GEMMs:
 *   dW[ic][(oc, a, b)] = sum over images of x[ic][hw] x dz4[(oc, a, b)][hw]^T
 *   dx[ic][hw]         = W[ic][(oc, a, b)] x dz4[(oc, a, b)][hw]. */
#include "kernels.h"
#include "dae-config.h"

#include <string.h>
#if DAE_HAVE_BLAS
#include <cblas.h>
#endif

size_t
dae_convt2x2_gemm_backward_scratch (const DaeConvArgs *a)
{
  return (size_t) a->out_c * 4 * a->h * a->w;
}

/* dz[oc][2h][2w] -> dz4[oc][a][b][h][w]. */
static void
space_to_depth (guint c, guint h, guint w, const float *dz, float *dz4)
{
  const guint ow = 2 * w;
  const size_t plane = (size_t) h * w;
  for (guint oc = 0; oc < c; oc++)
    for (int ab = 0; ab < 4; ab++)
      {
        const int ay = ab >> 1, bx = ab & 1;
        float *d = dz4 + ((size_t) oc * 4 + ab) * plane;
        const float *s = dz + (size_t) oc * 4 * plane;
        for (guint y = 0; y < h; y++)
          for (guint x = 0; x < w; x++)
            d[(size_t) y * w + x] = s[(size_t) (2 * y + ay) * ow + 2 * x + bx];
      }
}

static void
gemm (gboolean trans_b, size_t m, size_t n, size_t k, const float *a, const float *b,
      float beta, float *c)
{
#if DAE_HAVE_BLAS
  cblas_sgemm (CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
               1.0f, a, k, b, trans_b ? k : n, beta, c, n);
#else
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      {
        float s = 0.0f;
        for (size_t q = 0; q < k; q++)
          s += a[i * k + q] * (trans_b ? b[j * k + q] : b[q * n + j]);
        c[i * n + j] = beta * c[i * n + j] + s;
      }
#endif
}

void
dae_convt2x2_gemm_backward (const DaeConvArgs *a, const float *in, const float *dz,
                            float *dweight, float *dbias, float *din, float *scratch)
{
  const size_t plane = (size_t) a->h * a->w, n4 = (size_t) a->out_c * 4;
  for (guint oc = 0; oc < a->out_c; oc++)
    dbias[oc] = 0.0f;
  for (size_t t = 0; t < a->n; t++)
    {
      const float *g = dz + t * n4 * plane;
      for (guint oc = 0; oc < a->out_c; oc++)
        {
          float s[4] = { 0 };
          const float *go = g + (size_t) oc * 4 * plane;
          for (size_t i = 0; i < 4 * plane; i += 4)
            for (int k = 0; k < 4; k++)
              s[k] += go[i + k];
          dbias[oc] += (s[0] + s[1]) + (s[2] + s[3]);
        }
      space_to_depth (a->out_c, a->h, a->w, g, scratch);
      gemm (TRUE, a->in_c, n4, plane, in + t * a->in_c * plane, scratch, t ? 1.0f : 0.0f,
            dweight);
      if (din)
        gemm (FALSE, a->in_c, plane, n4, a->weight, scratch, 0.0f,
              din + t * a->in_c * plane);
    }
}
