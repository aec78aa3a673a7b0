/*
 * pictor/weights.h — the tensors of one model component (a transformer, a
 * VAE, a text encoder) as one name → tensor set, whatever the layout on
 * disk:
 *   - a single FILE.safetensors;
 *   - a sharded FILE.safetensors.index.json: its "weight_map" {tensor: shard
 *     file} names shards in the index's own folder (bare file names only);
 *     every shard is opened once; a missing shard, or a tensor the map puts
 *     in a shard that lacks it, is an error naming both;
 *   - a component folder: the first of these that exists, for the variant
 *     tried first, then for the other variant:
 *       diffusion_pytorch_model.safetensors
 *       diffusion_pytorch_model.safetensors.index.json
 *       model.safetensors
 *       model.safetensors.index.json
 *     and their fp16 variants (diffusers/transformers naming):
 *       diffusion_pytorch_model.fp16.safetensors
 *       diffusion_pytorch_model.safetensors.index.fp16.json
 *       model.fp16.safetensors
 *       model.safetensors.index.fp16.json
 *     prefer_fp16_variant false tries the plain files first (the fp16 ones
 *     only when no plain file exists); true tries the fp16 variant first.
 * Tensor names must be unique across shards (a name in two shards is an
 * error naming both files); tensors a shard holds beyond the weight map are
 * part of the set too.
 *
 * Opening reads headers only (pictor/safetensors.h maps files; data pages
 * in on access), so it doubles as the header-only "peek" of probe().
 * Status codes: as pictor/safetensors.h, plus PICTOR_E_NOT_FOUND when the
 * path does not exist or a folder holds no weights file.
 *
 * Ownership and lifetime: the set owns its shards; names, tensor data and
 * file names stay valid until pictor_weights_close.
 * Thread: open/close on one thread; queries from any thread concurrently.
 */
#ifndef PICTOR_WEIGHTS_H
#define PICTOR_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/safetensors.h"
#include "pictor/tensor.h"
#include "pictor/wsource.h"

struct pictor_weights;

int pictor_weights_open(const char *path, bool prefer_fp16_variant,
                        struct pictor_weights **out, char *err,
                        size_t errlen);
/* NULL is a no-op. */
void pictor_weights_close(struct pictor_weights *w);

/* The file that was opened: the .safetensors or the .index.json (for a
 * folder, the one chosen inside it). */
const char *pictor_weights_path(const struct pictor_weights *w);

/* Tensors of all shards, indexed 0..count-1 in strcmp order of names. */
size_t pictor_weights_count(const struct pictor_weights *w);
const char *pictor_weights_name(const struct pictor_weights *w, size_t i);

/* CPU view of NAME (see pictor_st_find): PICTOR_OK, PICTOR_E_NOT_FOUND,
 * PICTOR_E_UNSUPPORTED (dtype pictor has no enum for) or PICTOR_E_NOMEM. */
int pictor_weights_get(const struct pictor_weights *w, const char *name,
                       pictor_tensor *out);
/* Header facts of NAME without touching its data (PICTOR_E_NOT_FOUND). */
int pictor_weights_info(const struct pictor_weights *w, const char *name,
                        struct pictor_st_info *out);
/* Path of the shard holding NAME (for messages), or NULL. */
const char *pictor_weights_file_of(const struct pictor_weights *w,
                                   const char *name);
/* "__metadata__" value of KEY from the first shard that has it, or NULL. */
const char *pictor_weights_metadata(const struct pictor_weights *w,
                                    const char *key);

/* Sums over all tensors (unsupported dtypes included). */
uint64_t pictor_weights_total_bytes(const struct pictor_weights *w);
uint64_t pictor_weights_total_params(const struct pictor_weights *w);

/* A pictor_wsource over the set (get → pictor_weights_get, where →
 * pictor_weights_file_of), valid while the set is open. */
struct pictor_wsource pictor_weights_wsource(const struct pictor_weights *w);

#endif /* PICTOR_WEIGHTS_H */
