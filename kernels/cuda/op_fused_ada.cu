/*
 * kernels/cuda/op_fused_ada.cu — AdaLN modulation on the GPU (twin of
 * kernels/cpu/op_fused.c's ada_layer_norm; contract in pictor/ops.h),
 * y = LN(x) * (1 + scale) + shift, one block per row:
 *   16/32-bit y  f32 statistics, one rounding into y. Fast path (x,
 *                scale, shift as op_fused.cu's fast path, op_fused.cuh): the
 *                row kept in registers, mean and variance in one pass
 *                shifted by the row's first element (one block reduction of
 *                the pair); generic path: layer_norm_kernel's passes.
 *   FP8 rows view y (codes [rows, D] E4M3 + row_scale): the f32 modulated
 *                row, its amax, then the codes and the row's scale with
 *                pictor_quantize_rows' f32 operations (op_quantize.cu).
 *                Statistics in f64 as the CPU's (cpu_row_layer_norm: f64
 *                mean and sum of squared deviations, mean and rstd rounded
 *                to f32 once), here in one pass: the sums of d = x - c and
 *                d^2 with c the row's first element (d exact in f64), then
 *                mean = c + s1 / D and sq = s2 - s1^2 / D. Shifting by c
 *                keeps s1^2 / D of the order of sq (no cancellation for a
 *                row far from 0, e.g. the huge edge rows), so the f64
 *                statistic is the CPU's but for last-bit differences
 *                (~1e-15 relative): the f32-rounded mean and rstd differ
 *                only for a statistic within that distance of an f32
 *                rounding boundary. Every f32 and f64 operation is an
 *                explicit _rn intrinsic, so nvcc contracts nothing into an
 *                FMA the CPU does not do (the f64 d^2 + s2 is an FMA on
 *                purpose: exact d^2, one rounding).
 *                Two block reductions per row: the f64 pair, then the amax
 *                as integer bits (cu_block_amax). A row with a finite amax
 *                is encoded by the hardware's e4m3x2 conversion
 *                (cu_e4m3x4_finite), one with an infinity or NaN by
 *                cu_f32_to_e4m3: the same bytes.
 *                Fast path: the row kept in registers, 8 codes written per
 *                8-byte store; generic path (any strides, odd D, rows over
 *                8192): cu_get per element, x re-read per pass.
 *                Codes and scales never alias the inputs (checked by
 *                ops_fused.c).
 */
#include "op_fused.cuh"

/* ---- 16/32-bit output ------------------------------------------------- */

/* (s1, s2) summed over the block in f32, every thread gets both (as
 * cu_block_sum). shm: 2 * CU_WARP floats. Contains __syncthreads. */
static __device__ __forceinline__ void ada_block_sum2(float *s1, float *s2, float *shm)
{
    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int nwarps = blockDim.x / CU_WARP;
    float a = cu_warp_sum(*s1), b = cu_warp_sum(*s2);

    __syncthreads(); /* shm may still be read from a previous call */
    if (lane == 0) {
        shm[warp] = a;
        shm[CU_WARP + warp] = b;
    }
    __syncthreads();
    *s1 = cu_warp_sum(lane < nwarps ? shm[lane] : 0.0f);
    *s2 = cu_warp_sum(lane < nwarps ? shm[CU_WARP + lane] : 0.0f);
}

/* Fast path; blockDim.x * FZ_ITERS >= D / FZ_CH (fz_threads). vec: x, y,
 * a = scale, b = shift. Statistics in one pass over the registers, shifted
 * by the row's first element c: mean = c + s1 / D, variance
 * (s2 - s1^2 / D) / D with s1, s2 the sums of v - c and its square. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fast_kernel(cu_view x, cu_view sc, cu_view sh, cu_view y, fz_vec vec, float eps,
                int64_t rows, int64_t D)
{
    __shared__ float shm[2 * CU_WARP];
    const int64_t chunks = D / FZ_CH;

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D, xo = fz_off(x, base);
        const float c = fz_load1(x.data, x.dtype, xo);
        float v[FZ_ITERS][FZ_CH], s1 = 0.0f, s2 = 0.0f, mean, var, rstd;

#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t k = threadIdx.x + (int64_t)it * blockDim.x;

            if (k < chunks) {
                fz_load(x.data, x.dtype, xo + k * FZ_CH, vec.x, v[it]);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++) {
                    float d = v[it][j] - c;

                    s1 += d;
                    s2 += d * d;
                }
            }
        }
        ada_block_sum2(&s1, &s2, shm);
        mean = c + s1 / (float)D;
        var = (s2 - s1 * s1 / (float)D) / (float)D;
        rstd = 1.0f / sqrtf((var < 0.0f ? 0.0f : var) + eps); /* NaN stays NaN */
        const int64_t so = fz_off(sc, base), ho = fz_off(sh, base), yo = fz_off(y, base);
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t k = threadIdx.x + (int64_t)it * blockDim.x;

            if (k < chunks) {
                float a[FZ_CH], b[FZ_CH];

                fz_load(sc.data, sc.dtype, so + k * FZ_CH, vec.a, a);
                fz_load(sh.data, sh.dtype, ho + k * FZ_CH, vec.b, b);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    v[it][j] = (v[it][j] - mean) * rstd * (1.0f + a[j]) + b[j];
                fz_store(y.data, y.dtype, yo + k * FZ_CH, vec.y, v[it]);
            }
        }
        /* The next row's reduction waits before reusing shm. */
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

