/*
 * kernels/src/ops_fused.c — the public wrappers of the fused FLUX ops of
 * pictor/ops.h (AdaLN modulation, gated residual, QK RMSNorm + RoPE):
 * validate every operand with the helpers of ops_check.h, fill a
 * pictor_op_args and dispatch to the backend's slot. Failures leave
 * "<op>: <operand> <shape dtype>: <problem>" in pictor_backend_error(be).
 */
#include "pictor/ops.h"

#include "ops_check.h"

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
        (rc = ops_check_broadcast(be, op, "shift", shift, "x", x)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
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
