/* dae-bench.c: speed of the convolution kernels, the whole network, a
 * page through the tiler and training, on this machine, now.
 *
 * Figures are tiles (or images) per second and GFLOP/s, with the FLOP of
 * a convolution counted as 2 x out_c x in_c x 9 x h x w per tile (padding
 * taps included, as frameworks count them; the fused upsample kernel does
 * fewer operations for the same result, which shows as a higher rate).
 * Each figure is the best of several timed runs of at least --seconds, so
 * that a neighbour's burst of load costs less; the machine's load average
 * and its measured FMA peak are printed alongside. */
#include "dae.h"
#include "dae-private.h"
#include "dispatch.h"
#include "plan.h"
#include "threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 8 /* tiles per work item in the kernel benchmarks */

static double opt_seconds = 0.4;
static int opt_reps = 3;
static int opt_batch = 256;
static int opt_threads = 0;
static char *opt_model = NULL;
static gboolean opt_network_only = FALSE;
static gboolean opt_no_layers = FALSE;
static gboolean opt_no_page = FALSE;
static gboolean opt_no_train = FALSE;
static gboolean opt_no_network = FALSE;
static gboolean opt_cpu_time = FALSE;
static gboolean opt_peak_only = FALSE;

static GOptionEntry entries[] = {
  { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model, "model file (default: the tutorial network)", "FILE" },
  { "batch", 'b', 0, G_OPTION_ARG_INT, &opt_batch, "tiles per batch (256)", "N" },
  { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads, "threads for the all-threads runs (0: all cores)", "N" },
  { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "least time per timed run (0.4)", "S" },
  { "reps", 'r', 0, G_OPTION_ARG_INT, &opt_reps, "timed runs per figure, best kept (3)", "N" },
  { "network-only", 0, 0, G_OPTION_ARG_NONE, &opt_network_only, "only the whole network with the kernels in use, path auto, one line per thread count (for bench/vs-pytorch.py)", NULL },
  { "no-layers", 0, 0, G_OPTION_ARG_NONE, &opt_no_layers, "skip the per-layer figures", NULL },
  { "no-page", 0, 0, G_OPTION_ARG_NONE, &opt_no_page, "skip the page latency", NULL },
  { "no-train", 0, 0, G_OPTION_ARG_NONE, &opt_no_train, "skip training", NULL },
  { "no-network", 0, 0, G_OPTION_ARG_NONE, &opt_no_network, "skip the whole-network figures", NULL },
  { "cpu-time", 0, 0, G_OPTION_ARG_NONE, &opt_cpu_time, "rates per CPU second given to the process x threads, not per wall second: what the code does on cores it has to itself, on a machine shared with other work", NULL },
  { "peak-only", 0, 0, G_OPTION_ARG_NONE, &opt_peak_only, "only the FMA peak line", NULL },
  { NULL }
};

static double
now (void)
{
  return g_get_monotonic_time () * 1e-6;
}

static double
cpu_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Threads of the run being timed: --cpu-time divides the CPU time by it. */
static guint timing_threads = 1;

static double
load_average (void)
{
  g_autofree char *s = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &s, NULL, NULL))
    return -1;
  return g_ascii_strtod (s, NULL);
}

static char *
cpu_name (void)
{
  g_autofree char *s = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &s, NULL, NULL))
    {
      char *p = strstr (s, "model name");
      if (p && (p = strchr (p, ':')))
        return g_strndup (p + 2, strcspn (p + 2, "\n"));
    }
  return g_strdup ("unknown CPU");
}

/* Runs fn(data) repeatedly for at least opt_seconds, opt_reps times; the
 * best rate of calls per second. */
static double
best_rate (void (*fn) (gpointer), gpointer data)
{
  fn (data); /* warm caches, scratch and pages */
  double best = 0;
  for (int r = 0; r < opt_reps; r++)
    {
      long calls = 0;
      double t0 = now (), c0 = cpu_now (), t;
      do
        {
          fn (data);
          calls++;
        }
      while ((t = now () - t0) < opt_seconds);
      if (opt_cpu_time)
        t = (cpu_now () - c0) / timing_threads;
      best = MAX (best, calls / t);
    }
  return best;
}

/* ---- FMA peak ------------------------------------------------------------ */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Twelve independent FMA chains: enough to hide the latency on two pipes.
 * One loop per vector width, each compiled for its ISA alone and run only
 * where the dispatch picked that ISA, so that "% of peak" compares the
 * kernels with code as wide as theirs. */
