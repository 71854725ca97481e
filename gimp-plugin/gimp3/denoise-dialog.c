/* denoise-dialog.c (GIMP 3): the GIMP 3 dialog, built by GimpProcedureDialog from
 * the procedure's arguments, with a preview that never blocks it.
 *
 * The preview is computed by denoise_buffer_rect(), the function the final
 * run uses, in a worker thread on a private copy of the previewed area (a
 * GIMP drawable's buffer may only be read from the main thread).  A changed
 * setting starts a new preview; the running one sees it between two strips
 * and stops.  Only one worker runs at a time: the newest request waits for
 * it, older ones are dropped. */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"

typedef struct _Preview Preview;

typedef struct {
  Preview *pv;
  gint generation;           /* the request this job answers */
  GeglRectangle rect;        /* the previewed area, drawable coordinates */
  GeglBuffer *src;           /* private copy of rect and its halo */
  GeglBuffer *dst;           /* the denoised rect */
  gchar *model;
  DaeDenoiseOptions options;
  GError *error;             /* set by the worker */
  guint idle_id;             /* the worker's report to the main thread */
  gint64 started;            /* g_get_monotonic_time() when the worker started */
} PreviewJob;

struct _Preview {
  GimpDrawable *drawable;
  GimpProcedureConfig *config;
  GtkWidget *preview;
  GtkWidget *message;    /* why the preview could not be made */
  GtkWidget *stride;     /* its range follows the model's patch */
  GeglBuffer *src;       /* the drawable's buffer */
  gint generation;       /* atomic: the newest request */
  GThread *worker;       /* NULL when idle */
  PreviewJob *running;
  PreviewJob *pending;   /* the newest request while a worker runs */
  /* The worker's model, kept between jobs; touched by workers only, one at
   * a time, and after the last join. */
  DaeModelSet *models;
  gchar *model_name;
  guint patch;           /* the model's patch width, 0 before the first */
  guint shown_patch;     /* main thread's copy */
  FILE *log;             /* DAE_DENOISE_LATENCY_LOG, or NULL */
};

static void
job_free (PreviewJob *job)
{
  g_clear_object (&job->src);
  g_clear_object (&job->dst);
  g_free (job->model);
  g_clear_error (&job->error);
  g_free (job);
}

static gboolean
job_progress (double fraction, gpointer user_data)
{
  const PreviewJob *job = user_data;
  return g_atomic_int_get (&job->pv->generation) == job->generation;
}

static gboolean job_done (gpointer data);

static gpointer
job_run (gpointer data)
{
  PreviewJob *job = data;
  Preview *pv = job->pv;
  if (pv->models == NULL || g_strcmp0 (pv->model_name, job->model) != 0)
    {
      g_clear_pointer (&pv->models, dae_model_set_free);
      g_free (pv->model_name);
      pv->model_name = g_strdup (job->model);
      pv->models = denoise_load_models (job->model, &job->error);
      if (pv->models != NULL)
        pv->patch = denoise_models_patch (pv->models);
    }
  if (pv->models != NULL)
    denoise_buffer_rect (pv->models, &job->options, job->src, job->dst, &job->rect,
                         job_progress, job, &job->error);
  job->idle_id = g_idle_add (job_done, job);
  return NULL;
}

static void
job_start (Preview *pv, PreviewJob *job)
{
  pv->running = job;
  job->started = g_get_monotonic_time ();
  pv->worker = g_thread_new ("dae-preview", job_run, job);
}

/* The 8-bit layout the preview area draws, after the drawable's type. */
static const Babl *
preview_format (GimpDrawable *drawable)
{
  const gboolean alpha = gimp_drawable_has_alpha (drawable);
  if (gimp_drawable_is_gray (drawable))
    return babl_format (alpha ? "Y'A u8" : "Y' u8");
  return babl_format (alpha ? "R'G'B'A u8" : "R'G'B' u8");
}

static void
job_show (Preview *pv, PreviewJob *job)
{
  if (job->error == NULL)
    {
      const Babl *format = preview_format (pv->drawable);
      const gint bpp = babl_format_get_bytes_per_pixel (format);
      g_autofree guchar *buf = g_new (guchar, (gsize) job->rect.width * job->rect.height * bpp);
      gegl_buffer_get (job->dst, &job->rect, 1.0, format, buf, job->rect.width * bpp,
                       GEGL_ABYSS_NONE);
      gimp_preview_draw_buffer (GIMP_PREVIEW (pv->preview), buf, job->rect.width * bpp);
      gtk_label_set_text (GTK_LABEL (pv->message), "");
    }
  else
    {
      /* Show the original, and say why. */
      gimp_preview_draw (GIMP_PREVIEW (pv->preview));
      gtk_label_set_text (GTK_LABEL (pv->message), job->error->message);
    }
}

