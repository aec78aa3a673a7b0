/*
 * kernels/cuda/op_fused.cu — the fused FLUX ops on the GPU (twins of
 * kernels/cpu/op_fused.c; contracts in pictor/ops.h):
 *   ada_layer_norm  y = LN(x) * (1 + scale) + shift   one block per row
 *                   (op_fused_ada.cu, with its FP8 rows-view output)
 *   gated_add       x += gate * y                     one block per row
 *   rms_norm_rope   y = RoPE(RMSNorm(x) * weight)     a lane group per head
 * f32 arithmetic, one rounding into the output (the stores of
 * cuda_common.cuh, bit-exact ports of convert.c).
 *
 * Two paths per op (the chunked access and the host's path checks:
 * op_fused.cuh):
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
 *            1024, a warp per token, a head per group of G lanes: FLUX's
 *            Dh 128 is 16 lanes with one chunk each, the token's cos/sin
 *            rows loaded once for all heads; with 16-bit aligned x and y
 *            and one chunk per lane, qk_packed_kernel holds 6 heads' chunks
 *            per lane as raw words, 12 heads per warp at a time, else 2).
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
#include "op_fused.cuh"

/* Most chunks per lane of rms_norm_rope's register cache (the kernel is
 * instantiated for 1, 2 and 4: registers follow the row length). */
#define QK_ITERS 4
/* Warps per block of rms_norm_rope's fast path. */
#define QK_WARPS 8
/* Head groups a lane of qk_packed_kernel loads before its reductions. */
#define QK_PACKED_U 6

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

/* Rotates the normed pairs of v by the token's table chunk (cos c, sin s)
 * into o: qk_fast_kernel's (and the generic path's) arithmetic. */
static __device__ __forceinline__ void qk_rotate(const float (&v)[FZ_CH], const float (&c)[FZ_CH],
                                                 const float (&s)[FZ_CH], float (&o)[FZ_CH])
{
#pragma unroll
    for (int j = 0; j < FZ_CH; j += 2) {
        o[j] = v[j] * c[j] - v[j + 1] * s[j];
        o[j + 1] = v[j + 1] * c[j + 1] + v[j] * s[j + 1];
    }
}

/* Each head group's sum of squares in rs (a lane's share) into the head's
 * 1 / sqrt(mean + eps), summed over its G lanes (every lane of the warp
 * takes part in the shuffles). */
template <int U>
static __device__ __forceinline__ void qk_rstd(float (&rs)[U], int G, int64_t D, float eps)
{
#pragma unroll
    for (int u = 0; u < U; u++)
        rs[u] = 1.0f / sqrtf(fz_group_sum(rs[u], G) / (float)D + eps);
}

/* Fast path: one token per warp (grid-strided over the B * L tokens), its
 * H heads a row per group of G lanes, 32 / G heads at a time and U such
 * head groups per pass (more loads in flight). The token's table rows
 * (cos, sin) and the weight are loaded once per lane and serve every head:
 * FLUX's 24 heads would otherwise read the f32 tables 24 times. x, y
 * [B, L, H, Dh] and cs, sn [L, Dh] by their strides (Dh unit stride), so
 * no index divisions per row. The head loop is warp-uniform (the shuffles
 * see all 32 lanes); a group past the last head computes nothing. Every
 * value gets the generic path's operations in the same order. Dh / FZ_CH
 * <= ITERS * G. vec: x, y, a = weight, b = cos, c = sin. */
