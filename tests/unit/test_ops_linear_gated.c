/*
 * tests/unit/test_ops_linear_gated.c — the gated residual linear on the CPU
 * backend: pictor_linear_gated (the matmul op with a gate, pictor/ops.h)
 * and pictor_linear_fp8_gated (pictor/fp8_linear.h).
 *
 *   - equal, byte for byte, to the composition it fuses: pictor_linear into
 *     an f32 scratch, then pictor_gated_add (the same f32 operations), and
 *     within f32 rounding of a double reference y0 + gate * (x w^T + b);
 *   - FLUX's layouts: y a token slice of the residual stream h [B, N, D]
 *     (strided when B = 2), the gate a [B, 1, D] chunk view of a
 *     modulation tensor [B, 6D] (strided), batch 1 and 2; also a [D] and a
 *     [1] gate, 1-D x, K = 0 (y += gate * bias), per-channel FP8 weights
 *     with per-token FP8 x (pre-quantised rows views too);
 *   - pictor_linear_fp8_gated: FP8 weights split per batch item where the
 *     gate or y's strides demand it, each piece equal to quantize_rows +
 *     linear into f32 + gated_add; a plain weight gives the unfused layer
 *     (linear into scratch of x's dtype, then gated_add);
 *   - bad operands refused with messages naming the operand;
 *   - a gated linear recorded in a CPU graph replays like direct calls
 *     (the gate is one of the op's listed tensors).
 */
#include "ops_test_util.h"
#include "pictor/fp8_linear.h"

static pictor_backend *be;

/* Relative error a double reference of f32 sums is held to. */
#define TOL_F32 1e-5

/* Total bytes of a contiguous root's storage. */
static size_t bytes_of(const pictor_tensor *root)
{
    return (size_t)pictor_tensor_numel(root) * pictor_dtype_size(root->dtype);
}

/* y0 + gate * (x @ w^T + bias) in double, in y's flat order; y0 the
 * values of y before the call (same order). x's rows follow y's leading
 * dims (x [..., K] or a [rows, K] rows view). */
static double *ref_gated(const pictor_tensor *x, const pictor_tensor *w,
                         const pictor_tensor *bias, const pictor_tensor *gate,
                         const pictor_tensor *y, const double *y0)
{
    int64_t N = w->shape[0], K = w->shape[1], n = pictor_tensor_numel(y);
    double *out = tt_xmalloc((size_t)n * sizeof(double));
    int lead = y->ndim - gate->ndim;

    for (int64_t i = 0; i < n; i++) {
        int64_t r = i / N, j = i % N, xi[PICTOR_MAX_DIMS] = { 0 }, gi[PICTOR_MAX_DIMS] = { 0 };
        int64_t rem = r, yi[PICTOR_MAX_DIMS], irem = i, wi[2];
        double s = 0;

        for (int d = x->ndim - 2; d >= 0; d--) {
            xi[d] = rem % x->shape[d];
            rem /= x->shape[d];
        }
        for (int64_t k = 0; k < K; k++) {
            xi[x->ndim - 1] = k;
            wi[0] = j, wi[1] = k;
            s += tt_get(x, xi) * tt_get(w, wi);
        }
        if (bias)
            s += tt_get(bias, &j);
        for (int d = y->ndim - 1; d >= 0; d--) {
            yi[d] = irem % y->shape[d];
            irem /= y->shape[d];
        }
        for (int d = 0; d < gate->ndim; d++)
            gi[d] = gate->shape[d] == 1 ? 0 : yi[d + lead];
        out[i] = y0[i] + tt_get(gate, gi) * s;
    }
    return out;
}

/* The unfused layer at f32: pictor_linear into f32 scratch of y's rows,
 * then pictor_gated_add into y. */
