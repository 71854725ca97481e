/* chroma.c: a colour photo's opponent chroma planes, denoised at half
 * resolution: (R-2G+B)/4, or both it and (R-B)/2.
 *
 * The chroma planes (R-B)/2 and (R-2G+B)/4 of a photo are smooth: their
 * 2x2 means keep nearly all of their signal and half of white noise's
 * level, and the model sees twice the context in a tile.  Each plane's
 * 2x2 means go through a gray denoiser of their own (half the width and
 * height, the photo model, the chroma's noise measure and strength, the
 * caller's worker pool, no Wiener filter: it pulled saturated colours
 * towards their clipped noise); its output comes back bilinearly (pixel
 * centres aligned, edges clamped), plus the detail the 2x2 means left out
 * in the share the strength keeps of the input.  The tiler sends a photo
 * here under very heavy noise, where it measured better (HALF_CHROMA_SIGMA
 * in tiler.c: at sigma 50 bench-photo's 14 colour crops gained 0.18 dB and
 * four other photos 0.08), for a quarter of the chroma's tiles: a colour
 * photo runs 1.5 planes' tiles instead of 3; under heavy noise only
 * (R-2G+B)/4 (HALF_C2_SIGMA), 2.25 planes' tiles.  Tried and left out: adding
 * back the detail the means leave out where the cells' local variance
 * stands above the noise's (a Wiener share): it kept too much noise
 * (those four photos at sigma 25: 30.35 dB against 30.46 without).
 *
 * Rows stream: full rows go in as the tiler stores them, each pair of
 * them makes a half row for the denoisers, whose finished rows wait
 * here until no full row needs them; a full row's chroma is ready once
 * the half rows either side of it are out. */
#include "dae-private.h"

#include <string.h>

gboolean
dae__half_chroma_init (DaeHalfChroma *hc, const DaeModel *model, const DaeDenoiseOptions *opt,
                       guint width, guint height, guint n_planes, guint lookahead,
                       struct _DaeThreadPool *pool, GError **error)
{
  g_return_val_if_fail (n_planes == 1 || n_planes == 2, FALSE);
  memset (hc, 0, sizeof *hc);
  hc->n = n_planes;
  hc->width = width;
  hc->height = height;
  hc->hw = (width + 1) / 2;
  hc->hh = (height + 1) / 2;
  hc->sum = g_try_new0 (float, hc->n * (size_t) hc->hw);
  hc->cap = 16;
  gboolean ok = hc->sum != NULL;
  for (guint k = 0; k < hc->n; k++)
    ok &= (hc->rows[k] = g_try_new (float, (size_t) hc->cap * hc->hw)) != NULL
          && (hc->ins[k] = g_try_new (float, (size_t) hc->cap * hc->hw)) != NULL;
  if (!ok)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for the chroma of an image %u pixels wide", width);
      dae__half_chroma_clear (hc);
      return FALSE;
    }
  for (guint k = 0; k < hc->n; k++)
    if ((hc->plane[k] = dae__denoiser_new_chroma (model, opt, hc->hw, hc->hh,
                                                  (lookahead + 1) / 2, pool, error)) == NULL)
      {
        dae__half_chroma_clear (hc);
        return FALSE;
      }
  return TRUE;
}

void
dae__half_chroma_clear (DaeHalfChroma *hc)
{
  for (guint k = 0; k < 2; k++)
    {
      g_clear_pointer (&hc->plane[k], dae_denoiser_free);
      g_clear_pointer (&hc->rows[k], g_free);
      g_clear_pointer (&hc->ins[k], g_free);
    }
  g_clear_pointer (&hc->sum, g_free);
}

/* A ring of half rows (row r at slot r % cap) with rows [first, end)
 * moved into one of twice the size. */
static gboolean
grow_ring (float **ring, guint cap, guint hw, guint64 first, guint64 end)
{
  float *n = g_try_new (float, 2 * (size_t) cap * hw);
  if (n == NULL)
    return FALSE;
  for (guint64 i = first; i < end; i++)
    memcpy (n + (i % (2 * cap)) * hw, *ring + (i % cap) * hw, hw * sizeof (float));
  g_free (*ring);
  *ring = n;
  return TRUE;
}

/* Room for half row r, in and out, of every plane: the rings double when
 * the rows kept would overrun them (the inputs are ahead of the outputs). */
static gboolean
make_room (DaeHalfChroma *hc, guint64 r)
{
  if (r < hc->first + hc->cap)
    return TRUE;
  for (guint k = 0; k < hc->n; k++)
    if (!grow_ring (&hc->rows[k], hc->cap, hc->hw, hc->first, hc->made[k])
        || !grow_ring (&hc->ins[k], hc->cap, hc->hw, hc->first, hc->pushed))
      return FALSE;
  hc->cap *= 2;
  return TRUE;
}

/* Takes plane k's finished half rows into the ring. */
static gboolean
pull_plane (DaeHalfChroma *hc, guint k, GError **error)
{
  for (;;)
    {
      if (!make_room (hc, hc->made[k]))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "out of memory for chroma rows");
          return FALSE;
        }
      float *dst = hc->rows[k] + (hc->made[k] % hc->cap) * hc->hw;
      if (dae_denoiser_pull_rows (hc->plane[k], dst, 1) == 0)
        return TRUE;
      hc->made[k]++;
    }
}

