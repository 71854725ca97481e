/* test-train-paired.c: dae-train's paired input (--train-noisy) and
 * --background, run as a program ($DAE_TRAIN).
 *
 * The pairs map each image onto its negative, which no noise model can
 * teach: a model that learns it proves the noisy file was what it trained
 * on. */
#include "dae.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#define N_TRAIN 192
#define N_VAL 32
#define SIDE 12

static char *dir;

typedef struct {
  int status;
  char *out, *err;
} Run;

static Run
run_argv (const char *const *args)
{
  const char *exe = g_getenv ("DAE_TRAIN");
  g_assert_nonnull (exe);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) exe);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);
  Run r = { -1, NULL, NULL };
  int wait_status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (dir, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r.out, &r.err, &wait_status, &error));
  g_assert_no_error (error);
  if (WIFEXITED (wait_status))
    r.status = WEXITSTATUS (wait_status);
  g_ptr_array_unref (argv);
  return r;
}

static Run
run (const char *first, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  Run r = run_argv ((const char *const *) args->pdata);
  g_ptr_array_unref (args);
  return r;
}

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Bars and blobs of random brightness on a dark ground; and the negatives. */
static void
write_pair (const char *clean_name, const char *noisy_name, size_t n, guint32 seed)
{
  g_autoptr (GError) error = NULL;
  GRand *rng = g_rand_new_with_seed (seed);
  g_autofree guint8 *c = g_new0 (guint8, n * SIDE * SIDE);
  g_autofree guint8 *x = g_new0 (guint8, n * SIDE * SIDE);
  for (size_t k = 0; k < n; k++)
    {
      guint8 *im = c + k * SIDE * SIDE;
      const guint y0 = g_rand_int_range (rng, 0, SIDE - 4);
      const guint x0 = g_rand_int_range (rng, 0, SIDE - 4);
      const guint h = g_rand_int_range (rng, 2, 5), w = g_rand_int_range (rng, 2, 5);
      const guint8 v = (guint8) g_rand_int_range (rng, 128, 256);
      for (guint y = y0; y < y0 + h; y++)
        for (guint xx = x0; xx < x0 + w; xx++)
          im[y * SIDE + xx] = v;
    }
  for (size_t i = 0; i < n * SIDE * SIDE; i++)
    x[i] = 255 - c[i];
  g_rand_free (rng);
  const guint dims[3] = { (guint) n, SIDE, SIDE };
  g_autofree char *cp = g_build_filename (dir, clean_name, NULL);
  g_autofree char *np = g_build_filename (dir, noisy_name, NULL);
  g_assert_true (dae_idx_save (cp, 3, dims, c, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (dae_idx_save (np, 3, dims, x, TRUE, &error));
  g_assert_no_error (error);
}

static void
setup (void)
{
  if (dir)
    return;
  g_autoptr (GError) error = NULL;
  dir = g_dir_make_tmp ("test-train-paired-XXXXXX", &error);
  g_assert_no_error (error);
  write_pair ("c.idx", "n.idx.gz", N_TRAIN, 1);
  write_pair ("vc.idx", "vn.idx.gz", N_VAL, 2);
  write_pair ("short-c.idx", "short-n.idx.gz", N_TRAIN - 1, 3);
}

/* "psnr ssim bce" of the line starting with @what in --eval's output. */
static double
eval_psnr (const char *out, const char *what)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, what))
      return g_ascii_strtod (*l + strlen (what), NULL);
  g_error ("no '%s' line in:\n%s", what, out);
  return 0;
}

