/* png.c: PNG through libpng, row by row.  libpng reports errors by
 * longjmp: each entry point below does its libpng calls inside one small
 * "guarded" function that owns the setjmp (and no automatic cleanups), and
 * turns the recorded message into a GError. */
#include "io-private.h"

#include <png.h>
#include <stdarg.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

#define CHUNK_MALLOC_MAX (8u << 20) /* ancillary chunks, decompressed */
#define CHUNK_CACHE_MAX 1000u       /* ancillary chunks kept */
#define INTERLACED_MAX_BYTES (1u << 30) /* an Adam7 image, decoded */

typedef struct {
  char msg[256];
  DaeError code;
  gboolean set;
  const char *prefix; /* for libpng's own messages */
} PngError;

static void
png_error_set (PngError *e, DaeError code, const char *fmt, ...)
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
error_cb (png_structp png, png_const_charp msg)
{
  PngError *e = png_get_error_ptr (png);
  png_error_set (e, strstr (msg, "user limit") ? DAE_ERROR_LIMIT : DAE_ERROR_FORMAT,
                 "%s%s", e->prefix, msg);
  png_longjmp (png, 1);
}

static void
warning_cb (png_structp png, png_const_charp msg)
{
  /* The library never prints; what matters is an error. */
}

static gboolean
png_failed (PngError *e, GError **error)
{
  g_set_error_literal (error, DAE_ERROR, e->set ? e->code : DAE_ERROR_FORMAT,
                       e->set ? e->msg : "bad PNG");
  return FALSE;
}

guint
dae__png_bit_depth_for (guint channels, guint maxval)
{
  if (channels == 1 && (maxval == 1 || maxval == 3 || maxval == 15))
    return maxval == 1 ? 1 : maxval == 3 ? 2 : 4;
  return maxval <= 255 ? 8 : 16;
}

/* ---- reading ------------------------------------------------------------ */

struct _DaePngReader {
  PngError err; /* first: libpng's error pointer */
  png_structp png;
  png_infop info;
  DaeSource *src;
  const char *stage;    /* what a short read truncates */
  guint width, height;
  guint row_now;        /* row being read, for messages */
  guint in_channels;    /* per pixel in libpng's rows, after transforms */
  guint out_channels;
  guint bps;            /* bytes per sample in libpng's rows: 1 or 2 */
  guint bit_depth;      /* as stored */
  gboolean gray_palette;/* expanded to RGB(A), keep R (and A) */
  gboolean gray_trns;   /* gray + tRNS: make alpha from trns_gray */
  guint trns_gray;
  size_t rowbytes;
  guint8 *row;
  gboolean interlaced;
  guint8 *image;        /* interlaced only: the whole image */
  gboolean image_read;
};

static void
read_cb (png_structp png, png_bytep data, size_t length)
{
  DaePngReader *p = png_get_io_ptr (png);
  if (dae__source_read (p->src, data, length) == length)
    return;
  if (p->src->io_errno)
    png_error_set (&p->err, DAE_ERROR_IO, "read error: %s",
                   g_strerror (p->src->io_errno));
  else if (p->stage == NULL)
    png_error_set (&p->err, DAE_ERROR_FORMAT,
                   "truncated image data at row %u of %u", p->row_now + 1,
                   p->height);
  else
    png_error_set (&p->err, DAE_ERROR_FORMAT, "truncated PNG %s", p->stage);
  png_error (png, p->err.msg);
}

/* Inflates a zTXt, iTXt or iCCP payload, up to CHUNK_MALLOC_MAX bytes. */
static GBytes *
inflate_bounded (const guint8 *in, size_t n)
{
  z_stream z = { 0 };
  if (inflateInit (&z) != Z_OK)
    return NULL;
  GByteArray *out = g_byte_array_new ();
  guint8 buf[16384];
  int ret = Z_OK;
  z.next_in = (Bytef *) in;
  z.avail_in = (uInt) n;
  while (ret == Z_OK && out->len <= CHUNK_MALLOC_MAX)
    {
      z.next_out = buf;
      z.avail_out = sizeof buf;
      ret = inflate (&z, Z_NO_FLUSH);
      g_byte_array_append (out, buf, (guint) (sizeof buf - z.avail_out));
      if (ret == Z_OK && z.avail_in == 0 && z.avail_out != 0)
        ret = Z_DATA_ERROR; /* input ended early */
    }
  inflateEnd (&z);
  if (ret != Z_STREAM_END || out->len > CHUNK_MALLOC_MAX)
    {
      g_byte_array_unref (out);
      return NULL;
    }
  return g_byte_array_free_to_bytes (out);
}

