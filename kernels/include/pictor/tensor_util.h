/*
 * pictor/tensor_util.h — building, viewing and allocating pictor_tensor
 * descriptors. Pure descriptor arithmetic except the alloc/free pair, which
 * goes through the backend. Views never copy and never own memory.
 *
 * Thread: any (functions touch only their arguments), except alloc/free which
 * follow the backend's rule.
 */
#ifndef PICTOR_TENSOR_UTIL_H
#define PICTOR_TENSOR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/tensor.h"

/* Same typedef as pictor/ops.h (C11 allows the repeat): this header must
 * compile on its own. */
typedef struct pictor_tensor pictor_tensor;

/* Bytes per element (1 for FP8); 0 for an invalid dtype. */
size_t pictor_dtype_size(int dtype);
bool pictor_dtype_is_float(int dtype);
bool pictor_dtype_valid(int dtype);
/* "f32", "f16", "bf16", "f8_e4m3", "f8_e5m2", "i32", "i64" or "?". */
const char *pictor_dtype_name(int dtype);

/* A contiguous descriptor over `data` (device CPU, scale 1). ndim <= 5 and
 * every shape[i] >= 0 are the caller's responsibility (asserted). */
pictor_tensor pictor_tensor_make(void *data, int dtype, int ndim,
                                 const int64_t *shape);

int64_t pictor_tensor_numel(const pictor_tensor *t);
/* numel * dtype size (meaningful for contiguous tensors). */
size_t pictor_tensor_nbytes(const pictor_tensor *t);
bool pictor_tensor_is_contiguous(const pictor_tensor *t);
bool pictor_tensor_same_shape(const pictor_tensor *a, const pictor_tensor *b);
/* Writes "[2, 3, 4] f32" into buf; returns buf. */
char *pictor_tensor_describe(const pictor_tensor *t, char *buf, size_t len);
/* Resets strides to the contiguous ones for the current shape. */
void pictor_tensor_set_contiguous(pictor_tensor *t);

/* View of [start, start+len) along dim; asserts bounds. */
pictor_tensor pictor_tensor_slice(const pictor_tensor *t, int dim,
                                  int64_t start, int64_t len);
/* View with dims reordered: out.shape[i] = t.shape[perm[i]]. */
pictor_tensor pictor_tensor_permute(const pictor_tensor *t, const int *perm);
/* View with dims a and b swapped. */
pictor_tensor pictor_tensor_transpose(const pictor_tensor *t, int a, int b);
/* View with a new shape of the same numel; only for contiguous t
 * (returns PICTOR_E_INVALID otherwise). One entry may be -1 (inferred). */
int pictor_tensor_reshape(const pictor_tensor *t, int ndim,
                          const int64_t *shape, pictor_tensor *out);
/* View with a size-1 dim inserted at `dim`. */
pictor_tensor pictor_tensor_unsqueeze(const pictor_tensor *t, int dim);

/* Allocates a contiguous tensor on the backend's device. */
int pictor_tensor_alloc(pictor_backend *be, pictor_tensor *t, int dtype,
                        int ndim, const int64_t *shape);
/* Frees memory from pictor_tensor_alloc and clears t->data. */
void pictor_tensor_free(pictor_backend *be, pictor_tensor *t);

#endif /* PICTOR_TENSOR_UTIL_H */
