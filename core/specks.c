/* specks.c: isolated specks out of the document model's output.
 *
 * Dust and toner specks are dark blobs as dark as ink; the document model
 * keeps them, rightly, since in a 128-pixel window a speck and a full stop
 * look alike, and tesseract reads them as ' . , inside and between words
 * (bench-ocr's speckle pages read worse than after a 3x3 median).  What
 * tells them apart is size against the page's strokes, the way unpaper's
 * noise filter and tesseract's own blob filter judge specks: a full stop
 * or an i-dot is at least a stroke wide, a speck here is smaller than half
 * a stroke's square.  A component of ink is erased when it is that small,
 * no wider or taller than a stroke, and no larger mark lies above or below
 * it within two stroke widths, in its columns widened by half a stroke:
 * that keeps an i-dot (its stem), an accent and a crumb touching its
 * letter, and clears specks beside letters and between words, where
 * tesseract read them as punctuation.  (Protecting a speck by any larger
 * mark within two strokes all around, session 15's rule, kept the specks
 * beside letters: bench-ocr's speckle pages 3.27% against 2.25% now.)  The
 * stroke width is the page's (analyze.c) or the tile's own when the model
 * left its strokes thinner.
 * Erasing only lightens: a speck becomes the tile's paper.  The tile's
 * components are decided where their whole window lies in the tile; the
 * tiles overlapping it decide the others (every pixel lies deep inside
 * one of them, where its blending weight is highest). */
#include "dae-private.h"

#include <math.h>
#include <string.h>

#define MIN_STROKE DAE__THIN_STROKE /* thinner: dots and specks are pixel-sized alike */
#define MAX_STROKE 12     /* wider: 600 dpi bold, or no text to measure by */
#define TILE_MIN_INK 200  /* ink pixels for a tile's own stroke width */

typedef struct {
  guint y0, y1, x0, x1, area; /* the box, inclusive, and the pixels */
  gboolean small;             /* speck-sized */
  gboolean candidate;         /* and its window lies in the tile */
} DaeSpeck;

void
dae__specks_init (DaeSpecks *s, const DaeImageStats *st)
{
  s->light = st->light;
  s->paper = (float) st->background;
  s->contrast = (float) fabs (st->background - st->ink_core);
  s->stroke = (guint) st->stroke_width;
  s->active = s->contrast >= DAE__MIN_INK_CONTRAST && s->stroke >= MIN_STROKE && s->stroke <= MAX_STROKE;
}

const char *
dae__specks_why_not (const DaeSpecks *s)
{
  return s->contrast < DAE__MIN_INK_CONTRAST ? "too little ink contrast to find them"
         : s->stroke == 0           ? "too little ink to measure its strokes"
         : s->stroke < MIN_STROKE   ? "strokes too thin to tell specks from dots"
         : s->stroke > MAX_STROKE   ? "strokes too wide to be text's"
                                    : "";
}

gsize
dae__specks_scratch_size (guint ph, guint pw)
{
  const size_t area = (size_t) ph * pw, integral = (size_t) (ph + 1) * (pw + 1);
  return area * (2 * sizeof (gint32) + 1) + integral * sizeof (gint32)
         + (area + 1) * sizeof (DaeSpeck);
}

void
dae__stroke_histogram (const guint8 *ink, guint w, guint h, guint8 *run, guint cap,
                       guint64 *hist)
{
  for (guint y = 0; y < h; y++)
    for (guint x = 0, a = 0; x <= w; x++)
      if (x == w || !ink[(size_t) y * w + x])
        {
          memset (run + (size_t) y * w + a, MIN (x - a, 255u), x - a);
          a = x + 1;
        }
  for (guint x = 0; x < w; x++)
    for (guint y = 0, a = 0; y <= h; y++)
      if (y == h || !ink[(size_t) y * w + x])
        {
          for (guint k = a; k < y; k++)
            hist[MIN (MIN ((guint) run[(size_t) k * w + x], y - a), cap + 1)]++;
          a = y + 1;
        }
}

guint
dae__stroke_mode (const guint64 *hist, guint last, guint64 *n)
{
  guint mode = 1;
  *n = 0;
  for (guint k = 1; k <= last; k++)
    {
      *n += hist[k];
      mode = hist[k] > hist[mode] ? k : mode;
    }
  return mode;
}

/* The commonest local stroke width of the tile's ink, 0 when it has too
 * little ink; wider than MAX_STROKE counts as one bin. */
static guint
tile_stroke (const guint8 *ink, guint ph, guint pw, guint8 *run)
{
  guint64 hist[MAX_STROKE + 2] = { 0 }, n;
  dae__stroke_histogram (ink, pw, ph, run, MAX_STROKE, hist);
  const guint mode = dae__stroke_mode (hist, MAX_STROKE + 1, &n);
  return n >= TILE_MIN_INK ? mode : 0;
}

/* Labels the 8-connected components of ink (1, 2, ...; 0 paper) and fills
 * their boxes and areas; returns how many. */
