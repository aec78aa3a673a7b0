/*
 * kernels/cuda/op_sdpa_fp8.cu — the kernels around cuDNN's FP8 SDPA graph
 * (op_sdpa_fp8.h steps 1, 2 and 4), twins of kernels/cpu/op_sdpa_fp8.c's
 * quantize_v and output rounding, with the same f32 operations:
 *   amax_kernel     max |v| as an atomicMax on the f32 bits;
 *   quant_v_kernel  v8 = e4m3(v * (448 / av)) (saturating RNE, the CPU's
 *                   pictor_f32_to_e4m3 port) and the graph's scalars;
 *   finish_kernel   o = decode(O8) / scale_o in o's dtype.
 * Each thread takes chunks of FZ_CH (8) consecutive elements of a head row
 * (head dim stride 1, D a multiple of 16 as the graph requires), with
 * 16-byte loads and stores where the operand is aligned (op_fused.cuh's
 * fz_load / fz_store); the other three dims may have any strides.
 */
#include "cuda_common.cuh"
#include "op_fused.cuh"
#include "op_sdpa_fp8.h"

/* amax_kernel's grid cap: threads loop over chunks, one atomic per warp. */
#define AMAX_MAX_BLOCKS 1024

/* Head rows of a [B, H, L, D] view: row r = (b * H + h) * L + l. D is a
 * multiple of FZ_CH (the graph's head dims are multiples of 16), so each
 * thread takes chunks of FZ_CH elements: chunk c is elements
 * [c % cpr * FZ_CH, +FZ_CH) of row c / cpr, cpr = D / FZ_CH chunks a row;
 * in the contiguous E4M3 buffers (v8, O8) chunk c starts at byte c * FZ_CH. */
struct rows4 {
    char *data;
    int dtype;
    int64_t H, L, cpr;
    int64_t s0, s1, s2; /* strides of B, H, L (elements); D's is 1 */
    bool vec;           /* 16-byte accesses (fz_aligned) */
};

static rows4 rows_of(const pictor_tensor *t)
{
    rows4 r;

    r.data = (char *)t->data;
    r.dtype = t->dtype;
    r.H = t->shape[1];
    r.L = t->shape[2];
    r.cpr = t->shape[3] / FZ_CH;
    r.s0 = t->stride[0];
    r.s1 = t->stride[1];
    r.s2 = t->stride[2];
    r.vec = fz_aligned(t);
    return r;
}

/* Element offset of chunk c. */
static __device__ __forceinline__ int64_t chunk_offset(const rows4 &t, int64_t c)
{
    int64_t r = c / t.cpr, l = r % t.L, bh = r / t.L;

    return bh / t.H * t.s0 + bh % t.H * t.s1 + l * t.s2 + c % t.cpr * FZ_CH;
}

static __device__ __forceinline__ float *slot(float *sc, int i)
{
    return sc + i * CUDA_SDPA_FP8_SLOT_FLOATS;
}

/* Blocks of CU_THREADS threads for n chunks, at most cap. */
static unsigned chunk_blocks(int64_t n, int64_t cap)
{
    int64_t b = (n + CU_THREADS - 1) / CU_THREADS;

    return (unsigned)(b < 1 ? 1 : b < cap ? b : cap);
}

static __global__ void __launch_bounds__(CU_THREADS)
amax_kernel(rows4 v, int64_t chunks, unsigned *amax_bits)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    unsigned m = 0;

    /* |x|'s bits order as |x| for non-negative floats, and every NaN's
     * exceed +inf's: the maximum of the bits is NaN when any x is. */
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < chunks; c += step) {
        float x[FZ_CH];

        fz_load(v.data, v.dtype, chunk_offset(v, c), v.vec, x);
#pragma unroll
        for (int j = 0; j < FZ_CH; j++)
            m = max(m, __float_as_uint(fabsf(x[j])));
    }
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        m = max(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (threadIdx.x % CU_WARP == 0 && m)
        atomicMax(amax_bits, m);
}

