/*
 * kernels/cuda/op_sdpa_fp8.cu — the kernels around cuDNN's FP8 SDPA graph
 * (op_sdpa_fp8.h steps 1, 2 and 4), twins of kernels/cpu/op_sdpa_fp8.c's
 * quantize_v and output rounding, with the same f32 operations:
 *   amax_kernel     max |v| as an atomicMax on the f32 bits;
 *   quant_v_kernel  v8 = e4m3(v * (448 / av)) (saturating RNE, the CPU's
 *                   pictor_f32_to_e4m3 port) and the graph's scalars;
 *   finish_kernel   o = decode(O8) / scale_o in o's dtype.
 * Each works on head rows of D elements (head dim stride 1), one warp per
 * row, the lanes along D; the other three dims may have any strides.
 */
#include "cuda_common.cuh"
#include "op_sdpa_fp8.h"

/* Warps per block; each warp takes one head row at a time. */
#define ROW_WARPS (CU_THREADS / CU_WARP)
/* amax_kernel's grid cap: warps loop over rows, so one atomic per warp. */
#define AMAX_MAX_BLOCKS 1024

/* Head rows of a [B, H, L, D] view: row r = (b * H + h) * L + l. */
struct rows4 {
    char *data;
    int dtype;
    int64_t H, L, D;
    int64_t s0, s1, s2; /* strides of B, H, L (elements); D's is 1 */
};

static rows4 rows_of(const pictor_tensor *t)
{
    rows4 r;

    r.data = (char *)t->data;
    r.dtype = t->dtype;
    r.H = t->shape[1];
    r.L = t->shape[2];
    r.D = t->shape[3];
    r.s0 = t->stride[0];
    r.s1 = t->stride[1];
    r.s2 = t->stride[2];
    return r;
}

static __device__ __forceinline__ int64_t row_offset(const rows4 &t, int64_t r)
{
    int64_t l = r % t.L, bh = r / t.L;

    return bh / t.H * t.s0 + bh % t.H * t.s1 + l * t.s2;
}

static __device__ __forceinline__ float *slot(float *sc, int i)
{
    return sc + i * CUDA_SDPA_FP8_SLOT_FLOATS;
}

/* Blocks of ROW_WARPS rows for `rows` rows, at most cap. */
static unsigned row_blocks(int64_t rows, int64_t cap)
{
    int64_t b = (rows + ROW_WARPS - 1) / ROW_WARPS;

    return (unsigned)(b < cap ? b : cap);
}

static __global__ void __launch_bounds__(CU_THREADS)
amax_kernel(rows4 v, int64_t rows, unsigned *amax_bits)
{
    int lane = threadIdx.x % CU_WARP;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / CU_WARP;
    int64_t nwarps = (int64_t)gridDim.x * blockDim.x / CU_WARP;
    unsigned m = 0;

    /* |x|'s bits order as |x| for non-negative floats, and every NaN's
     * exceed +inf's: the maximum of the bits is NaN when any x is. */
    for (int64_t r = warp; r < rows; r += nwarps) {
        int64_t off = row_offset(v, r);

        for (int64_t d = lane; d < v.D; d += CU_WARP)
            m = max(m, __float_as_uint(fabsf(cu_load_raw(v.data, v.dtype, off + d, 1.0f))));
    }
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        m = max(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (lane == 0 && m)
        atomicMax(amax_bits, m);
}

static __global__ void __launch_bounds__(CU_THREADS)
quant_v_kernel(rows4 v, int64_t rows, uint8_t *v8, float *sc, float q_scale, float k_scale)
{
    int lane = threadIdx.x % CU_WARP;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / CU_WARP;
    int64_t nwarps = (int64_t)gridDim.x * blockDim.x / CU_WARP;
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
    for (int64_t r = warp; r < rows; r += nwarps) {
        int64_t off = row_offset(v, r);
        uint8_t *out = v8 + r * v.D;

        for (int64_t d = lane; d < v.D; d += CU_WARP)
            out[d] = cu_f32_to_e4m3(cu_load_raw(v.data, v.dtype, off + d, 1.0f) * inv, true);
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
finish_kernel(const uint8_t *o8, const float *sc, rows4 o, int64_t rows)
{
    int lane = threadIdx.x % CU_WARP;
    int64_t warp = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / CU_WARP;
    int64_t nwarps = (int64_t)gridDim.x * blockDim.x / CU_WARP;
    float so = sc[FP8_SLOT_SCALE_O * CUDA_SDPA_FP8_SLOT_FLOATS];

    for (int64_t r = warp; r < rows; r += nwarps) {
        int64_t off = row_offset(o, r);
        const uint8_t *in = o8 + r * o.D;

        for (int64_t d = lane; d < o.D; d += CU_WARP)
            cu_store_raw(o.data, o.dtype, off + d, cu_e4m3_to_f32(in[d]) / so, 1.0f, false);
    }
}

extern "C" int cuda_sdpa_fp8_prepare(struct cuda_ctx *ctx, const pictor_tensor *v,
                                     float q_scale, float k_scale, uint8_t *v8, float *scalars,
                                     char *err, size_t errlen)
{
    rows4 rv = rows_of(v);
    int64_t rows = v->shape[0] * rv.H * rv.L;
    unsigned *amax = (unsigned *)(scalars + FP8_SLOT_AMAX_V * CUDA_SDPA_FP8_SLOT_FLOATS);
    int rc = CU_CHECK(cudaMemsetAsync(amax, 0, sizeof *amax, ctx->stream), err, errlen);

    if (rc)
        return rc;
    if (rows > 0) {
        amax_kernel<<<row_blocks(rows, AMAX_MAX_BLOCKS), CU_THREADS, 0, ctx->stream>>>(rv, rows,
                                                                                     amax);
        if ((rc = CU_LAUNCH_CHECK(err, errlen)))
            return rc;
    }
    /* At least one block: its first thread writes the scalars. */
    quant_v_kernel<<<rows > 0 ? row_blocks(rows, CU_MAX_BLOCKS) : 1, CU_THREADS, 0,
                     ctx->stream>>>(rv, rows, v8, scalars, q_scale, k_scale);
    return CU_LAUNCH_CHECK(err, errlen);
}

extern "C" int cuda_sdpa_fp8_finish(struct cuda_ctx *ctx, const uint8_t *o8,
                                    const float *scalars, pictor_tensor *o, char *err,
                                    size_t errlen)
{
    rows4 ro = rows_of(o);
    int64_t rows = o->shape[0] * ro.H * ro.L;

    if (rows == 0)
        return PICTOR_OK;
    finish_kernel<<<row_blocks(rows, CU_MAX_BLOCKS), CU_THREADS, 0, ctx->stream>>>(o8, scalars,
                                                                                   ro, rows);
    return CU_LAUNCH_CHECK(err, errlen);
}
