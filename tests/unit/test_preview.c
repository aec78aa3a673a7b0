/*
 * tests/unit/test_preview.c — partial images (ABI 1.2 `preview`):
 *   - which steps take previews (pictor_pipeline_preview_steps);
 *   - the FLUX plugin's latent-to-RGB map (pictor/flux_preview.h): the fit
 *     recovers a known linear decoder exactly, passes a decoder's error on,
 *     and the render maps and resamples as specified;
 *   - the flux.so plugin on the tiny FLUX fixture: its preview is the map
 *     fitted from its own VAE decode applied to x0 = x - sigma * out, and a
 *     whole pipeline run hands out the asked number of previews without
 *     changing the final image by one byte; on a latent the fit never saw,
 *     the preview predicts the decode's colour better than its mean does.
 *     (How good a linear preview looks cannot be judged on a random-weight
 *     VAE: its decode is barely linear in the latent.)
 *   - a family without `preview` (tests/plugins/testfam.c) runs with
 *     preview_count set and simply gives none.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/manifest.h"
#include "../harness/test.h"
#include "pictor/flux_preview.h"
#include "pictor/pipeline.h"
#include "pictor/rng.h"
#include "pictor/tensor_util.h"

static struct pictor_plugin_set *set;
static const struct pictor_plugin *flux, *euler, *testfam, *oldminor;
static char model_dir[PATH_MAX];
static char sched_json[4096] = "{}"; /* the fixture's scheduler_config.json */
static void test_preview_steps(void)
{
    int out[PICTOR_PIPELINE_MAX_PREVIEWS];
    for (int n = 1; n <= 60; n++)
        for (int k = 0; k <= PICTOR_PIPELINE_MAX_PREVIEWS; k++) {
            int got = pictor_pipeline_preview_steps(k, n, out);
            int want = k < n - 1 ? k : n - 1;
            CHECK(got == want, "n %d, k %d: %d previews, want %d", n, k, got, want);
            for (int j = 0; j < got; j++) {
                CHECK(out[j] >= 1 && out[j] < n, "n %d k %d: step %d out of 1..%d", n, k, out[j],
                      n - 1);
                CHECK(j == 0 || out[j] > out[j - 1], "n %d k %d: not increasing", n, k);
                if (got == k && n >= 2 * (k + 1)) /* room enough: evenly spaced */
                    CHECK(fabs(out[j] - (double)(j + 1) * n / (k + 1)) <= 0.5,
                          "n %d k %d: step %d far from %g", n, k, out[j],
                          (double)(j + 1) * n / (k + 1));
            }
        }
}

/* ---- the map, with a synthetic linear decoder --------------------------- */

#define SYN_C 4
#define SYN_SCALE 2
static const float syn_bias[3] = {0.45f, 0.5f, 0.6f};
static const float syn_w[3][SYN_C] = {
    {0.2f, -0.1f, 0.05f, 0.0f}, {-0.15f, 0.25f, 0.1f, -0.05f}, {0.0f, 0.1f, -0.2f, 0.3f}};
static int syn_calls;

/* image[n, c, y, x] = bias[c] + sum_ch w[c][ch] lat[n, ch, y / s, x / s] */
static int syn_decode(void *ctx, const pictor_tensor *lat, float *image, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    syn_calls++;
    const int64_t N = lat->shape[0], C = lat->shape[1], h = lat->shape[2], w = lat->shape[3];
    const int64_t H = h * SYN_SCALE, W = w * SYN_SCALE;
    const float *l = lat->data;
    for (int64_t n = 0; n < N; n++)
        for (int c = 0; c < 3; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    float v = syn_bias[c];
                    for (int64_t ch = 0; ch < C; ch++)
                        v += syn_w[c][ch] * l[((n * C + ch) * h + y / SYN_SCALE) * w + x / SYN_SCALE];
                    image[((n * 3 + c) * H + y) * W + x] = v;
                }
    return PICTOR_OK;
}

