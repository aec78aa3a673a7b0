/*
 * tests/unit/test_ops_matmul.c — the CPU backend's matmul (and linear on
 * top of it) against a naive triple loop in double: odd sizes, transposed
 * operands, batch broadcasting, bias and alpha, low-precision and FP8
 * weights with scale and row_scale, strided / low-precision outputs, and a
 * 512^3 timing line (CPU, informational).
 */
#include <time.h>

#include "../../kernels/cpu/cpu_internal.h"
#include "ops_test_util.h"

/* More threads than cores is fine: it exercises the pool's chunking. */
#define TEST_THREADS 2
/* f32 against a double reference (the brief's tolerance). */
#define TOL_F32 1e-5

static pictor_backend *be;

/* ref[..., M, N] = alpha * a @ b + bias with NumPy batch broadcasting over
 * c's batch dims (a, b read through tt_get: rounding and scales included). */
static double *ref_matmul(const pictor_tensor *a, const pictor_tensor *b,
                          const pictor_tensor *bias, double alpha,
                          const pictor_tensor *c)
{
    int nb = c->ndim - 2;
    int64_t M = c->shape[nb], N = c->shape[nb + 1], K = a->shape[a->ndim - 1];
    int64_t batch = tt_numel(nb, c->shape);
    double *out = tt_xmalloc((size_t)(batch * M * N) * sizeof(double));

    for (int64_t t = 0; t < batch; t++) {
        int64_t cidx[PICTOR_MAX_DIMS], ia[PICTOR_MAX_DIMS] = { 0 };
        int64_t ib[PICTOR_MAX_DIMS] = { 0 }, rem = t;

        for (int d = nb - 1; d >= 0; d--) {
            cidx[d] = rem % c->shape[d];
            rem /= c->shape[d];
        }
        for (int d = 0; d < a->ndim - 2; d++) {
            int cd = d + nb - (a->ndim - 2);
            ia[d] = a->shape[d] == 1 ? 0 : cidx[cd];
        }
        for (int d = 0; d < b->ndim - 2; d++) {
            int cd = d + nb - (b->ndim - 2);
            ib[d] = b->shape[d] == 1 ? 0 : cidx[cd];
        }
        for (int64_t i = 0; i < M; i++) {
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) {
                    ia[a->ndim - 2] = i, ia[a->ndim - 1] = k;
                    ib[b->ndim - 2] = k, ib[b->ndim - 1] = j;
                    s += tt_get(a, ia) * tt_get(b, ib);
                }
                s *= alpha;
                if (bias)
                    s += tt_get(bias, &j);
                out[(t * M + i) * N + j] = s;
            }
        }
    }
    return out;
}

/* Runs matmul and compares; returns rel_l2 (or -1 on a failed call). */
static double check_matmul(const pictor_tensor *a, const pictor_tensor *b,
                           const pictor_tensor *bias, float alpha,
                           pictor_tensor *c)
{
    double *ref, err;
    int rc = pictor_matmul(be, a, b, bias, alpha, c);

    CHECK(rc == PICTOR_OK, "matmul failed: %s", pictor_backend_error(be));
    if (rc)
        return -1;
    ref = ref_matmul(a, b, bias, alpha, c);
    err = tt_rel_l2(c, ref);
    free(ref);
    return err;
}

static void test_matmul_odd_sizes(void)
{
    static const int64_t sizes[][3] = {
        { 1, 1, 1 },   { 1, 7, 33 },   { 7, 1, 65 },  { 33, 65, 7 },
        { 65, 33, 1 }, { 129, 7, 33 }, { 7, 129, 65 }, { 65, 65, 129 },
        { 129, 129, 129 }, { 1, 129, 7 }, { 33, 33, 33 }, { 7, 7, 7 },
    };

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t M = sizes[s][0], K = sizes[s][1], N = sizes[s][2];
        int64_t sa[2] = { M, K }, sb[2] = { K, N }, sc[2] = { M, N };
        pictor_tensor a = tt_rand(PICTOR_F32, 2, sa, 10 + s);
        pictor_tensor b = tt_rand(PICTOR_F32, 2, sb, 20 + s);
        pictor_tensor c = tt_out(PICTOR_F32, 2, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "M=%lld K=%lld N=%lld: rel_l2 %g",
              (long long)M, (long long)K, (long long)N, e);
        tt_free(&a), tt_free(&b), tt_free(&c);
    }
}

