/* tests/unit/test_imageproc.c — the diffusers postprocess to 8 bits:
 * clamping, half-to-even rounding of 255·x, NCHW -> NHWC. */
#include "../harness/test.h"
#include "pictor/imageproc.h"

static void test_values_and_layout(void)
{
    /* B=1, 3 channels, H=1, W=4: values chosen at the rounding edges */
    /* x*0.5+0.5 = 0.5 -> 127.5 -> 128 (half to even); 1/255*0.5... */
    float img[12] = {
        -2.0f, 0.0f, 1.0f, 3.0f,                   /* R: clamp low, 0.5, 1, clamp high */
        2.0f * (0.5f / 255.0f) - 1.0f, -1.0f, 0.5f, -0.5f, /* G */
        2.0f * (2.5f / 255.0f) - 1.0f, 2.0f * (3.5f / 255.0f) - 1.0f, 0.25f, -0.25f, /* B */
    };
    uint8_t rgb[12];
    pictor_image_to_rgb8(img, 1, 1, 4, rgb);
    CHECK(rgb[0] == 0 && rgb[3] == 128 && rgb[6] == 255 && rgb[9] == 255, "R: %d %d %d %d",
          rgb[0], rgb[3], rgb[6], rgb[9]);
    CHECK(rgb[1] == 0 || rgb[1] == 1, "G0 near 0.5/255: %d", rgb[1]);
    CHECK(rgb[4] == 0 && rgb[7] == 191 && rgb[10] == 64, "G: %d %d %d", rgb[4], rgb[7], rgb[10]);
    CHECK(rgb[11] == 96, "B3 = round(0.375*255 = 95.625) = 96: %d", rgb[11]);
    CHECK(rgb[8] == 159, "B2 = round(0.625*255 = 159.375) = 159: %d", rgb[8]);
}

static void test_batch_layout(void)
{
    float img[2 * 3 * 2 * 1];
    for (int i = 0; i < 12; i++)
        img[i] = (float)i / 6.0f - 1.0f;
    uint8_t rgb[12];
    pictor_image_to_rgb8(img, 2, 2, 1, rgb);
    /* out[b, y, x, c] = in[b, c, y, x] */
    int ok = 1;
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 2; y++)
            for (int c = 0; c < 3; c++) {
                float v = img[(b * 3 + c) * 2 + y] * 0.5f + 0.5f;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                ok &= rgb[(b * 2 + y) * 3 + c] == (uint8_t)rintf(255.0f * v);
            }
    CHECK(ok, "NCHW -> NHWC over a batch");
}

static void test_bf16_path(void)
{
    /* 0.1 is not a bf16 value: bf16(0.1) = 0.10009765625; *0.5 + 0.5 in
     * bf16 = 0.55078125 -> 255 * that = 140.449 -> 140; the f32 path gives
     * 0.55 * 255 = 140.25 -> 140 as well; pick 0.3: bf16 path 0.6484375 ->
     * 165.35 -> 165, f32 path 0.65 -> 165.75 -> 166. */
    float img[3] = {0.3f, 0.3f, 0.3f};
    uint8_t a[3], b[3];
    pictor_image_to_rgb8(img, 1, 1, 1, a);
    pictor_image_to_rgb8_bf16(img, 1, 1, 1, b);
    CHECK(a[0] == 166 && b[0] == 165, "f32 %d, bf16 %d", a[0], b[0]);
}

int main(void)
{
    RUN(test_values_and_layout);
    RUN(test_batch_layout);
    RUN(test_bf16_path);
    TEST_MAIN_END();
}
