/* tiler.c: DaeDenoiser, a model applied to images of any size.
 *
 * The image is covered by a grid of patch-sized tiles, `stride` apart, that
 * reaches past the borders by patch - stride pixels (so that border pixels
 * sit in the middle of a tile, like every other pixel); what lies outside
 * is the image mirrored (reflect-101), read through index tables, so the
 * border is handled once, here, and never inside the network.  An axis no
 * longer than the patch gets one tile, centred, so an image of exactly the
 * patch size is exactly one tile.
 *
 * Tiles are blended with a separable sin^2 (Hann) window that is positive
 * everywhere in the tile and is divided by the sum of the windows covering
 * each pixel: any stride works, and at stride = patch/2 the windows add up
 * to one, so no tile edge shows.  A pixel covered by a single tile gets
 * weight w/w = 1 exactly: that tile's output, bit for bit.
 *
 * Streaming: rows pushed go into a ring buffer; each row of tiles runs as
 * soon as the rows it reads have arrived, and adds its weighted output into
 * a ring of patch-height accumulator rows; rows no later tile touches are
 * finished (inverted back, blended with the input, recombined with chroma
 * and alpha) and queued for pulling.  Memory grows with the width only.
 *
 * Threads: the tiles of a tile row are cut into batches run by the worker
 * pool, each worker with its own runner and scratch; every tile's output
 * depends only on the tile, and the accumulation runs in one fixed order
 * on the calling thread, so the result is the same for any thread count. */
#include "dae-private.h"
#include "threads.h"

#include <math.h>
#include <string.h>

#define BATCH 8u       /* tiles per work item */
/* Work items per worker per group of tiles: a group ends in a barrier
 * where one worker may wait for the other's last item, so groups are made
 * as large as a page's tile row (2 workers: 256 tiles; with fewer rounds
 * the second core idles at the barriers: dae-bench's page figure shows
 * it). */
#define ROUNDS 16u
/* Polarity per region: luma histograms of POL_BINS levels over column
 * blocks of POL_BLOCK pixels of a tile row's band; a tile looks at the
 * blocks within POL_REACH patch widths either side of it. */
#define POL_BINS 32u
#define POL_BLOCK 8u
#define POL_REACH 2u

/* The polarity a model was trained on: metadata "background". */
typedef enum { BG_DARK, BG_LIGHT, BG_ANY } Background;
/* What a model is for: metadata "content", or its place in a model set. */
typedef enum { CONTENT_OTHER, CONTENT_DOCUMENT, CONTENT_PHOTO } Content;

/* The passes a model declares for its noisy images, decided once (setup). */
typedef enum {
  PASSES_UNDECLARED,  /* asked for, or the model declares none */
  PASSES_UNDER_NOISE, /* declared, but the noise is under their gate */
  PASSES_NO_GRAIN,    /* declared, but a page's noise lies on edges only */
  PASSES_DECLARED,    /* as declared, at the model's step for them */
  PASSES_DENSE        /* as declared, at its step for the noisiest */
} PassesRule;

typedef struct {
  gint64 n;      /* image extent */
  gint64 patch, stride;
  gint64 t0;     /* start of the first tile (<= 0) */
  gint64 n_tiles;
} Axis;

struct _DaeDenoiser {
  const DaeModel *model;
  DaeDenoiseOptions opt;
  guint width, height, channels, n_color;
  gboolean has_alpha, luma;
  guint n_planes;          /* what the model sees: Y, gray, or each channel */
  guint ph, pw;
  Axis ax, ay;
  float *win_x, *win_y;    /* the windows, pw and ph floats */
  float *wx;               /* ax.n_tiles x pw normalised column weights */
  gint64 *rx;              /* image column of grid position t0x + i */

  /* Input ring: rows [ring_lo, pushed), row y at slot y % in_cap. */
  guint in_cap;
  float *in_rows;          /* in_cap x width x channels, as pushed */
  float *in_planes;        /* in_cap x n_planes x width */
  guint64 pushed, ring_lo;

  /* Accumulators of unfinished rows [out_next, ...), row y at y % acc_cap. */
  guint acc_cap;
  float *acc;              /* acc_cap x n_planes x width */
  guint64 out_next;
  gint64 next_tile_row;

  /* Finished rows waiting to be pulled. */
  float *queue;
  guint queue_cap, queue_head, queue_len;

  /* Workers. */
  DaeThreadPool *pool;
  guint n_workers;
  DaeRunner **runners;
  float **tile_in;         /* per worker: BATCH tiles */
  guint passes;            /* the self-ensemble's (ensemble.c) */
  PassesRule passes_rule;  /* ... whether as the model declares, and why not */
  float **pass_scratch;    /* per worker, when passes > 1 */
  float *tile_out;         /* n_planes x group_cols tiles */
  float *tile_shift;       /* n_planes x group_cols: the level each tile was moved by */
  guint group_cols;
  gint failed;             /* a worker's forward pass failed (atomic) */
  GError *worker_error;    /* the first worker's error (atomic) */

  /* The group of tiles being run. */
  gint64 job_j0;
  guint job_cols, job_batches;
  guint *job_ry;           /* ph ring slots of the tile row's input rows */
  float *wy;               /* ph normalised row weights of the tile row */

  /* Polarity: per tile of the current tile row (auto), or fixed. */
  Background model_bg;
  gboolean invert_auto;
  guint8 fixed_inverted;
  gint8 *tile_inv, *prev_inv;  /* ax.n_tiles decisions: 1, 0, -1 undecided */
  guint32 *pol_cum;            /* (blocks + 1) x POL_BINS cumulative histograms */
  guint64 tiles_inverted, tiles_run;

  /* Automatic choices, from the first rows (held in `pending` until then). */
  const DaeModel *candidates[2]; /* a set's: document, photo */
  guint n_candidates;
  float *pending;
  guint lookahead, n_pending;
  gboolean ready;
  DaeImageStats stats;
  Content content;
  DaeColorMode color;
  float plane_strength[3];
  float plane_sigma[3];    /* each plane's noise, as the strength took it */
  DaeWiener wiener;        /* a photo's: the model's output as a Wiener pilot */
  float *planes_row;       /* one row of planes: the pilot, then the output */
  const char *clean_page;  /* why the automatic strength found nothing to take
                            * out (dae__clean_page), or NULL */
  gboolean idle;           /* every plane at strength 0: no tile runs */
  gboolean centre;             /* tiles moved to mid-grey around the model */
  DaeInkGuard guard;           /* a page's: light marks not darkened into ink */
  guint64 *guard_held;         /* per worker: pixels the guard held back */
  guint64 *guard_kept;         /* per worker: a thin 1-bit page's ink kept */
  DaeSpecks specks;            /* a page's: isolated specks erased */
  void **specks_scratch;       /* per worker, when specks.active */
  guint64 *specks_erased;      /* per worker: specks erased */
  DaePrefilter impulse;        /* salt-and-pepper out of the input rows */
  gboolean impulse_on;
  gboolean impulse_wanted;     /* its test met, though a softening may run instead */
  double impulse_share;        /* of the first rows' samples */
  double impulse_spread;       /* isolated samples just inside black and white */
  float *impulse_out;          /* PREFILTER_CHUNK + 1 filtered rows */
  DaePrefilter soften;         /* or a 1-bit image's edges softened */
  gboolean soften_on;
  gboolean soften_thin;        /* not softened: a clean 1-bit page of thin type */
  float *soften_out;           /* PREFILTER_CHUNK + 1 softened rows */
  char *why;                   /* the choices, for describe */

  /* A colour photo's last chroma planes at half size (chroma.c): finished
   * rows wait in the queue (planes, input chroma, alpha) until theirs is
   * ready. */
  guint half_planes;           /* 0, 1 ((R-2G+B)/4) or 2 (both chroma planes) */
  DaeHalfChroma hc;
  float *chroma_row;           /* half_planes x width: a row's planes for chroma.c */
  guint queue_ready;           /* queued rows complete (the first ones) */
  guint64 rows_done;           /* rows completed so far */
  /* Set when this denoiser is one of those: a chroma plane's, whose pool is
   * its parent's. */
  gboolean chroma_plane;
  DaeThreadPool *shared_pool;
};

void
dae_denoise_options_init (DaeDenoiseOptions *options)
{
  g_return_if_fail (options != NULL);
  *options = (DaeDenoiseOptions){ .stride = 0, .strength = DAE_STRENGTH_AUTO,
                                  .invert = DAE_INVERT_AUTO, .color = DAE_COLOR_AUTO,
                                  .threads = 0, .conv_path = DAE_CONV_AUTO,
                                  .ink_guard = TRUE, .despeckle = TRUE,
                                  .impulse_filter = TRUE, .ensemble = 0,
                                  .soften_bilevel = TRUE };
}

static void
axis_plan (Axis *a, guint n, guint patch, guint stride)
{
  a->n = n;
  a->patch = patch;
  a->stride = stride;
  if (n <= patch)
    {
      a->n_tiles = 1;
      a->t0 = -(gint64) ((patch - n) / 2);
      return;
    }
  const gint64 margin = (gint64) patch - stride;
  const gint64 needed = (gint64) n + 2 * margin;
  a->n_tiles = (needed - patch + stride - 1) / stride + 1;
  const gint64 span = (a->n_tiles - 1) * stride + patch;
  a->t0 = -margin - (span - needed) / 2;
}

static inline gint64
axis_start (const Axis *a, gint64 k)
{
  return a->t0 + k * a->stride;
}

/* Reflect-101 (mirror without repeating the edge), periodic so that any
 * position maps into [0, n). */
static inline gint64
reflect (gint64 i, gint64 n)
{
  if (n == 1)
    return 0;
  const gint64 period = 2 * (n - 1);
  gint64 m = i % period;
  if (m < 0)
    m += period;
  return m < n ? m : period - m;
}

/* The normalised weight of tile k's position i at its pixel; 0 outside. */
static float
axis_weight (const Axis *a, const float *win, gint64 k, gint64 i)
{
  const gint64 pos = axis_start (a, k) + i;
  if (pos < 0 || pos >= a->n)
    return 0.0f;
  const gint64 kmax = MIN ((pos - a->t0) / a->stride, a->n_tiles - 1);
  const gint64 from = pos - a->t0 - a->patch + 1;
  const gint64 kmin = from <= 0 ? 0 : (from + a->stride - 1) / a->stride;
  float sum = 0.0f;
  for (gint64 kk = kmin; kk <= kmax; kk++)
    sum += win[pos - axis_start (a, kk)];
  return win[i] / sum;
}

/* Input rows tile row k reads: [*lo, *hi). */
static void
tile_rows_needed (const Axis *a, gint64 k, gint64 *lo, gint64 *hi)
{
  const gint64 s = axis_start (a, k), e = s + a->patch;
  if (s >= 0 && e <= a->n)
    {
      *lo = s;
      *hi = e;
      return;
    }
  *lo = a->n;
  *hi = 0;
  for (gint64 y = s; y < e; y++)
    {
      const gint64 r = reflect (y, a->n);
      *lo = MIN (*lo, r);
      *hi = MAX (*hi, r + 1);
    }
}

/* The lowest row any mirrored position below the image reads. */
static gint64
bottom_lo (const Axis *a)
{
  const gint64 end = axis_start (a, a->n_tiles - 1) + a->patch;
  gint64 lo = a->n;
  for (gint64 y = a->n; y < end; y++)
    lo = MIN (lo, reflect (y, a->n));
  return lo;
}

