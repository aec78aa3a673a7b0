/* sched_config.c — scheduler_config.json -> struct sched_config with the
 * diffusers 0.42 class defaults (the __init__ signatures of the six
 * classes) for absent or null keys. Keys outside this list are ignored, as
 * diffusers' from_config does; options that change the math in ways not
 * implemented here are rejected by name. */
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"
#include "sched_internal.h"

/* diffusers class defaults shared by Euler/EulerA/DDIM/DPM (Heun differs). */
#define DEFAULT_T 1000
#define DEFAULT_BETA_START 0.0001
#define DEFAULT_BETA_END 0.02
#define HEUN_BETA_START 0.00085
#define HEUN_BETA_END 0.012

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_object_get_type(v) == json_type_null ? NULL : v;
}

static void get_double(struct json_object *o, const char *key, double *dst)
{
    struct json_object *v = get(o, key);
    if (v)
        *dst = json_object_get_double(v);
}

static void get_int(struct json_object *o, const char *key, int *dst)
{
    struct json_object *v = get(o, key);
    if (v)
        *dst = json_object_get_int(v);
}

static void get_bool(struct json_object *o, const char *key, bool *dst)
{
    struct json_object *v = get(o, key);
    if (v)
        *dst = json_object_get_boolean(v);
}

static const char *get_str(struct json_object *o, const char *key, const char *dflt)
{
    struct json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : dflt;
}

/* A boolean option that must be false (unimplemented variants). */
static int must_be_false(struct json_object *o, const char *key, char *err, size_t errlen)
{
    bool b = false;
    get_bool(o, key, &b);
    if (b)
        return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                          "scheduler_config.json: %s = true is not supported", key);
    return PICTOR_OK;
}

static int parse_common(int kind, struct json_object *o, struct sched_config *c, char *err,
                        size_t errlen)
{
    get_int(o, "num_train_timesteps", &c->num_train_timesteps);
    if (c->num_train_timesteps < 2)
        return sched_errf(err, errlen, PICTOR_E_FORMAT, "num_train_timesteps %d < 2",
                          c->num_train_timesteps);
    if (kind == PICTOR_SCHED_FLOW_EULER)
        return PICTOR_OK;
    get_double(o, "beta_start", &c->beta_start);
    get_double(o, "beta_end", &c->beta_end);
    const char *bs = get_str(o, "beta_schedule", "linear");
    if (strcmp(bs, "linear") == 0)
        c->beta_schedule = BETA_LINEAR;
    else if (strcmp(bs, "scaled_linear") == 0)
        c->beta_schedule = BETA_SCALED_LINEAR;
    else
        return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED, "beta_schedule \"%s\" is not supported",
                          bs);
    struct json_object *tb = get(o, "trained_betas");
    if (tb) {
        if (!json_object_is_type(tb, json_type_array) ||
            (int)json_object_array_length(tb) != c->num_train_timesteps)
            return sched_errf(err, errlen, PICTOR_E_FORMAT,
                              "trained_betas must be a list of num_train_timesteps numbers");
        c->trained_betas = malloc((size_t)c->num_train_timesteps * sizeof(double));
        if (!c->trained_betas)
            return sched_errf(err, errlen, PICTOR_E_NOMEM, "trained_betas: out of memory");
        for (int i = 0; i < c->num_train_timesteps; i++)
            c->trained_betas[i] = json_object_get_double(json_object_array_get_idx(tb, (size_t)i));
        c->beta_schedule = BETA_TRAINED;
    }
    const char *pt = get_str(o, "prediction_type", "epsilon");
    if (strcmp(pt, "epsilon") == 0)
        c->prediction = PICTOR_SCHED_PRED_EPSILON;
    else if (strcmp(pt, "v_prediction") == 0)
        c->prediction = PICTOR_SCHED_PRED_V;
    else
        return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                          "prediction_type \"%s\" is not supported", pt);
    const char *sp = get_str(o, "timestep_spacing", kind == PICTOR_SCHED_DDIM ? "leading" : "linspace");
    if (strcmp(sp, "linspace") == 0)
        c->spacing = SPACING_LINSPACE;
    else if (strcmp(sp, "leading") == 0)
        c->spacing = SPACING_LEADING;
    else if (strcmp(sp, "trailing") == 0)
        c->spacing = SPACING_TRAILING;
    else
        return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED, "timestep_spacing \"%s\"", sp);
    get_int(o, "steps_offset", &c->steps_offset);
    int rc = must_be_false(o, "rescale_betas_zero_snr", err, errlen);
    return rc;
}

