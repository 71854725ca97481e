/* kernels.h: layer kernels, one file per family and variant, named
 * FAMILY__VARIANT.c: the family is the operation and its kernel shape
 * (conv3x3, conv3x3_winograd, conv3x3_gemm, convt2x2, convt2x2_gemm,
 * resample2 for the 2x2 max-pool and 2x upsample, pointwise), the variant
 * what the code is for: ref (portable C, the specification every other
 * variant is tested against), avx2, avx512, simd (a template compiled once
 * per ISA) or blas (sgemm; a portable loop where no BLAS was found).  Each
 * optimised variant has its reference's signature; dispatch.c fills one
 * table at start-up from the CPU's features (DAE_ISA=ref|avx2|avx512 forces
 * one). */
#ifndef DAE_KERNELS_H
#define DAE_KERNELS_H

#include "dae.h"

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

/* Max-pool and upsample: [n][c][h][w] in, out as each says. */
typedef void (*DaeResampleFn) (size_t n, guint c, guint h, guint w,
                               const float *in, float *out);
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
typedef void (*DaeAddFn) (size_t count, const float *a, const float *b,
                          DaeActivation act, float *out);
void dae_add_ref (size_t count, const float *a, const float *b,
                  DaeActivation act, float *out);
/* Applies act in place. */
void dae_activate_ref (size_t count, DaeActivation act, float *x);

/* The Wiener filter's 8x8 blocks over one band of eight rows (wiener.c):
 * noisy[i] and pilot[i], the band's rows of n >= 8; every block, at every
 * `step`-th column (1 or 2) and at n - 8, in the orthonormal DCT-II dct (C[k][m],
 * row-major), each coefficient scaled by P^2 / (P^2 + s2) (P the pilot's;
 * 1 when s2 is 0), turned back and summed into out (8 x n) with the
 * block's weight 1 / (sum of the squared factors + 1e-3), which is summed
 * into wrow (n) over the block's columns.  out and wrow are overwritten. */
typedef void (*DaeWienerBandFn) (size_t n, guint step, const float *dct,
                                 const float *const *noisy, const float *const *pilot,
                                 float s2, float *out, float *wrow);
void dae_wiener_band_ref (size_t n, guint step, const float *dct, const float *const *noisy,
                          const float *const *pilot, float s2, float *out, float *wrow);

/* A conv3x3 through Winograd F(2x2, 3x3) (conv3x3_winograd__ref.c): out
 * (nullable) as dae_conv3x3_ref's, and pooled (nullable) its 2x2 max-pool,
 * [n][out_c][ceil(h/2)][ceil(w/2)], as dae_maxpool2_ref makes it.  Within
 * 1e-5 of the direct convolution relative to the sum of |terms|; the SIMD
 * variants give the reference's bits (but for the sigmoid). */
typedef void (*DaeWinogradFn) (const DaeConvArgs *args, const float *in, float *out,
                               float *pooled);
/* U = G g G^T of every kernel: u[16][out_c][in_c], position 4 * row + column. */
void dae_winograd_weights (const DaeConvArgs *args, float *u);
void dae_conv3x3_winograd_ref (const DaeConvArgs *args, const float *in, float *out,
                               float *pooled);

/* ==== Direct and fused conv3x3 variants (simd; dispatch in core/dispatch.c) ====
 * conv3x3_maxpool2: a conv3x3 (h, w are its input's and output's size),
 * then dae_maxpool2_ref: out is [n][out_c][ceil(h/2)][ceil(w/2)].
 * upsample2_conv3x3: dae_upsample2_ref of the [n][in_c][h][w] input, then a
 * conv3x3 at 2h x 2w: out is [n][out_c][2h][2w].
 * SIMD variants match the references within 1e-5 relative to the sum of
 * |terms| (FMA rounding, and the fused upsample adds the weights that meet
 * the same input sample first); each gives the same bits whatever the batch
 * or its split. */
void dae_conv3x3_maxpool2_ref (const DaeConvArgs *args, const float *in,
                               float *out);
void dae_upsample2_conv3x3_ref (const DaeConvArgs *args, const float *in,
                                float *out);
/* upsample2_concat_conv3x3: a conv3x3 at h x w whose input channels are
 * dae_upsample2_ref of up ([n][up_c][h/2][w/2], h and w even), then those
 * of skip ([n][in_c - up_c][h][w]); out is [n][out_c][h][w].  The SIMD
 * variants give the bits of their unfused layers, but for one output
 * channel: that path sums the upsampled channels at the small size (as
 * upsample2_conv3x3 does) and matches the reference within the rule
 * above. */
