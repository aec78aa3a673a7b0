/*
 * plugins/common/fp8_linear_gated.c — pictor_linear_fp8_gated (see
 * pictor/fp8_linear.h): y += gate * (x @ w^T + bias).
 *
 * With an FP8 weight the matmul runs on the [rows, K] E4M3 view of x
 * (quantised here unless the caller did) and must write a [S, N] view of
 * y whose rows all take the same gate row (the op broadcasts the gate
 * against that 2-D view). y's leading dims d < n - 1 are therefore split
 * at p: the outer dims 0..p-1 are walked one index at a time ("items"),
 * the inner dims p..n-2 merged into the S rows of one call. p is the
 * smallest index such that the gate is 1 along every inner dim and the
 * inner dims merge into one row stride (a strided token slice of a batch
 * > 1 does not merge across the batch). Item t's rows of x are rows
 * [t * S, (t + 1) * S) of the rows view: x's rows follow y's leading dims
 * in row-major order.
 */
#include "pictor/fp8_linear.h"

#include <stdio.h>
#include <string.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Room for "[a, b, c, d, e] f8_e4m3" (as kernels/src/ops_check.h). */
#define DESC_LEN 160

/* Gate size along y's dim d (gate right-aligned to y; 1 where missing). */
static int64_t gate_dim(const pictor_tensor *gate, const pictor_tensor *y, int d)
{
    int dg = d - (y->ndim - gate->ndim);

    return dg >= 0 ? gate->shape[dg] : 1;
}

/* Whether y's dims p..n-2 merge into one row dim (size-1 dims are free;
 * each dim of size > 1 must have the stride of the merged dims inside it). */
static bool rows_merge(const pictor_tensor *y, int p)
{
    int64_t expect = -1;

    for (int d = y->ndim - 2; d >= p; d--) {
        if (y->shape[d] == 1)
            continue;
        if (expect >= 0 && y->stride[d] != expect)
            return false;
        expect = y->stride[d] * y->shape[d];
    }
    return true;
}

/* The split point p (see the top of this file). */
static int split_point(const pictor_tensor *y, const pictor_tensor *gate)
{
    int n = y->ndim, p = n - 1;

    while (p > 0 && gate_dim(gate, y, p - 1) == 1 && rows_merge(y, p - 1))
        p--;
    return p;
}

/* Item t's [S, N] view of y: dims 0..p-1 fixed at t's indices, dims
 * p..n-2 merged (their row stride: the innermost dim of size > 1). */
static pictor_tensor item_y(const pictor_tensor *y, int p, int64_t t, int64_t S)
{
    int n = y->ndim;
    int64_t off = 0, row_stride = y->shape[n - 1] * y->stride[n - 1];
    pictor_tensor v = *y;

    for (int d = p - 1; d >= 0; d--) {
        off += (t % y->shape[d]) * y->stride[d];
        t /= y->shape[d];
    }
    for (int d = p; d < n - 1; d++)
        if (y->shape[d] > 1)
            row_stride = y->stride[d]; /* the innermost one wins */
    v.data = (char *)y->data + off * (int64_t)pictor_dtype_size(y->dtype);
    v.ndim = 2;
    v.shape[0] = S;
    v.shape[1] = y->shape[n - 1];
    v.stride[0] = row_stride;
    v.stride[1] = y->stride[n - 1];
    return v;
}

/* Item t's gate row as a 1-D view [N] (or [1], broadcasting). */
static pictor_tensor item_gate(const pictor_tensor *gate, const pictor_tensor *y, int p,
                               int64_t t)
{
    int lead = y->ndim - gate->ndim;
    int64_t off = 0;
    pictor_tensor v = *gate;

    for (int d = p - 1; d >= 0; d--) {
        int dg = d - lead;

        if (dg >= 0 && gate->shape[dg] != 1)
            off += (t % y->shape[d]) * gate->stride[dg];
        t /= y->shape[d];
    }
    v.data = (char *)gate->data + off * (int64_t)pictor_dtype_size(gate->dtype);
    v.ndim = 1;
    v.shape[0] = gate->ndim ? gate->shape[gate->ndim - 1] : 1;
    v.stride[0] = gate->ndim ? gate->stride[gate->ndim - 1] : 0;
    return v;
}