static void test_matmul_transposed(void)
{
    int64_t M = 65, K = 33, N = 129;
    int64_t sa[2] = { M, K }, sat[2] = { K, M }, sb[2] = { K, N };
    int64_t sbt[2] = { N, K }, sc[2] = { M, N };
    int perm[2] = { 1, 0 };

    for (int mode = 1; mode < 4; mode++) {
        bool ta = mode & 1, tb = mode & 2;
        pictor_tensor a = ta ? tt_rand_permuted(PICTOR_F32, 2, sat, perm, 3)
                             : tt_rand(PICTOR_F32, 2, sa, 3);
        pictor_tensor b = tb ? tt_rand_permuted(PICTOR_F32, 2, sbt, perm, 4)
                             : tt_rand(PICTOR_F32, 2, sb, 4);
        pictor_tensor c = tt_out(PICTOR_F32, 2, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "transpose a=%d b=%d: rel_l2 %g", ta,
              tb, e);
        tt_free(&a), tt_free(&b), tt_free(&c);
    }
}

static void test_matmul_batch_broadcast(void)
{
    int64_t M = 7, K = 33, N = 65;
    /* [2, 3, M, K] @ [K, N] */
    {
        int64_t sa[4] = { 2, 3, M, K }, sb[2] = { K, N };
        int64_t sc[4] = { 2, 3, M, N };
        pictor_tensor a = tt_rand(PICTOR_F32, 4, sa, 5);
        pictor_tensor b = tt_rand(PICTOR_F32, 2, sb, 6);
        pictor_tensor c = tt_out(PICTOR_F32, 4, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "[2,3,M,K]@[K,N]: rel_l2 %g", e);
        tt_free(&a), tt_free(&b), tt_free(&c);
    }
    /* [2, 1, M, K] @ [1, 3, K, N] */
    {
        int64_t sa[4] = { 2, 1, M, K }, sb[4] = { 1, 3, K, N };
        int64_t sc[4] = { 2, 3, M, N };
        pictor_tensor a = tt_rand(PICTOR_F32, 4, sa, 7);
        pictor_tensor b = tt_rand(PICTOR_F32, 4, sb, 8);
        pictor_tensor c = tt_out(PICTOR_F32, 4, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "[2,1,..]@[1,3,..]: rel_l2 %g", e);
        tt_free(&a), tt_free(&b), tt_free(&c);
    }
    /* [3, K, N] broadcast against a [2, 1, M, K] */
    {
        int64_t sa[4] = { 2, 1, M, K }, sb[3] = { 3, K, N };
        int64_t sc[4] = { 2, 3, M, N };
        pictor_tensor a = tt_rand(PICTOR_F32, 4, sa, 9);
        pictor_tensor b = tt_rand(PICTOR_F32, 3, sb, 10);
        pictor_tensor c = tt_out(PICTOR_F32, 4, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "[2,1,..]@[3,..]: rel_l2 %g", e);
        tt_free(&a), tt_free(&b), tt_free(&c);
    }
}

