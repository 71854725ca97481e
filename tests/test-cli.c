/* test-cli.c: what dae-filter, dae-train and dae-model share as programs
 * (cli/cli.h: one convention for --version, usage errors and option
 * values), and dae-train's preview of sorted data. */
#include "dae.h"
#include "test-spawn.h"

#include <glib/gstdio.h>
#include <string.h>

static char *filter_path, *train_path, *model_path, *tmp_dir;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static char *
out_text (const TestRun *r)
{
  return g_strndup (g_bytes_get_data (r->out, NULL), g_bytes_get_size (r->out));
}

/* "PROG (dae) VERSION", as GNU programs print it, from both. */
static void
test_version (void)
{
  const char *progs[3][2] = { { "dae-filter", filter_path }, { "dae-train", train_path },
                              { "dae-model", model_path } };
  for (guint i = 0; i < 3; i++)
    {
      g_auto (TestRun) r = test_run (tmp_dir, progs[i][1], NULL, 0,
                                     (const char *const[]){ "--version", NULL });
      g_autofree char *out = out_text (&r);
      g_autofree char *want = g_strdup_printf ("%s (dae) %s\n", progs[i][0], dae_version ());
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (out, ==, want);
      g_assert_cmpstr (r.err, ==, "");
    }
}

/* A usage error: exit 2, nothing on stdout, and on stderr exactly
 * "PROG: MESSAGE" and "Try 'PROG --help' for more information.".
 * Returns MESSAGE. */