#define FMA_LOOP(name, isa_flags, vec, set1, fmadd)                             \
  __attribute__ ((target (isa_flags))) static double name (long iters)         \
  {                                                                             \
    vec a[12];                                                                  \
    for (int i = 0; i < 12; i++)                                                \
      a[i] = set1 (i * 1e-3f);                                                  \
    const vec b = set1 (0.9999f), c = set1 (1e-4f);                             \
    /* No asm barrier: it would keep a[] in memory.  The chains are not      \
     * folded away without -ffast-math. */                                      \
    for (long k = 0; k < iters; k++)                                            \
      _Pragma ("GCC unroll 12") for (int i = 0; i < 12; i++)                    \
        a[i] = fmadd (a[i], b, c);                                              \
    float s = 0;                                                                \
    for (int i = 0; i < 12; i++)                                                \
      s += a[i][0];                                                             \
    return s;                                                                   \
  }
FMA_LOOP (fma_loop_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps)
FMA_LOOP (fma_loop_avx512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps)
#endif

/* Many short items, not one per thread: a worker slow to wake would leave
 * its item to another and halve the figure. */
#define PEAK_ITERS 500000L
#define PEAK_ITEMS_PER_THREAD 32

static void
peak_item (size_t item, guint worker, gpointer data)
{
#if defined(__x86_64__) && defined(__GNUC__)
  const DaeIsa *isa = data;
  volatile double sink = *isa == DAE__ISA_AVX512 ? fma_loop_avx512 (PEAK_ITERS)
                                                 : fma_loop_avx2 (PEAK_ITERS);
  (void) sink;
#endif
}

/* GFLOP/s of FMA-only code on n threads, as wide as the kernels in use
 * (dae__kernels()); 0 if they are the scalar reference. */
static double
fma_peak (DaeThreadPool *pool)
{
#if defined(__x86_64__) && defined(__GNUC__)
  DaeIsa isa = dae__kernels ()->isa;
  if (isa == DAE__ISA_REF)
    return 0;
  const double lanes = isa == DAE__ISA_AVX512 ? 16 : 8;
  const guint n = dae__pool_get_n_workers (pool);
  double best = 0;
  for (int r = 0; r < opt_reps + 1; r++)
    {
      double t0 = now (), c0 = cpu_now ();
      dae__pool_run (pool, n * PEAK_ITEMS_PER_THREAD, peak_item, &isa);
      double t = opt_cpu_time ? (cpu_now () - c0) / n : now () - t0;
      best = MAX (best, n * PEAK_ITEMS_PER_THREAD * (double) PEAK_ITERS * 12 * lanes * 2 / t
                          * 1e-9);
    }
  return best;
#else
  return 0;
#endif
}

/* ---- one layer ------------------------------------------------------------ */

typedef enum { V_DIRECT, V_FUSED, V_UPCAT, V_WINOGRAD, V_WINOGRAD_POOL, V_GEMM } Variant;

typedef struct {
  DaeThreadPool *pool;
  DaeConv3x3Fn fn;
  DaeWinogradFn wfn;
  DaeUpConcatConvFn ufn;
  guint up_c; /* V_UPCAT: in holds the small up tiles, then the skip tiles */
  Variant variant;
  DaeConvArgs args; /* n = CHUNK */
  size_t in_floats, out_floats; /* per tile */
  const float *in;
  float *out;
  float **gemm_scratch; /* per worker */
  size_t n_tiles;
} LayerJob;

static void
layer_item (size_t item, guint worker, gpointer data)
{
  LayerJob *j = data;
  DaeConvArgs a = j->args;
  const size_t t0 = item * CHUNK;
  a.n = MIN (CHUNK, j->n_tiles - t0);
  const float *x = j->in + t0 * j->in_floats;
  float *y = j->out + t0 * j->out_floats;
  const size_t plane = (size_t) a.h * a.w;
  if (j->variant == V_UPCAT)
    j->ufn (&a, j->up_c, j->in + t0 * j->up_c * plane / 4,
            j->in + j->n_tiles * j->up_c * plane / 4 + t0 * (a.in_c - j->up_c) * plane, y);
  else if (j->variant == V_GEMM)
    dae_conv3x3_gemm (&a, x, y, j->gemm_scratch[worker]);
  else if (j->variant == V_WINOGRAD)
    j->wfn (&a, x, y, NULL);
  else if (j->variant == V_WINOGRAD_POOL)
    j->wfn (&a, x, NULL, y);
  else
    j->fn (&a, x, y);
}

