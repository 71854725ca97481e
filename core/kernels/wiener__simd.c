/* wiener__simd.c: the Wiener filter's band of blocks (wiener__ref.c),
 * vectorised across blocks.  A template, so a .c and never a header:
 * wiener__avx2.c and wiener__avx512.c compile it once each after defining
 * ISA; plain C loops that the compiler turns into vectors of its width.
 *
 * The reference turns one block at a time, eight values across: too short
 * for a vector.  Here the band's columns are split by parity first, so that
 * for every coefficient the blocks at columns 0, 2, 4, ... read and write
 * consecutive floats; CHUNK blocks at a time keep their coefficients in the
 * L1 cache.  Every loop runs whole CHUNKs (the split rows padded with
 * zeros, blocks past the end weighted 0): GCC's -O2 vectorises only loops
 * that need no remainder.  Blocks at odd columns (every one at step 1; an
 * odd width's last, at n - 8, at step 2) are the same code with the
 * parities' roles swapped.  Sums run in
 * another order than the reference's: the same to 2e-5 of the band's
 * scale (test-kernels). */
#include <string.h>

#define PASTE2(a, b) a##_##b
#define PASTE(a, b) PASTE2 (a, b)
#define FN(x) PASTE (x, ISA)

#define WB 8
#define CHUNK 64

/* Block b's column m lies in par[m & 1] at b + m / 2: par = { even, odd }
 * for blocks at even columns; { odd, even + 1 } at odd ones. */
typedef struct {
  const float *nv[2], *pv[2]; /* 8 rows each, down the columns' transform */
  float *acc[2], *w[2];       /* 8 rows and one, the same */
} Parity;

/* Coefficient (k, j) of the chunk's blocks: y[b] = sum over m of C[j][m]
 * times their row k's column m. */
static inline void
FN (across) (const float *const v[2], const float *c_j, size_t at, float *restrict y)
{
  for (size_t b = 0; b < CHUNK; b++)
    y[b] = 0.0f;
  for (guint m = 0; m < WB; m++)
    {
      const float *src = v[m & 1] + at + m / 2;
      const float c = c_j[m];
      for (size_t b = 0; b < CHUNK; b++)
        y[b] += c * src[b];
    }
}

/* Each coefficient times P^2 / (P^2 + s2), the squared factors summed in s. */
static inline void
FN (shrink) (float *restrict y, const float *restrict p, float s2, float *restrict s)
{
  if (s2 > 0.0f)
    for (size_t b = 0; b < CHUNK; b++)
      {
        const float p2 = p[b] * p[b], f = p2 / (p2 + s2);
        y[b] *= f;
        s[b] += f * f;
      }
  else /* no noise: keep it all */
    for (size_t b = 0; b < CHUNK; b++)
      s[b] += 1.0f;
}

/* The nb valid blocks of the chunk from b0 (rows of `half`): transformed
 * across, shrunk, weighted, turned back across and added into the
 * accumulators; y and p: 2 x 64 x CHUNK floats of scratch. */
static void
FN (chunk) (const float *dct, const Parity *q, size_t half, float s2, size_t b0, size_t nb,
            float *y, float *p)
{
  float s[CHUNK], w[CHUNK];
  for (size_t b = 0; b < CHUNK; b++)
    s[b] = 0.0f;
  for (guint k = 0; k < WB; k++)
    for (guint j = 0; j < WB; j++)
      {
        float *yk = y + (k * WB + j) * CHUNK, *pk = p + (k * WB + j) * CHUNK;
        const float *nv[2] = { q->nv[0] + k * half, q->nv[1] + k * half };
        const float *pv[2] = { q->pv[0] + k * half, q->pv[1] + k * half };
        FN (across) (nv, dct + j * WB, b0, yk);
        FN (across) (pv, dct + j * WB, b0, pk);
        FN (shrink) (yk, pk, s2, s);
      }
  for (size_t b = 0; b < CHUNK; b++)
    w[b] = b < nb ? 1.0f / (s[b] + 1e-3f) : 0.0f;
  for (guint k = 0; k < WB; k++)
    for (guint m = 0; m < WB; m++)
      {
        float u[CHUNK]; /* u[b] = sum over j of y[k][j][b] C[j][m] */
        for (size_t b = 0; b < CHUNK; b++)
          u[b] = 0.0f;
        for (guint j = 0; j < WB; j++)
          {
            const float *yk = y + (k * WB + j) * CHUNK, c = dct[j * WB + m];
            for (size_t b = 0; b < CHUNK; b++)
              u[b] += yk[b] * c;
          }
        float *restrict dst = q->acc[m & 1] + k * half + b0 + m / 2;
        for (size_t b = 0; b < CHUNK; b++)
          dst[b] += w[b] * u[b];
      }
  for (guint m = 0; m < WB; m++)
    {
      float *restrict dst = q->w[m & 1] + b0 + m / 2;
      for (size_t b = 0; b < CHUNK; b++)
        dst[b] += w[b];
    }
}

