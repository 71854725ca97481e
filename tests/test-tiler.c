/* test-tiler.c: DaeDenoiser.  The tiled result is checked against a plain
 * whole-image implementation of the same specification (grid, reflect-101
 * borders, sin^2 window normalised by the sum of windows) written here in
 * double precision; a patch-sized image against the runner bit for bit;
 * thread counts and push sizes for byte-identical output; strength,
 * inversion, colour modes and alpha for their algebra; streaming for a
 * bounded lag; the seam test on a shipped model. */
#include "dae-private.h"
#include "threads.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static DaeModel *
load_tutorial (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", "tutorial.dae", NULL);
  GError *error = NULL;
  DaeModel *m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  return m;
}

/* One 3x3 convolution whose kernel is a lone 1 at the centre: the identity,
 * for any tile size. */
static DaeModel *
identity_model (void)
{
  DaeModel *m = dae_model_new (1, 28, 28, NULL);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_NONE, 1, -1, NULL));
  float *w = dae_model_layer_params (m, 0, NULL, NULL);
  w[4] = 1.0f;
  return m;
}

static float *
random_image (guint w, guint h, guint c, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float *img = g_new (float, (size_t) w * h * c);
  for (size_t i = 0; i < (size_t) w * h * c; i++)
    img[i] = (float) g_rand_double (rng);
  g_rand_free (rng);
  return img;
}

static DaeDenoiseOptions
options (guint stride, guint threads, DaeInvert invert)
{
  DaeDenoiseOptions o;
  dae_denoise_options_init (&o);
  o.stride = stride;
  o.threads = threads;
  o.invert = invert;
  return o;
}

static float *
denoise (const DaeModel *m, const DaeDenoiseOptions *o, guint w, guint h, guint c,
         gboolean alpha, const float *in)
{
  float *out = g_new (float, (size_t) w * h * c);
  GError *error = NULL;
  g_assert_true (dae_denoise_image (m, o, w, h, c, alpha, in, out, &error));
  g_assert_no_error (error);
  return out;
}

/* ---- the specification, in double precision over the whole image ---- */

static gint64
mirror (gint64 i, gint64 n)
{
  if (n == 1)
    return 0;
  const gint64 p = 2 * (n - 1);
  i %= p;
  if (i < 0)
    i += p;
  return i < n ? i : p - i;
}

static void
grid (gint64 n, gint64 patch, gint64 stride, gint64 *t0, gint64 *count)
{
  if (n <= patch)
    {
      *count = 1;
      *t0 = -((patch - n) / 2);
      return;
    }
  const gint64 margin = patch - stride, needed = n + 2 * margin;
  *count = (needed - patch + stride - 1) / stride + 1;
  *t0 = -margin - ((*count - 1) * stride + patch - needed) / 2;
}

static void
spec_denoise_gray (const DaeModel *m, guint stride, guint w, guint h, const float *in,
                   float *out)
{
  const guint P = 28;
  g_autoptr (DaeRunner) r = dae_runner_new (m, P, P, NULL);
  g_autofree double *num = g_new0 (double, (size_t) w * h);
  g_autofree double *den = g_new0 (double, (size_t) w * h);
  double win[28];
  for (guint i = 0; i < P; i++)
    win[i] = pow (sin (G_PI * (i + 0.5) / P), 2);
  gint64 tx, ty, nx, ny;
  grid (w, P, stride, &tx, &nx);
  grid (h, P, stride, &ty, &ny);
  float tile[28 * 28], res[28 * 28];
  for (gint64 ky = 0; ky < ny; ky++)
    for (gint64 kx = 0; kx < nx; kx++)
      {
        const gint64 y0 = ty + ky * stride, x0 = tx + kx * stride;
        for (guint i = 0; i < P; i++)
          for (guint j = 0; j < P; j++)
            tile[i * P + j] = in[mirror (y0 + i, h) * w + mirror (x0 + j, w)];
        g_assert_true (dae_runner_forward (r, 1, tile, res, NULL));
        for (guint i = 0; i < P; i++)
          for (guint j = 0; j < P; j++)
            {
              const gint64 y = y0 + i, x = x0 + j;
              if (y < 0 || y >= h || x < 0 || x >= w)
                continue;
              num[y * w + x] += win[i] * win[j] * res[i * P + j];
              den[y * w + x] += win[i] * win[j];
            }
      }
  for (size_t i = 0; i < (size_t) w * h; i++)
    out[i] = (float) (num[i] / den[i]);
}

static double
max_abs_diff (const float *a, const float *b, size_t n)
{
  double d = 0;
  for (size_t i = 0; i < n; i++)
    d = MAX (d, fabs ((double) a[i] - b[i]));
  return d;
}

/* PSNR of a against b on the 0..1 scale, n values. */
static double
psnr_of (const float *a, const float *b, size_t n)
{
  double se = 0;
  for (size_t i = 0; i < n; i++)
    se += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  return -10 * log10 (MAX (se, 1e-12) / (double) n);
}

static void
test_matches_spec (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const struct { guint w, h; } sizes[] = {
    { 1, 1 }, { 1, 40 }, { 40, 1 }, { 27, 29 }, { 28, 28 }, { 29, 27 }, { 2, 2 },
    { 61, 45 }, { 100, 3 }, { 56, 56 },
  };
  const guint strides[] = { 14, 28, 1, 9, 13, 20 };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint k = 0; k < G_N_ELEMENTS (strides); k++)
      {
        const guint w = sizes[s].w, h = sizes[s].h;
        if (strides[k] == 1 && w * h > 2000)
          continue; /* stride 1 runs a tile per pixel */
        g_autofree float *in = random_image (w, h, 1, 7 + s);
        DaeDenoiseOptions o = options (strides[k], 2, DAE_INVERT_OFF);
        g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
        g_autofree float *want = g_new (float, (size_t) w * h);
        spec_denoise_gray (m, strides[k], w, h, in, want);
        const double d = max_abs_diff (out, want, (size_t) w * h);
        if (d > 2e-6)
          g_error ("%ux%u stride %u: differs from the specification by %g", w, h,
                   strides[k], d);
      }
}

/* An image of exactly the patch size is one tile, bit for bit. */
static void
test_patch_is_one_tile (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  g_autofree float *in = random_image (28, 28, 1, 3);
  float want[28 * 28];
  g_autoptr (DaeRunner) r = dae_runner_new (m, 28, 28, NULL);
  g_assert_true (dae_runner_forward (r, 1, in, want, NULL));
  const guint strides[] = { 0, 14, 28, 5 };
  for (guint k = 0; k < G_N_ELEMENTS (strides); k++)
    for (guint threads = 1; threads <= 3; threads++)
      {
        DaeDenoiseOptions o = options (strides[k], threads, DAE_INVERT_OFF);
        g_autofree float *out = denoise (m, &o, 28, 28, 1, FALSE, in);
        g_assert_cmpmem (out, sizeof want, want, sizeof want);
      }
}

/* Stride = patch: every pixel belongs to one tile, again bit for bit. */
static void
test_no_overlap_is_tiles (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  g_autofree float *in = random_image (56, 84, 1, 4);
  DaeDenoiseOptions o = options (28, 2, DAE_INVERT_OFF);
  g_autofree float *out = denoise (m, &o, 56, 84, 1, FALSE, in);
  g_autoptr (DaeRunner) r = dae_runner_new (m, 28, 28, NULL);
  float tile[28 * 28], res[28 * 28];
  for (guint ty = 0; ty < 84; ty += 28)
    for (guint tx = 0; tx < 56; tx += 28)
      {
        for (guint i = 0; i < 28; i++)
          memcpy (tile + i * 28, in + (ty + i) * 56 + tx, 28 * sizeof (float));
        g_assert_true (dae_runner_forward (r, 1, tile, res, NULL));
        for (guint i = 0; i < 28; i++)
          g_assert_cmpmem (out + (ty + i) * 56 + tx, 28 * sizeof (float),
                           res + i * 28, 28 * sizeof (float));
      }
}

/* Output is byte-identical whatever the thread count and push sizes. */
static void
test_threads_invariance (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint w = 203, h = 97;
  const struct { guint c; gboolean alpha; DaeColorMode color; } kinds[] = {
    { 1, FALSE, DAE_COLOR_LUMA }, { 4, TRUE, DAE_COLOR_LUMA }, { 3, FALSE, DAE_COLOR_RGB },
  };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      const guint c = kinds[k].c;
      g_autofree float *in = random_image (w, h, c, 11 + k);
      DaeDenoiseOptions o = options (0, 1, DAE_INVERT_AUTO);
      o.color = kinds[k].color;
      o.strength = 0.8;
      g_autofree float *ref = denoise (m, &o, w, h, c, kinds[k].alpha, in);
      const guint threads[] = { 2, 3, 4, 7 };
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        {
          o.threads = threads[t];
          g_autofree float *out = denoise (m, &o, w, h, c, kinds[k].alpha, in);
          g_assert_cmpmem (out, (size_t) w * h * c * 4, ref, (size_t) w * h * c * 4);
        }
      /* One row at a time, pulling a row at a time. */
      o.threads = 2;
      g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, c, kinds[k].alpha, NULL);
      g_autofree float *out = g_new (float, (size_t) w * h * c);
      guint pulled = 0;
      for (guint y = 0; y < h; y++)
        {
          g_assert_true (dae_denoiser_push_rows (d, in + (size_t) y * w * c, 1, NULL));
          while (dae_denoiser_pull_rows (d, out + (size_t) pulled * w * c, 1) == 1)
            pulled++;
        }
      g_assert_cmpuint (pulled, ==, h);
      g_assert_cmpmem (out, (size_t) w * h * c * 4, ref, (size_t) w * h * c * 4);
    }
}

/* Rows come out a band after they go in: the lag is bounded by the patch,
 * whatever the height, which is what bounds memory. */
static void
test_streaming_lag (void)
{
  g_autoptr (DaeModel) m = identity_model ();
  const guint w = 40, h = 3000;
  g_autofree float *row = random_image (w, 1, 1, 5);
  g_autofree float *out = g_new (float, w * 64);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 1, FALSE, NULL);
  guint pulled = 0, max_lag = 0;
  for (guint y = 1; y <= h; y++)
    {
      g_assert_true (dae_denoiser_push_rows (d, row, 1, NULL));
      guint n;
      while ((n = dae_denoiser_pull_rows (d, out, 64)) > 0)
        pulled += n;
      max_lag = MAX (max_lag, y - pulled);
    }
  g_assert_cmpuint (pulled, ==, h);
  g_test_message ("largest lag: %u rows", max_lag);
  g_assert_cmpuint (max_lag, <=, 28);
  g_assert_cmpuint (max_lag, >=, 14); /* a tile row needs its rows first */
}

/* The identity model through any tiling gives the image back. */
static void
test_identity (void)
{
  g_autoptr (DaeModel) m = identity_model ();
  const guint sizes[][2] = { { 1, 1 }, { 1, 50 }, { 50, 1 }, { 27, 29 }, { 130, 71 } };
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint stride = 1; stride <= 28; stride += 3)
      {
        const guint w = sizes[s][0], h = sizes[s][1];
        g_autofree float *in = random_image (w, h, 1, s);
        DaeDenoiseOptions o = options (stride, 2, DAE_INVERT_OFF);
        g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
        g_assert_cmpfloat (max_abs_diff (in, out, (size_t) w * h), <, 1e-5);
      }
}

/* Strength 0 is the input exactly; alpha is never touched. */
static void
test_strength_and_alpha (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint w = 45, h = 33;
  for (guint c = 1; c <= 4; c++)
    for (guint color = 0; color < 2; color++)
      {
        const gboolean alpha = c == 2 || c == 4;
        g_autofree float *in = random_image (w, h, c, c);
        DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
        o.color = color;
        o.strength = 0.0;
        g_autofree float *same = denoise (m, &o, w, h, c, alpha, in);
        g_assert_cmpmem (same, (size_t) w * h * c * 4, in, (size_t) w * h * c * 4);
        o.strength = 1.0;
        g_autofree float *full = denoise (m, &o, w, h, c, alpha, in);
        o.strength = 0.25;
        g_autofree float *part = denoise (m, &o, w, h, c, alpha, in);
        g_assert_true (memcmp (full, in, (size_t) w * h * c * 4) != 0);
        for (size_t i = 0; i < (size_t) w * h; i++)
          for (guint k = 0; k < c; k++)
            {
              const size_t j = i * c + k;
              if (alpha && k == c - 1)
                {
                  g_assert_cmpfloat (full[j], ==, in[j]);
                  continue;
                }
              g_assert_cmpfloat (full[j], >=, 0.0f);
              g_assert_cmpfloat (full[j], <=, 1.0f);
              /* Linear in the strength (luma recombination is linear too,
               * as long as nothing clamps). */
              const float want = 0.25f * full[j] + 0.75f * in[j];
              if (full[j] > 0.0f && full[j] < 1.0f)
                g_assert_cmpfloat (fabsf (part[j] - want), <, 1e-5f);
            }
      }
}

static float
luma (const float *p)
{
  return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
}

/* Luma mode changes Y only: R, G and B move by the same amount, which is
 * the change of Y that a gray image of that Y gets. */
static void
test_luma (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint w = 50, h = 31;
  g_autofree float *in = random_image (w, h, 3, 21);
  for (size_t i = 0; i < (size_t) w * h * 3; i++)
    in[i] = 0.25f + 0.5f * in[i]; /* room to move without clamping */
  g_autofree float *gray = g_new (float, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    gray[i] = luma (in + 3 * i);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  g_autofree float *out = denoise (m, &o, w, h, 3, FALSE, in);
  g_autofree float *gout = denoise (m, &o, w, h, 1, FALSE, gray);
  guint unclamped = 0;
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      const float *p = out + 3 * i, *q = in + 3 * i;
      if (p[0] <= 0 || p[1] <= 0 || p[2] <= 0 || p[0] >= 1 || p[1] >= 1 || p[2] >= 1)
        continue;
      unclamped++;
      const float dy = gout[i] - gray[i];
      for (guint k = 0; k < 3; k++)
        g_assert_cmpfloat (fabsf ((p[k] - q[k]) - dy), <, 1e-5f);
    }
  g_assert_cmpuint (unclamped, >, w * h / 2);
}

/* rgb mode: each channel exactly as a gray image of it. */
static void
test_rgb_is_per_channel (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint w = 37, h = 41;
  g_autofree float *in = random_image (w, h, 3, 22);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  o.color = DAE_COLOR_RGB;
  g_autofree float *out = denoise (m, &o, w, h, 3, FALSE, in);
  g_autofree float *plane = g_new (float, (size_t) w * h);
  for (guint k = 0; k < 3; k++)
    {
      for (size_t i = 0; i < (size_t) w * h; i++)
        plane[i] = in[3 * i + k];
      g_autofree float *g = denoise (m, &o, w, h, 1, FALSE, plane);
      for (size_t i = 0; i < (size_t) w * h; i++)
        g_assert_cmpfloat (out[3 * i + k], ==, g[i]);
    }
}

/* Inverting around the model: f_on(x) = 1 - f_off(1 - x); auto follows the
 * page's background and the model's "background" metadata. */
static void
test_invert (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint w = 60, h = 50;
  g_autofree float *in = random_image (w, h, 1, 23);
  g_autofree float *neg = g_new (float, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    neg[i] = 1.0f - in[i];
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_ON);
  g_autofree float *on = denoise (m, &o, w, h, 1, FALSE, in);
  o.invert = DAE_INVERT_OFF;
  g_autofree float *off = denoise (m, &o, w, h, 1, FALSE, neg);
  for (size_t i = 0; i < (size_t) w * h; i++)
    g_assert_cmpfloat (fabsf (on[i] - (1.0f - off[i])), <, 1e-5f);

  /* A light page (dark strokes on white) and a dark one. */
  g_autofree float *light = g_new (float, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    light[i] = i % 7 == 0 ? 0.1f : 0.9f;
  const char *bgs[] = { NULL, "dark", "light", "any" };
  const int want_light[] = { 1, 1, 0, 0 }, want_dark[] = { 0, 0, 1, 0 };
  for (guint b = 0; b < G_N_ELEMENTS (bgs); b++)
    {
      dae_model_set_metadata (m, "background", bgs[b]);
      o.invert = DAE_INVERT_AUTO;
      for (guint dark = 0; dark < 2; dark++)
        {
          g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 1, FALSE, NULL);
          const float *img = dark ? neg : light;
          if (dark)
            for (size_t i = 0; i < (size_t) w * h; i++)
              neg[i] = 1.0f - light[i];
          if (bgs[b] == NULL || strcmp (bgs[b], "any") != 0)
            g_assert_cmpint (dae_denoiser_get_inverted (d), ==, -1);
          g_assert_true (dae_denoiser_push_rows (d, img, h, NULL));
          g_assert_cmpint (dae_denoiser_get_inverted (d), ==,
                           dark ? want_dark[b] : want_light[b]);
          g_autofree char *desc = dae_denoiser_describe (d);
          g_assert_nonnull (strstr (desc, "inverted"));
        }
    }
}

