/*
 * tests/gpu/test_cross_sdpa_fp8.c — FP8 attention (pictor_sdpa_fp8: cuDNN's
 * FP8 SDPA graph on Hopper and B200, kernels/cuda/op_sdpa_fp8.h) against the CPU's
 * reference of the same contract (kernels/cpu/op_sdpa_fp8.c), and against
 * bf16 attention (pictor_sdpa) on the dequantised inputs.
 *
 * Inputs: q, k E4M3 with per-tensor scales (values uniform in [-2, 2):
 * logits of standard deviation ~1.3 at scale 1/sqrt(D)), v uniform in
 * [-1, 1) with one element pinned to 1 in head 0 (so max |v| over the
 * first heads is the whole tensor's: the CPU reference of the FLUX shape
 * runs on FLUX_CPU_HEADS heads x FLUX_CPU_ROWS queries only, a few GFLOP).
 * Shapes: FLUX's (B 1, H 24, L 4352, D 128, the BSHD views FLUX passes:
 * permutes of [B, L, H, D]) and odd ones (Lq != Lk, B 2, D 16/64/256,
 * f32/f16 v and o, a q whose base is not 16-byte aligned: staged).
 *
 * Bounds (relative L2 error over the outputs compared):
 *   TOL_CPU, CUDA vs the CPU op: both quantise v identically, but cuDNN's
 *     fused kernel rounds P to E4M3 in its own order — an online softmax
 *     over key blocks most likely rounds the unnormalised exp(s - m) of
 *     each block rather than the normalised p of the contract (ops.h) —
 *     and its O before the final E4M3 rounding differs too. Emulating that
 *     order on the CPU (128-key blocks, this test's data distributions)
 *     gives 4.3-5.2% between the two orders for Lk 16..4352, D 16..256 and
 *     logit scales 0.7..2.7, each order 3.8-4.7% from the exact attention;
 *     fully independent roundings would give about sqrt(2) x 4.7% = 6.6%.
 *     TOL_CPU = 7.5e-2 allows that and still catches a wrong scale,
 *     descale or layout (errors of order 1). If cuDNN rounds exactly as
 *     the contract does, the printed number is far smaller (accumulation
 *     order only) and says so.
 *   TOL_REF, each FP8 result vs attention in v's dtype (bf16 at FLUX's
 *     shape) on the same dequantised q, k and unquantised v: the FP8 error
 *     itself (3.8-4.7% emulated, 4.5-4.9% for the CPU op on these cases,
 *     the small ones fluctuating most), 7e-2.
 * The counters must show the cuDNN FP8 path ran (and staged when it must);
 * a NaN in v must give NaN everywhere; the op must capture into a CUDA
 * graph whose replays read the current v (its amax and scales computed on
 * the device). Timings of FP8 vs bf16 attention at FLUX's shape are
 * printed, never asserted. Off Hopper the op must be refused with a reason.
 *
 * PICTOR_CROSS_SELFTEST=1 runs it with CPU backends standing in (FLUX
 * shapes shrunk to SELFTEST_H heads of SELFTEST_L tokens; graphs through
 * the CPU recorder; no counters).
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/op_sdpa_fp8.h"
#include "cross.h"

#define TOL_CPU 7.5e-2
#define TOL_REF 7e-2
#define FLUX_H 24
#define FLUX_L 4352 /* 4096 image tokens (1024x1024) + 256 text tokens */
#define FLUX_D 128
#define FLUX_CPU_HEADS 2
#define FLUX_CPU_ROWS 512
#define SELFTEST_H 4
#define SELFTEST_L 96
#define QK_RANGE 2.0f
#define TIMED_RUNS 20

struct fcase {
    const char *name;
    int64_t B, H, Lq, Lk, D;
    bool bshd;      /* views of [B, L, H, D] roots, else contiguous */
    int v_dtype, o_dtype;
    int64_t q_off;  /* q's base this many bytes into its root */
    bool flux;      /* shrunk in the self-test; CPU on a slice; timed */
};

static const struct fcase k_cases[] = {
    { "flux", 1, FLUX_H, FLUX_L, FLUX_L, FLUX_D, true, PICTOR_BF16, PICTOR_BF16, 0, true },
    { "B 2, Lq 300 != Lk 77, D 64, f32 v, f16 o", 2, 3, 300, 77, 64, false, PICTOR_F32,
      PICTOR_F16, 0, false },
    { "BSHD views, Lq 33, Lk 50, D 128", 1, 2, 33, 50, 128, true, PICTOR_BF16, PICTOR_BF16, 0,
      false },
    { "D 256, f16 v, f32 o", 2, 1, 129, 65, 256, false, PICTOR_F16, PICTOR_F32, 0, false },
    { "D 16", 1, 1, 16, 16, 16, false, PICTOR_BF16, PICTOR_BF16, 0, false },
    { "q base 8 bytes off (staged)", 1, 2, 40, 40, 64, false, PICTOR_BF16, PICTOR_BF16, 8,
      false },
};
#define N_CASES (sizeof k_cases / sizeof k_cases[0])

