/* test-filter.c: the dae-filter program, run as a user runs it (stdin,
 * files, -o), with the random-weight tutorial model.
 *
 * Properties: at --strength 0 every format comes back as it went in (same
 * type, size, depth, samples; and the same bytes where our writer made
 * the input); alpha is never touched; a multi-image stream gives each image
 * as if alone; a 28x28 image is the model's output; the thread count does
 * not change a byte; every error path exits 1 (2 for usage) with one line
 * `dae-filter: <name>: <what>` and, for a bad header, nothing on stdout;
 * batch mode is atomic and never overwrites an input; every option of
 * --help is in the man page. */
#include "dae.h"
#include "test-spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *filter_path, *model_path, *tmp_dir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Runs dae-filter with @args (NULL-terminated), feeding @input (or
 * nothing) on stdin. */
static TestRun
run_filter_v (const void *input, size_t size, const char *const *args)
{
  return test_run (tmp_dir, filter_path, input, size, args);
}

#define run_filter(input, size, ...) \
  run_filter_v ((input), (size), (const char *const[]){ __VA_ARGS__, NULL })

/* Runs with -m MODEL and -q added. */
#define run_model(input, size, ...) \
  run_filter_v ((input), (size), (const char *const[]){ "-q", "-m", model_path, ##__VA_ARGS__, NULL })

/* ---- images --------------------------------------------------------------- */

typedef struct {
  DaeImageInfo info;
  guint16 *samples;
} Image;

static void
image_clear (Image *im)
{
  g_free (im->samples);
}

static size_t
n_samples (const DaeImageInfo *info)
{
  return (size_t) info->width * info->height * info->channels;
}

static guint16 *
random_samples (const DaeImageInfo *info, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  guint16 *s = g_new (guint16, n_samples (info));
  for (size_t i = 0; i < n_samples (info); i++)
    s[i] = (guint16) g_rand_int_range (rng, 0, info->maxval + 1);
  g_rand_free (rng);
  return s;
}

static DaeImageInfo
make_info (DaeImageFormat format, guint w, guint h, guint channels, guint maxval)
{
  DaeImageInfo info = { .width = w, .height = h, .channels = channels, .maxval = maxval };
  GError *error = NULL;
  g_assert_true (dae_image_info_set_format (&info, format, &error));
  g_assert_no_error (error);
  return info;
}

/* Encodes images with our writer (one after the other: a stream). */
static GBytes *
encode (const DaeImageInfo *infos, guint16 *const *samples, guint n)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *fp = open_memstream (&buf, &size);
  for (guint i = 0; i < n; i++)
    {
      GError *error = NULL;
      g_autoptr (DaeImageWriter) w = dae_image_writer_new (fp, &infos[i], &error);
      g_assert_no_error (error);
      g_assert_true (dae_image_writer_write_rows (w, infos[i].height, samples[i], &error));
      g_assert_true (dae_image_writer_finish (w, &error));
      g_assert_no_error (error);
    }
  fclose (fp);
  return g_bytes_new_take (buf, size);
}

static GBytes *
encode1 (const DaeImageInfo *info, guint16 *samples)
{
  return encode (info, &samples, 1);
}

/* Decodes every image of a stream. */
static GArray *
decode (GBytes *bytes)
{
  GArray *images = g_array_new (FALSE, TRUE, sizeof (Image));
  g_array_set_clear_func (images, (GDestroyNotify) image_clear);
  size_t size;
  const void *data = g_bytes_get_data (bytes, &size);
  g_autoptr (DaeImageReader) r = dae_image_reader_new_memory (data, size);
  GError *error = NULL;
  Image im;
  while (dae_image_reader_next (r, &im.info, &error))
    {
      im.samples = g_new (guint16, n_samples (&im.info));
      g_assert_true (dae_image_reader_read_rows (r, im.info.height, im.samples, &error));
      g_array_append_val (images, im);
    }
  g_assert_no_error (error);
  return images;
}

static void
assert_same_image (const Image *a, const Image *b)
{
  g_assert_cmpint (a->info.format, ==, b->info.format);
  g_assert_cmpuint (a->info.width, ==, b->info.width);
  g_assert_cmpuint (a->info.height, ==, b->info.height);
  g_assert_cmpuint (a->info.channels, ==, b->info.channels);
  g_assert_cmpuint (a->info.maxval, ==, b->info.maxval);
  g_assert_cmpint (a->info.tuple_type, ==, b->info.tuple_type);
  g_assert_cmpmem (a->samples, n_samples (&a->info) * 2, b->samples, n_samples (&b->info) * 2);
}

static void
assert_ok (const TestRun *r)
{
  if (r->status != 0)
    g_error ("dae-filter exited with %d: %s", r->status, r->err);
}

static GBytes *
read_fixture (const char *dir, const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", dir, name, NULL);
  char *data;
  size_t len;
  GError *error = NULL;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

/* ---- round trips ---------------------------------------------------------- */

/* --strength 0 gives every image back exactly: through our writer's
 * formats byte for byte, and in every format type, depth and sample. */
static void
test_round_trip_formats (void)
{
  const struct { DaeImageFormat f; guint c, maxval; DaeTupleType t; } kinds[] = {
    { DAE_IMAGE_FORMAT_PBM_PLAIN, 1, 1, 0 }, { DAE_IMAGE_FORMAT_PBM, 1, 1, 0 },
    { DAE_IMAGE_FORMAT_PGM_PLAIN, 1, 255, 0 }, { DAE_IMAGE_FORMAT_PGM, 1, 255, 0 },
    { DAE_IMAGE_FORMAT_PGM, 1, 65535, 0 }, { DAE_IMAGE_FORMAT_PGM, 1, 1000, 0 },
    { DAE_IMAGE_FORMAT_PGM, 1, 3, 0 }, { DAE_IMAGE_FORMAT_PPM_PLAIN, 3, 255, 0 },
    { DAE_IMAGE_FORMAT_PPM, 3, 255, 0 }, { DAE_IMAGE_FORMAT_PPM, 3, 65535, 0 },
    { DAE_IMAGE_FORMAT_PAM, 1, 255, 0 }, { DAE_IMAGE_FORMAT_PAM, 2, 255, 0 },
    { DAE_IMAGE_FORMAT_PAM, 3, 4095, 0 }, { DAE_IMAGE_FORMAT_PAM, 4, 65535, 0 },
    { DAE_IMAGE_FORMAT_PAM, 1, 1, DAE_TUPLE_TYPE_BLACKANDWHITE },
    { DAE_IMAGE_FORMAT_PAM, 2, 1, DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA },
    { DAE_IMAGE_FORMAT_PNG, 1, 1, 0 }, { DAE_IMAGE_FORMAT_PNG, 1, 15, 0 },
    { DAE_IMAGE_FORMAT_PNG, 1, 255, 0 }, { DAE_IMAGE_FORMAT_PNG, 2, 255, 0 },
    { DAE_IMAGE_FORMAT_PNG, 3, 255, 0 }, { DAE_IMAGE_FORMAT_PNG, 4, 255, 0 },
    { DAE_IMAGE_FORMAT_PNG, 1, 65535, 0 }, { DAE_IMAGE_FORMAT_PNG, 4, 65535, 0 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      DaeImageInfo info = { .width = 37, .height = 23, .channels = kinds[k].c,
                            .maxval = kinds[k].maxval, .tuple_type = kinds[k].t };
      g_assert_true (dae_image_info_set_format (&info, kinds[k].f, NULL));
      g_autofree guint16 *s = random_samples (&info, k);
      g_autoptr (GBytes) in = encode1 (&info, s);
      g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                  "--strength", "0");
      assert_ok (&r);
      g_assert_cmpstr (r.err, ==, "");
      if (kinds[k].f != DAE_IMAGE_FORMAT_PNG)
        g_assert_true (g_bytes_equal (in, r.out));
      g_autoptr (GArray) a = decode (in);
      g_autoptr (GArray) b = decode (r.out);
      g_assert_cmpuint (b->len, ==, 1);
      assert_same_image (&g_array_index (a, Image, 0), &g_array_index (b, Image, 0));

      /* Denoised: same description, and something changed. */
      g_auto (TestRun) d = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                  "--invert", "off");
      assert_ok (&d);
      g_autoptr (GArray) c = decode (d.out);
      const Image *ia = &g_array_index (a, Image, 0), *ic = &g_array_index (c, Image, 0);
      g_assert_cmpint (ic->info.format, ==, ia->info.format);
      g_assert_cmpint (ic->info.tuple_type, ==, ia->info.tuple_type);
      g_assert_cmpuint (ic->info.maxval, ==, ia->info.maxval);
      g_assert_true (memcmp (ic->samples, ia->samples, n_samples (&ia->info) * 2) != 0);
    }
}

/* The codec fixtures (palette, tRNS, interlaced, 2/4-bit PNGs; netpbm-made
 * PNM) at strength 0: the same samples and description. */
static void
test_round_trip_fixtures (void)
{
  const char *names[] = {
    "gray-alpha.png", "gray-palette-trns.png", "gray1-trns.png", "gray16.png",
    "gray4-interlaced.png", "rgb-interlaced-trns.png", "rgb-palette-trns.png",
    "rgb-palette2.png", "rgb-trns.png", "rgba16.png", "gray.pgm", "gray16.pgm",
    "rgb.ppm", "gray-alpha.pam", "rgba16.pam",
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GBytes) in = read_fixture ("io", names[i]);
      g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                  "-s", "0");
      assert_ok (&r);
      g_autoptr (GArray) a = decode (in);
      g_autoptr (GArray) b = decode (r.out);
      g_assert_cmpuint (a->len, ==, b->len);
      for (guint k = 0; k < a->len; k++)
        {
          Image *x = &g_array_index (a, Image, k), *y = &g_array_index (b, Image, k);
          if (x->info.format == DAE_IMAGE_FORMAT_PNG)
            {
              /* A palette comes out as the RGB or gray it expands to. */
              x->info.png_color_type = y->info.png_color_type = 0;
              x->info.png_bit_depth = y->info.png_bit_depth = 0;
              /* PNG has no 1-bit gray with alpha: it comes out 8-bit. */
              if (x->info.maxval != y->info.maxval)
                {
                  g_test_message ("%s: maxval %u -> %u", names[i], x->info.maxval,
                                  y->info.maxval);
                  g_assert_true (x->info.has_alpha);
                  for (size_t j = 0; j < n_samples (&x->info); j++)
                    x->samples[j] = (guint16) ((x->samples[j] * y->info.maxval * 2
                                                + x->info.maxval) / (2 * x->info.maxval));
                  x->info.maxval = y->info.maxval;
                }
            }
          assert_same_image (x, y);
        }
    }
}

