/* core/lib/host_weights.c — see host_weights.h. A path that holds a
 * random-weights.tsv (pictor/weights_random.h) opens as the synthetic
 * source instead of safetensors; the other calls tell the two kinds apart
 * by the wsource's get function. */
#include "host_weights.h"

#include <string.h>

#include "pictor/status.h"
#include "pictor/weights.h"
#include "pictor/weights_random.h"

int pictor_host_weights_open(const char *path, bool prefer_fp16_variant,
                             struct pictor_wsource *out, char *err, size_t errlen)
{
    struct pictor_weights *w = NULL;
    memset(out, 0, sizeof *out);
    if (pictor_wrandom_present(path)) {
        struct pictor_wrandom *r = NULL;
        int rrc = pictor_wrandom_open(path, &r, err, errlen);
        if (rrc == PICTOR_OK)
            *out = pictor_wrandom_wsource(r);
        return rrc;
    }
    int rc = pictor_weights_open(path, prefer_fp16_variant, &w, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    *out = pictor_weights_wsource(w); /* ctx is the set itself */
    return PICTOR_OK;
}

int pictor_host_weights_peek(const char *path, struct pictor_wsource *out, char *err,
                             size_t errlen)
{
    /* Opening maps files and parses headers only: no tensor data is read
     * (a random source generates data only on get). */
    return pictor_host_weights_open(path, false, out, err, errlen);
}

void pictor_host_weights_close(struct pictor_wsource *src)
{
    if (!src)
        return;
    if (pictor_wrandom_is_wsource(src))
        pictor_wrandom_close(src->ctx);
    else
        pictor_weights_close(src->ctx);
    memset(src, 0, sizeof *src);
}

size_t pictor_host_weights_count(const struct pictor_wsource *src)
{
    return pictor_wrandom_is_wsource(src) ? pictor_wrandom_count(src->ctx)
                                          : pictor_weights_count(src->ctx);
}

const char *pictor_host_weights_name(const struct pictor_wsource *src, size_t i)
{
    return pictor_wrandom_is_wsource(src) ? pictor_wrandom_name(src->ctx, i)
                                          : pictor_weights_name(src->ctx, i);
}
