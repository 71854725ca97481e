/* analyze.c: cheap statistics of an image's first rows, from which the
 * denoiser picks a model (document page or photo), the polarity prior and
 * how strongly to denoise.
 *
 * Everything works on 2x2 means of the luma (half the noise, a quarter of
 * the pixels):
 * - noise: from HH, the finest diagonal Haar band (Donoho's estimator:
 *   image structure barely reaches that band), in its quietest blocks, and
 *   over bands of brightness for the strength (noise_sigma); a photo's
 *   strength also takes the noise of its weak-textured 7x7 patches at full
 *   resolution, which strong texture fools less (noise-patch.c, measured
 *   by the tiler once the photo model is chosen, where
 *   dae__analyze_patch_noise takes the luma);
 * - the two-class split of Otsu's threshold: how bimodal the levels are,
 *   the minority ("ink") share, how much of the ink is thin strokes (what
 *   a 5x5 erosion removes), the mid-tones between the classes;
 * - 8x8 blocks of the means: flat, strongly edged or textured, and the
 *   share of blocks at the dominant (paper) level;
 * - colour saturation;
 * - for colour images, the noise of the two opponent chroma planes, for
 *   the strength of their denoising;
 * - at full resolution, after a 3x3 median: the ink's commonest stroke
 *   width, by which the document model's specks are told from dots.
 * The two-class and block statistics are measured again on the plane with
 * its shading taken out (flatten): stains, uneven light and tinted panels
 * hide a page from the first set, not from the second; two more say how
 * the ink rises and falls with lines of text.  A small ensemble of networks
 * on these twenty-one numbers gives the probability of a page;
 * tools/fit-page-classifier fits it on training-side images only (see
 * weights/README.md, "Automatic choice"). */
#include "dae-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIGMA_BINS 4096u /* |HH| histogram over [0, 0.5) for the median */

/* The half plane and every scratch buffer, carved from one allocation so
 * that running out of memory is one failure, reported, not an abort. */
typedef struct {
  guint w, h;        /* of the 2x2-mean plane */
  float *mean;       /* w x h 2x2 means */
  float *hh;         /* w x h HH coefficients */
  float *blur;       /* w x h */
  guint8 *q, *ink, *tmp; /* w x h each */
  double *energy;    /* (w/8) x (h/8) blocks */
  double *sel;       /* (w/8) x (h/8): a subset of energy, sorted */
  float *bmeans;     /* (w/8) x (h/8) blocks */
  float *lo, *hi;    /* w x h: local minimum and maximum (flattening) */
  void *block;
} HalfPlane;

static gboolean
half_plane_alloc (HalfPlane *hp, guint width, guint n_rows)
{
  hp->w = width / 2;
  hp->h = n_rows / 2;
  const size_t n = MAX ((size_t) hp->w * hp->h, 1), nb = MAX (n / 64, 1);
  const size_t bytes = 2 * nb * sizeof (double) + 5 * n * sizeof (float) + nb * sizeof (float) + 3 * n;
  char *p = hp->block = g_try_malloc (bytes);
  if (p == NULL)
    return FALSE;
  hp->energy = (double *) p;
  hp->sel = (double *) (p += nb * sizeof (double));
  hp->mean = (float *) (p += nb * sizeof (double));
  hp->hh = (float *) (p += n * sizeof (float));
  hp->blur = (float *) (p += n * sizeof (float));
  hp->lo = (float *) (p += n * sizeof (float));
  hp->hi = (float *) (p += n * sizeof (float));
  hp->bmeans = (float *) (p += n * sizeof (float));
  hp->q = (guint8 *) (p += nb * sizeof (float));
  hp->ink = (guint8 *) (p += n);
  hp->tmp = (guint8 *) (p + n);
  return TRUE;
}

