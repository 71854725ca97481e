/* wiener.c: an empirical Wiener filter with the photo model's output as
 * its pilot, BM3D's second step without the block matching.
 *
 * A blind model smooths away fine detail at low and middle noise, and a
 * strength below 1 only hands part of the noise back with it.  Here the
 * noisy plane is cut into 8x8 blocks at every second row and column; in
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
 * once no later band of blocks reaches them, at most WB + WSTEP rows later.
 * Hand-written: no library at hand does a sliding-block Wiener with a pilot
 * (FFTW and OpenCV's dctDenoising threshold, they take no pilot). */
#include "dae-private.h"
#include "dispatch.h"
#include "threads.h"

#include <math.h>
#include <string.h>

#define WB DAE__WIENER_BLOCK
#define WSTEP 2    /* between bands of blocks (the kernels step the same across) */

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
                  guint level_planes, const float *sigma, const float *alpha, guint payload)
{
  memset (w, 0, sizeof *w);
  g_return_val_if_fail (width >= WB && height >= WB && n_planes >= 1 && n_planes <= 3, FALSE);
  w->width = width;
  w->height = height;
  w->n_planes = n_planes;
  w->level_planes = MIN (level_planes, n_planes);
  w->payload = payload;
  for (guint c = 0; c < n_planes; c++)
    {
      w->sigma2[c] = sigma[c] * sigma[c];
      w->alpha[c] = alpha[c];
    }
  const size_t row = (size_t) n_planes * width;
  w->noisy = g_try_new (float, row * DAE__WIENER_RING);
  w->pilot = g_try_new (float, row * DAE__WIENER_RING);
  w->acc = g_try_new (float, row * DAE__WIENER_RING);
  w->wsum = g_try_new (float, row * DAE__WIENER_RING);
  w->extra = g_try_new (float, MAX ((size_t) payload, 1) * DAE__WIENER_RING);
  w->scratch = g_try_new (float, (size_t) n_planes * (WB + 1) * width);
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

/* The band at w->band of plane p (a pool item): its blocks filtered
 * (kernels/wiener__*.c) and added into the ring's accumulators. */
static void
filter_plane_band (size_t p, guint worker, gpointer data)
{
  DaeWiener *w = data;
  (void) worker;
  if (w->alpha[p] <= 0.0f)
    return;
  const size_t n = w->width, row = (size_t) w->n_planes * n;
  float *out = w->scratch + p * (WB + 1) * n, *wrow = out + WB * n;
  const float *noisy[WB], *pilot[WB];
  size_t at[WB]; /* the band's rows in the ring */
  for (guint i = 0; i < WB; i++)
    {
      at[i] = ((w->band + i) % DAE__WIENER_RING) * row + p * n;
      noisy[i] = w->noisy + at[i];
      pilot[i] = w->pilot + at[i];
    }
  w->band_fn (n, &w->dct[0][0], noisy, pilot, w->sigma2[p], out, wrow);
  for (guint i = 0; i < WB; i++)
    for (size_t x = 0; x < n; x++)
      {
        w->acc[at[i] + x] += out[i * n + x];
        w->wsum[at[i] + x] += wrow[x];
      }
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
  /* Bands start every WSTEP rows, the last one at the bottom edge. */
  while (w->final < w->height && w->band + WB <= w->pushed)
    {
      if (pool != NULL) /* the planes at once */
        dae__pool_run (pool, w->n_planes, filter_plane_band, w);
      else
        for (guint p = 0; p < w->n_planes; p++)
          filter_plane_band (p, 0, w);
      const guint64 last = w->height - WB;
      w->final = w->band == last ? w->height : MIN (w->band + WSTEP, last);
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

gboolean
dae__wiener_pop (DaeWiener *w, float *planes, const float **noisy, const float **payload)
{
  if (w->popped >= w->final)
    return FALSE;
  const size_t row = (size_t) w->n_planes * w->width;
  const size_t slot = w->popped % DAE__WIENER_RING;
  const float *acc = w->acc + slot * row, *ws = w->wsum + slot * row;
  const float *pilot = w->pilot + slot * row;
  for (guint p = 0; p < w->n_planes; p++)
    {
      const float a = w->alpha[p], sigma = sqrtf (w->sigma2[p]);
      const gboolean clips = p < w->level_planes && sigma > 0.0f;
      for (size_t i = (size_t) p * w->width; i < (size_t) (p + 1) * w->width; i++)
        {
          const float s = clips ? a * clip_share (pilot[i], sigma) : a;
          planes[i] = s > 0.0f ? s * (acc[i] / ws[i]) + (1.0f - s) * pilot[i] : pilot[i];
        }
    }
  *noisy = w->noisy + slot * row;
  *payload = w->extra + slot * w->payload;
  w->popped++;
  return TRUE;
}
