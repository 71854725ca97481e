/* image.c: the streaming image reader and writer; dispatches to the PNM
 * (pnm.c) and PNG (png.c) codecs by magic number and by requested format. */
#include "io-private.h"

#include <string.h>

const guint8 dae__png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/* ---- byte source -------------------------------------------------------- */

int
dae__source_getc_slow (DaeSource *s)
{
  for (;;)
    {
      if (!ferror (s->fp))
        return EOF;
      if (errno != EINTR)
        {
          s->io_errno = errno ? errno : EIO;
          return EOF;
        }
      /* A signal interrupted the read: not an end of input. */
      clearerr (s->fp);
      int c = getc_unlocked (s->fp);
      if (c != EOF)
        return c;
    }
}

size_t
dae__source_read (DaeSource *s, void *buf, size_t n)
{
  if (s->fp == NULL)
    {
      size_t k = MIN (n, s->size - s->pos);
      if (k)
        memcpy (buf, s->mem + s->pos, k);
      s->pos += k;
      return k;
    }
  size_t done = 0;
  while (done < n)
    {
      done += fread ((guint8 *) buf + done, 1, n - done, s->fp);
      if (done == n || !ferror (s->fp))
        break;
      if (errno != EINTR)
        {
          s->io_errno = errno ? errno : EIO;
          break;
        }
      clearerr (s->fp);
    }
  return done;
}

void
dae__source_set_short_error (DaeSource *s, GError **error, const char *fmt,
                             ...)
{
  if (s->io_errno)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "read error: %s",
                   g_strerror (s->io_errno));
      return;
    }
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT, msg);
}

/* ---- names and infos ---------------------------------------------------- */

const char *
dae_image_format_name (DaeImageFormat format)
{
  switch (format)
    {
    case DAE_IMAGE_FORMAT_PBM_PLAIN: return "plain PBM";
    case DAE_IMAGE_FORMAT_PGM_PLAIN: return "plain PGM";
    case DAE_IMAGE_FORMAT_PPM_PLAIN: return "plain PPM";
    case DAE_IMAGE_FORMAT_PBM: return "PBM";
    case DAE_IMAGE_FORMAT_PGM: return "PGM";
    case DAE_IMAGE_FORMAT_PPM: return "PPM";
    case DAE_IMAGE_FORMAT_PAM: return "PAM";
    case DAE_IMAGE_FORMAT_PNG: return "PNG";
    }
  return "unknown format";
}

const char *
dae_tuple_type_name (DaeTupleType tuple_type)
{
  switch (tuple_type)
    {
    case DAE_TUPLE_TYPE_BLACKANDWHITE: return "BLACKANDWHITE";
    case DAE_TUPLE_TYPE_GRAYSCALE: return "GRAYSCALE";
    case DAE_TUPLE_TYPE_RGB: return "RGB";
    case DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA: return "BLACKANDWHITE_ALPHA";
    case DAE_TUPLE_TYPE_GRAYSCALE_ALPHA: return "GRAYSCALE_ALPHA";
    case DAE_TUPLE_TYPE_RGB_ALPHA: return "RGB_ALPHA";
    }
  return "unknown";
}

