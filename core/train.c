/* train.c: DaeTrainer: forward (dae__layer_forward, shared with inference),
 * loss, backward, Adam; data-parallel over the worker pool.
 *
 * A batch is cut into shards of a few images.  Workers take shards; each
 * shard writes its parameter gradients and loss to buffers of its own, and
 * the caller sums them in shard order.  Nothing a shard computes depends on
 * the worker that runs it, so the result is the same for any thread count. */
#include "train-private.h"
#include "plan.h"
#include "kernels/kernels.h"
#include "threads.h"

#include <math.h>
#include <string.h>

/* Images per shard: enough for efficient GEMMs, few enough that a batch of
 * 128 keeps both cores busy with several shards each; fewer for large
 * patches, so that a shard's activations and gradients fit SHARD_BYTES.
 * The shard size depends on the model alone (never on the threads). */
#define MAX_SHARD 16u
#define SHARD_BYTES (G_GUINT64_CONSTANT (128) << 20)
/* What one worker may take for a single image: beyond, training refuses. */
#define MAX_WORKER_BYTES (G_GUINT64_CONSTANT (4) << 30)
/* Shards in flight per worker (each has a gradient buffer). */
#define WAVE_PER_WORKER 8u

typedef struct {
  float *input, *target; /* gathered shard (epoch mode) */
  float **act;           /* per layer: output of the shard */
  float **grad;          /* per layer: gradient wrt that output */
  gboolean *have_grad;   /* see run_shard() */
  float *tmp, *tmp2;     /* gradients to be added to ones already written */
  float *scratch;        /* GEMM forward and backward */
} Worker;

struct _DaeTrainer {
  DaeModel *model;
  DaeTrainOptions opt;
  DaeShape in_shape;
  DaeShape *shapes;
  DaePlan *plan;         /* how each layer runs, forward and backward */
  size_t in_floats, out_floats, max_floats;
  size_t shard;          /* images per shard */
  DaeThreadPool *pool;
  guint n_workers;
  Worker *workers;
  guint n_shards;        /* allocated shard buffers */
  float **shard_grad;
  double *shard_loss;
  float *grad;           /* reduced over shards */
  float *m, *v;          /* Adam moments */
  gboolean *relu_folded; /* per layer: a max-pool or upsample whose input is
                          * a ReLU's output that nothing else reads, so its
                          * backward applies the ReLU's derivative too */
  guint64 step;
  /* The current epoch (dae_trainer_train_epoch). */
  size_t *order;
  size_t n_order;
};

/* What one pool run computes on every shard. */
typedef struct {
  DaeTrainer *t;
  size_t n;                    /* images in the batch */
  const float *input, *target; /* contiguous batch, or NULL: gather */
  const DaeTrainData *data;    /* gather mode */
  const size_t *index;         /* gather mode: the batch's data indices */
  guint64 noise_seed;
  gboolean backward;
  float *grad_input;           /* nullable */
  float *output;               /* nullable */
  size_t first_shard;          /* of the current wave; item i is shard first + i */
} Job;

static size_t
shape_floats (DaeShape s)
{
  return (size_t) s.c * s.h * s.w;
}

void
dae_train_options_init (DaeTrainOptions *o)
{
  *o = (DaeTrainOptions){ .loss = DAE_LOSS_BCE, .learning_rate = 1e-3,
                          .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-7,
                          .adam_formula = DAE_ADAM_KERAS, .batch_size = 128,
                          .threads = 0, .seed = 0, .conv_path = DAE_CONV_AUTO,
                          .ink_weight = 1.0 };
}

void
dae_model_init_glorot (DaeModel *model, guint64 seed)
{
  DaeRng rng;
  dae__rng_init (&rng, seed, DAE__STREAM_INIT, 0);
  for (guint i = 0; i < model->n_layers; i++)
    {
      const DaeLayer *l = &model->layers[i];
      if (l->n_weight == 0)
        continue;
      const double area = l->kind == DAE_LAYER_CONV3X3 ? 9 : 4;
      const double limit = sqrt (6.0 / ((l->in_c + l->out_c) * area));
      float *w = model->params + l->offset;
      for (size_t k = 0; k < l->n_weight; k++)
        w[k] = (float) ((2.0 * dae__rng_uniform (&rng) - 1.0) * limit);
      memset (w + l->n_weight, 0, l->n_bias * sizeof (float));
    }
}

