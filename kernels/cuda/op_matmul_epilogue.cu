/*
 * kernels/cuda/op_matmul_epilogue.cu — the scaling epilogue of the FP8
 * matmul paths (kernels/cuda/op_matmul.c): after a GEMM into an f32 D,
 *   c[.., m, n] = act(D[.., m, n] * row_scale[m] * col_scale[n] + bias[n])
 * with one rounding into c's dtype (act: an enum pictor_unary, or none). row_scale are the per-token scales of
 * a 2-D FP8 a (pictor_quantize_rows), col_scale a linear's per-output-
 * channel weight scales; either may be NULL, as may the bias. One
 * elementwise pass; D may be c itself (each element is read before it is
 * written by the same thread).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
scale_epilogue_kernel(cu_view d, cu_view c, const float *row_scale, const float *col_scale,
                      cu_view bias, bool has_bias, int act, int64_t n, int64_t M, int64_t N)
{
    CU_GRID_STRIDE(i, n) {
        int64_t col = i % N, row = (i / N) % M;
        float v = cu_get(d, i);

        if (row_scale)
            v *= row_scale[row];
        if (col_scale)
            v *= col_scale[col];
        if (has_bias)
            v += cu_get(bias, col);
        if (act >= 0)
            v = cu_unary(act, v);
        cu_set(c, i, v, false);
    }
}

extern "C" int cuda_matmul_scale_epilogue(struct cuda_ctx *ctx, const pictor_tensor *d,
                                          const float *row_scale, const float *col_scale,
                                          const pictor_tensor *bias, int act,
                                          pictor_tensor *c, char *err, size_t errlen)
{
    int64_t n = pictor_tensor_numel(c);
    int64_t M = c->shape[c->ndim - 2], N = c->shape[c->ndim - 1];
    cu_view bv;

    if (n == 0)
        return PICTOR_OK;
    memset(&bv, 0, sizeof bv);
    if (bias)
        bv = cu_view_of(bias);
    scale_epilogue_kernel<<<cu_blocks(n), CU_THREADS, 0, ctx->stream>>>(
        cu_view_of(d), cu_view_of(c), row_scale, col_scale, bv, bias != NULL, act, n, M, N);
    return CU_LAUNCH_CHECK(err, errlen);
}
