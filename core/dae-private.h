/* dae-private.h: internals shared across core/ (names dae__*). */
#ifndef DAE_PRIVATE_H
#define DAE_PRIVATE_H

#include "dae.h"
#include "kernels/kernels.h"

G_BEGIN_DECLS

/* Hard limits checked by the loader before anything is allocated. */
#define DAE__MAX_LAYERS 256
#define DAE__MAX_CHANNELS 4096
#define DAE__MAX_PATCH 4096
#define DAE__MAX_PARAMS (1u << 28)
#define DAE__MAX_META 1024
#define DAE__MAX_KEY 255
#define DAE__MAX_VALUE (1u << 20)

typedef struct {
  DaeLayerKind kind;
  DaeActivation act;
  guint out_c;     /* as stored: conv/convt only, 0 otherwise */
  int source;      /* add/concat; DAE_SOURCE_INPUT or a layer index */
  guint in_c;      /* derived: channels of its (first) input */
  guint c;         /* derived: channels of its output */
  size_t n_weight; /* derived */
  size_t n_bias;   /* derived */
  size_t offset;   /* of its weights in DaeModel.params */
} DaeLayer;

struct _DaeModel {
  guint in_c, patch_h, patch_w;
  guint n_layers;
  DaeLayer *layers;
  float *params; /* n_params floats, layer by layer: weights then bias */
  size_t n_params;
  GPtrArray *meta_keys;   /* char*, in insertion order */
  GPtrArray *meta_values; /* char*, parallel to meta_keys */
};

typedef struct {
  guint c, h, w;
} DaeShape;

/* Shape of every layer's output for an input of h x w; shapes[n_layers]. */
gboolean dae__model_infer_shapes (const DaeModel *model, guint h, guint w,
                                  DaeShape *shapes, GError **error);

/* Derives in_c, c, n_weight, n_bias, offset of layer i from the layers
 * before it; FALSE (with error) if the layer is inconsistent. */
gboolean dae__model_derive_layer (DaeModel *model, guint i, GError **error);

const char *dae__layer_kind_name (DaeLayerKind kind);

/* How the runner's conv3x3 layers run, from its plan (dae-filter -v). */
char *dae__runner_describe_convs (const DaeRunner *r);

static inline const float *
dae__layer_weight (const DaeModel *m, const DaeLayer *l)
{
  return m->params + l->offset;
}

static inline const float *
dae__layer_bias (const DaeModel *m, const DaeLayer *l)
{
  return m->params + l->offset + l->n_weight;
}

/* ---- analyze.c: what the denoiser learns from an image's first rows ---- */

/* The look-ahead for automatic choices: samples held before the first
 * tile runs (at least DAE__LOOK_MIN_ROWS rows, or the whole image). */
#define DAE__LOOK_SAMPLES 2000000u
#define DAE__LOOK_MIN_ROWS 256u

static inline guint
dae__lookahead_rows (guint width, guint height, guint channels)
{
  const guint64 row_f = (guint64) width * channels;
  return (guint) MIN ((guint64) height, MAX ((guint64) DAE__LOOK_MIN_ROWS, DAE__LOOK_SAMPLES / row_f));
}

#define DAE__N_IMAGE_FEATURES 21

/* A page when the analysis is at least this sure; else the photo model,
 * which does less harm to a page than the document model does to a photo
 * (11 of 956 training-side photos reach it, held aside: weights/README.md). */
#define DAE__PAGE_PROBABILITY 0.9