static inline float
pixel_luma (const float *px, guint n_color)
{
  if (n_color >= 3)
    return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
  if (n_color == 2)
    return 0.5f * (px[0] + px[1]);
  return px[0];
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The bin holding the median of n counts in hist[0..n_bins-1] (the last
 * bin holds everything beyond). */
static guint
median_bin (const guint64 *hist, guint n_bins, guint64 n)
{
  guint64 seen = 0;
  guint b = 0;
  for (; b < n_bins - 1; b++)
    if ((seen += hist[b]) * 2 >= n)
      break;
  return b;
}

/* The noise from the HH band's energy in 8x8 blocks of coefficients (16x16
 * pixels): texture and edges raise some blocks, never lower them, so a low
 * quantile of the blocks' energies is the noise's, scaled by that quantile
 * of chi^2 with 64 degrees of freedom over 64 (0.728 for the 5th
 * percentile).  Only blocks whose mean lies in [lo, hi] count; -1 when
 * fewer than min_n (>= 1) do. */
static double
quiet_blocks_sigma (const HalfPlane *hp, guint n_blocks, double lo, double hi, guint min_n)
{
  guint n = 0;
  for (guint i = 0; i < n_blocks; i++)
    if (hp->bmeans[i] >= lo && hp->bmeans[i] <= hi)
      hp->sel[n++] = hp->energy[i];
  if (n < min_n)
    return -1.0;
  qsort (hp->sel, n, sizeof (double), compare_double);
  return sqrt (hp->sel[n / 20] / 0.728);
}

/* Noise that grows with the signal (photon noise: a camera's, Poisson-
 * Gaussian) is what the quietest blocks understate: they lie in the
 * shadows.  BANDS bands of brightness, equally many blocks in each, give a
 * noise each (the low quantile of their blocks' energies); the mean of
 * their variances is the noise over the picture, what a denoiser takes
 * out.  On four training photos with photon noise of 25/255 at mid-grey
 * the automatic strength went from 29.06 to 31.14 dB; Gaussian noise
 * stays where it was (train400: the same to 0.01 dB). */
#define BANDS 8

typedef struct {
  float mean;
  double energy;
} BlockStat;

static int
compare_block_mean (gconstpointer a, gconstpointer b)
{
  const float x = ((const BlockStat *) a)->mean, y = ((const BlockStat *) b)->mean;
  return (x > y) - (x < y);
}

/* The noise over BANDS brightness bands of the blocks whose mean lies in
 * [lo, hi]; -1 when fewer than 16 blocks a band, or out of memory. */
static double
banded_sigma (const HalfPlane *hp, guint n_blocks, double lo, double hi)
{
  g_autofree BlockStat *b = g_try_new (BlockStat, n_blocks);
  guint n = 0;
  for (guint i = 0; b != NULL && i < n_blocks; i++)
    if (hp->bmeans[i] >= lo && hp->bmeans[i] <= hi)
      b[n++] = (BlockStat) { hp->bmeans[i], hp->energy[i] };
  if (b == NULL || n < 16 * BANDS)
    return -1.0;
  qsort (b, n, sizeof *b, compare_block_mean);
  double var = 0;
  for (guint k = 0; k < BANDS; k++)
    {
      const guint from = (guint) ((guint64) n * k / BANDS), to = (guint) ((guint64) n * (k + 1) / BANDS);
      for (guint i = from; i < to; i++)
        hp->sel[i - from] = b[i].energy;
      qsort (hp->sel, to - from, sizeof (double), compare_double);
      var += hp->sel[(to - from) / 20] / 0.728 / BANDS;
    }
  return sqrt (var);
}

/* The noise over all blocks, and (*unclipped, unless NULL) over the blocks
 * away from black and white: clipping there cuts part of the noise off, and a photo
 * with a bright sky read noise of 25/255 as 16 from its quietest blocks.
 * Two rounds, each from the last estimate; fewer than 16 blocks or 2% of
 * them keep the last.
 * Falls back to the median |HH| (Donoho) on images too small for blocks. */
static double
noise_sigma (const HalfPlane *hp, const guint64 *hist, double *unclipped)
{
  const float *hh = hp->hh;
  const guint w = hp->w, h = hp->h;
  const guint bw = w / 8, bh = h / 8;
  if (bw * bh < 4)
    {
      const guint64 n = (guint64) w * h;
      const guint b = median_bin (hist, SIGMA_BINS, n);
      const double sigma = n == 0 ? 0.0 : (b + 0.5) / (2.0 * SIGMA_BINS) / 0.6745;
      if (unclipped != NULL)
        *unclipped = sigma;
      return sigma;
    }
  for (guint by = 0; by < bh; by++)
    for (guint bx = 0; bx < bw; bx++)
      {
        double e = 0, m = 0;
        for (guint y = 0; y < 8; y++)
          for (guint x = 0; x < 8; x++)
            {
              const size_t i = (size_t) (by * 8 + y) * w + bx * 8 + x;
              e += (double) hh[i] * hh[i];
              m += hp->mean[i];
            }
        hp->energy[(size_t) by * bw + bx] = e / 64;
        hp->bmeans[(size_t) by * bw + bx] = (float) (m / 64);
      }
  const double sigma = quiet_blocks_sigma (hp, bw * bh, -HUGE_VAL, HUGE_VAL, 1);
  if (unclipped == NULL)
    return sigma;
  *unclipped = sigma;
  for (guint round = 0; round < 2; round++)
    {
      const double margin = DAE__CLIP_MARGIN * *unclipped;
      const double s = quiet_blocks_sigma (hp, bw * bh, margin, 1.0 - margin,
                                           MAX (16, bw * bh / 50));
      if (s < 0.0)
        break;
      *unclipped = s;
    }
  const double margin = DAE__CLIP_MARGIN * *unclipped;
  const double banded = banded_sigma (hp, bw * bh, margin, 1.0 - margin);
  if (banded >= 0.0)
    *unclipped = banded;
  return sigma;
}

/* A pixel's value in plane 0 (the luma) or opponent chroma plane 1 or 2. */
static inline float
pixel_value (const float *px, guint n_color, guint plane)
{
  return plane == 0 ? pixel_luma (px, n_color) : dae__opponent (px, plane);
}

/* One 2x2 cell a b / c d of a Haar step: its mean and diagonal detail,
 * counted in the |HH| histogram. */
static inline void
haar_cell (float a, float b, float c, float d, float *mean, float *hh, guint64 *hist)
{
  *mean = 0.25f * (a + b + c + d);
  *hh = 0.5f * (a - b - c + d);
  hist[MIN ((guint) (fabsf (*hh) * 2 * SIGMA_BINS), SIGMA_BINS - 1)]++;
}

/* 2x2 means of a plane and the noise estimates from the HH band (over all
 * blocks; *unclipped, unless NULL, away from black and white). */
static double
half_plane (const float *rows, guint width, guint channels, guint n_color, guint plane,
            HalfPlane *hp, double *unclipped)
{
  float *hh = hp->hh;
  g_autofree guint64 *hist = g_new0 (guint64, SIGMA_BINS); /* 32 KiB */
  const size_t row_f = (size_t) width * channels;
  for (guint y = 0; y < hp->h; y++)
    {
      const float *r0 = rows + (size_t) (2 * y) * row_f, *r1 = r0 + row_f;
      for (guint x = 0; x < hp->w; x++)
        {
          const size_t o = (size_t) (2 * x) * channels;
          const float a = pixel_value (r0 + o, n_color, plane);
          const float b = pixel_value (r0 + o + channels, n_color, plane);
          const float c = pixel_value (r1 + o, n_color, plane);
          const float d = pixel_value (r1 + o + channels, n_color, plane);
          const size_t i = (size_t) y * hp->w + x;
          haar_cell (a, b, c, d, &hp->mean[i], &hh[i], hist);
        }
    }
  return noise_sigma (hp, hist, unclipped);
}

/* The noise of the next band: HH of the 2x2 means of hp's means, in the
 * quarter plane q, whose means and coefficients go to MEAN and HH (scratch
 * buffers of hp's).  Noise in 2x2 blocks (the chroma of a JPEG of 4:2:0,
 * nearly every photo's) leaves no trace in the finest band and all of it
 * here; white noise shows half its level. */
static double
coarser_sigma (const HalfPlane *hp, HalfPlane *q, float *mean, float *hh)
{
  *q = *hp;
  q->w = hp->w / 2;
  q->h = hp->h / 2;
  q->mean = mean;
  q->hh = hh;
  g_autofree guint64 *hist = g_new0 (guint64, SIGMA_BINS);
  for (guint y = 0; y < q->h; y++)
    for (guint x = 0; x < q->w; x++)
      {
        const float *r0 = hp->mean + (size_t) (2 * y) * hp->w + 2 * x, *r1 = r0 + hp->w;
        const size_t i = (size_t) y * q->w + x;
        haar_cell (r0[0], r0[1], r1[0], r1[1], &q->mean[i], &q->hh[i], hist);
      }
  return q->w && q->h ? noise_sigma (q, hist, NULL) : 0.0;
}

/* A chroma plane's noise: the largest of the finest band's (fine) and the
 * next two bands' (JPEG's quantisation leaves the chroma's noise in
 * blotches of 4-8 pixels). */
static double
chroma_sigma (HalfPlane *hp, double fine)
{
  HalfPlane q2, q3;
  const double s2 = coarser_sigma (hp, &q2, hp->blur, hp->lo);
  const double s3 = coarser_sigma (&q2, &q3, hp->hh, hp->hi);
  return MAX (fine, MAX (s2, s3));
}

/* The image's own energy in the HH band, beyond the noise's: fine detail
 * that a denoiser cannot tell from noise, whose loss is most of its error. */
static double
fine_detail (const HalfPlane *hp, double sigma)
{
  const size_t n = (size_t) hp->w * hp->h;
  double e = 0;
  for (size_t i = 0; i < n; i++)
    e += (double) hp->hh[i] * hp->hh[i];
  return n ? sqrt (MAX (e / n - sigma * sigma, 0.0)) : 0.0;
}

/* The level of the ink class's darkest fifth (lightest, on a dark page),
 * from the histogram of levels and Otsu's split t. */
static double
ink_core (const guint64 *hist, guint t, gboolean light, guint64 n_ink)
{
  guint64 seen = 0;
  for (guint k = 0; k < 256; k++)
    {
      const guint i = light ? k : 255 - k;
      if ((light ? i > t : i <= t) || (seen += hist[i]) * 5 >= n_ink)
        return i / 255.0;
    }
  return light ? 0.0 : 1.0;
}

/* 8x8 blocks of the half plane: flat / strong / textured shares and the
 * share of blocks near the dominant level. */
static void
block_features (const HalfPlane *hp, double sigma, double *f)
{
  const guint bw = hp->w / 8, bh = hp->h / 8;
  const double t_flat = 3 * sigma + 0.04, t_strong = 0.3 + 2 * sigma;
  guint64 flat = 0, strong = 0, hist[64] = { 0 };
  float *means = hp->bmeans;
  for (guint by = 0; by < bh; by++)
    for (guint bx = 0; bx < bw; bx++)
      {
        float lo = 2.0f, hi = -1.0f, sum = 0.0f;
        for (guint y = 0; y < 8; y++)
          for (guint x = 0; x < 8; x++)
            {
              const float v = hp->mean[(size_t) (by * 8 + y) * hp->w + bx * 8 + x];
              lo = MIN (lo, v);
              hi = MAX (hi, v);
              sum += v;
            }
        const float m = sum / 64;
        means[(size_t) by * bw + bx] = m;
        hist[CLAMP ((int) (m * 64), 0, 63)]++;
        flat += hi - lo < t_flat;
        strong += hi - lo > t_strong;
      }
  const double n = MAX ((double) bw * bh, 1.0);
  guint mode = 0;
  guint64 best = 0;
  for (guint i = 0; i < 64; i++)
    {
      const guint64 s = hist[i] + (i > 0 ? hist[i - 1] : 0) + (i < 63 ? hist[i + 1] : 0);
      if (s > best)
        best = s, mode = i;
    }
  const double level = (mode + 0.5) / 64, tol = 0.06 + sigma / 4;
  guint64 paper = 0;
  for (size_t i = 0; i < (size_t) bw * bh; i++)
    paper += fabs (means[i] - level) < tol;
  f[5] = flat / n;
  f[6] = strong / n;
  f[7] = 1.0 - f[5] - f[6];
  f[8] = paper / n;
}

/* A 3x3 box blur of the half plane (for noisy images), edges clamped. */
static float *
box3 (const HalfPlane *hp)
{
  float *out = hp->blur;
  for (guint y = 0; y < hp->h; y++)
    for (guint x = 0; x < hp->w; x++)
      {
        float s = 0.0f;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              const guint yy = (guint) CLAMP ((int) y + dy, 0, (int) hp->h - 1);
              const guint xx = (guint) CLAMP ((int) x + dx, 0, (int) hp->w - 1);
              s += hp->mean[(size_t) yy * hp->w + xx];
            }
        out[(size_t) y * hp->w + x] = s / 9;
      }
  return out;
}

