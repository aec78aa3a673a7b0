/*
 * tests/gpu/test_cross_fused.c — the fused FLUX ops (pictor_ada_layer_norm,
 * pictor_gated_add, pictor_rms_norm_rope) on the CUDA backend against the
 * CPU backend, from identical bytes (cross.h), with the operand layouts the
 * flux plugin uses: [B, 1, D] chunk views of a [B, k*D] modulation for
 * scale/shift/gate, the f32 residual stream's token slices, head views of a
 * projection's token slices with row slices of the RoPE tables, in place.
 *
 * Sizes choose the kernels' paths (kernels/cuda/op_fused.cu): [2, 77, 96]
 * and FLUX's [1, 4608, 3072] / 24 x 128 heads take the vectorised fast
 * path (rms_norm_rope: head dims 24..1024, 1 to 32 lanes per head); a
 * misaligned row start its scalar variant; D = 90, Dh = 18, a strided
 * last dim or a head dim of 1040 the generic kernels. Tolerances:
 * f32 1e-5, f16/bf16 1e-2 (rel_l2, cross.h). ada_layer_norm into an FP8
 * rows view (codes + per-row scales, kernels/cuda/op_fused_ada.cu) must
 * give the CPU's very bytes, codes and scales: FLUX's [1, 4096 + 512,
 * 3072] token slices, the small layouts above (fast, scalar-fast and
 * generic paths), odd and tiny D, zero/constant/huge/NaN rows. The
 * FLUX-size case also prints the fused ops' time against the composition
 * of existing ops they replace (informational, never asserted).
 *
 * PICTOR_CROSS_SELFTEST=1 runs it against a second CPU backend (checks the
 * test's plumbing without a GPU). Built by `make gpu-tests`, run by
 * tools/gpu-check; without a GPU it prints SKIP and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/ada_edge_rows.h"
#include "cross.h"

#define EPS 1e-6f
/* E4M3 outputs: a value whose f32 differs by an ulp across an E4M3
 * rounding boundary takes the neighbouring code (2^-4 relative); rare, so
 * the rel_l2 stays far below one code step. */
#define TOL_E4M3_CODES 1e-2
/* Timed runs per measurement on the GPU (after one untimed warm-up). */
#define TIMED_RUNS 20

/* Chunk i of a [B, k*D] modulation as a [B, 1, D] view (flux_chunk). */
static struct xt xt_chunk(const struct xt *mod, int i, int64_t D)
{
    struct xt v = xt_slice(mod, 1, (int64_t)i * D, D);

    v.c = pictor_tensor_unsqueeze(&v.c, 1);
    v.g = pictor_tensor_unsqueeze(&v.g, 1);
    return v;
}

/* [B, S, H, Dh] view of a [B, S, H*Dh] view with unit last stride
 * (flux_heads). */
static pictor_tensor heads_of(const pictor_tensor *t3, int64_t H)
{
    pictor_tensor v = *t3;

    v.ndim = 4;
    v.shape[3] = t3->shape[2] / H;
    v.shape[2] = H;
    v.stride[3] = t3->stride[2];
    v.stride[2] = t3->stride[2] * v.shape[3];
    return v;
}

static struct xt xt_heads(const struct xt *t3, int64_t H)
{
    struct xt v = *t3;

    v.owner = false;
    v.c = heads_of(&t3->c, H);
    v.g = heads_of(&t3->g, H);
    return v;
}

/* RoPE tables [N, Dh] (f32, both backends) for ids (t, t / 2, 3t) with
 * axes (Dh/4, Dh/4, Dh/2) (each even: Dh a multiple of 8) or, for other
 * Dh, one axis. */