/* netpbm's own tools read what we write (when they are installed). */
static void
test_netpbm_reads_output (void)
{
  g_autofree char *pamfile = g_find_program_in_path ("pamfile");
  g_autofree char *pngtopam = g_find_program_in_path ("pngtopam");
  if (pamfile == NULL || pngtopam == NULL)
    {
      g_test_skip ("netpbm (pamfile, pngtopam) is not installed");
      return;
    }
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 40, 30, 4, 65535);
  g_autofree guint16 *s = random_samples (&info, 5);
  g_autoptr (GBytes) in = encode1 (&info, s);
  g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in));
  assert_ok (&r);
  g_autofree char *png = tmp_file ("out.png");
  g_assert_true (g_file_set_contents (png, g_bytes_get_data (r.out, NULL),
                                      g_bytes_get_size (r.out), NULL));
  g_autofree char *cmd = g_strdup_printf ("sh -c 'pngtopam -alphapam \"%s\" | pamfile'", png);
  g_autofree char *out = NULL;
  int status;
  g_assert_true (g_spawn_command_line_sync (cmd, &out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "40 by 30"));
  g_assert_nonnull (strstr (out, "RGB_ALPHA"));
  g_assert_nonnull (strstr (out, "maxval 65535"));

  /* A multi-image PAM stream, as pamfile -allimages counts it. */
  DaeImageInfo infos[2] = { make_info (DAE_IMAGE_FORMAT_PAM, 9, 8, 3, 255),
                            make_info (DAE_IMAGE_FORMAT_PAM, 30, 2, 1, 255) };
  g_autofree guint16 *s0 = random_samples (&infos[0], 1);
  g_autofree guint16 *s1 = random_samples (&infos[1], 2);
  guint16 *ss[2] = { s0, s1 };
  g_autoptr (GBytes) multi = encode (infos, ss, 2);
  g_auto (TestRun) m = run_model (g_bytes_get_data (multi, NULL), g_bytes_get_size (multi));
  assert_ok (&m);
  g_autofree char *pam = tmp_file ("out.pam");
  g_assert_true (g_file_set_contents (pam, g_bytes_get_data (m.out, NULL),
                                      g_bytes_get_size (m.out), NULL));
  g_autofree char *cmd2 = g_strdup_printf ("pamfile -allimages -count \"%s\"", pam);
  g_autofree char *out2 = NULL;
  g_assert_true (g_spawn_command_line_sync (cmd2, &out2, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out2, "2"));
}