/* First row not finished before tile row k runs. */
static gint64
out_lo (const Axis *a, gint64 k)
{
  if (k >= a->n_tiles)
    return a->n;
  return k == 0 ? 0 : CLAMP (axis_start (a, k), 0, a->n);
}

/* Rows to keep while tile row k is next: its input and the input of the
 * unfinished rows (for the blend with the input). */
static gint64
keep_lo (const Axis *a, gint64 k, gint64 bottom)
{
  if (k >= a->n_tiles)
    return a->n;
  gint64 lo, hi;
  tile_rows_needed (a, k, &lo, &hi);
  return MIN (MIN (out_lo (a, k), lo), bottom);
}

/* Rows the input ring must hold: the most that are live at once. */
static guint64
input_ring_rows (const Axis *a)
{
  const gint64 bottom = bottom_lo (a);
  gint64 cap = 1, prev = 0;
  for (gint64 k = 0; k < a->n_tiles; k++)
    {
      gint64 lo, hi;
      const gint64 keep = keep_lo (a, k, bottom);
      if (keep < prev)
        return a->n; /* not monotone (cannot happen): keep everything */
      prev = keep;
      tile_rows_needed (a, k, &lo, &hi);
      cap = MAX (cap, hi - keep);
    }
  return (guint64) MIN (cap, a->n);
}

static float *
make_window (guint n)
{
  float *w = g_new (float, n);
  for (guint i = 0; i < n; i++)
    {
      const double s = sin (G_PI * (i + 0.5) / n);
      w[i] = (float) (s * s);
    }
  return w;
}

static Background
model_background (const DaeModel *model)
{
  const char *bg = dae_model_get_metadata (model, "background");
  if (bg != NULL && g_ascii_strcasecmp (bg, "light") == 0)
    return BG_LIGHT;
  if (bg != NULL && g_ascii_strcasecmp (bg, "any") == 0)
    return BG_ANY;
  return BG_DARK;
}

static Content
model_content (const DaeModel *model)
{
  const char *c = dae_model_get_metadata (model, "content");
  if (c != NULL && g_ascii_strcasecmp (c, "photo") == 0)
    return CONTENT_PHOTO;
  if (c != NULL && g_ascii_strcasecmp (c, "document") == 0)
    return CONTENT_DOCUMENT;
  return CONTENT_OTHER;
}

/* The error of the model's output on clean images (metadata "clean-error",
 * or "clean-error-chroma" for the opponent chroma planes, smooth and so
 * easier), 0 when not recorded. */
static double
model_error (const DaeModel *model, const char *key)
{
  const char *v = dae_model_get_metadata (model, key);
  const double e = v != NULL ? g_ascii_strtod (v, NULL) : 0.0;
  return e > 0.0 && e < 1.0 ? e : 0.0;
}

/* A factor of the strength formula (metadata), 0 when not recorded. */
static double
model_factor (const DaeModel *model, const char *key)
{
  const char *v = dae_model_get_metadata (model, key);
  return v != NULL ? CLAMP (g_ascii_strtod (v, NULL), 0.0, 10.0) : 0.0;
}

static double
model_clean_error (const DaeModel *model)
{
  return model_error (model, "clean-error");
}

static gboolean
validate_model (const DaeModel *model, const DaeDenoiseOptions *o, GError **error)
{
  guint ph, pw;
  dae_model_get_patch_size (model, &ph, &pw);
  if (dae_model_get_channels (model) != 1)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "the model takes %u channels; images are denoised with 1-channel models",
                   dae_model_get_channels (model));
      return FALSE;
    }
  if (o->stride > MIN (ph, pw))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "stride %u is larger than the model's %ux%u patch: it would leave gaps",
                   o->stride, pw, ph);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate (const DaeDenoiseOptions *o, guint width, guint height, guint channels,
          gboolean has_alpha, GError **error)
{
  if (!(o->strength >= 0.0 && o->strength <= 1.0) && o->strength != DAE_STRENGTH_AUTO)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "strength %g is not between 0 and 1", o->strength);
      return FALSE;
    }
  if ((guint) o->invert > DAE_INVERT_OFF || (guint) o->color > DAE_COLOR_AUTO
      || (guint) o->conv_path > DAE_CONV_WINOGRAD)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID, "invalid denoise option value");
      return FALSE;
    }
  if (o->ensemble > 8 || (o->ensemble & (o->ensemble - 1)) != 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "an ensemble of %u passes: expected 1, 2, 4 or 8 (0: auto)", o->ensemble);
      return FALSE;
    }
  if (width == 0 || height == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "image size %ux%u is empty", width, height);
      return FALSE;
    }
  if (channels < 1 || channels > 4 || (has_alpha && channels != 2 && channels != 4))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "%u channels%s: expected 1..4 with alpha as the 2nd or 4th",
                   channels, has_alpha ? " with alpha" : "");
      return FALSE;
    }
  return TRUE;
}

/* The bytes a denoiser keeps, to refuse absurd widths before allocating. */
static guint64
memory_needed (guint64 width, guint64 channels, guint64 planes, guint64 in_cap,
               guint64 acc_cap, guint64 group_cols, guint64 patch_area)
{
  return 4 * (width * (channels + planes) * in_cap + width * planes * acc_cap
              + width * (channels + 2 * 4)                 /* queue, tables */
              + planes * group_cols * patch_area);
}

/* Buffers beyond 4 GiB mean an absurd width: refused, not attempted. */
#define MAX_BYTES (G_GUINT64_CONSTANT (1) << 32)

static gboolean
bytes_fit (guint width, guint64 bytes, GError **error)
{
  if (bytes <= MAX_BYTES)
    return TRUE;
  g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
               "image width %u needs %" G_GUINT64_FORMAT " MiB of buffers: too wide", width,
               bytes >> 20);
  return FALSE;
}

/* Below this noise a plane is left as it is by the automatic strength: the
 * gain would be invisible (the input is above 42 dB) and any change a risk
 * (tesseract read a near-clean Fraktur scan differently after a 0.1 blend). */
#define QUIET_SIGMA (2.0 / 255)
/* The same for a photo's chroma planes, lower: the photo model's chroma
 * error is 0.7/255, and a JPEG's 4:2:0 chroma keeps its noise (4.6/255 at
 * quality 80 from 25/255 in R, G, B) in blotches that the quiet blocks of
 * the finer bands read at about 1/255. */
#define QUIET_SIGMA_CHROMA (0.5 / 255)
/* A colour photo's chroma planes go through the model at half size
 * (chroma.c) from this noise in R, G and B on, where that measured better
 * on photos this choice was not made on, and takes half the time.  Below
 * it their fine detail counts: bench-photo's 14 smooth wallpaper crops
 * gained at sigma 25 / 35 / 50 (+0.18 / +0.24 / +0.18 dB) but four skimage
 * photos with sharp colour edges (chelsea, rocket, motorcycle_right,
 * hubble; /work/s21/confirm.py) lost 0.33 / 0.08 dB at 25 / 35, gained
 * 0.08 at 50 (rocket at 25: -0.75); at 5-15 the full-size planes and the
 * Wiener filter after them are better (sigma 5: -1.40 dB at half size).
 * Nor when the photo is smaller than 32 pixels. */
#define HALF_CHROMA_SIGMA (40.0 / 255)
#define HALF_CHROMA_MIN 32u
/* From this noise on only (R-2G+B)/4 goes there: the smoother of the two
 * (G against the mean of R and B), whose half size measured neutral where
 * (R-B)/2's lost (those four photos at sigma 25: 30.70 dB against 30.69
 * full size; the 14 crops 32.97 against 32.89), for a quarter of a
 * plane's tiles instead of a whole one.  At 15 it lost 0.05 dB there. */
#define HALF_C2_SIGMA (20.0 / 255)

/* Whether the model's output goes through a sigmoid, whose levels near 0
 * and 1 come out biased: its tiles are centred (centre_tile).  A residual
 * model's linear output has no such bias, and centring only moves its
 * tiles off the levels it learnt on (BSD68 at sigma 50: -0.4 dB). */
static gboolean
squeezed_output (const DaeModel *model)
{
  return model->layers[model->n_layers - 1].act == DAE_ACT_SIGMOID;
}

/* A photo's luma noise for the strength: the quiet blocks' (analyze.c),
 * unless the weak-textured patches' (noise-patch.c) read well below it,
 * as on strongly textured clean photos (MATE's Elephants: 10.5/255 from
 * the blocks, 2.7 from the patches; clean output 35.1 -> 44.3 dB).  The
 * patches' figure counts PATCH_SCALE times: the strength's constants were
 * fitted on the blocks' figure, 5-10% above the truth at low noise, and
 * the patches' own cost Set12 at sigma 5 up to 0.17 dB an image.  And no
 * less than the patches' RMS over PATCH_RMS_SHARE: correlated noise
 * (blurred by demosaicking) has a small smallest eigenvalue but a large
 * variance (1-3/255 and 15-30 where the blocks read 5), texture's weak
 * patches a small one (Elephants: 6.2). */
#define PATCH_SCALE 1.2
#define PATCH_RMS_SHARE 1.5

static double
strength_noise (const DaeImageStats *st)
{
  if (st->patch_noise < 0.0) /* not a photo */
    return st->noise;
  return MIN (st->noise, MAX (PATCH_SCALE * st->patch_noise, st->patch_rms / PATCH_RMS_SHARE));
}

/* How many of a colour photo's chroma planes go through the model at half
 * size (chroma.c), by the noise measured in R, G and B. */
static guint
half_planes (const DaeDenoiser *d)
{
  if (d->color != DAE_COLOR_OPPONENT || d->n_color != 3 || d->content != CONTENT_PHOTO
      || d->opt.strength == 0.0 || MIN (d->width, d->height) < HALF_CHROMA_MIN)
    return 0;
  const double sigma = strength_noise (&d->stats) / 0.6686;
  return sigma >= HALF_CHROMA_SIGMA ? 2 : sigma >= HALF_C2_SIGMA ? 1 : 0;
}

/* The colour mode and the per-plane strengths for the chosen model.
 * Tried and left out (session 13): scaling each tile's change down where
 * the model took out more than the measured noise's variance.  It saves a
 * painting whose canvas weave reads as noise (clean: 36.4 -> 42.7 dB) but
 * costs 0.3-1.4 dB on Poisson-Gaussian and JPEG'd noise, whose variance
 * the finest band reads low: texture and unmeasured noise look alike. */
