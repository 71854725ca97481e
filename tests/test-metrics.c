/* test-metrics.c: PSNR, SSIM, BCE and the 3x3 median: known values, their
 * properties, and agreement with skimage / PyTorch / scipy on the fixtures
 * written by tools/metrics-reference (tests/data/metrics/). */
#include "dae.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *
random_plane (GRand *rng, size_t n, double lo, double hi)
{
  float *p = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    p[i] = (float) g_rand_double_range (rng, lo, hi);
  return p;
}

static void
test_psnr_known (void)
{
  GRand *rng = g_rand_new_with_seed (1);
  const guint w = 29, h = 17, stride = 40;
  /* Rows padded with garbage: the stride must be honoured. */
  float *x = random_plane (rng, (size_t) h * stride, 0.0, 0.9);
  float *y = g_new (float, (size_t) h * stride);
  for (size_t i = 0; i < (size_t) h * stride; i++)
    y[i] = (i % stride) < w ? x[i] + 0.1f : 50.0f;
  /* MSE 0.01 -> 20 dB; float rounding of x + 0.1 costs ~1e-6 dB. */
  double p = dae_psnr_plane (w, h, x, stride, y, stride);
  g_assert_cmpfloat_with_epsilon (p, 20.0, 1e-4);
  g_assert_cmpfloat_with_epsilon (dae_psnr_plane (w, h, y, stride, x, stride),
                                  p, 1e-12);
  g_assert_cmpfloat (dae_psnr_plane (w, h, x, stride, x, stride), ==,
                     DAE_PSNR_MAX_DB);
  /* A difference of 1e-6 would be 120 dB: capped. */
  float z = 0.5f, z2 = 0.5f + 1e-6f;
  g_assert_cmpfloat (dae_psnr_plane (1, 1, &z, 1, &z2, 1), ==, DAE_PSNR_MAX_DB);

  /* The mean of per-image PSNRs (20 and 40 dB), not the PSNR of the pooled
   * MSE (which would be 22.97 dB). */
  float a[8] = { 0, 0, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f };
  float b[8] = { 0.1f, 0.1f, 0.1f, 0.1f, 0.51f, 0.51f, 0.51f, 0.51f };
  g_assert_cmpfloat_with_epsilon (dae_psnr_mean (2, 2, 2, a, b), 30.0, 1e-4);
  g_assert_true (isnan (dae_psnr_mean (0, 2, 2, a, b)));
  g_free (x);
  g_free (y);
  g_rand_free (rng);
}

static void
add_noise (GRand *rng, const float *clean, float *out, size_t n, double sigma)
{
  for (size_t i = 0; i < n; i++)
    {
      /* Box-Muller is enough here. */
      double u = g_rand_double (rng), v = g_rand_double (rng);
      double g = sqrt (-2.0 * log (1.0 - u)) * cos (2.0 * G_PI * v);
      out[i] = (float) CLAMP (clean[i] + sigma * g, 0.0, 1.0);
    }
}

static void
test_ssim_properties (void)
{
  GRand *rng = g_rand_new_with_seed (2);
  const guint w = 40, h = 33;
  const size_t n = (size_t) w * h;
  float *clean = g_new (float, n);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      clean[y * w + x] = 0.5f + 0.4f * sinf (x * 0.3f) * cosf (y * 0.2f);

  g_assert_cmpfloat_with_epsilon (dae_ssim_plane (w, h, clean, w, clean, w),
                                  1.0, 1e-12);
  float *noisy = g_new (float, n);
  double prev = 1.0;
  const double sigmas[] = { 0.02, 0.05, 0.1, 0.2, 0.4 };
  for (guint i = 0; i < G_N_ELEMENTS (sigmas); i++)
    {
      add_noise (rng, clean, noisy, n, sigmas[i]);
      double s = dae_ssim_plane (w, h, noisy, w, clean, w);
      g_test_message ("sigma %.2f: SSIM %.4f", sigmas[i], s);
      g_assert_cmpfloat (s, <, prev);
      g_assert_cmpfloat (s, >, -1.0);
      /* Symmetric. */
      g_assert_cmpfloat_with_epsilon (dae_ssim_plane (w, h, clean, w, noisy, w),
                                      s, 1e-12);
      prev = s;
    }
  /* An inverted image is anti-correlated: negative SSIM. */
  for (size_t i = 0; i < n; i++)
    noisy[i] = 1.0f - clean[i];
  g_assert_cmpfloat (dae_ssim_plane (w, h, noisy, w, clean, w), <, 0.0);

  /* The window must fit. */
  g_assert_true (isnan (dae_ssim_plane (6, 7, clean, w, clean, w)));
  g_assert_true (isnan (dae_ssim_plane (7, 6, clean, w, clean, w)));
  g_assert_cmpfloat_with_epsilon (dae_ssim_plane (7, 7, clean, w, clean, w),
                                  1.0, 1e-12);
  g_assert_true (isnan (dae_ssim_mean (0, 28, 28, clean, clean)));
  g_free (clean);
  g_free (noisy);
  g_rand_free (rng);
}