/* The NUL-terminated field at @*pos of @d (length @n), moving past it. */
static const char *
field (const guint8 *d, size_t n, size_t *pos)
{
  if (*pos >= n) /* also an empty chunk, whose data libpng gives as NULL */
    return NULL;
  const guint8 *end = memchr (d + *pos, 0, n - *pos);
  if (end == NULL)
    return NULL;
  const char *f = (const char *) d + *pos;
  *pos = (size_t) (end - d) + 1;
  return f;
}

/* A text chunk (tEXt, zTXt or iTXt) into @meta; broken ones are dropped. */
static void
add_text_chunk (DaeImageMeta *meta, const png_unknown_chunk *c)
{
  const guint8 *d = c->data;
  size_t n = c->size, pos = 0;
  const char *key = field (d, n, &pos), *lang = NULL, *lkey = NULL;
  gboolean z = FALSE, itxt = memcmp (c->name, "iTXt", 4) == 0;
  if (key == NULL || pos < 2 || pos > 80)
    return;
  if (memcmp (c->name, "zTXt", 4) == 0)
    {
      if (pos >= n || d[pos++] != 0)
        return;
      z = TRUE;
    }
  else if (itxt)
    {
      if (n - pos < 2 || d[pos + 1] != 0 || d[pos] > 1)
        return;
      z = d[pos] == 1;
      pos += 2;
      if ((lang = field (d, n, &pos)) == NULL || (lkey = field (d, n, &pos)) == NULL)
        return;
    }
  g_autoptr (GBytes) text = z ? inflate_bounded (d + pos, n - pos)
                              : g_bytes_new (d + pos, n - pos);
  if (text == NULL)
    return;
  gsize len;
  const char *t = g_bytes_get_data (text, &len);
  g_autofree char *str = g_strndup (t ? t : "", len);
  if (strlen (str) != len || (itxt && !g_utf8_validate (str, -1, NULL)))
    return; /* a NUL inside, or bad UTF-8 */
  DaeTextKind kind = itxt ? (z ? DAE_TEXT_INTERNATIONAL_COMPRESSED : DAE_TEXT_INTERNATIONAL)
                          : z ? DAE_TEXT_COMPRESSED : DAE_TEXT_PLAIN;
  dae__image_meta_add_text (meta, key, str, kind, lang && *lang ? lang : NULL,
                            lkey && *lkey ? lkey : NULL);
}

/* The metadata before the image data: resolution into @info, the rest
 * into @meta. */
static void
get_meta (png_structp png, png_infop pi, DaeImageInfo *info, DaeImageMeta *meta)
{
  png_uint_32 rx, ry;
  int unit;
  if (png_get_pHYs (png, pi, &rx, &ry, &unit) && rx > 0 && ry > 0)
    {
      gboolean m = unit == PNG_RESOLUTION_METER;
      info->x_res = m ? rx / 100.0 : rx;
      info->y_res = m ? ry / 100.0 : ry;
      info->res_unit = m ? DAE_RES_UNIT_CM : DAE_RES_UNIT_ASPECT;
    }
  png_fixed_point g, c[8];
  if (png_get_gAMA_fixed (png, pi, &g) && g > 0)
    {
      meta->has_gamma = TRUE;
      meta->gamma = (guint32) g;
    }
  if (png_get_cHRM_fixed (png, pi, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7]))
    {
      meta->has_chrm = TRUE;
      for (int i = 0; i < 8; i++)
        meta->chrm[i] = (guint32) MAX (c[i], 0);
    }
  int intent;
  if (png_get_sRGB (png, pi, &intent))
    meta->srgb_intent = intent;

  png_unknown_chunkp chunks;
  int n = png_get_unknown_chunks (png, pi, &chunks);
  for (int i = 0; i < n; i++)
    {
      const png_unknown_chunk *ch = &chunks[i];
      if (memcmp (ch->name, "iCCP", 4) == 0 && meta->icc == NULL)
        {
          size_t pos = 0;
          const char *name = field (ch->data, ch->size, &pos);
          if (name && pos < ch->size && ch->data[pos] == 0
              && (meta->icc = inflate_bounded (ch->data + pos + 1, ch->size - pos - 1)))
            meta->icc_name = g_strdup (name);
        }
      else if (memcmp (ch->name, "eXIf", 4) == 0 && meta->exif == NULL && ch->size > 0)
        meta->exif = g_bytes_new (ch->data, ch->size);
      else if (memcmp (ch->name, "iCCP", 4) != 0 && memcmp (ch->name, "eXIf", 4) != 0)
        add_text_chunk (meta, ch);
    }
}