/* ---- one layer backward -------------------------------------------------- */

static DaeConvArgs
layer_args (const DaePlan *p, guint i, size_t n)
{
  const DaeModel *m = p->model;
  const DaeLayer *l = &m->layers[i];
  const DaeShape is = dae__plan_in_shape (p, i);
  return (DaeConvArgs){ .n = n, .in_c = is.c, .out_c = p->shapes[i].c, .h = is.h,
                        .w = is.w, .weight = dae__layer_weight (m, l),
                        .bias = dae__layer_bias (m, l), .act = l->act };
}

/* Floats of scratch layer i's forward and backward passes take for n
 * images, as the plan runs them. */
static size_t
layer_scratch (const DaePlan *p, guint i, size_t n)
{
  DaeConvArgs a = layer_args (p, i, n);
  size_t s = 0;
  if (p->conv[i] == DAE__IMPL_GEMM)
    s = dae_conv3x3_gemm_scratch (&a);
  switch (p->backward[i])
    {
    case DAE__BACKWARD_NONE:
    case DAE__BACKWARD_REF:
      return s;
    case DAE__BACKWARD_GEMM:
      if (p->model->layers[i].kind == DAE_LAYER_CONVT2X2)
        return MAX (s, dae_convt2x2_gemm_backward_scratch (&a));
      s = MAX (s, dae_conv3x3_gemm_dweight_scratch (&a));
      break;
    case DAE__BACKWARD_SIMD: /* its dW kernel keeps a per-thread scratch */
      break;
    }
  /* dx: the flipped kernels, a zero bias and the convolution's scratch. */
  DaeConvArgs b = dae_conv3x3_dx_args (&a, NULL, NULL);
  size_t dx = (size_t) a.in_c * a.out_c * 9 + a.in_c;
  if (p->dx[i] == DAE__IMPL_GEMM)
    dx += dae_conv3x3_gemm_scratch (&b);
  return MAX (s, dx);
}

/* A conv3x3 layer's backward pass, as the plan says. */
static void
conv3x3_backward (const DaePlan *p, guint i, const DaeConvArgs *a, const float *x,
                  const float *dy, float *dparams, float *dx, float *scratch)
{
  const DaeLayer *l = &p->model->layers[i];
  float *dbias = dparams + l->n_weight;
  if (p->backward[i] == DAE__BACKWARD_REF)
    {
      dae_conv3x3_backward_ref (a, x, dy, dparams, dbias, dx);
      return;
    }
  if (p->backward[i] == DAE__BACKWARD_GEMM)
    dae_conv3x3_gemm_dweight (a, x, dy, dparams, dbias, scratch);
  else
    p->k->conv3x3_backward (a, x, dy, dparams, dbias, NULL);
  if (dx == NULL)
    return;
  float *flipped = scratch, *zero = flipped + l->n_weight;
  dae_conv3x3_flip_weights (a, flipped);
  memset (zero, 0, a->in_c * sizeof (float));
  DaeConvArgs b = dae_conv3x3_dx_args (a, flipped, zero);
  if (p->dx[i] == DAE__IMPL_GEMM)
    dae_conv3x3_gemm (&b, dy, dx, zero + a->in_c);
  else
    p->k->conv3x3 (&b, dy, dx);
}

