/*
 * pictor/imageproc.h — the first half of diffusers'
 * VaeImageProcessor.postprocess (MODELS.md §7.5): decoder output in [-1, 1]
 * nominal to [0, 1], x = clamp(x / 2 + 0.5, 0, 1), computed in the VAE's
 * dtype: with bf16 the input, the halving and the sum each round to bf16
 * (FLUX/SD3 reference runs), which changes some 8-bit values. The host then
 * does round_half_even(255 x) (pictor/pipeline.h).
 * Thread: any. Pure functions.
 */
#ifndef PICTOR_IMAGEPROC_H
#define PICTOR_IMAGEPROC_H

#include <stdbool.h>
#include <stddef.h>

/* In place over n values. */
void pictor_image_denormalize(float *img, size_t n, bool bf16);

#endif /* PICTOR_IMAGEPROC_H */
