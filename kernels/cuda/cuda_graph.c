/*
 * kernels/cuda/cuda_graph.c — graphs on the CUDA backend (pictor/backend.h
 * "Graphs"): stream capture of ctx->stream into a CUDA graph, instantiated
 * once and launched on the same stream. Capture mode is thread-local: the
 * owning worker's own unsafe calls (a synchronous copy, cudaMalloc) end the
 * capture with an error, other workers' GPUs are not affected. Memory that
 * ops allocate while capturing (cudaMallocAsync) becomes graph memory
 * nodes; the graph is instantiated with auto-free-on-launch so one that
 * keeps an allocation can still be relaunched. CUDA.md §5 has the rules
 * for cuBLASLt (algorithms chosen before capture: the eager run first) and
 * cuDNN (plans built before capture). Also the op profiler's marks
 * (pictor/profile.h): CUDA events recorded on the stream.
 */
#include <stdio.h>

#include <cuda_runtime_api.h>

#include "cuda_internal.h"
#include "cuda_libs.h"

static int rt_fail(cudaError_t e, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    return e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM : PICTOR_E_DEVICE;
}

bool cuda_graphs_on(void *vctx)
{
    return ((struct cuda_ctx *)vctx)->graphs;
}

int cuda_capture_begin(void *vctx, char *err, size_t errlen)
{
    struct cuda_ctx *c = vctx;
    if (c->capturing) {
        snprintf(err, errlen, "already capturing (captures do not nest)");
        return PICTOR_E_INVALID;
    }
    cudaError_t e = cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal);
    if (e != cudaSuccess)
        return rt_fail(e, "cudaStreamBeginCapture", err, errlen);
    c->capturing = true;
    c->capture_refused = NULL;
    return PICTOR_OK;
}

int cuda_capture_end(void *vctx, void **graph, char *err, size_t errlen)
{
    struct cuda_ctx *c = vctx;
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    *graph = NULL;
    if (!c->capturing) {
        snprintf(err, errlen, "not capturing");
        return PICTOR_E_INVALID;
    }
    c->capturing = false;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (e == cudaSuccess && c->capture_refused) {
        if (g)
            cudaGraphDestroy(g);
        snprintf(err, errlen, "%s", c->capture_refused);
        return PICTOR_E_INVALID;
    }
    if (e != cudaSuccess || !g) {
        cudaGetLastError(); /* an invalidated capture leaves a sticky-free error */
        if (g)
            cudaGraphDestroy(g);
        return rt_fail(e, "cudaStreamEndCapture (an op inside the captured region did "
                       "something a graph cannot hold)", err, errlen);
    }
    e = cudaGraphInstantiateWithFlags(&x, g, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return rt_fail(e, "cudaGraphInstantiateWithFlags", err, errlen);
    }
    c->libs->stats.graph_captures++;
    *graph = x;
    return PICTOR_OK;
}

int cuda_graph_launch(void *vctx, void *graph, char *err, size_t errlen)
{
    struct cuda_ctx *c = vctx;
    if (c->capturing) {
        snprintf(err, errlen, "launching a graph while capturing another");
        return PICTOR_E_INVALID;
    }
    cudaError_t e = cudaGraphLaunch((cudaGraphExec_t)graph, c->stream);
    if (e != cudaSuccess)
        return rt_fail(e, "cudaGraphLaunch", err, errlen);
    c->libs->stats.graph_launches++;
    return PICTOR_OK;
}

void cuda_graph_destroy(void *vctx, void *graph)
{
    struct cuda_ctx *c = vctx;
    if (!c->capturing)
        cudaStreamSynchronize(c->stream); /* no replay of it still queued */
    cudaGraphExecDestroy((cudaGraphExec_t)graph);
}

/* ---- profiler marks: CUDA events on the stream ---------------------------- */

int cuda_mark_new(void *vctx, void **mark)
{
    (void)vctx;
    cudaEvent_t e;
    if (cudaEventCreate(&e) != cudaSuccess)
        return PICTOR_E_DEVICE;
    *mark = e;
    return PICTOR_OK;
}

int cuda_mark_record(void *vctx, void *mark)
{
    struct cuda_ctx *c = vctx;
    return cudaEventRecord((cudaEvent_t)mark, c->stream) == cudaSuccess ? PICTOR_OK
                                                                         : PICTOR_E_DEVICE;
}

double cuda_mark_ms(void *vctx, void *a, void *b)
{
    float ms = -1.0f;
    (void)vctx;
    if (cudaEventSynchronize((cudaEvent_t)b) != cudaSuccess ||
        cudaEventElapsedTime(&ms, (cudaEvent_t)a, (cudaEvent_t)b) != cudaSuccess)
        return -1.0;
    return ms;
}

void cuda_mark_free(void *vctx, void *mark)
{
    (void)vctx;
    cudaEventDestroy((cudaEvent_t)mark);
}
