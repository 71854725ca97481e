/* test-io.c: the image codecs (PNM, PAM, PNG) and IDX files: round trips
 * of every format, type and depth; multi-image streams; fixtures made by
 * netpbm and by hand; refusal of every truncation and of bad headers,
 * samples, sizes and CRCs; and, when netpbm is installed, agreement with
 * pamfile/pngtopam/pnmtopng.  Metadata (PNG chunks checked by libpng),
 * JPEG and TIFF (fixtures made by libtiff in the test). */
#include "dae.h"

#include <glib/gstdio.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <tiffio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- helpers ------------------------------------------------------------ */

static guint16 *
random_samples (GRand *rng, size_t n, guint maxval)
{
  guint16 *s = g_new (guint16, n);
  for (size_t i = 0; i < n; i++)
    s[i] = (guint16) g_rand_int_range (rng, 0, (gint32) maxval + 1);
  /* Make sure the extremes occur. */
  s[0] = 0;
  if (n > 1)
    s[n - 1] = (guint16) maxval;
  return s;
}

static size_t
n_samples (const DaeImageInfo *info)
{
  return (size_t) info->width * info->height * info->channels;
}

/* Appends one image to @fp, in bands of random heights. */
static void
write_image (FILE *fp, const DaeImageInfo *info, const guint16 *samples,
             GRand *rng)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageWriter) w = dae_image_writer_new (fp, info, &error);
  g_assert_no_error (error);
  size_t row = (size_t) info->width * info->channels;
  for (guint y = 0; y < info->height;)
    {
      guint n = (guint) g_rand_int_range (rng, 1, 5);
      n = MIN (n, info->height - y);
      gboolean ok = dae_image_writer_write_rows (w, n, samples + y * row, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      y += n;
    }
  g_assert_true (dae_image_writer_finish (w, &error));
  g_assert_no_error (error);
}

static GBytes *
encode (const DaeImageInfo *info, const guint16 *samples)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  GRand *rng = g_rand_new_with_seed (info->width * 31 + info->height);
  write_image (fp, info, samples, rng);
  g_rand_free (rng);
  fclose (fp);
  return g_bytes_new_take (buf, len);
}

/* Reads the next image whole, in bands of @band rows. */
static guint16 *
read_image (DaeImageReader *r, DaeImageInfo *info, guint band, GError **error)
{
  if (!dae_image_reader_next (r, info, error))
    return NULL;
  size_t row = (size_t) info->width * info->channels;
  guint16 *s = g_new (guint16, row * info->height);
  for (guint y = 0; y < info->height; y += band)
    if (!dae_image_reader_read_rows (r, MIN (band, info->height - y),
                                     s + y * row, error))
      {
        g_free (s);
        return NULL;
      }
  return s;
}

/* Decodes a one-image stream, checking that it ends cleanly. */
static guint16 *
decode (GBytes *bytes, DaeImageInfo *info)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (
    g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  guint16 *s = read_image (r, info, 3, &error);
  g_assert_no_error (error);
  DaeImageInfo more;
  g_assert_false (dae_image_reader_next (r, &more, &error));
  g_assert_no_error (error);
  return s;
}

/* Reads every image of a stream; returns how many, or -1 with @error. */
static int
decode_all (const void *data, size_t size, GError **error)
{
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (data, size);
  int n = 0;
  DaeImageInfo info;
  guint16 *s;
  while ((s = read_image (r, &info, 2, error)) != NULL)
    {
      g_free (s);
      n++;
    }
  return *error ? -1 : n;
}

/* An error must be one line naming the problem. */
static void
assert_one_line (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == DAE_ERROR);
  g_assert_cmpuint (strlen (error->message), >, 5);
  g_assert_null (strchr (error->message, '\n'));
}

static void
assert_refused (const void *data, size_t size, const char *substring)
{
  g_autoptr (GError) error = NULL;
  int n = decode_all (data, size, &error);
  if (n >= 0)
    g_error ("accepted %d image(s) from \"%.*s\"", n, (int) MIN (size, 60),
             (const char *) data);
  assert_one_line (error);
  if (substring && strstr (error->message, substring) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, substring);
}

static void
assert_refused_str (const char *text, const char *substring)
{
  assert_refused (text, strlen (text), substring);
}

static DaeImageInfo
make_info (DaeImageFormat format, guint w, guint h, guint channels,
           guint maxval, DaeTupleType tuple)
{
  DaeImageInfo info = { 0 };
  info.width = w;
  info.height = h;
  info.channels = channels;
  info.maxval = maxval;
  info.tuple_type = tuple;
  g_autoptr (GError) error = NULL;
  g_assert_true (dae_image_info_set_format (&info, format, &error));
  g_assert_no_error (error);
  return info;
}

static void
assert_same_info (const DaeImageInfo *a, const DaeImageInfo *b)
{
  g_assert_cmpint (a->format, ==, b->format);
  g_assert_cmpuint (a->width, ==, b->width);
  g_assert_cmpuint (a->height, ==, b->height);
  g_assert_cmpuint (a->channels, ==, b->channels);
  g_assert_cmpuint (a->maxval, ==, b->maxval);
  g_assert_cmpint (a->has_alpha, ==, b->has_alpha);
  g_assert_cmpint (a->tuple_type, ==, b->tuple_type);
}

static char *
fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "io", name, NULL);
}

static GBytes *
fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr (GError) error = NULL;
  char *data;
  size_t len;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

/* Round-trips random samples through @format and checks every sample. */
static void
check_round_trip (DaeImageFormat format, guint w, guint h, guint channels,
                  guint maxval, DaeTupleType tuple, GRand *rng)
{
  DaeImageInfo info = make_info (format, w, h, channels, maxval, tuple);
  g_autofree guint16 *s = random_samples (rng, n_samples (&info), maxval);
  g_autoptr (GBytes) bytes = encode (&info, s);
  DaeImageInfo back;
  g_autofree guint16 *t = decode (bytes, &back);
  assert_same_info (&info, &back);
  g_assert_cmpmem (s, n_samples (&info) * 2, t, n_samples (&back) * 2);
}

static const guint sizes[][2] = { { 1, 1 }, { 1, 5 }, { 6, 1 }, { 8, 2 },
                                  { 9, 3 }, { 37, 4 } };

/* ---- round trips -------------------------------------------------------- */

static void
test_round_trip_pnm (void)
{
  GRand *rng = g_rand_new_with_seed (1);
  static const guint maxvals[] = { 1, 2, 255, 256, 1000, 65535 };
  for (DaeImageFormat f = DAE_IMAGE_FORMAT_PBM_PLAIN; f <= DAE_IMAGE_FORMAT_PPM; f++)
    for (guint m = 0; m < G_N_ELEMENTS (maxvals); m++)
      for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
        {
          gboolean pbm = f == DAE_IMAGE_FORMAT_PBM || f == DAE_IMAGE_FORMAT_PBM_PLAIN;
          gboolean ppm = f == DAE_IMAGE_FORMAT_PPM || f == DAE_IMAGE_FORMAT_PPM_PLAIN;
          if (pbm && maxvals[m] != 1)
            continue;
          check_round_trip (f, sizes[k][0], sizes[k][1], ppm ? 3 : 1,
                            maxvals[m], 0, rng);
        }
  g_rand_free (rng);
}

static void
test_round_trip_pam (void)
{
  GRand *rng = g_rand_new_with_seed (2);
  static const guint maxvals[] = { 1, 7, 255, 256, 65535 };
  for (DaeTupleType t = DAE_TUPLE_TYPE_BLACKANDWHITE; t <= DAE_TUPLE_TYPE_RGB_ALPHA; t++)
    for (guint m = 0; m < G_N_ELEMENTS (maxvals); m++)
      for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
        {
          static const guint depth[] = { 0, 1, 1, 3, 2, 2, 4 };
          gboolean bw = t == DAE_TUPLE_TYPE_BLACKANDWHITE
                        || t == DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA;
          if (bw && maxvals[m] != 1)
            continue;
          DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PAM, 2, 2, depth[t],
                                         maxvals[m], t);
          g_assert_cmpint (info.tuple_type, ==, t);
          check_round_trip (DAE_IMAGE_FORMAT_PAM, sizes[k][0], sizes[k][1],
                            depth[t], maxvals[m], t, rng);
        }
  g_rand_free (rng);
}

static void
test_round_trip_png (void)
{
  GRand *rng = g_rand_new_with_seed (3);
  static const guint maxvals[] = { 1, 3, 15, 255, 65535 };
  for (guint c = 1; c <= 4; c++)
    for (guint m = 0; m < G_N_ELEMENTS (maxvals); m++)
      for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
        {
          if (c > 1 && maxvals[m] < 255)
            continue;
          check_round_trip (DAE_IMAGE_FORMAT_PNG, sizes[k][0], sizes[k][1], c,
                            maxvals[m], 0, rng);
        }

  /* Bit depths as stored. */
  static const struct { guint c, maxval, depth; DaePngColorType type; } t[] = {
    { 1, 1, 1, DAE_PNG_COLOR_GRAY }, { 1, 3, 2, DAE_PNG_COLOR_GRAY },
    { 1, 15, 4, DAE_PNG_COLOR_GRAY }, { 2, 255, 8, DAE_PNG_COLOR_GRAY_ALPHA },
    { 3, 65535, 16, DAE_PNG_COLOR_RGB }, { 4, 255, 8, DAE_PNG_COLOR_RGB_ALPHA },
  };
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 3, 2, t[i].c, t[i].maxval, 0);
      g_autofree guint16 *s = random_samples (rng, n_samples (&info), t[i].maxval);
      g_autoptr (GBytes) bytes = encode (&info, s);
      DaeImageInfo back;
      g_autofree guint16 *u = decode (bytes, &back);
      g_assert_cmpmem (s, n_samples (&info) * 2, u, n_samples (&back) * 2);
      g_assert_cmpuint (back.png_bit_depth, ==, t[i].depth);
      g_assert_cmpint (back.png_color_type, ==, t[i].type);
      g_assert_cmpuint (info.png_bit_depth, ==, t[i].depth);
    }

  /* Other maxvals are rescaled, rounding, to 8 or 16 bits. */
  static const guint odd[][2] = { { 100, 255 }, { 1000, 65535 }, { 7, 255 } };
  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      guint m = odd[i][0], sm = odd[i][1];
      DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 17, 3, 1, m, 0);
      g_autofree guint16 *s = random_samples (rng, n_samples (&info), m);
      g_autoptr (GBytes) bytes = encode (&info, s);
      DaeImageInfo back;
      g_autofree guint16 *u = decode (bytes, &back);
      g_assert_cmpuint (back.maxval, ==, sm);
      for (size_t j = 0; j < n_samples (&info); j++)
        g_assert_cmpuint (u[j], ==, (s[j] * sm + m / 2) / m);
    }
  g_rand_free (rng);
}

