/* plugins/flux/flux_eval_pipeline.c — the "pipeline.flux" evaluator
 * (FIXTURES.md): the whole FluxPipeline on a tiny folder with given initial
 * latents, through this plugin's own encode / predict / decode and the
 * scheduler library the flow-match-euler plugin wraps, driven as the host's
 * pipeline runner drives them (core/lib/pipeline.c). Output `image`
 * [B, 3, H, W] in [0, 1] (output_type "pt"). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../schedulers/sched/sched.h"
#include "flux_family.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

#define EVAL_MAX_STEPS 1000

#define EVAL_MAX_PROMPTS 16

struct pipe_params {
    const char *prompt; /* the first prompt */
    const char *prompts[EVAL_MAX_PROMPTS];
    int n_prompts;
    int height, width, steps, max_seq;
    double guidance;
};

static int read_params(const char *json, struct json_object **root, struct pipe_params *p,
                       char *err, size_t errlen)
{
    struct json_object *o = json_tokener_parse(json ? json : "{}"), *v;
    *root = o;
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "pipeline.flux: params is not a JSON object");
        return PICTOR_E_FORMAT;
    }
    memset(p, 0, sizeof *p);
    p->max_seq = 512; /* FluxPipeline default */
    if (json_object_object_get_ex(o, "prompt", &v)) {
        if (json_object_is_type(v, json_type_string)) {
            p->prompts[p->n_prompts++] = json_object_get_string(v);
        } else if (json_object_is_type(v, json_type_array) &&
                   json_object_array_length(v) <= EVAL_MAX_PROMPTS) {
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                if (json_object_is_type(e, json_type_string))
                    p->prompts[p->n_prompts++] = json_object_get_string(e);
            }
        }
        p->prompt = p->n_prompts ? p->prompts[0] : NULL;
    }
    if (json_object_object_get_ex(o, "height", &v)) p->height = json_object_get_int(v);
    if (json_object_object_get_ex(o, "width", &v)) p->width = json_object_get_int(v);
    if (json_object_object_get_ex(o, "num_inference_steps", &v))
        p->steps = json_object_get_int(v);
    if (json_object_object_get_ex(o, "guidance_scale", &v))
        p->guidance = json_object_get_double(v);
    if (json_object_object_get_ex(o, "max_sequence_length", &v))
        p->max_seq = json_object_get_int(v);
    if (!p->prompt || p->height <= 0 || p->width <= 0 || p->steps < 1 ||
        p->steps > EVAL_MAX_STEPS || p->max_seq < 1 || p->max_seq > 512) {
        snprintf(err, errlen, "pipeline.flux: params need prompt, height, width, "
                 "num_inference_steps (1..%d) and max_sequence_length 1..512", EVAL_MAX_STEPS);
        return PICTOR_E_INVALID;
    }
    return PICTOR_OK;
}

