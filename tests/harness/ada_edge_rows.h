/*
 * tests/harness/ada_edge_rows.h — the AdaLN-into-FP8 edge rows that the CPU
 * test (tests/unit/test_ops_fused_fp8.c) and the GPU cross test
 * (tests/gpu/test_cross_fused.c) both feed the op: x [B=4, S, D] with its
 * modulation scale a and shift b [B, 1, D], uniform [-1, 1) from seeds
 * seed, seed + 1, seed + 2, then: batch 0 row 0 zeros and row 1 constant
 * with no shift (the amax floor); batch 1 row 0 zeros, shifted; batch 2
 * huge x (the f64 statistics) with a large scale and shift (modulated
 * values far beyond 448); batch 3 a NaN in row 2 (needs S >= 3).
 */
#ifndef PICTOR_TESTS_ADA_EDGE_ROWS_H
#define PICTOR_TESTS_ADA_EDGE_ROWS_H

#include <math.h>
#include <stdint.h>

#include "test.h"

#define ADA_EDGE_B 4

static inline void ada_edge_rows(float *xv, float *av, float *bv, int64_t S, int64_t D,
                                 uint64_t seed)
{
    const int64_t B = ADA_EDGE_B;

    test_fill_uniform(xv, (size_t)(B * S * D), seed, -1.0f, 1.0f);
    test_fill_uniform(av, (size_t)(B * D), seed + 1, -1.0f, 1.0f);
    test_fill_uniform(bv, (size_t)(B * D), seed + 2, -1.0f, 1.0f);
    for (int64_t k = 0; k < D; k++) {
        xv[k] = 0.0f;
        xv[D + k] = 3.0f;
        bv[k] = 0.0f;
        xv[S * D + k] = 0.0f;
        av[2 * D + k] *= 5e3f;
        bv[2 * D + k] *= 1e4f;
    }
    for (int64_t i = 2 * S * D; i < 3 * S * D; i++)
        xv[i] = xv[i] * 1e15f + 1e16f;
    xv[3 * S * D + 2 * D + 5] = NAN;
}

#endif /* PICTOR_TESTS_ADA_EDGE_ROWS_H */
