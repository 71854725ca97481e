/* tiff.c: TIFF through libtiff.  A TIFF is a file of offsets, read by
 * seeking: over memory, over a seekable stream from where its header is,
 * or over a temporary copy of a pipe.  Stripped pages are read a scanline
 * at a time (libtiff decodes a strip row by row), tiled pages a row of
 * tiles at a time.  Writing goes to a temporary file, since libtiff links
 * each page's directory to the last by seeking back, and is copied to the
 * stream when it is closed.  libtiff's messages come through the per-file
 * handlers of TIFFOpenOptions (libtiff >= 4.5): nothing is printed. */
#include "io-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#define MAX_SINGLE_ALLOC (G_GINT64_CONSTANT (1) << 30)

typedef struct {
  char msg[256];
  DaeError code;
  gboolean set;
  gboolean strict;   /* reading image data: a warning (a short fax line) is an error */
  const char *prefix;
} TiffError;

static int
error_cb (TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
  TiffError *e = user;
  if (!e->set)
    {
      char text[200];
      g_vsnprintf (text, sizeof text, fmt, ap);
      /* One line: libtiff quotes tag names and file names with newlines. */
      for (char *p = text; *p; p++)
        if ((guchar) *p < 0x20 || *p == 0x7f)
          *p = ' ';
      /* libtiff names the file first: ours is always "TIFF". */
      const char *t = g_str_has_prefix (text, "TIFF: ") ? text + 6 : text;
      g_snprintf (e->msg, sizeof e->msg, "%s%s", e->prefix, t);
      e->code = DAE_ERROR_FORMAT;
      e->set = TRUE;
    }
  return 1;
}

static int
warning_cb (TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
  TiffError *e = user;
  /* Unknown tags and the like are not the user's concern; damaged image
   * data is: the image would be partly made up. */
  if (e->strict)
    error_cb (tif, user, module, fmt, ap);
  return 1;
}

static gboolean
tiff_failed (TiffError *e, GError **error, const char *fallback)
{
  g_set_error_literal (error, DAE_ERROR, e->set ? e->code : DAE_ERROR_FORMAT,
                       e->set ? e->msg : fallback);
  return FALSE;
}

/* ---- a seekable byte range: memory, a FILE from @base, or a file -------- */

typedef struct {
  int fd;              /* a temporary file of ours, or -1 */
  FILE *fp;            /* else a stream, from @base; NULL: memory */
  off_t base;
  const guint8 *mem;
  toff_t size, pos;
} Range;

static tmsize_t
range_read (thandle_t h, void *buf, tmsize_t n)
{
  Range *r = h;
  if (n <= 0)
    return 0;
  if (r->fd >= 0)
    return (tmsize_t) read (r->fd, buf, (size_t) n);
  if (r->fp)
    {
      /* libtiff reads its header without seeking first: keep our own
       * position, and seek the stream to it. */
      if (fseeko (r->fp, r->base + (off_t) r->pos, SEEK_SET) != 0)
        return -1;
      size_t k = fread (buf, 1, (size_t) n, r->fp);
      r->pos += k;
      return (tmsize_t) k;
    }
  toff_t k = r->pos < r->size ? MIN ((toff_t) n, r->size - r->pos) : 0;
  memcpy (buf, r->mem + r->pos, (size_t) k);
  r->pos += k;
  return (tmsize_t) k;
}

static tmsize_t
range_write (thandle_t h, void *buf, tmsize_t n)
{
  Range *r = h;
  if (r->fd < 0 || n <= 0)
    return 0;
  return (tmsize_t) write (r->fd, buf, (size_t) n);
}

static toff_t
range_size (thandle_t h)
{
  Range *r = h;
  if (r->fp == NULL && r->fd < 0)
    return r->size;
  struct stat st;
  if (fstat (r->fd >= 0 ? r->fd : fileno (r->fp), &st) != 0 || st.st_size < r->base)
    return 0;
  return (toff_t) (st.st_size - r->base);
}

