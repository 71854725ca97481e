/* metrics.c: PSNR, SSIM and BCE of denoised images against clean ones, and
 * the 3x3 median filter that serves as the classical baseline. */
#include "dae-private.h"

#include <math.h>

double
dae_psnr_plane (guint width, guint height, const float *x, size_t x_stride,
                const float *ref, size_t ref_stride)
{
  g_return_val_if_fail (width > 0 && height > 0, NAN);
  g_return_val_if_fail (x != NULL && ref != NULL, NAN);

  double sum = 0.0;
  for (guint y = 0; y < height; y++)
    {
      const float *a = x + y * x_stride;
      const float *b = ref + y * ref_stride;
      double row = 0.0; /* per-row partial sums keep rounding small on pages */
      for (guint i = 0; i < width; i++)
        {
          double d = (double) a[i] - (double) b[i];
          row += d * d;
        }
      sum += row;
    }
  double mse = sum / ((double) width * height);
  return mse > 0.0 ? fmin (-10.0 * log10 (mse), DAE_PSNR_MAX_DB)
                   : DAE_PSNR_MAX_DB;
}

/* The five windowed sums SSIM needs, per column or per window. */
typedef struct {
  double a, b, aa, bb, ab;
} Sums;

double
dae_ssim_plane (guint width, guint height, const float *x, size_t x_stride,
                const float *ref, size_t ref_stride)
{
  g_return_val_if_fail (x != NULL && ref != NULL, NAN);
  const guint win = DAE_SSIM_WINDOW;
  if (width < win || height < win)
    return NAN;

  const double np = (double) win * win;
  const double cov_norm = np / (np - 1.0); /* sample covariance, as skimage */
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03; /* (K * data_range)^2 */
  const guint out_w = width - win + 1, out_h = height - win + 1;

  /* Column sums over the window's rows, recomputed for each output row
   * rather than updated incrementally, so no rounding drifts down a page. */
  Sums *col = g_new (Sums, width);
  double total = 0.0;
  for (guint r = 0; r < out_h; r++)
    {
      for (guint i = 0; i < width; i++)
        col[i] = (Sums) { 0 };
      for (guint k = 0; k < win; k++)
        {
          const float *pa = x + (size_t) (r + k) * x_stride;
          const float *pb = ref + (size_t) (r + k) * ref_stride;
          for (guint i = 0; i < width; i++)
            {
              double a = pa[i], b = pb[i];
              col[i].a += a;
              col[i].b += b;
              col[i].aa += a * a;
              col[i].bb += b * b;
              col[i].ab += a * b;
            }
        }
      double row = 0.0;
      for (guint c = 0; c < out_w; c++)
        {
          Sums s = { 0 };
          for (guint k = 0; k < win; k++)
            {
              const Sums *q = &col[c + k];
              s.a += q->a;
              s.b += q->b;
              s.aa += q->aa;
              s.bb += q->bb;
              s.ab += q->ab;
            }
          double ux = s.a / np, uy = s.b / np;
          double vx = cov_norm * (s.aa / np - ux * ux);
          double vy = cov_norm * (s.bb / np - uy * uy);
          double vxy = cov_norm * (s.ab / np - ux * uy);
          row += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2))
                 / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        }
      total += row;
    }
  g_free (col);
  return total / ((double) out_w * out_h);
}

double
dae_psnr_mean (size_t n, guint height, guint width, const float *x,
               const float *ref)
{
  if (n == 0 || height == 0 || width == 0)
    return NAN;
  size_t plane = (size_t) height * width;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += dae_psnr_plane (width, height, x + i * plane, width,
                           ref + i * plane, width);
  return sum / (double) n;
}

double
dae_ssim_mean (size_t n, guint height, guint width, const float *x,
               const float *ref)
{
  if (n == 0)
    return NAN;
  size_t plane = (size_t) height * width;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += dae_ssim_plane (width, height, x + i * plane, width,
                           ref + i * plane, width);
  return sum / (double) n;
}

double
dae_bce_mean (size_t n, guint height, guint width, const float *output,
              const float *target)
{
  size_t plane = (size_t) height * width;
  if (n == 0 || plane == 0)
    return NAN;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      const float *p = output + i * plane;
      const float *t = target + i * plane;
      double img = 0.0;
      for (size_t j = 0; j < plane; j++)
        {
          double lp = fmax (log ((double) p[j]), -100.0);
          double lq = fmax (log (1.0 - (double) p[j]), -100.0);
          img -= t[j] * lp + (1.0 - t[j]) * lq;
        }
      sum += img;
    }
  return sum / ((double) n * plane);
}

#define SORT2(a, b) \
  do { if (p[a] > p[b]) { float t_ = p[a]; p[a] = p[b]; p[b] = t_; } } while (0)

/* Median of 9 by a 19-exchange network (Paeth); test-metrics checks it on
 * all 512 binary inputs, which by the 0-1 principle covers every input. */
static inline float
median9 (float p[9])
{
  SORT2 (1, 2); SORT2 (4, 5); SORT2 (7, 8);
  SORT2 (0, 1); SORT2 (3, 4); SORT2 (6, 7);
  SORT2 (1, 2); SORT2 (4, 5); SORT2 (7, 8);
  SORT2 (0, 3); SORT2 (5, 8); SORT2 (4, 7);
  SORT2 (3, 6); SORT2 (1, 4); SORT2 (2, 5);
  SORT2 (4, 7); SORT2 (4, 2); SORT2 (6, 4);
  SORT2 (4, 2);
  return p[4];
}

#undef SORT2

void
dae_median3x3_plane (guint width, guint height, const float *src,
                     size_t src_stride, float *dst, size_t dst_stride)
{
  g_return_if_fail (src != NULL && dst != NULL);
  for (guint y = 0; y < height; y++)
    {
      const float *up = src + (size_t) (y > 0 ? y - 1 : 0) * src_stride;
      const float *mid = src + (size_t) y * src_stride;
      const float *down = src + (size_t) (y + 1 < height ? y + 1 : y) * src_stride;
      float *out = dst + (size_t) y * dst_stride;
      for (guint i = 0; i < width; i++)
        {
          guint l = i > 0 ? i - 1 : 0, r = i + 1 < width ? i + 1 : i;
          float p[9] = { up[l], up[i], up[r], mid[l], mid[i], mid[r],
                         down[l], down[i], down[r] };
          out[i] = median9 (p);
        }
    }
}

void
dae_median3x3 (size_t n, guint height, guint width, const float *src,
               float *dst)
{
  size_t plane = (size_t) height * width;
  for (size_t i = 0; i < n; i++)
    dae_median3x3_plane (width, height, src + i * plane, width,
                         dst + i * plane, width);
}
