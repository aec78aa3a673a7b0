/*
 * kernels/cuda/op_unary.cu — elementwise activations on the GPU (twin of
 * kernels/cpu/op_unary.c): GELU erf/tanh, QuickGELU, SiLU in f32 with the
 * IEEE erff/tanhf/expf (no fast math), any float dtypes and strides, in
 * place allowed (each thread reads its element before writing it).
 */
#include "cuda_common.cuh"

/* Constants as in kernels/cpu/op_unary.c. */
#define GELU_TANH_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_TANH_C 0.044715f           /* Hendrycks & Gimpel 2016 */
#define GELU_ERF_K 0.7071067811865476f  /* 1/sqrt(2) */
#define QUICK_GELU_K 1.702f             /* OpenAI CLIP QuickGELU */

static __device__ __forceinline__ float unary_fn(int fn, float x)
{
    switch (fn) {
    case PICTOR_UNARY_GELU_ERF:
        return 0.5f * x * (1.0f + erff(x * GELU_ERF_K));
    case PICTOR_UNARY_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(GELU_TANH_K * (x + GELU_TANH_C * x * x * x)));
    case PICTOR_UNARY_QUICK_GELU:
        return x / (1.0f + expf(-QUICK_GELU_K * x));
    case PICTOR_UNARY_SILU:
        return x / (1.0f + expf(-x));
    default:
        return x;
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
unary_kernel(int fn, cu_view x, cu_view y, int64_t n)
{
    CU_GRID_STRIDE(i, n)
        cu_set(y, i, unary_fn(fn, cu_get(x, i)), false);
}

extern "C" int cuda_op_unary(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    int64_t n = pictor_tensor_numel(a->u.unary.y);

    if (n == 0)
        return PICTOR_OK;
    unary_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(
        (int)a->u.unary.fn, cu_view_of(a->u.unary.x), cu_view_of(a->u.unary.y), n);
    return CU_LAUNCH_CHECK(err, errlen);
}
