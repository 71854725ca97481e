/* dae-denoise-op.c: the GEGL operation dae:denoise.
 *
 * Its properties are the filter's options; each rectangle GEGL asks for
 * goes through denoise_buffer_rect() (gimp-plugin/denoise-buffer.c), the
 * pipeline of both GIMP plug-ins, reading a halo of one patch around it.
 * In GIMP 3 it shows in Filters -> Enhance with GIMP's own filter dialog:
 * on-canvas preview, split view, non-destructive editing.  The `gegl`
 * command runs it too:  gegl in.png -o out.png -- dae:denoise model=photo
 *
 * The denoiser measures the whole image before it starts (noise, polarity,
 * page or photo, salt-and-pepper), so the op asks for the whole input and
 * makes the whole output at once, whatever rectangle GEGL wants first:
 * GIMP's canvas, rendered in chunks, and the `gegl` command then give
 * dae-filter's pixels, with no seam between chunks. */
#include <string.h>

#include <glib/gi18n-lib.h>
#include <gegl.h>
#include <gegl-plugin.h>

#include "denoise-buffer.h"

#ifdef GEGL_PROPERTIES

enum_start (dae_op_invert)
  enum_value (DAE_OP_INVERT_AUTO, "auto", N_("Auto (by the background)"))
  enum_value (DAE_OP_INVERT_ON, "on", N_("On"))
  enum_value (DAE_OP_INVERT_OFF, "off", N_("Off"))
enum_end (DaeOpInvert)

enum_start (dae_op_color)
  enum_value (DAE_OP_COLOR_AUTO, "auto", N_("Automatic (opponent for photos, luminance for pages)"))
  enum_value (DAE_OP_COLOR_LUMA, "luma", N_("Luminance only"))
  enum_value (DAE_OP_COLOR_RGB, "rgb", N_("Each of R, G, B"))
  enum_value (DAE_OP_COLOR_OPPONENT, "opponent", N_("Opponent planes (luminance and chroma)"))
enum_end (DaeOpColor)

property_string (model, _("Model"), "")
  description (_("Model name (e.g. \"document\", \"photo\") or path of a .dae file; empty for "
                 "the automatic choice (document model for pages, photo model for the rest)"))

property_double (strength, _("Strength"), DAE_STRENGTH_AUTO)
  description (_("How much of the denoised image replaces the original: 1 all of it, 0 none; "
                 "-1 automatic (after the noise measured)"))
  value_range (DAE_STRENGTH_AUTO, 1.0)

property_int (stride, _("Stride"), 0)
  description (_("Step between the overlapping patches, in pixels; 0 means the model's own "
                 "step. Smaller is smoother and slower"))
  value_range (0, DENOISE_STRIDE_MAX)
  ui_range (0, 64)

property_enum (invert, _("Invert"), DaeOpInvert, dae_op_invert, DAE_OP_INVERT_AUTO)
  description (_("Polarity: auto inverts the picture around the model when their "
                 "backgrounds differ"))

property_enum (color, _("Colour"), DaeOpColor, dae_op_color, DAE_OP_COLOR_AUTO)
  description (_("Colour images: which planes are denoised"))

property_boolean (ink_guard, _("Ink guard (pages)"), TRUE)
  description (_(DENOISE_INK_GUARD_BLURB))

property_boolean (despeckle, _("Remove specks (pages)"), TRUE)
  description (_(DENOISE_DESPECKLE_BLURB))

property_boolean (impulse_filter, _("Remove salt-and-pepper (auto)"), TRUE)
  description (_(DENOISE_IMPULSE_FILTER_BLURB))

#else

#define GEGL_OP_FILTER
#define GEGL_OP_NAME dae_denoise_op
#define GEGL_OP_C_SOURCE dae-denoise-op.c

#include "gegl-op.h"

/* The model named by the "model" property, loaded once per name. */
typedef struct {
  gchar *name;
  DaeModelSet *models;
  gchar *error;
} OpModel;

static void
op_model_free (OpModel *m)
{
  if (m == NULL)
    return;
  g_free (m->name);
  dae_model_set_free (m->models);
  g_free (m->error);
  g_free (m);
}

static OpModel *
op_model (GeglProperties *o)
{
  OpModel *m = o->user_data;
  const char *name = o->model != NULL ? o->model : "";
  if (m != NULL && strcmp (m->name, name) == 0)
    return m;
  op_model_free (m);
  g_autoptr (GError) error = NULL;
  m = g_new0 (OpModel, 1);
  m->name = g_strdup (name);
  m->models = denoise_load_models (name, &error);
  if (m->models == NULL)
    m->error = g_strdup (error->message);
  o->user_data = m;
  return m;
}

