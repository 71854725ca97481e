/* plot.c: the loss curve and the preview grid of dae-train, drawn with
 * cairo and written as PNG atomically (a temporary file renamed). */
#include "plot.h"

#include "dae.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

const guint8 dae_plot_train_rgb[3] = { 31, 119, 180 };      /* matplotlib C0 */
const guint8 dae_plot_validation_rgb[3] = { 255, 127, 14 }; /* matplotlib C1 */

static const guint8 black[3] = { 0, 0, 0 };
static const guint8 legend_border[3] = { 204, 204, 204 };

#define MAX_SIDE 16384u
#define FONT_PX 15.0
#define MARKER_MAX_EPOCHS 40 /* beyond this, markers would merge */

/* ---- Drawing ------------------------------------------------------------ */

static void
set_rgb (cairo_t *cr, const guint8 rgb[3])
{
  cairo_set_source_rgb (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

/* A white RGB picture; text in gray anti-aliasing (no colour fringes, so
 * only the curves and the legend are coloured). */
static cairo_t *
canvas_new (guint w, guint h)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) w, (int) h);
  cairo_t *cr = cairo_create (s);
  cairo_surface_destroy (s);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_font_options_t *fo = cairo_font_options_create ();
  cairo_font_options_set_antialias (fo, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options (cr, fo);
  cairo_font_options_destroy (fo);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, FONT_PX);
  return cr;
}

/* Text in black, placed by a point: @ax is the fraction of its width left
 * of (x, y) (0 left-aligned, 0.5 centred, 1 right-aligned), and y is its
 * vertical middle; turned by @angle (radians) around that point. */
static void
show_text (cairo_t *cr, double x, double y, const char *s, double ax, double angle)
{
  g_autofree char *utf8 = g_utf8_make_valid (s, -1); /* file names may not be */
  cairo_text_extents_t te;
  cairo_text_extents (cr, utf8, &te);
  cairo_save (cr);
  set_rgb (cr, black);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, angle);
  cairo_move_to (cr, -te.x_advance * ax, -(te.y_bearing + te.height / 2));
  cairo_show_text (cr, utf8);
  cairo_restore (cr);
}

/* ---- PNG output --------------------------------------------------------- */

static gboolean
io_error (GError **error, const char *path, int err)
{
  g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s: %s", path, g_strerror (err));
  return FALSE;
}

static gboolean
save_atomically (const char *path, const guint8 *data, size_t size, GError **error)
{
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    return io_error (error, path, errno);
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
  return err ? io_error (error, path, err) : TRUE;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Encodes the picture in memory, then writes it: no half-written picture
 * is ever left at @path.  Frees @cr. */
static gboolean
write_png (const char *path, cairo_t *cr, GError **error)
{
  cairo_surface_t *s = cairo_get_target (cr);
  cairo_surface_flush (s);
  g_autoptr (GByteArray) png = g_byte_array_new ();
  cairo_status_t st = cairo_status (cr);
  if (st == CAIRO_STATUS_SUCCESS)
    st = cairo_surface_write_to_png_stream (s, append_bytes, png);
  cairo_destroy (cr);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "%s: cannot draw: %s", path,
                   cairo_status_to_string (st));
      return FALSE;
    }
  return save_atomically (path, png->data, png->len, error);
}

/* ---- Loss curve --------------------------------------------------------- */

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
  return f->area.y + f->area.height - (loss - f->y.lo) / (f->y.hi - f->y.lo) * f->area.height;
}

/* The frame, the ticks at round values and their labels, the axis names.
 * Lines on half pixels: one pixel wide, not two half-gray ones. */
static void
draw_axes (cairo_t *cr, const Frame *f)
{
  const DaePlotRect *a = &f->area;
  const double left = a->x - 0.5, right = a->x + a->width + 0.5;
  const double top = a->y - 0.5, bottom = a->y + a->height + 0.5;
  set_rgb (cr, black);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, left, top, right - left, bottom - top);
  cairo_stroke (cr);
  char label[64];
  for (double t = ceil (f->x.lo / f->x.step) * f->x.step; t <= f->x.hi; t += f->x.step)
    {
      const double px = floor (map_x (f, t)) + 0.5;
      cairo_move_to (cr, px, bottom);
      cairo_line_to (cr, px, bottom + 5);
      cairo_stroke (cr);
      format_tick (label, sizeof label, t, f->x.step);
      show_text (cr, px, bottom + 17, label, 0.5, 0);
    }
  /* Counting ticks by index: adding steps would drift off round values. */
  const double first = ceil (f->y.lo / f->y.step);
  for (int k = 0; (first + k) * f->y.step <= f->y.hi; k++)
    {
      const double t = (first + k) * f->y.step, py = floor (map_y (f, t)) + 0.5;
      cairo_move_to (cr, left, py);
      cairo_line_to (cr, left - 5, py);
      cairo_stroke (cr);
      format_tick (label, sizeof label, t, f->y.step);
      show_text (cr, left - 10, py, label, 1, 0);
    }
  show_text (cr, a->x + a->width / 2.0, bottom + 43, "epoch", 0.5, 0);
  show_text (cr, 20, a->y + a->height / 2.0, "loss", 0.5, -G_PI / 2);
}

