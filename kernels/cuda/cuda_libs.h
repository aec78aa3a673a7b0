/*
 * kernels/cuda/cuda_libs.h — the CUDA backend's vendor-library state
 * (cuBLASLt, cuDNN) and the one CHECK family for them (STYLE.md habit 8).
 * Plain C, for the host-side files that call the libraries
 * (cuda_backend.c, lt_plan.c, op_matmul.c, op_conv2d.c); include it
 * instead of <cublasLt.h> / <cudnn.h> directly.
 *
 * Loading. Both libraries are opened with dlopen at backend creation
 * (libcublasLt.so.<CUBLAS_VER_MAJOR>, libcudnn.so.<CUDNN_MAJOR>, found
 * through the program's RUNPATH, LD_LIBRARY_PATH or the system's library
 * cache) and called through the function tables below, not linked:
 *   - libcublasLt carries ~94 KB of static TLS; linked at load time it
 *     enlarges every thread's minimum stack, and civetweb's 100 KB worker
 *     threads then fail to start (pthread_create: EINVAL), so pictord
 *     could not serve. Opened with dlopen its TLS is allocated lazily;
 *   - a program built with CUDA still starts, and runs everything but the
 *     library-backed paths, where a library is missing; the reason is kept
 *     (lt_error / dnn_error) and reported by the op that needs it.
 * The headers are still needed at build time (types, constants).
 *
 * What one backend context holds (struct cuda_libs, ctx->libs):
 *   - one cuBLASLt handle and one device workspace of
 *     CUDA_LIBS_WORKSPACE_BYTES, shared by cuBLASLt and cuDNN: every call
 *     is queued on the context's single stream, so two library calls never
 *     use the workspace at once;
 *   - the GEMM plan cache (lt_plan.c) and the conv plan cache
 *     (op_conv2d.c), see plan_cache.h;
 *   - when a plan folder is set (pictor_backend_cuda_set_plan_dir), the
 *     GEMM algorithms persisted there (lt_plan_store.c, lt_algo_store.h);
 *   - one cuDNN handle bound to the stream, or none with the reason (conv2d
 *     then uses its own fallback kernel instead of failing);
 *   - a one-line description (device, cuBLASLt and cuDNN versions) and
 *     counters of which path served each call (pictor/backend_cuda.h).
 * Lifetime: created by cuda_libs_create from pictor_backend_cuda_create,
 * destroyed by cuda_libs_destroy from the backend's destroy. The shared
 * objects are opened RTLD_NODELETE: never unloaded (CUDA libraries keep
 * process-exit handlers).
 * Thread: the backend's owning worker thread only. The handles and the
 * caches are per context, so one backend context per worker thread needs
 * no locking (a handle must not be shared across threads without it).
 */
#ifndef PICTOR_CUDA_LIBS_H
#define PICTOR_CUDA_LIBS_H

#include <stdbool.h>
#include <stddef.h>

#include <cuda_runtime_api.h>

/* cublasLt.h declares cublasLtLoggerForceDisable() without a prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#pragma GCC diagnostic pop
#include <cudnn.h>

#include "cuda_internal.h"
#include "fp8_route.h"
#include "pictor/backend_cuda.h"
#include "lt_algo_store.h"
#include "plan_cache.h"

/* Device workspace shared by cuBLASLt and cuDNN: 32 MiB, the size the
 * cuBLAS documentation recommends for Hopper and newer (cublasSetWorkspace
 * notes; 4 MiB suffices before Hopper). */
#define CUDA_LIBS_WORKSPACE_BYTES ((size_t)32 << 20)
/* Most plans kept per cache before it is flushed (plan_cache.h). */
#define CUDA_LIBS_MAX_PLANS 1024

/* The cuBLASLt and cuDNN entry points the backend calls (X-macro lists:
 * each becomes a function-pointer member of the same name and type). */
