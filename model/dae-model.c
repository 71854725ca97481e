/* dae-model: look at, check and import dae models.
 *
 *   dae-model info FILE|NAME            architecture: layers, shapes, parameters
 *   dae-model metadata FILE|NAME [KEY]  the metadata, or one value
 *   dae-model verify FILE|NAME          load, check, run one patch
 *   dae-model import IN OUT.dae         Keras, PyTorch or ONNX -> .dae
 *
 * A thin front end over <dae.h>; import runs the Python converter
 * dae-import (tools/, installed in $datadir/dae), found through $DAE_IMPORT
 * or relative to this program's own folder.  Errors: `dae-model: message`,
 * exit 1; usage errors exit 2 with a Try line. */
#include "dae.h"
#include "dae-config.h"
#include "cli.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "dae-model"

static char *opt_arch, *opt_patch, *opt_channels;
static gboolean opt_version;
static char **opt_args;

static const GOptionEntry entries[] = {
  { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch,
    "import of a PyTorch state dict: its layers, as dae-train --arch takes them", "SPEC" },
  { "patch", 0, 0, G_OPTION_ARG_STRING, &opt_patch,
    "import: the patch size, when the model leaves it open (with --arch: default 28x28)",
    "HxW" },
  { "channels", 0, 0, G_OPTION_ARG_STRING, &opt_channels,
    "import with --arch: input channels (default 1)", "C" },
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_args, NULL,
    "COMMAND ARGS..." },
  { NULL }
};

/* Finds and loads a model by name or file; prints the error. */
static DaeModel *
load (const char *name, char **path_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = dae_model_find (name, &error);
  DaeModel *model = path ? dae_model_load_file (path, &error) : NULL;
  if (model == NULL)
    {
      fprintf (stderr, "%s: %s%s%s\n", PROG, path && !strstr (error->message, path) ? path : "",
               path && !strstr (error->message, path) ? ": " : "", error->message);
      return NULL;
    }
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return model;
}

static int
cmd_info (const char *name)
{
  g_autofree char *path = NULL;
  g_autoptr (DaeModel) model = load (name, &path);
  if (model == NULL)
    return 1;
  guint ph, pw;
  dae_model_get_patch_size (model, &ph, &pw);
  const char *desc = dae_model_get_metadata (model, "description");
  printf ("file: %s\n", path);
  if (desc != NULL)
    printf ("description: %s\n", desc);
  printf ("channels: %u\npatch: %ux%u (width x height)\nlayers: %u\nparameters: %zu\n\n",
          dae_model_get_channels (model), pw, ph, dae_model_get_n_layers (model),
          dae_model_get_n_params (model));
  g_autofree char *table = dae_model_describe (model);
  fputs (table, stdout);
  return 0;
}

static int
cmd_metadata (const char *name, const char *key)
{
  g_autoptr (DaeModel) model = load (name, NULL);
  if (model == NULL)
    return 1;
  if (key != NULL)
    {
      const char *value = dae_model_get_metadata (model, key);
      if (value == NULL)
        {
          fprintf (stderr, "%s: %s: no metadata key \"%s\"\n", PROG, name, key);
          return 1;
        }
      printf ("%s\n", value);
      return 0;
    }
  g_auto (GStrv) keys = dae_model_get_metadata_keys (model);
  for (guint i = 0; keys[i] != NULL; i++)
    printf ("%s: %s\n", keys[i], dae_model_get_metadata (model, keys[i]));
  return 0;
}

/* Loads (which checks the whole file, dae-model(5) VALIDATION) and runs
 * one patch of a smooth ramp through the network. */
static int
cmd_verify (const char *name)
{
  g_autofree char *path = NULL;
  g_autoptr (DaeModel) model = load (name, &path);
  if (model == NULL)
    return 1;
  guint ph, pw, c = dae_model_get_channels (model);
  dae_model_get_patch_size (model, &ph, &pw);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeRunner) runner = dae_runner_new (model, ph, pw, &error);
  size_t n = (size_t) c * ph * pw;
  g_autofree float *in = g_try_new (float, n), *out = g_try_new (float, n);
  if (runner == NULL || in == NULL || out == NULL)
    {
      fprintf (stderr, "%s: %s: %s\n", PROG, path, error ? error->message : "out of memory");
      return 1;
    }
  for (size_t i = 0; i < n; i++)
    in[i] = (float) (i % (pw + 1)) / (float) pw;
  if (!dae_runner_forward (runner, 1, in, out, &error))
    {
      fprintf (stderr, "%s: %s: forward pass: %s\n", PROG, path, error->message);
      return 1;
    }
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (out[i]))
        {
          fprintf (stderr, "%s: %s: forward pass gives a non-finite value at %zu\n", PROG,
                   path, i);
          return 1;
        }
      lo = MIN (lo, out[i]);
      hi = MAX (hi, out[i]);
    }
  printf ("%s: ok: %zu parameters, a %ux%u patch of %u channels runs (output %.4g to %.4g)\n", path,
          dae_model_get_n_params (model), pw, ph, c, lo, hi);
  return 0;
}

/* The converter: $DAE_IMPORT, else DATA/dae-import with DATA relative to
 * the folder of this program (/proc/self/exe), as installed. */
