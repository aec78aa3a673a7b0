/*
 * tests/unit/test_ops_fused_fp8.c — pictor_ada_layer_norm into an FP8 rows
 * view (pictor/ops.h) on the CPU backend: the AdaLN that quantises its
 * output per token as it writes it.
 *   - byte identity: codes and row scales equal, byte for byte, those of
 *     ada_layer_norm into an f32 tensor followed by pictor_quantize_rows,
 *     for FLUX's layouts (the f32 residual stream's token slices as x,
 *     [B, 1, D] chunk views of a bf16 modulation), strided and 16-bit x,
 *     other broadcast shapes ([D], [1, 1, D]), odd D, FLUX's D = 3072;
 *   - edge rows: all zeros (the amax floor), constant rows, huge values,
 *     a NaN; and the dequantised output within E4M3 precision of the f32
 *     AdaLN (so the identity is not two equal wrongs);
 *   - bad FP8 outputs fail with a message naming the op and the problem.
 */
#include "../harness/ada_edge_rows.h"
#include "ops_test_util.h"

#define TEST_THREADS 2
#define EPS 1e-6f
/* Dequantised codes vs the f32 AdaLN: E4M3 keeps 3 mantissa bits (a
 * relative rounding error of at most 2^-4, about 2.5e-2 in rms). */
#define TOL_DEQUANT 3e-2

static pictor_backend *be;

/* Chunk i of a [B, k*D] modulation as a [B, 1, D] view (flux_chunk). */
static pictor_tensor chunk(const pictor_tensor *mod, int i, int64_t D)
{
    pictor_tensor c = pictor_tensor_slice(mod, 1, (int64_t)i * D, D);

    return pictor_tensor_unsqueeze(&c, 1);
}

/* The FP8 output of one AdaLN: codes [rows, D] and scales [rows] (owned)
 * and the rows view over them. */
struct fp8_out {
    pictor_tensor codes, scales, view;
};

/* Fresh codes and scales for x's rows, filled with garbage (so unwritten
 * bytes show up). */
static struct fp8_out fp8_out_for(const pictor_tensor *x)
{
    int64_t D = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / D;
    int64_t s2[2] = { rows, D };
    struct fp8_out o;

    o.codes = tt_out(PICTOR_F8_E4M3, 2, s2);
    o.scales = tt_out(PICTOR_F32, 1, &rows);
    for (int64_t r = 0; r < rows; r++)
        ((float *)o.scales.data)[r] = -7.0f;
    o.view = pictor_fp8_rows_view(&o.codes, &o.scales);
    return o;
}

static void fp8_out_free(struct fp8_out *o)
{
    tt_free(&o->codes);
    tt_free(&o->scales);
}

/* The E4M3 values of the rows view (codes times row scales) in row-major
 * order, as f64. */
static double *dequant(const struct fp8_out *o)
{
    int64_t rows = o->codes.shape[0], D = o->codes.shape[1];
    const uint8_t *c = o->codes.data;
    const float *s = o->scales.data;
    double *v = tt_xmalloc((size_t)(rows * D) * sizeof(double));

    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < D; k++)
            v[r * D + k] = (double)pictor_e4m3_to_f32(c[r * D + k]) * s[r];
    return v;
}

/* The fused op into an FP8 rows view against ada_layer_norm into f32 and
 * then quantize_rows: the same bytes. With `dequant_tol` > 0 the codes
 * times the scales are also held to that rel_l2 of the f32 AdaLN. */