/* Opponent planes: with the identity model the image comes back, so the
 * transform and its inverse agree; alpha is copied. */
static void
test_opponent (void)
{
  g_autoptr (DaeModel) m = identity_model ();
  const guint w = 50, h = 40;
  g_autofree float *in = random_image (w, h, 4, 61);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  o.color = DAE_COLOR_OPPONENT;
  o.strength = 1.0;
  g_autofree float *out = denoise (m, &o, w, h, 4, TRUE, in);
  for (size_t i = 0; i < (size_t) w * h * 4; i++)
    g_assert_cmpfloat (fabsf (out[i] - in[i]), <, 2e-6f);
  /* The tutorial network changes the image, the same on every colour plane
   * as rgb mode does on the opponent planes' values. */
  g_autoptr (DaeModel) t = load_tutorial ();
  g_autofree float *tout = denoise (t, &o, w, h, 4, TRUE, in);
  gboolean changed = FALSE;
  for (size_t i = 0; i < (size_t) w * h * 4; i++)
    changed |= i % 4 != 3 && fabsf (tout[i] - in[i]) > 1e-3f;
  g_assert_true (changed);
}

/* The worst change a model makes to flat red and flat blue-grey (colour,
 * opponent planes, strength 1), away from the edge between them. */
static double
flat_colour_change (const DaeModel *m)
{
  const guint wd = 200, h = 45;
  g_autofree float *in = g_new (float, (size_t) wd * h * 3);
  for (size_t i = 0; i < (size_t) wd * h; i++)
    {
      const gboolean red = (i % wd) < wd / 2;
      in[3 * i] = red ? 1.0f : 0.2f;
      in[3 * i + 1] = red ? 0.0f : 0.7f;
      in[3 * i + 2] = red ? 0.0f : 0.9f;
    }
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  o.color = DAE_COLOR_OPPONENT;
  o.strength = 1.0;
  o.ink_guard = FALSE; /* a document's: it would hold back the darkened flat colour */
  g_autofree float *out = denoise (m, &o, wd, h, 3, FALSE, in);
  double worst = 0;
  for (size_t i = 0; i < (size_t) wd * h; i++)
    for (guint c = 0; c < 3 && (i % wd <= wd / 2 - 40 || i % wd >= wd / 2 + 40); c++)
      worst = MAX (worst, fabsf (out[3 * i + c] - in[3 * i + c]));
  return worst;
}

/* A photo model with a sigmoid output (here sigmoid(4x - 2), which keeps
 * 0.5 and squeezes levels near 0 and 1) gets its tiles moved to mid-grey
 * and back: flat colour stays as it is, even a saturated red whose chroma
 * planes sit at the ends of the range.  A document model, or a photo model
 * with a linear output (out = 0.5 x + 0.25, which would gain as much from
 * it), runs on the levels as they are. */
static void
test_centre (void)
{
  g_autoptr (DaeModel) sig = dae_model_new (1, 28, 28, NULL);
  g_assert_true (dae_model_add_layer (sig, DAE_LAYER_CONV3X3, DAE_ACT_SIGMOID, 1, -1, NULL));
  float *w = dae_model_layer_params (sig, 0, NULL, NULL);
  w[4] = 4.0f;
  w[9] = -2.0f; /* the bias */
  g_autoptr (DaeModel) lin = identity_model ();
  w = dae_model_layer_params (lin, 0, NULL, NULL);
  w[4] = 0.5f;
  w[9] = 0.25f;
  for (guint i = 0; i < 2; i++)
    {
      DaeModel *m = i ? lin : sig;
      dae_model_set_metadata (m, "background", "any");
      dae_model_set_metadata (m, "content", "photo");
      const double photo = flat_colour_change (m);
      dae_model_set_metadata (m, "content", "document");
      const double doc = flat_colour_change (m);
      g_test_message ("%s output: photo %.6f, document %.6f", i ? "linear" : "sigmoid", photo, doc);
      if (i)
        g_assert_cmpfloat (photo, >, 0.1);
      else
        g_assert_cmpfloat (photo, <, 1e-5);
      g_assert_cmpfloat (doc, >, 0.1);
    }
}

/* A light page beside a dark one: auto inverts the light half only, tile by
 * tile, and away from the boundary gives what forcing each would. */
static void
test_invert_regions (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  dae_model_set_metadata (m, "background", "dark");
  const guint w = 400, h = 60, half = 200;
  g_autofree float *in = g_new (float, (size_t) w * h);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const float light = (x + 3 * y) % 7 == 0 ? 0.1f : 0.9f;
        in[(size_t) y * w + x] = x < half ? light : 1.0f - light;
      }
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_ON);
  g_autofree float *on = denoise (m, &o, w, h, 1, FALSE, in);
  o.invert = DAE_INVERT_OFF;
  g_autofree float *off = denoise (m, &o, w, h, 1, FALSE, in);
  o.invert = DAE_INVERT_AUTO;
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 1, FALSE, NULL);
  g_assert_true (dae_denoiser_push_rows (d, in, h, NULL));
  g_assert_cmpint (dae_denoiser_get_inverted (d), ==, 2);
  g_autofree float *au = g_new (float, (size_t) w * h);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, au, h), ==, h);
  /* A tile's window reaches 2 patches past it: 3 patches from the edge. */
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const size_t i = (size_t) y * w + x;
        if (x + 3 * 28 < half)
          g_assert_cmpfloat (fabsf (au[i] - on[i]), <, 1e-5f);
        else if (x > half + 3 * 28)
          g_assert_cmpfloat (fabsf (au[i] - off[i]), <, 1e-5f);
      }
}

/* Level c plus Gaussian noise of sigma/255 (Box-Muller), rounded and
 * clipped to 8 bits. */
static float
noisy_8bit (double c, double sigma, GRand *rng)
{
  const double u = g_rand_double (rng), v = g_rand_double (rng);
  const double z = sqrt (-2 * log (1 - u)) * cos (2 * G_PI * v);
  return (float) (CLAMP (round ((c + z * sigma / 255) * 255), 0, 255) / 255);
}

/* A smooth 8-bit image plus Gaussian noise of sigma/255 (sigma 0: none). */
static float *
smooth_image (guint w, guint h, double sigma, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float *img = g_new (float, (size_t) w * h);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      img[(size_t) y * w + x] = noisy_8bit (0.2 + 0.6 * x / w + 0.1 * sin (y * 0.05), sigma, rng);
  g_rand_free (rng);
  return img;
}

/* The number after KEY in a denoiser's description. */
static double
described (const char *desc, const char *key)
{
  const char *at = strstr (desc, key);
  g_assert_nonnull (at);
  return g_ascii_strtod (at + strlen (key), NULL);
}

/* The description of a denoiser of model m with options o that took all
 * h rows of img (w x h, c channels, no alpha). */
static char *
run_and_describe (const DaeModel *m, const DaeDenoiseOptions *o, guint w, guint h, guint c,
                  const float *img)
{
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, o, w, h, c, FALSE, NULL);
  g_assert_nonnull (d);
  g_assert_true (dae_denoiser_push_rows (d, img, h, NULL));
  return dae_denoiser_describe (d);
}

/* Strength auto: a clean or nearly clean image is left as it is, a noisy
 * one gets the weight sigma^2 / (sigma^2 + e^2), with sigma measured. */
static void
test_strength_auto (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  dae_model_set_metadata (m, "background", "any");
  dae_model_set_metadata (m, "clean-error", "0.03");
  const guint w = 160, h = 120;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_assert_cmpfloat (o.strength, ==, DAE_STRENGTH_AUTO);
  g_autofree float *clean = smooth_image (w, h, 0, 5);
  g_autofree float *same = denoise (m, &o, w, h, 1, FALSE, clean);
  for (size_t i = 0; i < (size_t) w * h; i++) /* the same 8-bit values */
    g_assert_cmpfloat (fabsf (same[i] - clean[i]), <, 0.5f / 255);

  /* Noise of 1/255 (below 2/255): left exactly as it is. */
  g_autofree float *quiet = smooth_image (w, h, 1, 8);
  g_autofree float *quiet_out = denoise (m, &o, w, h, 1, FALSE, quiet);
  g_assert_cmpmem (quiet_out, w * h * sizeof (float), quiet, w * h * sizeof (float));

  g_autofree float *noisy = smooth_image (w, h, 20, 6);
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 1, FALSE, NULL);
  g_assert_true (dae_denoiser_push_rows (d, noisy, h, NULL));
  g_autofree char *desc = dae_denoiser_describe (d);
  const double sigma = described (desc, "noise sigma ");
  g_assert_cmpfloat (fabs (sigma - 20), <, 3);
  const double s = pow (sigma / 255, 2) / (pow (sigma / 255, 2) + 0.03 * 0.03);
  g_autofree float *got = g_new (float, (size_t) w * h);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, got, h), ==, h);
  o.strength = 1.0;
  g_autofree float *full = denoise (m, &o, w, h, 1, FALSE, noisy);
  for (size_t i = 0; i < (size_t) w * h; i++)
    g_assert_cmpfloat (fabs (got[i] - CLAMP (s * full[i] + (1 - s) * noisy[i], 0, 1)), <, 2e-3);
}

/* The tutorial network dressed as a photo model with a clean error of
 * 0.03, as the strength tests need it. */
static DaeModel *
photo_model (void)
{
  DaeModel *m = load_tutorial ();
  dae_model_set_metadata (m, "background", "any");
  dae_model_set_metadata (m, "content", "photo");
  dae_model_set_metadata (m, "clean-error", "0.03");
  return m;
}

/* Chroma noise of 5/255 in the (R-B)/2 plane, constant over b x b blocks
 * (a JPEG's 4:2:0 chroma keeps it so, and its quantisation leaves blotches
 * of 4-8 pixels), added to an RGB image. */
static void
add_block_chroma_noise (float *rgb, guint w, guint h, guint b)
{
  GRand *rng = g_rand_new_with_seed (21);
  const size_t bw = (w + b - 1) / b, n = bw * ((h + b - 1) / b);
  g_autofree float *blk = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    blk[i] = noisy_8bit (0.5, 5, rng) - 0.5f;
  g_rand_free (rng);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        float *px = rgb + 3 * ((size_t) y * w + x);
        const float v = blk[(size_t) (y / b) * bw + x / b];
        px[0] = CLAMP (px[0] + v, 0.0f, 1.0f);
        px[2] = CLAMP (px[2] - v, 0.0f, 1.0f);
      }
}

/* The chroma planes' strength follows their own noise: noise shared by R, G
 * and B (none in the chroma) leaves the chroma alone; noise of each channel
 * gets it denoised; and so does chroma noise in 2x2 and 4x4 blocks (kinds 2
 * and 3), which shows nothing in the finest band and is measured in the
 * next two. */
static void
test_strength_chroma (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  dae_model_set_metadata (m, "clean-error-chroma", "0.01");
  const guint w = 160, h = 120;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  for (guint kind = 0; kind < 4; kind++)
    {
      const gboolean shared = kind > 0;
      g_autofree float *rgb = g_new (float, (size_t) w * h * 3);
      float *plane[3];
      for (guint c = 0; c < 3; c++)
        plane[c] = smooth_image (w, h, 15, shared ? 7 : 7 + c);
      for (size_t i = 0; i < (size_t) w * h; i++)
        for (guint c = 0; c < 3; c++)
          rgb[3 * i + c] = CLAMP (plane[c][i] + 0.1f * ((int) c - 1), 0.0f, 1.0f);
      if (kind >= 2)
        add_block_chroma_noise (rgb, w, h, kind == 2 ? 2 : 4);
      g_autofree char *desc = run_and_describe (m, &o, w, h, 3, rgb);
      const char *st = strstr (desc, "strength ");
      g_assert_nonnull (st);
      char *end;
      const double luma = g_ascii_strtod (st + strlen ("strength "), &end);
      const double c1 = g_ascii_strtod (end + 1, &end), c2 = g_ascii_strtod (end + 1, NULL);
      g_test_message ("kind %u: chroma noise %.1f/255, strengths %.2f/%.2f/%.2f", kind,
                      described (desc, "noise of the chroma planes "), luma, c1, c2);
      g_assert_cmpfloat (luma, >, 0.3);
      if (kind == 1)
        g_assert_cmpfloat (MAX (c1, c2), <, 0.1);
      else if (kind >= 2)
        g_assert_cmpfloat (c1, >, 0.5); /* (R-2G+B)/4 has none */
      else
        g_assert_cmpfloat (MIN (c1, c2), >, 0.5);
      for (guint c = 0; c < 3; c++)
        g_free (plane[c]);
    }
}

/* A 3x3 mean as a photo model: it takes most of white noise off a smooth
 * image. */
static DaeModel *
mean_model (void)
{
  DaeModel *m = dae_model_new (1, 32, 32, NULL);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_NONE, 1, -1, NULL));
  float *w = dae_model_layer_params (m, 0, NULL, NULL);
  for (guint i = 0; i < 9; i++)
    w[i] = 1.0f / 9;
  dae_model_set_metadata (m, "background", "any");
  dae_model_set_metadata (m, "content", "photo");
  dae_model_set_metadata (m, "clean-error", "0.01");
  return m;
}

/* A w x h colour image: smooth planes a level apart, each with noise of
 * sigma/255 from its own seed, or (shared) the same noise in all three. */
static float *
noisy_colour (guint w, guint h, double sigma, gboolean shared)
{
  float *rgb = g_new (float, (size_t) w * h * 3);
  for (guint c = 0; c < 3; c++)
    {
      g_autofree float *p = smooth_image (w, h, sigma, shared ? 7 : 7 + c);
      for (size_t i = 0; i < (size_t) w * h; i++)
        rgb[3 * i + c] = CLAMP (p[i] + 0.1f * ((int) c - 1) * !shared, 0.0f, 1.0f);
    }
  return rgb;
}

/* Mean squared distance of two colour images in opponent plane k. */
static double
opponent_mse (const float *a, const float *b, size_t n, guint k)
{
  static const float wt[3][3] = { { 1 / 3.f, 1 / 3.f, 1 / 3.f }, { 0.5f, 0, -0.5f },
                                  { 0.25f, -0.5f, 0.25f } };
  double e = 0;
  for (size_t i = 0; i < n; i++)
    {
      double d = 0;
      for (guint c = 0; c < 3; c++)
        d += wt[k][c] * (a[3 * i + c] - b[3 * i + c]);
      e += d * d;
    }
  return e / n;
}

/* Heavy noise on a colour photo takes its (R-2G+B)/4 plane through the
 * model at half size, very heavy noise both chroma planes: the chroma
 * comes out cleaner (here by 6 dB and more), odd sizes included; the bits
 * are those of any thread count and of rows pushed one at a time; a gray
 * image (R = G = B) stays exactly gray. */
static void
check_half_chroma (const DaeModel *m, guint sigma, const char *planes, const char *half)
{
  const guint w = 161, h = 121;
  const size_t n = (size_t) w * h;
  g_autofree float *clean = noisy_colour (w, h, 0, FALSE);
  g_autofree float *in = noisy_colour (w, h, sigma, FALSE);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree char *desc = run_and_describe (m, &o, w, h, 3, in);
  g_test_message ("sigma %u: %s", sigma, desc);
  g_assert_nonnull (strstr (desc, planes));
  g_assert_nonnull (strstr (desc, half));
  g_autofree float *out = denoise (m, &o, w, h, 3, FALSE, in);
  for (guint k = 1; k < 3; k++)
    {
      const double before = opponent_mse (in, clean, n, k), after = opponent_mse (out, clean, n, k);
      g_test_message ("chroma plane %u: %.2f -> %.2f dB", k, -10 * log10 (before),
                      -10 * log10 (after));
      g_assert_cmpfloat (after, <, before / 4);
    }
  o.threads = 3;
  g_autofree float *out3 = denoise (m, &o, w, h, 3, FALSE, in);
  g_assert_cmpmem (out3, n * 3 * sizeof (float), out, n * 3 * sizeof (float));

  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 3, FALSE, NULL);
  g_autofree float *rows = g_new (float, n * 3);
  guint pulled = 0;
  for (guint y = 0; y < h; y++)
    {
      g_assert_true (dae_denoiser_push_rows (d, in + (size_t) y * w * 3, 1, NULL));
      pulled += dae_denoiser_pull_rows (d, rows + (size_t) pulled * w * 3, 1);
    }
  pulled += dae_denoiser_pull_rows (d, rows + (size_t) pulled * w * 3, h - pulled);
  g_assert_cmpuint (pulled, ==, h);
  g_assert_cmpmem (rows, n * 3 * sizeof (float), out, n * 3 * sizeof (float));

  g_autofree float *gray = noisy_colour (w, h, sigma, TRUE);
  g_autofree float *gout = denoise (m, &o, w, h, 3, FALSE, gray);
  for (size_t i = 0; i < n; i++)
    {
      g_assert_cmpfloat (gout[3 * i], ==, gout[3 * i + 1]);
      g_assert_cmpfloat (gout[3 * i], ==, gout[3 * i + 2]);
    }
}

