/* plugins/common/imageproc.c — see pictor/imageproc.h. */
#include "pictor/imageproc.h"

#include <math.h>

#include "pictor/convert.h"

static uint8_t to_u8(float v)
{
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    /* rintf rounds half to even in the default rounding mode, as np.round */
    return (uint8_t)rintf(255.0f * v);
}

static void convert(const float *img, int64_t B, int64_t H, int64_t W, uint8_t *rgb, int bf16)
{
    const int64_t plane = H * W;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < 3; c++) {
            const float *src = img + (b * 3 + c) * plane;
            uint8_t *dst = rgb + b * plane * 3 + c;
            for (int64_t i = 0; i < plane; i++) {
                float v = src[i] * 0.5f + 0.5f;
                if (bf16) {
                    /* the product and the sum each round to bf16 in torch */
                    float half = pictor_bf16_to_f32(pictor_f32_to_bf16(
                        pictor_bf16_to_f32(pictor_f32_to_bf16(src[i])) * 0.5f));
                    v = pictor_bf16_to_f32(pictor_f32_to_bf16(half + 0.5f));
                }
                dst[i * 3] = to_u8(v);
            }
        }
}

void pictor_image_to_rgb8(const float *img, int64_t B, int64_t H, int64_t W, uint8_t *rgb)
{
    convert(img, B, H, W, rgb, 0);
}

void pictor_image_to_rgb8_bf16(const float *img, int64_t B, int64_t H, int64_t W, uint8_t *rgb)
{
    convert(img, B, H, W, rgb, 1);
}
