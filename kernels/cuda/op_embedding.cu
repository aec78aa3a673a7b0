/*
 * kernels/cuda/op_embedding.cu — table lookup on the GPU (twin of
 * kernels/cpu/op_embedding.c): y[..., :] = table[ids[...], :], ids I32 or
 * I64 of any shape and strides, table and y any float dtypes/strides.
 *
 * Ids live in device memory, so the wrapper cannot range-check them: the
 * kernel clamps an out-of-range id into [0, V) (no out-of-bounds read) and
 * records the smallest flat position holding one in a device flag. The op
 * then waits for the stream, reads the flag and, if set, fails with
 * PICTOR_E_INVALID naming the first bad id and its flat position (y
 * then holds clamped rows: the caller must not use it). This makes the op
 * synchronous — a few microseconds, once per text-encoder call.
 */
#include "cuda_common.cuh"

/* Flag value meaning "no bad id" (all bits set, as cudaMemsetAsync 0xff
 * leaves it). */
#define EMB_NO_BAD 0xffffffffffffffffull

static __device__ __forceinline__ int64_t emb_id(const cu_view &ids, int64_t n)
{
    int64_t row;
    int64_t off = cu_offset(ids, n, &row);

    return ids.dtype == PICTOR_I32 ? (int64_t)((const int32_t *)ids.data)[off]
                                   : ((const int64_t *)ids.data)[off];
}

static __global__ void __launch_bounds__(CU_THREADS)
embedding_kernel(cu_view table, cu_view ids, cu_view y, int64_t V,
                 int64_t D, int64_t total,
                 unsigned long long *first_bad)
{
    CU_GRID_STRIDE(i, total) {
        int64_t n = i / D, d = i % D, id = emb_id(ids, n);

        if (id < 0 || id >= V) {
            if (d == 0) /* one report per position */
                atomicMin(first_bad, (unsigned long long)n);
            id = id < 0 ? 0 : V - 1;
        }
        cu_set(y, i, cu_get(table, id * D + d), false);
    }
}

/* Host: element offset of flat index n in t. */
static int64_t host_offset(const pictor_tensor *t, int64_t n)
{
    int64_t off = 0;

    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (n % t->shape[d]) * t->stride[d];
        n /= t->shape[d];
    }
    return off;
}

extern "C" int cuda_op_embedding(void *vctx, const struct pictor_op_args *a, char *err,
                                 size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *table = a->u.embedding.table, *ids = a->u.embedding.ids;
    cu_view iv = cu_view_of(ids);
    int64_t V = table->shape[0], D = table->shape[1], n = pictor_tensor_numel(ids);
    unsigned long long *flag = NULL, bad = EMB_NO_BAD;
    int rc;

    if (n == 0 || D == 0)
        return PICTOR_OK;
    if (V == 0) {
        snprintf(err, errlen, "embedding: empty table: no id is in range");
        return PICTOR_E_INVALID;
    }
    if ((rc = CU_CHECK(cudaMallocAsync((void **)&flag, sizeof *flag, c->stream), err, errlen)))
        return rc;
    if ((rc = CU_CHECK(cudaMemsetAsync(flag, 0xff, sizeof *flag, c->stream), err, errlen)))
        goto out_free;
    iv.row_scale = NULL;
    embedding_kernel<<<cu_blocks(n * D), CU_THREADS, 0, c->stream>>>(
        cu_view_of(table), iv, cu_view_of(a->u.embedding.y), V, D, n * D, flag);
    if ((rc = CU_LAUNCH_CHECK(err, errlen)) ||
        (rc = CU_CHECK(cudaMemcpyAsync(&bad, flag, sizeof bad, cudaMemcpyDeviceToHost,
                                       c->stream), err, errlen)) ||
        (rc = CU_CHECK(cudaStreamSynchronize(c->stream), err, errlen)))
        goto out_free;
    if (bad != EMB_NO_BAD) {
        int64_t pos = (int64_t)bad, id = 0;
        size_t es = pictor_dtype_size(ids->dtype);
        const char *p = (const char *)ids->data + host_offset(ids, pos) * (int64_t)es;
        int32_t v32 = 0;

        if (ids->dtype == PICTOR_I32) {
            rc = CU_CHECK(cudaMemcpy(&v32, p, sizeof v32, cudaMemcpyDeviceToHost), err, errlen);
            id = v32;
        } else {
            rc = CU_CHECK(cudaMemcpy(&id, p, sizeof id, cudaMemcpyDeviceToHost), err, errlen);
        }
        if (rc == PICTOR_OK) {
            /* Worded as the wrapper's check of host ids (kernels/src/ops.c). */
            snprintf(err, errlen, "embedding: ids element %lld is %lld, outside [0, %lld)",
                     (long long)pos, (long long)id, (long long)V);
            rc = PICTOR_E_INVALID;
        }
    }
out_free:
    cudaFreeAsync(flag, c->stream);
    return rc;
}
