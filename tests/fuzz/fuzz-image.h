/* fuzz-image.h: what the image harnesses share.  An input is read the way
 * dae-filter reads it (every image of the stream, in bands), and what comes
 * out is checked: sane headers, samples within maxval, one-line error
 * messages, and images that survive being written and read back.  A broken
 * property aborts, which libFuzzer reports as a crash. */
#ifndef FUZZ_IMAGE_H
#define FUZZ_IMAGE_H

#include "dae.h"

#include <stdlib.h>
#include <string.h>

/* Large enough for every header path, small enough that a deflate bomb at
 * the limit costs milliseconds, not seconds. */
#define FUZZ_MAX_PIXELS (1u << 22)
/* Images up to this many samples are kept whole for the round trips. */
#define FUZZ_KEEP_SAMPLES (1u << 16)

static void G_GNUC_UNUSED
fuzz_require (gboolean ok, const char *what, const GError *error)
{
  if (ok)
    return;
  fprintf (stderr, "fuzz: broken property: %s%s%s\n", what,
           error ? ": " : "", error ? error->message : "");
  abort ();
}

/* Errors reach users as `prog: file: message`, one line on a terminal. */
static void G_GNUC_UNUSED
fuzz_check_message (const GError *error)
{
  fuzz_require (error->domain == DAE_ERROR, "error outside DAE_ERROR", error);
  fuzz_require (error->message[0] != '\0', "empty error message", error);
  for (const char *p = error->message; *p; p++)
    fuzz_require ((guchar) *p >= 0x20 && *p != 0x7f,
                  "control character in an error message", error);
}

/* Writes the image in @format and reads it back: the samples must survive
 * exactly (callers pick formats that store them exactly). */
static void G_GNUC_UNUSED
fuzz_round_trip (const DaeImageInfo *info, const guint16 *samples,
                 DaeImageFormat format)
{
  DaeImageInfo out = *info;
  /* The lossless default, not a TIFF's JPEG compression. */
  out.tiff_compression = 0;
  if (!dae_image_info_set_format (&out, format, NULL))
    return;
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  GError *error = NULL;
  DaeImageWriter *w = dae_image_writer_new (fp, &out, &error);
  fuzz_require (w != NULL, "writer refuses what the reader read", error);
  fuzz_require (dae_image_writer_write_rows (w, info->height, samples, &error),
                "writing rows", error);
  fuzz_require (dae_image_writer_finish (w, &error), "finishing", error);
  fuzz_require (dae_image_writer_close (w, &error), "closing", error);
  dae_image_writer_free (w);
  fclose (fp);

  DaeImageReader *r = dae_image_reader_new_memory (buf, len);
  DaeImageInfo back;
  fuzz_require (dae_image_reader_next (r, &back, &error),
                "reading back a written image", error);
  fuzz_require (back.format == format && back.width == info->width
                && back.height == info->height
                && back.channels == info->channels
                && back.maxval == info->maxval,
                "round trip changed the header", NULL);
  size_t n = (size_t) info->width * info->height * info->channels;
  guint16 *again = g_new (guint16, n);
  fuzz_require (dae_image_reader_read_rows (r, info->height, again, &error),
                "reading back rows", error);
  fuzz_require (memcmp (again, samples, n * sizeof *again) == 0,
                "round trip changed the samples", NULL);
  fuzz_require (!dae_image_reader_next (r, &back, &error) && error == NULL,
                "a written image is followed by more", error);
  g_free (again);
  dae_image_reader_free (r);
  free (buf);
}

/* Whether PNG stores this maxval without rescaling. */
static gboolean G_GNUC_UNUSED
fuzz_png_exact (const DaeImageInfo *info)
{
  guint m = info->maxval;
  return m == 255 || m == 65535
         || (info->channels == 1 && (m == 1 || m == 3 || m == 15));
}

static void G_GNUC_UNUSED
fuzz_read_stream (const guint8 *data, size_t size)
{
  DaeImageReader *r = dae_image_reader_new_memory (data, size);
  dae_image_reader_set_max_pixels (r, FUZZ_MAX_PIXELS);
  DaeImageInfo info;
  GError *error = NULL;
  guint n = 0;
  while (dae_image_reader_next (r, &info, &error))
    {
      n++;
      fuzz_require (dae_image_reader_get_index (r) == n, "image index", NULL);
      fuzz_require (info.width >= 1 && info.height >= 1
                    && (guint64) info.width * info.height <= FUZZ_MAX_PIXELS,
                    "image size out of bounds", NULL);
      fuzz_require (info.channels >= 1 && info.channels <= 4
                    && info.maxval >= 1 && info.maxval <= 65535
                    && info.has_alpha == (info.channels == 2 || info.channels == 4),
                    "bad image description", NULL);
      /* Every third image is left unread: the reader skips it. */
      if (n % 3 == 0)
        continue;

      const size_t row = (size_t) info.width * info.channels;
      const size_t total = row * info.height;
      const gboolean keep = total <= FUZZ_KEEP_SAMPLES;
      const guint band = 1 + n % 7;
      guint16 *samples = g_new (guint16, keep ? total : row * band);
      gboolean ok = TRUE;
      for (guint y = 0; ok && y < info.height; y += band)
        {
          guint k = MIN (band, info.height - y);
          guint16 *dst = keep ? samples + y * row : samples;
          ok = dae_image_reader_read_rows (r, k, dst, &error);
          for (size_t i = 0; ok && i < k * row; i++)
            fuzz_require (dst[i] <= info.maxval, "sample above maxval", NULL);
        }
      if (ok && keep)
        {
          /* JPEG is lossy: its samples go through PAM and PNG only. */
          fuzz_round_trip (&info, samples, DAE_IMAGE_FORMAT_PAM);
          if (info.format != DAE_IMAGE_FORMAT_PNG
              && info.format != DAE_IMAGE_FORMAT_PAM
              && info.format != DAE_IMAGE_FORMAT_JPEG)
            fuzz_round_trip (&info, samples, info.format);
          if (info.format >= DAE_IMAGE_FORMAT_PAM && fuzz_png_exact (&info))
            fuzz_round_trip (&info, samples, DAE_IMAGE_FORMAT_PNG);
        }
      g_free (samples);
      if (!ok)
        break;
    }
  if (error != NULL)
    {
      fuzz_check_message (error);
      g_clear_error (&error);
      /* After an error the reader only refuses. */
      fuzz_require (!dae_image_reader_next (r, &info, &error) && error != NULL,
                    "a failed reader goes on", NULL);
      g_clear_error (&error);
    }
  else
    fuzz_require (n > 0, "an empty stream ends cleanly", NULL);
  dae_image_reader_free (r);
}

#endif