gboolean
dae_image_info_set_format (DaeImageInfo *info, DaeImageFormat format,
                           GError **error)
{
  guint c = info->channels, maxval = info->maxval;
  if (c < 1 || c > 4)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "%u channels: images have 1 to 4", c);
      return FALSE;
    }
  if (maxval < 1 || maxval > 65535)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "maxval %u out of range 1..65535", maxval);
      return FALSE;
    }
  const char *need = NULL;
  switch (format)
    {
    case DAE_IMAGE_FORMAT_PBM_PLAIN:
    case DAE_IMAGE_FORMAT_PBM:
      if (c != 1 || maxval != 1)
        need = "1 channel of maxval 1";
      break;
    case DAE_IMAGE_FORMAT_PGM_PLAIN:
    case DAE_IMAGE_FORMAT_PGM:
      if (c != 1)
        need = "1 channel";
      break;
    case DAE_IMAGE_FORMAT_PPM_PLAIN:
    case DAE_IMAGE_FORMAT_PPM:
      if (c != 3)
        need = "3 channels";
      break;
    case DAE_IMAGE_FORMAT_PAM:
    case DAE_IMAGE_FORMAT_PNG:
      break;
    default:
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "unknown image format %d", (int) format);
      return FALSE;
    }
  if (need)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "%s holds %s, not %u channel%s of maxval %u",
                   dae_image_format_name (format), need, c, c > 1 ? "s" : "",
                   maxval);
      return FALSE;
    }

  static const DaeTupleType by_channels[] = {
    0, DAE_TUPLE_TYPE_GRAYSCALE, DAE_TUPLE_TYPE_GRAYSCALE_ALPHA,
    DAE_TUPLE_TYPE_RGB, DAE_TUPLE_TYPE_RGB_ALPHA
  };
  DaeTupleType t = by_channels[c];
  gboolean bilevel = maxval == 1
                     && (format == DAE_IMAGE_FORMAT_PBM
                         || format == DAE_IMAGE_FORMAT_PBM_PLAIN
                         || (c == 1 && info->tuple_type == DAE_TUPLE_TYPE_BLACKANDWHITE)
                         || (c == 2 && info->tuple_type == DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA));
  if (bilevel)
    t = c == 1 ? DAE_TUPLE_TYPE_BLACKANDWHITE : DAE_TUPLE_TYPE_BLACKANDWHITE_ALPHA;

  info->format = format;
  info->tuple_type = t;
  info->has_alpha = c == 2 || c == 4;
  if (format == DAE_IMAGE_FORMAT_PNG)
    {
      static const DaePngColorType types[] = {
        0, DAE_PNG_COLOR_GRAY, DAE_PNG_COLOR_GRAY_ALPHA, DAE_PNG_COLOR_RGB,
        DAE_PNG_COLOR_RGB_ALPHA
      };
      info->png_color_type = types[c];
      info->png_bit_depth = dae__png_bit_depth_for (c, maxval);
    }
  else
    {
      info->png_color_type = DAE_PNG_COLOR_NONE;
      info->png_bit_depth = 0;
    }
  return TRUE;
}

gboolean
dae__image_check_size (guint64 width, guint64 height, guint64 max_pixels,
                       GError **error)
{
  if (width == 0 || height == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "image size %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " is empty", width, height);
      return FALSE;
    }
  /* Callers pass dimensions below 2^32: the product cannot overflow. */
  if (width * height > max_pixels)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "image size %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " exceeds the limit of %" G_GUINT64_FORMAT " pixels",
                   width, height, max_pixels);
      return FALSE;
    }
  return TRUE;
}

/* ---- reader ------------------------------------------------------------- */

static DaeImageReader *
reader_new (void)
{
  DaeImageReader *r = g_new0 (DaeImageReader, 1);
  r->max_pixels = DAE_IMAGE_DEFAULT_MAX_PIXELS;
  return r;
}

DaeImageReader *
dae_image_reader_new (FILE *fp)
{
  g_return_val_if_fail (fp != NULL, NULL);
  DaeImageReader *r = reader_new ();
  r->src.fp = fp;
  return r;
}

DaeImageReader *
dae_image_reader_new_path (const char *path, GError **error)
{
  FILE *fp = fopen (path, "rb");
  if (fp == NULL)
    {
      int e = errno;
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "cannot open: %s",
                   g_strerror (e));
      return NULL;
    }
  DaeImageReader *r = dae_image_reader_new (fp);
  r->owned_fp = fp;
  return r;
}

DaeImageReader *
dae_image_reader_new_memory (const void *data, size_t size)
{
  DaeImageReader *r = reader_new ();
  static const guint8 empty[1];
  r->src.mem = data ? data : empty;
  r->src.size = data ? size : 0;
  return r;
}

void
dae_image_reader_set_max_pixels (DaeImageReader *reader, guint64 max_pixels)
{
  reader->max_pixels = MAX (max_pixels, 1);
}

guint
dae_image_reader_get_index (const DaeImageReader *reader)
{
  return reader->index;
}

void
dae_image_reader_free (DaeImageReader *reader)
{
  if (reader == NULL)
    return;
  dae__png_reader_free (reader->png);
  if (reader->owned_fp)
    fclose (reader->owned_fp);
  g_free (reader->scratch);
  g_free (reader);
}