void
dae__layer_backward (const DaePlan *p, guint i, size_t n, const float *x, const float *dy,
                     float *dparams, float *dx, float *dsrc, gboolean dx_relu,
                     float *scratch)
{
  const DaeLayer *l = &p->model->layers[i];
  const DaeShape is = dae__plan_in_shape (p, i);
  const DaeShape os = p->shapes[i];
  const DaeKernels *k = p->k;
  DaeConvArgs a = layer_args (p, i, n);
  switch (l->kind)
    {
    case DAE_LAYER_CONV3X3:
      conv3x3_backward (p, i, &a, x, dy, dparams, dx, scratch);
      break;
    case DAE_LAYER_CONVT2X2:
      if (p->backward[i] == DAE__BACKWARD_REF)
        dae_convt2x2_backward_ref (&a, x, dy, dparams, dparams + l->n_weight, dx);
      else
        dae_convt2x2_gemm_backward (&a, x, dy, dparams, dparams + l->n_weight, dx, scratch);
      break;
    case DAE_LAYER_MAXPOOL2:
      if (dx && dx_relu)
        k->maxpool2_backward_relu (n, is.c, is.h, is.w, x, dy, dx);
      else if (dx)
        k->maxpool2_backward (n, is.c, is.h, is.w, x, dy, dx);
      break;
    case DAE_LAYER_UPSAMPLE2:
      if (dx && dx_relu)
        k->upsample2_backward_relu (n, is.c, is.h, is.w, x, dy, dx);
      else if (dx)
        k->upsample2_backward (n, is.c, is.h, is.w, dy, dx);
      break;
    case DAE_LAYER_ADD:
      if (dx)
        memcpy (dx, dy, n * shape_floats (os) * sizeof (float));
      if (dsrc)
        memcpy (dsrc, dy, n * shape_floats (os) * sizeof (float));
      break;
    case DAE_LAYER_CONCAT:
      {
        const size_t xf = shape_floats (is), sf = shape_floats (os) - xf;
        for (size_t t = 0; t < n; t++)
          {
            const float *g = dy + t * shape_floats (os);
            if (dx)
              memcpy (dx + t * xf, g, xf * sizeof (float));
            if (dsrc)
              memcpy (dsrc + t * sf, g + xf, sf * sizeof (float));
          }
      }
      break;
    }
}

/* ---- trainer ------------------------------------------------------------- */

static gboolean
check_options (const DaeTrainOptions *o, GError **error)
{
  const char *bad = NULL;
  if (o->loss != DAE_LOSS_BCE && o->loss != DAE_LOSS_MSE)
    bad = "unknown loss";
  else if (!(o->learning_rate > 0 && o->learning_rate <= 10))
    bad = "learning rate must be in (0, 10]";
  else if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
    bad = "Adam's betas must be in [0, 1)";
  else if (!(o->epsilon > 0 && o->epsilon < 1))
    bad = "Adam's epsilon must be in (0, 1)";
  else if (o->adam_formula != DAE_ADAM_KERAS && o->adam_formula != DAE_ADAM_PYTORCH)
    bad = "unknown Adam formula";
  else if (o->batch_size < 1 || o->batch_size > DAE_TRAIN_MAX_BATCH)
    bad = "batch size out of range";
  else if (o->threads > 256)
    bad = "more than 256 threads";
  else if (!(o->ink_weight >= 1 && o->ink_weight <= 1000))
    bad = "ink weight must be in [1, 1000]";
  if (bad)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID, bad);
      return FALSE;
    }
  return TRUE;
}

/* Floats of a worker's GEMM scratch for shards of n images.  The plan is
 * made for shards of t->shard images; the kernels it picks do not depend on
 * the count. */
static size_t
worker_scratch (DaeTrainer *t, size_t n)
{
  size_t scratch = 0;
  for (guint i = 0; i < t->model->n_layers; i++)
    scratch = MAX (scratch, layer_scratch (t->plan, i, n));
  return MAX (scratch, 1);
}

/* What worker_init() allocates for shards of n images, in bytes. */
static guint64
worker_bytes (DaeTrainer *t, size_t n)
{
  guint64 f = 2 * t->in_floats + 2 * t->max_floats;
  for (guint i = 0; i < t->model->n_layers; i++)
    f += 2 * shape_floats (t->shapes[i]);
  return (f * n + worker_scratch (t, n)) * sizeof (float);
}

