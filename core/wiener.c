/* wiener.c: an empirical Wiener filter with the photo model's output as
 * its pilot, BM3D's second step without the block matching.
 *
 * A blind model smooths away fine detail at low and middle noise, and a
 * strength below 1 only hands part of the noise back with it.  Here the
 * noisy plane is cut into 8x8 blocks at every row and column (images up to
 * DAE__WIENER_DENSE_PIXELS) or every second (larger ones, for time); in
 * each block's DCT every coefficient Y is scaled by P^2 / (P^2 + sigma^2),
 * P being the pilot's coefficient there: what the pilot shows above the
 * noise is kept from the noisy plane, the rest is shrunk.  The blocks go
 * back with BM3D's weights, 1 / sum of the squared factors.  On train400
 * (every 20th image, the noise measured as dae-filter does) it gained
 * 0.92 / 0.53 / 0.36 dB over the model at sigma 5 / 10 / 15; from about
 * 20 on the model's own output is nearly as good or better, hence the
 * caller's mix `alpha`.
 *
 * It streams: rows go in one by one with their pilot and come out final
 * once no later band of blocks reaches them, at most WB + 2 rows later.
 * Hand-written: no library at hand does a sliding-block Wiener with a pilot
 * (FFTW and OpenCV's dctDenoising threshold, they take no pilot). */
#include "dae-private.h"
#include "dispatch.h"
#include "threads.h"

#include <math.h>
#include <string.h>

#define WB DAE__WIENER_BLOCK

/* The orthonormal DCT-II matrix: C[k][n]. */
static void
make_dct (float c[WB][WB])
{
  for (guint k = 0; k < WB; k++)
    for (guint n = 0; n < WB; n++)
      c[k][n] = (float) ((k == 0 ? sqrt (1.0 / WB) : sqrt (2.0 / WB))
                         * cos (G_PI * (2 * n + 1) * k / (2.0 * WB)));
}

gboolean
dae__wiener_init (DaeWiener *w, guint width, guint height, guint n_planes,
                  guint level_planes, gboolean opponent, const float *sigma,
                  const float *alpha, guint payload, guint step)
{
  memset (w, 0, sizeof *w);
  g_return_val_if_fail (width >= WB && height >= WB && n_planes >= 1 && n_planes <= 3, FALSE);
  g_return_val_if_fail (step == 1 || step == 2, FALSE);
  g_return_val_if_fail (!opponent || (n_planes > 1 && level_planes == 1
                                      && (n_planes == 3 || payload >= 3 * width)), FALSE);
  w->width = width;
  w->height = height;
  w->n_planes = n_planes;
  w->level_planes = MIN (level_planes, n_planes);
  w->payload = payload;
  w->step = step;
  for (guint c = 0; c < n_planes; c++)
    {
      w->sigma2[c] = sigma[c] * sigma[c];
      w->alpha[c] = alpha[c];
    }
  if (opponent) /* R, G and B's noise: the luma's share of it */
    w->rgb_sigma = sqrtf (w->sigma2[0]) / (float) DAE__OPPONENT_SHARE[0];
  if (opponent && n_planes == 2)
    w->rgb_stride = payload / width;
  const size_t row = (size_t) n_planes * width;
  w->noisy = g_try_new (float, row * DAE__WIENER_RING);
  w->pilot = g_try_new (float, row * DAE__WIENER_RING);
  w->acc = g_try_new (float, row * DAE__WIENER_RING);
  w->wsum = g_try_new (float, row * DAE__WIENER_RING);
  w->extra = g_try_new (float, MAX ((size_t) payload, 1) * DAE__WIENER_RING);
  w->parts = width >= 8 * WB ? 2 : 1;
  w->scratch = g_try_new (float, (size_t) n_planes * (WB + 1) * (width + WB));
  make_dct (w->dct);
  w->band_fn = dae__kernels ()->wiener_band; /* the blocks along a band */
  if (w->noisy && w->pilot && w->acc && w->wsum && w->extra && w->scratch)
    return TRUE;
  dae__wiener_clear (w);
  return FALSE;
}

void
dae__wiener_clear (DaeWiener *w)
{
  g_free (w->noisy);
  g_free (w->pilot);
  g_free (w->acc);
  g_free (w->wsum);
  g_free (w->extra);
  g_free (w->scratch);
  memset (w, 0, sizeof *w);
}

