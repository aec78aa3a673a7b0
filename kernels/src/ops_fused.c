/*
 * kernels/src/ops_fused.c — the public wrappers of the fused FLUX ops of
 * pictor/ops.h (AdaLN modulation, gated residual, QK RMSNorm + RoPE):
 * validate every operand with the helpers of ops_check.h, fill a
 * pictor_op_args and dispatch to the backend's slot. Failures leave
 * "<op>: <operand> <shape dtype>: <problem>" in pictor_backend_error(be).
 * ada_layer_norm's y may be an FP8 rows view (quantised as it is written):
 * check_fp8_rows_y holds it to ops.h's contract.
 */
#include "pictor/ops.h"

#include "ops_check.h"
#include "pictor/tensor_util.h"

/* The bytes [*lo, *hi) that t's elements occupy (any stride signs); an
 * empty tensor occupies none (lo == hi). */
static void byte_span(const pictor_tensor *t, uintptr_t *lo, uintptr_t *hi)
{
    const int64_t es = (int64_t)pictor_dtype_size(t->dtype);
    int64_t first = 0, last = 0;

    *lo = *hi = (uintptr_t)t->data;
    if (pictor_tensor_numel(t) == 0)
        return;
    for (int d = 0; d < t->ndim; d++) {
        int64_t reach = (t->shape[d] - 1) * t->stride[d];

        if (reach < 0)
            first += reach;
        else
            last += reach;
    }
    *lo = (uintptr_t)((const char *)t->data + first * es);
    *hi = (uintptr_t)((const char *)t->data + (last + 1) * es);
}

static bool spans_overlap(uintptr_t alo, uintptr_t ahi, const pictor_tensor *b)
{
    uintptr_t blo, bhi;

    byte_span(b, &blo, &bhi);
    return alo < ahi && blo < bhi && alo < bhi && blo < ahi;
}

/* An f8_e4m3 y of ada_layer_norm: the rows view that the FP8 linears take
 * (pictor_fp8_rows_view), [numel(x) / D, D] contiguous with scale 1 and
 * per-row scales, neither overlapping an input (ops.h). */
static int check_fp8_rows_y(pictor_backend *be, const char *op, const pictor_tensor *x,
                            const pictor_tensor *scale, const pictor_tensor *shift,
                            const pictor_tensor *y)
{
    const int64_t D = x->shape[x->ndim - 1], rows = D ? pictor_tensor_numel(x) / D : 0;
    uintptr_t lo, hi, slo, shi;

    if (!y->row_scale)
        return ops_bad(be, op, "y", y, "an f8_e4m3 y needs per-row scales: pass "
                       "pictor_fp8_rows_view(codes, scales)");
    if (y->scale != 1.0f)
        return ops_bad(be, op, "y", y, "FP8 scale %g must be 1 (the row scales carry "
                       "the quantisation)", (double)y->scale);
    if (y->ndim != 2 || y->shape[0] != rows || y->shape[1] != D)
        return ops_bad(be, op, "y", y, "must be the [%lld, %lld] rows view of x "
                       "(pictor_fp8_rows_view)", (long long)rows, (long long)D);
    if (!pictor_tensor_is_contiguous(y))
        return ops_bad(be, op, "y", y, "an FP8 rows view must be contiguous");
    byte_span(y, &lo, &hi);
    slo = (uintptr_t)y->row_scale;
    shi = slo + (uintptr_t)rows * sizeof(float);
    if (spans_overlap(lo, hi, x))
        return ops_bad(be, op, "y", y, "overlaps x (quantised output is never in place)");
    if (spans_overlap(lo, hi, scale) || spans_overlap(lo, hi, shift))
        return ops_bad(be, op, "y", y, "overlaps scale or shift");
    if (spans_overlap(slo, shi, x) || spans_overlap(slo, shi, scale) ||
        spans_overlap(slo, shi, shift) || spans_overlap(slo, shi, y))
        return ops_bad(be, op, "y", y, "its row scales overlap x, scale, shift or the codes");
    return PICTOR_OK;
}

int pictor_ada_layer_norm(pictor_backend *be, const pictor_tensor *x,
                          float eps, const pictor_tensor *scale,
                          const pictor_tensor *shift, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_ADA_LAYER_NORM];
    struct pictor_op_args args = { .op = PICTOR_OP_ADA_LAYER_NORM };
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "scale", scale, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "shift", shift, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_broadcast(be, op, "scale", scale, "x", x)) ||
        (rc = ops_check_broadcast(be, op, "shift", shift, "x", x)))
        return rc;
    if (y->dtype == PICTOR_F8_E4M3)
        rc = check_fp8_rows_y(be, op, x, scale, shift, y);
    else if (y->dtype == PICTOR_F8_E5M2 && y->row_scale)
        rc = ops_bad(be, op, "y", y, "per-row quantised output is f8_e4m3 only");
    else
        rc = ops_check_same_shape(be, op, "y", y, "x", x);
    if (rc)
        return rc;
    args.u.ada_layer_norm.x = x;
    args.u.ada_layer_norm.eps = eps;
    args.u.ada_layer_norm.scale = scale;
    args.u.ada_layer_norm.shift = shift;
    args.u.ada_layer_norm.y = y;
    return ops_dispatch(be, &args);
}

int pictor_gated_add(pictor_backend *be, pictor_tensor *x,
                     const pictor_tensor *y, const pictor_tensor *gate)
{
    const char *op = pictor_op_names[PICTOR_OP_GATED_ADD];
    struct pictor_op_args args = { .op = PICTOR_OP_GATED_ADD };
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "gate", gate, OPERAND_FLOAT)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)) ||
        (rc = ops_check_broadcast(be, op, "gate", gate, "x", x)))
        return rc;
    args.u.gated_add.x = x;
    args.u.gated_add.y = y;
    args.u.gated_add.gate = gate;
    return ops_dispatch(be, &args);
}

int pictor_rms_norm_rope(pictor_backend *be, const pictor_tensor *x,
                         float eps, const pictor_tensor *weight,
                         const pictor_tensor *cos, const pictor_tensor *sin,
                         pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_RMS_NORM_ROPE];
    struct pictor_op_args args = { .op = PICTOR_OP_RMS_NORM_ROPE };
    int rc;

    if ((rc = ops_check_rope(be, op, x, cos, sin, y)) ||
        (rc = ops_check_optional(be, op, "weight", weight, OPERAND_FLOAT)) ||
        (rc = ops_check_vector(be, op, "weight", weight, x->shape[3])))
        return rc;
    args.u.rms_norm_rope.x = x;
    args.u.rms_norm_rope.eps = eps;
    args.u.rms_norm_rope.weight = weight;
    args.u.rms_norm_rope.cos = cos;
    args.u.rms_norm_rope.sin = sin;
    args.u.rms_norm_rope.y = y;
    return ops_dispatch(be, &args);
}
