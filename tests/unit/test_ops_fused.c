/*
 * tests/unit/test_ops_fused.c — the CPU backend's fused FLUX ops
 * (pictor_ada_layer_norm, pictor_gated_add, pictor_rms_norm_rope) against
 * the compositions of existing ops they replace (as plugins/flux ran them)
 * and against double formulas:
 *   - at f32 the fused op equals the composition (rel_l2 <= 1e-6);
 *   - at bf16/f16 the fused op is its own f32 result rounded once (bit for
 *     bit), stays within 16-bit precision of the composition, and is no
 *     further from the double reference than the composition;
 *   - FLUX's operand layouts: [B, 1, D] chunk views of a [B, k*D]
 *     modulation, head views of token slices with row slices of the RoPE
 *     tables, other broadcast shapes, strided x, in place;
 *   - bad shapes fail with a message naming the op and the operand.
 */
#include "ops_test_util.h"

#define TEST_THREADS 2
#define EPS 1e-6f
/* Fused vs composition at f32: the same f32 arithmetic, one rounding. */
#define TOL_SAME 1e-6
/* Fused vs a double reference at f32. */
#define TOL_REF 1e-5
/* Fused vs composition at 16 bits: a few roundings of 2^-8 (bf16). */
#define TOL_HALF 1e-2
/* FLUX-like sizes: odd token count, D = 3 heads of 32. */
#define B_ 2
#define S_ 77
#define D_ 96

static pictor_backend *be;

/* Chunk i of a [B, k*D] modulation as a [B, 1, D] view (flux_chunk). */
static pictor_tensor chunk(const pictor_tensor *mod, int i, int64_t D)
{
    pictor_tensor c = pictor_tensor_slice(mod, 1, (int64_t)i * D, D);

    return pictor_tensor_unsqueeze(&c, 1);
}

/* A contiguous copy of t in dtype (values rounded once). */
static pictor_tensor clone_as(const pictor_tensor *t, int dtype)
{
    pictor_tensor c = tt_out(dtype, t->ndim, t->shape);

    CHECK(pictor_copy(be, t, &c) == PICTOR_OK, "copy: %s", pictor_backend_error(be));
    return c;
}

/* Number of elements of a and b (same shape) whose values differ. */
static int64_t n_differ(const pictor_tensor *a, const pictor_tensor *b)
{
    int64_t n = pictor_tensor_numel(a), bad = 0;
    double *av = tt_to_f64(a), *bv = tt_to_f64(b);

    for (int64_t i = 0; i < n; i++)
        bad += !(av[i] == bv[i]);
    free(av);
    free(bv);
    return bad;
}

/* rel_l2 of got against the values of tensor ref. */
static double rel_to(const pictor_tensor *got, const pictor_tensor *ref)
{
    double *rv = tt_to_f64(ref), e = tt_rel_l2(got, rv);

    free(rv);
    return e;
}

/* ---- ada_layer_norm ----------------------------------------------------- */

/* The composition flux_modulate ran: 1 + scale in scale's dtype, then
 * layer_norm, mul, add (each rounding into y's dtype). */
static int ada_composed(const pictor_tensor *x, const pictor_tensor *scale,
                        const pictor_tensor *shift, pictor_tensor *y)
{
    int64_t s1[1] = { 1 };
    float one_v = 1.0f;
    pictor_tensor one = tt_make(scale->dtype, 1, s1, &one_v, 0, 1.0f);
    pictor_tensor s1p = tt_out(scale->dtype, scale->ndim, scale->shape);
    int rc;

    if (!(rc = pictor_add(be, scale, &one, &s1p)) &&
        !(rc = pictor_layer_norm(be, x, EPS, NULL, NULL, y)) &&
        !(rc = pictor_mul(be, y, &s1p, y)))
        rc = pictor_add(be, y, shift, y);
    tt_free(&one);
    tt_free(&s1p);
    return rc;
}

/* LN(x) * (1 + scale) + shift in double over the R rows of D of x;
 * scale/shift hold tables of D values, row r using table r / S. */
