/* noise-patch.c: a plane's noise from its weak-textured patches (Liu,
 * Tanaka and Okutomi, "Single-image noise level estimation for blind
 * denoising", IEEE TIP 22(12), 2013), for a photo's automatic strength.
 *
 * The noise is the smallest variance over the directions of 7x7 patch
 * space, among patches whose gradients noise alone could give: texture
 * varies along few of the 49 directions, white noise along all.  The HH
 * band's quiet blocks (analyze.c) read a strongly textured clean photo's
 * texture as noise (a crop of MATE's Elephants: 10.5/255; 2.7 here).
 * Additions to the paper: each patch's own mean is taken out (its DC
 * direction has no noise left, so the second smallest eigenvalue is read),
 * the Marchenko-Pastur bias of the smallest sample eigenvalue is corrected,
 * patches within 1.5 sigma of black or white (clipped noise) are left out,
 * and the rounds stop when the selection stops changing.  About 64k
 * patches on a grid: 13-28 ms for a 12-megapixel photo's look-ahead rows. */
#include "dae-private.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define P 7
#define D (P * P)
#define DP 52         /* D padded to whole blocks of 4 floats */
/* gamma.ppf (1 - 1e-6, 45 / 2, scale 2 * 35 / 45): the gradient energy of a
 * patch of white noise of variance 1 (rank 45, trace 35 of the central
 * differences' Gram matrix) stays below it but once in a million. */
#define TAU0 81.82
#define BUDGET 65536u /* patches on the grid: the estimate's cost is bounded */
#define ROUNDS 5
#define CHUNK 64 /* patches summed in float before the double sums */

typedef struct {
  const float *plane;
  guint w, step, nx;
  guint64 n;
  float *g, *mean; /* per patch: gradient energy, mean */
  guint8 *sel;
} Pool;

typedef struct {
  double c[D][D]; /* sum of v v^T (upper triangle) over the selection */
  double s[D], n;
  float chunk[D][DP];
  guint in_chunk;
  float queue[4][DP], sign[4]; /* patches waiting for sums_rank4 */
  guint in_queue;
  double cov[D][D]; /* estimate()'s scratch */
  double trace;     /* of the last covariance */
} Sums;

/* Patch k's pixels less their mean into v (zero padded); returns the mean. */
static float
patch_vector (const Pool *pl, guint64 k, float *v)
{
  const float *p = pl->plane + (size_t) (k / pl->nx) * pl->step * pl->w + (k % pl->nx) * pl->step;
  float m = 0;
  for (guint y = 0; y < P; y++)
    for (guint x = 0; x < P; x++)
      m += v[y * P + x] = p[(size_t) y * pl->w + x];
  m /= D;
  for (guint i = 0; i < D; i++)
    v[i] -= m;
  for (guint i = D; i < DP; i++)
    v[i] = 0;
  return m;
}

/* A quarter of the squared central differences along rows and columns
 * inside the patch: |Dh v|^2 + |Dv v|^2 for the paper's [-1/2 0 1/2]. */
static float
gradient_energy (const float *v)
{
  float g = 0;
  for (guint y = 0; y < P; y++)
    for (guint x = 1; x + 1 < P; x++)
      {
        const float dh = v[y * P + x + 1] - v[y * P + x - 1];
        const float dv = v[(x + 1) * P + y] - v[(x - 1) * P + y];
        g += dh * dh + dv * dv;
      }
  return 0.25f * g;
}

/* Four floats in a vector register (GCC and Clang): GCC at -O2 leaves the
 * loop below scalar, three times slower.  Unaligned loads and stores. */
typedef float V4 __attribute__ ((vector_size (16)));

