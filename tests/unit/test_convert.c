/*
 * tests/unit/test_convert.c — pictor/convert.h against direct formulas and
 * exhaustive code sweeps: every FP8 code decoded by (-1)^s 2^(e-bias)
 * (1 + m/2^M) (subnormals 2^(1-bias) m/2^M), every bf16/f16/FP8 code
 * round-tripped, every midpoint between adjacent codes rounded to the even
 * code, overflow with and without saturation, and a few values whose
 * PyTorch casts are known.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pictor/convert.h"
#include "pictor/tensor.h"
#include "../harness/test.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Reference decode of a small float with e_bits/m_bits; `fn` selects
 * E4M3's "finite" encoding (only S.1111.111 is NaN, no inf). */
static double ref_decode(unsigned c, int e_bits, int m_bits, int bias, bool fn)
{
    unsigned s = c >> (e_bits + m_bits) & 1u;
    unsigned e = (c >> m_bits) & ((1u << e_bits) - 1u);
    unsigned m = c & ((1u << m_bits) - 1u);
    unsigned e_max = (1u << e_bits) - 1u;
    double sign = s ? -1.0 : 1.0, mag;

    if (fn && e == e_max && m == (1u << m_bits) - 1u)
        return NAN;
    if (!fn && e == e_max)
        return m ? NAN : sign * INFINITY;
    if (e == 0)
        mag = ldexp((double)m / (1 << m_bits), 1 - bias);
    else
        mag = ldexp(1.0 + (double)m / (1 << m_bits), (int)e - bias);
    return sign * mag;
}

static void test_e4m3_decode_all(void)
{
    for (unsigned c = 0; c < 256; c++) {
        double want = ref_decode(c, 4, 3, 7, true);
        float got = pictor_e4m3_to_f32((uint8_t)c);

        if (isnan(want)) {
            CHECK(isnan(got), "e4m3 0x%02x should be NaN, got %g", c, got);
            continue;
        }
        CHECK((double)got == want && !signbit(got) == !signbit(want),
              "e4m3 0x%02x: %.9g vs %.9g", c, got, want);
    }
    CHECK(pictor_e4m3_to_f32(0x7e) == PICTOR_E4M3_MAX, "max 448");
    CHECK(pictor_e4m3_to_f32(0x01) == 0x1p-9f, "min subnormal 2^-9");
    CHECK(pictor_e4m3_to_f32(0x08) == 0x1p-6f, "min normal 2^-6");
}

static void test_e5m2_decode_all(void)
{
    for (unsigned c = 0; c < 256; c++) {
        double want = ref_decode(c, 5, 2, 15, false);
        float got = pictor_e5m2_to_f32((uint8_t)c);

        if (isnan(want)) {
            CHECK(isnan(got), "e5m2 0x%02x should be NaN, got %g", c, got);
            continue;
        }
        CHECK((double)got == want && !signbit(got) == !signbit(want),
              "e5m2 0x%02x: %.9g vs %.9g", c, got, want);
    }
    CHECK(pictor_e5m2_to_f32(0x7b) == PICTOR_E5M2_MAX, "max 57344");
    CHECK(isinf(pictor_e5m2_to_f32(0x7c)) && pictor_e5m2_to_f32(0xfc) < 0,
          "0x7c/0xfc are +-inf");
    CHECK(pictor_e5m2_to_f32(0x01) == 0x1p-16f, "min subnormal 2^-16");
}

static void test_fp8_roundtrip_all(void)
{
    for (unsigned c = 0; c < 256; c++) {
        float v4 = pictor_e4m3_to_f32((uint8_t)c);
        float v5 = pictor_e5m2_to_f32((uint8_t)c);

        if (!isnan(v4)) {
            CHECK(pictor_f32_to_e4m3(v4, false) == c, "e4m3 0x%02x", c);
            CHECK(pictor_f32_to_e4m3(v4, true) == c, "e4m3 sat 0x%02x", c);
        } else {
            CHECK((pictor_f32_to_e4m3(v4, false) & 0x7f) == 0x7f,
                  "e4m3 NaN 0x%02x", c);
        }
        if (!isnan(v5)) {
            CHECK(pictor_f32_to_e5m2(v5, false) == c, "e5m2 0x%02x", c);
        } else {
            CHECK(isnan(pictor_e5m2_to_f32(pictor_f32_to_e5m2(v5, false))),
                  "e5m2 NaN 0x%02x", c);
        }
    }
}

typedef uint8_t (*fp8_enc)(float, bool);
typedef float (*fp8_dec)(uint8_t);

