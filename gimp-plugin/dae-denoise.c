/* dae-denoise.c: GIMP 2.10 plug-in, Filters -> Denoise...
 *
 * A thin adapter: the procedure's parameters become DaeDenoiseOptions, the
 * drawable's GeglBuffer is fed to core/'s DaeDenoiser (denoise-buffer.c)
 * and the result goes through the shadow buffer, so GIMP applies the
 * selection, makes one undo step and keeps alpha. */
#include <stdlib.h>
#include <string.h>

#include <libgimp/gimp.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

static const DenoiseVals default_vals = {
  .model = "", .strength = 1.0, .stride = 0, .invert = DAE_INVERT_AUTO
};

MAIN ()

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-INTERACTIVE (0), RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image (unused)" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable (gray or RGB, with or without alpha)" },
    { GIMP_PDB_STRING, "model",
      "Model name (e.g. \"document\", \"mnist\") or path of a .dae file; \"\" for the default" },
    { GIMP_PDB_FLOAT, "strength", "Blend of the denoised image over the input (0..1, default 1)" },
    { GIMP_PDB_INT32, "stride",
      "Step between overlapping patches in pixels (1..patch size; 0 = half a patch, the default)" },
    { GIMP_PDB_INT32, "invert",
      "Polarity { AUTO (0): by the background, ON (1), OFF (2) }; the digit models see light "
      "strokes on dark" },
  };

  gimp_install_procedure (PLUG_IN_PROC,
                          "Remove noise with a denoising autoencoder",
                          "Denoises the drawable (or the selection) with a small convolutional "
                          "denoising autoencoder applied to overlapping patches: scanned pages, "
                          "digits, photos, after the model chosen. Colour images are denoised "
                          "in luminance; alpha is left untouched. Parameters after the drawable "
                          "may be omitted: they take their defaults.",
                          "dae authors", "dae authors", "2026", "_Denoise...", "RGB*, GRAY*",
                          GIMP_PLUGIN, G_N_ELEMENTS (args), 0, args, NULL);

  gimp_plugin_menu_register (PLUG_IN_PROC, "<Image>/Filters");
}

void
denoise_vals_to_options (const DenoiseVals *vals, DaeDenoiseOptions *options)
{
  dae_denoise_options_init (options);
  options->strength = vals->strength;
  options->stride = (guint) MAX (vals->stride, 0);
  options->invert = (DaeInvert) vals->invert;

  /* Edit -> Preferences -> System Resources -> Number of threads. */
  g_autofree gchar *threads = gimp_gimprc_query ("num-processors");
  if (threads != NULL && atoi (threads) > 0)
    options->threads = (guint) atoi (threads);
}

DaeModel *
denoise_load_model (const char *name, GError **error)
{
  g_autofree char *path = dae_model_find (name, error);
  return path != NULL ? dae_model_load_file (path, error) : NULL;
}

/* The checks that belong to the PDB encoding; the denoiser checks the rest
 * (strength range, stride against the patch size). */
static gboolean
check_vals (const DenoiseVals *vals, GError **error)
{
  if (vals->stride < 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "stride %d is negative (0 means half a patch)", vals->stride);
      return FALSE;
    }
  if (vals->invert < DAE_INVERT_AUTO || vals->invert > DAE_INVERT_OFF)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "invert mode %d is not 0 (auto), 1 (on) or 2 (off)", vals->invert);
      return FALSE;
    }
  return TRUE;
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

  g_autoptr (DaeModel) model = denoise_load_model (vals->model, error);
  if (model == NULL)
    return FALSE;
  DaeDenoiseOptions options;
  denoise_vals_to_options (vals, &options);

  GeglBuffer *src = gimp_drawable_get_buffer (drawable_id);
  GeglBuffer *shadow = gimp_drawable_get_shadow_buffer (drawable_id);
  gimp_progress_init ("Denoising");
  const gboolean ok = denoise_buffer_rect (model, &options, src, shadow,
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

  if (!gimp_item_is_valid (drawable_id) || !gimp_item_is_drawable (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_INVALID, "%d is not a drawable", drawable_id);
      status = GIMP_PDB_CALLING_ERROR;
    }
  else if (gimp_item_is_group (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "a layer group cannot be denoised: choose one of its layers");
      status = GIMP_PDB_EXECUTION_ERROR;
    }
  else if (!gimp_drawable_is_rgb (drawable_id) && !gimp_drawable_is_gray (drawable_id))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "indexed drawables cannot be denoised: convert the image to RGB or "
                   "grayscale first");
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
  if (status == GIMP_PDB_SUCCESS && !check_vals (&vals, &error))
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