static void rope_tables(int64_t N, int64_t Dh, struct xt *cs, struct xt *sn)
{
    int axes3[3] = { (int)Dh / 4, (int)Dh / 4, (int)Dh / 2 }, axes1[1] = { (int)Dh };
    bool three = Dh % 8 == 0;
    float *ids = xmalloc((size_t)N * 3 * sizeof(float));
    float *c = xmalloc((size_t)(N * Dh) * sizeof(float));
    float *s = xmalloc((size_t)(N * Dh) * sizeof(float));
    int64_t shape[2] = { N, Dh };

    for (int64_t t = 0; t < N; t++) {
        ids[3 * t] = (float)t;
        ids[3 * t + 1] = (float)(t / 2);
        ids[3 * t + 2] = (float)(3 * t);
    }
    if (three) {
        pictor_rope_tables(ids, N, 3, axes3, 10000.0, c, s);
    } else {
        for (int64_t t = 0; t < N; t++)
            ids[t] = (float)t;
        pictor_rope_tables(ids, N, 1, axes1, 10000.0, c, s);
    }
    *cs = xt_make(PICTOR_F32, 2, shape, c, 0, 0.0f, 0.0f, 1.0f);
    *sn = xt_make(PICTOR_F32, 2, shape, s, 0, 0.0f, 0.0f, 1.0f);
    free(ids);
    free(c);
    free(s);
}

/* ---- ada_layer_norm --------------------------------------------------- */

static void ada_case(const char *what, struct xt *x, struct xt *scale, struct xt *shift,
                     struct xt *y, double tol)
{
    check_rc(what, g_cpu, pictor_ada_layer_norm(g_cpu, &x->c, EPS, &scale->c, &shift->c, &y->c));
    check_rc(what, g_gpu, pictor_ada_layer_norm(g_gpu, &x->g, EPS, &scale->g, &shift->g, &y->g));
    xt_compare(what, y, tol);
}

static void test_ada_layer_norm(void)
{
    const int64_t B = 2, S = 77, D = 96, T = 5;
    char what[128];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        const char *dn = pictor_dtype_name(dt);
        /* The f32 residual stream [B, T + S, D]; the image tokens' slice. */
        struct xt h = xt_rand(PICTOR_F32, 3, (int64_t[]){ B, T + S, D }, 201, 1.0f, 5.0f);
        struct xt x = xt_slice(&h, 1, T, S);
        struct xt mod = xt_rand(dt, 2, (int64_t[]){ B, 6 * D }, 202, -1.0f, 1.0f);
        struct xt shift = xt_chunk(&mod, 3, D), scale = xt_chunk(&mod, 4, D);
        struct xt y = xt_rand(dt, 3, (int64_t[]){ B, S, D }, 203, 0.0f, 1.0f);
        struct xt z = xt_rand(dt, 3, (int64_t[]){ B, S, D }, 204, -3.0f, 3.0f);
        /* Rows starting one element past an aligned start: scalar fast path. */
        struct xt hm = xt_rand(dt, 3, (int64_t[]){ B, S, D + 1 }, 205, -2.0f, 4.0f);
        struct xt xm = xt_slice(&hm, 2, 1, D);
        /* D = 90 (not a multiple of 8) and a transposed x: generic path. */
        struct xt x90 = xt_rand(dt, 3, (int64_t[]){ B, S, 90 }, 206, -2.0f, 2.0f);
        struct xt m90 = xt_rand(dt, 2, (int64_t[]){ B, 2 * 90 }, 207, -1.0f, 1.0f);
        struct xt sh90 = xt_chunk(&m90, 0, 90), sc90 = xt_chunk(&m90, 1, 90);
        struct xt y90 = xt_rand(dt, 3, (int64_t[]){ B, S, 90 }, 208, 0.0f, 1.0f);
        struct xt xtb = xt_rand(dt, 3, (int64_t[]){ B, D, S }, 209, -2.0f, 2.0f);
        struct xt xs = xt_transpose(&xtb, 1, 2);

        snprintf(what, sizeof what, "ada_layer_norm f32 x -> %s y, chunk views", dn);
        ada_case(what, &x, &scale, &shift, &y, tol_for(dt));
        snprintf(what, sizeof what, "ada_layer_norm %s in place", dn);
        ada_case(what, &z, &scale, &shift, &z, tol_for(dt));
        snprintf(what, sizeof what, "ada_layer_norm %s misaligned rows", dn);
        ada_case(what, &xm, &scale, &shift, &y, tol_for(dt));
        snprintf(what, sizeof what, "ada_layer_norm %s D=90 generic", dn);
        ada_case(what, &x90, &sc90, &sh90, &y90, tol_for(dt));
        snprintf(what, sizeof what, "ada_layer_norm %s strided x generic", dn);
        ada_case(what, &xs, &scale, &shift, &y, tol_for(dt));
        xt_free(&h);
        xt_free(&mod);
        xt_free(&y);
        xt_free(&z);
        xt_free(&hm);
        xt_free(&x90);
        xt_free(&m90);
        xt_free(&y90);
        xt_free(&xtb);
    }
}

