/* test-bad-inputs.c: the catalogue of bad inputs, run through the real
 * dae-filter binary.
 *
 * Each bad input must be refused the netpbm way: exit status 1 (not a
 * signal, not a sanitizer's report), exactly one line on stderr that starts
 * "dae-filter: NAME: " and names the problem, and nothing on stdout that
 * reads as a complete image (except the good images before the bad one in a
 * stream).  Under ASan the child's leak check turns a leak into another exit
 * status, which fails here too.  Edge cases that are valid must be accepted
 * with every image written.  Inputs are made here, in C; the reproducers of
 * bugs found by the fuzzers are files in tests/data/bad/ (each refused). */
#include "dae.h"
#include "test-spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

static char *filter_path, *tmp_dir, *model_path;

/* ---- running dae-filter --------------------------------------------------- */

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Runs dae-filter ARGS... with @input on stdin. */
static TestRun
run_filter_v (GBytes *input, const char *const *args)
{
  gsize size = 0;
  const void *data = input ? g_bytes_get_data (input, &size) : NULL;
  return test_run (tmp_dir, filter_path, data, size, args);
}

/* The images of @bytes that read completely and without error, in order,
 * until the first error or the end. */
static guint
count_complete_images (GBytes *bytes)
{
  gsize size;
  const void *data = g_bytes_get_data (bytes, &size);
  if (size == 0)
    return 0;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (data, size);
  DaeImageInfo info;
  guint n = 0;
  g_autoptr (GError) error = NULL;
  while (dae_image_reader_next (r, &info, &error))
    {
      g_autofree guint16 *row = g_new (guint16, (size_t) info.width * info.channels);
      for (guint y = 0; y < info.height; y++)
        if (!dae_image_reader_read_rows (r, 1, row, &error))
          return n;
      n++;
    }
  return n;
}

/* ---- the catalogue -------------------------------------------------------- */

typedef struct {
  const char *name;     /* what the case is */
  GBytes *input;        /* stdin */
  const char *model;    /* for -m, NULL: the good model */
  const char *extra[3]; /* more options */
  const char *says;     /* a word the message must contain (case-insensitive) */
  guint good_images;    /* complete images expected on stdout before the error */
} Case;

static guint n_refused, n_accepted;

static gboolean
contains_nocase (const char *hay, const char *needle)
{
  g_autofree char *h = g_ascii_strdown (hay, -1);
  g_autofree char *n = g_ascii_strdown (needle, -1);
  return strstr (h, n) != NULL;
}

static TestRun
run_case (const Case *c)
{
  const char *args[8] = { "-q", "-j", "2", "-m", c->model ? c->model : model_path };
  guint k = 5;
  for (guint i = 0; i < G_N_ELEMENTS (c->extra) && c->extra[i]; i++)
    args[k++] = c->extra[i];
  args[k] = NULL;
  return run_filter_v (c->input, args);
}

/* Refused: exit 1, one line naming the problem, no image that is not owed. */
static void
expect_refused (const Case *c)
{
  g_auto (TestRun) r = run_case (c);
  g_test_message ("%s: exit %d: %s", c->name, r.status, r.err);
  if (r.signalled)
    g_error ("%s: killed by signal %d; stderr: %s", c->name, r.status - 128, r.err);
  if (r.status != 1)
    g_error ("%s: exit status %d, expected 1; stderr: %s", c->name, r.status, r.err);
  const char *nl = strchr (r.err, '\n');
  if (nl == NULL || nl[1] != '\0')
    g_error ("%s: stderr is not one line: \"%s\"", c->name, r.err);
  /* It names what is wrong: stdin, or the model file. */
  if (c->model == NULL && !g_str_has_prefix (r.err, "dae-filter: stdin: "))
    g_error ("%s: message does not name stdin: %s", c->name, r.err);
  /* A model is named, unless it fails only on the image, which is. */
  if (c->model != NULL && (!g_str_has_prefix (r.err, "dae-filter: ")
                           || (strstr (r.err, c->model) == NULL
                               && !g_str_has_prefix (r.err, "dae-filter: stdin: "))))
    g_error ("%s: message names neither the model %s nor stdin: %s", c->name, c->model,
             r.err);
  for (const char *p = r.err; p < nl; p++)
    if ((guchar) *p < 0x20 && *p != '\t')
      g_error ("%s: control character in the message: %s", c->name, r.err);
  if (!contains_nocase (r.err, c->says))
    g_error ("%s: message does not say \"%s\": %s", c->name, c->says, r.err);
  guint good = count_complete_images (r.out);
  if (good != c->good_images)
    g_error ("%s: %u complete images on stdout, expected %u", c->name, good, c->good_images);
  n_refused++;
}

/* Accepted: exit 0, silent, one output image per input image. */
static void
expect_accepted (const Case *c, guint n_images)
{
  g_auto (TestRun) r = run_case (c);
  if (r.signalled || r.status != 0)
    g_error ("%s: refused (exit %d%s): %s", c->name, r.status,
             r.signalled ? " by signal" : "", r.err);
  g_assert_cmpstr (r.err, ==, "");
  g_assert_cmpuint (count_complete_images (r.out), ==, n_images);
  /* Same sizes in the same order. */
  gsize in_size, out_size;
  const void *in = g_bytes_get_data (c->input, &in_size);
  const void *out = g_bytes_get_data (r.out, &out_size);
  g_autoptr (DaeImageReader) a = dae_image_reader_new_memory (in, in_size);
  g_autoptr (DaeImageReader) b = dae_image_reader_new_memory (out, out_size);
  DaeImageInfo ia, ib;
  for (guint i = 0; i < n_images; i++)
    {
      g_assert_true (dae_image_reader_next (a, &ia, NULL));
      g_assert_true (dae_image_reader_next (b, &ib, NULL));
      g_assert_cmpuint (ia.width, ==, ib.width);
      g_assert_cmpuint (ia.height, ==, ib.height);
      g_assert_cmpuint (ia.channels, ==, ib.channels);
      g_assert_cmpuint (ia.maxval, ==, ib.maxval);
    }
  n_accepted++;
}

