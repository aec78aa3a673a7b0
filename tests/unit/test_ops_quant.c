/*
 * tests/unit/test_ops_quant.c — dynamic per-row FP8 quantisation on the CPU
 * backend (pictor_quantize_rows, pictor_fp8_rows_view): the scales follow
 * the documented formula, every code is the RNE E4M3 of x * 448 / amax,
 * dequantised values are within E4M3's precision of x, edge rows (zero,
 * NaN, a single huge value), strided inputs, bad operands, and a linear on
 * a quantised activation and a per-channel quantised weight equal to the
 * same linear on their dequantised f32 values.
 */
#include <float.h>

#include "ops_test_util.h"

#define TEST_THREADS 2

static pictor_backend *be;

/* x [rows, K] f32 from vals; quantises into fresh y/scales (caller frees
 * y.data and scales.data). */
static int quantize(const pictor_tensor *x, pictor_tensor *y, pictor_tensor *scales)
{
    int64_t K = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / K;

    *y = pictor_tensor_make(tt_xmalloc((size_t)pictor_tensor_numel(x)), PICTOR_F8_E4M3,
                            x->ndim, x->shape);
    *scales = pictor_tensor_make(tt_xmalloc((size_t)rows * sizeof(float)), PICTOR_F32, 1,
                                 &rows);
    return pictor_quantize_rows(be, x, y, scales);
}

/* Row r of x (logical order) as f32. */
static void row_of(const pictor_tensor *x, int64_t r, float *out)
{
    int64_t K = x->shape[x->ndim - 1];
    double *all = tt_to_f64(x);

    for (int64_t k = 0; k < K; k++)
        out[k] = (float)all[r * K + k];
    free(all);
}

/* Checks y/scales against the formula for every row of x. */
static void check_rows(const char *what, const pictor_tensor *x, const pictor_tensor *y,
                       const pictor_tensor *scales)
{
    int64_t K = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / K;
    const uint8_t *codes = y->data;
    const float *s = scales->data;
    float *row = tt_xmalloc((size_t)K * sizeof(float));
    int bad_codes = 0, bad_err = 0;

    for (int64_t r = 0; r < rows; r++) {
        float amax = 0.0f;

        row_of(x, r, row);
        for (int64_t k = 0; k < K; k++)
            amax = fmaxf(amax, fabsf(row[k]));
        amax = fmaxf(amax, PICTOR_FP8_AMAX_FLOOR);
        CHECK(s[r] == amax / PICTOR_E4M3_MAX, "%s: row %lld scale %g, want %g", what,
              (long long)r, (double)s[r], (double)(amax / PICTOR_E4M3_MAX));
        for (int64_t k = 0; k < K; k++) {
            uint8_t want = pictor_f32_to_e4m3(row[k] * (PICTOR_E4M3_MAX / amax), false);
            float back = pictor_e4m3_to_f32(codes[r * K + k]) * s[r];
            /* half an E4M3 step: 2^-4 relative for normals, 2^-10 of the
             * scale (half the smallest subnormal step) below 2^-6 */
            float tol = fmaxf(fabsf(row[k]) * 0x1p-4f, s[r] * 0x1p-10f) * 1.0001f;

            bad_codes += codes[r * K + k] != want;
            bad_err += fabsf(back - row[k]) > tol;
        }
    }
    CHECK(bad_codes == 0, "%s: %d codes differ from e4m3(x * 448 / amax)", what, bad_codes);
    CHECK(bad_err == 0, "%s: %d values dequantise outside E4M3 precision", what, bad_err);
    free(row);
}

