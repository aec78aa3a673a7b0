/*
 * kernels/cuda/op_sdpa_generic.cu — the SIMT flash-attention kernel: every
 * sdpa call the tensor-core kernel (op_sdpa_flash.cu) and cuDNN do not
 * take: f32 and FP8 operands, mixed dtypes, head dims other than 64/128
 * up to CUDA_SDPA_MAX_HEAD_DIM (the VAE's 512), any strides. Twin of
 * kernels/cpu/op_sdpa.c; f32 arithmetic throughout, expf as the CPU.
 *
 * Work split. One block of GS_WARPS warps per (GS_BR query rows, head,
 * batch); warp w owns GS_ROWS rows. The block walks the keys in tiles of
 * GS_BK = 32, one key per lane:
 *   scores  lane j computes the dot products of key j with the warp's
 *           rows: the K tile is staged in shared memory (as f32, GS_DC
 *           head dims at a time, rows padded to GS_DC + 1 so the 32 lanes'
 *           reads of 32 different key rows hit 32 banks); the block's Q
 *           rows sit in shared memory as f32 and are read as broadcasts;
 *   softmax online per row (same guard as the flash kernel: a row fully
 *           masked so far keeps p = 0, l = 0; 0 output where l == 0), the
 *           row max reduced over the warp, the row sum kept per lane and
 *           reduced once at the end;
 *   P V     lanes switch to value dims: lane owns dims c*GS_DC + lane and
 *           c*GS_DC + 32 + lane of chunk c, reading the warp's p row from
 *           shared memory (broadcast) and the V tile chunk (consecutive).
 * Loads go through cu_load_raw (every dtype; FP8 scale and, for q/k/v
 * whose dim 0 is the batch, row_scale[b]); stores through cu_store_raw.
 *
 * Shared memory: 4 (16 D + 32 (2 GS_DC + 1) + 512) bytes, dynamic: 51 KB
 * at D = 512, above the 48 KB default, so the launcher raises the limit
 * (cudaFuncAttributeMaxDynamicSharedMemorySize; sm_80+ allow 99 KB+).
 */
#include "cuda_common.cuh"
#include "op_sdpa_internal.h"

#define GS_WARPS 4
#define GS_ROWS 4 /* query rows per warp */
#define GS_BR (GS_WARPS * GS_ROWS)
#define GS_THREADS (GS_WARPS * CU_WARP)
#define GS_BK CU_WARP /* keys per tile: one per lane */
#define GS_DC 64      /* head dims per staged chunk: 2 value dims per lane */
/* Shared memory the launch needs without opting in (CUDA default). */
#define GS_DEFAULT_SMEM (48 * 1024)

/* One operand: any float dtype, strides over [B, H, L, D]. */
struct gs_in {
    const char *p;
    int dtype;
    float scale;            /* FP8 only */
    const float *row_scale; /* FP8 only: [B]; NULL otherwise */
    int64_t s[4];
};

struct gs_params {
    gs_in q, k, v;
    char *o;
    int o_dtype;
    float o_scale;
    int64_t os[4];
    const char *m; /* additive mask or NULL */
    int m_dtype;
    float m_scale;
    int64_t ms[4]; /* broadcast strides over [B, H, Lq, Lk] */
    int64_t Lq, Lk;
    int D, Dv;
    float scale;
    bool causal;
};

/* The dequantisation scale of operand t in batch b. */
static __device__ __forceinline__ float gs_scale(const gs_in &t, int b)
{
    return t.row_scale ? t.scale * t.row_scale[b] : t.scale;
}

/* Blocks per SM the register budget is sized for (__launch_bounds__): 4
 * (<= 128 registers) keeps the small instances spill-free at high
 * occupancy; the 16 accumulators per row of Dv > 256 need 2 (<= 255:
 * 168 on sm_90a, no spills, where 4 spilled). */
#define GS_MIN_BLOCKS(dvl) ((dvl) > 8 ? 2 : 4)