static void
layer_run (gpointer data)
{
  LayerJob *j = data;
  dae__pool_run (j->pool, (j->n_tiles + CHUNK - 1) / CHUNK, layer_item, j);
}

static void
fill_random (float *x, size_t n, guint32 seed)
{
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, 0.0, 1.0);
}

static void
print_rate (const char *what, const char *variant, guint threads, double tiles_s,
            double flop_per_tile, double peak)
{
  const double gf = tiles_s * flop_per_tile * 1e-9;
  g_print ("  %-34s %-22s %2u thr %10.0f tiles/s %7.1f GFLOP/s", what, variant,
           threads, tiles_s, gf);
  if (peak > 0)
    g_print (" %5.1f%% of peak", 100 * gf / peak);
  g_print ("\n");
}

/* Sets j up for kernel variant v of table k (NULL: the im2col + BLAS path):
 * 0 direct, 1 fused with the following max-pool, the preceding upsample
 * (up: its arguments) or the preceding upsample and concat (up_c > 0: the
 * channels upsampled), 2 Winograd, 3 Winograd + max-pool or upsample and
 * concat.  Returns its name. */
static char *
layer_variant (LayerJob *j, const DaeKernels *k, int v, const DaeConvArgs *up,
               gboolean pool_next, guint up_c, DaeShape os, guint nt)
{
  const size_t pooled = (size_t) os.c * ((os.h + 1) / 2) * ((os.w + 1) / 2);
  if (k == NULL)
    {
      j->variant = V_GEMM;
      j->gemm_scratch = g_new (float *, nt);
      for (guint w = 0; w < nt; w++)
        j->gemm_scratch[w] = g_new (float, dae_conv3x3_gemm_scratch (&j->args));
      return g_strdup ("gemm (im2col+BLAS)");
    }
  if (v == 0)
    {
      j->variant = V_DIRECT;
      j->fn = k->conv3x3;
      return g_strdup_printf ("%s direct", k->name);
    }
  if (v == 3 && up_c > 0)
    {
      j->variant = V_UPCAT;
      j->ufn = k->upsample2_concat_conv3x3_winograd;
      j->up_c = up_c;
      return g_strdup_printf ("%s winograd fused", k->name);
    }
  if (v >= 2)
    {
      j->variant = v == 2 ? V_WINOGRAD : V_WINOGRAD_POOL;
      j->wfn = k->conv3x3_winograd;
      if (v == 3)
        j->out_floats = pooled;
      return g_strdup_printf ("%s winograd%s", k->name, v == 3 ? "+pool" : "");
    }
  j->variant = V_FUSED;
  if (up_c > 0)
    {
      j->variant = V_UPCAT;
      j->ufn = k->upsample2_concat_conv3x3;
      j->up_c = up_c;
    }
  else if (pool_next)
    {
      j->fn = k->conv3x3_maxpool2;
      j->out_floats = pooled;
    }
  else
    {
      j->fn = k->upsample2_conv3x3;
      j->args = *up;
      j->in_floats /= 4;
    }
  return g_strdup_printf ("%s fused", k->name);
}

