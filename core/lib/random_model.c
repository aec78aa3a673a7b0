/*
 * core/lib/random_model.c — see pictor/random_model.h. Everything here is
 * small-file copying; no tensor data is generated (that happens lazily when
 * the plugin reads the folder).
 */
#include "pictor/random_model.h"
#include "pictor/errmsg.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pictor/status.h"
#include "pictor/tensor_util.h"
#include "pictor/weights.h"
#include "pictor/weights_random.h"

#define RM_PATH 4200

/* snprintf for paths: a path longer than RM_PATH is cut, and then names
 * nothing that exists, so the next open reports it. */
static void pj(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pj(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* ---- ids and the data folder ------------------------------------------------ */

const char *pictor_random_model_variant(const char *id)
{
    static const struct { const char *id, *variant; } ids[] = {
        {"flux-schnell", "flux.1-schnell"},
        {"flux.1-schnell", "flux.1-schnell"},
        {"black-forest-labs/FLUX.1-schnell", "flux.1-schnell"},
        {"flux-dev", "flux.1-dev"},
        {"flux.1-dev", "flux.1-dev"},
        {"black-forest-labs/FLUX.1-dev", "flux.1-dev"},
    };
    for (size_t i = 0; id && i < sizeof ids / sizeof ids[0]; i++)
        if (!strcasecmp(id, ids[i].id))
            return ids[i].variant;
    return NULL;
}

int pictor_random_data_dir(const char *override, char *out, size_t outlen, char *err,
                           size_t errlen)
{
    char cand[3][RM_PATH] = {"", "", ""}, p[RM_PATH + 16];
    const char *env = getenv("PICTOR_DATA_DIR");
    if (override && *override)
        pj(cand[0], sizeof cand[0], "%s", override);
    else if (env && *env)
        pj(cand[0], sizeof cand[0], "%s", env);
    else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
        if (slash) {
            *slash = '\0';
            pj(cand[1], sizeof cand[1], "%s/../share/pictor", exe);
            pj(cand[2], sizeof cand[2], "%s/../../share/pictor", exe);
        }
    }
    for (int i = 0; i < 3; i++) {
        pj(p, sizeof p, "%s/random", cand[i]);
        if (cand[i][0] && is_dir(p)) {
            if (strlen(cand[i]) >= outlen)
                return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: path too long", cand[i]);
            snprintf(out, outlen, "%s", cand[i]);
            return PICTOR_OK;
        }
    }
    return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                "no pictor data folder with random/ found (tried %s%s%s%s%s); pass --data-dir "
                "DIR or set PICTOR_DATA_DIR (DIR/random/ is share/pictor/random/ of the source "
                "tree)",
                cand[0], cand[1][0] && cand[0][0] ? ", " : "", cand[1], cand[2][0] ? ", " : "",
                cand[2]);
}

/* ---- file helpers ------------------------------------------------------------ */

static int copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
    char buf[65536];
    int rc = PICTOR_OK;
    FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
    if (!in || !out) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", in ? dst : src, strerror(errno));
        goto out;
    }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: write failed", dst);
            goto out;
        }
    if (ferror(in))
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: read failed", src);
out:
    if (out && fclose(out) != 0 && rc == PICTOR_OK)
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: write failed", dst);
    if (in)
        fclose(in);
    return rc;
}

static int make_dir(const char *p, char *err, size_t errlen)
{
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", p, strerror(errno));
    return PICTOR_OK;
}