/* ---- making inputs -------------------------------------------------------- */

static GBytes *
lit (const char *s, gssize len)
{
  return g_bytes_new (s, len < 0 ? strlen (s) : (size_t) len);
}

static GBytes *
cat (GBytes *a, GBytes *b)
{
  GByteArray *x = g_byte_array_new ();
  g_byte_array_append (x, g_bytes_get_data (a, NULL), g_bytes_get_size (a));
  g_byte_array_append (x, g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  return g_byte_array_free_to_bytes (x);
}

/* A raw PGM of w x h with a gradient. */
static GBytes *
pgm (guint w, guint h, guint maxval)
{
  GString *s = g_string_new (NULL);
  g_string_printf (s, "P5\n%u %u\n%u\n", w, h, maxval);
  for (guint i = 0; i < w * h; i++)
    {
      guint v = (i * 37) % (maxval + 1);
      if (maxval > 255)
        g_string_append_c (s, (char) (v >> 8));
      g_string_append_c (s, (char) v);
    }
  return g_string_free_to_bytes (s);
}

static void
put_be32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (b, x, 4);
}

static void
png_chunk (GByteArray *b, const char *type, const void *data, guint32 len)
{
  put_be32 (b, len);
  guint start = b->len;
  g_byte_array_append (b, (const guint8 *) type, 4);
  if (len)
    g_byte_array_append (b, data, len);
  put_be32 (b, (guint32) crc32 (0, b->data + start, len + 4));
}

/* A PNG: IHDR with these fields, IDAT holding @raw (filtered scanlines)
 * deflated, IEND. */
static GBytes *
png (guint32 w, guint32 h, guint8 depth, guint8 color, guint8 interlace,
     const guint8 *raw, size_t raw_len)
{
  GByteArray *b = g_byte_array_new ();
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_byte_array_append (b, sig, 8);
  guint8 ihdr[13] = { w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8, h,
                      depth, color, 0, 0, interlace };
  png_chunk (b, "IHDR", ihdr, 13);
  uLongf zlen = compressBound (raw_len);
  g_autofree guint8 *z = g_malloc (zlen);
  g_assert_cmpint (compress2 (z, &zlen, raw, raw_len, 9), ==, Z_OK);
  png_chunk (b, "IDAT", z, zlen);
  png_chunk (b, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (b);
}

/* An 8-bit gray PNG of w x h, filter byte 0, a gradient. */
static GBytes *
png_gray (guint w, guint h)
{
  size_t n = (size_t) (w + 1) * h;
  g_autofree guint8 *raw = g_malloc0 (n);
  for (size_t i = 0; i < n; i++)
    raw[i] = i % (w + 1) ? (guint8) (i * 13) : 0;
  return png (w, h, 8, 0, 0, raw, n);
}

/* Offset of the first chunk of @type in a PNG, or -1. */
static gssize
find_chunk (GBytes *p, const char *type)
{
  gsize size;
  const guint8 *d = g_bytes_get_data (p, &size);
  for (gsize pos = 8; pos + 12 <= size;)
    {
      guint32 len = (guint32) d[pos] << 24 | d[pos + 1] << 16 | d[pos + 2] << 8 | d[pos + 3];
      if (memcmp (d + pos + 4, type, 4) == 0)
        return (gssize) pos;
      pos += 12 + (gsize) len;
    }
  return -1;
}

/* A copy of @b with byte @at XORed with @mask. */
static GBytes *
flip (GBytes *b, gsize at, guint8 mask)
{
  gsize size;
  const void *data = g_bytes_get_data (b, &size);
  guint8 *d = g_memdup2 (data, size);
  g_assert_cmpuint (at, <, size);
  d[at] ^= mask;
  return g_bytes_new_take (d, size);
}

static GBytes *
prefix (GBytes *b, gsize len)
{
  return g_bytes_new_from_bytes (b, 0, len);
}

/* ---- models --------------------------------------------------------------- */

static GBytes *
good_model (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c4,p,c4,u,c1:sigmoid", 1, 28, 28, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 3);
  size_t n;
  guint8 *d = dae_model_save_memory (m, &n);
  return g_bytes_new_take (d, n);
}

static GBytes *
rgb_model (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c4,c3:sigmoid", 3, 8, 8, &error);
  g_assert_no_error (error);
  size_t n;
  guint8 *d = dae_model_save_memory (m, &n);
  return g_bytes_new_take (d, n);
}

static GBytes *patch_model_u32 (GBytes *model, gsize at, guint32 v);

/* conv @channels, pool, upsample, conv 1 at @patch x @patch: a few
 * parameters, and channels x patch^2 floats of activations.  Made at 28x28
 * (where it is cheap) and then given its patch size. */
static GBytes *
big_model (guint channels, guint32 patch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new (1, 28, 28, &error);
  g_assert_no_error (error);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, channels, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_MAXPOOL2, DAE_ACT_NONE, 0, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_UPSAMPLE2, DAE_ACT_NONE, 0, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_SIGMOID, 1, -1, NULL));
  size_t n;
  guint8 *d = dae_model_save_memory (m, &n);
  g_autoptr (GBytes) small = g_bytes_new_take (d, n);
  g_autoptr (GBytes) tall = patch_model_u32 (small, 16, patch);
  return patch_model_u32 (tall, 20, patch);
}