static bool g_fp8_here; /* the op is expected to run on g_gpu */

/* A [B, H, L, D] view of a fresh 1-D root `off` elements in: BSHD (the
 * permute of [B, L, H, D]) or contiguous. Values uniform [lo, hi) from
 * seed; element (0, 0, 0, 0) set to pin unless pin is 0. */
static struct xt make4(struct xt *root, int dtype, int64_t B, int64_t H, int64_t L, int64_t D,
                       bool bshd, int64_t off, uint64_t seed, float lo, float hi, float scale,
                       float pin)
{
    int64_t n = B * H * L * D + off, shape[4] = { B, H, L, D };
    int64_t st[4] = { H * L * D, L * D, D, 1 };
    float *vals = xmalloc((size_t)n * sizeof(float));

    if (bshd)
        st[0] = L * H * D, st[1] = D, st[2] = H * D;
    test_fill_uniform(vals, (size_t)n, seed, lo, hi);
    if (pin != 0.0f)
        vals[off] = pin;
    *root = xt_make(dtype, 1, &n, vals, seed, lo, hi, scale);
    free(vals);
    return xt_view4(root, shape, st, off);
}

/* The values of view v of root (on the GPU). */
static float *gpu_values(const struct xt *root, const struct xt *v)
{
    char *dev = xt_download(root);
    float *out = view_values(&v->g, root->dbase, dev);

    free(dev);
    return out;
}

/* view [:, :h, :rows] of t */
static struct xt head_rows(const struct xt *t, int64_t h, int64_t rows)
{
    struct xt s = xt_slice(t, 1, 0, h);

    return xt_slice(&s, 2, 0, rows);
}

struct call {
    const pictor_tensor *q, *k, *v;
    pictor_tensor *o;
    float scale;
};

static int fp8_call(pictor_backend *be, const void *ctx)
{
    const struct call *c = ctx;

    return pictor_sdpa_fp8(be, c->q, c->k, c->v, c->scale, c->o);
}

static int bf16_call(pictor_backend *be, const void *ctx)
{
    const struct call *c = ctx;

    return pictor_sdpa(be, c->q, c->k, c->v, NULL, c->scale, false, c->o);
}

