/* tests/unit/test_sched.c — scheduler math against MODELS.md §8.8 reference
 * values (C transcription of diffusers' formulas, 7 significant digits) and
 * structural properties (Heun's 2N-1 calls, one-step Turbo = x0, state and
 * error handling). The bit-level comparison with diffusers itself is the
 * scheduler_* fixture cases (tests/fixtures, `pictor check`). */
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>

#include "../../plugins/schedulers/sched/sched.h"
#include "../../plugins/schedulers/sched/sched_internal.h"
#include "pictor/status.h"
#include "../harness/test.h"

/* stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json
 * (the keys that matter), as EulerDiscreteScheduler. */
#define SDXL_CONFIG                                                                           \
    "{\"beta_start\": 0.00085, \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\","    \
    " \"num_train_timesteps\": 1000, \"prediction_type\": \"epsilon\", \"steps_offset\": 1,"  \
    " \"set_alpha_to_one\": false, \"clip_sample\": false, \"timestep_spacing\": \"%s\","     \
    " \"use_karras_sigmas\": %s}"
#define FLUX_DEV_CONFIG                                                                       \
    "{\"base_image_seq_len\": 256, \"base_shift\": 0.5, \"max_image_seq_len\": 4096,"         \
    " \"max_shift\": 1.15, \"num_train_timesteps\": 1000, \"shift\": 3.0,"                    \
    " \"use_dynamic_shifting\": true}"
#define FLUX_SCHNELL_CONFIG "{\"shift\": 1.0, \"use_dynamic_shifting\": false}"
#define SD35_CONFIG "{\"num_train_timesteps\": 1000, \"shift\": 3.0}"
#define REL_7DIGITS 1e-6 /* §8.8 lists 7 significant digits */

static struct pictor_sched *make(int kind, const char *json)
{
    char err[256] = "";
    struct json_object *cfg = json ? json_tokener_parse(json) : NULL;
    struct pictor_sched *s = NULL;
    int rc = pictor_sched_create(kind, cfg, &s, err, sizeof err);
    CHECK(rc == PICTOR_OK, "create %s: %s", pictor_sched_kind_name(kind), err);
    json_object_put(cfg);
    return s;
}

static struct pictor_sched *make_sdxl(int kind, const char *spacing, const char *karras)
{
    char json[1024];
    snprintf(json, sizeof json, SDXL_CONFIG, spacing, karras);
    return make(kind, json);
}

static void set_steps(struct pictor_sched *s, int n, const double *sig, int n_sig,
                      const double *mu)
{
    char err[256] = "";
    int rc = pictor_sched_set_timesteps(s, n, sig, n_sig, mu, err, sizeof err);
    CHECK(rc == PICTOR_OK, "set_timesteps: %s", err);
}

static void check_rel(const float *got, const double *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= REL_7DIGITS * fmax(fabs(want[i]), 1e-3),
              "%s[%d]: %.9g vs %.9g", what, i, (double)got[i], want[i]);
}

static void test_scaled_linear_tables(void)
{
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_EULER, "leading", "false");
    if (!s)
        return;
    CHECK_NEAR(s->alphas_cumprod[0], 0.999149978, 1e-9, "acp_0");
    CHECK_NEAR(s->alphas_cumprod[999], 0.00466009509, 1e-11, "acp_999");
    CHECK_NEAR(s->sigma_table[0], 0.0291675329, 1e-9, "sigma_0");
    CHECK_NEAR(s->sigma_table[999], 14.6146469, 1e-6, "sigma_999");
    /* betas = torch.linspace(sqrt(0.00085), sqrt(0.012), 1000) ** 2 */
    float v[1000];
    sched_torch_linspace_f32(sqrt(0.00085), sqrt(0.012), 1000, v);
    CHECK(v[0] * v[0] == 0.000849999953f, "beta_0 %.9g", (double)(v[0] * v[0]));
    CHECK(v[999] * v[999] == 0.0119999992f, "beta_999 %.9g", (double)(v[999] * v[999]));
    pictor_sched_destroy(s);
}