static inline V4
load4 (const float *p)
{
  V4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
store4 (float *p, V4 v)
{
  memcpy (p, &v, sizeof v);
}

/* The queued patches' products into the float sums, four patches at a
 * time (a quarter of the loads and stores of one at a time); into the
 * double sums every CHUNK patches. */
static void
sums_rank4 (Sums *restrict s)
{
  const float (*restrict b)[DP] = (const float (*)[DP]) s->queue;
  for (guint i = 0; i < D; i++)
    {
      const float a0 = s->sign[0] * b[0][i], a1 = s->sign[1] * b[1][i];
      const float a2 = s->sign[2] * b[2][i], a3 = s->sign[3] * b[3][i];
      float *restrict row = s->chunk[i];
      for (guint j = i & ~3u; j < DP; j += 4)
        store4 (row + j, load4 (row + j) + a0 * load4 (b[0] + j) + a1 * load4 (b[1] + j)
                             + a2 * load4 (b[2] + j) + a3 * load4 (b[3] + j));
      s->s[i] += a0 + a1 + a2 + a3;
    }
  s->n += s->sign[0] + s->sign[1] + s->sign[2] + s->sign[3];
  memset (s->sign, 0, sizeof s->sign); /* stale slots add nothing */
  s->in_queue = 0;
  s->in_chunk += 4;
}

static void
sums_flush (Sums *s)
{
  if (s->in_queue > 0) /* the empty slots add zeros */
    sums_rank4 (s);
  s->in_chunk = 0;
  for (guint i = 0; i < D; i++)
    for (guint j = i; j < D; j++)
      s->c[i][j] += s->chunk[i][j];
  memset (s->chunk, 0, sizeof s->chunk);
}

/* Adds (sign +1) or takes out (-1) a patch v. */
static void
sums_add (Sums *s, const float *v, float sign)
{
  memcpy (s->queue[s->in_queue], v, sizeof s->queue[0]);
  s->sign[s->in_queue] = sign;
  if (++s->in_queue == 4)
    sums_rank4 (s);
  if (s->in_chunk >= CHUNK)
    sums_flush (s);
}

/* The eigenvalues of the symmetric a (destroyed) into ev, ascending: cyclic
 * Jacobi, written here since LAPACK is not among the core's dependencies
 * (OpenBLAS is optional, and a plain CBLAS has no ssyev). */
static void
jacobi_eigenvalues (double a[D][D], double *ev)
{
  double norm = 0;
  for (guint i = 0; i < D; i++)
    for (guint j = 0; j < D; j++)
      norm += a[i][j] * a[i][j];
  for (guint sweep = 0; sweep < 50; sweep++)
    {
      double off = 0;
      for (guint p = 0; p < D; p++)
        for (guint q = p + 1; q < D; q++)
          off += 2 * a[p][q] * a[p][q];
      if (off <= 1e-26 * norm)
        break;
      for (guint p = 0; p < D; p++)
        for (guint q = p + 1; q < D; q++)
          {
            if (a[p][q] == 0.0)
              continue;
            const double th = (a[q][q] - a[p][p]) / (2 * a[p][q]);
            const double t = (th >= 0 ? 1.0 : -1.0) / (fabs (th) + sqrt (th * th + 1));
            const double c = 1 / sqrt (t * t + 1), sn = t * c;
            for (guint k = 0; k < D; k++) /* columns p, q, then rows */
              {
                const double x = a[k][p], y = a[k][q];
                a[k][p] = c * x - sn * y;
                a[k][q] = sn * x + c * y;
              }
            for (guint k = 0; k < D; k++)
              {
                const double x = a[p][k], y = a[q][k];
                a[p][k] = c * x - sn * y;
                a[q][k] = sn * x + c * y;
              }
          }
    }
  for (guint i = 0; i < D; i++)
    ev[i] = a[i][i];
  for (guint i = 1; i < D; i++) /* insertion sort: 49 values */
    for (guint j = i; j > 0 && ev[j - 1] > ev[j]; j--)
      {
        const double t = ev[j];
        ev[j] = ev[j - 1];
        ev[j - 1] = t;
      }
}

/* The noise variance of the selection: the second smallest eigenvalue of
 * its covariance (the smallest is the DC direction, ~0), over the
 * Marchenko-Pastur factor (1 - sqrt (d / n))^2 by which the smallest of d
 * sample eigenvalues from n patches falls short. */
static double
estimate (Sums *s)
{
  sums_flush (s);
  double (*cov)[D] = s->cov, ev[D];
  const double n = s->n;
  for (guint i = 0; i < D; i++)
    for (guint j = i; j < D; j++)
      cov[i][j] = cov[j][i] = (s->c[i][j] - s->s[i] * s->s[j] / n) / (n - 1);
  s->trace = 0;
  for (guint i = 0; i < D; i++)
    s->trace += cov[i][i];
  jacobi_eigenvalues (cov, ev);
  const double mp = 1 - sqrt ((D - 1) / n);
  return MAX (ev[1], 0.0) / (mp * mp);
}

/* The patches on a grid of step pl->step: gradient energy and mean of
 * each, all of them selected and summed. */
static void
pool_fill (Pool *pl, Sums *s)
{
  float v[DP];
  for (guint64 k = 0; k < pl->n; k++)
    {
      pl->mean[k] = patch_vector (pl, k, v);
      pl->g[k] = gradient_energy (v);
      sums_add (s, v, 1.0f);
    }
  memset (pl->sel, 1, pl->n);
}

/* One round: the weak-textured patches away from black and white under
 * the variance sig2 into the selection and the sums (patches that change
 * sides, or the whole selection again when fewer); FALSE when it is too
 * small or unchanged, the last estimate standing. */
static gboolean
reselect (const Pool *pl, Sums *s, double sig2, guint8 *next)
{
  const float t = (float) (TAU0 * sig2), mg = (float) (DAE__CLIP_MARGIN * sqrt (sig2));
  guint64 n_new = 0, n_flip = 0;
  for (guint64 k = 0; k < pl->n; k++)
    {
      next[k] = pl->g[k] < t && pl->mean[k] >= mg && pl->mean[k] <= 1 - mg;
      n_new += next[k];
      n_flip += next[k] != pl->sel[k];
    }
  if (n_new < 2 * D || n_flip == 0)
    return FALSE;
  const gboolean anew = n_flip > n_new;
  if (anew)
    memset (s, 0, offsetof (Sums, cov));
  float v[DP];
  for (guint64 k = 0; k < pl->n; k++)
    if (anew ? next[k] : next[k] != pl->sel[k])
      {
        patch_vector (pl, k, v);
        sums_add (s, v, next[k] ? 1.0f : -1.0f);
      }
  memcpy (pl->sel, next, pl->n);
  return TRUE;
}

double
dae__patch_noise (const float *plane, guint w, guint h, double *rms)
{
  if (rms != NULL)
    *rms = -1.0;
  if (w < P || h < P)
    return -1.0;
  const double area = (double) (w - P + 1) * (h - P + 1);
  Pool pl = { .plane = plane, .w = w };
  pl.step = (guint) MAX (1.0, ceil (sqrt (area / BUDGET)));
  pl.nx = (w - P) / pl.step + 1;
  pl.n = (guint64) pl.nx * ((h - P) / pl.step + 1);
  if (pl.n < 2 * D)
    return -1.0;
  Sums *s = g_try_new0 (Sums, 1);
  float *buf = g_try_malloc (pl.n * (2 * sizeof (float) + 2));
  double sig2 = -1.0;
  if (s != NULL && buf != NULL)
    {
      pl.g = buf;
      pl.mean = buf + pl.n;
      pl.sel = (guint8 *) (buf + 2 * pl.n);
      guint8 *next = pl.sel + pl.n;
      pool_fill (&pl, s);
      sig2 = estimate (s);
      for (guint r = 0; r < ROUNDS && reselect (&pl, s, sig2, next); r++)
        sig2 = estimate (s);
    }
  /* The sums of a selection of flat patches cancel to a hair below zero
   * (train400's test_173: its near-black shadows): a zero RMS, not NaN. */
  if (rms != NULL && sig2 >= 0)
    *rms = sqrt (MAX (s->trace, 0.0) / (D - 1));
  g_free (buf);
  g_free (s);
  return sig2 < 0 ? -1.0 : sqrt (sig2);
}
