/*
 * kernels/cuda/op_rms_norm.cu — RMSNorm over the last dim on the GPU (twin
 * of kernels/cpu/op_rms_norm.c): y = x / sqrt(mean(x^2) + eps) * weight,
 * weight optional. One block per row; mean(x^2) in f32 (a sum of
 * non-negative terms: no cancellation), per-thread sums then a shuffle
 * tree. Any dtypes and strides; in place allowed (the sum barrier precedes
 * every write, and each thread reads its element before writing it).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_ROW_THREADS)
rms_norm_kernel(cu_view x, cu_view y, cu_view w, bool has_w, float eps,
                int64_t rows, int64_t D)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * D;
        float s = 0.0f, rs;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = cu_get(x, base + k);
            s += v * v;
        }
        rs = 1.0f / sqrtf(cu_block_sum(s, shm) / (float)D + eps);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = cu_get(x, base + k) * rs;

            if (has_w)
                v *= cu_get(w, k);
            cu_set(y, base + k, v, false);
        }
        __syncthreads(); /* the next row's reduction reuses shm */
    }
}

extern "C" int cuda_op_rms_norm(void *vctx, const struct pictor_op_args *a, char *err,
                                size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.rms_norm.x, *w = a->u.rms_norm.weight;
    cu_view wv;
    int64_t rows, D;

    cu_rows_of(x, &rows, &D);
    if (rows == 0 || D == 0)
        return PICTOR_OK;
    memset(&wv, 0, sizeof wv);
    if (w)
        wv = cu_view_of(w);
    rms_norm_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
        cu_view_of(x), cu_view_of(a->u.rms_norm.y), wv, w != NULL, a->u.rms_norm.eps, rows, D);
    return CU_LAUNCH_CHECK(err, errlen);
}
