/* plugins/flux/flux_eval.c — the "flux.transformer" evaluator
 * (pictor/flux_eval.h): loads the case's FluxTransformer2DModel folder
 * through the host weights API, moves the inputs to the backend's device
 * (ids stay on the host: the RoPE tables are made there) and returns the
 * forward's `sample`. */
#include <stdio.h>
#include <string.h>

#include "pictor/common_host.h"
#include "pictor/flux_eval.h"
#include "pictor/flux_transformer.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"
#include "pictor/params.h"

enum { IN_X, IN_CTX, IN_POOLED, IN_T, IN_G, IN_IMG_IDS, IN_TXT_IDS, IN_COUNT };

static const char *const in_names[IN_COUNT] = {
    "hidden_states", "encoder_hidden_states", "pooled_projections", "timestep",
    "guidance", "img_ids", "txt_ids"};

/* Contiguous f32 copy of a CPU input on the backend's device. */
static int to_device(pictor_backend *be, const char *name, const pictor_tensor *host,
                     pictor_tensor *dev, char *err, size_t errlen)
{
    int rc = pictor_tensor_alloc(be, dev, PICTOR_F32, host->ndim, host->shape);
    if (rc == PICTOR_OK) {
        if (pictor_backend_device(be) == PICTOR_DEVICE_CPU)
            rc = pictor_copy(be, host, dev);
        else if (host->dtype == PICTOR_F32 && pictor_tensor_is_contiguous(host))
            rc = pictor_backend_upload(be, dev->data, host->data, pictor_tensor_nbytes(dev));
        else {
            snprintf(err, errlen, "flux.transformer: input '%s' must be contiguous f32", name);
            return PICTOR_E_INVALID;
        }
    }
    if (rc != PICTOR_OK)
        snprintf(err, errlen, "flux.transformer: input '%s': %s", name,
                 pictor_backend_error(be));
    return rc;
}

int pictor_eval_flux_transformer(const struct pictor_eval_request *req,
                                 const struct pictor_eval_io *io, char *err, size_t errlen)
{
    const struct pictor_host_api *host = pictor_common_host();
    pictor_backend *be = req->backend;
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *m = NULL;
    pictor_tensor hostin[IN_COUNT] = {0}, dev[IN_COUNT] = {0}, out = {0};
    bool have[IN_COUNT] = {0};
    int rc;
    if (!req->model_dir) {
        snprintf(err, errlen, "flux.transformer needs a model folder");
        return PICTOR_E_INVALID;
    }
    if (!host) {
        snprintf(err, errlen, "flux.transformer: no host API set (pictor_common_set_host)");
        return PICTOR_E_INVALID;
    }
    if ((rc = pictor_flux_config_load(req->model_dir, &cfg, err, errlen)))
        return rc;
    cfg.compute_dtype = pictor_precision_compute_dtype(req->precision);
    cfg.fp8_linears = pictor_precision_fp8_linears(req->precision);
    cfg.fp8_attention = cfg.fp8_linears && pictor_flux_fp8_attention_env();
    if ((rc = host->weights_open(req->model_dir, false, &src, err, errlen)))
        return rc;
    if ((rc = pictor_flux_transformer_open(&cfg, &src, be, &m, err, errlen)))
        goto out;
    for (int i = 0; i < IN_COUNT; i++) {
        if (i == IN_G && !cfg.guidance_embeds)
            continue;
        if ((rc = io->get_input(io->ctx, in_names[i], &hostin[i]))) {
            snprintf(err, errlen, "flux.transformer: input '%s' missing%s", in_names[i],
                     i == IN_G ? " (the model has guidance_embeds)" : "");
            goto out;
        }
        have[i] = true;
        if (i == IN_IMG_IDS || i == IN_TXT_IDS) { /* host f32, any strides */
            if (hostin[i].dtype == PICTOR_F32)
                continue;
            snprintf(err, errlen, "flux.transformer: input '%s' must be f32", in_names[i]);
            rc = PICTOR_E_INVALID;
            goto out;
        }
        if ((rc = to_device(be, in_names[i], &hostin[i], &dev[i], err, errlen)))
            goto out;
    }
    struct pictor_flux_inputs in = {
        .hidden_states = &dev[IN_X], .encoder_hidden_states = &dev[IN_CTX],
        .pooled_projections = &dev[IN_POOLED], .timestep = &dev[IN_T],
        .guidance = have[IN_G] ? &dev[IN_G] : NULL,
        .img_ids = &hostin[IN_IMG_IDS], .txt_ids = &hostin[IN_TXT_IDS]};
    const pictor_tensor *x = &dev[IN_X];
    if (x->ndim != 3) {
        snprintf(err, errlen, "flux.transformer: hidden_states must be [B, L, C]");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    int64_t so[3] = {x->shape[0], x->shape[1], cfg.out_channels};
    if ((rc = pictor_tensor_alloc(be, &out, PICTOR_F32, 3, so))) {
        snprintf(err, errlen, "flux.transformer: %s", pictor_backend_error(be));
        goto out;
    }
    if ((rc = pictor_flux_transformer_forward(m, &in, &out, err, errlen)))
        goto out;
    rc = io->put_output(io->ctx, "sample", &out);
out:
    pictor_tensor_free(be, &out);
    for (int i = 0; i < IN_COUNT; i++)
        pictor_tensor_free(be, &dev[i]);
    pictor_flux_transformer_close(m);
    host->weights_close(&src);
    return rc;
}
