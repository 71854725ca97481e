/* image.c: the streaming image reader and writer; dispatches to the PNM
 * (pnm.c), PNG (png.c), JPEG (jpeg.c) and TIFF (tiff.c) codecs by magic
 * number and by requested format. */
#include "io-private.h"

#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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
  size_t done = MIN (n, s->back_len - s->back_pos);
  if (done)
    {
      memcpy (buf, s->back + s->back_pos, done);
      s->back_pos += done;
    }
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
dae__source_unread (DaeSource *s, const guint8 *buf, size_t n)
{
  if (n == 0)
    return;
  if (s->fp == NULL)
    {
      g_assert (n <= s->pos);
      s->pos -= n; /* the same bytes */
      return;
    }
  size_t rest = s->back_len - s->back_pos;
  guint8 *back = g_malloc (n + rest);
  memcpy (back, buf, n);
  if (rest)
    memcpy (back + n, s->back + s->back_pos, rest);
  g_free (s->back);
  s->back = back;
  s->back_len = n + rest;
  s->back_pos = 0;
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
    case DAE_IMAGE_FORMAT_JPEG: return "JPEG";
    case DAE_IMAGE_FORMAT_TIFF: return "TIFF";
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
    case DAE_IMAGE_FORMAT_JPEG:
      if (c != 1 && c != 3)
        need = "1 or 3 channels (no alpha)";
      break;
    case DAE_IMAGE_FORMAT_PAM:
    case DAE_IMAGE_FORMAT_PNG:
    case DAE_IMAGE_FORMAT_TIFF:
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

/* ---- metadata ----------------------------------------------------------- */

static void
text_free (gpointer p)
{
  DaeImageText *t = p;
  g_free (t->keyword);
  g_free (t->text);
  g_free (t->lang);
  g_free (t->lang_key);
  g_free (t);
}

void
dae__image_meta_clear (DaeImageMeta *meta)
{
  g_clear_pointer (&meta->icc, g_bytes_unref);
  g_clear_pointer (&meta->icc_name, g_free);
  g_clear_pointer (&meta->exif, g_bytes_unref);
  g_clear_pointer (&meta->texts, g_ptr_array_unref);
  memset (meta, 0, sizeof *meta);
  meta->srgb_intent = -1;
}

void
dae__image_meta_add_text (DaeImageMeta *meta, const char *keyword,
                          const char *text, DaeTextKind kind,
                          const char *lang, const char *lang_key)
{
  if (meta->texts == NULL)
    meta->texts = g_ptr_array_new_with_free_func (text_free);
  DaeImageText *t = g_new0 (DaeImageText, 1);
  t->keyword = g_strdup (keyword);
  t->text = g_strdup (text);
  t->kind = kind;
  t->lang = g_strdup (lang);
  t->lang_key = g_strdup (lang_key);
  g_ptr_array_add (meta->texts, t);
}

gboolean
dae__res_per_inch (const DaeImageInfo *info, double *x, double *y)
{
  double f = info->res_unit == DAE_RES_UNIT_INCH ? 1.0
             : info->res_unit == DAE_RES_UNIT_CM ? 2.54 : 0.0;
  *x = info->x_res * f;
  *y = info->y_res * f;
  /* 300 dpi read from PNG is 118.11 px/cm: whole within a PNG's rounding. */
  if (f == 0.0 || fabs (*x - round (*x)) > 0.01 || fabs (*y - round (*y)) > 0.01
      || round (*x) < 1 || round (*y) < 1)
    return FALSE;
  *x = round (*x);
  *y = round (*y);
  return TRUE;
}

/* ---- reader ------------------------------------------------------------- */

static DaeImageReader *
reader_new (void)
{
  DaeImageReader *r = g_new0 (DaeImageReader, 1);
  r->max_pixels = DAE_IMAGE_DEFAULT_MAX_PIXELS;
  dae__image_meta_clear (&r->meta);
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
  dae__jpeg_reader_free (reader->jpeg);
  dae__tiff_reader_free (reader->tiff);
  dae__image_meta_clear (&reader->meta);
  g_free (reader->src.back);
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
  else if (r->jpeg)
    {
      ok = dae__jpeg_read_rows (r->jpeg, n_rows, samples, error);
      if (ok && r->row + n_rows == r->info.height)
        ok = dae__jpeg_read_end (r->jpeg, error);
    }
  else if (r->tiff)
    ok = dae__tiff_read_rows (r->tiff, n_rows, samples, error);
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
  if (r->tiff)
    return TRUE; /* pages are found by their offsets */
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

typedef enum { KIND_NONE, KIND_PNM, KIND_PNG, KIND_JPEG, KIND_TIFF } Kind;

/* Names a format we do not read from its first bytes, or NULL. */
static const char *
other_format (const guint8 *h, size_t n)
{
  static const struct { guint off; guint len; const char *magic; const char *name; } known[] = {
    { 0, 4, "RIFF", NULL }, /* WebP, below */
    { 0, 6, "GIF87a", "GIF" }, { 0, 6, "GIF89a", "GIF" },
    { 0, 2, "BM", "BMP" },
    { 4, 8, "ftypavif", "AVIF" }, { 4, 8, "ftypheic", "HEIF" },
    { 4, 8, "ftypheix", "HEIF" }, { 4, 8, "ftypmif1", "HEIF" },
    { 0, 12, "\0\0\0\x0cjP  \r\n\x87\n", "JPEG 2000" },
    { 0, 4, "\xff\x4f\xff\x51", "JPEG 2000" },
    { 0, 2, "\xff\x0a", "JPEG XL" }, { 0, 8, "\0\0\0\x0cJXL ", "JPEG XL" },
    { 0, 4, "%PDF", "PDF" }, { 0, 2, "%!", "PostScript" },
    { 0, 8, "gimp xcf", "GIMP XCF" }, { 0, 4, "8BPS", "Photoshop" },
    { 0, 4, "qoif", "QOI" }, { 0, 4, "\x76\x2f\x31\x01", "OpenEXR" },
    { 0, 8, "AT&TFORM", "DjVu" }, { 0, 4, "\0\0\1\0", "ICO" },
    { 0, 2, "\x1f\x8b", "gzip-compressed" }, { 0, 5, "<?xml", "XML (SVG?)" },
    { 0, 4, "<svg", "SVG" }, { 0, 9, "SIMPLE  =", "FITS" },
    { 0, 2, "\x01\xda", "SGI" }, { 0, 4, "\x59\xa6\x6a\x95", "Sun raster" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    {
      guint off = known[i].off, len = known[i].len;
      if (n >= off + len && memcmp (h + off, known[i].magic, len) == 0)
        {
          if (known[i].name)
            return known[i].name;
          if (n >= 12 && memcmp (h + 8, "WEBP", 4) == 0)
            return "WebP";
        }
    }
  return NULL;
}

static Kind
sniff (const guint8 *h, size_t n)
{
  if (n >= 2 && h[0] == 'P' && h[1] >= '1' && h[1] <= '7')
    return KIND_PNM;
  if (n >= 8 && memcmp (h, dae__png_signature, 8) == 0)
    return KIND_PNG;
  if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
    return KIND_JPEG;
  if (n >= 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0)
                 || (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43))))
    return KIND_TIFF;
  return KIND_NONE;
}

/* The first image's bad magic: name the format if we know it. */
static void
set_bad_magic (const guint8 *head, size_t n, GError **error)
{
  const char *name = other_format (head, n);
  if (name)
    g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                 "a %s file: not read here (PNM, PAM, PNG, JPEG and TIFF are); "
                 "convert it first, e.g. with netpbm's anytopnm", name);
  else
    g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                         "not a PNM, PAM, PNG, JPEG or TIFF image (bad magic "
                         "number); netpbm's anytopnm converts most formats");
}

