/*
 * tests/unit/test_ops_conv.c — the CPU backend's conv2d against the direct
 * 7-loop formula in double (stride 1/2, padding 0/1, 1x1 and 3x3 kernels,
 * odd H/W, batch 2, with and without bias, strided input and output, bf16
 * weights), nearest 2x upsampling against its index formula, and a timing
 * line for a 512-channel 3x3 conv on 64x64 (CPU, informational).
 */
#include <time.h>

#include "ops_test_util.h"

#define TEST_THREADS 2
#define TOL_F32 1e-5
/* The timing case's size: VAE-sized normally, small under ASan (-O1 plus
 * instrumentation makes the full one take half a minute). */
#ifdef __SANITIZE_ADDRESS__
#define PERF_C 64
#define PERF_S 32
#else
#define PERF_C 512
#define PERF_S 64
#endif

static pictor_backend *be;

/* y[b, co, oh, ow] = bias[co] + sum x[b, ci, oh*sh-ph+kh, ow*sw-pw+kw] *
 * w[co, ci, kh, kw] over in-range taps. */
static double *ref_conv(const pictor_tensor *x, const pictor_tensor *w,
                        const pictor_tensor *bias, int sh, int sw, int ph,
                        int pw, const pictor_tensor *y)
{
    int64_t B = x->shape[0], Cin = x->shape[1], H = x->shape[2];
    int64_t W = x->shape[3], Cout = w->shape[0], KH = w->shape[2];
    int64_t KW = w->shape[3], OH = y->shape[2], OW = y->shape[3];
    double *xs = tt_to_f64(x), *ws = tt_to_f64(w);
    double *out = tt_xmalloc((size_t)(B * Cout * OH * OW) * sizeof(double));

    for (int64_t b = 0; b < B; b++)
        for (int64_t co = 0; co < Cout; co++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double s = bias ? tt_get(bias, &co) : 0.0;
                    for (int64_t ci = 0; ci < Cin; ci++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * sh - ph + kh;
                                int64_t iw = ow * sw - pw + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                s += xs[((b * Cin + ci) * H + ih) * W + iw] *
                                     ws[((co * Cin + ci) * KH + kh) * KW + kw];
                            }
                    out[((b * Cout + co) * OH + oh) * OW + ow] = s;
                }
    free(xs);
    free(ws);
    return out;
}

struct conv_case {
    int64_t B, Cin, H, W, Cout, K;
    int stride, pad;
    bool bias;
};

static void run_case(const struct conv_case *cc, int wdtype, bool strided_x,
                     uint64_t seed)
{
    int64_t OH = (cc->H + 2 * cc->pad - cc->K) / cc->stride + 1;
    int64_t OW = (cc->W + 2 * cc->pad - cc->K) / cc->stride + 1;
    int64_t sx[4] = { cc->B, cc->Cin, cc->H, cc->W };
    int64_t sxp[4] = { cc->B, cc->H, cc->W, cc->Cin }; /* NHWC storage */
    int64_t sw[4] = { cc->Cout, cc->Cin, cc->K, cc->K };
    int64_t sy[4] = { cc->B, cc->Cout, OH, OW }, sb[1] = { cc->Cout };
    int perm[4] = { 0, 3, 1, 2 };
    pictor_tensor x = strided_x
                          ? tt_rand_permuted(PICTOR_F32, 4, sxp, perm, seed)
                          : tt_rand(PICTOR_F32, 4, sx, seed);
    pictor_tensor w = tt_rand(wdtype, 4, sw, seed + 1);
    pictor_tensor b = tt_rand(PICTOR_F32, 1, sb, seed + 2);
    pictor_tensor y = tt_out(PICTOR_F32, 4, sy);
    int rc = pictor_conv2d(be, &x, &w, cc->bias ? &b : NULL, cc->stride,
                           cc->stride, cc->pad, cc->pad, &y);

    CHECK(rc == PICTOR_OK, "conv2d: %s", pictor_backend_error(be));
    if (rc == PICTOR_OK) {
        double *ref = ref_conv(&x, &w, cc->bias ? &b : NULL, cc->stride,
                               cc->stride, cc->pad, cc->pad, &y);
        double e = tt_rel_l2(&y, ref);

        CHECK(e <= TOL_F32, "B%lld Cin%lld %lldx%lld Cout%lld k%lld s%d p%d "
              "bias%d %s%s: rel_l2 %g", (long long)cc->B, (long long)cc->Cin,
              (long long)cc->H, (long long)cc->W, (long long)cc->Cout,
              (long long)cc->K, cc->stride, cc->pad, cc->bias,
              pictor_dtype_name(wdtype), strided_x ? " strided x" : "", e);
        free(ref);
    }
    tt_free(&x), tt_free(&w), tt_free(&b), tt_free(&y);
}

static void test_conv_shapes(void)
{
    static const struct conv_case cases[] = {
        { 2, 3, 9, 7, 5, 3, 1, 1, true },
        { 2, 3, 9, 7, 5, 3, 1, 0, false },
        { 2, 4, 9, 11, 6, 3, 2, 1, true },
        { 2, 4, 9, 11, 6, 3, 2, 0, true },
        { 2, 5, 7, 9, 3, 1, 1, 0, true },
        { 2, 5, 7, 9, 3, 1, 2, 0, false },
        { 1, 7, 5, 5, 13, 1, 1, 1, true },
        { 2, 17, 13, 15, 9, 3, 1, 1, true },
        { 1, 1, 1, 1, 1, 1, 1, 0, true },
        { 1, 2, 2, 3, 4, 3, 2, 1, false },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], PICTOR_F32, false, 100 + 10 * i);
}

