/*
 * tests/unit/test_ops_embed.c — the CPU backend's embedding (I32/I64 ids,
 * strided ids, out-of-range id rejected naming the id and its position),
 * FLUX rope against its pair formula (strided, bf16, in place), diffusers'
 * timestep embedding against the f32 formula (flip, shift, scale, odd dim),
 * and pictor_rope_tables against a direct f64 evaluation for FLUX's axes
 * [16, 56, 56] at odd positions.
 */
#include "ops_test_util.h"

#define TEST_THREADS 2
#define TOL_F32 1e-5

static pictor_backend *be;

static void test_embedding(void)
{
    int64_t V = 11, D = 1030, st[2] = { V, D };
    int64_t sids[2] = { 2, 3 }, sy[3] = { 2, 3, D };
    pictor_tensor table = tt_rand(PICTOR_BF16, 2, st, 1);
    double *tab = tt_to_f64(&table);
    int32_t id32[6] = { 0, 10, 3, 3, 7, 1 };
    int64_t id64[6] = { 5, 0, 10, 2, 9, 4 };

    for (int w = 0; w < 3; w++) {
        pictor_tensor ids = pictor_tensor_make(w == 1 ? (void *)id64
                                                      : (void *)id32,
                                               w == 1 ? PICTOR_I64
                                                      : PICTOR_I32,
                                               2, sids);
        pictor_tensor y = tt_out(PICTOR_F32, 3, sy);
        double *ref = tt_xmalloc((size_t)(6 * D) * sizeof(double));

        if (w == 2) { /* ids as a transposed view of [3, 2] storage */
            ids.shape[0] = 3, ids.shape[1] = 2;
            pictor_tensor_set_contiguous(&ids);
            ids = pictor_tensor_transpose(&ids, 0, 1);
        }
        for (int64_t p = 0; p < 6; p++) {
            int64_t i = p / 3, j = p % 3, id;
            id = w == 1 ? id64[p]
                        : id32[w == 2 ? j * ids.stride[1] + i * ids.stride[0]
                                      : p];
            for (int64_t d = 0; d < D; d++)
                ref[p * D + d] = tab[id * D + d];
        }
        CHECK(pictor_embedding(be, &table, &ids, &y) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        CHECK(tt_max_abs(&y, ref) == 0, "embedding variant %d: max abs %g",
              w, tt_max_abs(&y, ref));
        free(ref);
        tt_free(&y);
    }
    /* An id out of range fails, naming the id and its position. */
    {
        int32_t bad[6] = { 0, 1, 2, 3, 11, 4 };
        pictor_tensor ids = pictor_tensor_make(bad, PICTOR_I32, 2, sids);
        pictor_tensor y = tt_out(PICTOR_F32, 3, sy);
        int rc = pictor_embedding(be, &table, &ids, &y);
        const char *msg = pictor_backend_error(be);

        CHECK(rc == PICTOR_E_INVALID, "bad id: rc %d", rc);
        CHECK(strstr(msg, "11") && strstr(msg, "4"),
              "message names id 11 and position 4: %s", msg);
        bad[4] = -1;
        rc = pictor_embedding(be, &table, &ids, &y);
        CHECK(rc == PICTOR_E_INVALID, "negative id: rc %d", rc);
        tt_free(&y);
    }
    /* The CPU slot checks too (device ids skip the wrapper's check). */
    {
        int64_t bad[2] = { 3, 12 }, s1[1] = { 2 }, sy1[2] = { 2, D };
        pictor_tensor ids = pictor_tensor_make(bad, PICTOR_I64, 1, s1);
        pictor_tensor y = tt_out(PICTOR_F32, 2, sy1);
        struct pictor_op_args args = { .op = PICTOR_OP_EMBEDDING };
        char err[256] = "";
        int rc;

        args.u.embedding.table = &table;
        args.u.embedding.ids = &ids;
        args.u.embedding.y = &y;
        rc = be->iface->op[PICTOR_OP_EMBEDDING](be->ctx, &args, err,
                                                 sizeof err);
        CHECK(rc == PICTOR_E_INVALID, "slot bad id: rc %d", rc);
        CHECK(strstr(err, "12") && strstr(err, "position 1"),
              "slot message: %s", err);
        tt_free(&y);
    }
    free(tab);
    tt_free(&table);
}

static void test_rope(void)
{
    int64_t B = 2, L = 5, H = 3, D = 24;
    int64_t sx[4] = { B, L, H, D }, sp[4] = { B, H, L, D }, sc[2] = { L, D };
    int perm[4] = { 0, 2, 1, 3 };
    pictor_tensor cs = tt_rand(PICTOR_F32, 2, sc, 10);
    pictor_tensor sn = tt_rand(PICTOR_F32, 2, sc, 11);
    double *c = tt_to_f64(&cs), *s = tt_to_f64(&sn);

    for (int mode = 0; mode < 3; mode++) {
        /* 0: contiguous f32, 1: permuted view of [B, H, L, D], 2: bf16 */
        pictor_tensor x = mode == 1
                              ? tt_rand_permuted(PICTOR_F32, 4, sp, perm, 12)
                              : tt_rand(mode == 2 ? PICTOR_BF16 : PICTOR_F32,
                                        4, sx, 12);
        pictor_tensor y = tt_out(PICTOR_F32, 4, sx);
        double *xs = tt_to_f64(&x);
        double *ref = tt_xmalloc((size_t)(B * L * H * D) * sizeof(double));

        for (int64_t r = 0; r < B * L * H; r++) {
            int64_t l = (r / H) % L;
            const double *xr = xs + r * D, *cr = c + l * D, *sr = s + l * D;
            for (int64_t m = 0; m < D; m += 2) {
                ref[r * D + m] = xr[m] * cr[m] - xr[m + 1] * sr[m];
                ref[r * D + m + 1] = xr[m + 1] * cr[m + 1] + xr[m] * sr[m + 1];
            }
        }
        CHECK(pictor_rope(be, &x, &cs, &sn, &y) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        CHECK(tt_rel_l2(&y, ref) <= TOL_F32, "rope mode %d: rel_l2 %g", mode,
              tt_rel_l2(&y, ref));
        if (mode != 2) { /* in place (a bf16 x would round on store) */
            CHECK(pictor_rope(be, &x, &cs, &sn, &x) == PICTOR_OK, "%s",
                  pictor_backend_error(be));
            CHECK(tt_rel_l2(&x, ref) <= TOL_F32, "rope in place mode %d: "
                  "rel_l2 %g", mode, tt_rel_l2(&x, ref));
        }
        free(xs), free(ref);
        tt_free(&x), tt_free(&y);
    }
    free(c), free(s);
    tt_free(&cs), tt_free(&sn);
}

/* diffusers get_timestep_embedding evaluated op by op in f32. */
static void ref_timestep(const float *t, int64_t B, int64_t dim, bool flip,
                         float shift, float scale, float max_period,
                         double *out)
{
    int64_t half = dim / 2;
    float nl = (float)-log((double)max_period);
    float den = (float)((double)half - (double)shift);

    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < half; k++) {
            float f = expf(nl * (float)k / den);
            float a = scale * (t[b] * f);
            out[b * dim + k] = flip ? cos((double)a) : sin((double)a);
            out[b * dim + half + k] = flip ? sin((double)a) : cos((double)a);
            if (dim % 2)
                out[b * dim + dim - 1] = 0;
        }
}

static void test_timestep(void)
{
    float tv[3] = { 0.0f, 1.0f, 999.0f };
    int64_t st[1] = { 3 };
    pictor_tensor t = tt_make(PICTOR_F32, 1, st, tv, 0, 1.0f);
    static const struct {
        int64_t dim;
        bool flip;
        float shift, scale;
    } cases[] = {
        { 256, true, 0.0f, 1.0f },  /* FLUX / SD3 Timesteps(256) */
        { 320, true, 0.0f, 1.0f },  /* SDXL */
        { 64, false, 1.0f, 1.0f },  /* diffusers defaults */
        { 33, false, 1.0f, 2.5f },  /* odd dim, scale */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t dim = cases[i].dim, sy[2] = { 3, dim };
        pictor_tensor y = tt_out(PICTOR_F32, 2, sy);
        double *ref = tt_xmalloc((size_t)(3 * dim) * sizeof(double));
        const float *py = y.data;

        ref_timestep(tv, 3, dim, cases[i].flip, cases[i].shift,
                     cases[i].scale, 10000.0f, ref);
        CHECK(pictor_timestep_embedding(be, &t, cases[i].flip,
                                        cases[i].shift, cases[i].scale,
                                        10000.0f, &y) == PICTOR_OK,
              "%s", pictor_backend_error(be));
        /* Arguments reach ~2500 rad: f32 sin/cos of the same f32 argument
         * agree to a few ulp of 1. */
        CHECK(tt_max_abs(&y, ref) <= 1e-6, "dim %lld flip %d: max abs %g",
              (long long)dim, cases[i].flip, tt_max_abs(&y, ref));
        CHECK(!(dim % 2) || py[dim - 1] == 0.0f, "odd dim zero padded");
        free(ref);
        tt_free(&y);
    }
    tt_free(&t);
}

static void test_rope_tables(void)
{
    /* FLUX: axes_dim [16, 56, 56], theta 10000; ids (axis0, row, col). */
    int axes[3] = { 16, 56, 56 };
    enum { L = 5, D = 128 };
    float ids[L * 3] = { 0, 0, 0, 0, 1, 3, 0, 7, 31, 2, 63, 127, 1, 5, 9 };
    float cs[L * D], sn[L * D];
    double worst = 0;

    pictor_rope_tables(ids, L, 3, axes, 10000.0, cs, sn);
    for (int l = 0; l < L; l++) {
        int off = 0;
        for (int a = 0; a < 3; a++) {
            for (int ch = 0; ch < axes[a]; ch++) {
                int j = ch / 2; /* repeat_interleave(2): c0 c0 c1 c1 ... */
                double w = pow(10000.0, -2.0 * j / axes[a]);
                double ang = (double)ids[l * 3 + a] * w;
                double dc = fabs(cs[l * D + off + ch] - cos(ang));
                double ds = fabs(sn[l * D + off + ch] - sin(ang));
                worst = dc > worst ? dc : worst;
                worst = ds > worst ? ds : worst;
            }
            off += axes[a];
        }
    }
    /* f64 values rounded once to f32: half an ulp of 1. */
    CHECK(worst <= 6e-8, "rope tables vs f64 formula: max abs %g", worst);
    CHECK(cs[0] == 1.0f && sn[0] == 0.0f, "position 0: cos 1, sin 0");
    CHECK(cs[D + 16] == cs[D + 17] && sn[D + 16] == sn[D + 17],
          "values repeated in pairs");
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_embedding);
    RUN(test_rope);
    RUN(test_timestep);
    RUN(test_rope_tables);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