/* Past whitespace between images, peeks at the next one's magic number.
 * Returns FALSE at the clean end of the stream, or with @error set. */
static gboolean
find_next (DaeImageReader *r, Kind *kind, GError **error)
{
  int c = dae__source_getc (&r->src);
  if (r->index > 0)
    while (c != EOF && dae__is_space (c))
      c = dae__source_getc (&r->src);
  guint8 head[16];
  size_t n = 0;
  if (c != EOF)
    {
      head[0] = (guint8) c;
      n = 1 + dae__source_read (&r->src, head + 1, sizeof head - 1);
      dae__source_unread (&r->src, head, n);
    }
  *kind = n ? sniff (head, n) : KIND_NONE;
  if (*kind != KIND_NONE)
    return TRUE;
  if (r->src.io_errno)
    dae__source_set_short_error (&r->src, error, "read error");
  else if (n == 0 && r->index == 0)
    g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                         "empty input: no image found");
  else if (n == 0 || r->after_jpeg)
    return FALSE; /* the clean end, or bytes after a JPEG's EOI */
  else if (r->index == 0)
    set_bad_magic (head, n, error);
  else
    g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                 "junk after image %u", r->index);
  r->failed = TRUE;
  return FALSE;
}

/* Reads the header of an image whose magic number is at the source. */
static gboolean
start_image (DaeImageReader *r, Kind kind, DaeImageInfo *in, GError **error)
{
  guint8 magic[8];
  switch (kind)
    {
    case KIND_PNG:
      dae__source_read (&r->src, magic, 8);
      r->png = dae__png_reader_start (&r->src, r->max_pixels, in, &r->meta, error);
      return r->png != NULL;
    case KIND_JPEG:
      r->jpeg = dae__jpeg_reader_start (&r->src, r->max_pixels, in, &r->meta, error);
      return r->jpeg != NULL;
    case KIND_TIFF:
      r->tiff = dae__tiff_reader_open (&r->src, error);
      return r->tiff != NULL
             && dae__tiff_reader_next (r->tiff, r->max_pixels, in, &r->meta, error);
    default:
      dae__source_read (&r->src, magic, 2);
      return dae__pnm_read_header (r, magic[1] - '0', in, error)
             && dae__image_check_size (in->width, in->height, r->max_pixels, error);
    }
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
  g_clear_pointer (&r->jpeg, dae__jpeg_reader_free);
  dae__image_meta_clear (&r->meta);

  DaeImageInfo in = { 0 };
  if (r->tiff)
    {
      /* A TIFF's pages are the rest of the stream. */
      GError *e = NULL;
      r->index++;
      if (!dae__tiff_reader_next (r->tiff, r->max_pixels, &in, &r->meta, &e))
        {
          if (e == NULL)
            {
              r->index--;
              return FALSE;
            }
          g_propagate_error (error, e);
          return reader_fail (r, error);
        }
    }
  else
    {
      Kind kind;
      if (!find_next (r, &kind, error))
        return FALSE;
      r->index++;
      if (!start_image (r, kind, &in, error))
        return reader_fail (r, error);
      r->after_jpeg = kind == KIND_JPEG;
    }
  in.meta = &r->meta;
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

/* Background compression (dae_image_writer_set_background): two bands of
 * rows, the caller filling one while the thread compresses the other. */
typedef struct {
  GThread *thread;
  GMutex lock;
  GCond cond;
  guint16 *band[2];
  size_t row_samples;   /* of the image the bands were made for */
  guint cap;            /* rows a band holds */
  guint fill;           /* the band the caller fills, */
  guint filled;         /* with this many rows */
  guint queued;         /* rows of the other band to compress; 0: idle */
  gboolean quit;
  GError *error;        /* the thread's first error in this image */
} Background;

#define BAND_BYTES (2u << 20) /* a band's size, at least 16 rows */

struct _DaeImageWriter {
  FILE *fp;
  DaeImageInfo info;
  guint row;
  gboolean failed;
  gboolean in_image;    /* started and not finished */
  gboolean background;  /* compress PNG and JPEG on bg's thread */
  Background *bg;       /* made at the first rows that use it */
  DaePngWriter *png;
  DaeJpegWriter *jpeg;
  DaeTiffWriter *tiff;  /* lives for the whole stream */
  guint8 *scratch;
};

/* The rows through the image's codec, on whichever thread owns it. */
static gboolean
encode_rows (DaeImageWriter *w, guint n_rows, const guint16 *samples, GError **error)
{
  if (w->png)
    return dae__png_write_rows (w->png, n_rows, samples, error);
  if (w->jpeg)
    return dae__jpeg_write_rows (w->jpeg, n_rows, samples, error);
  if (w->info.format == DAE_IMAGE_FORMAT_TIFF)
    return dae__tiff_write_rows (w->tiff, n_rows, samples, error);
  return dae__pnm_write_rows (w->fp, &w->info, n_rows, samples, w->scratch, error);
}

static gpointer
background_main (gpointer data)
{
  DaeImageWriter *w = data;
  Background *bg = w->bg;
#ifdef __linux__
  /* Niced: it should take the cores when the denoiser's threads wait (for
   * input, on each other), not share them while they compute. */
  (void) setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
#endif
  g_mutex_lock (&bg->lock);
  for (;;)
    {
      while (bg->queued == 0 && !bg->quit)
        g_cond_wait (&bg->cond, &bg->lock);
      if (bg->queued == 0)
        break;
      const guint16 *rows = bg->band[bg->fill ^ 1];
      const guint n = bg->queued;
      const gboolean skip = bg->error != NULL; /* the codec is unusable after one */
      g_mutex_unlock (&bg->lock);
      GError *e = NULL;
      const gboolean ok = skip || encode_rows (w, n, rows, &e);
      g_mutex_lock (&bg->lock);
      if (!ok)
        bg->error = e;
      bg->queued = 0;
      g_cond_broadcast (&bg->cond);
    }
  g_mutex_unlock (&bg->lock);
  return NULL;
}

/* Waits until the thread is idle; FALSE with (a copy of) its error. */
static gboolean
background_wait (Background *bg, gboolean hand_over, GError **error)
{
  g_mutex_lock (&bg->lock);
  while (bg->queued > 0)
    g_cond_wait (&bg->cond, &bg->lock);
  const gboolean ok = bg->error == NULL;
  if (!ok)
    g_propagate_error (error, g_error_copy (bg->error));
  else if (hand_over && bg->filled > 0)
    {
      bg->queued = bg->filled;
      bg->fill ^= 1;
      bg->filled = 0;
      g_cond_broadcast (&bg->cond);
    }
  g_mutex_unlock (&bg->lock);
  return ok;
}

static void
background_free (Background *bg)
{
  if (bg == NULL)
    return;
  if (bg->thread != NULL)
    {
      g_mutex_lock (&bg->lock);
      bg->quit = TRUE;
      g_cond_broadcast (&bg->cond);
      g_mutex_unlock (&bg->lock);
      g_thread_join (bg->thread);
    }
  g_mutex_clear (&bg->lock);
  g_cond_clear (&bg->cond);
  g_free (bg->band[0]);
  g_free (bg->band[1]);
  g_clear_error (&bg->error);
  g_free (bg);
}

/* Whether this image's rows go through the thread: bands for its rows,
 * the thread started; FALSE (rows written on the caller's thread) when
 * not asked for, not worth it or out of memory. */
static gboolean
background_ready (DaeImageWriter *w)
{
  if (!w->background || (w->png == NULL && w->jpeg == NULL))
    return FALSE;
  const size_t row_samples = (size_t) w->info.width * w->info.channels;
  Background *bg = w->bg;
  if (bg != NULL && bg->row_samples == row_samples)
    return TRUE;
  if (bg == NULL)
    {
      bg = w->bg = g_new0 (Background, 1);
      g_mutex_init (&bg->lock);
      g_cond_init (&bg->cond);
    }
  bg->cap = (guint) MAX (16, BAND_BYTES / (row_samples * sizeof (guint16)));
  bg->row_samples = 0;
  for (guint i = 0; i < 2; i++)
    {
      g_free (bg->band[i]);
      bg->band[i] = g_try_new (guint16, row_samples * bg->cap);
    }
  if (bg->band[0] == NULL || bg->band[1] == NULL
      || (bg->thread == NULL
          && (bg->thread = g_thread_try_new ("dae-writer", background_main, w, NULL)) == NULL))
    {
      g_clear_pointer (&w->bg, background_free);
      w->background = FALSE;
      return FALSE;
    }
  bg->row_samples = row_samples;
  return TRUE;
}

/* Copies the rows into the bands, handing each full one to the thread. */
static gboolean
background_write (DaeImageWriter *w, guint n_rows, const guint16 *samples, GError **error)
{
  Background *bg = w->bg;
  while (n_rows > 0)
    {
      const guint k = MIN (n_rows, bg->cap - bg->filled);
      memcpy (bg->band[bg->fill] + bg->filled * bg->row_samples, samples,
              k * bg->row_samples * sizeof (guint16));
      bg->filled += k;
      samples += k * bg->row_samples;
      n_rows -= k;
      if (bg->filled == bg->cap && !background_wait (bg, TRUE, error))
        return FALSE;
    }
  return TRUE;
}

void
dae_image_writer_set_background (DaeImageWriter *writer, gboolean background)
{
  g_return_if_fail (writer != NULL);
  writer->background = background;
}

/* Starts an image on @w: checks @info and writes its header. */
static gboolean
writer_start (DaeImageWriter *w, const DaeImageInfo *info, GError **error)
{
  DaeImageInfo in = *info;
  if (!dae_image_info_set_format (&in, info->format, error))
    return FALSE;
  if (!dae__image_check_size (in.width, in.height, G_MAXUINT64, error))
    return FALSE;
  if (w->tiff && in.format != DAE_IMAGE_FORMAT_TIFF)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "a TIFF stream holds TIFF pages only");
      return FALSE;
    }
  w->info = in;
  w->row = 0;
  if (w->bg != NULL) /* idle between images: finished, or never given rows */
    {
      g_clear_error (&w->bg->error);
      w->bg->filled = 0;
    }
  g_clear_pointer (&w->png, dae__png_writer_free);
  g_clear_pointer (&w->jpeg, dae__jpeg_writer_free);
  g_clear_pointer (&w->scratch, g_free);
  switch (in.format)
    {
    case DAE_IMAGE_FORMAT_PNG:
      w->png = dae__png_writer_new (w->fp, &in, error);
      return w->png != NULL;
    case DAE_IMAGE_FORMAT_JPEG:
      w->jpeg = dae__jpeg_writer_new (w->fp, &in, error);
      return w->jpeg != NULL;
    case DAE_IMAGE_FORMAT_TIFF:
      if (w->tiff == NULL && (w->tiff = dae__tiff_writer_new (w->fp, error)) == NULL)
        return FALSE;
      return dae__tiff_writer_start_page (w->tiff, &in, error);
    default:
      if (!dae__pnm_write_header (w->fp, &in, error))
        return FALSE;
      w->scratch = dae__io_try_alloc (dae__pnm_row_bytes_max (&in),
                                      "a row of the output image", error);
      return w->scratch != NULL;
    }
}