/* Midpoints between adjacent finite codes go to the even code; a hair
 * either side goes to the nearer code. Both signs. */
static void check_fp8_ties(fp8_enc enc, fp8_dec dec, unsigned max_code,
                           const char *name)
{
    for (unsigned c = 0; c < max_code; c++) {
        float lo = dec((uint8_t)c), hi = dec((uint8_t)(c + 1));
        float mid = (float)(((double)lo + (double)hi) / 2); /* exact */
        unsigned even = (c & 1u) ? c + 1 : c;

        CHECK(enc(mid, false) == even, "%s tie %g (0x%02x)", name, mid, c);
        CHECK(enc(-mid, false) == (even | 0x80u), "%s tie %g", name, -mid);
        CHECK(enc(nextafterf(mid, 0.0f), false) == c, "%s below %g", name,
              mid);
        CHECK(enc(nextafterf(mid, INFINITY), false) == c + 1,
              "%s above %g", name, mid);
    }
}

static void test_fp8_ties(void)
{
    check_fp8_ties(pictor_f32_to_e4m3, pictor_e4m3_to_f32, 0x7e, "e4m3");
    check_fp8_ties(pictor_f32_to_e5m2, pictor_e5m2_to_f32, 0x7b, "e5m2");
    /* Half the smallest subnormal ties to zero. */
    CHECK(pictor_f32_to_e4m3(0x1p-10f, false) == 0x00, "e4m3 2^-10 -> 0");
    CHECK(pictor_f32_to_e5m2(0x1p-17f, false) == 0x00, "e5m2 2^-17 -> 0");
    CHECK(pictor_f32_to_e4m3(-0x1p-10f, false) == 0x80, "e4m3 -2^-10 -> -0");
}

static void test_e4m3_overflow(void)
{
    /* 464 is the midpoint between 448 (even mantissa) and 480 (which would
     * be the NaN code): ties to 448; anything above is NaN (c10). */
    CHECK(pictor_f32_to_e4m3(448.0f, false) == 0x7e, "448");
    CHECK(pictor_f32_to_e4m3(464.0f, false) == 0x7e, "464 ties to 448");
    CHECK(pictor_f32_to_e4m3(nextafterf(464.0f, INFINITY), false) == 0x7f,
          "just above 464 -> NaN");
    CHECK(pictor_f32_to_e4m3(480.0f, false) == 0x7f, "480 -> NaN");
    CHECK(pictor_f32_to_e4m3(-1e10f, false) == 0xff, "-1e10 -> -NaN");
    CHECK(pictor_f32_to_e4m3(INFINITY, false) == 0x7f, "inf -> NaN");
    CHECK(pictor_f32_to_e4m3(NAN, false) == 0x7f, "NaN");
    CHECK(pictor_f32_to_e4m3(-NAN, true) == 0xff, "-NaN saturating stays NaN");
    CHECK(pictor_f32_to_e4m3(500.0f, true) == 0x7e, "sat 500 -> 448");
    CHECK(pictor_f32_to_e4m3(-1e10f, true) == 0xfe, "sat -1e10 -> -448");
    CHECK(pictor_f32_to_e4m3(INFINITY, true) == 0x7e, "sat inf -> 448");
    CHECK(pictor_f32_to_e4m3(FLT_MAX, false) == 0x7f, "FLT_MAX -> NaN");
}

static void test_e5m2_overflow(void)
{
    /* 61440 is the midpoint between 57344 (odd mantissa 11) and 65536 (the
     * inf code): ties to inf. */
    CHECK(pictor_f32_to_e5m2(57344.0f, false) == 0x7b, "57344");
    CHECK(pictor_f32_to_e5m2(61440.0f, false) == 0x7c, "61440 ties to inf");
    CHECK(pictor_f32_to_e5m2(nextafterf(61440.0f, 0.0f), false) == 0x7b,
          "just below 61440 -> max");
    CHECK(pictor_f32_to_e5m2(1e10f, false) == 0x7c, "1e10 -> inf");
    CHECK(pictor_f32_to_e5m2(-INFINITY, false) == 0xfc, "-inf");
    CHECK(pictor_f32_to_e5m2(1e10f, true) == 0x7b, "sat 1e10 -> 57344");
    CHECK(pictor_f32_to_e5m2(-INFINITY, true) == 0xfb, "sat -inf -> -57344");
    CHECK(isnan(pictor_e5m2_to_f32(pictor_f32_to_e5m2(NAN, false))), "NaN");
    CHECK(isnan(pictor_e5m2_to_f32(pictor_f32_to_e5m2(NAN, true))),
          "NaN saturating");
}