static void
worker_init (DaeTrainer *t, Worker *w)
{
  const DaeModel *m = t->model;
  w->input = g_new (float, t->shard * t->in_floats);
  w->target = g_new (float, t->shard * t->in_floats);
  w->act = g_new0 (float *, m->n_layers);
  w->grad = g_new0 (float *, m->n_layers);
  w->have_grad = g_new0 (gboolean, m->n_layers + 1);
  for (guint i = 0; i < m->n_layers; i++)
    {
      const size_t f = t->shard * shape_floats (t->shapes[i]);
      w->act[i] = g_new (float, f);
      w->grad[i] = g_new (float, f);
    }
  w->tmp = g_new (float, t->shard * t->max_floats);
  w->tmp2 = g_new (float, t->shard * t->max_floats);
  w->scratch = g_new (float, worker_scratch (t, t->shard));
}

static void
worker_clear (DaeTrainer *t, Worker *w)
{
  for (guint i = 0; i < t->model->n_layers; i++)
    {
      g_free (w->act[i]);
      g_free (w->grad[i]);
    }
  g_free (w->act);
  g_free (w->grad);
  g_free (w->have_grad);
  g_free (w->input);
  g_free (w->target);
  g_free (w->tmp);
  g_free (w->tmp2);
  g_free (w->scratch);
}

DaeTrainer *
dae_trainer_new (DaeModel *model, const DaeTrainOptions *options, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  DaeTrainOptions opt;
  if (options)
    opt = *options;
  else
    dae_train_options_init (&opt);
  if (!check_options (&opt, error))
    return NULL;
  g_autofree DaeShape *shapes = g_new (DaeShape, MAX (model->n_layers, 1));
  if (model->n_layers == 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_SHAPE, "model has no layers");
      return NULL;
    }
  if (!dae__model_infer_shapes (model, model->patch_h, model->patch_w, shapes, error))
    return NULL;
  DaeShape in = { model->in_c, model->patch_h, model->patch_w };
  DaeShape o = shapes[model->n_layers - 1];
  if (o.c != in.c || o.h != in.h || o.w != in.w)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                   "the model maps %ux%ux%u patches to %ux%ux%u, not to themselves",
                   in.h, in.w, in.c, o.h, o.w, o.c);
      return NULL;
    }

  DaeTrainer *t = g_new0 (DaeTrainer, 1);
  t->model = model;
  t->opt = opt;
  t->in_shape = in;
  t->shapes = g_steal_pointer (&shapes);
  t->in_floats = shape_floats (in);
  t->out_floats = shape_floats (o);
  t->max_floats = t->in_floats;
  for (guint i = 0; i < model->n_layers; i++)
    t->max_floats = MAX (t->max_floats, shape_floats (t->shapes[i]));
  t->plan = dae__plan_new_trainer (model, in, t->shapes, MAX_SHARD, opt.conv_path);
  const guint64 one = worker_bytes (t, 1);
  if (one > MAX_WORKER_BYTES)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "training on %ux%u patches needs %" G_GUINT64_FORMAT " MiB a thread "
                   "(limit %" G_GUINT64_FORMAT " MiB): use smaller patches", in.w, in.h,
                   one >> 20, MAX_WORKER_BYTES >> 20);
      dae__plan_free (t->plan);
      g_free (t->shapes);
      g_free (t);
      return NULL;
    }
  for (t->shard = MAX_SHARD; t->shard > 1 && worker_bytes (t, t->shard) > SHARD_BYTES;)
    t->shard--;
  g_debug ("trainer: %zu images a shard, %" G_GUINT64_FORMAT " MiB a thread", t->shard,
           worker_bytes (t, t->shard) >> 20);
  t->pool = dae__pool_new (opt.threads);
  t->n_workers = dae__pool_get_n_workers (t->pool);
  t->workers = g_new0 (Worker, t->n_workers);
  for (guint w = 0; w < t->n_workers; w++)
    worker_init (t, &t->workers[w]);
  t->relu_folded = g_new0 (gboolean, model->n_layers);
  for (guint i = 1; i < model->n_layers; i++)
    {
      gboolean read_elsewhere = FALSE;
      for (guint j = 0; j < model->n_layers; j++)
        read_elsewhere |= (model->layers[j].kind == DAE_LAYER_ADD
                           || model->layers[j].kind == DAE_LAYER_CONCAT)
                          && model->layers[j].source == (int) i - 1;
      t->relu_folded[i] = (model->layers[i].kind == DAE_LAYER_MAXPOOL2
                         || model->layers[i].kind == DAE_LAYER_UPSAMPLE2)
                        && model->layers[i - 1].act == DAE_ACT_RELU && !read_elsewhere;
    }
  t->grad = g_new0 (float, MAX (model->n_params, 1));
  t->m = g_new0 (float, MAX (model->n_params, 1));
  t->v = g_new0 (float, MAX (model->n_params, 1));
  return t;
}

