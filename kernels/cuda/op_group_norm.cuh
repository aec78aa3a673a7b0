/*
 * kernels/cuda/op_group_norm.cuh — what the two kernel files of the CUDA
 * GroupNorm share (op_group_norm.cu: statistics, finalize, the launcher;
 * op_group_norm_apply.cu: the normalisation): the kernels' arguments, the
 * fast paths' element access and the normalisation arithmetic. The
 * algorithm and the paths: op_group_norm.h.
 */
#ifndef PICTOR_CUDA_OP_GROUP_NORM_CUH
#define PICTOR_CUDA_OP_GROUP_NORM_CUH

#include "cuda_common.cuh"

#include <cuda_fp16.h> /* after cuda_common.cuh: its `half` would shadow a local */

#include "op_group_norm.h"

/* What every kernel reads; fields as in struct gn_plan. */
struct gn_args {
    const char *x;       /* x's data (fast paths) */
    char *y;             /* y's data (fast paths) */
    int64_t xb, yb;      /* batch strides, elements */
    int64_t C, S, G, cpg, n;
    int64_t chunk, chunks, per_thread;
    cu_view gamma, beta; /* [C], read by finalize when has_g / has_b */
    bool has_g, has_b, silu;
    double2 *part;       /* [B * G * chunks] (sum d, sum d^2) */
    float4 *chan;        /* [B * C] (mean, rstd * gamma, beta, 0) */
};

/* ---- element types of the fast paths --------------------------------- */

/* Storage, exact decode and encode (rounded as cu_store_raw) per dtype. */
template <int DT> struct gn_type;
template <> struct gn_type<PICTOR_F32> {
    typedef float S;
    static __device__ __forceinline__ float get(S v) { return v; }
    static __device__ __forceinline__ S put(float v) { return v; }
};
template <> struct gn_type<PICTOR_BF16> {
    typedef uint16_t S;
    static __device__ __forceinline__ float get(S v) { return cu_u2f((uint32_t)v << 16); }
    static __device__ __forceinline__ S put(float v) { return cu_f32_to_bf16(v); }
};
template <> struct gn_type<PICTOR_F16> {
    typedef uint16_t S;
    /* The hardware conversion: exact, one instruction (cu_f16_to_f32 is
     * the same function in integer code). */
    static __device__ __forceinline__ float get(S v) { return __half2float(__ushort_as_half(v)); }
    static __device__ __forceinline__ S put(float v) { return cu_f32_to_f16(v); }
};

/* Elements per 16-byte access. */
template <int DT> struct gn_vec {
    static constexpr int N = 16 / sizeof(typename gn_type<DT>::S);
};

/* V consecutive elements, moved by one load or store (16 bytes, or 8 for
 * the 16-bit side of an f32 -> 16-bit apply, when V > 1: the address must
 * be aligned to the pack's size). */
template <int DT, int V> struct alignas(V * sizeof(typename gn_type<DT>::S)) gn_pack {
    typename gn_type<DT>::S s[V];
};

template <int DT, int V>
static __device__ __forceinline__ gn_pack<DT, V> gn_load(const typename gn_type<DT>::S *p)
{
    static_assert(V == 1 || sizeof(gn_pack<DT, V>) == 16 || sizeof(gn_pack<DT, V>) == 8,
                  "one 8- or 16-byte access");
    return *reinterpret_cast<const gn_pack<DT, V> *>(p);
}

template <int DT, int V>
static __device__ __forceinline__ void gn_unpack(const gn_pack<DT, V> &w, float (&v)[V])
{
#pragma unroll
    for (int l = 0; l < V; l++)
        v[l] = gn_type<DT>::get(w.s[l]);
}

template <int DT, int V>
static __device__ __forceinline__ void gn_store(typename gn_type<DT>::S *p, const float (&v)[V])
{
    union {
        gn_pack<DT, V> w;
        typename gn_type<DT>::S s; /* V == 1 */
        uint4 u;                   /* 16-byte pack */
        uint2 h;                   /* 8-byte pack */
    } o;

#pragma unroll
    for (int l = 0; l < V; l++)
        o.w.s[l] = gn_type<DT>::put(v[l]);
    if constexpr (V == 1)
        *p = o.s;
    else if constexpr (sizeof(gn_pack<DT, V>) == 8)
#ifndef PICTOR_CUDA_EMU
        asm volatile("st.global.v2.b32 [%0], {%1, %2};" ::"l"(p), "r"(o.h.x), "r"(o.h.y)
                     : "memory");
#else
        *(uint2 *)p = o.h;
#endif
    else /* in PTX: NVVM split a plain 16-byte store into 4-byte pieces */
#ifndef PICTOR_CUDA_EMU
        asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};" ::"l"(p), "r"(o.u.x),
                     "r"(o.u.y), "r"(o.u.z), "r"(o.u.w)
                     : "memory");
#else /* tests/emu: the same 16-byte store on the host */
        *(uint4 *)p = o.u;
#endif
}

/* ---- shared arithmetic ------------------------------------------------ */

/* (x - mean) * scale + beta, then SiLU: the CPU twin's arithmetic with
 * scale = rstd * gamma folded (one rounding apart: (x - mean) is formed
 * first, so a large mean cancels exactly as on the CPU). FAST (16-bit
 * outputs) takes SiLU from the hardware exp2 and reciprocal: a few 1e-7
 * relative, far below the output's rounding, and a third of the
 * instructions of IEEE expf and division, which would otherwise make the
 * kernel compute-bound on an H100. */
template <bool FAST>
static __device__ __forceinline__ float gn_norm(float x, float mean, float scale, float be,
                                                bool silu)
{
    float v = fmaf(x - mean, scale, be);

    if (!silu)
        return v;
    return FAST ? __fdividef(v, 1.0f + __expf(-v)) : v / (1.0f + expf(-v));
}

/* Whether dtype DT's outputs take the FAST SiLU. */
template <int DT> struct gn_fast_silu {
    static constexpr bool on = DT != PICTOR_F32;
};

/* Calls L<DT>(args...) for the fast paths' dtype (f32, f16 or bf16). */
#define GN_BY_DTYPE(dt, L, ...)                                                             \
    ((dt) == PICTOR_F32   ? L<PICTOR_F32>(__VA_ARGS__)                                       \
     : (dt) == PICTOR_F16 ? L<PICTOR_F16>(__VA_ARGS__)                                       \
                          : L<PICTOR_BF16>(__VA_ARGS__))

/* Elements per access of an apply from dtype DX to dtype DY: one 16-byte
 * access on the wider side (f32 -> bf16: 4, read as 16 bytes, written as
 * 8). */
template <int DX, int DY> struct gn_apply_vec {
    static constexpr int N = gn_vec<DX>::N < gn_vec<DY>::N ? gn_vec<DX>::N : gn_vec<DY>::N;
};

/* Queues step 3 of plan pl (op_group_norm_apply.cu); p filled for it. */
void gn_apply_launch(const gn_plan *pl, const gn_args &p, const cu_view &x, const cu_view &y,
                     int xdtype, int ydtype, cudaStream_t s);

#endif /* PICTOR_CUDA_OP_GROUP_NORM_CUH */
