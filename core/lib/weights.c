/*
 * core/lib/weights.c — see pictor/weights.h. A set is a list of opened
 * shards plus one name-sorted table {name, shard, index in shard}.
 */
#include "pictor/weights.h"
#include "pictor/errmsg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "pictor/jsonutil.h"

struct w_entry {
    const char *name; /* owned by the shard */
    size_t shard;
    size_t idx;       /* index inside the shard */
};

struct pictor_weights {
    char *path;
    struct pictor_st **shards;
    size_t n_shards;
    struct w_entry *e; /* sorted by name */
    size_t n;
    uint64_t total_bytes, total_params;
};

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "DIR/NAME" in a new string, or NULL (out of memory). */
static char *join(const char *dir, const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/* Everything up to the last '/' ("." when there is none); malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

void pictor_weights_close(struct pictor_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_shards; i++)
        pictor_st_close(w->shards[i]);
    free(w->shards);
    free(w->e);
    free(w->path);
    free(w);
}

/* Appends an opened shard (takes ownership of st even on failure). */
static int add_shard(struct pictor_weights *w, struct pictor_st *st, char *err, size_t errlen)
{
    struct pictor_st **grown = realloc(w->shards, (w->n_shards + 1) * sizeof *grown);
    if (!grown) {
        pictor_st_close(st);
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
    }
    w->shards = grown;
    w->shards[w->n_shards++] = st;
    return PICTOR_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct w_entry *)a)->name, ((const struct w_entry *)b)->name);
}

/* Builds the sorted name table from all shards; a name in two shards is
 * an error naming both files. */
static int build_table(struct pictor_weights *w, char *err, size_t errlen)
{
    size_t total = 0;
    for (size_t s = 0; s < w->n_shards; s++)
        total += pictor_st_count(w->shards[s]);
    w->e = calloc(total ? total : 1, sizeof *w->e);
    if (!w->e)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
    for (size_t s = 0; s < w->n_shards; s++) {
        for (size_t i = 0; i < pictor_st_count(w->shards[s]); i++) {
            struct pictor_st_info info;
            pictor_st_info(w->shards[s], i, &info);
            w->e[w->n++] = (struct w_entry){info.name, s, i};
            w->total_bytes += info.nbytes;
            w->total_params += info.numel;
        }
    }
    qsort(w->e, w->n, sizeof *w->e, entry_cmp);
    for (size_t i = 1; i < w->n; i++)
        if (strcmp(w->e[i - 1].name, w->e[i].name) == 0)
            return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: tensor '%s' is in both %s and %s",
                        w->path, w->e[i].name, pictor_st_path(w->shards[w->e[i - 1].shard]),
                        pictor_st_path(w->shards[w->e[i].shard]));
    return PICTOR_OK;
}

/* Index of the shard opened from FILE, opening it when new. */
static int shard_for(struct pictor_weights *w, const char *dir, const char *file,
                     const char *tensor, size_t *out, char *err, size_t errlen)
{
    for (size_t s = 0; s < w->n_shards; s++) {
        const char *p = pictor_st_path(w->shards[s]);
        const char *base = strrchr(p, '/');
        if (strcmp(base ? base + 1 : p, file) == 0) {
            *out = s;
            return PICTOR_OK;
        }
    }
    if (!*file || strchr(file, '/') || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s' maps to '%s', which is not a file name in the index's "
                    "folder",
                    w->path, tensor, file);
    char *path = join(dir, file);
    if (!path)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
    struct pictor_st *st = NULL;
    char sub[768];
    int rc = pictor_st_open(path, &st, sub, sizeof sub);
    free(path);
    if (rc != PICTOR_OK)
        return pictor_fail(err, errlen, rc, "%s: shard %s (holding tensor '%s'): %s", w->path, file,
                    tensor, sub);
    rc = add_shard(w, st, err, errlen);
    *out = w->n_shards - 1;
    return rc;
}

static int open_index(struct pictor_weights *w, char *err, size_t errlen)
{
    struct json_object *root = NULL, *map = NULL;
    char *dir = dir_of(w->path);
    int rc = dir ? pictor_json_load(w->path, &root, err, errlen)
                 : pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
    if (rc != PICTOR_OK)
        goto out;
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "weight_map", &map) ||
        !json_object_is_type(map, json_type_object)) {
        rc = pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: no \"weight_map\" object", w->path);
        goto out;
    }
    /* Pass 1: open every shard once, in order of first mention. */
    json_object_object_foreach(map, name, file) {
        size_t s;
        if (!json_object_is_type(file, json_type_string)) {
            rc = pictor_fail(err, errlen, PICTOR_E_FORMAT,
                      "%s: weight_map entry of tensor '%s' is not a file name", w->path, name);
            goto out;
        }
        rc = shard_for(w, dir, json_object_get_string(file), name, &s, err, errlen);
        if (rc != PICTOR_OK)
            goto out;
    }
    /* Pass 2: every mapped tensor is in the shard the map names. */
    json_object_object_foreach(map, name2, file2) {
        size_t s;
        shard_for(w, dir, json_object_get_string(file2), name2, &s, err, errlen);
        if (pictor_st_index(w->shards[s], name2) == (size_t)-1) {
            rc = pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                      "%s: tensor '%s' is mapped to %s, which does not hold it", w->path,
                      name2, pictor_st_path(w->shards[s]));
            goto out;
        }
    }
    if (w->n_shards == 0)
        rc = pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: \"weight_map\" is empty", w->path);
