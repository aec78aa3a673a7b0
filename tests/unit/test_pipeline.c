/* tests/unit/test_pipeline.c — the host's denoising loop (pictor/pipeline.h)
 * driven with the ABI-exerciser family (tests/plugins/testfam.c: predict =
 * x/2 + w0, decode = clamp(128 + 16 latent)) and the 1.0-era flow scheduler
 * (tests/plugins/oldminor.c: Euler on sigmas 1, 1-1/N, ..., 0): the image
 * must equal the same recurrence computed here from the torch-compatible
 * noise; progress is reported per step; cancellation stops the loop. With
 * the real flow-match-euler plugin (ABI 1.3 linear_step) every step runs on
 * the device and the image is byte-identical to the host-stepped one. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/test.h"
#include "pictor/pipeline.h"
#include "pictor/rng.h"

static char plugdir[PATH_MAX + 16];
static struct pictor_plugin_set *set;
static const struct pictor_plugin *fam, *sch;
static int progress_calls, cancel_after;

static bool on_progress(void *ctx, int step, int total)
{
    (void)ctx;
    (void)total;
    progress_calls++;
    return cancel_after == 0 || step < cancel_after;
}

static void expected_image(uint64_t seed, int steps, uint8_t *rgb, int64_t n_lat, int64_t n_px)
{
    struct pictor_rng rng;
    float *x = malloc((size_t)n_lat * sizeof *x);
    pictor_rng_seed(&rng, seed);
    pictor_rng_randn(&rng, x, PICTOR_F32, n_lat);
    for (int i = 0; i < steps; i++) {
        float s = 1.0f - (float)i / (float)steps;
        float s1 = i + 1 < steps ? 1.0f - (float)(i + 1) / (float)steps : 0.0f;
        for (int64_t k = 0; k < n_lat; k++)
            x[k] = x[k] + (s1 - s) * (x[k] * 0.5f + 0.0f);
    }
    /* testfam's decode: image [B,3,H,W] = 0.5 + latent / 16 (flat order);
     * the host: clamp, round_half_even(255 x), NCHW -> NHWC */
    const int64_t B = 2, H = 16, W = 32;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t p = 0; p < H * W; p++) {
                float v = 0.5f + x[((b * 3 + c) * H * W + p) % n_lat] / 16.0f;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                rgb[(b * H * W + p) * 3 + c] = (uint8_t)rintf(255.0f * v);
            }
    (void)n_px;
    free(x);
}

static void run_with(const struct pictor_plugin *sp, uint64_t seed, int steps, int cancel,
                     int *rc_out, uint8_t **img)
{
    char err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    void *model = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = "/nonexistent",
                                    .backend = be};
    fam->family.open(&op, &model, err, sizeof err);
    struct pictor_pipeline_request r = {
        .family = fam, .model = model, .scheduler = sp, .scheduler_config_json = "{}",
        .gp = {.struct_size = sizeof r.gp, .prompt = "a red circle", .width = 32, .height = 16,
               .batch = 2, .seed = seed},
        .steps = steps, .progress = on_progress};
    progress_calls = 0;
    cancel_after = cancel;
    *rc_out = pictor_pipeline_run(be, &r, img, NULL, err, sizeof err);
    fam->family.close(model);
    pictor_backend_destroy(be);
}

static void run_case(uint64_t seed, int steps, int cancel, int *rc_out, uint8_t **img)
{
    run_with(sch, seed, steps, cancel, rc_out, img);
}

static const struct pictor_plugin *flow;
static bool (*real_linear)(void *, size_t, float *, float *);
static int linear_calls;

static bool counting_linear(void *s, size_t i, float *c_sample, float *c_output)
{
    linear_calls++;
    return real_linear(s, i, c_sample, c_output);
}

/* The flow scheduler's linear steps on the device give the very image of
 * its host steps (the same f32 operations), and each step took that path. */
static void test_device_steps(void)
{
    const size_t n_px = 2 * 16 * 32 * 3;
    struct pictor_plugin on = *flow, off = *flow;
    uint8_t *a = NULL, *b = NULL;
    int rc_a, rc_b;
    CHECK(flow->scheduler.linear_step != NULL, "flow-match-euler offers linear_step (ABI 1.3)");
    if (!flow->scheduler.linear_step)
        return;
    real_linear = flow->scheduler.linear_step;
    on.scheduler.linear_step = counting_linear;
    off.scheduler.linear_step = NULL;
    linear_calls = 0;
    run_with(&on, 99, 5, 0, &rc_a, &a);
    CHECK(rc_a == PICTOR_OK && linear_calls == 5, "device steps: rc %d, %d linear steps", rc_a,
          linear_calls);
    run_with(&off, 99, 5, 0, &rc_b, &b);
    CHECK(rc_b == PICTOR_OK && a && b && memcmp(a, b, n_px) == 0,
          "device-stepped image == host-stepped image");
    free(a);
    free(b);
}

static void test_loop_matches_recurrence(void)
{
    const int64_t n_lat = 2 * 4 * 2 * 4, n_px = 2 * 16 * 32 * 3;
    uint8_t *img = NULL, want[2 * 16 * 32 * 3];
    int rc;
    run_case(1234, 4, 0, &rc, &img);
    CHECK(rc == PICTOR_OK && img, "pipeline ran: %d", rc);
    expected_image(1234, 4, want, n_lat, n_px);
    CHECK(img && memcmp(img, want, (size_t)n_px) == 0, "image equals the recurrence on seed 1234");
    CHECK(progress_calls == 4, "progress once per step: %d", progress_calls);
    uint8_t *img2 = NULL;
    run_case(1234, 4, 0, &rc, &img2);
    CHECK(img && img2 && memcmp(img, img2, (size_t)n_px) == 0, "same seed, same image");
    free(img2);
    run_case(1235, 4, 0, &rc, &img2);
    CHECK(img && img2 && memcmp(img, img2, (size_t)n_px) != 0, "another seed, another image");
    free(img2);
    free(img);
}

static void test_cancellation(void)
{
    uint8_t *img = NULL;
    int rc;
    run_case(7, 8, 3, &rc, &img);
    CHECK(rc == PICTOR_E_CANCELLED && img == NULL, "cancelled: %d", rc);
    CHECK(progress_calls == 3, "stopped after 3 steps: %d", progress_calls);
}

int main(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(plugdir, sizeof plugdir, "%s/plugins", exe);
    char err[512], path[PATH_MAX + 64];
    pictor_plugins_create(pictor_default_host_api(), &set);
    snprintf(path, sizeof path, "%s/testfam.so", plugdir);
    pictor_plugins_load_file(set, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/oldminor.so", plugdir);
    pictor_plugins_load_file(set, path, err, sizeof err);
    snprintf(path, sizeof path, "%s/../lib/pictor/plugins/scheduler-flow_match_euler.so", exe);
    pictor_plugins_load_file(set, path, err, sizeof err);
    flow = pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "flow-match-euler");
    fam = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "testfam");
    sch = pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "oldminor");
    if (!fam || !sch || !flow) {
        printf("FAIL setup: test plugins missing in %s\n", plugdir);
        return 1;
    }
    RUN(test_loop_matches_recurrence);
    RUN(test_cancellation);
    RUN(test_device_steps);
    pictor_plugins_unload(set);
    TEST_MAIN_END();
}
