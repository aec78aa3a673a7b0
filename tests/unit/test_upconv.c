/*
 * tests/unit/test_upconv.c — pictor/upconv.h on the CPU backend: the folded
 * 2x2 form of nearest-2x upsampling + 3x3 convolution against the direct
 * formula (upsample, then convolve) in double. Odd and one-pixel sizes,
 * batch 2, NCHW and channels-last operands, f32 and bf16 folded weights,
 * malformed shapes refused. The VAE fixture cases (tests/fixtures) check
 * the decoder that uses it against diffusers on every backend.
 */
#include "ops_test_util.h"
#include "pictor/upconv.h"

#define TEST_THREADS 2
#define TOL_F32 1e-5
/* bf16 folded weights: one bf16 rounding (2^-9 relative) per folded tap
 * that the unfolded weights do not have. */
#define TOL_BF16 4e-3

static pictor_backend *be;

/* conv3x3(pad 1) of up2x(x) + bias, x [B, Cin, H, W] -> [B, Cout, 2H, 2W]. */
static double *ref_upconv(const pictor_tensor *x, const pictor_tensor *w, const pictor_tensor *b)
{
    const int64_t B = x->shape[0], Cin = x->shape[1], H = x->shape[2], W = x->shape[3];
    const int64_t Cout = w->shape[0], OH = 2 * H, OW = 2 * W;
    double *xs = tt_to_f64(x), *ws = tt_to_f64(w), *bs = tt_to_f64(b);
    double *out = tt_xmalloc((size_t)(B * Cout * OH * OW) * sizeof(double));

    for (int64_t n = 0; n < B; n++)
        for (int64_t co = 0; co < Cout; co++)
            for (int64_t p = 0; p < OH; p++)
                for (int64_t q = 0; q < OW; q++) {
                    double s = bs[co];

                    for (int64_t ci = 0; ci < Cin; ci++)
                        for (int64_t kh = 0; kh < 3; kh++)
                            for (int64_t kw = 0; kw < 3; kw++) {
                                int64_t up = p + kh - 1, uq = q + kw - 1;

                                if (up < 0 || up >= OH || uq < 0 || uq >= OW)
                                    continue;
                                s += xs[((n * Cin + ci) * H + up / 2) * W + uq / 2] *
                                     ws[((co * Cin + ci) * 3 + kh) * 3 + kw];
                            }
                    out[((n * Cout + co) * OH + p) * OW + q] = s;
                }
    free(xs), free(ws), free(bs);
    return out;
}

struct up_case {
    int64_t B, Cin, H, W, Cout;
    bool channels_last; /* x, y and the folded weight */
    int wdtype;         /* the 3x3 weight's and the folded weight's dtype */
};

static void run_case(const struct up_case *c, uint64_t seed)
{
    const int perm[4] = {0, 3, 1, 2};
    const int64_t sx[4] = {c->B, c->Cin, c->H, c->W}, sxl[4] = {c->B, c->H, c->W, c->Cin};
    const int64_t sy[4] = {c->B, c->Cout, 2 * c->H, 2 * c->W};
    const int64_t syl[4] = {c->B, 2 * c->H, 2 * c->W, c->Cout};
    const int64_t sw[4] = {c->Cout, c->Cin, 3, 3}, sb[1] = {c->Cout};
    pictor_tensor x = c->channels_last ? tt_rand_permuted(PICTOR_F32, 4, sxl, perm, seed)
                                       : tt_rand(PICTOR_F32, 4, sx, seed);
    pictor_tensor y = c->channels_last ? tt_rand_permuted(PICTOR_F32, 4, syl, perm, seed + 1)
                                       : tt_out(PICTOR_F32, 4, sy);
    pictor_tensor w = tt_rand(c->wdtype, 4, sw, seed + 2);
    pictor_tensor b = tt_rand(PICTOR_F32, 1, sb, seed + 3);
    struct pictor_upconv uc;
    double tol = c->wdtype == PICTOR_F32 ? TOL_F32 : TOL_BF16;
    int rc = pictor_upconv_fold(be, &w, &b, c->wdtype, c->channels_last, &uc);

    CHECK(rc == PICTOR_OK, "fold: %s", pictor_backend_error(be));
    if (rc == PICTOR_OK) {
        CHECK(uc.w.shape[0] == 4 * c->Cout && uc.w.shape[1] == c->Cin && uc.w.shape[2] == 2 &&
              uc.w.shape[3] == 2 && uc.b.shape[0] == 4 * c->Cout, "folded shapes");
        CHECK(!c->channels_last || uc.w.stride[1] == 1, "channels-last fold is KRSC");
        rc = pictor_upconv_run(be, &uc, &x, &y);
        CHECK(rc == PICTOR_OK, "run: %s", pictor_backend_error(be));
    }
    if (rc == PICTOR_OK) {
        double *ref = ref_upconv(&x, &w, &b);
        double e = tt_rel_l2(&y, ref);

        CHECK(e <= tol, "B%lld Cin%lld %lldx%lld Cout%lld %s %s: rel_l2 %g", (long long)c->B,
              (long long)c->Cin, (long long)c->H, (long long)c->W, (long long)c->Cout,
              c->channels_last ? "NHWC" : "NCHW", pictor_dtype_name(c->wdtype), e);
        free(ref);
    }
    pictor_upconv_free(be, &uc);
    tt_free(&x), tt_free(&y), tt_free(&w), tt_free(&b);
}