/* Each image of a stream comes out as it would alone. */
static void
test_multi_image (void)
{
  DaeImageInfo infos[3] = { make_info (DAE_IMAGE_FORMAT_PGM, 31, 40, 1, 255),
                            make_info (DAE_IMAGE_FORMAT_PPM, 28, 28, 3, 65535),
                            make_info (DAE_IMAGE_FORMAT_PAM, 5, 61, 4, 255) };
  guint16 *ss[3];
  GBytes *alone[3];
  for (guint i = 0; i < 3; i++)
    {
      ss[i] = random_samples (&infos[i], 40 + i);
      g_autoptr (GBytes) one = encode1 (&infos[i], ss[i]);
      g_auto (TestRun) r = run_model (g_bytes_get_data (one, NULL), g_bytes_get_size (one));
      assert_ok (&r);
      alone[i] = g_bytes_ref (r.out);
    }
  g_autoptr (GBytes) multi = encode (infos, ss, 3);
  g_auto (TestRun) r = run_model (g_bytes_get_data (multi, NULL), g_bytes_get_size (multi));
  assert_ok (&r);
  GByteArray *want = g_byte_array_new ();
  for (guint i = 0; i < 3; i++)
    {
      g_byte_array_append (want, g_bytes_get_data (alone[i], NULL), g_bytes_get_size (alone[i]));
      g_bytes_unref (alone[i]);
      g_free (ss[i]);
    }
  g_assert_cmpmem (want->data, want->len, g_bytes_get_data (r.out, NULL),
                   g_bytes_get_size (r.out));
  g_byte_array_unref (want);

  /* The same from several FILE arguments. */
  g_autofree char *p1 = tmp_file ("m1.pam"), *p2 = tmp_file ("m2.pam");
  g_assert_true (g_file_set_contents (p1, g_bytes_get_data (multi, NULL),
                                      g_bytes_get_size (multi), NULL));
  g_assert_true (g_file_set_contents (p2, g_bytes_get_data (multi, NULL),
                                      g_bytes_get_size (multi), NULL));
  g_auto (TestRun) f = run_model (NULL, 0, p1, p2);
  assert_ok (&f);
  g_autoptr (GArray) imgs = decode (f.out);
  g_assert_cmpuint (imgs->len, ==, 6);
  g_auto (TestRun) f2 = run_model (g_bytes_get_data (multi, NULL), g_bytes_get_size (multi), p1,
                               "-", p2);
  assert_ok (&f2);
  g_autoptr (GArray) imgs2 = decode (f2.out);
  g_assert_cmpuint (imgs2->len, ==, 9);
}

