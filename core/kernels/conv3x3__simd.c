/* conv3x3__simd.c: the 3x3 convolution family (direct, fused, Winograd and
 * the weight gradient), written once for any vector width.  A template, so
 * a .c and never a header: conv3x3__avx2.c, conv3x3__avx512.c and the
 * tests' 16-lane emulation each compile it once, after defining the vector
 * type and operations (VEC, V_*) and ISA (the name suffix).
 *
 * Layout: each tile's channel planes are read as flat arrays of h*w
 * pixels, vectorised over pixels.  A vertical tap is an offset of one row
 * (w floats) in that array; a horizontal tap would wrap across rows, so
 * each input channel is first copied three times, shifted by -1, 0 and +1
 * columns with the wrapped column zeroed, between zero margins of at least
 * one row.  Every tap of every output vector is then one unaligned load.
 * Registers hold an OCB x PV block of accumulators (output channels x
 * pixel vectors); weights are broadcast from memory.
 *
 * Each output sums bias, then input channels in order, then taps in order,
 * with one FMA per term: the same sequence whatever the batch, its split or
 * the position of the tile in it. */

#define PASTE2(a, b) a##_##b
#define PASTE(a, b) PASTE2 (a, b)
#define FN(x) PASTE (x, ISA)
#define ALWAYS_INLINE inline __attribute__ ((always_inline))

typedef struct {
  guint in_c, h, w;
  size_t plane;   /* h * w */
  size_t nvec;    /* vectors per plane */
  size_t plane_r; /* nvec * VL */
  size_t margin;  /* zeros before and after each shifted copy, >= w */
  size_t stride;  /* floats per shifted copy: margin + plane_r + margin */
} Geom;

static size_t
round_up (size_t x, size_t m)
{
  return (x + m - 1) / m * m;
}

static Geom
FN (geom) (guint in_c, guint h, guint w)
{
  Geom g = { .in_c = in_c, .h = h, .w = w };
  g.plane = (size_t) h * w;
  g.nvec = (g.plane + VL - 1) / VL;
  g.plane_r = g.nvec * VL;
  g.margin = round_up (w, VL);
  g.stride = 2 * g.margin + g.plane_r;
  return g;
}

static size_t
x_floats (const Geom *g)
{
  return (size_t) g->in_c * 3 * g->stride;
}

/* Zeroes what build_x never writes: the margins and the tail past the
 * plane of each shifted copy. */
static void
zero_margins (const Geom *g, float *x)
{
  for (size_t k = 0; k < (size_t) g->in_c * 3; k++)
    {
      float *c = x + k * g->stride;
      memset (c, 0, g->margin * sizeof (float));
      memset (c + g->margin + g->plane, 0,
              (g->stride - g->margin - g->plane) * sizeof (float));
    }
}

/* Copies one input plane into its three shifted copies (xl: the first,
 * at its margin); margins and the tail past plane must already be zero
 * (zero_margins). */
static void
build_x1 (const Geom *g, const float *src, float *xl)
{
  const size_t plane = g->plane, w = g->w;
  float *xc = xl + g->stride; /* x */
  float *xr = xc + g->stride; /* x + 1 */
  memcpy (xc, src, plane * sizeof (float));
  memcpy (xl + 1, src, (plane - 1) * sizeof (float));
  memcpy (xr, src + 1, (plane - 1) * sizeof (float));
  for (size_t y = 0; y < g->h; y++)
    {
      xl[y * w] = 0.0f;
      xr[y * w + w - 1] = 0.0f;
    }
}

/* Copies one tile's input into the three shifted copies of each channel. */
static void
build_x (const Geom *g, const float *in, float *x)
{
  for (guint ic = 0; ic < g->in_c; ic++)
    build_x1 (g, in + ic * g->plane, x + (size_t) ic * 3 * g->stride + g->margin);
}

/* Splits a row by parity: a[j] = s[2j], b[j] = s[2j + 1], j < n. */
static void
FN (deinterleave) (const float *s, size_t n, float *a, float *b)
{
  size_t j = 0;
  for (; j + VL <= n; j += VL)
    {
      VEC even, odd;
      V_DEINTERLEAVE (V_LOADU (s + 2 * j), V_LOADU (s + 2 * j + VL), even, odd);
      V_STOREU (a + j, even);
      V_STOREU (b + j, odd);
    }
  for (; j < n; j++)
    {
      a[j] = s[2 * j];
      b[j] = s[2 * j + 1];
    }
}

/* d[x] = s[x], x < n: a row too short for memcpy's call to pay; the last
 * vector overlaps the one before rather than going past the row. */
static ALWAYS_INLINE void
FN (copy_row) (const float *s, size_t n, float *d)
{
  if (n < VL)
    {
      for (size_t x = 0; x < n; x++)
        d[x] = s[x];
      return;
    }
  for (size_t x = 0; x + VL < n; x += VL)
    V_STOREU (d + x, V_LOADU (s + x));
  V_STOREU (d + n - VL, V_LOADU (s + n - VL));
}

/* Interleaves two rows: d[2j] = a[j], d[2j + 1] = b[j], j < n. */
static void
FN (interleave) (const float *a, const float *b, size_t n, float *d)
{
  size_t j = 0;
  for (; j + VL <= n; j += VL)
    {
      VEC lo, hi;
      V_INTERLEAVE (V_LOADU (a + j), V_LOADU (b + j), lo, hi);
      V_STOREU (d + 2 * j, lo);
      V_STOREU (d + 2 * j + VL, hi);
    }
  for (; j < n; j++)
    {
      d[2 * j] = a[j];
      d[2 * j + 1] = b[j];
    }
}

/* d[2x] = d[2x + 1] = s[x], x < sw: one row of a nearest 2x upsample,
 * written at d and at d + d2 (the row below, or d again). */
static ALWAYS_INLINE void
FN (double_row) (const float *s, size_t sw, float *d, size_t d2)
{
  if (sw < VL)
    {
      for (size_t x = 0; x < sw; x++)
        d[2 * x] = d[2 * x + 1] = d[d2 + 2 * x] = d[d2 + 2 * x + 1] = s[x];
      return;
    }
  for (size_t x = 0;; x += VL)
    {
      x = MIN (x, sw - VL);
      VEC lo, hi;
      const VEC v = V_LOADU (s + x);
      V_INTERLEAVE (v, v, lo, hi);
      V_STOREU (d + 2 * x, lo);
      V_STOREU (d + 2 * x + VL, hi);
      V_STOREU (d + d2 + 2 * x, lo);
      V_STOREU (d + d2 + 2 * x + VL, hi);
      if (x + VL == sw)
        break;
    }
}

/* The input of a conv3x3 whose channels are the concatenation of an
 * upsampled tensor (up_c channels at half size) and a full-size one. */
typedef struct {
  guint up_c;
  const float *up, *skip;
} UpCat;

/* Tile t's channel ic >= up_c, from skip. */
static const float *
upcat_skip (const UpCat *u, guint in_c, size_t plane, size_t t, guint ic)
{
  return u->skip + (t * (in_c - u->up_c) + (ic - u->up_c)) * plane;
}

static ALWAYS_INLINE VEC
FN (v_exp) (VEC x)
{
  /* Cephes expf: 2^n * e^r with |r| <= ln2/2; about 1 ulp. */
  x = V_MIN (V_MAX (x, V_SET1 (-87.3f)), V_SET1 (88.3f));
  VEC n = V_ROUND (V_MUL (x, V_SET1 (1.44269504088896341f)));
  VEC r = V_FMA (n, V_SET1 (-0.693359375f), x);
  r = V_FMA (n, V_SET1 (2.12194440e-4f), r);
  VEC p = V_SET1 (1.9875691500E-4f);
  p = V_FMA (p, r, V_SET1 (1.3981999507E-3f));
  p = V_FMA (p, r, V_SET1 (8.3334519073E-3f));
  p = V_FMA (p, r, V_SET1 (4.1665795894E-2f));
  p = V_FMA (p, r, V_SET1 (1.6666665459E-1f));
  p = V_FMA (p, r, V_SET1 (5.0000001201E-1f));
  p = V_FMA (p, V_MUL (r, r), V_ADD (r, V_SET1 (1.0f)));
  return V_MUL (p, V_POW2N (n));
}

static ALWAYS_INLINE VEC
FN (v_act) (VEC v, DaeActivation act)
{
  if (act == DAE_ACT_RELU)
    return V_MAX (v, V_ZERO ());
  if (act == DAE_ACT_SIGMOID)
    {
      VEC one = V_SET1 (1.0f);
      return V_DIV (one, V_ADD (one, FN (v_exp) (V_SUB (V_ZERO (), v))));
    }
  return v;
}

/* Packed weights: output channels in blocks of OCB_MAX (the last padded
 * with zeros), [block][ic][tap][OCB_MAX]: a kernel reads its broadcasts
 * at constant offsets from one pointer.  T = 9 for the 3x3 kernel; T = 4
 * for each parity of the fused upsample, stored one parity after another. */
