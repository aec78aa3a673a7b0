/*
 * kernels/cuda/op_fused.cu — the fused FLUX ops on the GPU (twins of
 * kernels/cpu/op_fused.c; contracts in pictor/ops.h):
 *   ada_layer_norm  y = LN(x) * (1 + scale) + shift   one block per row
 *   gated_add       x += gate * y                     one block per row
 *   rms_norm_rope   y = RoPE(RMSNorm(x) * weight)     a lane group per head
 * f32 arithmetic, one rounding into the output (the stores of
 * cuda_common.cuh, bit-exact ports of convert.c).
 *
 * Two paths per op:
 *   fast     every operand F32/F16/BF16 with a unit-stride last dim of the
 *            full length (no broadcast along it), that length a multiple
 *            of the chunk (FZ_CH = 8 elements). A thread handles whole
 *            chunks of the contiguous last dim: one 16-byte vector
 *            load/store per chunk (two for f32) when the operand's rows are
 *            aligned for it (fz_aligned, checked per operand on the host),
 *            else scalar accesses at unit stride. Row offsets (any leading
 *            strides, broadcast scale/shift/gate rows) are computed once
 *            per row. ada_layer_norm and rms_norm_rope keep their row in
 *            registers, so x is read once (ada: D <= FZ_ITERS * FZ_CH *
 *            CU_ROW_THREADS = 8192; rope: Dh <= QK_ITERS * FZ_CH * 32 =
 *            1024, a row per group of G lanes, 32 / G rows per warp: FLUX's
 *            Dh 128 is 16 lanes with one chunk each, 2 rows per warp).
 *   generic  anything else (FP8, strided or broadcast last dims, odd
 *            lengths, longer rows): per-element cu_get/cu_set on the
 *            flat index, as op_layer_norm.cu / op_rope.cu do.
 *
 * In place (y the very view x for the norms): a row is read completely —
 * into registers, or by all threads before the barrier of the first block
 * reduction — before any of it is written, and every element is written
 * by the thread (lane) that read it. gated_add reads each element of x
 * before the same thread writes it; y and gate never alias x (ops.h).
 */
#include "cuda_common.cuh"

/* Elements per chunk of the fast paths: 16 bytes of a 16-bit row (one
 * uint4), 32 bytes of an f32 row (two float4); 4 rotary pairs. */
#define FZ_CH 8
/* Chunks per thread: ada_layer_norm's register cache of its row, and the
 * per-thread share that fz_threads sizes blocks for. */
#define FZ_ITERS 4
/* Most chunks per lane of rms_norm_rope's register cache (the kernel is
 * instantiated for 1, 2 and 4: registers follow the row length). */
#define QK_ITERS 4
/* Warps per block of rms_norm_rope's fast path. */
#define QK_WARPS 8

/* Per-operand choice of vector accesses on the fast path: x, y, and the
 * op's other operands a, b, c (named at each kernel). */
struct fz_vec {
    bool x, y, a, b, c;
};

/* ---- fast-path element access ----------------------------------------- */

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
    uint32_t w[FZ_CH / 2]; /* element 2j in the low half of w[j] (little endian) */

    if (vec) {
        uint4 t = *(const uint4 *)p;

        w[0] = t.x;
        w[1] = t.y;
        w[2] = t.z;
        w[3] = t.w;
    } else {
#pragma unroll
        for (int j = 0; j < FZ_CH / 2; j++)
            w[j] = (uint32_t)p[2 * j] | (uint32_t)p[2 * j + 1] << 16;
    }
#pragma unroll
    for (int j = 0; j < FZ_CH; j++) {
        uint32_t h = (w[j / 2] >> (16 * (j % 2))) & 0xffffu;

        v[j] = dtype == PICTOR_BF16 ? cu_u2f(h << 16) : cu_f16_to_f32(h);
    }
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
    uint32_t w[FZ_CH / 2];
    const bool bf = dtype == PICTOR_BF16;