/* ---- ada_layer_norm into an FP8 rows view ------------------------------ */

/* Codes [rows, D] and row scales on both backends (garbage-filled), then
 * the fused op on each: the same bytes. */
static void ada_fp8_case(const char *what, struct xt *x, struct xt *scale, struct xt *shift)
{
    int64_t D = x->c.shape[x->c.ndim - 1], rows = pictor_tensor_numel(&x->c) / D;
    struct xt codes = xt_rand(PICTOR_F8_E4M3, 2, (int64_t[]){ rows, D }, 301, -1.0f, 1.0f);
    struct xt sc = xt_rand(PICTOR_F32, 1, &rows, 302, -2.0f, -1.0f);
    pictor_tensor vc = pictor_fp8_rows_view(&codes.c, &sc.c);
    pictor_tensor vg = pictor_fp8_rows_view(&codes.g, &sc.g);
    char w2[192];

    check_rc(what, g_cpu, pictor_ada_layer_norm(g_cpu, &x->c, EPS, &scale->c, &shift->c, &vc));
    check_rc(what, g_gpu, pictor_ada_layer_norm(g_gpu, &x->g, EPS, &scale->g, &shift->g, &vg));
    snprintf(w2, sizeof w2, "%s: codes", what);
    xt_same_bytes(w2, &codes);
    snprintf(w2, sizeof w2, "%s: row scales", what);
    xt_same_bytes(w2, &sc);
    xt_free(&codes);
    xt_free(&sc);
}

static void test_ada_layer_norm_fp8(void)
{
    const int64_t B = 2, S = 77, D = 96, T = 5;
    char what[128];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        const char *dn = pictor_dtype_name(dt);
        /* x: the f32 residual stream's image and text token slices. */
        struct xt h = xt_rand(PICTOR_F32, 3, (int64_t[]){ B, T + S, D }, 311, -2.0f, 6.0f);
        struct xt img = xt_slice(&h, 1, T, S), txt = xt_slice(&h, 1, 0, T);
        struct xt mod = xt_rand(dt, 2, (int64_t[]){ B, 6 * D }, 312, -1.0f, 1.0f);
        struct xt shift = xt_chunk(&mod, 3, D), scale = xt_chunk(&mod, 4, D);
        /* x of dtype dt: contiguous, misaligned rows, D = 90, transposed. */
        struct xt z = xt_rand(dt, 3, (int64_t[]){ B, S, D }, 313, -3.0f, 3.0f);
        struct xt hm = xt_rand(dt, 3, (int64_t[]){ B, S, D + 1 }, 314, -2.0f, 4.0f);
        struct xt xm = xt_slice(&hm, 2, 1, D);
        struct xt x90 = xt_rand(dt, 3, (int64_t[]){ B, S, 90 }, 315, -2.0f, 2.0f);
        struct xt m90 = xt_rand(dt, 2, (int64_t[]){ B, 2 * 90 }, 316, -1.0f, 1.0f);
        struct xt sh90 = xt_chunk(&m90, 0, 90), sc90 = xt_chunk(&m90, 1, 90);
        struct xt xtb = xt_rand(dt, 3, (int64_t[]){ B, D, S }, 317, -2.0f, 2.0f);
        struct xt xs = xt_transpose(&xtb, 1, 2);

        snprintf(what, sizeof what, "ada fp8 f32 image tokens, %s chunk views", dn);
        ada_fp8_case(what, &img, &scale, &shift);
        snprintf(what, sizeof what, "ada fp8 f32 text tokens, %s chunk views", dn);
        ada_fp8_case(what, &txt, &scale, &shift);
        snprintf(what, sizeof what, "ada fp8 %s x", dn);
        ada_fp8_case(what, &z, &scale, &shift);
        snprintf(what, sizeof what, "ada fp8 %s misaligned rows", dn);
        ada_fp8_case(what, &xm, &scale, &shift);
        snprintf(what, sizeof what, "ada fp8 %s D=90 generic", dn);
        ada_fp8_case(what, &x90, &sc90, &sh90);
        snprintf(what, sizeof what, "ada fp8 %s strided x generic", dn);
        ada_fp8_case(what, &xs, &scale, &shift);
        xt_free(&h);
        xt_free(&mod);
        xt_free(&z);
        xt_free(&hm);
        xt_free(&x90);
        xt_free(&m90);
        xt_free(&xtb);
    }
}

