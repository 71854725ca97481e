/* dae.h: the dae engine (denoising autoencoders), every part of its API.
 *
 * Installed as $includedir/dae-1/dae.h with its parts in dae-1/dae/;
 * `pkg-config --cflags dae` gives -I$includedir/dae-1, so programs write
 * #include <dae.h>.  The stable core: dae/model.h (models), dae/runner.h
 * (running a model on tiles) and dae/denoise.h (denoising images).  Apart:
 * dae/image.h (image I/O), dae/train.h (training), dae/noise.h (synthetic
 * noise) and dae/metrics.h (image quality).  Conventions: dae/common.h.
 */
#ifndef DAE_H
#define DAE_H

#include <dae/common.h>
#include <dae/model.h>
#include <dae/runner.h>
#include <dae/denoise.h>
#include <dae/image.h>
#include <dae/metrics.h>
#include <dae/noise.h>
#include <dae/train.h>

#endif /* DAE_H */
