/*
 * kernels/src/ops.c — the public op wrappers of pictor/ops.h: validate every
 * operand (presence, device, dtype class, rank, exact shapes, broadcasting),
 * fill a pictor_op_args and dispatch to the backend's slot.
 *
 * Every failure leaves "<op>: <operand> <shape dtype> <problem>" in the
 * backend's error slot, so a caller can log pictor_backend_error() as is.
 * Composite ops (linear, concat) are built here from the slots.
 */
#include "pictor/ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pictor/profile.h"
#include "pictor/tensor_util.h"

#include "ops_check.h"

/* Records "<op>: <what> <desc>: <problem>" and returns PICTOR_E_INVALID. */
int ops_bad(pictor_backend *be, const char *op, const char *what,
            const pictor_tensor *t, const char *fmt, ...)
{
    char desc[DESC_LEN], msg[PICTOR_BACKEND_ERROR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t)
        pictor_tensor_describe(t, desc, sizeof desc);
    return pictor_backend_fail(be, PICTOR_E_INVALID, "%s: %s%s%s: %s",
                               op, what, t ? " " : "",
                               t ? desc : "", msg);
}

/*
 * Checks one operand: present, sane descriptor, on the backend's device,
 * dtype of the right kind; FP8 operands need a finite non-zero scale.
 */
int ops_check_operand(pictor_backend *be, const char *op,
                      const char *what, const pictor_tensor *t,
                      enum operand_kind kind)
{
    if (!t)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "%s: %s is NULL",
                                   op, what);
    if (t->ndim < 0 || t->ndim > PICTOR_MAX_DIMS)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "%s: %s has ndim %d (0..%d)", op,
                                   what, (int)t->ndim, PICTOR_MAX_DIMS);
    if (!pictor_dtype_valid(t->dtype))
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "%s: %s has invalid dtype %d", op,
                                   what, (int)t->dtype);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0)
            return ops_bad(be, op, what, t, "negative dim %d", i);
    if (!t->data && pictor_tensor_numel(t) > 0)
        return ops_bad(be, op, what, t, "data is NULL");
    if (t->device != (int32_t)pictor_backend_device(be))
        return ops_bad(be, op, what, t, "lives on device kind %d, backend %s "
                       "wants %d", (int)t->device, pictor_backend_name(be),
                       (int)pictor_backend_device(be));
    if (kind == OPERAND_FLOAT && !pictor_dtype_is_float(t->dtype))
        return ops_bad(be, op, what, t, "must be a float dtype");
    if (kind == OPERAND_IDS && t->dtype != PICTOR_I32 &&
        t->dtype != PICTOR_I64)
        return ops_bad(be, op, what, t, "must be i32 or i64");
    if ((t->dtype == PICTOR_F8_E4M3 || t->dtype == PICTOR_F8_E5M2) &&
        (!isfinite(t->scale) || t->scale == 0.0f))
        return ops_bad(be, op, what, t, "FP8 scale %g must be finite and "
                       "non-zero", (double)t->scale);
    return PICTOR_OK;
}

int ops_check_optional(pictor_backend *be, const char *op,
                       const char *what, const pictor_tensor *t,
                       enum operand_kind kind)
{
    return t ? ops_check_operand(be, op, what, t, kind) : PICTOR_OK;
}

int ops_check_ndim(pictor_backend *be, const char *op, const char *what,
                   const pictor_tensor *t, int min, int max)
{
    if (t->ndim < min || t->ndim > max) {
        if (min == max)
            return ops_bad(be, op, what, t, "must have %d dims", min);
        return ops_bad(be, op, what, t, "must have %d..%d dims", min, max);
    }
    return PICTOR_OK;
}

/* t must be 1-D of length n (a per-channel parameter). */
int ops_check_vector(pictor_backend *be, const char *op,
                     const char *what, const pictor_tensor *t, int64_t n)
{
    if (t && (t->ndim != 1 || t->shape[0] != n))
        return ops_bad(be, op, what, t, "must be [%lld]", (long long)n);
    return PICTOR_OK;
}