#pragma unroll
    for (int j = 0; j < FZ_CH / 2; j++) {
        uint32_t lo = bf ? cu_f32_to_bf16(v[2 * j]) : cu_f32_to_f16(v[2 * j]);
        uint32_t hi = bf ? cu_f32_to_bf16(v[2 * j + 1]) : cu_f32_to_f16(v[2 * j + 1]);

        w[j] = lo | hi << 16;
    }
    if (vec) {
        *(uint4 *)p = make_uint4(w[0], w[1], w[2], w[3]);
    } else {
#pragma unroll
        for (int j = 0; j < FZ_CH / 2; j++) {
            p[2 * j] = (uint16_t)(w[j] & 0xffffu);
            p[2 * j + 1] = (uint16_t)(w[j] >> 16);
        }
    }
}

/* Element offset of flat index i of v. */
static __device__ __forceinline__ int64_t fz_off(const cu_view &v, int64_t i)
{
    int64_t row;

    return cu_offset(v, i, &row);
}

/* ---- ada_layer_norm --------------------------------------------------- */

/* Fast path; blockDim.x * FZ_ITERS >= D / FZ_CH (fz_threads). vec: x, y,
 * a = scale, b = shift. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fast_kernel(cu_view x, cu_view sc, cu_view sh, cu_view y, fz_vec vec, float eps,
                int64_t rows, int64_t D)
{
    __shared__ float shm[CU_WARP];
    const int64_t chunks = D / FZ_CH;

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D, xo = fz_off(x, base);
        float v[FZ_ITERS][FZ_CH], s = 0.0f, mean, rstd;

#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
                fz_load(x.data, x.dtype, xo + c * FZ_CH, vec.x, v[it]);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    s += v[it][j];
            }
        }
        mean = cu_block_sum(s, shm) / (float)D;
        s = 0.0f;
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
#pragma unroll
                for (int j = 0; j < FZ_CH; j++) {
                    float d = v[it][j] - mean;

                    s += d * d;
                }
            }
        }
        rstd = 1.0f / sqrtf(cu_block_sum(s, shm) / (float)D + eps);
        const int64_t so = fz_off(sc, base), ho = fz_off(sh, base), yo = fz_off(y, base);
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
                float a[FZ_CH], b[FZ_CH];

                fz_load(sc.data, sc.dtype, so + c * FZ_CH, vec.a, a);
                fz_load(sh.data, sh.dtype, ho + c * FZ_CH, vec.b, b);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    v[it][j] = (v[it][j] - mean) * rstd * (1.0f + a[j]) + b[j];
                fz_store(y.data, y.dtype, yo + c * FZ_CH, vec.y, v[it]);
            }
        }
        /* The next row's first cu_block_sum waits before reusing shm. */
    }
}

/* Generic path: layer_norm_kernel's three passes over x plus the
 * modulation; sc, sh are views broadcast to x's shape. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_generic_kernel(cu_view x, cu_view sc, cu_view sh, cu_view y, float eps, int64_t rows,
                   int64_t D)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * D;
        float s = 0.0f, mean, rstd;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            s += cu_get(x, base + k);
        mean = cu_block_sum(s, shm) / (float)D;
        s = 0.0f;
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float d = cu_get(x, base + k) - mean;

            s += d * d;
        }
        rstd = 1.0f / sqrtf(cu_block_sum(s, shm) / (float)D + eps);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = (cu_get(x, base + k) - mean) * rstd;

            v = v * (1.0f + cu_get(sc, base + k)) + cu_get(sh, base + k);
            cu_set(y, base + k, v, false);
        }
        __syncthreads(); /* the next row's first reduction reuses shm */
    }
}

/* ---- gated_add -------------------------------------------------------- */