/* Window sums slide down the plane: on a tall one, the mean must still be
 * what strips computed afresh give (no drift), and so must a wide one. */
static void
test_ssim_tall (void)
{
  GRand *rng = g_rand_new_with_seed (5);
  const guint w = 37, h = 4000, cut = 1700;
  const size_t n = (size_t) w * h;
  float *a = random_plane (rng, n, 0, 1), *b = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    b[i] = 0.7f * a[i] + 0.3f * (float) g_rand_double (rng);
  double whole = dae_ssim_plane (w, h, a, w, b, w);
  /* Rows [0, cut + 6) hold windows 0..cut-1; rows [cut, h) the rest. */
  double top = dae_ssim_plane (w, cut + 6, a, w, b, w);
  double bottom = dae_ssim_plane (w, h - cut, a + cut * w, w, b + cut * w, w);
  double parts = (top * cut + bottom * (h - 6 - cut)) / (h - 6);
  g_test_message ("tall plane: SSIM %.15f, from strips %.15f", whole, parts);
  g_assert_cmpfloat_with_epsilon (whole, parts, 1e-12);
  /* The same plane lying down (transposed) has the same windows. */
  float *at = g_new (float, n), *bt = g_new (float, n);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        at[(size_t) x * h + y] = a[(size_t) y * w + x];
        bt[(size_t) x * h + y] = b[(size_t) y * w + x];
      }
  g_assert_cmpfloat_with_epsilon (dae_ssim_plane (h, w, at, h, bt, h), whole, 1e-12);
  g_free (a); g_free (b); g_free (at); g_free (bt);
  g_rand_free (rng);
}

/* A stride larger than the width must give what a packed copy gives. */
static void
test_stride (void)
{
  GRand *rng = g_rand_new_with_seed (3);
  const guint w = 23, h = 19, sa = 31, sb = 27;
  float *a = random_plane (rng, (size_t) h * sa, 0, 1);
  float *b = random_plane (rng, (size_t) h * sb, 0, 1);
  float *pa = g_new (float, (size_t) w * h), *pb = g_new (float, (size_t) w * h);
  for (guint y = 0; y < h; y++)
    {
      memcpy (pa + y * w, a + y * sa, w * sizeof (float));
      memcpy (pb + y * w, b + y * sb, w * sizeof (float));
    }
  g_assert_cmpfloat (dae_ssim_plane (w, h, a, sa, b, sb), ==,
                     dae_ssim_mean (1, h, w, pa, pb));
  g_assert_cmpfloat (dae_psnr_plane (w, h, a, sa, b, sb), ==,
                     dae_psnr_mean (1, h, w, pa, pb));
  float *m1 = g_new0 (float, (size_t) h * sb), *m2 = g_new (float, (size_t) w * h);
  dae_median3x3_plane (w, h, a, sa, m1, sb);
  dae_median3x3 (1, h, w, pa, m2);
  for (guint y = 0; y < h; y++)
    g_assert_cmpmem (m1 + y * sb, w * sizeof (float), m2 + y * w, w * sizeof (float));
  g_free (a); g_free (b); g_free (pa); g_free (pb); g_free (m1); g_free (m2);
  g_rand_free (rng);
}