int ops_check_same_shape(pictor_backend *be, const char *op,
                         const char *what, const pictor_tensor *t,
                         const char *ref_what, const pictor_tensor *ref)
{
    char desc[DESC_LEN];

    if (!pictor_tensor_same_shape(t, ref))
        return ops_bad(be, op, what, t, "must have the shape of %s %s", ref_what,
                       pictor_tensor_describe(ref, desc, sizeof desc));
    return PICTOR_OK;
}

/* NumPy rule: t broadcasts to `to` when t has no more dims and each of its
 * dims (aligned from the right) equals to's or is 1. */
bool ops_broadcasts_to(const int64_t *shape, int ndim, const int64_t *to,
                       int to_ndim)
{
    if (ndim > to_ndim)
        return false;
    for (int i = 1; i <= ndim; i++) {
        int64_t s = shape[ndim - i], d = to[to_ndim - i];

        if (s != d && s != 1)
            return false;
    }
    return true;
}

int ops_check_broadcast(pictor_backend *be, const char *op,
                        const char *what, const pictor_tensor *t,
                        const char *to_what, const pictor_tensor *to)
{
    char desc[DESC_LEN];

    if (!ops_broadcasts_to(t->shape, t->ndim, to->shape, to->ndim))
        return ops_bad(be, op, what, t, "does not broadcast to %s %s", to_what,
                       pictor_tensor_describe(to, desc, sizeof desc));
    return PICTOR_OK;
}

/* Hands validated arguments to the backend's slot. */
int ops_dispatch(pictor_backend *be, struct pictor_op_args *args)
{
    const struct pictor_backend_iface *iface = be->iface;
    const char *name = pictor_op_names[args->op];
    char err[PICTOR_BACKEND_ERROR_LEN];
    int rc;

    if (!iface->op[args->op])
        return pictor_backend_fail(be, PICTOR_E_UNSUPPORTED,
                                   "op %s not supported on backend %s", name,
                                   pictor_backend_name(be));
    if (iface->supports && !iface->supports(be->ctx, args->op, args))
        return pictor_backend_fail(be, PICTOR_E_UNSUPPORTED,
                                   "op %s not supported on backend %s for "
                                   "these dtypes/layouts", name,
                                   pictor_backend_name(be));
    err[0] = '\0';
    rc = be->profile ? pictor_profile_run_op(be, args, err, sizeof err)
                     : iface->op[args->op](be->ctx, args, err, sizeof err);
    if (rc == PICTOR_OK)
        return PICTOR_OK;
    if (!err[0])
        return pictor_backend_fail(be, rc, "%s failed on backend %s: %s",
                                   name, pictor_backend_name(be),
                                   pictor_status_name(rc));
    if (strncmp(err, name, strlen(name)) == 0)
        return pictor_backend_fail(be, rc, "%s", err);
    return pictor_backend_fail(be, rc, "%s: %s", name, err);
}

/* ---- linear algebra ------------------------------------------------------ */

/* A matmul's gate (pictor_linear_gated): c f32, gate broadcasting to c. */
static int check_gate(pictor_backend *be, const char *op, const pictor_tensor *gate,
                      const pictor_tensor *c)
{
    int rc;

    if ((rc = ops_check_operand(be, op, "gate", gate, OPERAND_FLOAT)) ||
        (rc = ops_check_broadcast(be, op, "gate", gate, "c", c)))
        return rc;
    if (c->dtype != PICTOR_F32)
        return ops_bad(be, op, "c", c, "must be f32 with a gate (it accumulates the "
                       "gated product: a residual stream)");
    return PICTOR_OK;
}

/* pictor_matmul with an optional col_scale [N] (device f32), activation
 * epilogue (act < 0: none) and gate (NULL: none; c += gate * result). */
