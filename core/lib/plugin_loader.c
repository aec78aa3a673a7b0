/* core/lib/plugin_loader.c — see pictor/plugins.h. */
#include "pictor/plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry fields of ABI 1.0 end where the 1.1 field `eval` starts. */
#define ENTRY_SIZE_1_0 offsetof(struct pictor_plugin_entry, eval)
/* The family fields of ABI 1.0 end where the 1.2 field `preview` starts. */
#define FAMILY_SIZE_1_0 offsetof(struct pictor_family_iface, preview)
/* The scheduler fields of ABI 1.0 end where the 1.3 field `linear_step`
 * starts. */
#define SCHEDULER_SIZE_1_0 offsetof(struct pictor_scheduler_iface, linear_step)

struct pictor_plugin_set {
    struct pictor_host_api host;
    struct pictor_plugin **items;
    size_t n, cap;
};

int pictor_plugins_create(const struct pictor_host_api *host,
                          struct pictor_plugin_set **out)
{
    struct pictor_plugin_set *s = calloc(1, sizeof *s);
    if (!s)
        return PICTOR_E_NOMEM;
    s->host = *host;
    *out = s;
    return PICTOR_OK;
}

static int reject(struct pictor_plugin_set *s, int status, char *err, size_t errlen,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int reject(struct pictor_plugin_set *s, int status, char *err, size_t errlen,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    s->host.log(PICTOR_LOG_WARN, "loader", "%s", msg);
    return status;
}

/* Copies min(src_size, dst_size) bytes, zero-filling the rest. */
static void copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size)
{
    memset(dst, 0, dst_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

static int check_entry(struct pictor_plugin_set *s, const char *path,
                       const struct pictor_plugin_entry *e, struct pictor_plugin *p,
                       char *err, size_t errlen)
{
    /* struct_size, abi_major and abi_minor are at fixed offsets in every
     * version; read them before trusting anything else. */
    if (e->struct_size < ENTRY_SIZE_1_0)
        return reject(s, PICTOR_E_FORMAT, err, errlen,
                      "%s: entry struct_size %u is smaller than ABI 1.0's %zu: rejected",
                      path, e->struct_size, (size_t)ENTRY_SIZE_1_0);
    if (e->abi_major != PICTOR_ABI_MAJOR)
        return reject(s, PICTOR_E_UNSUPPORTED, err, errlen,
                      "%s: plugin ABI %u.%u, host ABI %d.%d: different major, rejected",
                      path, e->abi_major, e->abi_minor, PICTOR_ABI_MAJOR, PICTOR_ABI_MINOR);
    if (e->build_signature != PICTOR_BUILD_SIGNATURE)
        return reject(s, PICTOR_E_UNSUPPORTED, err, errlen,
                      "%s: build signature %#llx (plugin, ABI %u.%u) differs from the host's "
                      "%#llx (ABI %d.%d): rebuild the plugin against this pictor; rejected",
                      path, (unsigned long long)e->build_signature, e->abi_major, e->abi_minor,
                      (unsigned long long)PICTOR_BUILD_SIGNATURE, PICTOR_ABI_MAJOR,
                      PICTOR_ABI_MINOR);
    copy_sized(&p->entry, sizeof p->entry, e, e->struct_size);
    /* A plugin that claims an older minor gets no field it did not have. */
    if (e->abi_minor < 1) {
        p->entry.eval = NULL;
        p->entry.eval_components = NULL;
    }
    if (!p->entry.name || !*p->entry.name)
        return reject(s, PICTOR_E_FORMAT, err, errlen, "%s: entry has no name: rejected", path);
    if (p->entry.kind == PICTOR_PLUGIN_FAMILY) {
        const struct pictor_family_iface *f = p->entry.family;
        if (!f || f->struct_size < offsetof(struct pictor_family_iface, close) + sizeof f->close)
            return reject(s, PICTOR_E_FORMAT, err, errlen,
                          "%s: family plugin '%s' has no (or a too small) family table",
                          path, p->entry.name);
        copy_sized(&p->family, sizeof p->family, f, f->struct_size);
        if (!p->family.probe || !p->family.open || !p->family.close)
            return reject(s, PICTOR_E_FORMAT, err, errlen,
                          "%s: family plugin '%s' lacks probe/open/close", path, p->entry.name);
    } else if (p->entry.kind == PICTOR_PLUGIN_SCHEDULER) {
        const struct pictor_scheduler_iface *sc = p->entry.scheduler;
        if (!sc || sc->struct_size < SCHEDULER_SIZE_1_0)
            return reject(s, PICTOR_E_FORMAT, err, errlen,
                          "%s: scheduler plugin '%s' has no (or a too small) scheduler table",
                          path, p->entry.name);
        copy_sized(&p->scheduler, sizeof p->scheduler, sc, sc->struct_size);
        if (e->abi_minor < 3)
            p->scheduler.linear_step = NULL;
        if (!p->scheduler.create || !p->scheduler.set_timesteps || !p->scheduler.step ||
            !p->scheduler.destroy || !p->scheduler.timesteps || !p->scheduler.sigmas)
            return reject(s, PICTOR_E_FORMAT, err, errlen,
                          "%s: scheduler plugin '%s' lacks a required function", path,
                          p->entry.name);
    } else {
        return reject(s, PICTOR_E_FORMAT, err, errlen, "%s: unknown plugin kind %u: rejected",
                      path, p->entry.kind);
    }
    if (pictor_plugins_find(s, (int)p->entry.kind, p->entry.name))
        return reject(s, PICTOR_E_INVALID, err, errlen,
                      "%s: a %s plugin named '%s' is already loaded: rejected", path,
                      p->entry.kind == PICTOR_PLUGIN_FAMILY ? "family" : "scheduler",
                      p->entry.name);
    return PICTOR_OK;
}

int pictor_plugins_load_file(struct pictor_plugin_set *s, const char *path, char *err,
                             size_t errlen)
{
    struct pictor_plugin *p = calloc(1, sizeof *p);
    if (!p)
        return reject(s, PICTOR_E_NOMEM, err, errlen, "%s: out of memory", path);
    snprintf(p->path, sizeof p->path, "%s", path);
    int rc;
    dlerror();
    p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->dl) {
        const char *e = dlerror();
        rc = reject(s, PICTOR_E_IO, err, errlen, "%s: dlopen failed: %s", path, e ? e : "?");
        goto fail;
    }
    dlerror();
    const struct pictor_plugin_entry *e = dlsym(p->dl, PICTOR_PLUGIN_ENTRY_SYMBOL);
    if (!e) {
        const char *de = dlerror();
        rc = reject(s, PICTOR_E_NOT_FOUND, err, errlen, "%s: no '%s' symbol (%s): rejected",
                    path, PICTOR_PLUGIN_ENTRY_SYMBOL, de ? de : "null");
        goto fail;
    }
    if ((rc = check_entry(s, path, e, p, err, errlen)) != PICTOR_OK)
        goto fail;
    if (p->entry.init) {
        char ierr[512] = "";
        rc = p->entry.init(&s->host, ierr, sizeof ierr);
        if (rc != PICTOR_OK) {
            rc = reject(s, rc < 0 ? rc : PICTOR_E_INVALID, err, errlen,
                        "%s: plugin '%s' init failed: %s", path, p->entry.name,
                        ierr[0] ? ierr : pictor_status_name(rc));
            goto fail;
        }
    }
    p->initialised = true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct pictor_plugin **n = realloc(s->items, cap * sizeof *n);
        if (!n) {
            rc = reject(s, PICTOR_E_NOMEM, err, errlen, "%s: out of memory", path);
            goto fail;
        }
        s->items = n;
        s->cap = cap;
    }
    s->items[s->n++] = p;
    s->host.log(PICTOR_LOG_DEBUG, "loader", "%s: loaded %s plugin '%s' %s (ABI %u.%u)", path,
                p->entry.kind == PICTOR_PLUGIN_FAMILY ? "family" : "scheduler", p->entry.name,
                p->entry.version ? p->entry.version : "", p->entry.abi_major,
                p->entry.abi_minor);
    return PICTOR_OK;
fail:
    if (p->initialised && p->entry.deinit)
        p->entry.deinit();
    if (p->dl)
        dlclose(p->dl);
    free(p);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pictor_plugins_load_dir(struct pictor_plugin_set *s, const char *dir, char *err,
                            size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "plugin folder %s: cannot open: %m", dir);
        return PICTOR_E_IO;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = PICTOR_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = PICTOR_E_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = PICTOR_E_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == PICTOR_OK) {
            char path[4096], ignored[512];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            pictor_plugins_load_file(s, path, ignored, sizeof ignored);
        }
        free(names[i]);
    }
    free(names);
    if (rc != PICTOR_OK)
        snprintf(err, errlen, "plugin folder %s: out of memory", dir);
    return rc;
}

