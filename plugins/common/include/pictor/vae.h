/*
 * pictor/vae.h — the AutoencoderKL decoder (diffusers `AutoencoderKL.decode`)
 * shared by every family: FLUX and SD3 (16 latent channels, no
 * post_quant_conv) and SDXL (4 channels with post_quant_conv).
 *
 * Lifecycle: parse the folder's config.json (pictor_vae_config_load), open a
 * decoder on a backend with a weight source (pictor_vae_decoder_open: looks
 * up and shape-checks every tensor, keeps them on the device), decode any
 * number of latents, close. Weight names are diffusers' (`decoder.*`,
 * `post_quant_conv.*`); the older attention names (`query`, `key`, `value`,
 * `proj_attn`) and 1x1-conv-shaped attention weights are accepted too.
 *
 * pictor_vae_decode takes latents already unscaled (z / scaling_factor +
 * shift_factor, the direct input of vae.decode) and writes the image in
 * [-1, 1] nominal range as NCHW. Thread: [worker thread].
 */
#ifndef PICTOR_VAE_H
#define PICTOR_VAE_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/backend.h"
#include "pictor/eval.h"
#include "pictor/params.h"
#include "pictor/wsource.h"

#define PICTOR_VAE_MAX_BLOCKS 8

struct pictor_vae_config {
    int latent_channels;  /* 16 (FLUX, SD3) or 4 (SDXL) */
    int out_channels;     /* 3 */
    int n_blocks;         /* len(block_out_channels) */
    int block_out_channels[PICTOR_VAE_MAX_BLOCKS]; /* [128, 256, 512, 512] */
    int layers_per_block; /* decoder up blocks have layers_per_block + 1 */
    int norm_num_groups;  /* 32 */
    bool mid_block_add_attention;
    bool use_post_quant_conv;
    double scaling_factor; /* pipelines: z = latents / scaling + shift */
    double shift_factor;   /* 0 when null in the config */
    /* Not from config.json: the dtype activations and weights are kept in
     * (PICTOR_F32, the loader's default: weights as stored; PICTOR_BF16 or
     * PICTOR_F16: weights converted once at load, activations in that
     * dtype, f32 accumulation inside every op). Set by the caller from the
     * requested precision (pictor_precision_compute_dtype). */
    int compute_dtype;
};

/* Reads `dir/config.json` (an AutoencoderKL config). Unknown class names,
 * activations other than silu and out-of-range values are errors. */
int pictor_vae_config_load(const char *dir, struct pictor_vae_config *cfg,
                           char *err, size_t errlen);

struct pictor_vae_decoder;

int pictor_vae_decoder_open(const struct pictor_vae_config *cfg,
                            const struct pictor_wsource *src,
                            pictor_backend *be,
                            struct pictor_vae_decoder **out, char *err,
                            size_t errlen);
void pictor_vae_decoder_close(struct pictor_vae_decoder *dec);

/* Number of decoder parameters loaded (elements). */
long long pictor_vae_decoder_param_count(const struct pictor_vae_decoder *dec);

/* latents [B, latent_channels, h, w] -> image [B, 3, h * 2^(n_blocks-1),
 * w * 2^(n_blocks-1)], both on the backend's device, image f32 or the
 * backend's activation dtype. */
int pictor_vae_decode(struct pictor_vae_decoder *dec,
                      const pictor_tensor *latents, pictor_tensor *image,
                      char *err, size_t errlen);

/* Upsampling factor between latents and image: 2^(n_blocks - 1). */
int pictor_vae_scale(const struct pictor_vae_config *cfg);

/* Evaluator for component "vae.decoder" (pictor/eval.h; vae_eval.c). */
int pictor_eval_vae_decoder(const struct pictor_eval_request *req,
                            const struct pictor_eval_io *io, char *err,
                            size_t errlen);

#endif /* PICTOR_VAE_H */
