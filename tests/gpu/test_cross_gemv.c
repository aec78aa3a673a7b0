/*
 * tests/gpu/test_cross_gemv.c — FP8 matmuls of one activation row against
 * a linear weight, CPU against CUDA, where the CUDA backend runs its own
 * GEMV kernel (kernels/cuda/op_matmul_gemv.cu) instead of cuBLASLt: K of
 * 2048, 3072 and 4096; per-tensor scales, alpha, a's row_scale, the
 * weight's per-channel scales through pictor_linear, bias of two dtypes or
 * none, c f32/bf16/f16 and strided. The backend's matmul_gemv counter must
 * say the kernel ran, and must not move for the calls it does not take (K
 * of 2560, two rows): those go to cuBLASLt as before.
 * On a GPU it also times FLUX's modulation linear, [1, 3072] by
 * [3072, 18432], and prints the weight bandwidth (never asserted).
 *
 * Needs a GPU or the CUDA emulator (`make test` runs it there); see
 * tests/gpu/test_cross_backend.c for the harness.
 */
#include <stdio.h>

#include "cross.h"

/* E4M3 inputs against the CPU's f32 GEMM (test_cross_backend.c's bound). */
#define TOL_FP8 3e-2

static unsigned long long gemv_count(void)
{
    return g_is_cuda ? (unsigned long long)gpu_stats(g_gpu).matmul_gemv : 0;
}

/* c = alpha * a @ b + bias on both backends, compared; the GEMV counter
 * then moved by `want` (CUDA only). */
static void gemv_case(const char *what, struct xt *a, struct xt *b, struct xt *bias,
                      float alpha, struct xt *c, unsigned long long want)
{
    unsigned long long n0 = gemv_count();

    check_rc(what, g_cpu, pictor_matmul(g_cpu, &a->c, &b->c, bias ? &bias->c : NULL, alpha,
                                        &c->c));
    check_rc(what, g_gpu, pictor_matmul(g_gpu, &a->g, &b->g, bias ? &bias->g : NULL, alpha,
                                        &c->g));
    xt_compare(what, c, TOL_FP8);
    CHECK(!g_is_cuda || gemv_count() - n0 == want, "%s: %llu GEMV launches, want %llu", what,
          gemv_count() - n0, want);
}

/* One row of E4M3 codes against w^T, K 2048 / 3072 / 4096, with and
 * without row_scale, bias bf16 / f32 / none, c bf16 / f32 / strided f16. */
