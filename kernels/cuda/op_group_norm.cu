/*
 * kernels/cuda/op_group_norm.cu — steps 1 and 2 of the CUDA GroupNorm
 * (+SiLU): partial sums per chunk (NCHW, NHWC, generic) and the per-group
 * finalize, and the launcher of all three steps (step 3:
 * op_group_norm_apply.cu). The algorithm and the paths are described in
 * op_group_norm.h; the plan comes from op_group_norm.c.
 */
#include "op_group_norm.cuh"

/* ---- block sums ------------------------------------------------------- */

static __device__ __forceinline__ double gn_warp_sum(double v)
{
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sums *a and *b over a block of GN_THREADS threads in a fixed order;
 * thread 0 gets the totals. shm: 2 * CU_WARP doubles. Call from all
 * threads. */
static __device__ __forceinline__ void gn_block_sum2(double *a, double *b, double *shm)
{
    int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    double sa = gn_warp_sum(*a), sb = gn_warp_sum(*b);

    if (lane == 0) {
        shm[warp] = sa;
        shm[CU_WARP + warp] = sb;
    }
    __syncthreads();
    if (warp == 0) {
        sa = lane < GN_THREADS / CU_WARP ? shm[lane] : 0.0;
        sb = lane < GN_THREADS / CU_WARP ? shm[CU_WARP + lane] : 0.0;
        *a = gn_warp_sum(sa);
        *b = gn_warp_sum(sb);
    }
}

/* ---- step 1: partial sums per chunk ----------------------------------- */

/* NCHW: block = (b, group, chunk) over the group's contiguous range. */
template <int DT, int V>
static __global__ void __launch_bounds__(GN_THREADS) gn_stats_nchw(gn_args p)
{
    typedef typename gn_type<DT>::S S;
    __shared__ double shm[2 * CU_WARP];
    const int64_t task = blockIdx.x / p.chunks, k = blockIdx.x % p.chunks;
    const S *grp = (const S *)p.x + (task / p.G) * p.xb + (task % p.G) * p.n;
    const float K = gn_type<DT>::get(grp[0]);
    const int64_t hi = min((k + 1) * p.chunk, p.n);
    double s1 = 0.0, s2 = 0.0;

#pragma unroll 4
    for (int64_t e = k * p.chunk + (int64_t)threadIdx.x * V; e < hi; e += GN_THREADS * V) {
        float v[V], a = 0.0f, q = 0.0f;

        gn_unpack<DT, V>(gn_load<DT, V>(grp + e), v);
#pragma unroll
        for (int l = 0; l < V; l++) {
            float d = v[l] - K;

            a += d;
            q = fmaf(d, d, q);
        }
        s1 += a;
        s2 += q;
    }
    gn_block_sum2(&s1, &s2, shm);
    if (threadIdx.x == 0)
        p.part[blockIdx.x] = make_double2(s1, s2);
}

/* NHWC, one of the two sums (component 0 or 1 of the partials): the
 * lanes' totals t, per (row slot, channel) in sh [slots][C], are added
 * per channel, then per group. Call from all threads. */
template <int V>
static __device__ void gn_nhwc_part(double *sh, const double (&t)[V], const gn_args &p,
                                    int slot, int col, int slots, int comp)
{
    if (slot < slots) {
#pragma unroll
        for (int l = 0; l < V; l++)
            sh[slot * p.C + col * V + l] = t[l];
    }
    __syncthreads();
    for (int64_t c = threadIdx.x; c < p.C; c += GN_THREADS) {
        double s = 0.0;

        for (int i = 0; i < slots; i++)
            s += sh[i * p.C + c];
        sh[c] = s; /* column c is read and written by this thread only */
    }
    __syncthreads();
    for (int64_t g = threadIdx.x; g < p.G; g += GN_THREADS) {
        double s = 0.0;
        double2 *dst = &p.part[(blockIdx.y * p.G + g) * p.chunks + blockIdx.x];

        for (int64_t c = g * p.cpg; c < (g + 1) * p.cpg; c++)
            s += sh[c];
        if (comp == 0)
            dst->x = s;
        else
            dst->y = s;
    }
    __syncthreads(); /* sh is rewritten by the next call */
}

/* NHWC: block = (row chunk, b) over all channels: thread (slot, col) sums
 * the V channels of vector col on rows slot, slot + slots, ...
 * Dynamic shared memory: slots * C doubles. */
template <int DT, int V>
static __global__ void __launch_bounds__(GN_THREADS) gn_stats_nhwc(gn_args p)
{
    typedef typename gn_type<DT>::S S;
    extern __shared__ double sh[];
    const int cols = (int)(p.C / V), slots = GN_THREADS / cols;
    const int slot = threadIdx.x / cols, col = threadIdx.x % cols;
    const S *xb = (const S *)p.x + blockIdx.y * p.xb;
    const int64_t hi = min((int64_t)(blockIdx.x + 1) * p.chunk, p.S);
    double t1[V], t2[V];
    float K[V];

#pragma unroll
    for (int l = 0; l < V; l++) {
        t1[l] = t2[l] = 0.0;
        K[l] = 0.0f;
    }
    if (slot < slots) {
#pragma unroll
        for (int l = 0; l < V; l++) /* row 0, first channel of the lane's group */
            K[l] = gn_type<DT>::get(xb[(col * V + l) / (int)p.cpg * (int)p.cpg]);
        for (int64_t r = (int64_t)blockIdx.x * p.chunk + slot; r < hi; r += GN_RUN * slots) {
            gn_pack<DT, V> w[GN_RUN];
            float a[V], q[V];

#pragma unroll
            for (int i = 0; i < GN_RUN; i++) /* all loads first */
                if (r + i * slots < hi)
                    w[i] = gn_load<DT, V>(xb + (r + i * slots) * p.C + col * V);
#pragma unroll
            for (int l = 0; l < V; l++)
                a[l] = q[l] = 0.0f;
#pragma unroll
            for (int i = 0; i < GN_RUN; i++) {
                float v[V];

                if (r + i * slots >= hi)
                    break;
                gn_unpack<DT, V>(w[i], v);
#pragma unroll
                for (int l = 0; l < V; l++) {
                    float d = v[l] - K[l];

                    a[l] += d;
                    q[l] = fmaf(d, d, q[l]);
                }
            }
#pragma unroll
            for (int l = 0; l < V; l++) {
                t1[l] += a[l];
                t2[l] += q[l];
            }
        }
    }
    gn_nhwc_part<V>(sh, t1, p, slot, col, slots, 0);
    gn_nhwc_part<V>(sh, t2, p, slot, col, slots, 1);
}

/* Any layout and dtype: block = (b, group, chunk) over flat indices. */
static __global__ void __launch_bounds__(GN_THREADS) gn_stats_generic(cu_view x, gn_args p)
{
    __shared__ double shm[2 * CU_WARP];
    const int64_t task = blockIdx.x / p.chunks, k = blockIdx.x % p.chunks;
    const int64_t base = task * p.n, hi = base + min((k + 1) * p.chunk, p.n);
    const float K = cu_get(x, base);
    double s1 = 0.0, s2 = 0.0;

    for (int64_t i = base + k * p.chunk + threadIdx.x; i < hi;) {
        float a = 0.0f, q = 0.0f;

        for (int r = 0; r < GN_RUN && i < hi; r++, i += GN_THREADS) {
            float d = cu_get(x, i) - K;

            a += d;
            q = fmaf(d, d, q);
        }
        s1 += a;
        s2 += q;
    }
    gn_block_sum2(&s1, &s2, shm);
    if (threadIdx.x == 0)
        p.part[blockIdx.x] = make_double2(s1, s2);
}

/* ---- step 2: per-group statistics ------------------------------------- */

/* Block = (b, group): mean and rstd from its partials, rounded as the CPU
 * twin rounds them, then each channel's (mean, rstd * gamma, beta). K is
 * re-read through the generic view (every path decodes it exactly, so it
 * is the value the partials were shifted by). */
static __global__ void __launch_bounds__(GN_THREADS) gn_finalize(cu_view x, gn_args p,
                                                                 double eps)
{
    __shared__ double shm[2 * CU_WARP];
    __shared__ float ms[2]; /* mean, rstd */
    const int64_t task = blockIdx.x, b = task / p.G, g = task % p.G;
    const double2 *pp = p.part + task * p.chunks;
    double s1 = 0.0, s2 = 0.0;

    for (int64_t k = threadIdx.x; k < p.chunks; k += GN_THREADS) {
        s1 += pp[k].x;
        s2 += pp[k].y;
    }
    gn_block_sum2(&s1, &s2, shm);
    if (threadIdx.x == 0) {
        double n = (double)p.n, md = s1 / n, var = fmax(s2 / n - md * md, 0.0);

        ms[0] = (float)((double)cu_get(x, task * p.n) + md);
        ms[1] = (float)(1.0 / sqrt(var + eps));
    }
    __syncthreads();
    for (int64_t c = g * p.cpg + threadIdx.x; c < (g + 1) * p.cpg; c += GN_THREADS) {
        float sc = p.has_g ? ms[1] * cu_get(p.gamma, c) : ms[1];
        float be = p.has_b ? cu_get(p.beta, c) : 0.0f;

        p.chan[b * p.C + c] = make_float4(ms[0], sc, be, 0.0f);
    }
}

/* ---- launcher --------------------------------------------------------- */

/* Step 1 on a fast path, dtype DT. */
template <int DT>
static void gn_launch_stats(const gn_plan *pl, const gn_args &p, cudaStream_t s)
{
    constexpr int V = gn_vec<DT>::N;
    const unsigned nchw_grid = (unsigned)(pl->B * pl->G * pl->chunks);
    const dim3 nhwc_grid((unsigned)pl->chunks, (unsigned)pl->B);
    /* NHWC: [slots][C] doubles, slots = GN_THREADS / (C / v) <= GN_THREADS * v / C. */
    const size_t shm = pl->stats != GN_NHWC ? 0
                       : (size_t)(GN_THREADS / (pl->C / (pl->stats_vec ? V : 1))) *
                             (size_t)pl->C * sizeof(double);

    if (pl->stats == GN_NCHW && pl->stats_vec)
        gn_stats_nchw<DT, V><<<nchw_grid, GN_THREADS, 0, s>>>(p);
    else if (pl->stats == GN_NCHW)
        gn_stats_nchw<DT, 1><<<nchw_grid, GN_THREADS, 0, s>>>(p);
    else if (pl->stats_vec)
        gn_stats_nhwc<DT, V><<<nhwc_grid, GN_THREADS, shm, s>>>(p);
    else
        gn_stats_nhwc<DT, 1><<<nhwc_grid, GN_THREADS, shm, s>>>(p);
}

extern "C" int cuda_group_norm_run(struct cuda_ctx *c, const struct pictor_op_args *a,
                                   const struct gn_plan *pl, void *scratch, char *err,
                                   size_t errlen)
{
    const pictor_tensor *x = a->u.group_norm.x, *y = a->u.group_norm.y;
    const pictor_tensor *g = a->u.group_norm.gamma, *b = a->u.group_norm.beta;
    const cu_view xv = cu_view_of(x), yv = cu_view_of(y);
    const int64_t tasks = pl->B * pl->G;
    gn_args p;
    int rc;

    memset(&p, 0, sizeof p);
    p.x = (const char *)x->data;
    p.y = (char *)y->data;
    p.xb = pl->xb;
    p.yb = pl->yb;
    p.C = pl->C;
    p.S = pl->S;
    p.G = pl->G;
    p.cpg = pl->cpg;
    p.n = pl->n;
    p.chunk = pl->chunk;
    p.chunks = pl->chunks;
    p.per_thread = pl->per_thread;
    p.has_g = g != NULL;
    p.has_b = b != NULL;
    if (g)
        p.gamma = cu_view_of(g);
    if (b)
        p.beta = cu_view_of(b);
    p.silu = a->u.group_norm.silu;
    p.part = (double2 *)scratch;
    p.chan = (float4 *)((char *)scratch + pl->part_bytes);

    if (pl->stats == GN_GENERIC)
        gn_stats_generic<<<(unsigned)(tasks * pl->chunks), GN_THREADS, 0, c->stream>>>(xv, p);
    else
        GN_BY_DTYPE(x->dtype, gn_launch_stats, pl, p, c->stream);
    if ((rc = CU_LAUNCH_CHECK(err, errlen)))
        return rc;
    gn_finalize<<<(unsigned)tasks, GN_THREADS, 0, c->stream>>>(xv, p,
                                                               (double)a->u.group_norm.eps);
    if ((rc = CU_LAUNCH_CHECK(err, errlen)))
        return rc;
    gn_apply_launch(pl, p, xv, yv, x->dtype, y->dtype, c->stream);
    return CU_LAUNCH_CHECK(err, errlen);
}
