/*
 * kernels/cpu/cpu_graph.c — the CPU backend's graphs: a twin of CUDA stream
 * capture for testing code that captures (pictor/backend.h "Graphs").
 * While recording, op calls are stored, not run: the argument block and a
 * copy of each tensor descriptor (addresses, shapes and scalars frozen, as
 * a CUDA graph freezes kernel parameters); memory allocated meanwhile
 * belongs to the graph; host round trips and frees of older memory are
 * errors. A launch runs the stored calls in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "pictor/backend.h"

struct cpu_call {
    struct pictor_op_args args; /* tensor fields point into t[] */
    pictor_tensor t[PICTOR_OP_MAX_TENSORS];
};

struct cpu_graph {
    struct cpu_call **calls;
    size_t n_calls, cap_calls;
    void **mem; /* allocated while recording; freed with the graph */
    size_t n_mem, cap_mem;
    int status; /* first failure while recording */
    char err[256];
};

static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 64;
    void *q = realloc(*p, c * elem);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* Keeps the first failure of the recording. */
static void rec_fail(struct cpu_graph *g, int status, const char *msg)
{
    if (g->status)
        return;
    g->status = status;
    snprintf(g->err, sizeof g->err, "%s", msg);
}

static void graph_free(struct cpu_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_calls; i++)
        free(g->calls[i]);
    for (size_t i = 0; i < g->n_mem; i++)
        free(g->mem[i]);
    free(g->calls);
    free(g->mem);
    free(g);
}

int cpu_record_op(struct cpu_ctx *ctx, const struct pictor_op_args *a, char *err,
                  size_t errlen)
{
    struct cpu_graph *g = ctx->rec;
    struct cpu_call *c = malloc(sizeof *c);
    if (!c || !grow((void **)&g->calls, &g->cap_calls, g->n_calls, sizeof *g->calls)) {
        free(c);
        rec_fail(g, PICTOR_E_NOMEM, "out of memory recording an op");
        snprintf(err, errlen, "out of memory recording the op into a graph");
        return PICTOR_E_NOMEM;
    }
    c->args = *a;
    const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS], *orig[PICTOR_OP_MAX_TENSORS];
    int n = pictor_op_args_tensors(&c->args, slots);
    for (int i = 0; i < n; i++) {
        orig[i] = *slots[i];
        if (!orig[i])
            continue;
        int same = -1; /* one copy per operand pointer: in place stays in place */
        for (int j = 0; j < i && same < 0; j++)
            if (orig[j] == orig[i])
                same = j;
        if (same < 0)
            c->t[i] = *orig[i];
        *slots[i] = &c->t[same < 0 ? i : same];
    }
    g->calls[g->n_calls++] = c;
    return PICTOR_OK;
}

int cpu_capture_begin(void *vctx, char *err, size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    if (!ctx->graphs) {
        snprintf(err, errlen, "graphs are off on the CPU backend (PICTOR_CPU_GRAPHS=1 or "
                 "pictor_backend_cpu_set_graphs)");
        return PICTOR_E_UNSUPPORTED;
    }
    if (ctx->rec) {
        snprintf(err, errlen, "already capturing (captures do not nest)");
        return PICTOR_E_INVALID;
    }
    if (!(ctx->rec = calloc(1, sizeof *ctx->rec))) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}

int cpu_capture_end(void *vctx, void **graph, char *err, size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    struct cpu_graph *g = ctx->rec;
    *graph = NULL;
    if (!g) {
        snprintf(err, errlen, "not capturing");
        return PICTOR_E_INVALID;
    }
    ctx->rec = NULL;
    if (g->status) {
        int rc = g->status;
        snprintf(err, errlen, "%s", g->err);
        graph_free(g);
        return rc;
    }
    *graph = g;
    return PICTOR_OK;
}

int cpu_graph_launch(void *vctx, void *graph, char *err, size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    struct cpu_graph *g = graph;
    if (ctx->rec) {
        snprintf(err, errlen, "launching a graph while capturing another");
        return PICTOR_E_INVALID;
    }
    for (size_t i = 0; i < g->n_calls; i++) {
        const struct pictor_op_args *a = &g->calls[i]->args;
        int rc = cpu_run_op(ctx, a, err, errlen);
        if (rc)
            return rc;
    }
    return PICTOR_OK;
}

void cpu_graph_destroy(void *vctx, void *graph)
{
    (void)vctx;
    graph_free(graph);
}

int cpu_record_alloc(struct cpu_ctx *ctx, void *p)
{
    struct cpu_graph *g = ctx->rec;
    if (!grow((void **)&g->mem, &g->cap_mem, g->n_mem, sizeof *g->mem))
        return PICTOR_E_NOMEM;
    g->mem[g->n_mem++] = p;
    return PICTOR_OK;
}

void cpu_record_free(struct cpu_ctx *ctx, void *p)
{
    struct cpu_graph *g = ctx->rec;
    for (size_t i = 0; i < g->n_mem; i++)
        if (g->mem[i] == p)
            return; /* the graph's: kept until the graph goes */
    rec_fail(g, PICTOR_E_INVALID, "memory allocated before the capture was freed while "
             "capturing (a replay could not free it again)");
}

int cpu_record_host_io(struct cpu_ctx *ctx, const char *what, char *err, size_t errlen)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s while capturing (a host round trip cannot be replayed)", what);
    rec_fail(ctx->rec, PICTOR_E_INVALID, msg);
    if (err)
        snprintf(err, errlen, "%s", msg);
    return PICTOR_E_INVALID;
}