static double *ada_ref(const pictor_tensor *x, const pictor_tensor *scale,
                       const pictor_tensor *shift, int64_t S)
{
    int64_t n = pictor_tensor_numel(x), D = x->shape[x->ndim - 1], R = n / D;
    double *xv = tt_to_f64(x), *sc = tt_to_f64(scale), *sh = tt_to_f64(shift);
    double *out = tt_xmalloc((size_t)n * sizeof(double));

    for (int64_t r = 0; r < R; r++) {
        const double *p = xv + r * D, *c = sc + r / S * D, *h = sh + r / S * D;
        double m = 0, v = 0;

        for (int64_t i = 0; i < D; i++)
            m += p[i];
        m /= D;
        for (int64_t i = 0; i < D; i++)
            v += (p[i] - m) * (p[i] - m);
        v /= D;
        for (int64_t i = 0; i < D; i++)
            out[r * D + i] = (p[i] - m) / sqrt(v + EPS) * (1 + c[i]) + h[i];
    }
    free(xv), free(sc), free(sh);
    return out;
}

static void test_ada_layer_norm_f32(void)
{
    int64_t sx[3] = { B_, S_, D_ }, sm[2] = { B_, 6 * D_ };
    pictor_tensor x = tt_range(PICTOR_F32, 3, sx, 1, 1.0f, 4.0f);
    pictor_tensor mod = tt_rand(PICTOR_F32, 2, sm, 2);
    pictor_tensor shift = chunk(&mod, 3, D_), scale = chunk(&mod, 4, D_);
    pictor_tensor y = tt_out(PICTOR_F32, 3, sx), yc = tt_out(PICTOR_F32, 3, sx);
    double *ref = ada_ref(&x, &scale, &shift, S_);
    int rc = pictor_ada_layer_norm(be, &x, EPS, &scale, &shift, &y);

    CHECK(rc == PICTOR_OK, "fused: %s", pictor_backend_error(be));
    CHECK(ada_composed(&x, &scale, &shift, &yc) == PICTOR_OK, "composed: %s",
          pictor_backend_error(be));
    CHECK(rel_to(&y, &yc) <= TOL_SAME, "fused vs composed: rel_l2 %g", rel_to(&y, &yc));
    CHECK(tt_rel_l2(&y, ref) <= TOL_REF, "fused vs double: rel_l2 %g", tt_rel_l2(&y, ref));

    /* In place: y is x itself. */
    pictor_tensor xi = clone_as(&x, PICTOR_F32);
    rc = pictor_ada_layer_norm(be, &xi, EPS, &scale, &shift, &xi);
    CHECK(rc == PICTOR_OK, "in place: %s", pictor_backend_error(be));
    CHECK(n_differ(&xi, &y) == 0, "in place differs from out of place in %lld values",
          (long long)n_differ(&xi, &y));
    free(ref);
    tt_free(&xi), tt_free(&x), tt_free(&mod), tt_free(&y), tt_free(&yc);
}

/* Strided x (a permuted view) and other broadcast shapes: scale [D] and
 * shift [1, 1, D] (one row for every token of every batch). */
static void test_ada_layer_norm_layouts(void)
{
    int64_t store[3] = { S_, B_, D_ }, sx[3] = { B_, S_, D_ }, sv[1] = { D_ };
    int64_t s11[3] = { 1, 1, D_ };
    int perm[3] = { 1, 0, 2 };
    pictor_tensor x = tt_rand_permuted(PICTOR_BF16, 3, store, perm, 3);
    pictor_tensor scale = tt_rand(PICTOR_F32, 1, sv, 4);
    pictor_tensor shift = tt_rand(PICTOR_F16, 3, s11, 5);
    pictor_tensor y = tt_out(PICTOR_F32, 3, sx), yc = tt_out(PICTOR_F32, 3, sx);
    /* One table row of D values for all B * S rows. */
    double *ref = ada_ref(&x, &scale, &shift, B_ * S_);

    CHECK(pictor_ada_layer_norm(be, &x, EPS, &scale, &shift, &y) == PICTOR_OK, "fused: %s",
          pictor_backend_error(be));
    CHECK(ada_composed(&x, &scale, &shift, &yc) == PICTOR_OK, "composed: %s",
          pictor_backend_error(be));
    CHECK(rel_to(&y, &yc) <= TOL_SAME, "strided fused vs composed: rel_l2 %g",
          rel_to(&y, &yc));
    CHECK(tt_rel_l2(&y, ref) <= TOL_REF, "strided fused vs double: rel_l2 %g",
          tt_rel_l2(&y, ref));
    free(ref);
    tt_free(&x), tt_free(&scale), tt_free(&shift), tt_free(&y), tt_free(&yc);
}

