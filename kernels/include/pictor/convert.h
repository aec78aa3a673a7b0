/*
 * pictor/convert.h — scalar and row conversions between the float formats,
 * bit-compatible with PyTorch's casts (c10/util/{Half,BFloat16,
 * Float8_e4m3fn,Float8_e5m2}.h):
 *   - f32 -> bf16 / f16 / f8: round to nearest, ties to even; subnormals kept.
 *   - NaN stays NaN (bf16: quiet 0x7fc0 with the sign; f16: 0x7e00 | sign).
 *   - f32 -> e4m3fn (no inf): |x| beyond the largest finite after rounding
 *     gives NaN (0x7f | sign) unless saturating (then +-448).
 *   - f32 -> e5m2: overflow gives +-inf unless saturating (then +-57344).
 * Thread: any. Pure functions.
 */
#ifndef PICTOR_CONVERT_H
#define PICTOR_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

float pictor_bf16_to_f32(uint16_t h);
uint16_t pictor_f32_to_bf16(float f);
float pictor_f16_to_f32(uint16_t h);
uint16_t pictor_f32_to_f16(float f);
float pictor_e4m3_to_f32(uint8_t c);
uint8_t pictor_f32_to_e4m3(float f, bool saturate);
float pictor_e5m2_to_f32(uint8_t c);
uint8_t pictor_f32_to_e5m2(float f, bool saturate);

#define PICTOR_E4M3_MAX 448.0f
#define PICTOR_E5M2_MAX 57344.0f

/* n contiguous elements of any float dtype -> f32; FP8 codes are multiplied
 * by `scale`. Integer dtypes are converted by value. */
void pictor_row_to_f32(float *dst, const void *src, int dtype, size_t n,
                       float scale);
/* n f32 -> dst dtype; FP8 stores encode(x / scale). */
void pictor_row_from_f32(void *dst, int dtype, const float *src, size_t n,
                         float scale, bool saturate);

#endif /* PICTOR_CONVERT_H */