static void run_case(const struct fcase *fc)
{
    bool shrink = fc->flux && !g_is_cuda;
    int64_t B = fc->B, H = shrink ? SELFTEST_H : fc->H, D = fc->D;
    int64_t Lq = shrink ? SELFTEST_L : fc->Lq, Lk = shrink ? SELFTEST_L : fc->Lk;
    int64_t ch = fc->flux ? FLUX_CPU_HEADS : H; /* the CPU's heads and rows */
    int64_t cr = fc->flux && Lq > FLUX_CPU_ROWS ? FLUX_CPU_ROWS : Lq;
    int rd = fc->v_dtype; /* the bf16 reference's dtype (v's) */
    float scale = 1.0f / sqrtf((float)D), qks = QK_RANGE / PICTOR_E4M3_MAX;
    struct xt qr, kr, vr, or, q, k, v, o, oc, qb, kb, ob, gs, rs;
    struct pictor_cuda_stats s0, s1;
    float *g, *c, *ref, *gsv, *rsv;
    size_t n, nc;
    char what[160];
    int rc;

    snprintf(what, sizeof what, "%s (B %lld H %lld Lq %lld Lk %lld D %lld)", fc->name,
             (long long)B, (long long)H, (long long)Lq, (long long)Lk, (long long)D);
    q = make4(&qr, PICTOR_F8_E4M3, B, H, Lq, D, fc->bshd, fc->q_off, 11 + (uint64_t)D,
              -QK_RANGE, QK_RANGE, qks, 0.0f);
    k = make4(&kr, PICTOR_F8_E4M3, B, H, Lk, D, fc->bshd, 0, 13 + (uint64_t)Lk, -QK_RANGE,
              QK_RANGE, qks, 0.0f);
    v = make4(&vr, fc->v_dtype, B, H, Lk, D, fc->bshd, 0, 17, -1.0f, 1.0f, 1.0f, 1.0f);
    o = make4(&or, fc->o_dtype, B, H, Lq, D, fc->bshd, 0, 19, 0.0f, 1.0f, 1.0f, 0.0f);
    oc = xt_rand(fc->o_dtype, 4, (int64_t[]){ B, ch, cr, D }, 23, 0.0f, 1.0f);
    qb = xt_rand(rd, 4, (int64_t[]){ B, H, Lq, D }, 29, 0.0f, 1.0f);
    kb = xt_rand(rd, 4, (int64_t[]){ B, H, Lk, D }, 31, 0.0f, 1.0f);
    ob = xt_rand(rd, 4, (int64_t[]){ B, H, Lq, D }, 37, 0.0f, 1.0f);

    /* The op on the GPU, o poisoned first; the counters around it. */
    check_rc(what, g_gpu, pictor_fill(g_gpu, &o.g, NAN));
    check_rc(what, g_gpu, pictor_backend_synchronize(g_gpu));
    s0 = gpu_stats(g_gpu);
    rc = pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, scale, &o.g);
    check_rc(what, g_gpu, rc);
    check_rc(what, g_gpu, pictor_backend_synchronize(g_gpu));
    s1 = gpu_stats(g_gpu);
    if (g_is_cuda) {
        uint64_t dnn = s1.sdpa_fp8_cudnn - s0.sdpa_fp8_cudnn;
        uint64_t staged = s1.sdpa_fp8_staged - s0.sdpa_fp8_staged;

        CHECK(dnn == 1 && staged == (fc->q_off % 16 ? 1u : 0u),
              "%s: cuDNN FP8 runs %llu, staged %llu (want 1, %d)", what,
              (unsigned long long)dnn, (unsigned long long)staged, fc->q_off % 16 != 0);
    }

    /* The CPU reference (on a head/row slice for FLUX: rows are independent
     * and max |v| lies in head 0). */
    {
        struct xt qs = head_rows(&q, ch, cr), ks = head_rows(&k, ch, Lk);
        struct xt vs = head_rows(&v, ch, Lk);

        check_rc(what, g_cpu, pictor_sdpa_fp8(g_cpu, &qs.c, &ks.c, &vs.c, scale, &oc.c));
    }

    /* bf16 (v's dtype) attention on the dequantised q and k, on the GPU. */
    check_rc(what, g_gpu, pictor_copy(g_gpu, &q.g, &qb.g));
    check_rc(what, g_gpu, pictor_copy(g_gpu, &k.g, &kb.g));
    check_rc(what, g_gpu, pictor_sdpa(g_gpu, &qb.g, &kb.g, &v.g, NULL, scale, false, &ob.g));

    n = (size_t)pictor_tensor_numel(&o.g);
    nc = (size_t)pictor_tensor_numel(&oc.c);
    gs = head_rows(&o, ch, cr);
    rs = head_rows(&ob, ch, cr);
    g = gpu_values(&or, &o);
    gsv = gpu_values(&or, &gs);
    ref = gpu_values(&ob, &ob);
    rsv = gpu_values(&ob, &rs);
    c = view_values(&oc.c, oc.hbase, oc.hbase);
    {
        double e_cpu = test_rel_l2(gsv, c, nc), e_ref = test_rel_l2(g, ref, n);
        double e_cref = test_rel_l2(c, rsv, nc);

        printf("# %s: rel_l2 vs CPU %.4f (%zu values), vs %s attention %.4f (CPU's FP8 "
               "vs it: %.4f)\n", what, e_cpu, nc, pictor_dtype_name(rd), e_ref, e_cref);
        CHECK(e_cpu <= TOL_CPU, "%s: rel_l2 vs the CPU op %.4g > %.3g", what, e_cpu, TOL_CPU);
        CHECK(e_ref <= TOL_REF, "%s: rel_l2 vs %s attention %.4g > %.3g", what,
              pictor_dtype_name(rd), e_ref, TOL_REF);
    }

    if (fc->flux && g_is_cuda) {
        struct call f = { &q.g, &k.g, &v.g, &o.g, scale }, r = { &qb.g, &kb.g, &v.g, &ob.g, scale };
        double gflop = 4.0 * (double)(B * H * Lq * Lk * D) / 1e9;
        double t8 = cross_time_ms("timing fp8", g_gpu, TIMED_RUNS, fp8_call, &f);
        double t16 = cross_time_ms("timing bf16", g_gpu, TIMED_RUNS, bf16_call, &r);

        printf("# %s: FP8 attention %.3f ms (%.0f TFLOPS; incl. v's amax and E4M3 copy, "
               "o's conversion), bf16 pictor_sdpa %.3f ms (%.0f TFLOPS)\n", what, t8,
               gflop / t8, t16, gflop / t16);
    }
    free(g), free(gsv), free(ref), free(rsv), free(c);
    xt_free(&qr), xt_free(&kr), xt_free(&vr), xt_free(&or), xt_free(&oc);
    xt_free(&qb), xt_free(&kb), xt_free(&ob);
}

