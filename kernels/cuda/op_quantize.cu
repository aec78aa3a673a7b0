/*
 * kernels/cuda/op_quantize.cu — dynamic per-row E4M3 quantisation on the
 * GPU (twin of kernels/cpu/op_quantize.c; semantics in pictor/ops.h
 * pictor_quantize_rows). One block per row: amax as the maximum of |x|'s
 * bits (cu_block_amax: a NaN anywhere wins, one redux.sync per warp), then
 * codes = e4m3(x * (448 / amax)) and scales[r] = amax / 448 — the CPU's f32
 * operations in the same order, so the bytes match the CPU's.
 * Contiguous bf16 rows with K % 8 == 0 (FLUX's activations) are read 16
 * bytes at a time, their amax taken on the bf16 bits themselves, and
 * written 8 codes at a time; a row whose amax is finite (all of them in a
 * healthy model) is encoded by the hardware's e4m3x2 conversion
 * (cu_e4m3x4_finite), a row with an infinity or NaN by cu_f32_to_e4m3.
 * Everything else goes through cu_get (any dtype, any strides).
 */
#include "cuda_common.cuh"

#define QUANT_VEC 8 /* bf16 per 16-byte load */

static __global__ void __launch_bounds__(CU_ROW_THREADS)
quant_generic_kernel(cu_view x, uint8_t *y, float *scales, int64_t rows, int64_t K)
{
    __shared__ uint32_t shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * K;
        uint32_t m = 0;
        float amax, inv;

        for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
            m = max(m, cu_abs_bits(cu_get(x, base + k)));
        amax = cu_block_amax(m, shm);
        inv = PICTOR_E4M3_MAX / amax;
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
            y[base + k] = cu_f32_to_e4m3(cu_get(x, base + k) * inv, false);
        if (threadIdx.x == 0)
            scales[r] = cu_fp8_row_scale(amax);
    }
}

static __device__ __forceinline__ void unpack_bf16x8(uint4 p, float *f)
{
    const uint32_t w[4] = { p.x, p.y, p.z, p.w };

    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

/* Max of the f32 |v| bits of a bf16 pair word (bf16 bits are f32's top
 * half: the same order, NaN above infinity). */
static __device__ __forceinline__ uint32_t bf16x2_abs_bits(uint32_t w)
{
    return max(w & 0x7fff0000u, (w << 16) & 0x7fff0000u);
}

static __global__ void __launch_bounds__(CU_ROW_THREADS)
quant_bf16_kernel(const uint4 *x, uint2 *y, float *scales, int64_t rows, int64_t K8)
{
    __shared__ uint32_t shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const uint4 *xr = x + r * K8;
        uint2 *yr = y + r * K8;
        uint32_t m = 0;
        float amax, inv, f[QUANT_VEC];

#pragma unroll 4
        for (int64_t k = threadIdx.x; k < K8; k += blockDim.x) {
            const uint4 p = xr[k];

            m = max(m, max(max(bf16x2_abs_bits(p.x), bf16x2_abs_bits(p.y)),
                           max(bf16x2_abs_bits(p.z), bf16x2_abs_bits(p.w))));
        }
        amax = cu_block_amax(m, shm);
        inv = PICTOR_E4M3_MAX / amax;
        if (isfinite(amax)) { /* block-uniform */
#pragma unroll 4
            for (int64_t k = threadIdx.x; k < K8; k += blockDim.x) {
                unpack_bf16x8(xr[k], f);
                for (int i = 0; i < QUANT_VEC; i++)
                    f[i] *= inv;
                yr[k] = make_uint2(cu_e4m3x4_finite(f[0], f[1], f[2], f[3]),
                                   cu_e4m3x4_finite(f[4], f[5], f[6], f[7]));
            }
        } else {
            for (int64_t k = threadIdx.x; k < K8; k += blockDim.x) {
                uint32_t lo = 0, hi = 0;

                unpack_bf16x8(xr[k], f);
                for (int i = 0; i < 4; i++) {
                    lo |= (uint32_t)cu_f32_to_e4m3(f[i] * inv, false) << (8 * i);
                    hi |= (uint32_t)cu_f32_to_e4m3(f[i + 4] * inv, false) << (8 * i);
                }
                yr[k] = make_uint2(lo, hi);
            }
        }
        if (threadIdx.x == 0)
            scales[r] = cu_fp8_row_scale(amax);
    }
}

extern "C" int cuda_op_quantize_rows(void *vctx, const struct pictor_op_args *a, char *err,
                                     size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.quantize_rows.x;
    uint8_t *y = (uint8_t *)a->u.quantize_rows.y->data;
    float *scales = (float *)a->u.quantize_rows.scales->data;
    int64_t rows, K;

    cu_rows_of(x, &rows, &K);
    if (rows == 0 || K == 0)
        return PICTOR_OK;
    if (x->dtype == PICTOR_BF16 && pictor_tensor_is_contiguous(x) && K % QUANT_VEC == 0 &&
        (uintptr_t)x->data % 16 == 0 && (uintptr_t)y % 8 == 0)
        quant_bf16_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            (const uint4 *)x->data, (uint2 *)y, scales, rows, K / QUANT_VEC);
    else
        quant_generic_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            cu_view_of(x), y, scales, rows, K);
    return CU_LAUNCH_CHECK(err, errlen);
}