static size_t
packed_floats (guint out_c, guint in_c, int T)
{
  return (size_t) (out_c + OCB_MAX - 1) / OCB_MAX * OCB_MAX * in_c * T;
}

/* The inner kernel: an OCB x PV block of outputs at pixel p.  A T-tap
 * kernel reads NB = 3 (T = 9) or 2 (T = 4) shifted copies; tap t reads copy
 * t % NB, t / NB rows below base[t % NB].  base: pixel p of each copy, moved
 * to the row of the first tap, for input channel 0 (xs floats to the
 * next); wt: packed weights of the block's first channel.  Stores PV
 * vectors per output channel (os floats apart), the last one only its
 * first last_n lanes. */
typedef struct {
  const float *base[3];
  size_t xs, w;
  guint in_c;
  const float *wt;
  const float *bias; /* NULL: the sums go on from out's values */
  DaeActivation act;
  float *out;
  size_t os;
  int last_n;
} Block;

/* Activation and store of a block's sums (spill: [j][v][VL]). */
static __attribute__ ((noinline)) void
FN (finish) (const Block *b, const float *spill, int ocb, int pv)
{
  for (int j = 0; j < ocb; j++)
    for (int v = 0; v < pv; v++)
      {
        VEC r = V_LOADU (spill + (j * pv + v) * VL);
        if (b->act == DAE_ACT_RELU)
          r = FN (v_act) (r, DAE_ACT_RELU);
        else if (b->act == DAE_ACT_SIGMOID)
          r = FN (v_act) (r, DAE_ACT_SIGMOID);
        float *o = b->out + j * b->os + v * VL;
        if (v < pv - 1 || b->last_n == VL)
          V_STOREU (o, r);
        else
          V_STORE_N (o, r, b->last_n);
      }
}

/* A block's sums so far, from its outputs (Block.bias NULL). */
static ALWAYS_INLINE void
FN (load_sums) (const Block *b, VEC acc[][8], const int OCB, const int PV)
{
#pragma GCC unroll 16
  for (int j = 0; j < OCB; j++)
#pragma GCC unroll 16
    for (int v = 0; v < PV; v++)
      {
        const float *o = b->out + j * b->os + v * VL;
        acc[j][v] = v < PV - 1 || b->last_n == VL ? V_LOADU (o) : V_LOAD_N (o, b->last_n);
      }
}

static ALWAYS_INLINE void
FN (block) (const Block *b, const int OCB, const int PV, const int T)
{
  const int NB = T == 9 ? 3 : 2;
  /* Fixed sizes, not [OCB][PV]: GCC keeps a variable-length array in
   * memory even when inlining makes its size constant. */
  VEC acc[OCB_MAX > 8 ? OCB_MAX : 8][8];
  if (b->bias != NULL)
    {
#pragma GCC unroll 16
      for (int j = 0; j < OCB; j++)
        {
          VEC bj = V_SET1 (b->bias[j]);
#pragma GCC unroll 16
          for (int v = 0; v < PV; v++)
            acc[j][v] = bj;
        }
    }
  else
    FN (load_sums) (b, acc, OCB, PV);
  const float *x0 = b->base[0], *x1 = b->base[1], *x2 = b->base[2];
  const float *wt = b->wt;
  const size_t w = b->w, xs = b->xs;
  for (guint ic = 0; ic < b->in_c; ic++)
    {
#pragma GCC unroll 16
      for (int t = 0; t < T; t++)
        {
          const int kx = t % NB, ky = t / NB;
          const float *xp = (kx == 0 ? x0 : kx == 1 ? x1 : x2) + ky * w;
          VEC xv[8];
#pragma GCC unroll 16
          for (int v = 0; v < PV; v++)
            xv[v] = V_LOADU (xp + v * VL);
#pragma GCC unroll 16
          for (int j = 0; j < OCB; j++)
            {
              VEC wv = V_BCAST (wt + t * OCB_MAX + j);
#pragma GCC unroll 16
              for (int v = 0; v < PV; v++)
                acc[j][v] = V_FMA (wv, xv[v], acc[j][v]);
            }
        }
      x0 += xs;
      x1 += xs;
      x2 += xs;
      wt += T * OCB_MAX;
    }
  /* The common cases (ReLU, and none: training's input gradients; whole
   * vectors) inline; the rest through one shared function, so that each
   * block size does not carry a copy of every activation (code size and
   * compile time). */
  if (b->last_n == VL && b->act == DAE_ACT_RELU)
    {
#pragma GCC unroll 16
      for (int j = 0; j < OCB; j++)
#pragma GCC unroll 16
        for (int v = 0; v < PV; v++)
          V_STOREU (b->out + j * b->os + v * VL, V_MAX (acc[j][v], V_ZERO ()));
      return;
    }
  if (b->last_n == VL && b->act == DAE_ACT_NONE)
    {
#pragma GCC unroll 16
      for (int j = 0; j < OCB; j++)
#pragma GCC unroll 16
        for (int v = 0; v < PV; v++)
          V_STOREU (b->out + j * b->os + v * VL, acc[j][v]);
      return;
    }
  float spill[OCB_MAX * 8 * VL];
#pragma GCC unroll 16
  for (int j = 0; j < OCB; j++)
#pragma GCC unroll 16
    for (int v = 0; v < PV; v++)
      V_STOREU (spill + (j * PV + v) * VL, acc[j][v]);
  FN (finish) (b, spill, OCB, PV);
}

G_STATIC_ASSERT (PV_MAX == 3 && PV1_MAX == 8);

#define BLOCK_PV(ocb, T)                                                     \
  switch (pv)                                                                \
    {                                                                        \
    case 1: FN (block) (b, ocb, 1, T); break;                                \
    case 2: FN (block) (b, ocb, 2, T); break;                                \
    default: FN (block) (b, ocb, PV_MAX, T); break;                          \
    }

#define BLOCK_OC(T)                                                          \
  switch (ocb)                                                               \
    {                                                                        \
    case 1:                                                                  \
      switch (pv)                                                            \
        {                                                                    \
        case 1: FN (block) (b, 1, 1, T); break;                              \
        case 2: FN (block) (b, 1, 2, T); break;                              \
        case 3: FN (block) (b, 1, 3, T); break;                              \
        case 4: FN (block) (b, 1, 4, T); break;                              \
        case 5: FN (block) (b, 1, 5, T); break;                              \
        case 6: FN (block) (b, 1, 6, T); break;                              \
        case 7: FN (block) (b, 1, 7, T); break;                              \
        default: FN (block) (b, 1, 8, T); break;                             \
        }                                                                    \
      break;                                                                 \
    case 2: BLOCK_PV (2, T) break;                                           \
    case 3: BLOCK_PV (3, T) break;                                           \
    default: BLOCK_PV (OCB_MAX, T) break;                                    \
    }

/* Kernels exist for ocb in 1, 2, 3, OCB_MAX and pv in 1, 2, PV_MAX (3),
 * and pv in 1..8 when ocb is 1.  T = 1 is a plain matrix product (the
 * Winograd path's). */
static void
FN (run_block) (const Block *b, int ocb, int pv, int T)
{
  if (T == 9)
    {
      BLOCK_OC (9)
    }
  else if (T == 4)
    {
      BLOCK_OC (4)
    }
  else
    {
      BLOCK_OC (1)
    }
}

/* Runs a T-tap kernel over nvec vectors of pixels for output channels
 * oc0..oc1-1: out[oc - oc0][p] (os floats apart) for p < plane.  base: as
 * in Block, at pixel 0, xs floats from one input channel to the next; wt:
 * the packed weights of the first channel summed, wblock floats from one
 * block of OCB_MAX output channels to the next (0: in_c * T * OCB_MAX,
 * the packing of exactly these channels); bias NULL: the sums go on from
 * out's values (a part of a layer's input channels summed before). */
static void
FN (run_plane) (size_t nvec, size_t plane, size_t w, guint in_c, size_t xs,
                const float *const base[3], int T, const float *wt, size_t wblock,
                const float *bias, guint oc0, guint oc1, DaeActivation act, float *out,
                size_t os)
{
  const int pv_max = oc1 - oc0 == 1 ? PV1_MAX : PV_MAX;
  /* Blocks of nearly equal size: a lone short block would stall on FMA
   * latency. */
  const size_t nb = (nvec + pv_max - 1) / pv_max;
  const size_t nvb = nvec / nb, extra = nvec % nb;
  const int tail = (int) (plane - (nvec - 1) * VL);
  wblock = wblock != 0 ? wblock : (size_t) in_c * T * OCB_MAX;
  /* Pixels outer, channels inner: the input window of a pixel block (a few
   * rows of every input channel) stays in L1 while every output channel
   * is made from it; the weights stream through in order. */
  size_t v0 = 0;
  for (size_t k = 0; k < nb; k++)
    {
      const int pv = (int) (nvb + (k < extra));
      const size_t p = v0 * VL;
      for (guint oc = oc0, ocb; oc < oc1; oc += ocb)
        {
          /* Within one packed block; only 1, 2, 3 and OCB_MAX channels
           * have a kernel. */
          const guint j0 = oc % OCB_MAX, left = MIN (OCB_MAX - j0, oc1 - oc);
          ocb = left >= OCB_MAX ? OCB_MAX : MIN (3u, left);
          Block b = {
            .base = { base[0] + p, base[1] + p, base[2] + p },
            .xs = xs, .w = w, .in_c = in_c,
            .wt = wt + oc / OCB_MAX * wblock + j0, .bias = bias ? bias + oc : NULL, .act = act,
            .out = out + (oc - oc0) * os + p, .os = os,
            .last_n = v0 + pv == nvec ? tail : VL,
          };
          FN (run_block) (&b, (int) ocb, pv, T);
        }
      v0 += pv;
    }
}

