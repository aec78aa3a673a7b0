/*
 * kernels/src/convert.c — f32 <-> bf16 / f16 / FP8 conversions, bit-exact
 * with PyTorch's c10 casts (see pictor/convert.h for the policy).
 *
 * Encoding works on integer bit patterns, never on float tricks, so the
 * result does not depend on the FPU's rounding mode or flush-to-zero flags:
 * f16 and both FP8 formats go through one routine that rounds |x| to
 * nearest-even in a format with `mbits` mantissa bits and exponent bias
 * `bias` (subnormals included) and lets a carry out of the mantissa bump
 * the exponent; each format then applies its own overflow rule.
 */
#include "pictor/convert.h"

#include <math.h>
#include <string.h>

#include "pictor/tensor.h"

#define F32_SIGN 0x80000000u
#define F32_ABS 0x7fffffffu
#define F32_INF 0x7f800000u
#define F32_MANT_BITS 23
#define F32_BIAS 127
#define F32_IMPLICIT 0x00800000u

/* Format parameters: IEEE binary16 and OCP FP8 (OFP8 spec v1.0, 2023). */
#define F16_MANT_BITS 10
#define F16_BIAS 15
#define F16_MAX_CODE 0x7bffu /* 65504 */
#define F16_INF 0x7c00u
#define F16_NAN 0x7e00u
#define E4M3_MANT_BITS 3
#define E4M3_BIAS 7
#define E4M3_MAX_CODE 0x7eu /* 448 = 1.75 * 2^8 */
#define E4M3_NAN 0x7fu      /* S.1111.111, the only NaN of "fn" */
#define E5M2_MANT_BITS 2
#define E5M2_BIAS 15
#define E5M2_MAX_CODE 0x7bu /* 57344 = 1.75 * 2^15 */
#define E5M2_INF 0x7cu
#define E5M2_NAN 0x7fu
#define BF16_NAN 0x7fc0u

static uint32_t f32_bits(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

/* v >> s rounded to nearest, ties to even; 1 <= s <= 31. */
static uint32_t rne_shift(uint32_t v, int s)
{
    uint32_t q = v >> s;
    uint32_t r = v & ((1u << s) - 1u);
    uint32_t half = 1u << (s - 1);

    if (r > half || (r == half && (q & 1u)))
        q++;
    return q;
}

/*
 * Rounds the finite non-negative f32 with bits `a` into a small float format
 * and returns its code (exponent << mbits | mantissa) without an upper bound:
 * the caller compares it with the format's largest finite code.
 */
static uint32_t encode_abs(uint32_t a, int mbits, int bias)
{
    int e = (int)(a >> F32_MANT_BITS);
    uint32_t m = a & (F32_IMPLICIT - 1u);
    int min_normal_e = F32_BIAS - bias + 1; /* f32 exponent of 2^(1-bias) */
    int shift;

    if (e >= min_normal_e) {
        /* Re-bias the exponent in place; the mantissa rounds into it. */
        uint32_t v = ((uint32_t)(e - F32_BIAS + bias) << F32_MANT_BITS) | m;
        return rne_shift(v, F32_MANT_BITS - mbits);
    }
    if (e == 0)
        return 0; /* f32 zero/subnormal: far below half the smallest code */
    /* Target subnormal: |x| / 2^(1-bias-mbits) = (m|1.0) >> shift. */
    shift = (1 - bias - mbits) - (e - F32_BIAS - F32_MANT_BITS);
    if (shift > F32_MANT_BITS + 1)
        return 0; /* below half the smallest subnormal (24-bit significand) */
    return rne_shift(m | F32_IMPLICIT, shift);
}

float pictor_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

/* c10::detail::round_to_nearest_even, with the NaN sign kept. */
uint16_t pictor_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);

    if ((u & F32_ABS) > F32_INF)
        return (uint16_t)(((u & F32_SIGN) >> 16) | BF16_NAN);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float pictor_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> F16_MANT_BITS) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    float mag;

    if (e == 0) {
        /* Subnormal: m * 2^-24, exact in f32. */
        mag = (float)m * 0x1p-24f;
        return sign ? -mag : mag;
    }
    if (e == 0x1fu) /* inf / NaN, payload kept as c10 does */
        return f32_from_bits(sign | F32_INF | (m << 13));
    return f32_from_bits(sign | ((e + F32_BIAS - F16_BIAS) << F32_MANT_BITS) |
                         (m << 13));
}

uint16_t pictor_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u & F32_SIGN) >> 16);
    uint32_t a = u & F32_ABS;
    uint32_t code;

    if (a > F32_INF)
        return sign | F16_NAN;
    if (a == F32_INF)
        return sign | F16_INF;
    code = encode_abs(a, F16_MANT_BITS, F16_BIAS);
    if (code > F16_MAX_CODE)
        return sign | F16_INF;
    return (uint16_t)(sign | code);
}