static void test_quantize_dtypes(void)
{
    static const int dts[] = { PICTOR_F32, PICTOR_BF16, PICTOR_F16 };
    int64_t shape[3] = { 2, 5, 96 };

    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        float vals[2 * 5 * 96];
        pictor_tensor x, y, sc;

        /* rows of very different magnitudes: 1e-3 .. 1e3 */
        test_fill_uniform(vals, 960, 40 + d, -1.0f, 1.0f);
        for (int r = 0; r < 10; r++)
            for (int k = 0; k < 96; k++)
                vals[r * 96 + k] *= powf(10.0f, (float)(r % 7) - 3.0f);
        x = tt_make(dts[d], 3, shape, vals, 0, 1.0f);
        CHECK(quantize(&x, &y, &sc) == PICTOR_OK, "%s: %s", pictor_dtype_name(dts[d]),
              pictor_backend_error(be));
        check_rows(pictor_dtype_name(dts[d]), &x, &y, &sc);
        tt_free(&x), tt_free(&y), tt_free(&sc);
    }
}

static void test_quantize_edge_rows(void)
{
    int64_t shape[2] = { 4, 16 };
    float vals[64] = { 0 };
    const float *s;
    const uint8_t *c;
    pictor_tensor x, y, sc;

    /* row 0 zeros; row 1 one huge value among tiny ones; row 2 a NaN;
     * row 3 subnormal-sized values relative to its amax */
    vals[16] = 3.0e4f;
    for (int k = 1; k < 16; k++)
        vals[16 + k] = 1e-3f * (float)k;
    vals[32 + 5] = NAN;
    vals[32 + 6] = 2.0f;
    vals[48] = 1.0f;
    for (int k = 1; k < 16; k++)
        vals[48 + k] = 1e-4f * (float)k;
    x = tt_make(PICTOR_F32, 2, shape, vals, 0, 1.0f);
    CHECK(quantize(&x, &y, &sc) == PICTOR_OK, "%s", pictor_backend_error(be));
    s = sc.data;
    c = y.data;
    CHECK(s[0] == PICTOR_FP8_AMAX_FLOOR / PICTOR_E4M3_MAX, "zero row scale %g", (double)s[0]);
    for (int k = 0; k < 16; k++)
        CHECK(c[k] == 0, "zero row code %d = 0x%02x", k, c[k]);
    CHECK(s[1] == 3.0e4f / PICTOR_E4M3_MAX, "huge row scale %g", (double)s[1]);
    CHECK(c[16] == 0x7e, "amax maps to 448 (0x7e), got 0x%02x", c[16]);
    CHECK(isnan(s[2]), "NaN row scale %g", (double)s[2]);
    CHECK((c[32 + 5] & 0x7f) == 0x7f, "NaN element code 0x%02x", c[32 + 5]);
    /* finite rows only: the NaN row is excluded from the formula check */
    {
        pictor_tensor x3 = pictor_tensor_slice(&x, 0, 3, 1);
        pictor_tensor y3 = pictor_tensor_slice(&y, 0, 3, 1);
        float s3 = s[3];
        pictor_tensor sc3 = pictor_tensor_make(&s3, PICTOR_F32, 1, (int64_t[]){ 1 });

        check_rows("subnormal codes", &x3, &y3, &sc3);
    }
    tt_free(&x), tt_free(&y), tt_free(&sc);
}

static void test_quantize_strided(void)
{
    int64_t shape[2] = { 48, 33 };
    pictor_tensor root = tt_rand(PICTOR_BF16, 2, shape, 77);
    pictor_tensor x = pictor_tensor_transpose(&root, 0, 1); /* [33, 48] strided */
    pictor_tensor y, sc;

    CHECK(quantize(&x, &y, &sc) == PICTOR_OK, "%s", pictor_backend_error(be));
    check_rows("transposed bf16", &x, &y, &sc);
    tt_free(&root), tt_free(&y), tt_free(&sc);
}

