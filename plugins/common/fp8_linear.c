/*
 * plugins/common/fp8_linear.c — see pictor/fp8_linear.h. x [..., K] is
 * quantised into a contiguous E4M3 copy with one scale per row; the linear
 * then runs on its [rows, K] view into y viewed as [rows, N] — or, when y's
 * leading dims cannot be merged into one (a strided slice of a batch > 1),
 * into contiguous scratch of y's dtype copied into y afterwards.
 */
#include "pictor/fp8_linear.h"

#include <stddef.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"

bool pictor_weight_is_fp8(const pictor_tensor *w)
{
    return w->dtype == PICTOR_F8_E4M3 && w->row_scale != NULL;
}

/* y as [rows, N] when its leading dims merge: walking them innermost
 * first, each dim of size > 1 must have the stride of the merged dims
 * inside it (size-1 dims are free). */
static bool rows_view(const pictor_tensor *y, int64_t rows, pictor_tensor *out)
{
    int n = y->ndim;
    int64_t row_stride = y->shape[n - 1] * y->stride[n - 1], expect = -1;

    for (int d = n - 2; d >= 0; d--) {
        if (y->shape[d] == 1)
            continue;
        if (expect < 0)
            row_stride = y->stride[d];
        else if (y->stride[d] != expect)
            return false;
        expect = y->stride[d] * y->shape[d];
    }
    *out = *y;
    out->ndim = 2;
    out->shape[0] = rows;
    out->shape[1] = y->shape[n - 1];
    out->stride[0] = row_stride;
    out->stride[1] = y->stride[n - 1];
    return true;
}

/* pictor_linear or pictor_linear_act (act < 0: none). */
static int linear(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                  const pictor_tensor *bias, int act, pictor_tensor *y)
{
    return act < 0 ? pictor_linear(be, x, w, bias, y)
                   : pictor_linear_act(be, x, w, bias, (enum pictor_unary)act, y);
}

bool pictor_input_is_fp8_rows(const pictor_tensor *x)
{
    return x->dtype == PICTOR_F8_E4M3 && x->row_scale != NULL && x->ndim == 2;
}

static int linear_fp8(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                      const pictor_tensor *bias, int act, pictor_tensor *y)
{
    const bool pre = pictor_input_is_fp8_rows(x); /* quantised once by the caller */
    if (!pictor_weight_is_fp8(w) || x->ndim < 1 || y->ndim < 1 || (!pre && y->ndim != x->ndim))
        return linear(be, x, w, bias, act, y);
    int64_t K = x->shape[x->ndim - 1];
    int64_t rows = K ? pictor_tensor_numel(x) / K : 0;
    pictor_tensor xq = { 0 }, sc = { 0 }, tmp = { 0 }, a = *x, y2;
    bool direct = rows_view(y, rows, &y2);
    int rc = PICTOR_OK;

    if (pre && pictor_tensor_numel(y) != rows * y->shape[y->ndim - 1])
        return pictor_backend_fail(be, PICTOR_E_INVALID, "linear: y does not hold the %lld rows "
                                   "of the quantised input", (long long)rows);
    if (rows == 0 || K == 0)
        return linear(be, x, w, bias, act, y);
    if ((!pre && ((rc = pictor_tensor_alloc(be, &xq, PICTOR_F8_E4M3, x->ndim, x->shape)) ||
                  (rc = pictor_tensor_alloc(be, &sc, PICTOR_F32, 1, &rows)))) ||
        (!direct && (rc = pictor_tensor_alloc(be, &tmp, y->dtype, y->ndim, y->shape))))
        goto out;
    if (!direct)
        rows_view(&tmp, rows, &y2);
    if (!pre) {
        a = pictor_fp8_rows_view(&xq, &sc);
        if ((rc = pictor_quantize_rows(be, x, &xq, &sc)))
            goto out;
    }
    if ((rc = linear(be, &a, w, bias, act, &y2)))
        goto out;
    if (!direct)
        rc = pictor_copy(be, &tmp, y);
out:
    pictor_tensor_free(be, &tmp);
    pictor_tensor_free(be, &sc);
    pictor_tensor_free(be, &xq);
    return rc;
}

int pictor_linear_fp8(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                      const pictor_tensor *bias, pictor_tensor *y)
{
    return linear_fp8(be, x, w, bias, -1, y);
}

int pictor_linear_fp8_act(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                          const pictor_tensor *bias, enum pictor_unary act, pictor_tensor *y)
{
    return linear_fp8(be, x, w, bias, (int)act, y);
}
