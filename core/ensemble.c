/* ensemble.c: the geometric self-ensemble (EDSR's "+", waifu2x's TTA).
 *
 * A model trained on flipped and turned patches gives, on the flipped and
 * turned tile, an estimate whose error is partly independent of the
 * upright one's: averaging the estimates of P of the eight symmetries of a
 * square tile, each turned back, takes about 0.1 dB more noise out of a
 * photo (BSD68, sigma 15-50: weights/README.md) for P times the work.
 * A transform is a permutation of the tile's pixels: pass k reads the
 * tile through map(k, y, x) and adds its output back through the same map. */
#include "dae-private.h"

/* The symmetries in the order passes take them: 2 passes add the half
 * turn, 4 the two diagonal mirrors (which need a square tile), 8 the rest. */
typedef enum {
  SYM_IDENTITY, SYM_HALF_TURN, SYM_TRANSPOSE, SYM_ANTI_TRANSPOSE,
  SYM_MIRROR_X, SYM_MIRROR_Y, SYM_TURN_LEFT, SYM_TURN_RIGHT
} Symmetry;
/* The symmetries that keep rows rows: all an oblong tile allows, and all a
 * page gets, its model having learnt upright lines of text (bench-ocr, 4
 * passes: README pages 1.47% with the diagonal mirrors, see weights/README.md). */
static const Symmetry row_order[4] = { SYM_IDENTITY, SYM_HALF_TURN, SYM_MIRROR_X,
                                       SYM_MIRROR_Y };

/* The source pixel of position (y, x) of symmetry k on an h x w tile (h == w
 * for the four that swap the axes). */
static inline size_t
sym_index (Symmetry k, guint y, guint x, guint h, guint w)
{
  switch (k)
    {
    case SYM_HALF_TURN:
      return (size_t) (h - 1 - y) * w + (w - 1 - x);
    case SYM_TRANSPOSE:
      return (size_t) x * w + y;
    case SYM_ANTI_TRANSPOSE:
      return (size_t) (w - 1 - x) * w + (h - 1 - y);
    case SYM_MIRROR_X:
      return (size_t) y * w + (w - 1 - x);
    case SYM_MIRROR_Y:
      return (size_t) (h - 1 - y) * w + x;
    case SYM_TURN_LEFT:
      return (size_t) x * w + (w - 1 - y);
    case SYM_TURN_RIGHT:
      return (size_t) (w - 1 - x) * w + y;
    case SYM_IDENTITY:
    default:
      return (size_t) y * w + x;
    }
}

guint
dae__ensemble_max_passes (guint ph, guint pw, gboolean keep_rows)
{
  return ph == pw && !keep_rows ? 8 : 4;
}

guint
dae__ensemble_auto_passes (guint64 pixels, guint ph, guint pw)
{
  guint p = dae__ensemble_max_passes (ph, pw, FALSE);
  while (p > 1 && p * pixels > DAE__ENSEMBLE_AUTO_PIXELS)
    p /= 2;
  return p;
}

guint
dae__ensemble_auto_stride (guint64 pixels, guint passes, guint stride)
{
  const guint finer[] = { stride * 2 / 3, stride * 4 / 5 }; /* 120: 80, 96 */
  for (guint k = 0; k < G_N_ELEMENTS (finer); k++)
    if (finer[k] >= 1
        && passes * pixels * stride * stride <= DAE__ENSEMBLE_AUTO_PIXELS * finer[k] * finer[k])
      return finer[k];
  return stride;
}

gsize
dae__ensemble_scratch_floats (guint passes, guint n_tiles, guint ph, guint pw)
{
  return passes > 1 ? 2 * (gsize) n_tiles * ph * pw : 0;
}

gboolean
dae__ensemble_forward (DaeRunner *runner, guint passes, gboolean keep_rows, guint n,
                       guint ph, guint pw, const float *in, float *out, float *scratch,
                       GError **error)
{
  if (!dae_runner_forward (runner, n, in, out, error))
    return FALSE;
  if (passes <= 1)
    return TRUE;
  const size_t area = (size_t) ph * pw;
  float *t_in = scratch, *t_out = scratch + (size_t) n * area;
  for (guint p = 1; p < passes; p++)
    {
      const Symmetry k = ph == pw && !keep_rows ? (Symmetry) p : row_order[p];
      for (guint t = 0; t < n; t++)
        for (guint y = 0; y < ph; y++)
          for (guint x = 0; x < pw; x++)
            t_in[t * area + (size_t) y * pw + x] = in[t * area + sym_index (k, y, x, ph, pw)];
      if (!dae_runner_forward (runner, n, t_in, t_out, error))
        return FALSE;
      for (guint t = 0; t < n; t++)
        for (guint y = 0; y < ph; y++)
          for (guint x = 0; x < pw; x++)
            out[t * area + sym_index (k, y, x, ph, pw)] += t_out[t * area + (size_t) y * pw + x];
    }
  const float scale = 1.0f / (float) passes;
  for (size_t i = 0; i < (size_t) n * area; i++)
    out[i] *= scale;
  return TRUE;
}
