/* test-weights.c: the shipped models (weights/NAME.dae) against weights/README.md.
 *
 * Every model listed in the README exists and every model file is listed;
 * each loads, runs, and its file's SHA-256 is the one the README records;
 * its metadata says how it was made (command, data, seed, epochs, metrics)
 * consistently with the README: the data checksums in the metadata appear
 * in the README's section, and the command's --seed and --epochs are the
 * metadata's. */
#include "dae.h"

#include <math.h>
#include <string.h>

static char *
weights_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "..", "weights", name, NULL);
}

/* The README's "## NAME" section, up to the next "## ". */
static char *
readme_section (const char *readme, const char *name)
{
  g_autofree char *head = g_strdup_printf ("\n## %s\n", name);
  const char *s = strstr (readme, head);
  if (s == NULL)
    return NULL;
  s += strlen (head);
  const char *e = strstr (s, "\n## ");
  return e ? g_strndup (s, e - s) : g_strdup (s);
}

static char *
file_sha256 (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* The value after "--opt " or "--opt=" in a command, or NULL. */
static char *
command_option (const char *cmd, const char *opt)
{
  g_auto (GStrv) argv = NULL;
  g_assert_true (g_shell_parse_argv (cmd, NULL, &argv, NULL));
  const size_t len = strlen (opt);
  for (guint i = 0; argv[i]; i++)
    {
      if (strcmp (argv[i], opt) == 0 && argv[i + 1])
        return g_strdup (argv[i + 1]);
      if (strncmp (argv[i], opt, len) == 0 && argv[i][len] == '=')
        return g_strdup (argv[i] + len + 1);
    }
  return NULL;
}

static void
check_model (const char *readme, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = weights_path (name);
  g_autofree char *section = readme_section (readme, name);
  g_assert_nonnull (section);

  /* The file's checksum is the README's. */
  g_autofree char *sum = file_sha256 (path);
  g_autofree char *want = g_strdup_printf ("sha256: `%s`", sum);
  if (strstr (section, want) == NULL)
    g_error ("%s: its sha256 is %s, not the one in weights/README.md", name, sum);

  g_autoptr (DaeModel) m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  const char *keys[] = { "command", "data", "seed", "epochs", "metrics" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (dae_model_get_metadata (m, keys[i]) == NULL)
      g_error ("%s: no '%s' in its metadata", name, keys[i]);

  const char *cmd = dae_model_get_metadata (m, "command");
  g_test_message ("%s: %s", name, cmd);
  const char *opts[][2] = { { "--seed", "seed" }, { "--epochs", "epochs" } };
  for (guint i = 0; i < G_N_ELEMENTS (opts); i++)
    {
      g_autofree char *v = command_option (cmd, opts[i][0]);
      if (v)
        g_assert_cmpstr (v, ==, dae_model_get_metadata (m, opts[i][1]));
    }
  /* The command is in the README, as are the data's checksums. */
  g_assert_nonnull (strstr (section, cmd));
  g_auto (GStrv) parts = g_strsplit (dae_model_get_metadata (m, "data"), "sha256:", -1);
  g_assert_cmpuint (g_strv_length (parts), >=, 2);
  for (guint i = 1; parts[i]; i++)
    {
      g_autofree char *hex = g_strndup (parts[i], 64);
      g_assert_cmpuint (strlen (hex), ==, 64);
      if (strstr (section, hex) == NULL)
        g_error ("%s: data checksum %s is not in the README", name, hex);
    }

  /* It runs: a patch in, a patch of probabilities out. */
  guint h, w;
  dae_model_get_patch_size (m, &h, &w);
  const size_t f = (size_t) dae_model_get_channels (m) * h * w;
  g_autofree float *x = g_new (float, f), *y = g_new (float, f);
  for (size_t i = 0; i < f; i++)
    x[i] = (float) ((i * 7) % 11) / 10.0f;
  g_autoptr (DaeRunner) r = dae_runner_new (m, h, w, &error);
  g_assert_no_error (error);
  g_assert_true (dae_runner_forward (r, 1, x, y, &error));
  for (size_t i = 0; i < f; i++)
    g_assert_true (y[i] >= 0.0f && y[i] <= 1.0f);
}

static void
test_weights (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *readme_path = weights_path ("README.md");
  g_autofree char *readme = NULL;
  if (!g_file_get_contents (readme_path, &readme, NULL, &error))
    {
      g_test_skip ("no weights/README.md: no models shipped yet");
      return;
    }
  g_autofree char *dir = weights_path (".");
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".dae"))
      {
        check_model (readme, name);
        n++;
      }
  /* And every model the README lists is there. */
  for (const char *p = strstr (readme, "\n## "); p; p = strstr (p + 1, "\n## "))
    {
      g_autofree char *line = g_strndup (p + 4, strcspn (p + 4, "\n"));
      if (g_str_has_suffix (line, ".dae"))
        {
          g_autofree char *path = weights_path (line);
          if (!g_file_test (path, G_FILE_TEST_EXISTS))
            g_error ("weights/README.md lists %s, which is not in weights/", line);
        }
    }
  g_test_message ("%u models checked", n);
  g_assert_cmpuint (n, >=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/weights/shipped", test_weights);
  return g_test_run ();
}
