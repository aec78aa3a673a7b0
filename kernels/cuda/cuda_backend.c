/*
 * kernels/cuda/cuda_backend.c — the CUDA backend's device, stream and memory
 * (pictor/backend_cuda.h). Built only with CUDA (PICTOR_HAVE_CUDA); the
 * stub at the bottom answers for CPU-only builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/backend_cuda.h"

#ifdef PICTOR_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_internal.h"
#include "cuda_libs.h"
#include "lt_plan.h"
#include "mem_limit.h"
#include "op_sdpa_fp8.h"

/* Minimum compute capability (ARCHITECTURE.md precision policy: Ampere). */
#define CUDA_MIN_MAJOR 8

/* One CHECK family for the CUDA runtime (STYLE.md habit 8). */
#define CUDA_CHECK(call, err, errlen)                                           \
    cuda_check_((call), #call, __FILE__, __LINE__, (err), (errlen))

static int cuda_check_(cudaError_t e, const char *what, const char *file, int line, char *err,
                       size_t errlen)
{
    if (e == cudaSuccess)
        return PICTOR_OK;
    if (err && errlen)
        snprintf(err, errlen, "%s failed at %s:%d: %s (%s)", what, file, line,
                 cudaGetErrorString(e), cudaGetErrorName(e));
    return e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM : PICTOR_E_DEVICE;
}

static void cuda_destroy(void *vctx)
{
    struct cuda_ctx *c = vctx;
    if (!c)
        return;
    cudaSetDevice(c->device);
    cudaStreamSynchronize(c->stream);
    cuda_sdpa_release(c); /* cuDNN plans go before the cuDNN handle */
    cuda_sdpa_fp8_release(c);
    if (c->libs)
        lt_plan_store_detach(c->libs); /* saves unsaved algorithm choices */
    cuda_libs_destroy(c);
    cuda_upload_release(c);
    cudaStreamDestroy(c->stream);
    free(c);
}

static int cuda_alloc(void *vctx, size_t bytes, void **out)
{
    struct cuda_ctx *c = vctx;
    *out = NULL;
    if (cuda_mem_admit(c->device, bytes, NULL, 0) != PICTOR_OK)
        return PICTOR_E_NOMEM;
    cudaError_t e = cudaMallocAsync(out, bytes ? bytes : 1, c->stream);
    return e == cudaSuccess ? PICTOR_OK : (e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM
                                                                          : PICTOR_E_DEVICE);
}

static void cuda_free(void *vctx, void *p)
{
    struct cuda_ctx *c = vctx;
    if (p)
        cudaFreeAsync(p, c->stream);
}

/* Host copies and waits cannot be captured: refused before CUDA would
 * invalidate the capture (pictor/backend.h "Graphs"). */
static int cuda_upload(void *vctx, void *dst, const void *src, size_t n)
{
    struct cuda_ctx *c = vctx;
    if (c->capturing) {
        c->capture_refused = "an upload while capturing (a host round trip cannot be replayed)";
        return PICTOR_E_INVALID;
    }
    return cuda_upload_bytes(c, dst, src, n);
}

static int cuda_download(void *vctx, void *dst, const void *src, size_t n)
{
    struct cuda_ctx *c = vctx;
    if (c->capturing) {
        c->capture_refused = "a download while capturing (a host round trip cannot be replayed)";
        return PICTOR_E_INVALID;
    }
    if (cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, c->stream) != cudaSuccess)
        return PICTOR_E_DEVICE;
    return cudaStreamSynchronize(c->stream) == cudaSuccess ? PICTOR_OK : PICTOR_E_DEVICE;
}

static int cuda_synchronize(void *vctx)
{
    struct cuda_ctx *c = vctx;
    if (c->capturing) {
        c->capture_refused = "a synchronize while capturing (a host round trip cannot be replayed)";
        return PICTOR_E_INVALID;
    }
    return cudaStreamSynchronize(c->stream) == cudaSuccess ? PICTOR_OK : PICTOR_E_DEVICE;
}

static void cuda_trim(void *vctx)
{
    struct cuda_ctx *c = vctx;
    cudaMemPool_t pool;
    if (c->capturing || cudaStreamSynchronize(c->stream) != cudaSuccess)
        return;
    if (cudaDeviceGetDefaultMemPool(&pool, c->device) == cudaSuccess)
        cudaMemPoolTrimTo(pool, 0);
}

/* Whether FP8 row_scale of binary operand t can be addressed once t is
 * broadcast to y: only while y's dim 0 is t's own (see cu_view_bcast). */
static bool cuda_bcast_row_scale_ok(const pictor_tensor *t, const pictor_tensor *y)
{
    return !t->row_scale || (t->dtype != PICTOR_F8_E4M3 && t->dtype != PICTOR_F8_E5M2) ||
           (t->ndim == y->ndim && (t->ndim == 0 || t->shape[0] == y->shape[0]));
}