/* One series as a 2-pixel polyline (matplotlib's 1.5 pt), broken where a
 * loss is not finite, with round markers when the epochs are few. */
static void
draw_series (cairo_t *cr, const Frame *f, const double *v, guint n, const guint8 rgb[3])
{
  set_rgb (cr, rgb);
  cairo_set_line_width (cr, 2);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint i = 0; i < n; i++)
    if (isfinite (v[i]))
      {
        if (i > 0 && isfinite (v[i - 1]))
          cairo_line_to (cr, map_x (f, i + 1), map_y (f, v[i]));
        else
          cairo_move_to (cr, map_x (f, i + 1), map_y (f, v[i]));
      }
  cairo_stroke (cr);
  for (guint i = 0; i < n && n <= MARKER_MAX_EPOCHS; i++)
    if (isfinite (v[i]))
      {
        cairo_new_sub_path (cr);
        cairo_arc (cr, map_x (f, i + 1), map_y (f, v[i]), 3.5, 0, 2 * G_PI);
      }
  cairo_fill (cr);
}

/* How much of a series passes through a rectangle: points along it. */
static guint
series_in (const Frame *f, const double *v, guint n, double x, double y, double w, double h)
{
  guint hits = 0;
  for (guint i = 0; v != NULL && i < n; i++)
    for (int s = 0; s < 32 && isfinite (v[i]); s++)
      {
        const double t = s / 32.0;
        if (s > 0 && !(i + 1 < n && isfinite (v[i + 1])))
          break;
        const double px = map_x (f, i + 1 + t);
        const double py = map_y (f, s ? v[i] + t * (v[i + 1] - v[i]) : v[i]);
        hits += px >= x && px < x + w && py >= y && py < y + h;
      }
  return hits;
}

/* The legend goes in the corner of the plot area the curves cross least,
 * upper right first on ties (matplotlib's loc="best"). */
static void
draw_legend (cairo_t *cr, const Frame *f, const double *tl, const double *vl, guint n_epochs)
{
  const char *names[2] = { "train", "validation" };
  const guint8 *cols[2] = { dae_plot_train_rgb, dae_plot_validation_rgb };
  const guint n = vl ? 2 : 1;
  const double pad = 10, sample = 30, row_h = 22, inset = 10;
  cairo_text_extents_t te;
  cairo_text_extents (cr, names[n - 1], &te);
  const double w = pad + sample + 8 + ceil (te.x_advance) + pad, h = pad + n * row_h;
  const DaePlotRect *a = &f->area;
  const double xs[4] = { a->x + a->width - inset - w, a->x + inset, a->x + inset,
                         a->x + a->width - inset - w };
  const double ys[4] = { a->y + inset, a->y + inset, a->y + a->height - inset - h,
                         a->y + a->height - inset - h };
  guint best = 0, best_hits = G_MAXUINT;
  for (guint k = 0; k < 4; k++)
    {
      const guint hits = series_in (f, tl, n_epochs, xs[k], ys[k], w, h)
                         + series_in (f, vl, n_epochs, xs[k], ys[k], w, h);
      if (hits < best_hits)
        best_hits = hits, best = k;
    }
  const double x = xs[best], y = ys[best];
  cairo_rectangle (cr, x + 0.5, y + 0.5, w - 1, h - 1);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill_preserve (cr);
  set_rgb (cr, legend_border);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  for (guint i = 0; i < n; i++)
    {
      const double cy = y + pad / 2 + i * row_h + row_h / 2;
      cairo_rectangle (cr, x + pad, cy - 1, sample, 2);
      set_rgb (cr, cols[i]);
      cairo_fill (cr);
      show_text (cr, x + pad + sample + 8, cy, names[i], 0, 0);
    }
}