static int composed(const pictor_tensor *x, const pictor_tensor *w, const pictor_tensor *bias,
                    const pictor_tensor *gate, pictor_tensor *y)
{
    int64_t N = w->shape[0], rows = pictor_tensor_numel(y) / N, s2[2] = { rows, N };
    pictor_tensor tmp = tt_out(PICTOR_F32, y->ndim, y->shape), lin = tmp;
    int rc = PICTOR_OK;

    if (x->ndim != y->ndim) /* a [rows, K] rows view x: write tmp as [rows, N] */
        rc = pictor_tensor_reshape(&tmp, 2, s2, &lin);
    if (rc == PICTOR_OK && (rc = pictor_linear(be, x, w, bias, &lin)) == PICTOR_OK)
        rc = pictor_gated_add(be, y, &tmp, gate);
    tt_free(&tmp);
    return rc;
}

/* One layout: x, w, bias, gate against y (a view of root `store`): the
 * fused call (fn) equals the composition byte for byte, and the double
 * reference to TOL_F32; y must change. */
typedef int (*gated_fn)(pictor_backend *b, const pictor_tensor *x, const pictor_tensor *w,
                        const pictor_tensor *bias, const pictor_tensor *gate, pictor_tensor *y);

static void check_layout(const char *what, gated_fn fn, const pictor_tensor *x,
                         const pictor_tensor *w, const pictor_tensor *bias,
                         const pictor_tensor *gate, pictor_tensor *y, pictor_tensor *store)
{
    size_t nb = bytes_of(store);
    char *saved = tt_xmalloc(nb), *fused = tt_xmalloc(nb);
    double *y0 = tt_to_f64(y), *ref;
    int rc;

    memcpy(saved, store->data, nb);
    ref = ref_gated(x, w, bias, gate, y, y0);
    rc = fn(be, x, w, bias, gate, y);
    CHECK(rc == PICTOR_OK, "%s: fused: %s", what, pictor_backend_error(be));
    memcpy(fused, store->data, nb);
    CHECK(memcmp(fused, saved, nb) != 0, "%s: y unchanged", what);
    double err = tt_rel_l2(y, ref);
    CHECK(err <= TOL_F32, "%s: rel_l2 %.3g against the double reference", what, err);
    memcpy(store->data, saved, nb);
    rc = composed(x, w, bias, gate, y);
    CHECK(rc == PICTOR_OK, "%s: composition: %s", what, pictor_backend_error(be));
    CHECK(memcmp(fused, store->data, nb) == 0, "%s: fused != linear in f32 + gated_add", what);
    memcpy(store->data, fused, nb);
    free(saved), free(fused), free(y0), free(ref);
}

/* A per-channel E4M3 copy of weight wf (storage owned by *codes, *scales). */
static pictor_tensor fp8_weight(const pictor_tensor *wf, pictor_tensor *codes,
                                pictor_tensor *scales)
{
    int64_t N = wf->shape[0];

    *codes = tt_out(PICTOR_F8_E4M3, 2, wf->shape);
    *scales = tt_out(PICTOR_F32, 1, &N);
    CHECK(pictor_quantize_rows(be, wf, codes, scales) == PICTOR_OK, "quantize w: %s",
          pictor_backend_error(be));
    return pictor_fp8_rows_view(codes, scales);
}

/* FLUX's shapes, small: D = 24 channels, K = 32 inputs, text T = 3 and
 * image L = 5 tokens; h [B, T + L, D] f32, modulation [B, 6D] bf16. */
enum { K_IN = 32, D_OUT = 24, T_TOK = 3, L_TOK = 5 };

struct flux_set {
    pictor_tensor h, mod, x, gate, img; /* img: h's image rows */
};

static struct flux_set flux_set(int64_t B, uint64_t seed)
{
    struct flux_set f;

    f.h = tt_range(PICTOR_F32, 3, (int64_t[]){ B, T_TOK + L_TOK, D_OUT }, seed, -3.0f, 3.0f);
    f.mod = tt_rand(PICTOR_BF16, 2, (int64_t[]){ B, 6 * D_OUT }, seed + 1);
    f.x = tt_rand(PICTOR_BF16, 3, (int64_t[]){ B, L_TOK, K_IN }, seed + 2);
    f.gate = pictor_tensor_slice(&f.mod, 1, 2 * D_OUT, D_OUT); /* gate_msa */
    f.gate = pictor_tensor_unsqueeze(&f.gate, 1);               /* [B, 1, D] */
    f.img = pictor_tensor_slice(&f.h, 1, T_TOK, L_TOK);
    return f;
}

