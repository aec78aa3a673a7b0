/*
 * tests/gpu/test_dnn_tune.c — timing cuDNN graphs' engine configs
 * (PICTOR_CUDA_DNN_TUNE=1, kernels/cuda/dnn_tune.h) changes no result and
 * happens once per shape, never inside a CUDA graph capture:
 *   - fused convolutions (bf16 x, w and bias: op_conv2d_graph.h) on a
 *     tuning backend match the CPU, at two shapes and in both layouts;
 *   - the backend counts one tuning per shape: a second call of a shape
 *     times nothing;
 *   - a shape met first while capturing is not tuned there (the captured
 *     graph still gives the CPU's result when launched) and is tuned at
 *     its next eager call;
 *   - cuDNN's fused attention likewise: the CPU's result, one tuning; and
 *     its FP8 attention graph within the FP8 bound;
 *   - with PICTOR_CUDA_DNN_TUNE=2 in the environment (tests/run-all runs it
 *     so under the emulator) the runtime-compiled configs are timed too:
 *     under the emulator, whose cuDNN offers three configs of which one is
 *     runtime-compiled, a first convolution times its current plan and
 *     all three configs (4), else 3.
 * stderr gets the tuning lines (configs timed, the heuristics' choice and
 * the chosen one's time): on a GPU, what tuning is worth at these shapes.
 * Needs a GPU or the emulator (tests/gpu/cross.h); `make gpu-tests`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cross.h"

/* FP8 attention against the CPU op (test_cross_sdpa_fp8.c's TOL_CPU: both
 * quantise alike, cuDNN orders and rounds its softmax otherwise). */
#define TOL_SDPA_FP8 7.5e-2

/* The tuned-graph count, 0 on the CPU stand-in. */
static unsigned long long tuned(void)
{
    return g_is_cuda ? (unsigned long long)gpu_stats(g_gpu).dnn_tuned : 0;
}

/* One fused convolution's operands, x [N, C, H, W] into Cout channels with
 * a 3x3 kernel, padding 1; with nhwc x, w and y all channels-last (NHWC,
 * KRSC), as the fused graph wants one layout. */
struct conv_case {
    struct xt xr, wr, yr; /* the roots */
    struct xt x, w, b, y;
};

/* A [d0, d1, d2, d3] operand: the root itself, or channels-last. */
static struct xt operand(struct xt *root, const int64_t d[4], bool nhwc, uint64_t seed, float lo,
                         float hi)
{
    *root = nhwc ? xt_rand(PICTOR_BF16, 4, (int64_t[]){ d[0], d[2], d[3], d[1] }, seed, lo, hi)
                 : xt_rand(PICTOR_BF16, 4, d, seed, lo, hi);
    return nhwc ? xt_channels_last(root) : xt_alias(root);
}

static struct conv_case conv_make(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout,
                                  bool nhwc, uint64_t seed)
{
    struct conv_case c;

    c.x = operand(&c.xr, (int64_t[]){ N, C, H, W }, nhwc, seed, -1.0f, 1.0f);
    c.w = operand(&c.wr, (int64_t[]){ Cout, C, 3, 3 }, nhwc, seed + 1, -0.2f, 0.2f);
    c.y = operand(&c.yr, (int64_t[]){ N, Cout, H, W }, nhwc, seed + 2, 0.0f, 1.0f);
    c.b = xt_rand(PICTOR_BF16, 1, &Cout, seed + 3, -0.5f, 0.5f);
    return c;
}

static void conv_free(struct conv_case *c)
{
    xt_free(&c->xr), xt_free(&c->wr), xt_free(&c->yr), xt_free(&c->b);
}

static int conv_on(pictor_backend *be, struct conv_case *c)
{
    bool cpu = be == g_cpu;

    return pictor_conv2d(be, cpu ? &c->x.c : &c->x.g, cpu ? &c->w.c : &c->w.g,
                         cpu ? &c->b.c : &c->b.g, 1, 1, 1, 1, cpu ? &c->y.c : &c->y.g);
}

/* conv on both backends, y compared; then the tuned count is `want`. */
static void conv_check(const char *what, struct conv_case *c, unsigned long long want)
{
    check_rc(what, g_cpu, conv_on(g_cpu, c));
    check_rc(what, g_gpu, conv_on(g_gpu, c));
    xt_compare(what, &c->y, TOL_HALF);
    CHECK(!g_is_cuda || tuned() == want, "%s: %llu graphs tuned, want %llu", what, tuned(),
          want);
}

/* Engine configs timed so far, 0 on the CPU stand-in. */
static unsigned long long configs_timed(void)
{
    return g_is_cuda ? (unsigned long long)gpu_stats(g_gpu).dnn_tune_timed : 0;
}

static void test_tuned_once(void)
{
    struct conv_case a = conv_make(1, 16, 20, 24, 32, false, 41);
    struct conv_case b = conv_make(2, 8, 9, 11, 16, false, 51);
    struct conv_case h = conv_make(1, 16, 12, 10, 16, true, 61);
    unsigned long long n = tuned(), timed = configs_timed();
    const char *mode = getenv("PICTOR_CUDA_DNN_TUNE");
    const bool rtc = mode && mode[0] == '2';

    conv_check("conv [1, 16, 20, 24] -> 32 NCHW, first call", &a, n + 1);
    if (cross_emulated())
        CHECK(configs_timed() - timed == (rtc ? 4u : 3u),
              "emulated cuDNN, PICTOR_CUDA_DNN_TUNE=%s: %llu configs timed, want %u", mode,
              configs_timed() - timed, rtc ? 4u : 3u);
    conv_check("conv [1, 16, 20, 24] -> 32 NCHW, again", &a, n + 1);
    conv_check("conv [2, 8, 9, 11] -> 16 NCHW, first call", &b, n + 2);
    conv_check("conv [1, 16, 12, 10] -> 16 NHWC, first call", &h, n + 3);
    conv_check("conv [1, 16, 12, 10] -> 16 NHWC, again", &h, n + 3);
    conv_free(&a), conv_free(&b), conv_free(&h);
}