DaeImageWriter *
dae_image_writer_new (FILE *fp, const DaeImageInfo *info, GError **error)
{
  g_autoptr (DaeImageWriter) w = g_new0 (DaeImageWriter, 1);
  w->fp = fp;
  if (!writer_start (w, info, error))
    return NULL;
  w->in_image = TRUE;
  return g_steal_pointer (&w);
}

gboolean
dae_image_writer_next (DaeImageWriter *writer, const DaeImageInfo *info,
                       GError **error)
{
  DaeImageWriter *w = writer;
  if (w->in_image || w->fp == NULL)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           w->fp ? "the current image is not finished"
                                 : "image writer already closed");
      return FALSE;
    }
  if (!writer_start (w, info, error))
    {
      w->failed = TRUE;
      return FALSE;
    }
  w->failed = FALSE;
  w->in_image = TRUE;
  return TRUE;
}

gboolean
dae_image_writer_write_rows (DaeImageWriter *writer, guint n_rows,
                             const guint16 *samples, GError **error)
{
  DaeImageWriter *w = writer;
  if (w->failed || !w->in_image || n_rows > w->info.height - w->row)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   w->failed || !w->in_image
                   ? "image writer unusable after an earlier error or the end"
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
  const gboolean ok = background_ready (w) ? background_write (w, n_rows, samples, error)
                                           : encode_rows (w, n_rows, samples, error);
  if (!ok)
    {
      w->failed = TRUE;
      return FALSE;
    }
  w->row += n_rows;
  return TRUE;
}

