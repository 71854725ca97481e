/* maxpool2_window.h: one 2x2 max-pool window's backward step, shared by the
 * scalar reference and the SIMD variants' edges so that they agree to the
 * bit. */
#ifndef DAE_MAXPOOL2_WINDOW_H
#define DAE_MAXPOOL2_WINDOW_H

#include <glib.h>
#include <string.h>

static inline void
store_masked (float *dst, guint32 bits, guint32 keep)
{
  bits &= -keep;
  memcpy (dst, &bits, 4);
}

/* One window: the gradient to its first maximum (what a scan taking only
 * strictly greater values finds), zeros elsewhere; masks, not branches,
 * since which one wins is random.  An odd edge repeats a row or column of
 * the window (xb == xa or c1 == c0): the first copy wins ties, and is
 * written last. */
static inline void
pool_window (const float *xa, const float *xb, float *da, float *db, guint c0,
             guint c1, float v, gboolean relu)
{
  const float a = xa[c0], b = xa[c1], c = xb[c0], d = xb[c1];
  const float m = MAX (MAX (a, b), MAX (c, d));
  const guint32 ea = a == m, eb = (b == m) & !ea, ec = (c == m) & !(ea | eb);
  const guint32 ed = !(ea | eb | ec);
  guint32 bits;
  memcpy (&bits, &v, 4);
  if (relu)
    bits &= -(guint32) (m > 0.0f);
  store_masked (db + c1, bits, ed);
  store_masked (db + c0, bits, ec);
  store_masked (da + c1, bits, eb);
  store_masked (da + c0, bits, ea);
}

/* Handles windows 0..full-1 of a pair of whole rows (full = w / 2) and
 * returns how many it did; the rest go through pool_window(). */
typedef guint (*PoolRowsFn) (const float *xa, const float *xb, const float *g,
                             float *da, float *db, guint full, gboolean relu);

/* The max-pool backward pass over n x c planes: @rows (NULL: none) takes
 * what it can of each pair of rows, pool_window() the rest and the edges. */
static inline void
pool_backward_planes (size_t n, guint c, guint h, guint w, const float *in,
                      const float *dout, float *din, gboolean relu,
                      PoolRowsFn rows)
{
  const guint oh = (h + 1) / 2, ow = (w + 1) / 2;
  for (size_t p = 0; p < n * c; p++)
    {
      const float *x = in + p * h * w;
      const float *g = dout + p * oh * ow;
      float *d = din + p * h * w;
      for (guint y = 0; y < oh; y++)
        {
          const guint ya = 2 * y, yb = MIN (2 * y + 1, h - 1);
          const float *xa = x + (size_t) ya * w, *xb = x + (size_t) yb * w;
          float *da = d + (size_t) ya * w, *db = d + (size_t) yb * w;
          const float *gr = g + (size_t) y * ow;
          guint xx = rows && yb != ya ? rows (xa, xb, gr, da, db, w / 2, relu) : 0;
          for (; 2 * xx + 1 < w; xx++)
            pool_window (xa, xb, da, db, 2 * xx, 2 * xx + 1, gr[xx], relu);
          if (xx < ow)
            pool_window (xa, xb, da, db, 2 * xx, 2 * xx, gr[xx], relu);
        }
    }
}

#endif
