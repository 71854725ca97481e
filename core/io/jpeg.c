/* jpeg.c: JPEG through libjpeg(-turbo), one scanline at a time.  libjpeg
 * reports errors through error_exit, which longjmps back here: as in png.c,
 * each entry point does its libjpeg calls inside one "guarded" function
 * that owns the setjmp, and turns the recorded message into a GError.
 * Corrupt data that libjpeg would only warn about (a premature end, a bad
 * Huffman code) is an error too: the image would be partly made up. */
#include "io-private.h"

#include <jpeglib.h>
#include <jerror.h>
#include <math.h>
#include <setjmp.h>
#include <string.h>

#define BUF_SIZE 16384
#define MAX_SCANS 1000 /* progressive scans: libjpeg-turbo's advice */
#define DEFAULT_QUALITY 90

static const char exif_id[6] = "Exif\0";           /* with its second NUL */
static const char xmp_id[] = "http://ns.adobe.com/xap/1.0/"; /* and a NUL */

typedef struct {
  struct jpeg_error_mgr pub; /* first: libjpeg's error manager */
  jmp_buf jmp;
  char msg[JMSG_LENGTH_MAX + 64];
  DaeError code;
  gboolean set;
  const char *prefix;
} JpegError;

static void
jerr_set (JpegError *e, DaeError code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
jerr_set (JpegError *e, DaeError code, const char *fmt, ...)
{
  if (e->set)
    return;
  va_list ap;
  va_start (ap, fmt);
  g_vsnprintf (e->msg, sizeof e->msg, fmt, ap);
  va_end (ap);
  e->code = code;
  e->set = TRUE;
}

static void
error_exit (j_common_ptr cinfo)
{
  JpegError *e = (JpegError *) cinfo->err;
  char text[JMSG_LENGTH_MAX];
  cinfo->err->format_message (cinfo, text);
  jerr_set (e, DAE_ERROR_FORMAT, "%s%s", e->prefix, text);
  longjmp (e->jmp, 1);
}

static void
emit_message (j_common_ptr cinfo, int level)
{
  int code = cinfo->err->msg_code;
  /* Warnings that mean lost data stop the reading; the others (extra
   * bytes between markers, an odd JFIF version) do not. */
  if (level < 0 && (code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE
                    || code == JWRN_JPEG_EOF || code == JWRN_MUST_RESYNC))
    error_exit (cinfo);
}

static void
progress (j_common_ptr cinfo)
{
  /* Thousands of tiny progressive scans take minutes: refuse them. */
  if (cinfo->is_decompressor
      && ((j_decompress_ptr) cinfo)->input_scan_number > MAX_SCANS)
    {
      JpegError *e = (JpegError *) cinfo->err;
      jerr_set (e, DAE_ERROR_LIMIT, "%smore than %d progressive scans",
                e->prefix, MAX_SCANS);
      longjmp (e->jmp, 1);
    }
}

static gboolean
jpeg_failed (JpegError *e, GError **error)
{
  g_set_error_literal (error, DAE_ERROR, e->set ? e->code : DAE_ERROR_FORMAT,
                       e->set ? e->msg : "bad JPEG");
  return FALSE;
}

static void
jerr_init (JpegError *e, const char *prefix)
{
  jpeg_std_error (&e->pub);
  e->pub.error_exit = error_exit;
  e->pub.emit_message = emit_message;
  e->prefix = prefix;
}

/* ---- reading ------------------------------------------------------------ */

struct _DaeJpegReader {
  JpegError err; /* first */
  struct jpeg_decompress_struct cinfo;
  struct jpeg_source_mgr smgr;
  struct jpeg_progress_mgr prog;
  gboolean created;
  gboolean scanning;  /* past jpeg_start_decompress() */
  DaeSource *src;
  guint width, height, channels;
  guint row_now;
  JSAMPLE *row;
  guint8 buf[BUF_SIZE];
};

static void
init_source (j_decompress_ptr cinfo)
{
}

static boolean
fill_input_buffer (j_decompress_ptr cinfo)
{
  DaeJpegReader *j = (DaeJpegReader *) cinfo->client_data;
  size_t n = dae__source_read (j->src, j->buf, sizeof j->buf);
  if (n == 0)
    {
      if (j->src->io_errno)
        jerr_set (&j->err, DAE_ERROR_IO, "read error: %s", g_strerror (j->src->io_errno));
      else if (j->scanning)
        jerr_set (&j->err, DAE_ERROR_FORMAT, "truncated image data at row %u of %u",
                  j->row_now + 1, j->height);
      else
        jerr_set (&j->err, DAE_ERROR_FORMAT, "truncated JPEG");
      longjmp (j->err.jmp, 1);
    }
  j->smgr.next_input_byte = j->buf;
  j->smgr.bytes_in_buffer = n;
  return TRUE;
}

static void
skip_input_data (j_decompress_ptr cinfo, long num_bytes)
{
  struct jpeg_source_mgr *s = cinfo->src;
  while (num_bytes > 0 && (size_t) num_bytes > s->bytes_in_buffer)
    {
      num_bytes -= (long) s->bytes_in_buffer;
      fill_input_buffer (cinfo);
    }
  if (num_bytes > 0)
    {
      s->next_input_byte += num_bytes;
      s->bytes_in_buffer -= (size_t) num_bytes;
    }
}

static void
term_source (j_decompress_ptr cinfo)
{
}

/* Text from a marker: UTF-8 if it is, else read as Latin-1. */
static char *
marker_text (const guint8 *d, size_t n)
{
  g_autofree char *s = g_strndup ((const char *) d, n);
  if (g_utf8_validate (s, -1, NULL))
    return g_steal_pointer (&s);
  return g_convert (s, -1, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
}

static const guint8 std_luma[64] = {
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99
};

/* The quality whose libjpeg table (jpeg_quality_scaling) is nearest to
 * the luminance table: exact for libjpeg's, an estimate for others. */
static guint
estimate_quality (const JQUANT_TBL *t)
{
  if (t == NULL)
    return 0;
  guint best = 0;
  guint64 best_d = G_MAXUINT64;
  for (guint q = 1; q <= 100; q++)
    {
      guint scale = q < 50 ? 5000 / q : 200 - q * 2;
      guint64 d = 0;
      for (int i = 0; i < 64; i++)
        {
          long v = ((long) std_luma[i] * scale + 50) / 100;
          v = CLAMP (v, 1, 255);
          long diff = (long) t->quantval[i] - v;
          d += (guint64) (diff * diff);
        }
      if (d < best_d)
        best_d = d, best = q;
    }
  return best;
}

/* Exif is a little TIFF file: a byte-order mark, an offset to IFD 0 and
 * there 12-byte entries (tag, type, count, value or offset).  Only the three
 * resolution tags of IFD 0 are read; every offset is checked against the
 * blob, and anything odd leaves the resolution unknown. */
static guint32
exif_get (const guint8 *p, size_t size, gboolean le)
{
  guint32 v = 0;
  for (size_t i = 0; i < size; i++)
    v |= (guint32) p[le ? i : size - 1 - i] << (8 * i);
  return v;
}

static gboolean
exif_rational (const guint8 *d, size_t n, gboolean le, const guint8 *e, double *out)
{
  guint32 type = exif_get (e + 2, 2, le), count = exif_get (e + 4, 4, le);
  guint32 off = exif_get (e + 8, 4, le);
  if (type != 5 || count != 1 || off > n || n - off < 8) /* RATIONAL */
    return FALSE;
  guint32 num = exif_get (d + off, 4, le), den = exif_get (d + off + 4, 4, le);
  if (num == 0 || den == 0)
    return FALSE;
  *out = (double) num / den;
  return TRUE;
}

static void
exif_resolution (const guint8 *d, size_t n, DaeImageInfo *info)
{
  if (n < 8 || !(memcmp (d, "II*\0", 4) == 0 || memcmp (d, "MM\0*", 4) == 0))
    return;
  gboolean le = d[0] == 'I';
  guint32 ifd = exif_get (d + 4, 4, le);
  if (ifd > n || n - ifd < 2)
    return;
  guint32 count = exif_get (d + ifd, 2, le);
  double x = 0, y = 0;
  guint32 unit = 2; /* Exif's default: inches */
  for (guint32 i = 0; i < count && (n - ifd - 2) / 12 > i; i++)
    {
      const guint8 *e = d + ifd + 2 + 12 * i;
      guint32 tag = exif_get (e, 2, le);
      if (tag == 0x011a && !exif_rational (d, n, le, e, &x))       /* XResolution */
        return;
      if (tag == 0x011b && !exif_rational (d, n, le, e, &y))       /* YResolution */
        return;
      if (tag == 0x0128 && exif_get (e + 2, 2, le) == 3)          /* ResolutionUnit, SHORT */
        unit = exif_get (e + 8, 2, le);
    }
  if (x > 0 && y > 0 && (unit == 2 || unit == 3) && x < 1e6 && y < 1e6)
    {
      info->x_res = x;
      info->y_res = y;
      info->res_unit = unit == 2 ? DAE_RES_UNIT_INCH : DAE_RES_UNIT_CM;
    }
}

static void
read_meta (j_decompress_ptr c, DaeImageInfo *info, DaeImageMeta *meta)
{
  if (c->saw_JFIF_marker && c->X_density > 0 && c->Y_density > 0
      && (c->density_unit != 0 || c->X_density != c->Y_density))
    {
      info->x_res = c->X_density;
      info->y_res = c->Y_density;
      info->res_unit = c->density_unit == 1 ? DAE_RES_UNIT_INCH
                       : c->density_unit == 2 ? DAE_RES_UNIT_CM : DAE_RES_UNIT_ASPECT;
    }
  for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
    {
      const guint8 *d = m->data;
      size_t n = m->data_length;
      if (m->marker == JPEG_COM)
        {
          g_autofree char *t = marker_text (d, n);
          if (t)
            dae__image_meta_add_text (meta, "Comment", t, g_str_is_ascii (t)
                                      ? DAE_TEXT_PLAIN : DAE_TEXT_INTERNATIONAL, NULL, NULL);
        }
      else if (m->marker == JPEG_APP0 + 1 && n > 6 && memcmp (d, exif_id, 6) == 0
               && meta->exif == NULL)
        meta->exif = g_bytes_new (d + 6, n - 6);
      else if (m->marker == JPEG_APP0 + 1 && n > sizeof xmp_id
               && memcmp (d, xmp_id, sizeof xmp_id) == 0)
        {
          g_autofree char *t = g_strndup ((const char *) d + sizeof xmp_id, n - sizeof xmp_id);
          if (g_utf8_validate (t, -1, NULL))
            dae__image_meta_add_text (meta, "XML:com.adobe.xmp", t,
                                      DAE_TEXT_INTERNATIONAL, NULL, NULL);
        }
    }
  /* No JFIF density (a camera's JPEG): Exif's, if it has one. */
  if (info->res_unit == DAE_RES_UNIT_NONE && meta->exif)
    {
      size_t n;
      const guint8 *d = g_bytes_get_data (meta->exif, &n);
      exif_resolution (d, n, info);
    }
  JOCTET *icc = NULL;
  unsigned int icc_len = 0;
  if (jpeg_read_icc_profile (c, &icc, &icc_len) && icc_len > 0)
    meta->icc = g_bytes_new (icc, icc_len);
  free (icc);
  info->quality = estimate_quality (c->quant_tbl_ptrs[0]);
}

static gboolean
start_guarded (DaeJpegReader *j, guint64 max_pixels, DaeImageInfo *info,
               DaeImageMeta *meta, GError **error)
{
  j_decompress_ptr c = &j->cinfo;
  if (setjmp (j->err.jmp))
    return jpeg_failed (&j->err, error);
  jpeg_create_decompress (c);
  j->created = TRUE;
  c->client_data = j;
  c->src = &j->smgr;
  c->progress = &j->prog;
  j->prog.progress_monitor = progress;
  j->smgr.init_source = init_source;
  j->smgr.fill_input_buffer = fill_input_buffer;
  j->smgr.skip_input_data = skip_input_data;
  j->smgr.resync_to_restart = jpeg_resync_to_restart;
  j->smgr.term_source = term_source;
  jpeg_save_markers (c, JPEG_COM, 0xffff);
  jpeg_save_markers (c, JPEG_APP0 + 1, 0xffff);
  jpeg_save_markers (c, JPEG_APP0 + 2, 0xffff);
  jpeg_read_header (c, TRUE);
  if (!dae__image_check_size (c->image_width, c->image_height, max_pixels, error))
    return FALSE;
  switch (c->jpeg_color_space)
    {
    case JCS_GRAYSCALE:
      c->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      c->out_color_space = JCS_RGB;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                           "CMYK JPEG: not read (its colours need its profile); "
                           "convert it to RGB first");
      return FALSE;
    default:
      if (c->num_components != 1 && c->num_components != 3)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                       "JPEG of %d components in an unknown colour space: not read",
                       c->num_components);
          return FALSE;
        }
    }
  jpeg_start_decompress (c);
  j->scanning = TRUE;
  if (c->output_components != 1 && c->output_components != 3)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                           "JPEG layout not understood");
      return FALSE;
    }
  j->width = c->output_width;
  j->height = c->output_height;
  j->channels = (guint) c->output_components;
  j->row = dae__io_try_alloc ((size_t) j->width * j->channels, "a row of the image", error);
  if (j->row == NULL)
    return FALSE;
  memset (info, 0, sizeof *info);
  info->format = DAE_IMAGE_FORMAT_JPEG;
  info->width = j->width;
  info->height = j->height;
  info->channels = j->channels;
  info->maxval = 255;
  info->tuple_type = j->channels == 1 ? DAE_TUPLE_TYPE_GRAYSCALE : DAE_TUPLE_TYPE_RGB;
  read_meta (c, info, meta);
  return TRUE;
}

