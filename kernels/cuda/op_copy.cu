/*
 * kernels/cuda/op_copy.cu — strided copy with dtype conversion on the GPU
 * (twin of kernels/cpu/op_copy.c), with the same three paths:
 *   - same dtype and no rescaling: the element's bytes move unchanged (NaN
 *     payloads and all);
 *   - integer to integer: by value through int64 (i64 -> i32 wraps modulo
 *     2^32, as a two's-complement narrowing cast does);
 *   - everything else through f32: loads apply FP8 scale and row_scale,
 *     stores round as kernels/src/convert.c does (RNE, NaN kept, FP8 divides
 *     by dst->scale and saturates when asked).
 * src and dst must not overlap (the wrapper's contract).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
copy_raw_kernel(cu_view s, cu_view d, int esize, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t row;
        int64_t so = cu_offset(s, i, &row), dof = cu_offset(d, i, &row);

        switch (esize) {
        case 1:
            ((uint8_t *)d.data)[dof] = ((const uint8_t *)s.data)[so];
            break;
        case 2:
            ((uint16_t *)d.data)[dof] = ((const uint16_t *)s.data)[so];
            break;
        case 4:
            ((uint32_t *)d.data)[dof] = ((const uint32_t *)s.data)[so];
            break;
        default:
            ((uint64_t *)d.data)[dof] = ((const uint64_t *)s.data)[so];
            break;
        }
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
copy_int_kernel(cu_view s, cu_view d, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t row;
        int64_t so = cu_offset(s, i, &row), dof = cu_offset(d, i, &row);
        int64_t v = s.dtype == PICTOR_I32 ? (int64_t)((const int32_t *)s.data)[so]
                                          : ((const int64_t *)s.data)[so];

        if (d.dtype == PICTOR_I32) /* low 32 bits: modular narrowing */
            ((uint32_t *)d.data)[dof] = (uint32_t)((uint64_t)v & 0xffffffffu);
        else
            ((int64_t *)d.data)[dof] = v;
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
copy_f32_kernel(cu_view s, cu_view d, bool saturate, int64_t n)
{
    CU_GRID_STRIDE(i, n)
        cu_set(d, i, cu_get(s, i), saturate);
}

static bool is_int(int dtype)
{
    return dtype == PICTOR_I32 || dtype == PICTOR_I64;
}

extern "C" int cuda_op_copy(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *src = a->u.copy.src;
    pictor_tensor *dst = a->u.copy.dst;
    int64_t n = pictor_tensor_numel(dst);
    int sd = src->dtype, dd = dst->dtype;
    cu_view sv = cu_view_of(src), dv = cu_view_of(dst);
    unsigned blocks = cu_blocks(n);

    if (n == 0)
        return PICTOR_OK;
    dv.row_scale = NULL; /* stores ignore it */
    if (sd == dd && (!cu_is_fp8(sd) || (src->scale == dst->scale && !src->row_scale))) {
        sv.row_scale = NULL;
        copy_raw_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv,
                                                             (int)pictor_dtype_size(sd), n);
    } else if (is_int(sd) && is_int(dd)) {
        copy_int_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv, n);
    } else {
        copy_f32_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv, a->u.copy.saturate, n);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
