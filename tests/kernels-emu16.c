/* kernels-emu16.c: the SIMD kernel template (core/kernels/conv3x3__simd.c)
 * instantiated with 16-lane GCC generic vectors and the AVX-512 blocking
 * (8 output channels), in portable code.  test-kernels checks it against
 * the references, so the template's logic for 16 lanes is tested on any
 * CPU, even one without AVX-512 (the AVX-512 file adds only the intrinsics
 * behind the same V_* operations). */
#include "kernels/kernels.h"
#include "dispatch.h"

#include <string.h>

/* 64-byte vectors passed between these static functions: no ABI to keep. */
#pragma GCC diagnostic ignored "-Wpsabi"
/* Unoptimised: at -O2, GCC spends minutes unrolling the template's blocks
 * over generic vectors; this file checks logic, not speed. */
#pragma GCC optimize ("O0")

void dae_conv3x3_emu16 (const DaeConvArgs *args, const float *in, float *out);
void dae_conv3x3_maxpool2_emu16 (const DaeConvArgs *args, const float *in,
                                 float *out);
void dae_upsample2_conv3x3_emu16 (const DaeConvArgs *args, const float *in,
                                  float *out);
void dae_upsample2_concat_conv3x3_emu16 (const DaeConvArgs *args, guint up_c,
                                         const float *up, const float *skip, float *out);
void dae_upsample2_concat_conv3x3_winograd_emu16 (const DaeConvArgs *args, guint up_c,
                                                  const float *up, const float *skip,
                                                  float *out);
void dae_conv3x3_winograd_emu16 (const DaeConvArgs *args, const float *in, float *out,
                                 float *pooled);
void dae_conv3x3_backward_emu16 (const DaeConvArgs *args, const float *in,
                                 const float *dz, float *dweight, float *dbias,
                                 float *din);
void dae_wiener_band_emu16 (size_t n, guint step, const float *dct, const float *const *noisy,
                            const float *const *pilot, float s2, float *out, float *wrow);
extern const DaeKernels dae__kernels_emu16;

#define ISA emu16
#define VL 16
#define OCB_MAX 8
#define PV_MAX 3
#define PV1_MAX 8

typedef float v16 __attribute__ ((vector_size (64)));
typedef gint32 i16 __attribute__ ((vector_size (64)));
#define VEC v16

static inline __attribute__ ((always_inline)) v16
ld (const float *p)
{
  v16 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline __attribute__ ((always_inline)) v16
ld_n (const float *p, int n)
{
  float t[VL] = { 0 };
  memcpy (t, p, n * sizeof (float));
  return ld (t);
}

static inline __attribute__ ((always_inline)) void
st_n (float *p, v16 v, int n)
{
  float t[VL];
  memcpy (t, &v, sizeof v);
  memcpy (p, t, n * sizeof (float));
}

static inline __attribute__ ((always_inline)) v16
vmax (v16 a, v16 b)
{
  i16 m = a > b;
  return (v16) (((i16) a & m) | ((i16) b & ~m));
}

static inline __attribute__ ((always_inline)) v16
vmin (v16 a, v16 b)
{
  i16 m = a < b;
  return (v16) (((i16) a & m) | ((i16) b & ~m));
}

/* Round to nearest even for |x| < 2^22: the AVX round instruction's job. */
static inline __attribute__ ((always_inline)) v16
vround (v16 x)
{
  const v16 magic = (v16){} + 12582912.0f;
  return (x + magic) - magic;
}

static inline __attribute__ ((always_inline)) v16
vpow2n (v16 n)
{
  i16 i = __builtin_convertvector (n, i16);
  return (v16) ((i + 127) << 23);
}

#define V_LOADU(p) ld (p)
#define V_STOREU(p, v) st_n ((p), (v), VL)
#define V_STORE_N(p, v, n) st_n ((p), (v), (n))
#define V_LOAD_N(p, n) ld_n ((p), (n))
#define V_BCAST(p) ((v16){} + *(p))
#define V_SET1(x) ((v16){} + (x))
#define V_ZERO() ((v16){})
/* Fused, one rounding, as the hardware's FMA: the Winograd path promises
 * the reference's bits, which uses fmaf. */
static inline __attribute__ ((always_inline)) v16
vfma (v16 a, v16 b, v16 c)
{
  v16 r;
  for (int i = 0; i < VL; i++)
    r[i] = __builtin_fmaf (a[i], b[i], c[i]);
  return r;
}
#define V_FMA(a, b, c) vfma ((a), (b), (c))
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_DIV(a, b) ((a) / (b))
#define V_MAX(a, b) vmax ((a), (b))
#define V_MIN(a, b) vmin ((a), (b))
#define V_ROUND(a) vround (a)
#define V_POW2N(n) vpow2n (n)
#define V_DEINTERLEAVE(a, b, even, odd)                                      \
  do                                                                         \
    {                                                                        \
      (even) = __builtin_shuffle ((a), (b), (i16){ 0, 2, 4, 6, 8, 10, 12, 14, \
                                                   16, 18, 20, 22, 24, 26, 28, \
                                                   30 });                    \
      (odd) = __builtin_shuffle ((a), (b), (i16){ 1, 3, 5, 7, 9, 11, 13, 15,  \
                                                  17, 19, 21, 23, 25, 27, 29, \
                                                  31 });                     \
    }                                                                        \
  while (0)

static inline __attribute__ ((always_inline)) v16
pairmax_emu16 (v16 a, v16 b)
{
  v16 even, odd;
  V_DEINTERLEAVE (a, b, even, odd);
  return vmax (even, odd);
}
#define V_PAIRMAX(a, b) pairmax_emu16 ((a), (b))
#define V_INTERLEAVE(a, b, lo, hi)                                           \
  do                                                                         \
    {                                                                        \
      (lo) = __builtin_shuffle ((a), (b), (i16){ 0, 16, 1, 17, 2, 18, 3, 19, \
                                                 4, 20, 5, 21, 6, 22, 7, 23 }); \
      (hi) = __builtin_shuffle ((a), (b), (i16){ 8, 24, 9, 25, 10, 26, 11,   \
                                                 27, 12, 28, 13, 29, 14, 30, \
                                                 15, 31 });                  \
    }                                                                        \
  while (0)

#include "kernels/conv3x3__simd.c"
#include "kernels/wiener__simd.c"

const DaeKernels dae__kernels_emu16 = {
  DAE__N_ISA, "emu16",
  dae_conv3x3_emu16, dae_conv3x3_maxpool2_emu16, dae_upsample2_conv3x3_emu16,
  dae_upsample2_concat_conv3x3_emu16,
  dae_upsample2_concat_conv3x3_winograd_emu16,
  dae_conv3x3_winograd_emu16,
  dae_conv3x3_backward_emu16,
  dae_maxpool2_ref, dae_upsample2_ref,
  dae_maxpool2_backward_ref, dae_maxpool2_backward_relu_ref,
  dae_upsample2_backward_ref, dae_upsample2_backward_relu_ref,
  dae_add_ref,
  dae_wiener_band_emu16,
};