/* Reading in bands of any height gives the same samples. */
static void
test_bands (void)
{
  GRand *rng = g_rand_new_with_seed (4);
  for (DaeImageFormat f = DAE_IMAGE_FORMAT_PBM_PLAIN; f <= DAE_IMAGE_FORMAT_PNG; f++)
    {
      gboolean pbm = f == DAE_IMAGE_FORMAT_PBM || f == DAE_IMAGE_FORMAT_PBM_PLAIN;
      gboolean ppm = f == DAE_IMAGE_FORMAT_PPM || f == DAE_IMAGE_FORMAT_PPM_PLAIN;
      guint c = ppm ? 3 : f >= DAE_IMAGE_FORMAT_PAM ? 2 : 1;
      guint m = pbm ? 1 : f == DAE_IMAGE_FORMAT_PNG ? 65535 : 300;
      DaeImageInfo info = make_info (f, 5, 13, c, m, 0);
      g_autofree guint16 *s = random_samples (rng, n_samples (&info), m);
      g_autoptr (GBytes) bytes = encode (&info, s);
      for (guint band = 1; band <= 14; band++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (
            g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
          DaeImageInfo back;
          g_autofree guint16 *t = read_image (r, &back, band, &error);
          g_assert_no_error (error);
          g_assert_cmpmem (s, n_samples (&info) * 2, t, n_samples (&back) * 2);
          /* No rows left to ask for. */
          guint16 extra[10];
          g_assert_false (dae_image_reader_read_rows (r, 1, extra, &error));
          assert_one_line (error);
        }
    }
  g_rand_free (rng);
}

/* ---- fixtures made by other programs ------------------------------------ */

/* Each PNG decodes as netpbm's pngtopam does (saved beside it). */
static void
test_png_fixtures (void)
{
  static const struct {
    const char *png, *pnm;
    DaePngColorType type;
    guint depth;
  } t[] = {
    { "rgb-palette-trns.png", "rgb-palette-trns.pam", DAE_PNG_COLOR_PALETTE, 8 },
    { "rgb-interlaced-trns.png", "rgb-interlaced-trns.pam", DAE_PNG_COLOR_PALETTE, 8 },
    { "rgb-palette2.png", "rgb-palette2.ppm", DAE_PNG_COLOR_PALETTE, 2 },
    { "gray-palette-trns.png", "gray-palette-trns.pam", DAE_PNG_COLOR_PALETTE, 8 },
    { "gray4-interlaced.png", "gray4-interlaced.pgm", DAE_PNG_COLOR_GRAY, 4 },
    { "gray16.png", "gray16.pgm", DAE_PNG_COLOR_GRAY, 16 },
    { "gray1-trns.png", "gray1-trns.pam", DAE_PNG_COLOR_GRAY, 1 },
    { "gray-alpha.png", "gray-alpha.pam", DAE_PNG_COLOR_GRAY_ALPHA, 8 },
    { "rgb-trns.png", "rgb-trns.pam", DAE_PNG_COLOR_RGB, 8 },
    { "rgba16.png", "rgba16.pam", DAE_PNG_COLOR_RGB_ALPHA, 16 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      g_test_message ("%s", t[i].png);
      g_autoptr (GBytes) png = fixture (t[i].png);
      g_autoptr (GBytes) pnm = fixture (t[i].pnm);
      DaeImageInfo a, b;
      g_autofree guint16 *s = decode (png, &a);
      g_autofree guint16 *u = decode (pnm, &b);
      g_assert_cmpint (a.format, ==, DAE_IMAGE_FORMAT_PNG);
      g_assert_cmpint (a.png_color_type, ==, t[i].type);
      g_assert_cmpuint (a.png_bit_depth, ==, t[i].depth);
      g_assert_cmpuint (a.width, ==, b.width);
      g_assert_cmpuint (a.height, ==, b.height);
      g_assert_cmpuint (a.channels, ==, b.channels);
      g_assert_cmpuint (a.maxval, ==, b.maxval);
      g_assert_cmpint (a.has_alpha, ==, b.has_alpha);
      g_assert_cmpmem (s, n_samples (&a) * 2, u, n_samples (&b) * 2);
    }
}

/* Plain netpbm files agree with the raw ones netpbm made of them. */
static void
test_pnm_fixtures (void)
{
  g_autoptr (GBytes) plain = fixture ("gray.pgm");
  g_autoptr (GBytes) raw = fixture ("gray16.pgm");
  DaeImageInfo a, b;
  g_autofree guint16 *s = decode (plain, &a);
  g_autofree guint16 *u = decode (raw, &b);
  g_assert_cmpint (a.format, ==, DAE_IMAGE_FORMAT_PGM_PLAIN);
  g_assert_cmpint (b.format, ==, DAE_IMAGE_FORMAT_PGM);
  g_assert_cmpuint (a.maxval, ==, 65535);
  g_assert_cmpmem (s, n_samples (&a) * 2, u, n_samples (&b) * 2);

  g_autoptr (GBytes) ppm = fixture ("rgb.ppm");
  g_autofree guint16 *v = decode (ppm, &a);
  g_assert_cmpint (a.format, ==, DAE_IMAGE_FORMAT_PPM_PLAIN);
  g_assert_cmpuint (a.channels, ==, 3);
  /* rgb.ppm's first pixels are (x*19+y*7, x*5+y*31, x*y*11) mod 256. */
  for (guint y = 0; y < a.height; y++)
    for (guint x = 0; x < a.width; x++)
      {
        const guint16 *p = v + (y * a.width + x) * 3;
        g_assert_cmpuint (p[0], ==, (x * 19 + y * 7) % 256);
        g_assert_cmpuint (p[1], ==, (x * 5 + y * 31) % 256);
        g_assert_cmpuint (p[2], ==, (x * y * 11) % 256);
      }
}

/* ---- headers, comments, plain data -------------------------------------- */

static void
test_comments (void)
{
  static const char *const texts[] = {
    "P2\n3 2\n9\n1 2 3\n4 5 9\n",
    "P2 3 2 9 1 2 3 4 5 9",
    "P2#c\n3#w\n# a comment line\n2 # h\n9# maxval\n1 2 3\n# in the data\n4 5 9\n",
    "P2\r\n3\t2\f9\v1 2 3\r\n4 5 9\r\n",
    ("P7\n# comment\nWIDTH 3\n\nHEIGHT 2\n  DEPTH 1\nMAXVAL 9\n# more\nTUPLTYPE GRAYSCALE\nENDHDR\n"
     "\x01\x02\x03\x04\x05\x09"),
    "P5 3 2 9\n\x01\x02\x03\x04\x05\x09",
    "P5 3 2 9# comment before the raster\n\x01\x02\x03\x04\x05\x09",
  };
  static const guint16 want[] = { 1, 2, 3, 4, 5, 9 };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_test_message ("%u", i);
      g_autoptr (GBytes) b = g_bytes_new_static (texts[i], strlen (texts[i]));
      DaeImageInfo info;
      g_autofree guint16 *s = decode (b, &info);
      g_assert_cmpuint (info.width, ==, 3);
      g_assert_cmpuint (info.height, ==, 2);
      g_assert_cmpuint (info.maxval, ==, 9);
      g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_GRAYSCALE);
      g_assert_cmpmem (s, sizeof want, want, sizeof want);
    }
}

static void
test_plain_pbm (void)
{
  /* 1 is black in PBM and reads as 0; bits need no spaces between them. */
  static const char *const texts[] = {
    "P1\n4 2\n0110\n1001\n",
    "P1 4 2 0 1 1 0 1 0 0 1",
    "P1\n4 2\n01101001",
    "P1\n4 2\n01\n# comment\n10 10\n01\n",
  };
  static const guint16 want[] = { 1, 0, 0, 1, 0, 1, 1, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new_static (texts[i], strlen (texts[i]));
      DaeImageInfo info;
      g_autofree guint16 *s = decode (b, &info);
      g_assert_cmpint (info.format, ==, DAE_IMAGE_FORMAT_PBM_PLAIN);
      g_assert_cmpuint (info.maxval, ==, 1);
      g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_BLACKANDWHITE);
      g_assert_cmpmem (s, sizeof want, want, sizeof want);
    }
  /* Raw PBM: the same bits, padded to a byte per row. */
  static const char raw[] = "P4\n4 2\n\x60\x90";
  g_autoptr (GBytes) b = g_bytes_new_static (raw, sizeof raw - 1);
  DaeImageInfo info;
  g_autofree guint16 *s = decode (b, &info);
  g_assert_cmpmem (s, sizeof want, want, sizeof want);
  /* And written back the same way. */
  g_autoptr (GBytes) again = encode (&info, s);
  g_assert_cmpmem (g_bytes_get_data (again, NULL), g_bytes_get_size (again),
                   raw, sizeof raw - 1);
}

/* Unknown or missing PAM tuple types are read by their depth. */
static void
test_pam_tuple_types (void)
{
  static const struct { const char *text; guint c; DaeTupleType t; } cases[] = {
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 9\nENDHDR\n\x05", 1, DAE_TUPLE_TYPE_GRAYSCALE },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 9\nTUPLTYPE FOO\nENDHDR\n\x05\x05", 2,
      DAE_TUPLE_TYPE_GRAYSCALE_ALPHA },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 9\nTUPLTYPE YCbCr\nENDHDR\n\x05\x05\x05", 3,
      DAE_TUPLE_TYPE_RGB },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 9\nENDHDR\n\x05\x05\x05\x05", 4,
      DAE_TUPLE_TYPE_RGB_ALPHA },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 1\nTUPLTYPE BLACKANDWHITE_ALPHA\nENDHDR\n\x01\x01",
      2, DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* The raster bytes are non-zero, so strlen() sees them all. */
      size_t len = strlen (cases[i].text);
      g_autoptr (GBytes) b = g_bytes_new_static (cases[i].text, len);
      DaeImageInfo info;
      g_autofree guint16 *s = decode (b, &info);
      const char *raster = strstr (cases[i].text, "ENDHDR\n") + 7;
      for (guint k = 0; k < cases[i].c; k++)
        g_assert_cmpuint (s[k], ==, (guint8) raster[k]);
      g_assert_cmpuint (info.channels, ==, cases[i].c);
      g_assert_cmpint (info.tuple_type, ==, cases[i].t);
      g_assert_cmpint (info.has_alpha, ==, cases[i].c % 2 == 0);
    }
}

/* ---- streams ------------------------------------------------------------ */

static void
test_multi_image (void)
{
  GRand *rng = g_rand_new_with_seed (5);
  DaeImageInfo infos[] = {
    make_info (DAE_IMAGE_FORMAT_PGM, 7, 3, 1, 255, 0),
    make_info (DAE_IMAGE_FORMAT_PPM_PLAIN, 2, 5, 3, 1000, 0),
    make_info (DAE_IMAGE_FORMAT_PAM, 4, 4, 4, 65535, DAE_TUPLE_TYPE_RGB_ALPHA),
    make_info (DAE_IMAGE_FORMAT_PNG, 9, 2, 2, 255, 0),
    make_info (DAE_IMAGE_FORMAT_PBM, 11, 1, 1, 1, 0),
    make_info (DAE_IMAGE_FORMAT_PNG, 1, 1, 1, 65535, 0),
  };
  guint n = G_N_ELEMENTS (infos);
  guint16 *samples[G_N_ELEMENTS (infos)];
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  for (guint i = 0; i < n; i++)
    {
      samples[i] = random_samples (rng, n_samples (&infos[i]), infos[i].maxval);
      write_image (fp, &infos[i], samples[i], rng);
    }
  fclose (fp);

  /* Read them all, in bands. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (buf, len);
  for (guint i = 0; i < n; i++)
    {
      DaeImageInfo info;
      g_autofree guint16 *s = read_image (r, &info, 2, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (dae_image_reader_get_index (r), ==, i + 1);
      assert_same_info (&infos[i], &info);
      g_assert_cmpmem (s, n_samples (&info) * 2, samples[i], n_samples (&info) * 2);
    }
  DaeImageInfo info;
  g_assert_false (dae_image_reader_next (r, &info, &error));
  g_assert_no_error (error);

  /* Skipping images or reading only some rows of them. */
  for (guint skip = 0; skip < 3; skip++)
    {
      g_autoptr (DaeImageReader) r2 = dae_image_reader_new_memory (buf, len);
      for (guint i = 0; i < n; i++)
        {
          g_assert_true (dae_image_reader_next (r2, &info, &error));
          g_assert_no_error (error);
          assert_same_info (&infos[i], &info);
          if (skip > 0 && info.height >= skip)
            {
              g_autofree guint16 *s = g_new (guint16, n_samples (&info));
              g_assert_true (dae_image_reader_read_rows (r2, skip, s, &error));
              g_assert_cmpmem (s, (size_t) skip * info.width * info.channels * 2,
                               samples[i], (size_t) skip * info.width * info.channels * 2);
            }
        }
      g_assert_false (dae_image_reader_next (r2, &info, &error));
      g_assert_no_error (error);
    }

  /* Whitespace after an image is fine; anything else is junk. */
  GString *s = g_string_new_len (buf, (gssize) len);
  g_string_append (s, "\n \t\r\n");
  g_assert_cmpint (decode_all (s->str, s->len, &error), ==, (int) n);
  g_assert_no_error (error);
  g_string_append (s, "junk");
  assert_refused (s->str, s->len, "junk after image 6");
  g_string_truncate (s, len);
  g_string_append_c (s, '\0');
  assert_refused (s->str, s->len, "junk after image 6");
  g_string_truncate (s, len);
  g_string_append (s, "P9");
  assert_refused (s->str, s->len, "junk after image 6");
  g_string_truncate (s, len);
  g_string_append (s, "P5 2 2 255\n\x01");
  assert_refused (s->str, s->len, "image 7: truncated image data at row 1 of 2");
  g_string_free (s, TRUE);

  for (guint i = 0; i < n; i++)
    g_free (samples[i]);
  g_free (buf);
  g_rand_free (rng);
}

