/*
 * tests/unit/test_ops_attention.c — the CPU backend's sdpa against the
 * naive formula in double: B=2, H=3, Lq != Lk, D = 16 / 64, masks of
 * several broadcast shapes, causal (top-left), a fully masked row giving
 * zeros, q/k/v as permuted views of [B, L, H, D] storage, bf16 operands and
 * a strided output; plus a VAE-like timing line (CPU, informational).
 */
#include <time.h>

#include "ops_test_util.h"

#define TEST_THREADS 2
#define TOL_F32 1e-5
/* The timing case's L and D: VAE-sized normally, small under ASan. */
#ifdef __SANITIZE_ADDRESS__
#define PERF_L 256
#define PERF_D 128
#else
#define PERF_L 1024
#define PERF_D 512
#endif

static pictor_backend *be;

/* o[b,h,i,:] = sum_j softmax_j(scale q.k + mask [causal]) v[j,:]; a row
 * with every score -inf gives zeros. */
static double *ref_sdpa(const pictor_tensor *q, const pictor_tensor *k,
                        const pictor_tensor *v, const pictor_tensor *mask,
                        double scale, bool causal)
{
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2];
    int64_t D = q->shape[3], Lk = k->shape[2], Dv = v->shape[3];
    double *qs = tt_to_f64(q), *ks = tt_to_f64(k), *vs = tt_to_f64(v);
    double *out = tt_xmalloc((size_t)(B * H * Lq * Dv) * sizeof(double));
    double *s = tt_xmalloc((size_t)Lk * sizeof(double));

    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++) {
                const double *qi = qs + ((b * H + h) * Lq + i) * D;
                double *o = out + ((b * H + h) * Lq + i) * Dv, mx = -INFINITY;
                double sum = 0;

                for (int64_t j = 0; j < Lk; j++) {
                    const double *kj = ks + ((b * H + h) * Lk + j) * D;
                    double d = 0;
                    for (int64_t c = 0; c < D; c++)
                        d += qi[c] * kj[c];
                    d *= scale;
                    if (mask) {
                        int64_t idx[4], full[4] = { b, h, i, j };
                        int off = 4 - mask->ndim;
                        for (int m = 0; m < mask->ndim; m++)
                            idx[m] = mask->shape[m] == 1 ? 0 : full[m + off];
                        d += tt_get(mask, idx);
                    }
                    if (causal && j > i)
                        d = -INFINITY;
                    s[j] = d;
                    mx = d > mx ? d : mx;
                }
                for (int64_t c = 0; c < Dv; c++)
                    o[c] = 0;
                if (mx == -INFINITY)
                    continue;
                for (int64_t j = 0; j < Lk; j++) {
                    s[j] = exp(s[j] - mx);
                    sum += s[j];
                }
                for (int64_t j = 0; j < Lk; j++) {
                    const double *vj = vs + ((b * H + h) * Lk + j) * Dv;
                    for (int64_t c = 0; c < Dv; c++)
                        o[c] += s[j] / sum * vj[c];
                }
            }
    free(qs), free(ks), free(vs), free(s);
    return out;
}

/* q/k/v as [B, H, L, D] views of [B, L, H, D] storage when permuted. */
static pictor_tensor make_qkv(int dtype, int64_t B, int64_t H, int64_t L,
                              int64_t D, bool permuted, uint64_t seed)
{
    int64_t bhld[4] = { B, H, L, D }, blhd[4] = { B, L, H, D };
    int perm[4] = { 0, 2, 1, 3 };

    return permuted ? tt_rand_permuted(dtype, 4, blhd, perm, seed)
                    : tt_rand(dtype, 4, bhld, seed);
}

