/*
 * tests/gpu/test_cross_layout.c — the elementwise ops (add, mul, unary,
 * copy) and GroupNorm on channels-last (NHWC) views of NCHW shapes, CPU
 * against CUDA, as the VAE's NHWC layout runs them: the CUDA backend walks
 * such views in memory order (cu_views_canon), moves up to 16 bytes per
 * element where a raw copy's last dim is contiguous (copy_widen), and
 * normalises an f32 x into a 16-bit y on GroupNorm's fast paths. Each case
 * also has a form that must not be merged or widened (a sliced root, an
 * odd offset, a broadcast operand), so a wrong merge shows as a mismatch.
 * Copies must be bit-identical, the rest within tol_for(dtype).
 *
 * Needs a GPU (or the CUDA emulator: `make test` runs it there); see
 * tests/gpu/test_cross_backend.c for the harness.
 */
#include <stdio.h>

#include "cross.h"

#define GN_EPS 1e-6

/* [B, C, H, W] channels last: a root stored [B, H, W, C], viewed NCHW. */
static struct xt nhwc(int dt, int64_t B, int64_t C, int64_t H, int64_t W, uint64_t seed,
                      struct xt *root)
{
    *root = xt_rand(dt, 4, (int64_t[]){ B, H, W, C }, seed, -3.0f, 3.0f);
    return xt_channels_last(root);
}

/* y = a + b and y = a * b with a, b and y channels last (the VAE's
 * residual add: bf16 + f32 -> f32), in place into b, and with b a
 * per-channel [C, 1, 1] broadcast. */
static void test_binary_nhwc(void)
{
    static const int dts[2][3] = { { PICTOR_BF16, PICTOR_F32, PICTOR_F32 },
                                   { PICTOR_F16, PICTOR_F16, PICTOR_F16 } };
    char what[128];

    for (int k = 0; k < 2; k++)
        for (int fn = 0; fn < PICTOR_BINARY_COUNT; fn++) {
            struct xt ar, br, yr, a, b, y, c;

            a = nhwc(dts[k][0], 2, 24, 5, 7, 61, &ar);
            b = nhwc(dts[k][1], 2, 24, 5, 7, 62, &br);
            y = nhwc(dts[k][2], 2, 24, 5, 7, 63, &yr);
            c = xt_rand(dts[k][1], 3, (int64_t[]){ 24, 1, 1 }, 64, -2.0f, 2.0f);
            snprintf(what, sizeof what, "binary %d %s + %s -> %s nhwc", fn,
                     pictor_dtype_name(dts[k][0]), pictor_dtype_name(dts[k][1]),
                     pictor_dtype_name(dts[k][2]));
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &a.c, &b.c, &y.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &a.g, &b.g, &y.g));
            xt_compare(what, &y, tol_for(dts[k][2]));
            snprintf(what, sizeof what, "binary %d nhwc + [C,1,1] broadcast", fn);
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &a.c, &c.c, &y.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &a.g, &c.g, &y.g));
            xt_compare(what, &y, tol_for(dts[k][2]));
            snprintf(what, sizeof what, "binary %d nhwc in place into b", fn);
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &a.c, &b.c, &b.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &a.g, &b.g, &b.g));
            xt_compare(what, &b, tol_for(dts[k][1]));
            /* a NCHW-contiguous operand against channels-last ones: no merge */
            struct xt p = xt_rand(dts[k][0], 4, (int64_t[]){ 2, 24, 5, 7 }, 65, -2.0f, 2.0f);

            snprintf(what, sizeof what, "binary %d nchw + nhwc -> nhwc", fn);
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &p.c, &b.c, &y.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &p.g, &b.g, &y.g));
            xt_compare(what, &y, tol_for(dts[k][2]));
            xt_free(&p);
            xt_free(&ar);
            xt_free(&br);
            xt_free(&yr);
            xt_free(&c);
        }
}

/* SiLU on channels-last views: out of place, in place, and from a
 * W-sliced root (rows not contiguous: only some dims merge). */