static void test_upconv_matches_upsample_then_conv(void)
{
    static const struct up_case cases[] = {
        {2, 5, 7, 6, 3, false, PICTOR_F32},
        {1, 4, 5, 9, 6, false, PICTOR_F32},
        {1, 2, 1, 1, 3, false, PICTOR_F32},
        {2, 3, 1, 4, 2, false, PICTOR_F32},
        {2, 6, 5, 7, 4, true, PICTOR_F32},
        {1, 8, 6, 6, 8, true, PICTOR_F32},
        {2, 5, 7, 6, 3, false, PICTOR_BF16},
        {1, 8, 6, 5, 8, true, PICTOR_BF16},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], 1000 + 10 * i);
}

static void test_upconv_refuses_bad_shapes(void)
{
    const int64_t s33[4] = {4, 3, 3, 3}, s22[4] = {4, 3, 2, 2}, sb[1] = {4}, sb5[1] = {5};
    const int64_t sx[4] = {1, 3, 4, 4}, sy_bad[4] = {1, 4, 8, 7}, sy_c[4] = {1, 5, 8, 8};
    pictor_tensor w3 = tt_rand(PICTOR_F32, 4, s33, 1), w2 = tt_rand(PICTOR_F32, 4, s22, 2);
    pictor_tensor b = tt_rand(PICTOR_F32, 1, sb, 3), b5 = tt_rand(PICTOR_F32, 1, sb5, 4);
    pictor_tensor x = tt_rand(PICTOR_F32, 4, sx, 5);
    pictor_tensor ybad = tt_out(PICTOR_F32, 4, sy_bad), yc = tt_out(PICTOR_F32, 4, sy_c);
    struct pictor_upconv uc;

    CHECK(pictor_upconv_fold(be, &w2, &b, PICTOR_F32, false, &uc) == PICTOR_E_INVALID,
          "a 2x2 kernel is refused");
    CHECK(uc.w.data == NULL && uc.b.data == NULL, "a refused fold leaves nothing");
    CHECK(strstr(pictor_backend_error(be), "upconv") != NULL, "message: %s",
          pictor_backend_error(be));
    CHECK(pictor_upconv_fold(be, &w3, &b5, PICTOR_F32, false, &uc) == PICTOR_E_INVALID,
          "a bias of the wrong length is refused");
    CHECK(pictor_upconv_fold(be, &w3, &b, PICTOR_F8_E4M3, false, &uc) == PICTOR_E_INVALID,
          "an FP8 folded weight is refused");
    CHECK(pictor_upconv_fold(be, &w3, &b, PICTOR_F32, false, &uc) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    CHECK(pictor_upconv_run(be, &uc, &x, &ybad) == PICTOR_E_INVALID, "y not 2H x 2W refused");
    CHECK(pictor_upconv_run(be, &uc, &x, &yc) == PICTOR_E_INVALID, "y channels != Cout refused");
    pictor_upconv_free(be, &uc);
    tt_free(&w3), tt_free(&w2), tt_free(&b), tt_free(&b5), tt_free(&x), tt_free(&ybad),
        tt_free(&yc);
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be) {
        fprintf(stderr, "cannot create the CPU backend\n");
        return 1;
    }
    RUN(test_upconv_matches_upsample_then_conv);
    RUN(test_upconv_refuses_bad_shapes);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