/* Values whose torch casts are known (torch 2.x, CPU). */
static void test_known_torch_values(void)
{
    CHECK(pictor_f32_to_bf16(0.1f) == 0x3dcd, "bf16(0.1)");
    CHECK(pictor_f32_to_f16(0.1f) == 0x2e66, "f16(0.1)");
    CHECK(pictor_f32_to_e4m3(0.1f, false) == 0x1d, "e4m3(0.1) = 0.1016");
    CHECK(pictor_f32_to_e5m2(0.1f, false) == 0x2e, "e5m2(0.1) = 0.09375");
    CHECK(pictor_f32_to_bf16(1.0f / 3.0f) == 0x3eab, "bf16(1/3)");
    CHECK(pictor_f32_to_f16(1.0f / 3.0f) == 0x3555, "f16(1/3)");
    CHECK(pictor_f32_to_e4m3(-3.3f, false) == 0xc5, "e4m3(-3.3) = -3.25");
}

static void test_bf16_all(void)
{
    for (uint32_t c = 0; c < 0x10000u; c++) {
        float v = pictor_bf16_to_f32((uint16_t)c);
        uint16_t back = pictor_f32_to_bf16(v);

        CHECK(bits_of(v) == c << 16, "bf16 decode 0x%04x", c);
        if (isnan(v))
            CHECK(back == ((c & 0x8000u) | 0x7fc0u), "bf16 NaN 0x%04x -> "
                  "0x%04x", c, back);
        else
            CHECK(back == c, "bf16 0x%04x -> 0x%04x", c, back);
    }
}

/* Every midpoint between adjacent bf16 codes (f32 bits c<<16 | 0x8000),
 * subnormals and the step to inf included. */
static void test_bf16_ties(void)
{
    for (uint32_t c = 0; c < 0x7f80u; c++) {
        uint32_t even = (c & 1u) ? c + 1 : c;
        uint32_t mid = c << 16 | 0x8000u;

        CHECK(pictor_f32_to_bf16(float_of(mid)) == even, "bf16 tie 0x%x", c);
        CHECK(pictor_f32_to_bf16(float_of(mid | 0x80000000u)) ==
                  (even | 0x8000u), "bf16 -tie 0x%x", c);
        CHECK(pictor_f32_to_bf16(float_of(mid - 1)) == c, "below 0x%x", c);
        CHECK(pictor_f32_to_bf16(float_of(mid + 1)) == c + 1, "above 0x%x", c);
    }
    CHECK(pictor_f32_to_bf16(FLT_MAX) == 0x7f80, "FLT_MAX -> inf");
    CHECK(pictor_f32_to_bf16(-INFINITY) == 0xff80, "-inf");
    CHECK(pictor_f32_to_bf16(-NAN) == 0xffc0, "-NaN keeps the sign");
    /* f32 subnormals. */
    CHECK(pictor_f32_to_bf16(float_of(0x00000001u)) == 0x0000, "tiny -> 0");
    CHECK(pictor_f32_to_bf16(float_of(0x00008000u)) == 0x0000, "tie -> 0");
    CHECK(pictor_f32_to_bf16(float_of(0x00008001u)) == 0x0001, "-> 1");
    CHECK(pictor_f32_to_bf16(float_of(0x00018000u)) == 0x0002, "tie -> 2");
    CHECK(pictor_f32_to_bf16(float_of(0x007fffffu)) == 0x0080,
          "largest subnormal rounds up to the smallest normal");
}

static void test_f16_all(void)
{
    for (uint32_t c = 0; c < 0x10000u; c++) {
        float v = pictor_f16_to_f32((uint16_t)c);
        uint16_t back = pictor_f32_to_f16(v);
        double want = ref_decode(c, 5, 10, 15, false);

        if (isnan(want)) {
            CHECK(isnan(v), "f16 0x%04x decodes to NaN", c);
            CHECK(back == ((c & 0x8000u) | 0x7e00u), "f16 NaN 0x%04x", c);
            continue;
        }
        CHECK((double)v == want && !signbit(v) == !signbit(want),
              "f16 decode 0x%04x: %g vs %g", c, v, want);
        CHECK(back == c, "f16 0x%04x -> 0x%04x", c, back);
    }
}