int flux_eval_pipeline(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                       char *err, size_t errlen)
{
    pictor_backend *be = req->backend;
    struct json_object *root = NULL;
    struct pipe_params pp;
    struct flux_model *m = NULL;
    struct flux_cond *c = NULL;
    struct pictor_sched *s = NULL;
    pictor_tensor lat_in, packed = {0}, xd = {0}, vd = {0};
    float *x = NULL, *v = NULL, *image = NULL;
    int rc;
    if ((rc = read_params(req->params_json, &root, &pp, err, errlen)))
        goto out;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = req->model_dir,
                                    .backend = be, .precision = req->precision};
    void *mv = NULL;
    if ((rc = flux_open(&op, &mv, err, errlen)))
        goto out;
    m = mv;
    if ((rc = io->get_input(io->ctx, "latents", &lat_in)) || lat_in.ndim != 3) {
        snprintf(err, errlen, "pipeline.flux: input 'latents' [B, L, C] (packed) is required");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    struct pictor_gen_params gp = {.struct_size = sizeof gp, .prompt = pp.prompt,
                                   .width = pp.width, .height = pp.height,
                                   .batch = (int)lat_in.shape[0], .guidance = (float)pp.guidance};
    int64_t shape[4];
    if ((rc = flux_latent_shape(m, &gp, shape)) ||
        lat_in.shape[1] != (shape[2] / 2) * (shape[3] / 2) || lat_in.shape[2] != 4 * shape[1]) {
        snprintf(err, errlen, "pipeline.flux: latents do not match a %dx%d image", pp.width,
                 pp.height);
        rc = PICTOR_E_INVALID;
        goto out;
    }
    if ((rc = flux_encode_prompts(m, &gp, pp.prompts, pp.n_prompts, pp.max_seq, &c, err,
                                  errlen)))
        goto out;
    /* unpack the given latents into the noise layout the scheduler sees */
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    x = malloc(n * sizeof *x);
    v = malloc(n * sizeof *v);
    if (lat_in.dtype != PICTOR_F32 || !pictor_tensor_is_contiguous(&lat_in)) {
        snprintf(err, errlen, "pipeline.flux: input 'latents' must be contiguous f32");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    /* lat_in is a host tensor: uploaded, not copied by a (GPU) backend op */
    if (!x || !v || (rc = pictor_tensor_alloc(be, &packed, PICTOR_F32, 3, lat_in.shape)) ||
        (rc = pictor_tensor_alloc(be, &xd, PICTOR_F32, 4, shape)) ||
        (rc = pictor_tensor_alloc(be, &vd, PICTOR_F32, 4, shape)) ||
        (rc = pictor_backend_upload(be, packed.data, lat_in.data,
                                    pictor_tensor_nbytes(&packed))) ||
        (rc = flux_unpack(be, &packed, &xd))) {
        snprintf(err, errlen, "pipeline.flux: %s", x && v ? pictor_backend_error(be)
                                                           : "out of memory");
        rc = rc ? rc : PICTOR_E_NOMEM;
        goto out;
    }
    if ((rc = pictor_backend_download(be, x, xd.data, n * sizeof *x)))
        goto out;
    char path[4300];
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", req->model_dir);
    if ((rc = pictor_sched_create_from_file(PICTOR_SCHED_FLOW_EULER, path, &s, err, errlen)))
        goto out;
    struct pictor_timestep_params tp = {.struct_size = sizeof tp};
    float sig[EVAL_MAX_STEPS];
    double sigd[EVAL_MAX_STEPS];
    if ((rc = flux_schedule(m, &gp, pp.steps, &tp, sig, EVAL_MAX_STEPS))) {
        snprintf(err, errlen, "pipeline.flux: schedule failed");
        goto out;
    }
    for (int i = 0; i < tp.n_sigmas; i++)
        sigd[i] = tp.sigmas[i];
    if ((rc = pictor_sched_set_timesteps(s, pp.steps, sigd, tp.n_sigmas, &tp.mu, err, errlen)))
        goto out;
    const float *ts = pictor_sched_timesteps(s);
    for (int i = 0; i < pictor_sched_n_calls(s); i++) {
        if ((rc = pictor_backend_upload(be, xd.data, x, n * sizeof *x)) ||
            (rc = flux_predict(m, NULL, c, &xd, ts[i], 0.0f, &vd, err, errlen)) ||
            (rc = pictor_backend_download(be, v, vd.data, n * sizeof *v)) ||
            (rc = pictor_sched_step(s, i, v, x, NULL, x, n, err, errlen)))
            goto out;
    }
    const int sc = pictor_vae_scale(&m->vae_cfg);
    int64_t ishape[4] = {shape[0], 3, shape[2] * sc, shape[3] * sc};
    image = malloc((size_t)(ishape[0] * 3 * ishape[2] * ishape[3]) * sizeof *image);
    if (!image) {
        rc = PICTOR_E_NOMEM;
        snprintf(err, errlen, "pipeline.flux: out of memory");
        goto out;
    }
    if ((rc = pictor_backend_upload(be, xd.data, x, n * sizeof *x)) ||
        (rc = flux_decode(m, NULL, &xd, image, err, errlen)))
        goto out;
    pictor_tensor out_t = pictor_tensor_make(image, PICTOR_F32, 4, ishape);
    rc = io->put_output(io->ctx, "image", &out_t);
out:
    free(image);
    pictor_sched_destroy(s);
    pictor_tensor_free(be, &vd);
    pictor_tensor_free(be, &xd);
    pictor_tensor_free(be, &packed);
    free(v);
    free(x);
    if (m) {
        flux_release_cond(m, c);
        flux_close(m);
    }
    json_object_put(root);
    return rc;
}