static void
resolve_color_strength (DaeDenoiser *d, const DaeModel *model)
{
  d->color = d->opt.color;
  if (d->color == DAE_COLOR_AUTO)
    d->color = d->content == CONTENT_PHOTO ? DAE_COLOR_OPPONENT : DAE_COLOR_LUMA;
  d->luma = d->color == DAE_COLOR_LUMA && d->n_color == 3;
  d->half_planes = half_planes (d);
  d->n_planes = d->luma ? 1 : d->n_color - d->half_planes;
  d->centre = d->content == CONTENT_PHOTO && squeezed_output (model);
  /* Noise of each plane from the luma's, for noise independent across
   * R, G and B: luma 0.669 sigma; opponent planes 0.577, 0.707, 0.612. */
  const gboolean opponent = d->color == DAE_COLOR_OPPONENT && d->n_color == 3;
  d->clean_page = d->content == CONTENT_DOCUMENT ? dae__clean_page (&d->stats) : NULL;
  const double sl = strength_noise (&d->stats), dl = d->stats.detail; /* photo: patches too */
  const double e = model_clean_error (model), ec = model_error (model, "clean-error-chroma");
  /* Fine detail costs the model its square on top of e^2; under heavy
   * noise part of the measured detail is the noise's (clipped at black and
   * white it is not Gaussian): c sigma^2 of it is taken off. */
  const double k = model_factor (model, "clean-error-detail");
  const double cn = model_factor (model, "clean-error-detail-noise");
  const double d2 = MAX (0.0, dl * dl - cn * sl * sl);
  for (guint c = 0; c < 3; c++)
    {
      double sp = sl, e2 = e * e + k * d2, quiet = QUIET_SIGMA;
      if (d->n_color == 3 && !d->luma)
        sp = sl / 0.6686 * (opponent ? DAE__OPPONENT_SHARE[c] : 1.0);
      if ((opponent && c > 0) || d->chroma_plane)
        { /* the chroma plane's own noise, measured (a chroma plane's
           * denoiser at half size: its only plane): near zero on a clean
           * colour scan whose luma shows a little; a chroma detail term
           * measured worse (colour crops at sigma 25: -0.24 dB) */
          sp = d->stats.chroma_sigma[d->chroma_plane ? 0 : c - 1];
          e2 = ec > 0.0 ? ec * ec : e * e;
          quiet = QUIET_SIGMA_CHROMA;
        }
      d->plane_sigma[c] = (float) sp;
      /* !(sp >= quiet): a noise measure that is not a number leaves the
       * plane as it is (a NaN once made a clean photo black, bd5a816) */
      d->plane_strength[c] = d->opt.strength != DAE_STRENGTH_AUTO ? (float) d->opt.strength
                             : d->clean_page != NULL ? 0.0f : e == 0.0 ? 1.0f : !(sp >= quiet) ? 0.0f
                             : (float) (sp * sp / (sp * sp + e2));
    }
}

/* The buffers of setup(); FALSE when out of memory. */
static gboolean
alloc_buffers (DaeDenoiser *d)
{
  const size_t row_f = (size_t) d->width * d->channels;
  const size_t plane_f = (size_t) d->width * d->n_planes;
  const size_t area = (size_t) d->ph * d->pw;
  const gint64 span = (d->ax.n_tiles - 1) * d->ax.stride + d->ax.patch;
  const size_t blocks = (d->width + POL_BLOCK - 1) / POL_BLOCK;
  d->in_rows = g_try_new (float, row_f * d->in_cap);
  d->in_planes = g_try_new (float, plane_f * d->in_cap);
  d->acc = g_try_new0 (float, plane_f * d->acc_cap);
  d->wx = g_try_new (float, (size_t) d->ax.n_tiles * d->pw);
  d->rx = g_try_new (gint64, span);
  d->tile_out = g_try_new (float, (size_t) d->n_planes * d->group_cols * area);
  d->tile_shift = g_try_new0 (float, (size_t) d->n_planes * d->group_cols);
  d->tile_inv = g_try_new (gint8, d->ax.n_tiles);
  d->prev_inv = g_try_new (gint8, d->ax.n_tiles);
  d->pol_cum = g_try_new (guint32, (blocks + 1) * POL_BINS);
  if (!d->in_rows || !d->in_planes || !d->acc || !d->wx || !d->rx || !d->tile_out
      || !d->tile_shift || !d->tile_inv || !d->prev_inv || !d->pol_cum)
    return FALSE;
  d->win_x = make_window (d->pw);
  d->win_y = make_window (d->ph);
  for (gint64 j = 0; j < d->ax.n_tiles; j++)
    for (guint i = 0; i < d->pw; i++)
      d->wx[j * d->pw + i] = axis_weight (&d->ax, d->win_x, j, i);
  for (gint64 i = 0; i < span; i++)
    d->rx[i] = reflect (d->ax.t0 + i, d->width);
  memset (d->prev_inv, -1, d->ax.n_tiles);
  d->job_ry = g_new (guint, d->ph);
  d->wy = g_new (float, d->ph);
  return TRUE;
}

/* A model's unsigned metadata value in [lo, hi], or 0. */
static guint
metadata_uint (const DaeModel *model, const char *key, guint lo, guint hi)
{
  const char *v = dae_model_get_metadata (model, key);
  guint64 n = 0;
  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, lo, hi, &n, NULL))
    return 0;
  return (guint) n;
}

/* The default tile step: the model's metadata "stride" (a step it was
 * measured to lose nothing at), else half a patch. */
static guint
default_stride (const DaeModel *model, guint patch)
{
  const guint s = metadata_uint (model, "stride", 1, patch);
  return s ? s : MAX (patch / 2, 1u);
}

/* The Wiener filter's share of a plane of a photo (wiener.c): all of it up
 * to 16/255 of noise, falling to none at 36/255, where the model's output
 * alone measured better (train400, every 20th image, blind: the best share
 * 1 at 10/255, +0.53 dB; 0.75 at 15, +0.36; 0.5 at 20 and 25, +0.14 and
 * +0.08; 0.25 at 30, +0.05).  Only for noise that is white: correlated
 * noise reads low in the finest band, and the filter, told that little,
 * gave the blotches back (train400, noise blurred by 0.8 px, 25/255: -2.5
 * dB); its weak-textured patches' smallest eigenvalue is then a small part
 * of their RMS (0.05-0.19 against 0.79-0.94 for white noise, 0.72-0.93
 * for photon noise). */
#define WIENER_FULL (16.0 / 255)
#define WIENER_NONE (36.0 / 255)
/* An image this page-like that is not surely a page gets the photo model
 * to do less harm, and no Wiener filter: the detail it gives back is noise
 * to OCR (bench-ocr's faded-2, a page at 0.80: 0.78% -> 0.88% CER for its
 * kind with it); 10 of 340 noisy BSD68 images lie as high. */
#define WIENER_PAGE_LIKE 0.75

static float
wiener_gate (const DaeImageStats *st)
{
  if (st->patch_noise < 0.0 || st->patch_rms <= 0.0)
    return 0.0f;
  const double q = st->patch_noise / st->patch_rms;
  return (float) CLAMP ((q - 0.4) / 0.3, 0.0, 1.0);
}

/* How white a plane's noise looks: the luma's by its patches; an opponent
 * chroma plane's also by the share of its noise the finest band holds (all
 * of it for white noise; a JPEG's 4:2:0 chroma keeps its noise in blotches
 * that the next bands see). */
static float
chroma_whiteness (const DaeImageStats *st, guint k)
{
  return st->chroma_sigma[k] > 0.0 ? (float) (st->chroma_fine[k] / st->chroma_sigma[k]) : 0.0f;
}

static float
plane_gate (const DaeDenoiser *d, guint c)
{
  const float luma = wiener_gate (&d->stats);
  if (c == 0 || d->color != DAE_COLOR_OPPONENT || d->n_color != 3)
    return luma;
  const float q = chroma_whiteness (&d->stats, c - 1);
  return luma * CLAMP ((q - 0.6f) / 0.3f, 0.0f, 1.0f);
}

/* Whether start_wiener() set the filter up. */
static inline gboolean
wiener_on (const DaeDenoiser *d)
{
  return d->wiener.noisy != NULL;
}

static gboolean
start_wiener (DaeDenoiser *d)
{
  if (d->content != CONTENT_PHOTO || d->opt.strength != DAE_STRENGTH_AUTO || d->idle
      || d->chroma_plane /* it pulled saturated colours towards their clipped noise */
      || wiener_gate (&d->stats) == 0.0f || d->stats.p_document >= WIENER_PAGE_LIKE
      || d->width < DAE__WIENER_BLOCK || d->height < DAE__WIENER_BLOCK)
    return TRUE;
  float alpha[3];
  gboolean any = FALSE;
  for (guint c = 0; c < d->n_planes; c++)
    {
      const double ramp = (WIENER_NONE - d->plane_sigma[c]) / (WIENER_NONE - WIENER_FULL);
      alpha[c] = d->plane_strength[c] == 0.0f ? 0.0f
                 : plane_gate (d, c) * (float) CLAMP (ramp, 0.0, 1.0);
      any |= alpha[c] > 0.0f;
    }
  const gboolean opponent = d->color == DAE_COLOR_OPPONENT && d->n_color == 3;
  return !any || dae__wiener_init (&d->wiener, d->width, d->height, d->n_planes,
                                   opponent ? 1 : d->n_planes, opponent && d->n_planes > 1,
                                   d->plane_sigma, alpha, d->width * d->channels,
                                   (guint64) d->width * d->height <= DAE__WIENER_DENSE_PIXELS
                                   ? 1 : 2);
}

/* The half-size chroma planes' denoisers: the photo model, no choice of
 * theirs but the strength, this pool. */
static gboolean
start_half_chroma (DaeDenoiser *d, GError **error)
{
  DaeDenoiseOptions o = d->opt;
  o.invert = DAE_INVERT_OFF;
  o.color = DAE_COLOR_AUTO;
  o.ink_guard = o.despeckle = o.impulse_filter = o.soften_bilevel = FALSE; /* done already */
  o.ensemble = d->passes; /* the whole image's, not its half-size plane's */
  d->chroma_row = g_try_new (float, d->half_planes * (size_t) d->width);
  if (d->chroma_row == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for an image %u pixels wide", d->width);
      return FALSE;
    }
  return dae__half_chroma_init (&d->hc, d->model, &o, d->width, d->height, d->half_planes,
                                d->lookahead, d->pool, error);
}

/* A page's tiles turn only in ways that keep its lines of text lines. */
static gboolean
keep_rows (const DaeDenoiser *d)
{
  return d->content == CONTENT_DOCUMENT;
}

/* The passes a model declares for its noisy images (metadata "ensemble":
 * 2, 4 or 8), else 0. */
static guint
declared_count (const DaeModel *model)
{
  const guint n = metadata_uint (model, "ensemble", 2, 8);
  return (n & (n - 1)) == 0 ? n : 0;
}

/* Whether the declared passes run, and at which step: from
 * "ensemble-noise"/255 of noise on (0 meaning any), at "ensemble-stride";
 * from "ensemble-dense-noise"/255 on, at "ensemble-dense-stride".  One pass
 * where the noise is lower, whose estimate has little error left for a
 * mean to take out (document.dae: mildly scanned pages read worse with
 * two, bench/real/README.md), and on a document whose noise is only its
 * edges' (a clean render); more overlap on the noisiest images averages
 * more of the estimate's error. */
static PassesRule
passes_rule (const DaeDenoiser *d, const DaeModel *model)
{
  if (d->opt.ensemble > 0 || declared_count (model) == 0)
    return PASSES_UNDECLARED;
  const double noise = strength_noise (&d->stats);
  if (noise < metadata_uint (model, "ensemble-noise", 0, 255) / 255.0)
    return PASSES_UNDER_NOISE;
  if (d->content == CONTENT_DOCUMENT && !dae__noise_on_paper (&d->stats))
    return PASSES_NO_GRAIN;
  const guint dense = metadata_uint (model, "ensemble-dense-noise", 1, 255);
  return dense > 0 && noise >= dense / 255.0 ? PASSES_DENSE : PASSES_DECLARED;
}

