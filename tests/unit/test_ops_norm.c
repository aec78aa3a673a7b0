/*
 * tests/unit/test_ops_norm.c — the CPU backend's group_norm, layer_norm,
 * rms_norm and softmax against double formulas: with and without affine
 * parameters, the SiLU flag, odd sizes, strided (permuted) input, low
 * precision input/output, in place, and softmax rows holding -inf.
 */
#include "ops_test_util.h"

#define TEST_THREADS 2
#define TOL_F32 1e-5
/* bf16 output rounding: 2^-9 relative. */
#define TOL_BF16 4e-3

static pictor_backend *be;

/* Reference group norm over logical contiguous values xs of shape
 * [B, C, S...] (S = spatial numel). */
static double *ref_group_norm(const double *xs, int64_t B, int64_t C,
                              int64_t S, int G, double eps, const double *g,
                              const double *bt, bool silu)
{
    double *out = tt_xmalloc((size_t)(B * C * S) * sizeof(double));
    int64_t cpg = C / G;

    for (int64_t b = 0; b < B; b++)
        for (int gi = 0; gi < G; gi++) {
            const double *p = xs + (b * C + gi * cpg) * S;
            double *o = out + (b * C + gi * cpg) * S;
            double m = 0, v = 0;
            int64_t n = cpg * S;

            for (int64_t i = 0; i < n; i++)
                m += p[i];
            m /= n;
            for (int64_t i = 0; i < n; i++)
                v += (p[i] - m) * (p[i] - m);
            v /= n;
            for (int64_t i = 0; i < n; i++) {
                int64_t c = gi * cpg + i / S;
                double y = (p[i] - m) / sqrt(v + eps);
                if (g)
                    y *= g[c];
                if (bt)
                    y += bt[c];
                if (silu)
                    y = y / (1 + exp(-y));
                o[i] = y;
            }
        }
    return out;
}