/* Tiny and odd rows (D = 1, 7, 24, 8200: generic and fast paths at their
 * edges) and edge rows: all zeros and constant with zero shift (the amax
 * floor), huge x with a large scale and shift, a NaN. */
static void test_ada_fp8_edges(void)
{
    static const int64_t dims[][2] = { { 3, 1 }, { 5, 7 }, { 9, 24 }, { 2, 8200 } };
    char what[96];

    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int64_t R = dims[i][0], D = dims[i][1];
        struct xt x = xt_rand(PICTOR_F32, 2, (int64_t[]){ R, D }, 320 + i, -1.0f, 3.0f);
        struct xt a = xt_rand(PICTOR_BF16, 1, &D, 330 + i, -1.0f, 1.0f);
        struct xt b = xt_rand(PICTOR_BF16, 1, &D, 340 + i, -1.0f, 1.0f);

        snprintf(what, sizeof what, "ada fp8 f32 [%lld, %lld]", (long long)R, (long long)D);
        ada_fp8_case(what, &x, &a, &b);
        xt_free(&x), xt_free(&a), xt_free(&b);
    }

    const int64_t B = ADA_EDGE_B, S = 6, D = 64;
    float *xv = xmalloc((size_t)(B * S * D) * sizeof(float));
    float *av = xmalloc((size_t)(B * D) * sizeof(float));
    float *bv = xmalloc((size_t)(B * D) * sizeof(float));

    ada_edge_rows(xv, av, bv, S, D, 350);
    struct xt x = xt_make(PICTOR_F32, 3, (int64_t[]){ B, S, D }, xv, 0, 0, 0, 1.0f);
    struct xt a = xt_make(PICTOR_F32, 3, (int64_t[]){ B, 1, D }, av, 0, 0, 0, 1.0f);
    struct xt b = xt_make(PICTOR_F32, 3, (int64_t[]){ B, 1, D }, bv, 0, 0, 0, 1.0f);

    ada_fp8_case("ada fp8 edge rows (zeros, constant, huge, NaN)", &x, &a, &b);
    xt_free(&x), xt_free(&a), xt_free(&b);
    free(xv), free(av), free(bv);
}

/* ---- gated_add -------------------------------------------------------- */

/* x += gate * y on both backends; x compared, y must be unchanged. */
static void gated_case(const char *what, struct xt *x, struct xt *y, struct xt *gate,
                       double tol)
{
    char w2[160];

    check_rc(what, g_cpu, pictor_gated_add(g_cpu, &x->c, &y->c, &gate->c));
    check_rc(what, g_gpu, pictor_gated_add(g_gpu, &x->g, &y->g, &gate->g));
    xt_compare(what, x, tol);
    snprintf(w2, sizeof w2, "%s: y untouched", what);
    xt_same_bytes(w2, y);
}