/* 16-bit output (FLUX at bf16/fp16: f32 residual stream in, 16-bit
 * modulation and output): one rounding of the f32 result. */
static void test_ada_layer_norm_half(void)
{
    static const int dts[2] = { PICTOR_BF16, PICTOR_F16 };
    int64_t sx[3] = { B_, S_, D_ }, sm[2] = { B_, 6 * D_ };

    for (int k = 0; k < 2; k++) {
        int dt = dts[k];
        pictor_tensor x = tt_range(PICTOR_F32, 3, sx, 6, -3.0f, 5.0f);
        pictor_tensor mod = tt_rand(dt, 2, sm, 7);
        pictor_tensor shift = chunk(&mod, 0, D_), scale = chunk(&mod, 1, D_);
        pictor_tensor y = tt_out(dt, 3, sx), yc = tt_out(dt, 3, sx);
        pictor_tensor y32 = tt_out(PICTOR_F32, 3, sx), y32r;
        double *ref = ada_ref(&x, &scale, &shift, S_);
        double e_fused, e_comp;

        CHECK(pictor_ada_layer_norm(be, &x, EPS, &scale, &shift, &y) == PICTOR_OK,
              "fused: %s", pictor_backend_error(be));
        CHECK(pictor_ada_layer_norm(be, &x, EPS, &scale, &shift, &y32) == PICTOR_OK,
              "fused f32: %s", pictor_backend_error(be));
        CHECK(ada_composed(&x, &scale, &shift, &yc) == PICTOR_OK, "composed: %s",
              pictor_backend_error(be));
        y32r = clone_as(&y32, dt);
        CHECK(n_differ(&y, &y32r) == 0, "%s: %lld values are not the f32 result rounded once",
              pictor_dtype_name(dt), (long long)n_differ(&y, &y32r));
        CHECK(rel_to(&y, &yc) <= TOL_HALF, "%s fused vs composed: rel_l2 %g",
              pictor_dtype_name(dt), rel_to(&y, &yc));
        e_fused = tt_rel_l2(&y, ref);
        e_comp = tt_rel_l2(&yc, ref);
        CHECK(e_fused <= e_comp, "%s: fused error %g above the composition's %g",
              pictor_dtype_name(dt), e_fused, e_comp);
        free(ref);
        tt_free(&x), tt_free(&mod), tt_free(&y), tt_free(&yc), tt_free(&y32), tt_free(&y32r);
    }
}

/* ---- gated_add ---------------------------------------------------------- */

