/*
 * tests/gpu/test_cross_upconv.c — the VAE upsampler in its folded form
 * (pictor/upconv.h: nearest 2x + 3x3 conv as four 2x2 convs) on the CUDA
 * backend against the CPU backend, from the same bytes: fold on each
 * backend, run, compare y by relative L2 error (f32 <= 1e-5, f16/bf16 <=
 * 1e-2), in NCHW and channels-last, odd sizes, batch 2. Then timings at the
 * FLUX VAE's two largest upsamplers at 1024x1024 (bf16, both layouts):
 * folded against upsample + 3x3 conv, never asserted (tools/gpu-check
 * prints them).
 *
 * PICTOR_CROSS_SELFTEST=1 runs it against a second CPU backend (smaller
 * timing shapes). Without a GPU it prints "SKIP cross-upconv: <reason>" and
 * exits 0. Built by `make gpu-tests`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cross.h"
#include "pictor/upconv.h"

#define UP_TIMED_RUNS 10

/* An activation [B, C, H, W] in NCHW or channels-last storage; *root owns
 * the storage, the result is a view of it. */
static struct xt act4(int dtype, bool nhwc, const int64_t *s, uint64_t seed, struct xt *root)
{
    const int64_t st[4] = {s[0], s[2], s[3], s[1]};

    if (!nhwc) {
        *root = xt_rand(dtype, 4, s, seed, -1.0f, 1.0f);
        return xt_alias(root);
    }
    *root = xt_rand(dtype, 4, st, seed, -1.0f, 1.0f);
    return xt_channels_last(root);
}

static void check_case(int dtype, bool nhwc, const int64_t *sx, int64_t cout, uint64_t seed)
{
    const int64_t sy[4] = {sx[0], cout, 2 * sx[2], 2 * sx[3]};
    const int64_t sw[4] = {cout, sx[1], 3, 3}, sb[1] = {cout};
    struct xt xr, yr, x = act4(dtype, nhwc, sx, seed, &xr), y = act4(dtype, nhwc, sy, seed + 1,
                                                                    &yr);
    struct xt w = xt_rand(dtype, 4, sw, seed + 2, -0.5f, 0.5f);
    struct xt b = xt_rand(dtype, 1, sb, seed + 3, -0.5f, 0.5f);
    struct pictor_upconv uc_c, uc_g;
    char what[128];

    snprintf(what, sizeof what, "upconv [%lld,%lld,%lld,%lld] -> %lld ch %s %s",
             (long long)sx[0], (long long)sx[1], (long long)sx[2], (long long)sx[3],
             (long long)cout, pictor_dtype_name(dtype), nhwc ? "nhwc" : "nchw");
    check_rc(what, g_cpu, pictor_upconv_fold(g_cpu, &w.c, &b.c, dtype, nhwc, &uc_c));
    check_rc(what, g_gpu, pictor_upconv_fold(g_gpu, &w.g, &b.g, dtype, nhwc, &uc_g));
    if (uc_c.w.data && uc_g.w.data) {
        check_rc(what, g_cpu, pictor_upconv_run(g_cpu, &uc_c, &x.c, &y.c));
        check_rc(what, g_gpu, pictor_upconv_run(g_gpu, &uc_g, &x.g, &y.g));
        xt_compare(what, &y, tol_for(dtype));
    }
    pictor_upconv_free(g_cpu, &uc_c);
    pictor_upconv_free(g_gpu, &uc_g);
    xt_free(&xr), xt_free(&yr), xt_free(&w), xt_free(&b);
}

static void test_upconv_matches_cpu(void)
{
    static const int64_t shapes[][5] = { /* x [B, Cin, H, W], Cout */
        {2, 5, 7, 6, 3}, {1, 16, 9, 5, 8}, {1, 3, 1, 1, 4}, {2, 32, 8, 8, 32},
    };

    for (int d = 0; d < N_DTYPES; d++)
        for (int nhwc = 0; nhwc < 2; nhwc++)
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
                check_case(k_dtypes[d], nhwc, shapes[i], shapes[i][4], 600 + 10 * i);
}

struct up_timed { /* one upsampler's GPU operands */
    const struct pictor_upconv *uc;
    const struct xt *x, *w, *b, *big, *y;
};

static int folded_call(pictor_backend *be, const void *ctx)
{
    const struct up_timed *t = ctx;

    return pictor_upconv_run(be, t->uc, &t->x->g, (pictor_tensor *)&t->y->g);
}

static int naive_call(pictor_backend *be, const void *ctx)
{
    const struct up_timed *t = ctx;
    int rc = pictor_upsample_nearest2x(be, &t->x->g, (pictor_tensor *)&t->big->g);

    return rc ? rc : pictor_conv2d(be, &t->big->g, &t->w->g, &t->b->g, 1, 1, 1, 1,
                                   (pictor_tensor *)&t->y->g);
}

