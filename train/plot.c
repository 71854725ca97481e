/* plot.c: the loss curve and the preview grid of dae-train, rasterized here
 * (a 5x8 bitmap font, anti-aliased polylines) and written as PNG through
 * core/io's writer. */
#include "plot.h"

#include "dae.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const guint8 dae_plot_train_rgb[3] = { 31, 119, 180 };      /* matplotlib C0 */
const guint8 dae_plot_validation_rgb[3] = { 255, 127, 14 }; /* matplotlib C1 */

static const guint8 black[3] = { 0, 0, 0 };
static const guint8 legend_border[3] = { 204, 204, 204 };

#define MAX_SIDE 16384u

/* ---- Font --------------------------------------------------------------- */

#define GLYPH_H 8  /* rows 0-6 above the baseline, row 7 for descenders */
#define ADVANCE 6  /* 5 pixels and a space */
#define CAP_H 7

/* Printable ASCII 32..126, bit 4 = leftmost pixel; drawn in
 * tools/make-plot-font, which prints this table. */
static const guint8 font[95][GLYPH_H] = {
/* FONT BEGIN */
  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /*   */
  { 0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04, 0x00 }, /* ! */
  { 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* " */
  { 0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a, 0x00 }, /* # */
  { 0x04, 0x0f, 0x14, 0x0e, 0x05, 0x1e, 0x04, 0x00 }, /* $ */
  { 0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03, 0x00 }, /* % */
  { 0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d, 0x00 }, /* & */
  { 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* ' */
  { 0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02, 0x00 }, /* ( */
  { 0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08, 0x00 }, /* ) */
  { 0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00, 0x00 }, /* star */
  { 0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00, 0x00 }, /* + */
  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08 }, /* , */
  { 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00 }, /* - */
  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c, 0x00 }, /* . */
  { 0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00, 0x00 }, /* slash */
  { 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e, 0x00 }, /* 0 */
  { 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* 1 */
  { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f, 0x00 }, /* 2 */
  { 0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e, 0x00 }, /* 3 */
  { 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02, 0x00 }, /* 4 */
  { 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e, 0x00 }, /* 5 */
  { 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e, 0x00 }, /* 6 */
  { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08, 0x00 }, /* 7 */
  { 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e, 0x00 }, /* 8 */
  { 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c, 0x00 }, /* 9 */
  { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00, 0x00 }, /* : */
  { 0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08, 0x00 }, /* ; */
  { 0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02, 0x00 }, /* < */
  { 0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00, 0x00 }, /* = */
  { 0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08, 0x00 }, /* > */
  { 0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00 }, /* ? */
  { 0x0e, 0x11, 0x01, 0x0d, 0x15, 0x15, 0x0e, 0x00 }, /* @ */
  { 0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00 }, /* A */
  { 0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e, 0x00 }, /* B */
  { 0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e, 0x00 }, /* C */
  { 0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c, 0x00 }, /* D */
  { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f, 0x00 }, /* E */
  { 0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10, 0x00 }, /* F */
  { 0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f, 0x00 }, /* G */
  { 0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11, 0x00 }, /* H */
  { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* I */
  { 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c, 0x00 }, /* J */
  { 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11, 0x00 }, /* K */
  { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f, 0x00 }, /* L */
  { 0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11, 0x00 }, /* M */
  { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x00 }, /* N */
  { 0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* O */
  { 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10, 0x00 }, /* P */
  { 0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d, 0x00 }, /* Q */
  { 0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11, 0x00 }, /* R */
  { 0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e, 0x00 }, /* S */
  { 0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00 }, /* T */
  { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* U */
  { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00 }, /* V */
  { 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a, 0x00 }, /* W */
  { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11, 0x00 }, /* X */
  { 0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x00 }, /* Y */
  { 0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f, 0x00 }, /* Z */
  { 0x0e, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0e, 0x00 }, /* [ */
  { 0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00, 0x00 }, /* backslash */
  { 0x0e, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0e, 0x00 }, /* ] */
  { 0x04, 0x0a, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* ^ */
  { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f }, /* _ */
  { 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, /* ` */
  { 0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f, 0x00 }, /* a */
  { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e, 0x00 }, /* b */
  { 0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e, 0x00 }, /* c */
  { 0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f, 0x00 }, /* d */
  { 0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e, 0x00 }, /* e */
  { 0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08, 0x00 }, /* f */
  { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e }, /* g */
  { 0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00 }, /* h */
  { 0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* i */
  { 0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x12, 0x0c }, /* j */
  { 0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12, 0x00 }, /* k */
  { 0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e, 0x00 }, /* l */
  { 0x00, 0x00, 0x1a, 0x15, 0x15, 0x15, 0x15, 0x00 }, /* m */
  { 0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11, 0x00 }, /* n */
  { 0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e, 0x00 }, /* o */
  { 0x00, 0x00, 0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10 }, /* p */
  { 0x00, 0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x01 }, /* q */
  { 0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10, 0x00 }, /* r */
  { 0x00, 0x00, 0x0f, 0x10, 0x0e, 0x01, 0x1e, 0x00 }, /* s */
  { 0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06, 0x00 }, /* t */
  { 0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d, 0x00 }, /* u */
  { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04, 0x00 }, /* v */
  { 0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a, 0x00 }, /* w */
  { 0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x00 }, /* x */
  { 0x00, 0x00, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e }, /* y */
  { 0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f, 0x00 }, /* z */
  { 0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02, 0x00 }, /* { */
  { 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x00 }, /* | */
  { 0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08, 0x00 }, /* } */
  { 0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00, 0x00 }, /* ~ */
/* FONT END */
};

/* ---- Canvas ------------------------------------------------------------- */

typedef struct {
  guint w, h, channels; /* 1 (gray) or 3 (RGB) */
  guint8 *px;
} Canvas;

static void
canvas_init (Canvas *c, guint w, guint h, guint channels)
{
  c->w = w;
  c->h = h;
  c->channels = channels;
  c->px = g_malloc ((size_t) w * h * channels);
  memset (c->px, 255, (size_t) w * h * channels);
}

/* @col has c->channels bytes. */
static void
fill_rect (Canvas *c, int x, int y, int w, int h, const guint8 *col)
{
  int x0 = MAX (x, 0), y0 = MAX (y, 0);
  int x1 = MIN (x + w, (int) c->w), y1 = MIN (y + h, (int) c->h);
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++)
      memcpy (c->px + ((size_t) j * c->w + i) * c->channels, col, c->channels);
}

static guint
text_width (const char *s, guint scale)
{
  size_t n = strlen (s);
  return n ? (guint) (n * ADVANCE - 1) * scale : 0;
}

/* Draws @s with its top-left corner at (x, y), or, if @vertical, turned a
 * quarter counter-clockwise to read upwards (top-left corner still at
 * (x, y), 8 * scale wide).  Characters outside ASCII show as '?'. */
static void
draw_text (Canvas *c, int x, int y, const char *s, guint scale,
           const guint8 *col, gboolean vertical)
{
  int len = (int) text_width (s, scale), sc = (int) scale;
  for (int i = 0; s[i]; i++)
    {
      unsigned char ch = (unsigned char) s[i];
      const guint8 *g = font[(ch >= 32 && ch < 127 ? ch : '?') - 32];
      for (int r = 0; r < GLYPH_H; r++)
        for (int k = 0; k < 5; k++)
          {
            if (!((g[r] >> (4 - k)) & 1))
              continue;
            int u = (i * ADVANCE + k) * sc, v = r * sc;
            if (vertical)
              fill_rect (c, x + v, y + len - u - sc, sc, sc, col);
            else
              fill_rect (c, x + u, y + v, sc, sc, col);
          }
    }
}

/* Anti-aliased strokes are drawn as coverage (0..1 per pixel, the maximum
 * over the pieces, so joints do not darken) and composited once. */
static void
cover_segment (float *cov, guint stride, const DaePlotRect *clip, double x0,
               double y0, double x1, double y1, double half_width)
{
  double r = half_width + 1.0;
  int bx0 = MAX ((int) floor (MIN (x0, x1) - r), (int) clip->x);
  int by0 = MAX ((int) floor (MIN (y0, y1) - r), (int) clip->y);
  int bx1 = MIN ((int) ceil (MAX (x0, x1) + r), (int) (clip->x + clip->width));
  int by1 = MIN ((int) ceil (MAX (y0, y1) + r), (int) (clip->y + clip->height));
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int py = by0; py < by1; py++)
    for (int px = bx0; px < bx1; px++)
      {
        double cx = px + 0.5, cy = py + 0.5;
        double t = len2 > 0 ? ((cx - x0) * dx + (cy - y0) * dy) / len2 : 0.0;
        t = CLAMP (t, 0.0, 1.0);
        double d = hypot (x0 + t * dx - cx, y0 + t * dy - cy);
        float a = (float) CLAMP (half_width + 0.5 - d, 0.0, 1.0);
        float *p = cov + (size_t) py * stride + px;
        if (a > *p)
          *p = a;
      }
}

static void
composite (Canvas *c, const float *cov, const guint8 rgb[3])
{
  for (size_t i = 0; i < (size_t) c->w * c->h; i++)
    if (cov[i] > 0)
      for (guint k = 0; k < 3; k++)
        {
          guint8 *p = c->px + i * 3 + k;
          *p = (guint8) lrint (*p + (rgb[k] - *p) * cov[i]);
        }
}

/* ---- PNG output --------------------------------------------------------- */

static gboolean
io_error (GError **error, const char *path, int err)
{
  g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s: %s", path,
               g_strerror (err));
  return FALSE;
}

static gboolean
save_atomically (const char *path, const char *data, size_t size,
                 GError **error)
{
  char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int err = errno;
      g_free (tmp);
      return io_error (error, path, err);
    }
  int err = 0;
  for (size_t done = 0; done < size && !err;)
    {
      ssize_t k = write (fd, data + done, size - done);
      if (k > 0)
        done += (size_t) k;
      else if (k < 0 && errno != EINTR)
        err = errno;
    }
  if (close (fd) != 0 && !err)
    err = errno;
  if (!err && rename (tmp, path) != 0)
    err = errno;
  if (err)
    g_unlink (tmp);
  g_free (tmp);
  return err ? io_error (error, path, err) : TRUE;
}

static gboolean
write_png (const char *path, const Canvas *c, GError **error)
{
  DaeImageInfo info = { 0 };
  info.width = c->w;
  info.height = c->h;
  info.channels = c->channels;
  info.maxval = 255;
  if (!dae_image_info_set_format (&info, DAE_IMAGE_FORMAT_PNG, error))
    return FALSE;

  /* Encoded in memory, then written to a temporary file renamed over
   * @path: no half-written picture is ever left there. */
  char *buf = NULL;
  size_t size = 0;
  FILE *fp = open_memstream (&buf, &size);
  if (fp == NULL)
    return io_error (error, path, errno);
  DaeImageWriter *w = dae_image_writer_new (fp, &info, error);
  gboolean ok = w != NULL;
  guint16 *row = g_new (guint16, (size_t) c->w * c->channels);
  for (guint y = 0; ok && y < c->h; y++)
    {
      const guint8 *src = c->px + (size_t) y * c->w * c->channels;
      for (size_t i = 0; i < (size_t) c->w * c->channels; i++)
        row[i] = src[i];
      ok = dae_image_writer_write_rows (w, 1, row, error);
    }
  ok = ok && dae_image_writer_finish (w, error);
  dae_image_writer_free (w);
  g_free (row);
  if (fclose (fp) != 0 && ok)
    ok = io_error (error, path, errno);
  ok = ok && save_atomically (path, buf, size, error);
  free (buf);
  return ok;
}

/* ---- Loss curve --------------------------------------------------------- */

#define TEXT_SCALE 2
#define MARKER_MAX_EPOCHS 40 /* beyond this, markers would merge */

void
dae_plot_loss_area (DaePlotRect *area)
{
  area->x = 110;
  area->y = 50;
  area->width = DAE_PLOT_LOSS_WIDTH - area->x - 24;
  area->height = DAE_PLOT_LOSS_HEIGHT - area->y - 64;
}

/* A round tick step (1, 2 or 5 times a power of ten) giving about @target
 * ticks over @span. */
static double
nice_step (double span, double target)
{
  double raw = span / target;
  double mag = pow (10.0, floor (log10 (raw)));
  double norm = raw / mag;
  return mag * (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10);
}

static void
format_tick (char *buf, size_t size, double v, double step)
{
  if (fabs (v) < step * 1e-6)
    v = 0.0; /* no "-0.00" */
  int decimals = (int) MAX (0.0, -floor (log10 (step) + 1e-9));
  if (decimals > 8 || fabs (v) >= 1e7)
    g_snprintf (buf, size, "%.3g", v);
  else
    g_snprintf (buf, size, "%.*f", decimals, v);
}

typedef struct {
  double lo, hi;   /* the data range shown */
  double step;     /* between ticks */
} Axis;

static void
axis_for_losses (Axis *ax, const double *a, const double *b, guint n)
{
  double lo = INFINITY, hi = -INFINITY;
  for (guint i = 0; i < n; i++)
    for (guint k = 0; k < 2; k++)
      {
        const double *v = k ? b : a;
        if (v && isfinite (v[i]))
          {
            lo = MIN (lo, v[i]);
            hi = MAX (hi, v[i]);
          }
      }
  if (!(lo <= hi))
    lo = 0.0, hi = 1.0; /* nothing finite to show */
  if (hi - lo <= 1e-9 * MAX (1.0, fabs (hi)))
    {
      double pad = MAX (fabs (lo) * 0.05, 0.05); /* a flat line mid-plot */
      lo -= pad;
      hi += pad;
    }
  double margin = (hi - lo) * 0.05; /* matplotlib's default margins */
  ax->lo = lo - margin;
  ax->hi = hi + margin;
  ax->step = nice_step (ax->hi - ax->lo, 6);
}

static void
axis_for_epochs (Axis *ax, guint n)
{
  double lo = 1.0, hi = n;
  if (hi - lo < 2.0)
    lo -= 1.0, hi += 1.0;
  double margin = (hi - lo) * 0.05;
  ax->lo = lo - margin;
  ax->hi = hi + margin;
  ax->step = MAX (1.0, round (nice_step (ax->hi - ax->lo, 8)));
}

typedef struct {
  DaePlotRect area;
  Axis x, y;
} Frame;

static double
map_x (const Frame *f, double epoch)
{
  return f->area.x + (epoch - f->x.lo) / (f->x.hi - f->x.lo) * f->area.width;
}

static double
map_y (const Frame *f, double loss)
{
  return f->area.y + f->area.height
         - (loss - f->y.lo) / (f->y.hi - f->y.lo) * f->area.height;
}

static void
draw_axes (Canvas *c, const Frame *f)
{
  const DaePlotRect *a = &f->area;
  int left = (int) a->x - 1, right = (int) (a->x + a->width);
  int top = (int) a->y - 1, bottom = (int) (a->y + a->height);
  fill_rect (c, left, top, right - left + 1, 1, black);
  fill_rect (c, left, bottom, right - left + 1, 1, black);
  fill_rect (c, left, top, 1, bottom - top + 1, black);
  fill_rect (c, right, top, 1, bottom - top + 1, black);

  char label[64];
  for (double t = ceil (f->x.lo / f->x.step) * f->x.step; t <= f->x.hi;
       t += f->x.step)
    {
      int px = (int) floor (map_x (f, t));
      fill_rect (c, px, bottom + 1, 1, 5, black);
      format_tick (label, sizeof label, t, f->x.step);
      draw_text (c, px - (int) text_width (label, TEXT_SCALE) / 2, bottom + 10,
                 label, TEXT_SCALE, black, FALSE);
    }
  /* Counting ticks by index: adding steps would drift off round values. */
  double first = ceil (f->y.lo / f->y.step);
  for (int k = 0; (first + k) * f->y.step <= f->y.hi; k++)
    {
      double t = (first + k) * f->y.step;
      int py = (int) floor (map_y (f, t));
      fill_rect (c, left - 5, py, 5, 1, black);
      format_tick (label, sizeof label, t, f->y.step);
      draw_text (c, left - 10 - (int) text_width (label, TEXT_SCALE),
                 py - CAP_H * TEXT_SCALE / 2, label, TEXT_SCALE, black, FALSE);
    }
  const char *xl = "epoch", *yl = "loss";
  draw_text (c, a->x + (a->width - text_width (xl, TEXT_SCALE)) / 2,
             bottom + 36, xl, TEXT_SCALE, black, FALSE);
  draw_text (c, 12, a->y + (a->height - text_width (yl, TEXT_SCALE)) / 2, yl,
             TEXT_SCALE, black, TRUE);
}

static void
cover_series (float *cov, const Frame *f, const double *v, guint n)
{
  const double half_width = 1.0; /* a 2-pixel line, matplotlib's 1.5 pt */
  for (guint i = 0; i < n; i++)
    {
      if (!isfinite (v[i]))
        continue;
      double x = map_x (f, i + 1), y = map_y (f, v[i]);
      if (i + 1 < n && isfinite (v[i + 1]))
        cover_segment (cov, DAE_PLOT_LOSS_WIDTH, &f->area, x, y,
                       map_x (f, i + 2), map_y (f, v[i + 1]), half_width);
      if (n <= MARKER_MAX_EPOCHS)
        cover_segment (cov, DAE_PLOT_LOSS_WIDTH, &f->area, x, y, x, y, 3.0);
    }
}

static double
coverage_in (const float *cov, int x, int y, int w, int h)
{
  double s = 0;
  for (int j = y; j < y + h; j++)
    for (int i = x; i < x + w; i++)
      s += cov[(size_t) j * DAE_PLOT_LOSS_WIDTH + i];
  return s;
}

/* The legend goes in the corner of the plot area the curves cross least,
 * upper right first on ties (matplotlib's loc="best"). */
static void
draw_legend (Canvas *c, const Frame *f, const float *cov_train,
             const float *cov_val, gboolean has_val)
{
  const char *names[2] = { "train", "validation" };
  const guint8 *cols[2] = { dae_plot_train_rgb, dae_plot_validation_rgb };
  guint n = has_val ? 2 : 1;
  const int pad = 10, sample = 30, row_h = 22;
  int w = pad + sample + 8 + (int) text_width (names[n - 1], TEXT_SCALE) + pad;
  int h = pad + n * row_h;
  const DaePlotRect *a = &f->area;
  const int inset = 10;
  int xs[4] = { a->x + a->width - inset - w, a->x + inset, a->x + inset,
                a->x + a->width - inset - w };
  int ys[4] = { a->y + inset, a->y + inset, a->y + a->height - inset - h,
                a->y + a->height - inset - h };
  guint best = 0;
  double best_cov = INFINITY;
  for (guint k = 0; k < 4; k++)
    {
      double s = coverage_in (cov_train, xs[k], ys[k], w, h)
                 + (has_val ? coverage_in (cov_val, xs[k], ys[k], w, h) : 0);
      if (s < best_cov)
        best_cov = s, best = k;
    }
  int x = xs[best], y = ys[best];
  static const guint8 white[3] = { 255, 255, 255 };
  fill_rect (c, x, y, w, h, legend_border);
  fill_rect (c, x + 1, y + 1, w - 2, h - 2, white);
  for (guint i = 0; i < n; i++)
    {
      int cy = y + pad / 2 + (int) i * row_h + row_h / 2;
      fill_rect (c, x + pad, cy - 1, sample, 2, cols[i]);
      draw_text (c, x + pad + sample + 8, cy - CAP_H * TEXT_SCALE / 2,
                 names[i], TEXT_SCALE, black, FALSE);
    }
}

gboolean
dae_plot_loss_curve (const char *path, const double *train_loss,
                     const double *val_loss, guint n_epochs, const char *title,
                     GError **error)
{
  g_return_val_if_fail (path != NULL && train_loss != NULL, FALSE);
  if (n_epochs == 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "no epochs to plot");
      return FALSE;
    }
  Frame f;
  dae_plot_loss_area (&f.area);
  axis_for_epochs (&f.x, n_epochs);
  axis_for_losses (&f.y, train_loss, val_loss, n_epochs);

  Canvas c;
  canvas_init (&c, DAE_PLOT_LOSS_WIDTH, DAE_PLOT_LOSS_HEIGHT, 3);
  size_t npx = (size_t) c.w * c.h;
  float *cov_train = g_new0 (float, npx);
  float *cov_val = g_new0 (float, npx);
  cover_series (cov_train, &f, train_loss, n_epochs);
  if (val_loss)
    cover_series (cov_val, &f, val_loss, n_epochs);
  composite (&c, cov_train, dae_plot_train_rgb);
  composite (&c, cov_val, dae_plot_validation_rgb);
  draw_axes (&c, &f);
  draw_legend (&c, &f, cov_train, cov_val, val_loss != NULL);
  if (title && *title)
    {
      int tx = f.area.x + ((int) f.area.width - (int) text_width (title, TEXT_SCALE)) / 2;
      tx = MAX (tx, 4);
      /* Drawn twice a pixel apart: bold. */
      draw_text (&c, tx, 16, title, TEXT_SCALE, black, FALSE);
      draw_text (&c, tx + 1, 16, title, TEXT_SCALE, black, FALSE);
    }
  g_free (cov_train);
  g_free (cov_val);
  gboolean ok = write_png (path, &c, error);
  g_free (c.px);
  return ok;
}

/* ---- Preview grid ------------------------------------------------------- */

gboolean
dae_plot_preview (const char *path, const float *noisy, const float *denoised,
                  const float *clean, guint n, guint h, guint w,
                  GError **error)
{
  g_return_val_if_fail (path && noisy && denoised && clean, FALSE);
  if (n == 0 || h == 0 || w == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "nothing to preview (%u images of %ux%u)", n, w, h);
      return FALSE;
    }
  const char *labels[3] = { "noisy", "denoised", "clean" };
  const float *rows[3] = { noisy, denoised, clean };
  const guint margin = 10, gap = 4;
  guint zoom = MAX (h, w) <= 64 ? 3 : MAX (h, w) <= 128 ? 2 : 1;
  guint label_w = text_width ("denoised", TEXT_SCALE) + 2 * margin;
  guint64 width = label_w + (guint64) n * w * zoom + (guint64) (n - 1) * gap + margin;
  guint64 height = 2 * margin + 3 * (guint64) h * zoom + 2 * gap;
  if (width > MAX_SIDE || height > MAX_SIDE)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "a preview of %u images of %ux%u would be %" G_GUINT64_FORMAT
                   "x%" G_GUINT64_FORMAT " pixels, more than %u a side",
                   n, w, h, width, height, MAX_SIDE);
      return FALSE;
    }

  Canvas c;
  canvas_init (&c, (guint) width, (guint) height, 1);
  for (guint r = 0; r < 3; r++)
    {
      int y0 = margin + r * (h * zoom + gap);
      int ty = y0 + ((int) (h * zoom) - CAP_H * TEXT_SCALE) / 2;
      draw_text (&c, margin, MAX (ty, 0), labels[r], TEXT_SCALE, black, FALSE);
      for (guint i = 0; i < n; i++)
        {
          const float *img = rows[r] + (size_t) i * h * w;
          int x0 = label_w + i * (w * zoom + gap);
          for (guint y = 0; y < h; y++)
            for (guint x = 0; x < w; x++)
              {
                float v = img[(size_t) y * w + x];
                v = isnan (v) ? 0.0f : CLAMP (v, 0.0f, 1.0f);
                guint8 g = (guint8) lrintf (v * 255.0f);
                fill_rect (&c, x0 + x * zoom, y0 + y * zoom, zoom, zoom, &g);
              }
        }
    }
  gboolean ok = write_png (path, &c, error);
  g_free (c.px);
  return ok;
}
