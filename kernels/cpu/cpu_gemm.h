/*
 * kernels/cpu/cpu_gemm.h — the CPU backend's blocked f32 GEMM core
 * (op_matmul.c), shared by matmul, conv2d (implicit im2col) and sdpa.
 *
 * C(t)[M, N] = alpha * A(t)[M, K] @ B(t)[K, N] + bias_n[N] + bias_m[M] for
 * every batch item t in [0, batch). Operands are never read directly: the
 * caller supplies pack callbacks that write f32 panels in the layout the
 * micro-kernel wants (GotoBLAS style), so A and B may be strided views,
 * implicit im2col matrices or transposes. C is f32 with unit column stride
 * and row stride ldc; the caller scatters to other dtypes/layouts itself.
 *
 * Panel layouts (rows/columns past the matrix edge are written as zeros):
 *   pack_a: ceil(mc/MR) panels; panel p holds kc steps of MR values,
 *           dst[p*MR*kc + k*MR + r] = A(i0 + p*MR + r, k0 + k).
 *   pack_b: ceil(nc/NR) panels; panel q holds kc steps of NR values,
 *           dst[q*NR*kc + k*NR + c] = B(k0 + k, j0 + q*NR + c).
 * Callbacks run concurrently on pool threads for distinct tiles, so they
 * must only read shared state.
 *
 * Accumulation is in f32, in K order within KC-sized blocks.
 * Thread: cpu_gemm fans out with cpu_parallel_for (so it must not be called
 * from inside a parallel_for callback); cpu_gemm_serial runs on the caller
 * and is what parallel callers (sdpa) use per task.
 */
#ifndef PICTOR_CPU_GEMM_H
#define PICTOR_CPU_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu_internal.h"

/* Micro-tile: 6 x 8 f32 = 12 SSE accumulators, which with one broadcast A
 * value and two B vectors fits the 16 XMM registers of x86-64-v2. */
#define CPU_GEMM_MR 6
#define CPU_GEMM_NR 8

struct cpu_gemm {
    int64_t batch, M, N, K;
    float alpha;
    const float *bias_n; /* [N] added to every row, or NULL */
    const float *bias_m; /* [M] added to every column, or NULL */
    void (*pack_a)(const void *ctx, int64_t t, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, float *dst);
    void (*pack_b)(const void *ctx, int64_t t, int64_t k0, int64_t kc,
                   int64_t j0, int64_t nc, float *dst);
    float *(*c_of)(const void *ctx, int64_t t); /* C(t)[0, 0] */
    int64_t ldc;
    const void *ctx;
};

/* A strided f32 matrix: element (r, c) is p[r * rs + c * cs]. */
struct cpu_mat {
    const float *p;
    int64_t rs, cs;
};

/* The pack callbacks' work for a plain strided matrix. */
void cpu_gemm_pack_a_mat(const struct cpu_mat *m, int64_t i0, int64_t mc,
                         int64_t k0, int64_t kc, float *dst);
void cpu_gemm_pack_b_mat(const struct cpu_mat *m, int64_t k0, int64_t kc,
                         int64_t j0, int64_t nc, float *dst);

/* Runs the GEMM on ctx's pool. PICTOR_E_NOMEM when a pack buffer could not
 * be allocated (C then partly written). */
int cpu_gemm(struct cpu_ctx *ctx, const struct cpu_gemm *g);

/* Floats of scratch cpu_gemm_serial needs for g: an upper bound that
 * never decreases as M, N or K grow, so one buffer sized for the largest
 * product serves every smaller one. */
int64_t cpu_gemm_scratch_floats(const struct cpu_gemm *g);
/* Runs the whole GEMM on the calling thread with caller-owned scratch of
 * cpu_gemm_scratch_floats(g) floats. */
void cpu_gemm_serial(const struct cpu_gemm *g, float *scratch);

/*
 * An f32 view of any float tensor: t itself when it is f32 (any strides),
 * else a converted copy laid out in t's own memory order (so a transposed
 * bf16 weight converts row by row) with strides describing t's shape.
 * FP8 scale and row_scale are applied. Free with cpu_f32_view_release.
 */
struct cpu_f32_view {
    const float *p;
    int64_t stride[PICTOR_MAX_DIMS];
    float *owned; /* the copy, or NULL */
};

int cpu_f32_view_make(struct cpu_ctx *ctx, const pictor_tensor *t,
                      struct cpu_f32_view *v);
void cpu_f32_view_release(struct cpu_f32_view *v);

#endif /* PICTOR_CPU_GEMM_H */
