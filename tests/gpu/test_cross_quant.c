/*
 * tests/gpu/test_cross_quant.c — the FP8 model path on the GPU against the
 * CPU: pictor_quantize_rows must give the very bytes of the CPU (codes and
 * scales; the bf16 fast path and the generic path), and a linear on a
 * quantised activation (per-token scales) and a per-channel quantised
 * weight (col_scale) must match the CPU's through both matmul paths
 * (direct cuBLASLt FP8 on sm_89+, the dequantising path elsewhere), with
 * and without the GELU epilogue.
 * Timings (printed, never asserted): quantising a FLUX activation and the
 * FP8 linear next to bf16 at FLUX size.
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cross.h"

#define TOL_FP8_LINEAR 2e-2 /* the two backends' f32 sums differ in order */
#define TIMED_RUNS 10

/* Quantises x on both backends into fresh y/scales roots. */
static void quantize_both(const char *what, struct xt *x, struct xt *y, struct xt *sc)
{
    int64_t K = x->c.shape[x->c.ndim - 1], rows = pictor_tensor_numel(&x->c) / K;

    *y = xt_make(PICTOR_F8_E4M3, x->c.ndim, x->c.shape, NULL, 1, 0.0f, 0.0f, 1.0f);
    *sc = xt_rand(PICTOR_F32, 1, &rows, 2, 0.0f, 1.0f);
    check_rc(what, g_cpu, pictor_quantize_rows(g_cpu, &x->c, &y->c, &sc->c));
    check_rc(what, g_gpu, pictor_quantize_rows(g_gpu, &x->g, &y->g, &sc->g));
}

static void test_quantize_rows(void)
{
    static const struct { int dtype; int64_t rows, K; bool transposed; } cases[] = {
        { PICTOR_BF16, 7, 3072, false },  /* fast path */
        { PICTOR_BF16, 77, 64, false },   /* fast path, short rows */
        { PICTOR_BF16, 3, 16392, false }, /* fast path, long rows */
        { PICTOR_BF16, 5, 100, false },   /* K % 8 != 0: generic */
        { PICTOR_F32, 33, 257, false },
        { PICTOR_F16, 9, 48, false },
        { PICTOR_BF16, 40, 24, true },    /* strided: generic */
    };
    char what[128];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t r = cases[i].rows, K = cases[i].K;
        int64_t shape[2] = { cases[i].transposed ? K : r, cases[i].transposed ? r : K };
        struct xt root = xt_rand(cases[i].dtype, 2, shape, 900 + i, -3.0f, 3.0f);
        struct xt x = cases[i].transposed ? xt_transpose(&root, 0, 1) : root, y, sc;

        snprintf(what, sizeof what, "quantize_rows %s [%lld, %lld]%s",
                 pictor_dtype_name(cases[i].dtype), (long long)r, (long long)K,
                 cases[i].transposed ? " transposed" : "");
        quantize_both(what, &x, &y, &sc);
        xt_same_bytes(what, &y);
        xt_same_bytes(what, &sc);
        xt_free(&root);
        xt_free(&y);
        xt_free(&sc);
    }

    /* Every bf16 value within E4M3's range, 63 to a row of 64 whose first
     * element sets amax: 448 (codes of the values themselves, every tie of
     * E4M3's rounding) and 400 (x * 1.12: f32 products between the codes),
     * through the fast path's hardware conversion (cu_e4m3x4_finite). */
    for (int k = 0; k < 2; k++) {
        const int64_t K = 64, per = K - 1, top = 0x43e0; /* bf16 bits of 448 */
        const int64_t rows = (2 * (top + 1) + per - 1) / per;
        float *v = xmalloc((size_t)(rows * K) * sizeof(float));
        struct xt x, y, sc;

        for (int64_t i = 0, p = 0; i < rows; i++) {
            v[i * K] = k ? 400.0f : 448.0f;
            for (int64_t j = 1; j < K; j++, p++) {
                uint32_t b = (uint32_t)(p % (top + 1)) | (p > top ? 0x8000u : 0u);
                uint32_t u = p < 2 * (top + 1) ? b << 16 : 0u;

                memcpy(&v[i * K + j], &u, sizeof u);
            }
        }
        x = xt_make(PICTOR_BF16, 2, (int64_t[]){ rows, K }, v, 0, 0.0f, 0.0f, 1.0f);
        snprintf(what, sizeof what, "quantize_rows bf16 every value up to 448, amax %s",
                 k ? "400" : "448");
        quantize_both(what, &x, &y, &sc);
        xt_same_bytes(what, &y);
        xt_same_bytes(what, &sc);
        xt_free(&x), xt_free(&y), xt_free(&sc);
        free(v);
    }

    /* Edge rows, fast and generic path: zeros (the amax floor) and a NaN
     * (scale NaN: the same quiet-NaN bytes on both backends). */
    for (int k = 0; k < 2; k++) {
        const int64_t r = 4, K = k ? 100 : 64;
        float v[4 * 100];
        struct xt x, y, sc;

        test_fill_uniform(v, (size_t)(r * K), 950 + k, -2.0f, 2.0f);
        for (int64_t j = 0; j < K; j++)
            v[j] = 0.0f;
        v[2 * K + 7] = NAN;
        x = xt_make(PICTOR_BF16, 2, (int64_t[]){ r, K }, v, 0, 0.0f, 0.0f, 1.0f);
        snprintf(what, sizeof what, "quantize_rows bf16 [%lld, %lld] zero and NaN rows",
                 (long long)r, (long long)K);
        quantize_both(what, &x, &y, &sc);
        xt_same_bytes(what, &y);
        xt_same_bytes(what, &sc);
        xt_free(&x);
        xt_free(&y);
        xt_free(&sc);
    }
}