static toff_t
range_seek (thandle_t h, toff_t off, int whence)
{
  Range *r = h;
  if (r->fd >= 0)
    {
      off_t at = (gint64) off < 0 && whence == SEEK_SET ? -1 : lseek (r->fd, (off_t) off, whence);
      return at < 0 ? (toff_t) -1 : (toff_t) at;
    }
  if (r->fp && whence == SEEK_END)
    {
      r->pos = range_size (h) + off;
      return r->pos;
    }
  toff_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? r->pos + off : r->size + off;
  r->pos = to;
  return to;
}

static int
range_close (thandle_t h)
{
  return 0;
}

static int
range_map (thandle_t h, void **base, toff_t *size)
{
  Range *r = h;
  if (r->fp || r->fd >= 0)
    return 0;
  *base = (void *) r->mem;
  *size = r->size;
  return 1;
}

static void
range_unmap (thandle_t h, void *base, toff_t size)
{
}

static TIFF *
range_open (Range *r, const char *mode, TiffError *err)
{
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetErrorHandlerExtR (opts, error_cb, err);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, warning_cb, err);
  TIFFOpenOptionsSetMaxSingleMemAlloc (opts, MAX_SINGLE_ALLOC);
  TIFF *tif = TIFFClientOpenExt ("TIFF", mode, r, range_read, range_write, range_seek,
                                 range_close, range_size, range_map, range_unmap, opts);
  TIFFOpenOptionsFree (opts);
  return tif;
}

/* A temporary file ($TMPDIR), already unlinked, open for reading and
 * writing; -1 with @error set if none can be made. */
static int
temp_file (const char *what, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) e = NULL;
  int fd = g_file_open_tmp ("dae-XXXXXX.tif", &path, &e);
  if (fd < 0)
    g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "cannot make a temporary file for %s: %s",
                 what, e->message);
  else
    g_unlink (path);
  return fd;
}

static gboolean
write_all (int fd, const guint8 *buf, size_t n)
{
  while (n > 0)
    {
      ssize_t k = write (fd, buf, n);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return FALSE;
      buf += k;
      n -= (size_t) k;
    }
  return TRUE;
}

/* Copies the rest of @s (its given-back bytes first) into @fd. */
static gboolean
spool (DaeSource *s, int fd, GError **error)
{
  guint8 buf[65536];
  size_t n;
  while ((n = dae__source_read (s, buf, sizeof buf)) > 0)
    if (!write_all (fd, buf, n))
      {
        int e = errno;
        g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "writing a temporary copy of the TIFF: %s",
                     g_strerror (e ? e : EIO));
        return FALSE;
      }
  if (s->io_errno)
    {
      dae__source_set_short_error (s, error, "read error");
      return FALSE;
    }
  return lseek (fd, 0, SEEK_SET) == 0;
}

/* ---- reading ------------------------------------------------------------ */

typedef enum { COLOR_GRAY, COLOR_RGB, COLOR_PALETTE } ColorKind;

struct _DaeTiffReader {
  TiffError err;
  Range io;
  TIFF *tif;
  gboolean started;     /* the first directory was returned */
  guint width, height, spp, bps, channels, maxval;
  ColorKind color;
  gboolean min_is_white;
  guint16 *cmap[3];
  gboolean tiled;
  guint tile_w, tile_h;
  guint row;            /* next row to give */
  guint8 *raw;          /* a scanline, or a tile */
  guint16 *band;        /* tiled: the samples of a row of tiles */
  guint band_y0, band_rows;
};

DaeTiffReader *
dae__tiff_reader_open (DaeSource *src, GError **error)
{
  DaeTiffReader *t = g_new0 (DaeTiffReader, 1);
  t->err.prefix = "bad TIFF: ";
  t->io.fd = -1;
  struct stat st;
  if (src->fp == NULL)
    {
      t->io.mem = src->mem + src->pos;
      t->io.size = src->size - src->pos;
      src->pos = src->size;
    }
  else if (fstat (fileno (src->fp), &st) == 0 && S_ISREG (st.st_mode) && ftello (src->fp) >= 0)
    {
      /* The given-back bytes are the ones just before the position. */
      t->io.fp = src->fp;
      t->io.base = ftello (src->fp) - (off_t) (src->back_len - src->back_pos);
      src->back_pos = src->back_len;
    }
  else
    {
      t->io.fd = temp_file ("a TIFF read from a pipe", error);
      if (t->io.fd < 0 || !spool (src, t->io.fd, error))
        {
          dae__tiff_reader_free (t);
          return NULL;
        }
    }
  t->tif = range_open (&t->io, t->io.fp || t->io.fd >= 0 ? "rm" : "r", &t->err);
  if (t->tif == NULL)
    {
      tiff_failed (&t->err, error, "bad TIFF header");
      dae__tiff_reader_free (t);
      return NULL;
    }
  return t;
}

