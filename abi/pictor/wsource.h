/*
 * pictor/wsource.h — how model blocks in plugins/common get their weights:
 * a lookup callback, so a block never knows whether the tensors come from a
 * mmapped safetensors file, a sharded set or (later) the host API table.
 *
 * get() fills *out with a tensor descriptor (CPU memory, any float dtype,
 * contiguous) valid for as long as the source lives, or returns
 * PICTOR_E_NOT_FOUND. `where` names the source in messages (a file name).
 */
#ifndef PICTOR_WSOURCE_H
#define PICTOR_WSOURCE_H

#include "pictor/tensor.h"

struct pictor_wsource {
    void *ctx;
    int (*get)(void *ctx, const char *name, struct pictor_tensor *out);
    const char *(*where)(void *ctx, const char *name); /* may be NULL */
};

#endif /* PICTOR_WSOURCE_H */
