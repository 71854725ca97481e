/* page-features: the statistics the denoiser's automatic choice reads (the
 * first rows of each image, as the tiler takes them), one TSV line per file,
 * for tools/fit-page-classifier.  Not installed: a tool for refitting.
 *
 *   build/tools/page-features FILE... > features.tsv
 *
 * Columns: file, the features in DaeImageStats order, sigma, p_document,
 * p_plain, p_median (-1: not looked), the analysed box (x, y, width, height:
 * the rows without their dark bars). */
#include "dae-private.h"

#include <stdio.h>

static gboolean
print_features (const char *path, GError **error)
{
  g_autoptr (DaeImageReader) reader = dae_image_reader_new_path (path, error);
  DaeImageInfo info;
  if (reader == NULL || !dae_image_reader_next (reader, &info, error))
    return FALSE;
  const size_t row_f = (size_t) info.width * info.channels;
  const guint rows = dae__lookahead_rows (info.width, info.height, info.channels);
  g_autofree guint16 *samples = g_new (guint16, row_f * rows);
  g_autofree float *f = g_new (float, row_f * rows);
  if (!dae_image_reader_read_rows (reader, rows, samples, error))
    return FALSE;
  for (size_t i = 0; i < row_f * rows; i++)
    f[i] = (float) samples[i] / info.maxval;
  DaeImageStats st;
  if (!dae__analyze_rows (f, info.width, rows, info.channels,
                          info.channels - (info.has_alpha ? 1 : 0), &st))
    return FALSE;
  printf ("%s", path);
  for (guint i = 0; i < DAE__N_IMAGE_FEATURES; i++)
    printf ("\t%.6g", st.features[i]);
  printf ("\t%.6g\t%.4f\t%.4f\t%.4f", st.sigma, st.p_document, st.p_plain, st.p_median);
  printf ("\t%u\t%u\t%u\t%u\n", st.box[0], st.box[1], st.box[2], st.box[3]);
  return TRUE;
}

int
main (int argc, char **argv)
{
  int failed = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      if (!print_features (argv[i], &error))
        {
          fprintf (stderr, "page-features: %s: %s\n", argv[i],
                   error ? error->message : "cannot analyse");
          failed = 1;
        }
    }
  return failed;
}
