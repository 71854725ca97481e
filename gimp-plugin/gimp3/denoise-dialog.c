/* denoise-dialog.c (GIMP 3): the GIMP 3 dialog, built by GimpProcedureDialog from
 * the procedure's arguments, with a preview that never blocks it
 * (denoise-preview.c: computed in a worker thread by the function the final
 * run uses, restarted when a setting changes). */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"
#include "denoise-preview.h"

typedef struct {
  GimpDrawable *drawable;
  GimpProcedureConfig *config;
  GtkWidget *preview;
  GtkWidget *message;    /* why the preview could not be made */
  GtkWidget *stride;     /* its range follows the model's patch */
  guint patch;
  DenoisePreview *worker;
} Preview;

/* The 8-bit layout the preview area draws, after the drawable's type. */
static const Babl *
preview_format (GimpDrawable *drawable)
{
  const gboolean alpha = gimp_drawable_has_alpha (drawable);
  if (gimp_drawable_is_gray (drawable))
    return babl_format (alpha ? "Y'A u8" : "Y' u8");
  return babl_format (alpha ? "R'G'B'A u8" : "R'G'B' u8");
}

/* The worker's result for the newest request. */
static void
preview_show (GeglBuffer *dst, const GeglRectangle *rect, const GError *error, guint patch,
              gpointer user_data)
{
  Preview *pv = user_data;
  if (patch != 0 && patch != pv->patch)
    {
      pv->patch = patch;
      gimp_spin_scale_set_scale_limits (GIMP_SPIN_SCALE (pv->stride), 0, patch);
    }
  if (error == NULL)
    {
      const Babl *format = preview_format (pv->drawable);
      const gint bpp = babl_format_get_bytes_per_pixel (format);
      g_autofree guchar *buf = g_new (guchar, (gsize) rect->width * rect->height * bpp);
      gegl_buffer_get (dst, rect, 1.0, format, buf, rect->width * bpp, GEGL_ABYSS_NONE);
      gimp_preview_draw_buffer (GIMP_PREVIEW (pv->preview), buf, rect->width * bpp);
      gtk_label_set_text (GTK_LABEL (pv->message), "");
    }
  else
    {
      /* Show the original, and say why. */
      gimp_preview_draw (GIMP_PREVIEW (pv->preview));
      gtk_label_set_text (GTK_LABEL (pv->message), error->message);
    }
}

/* The preview moved or a setting changed: a new request. */
static void
preview_invalidated (GimpPreview *preview, Preview *pv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *model = NULL;
  DaeDenoiseOptions options;
  GeglRectangle rect;
  gimp_preview_get_position (preview, &rect.x, &rect.y);
  gimp_preview_get_size (preview, &rect.width, &rect.height);
  if (denoise_config_to_options (pv->config, &model, &options, &error))
    denoise_preview_request (pv->worker, &rect, model, &options);
  else
    gtk_label_set_text (GTK_LABEL (pv->message), error->message);
}

/* The model list: its id column is what the "model" argument holds. */
static GtkWidget *
model_combo_new (Preview *pv)
{
  g_autofree gchar *current = NULL;
  g_object_get (pv->config, "model", &current, NULL);
  g_autoptr (GPtrArray) entries = denoise_model_entries (current);
  GtkListStore *store = gtk_list_store_new (2, G_TYPE_STRING, G_TYPE_STRING);
  for (guint i = 0; i < entries->len; i++)
    {
      const DenoiseModelEntry *e = entries->pdata[i];
      g_autofree gchar *label = i == 0 ? g_strdup_printf ("%s: %s", _(e->label), _(e->description))
                                       : g_strdup_printf ("%s: %s", e->label, e->description);
      gtk_list_store_insert_with_values (store, NULL, -1, 0, e->id, 1, label, -1);
    }
  GtkWidget *combo = gimp_prop_string_combo_box_new (G_OBJECT (pv->config), "model",
                                                     GTK_TREE_MODEL (store), 0, 1);
  g_object_unref (store);
  gtk_widget_set_tooltip_text (combo, _("The network that denoises: each was trained on "
                                        "one kind of picture (its description follows "
                                        "its name)"));
  return combo;
}

/* With DAE_DENOISE_LATENCY_LOG=FILE the dialog writes down how well its
 * main loop answers: for each changed setting, the time from the change to
 * the loop's next idle turn, and at the end the longest gap between two
 * ticks of a 10 ms timer (the longest the loop was busy). */
typedef struct {
  FILE *fp;
  gint64 start, last_tick, max_gap;
  gint64 max_gap_changed; /* since the first changed setting; -1 before */
} Latency;

typedef struct {
  Latency *lat;
  gint64 changed;
  gchar *what;
} LatencyChange;

static gboolean
latency_tick (gpointer data)
{
  Latency *lat = data;
  const gint64 now = g_get_monotonic_time ();
  if (now - lat->last_tick > 100000)
    fprintf (lat->fp, "at %.2f s: the main loop was busy %.1f ms\n",
             (lat->last_tick - lat->start) / 1e6, (now - lat->last_tick) / 1000.0);
  lat->max_gap = MAX (lat->max_gap, now - lat->last_tick);
  if (lat->max_gap_changed >= 0)
    lat->max_gap_changed = MAX (lat->max_gap_changed, now - lat->last_tick);
  lat->last_tick = now;
  return G_SOURCE_CONTINUE;
}