/* Adds a full row's chroma (c: n x width) into the 2x2 sums; every second
 * row, and the last, sends the means to the denoisers. */
gboolean
dae__half_chroma_push (DaeHalfChroma *hc, const float *c, GError **error)
{
  const guint w = hc->width, hw = hc->hw;
  for (guint k = 0; k < hc->n; k++)
    {
      const float *s = c + (size_t) k * w;
      float *sum = hc->sum + (size_t) k * hw;
      for (guint x = 0; x < w / 2; x++)
        sum[x] += s[2 * x] + s[2 * x + 1];
      if (w % 2)
        sum[hw - 1] += 2 * s[w - 1]; /* an odd last column counts twice */
    }
  const guint64 y = hc->rows_in++;
  const gboolean last = hc->rows_in == hc->height;
  if (y % 2 == 0 && !last)
    return TRUE;
  const float scale = y % 2 == 0 ? 0.5f : 0.25f; /* an odd last row counts twice */
  if (!make_room (hc, hc->pushed))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "out of memory for chroma rows");
      return FALSE;
    }
  const guint64 r = hc->pushed++;
  for (guint k = 0; k < hc->n; k++)
    {
      float *sum = hc->sum + (size_t) k * hw, *in = hc->ins[k] + (r % hc->cap) * hw;
      for (guint x = 0; x < hw; x++)
        in[x] = sum[x] * scale;
      memset (sum, 0, hw * sizeof (float));
      if (!dae_denoiser_push_rows (hc->plane[k], in, 1, error) || !pull_plane (hc, k, error))
        return FALSE;
    }
  return TRUE;
}

/* The half rows full row y reads: its centre sits at y / 2 - 1/4. */
static void
half_span (guint64 y, guint n, guint64 *lo, guint64 *hi, float *w_hi)
{
  const guint64 m = y / 2;
  *lo = y % 2 ? m : m > 0 ? m - 1 : 0;
  *hi = MIN (y % 2 ? m + 1 : m, (guint64) n - 1);
  *w_hi = y % 2 ? 0.25f : 0.75f;
}

gboolean
dae__half_chroma_ready (const DaeHalfChroma *hc, guint64 y)
{
  guint64 lo, hi;
  float w;
  half_span (y, hc->hh, &lo, &hi, &w);
  return hc->made[0] > hi && (hc->n == 1 || hc->made[1] > hi);
}

/* Half rows r0 and r1 of a ring at half columns x0, x1, bilinearly. */
static inline float
upsampled (const float *r0, const float *r1, float wy, guint64 x0, guint64 x1, float wx)
{
  return (1 - wx) * ((1 - wy) * r0[x0] + wy * r1[x0]) + wx * ((1 - wy) * r0[x1] + wy * r1[x1]);
}

/* Full row y's chroma (c: n x width, the input's in, the denoised out):
 * the half-size output brought back, plus the detail the 2x2 means left
 * out in the share the plane's strength s keeps of the input (all of it
 * at strength 0: the input exactly, up to rounding).  Then the half rows no
 * later row reads are let go.  Needs ready(y). */
void
dae__half_chroma_row (DaeHalfChroma *hc, guint64 y, float *c)
{
  guint64 lo, hi;
  float wy;
  half_span (y, hc->hh, &lo, &hi, &wy);
  const size_t at_lo = (lo % hc->cap) * hc->hw, at_hi = (hi % hc->cap) * hc->hw;
  float keep[2];
  for (guint k = 0; k < hc->n; k++)
    keep[k] = 1.0f - dae__denoiser_get_strength (hc->plane[k]);
  for (guint x = 0; x < hc->width; x++)
    {
      guint64 x0, x1;
      float wx;
      half_span (x, hc->hw, &x0, &x1, &wx);
      for (guint k = 0; k < hc->n; k++)
        {
          const float *out = hc->rows[k], *in = hc->ins[k];
          float *p = c + (size_t) k * hc->width + x;
          *p = upsampled (out + at_lo, out + at_hi, wy, x0, x1, wx)
               + keep[k] * (*p - upsampled (in + at_lo, in + at_hi, wy, x0, x1, wx));
        }
    }
  guint64 next_lo, next_hi;
  half_span (y + 1, hc->hh, &next_lo, &next_hi, &wy);
  hc->first = MAX (hc->first, next_lo);
}

/* Where the chroma went and the noise its strengths took. */
void
dae__half_chroma_describe (const DaeHalfChroma *hc, GString *s)
{
  if (hc->n == 1)
    g_string_append_printf (s, "; (R-2G+B)/4 through the model at half size (%ux%u, no Wiener "
                            "filter), its noise there %.1f/255", hc->hw, hc->hh,
                            255 * dae__denoiser_get_noise (hc->plane[0]));
  else
    g_string_append_printf (s, "; chroma planes through the model at half size (%ux%u, no "
                            "Wiener filter), their noise there %.1f/255 and %.1f/255", hc->hw,
                            hc->hh, 255 * dae__denoiser_get_noise (hc->plane[0]),
                            255 * dae__denoiser_get_noise (hc->plane[1]));
}
