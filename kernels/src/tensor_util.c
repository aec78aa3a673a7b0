/*
 * kernels/src/tensor_util.c — descriptor arithmetic for pictor_tensor:
 * dtype facts, contiguous construction, views (slice, permute, transpose,
 * reshape, unsqueeze), description strings and backend allocation.
 * See pictor/tensor_util.h for the contract.
 */
#include "pictor/tensor_util.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "pictor/backend.h"

size_t pictor_dtype_size(int dtype)
{
    switch (dtype) {
    case PICTOR_F32: return 4;
    case PICTOR_F16: return 2;
    case PICTOR_BF16: return 2;
    case PICTOR_F8_E4M3: return 1;
    case PICTOR_F8_E5M2: return 1;
    case PICTOR_I32: return 4;
    case PICTOR_I64: return 8;
    default: return 0;
    }
}

bool pictor_dtype_valid(int dtype)
{
    return dtype >= 0 && dtype < PICTOR_DTYPE_COUNT;
}

bool pictor_dtype_is_float(int dtype)
{
    return dtype == PICTOR_F32 || dtype == PICTOR_F16 || dtype == PICTOR_BF16 ||
           dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

const char *pictor_dtype_name(int dtype)
{
    return pictor_dtype_valid(dtype) ? pictor_dtype_names[dtype] : "?";
}

pictor_tensor pictor_tensor_make(void *data, int dtype, int ndim,
                                 const int64_t *shape)
{
    pictor_tensor t;

    assert(ndim >= 0 && ndim <= PICTOR_MAX_DIMS);
    memset(&t, 0, sizeof t);
    t.data = data;
    t.dtype = dtype;
    t.device = PICTOR_DEVICE_CPU;
    t.device_index = 0;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        assert(shape[i] >= 0);
        t.shape[i] = shape[i];
    }
    t.scale = 1.0f;
    t.row_scale = NULL;
    pictor_tensor_set_contiguous(&t);
    return t;
}

int64_t pictor_tensor_numel(const pictor_tensor *t)
{
    int64_t n = 1;

    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t pictor_tensor_nbytes(const pictor_tensor *t)
{
    return (size_t)pictor_tensor_numel(t) * pictor_dtype_size(t->dtype);
}

/* Size-1 dims may carry any stride (PyTorch's rule), and an empty tensor is
 * contiguous whatever its strides. */
bool pictor_tensor_is_contiguous(const pictor_tensor *t)
{
    int64_t expect = 1;

    if (pictor_tensor_numel(t) == 0)
        return true;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != expect)
            return false;
        expect *= t->shape[i];
    }
    return true;
}

bool pictor_tensor_same_shape(const pictor_tensor *a, const pictor_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

char *pictor_tensor_describe(const pictor_tensor *t, char *buf, size_t len)
{
    size_t pos = 0;
    int n;

    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    if (!t) {
        snprintf(buf, len, "(null)");
        return buf;
    }
    n = snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && n >= 0; i++) {
        pos += (size_t)n;
        if (pos >= len)
            return buf;
        n = snprintf(buf + pos, len - pos, "%s%lld", i ? ", " : "",
                     (long long)t->shape[i]);
    }
    if (n < 0)
        return buf;
    pos += (size_t)n;
    if (pos >= len)
        return buf;
    snprintf(buf + pos, len - pos, "] %s", pictor_dtype_name(t->dtype));
    return buf;
}

void pictor_tensor_set_contiguous(pictor_tensor *t)
{
    int64_t s = 1;

    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = s;
        s *= t->shape[i];
    }
    for (int i = t->ndim; i < PICTOR_MAX_DIMS; i++) {
        t->shape[i] = 0;
        t->stride[i] = 0;
    }
}

pictor_tensor pictor_tensor_slice(const pictor_tensor *t, int dim,
                                  int64_t start, int64_t len)
{
    pictor_tensor v = *t;

    assert(dim >= 0 && dim < t->ndim);
    assert(start >= 0 && len >= 0 && start + len <= t->shape[dim]);
    v.shape[dim] = len;
    if (len > 0 && t->data) {
        size_t off = (size_t)(start * t->stride[dim]) *
                     pictor_dtype_size(t->dtype);
        v.data = (char *)t->data + off;
    }
    /* FP8 per-row scales follow a slice of dimension 0. */
    if (dim == 0 && t->row_scale)
        v.row_scale = t->row_scale + start;
    return v;
}