static void test_euler_leading_50(void)
{
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_EULER, "leading", "false");
    if (!s)
        return;
    set_steps(s, 50, NULL, 0, NULL);
    const float *t = pictor_sched_timesteps(s);
    int ns = 0;
    const float *sig = pictor_sched_sigmas(s, &ns);
    CHECK(pictor_sched_n_calls(s) == 50 && ns == 51, "lengths %d %d", pictor_sched_n_calls(s), ns);
    CHECK(t[0] == 981 && t[1] == 961 && t[2] == 941 && t[49] == 1, "timesteps %g %g %g .. %g",
          (double)t[0], (double)t[1], (double)t[2], (double)t[49]);
    static const double want[3] = {13.12042, 11.67605, 10.42505};
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(sig[i], want[i], 1e-5, "sigma");
    CHECK(sig[50] == 0.0f, "final sigma 0");
    CHECK_NEAR(pictor_sched_init_noise_sigma(s), 13.15847, 1e-5, "init_noise_sigma");
    CHECK(pictor_sched_scales_input(s) && !pictor_sched_draws_noise(s), "flags");
    CHECK(pictor_sched_prediction(s) == PICTOR_SCHED_PRED_EPSILON, "prediction");
    pictor_sched_destroy(s);
}

static void test_euler_trailing_4(void)
{
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_EULER, "trailing", "false");
    if (!s)
        return;
    set_steps(s, 4, NULL, 0, NULL);
    static const double t_want[4] = {999, 749, 499, 249};
    static const double s_want[5] = {14.61465, 4.081731, 1.612887, 0.6932054, 0};
    int ns = 0;
    check_rel(pictor_sched_timesteps(s), t_want, 4, "timesteps");
    check_rel(pictor_sched_sigmas(s, &ns), s_want, 5, "sigmas");
    CHECK_NEAR(pictor_sched_init_noise_sigma(s), 14.61465, 1e-5, "init_noise_sigma (trailing)");
    pictor_sched_destroy(s);
}

static void test_dpm_karras_25(void)
{
    static const double s_want[26] = {
        14.61465, 12.28304, 10.27783, 8.560019, 7.09442, 5.849391, 4.796544, 3.910494, 3.168611,
        2.550793, 2.039246, 1.618276, 1.274105, 0.9946831, 0.7695228, 0.5895429, 0.4469209,
        0.3349577, 0.2479517, 0.1810835, 0.1303087, 0.09226092, 0.06416227, 0.04374286,
        0.02916753, 0};
    static const double t_want[25] = {999, 970, 938, 905, 868, 829, 786, 739, 687, 630, 568, 500, 427,
                                      352, 278, 207, 146, 96,  59,  34,  18,  9,   4,   1,   0};
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_DPMPP, "leading", "true");
    if (!s)
        return;
    set_steps(s, 25, NULL, 0, NULL);
    int ns = 0;
    CHECK(pictor_sched_n_calls(s) == 25, "calls");
    check_rel(pictor_sched_sigmas(s, &ns), s_want, 26, "sigmas");
    check_rel(pictor_sched_timesteps(s), t_want, 25, "timesteps");
    CHECK(pictor_sched_init_noise_sigma(s) == 1.0f && !pictor_sched_scales_input(s), "dpm input");
    pictor_sched_destroy(s);
}

static void flux_sigmas(int n, double *out)
{
    for (int k = 0; k < n; k++) /* np.linspace(1, 1/n, n), as FluxPipeline */
        out[k] = k == n - 1 ? 1.0 / n : 1.0 + k * ((1.0 / n - 1.0) / (n - 1));
}

