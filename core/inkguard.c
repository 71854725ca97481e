/* inkguard.c: the document model's guard against invented ink.
 *
 * A mark lighter than half the page's ink contrast reads as paper to a
 * binariser (tesseract's Otsu split lies near the middle), so a model that
 * darkens it past that point writes text that was not on the page: the
 * mirrored lines of bleed-through standing alone in a margin, which the
 * document model took for faded ink (bench-ocr's bleed pages read worse
 * than the raw page).  The guard lets no output pixel be darker than the
 * darkest input pixel of its 5x5 neighbourhood while that stays below half
 * the ink contrast; between a half and three quarters the allowance opens
 * up, and beyond it the model is free: faded ink, whose page has no darker
 * ink, is at the contrast itself and is restored as before.  Lightening is
 * never limited here (a thin 1-bit page's is: dae__ink_guard_keep).  Works
 * in "inkness", the distance from the paper towards the ink, so
 * light-on-dark pages and inverted tiles are the same case. */
#include "dae-private.h"

#include <math.h>
#include <string.h>

#define RADIUS 2            /* 5x5 neighbourhood */
#define HALF 0.5f           /* below this share of the contrast: hold */
#define FREE 0.75f          /* from this share on: no limit */

void
dae__ink_guard_init (DaeInkGuard *g, const DaeImageStats *st)
{
  g->light = st->light;
  g->paper = (float) st->background;
  g->contrast = (float) (st->light ? st->background - st->ink_core : st->ink_core - st->background);
  g->active = g->contrast >= DAE__MIN_INK_CONTRAST;
  g->keep_ink = st->bilevel && st->stroke_width < DAE__THIN_STROKE;
}

/* The inkness a pixel may reach given r, its neighbourhood's darkest
 * inkness over the contrast: r itself up to HALF, then quickly more. */
static inline float
allowance (float r)
{
  if (r <= HALF)
    return MAX (r, 0.0f);
  const float t = (r - HALF) / (FREE - HALF);
  return r + 4.0f * t * t;
}

/* The maximum of a[x - RADIUS .. x + RADIUS], clipped to the row of n. */
static inline float
clipped_max (const float *a, guint n, guint x)
{
  float v = a[x];
  for (guint k = x > RADIUS ? x - RADIUS : 0; k <= MIN (x + RADIUS, n - 1); k++)
    v = MAX (v, a[k]);
  return v;
}

/* The maximum over 2 RADIUS + 1 neighbours along a row of n, clipped at
 * its ends (where the blending window has nearly no weight); the middle
 * in a loop the compiler vectorises. */
static void
row_max (const float *a, float *m, guint n)
{
  const guint mid_end = n > RADIUS ? n - RADIUS : 0;
  guint x = 0;
  for (; x < MIN (RADIUS, n); x++)
    m[x] = clipped_max (a, n, x);
  for (; x < mid_end; x++)
    m[x] = MAX (MAX (MAX (a[x - 2], a[x - 1]), MAX (a[x], a[x + 1])), a[x + 2]);
  for (; x < n; x++)
    m[x] = clipped_max (a, n, x);
}

/* The maximum over each pixel's (2 RADIUS + 1)^2 neighbourhood: along the
 * rows, then row against row. */
static void
local_max (const float *a, float *tmp, float *m, guint ph, guint pw)
{
  G_STATIC_ASSERT (RADIUS == 2); /* row_max's middle loop */
  for (guint y = 0; y < ph; y++)
    row_max (a + (size_t) y * pw, tmp + (size_t) y * pw, pw);
  for (guint y = 0; y < ph; y++)
    {
      float *row = m + (size_t) y * pw;
      const guint lo = y > RADIUS ? y - RADIUS : 0, hi = MIN (y + RADIUS, ph - 1);
      memcpy (row, tmp + (size_t) lo * pw, pw * sizeof (float));
      for (guint k = lo + 1; k <= hi; k++)
        for (guint x = 0; x < pw; x++)
          row[x] = MAX (row[x], tmp[(size_t) k * pw + x]);
    }
}

float
dae__tile_paper_level (const float *in, size_t area, float sign)
{
  guint hist[256] = { 0 };
  const float a = sign > 0 ? 256.0f : -256.0f, c = sign > 0 ? 0.0f : 256.0f;
  for (size_t i = 0; i < area; i++) /* branch-free: fmaxf takes NaN to 0 */
    hist[(guint) fminf (fmaxf (a * in[i] + c, 0.0f), 255.0f)]++;
  size_t seen = 0;
  guint b = 255;
  for (; b > 0 && (seen += hist[b]) * 10 < area; b--)
    ;
  const float v = (b + 0.5f) / 256;
  return sign > 0 ? v : 1.0f - v;
}

guint64
dae__ink_guard_tile (const DaeInkGuard *g, const float *in, float *out, guint ph, guint pw,
                     gboolean inverted, float *scratch)
{
  const size_t area = (size_t) ph * pw;
  /* inkness = sign * (paper - v), in the tile's own (maybe inverted) levels */
  const float sign = (g->light != inverted) ? 1.0f : -1.0f;
  const float page_paper = inverted ? 1.0f - g->paper : g->paper;
  const float tile_paper = dae__tile_paper_level (in, area, sign);
  /* where uneven light makes the paper brighter than the page's, faded ink
   * there sits near the page's paper level: measure from the tile's */
  const float paper = sign > 0 ? MAX (page_paper, tile_paper) : MIN (page_paper, tile_paper);
  float *ink = scratch, *tmp = scratch + area, *m = scratch + 2 * area;
  const float k = sign / g->contrast; /* inkness in units of the contrast */
  for (size_t i = 0; i < area; i++)
    ink[i] = k * (paper - in[i]);
  local_max (ink, tmp, m, ph, pw);
  guint64 held = 0;
  for (size_t i = 0; i < area; i++)
    {
      if (!(m[i] < FREE))
        continue;
      const float limit = allowance (m[i]);
      if (k * (paper - out[i]) > limit)
        {
          out[i] = paper - limit / k;
          held++;
        }
    }
  return held;
}

/* A 1-bit page comes out thresholded at one half, so a stroke the model
 * leaves a little lighter is gone.  Where the strokes are under
 * DAE__THIN_STROKE pixels (thin type at 200 dpi, thresholded from clean
 * renders of the training generator's faces) the document model thinned
 * them past that: a monospace face a pixel wide broke up, 0 -> 310
 * errors in 493 characters; a sans face lost its i-dots and full stops.
 * Wider strokes are left to the model, which there parts letters that a
 * noisy 1-bit scan has run together (unpaper's imgsrcE001-3), and so is a
 * page with salt-and-pepper, whose noise is ink-coloured (the tiler clears
 * keep_ink where the impulse filter runs: bench-ocr --bilevel's
 * saltpepper-3, 10 errors with the model free, 73 with the guard). */
guint64
dae__ink_guard_keep (const DaeInkGuard *g, const float *in, float *out, size_t area,
                     gboolean inverted)
{
  const float sign = (g->light != inverted) ? 1.0f : -1.0f;
  const float paper = inverted ? 1.0f - g->paper : g->paper;
  const float half = 0.5f * g->contrast;
  guint64 held = 0;
  for (size_t i = 0; i < area; i++)
    if (sign * (paper - in[i]) > half && sign * (out[i] - in[i]) > 0.0f)
      {
        out[i] = in[i];
        held++;
      }
  return held;
}