pictor_tensor pictor_tensor_permute(const pictor_tensor *t, const int *perm)
{
    pictor_tensor v = *t;
    unsigned seen = 0;

    for (int i = 0; i < t->ndim; i++) {
        assert(perm[i] >= 0 && perm[i] < t->ndim);
        assert(!(seen & (1u << perm[i])));
        seen |= 1u << perm[i];
        v.shape[i] = t->shape[perm[i]];
        v.stride[i] = t->stride[perm[i]];
    }
    /* row_scale indexes dimension 0; a view that moves it cannot carry the
     * scales, so they are dropped (pictor_linear re-applies them itself). */
    if (t->ndim > 0 && perm[0] != 0)
        v.row_scale = NULL;
    return v;
}

pictor_tensor pictor_tensor_transpose(const pictor_tensor *t, int a, int b)
{
    int perm[PICTOR_MAX_DIMS];

    assert(a >= 0 && a < t->ndim && b >= 0 && b < t->ndim);
    for (int i = 0; i < t->ndim; i++)
        perm[i] = i;
    perm[a] = b;
    perm[b] = a;
    return pictor_tensor_permute(t, perm);
}

int pictor_tensor_reshape(const pictor_tensor *t, int ndim,
                          const int64_t *shape, pictor_tensor *out)
{
    int64_t numel = pictor_tensor_numel(t), known = 1;
    int infer = -1;
    pictor_tensor v;

    if (ndim < 0 || ndim > PICTOR_MAX_DIMS || !pictor_tensor_is_contiguous(t))
        return PICTOR_E_INVALID;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0)
                return PICTOR_E_INVALID;
            infer = i;
        } else if (shape[i] < 0) {
            return PICTOR_E_INVALID;
        } else {
            known *= shape[i];
        }
    }
    v = *t; /* t and out may be the same descriptor */
    v.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        v.shape[i] = shape[i];
    if (infer >= 0) {
        if (known == 0 || numel % known)
            return PICTOR_E_INVALID;
        v.shape[infer] = numel / known;
    } else if (known != numel) {
        return PICTOR_E_INVALID;
    }
    /* Per-row FP8 scales index dimension 0: a reshape that changes its
     * extent cannot carry them, and dropping them would change values. */
    if (t->row_scale && (t->dtype == PICTOR_F8_E4M3 ||
                         t->dtype == PICTOR_F8_E5M2) &&
        (ndim == 0 || t->ndim == 0 || v.shape[0] != t->shape[0]))
        return PICTOR_E_INVALID;
    pictor_tensor_set_contiguous(&v);
    *out = v;
    return PICTOR_OK;
}

pictor_tensor pictor_tensor_unsqueeze(const pictor_tensor *t, int dim)
{
    pictor_tensor v = *t;

    assert(dim >= 0 && dim <= t->ndim && t->ndim < PICTOR_MAX_DIMS);
    for (int i = t->ndim; i > dim; i--) {
        v.shape[i] = t->shape[i - 1];
        v.stride[i] = t->stride[i - 1];
    }
    v.shape[dim] = 1;
    /* The stride of a size-1 dim is never used to step; keep the layout
     * contiguous-looking as PyTorch does. */
    v.stride[dim] = dim < t->ndim ? t->shape[dim] * t->stride[dim] : 1;
    v.ndim = t->ndim + 1;
    if (dim == 0)
        v.row_scale = NULL;
    return v;
}

int pictor_tensor_alloc(pictor_backend *be, pictor_tensor *t, int dtype,
                        int ndim, const int64_t *shape)
{
    void *data = NULL;
    int rc;

    if (!be || !t || ndim < 0 || ndim > PICTOR_MAX_DIMS ||
        !pictor_dtype_valid(dtype) || (ndim > 0 && !shape))
        return be ? pictor_backend_fail(be, PICTOR_E_INVALID,
                                        "tensor_alloc: bad arguments")
                  : PICTOR_E_INVALID;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return pictor_backend_fail(be, PICTOR_E_INVALID,
                                       "tensor_alloc: negative dim %d", i);
    *t = pictor_tensor_make(NULL, dtype, ndim, shape);
    rc = pictor_backend_alloc(be, pictor_tensor_nbytes(t), &data);
    if (rc)
        return rc;
    t->data = data;
    t->device = pictor_backend_device(be);
    return PICTOR_OK;
}

void pictor_tensor_free(pictor_backend *be, pictor_tensor *t)
{
    if (!t)
        return;
    if (be)
        pictor_backend_free(be, t->data);
    t->data = NULL;
}