typedef void (*DaeUpConcatConvFn) (const DaeConvArgs *args, guint up_c, const float *up,
                                   const float *skip, float *out);
void dae_upsample2_concat_conv3x3_ref (const DaeConvArgs *args, guint up_c,
                                       const float *up, const float *skip, float *out);
void dae_upsample2_concat_conv3x3_avx2 (const DaeConvArgs *args, guint up_c,
                                        const float *up, const float *skip, float *out);
void dae_upsample2_concat_conv3x3_avx512 (const DaeConvArgs *args, guint up_c,
                                          const float *up, const float *skip,
                                          float *out);
/* upsample2_concat_conv3x3_winograd: the same result, the full-size
 * (skip) channels' sums made by Winograd F(2x2, 3x3); the reference runs
 * the upsample, the concat and dae_conv3x3_winograd_ref. */
void dae_upsample2_concat_conv3x3_winograd_ref (const DaeConvArgs *args, guint up_c,
                                                const float *up, const float *skip, float *out);
void dae_upsample2_concat_conv3x3_winograd_avx2 (const DaeConvArgs *args, guint up_c,
                                                 const float *up, const float *skip,
                                                 float *out);
void dae_upsample2_concat_conv3x3_winograd_avx512 (const DaeConvArgs *args, guint up_c,
                                                   const float *up, const float *skip,
                                                   float *out);
void dae_conv3x3_avx2 (const DaeConvArgs *args, const float *in, float *out);
void dae_conv3x3_winograd_avx2 (const DaeConvArgs *args, const float *in, float *out,
                                float *pooled);
void dae_conv3x3_winograd_avx512 (const DaeConvArgs *args, const float *in, float *out,
                                  float *pooled);
void dae_conv3x3_maxpool2_avx2 (const DaeConvArgs *args, const float *in,
                                float *out);
void dae_upsample2_conv3x3_avx2 (const DaeConvArgs *args, const float *in,
                                 float *out);
void dae_conv3x3_avx512 (const DaeConvArgs *args, const float *in, float *out);
void dae_conv3x3_maxpool2_avx512 (const DaeConvArgs *args, const float *in,
                                  float *out);
void dae_upsample2_conv3x3_avx512 (const DaeConvArgs *args, const float *in,
                                   float *out);
/* Backward of conv3x3 (the signature of dae_conv3x3_backward_ref): dweight
 * and dbias summed in VL lanes, din through the forward kernel. */
void dae_conv3x3_backward_avx2 (const DaeConvArgs *args, const float *in,
                                const float *dz, float *dweight, float *dbias,
                                float *din);
void dae_conv3x3_backward_avx512 (const DaeConvArgs *args, const float *in,
                                  const float *dz, float *dweight, float *dbias,
                                  float *din);
void dae_add_avx2 (size_t count, const float *a, const float *b, DaeActivation act,
                   float *out);
void dae_maxpool2_avx2 (size_t n, guint c, guint h, guint w, const float *in,
                        float *out);
void dae_upsample2_avx2 (size_t n, guint c, guint h, guint w, const float *in,
                         float *out);
void dae_upsample2_backward_avx2 (size_t n, guint c, guint h, guint w,
                                  const float *dout, float *din);
void dae_upsample2_backward_relu_avx2 (size_t n, guint c, guint h, guint w,
                                       const float *in, const float *dout,
                                       float *din);
void dae_maxpool2_backward_avx2 (size_t n, guint c, guint h, guint w,
                                 const float *in, const float *dout, float *din);
void dae_maxpool2_backward_relu_avx2 (size_t n, guint c, guint h, guint w,
                                      const float *in, const float *dout,
                                      float *din);
void dae_wiener_band_avx2 (size_t n, guint step, const float *dct, const float *const *noisy,
                           const float *const *pilot, float s2, float *out, float *wrow);
void dae_wiener_band_avx512 (size_t n, guint step, const float *dct,
                             const float *const *noisy, const float *const *pilot, float s2,
                             float *out, float *wrow);
/* ==== end simd ==== */

/* im2col + sgemm over the whole batch.  scratch holds
 * dae_conv3x3_gemm_scratch(args) floats. */
size_t dae_conv3x3_gemm_scratch (const DaeConvArgs *args);
void dae_conv3x3_gemm (const DaeConvArgs *args, const float *in, float *out,
                       float *scratch);
/* col[in_c*9][n*h*w]: row (ic, ky, kx) holds the input under that tap for
 * every pixel of every image (zero outside). */
void dae_im2col3x3 (const DaeConvArgs *args, const float *in, float *col);

