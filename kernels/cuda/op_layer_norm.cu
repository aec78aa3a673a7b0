/*
 * kernels/cuda/op_layer_norm.cu — torch.nn.functional.layer_norm over the
 * last dim on the GPU (twin of kernels/cpu/op_layer_norm.c):
 * y = (x - mean) / sqrt(var + eps) * gamma + beta, biased variance, gamma
 * and beta optional. One block per row (grid-stride over rows); statistics
 * in f32 by two passes (mean, then sum of squared deviations: no
 * cancellation for rows with a large mean), each a per-thread sum then a
 * shuffle tree. Any dtypes and strides; in place allowed: the row is read
 * completely (two barriers) before the third pass writes it, and in that
 * pass each thread reads its element before writing it.
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_ROW_THREADS)
layer_norm_kernel(cu_view x, cu_view y, cu_view g, cu_view b,
                  bool has_g, bool has_b, float eps, int64_t rows,
                  int64_t D)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * D;
        float s = 0.0f, mean, rstd;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            s += cu_get(x, base + k);
        mean = cu_block_sum(s, shm) / (float)D;
        s = 0.0f;
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float d = cu_get(x, base + k) - mean;
            s += d * d;
        }
        rstd = 1.0f / sqrtf(cu_block_sum(s, shm) / (float)D + eps);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = (cu_get(x, base + k) - mean) * rstd;

            if (has_g)
                v *= cu_get(g, k);
            if (has_b)
                v += cu_get(b, k);
            cu_set(y, base + k, v, false);
        }
        __syncthreads(); /* the next row's first reduction reuses shm */
    }
}

extern "C" int cuda_op_layer_norm(void *vctx, const struct pictor_op_args *a, char *err,
                                  size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.layer_norm.x;
    const pictor_tensor *g = a->u.layer_norm.gamma, *b = a->u.layer_norm.beta;
    cu_view gv, bv;
    int64_t rows, D;

    cu_rows_of(x, &rows, &D);
    if (rows == 0 || D == 0)
        return PICTOR_OK;
    memset(&gv, 0, sizeof gv);
    memset(&bv, 0, sizeof bv);
    if (g)
        gv = cu_view_of(g);
    if (b)
        bv = cu_view_of(b);
    layer_norm_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
        cu_view_of(x), cu_view_of(a->u.layer_norm.y), gv, bv, g != NULL, b != NULL,
        a->u.layer_norm.eps, rows, D);
    return CU_LAUNCH_CHECK(err, errlen);
}