/* Runs a T-tap convolution over one plane of shifted copies (see run_plane). */
static void
FN (conv_plane) (const Geom *g, const float *const base[3], int T,
                 const float *wt, const float *bias, guint oc0, guint oc1,
                 DaeActivation act, float *out, size_t os)
{
  FN (run_plane) (g->nvec, g->plane, g->w, g->in_c, 3 * g->stride, base, T, wt, 0, bias,
                  oc0, oc1, act, out, os);
}

/* Upsampling by 2 then a 3x3 convolution is, for each output parity
 * (py, px), a 2x2 convolution of the small input: output row 2i + py reads
 * upsampled rows 2i+py-1..2i+py+1, i.e. small rows {i-1, i} (py = 0, the
 * last two taps sharing row i) or {i, i+1} (py = 1, the first two
 * sharing).  Likewise for columns.  The weights that meet the same sample
 * are added first: 16 multiply-adds per 4 outputs instead of 36. */
/* How many weight sets a T-tap layout holds: the 3x3 kernel (T = 9), the
 * four parities of the fused upsample (T = 4), or the 16 positions of the
 * Winograd transform (T = 1). */
static size_t
weight_sets (int T)
{
  return T == 9 ? 1 : T == 4 ? 4 : 16;
}

static void
pack_weights (const DaeConvArgs *a, int T, float *wp)
{
  /* rows[p][t]: which kernel rows tap t of parity p sums (bit mask). */
  static const int rows[2][2] = { { 1, 6 }, { 3, 4 } };
  const size_t per = packed_floats (a->out_c, a->in_c, T);
  memset (wp, 0, weight_sets (T) * per * sizeof (float));
  if (T == 1)
    {
      const size_t uc = (size_t) a->out_c * a->in_c;
      g_autofree float *u = g_new (float, 16 * uc);
      dae_winograd_weights (a, u);
      for (size_t pos = 0; pos < 16; pos++)
        for (guint oc = 0; oc < a->out_c; oc++)
          for (guint ic = 0; ic < a->in_c; ic++)
            wp[pos * per + ((size_t) oc / OCB_MAX * a->in_c + ic) * OCB_MAX + oc % OCB_MAX]
                = u[pos * uc + (size_t) oc * a->in_c + ic];
      return;
    }
  for (guint oc = 0; oc < a->out_c; oc++)
    for (guint ic = 0; ic < a->in_c; ic++)
      {
        const float *w = a->weight + ((size_t) oc * a->in_c + ic) * 9;
        float *d = wp + ((size_t) oc / OCB_MAX * a->in_c + ic) * T * OCB_MAX + oc % OCB_MAX;
        if (T == 9)
          {
            for (int t = 0; t < 9; t++)
              d[t * OCB_MAX] = w[t];
            continue;
          }
        for (int py = 0; py < 2; py++)
          for (int px = 0; px < 2; px++)
            for (int ta = 0; ta < 2; ta++)
              for (int tb = 0; tb < 2; tb++)
                {
                  float s = 0.0f;
                  for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                      if ((rows[py][ta] >> ky & 1) && (rows[px][tb] >> kx & 1))
                        s += w[ky * 3 + kx];
                  d[(py * 2 + px) * per + (ta * 2 + tb) * OCB_MAX] = s;
                }
      }
}

/* The packed weights of the last few layers seen by this thread, each
 * with a copy of the weights it was made from: a hit needs the same
 * pointer and the same bits, so weights changed in place (training) are
 * repacked, never used stale.  Entries are replaced in turn, so a network
 * with more packings than entries misses on every layer (6 entries made
 * a 7-layer U-Net 3 times slower); 32 cover any network we ship (the
 * photo model needs 17: its 15 layers, two also packed by parity), at
 * about 0.2 MB per 48 -> 48 layer.  The entry returned last is never the
 * one replaced: a kernel may hold two packings of a layer at once. */
#define PACK_CACHE 32

typedef struct {
  const float *src;
  size_t n;       /* floats of src */
  guint out_c;
  int T;
  guint ic0, nic; /* the input channels packed */
  float *copy;    /* n */
  float *packed;
} PackEntry;

typedef struct {
  PackEntry e[PACK_CACHE];
  guint next, last;
} PackCache;

static void
FN (pack_cache_free) (gpointer data)
{
  PackCache *c = data;
  for (int i = 0; i < PACK_CACHE; i++)
    {
      g_free (c->e[i].copy);
      g_aligned_free (c->e[i].packed);
    }
  g_free (c);
}

static GPrivate FN (pack_key) = G_PRIVATE_INIT (FN (pack_cache_free));

/* The weights of input channels ic0 .. ic0 + nic - 1 alone, packed as
 * for a layer of those channels. */
static void
pack_part (const DaeConvArgs *a, int T, guint ic0, guint nic, float *wp)
{
  if (ic0 == 0 && nic == a->in_c)
    {
      pack_weights (a, T, wp);
      return;
    }
  g_autofree float *w = g_new (float, (size_t) a->out_c * nic * 9);
  for (guint oc = 0; oc < a->out_c; oc++)
    memcpy (w + (size_t) oc * nic * 9, a->weight + ((size_t) oc * a->in_c + ic0) * 9,
            (size_t) nic * 9 * sizeof (float));
  DaeConvArgs part = *a;
  part.in_c = nic;
  part.weight = w;
  pack_weights (&part, T, wp);
}

static const float *
FN (packed_part) (const DaeConvArgs *a, int T, guint ic0, guint nic)
{
  PackCache *c = g_private_get (&FN (pack_key));
  if (c == NULL)
    {
      c = g_new0 (PackCache, 1);
      g_private_set (&FN (pack_key), c);
    }
  const size_t n = (size_t) a->out_c * a->in_c * 9;
  for (int i = 0; i < PACK_CACHE; i++)
    {
      PackEntry *e = &c->e[i];
      if (e->src == a->weight && e->n == n && e->out_c == a->out_c && e->T == T
          && e->ic0 == ic0 && e->nic == nic
          && memcmp (e->copy, a->weight, n * sizeof (float)) == 0)
        {
          c->last = (guint) i;
          return e->packed;
        }
    }
  if (c->next == c->last)
    c->next = (c->next + 1) % PACK_CACHE;
  c->last = c->next;
  PackEntry *e = &c->e[c->next];
  c->next = (c->next + 1) % PACK_CACHE;
  g_free (e->copy);
  g_aligned_free (e->packed);
  e->copy = g_memdup2 (a->weight, n * sizeof (float));
  const size_t pf = weight_sets (T) * packed_floats (a->out_c, nic, T);
  e->packed = g_aligned_alloc (pf, sizeof (float), 64);
  e->src = a->weight;
  e->n = n;
  e->out_c = a->out_c;
  e->T = T;
  e->ic0 = ic0;
  e->nic = nic;
  pack_part (a, T, ic0, nic, e->packed);
  return e->packed;
}

static const float *
FN (packed_weights) (const DaeConvArgs *a, int T)
{
  return FN (packed_part) (a, T, 0, a->in_c);
}

/* ---- one output channel ---------------------------------------------------
 * A network's last layer (32 -> 1, say) makes one sum per pixel from every
 * input channel: three shifted copies of each input would cost more than
 * the sums.  Instead each input plane is copied once with a border of one
 * zero pixel, and the output is computed over that padded grid, w + 2
 * wide, where every tap is one flat offset; the two extra columns of each
 * row are dropped.  The sums run in the same order as FN (block)'s (bias,
 * then channels, then taps), so the bits are the same. */

/* One block of PV vectors over in_c channels: the sums start from the
 * bias (first group of channels) or from res, where they are left, with
 * the activation applied after the last group. */
