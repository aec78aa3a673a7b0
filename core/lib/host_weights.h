/*
 * core/lib/host_weights.h — the weights part of the default host API
 * (pictor_host_api.weights_*): a pictor_wsource over core's weights reader.
 * The wsource's ctx owns the opened set; weights_close frees it.
 * Thread: as in abi/pictor/plugin.h.
 */
#ifndef PICTOR_HOST_WEIGHTS_H
#define PICTOR_HOST_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/wsource.h"

int pictor_host_weights_open(const char *path, bool prefer_fp16_variant,
                             struct pictor_wsource *out, char *err,
                             size_t errlen);
int pictor_host_weights_peek(const char *path, struct pictor_wsource *out,
                             char *err, size_t errlen);
void pictor_host_weights_close(struct pictor_wsource *src);
size_t pictor_host_weights_count(const struct pictor_wsource *src);
const char *pictor_host_weights_name(const struct pictor_wsource *src,
                                     size_t i);

#endif