static void check_fused_fp8(const char *what, const pictor_tensor *x, const pictor_tensor *scale,
                            const pictor_tensor *shift, double dequant_tol)
{
    int64_t D = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / D;
    pictor_tensor y32 = tt_out(PICTOR_F32, x->ndim, x->shape);
    struct fp8_out fused = fp8_out_for(x), ref = fp8_out_for(x);
    int rc;

    rc = pictor_ada_layer_norm(be, x, EPS, scale, shift, &fused.view);
    CHECK(rc == PICTOR_OK, "%s: fused: %s", what, pictor_backend_error(be));
    rc = pictor_ada_layer_norm(be, x, EPS, scale, shift, &y32);
    CHECK(rc == PICTOR_OK, "%s: f32 ada: %s", what, pictor_backend_error(be));
    pictor_tensor y2 = pictor_tensor_make(y32.data, PICTOR_F32, 2, ref.codes.shape);

    rc = pictor_quantize_rows(be, &y2, &ref.codes, &ref.scales);
    CHECK(rc == PICTOR_OK, "%s: quantize_rows: %s", what, pictor_backend_error(be));

    int64_t bad_codes = 0, bad_scales = 0;
    const uint8_t *fc = fused.codes.data, *rcode = ref.codes.data;

    for (int64_t i = 0; i < rows * D; i++)
        bad_codes += fc[i] != rcode[i];
    for (int64_t r = 0; r < rows; r++)
        bad_scales += memcmp((const float *)fused.scales.data + r,
                             (const float *)ref.scales.data + r, sizeof(float)) != 0;
    CHECK(bad_codes == 0, "%s: %lld of %lld codes differ from ada_layer_norm(f32) + "
          "quantize_rows", what, (long long)bad_codes, (long long)(rows * D));
    CHECK(bad_scales == 0, "%s: %lld of %lld row scales differ", what, (long long)bad_scales,
          (long long)rows);
    if (dequant_tol > 0) {
        double *dq = dequant(&fused);
        double e = tt_rel_l2(&y2, dq);

        CHECK(e <= dequant_tol, "%s: dequantised codes vs f32 AdaLN: rel_l2 %g > %g", what, e,
              dequant_tol);
        free(dq);
    }
    tt_free(&y32);
    fp8_out_free(&fused);
    fp8_out_free(&ref);
}

/* FLUX's layout: x a token slice of the f32 residual stream [B, T + S, D]
 * (strided rows: the image and the text stream), scale/shift [B, 1, D]
 * chunk views of a bf16 (and f32) modulation [B, 6D]. */
static void test_fp8_flux_layout(void)
{
    const int64_t B = 2, T = 5, S = 77, D = 96;
    int64_t sh[3] = { B, T + S, D }, sm[2] = { B, 6 * D };
    static const int mod_dts[2] = { PICTOR_BF16, PICTOR_F32 };
    pictor_tensor h = tt_range(PICTOR_F32, 3, sh, 11, -2.0f, 6.0f);
    pictor_tensor img = pictor_tensor_slice(&h, 1, T, S), txt = pictor_tensor_slice(&h, 1, 0, T);
    char what[96];

    for (int k = 0; k < 2; k++) {
        pictor_tensor mod = tt_range(mod_dts[k], 2, sm, 12 + k, -1.0f, 1.0f);
        pictor_tensor shift = chunk(&mod, 0, D), scale = chunk(&mod, 1, D);

        snprintf(what, sizeof what, "image tokens, %s modulation",
                 pictor_dtype_name(mod_dts[k]));
        check_fused_fp8(what, &img, &scale, &shift, TOL_DEQUANT);
        snprintf(what, sizeof what, "text tokens, %s modulation", pictor_dtype_name(mod_dts[k]));
        check_fused_fp8(what, &txt, &scale, &shift, TOL_DEQUANT);
        tt_free(&mod);
    }
    tt_free(&h);
}

/* 16-bit and permuted x; scale [D] and shift [1, 1, D] (one row for every
 * token); odd D (90, 7); FLUX's D = 3072. */
