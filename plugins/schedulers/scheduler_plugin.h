/*
 * plugins/schedulers/scheduler_plugin.h — the one implementation behind the
 * six scheduler plugins. Each plugins/schedulers/<name>.c defines
 * SCHED_PLUGIN_NAME ("heun", ...) and includes this file, which defines the
 * ABI tables (abi/pictor/plugin.h) over the scheduler math of
 * plugins/schedulers/sched/ and exports pictor_plugin_entry with an `eval`
 * answering "scheduler.<name>" for `pictor check`.
 *
 * Included exactly once per plugin .so; everything here is static except
 * the entry.
 */
#ifndef SCHED_PLUGIN_NAME
#error "define SCHED_PLUGIN_NAME before including scheduler_plugin.h"
#endif

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/plugin.h"
#include "sched/sched.h"
#include "sched/sched_eval.h"

/* Noise scratch for schedulers that draw noise: one buffer per instance. */
struct sp_inst {
    struct pictor_sched *s;
    float *noise;
    size_t noise_n;
};

static int sp_create(const char *config_json, void **out, char *err, size_t errlen)
{
    int kind = pictor_sched_kind_parse(SCHED_PLUGIN_NAME);
    struct json_object *cfg = NULL;
    struct sp_inst *inst = NULL;
    int rc;
    *out = NULL;
    if (config_json && *config_json) {
        cfg = json_tokener_parse(config_json);
        if (!cfg) {
            snprintf(err, errlen, "%s: scheduler_config.json is not valid JSON", SCHED_PLUGIN_NAME);
            return PICTOR_E_FORMAT;
        }
    }
    inst = calloc(1, sizeof *inst);
    if (!inst) {
        rc = PICTOR_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = pictor_sched_create(kind, cfg, &inst->s, err, errlen);
    if (rc == PICTOR_OK) {
        *out = inst;
        inst = NULL;
    }
out:
    free(inst);
    json_object_put(cfg);
    return rc;
}

static int sp_set_timesteps(void *vi, const struct pictor_timestep_params *p, char *err,
                            size_t errlen)
{
    struct sp_inst *inst = vi;
    double sig[1024], mu = p->mu;
    if (p->n_sigmas < 0 || p->n_sigmas > (int)(sizeof sig / sizeof sig[0])) {
        snprintf(err, errlen, "%s: %d explicit sigmas (at most %zu)", SCHED_PLUGIN_NAME,
                 p->n_sigmas, sizeof sig / sizeof sig[0]);
        return PICTOR_E_INVALID;
    }
    for (int i = 0; p->sigmas && i < p->n_sigmas; i++)
        sig[i] = p->sigmas[i];
    int rc = pictor_sched_set_timesteps(inst->s, p->num_inference_steps,
                                        p->sigmas ? sig : NULL, p->sigmas ? p->n_sigmas : 0,
                                        p->has_mu ? &mu : NULL, err, errlen);
    if (rc == PICTOR_OK && p->eta != 0.0f) {
        rc = pictor_sched_set_eta(inst->s, p->eta);
        if (rc != PICTOR_OK)
            snprintf(err, errlen, "%s: eta %g is not supported", SCHED_PLUGIN_NAME, p->eta);
    }
    return rc;
}

static const float *sp_timesteps(void *vi, size_t *n)
{
    struct sp_inst *inst = vi;
    *n = (size_t)pictor_sched_n_calls(inst->s);
    return pictor_sched_timesteps(inst->s);
}

static const float *sp_sigmas(void *vi, size_t *n)
{
    struct sp_inst *inst = vi;
    int k = 0;
    const float *s = pictor_sched_sigmas(inst->s, &k);
    *n = (size_t)k;
    return s;
}

static float sp_init_noise_sigma(void *vi)
{
    struct sp_inst *inst = vi;
    return pictor_sched_init_noise_sigma(inst->s);
}

static int sp_scale_model_input(void *vi, size_t i, const float *in, float *out, size_t n)
{
    struct sp_inst *inst = vi;
    return pictor_sched_scale_model_input(inst->s, (int)i, in, out, n);
}

static int sp_step(void *vi, size_t i, const float *model_output, const float *sample,
                   const struct pictor_noise_source *noise, float *out, size_t n, char *err,
                   size_t errlen)
{
    struct sp_inst *inst = vi;
    const float *nz = NULL;
    if (pictor_sched_draws_noise(inst->s)) {
        if (!noise || !noise->randn) {
            snprintf(err, errlen, "%s: this scheduler draws noise but none was provided",
                     SCHED_PLUGIN_NAME);
            return PICTOR_E_INVALID;
        }
        if (inst->noise_n < n) {
            float *b = realloc(inst->noise, n * sizeof *b);
            if (!b) {
                snprintf(err, errlen, "out of memory");
                return PICTOR_E_NOMEM;
            }
            inst->noise = b;
            inst->noise_n = n;
        }
        int rc = noise->randn(noise->ctx, inst->noise, n);
        if (rc != PICTOR_OK) {
            snprintf(err, errlen, "%s: noise source failed", SCHED_PLUGIN_NAME);
            return rc;
        }
        nz = inst->noise;
    }
    return pictor_sched_step(inst->s, (int)i, model_output, sample, nz, out, n, err, errlen);
}

static bool sp_linear_step(void *vi, size_t i, float *c_sample, float *c_output)
{
    struct sp_inst *inst = vi;
    return pictor_sched_linear_step(inst->s, (int)i, c_sample, c_output);
}

static void sp_destroy(void *vi)
{
    struct sp_inst *inst = vi;
    if (!inst)
        return;
    pictor_sched_destroy(inst->s);
    free(inst->noise);
    free(inst);
}

static const struct pictor_scheduler_iface sp_iface = {
    .struct_size = sizeof(struct pictor_scheduler_iface),
    /* flow-match-euler consumes velocities; the others noise (or v) */
    .prediction = SCHED_PLUGIN_PREDICTION,
    .create = sp_create,
    .set_timesteps = sp_set_timesteps,
    .timesteps = sp_timesteps,
    .sigmas = sp_sigmas,
    .init_noise_sigma = sp_init_noise_sigma,
    .scale_model_input = sp_scale_model_input,
    .step = sp_step,
    .destroy = sp_destroy,
    .linear_step = sp_linear_step,
};

static const char *const sp_components[] = {"scheduler." SCHED_PLUGIN_NAME, NULL};

PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {
    .struct_size = sizeof(struct pictor_plugin_entry),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = PICTOR_ABI_MINOR,
    .build_signature = PICTOR_BUILD_SIGNATURE,
    .kind = PICTOR_PLUGIN_SCHEDULER,
    .name = SCHED_PLUGIN_NAME,
    .version = "1.0",
    .description = SCHED_PLUGIN_DESCRIPTION,
    .scheduler = &sp_iface,
    .eval = pictor_eval_scheduler,
    .eval_components = sp_components,
};
