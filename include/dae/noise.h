/* dae/noise.h: noise: synthetic noise models for training and tests.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_NOISE_H
#define DAE_DAE_NOISE_H

#include <dae/common.h>

G_BEGIN_DECLS

/* Noise models (see dae-train(1), NOISE): `gaussian:SIGMA`
 * (clip(x + SIGMA N(0,1), 0, 1)), `saltpepper:P` (a fraction P of the
 * samples set to 0 or 1, half each), `speckle:S` (clip(x + S x N(0,1))),
 * `none`; every value may be a range LO-HI, drawn per image.  `a+b`
 * applies a, then b, to each image; `a,b` picks one of a or b per image
 * (uniformly). */
typedef struct _DaeNoise DaeNoise;

/**
 * dae_noise_new:
 * @spec: a noise specification
 * @error: return location for an error
 *
 * Returns: (transfer full): the noise model, or NULL with @error set
 * (DAE_ERROR_INVALID) naming what is wrong in @spec.
 */
DAE_API DaeNoise *dae_noise_new (const char *spec, GError **error);

/**
 * dae_noise_to_string:
 * @noise: a noise model
 *
 * Returns: (transfer full): its canonical specification, to free with
 * g_free().
 */
DAE_API char *dae_noise_to_string (const DaeNoise *noise);

/**
 * dae_noise_apply:
 * @noise: a noise model
 * @seed: the seed
 * @first_index: index of the first image in its data set
 * @n: number of images
 * @image_floats: floats per image
 * @clean: n x image_floats samples in [0,1]
 * @noisy: room for as many (may be @clean)
 *
 * Image k gets noise drawn from (@seed, @first_index + k) alone, so any
 * split of a data set into calls gives the same result.
 *
 * Returns: nothing.
 */
DAE_API void dae_noise_apply (const DaeNoise *noise, guint64 seed, size_t first_index,
                      size_t n, size_t image_floats, const float *clean,
                      float *noisy);

/**
 * dae_noise_free:
 * @noise: (nullable): a noise model
 *
 * Returns: nothing.
 */
DAE_API void dae_noise_free (DaeNoise *noise);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaeNoise, dae_noise_free)

G_END_DECLS

#endif /* DAE_DAE_NOISE_H */
