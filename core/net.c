/* net.c: DaeRunner, the forward pass over a batch of tiles.
 *
 * The batch is cut into fixed-size chunks so that the activations of one
 * chunk stay in cache; layer outputs share a few buffers, each freed after
 * its last reader (skip connections keep theirs alive).  How each layer
 * runs is the runner's plan's (plan.c), made when the runner is.  Every
 * kernel works per tile, so results do not depend on the batch size or its
 * split. */
#include "plan.h"
#include "kernels/kernels.h"
#include "threads.h"

#include <string.h>

/* Tiles per chunk: 28x28x32 floats are 100 KiB a tile.  A chunk of a few
 * tiles keeps the live activations near the core (about an L2's worth), and
 * spreads each layer's per-call costs (the packed weights' check, zeroed
 * margins) over several tiles.  AUTO's measurements run on one chunk; what
 * they took is in dae-bench's output. */
#define CHUNK_BYTES (2048u * 1024u)
#define MAX_CHUNK 16u
/* The activations of one tile may take this much: a model file must not
 * make a runner ask for more (it is checked before allocating). */
#define MAX_TILE_BYTES (G_GUINT64_CONSTANT (1) << 30)

struct _DaeRunner {
  const DaeModel *model;
  guint h, w;
  DaeShape *shapes;   /* per layer */
  DaeConvPath path;   /* asked for */
  DaePlan *plan;
  size_t chunk;       /* tiles per step */
  int *slot_of;       /* layer -> buffer index */
  guint n_slots;
  float **slots;      /* each chunk x largest tensor it holds */
  float **out;        /* layer -> its buffer */
  float *scratch;     /* im2col for the GEMM path, as the plan asks */
};

static size_t
shape_floats (DaeShape s)
{
  return (size_t) s.c * s.h * s.w;
}

/* Assigns each layer's output to a buffer, reusing a buffer once every
 * reader of its previous owner has run. */
static void
plan_buffers (DaeRunner *r)
{
  const DaeModel *m = r->model;
  const guint n = m->n_layers;
  g_autofree int *last_use = g_new (int, n);
  for (guint i = 0; i < n; i++)
    /* Until three layers later: a fused step reads layer i - 1's output
     * while writing layer i + 1's (a pair) or i + 2's (upsample, concat,
     * conv3x3, whose kernel writes a tile's first sums before it has read
     * all of its input).  The last is read out. */
    last_use[i] = (int) MIN (i + 3, n);
  for (guint i = 0; i < n; i++)
    {
      const DaeLayer *l = &m->layers[i];
      /* A concat's source through the conv3x3 that may be fused after it. */
      if ((l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT) && l->source >= 0)
        last_use[l->source] = MAX (last_use[l->source],
                                   (int) i + (l->kind == DAE_LAYER_CONCAT));
    }

  g_autofree int *owner = g_new (int, n); /* slot -> layer, -1 = free */
  g_autofree size_t *size = g_new0 (size_t, n);
  r->slot_of = g_new (int, n);
  r->n_slots = 0;
  for (guint i = 0; i < n; i++)
    {
      int slot = -1;
      for (guint s = 0; s < r->n_slots && slot < 0; s++)
        if (owner[s] < 0 || last_use[owner[s]] < (int) i)
          slot = s;
      if (slot < 0)
        slot = r->n_slots++;
      owner[slot] = i;
      r->slot_of[i] = slot;
      size[slot] = MAX (size[slot], shape_floats (r->shapes[i]));
    }

  size_t per_tile = 0;
  for (guint s = 0; s < r->n_slots; s++)
    per_tile += size[s];
  r->chunk = CLAMP (CHUNK_BYTES / (per_tile * sizeof (float) + 1), 1, MAX_CHUNK);
  r->slots = g_new0 (float *, r->n_slots);
  for (guint s = 0; s < r->n_slots; s++)
    r->slots[s] = g_new (float, size[s] * r->chunk);
  r->out = g_new (float *, n);
  for (guint i = 0; i < n; i++)
    r->out[i] = r->slots[r->slot_of[i]];
}

/* (Re)makes the plan for path, and the scratch it asks for. */
static void
make_plan (DaeRunner *r, DaeConvPath path)
{
  dae__plan_free (r->plan);
  g_free (r->scratch);
  r->path = path;
  r->plan = dae__plan_new_runner (r->model, (DaeShape){ r->model->in_c, r->h, r->w },
                                  r->shapes, r->chunk, path);
  r->scratch = r->plan->scratch_floats ? g_new (float, r->plan->scratch_floats) : NULL;
}