/* Alpha comes out untouched, whatever the depth and format. */
static void
test_alpha_untouched (void)
{
  const struct { DaeImageFormat f; guint c, maxval; } kinds[] = {
    { DAE_IMAGE_FORMAT_PAM, 2, 255 }, { DAE_IMAGE_FORMAT_PAM, 4, 65535 },
    { DAE_IMAGE_FORMAT_PNG, 2, 65535 }, { DAE_IMAGE_FORMAT_PNG, 4, 255 },
  };
  const char *colors[] = { "luma", "rgb" };
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (guint c = 0; c < 2; c++)
      {
        DaeImageInfo info = make_info (kinds[k].f, 45, 29, kinds[k].c, kinds[k].maxval);
        g_autofree guint16 *s = random_samples (&info, 60 + k);
        g_autoptr (GBytes) in = encode1 (&info, s);
        g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                    "--color", colors[c]);
        assert_ok (&r);
        g_autoptr (GArray) out = decode (r.out);
        const Image *o = &g_array_index (out, Image, 0);
        g_assert_cmpuint (o->info.channels, ==, info.channels);
        guint changed = 0;
        for (size_t i = 0; i < (size_t) info.width * info.height; i++)
          {
            const size_t a = i * info.channels + info.channels - 1;
            g_assert_cmpuint (o->samples[a], ==, s[a]);
            changed += o->samples[a - 1] != s[a - 1];
          }
        g_assert_cmpuint (changed, >, 0);
      }
}

/* --format converts; pnm drops alpha as pamtopnm does. */
static void
test_format_option (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 20, 10, 4, 255);
  g_autofree guint16 *s = random_samples (&info, 70);
  g_autoptr (GBytes) in = encode1 (&info, s);
  const struct { const char *name; DaeImageFormat f; guint c; } outs[] = {
    { "pnm", DAE_IMAGE_FORMAT_PPM, 3 }, { "pam", DAE_IMAGE_FORMAT_PAM, 4 },
    { "png", DAE_IMAGE_FORMAT_PNG, 4 },
  };
  for (guint k = 0; k < G_N_ELEMENTS (outs); k++)
    {
      g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                  "-s", "0", "--format", outs[k].name);
      assert_ok (&r);
      g_autoptr (GArray) o = decode (r.out);
      const Image *im = &g_array_index (o, Image, 0);
      g_assert_cmpint (im->info.format, ==, outs[k].f);
      g_assert_cmpuint (im->info.channels, ==, outs[k].c);
      for (size_t i = 0; i < 200; i++)
        for (guint c = 0; c < outs[k].c; c++)
          g_assert_cmpuint (im->samples[i * outs[k].c + c], ==, s[i * 4 + c]);
    }
  /* A bilevel image stays bilevel: PBM. */
  DaeImageInfo bw = make_info (DAE_IMAGE_FORMAT_PNG, 20, 10, 1, 1);
  g_autofree guint16 *sb = random_samples (&bw, 71);
  g_autoptr (GBytes) inb = encode1 (&bw, sb);
  g_auto (TestRun) r = run_model (g_bytes_get_data (inb, NULL), g_bytes_get_size (inb), "-f", "pnm");
  assert_ok (&r);
  g_autoptr (GArray) o = decode (r.out);
  g_assert_cmpint (g_array_index (o, Image, 0).info.format, ==, DAE_IMAGE_FORMAT_PBM);
}

/* Sizes from 1x1 up, through the program. */
static void
test_sizes (void)
{
  const guint sizes[][2] = { { 1, 1 }, { 1, 57 }, { 57, 1 }, { 27, 29 }, { 29, 27 }, { 2, 3 } };
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, sizes[k][0], sizes[k][1], 1, 255);
      g_autofree guint16 *s = random_samples (&info, 80 + k);
      g_autoptr (GBytes) in = encode1 (&info, s);
      g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in));
      assert_ok (&r);
      g_autoptr (GArray) o = decode (r.out);
      g_assert_cmpuint (g_array_index (o, Image, 0).info.width, ==, sizes[k][0]);
      g_assert_cmpuint (g_array_index (o, Image, 0).info.height, ==, sizes[k][1]);
    }
}

/* A 28x28 image is one patch: the model's own output, rounded. */
static void
test_patch_is_model_output (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, 28, 28, 1, 255);
  g_autofree guint16 *s = random_samples (&info, 90);
  g_autoptr (GBytes) in = encode1 (&info, s);
  g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                              "--invert", "off", "-j", "2");
  assert_ok (&r);
  g_autoptr (GArray) o = decode (r.out);
  g_autoptr (DaeModel) m = dae_model_load_file (model_path, NULL);
  g_autoptr (DaeRunner) runner = dae_runner_new (m, 28, 28, NULL);
  float x[28 * 28], y[28 * 28];
  for (guint i = 0; i < 28 * 28; i++)
    x[i] = (float) s[i] / 255.0f;
  g_assert_true (dae_runner_forward (runner, 1, x, y, NULL));
  for (guint i = 0; i < 28 * 28; i++)
    g_assert_cmpuint (g_array_index (o, Image, 0).samples[i], ==,
                      (guint) floorf (y[i] * 255.0f + 0.5f));
}

/* The same bytes whatever -j. */
static void
test_threads (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 301, 157, 3, 255);
  g_autofree guint16 *s = random_samples (&info, 100);
  g_autoptr (GBytes) in = encode1 (&info, s);
  g_auto (TestRun) r1 = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "-j", "1");
  assert_ok (&r1);
  const char *js[] = { "2", "3", "0" };
  for (guint k = 0; k < G_N_ELEMENTS (js); k++)
    {
      g_auto (TestRun) r = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "-j", js[k],
                                  "--color", "rgb");
      g_auto (TestRun) r1c = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "-j", "1",
                                    "--color", "rgb");
      g_auto (TestRun) rl = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "-j", js[k]);
      assert_ok (&r);
      assert_ok (&rl);
      g_assert_true (g_bytes_equal (r.out, r1c.out));
      g_assert_true (g_bytes_equal (rl.out, r1.out));
    }
}

