/*
 * kernels/cuda/cuda_internal.h — what the CUDA backend's files share: the
 * backend context (device, stream) and one entry per op, each defined in its
 * own kernels/cuda/op_*.cu and put in the iface table by cuda_backend.c.
 *
 * A plain C header, included from C (cuda_backend.c) and from CUDA C++
 * (the .cu files): everything here has C linkage.
 *
 * Op entries get arguments already validated by kernels/src/ops.c (shapes,
 * dtypes, devices). They enqueue kernels on ctx->stream and return without
 * waiting, except where an op must read a result back (embedding's id
 * check). On failure they write a message into err and return a negative
 * pictor_status (PICTOR_E_DEVICE for a CUDA error, with its string).
 * Thread: the backend's owning worker thread.
 */
#ifndef PICTOR_CUDA_INTERNAL_H
#define PICTOR_CUDA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "pictor/ops.h"

struct cuda_libs; /* cuBLASLt/cuDNN state: kernels/cuda/cuda_libs.h */

struct plan_cache; /* kernels/cuda/plan_cache.h */

struct cuda_sdpa_fp8_state; /* kernels/cuda/op_sdpa_fp8.c */

/* sdpa's routing state (kernels/cuda/op_sdpa_internal.h): the path forced by
 * PICTOR_SDPA at creation, the cuDNN probe's verdict, cuDNN plans. */
struct cuda_sdpa_state {
    int force;                /* enum cuda_sdpa_force */
    int dnn;                  /* 0 not probed, 1 cuDNN SDPA usable, -1 not */
    char note[256];           /* why cuDNN SDPA is off ("" when usable) */
    struct plan_cache *plans; /* cuDNN plans per shape; NULL before the probe */
    struct cuda_sdpa_fp8_state *fp8; /* sdpa_fp8's probe, plans, latest
                                        refusal (op_sdpa_fp8.h); NULL
                                        until first asked */
};

struct cuda_ctx {
    int device;          /* CUDA ordinal */
    cudaStream_t stream; /* every op and copy is queued here */
    char name[256];      /* cudaDeviceProp.name */
    int sm;              /* compute capability, major * 10 + minor */
    struct cuda_libs *libs; /* handles, workspace, plan caches (C files only) */
    struct cuda_sdpa_state sdpa; /* op_sdpa_route.c */
    bool graphs;    /* graphs offered (PICTOR_CUDA_GRAPHS != 0 at creation) */
    bool capturing; /* between capture_begin and capture_end */
    const char *capture_refused; /* a host copy or wait refused while
                                    capturing (capture_end then fails) */
    struct cuda_upload_state *upload; /* pinned staging (cuda_upload.c) */
};

/* Host-to-device copy of n bytes, finished on return (src may be reused):
 * large ones staged through two pinned buffers filled by several threads,
 * others by cudaMemcpyAsync and a wait (cuda_upload.c). */
int cuda_upload_bytes(struct cuda_ctx *ctx, void *dst, const void *src, size_t n);
/* Frees the staging buffers (at destroy). */
void cuda_upload_release(struct cuda_ctx *ctx);

/* Graphs (cuda_graph.c): the iface slots of pictor/backend.h "Graphs". */
bool cuda_graphs_on(void *ctx);
int cuda_capture_begin(void *ctx, char *err, size_t errlen);
int cuda_capture_end(void *ctx, void **graph, char *err, size_t errlen);
int cuda_graph_launch(void *ctx, void *graph, char *err, size_t errlen);
void cuda_graph_destroy(void *ctx, void *graph);
/* The op profiler's marks (cuda_graph.c): events on the stream. */
int cuda_mark_new(void *ctx, void **mark);
int cuda_mark_record(void *ctx, void *mark);
double cuda_mark_ms(void *ctx, void *a, void *b);
void cuda_mark_free(void *ctx, void *mark);

/* Op entries (one file each: op_unary.cu, op_binary.cu, ...). */
int cuda_op_group_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_layer_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_rms_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_softmax(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_unary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_binary(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_copy(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_upsample(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_embedding(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_rope(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_timestep(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_fill(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
/* The fused FLUX ops (op_fused.cu). */
int cuda_op_ada_layer_norm(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_gated_add(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_rms_norm_rope(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_op_quantize_rows(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
/* Library-backed ops (op_matmul.c: cuBLASLt; op_conv2d.c: cuDNN, with its
 * fallback kernel cuda_conv2d_direct in op_conv2d.cu). */
int cuda_op_matmul(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
/* c = act(d * row_scale[m] * col_scale[n] + bias[n]) (each part optional;
 * act an enum pictor_unary or -1), one rounding into c; d is the f32 result
 * of a GEMM with c's shape (may be c itself, except with a gate). With a
 * gate (broadcasting to c) c += gate * that value instead.
 * kernels/cuda/op_matmul_epilogue.cu. */
int cuda_matmul_scale_epilogue(struct cuda_ctx *ctx, const pictor_tensor *d,
                               const float *row_scale, const float *col_scale,
                               const pictor_tensor *bias, int act, const pictor_tensor *gate,
                               pictor_tensor *c, char *err, size_t errlen);
/* The gate folded into an FP8 GEMM's operands (fp8_route.h): sa[n] =
 * col_scale[n] * g[n] (f32) and, with a bias, bias_out[n] = g[n] * bias[n]
 * rounded to bias_out's dtype; g is the 1-D gate row [n] or [1].
 * kernels/cuda/op_matmul_epilogue.cu. */
int cuda_matmul_gate_fold(struct cuda_ctx *ctx, const float *col_scale,
                          const pictor_tensor *gate, const pictor_tensor *bias, int64_t n,
                          float *sa, pictor_tensor *bias_out, char *err, size_t errlen);
int cuda_op_conv2d(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
int cuda_conv2d_direct(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                       size_t errlen);
/* Every dtype combination (FP8 a/b: direct FP8 GEMM or staged). */
bool cuda_matmul_supports(const struct pictor_op_args *a);
/* Attention (op_sdpa_route.c: cuDNN's fused SDPA or the own flash kernels,
 * see op_sdpa_internal.h). init at creation (reads PICTOR_SDPA; allocates
 * nothing), release before cuda_libs_destroy (frees the cuDNN plans). */
int cuda_op_sdpa(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);
bool cuda_sdpa_supports(const struct pictor_op_args *a);
void cuda_sdpa_init(struct cuda_ctx *ctx);
void cuda_sdpa_release(struct cuda_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* PICTOR_CUDA_INTERNAL_H */
