/*
 * kernels/cuda/op_fill.cu — y[...] = value on the GPU (twin of
 * kernels/cpu/op_fill.c), any dtype, any strides. The value is encoded once
 * on the host with pictor_row_from_f32 (the CPU's rounding, FP8 divided by
 * y->scale without saturation) and its bytes replicated, so every element
 * is bit-identical to the CPU's.
 */
#include "cuda_common.cuh"

/* bits: the encoded element in its low esize bytes (i64 is the widest). */
static __global__ void __launch_bounds__(CU_THREADS)
fill_kernel(cu_view y, uint64_t bits, int esize, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t row;
        int64_t off = cu_offset(y, i, &row);

        switch (esize) {
        case 1:
            ((uint8_t *)y.data)[off] = (uint8_t)bits;
            break;
        case 2:
            ((uint16_t *)y.data)[off] = (uint16_t)bits;
            break;
        case 4:
            ((uint32_t *)y.data)[off] = (uint32_t)bits;
            break;
        default:
            ((uint64_t *)y.data)[off] = bits;
            break;
        }
    }
}

extern "C" int cuda_op_fill(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    pictor_tensor *y = a->u.fill.y;
    int64_t n = pictor_tensor_numel(y);
    size_t es = pictor_dtype_size(y->dtype);
    float v = a->u.fill.value;
    unsigned char elem[8] = { 0 }; /* one encoded element, little-endian */
    uint64_t bits = 0;
    cu_view yv = cu_view_of(y);

    if (n == 0)
        return PICTOR_OK;
    pictor_row_from_f32(elem, y->dtype, &v, 1, y->scale, false);
    memcpy(&bits, elem, sizeof bits);
    yv.row_scale = NULL; /* stores ignore it; no row index needed */
    fill_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(yv, bits, (int)es, n);
    return CU_LAUNCH_CHECK(err, errlen);
}