static void test_flux(void)
{
    if (cross_emu_skip("FLUX size (and timings)"))
        return;
    run_case(&k_cases[0]);
}

static void test_odd_shapes(void)
{
    for (size_t i = 1; i < N_CASES; i++)
        run_case(&k_cases[i]);
}

/* Whether every one of the n values is NaN. */
static bool all_nan(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            return false;
    return true;
}

static void test_nan_in_v(void)
{
    const int64_t B = 1, H = 2, L = 32, D = 64;
    struct xt qr, kr, vr, or, q, k, v, o, oc;
    float *g, *c;
    size_t n = (size_t)(B * H * L * D);

    q = make4(&qr, PICTOR_F8_E4M3, B, H, L, D, false, 0, 41, -2.0f, 2.0f, 1.0f / 224, 0.0f);
    k = make4(&kr, PICTOR_F8_E4M3, B, H, L, D, false, 0, 43, -2.0f, 2.0f, 1.0f / 224, 0.0f);
    v = make4(&vr, PICTOR_BF16, B, H, L, D, false, 0, 47, -1.0f, 1.0f, 1.0f, NAN);
    o = make4(&or, PICTOR_BF16, B, H, L, D, false, 0, 53, 0.0f, 1.0f, 1.0f, 0.0f);
    oc = xt_rand(PICTOR_BF16, 4, (int64_t[]){ B, H, L, D }, 59, 0.0f, 1.0f);
    check_rc("nan v", g_gpu, pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, 0.125f, &o.g));
    check_rc("nan v", g_cpu, pictor_sdpa_fp8(g_cpu, &q.c, &k.c, &v.c, 0.125f, &oc.c));
    g = gpu_values(&or, &o);
    c = view_values(&oc.c, oc.hbase, oc.hbase);
    CHECK(all_nan(c, n), "the CPU op must give NaN everywhere for a NaN in v");
    CHECK(all_nan(g, n), "a NaN in v: the GPU gives a number somewhere (o[0] %g)", (double)g[0]);
    free(g), free(c);
    xt_free(&qr), xt_free(&kr), xt_free(&vr), xt_free(&or), xt_free(&oc);
}

static void test_capture(void)
{
    const int64_t B = 1, H = 2, L = 64, D = 64;
    const float s = 0.125f, qks = QK_RANGE / PICTOR_E4M3_MAX;
    struct xt qr, kr, vr, v2r, or, o2r, q, k, v, v2, o, o2;
    struct pictor_cuda_stats s0 = gpu_stats(g_gpu), s1;
    pictor_graph *graph = NULL;
    float *before, *eager, *replay;
    size_t n = (size_t)(B * H * L * D);
    int rc;

    if (!g_is_cuda)
        pictor_backend_cpu_set_graphs(g_gpu, true);
    q = make4(&qr, PICTOR_F8_E4M3, B, H, L, D, true, 0, 61, -QK_RANGE, QK_RANGE, qks, 0.0f);
    k = make4(&kr, PICTOR_F8_E4M3, B, H, L, D, true, 0, 67, -QK_RANGE, QK_RANGE, qks, 0.0f);
    v = make4(&vr, PICTOR_BF16, B, H, L, D, true, 0, 71, -1.0f, 1.0f, 1.0f, 0.0f);
    v2 = make4(&v2r, PICTOR_BF16, B, H, L, D, true, 0, 73, -3.0f, 3.0f, 1.0f, 0.0f);
    o = make4(&or, PICTOR_BF16, B, H, L, D, true, 0, 79, 0.0f, 1.0f, 1.0f, 0.0f);
    o2 = make4(&o2r, PICTOR_BF16, B, H, L, D, true, 0, 83, 0.0f, 1.0f, 1.0f, 0.0f);

    /* Eager first (the plan is built outside the capture), then captured. */
    check_rc("eager", g_gpu, pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, s, &o.g));
    before = gpu_values(&or, &o);
    check_rc("capture begin", g_gpu, pictor_backend_capture_begin(g_gpu));
    rc = pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, s, &o2.g);
    check_rc("captured sdpa_fp8", g_gpu, rc);
    check_rc("capture end", g_gpu, pictor_backend_capture_end(g_gpu, &graph));
    /* New v (3x the range: another amax and scales) in the same memory. */
    check_rc("new v", g_gpu, pictor_copy(g_gpu, &v2.g, &v.g));
    check_rc("launch", g_gpu, graph ? pictor_backend_graph_launch(g_gpu, graph) : -1);
    check_rc("eager on new v", g_gpu, pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, s, &o.g));
    replay = gpu_values(&o2r, &o2);
    eager = gpu_values(&or, &o);
    CHECK(memcmp(replay, eager, n * sizeof(float)) == 0,
          "the replay differs from the eager call on the same v (replay[0] %g, eager[0] %g)",
          (double)replay[0], (double)eager[0]);
    CHECK(memcmp(before, eager, n * sizeof(float)) != 0, "a new v did not change o");
    s1 = gpu_stats(g_gpu);
    CHECK(!g_is_cuda || (s1.graph_captures > s0.graph_captures &&
                         s1.graph_launches > s0.graph_launches),
          "the capture and launch are not counted");
    pictor_backend_graph_destroy(g_gpu, graph);
    free(before), free(eager), free(replay);
    xt_free(&qr), xt_free(&kr), xt_free(&vr), xt_free(&v2r), xt_free(&or), xt_free(&o2r);
}

