/* plugins/flux/flux_encode.c — prompt encoding as FluxPipeline.encode_prompt
 * does it (MODELS.md §4.4 step 1): CLIP ids (77, padded) -> CLIPTextModel
 * pooler_output; T5 ids (max_sequence_length, padded with 0, </s>) ->
 * T5EncoderModel last_hidden_state; txt_ids zeros [T, 3]. The prompt is
 * repeated for each image of the batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_family.h"
#include "pictor/tensor_util.h"

#define CLIP_LEN 77 /* model_max_length of the CLIP-L tokenizer */

/* prompts[b] for b < n_prompts; a single prompt is repeated over the batch. */
static int tokenize(struct flux_model *m, const char *const *prompts, int n_prompts, int batch,
                    int clip_len, int t5_len, int64_t *clip_ids, int64_t *t5_ids, char *err,
                    size_t errlen)
{
    int rc = PICTOR_OK;
    for (int b = 0; rc == PICTOR_OK && b < batch; b++) {
        if (n_prompts > 1 || b == 0) {
            const char *p = prompts[n_prompts > 1 ? b : 0];
            size_t len = strlen(p);
            rc = pictor_clip_tokenizer_encode(m->clip_tok, p, len, clip_len,
                                              clip_ids + (size_t)b * clip_len, NULL, err, errlen);
            if (rc == PICTOR_OK)
                rc = pictor_t5_tokenizer_encode(m->t5_tok, p, len, t5_len,
                                                t5_ids + (size_t)b * t5_len, NULL, err, errlen);
        } else {
            memcpy(clip_ids + (size_t)b * clip_len, clip_ids, (size_t)clip_len * sizeof *clip_ids);
            memcpy(t5_ids + (size_t)b * t5_len, t5_ids, (size_t)t5_len * sizeof *t5_ids);
        }
    }
    return rc;
}

int flux_encode_len(struct flux_model *m, const struct pictor_gen_params *gp, int t5_len,
                    struct flux_cond **out, char *err, size_t errlen)
{
    return flux_encode_prompts(m, gp, &gp->prompt, 1, t5_len, out, err, errlen);
}

int flux_encode_prompts(struct flux_model *m, const struct pictor_gen_params *gp,
                        const char *const *prompts, int n_prompts, int t5_len,
                        struct flux_cond **out, char *err, size_t errlen)
{
    const int B = gp->batch, clip_len = CLIP_LEN;
    int64_t *clip_ids = calloc((size_t)B * clip_len, sizeof *clip_ids);
    int64_t *t5_ids = calloc((size_t)B * (size_t)t5_len, sizeof *t5_ids);
    struct flux_cond *c = calloc(1, sizeof *c);
    int rc = PICTOR_E_NOMEM;
    *out = NULL;
    if (!clip_ids || !t5_ids || !c) {
        snprintf(err, errlen, "flux encode: out of memory");
        goto fail;
    }
    if (B < 1 || n_prompts < 1 || !prompts[0] || (n_prompts > 1 && n_prompts != B)) {
        snprintf(err, errlen, "flux encode: need one prompt, or one per image, and batch >= 1");
        rc = PICTOR_E_INVALID;
        goto fail;
    }
    c->batch = B;
    c->guidance = gp->guidance;
    for (int i = 0; i < n_prompts; i++)
        if (!prompts[i]) {
            snprintf(err, errlen, "flux encode: prompt %d is missing", i);
            rc = PICTOR_E_INVALID;
            goto fail;
        }
    if ((rc = tokenize(m, prompts, n_prompts, B, clip_len, t5_len, clip_ids, t5_ids, err,
                       errlen)))
        goto fail;
    pictor_tensor cid = pictor_tensor_make(clip_ids, PICTOR_I64, 2, (int64_t[]){B, clip_len});
    pictor_tensor tid = pictor_tensor_make(t5_ids, PICTOR_I64, 2, (int64_t[]){B, t5_len});
    if ((rc = pictor_tensor_alloc(m->be, &c->pooled, PICTOR_F32, 2,
                                  (int64_t[]){B, m->clip_cfg.hidden})) ||
        (rc = pictor_tensor_alloc(m->be, &c->t5, PICTOR_F32, 3,
                                  (int64_t[]){B, t5_len, m->t5_cfg.d_model}))) {
        snprintf(err, errlen, "flux encode: %s", pictor_backend_error(m->be));
        goto fail;
    }
    struct pictor_clip_text_out co = {.pooled = &c->pooled};
    if ((rc = pictor_clip_text_forward(m->clip, &cid, &co, err, errlen)) ||
        (rc = pictor_t5_encoder_forward(m->t5, &tid, &c->t5, err, errlen)))
        goto fail;
    c->txt_ids = calloc((size_t)t5_len * 3, sizeof *c->txt_ids);
    if (!c->txt_ids) {
        rc = PICTOR_E_NOMEM;
        snprintf(err, errlen, "flux encode: out of memory");
        goto fail;
    }
    free(clip_ids);
    free(t5_ids);
    *out = c;
    return PICTOR_OK;
fail:
    flux_release_cond(m, c);
    free(clip_ids);
    free(t5_ids);
    return rc;
}

int flux_encode(void *model, const struct pictor_job_ctx *job, const struct pictor_gen_params *gp,
                void **cond, char *err, size_t errlen)
{
    struct flux_model *m = model;
    struct flux_cond *c = NULL;
    (void)job;
    int rc = flux_encode_len(m, gp, m->max_sequence_length, &c, err, errlen);
    *cond = c;
    return rc;
}

void flux_release_cond(void *model, void *cond)
{
    struct flux_model *m = model;
    struct flux_cond *c = cond;
    if (!c)
        return;
    pictor_tensor_free(m->be, &c->pooled);
    pictor_tensor_free(m->be, &c->t5);
    free(c->txt_ids);
    free(c);
}