template <int DVL> /* value dims per lane: Dv <= 32 DVL, DVL even */
static __global__ void __launch_bounds__(GS_THREADS, GS_MIN_BLOCKS(DVL))
    gs_kernel(const gs_params p)
{
    extern __shared__ float gs_smem[];
    float *qs = gs_smem;                  /* [GS_BR][D] */
    float *kt = qs + GS_BR * p.D;         /* [GS_BK][GS_DC + 1] */
    float *vt = kt + GS_BK * (GS_DC + 1); /* [GS_BK][GS_DC] */
    float *ps = vt + GS_BK * GS_DC;       /* [GS_WARPS][GS_ROWS][GS_BK] */

    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int b = blockIdx.z, h = blockIdx.y;
    const int64_t q0 = (int64_t)blockIdx.x * GS_BR, rw0 = q0 + warp * GS_ROWS;
    const float qsc = gs_scale(p.q, b), ksc = gs_scale(p.k, b), vsc = gs_scale(p.v, b);
    const int64_t qoff = b * p.q.s[0] + h * p.q.s[1];
    const int64_t koff = b * p.k.s[0] + h * p.k.s[1];
    const int64_t voff = b * p.v.s[0] + h * p.v.s[1];
    const float *qw = qs + warp * GS_ROWS * p.D;
    float *pw = ps + warp * GS_ROWS * GS_BK;

    /* The block's Q rows as f32 (zeros past Lq); read after the first
     * barrier of the key loop. */
    for (int i = threadIdx.x; i < GS_BR * p.D; i += GS_THREADS) {
        int64_t row = q0 + i / p.D;
        int d = i % p.D;

        qs[i] = row < p.Lq ? cu_load_raw(p.q.p, p.q.dtype,
                                         qoff + row * p.q.s[2] + d * p.q.s[3], qsc)
                           : 0.0f;
    }

    /* Causal: keys past the block's last query row are masked for all. */
    int64_t kv_end = p.Lk;
    if (p.causal)
        kv_end = min(kv_end, min(q0 + GS_BR, p.Lq));

    float m[GS_ROWS], l[GS_ROWS], o[GS_ROWS][DVL];
#pragma unroll
    for (int r = 0; r < GS_ROWS; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
#pragma unroll
        for (int u = 0; u < DVL; u++)
            o[r][u] = 0.0f;
    }

    for (int64_t kv0 = 0; kv0 < kv_end; kv0 += GS_BK) {
        const int64_t key = kv0 + lane;
        float s[GS_ROWS];

#pragma unroll
        for (int r = 0; r < GS_ROWS; r++)
            s[r] = 0.0f;
        for (int d0 = 0; d0 < p.D; d0 += GS_DC) {
            const int dc = min(GS_DC, p.D - d0);

            __syncthreads(); /* kt's readers are done; qs is written */
            for (int i = threadIdx.x; i < GS_BK * GS_DC; i += GS_THREADS) {
                int kk = i / GS_DC, dd = i % GS_DC;
                int64_t kkey = kv0 + kk;

                kt[kk * (GS_DC + 1) + dd] =
                    kkey < p.Lk && dd < dc
                        ? cu_load_raw(p.k.p, p.k.dtype,
                                      koff + kkey * p.k.s[2] + (d0 + dd) * p.k.s[3], ksc)
                        : 0.0f;
            }
            __syncthreads();
            const float *kr = kt + lane * (GS_DC + 1);
            for (int dd = 0; dd < dc; dd++) {
                float kv = kr[dd];

#pragma unroll
                for (int r = 0; r < GS_ROWS; r++)
                    s[r] = fmaf(qw[r * p.D + d0 + dd], kv, s[r]);
            }
        }

        __syncwarp(); /* the warp's reads of pw from the previous tile are done */
#pragma unroll
        for (int r = 0; r < GS_ROWS; r++) {
            const int64_t row = rw0 + r;
            float x = s[r] * p.scale;

            if (key >= p.Lk || (p.causal && key > row))
                x = -INFINITY;
            else if (p.m && row < p.Lq)
                x += cu_load_raw(p.m, p.m_dtype,
                                 b * p.ms[0] + h * p.ms[1] + row * p.ms[2] + key * p.ms[3],
                                 p.m_scale);
            const float mx = fmaxf(m[r], cu_warp_max(x));
            const float mu = mx == -INFINITY ? 0.0f : mx;
            const float alpha = expf(m[r] - mu); /* 0 while m is still -inf */
            const float pe = expf(x - mu);

            m[r] = mx;
            l[r] = l[r] * alpha + pe;
#pragma unroll
            for (int u = 0; u < DVL; u++)
                o[r][u] *= alpha;
            pw[r * GS_BK + lane] = pe;
        }

#pragma unroll
        for (int c = 0; c < DVL / 2; c++) {
            const int dv0 = c * GS_DC;

            if (dv0 >= p.Dv) /* uniform over the block */
                break;
            __syncthreads(); /* vt's readers are done; pw is written */
            for (int i = threadIdx.x; i < GS_BK * GS_DC; i += GS_THREADS) {
                int kk = i / GS_DC, dd = i % GS_DC;
                int64_t kkey = kv0 + kk;

                vt[kk * GS_DC + dd] =
                    kkey < p.Lk && dv0 + dd < p.Dv
                        ? cu_load_raw(p.v.p, p.v.dtype,
                                      voff + kkey * p.v.s[2] + (dv0 + dd) * p.v.s[3], vsc)
                        : 0.0f;
            }
            __syncthreads();
            for (int kk = 0; kk < GS_BK; kk++) {
                const float v0 = vt[kk * GS_DC + lane], v1 = vt[kk * GS_DC + CU_WARP + lane];

#pragma unroll
                for (int r = 0; r < GS_ROWS; r++) {
                    const float pe = pw[r * GS_BK + kk];

                    o[r][2 * c] = fmaf(pe, v0, o[r][2 * c]);
                    o[r][2 * c + 1] = fmaf(pe, v1, o[r][2 * c + 1]);
                }
            }
        }
    }

#pragma unroll
    for (int r = 0; r < GS_ROWS; r++) {
        const int64_t row = rw0 + r;
        const float lt = cu_warp_sum(l[r]);
        const float inv = lt > 0.0f ? 1.0f / lt : 0.0f;

        if (row >= p.Lq)
            continue;
#pragma unroll
        for (int u = 0; u < DVL; u++) {
            const int dv = (u / 2) * GS_DC + (u % 2) * CU_WARP + lane;

            if (dv < p.Dv)
                cu_store_raw(p.o, p.o_dtype,
                             b * p.os[0] + h * p.os[1] + row * p.os[2] + dv * p.os[3],
                             o[r][u] * inv, p.o_scale, false);
        }
    }
}

