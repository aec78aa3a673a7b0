/*
 * core/lib/model_dir.c — see pictor/model_dir.h. The public struct is the
 * first member of md_impl, which also owns every string (a pool freed at
 * close) and the component array.
 */
#include "pictor/model_dir.h"
#include "pictor/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "pictor/jsonutil.h"
#include "pictor/status.h"

#define HF_REF_MAX 256 /* a ref file holds a 40-hex commit and a newline */

struct md_impl {
    struct pictor_model_dir pub;
    struct pictor_model_component *comps;
    size_t cap;
    char **pool;
    size_t n_pool;
};

/* Keeps a formatted string in the pool; NULL when out of memory. */
static const char *keepf(struct md_impl *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *keepf(struct md_impl *m, const char *fmt, ...)
{
    char *s;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char **grown = realloc(m->pool, (m->n_pool + 1) * sizeof *grown);
    if (!grown) {
        free(s);
        return NULL;
    }
    m->pool = grown;
    m->pool[m->n_pool++] = s;
    return s;
}

/* snprintf into a path buffer; false when it does not fit. */
static bool pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
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

void pictor_model_dir_close(struct pictor_model_dir *md)
{
    struct md_impl *m = (struct md_impl *)md;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_pool; i++)
        free(m->pool[i]);
    free(m->pool);
    free(m->comps);
    free(m);
}

const struct pictor_model_component *
pictor_model_dir_component(const struct pictor_model_dir *md, const char *name)
{
    for (size_t i = 0; i < md->n_components; i++)
        if (strcmp(md->components[i].name, name) == 0)
            return &md->components[i];
    return NULL;
}

/* ---- hub cache --------------------------------------------------------- */

bool pictor_hf_is_id(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || strchr(slash + 1, '/'))
        return false;
    const char *at = strchr(slash + 1, '@');
    const char *end = at ? at : s + strlen(s);
    if (end == slash + 1 || s[0] == '.' || slash[1] == '.' || (at && !at[1]))
        return false;
    for (const char *p = s; p < end; p++)
        if (p != slash && !isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    for (const char *p = at ? at + 1 : end; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

int pictor_hf_cache_root(char *buf, size_t len)
{
    const char *v;
    int n;
    if ((v = getenv("HF_HUB_CACHE")) && *v)
        n = snprintf(buf, len, "%s", v);
    else if ((v = getenv("HF_HOME")) && *v)
        n = snprintf(buf, len, "%s/hub", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        n = snprintf(buf, len, "%s/huggingface/hub", v);
    else if ((v = getenv("HOME")) && *v)
        n = snprintf(buf, len, "%s/.cache/huggingface/hub", v);
    else
        return PICTOR_E_NOT_FOUND;
    return n < 0 || (size_t)n >= len ? PICTOR_E_INVALID : PICTOR_OK;
}

/* Reads the commit a ref file names into commit[HF_REF_MAX]. */
static int read_ref(const char *path, char *commit, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(commit, 1, HF_REF_MAX - 1, f);
    fclose(f);
    commit[n] = '\0';
    while (n && isspace((unsigned char)commit[n - 1]))
        commit[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)commit[i]))
            n = 0;
    if (n == 0)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: does not hold a commit hash", path);
    return PICTOR_OK;
}

int pictor_hf_resolve(const char *id, const char *hf_cache, char *out, size_t outlen,
                      char *err, size_t errlen)
{
    char root[PATH_MAX], repo[PATH_MAX], ref[PATH_MAX], commit[HF_REF_MAX];
    if (!pictor_hf_is_id(id))
        return pictor_fail(err, errlen, PICTOR_E_INVALID, "'%s' is not a hub id (ORG/NAME)", id);
    if (hf_cache) {
        if (!pathf(root, sizeof root, "%s", hf_cache))
            return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: cache path too long", id);
    } else if (pictor_hf_cache_root(root, sizeof root) != PICTOR_OK)
        return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                    "%s: no hub cache (set HF_HUB_CACHE, HF_HOME or HOME)", id);
    const char *slash = strchr(id, '/');
    const char *at = strchr(id, '@');
    const char *rev = at ? at + 1 : "main";
    int name_len = (int)((at ? at : id + strlen(id)) - slash - 1);
    if (!pathf(repo, sizeof repo, "%s/models--%.*s--%.*s", root, (int)(slash - id), id,
               name_len, slash + 1) ||
        !pathf(ref, sizeof ref, "%s/refs/%s", repo, rev))
        return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: cache path too long", id);
    if (!is_dir(repo))
        return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                    "HF cache %s has no models--%.*s--%.*s (download %.*s first; pictor "
                    "never downloads)",
                    root, (int)(slash - id), id, name_len, slash + 1,
                    (int)(slash - id) + 1 + name_len, id);
    if (is_file(ref)) {
        int rc = read_ref(ref, commit, err, errlen);
        if (rc != PICTOR_OK)
            return rc;
    } else {
        /* a commit hash given directly */
        if (!pathf(commit, sizeof commit, "%s", rev))
            return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: revision too long", id);
        if (!at || !pathf(ref, sizeof ref, "%s/snapshots/%s", repo, rev) || !is_dir(ref))
            return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND, "%s: refs/%s missing", repo, rev);
    }
    if (!pathf(out, outlen, "%s/snapshots/%s", repo, commit))
        return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: snapshot path too long", repo);
    if (!is_dir(out))
        return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND, "%s: snapshot %s (refs/%s) missing",
                    repo, commit, rev);
    return PICTOR_OK;
}

