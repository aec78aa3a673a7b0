/*
 * plugins/flux/flux_check.c — pictor_flux_transformer_check: the weight
 * source's names, dtypes and shapes against the tensor list of a config
 * (flux_weights.c), without reading tensor data. Every problem is reported
 * by name: "missing 'X'", "unexpected 'X'", "'X' has shape [..], expected
 * [..]", "'X' has dtype i64, expected a float type".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_bfl.h"
#include "flux_internal.h"
#include "pictor/common_host.h"
#include "pictor/tensor_util.h"

struct checker {
    const struct pictor_wsource *src;
    char *err;
    size_t errlen, used;
    int problems;
    char **names; /* expected names, for the unexpected-name pass */
    size_t n_names, cap_names;
    bool nomem;
};

static void report(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct checker *c, const char *fmt, ...)
{
    c->problems++;
    if (!c->err || c->used + 1 >= c->errlen)
        return;
    if (c->problems > 1)
        c->used += (size_t)snprintf(c->err + c->used, c->errlen - c->used, "; ");
    if (c->used + 1 >= c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    c->used += (size_t)vsnprintf(c->err + c->used, c->errlen - c->used, fmt, ap);
    va_end(ap);
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t w = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && w < len; i++)
        w += (size_t)snprintf(buf + w, len - w, "%s%lld", i ? ", " : "[", (long long)shape[i]);
    if (w < len)
        snprintf(buf + w, len - w, ndim ? "]" : "[]");
}

static void check_one(void *ctx, pictor_tensor *slot, const char *name, int ndim,
                      const int64_t *shape)
{
    struct checker *c = ctx;
    (void)slot;
    if (c->n_names == c->cap_names) {
        size_t cap = c->cap_names ? 2 * c->cap_names : 256;
        char **n = realloc(c->names, cap * sizeof *n);
        if (!n) {
            c->nomem = true;
            return;
        }
        c->names = n;
        c->cap_names = cap;
    }
    if (!(c->names[c->n_names] = strdup(name))) {
        c->nomem = true;
        return;
    }
    c->n_names++;
    pictor_tensor t;
    int rc = c->src->get(c->src->ctx, name, &t);
    if (rc == PICTOR_E_NOT_FOUND) {
        report(c, "missing '%s'", name);
        return;
    }
    if (rc != PICTOR_OK) {
        report(c, "'%s' cannot be read (status %d)", name, rc);
        return;
    }
    bool same = t.ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t.shape[i] == shape[i];
    if (!same) {
        char got[96], want[96];
        shape_str(got, sizeof got, t.ndim, t.shape);
        shape_str(want, sizeof want, ndim, shape);
        report(c, "'%s' has shape %s, expected %s", name, got, want);
    } else if (!pictor_dtype_is_float(t.dtype)) {
        report(c, "'%s' has dtype %s, expected a float type", name, pictor_dtype_name(t.dtype));
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pictor_flux_transformer_check_names(
    const struct pictor_flux_config *cfg, const struct pictor_wsource *src,
    size_t (*count)(const struct pictor_wsource *src),
    const char *(*name)(const struct pictor_wsource *src, size_t i), char *err,
    size_t errlen)
{
    int rc = pictor_flux_config_validate(cfg, err, errlen);
    if (rc)
        return rc;
    const char *where = src->where ? src->where(src->ctx, "x_embedder.weight") : NULL;
    struct checker c = {.src = src, .err = err, .errlen = errlen};
    if (err && errlen) {
        int w = snprintf(err, errlen, "flux transformer weights%s%s: ", where ? " in " : "",
                         where ? where : "");
        c.used = w < 0 ? 0 : (size_t)w;
    }
    flux_for_each_param(cfg, NULL, check_one, &c);
    if (!c.nomem && count && name) {
        qsort(c.names, c.n_names, sizeof *c.names, cmp_str);
        size_t n = count(src);
        for (size_t i = 0; i < n; i++) {
            const char *nm = name(src, i);
            if (nm && !bsearch(&nm, c.names, c.n_names, sizeof *c.names, cmp_str))
                report(&c, "unexpected '%s'", nm);
        }
    }
    for (size_t i = 0; i < c.n_names; i++)
        free(c.names[i]);
    free(c.names);
    if (c.nomem) {
        snprintf(err, errlen, "flux transformer check: out of memory");
        return PICTOR_E_NOMEM;
    }
    if (c.problems == 0) {
        if (err && errlen)
            err[0] = 0;
        return PICTOR_OK;
    }
    if (err && errlen && c.used + 1 >= errlen) { /* truncated: say how many */
        char tail[48];
        int tl = snprintf(tail, sizeof tail, " ... (%d problems)", c.problems);
        if ((size_t)tl < errlen)
            memcpy(err + errlen - 1 - tl, tail, (size_t)tl + 1);
    } else if (err && errlen) {
        snprintf(err + c.used, errlen - c.used, " (%d problem%s)", c.problems,
                 c.problems == 1 ? "" : "s");
    }
    return PICTOR_E_FORMAT;
}

int pictor_flux_transformer_check(const struct pictor_flux_config *cfg,
                                  const struct pictor_wsource *src, char *err, size_t errlen)
{
    const struct pictor_host_api *host = pictor_common_host();
    if (flux_bfl_is_wrapper(src)) /* BFL names seen as diffusers ones */
        return pictor_flux_transformer_check_names(cfg, src, flux_bfl_count, flux_bfl_name, err,
                                                   errlen);
    return pictor_flux_transformer_check_names(cfg, src, host ? host->weights_count : NULL,
                                               host ? host->weights_name : NULL, err, errlen);
}
