/* test-import.c: dae-model import of Keras and ONNX files, and its sibling
 * commands.
 *
 * make-foreign-model.py writes the reference networks of data/ref/ (the
 * tutorial autoencoder and the U-Net with every layer kind) as Keras 2
 * (.h5), Keras 3 (.keras) and ONNX lay them out, with h5py and onnx only;
 * dae-model import converts them back, and the result must reproduce
 * PyTorch's outputs of data/ref/ to 1e-5.  Needs /usr/bin/python3 with h5py
 * (and onnx for the ONNX cases): skipped with the reason otherwise. */
#include "dae.h"
#include "test-spawn.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-5

static const char *model_exe, *tmp_dir;

/* Reads a raw float32 array the manifest data/ref/NET.txt names. */
static float *
load_array (GKeyFile *manifest, const char *group, gint shape[4])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_key_file_get_string (manifest, group, "file", &error);
  g_assert_no_error (error);
  gsize rank;
  g_autofree gint *s = g_key_file_get_integer_list (manifest, group, "shape", &rank, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rank, ==, 4);
  memcpy (shape, s, 4 * sizeof (gint));
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  char *data;
  gsize size;
  g_assert_true (g_file_get_contents (path, &data, &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, (gsize) shape[0] * shape[1] * shape[2] * shape[3] * 4);
  return (float *) data;
}

/* The file name extension that tells the importer the format. */
static const char *
extension (const char *format)
{
  return g_str_has_prefix (format, "keras2") ? "h5" : format[0] == 'k' ? "keras" : "onnx";
}

static TestRun
run_model (const char *const *args)
{
  TestRun r = test_run (tmp_dir, model_exe, NULL, 0, args);
  g_test_message ("dae-model %s: exit %d: %s", args[0], r.status, r.err);
  return r;
}

/* Writes data/ref/NET.dae as FORMAT; FALSE (test skipped) when python3
 * lacks the module it needs. */
static gboolean
make_foreign (const char *format, const char *net, const char *out)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "make-foreign-model.py", NULL);
  g_autofree char *dae = g_strdup_printf ("%s/data/ref/%s.dae", g_test_get_dir (G_TEST_DIST),
                                          net);
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3");
      return FALSE;
    }
  g_auto (TestRun) r = test_run (tmp_dir, "/usr/bin/python3", NULL, 0,
                                 (const char *const[]){ script, format, dae, out, NULL });
  if (r.status == 77)
    {
      gsize n;
      g_autofree char *why = g_strndup (g_bytes_get_data (r.out, &n), g_bytes_get_size (r.out));
      g_test_skip (g_strstrip (why));
      return FALSE;
    }
  g_test_message ("make-foreign-model %s: %s", format, r.err);
  g_assert_cmpint (r.status, ==, 0);
  return TRUE;
}

