/*
 * plugins/flux/flux_internal.h — what the flux_*.c files share: the loaded
 * model (one struct per block, fields named after the diffusers tensors),
 * the tensor list that loading and checking both walk, the per-forward run
 * state with its scratch stack, and the block forwards.
 *
 * Shapes: D = heads * head_dim, F = 4D (FeedForward mult 4 and the single
 * blocks' mlp_ratio 4), Dh = head dim, N = T + L tokens (text first).
 * Thread: [worker thread].
 */
#ifndef PICTOR_FLUX_INTERNAL_H
#define PICTOR_FLUX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/flux_transformer.h"
#include "pictor/params.h"

#define FLUX_NORM_EPS 1e-6f     /* LayerNorms (no affine) and QK RMSNorms */
#define FLUX_MLP_RATIO 4        /* FeedForward mult / single mlp_ratio */
#define FLUX_TIME_CHANNELS 256  /* Timesteps(num_channels=256) */
#define FLUX_TIME_SCALE 1000.0f /* timestep / guidance * 1000 in forward */
#define FLUX_MAX_PERIOD 10000.0f /* get_timestep_embedding max_period */

struct flux_linear {
    pictor_tensor w; /* [out, in] */
    pictor_tensor b; /* [out] */
};

/* linear_2(SiLU(linear_1(x))): TimestepEmbedding, PixArtAlphaTextProjection */
struct flux_mlp2 {
    struct flux_linear l1; /* [D, in] */
    struct flux_linear l2; /* [D, D] */
};

struct flux_double { /* transformer_blocks.{i} */
    struct flux_linear norm1, norm1_context;        /* [6D, D] */
    struct flux_linear to_q, to_k, to_v;            /* [D, D] image */
    struct flux_linear add_q, add_k, add_v;         /* [D, D] text */
    pictor_tensor norm_q, norm_k;                   /* [Dh] */
    pictor_tensor norm_added_q, norm_added_k;       /* [Dh] */
    float q_bound, k_bound; /* |q|, |k| after norm + RoPE (flux_attn_fp8.c) */
    struct flux_linear to_out, to_add_out;          /* [D, D] */
    struct flux_linear ff0, ff2;                    /* [F, D], [D, F] */
    struct flux_linear ffc0, ffc2;                  /* ff_context */
};

struct flux_single { /* single_transformer_blocks.{j} */
    struct flux_linear norm;          /* [3D, D] */
    struct flux_linear to_q, to_k, to_v; /* [D, D] */
    pictor_tensor norm_q, norm_k;     /* [Dh] */
    float q_bound, k_bound;           /* as in flux_double */
    struct flux_linear proj_mlp;      /* [F, D] */
    struct flux_linear proj_out;      /* [D, D + F] */
};

/* The RoPE tables of the latest forward, kept on the device while the
 * token ids stay the same (every step of a job, every job of a size): no
 * upload, hence no host synchronisation, inside the denoising loop. */
struct flux_rope_cache {
    float *ids;             /* host [N, n_axes]: txt_ids then img_ids */
    int64_t N;              /* 0: empty */
    pictor_tensor cos, sin; /* [N, Dh] f32 on the backend (owned) */
};

/* Activation memory planned once per shape: the forward's scratch stack
 * bumps a pointer in this one allocation. A forward that outgrows it (the
 * first of a larger shape, or the very first) allocates the overflow one
 * by one, and the arena is regrown to that forward's peak afterwards (gen
 * counts the regrowths: a graph holding the old addresses is captured
 * again). flux_run.c. */
struct flux_arena {
    void *base;
    size_t size;
    unsigned gen;
};

struct flux_graphs; /* flux_graph.c */