static void
bench_layers (const DaeModel *m, DaeThreadPool **pools, const double *peaks)
{
  g_autofree DaeShape *shapes = g_new (DaeShape, m->n_layers);
  if (!dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, NULL))
    return;
  const size_t n = opt_batch;
  g_print ("\nPer layer (batch %zu tiles; fused: with the following max-pool, the "
           "preceding upsample or upsample and concat; GFLOP/s count the direct "
           "convolution's work):\n", n);
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      if (l->kind != DAE_LAYER_CONV3X3)
        continue;
      const DaeShape is = i == 0 ? (DaeShape){ m->in_c, m->patch_h, m->patch_w } : shapes[i - 1];
      const DaeShape os = shapes[i];
      const double flop = 2.0 * os.c * is.c * 9 * is.h * is.w;
      const gboolean pool_next = i + 1 < m->n_layers
                                 && m->layers[i + 1].kind == DAE_LAYER_MAXPOOL2;
      const gboolean up_prev = i > 0 && m->layers[i - 1].kind == DAE_LAYER_UPSAMPLE2;
      /* A U-Net's decoder step: upsample, concat (of a saved layer), conv3x3. */
      const guint up_c = i > 2 && m->layers[i - 1].kind == DAE_LAYER_CONCAT
                         && m->layers[i - 1].source >= 0
                         && m->layers[i - 2].kind == DAE_LAYER_UPSAMPLE2
                         ? shapes[i - 2].c : 0;
      g_autofree char *what = g_strdup_printf ("layer %u conv3x3 %u->%u %ux%u", i,
                                               is.c, os.c, is.h, is.w);
      DaeConvArgs a = { .n = CHUNK, .in_c = is.c, .out_c = os.c, .h = is.h, .w = is.w,
                        .weight = dae__layer_weight (m, l), .bias = dae__layer_bias (m, l),
                        .act = l->act };
      /* Fused variants see the pooled output or the small input. */
      DaeConvArgs up = a;
      up.h = is.h / 2;
      up.w = is.w / 2;
      const size_t in_f = (size_t) is.c * is.h * is.w, out_f = (size_t) os.c * os.h * os.w;
      g_autofree float *in = g_new (float, n * in_f);
      g_autofree float *out = g_new (float, n * out_f);
      fill_random (in, n * in_f, i);
      for (int isa = DAE__ISA_REF; isa < DAE__N_ISA + 1; isa++)
        {
          /* isa == DAE__N_ISA: the im2col + BLAS path. */
          const DaeKernels *k = isa < DAE__N_ISA ? dae__kernels_for (isa) : NULL;
          if (isa < DAE__N_ISA && k == NULL)
            continue;
          for (int v = 0; v < 4; v++)
            {
              if (isa == DAE__N_ISA && v > 0)
                break;
              if (v == 1 && (k->isa == DAE__ISA_REF || !(pool_next || up_prev || up_c)))
                continue;
              if (v == 3 && !(pool_next || (up_c && k->isa != DAE__ISA_REF)))
                continue;
              for (int p = 0; p < 2; p++)
                {
                  DaeThreadPool *pool = pools[p];
                  const guint nt = dae__pool_get_n_workers (pool);
                  if (p == 1 && nt == 1)
                    continue;
                  LayerJob j = { .pool = pool, .args = a, .in = in, .out = out,
                                 .in_floats = in_f, .out_floats = out_f, .n_tiles = n };
                  g_autofree char *vname = layer_variant (&j, k, v, &up, pool_next, up_c, os, nt);
                  timing_threads = nt;
                  const double rate = best_rate (layer_run, &j) * n;
                  print_rate (what, vname, nt, rate, flop, peaks[p]);
                  if (j.gemm_scratch)
                    {
                      for (guint w = 0; w < nt; w++)
                        g_free (j.gemm_scratch[w]);
                      g_free (j.gemm_scratch);
                    }
                }
            }
        }
    }
}

/* ---- backward of each convolution -------------------------------------- */

typedef struct {
  gboolean simd;    /* the kernel table's conv3x3_backward, else GEMM dW */
  DaeConvArgs args;
  const float *in, *dz;
  float *dw, *db, *din; /* din NULL for the first layer */
  float *scratch, *flipped, *zero;
} BackJob;

static void
back_run (gpointer data)
{
  BackJob *j = data;
  if (j->simd)
    {
      dae__kernels ()->conv3x3_backward (&j->args, j->in, j->dz, j->dw, j->db, j->din);
      return;
    }
  /* What core/train.c does: dW by GEMM, dx by the forward kernel. */
  dae_conv3x3_gemm_dweight (&j->args, j->in, j->dz, j->dw, j->db, j->scratch);
  if (j->din)
    {
      dae_conv3x3_flip_weights (&j->args, j->flipped);
      DaeConvArgs b = dae_conv3x3_dx_args (&j->args, j->flipped, j->zero);
      dae__kernels ()->conv3x3 (&b, j->dz, j->din);
    }
}