static void
test_junk_after_png (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 3, 3, 3, 255, 0);
  guint16 s[27] = { 0 };
  g_autoptr (GBytes) b = encode (&info, s);
  GString *t = g_string_new_len (g_bytes_get_data (b, NULL), (gssize) g_bytes_get_size (b));
  g_string_append (t, "xyz");
  assert_refused (t->str, t->len, "junk after image 1");
  g_string_free (t, TRUE);
}

/* Every proper prefix of a raw or PNG image is refused, and of a plain
 * image too unless it ends inside the last sample or after it. */
static void
check_truncations (GBytes *bytes, size_t last_token)
{
  size_t len;
  const guint8 *d = g_bytes_get_data (bytes, &len);
  for (size_t k = 0; k < len; k++)
    {
      if (k > last_token)
        continue;
      guint8 *copy = g_memdup2 (d, k); /* exact size, for ASan */
      assert_refused (copy, k, NULL);
      g_free (copy);
    }
}

static void
test_truncated (void)
{
  GRand *rng = g_rand_new_with_seed (6);
  for (DaeImageFormat f = DAE_IMAGE_FORMAT_PBM_PLAIN; f <= DAE_IMAGE_FORMAT_PNG; f++)
    {
      gboolean pbm = f == DAE_IMAGE_FORMAT_PBM || f == DAE_IMAGE_FORMAT_PBM_PLAIN;
      gboolean ppm = f == DAE_IMAGE_FORMAT_PPM || f == DAE_IMAGE_FORMAT_PPM_PLAIN;
      gboolean plain = f <= DAE_IMAGE_FORMAT_PPM_PLAIN;
      guint c = ppm ? 3 : f >= DAE_IMAGE_FORMAT_PAM ? 4 : 1;
      for (guint deep = 0; deep < 2; deep++)
        {
          guint m = pbm ? 1 : deep ? 65535 : 200;
          DaeImageInfo info = make_info (f, 5, 3, c, m, 0);
          g_autofree guint16 *s = random_samples (rng, n_samples (&info), m);
          /* No zero as last sample: "0" cut to "" must not look complete. */
          s[n_samples (&info) - 1] = (guint16) m;
          g_autoptr (GBytes) b = encode (&info, s);
          size_t len, last = G_MAXSIZE;
          const char *d = g_bytes_get_data (b, &len);
          if (plain)
            {
              /* The start of the last sample. */
              last = len - 1;
              while (last > 0 && g_ascii_isspace (d[last]))
                last--;
              while (last > 0 && g_ascii_isdigit (d[last - 1]) && !pbm)
                last--;
            }
          check_truncations (b, last);
        }
    }
  /* The netpbm and hand-made fixtures too. */
  static const char *const names[] = { "rgb-palette-trns.png", "gray4-interlaced.png",
                                       "rgba16.png", "rgb-palette-trns.pam", "gray16.pgm" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GBytes) b = fixture (names[i]);
      check_truncations (b, G_MAXSIZE);
    }
  g_rand_free (rng);
}