void pictor_plugins_unload(struct pictor_plugin_set *s)
{
    if (!s)
        return;
    for (size_t i = s->n; i-- > 0;) {
        struct pictor_plugin *p = s->items[i];
        if (p->initialised && p->entry.deinit)
            p->entry.deinit();
        dlclose(p->dl);
        free(p);
    }
    free(s->items);
    free(s);
}

size_t pictor_plugins_count(const struct pictor_plugin_set *s)
{
    return s->n;
}

const struct pictor_plugin *pictor_plugins_at(const struct pictor_plugin_set *s, size_t i)
{
    return i < s->n ? s->items[i] : NULL;
}

const struct pictor_plugin *pictor_plugins_find(const struct pictor_plugin_set *s, int kind,
                                                const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if ((int)s->items[i]->entry.kind == kind && strcmp(s->items[i]->entry.name, name) == 0)
            return s->items[i];
    return NULL;
}

int pictor_plugins_probe(const struct pictor_plugin_set *s, const char *model_dir,
                         const struct pictor_plugin **best, struct pictor_probe_result *result,
                         char *err, size_t errlen)
{
    *best = NULL;
    int best_score = 0;
    size_t used = 0;
    char tried[512] = "";
    for (size_t i = 0; i < s->n; i++) {
        const struct pictor_plugin *p = s->items[i];
        if (p->entry.kind != PICTOR_PLUGIN_FAMILY)
            continue;
        struct pictor_probe_result r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        int rc = p->family.probe(model_dir, &r);
        if (used < sizeof tried)
            used += (size_t)snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "",
                                     p->entry.name);
        if (rc == PICTOR_OK && r.score > best_score && r.score <= 100) {
            best_score = r.score;
            *best = p;
            *result = r;
        }
    }
    if (!*best) {
        snprintf(err, errlen, "%s: no family plugin recognises this model (tried: %s)", model_dir,
                 tried[0] ? tried : "no family plugin loaded");
        return PICTOR_E_NOT_FOUND;
    }
    return PICTOR_OK;
}