DaeRunner *
dae_runner_new (const DaeModel *model, guint height, guint width, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  if (height == 0 || width == 0 || height > DAE__MAX_PATCH || width > DAE__MAX_PATCH)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "tile size %ux%u out of range 1..%u", width, height, DAE__MAX_PATCH);
      return NULL;
    }
  g_autofree DaeShape *shapes = g_new (DaeShape, model->n_layers);
  if (!dae__model_infer_shapes (model, height, width, shapes, error))
    return NULL;
  DaeShape o = shapes[model->n_layers - 1];
  if (o.c != model->in_c || o.h != height || o.w != width)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                   "for %ux%u tiles the model's output is %ux%ux%u, not %ux%ux%u",
                   width, height, o.h, o.w, o.c, height, width, model->in_c);
      return NULL;
    }
  /* Activations plus the largest im2col a GEMM layer may ask for. */
  guint64 tile_floats = (guint64) model->in_c * height * width, im2col = 0;
  for (guint i = 0; i < model->n_layers; i++)
    {
      tile_floats += shape_floats (shapes[i]);
      if (model->layers[i].kind == DAE_LAYER_CONV3X3)
        {
          DaeShape in = i == 0 ? (DaeShape){ model->in_c, height, width } : shapes[i - 1];
          im2col = MAX (im2col, ((guint64) in.c * 9 + shapes[i].c) * in.h * in.w);
        }
    }
  tile_floats += im2col;
  if (tile_floats * sizeof (float) > MAX_TILE_BYTES)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "for %ux%u tiles the model needs %" G_GUINT64_FORMAT
                   " MiB of activations and scratch a tile (limit %" G_GUINT64_FORMAT " MiB)",
                   width, height, (tile_floats * sizeof (float)) >> 20,
                   MAX_TILE_BYTES >> 20);
      return NULL;
    }
  dae__blas_pin_single_thread ();
  DaeRunner *r = g_new0 (DaeRunner, 1);
  r->model = model;
  r->h = height;
  r->w = width;
  r->shapes = g_steal_pointer (&shapes);
  plan_buffers (r);
  make_plan (r, DAE_CONV_AUTO);
  return r;
}

void
dae_runner_free (DaeRunner *r)
{
  if (r == NULL)
    return;
  for (guint s = 0; s < r->n_slots; s++)
    g_free (r->slots[s]);
  g_free (r->slots);
  g_free (r->slot_of);
  g_free (r->out);
  dae__plan_free (r->plan);
  g_free (r->shapes);
  g_free (r->scratch);
  g_free (r);
}

void
dae_runner_set_conv_path (DaeRunner *runner, DaeConvPath path)
{
  if (path != runner->path)
    make_plan (runner, path);
}

gboolean
dae_runner_get_output_shape (const DaeRunner *r, guint layer, guint *channels,
                             guint *height, guint *width)
{
  if (layer >= r->model->n_layers)
    return FALSE;
  if (channels)
    *channels = r->shapes[layer].c;
  if (height)
    *height = r->shapes[layer].h;
  if (width)
    *width = r->shapes[layer].w;
  return TRUE;
}

void
dae__layer_forward (const DaePlan *p, guint i, size_t n, const float *x, const float *src,
                    float *y, float *scratch)
{
  const DaeModel *m = p->model;
  const DaeLayer *l = &m->layers[i];
  const DaeShape is = dae__plan_in_shape (p, i);
  const DaeShape os = p->shapes[i];
  const DaeKernels *k = p->k;
  DaeConvArgs a = { .n = n, .in_c = is.c, .out_c = os.c, .h = is.h, .w = is.w,
                    .weight = dae__layer_weight (m, l),
                    .bias = dae__layer_bias (m, l), .act = l->act };
  switch (l->kind)
    {
    case DAE_LAYER_CONV3X3:
      if (p->conv[i] == DAE__IMPL_GEMM)
        dae_conv3x3_gemm (&a, x, y, scratch);
      else if (p->conv[i] == DAE__IMPL_WINOGRAD)
        k->conv3x3_winograd (&a, x, y, NULL);
      else
        k->conv3x3 (&a, x, y);
      break;
    case DAE_LAYER_CONVT2X2:
      dae_convt2x2_ref (&a, x, y);
      break;
    case DAE_LAYER_MAXPOOL2:
      k->maxpool2 (n, is.c, is.h, is.w, x, y);
      break;
    case DAE_LAYER_UPSAMPLE2:
      k->upsample2 (n, is.c, is.h, is.w, x, y);
      break;
    case DAE_LAYER_ADD:
      k->add (n * shape_floats (os), x, src, l->act, y);
      break;
    case DAE_LAYER_CONCAT:
      {
        const size_t sf = (size_t) (os.c - is.c) * os.h * os.w;
        for (size_t t = 0; t < n; t++)
          {
            float *yt = y + t * shape_floats (os);
            memcpy (yt, x + t * shape_floats (is), shape_floats (is) * sizeof (float));
            memcpy (yt + shape_floats (is), src + t * sf, sf * sizeof (float));
          }
      }
      break;
    }
}

