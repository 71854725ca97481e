/* net.c: DaeRunner, the forward pass over a batch of tiles.
 *
 * The batch is cut into fixed-size chunks so that the activations of one
 * chunk stay in cache; layer outputs share a few buffers, each freed after
 * its last reader (skip connections keep theirs alive).  Every kernel works
 * per tile, so results do not depend on the batch size or its split. */
#include "dae-private.h"
#include "kernels/kernels.h"
#include "threads.h"
#include "dispatch.h"
#include "dae-config.h"

#include <string.h>

/* Tiles per chunk: 28x28x32 floats are 100 KiB a tile.  A chunk of a few
 * tiles keeps the live activations near the core, and spreads each layer's
 * per-call costs (the packed weights' check, zeroed margins) over several
 * tiles: 2 MiB ran 2-5% faster than 512 KiB (one or two tiles) with both
 * shipped networks on a Zen 3 (512 KiB L2). */
#define CHUNK_BYTES (2048u * 1024u)
#define MAX_CHUNK 16u
/* The activations of one tile may take this much: a model file must not
 * make a runner ask for more (it is checked before allocating). */
#define MAX_TILE_BYTES (G_GUINT64_CONSTANT (1) << 30)

struct _DaeRunner {
  const DaeModel *model;
  guint h, w;
  DaeShape *shapes;   /* per layer */
  DaeConvPath path;
  size_t chunk;       /* tiles per step */
  int *slot_of;       /* layer -> buffer index */
  guint n_slots;
  float **slots;      /* each chunk x largest tensor it holds */
  float *scratch;     /* im2col for the GEMM path */
  size_t scratch_floats;
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
    /* Until two layers later: a fused pair (run_fused) reads layer
     * i - 1's output while writing layer i + 1's.  The last is read out. */
    last_use[i] = (int) MIN (i + 2, n);
  for (guint i = 0; i < n; i++)
    {
      const DaeLayer *l = &m->layers[i];
      if ((l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT) && l->source >= 0)
        last_use[l->source] = MAX (last_use[l->source], (int) i);
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

  r->scratch_floats = 0;
  for (guint i = 0; i < n; i++)
    if (m->layers[i].kind == DAE_LAYER_CONV3X3)
      {
        DaeShape in = i == 0 ? (DaeShape){ m->in_c, r->h, r->w } : r->shapes[i - 1];
        DaeConvArgs a = { .n = r->chunk, .in_c = in.c, .out_c = r->shapes[i].c,
                          .h = in.h, .w = in.w };
        r->scratch_floats = MAX (r->scratch_floats, dae_conv3x3_gemm_scratch (&a));
      }
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
  r->path = DAE_CONV_AUTO;
  plan_buffers (r);
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
  g_free (r->shapes);
  g_free (r->scratch);
  g_free (r);
}

void
dae_runner_set_conv_path (DaeRunner *runner, DaeConvPath path)
{
  runner->path = path;
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

/* Skinny convolutions (one input or one output channel) are GEMMs that BLAS
 * runs badly; direct kernels vectorise over pixels instead.  The SIMD
 * direct kernels measured faster than im2col + sgemm on every layer of the
 * tutorial network (bench/dae-bench), forward and for training's weight
 * gradients alike, so AUTO keeps BLAS for the scalar build only.  The rule
 * depends on the shapes alone, never on timings, so that every runner of a
 * process computes the same bits. */
gboolean
dae__conv_use_gemm (DaeConvPath path, guint in_c, guint out_c)
{
  switch (path)
    {
    case DAE_CONV_GEMM:
      return TRUE;
    case DAE_CONV_DIRECT:
    case DAE_CONV_WINOGRAD:
      return FALSE;
    case DAE_CONV_AUTO:
    default: /* DAE__CONV_AUTO_EXACT */
      break;
    }
  if (dae__kernels ()->isa != DAE__ISA_REF)
    return FALSE;
  return DAE_HAVE_BLAS && in_c >= 8 && out_c >= 8;
}

/* Winograd F(2x2, 3x3) does 16 multiply-adds per input channel and 2x2
 * outputs where the direct kernel does 36; its transforms cost a few adds
 * per input and output channel, and its products over input channels are
 * short.  On a Zen 3, one thread, 16 tiles a call: 1.1-1.3x the direct
 * AVX2 kernel from 16 channels each way (24->32 at 14x14, 32->48 at 7x7,
 * 16->16 at 28x28), 0.8x at 8->8.  A shape rule, like the GEMM one. */
gboolean
dae__conv_use_winograd (DaeConvPath path, guint in_c, guint out_c)
{
  if (path == DAE_CONV_DIRECT || path == DAE__CONV_AUTO_EXACT
      || dae__conv_use_gemm (path, in_c, out_c))
    return FALSE;
  if (path == DAE_CONV_AUTO && dae__kernels ()->isa == DAE__ISA_REF)
    return FALSE;
  return in_c >= 16 && out_c >= 16;
}

/* Which implementation a conv3x3 of these channels runs alone. */
typedef enum { CONV_GEMM, CONV_WINOGRAD, CONV_DIRECT } ConvImpl;

static ConvImpl
conv_impl (DaeConvPath path, guint in_c, guint out_c)
{
  if (dae__conv_use_gemm (path, in_c, out_c))
    return CONV_GEMM;
  return dae__conv_use_winograd (path, in_c, out_c) ? CONV_WINOGRAD : CONV_DIRECT;
}

void
dae__layer_forward (const DaeModel *m, guint i, DaeShape input,
                    const DaeShape *shapes, size_t n, const float *x,
                    const float *src, float *y, DaeConvPath path,
                    float *scratch)
{
  const DaeLayer *l = &m->layers[i];
  const DaeShape is = i == 0 ? input : shapes[i - 1];
  const DaeShape os = shapes[i];
  DaeConvArgs a = { .n = n, .in_c = is.c, .out_c = os.c, .h = is.h, .w = is.w,
                    .weight = dae__layer_weight (m, l),
                    .bias = dae__layer_bias (m, l), .act = l->act };
  switch (l->kind)
    {
    case DAE_LAYER_CONV3X3:
      switch (conv_impl (path, a.in_c, a.out_c))
        {
        case CONV_GEMM:
          dae_conv3x3_gemm (&a, x, y, scratch);
          break;
        case CONV_WINOGRAD:
          dae__kernels ()->conv3x3_winograd (&a, x, y, NULL);
          break;
        case CONV_DIRECT:
          dae__kernels ()->conv3x3 (&a, x, y);
          break;
        }
      break;
    case DAE_LAYER_CONVT2X2:
      dae_convt2x2_ref (&a, x, y);
      break;
    case DAE_LAYER_MAXPOOL2:
      dae__kernels ()->maxpool2 (n, is.c, is.h, is.w, x, y);
      break;
    case DAE_LAYER_UPSAMPLE2:
      dae__kernels ()->upsample2 (n, is.c, is.h, is.w, x, y);
      break;
    case DAE_LAYER_ADD:
      dae__kernels ()->add (n * shape_floats (os), x, src, l->act, y);
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

/* Whether layer i's output is read by a skip connection. */
static gboolean
read_by_skip (const DaeModel *m, guint i)
{
  for (guint j = 0; j < m->n_layers; j++)
    if ((m->layers[j].kind == DAE_LAYER_ADD || m->layers[j].kind == DAE_LAYER_CONCAT)
        && m->layers[j].source == (int) i)
      return TRUE;
  return FALSE;
}

/* How layer i runs: alone, or with the next one or two where a fused SIMD
 * kernel does them all (conv3x3 + maxpool2, upsample2 + conv3x3, and a
 * U-Net's upsample2 + concat + conv3x3), writing the last one's output.
 * The outputs of the others are then never made, so they must have no
 * other reader; but for the Winograd conv3x3 + maxpool2, which writes both
 * when a skip connection reads the conv's. */
typedef enum {
  STEP_ALONE,
  STEP_WINOGRAD_POOL, /* conv3x3 (Winograd) + maxpool2 */
  STEP_CONV_POOL,     /* conv3x3 (direct) + maxpool2 */
  STEP_UP_CAT_CONV,   /* upsample2 + concat + conv3x3 */
  STEP_UP_CONV,       /* upsample2 + conv3x3 */
} Step;

/* The layers a step takes. */
static guint
step_layers (Step s)
{
  return s == STEP_ALONE ? 1 : s == STEP_UP_CAT_CONV ? 3 : 2;
}

static Step
plan_step (const DaeRunner *r, guint i, guint last)
{
  const DaeModel *m = r->model;
  if (dae__kernels ()->isa == DAE__ISA_REF || i + 1 > last)
    return STEP_ALONE;
  const DaeLayer *l = &m->layers[i], *next = &m->layers[i + 1];
  const DaeShape is = i == 0 ? (DaeShape){ m->in_c, r->h, r->w } : r->shapes[i - 1];
  if (l->kind == DAE_LAYER_CONV3X3 && next->kind == DAE_LAYER_MAXPOOL2
      && dae__conv_use_winograd (r->path, is.c, l->c))
    return STEP_WINOGRAD_POOL;
  if (read_by_skip (m, i))
    return STEP_ALONE;
  /* (A concat of the network's input is left alone: it never meets an
   * upsampled tensor's shape in a real network.) */
  if (l->kind == DAE_LAYER_UPSAMPLE2 && next->kind == DAE_LAYER_CONCAT && next->source >= 0
      && i + 2 <= last && m->layers[i + 2].kind == DAE_LAYER_CONV3X3
      && !read_by_skip (m, i + 1)
      && !dae__conv_use_gemm (r->path, r->shapes[i + 1].c, m->layers[i + 2].c))
    return STEP_UP_CAT_CONV;
  if (l->kind == DAE_LAYER_CONV3X3 && next->kind == DAE_LAYER_MAXPOOL2
      && !dae__conv_use_gemm (r->path, l->in_c, l->c))
    return STEP_CONV_POOL;
  if (l->kind == DAE_LAYER_UPSAMPLE2 && next->kind == DAE_LAYER_CONV3X3
      && !dae__conv_use_gemm (r->path, next->in_c, next->c))
    return STEP_UP_CONV;
  return STEP_ALONE;
}

/* Runs a fused step (not STEP_ALONE) from layer i on n tiles. */
static void
run_fused (DaeRunner *r, Step step, guint i, size_t n, const float *x)
{
  const DaeModel *m = r->model;
  const DaeKernels *k = dae__kernels ();
  const DaeShape is = i == 0 ? (DaeShape){ m->in_c, r->h, r->w } : r->shapes[i - 1];
  /* The convolution of the step, its input's shape and its output. */
  const guint ci = step == STEP_UP_CAT_CONV ? i + 2 : step == STEP_UP_CONV ? i + 1 : i;
  const DaeLayer *conv = &m->layers[ci];
  const DaeShape cs = step == STEP_UP_CAT_CONV ? r->shapes[i + 1] : is;
  DaeConvArgs a = { .n = n, .in_c = cs.c, .out_c = conv->c, .h = cs.h, .w = cs.w,
                    .weight = dae__layer_weight (m, conv),
                    .bias = dae__layer_bias (m, conv), .act = conv->act };
  float *y = r->slots[r->slot_of[i + step_layers (step) - 1]];
  switch (step)
    {
    case STEP_WINOGRAD_POOL:
      k->conv3x3_winograd (&a, x, read_by_skip (m, i) ? r->slots[r->slot_of[i]] : NULL, y);
      break;
    case STEP_CONV_POOL:
      k->conv3x3_maxpool2 (&a, x, y);
      break;
    case STEP_UP_CAT_CONV:
      k->upsample2_concat_conv3x3 (&a, is.c, x, r->slots[r->slot_of[m->layers[i + 1].source]],
                                   y);
      break;
    case STEP_UP_CONV:
      k->upsample2_conv3x3 (&a, x, y);
      break;
    case STEP_ALONE:
      g_assert_not_reached ();
    }
}

char *
dae__runner_describe_convs (const DaeRunner *r)
{
  const DaeModel *m = r->model;
  guint gemm = 0, winograd = 0, direct = 0;
  for (guint i = 0; i < m->n_layers;)
    {
      const Step step = plan_step (r, i, m->n_layers - 1);
      const DaeLayer *l = &m->layers[i];
      if (step == STEP_WINOGRAD_POOL)
        winograd++;
      else if (step != STEP_ALONE)
        direct++;
      else if (l->kind == DAE_LAYER_CONV3X3)
        switch (conv_impl (r->path, i == 0 ? m->in_c : r->shapes[i - 1].c, l->c))
          {
          case CONV_GEMM: gemm++; break;
          case CONV_WINOGRAD: winograd++; break;
          case CONV_DIRECT: direct++; break;
          }
      i += step_layers (step);
    }
  return g_strdup_printf ("conv3x3 layers: %u Winograd, %u direct, %u im2col+sgemm",
                          winograd, direct, gemm);
}

/* Runs layers 0..last on n <= chunk tiles. */
static void
forward_chunk (DaeRunner *r, size_t n, const float *input, guint last)
{
  const DaeModel *m = r->model;
  for (guint i = 0; i <= last; i++)
    {
      const Step step = plan_step (r, i, last);
      if (step != STEP_ALONE)
        {
          run_fused (r, step, i, n, i == 0 ? input : r->slots[r->slot_of[i - 1]]);
          i += step_layers (step) - 1;
          continue;
        }
      const DaeLayer *l = &m->layers[i];
      const float *x = i == 0 ? input : r->slots[r->slot_of[i - 1]];
      const float *src = NULL;
      if (l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
        src = l->source < 0 ? input : r->slots[r->slot_of[l->source]];
      if (l->kind == DAE_LAYER_CONV3X3 && r->scratch == NULL
          && dae__conv_use_gemm (r->path, l->in_c, l->c))
        r->scratch = g_new (float, r->scratch_floats);
      dae__layer_forward (m, i, (DaeShape){ m->in_c, r->h, r->w }, r->shapes, n, x, src,
                          r->slots[r->slot_of[i]], r->path, r->scratch);
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
      memcpy (output + t * out_floats, r->slots[r->slot_of[last_layer]],
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