static void test_flux_schnell_4(void)
{
    struct pictor_sched *s = make(PICTOR_SCHED_FLOW_EULER, FLUX_SCHNELL_CONFIG);
    if (!s)
        return;
    double in[4];
    flux_sigmas(4, in);
    set_steps(s, 0, in, 4, NULL);
    static const double s_want[5] = {1, 0.75, 0.5, 0.25, 0};
    static const double t_want[4] = {1000, 750, 500, 250};
    int ns = 0;
    check_rel(pictor_sched_sigmas(s, &ns), s_want, 5, "sigmas");
    check_rel(pictor_sched_timesteps(s), t_want, 4, "timesteps");
    CHECK(pictor_sched_prediction(s) == PICTOR_SCHED_PRED_FLOW, "flow prediction");
    CHECK(!pictor_sched_scales_input(s) && pictor_sched_init_noise_sigma(s) == 1.0f, "flow input");
    pictor_sched_destroy(s);
}

/* linear_step: the flow step as 1 * x + (sigma[i+1] - sigma[i]) * v, in
 * order only, advancing the scheduler like step; other kinds decline. */
static void test_linear_step(void)
{
    struct pictor_sched *s = make(PICTOR_SCHED_FLOW_EULER, FLUX_SCHNELL_CONFIG);
    if (!s)
        return;
    double in[4];
    flux_sigmas(4, in);
    set_steps(s, 0, in, 4, NULL);
    float cs = 0, co = 0, x[2] = {1, 2}, v[2] = {3, 4}, out[2];
    char err[128];
    CHECK(!pictor_sched_linear_step(s, 1, &cs, &co), "out of order declined");
    CHECK(pictor_sched_linear_step(s, 0, &cs, &co) && cs == 1.0f && co == 0.75f - 1.0f,
          "step 0: %g x + %g v", (double)cs, (double)co);
    CHECK(pictor_sched_step(s, 0, v, x, NULL, out, 2, err, sizeof err) != PICTOR_OK,
          "step 0 again is out of order: the linear step advanced");
    CHECK(pictor_sched_step(s, 1, v, x, NULL, out, 2, err, sizeof err) == PICTOR_OK &&
              out[0] == 1.0f + (0.5f - 0.75f) * 3.0f,
          "step 1 on the host continues: %s", err);
    CHECK(pictor_sched_linear_step(s, 2, &cs, &co) && co == 0.25f - 0.5f, "step 2: %g",
          (double)co);
    pictor_sched_destroy(s);
    s = make(PICTOR_SCHED_EULER, NULL);
    if (!s)
        return;
    set_steps(s, 4, NULL, 0, NULL);
    CHECK(!pictor_sched_linear_step(s, 0, &cs, &co), "euler (scaled input) declines");
    pictor_sched_destroy(s);
}

static void test_flux_dev_28(void)
{
    static const double want[29] = {
        1.000000, 0.988409, 0.976222, 0.963394, 0.949873, 0.935599, 0.920509, 0.904531,
        0.887583, 0.869576, 0.850406, 0.829956, 0.808096, 0.784672, 0.759511, 0.732413,
        0.703145, 0.671435, 0.636964, 0.599357, 0.558163, 0.512844, 0.462748, 0.407078,
        0.344849, 0.274828, 0.195455, 0.104721, 0};
    struct pictor_sched *s = make(PICTOR_SCHED_FLOW_EULER, FLUX_DEV_CONFIG);
    if (!s)
        return;
    double in[28], mu = 1.15;
    char err[128];
    flux_sigmas(28, in);
    CHECK(pictor_sched_set_timesteps(s, 0, in, 28, NULL, err, sizeof err) == PICTOR_E_INVALID,
          "dynamic shifting without mu is rejected");
    set_steps(s, 28, in, 28, &mu);
    int ns = 0;
    const float *sig = pictor_sched_sigmas(s, &ns);
    CHECK(ns == 29, "n sigmas");
    for (int i = 0; i < 29; i++)
        CHECK_NEAR(sig[i], want[i], 6e-7, "dev sigma");
    pictor_sched_destroy(s);
}