/* Relative L2 distance of two bf16 buffers of n values. */
static double bf16_rel_l2(const char *a, const char *b, size_t n)
{
    double num = 0, den = 0;

    for (size_t i = 0; i < n; i++) {
        float fa, fb;

        pictor_row_to_f32(&fa, a + 2 * i, PICTOR_BF16, 1, 1.0f);
        pictor_row_to_f32(&fb, b + 2 * i, PICTOR_BF16, 1, 1.0f);
        num += ((double)fa - fb) * ((double)fa - fb);
        den += (double)fb * fb;
    }
    return den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
}

/* FLUX's VAE at 1024x1024: up block 1 (512 ch, 256^2 -> 512^2) and up
 * block 2 (256 ch, 512^2 -> 1024^2), bf16, both layouts; ms per call of
 * the folded and the naive form, and the TFLOPS of the naive form's 3x3
 * conv arithmetic done in that time (the folded form does 16/36 of it).
 * The folded output is checked against the naive one at that size (bf16
 * tolerance). The self-test times small stand-ins. Timings never asserted. */
static void test_upconv_timing(void)
{
    if (cross_emu_skip("timings"))
        return;
    static const int64_t gpu_shapes[2][4] = {{1, 512, 256, 256}, {1, 256, 512, 512}};
    static const int64_t cpu_shapes[2][4] = {{1, 32, 16, 16}, {1, 16, 32, 32}};

    for (int i = 0; i < 2; i++)
        for (int nhwc = 0; nhwc < 2; nhwc++) {
            const int64_t *sx = g_is_cuda ? gpu_shapes[i] : cpu_shapes[i];
            const int64_t c = sx[1], sy[4] = {sx[0], c, 2 * sx[2], 2 * sx[3]};
            const int64_t sw[4] = {c, c, 3, 3}, sb[1] = {c};
            struct xt xr, yr, bigr, x = act4(PICTOR_BF16, nhwc, sx, 700, &xr);
            struct xt y = act4(PICTOR_BF16, nhwc, sy, 701, &yr);
            struct xt big = act4(PICTOR_BF16, nhwc, sy, 702, &bigr);
            struct xt w = xt_rand(PICTOR_BF16, 4, sw, 703, -0.05f, 0.05f);
            struct xt b = xt_rand(PICTOR_BF16, 1, sb, 704, -0.5f, 0.5f);
            struct pictor_upconv uc;
            struct up_timed t = {&uc, &x, &w, &b, &big, &y};
            double flop = 2.0 * 9.0 * (double)(c * c) * (double)(sy[2] * sy[3]);
            double fold_ms = -1, naive_ms;
            char what[128];

            snprintf(what, sizeof what, "upsampler [%lld,%lld,%lld,%lld] -> %lldx%lld bf16 %s",
                     (long long)sx[0], (long long)c, (long long)sx[2], (long long)sx[3],
                     (long long)sy[2], (long long)sy[3], nhwc ? "nhwc" : "nchw");
            check_rc(what, g_gpu, pictor_upconv_fold(g_gpu, &w.g, &b.g, PICTOR_BF16, nhwc, &uc));
            char *folded_y = NULL, *naive_y;

            if (uc.w.data) {
                fold_ms = cross_time_ms(what, g_gpu, UP_TIMED_RUNS, folded_call, &t);
                folded_y = xt_download(&yr);
            }
            naive_ms = cross_time_ms(what, g_gpu, UP_TIMED_RUNS, naive_call, &t);
            naive_y = xt_download(&yr);
            if (folded_y) {
                double e = bf16_rel_l2(folded_y, naive_y, yr.bytes / 2);

                CHECK(e <= TOL_HALF, "%s: folded vs naive rel_l2 %g", what, e);
            }
            free(folded_y);
            free(naive_y);
            if (fold_ms > 0 && naive_ms > 0)
                printf("# %s: folded %.3f ms, naive (upsample + conv3x3) %.3f ms; "
                       "%.0f TFLOPS-equivalent folded, %.0f naive\n", what, fold_ms, naive_ms,
                       flop / fold_ms / 1e9, flop / naive_ms / 1e9);
            pictor_upconv_free(g_gpu, &uc);
            xt_free(&xr), xt_free(&yr), xt_free(&bigr), xt_free(&w), xt_free(&b);
        }
}

int main(void)
{
    int rc = cross_setup("cross-upconv");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_upconv_matches_cpu);
    RUN(test_upconv_timing);
    cross_teardown();
    TEST_MAIN_END();
}