template <int ITERS, int U>
static __global__ void __launch_bounds__(QK_WARPS * CU_WARP)
qk_fast_kernel(cu_view x, cu_view w, cu_view cs, cu_view sn, cu_view y, bool has_w, fz_vec vec,
               float eps, int G, int64_t B, int64_t L, int64_t H, int64_t D)
{
    const int lane = threadIdx.x % CU_WARP, sub = lane % G, rpw = CU_WARP / G;
    const int64_t chunks = D / FZ_CH;
    const int64_t warp = (int64_t)blockIdx.x * QK_WARPS + threadIdx.x / CU_WARP;
    const int64_t step = (int64_t)gridDim.x * QK_WARPS;

    for (int64_t t = warp; t < B * L; t += step) {
        const int64_t b = t / L, l = t - b * L;
        const int64_t xb = b * x.stride[0] + l * x.stride[1], yb = b * y.stride[0] + l * y.stride[1];
        float cv[ITERS][FZ_CH], sv[ITERS][FZ_CH], wv[ITERS][FZ_CH];

#pragma unroll
        for (int it = 0; it < ITERS; it++) {
            const int64_t c = sub + (int64_t)it * G;

            if (c < chunks) {
                fz_load(cs.data, cs.dtype, l * cs.stride[0] + c * FZ_CH, vec.b, cv[it]);
                fz_load(sn.data, sn.dtype, l * sn.stride[0] + c * FZ_CH, vec.c, sv[it]);
                if (has_w)
                    fz_load(w.data, w.dtype, c * FZ_CH, vec.a, wv[it]);
            }
        }
        for (int64_t h0 = 0; h0 < H; h0 += (int64_t)U * rpw) {
            float v[U][ITERS][FZ_CH], rs[U];
            bool live[U];

#pragma unroll
            for (int u = 0; u < U; u++) {
                const int64_t h = h0 + (int64_t)u * rpw + lane / G;
                float s = 0.0f;

                live[u] = h < H;
#pragma unroll
                for (int it = 0; it < ITERS; it++) {
                    const int64_t c = sub + (int64_t)it * G;

                    if (live[u] && c < chunks) {
                        fz_load(x.data, x.dtype, xb + h * x.stride[2] + c * FZ_CH, vec.x,
                                v[u][it]);
#pragma unroll
                        for (int j = 0; j < FZ_CH; j++)
                            s += v[u][it][j] * v[u][it][j];
                    }
                }
                rs[u] = s;
            }
            qk_rstd<U>(rs, G, D, eps);
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int64_t h = h0 + (int64_t)u * rpw + lane / G;

                if (!live[u])
                    continue;
#pragma unroll
                for (int it = 0; it < ITERS; it++) {
                    const int64_t c = sub + (int64_t)it * G;
                    float o[FZ_CH];

                    if (c >= chunks)
                        continue;
#pragma unroll
                    for (int j = 0; j < FZ_CH; j++)
                        v[u][it][j] *= rs[u];
                    if (has_w) {
#pragma unroll
                        for (int j = 0; j < FZ_CH; j++)
                            v[u][it][j] *= wv[it][j];
                    }
                    qk_rotate(v[u][it], cv[it], sv[it], o);
                    if (y.dtype == PICTOR_F8_E4M3) /* FP8 attention's q, k */
                        fz_store_e4m3(y.data, yb + h * y.stride[2] + c * FZ_CH, y.scale, o);
                    else
                        fz_store(y.data, y.dtype, yb + h * y.stride[2] + c * FZ_CH, vec.y, o);
                }
            }
        }
    }
}

/* The fast path's common case, FLUX's (Dh 128, bf16): x and y 16-bit with
 * 16-byte aligned chunks and one chunk per lane (Dh / FZ_CH <= G). A lane
 * keeps U heads' chunks as their raw 16 bytes (4 registers each, where
 * qk_fast_kernel holds 8 floats), so a warp has U * 32 / G heads' loads in
 * flight before its first reduction (FLUX: 12 of the 24 heads, against 4).
 * Every value gets qk_fast_kernel's operations in the same order; lanes
 * past the head's chunks (sub >= Dh / FZ_CH) and groups past the last head
 * load and store nothing but take part in the shuffles. vec: a = weight,
 * b = cos, c = sin. */