static void test_sd3_shift3_28(void)
{
    static const double want[29] = {
        1.000000, 0.987381, 0.974108, 0.960129, 0.945387, 0.929818, 0.913349, 0.895900,
        0.877382, 0.857692, 0.836717, 0.814325, 0.790368, 0.764677, 0.737056, 0.707278,
        0.675082, 0.640160, 0.602151, 0.560625, 0.515072, 0.464876, 0.409289, 0.347393,
        0.278049, 0.199827, 0.110906, 0.008929, 0};
    struct pictor_sched *s = make(PICTOR_SCHED_FLOW_EULER, SD35_CONFIG);
    if (!s)
        return;
    set_steps(s, 28, NULL, 0, NULL);
    int ns = 0;
    const float *sig = pictor_sched_sigmas(s, &ns);
    const float *t = pictor_sched_timesteps(s);
    for (int i = 0; i < 29; i++)
        CHECK_NEAR(sig[i], want[i], 6e-7, "sd3 sigma");
    for (int i = 0; i < 28; i++)
        CHECK(t[i] == sig[i] * 1000.0f, "timestep = 1000 sigma");
    pictor_sched_destroy(s);
}

static void test_heun_doubling(void)
{
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_HEUN, "leading", "false");
    struct pictor_sched *e = make_sdxl(PICTOR_SCHED_EULER, "leading", "false");
    if (!s || !e)
        goto cleanup;
    set_steps(s, 5, NULL, 0, NULL);
    set_steps(e, 5, NULL, 0, NULL);
    int ns = 0, ne = 0;
    const float *hs = pictor_sched_sigmas(s, &ns), *es = pictor_sched_sigmas(e, &ne);
    const float *ht = pictor_sched_timesteps(s), *et = pictor_sched_timesteps(e);
    CHECK(pictor_sched_n_calls(s) == 9 && ns == 10, "2N-1 calls, 2N sigmas: %d %d",
          pictor_sched_n_calls(s), ns);
    CHECK(hs[0] == es[0] && ht[0] == et[0] && hs[9] == 0.0f, "ends");
    for (int k = 1; k < 5; k++) {
        CHECK(hs[2 * k - 1] == es[k] && hs[2 * k] == es[k], "sigma %d doubled", k);
        CHECK(ht[2 * k - 1] == et[k] && ht[2 * k] == et[k], "timestep %d doubled", k);
    }
    CHECK(pictor_sched_init_noise_sigma(s) == pictor_sched_init_noise_sigma(e), "init sigma");
    /* a constant eps field: first-order and correction halves agree, so the
     * Heun pair equals one Euler step */
    float x[4] = {1, -2, 3, 0.5f}, eps[4] = {0.1f, 0.2f, -0.3f, 0.4f}, y[4], z[4];
    char err[128];
    CHECK(pictor_sched_step(s, 0, eps, x, NULL, y, 4, err, sizeof err) == PICTOR_OK, "h0");
    CHECK(pictor_sched_step(s, 2, eps, y, NULL, y, 4, err, sizeof err) == PICTOR_E_INVALID,
          "out-of-order step rejected");
    CHECK(pictor_sched_step(e, 0, eps, x, NULL, z, 4, err, sizeof err) == PICTOR_OK, "e0");
    for (int k = 0; k < 4; k++)
        CHECK_NEAR(y[k], z[k], 1e-6, "first-order half = Euler");
cleanup:
    pictor_sched_destroy(s);
    pictor_sched_destroy(e);
}