static void
bench_backward (const DaeModel *m)
{
  g_autofree DaeShape *shapes = g_new (DaeShape, m->n_layers);
  if (!dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, NULL)
      || dae__kernels ()->isa == DAE__ISA_REF)
    return;
  const size_t n = 64; /* a training shard */
  g_print ("\nBackward per conv layer (%zu tiles, 1 thread; dW, db and dx but for "
           "layer 0):\n", n);
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      if (l->kind != DAE_LAYER_CONV3X3)
        continue;
      const DaeShape is = i == 0 ? (DaeShape){ m->in_c, m->patch_h, m->patch_w } : shapes[i - 1];
      const DaeShape os = shapes[i];
      DaeConvArgs a = { .n = n, .in_c = is.c, .out_c = os.c, .h = is.h, .w = is.w,
                        .weight = dae__layer_weight (m, l), .bias = dae__layer_bias (m, l) };
      const size_t in_f = n * is.c * is.h * is.w, out_f = n * os.c * os.h * os.w;
      g_autofree float *in = g_new (float, in_f);
      g_autofree float *dz = g_new (float, out_f);
      g_autofree float *din = g_new (float, in_f);
      g_autofree float *dw = g_new (float, l->n_weight);
      g_autofree float *db = g_new (float, os.c);
      g_autofree float *scratch = g_new (float, dae_conv3x3_gemm_dweight_scratch (&a));
      g_autofree float *flipped = g_new (float, l->n_weight);
      g_autofree float *zero = g_new0 (float, is.c);
      fill_random (in, in_f, 21);
      fill_random (dz, out_f, 22);
      g_autofree char *what = g_strdup_printf ("layer %u conv3x3 %u->%u %ux%u", i, is.c,
                                               os.c, is.h, is.w);
      const double flop = 2.0 * os.c * is.c * 9 * is.h * is.w * (i == 0 ? 1 : 2);
      for (int simd = 0; simd < 2; simd++)
        {
          BackJob j = { simd, a, in, dz, dw, db, i == 0 ? NULL : din, scratch, flipped, zero };
          timing_threads = 1;
          const double rate = best_rate (back_run, &j) * n;
          print_rate (what, simd ? "simd backward" : "gemm dW + simd dx", 1, rate, flop, 0);
        }
    }
}

/* ---- the whole network ------------------------------------------------- */

typedef struct {
  DaeThreadPool *pool;
  DaeRunner **runners; /* per worker */
  const float *in;
  float *out;
  size_t tile_floats, n_tiles, per_item;
} NetJob;

static void
net_item (size_t item, guint worker, gpointer data)
{
  NetJob *j = data;
  const size_t t0 = item * j->per_item, k = MIN (j->per_item, j->n_tiles - t0);
  if (!dae_runner_forward (j->runners[worker], k, j->in + t0 * j->tile_floats,
                           j->out + t0 * j->tile_floats, NULL))
    g_error ("forward failed");
}

static void
net_run (gpointer data)
{
  NetJob *j = data;
  dae__pool_run (j->pool, (j->n_tiles + j->per_item - 1) / j->per_item, net_item, j);
}

static double
network_flop (const DaeModel *m)
{
  g_autofree DaeShape *shapes = g_new (DaeShape, m->n_layers);
  if (!dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, NULL))
    return 0;
  double f = 0;
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeShape is = i == 0 ? (DaeShape){ m->in_c, m->patch_h, m->patch_w } : shapes[i - 1];
      if (m->layers[i].kind == DAE_LAYER_CONV3X3)
        f += 2.0 * shapes[i].c * is.c * 9 * is.h * is.w;
    }
  return f;
}

static double
bench_network_one (const DaeModel *m, DaeThreadPool *pool, DaeConvPath path)
{
  const guint nt = dae__pool_get_n_workers (pool);
  const size_t n = opt_batch, tf = (size_t) m->in_c * m->patch_h * m->patch_w;
  g_autofree float *in = g_new (float, n * tf);
  g_autofree float *out = g_new (float, n * tf);
  fill_random (in, n * tf, 7);
  NetJob j = { .pool = pool, .in = in, .out = out, .tile_floats = tf, .n_tiles = n };
  /* Even shares, in items of a few tiles: every worker gets work, and a
   * worker's runner keeps its activations in its own L2. */
  j.per_item = MAX (1, MIN (16, n / (4 * nt)));
  j.runners = g_new (DaeRunner *, nt);
  for (guint w = 0; w < nt; w++)
    {
      j.runners[w] = dae_runner_new (m, m->patch_h, m->patch_w, NULL);
      dae_runner_set_conv_path (j.runners[w], path);
    }
  timing_threads = nt;
  const double rate = best_rate (net_run, &j) * n;
  for (guint w = 0; w < nt; w++)
    dae_runner_free (j.runners[w]);
  g_free (j.runners);
  return rate;
}

