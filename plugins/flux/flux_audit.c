/* plugins/flux/flux_audit.c — see flux_audit.h. */
#include "flux_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"

static int rec_get(void *ctx, const char *name, struct pictor_tensor *out)
{
    struct flux_recorder *r = ctx;
    int rc = r->inner->get(r->inner->ctx, name, out);
    if (rc != PICTOR_OK)
        return rc;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        char **nn = realloc(r->names, cap * sizeof *nn);
        if (!nn)
            return rc; /* accounting is best effort; the load itself goes on */
        r->names = nn;
        r->cap = cap;
    }
    if ((r->names[r->n] = strdup(name)))
        r->n++;
    return rc;
}

static const char *rec_where(void *ctx, const char *name)
{
    struct flux_recorder *r = ctx;
    return r->inner->where ? r->inner->where(r->inner->ctx, name) : NULL;
}

void flux_recorder_init(struct flux_recorder *r, const struct pictor_wsource *inner)
{
    memset(r, 0, sizeof *r);
    r->inner = inner;
    r->self = (struct pictor_wsource){r, rec_get, rec_where};
}

void flux_recorder_free(struct flux_recorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->names[i]);
    free(r->names);
    memset(r, 0, sizeof *r);
}

static bool seen(const struct flux_recorder *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return true;
    return false;
}

size_t flux_recorder_unexpected(const struct flux_recorder *r, const struct pictor_wsource *listed,
                                size_t (*count)(const struct pictor_wsource *),
                                const char *(*name)(const struct pictor_wsource *, size_t),
                                bool (*known_unused)(const char *name), char *msg,
                                size_t msglen)
{
    size_t bad = 0, used = 0, n = count(listed);
    if (msglen)
        msg[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *nm = name(listed, i);
        if (!nm || seen(r, nm) || (known_unused && known_unused(nm)))
            continue;
        if (used + 8 < msglen) {
            int w = snprintf(msg + used, msglen - used, "%s%s", bad ? ", " : "", nm);
            if (w > 0 && used + (size_t)w < msglen)
                used += (size_t)w;
            else if (msglen > 4)
                snprintf(msg + msglen - 4, 4, "...");
        }
        bad++;
    }
    return bad;
}
