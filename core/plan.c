/* plan.c: making execution plans (plan.h).
 *
 * A forced path (DaeConvPath, or the environment's DAE_CONV=direct|winograd|gemm
 * in place of AUTO) is a rule.  AUTO times the candidates of each conv3x3
 * layer (direct, Winograd, im2col + sgemm where BLAS is there) on the
 * runner's own chunk of tiles, with the layers a candidate would fuse, and
 * keeps the fastest: what is fastest differs from CPU to CPU, so no shape
 * rule serves them all.  The paths agree to about 1e-5 but round
 * differently, so a choice is made once a machine: kept for the process by
 * the layers' shapes (every runner, whatever its thread, computes the same
 * bits) and in a cache file, one line "ISA [CPU model] layers -> path" a
 * choice, read before measuring, so that the next run computes the same
 * bits too.  DAE_CONV_CACHE=file moves it, =off keeps choices to the
 * process; a file that cannot be written does the same (-v says so).
 *
 * A trainer never measures: its forward pass must be the function its
 * backward kernels differentiate (the direct convolution's sums, not
 * Winograd's), and a run must train the same model from the same seed
 * every time.  Its AUTO is the direct kernels, or sgemm on the scalar
 * build. */
#include "plan.h"
#include "dae-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The measurement's budget for one layer: every candidate runs once
 * untimed, then in alternation until each has MIN_ROUNDS timings and
 * either MAX_ROUNDS or the budget is spent; the least CPU time wins. */
#define MIN_ROUNDS 2
#define MAX_ROUNDS 5
#define BUDGET_NS 3000000.0
/* A candidate replaces the rule's choice only if this much faster, so that
 * near-ties do not flip from run to run. */
#define MARGIN 0.95

gboolean
dae__model_read_by_skip (const DaeModel *m, guint i)
{
  for (guint j = 0; j < m->n_layers; j++)
    if ((m->layers[j].kind == DAE_LAYER_ADD || m->layers[j].kind == DAE_LAYER_CONCAT)
        && m->layers[j].source == (int) i)
      return TRUE;
  return FALSE;
}

/* DAE_CONV, read once: AUTO if unset. */
static DaeConvPath env_path = DAE_CONV_AUTO;
static char *env_note;

static gpointer
read_env (gpointer unused)
{
  static const char *const names[] = { "auto", "direct", "gemm", "winograd" };
  const char *want = g_getenv ("DAE_CONV");
  if (want == NULL || *want == '\0')
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (want, names[i]) == 0)
      {
        env_path = (DaeConvPath) i;
        return NULL;
      }
  env_note = g_strdup_printf ("DAE_CONV=%s is not one of auto, direct, gemm, winograd", want);
  return NULL;
}

static DaeConvPath
effective_path (DaeConvPath path, const char **note)
{
  static GOnce once = G_ONCE_INIT;
  g_once (&once, read_env, NULL);
  *note = env_note;
  return path == DAE_CONV_AUTO ? env_path : path;
}

/* The rule: a forced path, or AUTO's choice before (or without) measuring,
 * which is the trainer's AUTO. */
static DaeConvImpl
rule (const DaePlan *p, guint in_c, guint out_c)
{
  switch (p->path)
    {
    case DAE_CONV_GEMM:
      return DAE__IMPL_GEMM;
    case DAE_CONV_WINOGRAD:
      return in_c >= 16 && out_c >= 16 ? DAE__IMPL_WINOGRAD : DAE__IMPL_DIRECT;
    case DAE_CONV_DIRECT:
      return DAE__IMPL_DIRECT;
    case DAE_CONV_AUTO:
    default:
      /* Skinny GEMMs (one channel in or out) run badly in BLAS. */
      return p->k->isa == DAE__ISA_REF && DAE_HAVE_BLAS && in_c >= 8 && out_c >= 8
             ? DAE__IMPL_GEMM : DAE__IMPL_DIRECT;
    }
}