/* v[k] = sum over i of c(k, i) rows[i], rows of `half` in whole chunks:
 * the columns' transform (c = C[k][i]) or its inverse (C[i][k]). */
static void
FN (columns) (const float *dct, const float *rows, size_t half, gboolean inverse, float *v)
{
  for (guint k = 0; k < WB; k++)
    for (size_t x0 = 0; x0 < half; x0 += CHUNK)
      {
        float acc[CHUNK] = { 0 };
        for (guint i = 0; i < WB; i++)
          {
            const float c = inverse ? dct[i * WB + k] : dct[k * WB + i];
            const float *b = rows + i * half + x0;
            for (size_t x = 0; x < CHUNK; x++)
              acc[x] += c * b[x];
          }
        memcpy (v + k * half + x0, acc, sizeof acc);
      }
}

/* Rows of n split by parity into rows of half: even[i][b] = rows[i][2b],
 * odd[i][b] = rows[i][2b + 1], zeros past the end. */
static void
FN (split) (const float *const *rows, size_t n, size_t half, float *even, float *odd)
{
  memset (even, 0, WB * half * sizeof (float));
  memset (odd, 0, WB * half * sizeof (float));
  for (guint i = 0; i < WB; i++)
    for (size_t x = 0; x < n; x++)
      (x & 1 ? odd : even)[i * half + x / 2] = rows[i][x];
}

void
FN (dae_wiener_band) (size_t n, guint step, const float *dct, const float *const *noisy,
                      const float *const *pilot, float s2, float *out, float *wrow)
{
  const size_t n_even = (n - WB) / 2 + 1; /* blocks at 0, 2, .. */
  /* whole chunks, and one more: the last chunk's blocks read 3 columns on */
  const size_t half = (n_even + CHUNK - 1) / CHUNK * CHUNK + CHUNK;
  /* per parity: the two inputs split (then the output), their columns'
   * transforms, the accumulators; the weights; a chunk's coefficients */
  float *buf = dae__kernel_scratch (2 * 5 * WB * half + 2 * half + 2 * WB * WB * CHUNK);
  float *split[2][2], *tv[2][2], *acc[2];
  for (guint par = 0; par < 2; par++)
    {
      float *b = buf + par * 5 * WB * half;
      split[0][par] = b, split[1][par] = b + WB * half;
      tv[0][par] = b + 2 * WB * half, tv[1][par] = b + 3 * WB * half;
      acc[par] = b + 4 * WB * half;
    }
  float *we = buf + 10 * WB * half, *wo = we + half, *y = wo + half, *p = y + WB * WB * CHUNK;
  FN (split) (noisy, n, half, split[0][0], split[0][1]);
  FN (split) (pilot, n, half, split[1][0], split[1][1]);
  for (guint t = 0; t < 2; t++)
    for (guint par = 0; par < 2; par++)
      FN (columns) (dct, split[t][par], half, FALSE, tv[t][par]);
  memset (acc[0], 0, WB * half * sizeof (float));
  memset (acc[1], 0, WB * half * sizeof (float));
  memset (we, 0, 2 * half * sizeof (float));
  const Parity even = { { tv[0][0], tv[0][1] }, { tv[1][0], tv[1][1] }, { acc[0], acc[1] },
                        { we, wo } };
  for (size_t b0 = 0; b0 < n_even; b0 += CHUNK)
    FN (chunk) (dct, &even, half, s2, b0, MIN ((size_t) CHUNK, n_even - b0), y, p);
  const Parity odd = { { tv[0][1], tv[0][0] + 1 }, { tv[1][1], tv[1][0] + 1 },
                       { acc[1], acc[0] + 1 }, { wo, we + 1 } };
  const size_t n_odd = n > WB ? (n - WB - 1) / 2 + 1 : 0; /* blocks at 1, 3, .. */
  if (step == 1)
    for (size_t b0 = 0; b0 < n_odd; b0 += CHUNK)
      FN (chunk) (dct, &odd, half, s2, b0, MIN ((size_t) CHUNK, n_odd - b0), y, p);
  else if ((n - WB) % 2) /* an odd width: the last block, at n - 8, off the grid */
    FN (chunk) (dct, &odd, half, s2, (n - WB) / 2, 1, y, p);
  for (guint par = 0; par < 2; par++) /* back down the columns, into the splits */
    FN (columns) (dct, acc[par], half, TRUE, split[0][par]);
  for (guint i = 0; i < WB; i++)
    for (size_t x = 0; x < n; x++)
      out[i * n + x] = split[0][x & 1][i * half + x / 2];
  for (size_t x = 0; x < n; x++)
    wrow[x] = (x & 1 ? wo : we)[x / 2];
}