/* libpng's transforms for colour type @ct at bit depth @bd, and what they
 * make of it: maxval, channels (alpha from tRNS included) and the type as
 * stored.  Called under start_guarded()'s setjmp. */
static gboolean
set_transforms (DaePngReader *p, int bd, int ct, guint *maxval_out, guint *channels_out,
                DaePngColorType *type_out, GError **error)
{
  png_structp png = p->png;
  gboolean trns = png_get_valid (png, p->info, PNG_INFO_tRNS) != 0;
  guint maxval = bd == 16 ? 65535 : 255, channels;
  DaePngColorType type;
  switch (ct)
    {
    case PNG_COLOR_TYPE_GRAY:
      type = DAE_PNG_COLOR_GRAY;
      /* tRNS makes an alpha channel here, not in libpng: libpng's
       * would expand 1/2/4 bits to 8, netpbm keeps maxval 1/3/15. */
      if (trns)
        {
          png_color_16p tc = NULL;
          png_get_tRNS (png, p->info, NULL, NULL, &tc);
          p->gray_trns = TRUE;
          p->trns_gray = tc ? tc->gray : 0;
        }
      if (bd < 8)
        png_set_packing (png);
      maxval = (1u << bd) - 1;
      channels = trns ? 2 : 1;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      type = DAE_PNG_COLOR_GRAY_ALPHA;
      channels = 2;
      break;
    case PNG_COLOR_TYPE_RGB:
      type = DAE_PNG_COLOR_RGB;
      channels = trns ? 4 : 3;
      if (trns)
        png_set_tRNS_to_alpha (png);
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      type = DAE_PNG_COLOR_RGB_ALPHA;
      channels = 4;
      break;
    case PNG_COLOR_TYPE_PALETTE:
      {
        type = DAE_PNG_COLOR_PALETTE;
        png_set_palette_to_rgb (png);
        if (trns)
          png_set_tRNS_to_alpha (png);
        png_colorp pal;
        int n_pal = 0;
        gboolean gray = png_get_PLTE (png, p->info, &pal, &n_pal) != 0;
        for (int i = 0; gray && i < n_pal; i++)
          gray = pal[i].red == pal[i].green && pal[i].red == pal[i].blue;
        p->gray_palette = gray;
        maxval = 255;
        channels = (gray ? 1 : 3) + (trns ? 1 : 0);
        break;
      }
    default:
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "bad PNG: color type %d", ct);
      return FALSE;
    }
  *maxval_out = maxval;
  *channels_out = channels;
  *type_out = type;
  return TRUE;
}

