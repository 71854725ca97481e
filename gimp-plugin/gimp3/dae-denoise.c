/* dae-denoise.c (GIMP 3): GIMP 3 plug-in, Filters -> Enhance -> Denoise (autoencoder)...
 *
 * A thin adapter, as the GIMP 2.10 one (dae-denoise.c): the procedure's
 * arguments become DaeDenoiseOptions, the drawable's GeglBuffer goes
 * through denoise_buffer_rect() into the shadow buffer, so GIMP applies the
 * selection, makes one undo step and keeps alpha.  Same procedure name and
 * arguments as in GIMP 2.10; GimpProcedureConfig keeps the last values. */
#include <stdlib.h>

#include <libgimp/gimp.h>
#include <glib/gi18n-lib.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"

struct _DaeDenoise3 {
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE (DaeDenoise3, dae_denoise3, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (DAE_TYPE_DENOISE3)

static GList *
denoise_query_procedures (GimpPlugIn *plug_in)
{
  return g_list_append (NULL, g_strdup (PLUG_IN_PROC));
}

static gboolean
denoise_run_drawable (GimpDrawable *drawable, GimpProcedureConfig *config, GError **error);

/* Refuses what cannot be denoised, before any dialog opens. */
static gboolean
check_drawables (GimpDrawable **drawables, GError **error)
{
  if (drawables == NULL || drawables[0] == NULL || drawables[1] != NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   _("Denoise works on one drawable at a time: select one layer"));
      return FALSE;
    }
  GimpDrawable *drawable = drawables[0];
  if (gimp_item_is_group (GIMP_ITEM (drawable)))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   _("a layer group cannot be denoised: choose one of its layers"));
      return FALSE;
    }
  if (gimp_drawable_is_indexed (drawable))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   _("indexed drawables cannot be denoised: convert the image to RGB or "
                     "grayscale first"));
      return FALSE;
    }
  return TRUE;
}

static GimpValueArray *
denoise_run (GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
             GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data)
{
  GError *error = NULL;

  gegl_init (NULL, NULL);
  if (!check_drawables (drawables, &error))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);

  /* Without a display (gimp-console) a dialog cannot open: GIMP has
   * already filled @config with the last values. */
  if (run_mode == GIMP_RUN_INTERACTIVE && gimp_display_name () != NULL
      && !denoise_dialog (procedure, config, drawables[0]))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_CANCEL, NULL);

  if (!denoise_run_drawable (drawables[0], config, &error))
    return gimp_procedure_new_return_values (procedure, GIMP_PDB_EXECUTION_ERROR, error);
  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush ();
  return gimp_procedure_new_return_values (procedure, GIMP_PDB_SUCCESS, NULL);
}

