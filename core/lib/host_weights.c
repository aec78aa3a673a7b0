/* core/lib/host_weights.c — see host_weights.h. */
#include "host_weights.h"

#include <string.h>

#include "pictor/status.h"
#include "pictor/weights.h"

int pictor_host_weights_open(const char *path, bool prefer_fp16_variant,
                             struct pictor_wsource *out, char *err, size_t errlen)
{
    struct pictor_weights *w = NULL;
    memset(out, 0, sizeof *out);
    int rc = pictor_weights_open(path, prefer_fp16_variant, &w, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    *out = pictor_weights_wsource(w); /* ctx is the set itself */
    return PICTOR_OK;
}

int pictor_host_weights_peek(const char *path, struct pictor_wsource *out, char *err,
                             size_t errlen)
{
    /* Opening maps files and parses headers only: no tensor data is read. */
    return pictor_host_weights_open(path, false, out, err, errlen);
}

void pictor_host_weights_close(struct pictor_wsource *src)
{
    if (!src)
        return;
    pictor_weights_close(src->ctx);
    memset(src, 0, sizeof *src);
}

size_t pictor_host_weights_count(const struct pictor_wsource *src)
{
    return pictor_weights_count(src->ctx);
}

const char *pictor_host_weights_name(const struct pictor_wsource *src, size_t i)
{
    return pictor_weights_name(src->ctx, i);
}