/* Fast path. vec: x, y, a = gate. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
gated_fast_kernel(cu_view x, cu_view y, cu_view g, fz_vec vec, int64_t rows, int64_t D)
{
    const int64_t chunks = D / FZ_CH;

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D;
        const int64_t xo = fz_off(x, base), yo = fz_off(y, base), go = fz_off(g, base);

        for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) {
            float xv[FZ_CH], yv[FZ_CH], gv[FZ_CH];

            fz_load(x.data, x.dtype, xo + c * FZ_CH, vec.x, xv);
            fz_load(y.data, y.dtype, yo + c * FZ_CH, vec.y, yv);
            fz_load(g.data, g.dtype, go + c * FZ_CH, vec.a, gv);
#pragma unroll
            for (int j = 0; j < FZ_CH; j++)
                xv[j] += gv[j] * yv[j];
            fz_store(x.data, x.dtype, xo + c * FZ_CH, vec.x, xv);
        }
    }
}

/* Generic path: one thread per element; g is broadcast to x's shape. */
static __global__ void __launch_bounds__(CU_THREADS)
gated_generic_kernel(cu_view x, cu_view y, cu_view g, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        float v = cu_get(x, i) + cu_get(g, i) * cu_get(y, i);

        cu_set(x, i, v, false);
    }
}

/* ---- rms_norm_rope ---------------------------------------------------- */

/* Sum of v over the aligned group of G lanes (G a power of two <= 32) that
 * holds this lane; every lane of the group gets it. All 32 lanes of the
 * warp must call it. */
static __device__ __forceinline__ float fz_group_sum(float v, int G)
{
    for (int o = G / 2; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Fast path: a row (one head of one token) per group of G lanes, 32 / G
 * rows per warp, grid-strided over warps. The loop is warp-uniform (the
 * shuffles see all 32 lanes); a group past the last row computes nothing.
 * Row r = ((b * L) + l) * H + h uses table row l. D / FZ_CH <= ITERS * G.
 * vec: x, y, a = weight, b = cos, c = sin. */
template <int ITERS>
static __global__ void __launch_bounds__(QK_WARPS * CU_WARP)
qk_fast_kernel(cu_view x, cu_view w, cu_view cs, cu_view sn, cu_view y, bool has_w, fz_vec vec,
               float eps, int G, int64_t rows, int64_t L, int64_t H, int64_t D)
{
    const int lane = threadIdx.x % CU_WARP, sub = lane % G, rpw = CU_WARP / G;
    const int64_t chunks = D / FZ_CH;
    const int64_t warp = (int64_t)blockIdx.x * QK_WARPS + threadIdx.x / CU_WARP;
    const int64_t step = (int64_t)gridDim.x * QK_WARPS * rpw;

    for (int64_t r0 = warp * rpw; r0 < rows; r0 += step) {
        const int64_t r = r0 + lane / G;
        const bool live = r < rows;
        const int64_t base = r * D, l = (r / H) % L;
        const int64_t xo = live ? fz_off(x, base) : 0;
        float v[ITERS][FZ_CH], s = 0.0f, rs;

#pragma unroll
        for (int it = 0; it < ITERS; it++) {
            int64_t c = sub + (int64_t)it * G;

            if (live && c < chunks) {
                fz_load(x.data, x.dtype, xo + c * FZ_CH, vec.x, v[it]);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    s += v[it][j] * v[it][j];
            }
        }
        rs = 1.0f / sqrtf(fz_group_sum(s, G) / (float)D + eps);
        if (!live)
            continue;
        const int64_t co = fz_off(cs, l * D), so = fz_off(sn, l * D), yo = fz_off(y, base);
#pragma unroll
        for (int it = 0; it < ITERS; it++) {
            int64_t c = sub + (int64_t)it * G;

            if (c < chunks) {
                float cv[FZ_CH], sv[FZ_CH], o[FZ_CH];

                fz_load(cs.data, cs.dtype, co + c * FZ_CH, vec.b, cv);
                fz_load(sn.data, sn.dtype, so + c * FZ_CH, vec.c, sv);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    v[it][j] *= rs;
                if (has_w) {
                    float wv[FZ_CH];

                    fz_load(w.data, w.dtype, c * FZ_CH, vec.a, wv);
#pragma unroll
                    for (int j = 0; j < FZ_CH; j++)
                        v[it][j] *= wv[j];
                }
#pragma unroll
                for (int j = 0; j < FZ_CH; j += 2) {
                    o[j] = v[it][j] * cv[j] - v[it][j + 1] * sv[j];
                    o[j + 1] = v[it][j + 1] * cv[j + 1] + v[it][j] * sv[j + 1];
                }
                fz_store(y.data, y.dtype, yo + c * FZ_CH, vec.y, o);
            }
        }
    }
}

/* Generic path: one block per row, rms_norm_kernel's reduction, then one
 * thread per rotary pair (it reads both elements before writing them). */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
qk_generic_kernel(cu_view x, cu_view w, cu_view cs, cu_view sn, cu_view y, bool has_w,
                  float eps, int64_t rows, int64_t L, int64_t H, int64_t D)
{
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        int64_t base = r * D, t0 = (r / H) % L * D;
        float s = 0.0f, rs;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = cu_get(x, base + k);

            s += v * v;
        }
        rs = 1.0f / sqrtf(cu_block_sum(s, shm) / (float)D + eps);
        for (int64_t m = 2 * (int64_t)threadIdx.x; m < D; m += 2 * (int64_t)blockDim.x) {
            float x0 = cu_get(x, base + m) * rs, x1 = cu_get(x, base + m + 1) * rs;
            int64_t t = t0 + m;

            if (has_w) {
                x0 *= cu_get(w, m);
                x1 *= cu_get(w, m + 1);
            }
            cu_set(y, base + m, x0 * cu_get(cs, t) - x1 * cu_get(sn, t), false);
            cu_set(y, base + m + 1, x1 * cu_get(cs, t + 1) + x0 * cu_get(sn, t + 1), false);
        }
        __syncthreads(); /* the next row's reduction reuses shm */
    }
}