static int matmul_scaled(pictor_backend *be, const pictor_tensor *a,
                         const pictor_tensor *b, const float *col_scale,
                         const pictor_tensor *bias, float alpha, int act,
                         const pictor_tensor *gate, pictor_tensor *c)
{
    const char *op = pictor_op_names[PICTOR_OP_MATMUL];
    struct pictor_op_args args = { .op = PICTOR_OP_MATMUL };
    int64_t M, K, N;
    int rc;

    if ((rc = ops_check_operand(be, op, "a", a, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "b", b, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "bias", bias, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "c", c, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "a", a, 2, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_ndim(be, op, "b", b, 2, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_ndim(be, op, "c", c, 2, PICTOR_MAX_DIMS)))
        return rc;
    M = a->shape[a->ndim - 2];
    K = a->shape[a->ndim - 1];
    N = b->shape[b->ndim - 1];
    if (b->shape[b->ndim - 2] != K)
        return ops_bad(be, op, "b", b, "inner dim must be K=%lld of a",
                       (long long)K);
    if (c->shape[c->ndim - 2] != M || c->shape[c->ndim - 1] != N)
        return ops_bad(be, op, "c", c, "must end in [M=%lld, N=%lld]",
                       (long long)M, (long long)N);
    /* Batch dims of a and b broadcast to those of c. */
    if (!ops_broadcasts_to(a->shape, a->ndim - 2, c->shape, c->ndim - 2))
        return ops_bad(be, op, "a", a, "batch dims do not broadcast to c's");
    if (!ops_broadcasts_to(b->shape, b->ndim - 2, c->shape, c->ndim - 2))
        return ops_bad(be, op, "b", b, "batch dims do not broadcast to c's");
    if ((rc = ops_check_vector(be, op, "bias", bias, N)) ||
        (gate && (rc = check_gate(be, op, gate, c))))
        return rc;
    args.u.matmul.a = a;
    args.u.matmul.b = b;
    args.u.matmul.bias = bias;
    args.u.matmul.col_scale = col_scale;
    args.u.matmul.has_act = act >= 0;
    args.u.matmul.act = act >= 0 ? (enum pictor_unary)act : PICTOR_UNARY_GELU_ERF;
    args.u.matmul.alpha = alpha;
    args.u.matmul.c = c;
    args.u.matmul.gate = gate;
    return ops_dispatch(be, &args);
}

int pictor_matmul(pictor_backend *be, const pictor_tensor *a,
                  const pictor_tensor *b, const pictor_tensor *bias,
                  float alpha, pictor_tensor *c)
{
    return matmul_scaled(be, a, b, NULL, bias, alpha, -1, NULL, c);
}

/*
 * y = x @ w^T + bias through matmul on a transposed view of w. A transposed
 * view cannot carry w's per-row FP8 scales (they index dimension 0), so
 * they go to matmul as its col_scale: y = (x @ w_code^T * scale) *
 * row_scale + bias, one rounding into y.
 */
/* pictor_linear / pictor_linear_act (act < 0: none) / pictor_linear_gated
 * (gate non-NULL). */
static int linear_act(pictor_backend *be, const pictor_tensor *x,
                      const pictor_tensor *w, const pictor_tensor *bias,
                      int act, const pictor_tensor *gate, pictor_tensor *y)
{
    const char *op = gate ? "linear_gated" : "linear";
    pictor_tensor wt, x2, y2;
    int64_t N, K;
    int rc;

    if ((rc = ops_check_operand(be, op, "w", w, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "bias", bias, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "w", w, 2, 2)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)))
        return rc;
    N = w->shape[0];
    K = w->shape[1];
    if (x->shape[x->ndim - 1] != K)
        return ops_bad(be, op, "x", x, "last dim must be K=%lld of w",
                       (long long)K);
    if (y->ndim != x->ndim || y->shape[y->ndim - 1] != N)
        return ops_bad(be, op, "y", y, "must be x's leading dims + "
                       "[N=%lld]", (long long)N);
    for (int i = 0; i < x->ndim - 1; i++)
        if (y->shape[i] != x->shape[i])
            return ops_bad(be, op, "y", y, "leading dims must match x");
    if ((rc = ops_check_vector(be, op, "bias", bias, N)))
        return rc;
    if (gate && ((rc = ops_check_operand(be, op, "gate", gate, OPERAND_FLOAT)) ||
                 (rc = ops_check_broadcast(be, op, "gate", gate, "y", y))))
        return rc;
    if (gate && y->dtype != PICTOR_F32)
        return ops_bad(be, op, "y", y, "must be f32 (the residual stream the gated "
                       "product is added to)");

    wt = pictor_tensor_transpose(w, 0, 1);
    x2 = *x;
    y2 = *y;
    if (x->ndim == 1) { /* [K] -> [1, K]: matmul needs a row dimension */
        x2 = pictor_tensor_unsqueeze(x, 0);
        y2 = pictor_tensor_unsqueeze(y, 0);
    }
    if (w->row_scale && (w->dtype == PICTOR_F8_E4M3 || w->dtype == PICTOR_F8_E5M2))
        return matmul_scaled(be, &x2, &wt, w->row_scale, bias, 1.0f, act, gate, &y2);
    return matmul_scaled(be, &x2, &wt, NULL, bias, 1.0f, act, gate, &y2);
}

int pictor_linear(pictor_backend *be, const pictor_tensor *x,
                  const pictor_tensor *w, const pictor_tensor *bias,
                  pictor_tensor *y)
{
    return linear_act(be, x, w, bias, -1, NULL, y);
}

int pictor_linear_act(pictor_backend *be, const pictor_tensor *x,
                      const pictor_tensor *w, const pictor_tensor *bias,
                      enum pictor_unary act, pictor_tensor *y)
{
    if ((unsigned)act >= PICTOR_UNARY_COUNT)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "linear: unknown activation %d", (int)act);
    return linear_act(be, x, w, bias, (int)act, NULL, y);
}

