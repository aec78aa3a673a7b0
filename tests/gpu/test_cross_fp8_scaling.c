/*
 * tests/gpu/test_cross_fp8_scaling.c — FP8 linears whose per-token and
 * per-channel scales cuBLASLt applies itself (OUTER_VEC_32F, compute
 * capability 9.0 with cuBLASLt 12.9+: kernels/cuda/fp8_route.h) against
 * the CPU's FP8 linear on the same quantised inputs, and the same calls on
 * a second CUDA backend created with PICTOR_FP8_SCALING=epilogue (the
 * f32 GEMM output + epilogue kernel route), also against the CPU.
 *
 * Shapes: FLUX's block linears at 1024² (4608 tokens, K 3072, N 3072 with
 * bias, 9216 without, 12288 with bias and tanh-GELU) and small odd ones
 * (1, 33, 77 tokens; f16, f32 y; a per-tensor scale on top of the row
 * scales), plus calls that must keep the epilogue kernel on every GPU
 * (erf-GELU, SiLU, an f32 bias beside a bf16 y, row scales not 16-byte
 * aligned) or be staged (N not a multiple of 16).
 *
 * Each element must be within ULPS ulps of y's dtype (bf16 ulps for an
 * f32 y: cuBLASLt accumulates FP8 products in another order, in part in
 * the tensor cores' narrower accumulators, CUDA.md §1.6) of the CPU's
 * value, plus FLOOR of the largest |y| for values near zero (where the
 * sums' order and cuBLASLt's GELU may differ more than an ulp of the
 * value itself). Where cuBLASLt had no GELU epilogue for the problem, the
 * activation runs on the 16-bit y after a first rounding, and the staged
 * route dequantises its operands into bf16: FLOOR_LOOSE there. Which route ran is asserted through the backend's counters
 * (struct pictor_cuda_stats): on sm_90 with cuBLASLt 12.9+ the OUTER_VEC
 * route for every call fp8_route.h sends there, elsewhere never, and with
 * PICTOR_FP8_SCALING=epilogue never. Timings of both routes at FLUX size
 * are printed, never asserted.
 *
 * PICTOR_CROSS_SELFTEST=1 runs it with CPU backends standing in (FLUX
 * shapes with SELFTEST_TOKENS tokens; no counters to check).
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/fp8_route.h"
#include "cross.h"

#define ULPS 2.0                  /* per element, in y's dtype (bf16 for f32) */
#define FLOOR (1.0 / 2048)        /* of max |y|: 1/16 of a bf16 ulp there */
#define FLOOR_LOOSE (1.0 / 256) /* of max |y|, where a 16-bit rounding comes
                                  first: GELU applied to a rounded 16-bit
                                  input (~0.6 ulp of it), or the staged
                                  path's operands dequantised into bf16 */
#define FLUX_TOKENS 4608          /* 1024² image: 4096 image + 512 text */
#define SELFTEST_TOKENS 16
#define TIMED_RUNS 10

enum route { ROUTE_OUTER, ROUTE_KERNEL, ROUTE_STAGED };
static const char *const k_route_names[] = { "outer_vec", "epilogue kernel", "staged" };

struct fcase {
    const char *name;
    int64_t M, K, N;   /* M == FLUX_TOKENS: SELFTEST_TOKENS in the self-test */
    int y_dtype;
    int bias_dtype;    /* -1: no bias */
    int act;           /* enum pictor_unary, -1: none */
    float x_scale;     /* x's per-tensor scale on top of its row scales */
    int64_t row_offset; /* x is rows [row_offset, row_offset + M) of a
                           quantised [row_offset + M, K] */
    enum route sm90;   /* the route on sm_90 with cuBLASLt 12.9+ */
    bool timed;
};

