/*
 * kernels/cuda/op_group_norm_apply.cu — step 3 of the CUDA GroupNorm:
 * y = (x - mean) * (rstd * gamma[c]) + beta[c] [then SiLU] from the
 * per-channel parameters that step 2 stored (op_group_norm.h), on the NCHW,
 * NHWC and generic paths. The fast paths read x as DX and write y as DY:
 * one dtype, or f32 into f16/bf16 (the VAE's f32 residual stream
 * normalised into its 16-bit convolution's input).
 */
#include "op_group_norm.cuh"

/* ---- step 3: normalise ------------------------------------------------ */

/* NCHW: block = (channel row b * C + c, tile); thread handles vectors
 * u0, u0 + GN_THREADS, ... of the row (per_thread of them). */
template <int DX, int DY, int V>
static __global__ void __launch_bounds__(GN_THREADS) gn_apply_nchw(gn_args p)
{
    typedef typename gn_type<DX>::S SX;
    typedef typename gn_type<DY>::S SY;
    /* B * C <= INT_MAX (the plan's condition for this path) */
    const int b = (int)blockIdx.x / (int)p.C, c = (int)blockIdx.x % (int)p.C;
    const int64_t nv = p.S / V;
    const float4 pc = p.chan[blockIdx.x];
    const SX *xr = (const SX *)p.x + b * p.xb + c * p.S;
    SY *yr = (SY *)p.y + b * p.yb + c * p.S;
    const int64_t u0 = (int64_t)blockIdx.y * GN_THREADS * p.per_thread + threadIdx.x;

    for (int64_t k0 = 0; k0 < p.per_thread; k0 += GN_UNROLL) {
        gn_pack<DX, V> w[GN_UNROLL];

#pragma unroll
        for (int k = 0; k < GN_UNROLL; k++) {
            int64_t u = u0 + (k0 + k) * GN_THREADS;

            if (k0 + k < p.per_thread && u < nv)
                w[k] = gn_load<DX, V>(xr + u * V);
        }
#pragma unroll
        for (int k = 0; k < GN_UNROLL; k++) {
            int64_t u = u0 + (k0 + k) * GN_THREADS;

            if (k0 + k < p.per_thread && u < nv) {
                float v[V];

                gn_unpack<DX, V>(w[k], v);
#pragma unroll
                for (int l = 0; l < V; l++)
                    v[l] = gn_norm<gn_fast_silu<DY>::on>(v[l], pc.x, pc.y, pc.z, p.silu);
                gn_store<DY, V>(yr + u * V, v);
            }
        }
    }
}

/* NHWC: block = (row tile, b); thread (slot, col) owns the V channels of
 * vector col and handles rows r0, r0 + slots, ... (per_thread of them). */
template <int DX, int DY, int V>
static __global__ void __launch_bounds__(GN_THREADS) gn_apply_nhwc(gn_args p)
{
    typedef typename gn_type<DX>::S SX;
    typedef typename gn_type<DY>::S SY;
    const int cols = (int)(p.C / V), slots = GN_THREADS / cols;
    const int slot = threadIdx.x / cols, col = threadIdx.x % cols;
    const SX *xb = (const SX *)p.x + blockIdx.y * p.xb + col * V;
    SY *yb = (SY *)p.y + blockIdx.y * p.yb + col * V;
    const int64_t r0 = (int64_t)blockIdx.x * slots * p.per_thread + slot;
    float mean[V], sc[V], be[V];

    if (slot >= slots)
        return;
#pragma unroll
    for (int l = 0; l < V; l++) {
        float4 pc = p.chan[blockIdx.y * p.C + col * V + l];

        mean[l] = pc.x;
        sc[l] = pc.y;
        be[l] = pc.z;
    }
    for (int64_t k0 = 0; k0 < p.per_thread; k0 += GN_UNROLL) {
        gn_pack<DX, V> w[GN_UNROLL];

#pragma unroll
        for (int k = 0; k < GN_UNROLL; k++) {
            int64_t r = r0 + (k0 + k) * slots;

            if (k0 + k < p.per_thread && r < p.S)
                w[k] = gn_load<DX, V>(xb + r * p.C);
        }
#pragma unroll
        for (int k = 0; k < GN_UNROLL; k++) {
            int64_t r = r0 + (k0 + k) * slots;

            if (k0 + k < p.per_thread && r < p.S) {
                float v[V];

                gn_unpack<DX, V>(w[k], v);
#pragma unroll
                for (int l = 0; l < V; l++)
                    v[l] = gn_norm<gn_fast_silu<DY>::on>(v[l], mean[l], sc[l], be[l], p.silu);
                gn_store<DY, V>(yb + r * p.C, v);
            }
        }
    }
}

/* Any layout and dtypes: grid-stride over y's flat indices. */
static __global__ void __launch_bounds__(CU_THREADS) gn_apply_generic(cu_view x, cu_view y,
                                                                      gn_args p, int64_t numel)
{
    CU_GRID_STRIDE(i, numel) {
        float4 pc = p.chan[i / p.S];

        cu_set(y, i, gn_norm<false>(cu_get(x, i), pc.x, pc.y, pc.z, p.silu), false);
    }
}

/* ---- launcher --------------------------------------------------------- */

/* Step 3 on a fast path, x of dtype DX, y of dtype DY. */
template <int DX, int DY>
static void gn_launch_apply(const gn_plan *pl, const gn_args &p, cudaStream_t s)
{
    constexpr int V = gn_apply_vec<DX, DY>::N;
    const dim3 nchw_grid((unsigned)(pl->B * pl->C), (unsigned)pl->tiles);
    const dim3 nhwc_grid((unsigned)pl->tiles, (unsigned)pl->B);

    if (pl->apply == GN_NCHW && pl->apply_vec)
        gn_apply_nchw<DX, DY, V><<<nchw_grid, GN_THREADS, 0, s>>>(p);
    else if (pl->apply == GN_NCHW)
        gn_apply_nchw<DX, DY, 1><<<nchw_grid, GN_THREADS, 0, s>>>(p);
    else if (pl->apply_vec)
        gn_apply_nhwc<DX, DY, V><<<nhwc_grid, GN_THREADS, 0, s>>>(p);
    else
        gn_apply_nhwc<DX, DY, 1><<<nhwc_grid, GN_THREADS, 0, s>>>(p);
}

/* The same-dtype launcher for DT (GN_BY_DTYPE's form). */
template <int DT>
static void gn_launch_apply_same(const gn_plan *pl, const gn_args &p, cudaStream_t s)
{
    gn_launch_apply<DT, DT>(pl, p, s);
}

void gn_apply_launch(const gn_plan *pl, const gn_args &p, const cu_view &x, const cu_view &y,
                     int xdtype, int ydtype, cudaStream_t s)
{
    const int64_t numel = pl->B * pl->C * pl->S;

    if (pl->apply == GN_GENERIC)
        gn_apply_generic<<<cu_blocks(numel), CU_THREADS, 0, s>>>(x, y, p, numel);
    else if (xdtype == ydtype)
        GN_BY_DTYPE(xdtype, gn_launch_apply_same, pl, p, s);
    else if (ydtype == PICTOR_BF16) /* x f32: the plan's only mixed pair */
        gn_launch_apply<PICTOR_F32, PICTOR_BF16>(pl, p, s);
    else
        gn_launch_apply<PICTOR_F32, PICTOR_F16>(pl, p, s);
}
