/*
 * kernels/cpu/cpu_internal.h — what the CPU backend's files share: the
 * context with its thread pool, operand access helpers and one entry per op
 * (each defined in its own kernels/cpu/op_*.c file and put in the iface
 * table by cpu_backend.c).
 *
 * Op entries get arguments already validated by kernels/src/ops.c (shapes,
 * dtypes, devices), and write a message into err on failure.
 * Thread: the owning worker thread; cpu_parallel_for fans out internally.
 */
#ifndef PICTOR_CPU_INTERNAL_H
#define PICTOR_CPU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/ops.h"

struct cpu_pool;

struct cpu_graph; /* cpu_graph.c */

struct cpu_ctx {
    int n_threads;
    struct cpu_pool *pool; /* NULL when n_threads == 1 */
    bool graphs;           /* capture offered (pictor_backend_cpu_set_graphs) */
    struct cpu_graph *rec; /* the graph being recorded; NULL when not */
};

/* Runs one op now (the table of op entries; cpu_backend.c). */
int cpu_run_op(struct cpu_ctx *ctx, const struct pictor_op_args *a, char *err, size_t errlen);

/* Graphs (cpu_graph.c; pictor/backend.h "Graphs"). The iface slots, and
 * what the memory and op entries call while ctx->rec is set: record an op,
 * adopt memory allocated while recording, check a free (freeing older
 * memory fails the recording), and refuse a host copy or wait (fails the
 * recording; returns PICTOR_E_INVALID with a message in err if non-NULL). */
int cpu_capture_begin(void *ctx, char *err, size_t errlen);
int cpu_capture_end(void *ctx, void **graph, char *err, size_t errlen);
int cpu_graph_launch(void *ctx, void *graph, char *err, size_t errlen);
void cpu_graph_destroy(void *ctx, void *graph);
int cpu_record_op(struct cpu_ctx *ctx, const struct pictor_op_args *a, char *err,
                  size_t errlen);
int cpu_record_alloc(struct cpu_ctx *ctx, void *p);
void cpu_record_free(struct cpu_ctx *ctx, void *p);
int cpu_record_host_io(struct cpu_ctx *ctx, const char *what, char *err, size_t errlen);

/* Calls fn(arg, begin, end) over disjoint chunks covering [0, n), in
 * parallel on the pool; returns when all chunks are done. Chunks are at
 * least `grain` long (grain >= 1). Not re-entrant: fn must not call it. */
void cpu_parallel_for(struct cpu_ctx *ctx, int64_t n, int64_t grain,
                      void (*fn)(void *arg, int64_t begin, int64_t end),
                      void *arg);

struct cpu_pool *cpu_pool_create(int n_threads);
void cpu_pool_destroy(struct cpu_pool *pool);

/*
 * Operand access. cpu_gather_f32 returns a contiguous f32 copy of any
 * float/int tensor of any strides (FP8 dequantised with scale and
 * row_scale), or, when t is already contiguous f32, t->data itself with
 * *owned = false. Free with cpu_release(p, owned). NULL when out of memory.
 */
float *cpu_gather_f32(const pictor_tensor *t, bool *owned);
void cpu_release(float *p, bool owned);

/* Writes numel(dst) contiguous f32 values into dst (any dtype, any
 * strides), rounding as pictor_row_from_f32 does. */
void cpu_scatter_f32(pictor_tensor *dst, const float *src, bool saturate);

/* Linear element offset of the n-th element (row-major order over shape)
 * in a strided tensor. */
int64_t cpu_offset_of(const pictor_tensor *t, int64_t n);

/* Op entries (one file each: op_matmul.c, op_conv2d.c, ...). */
/* y[0..n) = fn(x[0..n)) in f32 (y may be x): the unary op's arithmetic,
 * shared with the matmul epilogue (op_unary.c). */
void cpu_unary_apply(enum pictor_unary fn, const float *x, float *y, int64_t n);
int cpu_op_matmul(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_conv2d(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_group_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_layer_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_rms_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_softmax(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_sdpa(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_sdpa_fp8(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_unary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_binary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_copy(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_upsample(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_embedding(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_rope(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_timestep(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_fill(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
/* The fused FLUX ops (op_fused.c). */
int cpu_op_ada_layer_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_gated_add(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_rms_norm_rope(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cpu_op_quantize_rows(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);

#endif /* PICTOR_CPU_INTERNAL_H */