struct pictor_flux_transformer {
    struct pictor_flux_config cfg;
    pictor_backend *be;
    struct pictor_params params;
    struct flux_rope_cache rope; /* eager forwards' (graphs keep their own) */
    struct flux_arena arena;
    bool use_graphs;             /* pictor_flux_transformer_set_graphs */
    struct flux_graphs *graphs;  /* captured forwards per shape; NULL: none */
    uint64_t graph_captures, graph_replays;
    bool fp8_attn_refused_said;  /* flux_attn_fp8_decide's note, once */
    struct flux_linear x_embedder;       /* [D, in_channels] */
    struct flux_linear context_embedder; /* [D, joint_attention_dim] */
    struct flux_mlp2 time_emb;           /* l1 [D, 256] */
    struct flux_mlp2 guidance_emb;       /* dev only, l1 [D, 256] */
    struct flux_mlp2 text_emb;           /* l1 [D, pooled_projection_dim] */
    struct flux_linear norm_out;         /* [2D, D] scale rows, then shift */
    struct flux_linear proj_out;         /* [out_channels, D] */
    struct flux_double *dbl;             /* [num_layers] */
    struct flux_single *sgl;             /* [num_single_layers] */
};

/* ---- the tensor list (flux_weights.c) -------------------------------- */

/* Called once per tensor the config implies, in a fixed order. slot is
 * where the model keeps it, or NULL when walking without a model. */
typedef void (*flux_param_fn)(void *ctx, pictor_tensor *slot,
                              const char *name, int ndim,
                              const int64_t *shape);
void flux_for_each_param(const struct pictor_flux_config *cfg,
                         struct pictor_flux_transformer *m, flux_param_fn fn,
                         void *ctx);

/* Whether tensor NAME of rank ndim is a linear weight of the double or
 * single blocks: the ones cfg.fp8_linears quantises to E4M3 per output
 * channel at load (flux_fp8.c). */
bool flux_fp8_weight(const char *name, int ndim);

/* ---- per-forward state (flux_run.c) ----------------------------------- */

struct flux_scratch_item {
    void *p;
    size_t top; /* stack height before this allocation */
    bool own;   /* a backend allocation of its own (not in the arena) */
};

/* A stack of activations: mark, allocate, release back to mark. Heights
 * are in bytes, each allocation rounded up to FLUX_SCRATCH_ALIGN. */
struct flux_scratch {
    pictor_backend *be;
    struct flux_arena *arena; /* NULL: every allocation is its own */
    struct flux_scratch_item *items;
    size_t n, cap;
    size_t top, peak; /* current height, high-water mark */
};

#define FLUX_SCRATCH_ALIGN 256

/* Regrows m's arena to at least `peak` bytes (no-op when it is that big):
 * waits for the GPU, frees the old one, returns cached memory to the
 * driver (pictor_backend_trim) and allocates the new one; gen changes. Not
 * while capturing. A failure leaves no arena (forwards then allocate one by
 * one) and returns the status. */
int flux_arena_fit(struct pictor_flux_transformer *m, size_t peak);
void flux_arena_free(struct pictor_flux_transformer *m);

struct flux_run {
    struct pictor_flux_transformer *m;
    pictor_backend *be;
    struct flux_scratch s;
    char *err;
    size_t errlen;
    int64_t B, T, L, N, D, H, Dh;
    pictor_tensor h;        /* [B, N, D] text rows 0..T-1, image rows T..;
                               f32 (the residual stream) whatever act is */
    pictor_tensor silu_temb; /* [B, D] SiLU(temb), shared by every AdaLN */
    pictor_tensor cos, sin; /* [N, Dh] RoPE tables */
    struct flux_rope_cache *rope; /* where they are cached (m->rope or a
                                     graph's own) */
    int act;                /* activation dtype: cfg compute_dtype */
    bool fp8_attn;          /* this forward's attention is pictor_sdpa_fp8 */
};

size_t flux_scratch_mark(const struct flux_scratch *s);
void flux_scratch_release(struct flux_scratch *s, size_t mark);
/* Allocates a contiguous activation (dtype r->act); a failure writes
 * r->err. */
