/*
 * pictor/flux_eval.h — evaluators (pictor/eval.h) for the FLUX family's
 * components, as `pictor check` runs fixture cases (FIXTURES.md).
 *
 * "flux.transformer": model_dir is a FluxTransformer2DModel folder
 * (config.json + diffusion_pytorch_model*.safetensors), opened through
 * pictor_common_host()->weights_open. Inputs: hidden_states [B, L, C],
 * encoder_hidden_states [B, T, Dj], pooled_projections [B, P], timestep [B]
 * (t / 1000 as the pipeline passes it), img_ids [L, 3], txt_ids [T, 3],
 * guidance [B] (required iff guidance_embeds). Output: sample [B, L, C_out].
 * Thread: [worker thread].
 */
#ifndef PICTOR_FLUX_EVAL_H
#define PICTOR_FLUX_EVAL_H

#include <stddef.h>

#include "pictor/eval.h"

int pictor_eval_flux_transformer(const struct pictor_eval_request *req,
                                 const struct pictor_eval_io *io, char *err,
                                 size_t errlen);

#endif /* PICTOR_FLUX_EVAL_H */