static void
test_half_chroma (void)
{
  g_autoptr (DaeModel) m = mean_model ();
  check_half_chroma (m, 50, "x 1 plane (the opponent planes' luma)",
                     "chroma planes through the model at half size (81x61");
  check_half_chroma (m, 28, "x 2 planes (opponent planes: Y, (R-B)/2)",
                     "(R-2G+B)/4 through the model at half size (81x61");
}

/* The detail term: sigma^2 / (sigma^2 + e^2 + k max(0, d^2 - c sigma^2)),
 * with sigma and d as measured (-v prints them): c takes heavy noise's
 * share of the detail off, and a large c leaves e alone. */
static void
test_strength_detail (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  dae_model_set_metadata (m, "clean-error-detail", "1.5");
  const guint w = 160, h = 120;
  g_autofree float *img = smooth_image (w, h, 25, 11);
  for (size_t i = 0; i < (size_t) w * h; i++) /* fine detail: a checkerboard */
    img[i] = CLAMP (img[i] + 0.1f * (((i % w) / 2 + (i / w) / 2) % 2 ? 1 : -1), 0.0f, 1.0f);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  double last = 0;
  static const char *const cs[] = { "0", "0.03", "10" };
  for (guint t = 0; t < G_N_ELEMENTS (cs); t++)
    {
      dae_model_set_metadata (m, "clean-error-detail-noise", cs[t]);
      g_autofree char *desc = run_and_describe (m, &o, w, h, 1, img);
      const double sg = described (desc, "noise sigma ") / 255;
      const double dt = described (desc, "fine detail ") / 255;
      const double got = described (desc, "strength ");
      const double c = g_ascii_strtod (cs[t], NULL);
      const double want = sg * sg / (sg * sg + 0.03 * 0.03 + 1.5 * MAX (0, dt * dt - c * sg * sg));
      g_test_message ("c %s: sigma %.4f detail %.4f strength %.2f (%.3f)", cs[t], sg, dt, got, want);
      g_assert_cmpfloat (dt, >, 0.02);
      g_assert_cmpfloat (fabs (got - want), <, 0.011); /* printed to 2 places */
      g_assert_cmpfloat (got, >, last); /* a larger c, a larger strength */
      last = got;
    }
}

/* Noise clipped at white: a bright sky (half the image at 245/255) keeps
 * less than half its noise above white, and its quiet blocks must not pull
 * the measured noise down (they read 25/255 as 16 on such photos). */
static void
test_noise_clipped (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  const guint w = 256, h = 192;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  for (guint t = 0; t < 2; t++)
    {
      const double sigma = t ? 40 : 25;
      g_autofree float *img = smooth_image (w, h, 0, 1);
      GRand *rng = g_rand_new_with_seed (12 + t);
      for (size_t i = 0; i < (size_t) w * h; i++)
        img[i] = noisy_8bit (i % w < w / 2 ? 245.0 / 255 : img[i], sigma, rng);
      g_rand_free (rng);
      g_autofree char *desc = run_and_describe (m, &o, w, h, 1, img);
      const double got = described (desc, "noise sigma ");
      g_test_message ("sigma %.0f: measured %.1f", sigma, got);
      g_assert_cmpfloat (fabs (got - sigma), <, 0.1 * sigma);
    }
}

/* Noise that grows with the signal (a camera's photon noise): sigma =
 * 40 sqrt(level) / 255, a dark and a bright half.  The quietest blocks,
 * all in the dark half, read about the dark half's noise; the measure is
 * the RMS noise over the whole picture. */
static void
test_noise_photon (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  const guint w = 256, h = 192;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree float *img = smooth_image (w, h, 0, 3);
  GRand *rng = g_rand_new_with_seed (14);
  double var = 0, dark = 40 * sqrt (0.2);
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      const double level = (i / w < h / 2 ? 0.2 : 0.75) + 0.1 * (img[i] - 0.5);
      const double sigma = 40 * sqrt (level);
      var += sigma * sigma / ((double) w * h);
      img[i] = noisy_8bit (level, sigma, rng);
    }
  g_rand_free (rng);
  g_autofree char *desc = run_and_describe (m, &o, w, h, 1, img);
  const double got = described (desc, "noise sigma ");
  g_test_message ("RMS noise %.1f, the dark half's %.1f: measured %.1f", sqrt (var), dark, got);
  g_assert_cmpfloat (fabs (got - sqrt (var)), <, 0.1 * sqrt (var));
  g_assert_cmpfloat (got, >, 1.3 * dark);
}

static float *
read_gray (const char *name, guint *w, guint *h)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", name, NULL);
  GError *error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_path (path, &error);
  g_assert_no_error (error);
  DaeImageInfo info;
  g_assert_true (dae_image_reader_next (r, &info, &error));
  g_assert_cmpuint (info.channels, ==, 1);
  const size_t n = (size_t) info.width * info.height;
  g_autofree guint16 *s = g_new (guint16, n);
  g_assert_true (dae_image_reader_read_rows (r, info.height, s, &error));
  float *img = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    img[i] = s[i] / (float) info.maxval;
  *w = info.width;
  *h = info.height;
  return img;
}

/* A clean weave on a gradient, as Elephants is textured: every 16x16 block
 * holds some of it, 10x10 gaps between hold none. */
static float *
weave_image (guint w, guint h)
{
  float *img = g_new (float, (size_t) w * h);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const gboolean gap = x % 24 >= 14 && y % 24 >= 14;
        const double t = 0.1 * cos (2 * G_PI * x / 3 + 0.5) * cos (2 * G_PI * y / 4 + 0.3)
                         + 0.05 * sin (2 * G_PI * (x + 2 * y) / 5);
        img[(size_t) y * w + x] = (float) (round ((0.3 + 0.4 * x / w + (gap ? 0 : t)) * 255) / 255);
      }
  return img;
}

/* The weak-textured patches' noise (noise-patch.c): the weave, which the
 * quiet blocks read as noise, reads about nothing (a little rounding);
 * Gaussian noise of 10/255 on a smooth image reads 10, and as white noise
 * its patches' RMS is not far above it. */
static void
test_noise_patches (void)
{
  const guint w = 256, h = 192;
  g_autofree float *weave = weave_image (w, h);
  DaeImageStats st;
  g_assert_true (dae__analyze_rows (weave, w, h, 1, 1, &st));
  double rms;
  const double p = 255 * dae__patch_noise (weave, w, h, &rms);
  g_test_message ("weave: quiet blocks %.2f, patches %.2f (RMS %.2f)", 255 * st.noise, p,
                  255 * rms);
  g_assert_cmpfloat (255 * st.noise, >, 5);
  g_assert_cmpfloat (p, <, 1);
  g_autofree float *noisy = smooth_image (w, h, 10, 9);
  const double pn = 255 * dae__patch_noise (noisy, w, h, &rms);
  g_test_message ("noise 10/255: patches %.2f (RMS %.2f)", pn, 255 * rms);
  g_assert_cmpfloat (fabs (pn - 10), <, 1);
  g_assert_cmpfloat (255 * rms, <, 1.5 * pn);
  g_assert_cmpfloat (dae__patch_noise (noisy, 6, 6, &rms), <, 0.0); /* too small */
  g_assert_cmpfloat (rms, <, 0.0);
  /* A clean photo whose upper 60% is one flat level (a train400 photo's
   * shadows): the flat patches' sums cancel a hair below zero, which gave
   * a NaN RMS, a NaN strength and a black image. */
  guint cw, ch;
  g_autofree float *flat = read_gray ("tests/data/photo-camera-crop.png", &cw, &ch);
  for (size_t i = 0; i < (size_t) cw * (ch * 6 / 10); i++)
    flat[i] = 40.0f / 255;
  const double pf = dae__patch_noise (flat, cw, ch, &rms);
  g_test_message ("flat upper part: patches %.3f (RMS %.3f)", 255 * pf, 255 * rms);
  g_assert_cmpfloat (pf, >=, 0.0);
  g_assert_true (isfinite (rms) && rms >= 0.0);
}

/* The photo strength: the weave is left exactly as it is (the quiet
 * blocks alone gave it a strength); noise of 25/255 blurred by [1 2 1]/4
 * both ways (demosaicking's correlation) has a small smallest eigenvalue
 * but a large RMS, and keeps the blocks' figure. */
static void
test_noise_texture (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  const guint w = 256, h = 192;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree float *weave = weave_image (w, h);
  g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, weave);
  g_assert_cmpmem (out, w * h * sizeof (float), weave, w * h * sizeof (float));

  g_autofree float *white = smooth_image (w, h, 25, 4);
  g_autofree float *img = g_new (float, (size_t) w * h);
  g_autofree float *base = smooth_image (w, h, 0, 4);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        double v = 0;
        for (gint dy = -1; dy <= 1; dy++)
          for (gint dx = -1; dx <= 1; dx++)
            {
              const guint yy = CLAMP ((gint) y + dy, 0, (gint) h - 1);
              const guint xx = CLAMP ((gint) x + dx, 0, (gint) w - 1);
              const size_t i = (size_t) yy * w + xx;
              v += (2 - abs (dy)) * (2 - abs (dx)) / 16.0 * (white[i] - base[i]);
            }
        img[(size_t) y * w + x] = CLAMP (round ((base[(size_t) y * w + x] + v) * 255), 0, 255) / 255;
      }
  g_autofree char *desc = run_and_describe (m, &o, w, h, 1, img);
  g_test_message ("%s", desc);
  g_assert_cmpfloat (described (desc, "weak-textured patches "), <,
                     0.5 * described (desc, "quiet blocks "));
  g_assert_cmpfloat (described (desc, "noise sigma "), ==, described (desc, "quiet blocks "));
  g_assert_nonnull (strstr (desc, "no Wiener filter: the noise is not white"));
}


/* The automatic choice: a scanned-looking page gets the document model, a
 * photo the photo model; no row comes out before the choice. */
static double gauss (GRand *rng);

/* The sample's clean text at twice its size, its ink only contrast below
 * the paper (0.95), with grain of 0.01. */
static float *
faded_text (float contrast, guint *w, guint *h)
{
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  *w = 2 * sw, *h = 2 * sh;
  float *img = g_new (float, (size_t) *w * *h);
  GRand *rng = g_rand_new_with_seed (61);
  for (guint y = 0; y < *h; y++)
    for (guint x = 0; x < *w; x++)
      {
        const float t = text[(size_t) (y / 2) * sw + x / 2];
        const float v = 0.95f - (1.0f - t) * contrast + (float) (0.01 * gauss (rng));
        img[(size_t) y * *w + x] = CLAMP (v, 0.0f, 1.0f);
      }
  g_rand_free (rng);
  return img;
}

/* The page's stroke width (analyze.c): the sample's text is 2 px, at twice
 * its size 4 px, and heavy noise does not change that (the 3x3 median). */
static void
test_analyze_stroke (void)
{
  guint w, h;
  g_autofree float *img = read_gray ("samples/clean-text.png", &w, &h);
  g_autofree float *big = g_new (float, (size_t) 4 * w * h);
  GRand *rng = g_rand_new_with_seed (67);
  for (guint y = 0; y < 2 * h; y++)
    for (guint x = 0; x < 2 * w; x++)
      big[(size_t) y * 2 * w + x] = img[(size_t) (y / 2) * w + x / 2];
  DaeImageStats st;
  g_assert_true (dae__analyze_rows (img, w, h, 1, 1, &st));
  g_assert_cmpfloat (st.stroke_width, ==, 2);
  g_assert_true (dae__analyze_rows (big, 2 * w, 2 * h, 1, 1, &st));
  g_assert_cmpfloat (st.stroke_width, ==, 4);
  for (size_t i = 0; i < (size_t) 4 * w * h; i++)
    big[i] = CLAMP (big[i] + (float) (0.15 * gauss (rng)), 0.0f, 1.0f);
  g_rand_free (rng);
  g_assert_true (dae__analyze_rows (big, 2 * w, 2 * h, 1, 1, &st));
  g_test_message ("with noise of 0.15: %.0f px", st.stroke_width);
  g_assert_cmpfloat (fabs (st.stroke_width - 4), <=, 1);
}

static void
test_auto_choice (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dae-tiler-XXXXXX", NULL);
  g_autoptr (DaeModel) doc = load_tutorial ();
  g_autoptr (DaeModel) photo = identity_model ();
  dae_model_set_metadata (photo, "background", "any");
  g_autofree char *dp = g_build_filename (dir, "document.dae", NULL);
  g_autofree char *pp = g_build_filename (dir, "photo.dae", NULL);
  g_assert_true (dae_model_save_file (doc, dp, NULL));
  g_assert_true (dae_model_save_file (photo, pp, NULL));
  /* Put back what the environment had: the tests after this one look the
   * shipped models up through it. */
  g_autofree char *saved = g_strdup (g_getenv ("DAE_MODEL_PATH"));
  g_setenv ("DAE_MODEL_PATH", dir, TRUE);
  g_autoptr (DaeModelSet) set = dae_model_set_load (NULL, NULL);
  if (saved)
    g_setenv ("DAE_MODEL_PATH", saved, TRUE);
  else
    g_unsetenv ("DAE_MODEL_PATH");
  g_assert_nonnull (set);
  g_assert_cmpuint (dae_model_set_get_n_models (set), ==, 2);
  const char *files[] = { "samples/noisy-text.png", "tests/data/photo-camera-crop.png" };
  for (guint k = 0; k < 2; k++)
    {
      guint w, h;
      g_autofree float *img = read_gray (files[k], &w, &h);
      g_autoptr (DaeDenoiser) d = dae_denoiser_new_for_set (set, NULL, w, h, 1, FALSE, NULL);
      g_assert_nonnull (d);
      g_assert_null (dae_denoiser_get_model (d));
      g_autofree float *out = g_new (float, (size_t) w * h);
      g_assert_true (dae_denoiser_push_rows (d, img, 16, NULL));
      g_assert_cmpuint (dae_denoiser_pull_rows (d, out, h), ==, 0);
      g_assert_true (dae_denoiser_push_rows (d, img + (size_t) 16 * w, h - 16, NULL));
      g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, k, NULL));
      g_assert_cmpuint (dae_denoiser_pull_rows (d, out, h), ==, h);
    }
  /* Faint ink (the page's ink 6% below its paper) is a page, but the
   * document model breaks such strokes: the photo model; the same text at
   * half the contrast is the document model's. */
  for (guint k = 0; k < 2; k++)
    {
      guint w, h;
      g_autofree float *img = faded_text (k == 0 ? 0.06f : 0.5f, &w, &h);
      g_autoptr (DaeDenoiser) d = dae_denoiser_new_for_set (set, NULL, w, h, 1, FALSE, NULL);
      g_assert_true (dae_denoiser_push_rows (d, img, h, NULL));
      g_autofree char *desc = dae_denoiser_describe (d);
      g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, k == 0, NULL));
      g_assert_true ((strstr (desc, "too faint") != NULL) == (k == 0));
    }
  g_remove (dp);
  g_remove (pp);
  g_rmdir (dir);
}

/* The statistics taken again once the shading is out (analyze.c flatten):
 * the sample page under light falling to 45% across it keeps its ink share
 * and ink-paper gap there, where the paper-level share of the page as it
 * is falls by half. */
static void
test_analyze_flatten (void)
{
  guint w, h;
  g_autofree float *img = read_gray ("samples/noisy-text.png", &w, &h);
  g_autofree float *shaded = g_new (float, (size_t) w * h);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      shaded[(size_t) y * w + x] = img[(size_t) y * w + x] * (1.0f - 0.55f * x / w);
  DaeImageStats even, uneven;
  g_assert_true (dae__analyze_rows (img, w, h, 1, 1, &even));
  g_assert_true (dae__analyze_rows (shaded, w, h, 1, 1, &uneven));
  g_test_message ("paper-level blocks %.2f -> %.2f; flattened: ink %.2f -> %.2f, gap %.2f -> %.2f",
                  even.features[8], uneven.features[8], even.features[11],
                  uneven.features[11], even.features[14], uneven.features[14]);
  g_assert_cmpfloat (even.features[8] - uneven.features[8], >, 0.2);
  g_assert_cmpfloat (fabs (even.features[11] - uneven.features[11]), <, 0.05);
  g_assert_cmpfloat (fabs (even.features[14] - uneven.features[14]), <, 0.06);
  g_assert_cmpfloat (even.features[14], >, 0.3);
}