static void flux_free(struct flux_set *f)
{
    tt_free(&f->h), tt_free(&f->mod), tt_free(&f->x);
}

static void test_op_flux_layouts(void)
{
    int64_t sw[2] = { D_OUT, K_IN }, N = D_OUT;
    pictor_tensor wf = tt_rand(PICTOR_F32, 2, sw, 11), bias = tt_rand(PICTOR_F32, 1, &N, 12);
    pictor_tensor wq, ws, w8 = fp8_weight(&wf, &wq, &ws);
    char what[96];

    for (int64_t B = 1; B <= 2; B++) {
        struct flux_set f = flux_set(B, 20 + (uint64_t)B);

        snprintf(what, sizeof what, "B=%lld [B,1,D] gate, f32 w", (long long)B);
        check_layout(what, pictor_linear_gated, &f.x, &wf, &bias, &f.gate, &f.img, &f.h);
        snprintf(what, sizeof what, "B=%lld [B,1,D] gate, fp8 w", (long long)B);
        check_layout(what, pictor_linear_gated, &f.x, &w8, &bias, &f.gate, &f.img, &f.h);
        /* the whole stream with one [D] gate, no bias */
        pictor_tensor xall = tt_rand(PICTOR_F32, 3, (int64_t[]){ B, T_TOK + L_TOK, K_IN }, 5);
        pictor_tensor g1 = pictor_tensor_slice(&f.mod, 0, 0, 1);
        g1 = pictor_tensor_slice(&g1, 1, 0, D_OUT);
        g1.ndim = 1, g1.shape[0] = D_OUT, g1.stride[0] = 1;
        snprintf(what, sizeof what, "B=%lld [D] gate, whole stream", (long long)B);
        check_layout(what, pictor_linear_gated, &xall, &w8, NULL, &g1, &f.h, &f.h);
        tt_free(&xall);
        flux_free(&f);
    }
    tt_free(&wf), tt_free(&bias), tt_free(&wq), tt_free(&ws);
}

static void test_op_edges(void)
{
    int64_t N = 16, K = 8, sw[2] = { N, K };
    pictor_tensor w = tt_rand(PICTOR_BF16, 2, sw, 31), bias = tt_rand(PICTOR_BF16, 1, &N, 32);
    pictor_tensor x1 = tt_rand(PICTOR_F32, 1, &K, 33), y1 = tt_rand(PICTOR_F32, 1, &N, 34);
    pictor_tensor g = tt_rand(PICTOR_F16, 1, &N, 35);
    pictor_tensor gs = tt_rand(PICTOR_F32, 1, (int64_t[]){ 1 }, 36);

    check_layout("1-D x, [N] f16 gate", pictor_linear_gated, &x1, &w, &bias, &g, &y1, &y1);
    check_layout("1-D x, [1] gate", pictor_linear_gated, &x1, &w, &bias, &gs, &y1, &y1);
    /* K = 0: y += gate * bias */
    int64_t s0[2] = { 3, 0 }, sw0[2] = { N, 0 };
    pictor_tensor x0 = tt_rand(PICTOR_F32, 2, s0, 37), w0 = tt_rand(PICTOR_F32, 2, sw0, 38);
    pictor_tensor y0 = tt_rand(PICTOR_F32, 2, (int64_t[]){ 3, N }, 39);
    check_layout("K = 0", pictor_linear_gated, &x0, &w0, &bias, &g, &y0, &y0);
    tt_free(&w), tt_free(&bias), tt_free(&x1), tt_free(&y1), tt_free(&g), tt_free(&gs);
    tt_free(&x0), tt_free(&w0), tt_free(&y0);
}

