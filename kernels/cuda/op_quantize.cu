/*
 * kernels/cuda/op_quantize.cu — dynamic per-row E4M3 quantisation on the
 * GPU (twin of kernels/cpu/op_quantize.c; semantics in pictor/ops.h
 * pictor_quantize_rows). One block per row: amax by a shuffle tree (NaN
 * noted with __syncthreads_or, since fmaxf drops it), then
 * codes = e4m3(x * (448 / amax)) and scales[r] = amax / 448 — the CPU's f32
 * operations in the same order, so the bytes match the CPU's.
 * Contiguous bf16 rows with K % 8 == 0 (FLUX's activations) are read 16
 * bytes at a time and written 8 codes at a time; everything else goes
 * through cu_get (any dtype, any strides).
 */
#include "cuda_common.cuh"

#define QUANT_VEC 8 /* bf16 per 16-byte load */

/* amax of the row as the block's common value (NaN when any thread saw a
 * NaN), floored at PICTOR_FP8_AMAX_FLOOR. */
static __device__ __forceinline__ float row_amax(float local, bool nan, float *shm)
{
    float amax = cu_block_max(local, shm);

    if (__syncthreads_or(nan))
        return NAN;
    return amax < PICTOR_FP8_AMAX_FLOOR ? PICTOR_FP8_AMAX_FLOOR : amax;
}

static __global__ void __launch_bounds__(CU_ROW_THREADS)
quant_generic_kernel(cu_view x, uint8_t *y, float *scales, int64_t rows, int64_t K)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * K;
        float m = 0.0f, amax, inv;
        bool nan = false;

        for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
            float v = fabsf(cu_get(x, base + k));

            nan |= isnan(v);
            m = v > m ? v : m;
        }
        amax = row_amax(m, nan, shm);
        inv = PICTOR_E4M3_MAX / amax;
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
            y[base + k] = cu_f32_to_e4m3(cu_get(x, base + k) * inv, false);
        if (threadIdx.x == 0)
            scales[r] = cu_fp8_row_scale(amax);
        __syncthreads(); /* the next row's reduction reuses shm */
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

static __global__ void __launch_bounds__(CU_ROW_THREADS)
quant_bf16_kernel(const uint4 *x, uint2 *y, float *scales, int64_t rows, int64_t K8)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const uint4 *xr = x + r * K8;
        uint2 *yr = y + r * K8;
        float m = 0.0f, amax, inv, f[QUANT_VEC];
        bool nan = false;

        for (int64_t k = threadIdx.x; k < K8; k += blockDim.x) {
            unpack_bf16x8(xr[k], f);
            for (int i = 0; i < QUANT_VEC; i++) {
                float v = fabsf(f[i]);

                nan |= isnan(v);
                m = v > m ? v : m;
            }
        }
        amax = row_amax(m, nan, shm);
        inv = PICTOR_E4M3_MAX / amax;
        for (int64_t k = threadIdx.x; k < K8; k += blockDim.x) {
            uint32_t lo = 0, hi = 0;

            unpack_bf16x8(xr[k], f);
            for (int i = 0; i < 4; i++) {
                lo |= (uint32_t)cu_f32_to_e4m3(f[i] * inv, false) << (8 * i);
                hi |= (uint32_t)cu_f32_to_e4m3(f[i + 4] * inv, false) << (8 * i);
            }
            yr[k] = make_uint2(lo, hi);
        }
        if (threadIdx.x == 0)
            scales[r] = cu_fp8_row_scale(amax);
        __syncthreads();
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