static void
test_bad_headers (void)
{
  static const struct { const char *text; const char *msg; } t[] = {
    { "", "empty input" },
    { "hello", "bad magic number" },
    { "P", "bad magic number" },
    { "P8\n1 1\n255\n\x01", "bad magic number" },
    { "\n P5 1 1 255\n\x01", "bad magic number" },
    { "P5", "truncated header" },
    { "P5 1", "truncated header" },
    { "P5 1 1", "truncated header" },
    { "P5 0 1 255\n", "empty" },
    { "P5 1 0 255\n", "empty" },
    { "P5 -1 1 255\n", "negative" },
    { "P5 1x1 255\n", "junk in header" },
    { "P5 2147483648 1 255\n", "too large" },
    { "P5 99999999999999999999 1 255\n", "too large" },
    { "P5 1 1 0\n\x00", "maxval 0 out of range 1..65535" },
    { "P5 1 1 70000\n\x00\x00", "maxval 70000 out of range 1..65535" },
    { "P5 1 1 255\n", "truncated image data at row 1 of 1" },
    { "P5 2 2 100\n\x01\x02\x03\xff", "sample value 255 exceeds maxval 100 at row 2" },
    { "P5 1 1 300\n\x01\x2d", "sample value 301 exceeds maxval 300 at row 1" },
    { "P2 2 1 100\n1 101\n", "sample value 101 exceeds maxval 100 at row 1" },
    { "P2 2 1 100\n1 99999999999999999\n", "exceeds maxval" },
    { "P2 2 1 100\n1 x\n", "junk in plain PGM data at row 1" },
    { "P2 2 1 100\n1 -1\n", "junk in plain PGM data" },
    { "P2 2 1 100\n1 2x\n", "junk in plain PGM data" },
    { "P3 1 1 100\n1 2\n", "truncated image data at row 1 of 1" },
    { "P1 2 1\n0 2\n", "junk in plain PBM data" },
    { "P1 2 1\n0", "truncated image data" },
    { "P6 40000 40000 255\n", "exceeds the limit" },
    { "P7\n", "truncated PAM header" },
    { "P7 x\nWIDTH 1\n", "junk after P7" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n", "no ENDHDR" },
    { "P7\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01", "no WIDTH" },
    { "P7\nWIDTH 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01", "no HEIGHT" },
    { "P7\nWIDTH 1\nHEIGHT 1\nMAXVAL 255\nENDHDR\n\x01", "no DEPTH" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nENDHDR\n\x01", "no MAXVAL" },
    { "P7\nWIDTH 1\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01", "WIDTH given twice" },
    { "P7\nWIDTH one\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01", "bad WIDTH value" },
    { "P7\nWIDTH\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01", "WIDTH has no value" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nCOLOR 5\nENDHDR\n\x01", "unknown keyword" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 0\nMAXVAL 255\nENDHDR\n", "depth 0" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nENDHDR\n\x01\x01\x01\x01\x01", "depth 5" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 0\nENDHDR\n\x01", "maxval 0" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 65536\nENDHDR\n\x01", "maxval 65536" },
    { "P7\nWIDTH 0\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", "empty" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\x01\x01\x01",
      "DEPTH 3 does not fit TUPLTYPE GRAYSCALE" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n\x01",
      "does not fit" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE BLACKANDWHITE\nENDHDR\n\x01",
      "BLACKANDWHITE needs maxval 1" },
    { "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 1\nTUPLTYPE BLACKANDWHITE\nENDHDR\n\x02",
      "sample value 2 exceeds maxval 1" },
    { "P7\nWIDTH 99999 HEIGHT 1\n", "bad WIDTH value" },
    { "P7\nWIDTH 4294967296\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", "too large" },
    { "P7\nWIDTH 65536\nHEIGHT 65536\nDEPTH 4\nMAXVAL 65535\nENDHDR\n", "exceeds the limit" },
    { "\x89PNG\r\n\x1a\n", "truncated PNG header" },
    { "\x89PNG\r\n\x1a", "bad magic number" },
    { "\x89PNX\r\n\x1a\n", "bad magic number" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      g_test_message ("%u: %s", i, t[i].msg);
      assert_refused_str (t[i].text, t[i].msg);
    }

  /* A PAM header line that never ends is bounded. */
  GString *s = g_string_new ("P7\nWIDTH ");
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (s, '1');
  assert_refused (s->str, s->len, "line too long");
  g_string_free (s, TRUE);
}

static void
test_max_pixels (void)
{
  static const char ok[] = "P5 10 10 255\n";
  GString *s = g_string_new (ok);
  for (guint i = 0; i < 100; i++)
    g_string_append_c (s, 'x');
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 11, 10, 1, 255, 0);
  guint16 zero[110] = { 0 };
  g_autoptr (GBytes) png = encode (&info, zero);
  for (guint limit = 99; limit <= 110; limit++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (s->str, s->len);
      dae_image_reader_set_max_pixels (r, limit);
      DaeImageInfo back;
      gboolean got = dae_image_reader_next (r, &back, &error);
      g_assert_cmpint (got, ==, limit >= 100);
      if (!got)
        {
          assert_one_line (error);
          g_assert_true (g_error_matches (error, DAE_ERROR, DAE_ERROR_LIMIT));
        }
      g_clear_error (&error);
      g_autoptr (DaeImageReader) p = dae_image_reader_new_memory (
        g_bytes_get_data (png, NULL), g_bytes_get_size (png));
      dae_image_reader_set_max_pixels (p, limit);
      got = dae_image_reader_next (p, &back, &error);
      g_assert_cmpint (got, ==, limit >= 110);
      if (!got)
        g_assert_true (g_error_matches (error, DAE_ERROR, DAE_ERROR_LIMIT));
    }
  g_string_free (s, TRUE);
}

/* ---- PNG corruption ----------------------------------------------------- */

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static guint32
get_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* A PNG from raw chunks, with correct CRCs (chunk data are given). */
static GByteArray *
make_png (guint32 w, guint32 h, int depth, int type, int interlace,
          const guint8 *idat, size_t idat_len)
{
  GByteArray *a = g_byte_array_new ();
  static const guint8 sig[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_byte_array_append (a, sig, 8);
  guint8 ihdr[13];
  put_be32 (ihdr, w);
  put_be32 (ihdr + 4, h);
  ihdr[8] = (guint8) depth;
  ihdr[9] = (guint8) type;
  ihdr[10] = ihdr[11] = 0;
  ihdr[12] = (guint8) interlace;
  const struct { const char *t; const guint8 *d; size_t n; } chunks[] = {
    { "IHDR", ihdr, 13 }, { "IDAT", idat, idat_len }, { "IEND", NULL, 0 }
  };
  for (guint i = 0; i < 3; i++)
    {
      guint8 b[8];
      put_be32 (b, (guint32) chunks[i].n);
      memcpy (b + 4, chunks[i].t, 4);
      g_byte_array_append (a, b, 8);
      if (chunks[i].n)
        g_byte_array_append (a, chunks[i].d, (guint) chunks[i].n);
      uLong crc = crc32 (0, b + 4, 4);
      if (chunks[i].n)
        crc = crc32 (crc, chunks[i].d, (uInt) chunks[i].n);
      put_be32 (b, (guint32) crc);
      g_byte_array_append (a, b, 4);
    }
  return a;
}

static void
test_png_corrupt (void)
{
  /* Flip each byte of a PNG (signature, IHDR, PLTE, tRNS, IDAT, IEND): a
   * CRC or zlib check fails, or at worst a valid image still reads. */
  g_autoptr (GBytes) b = fixture ("gray-palette-trns.png"); /* has tEXt */
  size_t len;
  const guint8 *d = g_bytes_get_data (b, &len);
  guint refused = 0;
  for (size_t i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (d, len);
      copy[i] ^= 0x10;
      g_autoptr (GError) error = NULL;
      if (decode_all (copy, len, &error) < 0)
        {
          assert_one_line (error);
          refused++;
        }
    }
  /* Every byte is covered by the signature, a length, or a CRC. */
  g_assert_cmpuint (refused, ==, len);

  /* A bad CRC in an ancillary chunk is not ignored. */
  g_autofree guint8 *copy = g_memdup2 (d, len);
  guint8 *text = NULL;
  for (size_t i = 0; i + 4 <= len && !text; i++)
    if (memcmp (copy + i, "tEXt", 4) == 0)
      text = copy + i;
  g_assert_nonnull (text);
  text[6] ^= 1;
  assert_refused (copy, len, "CRC");

  /* Absurd sizes in IHDR are refused before anything is allocated. */
  static const guint32 dims[][2] = { { 0, 1 }, { 1, 0 }, { 0x80000000u, 1 },
                                     { 100000, 100000 }, { 1u << 30, 2 } };
  guint8 z[16];
  uLongf zlen = sizeof z;
  static const guint8 row[2] = { 0, 0 };
  g_assert_cmpint (compress (z, &zlen, row, 2), ==, Z_OK);
  for (guint i = 0; i < G_N_ELEMENTS (dims); i++)
    {
      GByteArray *a = make_png (dims[i][0], dims[i][1], 8, 0, 0, z, zlen);
      assert_refused (a->data, a->len, NULL);
      g_byte_array_unref (a);
    }
  GByteArray *a = make_png (1, 1, 8, 0, 0, z, zlen);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (decode_all (a->data, a->len, &error), ==, 1);
  g_assert_no_error (error);
  g_byte_array_unref (a);
  /* An interlaced image is buffered whole: within a limit. */
  a = make_png (30000, 30000, 16, 6, 1, z, zlen);
  assert_refused (a->data, a->len, "interlaced PNG of 30000x30000 needs");
  g_byte_array_unref (a);
  /* Bad depth and color type. */
  a = make_png (1, 1, 3, 0, 0, z, zlen);
  assert_refused (a->data, a->len, NULL);
  g_byte_array_unref (a);
  a = make_png (1, 1, 8, 5, 0, z, zlen);
  assert_refused (a->data, a->len, NULL);
  g_byte_array_unref (a);

  /* Too little image data for the rows. */
  a = make_png (1, 2, 8, 0, 0, z, zlen);
  assert_refused (a->data, a->len, NULL);
  g_byte_array_unref (a);

  /* A decompression bomb: 1 MiB of zeros for a 1x1 image is cut short,
   * quickly, without error or with one, but never inflated in full. */
  g_autofree guint8 *zeros = g_malloc0 (1 << 20);
  uLongf blen = compressBound (1 << 20);
  g_autofree guint8 *bomb = g_malloc (blen);
  g_assert_cmpint (compress (bomb, &blen, zeros, 1 << 20), ==, Z_OK);
  a = make_png (1, 1, 8, 0, 0, bomb, blen);
  int n = decode_all (a->data, a->len, &error);
  g_assert_true (n == 1 || error != NULL);
  g_byte_array_unref (a);
  (void) get_be32;
}

/* ---- writer errors ------------------------------------------------------ */

static void
test_writer_errors (void)
{
  g_autoptr (GError) error = NULL;
  DaeImageInfo info = { .width = 2, .height = 2, .channels = 1, .maxval = 255 };
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  /* Formats that cannot hold the samples. */
  static const struct { DaeImageFormat f; guint c, m; } bad[] = {
    { DAE_IMAGE_FORMAT_PBM, 1, 255 }, { DAE_IMAGE_FORMAT_PBM_PLAIN, 2, 1 },
    { DAE_IMAGE_FORMAT_PGM, 3, 255 }, { DAE_IMAGE_FORMAT_PPM, 4, 255 },
    { DAE_IMAGE_FORMAT_PAM, 5, 255 }, { DAE_IMAGE_FORMAT_PNG, 0, 255 },
    { DAE_IMAGE_FORMAT_PGM, 1, 0 }, { DAE_IMAGE_FORMAT_PGM, 1, 65536 },
    { 0, 1, 255 }, { 99, 1, 255 }, { DAE_IMAGE_FORMAT_JPEG, 2, 255 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DaeImageInfo b = info;
      b.format = bad[i].f;
      b.channels = bad[i].c;
      b.maxval = bad[i].m;
      DaeImageWriter *w = dae_image_writer_new (fp, &b, &error);
      g_assert_null (w);
      assert_one_line (error);
      g_clear_error (&error);
      DaeImageInfo before = b;
      g_assert_false (dae_image_info_set_format (&b, bad[i].f, &error));
      g_assert_true (memcmp (&before, &b, sizeof b) == 0);
      g_clear_error (&error);
    }
  info.format = DAE_IMAGE_FORMAT_PGM;
  info.width = 0;
  g_assert_null (dae_image_writer_new (fp, &info, &error));
  assert_one_line (error);
  g_clear_error (&error);
  info.width = 2;

  /* A sample above maxval; too many rows; finishing early. */
  for (DaeImageFormat f = DAE_IMAGE_FORMAT_PGM_PLAIN; f <= DAE_IMAGE_FORMAT_PNG; f++)
    {
      if (f == DAE_IMAGE_FORMAT_PPM_PLAIN || f == DAE_IMAGE_FORMAT_PBM
          || f == DAE_IMAGE_FORMAT_PPM)
        continue;
      info.format = f;
      guint16 s[] = { 1, 2, 256, 3 };
      g_autoptr (DaeImageWriter) w = dae_image_writer_new (fp, &info, &error);
      g_assert_no_error (error);
      g_assert_false (dae_image_writer_write_rows (w, 2, s, &error));
      g_assert_nonnull (strstr (error->message, "exceeds maxval"));
      g_clear_error (&error);
      g_autoptr (DaeImageWriter) w2 = dae_image_writer_new (fp, &info, &error);
      s[2] = 255;
      g_assert_false (dae_image_writer_write_rows (w2, 3, s, &error));
      assert_one_line (error);
      g_clear_error (&error);
      g_assert_true (dae_image_writer_write_rows (w2, 1, s, &error));
      g_assert_false (dae_image_writer_finish (w2, &error));
      g_assert_nonnull (strstr (error->message, "only 1 of 2 rows"));
      g_clear_error (&error);
    }
  fclose (fp);
  g_free (buf);

  /* A full disk. */
  FILE *full = fopen ("/dev/full", "r+"); /* "w" would create a file */
  if (full == NULL)
    {
      g_test_skip ("no /dev/full: a full disk not checked");
      return;
    }
  for (DaeImageFormat f = DAE_IMAGE_FORMAT_PGM; f <= DAE_IMAGE_FORMAT_PNG;
       f += DAE_IMAGE_FORMAT_PNG - DAE_IMAGE_FORMAT_PGM)
    {
      info.format = f;
      info.width = info.height = 100;
      g_autofree guint16 *s = g_new0 (guint16, 100 * 100);
      g_autoptr (DaeImageWriter) w = dae_image_writer_new (full, &info, &error);
      gboolean ok = w != NULL;
      for (guint y = 0; ok && y < 100; y++)
        ok = dae_image_writer_write_rows (w, 1, s + y * 100, &error);
      if (ok)
        ok = dae_image_writer_finish (w, &error);
      g_assert_false (ok);
      assert_one_line (error);
      g_assert_true (g_error_matches (error, DAE_ERROR, DAE_ERROR_IO));
      g_clear_error (&error);
      clearerr (full);
    }
  fclose (full);
}

/* One stream of infos[] (samples[i] each), written in bands of 1-40 rows,
 * compressed in the background or not. */
static GBytes *
write_stream (const DaeImageInfo *infos, guint16 *const *samples, guint n,
              gboolean background)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  GRand *rng = g_rand_new_with_seed (77);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageWriter) w = NULL;
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (i == 0 ? (w = dae_image_writer_new (fp, &infos[i], &error)) != NULL
                            : dae_image_writer_next (w, &infos[i], &error));
      dae_image_writer_set_background (w, background);
      const size_t row = (size_t) infos[i].width * infos[i].channels;
      for (guint y = 0; y < infos[i].height;)
        {
          const guint k = MIN ((guint) g_rand_int_range (rng, 1, 41), infos[i].height - y);
          g_assert_true (dae_image_writer_write_rows (w, k, samples[i] + y * row, &error));
          y += k;
        }
      g_assert_true (dae_image_writer_finish (w, &error));
    }
  g_assert_true (dae_image_writer_close (w, &error));
  g_assert_no_error (error);
  g_rand_free (rng);
  fclose (fp);
  return g_bytes_new_take (buf, len);
}

/* Background compression (dae_image_writer_set_background) writes the
 * same bytes: PNG and JPEG images wide enough for several bands, and
 * narrower ones after them in the same stream; a full disk comes back as
 * the same one-line error; a writer freed in the middle of an image stops
 * its thread. */
static void
test_background (void)
{
  GRand *rng = g_rand_new_with_seed (8);
  const DaeImageInfo infos[] = {
    make_info (DAE_IMAGE_FORMAT_PNG, 22000, 100, 1, 65535, 0),
    make_info (DAE_IMAGE_FORMAT_PNG, 300, 200, 3, 255, 0),
    make_info (DAE_IMAGE_FORMAT_JPEG, 8000, 64, 3, 255, 0),
    make_info (DAE_IMAGE_FORMAT_PGM, 50, 70, 1, 255, 0),
  };
  const guint n = G_N_ELEMENTS (infos);
  guint16 *samples[G_N_ELEMENTS (infos)];
  for (guint i = 0; i < n; i++)
    samples[i] = random_samples (rng, n_samples (&infos[i]), infos[i].maxval);
  g_autoptr (GBytes) plain = write_stream (infos, samples, n, FALSE);
  g_autoptr (GBytes) background = write_stream (infos, samples, n, TRUE);
  g_assert_true (g_bytes_equal (plain, background));

  g_autoptr (GError) error = NULL;
  FILE *full = fopen ("/dev/full", "r+");
  g_assert_nonnull (full);
  g_autoptr (DaeImageWriter) w = dae_image_writer_new (full, &infos[0], &error);
  dae_image_writer_set_background (w, TRUE);
  gboolean ok = w != NULL;
  for (guint y = 0; ok && y < infos[0].height; y++)
    ok = dae_image_writer_write_rows (w, 1, samples[0] + (size_t) y * infos[0].width, &error);
  if (ok)
    ok = dae_image_writer_finish (w, &error);
  g_assert_false (ok);
  assert_one_line (error);
  g_assert_true (g_error_matches (error, DAE_ERROR, DAE_ERROR_IO));
  fclose (full);

  FILE *null = fopen ("/dev/null", "w");
  DaeImageWriter *half = dae_image_writer_new (null, &infos[0], NULL);
  dae_image_writer_set_background (half, TRUE);
  g_assert_true (dae_image_writer_write_rows (half, 60, samples[0], NULL));
  dae_image_writer_free (half);
  fclose (null);
  for (guint i = 0; i < n; i++)
    g_free (samples[i]);
  g_rand_free (rng);
}

static void
test_set_format (void)
{
  g_autoptr (GError) error = NULL;
  DaeImageInfo info = { .width = 3, .height = 3, .channels = 1, .maxval = 1 };
  g_assert_true (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PBM, &error));
  g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_BLACKANDWHITE);
  /* A bilevel image stays bilevel in PAM, and becomes gray in PNG. */
  g_assert_true (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PAM, &error));
  g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_BLACKANDWHITE);
  g_assert_true (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PNG, &error));
  g_assert_cmpint (info.png_color_type, ==, DAE_PNG_COLOR_GRAY);
  g_assert_cmpuint (info.png_bit_depth, ==, 1);
  info.maxval = 255;
  g_assert_true (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PAM, &error));
  g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_GRAYSCALE);
  g_assert_cmpint (info.png_color_type, ==, DAE_PNG_COLOR_NONE);
  info.channels = 4;
  g_assert_false (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PPM, &error));
  g_assert_nonnull (strstr (error->message, "PPM holds 3 channels"));
  g_clear_error (&error);
  g_assert_true (dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PAM, &error));
  g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_RGB_ALPHA);
  g_assert_true (info.has_alpha);
  g_assert_cmpstr (dae_image_format_name (DAE_IMAGE_FORMAT_PGM_PLAIN), ==, "plain PGM");
  g_assert_cmpstr (dae_tuple_type_name (DAE_TUPLE_TYPE_GRAYSCALE_ALPHA), ==,
                   "GRAYSCALE_ALPHA");
}

