/* gimp-test-images: the images of the GIMP plug-in test, and its checks.
 *
 *   gimp-test-images make DIR DIGITS.idx.gz [TEXT.png]
 *     writes DIR/clean-KIND.png and DIR/noisy-KIND.png for each kind (gray8,
 *     rgb8, rgba8, gray16): pages of MNIST digits with Gaussian noise from a
 *     fixed seed, so every run tests the same pixels; with TEXT (a clean
 *     page, samples/clean-text.png), the kinds page and page16 too: its
 *     text with bleed-through and specks, for the page-only switches; and
 *     page-sp and page-sp16: the clean page with 5% salt-and-pepper, for
 *     the impulse filter (its clean image is clean-page.png).
 *
 *   gimp-test-images check NAME CLEAN BEFORE AFTER [--min-gain DB]
 *                                [--selection X,Y,W,H[:X,Y,W,H...]] [--same]
 *                                [--same-inside] [--differ] [--tolerance N]
 *     BEFORE is what GIMP was given and AFTER what the plug-in made of it
 *     (both exported by GIMP the same way).  Checks that the PSNR against
 *     CLEAN rose by at least DB (inside the selection, if one is given),
 *     that alpha is unchanged, and that nothing outside the selection
 *     changed; with --same, that AFTER equals BEFORE; with --same-inside,
 *     that it does inside the selection (BEFORE is then a reference, e.g.
 *     dae-filter's output); with --differ, that AFTER is not BEFORE (a
 *     switch turned off changed something); --tolerance N lets samples
 *     differ by N.  Prints one TAP-style line of figures; exit status 1 if
 *     a check fails.
 *
 * The digits: tests/data/mnist-test-60-idx3-ubyte.gz holds the first six
 * images of each label of the MNIST test set, ordered 0..9 six times.
 * The images are written and decoded by core/io, the codecs everything
 * else uses. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dae.h"

#define CELL 28
#define COLS 12
#define ROWS 5
#define MARGIN 14
#define SIGMA 0.35
#define SEED 20261130u
#define PAGE_TEXT_W 360
#define PAGE_TEXT_H 150
#define IMPULSE_RATE 0.05

typedef struct {
  DaeImageInfo info;
  guint16 *samples;
} Image;

static void
image_clear (Image *im)
{
  g_free (im->samples);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Image, image_clear)

static gboolean
image_load (const char *path, Image *im, GError **error)
{
  g_autoptr (DaeImageReader) reader = dae_image_reader_new_path (path, error);
  if (reader == NULL || !dae_image_reader_next (reader, &im->info, error))
    return FALSE;
  const size_t n = (size_t) im->info.width * im->info.height * im->info.channels;
  im->samples = g_new (guint16, n);
  return dae_image_reader_read_rows (reader, im->info.height, im->samples, error);
}

static gboolean
image_save (const char *path, guint width, guint height, guint channels, guint maxval,
            const float *pixels, GError **error)
{
  DaeImageInfo info = { .width = width, .height = height, .channels = channels,
                        .maxval = maxval };
  if (!dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PNG, error))
    return FALSE;
  const size_t n = (size_t) width * height * channels;
  g_autofree guint16 *samples = g_new (guint16, n);
  for (size_t i = 0; i < n; i++)
    samples[i] = (guint16) lrint (CLAMP (pixels[i], 0.0f, 1.0f) * maxval);

  FILE *fp = fopen (path, "wb");
  if (fp == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s: %s", path, g_strerror (errno));
      return FALSE;
    }
  g_autoptr (DaeImageWriter) writer = dae_image_writer_new (fp, &info, error);
  gboolean ok = writer != NULL && dae_image_writer_write_rows (writer, height, samples, error)
                && dae_image_writer_finish (writer, error);
  if (fclose (fp) != 0 && ok)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s: %s", path, g_strerror (errno));
      ok = FALSE;
    }
  return ok;
}

/* A normal deviate (Box-Muller) from GLib's Mersenne Twister. */
static double
gaussian (GRand *rand)
{
  const double u = 1.0 - g_rand_double (rand), v = g_rand_double (rand);
  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

typedef struct {
  const char *name;
  guint channels, maxval;
  gboolean light_page; /* dark strokes on light, as a scanned page */
  float bg[3], fg[3];
} Kind;

static const Kind kinds[] = {
  { "gray8", 1, 255, TRUE, { 0.95f }, { 0.05f } },
  { "rgb8", 3, 255, FALSE, { 0.10f, 0.12f, 0.30f }, { 1.00f, 0.90f, 0.55f } },
  { "rgba8", 4, 255, FALSE, { 0.25f, 0.05f, 0.05f }, { 0.80f, 1.00f, 0.90f } },
  { "gray16", 1, 65535, FALSE, { 0.0f }, { 1.0f } },
};

static int
make (const char *dir, const char *idx_path)
{
  g_autoptr (GError) error = NULL;
  guint n_dims, dims[3];
  g_autofree guint8 *digits = dae_idx_load (idx_path, &n_dims, dims, &error);
  if (digits == NULL)
    {
      g_printerr ("gimp-test-images: %s\n", error->message);
      return 1;
    }
  if (n_dims != 3 || dims[0] < COLS * ROWS || dims[1] != CELL || dims[2] != CELL)
    {
      g_printerr ("gimp-test-images: %s: expected at least %d digits of %dx%d\n", idx_path,
                  COLS * ROWS, CELL, CELL);
      return 1;
    }

  const guint width = COLS * CELL + 2 * MARGIN, height = ROWS * CELL + 2 * MARGIN;
  g_autofree float *ink = g_new0 (float, (size_t) width * height);
  for (guint d = 0; d < COLS * ROWS; d++)
    for (guint y = 0; y < CELL; y++)
      for (guint x = 0; x < CELL; x++)
        ink[(size_t) (MARGIN + d / COLS * CELL + y) * width + MARGIN + d % COLS * CELL + x] =
          digits[(size_t) d * CELL * CELL + y * CELL + x] / 255.0f;

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      const Kind *kd = &kinds[k];
      const guint n_colour = kd->channels >= 3 ? 3 : 1;
      const size_t n = (size_t) width * height * kd->channels;
      g_autofree float *clean = g_new (float, n);
      g_autofree float *noisy = g_new (float, n);
      GRand *rand = g_rand_new_with_seed (SEED + k);
      for (guint y = 0; y < height; y++)
        for (guint x = 0; x < width; x++)
          {
            const size_t p = (size_t) y * width + x;
            const float t = ink[p];
            /* One deviate for every colour channel: luminance noise (film
             * grain, sensor noise after demosaicing). */
            const float noise = (float) (SIGMA * gaussian (rand));
            for (guint c = 0; c < n_colour; c++)
              {
                const float v = kd->bg[c] + t * (kd->fg[c] - kd->bg[c]);
                clean[p * kd->channels + c] = v;
                noisy[p * kd->channels + c] = CLAMP (v + noise, 0.0f, 1.0f);
              }
            if (kd->channels == 4)
              clean[p * 4 + 3] = noisy[p * 4 + 3] = 0.3f + 0.7f * x / (width - 1);
          }
      g_rand_free (rand);

      g_autofree char *clean_path = g_strdup_printf ("%s/clean-%s.png", dir, kd->name);
      g_autofree char *noisy_path = g_strdup_printf ("%s/noisy-%s.png", dir, kd->name);
      if (!image_save (clean_path, width, height, kd->channels, kd->maxval, clean, &error)
          || !image_save (noisy_path, width, height, kd->channels, kd->maxval, noisy, &error))
        {
          g_printerr ("gimp-test-images: %s\n", error->message);
          return 1;
        }
    }
  return 0;
}

