/*
 * tests/unit/test_ops_sdpa_fp8.c — pictor_sdpa_fp8 (FP8 attention,
 * pictor/ops.h) on the CPU backend:
 *   - a hand-worked case: every quantisation step of the contract changes
 *     the result by a known amount (P's codes, V's codes, O's round trip);
 *   - FP8 attention against exact attention (f64 on the dequantised q, k
 *     and v): within FP8 error at FLUX's layout (permuted [B, L, H, D]
 *     views, bf16 v and o), Lq != Lk, B 2 and f32 output;
 *   - exact properties: o * scale_o is an E4M3 value (the output round
 *     trip happened), scaling v by 2^k scales o by exactly 2^k, moving a
 *     factor 2 from k's scale to q's changes no bit, and 1 or 3 threads
 *     give the same bytes;
 *   - bad operands fail with a message naming the op and operand, and
 *     pictor_op_supported says yes on the CPU.
 */
#include "ops_test_util.h"

/* FP8 attention vs exact: q, k and v are each rounded to 3 mantissa bits
 * (relative error up to 2^-4), and so are P and O. On random data the
 * measured rel_l2 is a few percent; the bound leaves room, and is still far
 * below what a wrong step gives (a missing descale is a factor, a transposed
 * operand is noise: rel_l2 ~ 1). */
#define TOL_EXACT 8e-2

static pictor_backend *be;

/* Exact attention of the dequantised operands (f64): q [B, H, Lq, D],
 * k, v [B, H, Lk, D] in any layout; returns [B, H, Lq, D] row-major. */
static double *exact(const pictor_tensor *q, const pictor_tensor *k, const pictor_tensor *v,
                     double scale)
{
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    int64_t Lk = k->shape[2];
    double *qd = tt_to_f64(q), *kd = tt_to_f64(k), *vd = tt_to_f64(v);
    double *o = tt_xmalloc((size_t)(B * H * Lq * D) * sizeof(double));
    double *s = tt_xmalloc((size_t)Lk * sizeof(double));

    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t i = 0; i < Lq; i++) {
            double mx = -INFINITY, sum = 0;
            double *out = o + (bh * Lq + i) * D;

            for (int64_t j = 0; j < Lk; j++) {
                double a = 0;
                for (int64_t d = 0; d < D; d++)
                    a += qd[(bh * Lq + i) * D + d] * kd[(bh * Lk + j) * D + d];
                s[j] = a * scale;
                mx = s[j] > mx ? s[j] : mx;
            }
            for (int64_t j = 0; j < Lk; j++)
                sum += s[j] = exp(s[j] - mx);
            for (int64_t d = 0; d < D; d++) {
                double a = 0;
                for (int64_t j = 0; j < Lk; j++)
                    a += s[j] / sum * vd[(bh * Lk + j) * D + d];
                out[d] = a;
            }
        }
    free(qd), free(kd), free(vd), free(s);
    return o;
}

/* E4M3 codes of uniform [-r, r) values, with per-tensor scale `scale`. */
static pictor_tensor fp8_rand(int ndim, const int64_t *shape, uint64_t seed, float r,
                              float scale)
{
    int64_t n = tt_numel(ndim, shape);
    float *v = tt_xmalloc((size_t)n * sizeof(float));
    pictor_tensor t;

    test_fill_uniform(v, (size_t)n, seed, -r, r);
    t = tt_make(PICTOR_F8_E4M3, ndim, shape, v, 0, scale);
    free(v);
    return t;
}

/* [B, L, H, D] storage viewed as [B, H, L, D] (FLUX's q/k/v layout). */
static pictor_tensor bhld(pictor_tensor *store)
{
    static const int perm[4] = { 0, 2, 1, 3 };

    return pictor_tensor_permute(store, perm);
}