DaeJpegReader *
dae__jpeg_reader_start (DaeSource *src, guint64 max_pixels, DaeImageInfo *info,
                        DaeImageMeta *meta, GError **error)
{
  DaeJpegReader *j = g_new0 (DaeJpegReader, 1);
  j->src = src;
  jerr_init (&j->err, "bad JPEG: ");
  j->cinfo.err = &j->err.pub;
  if (!start_guarded (j, max_pixels, info, meta, error))
    {
      dae__jpeg_reader_free (j);
      return NULL;
    }
  return j;
}

static gboolean
rows_guarded (DaeJpegReader *j, guint n_rows, guint16 *samples, GError **error)
{
  if (setjmp (j->err.jmp))
    return jpeg_failed (&j->err, error);
  size_t n = (size_t) j->width * j->channels;
  for (guint y = 0; y < n_rows; y++)
    {
      JSAMPROW rows[1] = { j->row };
      if (jpeg_read_scanlines (&j->cinfo, rows, 1) != 1)
        {
          /* Only a suspending source returns no row; ours never does. */
          g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT, "bad JPEG: no row");
          return FALSE;
        }
      guint16 *out = samples + y * n;
      for (size_t i = 0; i < n; i++)
        out[i] = j->row[i];
      j->row_now++;
    }
  return TRUE;
}