/* A copy of a model file with @len bytes at @at replaced, and the CRC
 * made right again (so that the loader looks past it). */
static GBytes *
patch_model (GBytes *model, gsize at, const void *bytes, gsize len)
{
  gsize size;
  const void *data = g_bytes_get_data (model, &size);
  guint8 *d = g_memdup2 (data, size);
  memcpy (d + at, bytes, len);
  guint32 crc = (guint32) crc32 (0, d, size - 4);
  guint8 le[4] = { crc, crc >> 8, crc >> 16, crc >> 24 };
  memcpy (d + size - 4, le, 4);
  return g_bytes_new_take (d, size);
}

/* The same with a little-endian u32 (the format's byte order). */
static GBytes *
patch_model_u32 (GBytes *model, gsize at, guint32 v)
{
  const guint8 le[4] = { v, v >> 8, v >> 16, v >> 24 };
  return patch_model (model, at, le, 4);
}

static char *
write_tmp (const char *name, GBytes *data)
{
  char *path = tmp_file (name);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (data, NULL),
                                      g_bytes_get_size (data), NULL));
  return path;
}

/* ---- tests ---------------------------------------------------------------- */

static void
refuse (const char *name, GBytes *input, const char *says)
{
  Case c = { name, input, NULL, { NULL }, says, 0 };
  expect_refused (&c);
  g_bytes_unref (input);
}

static void
test_generic (void)
{
  refuse ("empty input", lit ("", 0), "empty");
  refuse ("text", lit ("hello world\n", -1), "magic");
  refuse ("binary junk", lit ("\x00\x01\x02\xff\xfe\x7f\x80", 7), "magic");
  refuse ("P8", lit ("P8\n1 1\n255\n\x01", -1), "magic");
  refuse ("P0", lit ("P0\n1 1\n255\n\x01", -1), "magic");
  refuse ("lower-case p5", lit ("p5\n1 1\n255\n\x01", -1), "magic");
  refuse ("PNG signature cut", lit ("\x89PNG\r\n", -1), "magic");
  refuse ("whitespace only", lit (" \n\t\n", -1), "magic");
}

static void
test_sizes (void)
{
  refuse ("width 0", lit ("P5\n0 2\n255\n", -1), "empty");
  refuse ("height 0", lit ("P5\n2 0\n255\n", -1), "empty");
  refuse ("negative width", lit ("P5\n-3 2\n255\n", -1), "negative");
  refuse ("negative height", lit ("P2\n3 -2\n255\n", -1), "negative");
  refuse ("width with 20 digits", lit ("P5\n99999999999999999999 1\n255\n", -1), "large");
  refuse ("width 2^31", lit ("P5\n2147483648 1\n255\n", -1), "large");
  refuse ("4294967295 squared", lit ("P6\n4294967295 4294967295\n255\n", -1), "large");
  refuse ("65536 x 65536 pixels", lit ("P5\n65536 65536\n255\n", -1), "limit");
  refuse ("width 2^30, no data", lit ("P5\n1073741824 1\n255\n", -1), "");
  refuse ("PAM RGBA16 row of 8 GiB",
          lit ("P7\nWIDTH 1073741824\nHEIGHT 1\nDEPTH 4\nMAXVAL 65535\nENDHDR\n", -1), "");
  refuse ("PAM width overflowing int",
          lit ("P7\nWIDTH 4294967296\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", -1), "large");
  refuse ("width as hexadecimal", lit ("P5\n0x10 1\n255\n", -1), "junk");
  refuse ("width with a sign", lit ("P5\n+4 1\n255\n", -1), "number");
  /* --max-pixels is checked from the header. */
  Case c = { "--max-pixels 99 for 10x10", pgm (10, 10, 255), NULL,
             { "--max-pixels", "99" }, "limit", 0 };
  expect_refused (&c);
  g_bytes_unref (c.input);
}