/* Lk = 2, D = 1: scores [ln 9, 0] give p = [0.9, 0.1]; v = [1, 0].
 *   P codes: 0.9 * 448 = 403.2 -> 416 (E4M3 steps of 32 in [256, 448));
 *            0.1 * 448 = 44.8  -> 44  (steps of 4 in [32, 64)).
 *   V: amax 1, codes 448 and 0, dv = 1/448.
 *   O = (416 * 448 + 44 * 0) / 448 * (1/448) = 416/448 = 0.928571...
 *   scale_o = 448 / 1.0625 = 421.647; O * scale_o = 391.53 -> 384;
 *   o = 384 / 421.647 = 0.910714... (exact attention: 0.9). */
static void test_hand_worked(void)
{
    int64_t sq[4] = { 1, 1, 1, 1 }, sk[4] = { 1, 1, 2, 1 };
    float qv[1] = { 1.0f }, kv[2] = { 1.0f, 0.0f }, vv[2] = { 1.0f, 0.0f };
    pictor_tensor q = tt_make(PICTOR_F8_E4M3, 4, sq, qv, 0, 1.0f);
    pictor_tensor k = tt_make(PICTOR_F8_E4M3, 4, sk, kv, 0, 1.0f);
    pictor_tensor v = tt_make(PICTOR_F32, 4, sk, vv, 0, 1.0f);
    pictor_tensor o = tt_out(PICTOR_F32, 4, sq);
    double want = 384.0 / (448.0 / 1.0625);

    CHECK(pictor_sdpa_fp8(be, &q, &k, &v, logf(9.0f), &o) == PICTOR_OK, "sdpa_fp8: %s",
          pictor_backend_error(be));
    CHECK_NEAR(((float *)o.data)[0], want, 1e-6, "hand-worked o (0.910714)");
    /* Twice the values of v: every code is the same, o doubles exactly. */
    ((float *)v.data)[0] = 2.0f;
    CHECK(pictor_sdpa_fp8(be, &q, &k, &v, logf(9.0f), &o) == PICTOR_OK, "sdpa_fp8 2v");
    CHECK_NEAR(((float *)o.data)[0], 2 * want, 2e-6, "hand-worked o with 2v");
    tt_free(&q), tt_free(&k), tt_free(&v), tt_free(&o);
}

/* One FP8 attention at [B, H, Lq/Lk, D] in FLUX's layout against exact
 * attention; returns the rel_l2 (printed). */
static double check_exact(const char *what, int64_t B, int64_t H, int64_t Lq, int64_t Lk,
                          int64_t D, int odt, uint64_t seed)
{
    int64_t sq[4] = { B, Lq, H, D }, sk[4] = { B, Lk, H, D };
    /* q, k in [-3, 3) with descales 1/64 and 1/32: codes up to ~200 */
    pictor_tensor qs = fp8_rand(4, sq, seed, 3.0f * 64, 1.0f / 64);
    pictor_tensor ks = fp8_rand(4, sk, seed + 1, 3.0f * 32, 1.0f / 32);
    pictor_tensor vs = tt_range(PICTOR_BF16, 4, sk, seed + 2, -2.0f, 2.0f);
    pictor_tensor os = tt_out(odt, 4, sq);
    pictor_tensor q = bhld(&qs), k = bhld(&ks), v = bhld(&vs), o = bhld(&os);
    double scale = 1.0 / sqrt((double)D), err;
    double *ref = exact(&q, &k, &v, scale);

    CHECK(pictor_sdpa_fp8(be, &q, &k, &v, (float)scale, &o) == PICTOR_OK, "%s: %s", what,
          pictor_backend_error(be));
    err = tt_rel_l2(&o, ref);
    printf("  %s: rel_l2 vs exact attention %.4f\n", what, err);
    CHECK(err < TOL_EXACT, "%s: rel_l2 %.4f vs exact attention (bound %.2f)", what, err,
          TOL_EXACT);
    free(ref);
    tt_free(&qs), tt_free(&ks), tt_free(&vs), tt_free(&os);
    return err;
}

