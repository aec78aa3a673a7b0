/*
 * kernels/cuda/op_binary.cu — y = a + b and y = a * b with NumPy
 * broadcasting on the GPU (twin of kernels/cpu/op_binary.c). Each operand
 * is viewed with y's shape and stride 0 along the dims it repeats, so any
 * dtypes and strides work (cu_views_canon walks them in y's memory order);
 * in place allowed (y the same view as a or b: each thread reads its
 * operands before writing its element).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
binary_kernel(int fn, cu_view a, cu_view b, cu_view y, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        float va = cu_get(a, i), vb = cu_get(b, i);

        cu_set(y, i, fn == PICTOR_BINARY_ADD ? va + vb : va * vb, false);
    }
}

extern "C" int cuda_op_binary(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *y = a->u.binary.y;
    int64_t n = pictor_tensor_numel(y);

    cu_view yv = cu_view_of(y), av = cu_view_bcast(a->u.binary.a, y),
            bv = cu_view_bcast(a->u.binary.b, y);
    cu_view *const views[3] = {&yv, &av, &bv};

    if (n == 0)
        return PICTOR_OK;
    cu_views_canon(views, 3);
    binary_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>((int)a->u.binary.fn, av, bv, yv,
                                                              n);
    return CU_LAUNCH_CHECK(err, errlen);
}
