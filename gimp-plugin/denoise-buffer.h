/* denoise-buffer.h: what the GIMP 2.10 and GIMP 3 plug-ins and the GEGL
 * operation share: a DaeDenoiser run over a rectangle of a GeglBuffer, the
 * checks of the procedure's parameters and the list of models a dialog
 * offers.
 *
 * Nothing here knows libgimp: every front end hands it GeglBuffers, and
 * the previews and the final runs all go through denoise_buffer_rect(). */
#ifndef DENOISE_BUFFER_H
#define DENOISE_BUFFER_H

#include <gegl.h>

#include "dae.h"

G_BEGIN_DECLS

/* Marks a string for translation without translating it here (GETTEXT_PACKAGE
 * is "dae"; each front end binds the domain). */
#ifndef N_
#define N_(s) (s)
#endif

/* What both plug-ins show: the procedure's name, menu place and words. */
#define DENOISE_PROC "plug-in-dae-denoise"
#define DENOISE_MENU_PATH "<Image>/Filters/Enhance"
#define DENOISE_MENU_LABEL N_("_Denoise (autoencoder)...")
#define DENOISE_BLURB N_("Remove noise with a denoising autoencoder")
#define DENOISE_HELP                                                                      \
  N_("Denoises the drawable (or the selection) with a small convolutional denoising "    \
     "autoencoder run over overlapping patches: scanned pages, photos or digits, after " \
     "the model chosen. The result is the same as dae-filter's. Alpha is left as it was.")
#define DENOISE_MODEL_BLURB                                                              \
  N_("Model name (e.g. \"document\", \"photo\") or path of a .dae file; \"\" for the " \
     "automatic choice (the document model for pages, the photo model for anything else)")
#define DENOISE_STRENGTH_BLURB                                                           \
  N_("How much of the denoised image replaces the original: 1 all of it, 0 none; -1 "    \
     "automatic (after the noise measured in the image)")
#define DENOISE_COLOR_BLURB                                                              \
  N_("Colour images: 0 luminance only, 1 each of R, G, B, 2 opponent planes (luminance " \
     "and both chroma planes), 3 automatic (opponent for photos, luminance for pages)")
#define DENOISE_STRIDE_BLURB                                                             \
  N_("Step between the overlapping patches, in pixels; 0 means the model's own step "   \
     "(finer on a small photo, within the automatic passes' work). "                     \
     "Smaller is smoother and slower (a quarter of the step costs 16 times as much)")
#define DENOISE_INVERT_BLURB                                                             \
  N_("Polarity: 0 auto (by the picture's background), 1 invert the picture around the " \
     "model, 2 never invert")
#define DENOISE_INK_GUARD_BLURB                                                         \
  N_("Pages only: marks lighter than half the page's ink contrast (bleed-through from " \
     "the other side, faint stains) are not darkened into ink, and a 1-bit page's "     \
     "thin strokes are not lightened. On by default")
#define DENOISE_DESPECKLE_BLURB                                                         \
  N_("Pages only: isolated specks smaller than half the square of the page's stroke "   \
     "width, with no text near, are erased (dust, toner). On by default")
#define DENOISE_IMPULSE_FILTER_BLURB                                                    \
  N_("Salt-and-pepper: black and white dots alone among their neighbours are replaced " \
     "by their 3x3 median before denoising, only when the image holds many of them "    \
     "(a scanner's faults). On by default")
#define DENOISE_STRIDE_MAX 1024

/* The procedure's parameters after the drawable, in their PDB encoding
 * (the same in GIMP 2.10 and 3). */
typedef struct {
  const char *model; /* a name, a .dae path, or "" for the automatic choice */
  double strength;   /* 0..1, or DAE_STRENGTH_AUTO */
  int stride;        /* 0 = the model's own step */
  int invert;        /* DaeInvert: 0 auto, 1 on, 2 off */
  int color;         /* DaeColorMode: 0 luma, 1 rgb, 2 opponent, 3 auto */
  gboolean ink_guard; /* pages: light marks are not darkened into ink */
  gboolean despeckle; /* pages: isolated specks are erased */
  gboolean impulse_filter; /* salt-and-pepper out first, when there is much of it */
} DenoiseParams;

