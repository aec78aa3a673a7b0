/*
 * kernels/cuda/op_fused_ada.cu — AdaLN modulation on the GPU (twin of
 * kernels/cpu/op_fused.c's ada_layer_norm; contract in pictor/ops.h),
 * y = LN(x) * (1 + scale) + shift, one block per row:
 *   16/32-bit y  the fast and generic paths of op_fused.cu's header
 *                (f32 statistics, one rounding into y).
 *   FP8 rows view y (codes [rows, D] E4M3 + row_scale): the f32 modulated
 *                row, its amax, then the codes and the row's scale with
 *                pictor_quantize_rows' f32 operations (op_quantize.cu). To
 *                give the CPU's bytes, the statistics are the CPU's
 *                (cpu_row_layer_norm): f64 sum and sum of squared
 *                deviations (from the f64 mean), mean and rstd rounded to
 *                f32 once; every f32 and f64 operation is an explicit _rn
 *                intrinsic, so nvcc contracts nothing into an FMA the CPU
 *                does not do. Only the order of the f64 sums differs (a
 *                tree here), which changes an f32-rounded statistic only
 *                when it lies within that last-bit difference (~1e-15
 *                relative) of an f32 rounding boundary.
 *                Three block reductions per row (sum, squares, amax).
 *                Fast path: x, scale, shift as op_fused.cu's fast path
 *                (op_fused.cuh), the row kept in registers, 8 codes written
 *                per 8-byte store; generic path (any strides, odd D, rows
 *                over 8192): cu_get per element, x re-read per pass.
 *                Codes and scales never alias the inputs (checked by
 *                ops_fused.c).
 */
#include "op_fused.cuh"

/* ---- 16/32-bit output ------------------------------------------------- */

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

/* ---- FP8 rows-view output --------------------------------------------- */

/* f64 sum of v over the block (blockDim.x a multiple of 32); every thread
 * gets it. shm: CU_WARP doubles. Contains __syncthreads. */