typedef struct {
  double sigma;       /* noise standard deviation of the luma, full scale,
                       * from its quietest blocks (page features, polarity) */
  double noise;       /* the same from blocks away from black and white, where
                       * clipping hides part of it (the strength's) */
  double detail;      /* RMS of the luma's finest diagonal band beyond the noise */
  double p_document;  /* probability that the image is a document page: the
                       * larger of the plain and the median look's, the
                       * smaller when the median's finds no page (analyze.c) */
  double p_plain;     /* of the image as it is */
  double p_median;    /* after a 3x3 median (noisy images; -1 if not looked) */
  gboolean light;     /* the majority (background) is lighter than the ink */
  double background;  /* its level */
  double threshold;   /* Otsu's split between background and ink levels */
  double ink;         /* the minority (ink) class's mean level */
  double ink_core;    /* its darkest fifth's level: the ink itself, not the
                       * bleed-through or antialiasing the class holds too */
  double stroke_width; /* the ink's commonest local stroke width in pixels,
                        * after a 3x3 median; 0 when too little ink to tell */
  /* Otsu bimodality, ink share, thin-stroke share of the ink, mid-tones,
   * ink-paper gap; flat, strongly edged and textured 8x8 blocks, blocks at
   * the paper level; colour saturation; then the first nine again on the
   * plane with its shading taken out; lines of text in it (analyze.c). */
  double features[DAE__N_IMAGE_FEATURES];
  /* The same noise measure on the two opponent chroma planes (colour
   * images; 0 otherwise): not always the luma's (a clean colour scan). */
  double chroma_sigma[2];
  double chroma_fine[2]; /* of which the finest band's alone: all of it for white noise */
  /* A photo's luma noise from its weak-textured patches at full resolution,
   * and their RMS (noise-patch.c; the strength's, tiler.c); -1 when not
   * measured: documents, a strength given. */
  double patch_noise, patch_rms;
  /* The part of the rows analysed: x, y, width, height; the whole unless
   * uniform dark bars at its edges were left out (analyze.c). */
  guint box[4];
  gboolean bilevel;   /* every sample analysed is black or white: a 1-bit scan */
  double off_levels;  /* the share of pixels off the paper's and the ink's levels,
                       * away from an edge between them; -1 with no ink level, or
                       * not measured (grain on the paper: no clean render) */
} DaeImageStats;

/* Plane k of the opponent transform of an RGB pixel: the mean, (R-B)/2 and
 * (R-2G+B)/4, the chroma offset by one half into the range a model sees. */
static inline float
dae__opponent (const float *rgb, guint k)
{
  return k == 0 ? (rgb[0] + rgb[1] + rgb[2]) * (1.0f / 3)
         : k == 1 ? 0.5f * (rgb[0] - rgb[2]) + 0.5f
         : 0.25f * (rgb[0] - 2 * rgb[1] + rgb[2]) + 0.5f;
}

/* The inverse: R, G, B of the opponent planes p (chroma offset by one
 * half), not clamped. */
static inline void
dae__opponent_to_rgb (const float p[3], float rgb[3])
{
  const float y = p[0], c1 = p[1] - 0.5f, c2 = (p[2] - 0.5f) * (2.0f / 3);
  rgb[0] = y + c1 + c2;
  rgb[1] = y - 2 * c2;
  rgb[2] = y - c1 + c2;
}

/* Each opponent plane's noise for noise of 1 independent in R, G and B. */
static const double DAE__OPPONENT_SHARE[3] = { 0.5774, 0.7071, 0.6124 };

double dae__analyze_banded_noise (const float *rows, guint width, guint n_rows);

/* Statistics of n_rows rows of width pixels (channels floats each, the
 * first n_color of them colour); FALSE when out of memory. */
gboolean dae__analyze_rows (const float *rows, guint width, guint n_rows,
                        guint channels, guint n_color, DaeImageStats *stats);
/* Whether every colour sample of n pixels is black or white (n > 0). */
gboolean dae__rows_bilevel (const float *rows, size_t n, guint channels, guint n_color);

/* The noise of a w x h plane from its weak-textured 7x7 patches
 * (noise-patch.c), full scale; -1 when too small or out of memory.  *rms
 * (unless NULL): the RMS of those patches about their means (-1 likewise),
 * about the noise for white noise, far above it for correlated noise. */
double dae__patch_noise (const float *plane, guint w, guint h, double *rms);
/* The same on the luma of n_rows rows (as dae__analyze_rows takes them),
 * within the part stats analysed (its box). */
double dae__analyze_patch_noise (const float *rows, guint width, guint n_rows,
                                 guint channels, guint n_color,
                                 const DaeImageStats *stats, double *rms);

/* The median of 9 values (sorts them in part): Paeth's 19 compare-exchanges,
 * no branches; the analysis's 3x3 median and the impulse filter's. */
static inline float
dae__median9 (float *v)
{
  static const guint8 pairs[19][2] = { { 1, 2 }, { 4, 5 }, { 7, 8 }, { 0, 1 }, { 3, 4 },
                                       { 6, 7 }, { 1, 2 }, { 4, 5 }, { 7, 8 }, { 0, 3 },
                                       { 5, 8 }, { 4, 7 }, { 3, 6 }, { 1, 4 }, { 2, 5 },
                                       { 4, 7 }, { 4, 2 }, { 6, 4 }, { 4, 2 } };
  for (guint k = 0; k < 19; k++)
    {
      const float a = v[pairs[k][0]], b = v[pairs[k][1]];
      v[pairs[k][0]] = MIN (a, b);
      v[pairs[k][1]] = MAX (a, b);
    }
  return v[4];
}