static DaePlan *
plan_alloc (const DaeModel *m, DaeShape input, const DaeShape *shapes, size_t n,
            DaeConvPath path)
{
  DaePlan *p = g_new0 (DaePlan, 1);
  const guint L = m->n_layers;
  p->model = m;
  p->input = input;
  p->shapes = shapes;
  p->n = n;
  p->k = dae__kernels ();
  p->path = effective_path (path, &p->env_note);
  p->from_env = path == DAE_CONV_AUTO && p->path != DAE_CONV_AUTO;
  p->conv = g_new0 (DaeConvImpl, L);
  p->dx = g_new0 (DaeConvImpl, L);
  p->backward = g_new0 (DaeBackwardImpl, L);
  p->steps = g_new0 (DaePlanStep, L);
  for (guint i = 0; i < L; i++)
    if (m->layers[i].kind == DAE_LAYER_CONV3X3)
      p->conv[i] = rule (p, dae__plan_in_shape (p, i).c, shapes[i].c);
  return p;
}

void
dae__plan_free (DaePlan *p)
{
  if (p == NULL)
    return;
  g_free (p->conv);
  g_free (p->dx);
  g_free (p->backward);
  g_free (p->steps);
  g_free (p->cache_note);
  g_free (p);
}

/* The step that starts at layer i (i <= last). */
static DaePlanStep
step_at (const DaePlan *p, guint i, guint last)
{
  const DaeModel *m = p->model;
  const DaePlanStep alone = { DAE__STEP_ALONE, i, 1, FALSE };
  /* The scalar fused kernels are the specification, not faster. */
  if (p->k->isa == DAE__ISA_REF || i + 1 > last)
    return alone;
  const DaeLayer *l = &m->layers[i], *next = &m->layers[i + 1];
  if (l->kind == DAE_LAYER_CONV3X3 && next->kind == DAE_LAYER_MAXPOOL2
      && p->conv[i] == DAE__IMPL_WINOGRAD)
    return (DaePlanStep){ DAE__STEP_WINOGRAD_POOL, i, 2, dae__model_read_by_skip (m, i) };
  /* The other fused kernels never write the outputs they skip. */
  if (dae__model_read_by_skip (m, i))
    return alone;
  /* (A concat of the network's input is left alone: it never meets an
   * upsampled tensor's shape in a real network.) */
  if (l->kind == DAE_LAYER_UPSAMPLE2 && next->kind == DAE_LAYER_CONCAT && next->source >= 0
      && i + 2 <= last && !dae__model_read_by_skip (m, i + 1))
    {
      if (p->conv[i + 2] == DAE__IMPL_DIRECT)
        return (DaePlanStep){ DAE__STEP_UP_CAT_CONV, i, 3, FALSE };
      if (p->conv[i + 2] == DAE__IMPL_WINOGRAD)
        return (DaePlanStep){ DAE__STEP_UP_CAT_WINOGRAD, i, 3, FALSE };
    }
  if (l->kind == DAE_LAYER_CONV3X3 && next->kind == DAE_LAYER_MAXPOOL2
      && p->conv[i] == DAE__IMPL_DIRECT)
    return (DaePlanStep){ DAE__STEP_CONV_POOL, i, 2, FALSE };
  if (l->kind == DAE_LAYER_UPSAMPLE2 && next->kind == DAE_LAYER_CONV3X3
      && p->conv[i + 1] == DAE__IMPL_DIRECT)
    return (DaePlanStep){ DAE__STEP_UP_CONV, i, 2, FALSE };
  return alone;
}

static void
make_steps (DaePlan *p)
{
  const guint L = p->model->n_layers;
  p->n_steps = 0;
  for (guint i = 0; i < L; i += p->steps[p->n_steps++].n_layers)
    p->steps[p->n_steps] = step_at (p, i, L - 1);
}

static size_t
gemm_scratch (const DaePlan *p)
{
  size_t s = 0;
  for (guint i = 0; i < p->model->n_layers; i++)
    if (p->conv[i] == DAE__IMPL_GEMM)
      {
        const DaeShape in = dae__plan_in_shape (p, i);
        DaeConvArgs a = { .n = p->n, .in_c = in.c, .out_c = p->shapes[i].c,
                          .h = in.h, .w = in.w };
        s = MAX (s, dae_conv3x3_gemm_scratch (&a));
      }
  return s;
}

/* ---- measuring ----------------------------------------------------------- */

/* The index of the step holding layer i. */
static guint
step_of (const DaePlan *p, guint i)
{
  guint s = 0;
  while (p->steps[s].first + p->steps[s].n_layers <= i)
    s++;
  return s;
}