void
dae_trainer_free (DaeTrainer *t)
{
  if (t == NULL)
    return;
  for (guint w = 0; w < t->n_workers; w++)
    worker_clear (t, &t->workers[w]);
  g_free (t->workers);
  dae__pool_free (t->pool);
  for (guint s = 0; s < t->n_shards; s++)
    g_free (t->shard_grad[s]);
  g_free (t->shard_grad);
  g_free (t->shard_loss);
  dae__plan_free (t->plan);
  g_free (t->shapes);
  g_free (t->grad);
  g_free (t->relu_folded);
  g_free (t->m);
  g_free (t->v);
  g_free (t->order);
  g_free (t);
}

guint
dae_trainer_get_n_threads (const DaeTrainer *t)
{
  return t->n_workers;
}

static void
ensure_shards (DaeTrainer *t, guint n_shards)
{
  if (n_shards <= t->n_shards)
    return;
  t->shard_grad = g_renew (float *, t->shard_grad, n_shards);
  for (guint s = t->n_shards; s < n_shards; s++)
    t->shard_grad[s] = g_new (float, MAX (t->model->n_params, 1));
  t->shard_loss = g_renew (double, t->shard_loss, n_shards);
  t->n_shards = n_shards;
}

/* The weight of sample i: ink_w where output and target are on opposite
 * sides of 0.5 (a pixel binarisation turns from paper to ink or back), 1
 * elsewhere.  Piecewise constant in y, so the loss's gradient is the
 * weighted gradient wherever it exists. */
static inline float
sample_weight (float y, float q, float ink_w)
{
  return (y >= 0.5f) != (q >= 0.5f) ? ink_w : 1.0f;
}

/* Sum of the shard's (weighted) losses; writes dL/d(output) (before its
 * activation when the activation's derivative is folded in) to g.  scale
 * = 1 / (the number of output samples in the batch). */
static double
loss_and_grad (DaeLoss loss, float ink_w, DaeActivation act, size_t count, const float *y,
               const float *target, double scale, float *g, gboolean *folded)
{
  double sum = 0.0;
  const float s = (float) scale;
  *folded = FALSE;
  if (loss == DAE_LOSS_MSE)
    {
      for (size_t i = 0; i < count; i++)
        {
          const float wi = sample_weight (y[i], target[i], ink_w);
          const double d = (double) y[i] - target[i];
          sum += wi * d * d;
          if (g)
            g[i] = 2.0f * (y[i] - target[i]) * (wi * s);
        }
      return sum;
    }
  for (size_t i = 0; i < count; i++)
    {
      const double p = y[i], q = target[i];
      sum -= sample_weight (y[i], target[i], ink_w)
             * (q * MAX (log (p), -100.0) + (1.0 - q) * MAX (log (1.0 - p), -100.0));
    }
  if (g == NULL)
    return sum;
  if (act == DAE_ACT_SIGMOID)
    {
      /* Keras differentiates sigmoid and cross-entropy together. */
      for (size_t i = 0; i < count; i++)
        g[i] = (y[i] - target[i]) * (sample_weight (y[i], target[i], ink_w) * s);
      *folded = TRUE;
    }
  else
    for (size_t i = 0; i < count; i++)
      g[i] = (y[i] - target[i]) / MAX ((1.0f - y[i]) * y[i], 1e-12f)
             * (sample_weight (y[i], target[i], ink_w) * s);
  return sum;
}