static void test_matmul_bias_alpha(void)
{
    int64_t M = 33, K = 65, N = 7;
    int64_t sa[3] = { 2, M, K }, sb[2] = { K, N }, sbias[1] = { N };
    int64_t sc[3] = { 2, M, N };
    pictor_tensor a = tt_rand(PICTOR_F32, 3, sa, 11);
    pictor_tensor b = tt_rand(PICTOR_F32, 2, sb, 12);
    pictor_tensor bias = tt_rand(PICTOR_BF16, 1, sbias, 13);
    pictor_tensor c = tt_out(PICTOR_F32, 3, sc);
    double e = check_matmul(&a, &b, &bias, 0.37f, &c);

    CHECK(e >= 0 && e <= TOL_F32, "bias + alpha: rel_l2 %g", e);
    /* K larger than one K block (256) so later blocks accumulate. */
    {
        int64_t sa2[2] = { 9, 600 }, sb2[2] = { 600, 7 }, sc2[2] = { 9, 7 };
        pictor_tensor a2 = tt_rand(PICTOR_F32, 2, sa2, 14);
        pictor_tensor b2 = tt_rand(PICTOR_F32, 2, sb2, 15);
        pictor_tensor c2 = tt_out(PICTOR_F32, 2, sc2);

        e = check_matmul(&a2, &b2, &bias, -2.0f, &c2);
        CHECK(e >= 0 && e <= TOL_F32, "K=600 bias + alpha: rel_l2 %g", e);
        tt_free(&a2), tt_free(&b2), tt_free(&c2);
    }
    /* K == 0: c = bias. */
    {
        int64_t sa0[2] = { 3, 0 }, sb0[2] = { 0, 7 }, sc0[2] = { 3, 7 };
        pictor_tensor a0 = tt_rand(PICTOR_F32, 2, sa0, 1);
        pictor_tensor b0 = tt_rand(PICTOR_F32, 2, sb0, 1);
        pictor_tensor c0 = tt_out(PICTOR_F32, 2, sc0);

        e = check_matmul(&a0, &b0, &bias, 1.0f, &c0);
        CHECK(e == 0, "K=0 gives the bias: rel_l2 %g", e);
        tt_free(&a0), tt_free(&b0), tt_free(&c0);
    }
    tt_free(&a), tt_free(&b), tt_free(&bias), tt_free(&c);
}

static void test_matmul_low_precision_weights(void)
{
    int64_t M = 33, K = 129, N = 65;
    int64_t sa[2] = { M, K }, sb[2] = { K, N }, sbt[2] = { N, K };
    int64_t sc[2] = { M, N };
    int dtypes[2] = { PICTOR_BF16, PICTOR_F16 };
    int perm[2] = { 1, 0 };

    for (int d = 0; d < 2; d++) {
        pictor_tensor a = tt_rand(PICTOR_F32, 2, sa, 16);
        pictor_tensor b = tt_rand(dtypes[d], 2, sb, 17);
        pictor_tensor bt = tt_rand_permuted(dtypes[d], 2, sbt, perm, 18);
        pictor_tensor c = tt_out(PICTOR_F32, 2, sc);
        double e = check_matmul(&a, &b, NULL, 1.0f, &c);

        CHECK(e >= 0 && e <= TOL_F32, "%s weights: rel_l2 %g",
              pictor_dtype_name(dtypes[d]), e);
        e = check_matmul(&a, &bt, NULL, 1.0f, &c);
        CHECK(e >= 0 && e <= TOL_F32, "%s transposed weights: rel_l2 %g",
              pictor_dtype_name(dtypes[d]), e);
        tt_free(&a), tt_free(&b), tt_free(&bt), tt_free(&c);
    }
}