static GimpProcedure *
denoise_create_procedure (GimpPlugIn *plug_in, const gchar *name)
{
  if (g_strcmp0 (name, PLUG_IN_PROC) != 0)
    return NULL;

  GimpProcedure *procedure = gimp_image_procedure_new (plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                       denoise_run, NULL, NULL);
  gimp_procedure_set_image_types (procedure, "RGB*, GRAY*");
  gimp_procedure_set_sensitivity_mask (procedure, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label (procedure, _(DENOISE_MENU_LABEL));
  gimp_procedure_add_menu_path (procedure, DENOISE_MENU_PATH);
  gimp_procedure_set_documentation (procedure, _(DENOISE_BLURB), _(DENOISE_HELP), PLUG_IN_PROC);
  gimp_procedure_set_attribution (procedure, "dae authors", "dae authors", "2026");

  gimp_procedure_add_string_argument (procedure, "model", _("_Model"), _(DENOISE_MODEL_BLURB),
                                      "", G_PARAM_READWRITE);
  gimp_procedure_add_double_argument (procedure, "strength", _("_Strength"),
                                      _(DENOISE_STRENGTH_BLURB), DAE_STRENGTH_AUTO, 1.0,
                                      DAE_STRENGTH_AUTO, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "stride", _("S_tride"), _(DENOISE_STRIDE_BLURB),
                                   0, DENOISE_STRIDE_MAX, 0, G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "invert", _("_Invert"), _(DENOISE_INVERT_BLURB),
                                   DAE_INVERT_AUTO, DAE_INVERT_OFF, DAE_INVERT_AUTO,
                                   G_PARAM_READWRITE);
  gimp_procedure_add_int_argument (procedure, "color", _("_Colour"), _(DENOISE_COLOR_BLURB),
                                   DAE_COLOR_LUMA, DAE_COLOR_AUTO, DAE_COLOR_AUTO,
                                   G_PARAM_READWRITE);
  /* Last, as in GIMP 2.10 (where the order is what callers rely on). */
  gimp_procedure_add_boolean_argument (procedure, "ink-guard", _("Ink _guard (pages)"),
                                       _(DENOISE_INK_GUARD_BLURB), TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "despeckle", _("_Remove specks (pages)"),
                                       _(DENOISE_DESPECKLE_BLURB), TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_boolean_argument (procedure, "impulse-filter",
                                       _("Remove salt-and-_pepper (auto)"),
                                       _(DENOISE_IMPULSE_FILTER_BLURB), TRUE, G_PARAM_READWRITE);
  return procedure;
}

static void
dae_denoise3_class_init (DaeDenoise3Class *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);
  plug_in_class->query_procedures = denoise_query_procedures;
  plug_in_class->create_procedure = denoise_create_procedure;
  /* The default set_i18n: domain "dae-denoise", catalogs in the plug-in's
   * locale/ folder. */
}

static void
dae_denoise3_init (DaeDenoise3 *self)
{
  /* The help pages next to the plug-in (help/gimp-help.xml). */
  g_autofree gchar *dir = g_path_get_dirname (gimp_get_progname ());
  g_autofree gchar *help = g_build_filename (dir, "help", NULL);
  if (g_file_test (help, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GFile) uri = g_file_new_for_path (help);
      gimp_plug_in_set_help_domain (GIMP_PLUG_IN (self), PLUG_IN_PROC, uri);
    }
}

gboolean
denoise_config_to_options (GimpProcedureConfig *config, gchar **model,
                           DaeDenoiseOptions *options, GError **error)
{
  DenoiseParams params;
  gchar *name = NULL;
  g_object_get (config, "model", &name, "strength", &params.strength, "stride",
                &params.stride, "invert", &params.invert, "color", &params.color,
                "ink-guard", &params.ink_guard, "despeckle", &params.despeckle,
                "impulse-filter", &params.impulse_filter, NULL);
  params.model = name;
  /* Edit -> Preferences -> System Resources -> Number of threads. */
  g_autofree gchar *threads = gimp_gimprc_query ("num-processors");
  const gint n = threads != NULL ? atoi (threads) : 0;
  if (!denoise_params_to_options (&params, (guint) MAX (n, 0), options, error))
    {
      g_free (name);
      return FALSE;
    }
  *model = name;
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
denoise_run_drawable (GimpDrawable *drawable, GimpProcedureConfig *config, GError **error)
{
  gint x, y, width, height;
  g_autofree gchar *name = NULL;
  DaeDenoiseOptions options;
  if (!denoise_config_to_options (config, &name, &options, error))
    return FALSE;
  if (!gimp_drawable_mask_intersect (drawable, &x, &y, &width, &height))
    return TRUE; /* the selection misses this drawable */
  g_autoptr (DaeModelSet) models = denoise_load_models (name, error);
  if (models == NULL)
    return FALSE;

  GeglBuffer *src = gimp_drawable_get_buffer (drawable);
  GeglBuffer *shadow = gimp_drawable_get_shadow_buffer (drawable);
  gimp_progress_init (_("Denoising"));
  const gboolean ok = denoise_buffer_rect (models, &options, src, shadow,
                                           GEGL_RECTANGLE (x, y, width, height),
                                           progress_update, NULL, error);
  g_object_unref (src);
  g_object_unref (shadow); /* flushes it to GIMP */
  if (ok)
    {
      gimp_progress_update (1.0);
      gimp_drawable_merge_shadow (drawable, TRUE);
      gimp_drawable_update (drawable, x, y, width, height);
    }
  else
    gimp_drawable_free_shadow (drawable);
  gimp_progress_end ();
  return ok;
}
