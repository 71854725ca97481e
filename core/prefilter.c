/* prefilter.c: the input's 3x3 filters, before everything else, streamed
 * a row behind: salt-and-pepper noise out, or a 1-bit page softened.
 *
 * Impulse noise (a scanner's or a line's dropped and stuck pixels) sets
 * pixels to black or white regardless of the page; at a few percent it
 * fooled the analysis (a faint page under pepper read as noise 49/255 with
 * no ink and went to the photo model, which erased its text) and left both
 * models drawing broken glyphs.  A switching median, the classical remedy
 * (Hwang and Haddad's adaptive median; unpaper's and GIMP's despeckle take
 * the same view): a sample at black or white more than half the full
 * scale from its 3x3 median takes that median; every other sample is left
 * exactly as it is.  Only when the first rows hold enough impulses: black
 * or white, at most one of the eight neighbours near, and far from the
 * median (IMPULSE_SHARE of the samples: clean and bilevel scans hold a few
 * such pixels, the tesseract and unpaper test scans at most 0.12%,
 * salt-and-pepper pages 1-7%).  And only when they are a spike at black
 * and white: the tails of heavy Gaussian noise, clipped, put as many
 * samples there (0.3-1.0% at sigma 0.35 of full scale) but about as many
 * again just inside (within NEARLY), where salt-and-pepper puts none.
 * Rows stream through with one row held back; the image's first and last
 * rows take their own row for the missing neighbour. */
#include "dae-private.h"

#include <math.h>
#include <string.h>

#define IMPULSE_SHARE 0.004 /* of the colour samples in the first rows */
#define IMPULSE_SPIKE 6.0   /* times the isolated samples just inside black and white */
#define NEARLY 0.1f         /* "just inside" */
#define FAR 0.7f            /* from its 3x3 median: an isolated sample the share counts */
#define REPLACE_FAR 0.5f    /* from its 3x3 median: a sample the filter replaces */
#define NEAR 0.25f          /* a neighbour this close makes it a mark, not an impulse */
#define SOFTEN_SIDE 0.135f  /* a side neighbour's weight against the centre's 1 (sigma 0.5 px) */

/* The 3x3 samples of channel c around pixel x in rows above, row and below
 * (edges replicated), row by row. */
static void
gather (const float *const r[3], guint width, guint channels, guint x, guint c, float p[9])
{
  const size_t left = (size_t) (x > 0 ? x - 1 : 0) * channels + c;
  const size_t right = (size_t) MIN (x + 1, width - 1) * channels + c;
  const size_t mid = (size_t) x * channels + c;
  for (guint i = 0; i < 3; i++)
    p[3 * i] = r[i][left], p[3 * i + 1] = r[i][mid], p[3 * i + 2] = r[i][right];
}

/* Whether fewer than `enough` of the eight neighbours lie within d of the
 * centre: cheap, and on paper or in a stroke it stops at once, so the
 * median is taken only where it can matter. */
static gboolean
few_near (const float p[9], float d, guint enough)
{
  guint near = 0;
  for (guint k = 0; k < 9 && near < enough; k++)
    near += k != 4 && fabsf (p[k] - p[4]) <= d;
  return near < enough;
}

double
dae__impulse_share (const float *rows, guint width, guint n_rows, guint channels,
                    guint n_color, double *near_share)
{
  guint64 n = 0, n_near = 0;
  const size_t row_f = (size_t) width * channels;
  for (guint y = 0; y < n_rows; y++)
    {
      const float *r[3] = { rows + (y > 0 ? y - 1 : 0) * row_f, rows + y * row_f,
                            rows + (y + 1 < n_rows ? y + 1 : y) * row_f };
      float p[9];
      for (guint x = 0; x < width; x++)
        for (guint c = 0; c < n_color; c++)
          {
            const float v = r[1][(size_t) x * channels + c];
            const gboolean extreme = v <= 0.0f || v >= 1.0f;
            const gboolean nearly = !extreme && (v <= NEARLY || v >= 1.0f - NEARLY);
            if (!extreme && !nearly)
              continue;
            gather (r, width, channels, x, c, p);
            if (few_near (p, NEAR, 2) && fabsf (v - dae__median9 (p)) > FAR)
              n += extreme, n_near += nearly;
          }
    }
  const double all = (double) n_rows * width * n_color;
  *near_share = all > 0 ? n_near / all : 0.0;
  return all > 0 ? n / all : 0.0;
}

