/*
 * tests/gpu/test_cross_norm.c — GroupNorm (+SiLU) on the CUDA backend
 * against the CPU backend (f64 statistics), from the same bytes, compared by
 * relative L2 error (f32 <= 1e-5, f16/bf16 <= 1e-2; STYLE.md habit 5).
 *
 * Covers every path of kernels/cuda/op_group_norm.h: NCHW and channels-last
 * (NHWC) activations with and without 16-byte loads (odd spatial sizes,
 * C = 96 with 3 channels per group, so one vector spans several groups, a
 * base off by one element), S = 1, 3-D [B, C, L] views, the generic path
 * (strided views, FP8 input, y of another dtype or layout, C too wide for
 * the NHWC kernels), f32/f16/bf16, SiLU on and off, with and without
 * gamma/beta (also f32 and strided ones), in place, the VAE's shapes, and
 * groups of 2M values in [100, 101) (a plain f32 sum of squares loses the
 * variance there). Prints timings of the VAE's large GroupNorms (never
 * asserted).
 *
 * PICTOR_CROSS_SELFTEST=1 runs it against a second CPU backend (a check of
 * the test itself, smaller timing shapes). Without a GPU it prints
 * "SKIP cross-norm: <reason>" and exits 0. Built by `make gpu-tests`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cross.h"

/* The VAE's GroupNorm epsilon (diffusers AutoencoderKL) and group count. */
#define GN_EPS 1e-6f
#define GN_VAE_GROUPS 32
/* Timed runs per timing (after one untimed warm-up run). */
#define GN_TIMED_RUNS 20

enum gn_layout { L_NCHW, L_NHWC };

static const char *layout_name(int layout)
{
    return layout == L_NHWC ? "nhwc" : "nchw";
}

/* An activation of logical shape [B, C, spatial...] (ndim 2..4), stored
 * row-major (NCHW) or channels last (NHWC: [B, spatial..., C] storage),
 * uniform [lo, hi) in storage order. *root owns the storage; the result is
 * a view of it. */
static struct xt act_make(int dtype, int layout, int ndim, const int64_t *shape,
                          uint64_t seed, float lo, float hi, struct xt *root)
{
    int64_t st[4];

    if (layout == L_NCHW || ndim == 2) {
        *root = xt_rand(dtype, ndim, shape, seed, lo, hi);
        return xt_alias(root);
    }
    st[0] = shape[0];
    for (int d = 2; d < ndim; d++)
        st[d - 1] = shape[d];
    st[ndim - 1] = shape[1];
    *root = xt_rand(dtype, ndim, st, seed, lo, hi);
    if (ndim == 4)
        return xt_channels_last(root);
    return xt_transpose(root, 1, 2); /* [B, L, C] storage -> [B, C, L] */
}

/* Runs group_norm on both backends (NULL gamma/beta allowed) and compares
 * y. */
static void gn_both(const char *what, struct xt *x, int groups, struct xt *g, struct xt *b,
                    bool silu, struct xt *y, double tol)
{
    check_rc(what, g_cpu, pictor_group_norm(g_cpu, &x->c, groups, GN_EPS, g ? &g->c : NULL,
                                            b ? &b->c : NULL, silu, &y->c));
    check_rc(what, g_gpu, pictor_group_norm(g_gpu, &x->g, groups, GN_EPS, g ? &g->g : NULL,
                                            b ? &b->g : NULL, silu, &y->g));
    xt_compare(what, y, tol);
}

/* One case: x and y of one dtype and layout (y == x in place); gamma and
 * beta of x's dtype when `affine`. */