/* The gradient buffer of tensor j (a layer's output, or the network's
 * input for j < 0: NULL unless the caller wants it). */
static float *
grad_buffer (Worker *w, const Job *job, size_t first, int j)
{
  if (j < 0)
    return job->grad_input ? job->grad_input + first * job->t->in_floats : NULL;
  return w->grad[j];
}

/* Where a gradient for tensor j goes: its own buffer the first time, else
 * tmp, to be added to it afterwards (skip connections: several readers). */
static float *
grad_dest (Worker *w, const Job *job, size_t first, int j, float *tmp,
           gboolean *add)
{
  float *buf = grad_buffer (w, job, first, j);
  *add = FALSE;
  if (buf == NULL)
    return NULL;
  if (!w->have_grad[j + 1])
    {
      w->have_grad[j + 1] = TRUE;
      return buf;
    }
  *add = TRUE;
  return tmp;
}

static void
grad_add (Worker *w, const Job *job, size_t first, int j, const float *tmp,
          size_t count)
{
  float *g = grad_buffer (w, job, first, j);
  for (size_t i = 0; i < count; i++)
    g[i] += tmp[i];
}

static void
run_shard (size_t item, guint worker, gpointer user_data)
{
  Job *job = user_data;
  DaeTrainer *t = job->t;
  const DaeModel *m = t->model;
  Worker *w = &t->workers[worker];
  const size_t first = (job->first_shard + item) * t->shard;
  const size_t ns = MIN (t->shard, job->n - first);
  const guint L = m->n_layers;

  const float *input, *target;
  if (job->index)
    {
      for (size_t k = 0; k < ns; k++)
        {
          const size_t d = job->index[first + k];
          const float *clean = job->data->clean + d * t->in_floats;
          memcpy (w->target + k * t->in_floats, clean, t->in_floats * sizeof (float));
          if (job->data->noisy)
            memcpy (w->input + k * t->in_floats, job->data->noisy + d * t->in_floats,
                    t->in_floats * sizeof (float));
          else
            dae_noise_apply (job->data->noise, job->noise_seed, d, 1, t->in_floats, clean,
                             w->input + k * t->in_floats);
        }
      input = w->input;
      target = w->target;
    }
  else
    {
      input = job->input + first * t->in_floats;
      target = job->target ? job->target + first * t->in_floats : NULL;
    }

  for (guint i = 0; i < L; i++)
    {
      const DaeLayer *l = &m->layers[i];
      const float *x = i == 0 ? input : w->act[i - 1];
      const float *src = NULL;
      if (l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
        src = l->source < 0 ? input : w->act[l->source];
      dae__layer_forward (t->plan, i, ns, x, src, w->act[i], w->scratch);
    }
  const float *y = w->act[L - 1];
  if (job->output)
    memcpy (job->output + first * t->out_floats, y, ns * t->out_floats * sizeof (float));

  gboolean folded = FALSE;
  const double scale = 1.0 / ((double) job->n * t->out_floats);
  double loss = 0.0;
  if (target)
    loss = loss_and_grad (t->opt.loss, (float) t->opt.ink_weight, m->layers[L - 1].act,
                          ns * t->out_floats, y, target, scale,
                          job->backward ? w->grad[L - 1] : NULL, &folded);
  t->shard_loss[item] = loss;
  if (!job->backward)
    return;

  /* have_grad[j + 1]: tensor j's gradient buffer holds a first term. */
  memset (w->have_grad, 0, (L + 1) * sizeof (gboolean));
  w->have_grad[L] = TRUE;
  float *dparams = t->shard_grad[item];
  for (guint ii = L; ii-- > 0;)
    {
      const DaeLayer *l = &m->layers[ii];
      const int prev = (int) ii - 1;
      const size_t count = ns * shape_floats (t->shapes[ii]);
      float *dy = w->grad[ii];
      /* Folded into the loss, or into the max-pool after it. */
      if (!(ii == L - 1 && folded) && !(ii + 1 < L && t->relu_folded[ii + 1]))
        dae_activation_backward_ref (count, l->act, w->act[ii], dy);

      gboolean add_x, add_src = FALSE;
      float *dx = grad_dest (w, job, first, prev, w->tmp, &add_x);
      float *dsrc = NULL;
      if (l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
        dsrc = grad_dest (w, job, first, l->source, w->tmp2, &add_src);
      const float *x = ii == 0 ? input : w->act[ii - 1];
      dae__layer_backward (t->plan, ii, ns, x, dy, dparams + l->offset, dx, dsrc,
                           t->relu_folded[ii], w->scratch);
      if (add_x)
        grad_add (w, job, first, prev, w->tmp,
                  ns * shape_floats (prev < 0 ? t->in_shape : t->shapes[prev]));
      if (add_src)
        grad_add (w, job, first, l->source, w->tmp2,
                  ns * shape_floats (l->source < 0 ? t->in_shape : t->shapes[l->source]));
    }
}

/* Runs job over the batch, in waves of a few shards per worker so that
 * the shards' gradient buffers stay few whatever the batch size; sums the
 * shards' losses (and gradients into t->grad) in shard order, which the
 * waves do not change. */
static double
run_batch (DaeTrainer *t, Job *job)
{
  const size_t n_shards = (job->n + t->shard - 1) / t->shard;
  const size_t wave = MIN (n_shards, (size_t) WAVE_PER_WORKER * t->n_workers);
  const size_t np = t->model->n_params;
  ensure_shards (t, (guint) wave);
  double loss = 0.0;
  for (job->first_shard = 0; job->first_shard < n_shards; job->first_shard += wave)
    {
      const size_t k = MIN (wave, n_shards - job->first_shard);
      dae__pool_run (t->pool, k, run_shard, job);
      for (size_t s = 0; s < k; s++)
        {
          loss += t->shard_loss[s];
          if (!job->backward)
            continue;
          const float *g = t->shard_grad[s];
          if (job->first_shard + s == 0)
            memcpy (t->grad, g, np * sizeof (float));
          else
            for (size_t p = 0; p < np; p++)
              t->grad[p] += g[p];
        }
    }
  return loss / ((double) job->n * t->out_floats);
}

static gboolean
check_batch (size_t n, GError **error)
{
  if (n == 0 || n > DAE_TRAIN_MAX_BATCH)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "batch of %zu images, not in 1..%u", n, DAE_TRAIN_MAX_BATCH);
      return FALSE;
    }
  return TRUE;
}

