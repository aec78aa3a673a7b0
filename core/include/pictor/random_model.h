/*
 * pictor/random_model.h — a temporary diffusers folder whose weights are
 * random (pictor/weights_random.h), for `pictor bench --random-weights`.
 * The folder is opened like any other model: the family plugin reads its
 * configs and tokenizers, and the host's weights_open serves each
 * component's random-weights.tsv.
 *
 * Two ways to make one:
 *   - from a known model id (pictor_random_model_variant): a copy of the
 *     skeleton shipped in DATA_DIR/random/VARIANT/ (model_index.json, every
 *     component's real config.json and scheduler config, and a
 *     random-weights.tsv per weights component: the real checkpoint's
 *     tensor manifest). Components model_index.json lists but the skeleton
 *     lacks come from DATA_DIR/random/common/NAME/ (the tokenizers: small
 *     test vocabularies, not the real ones — token ids stay in range of the
 *     real embedding tables, which is all timing needs);
 *   - from a model folder (pictor_model_dir): its JSON/text files copied,
 *     and for each component holding safetensors a random-weights.tsv with
 *     the same names, shapes and dtypes (headers only are read).
 * dtype >= 0 overrides every tensor's dtype (enum pictor_dtype: F32, F16,
 * BF16); -1 keeps the listed one (the skeleton's default is bf16, the
 * released checkpoints' dtype).
 *
 * DATA_DIR (pictor_random_data_dir): the --data-dir argument, else
 * $PICTOR_DATA_DIR, else PROGRAM/../share/pictor (installed layout), else
 * PROGRAM/../../share/pictor (a build folder inside the source tree).
 *
 * Ownership: *out_dir is malloc'd; the folder lives under $TMPDIR (or /tmp)
 * until pictor_random_model_remove. Thread: any.
 */
#ifndef PICTOR_RANDOM_MODEL_H
#define PICTOR_RANDOM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pictor/model_dir.h"

/* The skeleton name for a model id: "flux-schnell", "flux.1-schnell" and
 * "black-forest-labs/FLUX.1-schnell" give "flux.1-schnell" (likewise dev);
 * NULL when unknown. */
const char *pictor_random_model_variant(const char *id);

/* Finds DATA_DIR as above (override may be NULL): PICTOR_OK, or
 * PICTOR_E_NOT_FOUND naming the places tried. */
int pictor_random_data_dir(const char *override, char *out, size_t outlen, char *err,
                           size_t errlen);

/* Materialises VARIANT from DATA_DIR. *bytes: the host bytes all listed
 * tensors take once generated. */
int pictor_random_model_from_variant(const char *data_dir, const char *variant, int dtype,
                                     char **out_dir, uint64_t *bytes, char *err,
                                     size_t errlen);

/* Materialises an opened model folder (layout PICTOR_MODEL_DIFFUSERS). */
int pictor_random_model_from_dir(const struct pictor_model_dir *md, int dtype, char **out_dir,
                                 uint64_t *bytes, char *err, size_t errlen);

/* Turns a folder made above into one with real weights files: each
 * component's random-weights.tsv becomes model.safetensors beside it
 * (pictor_wrandom_save; the same bytes the synthetic source gives), the tsv
 * removed, so the folder loads through the safetensors path (and, right
 * after, from the page cache). *written: the data bytes written. */
int pictor_random_model_write(const char *dir, uint64_t *written, char *err, size_t errlen);

/* Deletes a folder made above (files and sub-folders, two levels deep, as
 * made). NULL is a no-op. */
void pictor_random_model_remove(const char *dir);

#endif /* PICTOR_RANDOM_MODEL_H */