gboolean
dae__jpeg_read_rows (DaeJpegReader *j, guint n_rows, guint16 *samples, GError **error)
{
  return rows_guarded (j, n_rows, samples, error);
}

static gboolean
end_guarded (DaeJpegReader *j, GError **error)
{
  if (setjmp (j->err.jmp))
    return jpeg_failed (&j->err, error);
  jpeg_finish_decompress (&j->cinfo);
  return TRUE;
}

gboolean
dae__jpeg_read_end (DaeJpegReader *j, GError **error)
{
  if (!end_guarded (j, error))
    return FALSE;
  /* What the decoder read past its EOI belongs to the next image. */
  dae__source_unread (j->src, j->smgr.next_input_byte, j->smgr.bytes_in_buffer);
  j->smgr.bytes_in_buffer = 0;
  return TRUE;
}

void
dae__jpeg_reader_free (DaeJpegReader *j)
{
  if (j == NULL)
    return;
  if (j->created)
    jpeg_destroy_decompress (&j->cinfo);
  g_free (j->row);
  g_free (j);
}

/* ---- writing ------------------------------------------------------------ */

struct _DaeJpegWriter {
  JpegError err; /* first */
  struct jpeg_compress_struct cinfo;
  struct jpeg_destination_mgr dmgr;
  gboolean created;
  FILE *fp;
  guint width, channels, maxval;
  JSAMPLE *row;
  guint8 buf[BUF_SIZE];
};