int pictor_linear_gated(pictor_backend *be, const pictor_tensor *x,
                        const pictor_tensor *w, const pictor_tensor *bias,
                        const pictor_tensor *gate, pictor_tensor *y)
{
    if (!gate)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: gate is NULL");
    return linear_act(be, x, w, bias, -1, gate, y);
}

int pictor_conv2d(pictor_backend *be, const pictor_tensor *x,
                  const pictor_tensor *w, const pictor_tensor *bias,
                  int stride_h, int stride_w, int pad_h, int pad_w,
                  pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_CONV2D];
    struct pictor_op_args args = { .op = PICTOR_OP_CONV2D };
    int64_t B, Cin, H, W, Cout, KH, KW, OH, OW;
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "w", w, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "bias", bias, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "w", w, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "y", y, 4, 4)))
        return rc;
    if (stride_h < 1 || stride_w < 1 || pad_h < 0 || pad_w < 0)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "conv2d: stride %dx%d must be >= 1 and "
                                   "padding %dx%d >= 0", stride_h, stride_w,
                                   pad_h, pad_w);
    B = x->shape[0], Cin = x->shape[1], H = x->shape[2], W = x->shape[3];
    Cout = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    if (w->shape[1] != Cin)
        return ops_bad(be, op, "w", w, "must have Cin=%lld input channels "
                       "(groups 1)", (long long)Cin);
    if (KH < 1 || KW < 1 || H + 2 * pad_h < KH || W + 2 * pad_w < KW)
        return ops_bad(be, op, "w", w, "kernel does not fit the padded input "
                       "%lldx%lld", (long long)(H + 2 * pad_h),
                       (long long)(W + 2 * pad_w));
    OH = (H + 2 * pad_h - KH) / stride_h + 1;
    OW = (W + 2 * pad_w - KW) / stride_w + 1;
    if (y->shape[0] != B || y->shape[1] != Cout || y->shape[2] != OH ||
        y->shape[3] != OW)
        return ops_bad(be, op, "y", y, "must be [%lld, %lld, %lld, %lld]",
                       (long long)B, (long long)Cout, (long long)OH,
                       (long long)OW);
    if ((rc = ops_check_vector(be, op, "bias", bias, Cout)))
        return rc;
    args.u.conv2d.x = x;
    args.u.conv2d.w = w;
    args.u.conv2d.bias = bias;
    args.u.conv2d.stride_h = stride_h;
    args.u.conv2d.stride_w = stride_w;
    args.u.conv2d.pad_h = pad_h;
    args.u.conv2d.pad_w = pad_w;
    args.u.conv2d.y = y;
    return ops_dispatch(be, &args);
}

/* ---- normalisation ------------------------------------------------------- */