/* Part k of a band's columns, cut in two so that a gray plane keeps two
 * threads busy and a colour photo's three planes do not leave one idle a
 * third of the time: the first part's blocks start at 0, step, .. last
 * (even, about half way), the second's at last + step, ..; together the
 * blocks of the whole band.  They share the 8 - step columns from last +
 * step on.  The cut depends on the width and step alone, never on the
 * threads. */
static void
part_columns (const DaeWiener *w, guint k, size_t *x0, size_t *n)
{
  const size_t last = (w->width - WB) / 4 * 2;
  *x0 = w->parts == 1 || k == 0 ? 0 : last + w->step;
  *n = w->parts == 1 ? w->width : k == 0 ? last + WB : w->width - (last + w->step);
}

/* The band's rows in the ring, plane p's. */
static void
band_rows (const DaeWiener *w, size_t p, size_t at[WB])
{
  const size_t row = (size_t) w->n_planes * w->width;
  for (guint i = 0; i < WB; i++)
    at[i] = ((w->band + i) % DAE__WIENER_RING) * row + p * w->width;
}

/* Part k's band buffers of plane p: out (WB rows) then its weights. */
static float *
part_scratch (const DaeWiener *w, size_t p, guint k)
{
  size_t x0, n0;
  part_columns (w, 0, &x0, &n0);
  return w->scratch + (p * (w->width + WB) + (k == 0 ? 0 : n0)) * (WB + 1);
}

/* Adds columns [c0, c1) of part k's filtered band (plane p) into the
 * ring's accumulators. */
static void
add_part (DaeWiener *w, size_t p, guint k, size_t c0, size_t c1)
{
  size_t at[WB], x0, n;
  band_rows (w, p, at);
  part_columns (w, k, &x0, &n);
  const float *out = part_scratch (w, p, k), *wrow = out + WB * n;
  for (guint i = 0; i < WB; i++)
    for (size_t x = c0; x < c1; x++)
      {
        w->acc[at[i] + x] += out[i * n + x - x0];
        w->wsum[at[i] + x] += wrow[x - x0];
      }
}

/* Part k of the band at w->band of plane p (a pool item: p * parts + k):
 * its blocks filtered (kernels/wiener__*.c) and the columns no other part
 * reaches added into the ring's accumulators. */
static void
filter_part (size_t item, guint worker, gpointer data)
{
  DaeWiener *w = data;
  (void) worker;
  const size_t p = item / w->parts;
  const guint k = (guint) (item % w->parts);
  if (w->alpha[p] <= 0.0f)
    return;
  size_t at[WB], x0, n;
  band_rows (w, p, at);
  part_columns (w, k, &x0, &n);
  const float *noisy[WB], *pilot[WB];
  for (guint i = 0; i < WB; i++)
    {
      noisy[i] = w->noisy + at[i] + x0;
      pilot[i] = w->pilot + at[i] + x0;
    }
  float *out = part_scratch (w, p, k);
  w->band_fn (n, w->step, &w->dct[0][0], noisy, pilot, w->sigma2[p], out, out + WB * n);
  if (w->parts == 1)
    {
      add_part (w, p, 0, 0, w->width);
      return;
    }
  size_t s0, n0, s1, n1;
  part_columns (w, 0, &s0, &n0);
  part_columns (w, 1, &s1, &n1);
  add_part (w, p, k, k == 0 ? 0 : n0, k == 0 ? s1 : w->width);
}

/* The columns both parts reach, added after both (first part first): the
 * same sums whatever the threads. */
static void
add_shared (DaeWiener *w)
{
  if (w->parts == 1)
    return;
  size_t x0, n0, x1, n1;
  part_columns (w, 0, &x0, &n0);
  part_columns (w, 1, &x1, &n1);
  for (size_t p = 0; p < w->n_planes; p++)
    if (w->alpha[p] > 0.0f)
      for (guint k = 0; k < 2; k++)
        add_part (w, p, k, x1, n0);
}