gboolean
dae__impulse_wanted (double share, double near_share)
{
  return share >= IMPULSE_SHARE && share >= IMPULSE_SPIKE * near_share;
}

/* Row r[1] with its impulses replaced, into out; returns how many.  Once
 * the page has salt-and-pepper, a black or white sample far from its 3x3
 * median is one, isolated or not (two together are common at 5%). */
static guint64
median_row (const float *const r[3], guint width, guint channels, guint n_color, float *out)
{
  guint64 n = 0;
  memcpy (out, r[1], (size_t) width * channels * sizeof (float));
  for (guint x = 0; x < width; x++)
    for (guint c = 0; c < n_color; c++)
      {
        const float v = r[1][(size_t) x * channels + c];
        float p[9];
        if (v > 0.0f && v < 1.0f)
          continue;
        gather (r, width, channels, x, c, p);
        /* the median lies within REPLACE_FAR of v when 4 neighbours do */
        if (!few_near (p, REPLACE_FAR, 4))
          continue;
        const float m = dae__median9 (p);
        if (fabsf (v - m) > REPLACE_FAR)
          out[(size_t) x * channels + c] = m, n++;
      }
  return n;
}

/* A 1-bit page softened: each colour sample the separable 3x3 mean of
 * weights SOFTEN_SIDE, 1, SOFTEN_SIDE (a Gaussian of 0.5 px), alpha
 * as it is.  Thresholded text's jagged, pixel-wide edges are not what the
 * document model learnt on (gray scans); blurred to a gray scan's edges,
 * bench-ocr --bilevel's pages read better after the model (see tiler.c). */
static guint64
soften_row (const float *const r[3], guint width, guint channels, guint n_color, float *out)
{
  const float side = SOFTEN_SIDE, norm = 1.0f / ((1.0f + 2.0f * side) * (1.0f + 2.0f * side));
  memcpy (out, r[1], (size_t) width * channels * sizeof (float));
  for (guint x = 0; x < width; x++)
    for (guint c = 0; c < n_color; c++)
      {
        float p[9], v = 0.0f;
        gather (r, width, channels, x, c, p);
        for (guint i = 0; i < 3; i++)
          v += (i == 1 ? 1.0f : side) * (side * (p[3 * i] + p[3 * i + 2]) + p[3 * i + 1]);
        out[(size_t) x * channels + c] = v * norm;
      }
  return 0;
}

static guint64
prefilter_row (const DaePrefilter *s, const float *const r[3], float *out)
{
  return (s->kind == DAE__PREFILTER_SOFTEN ? soften_row : median_row) (r, s->width, s->channels,
                                                                      s->n_color, out);
}

gboolean
dae__prefilter_init (DaePrefilter *s, DaePrefilterKind kind, guint width, guint height,
                     guint channels, guint n_color)
{
  *s = (DaePrefilter){ .kind = kind, .width = width, .height = height, .channels = channels,
                       .n_color = n_color };
  s->held = g_try_new (float, (size_t) 2 * width * channels);
  return s->held != NULL;
}

void
dae__prefilter_clear (DaePrefilter *s)
{
  g_clear_pointer (&s->held, g_free);
}

guint
dae__prefilter_feed (DaePrefilter *s, const float *rows, guint n_rows, float *out)
{
  const size_t row_f = (size_t) s->width * s->channels;
  float *prev = s->held, *cur = s->held + row_f;
  guint n_out = 0;
  for (guint i = 0; i < n_rows; i++, s->fed++)
    {
      const float *row = rows + i * row_f;
      if (s->fed > 0)
        {
          const float *r[3] = { s->fed > 1 ? prev : cur, cur, row };
          s->replaced += prefilter_row (s, r, out + n_out++ * row_f);
          memcpy (prev, cur, row_f * sizeof (float));
        }
      memcpy (cur, row, row_f * sizeof (float));
      if (s->fed + 1 == s->height) /* the last row: nothing below it */
        {
          const float *r[3] = { s->fed > 0 ? prev : cur, cur, cur };
          s->replaced += prefilter_row (s, r, out + n_out++ * row_f);
        }
    }
  return n_out;
}