/* Every validated call is supported except a broadcast FP8 operand whose
 * per-row scales no longer follow y's rows (no model does this), and FP8
 * matmul inputs (scaled FP8 GEMM is a later issue), and sdpa_fp8 outside
 * what cuDNN's FP8 graph runs (op_sdpa_fp8.h; no fallback kernel). */
static bool cuda_supports(void *vctx, enum pictor_op op, const struct pictor_op_args *a)
{
    if (op == PICTOR_OP_SDPA_FP8) /* cuDNN's FP8 graph on Hopper only */
        return cuda_sdpa_fp8_supports(vctx, a);
    if (op == PICTOR_OP_MATMUL)
        return cuda_matmul_supports(a);
    if (op == PICTOR_OP_SDPA) /* head dims <= 512 (op_sdpa_internal.h) */
        return cuda_sdpa_supports(a);
    if (op == PICTOR_OP_BINARY)
        return cuda_bcast_row_scale_ok(a->u.binary.a, a->u.binary.y) &&
               cuda_bcast_row_scale_ok(a->u.binary.b, a->u.binary.y);
    if (op == PICTOR_OP_ADA_LAYER_NORM) /* scale, shift broadcast to x */
        return cuda_bcast_row_scale_ok(a->u.ada_layer_norm.scale, a->u.ada_layer_norm.x) &&
               cuda_bcast_row_scale_ok(a->u.ada_layer_norm.shift, a->u.ada_layer_norm.x);
    if (op == PICTOR_OP_GATED_ADD) /* gate broadcast to x */
        return cuda_bcast_row_scale_ok(a->u.gated_add.gate, a->u.gated_add.x);
    return true;
}

/* Op slots are filled as kernels land (kernels/cuda/op_*.cu); a NULL slot
 * makes the wrapper report PICTOR_E_UNSUPPORTED naming the op. */
static const struct pictor_backend_iface cuda_iface = {
    .name = "cuda",
    .device = PICTOR_DEVICE_CUDA,
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .synchronize = cuda_synchronize,
    .trim = cuda_trim,
    .supports = cuda_supports,
    .graphs_on = cuda_graphs_on,
    .capture_begin = cuda_capture_begin,
    .capture_end = cuda_capture_end,
    .graph_launch = cuda_graph_launch,
    .graph_destroy = cuda_graph_destroy,
    .mark_new = cuda_mark_new,
    .mark_record = cuda_mark_record,
    .mark_ms = cuda_mark_ms,
    .mark_free = cuda_mark_free,
    .op = {
        [PICTOR_OP_MATMUL] = cuda_op_matmul,
        [PICTOR_OP_CONV2D] = cuda_op_conv2d,
        [PICTOR_OP_GROUP_NORM] = cuda_op_group_norm,
        [PICTOR_OP_LAYER_NORM] = cuda_op_layer_norm,
        [PICTOR_OP_RMS_NORM] = cuda_op_rms_norm,
        [PICTOR_OP_SOFTMAX] = cuda_op_softmax,
        [PICTOR_OP_SDPA] = cuda_op_sdpa,
        [PICTOR_OP_UNARY] = cuda_op_unary,
        [PICTOR_OP_BINARY] = cuda_op_binary,
        [PICTOR_OP_COPY] = cuda_op_copy,
        [PICTOR_OP_UPSAMPLE_NEAREST2X] = cuda_op_upsample,
        [PICTOR_OP_EMBEDDING] = cuda_op_embedding,
        [PICTOR_OP_ROPE] = cuda_op_rope,
        [PICTOR_OP_TIMESTEP_EMBEDDING] = cuda_op_timestep,
        [PICTOR_OP_FILL] = cuda_op_fill,
        [PICTOR_OP_ADA_LAYER_NORM] = cuda_op_ada_layer_norm,
        [PICTOR_OP_GATED_ADD] = cuda_op_gated_add,
        [PICTOR_OP_RMS_NORM_ROPE] = cuda_op_rms_norm_rope,
        [PICTOR_OP_QUANTIZE_ROWS] = cuda_op_quantize_rows,
        [PICTOR_OP_SDPA_FP8] = cuda_op_sdpa_fp8,
    },
};

bool pictor_cuda_available(void)
{
    return true;
}

/* The stream-ordered pool keeps freed memory for reuse instead of
 * returning it to the driver at every synchronisation (its default
 * threshold 0 would unmap and remap activations at each request). The
 * peak stays reserved, as PyTorch's caching allocator does. */
static void keep_pool_memory(int device)
{
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;
    if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess)
        cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
}

