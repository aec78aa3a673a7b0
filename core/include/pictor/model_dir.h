/*
 * pictor/model_dir.h — finding a model's parts from what a user typed:
 * a folder, a file, or a Hugging Face id resolved in the local hub cache
 * (offline: nothing is ever downloaded).
 *
 * pictor_model_dir_open(SOURCE, HF_CACHE) decides, in this order:
 *   1. SOURCE exists on disk:
 *      - a folder with model_index.json (diffusers pipeline): one component
 *        per top-level key not starting with '_' whose value is a
 *        [library, class] pair, e.g. "transformer": ["diffusers",
 *        "FluxTransformer2DModel"], in file order; [null, null] entries
 *        (optional parts left out) and non-pair values are skipped; a listed
 *        component whose folder is missing is an error. An HF snapshot
 *        folder passed directly is just such a folder;
 *      - a folder with config.json and no model_index.json: one component
 *        (a plain component folder: transformer, vae, text encoder...);
 *      - a regular file (a single .safetensors): one component, no config;
 *      - any other folder: "no model_index.json in DIR ...".
 *   2. SOURCE looks like a hub id, ORG/NAME or ORG/NAME@REVISION (one '/',
 *      letters, digits, '.', '_', '-'): resolved under the cache root as
 *        ROOT/models--ORG--NAME/refs/REVISION  (default REVISION "main";
 *        the file holds a commit hash) → ROOT/models--ORG--NAME/snapshots/COMMIT/
 *      (REVISION may also be a commit hash with a snapshot but no ref), then
 *      handled as in 1. Snapshot files are symlinks into ../../blobs/; they
 *      are followed when opened, and paths keep their snapshot names.
 *   3. otherwise: "SOURCE: no such file or directory".
 * The cache root is HF_CACHE when not NULL, else pictor_hf_cache_root().
 *
 * Status codes: PICTOR_E_NOT_FOUND (missing path, repo, ref, snapshot,
 * component folder, model_index.json), PICTOR_E_FORMAT (malformed JSON or
 * ref), PICTOR_E_IO, PICTOR_E_NOMEM. Messages name the path involved.
 *
 * Ownership and lifetime: the pictor_model_dir and every string it points
 * to belong to it until pictor_model_dir_close. Nothing is opened or mapped
 * besides reading the JSON files; weights are opened by the caller with
 * pictor_weights_open(component->path, ...).
 * Thread: any; a pictor_model_dir is immutable after open.
 */
#ifndef PICTOR_MODEL_DIR_H
#define PICTOR_MODEL_DIR_H

#include <stdbool.h>
#include <stddef.h>

enum pictor_model_layout {
    PICTOR_MODEL_DIFFUSERS = 0, /* folder with model_index.json */
    PICTOR_MODEL_COMPONENT = 1, /* folder with config.json + weights */
    PICTOR_MODEL_FILE = 2,      /* a single weights file */
    PICTOR_MODEL_LAYOUT_COUNT
};

struct pictor_model_component {
    const char *name;       /* "transformer", "vae", "tokenizer_2"; for a
                               component folder or file: its base name */
    const char *path;       /* folder (or file) holding it: what
                               pictor_weights_open and loaders take */
    const char *config;     /* first of config.json, scheduler_config.json,
                               tokenizer_config.json, preprocessor_config.json
                               in path, or NULL */
    const char *library;    /* "diffusers", "transformers", ... or "" */
    const char *class_name; /* "FluxTransformer2DModel", "CLIPTextModel",
                               ... or "" when unknown */
};

struct pictor_model_dir {
    const char *source;     /* what the caller passed */
    const char *root;       /* resolved folder (a snapshot for hub ids) or
                               the file for PICTOR_MODEL_FILE */
    const char *revision;   /* hub commit for ids, else NULL */
    int layout;             /* enum pictor_model_layout */
    const char *class_name; /* model_index.json "_class_name"
                               ("FluxPipeline"), the component's class for a
                               component folder, or "" */
    size_t n_components;
    const struct pictor_model_component *components;
};

int pictor_model_dir_open(const char *source, const char *hf_cache,
                          struct pictor_model_dir **out, char *err,
                          size_t errlen);
/* NULL is a no-op. */
void pictor_model_dir_close(struct pictor_model_dir *md);

/* The component called NAME, or NULL. */
const struct pictor_model_component *
pictor_model_dir_component(const struct pictor_model_dir *md,
                           const char *name);

/* Whether S has the shape of a hub id (ORG/NAME[@REVISION]). */
bool pictor_hf_is_id(const char *s);

/* The default hub cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub (the
 * order huggingface_hub uses). PICTOR_E_NOT_FOUND when none is set,
 * PICTOR_E_INVALID when buf is too small. */
int pictor_hf_cache_root(char *buf, size_t len);

/* Resolves hub id ID under HF_CACHE (NULL: the default root) to its
 * snapshot folder, written into out (PICTOR_E_INVALID if too small). */
int pictor_hf_resolve(const char *id, const char *hf_cache, char *out,
                      size_t outlen, char *err, size_t errlen);

#endif /* PICTOR_MODEL_DIR_H */