/* FORMAT/NET: the imported model's output on data/ref's inputs. */
static void
test_matches_reference (gconstpointer data)
{
  g_auto (GStrv) parts = g_strsplit (data, "/", 2);
  const char *format = parts[0], *net = parts[1];
  g_autofree char *foreign = g_strdup_printf ("%s/%s.%s", tmp_dir, net, extension (format));
  g_autofree char *dae = g_strdup_printf ("%s/%s-%s.dae", tmp_dir, net, format);
  if (!make_foreign (format, net, foreign))
    return;
  g_auto (TestRun) r = run_model ((const char *const[]){ "import", foreign, dae, NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");

  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) model = dae_model_load_file (dae, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dae_model_get_metadata (model, "imported-format"), ==,
                   g_str_has_prefix (format, "keras2") ? "keras-h5" : format[0] == 'k' ? "keras" : "onnx");
  g_autoptr (GKeyFile) manifest = g_key_file_new ();
  g_autofree char *txt = g_strdup_printf ("%s/data/ref/%s.txt", g_test_get_dir (G_TEST_DIST),
                                          net);
  g_assert_true (g_key_file_load_from_file (manifest, txt, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  gint in_shape[4], out_shape[4];
  g_autofree float *in = load_array (manifest, "input", in_shape);
  g_autofree float *want = load_array (manifest, "output", out_shape);
  g_assert_cmpint (in_shape[1], ==, dae_model_get_channels (model));
  g_autoptr (DaeRunner) runner = dae_runner_new (model, in_shape[2], in_shape[3], &error);
  g_assert_no_error (error);
  size_t n = (size_t) out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3];
  g_autofree float *got = g_new (float, n);
  g_assert_true (dae_runner_forward (runner, in_shape[0], in, got, &error));
  g_assert_no_error (error);
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = MAX (worst, fabs ((double) got[i] - want[i]));
  g_test_message ("%s: largest difference from PyTorch %.3g over %zu outputs", (char *) data,
                  worst, n);
  g_assert_cmpfloat (worst, <=, TOLERANCE);
}

/* An average pool in place of the first max-pool: refused in one line
 * naming the layer, exit 1, no output file. */
static void
test_refuses_layer (gconstpointer data)
{
  const char *format = data;
  g_autofree char *spoilt = g_strdup_printf ("%s-bad", format);
  g_autofree char *foreign = g_strdup_printf ("%s/bad.%s", tmp_dir, extension (format));
  g_autofree char *dae = g_strdup_printf ("%s/bad-%s.dae", tmp_dir, format);
  if (!make_foreign (spoilt, "tutorial", foreign))
    return;
  g_auto (TestRun) r = run_model ((const char *const[]){ "import", foreign, dae, NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "dae-model import: "));
  g_assert_nonnull (strstr (r.err, strcmp (format, "onnx") ? "'max_pooling2d' (AveragePooling2D)"
                                                           : "'pool1' (AveragePool)"));
  g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, strlen (r.err) - 1);
  g_assert_false (g_file_test (dae, G_FILE_TEST_EXISTS));
}

/* info, metadata and verify on the reference U-Net; verify refuses a
 * corrupted copy in one line. */
static void
test_info_verify (void)
{
  g_autofree char *unet = g_test_build_filename (G_TEST_DIST, "data", "ref", "unet.dae", NULL);
  g_auto (TestRun) info = run_model ((const char *const[]){ "info", unet, NULL });
  g_assert_cmpint (info.status, ==, 0);
  g_autofree char *text = g_strndup (g_bytes_get_data (info.out, NULL),
                                     g_bytes_get_size (info.out));
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) model = dae_model_load_file (unet, &error);
  g_assert_no_error (error);
  g_autofree char *params = g_strdup_printf ("parameters: %zu\n", dae_model_get_n_params (model));
  g_assert_nonnull (strstr (text, params));
  g_autofree char *table = dae_model_describe (model);
  g_assert_nonnull (strstr (text, table));

  g_auto (TestRun) seed = run_model ((const char *const[]){ "metadata", unet, "seed", NULL });
  g_autofree char *want = g_strdup_printf ("%s\n", dae_model_get_metadata (model, "seed"));
  g_assert_cmpint (seed.status, ==, 0);
  g_assert_cmpmem (g_bytes_get_data (seed.out, NULL), g_bytes_get_size (seed.out), want,
                   strlen (want));
  g_auto (TestRun) none = run_model ((const char *const[]){ "metadata", unet, "nokey", NULL });
  g_assert_cmpint (none.status, ==, 1);

  g_auto (TestRun) ok = run_model ((const char *const[]){ "verify", unet, NULL });
  g_assert_cmpint (ok.status, ==, 0);
  char *bytes;
  gsize size;
  g_assert_true (g_file_get_contents (unet, &bytes, &size, &error));
  bytes[size / 2] ^= 0x10;
  g_autofree char *bad = g_build_filename (tmp_dir, "corrupt.dae", NULL);
  g_assert_true (g_file_set_contents (bad, bytes, size, &error));
  g_free (bytes);
  g_auto (TestRun) r = run_model ((const char *const[]){ "verify", bad, NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "corrupt"));
  g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, strlen (r.err) - 1);
}

/* The conventions dae-filter and dae-train keep: --version, usage errors
 * (exit 2, one message line and a Try line, nothing on stdout). */
static void
test_cli (void)
{
  g_auto (TestRun) v = run_model ((const char *const[]){ "--version", NULL });
  g_autofree char *want = g_strdup_printf ("dae-model (dae) %s\n", dae_version ());
  g_assert_cmpint (v.status, ==, 0);
  g_assert_cmpmem (g_bytes_get_data (v.out, NULL), g_bytes_get_size (v.out), want,
                   strlen (want));
  static const char *const bad[][4] = { { "frobnicate", "x", NULL }, { "info", NULL },
                                        { "import", "a.h5", NULL }, { "--bogus", NULL } };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (TestRun) r = run_model (bad[i]);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_cmpuint (g_bytes_get_size (r.out), ==, 0);
      g_auto (GStrv) lines = g_strsplit (r.err, "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, 3);
      g_assert_true (g_str_has_prefix (lines[0], "dae-model: "));
      g_assert_cmpstr (lines[1], ==, "Try 'dae-model --help' for more information.");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  model_exe = g_getenv ("DAE_MODEL");
  g_assert_nonnull (model_exe);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-import-XXXXXX", &error);
  g_assert_no_error (error);
  tmp_dir = dir;
  static const char *const cases[] = { "keras2-h5/tutorial", "keras2-h5/unet",
                                       "keras3/tutorial",    "keras3/unet",
                                       "onnx/tutorial",      "onnx/unet" };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/import/%s", cases[i]);
      g_test_add_data_func (name, cases[i], test_matches_reference);
    }
  g_test_add_data_func ("/import/refuses/keras2-h5", "keras2-h5", test_refuses_layer);
  g_test_add_data_func ("/import/refuses/keras3", "keras3", test_refuses_layer);
  g_test_add_data_func ("/import/refuses/onnx", "onnx", test_refuses_layer);
  g_test_add_func ("/model/info-verify", test_info_verify);
  g_test_add_func ("/model/cli", test_cli);
  int status = g_test_run ();
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  if (system (cmd) != 0)
    status = 1;
  return status;
}