/* The median look (analyze.c): a stained, unevenly lit page under specks
 * (a crop of bench-ocr's mixed-3) is not clearly a page as it is, and is
 * one after a 3x3 median; a photo under heavy noise stays a photo after
 * one, and the lower of the two counts for it; a clean photo is not looked
 * at twice. */
static void
test_analyze_median (void)
{
  guint w, h, pw, ph;
  g_autofree float *page = read_gray ("tests/data/page-specks-crop.png", &w, &h);
  g_autofree float *photo = read_gray ("tests/data/photo-camera-crop.png", &pw, &ph);
  DaeImageStats st;
  g_assert_true (dae__analyze_rows (page, w, h, 1, 1, &st));
  g_test_message ("page: %.2f plain, %.2f after the median", st.p_plain, st.p_median);
  g_assert_cmpfloat (st.p_plain, <, 0.9);
  g_assert_cmpfloat (st.p_median, >=, 0.9);
  g_assert_cmpfloat (st.p_document, ==, st.p_median);
  g_assert_true (dae__analyze_rows (photo, pw, ph, 1, 1, &st));
  g_assert_cmpfloat (st.p_median, ==, -1.0);
  g_assert_cmpfloat (st.p_document, ==, st.p_plain);
  GRand *rng = g_rand_new_with_seed (15);
  for (size_t i = 0; i < (size_t) pw * ph; i++)
    photo[i] = noisy_8bit (photo[i], 50, rng);
  g_rand_free (rng);
  g_assert_true (dae__analyze_rows (photo, pw, ph, 1, 1, &st));
  g_test_message ("noisy photo: %.2f plain, %.2f after the median", st.p_plain, st.p_median);
  g_assert_cmpfloat (st.p_median, >=, 0.0);
  g_assert_cmpfloat (st.p_median, <, 0.2); /* no page at all: the lower counts */
  g_assert_cmpfloat (st.p_document, ==, MIN (st.p_plain, st.p_median));
}

/* img (w x h) inside a frame of dark bars (top, bottom, left, right lines
 * of level 8/255 under noise of sigma 3/255); *fw x *fh. */
static float *
letterbox (const float *img, guint w, guint h, const guint bars[4], guint *fw, guint *fh)
{
  *fw = bars[2] + w + bars[3];
  *fh = bars[0] + h + bars[1];
  float *out = g_new (float, (size_t) *fw * *fh);
  GRand *rng = g_rand_new_with_seed (19);
  for (guint y = 0; y < *fh; y++)
    for (guint x = 0; x < *fw; x++)
      {
        const gboolean in = y >= bars[0] && y < bars[0] + h && x >= bars[2] && x < bars[2] + w;
        out[(size_t) y * *fw + x] = in ? img[(size_t) (y - bars[0]) * w + x - bars[2]]
                                       : noisy_8bit (8.0 / 255, 3, rng);
      }
  g_rand_free (rng);
  return out;
}

/* Dark bars at the edges are left out of the analysis (analyze.c): a photo
 * and a page in a letterbox give the statistics they give alone, and the
 * box says where they are; bars of three lines are left in. */
static void
test_analyze_bars (void)
{
  const char *names[] = { "tests/data/photo-camera-crop.png", "tests/data/page-specks-crop.png" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      guint w, h, fw, fh;
      g_autofree float *img = read_gray (names[i], &w, &h);
      DaeImageStats alone, framed;
      g_assert_true (dae__analyze_rows (img, w, h, 1, 1, &alone));
      g_assert_cmpuint (alone.box[0], ==, 0);
      g_assert_cmpuint (alone.box[1], ==, 0);
      g_assert_cmpuint (alone.box[2], ==, w);
      g_assert_cmpuint (alone.box[3], ==, h);
      const guint bars[4] = { 40, 60, 10, 30 };
      g_autofree float *boxed = letterbox (img, w, h, bars, &fw, &fh);
      g_assert_true (dae__analyze_rows (boxed, fw, fh, 1, 1, &framed));
      g_test_message ("%s: page probability %.2f alone, %.2f framed", names[i],
                      alone.p_document, framed.p_document);
      g_assert_cmpuint (framed.box[0], ==, bars[2]);
      g_assert_cmpuint (framed.box[1], ==, bars[0]);
      g_assert_cmpuint (framed.box[2], ==, w);
      g_assert_cmpuint (framed.box[3], ==, h);
      g_assert_cmpmem (framed.features, sizeof framed.features, alone.features,
                       sizeof alone.features);
      g_assert_cmpfloat (framed.p_document, ==, alone.p_document);
      g_assert_cmpfloat (framed.sigma, ==, alone.sigma);
      const guint thin[4] = { 3, 3, 3, 3 };
      g_autofree float *edged = letterbox (img, w, h, thin, &fw, &fh);
      g_assert_true (dae__analyze_rows (edged, fw, fh, 1, 1, &framed));
      g_assert_cmpuint (framed.box[2], ==, fw);
      g_assert_cmpuint (framed.box[3], ==, fh);
    }
}

static void
test_errors (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  GError *error = NULL;
  DaeDenoiseOptions o = options (29, 1, DAE_INVERT_OFF);
  g_assert_null (dae_denoiser_new (m, &o, 10, 10, 1, FALSE, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  o = options (0, 1, DAE_INVERT_OFF);
  const double bad[] = { -0.1, 1.5, NAN };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      o.strength = bad[i];
      g_assert_null (dae_denoiser_new (m, &o, 10, 10, 1, FALSE, &error));
      g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
      g_clear_error (&error);
    }
  const guint bad_passes[] = { 3, 5, 16 };
  for (guint i = 0; i < G_N_ELEMENTS (bad_passes); i++)
    {
      o.ensemble = bad_passes[i];
      g_assert_null (dae_denoiser_new (m, &o, 10, 10, 1, FALSE, &error));
      g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
      g_clear_error (&error);
    }
  o.ensemble = 0;
  o.strength = 1;
  const struct { guint w, h, c; gboolean a; } shapes[] = {
    { 0, 5, 1, FALSE }, { 5, 0, 1, FALSE }, { 5, 5, 0, FALSE }, { 5, 5, 5, FALSE },
    { 5, 5, 1, TRUE }, { 5, 5, 3, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      g_assert_null (dae_denoiser_new (m, &o, shapes[i].w, shapes[i].h, shapes[i].c,
                                       shapes[i].a, &error));
      g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
      g_clear_error (&error);
    }
  /* Too wide to buffer: refused before allocating. */
  g_assert_null (dae_denoiser_new (m, &o, G_MAXUINT, 2, 4, TRUE, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_LIMIT);
  g_clear_error (&error);

  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, 5, 3, 1, FALSE, &error);
  g_assert_no_error (error);
  float rows[5 * 4] = { 0 };
  g_assert_false (dae_denoiser_push_rows (d, rows, 4, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (dae_denoiser_push_rows (d, rows, 3, &error));
  g_assert_false (dae_denoiser_push_rows (d, rows, 1, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, rows, 4), ==, 3);

  /* Models of several channels are not for images. */
  g_autoptr (DaeModel) m3 = dae_model_new (3, 28, 28, NULL);
  g_assert_true (dae_model_add_layer (m3, DAE_LAYER_CONV3X3, DAE_ACT_NONE, 3, -1, NULL));
  g_assert_null (dae_denoiser_new (m3, NULL, 10, 10, 3, FALSE, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

/* A standard normal draw (Box-Muller). */
static double
gauss (GRand *rng)
{
  const double u = g_rand_double_range (rng, 1e-12, 1.0), v = g_rand_double (rng);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

/* The shipped model NAME (NULL: the default) and, unless NULL, its path;
 * NULL, the test skipped, when weights/ has none. */
static DaeModel *
shipped_model (const char *name, char **path_out)
{
  GError *error = NULL;
  g_autofree char *path = dae_model_find (name, &error);
  if (path == NULL)
    {
      g_test_skip_printf ("no %s model in weights/: %s", name ? name : "trained", error->message);
      g_clear_error (&error);
      return NULL;
    }
  DaeModel *m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  if (path_out)
    *path_out = g_steal_pointer (&path);
  return m;
}

/* Seams: on a large constant image with noise, the error of pixels on tile
 * edges is no higher than elsewhere.  Needs a trained model, run as
 * dae-filter runs it: a white page, inverted when the model wants a dark
 * background (--invert auto).  Tiles put side by side (stride = the patch, printed
 * for comparison) show their edges; the blending must hide them. */
static void
test_seams (void)
{
  g_autofree char *path = NULL;
  g_autoptr (DaeModel) m = shipped_model (NULL, &path);
  if (m == NULL)
    return;
  guint P, ph;
  dae_model_get_patch_size (m, &ph, &P);
  const guint w = MAX (588, 9 * P), h = w;
  const float level = 1.0f;
  GRand *rng = g_rand_new_with_seed (99);
  g_autofree float *in = g_new (float, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      const double v = level + 0.3 * gauss (rng); /* once: CLAMP reads it twice */
      in[i] = CLAMP (v, 0.0, 1.0);
    }
  g_rand_free (rng);
  const guint strides[] = { P / 2, P };
  double ratio[2];
  for (guint s = 0; s < 2; s++)
    {
      DaeDenoiseOptions o = options (strides[s], 0, DAE_INVERT_AUTO);
      g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
      gint64 t0, n;
      grid (w, P, strides[s], &t0, &n);
      /* Edge pixels: the first and last row/column of some tile. */
      g_autofree gboolean *edge = g_new0 (gboolean, w);
      for (gint64 k = 0; k < n; k++)
        {
          const gint64 a = t0 + k * strides[s], b = a + P - 1;
          if (a >= 0 && a < w)
            edge[a] = TRUE;
          if (b >= 0 && b < w)
            edge[b] = TRUE;
        }
      double sum[2] = { 0 }, cnt[2] = { 0 };
      for (guint y = P; y < h - P; y++) /* away from the image border */
        for (guint x = P; x < w - P; x++)
          {
            const int e = edge[x] || edge[y];
            sum[e] += fabs (out[(size_t) y * w + x] - level);
            cnt[e]++;
          }
      ratio[s] = (sum[1] / cnt[1]) / (sum[0] / cnt[0]);
      g_test_message ("%s: stride %u: mean |error| on tile edges %.5f, inside %.5f, ratio %.3f",
                      path, strides[s], sum[1] / cnt[1], sum[0] / cnt[0], ratio[s]);
    }
  /* With stride P/2 a tile's edge is its neighbour's centre, so the ratio
   * also carries the model's own error profile across a patch (a few
   * percent, from the pooling grid); seams, as stride P shows, add 20-40%. */
  g_assert_cmpfloat (ratio[0], <=, 1.05);
  g_assert_cmpfloat (ratio[0], <, ratio[1]);
}

/* The shipped document model on grey paper (newsprint, recycled paper, an
 * underexposed scan): the sample page's text set on paper of 0.70 and 0.55
 * with sigma 4/255 of noise, and a margin of 256 blank columns, more than a
 * tile.  No paper may turn to ink and the ink must stay (antialiased edges
 * count as ink: a clean white page keeps 94% of it): document.dae G5,
 * whose training pages faded light-on-dark grounds to such greys, turned
 * 27% of this paper black, blotches all over the margin. */
static void
test_document_grey_paper (void)
{
  g_autoptr (DaeModel) m = shipped_model ("document", NULL);
  if (m == NULL)
    return;
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  const guint w = sw + 256, h = sh;
  const float papers[] = { 0.70f, 0.55f };
  for (guint k = 0; k < G_N_ELEMENTS (papers); k++)
    {
      g_autofree float *clean = g_new (float, (size_t) w * h);
      g_autofree float *in = g_new (float, (size_t) w * h);
      GRand *rng = g_rand_new_with_seed (41 + k);
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            const size_t i = (size_t) y * w + x;
            clean[i] = x < sw ? text[(size_t) y * sw + x] : 1.0f;
            const double v = 0.05 + (papers[k] - 0.05) * clean[i] + 4.0 / 255 * gauss (rng);
            in[i] = CLAMP (v, 0.0, 1.0);
          }
      g_rand_free (rng);
      DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
      g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
      double paper = 0, paper_dark = 0, ink = 0, ink_kept = 0;
      for (size_t i = 0; i < (size_t) w * h; i++)
        if (clean[i] > 0.9f)
          paper++, paper_dark += out[i] < 0.5f;
        else if (clean[i] < 0.3f)
          ink++, ink_kept += out[i] < 0.5f;
      g_test_message ("paper %.2f: %.4f of the paper turned to ink, %.4f of the ink kept",
                      papers[k], paper_dark / paper, ink_kept / ink);
      g_assert_cmpfloat (paper_dark / paper, <, 0.002);
      g_assert_cmpfloat (ink_kept / ink, >, 0.8);
    }
}

/* The shipped document and photo models (weights/), or NULL with the test
 * skipped. */
static DaeModelSet *
shipped_pair (void)
{
  GError *error = NULL;
  DaeModelSet *set = dae_model_set_load (NULL, &error);
  if (set == NULL || dae_model_set_get_n_models (set) < 2)
    {
      g_test_skip_printf ("no document and photo models in weights/: %s",
                          error ? error->message : "one model");
      g_clear_error (&error);
      g_clear_pointer (&set, dae_model_set_free);
    }
  return set;
}

/* The default choice of the shipped pair on one image (ch channels, no
 * alpha): all rows in, all out; the denoiser, to ask what it chose. */
static DaeDenoiser *
denoise_by_pair (DaeModelSet *set, guint w, guint h, guint ch, const float *in, float *out)
{
  GError *error = NULL;
  DaeDenoiser *d = dae_denoiser_new_for_set (set, NULL, w, h, ch, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (dae_denoiser_push_rows (d, in, h, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, out, h), ==, h);
  return d;
}

/* The shipped pair's default on a page of ch channels: the document model
 * chosen, the page out exactly as it went in when `alone`, else changed,
 * and -v saying `phrase` just when alone; returns -v's description. */
static char *
check_left_alone (DaeModelSet *set, const float *page, float *out, guint w, guint h, guint ch,
                  gboolean alone, const char *phrase, const char *label)
{
  g_autoptr (DaeDenoiser) d = denoise_by_pair (set, w, h, ch, page, out);
  char *desc = dae_denoiser_describe (d);
  g_test_message ("%s: %s", label, desc);
  g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, 0, NULL));
  g_assert_true ((memcmp (page, out, sizeof (float) * w * h * ch) == 0) == alone);
  g_assert_true ((strstr (desc, phrase) != NULL) == alone);
  return desc;
}

/* The default on a clean page: the sample's text on a white sheet, as a
 * rendered manual comes, gets the document model at strength 0 and comes
 * out as it went in without a tile run, and -v says why; with noise of
 * 4/255 on it, the model runs.  (The document model changed a word here and there on Debian's
 * rendered manuals, and tesseract read three of them worse.) */
static void
test_clean_page (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  const guint w = 2 * sw, h = 4 * sh;
  g_autofree float *page = g_new (float, (size_t) w * h);
  g_autofree float *out = g_new (float, (size_t) w * h);
  GRand *rng = g_rand_new_with_seed (43);
  for (guint noisy = 0; noisy < 2; noisy++)
    {
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            const guint tx = x - sw / 2, ty = y - 3 * sh / 2;
            float v = tx < sw && ty < sh ? text[(size_t) ty * sw + tx] : 1.0f;
            if (noisy)
              v += (float) (4.0 / 255 * gauss (rng));
            page[(size_t) y * w + x] = CLAMP (v, 0.0f, 1.0f);
          }
      g_autofree char *desc = check_left_alone (set, page, out, w, h, 1, !noisy, "a clean page",
                                                noisy ? "noisy" : "clean");
      g_assert_true ((strstr (desc, "no tile run") != NULL) == !noisy);
    }
  g_rand_free (rng);
}

/* The sample's text drawn in dark blue on white under a slate title bar,
 * as a screenshot or a colour render comes: no plane shows noise where it
 * is quiet, and the default leaves it as it is (-v says why).  The same in
 * grey, or with noise of 2/255 in each channel, is not taken for one. */
static void
test_colour_render (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  const guint w = sw + 64, h = sh + 96;
  g_autofree float *page = g_new (float, (size_t) w * h * 3);
  g_autofree float *out = g_new (float, (size_t) w * h * 3);
  static const float bar[3] = { 0.2f, 0.25f, 0.3f }, ink[3] = { 0.05f, 0.1f, 0.45f };
  GRand *rng = g_rand_new_with_seed (47);
  for (guint k = 0; k < 3; k++) /* colour, grey, colour with noise */
    {
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          for (guint c = 0; c < 3; c++)
            {
              const guint tx = x - 32, ty = y - 64;
              const float t = tx < sw && ty < sh ? text[(size_t) ty * sw + tx] : 1.0f;
              const float i = k == 1 ? 0.1f : ink[c];
              float v = y < 40 ? (k == 1 ? 0.25f : bar[c]) : i + t * (1.0f - i);
              if (k == 2)
                v += (float) (2.0 / 255 * gauss (rng));
              page[((size_t) y * w + x) * 3 + c] = CLAMP (v, 0.0f, 1.0f);
            }
      g_free (check_left_alone (set, page, out, w, h, 3, k == 0, "a colour render",
                                k == 0 ? "colour" : k == 1 ? "grey" : "noisy"));
    }
  g_rand_free (rng);
}

/* The sample's text at half size (2x2 means), three by three copies under
 * a grey bar: small type drawn for a screen, no grain; the default leaves
 * it as it is (-v says why).  With noise of 2/255 on it the model runs. */
static void
test_small_render (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  const guint hw = sw / 2, hh = sh / 2, w = 3 * hw + 16, h = 3 * hh + 40;
  g_autofree float *page = g_new (float, (size_t) w * h);
  g_autofree float *out = g_new (float, (size_t) w * h);
  GRand *rng = g_rand_new_with_seed (53);
  for (guint noisy = 0; noisy < 2; noisy++)
    {
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            const guint tx = (x - 8) % hw, ty = (y - 32) % hh; /* three by three copies */
            const gboolean in = x >= 8 && x < 8 + 3 * hw && y >= 32 && y < 32 + 3 * hh;
            const float *t = text + (size_t) 2 * ty * sw + 2 * tx;
            float v = y < 24 ? 0.25f : in ? 0.25f * (t[0] + t[1] + t[sw] + t[sw + 1]) : 1.0f;
            if (noisy)
              v += (float) (2.0 / 255 * gauss (rng));
            page[(size_t) y * w + x] = CLAMP (v, 0.0f, 1.0f);
          }
      g_free (check_left_alone (set, page, out, w, h, 1, !noisy, "a render of small type",
                                noisy ? "noisy" : "clean"));
    }
  g_rand_free (rng);
}

/* Pseudo-text drawn as a PDF viewer draws text: lines of o-, l- and
 * d-like glyphs with strokes 3.2 px wide, each pixel the coverage of a 4x4
 * grid of samples (antialiased edges), black on white, dense. */
static float
pseudo_text (guint x, guint y, guint w, guint h)
{
  guint inside = 0;
  for (guint k = 0; k < 16; k++)
    {
      const double sx = x + (k % 4 + 0.5) / 4, sy = y + (k / 4 + 0.5) / 4;
      const double line = floor (sy / 36), cell = floor (sx / 16);
      const double cx = sx - 16 * cell - 8, cy = sy - 36 * line - 18;
      const int kind = (int) fmod (cell + line, 3.0);
      const gboolean ring = fabs (sqrt (cx * cx + cy * cy) - 6) < 1.6;
      const double stem_x = kind == 2 ? 6 : 0, stem_y = kind == 2 ? 0 : -4;
      const gboolean stem = fabs (cx - stem_x) < 1.6 && fabs (cy - stem_y) < (kind == 2 ? 7.5 : 10);
      const gboolean space = fmod (cell * 7 + line * 3, 6.0) == 5;
      const gboolean margin = sx < 24 || sx > w - 24 || sy < 12 || sy > h - 12;
      inside += !space && !margin && (kind == 0 ? ring : kind == 1 ? stem : ring || stem);
    }
  return 1.0f - inside / 16.0f;
}

/* A clean render in two levels that no other rule takes for clean (dense
 * pseudo-text: see pseudo_text) comes out as it went in, and -v says why.
 * With a smooth stain on it (damage without grain) or 2/255 of noise, the
 * model runs. */
static void
test_two_level_render (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  const guint w = 480, h = 320;
  g_autofree float *page = g_new (float, (size_t) w * h);
  g_autofree float *out = g_new (float, (size_t) w * h);
  GRand *rng = g_rand_new_with_seed (59);
  const char *labels[] = { "clean", "stained", "noisy" };
  for (guint k = 0; k < G_N_ELEMENTS (labels); k++)
    {
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          {
            const double sx = x - 0.3 * w, sy = y - 0.5 * h;
            float v = pseudo_text (x, y, w, h);
            if (k == 1)
              v *= (float) (1.0 - 0.15 * exp (-(sx * sx + sy * sy) / (2.0 * 60 * 60)));
            if (k == 2)
              v += (float) (2.0 / 255 * gauss (rng));
            page[(size_t) y * w + x] = CLAMP (v, 0.0f, 1.0f);
          }
      g_free (check_left_alone (set, page, out, w, h, 1, k == 0, "a clean render in two levels",
                                labels[k]));
    }
  g_rand_free (rng);
}

/* A smooth colour gradient darkening downwards (a sunset wallpaper): its
 * dark half passes for ink of which hardly any is strokes, and the page
 * classifier says 0.9-0.93.  The document model would whiten and flatten
 * it; in doubt (dae__page_in_doubt) it gets the photo model, which leaves
 * it nearly as it is (-v says why).  The same statistics with a surer page
 * probability or grey, or ink that is strokes, are not in doubt. */
static void
test_page_in_doubt (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  const guint w = 480, h = 320;
  static const double freq[3][3] = { { 3, 0.5, 0.3 }, { 2, 1, 1.1 }, { 1, 1.5, 2.0 } };
  g_autofree float *img = g_new (float, (size_t) w * h * 3);
  g_autofree float *out = g_new (float, (size_t) w * h * 3);
  GRand *rng = g_rand_new_with_seed (47);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      for (guint c = 0; c < 3; c++)
        {
          const double fx = (double) x / w, fy = (double) y / h;
          const double v = 0.5 + 0.4 * sin (2 * G_PI * (freq[c][0] * fx + freq[c][1] * fy)
                                            + freq[c][2]);
          const double shade = CLAMP (1.3 - 1.6 * fy, 0.0, 1.0);
          img[((size_t) y * w + x) * 3 + c]
            = (float) CLAMP (0.7 * v * shade + gauss (rng) / 255, 0.0, 1.0);
        }
  g_rand_free (rng);
  g_autoptr (DaeDenoiser) d = denoise_by_pair (set, w, h, 3, img, out);
  g_autofree char *desc = dae_denoiser_describe (d);
  g_test_message ("%s", desc);
  g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, 1, NULL));
  g_assert_nonnull (strstr (desc, "perhaps a page, in colour with its ink mostly not strokes"));
  const double psnr = psnr_of (out, img, (size_t) w * h * 3);
  g_test_message ("output against input: %.2f dB", psnr);
  g_assert_cmpfloat (psnr, >, 40.0);

  DaeImageStats st = { 0 };
  st.features[2] = 0.1;  /* thin strokes' share of the ink */
  st.features[9] = 0.2;  /* saturation */
  st.p_document = 0.95;
  g_assert_true (dae__page_in_doubt (&st));
  st.p_document = DAE__PAGE_SURE;
  g_assert_false (dae__page_in_doubt (&st));
  st.p_document = 0.95;
  st.features[9] = 0.0;
  g_assert_false (dae__page_in_doubt (&st));
  st.features[9] = 0.2;
  st.features[2] = 0.8;
  g_assert_false (dae__page_in_doubt (&st));
}

/* Light text on a teal ground, as a slide's panel or a tinted wallpaper
 * with light line art (MATE's Flow) has: the classifier takes it for a
 * page, but its ground (0.33) is neither light paper nor a dark page's,
 * and the document model, trained on neither, made blotches of Flow's
 * empty teal (26.6 dB on the clean picture).  The photo model gets it and
 * leaves it as it is (-v says why).  The rule's levels: light paper and
 * dark grounds, and noise lifting a dark ground, stay pages. */
static void
test_ground_unseen (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  guint w, h;
  g_autofree float *text = read_gray ("samples/clean-text.png", &w, &h);
  static const float teal[3] = { 0.25f, 0.36f, 0.41f };
  g_autofree float *img = g_new (float, (size_t) w * h * 3);
  g_autofree float *out = g_new (float, (size_t) w * h * 3);
  for (size_t i = 0; i < (size_t) w * h; i++)
    for (guint c = 0; c < 3; c++)
      img[i * 3 + c] = teal[c] + (1.0f - teal[c]) * (1.0f - text[i]);
  g_autoptr (DaeDenoiser) d = denoise_by_pair (set, w, h, 3, img, out);
  g_autofree char *desc = dae_denoiser_describe (d);
  g_test_message ("%s", desc);
  g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, 1, NULL));
  g_assert_nonnull (strstr (desc, "a ground neither light paper nor a dark page's"));
  const double psnr = psnr_of (out, img, (size_t) w * h * 3);
  g_test_message ("output against input: %.2f dB", psnr);
  g_assert_cmpfloat (psnr, >, 40.0);

  DaeImageStats st = { 0 };
  const double grounds[] = { 0.05, 0.3, 0.4, 0.6, 0.95 };
  for (guint i = 0; i < G_N_ELEMENTS (grounds); i++)
    {
      st.background = grounds[i];
      g_assert_true (dae__ground_unseen (&st) == (i == 1 || i == 2));
    }
  st.background = DAE__DARK_GROUND_MAX + 0.03; /* a dark page under noise of 0.05 */
  g_assert_true (dae__ground_unseen (&st));
  st.sigma = 0.05;
  g_assert_false (dae__ground_unseen (&st));
}

