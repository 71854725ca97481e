/* pool-window.h: one 2x2 max-pool window's backward step, shared by the
 * scalar reference and the SIMD variants' edges so that they agree to the
 * bit. */
#ifndef DAE_POOL_WINDOW_H
#define DAE_POOL_WINDOW_H

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

#endif