static __global__ void __launch_bounds__(CU_THREADS)
quant_v_kernel(rows4 v, int64_t chunks, uint8_t *v8, float *sc, float q_scale, float k_scale)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    float av = __uint_as_float(*(const unsigned *)slot(sc, FP8_SLOT_AMAX_V));
    float inv;

    if (av < PICTOR_FP8_AMAX_FLOOR) /* false for NaN: kept */
        av = PICTOR_FP8_AMAX_FLOOR;
    inv = PICTOR_E4M3_MAX / av;
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        *slot(sc, FP8_SLOT_DESCALE_Q) = q_scale;
        *slot(sc, FP8_SLOT_DESCALE_K) = k_scale;
        *slot(sc, FP8_SLOT_DESCALE_V) = av / PICTOR_E4M3_MAX;
        *slot(sc, FP8_SLOT_DESCALE_S) = 1.0f / PICTOR_SDPA_FP8_P_SCALE;
        *slot(sc, FP8_SLOT_SCALE_S) = PICTOR_SDPA_FP8_P_SCALE;
        *slot(sc, FP8_SLOT_SCALE_O) = PICTOR_E4M3_MAX / (av * PICTOR_SDPA_FP8_O_MARGIN);
    }
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < chunks; c += step) {
        float x[FZ_CH];
        uint32_t w[2] = { 0, 0 };

        fz_load(v.data, v.dtype, chunk_offset(v, c), v.vec, x);
#pragma unroll
        for (int j = 0; j < FZ_CH; j++)
            w[j / 4] |= (uint32_t)cu_f32_to_e4m3(x[j] * inv, true) << (8 * (j % 4));
        *(uint2 *)(v8 + c * FZ_CH) = make_uint2(w[0], w[1]); /* little endian */
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
finish_kernel(const uint8_t *o8, const float *sc, rows4 o, int64_t chunks)
{
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    const float so = sc[FP8_SLOT_SCALE_O * CUDA_SDPA_FP8_SLOT_FLOATS];

    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < chunks; c += step) {
        uint2 w = *(const uint2 *)(o8 + c * FZ_CH);
        float x[FZ_CH];

#pragma unroll
        for (int j = 0; j < FZ_CH; j++)
            x[j] = cu_e4m3_to_f32(((j < 4 ? w.x : w.y) >> (8 * (j % 4))) & 0xffu) / so;
        fz_store(o.data, o.dtype, chunk_offset(o, c), o.vec, x);
    }
}

extern "C" int cuda_sdpa_fp8_prepare(struct cuda_ctx *ctx, const pictor_tensor *v,
                                     float q_scale, float k_scale, uint8_t *v8, float *scalars,
                                     char *err, size_t errlen)
{
    rows4 rv = rows_of(v);
    int64_t chunks = v->shape[0] * rv.H * rv.L * rv.cpr;
    unsigned *amax = (unsigned *)(scalars + FP8_SLOT_AMAX_V * CUDA_SDPA_FP8_SLOT_FLOATS);
    int rc = CU_CHECK(cudaMemsetAsync(amax, 0, sizeof *amax, ctx->stream), err, errlen);

    if (rc)
        return rc;
    if (chunks > 0) {
        amax_kernel<<<chunk_blocks(chunks, AMAX_MAX_BLOCKS), CU_THREADS, 0, ctx->stream>>>(
            rv, chunks, amax);
        if ((rc = CU_LAUNCH_CHECK(err, errlen)))
            return rc;
    }
    /* At least one block: its first thread writes the scalars. */
    quant_v_kernel<<<chunk_blocks(chunks, CU_MAX_BLOCKS), CU_THREADS, 0, ctx->stream>>>(
        rv, chunks, v8, scalars, q_scale, k_scale);
    return CU_LAUNCH_CHECK(err, errlen);
}

extern "C" int cuda_sdpa_fp8_finish(struct cuda_ctx *ctx, const uint8_t *o8,
                                    const float *scalars, pictor_tensor *o, char *err,
                                    size_t errlen)
{
    rows4 ro = rows_of(o);
    int64_t chunks = o->shape[0] * ro.H * ro.L * ro.cpr;

    if (chunks == 0)
        return PICTOR_OK;
    finish_kernel<<<chunk_blocks(chunks, CU_MAX_BLOCKS), CU_THREADS, 0, ctx->stream>>>(
        o8, scalars, ro, chunks);
    return CU_LAUNCH_CHECK(err, errlen);
}
