/* conv3x3-gemm-backward.c: the backward pass of a 3x3 convolution through
 * sgemm.
 *
 * dW[oc][ic][t] = sum over pixels p of dz[oc][p] x[ic][p + d_t], one GEMM
 * over the whole batch, from the columns (dae_im2col3x3) of whichever
 * tensor has fewer channels: of x, dW = dz x col(x)^T; or of dz, since the
 * sum is also sum_q x[ic][q] dz[oc][q - d_t], whose columns are those of
 * col(dz) for the mirrored tap 8 - t.  So the skinny layers (1 -> 32,
 * 32 -> 1) never build 32-channel columns.
 *
 * dx is the 'same' convolution of dz with the kernels transposed and
 * mirrored (dae_conv3x3_flip_weights), so any forward kernel computes it. */
#include "kernels.h"
#include "dae-config.h"

#include <string.h>
#if DAE_HAVE_BLAS
#include <cblas.h>
#endif

/* C[m][n] = A[m][k] x B[n][k]^T, all row-major and packed. */
static void
gemm_nt (size_t m, size_t n, size_t k, const float *a, const float *b, float *c)
{
#if DAE_HAVE_BLAS
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f,
               c, n);
#else
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      {
        const float *ar = a + i * k, *br = b + j * k;
        float s = 0.0f;
        for (size_t q = 0; q < k; q++)
          s += ar[q] * br[q];
        c[i * n + j] = s;
      }
#endif
}

/* [n][c][plane] -> [c][n][plane]. */
static void
channels_first (size_t n, guint c, size_t plane, const float *in, float *out)
{
  for (guint ch = 0; ch < c; ch++)
    for (size_t t = 0; t < n; t++)
      memcpy (out + (ch * n + t) * plane, in + (t * c + ch) * plane, plane * sizeof (float));
}

size_t
dae_conv3x3_gemm_dweight_scratch (const DaeConvArgs *a)
{
  const size_t cols = a->n * a->h * a->w;
  if (a->in_c <= a->out_c)
    return (size_t) a->in_c * 9 * cols + (size_t) a->out_c * cols;
  return (size_t) a->out_c * 9 * cols + (size_t) a->in_c * cols + (size_t) a->in_c * a->out_c * 9;
}

void
dae_conv3x3_gemm_dweight (const DaeConvArgs *a, const float *in, const float *dz,
                          float *dweight, float *dbias, float *scratch)
{
  const size_t plane = (size_t) a->h * a->w, cols = a->n * plane;
  for (guint oc = 0; oc < a->out_c; oc++)
    {
      float sb = 0.0f;
      for (size_t t = 0; t < a->n; t++)
        {
          const float *g = dz + (t * a->out_c + oc) * plane;
          for (size_t i = 0; i < plane; i++)
            sb += g[i];
        }
      dbias[oc] = sb;
    }
  if (a->in_c <= a->out_c)
    {
      float *col = scratch, *dzt = scratch + (size_t) a->in_c * 9 * cols;
      dae_im2col3x3 (a, in, col);
      channels_first (a->n, a->out_c, plane, dz, dzt);
      gemm_nt (a->out_c, (size_t) a->in_c * 9, cols, dzt, col, dweight);
      return;
    }
  DaeConvArgs b = *a;
  b.in_c = a->out_c;
  float *col = scratch, *xt = col + (size_t) a->out_c * 9 * cols;
  float *tw = xt + (size_t) a->in_c * cols;
  dae_im2col3x3 (&b, dz, col);
  channels_first (a->n, a->in_c, plane, in, xt);
  gemm_nt (a->in_c, (size_t) a->out_c * 9, cols, xt, col, tw);
  for (guint oc = 0; oc < a->out_c; oc++)
    for (guint ic = 0; ic < a->in_c; ic++)
      for (int t = 0; t < 9; t++)
        dweight[((size_t) oc * a->in_c + ic) * 9 + t] = tw[((size_t) ic * a->out_c + oc) * 9 + 8 - t];
}

void
dae_conv3x3_flip_weights (const DaeConvArgs *a, float *flipped)
{
  for (guint oc = 0; oc < a->out_c; oc++)
    for (guint ic = 0; ic < a->in_c; ic++)
      for (int t = 0; t < 9; t++)
        flipped[((size_t) ic * a->out_c + oc) * 9 + 8 - t] = a->weight[((size_t) oc * a->in_c + ic) * 9 + t];
}

/* The convolution that computes dx: out_c -> in_c channels, the flipped
 * kernels, no bias, no activation.  zero_bias holds in_c zeros. */
DaeConvArgs
dae_conv3x3_dx_args (const DaeConvArgs *a, const float *flipped, const float *zero_bias)
{
  return (DaeConvArgs){ .n = a->n, .in_c = a->out_c, .out_c = a->in_c, .h = a->h, .w = a->w,
                        .weight = flipped, .bias = zero_bias, .act = DAE_ACT_NONE };
}

size_t
dae_conv3x3_gemm_backward_scratch (const DaeConvArgs *a)
{
  const float dummy = 0.0f;
  DaeConvArgs b = dae_conv3x3_dx_args (a, &dummy, &dummy);
  const size_t fwd = (size_t) a->in_c * a->out_c * 9 + a->in_c + dae_conv3x3_gemm_scratch (&b);
  return MAX (dae_conv3x3_gemm_dweight_scratch (a), fwd);
}

void
dae_conv3x3_gemm_backward (const DaeConvArgs *a, const float *in,
                           const float *dz, float *dweight, float *dbias,
                           float *din, float *scratch)
{
  dae_conv3x3_gemm_dweight (a, in, dz, dweight, dbias, scratch);
  if (din == NULL)
    return;
  float *flipped = scratch, *zero = flipped + (size_t) a->in_c * a->out_c * 9;
  dae_conv3x3_flip_weights (a, flipped);
  memset (zero, 0, a->in_c * sizeof (float));
  DaeConvArgs b = dae_conv3x3_dx_args (a, flipped, zero);
  dae_conv3x3_gemm (&b, dz, din, zero + a->in_c);
}
