/*
 * pictor/imageproc.h — decoded images to 8-bit RGB exactly as diffusers'
 * VaeImageProcessor.postprocess(output_type="pil") does (MODELS.md §7.5):
 * x = clamp(x * 0.5 + 0.5, 0, 1); u8 = round_half_even(255 * x) (NumPy's
 * np.round), NCHW float -> NHWC bytes. The fp32 path; a bf16 VAE rounds
 * x * 0.5 + 0.5 to bf16 first (pictor_image_to_rgb8_bf16).
 * Thread: any. Pure functions.
 */
#ifndef PICTOR_IMAGEPROC_H
#define PICTOR_IMAGEPROC_H

#include <stdint.h>

/* img [B, 3, H, W] f32 in [-1, 1] nominal -> rgb [B, H, W, 3]. */
void pictor_image_to_rgb8(const float *img, int64_t B, int64_t H, int64_t W, uint8_t *rgb);
/* Same with the denormalisation rounded to bf16 as diffusers does when the
 * VAE runs in bf16 (FLUX/SD3 reference runs). */
void pictor_image_to_rgb8_bf16(const float *img, int64_t B, int64_t H, int64_t W,
                               uint8_t *rgb);

#endif /* PICTOR_IMAGEPROC_H */