template <int U>
static __global__ void __launch_bounds__(QK_WARPS * CU_WARP)
qk_packed_kernel(cu_view x, cu_view w, cu_view cs, cu_view sn, cu_view y, bool has_w, fz_vec vec,
                 float eps, int G, int64_t B, int64_t L, int64_t H, int64_t D)
{
    const int lane = threadIdx.x % CU_WARP, sub = lane % G, rpw = CU_WARP / G;
    const bool active = sub < D / FZ_CH;
    const int64_t warp = (int64_t)blockIdx.x * QK_WARPS + threadIdx.x / CU_WARP;
    const int64_t step = (int64_t)gridDim.x * QK_WARPS;
    const uint16_t *xd = (const uint16_t *)x.data;
    uint16_t *yd = (uint16_t *)y.data;

    for (int64_t t = warp; t < B * L; t += step) {
        const int64_t b = t / L, l = t - b * L;
        const int64_t xb = b * x.stride[0] + l * x.stride[1] + sub * FZ_CH;
        const int64_t yb = b * y.stride[0] + l * y.stride[1] + sub * FZ_CH;
        float cv[FZ_CH], sv[FZ_CH], wv[FZ_CH];

        if (active) {
            fz_load(cs.data, cs.dtype, l * cs.stride[0] + sub * FZ_CH, vec.b, cv);
            fz_load(sn.data, sn.dtype, l * sn.stride[0] + sub * FZ_CH, vec.c, sv);
            if (has_w)
                fz_load(w.data, w.dtype, sub * FZ_CH, vec.a, wv);
        }
        for (int64_t h0 = 0; h0 < H; h0 += (int64_t)U * rpw) {
            uint4 raw[U];
            float rs[U];

#pragma unroll
            for (int u = 0; u < U; u++) {
                const int64_t h = h0 + (int64_t)u * rpw + lane / G;

                raw[u] = active && h < H ? *(const uint4 *)(xd + xb + h * x.stride[2])
                                         : make_uint4(0u, 0u, 0u, 0u);
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                float v[FZ_CH], s = 0.0f;

                fz_unpack16(raw[u], x.dtype, v);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    s += v[j] * v[j];
                rs[u] = s;
            }
            qk_rstd<U>(rs, G, D, eps);
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int64_t h = h0 + (int64_t)u * rpw + lane / G;
                float v[FZ_CH], o[FZ_CH];

                if (!active || h >= H)
                    continue;
                fz_unpack16(raw[u], x.dtype, v);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    v[j] *= rs[u];
                if (has_w) {
#pragma unroll
                    for (int j = 0; j < FZ_CH; j++)
                        v[j] *= wv[j];
                }
                qk_rotate(v, cv, sv, o);
                *(uint4 *)(yd + yb + h * y.stride[2]) = fz_pack16(o, y.dtype);
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

/* An F16 or BF16 tensor (qk_packed_kernel's x and y). */
static bool is16(const pictor_tensor *t)
{
    return t->dtype == PICTOR_F16 || t->dtype == PICTOR_BF16;
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
    if (x->ndim == 4 && y->ndim == 4 && cs->ndim == 2 && sn->ndim == 2 &&
        fz_fast_row(x, D) && (fz_fast_row(y, D) || fz_fast_e4m3_row(y, D)) &&
        (!w || (w->ndim == 1 && fz_fast_row(w, D))) &&
        fz_fast_row(cs, D) && fz_fast_row(sn, D) &&
        D / FZ_CH <= (int64_t)QK_ITERS * CU_WARP) {
        /* Lanes per head: one chunk each up to a warp (FLUX Dh 128: 16
         * lanes, 2 heads per warp), then 2 or 4 chunks per lane; a warp
         * per token. */
        const int64_t chunks = D / FZ_CH, tokens = x->shape[0] * x->shape[1];
        const int64_t blocks = (tokens + QK_WARPS - 1) / QK_WARPS;
        const unsigned grid = (unsigned)(blocks < CU_MAX_BLOCKS ? blocks : CU_MAX_BLOCKS);
        int G = 1;
        int64_t iters;
        fz_vec vec;

        while (G < CU_WARP && G < chunks)
            G *= 2;
        iters = (chunks + G - 1) / G;
        memset(&vec, 0, sizeof vec);
        vec.x = fz_aligned(x);
        vec.y = fz_aligned(y);
        vec.a = w && fz_aligned(w);
        vec.b = fz_aligned(cs);
        vec.c = fz_aligned(sn);
#define QK_LAUNCH(IT, U)                                                                   \
    qk_fast_kernel<IT, U><<<grid, QK_WARPS * CU_WARP, 0, c->stream>>>(                   \
        cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL, vec, eps, \
        G, x->shape[0], x->shape[1], x->shape[2], D)
        if (iters == 1 && is16(x) && is16(y) && vec.x && vec.y)
            qk_packed_kernel<QK_PACKED_U><<<grid, QK_WARPS * CU_WARP, 0, c->stream>>>(
                cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL,
                vec, eps, G, x->shape[0], x->shape[1], x->shape[2], D);
        else if (iters == 1)
            QK_LAUNCH(1, 2); /* two head groups per pass */
        else if (iters == 2)
            QK_LAUNCH(2, 1);
        else /* 3 or 4: QK_ITERS */
            QK_LAUNCH(QK_ITERS, 1);
#undef QK_LAUNCH
    } else {
        qk_generic_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            cu_view_of(x), wv, cu_view_of(cs), cu_view_of(sn), cu_view_of(y), w != NULL, eps,
            rows, x->shape[1], x->shape[2], D);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