static void check_case(int64_t Lq, int64_t Lk, int64_t D, int64_t Dv,
                       const pictor_tensor *mask, bool causal, bool permuted,
                       int dtype, const char *what)
{
    int64_t B = 2, H = 3, so[4] = { B, H, Lq, Dv };
    pictor_tensor q = make_qkv(dtype, B, H, Lq, D, permuted, 1);
    pictor_tensor k = make_qkv(dtype, B, H, Lk, D, permuted, 2);
    pictor_tensor v = make_qkv(dtype, B, H, Lk, Dv, permuted, 3);
    pictor_tensor o = tt_out(PICTOR_F32, 4, so);
    float scale = 1.0f / sqrtf((float)D);
    int rc = pictor_sdpa(be, &q, &k, &v, mask, scale, causal, &o);

    CHECK(rc == PICTOR_OK, "%s: %s", what, pictor_backend_error(be));
    if (rc == PICTOR_OK) {
        double *ref = ref_sdpa(&q, &k, &v, mask, scale, causal);
        double e = tt_rel_l2(&o, ref);

        CHECK(e <= TOL_F32, "%s (Lq %lld Lk %lld D %lld): rel_l2 %g", what,
              (long long)Lq, (long long)Lk, (long long)D, e);
        free(ref);
    }
    tt_free(&q), tt_free(&k), tt_free(&v), tt_free(&o);
}

static void test_sdpa_plain(void)
{
    check_case(5, 9, 16, 16, NULL, false, false, PICTOR_F32, "plain D16");
    check_case(70, 33, 64, 64, NULL, false, false, PICTOR_F32, "plain D64");
    check_case(1, 130, 64, 16, NULL, false, false, PICTOR_F32, "Dv != D");
    check_case(67, 67, 16, 16, NULL, false, true, PICTOR_F32,
               "permuted [B,L,H,D] views");
    check_case(9, 13, 64, 64, NULL, false, true, PICTOR_BF16, "bf16");
}

static void test_sdpa_causal(void)
{
    check_case(70, 70, 16, 16, NULL, true, false, PICTOR_F32, "causal sq");
    check_case(7, 12, 16, 16, NULL, true, true, PICTOR_F32, "causal Lq<Lk");
    check_case(130, 20, 64, 64, NULL, true, false, PICTOR_F32,
               "causal Lq>Lk");
    /* Causal blocks see fewer keys than Lk (here 512 of 600): their GEMM
     * tiles differ from the full-width ones (scratch sizing). */
    check_case(600, 600, 16, 16, NULL, true, false, PICTOR_F32,
               "causal L=600");
}

static void test_sdpa_masks(void)
{
    int64_t Lq = 9, Lk = 13;
    int64_t shapes[][4] = { { 2, 3, 9, 13 }, { 1, 1, 9, 13 }, { 2, 1, 1, 13 },
                            { 0, 0, 9, 13 }, { 0, 0, 0, 13 } };
    int ndims[] = { 4, 4, 4, 2, 1 };

    for (int s = 0; s < 5; s++) {
        int nd = ndims[s];
        const int64_t *sh = shapes[s] + (4 - nd);
        pictor_tensor m = tt_rand(PICTOR_F32, nd, sh, 50 + s);
        char what[64];

        snprintf(what, sizeof what, "mask ndim %d [..., %lld, %lld]", nd,
                 (long long)(nd >= 2 ? sh[nd - 2] : 1), (long long)sh[nd - 1]);
        check_case(Lq, Lk, 16, 16, &m, false, false, PICTOR_F32, what);
        check_case(Lq, Lk, 64, 64, &m, true, true, PICTOR_F32, what);
        tt_free(&m);
    }
}

