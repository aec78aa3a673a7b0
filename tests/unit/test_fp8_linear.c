/*
 * tests/unit/test_fp8_linear.c — pictor_linear_fp8 (plugins/common): with a
 * per-channel E4M3 weight it quantises x per token and writes y through a
 * [rows, N] view — contiguous y, a strided token slice of a batch > 1
 * (through scratch), 1-D x, an x the caller quantised once — each equal to
 * the explicit sequence quantize_rows + linear on the rows view; with the
 * GELU epilogue too; a plain weight takes pictor_linear unchanged.
 */
#include "ops_test_util.h"
#include "pictor/fp8_linear.h"

static pictor_backend *be;

/* The explicit sequence on a contiguous copy of x into a contiguous y. */
static pictor_tensor reference(const pictor_tensor *x, const pictor_tensor *w,
                               const pictor_tensor *bias, int act, int64_t N)
{
    int64_t K = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / K, sy[2] = { rows, N };
    pictor_tensor xc = tt_out(PICTOR_F32, x->ndim, x->shape), q, sc;
    pictor_tensor y = tt_out(PICTOR_F32, 2, sy);

    pictor_copy(be, x, &xc);
    q = tt_out(PICTOR_F8_E4M3, x->ndim, x->shape);
    sc = tt_out(PICTOR_F32, 1, &rows);
    CHECK(pictor_quantize_rows(be, &xc, &q, &sc) == PICTOR_OK, "%s", pictor_backend_error(be));
    pictor_tensor a = pictor_fp8_rows_view(&q, &sc);
    int rc = act < 0 ? pictor_linear(be, &a, w, bias, &y)
                     : pictor_linear_act(be, &a, w, bias, (enum pictor_unary)act, &y);
    CHECK(rc == PICTOR_OK, "%s", pictor_backend_error(be));
    tt_free(&xc), tt_free(&q), tt_free(&sc);
    return y;
}

static void test_layouts(void)
{
    int64_t K = 32, N = 24, sw[2] = { N, K };
    pictor_tensor wf = tt_rand(PICTOR_F32, 2, sw, 1), bias = tt_rand(PICTOR_F32, 1, &N, 2);
    pictor_tensor w = tt_out(PICTOR_F8_E4M3, 2, sw), ws = tt_out(PICTOR_F32, 1, &N);
    CHECK(pictor_quantize_rows(be, &wf, &w, &ws) == PICTOR_OK, "weight");
    w = pictor_fp8_rows_view(&w, &ws);
    CHECK(pictor_weight_is_fp8(&w) && !pictor_weight_is_fp8(&wf), "fp8 weight detected");

    /* x [2, 7, K] into y = slice rows 3..9 of a [2, 12, N] buffer (strided) */
    int64_t sx[3] = { 2, 7, K }, sb[3] = { 2, 12, N };
    pictor_tensor x = tt_rand(PICTOR_BF16, 3, sx, 3), big = tt_out(PICTOR_F32, 3, sb);
    pictor_tensor ys = pictor_tensor_slice(&big, 1, 3, 7);
    pictor_tensor yc = tt_out(PICTOR_F32, 3, (int64_t[]){ 2, 7, N });
    static const int acts[2] = { -1, PICTOR_UNARY_GELU_TANH }; /* none, GELU */
    for (int ai = 0; ai < 2; ai++) {
        int act = acts[ai];
        pictor_tensor ref = reference(&x, &w, &bias, act, N);
        double *want = tt_to_f64(&ref);
        int rc1 = act < 0 ? pictor_linear_fp8(be, &x, &w, &bias, &yc)
                          : pictor_linear_fp8_act(be, &x, &w, &bias, (enum pictor_unary)act, &yc);
        int rc2 = act < 0 ? pictor_linear_fp8(be, &x, &w, &bias, &ys)
                          : pictor_linear_fp8_act(be, &x, &w, &bias, (enum pictor_unary)act, &ys);
        CHECK(rc1 == PICTOR_OK && rc2 == PICTOR_OK, "act %d: %s", act, pictor_backend_error(be));
        CHECK(tt_rel_l2(&yc, want) == 0, "contiguous y == the explicit sequence (act %d)", act);
        CHECK(tt_rel_l2(&ys, want) == 0, "strided batch slice y == the sequence (act %d)", act);
        free(want);
        tt_free(&ref);
    }
    /* x quantised once by the caller (the [rows, K] view) into the 3-D and
     * the strided y: the same values, no second quantisation */
    {
        int64_t rows = 14;
        pictor_tensor xq = tt_out(PICTOR_F8_E4M3, 3, sx), xs = tt_out(PICTOR_F32, 1, &rows);
        pictor_tensor ref = reference(&x, &w, &bias, -1, N);
        double *want = tt_to_f64(&ref);
        CHECK(pictor_quantize_rows(be, &x, &xq, &xs) == PICTOR_OK, "quantize x");
        pictor_tensor xv = pictor_fp8_rows_view(&xq, &xs);
        CHECK(pictor_input_is_fp8_rows(&xv) && !pictor_input_is_fp8_rows(&x), "rows view seen");
        CHECK(pictor_linear_fp8(be, &xv, &w, &bias, &yc) == PICTOR_OK &&
                  tt_rel_l2(&yc, want) == 0,
              "pre-quantised x, contiguous y: %s", pictor_backend_error(be));
        CHECK(pictor_linear_fp8(be, &xv, &w, &bias, &ys) == PICTOR_OK &&
                  tt_rel_l2(&ys, want) == 0,
              "pre-quantised x, strided y: %s", pictor_backend_error(be));
        pictor_tensor short_y = tt_out(PICTOR_F32, 2, (int64_t[]){ 3, N });
        CHECK(pictor_linear_fp8(be, &xv, &w, &bias, &short_y) == PICTOR_E_INVALID,
              "a y without the input's rows is refused");
        free(want);
        tt_free(&ref), tt_free(&xq), tt_free(&xs), tt_free(&short_y);
    }
    /* 1-D x */
    pictor_tensor x1 = tt_rand(PICTOR_F32, 1, &K, 4), y1 = tt_out(PICTOR_F32, 1, &N);
    pictor_tensor ref1 = reference(&x1, &w, &bias, -1, N);
    double *want1 = tt_to_f64(&ref1);
    CHECK(pictor_linear_fp8(be, &x1, &w, &bias, &y1) == PICTOR_OK && tt_rel_l2(&y1, want1) == 0,
          "1-D x: %s", pictor_backend_error(be));
    free(want1);
    /* a plain weight: pictor_linear exactly */
    pictor_tensor yp = tt_out(PICTOR_F32, 1, &N), yq = tt_out(PICTOR_F32, 1, &N);
    CHECK(pictor_linear_fp8(be, &x1, &wf, &bias, &yp) == PICTOR_OK &&
              pictor_linear(be, &x1, &wf, &bias, &yq) == PICTOR_OK &&
              memcmp(yp.data, yq.data, (size_t)N * 4) == 0,
          "plain weight: pictor_linear");
    tt_free(&x1), tt_free(&y1), tt_free(&ref1), tt_free(&yp), tt_free(&yq);
    tt_free(&x), tt_free(&big), tt_free(&yc), tt_free(&wf), tt_free(&bias);
    free(w.data);
    tt_free(&ws);
}

int main(void)
{
    be = pictor_backend_cpu_create(2);
    if (!be)
        return 1;
    RUN(test_layouts);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
