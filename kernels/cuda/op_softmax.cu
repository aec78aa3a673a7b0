/*
 * kernels/cuda/op_softmax.cu — softmax over the last dim on the GPU (twin
 * of kernels/cpu/op_softmax.c), max-subtracted:
 * y = exp(x - max) / sum(exp(x - max)), the sum in f32 (terms in [0, 1]).
 * -inf entries give 0; an all -inf row gives NaN, as torch.softmax does.
 * One block per row; any dtypes and strides; in place allowed (both
 * reductions finish, with barriers, before the writing pass, where each
 * thread reads its element before writing it).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_ROW_THREADS)
softmax_kernel(cu_view x, cu_view y, int64_t rows, int64_t D)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * D;
        float mx = -INFINITY, s = 0.0f, inv;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            mx = fmaxf(mx, cu_get(x, base + k));
        mx = cu_block_max(mx, shm);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            s += expf(cu_get(x, base + k) - mx);
        inv = 1.0f / cu_block_sum(s, shm);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            cu_set(y, base + k, expf(cu_get(x, base + k) - mx) * inv, false);
        __syncthreads(); /* the next row's reduction reuses shm */
    }
}

extern "C" int cuda_op_softmax(void *vctx, const struct pictor_op_args *a, char *err,
                               size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.softmax.x;
    int64_t rows, D;

    cu_rows_of(x, &rows, &D);
    if (rows == 0 || D == 0)
        return PICTOR_OK;
    softmax_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
        cu_view_of(x), cu_view_of(a->u.softmax.y), rows, D);
    return CU_LAUNCH_CHECK(err, errlen);
}
