/* dae-denoise.c: GIMP 2.10 plug-in, Filters -> Enhance -> Denoise (autoencoder)...
 *
 * A thin adapter: the procedure's parameters become DaeDenoiseOptions, the
 * drawable's GeglBuffer is fed to core/'s DaeDenoiser (denoise-buffer.c)
 * and the result goes through the shadow buffer, so GIMP applies the
 * selection, makes one undo step and keeps alpha. */
#include <stdlib.h>
#include <string.h>

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

static const DenoiseVals default_vals = {
  .model = "", .strength = 1.0, .stride = 0, .invert = DAE_INVERT_AUTO,
  .ink_guard = TRUE, .despeckle = TRUE, .impulse_filter = TRUE
};

MAIN ()

/* The plug-in's own folder: its help pages and translations live beside it. */
static gchar *
plug_in_file (const char *name)
{
  g_autofree gchar *dir = g_path_get_dirname (gimp_get_progname ());
  return g_build_filename (dir, name, NULL);
}

static void
set_up_i18n (void)
{
  g_autofree gchar *locale = plug_in_file ("locale");
  bindtextdomain (GETTEXT_PACKAGE, locale);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  gimp_plugin_domain_register (GETTEXT_PACKAGE, locale);
}

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image (unused)" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable (gray or RGB, with or without alpha)" },
    { GIMP_PDB_STRING, "model", DENOISE_MODEL_BLURB },
    { GIMP_PDB_FLOAT, "strength", DENOISE_STRENGTH_BLURB },
    { GIMP_PDB_INT32, "stride", DENOISE_STRIDE_BLURB },
    { GIMP_PDB_INT32, "invert", DENOISE_INVERT_BLURB },
    /* New parameters go last, so older scripts' leading ones keep their
     * meaning (and C callers passing fewer get the defaults). */
    { GIMP_PDB_INT32, "ink-guard", DENOISE_INK_GUARD_BLURB },
    { GIMP_PDB_INT32, "despeckle", DENOISE_DESPECKLE_BLURB },
    { GIMP_PDB_INT32, "impulse-filter", DENOISE_IMPULSE_FILTER_BLURB },
  };

  set_up_i18n ();
  gimp_install_procedure (PLUG_IN_PROC, DENOISE_BLURB,
                          DENOISE_HELP,
                          "dae authors", "dae authors", "2026", DENOISE_MENU_LABEL, "RGB*, GRAY*",
                          GIMP_PLUGIN, G_N_ELEMENTS (args), 0, args, NULL);
  gimp_plugin_menu_register (PLUG_IN_PROC, DENOISE_MENU_PATH);

  /* The dialog's Help button opens help/en/index.html. */
  g_autofree gchar *help = plug_in_file ("help");
  g_autofree gchar *uri = g_filename_to_uri (help, NULL, NULL);
  if (uri != NULL && g_file_test (help, G_FILE_TEST_IS_DIR))
    gimp_plugin_help_register (PLUG_IN_PROC, uri);
}

gboolean
denoise_vals_to_options (const DenoiseVals *vals, DaeDenoiseOptions *options, GError **error)
{
  /* GIMP 2.10's procedure has no colour parameter: the core's choice. */
  const DenoiseParams params = { .model = vals->model, .strength = vals->strength,
                                 .stride = vals->stride, .invert = vals->invert,
                                 .color = DAE_COLOR_AUTO, .ink_guard = vals->ink_guard,
                                 .despeckle = vals->despeckle,
                                 .impulse_filter = vals->impulse_filter };
  /* Edit -> Preferences -> System Resources -> Number of threads. */
  g_autofree gchar *threads = gimp_gimprc_query ("num-processors");
  const gint n = threads != NULL ? atoi (threads) : 0;
  return denoise_params_to_options (&params, (guint) MAX (n, 0), options, error);
}

/* Non-interactive parameters; missing trailing ones keep their defaults so
 * that callers written for fewer parameters go on working. */
static gboolean
vals_from_params (gint nparams, const GimpParam *param, DenoiseVals *vals, GError **error)
{
  *vals = default_vals;
  if (nparams > 3 && param[3].data.d_string != NULL)
    {
      if (strlen (param[3].data.d_string) >= sizeof vals->model)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "model name is longer than %d bytes", DENOISE_MODEL_MAX - 1);
          return FALSE;
        }
      g_strlcpy (vals->model, param[3].data.d_string, sizeof vals->model);
    }
  if (nparams > 4)
    vals->strength = param[4].data.d_float;
  if (nparams > 5)
    vals->stride = param[5].data.d_int32;
  if (nparams > 6)
    vals->invert = param[6].data.d_int32;
  if (nparams > 7)
    vals->ink_guard = param[7].data.d_int32;
  if (nparams > 8)
    vals->despeckle = param[8].data.d_int32;
  if (nparams > 9)
    vals->impulse_filter = param[9].data.d_int32;
  return TRUE;
}