/* Blocks (analyze.c) and patches (noise-patch.c) whose mean lies this many
 * sigmas from black or white count for the unclipped noise (fitted on
 * train400, 1.5 of 1, 1.5, 2, 2.5: rms error 1.0/255 at sigma 25, 2.7 at
 * 50, against 1.9 and 7.2 over all blocks). */
#define DAE__CLIP_MARGIN 1.5

/* Salt-and-pepper noise (prefilter.c): the share of the colour samples of
 * n_rows rows that are impulses (and of those isolated just inside black
 * and white), and whether those shares call for the filter. */
double dae__impulse_share (const float *rows, guint width, guint n_rows, guint channels,
                           guint n_color, double *near_share);
gboolean dae__impulse_wanted (double share, double near_share);

/* The input's 3x3 pre-filters (prefilter.c) as a stream: each row fed
 * comes out filtered one row later (the image's last row with it), so
 * `out` holds n_rows + 1 rows.  IMPULSE replaces salt-and-pepper by the
 * 3x3 median; SOFTEN gives a 1-bit page a gray scan's soft edges. */
typedef enum { DAE__PREFILTER_IMPULSE, DAE__PREFILTER_SOFTEN } DaePrefilterKind;

typedef struct {
  DaePrefilterKind kind;
  guint width, height, channels, n_color;
  float *held;       /* the two rows before the next one */
  guint64 fed, replaced;
} DaePrefilter;

gboolean dae__prefilter_init (DaePrefilter *s, DaePrefilterKind kind, guint width, guint height,
                              guint channels, guint n_color);
void dae__prefilter_clear (DaePrefilter *s);
guint dae__prefilter_feed (DaePrefilter *s, const float *rows, guint n_rows, float *out);

/* The photo's Wiener filter with the model's output as pilot (wiener.c):
 * rows pushed with their pilot (planes as the tiler keeps them, n_planes x
 * width) and `payload` floats of the caller's, popped final, in order, at
 * most DAE__WIENER_BLOCK + 1 rows later; each plane is alpha of the
 * filtered plane and 1 - alpha of the pilot (alpha 0: the pilot, exactly).
 * The first level_planes planes hold levels (0 black, 1 white: gray, luma,
 * RGB, the opponent mean), where noise clips; the rest chroma offsets.
 * Opponent planes (one level; Y, (R-B)/2 and (R-2G+B)/4, or the first two
 * with the payload the row's pixels, R, G and B first, payload / width
 * floats each): their chroma clips where R, G or B does. */
#define DAE__WIENER_BLOCK 8
#define DAE__WIENER_RING 16
/* Blocks at every row and column up to this many pixels, every second
 * beyond: 4 times the filter's work (a quarter of a pass of the model) for
 * 0.07 dB on BSD68 at sigma 15; a 12-megapixel photo keeps its time. */
#define DAE__WIENER_DENSE_PIXELS (G_GUINT64_CONSTANT (2) << 20)
typedef struct {
  guint width, height, n_planes, level_planes, payload;
  guint step;                          /* between blocks, across and down: 1 or 2 */
  float sigma2[3], alpha[3];
  float rgb_sigma;                     /* opponent planes: R, G and B's noise; else 0 */
  guint rgb_stride;                    /* two opponent planes: floats a pixel in the
                                        * payload, whose (R-2G+B)/4 the rule takes */
  guint64 pushed, popped, band, final; /* rows in, out; next band; rows final */
  float *noisy, *pilot, *acc, *wsum, *extra; /* DAE__WIENER_RING rows each */
  float *scratch;                            /* per plane and part: a band's buffers */
  guint parts;                               /* column parts a band is cut into */
  float dct[DAE__WIENER_BLOCK][DAE__WIENER_BLOCK];
  DaeWienerBandFn band_fn; /* the dispatched kernel, chosen at init */
} DaeWiener;

gboolean dae__wiener_init (DaeWiener *w, guint width, guint height, guint n_planes,
                           guint level_planes, gboolean opponent, const float *sigma,
                           const float *alpha, guint payload, guint step);