/* ---- errors --------------------------------------------------------------- */

/* Exit 1, one line naming @name, nothing on stdout. */
static void
assert_fails (const TestRun *r, int status, const char *name)
{
  if (r->status != status)
    g_error ("exit status %d, expected %d (stderr: %s)", r->status, status, r->err);
  g_assert_cmpuint (g_bytes_get_size (r->out), ==, 0);
  g_autofree char *prefix = g_strdup_printf ("dae-filter: %s: ", name ? name : "");
  if (name != NULL)
    g_assert_true (g_str_has_prefix (r->err, prefix));
  else
    g_assert_true (g_str_has_prefix (r->err, "dae-filter: "));
  const char *nl = strchr (r->err, '\n');
  g_assert_nonnull (nl);
  if (status == 1)
    g_assert_cmpstr (nl + 1, ==, ""); /* one line */
}

static void
test_bad_input (void)
{
#define S(lit) { lit, sizeof lit - 1 }
  const struct { const char *data; size_t len; } bad[] = {
    S (""),
    S ("hello world\n"),
    S ("P5\n"),
    S ("P5\n10"),
    S ("P5\n10 10\n"),
    S ("P5\n0 10\n255\n"),
    S ("P5\n10 0\n255\n"),
    S ("P5\n-3 10\n255\n"),
    S ("P5\n4294967295 4294967295\n255\n"),
    S ("P5\n65536 65536\n255\n"),
    S ("P5\n1073741824 1\n255\n"), /* allowed pixels, absurd width */
    S ("P5\n99999999999999999999 1\n255\n"),
    S ("P5\n2 2\n0\n\1\1\1\1"),
    S ("P5\n2 2\n65536\n"),
    S ("P7\nWIDTH 2\nHEIGHT 2\nDEPTH 9\nMAXVAL 255\nENDHDR\n"),
    S ("P7\nWIDTH 2\nHEIGHT 2\n"),
    S ("P9\n2 2\n255\n"),
    S ("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1"),
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (TestRun) r = run_model (bad[i].data, bad[i].len);
      g_test_message ("input %u: %s", i, r.err);
      assert_fails (&r, 1, "stdin");
    }
#undef S
  /* The same from a file names the file. */
  g_autofree char *path = tmp_file ("bad.pgm");
  g_assert_true (g_file_set_contents (path, "P5\n0 0\n255\n", -1, NULL));
  g_auto (TestRun) f = run_model (NULL, 0, path);
  assert_fails (&f, 1, path);
  g_autofree char *missing = tmp_file ("missing.pgm");
  g_auto (TestRun) m = run_model (NULL, 0, missing);
  assert_fails (&m, 1, missing);

  /* --max-pixels: refused from the header. */
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, 100, 100, 1, 255);
  g_autofree guint16 *s = random_samples (&info, 1);
  g_autoptr (GBytes) in = encode1 (&info, s);
  g_auto (TestRun) mp = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                               "--max-pixels", "9999");
  assert_fails (&mp, 1, "stdin");
  g_auto (TestRun) mp2 = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in),
                                "--max-pixels", "10000");
  assert_ok (&mp2);

  /* A good image then junk: the image, then the error. */
  GByteArray *junk = g_byte_array_new ();
  g_byte_array_append (junk, g_bytes_get_data (in, NULL), g_bytes_get_size (in));
  g_byte_array_append (junk, (const guint8 *) "\njunk", 5);
  g_auto (TestRun) j = run_model (junk->data, junk->len);
  g_byte_array_unref (junk);
  g_assert_cmpint (j.status, ==, 1);
  g_assert_true (g_bytes_equal (j.out, mp2.out));
  g_assert_true (g_str_has_prefix (j.err, "dae-filter: stdin: "));

  /* A second image with a bad header: only the first comes out. */
  GByteArray *two = g_byte_array_new ();
  g_byte_array_append (two, g_bytes_get_data (in, NULL), g_bytes_get_size (in));
  g_byte_array_append (two, (const guint8 *) "P5\n0 5\n255\n", 11);
  g_auto (TestRun) t = run_model (two->data, two->len);
  g_byte_array_unref (two);
  g_assert_cmpint (t.status, ==, 1);
  g_assert_true (g_bytes_equal (t.out, mp2.out));
  g_assert_nonnull (strstr (t.err, "image 2"));

  /* Truncated data after a good header: exit 1, named. */
  g_auto (TestRun) tr = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in) - 500);
  g_assert_cmpint (tr.status, ==, 1);
  g_assert_true (g_str_has_prefix (tr.err, "dae-filter: stdin: "));
}