static int failing_decode(void *ctx, const pictor_tensor *lat, float *image, char *err,
                          size_t errlen)
{
    (void)ctx;
    (void)lat;
    (void)image;
    snprintf(err, errlen, "decoder exploded");
    return PICTOR_E_DEVICE;
}

static void test_fit_recovers_linear_decoder(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct flux_preview_map map = {0};
    char err[512] = "";
    syn_calls = 0;
    int rc = flux_preview_fit(&map, be, SYN_C, SYN_SCALE, syn_decode, NULL, err, sizeof err);
    CHECK(rc == PICTOR_OK && map.fitted && map.channels == SYN_C, "fitted: %d %s", rc, err);
    CHECK(syn_calls == 1, "one batched decode: %d calls", syn_calls);
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(map.bias[c], syn_bias[c], 1e-6, "bias");
        for (int ch = 0; ch < SYN_C; ch++)
            CHECK_NEAR(map.weight[c][ch], syn_w[c][ch], 1e-5, "weight");
    }
    rc = flux_preview_fit(&map, be, SYN_C, SYN_SCALE, syn_decode, NULL, err, sizeof err);
    CHECK(rc == PICTOR_OK && syn_calls == 1, "fitted once: %d calls", syn_calls);

    struct flux_preview_map bad = {0};
    rc = flux_preview_fit(&bad, be, SYN_C, SYN_SCALE, failing_decode, NULL, err, sizeof err);
    CHECK(rc == PICTOR_E_DEVICE && !bad.fitted && strstr(err, "decoder exploded"),
          "decoder error passed on: %d '%s'", rc, err);
    rc = flux_preview_fit(&bad, be, FLUX_PREVIEW_MAX_CHANNELS + 1, 8, syn_decode, NULL, err,
                          sizeof err);
    CHECK(rc == PICTOR_E_UNSUPPORTED && strstr(err, "channels"), "too many channels: '%s'", err);
    pictor_backend_destroy(be);
}

static uint8_t u8(float v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint8_t)rintf(255.0f * v);
}

static void test_render(void)
{
    struct flux_preview_map map = {.fitted = true, .channels = SYN_C};
    memcpy(map.bias, syn_bias, sizeof syn_bias);
    for (int c = 0; c < 3; c++)
        for (int ch = 0; ch < SYN_C; ch++)
            map.weight[c][ch] = syn_w[c][ch];
    /* a constant latent: every pixel is the map of it, at any size */
    const float lat_c[SYN_C] = {0.3f, -0.7f, 1.1f, 0.2f};
    float x0[2 * SYN_C * 3 * 2];
    for (int b = 0; b < 2; b++)
        for (int ch = 0; ch < SYN_C; ch++)
            for (int p = 0; p < 6; p++)
                x0[(b * SYN_C + ch) * 6 + p] = b == 0 ? lat_c[ch] : -lat_c[ch];
    uint8_t rgb[2 * 7 * 5 * 3];
    CHECK(flux_preview_render(&map, x0, 2, 3, 2, 7, 5, rgb) == PICTOR_OK, "render");
    for (int b = 0; b < 2; b++) {
        uint8_t want[3];
        for (int c = 0; c < 3; c++) {
            float v = syn_bias[c];
            for (int ch = 0; ch < SYN_C; ch++)
                v += syn_w[c][ch] * (b == 0 ? lat_c[ch] : -lat_c[ch]);
            want[c] = u8(v);
        }
        int bad = 0;
        for (int p = 0; p < 7 * 5; p++)
            for (int c = 0; c < 3; c++)
                bad += rgb[(b * 35 + p) * 3 + c] != want[c];
        CHECK(bad == 0, "image %d: %d bytes differ from the constant colour", b, bad);
    }
    /* a 2 x 2 ramp in channel 0 on a one-channel map: corners are the latent
     * pixels' colours, rows and columns between them are monotonic */
    struct flux_preview_map ramp = {.fitted = true, .channels = 1, .bias = {0, 0, 0},
                                    .weight = {{1}, {1}, {1}}};
    const float q[4] = {0.1f, 0.5f, 0.3f, 0.9f}; /* [y][x] */
    uint8_t img[8 * 6 * 3];
    CHECK(flux_preview_render(&ramp, q, 1, 2, 2, 8, 6, img) == PICTOR_OK, "render ramp");
    CHECK(img[0] == u8(q[0]) && img[(5) * 3] == u8(q[1]) && img[(7 * 6) * 3] == u8(q[2]) &&
              img[(7 * 6 + 5) * 3] == u8(q[3]),
          "corners %d %d %d %d", img[0], img[15], img[126], img[141]);
    int mono = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 1; x < 6; x++)
            mono += img[(y * 6 + x) * 3] < img[(y * 6 + x - 1) * 3];
    for (int x = 0; x < 6; x++)
        for (int y = 1; y < 8; y++)
            mono += img[(y * 6 + x) * 3] < img[((y - 1) * 6 + x) * 3];
    CHECK(mono == 0, "%d steps against the ramp", mono);
    CHECK(img[(3 * 6 + 2) * 3] > u8(q[0]) && img[(3 * 6 + 2) * 3] < u8(q[3]),
          "interior between the extremes: %d", img[(3 * 6 + 2) * 3]);
}