static const struct fcase k_cases[] = {
    { "flux attention out", FLUX_TOKENS, 3072, 3072, PICTOR_BF16, PICTOR_BF16, -1, 1.0f, 0,
      ROUTE_OUTER, true },
    { "flux qkv, no bias", FLUX_TOKENS, 3072, 9216, PICTOR_BF16, -1, -1, 1.0f, 0, ROUTE_OUTER,
      false },
    { "flux mlp up gelu_tanh", FLUX_TOKENS, 3072, 12288, PICTOR_BF16, PICTOR_BF16,
      PICTOR_UNARY_GELU_TANH, 1.0f, 0, ROUTE_OUTER, true },
    { "one token", 1, 64, 16, PICTOR_BF16, PICTOR_BF16, -1, 1.0f, 0, ROUTE_OUTER, false },
    { "77 tokens f16 gelu_tanh", 77, 256, 48, PICTOR_F16, PICTOR_F16, PICTOR_UNARY_GELU_TANH,
      1.0f, 0, ROUTE_OUTER, false },
    { "33 tokens f32 y, bf16 bias, gelu_tanh", 33, 128, 80, PICTOR_F32, PICTOR_BF16,
      PICTOR_UNARY_GELU_TANH, 1.0f, 0, ROUTE_OUTER, false },
    { "300 tokens f32 y, no bias", 300, 64, 32, PICTOR_F32, -1, -1, 1.0f, 0, ROUTE_OUTER,
      false },
    { "per-tensor scale 0.5 (alpha)", 50, 96, 64, PICTOR_BF16, PICTOR_BF16, -1, 0.5f, 0,
      ROUTE_OUTER, false },
    { "rows from 4: aligned scales", 20, 64, 32, PICTOR_BF16, PICTOR_BF16, -1, 1.0f, 4,
      ROUTE_OUTER, false },
    { "erf gelu keeps the kernel", 40, 64, 64, PICTOR_BF16, PICTOR_BF16, PICTOR_UNARY_GELU_ERF,
      1.0f, 0, ROUTE_KERNEL, false },
    { "silu keeps the kernel", 40, 64, 64, PICTOR_F16, PICTOR_F16, PICTOR_UNARY_SILU, 1.0f, 0,
      ROUTE_KERNEL, false },
    { "f32 bias beside bf16 y", 40, 64, 64, PICTOR_BF16, PICTOR_F32, -1, 1.0f, 0, ROUTE_KERNEL,
      false },
    { "rows from 1: unaligned scales", 40, 64, 64, PICTOR_BF16, PICTOR_BF16, -1, 1.0f, 1,
      ROUTE_KERNEL, false },
    { "N 40: staged", 20, 64, 40, PICTOR_BF16, PICTOR_BF16, -1, 1.0f, 0, ROUTE_STAGED, false },
};
#define N_CASES (sizeof k_cases / sizeof k_cases[0])
#define N_FLUX 3  /* k_cases: the FLUX shapes first, */
#define N_SMALL 6 /* then the small ones, then those off the OUTER_VEC route */

static pictor_backend *g_epi; /* PICTOR_FP8_SCALING=epilogue */
static bool g_outer_here;     /* this GPU and cuBLASLt have OUTER_VEC_32F */

/* Quantises x per row on both backends into fresh roots. */
static void quantize_both(const char *what, const struct xt *x, struct xt *q, struct xt *sc)
{
    int64_t rows = x->c.shape[0];

    *q = xt_make(PICTOR_F8_E4M3, 2, x->c.shape, NULL, 1, 0.0f, 0.0f, 1.0f);
    *sc = xt_rand(PICTOR_F32, 1, &rows, 2, 0.0f, 1.0f);
    check_rc(what, g_cpu, pictor_quantize_rows(g_cpu, &x->c, &q->c, &sc->c));
    check_rc(what, g_gpu, pictor_quantize_rows(g_gpu, &x->g, &q->g, &sc->g));
}

/* Rows [off, off + M) of quantised q with their scales, x_scale on top. */
static pictor_tensor rows_view(const pictor_tensor *q, const pictor_tensor *sc, int64_t off,
                               int64_t M, float x_scale)
{
    pictor_tensor v = pictor_fp8_rows_view(q, sc);

    v = pictor_tensor_slice(&v, 0, off, M);
    v.scale = x_scale;
    return v;
}

/* One ulp of dtype (bf16 for f32: see the top) at |v|; 0 at 0. */
static double ulp_at(int dtype, double v)
{
    int e, bits = dtype == PICTOR_F16 ? 10 : 7; /* stored mantissa bits */

    if (v == 0.0)
        return 0.0;
    frexp(fabs(v), &e); /* |v| = m 2^e, m in [0.5, 1) */
    if (dtype == PICTOR_F16 && e - 1 < -14)
        e = -13; /* subnormal f16: fixed spacing 2^-24 */
    return ldexp(1.0, e - 1 - bits);
}

/* The n values of y (contiguous) as f32. */
static float *values(const char *bytes, int dtype, size_t n)
{
    float *v = xmalloc(n * sizeof(float));

    pictor_row_to_f32(v, bytes, dtype, n, 1.0f);
    return v;
}

/* CHECKs y's GPU storage against its CPU storage element by element;
 * floor: of max |cpu|. */