static void
test_learns_pairs (void)
{
  setup ();
  Run r = run ("--arch", "c8,c8,c1:sigmoid", "--epochs", "40", "--batch", "16", "--lr",
               "0.01", "-q", "--train-noisy", "n.idx.gz", "--val-clean", "vc.idx",
               "--val-noisy", "vn.idx.gz", "--background", "any", "-o", "paired.dae",
               "c.idx", NULL);
  g_test_message ("train: exit %d: %s", r.status, r.err);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);

  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "paired.dae", NULL);
  g_autoptr (DaeModel) m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dae_model_get_metadata (m, "noise"), ==, "paired: n.idx.gz");
  g_assert_cmpstr (dae_model_get_metadata (m, "noise_schedule"), ==, "fixed pairs");
  g_assert_cmpstr (dae_model_get_metadata (m, "background"), ==, "any");
  /* Both training files are recorded with their checksums. */
  const char *data = dae_model_get_metadata (m, "data");
  g_assert_nonnull (strstr (data, "c.idx sha256:"));
  g_assert_nonnull (strstr (data, "n.idx.gz sha256:"));

  /* It learnt to undo the negative: far closer to the clean images than
   * its input is. */
  r = run ("--eval", "paired.dae", "--clean", "vc.idx", "--noisy", "vn.idx.gz", NULL);
  g_assert_cmpint (r.status, ==, 0);
  const double model = eval_psnr (r.out, "model"), noisy = eval_psnr (r.out, "noisy");
  g_test_message ("validation PSNR: model %.2f dB, its input %.2f dB", model, noisy);
  g_assert_cmpfloat (model, >, noisy + 10.0);
  run_clear (&r);
}

static void
test_background_default (void)
{
  setup ();
  /* Without --background the clean images' median decides: dark here. */
  Run r = run ("--arch", "c4,c1:sigmoid", "--epochs", "1", "-q", "--train-noisy", "n.idx.gz",
               "-o", "bg.dae", "c.idx", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "bg.dae", NULL);
  g_autoptr (DaeModel) m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dae_model_get_metadata (m, "background"), ==, "dark");
}

static void
test_errors (void)
{
  setup ();
  struct {
    int status;
    const char *msg;
    const char *args[8];
  } cases[] = {
    { 2, "excludes --noise", { "--train-noisy", "n.idx.gz", "--noise", "gaussian:0.1", NULL } },
    { 2, "excludes --noise", { "--train-noisy", "n.idx.gz", "--noise-once", NULL } },
    { 2, "excludes --noise", { "--train-noisy", "n.idx.gz", "--val-split", "0.1", NULL } },
    { 2, "needs --val-noisy", { "--train-noisy", "n.idx.gz", "--val-clean", "vc.idx", NULL } },
    { 2, "\"grey\" is not one of dark|light|any",
      { "--train-noisy", "n.idx.gz", "--background", "grey", NULL } },
    { 1, "short-n.idx.gz: 191 images", { "--train-noisy", "short-n.idx.gz", NULL } },
    { 1, "no/such.idx", { "--train-noisy", "no/such.idx", NULL } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *base[] = { "--arch", "c4,c1:sigmoid", "--epochs", "1", "-q", "-o",
                             "err.dae" };
      GPtrArray *args = g_ptr_array_new ();
      for (guint k = 0; k < G_N_ELEMENTS (base); k++)
        g_ptr_array_add (args, (char *) base[k]);
      for (const char **a = cases[i].args; *a; a++)
        g_ptr_array_add (args, (char *) *a);
      g_ptr_array_add (args, (char *) "c.idx");
      g_ptr_array_add (args, NULL);
      Run r = run_argv ((const char *const *) args->pdata);
      g_ptr_array_unref (args);
      g_test_message ("case %u: exit %d: %s", i, r.status, r.err);
      g_assert_cmpint (r.status, ==, cases[i].status);
      g_assert_true (g_str_has_prefix (r.err, "dae-train: "));
      g_assert_nonnull (strstr (r.err, cases[i].msg));
      run_clear (&r);
      g_autofree char *out = g_build_filename (dir, "err.dae", NULL);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train-paired/learns-pairs", test_learns_pairs);
  g_test_add_func ("/train-paired/background-default", test_background_default);
  g_test_add_func ("/train-paired/errors", test_errors);
  int rc = g_test_run ();
  if (dir)
    {
      g_autoptr (GError) error = NULL;
      const char *names[] = { "c.idx", "n.idx.gz", "vc.idx", "vn.idx.gz", "short-c.idx",
                              "short-n.idx.gz", "paired.dae", "bg.dae" };
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          g_autofree char *p = g_build_filename (dir, names[i], NULL);
          g_remove (p);
        }
      g_rmdir (dir);
    }
  return rc;
}
