/*
 * kernels/cpu/cpu_backend.c — the CPU reference backend: its iface table,
 * host memory (256-byte aligned, as pictor/backend.h promises) and the
 * context holding the thread pool.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_internal.h"
#include "pictor/backend.h"

/* Alignment promised by pictor_backend_iface.alloc. */
#define CPU_ALLOC_ALIGN 256

static void cpu_destroy(void *vctx)
{
    struct cpu_ctx *ctx = vctx;

    if (!ctx)
        return;
    cpu_pool_destroy(ctx->pool);
    free(ctx);
}

static int cpu_alloc(void *vctx, size_t bytes, void **out)
{
    /* aligned_alloc wants a multiple of the alignment; never ask for 0. */
    size_t rounded = (bytes + CPU_ALLOC_ALIGN - 1) / CPU_ALLOC_ALIGN *
                     CPU_ALLOC_ALIGN;

    if (rounded < bytes)
        return PICTOR_E_NOMEM; /* overflow */
    if (rounded == 0)
        rounded = CPU_ALLOC_ALIGN;
    *out = aligned_alloc(CPU_ALLOC_ALIGN, rounded);
    if (!*out)
        return PICTOR_E_NOMEM;
    struct cpu_ctx *ctx = vctx;
    if (ctx->rec && cpu_record_alloc(ctx, *out) != PICTOR_OK) {
        free(*out);
        *out = NULL;
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}

static void cpu_free(void *vctx, void *ptr)
{
    struct cpu_ctx *ctx = vctx;
    if (ctx->rec)
        cpu_record_free(ctx, ptr);
    else
        free(ptr);
}

static int cpu_copy_bytes(void *vctx, void *dst, const void *src, size_t n)
{
    struct cpu_ctx *ctx = vctx;
    if (ctx->rec)
        return cpu_record_host_io(ctx, "a host copy (upload or download)", NULL, 0);
    if (n)
        memmove(dst, src, n);
    return PICTOR_OK;
}

static int cpu_synchronize(void *vctx)
{
    struct cpu_ctx *ctx = vctx;
    if (ctx->rec)
        return cpu_record_host_io(ctx, "a synchronize", NULL, 0);
    return PICTOR_OK;
}

static bool cpu_graphs_on(void *vctx)
{
    return ((struct cpu_ctx *)vctx)->graphs;
}

/* Profiler marks: the monotonic clock in ms, read when recorded (the CPU
 * runs each op before returning). */
static int cpu_mark_new(void *vctx, void **mark)
{
    (void)vctx;
    *mark = calloc(1, sizeof(double));
    return *mark ? PICTOR_OK : PICTOR_E_NOMEM;
}

static int cpu_mark_record(void *vctx, void *mark)
{
    struct timespec ts;
    (void)vctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *(double *)mark = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
    return PICTOR_OK;
}

static double cpu_mark_ms(void *vctx, void *a, void *b)
{
    (void)vctx;
    return *(double *)b - *(double *)a;
}

static void cpu_mark_free(void *vctx, void *mark)
{
    (void)vctx;
    free(mark);
}

typedef int (*cpu_op_fn)(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);

static const cpu_op_fn cpu_ops[PICTOR_OP_COUNT] = {
    [PICTOR_OP_MATMUL] = cpu_op_matmul,
    [PICTOR_OP_CONV2D] = cpu_op_conv2d,
    [PICTOR_OP_GROUP_NORM] = cpu_op_group_norm,
    [PICTOR_OP_LAYER_NORM] = cpu_op_layer_norm,
    [PICTOR_OP_RMS_NORM] = cpu_op_rms_norm,
    [PICTOR_OP_SOFTMAX] = cpu_op_softmax,
    [PICTOR_OP_SDPA] = cpu_op_sdpa,
    [PICTOR_OP_UNARY] = cpu_op_unary,
    [PICTOR_OP_BINARY] = cpu_op_binary,
    [PICTOR_OP_COPY] = cpu_op_copy,
    [PICTOR_OP_UPSAMPLE_NEAREST2X] = cpu_op_upsample,
    [PICTOR_OP_EMBEDDING] = cpu_op_embedding,
    [PICTOR_OP_ROPE] = cpu_op_rope,
    [PICTOR_OP_TIMESTEP_EMBEDDING] = cpu_op_timestep,
    [PICTOR_OP_FILL] = cpu_op_fill,
    [PICTOR_OP_ADA_LAYER_NORM] = cpu_op_ada_layer_norm,
    [PICTOR_OP_GATED_ADD] = cpu_op_gated_add,
    [PICTOR_OP_RMS_NORM_ROPE] = cpu_op_rms_norm_rope,
    [PICTOR_OP_SDPA_FP8] = cpu_op_sdpa_fp8,
    [PICTOR_OP_QUANTIZE_ROWS] = cpu_op_quantize_rows,
};

int cpu_run_op(struct cpu_ctx *ctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    return cpu_ops[a->op](ctx, a, err, errlen);
}

/* Every op slot: run now, or record while capturing. */
static int cpu_op(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    return ctx->rec ? cpu_record_op(ctx, a, err, errlen) : cpu_run_op(ctx, a, err, errlen);
}

static const struct pictor_backend_iface cpu_iface = {
    .name = "cpu",
    .device = PICTOR_DEVICE_CPU,
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy_bytes,
    .download = cpu_copy_bytes,
    .synchronize = cpu_synchronize,
    .supports = NULL, /* the CPU backend takes every validated call */
    .graphs_on = cpu_graphs_on,
    .capture_begin = cpu_capture_begin,
    .capture_end = cpu_capture_end,
    .graph_launch = cpu_graph_launch,
    .graph_destroy = cpu_graph_destroy,
    .mark_new = cpu_mark_new,
    .mark_record = cpu_mark_record,
    .mark_ms = cpu_mark_ms,
    .mark_free = cpu_mark_free,
    .op = {
        [PICTOR_OP_MATMUL] = cpu_op,
        [PICTOR_OP_CONV2D] = cpu_op,
        [PICTOR_OP_GROUP_NORM] = cpu_op,
        [PICTOR_OP_LAYER_NORM] = cpu_op,
        [PICTOR_OP_RMS_NORM] = cpu_op,
        [PICTOR_OP_SOFTMAX] = cpu_op,
        [PICTOR_OP_SDPA] = cpu_op,
        [PICTOR_OP_UNARY] = cpu_op,
        [PICTOR_OP_BINARY] = cpu_op,
        [PICTOR_OP_COPY] = cpu_op,
        [PICTOR_OP_UPSAMPLE_NEAREST2X] = cpu_op,
        [PICTOR_OP_EMBEDDING] = cpu_op,
        [PICTOR_OP_ROPE] = cpu_op,
        [PICTOR_OP_TIMESTEP_EMBEDDING] = cpu_op,
        [PICTOR_OP_FILL] = cpu_op,
        [PICTOR_OP_ADA_LAYER_NORM] = cpu_op,
        [PICTOR_OP_GATED_ADD] = cpu_op,
        [PICTOR_OP_RMS_NORM_ROPE] = cpu_op,
        [PICTOR_OP_SDPA_FP8] = cpu_op,
        [PICTOR_OP_QUANTIZE_ROWS] = cpu_op,
    },
};

pictor_backend *pictor_backend_cpu_create(int n_threads)
{
    pictor_backend *be;
    struct cpu_ctx *ctx;

    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    be = calloc(1, sizeof *be);
    if (!be)
        goto err;
    ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        goto err_free_be;
    ctx->n_threads = n_threads;
    ctx->pool = NULL;
    if (n_threads > 1) {
        ctx->pool = cpu_pool_create(n_threads);
        if (!ctx->pool)
            goto err_free_ctx;
    }
    const char *g = getenv("PICTOR_CPU_GRAPHS");
    ctx->graphs = g && strcmp(g, "1") == 0;
    be->iface = &cpu_iface;
    be->ctx = ctx;
    be->error[0] = '\0';
    return be;

err_free_ctx:
    free(ctx);
err_free_be:
    free(be);
err:
    return NULL;
}

void pictor_backend_cpu_set_graphs(pictor_backend *be, bool on)
{
    if (be && be->iface == &cpu_iface)
        ((struct cpu_ctx *)be->ctx)->graphs = on;
}