static char *
find_importer (void)
{
  const char *env = g_getenv ("DAE_IMPORT");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe == NULL)
    return NULL;
  g_autofree char *bindir = g_path_get_dirname (exe);
  char *path = g_build_filename (bindir, DAE_BIN_TO_DATA, "dae-import", NULL);
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  g_free (path);
  return NULL;
}

/* With --arch, the architecture the state dict's tensors fill, saved to a
 * temporary .dae for the converter. */
static char *
make_template (void)
{
  guint64 c = 1, h = 28, w = 28;
  if (opt_channels)
    c = cli_parse_uint ("--channels", opt_channels, 1, 4096);
  if (opt_patch && sscanf (opt_patch, "%" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT, &h, &w) != 2)
    cli_usage_error ("--patch: \"%s\" is not HxW", opt_patch);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) model = dae_model_new_from_arch (opt_arch, (guint) c, (guint) h,
                                                        (guint) w, &error);
  char *tmp = NULL;
  int fd = model ? g_file_open_tmp ("dae-model-XXXXXX.dae", &tmp, &error) : -1;
  if (fd >= 0)
    close (fd);
  if (fd < 0 || !dae_model_save_file (model, tmp, &error))
    {
      fprintf (stderr, "%s: --arch: %s\n", PROG, error->message);
      if (tmp)
        g_unlink (tmp);
      g_free (tmp);
      return NULL;
    }
  return tmp;
}

static int
cmd_import (const char *in, const char *out)
{
  g_autofree char *template = NULL;
  if (opt_arch && (template = make_template ()) == NULL)
    return 1;
  g_autofree char *importer = find_importer ();
  if (importer == NULL)
    {
      fprintf (stderr, "%s: import: the converter dae-import is not installed "
               "(looked in $DAE_IMPORT and %s next to this program; uninstalled, run "
               "it through meson devenv)\n", PROG, DAE_BIN_TO_DATA);
      if (template)
        g_unlink (template);
      return 1;
    }
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "/usr/bin/python3");
  g_ptr_array_add (argv, importer);
  if (opt_patch && !opt_arch)
    {
      g_ptr_array_add (argv, (char *) "--patch");
      g_ptr_array_add (argv, opt_patch);
    }
  if (template)
    {
      g_ptr_array_add (argv, (char *) "--template");
      g_ptr_array_add (argv, template);
    }
  g_ptr_array_add (argv, (char *) "--");
  g_ptr_array_add (argv, (char *) in);
  g_ptr_array_add (argv, (char *) out);
  g_ptr_array_add (argv, NULL);
  g_setenv ("DAE_IMPORT_PROG", "1", TRUE);
  g_autoptr (GError) error = NULL;
  int status = 1;
  gboolean ran = g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN,
                               NULL, NULL, NULL, NULL, &status, &error);
  g_ptr_array_free (argv, TRUE);
  if (template)
    g_unlink (template);
  if (!ran)
    {
      fprintf (stderr, "%s: import: running %s: %s\n", PROG, importer, error->message);
      return 1;
    }
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = cli_start (PROG, "COMMAND ARGS...", entries,
    "Look at, check and import denoising-autoencoder models (.dae).\n\n"
    "Commands:\n"
    "  info FILE|NAME            layers, shapes, parameters, patch size, channels\n"
    "  metadata FILE|NAME [KEY]  every metadata entry, or KEY's value\n"
    "  verify FILE|NAME          load, check and run one patch; exit 1 if it fails\n"
    "  import IN OUT.dae         convert a Keras (.keras, .h5), PyTorch state dict\n"
    "                            (.pt, .pth, with --arch) or ONNX (.onnx) model",
    "NAME is a model name from dae-filter --list-models.  Exit status: 0 on\n"
    "success, 1 on failure, 2 for a usage error.  See dae-model(1).");
  cli_parse_options (ctx, &argc, &argv);
  if (opt_version)
    {
      cli_print_version ();
      return 0;
    }
  guint n = opt_args ? g_strv_length (opt_args) : 0;
  const char *cmd = n ? opt_args[0] : NULL;
  int status;
  if (cmd == NULL)
    cli_usage_error ("a COMMAND is needed: info, metadata, verify or import");
  else if (strcmp (cmd, "info") == 0 && n == 2)
    status = cmd_info (opt_args[1]);
  else if (strcmp (cmd, "metadata") == 0 && (n == 2 || n == 3))
    status = cmd_metadata (opt_args[1], n == 3 ? opt_args[2] : NULL);
  else if (strcmp (cmd, "verify") == 0 && n == 2)
    status = cmd_verify (opt_args[1]);
  else if (strcmp (cmd, "import") == 0 && n == 3)
    status = cmd_import (opt_args[1], opt_args[2]);
  else if (strcmp (cmd, "info") && strcmp (cmd, "metadata") && strcmp (cmd, "verify")
           && strcmp (cmd, "import"))
    cli_usage_error ("unknown command \"%s\"", cmd);
  else
    cli_usage_error ("%s: wrong number of arguments", cmd);
  g_strfreev (opt_args);
  return status;
}