/* A 1-bit page of thin type: the sample's text thresholded (strokes 1-2
 * pixels).  The output is thresholded too, so the default must keep every
 * ink pixel: the guard holds what the model would thin (on the page
 * unsoftened), and -v says why. */
static void
test_thin_bilevel (void)
{
  g_autoptr (DaeModelSet) set = shipped_pair ();
  if (set == NULL)
    return;
  guint w, h;
  g_autofree float *text = read_gray ("samples/clean-text.png", &w, &h);
  const size_t n = (size_t) w * h;
  g_autofree float *img = g_new (float, n);
  g_autofree float *out = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    img[i] = text[i] >= 0.5f ? 1.0f : 0.0f;
  g_autoptr (DaeDenoiser) d = denoise_by_pair (set, w, h, 1, img, out);
  g_autofree char *desc = dae_denoiser_describe (d);
  g_test_message ("%s", desc);
  g_assert_true (dae_denoiser_get_model (d) == dae_model_set_get_model (set, 0, NULL));
  g_assert_nonnull (strstr (desc, "from lightening ink (a 1-bit page"));
  g_assert_nonnull (strstr (desc, "1-bit image of thin type: not softened"));
  guint64 ink = 0, lost = 0;
  for (size_t i = 0; i < n; i++)
    if (img[i] == 0.0f)
      ink++, lost += out[i] >= 0.5f;
  g_test_message ("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " ink pixels lost", lost, ink);
  g_assert_cmpuint (ink, >, 10000);
  g_assert_cmpuint (lost, ==, 0);
}

/* The guard's keep_ink on a light and a dark page, inverted tiles the
 * mirror image: ink never comes out lighter, paper and darkening are left
 * to the model; pages of wider strokes or not 1-bit do without it; and
 * the analysis tells a 1-bit page (alpha aside) from a grey one. */
static void
test_keep_ink (void)
{
  DaeImageStats a;
  float rows[32 * 32 * 2];
  for (guint i = 0; i < 32 * 32; i++)
    rows[2 * i] = (i / 32) % 4 == 1 && i % 3 == 0 ? 0.0f : 1.0f, rows[2 * i + 1] = 0.5f;
  g_assert_true (dae__analyze_rows (rows, 32, 32, 2, 1, &a));
  g_assert_true (a.bilevel);
  rows[2 * 100] = 0.5f;
  g_assert_true (dae__analyze_rows (rows, 32, 32, 2, 1, &a));
  g_assert_false (a.bilevel);
  for (guint light = 0; light <= 1; light++)
    for (guint inverted = 0; inverted <= 1; inverted++)
      {
        DaeImageStats st = { 0 };
        st.light = light;
        st.background = light ? 1.0 : 0.0;
        st.ink_core = light ? 0.0 : 1.0;
        st.bilevel = TRUE;
        st.stroke_width = 2;
        DaeInkGuard g;
        dae__ink_guard_init (&g, &st);
        g_assert_true (g.keep_ink);
        const float ink = (light != inverted) ? 0.0f : 1.0f, paper = 1.0f - ink;
        const float in[4] = { ink, ink, paper, paper };
        float out[4] = { 0.5f * (ink + paper), ink, paper, 0.5f * (ink + paper) };
        g_assert_cmpuint (dae__ink_guard_keep (&g, in, out, 4, inverted), ==, 1);
        g_assert_cmpfloat (out[0], ==, ink);
        g_assert_cmpfloat (out[1], ==, ink);
        g_assert_cmpfloat (out[2], ==, paper);
        g_assert_cmpfloat (out[3], ==, 0.5f * (ink + paper));
        st.stroke_width = DAE__THIN_STROKE;
        dae__ink_guard_init (&g, &st);
        g_assert_false (g.keep_ink);
        st.stroke_width = 2;
        st.bilevel = FALSE;
        dae__ink_guard_init (&g, &st);
        g_assert_false (g.keep_ink);
      }
}

/* The ink guard's algebra on one tile of a light page (paper 0.95, ink
 * 0.05) whose "model" darkened everything it could: a light mark stays at
 * its own level, ink and lightening are free, faded ink (more than half
 * the contrast) is darkened part of the way; a dark page and an inverted
 * tile are the mirror image of it. */
static void
guard_case (gboolean light, gboolean inverted, float *in, float *out)
{
  const guint n = 32;
  for (guint i = 0; i < n * n; i++)
    {
      const guint y = i / n, x = i % n;
      const gboolean sq = y >= 4 && y < 8, mark = sq && x >= 4 && x < 8,
                     ink = sq && x >= 20 && x < 24, faded = y >= 20 && y < 24 && x >= 4 && x < 8;
      in[i] = mark ? 0.77f : ink ? 0.05f : faded ? 0.45f : 0.95f;
      out[i] = mark || ink || faded ? 0.0f : i == 28 * n + 28 ? 1.0f : i == 14 * n + 26 ? 0.9f
               : 0.95f;
    }
  DaeImageStats st = { 0 };
  st.light = light;
  st.background = light ? 0.95 : 0.05;
  st.ink_core = light ? 0.05 : 0.95;
  DaeInkGuard g;
  dae__ink_guard_init (&g, &st);
  g_assert_true (g.active);
  g_assert_cmpfloat_with_epsilon (g.contrast, 0.9, 1e-6);
  const gboolean flip = (!light) != inverted;
  for (guint i = 0; flip && i < n * n; i++)
    in[i] = 1.0f - in[i], out[i] = 1.0f - out[i];
  float scratch[3 * 32 * 32];
  const guint64 held = dae__ink_guard_tile (&g, in, out, n, n, inverted, scratch);
  for (guint i = 0; flip && i < n * n; i++)
    in[i] = 1.0f - in[i], out[i] = 1.0f - out[i];
  g_assert_cmpuint (held, ==, 16 + 16 + 1);
}

static void
test_ink_guard (void)
{
  const guint n = 32;
  float in[32 * 32], out[32 * 32], other[32 * 32];
  guard_case (TRUE, FALSE, in, out);
  g_assert_cmpfloat_with_epsilon (out[5 * n + 5], 0.77, 1e-5);   /* the mark: held */
  g_assert_cmpfloat (out[5 * n + 21], ==, 0.0f);                 /* ink: free */
  g_assert_cmpfloat (out[21 * n + 5], >, 0.2f);                  /* faded: part way */
  g_assert_cmpfloat (out[21 * n + 5], <, 0.45f);
  g_assert_cmpfloat (out[28 * n + 28], ==, 1.0f);                /* lighter: free */
  g_assert_cmpfloat_with_epsilon (out[14 * n + 26], 0.95, 1e-5); /* paper: held */
  const gboolean cases[2][2] = { { FALSE, FALSE }, { TRUE, TRUE } };
  for (guint k = 0; k < 2; k++)
    {
      guard_case (cases[k][0], cases[k][1], in, other);
      for (guint i = 0; i < n * n; i++)
        g_assert_cmpfloat_with_epsilon (other[i], out[i], 1e-5);
    }
  DaeImageStats faint = { 0 };
  faint.light = TRUE;
  faint.background = 0.95;
  faint.ink_core = 0.9;
  DaeInkGuard g;
  dae__ink_guard_init (&g, &faint);
  g_assert_false (g.active);
}

/* Bleed-through standing alone: the sample's text, and beside it the
 * mirror image of the text at 30% of the ink's darkness, as the other
 * side of thin paper shows through, with light noise.  The document model
 * takes such marks for faded ink and darkens them (77% of their ink pixels
 * came out darker than the midpoint without the guard); now they stay
 * lighter than the midpoint a binariser splits at, and the text keeps its
 * ink.  The page's ink level is the darkest fifth of its ink class, not
 * the class's mean (which the marks lighten). */
static void
test_ink_guard_bleed (void)
{
  g_autoptr (DaeModel) m = shipped_model ("document", NULL);
  if (m == NULL)
    return;
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  const guint w = 2 * sw + 64, h = sh;
  g_autofree float *page = g_new (float, (size_t) w * h);
  g_autofree float *out = g_new (float, (size_t) w * h);
  GRand *rng = g_rand_new_with_seed (47);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const float t = x < sw ? text[(size_t) y * sw + x] : 1.0f;
        const float b = x >= sw + 64 ? text[(size_t) y * sw + (w - 1 - x)] : 1.0f;
        const float v = t * (1.0f - 0.3f * (1.0f - b)) + (float) (3.0 / 255 * gauss (rng));
        page[(size_t) y * w + x] = CLAMP (v, 0.0f, 1.0f);
      }
  g_rand_free (rng);
  DaeImageStats st;
  g_assert_true (dae__analyze_rows (page, w, h, 1, 1, &st));
  g_assert_cmpfloat (st.ink_core, <, st.ink);
  GError *error = NULL;
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, NULL, w, h, 1, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (dae_denoiser_push_rows (d, page, h, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, out, h), ==, h);
  g_autofree char *desc = dae_denoiser_describe (d);
  g_test_message ("%s", desc);
  double marks = 0, marks_ink = 0, ink = 0, ink_kept = 0;
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const float o = out[(size_t) y * w + x];
        if (x < sw && text[(size_t) y * sw + x] < 0.3f)
          ink++, ink_kept += o < 0.5f;
        else if (x >= sw + 64 && text[(size_t) y * sw + (w - 1 - x)] < 0.3f)
          marks++, marks_ink += o < 0.5f;
      }
  g_test_message ("%.4f of the mirrored marks came out as ink, %.4f of the ink kept",
                  marks_ink / marks, ink_kept / ink);
  g_assert_cmpfloat (marks_ink / marks, <, 0.01);
  g_assert_cmpfloat (ink_kept / ink, >, 0.9);
  g_assert_nonnull (strstr (desc, "ink guard"));
}