/* A page for the page-only switches (ink guard, speck filter): the top
 * left of TEXT (at most PAGE_TEXT_W x PAGE_TEXT_H, so that GEGL renders
 * the page in one piece) at twice its size (strokes about 4 px, in the speck filter's
 * range), beside them their mirror image at 30% of the ink's darkness (the
 * other side of thin paper showing through), 2x2 specks where no text or
 * mark is near, light noise.  CLEAN is the text and the marks without the
 * specks and the noise. */
static gboolean
page_pixels (const Image *text, guint w, guint h, float *clean, float *noisy)
{
  const guint tw = MIN (text->info.width, PAGE_TEXT_W), th = MIN (text->info.height, PAGE_TEXT_H);
  const guint stride = text->info.width;
  const guint tc = text->info.channels;
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const guint ly = y / 2 % th, lx = x / 2; /* the text, left; its mirror, right */
        const float t = x < 2 * tw ? (float) text->samples[((size_t) ly * stride + lx) * tc]
                                       / text->info.maxval : 1.0f;
        const guint mx = (w - 1 - x) / 2;
        const float b = x >= w - 2 * tw ? (float) text->samples[((size_t) ly * stride + mx) * tc]
                                            / text->info.maxval : 1.0f;
        clean[(size_t) y * w + x] = t * (1.0f - 0.3f * (1.0f - b));
      }
  GRand *rand = g_rand_new_with_seed (SEED);
  memcpy (noisy, clean, sizeof (float) * w * h);
  guint n_specks = 0;
  for (guint tries = 0; tries < 20000 && n_specks < 60; tries++)
    {
      const guint y = (guint) g_rand_int_range (rand, 16, (gint32) h - 16);
      const guint x = (guint) g_rand_int_range (rand, 16, (gint32) w - 16);
      gboolean clear = TRUE; /* nothing but paper within 16 px */
      for (guint yy = y - 16; clear && yy <= y + 16; yy++)
        for (guint xx = x - 16; clear && xx <= x + 16; xx++)
          clear = noisy[(size_t) yy * w + xx] > 0.9f;
      if (!clear)
        continue;
      for (guint i = 0; i < 4; i++)
        noisy[(size_t) (y + i / 2) * w + x + i % 2] = 0.1f;
      n_specks++;
    }
  for (size_t i = 0; i < (size_t) w * h; i++)
    noisy[i] = CLAMP (noisy[i] + (float) (3.0 / 255 * gaussian (rand)), 0.0f, 1.0f);
  g_rand_free (rand);
  return n_specks >= 30;
}