/* FP8 x quantised by the caller: the rows view into a 2-D slice of h. */
static void test_op_fp8_rows_input(void)
{
    int64_t sw[2] = { D_OUT, K_IN }, N = D_OUT, rows = L_TOK;
    pictor_tensor wf = tt_rand(PICTOR_F32, 2, sw, 41), bias = tt_rand(PICTOR_BF16, 1, &N, 42);
    pictor_tensor wq, ws, w8 = fp8_weight(&wf, &wq, &ws);
    struct flux_set f = flux_set(1, 43);
    pictor_tensor xq = tt_out(PICTOR_F8_E4M3, 3, f.x.shape), xs = tt_out(PICTOR_F32, 1, &rows);
    CHECK(pictor_quantize_rows(be, &f.x, &xq, &xs) == PICTOR_OK, "quantize x");
    pictor_tensor xv = pictor_fp8_rows_view(&xq, &xs);
    pictor_tensor y2 = f.img, g2 = f.gate;
    y2.ndim = 2, y2.shape[0] = L_TOK, y2.shape[1] = D_OUT, y2.stride[0] = D_OUT, y2.stride[1] = 1;
    g2.ndim = 2, g2.shape[0] = 1, g2.shape[1] = D_OUT, g2.stride[1] = 1;
    check_layout("fp8 rows x, fp8 w, [1,D] gate", pictor_linear_gated, &xv, &w8, &bias, &g2, &y2,
                 &f.h);
    flux_free(&f);
    tt_free(&wf), tt_free(&bias), tt_free(&wq), tt_free(&ws), tt_free(&xq), tt_free(&xs);
}

static void test_op_refusals(void)
{
    int64_t N = 8, K = 4, sx[3] = { 2, 3, K }, sy[3] = { 2, 3, N };
    pictor_tensor w = tt_rand(PICTOR_F32, 2, (int64_t[]){ N, K }, 51);
    pictor_tensor x = tt_rand(PICTOR_F32, 3, sx, 52), y = tt_rand(PICTOR_F32, 3, sy, 53);
    pictor_tensor yb = tt_rand(PICTOR_BF16, 3, sy, 54);
    pictor_tensor g = tt_rand(PICTOR_F32, 3, (int64_t[]){ 2, 1, N }, 55);
    pictor_tensor g3 = tt_rand(PICTOR_F32, 3, (int64_t[]){ 3, 1, N }, 56);
    pictor_tensor gi = tt_rand(PICTOR_I32, 1, &N, 57);
    const char *e;

    CHECK(pictor_linear_gated(be, &x, &w, NULL, &g, &yb) == PICTOR_E_INVALID &&
              strstr(e = pictor_backend_error(be), "linear_gated: y") && strstr(e, "f32"),
          "a bf16 y refused: %s", pictor_backend_error(be));
    CHECK(pictor_linear_gated(be, &x, &w, NULL, &g3, &y) == PICTOR_E_INVALID &&
              strstr(e = pictor_backend_error(be), "gate [3, 1, 8]") &&
              strstr(e, "does not broadcast"),
          "a [3, 1, N] gate against [2, 3, N] refused: %s", pictor_backend_error(be));
    CHECK(pictor_linear_gated(be, &x, &w, NULL, &gi, &y) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "float"),
          "an i32 gate refused: %s", pictor_backend_error(be));
    CHECK(pictor_linear_gated(be, &x, &w, NULL, NULL, &y) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "gate is NULL"),
          "no gate refused: %s", pictor_backend_error(be));
    CHECK(pictor_linear_fp8_gated(be, &x, &w, NULL, &g3, &y) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "broadcast"),
          "fp8_gated (plain w) refuses the [3, 1, N] gate: %s", pictor_backend_error(be));
    tt_free(&w), tt_free(&x), tt_free(&y), tt_free(&yb), tt_free(&g), tt_free(&g3);
    tt_free(&gi);
}

/* pictor_linear_fp8_gated's explicit sequence at f32: quantize x per
 * row, pictor_linear on the rows view into f32, gated_add into y. */