/* ---- the flux plugin on the tiny fixture ---------------------------------- */

static void *open_flux(pictor_backend *be)
{
    char err[512] = "";
    void *model = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = model_dir,
                                    .backend = be, .precision = PICTOR_PRECISION_FP32};
    if (flux->family.open(&op, &model, err, sizeof err) != PICTOR_OK)
        test_fail_(__FILE__, __LINE__, "open: %s", err);
    return model;
}

/* How much of the decoded colour the preview explains, on the latent grid:
 * 1 - SSE(preview, decode) / SSE(decode's mean colour, decode), both mean-
 * pooled over each latent pixel's f x f block. On the random-weight tiny
 * VAE a decode is barely linear in its latent: measured 0.07 here for a
 * latent the fit never saw (0.09 on the fit's own probes; constant-latent
 * probes, the first design, gave -0.9). The test asks for better than the
 * decode's own mean colour, which a wrong map (layout, scale, x0) is not. */
static double explained(const uint8_t *pv, const float *img, int h, int w, int f)
{
    const int H = h * f, W = w * f;
    double sse = 0, sst = 0;
    for (int c = 0; c < 3; c++) {
        double mean = 0;
        for (int p = 0; p < H * W; p++)
            mean += img[c * H * W + p];
        mean /= H * W;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double a = 0, b = 0;
                for (int dy = 0; dy < f; dy++)
                    for (int dx = 0; dx < f; dx++) {
                        int p = (y * f + dy) * W + x * f + dx;
                        a += pv[p * 3 + c] / 255.0;
                        b += img[c * H * W + p];
                    }
                a /= f * f;
                b /= f * f;
                sse += (a - b) * (a - b);
                sst += (b - mean) * (b - mean);
            }
    }
    return 1.0 - sse / sst;
}

static void *g_model; /* the open flux model decode_via_plugin decodes with */

static int decode_via_plugin(void *ctx, const pictor_tensor *lat, float *image, char *err,
                             size_t errlen)
{
    (void)ctx;
    return flux->family.decode(g_model, NULL, lat, image, err, errlen);
}