static char *
assert_usage_error (const char *prog, const char *exe, const char *const *args)
{
  g_auto (TestRun) r = test_run (tmp_dir, exe, NULL, 0, args);
  g_test_message ("%s %s: exit %d: %s", prog, args[0] ? args[0] : "", r.status, r.err);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpuint (g_bytes_get_size (r.out), ==, 0);
  g_auto (GStrv) lines = g_strsplit (r.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  g_autofree char *head = g_strdup_printf ("%s: ", prog);
  g_autofree char *tail = g_strdup_printf ("Try '%s --help' for more information.", prog);
  g_assert_true (g_str_has_prefix (lines[0], head));
  g_assert_cmpuint (strlen (lines[0]), >, strlen (head));
  g_assert_cmpstr (lines[1], ==, tail);
  g_assert_cmpstr (lines[2], ==, "");
  return g_strdup (lines[0] + strlen (head));
}

static void
test_usage_errors (void)
{
  const char *const *filter_cases[] = {
    (const char *const[]){ "--frobnicate", NULL },
    (const char *const[]){ "--threads", "many", NULL },
    (const char *const[]){ "--strength", "2", NULL },
  };
  const char *const *train_cases[] = {
    (const char *const[]){ "--frobnicate", NULL },
    (const char *const[]){ "--epochs", "many", "-o", "x.dae", "t.idx", NULL },
    (const char *const[]){ "--loss", "hinge", "-o", "x.dae", "t.idx", NULL },
    (const char *const[]){ "t.idx", NULL },
  };
  const char *const *model_cases[] = {
    (const char *const[]){ "--frobnicate", NULL },
    (const char *const[]){ NULL },
    (const char *const[]){ "frobnicate", "x.dae", NULL },
    (const char *const[]){ "info", NULL },
    (const char *const[]){ "--channels", "many", "--arch", "c1:sigmoid", "import", "a.pt",
                           "b.dae", NULL },
    (const char *const[]){ "--patch", "big", "--arch", "c1:sigmoid", "import", "a.pt",
                           "b.dae", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (filter_cases); i++)
    g_free (assert_usage_error ("dae-filter", filter_path, filter_cases[i]));
  for (guint i = 0; i < G_N_ELEMENTS (train_cases); i++)
    g_free (assert_usage_error ("dae-train", train_path, train_cases[i]));
  for (guint i = 0; i < G_N_ELEMENTS (model_cases); i++)
    g_free (assert_usage_error ("dae-model", model_path, model_cases[i]));
}

/* The same bad value gets the same words from every program (one parser),
 * and a usage error stops a program before it writes anything: dae-train's
 * -o file is not made, the first of two errors is the one reported. */
static void
test_usage_same_words (void)
{
  g_autofree char *out = tmp_file ("never.dae");
  g_autofree char *f = assert_usage_error ("dae-filter", filter_path,
                                           (const char *const[]){ "--threads", "many", NULL });
  g_autofree char *t = assert_usage_error ("dae-train", train_path, (const char *const[]){
      "--threads", "many", "-o", out, "t.idx", NULL });
  g_assert_cmpstr (f, ==, "--threads: \"many\" is not a whole number from 0 to 1024");
  g_assert_true (g_str_has_prefix (t, "--threads: \"many\" is not a whole number from 0 to "));
  g_autofree char *c = assert_usage_error ("dae-model", model_path, (const char *const[]){
      "--channels", "0", "--arch", "c1:sigmoid", "import", "a.pt", out, NULL });
  g_assert_cmpstr (c, ==, "--channels: \"0\" is not a whole number from 1 to 4096");
  g_autofree char *ff = assert_usage_error ("dae-filter", filter_path, (const char *const[]){
      "--invert", "sometimes", NULL });
  g_autofree char *tt = assert_usage_error ("dae-train", train_path, (const char *const[]){
      "--loss", "sometimes", "-o", out, "t.idx", NULL });
  g_assert_cmpstr (ff, ==, "--invert: \"sometimes\" is not one of auto|on|off");
  g_assert_cmpstr (tt, ==, "--loss: \"sometimes\" is not one of bce|mse");
  g_autofree char *two = assert_usage_error ("dae-filter", filter_path, (const char *const[]){
      "--strength", "2", "--quality", "0", NULL });
  g_assert_cmpstr (two, ==, "--strength: \"2\" is not a number in [0, 1]");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Training data sorted as MNIST's test set is (by label): image i is a
 * flat gray of i / 99.  The preview's clean row must show images from
 * across the set, not the first ten: its right 40% holds grays from the
 * second half of the set (above 0.5), its left half the darkest. */
static void
test_preview_spread (void)
{
  enum { N = 100, S = 12, ZOOM = 3 };
  g_autofree guint8 *b = g_new (guint8, N * S * S);
  for (guint i = 0; i < N; i++)
    memset (b + i * S * S, (int) (i * 255 / (N - 1) * 0.91), S * S);
  g_autofree char *idx = tmp_file ("sorted.idx");
  g_autofree char *model = tmp_file ("m.dae");
  g_autofree char *png = tmp_file ("preview.png");
  g_autoptr (GError) error = NULL;
  g_assert_true (dae_idx_save (idx, 3, (const guint[]){ N, S, S }, b, FALSE, &error));
  g_assert_no_error (error);
  g_auto (TestRun) r = test_run (tmp_dir, train_path, NULL, 0, (const char *const[]){
      "--arch", "c4,p,c4,u,c1:sigmoid", "--epochs", "1", "-q", "--preview", png, "-o", model,
      idx, NULL });
  g_assert_cmpstr (r.err, ==, "");
  g_assert_cmpint (r.status, ==, 0);

  g_autoptr (DaeImageReader) rd = dae_image_reader_new_path (png, &error);
  g_assert_no_error (error);
  DaeImageInfo info;
  g_assert_true (dae_image_reader_next (rd, &info, &error));
  g_autofree guint16 *px = g_new (guint16, (size_t) info.width * info.height * info.channels);
  g_assert_true (dae_image_reader_read_rows (rd, info.height, px, &error));
  /* The clean row: the bottom band of S * ZOOM pixels above a margin. */
  guint lo = 255, hi = 0, seen = 0;
  for (guint y = info.height - 10 - S * ZOOM; y < info.height - 10; y++)
    for (guint x = info.width * 3 / 5; x < info.width; x++)
      {
        const guint v = px[((size_t) y * info.width + x) * info.channels];
        if (v == 255)
          continue; /* the background */
        lo = MIN (lo, v);
        hi = MAX (hi, v);
        seen++;
      }
  g_test_message ("right 40%% of the clean row: %u pixels, grays %u..%u", seen, lo, hi);
  g_assert_cmpuint (seen, >, 3 * S * S * ZOOM * ZOOM);
  g_assert_cmpuint (lo, >, 0.4 * 255);
  g_assert_cmpuint (hi, >, 0.8 * 255);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  filter_path = g_strdup (g_getenv ("DAE_FILTER"));
  train_path = g_strdup (g_getenv ("DAE_TRAIN"));
  model_path = g_strdup (g_getenv ("DAE_MODEL"));
  g_assert_nonnull (filter_path);
  g_assert_nonnull (train_path);
  g_assert_nonnull (model_path);
  tmp_dir = g_dir_make_tmp ("dae-test-cli-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  g_test_add_func ("/cli/usage-same-words", test_usage_same_words);
  g_test_add_func ("/cli/preview-spread", test_preview_spread);
  const int status = g_test_run ();
  const char *names[] = { "stdin", "stdout", "stderr", "sorted.idx", "m.dae", "preview.png" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = tmp_file (names[i]);
      g_unlink (p);
    }
  g_rmdir (tmp_dir);
  return status;
}