static gboolean
unsupported (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
unsupported (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *m = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED, "TIFF %s: not read", m);
  return FALSE;
}

/* Checks the page's layout and sets the reader up for it. */
static gboolean
page_layout (DaeTiffReader *t, GError **error)
{
  TIFF *tif = t->tif;
  guint16 spp = 1, bps = 1, photo = 0, planar = PLANARCONFIG_CONTIG, fmt = SAMPLEFORMAT_UINT;
  guint16 n_extra = 0, *extra = NULL, comp = COMPRESSION_NONE;
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted (tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &fmt);
  TIFFGetFieldDefaulted (tif, TIFFTAG_EXTRASAMPLES, &n_extra, &extra);
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &comp);
  if (!TIFFGetField (tif, TIFFTAG_PHOTOMETRIC, &photo))
    photo = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  if (fmt != SAMPLEFORMAT_UINT && fmt != SAMPLEFORMAT_VOID)
    return unsupported (error, "of %s samples", fmt == SAMPLEFORMAT_IEEEFP ? "floating-point"
                                                : "signed or complex");
  if (bps != 1 && bps != 2 && bps != 4 && bps != 8 && bps != 16)
    return unsupported (error, "of %u bits a sample", bps);
  if (planar != PLANARCONFIG_CONTIG && spp > 1)
    return unsupported (error, "with separate planes (tiffcp -p contig makes it readable)");
  if (photo == PHOTOMETRIC_YCBCR && comp == COMPRESSION_JPEG && bps == 8)
    {
      TIFFSetField (tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
      photo = PHOTOMETRIC_RGB;
    }
  guint colors;
  switch (photo)
    {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
      t->color = COLOR_GRAY, colors = 1;
      break;
    case PHOTOMETRIC_RGB:
      t->color = COLOR_RGB, colors = 3;
      break;
    case PHOTOMETRIC_PALETTE:
      t->color = COLOR_PALETTE, colors = 1;
      if (!TIFFGetField (tif, TIFFTAG_COLORMAP, &t->cmap[0], &t->cmap[1], &t->cmap[2]))
        return unsupported (error, "palette without a colour map");
      break;
    case PHOTOMETRIC_SEPARATED:
      return unsupported (error, "in CMYK (convert it to RGB first)");
    case PHOTOMETRIC_YCBCR:
      return unsupported (error, "in YCbCr without JPEG compression");
    default:
      return unsupported (error, "of photometric interpretation %u", photo);
    }
  if (spp < colors || spp > colors + 1 || (spp > colors && t->color == COLOR_PALETTE))
    return unsupported (error, "of %u samples a pixel with photometric %u", spp, photo);
  if (t->color != COLOR_GRAY && bps < 8 && t->color != COLOR_PALETTE)
    return unsupported (error, "colour of %u bits a sample", bps);
  if (t->color == COLOR_PALETTE && bps == 16)
    return unsupported (error, "palette of 16 bits an index");
  t->spp = spp;
  t->bps = bps;
  t->min_is_white = photo == PHOTOMETRIC_MINISWHITE;
  t->channels = t->color == COLOR_PALETTE ? 3 : spp;
  t->maxval = t->color == COLOR_PALETTE ? 65535 : (1u << bps) - 1;
  /* A palette of 8-bit values scaled by 257 reads as maxval 255. */
  if (t->color == COLOR_PALETTE)
    {
      gboolean by257 = TRUE;
      for (guint i = 0; i < (1u << bps) && by257; i++)
        for (int c = 0; c < 3; c++)
          by257 = by257 && t->cmap[c][i] % 257 == 0;
      t->maxval = by257 ? 255 : 65535;
    }
  return TRUE;
}