static void test_flux_preview_matches_decode(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    void *model = open_flux(be);
    char err[512] = "";
    CHECK(flux->family.preview != NULL, "flux.so fills the 1.2 entry");
    if (!model || !flux->family.preview)
        goto out;
    struct pictor_gen_params gp = {.struct_size = sizeof gp, .width = 64, .height = 64,
                                   .batch = 1};
    int64_t shape[4];
    CHECK(flux->family.latent_shape(model, &gp, shape) == PICTOR_OK, "latent shape");
    const int f = (int)(64 / shape[3]);
    const size_t n = (size_t)(shape[1] * shape[2] * shape[3]);
    float *x0 = malloc(n * sizeof *x0), *zero = calloc(n, sizeof *zero);
    float *x = malloc(n * sizeof *x), *out = malloc(n * sizeof *out);
    uint8_t *pv = malloc(64 * 64 * 3), *pv2 = malloc(64 * 64 * 3);
    /* a latent the fit never saw (another seed than its probes') */
    struct pictor_rng rng;
    pictor_rng_seed(&rng, 99);
    pictor_rng_randn(&rng, x0, PICTOR_F32, (int64_t)n);
    int rc = flux->family.preview(model, NULL, x0, zero, 0.3f, shape, 64, 64, pv, err, sizeof err);
    CHECK(rc == PICTOR_OK, "preview: %s", err);
    /* the plugin's preview is the map fitted from its own decoder, applied
     * to x0 at the request's size: the same computed here step by step */
    struct flux_preview_map map = {0};
    uint8_t *want = malloc(64 * 64 * 3);
    g_model = model;
    rc = flux_preview_fit(&map, be, (int)shape[1], f, decode_via_plugin, NULL, err, sizeof err);
    CHECK(rc == PICTOR_OK, "fit: %s", err);
    CHECK(flux_preview_render(&map, x0, 1, (int)shape[2], (int)shape[3], 64, 64, want) == 0,
          "render");
    int ndiff = 0, maxd = 0;
    for (int k = 0; k < 64 * 64 * 3; k++) {
        int d = abs((int)pv[k] - (int)want[k]);
        ndiff += d != 0;
        maxd = d > maxd ? d : maxd;
    }
    CHECK(ndiff == 0, "the plugin's preview is render(fit(decode), x0): %d bytes differ, by up to %d; bias %g %g %g",
          ndiff, maxd, map.bias[0], map.bias[1], map.bias[2]);
    int lo = 255, hi = 0;
    for (int k = 0; k < 64 * 64 * 3; k++) {
        lo = pv[k] < lo ? pv[k] : lo;
        hi = pv[k] > hi ? pv[k] : hi;
    }
    CHECK(hi > lo, "the preview is not flat: %d..%d", lo, hi);
    free(want);
    float *img = malloc(64 * 64 * 3 * sizeof *img);
    pictor_tensor t = pictor_tensor_make(x0, PICTOR_F32, 4, shape);
    rc = flux->family.decode(model, NULL, &t, img, err, sizeof err);
    double r2 = rc ? -1 : explained(pv, img, (int)shape[2], (int)shape[3], f);
    CHECK(r2 > 0.0, "the preview explains %.3f of the decode's colour (%s)", r2, err);
    free(img);
    /* x0 = x - sigma * out: the same x0 from another (x, out, sigma) */
    const float sigma = 0.6f;
    test_fill_uniform(out, n, 5, -1.0f, 1.0f);
    for (size_t k = 0; k < n; k++)
        x[k] = x0[k] + sigma * out[k];
    rc = flux->family.preview(model, NULL, x, out, sigma, shape, 64, 64, pv2, err, sizeof err);
    int far = 0;
    for (size_t k = 0; k < 64 * 64 * 3; k++)
        far += abs((int)pv[k] - (int)pv2[k]) > 1;
    CHECK(rc == PICTOR_OK && far == 0, "x - sigma out is the clean latent: %d bytes off", far);
    free(x0);
    free(zero);
    free(x);
    free(out);
    free(pv);
    free(pv2);
out:
    if (model)
        flux->family.close(model);
    pictor_backend_destroy(be);
}

struct seen {
    int calls, last_index;
    size_t bytes;
    uint8_t first[3];
};

static void on_preview(void *ctx, int index, const uint8_t *rgb)
{
    struct seen *s = ctx;
    CHECK(index == s->last_index + 1, "preview %d after %d", index, s->last_index);
    s->last_index = index;
    if (s->calls++ == 0)
        memcpy(s->first, rgb, 3);
}