/* A file reader, and a pipe: no seeking, reads exactly to the end. */
static void
test_file_and_pipe (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (dae_image_reader_new_path ("/nonexistent/x.pgm", &error));
  assert_one_line (error);
  g_clear_error (&error);

  g_autofree char *path = fixture_path ("rgb-palette-trns.png");
  g_autoptr (DaeImageReader) r = dae_image_reader_new_path (path, &error);
  g_assert_no_error (error);
  DaeImageInfo info;
  g_autofree guint16 *s = read_image (r, &info, 4, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpuint (info.channels, ==, 4);
  g_assert_false (dae_image_reader_next (r, &info, &error));
  g_assert_no_error (error);

  /* Two images through a pipe, the second from netpbm. */
  g_autoptr (GBytes) a = fixture ("gray16.png");
  g_autoptr (GBytes) b = fixture ("rgb-palette-trns.pam");
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  GString *all = g_string_new_len (g_bytes_get_data (a, NULL), (gssize) g_bytes_get_size (a));
  g_string_append_len (all, g_bytes_get_data (b, NULL), (gssize) g_bytes_get_size (b));
  g_assert_cmpuint (all->len, <, 4096); /* fits in the pipe's buffer */
  g_assert_cmpint (write (fds[1], all->str, all->len), ==, (gssize) all->len);
  close (fds[1]);
  FILE *fp = fdopen (fds[0], "rb");
  g_autoptr (DaeImageReader) p = dae_image_reader_new (fp);
  g_free (read_image (p, &info, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, DAE_IMAGE_FORMAT_PNG);
  g_free (read_image (p, &info, 1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.format, ==, DAE_IMAGE_FORMAT_PAM);
  g_assert_false (dae_image_reader_next (p, &info, &error));
  g_assert_no_error (error);
  fclose (fp);
  g_string_free (all, TRUE);

  /* After an error, the reader stays failed. */
  g_autoptr (DaeImageReader) q = dae_image_reader_new_memory ("P5 1 1 0\n", 9);
  g_assert_false (dae_image_reader_next (q, &info, &error));
  g_clear_error (&error);
  g_assert_false (dae_image_reader_next (q, &info, &error));
  assert_one_line (error);
}

/* ---- IDX ---------------------------------------------------------------- */

static void
test_idx (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-io-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "x.idx", NULL);
  GRand *rng = g_rand_new_with_seed (7);
  static const struct { guint nd, d[3]; } shapes[] = {
    { 3, { 5, 28, 28 } }, { 1, { 17, 1, 1 } }, { 2, { 3, 4, 1 } }, { 3, { 1, 1, 1 } }
  };
  for (guint k = 0; k < G_N_ELEMENTS (shapes); k++)
    for (gboolean gz = FALSE; gz <= TRUE; gz++)
      {
        g_autoptr (GError) error = NULL;
        size_t n = (size_t) shapes[k].d[0] * shapes[k].d[1] * shapes[k].d[2];
        g_autofree guint8 *data = g_malloc (n);
        for (size_t i = 0; i < n; i++)
          data[i] = (guint8) g_rand_int_range (rng, 0, 256);
        g_assert_true (dae_idx_save (path, shapes[k].nd, shapes[k].d, data, gz, &error));
        g_assert_no_error (error);
        guint nd, dims[3];
        g_autofree guint8 *back = dae_idx_load (path, &nd, dims, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (nd, ==, shapes[k].nd);
        g_assert_cmpmem (dims, sizeof dims, shapes[k].d, sizeof dims);
        g_assert_cmpmem (back, n, data, n);

        g_autofree char *file = NULL;
        size_t len;
        g_assert_true (g_file_get_contents (path, &file, &len, NULL));
        g_assert_cmpint ((guint8) file[0] == 0x1f, ==, gz);
        if (!gz)
          {
            g_assert_cmpuint (len, ==, 4 + 4 * shapes[k].nd + n);
            g_assert_cmpint (file[2], ==, 8);
            g_assert_cmpint (file[3], ==, (int) shapes[k].nd);
          }
        /* Every truncation is refused. */
        for (size_t cut = 0; cut < len; cut++)
          {
            g_autofree guint8 *copy = g_memdup2 (file, cut);
            guint8 *got = dae_idx_load_memory (copy, cut, &nd, dims, &error);
            g_assert_null (got);
            assert_one_line (error);
            g_clear_error (&error);
          }
        /* A byte too many is refused. */
        g_autofree guint8 *longer = g_malloc (len + 1);
        memcpy (longer, file, len);
        longer[len] = 0;
        g_assert_null (dae_idx_load_memory (longer, len + 1, &nd, dims, &error));
        assert_one_line (error);
        g_clear_error (&error);
        /* Flipped bytes: a plain file takes them in its payload only; a
         * gzip'd one (its CRC checked) only where they change nothing,
         * as in the header's time stamp or a block's padding bits. */
        size_t header = 4 + 4 * shapes[k].nd;
        for (size_t i = 0; i < len; i++)
          {
            g_autofree guint8 *copy = g_memdup2 (file, len);
            copy[i] ^= 0x40;
            g_autofree guint8 *got = dae_idx_load_memory (copy, len, &nd, dims, &error);
            if (got == NULL)
              assert_one_line (error);
            else if (gz)
              g_assert_cmpmem (got, n, data, n);
            else
              {
                g_assert_cmpuint (i, >=, header);
                g_assert_cmpint (got[i - header], ==, copy[i]);
              }
            g_clear_error (&error);
          }
      }

  /* Bad headers. */
  static const struct { const char *d; size_t n; const char *msg; } bad[] = {
    { "\x01\x00\x08\x01\x00\x00\x00\x01\x00", 9, "bad magic" },
    { "\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12, "type 0x0d" },
    { "\x00\x00\x08\x00", 4, "0 dimensions" },
    { "\x00\x00\x08\x04\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00", 21,
      "4 dimensions" },
    { "\x00\x00\x08\x01\x00\x00\x00\x00", 8, "dimension 1 is zero" },
    { "\x00\x00\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16, "limit" },
    { "\x00\x00\x08\x01\x00\x00\x00\x05\x01", 9, "truncated IDX data (1 of 5 bytes)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      guint nd, dims[3];
      g_assert_null (dae_idx_load_memory (bad[i].d, bad[i].n, &nd, dims, &error));
      assert_one_line (error);
      if (strstr (error->message, bad[i].msg) == NULL)
        g_error ("\"%s\" lacks \"%s\"", error->message, bad[i].msg);
    }
  /* A gzip bomb (a header declaring 10 bytes, then 4 MiB of zeros) stops
   * at the declared size. */
  {
    size_t n = 1 << 22;
    g_autofree guint8 *big = g_malloc0 (n);
    static const guint8 hdr[] = { 0, 0, 8, 1, 0, 0, 0, 10 };
    memcpy (big, hdr, sizeof hdr);
    g_autoptr (GError) error = NULL;
    z_stream zs = { 0 };
    g_assert_cmpint (deflateInit2 (&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    g_autofree guint8 *out = g_malloc (n);
    zs.next_in = big;
    zs.avail_in = (uInt) n;
    zs.next_out = out;
    zs.avail_out = (uInt) n;
    g_assert_cmpint (deflate (&zs, Z_FINISH), ==, Z_STREAM_END);
    deflateEnd (&zs);
    guint nd, dims[3];
    g_assert_null (dae_idx_load_memory (out, zs.total_out, &nd, dims, &error));
    g_assert_nonnull (strstr (error->message, "junk after the IDX data"));
  }
  {
    g_autoptr (GError) error = NULL;
    guint nd, dims[3];
    g_assert_null (dae_idx_load ("/nonexistent/x.idx", &nd, dims, &error));
    assert_one_line (error);
    g_clear_error (&error);
    guint d0[3] = { 0, 1, 1 };
    guint8 byte = 0;
    g_assert_false (dae_idx_save (path, 1, d0, &byte, FALSE, &error));
    assert_one_line (error);
    g_clear_error (&error);
    guint d1[3] = { 1, 1, 1 };
    g_assert_false (dae_idx_save (path, 4, d1, &byte, FALSE, &error));
    g_clear_error (&error);
    g_autofree char *nodir = g_build_filename (dir, "no", "x.idx", NULL);
    g_assert_false (dae_idx_save (nodir, 1, d1, &byte, FALSE, &error));
    assert_one_line (error);
  }
  g_remove (path);
  g_rmdir (dir);
  g_rand_free (rng);
}

/* ---- against netpbm itself (skipped when it is not installed) ---------- */

static char *
run (const char *cmdline, GBytes *input, size_t *out_len)
{
  g_autofree char *dir = g_dir_make_tmp ("test-io-XXXXXX", NULL);
  g_autofree char *in = g_build_filename (dir, "in", NULL);
  g_autofree char *outp = g_build_filename (dir, "out", NULL);
  g_assert_true (g_file_set_contents (in, g_bytes_get_data (input, NULL),
                                      (gssize) g_bytes_get_size (input), NULL));
  g_autofree char *cmd = g_strdup_printf ("%s < '%s' > '%s'", cmdline, in, outp);
  char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  char *out;
  g_assert_true (g_file_get_contents (outp, &out, out_len, NULL));
  g_remove (in);
  g_remove (outp);
  g_rmdir (dir);
  return out;
}

static void
test_netpbm (void)
{
  g_autofree char *pamfile = g_find_program_in_path ("pamfile");
  g_autofree char *pngtopam = g_find_program_in_path ("pngtopam");
  g_autofree char *pnmtopng = g_find_program_in_path ("pnmtopng");
  if (!pamfile || !pngtopam || !pnmtopng)
    {
      g_test_skip ("netpbm (pamfile, pngtopam, pnmtopng) not installed");
      return;
    }
  GRand *rng = g_rand_new_with_seed (8);

  /* pamfile sees our multi-image stream as we wrote it. */
  DaeImageInfo infos[] = {
    make_info (DAE_IMAGE_FORMAT_PBM_PLAIN, 3, 2, 1, 1, 0),
    make_info (DAE_IMAGE_FORMAT_PGM, 5, 4, 1, 65535, 0),
    make_info (DAE_IMAGE_FORMAT_PPM_PLAIN, 2, 2, 3, 7, 0),
    make_info (DAE_IMAGE_FORMAT_PAM, 6, 1, 2, 1, DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA),
    make_info (DAE_IMAGE_FORMAT_PAM, 1, 9, 4, 300, 0),
    make_info (DAE_IMAGE_FORMAT_PBM, 9, 3, 1, 1, 0),
  };
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  for (guint i = 0; i < G_N_ELEMENTS (infos); i++)
    {
      g_autofree guint16 *s = random_samples (rng, n_samples (&infos[i]), infos[i].maxval);
      write_image (fp, &infos[i], s, rng);
    }
  fclose (fp);
  g_autoptr (GBytes) stream = g_bytes_new_take (buf, len);
  size_t olen;
  g_autofree char *out = run ("pamfile -allimages", stream, &olen);
  static const char *const want[] = {
    "PBM plain, 3 by 2", "PGM raw, 5 by 4  maxval 65535", "PPM plain, 2 by 2  maxval 7",
    "PAM, 6 by 1 by 2 maxval 1", "BLACKANDWHITE_ALPHA", "PAM, 1 by 9 by 4 maxval 300",
    "RGB_ALPHA", "PBM raw, 9 by 3",
  };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    if (strstr (out, want[i]) == NULL)
      g_error ("pamfile output lacks \"%s\":\n%s", want[i], out);

  /* Our PNGs decode with pngtopam as with us, and netpbm's PNGs of our
   * PAMs decode as the PAMs. */
  static const struct { guint c, maxval; } t[] = {
    { 1, 1 }, { 1, 15 }, { 1, 255 }, { 1, 65535 }, { 2, 255 }, { 3, 255 },
    { 3, 65535 }, { 4, 255 }, { 4, 65535 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 19, 7, t[i].c, t[i].maxval, 0);
      g_autofree guint16 *s = random_samples (rng, n_samples (&info), t[i].maxval);
      g_autoptr (GBytes) png = encode (&info, s);
      /* -alphapam adds an alpha channel to any image. */
      g_autofree char *pam = run (t[i].c % 2 ? "pngtopam" : "pngtopam -alphapam",
                                  png, &olen);
      g_autoptr (GBytes) pamb = g_bytes_new_static (pam, olen);
      DaeImageInfo back;
      g_autofree guint16 *u = decode (pamb, &back);
      g_assert_cmpuint (back.channels, ==, t[i].c);
      g_assert_cmpuint (back.maxval, ==, t[i].maxval);
      g_assert_cmpmem (s, n_samples (&info) * 2, u, n_samples (&back) * 2);

      DaeImageInfo pinfo = make_info (DAE_IMAGE_FORMAT_PAM, 19, 7, t[i].c, t[i].maxval, 0);
      g_autoptr (GBytes) pamin = encode (&pinfo, s);
      const char *cmd = t[i].c % 2 == 0 ? NULL : "pnmtopng";
      if (cmd == NULL)
        continue; /* pnmtopng takes alpha from a separate file */
      g_autofree char *png2 = run (cmd, pamin, &olen);
      g_autoptr (GBytes) png2b = g_bytes_new_static (png2, olen);
      g_autofree guint16 *v = decode (png2b, &back);
      g_assert_cmpuint (back.channels, ==, t[i].c);
      g_assert_cmpuint (back.maxval, ==, t[i].maxval);
      g_assert_cmpmem (s, n_samples (&info) * 2, v, n_samples (&back) * 2);
    }
  g_rand_free (rng);
}

/* ---- metadata, JPEG and TIFF ------------------------------------------- */

/* Writes @n images (TIFF: pages) into one stream through one writer. */
static GBytes *
encode_stream (const DaeImageInfo *infos, guint16 *const *samples, guint n)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageWriter) w = NULL;
  for (guint i = 0; i < n; i++)
    {
      if (i == 0)
        w = dae_image_writer_new (fp, &infos[0], &error);
      else
        g_assert_true (dae_image_writer_next (w, &infos[i], &error));
      g_assert_no_error (error);
      g_assert_true (dae_image_writer_write_rows (w, infos[i].height, samples[i], &error));
      g_assert_true (dae_image_writer_finish (w, &error));
    }
  g_assert_true (dae_image_writer_close (w, &error));
  g_assert_no_error (error);
  fclose (fp);
  return g_bytes_new_take (buf, len);
}

/* A minimal valid ICC profile header (no tags) of @size bytes, padded. */
static GBytes *
make_icc (size_t size, const char *space)
{
  guint8 *p = g_malloc0 (size);
  p[0] = (guint8) (size >> 24), p[1] = (guint8) (size >> 16);
  p[2] = (guint8) (size >> 8), p[3] = (guint8) size;
  p[8] = 2, p[9] = 0x10;
  memcpy (p + 12, "mntr", 4);
  memcpy (p + 16, space, 4);
  memcpy (p + 20, "XYZ ", 4);
  memcpy (p + 36, "acsp", 4);
  static const guint8 d50[12] = { 0, 0, 0xf6, 0xd6, 0, 1, 0, 0, 0, 0, 0xd3, 0x2d };
  memcpy (p + 68, d50, 12);
  for (size_t i = 132; i < size; i++)
    p[i] = (guint8) (i * 7);
  return g_bytes_new_take (p, size);
}

static const DaeImageText *
find_text (const DaeImageMeta *m, const char *keyword)
{
  for (guint i = 0; m->texts && i < m->texts->len; i++)
    if (strcmp (((DaeImageText *) m->texts->pdata[i])->keyword, keyword) == 0)
      return m->texts->pdata[i];
  return NULL;
}

/* A PNG made by libpng with every kept chunk; read, written and read back
 * by libpng: the chunks survive. */
static void
test_png_metadata (void)
{
  DaeImageMeta meta = { 0 };
  meta.srgb_intent = -1;
  meta.icc = make_icc (400, "GRAY");
  meta.icc_name = g_strdup ("test profile");
  meta.has_gamma = TRUE;
  meta.gamma = 45455;
  meta.has_chrm = TRUE;
  static const guint32 chrm[8] = { 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000 };
  memcpy (meta.chrm, chrm, sizeof chrm);
  meta.exif = g_bytes_new_static ("MM\0*\0\0\0\x08\0\0", 10);
  meta.texts = g_ptr_array_new ();
  DaeImageText t1 = { "Title", "plain", DAE_TEXT_PLAIN, NULL, NULL };
  DaeImageText t2 = { "Description", "squeezed squeezed squeezed", DAE_TEXT_COMPRESSED, NULL, NULL };
  DaeImageText t3 = { "Comment", "gr\xc3\xbc\xc3\x9f" "e", DAE_TEXT_INTERNATIONAL, "de", "Kommentar" };
  g_ptr_array_add (meta.texts, &t1);
  g_ptr_array_add (meta.texts, &t2);
  g_ptr_array_add (meta.texts, &t3);
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 5, 3, 1, 255, 0);
  info.x_res = info.y_res = 300;
  info.res_unit = DAE_RES_UNIT_INCH;
  info.meta = &meta;
  GRand *rng = g_rand_new_with_seed (18);
  g_autofree guint16 *s = random_samples (rng, n_samples (&info), 255);
  g_rand_free (rng);
  guint16 *pages[] = { s };
  g_autoptr (GBytes) png = encode_stream (&info, pages, 1);

  /* libpng's view of what we wrote. */
  {
    png_structp p = png_create_read_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pi = png_create_info_struct (p);
    FILE *fp = fmemopen ((void *) g_bytes_get_data (png, NULL), g_bytes_get_size (png), "rb");
    g_assert_false (setjmp (png_jmpbuf (p)));
    png_init_io (p, fp);
    png_read_info (p, pi);
    png_uint_32 rx, ry;
    int unit;
    g_assert_true (png_get_pHYs (p, pi, &rx, &ry, &unit));
    g_assert_cmpuint (rx, ==, 11811);
    g_assert_cmpint (unit, ==, PNG_RESOLUTION_METER);
    png_fixed_point g;
    g_assert_true (png_get_gAMA_fixed (p, pi, &g));
    g_assert_cmpint (g, ==, 45455);
    png_charp name;
    int comp;
    png_bytep prof;
    png_uint_32 plen;
    g_assert_true (png_get_iCCP (p, pi, &name, &comp, &prof, &plen));
    g_assert_cmpstr (name, ==, "test profile");
    g_assert_cmpmem (prof, plen, g_bytes_get_data (meta.icc, NULL), 400);
    png_textp text;
    int n_text = png_get_text (p, pi, &text, NULL);
    g_assert_cmpint (n_text, ==, 3);
    g_assert_cmpstr (text[1].key, ==, "Description");
    g_assert_cmpint (text[1].compression, ==, PNG_TEXT_COMPRESSION_zTXt);
    g_assert_cmpstr (text[2].lang, ==, "de");
    g_assert_cmpint (text[2].compression, ==, PNG_ITXT_COMPRESSION_NONE);
    png_bytep exif;
    png_uint_32 elen;
    g_assert_true (png_get_eXIf_1 (p, pi, &elen, &exif));
    g_assert_cmpuint (elen, ==, 10);
    png_destroy_read_struct (&p, &pi, NULL);
    fclose (fp);
  }

  /* Ours, read back: the same metadata. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (g_bytes_get_data (png, NULL),
                                                              g_bytes_get_size (png));
  DaeImageInfo back;
  g_assert_true (dae_image_reader_next (r, &back, &error));
  g_assert_cmpint (back.res_unit, ==, DAE_RES_UNIT_CM);
  g_assert_cmpfloat_with_epsilon (back.x_res * 2.54, 300.0, 0.01);
  const DaeImageMeta *m = back.meta;
  g_assert_true (m->has_gamma && m->gamma == 45455 && m->has_chrm);
  g_assert_cmpmem (m->chrm, sizeof m->chrm, chrm, sizeof chrm);
  g_assert_true (g_bytes_equal (m->icc, meta.icc));
  g_assert_cmpstr (m->icc_name, ==, "test profile");
  g_assert_true (g_bytes_equal (m->exif, meta.exif));
  g_assert_cmpuint (m->texts->len, ==, 3);
  g_assert_cmpstr (find_text (m, "Description")->text, ==, t2.text);
  g_assert_cmpint (find_text (m, "Description")->kind, ==, DAE_TEXT_COMPRESSED);
  const DaeImageText *c = find_text (m, "Comment");
  g_assert_cmpstr (c->text, ==, t3.text);
  g_assert_cmpstr (c->lang_key, ==, "Kommentar");
  g_assert_cmpint (m->srgb_intent, ==, -1);

  g_ptr_array_unref (meta.texts);
  g_bytes_unref (meta.icc);
  g_bytes_unref (meta.exif);
  g_free (meta.icc_name);
}

/* A smooth image, for lossy round trips. */
static guint16 *
smooth_samples (const DaeImageInfo *info)
{
  guint16 *s = g_new (guint16, n_samples (info));
  for (guint y = 0; y < info->height; y++)
    for (guint x = 0; x < info->width; x++)
      for (guint c = 0; c < info->channels; c++)
        s[((size_t) y * info->width + x) * info->channels + c]
          = (guint16) ((128 + 100 * sin (x / 7.0 + c) * cos (y / 5.0)) * info->maxval / 255);
  return s;
}

static double
mean_abs_diff (const guint16 *a, const guint16 *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m += fabs ((double) a[i] - b[i]);
  return m / n;
}

/* JPEG: gray and colour, quality, density, Exif, a multi-chunk ICC
 * profile, comments and XMP; two JPEGs in a row. */
static void
test_jpeg (void)
{
  DaeImageMeta meta = { 0 };
  meta.srgb_intent = -1;
  meta.icc = make_icc (150000, "RGB "); /* three APP2 chunks */
  meta.exif = g_bytes_new_static ("II*\0\x08\0\0\0\0\0", 10);
  meta.texts = g_ptr_array_new ();
  DaeImageText com = { "Comment", "scanned by test-io", DAE_TEXT_PLAIN, NULL, NULL };
  DaeImageText xmp = { "XML:com.adobe.xmp", "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
                       DAE_TEXT_INTERNATIONAL, NULL, NULL };
  g_ptr_array_add (meta.texts, &com);
  g_ptr_array_add (meta.texts, &xmp);
  DaeImageInfo infos[2] = {
    make_info (DAE_IMAGE_FORMAT_JPEG, 67, 41, 3, 255, 0),
    make_info (DAE_IMAGE_FORMAT_JPEG, 33, 20, 1, 255, 0),
  };
  infos[0].quality = 75;
  infos[0].x_res = infos[0].y_res = 300;
  infos[0].res_unit = DAE_RES_UNIT_INCH;
  infos[0].meta = &meta;
  infos[1].x_res = 118.11, infos[1].y_res = 118.11; /* 300 dpi from a PNG */
  infos[1].res_unit = DAE_RES_UNIT_CM;
  g_autofree guint16 *a = smooth_samples (&infos[0]);
  g_autofree guint16 *b = smooth_samples (&infos[1]);
  guint16 *pages[] = { a, b };
  g_autoptr (GBytes) jpg = encode_stream (infos, pages, 2);
  /* A byte after the last EOI, as cameras pad: ignored. */
  GByteArray *arr = g_byte_array_new ();
  g_byte_array_append (arr, g_bytes_get_data (jpg, NULL), (guint) g_bytes_get_size (jpg));
  g_byte_array_append (arr, (const guint8 *) "\0\0", 2);

  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (arr->data, arr->len);
  DaeImageInfo back;
  g_autofree guint16 *ra = read_image (r, &back, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back.format, ==, DAE_IMAGE_FORMAT_JPEG);
  g_assert_cmpuint (back.width, ==, 67);
  g_assert_cmpuint (back.channels, ==, 3);
  g_assert_cmpuint (back.quality, ==, 75);
  g_assert_cmpint (back.res_unit, ==, DAE_RES_UNIT_INCH);
  g_assert_cmpfloat (back.x_res, ==, 300);
  g_assert_cmpfloat (mean_abs_diff (a, ra, n_samples (&back)), <, 3);
  const DaeImageMeta *m = back.meta;
  g_assert_true (g_bytes_equal (m->icc, meta.icc));
  g_assert_true (g_bytes_equal (m->exif, meta.exif));
  g_assert_cmpstr (find_text (m, "Comment")->text, ==, com.text);
  g_assert_cmpstr (find_text (m, "XML:com.adobe.xmp")->text, ==, xmp.text);

  g_autofree guint16 *rb = read_image (r, &back, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back.channels, ==, 1);
  g_assert_cmpuint (back.quality, ==, 90); /* the default */
  g_assert_cmpfloat (back.x_res, ==, 300); /* whole in dpi: written so */
  g_assert_cmpfloat (mean_abs_diff (b, rb, n_samples (&back)), <, 2);
  g_assert_false (dae_image_reader_next (r, &back, &error));
  g_assert_no_error (error);

  /* Truncated anywhere: an error, never a made-up image. */
  for (size_t cut = 1; cut < g_bytes_get_size (jpg) / 2; cut += 997)
    {
      int n = decode_all (arr->data, cut, &error);
      g_assert_cmpint (n, ==, -1);
      assert_one_line (error);
      g_clear_error (&error);
    }
  g_byte_array_unref (arr);
  g_ptr_array_unref (meta.texts);
  g_bytes_unref (meta.icc);
  g_bytes_unref (meta.exif);
}

/* TIFF: every depth and layout through our writer, as pages of one file,
 * read back exactly, with resolution and photometric kept. */
static void
test_tiff_round_trip (void)
{
  static const struct { guint c, maxval; gboolean white; } t[] = {
    { 1, 1, TRUE }, { 1, 1, FALSE }, { 1, 3, FALSE }, { 1, 15, TRUE }, { 1, 255, FALSE },
    { 1, 65535, TRUE }, { 2, 255, FALSE }, { 2, 1, TRUE }, { 2, 15, FALSE },
    { 3, 255, FALSE }, { 3, 65535, FALSE },
    { 4, 255, FALSE }, { 4, 65535, FALSE },
  };
  enum { N = G_N_ELEMENTS (t) };
  DaeImageInfo infos[N];
  guint16 *pages[N];
  GRand *rng = g_rand_new_with_seed (1818);
  for (guint i = 0; i < N; i++)
    {
      infos[i] = make_info (DAE_IMAGE_FORMAT_TIFF, 13 + i, 9 + 2 * i, t[i].c, t[i].maxval, 0);
      infos[i].min_is_white = t[i].white;
      infos[i].x_res = 150 + i, infos[i].y_res = 300;
      infos[i].res_unit = DAE_RES_UNIT_INCH;
      pages[i] = random_samples (rng, n_samples (&infos[i]), t[i].maxval);
    }
  g_rand_free (rng);
  g_autoptr (GBytes) tif = encode_stream (infos, pages, N);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (g_bytes_get_data (tif, NULL),
                                                              g_bytes_get_size (tif));
  for (guint i = 0; i < N; i++)
    {
      DaeImageInfo back;
      g_autofree guint16 *s = read_image (r, &back, 1 + i % 4, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (dae_image_reader_get_index (r), ==, i + 1);
      g_assert_cmpuint (back.width, ==, infos[i].width);
      g_assert_cmpuint (back.height, ==, infos[i].height);
      g_assert_cmpuint (back.channels, ==, t[i].c);
      g_assert_cmpuint (back.maxval, ==, t[i].maxval);
      g_assert_cmpint (back.min_is_white, ==, t[i].white);
      g_assert_cmpfloat (back.x_res, ==, 150 + i);
      g_assert_cmpfloat (back.y_res, ==, 300);
      g_assert_cmpuint (back.tiff_compression, ==,
                        t[i].maxval == 1 && t[i].c == 1 ? 4 /* G4 */ : 8 /* Deflate */);
      g_assert_cmpmem (s, n_samples (&back) * 2, pages[i], n_samples (&infos[i]) * 2);
      g_free (pages[i]);
    }
  DaeImageInfo more;
  g_assert_false (dae_image_reader_next (r, &more, &error));
  g_assert_no_error (error);
}

static char *
tiff_fixture_path (const char *name)
{
  return g_build_filename (g_get_tmp_dir (), name, NULL);
}

/* Writes a TIFF with libtiff itself: tiled or stripped, any layout. */
static void
write_tiff (const char *path, guint w, guint h, guint spp, guint bps, guint photo,
            guint planar, guint tile, guint16 comp, const guint8 *data)
{
  TIFF *tif = TIFFOpen (path, "w");
  g_assert_nonnull (tif);
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, bps);
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, photo);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, planar);
  TIFFSetField (tif, TIFFTAG_COMPRESSION, comp);
  if (photo == PHOTOMETRIC_PALETTE)
    {
      static guint16 r[256], g[256], b[256];
      for (guint i = 0; i < 256; i++)
        r[i] = (guint16) (i * 257), g[i] = (guint16) ((255 - i) * 257), b[i] = 0x1212;
      TIFFSetField (tif, TIFFTAG_COLORMAP, r, g, b);
    }
  size_t row = ((size_t) w * spp * bps + 7) / 8;
  if (tile)
    {
      TIFFSetField (tif, TIFFTAG_TILEWIDTH, tile);
      TIFFSetField (tif, TIFFTAG_TILELENGTH, tile);
      guint8 *buf = g_malloc0 (TIFFTileSize (tif));
      size_t bpp = spp * bps / 8;
      for (guint y0 = 0; y0 < h; y0 += tile)
        for (guint x0 = 0; x0 < w; x0 += tile)
          {
            memset (buf, 0, TIFFTileSize (tif));
            for (guint y = y0; y < MIN (h, y0 + tile); y++)
              memcpy (buf + (size_t) (y - y0) * tile * bpp, data + y * row + x0 * bpp,
                      MIN (tile, w - x0) * bpp);
            g_assert_cmpint (TIFFWriteTile (tif, buf, x0, y0, 0, 0), >, 0);
          }
      g_free (buf);
    }
  else
    {
      TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, 3);
      for (guint y = 0; y < h; y++)
        g_assert_cmpint (TIFFWriteScanline (tif, (void *) (data + y * row), y, 0), ==, 1);
    }
  TIFFClose (tif);
}

static guint16 *
read_path (const char *path, DaeImageInfo *info, GError **error)
{
  g_autoptr (DaeImageReader) r = dae_image_reader_new_path (path, error);
  g_assert_nonnull (r);
  return read_image (r, info, 4, error);
}

/* TIFFs made by libtiff: tiles, min-is-white bits, palettes, from a pipe;
 * separate planes and CMYK refused by name. */
static void
test_tiff_fixtures (void)
{
  g_autofree char *path = tiff_fixture_path ("dae-test-io.tif");
  guint8 data[45 * 37 * 4];
  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 13 + i / 7);
  g_autoptr (GError) error = NULL;
  DaeImageInfo info;

  /* Tiled RGB, 16x16 tiles over 45x37: tiles overhang both edges. */
  write_tiff (path, 45, 37, 3, 8, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, 16,
              COMPRESSION_LZW, data);
  g_autofree guint16 *s = read_path (path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.channels, ==, 3);
  for (guint i = 0; i < 45 * 37 * 3; i++)
    g_assert_cmpuint (s[i], ==, data[i]);

  /* Min-is-white bilevel, stripped: 1 bits are black (0). */
  write_tiff (path, 45, 37, 1, 1, PHOTOMETRIC_MINISWHITE, PLANARCONFIG_CONTIG, 0,
              COMPRESSION_CCITTFAX4, data);
  g_clear_pointer (&s, g_free);
  s = read_path (path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.maxval, ==, 1);
  g_assert_cmpint (info.tuple_type, ==, DAE_TUPLE_TYPE_BLACKANDWHITE);
  g_assert_true (info.min_is_white);
  for (guint y = 0; y < 37; y++)
    for (guint x = 0; x < 45; x++)
      g_assert_cmpuint (s[y * 45 + x], ==, !((data[y * 6 + x / 8] >> (7 - x % 8)) & 1));

  /* A palette: expanded to RGB, maxval 255 for 8-bit entries. */
  write_tiff (path, 45, 37, 1, 8, PHOTOMETRIC_PALETTE, PLANARCONFIG_CONTIG, 0,
              COMPRESSION_PACKBITS, data);
  g_clear_pointer (&s, g_free);
  s = read_path (path, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info.channels, ==, 3);
  g_assert_cmpuint (info.maxval, ==, 255);
  g_assert_cmpuint (s[3 * 100], ==, data[100]);
  g_assert_cmpuint (s[3 * 100 + 1], ==, 255 - data[100]);
  g_assert_cmpuint (s[3 * 100 + 2], ==, 0x12);

  /* From a pipe: copied to a temporary file first. */
  g_autofree char *cmd = g_strdup_printf ("cat '%s'", path);
  FILE *pipe = popen (cmd, "r");
  g_autoptr (DaeImageReader) pr = dae_image_reader_new (pipe);
  g_autofree guint16 *ps = read_image (pr, &info, 5, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (ps, 45 * 37 * 6, s, 45 * 37 * 6);
  g_clear_pointer (&pr, dae_image_reader_free);
  pclose (pipe);

  /* Refused by name. */
  static const struct { guint spp, photo, planar; const char *what; } bad[] = {
    { 3, PHOTOMETRIC_RGB, PLANARCONFIG_SEPARATE, "separate planes" },
    { 4, PHOTOMETRIC_SEPARATED, PLANARCONFIG_CONTIG, "CMYK" },
    { 5, PHOTOMETRIC_RGB, PLANARCONFIG_CONTIG, "samples a pixel" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      write_tiff (path, 7, 5, bad[i].spp, 8, bad[i].photo, bad[i].planar, 0,
                  COMPRESSION_NONE, data);
      g_assert_null (read_path (path, &info, &error));
      g_assert_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, bad[i].what));
      assert_one_line (error);
      g_clear_error (&error);
    }
  g_unlink (path);
}

/* Formats we do not read are named, with a way out. */
static void
test_other_formats (void)
{
  static const struct { const char *bytes; size_t n; const char *name; } f[] = {
    { "RIFF\x10\0\0\0WEBPVP8 ", 16, "WebP" },
    { "BM\x36\0\0\0\0\0\0\0\x36\0\0\0", 14, "BMP" },
    { "GIF89a\x01\0\x01\0\0\0\0", 13, "GIF" },
    { "%PDF-1.7\n", 9, "PDF" },
    { "\x1f\x8b\x08\0\0\0\0\0", 8, "gzip" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_cmpint (decode_all (f[i].bytes, f[i].n, &error), ==, -1);
      assert_one_line (error);
      g_assert_nonnull (strstr (error->message, f[i].name));
      g_assert_nonnull (strstr (error->message, "anytopnm"));
    }
}

/* TIFF's JPEG compression, YCbCr as libtiff writes it: written and read. */
static void
test_tiff_jpeg (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_TIFF, 48, 40, 3, 255, 0);
  info.tiff_compression = COMPRESSION_JPEG;
  info.quality = 95;
  g_autofree guint16 *s = smooth_samples (&info);
  guint16 *pages[] = { s };
  g_autoptr (GBytes) tif = encode_stream (&info, pages, 1);
  DaeImageInfo back;
  g_autofree guint16 *r = decode (tif, &back);
  g_assert_cmpuint (back.tiff_compression, ==, COMPRESSION_JPEG);
  g_assert_cmpuint (back.channels, ==, 3);
  g_assert_cmpfloat (mean_abs_diff (s, r, n_samples (&info)), <, 2);
}

/* A 16x8 JPEG made by libjpeg itself (malloc'd, as jpeg_mem_dest gives
 * it): @components samples of @space, no JFIF marker (as cameras write),
 * and an APP1 marker of @app1_len bytes when @app1 is given. */
static unsigned char *
libjpeg_encode (int components, J_COLOR_SPACE space, const guint8 *app1,
                unsigned int app1_len, unsigned long *len)
{
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr jerr;
  c.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&c);
  unsigned char *buf = NULL;
  *len = 0;
  jpeg_mem_dest (&c, &buf, len);
  c.image_width = 16;
  c.image_height = 8;
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults (&c);
  c.write_JFIF_header = FALSE;
  jpeg_start_compress (&c, TRUE);
  if (app1)
    jpeg_write_marker (&c, JPEG_APP0 + 1, app1, app1_len);
  guint8 row[16 * 4];
  for (guint i = 0; i < sizeof row; i++)
    row[i] = (guint8) (i * 9);
  for (guint y = 0; y < 8; y++)
    {
      JSAMPROW rows[1] = { row };
      jpeg_write_scanlines (&c, rows, 1);
    }
  jpeg_finish_compress (&c);
  jpeg_destroy_compress (&c);
  return buf;
}

/* CMYK JPEG (made by libjpeg here): refused, by name. */
static void
test_jpeg_cmyk (void)
{
  unsigned long len;
  unsigned char *buf = libjpeg_encode (4, JCS_CMYK, NULL, 0, &len);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (decode_all (buf, len, &error), ==, -1);
  g_assert_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "CMYK"));
  assert_one_line (error);
  free (buf);
}