static void
test_usage_errors (void)
{
  const char *const cases[][4] = {
    { "--strength", "2" }, { "--strength", "-0.5" }, { "--strength", "x" },
    { "--strength", "nan" }, { "--invert", "maybe" }, { "--color", "cmyk" },
    { "--stride", "0" }, { "--stride", "29" }, { "--stride", "4x" }, { "-j", "-1" },
    { "-j", "lots" }, { "--ensemble", "3" }, { "--ensemble", "16" }, { "--format", "gif" }, { "--max-pixels", "0" }, { "--bogus" },
    { "-o" }, { "-o", ".", "-" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *const argv[] = { "-m", model_path, cases[i][0], cases[i][1], cases[i][2],
                                   cases[i][3], NULL };
      g_auto (TestRun) r = run_filter_v ("P5\n1 1\n255\n\0", 12, argv);
      g_test_message ("%s: %s", cases[i][0], r.err);
      assert_fails (&r, 2, NULL);
      g_assert_nonnull (strstr (r.err, "--help"));
    }
  /* -o with a file but no directory argument is a usage error too. */
  g_auto (TestRun) o = run_filter (NULL, 0, "-o", tmp_dir);
  assert_fails (&o, 2, NULL);
}

static void
test_model_errors (void)
{
  g_auto (TestRun) r = run_filter ("P5\n1 1\n255\n\0", 12, "-m", "no-such-model");
  assert_fails (&r, 1, NULL);
  g_assert_nonnull (strstr (r.err, "no-such-model"));
  g_autofree char *bad = tmp_file ("bad.dae");
  g_assert_true (g_file_set_contents (bad, "\x89" "DAE\r\n\x1a\nrubbish", -1, NULL));
  g_auto (TestRun) b = run_filter ("P5\n1 1\n255\n\0", 12, "-m", bad);
  assert_fails (&b, 1, bad);
  g_autofree char *missing = tmp_file ("missing.dae");
  g_auto (TestRun) c = run_filter ("P5\n1 1\n255\n\0", 12, "-m", missing);
  assert_fails (&c, 1, NULL);
}

/* ---- batch ---------------------------------------------------------------- */

static gboolean
dir_has_temp_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *e;
  while ((e = g_dir_read_name (d)) != NULL)
    if (e[0] == '.')
      return TRUE;
  return FALSE;
}

static void
test_batch (void)
{
  g_autofree char *src = tmp_file ("src"), *dst = tmp_file ("dst");
  g_assert_cmpint (g_mkdir_with_parents (src, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0700), ==, 0);
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PNG, 33, 20, 1, 255);
  g_autofree guint16 *s = random_samples (&info, 110);
  g_autoptr (GBytes) img = encode1 (&info, s);
  g_auto (TestRun) alone = run_model (g_bytes_get_data (img, NULL), g_bytes_get_size (img));
  assert_ok (&alone);
  const char *names[] = { "a.png", "bad.png", "c.png" };
  char *paths[4] = { NULL };
  for (guint i = 0; i < 3; i++)
    {
      paths[i] = g_build_filename (src, names[i], NULL);
      if (i == 1)
        g_assert_true (g_file_set_contents (paths[i], "\x89PNG\r\n\x1a\nbroken", -1, NULL));
      else
        g_assert_true (g_file_set_contents (paths[i], g_bytes_get_data (img, NULL),
                                            g_bytes_get_size (img), NULL));
    }
  g_auto (TestRun) r = run_model (NULL, 0, "-o", dst, paths[0], paths[1], paths[2]);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (g_bytes_get_size (r.out), ==, 0);
  g_assert_nonnull (strstr (r.err, paths[1]));
  g_assert_nonnull (strstr (r.err, "1 of 3 files failed"));
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *out = g_build_filename (dst, names[i], NULL);
      char *data;
      size_t len;
      if (i == 1)
        {
          g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
          continue;
        }
      g_assert_true (g_file_get_contents (out, &data, &len, NULL));
      g_assert_cmpmem (data, len, g_bytes_get_data (alone.out, NULL),
                       g_bytes_get_size (alone.out));
      g_free (data);
    }
  g_assert_false (dir_has_temp_files (dst));

  /* All good: exit 0; --format renames. */
  g_auto (TestRun) ok = run_model (NULL, 0, "-o", dst, "--format", "pam", paths[0], paths[2]);
  assert_ok (&ok);
  g_autofree char *pam = g_build_filename (dst, "a.pam", NULL);
  g_assert_true (g_file_test (pam, G_FILE_TEST_IS_REGULAR));

  /* Never over an input: -o into the input's own directory. */
  g_auto (TestRun) self = run_model (NULL, 0, "-o", src, paths[0]);
  g_assert_cmpint (self.status, ==, 1);
  g_assert_nonnull (strstr (self.err, "input"));
  char *data;
  size_t len;
  g_assert_true (g_file_get_contents (paths[0], &data, &len, NULL));
  g_assert_cmpmem (data, len, g_bytes_get_data (img, NULL), g_bytes_get_size (img));
  g_free (data);
  g_assert_false (dir_has_temp_files (src));

  /* ... nor over a later input, nor twice the same name. */
  g_autofree char *later = g_build_filename (dst, "c.png", NULL);
  g_assert_true (g_file_set_contents (later, g_bytes_get_data (img, NULL),
                                      g_bytes_get_size (img), NULL));
  g_auto (TestRun) l = run_model (NULL, 0, "-o", dst, paths[2], later);
  g_assert_cmpint (l.status, ==, 1);
  g_assert_true (g_file_get_contents (later, &data, &len, NULL));
  g_assert_cmpmem (data, len, g_bytes_get_data (img, NULL), g_bytes_get_size (img));
  g_free (data);
  g_autofree char *dst2 = tmp_file ("dst2");
  g_assert_cmpint (g_mkdir_with_parents (dst2, 0700), ==, 0);
  g_auto (TestRun) twice = run_model (NULL, 0, "-o", dst2, paths[0], paths[0]);
  g_assert_cmpint (twice.status, ==, 1);
  g_assert_nonnull (strstr (twice.err, "earlier"));

  /* A folder that is not there is made, with its parents. */
  g_autofree char *newdir = tmp_file ("new/sub");
  g_auto (TestRun) nd = run_model (NULL, 0, "-o", newdir, paths[0]);
  g_assert_cmpint (nd.status, ==, 0);
  g_autofree char *made = g_build_filename (newdir, "a.png", NULL);
  g_assert_true (g_file_test (made, G_FILE_TEST_IS_REGULAR));
  /* One that cannot be: a file is in the way. */
  g_autofree char *blocked = g_build_filename (paths[0], "sub", NULL);
  g_auto (TestRun) bl = run_model (NULL, 0, "-o", blocked, paths[2]);
  assert_fails (&bl, 1, blocked);
  g_auto (TestRun) nf = run_model (NULL, 0, "-o", paths[0], paths[2]);
  assert_fails (&nf, 1, paths[0]);
  g_assert_nonnull (strstr (nf.err, "not a directory"));
  for (guint i = 0; i < 3; i++)
    g_free (paths[i]);
}