static void test_conv_strided_and_bf16(void)
{
    struct conv_case c3 = { 2, 6, 11, 9, 7, 3, 1, 1, true };
    struct conv_case c2 = { 2, 6, 11, 9, 7, 3, 2, 1, false };

    run_case(&c3, PICTOR_F32, true, 200);
    run_case(&c2, PICTOR_F32, true, 210);
    run_case(&c3, PICTOR_BF16, false, 220);
}

/* Output as a permuted (NHWC-backed) view and in bf16: the scatter path. */
static void test_conv_strided_output(void)
{
    int64_t sx[4] = { 2, 3, 7, 9 }, sw[4] = { 5, 3, 3, 3 };
    int64_t syp[4] = { 2, 7, 9, 5 }, sy[4] = { 2, 5, 7, 9 };
    int perm[4] = { 0, 3, 1, 2 };
    pictor_tensor x = tt_rand(PICTOR_F32, 4, sx, 300);
    pictor_tensor w = tt_rand(PICTOR_F32, 4, sw, 301);
    pictor_tensor y = tt_rand_permuted(PICTOR_F32, 4, syp, perm, 302);
    pictor_tensor yb = tt_out(PICTOR_BF16, 4, sy);
    double *ref = ref_conv(&x, &w, NULL, 1, 1, 1, 1, &yb);

    CHECK(pictor_conv2d(be, &x, &w, NULL, 1, 1, 1, 1, &y) == PICTOR_OK,
          "%s", pictor_backend_error(be));
    CHECK(tt_rel_l2(&y, ref) <= TOL_F32, "strided y: rel_l2 %g",
          tt_rel_l2(&y, ref));
    CHECK(pictor_conv2d(be, &x, &w, NULL, 1, 1, 1, 1, &yb) == PICTOR_OK,
          "%s", pictor_backend_error(be));
    /* bf16 output: within bf16 rounding (2^-9 relative). */
    CHECK(tt_rel_l2(&yb, ref) <= 4e-3, "bf16 y: rel_l2 %g",
          tt_rel_l2(&yb, ref));
    free(ref);
    tt_free(&x), tt_free(&w), tt_free(&y), tt_free(&yb);
}

static void test_upsample(void)
{
    int64_t sx[4] = { 2, 3, 5, 7 }, sy[4] = { 2, 3, 10, 14 };
    int64_t sxp[4] = { 2, 5, 7, 3 };
    int perm[4] = { 0, 3, 1, 2 };
    pictor_tensor xs[2] = { tt_rand(PICTOR_F32, 4, sx, 400),
                            tt_rand_permuted(PICTOR_BF16, 4, sxp, perm, 401) };

    for (int v = 0; v < 2; v++) {
        pictor_tensor y = tt_out(PICTOR_F32, 4, sy);
        double *xr = tt_to_f64(&xs[v]);
        double *ref = tt_xmalloc(2 * 3 * 10 * 14 * sizeof(double));

        for (int64_t bc = 0; bc < 6; bc++)
            for (int64_t h = 0; h < 10; h++)
                for (int64_t w = 0; w < 14; w++)
                    ref[(bc * 10 + h) * 14 + w] =
                        xr[(bc * 5 + h / 2) * 7 + w / 2];
        CHECK(pictor_upsample_nearest2x(be, &xs[v], &y) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        CHECK(tt_max_abs(&y, ref) == 0, "upsample %s: max abs %g",
              v ? "strided bf16" : "f32", tt_max_abs(&y, ref));
        free(xr), free(ref);
        tt_free(&y);
    }
    tt_free(&xs[0]), tt_free(&xs[1]);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* VAE-sized 3x3 conv: 512 -> 512 channels on 64x64. Timing printed, a few
 * outputs checked against the direct formula. */
static void test_conv_512ch_timing(void)
{
    enum { C = PERF_C, S = PERF_S, SAMPLES = 8 };
    int64_t sx[4] = { 1, C, S, S }, sw[4] = { C, C, 3, 3 }, sb[1] = { C };
    pictor_tensor x = tt_rand(PICTOR_F32, 4, sx, 500);
    pictor_tensor w = tt_rand(PICTOR_F32, 4, sw, 501);
    pictor_tensor b = tt_rand(PICTOR_F32, 1, sb, 502);
    pictor_tensor y = tt_out(PICTOR_F32, 4, sx);
    const float *px = x.data, *pw = w.data, *py = y.data, *pb = b.data;
    double t0 = now_ms(), dt, worst = 0;

    CHECK(pictor_conv2d(be, &x, &w, &b, 1, 1, 1, 1, &y) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    dt = now_ms() - t0;
    for (int s = 0; s < SAMPLES; s++) {
        int64_t co = (s * 131) % C, oh = (s * 29) % S, ow = (s * 43 + 63) % S;
        double ref = pb[co];
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t kh = 0; kh < 3; kh++)
                for (int64_t kw = 0; kw < 3; kw++) {
                    int64_t ih = oh - 1 + kh, iw = ow - 1 + kw;
                    if (ih < 0 || ih >= S || iw < 0 || iw >= S)
                        continue;
                    ref += (double)px[(ci * S + ih) * S + iw] *
                           pw[((co * C + ci) * 3 + kh) * 3 + kw];
                }
        double d = fabs(py[(co * S + oh) * S + ow] - ref);
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-3, "512ch conv sampled max abs error %g", worst);
    printf("# conv2d %d->%d 3x3 pad 1 on 1x%dx%d f32: %.1f ms (%d threads, "
           "CPU)\n", C, C, S, S, dt, TEST_THREADS);
    tt_free(&x), tt_free(&w), tt_free(&b), tt_free(&y);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_conv_shapes);
    RUN(test_conv_strided_and_bf16);
    RUN(test_conv_strided_output);
    RUN(test_upsample);
    RUN(test_conv_512ch_timing);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