/* Otsu's threshold of 8-bit levels: the split, its class means and how
 * much of the variance it explains. */
typedef struct {
  guint t;
  double w0, m0, m1, eta;
} Otsu;

static Otsu
otsu (const guint64 *hist)
{
  double n = 0, total = 0, var = 0;
  for (guint i = 0; i < 256; i++)
    n += hist[i], total += (double) i * hist[i];
  Otsu o = { 0, 0, 0, 0, 0 };
  if (n == 0)
    return o;
  const double mu = total / n;
  for (guint i = 0; i < 256; i++)
    var += hist[i] * (i - mu) * (i - mu) / n;
  double w0 = 0, s0 = 0, best = -1;
  for (guint t = 0; t < 255; t++)
    {
      w0 += hist[t] / n;
      s0 += (double) t * hist[t] / n;
      if (w0 <= 0 || w0 >= 1)
        continue;
      const double m0 = s0 / w0, m1 = (mu - s0) / (1 - w0);
      const double between = w0 * (1 - w0) * (m0 - m1) * (m0 - m1);
      if (between > best)
        best = between, o = (Otsu){ t, w0, m0, m1, var > 0 ? between / var : 0 };
    }
  return o;
}

/* Share of the ink mask that a 5x5 erosion removes: strokes are thin. */
static double
thin_share (const guint8 *ink, guint w, guint h, guint8 *rows)
{
  guint64 n_ink = 0, kept = 0;
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        guint8 v = 1;
        for (guint xx = x >= 2 ? x - 2 : 0; xx <= MIN (x + 2, w - 1); xx++)
          v &= ink[(size_t) y * w + xx];
        rows[(size_t) y * w + x] = v;
        n_ink += ink[(size_t) y * w + x];
      }
  for (guint y = 0; y < h; y++)
    for (guint x = 0; x < w; x++)
      {
        guint8 v = 1;
        for (guint yy = y >= 2 ? y - 2 : 0; yy <= MIN (y + 2, h - 1); yy++)
          v &= rows[(size_t) yy * w + x];
        kept += v;
      }
  return n_ink ? 1.0 - (double) kept / n_ink : 0.0;
}

/* Two-class features: f[0] eta, f[1] ink share, f[2] thin, f[3] mid, f[4]
 * gap; and whether the majority class is the lighter one. */
