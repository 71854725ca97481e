/* dae/train.h: training: architectures, initialisation, data and the Adam
 * trainer.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_TRAIN_H
#define DAE_DAE_TRAIN_H

#include <dae/model.h>
#include <dae/runner.h>
#include <dae/noise.h>

G_BEGIN_DECLS

/* Training runs forward through the same layer code as inference, then
 * backward, batch by batch.  A batch is cut into fixed shards of a few
 * images; the pool's workers take shards, each shard's gradients go to its
 * own buffer, and the buffers are summed in shard order: the bytes of a
 * trained model depend on the seed and the data, not on the number of
 * threads. */

typedef enum {
  DAE_LOSS_BCE = 0, /* binary cross-entropy, mean over every output sample */
  DAE_LOSS_MSE = 1  /* mean squared error */
} DaeLoss;

/* Where Adam's epsilon goes; they differ only for gradients near epsilon. */
typedef enum {
  DAE_ADAM_KERAS = 0,  /* p -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps) */
  DAE_ADAM_PYTORCH = 1 /* p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps) */
} DaeAdamFormula;

typedef struct {
  DaeLoss loss;
  double learning_rate;   /* Adam: 1e-3 */
  double beta1, beta2;    /* 0.9, 0.999 */
  double epsilon;         /* 1e-7 (Keras) */
  DaeAdamFormula adam_formula;
  guint batch_size;       /* 128 */
  guint threads;          /* 0 = all cores; results do not depend on it */
  guint64 seed;           /* batch order and fresh noise */
  DaeConvPath conv_path;  /* AUTO: the direct kernels (sgemm on the scalar build), never
                           * measured: a seed gives the same model every run */
  /* Weight of the loss at samples where the output and the clean target
   * fall on opposite sides of 0.5, ink invented on paper or ink lost, in
   * either polarity (what OCR's binarisation sees); 1 = plain loss. */
  double ink_weight;
} DaeTrainOptions;

/* Largest batch size accepted. */
#define DAE_TRAIN_MAX_BATCH 65536u

/**
 * dae_train_options_init:
 * @options: options to fill with the defaults: BCE, Adam with Keras'
 *   defaults (lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7), batch 128,
 *   all cores, seed 0, automatic convolution path
 *
 * Returns: nothing.
 */
DAE_API void dae_train_options_init (DaeTrainOptions *options);

/**
 * dae_model_init_glorot:
 * @model: a model
 * @seed: the seed of the draw
 *
 * Keras' defaults: weights Glorot-uniform, U(+-sqrt(6 / (fan_in +
 * fan_out))) with fan_in = in_channels x kernel area and fan_out =
 * out_channels x kernel area; biases zero.
 *
 * Returns: nothing.
 */
DAE_API void dae_model_init_glorot (DaeModel *model, guint64 seed);

/* Architectures from a short text (see dae-train(1), ARCHITECTURES):
 * comma-separated layers `cN[:act]` (3x3 conv, default relu), `tN[:act]`
 * (2x2 stride-2 transposed conv, default relu), `p` (2x2 max-pool), `u`
 * (2x upsampling), `add:REF[:act]` and `cat:REF` (skip connections to REF:
 * `in`, a layer number from 0 or a name given by suffixing a layer with
 * `=NAME`); act is relu, sigmoid or none.  Or a preset name. */

/**
 * dae_arch_presets:
 *
 * Returns: (transfer none): the NULL-terminated names of the presets
 * ("tutorial" first: the default).
 */
DAE_API const char *const *dae_arch_presets (void);

/**
 * dae_arch_preset_spec:
 * @name: a preset name
 *
 * Returns: (transfer none) (nullable): its layer list, NULL if @name is
 * not a preset.
 */
DAE_API const char *dae_arch_preset_spec (const char *name);

/**
 * dae_model_new_from_arch:
 * @spec: a preset name or a layer list (NULL or "" = "tutorial")
 * @channels: input and output channels
 * @patch_height: the training patch height
 * @patch_width: the training patch width
 * @error: return location for an error
 *
 * Builds the model (parameters zero; see dae_model_init_glorot()) and
 * records the expanded layer list as metadata "arch".
 *
 * Returns: (transfer full): the model, or NULL with @error set
 * (DAE_ERROR_INVALID for a syntax error, naming the offending token;
 * DAE_ERROR_SHAPE if the layers do not map the patch onto itself).
 */
DAE_API DaeModel *dae_model_new_from_arch (const char *spec, guint channels,
                                   guint patch_height, guint patch_width,
                                   GError **error);

/**
 * dae_random_crops:
 * @n_images: number of source images
 * @images: their samples, each height x width floats (one channel)
 * @widths: their widths
 * @heights: their heights
 * @n_patches: crops wanted
 * @patch_height: crop height
 * @patch_width: crop width
 * @seed: the seed
 * @error: return location for an error
 *
 * Cuts @n_patches crops at random positions; each crop picks its image
 * with probability proportional to the number of positions it offers.
 *
 * Returns: (transfer full): n_patches x patch_height x patch_width floats
 * (g_free()), or NULL with @error set if no image is large enough.
 */