/* y = quantised(x) @ quantised(w)^T + bias on both backends, y bf16 and
 * f32; also a bf16 x with the FP8 weight (the dequantising path). */
static void test_fp8_linear(void)
{
    static const int64_t mkn[][3] = { { 1, 3072, 64 }, { 77, 256, 3072 }, { 300, 128, 80 } };
    char what[160];

    for (size_t s = 0; s < sizeof mkn / sizeof mkn[0]; s++) {
        int64_t M = mkn[s][0], K = mkn[s][1], N = mkn[s][2];
        struct xt x = xt_rand(PICTOR_BF16, 2, (int64_t[]){ M, K }, 910 + s, -2.0f, 2.0f);
        struct xt w = xt_rand(PICTOR_BF16, 2, (int64_t[]){ N, K }, 911 + s, -0.1f, 0.1f);
        struct xt bias = xt_rand(PICTOR_BF16, 1, &N, 912 + s, -1.0f, 1.0f);
        struct xt y16 = xt_rand(PICTOR_BF16, 2, (int64_t[]){ M, N }, 913, 0.0f, 1.0f);
        struct xt y32 = xt_rand(PICTOR_F32, 2, (int64_t[]){ M, N }, 914, 0.0f, 1.0f);
        struct xt xq, xs, wq, ws, xv, wv;

        quantize_both("quantize x", &x, &xq, &xs);
        quantize_both("quantize w", &w, &wq, &ws);
        xv = xq, wv = wq;
        xv.c = pictor_fp8_rows_view(&xq.c, &xs.c);
        xv.g = pictor_fp8_rows_view(&xq.g, &xs.g);
        wv.c = pictor_fp8_rows_view(&wq.c, &ws.c);
        wv.g = pictor_fp8_rows_view(&wq.g, &ws.g);
        xv.owner = wv.owner = false;
        for (int o = 0; o < 2; o++) {
            struct xt *y = o ? &y32 : &y16;

            snprintf(what, sizeof what, "linear fp8 x (per token) @ fp8 w (per channel) "
                     "%lldx%lld->%lld + bias -> %s", (long long)M, (long long)K, (long long)N,
                     pictor_dtype_name(y->c.dtype));
            check_rc(what, g_cpu, pictor_linear(g_cpu, &xv.c, &wv.c, &bias.c, &y->c));
            check_rc(what, g_gpu, pictor_linear(g_gpu, &xv.g, &wv.g, &bias.g, &y->g));
            xt_compare(what, y, TOL_FP8_LINEAR);
        }
        snprintf(what, sizeof what, "linear bf16 x @ fp8 w (per channel) %lldx%lld->%lld",
                 (long long)M, (long long)K, (long long)N);
        check_rc(what, g_cpu, pictor_linear(g_cpu, &x.c, &wv.c, &bias.c, &y16.c));
        check_rc(what, g_gpu, pictor_linear(g_gpu, &x.g, &wv.g, &bias.g, &y16.g));
        xt_compare(what, &y16, TOL_FP8_LINEAR);
        /* the GELU epilogue: fused into the FP8 scaling kernel, and after
         * the GEMM on the bf16 path */
        snprintf(what, sizeof what, "linear_act gelu_tanh fp8 x @ fp8 w %lldx%lld->%lld",
                 (long long)M, (long long)K, (long long)N);
        check_rc(what, g_cpu, pictor_linear_act(g_cpu, &xv.c, &wv.c, &bias.c,
                                                PICTOR_UNARY_GELU_TANH, &y16.c));
        check_rc(what, g_gpu, pictor_linear_act(g_gpu, &xv.g, &wv.g, &bias.g,
                                                PICTOR_UNARY_GELU_TANH, &y16.g));
        xt_compare(what, &y16, TOL_FP8_LINEAR);
        snprintf(what, sizeof what, "linear_act gelu_tanh bf16 x @ bf16 w %lldx%lld->%lld",
                 (long long)M, (long long)K, (long long)N);
        check_rc(what, g_cpu, pictor_linear_act(g_cpu, &x.c, &w.c, &bias.c,
                                                PICTOR_UNARY_GELU_TANH, &y16.c));
        check_rc(what, g_gpu, pictor_linear_act(g_gpu, &x.g, &w.g, &bias.g,
                                                PICTOR_UNARY_GELU_TANH, &y16.g));
        xt_compare(what, &y16, TOL_HALF);
        xt_free(&x), xt_free(&w), xt_free(&bias), xt_free(&y16), xt_free(&y32);
        xt_free(&xq), xt_free(&xs), xt_free(&wq), xt_free(&ws);
    }
}