static void
class_features (const HalfPlane *hp, double sigma, double *f, DaeImageStats *st)
{
  const float *d = sigma > 0.04 ? box3 (hp) : hp->mean;
  const size_t n = (size_t) hp->w * hp->h;
  guint8 *q = hp->q;
  guint64 hist[256] = { 0 };
  for (size_t i = 0; i < n; i++)
    hist[q[i] = (guint8) CLAMP ((int) floorf (d[i] * 255 + 0.5f), 0, 255)]++;
  const Otsu o = otsu (hist);
  const gboolean light = 1.0 - o.w0 >= 0.5; /* most pixels above the split */
  guint8 *ink = hp->ink;
  guint64 n_ink = 0, n_mid = 0;
  const double gap = fabs (o.m1 - o.m0) / 255;
  const double lo = MIN (o.m0, o.m1) / 255 + 0.25 * gap, hi = MAX (o.m0, o.m1) / 255 - 0.25 * gap;
  for (size_t i = 0; i < n; i++)
    {
      ink[i] = light ? q[i] <= o.t : q[i] > o.t;
      n_ink += ink[i];
      n_mid += d[i] > lo && d[i] < hi;
    }
  f[0] = o.eta;
  f[1] = n ? (double) n_ink / n : 0;
  f[2] = thin_share (ink, hp->w, hp->h, hp->tmp);
  f[3] = n ? (double) n_mid / n : 0;
  f[4] = gap;
  st->light = light;
  st->background = (light ? o.m1 : o.m0) / 255;
  st->threshold = (o.t + 0.5) / 255;
  st->ink = (light ? o.m0 : o.m1) / 255;
  st->ink_core = ink_core (hist, o.t, light, n_ink);
}

static double
saturation (const float *rows, guint width, guint n_rows, guint channels, guint n_color)
{
  if (n_color < 3)
    return 0.0;
  double sum = 0;
  const size_t n = (size_t) width * n_rows;
  for (size_t i = 0; i < n; i++)
    {
      const float *p = rows + i * channels;
      sum += MAX (MAX (p[0], p[1]), p[2]) - MIN (MIN (p[0], p[1]), p[2]);
    }
  return n ? sum / n : 0.0;
}

/* One pass of a running maximum (op 1), minimum (op -1) or mean (op 0)
 * over k samples centred on each, along rows or columns of a w x h plane.
 * Plain O(k) per sample: k is about 1/24 of the plane's side, and this runs
 * once per image on the half plane of its first rows. */
static void
filter_1d (const float *in, float *out, guint w, guint h, guint k, gboolean columns, int op)
{
  const guint len = columns ? h : w, lines = columns ? w : h;
  const size_t step = columns ? w : 1, next = columns ? 1 : w;
  for (guint l = 0; l < lines; l++)
    for (guint i = 0; i < len; i++)
      {
        const guint a = i >= k / 2 ? i - k / 2 : 0, b = MIN (i + k / 2, len - 1);
        float acc = op == 0 ? 0.0f : in[l * next + a * step];
        for (guint j = a; j <= b; j++)
          {
            const float v = in[l * next + j * step];
            acc = op == 0 ? acc + v : op > 0 ? MAX (acc, v) : MIN (acc, v);
          }
        out[l * next + i * step] = op == 0 ? acc / (b - a + 1) : acc;
      }
}

/* The noise left on the flattened half plane, on the scale of the image's
 * own sigma: Donoho's median |HH| over its 2x2 blocks, times 2 (a 2x2 mean
 * halves the noise).  Stretching and clamping change the noise, so it is
 * measured again rather than scaled. */
static double
flat_noise (const HalfPlane *hp)
{
  guint64 hist[256] = { 0 }, n = 0;
  for (guint y = 0; y + 1 < hp->h; y += 2)
    for (guint x = 0; x + 1 < hp->w; x += 2)
      {
        const float *r0 = hp->mean + (size_t) y * hp->w + x, *r1 = r0 + hp->w;
        const float hh = 0.5f * fabsf (r0[0] - r0[1] - r1[0] + r1[1]);
        hist[MIN ((guint) (hh * 512), 255u)]++;
        n++;
      }
  return n ? 2.0 * (median_bin (hist, 256, n) + 0.5) / 512 / 0.6745 : 0.0;
}

/* The half plane with shading, stains and tinted panels taken out: its
 * 3x3 means (stretching raises the noise) stretched between the smoothed
 * local minimum and maximum over a window of 1/24 of the plane's shorter
 * side (a range of at least 0.25, so that flat areas stay flat).  Pages
 * become ink on paper again; photos stay photos.  Returns the noise left
 * on it (flat_noise). */
static double
flatten (HalfPlane *hp)
{
  const guint w = hp->w, h = hp->h, k = MAX (7u, MIN (w, h) / 24) | 1u;
  const size_t n = (size_t) w * h;
  const float *smooth = box3 (hp);
  float *tmp = hp->hh; /* free now: the noise and detail are measured */
  filter_1d (smooth, tmp, w, h, k, FALSE, 1);
  filter_1d (tmp, hp->hi, w, h, k, TRUE, 1);
  filter_1d (smooth, tmp, w, h, k, FALSE, -1);
  filter_1d (tmp, hp->lo, w, h, k, TRUE, -1);
  for (guint pass = 0; pass < 2; pass++)
    {
      float *plane = pass ? hp->hi : hp->lo;
      filter_1d (plane, tmp, w, h, k, FALSE, 0);
      filter_1d (tmp, plane, w, h, k, TRUE, 0);
    }
  for (size_t i = 0; i < n; i++)
    {
      const float r = MAX (hp->hi[i] - hp->lo[i], 0.25f);
      hp->mean[i] = CLAMP ((smooth[i] - hp->lo[i]) / r, 0.0f, 1.0f);
    }
  return flat_noise (hp);
}

/* Lines of text: in vertical strips of the flattened plane, the ink share
 * of each row rises and falls with the lines, where a photo's changes
 * slowly.  Over the strips with at least 2% ink: f[0], the median share of
 * the row profile's variance above a 15-row running mean; f[1], the share
 * of rows with less than a fifth of their strip's mean ink (the gaps
 * between lines).  FALSE when out of memory. */
static gboolean
line_features (const HalfPlane *hp, gboolean light, double *f)
{
  const guint w = hp->w, h = hp->h, sw = 32, n_strips = w / sw;
  f[0] = f[1] = 0;
  if (n_strips == 0 || h < 32)
    return TRUE;
  g_autofree float *prof = g_try_new (float, 2 * (size_t) h);
  g_autofree double *ratio = g_try_new (double, n_strips);
  if (prof == NULL || ratio == NULL)
    return FALSE;
  float *run = prof + h;
  guint64 gaps = 0, rows = 0;
  guint n_inked = 0;
  for (guint s = 0; s < n_strips; s++)
    {
      double mean = 0;
      for (guint y = 0; y < h; y++)
        {
          guint ink = 0;
          for (guint x = s * sw; x < (s + 1) * sw; x++)
            ink += light ? hp->mean[(size_t) y * w + x] < 0.5f : hp->mean[(size_t) y * w + x] > 0.5f;
          mean += prof[y] = (float) ink / sw;
        }
      mean /= h;
      filter_1d (prof, run, h, 1, 15, FALSE, 0);
      if (mean < 0.02)
        continue;
      double var = 0, high = 0;
      for (guint y = 0; y < h; y++)
        {
          var += (prof[y] - mean) * (prof[y] - mean);
          high += (prof[y] - run[y]) * (prof[y] - run[y]);
          gaps += prof[y] < 0.2 * mean;
        }
      rows += h;
      ratio[n_inked++] = var > 0 ? high / var : 0;
    }
  if (n_inked > 0)
    {
      qsort (ratio, n_inked, sizeof (double), compare_double);
      f[0] = ratio[n_inked / 2];
      f[1] = (double) gaps / rows;
    }
  return TRUE;
}

