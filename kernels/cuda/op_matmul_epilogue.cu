/*
 * kernels/cuda/op_matmul_epilogue.cu — the elementwise ends of the
 * matmul's scaled and gated paths (kernels/cuda/op_matmul.c):
 *
 * The scaling epilogue: after a GEMM into an f32 D,
 *   v = act(D[.., m, n] * row_scale[m] * col_scale[n] + bias[n])
 * and c[.., m, n] = v, with one rounding into c's dtype (act: an enum
 * pictor_unary, or none); or, with a gate broadcasting to c (the gated
 * linear, c f32), c += gate * v, as pictor_gated_add does it (the product
 * rounded, then added: __fmul_rn keeps the compiler from fusing the two
 * into an FMA, so given the same v the bytes are the CPU's). row_scale are
 * the per-token scales of a 2-D FP8 a (pictor_quantize_rows), col_scale a
 * linear's per-output-channel weight scales; either may be NULL, as may
 * the bias. One elementwise pass; D may be c itself when there is no gate
 * (each element is read before it is written by the same thread).
 *
 * The gate fold (the gated FP8 linear on cuBLASLt's OUTER_VEC route,
 * fp8_route.h): sa[n] = col_scale[n] * g[n] and bias_out[n] = g[n] *
 * bias[n], so that cuBLASLt's alpha * sa[m] * sb[n] * acc + bias_out[m] +
 * C equals c + g * (the scaled product + bias).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
scale_epilogue_kernel(cu_view d, cu_view c, const float *row_scale, const float *col_scale,
                      cu_view bias, bool has_bias, int act, cu_view gate, bool has_gate,
                      int64_t n, int64_t M, int64_t N)
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
        if (has_gate)
            v = cu_get(c, i) + __fmul_rn(cu_get(gate, i), v);
        cu_set(c, i, v, false);
    }
}

extern "C" int cuda_matmul_scale_epilogue(struct cuda_ctx *ctx, const pictor_tensor *d,
                                          const float *row_scale, const float *col_scale,
                                          const pictor_tensor *bias, int act,
                                          const pictor_tensor *gate, pictor_tensor *c,
                                          char *err, size_t errlen)
{
    int64_t n = pictor_tensor_numel(c);
    int64_t M = c->shape[c->ndim - 2], N = c->shape[c->ndim - 1];
    cu_view bv, gv;

    if (n == 0)
        return PICTOR_OK;
    memset(&bv, 0, sizeof bv);
    memset(&gv, 0, sizeof gv);
    if (bias)
        bv = cu_view_of(bias);
    if (gate)
        gv = cu_view_bcast(gate, c);
    scale_epilogue_kernel<<<cu_blocks(n), CU_THREADS, 0, ctx->stream>>>(
        cu_view_of(d), cu_view_of(c), row_scale, col_scale, bv, bias != NULL, act, gv,
        gate != NULL, n, M, N);
    return CU_LAUNCH_CHECK(err, errlen);
}

static __global__ void __launch_bounds__(CU_THREADS)
gate_fold_kernel(const float *col_scale, cu_view gate, cu_view bias, bool has_bias, int64_t n,
                 float *sa, cu_view bias_out)
{
    const bool one = gate.shape[0] == 1; /* a [1] gate: the same for all */

    CU_GRID_STRIDE(i, n) {
        float g = cu_get(gate, one ? 0 : i);

        sa[i] = col_scale[i] * g;
        if (has_bias)
            cu_set(bias_out, i, g * cu_get(bias, i), false);
    }
}

extern "C" int cuda_matmul_gate_fold(struct cuda_ctx *ctx, const float *col_scale,
                                     const pictor_tensor *gate, const pictor_tensor *bias,
                                     int64_t n, float *sa, pictor_tensor *bias_out, char *err,
                                     size_t errlen)
{
    cu_view bv, bo;

    if (n == 0)
        return PICTOR_OK;
    memset(&bv, 0, sizeof bv);
    memset(&bo, 0, sizeof bo);
    if (bias) {
        bv = cu_view_of(bias);
        bo = cu_view_of(bias_out);
    }
    gate_fold_kernel<<<cu_blocks(n), CU_THREADS, 0, ctx->stream>>>(
        col_scale, cu_view_of(gate), bv, bias != NULL, n, sa, bo);
    return CU_LAUNCH_CHECK(err, errlen);
}