#define CUDA_LT_FUNCS(X)                                                                      \
    X(cublasLtCreate) X(cublasLtDestroy) X(cublasLtGetVersion) X(cublasLtGetStatusName)       \
    X(cublasLtGetStatusString) X(cublasLtMatmulDescCreate) X(cublasLtMatmulDescDestroy)       \
    X(cublasLtMatmulDescSetAttribute) X(cublasLtMatrixLayoutCreate)                           \
    X(cublasLtMatrixLayoutDestroy) X(cublasLtMatrixLayoutSetAttribute)                        \
    X(cublasLtMatmulPreferenceCreate) X(cublasLtMatmulPreferenceDestroy)                      \
    X(cublasLtMatmulPreferenceSetAttribute) X(cublasLtMatmulAlgoGetHeuristic)                 \
    X(cublasLtMatmulAlgoCheck) X(cublasLtMatmul)
#define CUDA_DNN_FUNCS(X)                                                                     \
    X(cudnnGetVersion) X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream)                       \
    X(cudnnGetErrorString) X(cudnnGetLastErrorString) X(cudnnCreateTensorDescriptor)          \
    X(cudnnDestroyTensorDescriptor) X(cudnnSetTensor4dDescriptor)                             \
    X(cudnnCreateFilterDescriptor) X(cudnnDestroyFilterDescriptor)                            \
    X(cudnnSetFilter4dDescriptor) X(cudnnCreateConvolutionDescriptor)                         \
    X(cudnnDestroyConvolutionDescriptor) X(cudnnSetConvolution2dDescriptor)                   \
    X(cudnnSetConvolutionMathType) X(cudnnGetConvolution2dForwardOutputDim)                   \
    X(cudnnGetConvolutionForwardAlgorithm_v7) X(cudnnConvolutionForward)                      \
    /* backend (graph) API: fused SDPA, kernels/cuda/op_sdpa_cudnn.c */                       \
    X(cudnnBackendCreateDescriptor) X(cudnnBackendDestroyDescriptor)                          \
    X(cudnnBackendSetAttribute) X(cudnnBackendGetAttribute) X(cudnnBackendFinalize)           \
    X(cudnnBackendExecute)

#define CUDA_LIBS_FN_MEMBER(f) __typeof__(f) *f;
struct cuda_lt_fns {
    CUDA_LT_FUNCS(CUDA_LIBS_FN_MEMBER)
};
struct cuda_dnn_fns {
    CUDA_DNN_FUNCS(CUDA_LIBS_FN_MEMBER)
};
#undef CUDA_LIBS_FN_MEMBER

struct cuda_libs {
    struct cuda_lt_fns lt;        /* valid when lt_handle != NULL */
    cublasLtHandle_t lt_handle;   /* NULL: cuBLASLt unusable, see lt_error */
    char lt_error[256];
    size_t lt_version;            /* cublasLtGetVersion(), e.g. 130100 */
    void *workspace;              /* device, workspace_bytes */
    size_t workspace_bytes;
    struct plan_cache *gemm_plans; /* lt_plan.c */
    struct lt_algo_store *algo_store; /* lt_plan_store.c: persisted GEMM
                                         algorithms; NULL: no plan folder */
    char algo_path[4096];         /* algo_store's file */
    bool algo_read_only;          /* its folder is not writable: no saves */
    bool algo_warned;             /* a failed save was reported (once) */
    struct cuda_dnn_fns dnn;      /* valid when dnn_handle != NULL */
    cudnnHandle_t dnn_handle;     /* NULL: cuDNN unusable, see dnn_error */
    char dnn_error[256];
    size_t dnn_version;           /* cudnnGetVersion(), 0 if unknown */
    struct plan_cache *conv_plans; /* op_conv2d.c */
    struct plan_cache *conv_graph_plans; /* op_conv2d.c's fused graphs
                                            (op_conv2d_graph.h) */
    bool conv_force_direct;       /* PICTOR_CUDA_CONV_DIRECT=1 at creation */
    bool conv_fused;              /* fused graphs allowed: not
                                     PICTOR_CUDA_CONV_FUSED=0 at creation */
    bool dnn_tune;                /* time cuDNN graphs' engine configs
                                     (dnn_tune.h): PICTOR_CUDA_DNN_TUNE=1 or 2 */
    bool dnn_tune_rtc;            /* ... the runtime-compiled ones too:
                                     PICTOR_CUDA_DNN_TUNE=2 */
    enum fp8_scaling fp8_scaling; /* PICTOR_FP8_SCALING at creation
                                     (fp8_route.h, op_matmul_fp8.c) */
    char conv_note[384];          /* why the latest conv2d left cuDNN */
    struct pictor_cuda_stats stats;
    char desc[1024];              /* fixed part of the description */
    char desc_out[1536];          /* desc + conv_note, rebuilt on demand */
};