static void gn_case(const char *tag, int dt, int layout, int ndim, const int64_t *shape,
                    int groups, bool silu, bool affine, bool in_place, float lo, float hi)
{
    struct xt xr, yr, g, b, x, y;
    char what[160];

    snprintf(what, sizeof what, "%s %s %s [%lld,%lld,...] G=%d silu=%d affine=%d%s", tag,
             pictor_dtype_name(dt), layout_name(layout), (long long)shape[0],
             (long long)shape[1], groups, silu, affine, in_place ? " in place" : "");
    x = act_make(dt, layout, ndim, shape, 101 + (uint64_t)groups, lo, hi, &xr);
    y = in_place ? x : act_make(dt, layout, ndim, shape, 102, 0.0f, 1.0f, &yr);
    g = xt_rand(dt, 1, &shape[1], 103, 0.5f, 1.5f);
    b = xt_rand(dt, 1, &shape[1], 104, -0.5f, 0.5f);
    gn_both(what, &x, groups, affine ? &g : NULL, affine ? &b : NULL, silu, &y, tol_for(dt));
    xt_free(&xr);
    if (!in_place)
        xt_free(&yr);
    xt_free(&g);
    xt_free(&b);
}

/* Both layouts, f32/f16/bf16, SiLU and affine on and off; an odd spatial
 * size with 3 channels per group (scalar NCHW loads, NHWC vectors spanning
 * groups) and a size with 16-byte loads everywhere. */
static void test_gn_layouts(void)
{
    static const int64_t odd[4] = { 2, 96, 5, 7 }, even[4] = { 2, 64, 16, 16 };

    for (int k = 0; k < N_DTYPES; k++)
        for (int layout = L_NCHW; layout <= L_NHWC; layout++)
            for (int silu = 0; silu < 2; silu++)
                for (int affine = 0; affine < 2; affine++) {
                    gn_case("odd", k_dtypes[k], layout, 4, odd, 32, silu, affine, false, -2.0f,
                            3.0f);
                    gn_case("even", k_dtypes[k], layout, 4, even, 32, silu, affine, false,
                            -2.0f, 3.0f);
                }
}

static void test_gn_in_place(void)
{
    static const int64_t a[4] = { 1, 128, 24, 40 }, odd[4] = { 2, 96, 5, 7 };

    for (int k = 0; k < N_DTYPES; k++)
        for (int layout = L_NCHW; layout <= L_NHWC; layout++) {
            gn_case("vec", k_dtypes[k], layout, 4, a, 32, true, true, true, -1.0f, 2.0f);
            gn_case("odd", k_dtypes[k], layout, 4, odd, 32, false, false, true, -1.0f, 2.0f);
        }
}

/* S = 1, tiny and 3-D shapes, G = 1 and G = C, C too wide for the NHWC
 * kernels: every layout and dtype. */
static void test_gn_shapes(void)
{
    static const struct {
        int ndim, groups;
        int64_t shape[4];
    } cases[] = {
        { 2, 32, { 3, 96 } },           /* S = 1 */
        { 4, 32, { 2, 96, 1, 1 } },     /* S = 1, 4-D */
        { 4, 32, { 1, 96, 3, 3 } },     /* rows shorter than a warp */
        { 3, 32, { 2, 128, 37 } },      /* the VAE attention's [B, C, H*W] */
        { 4, 2, { 2, 4, 33, 33 } },     /* C = 4 < one bf16 vector */
        { 3, 1, { 1, 8, 50 } },         /* one group */
        { 4, 32, { 1, 32, 10, 12 } },   /* one channel per group */
        { 4, 8, { 1, 3000, 2, 3 } },    /* NHWC rows wider than a block */
        { 4, 32, { 3, 64, 130, 3 } },   /* NHWC: more rows than one chunk */
        { 4, 32, { 1, 32, 127, 129 } }, /* NCHW: scalar loads, several chunks */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int k = 0; k < N_DTYPES; k++)
            for (int layout = L_NCHW; layout <= L_NHWC; layout++)
                gn_case("shape", k_dtypes[k], layout, cases[i].ndim, cases[i].shape,
                        cases[i].groups, true, true, false, -2.0f, 2.0f);
}

/* Views and operands the fast paths refuse or must handle: strided x,
 * a base off 16-byte alignment, a batch slice, FP8 x, y of another dtype
 * or layout, f32 and strided gamma/beta with 16-bit x. */
