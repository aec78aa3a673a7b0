/*
 * tests/plugins/testfam.c — a family plugin that implements every entry of
 * the family interface trivially, so tests/unit/test_plugins.c can call each
 * one through the loader. probe() claims a folder holding `testfam.marker`,
 * with the score written in it, and peeks at `model.safetensors` through the
 * host's weights API; open() reads tensor "w" through it; predict() returns
 * x / 2 + w[0]; decode() maps the final latents to the image. Not a model: an ABI exerciser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/plugin.h"

static const struct pictor_host_api *host;
static int live_models;

struct tf_model {
    int magic;
    struct pictor_wsource weights; /* ctx NULL when the folder has none */
    float first_value;             /* w[0] of "w", read through the host */
};

static int tf_init(const struct pictor_host_api *h, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    host = h;
    host->log(PICTOR_LOG_DEBUG, "testfam", "init (host ABI %u.%u)", h->abi_major, h->abi_minor);
    return PICTOR_OK;
}

static void tf_deinit(void)
{
    if (live_models)
        fprintf(stderr, "testfam: %d models leaked\n", live_models);
}

static int tf_probe(const char *dir, struct pictor_probe_result *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/testfam.marker", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        out->score = 0;
        return PICTOR_OK;
    }
    int score = 0;
    if (fscanf(f, "%d", &score) != 1)
        score = 0;
    fclose(f);
    out->score = score;
    snprintf(out->variant, sizeof out->variant, "testfam-v%d", score);
    snprintf(out->detail, sizeof out->detail, "marker score %d", score);
    /* header-only look at the weights through the host, as real probes do */
    struct pictor_wsource src;
    char err[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (host->weights_peek(path, &src, err, sizeof err) == PICTOR_OK) {
        size_t n = host->weights_count(&src);
        snprintf(out->detail, sizeof out->detail, "marker score %d, %zu tensors, first %s", score,
                 n, n ? host->weights_name(&src, 0) : "-");
        host->weights_close(&src);
    }
    return PICTOR_OK;
}

static int tf_open(const struct pictor_open_params *p, void **model, char *err, size_t errlen)
{
    (void)p;
    struct tf_model *m = host->alloc(sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    m->magic = 0x7e57;
    memset(&m->weights, 0, sizeof m->weights);
    m->first_value = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", p->model_dir);
    if (host->weights_open(path, false, &m->weights, err, errlen) == PICTOR_OK) {
        struct pictor_tensor w;
        if (m->weights.get(m->weights.ctx, "w", &w) == PICTOR_OK && w.dtype == PICTOR_F32)
            m->first_value = ((const float *)w.data)[0];
    }
    live_models++;
    *model = m;
    return PICTOR_OK;
}

static void tf_defaults(void *model, struct pictor_family_defaults *d)
{
    (void)model;
    d->steps = 4;
    d->step_ceiling = 8;
    d->guidance = 0;
    snprintf(d->scheduler, sizeof d->scheduler, "flow-match-euler");
    d->size_granularity = 16;
    d->default_width = d->default_height = 64;
    d->prediction = PICTOR_PREDICT_FLOW;
    snprintf(d->licence, sizeof d->licence, "test only");
}

static int tf_encode(void *model, const struct pictor_job_ctx *job,
                     const struct pictor_gen_params *gp, void **cond, char *err, size_t errlen)
{
    (void)model;
    (void)job;
    if (!gp->prompt || !*gp->prompt) {
        snprintf(err, errlen, "empty prompt");
        return PICTOR_E_INVALID;
    }
    char *c = host->alloc(strlen(gp->prompt) + 1);
    if (!c)
        return PICTOR_E_NOMEM;
    strcpy(c, gp->prompt);
    *cond = c;
    return PICTOR_OK;
}

static int tf_latent_shape(void *model, const struct pictor_gen_params *gp, int64_t shape[4])
{
    (void)model;
    shape[0] = gp->batch;
    shape[1] = 4;
    shape[2] = gp->height / 8;
    shape[3] = gp->width / 8;
    return PICTOR_OK;
}

static int tf_predict(void *model, const struct pictor_job_ctx *job, void *cond,
                      const struct pictor_tensor *x, float timestep, float sigma,
                      struct pictor_tensor *out, char *err, size_t errlen)
{
    (void)cond;
    (void)timestep;
    (void)sigma;
    if (job->cancelled && job->cancelled(job->host)) {
        snprintf(err, errlen, "cancelled");
        return PICTOR_E_CANCELLED;
    }
    int64_t n = 1;
    for (int i = 0; i < x->ndim; i++)
        n *= x->shape[i];
    const float *xi = x->data;
    float *o = out->data;
    struct tf_model *m = model;
    for (int64_t i = 0; i < n; i++)
        o[i] = xi[i] * 0.5f + m->first_value;
    return PICTOR_OK;
}

/* image[k] = 0.5 + latent[k % n] / 16 (the host clamps to [0, 1]): the
 * image depends on the final latents, so tests can check what the host's
 * denoising loop produced. */
static int tf_decode(void *model, const struct pictor_job_ctx *job,
                     const struct pictor_tensor *latents, float *image, char *err,
                     size_t errlen)
{
    (void)model;
    (void)job;
    (void)err;
    (void)errlen;
    int64_t nl = latents->shape[0] * latents->shape[1] * latents->shape[2] * latents->shape[3];
    int64_t n = latents->shape[0] * 3 * latents->shape[2] * 8 * latents->shape[3] * 8;
    const float *l = latents->data;
    for (int64_t i = 0; i < n; i++)
        image[i] = 0.5f + l[i % nl] / 16.0f;
    return PICTOR_OK;
}

static void tf_release_cond(void *model, void *cond)
{
    (void)model;
    host->free(cond);
}

static void tf_close(void *model)
{
    struct tf_model *m = model;
    if (m && m->magic == 0x7e57) {
        if (m->weights.ctx)
            host->weights_close(&m->weights);
        live_models--;
        host->free(m);
    }
}

static const struct pictor_family_iface family = {
    .struct_size = sizeof(struct pictor_family_iface),
    .probe = tf_probe,
    .open = tf_open,
    .defaults = tf_defaults,
    .encode = tf_encode,
    .latent_shape = tf_latent_shape,
    .predict = tf_predict,
    .decode = tf_decode,
    .release_cond = tf_release_cond,
    .close = tf_close,
};

static int tf_eval(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                   char *err, size_t errlen)
{
    (void)req;
    struct pictor_tensor t;
    if (io->get_input(io->ctx, "x", &t) != PICTOR_OK) {
        snprintf(err, errlen, "no input x");
        return PICTOR_E_NOT_FOUND;
    }
    return io->put_output(io->ctx, "y", &t);
}

static const char *const components[] = {"testfam.identity", NULL};

PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {
    .struct_size = sizeof(struct pictor_plugin_entry),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = PICTOR_ABI_MINOR,
    .build_signature = PICTOR_BUILD_SIGNATURE,
    .kind = PICTOR_PLUGIN_FAMILY,
    .name = "testfam",
    .version = "1.0",
    .description = "ABI exerciser family",
    .init = tf_init,
    .deinit = tf_deinit,
    .family = &family,
    .eval = tf_eval,
    .eval_components = components,
};