static void test_turbo_one_step(void)
{
    /* SDXL-Turbo: euler-a, trailing, N = 1: sigma_up = sigma_down = 0, so
     * the sample after the only step is x0 = x - sigma * eps, any noise. */
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_EULER_A, "trailing", "false");
    if (!s)
        return;
    set_steps(s, 1, NULL, 0, NULL);
    int ns = 0;
    const float *sig = pictor_sched_sigmas(s, &ns);
    CHECK(ns == 2 && sig[1] == 0.0f, "sigmas [s, 0]");
    CHECK(pictor_sched_timesteps(s)[0] == 999.0f, "t = 999");
    CHECK_NEAR(sig[0], 14.61465, 1e-5, "sigma 999");
    CHECK(pictor_sched_draws_noise(s), "euler-a draws noise");
    float x[3] = {10, -20, 5}, eps[3] = {0.5f, -1.5f, 0.25f}, noise[3] = {3, -7, 11}, y[3];
    char err[128];
    CHECK(pictor_sched_step(s, 0, eps, x, NULL, y, 3, err, sizeof err) == PICTOR_E_INVALID,
          "missing noise rejected");
    CHECK(pictor_sched_step(s, 0, eps, x, noise, y, 3, err, sizeof err) == PICTOR_OK, "%s", err);
    for (int k = 0; k < 3; k++)
        CHECK(y[k] == x[k] - sig[0] * eps[k], "x0[%d]: %.9g", k, (double)y[k]);
    pictor_sched_destroy(s);
}

static void test_ddim_deterministic(void)
{
    struct pictor_sched *s = make_sdxl(PICTOR_SCHED_DDIM, "leading", "false");
    if (!s)
        return;
    set_steps(s, 4, NULL, 0, NULL);
    int ns = 0;
    const float *t = pictor_sched_timesteps(s);
    CHECK(t[0] == 751 && t[3] == 1, "leading + offset: %g .. %g", (double)t[0], (double)t[3]);
    CHECK(pictor_sched_sigmas(s, &ns) == NULL && ns == 0, "ddim has no sigmas");
    CHECK(!pictor_sched_draws_noise(s), "eta 0: no noise");
    CHECK(pictor_sched_set_eta(s, 0.5) == PICTOR_OK && pictor_sched_draws_noise(s), "eta > 0");
    pictor_sched_destroy(s);
}

static void test_config_errors(void)
{
    char err[256] = "";
    struct pictor_sched *s = NULL;
    struct json_object *cfg = json_tokener_parse("{\"algorithm_type\": \"sde-dpmsolver++\"}");
    CHECK(pictor_sched_create(PICTOR_SCHED_DPMPP, cfg, &s, err, sizeof err) ==
                  PICTOR_E_UNSUPPORTED && !s && err[0],
          "sde rejected");
    json_object_put(cfg);
    cfg = json_tokener_parse("{\"prediction_type\": \"v_prediction\"}");
    CHECK(pictor_sched_create(PICTOR_SCHED_EULER, cfg, &s, err, sizeof err) == PICTOR_OK,
          "v-prediction: %s", err);
    CHECK(s && pictor_sched_prediction(s) == PICTOR_SCHED_PRED_V, "v flag");
    pictor_sched_destroy(s);
    json_object_put(cfg);
    CHECK(pictor_sched_kind_parse("dpm++") == PICTOR_SCHED_DPMPP, "parse");
    CHECK(pictor_sched_kind_parse("lms") == -1, "parse unknown");
    CHECK(pictor_sched_kind_from_class("HeunDiscreteScheduler") == PICTOR_SCHED_HEUN, "class");
}

int main(void)
{
    RUN(test_scaled_linear_tables);
    RUN(test_euler_leading_50);
    RUN(test_euler_trailing_4);
    RUN(test_dpm_karras_25);
    RUN(test_flux_schnell_4);
    RUN(test_linear_step);
    RUN(test_flux_dev_28);
    RUN(test_sd3_shift3_28);
    RUN(test_heun_doubling);
    RUN(test_turbo_one_step);
    RUN(test_ddim_deterministic);
    RUN(test_config_errors);
    TEST_MAIN_END();
}