/* Whether a photo's passes, and so its step, are the size's to choose. */
static gboolean
auto_photo_passes (const DaeDenoiser *d)
{
  return d->content == CONTENT_PHOTO && d->opt.ensemble == 0
         && d->passes_rule < PASSES_DECLARED;
}

/* The self-ensemble's passes: as the model declares, within what its tiles
 * allow; else asked; else for a photo as many as its size allows; else 1. */
static guint
resolve_passes (const DaeDenoiser *d, const DaeModel *model)
{
  if (d->passes_rule >= PASSES_DECLARED)
    return MIN (declared_count (model), dae__ensemble_max_passes (d->ph, d->pw, keep_rows (d)));
  if (d->opt.ensemble > 0)
    return MIN (d->opt.ensemble, dae__ensemble_max_passes (d->ph, d->pw, keep_rows (d)));
  if (!auto_photo_passes (d))
    return 1;
  return dae__ensemble_auto_passes ((guint64) d->width * d->height, d->ph, d->pw);
}

/* The step between tiles: asked, else the model's for its declared passes
 * ("ensemble-stride": document.dae's two passes at 96 cost what one at 64
 * does; "ensemble-dense-stride" on the noisiest images), else its own
 * ("stride") or half a patch, made finer for a photo small enough to
 * afford it. */
static guint
resolve_stride (const DaeDenoiser *d, const DaeModel *model, guint patch)
{
  if (d->opt.stride)
    return d->opt.stride;
  const char *key = d->passes_rule == PASSES_DENSE ? "ensemble-dense-stride" : "ensemble-stride";
  const guint declared = d->passes_rule >= PASSES_DECLARED
                         ? metadata_uint (model, key, 1, patch) : 0;
  if (declared)
    return declared;
  if (auto_photo_passes (d))
    return dae__ensemble_auto_stride ((guint64) d->width * d->height, d->passes,
                                      default_stride (model, patch));
  return default_stride (model, patch);
}

/* Everything that depends on the model: tiles, rings, workers. */
static gboolean
setup (DaeDenoiser *d, const DaeModel *model, GError **error)
{
  d->model = model;
  resolve_color_strength (d, model);
  dae__ink_guard_init (&d->guard, &d->stats);
  d->guard.active &= d->content == CONTENT_DOCUMENT && d->opt.ink_guard;
  d->guard.keep_ink &= !d->impulse_wanted; /* a noisy 1-bit page's noise is ink-coloured */
  dae__specks_init (&d->specks, &d->stats);
  d->specks.active &= d->content == CONTENT_DOCUMENT && d->opt.despeckle;
  d->idle = TRUE;
  for (guint c = 0; c < d->n_planes; c++)
    d->idle &= d->plane_strength[c] == 0.0f;
  dae_model_get_patch_size (model, &d->ph, &d->pw);
  /* decided once: the passes, then the step they run at */
  d->passes_rule = passes_rule (d, model);
  d->passes = resolve_passes (d, model);
  const guint sy = resolve_stride (d, model, d->ph);
  const guint sx = resolve_stride (d, model, d->pw);
  axis_plan (&d->ax, d->width, d->pw, sx);
  axis_plan (&d->ay, d->height, d->ph, sy);
  d->in_cap = (guint) input_ring_rows (&d->ay);
  d->acc_cap = MIN (d->ph, d->height);
  d->model_bg = model_background (model);
  d->invert_auto = d->opt.invert == DAE_INVERT_AUTO && d->model_bg != BG_ANY;
  d->fixed_inverted = d->opt.invert == DAE_INVERT_ON;

  d->pool = d->shared_pool != NULL ? d->shared_pool : dae__pool_new (d->opt.threads);
  d->n_workers = dae__pool_get_n_workers (d->pool);
  d->group_cols = (guint) MIN ((gint64) d->n_workers * BATCH * ROUNDS, d->ax.n_tiles);
  const size_t area = (size_t) d->ph * d->pw;
  const guint64 bytes = memory_needed (d->width, d->channels, d->n_planes, d->in_cap,
                                       d->acc_cap, d->group_cols, area);
  if (!bytes_fit (d->width, bytes, error))
    return FALSE;
  if (!alloc_buffers (d))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for an image %u pixels wide", d->width);
      return FALSE;
    }
  d->runners = g_new0 (DaeRunner *, d->n_workers);
  d->tile_in = g_new0 (float *, d->n_workers);
  d->pass_scratch = g_new0 (float *, d->n_workers);
  d->guard_held = g_new0 (guint64, d->n_workers);
  d->guard_kept = g_new0 (guint64, d->n_workers);
  d->specks_erased = g_new0 (guint64, d->n_workers);
  d->specks_scratch = g_new0 (void *, d->n_workers);
  for (guint w = 0; w < d->n_workers; w++)
    {
      d->runners[w] = dae_runner_new (model, d->ph, d->pw, error);
      if (d->runners[w] == NULL)
        return FALSE;
      dae_runner_set_conv_path (d->runners[w], d->opt.conv_path);
      /* BATCH tiles, and the guard's scratch when it runs */
      d->tile_in[w] = g_new (float, (BATCH + (d->guard.active ? 3 : 0)) * area);
      if (d->specks.active)
        d->specks_scratch[w] = g_malloc (dae__specks_scratch_size (d->ph, d->pw));
      if (d->passes > 1)
        d->pass_scratch[w] = g_new (float, dae__ensemble_scratch_floats (d->passes, BATCH,
                                                                         d->ph, d->pw));
    }
  d->planes_row = g_new (float, (size_t) d->width * d->n_planes);
  if (d->half_planes > 0 && !start_half_chroma (d, error))
    return FALSE;
  if (!start_wiener (d))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for an image %u pixels wide", d->width);
      return FALSE;
    }
  d->ready = TRUE;
  return TRUE;
}

/* Whether anything must be decided from the image before the first tile. */
static gboolean
needs_lookahead (const DaeDenoiser *d)
{
  if (d->n_candidates > 1)
    return TRUE;
  const DaeModel *m = d->candidates[0];
  return (d->opt.invert == DAE_INVERT_AUTO && model_background (m) != BG_ANY)
         || (d->opt.strength == DAE_STRENGTH_AUTO && model_clean_error (m) > 0.0)
         || d->content == CONTENT_DOCUMENT; /* the ink guard's levels */
}

/* Refuses an absurd width before anything is allocated (here or by the
 * caller), whichever model the image gets: the rows setup() would keep,
 * with the most planes, and the look-ahead. */
static gboolean
width_fits (const DaeDenoiser *d, GError **error)
{
  const guint64 look = (guint64) d->width * d->channels * MIN (d->height, DAE__LOOK_MIN_ROWS);
  for (guint i = 0; i < d->n_candidates; i++)
    {
      guint ph, pw;
      dae_model_get_patch_size (d->candidates[i], &ph, &pw);
      const guint64 bytes = memory_needed (d->width, d->channels, 3, 2 * (guint64) ph, ph,
                                           1, (guint64) ph * pw) + 4 * look;
      if (!bytes_fit (d->width, bytes, error))
        return FALSE;
    }
  return TRUE;
}

/* A chroma plane's denoiser's ties to its parent (chroma.c): the parent's
 * pool, and the rows it may hold for its choices. */
typedef struct {
  DaeThreadPool *pool;
  guint lookahead;
} Parent;

static DaeDenoiser *
denoiser_new (const DaeModel *const *candidates, guint n_candidates,
              const DaeDenoiseOptions *options, guint width, guint height, guint channels,
              gboolean has_alpha, const Parent *parent, GError **error)
{
  DaeDenoiseOptions opt;
  if (options != NULL)
    opt = *options;
  else
    dae_denoise_options_init (&opt);
  if (!validate (&opt, width, height, channels, has_alpha, error))
    return NULL;
  for (guint i = 0; i < n_candidates; i++)
    if (!validate_model (candidates[i], &opt, error))
      return NULL;

  g_autoptr (DaeDenoiser) d = g_new0 (DaeDenoiser, 1);
  d->opt = opt;
  d->width = width;
  d->height = height;
  d->channels = channels;
  d->has_alpha = has_alpha;
  d->n_color = channels - (has_alpha ? 1 : 0);
  d->n_candidates = n_candidates;
  for (guint i = 0; i < n_candidates; i++)
    d->candidates[i] = candidates[i];
  d->content = n_candidates > 1 ? CONTENT_OTHER : model_content (candidates[0]);
  d->chroma_plane = parent != NULL;
  d->shared_pool = parent != NULL ? parent->pool : NULL;
  if (!width_fits (d, error))
    return NULL;
  if (!needs_lookahead (d))
    return setup (d, candidates[0], error) ? g_steal_pointer (&d) : NULL;

  const guint64 row_f = (guint64) width * channels;
  d->lookahead = dae__lookahead_rows (width, height, channels);
  if (parent != NULL && parent->lookahead > 0) /* the rows its parent looked at */
    d->lookahead = MIN (d->lookahead, MAX (parent->lookahead, 16u));
  if (4 * row_f * d->lookahead > MAX_BYTES
      || (d->pending = g_try_new (float, row_f * d->lookahead)) == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for an image %u pixels wide", width);
      return NULL;
    }
  return g_steal_pointer (&d);
}

DaeDenoiser *
dae_denoiser_new (const DaeModel *model, const DaeDenoiseOptions *options,
                  guint width, guint height, guint channels,
                  gboolean has_alpha, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  return denoiser_new (&model, 1, options, width, height, channels, has_alpha, NULL, error);
}

DaeDenoiser *
dae_denoiser_new_for_set (const DaeModelSet *set, const DaeDenoiseOptions *options,
                          guint width, guint height, guint channels, gboolean has_alpha,
                          GError **error)
{
  g_return_val_if_fail (set != NULL, NULL);
  const guint n = MIN (dae_model_set_get_n_models (set), 2u);
  const DaeModel *models[2] = { NULL, NULL };
  for (guint i = 0; i < n; i++)
    models[i] = dae_model_set_get_model (set, i, NULL);
  return denoiser_new (models, n, options, width, height, channels, has_alpha, NULL, error);
}

DaeDenoiser *
dae__denoiser_new_chroma (const DaeModel *model, const DaeDenoiseOptions *opt, guint width,
                          guint height, guint lookahead, DaeThreadPool *pool,
                          GError **error)
{
  const Parent parent = { pool, lookahead };
  return denoiser_new (&model, 1, opt, width, height, 1, FALSE, &parent, error);
}