/* Creates ctx->libs: workspace and plan caches; opens cuBLASLt and cuDNN
 * and creates their handles (a library that cannot be used is recorded,
 * not fatal). ctx->device must be current and ctx->stream created.
 * PICTOR_OK, or PICTOR_E_NOMEM / PICTOR_E_DEVICE with a message; on
 * failure nothing is left allocated. */
int cuda_libs_create(struct cuda_ctx *ctx, char *err, size_t errlen);

/* Frees everything cuda_libs_create made (waits for the stream first);
 * NULL ctx->libs is a no-op. */
void cuda_libs_destroy(struct cuda_ctx *ctx);

/* Fills l->dnn and l->dnn_version from libcudnn.so.<CUDNN_MAJOR> (dlopen)
 * without creating a handle, so no GPU is needed: what deviceless planning
 * (dnn_graph.h) and cuda_libs_create use. PICTOR_OK, or
 * PICTOR_E_UNSUPPORTED with l->dnn_error saying why (library or function
 * missing, another major version). l may be otherwise zero (tests). */
int cuda_libs_load_dnn(struct cuda_libs *l);

/* The backend's one-line description (pictor_backend_cuda_describe):
 * device and library versions, plus the latest reason conv2d fell back
 * to its own kernel, if any. Valid until the next call. */
const char *cuda_libs_describe(struct cuda_ctx *ctx);

/* ---- the CHECK family: evaluate to PICTOR_OK or a negative status after
 * writing "<call> failed at file:line: <library's name and text>" into
 * err. No hidden return: callers propagate the status themselves. ---- */

int cuda_rt_check_(cudaError_t e, const char *what, const char *file, int line, char *err,
                   size_t errlen);
int cuda_lt_check_(const struct cuda_libs *l, cublasStatus_t s, const char *what,
                   const char *file, int line, char *err, size_t errlen);
int cuda_dnn_check_(const struct cuda_libs *l, cudnnStatus_t s, const char *what,
                    const char *file, int line, char *err, size_t errlen);

#define RT_CHECK(call, err, errlen) \
    cuda_rt_check_((call), #call, __FILE__, __LINE__, (err), (errlen))
/* l: the struct cuda_libs whose tables the call went through. */
#define LT_CHECK(l, call, err, errlen) \
    cuda_lt_check_((l), (call), #call, __FILE__, __LINE__, (err), (errlen))
#define DNN_CHECK(l, call, err, errlen) \
    cuda_dnn_check_((l), (call), #call, __FILE__, __LINE__, (err), (errlen))

/* Plan-cache hooks: key size and value destructor of lt_plan.c's GEMM
 * plans and op_conv2d.c's conv plans. */
size_t cuda_gemm_plan_key_bytes(void);
void cuda_gemm_plan_free(void *plan);
size_t cuda_conv_plan_key_bytes(void);
void cuda_conv_plan_free(void *plan);
size_t cuda_conv_graph_key_bytes(void);
void cuda_conv_graph_plan_free(void *plan);

/* ---- stream-ordered scratch memory for staged operands ---- */

/* bytes (> 0) of device memory ordered on ctx->stream (cudaMallocAsync);
 * *out NULL on failure, with a message naming `what` and the size. */
int cuda_scratch_alloc(struct cuda_ctx *ctx, size_t bytes, const char *what, void **out,
                       char *err, size_t errlen);
/* Frees scratch after the work queued so far (cudaFreeAsync); NULL ok. */
void cuda_scratch_free(struct cuda_ctx *ctx, void *p);

/* Largest power of two (<= 256) dividing the address: what the libraries'
 * alignment preferences are told about a pointer. */
unsigned cuda_ptr_alignment(const void *p);

#endif /* PICTOR_CUDA_LIBS_H */
