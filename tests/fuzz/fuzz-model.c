/* fuzz-model.c: libFuzzer harness for the .dae model loader
 * (dae-model(5)).  The file's CRC-32 would stop nearly every mutation at
 * the door, so each input is loaded twice: as it is, and with its last four
 * bytes replaced by the right CRC.  A model that loads must save to bytes
 * that load again to the same bytes, and small ones are run on a patch and
 * on a small image, as dae-filter -m would. */
#include "dae.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Runs models whose activations fit in this many floats per tile. */
#define RUN_MAX_FLOATS (1u << 18)

static void
require (gboolean ok, const char *what, const GError *error)
{
  if (ok)
    return;
  fprintf (stderr, "fuzz: broken property: %s%s%s\n", what,
           error ? ": " : "", error ? error->message : "");
  abort ();
}

static void
check_message (const GError *error)
{
  require (error->domain == DAE_ERROR && error->message[0] != '\0',
           "bad error", error);
  for (const char *p = error->message; *p; p++)
    require ((guchar) *p >= 0x20 && *p != 0x7f,
             "control character in an error message", error);
}

/* The largest activation of a tile, in floats, or 0 if it cannot be run. */
static guint64
tile_floats (const DaeModel *m)
{
  guint h, w;
  dae_model_get_patch_size (m, &h, &w);
  guint64 most = (guint64) dae_model_get_channels (m) * h * w;
  for (guint i = 0; i < dae_model_get_n_layers (m); i++)
    {
      DaeLayerKind kind;
      guint c;
      require (dae_model_get_layer (m, i, &kind, NULL, &c, NULL), "layer", NULL);
      if (kind == DAE_LAYER_MAXPOOL2)
        h = (h + 1) / 2, w = (w + 1) / 2;
      else if (kind == DAE_LAYER_UPSAMPLE2 || kind == DAE_LAYER_CONVT2X2)
        h *= 2, w *= 2;
      most = MAX (most, (guint64) c * h * w);
    }
  return most;
}

static void
exercise (DaeModel *m, const guint8 *data, size_t size)
{
  g_free (dae_model_describe (m));
  char **keys = dae_model_get_metadata_keys (m);
  for (char **k = keys; *k; k++)
    require (dae_model_get_metadata (m, *k) != NULL, "metadata key", NULL);
  g_strfreev (keys);

  /* Loading is exact: saving gives back the very bytes. */
  size_t n;
  guint8 *saved = dae_model_save_memory (m, &n);
  require (n == size && memcmp (saved, data, n) == 0,
           "save after load changed the bytes", NULL);
  DaeModel *copy = dae_model_copy (m);
  guint8 *again = dae_model_save_memory (copy, &n);
  require (n == size && memcmp (again, data, n) == 0, "copy differs", NULL);
  g_free (again);
  g_free (saved);
  dae_model_free (copy);

  guint64 floats = tile_floats (m);
  guint h, w;
  dae_model_get_patch_size (m, &h, &w);
  if (floats > RUN_MAX_FLOATS)
    return;
  GError *error = NULL;
  DaeRunner *r = dae_runner_new (m, h, w, &error);
  require (r != NULL, "a loaded model does not run at its patch size", error);
  size_t pf = (size_t) dae_model_get_channels (m) * h * w;
  float *in = g_new (float, pf), *out = g_new (float, pf);
  for (size_t i = 0; i < pf; i++)
    in[i] = (float) (i % 7) / 6.0f;
  require (dae_runner_forward (r, 1, in, out, &error), "forward", error);
  g_free (in);
  g_free (out);
  dae_runner_free (r);

  /* Images go through the tiler with 1-channel models only. */
  if (dae_model_get_channels (m) != 1 || (guint64) h * w > 4096)
    return;
  DaeDenoiseOptions opt;
  dae_denoise_options_init (&opt);
  opt.threads = 1;
  const guint iw = 9, ih = 5;
  float img[9 * 5], res[9 * 5];
  for (guint i = 0; i < iw * ih; i++)
    img[i] = (float) (i % 5) / 4.0f;
  require (dae_denoise_image (m, &opt, iw, ih, 1, FALSE, img, res, &error),
           "denoising with a loaded model", error);
  for (guint i = 0; i < iw * ih; i++)
    require (res[i] >= 0.0f && res[i] <= 1.0f, "output outside [0,1]", NULL);
}

static void
load (const guint8 *data, size_t size)
{
  GError *error = NULL;
  DaeModel *m = dae_model_load_memory (data, size, &error);
  require ((m == NULL) == (error != NULL), "result and error disagree", error);
  if (m == NULL)
    {
      check_message (error);
      g_error_free (error);
      return;
    }
  exercise (m, data, size);
  dae_model_free (m);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  load (data, size);
  if (size < 12)
    return 0;
  guint8 *fixed = g_memdup2 (data, size);
  guint32 crc = (guint32) crc32 (crc32 (0, NULL, 0), fixed, size - 4);
  guint8 le[4] = { crc, crc >> 8, crc >> 16, crc >> 24 };
  if (memcmp (fixed + size - 4, le, 4) != 0)
    {
      memcpy (fixed + size - 4, le, 4);
      load (fixed, size);
    }
  g_free (fixed);
  return 0;
}