void
dae_denoiser_free (DaeDenoiser *d)
{
  if (d == NULL)
    return;
  if (d->runners != NULL)
    for (guint w = 0; w < d->n_workers; w++)
      {
        dae_runner_free (d->runners[w]);
        g_free (d->tile_in[w]);
        g_free (d->pass_scratch[w]);
        g_free (d->specks_scratch[w]);
      }
  g_free (d->runners);
  g_free (d->tile_in);
  g_free (d->pass_scratch);
  g_free (d->guard_held);
  g_free (d->guard_kept);
  g_free (d->specks_erased);
  g_free (d->specks_scratch);
  dae__prefilter_clear (&d->impulse);
  g_free (d->impulse_out);
  dae__prefilter_clear (&d->soften);
  g_free (d->soften_out);
  dae__wiener_clear (&d->wiener);
  g_free (d->planes_row);
  dae__half_chroma_clear (&d->hc);
  g_free (d->chroma_row);
  if (d->shared_pool == NULL)
    dae__pool_free (d->pool);
  g_free (d->in_rows);
  g_free (d->in_planes);
  g_free (d->acc);
  g_free (d->wx);
  g_free (d->rx);
  g_free (d->tile_out);
  g_free (d->tile_shift);
  g_free (d->win_x);
  g_free (d->win_y);
  g_free (d->job_ry);
  g_free (d->wy);
  g_free (d->queue);
  g_free (d->tile_inv);
  g_free (d->prev_inv);
  g_free (d->pol_cum);
  g_free (d->pending);
  g_free (d->why);
  if (d->worker_error != NULL)
    g_error_free (d->worker_error);
  g_free (d);
}

static inline float
luminance (const DaeDenoiser *d, const float *px)
{
  if (d->n_color == 3)
    return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
  if (d->n_color == 1)
    return px[0];
  return 0.5f * (px[0] + px[1]);
}

/* Luma histograms of the tile row's band, per column block, cumulated
 * over the blocks: pol_cum[b * POL_BINS + i] counts the band's pixels of
 * level i in the columns before block b. */
static void
band_histograms (DaeDenoiser *d)
{
  const guint blocks = (d->width + POL_BLOCK - 1) / POL_BLOCK;
  memset (d->pol_cum, 0, (size_t) (blocks + 1) * POL_BINS * sizeof (guint32));
  for (guint i = 0; i < d->ph; i++)
    {
      const float *row = d->in_rows + (size_t) d->job_ry[i] * d->width * d->channels;
      for (guint x = 0; x < d->width; x++)
        {
          const float v = luminance (d, row + (size_t) x * d->channels);
          const int bin = v >= 1.0f ? (int) POL_BINS - 1 : v > 0.0f ? (int) (v * POL_BINS) : 0;
          d->pol_cum[(size_t) (x / POL_BLOCK + 1) * POL_BINS + bin]++;
        }
    }
  for (guint b = 1; b <= blocks; b++)
    for (guint i = 0; i < POL_BINS; i++)
      d->pol_cum[(size_t) b * POL_BINS + i] += d->pol_cum[(size_t) (b - 1) * POL_BINS + i];
}

/* Tile j's evidence: 1 if its window shows ink darker than the dominant
 * level (a light background), 0 if lighter, -1 if neither clearly (no
 * ink, or as much on both sides, as noise gives). */
static int
window_light (const DaeDenoiser *d, gint64 j)
{
  const guint blocks = (d->width + POL_BLOCK - 1) / POL_BLOCK;
  const gint64 reach = (gint64) POL_REACH * d->pw;
  const gint64 xs = axis_start (&d->ax, j);
  const guint b0 = (guint) CLAMP ((xs - reach) / (gint64) POL_BLOCK, 0, (gint64) blocks);
  const guint b1 = (guint) CLAMP ((xs + d->pw + reach + POL_BLOCK - 1) / (gint64) POL_BLOCK,
                                  (gint64) b0 + 1, (gint64) blocks);
  double h[POL_BINS], n = 0;
  for (guint i = 0; i < POL_BINS; i++)
    n += h[i] = d->pol_cum[(size_t) b1 * POL_BINS + i] - d->pol_cum[(size_t) b0 * POL_BINS + i];
  guint med = 0;
  for (double seen = 0; med < POL_BINS - 1 && (seen += h[med]) * 2 < n; med++)
    ;
  const int delta = (int) ceil (MAX (0.12, 2 * d->stats.sigma) * POL_BINS);
  double dark = 0, light = 0;
  for (int i = 0; i < (int) POL_BINS; i++)
    {
      dark += i < (int) med - delta ? h[i] : 0;
      light += i > (int) med + delta ? h[i] : 0;
    }
  const double need = MAX (0.005 * n, 3 * sqrt (dark + light));
  const int verdict = dark - light > need ? 1 : light - dark > need ? 0 : -1;
  /* A region contradicts the image's majority only when its own level is
   * nearer the ink than the image's ink/paper split: a dark panel on a
   * light page, not a coffee stain or a shadow. */
  const double level = (med + 0.5) / POL_BINS;
  const double bar = 0.5 * (d->stats.threshold + d->stats.ink);
  if (verdict >= 0 && verdict != d->stats.light
      && (d->stats.light ? level >= bar : level <= bar))
    return -1;
  return verdict;
}

/* Per-region polarity of tile row k: each tile by its window; a tile with
 * no clear evidence takes the decision of the tile above, else of the
 * nearest decided tile of its row, else the image's majority. */
static void
decide_tile_polarity (DaeDenoiser *d)
{
  const gint64 n = d->ax.n_tiles;
  if (!d->invert_auto)
    {
      memset (d->tile_inv, d->fixed_inverted, n);
      return;
    }
  band_histograms (d);
  const int want_light = d->model_bg == BG_LIGHT;
  for (gint64 j = 0; j < n; j++)
    {
      const int light = window_light (d, j);
      d->tile_inv[j] = light < 0 ? -1 : light != want_light;
    }
  const gint8 prior = d->stats.light != want_light;
  for (gint64 j = 0; j < n; j++)
    {
      if (d->tile_inv[j] >= 0)
        continue;
      gint8 v = d->prev_inv[j];
      for (gint64 r = 1; v < 0 && r < n; r++)
        v = j - r >= 0 && d->tile_inv[j - r] >= 0 ? d->tile_inv[j - r]
            : j + r < n && d->tile_inv[j + r] >= 0 ? d->tile_inv[j + r] : -1;
      d->tile_inv[j] = v >= 0 ? v : prior;
    }
  memcpy (d->prev_inv, d->tile_inv, n);
}

static void
gather_tile (const DaeDenoiser *d, guint plane, gint64 j, float *out)
{
  const gint64 *rx = d->rx + j * d->ax.stride;
  const size_t plane_f = (size_t) d->width * d->n_planes;
  for (guint i = 0; i < d->ph; i++)
    {
      const float *src = d->in_planes + d->job_ry[i] * plane_f + (size_t) plane * d->width;
      float *dst = out + (size_t) i * d->pw;
      if (d->tile_inv[j])
        for (guint c = 0; c < d->pw; c++)
          dst[c] = 1.0f - src[rx[c]];
      else
        for (guint c = 0; c < d->pw; c++)
          dst[c] = src[rx[c]];
    }
}

/* Moves a tile's level towards mid-grey, as far as its range allows, and
 * returns the shift: a photo model's sigmoid output is biased near 0 and 1
 * (-6.6/255 on a red flower's (R-B)/2 chroma plane at 0.92), not at 0.5. */
static float
centre_tile (float *tile, size_t area)
{
  float lo = tile[0], hi = tile[0];
  double sum = 0;
  for (size_t i = 0; i < area; i++)
    {
      lo = MIN (lo, tile[i]);
      hi = MAX (hi, tile[i]);
      sum += tile[i];
    }
  const float shift = CLAMP (0.5f - (float) (sum / area), -lo, 1.0f - hi);
  if (!(shift > 0.0f || shift < 0.0f))
    return 0.0f; /* also NaN (a NaN input) */
  for (size_t i = 0; i < area; i++)
    tile[i] += shift;
  return shift;
}

/* Records the first failure (a worker's or the calling thread's); the
 * push that sees it reports it. */
static void
fail (DaeDenoiser *d, GError *error)
{
  if (!g_atomic_pointer_compare_and_exchange (&d->worker_error, NULL, error))
    g_error_free (error);
  g_atomic_int_set (&d->failed, TRUE);
}

static void
run_batch (size_t item, guint worker, gpointer data)
{
  DaeDenoiser *d = data;
  const size_t area = (size_t) d->ph * d->pw;
  const guint plane = item / d->job_batches;
  const guint first = (item % d->job_batches) * BATCH;
  const guint n = MIN (BATCH, d->job_cols - first);
  float *in = d->tile_in[worker];
  float *shift = d->tile_shift + (size_t) plane * d->group_cols + first;
  for (guint t = 0; t < n; t++)
    {
      gather_tile (d, plane, d->job_j0 + first + t, in + t * area);
      shift[t] = d->centre ? centre_tile (in + t * area, area) : 0.0f;
    }
  float *out = d->tile_out + ((size_t) plane * d->group_cols + first) * area;
  GError *error = NULL;
  if (!dae__ensemble_forward (d->runners[worker], d->passes, keep_rows (d), n, d->ph, d->pw, in,
                              out, d->pass_scratch[worker], &error))
    {
      g_prefix_error (&error, "the forward pass failed: ");
      fail (d, error);
      return;
    }
  /* the guard knows the levels of the luma, gray or R, G, B: not of chroma */
  const gboolean guard = d->guard.active && (plane == 0 || d->color == DAE_COLOR_RGB);
  const gboolean specks = d->specks.active && (plane == 0 || d->color == DAE_COLOR_RGB);
  for (guint t = 0; t < n; t++)
    {
      const gboolean inverted = d->tile_inv[d->job_j0 + first + t] != 0;
      if (guard)
        d->guard_held[worker] += dae__ink_guard_tile (&d->guard, in + t * area, out + t * area,
                                                      d->ph, d->pw, inverted, in + BATCH * area);
      if (guard && d->guard.keep_ink)
        d->guard_kept[worker] += dae__ink_guard_keep (&d->guard, in + t * area, out + t * area,
                                                      area, inverted);
      if (specks)
        d->specks_erased[worker] += dae__specks_tile (&d->specks, out + t * area, d->ph, d->pw,
                                                      inverted, d->specks_scratch[worker]);
    }
}

/* Adds the group's weighted tiles into the accumulators, tile by tile in
 * column order: the one summation order, whatever ran the tiles. */
static void
accumulate_group (DaeDenoiser *d, gint64 k)
{
  const size_t area = (size_t) d->ph * d->pw;
  const size_t plane_f = (size_t) d->width * d->n_planes;
  const gint64 ys = axis_start (&d->ay, k);
  for (guint p = 0; p < d->n_planes; p++)
    for (guint t = 0; t < d->job_cols; t++)
      {
        const gint64 j = d->job_j0 + t;
        const gint64 xs = axis_start (&d->ax, j);
        const float *wx = d->wx + j * d->pw;
        const float *tile = d->tile_out + ((size_t) p * d->group_cols + t) * area;
        const float shift = d->tile_shift[(size_t) p * d->group_cols + t];
        const guint c0 = xs < 0 ? (guint) -xs : 0;
        const guint c1 = (guint) MIN ((gint64) d->pw, (gint64) d->width - xs);
        for (guint i = 0; i < d->ph; i++)
          {
            const gint64 y = ys + i;
            if (y < 0 || y >= (gint64) d->height)
              continue;
            const float wy = d->wy[i];
            float *acc = d->acc + (size_t) (y % d->acc_cap) * plane_f
                         + (size_t) p * d->width;
            const float *src = tile + (size_t) i * d->pw;
            if (d->tile_inv[j])
              for (guint c = c0; c < c1; c++)
                acc[xs + c] += wy * wx[c] * (1.0f - (src[c] - shift));
            else
              for (guint c = c0; c < c1; c++)
                acc[xs + c] += wy * wx[c] * (src[c] - shift);
          }
      }
}

