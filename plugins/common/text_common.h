/*
 * plugins/common/text_common.h — small helpers shared by the text encoders
 * (clip_text.c, t5_encoder.c); private to plugins/common.
 * Thread: [worker thread] (the backend's owner).
 */
#ifndef PICTOR_TEXT_COMMON_H
#define PICTOR_TEXT_COMMON_H

#include <stdio.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* View of a token-major [B, L, H * dh] tensor as [B, H, L, dh] (no copy). */
static inline pictor_tensor txt_heads(const pictor_tensor *x, int64_t heads)
{
    pictor_tensor v = *x;
    v.ndim = 4;
    v.shape[0] = x->shape[0];
    v.shape[1] = heads;
    v.shape[2] = x->shape[1];
    v.shape[3] = x->shape[2] / heads;
    v.stride[0] = x->stride[0];
    v.stride[1] = v.shape[3] * x->stride[2];
    v.stride[2] = x->stride[1];
    v.stride[3] = x->stride[2];
    return v;
}

/* Allocates an activation [b, l, d] of `dtype` on the backend. */
static inline int txt_alloc(pictor_backend *be, int dtype, pictor_tensor *t, int64_t b,
                            int64_t l, int64_t d)
{
    int64_t s[3] = {b, l, d};
    return pictor_tensor_alloc(be, t, dtype, 3, s);
}

/* ids [B, L] (I32/I64, host memory) as a tensor the backend can read: the
 * host tensor itself on the CPU, else a device copy in *dev (free it with
 * pictor_tensor_free; dev->data stays NULL on the CPU). */
static inline int txt_ids_on_device(pictor_backend *be, const pictor_tensor *ids,
                                    pictor_tensor *dev, const pictor_tensor **use)
{
    dev->data = NULL;
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU) {
        *use = ids;
        return PICTOR_OK;
    }
    if (!pictor_tensor_is_contiguous(ids))
        return pictor_backend_fail(be, PICTOR_E_INVALID, "token ids must be contiguous");
    int rc = pictor_tensor_alloc(be, dev, ids->dtype, ids->ndim, ids->shape);
    if (rc == PICTOR_OK)
        rc = pictor_backend_upload(be, dev->data, ids->data, pictor_tensor_nbytes(ids));
    *use = dev;
    return rc;
}

/* Token id ids[b, l] of a host ids tensor [B, L] (any strides). */
static inline int64_t txt_id_at(const pictor_tensor *ids, int64_t b, int64_t l)
{
    int64_t off = b * ids->stride[0] + l * ids->stride[1];
    return ids->dtype == PICTOR_I64 ? ((const int64_t *)ids->data)[off]
                                    : ((const int32_t *)ids->data)[off];
}

#endif /* PICTOR_TEXT_COMMON_H */
