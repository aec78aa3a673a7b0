/*
 * tests/gpu/test_vae_variants.c — FLUX's VAE decoder at full size on the
 * GPU in its variants: activations NCHW or channels-last
 * (PICTOR_VAE_LAYOUT) times upsamplers folded or naive
 * (PICTOR_VAE_UPSAMPLE; pictor/upconv.h), and both layouts folded once
 * more without the fused conv + bias graphs (PICTOR_CUDA_CONV_FUSED;
 * kernels/cuda/op_conv2d_graph.h); bf16, random weights from the
 * FLUX.1-schnell skeleton's manifest (DATA_DIR/random/flux.1-schnell/vae,
 * DATA_DIR = $PICTOR_DATA_DIR or share/pictor from the source tree),
 * latents of a 1024x1024 image.
 *
 * Checked: each variant's image against the same decoder in f32 (NCHW,
 * naive: the unfolded arithmetic, run once, untimed) by relative L2 error
 * within VARIANT_TOL, the project's bound for 16-bit and FP8 paths
 * (FIXTURES.md); the figures are printed, so folded and naive can be
 * compared against the truth.
 * Printed, never asserted: ms per decode of each variant (after one
 * warm-up decode), and one profiled decode per variant (pictor/profile.h:
 * every op's own GPU time, TFLOP/s of the convolutions) — the data to pick
 * the VAE's defaults from (docs/benchmarks.md).
 *
 * Under the CUDA emulator it is skipped (10 TFLOP a decode);
 * PICTOR_CROSS_SELFTEST=1 runs it on a CPU stand-in at 64x64. Needs a GPU
 * otherwise (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cross.h"
#include "pictor/common_host.h"
#include "pictor/params.h"
#include "pictor/plugins.h"
#include "pictor/profile.h"
#include "pictor/vae.h"

#define VAE_SKELETON "random/flux.1-schnell/vae"
#define VARIANT_TOL 3e-2
#define TIMED_RUNS 3
#define GPU_LATENT_SIDE 128 /* 1024x1024 image */
#define CPU_LATENT_SIDE 8   /* the self-test's 64x64 */

struct variant {
    const char *layout, *upsample;
    bool fused; /* the CUDA backend's fused conv + bias graphs */
    int dtype;  /* the decoder's compute dtype */
    bool timed;
};

static const struct variant k_reference = {"nchw", "naive", true, PICTOR_F32, false};
static const struct variant k_variants[] = {
    {"nchw", "folded", true, PICTOR_BF16, true},
    {"nchw", "naive", true, PICTOR_BF16, true},
    {"nhwc", "folded", true, PICTOR_BF16, true},
    {"nhwc", "naive", true, PICTOR_BF16, true},
    {"nchw", "folded", false, PICTOR_BF16, true},
    {"nhwc", "folded", false, PICTOR_BF16, true},
};

struct decode_ctx {
    struct pictor_vae_decoder *dec;
    const pictor_tensor *lat;
    pictor_tensor *img;
};

static int decode_call(pictor_backend *be, const void *vctx)
{
    const struct decode_ctx *c = vctx;
    char err[256];
    int rc = pictor_vae_decode(c->dec, c->lat, c->img, err, sizeof err);

    if (rc)
        pictor_backend_fail(be, rc, "%s", err);
    return rc;
}