static gboolean
flush_stream (FILE *fp, GError **error)
{
  if (fflush (fp) != 0 || ferror (fp))
    {
      int e = errno;
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "write error: %s",
                   g_strerror (e ? e : EIO));
      return FALSE;
    }
  return TRUE;
}

gboolean
dae_image_writer_finish (DaeImageWriter *writer, GError **error)
{
  DaeImageWriter *w = writer;
  if (w->failed || !w->in_image || w->row != w->info.height)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   w->failed || !w->in_image
                   ? "image writer unusable after an earlier error or the end"
                   : "only %u of %u rows written",
                   w->row, w->info.height);
      return FALSE;
    }
  w->in_image = FALSE;
  w->failed = TRUE; /* finished: no more rows */
  /* the last band to the thread, then the thread done with it */
  if (w->bg != NULL && (!background_wait (w->bg, TRUE, error)
                        || !background_wait (w->bg, FALSE, error)))
    return FALSE;
  if (w->png && !dae__png_writer_finish (w->png, error))
    return FALSE;
  if (w->jpeg && !dae__jpeg_writer_finish (w->jpeg, error))
    return FALSE;
  if (w->info.format == DAE_IMAGE_FORMAT_TIFF)
    return dae__tiff_writer_end_page (w->tiff, error);
  return flush_stream (w->fp, error);
}

