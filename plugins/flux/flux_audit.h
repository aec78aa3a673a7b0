/*
 * plugins/flux/flux_audit.h — accounting for every tensor of a component:
 * a weight source wrapper that records which names a block's loader asked
 * for, then lists the names the component holds that nobody asked for and
 * that are not known to be unused (the VAE's encoder half, T5's tied
 * embedding copy, CLIP's position_ids buffer). flux_open logs them by name
 * as a warning: a checkpoint with extra tensors still loads, but an
 * operator sees what was ignored (missing or misshapen tensors are errors
 * of the loaders themselves). Thread: [worker], one recorder per open.
 */
#ifndef PICTOR_FLUX_AUDIT_H
#define PICTOR_FLUX_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/wsource.h"

struct flux_recorder {
    const struct pictor_wsource *inner;
    struct pictor_wsource self; /* hand this to the block's open */
    char **names;
    size_t n, cap;
};

void flux_recorder_init(struct flux_recorder *r, const struct pictor_wsource *inner);
void flux_recorder_free(struct flux_recorder *r);

/* Names listed by count/name over `listed` that the recorder did not see
 * and `known_unused` does not excuse, comma-separated into msg (truncated
 * with "..." when long). Returns how many. */
size_t flux_recorder_unexpected(const struct flux_recorder *r, const struct pictor_wsource *listed,
                                size_t (*count)(const struct pictor_wsource *),
                                const char *(*name)(const struct pictor_wsource *, size_t),
                                bool (*known_unused)(const char *name), char *msg,
                                size_t msglen);

#endif /* PICTOR_FLUX_AUDIT_H */