static void test_not_while_capturing(void)
{
    struct conv_case c = conv_make(1, 8, 14, 6, 8, false, 71);
    unsigned long long n = tuned();
    pictor_graph *g = NULL;

    check_rc("cpu conv", g_cpu, conv_on(g_cpu, &c));
    check_rc("begin", g_gpu, pictor_backend_capture_begin(g_gpu));
    int rc = conv_on(g_gpu, &c);
    check_rc("captured conv", g_gpu, rc);
    check_rc("end", g_gpu, pictor_backend_capture_end(g_gpu, &g));
    CHECK(!g_is_cuda || tuned() == n, "%llu graphs tuned while capturing", tuned() - n);
    if (g) {
        check_rc("launch", g_gpu, pictor_backend_graph_launch(g_gpu, g));
        xt_compare("conv [1, 8, 14, 6] -> 8, captured and launched", &c.y, TOL_HALF);
        pictor_backend_graph_destroy(g_gpu, g);
    }
    conv_check("conv [1, 8, 14, 6] -> 8, eager after the capture", &c, n + 1);
    conv_free(&c);
}

/* cuDNN's fused attention (op_sdpa_cudnn.c) on a tuning backend: the CPU's
 * result, tuned at the first call of its shape only. */
static void test_sdpa(void)
{
    const int64_t shape[4] = { 1, 2, 96, 64 };
    struct xt q = xt_rand(PICTOR_BF16, 4, shape, 81, -1.0f, 1.0f);
    struct xt k = xt_rand(PICTOR_BF16, 4, shape, 82, -1.0f, 1.0f);
    struct xt v = xt_rand(PICTOR_BF16, 4, shape, 83, -1.0f, 1.0f);
    struct xt o = xt_rand(PICTOR_BF16, 4, shape, 84, 0.0f, 1.0f);
    const unsigned long long n = tuned();
    const float scale = 0.125f;
    char what[64];

    for (int call = 0; call < 2; call++) {
        snprintf(what, sizeof what, "sdpa bf16 [1, 2, 96, 64], call %d", call + 1);
        check_rc(what, g_cpu, pictor_sdpa(g_cpu, &q.c, &k.c, &v.c, NULL, scale, false, &o.c));
        check_rc(what, g_gpu, pictor_sdpa(g_gpu, &q.g, &k.g, &v.g, NULL, scale, false, &o.g));
        xt_compare(what, &o, TOL_HALF);
        CHECK(!g_is_cuda || tuned() == n + 1, "%s: %llu graphs tuned, want %llu", what,
              tuned() - n, 1ULL);
    }
    xt_free(&q), xt_free(&k), xt_free(&v), xt_free(&o);
}

/* cuDNN's FP8 attention graph (op_sdpa_fp8.c) on a tuning backend: within
 * test_cross_sdpa_fp8's bound of the CPU op, tuned once. Where the GPU has
 * no FP8 attention engine (before compute capability 9.0) there is nothing
 * to tune. */
static void test_sdpa_fp8(void)
{
    const int64_t shape[4] = { 1, 2, 64, 64 };
    struct xt q = xt_make(PICTOR_F8_E4M3, 4, shape, NULL, 91, -2.0f, 2.0f, 1.0f / 224);
    struct xt k = xt_make(PICTOR_F8_E4M3, 4, shape, NULL, 92, -2.0f, 2.0f, 1.0f / 224);
    struct xt v = xt_rand(PICTOR_BF16, 4, shape, 93, -1.0f, 1.0f);
    struct xt o = xt_rand(PICTOR_BF16, 4, shape, 94, 0.0f, 1.0f);
    const unsigned long long n = tuned();
    char what[64];

    for (int call = 0; call < 2; call++) {
        snprintf(what, sizeof what, "sdpa_fp8 [1, 2, 64, 64], call %d", call + 1);
        int rc = pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, 0.125f, &o.g);

        if (rc == PICTOR_E_UNSUPPORTED) {
            printf("# %s: no FP8 attention on this GPU: %s\n", what,
                   pictor_backend_error(g_gpu));
            break;
        }
        check_rc(what, g_gpu, rc);
        check_rc(what, g_cpu, pictor_sdpa_fp8(g_cpu, &q.c, &k.c, &v.c, 0.125f, &o.c));
        xt_compare(what, &o, TOL_SDPA_FP8);
        CHECK(!g_is_cuda || tuned() == n + 1, "%s: %llu graphs tuned, want %llu", what,
              tuned() - n, 1ULL);
    }
    xt_free(&q), xt_free(&k), xt_free(&v), xt_free(&o);
}

int main(void)
{
    /* Before the backend exists: it reads the switches at creation (cuDNN
     * for attention, not the own kernels, so that there is a graph). */
    setenv("PICTOR_CUDA_DNN_TUNE", "1", 0); /* 2 when the caller says so */
    setenv("PICTOR_SDPA", "cudnn", 1);
    int rc = cross_setup("dnn-tune");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_tuned_once);
    RUN(test_not_while_capturing);
    RUN(test_sdpa);
    RUN(test_sdpa_fp8);
    cross_teardown();
    TEST_MAIN_END();
}