static void test_gated_add(void)
{
    static const int dts[3] = { PICTOR_F32, PICTOR_BF16, PICTOR_F16 };
    int64_t sx[3] = { B_, S_, D_ }, sm[2] = { B_, 6 * D_ };

    for (int k = 0; k < 3; k++) {
        int dt = dts[k];
        pictor_tensor x = tt_rand(PICTOR_F32, 3, sx, 11);
        pictor_tensor y = tt_rand(dt, 3, sx, 12);
        pictor_tensor mod = tt_rand(dt, 2, sm, 13);
        pictor_tensor gate = chunk(&mod, 2, D_);
        pictor_tensor y0 = clone_as(&y, dt), yt = clone_as(&y, dt);
        pictor_tensor xf = clone_as(&x, PICTOR_F32), xc = clone_as(&x, PICTOR_F32);
        int64_t n = pictor_tensor_numel(&x);
        double *xv = tt_to_f64(&x), *yv = tt_to_f64(&y), *gv = tt_to_f64(&gate);

        for (int64_t i = 0; i < n; i++) /* x + gate[b, d] * y */
            xv[i] += gv[i / (S_ * D_) * D_ + i % D_] * yv[i];
        CHECK(pictor_gated_add(be, &xf, &y, &gate) == PICTOR_OK, "fused: %s",
              pictor_backend_error(be));
        CHECK(pictor_mul(be, &yt, &gate, &yt) == PICTOR_OK &&
                  pictor_add(be, &xc, &yt, &xc) == PICTOR_OK,
              "composed: %s", pictor_backend_error(be));
        CHECK(n_differ(&y, &y0) == 0, "%s: y was modified", pictor_dtype_name(dt));
        CHECK(tt_rel_l2(&xf, xv) <= TOL_SAME, "%s fused vs double: rel_l2 %g",
              pictor_dtype_name(dt), tt_rel_l2(&xf, xv));
        if (dt == PICTOR_F32)
            CHECK(rel_to(&xf, &xc) <= TOL_SAME, "f32 fused vs composed: rel_l2 %g",
                  rel_to(&xf, &xc));
        else /* the composition rounds gate * y to 16 bits first */
            CHECK(rel_to(&xf, &xc) <= TOL_HALF && tt_rel_l2(&xf, xv) <= tt_rel_l2(&xc, xv),
                  "%s fused vs composed: rel_l2 %g (fused error %g, composed %g)",
                  pictor_dtype_name(dt), rel_to(&xf, &xc), tt_rel_l2(&xf, xv),
                  tt_rel_l2(&xc, xv));
        free(xv), free(yv), free(gv);
        tt_free(&x), tt_free(&y), tt_free(&mod), tt_free(&y0), tt_free(&yt);
        tt_free(&xf), tt_free(&xc);
    }
}

/* A 16-bit x is rounded once; a strided x and a [D] gate work too. */
static void test_gated_add_half_x(void)
{
    int64_t store[3] = { S_, B_, D_ }, sx[3] = { B_, S_, D_ }, sg[1] = { D_ };
    int perm[3] = { 1, 0, 2 };
    pictor_tensor x = tt_rand_permuted(PICTOR_BF16, 3, store, perm, 21);
    pictor_tensor y = tt_rand(PICTOR_F32, 3, sx, 22);
    pictor_tensor gate = tt_rand(PICTOR_BF16, 1, sg, 23);
    pictor_tensor x32 = clone_as(&x, PICTOR_F32), x32r;

    CHECK(pictor_gated_add(be, &x, &y, &gate) == PICTOR_OK, "bf16 x: %s",
          pictor_backend_error(be));
    CHECK(pictor_gated_add(be, &x32, &y, &gate) == PICTOR_OK, "f32 x: %s",
          pictor_backend_error(be));
    x32r = clone_as(&x32, PICTOR_BF16);
    CHECK(n_differ(&x, &x32r) == 0, "%lld values are not the f32 result rounded once",
          (long long)n_differ(&x, &x32r));
    tt_free(&x), tt_free(&y), tt_free(&gate), tt_free(&x32), tt_free(&x32r);
}

/* Rows longer than the CPU's load block (1024) are processed in segments;
 * the gate must follow them. */