static void test_unary_nhwc(void)
{
    struct xt xr, yr, wr, x, y, wide, s;

    x = nhwc(PICTOR_BF16, 1, 32, 6, 9, 71, &xr);
    y = nhwc(PICTOR_BF16, 1, 32, 6, 9, 72, &yr);
    check_rc("silu nhwc", g_cpu, pictor_unary(g_cpu, PICTOR_UNARY_SILU, &x.c, &y.c));
    check_rc("silu nhwc", g_gpu, pictor_unary(g_gpu, PICTOR_UNARY_SILU, &x.g, &y.g));
    xt_compare("silu nhwc", &y, TOL_HALF);
    check_rc("silu nhwc in place", g_cpu, pictor_unary(g_cpu, PICTOR_UNARY_SILU, &x.c, &x.c));
    check_rc("silu nhwc in place", g_gpu, pictor_unary(g_gpu, PICTOR_UNARY_SILU, &x.g, &x.g));
    xt_compare("silu nhwc in place", &x, TOL_HALF);
    wide = nhwc(PICTOR_BF16, 1, 32, 6, 12, 73, &wr);
    s = xt_slice(&wide, 3, 2, 9); /* [1, 32, 6, 9] of a [1, 32, 6, 12] NHWC root */
    check_rc("silu nhwc W-slice", g_cpu, pictor_unary(g_cpu, PICTOR_UNARY_SILU, &s.c, &y.c));
    check_rc("silu nhwc W-slice", g_gpu, pictor_unary(g_gpu, PICTOR_UNARY_SILU, &s.g, &y.g));
    xt_compare("silu nhwc W-slice", &y, TOL_HALF);
    xt_free(&xr);
    xt_free(&yr);
    xt_free(&wr);
}

/* Copies between channels-last views: f32 -> bf16 (converting), bf16 ->
 * bf16 (raw, widened to 16-byte elements), from an odd offset (not
 * widened), NHWC <-> NCHW (transposing), and the VAE upsampler's
 * channels-last interleave of a stacked [4C, H+1, W+1] into [C, 2H, 2W]
 * with C = 16 (rows of whole pixels). The whole destination root must
 * equal the CPU's. */
static void test_copy_nhwc(void)
{
    struct xt sr, dr, s, d, tr, t;

    s = nhwc(PICTOR_F32, 2, 16, 5, 6, 81, &sr);
    d = nhwc(PICTOR_BF16, 2, 16, 5, 6, 82, &dr);
    check_rc("copy f32 -> bf16 nhwc", g_cpu, pictor_copy(g_cpu, &s.c, &d.c));
    check_rc("copy f32 -> bf16 nhwc", g_gpu, pictor_copy(g_gpu, &s.g, &d.g));
    xt_same_bytes("copy f32 -> bf16 nhwc", &dr);
    t = nhwc(PICTOR_BF16, 2, 16, 5, 6, 83, &tr);
    check_rc("copy bf16 nhwc raw", g_cpu, pictor_copy(g_cpu, &d.c, &t.c));
    check_rc("copy bf16 nhwc raw", g_gpu, pictor_copy(g_gpu, &d.g, &t.g));
    xt_same_bytes("copy bf16 nhwc raw", &tr);
    xt_free(&tr);
    /* NCHW destination: a transposing copy */
    tr = xt_rand(PICTOR_BF16, 4, (int64_t[]){ 2, 16, 5, 6 }, 84, 0.0f, 1.0f);
    check_rc("copy bf16 nhwc -> nchw", g_cpu, pictor_copy(g_cpu, &d.c, &tr.c));
    check_rc("copy bf16 nhwc -> nchw", g_gpu, pictor_copy(g_gpu, &d.g, &tr.g));
    xt_same_bytes("copy bf16 nhwc -> nchw", &tr);
    xt_free(&tr);
    /* one element past a 16-byte boundary: the last dim still contiguous,
     * the base not aligned for wide elements */
    {
        struct xt o = xt_rand(PICTOR_BF16, 1, (int64_t[]){ 2 * 5 * 6 * 16 + 1 }, 85, -1.0f, 1.0f);
        struct xt v = xt_view4(&o, (int64_t[]){ 2, 16, 5, 6 },
                               (int64_t[]){ 5 * 6 * 16, 1, 6 * 16, 16 }, 1);

        check_rc("copy bf16 nhwc odd offset", g_cpu, pictor_copy(g_cpu, &d.c, &v.c));
        check_rc("copy bf16 nhwc odd offset", g_gpu, pictor_copy(g_gpu, &d.g, &v.g));
        xt_same_bytes("copy bf16 nhwc odd offset", &o);
        xt_free(&o);
    }
    xt_free(&sr);
    xt_free(&dr);
    /* upsampler interleave, channels last on both sides */
    {
        const int64_t C = 16, H = 4, W = 5;
        /* stacked phases [4C, H+1, W+1] stored [H+1, W+1, 4C] */
        struct xt o = xt_rand(PICTOR_BF16, 3, (int64_t[]){ H + 1, W + 1, 4 * C }, 86, -2.0f,
                              2.0f);
        struct xt y = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 2 * H, 2 * W, C }, 87, 0.0f, 1.0f);
        const int64_t shape[5] = { C, H, 2, W, 2 };
        /* phase (py, px) = channels (2 py + px) C ..., pixel (y + py, x + px) */
        const int64_t sst[5] = { 1, (W + 1) * 4 * C, 2 * C + (W + 1) * 4 * C, 4 * C,
                                 C + 4 * C };
        const int64_t dst_st[5] = { 1, 2 * 2 * W * C, 2 * W * C, 2 * C, C };
        struct xt s5 = xt_view(&o, 5, shape, sst, 0), d5 = xt_view(&y, 5, shape, dst_st, 0);

        check_rc("copy nhwc interleave", g_cpu, pictor_copy(g_cpu, &s5.c, &d5.c));
        check_rc("copy nhwc interleave", g_gpu, pictor_copy(g_gpu, &s5.g, &d5.g));
        xt_same_bytes("copy nhwc interleave", &y);
        xt_free(&o);
        xt_free(&y);
    }
}