static gboolean
start_guarded (DaePngReader *p, guint64 max_pixels, DaeImageInfo *info,
               DaeImageMeta *meta, GError **error)
{
  png_structp png = p->png;
  if (setjmp (png_jmpbuf (png)))
    return png_failed (&p->err, error);

  png_set_read_fn (png, p, read_cb);
  png_set_sig_bytes (png, 8);
  /* A bad CRC is an error, in any chunk. */
  png_set_crc_action (png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_uint_32 lim = (png_uint_32) MIN (max_pixels, PNG_UINT_31_MAX);
  png_set_user_limits (png, lim, lim);
  png_set_chunk_cache_max (png, CHUNK_CACHE_MAX);
  png_set_chunk_malloc_max (png, CHUNK_MALLOC_MAX);
  /* Skip (reading their CRC) all chunks but IHDR, PLTE, tRNS, IDAT and
   * IEND: we need no other, and libpng 1.6.39 allocates a text chunk's
   * declared length, however large, before reading it. */
  png_set_keep_unknown_chunks (png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
  /* Metadata of fixed size goes through libpng's handlers; chunks of any
   * size are cached as unknown (bounded by CHUNK_MALLOC_MAX) and parsed in
   * get_meta(). */
  static const png_byte fixed[] = "pHYs\0gAMA\0cHRM\0sRGB";
  static const png_byte sized[] = "tEXt\0zTXt\0iTXt\0iCCP\0eXIf";
  png_set_keep_unknown_chunks (png, PNG_HANDLE_CHUNK_AS_DEFAULT, fixed, 4);
  png_set_keep_unknown_chunks (png, PNG_HANDLE_CHUNK_ALWAYS, sized, 5);

  p->stage = "header";
  png_read_info (png, p->info);
  png_uint_32 w, h;
  int bd, ct, il;
  png_get_IHDR (png, p->info, &w, &h, &bd, &ct, &il, NULL, NULL);
  if (!dae__image_check_size (w, h, max_pixels, error))
    return FALSE;
  p->width = w;
  p->height = h;
  p->bit_depth = (guint) bd;

  guint maxval, channels;
  DaePngColorType type;
  if (!set_transforms (p, bd, ct, &maxval, &channels, &type, error))
    return FALSE;
  p->interlaced = il != PNG_INTERLACE_NONE;
  (void) png_set_interlace_handling (png);
  png_read_update_info (png, p->info);

  p->in_channels = png_get_channels (png, p->info);
  p->bps = png_get_bit_depth (png, p->info) == 16 ? 2 : 1;
  p->out_channels = channels;
  p->rowbytes = png_get_rowbytes (png, p->info);
  if (p->rowbytes != (size_t) w * p->in_channels * p->bps
      || p->in_channels < channels - (p->gray_trns ? 1 : 0))
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                           "PNG layout not understood");
      return FALSE;
    }
  if (p->interlaced)
    {
      /* Adam7 rows arrive in seven passes: buffer the image. */
      guint64 bytes = (guint64) p->rowbytes * h;
      if (bytes > INTERLACED_MAX_BYTES
          || (p->image = g_try_malloc ((size_t) bytes)) == NULL)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                       "interlaced PNG of %ux%u needs %" G_GUINT64_FORMAT
                       " MiB of memory (limit %u MiB)", w, h, bytes >> 20,
                       INTERLACED_MAX_BYTES >> 20);
          return FALSE;
        }
    }
  else if ((p->row = dae__io_try_alloc (p->rowbytes, "a row of the image", error)) == NULL)
    return FALSE;

  static const DaeTupleType tuple[] = {
    0, DAE_TUPLE_TYPE_GRAYSCALE, DAE_TUPLE_TYPE_GRAYSCALE_ALPHA,
    DAE_TUPLE_TYPE_RGB, DAE_TUPLE_TYPE_RGB_ALPHA
  };
  memset (info, 0, sizeof *info);
  info->format = DAE_IMAGE_FORMAT_PNG;
  info->width = w;
  info->height = h;
  info->channels = channels;
  info->maxval = maxval;
  info->has_alpha = channels == 2 || channels == 4;
  info->tuple_type = tuple[channels];
  info->png_color_type = type;
  info->png_bit_depth = (guint) bd;
  get_meta (png, p->info, info, meta);
  p->stage = NULL;
  return TRUE;
}

DaePngReader *
dae__png_reader_start (DaeSource *src, guint64 max_pixels, DaeImageInfo *info,
                       DaeImageMeta *meta, GError **error)
{
  DaePngReader *p = g_new0 (DaePngReader, 1);
  p->src = src;
  p->err.prefix = "bad PNG: ";
  p->png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &p->err, error_cb,
                                   warning_cb);
  if (p->png)
    p->info = png_create_info_struct (p->png);
  if (p->info == NULL)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_LIMIT,
                           "cannot create a PNG reader (out of memory)");
      dae__png_reader_free (p);
      return NULL;
    }
  if (!start_guarded (p, max_pixels, info, meta, error))
    {
      dae__png_reader_free (p);
      return NULL;
    }
  return p;
}