static void test_f16_ties(void)
{
    for (uint32_t c = 0; c < 0x7bffu; c++) {
        float lo = pictor_f16_to_f32((uint16_t)c);
        float hi = pictor_f16_to_f32((uint16_t)(c + 1));
        float mid = (float)(((double)lo + (double)hi) / 2); /* exact */
        uint32_t even = (c & 1u) ? c + 1 : c;

        CHECK(pictor_f32_to_f16(mid) == even, "f16 tie %g", mid);
        CHECK(pictor_f32_to_f16(-mid) == (even | 0x8000u), "f16 -tie %g", mid);
        CHECK(pictor_f32_to_f16(nextafterf(mid, 0.0f)) == c, "below %g", mid);
        CHECK(pictor_f32_to_f16(nextafterf(mid, INFINITY)) == c + 1,
              "above %g", mid);
    }
    CHECK(pictor_f32_to_f16(65504.0f) == 0x7bff, "max 65504");
    CHECK(pictor_f32_to_f16(nextafterf(65520.0f, 0.0f)) == 0x7bff,
          "just below 65520 -> 65504");
    CHECK(pictor_f32_to_f16(65520.0f) == 0x7c00, "65520 -> inf");
    CHECK(pictor_f32_to_f16(-1e6f) == 0xfc00, "-1e6 -> -inf");
    CHECK(pictor_f32_to_f16(0x1p-25f) == 0x0000, "2^-25 ties to 0");
    CHECK(pictor_f32_to_f16(nextafterf(0x1p-25f, 1.0f)) == 0x0001,
          "just above 2^-25 -> min subnormal");
    CHECK(pictor_f32_to_f16(3 * 0x1p-25f) == 0x0002, "3*2^-25 ties to 2");
    CHECK(pictor_f32_to_f16(float_of(0x00000001u)) == 0x0000,
          "f32 subnormal -> 0");
    CHECK(pictor_f32_to_f16(-0.0f) == 0x8000, "-0");
    CHECK(pictor_f32_to_f16(-NAN) == 0xfe00, "-NaN keeps the sign");
}

static void test_rows(void)
{
    const uint8_t codes[4] = { 0x38, 0xb8, 0x7e, 0x00 }; /* 1, -1, 448, 0 */
    const int32_t i32[3] = { -7, 0, 16777217 };
    const int64_t i64[2] = { -5, 1LL << 40 };
    float f[4], back_in[4] = { 0.5f, -0.5f, 224.0f, 1000.0f };
    uint8_t out[4];
    int32_t oi[3];

    pictor_row_to_f32(f, codes, PICTOR_F8_E4M3, 4, 0.5f);
    CHECK(f[0] == 0.5f && f[1] == -0.5f && f[2] == 224.0f && f[3] == 0.0f,
          "e4m3 row scaled: %g %g %g %g", f[0], f[1], f[2], f[3]);
    pictor_row_from_f32(out, PICTOR_F8_E4M3, back_in, 4, 0.5f, false);
    CHECK(memcmp(out, codes, 3) == 0, "encode(x / scale)");
    CHECK(out[3] == 0x7f, "1000/0.5 overflows to NaN");
    pictor_row_from_f32(out, PICTOR_F8_E4M3, back_in, 4, 0.5f, true);
    CHECK(out[3] == 0x7e, "saturated to 448");
    pictor_row_to_f32(f, i32, PICTOR_I32, 3, 1.0f);
    CHECK(f[0] == -7.0f && f[1] == 0.0f && f[2] == 16777216.0f,
          "i32 by value (2^24+1 rounds to 2^24)");
    pictor_row_to_f32(f, i64, PICTOR_I64, 2, 1.0f);
    CHECK(f[0] == -5.0f && f[1] == 0x1p40f, "i64 by value");
    f[0] = -2.7f, f[1] = NAN, f[2] = 1e20f;
    pictor_row_from_f32(oi, PICTOR_I32, f, 3, 1.0f, false);
    CHECK(oi[0] == -2 && oi[1] == 0 && oi[2] == INT32_MAX,
          "f32 -> i32 truncates, NaN 0, clamps: %d %d %d", oi[0], oi[1],
          oi[2]);
}

int main(void)
{
    RUN(test_e4m3_decode_all);
    RUN(test_e5m2_decode_all);
    RUN(test_fp8_roundtrip_all);
    RUN(test_fp8_ties);
    RUN(test_e4m3_overflow);
    RUN(test_e5m2_overflow);
    RUN(test_known_torch_values);
    RUN(test_bf16_all);
    RUN(test_bf16_ties);
    RUN(test_f16_all);
    RUN(test_f16_ties);
    RUN(test_rows);
    TEST_MAIN_END();
}