/* ---- host side -------------------------------------------------------- */

/* t qualifies for the fast path with rows of D elements: F32/F16/BF16,
 * last dim of length D (not broadcast) at unit stride, D a multiple of the
 * chunk. */
static bool fz_fast_row(const pictor_tensor *t, int64_t D)
{
    if (t->dtype != PICTOR_F32 && t->dtype != PICTOR_F16 && t->dtype != PICTOR_BF16)
        return false;
    return t->ndim >= 1 && t->shape[t->ndim - 1] == D && t->stride[t->ndim - 1] == 1 &&
           D % FZ_CH == 0;
}

/* Every chunk of t starts on the 16 bytes its vector accesses need: the
 * data pointer and every leading stride in use (dim size > 1) are
 * multiples of 16 bytes (chunks start at multiples of FZ_CH elements, 16
 * or 32 bytes, within a unit-stride row). */
static bool fz_aligned(const pictor_tensor *t)
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
static unsigned fz_threads(int64_t chunks)
{
    int64_t t = (chunks + FZ_ITERS - 1) / FZ_ITERS;

    t = (t + CU_WARP - 1) / CU_WARP * CU_WARP;
    if (t < CU_WARP)
        t = CU_WARP;
    return (unsigned)(t < CU_ROW_THREADS ? t : CU_ROW_THREADS);
}

extern "C" int cuda_op_ada_layer_norm(void *vctx, const struct pictor_op_args *a, char *err,
                                      size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.ada_layer_norm.x, *y = a->u.ada_layer_norm.y;
    const pictor_tensor *sc = a->u.ada_layer_norm.scale, *sh = a->u.ada_layer_norm.shift;
    const float eps = a->u.ada_layer_norm.eps;
    int64_t rows, D;

    cu_rows_of(x, &rows, &D);
    if (rows == 0 || D == 0)
        return PICTOR_OK;
    if (fz_fast_row(x, D) && fz_fast_row(y, D) && fz_fast_row(sc, D) && fz_fast_row(sh, D) &&
        D / FZ_CH <= (int64_t)FZ_ITERS * CU_ROW_THREADS) {
        fz_vec vec;

        memset(&vec, 0, sizeof vec);
        vec.x = fz_aligned(x);
        vec.y = fz_aligned(y);
        vec.a = fz_aligned(sc);
        vec.b = fz_aligned(sh);
        ada_fast_kernel<<<cu_row_blocks(rows), fz_threads(D / FZ_CH), 0, c->stream>>>(
            cu_view_of(x), cu_view_bcast(sc, x), cu_view_bcast(sh, x), cu_view_of(y), vec, eps,
            rows, D);
    } else {
        ada_generic_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            cu_view_of(x), cu_view_bcast(sc, x), cu_view_bcast(sh, x), cu_view_of(y), eps, rows,
            D);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}

