/* wiener__ref.c: the Wiener filter's band of blocks (wiener.c), the
 * reference: the band's rows transformed down their columns once, then
 * block by block across, as the filter is written down. */
#include "kernels.h"
#include "../dispatch.h"

#include <string.h>

#define WB 8

/* v[k][x] = sum over i of C[k][i] rows[i][x] (or its inverse, C
 * transposed, when inverse): down the band's columns. */
static void
columns (const float *dct, const float *const *rows, size_t n, gboolean inverse, float *v)
{
  memset (v, 0, WB * n * sizeof (float));
  for (guint k = 0; k < WB; k++)
    for (guint i = 0; i < WB; i++)
      {
        const float c = inverse ? dct[i * WB + k] : dct[k * WB + i];
        const float *b = rows[i];
        for (size_t x = 0; x < n; x++)
          v[k * n + x] += c * b[x];
      }
}

/* t[k][j] = sum over m of v[k][x0 + m] C[j][m]: the block's rows across. */
static void
rows_dct (const float *dct, const float *v, size_t n, size_t x0, float t[WB][WB])
{
  for (guint k = 0; k < WB; k++)
    {
      float acc[WB] = { 0 };
      for (guint m = 0; m < WB; m++)
        {
          const float a = v[k * n + x0 + m];
          for (guint j = 0; j < WB; j++)
            acc[j] += a * dct[j * WB + m];
        }
      memcpy (t[k], acc, sizeof acc);
    }
}

/* The block at column x0 of the band (nv, pv down the columns' transform)
 * shrunk, turned back across and weighted into accv and wrow. */
static void
block (size_t n, const float *dct, const float *nv, const float *pv, float s2, size_t x0,
       float *accv, float *wrow)
{
  float yt[WB][WB], pt[WB][WB];
  rows_dct (dct, nv, n, x0, yt);
  rows_dct (dct, pv, n, x0, pt);
  float sum_f2 = 0.0f;
  for (guint k = 0; k < WB; k++)
    for (guint j = 0; j < WB; j++)
      {
        const float p2 = pt[k][j] * pt[k][j];
        const float f = s2 > 0.0f ? p2 / (p2 + s2) : 1.0f; /* no noise: keep it all */
        yt[k][j] *= f;
        sum_f2 += f * f;
      }
  const float weight = 1.0f / (sum_f2 + 1e-3f);
  for (guint k = 0; k < WB; k++)
    {
      float u[WB] = { 0 }; /* u[m] = sum over j of yt[k][j] C[j][m] */
      for (guint j = 0; j < WB; j++)
        for (guint m = 0; m < WB; m++)
          u[m] += yt[k][j] * dct[j * WB + m];
      for (guint m = 0; m < WB; m++)
        accv[k * n + x0 + m] += weight * u[m];
    }
  for (guint m = 0; m < WB; m++)
    wrow[x0 + m] += weight;
}

void
dae_wiener_band_ref (size_t n, guint step, const float *dct, const float *const *noisy,
                     const float *const *pilot, float s2, float *out, float *wrow)
{
  float *nv = dae__kernel_scratch (3 * WB * n), *pv = nv + WB * n, *accv = pv + WB * n;
  columns (dct, noisy, n, FALSE, nv);
  columns (dct, pilot, n, FALSE, pv);
  memset (accv, 0, WB * n * sizeof (float));
  memset (wrow, 0, n * sizeof (float));
  for (size_t x0 = 0;; x0 += step)
    {
      x0 = MIN (x0, n - WB); /* the last block ends at the edge */
      block (n, dct, nv, pv, s2, x0, accv, wrow);
      if (x0 == n - WB)
        break;
    }
  const float *acc_rows[WB];
  for (guint k = 0; k < WB; k++)
    acc_rows[k] = accv + k * n;
  columns (dct, acc_rows, n, TRUE, out);
}