static void test_fp8_layouts(void)
{
    int64_t store[3] = { 77, 2, 96 }, sv[1] = { 96 }, s11[3] = { 1, 1, 96 };
    int perm[3] = { 1, 0, 2 };
    pictor_tensor xp = tt_rand_permuted(PICTOR_BF16, 3, store, perm, 21);
    pictor_tensor sc = tt_rand(PICTOR_F32, 1, sv, 22), shf = tt_rand(PICTOR_F16, 3, s11, 23);

    check_fused_fp8("permuted bf16 x, scale [D], shift [1, 1, D]", &xp, &sc, &shf, TOL_DEQUANT);
    tt_free(&xp), tt_free(&sc), tt_free(&shf);

    int64_t s90[3] = { 2, 13, 90 }, m90[3] = { 2, 1, 90 };
    pictor_tensor x90 = tt_range(PICTOR_F16, 3, s90, 24, -3.0f, 3.0f);
    pictor_tensor a90 = tt_rand(PICTOR_BF16, 3, m90, 25), b90 = tt_rand(PICTOR_BF16, 3, m90, 26);

    check_fused_fp8("f16 x, D = 90", &x90, &a90, &b90, TOL_DEQUANT);
    tt_free(&x90), tt_free(&a90), tt_free(&b90);

    int64_t s7[2] = { 5, 7 }, v7[1] = { 7 };
    pictor_tensor x7 = tt_range(PICTOR_F32, 2, s7, 27, 0.0f, 1.0f);
    pictor_tensor a7 = tt_rand(PICTOR_F32, 1, v7, 28), b7 = tt_rand(PICTOR_F32, 1, v7, 29);

    check_fused_fp8("f32 x [5, 7]", &x7, &a7, &b7, 0);
    tt_free(&x7), tt_free(&a7), tt_free(&b7);

    int64_t sf[3] = { 1, 40, 3072 }, mf[2] = { 1, 6 * 3072 };
    pictor_tensor xf = tt_range(PICTOR_F32, 3, sf, 30, -4.0f, 8.0f);
    pictor_tensor mod = tt_range(PICTOR_BF16, 2, mf, 31, -1.0f, 1.0f);
    pictor_tensor shift = chunk(&mod, 3, 3072), scale = chunk(&mod, 4, 3072);

    check_fused_fp8("FLUX D = 3072", &xf, &scale, &shift, TOL_DEQUANT);
    tt_free(&xf), tt_free(&mod);
}

/* Batch 0: all-zero and constant rows with zero shift (every modulated
 * value 0: the amax floor); batch 1: zero rows with a non-zero shift;
 * batch 2: huge x (the f64 statistics) with a large scale and shift
 * (modulated values far beyond 448); batch 3: a NaN in one row. */
static void test_fp8_edge_rows(void)
{
    const int64_t B = ADA_EDGE_B, S = 6, D = 64;
    int64_t sx[3] = { B, S, D }, sm[3] = { B, 1, D };
    float *xv = tt_xmalloc((size_t)(B * S * D) * sizeof(float));
    float *av = tt_xmalloc((size_t)(B * D) * sizeof(float));
    float *bv = tt_xmalloc((size_t)(B * D) * sizeof(float));

    ada_edge_rows(xv, av, bv, S, D, 41);

    pictor_tensor x = tt_make(PICTOR_F32, 3, sx, xv, 0, 1.0f);
    pictor_tensor a = tt_make(PICTOR_F32, 3, sm, av, 0, 1.0f);
    pictor_tensor b = tt_make(PICTOR_F32, 3, sm, bv, 0, 1.0f);
    struct fp8_out o = fp8_out_for(&x);
    const float *s = o.scales.data;
    const uint8_t *c = o.codes.data;
    int nonzero = 0;

    check_fused_fp8("edge rows", &x, &a, &b, 0);
    CHECK(pictor_ada_layer_norm(be, &x, EPS, &a, &b, &o.view) == PICTOR_OK, "edge rows: %s",
          pictor_backend_error(be));
    for (int r = 0; r < 2; r++) {
        CHECK(s[r] == PICTOR_FP8_AMAX_FLOOR / PICTOR_E4M3_MAX,
              "all-zero row %d: scale %g, want the floor / 448", r, (double)s[r]);
        for (int64_t k = 0; k < D; k++)
            nonzero += c[r * D + k] != 0;
    }
    CHECK(nonzero == 0, "all-zero rows: %d non-zero codes", nonzero);
    CHECK(s[S] > 1e-3f && isfinite(s[S]), "zero row with shift: scale %g", (double)s[S]);
    CHECK(s[2 * S] > 1.0f && isfinite(s[2 * S]), "huge row: scale %g (values beyond 448)",
          (double)s[2 * S]);
    CHECK(isnan(s[3 * S + 2]), "NaN row: scale %g, want NaN", (double)s[3 * S + 2]);
    CHECK(isfinite(s[3 * S + 1]) && isfinite(s[3 * S + 3]), "rows next to the NaN row: "
          "scales %g %g", (double)s[3 * S + 1], (double)s[3 * S + 3]);
    fp8_out_free(&o);
    tt_free(&x), tt_free(&a), tt_free(&b);
    free(xv), free(av), free(bv);
}

