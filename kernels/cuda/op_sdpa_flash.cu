/*
 * kernels/cuda/op_sdpa_flash.cu — own flash-attention forward kernel on
 * tensor cores (FlashAttention-2 scheme: Dao 2023, arXiv 2307.08691) for
 * bf16/f16 q, k, v with head dim 64 or 128; the twin of
 * kernels/cpu/op_sdpa.c (semantics in pictor/ops.h; routing in
 * op_sdpa_internal.h).
 *
 * Work split. One block of FA_WARPS warps per (FA_BR query rows, head,
 * batch); warp w owns query rows w*16 .. w*16+15 of the block. The block
 * walks the keys in tiles of FA_BC: K and V tiles land in shared memory
 * with cp.async (16-byte copies, zero-filled past Lk), K_{j+1} loading
 * while tile j's softmax and P V run, V_{j+1} while S_{j+1} = Q K^T runs.
 * Q stays in registers as mma A fragments for the whole walk.
 *
 * Tensor cores: mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16} (PTX ISA,
 * "Matrix Fragments for mma.m16n8k16 with floating point type"). With
 * lane = 4 g + t (g = groupID, t = threadID_in_group):
 *   A (16x16, row): reg0 = A[g][2t..2t+1],   reg1 = A[g+8][2t..2t+1],
 *                   reg2 = A[g][2t+8..+9],   reg3 = A[g+8][2t+8..+9]
 *   B (16x8, col):  reg0 = B[2t..2t+1][g],   reg1 = B[2t+8..2t+9][g]
 *   C (16x8, f32):  c0, c1 = C[g][2t..2t+1], c2, c3 = C[g+8][2t..2t+1]
 * (the lower-indexed element of a pair in the low 16 bits). So:
 *   S = Q K^T: A = Q rows, B[k][n] = K[key n][dim k]: two adjacent dims of
 *     one key row -> one 32-bit shared load;
 *   O += P V: the S accumulators of key tiles 2c and 2c+1, rounded to
 *     16 bits, are exactly the A fragment of key chunk c (no shared-memory
 *     round trip); B[k][n] = V[key k][dim n]: two keys of one dim, two
 *     16-bit shared loads packed.
 * Shared rows are padded by FA_PAD elements (row stride D + 8 = 68 or 36
 * words, 4 mod 32): the 32 lanes' loads above hit 32 different banks.
 *
 * Online softmax per query row (fp32, natural-log units as the CPU twin):
 * x = scale q.k (+ mask; -inf past Lk and, when causal, for key > query);
 * m' = max(m, max_tile x); with mu = (m' == -inf ? 0 : m'): alpha =
 * exp(m - mu), p = exp(x - mu), l = alpha l + sum p, O = alpha O + P V.
 * The guard keeps a row that is fully masked so far at p = 0, l = 0 (never
 * exp(-inf - -inf) = NaN); at the end O / l, and 0 where l == 0: a fully
 * masked row gives zeros, as the CPU does. x - mu is formed before scaling
 * by log2(e) for exp2f, so a finite mask as low as -FLT_MAX cannot
 * overflow to -inf. The row max and sum are reduced over the 4 lanes
 * (t = 0..3) that share a row.
 *
 * Operands: q, k, v [B, H, L, D] 16-bit with unit last stride and 16-byte
 * aligned rows (cuda_sdpa_flash_layout_ok; the router stages others);
 * mask any float dtype and broadcast strides; o any float dtype and
 * strides, rounded as kernels/src/convert.c rounds (cu_store_raw).
 */
#include "cuda_common.cuh"
#include "op_sdpa_internal.h"
/* After cuda_common.cuh: cuda_fp16.h's global `half` would otherwise make
 * a local of that name there a -Wshadow error. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>

/* Query rows per block: FA_WARPS warps of 16 rows (the mma M). */
#define FA_WARPS 4
#define FA_BR (FA_WARPS * 16)
#define FA_THREADS (FA_WARPS * CU_WARP)
/* Keys per tile: a multiple of 16 (the mma K of P V). */
#define FA_BC 64
/* Shared-memory row padding in elements (16 bytes: keeps cp.async
 * destinations aligned and spreads the fragment loads over all banks). */
#define FA_PAD 8
/* 16-bit elements per 16-byte cp.async. */
#define FA_VEC 8
#define FA_LOG2E 1.44269504088896340736f

/* A 16-bit [B, H, L, D] operand with unit last stride. */
struct fa_in {
    const uint16_t *p;
    int64_t sb, sh, sl; /* strides (elements) of B, H, L */
};