/* A write that fails (the file size limit) leaves no partial output. */
static void
test_batch_write_error (void)
{
  g_autofree char *src = tmp_file ("wsrc"), *dst = tmp_file ("wdst");
  g_assert_cmpint (g_mkdir_with_parents (src, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dst, 0700), ==, 0);
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, 300, 300, 1, 255);
  g_autofree guint16 *s = random_samples (&info, 120);
  g_autoptr (GBytes) img = encode1 (&info, s);
  g_autofree char *in = g_build_filename (src, "big.pgm", NULL);
  g_assert_true (g_file_set_contents (in, g_bytes_get_data (img, NULL), g_bytes_get_size (img),
                                      NULL));
  /* ulimit -f counts 512-byte blocks: 40 KiB < the 90 KB output. */
  g_autofree char *cmd = g_strdup_printf ("ulimit -f 80; exec '%s' -q -m '%s' -o '%s' '%s'",
                                          filter_path, model_path, dst, in);
  const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
  int status;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                               &err, &status, NULL));
  g_test_message ("status %d: %s", status, err);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_autofree char *out = g_build_filename (dst, "big.pgm", NULL);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (dir_has_temp_files (dst));
}

/* Killed mid-image (SIGTERM, SIGINT): no output under the final name and no
 * temporary file left.  The input is a FIFO fed half an image, so the
 * program is surely inside the image when the signal comes. */
static void
test_batch_interrupted (void)
{
  const int sigs[] = { SIGTERM, SIGINT };
  for (guint k = 0; k < G_N_ELEMENTS (sigs); k++)
    {
      g_autofree char *dst = tmp_file (k ? "idst1" : "idst0");
      g_autofree char *fifo = tmp_file (k ? "fifo1.pgm" : "fifo0.pgm");
      g_assert_cmpint (g_mkdir_with_parents (dst, 0700), ==, 0);
      g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
      const char *argv[] = { filter_path, "-q", "-m", model_path, "-o", dst, fifo, NULL };
      GPid pid;
      GError *error = NULL;
      g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                    NULL, NULL, &pid, &error));
      g_assert_no_error (error);
      const int fd = open (fifo, O_WRONLY);
      g_assert_cmpint (fd, >=, 0);
      DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, 100, 100, 1, 255);
      g_autofree guint16 *s = random_samples (&info, 140);
      g_autoptr (GBytes) img = encode1 (&info, s);
      const size_t half = g_bytes_get_size (img) / 2;
      g_assert_cmpint (write (fd, g_bytes_get_data (img, NULL), half), ==, (gssize) half);
      /* Wait for the temporary file: the program is writing. */
      for (guint i = 0; i < 2000 && !dir_has_temp_files (dst); i++)
        g_usleep (5000);
      g_assert_true (dir_has_temp_files (dst));
      kill (pid, sigs[k]);
      int wstatus;
      while (waitpid (pid, &wstatus, 0) < 0)
        g_assert_cmpint (errno, ==, EINTR);
      close (fd);
      g_assert_true (WIFSIGNALED (wstatus));
      g_assert_cmpint (WTERMSIG (wstatus), ==, sigs[k]);
      g_autoptr (GDir) d = g_dir_open (dst, 0, NULL);
      g_assert_null (g_dir_read_name (d)); /* empty */
    }
}

/* ---- the interface -------------------------------------------------------- */

static void
test_help_and_man (void)
{
  g_auto (TestRun) h = run_filter (NULL, 0, "--help");
  assert_ok (&h);
  g_autofree char *help = g_strndup (g_bytes_get_data (h.out, NULL), g_bytes_get_size (h.out));
  g_autofree char *man_path = g_test_build_filename (G_TEST_DIST, "..", "man", "dae-filter.1", NULL);
  g_autofree char *man = NULL;
  g_assert_true (g_file_get_contents (man_path, &man, NULL, NULL));
  g_autoptr (GRegex) re = g_regex_new ("(?:^|\\s)(-[a-zA-Z]|--[a-z][a-z-]+)", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) mi = NULL;
  guint n = 0;
  g_regex_match (re, help, 0, &mi);
  for (; g_match_info_matches (mi); g_match_info_next (mi, NULL), n++)
    {
      g_autofree char *opt = g_match_info_fetch (mi, 1);
      /* roff writes '-' as '\-'. */
      g_autoptr (GString) roff = g_string_new (NULL);
      for (const char *p = opt; *p; p++)
        g_string_append (roff, *p == '-' ? "\\-" : (char[]){ *p, 0 });
      if (strstr (man, roff->str) == NULL)
        g_error ("%s is in --help but not in man/dae-filter.1", opt);
    }
  g_assert_cmpuint (n, >=, 17);

  g_auto (TestRun) v = run_filter (NULL, 0, "--version");
  assert_ok (&v);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (v.out, NULL), g_bytes_get_size (v.out),
                                  dae_version ()));
}

