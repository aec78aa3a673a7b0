/*
 * tests/plugins/oldminor.c — a scheduler plugin as it would have been built
 * against ABI 1.0: its entry struct ends before the 1.1 fields (eval,
 * eval_components) and says abi_minor 0. The host must accept it and read
 * nothing past its struct_size. The scheduler is a plain flow-matching
 * Euler step so the test can drive every scheduler entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/plugin.h"

/* The 1.0 layout of struct pictor_plugin_entry. */
struct entry_1_0 {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;
    uint64_t build_signature;
    uint32_t kind;
    const char *name;
    const char *version;
    const char *description;
    int (*init)(const struct pictor_host_api *host, char *err, size_t errlen);
    void (*deinit)(void);
    const struct pictor_family_iface *family;
    const struct pictor_scheduler_iface *scheduler;
};

#define OM_MAX_STEPS 64

struct om_sched {
    int n;
    float t[OM_MAX_STEPS];
    float s[OM_MAX_STEPS + 1];
};

static int om_create(const char *config_json, void **out, char *err, size_t errlen)
{
    (void)config_json;
    struct om_sched *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    *out = s;
    return PICTOR_OK;
}

static int om_set(void *sp, const struct pictor_timestep_params *p, char *err, size_t errlen)
{
    struct om_sched *s = sp;
    if (p->num_inference_steps < 1 || p->num_inference_steps > OM_MAX_STEPS) {
        snprintf(err, errlen, "steps must be 1..%d", OM_MAX_STEPS);
        return PICTOR_E_INVALID;
    }
    s->n = p->num_inference_steps;
    for (int i = 0; i < s->n; i++) {
        s->s[i] = 1.0f - (float)i / (float)s->n;
        s->t[i] = 1000.0f * s->s[i];
    }
    s->s[s->n] = 0;
    return PICTOR_OK;
}

static const float *om_timesteps(void *sp, size_t *n)
{
    struct om_sched *s = sp;
    *n = (size_t)s->n;
    return s->t;
}

static const float *om_sigmas(void *sp, size_t *n)
{
    struct om_sched *s = sp;
    *n = (size_t)s->n + 1;
    return s->s;
}

static float om_init_sigma(void *sp)
{
    (void)sp;
    return 1.0f;
}

static int om_scale(void *sp, size_t i, const float *in, float *out, size_t n)
{
    (void)sp;
    (void)i;
    memmove(out, in, n * sizeof *out);
    return PICTOR_OK;
}

static int om_step(void *sp, size_t i, const float *v, const float *x,
                   const struct pictor_noise_source *noise, float *out, size_t n, char *err,
                   size_t errlen)
{
    struct om_sched *s = sp;
    (void)noise;
    if ((int)i >= s->n) {
        snprintf(err, errlen, "step %zu past the end", i);
        return PICTOR_E_INVALID;
    }
    float dt = s->s[i + 1] - s->s[i];
    for (size_t k = 0; k < n; k++)
        out[k] = x[k] + dt * v[k];
    return PICTOR_OK;
}

static void om_destroy(void *sp)
{
    free(sp);
}

static const struct pictor_scheduler_iface sched = {
    .struct_size = sizeof(struct pictor_scheduler_iface),
    .prediction = PICTOR_PREDICT_FLOW,
    .create = om_create,
    .set_timesteps = om_set,
    .timesteps = om_timesteps,
    .sigmas = om_sigmas,
    .init_noise_sigma = om_init_sigma,
    .scale_model_input = om_scale,
    .step = om_step,
    .destroy = om_destroy,
};

PICTOR_PLUGIN_EXPORT const struct entry_1_0 pictor_plugin_entry = {
    .struct_size = sizeof(struct entry_1_0),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = 0,
    .build_signature = PICTOR_BUILD_SIGNATURE,
    .kind = PICTOR_PLUGIN_SCHEDULER,
    .name = "oldminor",
    .version = "0.9",
    .description = "built against ABI 1.0",
    .scheduler = &sched,
};