static void
test_maxval (void)
{
  refuse ("maxval 0", lit ("P5\n2 1\n0\n\0\0", 11), "maxval");
  refuse ("maxval 65536", lit ("P5\n1 1\n65536\n\0\0", 14), "maxval");
  refuse ("maxval 0 plain", lit ("P2 1 1 0 0\n", -1), "maxval");
  refuse ("PAM maxval 70000",
          lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 70000\nENDHDR\n\0\0", -1), "maxval");
  refuse ("PAM maxval 0",
          lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 0\nENDHDR\n\0", -1), "maxval");
}

static void
test_samples (void)
{
  refuse ("plain sample above maxval", lit ("P2 2 1 10 5 11\n", -1), "exceeds");
  refuse ("plain sample not a number", lit ("P2 2 1 10 5 x\n", -1), "junk");
  refuse ("plain negative sample", lit ("P2 2 1 10 5 -1\n", -1), "junk");
  refuse ("plain sample 5e1", lit ("P2 2 1 100 5 5e1\n", -1), "junk");
  refuse ("plain PBM digit 2", lit ("P1 3 1 012", -1), "junk");
  refuse ("plain PPM cut short", lit ("P3 2 1 255 1 2 3 4 5", -1), "truncated");
  refuse ("plain huge sample", lit ("P2 1 1 255 99999999999999999999999\n", -1), "exceeds");
  refuse ("raw sample above maxval", lit ("P5\n2 1\n100\n\x05\xff", -1), "exceeds");
  refuse ("raw 16-bit sample above maxval", lit ("P5\n1 1\n1000\n\xff\xff", -1), "exceeds");
  refuse ("raw PGM data cut short", lit ("P5\n4 4\n255\n0123456789", -1), "truncated");
  refuse ("raw PPM data cut short", lit ("P6\n2 2\n255\n\1\2\3\4\5\6\7", -1), "truncated");
  refuse ("raw PBM data cut short", lit ("P4\n9 3\n\xff\x80\xff", -1), "truncated");
  refuse ("PAM sample above maxval",
          lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 7\nENDHDR\n\x03\x09", -1), "exceeds");
}

static void
test_pam (void)
{
  refuse ("PAM without ENDHDR", lit ("P7\nWIDTH 2\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\n", -1),
          "ENDHDR");
  refuse ("PAM without WIDTH", lit ("P7\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nENDHDR\n", -1),
          "WIDTH");
  refuse ("PAM without DEPTH", lit ("P7\nWIDTH 1\nHEIGHT 1\nMAXVAL 255\nENDHDR\n\0", -1),
          "DEPTH");
  refuse ("PAM depth 0", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 0\nMAXVAL 255\nENDHDR\n", -1),
          "depth");
  refuse ("PAM depth 5", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nENDHDR\n"
                              "\1\2\3\4\5", -1), "depth");
  refuse ("PAM WIDTH twice", lit ("P7\nWIDTH 1\nWIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"
                                  "ENDHDR\n\0", -1), "twice");
  refuse ("PAM unknown keyword", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nCOLOR red\n"
                                      "ENDHDR\n\0", -1), "keyword");
  refuse ("PAM RGB of depth 1", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"
                                     "TUPLTYPE RGB\nENDHDR\n\0", -1), "TUPLTYPE");
  refuse ("PAM BLACKANDWHITE maxval 255", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"
                                               "TUPLTYPE BLACKANDWHITE\nENDHDR\n\0", -1),
          "maxval");
  refuse ("PAM junk after P7", lit ("P7 WIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\0", -1),
          "P7");
  refuse ("PAM WIDTH 1e3", lit ("P7\nWIDTH 1e3\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", -1),
          "WIDTH");
  refuse ("PAM WIDTH without value", lit ("P7\nWIDTH\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n",
                                          -1), "WIDTH");
  refuse ("PAM NUL in the header", lit ("P7\nWIDTH 1\0\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"
                                        "ENDHDR\n\0", 48), "NUL");
  GString *longline = g_string_new ("P7\n#");
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (longline, 'x');
  g_string_append (longline, "\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\0");
  refuse ("PAM header line of 5000 bytes", g_string_free_to_bytes (longline), "long");
  /* Control characters from the file do not reach the message (fuzz-pnm). */
  refuse ("PAM with escape codes in a value",
          lit ("P7\nWIDTH 1\x1b[2J\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\0", -1), "WIDTH");
}

static void
test_png (void)
{
  g_autoptr (GBytes) good = png_gray (5, 4);
  gssize ihdr = find_chunk (good, "IHDR"), idat = find_chunk (good, "IDAT"),
         iend = find_chunk (good, "IEND");
  g_assert_true (ihdr == 8 && idat > 0 && iend > idat);
  refuse ("PNG IHDR CRC wrong", flip (good, ihdr + 8 + 13, 0x01), "CRC");
  refuse ("PNG IDAT CRC wrong", flip (good, iend - 1, 0x80), "CRC");
  refuse ("PNG IEND CRC wrong", flip (good, iend + 11, 0x10), "CRC");
  refuse ("PNG IHDR data changed (CRC no longer fits)", flip (good, ihdr + 8 + 3, 0x02), "CRC");
  refuse ("PNG deflate data corrupt", flip (good, idat + 8 + 4, 0xff), "PNG");
  refuse ("PNG cut in IDAT", prefix (good, idat + 12), "truncated");
  refuse ("PNG without IEND", prefix (good, iend), "truncated");
  refuse ("PNG cut in the signature", prefix (good, 6), "magic");
  guint8 row[9] = { 0 };
  refuse ("PNG width 0", png (0, 1, 8, 0, 0, row, 1), "PNG");
  refuse ("PNG bit depth 3", png (1, 1, 3, 0, 0, row, 2), "PNG");
  refuse ("PNG colour type 5", png (1, 1, 8, 5, 0, row, 2), "PNG");
  refuse ("PNG RGB of bit depth 4", png (1, 1, 4, 2, 0, row, 3), "PNG");
  refuse ("PNG interlace method 2", png (1, 1, 8, 0, 2, row, 2), "PNG");
  refuse ("PNG palette without PLTE", png (2, 1, 8, 3, 0, row, 3), "PNG");
  refuse ("PNG 2^31-1 squared", png (0x7fffffff, 0x7fffffff, 8, 0, 0, row, 2), "PNG");
  refuse ("PNG 2^32-1 wide", png (0xffffffffu, 1, 8, 0, 0, row, 2), "PNG");
  refuse ("PNG 65536 x 65536 (over the pixel limit)", png (65536, 65536, 8, 0, 0, row, 2),
          "limit");
  /* Interlaced images are buffered whole: 30000^2 RGBA16 would be 6.7 GiB. */
  refuse ("PNG interlaced bomb", png (30000, 30000, 16, 6, 1, row, 9), "interlaced");
  /* Rows missing from the deflate stream. */
  guint8 two_rows[2 * 6] = { 0 };
  refuse ("PNG with 2 of 5 rows", png (5, 5, 8, 0, 0, two_rows, sizeof two_rows), "PNG");
  /* A chunk whose length runs past the end of the file. */
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, g_bytes_get_data (good, NULL), idat);
  put_be32 (b, 0x7ffffff0u);
  g_byte_array_append (b, (const guint8 *) "tEXtabc", 7);
  refuse ("PNG chunk length past the end", g_byte_array_free_to_bytes (b), "PNG");

  /* A decompression bomb: 6000 x 6000 zeros deflate to about 35 KB;
   * --max-pixels refuses it from its header. */
  const guint bw = 6000, bh = 6000;
  g_autofree guint8 *zeros = g_malloc0 ((size_t) (bw + 1) * bh);
  g_autoptr (GBytes) bomb = png (bw, bh, 8, 0, 0, zeros, (size_t) (bw + 1) * bh);
  g_assert_cmpuint (g_bytes_get_size (bomb), <, 100000);
  Case c = { "PNG deflate bomb over --max-pixels", bomb, NULL,
             { "--max-pixels", "1000000" }, "limit", 0 };
  expect_refused (&c);
}

