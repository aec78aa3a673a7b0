/*
 * kernels/src/ops_quant.c — the FP8 quantisation wrappers of pictor/ops.h:
 * pictor_quantize_rows (validated, then the backend's slot) and the view
 * helper pictor_fp8_rows_view.
 */
#include "pictor/ops.h"

#include "ops_check.h"
#include "pictor/tensor_util.h"

int pictor_quantize_rows(pictor_backend *be, const pictor_tensor *x, pictor_tensor *y,
                         pictor_tensor *scales)
{
    const char *op = pictor_op_names[PICTOR_OP_QUANTIZE_ROWS];
    struct pictor_op_args args = { .op = PICTOR_OP_QUANTIZE_ROWS };
    int64_t K, rows;
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "scales", scales, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    if (y->dtype != PICTOR_F8_E4M3 || y->scale != 1.0f || !pictor_tensor_is_contiguous(y))
        return ops_bad(be, op, "y", y, "must be a contiguous f8_e4m3 tensor with scale 1");
    K = x->shape[x->ndim - 1];
    rows = K ? pictor_tensor_numel(x) / K : 0;
    if (scales->dtype != PICTOR_F32 || scales->ndim != 1 || scales->shape[0] != rows ||
        scales->stride[0] != 1)
        return ops_bad(be, op, "scales", scales, "must be a contiguous f32 [%lld] (one per row)",
                       (long long)rows);
    if (K == 0 || rows == 0)
        return PICTOR_OK;
    args.u.quantize_rows.x = x;
    args.u.quantize_rows.y = y;
    args.u.quantize_rows.scales = scales;
    return ops_dispatch(be, &args);
}

pictor_tensor pictor_fp8_rows_view(const pictor_tensor *y, const pictor_tensor *scales)
{
    int64_t K = y->ndim ? y->shape[y->ndim - 1] : 1;
    int64_t shape[2] = { K ? pictor_tensor_numel(y) / K : 0, K };
    pictor_tensor v = pictor_tensor_make(y->data, y->dtype, 2, shape);

    v.device = y->device;
    v.device_index = y->device_index;
    v.scale = y->scale;
    v.row_scale = (const float *)scales->data;
    return v;
}