static ALWAYS_INLINE void
FN (single_block) (const float *x, size_t pplane, size_t pw, guint in_c,
                   const float *wt, float bias, DaeActivation act, gboolean first,
                   gboolean last, float *res, const int PV)
{
  VEC acc[8];
#pragma GCC unroll 8
  for (int v = 0; v < PV; v++)
    acc[v] = first ? V_SET1 (bias) : V_LOADU (res + v * VL);
  for (guint ic = 0; ic < in_c; ic++, x += pplane, wt += 9)
    {
      /* One base register per row, every tap a constant offset from it:
       * left to itself, GCC keeps an offset per tap and vector, spilled. */
      const float *row[3] = { x, x + pw, x + 2 * pw };
      __asm__ ("" : "+r" (row[1]), "+r" (row[2]));
#pragma GCC unroll 9
      for (int t = 0; t < 9; t++)
        {
          const float *xp = row[t / 3] + t % 3;
          const VEC wv = V_SET1 (wt[t]);
#pragma GCC unroll 8
          for (int v = 0; v < PV; v++)
            acc[v] = V_FMA (wv, V_LOADU (xp + v * VL), acc[v]);
        }
    }
#pragma GCC unroll 8
  for (int v = 0; v < PV; v++)
    {
      VEC r = acc[v];
      if (last && act == DAE_ACT_RELU)
        r = FN (v_act) (r, DAE_ACT_RELU);
      else if (last && act == DAE_ACT_SIGMOID)
        r = FN (v_act) (r, DAE_ACT_SIGMOID);
      V_STOREU (res + v * VL, r);
    }
}

/* Copies an h x w plane into the (h + 2) x (w + 2) grid p, zero-bordered. */
static void
FN (pad_plane) (const float *src, size_t h, size_t w, float *p)
{
  const size_t pw = w + 2;
  memset (p, 0, (pw + 1) * sizeof (float));
  for (size_t y = 0; y < h; y++)
    {
      float *row = p + (y + 1) * pw + 1;
      FN (copy_row) (src + y * w, w, row);
      row[w] = row[w + 1] = 0.0f; /* right border, next row's left */
    }
  memset (p + (h + 1) * pw + 1, 0, (pw - 1) * sizeof (float));
}

/* FN (pad_plane) of the nearest 2x upsample of an h/2 x w/2 plane (h, w even),
 * each row doubled once and copied once, not made apart first. */
static void
FN (pad_upsampled_plane) (const float *src, size_t h, size_t w, float *p)
{
  const size_t pw = w + 2;
  memset (p, 0, (pw + 1) * sizeof (float));
  for (size_t y = 0; y < h; y += 2)
    {
      float *row = p + (y + 1) * pw + 1;
      FN (double_row) (src + (y / 2) * (w / 2), w / 2, row, pw);
      row[w] = row[w + 1] = row[pw + w] = row[pw + w + 1] = 0.0f;
    }
  memset (p + (h + 1) * pw + 1, 0, (pw - 1) * sizeof (float));
}

/* Input channels are taken in groups whose padded planes stay in L1 (with
 * the sums, which wait in res between groups): each is padded, then used
 * by every block of the tile, then overwritten by the next group. */
static guint
single_group (const DaeConvArgs *a)
{
  const size_t pplane_bytes = (size_t) (a->h + 2) * (a->w + 2) * sizeof (float);
  return (guint) CLAMP (16384 / pplane_bytes, 1, a->in_c);
}

/* The thread's scratch for the one-channel path: one group's padded
 * planes (zeroed slack after them), then *res, room for one tile's padded
 * result, then extra floats for the caller (at *more). */
static float *
single_scratch (const DaeConvArgs *a, float **res, size_t extra, float **more)
{
  const size_t pw = a->w + 2, pplane = (a->h + 2) * pw;
  const size_t nvec = (a->h * pw + VL - 1) / VL;
  /* The last vector of the grid, moved by the largest tap (2 rows and 2
   * columns), reads less than VL floats past the last padded plane. */
  const size_t x_f = (size_t) single_group (a) * pplane + 2 * VL;
  float *x = dae__kernel_scratch (x_f + nvec * VL + extra);
  memset (x + x_f - 2 * VL, 0, 2 * VL * sizeof (float));
  *res = x + x_f;
  if (more)
    *more = *res + nvec * VL;
  return x;
}

/* Channels ic0 .. ic0 + gc - 1 of one tile, from their padded planes x,
 * into res. */
static void
FN (single_group_run) (const DaeConvArgs *a, const float *x, guint ic0, guint gc, float *res)
{
  const size_t h = a->h, w = a->w, pw = w + 2, pplane = (h + 2) * pw;
  const size_t nvec = (h * pw + VL - 1) / VL;
  const gboolean first = ic0 == 0, last = ic0 + gc == a->in_c;
  const float *wt = a->weight + (size_t) ic0 * 9;
  for (size_t v0 = 0; v0 < nvec; v0 += 8)
    {
      const float *xp = x + v0 * VL;
      float *rp = res + v0 * VL;
      switch (MIN (nvec - v0, 8))
        {
#define SINGLE(pv)                                                             \
  case pv:                                                                     \
    FN (single_block) (xp, pplane, pw, gc, wt, a->bias[0], a->act, first, last, \
                       rp, pv);                                                \
    break;
          SINGLE (1) SINGLE (2) SINGLE (3) SINGLE (4)
          SINGLE (5) SINGLE (6) SINGLE (7) default: SINGLE (8)
#undef SINGLE
        }
    }
}

/* Where one tile's input channel ic comes from: for a plain convolution,
 * in; for the fused decoder step, the upsampled up (ic < up_c) or skip. */
typedef struct {
  const float *in;   /* plain: the tile's channels */
  const UpCat *u;    /* or the decoder step's sources (then in is NULL) */
  size_t t;          /* the tile */
} SingleSrc;

static void
single_pad (const DaeConvArgs *a, const SingleSrc *s, guint ic, float *p)
{
  const size_t plane = (size_t) a->h * a->w;
  if (s->u == NULL)
    FN (pad_plane) (s->in + ic * plane, a->h, a->w, p);
  else if (ic < s->u->up_c)
    FN (pad_upsampled_plane) (s->u->up + (s->t * s->u->up_c + ic) * (plane / 4), a->h, a->w, p);
  else
    FN (pad_plane) (upcat_skip (s->u, a->in_c, plane, s->t, ic), a->h, a->w, p);
}

/* One tile from its input channel ic_first on (the sums in res already
 * hold the earlier ones when ic_first > 0): out gets h x w outputs. */
static void
FN (single_tile) (const DaeConvArgs *a, const SingleSrc *s, guint ic_first, float *x,
                  float *res, float *out)
{
  const size_t h = a->h, w = a->w, pw = w + 2, pplane = (h + 2) * pw;
  const guint group = single_group (a);
  for (guint ic0 = ic_first; ic0 < a->in_c; ic0 += group)
    {
      const guint gc = MIN (group, a->in_c - ic0);
      for (guint k = 0; k < gc; k++)
        single_pad (a, s, ic0 + k, x + k * pplane);
      FN (single_group_run) (a, x, ic0, gc, res);
    }
  for (size_t y = 0; y < h; y++)
    memcpy (out + y * w, res + y * pw, w * sizeof (float));
}

static void
FN (conv3x3_single) (const DaeConvArgs *a, const float *in, float *out)
{
  const size_t plane = (size_t) a->h * a->w;
  float *res, *x = single_scratch (a, &res, 0, NULL);
  for (size_t t = 0; t < a->n; t++)
    {
      const SingleSrc s = { .in = in + t * a->in_c * plane, .t = t };
      FN (single_tile) (a, &s, 0, x, res, out + t * plane);
    }
}

/* base[] of the 3x3 kernel: each shifted copy, one row up. */
static void
bases9 (const Geom *g, const float *x, const float *base[3])
{
  for (int k = 0; k < 3; k++)
    base[k] = x + g->margin + k * g->stride - g->w;
}

void
FN (dae_conv3x3) (const DaeConvArgs *a, const float *in, float *out)
{
  if (a->out_c == 1)
    {
      FN (conv3x3_single) (a, in, out);
      return;
    }
  const Geom g = FN (geom) (a->in_c, a->h, a->w);
  const float *wp = FN (packed_weights) (a, 9);
  float *x = dae__kernel_scratch (x_floats (&g));
  zero_margins (&g, x);
  const float *base[3];
  bases9 (&g, x, base);
  for (size_t t = 0; t < a->n; t++)
    {
      build_x (&g, in + t * a->in_c * g.plane, x);
      FN (conv_plane) (&g, base, 9, wp, a->bias, 0, a->out_c, a->act,
                       out + t * a->out_c * g.plane, g.plane);
    }
}

/* One parity's sums over a group of small padded planes (in_c of them,
 * pplane floats apart, psw wide; x at the parity's first tap): the 2x2
 * taps of pack_weights (wt: the group's first channel, OCB_MAX floats per
 * tap), into acc (PV vectors), from the bias when first. */