/* The page classifier (tools/fit-page-classifier writes it). */
#include "analyze-classifier.h"

/* Probability of a page: the mean of the ensemble's small networks, each
 * tanh(W1 z + b1) . w2 + b2 on the standardised features z. */
static double
page_probability (const double *f)
{
  double z[DAE__N_IMAGE_FEATURES], p = 0;
  for (guint i = 0; i < DAE__N_IMAGE_FEATURES; i++)
    z[i] = (f[i] - page_mean[i]) / page_scale[i];
  for (guint m = 0; m < PAGE_NETS; m++)
    {
      double o = page_b2[m];
      for (guint j = 0; j < PAGE_HIDDEN; j++)
        {
          double a = page_b1[m][j];
          for (guint i = 0; i < DAE__N_IMAGE_FEATURES; i++)
            a += page_w1[m][i][j] * z[i];
          o += page_w2[m][j] * tanh (a);
        }
      p += 1.0 / (1.0 + exp (-o));
    }
  return p / PAGE_NETS;
}

/* The twenty-one features of the rows' luma (and st's noise, detail and
 * two-class levels); FALSE when out of memory. */
static gboolean
image_features (const float *rows, guint width, guint n_rows, guint channels, guint n_color,
                HalfPlane *hp, double *f, DaeImageStats *st)
{
  st->sigma = half_plane (rows, width, channels, n_color, 0, hp, &st->noise);
  st->detail = fine_detail (hp, st->noise);
  block_features (hp, st->sigma, f);
  class_features (hp, st->sigma, f, st);
  f[9] = saturation (rows, width, n_rows, channels, n_color);
  /* The same two-class and block statistics once the shading is out. */
  const double sigma_flat = flatten (hp);
  DaeImageStats flat;
  class_features (hp, sigma_flat, f + 10, &flat);
  block_features (hp, sigma_flat, f + 10);
  return line_features (hp, flat.light, f + 19);
}

/* Row yy's luma into ring slot yy % 3. */
static void
luma_row (const float *rows, guint width, guint channels, guint n_color, guint yy, float *ring)
{
  const float *r = rows + (size_t) yy * width * channels;
  float *dst = ring + (size_t) (yy % 3) * width;
  for (guint x = 0; x < width; x++)
    dst[x] = pixel_luma (r + (size_t) x * channels, n_color);
}

/* The rows' luma after a 3x3 median, edges clamped; NULL when out of
 * memory.  Each row's luma is taken once, into a ring of three rows.  No
 * library the core links has a median. */
static float *
median3_luma (const float *rows, guint width, guint n_rows, guint channels, guint n_color)
{
  float *out = g_try_new (float, (size_t) width * (n_rows + 3));
  if (out == NULL)
    return NULL;
  float *ring = out + (size_t) width * n_rows;
  luma_row (rows, width, channels, n_color, 0, ring);
  for (guint y = 0; y < n_rows; y++)
    {
      if (y + 1 < n_rows)
        luma_row (rows, width, channels, n_color, y + 1, ring);
      const float *above = ring + (size_t) ((y > 0 ? y - 1 : 0) % 3) * width;
      const float *here = ring + (size_t) (y % 3) * width;
      const float *below = ring + (size_t) (MIN (y + 1, n_rows - 1) % 3) * width;
      for (guint x = 0; x < width; x++)
        {
          const guint l = x > 0 ? x - 1 : 0, r = MIN (x + 1, width - 1);
          float v[9] = { above[l], above[x], above[r], here[l], here[x],
                         here[r],  below[l], below[x], below[r] };
          out[(size_t) y * width + x] = dae__median9 (v);
        }
    }
  return out;
}

/* Heavy noise and salt-and-pepper hide a page's strokes from the features;
 * a 3x3 median brings them back (bench-ocr's mixed-3, specks on a stained,
 * unevenly lit page: page probability 0.42, 1.00 after it) and leaves a
 * photo a photo (1280 noisy BSD68 and Set12 images: none above 0.78 after
 * it).  So a noisy image is judged twice: a page if either look is sure of
 * it, unless the median's finds no page at all (below MEDIAN_VETO), as for
 * Set12's boat at sigma 50 (0.91 plain, 0.14 after the median); every noisy
 * training-side page the plain look takes stays at 0.32 or more after the
 * median (weights/README.md, "Automatic choice"). */
#define MEDIAN_LOOK_SIGMA 0.04
#define MEDIAN_VETO 0.2

/* The page probability of med, the rows after a 3x3 median (the colour
 * saturation f[9] is the image's own); -1 when out of memory. */
static double
median_look (const float *med, guint width, guint n_rows, HalfPlane *hp, const double *f)
{
  double g[DAE__N_IMAGE_FEATURES];
  DaeImageStats m;
  if (!image_features (med, width, n_rows, 1, 1, hp, g, &m))
    return -1.0;
  g[9] = f[9];
  return page_probability (g);
}

#define STROKE_CAP 32u /* wider "strokes" are panels, borders, pictures */

/* Whether a pixel of level v is ink: beyond half the contrast from the
 * paper, towards the ink's core. */
static inline gboolean
is_ink (float v, const DaeImageStats *st, double half)
{
  return st->light ? v < st->background - half : v > st->background + half;
}

/* The commonest local stroke width of the ink in med (pixels; 0 when there
 * is too little ink or contrast to tell), -1 when out of memory. */