/* Salt-and-pepper over CLEAN into SP: about IMPULSE_RATE of the samples,
 * from a fixed seed, set to exactly black or white (half each), as a
 * scanner's dropped and stuck pixels: the impulse filter's case. */
static void
salt_and_pepper (const float *clean, size_t n, float *sp)
{
  GRand *rand = g_rand_new_with_seed (SEED + 1);
  for (size_t i = 0; i < n; i++)
    {
      const double u = g_rand_double (rand);
      sp[i] = u < IMPULSE_RATE / 2 ? 0.0f : u < IMPULSE_RATE ? 1.0f : clean[i];
    }
  g_rand_free (rand);
}

static int
make_page (const char *dir, const char *text_path)
{
  g_autoptr (GError) error = NULL;
  g_auto (Image) text = { 0 };
  if (!image_load (text_path, &text, &error))
    {
      g_printerr ("gimp-test-images: %s\n", error->message);
      return 1;
    }
  const guint w = 4 * MIN (text.info.width, PAGE_TEXT_W) + 64;
  const guint h = 2 * MIN (text.info.height, PAGE_TEXT_H);
  g_autofree float *clean = g_new (float, (size_t) w * h);
  g_autofree float *noisy = g_new (float, (size_t) w * h);
  g_autofree float *sp = g_new (float, (size_t) w * h);
  if (!page_pixels (&text, w, h, clean, noisy))
    {
      g_printerr ("gimp-test-images: %s: no room for the specks\n", text_path);
      return 1;
    }
  salt_and_pepper (clean, (size_t) w * h, sp);
  /* 8 bits for GIMP, 16 for the gegl command (which writes 16-bit PNGs). */
  static const struct { const char *suffix; guint maxval; } depths[] = { { "", 255 },
                                                                       { "16", 65535 } };
  for (guint d = 0; d < G_N_ELEMENTS (depths); d++)
    {
      g_autofree char *clean_path = g_strdup_printf ("%s/clean-page%s.png", dir, depths[d].suffix);
      g_autofree char *noisy_path = g_strdup_printf ("%s/noisy-page%s.png", dir, depths[d].suffix);
      g_autofree char *sp_path = g_strdup_printf ("%s/noisy-page-sp%s.png", dir, depths[d].suffix);
      if (!image_save (clean_path, w, h, 1, depths[d].maxval, clean, &error)
          || !image_save (noisy_path, w, h, 1, depths[d].maxval, noisy, &error)
          || !image_save (sp_path, w, h, 1, depths[d].maxval, sp, &error))
        {
          g_printerr ("gimp-test-images: %s\n", error->message);
          return 1;
        }
    }
  return 0;
}