static int fp8_sequence(pictor_backend *b, const pictor_tensor *x, const pictor_tensor *w,
                        const pictor_tensor *bias, const pictor_tensor *gate, pictor_tensor *y)
{
    int64_t K = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / K;
    pictor_tensor xc = tt_out(PICTOR_F32, x->ndim, x->shape), q, sc;
    int rc;

    q = tt_out(PICTOR_F8_E4M3, x->ndim, x->shape);
    sc = tt_out(PICTOR_F32, 1, &rows);
    if ((rc = pictor_copy(b, x, &xc)) == 0 && (rc = pictor_quantize_rows(b, &xc, &q, &sc)) == 0) {
        pictor_tensor a = pictor_fp8_rows_view(&q, &sc);
        rc = composed(&a, w, bias, gate, y);
    }
    tt_free(&xc), tt_free(&q), tt_free(&sc);
    return rc;
}

/* fn against the explicit sequence, byte for byte (one layout). */
static void check_fp8_helper(const char *what, const pictor_tensor *x, const pictor_tensor *w,
                             const pictor_tensor *bias, const pictor_tensor *gate,
                             pictor_tensor *y, pictor_tensor *store,
                             int (*want)(pictor_backend *, const pictor_tensor *,
                                         const pictor_tensor *, const pictor_tensor *,
                                         const pictor_tensor *, pictor_tensor *))
{
    size_t nb = bytes_of(store);
    char *saved = tt_xmalloc(nb), *fused = tt_xmalloc(nb);

    memcpy(saved, store->data, nb);
    CHECK(pictor_linear_fp8_gated(be, x, w, bias, gate, y) == PICTOR_OK, "%s: %s", what,
          pictor_backend_error(be));
    memcpy(fused, store->data, nb);
    memcpy(store->data, saved, nb);
    CHECK(want(be, x, w, bias, gate, y) == PICTOR_OK, "%s: reference: %s", what,
          pictor_backend_error(be));
    CHECK(memcmp(fused, saved, nb) != 0, "%s: y unchanged", what);
    CHECK(memcmp(fused, store->data, nb) == 0, "%s: != the explicit sequence", what);
    free(saved), free(fused);
}

/* The unfused layer of a plain weight: linear into x's dtype, gated_add. */
static int plain_sequence(pictor_backend *b, const pictor_tensor *x, const pictor_tensor *w,
                          const pictor_tensor *bias, const pictor_tensor *gate, pictor_tensor *y)
{
    pictor_tensor tmp = tt_out(x->dtype, y->ndim, y->shape);
    int rc = pictor_linear(b, x, w, bias, &tmp);

    if (rc == PICTOR_OK)
        rc = pictor_gated_add(b, y, &tmp, gate);
    tt_free(&tmp);
    return rc;
}