static void test_gn_views(void)
{
    const int64_t sh[4] = { 2, 32, 8, 12 };

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        double tol = tol_for(dt);
        struct xt r, x, yr, y, y2r, y2, gr, g, b;
        char what[128];

        /* NCHW with W sliced: generic path */
        r = xt_rand(dt, 4, (int64_t[]){ 2, 32, 8, 15 }, 201, -1.0f, 2.0f);
        x = xt_slice(&r, 3, 2, 12);
        y = act_make(dt, L_NCHW, 4, sh, 202, 0.0f, 1.0f, &yr);
        snprintf(what, sizeof what, "%s nchw W-slice", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y, tol);
        xt_free(&r);
        /* NHWC with W sliced: rows not contiguous -> generic */
        r = xt_rand(dt, 4, (int64_t[]){ 2, 8, 14, 32 }, 203, -1.0f, 2.0f);
        x = xt_slice(&r, 2, 1, 12);
        x = xt_channels_last(&x);
        y2 = act_make(dt, L_NHWC, 4, sh, 204, 0.0f, 1.0f, &y2r);
        snprintf(what, sizeof what, "%s nhwc W-slice", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, false, &y2, tol);
        xt_free(&r);
        /* NHWC with H sliced: rows contiguous, batch stride > S * C (fast) */
        r = xt_rand(dt, 4, (int64_t[]){ 2, 10, 12, 32 }, 213, -1.0f, 2.0f);
        x = xt_slice(&r, 1, 1, 8);
        x = xt_channels_last(&x);
        snprintf(what, sizeof what, "%s nhwc H-slice", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y2, tol);
        xt_free(&r);
        /* contiguous strides one element past a 16-byte boundary: scalar fast path */
        r = xt_rand(dt, 1, (int64_t[]){ 2 * 32 * 8 * 12 + 1 }, 205, -1.0f, 2.0f);
        x = xt_view4(&r, sh, (int64_t[]){ 32 * 96, 96, 12, 1 }, 1);
        snprintf(what, sizeof what, "%s nchw misaligned", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y, tol);
        x = xt_view4(&r, sh, (int64_t[]){ 32 * 96, 1, 12 * 32, 32 }, 1);
        snprintf(what, sizeof what, "%s nhwc misaligned", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y2, tol);
        xt_free(&r);
        /* a batch slice (base advanced by whole batches) */
        r = xt_rand(dt, 4, (int64_t[]){ 3, 32, 8, 12 }, 206, -1.0f, 2.0f);
        x = xt_slice(&r, 0, 1, 2);
        snprintf(what, sizeof what, "%s nchw batch slice", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y, tol);
        /* x NCHW, y NHWC (apply generic, statistics fast) */
        snprintf(what, sizeof what, "%s nchw -> nhwc", pictor_dtype_name(dt));
        gn_both(what, &x, 8, NULL, NULL, true, &y2, tol);
        xt_free(&r);
        /* f32 gamma, gamma and beta strided (every other element) */
        gr = xt_rand(PICTOR_F32, 1, (int64_t[]){ 64 }, 207, 0.5f, 1.5f);
        g = xt_alias(&gr);
        g.c.shape[0] = g.g.shape[0] = 32;
        g.c.stride[0] = g.g.stride[0] = 2;
        b = xt_slice(&gr, 0, 1, 32);
        b.c.stride[0] = b.g.stride[0] = 2;
        x = act_make(dt, L_NHWC, 4, sh, 208, -1.0f, 2.0f, &r);
        snprintf(what, sizeof what, "%s nhwc f32 strided affine", pictor_dtype_name(dt));
        gn_both(what, &x, 8, &g, &b, true, &y2, tol);
        xt_free(&r);
        x = act_make(dt, L_NCHW, 4, sh, 209, -1.0f, 2.0f, &r);
        snprintf(what, sizeof what, "%s nchw f32 strided affine", pictor_dtype_name(dt));
        gn_both(what, &x, 8, &g, &b, true, &y, tol);
        xt_free(&r);
        xt_free(&gr);
        /* x of this dtype, y of another (f32 -> bf16, 16-bit -> f32) */
        {
            int ydt = dt == PICTOR_F32 ? PICTOR_BF16 : PICTOR_F32;
            struct xt zr, z;

            x = act_make(dt, L_NHWC, 4, sh, 210, -1.0f, 2.0f, &r);
            z = act_make(ydt, L_NHWC, 4, sh, 211, 0.0f, 1.0f, &zr);
            snprintf(what, sizeof what, "%s -> %s nhwc", pictor_dtype_name(dt),
                     pictor_dtype_name(ydt));
            gn_both(what, &x, 8, NULL, NULL, true, &z, tol_for(ydt));
            xt_free(&zr);
            xt_free(&r);
        }
        /* FP8 E4M3 x (scaled) into this dtype */
        r = xt_make(PICTOR_F8_E4M3, 4, sh, NULL, 212, -3.0f, 3.0f, 1.0f / 64.0f);
        snprintf(what, sizeof what, "f8_e4m3 -> %s", pictor_dtype_name(dt));
        gn_both(what, &r, 8, NULL, NULL, true, &y, tol);
        xt_free(&r);
        xt_free(&yr);
        xt_free(&y2r);
    }
}

