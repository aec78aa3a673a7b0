/*
 * tests/emu/emu.h — the device side of pictor's CUDA emulator: what
 * kernels/cuda/ *.cu files need so that the host C++ compiler builds them into
 * code that runs on the CPU (tests/emu/README.md says why and how).
 *
 * A .cu file is first rewritten by tests/emu/emu-prep (launches
 * `k<<<grid, block, smem, stream>>>(args)` become
 * `::emu::launch(::emu::cfg(grid, block, smem, stream), "k", k, args)`;
 * `extern __shared__ T name[];` becomes a pointer to the launch's dynamic
 * shared memory), then compiled by g++ with this header force-included
 * (-include) and PICTOR_CUDA_EMU defined.
 *
 * The model (tests/emu/emu_exec.cc carries it out):
 *   - blocks run one after another; the threads of a block are fibers of
 *     one OS thread, each run until it reaches a barrier or ends, in an
 *     order EMU_SCHEDULE chooses (fwd, rev, or a seeded shuffle), so a
 *     missing __syncthreads shows as a wrong result;
 *   - __syncthreads waits for every thread of the block that has not
 *     ended; warp operations (__shfl_*_sync, __ballot_sync, __syncwarp,
 *     the mma of the flash kernel) for every lane of the warp that has not
 *     ended; threads parked at different barriers of one warp or block are
 *     a divergence: the launch fails (cudaErrorLaunchFailure) with the
 *     kernel's name, as hardware would hang or misbehave;
 *   - __shared__ variables are function statics (one block runs at a
 *     time; launches are serialised by one lock), dynamic shared memory
 *     is filled with 0xff bytes (NaN in every float format) at each block;
 *   - cp.async copies land only at the cp.async.wait_group that covers
 *     them, so a missing wait reads stale shared memory;
 *   - arithmetic is the host's: IEEE f32/f64 with FMA contraction
 *     (-mfma -ffp-contract=fast, as nvcc's default --fmad=true); the
 *     explicitly rounded intrinsics (__fmul_rn, __fadd_rn, ...) are not
 *     contracted; __expf and friends are the correctly rounded libm
 *     functions, not the GPU's approximations.
 */
#ifndef PICTOR_TESTS_EMU_H
#define PICTOR_TESTS_EMU_H

#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <tuple>
#include <type_traits>
#include <utility>

#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __forceinline__ inline
#define __launch_bounds__(...)

namespace emu {

/* ---- launch ------------------------------------------------------------ */

struct cfg {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    cfg(dim3 g, dim3 b, size_t s = 0, cudaStream_t st = 0) : grid(g), block(b), smem(s), stream(st)
    {
    }
};

/* A launch with its arguments bound: run() makes one thread's call. */
struct closure {
    virtual ~closure() {}
    virtual void run() = 0;
};

/* Queues (runs, or records while the stream is capturing) a launch; takes
 * ownership of c. kernel identifies the function (cudaFuncSetAttribute). */
void launch_erased(const cfg &c, const char *name, const void *kernel, closure *c_);

template <class... P> struct bound : closure {
    void (*k)(P...);
    std::tuple<std::decay_t<P>...> args; /* the kernel's parameter copies */
    template <class... A>
    explicit bound(void (*kk)(P...), A &&...a) : k(kk), args(std::forward<A>(a)...)
    {
    }
    void run() override
    {
        std::tuple<std::decay_t<P>...> mine = args; /* per-thread copies */
        std::apply(k, mine);
    }
};

template <class... P, class... A>
void launch(const cfg &c, const char *name, void (*k)(P...), A &&...a)
{
    static_assert(sizeof...(P) == sizeof...(A), "kernel argument count");
    launch_erased(c, name, (const void *)k, new bound<P...>(k, std::forward<A>(a)...));
}

/* ---- the running thread ------------------------------------------------ */

struct thread_ids {
    uint3 tid, bid;
    dim3 bdim, gdim;
};
extern thread_local const thread_ids *cur;
/* The launch's dynamic shared memory. */
void *dyn_smem();

/* ---- barriers and warp collectives ------------------------------------- */

/* __syncthreads family: op 0 plain, 1 or, 2 and, 3 count. */
int block_barrier(int op, int pred);

/* A warp collective: every live lane of the warp calls it with the same
 * resolve; resolve(payloads, live) then runs once with each lane's payload
 * (NULL for lanes that ended; live: the mask of the others). */
typedef void (*warp_resolve)(void **payloads, unsigned live);
void warp_collective(warp_resolve resolve, void *payload);

struct shfl_payload {
    uint64_t v, out;
    unsigned mask;
    int kind, arg, width; /* kind: 0 idx, 1 up, 2 down, 3 xor */
};
void shfl_resolve(void **payloads, unsigned live);
struct vote_payload {
    int pred;
    unsigned mask;
    unsigned out;  /* lanes in mask whose pred is non-zero */
    unsigned live; /* lanes that have not ended */
};
void vote_resolve(void **payloads, unsigned live);
void sync_resolve(void **payloads, unsigned live);

template <class T> static inline T shfl(unsigned mask, T v, int kind, int arg, int width)
{
    static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
    shfl_payload p;
    p.v = 0;
    p.mask = mask;
    memcpy(&p.v, &v, sizeof v);
    p.kind = kind;
    p.arg = arg;
    p.width = width;
    warp_collective(shfl_resolve, &p);
    T r;
    memcpy(&r, &p.out, sizeof r);
    return r;
}

/* cp.async: 16 bytes, src_bytes of them read (the rest zero), landing at
 * the wait that covers its group. */
void cp_async16(void *dst, const void *src, int src_bytes);
void cp_commit();
void cp_wait(int n);

/* mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}: c += a b. */
void mma_m16n8k16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1, bool bf16);