DAE_API float *dae_random_crops (guint n_images, const float *const *images,
                         const guint *widths, const guint *heights,
                         size_t n_patches, guint patch_height,
                         guint patch_width, guint64 seed, GError **error);

/* A data set for one epoch: n images of the model's patch shape. */
typedef struct {
  size_t n;
  const float *clean;    /* n x channels x height x width: the targets */
  const float *noisy;    /* nullable: fixed inputs (noise drawn once) */
  const DaeNoise *noise; /* when noisy is NULL: fresh noise each epoch */
} DaeTrainData;

/* Called after each batch; return FALSE to stop (DAE_ERROR_CANCELLED). */
typedef gboolean (*DaeTrainProgressFunc) (size_t done, size_t total,
                                          gpointer user_data);

typedef struct _DaeTrainer DaeTrainer;

/**
 * dae_trainer_new:
 * @model: the model to train, in place; it must outlive the trainer
 * @options: (nullable): options, NULL for the defaults
 * @error: return location for an error
 *
 * Returns: (transfer full): a trainer (fresh Adam state), or NULL with
 * @error set if an option is out of range or the model cannot be trained
 * on its own patch size.
 */
DAE_API DaeTrainer *dae_trainer_new (DaeModel *model, const DaeTrainOptions *options,
                             GError **error);

/**
 * dae_trainer_free:
 * @trainer: (nullable): a trainer
 *
 * Returns: nothing.
 */
DAE_API void dae_trainer_free (DaeTrainer *trainer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeTrainer, dae_trainer_free)

/**
 * dae_trainer_get_n_threads:
 * @trainer: a trainer
 *
 * Returns: the number of threads it computes with.
 */
DAE_API guint dae_trainer_get_n_threads (const DaeTrainer *trainer);

/**
 * dae_trainer_gradients:
 * @trainer: a trainer
 * @n: number of images (1..DAE_TRAIN_MAX_BATCH)
 * @input: n patches: the network's input
 * @target: n patches: what it should output
 * @loss: (out) (optional): the mean loss
 * @grad_params: (nullable): room for dae_model_get_n_params() floats: the
 *   gradient of the loss with respect to each parameter, in .dae order
 * @grad_input: (nullable): room for n patches: the gradient with respect
 *   to @input
 * @error: return location for an error
 *
 * Forward and backward on one batch, without changing the model.  With
 * BCE after a sigmoid the two are differentiated together (dL/dz = p - t,
 * as Keras does), which differs from the clamped BCE only where p rounds
 * to exactly 0 or 1.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_trainer_gradients (DaeTrainer *trainer, size_t n,
                                const float *input, const float *target,
                                double *loss, float *grad_params,
                                float *grad_input, GError **error);

/**
 * dae_trainer_step:
 * @trainer: a trainer
 * @n: number of images in the batch (1..DAE_TRAIN_MAX_BATCH)
 * @input: n patches
 * @target: n patches
 * @loss: (out) (optional): the batch's mean loss before the step
 * @error: return location for an error
 *
 * One Adam step on one batch.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_trainer_step (DaeTrainer *trainer, size_t n, const float *input,
                           const float *target, double *loss, GError **error);

/**
 * dae_trainer_apply_gradients:
 * @trainer: a trainer
 * @grad: dae_model_get_n_params() floats, in .dae order
 *
 * One Adam step with a given gradient (what dae_trainer_step() does after
 * computing it).
 *
 * Returns: nothing.
 */
DAE_API void dae_trainer_apply_gradients (DaeTrainer *trainer, const float *grad);

/**
 * dae_trainer_train_epoch:
 * @trainer: a trainer
 * @data: the training data
 * @epoch: the epoch number (0 first): with the seed, it selects the batch
 *   order and the fresh noise
 * @progress: (nullable): called after each batch
 * @user_data: for @progress
 * @loss: (out) (optional): mean training loss over the epoch's images
 * @error: return location for an error
 *
 * One pass over @data in shuffled batches of the batch size (the last one
 * smaller), one Adam step each.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_trainer_train_epoch (DaeTrainer *trainer,
                                  const DaeTrainData *data, guint epoch,
                                  DaeTrainProgressFunc progress,
                                  gpointer user_data, double *loss,
                                  GError **error);

/**
 * dae_trainer_evaluate:
 * @trainer: a trainer
 * @n: number of images
 * @input: n patches
 * @target: (nullable): n patches, for @loss
 * @loss: (out) (optional): the mean loss against @target
 * @output: (nullable): room for n patches: the model's output
 * @error: return location for an error
 *
 * Runs the model (forward only) on all threads.
 *
 * Returns: TRUE on success.
 */
DAE_API gboolean dae_trainer_evaluate (DaeTrainer *trainer, size_t n,
                               const float *input, const float *target,
                               double *loss, float *output, GError **error);

G_END_DECLS

#endif /* DAE_DAE_TRAIN_H */