/* Every truncation point of a header is refused, whatever it cuts. */
static void
test_truncations (void)
{
  const char *headers[] = {
    "P5\n# a comment\n3 2\n255\n",
    "P2\n3 2\n65535\n",
    "P4\n9 2\n",
    "P1 2 2 ",
    "P6 1 1 255\n",
    "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n",
  };
  guint n = 0;
  for (guint h = 0; h < G_N_ELEMENTS (headers); h++)
    for (gsize len = 1; len <= strlen (headers[h]); len++)
      {
        g_autofree char *name = g_strdup_printf ("\"%s\" cut at %zu", headers[h], len);
        Case c = { name, lit (headers[h], len), NULL, { NULL }, "", 0 };
        expect_refused (&c);
        g_bytes_unref (c.input);
        n++;
      }
  /* A PNG cut anywhere up to and including its IDAT. */
  g_autoptr (GBytes) good = png_gray (3, 2);
  gssize iend = find_chunk (good, "IEND");
  for (gssize len = 1; len < iend + 12; len++)
    {
      g_autofree char *name = g_strdup_printf ("PNG cut at %zd", len);
      Case c = { name, prefix (good, len), NULL, { NULL }, "", 0 };
      expect_refused (&c);
      g_bytes_unref (c.input);
      n++;
    }
  g_test_message ("%u truncation points refused", n);
}