/* A value the compiler may not fuse with the next operation. */
template <class T> static inline T opaque(T v)
{
    asm volatile("" : "+m"(v));
    return v;
}

} /* namespace emu */

/* cuda_runtime.h's typed overload (nvcc builds only). */
template <class... P>
static inline cudaError_t cudaFuncSetAttribute(void (*f)(P...), enum cudaFuncAttribute a, int v)
{
    return ::cudaFuncSetAttribute((const void *)f, a, v);
}

/* ---- built-in variables ------------------------------------------------- */

#define threadIdx (::emu::cur->tid)
#define blockIdx (::emu::cur->bid)
#define blockDim (::emu::cur->bdim)
#define gridDim (::emu::cur->gdim)
#ifndef warpSize
#define warpSize 32
#endif

/* ---- synchronisation ---------------------------------------------------- */

static inline void __syncthreads() { ::emu::block_barrier(0, 0); }
static inline int __syncthreads_or(int p) { return ::emu::block_barrier(1, p); }
static inline int __syncthreads_and(int p) { return ::emu::block_barrier(2, p); }
static inline int __syncthreads_count(int p) { return ::emu::block_barrier(3, p); }
static inline void __syncwarp(unsigned mask = 0xffffffffu)
{
    ::emu::warp_collective(::emu::sync_resolve, &mask);
}
static inline void __threadfence() {}
static inline void __threadfence_block() {}

template <class T> static inline T __shfl_sync(unsigned m, T v, int src, int w = 32)
{
    return ::emu::shfl(m, v, 0, src, w);
}
template <class T> static inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32)
{
    return ::emu::shfl(m, v, 1, (int)d, w);
}
template <class T> static inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32)
{
    return ::emu::shfl(m, v, 2, (int)d, w);
}
template <class T> static inline T __shfl_xor_sync(unsigned m, T v, int lm, int w = 32)
{
    return ::emu::shfl(m, v, 3, lm, w);
}
static inline ::emu::vote_payload emu_vote(unsigned m, int pred)
{
    ::emu::vote_payload p = { pred, m, 0, 0 };
    ::emu::warp_collective(::emu::vote_resolve, &p);
    return p;
}
static inline unsigned __ballot_sync(unsigned m, int pred) { return emu_vote(m, pred).out; }
static inline int __any_sync(unsigned m, int pred) { return emu_vote(m, pred).out != 0; }
static inline int __all_sync(unsigned m, int pred)
{
    ::emu::vote_payload p = emu_vote(m, pred);
    return p.out == (m & p.live);
}
/* redux.sync.max.u32 (sm_80+): the maximum over the lanes of m, a
 * butterfly of shuffles here (m the full warp in every kernel). */