void dae__wiener_clear (DaeWiener *w);
struct _DaeThreadPool;
void dae__wiener_push (DaeWiener *w, const float *noisy, const float *pilot,
                       const float *payload, struct _DaeThreadPool *pool);
gboolean dae__wiener_pop (DaeWiener *w, float *planes, const float **noisy,
                          const float **payload);

/* A colour photo's opponent chroma planes at half resolution (chroma.c):
 * full rows of the last n chroma planes in ((R-2G+B)/4, or both), each
 * pair's 2x2 means through a gray denoiser of their own, full rows' chroma
 * out bilinearly once ready. */
typedef struct {
  guint width, height, hw, hh;       /* the full image's size; half of it */
  guint n;                           /* planes here: 1 or 2, the last of the 3 */
  DaeDenoiser *plane[2];             /* each plane's at half size */
  float *sum;                        /* n x hw: the 2x2 sums being made */
  guint64 rows_in;                   /* full rows taken */
  float *ins[2], *rows[2];           /* each plane's half rows in and out: row r at r % cap */
  guint cap;
  guint64 pushed, made[2], first;    /* rows in; out of each denoiser; first row kept */
} DaeHalfChroma;

gboolean dae__half_chroma_init (DaeHalfChroma *hc, const DaeModel *model,
                                const DaeDenoiseOptions *opt, guint width, guint height,
                                guint n_planes, guint lookahead, struct _DaeThreadPool *pool,
                                GError **error);
void dae__half_chroma_clear (DaeHalfChroma *hc);
gboolean dae__half_chroma_push (DaeHalfChroma *hc, const float *c, GError **error);
gboolean dae__half_chroma_ready (const DaeHalfChroma *hc, guint64 y);
void dae__half_chroma_row (DaeHalfChroma *hc, guint64 y, float *c);
void dae__half_chroma_describe (const DaeHalfChroma *hc, GString *s);

/* tiler.c's side: a gray denoiser for a chroma plane (the chroma's quiet
 * level and clean error; no Wiener filter; the caller's pool; at most
 * `lookahead` rows held for its choices), and its strength and noise. */
DaeDenoiser *dae__denoiser_new_chroma (const DaeModel *model, const DaeDenoiseOptions *opt,
                                       guint width, guint height, guint lookahead,
                                       struct _DaeThreadPool *pool, GError **error);
float dae__denoiser_get_strength (const DaeDenoiser *d);
float dae__denoiser_get_noise (const DaeDenoiser *d);

/* Below this distance between the paper and the ink's darkest fifth a page
 * has no ink to measure by: the ink guard and the speck filter stay idle,
 * and the automatic choice gives the page the photo model, since the
 * document model hardly saw ink so faint and breaks its strokes
 * (weights/README.md, "Automatic choice"). */
#define DAE__MIN_INK_CONTRAST 0.1

/* Strokes thinner than this, in pixels: dots and specks are pixel-sized
 * alike (specks.c), and a 1-bit page's strokes break at a pixel's loss
 * (inkguard.c). */
#define DAE__THIN_STROKE 3

/* The guard against ink the document model invents, and on a 1-bit page of
 * thin strokes against ink it takes away (inkguard.c). */
typedef struct {
  gboolean active, light;
  gboolean keep_ink;      /* a 1-bit page, strokes under DAE__THIN_STROKE, no
                           * salt-and-pepper (the tiler clears it then) */
  float paper, contrast;  /* the paper's level; the ink's distance from it */
} DaeInkGuard;

void dae__ink_guard_init (DaeInkGuard *guard, const DaeImageStats *stats);
/* Holds out[] (a tile of the model's output for tile in[]) back where it
 * darkens light marks into ink; returns how many pixels it held. scratch:
 * 3 ph pw floats. */
guint64 dae__ink_guard_tile (const DaeInkGuard *guard, const float *in, float *out,
                             guint ph, guint pw, gboolean inverted, float *scratch);
/* With guard->keep_ink: no ink pixel of in[] comes out lighter in out[];
 * returns how many it held. */
guint64 dae__ink_guard_keep (const DaeInkGuard *guard, const float *in, float *out, size_t area,
                             gboolean inverted);

/* A tile's paper: the level a tenth of its pixels are beyond, away from
 * the ink (sign > 0: ink is dark; inkguard.c). */
float dae__tile_paper_level (const float *tile, size_t area, float sign);

/* The local stroke widths of an ink mask w x h: for each ink pixel the
 * shorter of its horizontal and vertical runs, counted in hist[MIN (width,
 * cap + 1)] (cap + 2 zeroed bins, cap < 255); run: w h bytes of scratch. */