/**
 * denoise_params_to_options:
 * @params: the procedure's parameters
 * @threads: worker threads, 0 for all cores
 * @options: filled from @params
 * @error: return location for an error
 *
 * Checks what belongs to the PDB encoding (a negative stride, an invert
 * or colour mode out of range); the denoiser checks the rest (strength range, stride
 * against the patch size).
 *
 * Returns: TRUE if @params are valid.
 */
gboolean denoise_params_to_options (const DenoiseParams *params, guint threads,
                                    DaeDenoiseOptions *options, GError **error);

/**
 * denoise_load_models:
 * @name: (nullable): a model name, a .dae path, or NULL / "" for the
 *   automatic choice the core makes for each image (dae_model_set_load())
 * @error: return location for an error
 *
 * Returns: (transfer full): the models, or NULL with @error set if they
 * are not found or not valid.
 */
DaeModelSet *denoise_load_models (const char *name, GError **error);

/* The largest patch width of @set's models: the halo a rectangle needs. */
guint denoise_models_patch (const DaeModelSet *set);

/* One entry of a dialog's model list. */
typedef struct {
  char *id;          /* what the "model" parameter holds; "" = automatic */
  char *label;       /* the name shown */
  char *description; /* the model's "description" metadata, else its name */
} DenoiseModelEntry;

/**
 * denoise_model_entries:
 * @current: (nullable): the model the procedure holds now; a path or a
 *   name not installed gets an entry of its own
 *
 * The automatic choice first, then every installed model (dae_model_list()), with
 * its description read from the model file.
 *
 * Returns: (transfer full): a GPtrArray of DenoiseModelEntry.
 */
GPtrArray *denoise_model_entries (const char *current);

/* Called between strips with the fraction done; FALSE stops the run. */
typedef gboolean (*DenoiseProgressFunc) (double fraction, gpointer user_data);

/**
 * denoise_buffer_format:
 * @buffer: a drawable's buffer
 *
 * The perceptual format the denoiser is fed in: "Y'", "Y'A", "R'G'B'" or
 * "R'G'B'A" after the buffer's own format (gray or colour, alpha or not),
 * in u8 or u16 for 8- and 16-bit buffers (scaled to [0,1] as dae-filter
 * scales them: the same result whatever path babl picks) and float for the
 * rest, in the buffer's colour space, so that alpha is kept.
 *
 * Returns: (transfer none): the format.
 */
const Babl *denoise_buffer_format (GeglBuffer *buffer);

/* The same for a buffer of @format. */
const Babl *denoise_format_for (const Babl *format);

/**
 * denoise_buffer_rect:
 * @models: the model, or the models the core chooses from for the image
 *   (the rectangle and its halo)
 * @options: denoise options
 * @src: the buffer to read
 * @dst: the buffer to write (may be a drawable's shadow buffer, or a
 *   small buffer covering @rect for a preview)
 * @rect: the rectangle of @src to denoise, inside its extent
 * @progress: (nullable): called between strips
 * @user_data: for @progress
 * @error: return location for an error
 *
 * Reads @rect grown by a halo of one patch (clipped to @src's extent) in
 * strips, pushes the rows into a DaeDenoiser and writes the rows of @rect
 * it returns to @dst in the format of denoise_buffer_format().  Memory
 * grows with the width of @rect, not its height.
 *
 * Returns: TRUE on success; FALSE with @error set (DAE_ERROR_CANCELLED when
 * @progress asked to stop), in which case @dst holds a partial result.
 */
gboolean denoise_buffer_rect (const DaeModelSet *models,
                              const DaeDenoiseOptions *options,
                              GeglBuffer *src, GeglBuffer *dst,
                              const GeglRectangle *rect,
                              DenoiseProgressFunc progress, gpointer user_data,
                              GError **error);

G_END_DECLS

#endif
