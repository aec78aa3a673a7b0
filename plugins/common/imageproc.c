/* plugins/common/imageproc.c — see pictor/imageproc.h. */
#include "pictor/imageproc.h"

#include "pictor/convert.h"

static float bf16_round(float v)
{
    return pictor_bf16_to_f32(pictor_f32_to_bf16(v));
}

void pictor_image_denormalize(float *img, size_t n, bool bf16)
{
    for (size_t i = 0; i < n; i++) {
        float v;
        if (bf16)
            v = bf16_round(bf16_round(bf16_round(img[i]) / 2.0f) + 0.5f);
        else
            v = img[i] / 2.0f + 0.5f;
        img[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
}
