/* threads.h: a fixed pool of workers that run a function over items.
 * Each item is done by exactly one worker; callers keep per-worker scratch
 * indexed by the worker number, so the hot loop needs no lock or malloc.
 * What a given item computes must not depend on the worker that runs it:
 * that is what makes results independent of the thread count. */
#ifndef DAE_THREADS_H
#define DAE_THREADS_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DaeThreadPool DaeThreadPool;
typedef void (*DaePoolFunc) (size_t item, guint worker, gpointer user_data);

/* n_threads 0 means one per online CPU.  Creating a pool also pins BLAS to
 * one thread per caller, so our threads and BLAS's never oversubscribe. */
DaeThreadPool *dae__pool_new (guint n_threads);
guint dae__pool_get_n_workers (const DaeThreadPool *pool);
/* Runs func for every item in [0, n_items) and returns when all are done;
 * the calling thread works too (as worker 0). */
void dae__pool_run (DaeThreadPool *pool, size_t n_items, DaePoolFunc func,
                    gpointer user_data);
void dae__pool_free (DaeThreadPool *pool);

/* BLAS's own threads round results differently with their count, and
 * would fight ours for the cores: dae runs BLAS on one thread per caller. */
void dae__blas_pin_single_thread (void);

/* Number of online CPUs (at least 1). */
guint dae__n_cpus (void);

G_END_DECLS

#endif