int pictor_group_norm(pictor_backend *be, const pictor_tensor *x, int groups,
                      float eps, const pictor_tensor *gamma,
                      const pictor_tensor *beta, bool silu, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_GROUP_NORM];
    struct pictor_op_args args = { .op = PICTOR_OP_GROUP_NORM };
    int64_t C;
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "gamma", gamma, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "beta", beta, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 2, PICTOR_MAX_DIMS)))
        return rc;
    C = x->shape[1];
    if (groups < 1 || C % groups)
        return ops_bad(be, op, "x", x, "groups %d must divide C=%lld", groups,
                       (long long)C);
    if ((rc = ops_check_vector(be, op, "gamma", gamma, C)) ||
        (rc = ops_check_vector(be, op, "beta", beta, C)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    args.u.group_norm.x = x;
    args.u.group_norm.groups = groups;
    args.u.group_norm.eps = eps;
    args.u.group_norm.gamma = gamma;
    args.u.group_norm.beta = beta;
    args.u.group_norm.silu = silu;
    args.u.group_norm.y = y;
    return ops_dispatch(be, &args);
}

int pictor_layer_norm(pictor_backend *be, const pictor_tensor *x, float eps,
                      const pictor_tensor *gamma, const pictor_tensor *beta,
                      pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_LAYER_NORM];
    struct pictor_op_args args = { .op = PICTOR_OP_LAYER_NORM };
    int64_t D;
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "gamma", gamma, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "beta", beta, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)))
        return rc;
    D = x->shape[x->ndim - 1];
    if ((rc = ops_check_vector(be, op, "gamma", gamma, D)) ||
        (rc = ops_check_vector(be, op, "beta", beta, D)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    args.u.layer_norm.x = x;
    args.u.layer_norm.eps = eps;
    args.u.layer_norm.gamma = gamma;
    args.u.layer_norm.beta = beta;
    args.u.layer_norm.y = y;
    return ops_dispatch(be, &args);
}

int pictor_rms_norm(pictor_backend *be, const pictor_tensor *x, float eps,
                    const pictor_tensor *weight, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_RMS_NORM];
    struct pictor_op_args args = { .op = PICTOR_OP_RMS_NORM };
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "weight", weight, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_vector(be, op, "weight", weight, x->shape[x->ndim - 1])) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    args.u.rms_norm.x = x;
    args.u.rms_norm.eps = eps;
    args.u.rms_norm.weight = weight;
    args.u.rms_norm.y = y;
    return ops_dispatch(be, &args);
}

int pictor_softmax(pictor_backend *be, const pictor_tensor *x,
                   pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_SOFTMAX];
    struct pictor_op_args args = { .op = PICTOR_OP_SOFTMAX };
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 1, PICTOR_MAX_DIMS)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    args.u.softmax.x = x;
    args.u.softmax.y = y;
    return ops_dispatch(be, &args);
}

/* ---- attention ----------------------------------------------------------- */

int pictor_sdpa(pictor_backend *be, const pictor_tensor *q,
                const pictor_tensor *k, const pictor_tensor *v,
                const pictor_tensor *mask, float scale, bool causal,
                pictor_tensor *o)
{
    const char *op = pictor_op_names[PICTOR_OP_SDPA];
    struct pictor_op_args args = { .op = PICTOR_OP_SDPA };
    int64_t B, H, Lq, D, Lk, Dv, scores[4];
    int rc;

    if ((rc = ops_check_operand(be, op, "q", q, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "k", k, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "v", v, OPERAND_FLOAT)) ||
        (rc = ops_check_optional(be, op, "mask", mask, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "o", o, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "q", q, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "k", k, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "v", v, 4, 4)) ||
        (rc = ops_check_ndim(be, op, "o", o, 4, 4)))
        return rc;
    B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    Lk = k->shape[2];
    Dv = v->shape[3];
    if (k->shape[0] != B || k->shape[1] != H || k->shape[3] != D)
        return ops_bad(be, op, "k", k, "must be [%lld, %lld, Lk, %lld]",
                       (long long)B, (long long)H, (long long)D);
    if (v->shape[0] != B || v->shape[1] != H || v->shape[2] != Lk)
        return ops_bad(be, op, "v", v, "must be [%lld, %lld, %lld, Dv]",
                       (long long)B, (long long)H, (long long)Lk);
    if (o->shape[0] != B || o->shape[1] != H || o->shape[2] != Lq ||
        o->shape[3] != Dv)
        return ops_bad(be, op, "o", o, "must be [%lld, %lld, %lld, %lld]",
                       (long long)B, (long long)H, (long long)Lq,
                       (long long)Dv);
    scores[0] = B, scores[1] = H, scores[2] = Lq, scores[3] = Lk;
    if (mask && !ops_broadcasts_to(mask->shape, mask->ndim, scores, 4))
        return ops_bad(be, op, "mask", mask, "does not broadcast to the scores "
                       "[%lld, %lld, %lld, %lld]", (long long)B, (long long)H,
                       (long long)Lq, (long long)Lk);
    args.u.sdpa.q = q;
    args.u.sdpa.k = k;
    args.u.sdpa.v = v;
    args.u.sdpa.mask = mask;
    args.u.sdpa.scale = scale;
    args.u.sdpa.causal = causal;
    args.u.sdpa.o = o;
    return ops_dispatch(be, &args);
}