struct fa_params {
    fa_in q, k, v;
    char *o;                  /* [B, H, Lq, D], any float dtype */
    int o_dtype;
    float o_scale;            /* FP8 output: stores x / o_scale */
    int64_t osb, osh, osl, osd;
    const char *m;            /* additive mask or NULL */
    int m_dtype;
    float m_scale;
    int64_t msb, msh, msq, msk; /* broadcast strides over [B, H, Lq, Lk] */
    int Lq, Lk;
    float scale;
    bool causal;
};

/* The inline PTX below has twins in the CUDA emulator (tests/emu/emu.h),
 * which builds this file for the host under PICTOR_CUDA_EMU. */
static __device__ __forceinline__ void fa_cp_async16(void *smem, const void *gmem, int src_bytes)
{
#ifndef PICTOR_CUDA_EMU
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);

    /* src_bytes 0 reads nothing and zero-fills the 16 bytes. */
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem),
                 "r"(src_bytes)
                 : "memory");
#else
    ::emu::cp_async16(smem, gmem, src_bytes);
#endif
}

static __device__ __forceinline__ void fa_cp_commit()
{
#ifndef PICTOR_CUDA_EMU
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
    ::emu::cp_commit();
#endif
}

/* Waits until at most N of this thread's committed groups are pending. */
template <int N> static __device__ __forceinline__ void fa_cp_wait()
{
#ifndef PICTOR_CUDA_EMU
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#else
    ::emu::cp_wait(N);
#endif
}

/* Rows row0 .. row0 + FA_BC - 1 of a [L, D] head (row stride sl) into dst
 * (row stride D + FA_PAD); rows at or past L are zero-filled. Every thread
 * of the block takes part; commit separately. */
template <int D>
static __device__ __forceinline__ void fa_load_tile(uint16_t *dst, const uint16_t *head,
                                                    int64_t sl, int row0, int L)
{
    constexpr int LD = D + FA_PAD, VECS = D / FA_VEC;

    for (int c = threadIdx.x; c < FA_BC * VECS; c += FA_THREADS) {
        int r = c / VECS, col = (c % VECS) * FA_VEC;
        bool in = row0 + r < L;
        /* Out of range: a valid address (the head's first row), 0 bytes. */
        const uint16_t *src = in ? head + (int64_t)(row0 + r) * sl + col : head;

        fa_cp_async16(dst + r * LD + col, src, in ? 16 : 0);
    }
}

/* Two 16-bit elements at an even offset as one 32-bit word. */
static __device__ __forceinline__ uint32_t fa_ld32(const uint16_t *p)
{
    return *reinterpret_cast<const uint32_t *>(p);
}

/* c += a b on the tensor cores (bf16 or f16 inputs, f32 accumulation). */
template <bool BF16>
static __device__ __forceinline__ void fa_mma(float c[4], const uint32_t a[4], uint32_t b0,
                                              uint32_t b1)
{
#ifdef PICTOR_CUDA_EMU
    ::emu::mma_m16n8k16(c, a, b0, b1, BF16);
#else
    if constexpr (BF16)
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    else
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
            "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

/* (lo, hi) rounded to the 16-bit type, lo in the low half. */
template <bool BF16> static __device__ __forceinline__ uint32_t fa_pack(float lo, float hi)
{
    uint32_t u;

    if constexpr (BF16) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        memcpy(&u, &v, sizeof u);
    } else {
        __half2 v = __floats2half2_rn(lo, hi);
        memcpy(&u, &v, sizeof u);
    }
    return u;
}

/* exp(x) for x <= 0 (or -inf) as exp2. */
static __device__ __forceinline__ float fa_exp(float x)
{
    return exp2f(x * FA_LOG2E);
}

