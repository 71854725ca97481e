/* train-private.h: internals shared by train.c, noise.c and arch.c: a
 * seeded random number generator of our own (results must not depend on
 * the C library's rand() or on GLib's version) and the backward pass of one
 * layer. */
#ifndef DAE_TRAIN_PRIVATE_H
#define DAE_TRAIN_PRIVATE_H

#include "dae-private.h"

#include <math.h>

G_BEGIN_DECLS

/* Independent streams drawn from one user seed. */
enum {
  DAE__STREAM_INIT = 1,    /* Glorot-uniform weights */
  DAE__STREAM_SHUFFLE = 2, /* batch order, per epoch */
  DAE__STREAM_NOISE = 3,   /* per image: noise models */
  DAE__STREAM_EPOCH = 4,   /* the noise seed of each epoch */
  DAE__STREAM_CROPS = 5,   /* random crops of training images */
  DAE__STREAM_SPLIT = 6    /* held-out validation split */
};

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. */
typedef struct {
  guint64 s[4];
} DaeRng;

static inline guint64
dae__mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A 64-bit seed for item @index of stream @stream of @seed. */
static inline guint64
dae__derive_seed (guint64 seed, guint64 stream, guint64 index)
{
  guint64 z = dae__mix64 (seed + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = dae__mix64 (z ^ (stream * G_GUINT64_CONSTANT (0xd1b54a32d192ed03)));
  return dae__mix64 (z ^ (index * G_GUINT64_CONSTANT (0xabc98388fb8fac03) + 1));
}

static inline void
dae__rng_init (DaeRng *r, guint64 seed, guint64 stream, guint64 index)
{
  guint64 x = dae__derive_seed (seed, stream, index);
  for (int i = 0; i < 4; i++)
    {
      x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
      r->s[i] = dae__mix64 (x);
    }
}

static inline guint64
dae__rotl64 (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline guint64
dae__rng_next (DaeRng *r)
{
  guint64 *s = r->s;
  const guint64 result = dae__rotl64 (s[1] * 5, 7) * 9;
  const guint64 t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = dae__rotl64 (s[3], 45);
  return result;
}

/* Uniform in [0, 1), 53 bits. */
static inline double
dae__rng_uniform (DaeRng *r)
{
  return (double) (dae__rng_next (r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, n), unbiased (n >= 1). */
static inline guint64
dae__rng_below (DaeRng *r, guint64 n)
{
  const guint64 limit = G_MAXUINT64 - G_MAXUINT64 % n;
  guint64 x;
  do
    x = dae__rng_next (r);
  while (x >= limit);
  return x % n;
}

/* Standard normal, Box-Muller (one value per call: simple, and every call
 * consumes exactly two draws, so streams stay aligned). */
static inline double
dae__rng_normal (DaeRng *r)
{
  const double u1 = 1.0 - dae__rng_uniform (r); /* (0, 1] */
  const double u2 = dae__rng_uniform (r);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* Backward of layer i on n images, as plan p says (plan.h).  x is its
 * input, dy the gradient with respect to its output, already multiplied by
 * the activation's derivative (so: with respect to the pre-activation).
 * Writes (overwrites) the gradient of its weights and bias into dparams
 * (the layer's slice), of its input into dx (nullable: not wanted) and, for
 * add/concat, of its skip source into dsrc (nullable).  dx_relu (max-pool,
 * upsample): the input is a ReLU's output read by nothing else, and dx gets
 * the ReLU's derivative too (the caller skips that pass).  The one place
 * where layer kinds meet their backward kernels. */
typedef struct DaePlan DaePlan;
void dae__layer_backward (const DaePlan *p, guint i, size_t n, const float *x,
                          const float *dy, float *dparams, float *dx, float *dsrc,
                          gboolean dx_relu, float *scratch);

G_END_DECLS

#endif