/* Allocates the buffers of the page: a scanline, or a tile and a band. */
static gboolean
page_buffers (DaeTiffReader *t, guint64 max_pixels, GError **error)
{
  TIFF *tif = t->tif;
  g_clear_pointer (&t->raw, g_free);
  g_clear_pointer (&t->band, g_free);
  t->tiled = TIFFIsTiled (tif);
  if (!t->tiled)
    {
      tmsize_t n = TIFFScanlineSize (tif);
      if (n <= 0 || (guint64) n < ((guint64) t->width * t->spp * t->bps + 7) / 8)
        return tiff_failed (&t->err, error, "bad TIFF: scanline size");
      t->raw = dae__io_try_alloc ((size_t) n, "a row of the image", error);
      return t->raw != NULL;
    }
  guint32 tw = 0, th = 0;
  TIFFGetField (tif, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField (tif, TIFFTAG_TILELENGTH, &th);
  /* Tiles may overhang the image, but not by more than the image. */
  if (tw == 0 || th == 0 || (guint64) tw * th > MAX (max_pixels, 1u << 20)
      || tw > 16 + 2 * (guint64) t->width || th > 16 + 2 * (guint64) t->height)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT, "bad TIFF: tiles of %ux%u", tw, th);
      return FALSE;
    }
  t->tile_w = tw;
  t->tile_h = th;
  tmsize_t n = TIFFTileSize (tif);
  if (n <= 0 || (guint64) n < (guint64) th * (((guint64) tw * t->spp * t->bps + 7) / 8))
    return tiff_failed (&t->err, error, "bad TIFF: tile size");
  t->raw = dae__io_try_alloc ((size_t) n, "a tile of the image", error);
  if (t->raw == NULL)
    return FALSE;
  t->band = dae__io_try_alloc ((size_t) th * t->width * t->spp * sizeof (guint16),
                               "a row of tiles", error);
  t->band_rows = 0;
  return t->band != NULL;
}