static float *
queue_reserve (DaeDenoiser *d)
{
  const size_t row_f = (size_t) d->width * d->channels;
  if (d->queue_head + d->queue_len == d->queue_cap)
    {
      if (d->queue_head > 0)
        {
          memmove (d->queue, d->queue + d->queue_head * row_f,
                   d->queue_len * row_f * sizeof (float));
          d->queue_head = 0;
        }
      if (d->queue_len == d->queue_cap)
        {
          const guint cap = MAX (d->queue_cap * 2, d->ph);
          float *q = g_try_renew (float, d->queue, (size_t) cap * row_f);
          if (q == NULL)
            return NULL;
          d->queue = q;
          d->queue_cap = cap;
        }
    }
  return d->queue + (size_t) (d->queue_head + d->queue_len) * row_f;
}

static inline float
clamp01 (float v)
{
  return v >= 1.0f ? 1.0f : v > 0.0f ? v : 0.0f; /* NaN -> 0 */
}

/* The opponent planes of a pixel (dae__opponent) and back. */
static inline void
to_opponent (const float *rgb, float *p, size_t stride)
{
  for (guint k = 0; k < 3; k++)
    p[k * stride] = dae__opponent (rgb, k);
}

static inline void
from_opponent (const float *p, float *rgb)
{
  float c[3];
  dae__opponent_to_rgb (p, c);
  for (guint k = 0; k < 3; k++)
    rgb[k] = clamp01 (c[k]);
}

/* The planes of accumulated row y blended with the input's by each
 * plane's strength. */
static void
blend_row (const DaeDenoiser *d, guint64 y, float *planes)
{
  const size_t plane_f = (size_t) d->width * d->n_planes;
  const float *acc = d->acc + (size_t) (y % d->acc_cap) * plane_f;
  const float *in_pl = d->in_planes + (size_t) (y % d->in_cap) * plane_f;
  for (guint c = 0; c < d->n_planes; c++)
    {
      const float s = d->plane_strength[c];
      for (size_t i = (size_t) c * d->width; i < (size_t) (c + 1) * d->width; i++)
        planes[i] = s * acc[i] + (1.0f - s) * in_pl[i];
    }
}

/* Makes the queued rows whose chroma is ready complete, in order: the
 * opponent planes a queued row holds (the last ones the input's), with the
 * half-size chroma brought back, to R, G, B. */
static void
complete_rows (DaeDenoiser *d)
{
  const size_t row_f = (size_t) d->width * d->channels;
  const guint first = d->n_planes; /* the first plane at half size */
  float *c = d->chroma_row;
  if (d->half_planes == 0)
    d->queue_ready = d->queue_len;
  for (; d->queue_ready < d->queue_len && dae__half_chroma_ready (&d->hc, d->rows_done);
       d->queue_ready++, d->rows_done++)
    {
      float *q = d->queue + (size_t) (d->queue_head + d->queue_ready) * row_f;
      for (guint x = 0; x < d->width; x++)
        for (guint k = 0; k < d->half_planes; k++)
          c[(size_t) k * d->width + x] = q[(size_t) x * d->channels + first + k];
      dae__half_chroma_row (&d->hc, d->rows_done, c);
      for (guint x = 0; x < d->width; x++)
        {
          float *px = q + (size_t) x * d->channels;
          float p[3] = { px[0], px[1], px[2] };
          for (guint k = 0; k < d->half_planes; k++)
            p[first + k] = c[(size_t) k * d->width + x];
          from_opponent (p, px);
        }
    }
}

/* A row of planes back to the image's channels, into the next queue row:
 * the luma's change added to each channel of the input row `in` (whose
 * planes are in_pl), alpha copied. */
static void
emit_row (DaeDenoiser *d, const float *planes, const float *in_pl, const float *in)
{
  float *out = queue_reserve (d);
  if (out == NULL)
    {
      fail (d, g_error_new (DAE_ERROR, DAE_ERROR_LIMIT,
                            "out of memory for %u finished rows not pulled yet", d->queue_len));
      return;
    }
  const gboolean opponent = d->color == DAE_COLOR_OPPONENT && d->n_color == 3;
  for (guint x = 0; x < d->width; x++)
    {
      const float *pi = in + (size_t) x * d->channels;
      float *po = out + (size_t) x * d->channels;
      if (d->luma)
        for (guint c = 0; c < 3; c++)
          po[c] = clamp01 (pi[c] + (planes[x] - in_pl[x]));
      else if (d->half_planes > 0) /* the input's last planes: complete_rows replaces them */
        for (guint c = 0; c < 3; c++)
          po[c] = c < d->n_planes ? planes[(size_t) c * d->width + x] : dae__opponent (pi, c);
      else if (opponent)
        {
          const float p[3] = { planes[x], planes[d->width + x], planes[2 * (size_t) d->width + x] };
          from_opponent (p, po);
        }
      else
        for (guint c = 0; c < d->n_color; c++)
          po[c] = clamp01 (planes[(size_t) c * d->width + x]);
      if (d->has_alpha)
        po[d->channels - 1] = pi[d->channels - 1];
    }
  d->queue_len++;
  complete_rows (d);
}

/* Turns accumulated row y into output, through the Wiener filter when it
 * is on (then the rows it makes final come out, in order). */
static void
finish_row (DaeDenoiser *d, guint64 y)
{
  const size_t plane_f = (size_t) d->width * d->n_planes;
  const float *in = d->in_rows + (size_t) (y % d->in_cap) * d->width * d->channels;
  const float *in_pl = d->in_planes + (size_t) (y % d->in_cap) * plane_f;
  blend_row (d, y, d->planes_row);
  if (!wiener_on (d))
    emit_row (d, d->planes_row, in_pl, in);
  else
    {
      dae__wiener_push (&d->wiener, in_pl, d->planes_row, in, d->pool);
      const float *noisy, *row;
      while (dae__wiener_pop (&d->wiener, d->planes_row, &noisy, &row))
        emit_row (d, d->planes_row, noisy, row);
    }
  memset (d->acc + (size_t) (y % d->acc_cap) * plane_f, 0, plane_f * sizeof (float));
}

/* The tiles of tile row k, through the model into the accumulators. */
static void
run_tiles (DaeDenoiser *d, gint64 k)
{
  const gint64 ys = axis_start (&d->ay, k);
  for (guint i = 0; i < d->ph; i++)
    {
      d->job_ry[i] = (guint) (reflect (ys + i, d->height) % d->in_cap);
      d->wy[i] = axis_weight (&d->ay, d->win_y, k, i);
    }
  decide_tile_polarity (d);
  for (gint64 j = 0; j < d->ax.n_tiles; j++)
    d->tiles_inverted += d->tile_inv[j] > 0;
  d->tiles_run += d->ax.n_tiles;
  for (gint64 j0 = 0; j0 < d->ax.n_tiles; j0 += d->group_cols)
    {
      d->job_j0 = j0;
      d->job_cols = (guint) MIN ((gint64) d->group_cols, d->ax.n_tiles - j0);
      d->job_batches = (d->job_cols + BATCH - 1) / BATCH;
      dae__pool_run (d->pool, (size_t) d->job_batches * d->n_planes, run_batch, d);
      accumulate_group (d, k);
    }
}

static void
run_tile_row (DaeDenoiser *d, gint64 k)
{
  if (!d->idle) /* else finish_row gives the input back: no need to run */
    run_tiles (d, k);
  const guint64 done = (guint64) out_lo (&d->ay, k + 1);
  for (; d->out_next < done && !g_atomic_int_get (&d->failed); d->out_next++)
    finish_row (d, d->out_next);
}

static void
run_ready_tile_rows (DaeDenoiser *d)
{
  const gint64 bottom = bottom_lo (&d->ay);
  while (d->next_tile_row < d->ay.n_tiles)
    {
      gint64 lo, hi;
      tile_rows_needed (&d->ay, d->next_tile_row, &lo, &hi);
      if ((guint64) hi > d->pushed)
        break;
      run_tile_row (d, d->next_tile_row);
      d->next_tile_row++;
      d->ring_lo = MAX (d->ring_lo, (guint64) keep_lo (&d->ay, d->next_tile_row, bottom));
    }
}

static void
store_row (DaeDenoiser *d, const float *row)
{
  const size_t slot = d->pushed % d->in_cap;
  float *dst = d->in_rows + slot * d->width * d->channels;
  float *pl = d->in_planes + slot * d->width * d->n_planes;
  memcpy (dst, row, (size_t) d->width * d->channels * sizeof (float));
  for (guint x = 0; x < d->width; x++)
    {
      const float *px = row + (size_t) x * d->channels;
      if (d->luma)
        pl[x] = luminance (d, px);
      else if (d->half_planes > 0) /* the first planes stay, the last go to chroma.c */
        for (guint c = 0; c < 3; c++)
          {
            float *to = c < d->n_planes ? pl + (size_t) c * d->width
                        : d->chroma_row + (size_t) (c - d->n_planes) * d->width;
            to[x] = dae__opponent (px, c);
          }
      else if (d->color == DAE_COLOR_OPPONENT && d->n_color == 3)
        to_opponent (px, pl + x, d->width);
      else
        for (guint c = 0; c < d->n_planes; c++)
          pl[(size_t) c * d->width + x] = px[c];
    }
  d->pushed++;
  GError *error = NULL;
  if (d->half_planes > 0 && !dae__half_chroma_push (&d->hc, d->chroma_row, &error))
    fail (d, error);
  complete_rows (d);
}

/* Stores rows into the ring and runs the tile rows they complete. */
static gboolean
push_ready (DaeDenoiser *d, const float *rows, guint n_rows, GError **error)
{
  const size_t row_f = (size_t) d->width * d->channels;
  for (;;)
    {
      run_ready_tile_rows (d);
      if (g_atomic_int_get (&d->failed))
        {
          if (d->worker_error != NULL)
            g_set_error_literal (error, d->worker_error->domain, d->worker_error->code,
                                 d->worker_error->message);
          else
            g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID, "the forward pass failed");
          return FALSE;
        }
      if (n_rows == 0)
        return TRUE;
      const guint64 room = d->in_cap - (d->pushed - d->ring_lo);
      if (room == 0)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID, "tiler ring buffer stalled");
          return FALSE; /* a planning bug; never expected */
        }
      const guint take = (guint) MIN ((guint64) n_rows, room);
      for (guint i = 0; i < take; i++)
        store_row (d, rows + i * row_f);
      rows += take * row_f;
      n_rows -= take;
    }
}

/* Rows a time through a pre-filter (its output buffer's size, less one). */
#define PREFILTER_CHUNK 32

/* push_ready, through the pre-filter when one is on (the impulse filter
 * or a 1-bit image's softening: never both). */
static gboolean
push_input (DaeDenoiser *d, const float *rows, guint n_rows, GError **error)
{
  DaePrefilter *s = d->impulse_on ? &d->impulse : d->soften_on ? &d->soften : NULL;
  float *out = d->impulse_on ? d->impulse_out : d->soften_out;
  if (s == NULL)
    return push_ready (d, rows, n_rows, error);
  const size_t row_f = (size_t) d->width * d->channels;
  while (n_rows > 0)
    {
      const guint take = MIN (n_rows, PREFILTER_CHUNK);
      const guint n_out = dae__prefilter_feed (s, rows, take, out);
      if (!push_ready (d, out, n_out, error))
        return FALSE;
      rows += take * row_f;
      n_rows -= take;
    }
  return TRUE;
}