static void test_gated_add(void)
{
    const int64_t B = 2, S = 77, D = 96, T = 5;
    char what[128];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        const char *dn = pictor_dtype_name(dt);
        struct xt h = xt_rand(PICTOR_F32, 3, (int64_t[]){ B, T + S, D }, 211, -2.0f, 2.0f);
        struct xt x = xt_slice(&h, 1, T, S);
        struct xt y = xt_rand(dt, 3, (int64_t[]){ B, S, D }, 212, -2.0f, 2.0f);
        struct xt mod = xt_rand(dt, 2, (int64_t[]){ B, 6 * D }, 213, -1.0f, 1.0f);
        struct xt gate = xt_chunk(&mod, 2, D);
        struct xt x16 = xt_rand(dt, 3, (int64_t[]){ B, S, D }, 214, -2.0f, 2.0f);
        struct xt hm = xt_rand(PICTOR_F32, 3, (int64_t[]){ B, S, D + 1 }, 215, -2.0f, 2.0f);
        struct xt xm = xt_slice(&hm, 2, 1, D);
        struct xt x90 = xt_rand(PICTOR_F32, 3, (int64_t[]){ B, S, 90 }, 216, -2.0f, 2.0f);
        struct xt y90 = xt_rand(dt, 3, (int64_t[]){ B, S, 90 }, 217, -2.0f, 2.0f);
        struct xt m90 = xt_rand(dt, 2, (int64_t[]){ B, 3 * 90 }, 218, -1.0f, 1.0f);
        struct xt g90 = xt_chunk(&m90, 2, 90);

        snprintf(what, sizeof what, "gated_add f32 residual += %s, chunk gate", dn);
        gated_case(what, &x, &y, &gate, TOL_F32);
        snprintf(what, sizeof what, "gated_add %s x", dn);
        gated_case(what, &x16, &y, &gate, tol_for(dt));
        snprintf(what, sizeof what, "gated_add %s misaligned x rows", dn);
        gated_case(what, &xm, &y, &gate, TOL_F32);
        snprintf(what, sizeof what, "gated_add %s D=90 generic", dn);
        gated_case(what, &x90, &y90, &g90, TOL_F32);
        xt_free(&h);
        xt_free(&y);
        xt_free(&mod);
        xt_free(&x16);
        xt_free(&hm);
        xt_free(&x90);
        xt_free(&y90);
        xt_free(&m90);
    }
}

/* ---- rms_norm_rope ---------------------------------------------------- */

/* One stream of a joint sequence: q [B, N, H*Dh] of dtype dt, tokens
 * [t0, t0 + S) as heads, the tables' rows [t0, t0 + S). In place on the
 * head view (as the flux blocks run it) and into a contiguous y; with and
 * without weight. */
static void qk_case(int dt, int64_t B, int64_t N, int64_t t0, int64_t S, int64_t H,
                    int64_t Dh, const char *path)
{
    const char *dn = pictor_dtype_name(dt);
    struct xt cs, sn;
    struct xt q = xt_rand(dt, 3, (int64_t[]){ B, N, H * Dh }, 221 + Dh, -3.0f, 3.0f);
    struct xt qs = xt_slice(&q, 1, t0, S), qh = xt_heads(&qs, H);
    struct xt w = xt_rand(dt, 1, (int64_t[]){ Dh }, 222, 0.5f, 1.5f);
    struct xt y = xt_rand(dt, 4, (int64_t[]){ B, S, H, Dh }, 223, 0.0f, 1.0f);
    struct xt y8 = xt_rand(PICTOR_F8_E4M3, 4, (int64_t[]){ B, S, H, Dh }, 224, 0.0f, 1.0f);
    char what[160];

    rope_tables(N, Dh, &cs, &sn);
    struct xt css = xt_slice(&cs, 0, t0, S), sns = xt_slice(&sn, 0, t0, S);
    snprintf(what, sizeof what, "rms_norm_rope %s [%lld, %lld, %lld, %lld] %s into y", dn,
             (long long)B, (long long)S, (long long)H, (long long)Dh, path);
    check_rc(what, g_cpu, pictor_rms_norm_rope(g_cpu, &qh.c, EPS, NULL, &css.c, &sns.c, &y.c));
    check_rc(what, g_gpu, pictor_rms_norm_rope(g_gpu, &qh.g, EPS, NULL, &css.g, &sns.g, &y.g));
    xt_compare(what, &y, tol_for(dt));
    snprintf(what, sizeof what, "rms_norm_rope %s [%lld, %lld, %lld, %lld] %s weight in place",
             dn, (long long)B, (long long)S, (long long)H, (long long)Dh, path);
    check_rc(what, g_cpu, pictor_rms_norm_rope(g_cpu, &qh.c, EPS, &w.c, &css.c, &sns.c, &qh.c));
    check_rc(what, g_gpu, pictor_rms_norm_rope(g_gpu, &qh.g, EPS, &w.g, &css.g, &sns.g, &qh.g));
    xt_compare(what, &q, tol_for(dt)); /* the slice, and the untouched rows around it */
    /* Into E4M3 with a per-tensor scale (FLUX's FP8 attention: the bound
     * sqrt(Dh) * max|w| over 448, flux_attn_fp8.c): the GPU's f32 values
     * equal the CPU's to rounding, so nearly every code is the same. */
    snprintf(what, sizeof what, "rms_norm_rope %s [%lld, %lld, %lld, %lld] %s into e4m3", dn,
             (long long)B, (long long)S, (long long)H, (long long)Dh, path);
    y8.c.scale = y8.g.scale = sqrtf((float)Dh) * 1.5f / 448.0f;
    check_rc(what, g_cpu, pictor_rms_norm_rope(g_cpu, &qh.c, EPS, &w.c, &css.c, &sns.c, &y8.c));
    check_rc(what, g_gpu, pictor_rms_norm_rope(g_gpu, &qh.g, EPS, &w.g, &css.g, &sns.g, &y8.g));
    xt_compare(what, &y8, TOL_E4M3_CODES);
    xt_free(&q);
    xt_free(&w);
    xt_free(&y);
    xt_free(&y8);
    xt_free(&cs);
    xt_free(&sn);
}