static double rel_l2(const float *got, const float *ref, size_t n)
{
    double num = 0, den = 0;

    for (size_t i = 0; i < n; i++) {
        num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
}

/* Opens the decoder in variant v, decodes lat into img (checked against
 * *ref, or kept as *ref when there is none yet); a timed variant is timed
 * and profiled once more. */
static void run_variant(const struct variant *v, struct pictor_vae_config cfg,
                        const struct pictor_wsource *src, const pictor_tensor *lat,
                        pictor_tensor *img, float **ref)
{
    struct pictor_vae_decoder *dec = NULL;
    struct decode_ctx ctx;
    size_t n = (size_t)pictor_tensor_numel(img);
    float *host = xmalloc(n * sizeof *host);
    char what[128], err[256];
    double ms;

    snprintf(what, sizeof what, "vae decode [%lld,%lld,%lld,%lld] %s %s %s%s",
             (long long)img->shape[0], (long long)img->shape[1], (long long)img->shape[2],
             (long long)img->shape[3], pictor_dtype_name(v->dtype), v->layout, v->upsample,
             v->fused ? "" : " unfused");
    if (g_is_cuda)
        pictor_backend_cuda_set_conv_fused(g_gpu, v->fused);
    setenv("PICTOR_VAE_LAYOUT", v->layout, 1);
    setenv("PICTOR_VAE_UPSAMPLE", v->upsample, 1);
    cfg.compute_dtype = v->dtype;
    int rc = pictor_vae_decoder_open(&cfg, src, g_gpu, &dec, err, sizeof err);
    CHECK(rc == PICTOR_OK, "%s: open: %s", what, err);
    if (rc)
        goto out;
    ctx = (struct decode_ctx){dec, lat, img};
    check_rc(what, g_gpu, decode_call(g_gpu, &ctx));
    check_rc(what, g_gpu, pictor_backend_download(g_gpu, host, img->data, n * sizeof *host));
    if (!*ref) {
        *ref = host;
        host = NULL;
    } else {
        double e = rel_l2(host, *ref, n);

        CHECK(e <= VARIANT_TOL, "%s: rel_l2 %g against f32", what, e);
        printf("# %s: rel_l2 %.3g against f32\n", what, e);
    }
    if (!v->timed)
        goto out;
    ms = cross_time_ms(what, g_gpu, TIMED_RUNS, decode_call, &ctx);
    if (ms > 0)
        printf("# %s: %.2f ms per decode (mean of %d after a warm-up)\n", what, ms, TIMED_RUNS);
    if (pictor_profile_enable(g_gpu, true) == PICTOR_OK) {
        printf("op profile of one %s:\n", what);
        check_rc(what, g_gpu, decode_call(g_gpu, &ctx));
        pictor_profile_report(g_gpu, stdout, true);
        pictor_profile_enable(g_gpu, false);
    }
out:
    pictor_vae_decoder_close(dec);
    free(host);
}

static void test_vae_variants(void)
{
    if (cross_emu_skip("a full-size VAE decode"))
        return;
    const char *data = getenv("PICTOR_DATA_DIR");
    const struct pictor_host_api *host = pictor_common_host();
    const int64_t side = g_is_cuda ? GPU_LATENT_SIDE : CPU_LATENT_SIDE;
    struct pictor_vae_config cfg;
    struct pictor_wsource src = {0};
    pictor_tensor lat = {0}, img = {0};
    float *ref = NULL, *lv = NULL;
    char dir[512], err[256];
    int rc;

    snprintf(dir, sizeof dir, "%s/%s", data && *data ? data : "share/pictor", VAE_SKELETON);
    rc = pictor_vae_config_load(dir, &cfg, err, sizeof err);
    CHECK(rc == PICTOR_OK, "%s: %s", dir, err);
    if (rc)
        return;
    rc = host->weights_open(dir, false, &src, err, sizeof err);
    CHECK(rc == PICTOR_OK, "%s: %s", dir, err);
    if (rc)
        return;
    const int s = pictor_vae_scale(&cfg);
    const int64_t ls[4] = {1, cfg.latent_channels, side, side};
    const int64_t is[4] = {1, cfg.out_channels, side * s, side * s};
    const size_t ln = (size_t)(ls[1] * side * side);

    lv = xmalloc(ln * sizeof *lv);
    test_fill_uniform(lv, ln, 800, -2.0f, 2.0f);
    rc = pictor_tensor_alloc(g_gpu, &lat, PICTOR_F32, 4, ls);
    rc = rc ? rc : pictor_backend_upload(g_gpu, lat.data, lv, ln * sizeof *lv);
    rc = rc ? rc : pictor_tensor_alloc(g_gpu, &img, PICTOR_F32, 4, is);
    check_rc("latents and image", g_gpu, rc);
    if (rc == PICTOR_OK)
        run_variant(&k_reference, cfg, &src, &lat, &img, &ref);
    for (size_t i = 0; ref && i < sizeof k_variants / sizeof k_variants[0]; i++)
        run_variant(&k_variants[i], cfg, &src, &lat, &img, &ref);
    unsetenv("PICTOR_VAE_LAYOUT");
    unsetenv("PICTOR_VAE_UPSAMPLE");
    pictor_tensor_free(g_gpu, &img);
    pictor_tensor_free(g_gpu, &lat);
    host->weights_close(&src);
    free(ref);
    free(lv);
}

int main(void)
{
    int rc = cross_setup("vae-variants");

    if (rc)
        return rc == 1 ? 0 : 1;
    pictor_common_set_host(pictor_default_host_api());
    RUN(test_vae_variants);
    cross_teardown();
    TEST_MAIN_END();
}
