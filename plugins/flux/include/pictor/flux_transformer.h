/*
 * pictor/flux_transformer.h — the FLUX.1 transformer (diffusers
 * `FluxTransformer2DModel`, MODELS.md §4): config, weight loading by the
 * checkpoint's own tensor names, and one forward call.
 *
 * Lifecycle: fill a config (pictor_flux_config_load reads a
 * transformer/config.json over diffusers' defaults), open the model on a
 * backend with a weight source (pictor_flux_transformer_open: every tensor
 * is looked up with pictor_params by its diffusers name and shape-checked;
 * the first missing or wrongly shaped tensor fails the open with a message
 * naming the tensor and its file), run any number of forwards, close.
 *
 * Shapes (D = num_attention_heads * attention_head_dim, 3072 for FLUX.1;
 * F = 4 * D; Dh = attention_head_dim; N = T + L):
 *   hidden_states          [B, L, in_channels]   packed latents (§4.4)
 *   encoder_hidden_states  [B, T, joint_attention_dim]  T5 states
 *   pooled_projections     [B, pooled_projection_dim]   CLIP pooled
 *   timestep               [B]  sigma, i.e. the pipeline's t / 1000
 *   guidance               [B]  guidance scale (dev; NULL for schnell)
 *   img_ids                [L, n_axes]  CPU f32 (RoPE tables are host-made)
 *   txt_ids                [T, n_axes]  CPU f32
 *   out                    [B, L, out_channels]  flow velocity, packed
 * Device tensors may have any float dtype and strides; activations are f32.
 *
 * Memory: weights stay where the source has them (CPU: zero copy) or are
 * uploaded once; each forward allocates its temporaries from the backend
 * through a per-call scratch stack and frees each block's temporaries when
 * the block ends (peak ~ h [B,N,D] + one block's q,k,v,o and [B,N,5D]).
 *
 * Only patch_size 1 is supported (the released FLUX.1 value); the config
 * must satisfy sum(axes_dims_rope) == attention_head_dim.
 * Thread: [worker thread] — the backend's owner.
 */
#ifndef PICTOR_FLUX_TRANSFORMER_H
#define PICTOR_FLUX_TRANSFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/tensor.h"
#include "pictor/wsource.h"

#define PICTOR_FLUX_MAX_AXES 4     /* RoPE position axes (FLUX.1: 3) */
#define PICTOR_FLUX_ROPE_THETA 10000.0 /* fixed in diffusers FluxPosEmbed */

struct pictor_flux_config {
    int patch_size;            /* 1 (only value supported) */
    int in_channels;           /* 64 = 16 latent channels x 2x2 patch */
    int out_channels;          /* null in config.json -> in_channels */
    int num_layers;            /* 19 double-stream blocks */
    int num_single_layers;     /* 38 single-stream blocks */
    int attention_head_dim;    /* 128 */
    int num_attention_heads;   /* 24 -> D = 3072 */
    int joint_attention_dim;   /* 4096 (T5 width) */
    int pooled_projection_dim; /* 768 (CLIP-L pooled) */
    bool guidance_embeds;      /* schnell false, dev true */
    int n_axes;                /* len(axes_dims_rope): 3 */
    int axes_dims_rope[PICTOR_FLUX_MAX_AXES]; /* [16, 56, 56] */
    /* Not from config.json: the dtype activations and weights are kept in
     * (PICTOR_F32, the loader's default: weights as stored; PICTOR_BF16 or
     * PICTOR_F16: weights converted once at load, activations in that
     * dtype, f32 accumulation inside every op). Set by the caller from the
     * requested precision (pictor_precision_compute_dtype). */
    int compute_dtype;
    /* Not from config.json: every linear of the double and single blocks
     * (the AdaLN modulation linears included) in FP8 — weights E4M3 per
     * output channel at load, activations per token (pictor/fp8_linear.h);
     * the embedders, norm_out and proj_out stay in compute_dtype. Set from
     * pictor_precision_fp8_linears. */
    bool fp8_linears;
    /* Not from config.json: with fp8_linears, attention in FP8 too
     * (pictor_sdpa_fp8: q and k written in E4M3 by the QK norm + RoPE op,
     * with per-tensor scales bounded from the norm weights; v and the
     * output quantised inside the op) wherever the backend runs it (CUDA:
     * cuDNN's FP8 SDPA on Hopper and B200); elsewhere attention stays 16-bit. Off
     * unless PICTOR_FP8_ATTENTION=1 (pictor_flux_fp8_attention_env): its
     * speed and accuracy on a GPU are not measured yet. */
    bool fp8_attention;
};

/* PICTOR_FP8_ATTENTION: "1" on; unset, "" or "0" off; anything else is
 * said on stderr and means off. */
bool pictor_flux_fp8_attention_env(void);

/* diffusers FluxTransformer2DModel.__init__ defaults (= FLUX.1-schnell). */
void pictor_flux_config_default(struct pictor_flux_config *cfg);

/* Reads `dir/config.json` over the defaults and validates it. Wrong class
 * name, wrong JSON types, patch_size != 1, heads * head_dim inconsistent
 * with axes_dims_rope, non-positive sizes: PICTOR_E_FORMAT / _UNSUPPORTED
 * with a message naming the file and the field. */