static gs_in gs_in_of(const pictor_tensor *t)
{
    gs_in v;
    bool fp8 = t->dtype == PICTOR_F8_E4M3 || t->dtype == PICTOR_F8_E5M2;

    v.p = (const char *)t->data;
    v.dtype = t->dtype;
    v.scale = fp8 ? t->scale : 1.0f;
    v.row_scale = fp8 ? t->row_scale : NULL;
    for (int d = 0; d < 4; d++)
        v.s[d] = t->stride[d];
    return v;
}

/* Launches gs_kernel<DVL> with `smem` bytes of dynamic shared memory. */
template <int DVL>
static int gs_launch(struct cuda_ctx *ctx, const gs_params &p, dim3 grid, size_t smem,
                     char *err, size_t errlen)
{
    if (smem > GS_DEFAULT_SMEM) {
        int rc = CU_CHECK(cudaFuncSetAttribute(gs_kernel<DVL>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               (int)smem),
                          err, errlen);
        if (rc)
            return rc;
    }
    gs_kernel<DVL><<<grid, GS_THREADS, smem, ctx->stream>>>(p);
    return CU_LAUNCH_CHECK(err, errlen);
}

extern "C" int cuda_sdpa_generic(struct cuda_ctx *ctx, const struct pictor_op_args *a,
                                 char *err, size_t errlen)
{
    const pictor_tensor *q = a->u.sdpa.q, *v = a->u.sdpa.v, *o = a->u.sdpa.o;
    const pictor_tensor *m = a->u.sdpa.mask;
    int64_t D = q->shape[3], Dv = v->shape[3], Lq = q->shape[2];
    gs_params p;
    size_t smem;

    if (D > CUDA_SDPA_MAX_HEAD_DIM || Dv > CUDA_SDPA_MAX_HEAD_DIM) {
        snprintf(err, errlen, "sdpa: head dims %lld/%lld above the CUDA kernels' %d",
                 (long long)D, (long long)Dv, CUDA_SDPA_MAX_HEAD_DIM);
        return PICTOR_E_UNSUPPORTED;
    }
    memset(&p, 0, sizeof p);
    p.q = gs_in_of(q);
    p.k = gs_in_of(a->u.sdpa.k);
    p.v = gs_in_of(v);
    p.o = (char *)o->data;
    p.o_dtype = o->dtype;
    p.o_scale = o->scale;
    for (int d = 0; d < 4; d++)
        p.os[d] = o->stride[d];
    if (m) { /* broadcast strides, as the CPU twin's mask_setup */
        p.m = (const char *)m->data;
        p.m_dtype = m->dtype;
        p.m_scale = m->scale;
        for (int d = 0; d < 4; d++) {
            int md = d - (4 - m->ndim);

            p.ms[d] = (md >= 0 && m->shape[md] != 1) ? m->stride[md] : 0;
        }
    }
    p.Lq = Lq;
    p.Lk = a->u.sdpa.k->shape[2];
    p.D = (int)D;
    p.Dv = (int)Dv;
    p.scale = a->u.sdpa.scale;
    p.causal = a->u.sdpa.causal;

    smem = sizeof(float) * ((size_t)GS_BR * (size_t)D + GS_BK * (GS_DC + 1) + GS_BK * GS_DC +
                            GS_WARPS * GS_ROWS * GS_BK);
    dim3 grid((unsigned)((Lq + GS_BR - 1) / GS_BR), (unsigned)q->shape[1],
              (unsigned)q->shape[0]);
    if (Dv <= 2 * CU_WARP)
        return gs_launch<2>(ctx, p, grid, smem, err, errlen);
    if (Dv <= 4 * CU_WARP)
        return gs_launch<4>(ctx, p, grid, smem, err, errlen);
    if (Dv <= 8 * CU_WARP)
        return gs_launch<8>(ctx, p, grid, smem, err, errlen);
    return gs_launch<16>(ctx, p, grid, smem, err, errlen);
}