/* Runs layer i alone, reading and writing the buffers of out. */
static void
run_alone (const DaePlan *p, guint i, size_t n, const float *input, float *const *out,
           float *scratch)
{
  const DaeLayer *l = &p->model->layers[i];
  const float *x = i == 0 ? input : out[i - 1];
  const float *src = NULL;
  if (l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
    src = l->source < 0 ? input : out[l->source];
  dae__layer_forward (p, i, n, x, src, out[i], scratch);
}

void
dae__plan_run_step (const DaePlan *p, guint s, size_t n, const float *input,
                    float *const *out, float *scratch)
{
  const DaePlanStep *st = &p->steps[s];
  const guint i = st->first;
  if (st->kind == DAE__STEP_ALONE)
    {
      run_alone (p, i, n, input, out, scratch);
      return;
    }
  const DaeModel *m = p->model;
  const DaeKernels *k = p->k;
  const DaeShape is = dae__plan_in_shape (p, i);
  const float *x = i == 0 ? input : out[i - 1];
  /* The convolution of the step, its input's shape and its output. */
  const gboolean up_cat = st->kind == DAE__STEP_UP_CAT_CONV
                         || st->kind == DAE__STEP_UP_CAT_WINOGRAD;
  const guint ci = up_cat ? i + 2 : st->kind == DAE__STEP_UP_CONV ? i + 1 : i;
  const DaeLayer *conv = &m->layers[ci];
  const DaeShape cs = up_cat ? p->shapes[i + 1] : is;
  DaeConvArgs a = { .n = n, .in_c = cs.c, .out_c = conv->c, .h = cs.h, .w = cs.w,
                    .weight = dae__layer_weight (m, conv),
                    .bias = dae__layer_bias (m, conv), .act = conv->act };
  float *y = out[i + st->n_layers - 1];
  switch (st->kind)
    {
    case DAE__STEP_WINOGRAD_POOL:
      k->conv3x3_winograd (&a, x, st->keep_conv ? out[i] : NULL, y);
      break;
    case DAE__STEP_CONV_POOL:
      k->conv3x3_maxpool2 (&a, x, y);
      break;
    case DAE__STEP_UP_CAT_CONV:
      k->upsample2_concat_conv3x3 (&a, is.c, x, out[m->layers[i + 1].source], y);
      break;
    case DAE__STEP_UP_CAT_WINOGRAD:
      k->upsample2_concat_conv3x3_winograd (&a, is.c, x, out[m->layers[i + 1].source], y);
      break;
    case DAE__STEP_UP_CONV:
      k->upsample2_conv3x3 (&a, x, y);
      break;
    case DAE__STEP_ALONE:
      g_assert_not_reached ();
    }
}

char *
dae__runner_describe_convs (const DaeRunner *r)
{
  return dae__plan_describe (r->plan);
}

/* Runs layers 0..last on n <= chunk tiles: the plan's steps, but a step
 * that would go past last runs its layers alone. */
static void
forward_chunk (DaeRunner *r, size_t n, const float *input, guint last)
{
  const DaePlan *p = r->plan;
  for (guint s = 0; s < p->n_steps && p->steps[s].first <= last; s++)
    {
      const DaePlanStep *st = &p->steps[s];
      if (st->first + st->n_layers - 1 <= last)
        dae__plan_run_step (p, s, n, input, r->out, r->scratch);
      else
        for (guint i = st->first; i <= last; i++)
          run_alone (p, i, n, input, r->out, r->scratch);
    }
}

gboolean
dae_runner_forward_to (DaeRunner *r, size_t n, const float *input,
                       guint last_layer, float *output, GError **error)
{
  if (last_layer >= r->model->n_layers)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "layer %u out of range (the model has %u)", last_layer,
                   r->model->n_layers);
      return FALSE;
    }
  const size_t in_floats = (size_t) r->model->in_c * r->h * r->w;
  const size_t out_floats = shape_floats (r->shapes[last_layer]);
  for (size_t t = 0; t < n; t += r->chunk)
    {
      const size_t k = MIN (r->chunk, n - t);
      forward_chunk (r, k, input + t * in_floats, last_layer);
      memcpy (output + t * out_floats, r->out[last_layer],
              k * out_floats * sizeof (float));
    }
  return TRUE;
}

gboolean
dae_runner_forward (DaeRunner *r, size_t n, const float *input, float *output,
                    GError **error)
{
  return dae_runner_forward_to (r, n, input, r->model->n_layers - 1, output, error);
}
