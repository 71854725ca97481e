/* dae/denoise.h: denoising: whole images, streamed row by row, with one model
 * or the automatic choice.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_DENOISE_H
#define DAE_DAE_DENOISE_H

#include <dae/model.h>
#include <dae/runner.h>

G_BEGIN_DECLS

/* How --invert treats polarity: the digit models see light strokes on dark.
 * A model names the background it was trained on in its metadata key
 * "background": "dark" (the default when absent), "light" or "any" (never
 * inverted by auto). */
typedef enum {
  DAE_INVERT_AUTO = 0, /* per region: each tile looks at the band of the
                        * image around it (a few patches wide) and is inverted
                        * when its ink is darker than its background and the
                        * model's is not (or the reverse); tiles with no clear
                        * ink follow the tile above, their row, then the
                        * whole image's majority */
  DAE_INVERT_ON = 1,
  DAE_INVERT_OFF = 2
} DaeInvert;

/* Colour images (3 colour channels): denoise the luma only (Cb and Cr kept,
 * their noise too), each of R, G and B, or the three planes of the
 * opponent transform (Y = (R+G+B)/3, (R-B)/2, (R-2G+B)/4, the colour
 * space of CBM3D: the noise splits the same way over the planes and the
 * chroma planes are smooth, so the model takes it off them too; under
 * heavy noise a photo's chroma planes run at half size).  AUTO
 * (the default) picks OPPONENT for photos and LUMA for document pages. */
typedef enum {
  DAE_COLOR_LUMA = 0,
  DAE_COLOR_RGB = 1,
  DAE_COLOR_OPPONENT = 2,
  DAE_COLOR_AUTO = 3
} DaeColorMode;

/* strength: let the denoiser weigh the model against the input by the
 * noise it measures (the default).  A model that records "clean-error"
 * (the error e of its output on clean images, and "clean-error-detail" k)
 * gets the weight sigma^2 / (sigma^2 + e^2 + k d^2) on each plane, d the
 * image's measured fine detail, the least-squares blend of two independent
 * estimates: a clean photo is left nearly as it
 * is, a noisy one denoised in full.  Other models get strength 1. */
#define DAE_STRENGTH_AUTO (-1.0)

typedef struct {
  guint stride;        /* tile step in pixels, 1..patch; 0 = the model's
                        * metadata "stride", else half a patch */
  double strength;     /* 0..1: blend of the denoised image over the input,
                        * or DAE_STRENGTH_AUTO */
  DaeInvert invert;
  DaeColorMode color;
  guint threads;       /* 0 = all cores; results do not depend on it */
  DaeConvPath conv_path;  /* AUTO: each layer's fastest, measured (DaeConvPath) */
  gboolean ink_guard;  /* pages (the document model): a mark lighter than half
                        * the page's ink contrast is not darkened past it, so
                        * bleed-through is not written into text (default on) */
  gboolean despeckle;  /* pages: isolated specks smaller than half a stroke's
                        * square, with no text near, are erased (default on) */
  gboolean impulse_filter; /* salt-and-pepper noise (black and white pixels
                        * alone among their neighbours) replaced by the 3x3
                        * median before anything else, when the first rows
                        * hold enough of it; not at strength 0 (default on) */
  guint ensemble;      /* passes of the model over each tile, flipped and
                        * turned, averaged: 1, 2, 4 or 8 (4 at most on tiles
                        * that are not square); 0 = auto: photos get as many
                        * as keep the work within one pass over 4 megapixels,
                        * other images 1 (default auto) */
  gboolean soften_bilevel; /* a 1-bit image (every sample of its first rows
                        * black or white) softened by a 3x3 blur after the
                        * impulse filter, before everything else: the
                        * document model learnt on gray scans; not at
                        * strength 0 (default on) */
} DaeDenoiseOptions;

/**
 * dae_denoise_options_init:
 * @options: options to fill with the defaults (stride = half a patch,
 *   strength auto, invert auto, colour auto, all cores, automatic conv
 *   path, ink guard on, despeckle on, impulse filter on, 1-bit softening on)
 *
 * Returns: nothing.
 */
DAE_API void dae_denoise_options_init (DaeDenoiseOptions *options);

/* A streaming denoiser for one image: rows go in, denoised rows come out a
 * band later; memory grows with the width, not the height, as long as the
 * caller pulls the finished rows after each push (rows not pulled wait in a
 * queue).  Samples are floats in [0,1]; outputs are clamped to [0,1], and
 * alpha is copied.  Colour: see DaeColorMode (LUMA adds the change of the
 * BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B to each of R, G, B).
 * Tiles are blended with a sin^2 window normalised by the sum of the windows,
 * borders are mirrored (reflect-101); an image of exactly the patch size is
 * one tile, so at strength 1 with invert off its output is bit for bit
 * dae_runner_forward()'s.  Results do not depend on the thread count.
 *
 * Automatic choices (a model set with several models, invert auto with a
 * model that has a polarity, strength auto with a model that records its
 * clean error) are made from the image's first rows: up to 2 million
 * samples (at least 256 rows, or the whole image), held until then; no row
 * comes out before.  dae_denoiser_describe() says what was chosen and why. */