gpointer
dae__io_try_alloc (size_t size, const char *what, GError **error)
{
  gpointer p = g_try_malloc (MAX (size, 1));
  if (p == NULL)
    g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                 "%s needs %zu MiB, more than this machine can give",
                 what, size >> 20);
  return p;
}

guint8 *
dae__reader_scratch (DaeImageReader *r, size_t size, GError **error)
{
  if (size > r->scratch_size)
    {
      g_free (r->scratch);
      r->scratch_size = 0;
      r->scratch = dae__io_try_alloc (size, "a row of the image", error);
      if (r->scratch == NULL)
        return NULL;
      r->scratch_size = size;
    }
  return r->scratch;
}

/* Marks the reader failed and says which image of a stream is at fault. */
static gboolean
reader_fail (DaeImageReader *r, GError **error)
{
  r->failed = TRUE;
  r->in_image = FALSE;
  if (r->index > 1)
    g_prefix_error (error, "image %u: ", r->index);
  return FALSE;
}

static gboolean
read_rows (DaeImageReader *r, guint n_rows, guint16 *samples, GError **error)
{
  gboolean ok;
  if (r->png)
    {
      ok = dae__png_read_rows (r->png, r->row, n_rows, samples, error);
      if (ok && r->row + n_rows == r->info.height)
        ok = dae__png_read_end (r->png, error);
    }
  else
    ok = dae__pnm_read_rows (r, n_rows, samples, error);
  if (!ok)
    return FALSE;
  r->row += n_rows;
  if (r->row == r->info.height)
    r->in_image = FALSE;
  return TRUE;
}

/* Reads and drops the rows the caller left, one at a time. */
static gboolean
skip_rest (DaeImageReader *r, GError **error)
{
  size_t row_samples = (size_t) r->info.width * r->info.channels;
  g_autofree guint16 *row = dae__io_try_alloc (row_samples * sizeof (guint16),
                                               "a row of the image", error);
  if (row == NULL)
    return FALSE;
  while (r->in_image)
    if (!read_rows (r, 1, row, error))
      return FALSE;
  return TRUE;
}

gboolean
dae_image_reader_next (DaeImageReader *reader, DaeImageInfo *info,
                       GError **error)
{
  DaeImageReader *r = reader;
  if (r->failed)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "image stream unusable after an earlier error");
      return FALSE;
    }
  if (r->in_image && !skip_rest (r, error))
    return reader_fail (r, error);
  g_clear_pointer (&r->png, dae__png_reader_free);

  int c = dae__source_getc (&r->src);
  if (r->index > 0)
    while (c != EOF && dae__is_space (c))
      c = dae__source_getc (&r->src);
  if (c == EOF)
    {
      if (r->src.io_errno)
        dae__source_set_short_error (&r->src, error, "read error");
      else if (r->index == 0)
        g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                             "empty input: no image found");
      else
        return FALSE; /* the clean end of the stream */
      r->failed = TRUE;
      return FALSE;
    }

  int digit = -1;
  gboolean png = FALSE;
  if (c == 'P')
    {
      int d = dae__source_getc (&r->src);
      if (d >= '1' && d <= '7')
        digit = d - '0';
    }
  else if (c == dae__png_signature[0])
    {
      guint8 sig[7];
      size_t k = dae__source_read (&r->src, sig, sizeof sig);
      png = k == sizeof sig && memcmp (sig, dae__png_signature + 1, 7) == 0;
    }
  if (digit < 0 && !png)
    {
      if (r->src.io_errno)
        dae__source_set_short_error (&r->src, error, "read error");
      else if (r->index == 0)
        g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                             "not a PNM, PAM or PNG image (bad magic number)");
      else
        g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                     "junk after image %u", r->index);
      r->failed = TRUE;
      return FALSE;
    }

  r->index++;
  DaeImageInfo in = { 0 };
  if (png)
    {
      r->png = dae__png_reader_start (&r->src, r->max_pixels, &in, error);
      if (r->png == NULL)
        return reader_fail (r, error);
    }
  else
    {
      if (!dae__pnm_read_header (r, digit, &in, error))
        return reader_fail (r, error);
      if (!dae__image_check_size (in.width, in.height, r->max_pixels, error))
        return reader_fail (r, error);
    }
  r->info = in;
  r->row = 0;
  r->in_image = TRUE;
  *info = in;
  return TRUE;
}

