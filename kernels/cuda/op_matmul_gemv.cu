/*
 * kernels/cuda/op_matmul_gemv.cu — the FP8 matmul of one activation row
 * against a linear weight (c [1, N] = x [1, K] @ w^T, E4M3 codes on both
 * sides) by an own kernel instead of cuBLASLt: FLUX's 76 modulation
 * linears a step ([1, 3072] by [3072, 18432 or 9216]), which cuBLASLt ran
 * at 1.3 to 1.4 TB/s of weights on an H100, where the card streams about
 * 3 TB/s. The work is reading w once: one warp per output channel n reads
 * w's row n (K contiguous codes) in 16-byte pieces, lane l taking pieces
 * l, l + 32, ...; each lane holds its K / 32 values of x in registers,
 * decoded once per warp and reused for every channel the warp takes.
 *
 * c[n] = (sum_k x_code[k] * w_code[k, n]) * alpha * a->scale * b->scale
 *        * row_scale[0] * col_scale[n] + bias[n], in f32 (the products of
 * two E4M3 values are exact in f32), rounded once into c's dtype: the CPU
 * twin's arithmetic (kernels/cpu/op_matmul.c) up to the order of the sum.
 * Interface: op_matmul_gemv.h. Built only with CUDA. Thread: the
 * backend's worker thread.
 */
#include "cuda_common.cuh"

#include <cuda_fp16.h> /* after cuda_common.cuh: its `half` would shadow a local */

#include "op_matmul_gemv.h"

/* Warps (output channels in flight) per block. */
#define GEMV_WARPS 4
/* Blocks at most: about two waves on an H100 (4 resident a SM), few enough
 * that each warp takes several channels (x is decoded once per warp). */
#define GEMV_MAX_BLOCKS 1024
/* K per 16-byte piece and per warp-wide load. */
#define GEMV_PIECE 16
#define GEMV_SPAN (GEMV_PIECE * CU_WARP)

/* The 16 E4M3 codes of q as f32, lowest byte first. sm_89+ converts two
 * codes per instruction (cvt.rn.f16x2.e4m3x2: the low byte into the low
 * half; every E4M3 value is exact in f16); elsewhere (and in the
 * emulator) the software decoder. */
static __device__ __forceinline__ void gemv_decode(const uint4 &q, float (&v)[GEMV_PIECE])
{
    const uint32_t w[4] = { q.x, q.y, q.z, q.w };

#pragma unroll
    for (int i = 0; i < 4; i++) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890 && !defined(PICTOR_CUDA_EMU)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            uint32_t f;
            const uint16_t pair = (uint16_t)(w[i] >> (16 * h));

            asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(f) : "h"(pair));
            const float2 p = __half22float2(*reinterpret_cast<const __half2 *>(&f));

            v[4 * i + 2 * h] = p.x;
            v[4 * i + 2 * h + 1] = p.y;
        }
#else
#pragma unroll
        for (int b = 0; b < 4; b++)
            v[4 * i + b] = cu_e4m3_to_f32((w[i] >> (8 * b)) & 0xffu);
#endif
    }
}

/* KC = K / GEMV_SPAN pieces per lane. a: K codes, 16-byte aligned; w's
 * row n at w + n * ldw (16-byte aligned rows). */