static int run(const struct pictor_plugin *fam, const struct pictor_plugin *sch, void *model,
               pictor_backend *be, int previews, int batch, struct seen *seen, uint8_t **rgb)
{
    char err[512] = "";
    struct pictor_pipeline_request r = {
        .family = fam, .model = model, .scheduler = sch,
        .scheduler_config_json = fam == flux ? sched_json : "{}",
        .gp = {.struct_size = sizeof r.gp, .prompt = "a red circle", .width = 64, .height = 64,
               .batch = batch, .seed = 3},
        .steps = 4, .ctx = seen, .preview_count = previews, .on_preview = on_preview};
    int rc = pictor_pipeline_run(be, &r, rgb, NULL, err, sizeof err);
    if (rc)
        test_fail_(__FILE__, __LINE__, "pipeline: %s", err);
    return rc;
}

static void test_pipeline_previews_change_nothing(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    void *model = open_flux(be);
    uint8_t *plain = NULL, *with = NULL;
    struct seen s0 = {.last_index = -1}, s2 = {.last_index = -1}, s3 = {.last_index = -1};
    if (!model)
        goto out;
    run(flux, euler, model, be, 0, 2, &s0, &plain);
    run(flux, euler, model, be, 2, 2, &s2, &with);
    CHECK(s0.calls == 0 && s2.calls == 2, "previews: %d without, %d with 2 asked", s0.calls,
          s2.calls);
    CHECK(plain && with && !memcmp(plain, with, 2 * 64 * 64 * 3),
          "the final images are the same with previews");
    free(with);
    with = NULL;
    run(flux, euler, model, be, 3, 1, &s3, &with);
    CHECK(s3.calls == 3, "3 previews on 4 steps: %d", s3.calls);
    free(with);
    flux->family.close(model);
out:
    free(plain);
    pictor_backend_destroy(be);
}

static void test_family_without_preview(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    char err[256] = "";
    void *model = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = "/nonexistent",
                                    .backend = be};
    CHECK(testfam->family.preview == NULL, "testfam has no preview");
    CHECK(testfam->family.open(&op, &model, err, sizeof err) == PICTOR_OK, "open: %s", err);
    struct seen s = {.last_index = -1};
    uint8_t *rgb = NULL;
    CHECK(run(testfam, oldminor, model, be, 3, 1, &s, &rgb) == PICTOR_OK && rgb, "runs");
    CHECK(s.calls == 0, "no previews: %d", s.calls);
    free(rgb);
    testfam->family.close(model);
    pictor_backend_destroy(be);
}

int main(void)
{
    char exe[PATH_MAX], dir[PATH_MAX + 32], path[PATH_MAX + 64], err[512] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    pictor_plugins_create(pictor_default_host_api(), &set);
    snprintf(dir, sizeof dir, "%s/../lib/pictor/plugins", exe);
    if (pictor_plugins_load_dir(set, dir, err, sizeof err) != PICTOR_OK)
        printf("note: %s\n", err);
    const char *tests[] = {"testfam.so", "oldminor.so"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/plugins/%s", exe, tests[i]);
        pictor_plugins_load_file(set, path, err, sizeof err);
    }
    flux = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "flux");
    euler = pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "flow-match-euler");
    testfam = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "testfam");
    oldminor = pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "oldminor");
    if (!flux || !euler || !testfam || !oldminor ||
        !find_data("tests/fixtures/pipeline_flux_schnell/model", model_dir, sizeof model_dir)) {
        printf("FAIL setup: plugins or the FLUX fixture missing (%s)\n", dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", model_dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        sched_json[fread(sched_json, 1, sizeof sched_json - 1, f)] = '\0';
        fclose(f);
    }
    RUN(test_preview_steps);
    RUN(test_fit_recovers_linear_decoder);
    RUN(test_render);
    RUN(test_flux_preview_matches_decode);
    RUN(test_pipeline_previews_change_nothing);
    RUN(test_family_without_preview);
    pictor_plugins_unload(set);
    TEST_MAIN_END();
}