/* An Exif APP1 body: "Exif\0\0", then a TIFF header (@le: "II", else
 * "MM") and IFD 0 with XResolution @x/1, YResolution @y/1 and
 * ResolutionUnit @unit (0: no unit tag); @ifd_off is where the header says
 * IFD 0 is (8: right after it).  Returns the length. */
static unsigned int
make_exif (guint8 *b, gboolean le, guint32 x, guint32 y, guint unit, guint32 ifd_off)
{
  memset (b, 0, 128);
  memcpy (b, "Exif\0\0", 6);
  guint8 *t = b + 6;
#define PUT(p, v, size) \
  for (guint k_ = 0; k_ < (size); k_++) \
    (p)[le ? k_ : (size) - 1 - k_] = (guint8) ((guint32) (v) >> (8 * k_))
  memcpy (t, le ? "II*\0" : "MM\0*", 4);
  PUT (t + 4, ifd_off, 4);
  guint n = unit ? 3 : 2;
  PUT (t + 8, n, 2);
  guint32 data = 8 + 2 + 12 * n + 4; /* the rationals after the IFD */
  static const guint16 tags[] = { 0x011a, 0x011b };
  const guint32 vals[] = { x, y };
  for (guint i = 0; i < 2; i++)
    {
      guint8 *e = t + 10 + 12 * i;
      PUT (e, tags[i], 2);
      PUT (e + 2, 5, 2);          /* RATIONAL */
      PUT (e + 4, 1, 4);
      PUT (e + 8, data + 8 * i, 4);
      PUT (t + data + 8 * i, vals[i], 4);
      PUT (t + data + 8 * i + 4, 1, 4);
    }
  if (unit)
    {
      guint8 *e = t + 10 + 24;
      PUT (e, 0x0128, 2);
      PUT (e + 2, 3, 2);          /* SHORT */
      PUT (e + 4, 1, 4);
      PUT (e + 8, unit, 2);
    }
#undef PUT
  return 6 + data + 16;
}