/* A 64x64 tile of a light page with strokes 4 px wide: bars, an i (its dot
 * 4 px above the stem), a full stop beside a bar, a speck alone, two
 * specks together, a crumb one pixel from a bar, a speck between a bar and
 * the i (3 px from each), and one whose window leaves the tile.  The
 * model's output is the tile itself. */
static void
specks_case (gboolean light, gboolean inverted, float *out, guint64 *erased)
{
  const guint n = 64;
  for (guint i = 0; i < n * n; i++)
    out[i] = 0.95f;
  const guint boxes[][4] = {   /* y, x, height, width of ink */
    { 30, 4, 24, 4 }, { 30, 12, 24, 4 }, { 30, 20, 24, 4 }, { 30, 28, 24, 4 }, /* bars */
    { 34, 40, 16, 4 }, { 26, 40, 4, 4 },   /* an i: stem, dot */
    { 50, 48, 4, 4 },                      /* a full stop after the last bar... */
    { 30, 52, 24, 4 },                     /* ...which is this one */
    { 12, 30, 2, 2 },                      /* a speck alone */
    { 10, 12, 2, 2 }, { 13, 15, 2, 2 },    /* two specks together */
    { 32, 33, 2, 2 },                      /* a crumb beside a bar */
    { 44, 35, 2, 2 },                      /* a speck between letters */
    { 2, 58, 2, 2 },                       /* a speck at the tile's edge */
  };
  for (guint b = 0; b < G_N_ELEMENTS (boxes); b++)
    for (guint y = boxes[b][0]; y < boxes[b][0] + boxes[b][2]; y++)
      for (guint x = boxes[b][1]; x < boxes[b][1] + boxes[b][3]; x++)
        out[y * n + x] = 0.05f;
  DaeImageStats st = { 0 };
  st.light = light;
  st.background = light ? 0.95 : 0.05;
  st.ink_core = light ? 0.05 : 0.95;
  st.stroke_width = 4;
  DaeSpecks s;
  dae__specks_init (&s, &st);
  g_assert_true (s.active);
  const gboolean flip = (!light) != inverted;
  for (guint i = 0; flip && i < n * n; i++)
    out[i] = 1.0f - out[i];
  g_autofree void *scratch = g_malloc (dae__specks_scratch_size (n, n));
  *erased = dae__specks_tile (&s, out, n, n, inverted, scratch);
  for (guint i = 0; flip && i < n * n; i++)
    out[i] = 1.0f - out[i];
}

static void
test_specks (void)
{
  const guint n = 64;
  float out[64 * 64], other[64 * 64];
  guint64 erased;
  specks_case (TRUE, FALSE, out, &erased);
  g_assert_cmpuint (erased, ==, 4);
  g_assert_cmpfloat_with_epsilon (out[12 * n + 30], 0.95f, 0.005); /* alone: erased */
  g_assert_cmpfloat_with_epsilon (out[10 * n + 12], 0.95f, 0.005); /* together: both */
  g_assert_cmpfloat_with_epsilon (out[13 * n + 15], 0.95f, 0.005);
  g_assert_cmpfloat (out[26 * n + 40], ==, 0.05f); /* the i's dot */
  g_assert_cmpfloat (out[50 * n + 48], ==, 0.05f); /* the full stop */
  g_assert_cmpfloat (out[32 * n + 33], ==, 0.05f); /* a crumb beside a bar */
  g_assert_cmpfloat_with_epsilon (out[44 * n + 35], 0.95f, 0.005); /* between letters */
  g_assert_cmpfloat (out[2 * n + 58], ==, 0.05f);  /* its window leaves the tile */
  g_assert_cmpfloat (out[40 * n + 4], ==, 0.05f);  /* a bar */
  const gboolean cases[2][2] = { { FALSE, FALSE }, { TRUE, TRUE } };
  for (guint k = 0; k < 2; k++)
    {
      specks_case (cases[k][0], cases[k][1], other, &erased);
      g_assert_cmpuint (erased, ==, 4);
      for (guint i = 0; i < n * n; i++)
        g_assert_cmpfloat_with_epsilon (other[i], out[i], 1e-6);
    }
  DaeImageStats thin = { 0 };
  thin.light = TRUE;
  thin.background = 0.95;
  thin.ink_core = 0.05;
  thin.stroke_width = 2;
  DaeSpecks s;
  dae__specks_init (&s, &thin);
  g_assert_false (s.active); /* a speck and a dot are pixel-sized alike */
}

/* img (w x h x c, the first channel colour) through a pre-filter of kind
 * at once into out (h + 1 rows), and in chunks of 7 rows: the same rows;
 * returns how many samples the filter replaced. */
static guint64
prefilter_both_ways (DaePrefilterKind kind, const float *img, guint w, guint h, guint c,
                     float *out)
{
  const size_t row_f = (size_t) w * c;
  g_autofree float *chunked = g_new (float, (h + 1) * row_f);
  DaePrefilter a, b;
  g_assert_true (dae__prefilter_init (&a, kind, w, h, c, 1)
                 && dae__prefilter_init (&b, kind, w, h, c, 1));
  g_assert_cmpuint (dae__prefilter_feed (&a, img, h, out), ==, h);
  guint n = 0;
  for (guint y = 0; y < h; y += 7)
    n += dae__prefilter_feed (&b, img + y * row_f, MIN (7, h - y), chunked + n * row_f);
  g_assert_cmpuint (n, ==, h);
  g_assert_cmpmem (out, h * row_f * sizeof (float), chunked, h * row_f * sizeof (float));
  g_assert_cmpuint (a.replaced, ==, b.replaced);
  dae__prefilter_clear (&a);
  dae__prefilter_clear (&b);
  return a.replaced;
}

/* Salt-and-pepper on a page of bars (one a single pixel wide) over grainy
 * paper: the share calls for the filter, and the clean page's, even made
 * bilevel, does not, nor clipped Gaussian noise; the filter streams (7 rows a time gives what the whole
 * page at once gives); every sample the noise left alone and not black or
 * white comes out exactly as it went in; nearly every impulse far from the
 * level it hides is put right, but where it touches a bar (it may be part
 * of the mark; salt on light paper is left too: it is paper). */
static gboolean
touches_bar (const float *clean, guint w, guint h, guint i)
{
  const guint y = i / w, x = i % w;
  gboolean any = FALSE;
  for (guint yy = y > 0 ? y - 1 : 0; yy <= MIN (y + 1, h - 1); yy++)
    for (guint xx = x > 0 ? x - 1 : 0; xx <= MIN (x + 1, w - 1); xx++)
      any |= (yy != y || xx != x) && clean[yy * w + xx] < 0.5f;
  return any;
}

static void
test_impulse (void)
{
  const guint w = 200, h = 120;
  g_autofree float *clean = g_new (float, w * h), *noisy = g_new (float, w * h);
  g_autofree float *bilevel = g_new (float, w * h);
  GRand *rng = g_rand_new_with_seed (61);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const gboolean bar = (x % 20 < 4 && y > 10 && y < 100) || (x == 101 && y > 20);
        const float v = bar ? 0.15f : 0.85f;
        clean[y * w + x] = CLAMP (v + (float) (0.02 * gauss (rng)), 0.01f, 0.99f);
        bilevel[y * w + x] = bar ? 0.0f : 1.0f;
        const double u = g_rand_double (rng);
        noisy[y * w + x] = u < 0.03 ? 0.0f : u < 0.06 ? 1.0f : clean[y * w + x];
      }
  g_rand_free (rng);
  double near, near_clean, near_bilevel;
  const double share = dae__impulse_share (noisy, w, h, 1, 1, &near);
  const double clean_share = dae__impulse_share (clean, w, h, 1, 1, &near_clean);
  const double bilevel_share = dae__impulse_share (bilevel, w, h, 1, 1, &near_bilevel);
  g_test_message ("impulse share: noisy %.4f, clean %.4f, bilevel %.4f", share, clean_share,
                  bilevel_share);
  g_assert_true (dae__impulse_wanted (share, near));
  g_assert_false (dae__impulse_wanted (clean_share, near_clean));
  g_assert_false (dae__impulse_wanted (bilevel_share, near_bilevel));
  /* Gaussian noise of 0.35 over the clean page, clipped: isolated samples
   * at black and white, but as many just inside them. */
  g_autofree float *clipped = g_new (float, w * h);
  GRand *g = g_rand_new_with_seed (62);
  for (guint i = 0; i < w * h; i++)
    clipped[i] = CLAMP (clean[i] + (float) (0.35 * gauss (g)), 0.0f, 1.0f);
  g_rand_free (g);
  double near_clipped;
  const double clipped_share = dae__impulse_share (clipped, w, h, 1, 1, &near_clipped);
  g_test_message ("clipped Gaussian noise: %.4f isolated at the ends, %.4f just inside",
                  clipped_share, near_clipped);
  g_assert_false (dae__impulse_wanted (clipped_share, near_clipped));
  g_autofree float *whole = g_new (float, (h + 1) * w);
  const guint64 replaced = prefilter_both_ways (DAE__PREFILTER_IMPULSE, noisy, w, h, 1, whole);
  guint visible = 0, fixed = 0; /* an impulse far from what it hides */
  for (guint i = 0; i < w * h; i++)
    {
      if (noisy[i] > 0.0f && noisy[i] < 1.0f)
        g_assert_cmpfloat (whole[i], ==, noisy[i]);
      else if (fabsf (noisy[i] - clean[i]) > 0.5f && !touches_bar (clean, w, h, i))
        visible++, fixed += fabsf (whole[i] - clean[i]) < 0.25f;
    }
  g_test_message ("%" G_GUINT64_FORMAT " replaced; of %u impulses far from the page and "
                  "off the bars' edges, %u put right", replaced, visible, fixed);
  g_assert_cmpuint (fixed * 100, >=, visible * 97);
}

/* The sample's text at twice its size (strokes 4 px wide): *w x *h. */
static float *
sample_twice (guint *w, guint *h)
{
  guint sw, sh;
  g_autofree float *text = read_gray ("samples/clean-text.png", &sw, &sh);
  *w = 2 * sw, *h = 2 * sh;
  float *page = g_new (float, (size_t) *w * *h);
  for (guint y = 0; y < *h; y++)
    for (guint x = 0; x < *w; x++)
      page[(size_t) y * *w + x] = text[(size_t) (y / 2) * sw + x / 2];
  return page;
}

/* The sample's text at twice its size (strokes 4 px wide) with 2x2 specks
 * scattered where no text is near, through the document model: it keeps
 * a third of them as ink (140 of 400); the speck filter erases nearly all
 * of those (3 left), and nothing but the specks differs between the two. */
static void
test_despeckle_page (void)
{
  g_autoptr (DaeModel) m = shipped_model ("document", NULL);
  if (m == NULL)
    return;
  guint w, h;
  g_autofree float *page = sample_twice (&w, &h);
  g_autofree guint8 *near = g_new0 (guint8, (size_t) w * h);
  GRand *rng = g_rand_new_with_seed (53);
  guint specks[400][2], n_specks = 0;
  for (guint tries = 0; tries < 20000 && n_specks < 400; tries++)
    {
      const guint y = g_rand_int_range (rng, 16, h - 16), x = g_rand_int_range (rng, 16, w - 16);
      gboolean clear = TRUE; /* no text within 16 px, no speck within 24 */
      for (guint yy = y - 16; clear && yy <= y + 16; yy++)
        for (guint xx = x - 16; clear && xx <= x + 16; xx++)
          clear = page[(size_t) yy * w + xx] > 0.9f;
      for (guint k = 0; clear && k < n_specks; k++)
        clear = MAX (ABS ((int) specks[k][0] - (int) y), ABS ((int) specks[k][1] - (int) x)) > 24;
      if (!clear)
        continue;
      specks[n_specks][0] = y, specks[n_specks][1] = x, n_specks++;
      for (guint yy = y - 3; yy <= y + 4; yy++)
        for (guint xx = x - 3; xx <= x + 4; xx++)
          near[(size_t) yy * w + xx] = 1;
    }
  for (guint k = 0; k < n_specks; k++)
    for (guint i = 0; i < 4; i++)
      page[(size_t) (specks[k][0] + i / 2) * w + specks[k][1] + i % 2] = 0.1f;
  for (size_t i = 0; i < (size_t) w * h; i++)
    page[i] = CLAMP (page[i] + (float) (3.0 / 255 * gauss (rng)), 0.0f, 1.0f);
  g_rand_free (rng);
  g_assert_cmpuint (n_specks, >=, 100);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree float *on = denoise (m, &o, w, h, 1, FALSE, page);
  o.threads = 1; /* the filter runs in the workers: the same on one */
  g_autofree float *on1 = denoise (m, &o, w, h, 1, FALSE, page);
  g_assert_cmpmem (on, (size_t) w * h * sizeof (float), on1, (size_t) w * h * sizeof (float));
  o.despeckle = FALSE;
  g_autofree float *off = denoise (m, &o, w, h, 1, FALSE, page);
  guint kept_on = 0, kept_off = 0;
  for (guint k = 0; k < n_specks; k++)
    {
      const size_t i = (size_t) specks[k][0] * w + specks[k][1];
      kept_on += on[i] < 0.5f, kept_off += off[i] < 0.5f;
    }
  size_t elsewhere = 0;
  for (size_t i = 0; i < (size_t) w * h; i++)
    elsewhere += !near[i] && fabsf (on[i] - off[i]) > 0.02f;
  g_test_message ("%u specks: %u kept as ink without the filter, %u with it; %zu other pixels "
                  "changed", n_specks, kept_off, kept_on, elsewhere);
  g_assert_cmpuint (kept_off * 4, >, n_specks); /* the model keeps many */
  g_assert_cmpuint (kept_on * 20, <, kept_off);
  g_assert_cmpuint (elsewhere, ==, 0);
}