int pictor_flux_config_load(const char *dir, struct pictor_flux_config *cfg,
                            char *err, size_t errlen);

/* Checks a config filled by hand (load calls it). */
int pictor_flux_config_validate(const struct pictor_flux_config *cfg,
                                char *err, size_t errlen);

/* D = num_attention_heads * attention_head_dim. */
int pictor_flux_inner_dim(const struct pictor_flux_config *cfg);

/* Parameters (elements) a checkpoint of this config holds, from the same
 * tensor list the loader uses (FLUX.1-schnell: 11,891,178,560). */
int64_t pictor_flux_config_param_count(const struct pictor_flux_config *cfg);

/*
 * Checks the tensor names, dtypes (float) and shapes of a weight source
 * against the config without loading or reading any tensor data (works on
 * header-only/sparse files). Reports every missing, unexpected or wrongly
 * shaped tensor by name in err ("; "-separated, truncated with a count),
 * returning PICTOR_E_FORMAT when there is any, PICTOR_OK otherwise.
 *
 * Listing names (for "unexpected") uses the common host table
 * (pictor_common_host()->weights_count / weights_name), so `src` must come
 * from that host's weights_open or weights_peek, or be the plugin's BFL
 * wrapper over such a source (flux_bfl.h; listed through its own lister,
 * so unused BFL tensors are "unexpected"). With no host set, or for
 * any other source, use pictor_flux_transformer_check_names and pass the
 * lister yourself.
 */
int pictor_flux_transformer_check(const struct pictor_flux_config *cfg,
                                  const struct pictor_wsource *src, char *err,
                                  size_t errlen);

/* As above with an explicit lister; count/name NULL: unexpected tensors
 * are not looked for (missing and wrongly shaped ones still are). */
int pictor_flux_transformer_check_names(
    const struct pictor_flux_config *cfg, const struct pictor_wsource *src,
    size_t (*count)(const struct pictor_wsource *src),
    const char *(*name)(const struct pictor_wsource *src, size_t i),
    char *err, size_t errlen);

struct pictor_flux_transformer;

/* Validates cfg, loads every tensor (see top). The source must outlive the
 * model on the CPU (tensors are used in place). */
int pictor_flux_transformer_open(const struct pictor_flux_config *cfg,
                                 const struct pictor_wsource *src,
                                 pictor_backend *be,
                                 struct pictor_flux_transformer **out,
                                 char *err, size_t errlen);
/* NULL is a no-op. */
void pictor_flux_transformer_close(struct pictor_flux_transformer *m);

/* Parameters loaded (elements); equals pictor_flux_config_param_count. */
long long pictor_flux_transformer_param_count(
    const struct pictor_flux_transformer *m);

const struct pictor_flux_config *pictor_flux_transformer_config(
    const struct pictor_flux_transformer *m);

/* One transformer call; shapes at the top of this header. */
struct pictor_flux_inputs {
    const pictor_tensor *hidden_states;         /* [B, L, in_channels] */
    const pictor_tensor *encoder_hidden_states; /* [B, T, joint_dim] */
    const pictor_tensor *pooled_projections;    /* [B, pooled_dim] */
    const pictor_tensor *timestep;              /* [B] sigma = t / 1000 */
    const pictor_tensor *guidance;              /* [B]; dev only, else NULL */
    const pictor_tensor *img_ids;               /* [L, n_axes] CPU f32 */
    const pictor_tensor *txt_ids;               /* [T, n_axes] CPU f32 */
};

/* Activations live in one arena planned per shape: the first forward of a
 * larger shape measures its peak and the arena is regrown to it after.
 *
 * Graphs (on by default where pictor_backend_graphs_offered(be), i.e. on
 * CUDA unless PICTOR_CUDA_GRAPHS=0): per input shape (B, L, T, dtypes) the
 * first forward runs eagerly, the second is captured as one graph and
 * every later one replays it, with the inputs copied into the graph's own
 * tensors first (a few device copies) and the output copied out. The
 * results equal the eager forward's bit for bit. At most
 * PICTOR_FLUX_MAX_GRAPHS shapes are kept (the least recently used goes).
 * A capture that fails is said once on stderr; that shape then runs
 * eagerly. */
#define PICTOR_FLUX_MAX_GRAPHS 4
int pictor_flux_transformer_forward(struct pictor_flux_transformer *m,
                                    const struct pictor_flux_inputs *in,
                                    pictor_tensor *out, char *err,
                                    size_t errlen);

/* Turns graphs on (where the backend offers them) or off (captured graphs
 * are freed). */
void pictor_flux_transformer_set_graphs(struct pictor_flux_transformer *m,
                                        bool on);

/* Graphs captured and forwards replayed from one, since open. */
void pictor_flux_transformer_graph_counts(const struct pictor_flux_transformer *m,
                                          uint64_t *captures, uint64_t *replays);

/* Gives back the device memory the transformer keeps between forwards: its
 * captured graphs and its activation arena (sized for the largest shape so
 * far), then the backend's cached blocks (pictor_backend_trim). The next
 * forward plans them again for its own shape (one eager forward first).
 * For out-of-memory recovery: a large request must not leave later ones
 * without room (flux_decode retries the VAE once after this). */
void pictor_flux_transformer_release_memory(struct pictor_flux_transformer *m);

#endif /* PICTOR_FLUX_TRANSFORMER_H */