static void
test_list_models (void)
{
  g_autofree char *dir = tmp_file ("models");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_autofree char *copy = g_build_filename (dir, "tutorial-copy.dae", NULL);
  g_autoptr (DaeModel) m = dae_model_load_file (model_path, NULL);
  g_assert_true (dae_model_save_file (m, copy, NULL));
  g_setenv ("DAE_MODEL_PATH", dir, TRUE);
  g_auto (TestRun) l = run_filter (NULL, 0, "--list-models");
  assert_ok (&l);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (l.out, NULL), g_bytes_get_size (l.out),
                                  "tutorial-copy"));
  /* ... and found by name. */
  g_auto (TestRun) r = run_filter ("P5\n1 1\n255\n\0", 12, "-m", "tutorial-copy", "-v");
  assert_ok (&r);
  g_assert_nonnull (strstr (r.err, "tutorial-copy.dae"));
  g_assert_nonnull (strstr (r.err, "kernels"));
  /* -v says why a DAE_ISA it was given did not take effect. */
  g_setenv ("DAE_ISA", "bogus", TRUE);
  g_auto (TestRun) b = run_filter ("P5\n1 1\n255\n\0", 12, "-m", "tutorial-copy", "-v");
  g_unsetenv ("DAE_ISA");
  assert_ok (&b);
  g_assert_nonnull (strstr (b.err, "(DAE_ISA=bogus is not one of ref, avx2, avx512"));
  g_unsetenv ("DAE_MODEL_PATH");
}

/* --invert auto inverts a light page for a dark-background model. */
static void
test_invert_auto (void)
{
  DaeImageInfo info = make_info (DAE_IMAGE_FORMAT_PGM, 40, 40, 1, 255);
  g_autofree guint16 *s = random_samples (&info, 130);
  for (size_t i = 0; i < 1600; i++)
    s[i] = i % 9 ? 240 : 20;
  g_autoptr (GBytes) in = encode1 (&info, s);
  g_auto (TestRun) a = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "-v");
  g_auto (TestRun) on = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "--invert", "on");
  g_auto (TestRun) off = run_model (g_bytes_get_data (in, NULL), g_bytes_get_size (in), "--invert", "off");
  assert_ok (&a);
  const char *inv = strstr (a.err, "inverted: ");
  g_assert_nonnull (inv);
  guint n_inv = 0, n_tiles = 0;
  g_assert_cmpint (sscanf (inv, "inverted: %u of %u tiles", &n_inv, &n_tiles), ==, 2);
  g_assert_cmpuint (n_tiles, >, 0);
  g_assert_cmpuint (n_inv, ==, n_tiles); /* every region is a light page */
  g_assert_true (g_bytes_equal (a.out, on.out));
  g_assert_false (g_bytes_equal (a.out, off.out));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *exe = g_getenv ("DAE_FILTER");
  filter_path = exe ? g_strdup (exe)
                    : g_test_build_filename (G_TEST_BUILT, "..", "filter", "dae-filter", NULL);
  model_path = g_test_build_filename (G_TEST_DIST, "data", "ref", "tutorial.dae", NULL);
  tmp_dir = g_dir_make_tmp ("dae-filter-test-XXXXXX", NULL);
  g_unsetenv ("DAE_MODEL_PATH");

  g_test_add_func ("/filter/round-trip/formats", test_round_trip_formats);
  g_test_add_func ("/filter/round-trip/fixtures", test_round_trip_fixtures);
  g_test_add_func ("/filter/netpbm-reads-output", test_netpbm_reads_output);
  g_test_add_func ("/filter/multi-image", test_multi_image);
  g_test_add_func ("/filter/alpha-untouched", test_alpha_untouched);
  g_test_add_func ("/filter/format-option", test_format_option);
  g_test_add_func ("/filter/sizes", test_sizes);
  g_test_add_func ("/filter/patch-is-model-output", test_patch_is_model_output);
  g_test_add_func ("/filter/threads", test_threads);
  g_test_add_func ("/filter/errors/bad-input", test_bad_input);
  g_test_add_func ("/filter/errors/usage", test_usage_errors);
  g_test_add_func ("/filter/errors/model", test_model_errors);
  g_test_add_func ("/filter/batch", test_batch);
  g_test_add_func ("/filter/batch-write-error", test_batch_write_error);
  g_test_add_func ("/filter/batch-interrupted", test_batch_interrupted);
  g_test_add_func ("/filter/help-and-man", test_help_and_man);
  g_test_add_func ("/filter/list-models", test_list_models);
  g_test_add_func ("/filter/invert-auto", test_invert_auto);
  const int status = g_test_run ();

  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp_dir);
  g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
  g_free (filter_path);
  g_free (model_path);
  g_free (tmp_dir);
  return status;
}