static void test_gated_add_long_rows(void)
{
    const int64_t B = 2, S = 3, D = 1031;
    int64_t sx[3] = { B, S, D }, sm[2] = { B, 2 * D };
    pictor_tensor x = tt_rand(PICTOR_F32, 3, sx, 24), y = tt_rand(PICTOR_BF16, 3, sx, 25);
    pictor_tensor mod = tt_rand(PICTOR_F32, 2, sm, 26), gate = chunk(&mod, 1, D);
    int64_t n = pictor_tensor_numel(&x);
    double *xv = tt_to_f64(&x), *yv = tt_to_f64(&y), *gv = tt_to_f64(&gate);

    for (int64_t i = 0; i < n; i++)
        xv[i] += gv[i / (S * D) * D + i % D] * yv[i];
    CHECK(pictor_gated_add(be, &x, &y, &gate) == PICTOR_OK, "%s", pictor_backend_error(be));
    CHECK(tt_rel_l2(&x, xv) <= TOL_SAME, "D=1031: rel_l2 %g", tt_rel_l2(&x, xv));
    free(xv), free(yv), free(gv);
    tt_free(&x), tt_free(&y), tt_free(&mod);
}

/* ---- rms_norm_rope ------------------------------------------------------ */

#define QK_H 3
#define QK_DH 32
#define QK_N 9  /* tokens in the whole sequence */
#define QK_T0 2 /* the stream's first token */
#define QK_L 6  /* the stream's tokens */

/* RoPE tables [QK_N, QK_DH] for ids (t, t/2, 3t) with FLUX-like axes. */
static void qk_tables(pictor_tensor *cs, pictor_tensor *sn)
{
    static const int axes[3] = { 8, 12, 12 };
    int64_t st[2] = { QK_N, QK_DH };
    float ids[QK_N * 3];

    for (int t = 0; t < QK_N; t++) {
        ids[3 * t] = (float)t;
        ids[3 * t + 1] = (float)(t / 2);
        ids[3 * t + 2] = (float)(3 * t);
    }
    *cs = tt_out(PICTOR_F32, 2, st);
    *sn = tt_out(PICTOR_F32, 2, st);
    pictor_rope_tables(ids, QK_N, 3, axes, 10000.0, cs->data, sn->data);
}

/* The token slice [QK_T0, QK_T0 + QK_L) of a [B, N, H*Dh] projection
 * output as [B, L, H, Dh] (flux_heads of a slice: strided). */
static pictor_tensor qk_heads(const pictor_tensor *q3)
{
    pictor_tensor s = pictor_tensor_slice(q3, 1, QK_T0, QK_L), v = s;

    v.ndim = 4;
    v.shape[2] = QK_H, v.shape[3] = QK_DH;
    v.stride[3] = s.stride[2];
    v.stride[2] = s.stride[2] * QK_DH;
    return v;
}

/* RoPE(RMSNorm(x) * w) in double; rows of x [B, L, H, Dh] use table rows
 * t0 + l. */
static double *qk_ref(const pictor_tensor *x, const pictor_tensor *w, const pictor_tensor *cs,
                      const pictor_tensor *sn, int64_t t0)
{
    int64_t n = pictor_tensor_numel(x), L = x->shape[1], H = x->shape[2], D = x->shape[3];
    double *xv = tt_to_f64(x), *wv = w ? tt_to_f64(w) : NULL;
    double *cv = tt_to_f64(cs), *sv = tt_to_f64(sn);
    double *out = tt_xmalloc((size_t)n * sizeof(double));

    for (int64_t r = 0; r < n / D; r++) {
        const double *p = xv + r * D;
        const double *c = cv + (t0 + r / H % L) * D, *s = sv + (t0 + r / H % L) * D;
        double ms = 0, nv[QK_DH];

        for (int64_t i = 0; i < D; i++)
            ms += p[i] * p[i];
        for (int64_t i = 0; i < D; i++)
            nv[i] = p[i] / sqrt(ms / D + EPS) * (wv ? wv[i] : 1.0);
        for (int64_t m = 0; m < D; m += 2) {
            out[r * D + m] = nv[m] * c[m] - nv[m + 1] * s[m];
            out[r * D + m + 1] = nv[m + 1] * c[m + 1] + nv[m] * s[m + 1];
        }
    }
    free(xv), free(wv), free(cv), free(sv);
    return out;
}