static inline unsigned __reduce_max_sync(unsigned m, unsigned v)
{
    for (int o = 16; o > 0; o /= 2) {
        unsigned t = __shfl_xor_sync(m, v, o);
        v = t > v ? t : v;
    }
    return v;
}

/* ---- atomics: one thread runs at a time --------------------------------- */

/* *p = f(*p); the old value. */
template <class T, class F> static inline T emu_rmw(T *p, F f)
{
    T o = *p;
    *p = f(o);
    return o;
}
template <class T> static inline T atomicAdd(T *p, T v)
{
    return emu_rmw(p, [v](T o) { return o + v; });
}
template <class T> static inline T atomicMax(T *p, T v)
{
    return emu_rmw(p, [v](T o) { return o > v ? o : v; });
}
template <class T> static inline T atomicMin(T *p, T v)
{
    return emu_rmw(p, [v](T o) { return o < v ? o : v; });
}
template <class T> static inline T atomicExch(T *p, T v)
{
    return emu_rmw(p, [v](T) { return v; });
}
template <class T> static inline T atomicCAS(T *p, T cmp, T v)
{
    return emu_rmw(p, [cmp, v](T o) { return o == cmp ? v : o; });
}

/* ---- intrinsics ---------------------------------------------------------- */

static inline float __uint_as_float(unsigned u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline unsigned __float_as_uint(float f)
{
    unsigned u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline float __int_as_float(int u) { return __uint_as_float((unsigned)u); }
static inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
/* Operands and result pass through memory: no contraction on either side. */
#define EMU_RN(a, op, b) ::emu::opaque(::emu::opaque(a) op ::emu::opaque(b))
static inline float __fadd_rn(float a, float b) { return EMU_RN(a, +, b); }
static inline float __fsub_rn(float a, float b) { return EMU_RN(a, -, b); }
static inline float __fmul_rn(float a, float b) { return EMU_RN(a, *, b); }
static inline float __fdiv_rn(float a, float b) { return EMU_RN(a, /, b); }
static inline float __frcp_rn(float a) { return EMU_RN(1.0f, /, a); }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __dadd_rn(double a, double b) { return EMU_RN(a, +, b); }
static inline double __dsub_rn(double a, double b) { return EMU_RN(a, -, b); }
static inline double __dmul_rn(double a, double b) { return EMU_RN(a, *, b); }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static inline double __ddiv_rn(double a, double b) { return EMU_RN(a, /, b); }
static inline double __dsqrt_rn(double a) { return sqrt(a); }
static inline float __double2float_rn(double a) { return (float)a; }
static inline float __fdividef(float a, float b) { return a / b; }
/* glibc declares functions of these names (aliases of its own): macros. */
#define __expf(a) expf(a)
#define __logf(a) logf(a)
#define __sinf(a) sinf(a)
#define __cosf(a) cosf(a)
static inline float __saturatef(float a) { return a < 0.0f ? 0.0f : (a > 1.0f ? 1.0f : a); }
static inline float rsqrtf(float a) { return 1.0f / sqrtf(a); }
static inline double rsqrt(double a) { return 1.0 / sqrt(a); }
template <class T> static inline T __ldg(const T *p) { return *p; }

/* CUDA's min/max overloads: fminf/fmaxf for floats (a NaN loses), the
 * usual conversions for integers. */
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
template <class A, class B, class = std::enable_if_t<std::is_integral_v<A> && std::is_integral_v<B>>>
static inline std::common_type_t<A, B> min(A a, B b)
{
    return (std::common_type_t<A, B>)a < (std::common_type_t<A, B>)b ? a : b;
}
template <class A, class B, class = std::enable_if_t<std::is_integral_v<A> && std::is_integral_v<B>>>
static inline std::common_type_t<A, B> max(A a, B b)
{
    return (std::common_type_t<A, B>)a > (std::common_type_t<A, B>)b ? a : b;
}

#endif /* PICTOR_TESTS_EMU_H */
