/* io-private.h: internals shared by the image codecs of core/io. */
#ifndef DAE_IO_PRIVATE_H
#define DAE_IO_PRIVATE_H

#include "dae-private.h"

#include <errno.h>
#include <stdio.h>

G_BEGIN_DECLS

/* A byte source: a stdio stream (read exactly as far as needed, so that
 * nothing is lost between images) or memory.  Bytes read ahead (a magic
 * number, the rest of a JPEG decoder's buffer) can be given back. */
typedef struct {
  FILE *fp;          /* NULL for memory */
  const guint8 *mem;
  size_t size, pos;
  int io_errno;      /* set after a read error: not the same as EOF */
  guint8 *back;      /* stream only: bytes given back, read first */
  size_t back_len, back_pos;
} DaeSource;

int dae__source_getc_slow (DaeSource *s);

/* Returns the next byte, or EOF (-1) at the end or on a read error. */
static inline int
dae__source_getc (DaeSource *s)
{
  if (s->fp == NULL)
    return s->pos < s->size ? s->mem[s->pos++] : EOF;
  if (G_UNLIKELY (s->back_pos < s->back_len))
    return s->back[s->back_pos++];
  int c = getc_unlocked (s->fp);
  return G_LIKELY (c != EOF) ? c : dae__source_getc_slow (s);
}

/* Reads up to @n bytes; fewer only at the end or on a read error. */
size_t dae__source_read (DaeSource *s, void *buf, size_t n);

/* Gives back the last @n bytes read, @buf, to be read again. */
void dae__source_unread (DaeSource *s, const guint8 *buf, size_t n);

