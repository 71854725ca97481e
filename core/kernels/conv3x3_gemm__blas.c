/* conv3x3_gemm__blas.c: the 3x3 convolution through sgemm (a portable loop
 * where no BLAS was found), forward and backward.
 *
 * Forward: im2col over the batch, then
 * C[out_c][n*h*w] = W[out_c][in_c*9] x col[in_c*9][n*h*w].
 *
 * Backward: dW[oc][ic][t] = sum over pixels p of dz[oc][p] x[ic][p + d_t], a GEMM
 * per image, from the columns (dae_im2col3x3) of whichever
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

/* C[m][n] (+)= A[m][k] x B[n][k]^T, all row-major and packed. */
static void
gemm_nt (size_t m, size_t n, size_t k, const float *a, const float *b, float beta,
         float *c)
{
#if DAE_HAVE_BLAS
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, beta,
               c, n);
#else
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++)
      {
        const float *ar = a + i * k, *br = b + j * k;
        float s = 0.0f;
        for (size_t q = 0; q < k; q++)
          s += ar[q] * br[q];
        c[i * n + j] = beta * c[i * n + j] + s;
      }
#endif
}

/* Eight running sums: one would wait on each add's latency. */
static float
sum_floats (const float *x, size_t n)
{
  float s[8] = { 0 };
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++)
      s[k] += x[i + k];
  for (; i < n; i++)
    s[0] += x[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

size_t
dae_conv3x3_gemm_dweight_scratch (const DaeConvArgs *a)
{
  const size_t plane = (size_t) a->h * a->w;
  if (a->in_c <= a->out_c)
    return (size_t) a->in_c * 9 * plane;
  return (size_t) a->out_c * 9 * plane + (size_t) a->in_c * a->out_c * 9;
}

/* One GEMM per image, its columns built just before (they stay in cache,
 * and an image's planes are already the GEMM's rows), summed into dW. */
void
dae_conv3x3_gemm_dweight (const DaeConvArgs *a, const float *in, const float *dz,
                          float *dweight, float *dbias, float *scratch)
{
  const size_t plane = (size_t) a->h * a->w;
  for (guint oc = 0; oc < a->out_c; oc++)
    {
      float sb = 0.0f;
      for (size_t t = 0; t < a->n; t++)
        sb += sum_floats (dz + (t * a->out_c + oc) * plane, plane);
      dbias[oc] = sb;
    }
  DaeConvArgs one = *a;
  one.n = 1;
  float *col = scratch;
  if (a->in_c <= a->out_c)
    {
      for (size_t t = 0; t < a->n; t++)
        {
          dae_im2col3x3 (&one, in + t * a->in_c * plane, col);
          gemm_nt (a->out_c, (size_t) a->in_c * 9, plane, dz + t * a->out_c * plane, col,
                   t ? 1.0f : 0.0f, dweight);
        }
      return;
    }
  one.in_c = a->out_c;
  float *tw = col + (size_t) a->out_c * 9 * plane;
  for (size_t t = 0; t < a->n; t++)
    {
      dae_im2col3x3 (&one, dz + t * a->out_c * plane, col);
      gemm_nt (a->in_c, (size_t) a->out_c * 9, plane, in + t * a->in_c * plane, col,
               t ? 1.0f : 0.0f, tw);
    }
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
