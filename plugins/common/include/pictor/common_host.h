/*
 * pictor/common_host.h — the host API table as plugins/common sees it.
 * A family plugin's init() hands its host table to pictor_common_set_host;
 * the `pictor` CLI does the same with core's default table, so the shared
 * blocks and their evaluators reach weights (host->weights_open) and the
 * log the same way in every program. Set once before use, read from any
 * thread afterwards.
 */
#ifndef PICTOR_COMMON_HOST_H
#define PICTOR_COMMON_HOST_H

#include "pictor/plugin.h"

void pictor_common_set_host(const struct pictor_host_api *host);
/* The table set above; NULL before pictor_common_set_host. */
const struct pictor_host_api *pictor_common_host(void);

#endif /* PICTOR_COMMON_HOST_H */
