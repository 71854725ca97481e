/* kernels.h: layer kernels.  Each optimised variant sits beside its scalar
 * reference (*-ref.c) with the same signature; dispatch.c fills one table
 * at start-up from the CPU's features (DAE_ISA=ref|avx2|avx512 forces one). */
#ifndef DAE_KERNELS_H
#define DAE_KERNELS_H

#include "../dae.h"

G_BEGIN_DECLS

/* A convolution over a batch of n images, NCHW, 'same' padding. */
typedef struct {
  size_t n;
  guint in_c, out_c, h, w;
  const float *weight; /* conv3x3: [out_c][in_c][3][3] */
  const float *bias;   /* [out_c] */
  DaeActivation act;
} DaeConvArgs;

typedef void (*DaeConv3x3Fn) (const DaeConvArgs *args, const float *in,
                              float *out);

/* Scalar references: the specification every variant is tested against. */
void dae_conv3x3_ref (const DaeConvArgs *args, const float *in, float *out);

/* [n][c][h][w] -> [n][c][ceil(h/2)][ceil(w/2)] (Keras 'same', PyTorch
 * ceil_mode=True). */
void dae_maxpool2_ref (size_t n, guint c, guint h, guint w, const float *in,
                       float *out);
/* [n][c][h][w] -> [n][c][2h][2w], nearest. */
void dae_upsample2_ref (size_t n, guint c, guint h, guint w, const float *in,
                        float *out);
/* Transposed 2x2 stride-2 convolution: [n][in_c][h][w] -> [n][out_c][2h][2w];
 * weight [in_c][out_c][2][2]. */
void dae_convt2x2_ref (const DaeConvArgs *args, const float *in, float *out);
/* out = act(a + b), count floats. */
void dae_add_ref (size_t count, const float *a, const float *b,
                  DaeActivation act, float *out);
/* Applies act in place. */
void dae_activate_ref (size_t count, DaeActivation act, float *x);

/* im2col + sgemm over the whole batch.  scratch holds
 * dae_conv3x3_gemm_scratch(args) floats. */
size_t dae_conv3x3_gemm_scratch (const DaeConvArgs *args);
void dae_conv3x3_gemm (const DaeConvArgs *args, const float *in, float *out,
                       float *scratch);

G_END_DECLS

#endif
