/*
 * plugins/flux/flux_bfl.h — a FLUX transformer stored with the original
 * Black Forest Labs key names (flux1-schnell.safetensors,
 * flux1-dev.safetensors; bf16 or an fp8-e4m3 cast) seen through the
 * diffusers names the transformer loader asks for (MODELS.md §4.2,
 * "Original BFL single-file names … → diffusers").
 *
 * flux_bfl_detect: the source holds "double_blocks.0.img_attn.qkv.weight".
 *
 * flux_bfl_wrap builds *out, a wsource whose get(diffusers_name) answers
 * from the inner (BFL-named) source:
 *   - plain renames (img_in → x_embedder, double_blocks.i.img_mod.lin →
 *     transformer_blocks.i.norm1.linear, …) return the inner tensor;
 *   - attn.to_q/to_k/to_v (add_q/k/v_proj) weight and bias are row views of
 *     img_attn.qkv (txt_attn.qkv), 3 equal blocks of D rows; single-block
 *     attn.to_q/to_k/to_v/proj_mlp are row views of linear1 (D, D, D, 4D
 *     rows). Views are zero copy, keep the dtype, the FP8 scale, and slice
 *     row_scale; a source whose row count is not the expected total is
 *     returned whole, so the loader's shape check names it;
 *   - norm_q/norm_k(/norm_added_q/k).weight come from
 *     …norm.query_norm.scale / key_norm.scale;
 *   - norm_out.linear weight/bias is final_layer.adaLN_modulation.1 with its
 *     two row halves swapped (BFL shift,scale → diffusers scale,shift): a
 *     host copy in the source dtype (bytes as they are, scale kept,
 *     row_scale swapped too), made at the first request and owned by the
 *     wrapper until flux_bfl_unwrap. A tensor without data (header-only
 *     peek) is returned as is.
 * Any other name is PICTOR_E_NOT_FOUND. where(name) names the inner file
 * of the BFL tensor and the BFL name: "FILE (BFL tensor 'NAME')", so a
 * missing or misshapen source tensor is reported by its BFL name.
 *
 * The inner source must outlive the wrapper and stay owned by the caller.
 * When the inner source came from the common host (weights_count/name),
 * the wrapper can list names (flux_bfl_count/flux_bfl_name: each inner
 * tensor as the diffusers name it feeds, or its own BFL name when it feeds
 * none) so pictor_flux_transformer_check reports unused BFL tensors.
 *
 * Errors (wrap): PICTOR_E_NOMEM. Thread: get/where from one thread at a
 * time (where formats into a buffer of the wrapper); the norm_out copy is
 * made under a lock.
 */
#ifndef PICTOR_FLUX_BFL_H
#define PICTOR_FLUX_BFL_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/flux_transformer.h"
#include "pictor/wsource.h"

bool flux_bfl_detect(const struct pictor_wsource *src);

int flux_bfl_wrap(const struct pictor_wsource *inner, const struct pictor_flux_config *cfg,
                  struct pictor_wsource *out, char *err, size_t errlen);
/* Frees the wrapper and its copies and zeroes *out; a zeroed *out is a
 * no-op. Does not close the inner source. */
void flux_bfl_unwrap(struct pictor_wsource *out);

/* Whether src was made by flux_bfl_wrap. */
bool flux_bfl_is_wrapper(const struct pictor_wsource *src);
/* Name listing of a wrapper (0 / NULL when the inner source cannot list). */
size_t flux_bfl_count(const struct pictor_wsource *src);
const char *flux_bfl_name(const struct pictor_wsource *src, size_t i);

#endif /* PICTOR_FLUX_BFL_H */