static void compare(const char *what, const struct xt *y, double floor)
{
    size_t n = (size_t)pictor_tensor_numel(&y->c);
    char *dev = xt_download(y);
    float *g = values(dev, y->c.dtype, n), *c = values(y->hbase, y->c.dtype, n);
    double amax = 0.0, worst = 0.0;
    size_t bad = 0, at = 0;

    for (size_t i = 0; i < n; i++)
        amax = fmax(amax, fabs(c[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)g[i] - c[i]);
        double tol = ULPS * ulp_at(y->c.dtype, fmax(fabs(g[i]), fabs(c[i]))) + floor * amax;
        double r = isnan(d) ? INFINITY : d / tol; /* tol > 0 once amax > 0 */

        if (!(d <= tol)) /* NaN fails */
            bad++;
        if (r > worst) {
            worst = r;
            at = i;
        }
    }
    CHECK(bad == 0 && amax > 0.0, "%s: %zu of %zu values off (worst #%zu: gpu %.8g cpu %.8g, "
          "%.2f x its tolerance; max |y| %.4g)", what, bad, n, at, (double)g[at], (double)c[at],
          worst, amax);
    if (getenv("TEST_VERBOSE"))
        printf("# %s: worst %.2f of tolerance (#%zu), max |y| %.4g\n", what, worst, at, amax);
    free(c);
    free(g);
    free(dev);
}

/* Operands of one case. */
struct lin {
    pictor_tensor xc, xg, wc, wg; /* quantised rows views (CPU, GPU) */
    const pictor_tensor *bc, *bg; /* bias or NULL */
    int act;
    pictor_tensor *y;             /* GPU y (for the timing calls) */
};

static int linear_on(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                     const pictor_tensor *b, int act, pictor_tensor *y)
{
    return act < 0 ? pictor_linear(be, x, w, b, y)
                   : pictor_linear_act(be, x, w, b, (enum pictor_unary)act, y);
}

static int timed_call(pictor_backend *be, const void *ctx)
{
    const struct lin *l = ctx;

    return linear_on(be, &l->xg, &l->wg, l->bg, l->act, l->y);
}

static uint64_t delta(uint64_t after, uint64_t before)
{
    return after - before;
}

/* Runs the case on be into y.g (poisoned first), checks the route be
 * took and the values; forced: be has PICTOR_FP8_SCALING=epilogue. */
static void run_gpu(const char *what, pictor_backend *be, const struct fcase *fc,
                    const struct lin *l, struct xt *y, bool forced)
{
    struct pictor_cuda_stats s0, s1;
    bool outer_want = !forced && g_outer_here && fc->sm90 == ROUTE_OUTER;
    bool act_after = false, staged_ran = false;
    int rc;

    check_rc(what, g_gpu, pictor_fill(g_gpu, &y->g, NAN));
    check_rc(what, g_gpu, pictor_backend_synchronize(g_gpu));
    s0 = gpu_stats(be);
    rc = linear_on(be, &l->xg, &l->wg, l->bg, l->act, &y->g);
    check_rc(what, be, rc);
    check_rc(what, be, pictor_backend_synchronize(be));
    s1 = gpu_stats(be);
    if (g_is_cuda) {
        uint64_t outer = delta(s1.matmul_fp8_outer_vec, s0.matmul_fp8_outer_vec);
        uint64_t kernel = delta(s1.matmul_fp8_epilogue, s0.matmul_fp8_epilogue);
        uint64_t staged = delta(s1.matmul_staged, s0.matmul_staged);

        CHECK(outer == (outer_want ? 1u : 0u) && kernel == (outer_want ? 0u : 1u),
              "%s: outer_vec %llu, epilogue kernel %llu; want the %s route (sm %d, cuBLASLt "
              "%zu%s)", what, (unsigned long long)outer, (unsigned long long)kernel,
              k_route_names[outer_want ? ROUTE_OUTER : ROUTE_KERNEL],
              pictor_backend_cuda_sm(be), cross_lt_version(be),
              outer_want ? ": no OUTER_VEC_32F algorithm from cuBLASLt?" : "");
        CHECK(fc->sm90 != ROUTE_STAGED || staged > 0, "%s: not staged", what);
        staged_ran = staged > 0; /* also every call below 8.9: no FP8 GEMM there */
        if (outer && fc->act == PICTOR_UNARY_GELU_TANH) {
            bool fused = delta(s1.matmul_act_epilogue, s0.matmul_act_epilogue) > 0;

            printf("# %s: tanh-GELU %s\n", what, fused ? "in cuBLASLt's epilogue" :
                   "after the GEMM (cuBLASLt had no GELU epilogue with OUTER_VEC_32F)");
            act_after = !fused && fc->y_dtype != PICTOR_F32;
        }
    }
    compare(what, y, fc->sm90 == ROUTE_STAGED || staged_ran || act_after ? FLOOR_LOOSE : FLOOR);
}

