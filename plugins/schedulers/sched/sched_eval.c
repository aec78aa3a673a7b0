/* sched_eval.c — `pictor check` evaluators for rng.torch and
 * scheduler.<name>; see sched_eval.h. */
#include "sched_eval.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/convert.h"
#include "pictor/rng.h"
#include "pictor/status.h"
#include "pictor/tensor_util.h"
#include "sched.h"

#define SCHED_PREFIX "scheduler."
#define NAME_MAX_LEN 64

static int errf(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

static struct json_object *param(struct json_object *p, const char *key)
{
    struct json_object *v = NULL;
    if (!p || !json_object_object_get_ex(p, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

static int put_f32(const struct pictor_eval_io *io, const char *name, float *data, int ndim,
                   const int64_t *shape)
{
    pictor_tensor t = pictor_tensor_make(data, PICTOR_F32, ndim, shape);
    return io->put_output(io->ctx, name, &t);
}

/* ---- rng.torch --------------------------------------------------------- */

int pictor_eval_rng_torch(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                          char *err, size_t errlen)
{
    struct json_object *p = json_tokener_parse(req->params_json ? req->params_json : "{}");
    float *noise = NULL;
    void *raw = NULL;
    int rc = PICTOR_E_FORMAT;
    struct json_object *seed = param(p, "seed"), *shape = param(p, "shape");
    struct json_object *gen = param(p, "generator"), *dt = param(p, "dtype");
    struct json_object *cap = param(p, "cpu_capability");
    if (!seed || !shape || !json_object_is_type(shape, json_type_array)) {
        errf(err, errlen, rc, "rng.torch: params need seed and shape");
        goto cleanup;
    }
    if (gen && strcmp(json_object_get_string(gen), "cpu") != 0) {
        rc = errf(err, errlen, PICTOR_E_UNSUPPORTED, "rng.torch: generator \"%s\" (only cpu)",
                  json_object_get_string(gen));
        goto cleanup;
    }
    int64_t dims[PICTOR_MAX_DIMS];
    int ndim = (int)json_object_array_length(shape);
    int64_t n = 1;
    if (ndim > PICTOR_MAX_DIMS) {
        errf(err, errlen, rc, "rng.torch: %d dims > %d", ndim, PICTOR_MAX_DIMS);
        goto cleanup;
    }
    for (int d = 0; d < ndim; d++) {
        dims[d] = json_object_get_int64(json_object_array_get_idx(shape, (size_t)d));
        if (dims[d] < 0 || (dims[d] && n > INT64_MAX / 8 / dims[d])) {
            errf(err, errlen, rc, "rng.torch: bad shape");
            goto cleanup;
        }
        n *= dims[d];
    }
    const char *dtype = dt ? json_object_get_string(dt) : "float32";
    struct pictor_rng rng = {0};
    pictor_rng_seed(&rng, json_object_get_uint64(seed));
    if (cap && pictor_rng_set_kernel(&rng, pictor_rng_kernel_parse(json_object_get_string(cap)))) {
        rc = errf(err, errlen, PICTOR_E_UNSUPPORTED, "rng.torch: cpu_capability \"%s\"",
                  json_object_get_string(cap));
        goto cleanup;
    }
    noise = malloc((size_t)(n ? n : 1) * sizeof *noise);
    raw = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!noise || !raw) {
        rc = errf(err, errlen, PICTOR_E_NOMEM, "rng.torch: out of memory");
        goto cleanup;
    }
    if (strcmp(dtype, "float64") == 0) {
        rc = pictor_rng_randn_f64(&rng, raw, n);
        for (int64_t i = 0; i < n; i++)
            noise[i] = (float)((double *)raw)[i];
    } else {
        int pd = strcmp(dtype, "float32") == 0   ? PICTOR_F32
                 : strcmp(dtype, "float16") == 0  ? PICTOR_F16
                 : strcmp(dtype, "bfloat16") == 0 ? PICTOR_BF16
                                                  : -1;
        if (pd < 0) {
            rc = errf(err, errlen, PICTOR_E_UNSUPPORTED, "rng.torch: dtype \"%s\"", dtype);
            goto cleanup;
        }
        rc = pictor_rng_randn(&rng, raw, pd, n);
        pictor_row_to_f32(noise, raw, pd, (size_t)n, 1.0f);
    }
    if (rc == PICTOR_OK)
        rc = put_f32(io, "noise", noise, ndim, dims);
    if (rc != PICTOR_OK && !err[0])
        errf(err, errlen, rc, "rng.torch: cannot store noise");
cleanup:
    free(noise);
    free(raw);
    json_object_put(p);
    return rc;
}

/* ---- scheduler.<name> ------------------------------------------------- */

struct sched_run {
    struct pictor_sched *s;
    const struct pictor_eval_io *io;
    int ndim;
    int64_t shape[PICTOR_MAX_DIMS];
    size_t n;
    float *x, *eps, *tmp, *noise;
    struct pictor_rng rng; /* continuation of the pipeline generator */
    bool have_rng;
};

/* Input `name` as n contiguous f32 values in dst. */
static int read_input(struct sched_run *r, const char *name, float *dst, bool shape_from,
                      char *err, size_t errlen)
{
    pictor_tensor t;
    int rc = r->io->get_input(r->io->ctx, name, &t);
    if (rc != PICTOR_OK)
        return errf(err, errlen, rc, "input %s: %s", name, pictor_status_name(rc));
    if (!pictor_tensor_is_contiguous(&t) || !pictor_dtype_is_float(t.dtype))
        return errf(err, errlen, PICTOR_E_INVALID, "input %s: need a contiguous float tensor",
                    name);
    size_t n = (size_t)pictor_tensor_numel(&t);
    if (shape_from) {
        r->ndim = t.ndim;
        memcpy(r->shape, t.shape, sizeof r->shape);
        r->n = n;
        return PICTOR_OK;
    }
    if (n != r->n)
        return errf(err, errlen, PICTOR_E_INVALID, "input %s: %zu elements, sample has %zu", name,
                    n, r->n);
    pictor_row_to_f32(dst, t.data, t.dtype, n, t.scale);
    return PICTOR_OK;
}

static int run_calls(struct sched_run *r, char *err, size_t errlen)
{
    char name[NAME_MAX_LEN];
    int rc = read_input(r, "sample_init", r->x, false, err, errlen);
    for (int k = 0; rc == PICTOR_OK && k < pictor_sched_n_calls(r->s); k++) {
        if (pictor_sched_scales_input(r->s)) {
            pictor_sched_scale_model_input(r->s, k, r->x, r->tmp, r->n);
            snprintf(name, sizeof name, "model_input_%d", k);
            rc = put_f32(r->io, name, r->tmp, r->ndim, r->shape);
            if (rc != PICTOR_OK)
                return errf(err, errlen, rc, "cannot store %s", name);
        }
        snprintf(name, sizeof name, "model_output_%d", k);
        rc = read_input(r, name, r->eps, false, err, errlen);
        const float *noise = NULL;
        if (rc == PICTOR_OK && pictor_sched_draws_noise(r->s)) {
            snprintf(name, sizeof name, "noise_%d", k);
            pictor_tensor t;
            if (r->io->get_input(r->io->ctx, name, &t) == PICTOR_OK) {
                rc = read_input(r, name, r->noise, false, err, errlen);
            } else if (r->have_rng) { /* model-output dtype f32: path A/B */
                rc = pictor_rng_randn(&r->rng, r->noise, PICTOR_F32, (int64_t)r->n);
            } else {
                rc = errf(err, errlen, PICTOR_E_NOT_FOUND, "input %s missing and no params.seed",
                          name);
            }
            noise = r->noise;
        }
        if (rc == PICTOR_OK)
            rc = pictor_sched_step(r->s, k, r->eps, r->x, noise, r->x, r->n, err, errlen);
        if (rc == PICTOR_OK) {
            snprintf(name, sizeof name, "sample_%d", k);
            rc = put_f32(r->io, name, r->x, r->ndim, r->shape);
        }
    }
    return rc;
}

static int put_schedule(struct sched_run *r, char *err, size_t errlen)
{
    int nt = pictor_sched_n_calls(r->s), ns = 0;
    int64_t dim = nt;
    int rc = put_f32(r->io, "timesteps", (float *)pictor_sched_timesteps(r->s), 1, &dim);
    const float *sig = pictor_sched_sigmas(r->s, &ns);
    dim = ns;
    if (rc == PICTOR_OK && sig)
        rc = put_f32(r->io, "sigmas", (float *)sig, 1, &dim);
    float ins = pictor_sched_init_noise_sigma(r->s);
    dim = 1;
    if (rc == PICTOR_OK)
        rc = put_f32(r->io, "init_noise_sigma", &ins, 1, &dim);
    if (rc != PICTOR_OK)
        errf(err, errlen, rc, "cannot store the schedule outputs");
    return rc;
}

static int set_schedule(struct pictor_sched *s, struct json_object *p, char *err, size_t errlen)
{
    struct json_object *steps = param(p, "num_inference_steps"), *mu = param(p, "mu");
    struct json_object *sig = param(p, "sigmas"), *eta = param(p, "eta");
    double mu_v = mu ? json_object_get_double(mu) : 0.0;
    if (eta && pictor_sched_set_eta(s, json_object_get_double(eta)) != PICTOR_OK)
        return errf(err, errlen, PICTOR_E_UNSUPPORTED, "params.eta %g not supported here",
                    json_object_get_double(eta));
    int n_sig = sig ? (int)json_object_array_length(sig) : 0;
    double *sv = NULL;
    if (sig) {
        sv = malloc((size_t)(n_sig ? n_sig : 1) * sizeof *sv);
        if (!sv)
            return errf(err, errlen, PICTOR_E_NOMEM, "sigmas: out of memory");
        for (int k = 0; k < n_sig; k++)
            sv[k] = json_object_get_double(json_object_array_get_idx(sig, (size_t)k));
    }
    int rc = pictor_sched_set_timesteps(s, steps ? json_object_get_int(steps) : 0, sv, n_sig,
                                        mu ? &mu_v : NULL, err, errlen);
    free(sv);
    return rc;
}

int pictor_eval_scheduler(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                          char *err, size_t errlen)
{
    struct sched_run r = {.io = io};
    struct json_object *p = NULL;
    char path[PATH_MAX];
    int rc;
    const char *comp = req->component ? req->component : "";
    int kind = strncmp(comp, SCHED_PREFIX, strlen(SCHED_PREFIX)) == 0
                   ? pictor_sched_kind_parse(comp + strlen(SCHED_PREFIX))
                   : -1;
    if (kind < 0)
        return errf(err, errlen, PICTOR_E_UNSUPPORTED, "unknown scheduler component \"%s\"", comp);
    if (!req->model_dir)
        return errf(err, errlen, PICTOR_E_NOT_FOUND, "%s: the case has no model folder", comp);
    snprintf(path, sizeof path, "%s/scheduler_config.json", req->model_dir);
    rc = pictor_sched_create_from_file(kind, path, &r.s, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    p = json_tokener_parse(req->params_json ? req->params_json : "{}");
    rc = set_schedule(r.s, p, err, errlen);
    if (rc == PICTOR_OK)
        rc = put_schedule(&r, err, errlen);
    if (rc == PICTOR_OK)
        rc = read_input(&r, "sample_init", NULL, true, err, errlen);
    if (rc != PICTOR_OK)
        goto cleanup;
    struct json_object *seed = param(p, "seed");
    if (seed) { /* the pipeline's generator after randn(sample shape) */
        float *first = malloc((r.n ? r.n : 1) * sizeof *first);
        if (!first) {
            rc = errf(err, errlen, PICTOR_E_NOMEM, "out of memory");
            goto cleanup;
        }
        pictor_rng_seed(&r.rng, json_object_get_uint64(seed));
        pictor_rng_randn(&r.rng, first, PICTOR_F32, (int64_t)r.n);
        free(first);
        r.have_rng = true;
    }
    size_t bytes = (r.n ? r.n : 1) * sizeof(float);
    r.x = malloc(bytes);
    r.eps = malloc(bytes);
    r.tmp = malloc(bytes);
    r.noise = malloc(bytes);
    if (!r.x || !r.eps || !r.tmp || !r.noise) {
        rc = errf(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", comp);
        goto cleanup;
    }
    rc = run_calls(&r, err, errlen);
cleanup:
    free(r.x);
    free(r.eps);
    free(r.tmp);
    free(r.noise);
    pictor_sched_destroy(r.s);
    json_object_put(p);
    return rc;
}
