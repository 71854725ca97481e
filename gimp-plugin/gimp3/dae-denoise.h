/* dae-denoise.h (GIMP 3): what the GIMP 3 plug-in's procedure and its dialog share. */
#ifndef DAE_DENOISE3_H
#define DAE_DENOISE3_H

#include <libgimp/gimp.h>

#include "dae.h"
#include "denoise-buffer.h"

G_BEGIN_DECLS

#define PLUG_IN_PROC DENOISE_PROC
#define PLUG_IN_BINARY "dae-denoise"
#define PLUG_IN_ROLE "dae-denoise"

#define DAE_TYPE_DENOISE3 (dae_denoise3_get_type ())
G_DECLARE_FINAL_TYPE (DaeDenoise3, dae_denoise3, DAE, DENOISE3, GimpPlugIn)

/* Reads the procedure's arguments from @config: the model name (to free)
 * and the options; FALSE with @error if they are not valid. */
gboolean denoise_config_to_options (GimpProcedureConfig *config, gchar **model,
                                    DaeDenoiseOptions *options, GError **error);

/* The interactive dialog; TRUE if the user pressed OK (then @config holds
 * the chosen values). */
gboolean denoise_dialog (GimpProcedure *procedure, GimpProcedureConfig *config,
                         GimpDrawable *drawable);

G_END_DECLS

#endif
