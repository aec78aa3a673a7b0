/*
 * kernels/cuda/op_unary.cu — elementwise activations on the GPU (twin of
 * kernels/cpu/op_unary.c): GELU erf/tanh, QuickGELU, SiLU in f32 with the
 * IEEE erff/tanhf/expf (no fast math), any float dtypes and strides (in
 * y's memory order: cu_views_canon), in place allowed (each thread reads
 * its element before writing it).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
unary_kernel(int fn, cu_view x, cu_view y, int64_t n)
{
    CU_GRID_STRIDE(i, n)
        cu_set(y, i, cu_unary(fn, cu_get(x, i)), false);
}

extern "C" int cuda_op_unary(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    int64_t n = pictor_tensor_numel(a->u.unary.y);
    cu_view yv = cu_view_of(a->u.unary.y), xv = cu_view_of(a->u.unary.x);
    cu_view *const views[2] = {&yv, &xv};

    if (n == 0)
        return PICTOR_OK;
    cu_views_canon(views, 2);
    unary_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>((int)a->u.unary.fn, xv, yv, n);
    return CU_LAUNCH_CHECK(err, errlen);
}