gboolean
dae_image_reader_read_rows (DaeImageReader *reader, guint n_rows,
                            guint16 *samples, GError **error)
{
  DaeImageReader *r = reader;
  if (r->failed || !r->in_image || n_rows > r->info.height - r->row)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   r->failed ? "image stream unusable after an earlier error"
                             : "%u rows asked for, %u left in the image",
                   n_rows, r->in_image ? r->info.height - r->row : 0);
      return FALSE;
    }
  if (n_rows == 0)
    return TRUE;
  if (!read_rows (r, n_rows, samples, error))
    return reader_fail (r, error);
  return TRUE;
}

/* ---- writer ------------------------------------------------------------- */

struct _DaeImageWriter {
  FILE *fp;
  DaeImageInfo info;
  guint row;
  gboolean failed;
  DaePngWriter *png;
  guint8 *scratch;
};

DaeImageWriter *
dae_image_writer_new (FILE *fp, const DaeImageInfo *info, GError **error)
{
  DaeImageInfo in = *info;
  if (!dae_image_info_set_format (&in, info->format, error))
    return NULL;
  if (!dae__image_check_size (in.width, in.height, G_MAXUINT64, error))
    return NULL;

  g_autoptr (DaeImageWriter) w = g_new0 (DaeImageWriter, 1);
  w->fp = fp;
  w->info = in;
  if (in.format == DAE_IMAGE_FORMAT_PNG)
    {
      w->png = dae__png_writer_new (fp, &in, error);
      if (w->png == NULL)
        return NULL;
    }
  else
    {
      if (!dae__pnm_write_header (fp, &in, error))
        return NULL;
      w->scratch = dae__io_try_alloc (dae__pnm_row_bytes_max (&in),
                                      "a row of the output image", error);
      if (w->scratch == NULL)
        return NULL;
    }
  return g_steal_pointer (&w);
}

gboolean
dae_image_writer_write_rows (DaeImageWriter *writer, guint n_rows,
                             const guint16 *samples, GError **error)
{
  DaeImageWriter *w = writer;
  if (w->failed || n_rows > w->info.height - w->row)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   w->failed ? "image writer unusable after an earlier error"
                             : "%u rows given, %u left in the image",
                   n_rows, w->info.height - w->row);
      return FALSE;
    }
  size_t n = (size_t) n_rows * w->info.width * w->info.channels;
  guint maxval = w->info.maxval;
  for (size_t i = 0; i < n; i++)
    if (G_UNLIKELY (samples[i] > maxval))
      {
        g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                     "sample value %u exceeds maxval %u", samples[i], maxval);
        w->failed = TRUE;
        return FALSE;
      }
  gboolean ok = w->png
    ? dae__png_write_rows (w->png, n_rows, samples, error)
    : dae__pnm_write_rows (w->fp, &w->info, n_rows, samples, w->scratch, error);
  if (!ok)
    {
      w->failed = TRUE;
      return FALSE;
    }
  w->row += n_rows;
  return TRUE;
}

gboolean
dae_image_writer_finish (DaeImageWriter *writer, GError **error)
{
  DaeImageWriter *w = writer;
  if (w->failed || w->row != w->info.height)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   w->failed ? "image writer unusable after an earlier error"
                             : "only %u of %u rows written",
                   w->row, w->info.height);
      return FALSE;
    }
  w->failed = TRUE; /* finished: no more rows */
  if (w->png && !dae__png_writer_finish (w->png, error))
    return FALSE;
  if (fflush (w->fp) != 0 || ferror (w->fp))
    {
      int e = errno;
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "write error: %s",
                   g_strerror (e ? e : EIO));
      return FALSE;
    }
  return TRUE;
}

void
dae_image_writer_free (DaeImageWriter *writer)
{
  if (writer == NULL)
    return;
  dae__png_writer_free (writer->png);
  g_free (writer->scratch);
  g_free (writer);
}
