/*
 * kernels/cuda/op_fused.cuh — what the fused ops' kernel files share
 * (op_fused.cu: gated_add, rms_norm_rope; op_fused_ada.cu: ada_layer_norm):
 * the fast paths' chunked element access (device) and the host's checks
 * that choose them. The paths themselves: op_fused.cu's header.
 */
#ifndef PICTOR_CUDA_OP_FUSED_CUH
#define PICTOR_CUDA_OP_FUSED_CUH

#include "cuda_common.cuh"

/* Elements per chunk of the fast paths: 16 bytes of a 16-bit row (one
 * uint4), 32 bytes of an f32 row (two float4); 4 rotary pairs. */
#define FZ_CH 8
/* Chunks per thread: ada_layer_norm's register cache of its row, and the
 * per-thread share that fz_threads sizes blocks for. */
#define FZ_ITERS 4

/* Per-operand choice of vector accesses on the fast path: x, y, and the
 * op's other operands a, b, c (named at each kernel). */
struct fz_vec {
    bool x, y, a, b, c;
};

/* ---- fast-path element access ----------------------------------------- */

/* FZ_CH 16-bit values (F16 or BF16) packed as 16 bytes, element 2j in the
 * low half of word j (little endian), as f32. */
static __device__ __forceinline__ void fz_unpack16(uint4 t, int dtype, float (&v)[FZ_CH])
{
    const uint32_t w[FZ_CH / 2] = { t.x, t.y, t.z, t.w };

#pragma unroll
    for (int j = 0; j < FZ_CH; j++) {
        uint32_t h = (w[j / 2] >> (16 * (j % 2))) & 0xffffu;

        v[j] = dtype == PICTOR_BF16 ? cu_u2f(h << 16) : cu_f16_to_f32(h);
    }
}

/* v rounded to F16 or BF16 (cu_store_raw's rounding), packed as
 * fz_unpack16 reads them. */
static __device__ __forceinline__ uint4 fz_pack16(const float (&v)[FZ_CH], int dtype)
{
    uint32_t w[FZ_CH / 2];
    const bool bf = dtype == PICTOR_BF16;

#pragma unroll
    for (int j = 0; j < FZ_CH / 2; j++) {
        uint32_t lo = bf ? cu_f32_to_bf16(v[2 * j]) : cu_f32_to_f16(v[2 * j]);
        uint32_t hi = bf ? cu_f32_to_bf16(v[2 * j + 1]) : cu_f32_to_f16(v[2 * j + 1]);

        w[j] = lo | hi << 16;
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

/* Reads FZ_CH contiguous elements at element offset off of an F32, F16 or
 * BF16 array into v as f32. vec: 16-byte vector loads (alignment checked
 * by the host: fz_aligned). */
static __device__ __forceinline__ void fz_load(const char *base, int dtype, int64_t off,
                                               bool vec, float (&v)[FZ_CH])
{
    if (dtype == PICTOR_F32) {
        const float *p = (const float *)base + off;

        if (vec) {
#pragma unroll
            for (int j = 0; j < FZ_CH; j += 4) {
                float4 t = *(const float4 *)(p + j);

                v[j] = t.x;
                v[j + 1] = t.y;
                v[j + 2] = t.z;
                v[j + 3] = t.w;
            }
        } else {
#pragma unroll
            for (int j = 0; j < FZ_CH; j++)
                v[j] = p[j];
        }
        return;
    }
    const uint16_t *p = (const uint16_t *)base + off;
    uint32_t w[FZ_CH / 2];

    if (vec) {
        fz_unpack16(*(const uint4 *)p, dtype, v);
        return;
    }
#pragma unroll
    for (int j = 0; j < FZ_CH / 2; j++)
        w[j] = (uint32_t)p[2 * j] | (uint32_t)p[2 * j + 1] << 16;
    fz_unpack16(make_uint4(w[0], w[1], w[2], w[3]), dtype, v);
}

/* One F32, F16 or BF16 element at element offset off, as f32. */
static __device__ __forceinline__ float fz_load1(const char *base, int dtype, int64_t off)
{
    if (dtype == PICTOR_F32)
        return ((const float *)base)[off];
    const uint32_t h = ((const uint16_t *)base)[off];

    return dtype == PICTOR_BF16 ? cu_u2f(h << 16) : cu_f16_to_f32(h);
}

/* Writes v to FZ_CH contiguous elements at element offset off, rounded as
 * cu_store_raw does. */
static __device__ __forceinline__ void fz_store(char *base, int dtype, int64_t off, bool vec,
                                                const float (&v)[FZ_CH])
{
    if (dtype == PICTOR_F32) {
        float *p = (float *)base + off;

        if (vec) {
#pragma unroll
            for (int j = 0; j < FZ_CH; j += 4)
                *(float4 *)(p + j) = make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]);
        } else {
#pragma unroll
            for (int j = 0; j < FZ_CH; j++)
                p[j] = v[j];
        }
        return;
    }
    uint16_t *p = (uint16_t *)base + off;
    const uint4 t = fz_pack16(v, dtype);
    const uint32_t w[FZ_CH / 2] = { t.x, t.y, t.z, t.w };

    if (vec) {
        *(uint4 *)p = t;
        return;
    }
#pragma unroll
    for (int j = 0; j < FZ_CH / 2; j++) {
        p[2 * j] = (uint16_t)(w[j] & 0xffffu);
        p[2 * j + 1] = (uint16_t)(w[j] >> 16);
    }
}