static void
convert_row (const DaePngReader *p, const guint8 *in, guint16 *out)
{
  size_t w = p->width, ic = p->in_channels, oc = p->out_channels;
  if (p->gray_palette)
    {
      for (size_t x = 0; x < w; x++)
        {
          out[x * oc] = in[x * ic];
          if (oc == 2)
            out[x * oc + 1] = in[x * ic + 3];
        }
    }
  else if (p->gray_trns)
    {
      guint maxval = p->bps == 2 ? 65535 : (1u << p->bit_depth) - 1;
      for (size_t x = 0; x < w; x++)
        {
          guint v = p->bps == 2 ? (guint) (in[2 * x] << 8 | in[2 * x + 1]) : in[x];
          out[2 * x] = (guint16) v;
          out[2 * x + 1] = (guint16) (v == p->trns_gray ? 0 : maxval);
        }
    }
  else if (p->bps == 2)
    {
      for (size_t i = 0; i < w * ic; i++)
        out[i] = (guint16) (in[2 * i] << 8 | in[2 * i + 1]);
    }
  else
    {
      for (size_t i = 0; i < w * ic; i++)
        out[i] = in[i];
    }
}

static gboolean
read_rows_guarded (DaePngReader *p, guint first_row_arg, guint n_rows,
                   guint16 *samples, png_bytepp rows, GError **error)
{
  /* volatile: with -O3, GCC keeps the argument in a register that a
   * longjmp may clobber (-Wclobbered). */
  volatile guint first_row = first_row_arg;
  if (setjmp (png_jmpbuf (p->png)))
    return png_failed (&p->err, error);
  size_t n = (size_t) p->width * p->out_channels;
  if (p->interlaced)
    {
      if (!p->image_read)
        {
          p->stage = "image data";
          png_read_image (p->png, rows);
          p->stage = NULL;
          p->image_read = TRUE;
        }
      for (guint y = 0; y < n_rows; y++)
        convert_row (p, p->image + (size_t) (first_row + y) * p->rowbytes,
                     samples + y * n);
      return TRUE;
    }
  for (guint y = 0; y < n_rows; y++)
    {
      p->row_now = first_row + y;
      png_read_row (p->png, p->row, NULL);
      convert_row (p, p->row, samples + y * n);
    }
  return TRUE;
}

gboolean
dae__png_read_rows (DaePngReader *p, guint first_row, guint n_rows,
                    guint16 *samples, GError **error)
{
  png_bytepp rows = NULL;
  if (p->interlaced && !p->image_read)
    {
      rows = g_new (png_bytep, p->height);
      for (guint y = 0; y < p->height; y++)
        rows[y] = p->image + (size_t) y * p->rowbytes;
    }
  gboolean ok = read_rows_guarded (p, first_row, n_rows, samples, rows, error);
  g_free (rows);
  return ok;
}

static gboolean
read_end_guarded (DaePngReader *p, GError **error)
{
  if (setjmp (png_jmpbuf (p->png)))
    return png_failed (&p->err, error);
  p->stage = "data after the last row";
  png_read_end (p->png, NULL);
  return TRUE;
}

gboolean
dae__png_read_end (DaePngReader *p, GError **error)
{
  return read_end_guarded (p, error);
}

void
dae__png_reader_free (DaePngReader *p)
{
  if (p == NULL)
    return;
  if (p->png)
    png_destroy_read_struct (&p->png, p->info ? &p->info : NULL, NULL);
  g_free (p->row);
  g_free (p->image);
  g_free (p);
}

/* ---- writing ------------------------------------------------------------ */

struct _DaePngWriter {
  PngError err; /* first: libpng's error pointer */
  png_structp png;
  png_infop info;
  FILE *fp;
  guint width, channels, maxval;
  guint bit_depth;
  guint stored_max;  /* maxval as stored: 2^bit_depth - 1 */
  guint8 *row;
};