void dae__stroke_histogram (const guint8 *ink, guint w, guint h, guint8 *run, guint cap,
                            guint64 *hist);
/* The commonest width in hist[1..last], and in *n how many were counted. */
guint dae__stroke_mode (const guint64 *hist, guint last, guint64 *n);

/* Isolated specks out of the document model's output (specks.c). */
typedef struct {
  gboolean active, light;
  float paper, contrast;  /* as the ink guard's */
  guint stroke;           /* the page's stroke width, pixels */
} DaeSpecks;

void dae__specks_init (DaeSpecks *specks, const DaeImageStats *stats);
/* Why a page's speck filter is not active. */
const char *dae__specks_why_not (const DaeSpecks *specks);
/* Bytes of scratch dae__specks_tile needs for a ph x pw tile. */
gsize dae__specks_scratch_size (guint ph, guint pw);
/* Erases the isolated specks of out[] (a tile of the model's output, after
 * the ink guard); returns how many. */
guint64 dae__specks_tile (const DaeSpecks *specks, float *out, guint ph, guint pw,
                          gboolean inverted, void *scratch);

/* The geometric self-ensemble (ensemble.c): the model run on `passes` of
 * the eight flips and turns of each tile, turned back and averaged. */
/* Automatic passes: as many as keep the work within one pass over this
 * many pixels (small photos get 8, a 12-megapixel one 1). */
#define DAE__ENSEMBLE_AUTO_PIXELS (G_GUINT64_CONSTANT (4) << 20)
/* 8 on square tiles, 4 (the flips) on others and where rows must stay rows. */
guint dae__ensemble_max_passes (guint ph, guint pw, gboolean keep_rows);
guint dae__ensemble_auto_passes (guint64 pixels, guint ph, guint pw);
/* What is left of that work buys a finer step than the model's `stride`
 * (2/3 of it, else 4/5; else `stride`): tiles that overlap more average
 * more shifted estimates (BSD68 at 25/255, 8 passes: 28.604 dB at a step
 * of 120, 28.615 at 96, 28.619 at 80; 4 passes at 64, the work of 8 at
 * 90, 28.610). */
guint dae__ensemble_auto_stride (guint64 pixels, guint passes, guint stride);
/* Floats of scratch dae__ensemble_forward needs for n_tiles tiles. */
gsize dae__ensemble_scratch_floats (guint passes, guint n_tiles, guint ph, guint pw);
/* out = the mean of the model's outputs over the passes, each turned back. */
gboolean dae__ensemble_forward (DaeRunner *runner, guint passes, gboolean keep_rows, guint n,
                                guint ph, guint pw, const float *in, float *out, float *scratch,
                                GError **error);

/* Why the statistics show a page with nothing to take out (a clean page:
 * no noise, no texture, one paper level; a clean render in two levels; a
 * colour render or screenshot; a render of small type), NULL when they do not (analyze.c); the automatic
 * strength leaves such a page as it is. */
const char *dae__clean_page (const DaeImageStats *stats);

/* Whether the noise measured lies on the paper itself, not only on edges
 * (analyze.c): what more passes of a document model can average away. */
gboolean dae__noise_on_paper (const DaeImageStats *stats);

/* A page probability this high is needed where the image has colour and
 * its "ink" is mostly not strokes (dae__page_in_doubt, analyze.c). */
#define DAE__PAGE_SURE 0.99
/* Whether the statistics leave a page in doubt below DAE__PAGE_SURE. */
gboolean dae__page_in_doubt (const DaeImageStats *stats);

/* The grounds the document model was trained on (tools/docgen.py): light
 * pages' paper at 0.45 or lighter, dark pages' ground at 0.1 or darker. */
#define DAE__LIGHT_PAPER_MIN 0.42
#define DAE__DARK_GROUND_MAX 0.15
/* The darkest ground taken for unseen: noise clipped at black lifts a
 * dark ground's mean by about sigma. */
static inline double
dae__dark_ground_bound (const DaeImageStats *stats)
{
  return DAE__DARK_GROUND_MAX + stats->sigma;
}
/* Whether a page's ground lies between dae__dark_ground_bound and
 * DAE__LIGHT_PAPER_MIN: a level the document model never saw as paper
 * (analyze.c). */
gboolean dae__ground_unseen (const DaeImageStats *stats);

G_END_DECLS

#endif