static ALWAYS_INLINE void
FN (phase_block) (const float *x, size_t pplane, size_t psw, guint in_c, const float *wt,
                  float bias, gboolean first, float *acc_out, const int PV)
{
  VEC acc[8];
#pragma GCC unroll 8
  for (int v = 0; v < PV; v++)
    acc[v] = first ? V_SET1 (bias) : V_LOADU (acc_out + v * VL);
  for (guint ic = 0; ic < in_c; ic++, x += pplane, wt += 4 * OCB_MAX)
    {
      const float *row1 = x + psw;
      __asm__ ("" : "+r" (row1));
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++)
        {
          const float *xp = (t < 2 ? x : row1) + t % 2;
          const VEC wv = V_SET1 (wt[t * OCB_MAX]);
#pragma GCC unroll 8
          for (int v = 0; v < PV; v++)
            acc[v] = V_FMA (wv, V_LOADU (xp + v * VL), acc[v]);
        }
    }
#pragma GCC unroll 8
  for (int v = 0; v < PV; v++)
    V_STOREU (acc_out + v * VL, acc[v]);
}

/* The decoder step with one output channel.  The up_c upsampled channels
 * are summed at the small size, one 2x2 convolution per output parity
 * with the weights that meet the same upsampled sample added first (as
 * upsample2_conv3x3 does): 16 multiply-adds per 4 outputs instead of 36,
 * on planes a quarter the size.  The parities are then interleaved into
 * the full-size sums, and the skip channels added as in single_tile.
 * Each output sums bias, then the up channels in order, then the skip
 * channels in order. */
static void
FN (upcat_single) (const DaeConvArgs *a, const UpCat *u, float *out)
{
  const size_t h = a->h, w = a->w, plane = h * w, pw = w + 2;
  const size_t sh = h / 2, sw = w / 2, psw = sw + 2, spplane = (sh + 2) * psw;
  const size_t nq = (sh * psw + VL - 1) / VL; /* vectors of one parity's sums */
  const guint sgroup = (guint) CLAMP (16384 / (spplane * sizeof (float)), 1, MAX (u->up_c, 1));
  const size_t sx_f = sgroup * spplane + 2 * VL, acc_f = nq * VL;
  float *res, *more, *x = single_scratch (a, &res, sx_f + 4 * acc_f, &more);
  float *sx = more, *acc = sx + sx_f;
  memset (sx + sx_f - 2 * VL, 0, 2 * VL * sizeof (float));
  const float *wp = FN (packed_weights) (a, 4);
  const size_t per = packed_floats (1, a->in_c, 4);
  for (size_t t = 0; t < a->n; t++)
    {
      for (guint ic0 = 0; ic0 < u->up_c; ic0 += sgroup)
        {
          const guint gc = MIN (sgroup, u->up_c - ic0);
          for (guint k = 0; k < gc; k++)
            FN (pad_plane) (u->up + (t * u->up_c + ic0 + k) * (plane / 4), sh, sw,
                            sx + k * spplane);
          for (int p = 0; p < 4; p++)
            {
              const int py = p / 2, px = p % 2;
              const float *wt = wp + p * per + (size_t) ic0 * 4 * OCB_MAX;
              for (size_t v0 = 0; v0 < nq; v0 += 8)
                {
                  const float *xp = sx + py * psw + px + v0 * VL;
                  float *ap = acc + p * acc_f + v0 * VL;
                  const gboolean first = ic0 == 0;
                  switch (MIN (nq - v0, 8))
                    {
#define PHASE(pv)                                                                   \
  case pv:                                                                          \
    FN (phase_block) (xp, spplane, psw, gc, wt, a->bias[0], first, ap, pv);         \
    break;
                      PHASE (1) PHASE (2) PHASE (3) PHASE (4)
                      PHASE (5) PHASE (6) PHASE (7) default: PHASE (8)
#undef PHASE
                    }
                }
            }
        }
      /* Parity (py, px) of small pixel (i, j) is pixel (2i + py, 2j + px). */
      for (size_t i = 0; i < sh; i++)
        for (int py = 0; py < 2; py++)
          FN (interleave) (acc + (2 * py) * acc_f + i * psw, acc + (2 * py + 1) * acc_f + i * psw,
                           sw, res + (2 * i + py) * pw);
      if (u->up_c == a->in_c)
        for (size_t y = 0; y < h; y++)
          dae_activate_ref (w, a->act, res + y * pw);
      const SingleSrc s = { .u = u, .t = t };
      FN (single_tile) (a, &s, u->up_c, x, res, out + t * plane);
    }
}

/* The bases of the four parities of an upsample-then-conv3x3 over g's
 * copies at x: parity (py, px) reads copies px and px + 1 from row
 * py - 1 on. */
static void
parity_bases (const Geom *g, const float *x, const float *base[4][3])
{
  for (int py = 0; py < 2; py++)
    for (int px = 0; px < 2; px++)
      for (int tb = 0; tb < 3; tb++)
        base[py * 2 + px][tb] = x + g->margin + MIN (px + tb, 2) * g->stride
                                + ((ptrdiff_t) py - 1) * (ptrdiff_t) g->w;
}

/* One tile's sums of a 2x upsample then conv3x3 over g's channels (at
 * half size, copied for parity_bases): the four parities' 2x2 sums (wp:
 * the T = 4 packing at the first channel, per floats from one parity to
 * the next, wblock and bias as in run_plane: NULL goes on from tmp's
 * sums) into tmp, then interleaved into out's out_c planes of 4 g->plane. */
static void
FN (up_tile) (const Geom *g, const float *const base[4][3], const float *wp, size_t per,
              size_t wblock, const float *bias, guint out_c, DaeActivation act, float *tmp,
              float *out)
{
  const size_t tmp_oc = g->plane_r, tmp_par = (size_t) out_c * tmp_oc;
  for (int p = 0; p < 4; p++)
    FN (run_plane) (g->nvec, g->plane, g->w, g->in_c, 3 * g->stride, base[p], 4, wp + p * per,
                    wblock, bias, 0, out_c, act, tmp + p * tmp_par, tmp_oc);
  const size_t w = g->w, ow = 2 * w, oplane = 4 * g->plane;
  for (guint oc = 0; oc < out_c; oc++)
    for (int py = 0; py < 2; py++)
      {
        const float *e = tmp + (2 * py) * tmp_par + oc * tmp_oc;
        const float *d = e + tmp_par;
        for (size_t i = 0; i < g->h; i++)
          FN (interleave) (e + i * w, d + i * w, w, out + oc * oplane + (2 * i + py) * ow);
      }
}

void
FN (dae_upsample2_conv3x3) (const DaeConvArgs *a, const float *in, float *out)
{
  const Geom g = FN (geom) (a->in_c, a->h, a->w);
  const size_t xf = round_up (x_floats (&g), VL);
  const size_t per = packed_floats (a->out_c, a->in_c, 4);
  const float *wp = FN (packed_weights) (a, 4);
  float *x = dae__kernel_scratch (xf + 4 * (size_t) a->out_c * g.plane_r);
  zero_margins (&g, x);
  const float *base[4][3];
  parity_bases (&g, x, base);
  for (size_t t = 0; t < a->n; t++)
    {
      build_x (&g, in + t * a->in_c * g.plane, x);
      FN (up_tile) (&g, base, wp, per, 0, a->bias, a->out_c, a->act, x + xf,
                    out + t * a->out_c * 4 * g.plane);
    }
}

/* The decoder step with several output channels: the up channels summed
 * at the small size as in upsample2_conv3x3 (16 multiply-adds per 4
 * outputs instead of 36) and interleaved into out, then the skip
 * channels' 3x3 sums added there, the activation last.  Each output sums
 * bias, then the up channels in order, then the skip channels in order. */
static void
FN (upcat_multi) (const DaeConvArgs *a, const UpCat *u, float *out)
{
  const guint skip_c = a->in_c - u->up_c;
  const Geom gs = FN (geom) (u->up_c, a->h / 2, a->w / 2), gk = FN (geom) (skip_c, a->h, a->w);
  const size_t xs_f = round_up (x_floats (&gs), VL), xk_f = round_up (x_floats (&gk), VL);
  const float *w4 = FN (packed_weights) (a, 4), *w9 = FN (packed_weights) (a, 9);
  float *xs = dae__kernel_scratch (xs_f + xk_f + 4 * (size_t) a->out_c * gs.plane_r);
  float *xk = xs + xs_f, *tmp = xk + xk_f;
  zero_margins (&gs, xs);
  zero_margins (&gk, xk);
  const float *base4[4][3], *base9[3];
  parity_bases (&gs, xs, base4);
  bases9 (&gk, xk, base9);
  const size_t per4 = packed_floats (a->out_c, a->in_c, 4);
  for (size_t t = 0; t < a->n; t++)
    {
      float *o = out + t * a->out_c * gk.plane;
      build_x (&gs, u->up + t * u->up_c * gs.plane, xs);
      FN (up_tile) (&gs, base4, w4, per4, (size_t) a->in_c * 4 * OCB_MAX, a->bias, a->out_c,
                    skip_c > 0 ? DAE_ACT_NONE : a->act, tmp, o);
      if (skip_c == 0)
        continue;
      build_x (&gk, u->skip + t * skip_c * gk.plane, xk);
      FN (run_plane) (gk.nvec, gk.plane, gk.w, skip_c, 3 * gk.stride, base9, 9,
                      w9 + (size_t) u->up_c * 9 * OCB_MAX, (size_t) a->in_c * 9 * OCB_MAX, NULL,
                      0, a->out_c, a->act, o, gk.plane);
    }
}

