/* dispatch.h: the kernel table, filled once from the CPU's features.
 *
 * Each ISA's variants have the scalar reference's signature; the table picks
 * the best the CPU and OS support, or the one DAE_ISA=ref|avx2|avx512 asks
 * for.  Every variant of one ISA sums in the same order for every tile, so
 * results do not depend on the batch, its split or the thread count. */
#ifndef DAE_DISPATCH_H
#define DAE_DISPATCH_H

#include "kernels/kernels.h"

G_BEGIN_DECLS

typedef enum {
  DAE__ISA_REF = 0,
  DAE__ISA_AVX2 = 1,   /* AVX2 + FMA */
  DAE__ISA_AVX512 = 2, /* AVX-512F (+ AVX2 + FMA) */
  DAE__N_ISA
} DaeIsa;

typedef struct {
  DaeIsa isa;
  const char *name;               /* "ref", "avx2", "avx512" */
  DaeConv3x3Fn conv3x3;           /* direct 3x3 convolution */
  DaeConv3x3Fn conv3x3_maxpool2;  /* conv3x3, then 2x2 max-pool */
  DaeConv3x3Fn upsample2_conv3x3; /* 2x upsample, then conv3x3 */
  DaeUpConcatConvFn upsample2_concat_conv3x3; /* 2x upsample, concat, conv3x3 */
  DaeUpConcatConvFn upsample2_concat_conv3x3_winograd; /* the same, Winograd's sums */
  DaeWinogradFn conv3x3_winograd; /* conv3x3 (and its max-pool) via Winograd */
  DaeConvBackwardFn conv3x3_backward; /* dweight, dbias and din */
  DaeResampleFn maxpool2;
  DaeResampleFn upsample2;
  DaePool2BackwardFn maxpool2_backward;
  DaePool2BackwardFn maxpool2_backward_relu; /* the pool's input came out of a ReLU */
  DaeUpsampleBackwardFn upsample2_backward;
  DaePool2BackwardFn upsample2_backward_relu; /* the same for an upsample */
  DaeAddFn add;                   /* a skip connection's sum */
  DaeWienerBandFn wiener_band;    /* the photo's Wiener filter, a band */
} DaeKernels;

/* The table in use: the best supported ISA, or DAE_ISA's choice. */
const DaeKernels *dae__kernels (void);

/* The table of one ISA, or NULL if this CPU (or its OS) lacks it: tests and
 * benchmarks run every variant through it. */
const DaeKernels *dae__kernels_for (DaeIsa isa);

/* Makes dae__kernels() return ISA's table (if the CPU has it) from now on:
 * for benchmarks that compare whole networks across ISAs in one process.
 * Not thread-safe: call it while no runner is running.  Returns FALSE if
 * the CPU lacks ISA. */
gboolean dae__kernels_override (DaeIsa isa);

/* Makes dae__kernels() return table (a test's, wrapping another) from now
 * on, or the dispatched choice again for NULL.  Plans made before keep the
 * table they were made with.  Not thread-safe, for tests. */
void dae__kernels_set_table (const DaeKernels *table);

/* A 64-byte aligned buffer of at least n floats, owned by the calling
 * thread and reused by every kernel call on it: it grows to the largest
 * layer once, so the hot loop does not allocate.  Its content is
 * undefined on return. */
float *dae__kernel_scratch (size_t n);

G_END_DECLS

#endif