int flux_alloc(struct flux_run *r, pictor_tensor *t, int ndim,
               const int64_t *shape);
/* As flux_alloc, of the given dtype. */
int flux_alloc_dtype(struct flux_run *r, pictor_tensor *t, int dtype, int ndim,
                     const int64_t *shape);
/* rc != 0: writes "flux transformer: what: backend message"; returns rc. */
int flux_check(struct flux_run *r, int rc, const char *what);

/* View [B, S, H, Dh] of a [B, S, H*Dh] view whose last stride is 1. */
pictor_tensor flux_heads(const pictor_tensor *t3, int64_t H);
/* Chunk i of a [B, k*D] modulation as a [B, 1, D] view (broadcasts over
 * tokens). */
pictor_tensor flux_chunk(const pictor_tensor *mod, int i, int64_t D);
/* y = x @ w^T + b; an x of another dtype than the weight's is first
 * copied into an activation-dtype scratch when activations are 16-bit (so
 * the GEMM runs on 16-bit operands, as diffusers' bf16 pipeline does); an
 * E4M3 weight (fp8_linears) takes pictor_linear_fp8 (x quantised per
 * token). */
int flux_linear(struct flux_run *r, const pictor_tensor *x,
                const struct flux_linear *l, pictor_tensor *y,
                const char *what);
/* y = GELU_tanh(x @ w^T + b): flux_linear with the activation as the
 * GEMM's epilogue (pictor_linear_act), rounded into y once. */
int flux_linear_gelu(struct flux_run *r, const pictor_tensor *x,
                     const struct flux_linear *l, pictor_tensor *y,
                     const char *what);
/* y += gate * (x @ w^T + b), the gated residual after a block's output
 * projections: y the f32 residual stream (a [B, S, D] view of r->h), gate
 * a [B, 1, D] chunk. An E4M3 weight takes pictor_linear_fp8_gated (the
 * product accumulated in f32, never rounded to the activation dtype);
 * any other weight flux_linear into `scratch` (x's shape but D columns,
 * activation dtype) and flux_gated_add, as the unfused layer. */
int flux_linear_gated(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                      const pictor_tensor *gate, pictor_tensor *y, pictor_tensor *scratch,
                      const char *what);
/* Where the input of FP8 linears like l goes when it has x's shape
 * [..., K] (flux_fp8.c): *out is a fresh scratch [rows, K] E4M3 rows view
 * with its per-row scales (pictor_fp8_rows_view), for flux_modulate to
 * write (quantised once per token as it is produced) and flux_linear to
 * take as x for every such linear; *out = *x when l's weight is not FP8. */
int flux_fp8_input(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                   pictor_tensor *out);
/* y = LN(x) * (1 + scale) + shift (LN eps 1e-6, no affine; one fused op,
 * pictor_ada_layer_norm). x [B, S, D]; shift, scale [B, 1, D]; y [B, S, D],
 * or the FP8 rows view [B * S, D] of flux_fp8_input (the op quantises
 * each token's row as it writes it). */
int flux_modulate(struct flux_run *r, const pictor_tensor *x,
                  const pictor_tensor *shift, const pictor_tensor *scale,
                  pictor_tensor *y);
/* x += gate * y (pictor_gated_add; y is not modified). */
int flux_gated_add(struct flux_run *r, pictor_tensor *x, const pictor_tensor *y,
                   const pictor_tensor *gate);
/* Per-head RMSNorm (weight [Dh]) and RoPE of qh [B, S, H, Dh], the heads
 * of tokens row0..row0+S-1 of the joint sequence (rows of r->cos /
 * r->sin), into y of qh's shape: qh itself (in place) or, under fp8_attn,
 * the matching slice of an E4M3 tensor from flux_attn_fp8_alloc;
 * pictor_rms_norm_rope. */
int flux_qk_norm_rope(struct flux_run *r, pictor_tensor *qh, const pictor_tensor *weight,
                      int64_t row0, pictor_tensor *y, const char *what);