static gboolean
progress_update (double fraction, gpointer user_data)
{
  /* FALSE once GIMP no longer listens (the user cancelled). */
  return gimp_progress_update (fraction);
}

/* The final run: the selection's bounding box goes through the denoiser
 * into the shadow buffer; merging it applies the selection mask. */
static gboolean
denoise_drawable (gint32 drawable_id, const DenoiseVals *vals, GError **error)
{
  gint x, y, width, height;
  if (!gimp_drawable_mask_intersect (drawable_id, &x, &y, &width, &height))
    return TRUE; /* the selection misses this drawable */

  DaeDenoiseOptions options;
  if (!denoise_vals_to_options (vals, &options, error))
    return FALSE;
  g_autoptr (DaeModelSet) models = denoise_load_models (vals->model, error);
  if (models == NULL)
    return FALSE;

  GeglBuffer *src = gimp_drawable_get_buffer (drawable_id);
  GeglBuffer *shadow = gimp_drawable_get_shadow_buffer (drawable_id);
  gimp_progress_init (_("Denoising"));
  const gboolean ok = denoise_buffer_rect (models, &options, src, shadow,
                                           GEGL_RECTANGLE (x, y, width, height),
                                           progress_update, NULL, error);
  g_object_unref (src);
  g_object_unref (shadow); /* flushes it to GIMP */
  if (ok)
    {
      gimp_progress_update (1.0);
      gimp_drawable_merge_shadow (drawable_id, TRUE);
      gimp_drawable_update (drawable_id, x, y, width, height);
    }
  else
    gimp_drawable_free_shadow (drawable_id);
  gimp_progress_end ();
  return ok;
}

static void
run (const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
     GimpParam **return_vals)
{
  static GimpParam values[2];
  static gchar message[1024];
  GimpPDBStatusType status = GIMP_PDB_SUCCESS;
  g_autoptr (GError) error = NULL;
  DenoiseVals vals = default_vals;

  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;

  if (nparams < 3)
    {
      values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
      return;
    }
  GimpRunMode run_mode = param[0].data.d_int32;
  const gint32 drawable_id = param[2].data.d_drawable;

  gegl_init (NULL, NULL);
  set_up_i18n ();

  if (!gimp_item_is_valid (drawable_id) || !gimp_item_is_drawable (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_INVALID, "%d is not a drawable", drawable_id);
      status = GIMP_PDB_CALLING_ERROR;
    }
  else if (gimp_item_is_group (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   _("a layer group cannot be denoised: choose one of its layers"));
      status = GIMP_PDB_EXECUTION_ERROR;
    }
  else if (!gimp_drawable_is_rgb (drawable_id) && !gimp_drawable_is_gray (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   _("indexed drawables cannot be denoised: convert the image to RGB or "
                     "grayscale first"));
      status = GIMP_PDB_EXECUTION_ERROR;
    }
  else
    switch (run_mode)
      {
      case GIMP_RUN_INTERACTIVE:
        gimp_get_data (PLUG_IN_PROC, &vals);
        /* Without a display (gimp -i) a dialog would abort the plug-in:
         * run with the last values instead. */
        if (gimp_display_name () != NULL && !denoise_dialog (drawable_id, &vals))
          status = GIMP_PDB_CANCEL;
        break;

      case GIMP_RUN_NONINTERACTIVE:
        if (!vals_from_params (nparams, param, &vals, &error))
          status = GIMP_PDB_CALLING_ERROR;
        break;

      case GIMP_RUN_WITH_LAST_VALS:
        gimp_get_data (PLUG_IN_PROC, &vals);
        break;

      default:
        status = GIMP_PDB_CALLING_ERROR;
        break;
      }

  vals.model[sizeof vals.model - 1] = '\0'; /* stored data may be stale */
  DaeDenoiseOptions options;
  if (status == GIMP_PDB_SUCCESS && !denoise_vals_to_options (&vals, &options, &error))
    status = GIMP_PDB_CALLING_ERROR;

  if (status == GIMP_PDB_SUCCESS)
    {
      if (denoise_drawable (drawable_id, &vals, &error))
        {
          if (run_mode != GIMP_RUN_NONINTERACTIVE)
            gimp_displays_flush ();
          /* Scripted calls too: RUN-WITH-LAST-VALS repeats them. */
          gimp_set_data (PLUG_IN_PROC, &vals, sizeof vals);
        }
      else
        status = GIMP_PDB_EXECUTION_ERROR;
    }

  values[0].data.d_status = status;
  if (error != NULL)
    {
      g_strlcpy (message, error->message, sizeof message);
      *nreturn_vals = 2;
      values[1].type = GIMP_PDB_STRING;
      values[1].data.d_string = message;
    }
}