struct lin_timed { /* GPU operands of the FLUX-size timings */
    const pictor_tensor *x, *w, *xq, *xs, *xv, *wv;
    pictor_tensor *y;
};

static int quant_call(pictor_backend *be, const void *ctx)
{
    const struct lin_timed *t = ctx;

    return pictor_quantize_rows(be, t->x, (pictor_tensor *)t->xq, (pictor_tensor *)t->xs);
}

static int fp8_linear_call(pictor_backend *be, const void *ctx)
{
    const struct lin_timed *t = ctx;
    int rc = quant_call(be, ctx);

    return rc ? rc : pictor_linear(be, t->xv, t->wv, NULL, t->y);
}

static int bf16_linear_call(pictor_backend *be, const void *ctx)
{
    const struct lin_timed *t = ctx;

    return pictor_linear(be, t->x, t->w, NULL, t->y);
}

/* FLUX size: quantising [4608, 3072] bf16, then the linear 3072 -> 12288
 * in FP8 (quantise + GEMM + epilogue) and in bf16 (a small size on the
 * CPU stand-in). */
static void test_fp8_flux_size(void)
{
    if (cross_emu_skip("FLUX size (and timings)"))
        return;
    int64_t M = g_is_cuda ? 4608 : 64, K = g_is_cuda ? 3072 : 128, N = g_is_cuda ? 12288 : 256;
    struct xt x, w, y, xq, xs, wq, ws;
    pictor_tensor xv, wv;
    double tq, tl, tb;

    x = xt_rand(PICTOR_BF16, 2, (int64_t[]){ M, K }, 920, -2.0f, 2.0f);
    w = xt_rand(PICTOR_BF16, 2, (int64_t[]){ N, K }, 921, -0.05f, 0.05f);
    y = xt_rand(PICTOR_BF16, 2, (int64_t[]){ M, N }, 922, 0.0f, 1.0f);
    quantize_both("quantize x", &x, &xq, &xs);
    quantize_both("quantize w", &w, &wq, &ws);
    xv = pictor_fp8_rows_view(&xq.g, &xs.g);
    wv = pictor_fp8_rows_view(&wq.g, &ws.g);
    struct lin_timed t = { &x.g, &w.g, &xq.g, &xs.g, &xv, &wv, &y.g };
    tq = cross_time_ms("quantize_rows timing", g_gpu, TIMED_RUNS, quant_call, &t);
    tl = cross_time_ms("fp8 linear timing", g_gpu, TIMED_RUNS, fp8_linear_call, &t);
    tb = cross_time_ms("bf16 linear timing", g_gpu, TIMED_RUNS, bf16_linear_call, &t);
    printf("# quantize_rows [%lld, %lld] bf16: %.3f ms (%.0f GB/s)\n", (long long)M,
           (long long)K, tq, (double)(M * K * 3) / (tq * 1e6));
    printf("# linear %lldx%lld->%lld: fp8 (quantise + GEMM + epilogue) %.3f ms, bf16 %.3f ms\n",
           (long long)M, (long long)K, (long long)N, tl, tb);
    xt_free(&x), xt_free(&w), xt_free(&y);
    xt_free(&xq), xt_free(&xs), xt_free(&wq), xt_free(&ws);
}

int main(void)
{
    int rc = cross_setup("cross-quant");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_quantize_rows);
    RUN(test_fp8_linear);
    RUN(test_fp8_flux_size);
    cross_teardown();
    TEST_MAIN_END();
}
