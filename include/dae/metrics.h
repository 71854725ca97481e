/* dae/metrics.h: metrics: PSNR, SSIM, BCE and the median filter, on float
 * planes.
 * Part of the dae API: include <dae.h>, which includes every part. */
#ifndef DAE_DAE_METRICS_H
#define DAE_DAE_METRICS_H

#include <dae/common.h>

G_BEGIN_DECLS

/* Quality of denoised images against clean ones, samples in [0,1] (peak 1).
 *
 * PSNR = 10 log10(1 / MSE) dB, computed per image and then averaged over
 * the images (not the PSNR of the pooled MSE); an image equal to its
 * reference scores DAE_PSNR_MAX_DB, and no image scores more.
 *
 * SSIM is Wang et al. 2004 with skimage.metrics.structural_similarity's
 * defaults at data_range=1: a 7x7 uniform window, K1 = 0.01, K2 = 0.03,
 * sample (N-1) covariances, averaged over the positions where the window
 * lies wholly inside the image; then averaged over the images.
 *
 * Batch functions take @n images of @height x @width floats packed one
 * after the other; plane functions take one plane with a row stride in
 * floats.  Sums run in double in a fixed order: results are deterministic. */

#define DAE_PSNR_MAX_DB 100.0
#define DAE_SSIM_WINDOW 7

/**
 * dae_psnr_plane:
 * @width: plane width (>= 1)
 * @height: plane height (>= 1)
 * @x: the image to score
 * @x_stride: floats between rows of @x
 * @ref: the clean reference
 * @ref_stride: floats between rows of @ref
 *
 * Returns: the PSNR of @x against @ref in dB, peak 1, at most
 * DAE_PSNR_MAX_DB.
 */
DAE_API double dae_psnr_plane (guint width, guint height, const float *x,
                       size_t x_stride, const float *ref, size_t ref_stride);

/**
 * dae_ssim_plane:
 * @width: plane width
 * @height: plane height
 * @x: the image to score
 * @x_stride: floats between rows of @x
 * @ref: the clean reference
 * @ref_stride: floats between rows of @ref
 *
 * Memory is O(@width): pages of any height are fine.
 *
 * Returns: the mean SSIM of @x against @ref (1 when equal), or NAN if the
 * plane is smaller than DAE_SSIM_WINDOW in either direction.
 */
DAE_API double dae_ssim_plane (guint width, guint height, const float *x,
                       size_t x_stride, const float *ref, size_t ref_stride);

/**
 * dae_psnr_mean:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @x: n x height x width floats: the images to score
 * @ref: as many: their clean references
 *
 * Returns: the mean over the images of their PSNR (dae_psnr_plane()), or
 * NAN if @n is 0.
 */
DAE_API double dae_psnr_mean (size_t n, guint height, guint width, const float *x,
                      const float *ref);

/**
 * dae_ssim_mean:
 * @n: number of images
 * @height: image height (>= DAE_SSIM_WINDOW)
 * @width: image width (>= DAE_SSIM_WINDOW)
 * @x: n x height x width floats: the images to score
 * @ref: as many: their clean references
 *
 * Returns: the mean over the images of their SSIM (dae_ssim_plane()), or
 * NAN if @n is 0 or the images are smaller than the window.
 */
DAE_API double dae_ssim_mean (size_t n, guint height, guint width, const float *x,
                      const float *ref);

/**
 * dae_bce_mean:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @output: n x height x width predicted probabilities in [0,1]
 * @target: as many targets in [0,1] (the clean images)
 *
 * Binary cross-entropy -(t log p + (1-t) log(1-p)) averaged over every
 * pixel, each log clamped at -100 as PyTorch's BCELoss does (so p = 0 or 1
 * gives finite values).
 *
 * Returns: the mean BCE, or NAN if there are no pixels.
 */
DAE_API double dae_bce_mean (size_t n, guint height, guint width, const float *output,
                     const float *target);

/**
 * dae_median3x3_plane:
 * @width: plane width (>= 1)
 * @height: plane height (>= 1)
 * @src: the input plane
 * @src_stride: floats between rows of @src
 * @dst: the output plane; must not overlap @src
 * @dst_stride: floats between rows of @dst
 *
 * The classical 3x3 median filter (a baseline for the models).  The border
 * is replicated: pixels outside the plane take the value of the nearest
 * edge pixel, so the size is kept and corners see their own value 4 times.
 *
 * Returns: nothing.
 */
DAE_API void dae_median3x3_plane (guint width, guint height, const float *src,
                          size_t src_stride, float *dst, size_t dst_stride);

/**
 * dae_median3x3:
 * @n: number of images
 * @height: image height
 * @width: image width
 * @src: n x height x width floats
 * @dst: room for as many; must not overlap @src
 *
 * dae_median3x3_plane() on each image of a batch.
 *
 * Returns: nothing.
 */
DAE_API void dae_median3x3 (size_t n, guint height, guint width, const float *src,
                    float *dst);

G_END_DECLS

#endif /* DAE_DAE_METRICS_H */