static void
write_out (DaeJpegWriter *w, size_t n)
{
  if (n && fwrite (w->buf, 1, n, w->fp) != n)
    {
      int e = errno;
      jerr_set (&w->err, DAE_ERROR_IO, "write error: %s", g_strerror (e ? e : EIO));
      longjmp (w->err.jmp, 1);
    }
}

static void
init_destination (j_compress_ptr cinfo)
{
  DaeJpegWriter *w = cinfo->client_data;
  w->dmgr.next_output_byte = w->buf;
  w->dmgr.free_in_buffer = sizeof w->buf;
}

static boolean
empty_output_buffer (j_compress_ptr cinfo)
{
  DaeJpegWriter *w = cinfo->client_data;
  write_out (w, sizeof w->buf);
  init_destination (cinfo);
  return TRUE;
}

static void
term_destination (j_compress_ptr cinfo)
{
  DaeJpegWriter *w = cinfo->client_data;
  write_out (w, sizeof w->buf - w->dmgr.free_in_buffer);
}

static void
set_density (j_compress_ptr c, const DaeImageInfo *in)
{
  double x, y;
  if (dae__res_per_inch (in, &x, &y))
    c->density_unit = 1;
  else if (in->res_unit == DAE_RES_UNIT_CM || in->res_unit == DAE_RES_UNIT_ASPECT)
    {
      c->density_unit = in->res_unit == DAE_RES_UNIT_CM ? 2 : 0;
      x = round (in->x_res);
      y = round (in->y_res);
    }
  else
    return;
  if (x >= 1 && y >= 1 && x <= 65535 && y <= 65535)
    {
      c->X_density = (UINT16) x;
      c->Y_density = (UINT16) y;
    }
  else
    c->density_unit = 0;
}