static __device__ __forceinline__ double ada_block_sum_f64(double v, double *shm)
{
    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int nwarps = blockDim.x / CU_WARP;

    for (int o = CU_WARP / 2; o > 0; o /= 2)
        v = __dadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads(); /* shm may still be read from a previous call */
    if (lane == 0)
        shm[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shm[lane] : 0.0;
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        v = __dadd_rn(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* One element's contribution to the f64 sum of squared deviations. */
static __device__ __forceinline__ double ada_sq_dev(float v, double mean)
{
    const double d = __dsub_rn((double)v, mean);

    return __dmul_rn(d, d);
}

/* cpu_row_layer_norm's rstd from the row's f64 sum of squared deviations:
 * 1 / sqrt(sq / D + eps) in f64, rounded to f32 once. */
static __device__ __forceinline__ float ada_rstd(double sq, int64_t D, double eps)
{
    return __double2float_rn(__ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(__ddiv_rn(sq, (double)D), eps))));
}

/* The CPU's f32 modulation of one element: ((v - mean) * rstd) * (1 + a) + b,
 * each operation rounded on its own. */
static __device__ __forceinline__ float ada_mod(float v, float mean, float rstd, float a, float b)
{
    const float n = __fmul_rn(__fsub_rn(v, mean), rstd);

    return __fadd_rn(__fmul_rn(n, __fadd_rn(1.0f, a)), b);
}

/* Folds |v| into the thread's running amax (NaN noted apart: the block max
 * drops it), as cpu_row_quantize_e4m3 does. */
static __device__ __forceinline__ void ada_amax_acc(float v, float *m, bool *nan)
{
    const float t = fabsf(v);

    *nan |= isnan(t);
    *m = t > *m ? t : *m;
}

/* The row's amax as the block's common value (NaN when any thread saw
 * one), floored at PICTOR_FP8_AMAX_FLOOR: op_quantize.cu's row_amax. */
static __device__ __forceinline__ float ada_row_amax(float local, bool nan, float *shm)
{
    const float amax = cu_block_max(local, shm);

    if (__syncthreads_or(nan))
        return NAN;
    return amax < PICTOR_FP8_AMAX_FLOOR ? PICTOR_FP8_AMAX_FLOOR : amax;
}

/* Fast path; blockDim.x * FZ_ITERS >= D / FZ_CH (fz_threads); y 8-byte
 * aligned. vec: x, a = scale, b = shift. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fp8_fast_kernel(cu_view x, cu_view sc, cu_view sh, uint2 *y, float *row_scale, fz_vec vec,
                    double eps, int64_t rows, int64_t D)
{
    __shared__ double shd[CU_WARP];
    __shared__ float shm[CU_WARP];
    const int64_t chunks = D / FZ_CH;

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D, xo = fz_off(x, base);
        float v[FZ_ITERS][FZ_CH], mean, rstd, m = 0.0f, amax, inv;
        double s = 0.0, mean64;
        bool nan = false;

#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
                fz_load(x.data, x.dtype, xo + c * FZ_CH, vec.x, v[it]);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    s = __dadd_rn(s, (double)v[it][j]);
            }
        }
        mean64 = __ddiv_rn(ada_block_sum_f64(s, shd), (double)D);
        s = 0.0;
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
#pragma unroll
                for (int j = 0; j < FZ_CH; j++)
                    s = __dadd_rn(s, ada_sq_dev(v[it][j], mean64));
            }
        }
        mean = __double2float_rn(mean64);
        rstd = ada_rstd(ada_block_sum_f64(s, shd), D, eps);
        const int64_t so = fz_off(sc, base), ho = fz_off(sh, base);
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
                float a[FZ_CH], b[FZ_CH];

                fz_load(sc.data, sc.dtype, so + c * FZ_CH, vec.a, a);
                fz_load(sh.data, sh.dtype, ho + c * FZ_CH, vec.b, b);
#pragma unroll
                for (int j = 0; j < FZ_CH; j++) {
                    v[it][j] = ada_mod(v[it][j], mean, rstd, a[j], b[j]);
                    ada_amax_acc(v[it][j], &m, &nan);
                }
            }
        }
        amax = ada_row_amax(m, nan, shm);
        inv = __fdiv_rn(PICTOR_E4M3_MAX, amax);
#pragma unroll
        for (int it = 0; it < FZ_ITERS; it++) {
            int64_t c = threadIdx.x + (int64_t)it * blockDim.x;

            if (c < chunks) {
                uint32_t lo = 0, hi = 0;

#pragma unroll
                for (int j = 0; j < FZ_CH / 2; j++) {
                    lo |= (uint32_t)cu_f32_to_e4m3(__fmul_rn(v[it][j], inv), false) << (8 * j);
                    hi |= (uint32_t)cu_f32_to_e4m3(__fmul_rn(v[it][j + FZ_CH / 2], inv), false)
                          << (8 * j);
                }
                y[r * chunks + c] = make_uint2(lo, hi);
            }
        }
        if (threadIdx.x == 0)
            row_scale[r] = cu_fp8_row_scale(amax);
        /* The next row's first reduction waits before reusing shd. */
    }
}

/* Generic path: x read once per pass (sum, squares, amax, codes); sc, sh
 * are views broadcast to x's shape; y contiguous codes. */
static __global__ void __launch_bounds__(CU_ROW_THREADS)
ada_fp8_generic_kernel(cu_view x, cu_view sc, cu_view sh, uint8_t *y, float *row_scale,
                       double eps, int64_t rows, int64_t D)
{
    __shared__ double shd[CU_WARP];
    __shared__ float shm[CU_WARP];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const int64_t base = r * D;
        float mean, rstd, m = 0.0f, amax, inv;
        double s = 0.0, mean64;
        bool nan = false;

        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            s = __dadd_rn(s, (double)cu_get(x, base + k));
        mean64 = __ddiv_rn(ada_block_sum_f64(s, shd), (double)D);
        s = 0.0;
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            s = __dadd_rn(s, ada_sq_dev(cu_get(x, base + k), mean64));
        mean = __double2float_rn(mean64);
        rstd = ada_rstd(ada_block_sum_f64(s, shd), D, eps);
        for (int64_t k = threadIdx.x; k < D; k += blockDim.x)
            ada_amax_acc(ada_mod(cu_get(x, base + k), mean, rstd, cu_get(sc, base + k),
                                 cu_get(sh, base + k)),
                         &m, &nan);
        amax = ada_row_amax(m, nan, shm);
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