/* ---- FP8 rows-view output --------------------------------------------- */

/* The row's shifted sums (ada_stats) over the block in f64, every thread
 * gets both: a butterfly in each warp (the same value in every lane), the
 * warps' partial sums added in warp order. shm: 2 * CU_WARP doubles.
 * Contains __syncthreads. */
static __device__ __forceinline__ void ada_block_sum2_f64(double *s1, double *s2, double *shm)
{
    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int nwarps = blockDim.x / CU_WARP;
    double a = *s1, b = *s2;

    for (int o = CU_WARP / 2; o > 0; o /= 2) {
        a = __dadd_rn(a, __shfl_xor_sync(0xffffffffu, a, o));
        b = __dadd_rn(b, __shfl_xor_sync(0xffffffffu, b, o));
    }
    __syncthreads(); /* shm may still be read from a previous call */
    if (lane == 0) {
        shm[warp] = a;
        shm[CU_WARP + warp] = b;
    }
    __syncthreads();
    a = 0.0;
    b = 0.0;
    for (int w = 0; w < nwarps; w++) {
        a = __dadd_rn(a, shm[w]);
        b = __dadd_rn(b, shm[CU_WARP + w]);
    }
    *s1 = a;
    *s2 = b;
}

/* Folds v into the shifted sums: d = v - c exactly in f64 (both f32), s1 += d,
 * s2 += d * d. */
static __device__ __forceinline__ void ada_stats_acc(float v, double c, double *s1, double *s2)
{
    const double d = __dsub_rn((double)v, c);

    *s1 = __dadd_rn(*s1, d);
    *s2 = __fma_rn(d, d, *s2);
}

/* The row's f32 mean and rstd from its block-summed shifted sums (shift c
 * = the row's first element): mean = c + s1 / D, and the sum of squared
 * deviations s2 - s1^2 / D (never below 0; a NaN, from an infinity in
 * the row, stays NaN as the CPU's does), into cpu_row_layer_norm's
 * 1 / sqrt(sq / D + eps), each rounded to f32 once. */
static __device__ __forceinline__ void ada_stats(double s1, double s2, double c, int64_t D,
                                                 double eps, float *mean, float *rstd)
{
    const double n = (double)D, sq = __dsub_rn(s2, __ddiv_rn(__dmul_rn(s1, s1), n));

    *mean = __double2float_rn(__dadd_rn(c, __ddiv_rn(s1, n)));
    *rstd = __double2float_rn(
        __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(__ddiv_rn(sq < 0.0 ? 0.0 : sq, n), eps))));
}

/* The CPU's f32 modulation of one element: ((v - mean) * rstd) * (1 + a) + b,
 * each operation rounded on its own. */
static __device__ __forceinline__ float ada_mod(float v, float mean, float rstd, float a, float b)
{
    const float n = __fmul_rn(__fsub_rn(v, mean), rstd);

    return __fadd_rn(__fmul_rn(n, __fadd_rn(1.0f, a)), b);
}

