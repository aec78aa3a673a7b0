/*
 * kernels/cuda/cuda_libs.c — opening cuBLASLt and cuDNN (dlopen, see
 * cuda_libs.h for why), their handles, the shared workspace, the CHECK
 * family and scratch helpers. Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include "cuda_libs.h"
#include "mem_limit.h"
#include "op_sdpa_fp8.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
/* The sonames this build's headers belong to. */
#define LT_SONAME "libcublasLt.so." STR(CUBLAS_VER_MAJOR)
#define DNN_SONAME "libcudnn.so." STR(CUDNN_MAJOR)

/* cuDNN's version number: major * 10000 + minor * 100 + patch (9.x). */
#define DNN_MAJOR(v) ((v) / 10000)
#define DNN_MINOR(v) ((v) / 100 % 100)
#define DNN_PATCH(v) ((v) % 100)

int cuda_rt_check_(cudaError_t e, const char *what, const char *file, int line, char *err,
                   size_t errlen)
{
    if (e == cudaSuccess)
        return PICTOR_OK;
    if (err && errlen)
        snprintf(err, errlen, "%s failed at %s:%d: %s (%s)", what, file, line,
                 cudaGetErrorName(e), cudaGetErrorString(e));
    return e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM : PICTOR_E_DEVICE;
}

int cuda_lt_check_(const struct cuda_libs *l, cublasStatus_t s, const char *what,
                   const char *file, int line, char *err, size_t errlen)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return PICTOR_OK;
    if (err && errlen)
        snprintf(err, errlen, "%s failed at %s:%d: %s (%s)", what, file, line,
                 l->lt.cublasLtGetStatusName(s), l->lt.cublasLtGetStatusString(s));
    if (s == CUBLAS_STATUS_ALLOC_FAILED)
        return PICTOR_E_NOMEM;
    return s == CUBLAS_STATUS_NOT_SUPPORTED ? PICTOR_E_UNSUPPORTED : PICTOR_E_DEVICE;
}

int cuda_dnn_check_(const struct cuda_libs *l, cudnnStatus_t s, const char *what,
                    const char *file, int line, char *err, size_t errlen)
{
    char last[256] = "";

    if (s == CUDNN_STATUS_SUCCESS)
        return PICTOR_OK;
    /* cuDNN 9 keeps a more specific message for the latest failure. */
    l->dnn.cudnnGetLastErrorString(last, sizeof last);
    if (err && errlen)
        snprintf(err, errlen, "%s failed at %s:%d: %s%s%s", what, file, line,
                 l->dnn.cudnnGetErrorString(s), last[0] ? ": " : "", last);
    if (s == CUDNN_STATUS_ALLOC_FAILED)
        return PICTOR_E_NOMEM;
    return s == CUDNN_STATUS_NOT_SUPPORTED ? PICTOR_E_UNSUPPORTED : PICTOR_E_DEVICE;
}

int cuda_scratch_alloc(struct cuda_ctx *ctx, size_t bytes, const char *what, void **out,
                       char *err, size_t errlen)
{
    cudaError_t e;

    *out = NULL;
    int rc = cuda_mem_admit(ctx->device, bytes, err, errlen);
    if (rc)
        return rc;
    e = cudaMallocAsync(out, bytes ? bytes : 1, ctx->stream);
    if (e == cudaSuccess)
        return PICTOR_OK;
    *out = NULL;
    snprintf(err, errlen, "no device memory for %zu bytes of %s scratch: %s", bytes, what,
             cudaGetErrorString(e));
    return e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM : PICTOR_E_DEVICE;
}

void cuda_scratch_free(struct cuda_ctx *ctx, void *p)
{
    if (p)
        cudaFreeAsync(p, ctx->stream);
}

unsigned cuda_ptr_alignment(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    unsigned al = 1;

    while (al < 256 && !(a & al))
        al <<= 1;
    return al;
}

/* dlopens soname (RTLD_NODELETE: CUDA libraries keep process-exit
 * handlers, so they are never unloaded). NULL with dlerror's text in why. */
static void *open_library(const char *soname, char *why, size_t whylen)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

    if (!h)
        snprintf(why, whylen, "cannot open %s: %s", soname, dlerror());
    return h;
}

/* Symbol `name` of h; NULL with the reason in why. */
static void *lookup(void *h, const char *soname, const char *name, char *why, size_t whylen)
{
    void *p;

    dlerror();
    p = dlsym(h, name);
    if (!p)
        snprintf(why, whylen, "%s lacks %s: %s", soname, name, dlerror());
    return p;
}

/* Fills table member f from h while ok (POSIX: dlsym's void * converts to
 * a function pointer). */
