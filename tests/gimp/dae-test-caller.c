/* dae-test-caller: a test-only GIMP plug-in that calls plug-in-dae-denoise
 * with fewer parameters than it declares, as an old script or plug-in
 * written before a parameter was added would.  Script-Fu cannot do that
 * (it insists on the declared count); C plug-ins can. */
#include <libgimp/gimp.h>

static void query (void);
static void run (const gchar *name, gint nparams, const GimpParam *param,
                 gint *nreturn_vals, GimpParam **return_vals);

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

static void
query (void)
{
  static const GimpParamDef args[] = {
    { GIMP_PDB_INT32, "run-mode", "The run mode { RUN-NONINTERACTIVE (1) }" },
    { GIMP_PDB_IMAGE, "image", "Input image" },
    { GIMP_PDB_DRAWABLE, "drawable", "Input drawable" },
    { GIMP_PDB_INT32, "n-params", "How many of plug-in-dae-denoise's parameters to pass (3..10)" },
    { GIMP_PDB_STRING, "model", "Its model parameter" },
    { GIMP_PDB_FLOAT, "strength", "Its strength parameter" },
  };
  gimp_install_procedure ("plug-in-dae-test-caller", "Calls plug-in-dae-denoise with N params",
                          "Test helper of the dae GIMP plug-in.", "dae authors", "dae authors",
                          "2026", NULL, "RGB*, GRAY*", GIMP_PLUGIN, G_N_ELEMENTS (args), 0, args,
                          NULL);
}

static void
run (const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
     GimpParam **return_vals)
{
  static GimpParam values[1];
  *nreturn_vals = 1;
  *return_vals = values;
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
  if (nparams != 6 || param[3].data.d_int32 < 3 || param[3].data.d_int32 > 10)
    return;

  GimpParam args[10];
  args[0].type = GIMP_PDB_INT32;
  args[0].data.d_int32 = GIMP_RUN_NONINTERACTIVE;
  args[1].type = GIMP_PDB_IMAGE;
  args[1].data.d_image = param[1].data.d_image;
  args[2].type = GIMP_PDB_DRAWABLE;
  args[2].data.d_drawable = param[2].data.d_drawable;
  args[3].type = GIMP_PDB_STRING;
  args[3].data.d_string = param[4].data.d_string;
  args[4].type = GIMP_PDB_FLOAT;
  args[4].data.d_float = param[5].data.d_float;
  args[5].type = GIMP_PDB_INT32;
  args[5].data.d_int32 = 0;
  args[6].type = GIMP_PDB_INT32;
  args[6].data.d_int32 = 0;
  /* The switches off: not their defaults, so that a call with 8, 9 or 10
   * parameters shows they were read. */
  args[7].type = GIMP_PDB_INT32;
  args[7].data.d_int32 = FALSE;
  args[8].type = GIMP_PDB_INT32;
  args[8].data.d_int32 = FALSE;
  args[9].type = GIMP_PDB_INT32;
  args[9].data.d_int32 = FALSE;

  gint n_results;
  GimpParam *results = gimp_run_procedure2 ("plug-in-dae-denoise", &n_results,
                                            param[3].data.d_int32, args);
  values[0].data.d_status = results[0].data.d_status;
  gimp_destroy_params (results, n_results);
}