/* Non-FP8 w: pictor_linear into scratch of x's dtype, then gated_add. */
static int composed(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                    const pictor_tensor *bias, const pictor_tensor *gate, pictor_tensor *y)
{
    int dt = x->dtype == PICTOR_F16 || x->dtype == PICTOR_BF16 ? x->dtype : PICTOR_F32;
    pictor_tensor tmp = { 0 };
    int rc;

    if (y->ndim < 1 || y->ndim > PICTOR_MAX_DIMS)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: y has %d dims",
                                   (int)y->ndim);
    if ((rc = pictor_tensor_alloc(be, &tmp, dt, y->ndim, y->shape)) ||
        (rc = pictor_linear(be, x, w, bias, &tmp)) ||
        (rc = pictor_gated_add(be, y, &tmp, gate)))
        goto out;
out:
    pictor_tensor_free(be, &tmp);
    return rc;
}

/* The checks the split relies on before the op sees any piece. */
static int check(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *gate,
                 const pictor_tensor *y, bool pre, int64_t rows)
{
    char dg[DESC_LEN], dy[DESC_LEN];

    if (!gate || !y)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: %s is NULL",
                                   gate ? "y" : "gate");
    if (y->ndim < 1 || y->ndim > PICTOR_MAX_DIMS || gate->ndim < 0 || gate->ndim > y->ndim)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: gate %s does not "
                                   "broadcast to y %s",
                                   pictor_tensor_describe(gate, dg, sizeof dg),
                                   pictor_tensor_describe(y, dy, sizeof dy));
    for (int d = 0; d < y->ndim; d++) {
        int64_t g = gate_dim(gate, y, d);

        if (g != 1 && g != y->shape[d])
            return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: gate %s does "
                                       "not broadcast to y %s",
                                       pictor_tensor_describe(gate, dg, sizeof dg),
                                       pictor_tensor_describe(y, dy, sizeof dy));
    }
    if (gate->dtype != PICTOR_F32 && gate->dtype != PICTOR_F16 && gate->dtype != PICTOR_BF16)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: gate %s must be "
                                   "f32, f16 or bf16",
                                   pictor_tensor_describe(gate, dg, sizeof dg));
    bool rows_ok = pre ? pictor_tensor_numel(y) == rows * y->shape[y->ndim - 1]
                       : y->ndim == x->ndim;

    for (int d = 0; !pre && rows_ok && d < y->ndim - 1; d++)
        rows_ok = y->shape[d] == x->shape[d];
    if (!rows_ok)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear_gated: y %s does not hold "
                                   "the %lld rows of x (leading dims)",
                                   pictor_tensor_describe(y, dy, sizeof dy), (long long)rows);
    return PICTOR_OK;
}

int pictor_linear_fp8_gated(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                            const pictor_tensor *bias, const pictor_tensor *gate,
                            pictor_tensor *y)
{
    const bool pre = pictor_input_is_fp8_rows(x); /* quantised once by the caller */
    pictor_tensor xq = { 0 }, sc = { 0 }, a = *x;
    int64_t K, rows, items = 1, S = 1;
    int rc, p;

    if (!pictor_weight_is_fp8(w) || x->ndim < 1)
        return composed(be, x, w, bias, gate, y);
    K = x->shape[x->ndim - 1];
    rows = K ? pictor_tensor_numel(x) / K : 0;
    if ((rc = check(be, x, gate, y, pre, rows)))
        return rc;
    if (rows == 0 || K == 0) /* nothing to quantise: the op as it is */
        return pictor_linear_gated(be, x, w, bias, gate, y);
    p = split_point(y, gate);
    for (int d = 0; d < y->ndim - 1; d++) {
        if (d < p)
            items *= y->shape[d];
        else
            S *= y->shape[d];
    }
    if (!pre) {
        if ((rc = pictor_tensor_alloc(be, &xq, PICTOR_F8_E4M3, x->ndim, x->shape)) ||
            (rc = pictor_tensor_alloc(be, &sc, PICTOR_F32, 1, &rows)))
            goto out;
        a = pictor_fp8_rows_view(&xq, &sc);
        if ((rc = pictor_quantize_rows(be, x, &xq, &sc)))
            goto out;
    }
    for (int64_t t = 0; t < items && rc == PICTOR_OK; t++) {
        pictor_tensor at = pictor_tensor_slice(&a, 0, t * S, S);
        pictor_tensor yt = item_y(y, p, t, S), gt = item_gate(gate, y, p, t);

        rc = pictor_linear_gated(be, &at, w, bias, &gt, &yt);
    }
out:
    pictor_tensor_free(be, &sc);
    pictor_tensor_free(be, &xq);
    return rc;
}
