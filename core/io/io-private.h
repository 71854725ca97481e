/* io-private.h: internals shared by the image codecs of core/io. */
#ifndef DAE_IO_PRIVATE_H
#define DAE_IO_PRIVATE_H

#include "dae-private.h"

#include <errno.h>
#include <stdio.h>

G_BEGIN_DECLS

/* A byte source: a stdio stream (read exactly as far as needed, so that
 * nothing is lost between images) or memory. */
typedef struct {
  FILE *fp;          /* NULL for memory */
  const guint8 *mem;
  size_t size, pos;
  int io_errno;      /* set after a read error: not the same as EOF */
} DaeSource;

int dae__source_getc_slow (DaeSource *s);

/* Returns the next byte, or EOF (-1) at the end or on a read error. */
static inline int
dae__source_getc (DaeSource *s)
{
  if (s->fp == NULL)
    return s->pos < s->size ? s->mem[s->pos++] : EOF;
  int c = getc_unlocked (s->fp);
  return G_LIKELY (c != EOF) ? c : dae__source_getc_slow (s);
}

/* Reads up to @n bytes; fewer only at the end or on a read error. */
size_t dae__source_read (DaeSource *s, void *buf, size_t n);

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
                                     DaeImageInfo *info, GError **error);
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

G_END_DECLS

#endif