/* Starts a pre-filter of the stream and returns the look-ahead rows
 * `rows` through it, for the analysis; NULL when out of memory. */
static float *
start_prefilter (DaeDenoiser *d, DaePrefilter *s, DaePrefilterKind kind, const float *rows,
                 float **out, guint out_rows)
{
  const size_t row_f = (size_t) d->width * d->channels;
  DaePrefilter look;
  float *seen = g_try_new (float, (d->lookahead + 1) * row_f);
  *out = g_try_new (float, out_rows * row_f);
  if (seen == NULL || *out == NULL
      || !dae__prefilter_init (s, kind, d->width, d->height, d->channels, d->n_color)
      || !dae__prefilter_init (&look, kind, d->width, d->lookahead, d->channels, d->n_color))
    {
      g_free (seen);
      return NULL;
    }
  dae__prefilter_feed (&look, rows, d->lookahead, seen);
  dae__prefilter_clear (&look);
  return seen;
}

/* The impulse test on the first rows (unless the filter is off). */
static void
measure_impulses (DaeDenoiser *d)
{
  double near_share = 0.0;
  const gboolean wanted = d->opt.impulse_filter && d->opt.strength != 0.0; /* 0: as it is */
  d->impulse_share = wanted ? dae__impulse_share (d->pending, d->width, d->lookahead,
                                                  d->channels, d->n_color, &near_share)
                            : 0.0;
  d->impulse_wanted = dae__impulse_wanted (d->impulse_share, near_share);
  d->impulse_spread = near_share;
}

/* When the impulse test calls for it, returns the first rows filtered for
 * the analysis (else NULL), and readies the stream. */
static float *
start_impulse_filter (DaeDenoiser *d)
{
  if (!d->impulse_wanted)
    return NULL;
  float *seen = start_prefilter (d, &d->impulse, DAE__PREFILTER_IMPULSE, d->pending,
                                 &d->impulse_out, PREFILTER_CHUNK + 1);
  d->impulse_on = seen != NULL; /* out of memory: leave the input as it is */
  return seen;
}

/* Whether the first rows are a 1-bit page of thin type (strokes under
 * DAE__THIN_STROKE) without salt-and-pepper's share of impulses: the page
 * whose ink the guard keeps (inkguard.c). */
static gboolean
thin_bilevel_page (const DaeDenoiser *d)
{
  DaeImageStats raw;
  return !d->impulse_wanted
         && dae__analyze_rows (d->pending, d->width, d->lookahead, d->channels, d->n_color, &raw)
         && raw.stroke_width < DAE__THIN_STROKE;
}

/* A 1-bit image (every sample of the first rows black or white) is
 * softened before the analysis and the model, instead of the impulse
 * filter: there thresholded noise and salt-and-pepper look alike, and on
 * bench-ocr --bilevel's pages the median took thin strokes with the noise
 * (overall CER 16.4% -> 15.1% softened instead, salt-and-pepper's own
 * 0.7% -> 2.1%; unpaper's noisy 1-bit scans read 5-10% more words).  The
 * impulse test still clears the guard's keep_ink (its noise is ink).  Not
 * a clean page of thin type, which the guard keeps as it is: softened,
 * bench/ocr/thin-bilevel's 200-dpi pages read 31 errors against 24.
 * Returns the look-ahead rows softened (else NULL), readies the stream. */
static float *
start_soften (DaeDenoiser *d)
{
  const gboolean wanted = d->opt.soften_bilevel && d->opt.strength != 0.0; /* 0: as it is */
  d->soften_on = wanted && dae__rows_bilevel (d->pending, (size_t) d->width * d->lookahead,
                                              d->channels, d->n_color);
  d->soften_thin = d->soften_on && thin_bilevel_page (d);
  d->soften_on &= !d->soften_thin;
  if (!d->soften_on)
    return NULL;
  float *seen = start_prefilter (d, &d->soften, DAE__PREFILTER_SOFTEN, d->pending,
                                 &d->soften_out, PREFILTER_CHUNK + 1);
  d->soften_on = seen != NULL;
  return seen;
}

/* Percent, for messages. */
#define PCT(x) (100.0 * (x))

/* -v's noise and detail, as the strength takes them. */
static void
describe_noise (const DaeDenoiser *d, GString *why)
{
  const DaeImageStats *st = &d->stats;
  g_string_append_printf (why, "noise sigma %.1f/255", 255 * strength_noise (st));
  if (st->patch_noise >= 0.0)
    g_string_append_printf (why, " (quiet blocks %.1f, weak-textured patches %.1f, their RMS %.1f)",
                            255 * st->noise, 255 * st->patch_noise, 255 * st->patch_rms);
  g_string_append_printf (why, ", fine detail %.1f/255 in the first %u rows",
                          255 * st->detail, d->lookahead);
  if (d->n_color >= 3)
    g_string_append_printf (why, " (noise of the chroma planes %.1f and %.1f)",
                            255 * st->chroma_sigma[0], 255 * st->chroma_sigma[1]);
  const guint *box = st->box;
  if (box[2] < d->width || box[3] < d->lookahead)
    g_string_append_printf (why, "; the analysis left out dark bars at the edges: %u rows at "
                            "the top, %u at the bottom, %u columns at the left, %u at the right",
                            box[1],
                            d->lookahead - box[1] - box[3], box[0], d->width - box[0] - box[2]);
}

/* The automatic choices, once the look-ahead rows are in: the model, then
 * what depends on it; then the held rows go through. */
static gboolean
choose (DaeDenoiser *d, GError **error)
{
  measure_impulses (d);
  g_autofree float *softened = start_soften (d);
  g_autofree float *filtered = softened == NULL ? start_impulse_filter (d) : NULL;
  const float *seen = softened != NULL ? softened : filtered != NULL ? filtered : d->pending;
  if (!dae__analyze_rows (seen, d->width, d->lookahead, d->channels, d->n_color,
                          &d->stats))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for the statistics of an image %u pixels wide", d->width);
      g_atomic_int_set (&d->failed, TRUE);
      return FALSE;
    }
  d->stats.bilevel |= d->soften_on; /* a 1-bit scan still, for the guard and the noise */
  const DaeImageStats *st = &d->stats;
  GString *why = g_string_new (NULL);
  const DaeModel *model = d->candidates[0];
  if (d->n_candidates > 1)
    {
      const double contrast = fabs (st->background - st->ink_core);
      const gboolean faint = contrast < DAE__MIN_INK_CONTRAST;
      const gboolean likely = st->p_document >= DAE__PAGE_PROBABILITY;
      const gboolean candidate = likely && !faint; /* unless its statistics veto it */
      const gboolean doubt = candidate && dae__page_in_doubt (st);
      const gboolean unseen = candidate && !doubt && dae__ground_unseen (st);
      const gboolean page = candidate && !doubt && !unseen;
      model = d->candidates[page ? 0 : 1];
      d->content = page ? CONTENT_DOCUMENT : CONTENT_PHOTO;
      g_string_append_printf (why, "auto: %s model, %s (page probability %.2f",
                              page ? "document" : "photo",
                              page ? "a page" : faint && likely
                              ? "a page whose ink is too faint for the document model"
                              : doubt ? "perhaps a page, in colour with its ink mostly not "
                                        "strokes, as a photo's shadows look; under "
                                        G_STRINGIFY (DAE__PAGE_SURE) " the photo model does less "
                                        "harm"
                              : unseen ? "marks on a ground neither light paper nor a dark "
                                         "page's, as graphics and slide panels have: the "
                                         "document model was trained on neither"
                              : "not clearly a page", st->p_plain);
      if (st->p_median >= 0.0)
        g_string_append_printf (why, ", %.2f after a 3x3 median%s", st->p_median,
                                st->p_document < st->p_plain ? ", which finds no page" : "");
      g_string_append_printf (why, ": ink %.0f%%, thin strokes %.0f%% of it, paper-level "
                              "blocks %.0f%%, textured blocks %.0f%%, saturation %.2f); ",
                              PCT (st->features[1]), PCT (st->features[2]),
                              PCT (st->features[8]), PCT (st->features[7]), st->features[9]);
      if (unseen)
        g_string_append_printf (why, "ground %.2f, between %.2f and %.2f; ", st->background,
                                dae__dark_ground_bound (st), DAE__LIGHT_PAPER_MIN);
      if (faint && st->p_document >= DAE__PAGE_PROBABILITY)
        g_string_append_printf (why, "ink contrast %.2f, under %.2f, where the document model "
                                "breaks strokes; ", contrast, DAE__MIN_INK_CONTRAST);
    }
  if (d->chroma_plane) /* its noise as the chroma's is measured: it takes the strength */
    d->stats.chroma_sigma[0] = MAX (0.0, dae__analyze_banded_noise (seen, d->width,
                                                                   d->lookahead));
  else if (d->content == CONTENT_PHOTO && d->opt.strength == DAE_STRENGTH_AUTO
           && model_clean_error (model) > 0.0) /* only a photo's strength uses it */
    d->stats.patch_noise = dae__analyze_patch_noise (seen, d->width, d->lookahead, d->channels,
                                                     d->n_color, &d->stats, &d->stats.patch_rms);
  describe_noise (d, why);
  d->why = g_string_free (why, FALSE);
  if (!setup (d, model, error))
    {
      g_atomic_int_set (&d->failed, TRUE);
      return FALSE;
    }
  const gboolean ok = push_input (d, d->pending, d->n_pending, error);
  g_clear_pointer (&d->pending, g_free);
  return ok;
}

gboolean
dae_denoiser_push_rows (DaeDenoiser *d, const float *rows, guint n_rows,
                        GError **error)
{
  g_return_val_if_fail (d != NULL && (rows != NULL || n_rows == 0), FALSE);
  const guint64 have = d->ready ? d->pushed : d->n_pending;
  if (n_rows > d->height - have)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "%u rows pushed but only %" G_GUINT64_FORMAT " of %u are left",
                   n_rows, d->height - have, d->height);
      return FALSE;
    }
  if (!d->ready && g_atomic_int_get (&d->failed))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID, "the denoiser failed earlier");
      return FALSE;
    }
  if (!d->ready)
    {
      const size_t row_f = (size_t) d->width * d->channels;
      const guint take = MIN (n_rows, d->lookahead - d->n_pending);
      memcpy (d->pending + d->n_pending * row_f, rows, take * row_f * sizeof (float));
      d->n_pending += take;
      rows += take * row_f;
      n_rows -= take;
      if (d->n_pending < d->lookahead)
        return TRUE;
      if (!choose (d, error))
        return FALSE;
    }
  return push_input (d, rows, n_rows, error);
}

guint
dae_denoiser_pull_rows (DaeDenoiser *d, float *rows, guint max_rows)
{
  g_return_val_if_fail (d != NULL, 0);
  const guint n = MIN (max_rows, d->queue_ready);
  const size_t row_f = (size_t) d->width * d->channels;
  if (n == 0)
    return 0;
  memcpy (rows, d->queue + (size_t) d->queue_head * row_f, n * row_f * sizeof (float));
  d->queue_head += n;
  d->queue_len -= n;
  d->queue_ready -= n;
  if (d->queue_len == 0)
    d->queue_head = 0;
  return n;
}