static void test_gemv_matmul(void)
{
    static const int64_t ks[3] = { 2048, 3072, 4096 };
    char what[128];

    for (int i = 0; i < 3; i++) {
        const int64_t K = ks[i], N = 80;
        struct xt a = xt_fp8_rand(1, K, 701 + i, 1.0f / 448.0f);
        struct xt w = xt_fp8_rand(N, K, 702 + i, 0.5f / 448.0f);
        struct xt wt = xt_transpose(&w, 0, 1); /* [K, N], K contiguous */
        struct xt rs = xt_rand(PICTOR_F32, 1, (int64_t[]){ 1 }, 703 + i, 0.5f, 2.0f);
        struct xt b16 = xt_rand(PICTOR_BF16, 1, (int64_t[]){ N }, 704 + i, -1.0f, 1.0f);
        struct xt b32 = xt_rand(PICTOR_F32, 1, (int64_t[]){ N }, 705 + i, -1.0f, 1.0f);
        struct xt c16 = xt_rand(PICTOR_BF16, 2, (int64_t[]){ 1, N }, 706, 0.0f, 1.0f);
        struct xt c32 = xt_rand(PICTOR_F32, 2, (int64_t[]){ 1, N }, 707, 0.0f, 1.0f);
        struct xt wide = xt_rand(PICTOR_F16, 2, (int64_t[]){ 1, 2 * N }, 708, 0.0f, 1.0f);
        struct xt ch = xt_view2d(&wide, 1, N, 2 * N, 2); /* every other column */

        snprintf(what, sizeof what, "gemv f8_e4m3 1x%lldx%lld + bf16 bias -> bf16", (long long)K,
                 (long long)N);
        gemv_case(what, &a, &wt, &b16, 1.0f, &c16, 1);
        snprintf(what, sizeof what, "gemv f8_e4m3 1x%lldx%lld alpha 0.5 -> f32", (long long)K,
                 (long long)N);
        gemv_case(what, &a, &wt, NULL, 0.5f, &c32, 1);
        a.c.row_scale = (const float *)rs.c.data;
        a.g.row_scale = (const float *)rs.g.data;
        a.c.scale = a.g.scale = 2.0f;
        snprintf(what, sizeof what, "gemv f8_e4m3 (row_scale, scale 2) 1x%lldx%lld + f32 bias",
                 (long long)K, (long long)N);
        gemv_case(what, &a, &wt, &b32, 1.0f, &c16, 1);
        snprintf(what, sizeof what, "gemv f8_e4m3 1x%lldx%lld -> strided f16", (long long)K,
                 (long long)N);
        gemv_case(what, &a, &wt, &b16, 1.0f, &ch, 1);
        xt_free(&a);
        xt_free(&w);
        xt_free(&rs);
        xt_free(&b16);
        xt_free(&b32);
        xt_free(&c16);
        xt_free(&c32);
        xt_free(&wide);
    }
}

/* The modulation linears' form (plugins/common/fp8_linear.c): a bf16 row
 * quantised per token (pictor_quantize_rows), then pictor_linear with the
 * E4M3 weight and its per-channel scales (col_scale on the GPU), against
 * the CPU doing the same. */
static void test_gemv_linear(void)
{
    const int64_t K = 3072, N = 144, one = 1;
    struct xt x = xt_rand(PICTOR_BF16, 2, (int64_t[]){ 1, K }, 721, -2.0f, 2.0f);
    struct xt xq = xt_rand(PICTOR_F8_E4M3, 2, (int64_t[]){ 1, K }, 722, 0.0f, 1.0f);
    struct xt sc = xt_rand(PICTOR_F32, 1, &one, 723, 1.0f, 1.0f);
    struct xt w = xt_fp8_rand(N, K, 724, 1.0f / 448.0f);
    struct xt ws = xt_rand(PICTOR_F32, 1, (int64_t[]){ N }, 725, 0.25f, 4.0f);
    struct xt bias = xt_rand(PICTOR_BF16, 1, (int64_t[]){ N }, 726, -1.0f, 1.0f);
    struct xt y = xt_rand(PICTOR_BF16, 2, (int64_t[]){ 1, N }, 727, 0.0f, 1.0f);
    const char *what = "quantize_rows + linear, bf16 row, f8_e4m3 w (per-channel scales) + bias";
    unsigned long long n0 = gemv_count();
    pictor_tensor ac, ag;

    w.c.row_scale = (const float *)ws.c.data;
    w.g.row_scale = (const float *)ws.g.data;
    check_rc(what, g_cpu, pictor_quantize_rows(g_cpu, &x.c, &xq.c, &sc.c));
    check_rc(what, g_gpu, pictor_quantize_rows(g_gpu, &x.g, &xq.g, &sc.g));
    ac = pictor_fp8_rows_view(&xq.c, &sc.c);
    ag = pictor_fp8_rows_view(&xq.g, &sc.g);
    check_rc(what, g_cpu, pictor_linear(g_cpu, &ac, &w.c, &bias.c, &y.c));
    check_rc(what, g_gpu, pictor_linear(g_gpu, &ag, &w.g, &bias.g, &y.g));
    xt_compare(what, &y, TOL_FP8);
    CHECK(!g_is_cuda || gemv_count() - n0 == 1, "%s: %llu GEMV launches, want 1", what,
          gemv_count() - n0);
    xt_free(&x);
    xt_free(&xq);
    xt_free(&sc);
    xt_free(&w);
    xt_free(&ws);
    xt_free(&bias);
    xt_free(&y);
}