/* The VAE's GroupNorms at 512x512 and 1024x1024 latents' sizes (bf16, 32
 * groups, SiLU, affine), both layouts, once in place. */
static void test_gn_vae_shapes(void)
{
    static const int64_t a[4] = { 1, 512, 64, 64 }, b[4] = { 1, 256, 256, 256 };

    for (int layout = L_NCHW; layout <= L_NHWC; layout++) {
        gn_case("vae", PICTOR_BF16, layout, 4, a, GN_VAE_GROUPS, true, true, false, -4.0f,
                6.0f);
        gn_case("vae", PICTOR_BF16, layout, 4, a, GN_VAE_GROUPS, true, true, true, -4.0f,
                6.0f);
        gn_case("vae", PICTOR_BF16, layout, 4, b, GN_VAE_GROUPS, true, true, false, -4.0f,
                6.0f);
    }
}

/* Groups of 2M f32 values in [100, 101) (std 0.29 against a mean of 100.5):
 * the GPU's statistics must keep f32 accuracy. Also checks the CPU result
 * is a real normalisation (mean 0, variance 1 per group), so the
 * comparison means something. */
static void test_gn_large_offset(void)
{
    static const struct {
        int groups;
        int64_t shape[4];
    } cases[] = {
        { 2, { 1, 4, 1024, 1024 } }, /* 2M per group */
        { 32, { 2, 64, 128, 128 } }, /* 64K per group, 64 groups */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int layout = L_NCHW; layout <= L_NHWC; layout++) {
            const int64_t *sh = cases[i].shape;
            int64_t n = sh[1] / cases[i].groups * sh[2] * sh[3];
            struct xt xr, yr, x, y;
            char what[128];
            float *cv;
            double s = 0.0, s2 = 0.0;

            snprintf(what, sizeof what, "f32 [100,101) %s G=%d n=%lld", layout_name(layout),
                     cases[i].groups, (long long)n);
            x = act_make(PICTOR_F32, layout, 4, sh, 301, 100.0f, 101.0f, &xr);
            y = act_make(PICTOR_F32, layout, 4, sh, 302, 0.0f, 1.0f, &yr);
            gn_both(what, &x, cases[i].groups, NULL, NULL, false, &y, TOL_F32);
            cv = view_values(&y.c, y.hbase, y.hbase); /* group 0 is flat [0, n) */
            for (int64_t j = 0; j < n; j++) {
                s += cv[j];
                s2 += (double)cv[j] * cv[j];
            }
            CHECK(fabs(s / (double)n) < 1e-3 && fabs(s2 / (double)n - 1.0) < 1e-3,
                  "%s: CPU group 0 has mean %.3g, variance %.6g", what, s / (double)n,
                  s2 / (double)n);
            free(cv);
            xt_free(&xr);
            xt_free(&yr);
        }
}