static int parse_kind(int kind, struct json_object *o, struct sched_config *c, char *err,
                      size_t errlen)
{
    static const char *const no_sigmas[] = {"use_exponential_sigmas", "use_beta_sigmas",
                                            "use_lu_lambdas", "use_flow_sigmas",
                                            "thresholding", "invert_sigmas",
                                            "stochastic_sampling", NULL};
    for (int k = 0; no_sigmas[k]; k++) {
        int rc = must_be_false(o, no_sigmas[k], err, errlen);
        if (rc)
            return rc;
    }
    if (kind != PICTOR_SCHED_EULER_A && kind != PICTOR_SCHED_DDIM &&
        kind != PICTOR_SCHED_FLOW_EULER)
        get_bool(o, "use_karras_sigmas", &c->use_karras_sigmas);
    const char *fs = get_str(o, "final_sigmas_type", "zero");
    if (kind == PICTOR_SCHED_EULER || kind == PICTOR_SCHED_DPMPP) {
        if (strcmp(fs, "zero") != 0 && strcmp(fs, "sigma_min") != 0)
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED, "final_sigmas_type \"%s\"", fs);
        c->final_sigma_min = strcmp(fs, "sigma_min") == 0;
    }
    switch (kind) {
    case PICTOR_SCHED_FLOW_EULER: {
        get_double(o, "shift", &c->shift);
        get_bool(o, "use_dynamic_shifting", &c->use_dynamic_shifting);
        if (get(o, "shift_terminal") && json_object_get_double(get(o, "shift_terminal")) != 0.0)
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED, "shift_terminal is not supported");
        if (strcmp(get_str(o, "time_shift_type", "exponential"), "exponential") != 0)
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED, "time_shift_type must be exponential");
        c->prediction = PICTOR_SCHED_PRED_FLOW;
        return must_be_false(o, "use_karras_sigmas", err, errlen);
    }
    case PICTOR_SCHED_EULER: {
        get_double(o, "sigma_min", &c->sigma_min);
        get_double(o, "sigma_max", &c->sigma_max);
        if (strcmp(get_str(o, "interpolation_type", "linear"), "linear") != 0 ||
            strcmp(get_str(o, "timestep_type", "discrete"), "discrete") != 0)
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                              "Euler: only interpolation_type linear, timestep_type discrete");
        break;
    }
    case PICTOR_SCHED_HEUN:
    case PICTOR_SCHED_DDIM:
        get_bool(o, "clip_sample", &c->clip_sample);
        get_double(o, "clip_sample_range", &c->clip_sample_range);
        if (kind == PICTOR_SCHED_DDIM)
            get_bool(o, "set_alpha_to_one", &c->set_alpha_to_one);
        break;
    case PICTOR_SCHED_DPMPP: {
        get_int(o, "solver_order", &c->solver_order);
        get_bool(o, "lower_order_final", &c->lower_order_final);
        get_bool(o, "euler_at_final", &c->euler_at_final);
        get_double(o, "lambda_min_clipped", &c->lambda_min_clipped);
        const char *alg = get_str(o, "algorithm_type", "dpmsolver++");
        const char *st = get_str(o, "solver_type", "midpoint");
        if (strcmp(alg, "dpmsolver++") != 0 || strcmp(st, "midpoint") != 0 ||
            (c->solver_order != 1 && c->solver_order != 2) || get(o, "variance_type"))
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                              "DPM-Solver: only dpmsolver++ / midpoint / order <= 2 "
                              "(got %s / %s / %d)", alg, st, c->solver_order);
        bool dyn = false;
        get_bool(o, "use_dynamic_shifting", &dyn);
        if (dyn)
            return sched_errf(err, errlen, PICTOR_E_UNSUPPORTED,
                              "DPM-Solver: use_dynamic_shifting is not supported");
        break;
    }
    default:
        break;
    }
    return PICTOR_OK;
}

int sched_config_parse(int kind, struct json_object *o, struct sched_config *c, char *err,
                       size_t errlen)
{
    *c = (struct sched_config){
        .num_train_timesteps = DEFAULT_T,
        .beta_start = kind == PICTOR_SCHED_HEUN ? HEUN_BETA_START : DEFAULT_BETA_START,
        .beta_end = kind == PICTOR_SCHED_HEUN ? HEUN_BETA_END : DEFAULT_BETA_END,
        .beta_schedule = BETA_LINEAR,
        .prediction = PICTOR_SCHED_PRED_EPSILON,
        .spacing = kind == PICTOR_SCHED_DDIM ? SPACING_LEADING : SPACING_LINSPACE,
        .sigma_min = NAN,
        .sigma_max = NAN,
        .clip_sample = kind == PICTOR_SCHED_DDIM, /* DDIM True, Heun False */
        .clip_sample_range = 1.0,
        .set_alpha_to_one = true,
        .solver_order = 2,
        .lower_order_final = true,
        .lambda_min_clipped = -INFINITY,
        .shift = 1.0,
    };
    if (o && !json_object_is_type(o, json_type_object))
        return sched_errf(err, errlen, PICTOR_E_FORMAT, "scheduler config is not a JSON object");
    int rc = parse_common(kind, o, c, err, errlen);
    if (rc == PICTOR_OK)
        rc = parse_kind(kind, o, c, err, errlen);
    if (rc != PICTOR_OK) {
        free(c->trained_betas);
        c->trained_betas = NULL;
    }
    return rc;
}