static guint
label (const guint8 *ink, guint ph, guint pw, gint32 *lab, gint32 *stack, DaeSpeck *c)
{
  const size_t area = (size_t) ph * pw;
  memset (lab, 0, area * sizeof *lab);
  guint n = 0;
  for (size_t i = 0; i < area; i++)
    {
      if (!ink[i] || lab[i])
        continue;
      DaeSpeck *k = &c[++n];
      *k = (DaeSpeck){ i / pw, i / pw, i % pw, i % pw, 0, FALSE, FALSE };
      size_t top = 0;
      lab[i] = (gint32) n;
      stack[top++] = (gint32) i;
      while (top > 0)
        {
          const guint j = (guint) stack[--top], y = j / pw, x = j % pw;
          k->area++;
          k->y0 = MIN (k->y0, y), k->y1 = MAX (k->y1, y);
          k->x0 = MIN (k->x0, x), k->x1 = MAX (k->x1, x);
          for (guint yy = y > 0 ? y - 1 : 0; yy <= MIN (y + 1, ph - 1); yy++)
            for (guint xx = x > 0 ? x - 1 : 0; xx <= MIN (x + 1, pw - 1); xx++)
              if (ink[yy * pw + xx] && !lab[yy * pw + xx])
                {
                  lab[yy * pw + xx] = (gint32) n;
                  stack[top++] = (gint32) (yy * pw + xx);
                }
        }
    }
  return n;
}

/* Marks the speck-sized components, and among them the candidates, whose
 * window (two strokes around the box) lies in the tile; returns how many
 * candidates. */
static guint
mark_small (DaeSpeck *c, guint n, guint sw, guint ph, guint pw)
{
  const guint r = 2 * sw;
  guint candidates = 0;
  for (guint k = 1; k <= n; k++)
    {
      DaeSpeck *e = &c[k];
      e->small = e->y1 - e->y0 < sw && e->x1 - e->x0 < sw && 2 * e->area <= sw * sw;
      e->candidate = e->small && e->y0 >= r && e->x0 >= r && e->y1 + r < ph && e->x1 + r < pw;
      candidates += e->candidate;
    }
  return candidates;
}

/* Summed-area table of the pixels of components that are not speck-sized. */
static void
large_integral (const gint32 *lab, const DaeSpeck *c, guint ph, guint pw, gint32 *sat)
{
  memset (sat, 0, (pw + 1) * sizeof *sat);
  for (guint y = 0; y < ph; y++)
    {
      gint32 row = 0, *s = sat + (size_t) (y + 1) * (pw + 1);
      const gint32 *above = s - (pw + 1);
      s[0] = 0;
      for (guint x = 0; x < pw; x++)
        {
          const gint32 l = lab[(size_t) y * pw + x];
          row += l && !c[l].small;
          s[x + 1] = above[x + 1] + row;
        }
    }
}

static inline gint32
box_sum (const gint32 *sat, guint pw, guint y0, guint x0, guint y1, guint x1)
{
  const size_t w = pw + 1;
  return sat[(y1 + 1) * w + x1 + 1] - sat[y0 * w + x1 + 1] - sat[(y1 + 1) * w + x0] + sat[y0 * w + x0];
}

/* Sets component n and the pixels next to it to paper where darker. */
static void
erase (float *out, const gint32 *lab, const DaeSpeck *k, gint32 n, guint ph, guint pw,
       float paper, float sign)
{
  for (guint y = k->y0 > 0 ? k->y0 - 1 : 0; y <= MIN (k->y1 + 1, ph - 1); y++)
    for (guint x = k->x0 > 0 ? k->x0 - 1 : 0; x <= MIN (k->x1 + 1, pw - 1); x++)
      {
        gboolean near = FALSE;
        for (guint yy = y > 0 ? y - 1 : 0; yy <= MIN (y + 1, ph - 1); yy++)
          for (guint xx = x > 0 ? x - 1 : 0; xx <= MIN (x + 1, pw - 1); xx++)
            near |= lab[yy * pw + xx] == n;
        float *v = out + (size_t) y * pw + x;
        if (near && sign * (paper - *v) > 0)
          *v = paper;
      }
}

guint64
dae__specks_tile (const DaeSpecks *s, float *out, guint ph, guint pw, gboolean inverted,
                  void *scratch)
{
  const size_t area = (size_t) ph * pw, integral_n = (size_t) (ph + 1) * (pw + 1);
  gint32 *lab = scratch, *stack = lab + area, *sat_large = stack + area;
  DaeSpeck *c = (DaeSpeck *) (sat_large + integral_n);
  guint8 *ink = (guint8 *) (c + area + 1);
  const float sign = (s->light != inverted) ? 1.0f : -1.0f;
  const float page = inverted ? 1.0f - s->paper : s->paper;
  const float tp = dae__tile_paper_level (out, area, sign);
  const float paper = sign > 0 ? MAX (page, tp) : MIN (page, tp);
  size_t n_ink = 0;
  for (size_t i = 0; i < area; i++)
    n_ink += ink[i] = sign * (paper - out[i]) > 0.5f * s->contrast;
  if (n_ink == 0)
    return 0; /* a margin: nothing to do */
  const guint own = tile_stroke (ink, ph, pw, (guint8 *) lab); /* lab: free until label */
  const guint sw = own ? MIN (own, s->stroke) : s->stroke;
  if (sw < MIN_STROKE)
    return 0;
  const guint n = label (ink, ph, pw, lab, stack, c);
  if (mark_small (c, n, sw, ph, pw) == 0)
    return 0;
  large_integral (lab, c, ph, pw, sat_large);
  const guint r = 2 * sw, half = sw / 2;
  guint64 erased = 0;
  for (guint k = 1; k <= n; k++)
    {
      const DaeSpeck *e = &c[k];
      if (!e->candidate)
        continue;
      if (box_sum (sat_large, pw, e->y0 - r, e->x0 - half, e->y1 + r, e->x1 + half) > 0)
        continue;
      erase (out, lab, e, (gint32) k, ph, pw, paper, sign);
      erased++;
    }
  return erased;
}
