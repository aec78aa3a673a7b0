/* plugins/common/common_host.c — see pictor/common_host.h. */
#include "pictor/common_host.h"

static const struct pictor_host_api *common_host;

void pictor_common_set_host(const struct pictor_host_api *host)
{
    common_host = host;
}

const struct pictor_host_api *pictor_common_host(void)
{
    return common_host;
}