static void test_vs_exact(void)
{
    check_exact("flux-like B1 H3 L96 D64 bf16", 1, 3, 96, 96, 64, PICTOR_BF16, 11);
    check_exact("Lq 17 != Lk 40, B 2, D 32, f32", 2, 2, 17, 40, 32, PICTOR_F32, 21);
    check_exact("one key", 1, 2, 5, 1, 16, PICTOR_F32, 31);
}

/* Bytes of o for q, k (with their scales) and v. */
static void run_into(const pictor_tensor *q, const pictor_tensor *k, const pictor_tensor *v,
                     float scale, pictor_tensor *o, const char *what)
{
    CHECK(pictor_sdpa_fp8(be, q, k, v, scale, o) == PICTOR_OK, "%s: %s", what,
          pictor_backend_error(be));
}

static void test_exact_properties(void)
{
    int64_t s[4] = { 2, 33, 2, 16 }, n = tt_numel(4, s);
    pictor_tensor qs = fp8_rand(4, s, 41, 100.0f, 0.02f), ks = fp8_rand(4, s, 42, 100.0f, 0.04f);
    pictor_tensor vs = tt_range(PICTOR_F32, 4, s, 43, -3.0f, 1.0f);
    pictor_tensor o1 = tt_out(PICTOR_F32, 4, s), o2 = tt_out(PICTOR_F32, 4, s);
    pictor_tensor q = bhld(&qs), k = bhld(&ks), v = bhld(&vs), a = bhld(&o1), b = bhld(&o2);
    const float *x = o1.data, *y = o2.data, *vv = vs.data;
    float av = 0, so;
    int bad = 0;

    run_into(&q, &k, &v, 0.25f, &a, "base");
    for (int64_t i = 0; i < n; i++)
        av = fabsf(vv[i]) > av ? fabsf(vv[i]) : av;
    so = 448.0f / (av * PICTOR_SDPA_FP8_O_MARGIN);
    for (int64_t i = 0; i < n; i++) {
        float c = x[i] * so;
        bad += fabsf(c - pictor_e4m3_to_f32(pictor_f32_to_e4m3(c, true))) > 1e-4f * fabsf(c);
    }
    CHECK(bad == 0, "%d outputs times scale_o are not E4M3 values", bad);

    /* q's descale doubled, k's halved: the same scores, the same bytes */
    q.scale *= 2.0f, k.scale *= 0.5f;
    run_into(&q, &k, &v, 0.25f, &b, "scales moved");
    CHECK(memcmp(x, y, (size_t)n * sizeof(float)) == 0, "moving a factor 2 between q and k "
          "scales changed the output");
    q.scale *= 0.5f, k.scale *= 2.0f;

    /* v * 8: every code equal, o exactly 8 times */
    for (int64_t i = 0; i < n; i++)
        ((float *)vs.data)[i] *= 8.0f;
    run_into(&q, &k, &v, 0.25f, &b, "8 v");
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        bad += y[i] != 8.0f * x[i];
    CHECK(bad == 0, "%d outputs are not exactly 8 times the base with v * 8", bad);
    tt_free(&qs), tt_free(&ks), tt_free(&vs), tt_free(&o1), tt_free(&o2);
}

