/* plot.h: the training pictures of dae-train, drawn with cairo and written
 * as PNG: the loss curve and the preview grid. */
#ifndef DAE_PLOT_H
#define DAE_PLOT_H

#include <glib.h>

G_BEGIN_DECLS

/* The loss-curve image: its size, where its plot area lies, the colours of
 * its series (matplotlib's first two), so tests can find what was drawn. */
#define DAE_PLOT_LOSS_WIDTH 800
#define DAE_PLOT_LOSS_HEIGHT 560

typedef struct {
  guint x, y, width, height;
} DaePlotRect;

extern const guint8 dae_plot_train_rgb[3];
extern const guint8 dae_plot_validation_rgb[3];

/**
 * dae_plot_loss_area:
 * @area: (out): the plot area of the loss curve, in pixels: the inside of
 *   its frame, where epoch and loss map linearly
 *
 * Returns: nothing.
 */
void dae_plot_loss_area (DaePlotRect *area);

/**
 * dae_plot_loss_curve:
 * @path: the PNG file to write (atomically: a temporary file renamed)
 * @train_loss: @n_epochs training losses, epoch 1 first
 * @val_loss: (nullable): as many validation losses, or NULL
 * @n_epochs: number of epochs (>= 1)
 * @title: (nullable): the title above the plot
 * @error: return location for an error
 *
 * Draws the losses per epoch as two coloured polylines (with markers when
 * the epochs are few) on axes with ticks at round values and a legend
 * ("train", "validation"), like the tutorial's matplotlib figure: an RGB
 * image of DAE_PLOT_LOSS_WIDTH x DAE_PLOT_LOSS_HEIGHT.  Epochs 1..n and
 * the range of the finite losses, each widened by 5% a side (matplotlib's
 * margins), span the plot area; NaN and infinite losses leave a gap.
 *
 * Returns: TRUE on success, FALSE with @error set (DAE_ERROR_INVALID for
 * no epochs, DAE_ERROR_IO if @path cannot be written).
 */
gboolean dae_plot_loss_curve (const char *path, const double *train_loss,
                              const double *val_loss, guint n_epochs,
                              const char *title, GError **error);

/**
 * dae_plot_preview:
 * @path: the PNG file to write (atomically)
 * @noisy: @n images of @h x @w floats in [0,1]: the network's inputs
 * @denoised: as many: its outputs
 * @clean: as many: the clean originals
 * @n: number of images (columns), >= 1
 * @h: image height
 * @w: image width
 * @error: return location for an error
 *
 * Draws a grid of three labelled rows, noisy / denoised / clean, with @n
 * columns, each image enlarged by nearest neighbour (3x for digits, less
 * for images over 64 pixels), white gaps between them: a gray picture in
 * an 8-bit RGB PNG.
 * Values outside [0,1] are clamped, NaN shows black.
 *
 * Returns: TRUE on success, FALSE with @error set (DAE_ERROR_INVALID for
 * no images, DAE_ERROR_LIMIT if the picture would exceed 16384 pixels in
 * a direction, DAE_ERROR_IO if @path cannot be written).
 */
gboolean dae_plot_preview (const char *path, const float *noisy,
                           const float *denoised, const float *clean, guint n,
                           guint h, guint w, GError **error);

/**
 * dae_plot_shutdown:
 *
 * Frees what cairo and fontconfig keep for the process (fonts, caches), so
 * that leak checkers see a clean exit.  Call it once, at the end, when no
 * picture is being drawn; drawing afterwards still works.
 */
void dae_plot_shutdown (void);

G_END_DECLS

#endif /* DAE_PLOT_H */