/* A 1-bit page softened (prefilter.c): streamed in chunks as at once, flat
 * black and white and alpha kept exactly, an edge blurred by half a pixel;
 * through the document model, the sample's text at twice its size,
 * blurred, noisy and thresholded as a bad fax comes, reads closer to the
 * clean page with the softening than without (the model learnt on gray
 * scans), and -v says it ran. */
static void
test_soften_bilevel (void)
{
  const guint w = 37, h = 29, c = 2; /* gray + alpha */
  g_autofree float *img = g_new (float, (size_t) w * h * c);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        img[((size_t) y * w + x) * c] = x < 18 ? 0.0f : 1.0f;
        img[((size_t) y * w + x) * c + 1] = (x + y) % 3 == 0 ? 1.0f : 0.25f;
      }
  g_autofree float *whole = g_new (float, (size_t) (h + 1) * w * c);
  prefilter_both_ways (DAE__PREFILTER_SOFTEN, img, w, h, c, whole);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const size_t i = ((size_t) y * w + x) * c;
        g_assert_cmpfloat (whole[i + 1], ==, img[i + 1]);
        if (x < 17 || x > 18)
          g_assert_cmpfloat (whole[i], ==, img[i]);
        else /* the edge's two columns: gray, black on the black side */
          g_assert_true (x == 17 ? whole[i] > 0.05f && whole[i] < 0.2f
                                 : whole[i] > 0.8f && whole[i] < 0.95f);
      }

  g_autoptr (DaeModel) m = shipped_model ("document", NULL);
  if (m == NULL)
    return;
  guint pw, ph;
  g_autofree float *clean = sample_twice (&pw, &ph);
  g_autofree float *fax = g_new (float, (size_t) pw * ph);
  GRand *rng = g_rand_new_with_seed (61);
  for (guint y = 0; y < ph; y++) /* a 3x3 box blur, noise, one half */
    for (guint x = 0; x < pw; x++)
      {
        float v = 0.0f;
        for (gint dy = -1; dy <= 1; dy++)
          for (gint dx = -1; dx <= 1; dx++)
            v += clean[(size_t) CLAMP ((gint) y + dy, 0, (gint) ph - 1) * pw
                       + CLAMP ((gint) x + dx, 0, (gint) pw - 1)];
        fax[(size_t) y * pw + x] = v / 9 + 0.2f * (float) gauss (rng) < 0.5f ? 0.0f : 1.0f;
      }
  g_rand_free (rng);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree char *desc = run_and_describe (m, &o, pw, ph, 1, fax);
  g_assert_nonnull (strstr (desc, "1-bit image: its edges softened"));
  g_autofree float *on = denoise (m, &o, pw, ph, 1, FALSE, fax);
  o.soften_bilevel = FALSE;
  g_autofree char *desc_off = run_and_describe (m, &o, pw, ph, 1, fax);
  g_assert_null (strstr (desc_off, "softened"));
  g_autofree float *off = denoise (m, &o, pw, ph, 1, FALSE, fax);
  size_t wrong_on = 0, wrong_off = 0, wrong_in = 0;
  for (size_t i = 0; i < (size_t) pw * ph; i++)
    {
      const gboolean ink = clean[i] < 0.5f;
      wrong_on += (on[i] < 0.5f) != ink, wrong_off += (off[i] < 0.5f) != ink;
      wrong_in += (fax[i] < 0.5f) != ink;
    }
  g_test_message ("pixels on the wrong side of one half: the fax %zu, denoised %zu, softened "
                  "first %zu", wrong_in, wrong_off, wrong_on);
  g_assert_cmpuint (wrong_on, <, wrong_off);
  g_assert_cmpuint (wrong_on, <, wrong_in);
}

/* Runs the Wiener stage, blocks `step` apart, over an image of W x H x NP
 * (pool NULL: in the caller), checking that every row comes out once, in order, at most a
 * block and a row late, with its payload and noisy planes. */
static void
run_wiener (guint W, guint H, guint NP, guint step, const float *sigma, const float *alpha,
            const float *noisy, const float *pilot, DaeThreadPool *pool, float *out)
{
  DaeWiener wi;
  g_assert_true (dae__wiener_init (&wi, W, H, NP, 0, FALSE, sigma, alpha, 1, step));
  guint popped = 0;
  for (guint y = 0; y < H; y++)
    {
      const float row_number = (float) y;
      dae__wiener_push (&wi, noisy + y * W * NP, pilot + y * W * NP, &row_number, pool);
      const float *nz, *payload;
      while (dae__wiener_pop (&wi, out + popped * W * NP, &nz, &payload))
        {
          g_assert_cmpfloat (*payload, ==, (float) popped);
          g_assert_cmpmem (nz, W * NP * sizeof (float), noisy + popped * W * NP,
                           W * NP * sizeof (float));
          popped++;
        }
      g_assert_cmpuint (y + 1 - popped, <=, DAE__WIENER_BLOCK + 1);
    }
  g_assert_cmpuint (popped, ==, H);
  dae__wiener_clear (&wi);
}

/* The Wiener stage alone (wiener.c), blocks at every row and column and at
 * every second, on a narrow image and on one wide enough for its bands to
 * be cut in two column parts (an odd width: the second part ends off the
 * blocks' grid of step 2): rows out as run_wiener checks,
 * the same bits on a pool of threads as in the caller; a plane of share 0
 * is its pilot exactly; one with no noise gives the noisy plane back (the
 * DCT undone); with the clean image as pilot a noisy plane loses most of
 * its noise. */
static void
test_wiener (void)
{
  enum { H = 29, NP = 3 };
  const float sigma[NP] = { 0.05f, 0.0f, 0.05f }, alpha[NP] = { 1.0f, 1.0f, 0.0f };
  const guint widths[] = { 37, 91 };
  DaeThreadPool *pool = dae__pool_new (3);
  for (guint step = 1; step <= 2; step++)
  for (guint k = 0; k < G_N_ELEMENTS (widths); k++)
    {
      const guint W = widths[k];
      g_autofree float *clean = g_new (float, W * H * NP);
      g_autofree float *noisy = g_new (float, W * H * NP);
      g_autofree float *out = g_new (float, W * H * NP), *out3 = g_new (float, W * H * NP);
      GRand *rng = g_rand_new_with_seed (5);
      for (guint i = 0; i < W * H * NP; i++)
        {
          const guint x = i % W, c = i / W % NP, y = i / (W * NP);
          const double g = sqrt (-2 * log (1 - g_rand_double (rng)))
                           * cos (2 * G_PI * g_rand_double (rng));
          clean[i] = (float) (0.5 + 0.3 * sin (0.3 * x + c) * cos (0.2 * y));
          noisy[i] = clean[i] + (float) (0.05 * g);
        }
      g_rand_free (rng);
      run_wiener (W, H, NP, step, sigma, alpha, noisy, clean, NULL, out);
      run_wiener (W, H, NP, step, sigma, alpha, noisy, clean, pool, out3);
      g_assert_cmpmem (out, W * H * NP * sizeof (float), out3, W * H * NP * sizeof (float));
      double err_in = 0, err_out = 0, back = 0;
      for (guint i = 0; i < W * H * NP; i++)
        switch (i / W % NP)
          {
          case 0:
            err_in += (noisy[i] - clean[i]) * (noisy[i] - clean[i]);
            err_out += (out[i] - clean[i]) * (out[i] - clean[i]);
            break;
          case 1:
            back = MAX (back, fabs (out[i] - noisy[i]));
            break;
          default:
            g_assert_cmpfloat (out[i], ==, clean[i]);
          }
      g_test_message ("width %u, step %u: noisy plane: squared error %.4f -> %.4f; no-noise "
                      "plane back within %.2g", W, step, err_in, err_out, back);
      g_assert_cmpfloat (err_out, <, 0.25 * err_in);
      g_assert_cmpfloat (back, <, 1e-5);
    }
  dae__pool_free (pool);
}

/* The Wiener stage on NP planes, the first of them levels (opponent
 * planes or not), on the calling thread: every row out.  The payload, when
 * not NULL, is each row's R, G, B pixels. */
static void
wiener_levels (guint W, guint H, guint NP, gboolean opponent, const float *sigma,
               const float *alpha, const float *noisy, const float *pilot, const float *rgb,
               float *out)
{
  DaeWiener wi;
  g_assert_true (dae__wiener_init (&wi, W, H, NP, 1, opponent, sigma, alpha, rgb ? 3 * W : 0, 2));
  guint popped = 0;
  for (guint y = 0; y < H; y++)
    {
      dae__wiener_push (&wi, noisy + y * W * NP, pilot + y * W * NP, rgb ? rgb + y * W * 3 : NULL,
                        NULL);
      const float *nz, *payload;
      while (dae__wiener_pop (&wi, out + popped * W * NP, &nz, &payload))
        popped++;
    }
  dae__wiener_clear (&wi);
  g_assert_cmpuint (popped, ==, H);
}

/* Where the pilot is within half a sigma of black (or white) the noise
 * was clipped and the Wiener filter's estimate biased: the pilot comes out
 * as it went in; from one and a half sigmas on the filter works as ever;
 * a plane that holds chroma offsets is not judged by its level. */
static void
test_wiener_clipped (void)
{
  enum { W = 40, H = 24, NP = 2 };
  const float sigma[NP] = { 0.1f, 0.1f }, alpha[NP] = { 1.0f, 1.0f };
  g_autofree float *pilot = g_new (float, W * H * NP);
  g_autofree float *noisy = g_new (float, W * H * NP);
  g_autofree float *out = g_new (float, W * H * NP);
  GRand *rng = g_rand_new_with_seed (6);
  for (guint i = 0; i < W * H * NP; i++)
    {
      const guint x = i % W, y = i / (W * NP);
      const float clean = x < W / 2 ? 0.0f : (float) (0.5 + 0.2 * sin (0.4 * x) * cos (0.3 * y));
      noisy[i] = noisy_8bit (clean, 25, rng);
      pilot[i] = x < W / 2 ? 0.02f : clean;
    }
  g_rand_free (rng);
  wiener_levels (W, H, NP, FALSE, sigma, alpha, noisy, pilot, NULL, out);
  guint level_dark_kept = 0, chroma_dark_kept = 0, bright_kept = 0;
  for (guint i = 0; i < W * H * NP; i++)
    {
      const gboolean dark = i % W < W / 2, level = i / W % NP == 0;
      const gboolean kept = out[i] == pilot[i];
      level_dark_kept += dark && level && kept;
      chroma_dark_kept += dark && !level && kept;
      bright_kept += !dark && level && kept;
    }
  g_test_message ("pilot kept: %u of %u dark level samples, %u dark chroma, %u bright",
                  level_dark_kept, W / 2 * H, chroma_dark_kept, bright_kept);
  g_assert_cmpuint (level_dark_kept, ==, W / 2 * H);
  g_assert_cmpuint (chroma_dark_kept, <, W / 2 * H / 10);
  g_assert_cmpuint (bright_kept, <, W / 2 * H / 10);
}

/* The opponent planes (one of levels): a chroma plane's estimate is left
 * out where R, G or B of the pilot is within half their sigma of black or
 * white and the others are not (a saturated red), kept where all three are
 * alike (a grey near black) or none is near; the luma is judged by its own
 * level.  With three planes, and with two whose (R-2G+B)/4 comes from the
 * payload's R, G, B (when it goes through the model at half size). */
static void
test_wiener_clipped_colour (void)
{
  enum { W = 60, H = 24 };
  const float sigma[3] = { 0.1f, 0.12f, 0.1f }, alpha[3] = { 1.0f, 1.0f, 1.0f };
  g_autofree float *pilot = g_new (float, W * H * 3), *rgb = g_new (float, W * H * 3);
  g_autofree float *noisy = g_new (float, W * H * 3);
  g_autofree float *out = g_new (float, W * H * 3);
  for (guint np = 3; np >= 2; np--)
    {
      GRand *rng = g_rand_new_with_seed (8);
      for (guint i = 0; i < W * H * np; i++)
        {
          const guint x = i % W, y = i / (W * np), p = i / W % np;
          const float texture = (float) (0.1 * sin (0.4 * x) * cos (0.3 * y));
          const float red[3] = { 1 / 3.0f, 1.0f, 0.75f }, dark[3] = { 0.02f, 0.5f, 0.5f };
          const float *o = x < W / 3 ? red : x < 2 * W / 3 ? dark : NULL;
          pilot[i] = o ? o[p] : 0.5f + texture;
          noisy[i] = pilot[i] + (float) g_rand_double_range (rng, -0.1, 0.1);
          const float grey[3] = { 0.5f + texture, 0.5f, 0.5f };
          if (p == 0)
            dae__opponent_to_rgb (o ? o : grey, rgb + 3 * (y * W + x));
        }
      g_rand_free (rng);
      wiener_levels (W, H, np, TRUE, sigma, alpha, noisy, pilot, np == 2 ? rgb : NULL, out);
      guint kept[3][2] = { { 0 } }; /* [red, dark, grey][luma, chroma] */
      for (guint i = 0; i < W * H * np; i++)
        kept[i % W / (W / 3)][i / W % np > 0] += out[i] == pilot[i];
      g_test_message ("%u planes: pilot kept (luma, chroma): red %u, %u; dark %u, %u; grey %u, %u",
                      np, kept[0][0], kept[0][1], kept[1][0], kept[1][1], kept[2][0], kept[2][1]);
      const guint band = W / 3 * H;
      g_assert_cmpuint (kept[0][1], ==, (np - 1) * band); /* red: chroma as the pilot has it */
      g_assert_cmpuint (kept[0][0], <, band / 10);
      g_assert_cmpuint (kept[1][0], ==, band);            /* dark: a level near black */
      g_assert_cmpuint (kept[1][1], <, (np - 1) * band / 10);
      g_assert_cmpuint (kept[2][1], <, (np - 1) * band / 10);
    }
}

/* A photo with white noise goes through the Wiener filter; the same noise
 * made correlated does not (its blotches would come back). */
static void
test_wiener_photo (void)
{
  g_autoptr (DaeModel) m = photo_model ();
  const guint w = 256, h = 192;
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_AUTO);
  g_autofree float *img = smooth_image (w, h, 10, 4);
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (m, &o, w, h, 1, FALSE, NULL);
  g_assert_true (dae_denoiser_push_rows (d, img, h, NULL));
  g_autofree char *desc = dae_denoiser_describe (d);
  g_test_message ("%s", desc);
  g_assert_nonnull (strstr (desc, "Wiener filter with the model's output as its pilot "
                                 "(8x8 blocks at every row and column), share 1.00"));
  g_autofree float *out = g_new (float, (size_t) w * h);
  g_assert_cmpuint (dae_denoiser_pull_rows (d, out, h), ==, h);

  /* In colour with alpha: the alpha of every pixel comes out as it went in,
   * and the output does not depend on the thread count. */
  g_autofree float *rgba = g_new (float, (size_t) w * h * 4);
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      for (guint c = 0; c < 3; c++)
        rgba[4 * i + c] = CLAMP (img[i] + 0.05f * (float) c - 0.05f, 0.0f, 1.0f);
      rgba[4 * i + 3] = (float) (i % w) / w;
    }
  g_autofree float *one = denoise (m, &o, w, h, 4, TRUE, rgba);
  DaeDenoiseOptions o1 = options (0, 1, DAE_INVERT_AUTO);
  g_autofree float *single = denoise (m, &o1, w, h, 4, TRUE, rgba);
  g_assert_cmpmem (one, (size_t) w * h * 4 * sizeof (float), single,
                   (size_t) w * h * 4 * sizeof (float));
  for (size_t i = 0; i < (size_t) w * h; i++)
    g_assert_cmpfloat (one[4 * i + 3], ==, rgba[4 * i + 3]);
}

/* ---- the self-ensemble ---- */

/* The source pixel of (y, x) under symmetry k, written out here as
 * rotations and mirrors (ensemble.c has its own table, in its own order). */
static guint
sym_source (guint k, guint y, guint x, guint h, guint w)
{
  const guint Y = h - 1 - y, X = w - 1 - x;
  const guint sy[8] = { y, Y, x, X, y, Y, x, X }, sx[8] = { x, X, y, Y, X, x, Y, y };
  return sy[k] * w + sx[k];
}

/* The mean over the symmetries of symmetry^-1(model(symmetry(tile))), in
 * double: the spec of 8 passes on a square tile, 4 (the flips that keep
 * rows rows) on another or on a page. */