struct gn_timed { /* one group_norm call's GPU operands */
    const struct xt *x, *g, *b, *y;
};

static int gn_call(pictor_backend *be, const void *ctx)
{
    const struct gn_timed *t = ctx;

    return pictor_group_norm(be, &t->x->g, GN_VAE_GROUPS, GN_EPS, &t->g->g, &t->b->g, true,
                             (pictor_tensor *)&t->y->g);
}

/* Milliseconds per group_norm call on the GPU backend, or -1 on failure. */
static double gn_time_ms(const char *what, struct xt *x, struct xt *g, struct xt *b,
                         struct xt *y)
{
    struct gn_timed t = { x, g, b, y };

    return cross_time_ms(what, g_gpu, GN_TIMED_RUNS, gn_call, &t);
}

/* The VAE decoder's largest GroupNorms at 1024x1024 (bf16, SiLU, affine,
 * out of place), both layouts: milliseconds per call and the bandwidth of
 * one read of x and one write of y (the kernels read x twice: an L2 hit
 * for the smaller tensor on an H100). The self-test times small stand-ins.
 * The smaller shape is also compared with the CPU. Never asserted. */
static void test_gn_timing(void)
{
    if (cross_emu_skip("timings"))
        return;
    static const int64_t gpu_shapes[2][4] = { { 1, 512, 128, 128 }, { 1, 128, 1024, 1024 } };
    static const int64_t cpu_shapes[2][4] = { { 1, 64, 32, 32 }, { 1, 32, 64, 64 } };

    for (int i = 0; i < 2; i++)
        for (int layout = L_NCHW; layout <= L_NHWC; layout++) {
            const int64_t *sh = g_is_cuda ? gpu_shapes[i] : cpu_shapes[i];
            int64_t numel = sh[0] * sh[1] * sh[2] * sh[3];
            struct xt xr, yr, x, y, g, b;
            char what[128];
            double ms;

            snprintf(what, sizeof what, "group_norm [%lld,%lld,%lld,%lld] bf16 %s silu",
                     (long long)sh[0], (long long)sh[1], (long long)sh[2], (long long)sh[3],
                     layout_name(layout));
            x = act_make(PICTOR_BF16, layout, 4, sh, 401, -4.0f, 6.0f, &xr);
            y = act_make(PICTOR_BF16, layout, 4, sh, 402, 0.0f, 1.0f, &yr);
            g = xt_rand(PICTOR_BF16, 1, &sh[1], 403, 0.5f, 1.5f);
            b = xt_rand(PICTOR_BF16, 1, &sh[1], 404, -0.5f, 0.5f);
            ms = gn_time_ms(what, &x, &g, &b, &y);
            if (ms > 0)
                printf("# %s: %.4f ms/call, %.1f GB/s (one read of x + one write of y)\n",
                       what, ms, 2.0 * (double)numel * 2.0 / ms / 1e6);
            if (i == 0) {
                check_rc(what, g_cpu, pictor_group_norm(g_cpu, &x.c, GN_VAE_GROUPS, GN_EPS,
                                                        &g.c, &b.c, true, &y.c));
                xt_compare(what, &y, TOL_HALF);
            }
            xt_free(&xr);
            xt_free(&yr);
            xt_free(&g);
            xt_free(&b);
        }
}

int main(void)
{
    int rc = cross_setup("cross-norm");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_gn_layouts);
    RUN(test_gn_in_place);
    RUN(test_gn_shapes);
    RUN(test_gn_views);
    RUN(test_gn_vae_shapes);
    RUN(test_gn_large_offset);
    RUN(test_gn_timing);
    cross_teardown();
    TEST_MAIN_END();
}