gboolean
dae_trainer_gradients (DaeTrainer *t, size_t n, const float *input,
                       const float *target, double *loss, float *grad_params,
                       float *grad_input, GError **error)
{
  if (!check_batch (n, error))
    return FALSE;
  Job job = { .t = t, .n = n, .input = input, .target = target, .backward = TRUE,
              .grad_input = grad_input };
  const double l = run_batch (t, &job);
  if (loss)
    *loss = l;
  if (grad_params)
    memcpy (grad_params, t->grad, t->model->n_params * sizeof (float));
  return TRUE;
}

static void
adam_update (DaeTrainer *t)
{
  const DaeTrainOptions *o = &t->opt;
  const size_t np = t->model->n_params;
  float *p = t->model->params;
  t->step++;
  const double bc1 = 1.0 - pow (o->beta1, (double) t->step);
  const double bc2 = 1.0 - pow (o->beta2, (double) t->step);
  const float b1 = (float) o->beta1, b2 = (float) o->beta2;
  if (o->adam_formula == DAE_ADAM_KERAS)
    {
      const float lr_t = (float) (o->learning_rate * sqrt (bc2) / bc1);
      const float eps = (float) o->epsilon;
      for (size_t i = 0; i < np; i++)
        {
          const float g = t->grad[i];
          t->m[i] = b1 * t->m[i] + (1.0f - b1) * g;
          t->v[i] = b2 * t->v[i] + (1.0f - b2) * g * g;
          p[i] -= lr_t * t->m[i] / (sqrtf (t->v[i]) + eps);
        }
    }
  else
    {
      const float step = (float) (o->learning_rate / bc1);
      const float rbc2 = (float) sqrt (bc2), eps = (float) o->epsilon;
      for (size_t i = 0; i < np; i++)
        {
          const float g = t->grad[i];
          t->m[i] = b1 * t->m[i] + (1.0f - b1) * g;
          t->v[i] = b2 * t->v[i] + (1.0f - b2) * g * g;
          p[i] -= step * t->m[i] / (sqrtf (t->v[i]) / rbc2 + eps);
        }
    }
}