typedef struct {
  gint x, y, w, h;
} Rect;

static gboolean
parse_selection (const char *text, GArray *rects)
{
  g_auto (GStrv) parts = g_strsplit (text, ":", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      Rect r;
      char end;
      if (sscanf (parts[i], "%d,%d,%d,%d%c", &r.x, &r.y, &r.w, &r.h, &end) != 4 || r.w <= 0
          || r.h <= 0)
        return FALSE;
      g_array_append_val (rects, r);
    }
  return rects->len > 0;
}

static gboolean
in_selection (const GArray *rects, guint x, guint y)
{
  for (guint i = 0; i < rects->len; i++)
    {
      const Rect *r = &g_array_index (rects, Rect, i);
      if ((gint) x >= r->x && (gint) x < r->x + r->w && (gint) y >= r->y && (gint) y < r->y + r->h)
        return TRUE;
    }
  return FALSE;
}

static double
psnr (double sum_sq, guint64 n)
{
  return n == 0 ? NAN : sum_sq == 0.0 ? INFINITY : 10.0 * log10 ((double) n / sum_sq);
}

static int
check (int argc, char **argv)
{
  double min_gain = 0.0;
  gboolean same = FALSE, same_inside = FALSE, differ = FALSE;
  guint tolerance = 0; /* --same: samples may differ by this much */
  g_autoptr (GArray) sel = g_array_new (FALSE, FALSE, sizeof (Rect));
  const char *paths[4];
  int n_paths = 0;
  for (int i = 0; i < argc; i++)
    {
      if (strcmp (argv[i], "--min-gain") == 0 && i + 1 < argc)
        min_gain = g_ascii_strtod (argv[++i], NULL);
      else if (strcmp (argv[i], "--selection") == 0 && i + 1 < argc)
        {
          if (!parse_selection (argv[++i], sel))
            {
              g_printerr ("gimp-test-images: bad --selection %s\n", argv[i]);
              return 2;
            }
        }
      else if (strcmp (argv[i], "--same") == 0)
        same = TRUE;
      else if (strcmp (argv[i], "--same-inside") == 0)
        same_inside = TRUE;
      else if (strcmp (argv[i], "--differ") == 0)
        differ = TRUE;
      else if (strcmp (argv[i], "--tolerance") == 0 && i + 1 < argc)
        tolerance = (guint) atoi (argv[++i]);
      else if (n_paths < 4)
        paths[n_paths++] = argv[i];
      else
        return 2;
    }
  if (n_paths != 4)
    {
      g_printerr ("usage: gimp-test-images check NAME CLEAN BEFORE AFTER [options]\n");
      return 2;
    }
  const char *name = paths[0];

  g_auto (Image) clean = { 0 }, before = { 0 }, after = { 0 };
  g_autoptr (GError) error = NULL;
  if (!image_load (paths[1], &clean, &error) || !image_load (paths[2], &before, &error)
      || !image_load (paths[3], &after, &error))
    {
      printf ("not ok - %s: %s\n", name, error->message);
      return 1;
    }
  const DaeImageInfo *ci = &clean.info, *bi = &before.info, *ai = &after.info;
  if (bi->width != ci->width || bi->height != ci->height || ai->width != ci->width
      || ai->height != ci->height || ai->channels != bi->channels || ai->maxval != bi->maxval
      || bi->has_alpha != ci->has_alpha || ai->channels - ai->has_alpha != ci->channels - ci->has_alpha)
    {
      printf ("not ok - %s: sizes or channels differ: clean %ux%ux%u, before %ux%ux%u, "
              "after %ux%ux%u (maxval %u/%u)\n",
              name, ci->width, ci->height, ci->channels, bi->width, bi->height, bi->channels,
              ai->width, ai->height, ai->channels, bi->maxval, ai->maxval);
      return 1;
    }

  const guint w = ci->width, h = ci->height, cc = ci->channels, ac = ai->channels;
  const guint n_colour = cc - (ci->has_alpha ? 1 : 0);
  double err_before = 0, err_after = 0;
  guint64 n = 0, alpha_changed = 0, outside_changed = 0, changed = 0;
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        const size_t p = (size_t) y * w + x;
        const gboolean inside = sel->len == 0 || in_selection (sel, x, y);
        for (guint c = 0; c < ac; c++)
          if (ABS ((int) before.samples[p * ac + c] - (int) after.samples[p * ac + c])
              > (int) tolerance)
            {
              changed++;
              if (!inside)
                outside_changed++;
              if (ai->has_alpha && c == ac - 1)
                alpha_changed++;
            }
        if (!inside)
          continue;
        for (guint c = 0; c < n_colour; c++)
          {
            const double t = (double) clean.samples[p * cc + c] / ci->maxval;
            const double b = (double) before.samples[p * ac + c] / bi->maxval;
            const double a = (double) after.samples[p * ac + c] / ai->maxval;
            err_before += (b - t) * (b - t);
            err_after += (a - t) * (a - t);
            n++;
          }
      }

  const double pb = psnr (err_before, n), pa = psnr (err_after, n);
  GString *fail = g_string_new (NULL);
  if (differ)
    {
      if (changed == 0)
        g_string_append (fail, "; nothing differs");
    }
  else if (same)
    {
      if (changed > 0)
        g_string_append_printf (fail, "; %" G_GUINT64_FORMAT " samples changed", changed);
    }
  else if (same_inside)
    {
      if (changed > outside_changed)
        g_string_append_printf (fail, "; %" G_GUINT64_FORMAT " samples inside differ",
                                changed - outside_changed);
    }
  else
    {
      if (!(pa - pb >= min_gain))
        g_string_append_printf (fail, "; PSNR gain below %.1f dB", min_gain);
      if (alpha_changed > 0)
        g_string_append_printf (fail, "; %" G_GUINT64_FORMAT " alpha samples changed",
                                alpha_changed);
      if (outside_changed > 0)
        g_string_append_printf (fail, "; %" G_GUINT64_FORMAT " samples outside the selection "
                                "changed", outside_changed);
    }
  printf ("%s - %s: PSNR %.2f dB -> %.2f dB (%+.2f)%s%s\n", fail->len ? "not ok" : "ok", name,
          pb, pa, pa - pb,
          differ && changed > 0 ? ", differs" : same ? ", unchanged"
          : same_inside ? ", same inside" : "",
          fail->str);
  const int status = fail->len ? 1 : 0;
  g_string_free (fail, TRUE);
  return status;
}

int
main (int argc, char **argv)
{
  if ((argc == 4 || argc == 5) && strcmp (argv[1], "make") == 0)
    {
      const int status = make (argv[2], argv[3]);
      return status != 0 || argc == 4 ? status : make_page (argv[2], argv[4]);
    }
  if (argc >= 2 && strcmp (argv[1], "check") == 0)
    return check (argc - 2, argv + 2);
  g_printerr ("usage: gimp-test-images make DIR DIGITS.idx.gz [TEXT.png]\n"
              "       gimp-test-images check NAME CLEAN BEFORE AFTER [--min-gain DB]\n"
              "                        [--selection X,Y,W,H[:...]] [--same] [--same-inside]\n"
              "                        [--differ] [--tolerance N]\n");
  return 2;
}
