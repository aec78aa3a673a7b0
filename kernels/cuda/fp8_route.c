/*
 * kernels/cuda/fp8_route.c — the FP8 scaling route (fp8_route.h). Pure C:
 * built in every configuration.
 */
#include "fp8_route.h"

#include <string.h>

#include "gemm_map.h"
#include "pictor/backend.h"
#include "pictor/tensor.h"

const char *const fp8_why_names[FP8_WHY_COUNT] = {
    [FP8_WHY_NONE] = "none",       [FP8_WHY_FORCED] = "forced",
    [FP8_WHY_ARCH] = "arch",       [FP8_WHY_LIBRARY] = "library",
    [FP8_WHY_SCALES] = "scales",   [FP8_WHY_ALIGN] = "align",
    [FP8_WHY_ACT] = "act",         [FP8_WHY_BIAS] = "bias",
    [FP8_WHY_DTYPE] = "dtype",     [FP8_WHY_GATE] = "gate",
};

bool fp8_scaling_parse(const char *value, enum fp8_scaling *out)
{
    *out = FP8_SCALING_AUTO;
    if (!value || !value[0] || strcmp(value, "auto") == 0)
        return true;
    if (strcmp(value, "epilogue") == 0) {
        *out = FP8_SCALING_EPILOGUE;
        return true;
    }
    return false;
}

int fp8_route_bias_dtype(int y_dtype)
{
    return y_dtype == PICTOR_F32 ? PICTOR_BF16 : y_dtype;
}

static bool aligned(const void *p)
{
    return ((uintptr_t)p % FP8_SCALE_ALIGN) == 0;
}

/* The reason the call cannot take outer_vec, FP8_WHY_NONE when it can. */
static enum fp8_why why_not(const struct fp8_route_in *in)
{
    int y = in->y_dtype;

    if (in->mode == FP8_SCALING_EPILOGUE)
        return FP8_WHY_FORCED;
    if (in->sm != FP8_OUTER_VEC_SM)
        return FP8_WHY_ARCH;
    if (in->lt_version < FP8_OUTER_VEC_MIN_LT)
        return FP8_WHY_LIBRARY;
    if (!in->row_scale || !in->col_scale)
        return FP8_WHY_SCALES;
    if (!aligned(in->row_scale) || !aligned(in->col_scale))
        return FP8_WHY_ALIGN;
    if ((y != PICTOR_F32 && y != PICTOR_F16 && y != PICTOR_BF16) ||
        (in->gated && y != PICTOR_F32))
        return FP8_WHY_DTYPE;
    if (in->act >= 0 && in->act != PICTOR_UNARY_GELU_TANH)
        return FP8_WHY_ACT;
    if (in->gated && (!in->gate_uniform || in->act >= 0))
        return FP8_WHY_GATE;
    /* A gated call's bias is rewritten (gate ⊙ bias, bf16) by the fold. */
    if (in->has_bias && !in->gated && (in->bias_dtype != fp8_route_bias_dtype(y) ||
                         (in->bias_len > 1 && in->bias_stride != 1)))
        return FP8_WHY_BIAS;
    return FP8_WHY_NONE;
}

void fp8_route_pick(const struct fp8_route_in *in, struct fp8_route *out)
{
    memset(out, 0, sizeof *out);
    out->why = why_not(in);
    out->outer_vec = out->why == FP8_WHY_NONE;
    if (!out->outer_vec)
        return;
    if (in->has_bias) {
        out->epilogue |= GEMM_EPI_BIAS;
        out->bias_dtype = fp8_route_bias_dtype(in->y_dtype);
    }
    if (in->act == PICTOR_UNARY_GELU_TANH)
        out->epilogue |= GEMM_EPI_GELU;
    out->accumulate = in->gated;
}