static void FN (winograd) (const DaeConvArgs *a, const float *in, float *out, float *pooled,
                           const float *wp);

/* The four parities of out's out_c planes (4 g->plane each) into tmp's
 * (g->plane_r each), as up_tile reads them: the sums so far. */
static void
FN (split_parities) (const Geom *g, guint out_c, const float *out, float *tmp)
{
  const size_t tmp_par = (size_t) out_c * g->plane_r, w = g->w, oplane = 4 * g->plane;
  for (guint oc = 0; oc < out_c; oc++)
    for (int py = 0; py < 2; py++)
      {
        float *e = tmp + (2 * py) * tmp_par + oc * g->plane_r, *d = e + tmp_par;
        for (size_t i = 0; i < g->h; i++)
          FN (deinterleave) (out + oc * oplane + (2 * i + py) * 2 * w, w, e + i * w, d + i * w);
      }
}

/* The decoder step with the skip channels' sums made by Winograd (every
 * tile at once, from the bias, into out), then the up channels' at the
 * small size as in upcat_multi, each parity going on from out's sums;
 * the activation last.  Each output sums bias, then the skip channels'
 * Winograd products, then the up channels in order. */
static void
FN (upcat_winograd) (const DaeConvArgs *a, const UpCat *u, float *out)
{
  const guint skip_c = a->in_c - u->up_c;
  DaeConvArgs ws = *a;
  ws.in_c = skip_c;
  ws.act = DAE_ACT_NONE;
  FN (winograd) (&ws, u->skip, out, NULL, FN (packed_part) (a, 1, u->up_c, skip_c));
  const Geom gs = FN (geom) (u->up_c, a->h / 2, a->w / 2);
  const size_t xs_f = round_up (x_floats (&gs), VL);
  const float *w4 = FN (packed_weights) (a, 4);
  float *xs = dae__kernel_scratch (xs_f + 4 * (size_t) a->out_c * gs.plane_r);
  zero_margins (&gs, xs);
  const float *base4[4][3];
  parity_bases (&gs, xs, base4);
  const size_t per4 = packed_floats (a->out_c, a->in_c, 4);
  for (size_t t = 0; t < a->n; t++)
    {
      float *o = out + t * a->out_c * 4 * gs.plane;
      build_x (&gs, u->up + t * u->up_c * gs.plane, xs);
      FN (split_parities) (&gs, a->out_c, o, xs + xs_f);
      FN (up_tile) (&gs, base4, w4, per4, (size_t) a->in_c * 4 * OCB_MAX, NULL, a->out_c,
                    a->act, xs + xs_f, o);
    }
}

/* A U-Net decoder step: conv3x3 over the concatenation of up (up_c
 * channels at h/2 x w/2, upsampled) and skip (in_c - up_c channels at
 * h x w).  Each channel goes straight from its source into the kernel's
 * own copies, so neither the upsampled nor the concatenated tensor is
 * ever made; the upsampled channels are summed at their own size, with
 * the weights that meet the same sample added first. */
void
FN (dae_upsample2_concat_conv3x3) (const DaeConvArgs *a, guint up_c, const float *up,
                                   const float *skip, float *out)
{
  const UpCat u = { up_c, up, skip };
  if (a->out_c == 1)
    {
      FN (upcat_single) (a, &u, out);
      return;
    }
  FN (upcat_multi) (a, &u, out);
}

/* The same step with the skip channels' sums by Winograd (upcat_winograd)
 * where there are several outputs and skip channels. */
void
FN (dae_upsample2_concat_conv3x3_winograd) (const DaeConvArgs *a, guint up_c, const float *up,
                                            const float *skip, float *out)
{
  if (a->out_c == 1 || up_c == a->in_c)
    {
      FN (dae_upsample2_concat_conv3x3) (a, up_c, up, skip, out);
      return;
    }
  const UpCat u = { up_c, up, skip };
  FN (upcat_winograd) (a, &u, out);
}

/* 2x2 max-pool of n planes of h x w (ceil for odd sizes), each plane
 * read src_stride floats apart, readable VL * 2 floats past its end. */
static void
FN (maxpool_planes) (guint n, guint h, guint w, const float *src,
                     size_t src_stride, float *dst)
{
  const guint oh = (h + 1) / 2, ow = (w + 1) / 2;
  for (guint c = 0; c < n; c++, src += src_stride, dst += (size_t) oh * ow)
    {
      if (h % 2 == 0 && w % 2 == 0)
        for (guint y = 0; y < oh; y++)
          {
            const float *r0 = src + (size_t) 2 * y * w, *r1 = r0 + w;
            float *o = dst + (size_t) y * ow;
            for (guint j = 0; j < ow; j += VL)
              {
                VEC a = V_MAX (V_LOADU (r0 + 2 * j), V_LOADU (r1 + 2 * j));
                VEC b = V_MAX (V_LOADU (r0 + 2 * j + VL), V_LOADU (r1 + 2 * j + VL));
                VEC m = V_PAIRMAX (a, b);
                if (j + VL <= ow)
                  V_STOREU (o + j, m);
                else
                  V_STORE_N (o + j, m, (int) (ow - j));
              }
          }
      else
        dae_maxpool2_ref (1, 1, h, w, src, dst);
    }
}

void
FN (dae_conv3x3_maxpool2) (const DaeConvArgs *a, const float *in, float *out)
{
  const Geom g = FN (geom) (a->in_c, a->h, a->w);
  const size_t oplane = (size_t) ((a->h + 1) / 2) * ((a->w + 1) / 2);
  const size_t tmp_stride = g.plane_r + 2 * VL;
  const size_t xf = round_up (x_floats (&g), VL);
  const float *wp = FN (packed_weights) (a, 9);
  /* A few output channels at a time, so that their planes stay in L1,
   * when the input copies are small enough to stay there too (few input
   * channels); else all of them, pixels outer (see conv_plane). */
  const guint step = xf * sizeof (float) <= 16384 ? OCB_MAX : a->out_c;
  float *x = dae__kernel_scratch (xf + step * tmp_stride);
  float *tmp = x + xf;
  zero_margins (&g, x);
  /* The pool's vector loads read a little past each plane. */
  memset (tmp, 0, step * tmp_stride * sizeof (float));
  const float *base[3];
  bases9 (&g, x, base);
  for (size_t t = 0; t < a->n; t++)
    {
      build_x (&g, in + t * a->in_c * g.plane, x);
      float *o = out + t * a->out_c * oplane;
      for (guint oc = 0; oc < a->out_c; oc += step)
        {
          const guint oc1 = MIN (oc + step, a->out_c);
          FN (conv_plane) (&g, base, 9, wp, a->bias, oc, oc1, a->act, tmp, tmp_stride);
          FN (maxpool_planes) (oc1 - oc, a->h, a->w, tmp, tmp_stride, o + oc * oplane);
        }
    }
}

/* ---- Winograd F(2x2, 3x3) -------------------------------------------------
 * conv3x3_winograd__ref.c's operations, vectorised over output tiles: a
 * group of images' tiles side by side (V[pos][ic][tile]), the 16 products
 * over input channels as matrix products (run_plane with T = 1: one
 * position's V stays in L1 while every output channel is made from it),
 * then the output transform.  Each lane runs the reference's sequence of
 * operations, so the bits are its bits. */

/* Input patch columns are split by parity: ev[j] = column 2j - 1, od[j] =
 * column 2j, so that tile j's four columns are ev[j], od[j], ev[j + 1],
 * od[j + 1]: whole-vector loads at offsets 0 and 1. */
typedef struct {
  guint h, w, th, tw;
  size_t nt;    /* tiles per image */
  size_t row;   /* floats per ev/od row: round_up (tw, VL) + VL */
  size_t rows;  /* 2 th + 2: input rows -1 .. 2 th */
} WinoGeom;

/* V[4k + b][t] (positions ps floats apart) of one row of tiles, from the
 * four input rows under it, split into ev and od (wg->row floats from one
 * row to the next); vectors of VL tiles, the overhang past the row's last
 * tile overwritten by the next row or left in the padding. */
