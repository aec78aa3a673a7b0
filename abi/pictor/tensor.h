/*
 * pictor/tensor.h — the tensor descriptor and dtype enum shared by the host,
 * the kernel library and every plugin.
 *
 * A pictor_tensor is a plain value type: a pointer to the first element plus
 * dtype, device, shape and strides. It never owns memory; whoever allocated
 * `data` frees it (see pictor/tensor_util.h for the owning helpers).
 *
 * Layout rules
 *   - shape[] is outermost first, in PyTorch order: a [B, L, D] tensor has
 *     ndim 3, shape {B, L, D}. Dimensions at index >= ndim are ignored.
 *   - stride[] is counted in elements, not bytes; a contiguous tensor has
 *     stride[ndim-1] == 1 and stride[i] == stride[i+1] * shape[i+1].
 *     Views (slices, permutes, transposes) are expressed with strides.
 *   - FP8 tensors carry a dequantisation scale: real = decode(code) * scale,
 *     times row_scale[i] for row i of dimension 0 when row_scale != NULL
 *     (per-output-channel weight scales). Both are ignored for other dtypes.
 *
 * This struct is frozen for ABI major version 1: it is passed by pointer in
 * arrays, so it carries no struct_size. Growth goes through new functions.
 */
#ifndef PICTOR_TENSOR_H
#define PICTOR_TENSOR_H

#include <stdint.h>

#define PICTOR_MAX_DIMS 5

enum pictor_dtype {
    PICTOR_F32 = 0,
    PICTOR_F16 = 1,     /* IEEE binary16 */
    PICTOR_BF16 = 2,    /* bfloat16, round-to-nearest-even on conversion */
    PICTOR_F8_E4M3 = 3, /* OCP FP8 E4M3 "fn": no inf, NaN = S.1111.111, max 448 */
    PICTOR_F8_E5M2 = 4, /* OCP FP8 E5M2: IEEE-like, inf and NaN, max 57344 */
    PICTOR_I32 = 5,
    PICTOR_I64 = 6,
    PICTOR_DTYPE_COUNT
};

enum pictor_device_kind {
    PICTOR_DEVICE_CPU = 0,
    PICTOR_DEVICE_CUDA = 1,
    PICTOR_DEVICE_KIND_COUNT
};

struct pictor_tensor {
    void *data;                      /* first element (views are pre-offset) */
    int32_t dtype;                   /* enum pictor_dtype */
    int32_t device;                  /* enum pictor_device_kind */
    int32_t device_index;            /* GPU ordinal; 0 on the CPU */
    int32_t ndim;                    /* 0..PICTOR_MAX_DIMS (0 = scalar) */
    int64_t shape[PICTOR_MAX_DIMS];  /* outermost first */
    int64_t stride[PICTOR_MAX_DIMS]; /* in elements */
    float scale;                     /* FP8 only: dequantisation scale */
    const float *row_scale;          /* FP8 only: [shape[0]] f32 on the
                                        tensor's device, or NULL */
};

typedef struct pictor_tensor pictor_tensor;

#endif /* PICTOR_TENSOR_H */
