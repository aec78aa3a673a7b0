/*
 * pictor/t5_encoder.h — the T5 encoder (transformers `T5EncoderModel`,
 * T5-v1.1 as FLUX `text_encoder_2` and SD3 `text_encoder_3` use it).
 * MODELS.md §3.3.
 *
 * Lifecycle as pictor/clip_text.h: config load, open (every tensor looked up
 * and shape-checked through pictor_params; messages name tensor and file),
 * forward any number of times, close. Tensor names: `shared.weight` (or
 * `encoder.embed_tokens.weight`, the same tied tensor), per block i
 * `encoder.block.{i}.layer.0.{layer_norm,SelfAttention.{q,k,v,o}}.weight`,
 * `encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`
 * [num_buckets, heads] (block 0 only; its bias is shared by every block),
 * `encoder.block.{i}.layer.1.{layer_norm,DenseReluDense.{wi_0,wi_1,wo}}.weight`
 * (`wi` instead of wi_0/wi_1 when not gated), `encoder.final_layer_norm.weight`.
 *
 * Forward on ids [B, L], no attention mask (padding participates, as the
 * pipelines call it): h = shared[ids]; per block h += o(attn(RMS(h))) with
 * scores = q k^T + bias (no 1/sqrt(d) scaling), then h += wo(act(wi_0 a) *
 * (wi_1 a)) with a = RMS(h); out = RMS_final(h). RMS norms are T5LayerNorm
 * (no mean, no bias). Activations are f32.
 * Thread: [worker thread] (the backend's owner).
 */
#ifndef PICTOR_T5_ENCODER_H
#define PICTOR_T5_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/wsource.h"

struct pictor_t5_config {
    int vocab_size;   /* 32128 */
    int d_model;      /* 4096 (XXL) */
    int d_kv;         /* head dim: 64 */
    int heads;        /* num_heads: 64 (inner = heads * d_kv) */
    int d_ff;         /* 10240 */
    int layers;       /* num_layers: 24 */
    int num_buckets;  /* relative_attention_num_buckets: 32 */
    int max_distance; /* relative_attention_max_distance: 128 */
    float eps;        /* layer_norm_epsilon: 1e-6 */
    bool gated;       /* feed_forward_proj "gated-*" */
    int act;          /* enum pictor_unary from feed_forward_proj:
                         gated-gelu -> GELU_TANH (gelu_new), gelu -> GELU_ERF,
                         gelu_new / gelu_pytorch_tanh -> GELU_TANH, silu */
    /* Not from config.json: the dtype activations and weights are kept in
     * (PICTOR_F32, the loader's default: weights as stored; PICTOR_BF16 or
     * PICTOR_F16: weights converted once at load, activations in that
     * dtype, f32 accumulation inside every op). Set by the caller from the
     * requested precision (pictor_precision_compute_dtype). */
    int compute_dtype;
    /* Not from config.json: the block linears (q, k, v, o, wi_*, wo) in
     * FP8 — weights E4M3 per output channel at load, activations per token
     * (pictor/fp8_linear.h); pictor_precision_fp8_linears. */
    bool fp8_linears;
};

/* Reads `dir/config.json` (a T5Config). Defaults are T5Config's except that
 * feed_forward_proj "relu" (the class default, original T5) is rejected as
 * unsupported. */
int pictor_t5_config_load(const char *dir, struct pictor_t5_config *cfg,
                          char *err, size_t errlen);

/* transformers T5Attention._relative_position_bucket for an encoder
 * (bidirectional), rel = key position - query position, float32 arithmetic
 * as torch does: half = num_buckets / 2 buckets per sign (+half when
 * rel > 0); |rel| < half / 2 is its own bucket; larger distances are binned
 * logarithmically up to max_distance and clamped to half - 1. */
int pictor_t5_bucket(int64_t rel, int num_buckets, int max_distance);

struct pictor_t5_encoder;

int pictor_t5_encoder_open(const struct pictor_t5_config *cfg,
                           const struct pictor_wsource *src, pictor_backend *be,
                           struct pictor_t5_encoder **out, char *err,
                           size_t errlen);
void pictor_t5_encoder_close(struct pictor_t5_encoder *enc);
long long pictor_t5_encoder_param_count(const struct pictor_t5_encoder *enc);

/* ids [B, L] I64 or I32 in host memory; out [B, L, d_model] allocated by the
 * caller on the backend's device (f32 or the backend's activation dtype). */
int pictor_t5_encoder_forward(struct pictor_t5_encoder *enc,
                              const pictor_tensor *ids, pictor_tensor *out,
                              char *err, size_t errlen);

#endif /* PICTOR_T5_ENCODER_H */