/* A -inf mask over a whole row: that row of o is zeros, others normal. */
static void test_sdpa_fully_masked_row(void)
{
    int64_t Lq = 4, Lk = 6, sm[2] = { 4, 6 };
    float mv[24];
    pictor_tensor m;

    for (int i = 0; i < 24; i++)
        mv[i] = (i / 6 == 2) ? -INFINITY : ((i % 3 == 0) ? -INFINITY : 0.25f);
    m = tt_make(PICTOR_F32, 2, sm, mv, 0, 1.0f);
    check_case(Lq, Lk, 16, 16, &m, false, false, PICTOR_F32,
               "fully masked row");
    {
        int64_t so[4] = { 2, 3, Lq, 16 };
        pictor_tensor q = make_qkv(PICTOR_F32, 2, 3, Lq, 16, false, 1);
        pictor_tensor k = make_qkv(PICTOR_F32, 2, 3, Lk, 16, false, 2);
        pictor_tensor v = make_qkv(PICTOR_F32, 2, 3, Lk, 16, false, 3);
        pictor_tensor o = tt_out(PICTOR_F32, 4, so);
        const float *po = o.data;
        bool zeros = true, finite = true;

        CHECK(pictor_sdpa(be, &q, &k, &v, &m, 0.25f, false, &o) == PICTOR_OK,
              "%s", pictor_backend_error(be));
        for (int64_t bh = 0; bh < 6; bh++)
            for (int64_t i = 0; i < Lq; i++)
                for (int c = 0; c < 16; c++) {
                    float x = po[(bh * Lq + i) * 16 + c];
                    finite = finite && isfinite(x);
                    if (i == 2)
                        zeros = zeros && x == 0.0f;
                }
        CHECK(zeros, "fully masked row is exactly zero");
        CHECK(finite, "no NaN/inf anywhere");
        tt_free(&q), tt_free(&k), tt_free(&v), tt_free(&o);
    }
    tt_free(&m);
}

/* o as a permuted [B, L, H, Dv] view and as bf16: the store path. */
static void test_sdpa_strided_output(void)
{
    int64_t B = 2, H = 3, L = 11, D = 16, blhd[4] = { B, L, H, D };
    int64_t bhld[4] = { B, H, L, D };
    int perm[4] = { 0, 2, 1, 3 };
    pictor_tensor q = make_qkv(PICTOR_F32, B, H, L, D, false, 1);
    pictor_tensor k = make_qkv(PICTOR_F32, B, H, L, D, false, 2);
    pictor_tensor v = make_qkv(PICTOR_F32, B, H, L, D, false, 3);
    pictor_tensor o = tt_rand_permuted(PICTOR_F32, 4, blhd, perm, 4);
    pictor_tensor ob = tt_out(PICTOR_BF16, 4, bhld);
    double *ref = ref_sdpa(&q, &k, &v, NULL, 0.25, true);

    CHECK(pictor_sdpa(be, &q, &k, &v, NULL, 0.25f, true, &o) == PICTOR_OK,
          "%s", pictor_backend_error(be));
    CHECK(tt_rel_l2(&o, ref) <= TOL_F32, "permuted o: rel_l2 %g",
          tt_rel_l2(&o, ref));
    CHECK(pictor_sdpa(be, &q, &k, &v, NULL, 0.25f, true, &ob) == PICTOR_OK,
          "%s", pictor_backend_error(be));
    /* bf16 output rounding: 2^-9 relative. */
    CHECK(tt_rel_l2(&ob, ref) <= 4e-3, "bf16 o: rel_l2 %g",
          tt_rel_l2(&ob, ref));
    free(ref);
    tt_free(&q), tt_free(&k), tt_free(&v), tt_free(&o), tt_free(&ob);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* VAE mid-block attention shape: one head, L = 1024, D = 512. */
static void test_sdpa_vae_timing(void)
{
    int64_t s[4] = { 1, 1, PERF_L, PERF_D };
    pictor_tensor q = tt_rand(PICTOR_F32, 4, s, 60);
    pictor_tensor o = tt_out(PICTOR_F32, 4, s);
    const float *po = o.data;
    double t0 = now_ms(), dt;
    bool finite = true;

    CHECK(pictor_sdpa(be, &q, &q, &q, NULL, 1.0f / sqrtf((float)PERF_D),
                      false, &o) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    dt = now_ms() - t0;
    for (int64_t i = 0; i < PERF_L * PERF_D; i++)
        finite = finite && isfinite(po[i]);
    CHECK(finite, "VAE-size output finite");
    printf("# sdpa 1x1x%dx%d f32: %.1f ms (%d threads, CPU)\n", PERF_L,
           PERF_D, dt, TEST_THREADS);
    tt_free(&q), tt_free(&o);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_sdpa_plain);
    RUN(test_sdpa_causal);
    RUN(test_sdpa_masks);
    RUN(test_sdpa_fully_masked_row);
    RUN(test_sdpa_strided_output);
    RUN(test_sdpa_vae_timing);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