/* o = SDPA(q, k, v) with q, k already normed and rotated; all [B, N, H, Dh]
 * views (o may be strided), scale 1/sqrt(Dh). E4M3 q and k (fp8_attn) take
 * pictor_sdpa_fp8, 16-bit or f32 ones pictor_sdpa. */
int flux_attention(struct flux_run *r, const pictor_tensor *q, const pictor_tensor *k,
                   const pictor_tensor *v, pictor_tensor *o);

/* ---- FP8 attention (flux_attn_fp8.c) ----------------------------------- */

/* Under cfg.fp8_attention, each block's q_bound / k_bound: sqrt(Dh) times
 * the largest |weight| of its QK RMSNorms (both streams' for a double
 * block), a bound on every |q|, |k| the norm + RoPE op can write (RMSNorm
 * leaves a head's vector with an L2 norm of at most sqrt(Dh) before the
 * weight; RoPE rotates channel pairs, keeping their norm). Reads the norm
 * weights back from the backend once, at open. */
int flux_attn_fp8_bounds(struct pictor_flux_transformer *m, char *err, size_t errlen);
/* Sets r->fp8_attn for this forward: cfg.fp8_attention and the backend
 * runs pictor_sdpa_fp8 at r's shape (pictor_op_supported); the first
 * refusal is said once on stderr. */
void flux_attn_fp8_decide(struct flux_run *r);
/* q8, k8: fresh E4M3 [B, N, D] scratch with per-tensor scales bound / 448,
 * for flux_qk_norm_rope to write and flux_attention to read. */
int flux_attn_fp8_alloc(struct flux_run *r, float q_bound, float k_bound, pictor_tensor *q8,
                        pictor_tensor *k8);

/* ---- embeddings and blocks -------------------------------------------- */

/* temb and r->silu_temb from timestep, guidance, pooled (flux_embed.c). */
int flux_embed_time(struct flux_run *r, const struct pictor_flux_inputs *in);
/* r->cos / r->sin from concat(txt_ids, img_ids): the model's cached
 * tables when the ids are those of the cache, else computed on the host,
 * uploaded and cached (flux_embed.c). */
int flux_embed_rope(struct flux_run *r, const struct pictor_flux_inputs *in);
/* Whether c holds the tables of in's txt_ids then img_ids (flux_embed.c). */
bool flux_rope_matches(const struct flux_rope_cache *c, const struct pictor_flux_inputs *in,
                       int n_axes);
/* Frees a RoPE cache (flux_embed.c). */
void flux_rope_cache_free(pictor_backend *be, struct flux_rope_cache *c);
/* The whole forward (flux_transformer.c) with inputs already checked, its
 * RoPE tables cached in *rope, activations in m's arena; the arena is
 * regrown afterwards unless the backend is capturing (`capturing`). */
int flux_forward_run(struct pictor_flux_transformer *m, const struct pictor_flux_inputs *in,
                     pictor_tensor *out, struct flux_rope_cache *rope, bool capturing,
                     char *err, size_t errlen);
/* The forward through a graph captured per input shape (flux_graph.c):
 * inputs copied into the graph's own tensors, the first call of a shape
 * run eagerly (libraries choose algorithms, the arena is sized), the
 * second captured, the rest replayed. A capture that fails is said once on
 * stderr and that shape runs eagerly from then on. */
int flux_forward_graphed(struct pictor_flux_transformer *m, const struct pictor_flux_inputs *in,
                         pictor_tensor *out, char *err, size_t errlen);
void flux_graphs_free(struct pictor_flux_transformer *m);
/* One double-stream block on r->h (flux_blocks.c). */
int flux_double_block(struct flux_run *r, const struct flux_double *b);
/* One single-stream block on r->h (flux_single.c). */
int flux_single_block(struct flux_run *r, const struct flux_single *b);

#endif /* PICTOR_FLUX_INTERNAL_H */