static void test_matmul_fp8_weights(void)
{
    int64_t M = 7, K = 65, N = 33;
    int64_t sa[2] = { M, K }, sb[2] = { K, N }, sw[2] = { N, K };
    int64_t sc[2] = { M, N }, sbias[1] = { N };
    float rs_k[65], rs_n[33];
    pictor_tensor a = tt_rand(PICTOR_F32, 2, sa, 19);
    pictor_tensor bias = tt_rand(PICTOR_F32, 1, sbias, 20);
    pictor_tensor c = tt_out(PICTOR_F32, 2, sc);
    double e;

    for (int i = 0; i < 65; i++)
        rs_k[i] = 0.5f + 0.01f * (float)i;
    for (int i = 0; i < 33; i++)
        rs_n[i] = 2.0f - 0.03f * (float)i;
    for (int f = 0; f < 2; f++) {
        int dt = f ? PICTOR_F8_E5M2 : PICTOR_F8_E4M3;
        /* Weights scaled up by 1/scale into the FP8 range. */
        pictor_tensor b = tt_make(dt, 2, sb, NULL, 21, 0.01f);
        pictor_tensor w = tt_make(dt, 2, sw, NULL, 22, 0.02f);
        double *ref;

        e = check_matmul(&a, &b, NULL, 1.0f, &c);
        CHECK(e >= 0 && e <= TOL_F32, "%s scale: rel_l2 %g",
              pictor_dtype_name(dt), e);
        b.row_scale = rs_k; /* per row of dim 0 (K) of b */
        e = check_matmul(&a, &b, &bias, 1.0f, &c);
        CHECK(e >= 0 && e <= TOL_F32, "%s row_scale: rel_l2 %g",
              pictor_dtype_name(dt), e);

        /* linear: y = a @ w^T + bias, w [N, K] with per-output row_scale */
        w.row_scale = rs_n;
        CHECK(pictor_linear(be, &a, &w, &bias, &c) == PICTOR_OK,
              "linear: %s", pictor_backend_error(be));
        {
            pictor_tensor wt = w;
            /* reference via an explicit transposed read of w */
            int64_t idx[2];
            ref = tt_xmalloc((size_t)(M * N) * sizeof(double));
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double s = 0;
                    for (int64_t k = 0; k < K; k++) {
                        int64_t ia[2] = { i, k };
                        idx[0] = j, idx[1] = k;
                        s += tt_get(&a, ia) * tt_get(&wt, idx);
                    }
                    ref[i * N + j] = s + tt_get(&bias, &j);
                }
            e = tt_rel_l2(&c, ref);
            free(ref);
        }
        CHECK(e <= TOL_F32, "%s linear with row_scale: rel_l2 %g",
              pictor_dtype_name(dt), e);
        tt_free(&b), tt_free(&w);
    }
    tt_free(&a), tt_free(&bias), tt_free(&c);
}

