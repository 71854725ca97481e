/* threads.c: DaeThreadPool. */
#include "threads.h"
#include "dae-config.h"

#include <unistd.h>
#if DAE_HAVE_OPENBLAS
/* Declared here too: another CBLAS's cblas.h may come first on the path. */
void openblas_set_num_threads (int n);
#endif

struct _DaeThreadPool {
  guint n_workers;      /* including the caller */
  GThread **threads;    /* n_workers - 1 */
  GMutex lock;
  GCond start, done;
  guint64 generation;   /* bumped for each run */
  guint running;        /* helpers still inside the current run */
  gboolean quit;
  /* The current run. */
  size_t n_items;
  gint next;            /* atomic: the next item to take */
  DaePoolFunc func;
  gpointer user_data;
};

typedef struct {
  DaeThreadPool *pool;
  guint worker;
} WorkerArg;

guint
dae__n_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (guint) n;
}

static void
work (DaeThreadPool *p, guint worker)
{
  for (;;)
    {
      size_t item = (size_t) g_atomic_int_add (&p->next, 1);
      if (item >= p->n_items)
        break;
      p->func (item, worker, p->user_data);
    }
}

static gpointer
worker_main (gpointer data)
{
  WorkerArg *arg = data;
  DaeThreadPool *p = arg->pool;
  guint64 seen = 0;
  for (;;)
    {
      g_mutex_lock (&p->lock);
      while (!p->quit && p->generation == seen)
        g_cond_wait (&p->start, &p->lock);
      if (p->quit)
        {
          g_mutex_unlock (&p->lock);
          break;
        }
      seen = p->generation;
      g_mutex_unlock (&p->lock);

      work (p, arg->worker);

      g_mutex_lock (&p->lock);
      if (--p->running == 0)
        g_cond_signal (&p->done);
      g_mutex_unlock (&p->lock);
    }
  g_free (arg);
  return NULL;
}

/* Our threads call sgemm, one each: OpenBLAS's own threads would only
 * contend with them.  Other CBLAS libraries are left as they are. */
void
dae__blas_pin_single_thread (void)
{
#if DAE_HAVE_OPENBLAS
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      openblas_set_num_threads (1);
      g_once_init_leave (&once, 1);
    }
#endif
}

DaeThreadPool *
dae__pool_new (guint n_threads)
{
  dae__blas_pin_single_thread ();
  DaeThreadPool *p = g_new0 (DaeThreadPool, 1);
  p->n_workers = n_threads == 0 ? dae__n_cpus () : MIN (n_threads, 256u);
  g_mutex_init (&p->lock);
  g_cond_init (&p->start);
  g_cond_init (&p->done);
  p->threads = g_new0 (GThread *, p->n_workers);
  for (guint i = 1; i < p->n_workers; i++)
    {
      WorkerArg *arg = g_new (WorkerArg, 1);
      *arg = (WorkerArg){ p, i };
      p->threads[i - 1] = g_thread_new ("dae-worker", worker_main, arg);
    }
  return p;
}

guint
dae__pool_get_n_workers (const DaeThreadPool *p)
{
  return p->n_workers;
}

void
dae__pool_run (DaeThreadPool *p, size_t n_items, DaePoolFunc func,
               gpointer user_data)
{
  g_return_if_fail (n_items <= G_MAXINT);
  if (n_items == 0)
    return;
  if (p->n_workers == 1 || n_items == 1)
    {
      for (size_t i = 0; i < n_items; i++)
        func (i, 0, user_data);
      return;
    }
  g_mutex_lock (&p->lock);
  p->n_items = n_items;
  p->func = func;
  p->user_data = user_data;
  g_atomic_int_set (&p->next, 0);
  p->running = p->n_workers - 1;
  p->generation++;
  g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);

  work (p, 0);

  g_mutex_lock (&p->lock);
  while (p->running > 0)
    g_cond_wait (&p->done, &p->lock);
  g_mutex_unlock (&p->lock);
}

void
dae__pool_free (DaeThreadPool *p)
{
  if (p == NULL)
    return;
  g_mutex_lock (&p->lock);
  p->quit = TRUE;
  g_cond_broadcast (&p->start);
  g_mutex_unlock (&p->lock);
  for (guint i = 1; i < p->n_workers; i++)
    g_thread_join (p->threads[i - 1]);
  g_free (p->threads);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->start);
  g_cond_clear (&p->done);
  g_free (p);
}
