/*
 * tests/plugins/badentry.c — one source, several broken plugins, chosen by
 * BAD_KIND at compile time (the Makefile builds each):
 *   1 wrong major      abi_major = host major + 1
 *   2 bad signature    build_signature differs from the host's
 *   3 no entry         exports no pictor_plugin_entry at all
 *   4 unresolved       needs a symbol nobody defines (dlopen RTLD_NOW fails)
 *   5 init fails       init() returns an error with a message
 *   6 open fails       a family whose open() fails with a message
 */
#include <stdio.h>

#include "pictor/plugin.h"

#if BAD_KIND == 4
extern int pictor_symbol_that_does_not_exist(void);
int pictor_bad_use(void);
__attribute__((visibility("default"))) int pictor_bad_use(void)
{
    return pictor_symbol_that_does_not_exist();
}
#endif

__attribute__((unused)) static int bad_init(const struct pictor_host_api *h, char *err, size_t errlen)
{
    (void)h;
#if BAD_KIND == 5
    snprintf(err, errlen, "GPU driver too old for this plugin");
    return PICTOR_E_UNSUPPORTED;
#else
    (void)err;
    (void)errlen;
    return PICTOR_OK;
#endif
}

static int bad_probe(const char *dir, struct pictor_probe_result *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/failopen.marker", dir);
    FILE *f = fopen(path, "r");
    out->score = f ? 90 : 0;
    if (f)
        fclose(f);
    snprintf(out->variant, sizeof out->variant, "failopen");
    return PICTOR_OK;
}

static int bad_open(const struct pictor_open_params *p, void **model, char *err, size_t errlen)
{
    (void)p;
    *model = NULL;
    snprintf(err, errlen, "transformer/diffusion_pytorch_model.safetensors: tensor "
                          "'x_embedder.weight' is truncated");
    return PICTOR_E_FORMAT;
}

static void bad_close(void *model)
{
    (void)model;
}

__attribute__((unused)) static const struct pictor_family_iface family = {
    .struct_size = sizeof(struct pictor_family_iface),
    .probe = bad_probe,
    .open = bad_open,
    .close = bad_close,
};

#if BAD_KIND != 3
PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {
    .struct_size = sizeof(struct pictor_plugin_entry),
    .abi_major = PICTOR_ABI_MAJOR + (BAD_KIND == 1),
    .abi_minor = PICTOR_ABI_MINOR,
    .build_signature = PICTOR_BUILD_SIGNATURE ^ (BAD_KIND == 2 ? 0x10000u : 0u),
    .kind = PICTOR_PLUGIN_FAMILY,
    .name = "bad" BAD_NAME,
    .version = "1.0",
    .init = bad_init,
    .family = &family,
};
#else
__attribute__((visibility("default"))) const int pictor_something_else = 1;
#endif