static void
test_bce_known (void)
{
  /* Exactly representable probabilities; p = 0 with t = 1 and p = 1 with
   * t = 0 hit the clamp of the log at -100. */
  const float p[6] = { 0.75f, 0.25f, 0.5f, 0.0f, 1.0f, 0.125f };
  const float t[6] = { 1.0f, 0.0f, 0.5f, 1.0f, 0.0f, 0.25f };
  /* By hand: -ln .75, -ln .75, ln 2, 100, 100,
   * -(.25 ln .125 + .75 ln .875); their mean: */
  g_assert_cmpfloat_with_epsilon (dae_bce_mean (1, 2, 3, p, t),
                                  33.64808670922531, 1e-12);
  g_assert_cmpfloat_with_epsilon (dae_bce_mean (2, 1, 3, p, t),
                                  33.64808670922531, 1e-12);
  /* Perfect saturated predictions cost nothing. */
  const float q[2] = { 0.0f, 1.0f };
  g_assert_cmpfloat (dae_bce_mean (1, 1, 2, q, q), ==, 0.0);
  g_assert_true (isnan (dae_bce_mean (0, 1, 2, q, q)));
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* The obvious median: sort the 9 neighbours, border replicated. */
static float
slow_median (const float *src, guint w, guint h, guint x, guint y)
{
  float v[9];
  guint k = 0;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      {
        int yy = CLAMP ((int) y + dy, 0, (int) h - 1);
        int xx = CLAMP ((int) x + dx, 0, (int) w - 1);
        v[k++] = src[yy * w + xx];
      }
  qsort (v, 9, sizeof (float), cmp_float);
  return v[4];
}

static void
test_median (void)
{
  /* Every binary 3x3 input: by the 0-1 principle this proves the sorting
   * network right for any input. */
  for (guint bits = 0; bits < 512; bits++)
    {
      float in[9], out[9];
      for (guint i = 0; i < 9; i++)
        in[i] = (bits >> i) & 1;
      dae_median3x3_plane (3, 3, in, 3, out, 3);
      g_assert_cmpfloat (out[4], ==, __builtin_popcount (bits) >= 5 ? 1.0f : 0.0f);
    }

  /* Random planes of awkward sizes, borders included. */
  GRand *rng = g_rand_new_with_seed (4);
  const guint sizes[][2] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 2, 2 }, { 13, 9 }, { 64, 3 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      guint w = sizes[s][0], h = sizes[s][1];
      float *src = random_plane (rng, (size_t) w * h, 0, 1);
      float *dst = g_new (float, (size_t) w * h);
      dae_median3x3_plane (w, h, src, w, dst, w);
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          g_assert_cmpfloat (dst[y * w + x], ==, slow_median (src, w, h, x, y));
      g_free (src);
      g_free (dst);
    }

  /* Isolated salt and pepper vanish, at the edges too. */
  const guint w = 20, h = 12;
  float *clean = g_new (float, w * h), *noisy = g_new (float, w * h);
  float *out = g_new (float, w * h);
  for (guint i = 0; i < w * h; i++)
    clean[i] = 0.6f;
  memcpy (noisy, clean, w * h * sizeof (float));
  const guint salt[][2] = { { 5, 0 }, { 0, 6 }, { 19, 3 }, { 9, 11 }, { 7, 5 }, { 12, 9 } };
  for (guint i = 0; i < G_N_ELEMENTS (salt); i++)
    noisy[salt[i][1] * w + salt[i][0]] = i % 2 ? 0.0f : 1.0f;
  dae_median3x3_plane (w, h, noisy, w, out, w);
  g_assert_cmpmem (out, w * h * sizeof (float), clean, w * h * sizeof (float));

  /* A ramp along one axis is kept, borders included.  (Not a 2-D ramp: with
   * the border replicated, its corner sees its own value 4 times but a
   * larger neighbour 5 times.) */
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      clean[y * w + x] = 0.3f + 0.03f * x;
  dae_median3x3_plane (w, h, clean, w, out, w);
  g_assert_cmpmem (out, w * h * sizeof (float), clean, w * h * sizeof (float));

  /* A corner pixel fills 4 of its 9 window places: still outvoted. */
  float flat[5 * 4];
  for (guint i = 0; i < 20; i++)
    flat[i] = 0.4f;
  flat[0] = flat[19] = 1.0f;
  flat[4] = flat[15] = 0.0f;
  dae_median3x3_plane (5, 4, flat, 5, out, 5);
  for (guint i = 0; i < 20; i++)
    g_assert_cmpfloat (out[i], ==, 0.4f);
  g_free (clean);
  g_free (noisy);
  g_free (out);
  g_rand_free (rng);
}

static float *
load_f32 (const char *name, size_t n)
{
  char *path = g_test_build_filename (G_TEST_DIST, "data", "metrics", name, NULL);
  char *data;
  gsize len;
  GError *error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, n * sizeof (float));
  g_free (path);
  return (float *) data; /* little-endian hosts only, as the fixtures */
}