/* A camera's JPEG: no JFIF density, the resolution in Exif (either byte
 * order, inches or centimetres, the unit tag left out = inches) is read,
 * kept through a write (as JFIF density, Exif copied) and a read again;
 * an IFD or values outside the Exif block, a zero resolution or the unit
 * "none" leave the resolution unknown. */
static void
test_jpeg_exif_resolution (void)
{
  const struct {
    gboolean le; guint32 x, y; guint unit; guint32 ifd_off, cut;
    DaeResUnit want; double wx, wy;
  } cases[] = {
    { TRUE, 300, 300, 2, 8, 0, DAE_RES_UNIT_INCH, 300, 300 },
    { FALSE, 600, 300, 2, 8, 0, DAE_RES_UNIT_INCH, 600, 300 },
    { FALSE, 118, 118, 3, 8, 0, DAE_RES_UNIT_CM, 118, 118 },
    { TRUE, 72, 72, 0, 8, 0, DAE_RES_UNIT_INCH, 72, 72 },       /* default unit */
    { TRUE, 300, 300, 1, 8, 0, DAE_RES_UNIT_NONE, 0, 0 },       /* "no unit" */
    { TRUE, 300, 300, 2, 4000, 0, DAE_RES_UNIT_NONE, 0, 0 },    /* IFD outside */
    { TRUE, 300, 300, 2, 8, 20, DAE_RES_UNIT_NONE, 0, 0 },      /* rationals cut */
    { TRUE, 0, 300, 2, 8, 0, DAE_RES_UNIT_NONE, 0, 0 },         /* zero */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 exif[128];
      unsigned int n = make_exif (exif, cases[i].le, cases[i].x, cases[i].y, cases[i].unit,
                                  cases[i].ifd_off) - cases[i].cut;
      unsigned long len;
      unsigned char *jpg = libjpeg_encode (1, JCS_GRAYSCALE, exif, n, &len);
      g_autoptr (GError) error = NULL;
      g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (jpg, len);
      DaeImageInfo info;
      g_autofree guint16 *s = read_image (r, &info, 8, &error);
      g_assert_no_error (error);
      g_test_message ("case %u: res %g x %g unit %d", i, info.x_res, info.y_res, info.res_unit);
      g_assert_cmpint (info.res_unit, ==, cases[i].want);
      g_assert_cmpfloat (info.x_res, ==, cases[i].wx);
      g_assert_cmpfloat (info.y_res, ==, cases[i].wy);
      g_assert_cmpmem (g_bytes_get_data (info.meta->exif, NULL),
                       g_bytes_get_size (info.meta->exif), exif + 6, n - 6);
      /* Written again (as dae-filter does) and read: the same resolution. */
      guint16 *pages[] = { s };
      g_autoptr (GBytes) again = encode_stream (&info, pages, 1);
      g_autoptr (DaeImageReader) r2 = dae_image_reader_new_memory (
          g_bytes_get_data (again, NULL), g_bytes_get_size (again));
      DaeImageInfo back;
      g_autofree guint16 *s2 = read_image (r2, &back, 8, &error);
      g_assert_no_error (error);
      g_assert_cmpint (back.res_unit, ==, cases[i].want);
      g_assert_cmpfloat (back.x_res, ==, cases[i].wx);
      g_assert_cmpfloat (back.y_res, ==, cases[i].wy);
      free (jpg);
    }
}