int
dae_denoiser_get_inverted (const DaeDenoiser *d)
{
  if (d->tiles_run == 0)
    return -1;
  return d->tiles_inverted == 0 ? 0 : d->tiles_inverted == d->tiles_run ? 1 : 2;
}

const DaeModel *
dae_denoiser_get_model (const DaeDenoiser *d)
{
  return d->model;
}

static const char *
color_name (const DaeDenoiser *d)
{
  if (d->n_color == 1)
    return "gray";
  if (d->luma)
    return "luma";
  if (d->half_planes > 0)
    return d->half_planes == 2 ? "the opponent planes' luma" : "opponent planes: Y, (R-B)/2";
  return d->color == DAE_COLOR_OPPONENT ? "opponent planes" : "each channel";
}

/* What the ink guard did on a page. */
static void
describe_guard (const DaeDenoiser *d, GString *s)
{
  if (!d->guard.active)
    return;
  guint64 held = 0, kept = 0;
  for (guint w = 0; w < d->n_workers; w++)
    held += d->guard_held[w], kept += d->guard_kept[w];
  g_string_append_printf (s, "; ink guard (paper %.2f, ink contrast %.2f): %" G_GUINT64_FORMAT
                          " tile pixels held back from darkening light marks into ink",
                          d->guard.paper, d->guard.contrast, held);
  if (d->guard.keep_ink)
    g_string_append_printf (s, ", %" G_GUINT64_FORMAT " from lightening ink (a 1-bit page "
                            "without salt-and-pepper, strokes under %d pixels: its output is "
                            "thresholded)", kept, DAE__THIN_STROKE);
}

/* What the speck filter did, or why it did not run on a page. */
static void
describe_specks (const DaeDenoiser *d, GString *s)
{
  if (d->content != CONTENT_DOCUMENT || !d->opt.despeckle || d->idle)
    return;
  if (!d->specks.active)
    {
      g_string_append_printf (s, "; specks left: %s", dae__specks_why_not (&d->specks));
      return;
    }
  guint64 n = 0;
  for (guint w = 0; w < d->n_workers; w++)
    n += d->specks_erased[w];
  g_string_append_printf (s, "; specks: %" G_GUINT64_FORMAT " tile specks erased (isolated, "
                          "smaller than half the square of a stroke %u px wide)", n,
                          d->specks.stroke);
}

/* What the impulse filter did: nothing is said when it had nothing to do. */
static void
describe_impulses (const DaeDenoiser *d, GString *s)
{
  if (d->impulse_on)
    g_string_append_printf (s, "; salt-and-pepper: %.1f%% of the first rows' samples, "
                            "%" G_GUINT64_FORMAT " replaced by their 3x3 median",
                            PCT (d->impulse_share), d->impulse.replaced);
  else if (d->impulse_share > 0.0005)
    g_string_append_printf (s, "; impulses left: %.2f%% of the first rows' samples, with "
                            "%.2f%% just inside black and white: %s", PCT (d->impulse_share),
                            PCT (d->impulse_spread), d->soften_on
                            ? "a 1-bit image, softened instead"
                            : dae__impulse_wanted (d->impulse_share, 0.0)
                            ? "clipped noise, not salt-and-pepper"
                            : "too few for salt-and-pepper");
  if (d->soften_on)
    g_string_append (s, "; a 1-bit image: its edges softened (a 3x3 blur) before the analysis "
                        "and the model, which learnt on gray scans, instead of the impulse "
                        "filter");
  else if (d->soften_thin)
    g_string_append (s, "; a 1-bit image of thin type: not softened, its ink kept as it is");
}

static void
describe_wiener (const DaeDenoiser *d, GString *s)
{
  const float gate = wiener_gate (&d->stats);
  if (wiener_on (d))
    {
      g_string_append_printf (s, "; Wiener filter with the model's output as its pilot "
                              "(8x8 blocks at every %srow and column), share",
                              d->wiener.step == 1 ? "" : "second ");
      for (guint c = 0; c < d->n_planes; c++)
        g_string_append_printf (s, "%s%.2f", c ? "/" : " ", d->wiener.alpha[c]);
      g_string_append_printf (s, " (white noise: %.2f", gate);
      if (d->color == DAE_COLOR_OPPONENT && d->n_planes > 1)
        for (guint c = 1; c < d->n_planes; c++)
          g_string_append_printf (s, "%s%.2f", c == 1 ? "; chroma in the finest band: " : ", ",
                                  chroma_whiteness (&d->stats, c - 1));
      g_string_append (s, ")");
    }
  else if (d->content == CONTENT_PHOTO && d->opt.strength == DAE_STRENGTH_AUTO && !d->idle)
    g_string_append (s, gate == 0.0f
                        ? "; no Wiener filter: the noise is not white (correlated or texture)"
                        : d->stats.p_document >= WIENER_PAGE_LIKE
                        ? "; no Wiener filter: the image looks much like a page"
                        : "; no Wiener filter: the noise is heavy, the model's output is better");
}

/* A gray denoiser's strength (0 until it has chosen). */
float
dae__denoiser_get_strength (const DaeDenoiser *d)
{
  return d->ready ? d->plane_strength[0] : 0.0f;
}

/* A gray denoiser's noise as its strength took it (0 until it has chosen). */
float
dae__denoiser_get_noise (const DaeDenoiser *d)
{
  return d->ready ? d->plane_sigma[0] : 0.0f;
}

static const char *
auto_passes_reason (const DaeDenoiser *d)
{
  switch (d->passes_rule)
    {
    case PASSES_DENSE:
      return "as many as the model declares for its noisy images, at its step for the noisiest";
    case PASSES_DECLARED:
      return "as many as the model declares for its noisy images";
    case PASSES_UNDER_NOISE:
      return "one: the noise is under what the model declares more passes for";
    case PASSES_NO_GRAIN:
      return "one: the noise measured lies on edges, the paper shows no grain";
    case PASSES_UNDECLARED:
      break;
    }
  if (d->content != CONTENT_PHOTO)
    return "one for anything but a photo";
  return d->passes == dae__ensemble_max_passes (d->ph, d->pw, FALSE)
         ? "as many as a photo this small allows" : "the most within one pass over 4 megapixels";
}

static void
describe_passes (const DaeDenoiser *d, GString *s)
{
  if (d->idle)
    return;
  const char *over = keep_rows (d) ? "es over the tile's flips that keep text level, averaged"
                                    : "es over the tile's flips and turns, averaged";
  g_string_append_printf (s, "; self-ensemble: %u pass%s", d->passes, d->passes == 1 ? "" : over);
  if (d->opt.ensemble > d->passes && keep_rows (d))
    g_string_append_printf (s, " (%u asked: a page's 4 flips keep its lines of text level)",
                            d->opt.ensemble);
  else if (d->opt.ensemble > d->passes)
    g_string_append_printf (s, " (%u asked: %ux%u tiles allow the 4 flips)", d->opt.ensemble,
                            d->pw, d->ph);
  else if (d->opt.ensemble == 0 && !d->chroma_plane)
    {
      g_string_append_printf (s, " (auto: %s", auto_passes_reason (d));
      const guint step = default_stride (d->model, d->pw);
      if (auto_photo_passes (d) && d->opt.stride == 0 && d->ax.stride < step)
        g_string_append_printf (s, "; a step of %" G_GINT64_FORMAT " rather than the model's %u,"
                                " within one pass over 4 megapixels", d->ax.stride, step);
      g_string_append_c (s, ')');
    }
}

char *
dae_denoiser_describe (const DaeDenoiser *d)
{
  GString *s = g_string_new (NULL);
  if (d->why != NULL)
    g_string_append_printf (s, "%s; ", d->why);
  if (!d->ready)
    {
      g_string_append (s, "waiting for the first rows");
      return g_string_free (s, FALSE);
    }
  g_string_append_printf (s, "%ux%u tiles, stride %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                          ", %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " tiles x %u plane%s"
                          " (%s); %u thread%s; input ring %u rows",
                          d->pw, d->ph, d->ax.stride, d->ay.stride, d->ax.n_tiles,
                          d->ay.n_tiles, d->n_planes, d->n_planes == 1 ? "" : "s",
                          color_name (d), d->n_workers, d->n_workers == 1 ? "" : "s", d->in_cap);
  g_autofree char *convs = dae__runner_describe_convs (d->runners[0]);
  g_string_append_printf (s, "; %s; strength", convs);
  for (guint c = 0; c < d->n_planes + d->half_planes; c++)
    g_string_append_printf (s, "%s%.2f", c ? "/" : " ", c >= d->n_planes
                            ? dae__denoiser_get_strength (d->hc.plane[c - d->n_planes])
                            : d->plane_strength[c]);
  if (d->opt.strength == DAE_STRENGTH_AUTO && d->clean_page != NULL)
    g_string_append_printf (s, " (auto: %s; -s 1 runs the model on it)", d->clean_page);
  else if (d->opt.strength == DAE_STRENGTH_AUTO)
    g_string_append_printf (s, " (auto: %s)", model_clean_error (d->model) > 0
                            ? "by the noise and the model's clean error"
                            : "the model records no clean error");
  if (d->idle)
    g_string_append (s, d->impulse_on ? "; no tile run: at strength 0 the image comes out as "
                                        "the salt-and-pepper filter left it"
                                      : "; no tile run: at strength 0 the image comes out as it "
                                        "went in");
  if (d->centre)
    g_string_append (s, "; each tile moved to mid-grey around the model (a photo model)");
  describe_passes (d, s);
  describe_guard (d, s);
  describe_specks (d, s);
  describe_impulses (d, s);
  describe_wiener (d, s);
  if (d->half_planes > 0)
    dae__half_chroma_describe (&d->hc, s);
  if (d->tiles_run > 0)
    {
      g_string_append_printf (s, "; inverted: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                              " tiles", d->tiles_inverted, d->tiles_run);
      if (d->invert_auto)
        g_string_append_printf (s, " (auto, per region: the model was trained on %s "
                                "backgrounds; the image's majority is %s, level %.2f)",
                                d->model_bg == BG_LIGHT ? "light" : "dark",
                                d->stats.light ? "light" : "dark", d->stats.background);
    }
  return g_string_free (s, FALSE);
}

gboolean
dae_denoise_image (const DaeModel *model, const DaeDenoiseOptions *options,
                   guint width, guint height, guint channels,
                   gboolean has_alpha, const float *input, float *output,
                   GError **error)
{
  g_autoptr (DaeDenoiser) d = dae_denoiser_new (model, options, width, height, channels,
                                                has_alpha, error);
  if (d == NULL)
    return FALSE;
  const size_t row_f = (size_t) width * channels;
  guint pulled = 0;
  for (guint y = 0; y < height;)
    {
      /* Small pushes keep the queue of finished rows short. */
      const guint n = MIN (MAX (d->ph, 32u), height - y);
      if (!dae_denoiser_push_rows (d, input + (size_t) y * row_f, n, error))
        return FALSE;
      y += n;
      pulled += dae_denoiser_pull_rows (d, output + (size_t) pulled * row_f, height - pulled);
    }
  pulled += dae_denoiser_pull_rows (d, output + (size_t) pulled * row_f, height - pulled);
  g_assert (pulled == height);
  return TRUE;
}