typedef struct _DaeDenoiser DaeDenoiser;

/**
 * dae_denoiser_new:
 * @model: the model; it must outlive the denoiser
 * @options: (nullable): options, NULL for the defaults
 * @width: image width
 * @height: image height
 * @channels: samples per pixel, 1..4 (alpha last, if any)
 * @has_alpha: whether the last channel is alpha (passed through untouched)
 * @error: return location for an error
 *
 * Returns: (transfer full): a denoiser, or NULL with @error set (bad
 * options or sizes).
 */
DAE_API DaeDenoiser *dae_denoiser_new (const DaeModel *model,
                               const DaeDenoiseOptions *options, guint width,
                               guint height, guint channels,
                               gboolean has_alpha, GError **error);

/**
 * dae_denoiser_push_rows:
 * @denoiser: a denoiser
 * @rows: n_rows x width x channels floats in [0,1], channels interleaved
 * @n_rows: number of rows (the total over all calls is the image height)
 * @error: return location for an error
 *
 * Returns: TRUE on success, FALSE if more rows than the height are pushed.
 */
DAE_API gboolean dae_denoiser_push_rows (DaeDenoiser *denoiser, const float *rows,
                                 guint n_rows, GError **error);

/**
 * dae_denoiser_pull_rows:
 * @denoiser: a denoiser
 * @rows: room for max_rows x width x channels floats
 * @max_rows: the most rows wanted
 *
 * Takes the denoised rows that are ready, in order.
 *
 * Returns: the number of rows written to @rows (0 when none is ready yet).
 */
DAE_API guint dae_denoiser_pull_rows (DaeDenoiser *denoiser, float *rows,
                              guint max_rows);

/**
 * dae_denoiser_get_inverted:
 * @denoiser: a denoiser
 *
 * Returns: 1 if every tile run so far was inverted around the model, 0 if
 * none was, 2 if some were (regions of both polarities), -1 while no tile
 * has run yet.
 */
DAE_API int dae_denoiser_get_inverted (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_get_model:
 * @denoiser: a denoiser
 *
 * Returns: (transfer none) (nullable): the model in use, or NULL while a
 * model set's automatic choice is not made yet (before the first rows).
 */
DAE_API const DaeModel *dae_denoiser_get_model (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_describe:
 * @denoiser: a denoiser
 *
 * One line on how the image is processed (tiles, threads, convolution
 * paths, inversion), for verbose output.
 *
 * Returns: (transfer full): the text, to be freed with g_free().
 */
DAE_API char *dae_denoiser_describe (const DaeDenoiser *denoiser);

/**
 * dae_denoiser_free:
 * @denoiser: (nullable): a denoiser
 *
 * Returns: nothing.
 */
DAE_API void dae_denoiser_free (DaeDenoiser *denoiser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeDenoiser, dae_denoiser_free)

/**
 * dae_denoise_image:
 * @model: the model
 * @options: (nullable): options
 * @width: image width
 * @height: image height
 * @channels: samples per pixel (1..4)
 * @has_alpha: whether the last channel is alpha
 * @input: height x width x channels floats in [0,1]
 * @output: room for as many
 * @error: return location for an error
 *
 * Denoises a whole image held in memory (the streaming denoiser underneath).
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_denoise_image (const DaeModel *model,
                            const DaeDenoiseOptions *options, guint width,
                            guint height, guint channels, gboolean has_alpha,
                            const float *input, float *output, GError **error);

/**
 * dae_denoiser_new_for_set:
 * @set: the models; it must outlive the denoiser
 * @options: (nullable): options, NULL for the defaults
 * @width: image width
 * @height: image height
 * @channels: samples per pixel, 1..4 (alpha last, if any)
 * @has_alpha: whether the last channel is alpha
 * @error: return location for an error
 *
 * As dae_denoiser_new(), with the model chosen for this image when the set
 * holds several.
 *
 * Returns: (transfer full): a denoiser, or NULL with @error set.
 */
DAE_API DaeDenoiser *dae_denoiser_new_for_set (const DaeModelSet *set,
                                       const DaeDenoiseOptions *options,
                                       guint width, guint height,
                                       guint channels, gboolean has_alpha,
                                       GError **error);

G_END_DECLS

#endif /* DAE_DAE_DENOISE_H */