gboolean
dae_plot_loss_curve (const char *path, const double *train_loss, const double *val_loss,
                     guint n_epochs, const char *title, GError **error)
{
  g_return_val_if_fail (path != NULL && train_loss != NULL, FALSE);
  if (n_epochs == 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID, "no epochs to plot");
      return FALSE;
    }
  Frame f;
  dae_plot_loss_area (&f.area);
  axis_for_epochs (&f.x, n_epochs);
  axis_for_losses (&f.y, train_loss, val_loss, n_epochs);

  cairo_t *cr = canvas_new (DAE_PLOT_LOSS_WIDTH, DAE_PLOT_LOSS_HEIGHT);
  cairo_save (cr);
  cairo_rectangle (cr, f.area.x, f.area.y, f.area.width, f.area.height);
  cairo_clip (cr);
  draw_series (cr, &f, train_loss, n_epochs, dae_plot_train_rgb);
  if (val_loss)
    draw_series (cr, &f, val_loss, n_epochs, dae_plot_validation_rgb);
  cairo_restore (cr);
  draw_axes (cr, &f);
  draw_legend (cr, &f, train_loss, val_loss, n_epochs);
  if (title && *title)
    {
      cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                              CAIRO_FONT_WEIGHT_BOLD);
      show_text (cr, f.area.x + f.area.width / 2.0, f.area.y / 2.0, title, 0.5, 0);
    }
  return write_png (path, cr, error);
}

/* ---- Preview grid ------------------------------------------------------- */

/* @img (h x w floats) as gray pixels of an image surface. */
static cairo_surface_t *
gray_surface (const float *img, guint h, guint w)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) w, (int) h);
  if (cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    return s;
  guint8 *data = cairo_image_surface_get_data (s);
  const int stride = cairo_image_surface_get_stride (s);
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        float v = img[(size_t) y * w + x];
        v = isnan (v) ? 0.0f : CLAMP (v, 0.0f, 1.0f);
        const guint32 g = (guint32) lrintf (v * 255.0f);
        ((guint32 *) (data + (size_t) y * stride))[x] = g << 16 | g << 8 | g;
      }
  cairo_surface_mark_dirty (s);
  return s;
}

gboolean
dae_plot_preview (const char *path, const float *noisy, const float *denoised,
                  const float *clean, guint n, guint h, guint w, GError **error)
{
  g_return_val_if_fail (path && noisy && denoised && clean, FALSE);
  if (n == 0 || h == 0 || w == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID, "nothing to preview (%u images of %ux%u)",
                   n, w, h);
      return FALSE;
    }
  const char *labels[3] = { "noisy", "denoised", "clean" };
  const float *rows[3] = { noisy, denoised, clean };
  const guint margin = 10, gap = 4, label_w = 100; /* "denoised" and margins */
  const guint zoom = MAX (h, w) <= 64 ? 3 : MAX (h, w) <= 128 ? 2 : 1;
  const guint64 width = label_w + (guint64) n * w * zoom + (guint64) (n - 1) * gap + margin;
  const guint64 height = 2 * margin + 3 * (guint64) h * zoom + 2 * gap;
  if (width > MAX_SIDE || height > MAX_SIDE)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "a preview of %u images of %ux%u would be %" G_GUINT64_FORMAT "x%"
                   G_GUINT64_FORMAT " pixels, more than %u a side", n, w, h, width, height,
                   MAX_SIDE);
      return FALSE;
    }
  cairo_t *cr = canvas_new ((guint) width, (guint) height);
  for (guint r = 0; r < 3; r++)
    {
      const double y0 = margin + r * (h * zoom + gap);
      show_text (cr, margin, y0 + h * zoom / 2.0, labels[r], 0, 0);
      for (guint i = 0; i < n; i++)
        {
          cairo_surface_t *img = gray_surface (rows[r] + (size_t) i * h * w, h, w);
          cairo_save (cr);
          cairo_translate (cr, label_w + i * (w * zoom + gap), y0);
          cairo_scale (cr, zoom, zoom);
          cairo_set_source_surface (cr, img, 0, 0);
          cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
          cairo_paint (cr);
          cairo_restore (cr);
          cairo_surface_destroy (img);
        }
    }
  return write_png (path, cr, error);
}

void
dae_plot_shutdown (void)
{
  cairo_debug_reset_static_data ();
  FcFini ();
}