#define LOAD_FN(table, soname, why, f)                                                        \
    if (ok) {                                                                                 \
        void *p_ = lookup(h, soname, #f, why, sizeof why);                                    \
        ok = p_ != NULL;                                                                      \
        (table).f = (__typeof__((table).f))p_;                                                \
    }

/* Opens cuBLASLt and creates the handle; a failure leaves lt_handle NULL
 * and the reason in lt_error (matmul then reports it). */
static void open_lt(struct cuda_libs *l)
{
    void *h = open_library(LT_SONAME, l->lt_error, sizeof l->lt_error);
    bool ok = h != NULL;
    char msg[256];

#define LOAD_LT(f) LOAD_FN(l->lt, LT_SONAME, l->lt_error, f)
    CUDA_LT_FUNCS(LOAD_LT)
#undef LOAD_LT
    if (h)
        dlclose(h); /* NODELETE: the code stays mapped */
    if (!ok)
        return;
    l->lt_version = l->lt.cublasLtGetVersion();
    if (LT_CHECK(l, l->lt.cublasLtCreate(&l->lt_handle), msg, sizeof msg)) {
        l->lt_handle = NULL;
        snprintf(l->lt_error, sizeof l->lt_error, "%s", msg);
    }
}

int cuda_libs_load_dnn(struct cuda_libs *l)
{
    void *h = open_library(DNN_SONAME, l->dnn_error, sizeof l->dnn_error);
    bool ok = h != NULL;

#define LOAD_DNN(f) LOAD_FN(l->dnn, DNN_SONAME, l->dnn_error, f)
    CUDA_DNN_FUNCS(LOAD_DNN)
#undef LOAD_DNN
    if (h)
        dlclose(h); /* NODELETE: the code stays mapped */
    if (!ok)
        return PICTOR_E_UNSUPPORTED;
    l->dnn_version = l->dnn.cudnnGetVersion();
    if (DNN_MAJOR(l->dnn_version) != CUDNN_MAJOR) {
        snprintf(l->dnn_error, sizeof l->dnn_error,
                 "cuDNN %zu.%zu.%zu at run time, built against %d.%d.%d (major differs)",
                 DNN_MAJOR(l->dnn_version), DNN_MINOR(l->dnn_version),
                 DNN_PATCH(l->dnn_version), CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
        return PICTOR_E_UNSUPPORTED;
    }
    return PICTOR_OK;
}

/* Opens cuDNN on the stream; a failure leaves dnn_handle NULL and the
 * reason in dnn_error (conv2d then runs its fallback kernel). */
static void open_dnn(struct cuda_ctx *ctx, struct cuda_libs *l)
{
    char msg[256];

    if (cuda_libs_load_dnn(l))
        return;
    if (DNN_CHECK(l, l->dnn.cudnnCreate(&l->dnn_handle), msg, sizeof msg)) {
        l->dnn_handle = NULL;
        snprintf(l->dnn_error, sizeof l->dnn_error, "%s", msg);
        return;
    }
    if (DNN_CHECK(l, l->dnn.cudnnSetStream(l->dnn_handle, ctx->stream), msg, sizeof msg)) {
        l->dnn.cudnnDestroy(l->dnn_handle);
        l->dnn_handle = NULL;
        snprintf(l->dnn_error, sizeof l->dnn_error, "%s", msg);
    }
}

static void describe(struct cuda_ctx *ctx, struct cuda_libs *l)
{
    int major = 0, minor = 0, sms = 0;
    char lt[320], dnn[320];

    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx->device);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx->device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx->device);
    if (l->lt_handle)
        snprintf(lt, sizeof lt, "cuBLASLt %zu (built against %d.%d.%d)", l->lt_version,
                 CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
    else
        snprintf(lt, sizeof lt, "cuBLASLt unusable: %s", l->lt_error);
    if (l->dnn_handle)
        snprintf(dnn, sizeof dnn, "cuDNN %zu.%zu.%zu (built against %d.%d.%d)",
                 DNN_MAJOR(l->dnn_version), DNN_MINOR(l->dnn_version),
                 DNN_PATCH(l->dnn_version), CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
    else
        snprintf(dnn, sizeof dnn, "cuDNN unusable: %s", l->dnn_error);
    snprintf(l->desc, sizeof l->desc, "cuda:%d %s (sm_%d%d, %d SMs), %s, %s, workspace %zu MiB",
             ctx->device, ctx->name, major, minor, sms, lt, dnn, l->workspace_bytes >> 20);
}

const char *cuda_libs_describe(struct cuda_ctx *ctx)
{
    struct cuda_libs *l = ctx->libs;
    size_t n;

    if (!l)
        return "";
    snprintf(l->desc_out, sizeof l->desc_out, "%s%s%s%s", l->desc,
             l->conv_force_direct ? "; conv2d forced onto its fallback kernel" : "",
             l->conv_note[0] ? "; latest conv2d fallback: " : "", l->conv_note);
    n = strlen(l->desc_out);
    if (ctx->sdpa.note[0] && n + 1 < sizeof l->desc_out) /* op_sdpa_route.c */
        snprintf(l->desc_out + n, sizeof l->desc_out - n, "; sdpa: %s", ctx->sdpa.note);
    n = strlen(l->desc_out);
    if (cuda_sdpa_fp8_note(ctx)[0] && n + 1 < sizeof l->desc_out)
        snprintf(l->desc_out + n, sizeof l->desc_out - n, "; sdpa_fp8: %s",
                 cuda_sdpa_fp8_note(ctx));
    return l->desc_out;
}

int cuda_libs_create(struct cuda_ctx *ctx, char *err, size_t errlen)
{
    struct cuda_libs *l = calloc(1, sizeof *l);
    const char *force = getenv("PICTOR_CUDA_CONV_DIRECT");
    const char *fused = getenv("PICTOR_CUDA_CONV_FUSED");
    const char *tune = getenv("PICTOR_CUDA_DNN_TUNE");
    int rc;

    ctx->libs = NULL;
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    l->workspace_bytes = CUDA_LIBS_WORKSPACE_BYTES;
    if ((rc = RT_CHECK(cudaMalloc(&l->workspace, l->workspace_bytes), err, errlen)))
        goto err_free;
    l->gemm_plans = plan_cache_create(cuda_gemm_plan_key_bytes(), CUDA_LIBS_MAX_PLANS,
                                      cuda_gemm_plan_free);
    l->conv_plans = plan_cache_create(cuda_conv_plan_key_bytes(), CUDA_LIBS_MAX_PLANS,
                                      cuda_conv_plan_free);
    l->conv_graph_plans = plan_cache_create(cuda_conv_graph_key_bytes(), CUDA_LIBS_MAX_PLANS,
                                            cuda_conv_graph_plan_free);
    if (!l->gemm_plans || !l->conv_plans || !l->conv_graph_plans) {
        snprintf(err, errlen, "out of memory");
        rc = PICTOR_E_NOMEM;
        goto err_caches;
    }
    open_lt(l);
    open_dnn(ctx, l);
    describe(ctx, l);
    /* Test/diagnosis switch: conv2d always on its fallback kernel. */
    l->conv_force_direct = force && strcmp(force, "1") == 0;
    /* Diagnosis switch: no fused convolution graphs (op_conv2d.c). */
    l->conv_fused = !(fused && strcmp(fused, "0") == 0);
    /* Opt-in: time cuDNN graphs' engine configs (dnn_tune.h); 2: the
     * runtime-compiled ones too. */
    l->dnn_tune_rtc = tune && strcmp(tune, "2") == 0;
    l->dnn_tune = l->dnn_tune_rtc || (tune && strcmp(tune, "1") == 0);
    /* Where FP8 linears' scales are applied (fp8_route.h). */
    if (!fp8_scaling_parse(getenv("PICTOR_FP8_SCALING"), &l->fp8_scaling))
        fprintf(stderr, "pictor: PICTOR_FP8_SCALING=%.64s is not auto or epilogue: auto\n",
                getenv("PICTOR_FP8_SCALING"));
    ctx->libs = l;
    return PICTOR_OK;

err_caches:
    plan_cache_destroy(l->conv_graph_plans);
    plan_cache_destroy(l->conv_plans);
    plan_cache_destroy(l->gemm_plans);
    cudaFree(l->workspace);
err_free:
    free(l);
    return rc;
}

void cuda_libs_destroy(struct cuda_ctx *ctx)
{
    struct cuda_libs *l = ctx->libs;

    if (!l)
        return;
    /* Plans and the workspace may still be in use by queued work. */
    cudaStreamSynchronize(ctx->stream);
    plan_cache_destroy(l->conv_graph_plans); /* plans go before their handles */
    plan_cache_destroy(l->conv_plans);
    plan_cache_destroy(l->gemm_plans);
    if (l->dnn_handle)
        l->dnn.cudnnDestroy(l->dnn_handle);
    if (l->lt_handle)
        l->lt.cublasLtDestroy(l->lt_handle);
    cudaFree(l->workspace);
    free(l);
    ctx->libs = NULL;
}

#endif /* PICTOR_HAVE_CUDA */
