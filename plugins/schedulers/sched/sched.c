/* sched.c — scheduler handle: names, create/destroy, accessors and the
 * dispatch to the per-kind files; see sched.h. */
#include "sched.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"
#include "sched_internal.h"

static const char *const kind_names[PICTOR_SCHED_KIND_COUNT] = {
    [PICTOR_SCHED_FLOW_EULER] = "flow-match-euler", [PICTOR_SCHED_EULER] = "euler",
    [PICTOR_SCHED_EULER_A] = "euler-a",             [PICTOR_SCHED_HEUN] = "heun",
    [PICTOR_SCHED_DDIM] = "ddim",                   [PICTOR_SCHED_DPMPP] = "dpm++",
};

static const char *const class_names[PICTOR_SCHED_KIND_COUNT] = {
    [PICTOR_SCHED_FLOW_EULER] = "FlowMatchEulerDiscreteScheduler",
    [PICTOR_SCHED_EULER] = "EulerDiscreteScheduler",
    [PICTOR_SCHED_EULER_A] = "EulerAncestralDiscreteScheduler",
    [PICTOR_SCHED_HEUN] = "HeunDiscreteScheduler",
    [PICTOR_SCHED_DDIM] = "DDIMScheduler",
    [PICTOR_SCHED_DPMPP] = "DPMSolverMultistepScheduler",
};

static const struct sched_ops *const kind_ops[PICTOR_SCHED_KIND_COUNT] = {
    [PICTOR_SCHED_FLOW_EULER] = &pictor_sched_flow_ops, [PICTOR_SCHED_EULER] = &pictor_sched_euler_ops,
    [PICTOR_SCHED_EULER_A] = &pictor_sched_euler_a_ops, [PICTOR_SCHED_HEUN] = &pictor_sched_heun_ops,
    [PICTOR_SCHED_DDIM] = &pictor_sched_ddim_ops,       [PICTOR_SCHED_DPMPP] = &pictor_sched_dpm_ops,
};

int pictor_sched_kind_parse(const char *name)
{
    for (int k = 0; k < PICTOR_SCHED_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *pictor_sched_kind_name(int kind)
{
    return kind >= 0 && kind < PICTOR_SCHED_KIND_COUNT ? kind_names[kind] : "?";
}

int pictor_sched_kind_from_class(const char *class_name)
{
    for (int k = 0; k < PICTOR_SCHED_KIND_COUNT; k++)
        if (strcmp(class_name, class_names[k]) == 0)
            return k;
    return -1;
}

int pictor_sched_create(int kind, struct json_object *config, struct pictor_sched **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    if (kind < 0 || kind >= PICTOR_SCHED_KIND_COUNT)
        return sched_errf(err, errlen, PICTOR_E_INVALID, "unknown scheduler kind %d", kind);
    struct pictor_sched *s = calloc(1, sizeof *s);
    if (!s)
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "scheduler: out of memory");
    s->kind = kind;
    s->ops = kind_ops[kind];
    s->init_noise_sigma = 1.0f;
    int rc = sched_config_parse(kind, config, &s->cfg, err, errlen);
    if (rc != PICTOR_OK)
        goto fail;
    if (kind != PICTOR_SCHED_FLOW_EULER) {
        rc = sched_build_tables(s, err, errlen);
        if (rc != PICTOR_OK)
            goto fail;
    }
    *out = s;
    return PICTOR_OK;
fail:
    pictor_sched_destroy(s);
    return rc;
}

int pictor_sched_create_from_file(int kind, const char *path, struct pictor_sched **out,
                                  char *err, size_t errlen)
{
    *out = NULL;
    struct json_object *cfg = json_object_from_file(path);
    if (!cfg)
        return sched_errf(err, errlen, PICTOR_E_IO, "%s: cannot read or parse (%s)", path,
                          json_util_get_last_err() ? json_util_get_last_err() : "?");
    int rc = pictor_sched_create(kind, cfg, out, err, errlen);
    json_object_put(cfg);
    return rc;
}

void pictor_sched_destroy(struct pictor_sched *s)
{
    if (!s)
        return;
    free(s->cfg.trained_betas);
    free(s->alphas_cumprod);
    free(s->sigma_table);
    free(s->log_sigma_table);
    free(s->timesteps);
    free(s->sigmas);
    free(s->state_a);
    free(s->state_b);
    free(s);
}

int pictor_sched_kind(const struct pictor_sched *s) { return s->kind; }
int pictor_sched_prediction(const struct pictor_sched *s) { return s->cfg.prediction; }

int pictor_sched_set_timesteps(struct pictor_sched *s, int num_steps, const double *sigmas,
                               int n_sigmas, const double *mu, char *err, size_t errlen)
{
    if (sigmas && s->kind != PICTOR_SCHED_FLOW_EULER)
        return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                          "%s: explicit sigmas are only supported by flow-match-euler",
                          kind_names[s->kind]);
    if (sigmas ? (n_sigmas < 1 || (num_steps && num_steps != n_sigmas)) : num_steps < 1)
        return sched_errf(err, errlen, PICTOR_E_INVALID,
                          "set_timesteps: %d steps with %d sigmas", num_steps, n_sigmas);
    return s->ops->set_timesteps(s, sigmas ? n_sigmas : num_steps, sigmas, n_sigmas, mu, err,
                                 errlen);
}