/* A short read's error: I/O (with errno) or truncation (naming @what). */
void dae__source_set_short_error (DaeSource *s, GError **error,
                                  const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* isspace() in the C locale, as netpbm has it (g_ascii_isspace lacks \v). */
static inline gboolean
dae__is_space (int c)
{
  return c == ' ' || (c >= '\t' && c <= '\r');
}

struct _DaeImageReader {
  DaeSource src;
  FILE *owned_fp;
  guint64 max_pixels;
  guint index;          /* 1-based index of the current image */
  DaeImageInfo info;
  guint row;            /* rows of the current image already read */
  gboolean in_image;    /* a header was read and rows may remain */
  gboolean failed;
  struct _DaePngReader *png;
  struct _DaeJpegReader *jpeg;
  struct _DaeTiffReader *tiff; /* a TIFF ends the stream: it is read by seeking */
  gboolean after_jpeg;  /* trailing bytes after a JPEG are ignored, not junk */
  DaeImageMeta meta;    /* the current image's metadata */
  guint8 *scratch;      /* a raw row (PNM); grows with the width */
  size_t scratch_size;
};

/* Checks width x height against the limit before anything is allocated. */
gboolean dae__image_check_size (guint64 width, guint64 height,
                                guint64 max_pixels, GError **error);

/* Allocates @size bytes for @what, or says it does not fit (DAE_ERROR_LIMIT):
 * row sizes come from headers, so an abort on a short machine is not an
 * option. */
gpointer dae__io_try_alloc (size_t size, const char *what, GError **error);

/* Returns a buffer of at least @size bytes owned by @r, or NULL and @error. */
guint8 *dae__reader_scratch (DaeImageReader *r, size_t size, GError **error);

/* pnm.c: the magic "P<digit>" has been consumed. */
gboolean dae__pnm_read_header (DaeImageReader *r, int digit,
                               DaeImageInfo *info, GError **error);
gboolean dae__pnm_read_rows (DaeImageReader *r, guint n_rows,
                             guint16 *samples, GError **error);
gboolean dae__pnm_write_header (FILE *fp, const DaeImageInfo *info,
                                GError **error);
/* @scratch: room for a row's bytes, see dae__pnm_row_bytes_max(). */
gboolean dae__pnm_write_rows (FILE *fp, const DaeImageInfo *info,
                              guint n_rows, const guint16 *samples,
                              guint8 *scratch, GError **error);
size_t dae__pnm_row_bytes_max (const DaeImageInfo *info);

/* png.c: the 8-byte signature has been consumed and checked. */
typedef struct _DaePngReader DaePngReader;
DaePngReader *dae__png_reader_start (DaeSource *src, guint64 max_pixels,
                                     DaeImageInfo *info, DaeImageMeta *meta,
                                     GError **error);
gboolean dae__png_read_rows (DaePngReader *p, guint first_row, guint n_rows,
                             guint16 *samples, GError **error);
/* Reads the chunks after the image data, up to and including IEND. */
gboolean dae__png_read_end (DaePngReader *p, GError **error);
void dae__png_reader_free (DaePngReader *p);

typedef struct _DaePngWriter DaePngWriter;
DaePngWriter *dae__png_writer_new (FILE *fp, const DaeImageInfo *info,
                                   GError **error);
gboolean dae__png_write_rows (DaePngWriter *w, guint n_rows,
                              const guint16 *samples, GError **error);
gboolean dae__png_writer_finish (DaePngWriter *w, GError **error);
void dae__png_writer_free (DaePngWriter *w);
/* The bit depth PNG stores a maxval at, for @channels channels. */
guint dae__png_bit_depth_for (guint channels, guint maxval);

extern const guint8 dae__png_signature[8];

/* jpeg.c: the source is at the SOI marker (nothing consumed). */
typedef struct _DaeJpegReader DaeJpegReader;
DaeJpegReader *dae__jpeg_reader_start (DaeSource *src, guint64 max_pixels,
                                       DaeImageInfo *info, DaeImageMeta *meta,
                                       GError **error);
gboolean dae__jpeg_read_rows (DaeJpegReader *j, guint n_rows,
                              guint16 *samples, GError **error);
/* After the last row: reads up to EOI and gives back what was read ahead. */
gboolean dae__jpeg_read_end (DaeJpegReader *j, GError **error);
void dae__jpeg_reader_free (DaeJpegReader *j);

typedef struct _DaeJpegWriter DaeJpegWriter;
DaeJpegWriter *dae__jpeg_writer_new (FILE *fp, const DaeImageInfo *info,
                                     GError **error);
gboolean dae__jpeg_write_rows (DaeJpegWriter *w, guint n_rows,
                               const guint16 *samples, GError **error);
gboolean dae__jpeg_writer_finish (DaeJpegWriter *w, GError **error);
void dae__jpeg_writer_free (DaeJpegWriter *w);

/* tiff.c: the source is at the header (nothing consumed).  Each call of
 * dae__tiff_reader_next() moves to the next page: FALSE with @error unset
 * after the last. */
typedef struct _DaeTiffReader DaeTiffReader;
DaeTiffReader *dae__tiff_reader_open (DaeSource *src, GError **error);
gboolean dae__tiff_reader_next (DaeTiffReader *t, guint64 max_pixels,
                                DaeImageInfo *info, DaeImageMeta *meta,
                                GError **error);
gboolean dae__tiff_read_rows (DaeTiffReader *t, guint n_rows,
                              guint16 *samples, GError **error);
void dae__tiff_reader_free (DaeTiffReader *t);

/* A TIFF writer holds every page until dae__tiff_writer_close(), which
 * copies the file to the stream: TIFF directories are linked by seeking. */
typedef struct _DaeTiffWriter DaeTiffWriter;
DaeTiffWriter *dae__tiff_writer_new (FILE *fp, GError **error);
gboolean dae__tiff_writer_start_page (DaeTiffWriter *w,
                                      const DaeImageInfo *info,
                                      GError **error);
gboolean dae__tiff_write_rows (DaeTiffWriter *w, guint n_rows,
                               const guint16 *samples, GError **error);
gboolean dae__tiff_writer_end_page (DaeTiffWriter *w, GError **error);
gboolean dae__tiff_writer_close (DaeTiffWriter *w, GError **error);
void dae__tiff_writer_free (DaeTiffWriter *w);

/* meta: clearing and copying metadata (image.c). */
void dae__image_meta_clear (DaeImageMeta *meta);
void dae__image_meta_add_text (DaeImageMeta *meta, const char *keyword,
                               const char *text, DaeTextKind kind,
                               const char *lang, const char *lang_key);
/* The resolution in dots per inch, if whole numbers there. */
gboolean dae__res_per_inch (const DaeImageInfo *info, double *x, double *y);
/* Scales a sample 0..@maxval to 0..@to, rounding. */
static inline guint
dae__rescale (guint v, guint maxval, guint to)
{
  return maxval == to ? v : (guint) (((guint64) v * to + maxval / 2) / maxval);
}

G_END_DECLS

#endif