static void test_fp8_linear_gated(void)
{
    int64_t sw[2] = { D_OUT, K_IN }, N = D_OUT, rows = 2 * L_TOK;
    pictor_tensor wf = tt_rand(PICTOR_F32, 2, sw, 61), bias = tt_rand(PICTOR_F32, 1, &N, 62);
    pictor_tensor wb = tt_rand(PICTOR_BF16, 2, sw, 63);
    pictor_tensor wq, ws, w8 = fp8_weight(&wf, &wq, &ws);

    for (int64_t B = 1; B <= 2; B++) {
        struct flux_set f = flux_set(B, 70 + (uint64_t)B);
        char what[96];

        snprintf(what, sizeof what, "B=%lld fp8 w, bf16 x, [B,1,D] gate", (long long)B);
        check_fp8_helper(what, &f.x, &w8, &bias, &f.gate, &f.img, &f.h, fp8_sequence);
        snprintf(what, sizeof what, "B=%lld bf16 w: the unfused layer", (long long)B);
        check_fp8_helper(what, &f.x, &wb, &bias, &f.gate, &f.img, &f.h, plain_sequence);
        /* one [D] gate over a strided B = 2 slice: split by y's strides */
        pictor_tensor g1 = pictor_tensor_slice(&f.mod, 0, 0, 1);
        g1.ndim = 1, g1.shape[0] = D_OUT, g1.stride[0] = 1;
        snprintf(what, sizeof what, "B=%lld fp8 w, [D] gate", (long long)B);
        check_fp8_helper(what, &f.x, &w8, NULL, &g1, &f.img, &f.h, fp8_sequence);
        flux_free(&f);
    }
    /* x quantised by the caller (rows view) into the B = 2 strided slice */
    struct flux_set f = flux_set(2, 80);
    pictor_tensor xq = tt_out(PICTOR_F8_E4M3, 3, f.x.shape), xs = tt_out(PICTOR_F32, 1, &rows);
    CHECK(pictor_quantize_rows(be, &f.x, &xq, &xs) == PICTOR_OK, "quantize x");
    pictor_tensor xv = pictor_fp8_rows_view(&xq, &xs);
    check_layout("fp8_gated: pre-quantised x, B=2 slice", pictor_linear_fp8_gated, &xv, &w8,
                 &bias, &f.gate, &f.img, &f.h);
    pictor_tensor short_y = pictor_tensor_slice(&f.img, 1, 0, L_TOK - 1);
    CHECK(pictor_linear_fp8_gated(be, &xv, &w8, &bias, &f.gate, &short_y) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "rows"),
          "a y without the input's rows is refused: %s", pictor_backend_error(be));
    flux_free(&f);
    tt_free(&wf), tt_free(&bias), tt_free(&wb), tt_free(&wq), tt_free(&ws);
    tt_free(&xq), tt_free(&xs);
}

/* Recorded once, replayed twice: y accumulates twice, as two calls do.
 * The gate's descriptor is a local that is pointed at another chunk after
 * recording: the graph must have copied it (pictor_op_args_tensors). */
static void test_graph_replay(void)
{
    pictor_backend *gb = pictor_backend_cpu_create(1);
    int64_t sw[2] = { D_OUT, K_IN }, N = D_OUT;
    pictor_tensor w = tt_rand(PICTOR_F32, 2, sw, 91), bias = tt_rand(PICTOR_F32, 1, &N, 92);
    struct flux_set f = flux_set(2, 93), r = flux_set(2, 93);
    pictor_graph *g = NULL;
    pictor_tensor gate = f.gate;

    pictor_backend_cpu_set_graphs(gb, true);
    CHECK(pictor_backend_capture_begin(gb) == PICTOR_OK, "capture begins");
    CHECK(pictor_linear_gated(gb, &f.x, &w, &bias, &gate, &f.img) == PICTOR_OK,
          "recorded: %s", pictor_backend_error(gb));
    gate = pictor_tensor_slice(&f.mod, 1, 0, D_OUT); /* shift_msa: not the gate */
    gate = pictor_tensor_unsqueeze(&gate, 1);
    CHECK(memcmp(f.h.data, r.h.data, bytes_of(&f.h)) == 0, "recording does not run the op");
    CHECK(pictor_backend_capture_end(gb, &g) == PICTOR_OK && g, "capture ends: %s",
          pictor_backend_error(gb));
    for (int i = 0; i < 2; i++) {
        CHECK(pictor_backend_graph_launch(gb, g) == PICTOR_OK, "replay %d", i);
        CHECK(pictor_linear_gated(be, &r.x, &w, &bias, &r.gate, &r.img) == PICTOR_OK,
              "direct %d", i);
        CHECK(memcmp(f.h.data, r.h.data, bytes_of(&f.h)) == 0, "replay %d == direct call", i);
    }
    pictor_backend_graph_destroy(gb, g);
    pictor_backend_destroy(gb);
    flux_free(&f), flux_free(&r);
    tt_free(&w), tt_free(&bias);
}

int main(void)
{
    be = pictor_backend_cpu_create(2);
    if (!be)
        return 1;
    RUN(test_op_flux_layouts);
    RUN(test_op_edges);
    RUN(test_op_fp8_rows_input);
    RUN(test_op_refusals);
    RUN(test_fp8_linear_gated);
    RUN(test_graph_replay);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