void
dae__wiener_push (DaeWiener *w, const float *noisy, const float *pilot, const float *payload,
                  DaeThreadPool *pool)
{
  const size_t row = (size_t) w->n_planes * w->width;
  const size_t slot = w->pushed % DAE__WIENER_RING;
  g_return_if_fail (w->pushed < w->height && w->pushed - w->popped < DAE__WIENER_RING);
  memcpy (w->noisy + slot * row, noisy, row * sizeof (float));
  memcpy (w->pilot + slot * row, pilot, row * sizeof (float));
  memset (w->acc + slot * row, 0, row * sizeof (float));
  memset (w->wsum + slot * row, 0, row * sizeof (float));
  if (w->payload > 0)
    memcpy (w->extra + slot * w->payload, payload, w->payload * sizeof (float));
  w->pushed++;
  /* Bands start every `step` rows, the last one at the bottom edge. */
  while (w->final < w->height && w->band + WB <= w->pushed)
    {
      const size_t items = (size_t) w->n_planes * w->parts;
      if (pool != NULL) /* the planes' parts at once */
        dae__pool_run (pool, items, filter_part, w);
      else
        for (size_t i = 0; i < items; i++)
          filter_part (i, 0, w);
      add_shared (w);
      const guint64 last = w->height - WB;
      w->final = w->band == last ? w->height : MIN (w->band + w->step, last);
      w->band = w->final < w->height ? w->final : w->band;
    }
}

/* The share of the Wiener estimate at luma level v (the pilot's) with
 * noise sigma: none within half a sigma of black or white, all from one
 * and a half on.  There the noise is clipped, no longer zero-mean, and the
 * filter keeps its bias from the noisy blocks (a black letterbox under
 * noise of 25/255 came out brighter by 1.2/255 than the pilot left it);
 * the model, trained on clipped noise, knows better. */
static inline float
clip_share (float v, float sigma)
{
  return CLAMP ((MIN (v, 1.0f - v) - 0.5f * sigma) / sigma, 0.0f, 1.0f);
}

/* The same at pixel x of the opponent planes (Y, (R-B)/2 + 1/2,
 * (R-2G+B)/4 + 1/2 in p), for a chroma plane: by whichever
 * of R, G and B is nearest black or white, with their noise sigma, since a
 * saturated colour's chroma noise is clipped on one side only (a red
 * flower's (R-B)/2 came out 1.5 dB worse from the Wiener filter than from
 * the model alone); in full only where R, G and B lie more than two sigmas
 * apart: a grey near black clips them alike and its chroma stays unbiased
 * (a star field lost 0.06 dB without this). */
static inline float
rgb_clip_share (const float p[3], float sigma)
{
  float c[3];
  dae__opponent_to_rgb (p, c);
  const float lo = MIN (c[0], MIN (c[1], c[2])), hi = MAX (c[0], MAX (c[1], c[2]));
  const float colour = CLAMP ((hi - lo) / sigma - 1.0f, 0.0f, 1.0f);
  return 1.0f - colour * (1.0f - clip_share (lo < 1.0f - hi ? lo : hi, sigma));
}

/* Plane p's share of the Wiener estimate at pixel x (sigma: the plane's;
 * payload: the row's). */
static inline float
wiener_share (const DaeWiener *w, const float *pilot, const float *payload, guint p,
              float sigma, size_t x)
{
  if (p < w->level_planes)
    return sigma > 0.0f ? w->alpha[p] * clip_share (pilot[p * (size_t) w->width + x], sigma)
                        : w->alpha[p];
  if (w->rgb_sigma > 0.0f)
    {
      const float o[3] = { pilot[x], pilot[w->width + x],
                           w->rgb_stride == 0 ? pilot[2 * (size_t) w->width + x]
                           /* (R-2G+B)/4 goes through the model elsewhere: the input's */
                           : dae__opponent (payload + x * w->rgb_stride, 2) };
      return w->alpha[p] * rgb_clip_share (o, w->rgb_sigma);
    }
  return w->alpha[p];
}

gboolean
dae__wiener_pop (DaeWiener *w, float *planes, const float **noisy, const float **payload)
{
  if (w->popped >= w->final)
    return FALSE;
  const size_t row = (size_t) w->n_planes * w->width;
  const size_t slot = w->popped % DAE__WIENER_RING;
  const float *acc = w->acc + slot * row, *ws = w->wsum + slot * row;
  const float *pilot = w->pilot + slot * row, *extra = w->extra + slot * w->payload;
  for (guint p = 0; p < w->n_planes; p++)
    {
      const float sigma = sqrtf (w->sigma2[p]);
      for (size_t x = 0; x < w->width; x++)
        {
          const size_t i = (size_t) p * w->width + x;
          const float s = wiener_share (w, pilot, extra, p, sigma, x);
          planes[i] = s > 0.0f ? s * (acc[i] / ws[i]) + (1.0f - s) * pilot[i] : pilot[i];
        }
    }
  *noisy = w->noisy + slot * row;
  *payload = extra;
  w->popped++;
  return TRUE;
}
