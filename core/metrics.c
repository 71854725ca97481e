/* metrics.c: PSNR, SSIM and BCE of denoised images against clean ones, and
 * the 3x3 median filter that serves as the classical baseline. */
#include "dae-private.h"

#include <math.h>
#include <string.h>

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

static void
add_row (Sums *col, guint width, const float *x, const float *ref,
         double sign)
{
  for (guint i = 0; i < width; i++)
    {
      double a = x[i], b = ref[i];
      col[i].a += sign * a;
      col[i].b += sign * b;
      col[i].aa += sign * (a * a);
      col[i].bb += sign * (b * b);
      col[i].ab += sign * (a * b);
    }
}

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

  /* Column sums over the window's rows, slid down the plane (add the row
   * entering, subtract the one leaving), then window sums slid along each
   * row: O(1) per pixel.  In double, the rounding this accumulates down a
   * page stays below 1e-12 of the sums, far under what SSIM can show. */
  Sums *col = g_new0 (Sums, width);
  for (guint k = 0; k < win; k++)
    add_row (col, width, x + (size_t) k * x_stride, ref + (size_t) k * ref_stride, 1.0);
  double total = 0.0;
  for (guint r = 0; r < out_h; r++)
    {
      if (r > 0)
        {
          add_row (col, width, x + (size_t) (r - 1) * x_stride,
                   ref + (size_t) (r - 1) * ref_stride, -1.0);
          add_row (col, width, x + (size_t) (r + win - 1) * x_stride,
                   ref + (size_t) (r + win - 1) * ref_stride, 1.0);
        }
      Sums s = { 0 };
      for (guint k = 0; k < win; k++)
        {
          s.a += col[k].a;
          s.b += col[k].b;
          s.aa += col[k].aa;
          s.bb += col[k].bb;
          s.ab += col[k].ab;
        }
      double row = 0.0;
      for (guint c = 0;; c++)
        {
          double ux = s.a / np, uy = s.b / np;
          double vx = cov_norm * (s.aa / np - ux * ux);
          double vy = cov_norm * (s.bb / np - uy * uy);
          double vxy = cov_norm * (s.ab / np - ux * uy);
          row += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2))
                 / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
          if (c + 1 == out_w)
            break;
          const Sums *in = &col[c + win], *out = &col[c];
          s.a += in->a - out->a;
          s.b += in->b - out->b;
          s.aa += in->aa - out->aa;
          s.bb += in->bb - out->bb;
          s.ab += in->ab - out->ab;
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

/* The median runs on integer keys that sort like the floats (IEEE bits,
 * negative ones mirrored): integer min/max compile to branch-free code,
 * where float compares must branch to honour NaN, and branches mispredict
 * all the time on noisy images. */
static inline gint32
float_key (float f)
{
  gint32 i;
  memcpy (&i, &f, sizeof i);
  return i ^ (gint32) ((guint32) (i >> 31) >> 1);
}

static inline float
key_float (gint32 k)
{
  gint32 i = k ^ (gint32) ((guint32) (k >> 31) >> 1); /* an involution */
  float f;
  memcpy (&f, &i, sizeof f);
  return f;
}

/* A row's keys with the border replicated: width + 2 of them. */
static void
fill_keys (gint32 *keys, const float *row, guint width)
{
  keys[0] = float_key (row[0]);
  for (guint i = 0; i < width; i++)
    keys[i + 1] = float_key (row[i]);
  keys[width + 1] = float_key (row[width - 1]);
}

#define SORT2(i, j) \
  do { \
    gint32 a_ = p##i, b_ = p##j; \
    p##i = MIN (a_, b_); \
    p##j = MAX (a_, b_); \
  } while (0)

/* Median of 9 by a 19-exchange network (Paeth); test-metrics checks it on
 * all 512 binary inputs, which by the 0-1 principle covers every input. */
static void
median_row (const gint32 *up, const gint32 *mid, const gint32 *down,
            float *out, guint width)
{
  for (guint x = 0; x < width; x++)
    {
      gint32 p0 = up[x], p1 = up[x + 1], p2 = up[x + 2];
      gint32 p3 = mid[x], p4 = mid[x + 1], p5 = mid[x + 2];
      gint32 p6 = down[x], p7 = down[x + 1], p8 = down[x + 2];
      SORT2 (1, 2); SORT2 (4, 5); SORT2 (7, 8);
      SORT2 (0, 1); SORT2 (3, 4); SORT2 (6, 7);
      SORT2 (1, 2); SORT2 (4, 5); SORT2 (7, 8);
      SORT2 (0, 3); SORT2 (5, 8); SORT2 (4, 7);
      SORT2 (3, 6); SORT2 (1, 4); SORT2 (2, 5);
      SORT2 (4, 7); SORT2 (4, 2); SORT2 (6, 4);
      SORT2 (4, 2);
      out[x] = key_float (p4);
    }
}

#undef SORT2

void
dae_median3x3_plane (guint width, guint height, const float *src,
                     size_t src_stride, float *dst, size_t dst_stride)
{
  g_return_if_fail (src != NULL && dst != NULL);
  if (width == 0 || height == 0)
    return;
  /* Three rows of keys in rotation: each input row is converted once. */
  size_t len = (size_t) width + 2;
  gint32 *buf = g_new (gint32, 3 * len);
  gint32 *rows[3] = { buf, buf + len, buf + 2 * len };
  fill_keys (rows[0], src, width);
  const gint32 *up = rows[0], *mid = rows[0], *down = rows[0];
  if (height > 1)
    {
      fill_keys (rows[1], src + src_stride, width);
      down = rows[1];
    }
  for (guint y = 0;; y++)
    {
      median_row (up, mid, down, dst + (size_t) y * dst_stride, width);
      if (y + 1 == height)
        break;
      up = mid;
      mid = down;
      if (y + 2 < height)
        {
          gint32 *next = rows[0] != up && rows[0] != mid ? rows[0]
                         : rows[1] != up && rows[1] != mid ? rows[1] : rows[2];
          fill_keys (next, src + (size_t) (y + 2) * src_stride, width);
          down = next;
        }
    }
  g_free (buf);
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
