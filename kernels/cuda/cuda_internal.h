/*
 * kernels/cuda/cuda_internal.h — what the CUDA backend's files share: the
 * backend context (device, stream) and one entry per op, each defined in its
 * own kernels/cuda/op_*.cu and put in the iface table by cuda_backend.c.
 *
 * A plain C header, included from C (cuda_backend.c) and from CUDA C++
 * (the .cu files): everything here has C linkage.
 *
 * Op entries get arguments already validated by kernels/src/ops.c (shapes,
 * dtypes, devices). They enqueue kernels on ctx->stream and return without
 * waiting, except where an op must read a result back (embedding's id
 * check). On failure they write a message into err and return a negative
 * pictor_status (PICTOR_E_DEVICE for a CUDA error, with its string).
 * Thread: the backend's owning worker thread.
 */
#ifndef PICTOR_CUDA_INTERNAL_H
#define PICTOR_CUDA_INTERNAL_H

#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "pictor/ops.h"

struct cuda_ctx {
    int device;          /* CUDA ordinal */
    cudaStream_t stream; /* every op and copy is queued here */
    char name[256];      /* cudaDeviceProp.name */
};

/* Op entries (one file each: op_unary.cu, op_binary.cu, ...). */
int cuda_op_group_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_layer_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_rms_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_softmax(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_unary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_binary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_copy(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_upsample(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_embedding(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_rope(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_timestep(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_fill(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PICTOR_CUDA_INTERNAL_H */