template <int D, bool BF16>
static __global__ void __launch_bounds__(FA_THREADS) fa_kernel(const fa_params p)
{
    constexpr int LD = D + FA_PAD; /* shared row stride, elements */
    constexpr int KC = D / 16;     /* k chunks of Q K^T */
    constexpr int NT = FA_BC / 8;  /* 8-key n tiles of S */
    constexpr int DT = D / 8;      /* 8-dim n tiles of O */
    __shared__ __align__(16) uint16_t ks[FA_BC * LD];
    __shared__ __align__(16) uint16_t vs[FA_BC * LD];

    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int g = lane >> 2, t = lane & 3;
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * FA_BR;
    const int row0 = q0 + warp * 16 + g; /* this thread's rows: row0, row0 + 8 */
    const uint16_t *qg = p.q.p + b * p.q.sb + h * p.q.sh;
    const uint16_t *kg = p.k.p + b * p.k.sb + h * p.k.sh;
    const uint16_t *vg = p.v.p + b * p.v.sb + h * p.v.sh;

    /* Causal: keys past the block's last query row are masked for all. */
    int kv_end = p.Lk;
    if (p.causal)
        kv_end = min(kv_end, min(q0 + FA_BR, p.Lq));
    const int ntiles = (kv_end + FA_BC - 1) / FA_BC;

    /* Pipeline prologue: K_0 then V_0, one commit group each (a group may
     * be empty; the waits below count groups, so every path commits). */
    if (ntiles > 0)
        fa_load_tile<D>(ks, kg, p.k.sl, 0, p.Lk);
    fa_cp_commit();
    if (ntiles > 0)
        fa_load_tile<D>(vs, vg, p.v.sl, 0, p.Lk);
    fa_cp_commit();

    /* Q rows row0 and row0 + 8 as A fragments, straight from global
     * memory (once per block); rows past Lq are zeros. */
    uint32_t qa[KC][4];
    {
        const uint16_t *r0 = row0 < p.Lq ? qg + (int64_t)row0 * p.q.sl : nullptr;
        const uint16_t *r1 = row0 + 8 < p.Lq ? qg + (int64_t)(row0 + 8) * p.q.sl : nullptr;

#pragma unroll
        for (int kc = 0; kc < KC; kc++) {
            int c = kc * 16 + 2 * t;

            qa[kc][0] = r0 ? fa_ld32(r0 + c) : 0u;
            qa[kc][1] = r1 ? fa_ld32(r1 + c) : 0u;
            qa[kc][2] = r0 ? fa_ld32(r0 + c + 8) : 0u;
            qa[kc][3] = r1 ? fa_ld32(r1 + c + 8) : 0u;
        }
    }

    float o[DT][4];
    float m[2] = { -INFINITY, -INFINITY }; /* running row max (natural units) */
    float l[2] = { 0.0f, 0.0f };           /* this lane's share of the row sum */

#pragma unroll
    for (int dt = 0; dt < DT; dt++)
        o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;

    for (int j = 0; j < ntiles; j++) {
        const int kv0 = j * FA_BC;
        float s[NT][4];

        /* Pending: K_j, V_j (V_j committed last): wait for K_j. */
        fa_cp_wait<1>();
        __syncthreads();
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
        for (int kc = 0; kc < KC; kc++) {
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                const uint16_t *kr = ks + (nt * 8 + g) * LD + kc * 16 + 2 * t;

                fa_mma<BF16>(s[nt], qa[kc], fa_ld32(kr), fa_ld32(kr + 8));
            }
        }
        __syncthreads(); /* every warp is done reading ks */
        if (j + 1 < ntiles)
            fa_load_tile<D>(ks, kg, p.k.sl, kv0 + FA_BC, p.Lk);
        fa_cp_commit();

        /* Scores: scale, mask, causal; tile row max over the 4 lanes. */
        float mx[2] = { m[0], m[1] };
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int r = e >> 1, row = row0 + 8 * r;
                const int key = kv0 + nt * 8 + 2 * t + (e & 1);
                float x = s[nt][e] * p.scale;

                if (key >= p.Lk || (p.causal && key > row))
                    x = -INFINITY;
                else if (p.m && row < p.Lq)
                    x += cu_load_raw(p.m, p.m_dtype,
                                     b * p.msb + h * p.msh + (int64_t)row * p.msq +
                                         (int64_t)key * p.msk,
                                     p.m_scale);
                s[nt][e] = x;
                mx[r] = fmaxf(mx[r], x);
            }
        }
        float mu[2], alpha[2], rs[2] = { 0.0f, 0.0f };
#pragma unroll
        for (int r = 0; r < 2; r++) {
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
            mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
            mu[r] = mx[r] == -INFINITY ? 0.0f : mx[r];
            alpha[r] = fa_exp(m[r] - mu[r]); /* 0 while m is still -inf */
            m[r] = mx[r];
        }
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float pe = fa_exp(s[nt][e] - mu[e >> 1]);

                s[nt][e] = pe;
                rs[e >> 1] += pe;
            }
        }
        l[0] = l[0] * alpha[0] + rs[0];
        l[1] = l[1] * alpha[1] + rs[1];
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            o[dt][0] *= alpha[0];
            o[dt][1] *= alpha[0];
            o[dt][2] *= alpha[1];
            o[dt][3] *= alpha[1];
        }

        /* Pending: V_j, K_{j+1} (committed last): wait for V_j. */
        fa_cp_wait<1>();
        __syncthreads();
