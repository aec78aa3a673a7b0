/* tests/unit/test_imageproc.c — diffusers' denormalisation to [0, 1], in
 * f32 and with the bf16 rounding of FLUX/SD3 reference runs (values
 * checked against torch 2.15: bf16 0.3 / 2 + 0.5 = 0.6484375). */
#include "../harness/test.h"
#include "pictor/imageproc.h"

static void test_f32(void)
{
    float x[6] = {-3.0f, -1.0f, 0.0f, 0.3f, 1.0f, 2.5f};
    pictor_image_denormalize(x, 6, false);
    CHECK(x[0] == 0.0f && x[1] == 0.0f && x[2] == 0.5f && x[4] == 1.0f && x[5] == 1.0f,
          "clamp and affine: %g %g %g %g %g", x[0], x[1], x[2], x[4], x[5]);
    CHECK_NEAR(x[3], 0.65f, 0.0f, "0.3 -> 0.65 exactly as f32 arithmetic");
}

static void test_bf16(void)
{
    float x[2] = {0.3f, -0.7f};
    pictor_image_denormalize(x, 2, true);
    /* torch: (torch.tensor([0.3, -0.7]).bfloat16() / 2 + 0.5).float() */
    CHECK(x[0] == 0.6484375f, "bf16 0.3: %.9g", x[0]);
    CHECK(x[1] == 0.150390625f, "bf16 -0.7: %.9g", x[1]);
}

int main(void)
{
    RUN(test_f32);
    RUN(test_bf16);
    TEST_MAIN_END();
}