void
dae_trainer_apply_gradients (DaeTrainer *t, const float *grad)
{
  memcpy (t->grad, grad, t->model->n_params * sizeof (float));
  adam_update (t);
}

gboolean
dae_trainer_step (DaeTrainer *t, size_t n, const float *input,
                  const float *target, double *loss, GError **error)
{
  if (!dae_trainer_gradients (t, n, input, target, loss, NULL, NULL, error))
    return FALSE;
  adam_update (t);
  return TRUE;
}

gboolean
dae_trainer_train_epoch (DaeTrainer *t, const DaeTrainData *data, guint epoch,
                         DaeTrainProgressFunc progress, gpointer user_data,
                         double *loss, GError **error)
{
  g_return_val_if_fail (data != NULL && data->clean != NULL, FALSE);
  if (data->n == 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID, "no training images");
      return FALSE;
    }
  if (data->noisy == NULL && data->noise == NULL)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "training data needs noisy inputs or a noise model");
      return FALSE;
    }
  if (t->n_order != data->n)
    {
      g_free (t->order);
      t->order = g_new (size_t, data->n);
      t->n_order = data->n;
    }
  /* Fisher-Yates from the identity, so each epoch's order depends on the
   * seed and the epoch alone. */
  DaeRng rng;
  dae__rng_init (&rng, t->opt.seed, DAE__STREAM_SHUFFLE, epoch);
  for (size_t i = 0; i < data->n; i++)
    t->order[i] = i;
  for (size_t i = data->n - 1; i > 0; i--)
    {
      const size_t j = dae__rng_below (&rng, i + 1);
      const size_t tmp = t->order[i];
      t->order[i] = t->order[j];
      t->order[j] = tmp;
    }

  const guint64 noise_seed = dae__derive_seed (t->opt.seed, DAE__STREAM_EPOCH, epoch);
  double total = 0.0;
  for (size_t start = 0; start < data->n; start += t->opt.batch_size)
    {
      const size_t nb = MIN (t->opt.batch_size, data->n - start);
      Job job = { .t = t, .n = nb, .data = data, .index = t->order + start,
                  .noise_seed = noise_seed, .backward = TRUE };
      total += run_batch (t, &job) * nb;
      adam_update (t);
      if (progress && !progress (start + nb, data->n, user_data))
        {
          g_set_error_literal (error, DAE_ERROR, DAE_ERROR_CANCELLED, "training cancelled");
          return FALSE;
        }
    }
  if (loss)
    *loss = total / data->n;
  return TRUE;
}

gboolean
dae_trainer_evaluate (DaeTrainer *t, size_t n, const float *input,
                      const float *target, double *loss, float *output,
                      GError **error)
{
  double sum = 0.0;
  /* In slices, so the shard buffers stay those of one batch. */
  const size_t slice = MAX (t->opt.batch_size, t->shard * t->n_workers);
  for (size_t start = 0; start < n; start += slice)
    {
      const size_t k = MIN (slice, n - start);
      Job job = { .t = t, .n = k, .input = input + start * t->in_floats,
                  .target = target ? target + start * t->in_floats : NULL,
                  .output = output ? output + start * t->out_floats : NULL };
      sum += run_batch (t, &job) * k;
    }
  if (loss)
    *loss = n > 0 && target ? sum / n : NAN;
  return TRUE;
}
