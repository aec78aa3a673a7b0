/* plugins/common/text_eval.c — the `clip.text` and `t5.encoder` evaluators
 * (pictor/text_eval.h): open the case's transformers folder through the
 * host's weights API, run the encoder every family uses on `input_ids` and
 * return its outputs. */
#include <stdio.h>
#include <string.h>

#include "pictor/clip_text.h"
#include "pictor/common_host.h"
#include "pictor/ops.h"
#include "pictor/t5_encoder.h"
#include "pictor/tensor_util.h"
#include "pictor/text_eval.h"
#include "pictor/params.h"

/* A missing tensor is in no file, so pictor_params can only say "weights":
 * name the model folder the evaluator opened. */
static void note_folder(int rc, const char *dir, char *err, size_t errlen)
{
    size_t n = strlen(err);
    if (rc == PICTOR_E_NOT_FOUND && !strstr(err, ".safetensors") && n + 1 < errlen)
        snprintf(err + n, errlen - n, " (model folder %s)", dir);
}

/* Common start: model folder, host table, ids [B, L] as i64/i32 host tensor. */
static int eval_begin(const char *what, const struct pictor_eval_request *req,
                      const struct pictor_eval_io *io, pictor_tensor *ids,
                      const struct pictor_host_api **host, char *err, size_t errlen)
{
    char b[96];
    if (!req->model_dir) {
        snprintf(err, errlen, "%s needs a model folder", what);
        return PICTOR_E_INVALID;
    }
    if (!(*host = pictor_common_host())) {
        snprintf(err, errlen, "%s: no host API set (pictor_common_set_host)", what);
        return PICTOR_E_INVALID;
    }
    if (io->get_input(io->ctx, "input_ids", ids) != PICTOR_OK) {
        snprintf(err, errlen, "%s: input 'input_ids' missing", what);
        return PICTOR_E_INVALID;
    }
    if (ids->ndim != 2 || (ids->dtype != PICTOR_I64 && ids->dtype != PICTOR_I32)) {
        snprintf(err, errlen, "%s: input 'input_ids' is %s, expected [B, L] int64", what,
                 pictor_tensor_describe(ids, b, sizeof b));
        return PICTOR_E_INVALID;
    }
    return PICTOR_OK;
}

int pictor_eval_clip_text(const struct pictor_eval_request *req,
                          const struct pictor_eval_io *io, char *err, size_t errlen)
{
    struct pictor_clip_text_config cfg;
    const struct pictor_host_api *host;
    struct pictor_wsource src = {0};
    struct pictor_clip_text *enc = NULL;
    pictor_backend *be = req->backend;
    pictor_tensor ids, last = {0}, pen = {0}, pooled = {0}, emb = {0};
    int rc;
    if ((rc = eval_begin("clip.text", req, io, &ids, &host, err, errlen)) ||
        (rc = pictor_clip_text_config_load(req->model_dir, &cfg, err, errlen)))
        return rc;
    cfg.compute_dtype = pictor_precision_compute_dtype(req->precision);
    if ((rc = host->weights_open(req->model_dir, false, &src, err, errlen)))
        return rc;
    if ((rc = pictor_clip_text_open(&cfg, &src, be, &enc, err, errlen))) {
        note_folder(rc, req->model_dir, err, errlen);
        goto out;
    }
    const int64_t B = ids.shape[0], L = ids.shape[1];
    int64_t hs[3] = {B, L, cfg.hidden}, ps[2] = {B, cfg.hidden}, es[2] = {B, cfg.projection_dim};
    const bool proj = pictor_clip_text_has_projection(enc);
    if ((rc = pictor_tensor_alloc(be, &last, PICTOR_F32, 3, hs)) ||
        (rc = pictor_tensor_alloc(be, &pen, PICTOR_F32, 3, hs)) ||
        (rc = pictor_tensor_alloc(be, &pooled, PICTOR_F32, 2, ps)) ||
        (proj && (rc = pictor_tensor_alloc(be, &emb, PICTOR_F32, 2, es)))) {
        snprintf(err, errlen, "clip.text: %s", pictor_backend_error(be));
        goto out;
    }
    struct pictor_clip_text_out o = {
        .last_hidden_state = &last,
        .hidden = &pen,
        .hidden_index = -2, /* hidden_states[-2] */
        .pooled = &pooled,
        .text_embeds = proj ? &emb : NULL,
    };
    if ((rc = pictor_clip_text_forward(enc, &ids, &o, err, errlen)))
        goto out;
    if ((rc = io->put_output(io->ctx, "last_hidden_state", &last)) ||
        (rc = io->put_output(io->ctx, "penultimate_hidden_state", &pen)) ||
        (rc = io->put_output(io->ctx, "pooled", &pooled)) ||
        (proj && (rc = io->put_output(io->ctx, "text_embeds", &emb))))
        snprintf(err, errlen, "clip.text: storing an output failed");
out:
    pictor_tensor_free(be, &emb);
    pictor_tensor_free(be, &pooled);
    pictor_tensor_free(be, &pen);
    pictor_tensor_free(be, &last);
    pictor_clip_text_close(enc);
    host->weights_close(&src);
    return rc;
}

int pictor_eval_t5_encoder(const struct pictor_eval_request *req,
                           const struct pictor_eval_io *io, char *err, size_t errlen)
{
    struct pictor_t5_config cfg;
    const struct pictor_host_api *host;
    struct pictor_wsource src = {0};
    struct pictor_t5_encoder *enc = NULL;
    pictor_backend *be = req->backend;
    pictor_tensor ids, last = {0};
    int rc;
    if ((rc = eval_begin("t5.encoder", req, io, &ids, &host, err, errlen)) ||
        (rc = pictor_t5_config_load(req->model_dir, &cfg, err, errlen)))
        return rc;
    cfg.compute_dtype = pictor_precision_compute_dtype(req->precision);
    cfg.fp8_linears = pictor_precision_fp8_linears(req->precision);
    if ((rc = host->weights_open(req->model_dir, false, &src, err, errlen)))
        return rc;
    if ((rc = pictor_t5_encoder_open(&cfg, &src, be, &enc, err, errlen))) {
        note_folder(rc, req->model_dir, err, errlen);
        goto out;
    }
    int64_t hs[3] = {ids.shape[0], ids.shape[1], cfg.d_model};
    if ((rc = pictor_tensor_alloc(be, &last, PICTOR_F32, 3, hs))) {
        snprintf(err, errlen, "t5.encoder: %s", pictor_backend_error(be));
        goto out;
    }
    if ((rc = pictor_t5_encoder_forward(enc, &ids, &last, err, errlen)))
        goto out;
    if ((rc = io->put_output(io->ctx, "last_hidden_state", &last)))
        snprintf(err, errlen, "t5.encoder: storing an output failed");
out:
    pictor_tensor_free(be, &last);
    pictor_t5_encoder_close(enc);
    host->weights_close(&src);
    return rc;
}
