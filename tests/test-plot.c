/* test-plot.c: dae-train's pictures (train/plot.c), decoded again through
 * core/io: their size and format, the curves where the losses put them,
 * the preview's rows, and errors for bad arguments and unwritable paths. */
#include "dae.h"
#include "../train/plot.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *tmpdir;

static guint16 *
load_png (const char *path, DaeImageInfo *info)
{
  GError *error = NULL;
  DaeImageReader *r = dae_image_reader_new_path (path, &error);
  g_assert_no_error (error);
  g_assert_true (dae_image_reader_next (r, info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info->format, ==, DAE_IMAGE_FORMAT_PNG);
  g_assert_cmpuint (info->maxval, ==, 255);
  guint16 *px = g_new (guint16, (size_t) info->width * info->height * info->channels);
  g_assert_true (dae_image_reader_read_rows (r, info->height, px, &error));
  g_assert_no_error (error);
  DaeImageInfo next;
  g_assert_false (dae_image_reader_next (r, &next, &error));
  g_assert_no_error (error);
  dae_image_reader_free (r);
  return px;
}

static gboolean
near_colour (const guint16 *p, const guint8 rgb[3])
{
  int d = 0;
  for (int k = 0; k < 3; k++)
    d += ABS ((int) p[k] - rgb[k]);
  return d < 40;
}

/* Pixels of @rgb in a part of the plot area given in fractions of it. */
static guint
count_in (const guint16 *px, const DaePlotRect *a, const guint8 rgb[3],
          double fx0, double fy0, double fx1, double fy1)
{
  guint n = 0;
  guint x0 = a->x + fx0 * a->width, x1 = a->x + fx1 * a->width;
  guint y0 = a->y + fy0 * a->height, y1 = a->y + fy1 * a->height;
  for (guint y = y0; y < y1; y++)
    for (guint x = x0; x < x1; x++)
      n += near_colour (px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3, rgb);
  return n;
}

static guint
count_dark (const guint16 *px, guint x0, guint y0, guint x1, guint y1)
{
  guint n = 0;
  for (guint y = y0; y < y1; y++)
    for (guint x = x0; x < x1; x++)
      {
        const guint16 *p = px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3;
        n += p[0] < 80 && p[1] < 80 && p[2] < 80;
      }
  return n;
}

static void
test_loss_curve (void)
{
  const guint n = 20;
  double train[20], val[20];
  for (guint i = 0; i < n; i++)
    {
      train[i] = 0.30 * exp (-0.25 * i) + 0.09;
      val[i] = train[i] + 0.01;
    }
  char *path = g_build_filename (tmpdir, "loss.png", NULL);
  GError *error = NULL;
  g_assert_true (dae_plot_loss_curve (path, train, val, n, "Training and validation loss", &error));
  g_assert_no_error (error);

  DaeImageInfo info;
  guint16 *px = load_png (path, &info);
  g_assert_cmpuint (info.width, ==, DAE_PLOT_LOSS_WIDTH);
  g_assert_cmpuint (info.height, ==, DAE_PLOT_LOSS_HEIGHT);
  g_assert_cmpuint (info.channels, ==, 3);

  DaePlotRect a;
  dae_plot_loss_area (&a);
  g_assert_cmpuint (a.x + a.width, <, DAE_PLOT_LOSS_WIDTH);
  g_assert_cmpuint (a.y + a.height, <, DAE_PLOT_LOSS_HEIGHT);
  const guint8 *tr = dae_plot_train_rgb, *va = dae_plot_validation_rgb;
  /* Decreasing: both curves start top-left and end bottom-right, and cross
   * nowhere near the bottom-left corner. */
  g_assert_cmpuint (count_in (px, &a, tr, 0, 0, 0.1, 0.2), >, 20);
  g_assert_cmpuint (count_in (px, &a, va, 0, 0, 0.1, 0.2), >, 20);
  g_assert_cmpuint (count_in (px, &a, tr, 0.9, 0.8, 1, 1), >, 20);
  g_assert_cmpuint (count_in (px, &a, va, 0.9, 0.8, 1, 1), >, 20);
  g_assert_cmpuint (count_in (px, &a, tr, 0, 0.7, 0.2, 1), ==, 0);
  g_assert_cmpuint (count_in (px, &a, va, 0, 0.7, 0.2, 1), ==, 0);
  /* Validation lies above training: in the last tenth of the epochs, the
   * topmost orange pixel is above the topmost blue one. */
  guint top_tr = G_MAXUINT, top_va = G_MAXUINT;
  for (guint y = a.y + a.height / 2; y < a.y + a.height; y++)
    for (guint x = a.x + a.width * 9 / 10; x < a.x + a.width; x++)
      {
        const guint16 *p = px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3;
        if (near_colour (p, tr))
          top_tr = MIN (top_tr, y);
        if (near_colour (p, va))
          top_va = MIN (top_va, y);
      }
  g_assert_cmpuint (top_va, <, top_tr);
  /* The legend: both colours in the upper right corner, where the curves
   * do not go. */
  g_assert_cmpuint (count_in (px, &a, tr, 0.6, 0, 1, 0.2), >, 20);
  g_assert_cmpuint (count_in (px, &a, va, 0.6, 0, 1, 0.2), >, 20);

  /* Nothing coloured outside the plot area: the curves are clipped and the
   * text and frame are gray. */
  for (guint y = 0; y < DAE_PLOT_LOSS_HEIGHT; y++)
    for (guint x = 0; x < DAE_PLOT_LOSS_WIDTH; x++)
      if (x < a.x || x >= a.x + a.width || y < a.y || y >= a.y + a.height)
        {
          const guint16 *p = px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3;
          g_assert_true (p[0] == p[1] && p[1] == p[2]);
        }
  /* Text: the title above the area, tick labels left of and below it. */
  g_assert_cmpuint (count_dark (px, a.x, 0, a.x + a.width, a.y - 2), >, 100);
  g_assert_cmpuint (count_dark (px, 40, a.y, a.x - 8, a.y + a.height), >, 100);
  g_assert_cmpuint (count_dark (px, a.x, a.y + a.height + 8, a.x + a.width,
                                DAE_PLOT_LOSS_HEIGHT), >, 100);
  g_free (px);

  /* No title: nothing above the frame. */
  g_assert_true (dae_plot_loss_curve (path, train, NULL, n, NULL, &error));
  px = load_png (path, &info);
  g_assert_cmpuint (count_dark (px, 0, 0, DAE_PLOT_LOSS_WIDTH, a.y - 2), ==, 0);
  g_assert_cmpuint (count_in (px, &a, va, 0, 0, 1, 1), ==, 0);
  g_assert_cmpuint (count_in (px, &a, tr, 0, 0, 0.1, 0.2), >, 20);
  g_free (px);

  /* Increasing: the other diagonal. */
  for (guint i = 0; i < n; i++)
    train[i] = 1.0 + 0.5 * i;
  g_assert_true (dae_plot_loss_curve (path, train, NULL, n, "up", &error));
  px = load_png (path, &info);
  g_assert_cmpuint (count_in (px, &a, tr, 0, 0.8, 0.1, 1), >, 20);
  g_assert_cmpuint (count_in (px, &a, tr, 0.9, 0, 1, 0.2), >, 20);
  g_assert_cmpuint (count_in (px, &a, tr, 0.6, 0.5, 1, 1), ==, 0);
  g_free (px);
  g_unlink (path);
  g_free (path);
}

/* Each epoch's loss is drawn where plot.h says it goes: epoch 1..n and the
 * losses' range, each widened by 5% a side, span the plot area.  Zigzag
 * data (seeded), the extremes in the first two epochs so that the legend
 * has a free corner on the right. */
static void
test_loss_curve_points (void)
{
  enum { N = 15 };
  double train[N], val[N];
  GRand *rng = g_rand_new_with_seed (17);
  for (guint i = 0; i < N; i++)
    {
      train[i] = i == 0 ? 1.0 : i == 1 ? 3.0 : g_rand_double_range (rng, 1.8, 2.2);
      val[i] = train[i] + (i == 1 ? 0.3 : 0.25);
    }
  g_rand_free (rng);
  g_autofree char *path = g_build_filename (tmpdir, "points.png", NULL);
  GError *error = NULL;
  g_assert_true (dae_plot_loss_curve (path, train, val, N, "points", &error));
  g_assert_no_error (error);
  DaeImageInfo info;
  guint16 *px = load_png (path, &info);
  DaePlotRect a;
  dae_plot_loss_area (&a);
  const double xlo = 1 - 0.05 * (N - 1), xhi = N + 0.05 * (N - 1);
  const double ylo = 1.0 - 0.05 * 2.3, yhi = 3.3 + 0.05 * 2.3;
  for (guint k = 0; k < 2; k++)
    for (guint i = 0; i < N; i++)
      {
        const double *v = k ? val : train;
        const guint8 *rgb = k ? dae_plot_validation_rgb : dae_plot_train_rgb;
        const int cx = (int) (a.x + (i + 1 - xlo) / (xhi - xlo) * a.width);
        const int cy = (int) (a.y + a.height - (v[i] - ylo) / (yhi - ylo) * a.height);
        guint hits = 0;
        for (int y = cy - 3; y <= cy + 3; y++)
          for (int x = cx - 3; x <= cx + 3; x++)
            hits += near_colour (px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3, rgb);
        if (hits < 10)
          g_error ("%s epoch %u (%.3f) not drawn at (%d, %d): %u pixels of its colour",
                   k ? "validation" : "train", i + 1, v[i], cx, cy, hits);
      }
  /* Axis names: "loss" (upright, left of the tick labels) and "epoch"
   * (under the tick labels), as dark pixels where nothing else is. */
  g_assert_cmpuint (count_dark (px, 0, a.y, 32, a.y + a.height), >, 30);
  g_assert_cmpuint (count_dark (px, 0, 0, 32, a.y), ==, 0);
  g_assert_cmpuint (count_dark (px, a.x + a.width / 2 - 40, a.y + a.height + 32,
                                a.x + a.width / 2 + 40, DAE_PLOT_LOSS_HEIGHT), >, 30);
  g_free (px);
  g_unlink (path);
}

/* One epoch, a flat line, gaps: drawn without error, points visible. */
static void
test_loss_curve_edge_cases (void)
{
  char *path = g_build_filename (tmpdir, "edge.png", NULL);
  GError *error = NULL;
  DaeImageInfo info;
  DaePlotRect a;
  dae_plot_loss_area (&a);

  double one = 0.1;
  g_assert_true (dae_plot_loss_curve (path, &one, &one, 1, "one", &error));
  g_assert_no_error (error);
  guint16 *px = load_png (path, &info);
  /* The single point sits mid-plot (a marker, both series). */
  g_assert_cmpuint (count_in (px, &a, dae_plot_validation_rgb, 0.4, 0.4, 0.6, 0.6), >, 10);
  g_free (px);

  double flat[5] = { 2, 2, 2, 2, 2 };
  double gaps[5] = { 1, NAN, INFINITY, 1.5, 0.5 };
  g_assert_true (dae_plot_loss_curve (path, flat, gaps, 5, NULL, &error));
  g_assert_no_error (error);
  px = load_png (path, &info);
  g_assert_cmpuint (count_in (px, &a, dae_plot_train_rgb, 0, 0, 1, 1), >, 100);
  g_free (px);

  double none[3] = { NAN, NAN, NAN };
  g_assert_true (dae_plot_loss_curve (path, none, NULL, 3, "nothing", &error));
  g_assert_no_error (error);
  px = load_png (path, &info);
  /* No curve: the legend's short sample line is the only blue. */
  guint y0 = G_MAXUINT, y1 = 0, n_blue = 0;
  for (guint y = 0; y < DAE_PLOT_LOSS_HEIGHT; y++)
    for (guint x = 0; x < DAE_PLOT_LOSS_WIDTH; x++)
      if (near_colour (px + ((size_t) y * DAE_PLOT_LOSS_WIDTH + x) * 3,
                       dae_plot_train_rgb))
        y0 = MIN (y0, y), y1 = MAX (y1, y), n_blue++;
  g_assert_cmpuint (n_blue, >, 0);
  g_assert_cmpuint (y1 - y0, <, 3);
  g_free (px);
  g_unlink (path);
  g_free (path);
}

static void
test_errors (void)
{
  double loss[2] = { 1, 0.5 };
  float img[4] = { 0 };
  GError *error = NULL;
  char *path = g_build_filename (tmpdir, "no-such-dir", "x.png", NULL);

  g_assert_false (dae_plot_loss_curve (path, loss, NULL, 2, "t", &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_IO);
  g_test_message ("unwritable: %s", error->message);
  g_clear_error (&error);
  g_assert_false (dae_plot_preview (path, img, img, img, 1, 2, 2, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_IO);
  g_clear_error (&error);

  /* A directory where the file should be. */
  g_assert_false (dae_plot_loss_curve (tmpdir, loss, NULL, 2, "t", &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_IO);
  g_clear_error (&error);

  char *ok = g_build_filename (tmpdir, "bad.png", NULL);
  g_assert_false (dae_plot_loss_curve (ok, loss, NULL, 0, "t", &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (dae_plot_preview (ok, img, img, img, 0, 2, 2, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  /* 1000 images of 28 pixels cannot fit: refused before anything is
   * allocated or read. */
  g_assert_false (dae_plot_preview (ok, img, img, img, 1000, 28, 28, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_LIMIT);
  g_clear_error (&error);
  /* Nothing was left behind by the failures. */
  g_assert_false (g_file_test (ok, G_FILE_TEST_EXISTS));
  GDir *dir = g_dir_open (tmpdir, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);
  g_free (ok);
  g_free (path);
}

static void
test_preview (void)
{
  const guint n = 10, h = 28, w = 28, zoom = 3;
  const size_t plane = (size_t) h * w;
  float *noisy = g_new (float, n * plane), *den = g_new (float, n * plane);
  float *clean = g_new (float, n * plane);
  /* Values that map to distinct gray levels, told apart in the output:
   * noisy 0 or 1, denoised 0.5 (128), clean 0.25/0.75 (64/191). */
  for (size_t i = 0; i < n * plane; i++)
    {
      noisy[i] = (i * 7919) % 3 == 0 ? 1.0f : 0.0f;
      den[i] = 0.5f;
      clean[i] = (i % w + i / w) % 2 ? 0.75f : 0.25f;
    }
  clean[5] = 2.0f;   /* clamped to white */
  clean[6] = NAN;    /* black */
  char *path = g_build_filename (tmpdir, "preview.png", NULL);
  GError *error = NULL;
  g_assert_true (dae_plot_preview (path, noisy, den, clean, n, h, w, &error));
  g_assert_no_error (error);

  DaeImageInfo info;
  guint16 *rgb = load_png (path, &info);
  /* Gray throughout: cairo writes RGB, every pixel with R = G = B. */
  g_assert_cmpuint (info.channels, ==, 3);
  guint16 *px = g_new (guint16, (size_t) info.width * info.height);
  for (size_t i = 0; i < (size_t) info.width * info.height; i++)
    {
      g_assert_true (rgb[3 * i] == rgb[3 * i + 1] && rgb[3 * i + 1] == rgb[3 * i + 2]);
      px[i] = rgb[3 * i];
    }
  g_free (rgb);
  g_assert_cmpuint (info.width, >=, n * w * zoom);
  g_assert_cmpuint (info.height, >=, 3 * h * zoom);

  /* The images start at the first column holding a whole denoised image's
   * height of 128: left of it, only the labels (anti-aliased text, which
   * may have any gray). */
  guint img_x0 = info.width;
  for (guint x = 0; x < info.width && img_x0 == info.width; x++)
    {
      guint run = 0;
      for (guint y = 0; y < info.height; y++)
        run += px[(size_t) y * info.width + x] == 128;
      if (run == h * zoom)
        img_x0 = x;
    }
  g_assert_cmpuint (img_x0, <, info.width);
  /* Bounding boxes and counts of each row's gray levels. */
  guint bx0[2] = { G_MAXUINT, G_MAXUINT }, by0[2] = { G_MAXUINT, G_MAXUINT };
  guint bx1[2] = { 0, 0 }, by1[2] = { 0, 0 }, count[2] = { 0, 0 };
  for (guint y = 0; y < info.height; y++)
    for (guint x = img_x0; x < info.width; x++)
      {
        guint16 v = px[(size_t) y * info.width + x];
        int k = v == 128 ? 0 : (v == 64 || v == 191) ? 1 : -1;
        if (k < 0)
          continue;
        count[k]++;
        bx0[k] = MIN (bx0[k], x);
        bx1[k] = MAX (bx1[k], x + 1);
        by0[k] = MIN (by0[k], y);
        by1[k] = MAX (by1[k], y + 1);
      }
  /* Every pixel of every image, enlarged 3x; 2 of the clean ones are the
   * clamped white and the black NaN. */
  g_assert_cmpuint (count[0], ==, n * plane * zoom * zoom);
  g_assert_cmpuint (count[1], ==, (n * plane - 2) * zoom * zoom);
  for (int k = 0; k < 2; k++)
    {
      g_assert_cmpuint (by1[k] - by0[k], ==, h * zoom);
      /* Side by side with small gaps. */
      g_assert_cmpuint (bx1[k] - bx0[k], >, n * w * zoom);
      g_assert_cmpuint (bx1[k] - bx0[k], <, n * w * zoom + (n - 1) * 12);
    }
  /* Rows in order: denoised below noisy (above it), clean below denoised. */
  g_assert_cmpuint (by0[1], >=, by1[0]);
  g_assert_cmpuint (by0[0], >=, h * zoom);
  /* Nearest-neighbour: the clean checkerboard comes in 3x3 blocks. */
  for (guint y = by0[1]; y < by1[1]; y++)
    for (guint x = bx0[1]; x < bx0[1] + w * zoom; x++)
      {
        guint sx = (x - bx0[1]) / zoom, sy = (y - by0[1]) / zoom;
        if (sy == 0 && (sx == 5 || sx == 6))
          {
            g_assert_cmpuint (px[(size_t) y * info.width + x], ==, sx == 5 ? 255 : 0);
            continue;
          }
        guint16 want = (sx + sy) % 2 ? 191 : 64;
        g_assert_cmpuint (px[(size_t) y * info.width + x], ==, want);
      }
  /* Row labels: dark text left of the images, in each row's band, about
   * as wide as the word ("denoised" the widest). */
  guint label[3] = { 0, 0, 0 }, lx0[3] = { G_MAXUINT, G_MAXUINT, G_MAXUINT }, lx1[3] = { 0 };
  for (guint y = 0; y < info.height; y++)
    for (guint x = 0; x < bx0[0]; x++)
      if (px[(size_t) y * info.width + x] < 100)
        {
          const guint r = y < by0[0] ? 0 : y < by0[1] ? 1 : 2;
          label[r]++;
          lx0[r] = MIN (lx0[r], x);
          lx1[r] = MAX (lx1[r], x + 1);
        }
  for (int r = 0; r < 3; r++)
    g_assert_cmpuint (label[r], >, 50);
  g_assert_cmpuint (lx1[1] - lx0[1], >, lx1[0] - lx0[0]);
  g_assert_cmpuint (lx1[1] - lx0[1], >, lx1[2] - lx0[2]);

  g_free (px);
  g_unlink (path);
  g_free (path);
  g_free (noisy);
  g_free (den);
  g_free (clean);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("dae-test-plot-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/plot/loss-curve", test_loss_curve);
  g_test_add_func ("/plot/loss-curve-points", test_loss_curve_points);
  g_test_add_func ("/plot/loss-curve-edge-cases", test_loss_curve_edge_cases);
  g_test_add_func ("/plot/preview", test_preview);
  g_test_add_func ("/plot/errors", test_errors);
  int ret = g_test_run ();
  dae_plot_shutdown ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return ret;
}