#pragma unroll
        for (int kc = 0; kc < FA_BC / 16; kc++) {
            const uint32_t pa[4] = {
                fa_pack<BF16>(s[2 * kc][0], s[2 * kc][1]),
                fa_pack<BF16>(s[2 * kc][2], s[2 * kc][3]),
                fa_pack<BF16>(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                fa_pack<BF16>(s[2 * kc + 1][2], s[2 * kc + 1][3]),
            };
            const uint16_t *vr = vs + (kc * 16 + 2 * t) * LD + g;

#pragma unroll
            for (int dt = 0; dt < DT; dt++) {
                const uint16_t *vp = vr + dt * 8;
                uint32_t b0 = (uint32_t)vp[0] | (uint32_t)vp[LD] << 16;
                uint32_t b1 = (uint32_t)vp[8 * LD] | (uint32_t)vp[9 * LD] << 16;

                fa_mma<BF16>(o[dt], pa, b0, b1);
            }
        }
        __syncthreads(); /* every warp is done reading vs */
        if (j + 1 < ntiles)
            fa_load_tile<D>(vs, vg, p.v.sl, kv0 + FA_BC, p.Lk);
        fa_cp_commit();
    }

    /* Row sums over the 4 lanes of a row, then O / l (0 when fully masked). */
#pragma unroll
    for (int r = 0; r < 2; r++) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int row = row0 + 8 * r;
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;

        if (row >= p.Lq)
            continue;
        const int64_t base = b * p.osb + h * p.osh + (int64_t)row * p.osl;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            const int d = dt * 8 + 2 * t;

            cu_store_raw(p.o, p.o_dtype, base + d * p.osd, o[dt][2 * r] * inv, p.o_scale,
                         false);
            cu_store_raw(p.o, p.o_dtype, base + (d + 1) * p.osd, o[dt][2 * r + 1] * inv,
                         p.o_scale, false);
        }
    }
}

static fa_in fa_in_of(const pictor_tensor *t)
{
    fa_in v;

    v.p = (const uint16_t *)t->data;
    v.sb = t->stride[0];
    v.sh = t->stride[1];
    v.sl = t->stride[2];
    return v;
}

/* Strides of the mask broadcast over the scores [B, H, Lq, Lk] (0 along
 * dims it lacks or has as 1), as the CPU twin's mask_setup. */
static void fa_mask_strides(const pictor_tensor *m, int64_t s[4])
{
    for (int d = 0; d < 4; d++) {
        int md = d - (4 - m->ndim);

        s[d] = (md >= 0 && m->shape[md] != 1) ? m->stride[md] : 0;
    }
}

extern "C" int cuda_sdpa_flash(struct cuda_ctx *ctx, const struct pictor_op_args *a,
                               const pictor_tensor *q, const pictor_tensor *k,
                               const pictor_tensor *v, char *err, size_t errlen)
{
    const pictor_tensor *o = a->u.sdpa.o, *m = a->u.sdpa.mask;
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], Lk = k->shape[2];
    int64_t D = q->shape[3];
    fa_params p;

    if (Lq > INT32_MAX - FA_BR || Lk > INT32_MAX - FA_BC) {
        snprintf(err, errlen, "sdpa: sequence lengths %lld/%lld exceed the flash kernel's "
                 "32-bit indices", (long long)Lq, (long long)Lk);
        return PICTOR_E_UNSUPPORTED;
    }
    memset(&p, 0, sizeof p);
    p.q = fa_in_of(q);
    p.k = fa_in_of(k);
    p.v = fa_in_of(v);
    p.o = (char *)o->data;
    p.o_dtype = o->dtype;
    p.o_scale = o->scale;
    p.osb = o->stride[0];
    p.osh = o->stride[1];
    p.osl = o->stride[2];
    p.osd = o->stride[3];
    if (m) {
        int64_t ms[4];

        fa_mask_strides(m, ms);
        p.m = (const char *)m->data;
        p.m_dtype = m->dtype;
        p.m_scale = m->scale;
        p.msb = ms[0];
        p.msh = ms[1];
        p.msq = ms[2];
        p.msk = ms[3];
    }
    p.Lq = (int)Lq;
    p.Lk = (int)Lk;
    p.scale = a->u.sdpa.scale;
    p.causal = a->u.sdpa.causal;

    dim3 grid((unsigned)((Lq + FA_BR - 1) / FA_BR), (unsigned)H, (unsigned)B);
    bool bf16 = q->dtype == PICTOR_BF16;

    if (D == 64 && bf16)
        fa_kernel<64, true><<<grid, FA_THREADS, 0, ctx->stream>>>(p);
    else if (D == 64)
        fa_kernel<64, false><<<grid, FA_THREADS, 0, ctx->stream>>>(p);
    else if (D == 128 && bf16)
        fa_kernel<128, true><<<grid, FA_THREADS, 0, ctx->stream>>>(p);
    else if (D == 128)
        fa_kernel<128, false><<<grid, FA_THREADS, 0, ctx->stream>>>(p);
    else {
        snprintf(err, errlen, "sdpa: flash kernel called with head dim %lld", (long long)D);
        return PICTOR_E_INVALID;
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