static void test_quantize_bad_operands(void)
{
    int64_t shape[2] = { 3, 8 }, three = 3, two = 2;
    pictor_tensor x = tt_rand(PICTOR_F32, 2, shape, 5);
    pictor_tensor y8 = tt_out(PICTOR_F8_E4M3, 2, shape);
    pictor_tensor yb = tt_out(PICTOR_BF16, 2, shape);
    pictor_tensor sc = tt_out(PICTOR_F32, 1, &three), sc2 = tt_out(PICTOR_F32, 1, &two);

    CHECK(pictor_quantize_rows(be, &x, &yb, &sc) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "f8_e4m3"),
          "bf16 y: %s", pictor_backend_error(be));
    CHECK(pictor_quantize_rows(be, &x, &y8, &sc2) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "scales"),
          "short scales: %s", pictor_backend_error(be));
    y8.scale = 0.5f;
    CHECK(pictor_quantize_rows(be, &x, &y8, &sc) == PICTOR_E_INVALID,
          "y with scale 0.5 must be refused");
    tt_free(&x), tt_free(&y8), tt_free(&yb), tt_free(&sc), tt_free(&sc2);
}

/* ref [M, N] = x [M, K] @ w [N, K]^T + bias in f64 (FP8 scales applied). */
static void linear_f64(const pictor_tensor *x, const pictor_tensor *w, const pictor_tensor *bias,
                       double *ref)
{
    int64_t M = x->shape[0], K = x->shape[1], N = w->shape[0];
    double *dx = tt_to_f64(x), *dw = tt_to_f64(w), *db = tt_to_f64(bias);

    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = db[j];

            for (int64_t k = 0; k < K; k++)
                s += dx[i * K + k] * dw[j * K + k];
            ref[i * N + j] = s;
        }
    free(dx), free(dw), free(db);
}

/* The FP8 linear of the model code: quantised x rows @ per-channel
 * quantised w^T + bias equals the f32 linear of the dequantised values. */
static void test_fp8_linear(void)
{
    int64_t M = 9, K = 64, N = 40, sx[2] = { M, K }, sw[2] = { N, K }, sy[2] = { M, N };
    pictor_tensor x = tt_rand(PICTOR_BF16, 2, sx, 11), w = tt_rand(PICTOR_F32, 2, sw, 12);
    pictor_tensor bias = tt_rand(PICTOR_F32, 1, &N, 13), y = tt_out(PICTOR_F32, 2, sy);
    pictor_tensor xq, xs, wq, ws, xv, wv;
    double *ref;
    double e, e_ref;

    for (int64_t i = 0; i < N * K; i++) /* output channels of different sizes */
        ((float *)w.data)[i] *= (float)(1 + i / K);
    CHECK(quantize(&x, &xq, &xs) == PICTOR_OK && quantize(&w, &wq, &ws) == PICTOR_OK,
          "quantize: %s", pictor_backend_error(be));
    xv = pictor_fp8_rows_view(&xq, &xs);
    wv = pictor_fp8_rows_view(&wq, &ws);
    CHECK(xv.ndim == 2 && xv.shape[0] == M && xv.row_scale == xs.data, "rows view");
    CHECK(pictor_linear(be, &xv, &wv, &bias, &y) == PICTOR_OK, "linear: %s",
          pictor_backend_error(be));
    ref = tt_xmalloc((size_t)(M * N) * sizeof(double));
    linear_f64(&xv, &wv, &bias, ref); /* dequantised values (row scales applied) */
    e = tt_rel_l2(&y, ref);
    CHECK(e <= 1e-5, "fp8 linear vs dequantised f32 linear: rel_l2 %g", e);
    /* and against the unquantised operands: E4M3's error, not more */
    linear_f64(&x, &w, &bias, ref);
    e_ref = tt_rel_l2(&y, ref);
    CHECK(e_ref > 1e-4 && e_ref < 0.06, "fp8 linear vs exact: rel_l2 %g (E4M3 ~0.03)", e_ref);
    printf("# fp8 linear %lldx%lld->%lld: rel_l2 vs unquantised %.4f\n", (long long)M,
           (long long)K, (long long)N, e_ref);
    free(ref);
    tt_free(&x), tt_free(&w), tt_free(&bias), tt_free(&y);
    tt_free(&xq), tt_free(&xs), tt_free(&wq), tt_free(&ws);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_quantize_dtypes);
    RUN(test_quantize_edge_rows);
    RUN(test_quantize_strided);
    RUN(test_quantize_bad_operands);
    RUN(test_fp8_linear);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