/* Calls the kernel does not take go to cuBLASLt, with the same results. */
static void test_gemv_not_taken(void)
{
    const int64_t N = 48;
    struct xt a = xt_fp8_rand(1, 2560, 731, 1.0f / 448.0f);
    struct xt w = xt_fp8_rand(N, 2560, 732, 1.0f / 448.0f);
    struct xt wt = xt_transpose(&w, 0, 1);
    struct xt a2 = xt_fp8_rand(2, 3072, 733, 1.0f / 448.0f);
    struct xt w2 = xt_fp8_rand(N, 3072, 734, 1.0f / 448.0f);
    struct xt wt2 = xt_transpose(&w2, 0, 1);
    struct xt c1 = xt_rand(PICTOR_F32, 2, (int64_t[]){ 1, N }, 735, 0.0f, 1.0f);
    struct xt c2 = xt_rand(PICTOR_F32, 2, (int64_t[]){ 2, N }, 736, 0.0f, 1.0f);

    gemv_case("fp8 1x2560x48 (K not a multiple of 512): cuBLASLt", &a, &wt, NULL, 1.0f, &c1, 0);
    gemv_case("fp8 2x3072x48 (two rows): cuBLASLt", &a2, &wt2, NULL, 1.0f, &c2, 0);
    xt_free(&a);
    xt_free(&w);
    xt_free(&a2);
    xt_free(&w2);
    xt_free(&c1);
    xt_free(&c2);
}

struct gemv_timed {
    const struct xt *a, *wt, *bias, *c;
};

static int gemv_call(pictor_backend *be, const void *ctx)
{
    const struct gemv_timed *t = ctx;

    return pictor_matmul(be, &t->a->g, &t->wt->g, &t->bias->g, 1.0f, (pictor_tensor *)&t->c->g);
}

/* FLUX's double-block modulation at full size: milliseconds per call and
 * the weight bytes per second (never asserted). */
static void test_gemv_timing(void)
{
    if (cross_emu_skip("timings"))
        return;
    if (!g_is_cuda) { /* the self-test's CPU stand-in has no GEMV kernel to time */
        test_skip_("the GEMV kernel's timing needs the CUDA backend");
        return;
    }
    const int64_t K = 3072, N = 18432;
    struct xt a = xt_fp8_rand(1, K, 741, 1.0f / 448.0f);
    struct xt w = xt_fp8_rand(N, K, 742, 1.0f / 448.0f);
    struct xt wt = xt_transpose(&w, 0, 1);
    struct xt bias = xt_rand(PICTOR_BF16, 1, (int64_t[]){ N }, 743, -1.0f, 1.0f);
    struct xt c = xt_rand(PICTOR_BF16, 2, (int64_t[]){ 1, N }, 744, 0.0f, 1.0f);
    struct gemv_timed t = { &a, &wt, &bias, &c };
    double ms = cross_time_ms("gemv timing", g_gpu, 20, gemv_call, &t);

    if (ms > 0)
        printf("# gemv f8_e4m3 [1, %lld] by [%lld, %lld] + bias -> bf16: %.4f ms/call, "
               "%.0f GB/s of weights\n",
               (long long)K, (long long)K, (long long)N, ms, (double)K * (double)N / ms / 1e6);
    xt_free(&a);
    xt_free(&w);
    xt_free(&bias);
    xt_free(&c);
}

int main(void)
{
    int rc = cross_setup("cross-gemv");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_gemv_matmul);
    RUN(test_gemv_linear);
    RUN(test_gemv_not_taken);
    RUN(test_gemv_timing);
    cross_teardown();
    TEST_MAIN_END();
}