static void test_threads(void)
{
    int64_t s[4] = { 1, 70, 3, 32 }, n = tt_numel(4, s);
    pictor_tensor qs = fp8_rand(4, s, 51, 200.0f, 0.01f), ks = fp8_rand(4, s, 52, 200.0f, 0.01f);
    pictor_tensor vs = tt_rand(PICTOR_BF16, 4, s, 53);
    pictor_tensor o1 = tt_out(PICTOR_BF16, 4, s), o3 = tt_out(PICTOR_BF16, 4, s);
    pictor_tensor q = bhld(&qs), k = bhld(&ks), v = bhld(&vs), a = bhld(&o1), b = bhld(&o3);
    pictor_backend *one = pictor_backend_cpu_create(1), *three = pictor_backend_cpu_create(3);

    CHECK(one && three, "CPU backends");
    CHECK(pictor_sdpa_fp8(one, &q, &k, &v, 0.2f, &a) == PICTOR_OK, "1 thread");
    CHECK(pictor_sdpa_fp8(three, &q, &k, &v, 0.2f, &b) == PICTOR_OK, "3 threads");
    CHECK(memcmp(o1.data, o3.data, (size_t)n * 2) == 0, "1 and 3 threads differ");
    pictor_backend_destroy(one);
    pictor_backend_destroy(three);
    tt_free(&qs), tt_free(&ks), tt_free(&vs), tt_free(&o1), tt_free(&o3);
}

/* A call that must fail with PICTOR_E_INVALID and a message holding
 * `want`. */
static void expect_bad(const char *what, int rc, const char *want)
{
    const char *msg = pictor_backend_error(be);

    CHECK(rc == PICTOR_E_INVALID, "%s: rc %d, want PICTOR_E_INVALID", what, rc);
    CHECK(strstr(msg, "sdpa_fp8") && strstr(msg, want), "%s: message '%s' lacks '%s'", what,
          msg, want);
}

static void test_bad_operands(void)
{
    int64_t s[4] = { 1, 2, 8, 16 }, s2[4] = { 1, 2, 8, 8 };
    pictor_tensor q = fp8_rand(4, s, 61, 10.0f, 0.1f), k = fp8_rand(4, s, 62, 10.0f, 0.1f);
    pictor_tensor v = tt_rand(PICTOR_BF16, 4, s, 63), o = tt_out(PICTOR_BF16, 4, s);
    pictor_tensor qb = tt_rand(PICTOR_BF16, 4, s, 64), v8 = fp8_rand(4, s, 65, 1.0f, 1.0f);
    pictor_tensor vd = tt_rand(PICTOR_BF16, 4, s2, 66), qz = q, qr = q;
    float rs[1] = { 1.0f };
    struct pictor_op_args args = { .op = PICTOR_OP_SDPA_FP8 };

    expect_bad("bf16 q", pictor_sdpa_fp8(be, &qb, &k, &v, 1.0f, &o), "q");
    expect_bad("fp8 v", pictor_sdpa_fp8(be, &q, &k, &v8, 1.0f, &o), "v");
    expect_bad("fp8 o", pictor_sdpa_fp8(be, &q, &k, &v, 1.0f, &v8), "o");
    expect_bad("Dv != D", pictor_sdpa_fp8(be, &q, &k, &vd, 1.0f, &o), "v");
    qz.scale = 0.0f;
    expect_bad("zero q scale", pictor_sdpa_fp8(be, &qz, &k, &v, 1.0f, &o), "scale");
    qr.row_scale = rs;
    expect_bad("row scales", pictor_sdpa_fp8(be, &qr, &k, &v, 1.0f, &o), "row scales");
    expect_bad("inf scale", pictor_sdpa_fp8(be, &q, &k, &v, INFINITY, &o), "scale");

    args.u.sdpa_fp8.q = &q, args.u.sdpa_fp8.k = &k, args.u.sdpa_fp8.v = &v;
    args.u.sdpa_fp8.o = &o, args.u.sdpa_fp8.scale = 1.0f;
    CHECK(pictor_op_supported(be, &args), "the CPU backend runs sdpa_fp8");
    tt_free(&q), tt_free(&k), tt_free(&v), tt_free(&o), tt_free(&qb), tt_free(&v8),
        tt_free(&vd);
}

int main(void)
{
    be = pictor_backend_cpu_create(2);
    if (!be) {
        printf("FAIL setup: no CPU backend\n");
        return 1;
    }
    RUN(test_hand_worked);
    RUN(test_vs_exact);
    RUN(test_exact_properties);
    RUN(test_threads);
    RUN(test_bad_operands);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