static bool component_matches(const char *pattern, const char *component)
{
    size_t len = strlen(pattern);
    bool prefix = len && pattern[len - 1] == '.';
    if (!prefix)
        return strcmp(pattern, component) == 0;
    return strncmp(pattern, component, len) == 0 && component[len] != '\0';
}

pictor_eval_fn pictor_plugins_find_eval(const struct pictor_plugin_set *s, const char *component,
                                        const struct pictor_plugin **owner)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct pictor_plugin *p = s->items[i];
        if (!p->entry.eval || !p->entry.eval_components)
            continue;
        for (const char *const *c = p->entry.eval_components; *c; c++) {
            if (component_matches(*c, component)) {
                if (owner)
                    *owner = p;
                return p->entry.eval;
            }
        }
    }
    return NULL;
}

bool pictor_scheduler_compatible(uint32_t family_prediction, uint32_t scheduler_prediction)
{
    return (family_prediction & scheduler_prediction) != 0;
}

static const char *prediction_words(uint32_t p)
{
    if (p & PICTOR_PREDICT_FLOW)
        return (p & (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)) ? "flow and epsilon/v" : "flow";
    if (p & (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V))
        return "epsilon/v";
    return "nothing";
}

int pictor_plugins_pick_scheduler(const struct pictor_plugin_set *s, const char *family_name,
                                  const struct pictor_family_defaults *d, const char *requested,
                                  const struct pictor_plugin **out, char *err, size_t errlen)
{
    const char *name = requested && *requested ? requested : d->scheduler;
    char ok[512] = "";
    size_t used = 0;
    *out = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct pictor_plugin *p = s->items[i];
        if (p->entry.kind == PICTOR_PLUGIN_SCHEDULER &&
            pictor_scheduler_compatible(d->prediction, p->scheduler.prediction) &&
            used < sizeof ok)
            used += (size_t)snprintf(ok + used, sizeof ok - used, "%s%s", used ? ", " : "",
                                     p->entry.name);
    }
    const struct pictor_plugin *p = pictor_plugins_find(s, PICTOR_PLUGIN_SCHEDULER, name);
    if (!p) {
        snprintf(err, errlen, "no scheduler '%s' is loaded (for %s: %s)", name, family_name,
                 ok[0] ? ok : "none loaded");
        return PICTOR_E_NOT_FOUND;
    }
    if (!pictor_scheduler_compatible(d->prediction, p->scheduler.prediction)) {
        snprintf(err, errlen, "scheduler '%s' drives %s models; %s predicts %s (use: %s)", name,
                 prediction_words(p->scheduler.prediction), family_name,
                 prediction_words(d->prediction), ok[0] ? ok : "none loaded");
        return PICTOR_E_INVALID;
    }
    *out = p;
    return PICTOR_OK;
}