static void
bench_network (const DaeModel *m, DaeThreadPool **pools, const double *peaks)
{
  const double flop = network_flop (m);
  const DaeIsa chosen = dae__kernels ()->isa;
  if (!opt_network_only)
    g_print ("\nWhole network (batch %d tiles, %.2f MFLOP/tile):\n", opt_batch, flop * 1e-6);
  static const char *const path_names[] = { "auto", "direct", "gemm", "winograd" };
  for (int isa = DAE__ISA_REF; isa < DAE__N_ISA; isa++)
    {
      /* --network-only: the kernels this process would use, path auto. */
      if (opt_network_only && isa != chosen)
        continue;
      if (!dae__kernels_override (isa))
        continue;
      for (int path = DAE_CONV_AUTO; path <= DAE_CONV_WINOGRAD; path++)
        {
          /* The scalar direct path is slow and not what anyone runs. */
          if (isa == DAE__ISA_REF && path == DAE_CONV_DIRECT)
            continue;
          if (isa != DAE__ISA_REF && path == DAE_CONV_GEMM)
            continue;
          if (opt_network_only && path != DAE_CONV_AUTO)
            continue;
          double r1 = 0;
          for (int p = 0; p < 2; p++)
            {
              const guint nt = dae__pool_get_n_workers (pools[p]);
              if (p == 1 && nt == 1)
                continue;
              const double rate = bench_network_one (m, pools[p], path);
              if (p == 0)
                r1 = rate;
              if (opt_network_only)
                g_print ("network isa=%s path=%s threads=%u batch=%d tiles_per_s=%.1f "
                         "gflops=%.2f\n", dae__kernels ()->name, path_names[path], nt,
                         opt_batch, rate, rate * flop * 1e-9);
              else
                {
                  g_autofree char *v = g_strdup_printf ("%s %s", dae__kernels ()->name,
                                                        path_names[path]);
                  print_rate ("network", v, nt, rate, flop, peaks[p]);
                  if (p == 1)
                    g_print ("  %-34s %-22s        scaling 1->%u threads: %.2fx\n", "",
                             v, nt, rate / r1);
                }
            }
        }
      if (!opt_network_only)
        {
          g_autoptr (DaeRunner) r = dae_runner_new (m, m->patch_h, m->patch_w, NULL);
          g_autofree char *plan = dae__runner_describe_convs (r);
          g_print ("  %-34s %s auto's plan: %s\n", "", dae__kernels ()->name, plan);
        }
    }
  dae__kernels_override (chosen);
  if (!opt_network_only)
    {
      g_autofree char *report = dae__plan_report ();
      g_print ("\nAUTO's measurements (each conv3x3 with the layers it fuses; least CPU "
               "time a call, 1 thread):\n%s", report);
    }
}

/* ---- a page through the tiler ------------------------------------------ */

static void
bench_page (const DaeModel *m, guint threads)
{
  const guint w = 2480, h = 3508;
  g_autofree float *in = g_new (float, (size_t) w * h);
  g_autofree float *out = g_new (float, (size_t) w * h);
  /* A light page with dark strokes and noise, like a scan. */
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      const guint x = i % w, y = i / w;
      float v = (y / 40 % 2 == 0 && x % 37 < 3) ? 0.1f : 0.95f;
      v += (float) g_rand_double_range (rng, -0.2, 0.2);
      in[i] = CLAMP (v, 0.0f, 1.0f);
    }
  DaeDenoiseOptions o;
  dae_denoise_options_init (&o);
  o.stride = 14;
  o.threads = threads;
  g_print ("\nPage %ux%u gray, stride %u, %u threads (dae_denoise_image):\n", w, h,
           o.stride, threads);
  double best = G_MAXDOUBLE;
  for (int r = 0; r < MAX (1, opt_reps - 1); r++)
    {
      g_autoptr (GError) error = NULL;
      double t0 = now (), c0 = cpu_now ();
      if (!dae_denoise_image (m, &o, w, h, 1, FALSE, in, out, &error))
        {
          g_print ("  failed: %s\n", error->message);
          return;
        }
      const double wall = now () - t0, cpu = cpu_now () - c0;
      g_print ("  run %d: %.3f s wall, %.3f s CPU (%.3f s if each thread had a core)\n",
               r + 1, wall, cpu, cpu / threads);
      best = MIN (best, opt_cpu_time ? cpu / threads : wall);
    }
  const double tiles = ceil ((w - m->patch_w) / 14.0 + 1) * ceil ((h - m->patch_h) / 14.0 + 1);
  g_print ("  %.3f s (best of %d%s), about %.0f tiles/s\n", best, MAX (1, opt_reps - 1),
           opt_cpu_time ? ", CPU time / threads" : ", wall", tiles / best);
}

