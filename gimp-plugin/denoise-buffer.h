/* denoise-buffer.h: a DaeDenoiser run over a rectangle of a GeglBuffer.
 *
 * Nothing here knows libgimp: GIMP 2.10 and a GIMP 3 port hand it the same
 * GeglBuffers, and the preview and the final run both go through it. */
#ifndef DENOISE_BUFFER_H
#define DENOISE_BUFFER_H

#include <gegl.h>

#include "dae.h"

G_BEGIN_DECLS

/* Called between strips with the fraction done; FALSE stops the run. */
typedef gboolean (*DenoiseProgressFunc) (double fraction, gpointer user_data);

/**
 * denoise_buffer_format:
 * @buffer: a drawable's buffer
 *
 * The perceptual float format the denoiser is fed in: "Y' float",
 * "Y'A float", "R'G'B' float" or "R'G'B'A float" after the buffer's own
 * format (gray or colour, alpha or not), in the buffer's colour space, so
 * that every precision converts losslessly enough and alpha is kept.
 *
 * Returns: (transfer none): the format.
 */
const Babl *denoise_buffer_format (GeglBuffer *buffer);

/**
 * denoise_buffer_rect:
 * @model: the model
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
gboolean denoise_buffer_rect (const DaeModel *model,
                              const DaeDenoiseOptions *options,
                              GeglBuffer *src, GeglBuffer *dst,
                              const GeglRectangle *rect,
                              DenoiseProgressFunc progress, gpointer user_data,
                              GError **error);

G_END_DECLS

#endif