static void
spec_ensemble (const DaeModel *m, guint h, guint w, gboolean page, const float *in,
               double *want)
{
  const guint square[8] = { 0, 1, 2, 3, 4, 5, 6, 7 }, oblong[4] = { 0, 1, 4, 5 };
  const gboolean all = h == w && !page;
  const guint n = all ? 8 : 4;
  g_autoptr (DaeRunner) r = dae_runner_new (m, h, w, NULL);
  g_autofree float *t_in = g_new (float, (size_t) h * w);
  g_autofree float *t_out = g_new (float, (size_t) h * w);
  memset (want, 0, sizeof (double) * h * w);
  for (guint i = 0; i < n; i++)
    {
      const guint k = all ? square[i] : oblong[i];
      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          t_in[y * w + x] = in[sym_source (k, y, x, h, w)];
      g_assert_true (dae_runner_forward (r, 1, t_in, t_out, NULL));
      for (guint y = 0; y < h; y++) /* each output goes back where its input came from */
        for (guint x = 0; x < w; x++)
          want[sym_source (k, y, x, h, w)] += t_out[y * w + x] / (double) n;
    }
}

/* A random 3x3 convolution: no symmetry of its own. */
static DaeModel *
random_conv_model (guint h, guint w)
{
  DaeModel *m = dae_model_new (1, h, w, NULL);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_SIGMOID, 1, -1, NULL));
  float *p = dae_model_layer_params (m, 0, NULL, NULL);
  GRand *rng = g_rand_new_with_seed (77);
  for (guint i = 0; i < 10; i++)
    p[i] = (float) g_rand_double_range (rng, -1, 1);
  g_rand_free (rng);
  return m;
}

/* On a one-tile image the ensemble is the mean of the symmetries' outputs:
 * all eight on a square tile, the four flips on an oblong one or through a
 * document model (8 asked). */
static void
test_ensemble_spec (void)
{
  g_autoptr (DaeModel) tut = load_tutorial ();
  g_autoptr (DaeModel) oblong = random_conv_model (12, 20);
  g_autoptr (DaeModel) page = random_conv_model (20, 20);
  dae_model_set_metadata (page, "content", "document");
  dae_model_set_metadata (page, "background", "any");
  const struct { const DaeModel *m; guint h, w; gboolean page; } cases[] = {
    { tut, 28, 28, FALSE }, { oblong, 12, 20, FALSE }, { page, 20, 20, TRUE } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const guint h = cases[c].h, w = cases[c].w;
      g_autofree float *in = random_image (w, h, 1, 41 + c);
      g_autofree double *want = g_new (double, (size_t) h * w);
      spec_ensemble (cases[c].m, h, w, cases[c].page, in, want);
      DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
      o.strength = 1;
      o.ink_guard = o.despeckle = o.impulse_filter = FALSE;
      o.ensemble = 8;
      g_autofree float *out = denoise (cases[c].m, &o, w, h, 1, FALSE, in);
      o.ensemble = 1;
      g_autofree float *one = denoise (cases[c].m, &o, w, h, 1, FALSE, in);
      double err = 0, moved = 0;
      for (size_t i = 0; i < (size_t) h * w; i++)
        {
          err = MAX (err, fabs (out[i] - want[i]));
          moved = MAX (moved, fabs (one[i] - want[i]));
        }
      g_test_message ("%ux%u: ensemble against its spec %.2g, one pass against it %.2g", w, h,
                      err, moved);
      g_assert_cmpfloat (err, <, 1e-6);
      g_assert_cmpfloat (moved, >, 1e-3);
    }
}

/* With all eight passes the whole tiler commutes with a transpose of a
 * square image (its tile grid is the same on both axes); with one pass it
 * does not, the model having no symmetry of its own.  Threads change
 * nothing. */
static void
test_ensemble_transpose (void)
{
  g_autoptr (DaeModel) m = load_tutorial ();
  const guint n = 75;
  g_autofree float *in = random_image (n, n, 1, 43);
  g_autofree float *in_t = g_new (float, (size_t) n * n);
  for (guint y = 0; y < n; y++)
    for (guint x = 0; x < n; x++)
      in_t[x * n + y] = in[y * n + x];
  for (guint passes = 1; passes <= 8; passes *= 8)
    {
      DaeDenoiseOptions o = options (0, 1, DAE_INVERT_OFF);
      o.ensemble = passes;
      g_autofree float *out = denoise (m, &o, n, n, 1, FALSE, in);
      g_autofree float *out_t = denoise (m, &o, n, n, 1, FALSE, in_t);
      o.threads = 3;
      g_autofree float *out3 = denoise (m, &o, n, n, 1, FALSE, in);
      g_assert_cmpmem (out3, (size_t) n * n * 4, out, (size_t) n * n * 4);
      double err = 0;
      for (guint y = 0; y < n; y++)
        for (guint x = 0; x < n; x++)
          err = MAX (err, fabs (out_t[x * n + y] - out[y * n + x]));
      g_test_message ("%u pass(es): transposed output against output of transposed %.2g",
                      passes, err);
      if (passes == 8)
        g_assert_cmpfloat (err, <, 1e-5);
      else
        g_assert_cmpfloat (err, >, 1e-3);
    }
}

/* Auto: photos get passes by size (the most within 4 MiP of work) and
 * with what is left a finer step, other models one pass unless they
 * declare their own; the chosen count and step run as if asked for. */
static void
test_ensemble_auto (void)
{
  g_assert_cmpuint (dae__ensemble_auto_passes (512 * 1024, 128, 128), ==, 8);
  g_assert_cmpuint (dae__ensemble_auto_passes (512 * 1024 + 1, 128, 128), ==, 4);
  g_assert_cmpuint (dae__ensemble_auto_passes (1024 * 1024, 128, 128), ==, 4);
  g_assert_cmpuint (dae__ensemble_auto_passes (2048 * 1024, 128, 128), ==, 2);
  g_assert_cmpuint (dae__ensemble_auto_passes (4096 * 1024, 128, 128), ==, 1);
  g_assert_cmpuint (dae__ensemble_auto_passes (4000 * 3000, 128, 128), ==, 1);
  g_assert_cmpuint (dae__ensemble_auto_passes (100, 12, 20), ==, 4);
  g_assert_cmpuint (dae__ensemble_auto_stride (481 * 321, 8, 120), ==, 80);  /* BSD68 */
  g_assert_cmpuint (dae__ensemble_auto_stride (512 * 512, 8, 120), ==, 96);
  g_assert_cmpuint (dae__ensemble_auto_stride (512 * 1024, 8, 120), ==, 120); /* budget spent */
  g_assert_cmpuint (dae__ensemble_auto_stride (1024 * 1024, 4, 120), ==, 120);
  g_assert_cmpuint (dae__ensemble_auto_stride (640 * 1024, 4, 120), ==, 96);
  g_assert_cmpuint (dae__ensemble_auto_stride (4000 * 3000, 1, 120), ==, 120);
  g_assert_cmpuint (dae__ensemble_auto_stride (100, 8, 1), ==, 1);

  g_autoptr (DaeModel) m = load_tutorial ();
  dae_model_set_metadata (m, "background", "any");
  dae_model_set_metadata (m, "stride", "12");
  const guint w = 60, h = 45;
  g_autofree float *in = random_image (w, h, 1, 44);
  DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
  o.strength = 1;
  const char *contents[] = { "document", "photo" };
  for (guint c = 0; c < 2; c++)
    {
      dae_model_set_metadata (m, "content", contents[c]);
      o.ensemble = 0;
      g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
      o.ensemble = c ? 8 : 1;
      o.stride = c ? 8 : 12; /* a small photo's: 2/3 of the model's */
      g_autofree float *want = denoise (m, &o, w, h, 1, FALSE, in);
      g_assert_cmpmem (out, (size_t) w * h * 4, want, (size_t) w * h * 4);
      o.stride = 0;
    }
  /* passes asked for run at the model's step */
  o.ensemble = 8;
  g_autofree float *asked = denoise (m, &o, w, h, 1, FALSE, in);
  o.stride = 12;
  g_autofree float *model_step = denoise (m, &o, w, h, 1, FALSE, in);
  g_assert_cmpmem (asked, (size_t) w * h * 4, model_step, (size_t) w * h * 4);
  o.stride = 8;
  g_autofree float *finer = denoise (m, &o, w, h, 1, FALSE, in);
  g_assert_true (memcmp (asked, finer, (size_t) w * h * 4) != 0);
  /* A model's own count for its noisy images (document.dae's "ensemble",
   * from "ensemble-noise"/255 of noise, at "ensemble-stride"), within what
   * a page allows; anything but 2, 4 or 8 is ignored.  The random image's
   * noise is far above 3/255 and far below 255/255. */
  dae_model_set_metadata (m, "content", "document");
  const struct { const char *passes, *from, *step, *dense_from, *dense_step; guint runs, stride; }
  cases[] = {
    { "2", "3", "", "", "", 2, 0 }, { "8", "0", "", "", "", 4, 0 }, { "2", "255", "", "", "", 1, 0 },
    { "2", "3", "9", "", "", 2, 9 }, { "2", "255", "9", "", "", 1, 0 }, { "3", "3", "9", "", "", 1, 0 },
    { "two", "3", "", "", "", 1, 0 }, { "16", "3", "", "", "", 1, 0 },
    /* at "ensemble-dense-noise"/255 of noise on, "ensemble-dense-stride" */
    { "2", "3", "9", "3", "7", 2, 7 }, { "2", "3", "9", "255", "7", 2, 9 },
    { "2", "3", "", "3", "7", 2, 7 }, { "2", "255", "9", "3", "7", 1, 0 },
    { "2", "3", "9", "0", "7", 2, 9 } };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      dae_model_set_metadata (m, "ensemble", cases[c].passes);
      dae_model_set_metadata (m, "ensemble-noise", cases[c].from);
      dae_model_set_metadata (m, "ensemble-stride", cases[c].step);
      dae_model_set_metadata (m, "ensemble-dense-noise", cases[c].dense_from);
      dae_model_set_metadata (m, "ensemble-dense-stride", cases[c].dense_step);
      o.ensemble = 0;
      o.stride = 0;
      g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, in);
      o.ensemble = cases[c].runs;
      o.stride = cases[c].stride;
      g_autofree float *want = denoise (m, &o, w, h, 1, FALSE, in);
      g_assert_cmpmem (out, (size_t) w * h * 4, want, (size_t) w * h * 4);
    }
}

/* The sample's clean text (antialiased) with grain of SIGMA/255 and, when
 * BILEVEL, thresholded to black and white. */
static float *
rendered_text (double sigma, gboolean bilevel, guint *w, guint *h)
{
  float *img = read_gray ("samples/clean-text.png", w, h);
  GRand *rng = g_rand_new_with_seed (67);
  for (size_t i = 0; i < (size_t) *w * *h; i++)
    {
      const float v = img[i] + (float) (sigma / 255 * gauss (rng));
      img[i] = bilevel ? (v >= 0.5f ? 1.0f : 0.0f) : CLAMP (v, 0.0f, 1.0f);
    }
  g_rand_free (rng);
  return img;
}

/* A clean render's antialiased edges read as noise of 3/255 or more (the
 * measure the declared passes are gated on), but its paper shows none: a
 * document model's declared passes stay off there, and run once the paper
 * has grain, or on a 1-bit page, whose noise the quiet blocks cannot see. */
static void
test_ensemble_paper (void)
{
  const struct { double sigma; gboolean bilevel, on_paper; } cases[] = {
    { 0, FALSE, FALSE }, { 3, FALSE, TRUE }, { 0, TRUE, TRUE } };
  g_autoptr (DaeModel) m = load_tutorial ();
  dae_model_set_metadata (m, "background", "any");
  dae_model_set_metadata (m, "content", "document");
  dae_model_set_metadata (m, "ensemble", "2");
  dae_model_set_metadata (m, "ensemble-noise", "3");
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      guint w, h;
      g_autofree float *page = rendered_text (cases[c].sigma, cases[c].bilevel, &w, &h);
      DaeImageStats st;
      g_assert_true (dae__analyze_rows (page, w, h, 1, 1, &st));
      g_assert_cmpfloat (st.noise, >=, 3.0 / 255);
      g_assert_true (st.bilevel == cases[c].bilevel);
      g_assert_true (dae__noise_on_paper (&st) == cases[c].on_paper);
      DaeDenoiseOptions o = options (0, 2, DAE_INVERT_OFF);
      o.strength = 1;
      g_autofree float *out = denoise (m, &o, w, h, 1, FALSE, page);
      o.ensemble = cases[c].on_paper ? 2 : 1;
      g_autofree float *want = denoise (m, &o, w, h, 1, FALSE, page);
      g_assert_cmpmem (out, (size_t) w * h * 4, want, (size_t) w * h * 4);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tiler/matches-spec", test_matches_spec);
  g_test_add_func ("/tiler/patch-is-one-tile", test_patch_is_one_tile);
  g_test_add_func ("/tiler/no-overlap-is-tiles", test_no_overlap_is_tiles);
  g_test_add_func ("/tiler/threads-invariance", test_threads_invariance);
  g_test_add_func ("/tiler/streaming-lag", test_streaming_lag);
  g_test_add_func ("/tiler/identity", test_identity);
  g_test_add_func ("/tiler/strength-and-alpha", test_strength_and_alpha);
  g_test_add_func ("/tiler/luma", test_luma);
  g_test_add_func ("/tiler/rgb-is-per-channel", test_rgb_is_per_channel);
  g_test_add_func ("/tiler/invert", test_invert);
  g_test_add_func ("/tiler/invert-regions", test_invert_regions);
  g_test_add_func ("/tiler/opponent", test_opponent);
  g_test_add_func ("/tiler/half-chroma", test_half_chroma);
  g_test_add_func ("/tiler/centre", test_centre);
  g_test_add_func ("/tiler/strength-auto", test_strength_auto);
  g_test_add_func ("/tiler/strength-chroma", test_strength_chroma);
  g_test_add_func ("/tiler/strength-detail", test_strength_detail);
  g_test_add_func ("/tiler/noise-clipped", test_noise_clipped);
  g_test_add_func ("/tiler/noise-photon", test_noise_photon);
  g_test_add_func ("/tiler/noise-patches", test_noise_patches);
  g_test_add_func ("/tiler/noise-texture", test_noise_texture);
  g_test_add_func ("/tiler/auto-choice", test_auto_choice);
  g_test_add_func ("/tiler/analyze-stroke", test_analyze_stroke);
  g_test_add_func ("/tiler/analyze-flatten", test_analyze_flatten);
  g_test_add_func ("/tiler/analyze-median", test_analyze_median);
  g_test_add_func ("/tiler/analyze-bars", test_analyze_bars);
  g_test_add_func ("/tiler/errors", test_errors);
  g_test_add_func ("/tiler/seams", test_seams);
  g_test_add_func ("/tiler/document-grey-paper", test_document_grey_paper);
  g_test_add_func ("/tiler/clean-page", test_clean_page);
  g_test_add_func ("/tiler/colour-render", test_colour_render);
  g_test_add_func ("/tiler/small-render", test_small_render);
  g_test_add_func ("/tiler/two-level-render", test_two_level_render);
  g_test_add_func ("/tiler/page-in-doubt", test_page_in_doubt);
  g_test_add_func ("/tiler/ground-unseen", test_ground_unseen);
  g_test_add_func ("/tiler/thin-bilevel", test_thin_bilevel);
  g_test_add_func ("/tiler/keep-ink", test_keep_ink);
  g_test_add_func ("/tiler/ink-guard", test_ink_guard);
  g_test_add_func ("/tiler/ink-guard-bleed", test_ink_guard_bleed);
  g_test_add_func ("/tiler/specks", test_specks);
  g_test_add_func ("/tiler/impulse", test_impulse);
  g_test_add_func ("/tiler/soften-bilevel", test_soften_bilevel);
  g_test_add_func ("/tiler/despeckle-page", test_despeckle_page);
  g_test_add_func ("/tiler/wiener", test_wiener);
  g_test_add_func ("/tiler/wiener-clipped", test_wiener_clipped);
  g_test_add_func ("/tiler/wiener-clipped-colour", test_wiener_clipped_colour);
  g_test_add_func ("/tiler/wiener-photo", test_wiener_photo);
  g_test_add_func ("/tiler/ensemble-spec", test_ensemble_spec);
  g_test_add_func ("/tiler/ensemble-transpose", test_ensemble_transpose);
  g_test_add_func ("/tiler/ensemble-auto", test_ensemble_auto);
  g_test_add_func ("/tiler/ensemble-paper", test_ensemble_paper);
  return g_test_run ();
}