/* ---- training ---------------------------------------------------------- */

typedef struct {
  DaeTrainer *t;
  const float *in, *target;
  size_t n;
} TrainJob;

static void
train_run (gpointer data)
{
  TrainJob *j = data;
  double loss;
  if (!dae_trainer_step (j->t, j->n, j->in, j->target, &loss, NULL))
    g_error ("training step failed");
}

static void
bench_train (const DaeModel *m0, guint threads)
{
  g_autoptr (DaeModel) m = dae_model_copy (m0);
  DaeTrainOptions o;
  dae_train_options_init (&o);
  o.threads = threads;
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeTrainer) t = dae_trainer_new (m, &o, &error);
  if (t == NULL)
    {
      g_print ("\nTraining: skipped (%s)\n", error->message);
      return;
    }
  const size_t n = o.batch_size, tf = (size_t) m->in_c * m->patch_h * m->patch_w;
  g_autofree float *in = g_new (float, n * tf);
  g_autofree float *target = g_new (float, n * tf);
  fill_random (in, n * tf, 11);
  fill_random (target, n * tf, 12);
  TrainJob j = { t, in, target, n };
  const double rate = best_rate (train_run, &j) * n;
  g_print ("\nTraining (forward + backward + Adam, batch %zu, %u threads):\n"
           "  %.0f images/s\n", n, dae_trainer_get_n_threads (t), rate);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- dae speed on this machine");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("dae-bench: %s\n", error->message);
      return 2;
    }
  if (opt_batch < 1 || opt_threads < 0 || opt_seconds <= 0 || opt_reps < 1)
    {
      g_printerr ("dae-bench: --batch, --reps and --seconds must be positive\n");
      return 2;
    }
  if (opt_peak_only)
    opt_no_layers = opt_no_network = opt_no_page = opt_no_train = TRUE;
  const char *path = opt_model ? opt_model : DAE_BENCH_DEFAULT_MODEL;
  g_autoptr (DaeModel) m = dae_model_load_file (path, &error);
  if (m == NULL)
    {
      g_printerr ("dae-bench: %s: %s\n", path, error->message);
      return 1;
    }
  const guint all = opt_threads ? (guint) opt_threads : dae__n_cpus ();
  DaeThreadPool *pools[2] = { dae__pool_new (1), dae__pool_new (all) };
  double peaks[2] = { 0, 0 };
  if (!opt_network_only)
    {
      g_autofree char *cpu = cpu_name ();
      peaks[0] = fma_peak (pools[0]);
      peaks[1] = fma_peak (pools[1]);
      g_print ("dae-bench %s: %s, %u CPUs, load average %.2f\n", dae_version (), cpu,
               dae__n_cpus (), load_average ());
      g_print ("kernels: %s%s%s\n", dae_kernels_describe (),
               dae_kernels_get_note () ? "; " : "",
               dae_kernels_get_note () ? dae_kernels_get_note () : "");
      if (peaks[0] > 0)
        g_print ("FMA peak measured now with %s code: %.1f GFLOP/s on 1 thread, %.1f on %u\n",
                 dae__kernels ()->name, peaks[0], peaks[1], all);
      else
        g_print ("FMA peak measured now with %s code: none (scalar kernels)\n",
                 dae__kernels ()->name);
      g_print ("model: %s\n", path);
      if (opt_cpu_time)
        g_print ("rates per CPU second (--cpu-time), not per wall second\n");
      if (!opt_no_layers)
        {
          bench_layers (m, pools, peaks);
          bench_backward (m);
        }
    }
  if (!opt_no_network || opt_network_only)
    bench_network (m, pools, peaks);
  if (!opt_network_only)
    {
      if (!opt_no_page)
        bench_page (m, all);
      if (!opt_no_train)
        bench_train (m, all);
      g_print ("\nload average at the end: %.2f\n", load_average ());
    }
  dae__pool_free (pools[0]);
  dae__pool_free (pools[1]);
  g_free (opt_model);
  return 0;
}