static void test_group_norm(void)
{
    int64_t shape[4] = { 2, 12, 5, 7 }, store[4] = { 2, 5, 7, 12 };
    int64_t sc[1] = { 12 };
    int perm[4] = { 0, 3, 1, 2 };
    pictor_tensor gamma = tt_rand(PICTOR_F32, 1, sc, 1);
    pictor_tensor beta = tt_rand(PICTOR_BF16, 1, sc, 2);
    double *g = tt_to_f64(&gamma), *bt = tt_to_f64(&beta);

    for (int mode = 0; mode < 8; mode++) {
        bool affine = mode & 1, silu = mode & 2, strided = mode & 4;
        pictor_tensor x = strided
                              ? tt_rand_permuted(PICTOR_F32, 4, store, perm, 3)
                              : tt_rand(PICTOR_F32, 4, shape, 3);
        pictor_tensor y = tt_out(PICTOR_F32, 4, shape);
        double *xs = tt_to_f64(&x);
        double *ref = ref_group_norm(xs, 2, 12, 35, 3, 1e-6,
                                     affine ? g : NULL, affine ? bt : NULL,
                                     silu);
        int rc = pictor_group_norm(be, &x, 3, 1e-6f, affine ? &gamma : NULL,
                                   affine ? &beta : NULL, silu, &y);

        CHECK(rc == PICTOR_OK, "%s", pictor_backend_error(be));
        CHECK(tt_rel_l2(&y, ref) <= TOL_F32, "affine %d silu %d strided %d: "
              "rel_l2 %g", affine, silu, strided, tt_rel_l2(&y, ref));
        /* In place on x's own view. */
        rc = pictor_group_norm(be, &x, 3, 1e-6f, affine ? &gamma : NULL,
                               affine ? &beta : NULL, silu, &x);
        CHECK(rc == PICTOR_OK, "%s", pictor_backend_error(be));
        CHECK(tt_rel_l2(&x, ref) <= TOL_F32, "in place mode %d: rel_l2 %g",
              mode, tt_rel_l2(&x, ref));
        free(xs), free(ref);
        tt_free(&x), tt_free(&y);
    }
    /* [B, C] input (no spatial dims), one group per channel, bf16 out. */
    {
        int64_t s2[2] = { 3, 12 };
        pictor_tensor x = tt_rand(PICTOR_F32, 2, s2, 4);
        pictor_tensor y = tt_out(PICTOR_BF16, 2, s2);
        double *xs = tt_to_f64(&x);
        double *ref = ref_group_norm(xs, 3, 12, 1, 4, 1e-5, g, bt, false);

        CHECK(pictor_group_norm(be, &x, 4, 1e-5f, &gamma, &beta, false,
                                &y) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        CHECK(tt_rel_l2(&y, ref) <= TOL_BF16, "[B, C] bf16: rel_l2 %g",
              tt_rel_l2(&y, ref));
        free(xs), free(ref);
        tt_free(&x), tt_free(&y);
    }
    free(g), free(bt);
    tt_free(&gamma), tt_free(&beta);
}

enum row_kind { ROW_LAYER, ROW_RMS, ROW_SOFTMAX };

/* Reference of one row op over rows of D doubles. */
static double *ref_rows(enum row_kind kind, const double *xs, int64_t rows,
                        int64_t D, double eps, const double *g,
                        const double *bt)
{
    double *out = tt_xmalloc((size_t)(rows * D) * sizeof(double));

    for (int64_t r = 0; r < rows; r++) {
        const double *p = xs + r * D;
        double *o = out + r * D, m = 0, v = 0, mx = -INFINITY, s = 0;

        for (int64_t i = 0; i < D; i++) {
            m += p[i];
            v += p[i] * p[i];
            mx = p[i] > mx ? p[i] : mx;
        }
        m /= D;
        for (int64_t i = 0; i < D; i++)
            s += exp(p[i] - mx);
        double var = 0;
        for (int64_t i = 0; i < D; i++)
            var += (p[i] - m) * (p[i] - m);
        var /= D;
        for (int64_t i = 0; i < D; i++) {
            double y;
            if (kind == ROW_LAYER)
                y = (p[i] - m) / sqrt(var + eps);
            else if (kind == ROW_RMS)
                y = p[i] / sqrt(v / D + eps);
            else
                y = exp(p[i] - mx) / s;
            if (kind != ROW_SOFTMAX && g)
                y *= g[i];
            if (kind == ROW_LAYER && bt)
                y += bt[i];
            o[i] = y;
        }
    }
    return out;
}

static int run_row_op(enum row_kind kind, const pictor_tensor *x, double eps,
                      const pictor_tensor *g, const pictor_tensor *bt,
                      pictor_tensor *y)
{
    switch (kind) {
    case ROW_LAYER: return pictor_layer_norm(be, x, (float)eps, g, bt, y);
    case ROW_RMS: return pictor_rms_norm(be, x, (float)eps, g, y);
    default: return pictor_softmax(be, x, y);
    }
}

static void test_row_ops(void)
{
    static const char *names[] = { "layer_norm", "rms_norm", "softmax" };
    /* D = 1031 > CPU_BLOCK (1024) so rows span several load segments. */
    static const int64_t dims[] = { 1, 7, 128, 1031 };

    for (int kind = ROW_LAYER; kind <= ROW_SOFTMAX; kind++) {
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            int64_t D = dims[di], shape[3] = { 3, 5, D };
            int64_t store[3] = { 5, 3, D };
            int64_t sd[1] = { D };
            int perm[3] = { 1, 0, 2 };
            pictor_tensor g = tt_rand(PICTOR_F32, 1, sd, 7);
            pictor_tensor bt = tt_rand(PICTOR_F16, 1, sd, 8);
            double *gs = tt_to_f64(&g), *bs = tt_to_f64(&bt);

            for (int mode = 0; mode < 4; mode++) {
                bool affine = mode & 1, strided = mode & 2;
                pictor_tensor x =
                    strided ? tt_rand_permuted(PICTOR_F32, 3, store, perm, 9)
                            : tt_rand(PICTOR_F32, 3, shape, 9);
                pictor_tensor y = tt_out(PICTOR_F32, 3, shape);
                double *xs = tt_to_f64(&x);
                double *ref = ref_rows(kind, xs, 15, D, 1e-6,
                                       affine ? gs : NULL,
                                       affine ? bs : NULL);
                int rc = run_row_op(kind, &x, 1e-6, affine ? &g : NULL,
                                    affine ? &bt : NULL, &y);

                CHECK(rc == PICTOR_OK, "%s", pictor_backend_error(be));
                CHECK(tt_rel_l2(&y, ref) <= TOL_F32, "%s D=%lld affine %d "
                      "strided %d: rel_l2 %g", names[kind], (long long)D,
                      affine, strided, tt_rel_l2(&y, ref));
                rc = run_row_op(kind, &x, 1e-6, affine ? &g : NULL,
                                affine ? &bt : NULL, &x);
                CHECK(rc == PICTOR_OK, "%s", pictor_backend_error(be));
                CHECK(tt_rel_l2(&x, ref) <= TOL_F32, "%s D=%lld in place: "
                      "rel_l2 %g", names[kind], (long long)D,
                      tt_rel_l2(&x, ref));
                free(xs), free(ref);
                tt_free(&x), tt_free(&y);
            }
            free(gs), free(bs);
            tt_free(&g), tt_free(&bt);
        }
    }
}