/* Backward passes (training).  `dz` is the gradient with respect to a
 * layer's output before its activation (dae_activation_backward_ref makes
 * it); `in` is the layer's input.  Every result is overwritten, not
 * accumulated: dweight and dbias in the layout of weight and bias, din
 * (nullable: skipped) like `in`.  args->weight is read for din, args->bias
 * and args->act are not used. */
typedef void (*DaeConvBackwardFn) (const DaeConvArgs *args, const float *in,
                                   const float *dz, float *dweight,
                                   float *dbias, float *din);

/* dy *= act'(.), given the activation's output y: gradient with respect to
 * the output becomes gradient with respect to the pre-activation. */
void dae_activation_backward_ref (size_t count, DaeActivation act,
                                  const float *y, float *dy);
void dae_conv3x3_backward_ref (const DaeConvArgs *args, const float *in,
                               const float *dz, float *dweight, float *dbias,
                               float *din);
/* din = dout routed to the first maximum (row-major order) of each window,
 * as PyTorch does; in is the pool's input.  The SIMD variants (resample2__avx2.c)
 * give the same bits. */
typedef void (*DaePool2BackwardFn) (size_t n, guint c, guint h, guint w,
                                    const float *in, const float *dout,
                                    float *din);
void dae_maxpool2_backward_ref (size_t n, guint c, guint h, guint w,
                                const float *in, const float *dout,
                                float *din);
/* The same for a max-pool whose input came out of a ReLU: din is also
 * multiplied by the ReLU's derivative, so that pass can be skipped. */
void dae_maxpool2_backward_relu_ref (size_t n, guint c, guint h, guint w,
                                     const float *in, const float *dout,
                                     float *din);
/* din[h][w] = sum of dout over each 2x2 copy. */
typedef void (*DaeUpsampleBackwardFn) (size_t n, guint c, guint h, guint w,
                                       const float *dout, float *din);
void dae_upsample2_backward_ref (size_t n, guint c, guint h, guint w,
                                 const float *dout, float *din);
/* The same for an upsample whose input came out of a ReLU (in): din is also
 * multiplied by the ReLU's derivative. */
void dae_upsample2_backward_relu_ref (size_t n, guint c, guint h, guint w,
                                      const float *in, const float *dout,
                                      float *din);
void dae_convt2x2_backward_ref (const DaeConvArgs *args, const float *in,
                                const float *dz, float *dweight, float *dbias,
                                float *din);

/* The same as dae_conv3x3_backward_ref through sgemm: dW = dz x col^T over
 * the batch (dae_conv3x3_gemm_dweight), dx = dae_conv3x3_gemm of dz with
 * the flipped kernels.  scratch holds dae_conv3x3_gemm_backward_scratch()
 * floats. */
size_t dae_conv3x3_gemm_backward_scratch (const DaeConvArgs *args);
void dae_conv3x3_gemm_backward (const DaeConvArgs *args, const float *in,
                                const float *dz, float *dweight, float *dbias,
                                float *din, float *scratch);
/* Only dweight and dbias (overwritten); scratch holds
 * dae_conv3x3_gemm_dweight_scratch() floats. */
size_t dae_conv3x3_gemm_dweight_scratch (const DaeConvArgs *args);
void dae_conv3x3_gemm_dweight (const DaeConvArgs *args, const float *in,
                               const float *dz, float *dweight, float *dbias,
                               float *scratch);
/* dx of a 3x3 convolution is the 'same' convolution of dz with the kernels
 * transposed and mirrored: flipped[ic][oc][2-ky][2-kx] = w[oc][ic][ky][kx]
 * (in_c x out_c x 9 floats), run as dae_conv3x3_dx_args() describes (out_c
 * -> in_c channels, zero_bias: in_c zeros, no activation), so every
 * forward kernel serves the backward pass too. */
void dae_conv3x3_flip_weights (const DaeConvArgs *args, float *flipped);
DaeConvArgs dae_conv3x3_dx_args (const DaeConvArgs *args, const float *flipped,
                                 const float *zero_bias);

/* The same as dae_convt2x2_backward_ref through sgemm, per image, on dz
 * rearranged space-to-depth; scratch holds
 * dae_convt2x2_gemm_backward_scratch() floats. */
size_t dae_convt2x2_gemm_backward_scratch (const DaeConvArgs *args);
void dae_convt2x2_gemm_backward (const DaeConvArgs *args, const float *in,
                                 const float *dz, float *dweight, float *dbias,
                                 float *din, float *scratch);

G_END_DECLS

#endif