int pictor_sched_set_eta(struct pictor_sched *s, double eta)
{
    if (s->kind != PICTOR_SCHED_DDIM && eta != 0.0)
        return PICTOR_E_UNSUPPORTED;
    if (!(eta >= 0.0))
        return PICTOR_E_INVALID;
    s->eta = eta;
    return PICTOR_OK;
}

int pictor_sched_n_calls(const struct pictor_sched *s) { return s->n_calls; }
const float *pictor_sched_timesteps(const struct pictor_sched *s) { return s->timesteps; }

const float *pictor_sched_sigmas(const struct pictor_sched *s, int *n)
{
    *n = s->n_sigmas;
    return s->sigmas;
}

float pictor_sched_init_noise_sigma(const struct pictor_sched *s) { return s->init_noise_sigma; }
bool pictor_sched_scales_input(const struct pictor_sched *s) { return s->ops->scale != NULL; }

bool pictor_sched_draws_noise(const struct pictor_sched *s)
{
    return s->kind == PICTOR_SCHED_EULER_A || (s->kind == PICTOR_SCHED_DDIM && s->eta > 0.0);
}

int pictor_sched_scale_model_input(const struct pictor_sched *s, int i, const float *in,
                                   float *out, size_t n)
{
    if (i < 0 || i >= s->n_calls)
        return PICTOR_E_INVALID;
    if (s->ops->scale)
        s->ops->scale(s, i, in, out, n);
    else if (out != in)
        memmove(out, in, n * sizeof *out);
    return PICTOR_OK;
}

int pictor_sched_step(struct pictor_sched *s, int i, const float *model_output,
                      const float *sample, const float *noise, float *out, size_t n, char *err,
                      size_t errlen)
{
    if (s->n_calls == 0)
        return sched_errf(err, errlen, PICTOR_E_INVALID, "step before set_timesteps");
    if (i != s->next_call || i >= s->n_calls)
        return sched_errf(err, errlen, PICTOR_E_INVALID,
                          "step %d out of order (next is %d of %d)", i, s->next_call, s->n_calls);
    if (pictor_sched_draws_noise(s) && !noise)
        return sched_errf(err, errlen, PICTOR_E_INVALID, "%s step %d needs a noise tensor",
                          kind_names[s->kind], i);
    int rc = s->ops->step(s, i, model_output, sample, noise, out, n, err, errlen);
    if (rc == PICTOR_OK)
        s->next_call++;
    return rc;
}

bool pictor_sched_linear_step(struct pictor_sched *s, int i, float *c_sample, float *c_output)
{
    if (!s->ops->linear || s->ops->scale || pictor_sched_draws_noise(s) || s->n_calls == 0 ||
        i != s->next_call || i >= s->n_calls || !s->ops->linear(s, i, c_sample, c_output))
        return false;
    s->next_call++;
    return true;
}