static void test_low_precision_io(void)
{
    int64_t shape[2] = { 4, 65 };
    pictor_tensor x = tt_rand(PICTOR_BF16, 2, shape, 11);
    pictor_tensor y = tt_out(PICTOR_BF16, 2, shape);
    double *xs = tt_to_f64(&x);
    double *ref = ref_rows(ROW_LAYER, xs, 4, 65, 1e-5, NULL, NULL);

    CHECK(pictor_layer_norm(be, &x, 1e-5f, NULL, NULL, &y) == PICTOR_OK,
          "%s", pictor_backend_error(be));
    CHECK(tt_rel_l2(&y, ref) <= TOL_BF16, "bf16 layer_norm: rel_l2 %g",
          tt_rel_l2(&y, ref));
    free(ref);
    ref = ref_rows(ROW_RMS, xs, 4, 65, 1e-6, NULL, NULL);
    CHECK(pictor_rms_norm(be, &x, 1e-6f, NULL, &y) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    CHECK(tt_rel_l2(&y, ref) <= TOL_BF16, "bf16 rms_norm: rel_l2 %g",
          tt_rel_l2(&y, ref));
    free(ref), free(xs);
    tt_free(&x), tt_free(&y);
}

static void test_softmax_neg_inf(void)
{
    /* Row 0: some -inf entries; row 1: all but one -inf; row 2: plain. */
    float vals[3 * 5] = {
        1.0f, -INFINITY, 0.5f, -INFINITY, -2.0f,
        -INFINITY, -INFINITY, 3.0f, -INFINITY, -INFINITY,
        0.1f, 0.2f, 0.3f, 0.4f, 0.5f,
    };
    int64_t shape[2] = { 3, 5 };
    pictor_tensor x = tt_make(PICTOR_F32, 2, shape, vals, 0, 1.0f);
    pictor_tensor y = tt_out(PICTOR_F32, 2, shape);
    double xs[15], *ref;
    const float *py = y.data;

    for (int i = 0; i < 15; i++)
        xs[i] = vals[i];
    ref = ref_rows(ROW_SOFTMAX, xs, 3, 5, 0, NULL, NULL);
    CHECK(pictor_softmax(be, &x, &y) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    CHECK(tt_rel_l2(&y, ref) <= TOL_F32, "softmax with -inf: rel_l2 %g",
          tt_rel_l2(&y, ref));
    CHECK(py[1] == 0.0f && py[3] == 0.0f, "-inf entries give exactly 0");
    CHECK(py[7] == 1.0f, "single finite entry gives 1, got %g", py[7]);
    free(ref);
    tt_free(&x), tt_free(&y);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_group_norm);
    RUN(test_row_ops);
    RUN(test_low_precision_io);
    RUN(test_softmax_neg_inf);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
