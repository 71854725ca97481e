/* denoise-preview.c: see denoise-preview.h. */
#include "denoise-preview.h"

typedef struct {
  DenoisePreview *pv;
  gint generation;           /* the request this job answers */
  GeglRectangle rect;        /* the previewed area */
  GeglBuffer *src;           /* private copy of rect and its halo */
  GeglBuffer *dst;           /* the denoised rect */
  gchar *model;
  DaeDenoiseOptions options;
  GError *error;             /* set by the worker */
  guint idle_id;             /* the worker's report to the main thread */
  gint64 started;            /* when the worker started */
} PreviewJob;

struct _DenoisePreview {
  GeglBuffer *src;
  DenoisePreviewShow show;
  gpointer user_data;
  FILE *log;
  gint generation;       /* atomic: the newest request */
  GThread *worker;       /* NULL when idle */
  PreviewJob *running;
  PreviewJob *pending;   /* the newest request while a worker runs */
  /* The worker's models, kept between jobs; touched by one worker at a time
   * and, after the last join, by denoise_preview_free(). */
  DaeModelSet *models;
  gchar *model_name;
  guint patch;           /* written by the worker, read after its join */
  guint shown_patch;     /* the main thread's copy */
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
  DenoisePreview *pv = job->pv;
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
job_start (DenoisePreview *pv, PreviewJob *job)
{
  pv->running = job;
  job->started = g_get_monotonic_time ();
  pv->worker = g_thread_new ("dae-preview", job_run, job);
}

/* In the main thread, when a worker is done: show its result if no newer
 * request came meanwhile, and start the newest. */
static gboolean
job_done (gpointer data)
{
  PreviewJob *job = data;
  DenoisePreview *pv = job->pv;
  g_thread_join (pv->worker);
  pv->worker = NULL;
  pv->running = NULL;
  pv->shown_patch = pv->patch;
  const gboolean current = job->generation == g_atomic_int_get (&pv->generation);
  if (pv->log != NULL)
    fprintf (pv->log, "preview %d (stride %u) %s after %.2f s\n", job->generation,
             job->options.stride, current ? "shown" : "dropped",
             (g_get_monotonic_time () - job->started) / 1e6);
  if (current)
    pv->show (job->dst, &job->rect, job->error, pv->shown_patch, pv->user_data);
  job_free (job);
  if (pv->pending != NULL)
    {
      job_start (pv, pv->pending);
      pv->pending = NULL;
    }
  return G_SOURCE_REMOVE;
}

DenoisePreview *
denoise_preview_new (GeglBuffer *src, DenoisePreviewShow show, gpointer user_data)
{
  DenoisePreview *pv = g_new0 (DenoisePreview, 1);
  pv->src = g_object_ref (src);
  pv->show = show;
  pv->user_data = user_data;
  return pv;
}

void
denoise_preview_set_log (DenoisePreview *pv, FILE *log)
{
  pv->log = log;
}

void
denoise_preview_request (DenoisePreview *pv, const GeglRectangle *rect, const char *model,
                         const DaeDenoiseOptions *options)
{
  PreviewJob *job = g_new0 (PreviewJob, 1);
  job->pv = pv;
  job->generation = g_atomic_int_add (&pv->generation, 1) + 1;
  job->rect = *rect;
  job->model = g_strdup (model);
  job->options = *options;
  /* The halo the denoiser reads around the area: at least the largest
   * shipped patch until the model's own is known. */
  const gint halo = (gint) MAX (pv->shown_patch, 64);
  GeglRectangle region = { rect->x - halo, rect->y - halo, rect->width + 2 * halo,
                           rect->height + 2 * halo };
  gegl_rectangle_intersect (&region, &region, gegl_buffer_get_extent (pv->src));
  job->src = gegl_buffer_new (&region, denoise_buffer_format (pv->src));
  gegl_buffer_copy (pv->src, &region, GEGL_ABYSS_NONE, job->src, &region);
  job->dst = gegl_buffer_new (rect, denoise_buffer_format (pv->src));

  if (pv->worker == NULL)
    job_start (pv, job);
  else
    {
      g_clear_pointer (&pv->pending, job_free);
      pv->pending = job;
    }
}

void
denoise_preview_free (DenoisePreview *pv)
{
  if (pv == NULL)
    return;
  g_atomic_int_inc (&pv->generation);
  g_clear_pointer (&pv->pending, job_free);
  if (pv->worker != NULL)
    {
      g_thread_join (pv->worker);
      g_source_remove (pv->running->idle_id);
      job_free (pv->running);
    }
  dae_model_set_free (pv->models);
  g_free (pv->model_name);
  g_object_unref (pv->src);
  g_free (pv);
}
