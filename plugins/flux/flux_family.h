/*
 * plugins/flux/flux_family.h — the FLUX family plugin's model instance and
 * the functions its family table (flux_plugin.c) is made of. A model owns
 * the weight sources (opened through the host; a transformer stored with
 * the original BFL key names is seen through flux_bfl.h's wrapper), the tokenizers, the
 * text encoders, the transformer and the VAE decoder, and the pipeline
 * facts read from the folder (scheduler shift parameters, T5 length).
 * Thread: [worker] for everything but probe ([loader]).
 */
#ifndef PICTOR_FLUX_FAMILY_H
#define PICTOR_FLUX_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/clip_text.h"
#include "pictor/clip_tokenizer.h"
#include "pictor/flux_preview.h"
#include "pictor/flux_transformer.h"
#include "pictor/plugin.h"
#include "pictor/t5_encoder.h"
#include "pictor/t5_tokenizer.h"
#include "pictor/vae.h"

/* Licence notices (the model cards' own terms). */
#define FLUX_LICENCE_SCHNELL "FLUX.1 [schnell]: Apache-2.0"
#define FLUX_LICENCE_DEV                                                       \
    "FLUX.1 [dev]: FLUX.1 [dev] Non-Commercial License (black-forest-labs) - " \
    "non-commercial use of the model only; read the model card before use"

enum flux_variant { FLUX_SCHNELL = 0, FLUX_DEV = 1 };

enum flux_source { FLUX_SRC_TRANSFORMER, FLUX_SRC_CLIP, FLUX_SRC_T5, FLUX_SRC_VAE, FLUX_SRC_COUNT };

struct flux_model {
    pictor_backend *be;
    int variant;
    char dir[4096];
    struct pictor_wsource src[FLUX_SRC_COUNT];
    /* diffusers names over src[FLUX_SRC_TRANSFORMER] when it holds an
     * original BFL checkpoint (flux_bfl.h); ctx NULL otherwise */
    struct pictor_wsource bfl;
    struct pictor_clip_tokenizer *clip_tok;
    struct pictor_t5_tokenizer *t5_tok;
    struct pictor_clip_text *clip;
    struct pictor_t5_encoder *t5;
    struct pictor_t5_config t5_cfg;
    struct pictor_clip_text_config clip_cfg;
    struct pictor_flux_transformer *dit;
    struct pictor_flux_config dit_cfg;
    struct pictor_vae_decoder *vae;
    struct pictor_vae_config vae_cfg;
    int max_sequence_length; /* T5 tokens: schnell 256, dev 512 */
    /* scheduler_config.json facts the pipeline uses for mu */
    double base_seq, max_seq, base_shift, max_shift;
    struct flux_preview_map preview; /* fitted on the first preview */
};

/* Conditioning of one request. */
struct flux_cond {
    int batch;
    float guidance;
    pictor_tensor pooled; /* [B, pooled_dim] on the device */
    pictor_tensor t5;     /* [B, T, joint_dim] on the device */
    float *txt_ids;       /* [T, 3] zeros, host */
};

int flux_probe(const char *model_dir, struct pictor_probe_result *out);
int flux_open(const struct pictor_open_params *p, void **model, char *err, size_t errlen);
void flux_close(void *model);
void flux_defaults(void *model, struct pictor_family_defaults *d);

int flux_encode(void *model, const struct pictor_job_ctx *job, const struct pictor_gen_params *gp,
                void **cond, char *err, size_t errlen);
void flux_release_cond(void *model, void *cond);
/* Encodes with an explicit T5 length (the pipeline's max_sequence_length). */
int flux_encode_len(struct flux_model *m, const struct pictor_gen_params *gp, int t5_len,
                    struct flux_cond **out, char *err, size_t errlen);
/* Same with one prompt per batch image (n_prompts == gp->batch) or one for
 * all (n_prompts == 1), as the pipeline's list-of-prompts form. */
int flux_encode_prompts(struct flux_model *m, const struct pictor_gen_params *gp,
                        const char *const *prompts, int n_prompts, int t5_len,
                        struct flux_cond **out, char *err, size_t errlen);

int flux_latent_shape(void *model, const struct pictor_gen_params *gp, int64_t shape[4]);
int flux_schedule(void *model, const struct pictor_gen_params *gp, int steps,
                  struct pictor_timestep_params *tp, float *sigma_buf, int cap);
int flux_predict(void *model, const struct pictor_job_ctx *job, void *cond,
                 const pictor_tensor *x, float timestep, float sigma, pictor_tensor *out,
                 char *err, size_t errlen);
int flux_decode(void *model, const struct pictor_job_ctx *job, const pictor_tensor *latents,
                float *image, char *err, size_t errlen);

/* Packing between the noise layout [B, C, h, w] and the transformer's
 * [B, (h/2)(w/2), 4C] (channel c*4 + dy*2 + dx, MODELS.md §4.4); both on
 * the backend's device. */
int flux_pack(pictor_backend *be, const pictor_tensor *x, pictor_tensor *packed);
int flux_unpack(pictor_backend *be, const pictor_tensor *packed, pictor_tensor *x);

/* "pipeline.flux" evaluator (flux_eval_pipeline.c). */
int flux_eval_pipeline(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                       char *err, size_t errlen);

#endif /* PICTOR_FLUX_FAMILY_H */