static void test_rms_norm_rope(void)
{
    static const int dts[3] = { PICTOR_F32, PICTOR_BF16, PICTOR_F16 };
    int64_t sq[3] = { B_, QK_N, QK_H * QK_DH }, sw[1] = { QK_DH };
    pictor_tensor cs, sn;

    qk_tables(&cs, &sn);
    pictor_tensor cs_s = pictor_tensor_slice(&cs, 0, QK_T0, QK_L);
    pictor_tensor sn_s = pictor_tensor_slice(&sn, 0, QK_T0, QK_L);
    for (int k = 0; k < 3; k++) {
        for (int with_w = 0; with_w < 2; with_w++) {
            int dt = dts[k];
            pictor_tensor q3 = tt_range(dt, 3, sq, 31 + k, -2.0f, 3.0f);
            pictor_tensor w = tt_rand(dt, 1, sw, 32);
            const pictor_tensor *wp = with_w ? &w : NULL;
            pictor_tensor x = qk_heads(&q3);
            pictor_tensor y = tt_out(dt, 4, x.shape), yc = tt_out(dt, 4, x.shape);
            pictor_tensor y32 = tt_out(PICTOR_F32, 4, x.shape), y32r;
            double *ref = qk_ref(&x, wp, &cs, &sn, QK_T0);
            const char *dn = pictor_dtype_name(dt);

            CHECK(pictor_rms_norm_rope(be, &x, EPS, wp, &cs_s, &sn_s, &y) == PICTOR_OK,
                  "fused: %s", pictor_backend_error(be));
            CHECK(pictor_rms_norm_rope(be, &x, EPS, wp, &cs_s, &sn_s, &y32) == PICTOR_OK,
                  "fused f32: %s", pictor_backend_error(be));
            CHECK(pictor_rms_norm(be, &x, EPS, wp, &yc) == PICTOR_OK &&
                      pictor_rope(be, &yc, &cs_s, &sn_s, &yc) == PICTOR_OK,
                  "composed: %s", pictor_backend_error(be));
            y32r = clone_as(&y32, dt);
            CHECK(n_differ(&y, &y32r) == 0, "%s w %d: %lld values are not the f32 result "
                  "rounded once", dn, with_w, (long long)n_differ(&y, &y32r));
            CHECK(rel_to(&y, &yc) <= (dt == PICTOR_F32 ? TOL_SAME : TOL_HALF),
                  "%s w %d fused vs composed: rel_l2 %g", dn, with_w, rel_to(&y, &yc));
            CHECK(tt_rel_l2(&y32, ref) <= TOL_REF, "%s w %d fused vs double: rel_l2 %g", dn,
                  with_w, tt_rel_l2(&y32, ref));
            /* In place on the strided head view of the projection. */
            CHECK(pictor_rms_norm_rope(be, &x, EPS, wp, &cs_s, &sn_s, &x) == PICTOR_OK,
                  "in place: %s", pictor_backend_error(be));
            CHECK(n_differ(&x, &y) == 0, "%s w %d: in place differs in %lld values", dn,
                  with_w, (long long)n_differ(&x, &y));
            free(ref);
            tt_free(&q3), tt_free(&w), tt_free(&y), tt_free(&yc), tt_free(&y32);
            tt_free(&y32r);
        }
    }
    tt_free(&cs), tt_free(&sn);
}

/* ---- validation --------------------------------------------------------- */

/* rc is PICTOR_E_INVALID and the message holds both fragments. */
static void expect_invalid(const char *what, int rc, const char *frag1, const char *frag2)
{
    const char *msg = pictor_backend_error(be);

    CHECK(rc == PICTOR_E_INVALID && strstr(msg, frag1) && strstr(msg, frag2),
          "%s: rc %d, message \"%s\" (want \"%s\" ... \"%s\")", what, rc, msg, frag1, frag2);
}