/* ---- folders ------------------------------------------------------------- */

static struct pictor_model_component *add_comp(struct md_impl *m)
{
    if (m->pub.n_components == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        struct pictor_model_component *grown = realloc(m->comps, cap * sizeof *grown);
        if (!grown)
            return NULL;
        m->comps = grown;
        m->cap = cap;
    }
    m->pub.components = m->comps;
    struct pictor_model_component *c = &m->comps[m->pub.n_components++];
    memset(c, 0, sizeof *c);
    return c;
}

static const char *find_config(struct md_impl *m, const char *dir)
{
    static const char *const names[] = {"config.json", "scheduler_config.json",
                                        "tokenizer_config.json", "preprocessor_config.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX];
        if (pathf(p, sizeof p, "%s/%s", dir, names[i]) && is_file(p))
            return keepf(m, "%s", p);
    }
    return NULL;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int open_diffusers(struct md_impl *m, const char *index, char *err, size_t errlen)
{
    struct json_object *root = NULL;
    int rc = pictor_json_load(index, &root, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    if (!json_object_is_type(root, json_type_object)) {
        rc = pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: not a JSON object", index);
        goto out;
    }
    const char *cls = pictor_json_str(root, "_class_name");
    m->pub.layout = PICTOR_MODEL_DIFFUSERS;
    m->pub.class_name = keepf(m, "%s", cls ? cls : "");
    json_object_object_foreach(root, key, val) {
        if (key[0] == '_' || !json_object_is_type(val, json_type_array) ||
            json_object_array_length(val) != 2)
            continue;
        struct json_object *lib = json_object_array_get_idx(val, 0);
        struct json_object *klass = json_object_array_get_idx(val, 1);
        if (!json_object_is_type(lib, json_type_string) ||
            !json_object_is_type(klass, json_type_string))
            continue; /* [null, null]: optional part not shipped */
        struct pictor_model_component *c = add_comp(m);
        if (!c || !(c->name = keepf(m, "%s", key)) ||
            !(c->path = keepf(m, "%s/%s", m->pub.root, key)) ||
            !(c->library = keepf(m, "%s", json_object_get_string(lib))) ||
            !(c->class_name = keepf(m, "%s", json_object_get_string(klass)))) {
            rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", index);
            goto out;
        }
        if (!is_dir(c->path)) {
            rc = pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                      "%s lists component '%s' (%s) but folder %s is missing", index, key,
                      c->class_name, c->path);
            goto out;
        }
        c->config = find_config(m, c->path);
    }
out:
    json_object_put(root);
    return rc;
}

static int open_component(struct md_impl *m, const char *config, char *err, size_t errlen)
{
    struct json_object *root = NULL;
    int rc = pictor_json_load(config, &root, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    const char *cls = pictor_json_str(root, "_class_name");
    struct json_object *arch;
    if (!cls && json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "architectures", &arch) &&
        json_object_is_type(arch, json_type_array) && json_object_array_length(arch) > 0 &&
        json_object_is_type(json_object_array_get_idx(arch, 0), json_type_string))
        cls = json_object_get_string(json_object_array_get_idx(arch, 0));
    const char *lib = pictor_json_str(root, "_diffusers_version")    ? "diffusers"
                      : pictor_json_str(root, "transformers_version") ? "transformers"
                                                                      : "";
    struct pictor_model_component *c = add_comp(m);
    m->pub.layout = PICTOR_MODEL_COMPONENT;
    if (!c || !(m->pub.class_name = keepf(m, "%s", cls ? cls : "")) ||
        !(c->name = keepf(m, "%s", base_name(m->pub.root))) ||
        !(c->path = keepf(m, "%s", m->pub.root)) || !(c->config = keepf(m, "%s", config)) ||
        !(c->library = keepf(m, "%s", lib)))
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", config);
    else
        c->class_name = m->pub.class_name;
    json_object_put(root);
    return rc;
}

static int open_file(struct md_impl *m, char *err, size_t errlen)
{
    struct pictor_model_component *c = add_comp(m);
    m->pub.layout = PICTOR_MODEL_FILE;
    if (!c || !(c->name = keepf(m, "%s", base_name(m->pub.root))) ||
        !(c->path = keepf(m, "%s", m->pub.root)) || !(c->library = keepf(m, "%s", "")) ||
        !(c->class_name = keepf(m, "%s", "")) || !(m->pub.class_name = c->class_name))
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", m->pub.root);
    return PICTOR_OK;
}

/* Fills m from the folder or file m->pub.root. */
static int open_path(struct md_impl *m, char *err, size_t errlen)
{
    const char *root = m->pub.root;
    struct stat sb;
    if (stat(root, &sb) != 0)
        return pictor_fail(err, errlen, errno == ENOENT ? PICTOR_E_NOT_FOUND : PICTOR_E_IO, "%s: %s",
                    root, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return open_file(m, err, errlen);
    char p[PATH_MAX];
    if (pathf(p, sizeof p, "%s/model_index.json", root) && is_file(p))
        return open_diffusers(m, p, err, errlen);
    if (pathf(p, sizeof p, "%s/config.json", root) && is_file(p))
        return open_component(m, p, err, errlen);
    return pictor_fail(err, errlen, PICTOR_E_NOT_FOUND,
                "no model_index.json in %s (and no config.json: neither a diffusers folder "
                "nor a component folder)",
                root);
}

int pictor_model_dir_open(const char *source, const char *hf_cache,
                          struct pictor_model_dir **out, char *err, size_t errlen)
{
    int rc;
    struct stat sb;
    struct md_impl *m = calloc(1, sizeof *m);
    if (!m)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", source);
    if (!(m->pub.source = keepf(m, "%s", source))) {
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", source);
        goto out_close;
    }
    if (stat(source, &sb) == 0 || !pictor_hf_is_id(source)) {
        size_t n = strlen(source);
        while (n > 1 && source[n - 1] == '/')
            n--; /* "vae/" names the same folder as "vae" */
        m->pub.root = keepf(m, "%.*s", (int)n, source);
    } else {
        char snap[PATH_MAX];
        rc = pictor_hf_resolve(source, hf_cache, snap, sizeof snap, err, errlen);
        if (rc != PICTOR_OK)
            goto out_close;
        m->pub.root = keepf(m, "%s", snap);
        m->pub.revision = keepf(m, "%s", base_name(snap));
        if (!m->pub.revision)
            m->pub.root = NULL;
    }
    if (!m->pub.root) {
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", source);
        goto out_close;
    }
    rc = open_path(m, err, errlen);
    if (rc != PICTOR_OK)
        goto out_close;
    *out = &m->pub;
    return PICTOR_OK;
out_close:
    pictor_model_dir_close(&m->pub);
    return rc;
}