static double *
load_list (GKeyFile *kf, const char *group, const char *key, size_t n)
{
  gsize len;
  GError *error = NULL;
  double *v = g_key_file_get_double_list (kf, group, key, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, n);
  return v;
}

/* The figures the C code must reproduce come from skimage, PyTorch and
 * scipy (tools/metrics-reference). */
static void
test_reference (void)
{
  GKeyFile *kf = g_key_file_new ();
  char *path = g_test_build_filename (G_TEST_DIST, "data", "metrics", "reference.txt", NULL);
  GError *error = NULL;
  g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  g_free (path);

  const char *groups[] = { "batch", "plane" };
  double worst_psnr = 0, worst_ssim = 0, worst_bce = 0;
  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      const char *grp = groups[g];
      guint n = g_key_file_get_integer (kf, grp, "n", NULL);
      guint h = g_key_file_get_integer (kf, grp, "height", NULL);
      guint w = g_key_file_get_integer (kf, grp, "width", NULL);
      g_assert_cmpuint (n * h * w, >, 0);
      size_t plane = (size_t) h * w;
      char *fx = g_strdup_printf ("%s-x.f32", grp);
      char *fr = g_strdup_printf ("%s-ref.f32", grp);
      char *fm = g_strdup_printf ("%s-median.f32", grp);
      float *x = load_f32 (fx, n * plane), *ref = load_f32 (fr, n * plane);
      float *med = load_f32 (fm, n * plane);
      double *psnr = load_list (kf, grp, "psnr", n);
      double *ssim = load_list (kf, grp, "ssim", n);
      double *bce = load_list (kf, grp, "bce", n);
      double mp = 0, ms = 0, mb = 0;
      for (guint i = 0; i < n; i++)
        {
          const float *xi = x + i * plane, *ri = ref + i * plane;
          double p = dae_psnr_plane (w, h, xi, w, ri, w);
          double s = dae_ssim_plane (w, h, xi, w, ri, w);
          double b = dae_bce_mean (1, h, w, xi, ri);
          worst_psnr = MAX (worst_psnr, fabs (p - psnr[i]));
          worst_ssim = MAX (worst_ssim, fabs (s - ssim[i]));
          worst_bce = MAX (worst_bce, fabs (b - bce[i]) / MAX (1.0, bce[i]));
          g_assert_cmpfloat_with_epsilon (p, psnr[i], 1e-9);
          g_assert_cmpfloat_with_epsilon (s, ssim[i], 1e-9);
          g_assert_cmpfloat_with_epsilon (b, bce[i], 1e-9 * MAX (1.0, bce[i]));
          mp += psnr[i] / n;
          ms += ssim[i] / n;
          mb += bce[i] / n;
        }
      g_assert_cmpfloat_with_epsilon (dae_psnr_mean (n, h, w, x, ref), mp, 1e-9);
      g_assert_cmpfloat_with_epsilon (dae_ssim_mean (n, h, w, x, ref), ms, 1e-9);
      g_assert_cmpfloat_with_epsilon (dae_bce_mean (n, h, w, x, ref), mb, 1e-9 * MAX (1.0, mb));

      float *out = g_new (float, n * plane);
      dae_median3x3 (n, h, w, x, out);
      g_assert_cmpmem (out, n * plane * sizeof (float), med, n * plane * sizeof (float));

      g_free (out);
      g_free (psnr); g_free (ssim); g_free (bce);
      g_free (x); g_free (ref); g_free (med);
      g_free (fx); g_free (fr); g_free (fm);
    }
  g_test_message ("largest difference from the references: PSNR %.3g dB, "
                  "SSIM %.3g, BCE %.3g (relative)", worst_psnr, worst_ssim,
                  worst_bce);
  g_key_file_free (kf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/psnr-known", test_psnr_known);
  g_test_add_func ("/metrics/ssim-properties", test_ssim_properties);
  g_test_add_func ("/metrics/ssim-tall", test_ssim_tall);
  g_test_add_func ("/metrics/stride", test_stride);
  g_test_add_func ("/metrics/bce-known", test_bce_known);
  g_test_add_func ("/metrics/median", test_median);
  g_test_add_func ("/metrics/reference", test_reference);
  return g_test_run ();
}
