/*
 * kernels/cuda/op_upsample.cu — nearest-neighbour 2x upsampling on the GPU
 * (twin of kernels/cpu/op_upsample.c, torch F.interpolate(scale_factor=2,
 * mode="nearest")): y[b, c, oh, ow] = x[b, c, oh / 2, ow / 2]. One thread
 * per output element; any dtypes and strides (x and y must not overlap).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
upsample_kernel(cu_view x, cu_view y, int64_t H, int64_t W, int64_t n)
{
    int64_t W2 = 2 * W, H2 = 2 * H;

    CU_GRID_STRIDE(i, n) {
        int64_t ow = i % W2, r = i / W2; /* r = (b*C + c)*2H + oh */
        int64_t oh = r % H2, bc = r / H2;
        int64_t src = (bc * H + oh / 2) * W + ow / 2;

        cu_set(y, i, cu_get(x, src), false);
    }
}

extern "C" int cuda_op_upsample(void *vctx, const struct pictor_op_args *a, char *err,
                                size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.upsample.x;
    pictor_tensor *y = a->u.upsample.y;
    int64_t n = pictor_tensor_numel(y);

    if (n == 0)
        return PICTOR_OK;
    upsample_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(
        cu_view_of(x), cu_view_of(y), x->shape[2], x->shape[3], n);
    return CU_LAUNCH_CHECK(err, errlen);
}
