/* dae-denoise.h: what the plug-in's procedure and its dialog share. */
#ifndef DAE_DENOISE_H
#define DAE_DENOISE_H

#include <libgimp/gimp.h>

#include "dae.h"
#include "denoise-buffer.h"

G_BEGIN_DECLS

#define PLUG_IN_PROC DENOISE_PROC
#define PLUG_IN_BINARY "dae-denoise"
#define PLUG_IN_ROLE "dae-denoise"

#define DENOISE_MODEL_MAX 1024 /* bytes of a model name or path, with its NUL */

/* The procedure's parameters after run-mode, image and drawable; kept
 * between runs with gimp_set_data(), so plain data only. */
typedef struct {
  gchar model[DENOISE_MODEL_MAX]; /* a name, a .dae path, or "" for the default */
  gdouble strength;               /* 0..1 */
  gint stride;                    /* 0 = the model's own step */
  gint invert;                    /* DaeInvert: 0 auto, 1 on, 2 off */
  /* Added later, so last: gimp_get_data() copies only the bytes an older
   * plug-in stored, leaving these at their defaults. */
  gint ink_guard;                 /* pages: light marks not darkened into ink */
  gint despeckle;                 /* pages: isolated specks erased */
  gint impulse_filter;            /* salt-and-pepper out first, when there is much */
} DenoiseVals;

/* Fills @options from @vals (and GIMP's thread preference); FALSE with
 * @error if @vals are not valid. */
gboolean denoise_vals_to_options (const DenoiseVals *vals, DaeDenoiseOptions *options,
                                  GError **error);

/* The interactive dialog; TRUE if the user pressed OK (then @vals holds
 * the chosen values). */
gboolean denoise_dialog (gint32 drawable_id, DenoiseVals *vals);

G_END_DECLS

#endif