/* ---- elementwise --------------------------------------------------------- */

int pictor_unary(pictor_backend *be, enum pictor_unary fn,
                 const pictor_tensor *x, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_UNARY];
    struct pictor_op_args args = { .op = PICTOR_OP_UNARY };
    int rc;

    if ((int)fn < 0 || fn >= PICTOR_UNARY_COUNT)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "unary: unknown function %d", (int)fn);
    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    args.u.unary.fn = fn;
    args.u.unary.x = x;
    args.u.unary.y = y;
    return ops_dispatch(be, &args);
}

/* Messages name the caller's entry point: "add", "mul" or "binary". */
static int binary_named(pictor_backend *be, const char *op,
                        enum pictor_binary fn, const pictor_tensor *a,
                        const pictor_tensor *b, pictor_tensor *y)
{
    struct pictor_op_args args = { .op = PICTOR_OP_BINARY };
    int rc;

    if ((int)fn < 0 || fn >= PICTOR_BINARY_COUNT)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "%s: unknown function %d", op, (int)fn);
    if ((rc = ops_check_operand(be, op, "a", a, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "b", b, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_broadcast(be, op, "a", a, "y", y)) ||
        (rc = ops_check_broadcast(be, op, "b", b, "y", y)))
        return rc;
    args.u.binary.fn = fn;
    args.u.binary.a = a;
    args.u.binary.b = b;
    args.u.binary.y = y;
    return ops_dispatch(be, &args);
}

int pictor_binary(pictor_backend *be, enum pictor_binary fn,
                  const pictor_tensor *a, const pictor_tensor *b,
                  pictor_tensor *y)
{
    return binary_named(be, pictor_op_names[PICTOR_OP_BINARY], fn, a, b, y);
}

int pictor_add(pictor_backend *be, const pictor_tensor *a,
               const pictor_tensor *b, pictor_tensor *y)
{
    return binary_named(be, "add", PICTOR_BINARY_ADD, a, b, y);
}

int pictor_mul(pictor_backend *be, const pictor_tensor *a,
               const pictor_tensor *b, pictor_tensor *y)
{
    return binary_named(be, "mul", PICTOR_BINARY_MUL, a, b, y);
}

int pictor_copy_ex(pictor_backend *be, const pictor_tensor *src,
                   pictor_tensor *dst, bool saturate)
{
    const char *op = pictor_op_names[PICTOR_OP_COPY];
    struct pictor_op_args args = { .op = PICTOR_OP_COPY };
    int rc;

    if ((rc = ops_check_operand(be, op, "src", src, OPERAND_ANY)) ||
        (rc = ops_check_operand(be, op, "dst", dst, OPERAND_ANY)) ||
        (rc = ops_check_same_shape(be, op, "dst", dst, "src", src)))
        return rc;
    args.u.copy.src = src;
    args.u.copy.dst = dst;
    args.u.copy.saturate = saturate;
    return ops_dispatch(be, &args);
}

int pictor_copy(pictor_backend *be, const pictor_tensor *src,
                pictor_tensor *dst)
{
    return pictor_copy_ex(be, src, dst, false);
}

/* Validates all shapes first so a bad call writes nothing into dst. A
 * negative dim counts from the end, as torch.cat's does. */