/* E4M3 codes of FZ_CH values divided by scale (as cu_store_raw: round to
 * nearest even, not saturating), one byte each: FP8 outputs are rare
 * enough not to need a vector store. */
static __device__ __forceinline__ void fz_store_e4m3(char *base, int64_t off, float scale,
                                                     const float (&v)[FZ_CH])
{
    uint8_t *p = (uint8_t *)base + off;

#pragma unroll
    for (int j = 0; j < FZ_CH; j++)
        p[j] = cu_f32_to_e4m3(v[j] / scale, false);
}

/* Element offset of flat index i of v. */
static __device__ __forceinline__ int64_t fz_off(const cu_view &v, int64_t i)
{
    int64_t row;

    return cu_offset(v, i, &row);
}

/* ---- host side -------------------------------------------------------- */

/* t qualifies for the fast path with rows of D elements: F32/F16/BF16,
 * last dim of length D (not broadcast) at unit stride, D a multiple of the
 * chunk. */
static inline bool fz_fast_row(const pictor_tensor *t, int64_t D)
{
    if (t->dtype != PICTOR_F32 && t->dtype != PICTOR_F16 && t->dtype != PICTOR_BF16)
        return false;
    return t->ndim >= 1 && t->shape[t->ndim - 1] == D && t->stride[t->ndim - 1] == 1 &&
           D % FZ_CH == 0;
}

/* An E4M3 output with rows of D codes at unit stride, D a multiple of
 * FZ_CH, no row scales (rms_norm_rope's fast path stores it bytewise). */
static inline bool fz_fast_e4m3_row(const pictor_tensor *t, int64_t D)
{
    return t->dtype == PICTOR_F8_E4M3 && !t->row_scale && t->ndim >= 1 &&
           t->shape[t->ndim - 1] == D && t->stride[t->ndim - 1] == 1 && D % FZ_CH == 0;
}

/* Every chunk of t starts on the 16 bytes its vector accesses need: the
 * data pointer and every leading stride in use (dim size > 1) are
 * multiples of 16 bytes (chunks start at multiples of FZ_CH elements, 16
 * or 32 bytes, within a unit-stride row). */
static inline bool fz_aligned(const pictor_tensor *t)
{
    const int64_t es = (int64_t)pictor_dtype_size(t->dtype), need = 16;

    if ((uintptr_t)t->data % (uintptr_t)need)
        return false;
    for (int d = 0; d + 1 < t->ndim; d++)
        if (t->shape[d] > 1 && (t->stride[d] * es) % need)
            return false;
    return true;
}

/* Threads per row block for `chunks` chunks: about FZ_ITERS chunks each,
 * whole warps, at most CU_ROW_THREADS. */
static inline unsigned fz_threads(int64_t chunks)
{
    int64_t t = (chunks + FZ_ITERS - 1) / FZ_ITERS;

    t = (t + CU_WARP - 1) / CU_WARP * CU_WARP;
    if (t < CU_WARP)
        t = CU_WARP;
    return (unsigned)(t < CU_ROW_THREADS ? t : CU_ROW_THREADS);
}


#endif /* PICTOR_CUDA_OP_FUSED_CUH */