/* Markers after SOI: comments, Exif, XMP and the ICC profile. */
static void
write_markers (j_compress_ptr c, const DaeImageMeta *m)
{
  if (m == NULL)
    return;
  gsize n;
  const guint8 *d;
  if (m->exif && (d = g_bytes_get_data (m->exif, &n)) && n > 0 && n <= 65533 - 6)
    {
      jpeg_write_m_header (c, JPEG_APP0 + 1, (unsigned int) (n + 6));
      for (int i = 0; i < 6; i++)
        jpeg_write_m_byte (c, exif_id[i]);
      for (gsize i = 0; i < n; i++)
        jpeg_write_m_byte (c, d[i]);
    }
  for (guint i = 0; m->texts && i < m->texts->len; i++)
    {
      const DaeImageText *t = m->texts->pdata[i];
      size_t len = strlen (t->text);
      if (strcmp (t->keyword, "XML:com.adobe.xmp") == 0 && len + sizeof xmp_id <= 65533)
        {
          jpeg_write_m_header (c, JPEG_APP0 + 1, (unsigned int) (len + sizeof xmp_id));
          for (size_t k = 0; k < sizeof xmp_id; k++)
            jpeg_write_m_byte (c, xmp_id[k]);
          for (size_t k = 0; k < len; k++)
            jpeg_write_m_byte (c, t->text[k]);
        }
      else if (strcmp (t->keyword, "Comment") == 0 && len <= 65533)
        jpeg_write_marker (c, JPEG_COM, (const JOCTET *) t->text, (unsigned int) len);
    }
  if (m->icc && (d = g_bytes_get_data (m->icc, &n)) && n > 0 && n <= G_MAXUINT32 / 2)
    jpeg_write_icc_profile (c, d, (unsigned int) n);
}