pictor_backend *pictor_backend_cuda_create(int device, char *err, size_t errlen)
{
    int count = 0;
    struct cudaDeviceProp prop;
    struct cuda_ctx *c = NULL;
    pictor_backend *be = NULL;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaErrorInsufficientDriver) {
        int drv = 0;
        cudaDriverGetVersion(&drv);
        if (drv == 0)
            snprintf(err, errlen, "no NVIDIA driver found: install it, or run with --device cpu");
        else
            snprintf(err, errlen, "the NVIDIA driver is too old for this build (it supports CUDA "
                     "%d.%d; pictor was built with CUDA %d.%d): update the driver",
                     drv / 1000, drv % 1000 / 10, CUDART_VERSION / 1000,
                     CUDART_VERSION % 1000 / 10);
        return NULL;
    }
    if (e == cudaErrorNoDevice) {
        snprintf(err, errlen, "no CUDA GPU found (run with --device cpu)");
        return NULL;
    }
    if (CUDA_CHECK(e, err, errlen))
        return NULL;
    if (device < 0 || device >= count) {
        snprintf(err, errlen, "CUDA device %d does not exist (%d present)", device, count);
        return NULL;
    }
    if (CUDA_CHECK(cudaGetDeviceProperties(&prop, device), err, errlen))
        return NULL;
    if (prop.major < CUDA_MIN_MAJOR) {
        snprintf(err, errlen, "CUDA device %d (%s) has compute capability %d.%d; pictor needs "
                 "%d.0 or newer (Ampere, Ada, Hopper, Blackwell)", device, prop.name,
                 prop.major, prop.minor, CUDA_MIN_MAJOR);
        return NULL;
    }
    c = calloc(1, sizeof *c);
    be = calloc(1, sizeof *be);
    if (!c || !be) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->device = device;
    c->sm = prop.major * 10 + prop.minor;
    snprintf(c->name, sizeof c->name, "%s", prop.name);
    if (CUDA_CHECK(cudaSetDevice(device), err, errlen) ||
        CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), err, errlen))
        goto fail;
    /* cuBLASLt handle + workspace, plan caches, cuDNN (cuda_libs.h). */
    if (cuda_libs_create(c, err, errlen)) {
        cudaStreamDestroy(c->stream);
        goto fail;
    }
    cuda_sdpa_init(c); /* PICTOR_SDPA; allocates nothing */
    const char *g = getenv("PICTOR_CUDA_GRAPHS");
    c->graphs = !(g && strcmp(g, "0") == 0);
    keep_pool_memory(device);
    be->iface = &cuda_iface;
    be->ctx = c;
    return be;
fail:
    free(c);
    free(be);
    return NULL;
}

const char *pictor_backend_cuda_describe(const pictor_backend *be)
{
    if (!be || be->iface != &cuda_iface)
        return "";
    return cuda_libs_describe(be->ctx);
}

int pictor_backend_cuda_sm(const pictor_backend *be)
{
    if (!be || be->iface != &cuda_iface)
        return 0;
    return ((const struct cuda_ctx *)be->ctx)->sm;
}

int pictor_backend_cuda_stats(const pictor_backend *be, struct pictor_cuda_stats *out)
{
    const struct cuda_ctx *c;

    if (!be || be->iface != &cuda_iface)
        return PICTOR_E_INVALID;
    c = be->ctx;
    *out = c->libs->stats;
    return PICTOR_OK;
}

int pictor_backend_cuda_set_conv_fused(pictor_backend *be, bool on)
{
    if (!be || be->iface != &cuda_iface)
        return PICTOR_E_INVALID;
    ((struct cuda_ctx *)be->ctx)->libs->conv_fused = on;
    return PICTOR_OK;
}

int pictor_backend_cuda_set_plan_dir(pictor_backend *be, const char *dir, char *err,
                                     size_t errlen)
{
    if (!be || be->iface != &cuda_iface) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: not a CUDA backend");
        return PICTOR_E_INVALID;
    }
    return lt_plan_store_attach(be->ctx, dir, err, errlen);
}

#else /* no CUDA in this build */

int pictor_backend_cuda_set_plan_dir(pictor_backend *be, const char *dir, char *err,
                                     size_t errlen)
{
    (void)be;
    (void)dir;
    snprintf(err, errlen, "cuBLASLt algorithm cache: this pictor was built without CUDA");
    return PICTOR_E_UNSUPPORTED;
}

bool pictor_cuda_available(void)
{
    return false;
}

const char *pictor_backend_cuda_describe(const pictor_backend *be)
{
    (void)be;
    return "";
}

int pictor_backend_cuda_stats(const pictor_backend *be, struct pictor_cuda_stats *out)
{
    (void)be;
    (void)out;
    return PICTOR_E_INVALID;
}

int pictor_backend_cuda_set_conv_fused(pictor_backend *be, bool on)
{
    (void)be;
    (void)on;
    return PICTOR_E_INVALID;
}

int pictor_backend_cuda_sm(const pictor_backend *be)
{
    (void)be;
    return 0;
}

pictor_backend *pictor_backend_cuda_create(int device, char *err, size_t errlen)
{
    (void)device;
    snprintf(err, errlen, "this pictor was built without CUDA (rebuild with nvcc on PATH, "
                          "or make CUDA=1)");
    return NULL;
}

#endif