/* Fast path; blockDim.x * FZ_ITERS >= D / FZ_CH (fz_threads); y 8-byte
 * aligned. vec: x, a = scale, b = shift. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fp8_fast_kernel(cu_view x, cu_view sc, cu_view sh, uint2 *y, float *row_scale, fz_vec vec,
                    double eps, int64_t rows, int64_t D)
{
    __shared__ double shd[2 * CU_WARP];
    __shared__ uint32_t shm[CU_WARP];
    const int64_t chunks = D / FZ_CH;

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D, xo = fz_off(x, base);
        const double c = (double)fz_load1(x.data, x.dtype, xo);
        float v[FZ_ITERS][FZ_CH], mean, rstd, amax, inv;
        double s1 = 0.0, s2 = 0.0;
        uint32_t m = 0;

#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t k = threadIdx.x + (int64_t)it * blockDim.x;

            if (k < chunks) {
                fz_load(x.data, x.dtype, xo + k * FZ_CH, vec.x, v[it]);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    ada_stats_acc(v[it][j], c, &s1, &s2);
            }
        }
        ada_block_sum2_f64(&s1, &s2, shd);
        ada_stats(s1, s2, c, D, eps, &mean, &rstd);
        const int64_t so = fz_off(sc, base), ho = fz_off(sh, base);
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t k = threadIdx.x + (int64_t)it * blockDim.x;

            if (k < chunks) {
                float a[FZ_CH], b[FZ_CH];

                fz_load(sc.data, sc.dtype, so + k * FZ_CH, vec.a, a);
                fz_load(sh.data, sh.dtype, ho + k * FZ_CH, vec.b, b);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++) {
                    v[it][j] = ada_mod(v[it][j], mean, rstd, a[j], b[j]);
                    m = max(m, cu_abs_bits(v[it][j]));
                }
            }
        }
        amax = cu_block_amax(m, shm);
        inv = __fdiv_rn(PICTOR_E4M3_MAX, amax);
        const bool finite = isfinite(amax); /* block-uniform */
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t k = threadIdx.x + (int64_t)it * blockDim.x;

            if (k < chunks) {
                float q[FZ_CH];
                uint32_t lo = 0, hi = 0;

#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    q[j] = __fmul_rn(v[it][j], inv);
                if (finite) {
                    lo = cu_e4m3x4_finite(q[0], q[1], q[2], q[3]);
                    hi = cu_e4m3x4_finite(q[4], q[5], q[6], q[7]);
                } else {
#pragma unroll
                    for (int j = 0; j < FZ_CH / 2; j++) {
                        lo |= (uint32_t)cu_f32_to_e4m3(q[j], false) << (8 * j);
                        hi |= (uint32_t)cu_f32_to_e4m3(q[j + FZ_CH / 2], false) << (8 * j);
                    }
                }
                y[r * chunks + k] = make_uint2(lo, hi);
            }
        }
        if (threadIdx.x == 0)
            row_scale[r] = cu_fp8_row_scale(amax);
        /* The next row's first reduction waits before reusing shd. */
    }
}

/* Generic path: x read once per pass (statistics, amax, codes); sc, sh are
 * views broadcast to x's shape; y contiguous codes. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fp8_generic_kernel(cu_view x, cu_view sc, cu_view sh, uint8_t *y, float *row_scale,
                       double eps, int64_t rows, int64_t D)
{
    __shared__ double shd[2 * CU_WARP];
    __shared__ uint32_t shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D;
        const double c = (double)cu_get(x, base);
        float mean, rstd, amax, inv;
        double s1 = 0.0, s2 = 0.0;
        uint32_t m = 0;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            ada_stats_acc(cu_get(x, base + k), c, &s1, &s2);
        ada_block_sum2_f64(&s1, &s2, shd);
        ada_stats(s1, s2, c, D, eps, &mean, &rstd);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            m = max(m, cu_abs_bits(ada_mod(cu_get(x, base + k), mean, rstd,
                                           cu_get(sc, base + k), cu_get(sh, base + k))));
        amax = cu_block_amax(m, shm);
        inv = __fdiv_rn(PICTOR_E4M3_MAX, amax);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
            float v = ada_mod(cu_get(x, base + k), mean, rstd, cu_get(sc, base + k),
                              cu_get(sh, base + k));

            y[base + k] = cu_f32_to_e4m3(__fmul_rn(v, inv), false);
        }
        if (threadIdx.x == 0)
            row_scale[r] = cu_fp8_row_scale(amax);
    }
}

/* ---- host side -------------------------------------------------------- */

/* ada_layer_norm into the FP8 rows view y (validated by ops_fused.c). */
static int ada_fp8_launch(struct cuda_ctx *c, const pictor_tensor *x, const pictor_tensor *sc,
                          const pictor_tensor *sh, const pictor_tensor *y, float eps,
                          int64_t rows, int64_t D, char *err, size_t errlen)
{
    float *row_scale = (float *)y->row_scale; /* the caller's writable scales */

    if (fz_fast_row(x, D) && fz_fast_row(sc, D) && fz_fast_row(sh, D) &&
        D / FZ_CH <= (int64_t)FZ_ITERS * CU_ROW_THREADS && (uintptr_t)y->data % 8 == 0) {
        fz_vec vec;

        memset(&vec, 0, sizeof vec);
        vec.x = fz_aligned(x);
        vec.a = fz_aligned(sc);
        vec.b = fz_aligned(sh);
        ada_fp8_fast_kernel<<<cu_row_blocks(rows), fz_threads(D / FZ_CH), 0, c->stream>>>(
            cu_view_of(x), cu_view_bcast(sc, x), cu_view_bcast(sh, x), (uint2 *)y->data,
            row_scale, vec, (double)eps, rows, D);
    } else {
        ada_fp8_generic_kernel<<<cu_row_blocks(rows), CU_ROW_THREADS, 0, c->stream>>>(
            cu_view_of(x), cu_view_bcast(sc, x), cu_view_bcast(sh, x), (uint8_t *)y->data,
            row_scale, (double)eps, rows, D);
    }
    return CU_LAUNCH_CHECK(err, errlen);
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
    if (y->dtype == PICTOR_F8_E4M3) /* an FP8 rows view (ops.h) */
        return ada_fp8_launch(c, x, sc, sh, y, eps, rows, D, err, errlen);
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