static void test_bad_shapes(void)
{
    int64_t sx[3] = { 2, 5, 8 }, sbad[3] = { 2, 1, 7 }, sg3[3] = { 3, 1, 8 };
    int64_t sy[3] = { 2, 5, 6 }, sq[4] = { 1, 4, 2, 6 }, sodd[4] = { 1, 4, 2, 5 };
    int64_t sc[2] = { 4, 6 }, sc5[2] = { 5, 6 }, sw[1] = { 4 }, s3[3] = { 4, 2, 6 };
    pictor_tensor x = tt_rand(PICTOR_F32, 3, sx, 41), y = tt_rand(PICTOR_F32, 3, sy, 42);
    pictor_tensor sbt = tt_rand(PICTOR_F32, 3, sbad, 43), g3 = tt_rand(PICTOR_F32, 3, sg3, 44);
    pictor_tensor q = tt_rand(PICTOR_BF16, 4, sq, 45), qo = tt_rand(PICTOR_F32, 4, sodd, 46);
    pictor_tensor cs = tt_rand(PICTOR_F32, 2, sc, 47), c5 = tt_rand(PICTOR_F32, 2, sc5, 48);
    pictor_tensor w4 = tt_rand(PICTOR_F32, 1, sw, 49), q3 = tt_rand(PICTOR_F32, 3, s3, 50);
    pictor_tensor xc = clone_as(&x, PICTOR_F32);

    expect_invalid("ada scale", pictor_ada_layer_norm(be, &x, EPS, &sbt, &x, &x),
                   "ada_layer_norm: scale", "does not broadcast to x");
    expect_invalid("ada shift", pictor_ada_layer_norm(be, &x, EPS, &x, &g3, &x),
                   "ada_layer_norm: shift", "does not broadcast to x");
    expect_invalid("ada y", pictor_ada_layer_norm(be, &x, EPS, &x, &x, &y),
                   "ada_layer_norm: y", "must have the shape of x");
    expect_invalid("ada NULL", pictor_ada_layer_norm(be, &x, EPS, NULL, &x, &x),
                   "ada_layer_norm", "scale is NULL");
    expect_invalid("gated gate", pictor_gated_add(be, &x, &xc, &g3), "gated_add: gate",
                   "does not broadcast to x");
    expect_invalid("gated y", pictor_gated_add(be, &x, &y, &x), "gated_add: y",
                   "must have the shape of x");
    expect_invalid("qk odd", pictor_rms_norm_rope(be, &qo, EPS, NULL, &cs, &cs, &qo),
                   "rms_norm_rope: x", "must be even");
    expect_invalid("qk 3-D", pictor_rms_norm_rope(be, &q3, EPS, NULL, &cs, &cs, &q3),
                   "rms_norm_rope: x", "must have 4 dims");
    expect_invalid("qk cos", pictor_rms_norm_rope(be, &q, EPS, NULL, &c5, &cs, &q),
                   "rms_norm_rope: cos", "must be [L=4, Dh=6]");
    expect_invalid("qk sin", pictor_rms_norm_rope(be, &q, EPS, NULL, &cs, &c5, &q),
                   "rms_norm_rope: sin", "must have the shape of cos");
    expect_invalid("qk weight", pictor_rms_norm_rope(be, &q, EPS, &w4, &cs, &cs, &q),
                   "rms_norm_rope: weight", "must be [6]");
    expect_invalid("qk y", pictor_rms_norm_rope(be, &q, EPS, NULL, &cs, &cs, &qo),
                   "rms_norm_rope: y", "must have the shape of x");
    tt_free(&x), tt_free(&y), tt_free(&sbt), tt_free(&g3), tt_free(&q), tt_free(&qo);
    tt_free(&cs), tt_free(&c5), tt_free(&w4), tt_free(&q3), tt_free(&xc);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        printf("FAIL setup: no CPU backend\n");
        return 1;
    }
    RUN(test_ada_layer_norm_f32);
    RUN(test_ada_layer_norm_layouts);
    RUN(test_ada_layer_norm_half);
    RUN(test_gated_add);
    RUN(test_gated_add_half_x);
    RUN(test_gated_add_long_rows);
    RUN(test_rms_norm_rope);
    RUN(test_bad_shapes);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