static double
stroke_width (const float *med, guint width, guint n_rows, const DaeImageStats *st)
{
  const double half = 0.5 * fabs (st->background - st->ink_core);
  if (half < 0.05)
    return 0.0;
  const size_t n_px = (size_t) width * n_rows;
  guint8 *ink = g_try_malloc (2 * n_px);
  if (ink == NULL)
    return -1.0;
  for (size_t i = 0; i < n_px; i++)
    ink[i] = is_ink (med[i], st, half);
  guint64 hist[STROKE_CAP + 2] = { 0 }, n;
  dae__stroke_histogram (ink, width, n_rows, ink + n_px, STROKE_CAP, hist);
  g_free (ink);
  const guint mode = dae__stroke_mode (hist, STROKE_CAP, &n); /* wider: not counted */
  return n >= 50 ? mode : 0.0;
}

/* Uniform dark bars at the edges (a letterbox, a scanner's lid) say
 * nothing of what the image is, and their black passed for a page's ink
 * and margins: a letterboxed photo read 0.99 a page and the document model
 * took its light sky for paper, and a flat bar's zero noise halved a
 * photo's measured noise.  So the analysis leaves them out: lines from an
 * edge inwards that are dark and flat, or black under noise: nothing but
 * white noise (their variance no more than their neighbour differences
 * make of it) whose mean is within its spread of near black: a bar's
 * level is hardly told from a dark part of a photo (a smooth one at 51/255
 * under noise of 18/255 is kept). */
#define BAR_DARK 0.25        /* a bar's mean level is under this */
#define BAR_FLAT (2.0 / 255) /* and its spread under this, */
#define BAR_BLACK (24.0 / 255) /* or its mean under this plus its spread */
#define BAR_NOISE_RATIO 1.3  /* variance over noise (sampling error at 256: 9%) */
#define BAR_MIN_LINES 4      /* thinner runs are left in */

/* Whether the n pixels from px, step floats apart, are a bar's line. */
static gboolean
bar_line (const float *px, size_t step, guint n, guint n_color)
{
  double sum = 0, sq = 0, dsq = 0;
  float prev = pixel_luma (px, n_color);
  for (guint i = 0; i < n; i++)
    {
      const float v = pixel_luma (px + i * step, n_color);
      sum += v;
      sq += (double) v * v;
      dsq += (double) (v - prev) * (v - prev);
      prev = v;
    }
  const double mean = sum / n, var = MAX (sq / n - mean * mean, 0.0);
  const double white = n > 1 ? dsq / (2.0 * (n - 1)) : 0.0;
  const double spread = sqrt (var);
  if (mean >= BAR_DARK)
    return FALSE;
  return spread <= BAR_FLAT || (var <= BAR_NOISE_RATIO * white && mean < BAR_BLACK + spread);
}

/* How many lines from line `from` (stepping `dir`) are a bar's, of at most
 * `max`; runs thinner than BAR_MIN_LINES count as none. */
static guint
bar_run (const float *rows, size_t line_step, size_t px_step, guint n_px, guint n_color,
         guint from, int dir, guint max)
{
  guint k = 0;
  while (k < max && bar_line (rows + ((gint64) from + dir * (gint64) k) * line_step, px_step,
                              n_px, n_color))
    k++;
  return k >= BAR_MIN_LINES ? k : 0;
}

/* box: x, y, width, height of the rows inside their dark bars; the whole
 * when the bars would leave less than a quarter of either side. */
static void
content_box (const float *rows, guint width, guint n_rows, guint channels, guint n_color,
             guint box[4])
{
  box[0] = box[1] = 0;
  box[2] = width;
  box[3] = n_rows;
  if (width < 16 || n_rows < 16)
    return;
  const size_t row_f = (size_t) width * channels;
  const guint top = bar_run (rows, row_f, channels, width, n_color, 0, 1, n_rows);
  const guint bottom = bar_run (rows, row_f, channels, width, n_color, n_rows - 1, -1,
                                n_rows - top);
  const guint h = n_rows - top - bottom;
  const float *inner = rows + top * row_f;
  const guint left = h > 0 ? bar_run (inner, channels, row_f, h, n_color, 0, 1, width) : 0;
  const guint right = h > 0 ? bar_run (inner, channels, row_f, h, n_color, width - 1, -1,
                                       width - left) : 0;
  const guint w = width - left - right;
  if (4 * h >= n_rows && 4 * w >= width && h >= 16 && w >= 16)
    {
      box[0] = left;
      box[1] = top;
      box[2] = w;
      box[3] = h;
    }
}

#define QUIET_NOISE (0.5 / 255) /* noise the quietest blocks show on grainy paper */
#define LEVEL_TOLERANCE 2   /* of 255: a pixel at a level */
#define EDGE_REACH 2        /* an edge's pixel has both levels this near */
#define LEVELS_APART 128    /* of 255: the ink's level this far from the paper's */

/* The paper's level of the quantised luma q (its commonest) and the ink's
 * (the commonest at least LEVELS_APART from it); FALSE with no ink level. */
static gboolean
two_levels (const guint8 *q, size_t n, guint *paper, guint *ink)
{
  guint64 hist[256] = { 0 };
  for (size_t i = 0; i < n; i++)
    hist[q[i]]++;
  guint p = 0;
  for (guint b = 1; b < 256; b++)
    p = hist[b] > hist[p] ? b : p;
  const guint lo = p >= 128 ? 0 : p + LEVELS_APART, hi = p >= 128 ? p - LEVELS_APART : 255;
  guint k = lo;
  for (guint b = lo; b <= hi; b++)
    k = hist[b] > hist[k] ? b : k;
  *paper = p, *ink = k;
  return hist[k] > 0;
}

/* How many pixels of the w x h mask `at` (bit 1: at the paper's level, bit
 * 2: at the ink's) are at neither and have not both within EDGE_REACH
 * pixels; near: w h bytes of scratch. */
static guint64
count_off_levels (const guint8 *at, guint w, guint h, guint8 *near)
{
  for (guint y = 0; y < h; y++) /* the levels within reach along the row */
    for (guint x = 0; x < w; x++)
      {
        guint8 v = 0;
        for (guint k = x > EDGE_REACH ? x - EDGE_REACH : 0; k <= MIN (x + EDGE_REACH, w - 1); k++)
          v |= at[(size_t) y * w + k];
        near[(size_t) y * w + x] = v;
      }
  guint64 off = 0;
  for (guint y = 0; y < h; y++) /* then along the column */
    for (guint x = 0; x < w; x++)
      {
        guint8 v = 0;
        for (guint k = y > EDGE_REACH ? y - EDGE_REACH : 0; k <= MIN (y + EDGE_REACH, h - 1); k++)
          v |= near[(size_t) k * w + x];
        off += at[(size_t) y * w + x] == 0 && v != 3;
      }
  return off;
}