int pictor_concat(pictor_backend *be, const pictor_tensor *const *srcs, int n,
                  int dim, pictor_tensor *dst)
{
    const char *op = "concat";
    char what[32];
    int64_t total = 0, start = 0;
    int rc;

    if (!srcs || n < 1)
        return pictor_backend_fail(be, PICTOR_E_INVALID,
                                   "concat: needs at least one source");
    if ((rc = ops_check_operand(be, op, "dst", dst, OPERAND_ANY)))
        return rc;
    if (dim < 0)
        dim += dst->ndim;
    if (dim < 0 || dim >= dst->ndim)
        return ops_bad(be, op, "dst", dst, "has no dim %d", dim);
    for (int i = 0; i < n; i++) {
        const pictor_tensor *s = srcs[i];

        snprintf(what, sizeof what, "srcs[%d]", i);
        if ((rc = ops_check_operand(be, op, what, s, OPERAND_ANY)))
            return rc;
        if (s->ndim != dst->ndim)
            return ops_bad(be, op, what, s, "must have %d dims like dst",
                           (int)dst->ndim);
        for (int d = 0; d < dst->ndim; d++)
            if (d != dim && s->shape[d] != dst->shape[d])
                return ops_bad(be, op, what, s, "dim %d must be %lld like dst",
                               d, (long long)dst->shape[d]);
        total += s->shape[dim];
    }
    if (total != dst->shape[dim])
        return ops_bad(be, op, "dst", dst, "dim %d must be %lld, the sum "
                       "of the sources", dim, (long long)total);
    for (int i = 0; i < n; i++) {
        pictor_tensor part;

        if (srcs[i]->shape[dim] == 0)
            continue;
        part = pictor_tensor_slice(dst, dim, start, srcs[i]->shape[dim]);
        if ((rc = pictor_copy(be, srcs[i], &part)))
            return rc;
        start += srcs[i]->shape[dim];
    }
    return PICTOR_OK;
}

/* ---- resampling, lookup, position ---------------------------------------- */

int pictor_upsample_nearest2x(pictor_backend *be, const pictor_tensor *x,
                              pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_UPSAMPLE_NEAREST2X];
    struct pictor_op_args args = { .op = PICTOR_OP_UPSAMPLE_NEAREST2X };
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 4, 4)))
        return rc;
    if (y->ndim != 4 || y->shape[0] != x->shape[0] ||
        y->shape[1] != x->shape[1] || y->shape[2] != 2 * x->shape[2] ||
        y->shape[3] != 2 * x->shape[3])
        return ops_bad(be, op, "y", y, "must be [%lld, %lld, %lld, %lld]",
                       (long long)x->shape[0], (long long)x->shape[1],
                       (long long)(2 * x->shape[2]), (long long)(2 * x->shape[3]));
    args.u.upsample.x = x;
    args.u.upsample.y = y;
    return ops_dispatch(be, &args);
}

/* Host-memory ids are range-checked here, whatever the backend does; device
 * ids are the slot's to check. */
static int check_ids_range(pictor_backend *be, const pictor_tensor *ids,
                           int64_t V)
{
    int64_t n = pictor_tensor_numel(ids);
    size_t es = pictor_dtype_size(ids->dtype);

    if (ids->device != PICTOR_DEVICE_CPU)
        return PICTOR_OK;
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0, rem = i, id;

        for (int d = ids->ndim - 1; d >= 0; d--) {
            off += (rem % ids->shape[d]) * ids->stride[d];
            rem /= ids->shape[d];
        }
        const char *p = (const char *)ids->data + off * (int64_t)es;
        if (ids->dtype == PICTOR_I32) {
            int32_t v;
            memcpy(&v, p, sizeof v);
            id = v;
        } else {
            memcpy(&id, p, sizeof id);
        }
        if (id < 0 || id >= V)
            return ops_bad(be, "embedding", "ids", ids,
                           "element %lld is %lld, outside [0, %lld)",
                       (long long)i, (long long)id, (long long)V);
    }
    return PICTOR_OK;
}

