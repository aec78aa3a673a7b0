/*
 * kernels/src/ops_quant.c — the FP8 wrappers of pictor/ops.h:
 * pictor_quantize_rows and pictor_sdpa_fp8 (validated, then the backend's
 * slot), the view helper pictor_fp8_rows_view, and pictor_op_supported.
 */
#include "pictor/ops.h"

#include <math.h>

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

/* ---- FP8 attention ------------------------------------------------------- */

/* An FP8 attention operand: E4M3 codes with a positive finite per-tensor
 * scale and no row scales. */
static int check_fp8_qk(pictor_backend *be, const char *op, const char *what,
                        const pictor_tensor *t)
{
    if (t->dtype != PICTOR_F8_E4M3 || t->row_scale || !(t->scale > 0.0f) ||
        t->scale > 3.0e38f)
        return ops_bad(be, op, what, t, "must be f8_e4m3 with a positive finite per-tensor "
                       "scale and no row scales");
    return PICTOR_OK;
}

static int check_16_32(pictor_backend *be, const char *op, const char *what,
                       const pictor_tensor *t)
{
    if (t->dtype != PICTOR_F32 && t->dtype != PICTOR_F16 && t->dtype != PICTOR_BF16)
        return ops_bad(be, op, what, t, "must be f32, f16 or bf16");
    return PICTOR_OK;
}

int pictor_sdpa_fp8(pictor_backend *be, const pictor_tensor *q, const pictor_tensor *k,
                    const pictor_tensor *v, float scale, pictor_tensor *o)
{
    const char *op = pictor_op_names[PICTOR_OP_SDPA_FP8];
    struct pictor_op_args args = { .op = PICTOR_OP_SDPA_FP8 };
    int64_t B, H, Lq, D, Lk;
    int rc;

    if ((rc = ops_check_operand(be, op, "q", q, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "k", k, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "v", v, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "o", o, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "q", q, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "k", k, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "v", v, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "o", o, 4, 4)) || (rc = check_fp8_qk(be, op, "q", q)) ||
        (rc = check_fp8_qk(be, op, "k", k)) || (rc = check_16_32(be, op, "v", v)) ||
        (rc = check_16_32(be, op, "o", o)))
        return rc;
    B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    Lk = k->shape[2];
    if (k->shape[0] != B || k->shape[1] != H || k->shape[3] != D)
        return ops_bad(be, op, "k", k, "must be [%lld, %lld, Lk, %lld]", (long long)B,
                       (long long)H, (long long)D);
    if (v->shape[0] != B || v->shape[1] != H || v->shape[2] != Lk || v->shape[3] != D)
        return ops_bad(be, op, "v", v, "must be [%lld, %lld, %lld, %lld]", (long long)B,
                       (long long)H, (long long)Lk, (long long)D);
    if (o->shape[0] != B || o->shape[1] != H || o->shape[2] != Lq || o->shape[3] != D)
        return ops_bad(be, op, "o", o, "must be [%lld, %lld, %lld, %lld]", (long long)B,
                       (long long)H, (long long)Lq, (long long)D);
    if (!isfinite(scale))
        return pictor_backend_fail(be, PICTOR_E_INVALID, "%s: scale %g is not finite", op,
                                   (double)scale);
    args.u.sdpa_fp8.q = q;
    args.u.sdpa_fp8.k = k;
    args.u.sdpa_fp8.v = v;
    args.u.sdpa_fp8.scale = scale;
    args.u.sdpa_fp8.o = o;
    if (pictor_tensor_numel(o) == 0)
        return PICTOR_OK;
    return ops_dispatch(be, &args);
}

bool pictor_op_supported(pictor_backend *be, const struct pictor_op_args *args)
{
    const struct pictor_backend_iface *iface = be->iface;

    if ((int)args->op < 0 || args->op >= PICTOR_OP_COUNT || !iface->op[args->op])
        return false;
    return !iface->supports || iface->supports(be->ctx, args->op, args);
}