/* Widens [*lo, *hi] to whole steps of p; TRUE if it grew. */
static gboolean
widen (const DaePlan *p, guint *lo, guint *hi)
{
  const DaePlanStep *a = &p->steps[step_of (p, *lo)], *b = &p->steps[step_of (p, *hi)];
  const guint nlo = MIN (*lo, a->first), nhi = MAX (*hi, b->first + b->n_layers - 1);
  const gboolean grew = nlo != *lo || nhi != *hi;
  *lo = nlo;
  *hi = nhi;
  return grew;
}

/* The cache key of layer c's choice: the kernels, the tiles a call and
 * the layers [lo, hi] the candidates run (kinds, shapes, activations and
 * how skips meet them). */
static char *
cache_key (const DaePlan *p, guint c, guint lo, guint hi, const char *cpu)
{
  const DaeModel *m = p->model;
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%s [%s] %zu tiles:", p->k->name, cpu, p->n);
  for (guint i = lo; i <= hi; i++)
    {
      const DaeLayer *l = &m->layers[i];
      const DaeShape in = dae__plan_in_shape (p, i), out = p->shapes[i];
      g_string_append_printf (s, "%s %s%s %ux%ux%u->%u act %d", i > lo ? "," : "",
                              i == c ? "*" : "", dae__layer_kind_name (l->kind), in.c, in.h,
                              in.w, out.c, l->act);
      if (l->source >= (int) lo)
        g_string_append_printf (s, " +%d", l->source - (int) lo);
      else if (l->source >= 0 || l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
        g_string_append (s, " +outside");
      if (dae__model_read_by_skip (m, i))
        g_string_append (s, " (skip reads it)");
    }
  return g_string_free (s, FALSE);
}

/* A measured choice, kept for the process (and dae__plan_report). */
typedef struct {
  DaeConvImpl impl[3]; /* the candidates, the rule's first */
  double ms[3];        /* their least CPU time (none if from_file) */
  guint n_cand, win;
  size_t n;
  gboolean from_file;  /* read from the cache file, not measured here */
  gboolean used;       /* in cache_order */
} Choice;

static GMutex cache_lock;
static GHashTable *cache; /* key -> Choice */
static GPtrArray *cache_order; /* keys, in the order used */

/* ---- the cache file ------------------------------------------------------ */

static const char *const impl_names[] = { "-", "direct", "winograd", "gemm" };
static char *cache_file; /* NULL: DAE_CONV_CACHE=off */
static char *cache_error; /* why the last write failed, or NULL */
static char *cpu_model;

/* /proc/cpuinfo's "model name", or "unknown" (then the ISA alone tells
 * machines apart). */
static char *
read_cpu_model (void)
{
  g_autofree char *info = NULL;
  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (info, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "model name") && strchr (lines[i], ':') != NULL)
          {
            char *name = g_strstrip (g_strdup (strchr (lines[i], ':') + 1));
            g_strdelimit (name, "[]", ' ');
            if (*name != '\0')
              return name;
            g_free (name);
          }
    }
  return g_strdup ("unknown");
}

/* Adds the file's choices that the process does not know yet; a line that
 * is not "key -> path" with a path this build runs is left out. */
