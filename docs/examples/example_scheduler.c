/*
 * docs/examples/example_scheduler.c — the worked example of docs/plugins.md:
 * a complete scheduler plugin, "example-linear-flow", a first-order Euler
 * integrator for flow-matching models on a linear sigma schedule
 * 1, 1 - 1/N, ..., 1/N, 0, with an optional "shift" read from
 * scheduler_config.json (sigma' = shift*sigma / (1 + (shift-1)*sigma)).
 *
 * Build (as the test suite does, and as an operator would against the
 * installed headers):
 *   cc -std=c11 -O2 -fPIC -fvisibility=hidden -I/usr/include/pictor-abi \
 *      -shared -o example-linear-flow.so example_scheduler.c
 * then drop the .so into the plugin folder and restart (or reload) pictord.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/plugin.h"

#define MAX_STEPS 1000

struct lin {
    float shift;
    int n;
    float timesteps[MAX_STEPS];
    float sigmas[MAX_STEPS + 1];
};

/* Reads `"shift": <number>` from the config text; 1.0 when absent. */
static float config_shift(const char *json)
{
    const char *p = json ? strstr(json, "\"shift\"") : NULL;
    float v = 1.0f;
    if (p && (p = strchr(p, ':')) && sscanf(p + 1, "%f", &v) == 1 && v > 0)
        return v;
    return 1.0f;
}

static int lin_create(const char *config_json, void **out, char *err, size_t errlen)
{
    struct lin *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    s->shift = config_shift(config_json);
    *out = s;
    return PICTOR_OK;
}

static int lin_set_timesteps(void *sp, const struct pictor_timestep_params *p, char *err,
                             size_t errlen)
{
    struct lin *s = sp;
    int n = p->num_inference_steps;
    if (n < 1 || n > MAX_STEPS) {
        snprintf(err, errlen, "num_inference_steps must be 1..%d, got %d", MAX_STEPS, n);
        return PICTOR_E_INVALID;
    }
    s->n = n;
    for (int i = 0; i < n; i++) {
        float sg = 1.0f - (float)i / (float)n;
        sg = s->shift * sg / (1.0f + (s->shift - 1.0f) * sg);
        s->sigmas[i] = sg;
        s->timesteps[i] = 1000.0f * sg;
    }
    s->sigmas[n] = 0.0f;
    return PICTOR_OK;
}

static const float *lin_timesteps(void *sp, size_t *n)
{
    struct lin *s = sp;
    *n = (size_t)s->n;
    return s->timesteps;
}

static const float *lin_sigmas(void *sp, size_t *n)
{
    struct lin *s = sp;
    *n = (size_t)s->n + 1;
    return s->sigmas;
}

static float lin_init_noise_sigma(void *sp)
{
    (void)sp;
    return 1.0f;
}

static int lin_scale_model_input(void *sp, size_t i, const float *in, float *out, size_t n)
{
    (void)sp;
    (void)i;
    if (out != in)
        memcpy(out, in, n * sizeof *out);
    return PICTOR_OK;
}

static int lin_step(void *sp, size_t i, const float *v, const float *x,
                    const struct pictor_noise_source *noise, float *out, size_t n, char *err,
                    size_t errlen)
{
    struct lin *s = sp;
    (void)noise; /* deterministic: draws no noise */
    if (i >= (size_t)s->n) {
        snprintf(err, errlen, "step %zu of %d", i, s->n);
        return PICTOR_E_INVALID;
    }
    float dt = s->sigmas[i + 1] - s->sigmas[i];
    for (size_t k = 0; k < n; k++)
        out[k] = x[k] + dt * v[k];
    return PICTOR_OK;
}

static void lin_destroy(void *sp)
{
    free(sp);
}

static const struct pictor_scheduler_iface scheduler = {
    .struct_size = sizeof(struct pictor_scheduler_iface),
    .prediction = PICTOR_PREDICT_FLOW,
    .create = lin_create,
    .set_timesteps = lin_set_timesteps,
    .timesteps = lin_timesteps,
    .sigmas = lin_sigmas,
    .init_noise_sigma = lin_init_noise_sigma,
    .scale_model_input = lin_scale_model_input,
    .step = lin_step,
    .destroy = lin_destroy,
};

PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {
    .struct_size = sizeof(struct pictor_plugin_entry),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = PICTOR_ABI_MINOR,
    .build_signature = PICTOR_BUILD_SIGNATURE,
    .kind = PICTOR_PLUGIN_SCHEDULER,
    .name = "example-linear-flow",
    .version = "1.0",
    .description = "worked example: Euler on a linear flow-matching schedule",
    .scheduler = &scheduler,
};