static void
write_cb (png_structp png, png_bytep data, size_t length)
{
  DaePngWriter *w = png_get_io_ptr (png);
  if (fwrite (data, 1, length, w->fp) != length)
    {
      int e = errno;
      png_error_set (&w->err, DAE_ERROR_IO, "write error: %s",
                     g_strerror (e ? e : EIO));
      png_error (png, w->err.msg);
    }
}

static void
flush_cb (png_structp png)
{
  DaePngWriter *w = png_get_io_ptr (png);
  fflush (w->fp); /* errors show in ferror() at the end */
}

/* Whether libpng takes @k as a keyword: 1-79 printable Latin-1 bytes, no
 * leading, trailing or double spaces (it stops with an error otherwise). */
static gboolean
keyword_ok (const char *k)
{
  size_t n = strlen (k);
  if (n < 1 || n > 79 || k[0] == ' ' || k[n - 1] == ' ' || strstr (k, "  "))
    return FALSE;
  for (const guchar *c = (const guchar *) k; *c; c++)
    if (*c < 32 || (*c > 126 && *c < 161))
      return FALSE;
  return TRUE;
}

static void
set_texts (png_structp png, png_infop pi, const GPtrArray *texts)
{
  static const int compression[] = {
    PNG_TEXT_COMPRESSION_NONE, PNG_TEXT_COMPRESSION_zTXt,
    PNG_ITXT_COMPRESSION_NONE, PNG_ITXT_COMPRESSION_zTXt
  };
  for (guint i = 0; texts && i < texts->len; i++)
    {
      const DaeImageText *t = texts->pdata[i];
      if (!keyword_ok (t->keyword))
        continue;
      png_text pt = { 0 };
      pt.compression = compression[MIN ((guint) t->kind, 3)];
      /* Latin-1 chunks would garble UTF-8: such a text goes as iTXt. */
      if (t->kind <= DAE_TEXT_COMPRESSED && !g_str_is_ascii (t->text))
        pt.compression = PNG_ITXT_COMPRESSION_NONE;
      pt.key = t->keyword;
      pt.text = t->text;
      pt.lang = t->lang;
      pt.lang_key = t->lang_key;
      png_set_text (png, pi, &pt, 1);
    }
}