/* The share of the rows' pixels at neither the paper's level nor the
 * ink's (two_levels, within LEVEL_TOLERANCE), and without both within
 * EDGE_REACH pixels (an antialiased edge between them); -1 with no ink
 * level, or out of memory.  Clean renders in two levels read 0 to 0.2%;
 * grain, stains, folds, bleed-through, shading and JPEG's ringing put
 * pixels off the levels away from any edge (bench-ocr's damaged pages:
 * 0.5-85%). */
static double
off_level_share (const float *rows, guint width, guint n_rows, guint channels, guint n_color)
{
  const size_t n = (size_t) width * n_rows;
  g_autofree guint8 *at = n > 0 ? g_try_new (guint8, 2 * n) : NULL;
  guint paper, ink;
  if (at == NULL)
    return -1.0;
  for (size_t i = 0; i < n; i++)
    at[i] = (guint8) CLAMP ((int) lrintf (255 * pixel_luma (rows + i * channels, n_color)), 0, 255);
  if (!two_levels (at, n, &paper, &ink))
    return -1.0;
  for (size_t i = 0; i < n; i++)
    at[i] = (guint8) ((ABS ((int) at[i] - (int) paper) <= LEVEL_TOLERANCE)
                      | (ABS ((int) at[i] - (int) ink) <= LEVEL_TOLERANCE) << 1);
  return (double) count_off_levels (at, width, n_rows, at + n) / n;
}

/* The statistics of the rows as they are (dae__analyze_rows). */
static gboolean
analyze_content (const float *rows, guint width, guint n_rows, guint channels,
                 guint n_color, DaeImageStats *st)
{
  memset (st, 0, sizeof *st);
  st->light = TRUE;
  st->background = 1.0;
  st->p_median = -1.0;
  st->patch_noise = -1.0;
  st->off_levels = -1.0;
  if (width < 16 || n_rows < 16)
    return TRUE; /* too small to tell: sigma 0, not a page */
  HalfPlane hp;
  if (!half_plane_alloc (&hp, width, n_rows))
    return FALSE;
  gboolean ok = image_features (rows, width, n_rows, channels, n_color, &hp, st->features, st);
  for (guint k = 0; ok && n_color >= 3 && k < 2; k++)
    {
      /* the quietest blocks' figure: clipping at black or white happens in
       * R, G and B, not where a chroma plane's mean is */
      const double fine = half_plane (rows, width, channels, n_color, k + 1, &hp, NULL);
      st->chroma_sigma[k] = chroma_sigma (&hp, fine);
      st->chroma_fine[k] = fine;
    }
  st->p_document = st->p_plain = page_probability (st->features);
  g_autofree float *med = ok ? median3_luma (rows, width, n_rows, channels, n_color) : NULL;
  ok = ok && med != NULL;
  if (ok && st->sigma >= MEDIAN_LOOK_SIGMA)
    {
      const double pm = median_look (med, width, n_rows, &hp, st->features);
      ok = pm >= 0.0;
      st->p_median = pm;
      st->p_document = pm < MEDIAN_VETO ? MIN (st->p_plain, pm) : MAX (st->p_plain, pm);
    }
  if (ok)
    ok = (st->stroke_width = stroke_width (med, width, n_rows, st)) >= 0.0;
  if (ok && st->sigma < QUIET_NOISE) /* only a page without grain may be a clean render */
    st->off_levels = off_level_share (rows, width, n_rows, channels, n_color);
  g_free (hp.block);
  return ok;
}

/* Whether every colour sample of n pixels is 0 or 1: a 1-bit page, whose
 * jagged edges the noise measure reads as noise (clean renders of text,
 * thresholded, measured 0-17.5/255). */
gboolean
dae__rows_bilevel (const float *rows, size_t n, guint channels, guint n_color)
{
  for (size_t i = 0; i < n; i++)
    for (guint c = 0; c < n_color; c++)
      {
        const float v = rows[i * channels + c];
        if (v != 0.0f && v != 1.0f)
          return FALSE;
      }
  return n > 0;
}

gboolean
dae__analyze_rows (const float *rows, guint width, guint n_rows, guint channels,
                   guint n_color, DaeImageStats *st)
{
  guint box[4];
  content_box (rows, width, n_rows, channels, n_color, box);
  g_autofree float *inner = NULL; /* the box's rows, when not all of them */
  if (box[2] < width || box[3] < n_rows)
    {
      const size_t row_f = (size_t) box[2] * channels;
      if ((inner = g_try_new (float, row_f * box[3])) == NULL)
        return FALSE;
      for (guint y = 0; y < box[3]; y++)
        memcpy (inner + y * row_f, rows + ((size_t) (box[1] + y) * width + box[0]) * channels,
                row_f * sizeof (float));
    }
  const gboolean ok = analyze_content (inner != NULL ? inner : rows, box[2], box[3], channels,
                                       n_color, st);
  memcpy (st->box, box, sizeof box);
  st->bilevel = dae__rows_bilevel (rows, (size_t) width * n_rows, channels, n_color);
  return ok;
}

/* A gray plane's noise by the chroma planes' measure (chroma_sigma): the
 * largest of the finest band's and the next two bands', for a chroma plane
 * at half size, whose JPEG blotches are still 2-4 pixels wide; -1 when too
 * small or out of memory. */
double
dae__analyze_banded_noise (const float *rows, guint width, guint n_rows)
{
  HalfPlane hp;
  if (width < 16 || n_rows < 16 || !half_plane_alloc (&hp, width, n_rows))
    return -1.0;
  const double fine = half_plane (rows, width, 1, 1, 0, &hp, NULL);
  const double sigma = chroma_sigma (&hp, fine);
  g_free (hp.block);
  return sigma;
}

/* Full resolution: 2x2 means would halve white noise but not correlated
 * noise, which the patches' RMS is to tell apart. */
double
dae__analyze_patch_noise (const float *rows, guint width, guint n_rows, guint channels,
                          guint n_color, const DaeImageStats *st, double *rms)
{
  const guint *box = st->box, w = box[2], h = box[3];
  g_return_val_if_fail (box[0] + w <= width && box[1] + h <= n_rows, -1.0);
  g_autofree float *luma = g_try_new (float, MAX ((size_t) w * h, 1));
  if (rms != NULL)
    *rms = -1.0;
  if (luma == NULL)
    return -1.0;
  for (guint y = 0; y < h; y++)
    {
      const float *r = rows + ((size_t) (box[1] + y) * width + box[0]) * channels;
      for (guint x = 0; x < w; x++)
        luma[(size_t) y * w + x] = pixel_luma (r + (size_t) x * channels, n_color);
    }
  return dae__patch_noise (luma, w, h, rms);
}

