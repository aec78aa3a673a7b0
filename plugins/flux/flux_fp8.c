/*
 * plugins/flux/flux_fp8.c — FP8 weights for the FLUX transformer
 * (cfg.fp8_linears): every 2-D tensor of the double and single blocks is a
 * linear weight, quantised to E4M3 with one scale per output channel
 * after loading (walking the same tensor list the loader walked). The
 * embedders, norm_out and proj_out stay in the compute dtype: they are
 * small, and the first and last layers are the most sensitive to error.
 */
#include <string.h>

#include "flux_internal.h"

static bool in_blocks(const char *name)
{
    return strncmp(name, "transformer_blocks.", 19) == 0 ||
           strncmp(name, "single_transformer_blocks.", 26) == 0;
}

static void quantize_one(void *ctx, pictor_tensor *slot, const char *name, int ndim,
                         const int64_t *shape)
{
    (void)shape;
    if (slot && ndim == 2 && in_blocks(name))
        pictor_params_quantize_rows(ctx, slot, name);
}

void flux_quantize_blocks(struct pictor_flux_transformer *m)
{
    flux_for_each_param(&m->cfg, m, quantize_one, &m->params);
}