static gboolean
latency_answered (gpointer data)
{
  LatencyChange *c = data;
  fprintf (c->lat->fp, "at %.2f s: changed %s: the main loop answered in %.1f ms\n",
           (c->changed - c->lat->start) / 1e6, c->what,
           (g_get_monotonic_time () - c->changed) / 1000.0);
  fflush (c->lat->fp);
  g_free (c->what);
  g_free (c);
  return G_SOURCE_REMOVE;
}

static void
latency_changed (GObject *config, GParamSpec *pspec, Latency *lat)
{
  LatencyChange *c = g_new (LatencyChange, 1);
  lat->max_gap_changed = MAX (lat->max_gap_changed, 0);
  c->lat = lat;
  c->changed = g_get_monotonic_time ();
  c->what = g_strdup (pspec->name);
  g_idle_add_full (G_PRIORITY_DEFAULT, latency_answered, c, NULL);
}

static guint
latency_start (Latency *lat, GimpProcedureConfig *config)
{
  const char *path = g_getenv ("DAE_DENOISE_LATENCY_LOG");
  lat->fp = path != NULL ? fopen (path, "a") : NULL;
  if (lat->fp == NULL)
    return 0;
  lat->start = lat->last_tick = g_get_monotonic_time ();
  lat->max_gap = 0;
  lat->max_gap_changed = -1;
  g_signal_connect (config, "notify", G_CALLBACK (latency_changed), lat);
  return g_timeout_add (10, latency_tick, lat);
}

static void
latency_end (Latency *lat, guint tick_id, GimpProcedureConfig *config)
{
  if (lat->fp == NULL)
    return;
  g_source_remove (tick_id);
  g_signal_handlers_disconnect_by_func (config, latency_changed, lat);
  fprintf (lat->fp, "dialog open %.1f s: longest main-loop gap %.1f ms, %.1f ms after the "
           "first change\n", (g_get_monotonic_time () - lat->start) / 1e6,
           lat->max_gap / 1000.0, lat->max_gap_changed / 1000.0);
  fclose (lat->fp);
}

gboolean
denoise_dialog (GimpProcedure *procedure, GimpProcedureConfig *config, GimpDrawable *drawable)
{
  GeglBuffer *src = gimp_drawable_get_buffer (drawable);
  Preview pv = { .drawable = drawable, .config = config };
  pv.worker = denoise_preview_new (src, preview_show, &pv);
  Latency lat;

  gimp_ui_init (PLUG_IN_BINARY);
  GtkWidget *dialog = gimp_procedure_dialog_new (procedure, config, _("Denoise"));
  /* Room for a preview that shows a few lines of a page, not one word. */
  gtk_window_set_default_size (GTK_WINDOW (dialog), 520, 600);
  GtkWidget *content = gtk_dialog_get_content_area (GTK_DIALOG (dialog));

  pv.preview = gimp_drawable_preview_new_from_drawable (drawable);
  gtk_box_pack_start (GTK_BOX (content), pv.preview, TRUE, TRUE, 0);
  gtk_widget_show (pv.preview);

  /* Model: a list of the installed models, with their descriptions. */
  GtkWidget *grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (grid), 6);
  GtkWidget *combo = model_combo_new (&pv);
  GtkWidget *label = gtk_label_new_with_mnemonic (_("_Model:"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), combo);
  gtk_widget_set_hexpand (combo, TRUE);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), combo, 1, 0, 1, 1);
  gtk_box_pack_start (GTK_BOX (content), grid, FALSE, FALSE, 0);
  gtk_widget_show_all (grid);

  GimpIntStore *invert = GIMP_INT_STORE (gimp_int_store_new (
    _("Auto (by the background)"), DAE_INVERT_AUTO,
    _("On (invert the picture around the model)"), DAE_INVERT_ON,
    _("Off"), DAE_INVERT_OFF, NULL));
  gimp_procedure_dialog_get_int_combo (GIMP_PROCEDURE_DIALOG (dialog), "invert", invert);
  GimpIntStore *color = GIMP_INT_STORE (gimp_int_store_new (
    _("Automatic (opponent for photos, luminance for pages)"), DAE_COLOR_AUTO,
    _("Luminance only"), DAE_COLOR_LUMA, _("Each of R, G, B"), DAE_COLOR_RGB,
    _("Opponent planes (luminance and chroma)"), DAE_COLOR_OPPONENT, NULL));
  gimp_procedure_dialog_get_int_combo (GIMP_PROCEDURE_DIALOG (dialog), "color", color);
  pv.stride = gimp_procedure_dialog_get_spin_scale (GIMP_PROCEDURE_DIALOG (dialog), "stride",
                                                    1.0);
  /* The switches: GimpProcedureDialog makes check buttons of them. */
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), "strength", "stride", "invert",
                              "color", "ink-guard", "despeckle", "impulse-filter", NULL);

  pv.message = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (pv.message), TRUE);
  gtk_label_set_xalign (GTK_LABEL (pv.message), 0.0);
  gtk_box_pack_end (GTK_BOX (content), pv.message, FALSE, FALSE, 0);
  gtk_widget_show (pv.message);

  g_signal_connect (pv.preview, "invalidated", G_CALLBACK (preview_invalidated), &pv);
  g_signal_connect_swapped (config, "notify", G_CALLBACK (gimp_preview_invalidate), pv.preview);

  const guint tick = latency_start (&lat, config);
  denoise_preview_set_log (pv.worker, lat.fp);
  const gboolean run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  denoise_preview_set_log (pv.worker, NULL);
  latency_end (&lat, tick, config);

  g_signal_handlers_disconnect_by_func (config, gimp_preview_invalidate, pv.preview);
  gtk_widget_destroy (dialog);
  denoise_preview_free (pv.worker);
  g_object_unref (src);
  return run;
}