static void test_rms_norm_rope(void)
{
    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];

        /* Fast path: lanes per row G = 4 (8 rows a warp, the last warp
         * partly past the end), 1 (3 chunks in 4 lanes), 16, 32 with 2 and
         * 4 chunks per lane. */
        qk_case(dt, 2, 90, 13, 77, 3, 32, "fast");   /* the image stream */
        qk_case(dt, 2, 90, 0, 13, 3, 32, "fast");    /* the text stream */
        qk_case(dt, 2, 9, 4, 5, 3, 24, "fast");
        qk_case(dt, 1, 40, 3, 37, 24, 128, "fast");  /* FLUX heads */
        qk_case(dt, 1, 9, 2, 7, 3, 512, "fast");
        qk_case(dt, 1, 6, 1, 5, 2, 1024, "fast");
        /* Generic kernel: Dh % 8 != 0, Dh > 1024. */
        qk_case(dt, 2, 20, 2, 17, 3, 18, "generic");
        qk_case(dt, 1, 6, 1, 5, 2, 1040, "generic");
    }
}

/* ---- FLUX size: GPU vs CPU once, then timings on the GPU --------------- */

struct flux_ops { /* GPU operands of the FLUX-size case */
    pictor_tensor *x, *scale, *shift, *s1p, *one, *y; /* ada */
    pictor_tensor *gate, *tmp;                         /* gated_add: x += gate * y */
    pictor_tensor *q, *w, *cs, *sn;                    /* rms_norm_rope */
    pictor_tensor *q8, *s8, *v8;                       /* ada into FP8: codes, scales, view */
};

typedef int (*flux_fn)(pictor_backend *be, const struct flux_ops *o);

static int ada_fused(pictor_backend *be, const struct flux_ops *o)
{
    return pictor_ada_layer_norm(be, o->x, EPS, o->scale, o->shift, o->y);
}

/* What flux_modulate + flux_one_plus ran before the fused op. */
static int ada_composed(pictor_backend *be, const struct flux_ops *o)
{
    int rc;

    if ((rc = pictor_add(be, o->scale, o->one, o->s1p)) ||
        (rc = pictor_layer_norm(be, o->x, EPS, NULL, NULL, o->y)) ||
        (rc = pictor_mul(be, o->y, o->s1p, o->y)))
        return rc;
    return pictor_add(be, o->y, o->shift, o->y);
}