gboolean
dae_image_writer_close (DaeImageWriter *writer, GError **error)
{
  DaeImageWriter *w = writer;
  if (w->in_image || w->fp == NULL)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           w->fp ? "the last image is not finished"
                                 : "image writer already closed");
      return FALSE;
    }
  FILE *fp = w->fp;
  w->fp = NULL;
  if (w->tiff && !dae__tiff_writer_close (w->tiff, error))
    return FALSE;
  return flush_stream (fp, error);
}

void
dae_image_writer_free (DaeImageWriter *writer)
{
  if (writer == NULL)
    return;
  background_free (writer->bg); /* first: its thread may be compressing */
  dae__png_writer_free (writer->png);
  dae__jpeg_writer_free (writer->jpeg);
  dae__tiff_writer_free (writer->tiff);
  g_free (writer->scratch);
  g_free (writer);
}

void
dae_samples_to_float (const void *samples, guint bytes, guint maxval, size_t n, float *out)
{
  g_return_if_fail ((bytes == 1 || bytes == 2) && maxval >= 1);
  const float m = (float) maxval;
  if (bytes == 1)
    for (size_t i = 0; i < n; i++)
      out[i] = ((const guint8 *) samples)[i] / m;
  else
    for (size_t i = 0; i < n; i++)
      out[i] = ((const guint16 *) samples)[i] / m;
}

void
dae_samples_from_float (const float *in, size_t n, guint maxval, guint bytes, void *samples)
{
  g_return_if_fail ((bytes == 1 && maxval <= 255) || (bytes == 2 && maxval <= 65535));
  const float m = (float) maxval;
  for (size_t i = 0; i < n; i++)
    {
      /* !(v > 0): NaN to 0 too */
      const float v = !(in[i] > 0.0f) ? 0.0f : in[i] < 1.0f ? in[i] : 1.0f;
      const guint q = (guint) floorf (v * m + 0.5f);
      if (bytes == 1)
        ((guint8 *) samples)[i] = (guint8) q;
      else
        ((guint16 *) samples)[i] = (guint16) q;
    }
}