float pictor_e4m3_to_f32(uint8_t c)
{
    uint32_t sign = (uint32_t)(c & 0x80u) << 24;
    uint32_t e = (c >> E4M3_MANT_BITS) & 0xfu;
    uint32_t m = c & 0x7u;
    float mag;

    if ((c & 0x7fu) == E4M3_NAN)
        return sign ? -NAN : NAN;
    if (e == 0) {
        mag = (float)m * 0x1p-9f; /* subnormal unit 2^(1-7-3) */
        return sign ? -mag : mag;
    }
    return f32_from_bits(sign | ((e + F32_BIAS - E4M3_BIAS) << F32_MANT_BITS) |
                         (m << (F32_MANT_BITS - E4M3_MANT_BITS)));
}

uint8_t pictor_f32_to_e4m3(float f, bool saturate)
{
    uint32_t u = f32_bits(f);
    uint8_t sign = (uint8_t)((u & F32_SIGN) >> 24);
    uint32_t a = u & F32_ABS;
    uint32_t code;

    if (a > F32_INF)
        return sign | E4M3_NAN;
    if (a == F32_INF)
        return sign | (saturate ? E4M3_MAX_CODE : E4M3_NAN);
    code = encode_abs(a, E4M3_MANT_BITS, E4M3_BIAS);
    if (code > E4M3_MAX_CODE)
        return sign | (saturate ? E4M3_MAX_CODE : E4M3_NAN);
    return (uint8_t)(sign | code);
}

/* E5M2 is the top byte of binary16. */
float pictor_e5m2_to_f32(uint8_t c)
{
    return pictor_f16_to_f32((uint16_t)((uint16_t)c << 8));
}

uint8_t pictor_f32_to_e5m2(float f, bool saturate)
{
    uint32_t u = f32_bits(f);
    uint8_t sign = (uint8_t)((u & F32_SIGN) >> 24);
    uint32_t a = u & F32_ABS;
    uint32_t code;

    if (a > F32_INF)
        return sign | E5M2_NAN;
    if (a == F32_INF)
        return sign | (saturate ? E5M2_MAX_CODE : E5M2_INF);
    code = encode_abs(a, E5M2_MANT_BITS, E5M2_BIAS);
    if (code > E5M2_MAX_CODE)
        return sign | (saturate ? E5M2_MAX_CODE : E5M2_INF);
    return (uint8_t)(sign | code);
}

void pictor_row_to_f32(float *dst, const void *src, int dtype, size_t n,
                       float scale)
{
    size_t i;

    switch (dtype) {
    case PICTOR_F32:
        memmove(dst, src, n * sizeof(float));
        break;
    case PICTOR_F16: {
        const uint16_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = pictor_f16_to_f32(s[i]);
        break;
    }
    case PICTOR_BF16: {
        const uint16_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = pictor_bf16_to_f32(s[i]);
        break;
    }
    case PICTOR_F8_E4M3: {
        const uint8_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = pictor_e4m3_to_f32(s[i]) * scale;
        break;
    }
    case PICTOR_F8_E5M2: {
        const uint8_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = pictor_e5m2_to_f32(s[i]) * scale;
        break;
    }
    case PICTOR_I32: {
        const int32_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = (float)s[i];
        break;
    }
    case PICTOR_I64: {
        const int64_t *s = src;
        for (i = 0; i < n; i++)
            dst[i] = (float)s[i];
        break;
    }
    default:
        break;
    }
}

/*
 * f32 -> integer by value: truncation toward zero as a C cast (and torch's
 * .to(int)) does; NaN gives 0 and out-of-range values clamp, where C would
 * be undefined.
 */
static int64_t f32_to_int(float x, double lo, double hi)
{
    if (isnan(x))
        return 0;
    if ((double)x <= lo)
        return (int64_t)lo;
    if ((double)x >= hi)
        return (int64_t)hi;
    return (int64_t)x;
}

void pictor_row_from_f32(void *dst, int dtype, const float *src, size_t n,
                         float scale, bool saturate)
{
    size_t i;

    switch (dtype) {
    case PICTOR_F32:
        memmove(dst, src, n * sizeof(float));
        break;
    case PICTOR_F16: {
        uint16_t *d = dst;
        for (i = 0; i < n; i++)
            d[i] = pictor_f32_to_f16(src[i]);
        break;
    }
    case PICTOR_BF16: {
        uint16_t *d = dst;
        for (i = 0; i < n; i++)
            d[i] = pictor_f32_to_bf16(src[i]);
        break;
    }
    case PICTOR_F8_E4M3: {
        uint8_t *d = dst;
        for (i = 0; i < n; i++)
            d[i] = pictor_f32_to_e4m3(src[i] / scale, saturate);
        break;
    }
    case PICTOR_F8_E5M2: {
        uint8_t *d = dst;
        for (i = 0; i < n; i++)
            d[i] = pictor_f32_to_e5m2(src[i] / scale, saturate);
        break;
    }
    case PICTOR_I32: {
        int32_t *d = dst;
        for (i = 0; i < n; i++)
            d[i] = (int32_t)f32_to_int(src[i], (double)INT32_MIN,
                                       (double)INT32_MAX);
        break;
    }
    case PICTOR_I64: {
        int64_t *d = dst;
        /* 2^63 is not an int64; the largest float below it is 2^63 - 2^39. */
        for (i = 0; i < n; i++)
            d[i] = f32_to_int(src[i], -0x1p63, 0x1p63 - 0x1p39);
        break;
    }
    default:
        break;
    }
}