#define RENDER_EDGES (4.0 / 255) /* the banded measure on a render's sharp edges */
#define SCREEN_DETAIL (13.5 / 255) /* the fine detail of small type drawn for a screen */
#define TWO_LEVELS_OFF 0.002 /* of the pixels: off both levels, away from their edges */

/* A colour render or screenshot: no plane shows any noise where it is
 * quiet, while the banded measure reads the sharp antialiased edges of
 * text drawn for a screen (12-17/255 on bench-real's screenshots at 96
 * dpi, where the document model faded full stops, thinned strokes and drew
 * streaks on the flat panels: tesseract read all three worse).  A colour
 * scan's edges are blurred by its optics (OCRmyPDF's congress.jpg, its
 * white paper clipped: 0.1/255), and noise added to it shows in the quiet
 * blocks (0.3-0.9/255 at 4-8/255 of noise).  Colour only, with some
 * colour in it: a grey page without grain may be damage the model must
 * clean (bench-ocr's stains, folds and bleed-through read the same). */
static gboolean
colour_render (const DaeImageStats *st)
{
  return st->features[9] > 0.0 && st->chroma_sigma[0] < QUIET_NOISE
         && st->chroma_sigma[1] < QUIET_NOISE && st->noise >= RENDER_EDGES;
}

/* A clean render in two levels, grey or colour: no grain, and every pixel
 * at the paper's level, at the ink's or on an edge between them (text
 * drawn by a PDF viewer, line art, a silhouette, a logo).  The document
 * model has nothing to take out and would still redraw every edge:
 * bench-ocr's clean pages came out at 26.6 dB, skimage's horse at 37.4.
 * Damage without grain (stains, folds, bleed-through, uneven light, JPEG)
 * puts 5% of bench-ocr's pages' pixels off the two levels or more; its
 * clean pages read at most 0.02%, Debian's rendered manuals 0.03-0.3%
 * (grey rules and text), a rendered form 0.4%.  1-bit pages are all at
 * the two levels, their noise too: they have their own path. */
static gboolean
two_level_render (const DaeImageStats *st)
{
  return !st->bilevel && st->off_levels >= 0.0 && st->off_levels < TWO_LEVELS_OFF;
}

/* A render of small type, grey or colour: no grain at all, and the fine
 * detail of text drawn for a screen at 96 dpi (14.8-16.6/255 on ten grey
 * and colour screenshots; on the grey ones the document model faded full
 * stops and tesseract read 1-5% fewer words right).  Damage without grain
 * (evalgen's stains, folds, bleed-through, JPEG and light at 300 dpi)
 * reads 6.1-11.7, real scans with clipped paper 3.0-9.7 (their edges
 * blurred by the optics); a dark-mode page at 150 dpi 15.6 (left alone
 * too: the model changed nothing tesseract reads there).  At 192 dpi a
 * screenshot reads 7.2-9.7, and the model does it no harm. */
static gboolean
small_render (const DaeImageStats *st)
{
  return !st->bilevel && st->detail >= SCREEN_DETAIL;
}

/* A page with nothing for a denoiser to take out: no noise, no texture,
 * one paper level and no mid-tones beyond antialiasing (a rendered page, a
 * clean laser print).  On Debian's rendered manuals the document model
 * changed a word here and there and tesseract read three pages worse;
 * nothing damaged comes near: of 276 damaged make-doc-data pages one met
 * all five (a JPEG of quality 48), of 24 clean ones one (they are dense).
 * Or a render with no noise to take out (two_level_render, colour_render,
 * small_render); every one of them wants the paper without grain, checked
 * here once. */
const char *
dae__clean_page (const DaeImageStats *st)
{
  const double *f = st->features; /* mid-tones, flat, textured, paper-level blocks */
  if (!(st->sigma < QUIET_NOISE)) /* grain on the paper (or no measure): something to take out */
    return NULL;
  if (f[3] <= 0.01 && f[5] >= 0.9 && f[7] <= 0.005 && f[8] >= 0.9)
    return "a clean page, nothing to take out: no noise, no texture, one paper level";
  if (two_level_render (st))
    return "a clean render in two levels, nothing to take out: every pixel lies at the "
           "paper's level, at the ink's or on an edge between them";
  if (colour_render (st))
    return "a colour render or screenshot, nothing to take out: no plane shows noise where "
           "it is quiet, only sharp drawn edges";
  if (small_render (st))
    return "a render of small type (a screenshot), nothing to take out: no grain, the fine "
           "detail of text drawn for a screen";
  return NULL;
}

/* The banded measure (noise_sigma's *unclipped) reads a clean render's
 * antialiased edges as 1.5-8.2/255 of noise: its mid-grey bands hold only
 * edges.  The quietest blocks read 0 there, and 0 on damage without grain
 * (bleed-through, folds, stains, JPEG), against 0.84 or more on every
 * bench-ocr page with grain, speckle or salt-and-pepper (weights/README.md,
 * document.dae).  A 1-bit scan's noise is specks its quiet blocks cannot
 * see, so it counts. */
gboolean
dae__noise_on_paper (const DaeImageStats *st)
{
  return st->sigma >= QUIET_NOISE || st->bilevel;
}

/* A colour image whose "ink" is mostly not thin strokes: a photo's dark
 * sky or shadows pass for a page's ink there.  MATE's Storm and three
 * Ubuntu-MATE wallpapers reached 0.91-0.96 with 4-15% of their ink thin
 * and saturation 0.13-0.18, and the document model took them from
 * 36-148 dB to 20-22.  No held-out page of bench-ocr or bench-real comes
 * near (slides: thin 13-20% but grey; colour pages' ink is strokes); of the
 * classifier's 976 training pages at 0.9 or more, 15 meet it below 0.99,
 * text over coloured graphics, which the photo model denoises without
 * whitening: the lesser harm (/work/s22). */
gboolean
dae__page_in_doubt (const DaeImageStats *st)
{
  const double *f = st->features; /* the ink's thin strokes, saturation */
  return f[2] < 0.3 && f[9] >= 0.1 && st->p_document < DAE__PAGE_SURE;
}

/* A ground neither light paper nor a dark page's: light line art on a
 * tinted wallpaper (MATE's Flow, 0.34: the document model took its empty
 * teal for ink or paper tile by tile and came out in blotches, 26.6 dB
 * on the clean picture, 13 without the ink guard) or a slide's grey panel
 * (0.16-0.26 in bench-real).  The photo model leaves a clean one as it is
 * and denoises a noisy one. */
gboolean
dae__ground_unseen (const DaeImageStats *st)
{
  return st->background > dae__dark_ground_bound (st) && st->background < DAE__LIGHT_PAPER_MIN;
}