static void
FN (wino_input_row) (const WinoGeom *wg, const float *ev, const float *od, float *v,
                     size_t ps)
{
  const size_t rs = wg->row;
  for (size_t j = 0; j < wg->tw; j += VL)
    {
      VEC e[4][4]; /* e[k][c]: column c of the vertical transform's row k */
#pragma GCC unroll 2
      for (int half = 0; half < 2; half++)
        {
          const float *x = (half ? od : ev) + j;
#pragma GCC unroll 2
          for (int s = 0; s < 2; s++)
            {
              const VEC d0 = V_LOADU (x + s), d1 = V_LOADU (x + rs + s);
              const VEC d2 = V_LOADU (x + 2 * rs + s), d3 = V_LOADU (x + 3 * rs + s);
              const int c = 2 * s + half;
              e[0][c] = V_SUB (d0, d2);
              e[1][c] = V_ADD (d1, d2);
              e[2][c] = V_SUB (d2, d1);
              e[3][c] = V_SUB (d1, d3);
            }
        }
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++)
        {
          float *o = v + 4 * k * ps + j;
          V_STOREU (o, V_SUB (e[k][0], e[k][2]));
          V_STOREU (o + ps, V_ADD (e[k][1], e[k][2]));
          V_STOREU (o + 2 * ps, V_SUB (e[k][2], e[k][1]));
          V_STOREU (o + 3 * ps, V_SUB (e[k][1], e[k][3]));
        }
    }
}

/* One output channel's tiles (m: its 16 products, ms floats apart per
 * position), bias and activation, into the h x w plane o, and their 2x2
 * max-pool into the th x tw plane po (NULL: none); room for 4 VL floats
 * past each.  Whole vectors: what a row's last one writes past the row
 * lands in the next row's first vectors, so those are written later
 * (vectors of a row right to left, rows top to bottom). */
static ALWAYS_INLINE void
FN (wino_output) (const WinoGeom *wg, const float *m, size_t ms, float bias,
                  const DaeActivation act, float *o, float *po)
{
  const VEC vb = V_SET1 (bias);
  for (guint i = 0; i < wg->th; i++)
    for (size_t jv = round_up (wg->tw, VL); jv > 0; jv -= VL)
      {
        const size_t j = jv - VL;
        const float *mp = m + i * wg->tw + j;
        VEC s[2][4], y[2][2];
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++)
          {
            const VEC m0 = V_LOADU (mp + c * ms), m1 = V_LOADU (mp + (4 + c) * ms);
            const VEC m2 = V_LOADU (mp + (8 + c) * ms), m3 = V_LOADU (mp + (12 + c) * ms);
            s[0][c] = V_ADD (V_ADD (m0, m1), m2);
            s[1][c] = V_SUB (V_SUB (m1, m2), m3);
          }
#pragma GCC unroll 2
        for (int r = 0; r < 2; r++)
          {
            y[r][0] = V_ADD (V_ADD (s[r][0], s[r][1]), s[r][2]);
            y[r][1] = V_SUB (V_SUB (s[r][1], s[r][2]), s[r][3]);
          }
#pragma GCC unroll 2
        for (int r = 0; r < 2; r++)
#pragma GCC unroll 2
          for (int c = 0; c < 2; c++)
            y[r][c] = FN (v_act) (V_ADD (y[r][c], vb), act);
        for (guint r = 0; r < 2 && 2 * i + r < wg->h; r++)
          {
            VEC lo, hi;
            V_INTERLEAVE (y[r][0], y[r][1], lo, hi);
            float *d = o + (2 * i + r) * wg->w + 2 * j;
            V_STOREU (d, lo);
            V_STOREU (d + VL, hi);
          }
        if (po == NULL)
          continue;
        /* dae_maxpool2_ref's order (each MAX keeps the later on a tie or a
         * NaN, as the instruction does), an odd edge's window repeating
         * its row or column. */
        if (2 * i + 1 == wg->h)
          {
            y[1][0] = y[0][0];
            y[1][1] = y[0][1];
          }
        if (wg->w % 2 && j + VL >= wg->tw)
          {
            float l0[VL], l1[VL], r0[VL], r1[VL];
            V_STOREU (l0, y[0][0]);
            V_STOREU (l1, y[1][0]);
            V_STOREU (r0, y[0][1]);
            V_STOREU (r1, y[1][1]);
            r0[wg->tw - 1 - j] = l0[wg->tw - 1 - j];
            r1[wg->tw - 1 - j] = l1[wg->tw - 1 - j];
            y[0][1] = V_LOADU (r0);
            y[1][1] = V_LOADU (r1);
          }
        V_STOREU (po + i * wg->tw + j,
                  V_MAX (V_MAX (V_MAX (y[0][0], y[0][1]), y[1][0]), y[1][1]));
      }
}

/* dae_conv3x3_winograd with the weights packed (wp: T = 1, a's channels). */
static void
FN (winograd) (const DaeConvArgs *a, const float *in, float *out, float *pooled,
               const float *wp)
{
  WinoGeom wg = { .h = a->h, .w = a->w, .th = (a->h + 1) / 2, .tw = (a->w + 1) / 2 };
  wg.nt = (size_t) wg.th * wg.tw;
  wg.row = round_up (wg.tw, VL) + VL;
  wg.rows = 2 * (size_t) wg.th + 2;
  const size_t plane = (size_t) a->h * a->w, oplane = wg.nt;
  /* Images per group: their transformed input and products (V, M) stay
   * in L2. */
  const size_t g_max = CLAMP ((size_t) 384 * 1024
                                  / (16 * (a->in_c + a->out_c) * wg.nt * sizeof (float)),
                              1, MAX (a->n, 1));
  const size_t npad = round_up (g_max * wg.nt, VL) + VL;
  /* Positions one cache line further apart than their size: at a
   * multiple of 4 KiB, the 16 of a tile would share one L1 set. */
  const size_t ps = (size_t) a->in_c * npad + 16; /* V: next position */
  const size_t ms = (size_t) a->out_c * npad + 16; /* M: next position */
  const size_t split = 2 * wg.rows * wg.row;
  /* Each output buffer: a plane, then its pooled plane at pof. */
  const size_t pof = round_up (plane, VL) + 4 * VL;
  const size_t vf = 16 * ps, mf = 16 * ms, of = pof + round_up (oplane, VL) + 4 * VL;
  const size_t per = packed_floats (a->out_c, a->in_c, 1);
  float *v = dae__kernel_scratch (vf + mf + split + of + round_up (a->out_c, VL));
  float *m = v + vf, *ev = m + mf, *od = ev + split / 2, *ot = ev + split;
  float *zero = ot + of;
  /* What the transforms never write stays zero: the patch's border and
   * the padding past the last tile. */
  memset (ev, 0, split * sizeof (float));
  memset (zero, 0, a->out_c * sizeof (float));
  memset (ot, 0, of * sizeof (float));
  for (size_t t0 = 0; t0 < a->n; t0 += g_max)
    {
      const size_t gn = MIN (g_max, a->n - t0), nvec = (gn * wg.nt + VL - 1) / VL;
      for (size_t pos = 0; pos < 16; pos++)
        for (guint ic = 0; ic < a->in_c; ic++)
          memset (v + pos * ps + ic * npad + gn * wg.nt, 0,
                  (npad - gn * wg.nt) * sizeof (float));
      for (size_t g = 0; g < gn; g++)
        for (guint ic = 0; ic < a->in_c; ic++)
          {
            const float *x = in + ((t0 + g) * a->in_c + ic) * plane;
            for (guint y = 0; y < a->h; y++)
              {
                float *e = ev + (y + 1) * wg.row + 1, *o = od + (y + 1) * wg.row;
                const float *xr = x + (size_t) y * a->w;
                /* Past the row, the masked loads give the zeros the
                 * patch's right border needs. */
                for (guint c = 0; c < a->w; c += 2 * VL)
                  {
                    const guint left = a->w - c;
                    const VEC lo = left >= VL ? V_LOADU (xr + c) : V_LOAD_N (xr + c, (int) left);
                    const VEC hi = left >= 2 * VL ? V_LOADU (xr + c + VL)
                                   : left > VL    ? V_LOAD_N (xr + c + VL, (int) (left - VL))
                                                  : V_ZERO ();
                    VEC even, odd;
                    V_DEINTERLEAVE (lo, hi, even, odd);
                    V_STOREU (o + c / 2, even);
                    V_STOREU (e + c / 2, odd);
                  }
              }
            for (guint i = 0; i < wg.th; i++)
              FN (wino_input_row) (&wg, ev + 2 * i * wg.row, od + 2 * i * wg.row,
                                   v + (size_t) ic * npad + g * wg.nt + i * wg.tw, ps);
          }
      for (int pos = 0; pos < 16; pos++)
        {
          const float *base[3] = { v + pos * ps, v + pos * ps, v + pos * ps };
          FN (run_plane) (nvec, nvec * VL, 0, a->in_c, npad, base, 1, wp + pos * per, 0, zero,
                          0, a->out_c, DAE_ACT_NONE, m + pos * ms, npad);
        }
      for (size_t g = 0; g < gn; g++)
        for (guint oc = 0; oc < a->out_c; oc++)
          {
            const size_t dst = (t0 + g) * a->out_c + oc; /* plane index in out */
            const float *mt = m + oc * npad + g * wg.nt;
            float *po = pooled ? ot + pof : NULL;
            /* The activation a constant in each copy. */
            switch (a->act)
              {
              case DAE_ACT_RELU:
                FN (wino_output) (&wg, mt, ms, a->bias[oc], DAE_ACT_RELU, ot, po);
                break;
              case DAE_ACT_NONE:
                FN (wino_output) (&wg, mt, ms, a->bias[oc], DAE_ACT_NONE, ot, po);
                break;
              default:
                FN (wino_output) (&wg, mt, ms, a->bias[oc], a->act, ot, po);
                break;
              }
            if (out)
              memcpy (out + dst * plane, ot, plane * sizeof (float));
            if (pooled)
              memcpy (pooled + dst * oplane, po, oplane * sizeof (float));
          }
    }
}