/* The chunks before the image data, from @in and its metadata. */
static void
set_meta (png_structp png, png_infop pi, const DaeImageInfo *in)
{
  if (in->res_unit != DAE_RES_UNIT_NONE && in->x_res > 0 && in->y_res > 0)
    {
      double f = in->res_unit == DAE_RES_UNIT_INCH ? 100 / 2.54
                 : in->res_unit == DAE_RES_UNIT_CM ? 100 : 1;
      double x = round (in->x_res * f), y = round (in->y_res * f);
      if (x >= 1 && y >= 1 && x <= PNG_UINT_31_MAX && y <= PNG_UINT_31_MAX)
        png_set_pHYs (png, pi, (png_uint_32) x, (png_uint_32) y,
                      in->res_unit == DAE_RES_UNIT_ASPECT ? PNG_RESOLUTION_UNKNOWN
                                                          : PNG_RESOLUTION_METER);
    }
  const DaeImageMeta *m = in->meta;
  if (m == NULL)
    return;
  if (m->has_gamma && m->gamma <= PNG_UINT_31_MAX)
    png_set_gAMA_fixed (png, pi, (png_fixed_point) m->gamma);
  const guint32 *c = m->chrm;
  if (m->has_chrm)
    png_set_cHRM_fixed (png, pi, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
  if (m->srgb_intent >= 0 && m->srgb_intent <= 3)
    png_set_sRGB (png, pi, m->srgb_intent);
  gsize n;
  const guint8 *d;
  if (m->icc && (d = g_bytes_get_data (m->icc, &n)) && n >= 132 && n <= PNG_UINT_31_MAX)
    {
      const char *name = m->icc_name && keyword_ok (m->icc_name) ? m->icc_name : "ICC profile";
      png_set_iCCP (png, pi, name, 0, d, (png_uint_32) n);
    }
  if (m->exif && (d = g_bytes_get_data (m->exif, &n)) && n > 0 && n <= PNG_UINT_31_MAX)
    png_set_eXIf_1 (png, pi, (png_uint_32) n, (png_bytep) d);
  set_texts (png, pi, m->texts);
}

static gboolean
writer_start_guarded (DaePngWriter *w, const DaeImageInfo *in, GError **error)
{
  if (setjmp (png_jmpbuf (w->png)))
    return png_failed (&w->err, error);
  static const int types[] = {
    0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
    PNG_COLOR_TYPE_RGB_ALPHA
  };
  png_set_write_fn (w->png, w, write_cb, flush_cb);
  png_set_IHDR (w->png, w->info, in->width, in->height, (int) w->bit_depth,
                types[in->channels], PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  /* A profile libpng finds inconsistent (a gray one on RGB) is dropped
   * with a warning, not an error. */
  png_set_benign_errors (w->png, 1);
  /* zlib level 4, not 6: on a denoised 12-MP photo 3x faster for the same
   * size (15.5 MB against 15.7); on pages 2% larger. */
  png_set_compression_level (w->png, 4);
  set_meta (w->png, w->info, in);
  png_write_info (w->png, w->info);
  if (w->bit_depth < 8)
    png_set_packing (w->png);
  return TRUE;
}

DaePngWriter *
dae__png_writer_new (FILE *fp, const DaeImageInfo *in, GError **error)
{
  DaePngWriter *w = g_new0 (DaePngWriter, 1);
  w->fp = fp;
  w->width = in->width;
  w->channels = in->channels;
  w->maxval = in->maxval;
  w->bit_depth = dae__png_bit_depth_for (in->channels, in->maxval);
  w->stored_max = (1u << w->bit_depth) - 1;
  w->err.prefix = "cannot write PNG: ";
  w->png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &w->err, error_cb,
                                    warning_cb);
  if (w->png)
    w->info = png_create_info_struct (w->png);
  if (w->info == NULL)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_LIMIT,
                           "cannot create a PNG writer (out of memory)");
      dae__png_writer_free (w);
      return NULL;
    }
  /* libpng's default limits (10^6) also apply to writing: lift them. */
  png_set_user_limits (w->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  w->row = dae__io_try_alloc ((size_t) in->width * in->channels * (w->bit_depth == 16 ? 2 : 1),
                              "a row of the output image", error);
  if (w->row == NULL || !writer_start_guarded (w, in, error))
    {
      dae__png_writer_free (w);
      return NULL;
    }
  return w;
}

static gboolean
write_rows_guarded (DaePngWriter *w, guint n_rows, const guint16 *samples,
                    GError **error)
{
  if (setjmp (png_jmpbuf (w->png)))
    return png_failed (&w->err, error);
  size_t n = (size_t) w->width * w->channels;
  guint m = w->maxval, sm = w->stored_max;
  for (guint y = 0; y < n_rows; y++)
    {
      const guint16 *in = samples + y * n;
      for (size_t i = 0; i < n; i++)
        {
          /* Other maxvals are rescaled to the stored depth, rounding. */
          guint v = m == sm ? in[i] : (guint) (((guint64) in[i] * sm + m / 2) / m);
          if (w->bit_depth == 16)
            {
              w->row[2 * i] = (guint8) (v >> 8);
              w->row[2 * i + 1] = (guint8) v;
            }
          else
            w->row[i] = (guint8) v;
        }
      png_write_row (w->png, w->row);
    }
  return TRUE;
}

gboolean
dae__png_write_rows (DaePngWriter *w, guint n_rows, const guint16 *samples,
                     GError **error)
{
  return write_rows_guarded (w, n_rows, samples, error);
}

static gboolean
finish_guarded (DaePngWriter *w, GError **error)
{
  if (setjmp (png_jmpbuf (w->png)))
    return png_failed (&w->err, error);
  png_write_end (w->png, NULL);
  return TRUE;
}

gboolean
dae__png_writer_finish (DaePngWriter *w, GError **error)
{
  return finish_guarded (w, error);
}

void
dae__png_writer_free (DaePngWriter *w)
{
  if (w == NULL)
    return;
  if (w->png)
    png_destroy_write_struct (&w->png, w->info ? &w->info : NULL);
  g_free (w->row);
  g_free (w);
}