static void run_case(const struct fcase *fc)
{
    int64_t M = fc->M == FLUX_TOKENS && !g_is_cuda ? SELFTEST_TOKENS : fc->M;
    int64_t K = fc->K, N = fc->N, R = fc->row_offset + M;
    struct xt x, w, bias, y, xq, xs, wq, ws;
    struct lin l;
    char what[192];

    memset(&bias, 0, sizeof bias);
    x = xt_rand(PICTOR_BF16, 2, (int64_t[]){ R, K }, 31 + (uint64_t)K, -2.0f, 2.0f);
    w = xt_rand(PICTOR_BF16, 2, (int64_t[]){ N, K }, 37 + (uint64_t)N, -0.05f, 0.05f);
    y = xt_rand(fc->y_dtype, 2, (int64_t[]){ M, N }, 41, 0.0f, 1.0f);
    if (fc->bias_dtype >= 0)
        bias = xt_rand(fc->bias_dtype, 1, &N, 43, -1.0f, 1.0f);
    quantize_both("quantize x", &x, &xq, &xs);
    quantize_both("quantize w", &w, &wq, &ws);
    memset(&l, 0, sizeof l);
    l.xc = rows_view(&xq.c, &xs.c, fc->row_offset, M, fc->x_scale);
    l.xg = rows_view(&xq.g, &xs.g, fc->row_offset, M, fc->x_scale);
    l.wc = pictor_fp8_rows_view(&wq.c, &ws.c);
    l.wg = pictor_fp8_rows_view(&wq.g, &ws.g);
    l.bc = fc->bias_dtype >= 0 ? &bias.c : NULL;
    l.bg = fc->bias_dtype >= 0 ? &bias.g : NULL;
    l.act = fc->act;
    l.y = &y.g;

    snprintf(what, sizeof what, "%s: %lldx%lld->%lld %s (cpu)", fc->name, (long long)M,
             (long long)K, (long long)N, pictor_dtype_name(fc->y_dtype));
    check_rc(what, g_cpu, linear_on(g_cpu, &l.xc, &l.wc, l.bc, l.act, &y.c));
    snprintf(what, sizeof what, "%s: %lldx%lld->%lld %s", fc->name, (long long)M,
             (long long)K, (long long)N, pictor_dtype_name(fc->y_dtype));
    run_gpu(what, g_gpu, fc, &l, &y, false);
    snprintf(what, sizeof what, "%s: %lldx%lld->%lld %s, PICTOR_FP8_SCALING=epilogue",
             fc->name, (long long)M, (long long)K, (long long)N,
             pictor_dtype_name(fc->y_dtype));
    run_gpu(what, g_epi, fc, &l, &y, true);

    if (fc->timed && g_is_cuda) {
        double t_auto = cross_time_ms("timing", g_gpu, TIMED_RUNS, timed_call, &l);
        double t_epi, gflop = 2.0 * (double)M * (double)K * (double)N / 1e9;

        check_rc("timing", g_gpu, pictor_backend_synchronize(g_gpu));
        t_epi = cross_time_ms("timing", g_epi, TIMED_RUNS, timed_call, &l);
        printf("# %s %lldx%lld->%lld: %s %.3f ms (%.0f TFLOPS), epilogue kernel %.3f ms "
               "(%.0f TFLOPS)\n", fc->name, (long long)M, (long long)K, (long long)N,
               g_outer_here ? "outer_vec" : "auto", t_auto, gflop / t_auto, t_epi,
               gflop / t_epi);
    }
    xt_free(&x), xt_free(&w), xt_free(&y), xt_free(&bias);
    xt_free(&xq), xt_free(&xs), xt_free(&wq), xt_free(&ws);
}

/* Cases [first, first + n) of k_cases. */
static void run_cases(size_t first, size_t n)
{
    for (size_t i = first; i < first + n && i < N_CASES; i++)
        run_case(&k_cases[i]);
}

static void test_flux_shapes(void)
{
    if (cross_emu_skip("FLUX size (and timings)"))
        return;
    run_cases(0, N_FLUX);
}

static void test_small_shapes(void)
{
    run_cases(N_FLUX, N_SMALL);
}

static void test_other_routes(void)
{
    run_cases(N_FLUX + N_SMALL, N_CASES - N_FLUX - N_SMALL);
}

int main(void)
{
    int rc = cross_setup("cross-fp8-scaling");

    if (rc)
        return rc == 1 ? 0 : 1;
    if (!(g_epi = cross_epilogue_backend())) {
        cross_teardown();
        return 1;
    }
    g_outer_here = cross_outer_vec_here();
    printf("# FP8 scaling by cuBLASLt (OUTER_VEC_32F) %s here\n",
           g_outer_here ? "expected" : g_is_cuda ? "not expected" : "not checked (self-test)");
    RUN(test_flux_shapes);
    RUN(test_small_shapes);
    RUN(test_other_routes);
    pictor_backend_destroy(g_epi);
    cross_teardown();
    TEST_MAIN_END();
}