void
FN (dae_conv3x3_winograd) (const DaeConvArgs *a, const float *in, float *out,
                           float *pooled)
{
  FN (winograd) (a, in, out, pooled, FN (packed_weights) (a, 1));
}

/* ---- backward: dweight, dbias (and din through the forward kernel) ----
 *
 * dweight[oc][ic][ky][kx] = sum over tiles and pixels p of dz[oc][p] times
 * the input under tap (ky, kx) at p, read from the same shifted copies as
 * the forward pass.  Each weight's sum runs in VL lanes (lane l takes the
 * pixels p = l mod VL), tiles in order, then the lanes are added in order
 * once at the end: the same order for any batch content or grouping. */

static ALWAYS_INLINE float
FN (hsum) (VEC v)
{
  float l[VL];
  V_STOREU (l, v);
  float s = 0.0f;
  for (int i = 0; i < VL; i++)
    s += l[i];
  return s;
}

/* s[kx] += dj times copy kx's vector ak. */
static ALWAYS_INLINE void
FN (dw_fma3) (VEC dj, VEC a0, VEC a1, VEC a2, VEC s[3])
{
  s[0] = V_FMA (dj, a0, s[0]);
  s[1] = V_FMA (dj, a1, s[1]);
  s[2] = V_FMA (dj, a2, s[2]);
}

/* acc[j][kx] (VL floats each, ws floats apart per j, VL per kx) += the sums
 * over the pixels of gn tiles of dz[j][p] times copy kx at row ky of p.
 * x: the tiles' copies of one input channel (3 * stride floats per tile);
 * dz: the tiles' first output channel of the block (dts floats per tile,
 * plane floats per channel).  A 3 x 3 block of sums in registers, and the
 * three dz and three x vectors they share: 6 loads per 9 FMAs, so the FMA
 * units, not the loads, set the pace. */
static ALWAYS_INLINE void
FN (dw_block) (const Geom *g, const float *x, size_t ky, size_t gn, const float *dz,
               size_t dts, float *acc, size_t ws, const int OCB)
{
  VEC s[3][3];
#pragma GCC unroll 3
  for (int j = 0; j < OCB; j++)
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++)
      s[j][k] = V_LOADU (acc + j * ws + k * VL);
  const size_t last = g->nvec - 1;
  const int tail = (int) (g->plane - last * VL);
  for (size_t t = 0; t < gn; t++)
    {
      const float *x0 = x + t * 3 * g->stride + g->margin + ky * g->w - g->w;
      const float *x1 = x0 + g->stride, *x2 = x1 + g->stride;
      const float *d = dz + t * dts;
      for (size_t v = 0; v < last; v++)
        {
          const size_t p = v * VL;
          const VEC a0 = V_LOADU (x0 + p), a1 = V_LOADU (x1 + p), a2 = V_LOADU (x2 + p);
#pragma GCC unroll 3
          for (int j = 0; j < OCB; j++)
            FN (dw_fma3) (V_LOADU (d + j * g->plane + p), a0, a1, a2, s[j]);
        }
      /* Past the plane, dz is not ours to read: masked; the copies' tails
       * are zero. */
      const size_t p = last * VL;
      const VEC a0 = V_LOADU (x0 + p), a1 = V_LOADU (x1 + p), a2 = V_LOADU (x2 + p);
#pragma GCC unroll 3
      for (int j = 0; j < OCB; j++)
        FN (dw_fma3) (tail == VL ? V_LOADU (d + j * g->plane + p)
                                 : V_LOAD_N (d + j * g->plane + p, tail),
                      a0, a1, a2, s[j]);
    }
#pragma GCC unroll 3
  for (int j = 0; j < OCB; j++)
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++)
      V_STOREU (acc + j * ws + k * VL, s[j][k]);
}

/* Room for the flipped weights and zero bias of the din convolution: its
 * own per-thread buffer, since the forward kernel takes the scratch. */
typedef struct {
  float *p;
  size_t n;
} FlipBuf;

static void
FN (flip_free) (gpointer data)
{
  FlipBuf *f = data;
  g_free (f->p);
  g_free (f);
}

static GPrivate FN (flip_key) = G_PRIVATE_INIT (FN (flip_free));

void
FN (dae_conv3x3_backward) (const DaeConvArgs *a, const float *in, const float *dz,
                           float *dweight, float *dbias, float *din)
{
  /* One input channel's copies of a group of tiles, and the group's dz of
   * a block of output channels, stay in L1 while the block's sums run over
   * them. */
  const Geom g = FN (geom) (1, a->h, a->w);
  const size_t tile_bytes = (3 * g.stride + 3 * g.plane_r) * sizeof (float);
  const size_t group = MIN (MAX ((size_t) 24576 / tile_bytes, 1), MAX (a->n, 1));
  const size_t xf = round_up (group * x_floats (&g), VL);
  const size_t nw = (size_t) a->out_c * a->in_c * 9;
  float *x = dae__kernel_scratch (xf + (nw + a->out_c) * VL);
  float *acc = x + xf, *bacc = acc + nw * VL;
  for (size_t t = 0; t < group; t++)
    zero_margins (&g, x + t * x_floats (&g));
  memset (acc, 0, (nw + a->out_c) * VL * sizeof (float));
  const int tail = (int) (g.plane - (g.nvec - 1) * VL);
  const size_t ws = (size_t) a->in_c * 9 * VL; /* acc: next output channel */
  const size_t dts = (size_t) a->out_c * g.plane, its = (size_t) a->in_c * g.plane;
  for (size_t t = 0; t < a->n; t++)
    for (guint oc = 0; oc < a->out_c; oc++)
      {
        const float *d = dz + t * dts + oc * g.plane;
        VEC s = V_LOADU (bacc + oc * VL);
        for (size_t v = 0; v < g.nvec; v++)
          s = V_ADD (s, v + 1 < g.nvec ? V_LOADU (d + v * VL) : V_LOAD_N (d + v * VL, tail));
        V_STOREU (bacc + oc * VL, s);
      }
  for (size_t t0 = 0; t0 < a->n; t0 += group)
    {
      const size_t gn = MIN (group, a->n - t0);
      for (guint ic = 0; ic < a->in_c; ic++)
        {
          for (size_t t = 0; t < gn; t++)
            build_x (&g, in + (t0 + t) * its + ic * g.plane, x + t * x_floats (&g));
          for (guint oc = 0; oc < a->out_c; oc += 3)
            {
              const int ocb = (int) MIN (3u, a->out_c - oc);
              const float *d = dz + t0 * dts + oc * g.plane;
              for (size_t ky = 0; ky < 3; ky++)
                {
                  float *ac = acc + (((size_t) oc * a->in_c + ic) * 9 + ky * 3) * VL;
                  switch (ocb)
                    {
                    case 1: FN (dw_block) (&g, x, ky, gn, d, dts, ac, ws, 1); break;
                    case 2: FN (dw_block) (&g, x, ky, gn, d, dts, ac, ws, 2); break;
                    default: FN (dw_block) (&g, x, ky, gn, d, dts, ac, ws, 3); break;
                    }
                }
            }
        }
    }
  for (size_t i = 0; i < nw; i++)
    dweight[i] = FN (hsum) (V_LOADU (acc + i * VL));
  for (guint oc = 0; oc < a->out_c; oc++)
    dbias[oc] = FN (hsum) (V_LOADU (bacc + oc * VL));
  if (din == NULL)
    return;
  FlipBuf *f = g_private_get (&FN (flip_key));
  if (f == NULL)
    {
      f = g_new0 (FlipBuf, 1);
      g_private_set (&FN (flip_key), f);
    }
  if (f->n < nw + a->in_c)
    {
      g_free (f->p);
      f->n = nw + a->in_c;
      f->p = g_new (float, f->n);
    }
  float *flipped = f->p, *zero = f->p + nw;
  dae_conv3x3_flip_weights (a, flipped);
  memset (zero, 0, a->in_c * sizeof (float));
  const DaeConvArgs b = dae_conv3x3_dx_args (a, flipped, zero);
  FN (dae_conv3x3) (&b, dz, din);
}