static void
prepare (GeglOperation *operation)
{
  const Babl *source = gegl_operation_get_source_format (operation, "input");
  const Babl *format = denoise_format_for (source != NULL ? source : babl_format ("R'G'B'A float"));
  gegl_operation_set_format (operation, "input", format);
  gegl_operation_set_format (operation, "output", format);
}

/* The output covers the input exactly. */
static GeglRectangle
get_bounding_box (GeglOperation *operation)
{
  const GeglRectangle *in = gegl_operation_source_get_bounding_box (operation, "input");
  return in != NULL ? *in : *GEGL_RECTANGLE (0, 0, 0, 0);
}

/* Any part of the output needs all of the input ... */
static GeglRectangle
get_required_for_output (GeglOperation *operation, const gchar *input_pad,
                         const GeglRectangle *roi)
{
  return get_bounding_box (operation);
}

/* ... and makes all of the output, kept in the op's cache. */
static GeglRectangle
get_cached_region (GeglOperation *operation, const GeglRectangle *roi)
{
  return get_bounding_box (operation);
}

/* GIMP shows it in its progress bar; the op is never cancelled midway. */
static gboolean
report_progress (double fraction, gpointer operation)
{
  gegl_operation_progress (operation, fraction, "");
  return TRUE;
}

static gboolean
process (GeglOperation *operation, GeglBuffer *input, GeglBuffer *output,
         const GeglRectangle *result, gint level)
{
  GeglProperties *o = GEGL_PROPERTIES (operation);
  const OpModel *m = op_model (o);
  g_autoptr (GError) error = NULL;
  static const int colors[] = { [DAE_OP_COLOR_AUTO] = DAE_COLOR_AUTO,
                                [DAE_OP_COLOR_LUMA] = DAE_COLOR_LUMA,
                                [DAE_OP_COLOR_RGB] = DAE_COLOR_RGB,
                                [DAE_OP_COLOR_OPPONENT] = DAE_COLOR_OPPONENT };
  const DenoiseParams params = { .model = o->model, .strength = o->strength,
                                 .stride = o->stride,
                                 .invert = o->invert == DAE_OP_INVERT_ON    ? DAE_INVERT_ON
                                           : o->invert == DAE_OP_INVERT_OFF ? DAE_INVERT_OFF
                                                                            : DAE_INVERT_AUTO,
                                 .color = colors[o->color], .ink_guard = o->ink_guard,
                                 .despeckle = o->despeckle,
                                 .impulse_filter = o->impulse_filter };
  DaeDenoiseOptions options;
  gboolean ok = m->models != NULL && denoise_params_to_options (&params, 0, &options, &error);
  if (ok)
    {
      ok = denoise_buffer_rect (m->models, &options, input, output, result, report_progress,
                                operation, &error);
    }
  if (!ok)
    {
      /* GEGL has no error path: say why once per rectangle, pass the input on. */
      g_warning ("dae:denoise: %s", m->error != NULL ? m->error : error->message);
      gegl_buffer_copy (input, result, GEGL_ABYSS_NONE, output, result);
    }
  return TRUE;
}

static void
finalize (GObject *object)
{
  GeglProperties *o = GEGL_PROPERTIES (object);
  g_clear_pointer (&o->user_data, op_model_free);
  G_OBJECT_CLASS (gegl_op_parent_class)->finalize (object);
}

static void
gegl_op_class_init (GeglOpClass *klass)
{
  GeglOperationClass *operation_class = GEGL_OPERATION_CLASS (klass);
  GeglOperationFilterClass *filter_class = GEGL_OPERATION_FILTER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = finalize;
  operation_class->prepare = prepare;
  operation_class->get_bounding_box = get_bounding_box;
  operation_class->get_required_for_output = get_required_for_output;
  operation_class->get_cached_region = get_cached_region;
  /* The denoiser has its own threads, with results independent of them. */
  operation_class->threaded = FALSE;
  filter_class->process = process;

  gegl_operation_class_set_keys (operation_class,
    "name", "dae:denoise",
    "title", _("Denoise (autoencoder)"),
    "categories", "enhance:noise-reduction",
    "description", _(DENOISE_BLURB),
    "gimp:menu-path", DENOISE_MENU_PATH,
    "gimp:menu-label", _("Denoise (autoencoder, on canvas)..."),
    NULL);
}

#endif