static int ada_fp8_fused(pictor_backend *be, const struct flux_ops *o)
{
    return pictor_ada_layer_norm(be, o->x, EPS, o->scale, o->shift, o->v8);
}

/* What the flux blocks ran before: AdaLN into bf16, then quantize_rows. */
static int ada_fp8_composed(pictor_backend *be, const struct flux_ops *o)
{
    int rc = pictor_ada_layer_norm(be, o->x, EPS, o->scale, o->shift, o->y);

    return rc ? rc : pictor_quantize_rows(be, o->y, o->q8, o->s8);
}

static int gated_fused(pictor_backend *be, const struct flux_ops *o)
{
    return pictor_gated_add(be, o->x, o->y, o->gate);
}

static int gated_composed(pictor_backend *be, const struct flux_ops *o)
{
    int rc = pictor_mul(be, o->y, o->gate, o->tmp);

    return rc ? rc : pictor_add(be, o->x, o->tmp, o->x);
}

static int qk_fused(pictor_backend *be, const struct flux_ops *o)
{
    return pictor_rms_norm_rope(be, o->q, EPS, o->w, o->cs, o->sn, o->q);
}

static int qk_composed(pictor_backend *be, const struct flux_ops *o)
{
    int rc = pictor_rms_norm(be, o->q, EPS, o->w, o->q);

    return rc ? rc : pictor_rope(be, o->q, o->cs, o->sn, o->q);
}

struct fn_timed {
    flux_fn fn;
    const struct flux_ops *o;
};

static int fn_call(pictor_backend *be, const void *ctx)
{
    const struct fn_timed *t = ctx;

    return t->fn(be, t->o);
}

/* Milliseconds per call of fn on be, or -1 on failure. */
static double time_ms(const char *what, pictor_backend *be, flux_fn fn, const struct flux_ops *o,
                      int runs)
{
    struct fn_timed t = { fn, o };

    return cross_time_ms(what, be, runs, fn_call, &t);
}

/* Prints fused vs composed time and the fused op's effective bandwidth. */
static void print_times(const char *what, const struct flux_ops *o, flux_fn fused,
                        flux_fn composed, double bytes, int runs)
{
    double f = time_ms(what, g_gpu, fused, o, runs), c = time_ms(what, g_gpu, composed, o, runs);

    if (f > 0 && c > 0)
        printf("# %s on %s: fused %.3f ms (%.0f GB/s), composed %.3f ms, %.2fx\n", what,
               g_is_cuda ? "cuda" : "cpu (self-test)", f, bytes / f / 1e6, c, c / f);
}