int pictor_embedding(pictor_backend *be, const pictor_tensor *table,
                     const pictor_tensor *ids, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_EMBEDDING];
    struct pictor_op_args args = { .op = PICTOR_OP_EMBEDDING };
    bool ok;
    int rc;

    if ((rc = ops_check_operand(be, op, "table", table, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "ids", ids, OPERAND_IDS)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "table", table, 2, 2)) ||
        (rc = ops_check_ndim(be, op, "ids", ids, 0, PICTOR_MAX_DIMS - 1)))
        return rc;
    ok = y->ndim == ids->ndim + 1 && y->shape[y->ndim - 1] == table->shape[1];
    for (int i = 0; ok && i < ids->ndim; i++)
        ok = y->shape[i] == ids->shape[i];
    if (!ok)
        return ops_bad(be, op, "y", y, "must be ids' shape + [D=%lld]",
                       (long long)table->shape[1]);
    if ((rc = check_ids_range(be, ids, table->shape[0])))
        return rc;
    args.u.embedding.table = table;
    args.u.embedding.ids = ids;
    args.u.embedding.y = y;
    return ops_dispatch(be, &args);
}

int ops_check_rope(pictor_backend *be, const char *op, const pictor_tensor *x,
                   const pictor_tensor *cos, const pictor_tensor *sin,
                   const pictor_tensor *y)
{
    int64_t L, Dh;
    int rc;

    if ((rc = ops_check_operand(be, op, "x", x, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "cos", cos, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "sin", sin, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "x", x, 4, 4)))
        return rc;
    L = x->shape[1];
    Dh = x->shape[3];
    if (Dh % 2)
        return ops_bad(be, op, "x", x, "head dim Dh=%lld must be even",
                       (long long)Dh);
    if (cos->ndim != 2 || cos->shape[0] != L || cos->shape[1] != Dh)
        return ops_bad(be, op, "cos", cos, "must be [L=%lld, Dh=%lld]",
                       (long long)L, (long long)Dh);
    if ((rc = ops_check_same_shape(be, op, "sin", sin, "cos", cos)) ||
        (rc = ops_check_same_shape(be, op, "y", y, "x", x)))
        return rc;
    return PICTOR_OK;
}

int pictor_rope(pictor_backend *be, const pictor_tensor *x,
                const pictor_tensor *cos, const pictor_tensor *sin,
                pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_ROPE];
    struct pictor_op_args args = { .op = PICTOR_OP_ROPE };
    int rc;

    if ((rc = ops_check_rope(be, op, x, cos, sin, y)))
        return rc;
    args.u.rope.x = x;
    args.u.rope.cos = cos;
    args.u.rope.sin = sin;
    args.u.rope.y = y;
    return ops_dispatch(be, &args);
}

int pictor_timestep_embedding(pictor_backend *be, const pictor_tensor *t,
                              bool flip_sin_to_cos, float downscale_freq_shift,
                              float scale, float max_period, pictor_tensor *y)
{
    const char *op = pictor_op_names[PICTOR_OP_TIMESTEP_EMBEDDING];
    struct pictor_op_args args = { .op = PICTOR_OP_TIMESTEP_EMBEDDING };
    int rc;

    if ((rc = ops_check_operand(be, op, "t", t, OPERAND_FLOAT)) ||
        (rc = ops_check_operand(be, op, "y", y, OPERAND_FLOAT)) ||
        (rc = ops_check_ndim(be, op, "t", t, 1, 1)))
        return rc;
    if (y->ndim != 2 || y->shape[0] != t->shape[0])
        return ops_bad(be, op, "y", y, "must be [B=%lld, dim]",
                       (long long)t->shape[0]);
    args.u.timestep.t = t;
    args.u.timestep.flip_sin_to_cos = flip_sin_to_cos;
    args.u.timestep.downscale_freq_shift = downscale_freq_shift;
    args.u.timestep.scale = scale;
    args.u.timestep.max_period = max_period;
    args.u.timestep.y = y;
    return ops_dispatch(be, &args);
}

int pictor_fill(pictor_backend *be, pictor_tensor *y, float value)
{
    const char *op = pictor_op_names[PICTOR_OP_FILL];
    struct pictor_op_args args = { .op = PICTOR_OP_FILL };
    int rc;

    if ((rc = ops_check_operand(be, op, "y", y, OPERAND_ANY)))
        return rc;
    args.u.fill.value = value;
    args.u.fill.y = y;
    return ops_dispatch(be, &args);
}
