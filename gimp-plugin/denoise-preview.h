/* denoise-preview.h: a dialog's preview computed off the UI thread, for
 * both GIMP plug-ins.
 *
 * Each request copies the previewed area (and its halo) from the source
 * buffer in the calling (main) thread, since a GIMP drawable's buffer may
 * only be read there, and hands it to a worker thread that runs
 * denoise_buffer_rect(), the function the final run uses.  A newer request
 * makes the running worker stop at its next strip; only one worker runs at
 * a time, the newest request waits for it and older ones are dropped, and
 * only the newest result is shown. */
#ifndef DENOISE_PREVIEW_H
#define DENOISE_PREVIEW_H

#include <stdio.h>

#include "denoise-buffer.h"

G_BEGIN_DECLS

typedef struct _DenoisePreview DenoisePreview;

/* Called in the main thread with the newest request's result: @dst holds
 * @rect denoised (in denoise_buffer_format()'s format), or @error says why
 * there is none; @patch is the model's patch width (0 if unknown). */
typedef void (*DenoisePreviewShow) (GeglBuffer *dst, const GeglRectangle *rect,
                                    const GError *error, guint patch, gpointer user_data);

DenoisePreview *denoise_preview_new (GeglBuffer *src, DenoisePreviewShow show,
                                     gpointer user_data);

/* Queues a preview of @rect (main thread only). */
void denoise_preview_request (DenoisePreview *pv, const GeglRectangle *rect, const char *model,
                              const DaeDenoiseOptions *options);

/* With @log, writes when each preview is shown or dropped, and after how long. */
void denoise_preview_set_log (DenoisePreview *pv, FILE *log);

/* Stops the worker (waiting for it to reach its next strip) and frees. */
void denoise_preview_free (DenoisePreview *pv);

G_END_DECLS

#endif