static gboolean
writer_start_guarded (DaeJpegWriter *w, const DaeImageInfo *in, GError **error)
{
  j_compress_ptr c = &w->cinfo;
  if (setjmp (w->err.jmp))
    return jpeg_failed (&w->err, error);
  jpeg_create_compress (c);
  w->created = TRUE;
  c->client_data = w;
  c->dest = &w->dmgr;
  w->dmgr.init_destination = init_destination;
  w->dmgr.empty_output_buffer = empty_output_buffer;
  w->dmgr.term_destination = term_destination;
  c->image_width = in->width;
  c->image_height = in->height;
  c->input_components = (int) in->channels;
  c->in_color_space = in->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults (c);
  jpeg_set_quality (c, in->quality ? (int) MIN (in->quality, 100) : DEFAULT_QUALITY, TRUE);
  /* Not optimize_coding: its second pass buffers the whole image. */
  set_density (c, in);
  jpeg_start_compress (c, TRUE);
  write_markers (c, in->meta);
  return TRUE;
}

DaeJpegWriter *
dae__jpeg_writer_new (FILE *fp, const DaeImageInfo *in, GError **error)
{
  if (in->width > JPEG_MAX_DIMENSION || in->height > JPEG_MAX_DIMENSION)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "%ux%u is too large for JPEG (at most %ld a side)", in->width,
                   in->height, (long) JPEG_MAX_DIMENSION);
      return NULL;
    }
  DaeJpegWriter *w = g_new0 (DaeJpegWriter, 1);
  w->fp = fp;
  w->width = in->width;
  w->channels = in->channels;
  w->maxval = in->maxval;
  jerr_init (&w->err, "cannot write JPEG: ");
  w->cinfo.err = &w->err.pub;
  w->row = dae__io_try_alloc ((size_t) in->width * in->channels, "a row of the output image",
                              error);
  if (w->row == NULL || !writer_start_guarded (w, in, error))
    {
      dae__jpeg_writer_free (w);
      return NULL;
    }
  return w;
}

static gboolean
write_guarded (DaeJpegWriter *w, guint n_rows, const guint16 *samples, GError **error)
{
  if (setjmp (w->err.jmp))
    return jpeg_failed (&w->err, error);
  size_t n = (size_t) w->width * w->channels;
  for (guint y = 0; y < n_rows; y++)
    {
      const guint16 *in = samples + y * n;
      for (size_t i = 0; i < n; i++)
        w->row[i] = (JSAMPLE) dae__rescale (in[i], w->maxval, 255);
      JSAMPROW rows[1] = { w->row };
      jpeg_write_scanlines (&w->cinfo, rows, 1);
    }
  return TRUE;
}

gboolean
dae__jpeg_write_rows (DaeJpegWriter *w, guint n_rows, const guint16 *samples,
                      GError **error)
{
  return write_guarded (w, n_rows, samples, error);
}

static gboolean
finish_guarded (DaeJpegWriter *w, GError **error)
{
  if (setjmp (w->err.jmp))
    return jpeg_failed (&w->err, error);
  jpeg_finish_compress (&w->cinfo);
  return TRUE;
}

gboolean
dae__jpeg_writer_finish (DaeJpegWriter *w, GError **error)
{
  return finish_guarded (w, error);
}

void
dae__jpeg_writer_free (DaeJpegWriter *w)
{
  if (w == NULL)
    return;
  if (w->created)
    jpeg_destroy_compress (&w->cinfo);
  g_free (w->row);
  g_free (w);
}