/* The samples' conversions every front end shares: k / maxval in, the
 * nearest level out (halves up), clamped; every level of 8 and 16 bits and
 * of an odd maxval comes back as it was. */
static void
test_samples (void)
{
  static const guint maxvals[] = { 1, 15, 255, 1000, 65535 };
  for (guint m = 0; m < G_N_ELEMENTS (maxvals); m++)
    for (guint bytes = 1; bytes <= 2; bytes++)
      {
        const guint max = maxvals[m];
        if (bytes == 1 && max > 255)
          continue;
        g_autofree guint16 *u16 = g_new (guint16, max + 1), *back16 = g_new (guint16, max + 1);
        g_autofree guint8 *u8 = g_new (guint8, max + 1), *back8 = g_new (guint8, max + 1);
        g_autofree float *f = g_new (float, max + 1);
        for (guint k = 0; k <= max; k++)
          {
            u8[k] = (guint8) k; /* read only when max <= 255 */
            u16[k] = (guint16) k;
          }
        dae_samples_to_float (bytes == 1 ? (void *) u8 : (void *) u16, bytes, max, max + 1, f);
        dae_samples_from_float (f, max + 1, max, bytes,
                                bytes == 1 ? (void *) back8 : (void *) back16);
        for (guint k = 0; k <= max; k++)
          {
            g_assert_cmpfloat (f[k], ==, (float) k / (float) max);
            g_assert_cmpuint (bytes == 1 ? back8[k] : back16[k], ==, k);
          }
      }
  const float odd[] = { -0.5f, NAN, 1.5f, INFINITY, 0.5f / 255, 0.49f / 255, 254.5f / 255 };
  const guint8 want[] = { 0, 0, 255, 255, 1, 0, 255 };
  guint8 got[G_N_ELEMENTS (odd)];
  dae_samples_from_float (odd, G_N_ELEMENTS (odd), 255, 1, got);
  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    g_assert_cmpuint (got[i], ==, want[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/round-trip/pnm", test_round_trip_pnm);
  g_test_add_func ("/io/round-trip/pam", test_round_trip_pam);
  g_test_add_func ("/io/round-trip/png", test_round_trip_png);
  g_test_add_func ("/io/bands", test_bands);
  g_test_add_func ("/io/fixtures/png", test_png_fixtures);
  g_test_add_func ("/io/fixtures/pnm", test_pnm_fixtures);
  g_test_add_func ("/io/comments", test_comments);
  g_test_add_func ("/io/plain-pbm", test_plain_pbm);
  g_test_add_func ("/io/pam-tuple-types", test_pam_tuple_types);
  g_test_add_func ("/io/multi-image", test_multi_image);
  g_test_add_func ("/io/junk-after-png", test_junk_after_png);
  g_test_add_func ("/io/truncated", test_truncated);
  g_test_add_func ("/io/bad-headers", test_bad_headers);
  g_test_add_func ("/io/max-pixels", test_max_pixels);
  g_test_add_func ("/io/png-corrupt", test_png_corrupt);
  g_test_add_func ("/io/writer-errors", test_writer_errors);
  g_test_add_func ("/io/background", test_background);
  g_test_add_func ("/io/set-format", test_set_format);
  g_test_add_func ("/io/file-and-pipe", test_file_and_pipe);
  g_test_add_func ("/io/idx", test_idx);
  g_test_add_func ("/io/netpbm", test_netpbm);
  g_test_add_func ("/io/png-metadata", test_png_metadata);
  g_test_add_func ("/io/jpeg", test_jpeg);
  g_test_add_func ("/io/tiff/round-trip", test_tiff_round_trip);
  g_test_add_func ("/io/tiff/fixtures", test_tiff_fixtures);
  g_test_add_func ("/io/other-formats", test_other_formats);
  g_test_add_func ("/io/tiff/jpeg", test_tiff_jpeg);
  g_test_add_func ("/io/jpeg-cmyk", test_jpeg_cmyk);
  g_test_add_func ("/io/jpeg-exif-resolution", test_jpeg_exif_resolution);
  g_test_add_func ("/io/samples", test_samples);
  return g_test_run ();
}