template <int KC>
static __global__ void __launch_bounds__(GEMV_WARPS *CU_WARP)
gemv_fp8_kernel(const uint4 *a, const uint8_t *w, int64_t ldw, float scale,
                const float *row_scale, const float *col_scale, cu_view bias, bool has_bias,
                cu_view c, int64_t N)
{
    const int lane = (int)(threadIdx.x % CU_WARP);
    const int64_t warp = (int64_t)blockIdx.x * GEMV_WARPS + threadIdx.x / CU_WARP;
    const float s = row_scale ? scale * row_scale[0] : scale;
    float x[KC][GEMV_PIECE];

#pragma unroll
    for (int i = 0; i < KC; i++)
        gemv_decode(a[i * CU_WARP + lane], x[i]);
    for (int64_t n = warp; n < N; n += (int64_t)gridDim.x * GEMV_WARPS) {
        const uint4 *wr = reinterpret_cast<const uint4 *>(w + n * ldw);
        uint4 q[KC];
        float acc = 0.0f;

#pragma unroll
        for (int i = 0; i < KC; i++) /* all loads first: KC pieces in flight */
            q[i] = __ldg(wr + i * CU_WARP + lane);
#pragma unroll
        for (int i = 0; i < KC; i++) {
            float v[GEMV_PIECE];

            gemv_decode(q[i], v);
#pragma unroll
            for (int j = 0; j < GEMV_PIECE; j++)
                acc = fmaf(v[j], x[i][j], acc);
        }
        acc = cu_warp_sum(acc);
        if (lane == 0) {
            float r = acc * s * (col_scale ? col_scale[n] : 1.0f);

            if (has_bias)
                r += cu_get(bias, n);
            cu_set(c, n, r, false);
        }
    }
}

/* Whether rows of codes starting at data, row_stride bytes apart, all
 * start on 16 bytes. */
static bool gemv_rows_aligned(const void *data, int64_t row_stride)
{
    return (uintptr_t)data % GEMV_PIECE == 0 && row_stride % GEMV_PIECE == 0;
}

extern "C" int cuda_gemv_fp8_pieces(const struct pictor_op_args *args)
{
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b, *c = args->u.matmul.c;
    const int64_t K = a->shape[a->ndim - 1];

    if (args->u.matmul.gate || args->u.matmul.has_act || b->ndim != 2 ||
        pictor_tensor_numel(a) != K || pictor_tensor_numel(c) != c->shape[c->ndim - 1] ||
        b->shape[0] != K || b->stride[0] != 1 || !gemv_rows_aligned(b->data, b->stride[1]) ||
        a->stride[a->ndim - 1] != 1 || (uintptr_t)a->data % GEMV_PIECE != 0 ||
        K % GEMV_SPAN != 0)
        return 0;
    const int64_t kc = K / GEMV_SPAN;

    return kc == 4 || kc == 6 || kc == 8 ? (int)kc : 0;
}

extern "C" int cuda_gemv_fp8_launch(struct cuda_ctx *ctx, const struct pictor_op_args *args,
                                    int pieces, char *err, size_t errlen)
{
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b, *c = args->u.matmul.c;
    const pictor_tensor *bias = args->u.matmul.bias;
    const int64_t N = c->shape[c->ndim - 1];
    const int64_t want = (N + GEMV_WARPS - 1) / GEMV_WARPS;
    const unsigned blocks = (unsigned)(want < GEMV_MAX_BLOCKS ? want : GEMV_MAX_BLOCKS);
    const float scale = args->u.matmul.alpha * a->scale * b->scale;
    cu_view cv = cu_view_of(c), bv;

    if (N == 0)
        return PICTOR_OK;
    memset(&bv, 0, sizeof bv);
    if (bias)
        bv = cu_view_of(bias);
    cv.ndim = 1; /* c's one row, indexed by n */
    cv.shape[0] = N;
    cv.stride[0] = c->stride[c->ndim - 1];
    cv.contig = cv.stride[0] == 1;
    cv.inner = 1;
    cv.row_scale = NULL;
#define GEMV_LAUNCH(KC)                                                                     \
    gemv_fp8_kernel<KC><<<blocks, GEMV_WARPS * CU_WARP, 0, ctx->stream>>>(                  \
        (const uint4 *)a->data, (const uint8_t *)b->data, b->stride[1], scale, a->row_scale, \
        args->u.matmul.col_scale, bv, bias != NULL, cv, N)
    if (pieces == 4)
        GEMV_LAUNCH(4);
    else if (pieces == 6)
        GEMV_LAUNCH(6);
    else
        GEMV_LAUNCH(8);
#undef GEMV_LAUNCH
    return CU_LAUNCH_CHECK(err, errlen);
}