extern "C" int cuda_op_gated_add(void *vctx, const struct pictor_op_args *a, char *err,
                                 size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.gated_add.x, *y = a->u.gated_add.y, *g = a->u.gated_add.gate;
    int64_t rows, D, n = pictor_tensor_numel(x);

    cu_rows_of(x, &rows, &D);
    if (n == 0)
        return PICTOR_OK;
    if (fz_fast_row(x, D) && fz_fast_row(y, D) && fz_fast_row(g, D)) {
        fz_vec vec;

        memset(&vec, 0, sizeof vec);
        vec.x = fz_aligned(x);
        vec.y = fz_aligned(y);
        vec.a = fz_aligned(g);
        gated_fast_kernel<<<cu_row_blocks(rows), fz_threads(D / FZ_CH), 0, c->stream>>>(
            cu_view_of(x), cu_view_of(y), cu_view_bcast(g, x), vec, rows, D);
    } else {
        gated_generic_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(
            cu_view_of(x), cu_view_of(y), cu_view_bcast(g, x), n);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}

extern "C" int cuda_op_rms_norm_rope(void *vctx, const struct pictor_op_args *a, char *err,
                                     size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.rms_norm_rope.x, *y = a->u.rms_norm_rope.y;
    const pictor_tensor *w = a->u.rms_norm_rope.weight;
    const pictor_tensor *cs = a->u.rms_norm_rope.cos, *sn = a->u.rms_norm_rope.sin;
    const float eps = a->u.rms_norm_rope.eps;
    int64_t rows, D;
    cu_view wv;

    cu_rows_of(x, &rows, &D);
    if (rows == 0 || D == 0)
        return PICTOR_OK;
    memset(&wv, 0, sizeof wv);
    if (w)
        wv = cu_view_of(w);
    if (fz_fast_row(x, D) && fz_fast_row(y, D) && (!w || fz_fast_row(w, D)) &&
        fz_fast_row(cs, D) && fz_fast_row(sn, D) &&
        D / FZ_CH <= (int64_t)QK_ITERS * CU_WARP) {
        /* Lanes per row: one chunk each up to a warp (FLUX Dh 128: 16
         * lanes, 2 rows per warp), then 2 or 4 chunks per lane. */
        const int64_t chunks = D / FZ_CH;
        int G = 1;
        int64_t iters, rows_per_block, blocks;
        unsigned grid;
        fz_vec vec;

        while (G < CU_WARP && G < chunks)
            G *= 2;
        iters = (chunks + G - 1) / G;
        rows_per_block = (int64_t)QK_WARPS * (CU_WARP / G);
        blocks = (rows + rows_per_block - 1) / rows_per_block;
        grid = (unsigned)(blocks < CU_MAX_BLOCKS ? blocks : CU_MAX_BLOCKS);
        memset(&vec, 0, sizeof vec);
        vec.x = fz_aligned(x);
        vec.y = fz_aligned(y);
        vec.a = w && fz_aligned(w);
        vec.b = fz_aligned(cs);
        vec.c = fz_aligned(sn);
        if (iters == 1)
            qk_fast_kernel<1><<<grid, QK_WARPS * CU_WARP, 0, c->stream>>>(
                cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL,
                vec, eps, G, rows, x->shape[1], x->shape[2], D);
        else if (iters == 2)
            qk_fast_kernel<2><<<grid, QK_WARPS * CU_WARP, 0, c->stream>>>(
                cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL,
                vec, eps, G, rows, x->shape[1], x->shape[2], D);
        else /* 3 or 4: QK_ITERS */
            qk_fast_kernel<QK_ITERS><<<grid, QK_WARPS * CU_WARP, 0, c->stream>>>(
                cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL,
                vec, eps, G, rows, x->shape[1], x->shape[2], D);
    } else {
        qk_generic_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL, eps,
            rows, x->shape[1], x->shape[2], D);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
