/*
 * plugins/flux/flux_fp8.c — FP8 weights for the FLUX transformer
 * (cfg.fp8_linears): every 2-D tensor of the double and single blocks is a
 * linear weight, quantised to E4M3 with one scale per output channel right
 * after it is loaded (so loading never holds more than one 16-bit block
 * weight on the device: flux_transformer.c). The
 * embedders, norm_out and proj_out stay in the compute dtype: they are
 * small, and the first and last layers are the most sensitive to error.
 * The input of FP8 linears (the AdaLN outputs feeding q/k/v, proj_mlp and
 * the FF up-projection) is quantised once per token by the AdaLN op itself:
 * flux_fp8_input makes the FP8 rows view that flux_modulate writes into.
 */
#include <string.h>

#include "flux_internal.h"
#include "pictor/fp8_linear.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

bool flux_fp8_weight(const char *name, int ndim)
{
    return ndim == 2 && (strncmp(name, "transformer_blocks.", 19) == 0 ||
                         strncmp(name, "single_transformer_blocks.", 26) == 0);
}

int flux_fp8_input(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                   pictor_tensor *out)
{
    *out = *x;
    if (!pictor_weight_is_fp8(&l->w))
        return PICTOR_OK;
    int64_t K = x->shape[x->ndim - 1], rows = pictor_tensor_numel(x) / K;
    pictor_tensor q, sc;
    int rc;
    if ((rc = flux_alloc_dtype(r, &q, PICTOR_F8_E4M3, x->ndim, x->shape)) ||
        (rc = flux_alloc_dtype(r, &sc, PICTOR_F32, 1, &rows)))
        return rc;
    *out = pictor_fp8_rows_view(&q, &sc);
    return PICTOR_OK;
}
