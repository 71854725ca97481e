/* fuzz-filter.c: libFuzzer harness for the whole filter path on one input:
 * the image reader, the streaming denoiser (tiler, runners, worker pool)
 * and the writer, band by band as dae-filter runs them.  The first byte
 * picks the options (stride, strength, inversion, colour mode, threads);
 * the rest is the image stream.  The model is a small network of the
 * tutorial's shape (2 channels, not 32) with fixed random weights, so that
 * an execution costs milliseconds.  Checked: every row comes out once, the
 * output has the input's format and is valid, alpha passes through, and
 * at strength 0 the image comes out unchanged. */
#include "fuzz-image.h"

#include <math.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Tiles cost about 40k multiply-adds each: this keeps an execution fast. */
#define MAX_PIXELS (1u << 14)
#define MAX_PIXELS_STRIDE1 1024u

static DaeModel *model;

static float
to_float (guint16 v, guint maxval)
{
  return (float) v / (float) maxval;
}

/* As dae-filter converts. */
static guint16
from_float (float v, guint maxval)
{
  return (guint16) floorf (v * (float) maxval + 0.5f);
}

/* Pulls what is ready and writes it; checks alpha and strength 0 against
 * the kept input. */
static void
drain (DaeDenoiser *d, DaeImageWriter *w, const DaeImageInfo *info,
       const guint16 *input, guint *pulled, float *frow, guint16 *srow,
       gboolean identity)
{
  const size_t row = (size_t) info->width * info->channels;
  guint k;
  while ((k = dae_denoiser_pull_rows (d, frow, 1)) > 0)
    {
      fuzz_require (*pulled < info->height, "more rows out than in", NULL);
      const guint16 *in = input + (size_t) *pulled * row;
      for (size_t i = 0; i < row; i++)
        {
          fuzz_require (frow[i] >= 0.0f && frow[i] <= 1.0f,
                        "output sample outside [0,1]", NULL);
          srow[i] = from_float (frow[i], info->maxval);
          if (identity)
            fuzz_require (srow[i] == in[i], "strength 0 changed the image", NULL);
        }
      if (info->has_alpha)
        for (size_t x = 0; x < info->width; x++)
          {
            size_t a = x * info->channels + info->channels - 1;
            fuzz_require (srow[a] == in[a], "alpha changed", NULL);
          }
      GError *error = NULL;
      fuzz_require (dae_image_writer_write_rows (w, 1, srow, &error),
                    "writing a denoised row", error);
      (*pulled)++;
    }
}

static void
filter_stream (const guint8 *data, size_t size, const DaeDenoiseOptions *opt)
{
  DaeImageReader *r = dae_image_reader_new_memory (data, size);
  dae_image_reader_set_max_pixels (r, opt->stride == 1 ? MAX_PIXELS_STRIDE1
                                                      : MAX_PIXELS);
  DaeImageInfo info;
  GError *error = NULL;
  gboolean identity = opt->strength == 0.0;
  guint ph;
  dae_model_get_patch_size (model, &ph, NULL);
  while (error == NULL && dae_image_reader_next (r, &info, &error))
    {
      DaeDenoiser *d = dae_denoiser_new (model, opt, info.width, info.height,
                                         info.channels, info.has_alpha, &error);
      fuzz_require (d != NULL, "denoiser refuses an image the reader took", error);
      char *out = NULL;
      size_t out_len = 0;
      FILE *fp = open_memstream (&out, &out_len);
      DaeImageWriter *w = dae_image_writer_new (fp, &info, &error);
      fuzz_require (w != NULL, "writer refuses an image the reader took", error);

      const size_t row = (size_t) info.width * info.channels;
      guint16 *input = g_new (guint16, row * info.height);
      float *band = g_new (float, row * ph);
      float *frow = g_new (float, row);
      guint16 *srow = g_new (guint16, row);
      guint pulled = 0;
      gboolean ok = TRUE;
      for (guint y = 0; ok && y < info.height; y += ph)
        {
          guint k = MIN (ph, info.height - y);
          guint16 *s = input + (size_t) y * row;
          ok = dae_image_reader_read_rows (r, k, s, &error);
          if (!ok)
            break;
          for (size_t i = 0; i < k * row; i++)
            band[i] = to_float (s[i], info.maxval);
          fuzz_require (dae_denoiser_push_rows (d, band, k, &error), "push", error);
          drain (d, w, &info, input, &pulled, frow, srow, identity);
        }
      if (ok)
        {
          fuzz_require (pulled == info.height, "rows missing at the end", NULL);
          fuzz_require (dae_image_writer_finish (w, &error), "finish", error);
          fuzz_require (dae_image_writer_close (w, &error), "close", error);
          fclose (fp);
          fp = NULL;
          /* What was written is one valid image of the same kind. */
          DaeImageReader *back = dae_image_reader_new_memory (out, out_len);
          DaeImageInfo bi;
          fuzz_require (dae_image_reader_next (back, &bi, &error), "output", error);
          /* PNG stores some maxvals rescaled to 8 or 16 bits. */
          fuzz_require (bi.width == info.width && bi.height == info.height
                        && bi.channels == info.channels && bi.format == info.format
                        && (bi.maxval == info.maxval
                            || (info.format == DAE_IMAGE_FORMAT_PNG
                                && !fuzz_png_exact (&info))),
                        "output header differs from the input's", NULL);
          dae_image_reader_free (back);
        }
      if (fp)
        fclose (fp);
      free (out);
      g_free (input);
      g_free (band);
      g_free (frow);
      g_free (srow);
      dae_image_writer_free (w);
      dae_denoiser_free (d);
    }
  if (error != NULL)
    {
      fuzz_check_message (error);
      g_clear_error (&error);
    }
  dae_image_reader_free (r);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  if (model == NULL)
    {
      GError *error = NULL;
      model = dae_model_new_from_arch ("c2,p,c2,p,c2,u,c2,u,c1:sigmoid", 1,
                                       28, 28, &error);
      fuzz_require (model != NULL, "model", error);
      dae_model_init_glorot (model, 1);
    }
  if (size < 1)
    return 0;
  static const guint strides[] = { 0, 28, 1, 13, 27, 9 };
  static const double strengths[] = { 1.0, 0.0, 0.5, 1.0 };
  const guint f = data[0];
  DaeDenoiseOptions opt;
  dae_denoise_options_init (&opt);
  opt.stride = strides[(f & 7) % G_N_ELEMENTS (strides)];
  opt.strength = strengths[(f >> 3) & 3];
  opt.invert = (DaeInvert) ((f >> 5) % 3);
  opt.color = (f >> 6) & 1 ? DAE_COLOR_RGB : DAE_COLOR_LUMA;
  opt.threads = 1 + (f >> 7);
  filter_stream (data + 1, size - 1, &opt);
  return 0;
}