static void
text_tag (TIFF *tif, guint32 tag, const char *keyword, DaeImageMeta *meta)
{
  const char *v = NULL;
  if (!TIFFGetField (tif, tag, &v) || v == NULL || *v == '\0')
    return;
  g_autofree char *u = g_utf8_validate (v, -1, NULL)
                       ? g_strdup (v) : g_convert (v, -1, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
  if (u)
    dae__image_meta_add_text (meta, keyword, u, g_str_is_ascii (u) ? DAE_TEXT_PLAIN
                                                                   : DAE_TEXT_INTERNATIONAL,
                              NULL, NULL);
}

static const struct { guint32 tag; const char *keyword; } text_tags[] = {
  { TIFFTAG_DOCUMENTNAME, "Title" },
  { TIFFTAG_IMAGEDESCRIPTION, "Description" },
  { TIFFTAG_ARTIST, "Author" },
  { TIFFTAG_COPYRIGHT, "Copyright" },
  { TIFFTAG_DATETIME, "Creation Time" },
  { TIFFTAG_SOFTWARE, "Software" },
};

static void
page_meta (DaeTiffReader *t, DaeImageInfo *info, DaeImageMeta *meta)
{
  TIFF *tif = t->tif;
  float xr = 0, yr = 0;
  guint16 unit = RESUNIT_INCH, comp = COMPRESSION_NONE, orient = 0;
  TIFFGetFieldDefaulted (tif, TIFFTAG_RESOLUTIONUNIT, &unit);
  if (TIFFGetField (tif, TIFFTAG_XRESOLUTION, &xr) && TIFFGetField (tif, TIFFTAG_YRESOLUTION, &yr)
      && isfinite (xr) && isfinite (yr) && xr > 0 && yr > 0)
    {
      info->x_res = xr;
      info->y_res = yr;
      info->res_unit = unit == RESUNIT_CENTIMETER ? DAE_RES_UNIT_CM
                       : unit == RESUNIT_NONE ? DAE_RES_UNIT_ASPECT : DAE_RES_UNIT_INCH;
    }
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &comp);
  info->tiff_compression = comp;
  if (TIFFGetField (tif, TIFFTAG_ORIENTATION, &orient) && orient >= 1 && orient <= 8)
    info->tiff_orientation = orient;
  info->min_is_white = t->min_is_white;
  guint32 n = 0;
  void *d = NULL;
  if (TIFFGetField (tif, TIFFTAG_ICCPROFILE, &n, &d) && n > 0 && d)
    meta->icc = g_bytes_new (d, n);
  if (TIFFGetField (tif, TIFFTAG_XMLPACKET, &n, &d) && n > 0 && d)
    {
      g_autofree char *x = g_strndup (d, n);
      if (g_utf8_validate (x, -1, NULL))
        dae__image_meta_add_text (meta, "XML:com.adobe.xmp", x, DAE_TEXT_INTERNATIONAL,
                                  NULL, NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (text_tags); i++)
    text_tag (tif, text_tags[i].tag, text_tags[i].keyword, meta);
}

gboolean
dae__tiff_reader_next (DaeTiffReader *t, guint64 max_pixels, DaeImageInfo *info,
                       DaeImageMeta *meta, GError **error)
{
  t->err.set = FALSE;
  if (t->started && !TIFFReadDirectory (t->tif))
    return t->err.set ? tiff_failed (&t->err, error, "bad TIFF directory") : FALSE;
  t->started = TRUE;
  guint32 w = 0, h = 0;
  if (!TIFFGetField (t->tif, TIFFTAG_IMAGEWIDTH, &w)
      || !TIFFGetField (t->tif, TIFFTAG_IMAGELENGTH, &h))
    return tiff_failed (&t->err, error, "bad TIFF: no image size");
  if (!dae__image_check_size (w, h, max_pixels, error) || !page_layout (t, error))
    return FALSE;
  t->width = w;
  t->height = h;
  t->row = 0;
  if (!page_buffers (t, max_pixels, error))
    return FALSE;
  static const DaeTupleType tuple[] = {
    0, DAE_TUPLE_TYPE_GRAYSCALE, DAE_TUPLE_TYPE_GRAYSCALE_ALPHA,
    DAE_TUPLE_TYPE_RGB, DAE_TUPLE_TYPE_RGB_ALPHA
  };
  memset (info, 0, sizeof *info);
  info->format = DAE_IMAGE_FORMAT_TIFF;
  info->width = w;
  info->height = h;
  info->channels = t->channels;
  info->maxval = t->maxval;
  info->has_alpha = t->channels == 2 || t->channels == 4;
  info->tuple_type = t->maxval == 1 && t->channels == 1 ? DAE_TUPLE_TYPE_BLACKANDWHITE
                     : tuple[t->channels];
  page_meta (t, info, meta);
  return TRUE;
}

/* Unpacks @n samples of @bps bits (big-endian bit order; 16-bit in the
 * host's order, as libtiff gives them). */
static void
unpack (const guint8 *in, guint bps, size_t n, guint16 *out)
{
  if (bps == 8)
    for (size_t i = 0; i < n; i++)
      out[i] = in[i];
  else if (bps == 16)
    memcpy (out, in, n * 2);
  else
    {
      guint per = 8 / bps, mask = (1u << bps) - 1;
      for (size_t i = 0; i < n; i++)
        out[i] = (in[i / per] >> (8 - bps * (i % per + 1))) & mask;
    }
}

/* Raw samples of a row (spp a pixel) into the image's samples. */
static void
convert (const DaeTiffReader *t, const guint16 *raw, guint16 *out)
{
  size_t w = t->width;
  if (t->color == COLOR_PALETTE)
    {
      guint div = t->maxval == 255 ? 257 : 1;
      for (size_t x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
          out[3 * x + c] = (guint16) (t->cmap[c][raw[x]] / div);
      return;
    }
  size_t n = w * t->spp;
  memmove (out, raw, n * sizeof *out);
  if (t->min_is_white)
    for (size_t x = 0; x < w; x++)
      out[x * t->spp] = (guint16) (t->maxval - out[x * t->spp]);
}

/* Reads the row of tiles that holds row @y into the band. */
static gboolean
read_band (DaeTiffReader *t, guint y, GError **error)
{
  guint y0 = y / t->tile_h * t->tile_h, rows = MIN (t->tile_h, t->height - y0);
  tmsize_t row_bytes = TIFFTileRowSize (t->tif);
  for (guint x0 = 0; x0 < t->width; x0 += t->tile_w)
    {
      t->err.set = FALSE;
      t->err.strict = TRUE;
      tmsize_t got = TIFFReadTile (t->tif, t->raw, x0, y0, 0, 0);
      t->err.strict = FALSE;
      if (got < 0 || t->err.set)
        return tiff_failed (&t->err, error, "bad TIFF: unreadable tile");
      guint cols = MIN (t->tile_w, t->width - x0);
      for (guint r = 0; r < rows; r++)
        unpack (t->raw + (size_t) r * row_bytes, t->bps, (size_t) cols * t->spp,
                t->band + ((size_t) r * t->width + x0) * t->spp);
    }
  t->band_y0 = y0;
  t->band_rows = rows;
  return TRUE;
}

gboolean
dae__tiff_read_rows (DaeTiffReader *t, guint n_rows, guint16 *samples, GError **error)
{
  size_t out_n = (size_t) t->width * t->channels;
  /* Palette rows widen 1 -> 3 samples: unpack them past the row's start. */
  for (guint i = 0; i < n_rows; i++, t->row++)
    {
      guint16 *out = samples + i * out_n;
      guint16 *raw = out + (t->color == COLOR_PALETTE ? 2 * (size_t) t->width : 0);
      if (t->tiled)
        {
          if (t->band_rows == 0 || t->row >= t->band_y0 + t->band_rows)
            if (!read_band (t, t->row, error))
              return FALSE;
          memcpy (raw, t->band + (size_t) (t->row - t->band_y0) * t->width * t->spp,
                  (size_t) t->width * t->spp * sizeof (guint16));
        }
      else
        {
          t->err.set = FALSE;
          t->err.strict = TRUE;
          int got = TIFFReadScanline (t->tif, t->raw, t->row, 0);
          t->err.strict = FALSE;
          if (got < 0 || t->err.set)
            {
              tiff_failed (&t->err, error, "bad TIFF: unreadable row");
              g_prefix_error (error, "row %u of %u: ", t->row + 1, t->height);
              return FALSE;
            }
          unpack (t->raw, t->bps, (size_t) t->width * t->spp, raw);
        }
      convert (t, raw, out);
    }
  return TRUE;
}

void
dae__tiff_reader_free (DaeTiffReader *t)
{
  if (t == NULL)
    return;
  if (t->tif)
    TIFFClose (t->tif);
  if (t->io.fd >= 0)
    close (t->io.fd);
  g_free (t->raw);
  g_free (t->band);
  g_free (t);
}

/* ---- writing ------------------------------------------------------------ */

struct _DaeTiffWriter {
  TiffError err;
  Range io;             /* the temporary file */
  FILE *out;
  TIFF *tif;
  guint width, channels, maxval, bps, row;
  gboolean invert;      /* min-is-white */
  guint8 *line;
};

DaeTiffWriter *
dae__tiff_writer_new (FILE *fp, GError **error)
{
  DaeTiffWriter *w = g_new0 (DaeTiffWriter, 1);
  w->err.prefix = "cannot write TIFF: ";
  w->out = fp;
  w->io.fd = temp_file ("the TIFF being written", error);
  if (w->io.fd < 0
      || (w->tif = range_open (&w->io, "w", &w->err)) == NULL)
    {
      if (w->io.fd >= 0)
        tiff_failed (&w->err, error, "cannot write TIFF");
      dae__tiff_writer_free (w);
      return NULL;
    }
  return w;
}

/* The input's compression if it suits these samples, else the default. */
static guint16
choose_compression (guint requested, guint bps, guint channels)
{
  gboolean ok = requested != 0 && requested <= 0xffff
                && TIFFIsCODECConfigured ((guint16) requested);
  switch (requested)
    {
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTRLEW:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4:
      ok = ok && bps == 1 && channels == 1;
      break;
    case COMPRESSION_JPEG:
      ok = ok && bps == 8 && (channels == 1 || channels == 3);
      break;
    case COMPRESSION_NONE:
    case COMPRESSION_LZW:
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE:
    case COMPRESSION_PACKBITS:
    case COMPRESSION_LZMA:
    case COMPRESSION_ZSTD:
      break;
    default:
      ok = FALSE; /* old-style JPEG, JBIG, WebP...: not written here */
    }
  if (ok)
    return (guint16) requested;
  return bps == 1 && channels == 1 ? COMPRESSION_CCITTFAX4 : COMPRESSION_ADOBE_DEFLATE;
}

static void
set_page_meta (TIFF *tif, const DaeImageInfo *in)
{
  if (in->res_unit != DAE_RES_UNIT_NONE && in->x_res > 0 && in->y_res > 0)
    {
      TIFFSetField (tif, TIFFTAG_XRESOLUTION, (float) in->x_res);
      TIFFSetField (tif, TIFFTAG_YRESOLUTION, (float) in->y_res);
      TIFFSetField (tif, TIFFTAG_RESOLUTIONUNIT,
                    in->res_unit == DAE_RES_UNIT_CM ? RESUNIT_CENTIMETER
                    : in->res_unit == DAE_RES_UNIT_INCH ? RESUNIT_INCH : RESUNIT_NONE);
    }
  if (in->tiff_orientation >= 1 && in->tiff_orientation <= 8)
    TIFFSetField (tif, TIFFTAG_ORIENTATION, (guint16) in->tiff_orientation);
  const DaeImageMeta *m = in->meta;
  if (m == NULL)
    return;
  gsize n;
  const guint8 *d;
  if (m->icc && (d = g_bytes_get_data (m->icc, &n)) && n > 0 && n <= G_MAXUINT32)
    TIFFSetField (tif, TIFFTAG_ICCPROFILE, (guint32) n, d);
  for (guint i = 0; m->texts && i < m->texts->len; i++)
    {
      const DaeImageText *t = m->texts->pdata[i];
      if (strcmp (t->keyword, "XML:com.adobe.xmp") == 0)
        TIFFSetField (tif, TIFFTAG_XMLPACKET, (guint32) strlen (t->text), t->text);
      for (guint k = 0; k < G_N_ELEMENTS (text_tags); k++)
        if (strcmp (t->keyword, text_tags[k].keyword) == 0)
          TIFFSetField (tif, text_tags[k].tag, t->text);
    }
}

gboolean
dae__tiff_writer_start_page (DaeTiffWriter *w, const DaeImageInfo *in, GError **error)
{
  TIFF *tif = w->tif;
  /* As PNG, but gray with alpha keeps 1, 2 or 4 bits too. */
  guint bps = dae__png_bit_depth_for (in->channels > 2 ? in->channels : 1, in->maxval);
  guint colors = in->channels >= 3 ? 3 : 1;
  guint16 comp = choose_compression (in->tiff_compression, bps, in->channels);
  w->err.set = FALSE;
  w->width = in->width;
  w->channels = in->channels;
  w->maxval = in->maxval;
  w->bps = bps;
  w->row = 0;
  w->invert = in->min_is_white && colors == 1 && comp != COMPRESSION_JPEG;
  TIFFSetField (tif, TIFFTAG_IMAGEWIDTH, (guint32) in->width);
  TIFFSetField (tif, TIFFTAG_IMAGELENGTH, (guint32) in->height);
  TIFFSetField (tif, TIFFTAG_BITSPERSAMPLE, (guint16) bps);
  TIFFSetField (tif, TIFFTAG_SAMPLESPERPIXEL, (guint16) in->channels);
  TIFFSetField (tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField (tif, TIFFTAG_COMPRESSION, comp);
  if (in->channels > colors)
    {
      guint16 alpha = EXTRASAMPLE_UNASSALPHA;
      TIFFSetField (tif, TIFFTAG_EXTRASAMPLES, 1, &alpha);
    }
  guint16 photo = colors == 3 ? PHOTOMETRIC_RGB
                  : w->invert ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK;
  if (comp == COMPRESSION_JPEG)
    {
      if (colors == 3)
        photo = PHOTOMETRIC_YCBCR;
      TIFFSetField (tif, TIFFTAG_JPEGQUALITY, in->quality ? (int) MIN (in->quality, 100) : 90);
    }
  TIFFSetField (tif, TIFFTAG_PHOTOMETRIC, photo);
  if (comp == COMPRESSION_JPEG && colors == 3)
    TIFFSetField (tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  if ((comp == COMPRESSION_ADOBE_DEFLATE || comp == COMPRESSION_DEFLATE
       || comp == COMPRESSION_LZW || comp == COMPRESSION_ZSTD || comp == COMPRESSION_LZMA)
      && bps >= 8)
    TIFFSetField (tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  TIFFSetField (tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize (tif, 0));
  set_page_meta (tif, in);
  tmsize_t n = TIFFScanlineSize (tif);
  g_clear_pointer (&w->line, g_free);
  if (n <= 0 || w->err.set)
    return tiff_failed (&w->err, error, "cannot write TIFF: bad layout");
  w->line = dae__io_try_alloc ((size_t) n, "a row of the output image", error);
  return w->line != NULL;
}

/* Packs a row's samples at the page's depth. */
static void
pack (const DaeTiffWriter *w, const guint16 *in, guint8 *out)
{
  size_t n = (size_t) w->width * w->channels;
  guint stored = (1u << w->bps) - 1;
  if (w->bps < 8)
    memset (out, 0, (n * w->bps + 7) / 8);
  for (size_t i = 0; i < n; i++)
    {
      guint v = dae__rescale (in[i], w->maxval, stored);
      if (w->invert && i % w->channels == 0) /* gray, not alpha */
        v = stored - v;
      if (w->bps == 16)
        {
          guint16 s = (guint16) v;
          memcpy (out + 2 * i, &s, 2);
        }
      else if (w->bps == 8)
        out[i] = (guint8) v;
      else
        out[i * w->bps / 8] |= (guint8) (v << (8 - w->bps * (i % (8 / w->bps) + 1)));
    }
}

gboolean
dae__tiff_write_rows (DaeTiffWriter *w, guint n_rows, const guint16 *samples, GError **error)
{
  size_t n = (size_t) w->width * w->channels;
  for (guint y = 0; y < n_rows; y++, w->row++)
    {
      pack (w, samples + y * n, w->line);
      if (TIFFWriteScanline (w->tif, w->line, w->row, 0) < 0)
        return tiff_failed (&w->err, error, "cannot write TIFF: write error");
    }
  return TRUE;
}

gboolean
dae__tiff_writer_end_page (DaeTiffWriter *w, GError **error)
{
  if (!TIFFWriteDirectory (w->tif))
    return tiff_failed (&w->err, error, "cannot write TIFF: write error");
  return TRUE;
}

gboolean
dae__tiff_writer_close (DaeTiffWriter *w, GError **error)
{
  TIFF *tif = w->tif;
  w->tif = NULL;
  TIFFClose (tif);
  if (w->err.set)
    return tiff_failed (&w->err, error, "");
  guint8 buf[65536];
  ssize_t n;
  if (lseek (w->io.fd, 0, SEEK_SET) != 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "temporary TIFF: %s", g_strerror (errno));
      return FALSE;
    }
  while ((n = read (w->io.fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && fwrite (buf, 1, (size_t) n, w->out) != (size_t) n)
      {
        int e = errno;
        g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "write error: %s", g_strerror (e ? e : EIO));
        return FALSE;
      }
  if (n < 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "temporary TIFF: read error");
      return FALSE;
    }
  return TRUE;
}

void
dae__tiff_writer_free (DaeTiffWriter *w)
{
  if (w == NULL)
    return;
  if (w->tif)
    TIFFClose (w->tif);
  if (w->io.fd >= 0)
    close (w->io.fd);
  g_free (w->line);
  g_free (w);
}
