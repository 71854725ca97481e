/* impulse.c: salt-and-pepper noise out of the input, before everything else.
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
 * Rows stream through with one row
 * held back; the image's first and last rows take their own row for the
 * missing neighbour. */
#include "dae-private.h"

#include <math.h>
#include <string.h>

#define IMPULSE_SHARE 0.004 /* of the colour samples in the first rows */
#define IMPULSE_SPIKE 6.0   /* times the isolated samples just inside black and white */
#define NEARLY 0.1f         /* "just inside" */
#define FAR 0.7f            /* from its 3x3 median: an isolated sample the share counts */
#define REPLACE_FAR 0.5f    /* from its 3x3 median: a sample the filter replaces */
#define NEAR 0.25f          /* a neighbour this close makes it a mark, not an impulse */

static inline void
sort2 (float *a, float *b)
{
  const float lo = MIN (*a, *b), hi = MAX (*a, *b);
  *a = lo, *b = hi;
}

/* The median of nine (Paeth's network: 19 exchanges). */
static float
median9 (float p[9])
{
  sort2 (&p[1], &p[2]), sort2 (&p[4], &p[5]), sort2 (&p[7], &p[8]);
  sort2 (&p[0], &p[1]), sort2 (&p[3], &p[4]), sort2 (&p[6], &p[7]);
  sort2 (&p[1], &p[2]), sort2 (&p[4], &p[5]), sort2 (&p[7], &p[8]);
  sort2 (&p[0], &p[3]), sort2 (&p[5], &p[8]), sort2 (&p[4], &p[7]);
  sort2 (&p[3], &p[6]), sort2 (&p[1], &p[4]), sort2 (&p[2], &p[5]);
  sort2 (&p[4], &p[7]), sort2 (&p[4], &p[2]), sort2 (&p[6], &p[4]);
  sort2 (&p[4], &p[2]);
  return p[4];
}

/* Channel c of pixel x in rows above, row and below (edges replicated):
 * its 3x3 median in *median, and how many of its eight neighbours lie
 * near it. */
static guint
neighbourhood (const float *const r[3], guint width, guint channels, guint x, guint c,
               float *median)
{
  const float v = r[1][(size_t) x * channels + c];
  float p[9];
  guint near = 0, k = 0;
  for (guint i = 0; i < 3; i++)
    for (gint dx = -1; dx <= 1; dx++)
      {
        const guint xx = (guint) CLAMP ((gint) x + dx, 0, (gint) width - 1);
        p[k] = r[i][(size_t) xx * channels + c];
        near += !(i == 1 && dx == 0) && fabsf (p[k] - v) <= NEAR;
        k++;
      }
  *median = median9 (p);
  return near;
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
      float m;
      for (guint x = 0; x < width; x++)
        for (guint c = 0; c < n_color; c++)
          {
            const float v = r[1][(size_t) x * channels + c];
            const gboolean extreme = v <= 0.0f || v >= 1.0f;
            const gboolean nearly = !extreme && (v <= NEARLY || v >= 1.0f - NEARLY);
            if ((extreme || nearly) && neighbourhood (r, width, channels, x, c, &m) <= 1
                && fabsf (v - m) > FAR)
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
filter_row (const float *const r[3], guint width, guint channels, guint n_color, float *out)
{
  guint64 n = 0;
  memcpy (out, r[1], (size_t) width * channels * sizeof (float));
  for (guint x = 0; x < width; x++)
    for (guint c = 0; c < n_color; c++)
      {
        const float v = r[1][(size_t) x * channels + c];
        float m;
        if (v > 0.0f && v < 1.0f)
          continue;
        neighbourhood (r, width, channels, x, c, &m);
        if (fabsf (v - m) > REPLACE_FAR)
          out[(size_t) x * channels + c] = m, n++;
      }
  return n;
}

gboolean
dae__impulse_init (DaeImpulse *s, guint width, guint height, guint channels, guint n_color)
{
  *s = (DaeImpulse){ .width = width, .height = height, .channels = channels,
                     .n_color = n_color };
  s->held = g_try_new (float, (size_t) 2 * width * channels);
  return s->held != NULL;
}

void
dae__impulse_clear (DaeImpulse *s)
{
  g_clear_pointer (&s->held, g_free);
}

guint
dae__impulse_feed (DaeImpulse *s, const float *rows, guint n_rows, float *out)
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
          s->replaced += filter_row (r, s->width, s->channels, s->n_color,
                                     out + n_out++ * row_f);
          memcpy (prev, cur, row_f * sizeof (float));
        }
      memcpy (cur, row, row_f * sizeof (float));
      if (s->fed + 1 == s->height) /* the last row: nothing below it */
        {
          const float *r[3] = { s->fed > 0 ? prev : cur, cur, cur };
          s->replaced += filter_row (r, s->width, s->channels, s->n_color,
                                     out + n_out++ * row_f);
        }
    }
  return n_out;
}