static void
cache_load (void)
{
  g_autofree char *text = NULL;
  if (cache_file == NULL || !g_file_get_contents (cache_file, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *arrow = g_strrstr (lines[i], " -> ");
      if (arrow == NULL || strstr (lines[i], " tiles:") == NULL)
        continue;
      DaeConvImpl impl = DAE__IMPL_NONE;
      for (guint k = DAE__IMPL_DIRECT; k <= DAE__IMPL_GEMM; k++)
        if (strcmp (arrow + 4, impl_names[k]) == 0)
          impl = k;
      if (impl == DAE__IMPL_NONE || (impl == DAE__IMPL_GEMM && !DAE_HAVE_BLAS))
        continue;
      char *key = g_strndup (lines[i], arrow - lines[i]);
      if (g_hash_table_contains (cache, key))
        {
          g_free (key);
          continue;
        }
      Choice *ch = g_new0 (Choice, 1);
      *ch = (Choice){ .impl = { impl }, .n_cand = 1, .from_file = TRUE };
      g_hash_table_insert (cache, key, ch);
    }
}

/* Under cache_lock: the table, the file's path and choices, once. */
static void
cache_init (void)
{
  if (cache != NULL)
    return;
  cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cache_order = g_ptr_array_new ();
  cpu_model = read_cpu_model ();
  const char *env = g_getenv ("DAE_CONV_CACHE");
  if (env == NULL || *env == '\0')
    cache_file = g_build_filename (g_get_user_cache_dir (), "dae", "conv-paths-v1", NULL);
  else if (g_ascii_strcasecmp (env, "off") != 0)
    cache_file = g_strdup (env);
  cache_load ();
}

/* Under cache_lock: writes every choice known (merged with the file's, which
 * another process may have grown) to a temporary file renamed over the
 * cache, so that a reader never sees half a file. */
static void
cache_save (void)
{
  if (cache_file == NULL)
    return;
  cache_load ();
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (cache, NULL);
  const guint n = g_hash_table_size (cache);
  qsort (keys, n, sizeof *keys, (GCompareFunc) g_strcmp0);
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      const Choice *ch = g_hash_table_lookup (cache, keys[i]);
      g_string_append_printf (s, "%s -> %s\n", keys[i], impl_names[ch->impl[ch->win]]);
    }
  g_autofree char *dir = g_path_get_dirname (cache_file);
  g_autoptr (GError) error = NULL;
  g_clear_pointer (&cache_error, g_free);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    cache_error = g_strdup_printf ("cannot make %s: %s", dir, g_strerror (errno));
  else if (!g_file_set_contents_full (cache_file, s->str, (gssize) s->len,
                                      G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    cache_error = g_strdup (error->message);
  g_string_free (s, TRUE);
}

/* Under cache_lock: what -v says of where AUTO's choices are kept (here:
 * some were measured by this process). */
static char *
cache_note (gboolean here)
{
  if (cache_file == NULL)
    return g_strdup ("the fastest measured here, for this process only: DAE_CONV_CACHE=off");
  if (cache_error != NULL)
    return g_strdup_printf ("the fastest measured here, for this process only: %s",
                            cache_error);
  return g_strdup_printf ("the fastest measured on this machine, %s %s",
                          here ? "now, kept in" : "read from", cache_file);
}

static double
thread_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Buffers for layers lo..hi and what they read, filled with a pattern. */
typedef struct {
  float *input;
  float **out;
  float *scratch;
} Bench;

static float *
bench_buffer (size_t floats)
{
  float *b = g_new (float, floats);
  for (size_t i = 0; i < floats; i++)
    b[i] = (float) (i % 13) * (1.0f / 13) - 0.3f;
  return b;
}

static void
bench_init (Bench *b, const DaePlan *p, guint lo, guint hi, size_t scratch)
{
  const DaeModel *m = p->model;
  const size_t n = p->n;
  b->out = g_new0 (float *, m->n_layers);
  b->input = bench_buffer (n * p->input.c * p->input.h * p->input.w);
  for (guint i = lo == 0 ? 0 : lo - 1; i <= hi; i++)
    b->out[i] = bench_buffer (n * p->shapes[i].c * p->shapes[i].h * p->shapes[i].w);
  for (guint i = lo; i <= hi; i++)
    {
      const int src = m->layers[i].source;
      if ((m->layers[i].kind == DAE_LAYER_ADD || m->layers[i].kind == DAE_LAYER_CONCAT)
          && src >= 0 && b->out[src] == NULL)
        b->out[src] = bench_buffer (n * p->shapes[src].c * p->shapes[src].h
                                    * p->shapes[src].w);
    }
  b->scratch = scratch > 0 ? g_new (float, scratch) : NULL;
}

static void
bench_clear (Bench *b, const DaePlan *p)
{
  for (guint i = 0; i < p->model->n_layers; i++)
    g_free (b->out[i]);
  g_free (b->out);
  g_free (b->input);
  g_free (b->scratch);
}

/* CPU time of candidate plan q's steps over layers lo..hi. */
static double
time_steps (const DaePlan *q, guint lo, guint hi, const Bench *b)
{
  const double t0 = thread_ns ();
  for (guint s = step_of (q, lo); s < q->n_steps && q->steps[s].first <= hi; s++)
    dae__plan_run_step (q, s, q->n, b->input, b->out, b->scratch);
  return thread_ns () - t0;
}

/* Times each candidate for conv layer c (its plan in cand[k]) and keeps
 * the fastest: the first (the rule's) unless another beats it by MARGIN. */
static void
measure (DaePlan *const *cand, guint n_cand, guint c, guint lo, guint hi, Choice *ch)
{
  size_t scratch = 0;
  for (guint k = 0; k < n_cand; k++)
    scratch = MAX (scratch, gemm_scratch (cand[k]));
  Bench b;
  bench_init (&b, cand[0], lo, hi, scratch);
  double best[4], spent = 0;
  for (guint k = 0; k < n_cand; k++)
    {
      spent += time_steps (cand[k], lo, hi, &b); /* warms caches and packed weights */
      best[k] = G_MAXDOUBLE;
    }
  for (guint round = 0; round < MAX_ROUNDS && (round < MIN_ROUNDS || spent < BUDGET_NS);
       round++)
    for (guint k = 0; k < n_cand; k++)
      {
        const double t = time_steps (cand[k], lo, hi, &b);
        best[k] = MIN (best[k], t);
        spent += t;
      }
  bench_clear (&b, cand[0]);
  *ch = (Choice){ .n_cand = n_cand, .n = cand[0]->n };
  for (guint k = 0; k < n_cand; k++)
    {
      ch->impl[k] = cand[k]->conv[c];
      ch->ms[k] = best[k] * 1e-6;
      if (k > 0 && best[k] < best[ch->win] * MARGIN)
        ch->win = k;
    }
}

/* AUTO: chooses layer c's implementation (the others as p has them);
 * TRUE if it measured; *here if the choice was measured by this process. */
static gboolean
choose (DaePlan *p, guint c, gboolean *here)
{
  DaeConvImpl impls[3] = { p->conv[c], 0, 0 };
  guint n_cand = 1;
  static const DaeConvImpl all[] = { DAE__IMPL_DIRECT, DAE__IMPL_WINOGRAD, DAE__IMPL_GEMM };
  for (guint k = 0; k < G_N_ELEMENTS (all); k++)
    if (all[k] != impls[0] && (all[k] != DAE__IMPL_GEMM || DAE_HAVE_BLAS))
      impls[n_cand++] = all[k];
  /* Each candidate's plan, and the layers all of them run differently. */
  DaePlan *cand[3];
  guint lo = c, hi = c;
  for (guint k = 0; k < n_cand; k++)
    {
      cand[k] = g_memdup2 (p, sizeof *p);
      cand[k]->conv = g_memdup2 (p->conv, p->model->n_layers * sizeof (DaeConvImpl));
      cand[k]->steps = g_new (DaePlanStep, p->model->n_layers);
      cand[k]->conv[c] = impls[k];
      make_steps (cand[k]);
    }
  for (gboolean grew = TRUE; grew;)
    {
      grew = FALSE;
      for (guint k = 0; k < n_cand; k++)
        grew |= widen (cand[k], &lo, &hi);
    }
  g_mutex_lock (&cache_lock);
  cache_init ();
  g_autofree char *key = cache_key (p, c, lo, hi, cpu_model);
  gpointer stored_key = NULL, value = NULL;
  const gboolean measured = !g_hash_table_lookup_extended (cache, key, &stored_key, &value);
  Choice *ch = value;
  if (measured)
    {
      ch = g_new0 (Choice, 1);
      measure (cand, n_cand, c, lo, hi, ch);
      stored_key = g_steal_pointer (&key);
      g_hash_table_insert (cache, stored_key, ch);
    }
  if (!ch->used)
    g_ptr_array_add (cache_order, stored_key);
  ch->used = TRUE;
  *here |= !ch->from_file;
  p->conv[c] = ch->impl[ch->win];
  g_mutex_unlock (&cache_lock);
  for (guint k = 0; k < n_cand; k++)
    {
      g_free (cand[k]->conv);
      g_free (cand[k]->steps);
      g_free (cand[k]);
    }
  return measured;
}

DaePlan *
dae__plan_new_runner (const DaeModel *m, DaeShape input, const DaeShape *shapes, size_t n,
                      DaeConvPath path)
{
  DaePlan *p = plan_alloc (m, input, shapes, n, path);
  make_steps (p);
  if (p->path == DAE_CONV_AUTO)
    {
      /* Layer by layer, each seeing the choices made before it. */
      gboolean measured_now = FALSE, here = FALSE;
      for (guint i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == DAE_LAYER_CONV3X3)
          {
            measured_now |= choose (p, i, &here);
            make_steps (p);
          }
      p->measured = TRUE;
      g_mutex_lock (&cache_lock);
      cache_init (); /* (a model without conv3x3 layers) */
      if (measured_now)
        cache_save ();
      p->cache_note = cache_note (here);
      g_mutex_unlock (&cache_lock);
    }
  p->scratch_floats = gemm_scratch (p);
  return p;
}

DaePlan *
dae__plan_new_trainer (const DaeModel *m, DaeShape input, const DaeShape *shapes, size_t n,
                       DaeConvPath path)
{
  DaePlan *p = plan_alloc (m, input, shapes, n, path);
  /* The scalar references are the specification of everything else. */
  const gboolean ref = p->path == DAE_CONV_DIRECT && p->k->isa == DAE__ISA_REF;
  for (guint i = 0; i < m->n_layers; i++)
    {
      p->steps[i] = (DaePlanStep){ DAE__STEP_ALONE, i, 1, FALSE };
      const DaeLayerKind kind = m->layers[i].kind;
      if (kind == DAE_LAYER_CONV3X3)
        {
          /* dx is a conv3x3 from the output's channels to the input's. */
          p->dx[i] = rule (p, shapes[i].c, dae__plan_in_shape (p, i).c);
          if (p->dx[i] == DAE__IMPL_WINOGRAD)
            p->dx[i] = DAE__IMPL_DIRECT;
          p->backward[i] = ref ? DAE__BACKWARD_REF
                           : p->conv[i] == DAE__IMPL_GEMM ? DAE__BACKWARD_GEMM
                                                          : DAE__BACKWARD_SIMD;
        }
      else if (kind == DAE_LAYER_CONVT2X2)
        p->backward[i] = ref ? DAE__BACKWARD_REF : DAE__BACKWARD_GEMM;
    }
  p->n_steps = m->n_layers;
  p->scratch_floats = gemm_scratch (p);
  return p;
}

char *
dae__plan_report (void)
{
  const char *const *names = impl_names;
  GString *s = g_string_new (NULL);
  g_mutex_lock (&cache_lock);
  for (guint i = 0; cache_order && i < cache_order->len; i++)
    {
      const char *key = cache_order->pdata[i];
      const Choice *ch = g_hash_table_lookup (cache, key);
      g_string_append_printf (s, "  %s\n   ", key);
      if (ch->from_file)
        g_string_append_printf (s, " %s (measured before, read from %s)", names[ch->impl[0]],
                                cache_file);
      for (guint k = 0; !ch->from_file && k < ch->n_cand; k++)
        g_string_append_printf (s, " %s %.3f ms%s", names[ch->impl[k]], ch->ms[k],
                                k == ch->win ? " (chosen)" : "");
      g_string_append_c (s, '\n');
    }
  g_mutex_unlock (&cache_lock);
  return g_string_free (s, FALSE);
}

char *
dae__plan_describe (const DaePlan *p)
{
  static const char *const path_names[] = { "auto", "direct", "gemm", "winograd" };
  guint count[4] = { 0 };
  for (guint s = 0; s < p->n_steps; s++)
    {
      const DaePlanStep *st = &p->steps[s];
      for (guint i = st->first; i < st->first + st->n_layers; i++)
        count[p->conv[i]]++;
    }
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "conv3x3 layers: %u Winograd, %u direct, %u im2col+sgemm (",
                          count[DAE__IMPL_WINOGRAD], count[DAE__IMPL_DIRECT],
                          count[DAE__IMPL_GEMM]);
  if (p->measured)
    g_string_append_printf (s, "auto: %s", p->cache_note);
  else
    g_string_append_printf (s, "%s, %s", path_names[p->path],
                            p->from_env ? "from DAE_CONV" : "asked for");
  if (p->env_note)
    g_string_append_printf (s, "; %s", p->env_note);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}