/* rc is PICTOR_E_INVALID and the message holds both fragments. */
static void expect_invalid(const char *what, int rc, const char *frag1, const char *frag2)
{
    const char *msg = pictor_backend_error(be);

    CHECK(rc == PICTOR_E_INVALID && strstr(msg, frag1) && strstr(msg, frag2),
          "%s: rc %d, message \"%s\" (want \"%s\" ... \"%s\")", what, rc, msg, frag1, frag2);
}

static void test_fp8_bad_outputs(void)
{
    int64_t sx[3] = { 2, 5, 8 }, sm[3] = { 2, 1, 8 }, s10[2] = { 10, 8 }, s9[2] = { 9, 8 };
    int64_t s11[2] = { 10, 9 }, n10 = 10;
    pictor_tensor x = tt_rand(PICTOR_F32, 3, sx, 51), a = tt_rand(PICTOR_F32, 3, sm, 52);
    pictor_tensor b = tt_rand(PICTOR_F32, 3, sm, 53);
    struct fp8_out o = fp8_out_for(&x);
    pictor_tensor plain = tt_out(PICTOR_F8_E4M3, 3, sx), v;
    pictor_tensor c9 = tt_out(PICTOR_F8_E4M3, 2, s9), big = tt_out(PICTOR_F8_E4M3, 2, s11);
    pictor_tensor x8 = tt_out(PICTOR_F8_E4M3, 3, sx), e5 = tt_out(PICTOR_F8_E5M2, 2, s10);
    pictor_tensor sc10 = tt_out(PICTOR_F32, 1, &n10);
    const char *op = "ada_layer_norm: y";

    expect_invalid("no row scales", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &plain), op,
                   "needs per-row scales");
    v = o.view;
    v.scale = 2.0f;
    expect_invalid("scale 2", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op, "must be 1");
    v = pictor_fp8_rows_view(&c9, &sc10);
    expect_invalid("9 rows", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "must be the [10, 8] rows view of x");
    v = plain;
    v.row_scale = sc10.data;
    expect_invalid("x's 3-D shape", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "rows view of x");
    v = pictor_tensor_slice(&big, 1, 0, 8); /* [10, 8] with row stride 9 */
    v.row_scale = sc10.data;
    expect_invalid("strided", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "must be contiguous");
    /* An f8_e4m3 x quantised in place into its own storage. */
    v = pictor_fp8_rows_view(&x8, &sc10);
    expect_invalid("in place", pictor_ada_layer_norm(be, &x8, EPS, &a, &b, &v), op,
                   "overlaps x");
    v = o.view;
    v.row_scale = x.data;
    expect_invalid("scales over x", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "row scales overlap");
    v = o.view;
    v.row_scale = a.data;
    expect_invalid("scales over scale", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "row scales overlap");
    v = pictor_fp8_rows_view(&e5, &sc10);
    expect_invalid("e5m2", pictor_ada_layer_norm(be, &x, EPS, &a, &b, &v), op,
                   "f8_e4m3 only");
    fp8_out_free(&o);
    tt_free(&x), tt_free(&a), tt_free(&b), tt_free(&plain), tt_free(&c9), tt_free(&big);
    tt_free(&x8), tt_free(&e5), tt_free(&sc10);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        printf("FAIL setup: no CPU backend\n");
        return 1;
    }
    RUN(test_fp8_flux_layout);
    RUN(test_fp8_layouts);
    RUN(test_fp8_edge_rows);
    RUN(test_fp8_bad_outputs);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