static void
test_streams (void)
{
  g_autoptr (GBytes) one = pgm (6, 5, 255);
  g_autoptr (GBytes) junk = lit ("\ngarbage\n", -1);
  g_autoptr (GBytes) bad2 = lit ("P5\n0 5\n255\n", -1);
  g_autoptr (GBytes) cut2 = lit ("P5\n6 5\n255\n123", -1);
  g_autoptr (GBytes) good_png = png_gray (4, 3);
  g_autoptr (GBytes) nul = lit ("\0", 1);
  Case cases[] = {
    { "garbage after a valid image", cat (one, junk), NULL, { NULL }, "junk", 1 },
    { "a NUL after a valid image", cat (one, nul), NULL, { NULL }, "junk", 1 },
    { "bad second image", cat (one, bad2), NULL, { NULL }, "image 2", 1 },
    { "truncated second image", cat (one, cut2), NULL, { NULL }, "image 2", 1 },
    { "garbage after a valid PNG", cat (good_png, junk), NULL, { NULL }, "junk", 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      expect_refused (&cases[i]);
      g_bytes_unref (cases[i].input);
    }
}

static void
test_models (void)
{
  g_autoptr (GBytes) img = pgm (9, 7, 255);
  g_autoptr (GBytes) good = good_model ();
  gsize size = g_bytes_get_size (good);
  const guint8 nan_bits[4] = { 0x00, 0x00, 0xc0, 0x7f };
  struct { const char *name; GBytes *bytes; const char *says; } models[] = {
    { "model: empty file", lit ("", 0), "magic" },
    { "model: a PGM", g_bytes_ref (img), "magic" },
    { "model: cut in half", prefix (good, size / 2), "CRC" },
    { "model: cut in the header", prefix (good, 20), "truncated" },
    { "model: one bit flipped", flip (good, size / 2, 0x04), "CRC" },
    { "model: CRC flipped", flip (good, size - 1, 0x80), "CRC" },
    { "model: version 2", patch_model_u32 (good, 8, 2), "version" },
    { "model: no layers", patch_model_u32 (good, 24, 0), "layer" },
    { "model: channels that do not fit its layers", patch_model_u32 (good, 12, 3),
      "parameters" },
    { "model: a NaN weight", patch_model (good, size - 8, nan_bits, 4), "finite" },
    { "model: 3 channels in and out", rgb_model (), "channels" },
    /* A valid file of 40 KB asking for 32 GiB of activations a tile. */
    { "model: 512 channels of 4096x4096", big_model (512, 4096), "activations" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autofree char *file = g_strdup_printf ("bad-model-%u.dae", i);
      g_autofree char *path = write_tmp (file, models[i].bytes);
      Case c = { models[i].name, img, path, { NULL }, models[i].says, 0 };
      expect_refused (&c);
      g_bytes_unref (models[i].bytes);
    }
  /* Not a file at all. */
  Case dir = { "model: a directory", img, tmp_dir, { NULL }, "", 0 };
  expect_refused (&dir);
  g_autofree char *missing = tmp_file ("no-such-model.dae");
  Case none = { "model: missing", img, missing, { NULL }, "", 0 };
  expect_refused (&none);
}

/* The reproducers in tests/data/bad/: .dae files as models, the rest as
 * images. */
static void
test_reproducers (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", "bad", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  g_autoptr (GBytes) img = pgm (9, 7, 255);
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (g_str_equal (name, "README"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_str_has_suffix (name, ".dae"))
        {
          Case c = { name, img, path, { NULL }, "", 0 };
          expect_refused (&c);
        }
      else
        {
          char *data;
          gsize len;
          g_assert_true (g_file_get_contents (path, &data, &len, NULL));
          refuse (name, g_bytes_new_take (data, len), "");
        }
      n++;
    }
  g_assert_cmpuint (n, >, 0);
}

static void
accept (const char *name, GBytes *input, guint n_images)
{
  Case c = { name, input, NULL, { NULL }, NULL, 0 };
  expect_accepted (&c, n_images);
  g_bytes_unref (input);
}

static void
test_edge_cases_accepted (void)
{
  accept ("1x1", pgm (1, 1, 255), 1);
  accept ("1x40", pgm (1, 40, 255), 1);
  accept ("40x1", pgm (40, 1, 255), 1);
  accept ("29x27 16-bit", pgm (29, 27, 65535), 1);
  accept ("maxval 1", lit ("P2\n3 2\n1\n0 1 0\n1 1 0\n", -1), 1);
  accept ("maxval 1 raw", lit ("P5 2 2 1\n\0\1\1\0", 13), 1);
  accept ("comments everywhere",
          lit ("P2#a\n#b\n 3#c\n#d\n2 #e\n#f\n255#g\n1 2#h\n3\n#i\n4 5 6#j", -1), 1);
  accept ("comment right after the magic", lit ("P5#x\n1 1 255\n\x7f", -1), 1);
  accept ("plain PBM without spaces", lit ("P1\n5 2\n0101011010", -1), 1);
  accept ("plain PBM bits across lines", lit ("P1 3 3\n01\n1010\n001\n", -1), 1);
  accept ("PAM with comments and blank lines",
          lit ("P7\n# c\n\nWIDTH 2\n  HEIGHT 1  \nDEPTH 1\n# c\nMAXVAL 9\nENDHDR\n\x01\x09", -1), 1);
  accept ("PAM with an unknown TUPLTYPE", lit ("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\n"
                                              "TUPLTYPE YCbCr\nENDHDR\n\1\2\3", -1), 1);
  accept ("PNG 1x1", png_gray (1, 1), 1);
  g_autoptr (GBytes) a = pgm (3, 3, 255);
  g_autoptr (GBytes) b = lit ("\n\t P2 1 1 7 7\n", -1);
  g_autoptr (GBytes) ab = cat (a, b);
  g_autoptr (GBytes) p = png_gray (2, 2);
  accept ("three images with whitespace between", cat (ab, p), 3);
  accept ("whitespace after the last image", cat (a, lit ("\n\n  \t\n", -1)), 1);
}

/* ---- JPEG and TIFF -------------------------------------------------------- */

/* An image written by our own writer (@pages of them: a TIFF's pages). */
static GBytes *
encode_image (DaeImageFormat format, guint w, guint h, guint maxval, guint pages)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  DaeImageInfo info = { 0 };
  info.width = w, info.height = h, info.channels = 1, info.maxval = maxval;
  info.x_res = 300, info.y_res = 200, info.res_unit = DAE_RES_UNIT_INCH;
  g_assert_true (dae_image_info_set_format (&info, format, NULL));
  g_autofree guint16 *s = g_new (guint16, (size_t) w * h);
  for (guint i = 0; i < w * h; i++)
    s[i] = (guint16) ((i * 37 + i / w) % (maxval + 1));
  g_autoptr (DaeImageWriter) wr = NULL;
  for (guint p = 0; p < pages; p++)
    {
      g_assert_true (p == 0 ? (wr = dae_image_writer_new (fp, &info, NULL)) != NULL
                            : dae_image_writer_next (wr, &info, NULL));
      g_assert_true (dae_image_writer_write_rows (wr, h, s, NULL));
      g_assert_true (dae_image_writer_finish (wr, NULL));
      info.maxval = 255; /* later pages: 8-bit gray */
    }
  g_assert_true (dae_image_writer_close (wr, NULL));
  fclose (fp);
  return g_bytes_new_take (buf, len);
}

static GBytes *
patched (GBytes *b, gsize at, const char *bytes, gsize n)
{
  gsize size;
  const void *data = g_bytes_get_data (b, &size);
  guint8 *d = g_memdup2 (data, size);
  g_assert_cmpuint (at + n, <=, size);
  memcpy (d + at, bytes, n);
  return g_bytes_new_take (d, size);
}

static gssize
find_bytes (GBytes *b, const char *what, gsize n)
{
  gsize size;
  const guint8 *d = g_bytes_get_data (b, &size);
  for (gsize i = 0; i + n <= size; i++)
    if (memcmp (d + i, what, n) == 0)
      return (gssize) i;
  return -1;
}

static void
test_jpeg (void)
{
  g_autoptr (GBytes) jpg = encode_image (DAE_IMAGE_FORMAT_JPEG, 40, 24, 255, 1);
  gsize size = g_bytes_get_size (jpg);
  /* Cut anywhere: refused, with nothing on stdout. */
  for (gsize len = 1; len < size; len += 1 + len / 8)
    {
      g_autofree char *name = g_strdup_printf ("JPEG cut at %zu of %zu", len, size);
      refuse (name, prefix (jpg, (gssize) len), "");
    }
  refuse ("JPEG magic, then junk", lit ("\xff\xd8\xff\xe0 junk junk junk junk", -1), "JPEG");
  /* 60000 x 60000 declared in SOF: refused from the header. */
  gssize sof = find_bytes (jpg, "\xff\xc0", 2);
  g_assert_cmpint (sof, >, 0);
  Case c = { "JPEG of 60000x60000 under --max-pixels 1000000",
             patched (jpg, sof + 5, "\xea\x60\xea\x60", 4), NULL,
             { "--max-pixels", "1000000" }, "limit", 0 };
  expect_refused (&c);
  g_bytes_unref (c.input);
  /* Scan data damaged: a lost-data warning of libjpeg's is an error. */
  gssize sos = find_bytes (jpg, "\xff\xda", 2);
  refuse ("JPEG scan data with a marker inside", patched (jpg, sos + 20, "\xff\xd9", 2), "JPEG");
  accept ("JPEG", g_bytes_ref (jpg), 1);

  /* Through dae-filter: the density and the quality (90, the default of
   * the writer that made it) kept; --quality changes the latter. */
  for (guint q = 0; q <= 40; q += 40)
    {
      g_autofree char *qs = g_strdup_printf ("--quality=%u", q);
      Case c2 = { "JPEG", jpg, NULL, { q ? qs : NULL }, NULL, 0 };
      g_auto (TestRun) r = run_case (&c2);
      g_assert_cmpint (r.status, ==, 0);
      g_autoptr (DaeImageReader) rd = dae_image_reader_new_memory (
        g_bytes_get_data (r.out, NULL), g_bytes_get_size (r.out));
      DaeImageInfo info;
      g_assert_true (dae_image_reader_next (rd, &info, NULL));
      g_assert_cmpint (info.format, ==, DAE_IMAGE_FORMAT_JPEG);
      g_assert_cmpuint (info.quality, ==, q ? q : 90);
      g_assert_cmpint (info.res_unit, ==, DAE_RES_UNIT_INCH);
      g_assert_cmpfloat (info.x_res, ==, 300);
      g_assert_cmpfloat (info.y_res, ==, 200);
    }
}

static void
test_tiff (void)
{
  g_autoptr (GBytes) tif = encode_image (DAE_IMAGE_FORMAT_TIFF, 40, 24, 1, 2);
  gsize size = g_bytes_get_size (tif);
  /* libtiff writes the image data first and the directories after it:
   * a cut before the last directory loses a page, or the whole file. */
  for (gsize len = 1; len < size - 40; len += 1 + len / 6)
    {
      g_autofree char *name = g_strdup_printf ("TIFF cut at %zu of %zu", len, size);
      refuse (name, prefix (tif, (gssize) len), "");
    }
  refuse ("TIFF magic, then junk", lit ("II*\0junkjunkjunk", 16), "TIFF");
  refuse ("TIFF with its first directory past the end",
          lit ("MM\0*\x7f\0\0\0\0\0\0\0", 12), "TIFF");
  /* One directory: 100000 x 100000, 8-bit gray, one strip. */
  static const guint8 huge[] = {
    'I', 'I', 42, 0, 8, 0, 0, 0, 6, 0,
    0x00, 0x01, 4, 0, 1, 0, 0, 0, 0xa0, 0x86, 0x01, 0, /* width 100000 */
    0x01, 0x01, 4, 0, 1, 0, 0, 0, 0xa0, 0x86, 0x01, 0, /* height */
    0x02, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0,          /* 8 bits */
    0x06, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0,          /* min-is-black */
    0x11, 0x01, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0,          /* strip at 8 */
    0x17, 0x01, 4, 0, 1, 0, 0, 0, 0, 0xe4, 0x0b, 0x54, /* 10^10 bytes */
    0, 0, 0, 0,
  };
  Case c = { "TIFF of 100000x100000 under --max-pixels 1000000",
             g_bytes_new_static (huge, sizeof huge), NULL, { "--max-pixels", "1000000" },
             "limit", 0 };
  expect_refused (&c);
  g_bytes_unref (c.input);
  /* Each page's strip overwritten, where libtiff says it is. */
  g_autofree char *path = write_tmp ("two-pages.tif", tif);
  toff_t strip[2];
  TIFF *t = TIFFOpen (path, "r");
  for (guint16 page = 0; page < 2; page++)
    {
      const toff_t *offsets = NULL;
      g_assert_true (TIFFSetDirectory (t, page));
      g_assert_true (TIFFGetField (t, TIFFTAG_STRIPOFFSETS, &offsets));
      strip[page] = offsets[0];
    }
  TIFFClose (t);
  refuse ("TIFF with a corrupt Group 4 strip", patched (tif, strip[0] + 4, "\0\0\0\0\0\0", 6),
          "TIFF");
  refuse ("TIFF with a corrupt Deflate strip", patched (tif, strip[1] + 2, "\xff\xff\xff\xff", 4),
          "TIFF");
  accept ("two-page TIFF", g_bytes_ref (tif), 2);

  /* Through dae-filter: pages, depths, compression and resolution kept. */
  Case c2 = { "two-page TIFF", tif, NULL, { NULL }, NULL, 0 };
  g_auto (TestRun) r = run_case (&c2);
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *out = write_tmp ("two-pages-out.tif", r.out);
  t = TIFFOpen (out, "r");
  g_assert_nonnull (t);
  static const guint16 bits[2] = { 1, 8 }, comp[2] = { COMPRESSION_CCITTFAX4,
                                                       COMPRESSION_ADOBE_DEFLATE };
  for (guint16 page = 0; page < 2; page++)
    {
      guint16 b = 0, k = 0;
      float xr = 0, yr = 0;
      g_assert_true (TIFFSetDirectory (t, page));
      g_assert_true (TIFFGetField (t, TIFFTAG_BITSPERSAMPLE, &b));
      g_assert_true (TIFFGetField (t, TIFFTAG_COMPRESSION, &k));
      g_assert_true (TIFFGetField (t, TIFFTAG_XRESOLUTION, &xr));
      g_assert_true (TIFFGetField (t, TIFFTAG_YRESOLUTION, &yr));
      g_assert_cmpuint (b, ==, bits[page]);
      g_assert_cmpuint (k, ==, comp[page]);
      g_assert_cmpfloat (xr, ==, 300);
      g_assert_cmpfloat (yr, ==, 200);
    }
  g_assert_false (TIFFReadDirectory (t));
  TIFFClose (t);

  /* --bilevel=gray: the Group 4 page comes out 8-bit, Deflate. */
  Case c3 = { "two-page TIFF, --bilevel=gray", tif, NULL, { "--bilevel=gray" }, NULL, 0 };
  g_auto (TestRun) r3 = run_case (&c3);
  g_assert_cmpint (r3.status, ==, 0);
  g_autofree char *out3 = write_tmp ("two-pages-gray.tif", r3.out);
  t = TIFFOpen (out3, "r");
  guint16 b = 0, k = 0;
  g_assert_true (TIFFGetField (t, TIFFTAG_BITSPERSAMPLE, &b));
  g_assert_true (TIFFGetField (t, TIFFTAG_COMPRESSION, &k));
  g_assert_cmpuint (b, ==, 8);
  g_assert_cmpuint (k, ==, COMPRESSION_ADOBE_DEFLATE);
  TIFFClose (t);
}

static void
test_other_formats (void)
{
  refuse ("WebP", lit ("RIFF\x10\0\0\0WEBPVP8 junk", 20), "WebP");
  refuse ("BMP", lit ("BM\x36\0\0\0\0\0\0\0\x36\0\0\0", 14), "anytopnm");
  refuse ("GIF", lit ("GIF89a\1\0\1\0\0\0\0;", 14), "GIF");
}

static void
test_count (void)
{
  if (n_refused == 0)
    {
      g_test_skip ("counts the cases of the other tests: run them with it");
      return;
    }
  /* The catalogue is what issue 8 asks for: at least 40 refused inputs. */
  g_test_message ("%u bad inputs refused, %u edge cases accepted", n_refused, n_accepted);
  printf ("# catalogue: %u bad inputs refused, %u edge cases accepted\n", n_refused, n_accepted);
  g_assert_cmpuint (n_refused, >=, 40);
  g_assert_cmpuint (n_accepted, >=, 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  filter_path = g_strdup (g_getenv ("DAE_FILTER"));
  if (filter_path == NULL)
    filter_path = g_test_build_filename (G_TEST_BUILT, "..", "filter", "dae-filter", NULL);
  tmp_dir = g_dir_make_tmp ("dae-bad-inputs-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_autoptr (GBytes) model = good_model ();
  model_path = write_tmp ("good.dae", model);
  g_unsetenv ("DAE_MODEL_PATH");

  g_test_add_func ("/bad-inputs/generic", test_generic);
  g_test_add_func ("/bad-inputs/sizes", test_sizes);
  g_test_add_func ("/bad-inputs/maxval", test_maxval);
  g_test_add_func ("/bad-inputs/samples", test_samples);
  g_test_add_func ("/bad-inputs/pam", test_pam);
  g_test_add_func ("/bad-inputs/png", test_png);
  g_test_add_func ("/bad-inputs/streams", test_streams);
  g_test_add_func ("/bad-inputs/models", test_models);
  g_test_add_func ("/bad-inputs/reproducers", test_reproducers);
  g_test_add_func ("/bad-inputs/truncations", test_truncations);
  g_test_add_func ("/bad-inputs/edge-cases-accepted", test_edge_cases_accepted);
  g_test_add_func ("/bad-inputs/jpeg", test_jpeg);
  g_test_add_func ("/bad-inputs/tiff", test_tiff);
  g_test_add_func ("/bad-inputs/other-formats", test_other_formats);
  g_test_add_func ("/bad-inputs/count", test_count);
  int status = g_test_run ();

  g_autoptr (GDir) d = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (tmp_dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (tmp_dir);
  return status;
}