/* GroupNorm (+SiLU, affine) of an f32 x into a bf16 or f16 y, NCHW and
 * NHWC, with 16-byte-aligned rows (the fast paths' vector loads) and with
 * an odd row (scalar loads). */
static void test_group_norm_f32_to_16(void)
{
    static const int ydts[2] = { PICTOR_BF16, PICTOR_F16 };
    char what[128];

    for (int k = 0; k < 2; k++)
        for (int layout = 0; layout < 2; layout++)
            for (int odd = 0; odd < 2; odd++) {
                const int64_t C = odd ? 24 : 64, H = 6, W = odd ? 7 : 8;
                struct xt xr, yr, x, y, g, b;

                if (layout) {
                    x = nhwc(PICTOR_F32, 2, C, H, W, 91, &xr);
                    y = nhwc(ydts[k], 2, C, H, W, 92, &yr);
                } else {
                    xr = xt_rand(PICTOR_F32, 4, (int64_t[]){ 2, C, H, W }, 91, -3.0f, 5.0f);
                    yr = xt_rand(ydts[k], 4, (int64_t[]){ 2, C, H, W }, 92, 0.0f, 1.0f);
                    x = xt_alias(&xr);
                    y = xt_alias(&yr);
                }
                g = xt_rand(PICTOR_F32, 1, &C, 93, 0.5f, 1.5f);
                b = xt_rand(PICTOR_F32, 1, &C, 94, -0.5f, 0.5f);
                snprintf(what, sizeof what, "group_norm f32 -> %s %s C=%lld W=%lld",
                         pictor_dtype_name(ydts[k]), layout ? "nhwc" : "nchw", (long long)C,
                         (long long)W);
                check_rc(what, g_cpu, pictor_group_norm(g_cpu, &x.c, 8, GN_EPS, &g.c, &b.c,
                                                        true, &y.c));
                check_rc(what, g_gpu, pictor_group_norm(g_gpu, &x.g, 8, GN_EPS, &g.g, &b.g,
                                                        true, &y.g));
                xt_compare(what, &y, TOL_HALF);
                xt_free(&xr);
                xt_free(&yr);
                xt_free(&g);
                xt_free(&b);
            }
}

int main(void)
{
    int rc = cross_setup("cross-layout");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_binary_nhwc);
    RUN(test_unary_nhwc);
    RUN(test_copy_nhwc);
    RUN(test_group_norm_f32_to_16);
    cross_teardown();
    TEST_MAIN_END();
}
