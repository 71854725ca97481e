/* dae/runner.h: running: the forward pass of a model on batches of tiles, and
 * the kernels it uses.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_RUNNER_H
#define DAE_DAE_RUNNER_H

#include <dae/model.h>

G_BEGIN_DECLS

/* Which implementation runs the 3x3 convolutions.  A runner makes its plan
 * once (for each layer its path and the layers fused with it).  AUTO times
 * the three paths on each distinct layer shape (a few milliseconds) and
 * keeps the fastest on this machine; a path replaces the direct kernels only
 * when at least 5% faster.  The paths agree to about 1e-5 but round
 * differently, so the choice is made once a machine: kept in the user's
 * cache, $XDG_CACHE_HOME/dae/conv-paths-v1 (one line "ISA [CPU model]
 * layers -> path" a choice), and read back by every later process, which
 * then computes the same bits.  The environment variable
 * DAE_CONV_CACHE=file moves that file, DAE_CONV_CACHE=off (or a file that
 * cannot be written) keeps the choices to the process;
 * DAE_CONV=direct|winograd|gemm takes AUTO's place (no measuring, no
 * cache).  A trainer's AUTO is the direct kernels (sgemm on the scalar
 * build), never measured. */
typedef enum {
  DAE_CONV_AUTO = 0,   /* the fastest measured for each layer (or DAE_CONV's) */
  DAE_CONV_DIRECT = 1, /* direct kernels (scalar reference or SIMD) */
  DAE_CONV_GEMM = 2,   /* im2col + BLAS sgemm over the batch */
  DAE_CONV_WINOGRAD = 3 /* Winograd F(2x2, 3x3) where a layer has 16 or more input
                         * and output channels, direct kernels elsewhere */
} DaeConvPath;

/* A runner holds the scratch memory to run one model on tiles of one size.
 * It is not thread-safe: use one per thread (they share the model). */
typedef struct _DaeRunner DaeRunner;

/**
 * dae_runner_new:
 * @model: a model; it must outlive the runner
 * @height: tile height
 * @width: tile width
 * @error: return location for an error
 *
 * Plans the network for tiles of @height x @width: every layer's shape is
 * checked (skip connections must meet equal shapes).
 *
 * Returns: (transfer full): a runner, or NULL with @error set.
 */
DAE_API DaeRunner *dae_runner_new (const DaeModel *model, guint height, guint width,
                           GError **error);

/**
 * dae_runner_free:
 * @runner: (nullable): a runner
 *
 * Returns: nothing.
 */
DAE_API void dae_runner_free (DaeRunner *runner);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeRunner, dae_runner_free)

/**
 * dae_runner_set_conv_path:
 * @runner: a runner
 * @path: the convolution implementation to use
 *
 * Remakes the runner's plan for @path (a runner starts with AUTO's).
 *
 * Returns: nothing.
 */
DAE_API void dae_runner_set_conv_path (DaeRunner *runner, DaeConvPath path);

/**
 * dae_runner_get_output_shape:
 * @runner: a runner
 * @layer: a layer index
 * @channels: (out) (optional): channels of its output
 * @height: (out) (optional): height of its output
 * @width: (out) (optional): width of its output
 *
 * Returns: FALSE if @layer is out of range, else TRUE.
 */
DAE_API gboolean dae_runner_get_output_shape (const DaeRunner *runner, guint layer,
                                      guint *channels, guint *height,
                                      guint *width);

/**
 * dae_runner_forward:
 * @runner: a runner
 * @n: number of tiles
 * @input: n x channels x height x width floats in [0,1]
 * @output: room for as many floats: the denoised tiles
 * @error: return location for an error
 *
 * Runs the network on a batch.  Results depend only on each tile, not on
 * @n or on how the batch is split.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_runner_forward (DaeRunner *runner, size_t n, const float *input,
                             float *output, GError **error);

/**
 * dae_runner_forward_to:
 * @runner: a runner
 * @n: number of tiles
 * @input: n x channels x height x width floats
 * @last_layer: the layer whose output is wanted
 * @output: room for n x its output shape (dae_runner_get_output_shape())
 * @error: return location for an error
 *
 * Runs layers 0..@last_layer and returns that layer's output: the
 * intermediate activations, for tests and inspection.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_runner_forward_to (DaeRunner *runner, size_t n,
                                const float *input, guint last_layer,
                                float *output, GError **error);

/* ==== Kernels (core/dispatch.c) ========================================= */

/* Kernels: the convolutions run on the best instruction set the CPU and its
 * OS support (AVX-512, AVX2 + FMA, or portable C), chosen once per process;
 * the environment variable DAE_ISA=ref|avx2|avx512 forces one.  The
 * variants agree to about 1e-5 (they round differently); a given variant
 * gives the same bits whatever the batch, its split or the thread count.
 * How each convolution runs on them (direct kernels fused with a following
 * max-pool, a preceding upsample or a U-Net's upsample and concatenation;
 * Winograd; or im2col + BLAS) is the runner's plan: see DaeConvPath. */

/**
 * dae_kernels_describe:
 *
 * Returns: the instruction set of the kernels in use: "avx512", "avx2" or
 * "ref" (for -v output).
 */
DAE_API const char *dae_kernels_describe (void);

/**
 * dae_kernels_get_note:
 *
 * Returns: (nullable): why DAE_ISA was not followed (an unknown value, or
 * an instruction set this CPU or OS lacks), or NULL.
 */
DAE_API const char *dae_kernels_get_note (void);

G_END_DECLS

#endif /* DAE_DAE_RUNNER_H */