static void test_flux_size(void)
{
    if (cross_emu_skip("FLUX size (and timings)"))
        return;
    const int64_t L = 4608, D = 3072, H = 24, Dh = 128;
    const int runs = g_is_cuda ? TIMED_RUNS : 1;
    struct xt x = xt_rand(PICTOR_F32, 3, (int64_t[]){ 1, L, D }, 231, -2.0f, 6.0f);
    struct xt mod = xt_rand(PICTOR_BF16, 2, (int64_t[]){ 1, 6 * D }, 232, -1.0f, 1.0f);
    struct xt shift = xt_chunk(&mod, 0, D), scale = xt_chunk(&mod, 1, D);
    struct xt gate = xt_chunk(&mod, 2, D);
    struct xt y = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 1, L, D }, 233, 0.0f, 1.0f);
    struct xt y2 = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 1, L, D }, 238, -2.0f, 2.0f);
    struct xt s1p = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 1, 1, D }, 234, 0.0f, 1.0f);
    struct xt one = xt_make(PICTOR_BF16, 1, (int64_t[]){ 1 }, (float[]){ 1.0f }, 0, 0, 0, 1);
    struct xt tmp = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 1, L, D }, 235, 0.0f, 1.0f);
    struct xt q = xt_rand(PICTOR_BF16, 3, (int64_t[]){ 1, L, D }, 236, -3.0f, 3.0f);
    struct xt qh = xt_heads(&q, H);
    struct xt w = xt_rand(PICTOR_BF16, 1, (int64_t[]){ Dh }, 237, 0.5f, 1.5f);
    struct xt cs, sn;
    /* FP8 output of the image tokens (rows 512..4607) and the text tokens
     * (rows 0..511), and of all 4608 rows (the single blocks). */
    const int64_t T = 512, rows = L;
    struct xt img = xt_slice(&x, 1, T, L - T), txt = xt_slice(&x, 1, 0, T);
    struct xt q8 = xt_make(PICTOR_F8_E4M3, 3, (int64_t[]){ 1, L, D }, NULL, 1, 0, 0, 1.0f);
    struct xt s8 = xt_rand(PICTOR_F32, 1, &rows, 239, 0.0f, 1.0f);
    pictor_tensor v8 = pictor_fp8_rows_view(&q8.g, &s8.g);
    struct flux_ops o = { &x.g, &scale.g, &shift.g, &s1p.g, &one.g, &y.g,
                          &gate.g, &tmp.g, &qh.g, &w.g, NULL, NULL,
                          &q8.g, &s8.g, &v8 };
    double n = (double)(L * D);

    rope_tables(L, Dh, &cs, &sn);
    o.cs = &cs.g;
    o.sn = &sn.g;
    ada_fp8_case("ada fp8 FLUX image tokens [1, 4096, 3072] f32, bf16 chunks", &img, &scale,
                 &shift);
    ada_fp8_case("ada fp8 FLUX text tokens [1, 512, 3072] f32, bf16 chunks", &txt, &scale,
                 &shift);
    ada_fp8_case("ada fp8 FLUX all tokens [1, 4608, 3072] f32, bf16 chunks", &x, &scale,
                 &shift);
    /* GPU vs CPU once (gated_add from a y2 identical on both backends). */
    ada_case("ada_layer_norm FLUX [1, 4608, 3072] f32 -> bf16", &x, &scale, &shift, &y,
             TOL_HALF);
    gated_case("gated_add FLUX [1, 4608, 3072] f32 += bf16", &x, &y2, &gate, TOL_F32);
    check_rc("rms_norm_rope FLUX", g_cpu,
             pictor_rms_norm_rope(g_cpu, &qh.c, EPS, &w.c, &cs.c, &sn.c, &qh.c));
    check_rc("rms_norm_rope FLUX", g_gpu,
             pictor_rms_norm_rope(g_gpu, &qh.g, EPS, &w.g, &cs.g, &sn.g, &qh.g));
    xt_compare("rms_norm_rope FLUX [1, 4608, 24, 128] bf16 in place", &q, TOL_HALF);
    /* Timings (bytes: each operand element read or written once). */
    print_times("ada_layer_norm [1, 4608, 3072] f32 -> bf16", &o, ada_fused, ada_composed,
                n * (4 + 2), runs);
    print_times("ada_layer_norm [1, 4608, 3072] f32 -> fp8 rows (vs -> bf16 + quantize_rows)",
                &o, ada_fp8_fused, ada_fp8_composed, n * (4 + 1), runs);
    print_times("gated_add [1, 4608, 3072] f32 += bf16", &o, gated_fused, gated_composed,
                n * (4 + 4 + 2), runs);
    print_times("rms_norm_rope [1, 4608, 24, 128] bf16 in place", &o, qk_fused, qk_composed,
                n * (2 + 2) + (double)(L * Dh) * 8, runs);
    xt_free(&x);
    xt_free(&mod);
    xt_free(&y);
    xt_free(&y2);
    xt_free(&s1p);
    xt_free(&one);
    xt_free(&tmp);
    xt_free(&q);
    xt_free(&w);
    xt_free(&cs);
    xt_free(&sn);
    xt_free(&q8);
    xt_free(&s8);
}

int main(void)
{
    int rc = cross_setup("cross-fused");

    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_ada_layer_norm);
    RUN(test_ada_layer_norm_fp8);
    RUN(test_ada_fp8_edges);
    RUN(test_gated_add);
    RUN(test_rms_norm_rope);
    RUN(test_flux_size);
    cross_teardown();
    TEST_MAIN_END();
}
