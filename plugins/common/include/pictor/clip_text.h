/*
 * pictor/clip_text.h — the CLIP text transformer (transformers
 * `CLIPTextModel` / `CLIPTextModelWithProjection`) shared by every family:
 * CLIP-L/14 (FLUX, SDXL, SD3: quick_gelu) and OpenCLIP bigG/14 (SDXL, SD3:
 * gelu erf, with text_projection). MODELS.md §3.2.
 *
 * Lifecycle: pictor_clip_text_config_load reads the folder's config.json
 * (a CLIPTextConfig, or a full CLIPConfig whose `text_config` is used);
 * pictor_clip_text_open looks up and shape-checks every tensor through
 * pictor_params (messages name the tensor and its file) and keeps them on the
 * backend's device; pictor_clip_text_forward runs any number of batches;
 * pictor_clip_text_close frees. Tensor names are transformers' with or
 * without the `text_model.` prefix (transformers 5 saves CLIPTextModel
 * without it, released checkpoints have it); `text_projection.weight` is top
 * level; the `position_ids` buffer is ignored.
 *
 * Forward on ids [B, L] (L <= max_position_embeddings, 77 for every released
 * model): h0 = token_embedding[ids] + position_embedding[0..L-1]; per layer
 * pre-LN causal self-attention (scale 1/sqrt(head_dim)) and pre-LN MLP, both
 * residual; last_hidden_state = final_layer_norm(h_N). Activations are f32.
 * Thread: [worker thread] (the backend's owner).
 */
#ifndef PICTOR_CLIP_TEXT_H
#define PICTOR_CLIP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/wsource.h"

struct pictor_clip_text_config {
    int vocab_size;          /* 49408 */
    int hidden;              /* hidden_size: 768 (L), 1280 (bigG) */
    int layers;              /* num_hidden_layers: 12, 32 */
    int heads;               /* num_attention_heads (head dim 64) */
    int intermediate;        /* intermediate_size: 3072, 5120 */
    int max_positions;       /* max_position_embeddings: 77 */
    int projection_dim;      /* text_projection rows (WithProjection) */
    bool with_projection;    /* architectures names ...WithProjection */
    int act;                 /* enum pictor_unary: QUICK_GELU or GELU_ERF */
    float eps;               /* layer_norm_eps: 1e-5 */
    int64_t eos_token_id;    /* config value; 2 = legacy (argmax pooling) */
    /* Not from config.json: the dtype activations and weights are kept in
     * (PICTOR_F32, the loader's default: weights as stored; PICTOR_BF16 or
     * PICTOR_F16: weights converted once at load, activations in that
     * dtype, f32 accumulation inside every op). Set by the caller from the
     * requested precision (pictor_precision_compute_dtype). */
    int compute_dtype;
};

/* Reads `dir/config.json`. Defaults are CLIPTextConfig's. An unknown
 * hidden_act, hidden not divisible by heads or non-positive sizes are
 * errors naming the file. */
int pictor_clip_text_config_load(const char *dir,
                                 struct pictor_clip_text_config *cfg,
                                 char *err, size_t errlen);

struct pictor_clip_text;

int pictor_clip_text_open(const struct pictor_clip_text_config *cfg,
                          const struct pictor_wsource *src, pictor_backend *be,
                          struct pictor_clip_text **out, char *err,
                          size_t errlen);
void pictor_clip_text_close(struct pictor_clip_text *enc);

/* Whether text_projection.weight was loaded (config says WithProjection or
 * the weights carry it); text_embeds needs it. */
bool pictor_clip_text_has_projection(const struct pictor_clip_text *enc);
/* Number of parameters loaded (elements). */
long long pictor_clip_text_param_count(const struct pictor_clip_text *enc);

/* Outputs of one forward: each pointer is NULL (not wanted) or a tensor the
 * caller allocated on the backend's device with exactly the shape given.
 * Only the layers the requested outputs need are computed: asking for
 * `hidden` alone at hidden_index -2 skips the last layer (SDXL, SD3). */
struct pictor_clip_text_out {
    pictor_tensor *last_hidden_state; /* [B, L, D] final-LN'd */
    pictor_tensor *hidden;            /* [B, L, D] hidden_states[hidden_index] */
    int hidden_index; /* index into transformers' hidden_states tuple of N+1:
                         0 = embeddings, k = output of layer k (no final LN);
                         negative counts from the end: -2 = layer N-1
                         (the penultimate state SDXL/SD3 take; clip_skip c
                         is -(c + 2)) */
    pictor_tensor *pooled;            /* [B, D] final-LN'd state at EOS */
    pictor_tensor *text_embeds;       /* [B, P] pooled @ text_projection^T */
};

/* Position of the pooled token in row b of ids [B, L] (I64 or I32, host
 * memory), as transformers 5 CLIPTextTransformer picks it: if eos_token_id
 * == 2 (the legacy value of the released configs) the first position of the
 * row's largest id (argmax); otherwise the first position equal to
 * eos_token_id, or 0 when the row has none (argmax of all-false). */
int64_t pictor_clip_text_eos_position(const pictor_tensor *ids, int64_t b,
                                      int64_t eos_token_id);

/* ids: [B, L] I64 or I32 in host memory (token ids come from the tokenizer;
 * they are uploaded when the backend is not the CPU). */
int pictor_clip_text_forward(struct pictor_clip_text *enc,
                             const pictor_tensor *ids,
                             const struct pictor_clip_text_out *out,
                             char *err, size_t errlen);

#endif /* PICTOR_CLIP_TEXT_H */