/* A shape cuDNN's FP8 SDPA does not take (D 24), and off Hopper any
 * shape: refused with PICTOR_E_UNSUPPORTED, the reason in the
 * description. */
static void test_refusals(void)
{
    int64_t D = g_fp8_here ? 24 : 64;
    struct xt qr, kr, vr, or, q, k, v, o;
    struct pictor_op_args a;
    const char *desc;
    int rc;

    q = make4(&qr, PICTOR_F8_E4M3, 1, 2, 32, D, false, 0, 89, -1.0f, 1.0f, 1.0f / 448, 0.0f);
    k = make4(&kr, PICTOR_F8_E4M3, 1, 2, 32, D, false, 0, 97, -1.0f, 1.0f, 1.0f / 448, 0.0f);
    v = make4(&vr, PICTOR_BF16, 1, 2, 32, D, false, 0, 101, -1.0f, 1.0f, 1.0f, 0.0f);
    o = make4(&or, PICTOR_BF16, 1, 2, 32, D, false, 0, 103, 0.0f, 1.0f, 1.0f, 0.0f);
    memset(&a, 0, sizeof a);
    a.op = PICTOR_OP_SDPA_FP8;
    a.u.sdpa_fp8.q = &q.g, a.u.sdpa_fp8.k = &k.g, a.u.sdpa_fp8.v = &v.g, a.u.sdpa_fp8.o = &o.g;
    a.u.sdpa_fp8.scale = 0.125f;
    CHECK(!pictor_op_supported(g_gpu, &a), "D %lld%s: supported", (long long)D,
          g_fp8_here ? "" : " off Hopper and Blackwell");
    rc = pictor_sdpa_fp8(g_gpu, &q.g, &k.g, &v.g, 0.125f, &o.g);
    CHECK(rc == PICTOR_E_UNSUPPORTED, "D %lld: rc %d (%s)", (long long)D, rc,
          pictor_backend_error(g_gpu));
    desc = pictor_backend_cuda_describe(g_gpu);
    CHECK(strstr(desc, g_fp8_here ? "sdpa_fp8: head dim 24" : "sdpa_fp8: cuDNN's FP8"),
          "the description does not say why: %s", desc);
    printf("# refused: %s\n", strstr(desc, "sdpa_fp8:") ? strstr(desc, "sdpa_fp8:") : desc);
    xt_free(&qr), xt_free(&kr), xt_free(&vr), xt_free(&or);
}

int main(void)
{
    int rc = cross_setup("cross-sdpa-fp8");

    if (rc)
        return rc == 1 ? 0 : 1;
    /* compute capability 9.0 and 10.0 (cuda_sdpa_fp8_sm_ok) */
    g_fp8_here = !g_is_cuda || cuda_sdpa_fp8_sm_ok(pictor_backend_cuda_sm(g_gpu));
    if (g_is_cuda)
        RUN(test_refusals);
    if (g_fp8_here) {
        RUN(test_flux);
        RUN(test_odd_shapes);
        RUN(test_nan_in_v);
        RUN(test_capture);
    } else {
        printf("SKIP cross-sdpa-fp8 comparisons: compute capability %d, the op runs on %d "
               "and %d\n", pictor_backend_cuda_sm(g_gpu), CUDA_SDPA_FP8_SM_HOPPER,
               CUDA_SDPA_FP8_SM_BLACKWELL);
    }
    cross_teardown();
    TEST_MAIN_END();
}