out:
    json_object_put(root);
    free(dir);
    return rc;
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0; /* a dangling HF-cache link counts: open says why */
}

/* Picks the weights file inside folder DIR into *out (malloc'd). */
static int pick_in_dir(const char *dir, bool prefer_fp16, char **out, char *err,
                       size_t errlen)
{
    static const char *const plain[] = {
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json",
        "model.safetensors",
        "model.safetensors.index.json",
    };
    static const char *const fp16[] = {
        "diffusion_pytorch_model.fp16.safetensors",
        "diffusion_pytorch_model.safetensors.index.fp16.json",
        "model.fp16.safetensors",
        "model.safetensors.index.fp16.json",
    };
    const char *const *order[2] = {prefer_fp16 ? fp16 : plain, prefer_fp16 ? plain : fp16};
    for (int v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
            char *p = join(dir, order[v][i]);
            if (!p)
                return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", dir);
            if (exists(p)) {
                *out = p;
                return PICTOR_OK;
            }
            free(p);
        }
    }
    return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                "%s: no weights found (looked for diffusion_pytorch_model[.fp16].safetensors, "
                "model[.fp16].safetensors and their .safetensors.index[.fp16].json)",
                dir);
}

int pictor_weights_open(const char *path, bool prefer_fp16_variant,
                        struct pictor_weights **out, char *err, size_t errlen)
{
    int rc;
    struct stat sb;
    struct pictor_weights *w = calloc(1, sizeof *w);
    if (!w)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", path);
    if (stat(path, &sb) != 0) {
        rc = pictor_fail(err, errlen, errno == ENOENT ? PICTOR_E_NOT_FOUND : PICTOR_E_IO,
                  "%s: %s", path, strerror(errno));
        goto out_close;
    }
    if (S_ISDIR(sb.st_mode)) {
        rc = pick_in_dir(path, prefer_fp16_variant, &w->path, err, errlen);
        if (rc != PICTOR_OK)
            goto out_close;
    } else if (!(w->path = strdup(path))) {
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", path);
        goto out_close;
    }
    if (has_suffix(w->path, ".json")) {
        rc = open_index(w, err, errlen);
    } else {
        struct pictor_st *st;
        rc = pictor_st_open(w->path, &st, err, errlen);
        if (rc == PICTOR_OK)
            rc = add_shard(w, st, err, errlen);
    }
    if (rc == PICTOR_OK)
        rc = build_table(w, err, errlen);
    if (rc != PICTOR_OK)
        goto out_close;
    *out = w;
    return PICTOR_OK;
out_close:
    pictor_weights_close(w);
    return rc;
}

/* ---- queries ------------------------------------------------------------- */

static const struct w_entry *lookup(const struct pictor_weights *w, const char *name)
{
    struct w_entry key = {.name = name};
    return bsearch(&key, w->e, w->n, sizeof *w->e, entry_cmp);
}

const char *pictor_weights_path(const struct pictor_weights *w)
{
    return w->path;
}

size_t pictor_weights_count(const struct pictor_weights *w)
{
    return w->n;
}

const char *pictor_weights_name(const struct pictor_weights *w, size_t i)
{
    return i < w->n ? w->e[i].name : NULL;
}

int pictor_weights_get(const struct pictor_weights *w, const char *name, pictor_tensor *out)
{
    const struct w_entry *e = lookup(w, name);
    return e ? pictor_st_find(w->shards[e->shard], name, out) : PICTOR_E_NOT_FOUND;
}

int pictor_weights_info(const struct pictor_weights *w, const char *name,
                        struct pictor_st_info *out)
{
    const struct w_entry *e = lookup(w, name);
    return e ? pictor_st_info(w->shards[e->shard], e->idx, out) : PICTOR_E_NOT_FOUND;
}

const char *pictor_weights_file_of(const struct pictor_weights *w, const char *name)
{
    const struct w_entry *e = lookup(w, name);
    return e ? pictor_st_path(w->shards[e->shard]) : NULL;
}

const char *pictor_weights_metadata(const struct pictor_weights *w, const char *key)
{
    for (size_t s = 0; s < w->n_shards; s++) {
        const char *v = pictor_st_metadata(w->shards[s], key);
        if (v)
            return v;
    }
    return NULL;
}

uint64_t pictor_weights_total_bytes(const struct pictor_weights *w)
{
    return w->total_bytes;
}

uint64_t pictor_weights_total_params(const struct pictor_weights *w)
{
    return w->total_params;
}

static int ws_get(void *ctx, const char *name, struct pictor_tensor *out)
{
    return pictor_weights_get(ctx, name, out);
}

/* The shard holding `name`; for a name in no shard (a missing tensor), the
 * file that was opened, so messages still say where pictor looked. */
static const char *ws_where(void *ctx, const char *name)
{
    const char *f = pictor_weights_file_of(ctx, name);
    return f ? f : pictor_weights_path(ctx);
}

struct pictor_wsource pictor_weights_wsource(const struct pictor_weights *w)
{
    return (struct pictor_wsource){(void *)w, ws_get, ws_where};
}