/* In the main thread, when a worker is done: show its result if no newer
 * request came meanwhile, and start the newest. */
static gboolean
job_done (gpointer data)
{
  PreviewJob *job = data;
  Preview *pv = job->pv;
  g_thread_join (pv->worker);
  pv->worker = NULL;
  pv->running = NULL;
  if (pv->patch != 0 && pv->patch != pv->shown_patch)
    {
      pv->shown_patch = pv->patch;
      gimp_spin_scale_set_scale_limits (GIMP_SPIN_SCALE (pv->stride), 0, pv->patch);
    }
  const gboolean current = job->generation == g_atomic_int_get (&pv->generation);
  if (pv->log != NULL)
    fprintf (pv->log, "preview %d (stride %u) %s after %.2f s\n", job->generation,
             job->options.stride, current ? "shown" : "dropped",
             (g_get_monotonic_time () - job->started) / 1e6);
  if (current)
    job_show (pv, job);
  job_free (job);
  if (pv->pending != NULL)
    {
      job_start (pv, pv->pending);
      pv->pending = NULL;
    }
  return G_SOURCE_REMOVE;
}

/* The preview moved or a setting changed: cancel what runs, queue a job. */
static void
preview_invalidated (GimpPreview *preview, Preview *pv)
{
  g_autoptr (GError) error = NULL;
  PreviewJob *job = g_new0 (PreviewJob, 1);
  job->pv = pv;
  job->generation = g_atomic_int_add (&pv->generation, 1) + 1;
  gimp_preview_get_position (preview, &job->rect.x, &job->rect.y);
  gimp_preview_get_size (preview, &job->rect.width, &job->rect.height);
  if (!denoise_config_to_options (pv->config, &job->model, &job->options, &error))
    {
      gtk_label_set_text (GTK_LABEL (pv->message), error->message);
      job_free (job);
      return;
    }
  /* The halo the denoiser reads around the area: the largest patch. */
  const gint halo = (gint) MAX (pv->shown_patch, 64);
  GeglRectangle region = { job->rect.x - halo, job->rect.y - halo,
                           job->rect.width + 2 * halo, job->rect.height + 2 * halo };
  gegl_rectangle_intersect (&region, &region, gegl_buffer_get_extent (pv->src));
  job->src = gegl_buffer_new (&region, denoise_buffer_format (pv->src));
  gegl_buffer_copy (pv->src, &region, GEGL_ABYSS_NONE, job->src, &region);
  /* Keep the drawable's extent: the denoiser mirrors at its borders. */
  gegl_buffer_set_extent (job->src, &region);
  job->dst = gegl_buffer_new (&job->rect, denoise_buffer_format (pv->src));

  if (pv->worker == NULL)
    job_start (pv, job);
  else
    {
      g_clear_pointer (&pv->pending, job_free);
      pv->pending = job;
    }
}

/* Waits for the worker (it stops at its next strip) and drops its report. */
static void
preview_stop (Preview *pv)
{
  g_atomic_int_inc (&pv->generation);
  g_clear_pointer (&pv->pending, job_free);
  if (pv->worker != NULL)
    {
      g_thread_join (pv->worker);
      g_source_remove (pv->running->idle_id);
      job_free (pv->running);
      pv->worker = NULL;
      pv->running = NULL;
    }
  g_clear_pointer (&pv->models, dae_model_set_free);
  g_clear_pointer (&pv->model_name, g_free);
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
  Preview pv = { .drawable = drawable, .config = config,
                 .src = gimp_drawable_get_buffer (drawable) };
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
  gimp_procedure_dialog_fill (GIMP_PROCEDURE_DIALOG (dialog), "strength", "stride", "invert",
                              "color", NULL);

  pv.message = gtk_label_new ("");
  gtk_label_set_line_wrap (GTK_LABEL (pv.message), TRUE);
  gtk_label_set_xalign (GTK_LABEL (pv.message), 0.0);
  gtk_box_pack_end (GTK_BOX (content), pv.message, FALSE, FALSE, 0);
  gtk_widget_show (pv.message);

  g_signal_connect (pv.preview, "invalidated", G_CALLBACK (preview_invalidated), &pv);
  g_signal_connect_swapped (config, "notify", G_CALLBACK (gimp_preview_invalidate), pv.preview);

  const guint tick = latency_start (&lat, config);
  pv.log = lat.fp;
  const gboolean run = gimp_procedure_dialog_run (GIMP_PROCEDURE_DIALOG (dialog));
  pv.log = NULL;
  latency_end (&lat, tick, config);

  g_signal_handlers_disconnect_by_func (config, gimp_preview_invalidate, pv.preview);
  gtk_widget_destroy (dialog);
  preview_stop (&pv);
  g_object_unref (pv.src);
  return run;
}