static int make_temp(char **out_dir, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char *d;
    if (asprintf(&d, "%s/pictor-random-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "out of memory");
    if (!mkdtemp(d)) {
        int e = errno;
        int rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", d, strerror(e));
        free(d);
        return rc;
    }
    *out_dir = d;
    return PICTOR_OK;
}

void pictor_random_model_remove(const char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[RM_PATH];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        pj(p, sizeof p, "%s/%s", dir, e->d_name);
        if (is_dir(p)) {
            DIR *s = opendir(p);
            struct dirent *f;
            char q[RM_PATH + 256];
            while (s && (f = readdir(s)))
                if (strcmp(f->d_name, ".") && strcmp(f->d_name, "..")) {
                    pj(q, sizeof q, "%s/%s", p, f->d_name);
                    unlink(q);
                }
            if (s)
                closedir(s);
            rmdir(p);
        } else {
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ---- random-weights.tsv writing ---------------------------------------------- */

static const char *init_text(const struct pictor_wrandom_info *in, char *buf, size_t len)
{
    switch (in->init) {
    case PICTOR_WRANDOM_ONES: return "ones";
    case PICTOR_WRANDOM_ZEROS: return "zeros";
    case PICTOR_WRANDOM_UNIFORM: snprintf(buf, len, "uniform:%.9g", (double)in->bound); return buf;
    default: return "fan_in";
    }
}

static void write_line(FILE *f, const char *name, int ndim, const int64_t *shape, int dtype,
                       const char *init)
{
    fprintf(f, "%s\t", name);
    for (int d = 0; d < ndim; d++)
        fprintf(f, "%s%lld", d ? "," : "", (long long)shape[d]);
    fprintf(f, "\t%s\t%s\n", pictor_dtype_name(dtype), init);
}

static const char TSV_HEADER[] =
    "# random weights for pictor bench (pictor/weights_random.h): name, shape, dtype, init\n"
    "name\tshape\tdtype\tinit\n";

/* Rewrites a skeleton TSV with every dtype set to `dtype` (-1: kept). */
static int rewrite_tsv(const char *src, const char *dst, int dtype, uint64_t *bytes, char *err,
                       size_t errlen)
{
    struct pictor_wrandom *w = NULL;
    int rc = pictor_wrandom_open(src, &w, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    FILE *f = fopen(dst, "w");
    if (!f) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", dst, strerror(errno));
        goto out;
    }
    fputs(TSV_HEADER, f);
    for (size_t i = 0; i < pictor_wrandom_count(w); i++) {
        struct pictor_wrandom_info in;
        char ib[48];
        pictor_wrandom_info(w, pictor_wrandom_name(w, i), &in);
        int dt = dtype >= 0 ? dtype : in.dtype;
        write_line(f, in.name, in.ndim, in.shape, dt, init_text(&in, ib, sizeof ib));
        *bytes += in.numel * pictor_dtype_size(dt);
    }
    if (fclose(f) != 0)
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: write failed", dst);
out:
    pictor_wrandom_close(w);
    return rc;
}

/* Copies the regular files of folder SRC into DST (made), rewriting a
 * random-weights.tsv and skipping safetensors files. */
static int copy_folder(const char *src, const char *dst, int dtype, uint64_t *bytes, char *err,
                       size_t errlen)
{
    int rc = make_dir(dst, err, errlen);
    DIR *d = rc == PICTOR_OK ? opendir(src) : NULL;
    struct dirent *e;
    char a[RM_PATH], b[RM_PATH];
    if (rc == PICTOR_OK && !d)
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", src, strerror(errno));
    while (rc == PICTOR_OK && (e = readdir(d))) {
        pj(a, sizeof a, "%s/%s", src, e->d_name);
        pj(b, sizeof b, "%s/%s", dst, e->d_name);
        if (!is_file(a) || ends_with(e->d_name, ".safetensors") ||
            (strstr(e->d_name, ".safetensors.index") && ends_with(e->d_name, ".json")))
            continue;
        if (!strcmp(e->d_name, PICTOR_WRANDOM_FILE))
            rc = rewrite_tsv(a, b, dtype, bytes, err, errlen);
        else
            rc = copy_file(a, b, err, errlen);
    }
    if (d)
        closedir(d);
    return rc;
}

/* Components model_index.json lists: each [library, class] pair key. */
static int listed_components(const char *dir, struct json_object **root, char *err,
                             size_t errlen)
{
    char p[RM_PATH];
    pj(p, sizeof p, "%s/model_index.json", dir);
    *root = json_object_from_file(p);
    if (!*root || !json_object_is_type(*root, json_type_object)) {
        json_object_put(*root);
        *root = NULL;
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: missing or not a JSON object", p);
    }
    return PICTOR_OK;
}

static bool is_component(const char *key, struct json_object *v)
{
    return key[0] != '_' && json_object_is_type(v, json_type_array) &&
           json_object_array_length(v) == 2 &&
           json_object_is_type(json_object_array_get_idx(v, 0), json_type_string);
}

int pictor_random_model_from_variant(const char *data_dir, const char *variant, int dtype,
                                     char **out_dir, uint64_t *bytes, char *err,
                                     size_t errlen)
{
    char src[RM_PATH], a[RM_PATH], b[RM_PATH];
    struct json_object *root = NULL;
    char *dir = NULL;
    int rc;
    *out_dir = NULL;
    *bytes = 0;
    pj(src, sizeof src, "%s/random/%s", data_dir, variant);
    if (!is_dir(src))
        return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND, "%s: no such skeleton folder", src);
    if ((rc = make_temp(&dir, err, errlen)))
        return rc;
    pj(a, sizeof a, "%s/model_index.json", src);
    pj(b, sizeof b, "%s/model_index.json", dir);
    if ((rc = copy_file(a, b, err, errlen)) || (rc = listed_components(src, &root, err, errlen)))
        goto fail;
    json_object_object_foreach(root, key, val) {
        if (!is_component(key, val))
            continue;
        pj(a, sizeof a, "%s/%s", src, key);
        if (!is_dir(a))
            pj(a, sizeof a, "%s/random/common/%s", data_dir, key);
        if (!is_dir(a)) {
            rc = pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                      "%s/model_index.json lists '%s', but neither %s/%s nor %s exists", src,
                      key, src, key, a);
            goto fail;
        }
        pj(b, sizeof b, "%s/%s", dir, key);
        if ((rc = copy_folder(a, b, dtype, bytes, err, errlen)))
            goto fail;
    }
    json_object_put(root);
    *out_dir = dir;
    return PICTOR_OK;
fail:
    json_object_put(root);
    pictor_random_model_remove(dir);
    free(dir);
    return rc;
}

/* random-weights.tsv for component folder SRC from its safetensors
 * headers; PICTOR_E_NOT_FOUND when it holds no weights. */
static int tsv_from_weights(const char *src, const char *dst, int dtype, uint64_t *bytes,
                            char *err, size_t errlen)
{
    struct pictor_weights *w = NULL;
    int rc = pictor_weights_open(src, false, &w, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    FILE *f = fopen(dst, "w");
    if (!f) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", dst, strerror(errno));
        goto out;
    }
    fputs(TSV_HEADER, f);
    for (size_t i = 0; i < pictor_weights_count(w); i++) {
        struct pictor_st_info in;
        pictor_weights_info(w, pictor_weights_name(w, i), &in);
        /* Integer buffers (CLIP's position_ids) and dtypes pictor cannot
         * hold are left out: no model block reads them as weights. */
        if (in.dtype < 0 || !pictor_dtype_is_float(in.dtype) || in.dtype == PICTOR_F8_E5M2)
            continue;
        int dt = dtype >= 0 ? dtype : in.dtype;
        write_line(f, in.name, in.ndim, in.shape, dt, "auto");
        *bytes += in.numel * pictor_dtype_size(dt);
    }
    if (fclose(f) != 0)
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: write failed", dst);
out:
    pictor_weights_close(w);
    return rc;
}

int pictor_random_model_from_dir(const struct pictor_model_dir *md, int dtype, char **out_dir,
                                 uint64_t *bytes, char *err, size_t errlen)
{
    char a[RM_PATH], b[RM_PATH];
    char *dir = NULL;
    int rc;
    *out_dir = NULL;
    *bytes = 0;
    if (md->layout != PICTOR_MODEL_DIFFUSERS)
        return pictor_fail(err, errlen, PICTOR_E_UNSUPPORTED,
                    "%s: --random-weights needs a diffusers folder (model_index.json)",
                    md->root);
    if ((rc = make_temp(&dir, err, errlen)))
        return rc;
    pj(a, sizeof a, "%s/model_index.json", md->root);
    pj(b, sizeof b, "%s/model_index.json", dir);
    if ((rc = copy_file(a, b, err, errlen)))
        goto fail;
    for (size_t i = 0; i < md->n_components; i++) {
        const struct pictor_model_component *c = &md->components[i];
        pj(b, sizeof b, "%s/%s", dir, c->name);
        if ((rc = copy_folder(c->path, b, dtype, bytes, err, errlen)))
            goto fail;
        if (pictor_wrandom_present(b)) /* the folder was random already */
            continue;
        pj(b, sizeof b, "%s/%s/%s", dir, c->name, PICTOR_WRANDOM_FILE);
        rc = tsv_from_weights(c->path, b, dtype, bytes, err, errlen);
        if (rc == PICTOR_E_NOT_FOUND) /* tokenizer, scheduler: no weights */
            rc = PICTOR_OK;
        if (rc)
            goto fail;
    }
    *out_dir = dir;
    return PICTOR_OK;
fail:
    pictor_random_model_remove(dir);
    free(dir);
    return rc;
}