static void test_matmul_strided_and_low_precision_out(void)
{
    int64_t M = 33, K = 17, N = 65;
    int64_t sa[2] = { M, K }, sb[2] = { K, N }, sct[2] = { N, M };
    int64_t sc[2] = { M, N };
    int perm[2] = { 1, 0 };
    pictor_tensor a = tt_rand(PICTOR_F32, 2, sa, 23);
    pictor_tensor b = tt_rand(PICTOR_F32, 2, sb, 24);
    pictor_tensor ct = tt_rand_permuted(PICTOR_F32, 2, sct, perm, 25);
    pictor_tensor cb = tt_out(PICTOR_BF16, 2, sc);
    double e = check_matmul(&a, &b, NULL, 1.0f, &ct);

    CHECK(e >= 0 && e <= TOL_F32, "transposed c: rel_l2 %g", e);
    /* bf16 output: within bf16 rounding (2^-9 relative). */
    e = check_matmul(&a, &b, NULL, 1.0f, &cb);
    CHECK(e >= 0 && e <= 4e-3, "bf16 c: rel_l2 %g", e);
    tt_free(&a), tt_free(&b), tt_free(&ct), tt_free(&cb);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 512^3 f32: timing printed (not asserted: boxes differ), result checked on
 * sampled entries against double dot products. */
static void test_matmul_512_timing(void)
{
    enum { S = 512, RUNS = 3, SAMPLES = 64 };
    int64_t sh[2] = { S, S };
    pictor_tensor a = tt_rand(PICTOR_F32, 2, sh, 26);
    pictor_tensor b = tt_rand(PICTOR_F32, 2, sh, 27);
    pictor_tensor c = tt_out(PICTOR_F32, 2, sh);
    const float *pa = a.data, *pb = b.data, *pc = c.data;
    double best = INFINITY, worst = 0;

    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ms();
        CHECK(pictor_matmul(be, &a, &b, NULL, 1.0f, &c) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        double dt = now_ms() - t0;
        best = dt < best ? dt : best;
    }
    for (int s = 0; s < SAMPLES; s++) {
        int64_t i = (s * 37) % S, j = (s * 101 + 5) % S;
        double ref = 0;
        for (int64_t k = 0; k < S; k++)
            ref += (double)pa[i * S + k] * pb[k * S + j];
        double d = fabs(pc[i * S + j] - ref);
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-4, "512^3 sampled max abs error %g", worst);
    printf("# matmul 512x512x512 f32: best of %d %.2f ms (%d threads, "
           "CPU)\n", RUNS, best, TEST_THREADS);
    tt_free(&a), tt_free(&b), tt_free(&c);
}

/* linear_act: the activation epilogue equals linear then the unary op —
 * bit for bit at f32 (the same f32 operations), within one rounding at
 * bf16 — with a plain and a per-channel FP8 weight; an unknown activation
 * is refused. */
static void test_linear_act(void)
{
    int64_t M = 5, K = 24, N = 19, sx[2] = { M, K }, sw[2] = { N, K }, sy[2] = { M, N };
    pictor_tensor x = tt_rand(PICTOR_F32, 2, sx, 61), bias = tt_rand(PICTOR_F32, 1, &N, 62);
    float rs[19];

    for (int i = 0; i < 19; i++)
        rs[i] = 0.25f + 0.1f * (float)i;
    for (int f = 0; f < 2; f++) {
        pictor_tensor w = f ? tt_make(PICTOR_F8_E4M3, 2, sw, NULL, 63, 1.0f / 64)
                            : tt_rand(PICTOR_F32, 2, sw, 63);
        const char *what = f ? "fp8 weight" : "f32 weight";

        if (f)
            w.row_scale = rs;
        for (int d = 0; d < 2; d++) {
            int dt = d ? PICTOR_BF16 : PICTOR_F32;
            pictor_tensor fused = tt_out(dt, 2, sy), comp = tt_out(dt, 2, sy);
            double *want;
            double e;

            CHECK(pictor_linear_act(be, &x, &w, &bias, PICTOR_UNARY_GELU_TANH, &fused) ==
                      PICTOR_OK,
                  "%s: %s", what, pictor_backend_error(be));
            CHECK(pictor_linear(be, &x, &w, &bias, &comp) == PICTOR_OK &&
                      pictor_unary(be, PICTOR_UNARY_GELU_TANH, &comp, &comp) == PICTOR_OK,
                  "composition: %s", pictor_backend_error(be));
            want = tt_to_f64(&comp);
            e = tt_rel_l2(&fused, want);
            if (dt == PICTOR_F32)
                CHECK(memcmp(fused.data, comp.data, (size_t)(M * N) * 4) == 0,
                      "%s f32: fused == linear + gelu bit for bit (rel_l2 %g)", what, e);
            else
                CHECK(e <= 8e-3, "%s bf16: rel_l2 %g", what, e);
            free(want);
            tt_free(&fused), tt_free(&comp);
        }
        tt_free(&w);
    }
    {
        pictor_tensor w = tt_rand(PICTOR_F32, 2, sw, 64), y = tt_out(PICTOR_F32, 2, sy);
        CHECK(pictor_linear_act(be, &x, &w, NULL, (enum pictor_unary)99, &y) ==
                      PICTOR_E_INVALID &&
                  strstr(pictor_backend_error(be), "activation"),
              "unknown activation refused: %s", pictor_backend_error(be));
        tt_free(&w), tt_free(&y);
    }
    tt_free(&x), tt_free(&bias);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_matmul_odd_sizes);
    RUN(test_matmul_transposed);
    RUN(test_matmul_batch_broadcast);
    RUN(test_matmul_bias_alpha);
    RUN(test_matmul_low_precision_weights);
    RUN(test_matmul_fp8_weights);
    RUN(test_linear_act);
    RUN(test_matmul_strided_and_low_precision_out);
    RUN(test_matmul_512_timing);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
