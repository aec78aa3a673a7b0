/*
 * kernels/cuda/op_sdpa_internal.h — the CUDA backend's attention
 * (PICTOR_OP_SDPA, semantics in pictor/ops.h: o = softmax(scale q k^T +
 * mask [+ causal]) v, a fully masked row gives zeros) and how its files
 * share the work:
 *
 *   op_sdpa_route.c    the slot (cuda_op_sdpa): picks the path per call,
 *                      stages operands, counts paths (pictor_cuda_stats)
 *   op_sdpa_select.c   the pure decisions (no CUDA): which path a call can
 *                      take, which views a kernel reads in place, the cuDNN
 *                      plan key; unit-tested on the CPU
 *                      (tests/unit/test_sdpa_select.c)
 *   op_sdpa_cudnn.c    cuDNN's fused SDPA through the backend (graph) API:
 *                      the unified SDPA_FWD op, heuristics, plans per shape
 *   op_sdpa_flash.cu   own flash-attention kernel on tensor cores
 *                      (mma.sync m16n8k16, bf16/f16, head dim 64 or 128)
 *   op_sdpa_generic.cu own SIMT flash kernel for everything else (f32, FP8,
 *                      mixed dtypes, head dims up to CUDA_SDPA_MAX_HEAD_DIM)
 * (FP8 attention, PICTOR_OP_SDPA_FP8, is its own op: op_sdpa_fp8.h; the
 * cuDNN descriptor helpers both use are dnn_graph.h's.)
 *
 * Routing (PICTOR_SDPA at backend creation, CUDA_SDPA_FORCE_*):
 *   auto   cuDNN when the call is one cuDNN can express (cuda_sdpa_dnn_
 *          eligible) and the probe and the plan for its shape succeeded;
 *          otherwise the flash kernel when eligible, else the SIMT kernel.
 *   cudnn  as auto, but a cuDNN failure on an eligible call (probe, no
 *          engine, plan or execution error) is returned as an error: tests
 *          use it so a broken cuDNN path cannot hide behind the fallback.
 *   flash  never cuDNN.
 * The probe (first eligible call) builds one plan for a canonical shape
 * (bf16, B 1, H 1, L 128, D 128); if it fails, cuDNN SDPA is off for the
 * backend and ctx->sdpa.note says why.
 *
 * All of it: the backend's worker thread (pictor/backend.h).
 */
#ifndef PICTOR_OP_SDPA_INTERNAL_H
#define PICTOR_OP_SDPA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/ops.h"
#include "pictor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest head dim (q/k D and v Dv) the own kernels take: the VAE
 * mid-block attends with one head of 512 channels (MODELS.md §7). */
#define CUDA_SDPA_MAX_HEAD_DIM 512
/* Largest head dim cuDNN's fused SDPA supports (cudnn-frontend Attention
 * support matrix: d <= 256, a multiple of 8, for fp16/bf16 on sm_80+). */
#define CUDA_SDPA_DNN_MAX_HEAD_DIM 256
#define CUDA_SDPA_DNN_HEAD_DIM_MULTIPLE 8
/* cuDNN version with the unified SDPA_FWD op (cudnn-frontend
 * UnifiedSDPANode: "requires cuDNN 9.13.1"). */
#define CUDA_SDPA_DNN_MIN_VERSION 91301
/* Byte alignment the flash kernel's 16-byte cp.async loads and cuDNN's
 * tensors (CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT) need of rows and bases. */
#define CUDA_SDPA_ALIGN_BYTES 16

enum cuda_sdpa_force {
    CUDA_SDPA_FORCE_AUTO = 0,
    CUDA_SDPA_FORCE_CUDNN,
    CUDA_SDPA_FORCE_FLASH,
};

/* ---- op_sdpa_select.c: pure decisions ---------------------------------- */

/* PICTOR_SDPA's value (NULL, "", "auto", "cudnn", "flash") as a force
 * mode; false for anything else (*out then AUTO). */
bool cuda_sdpa_parse_force(const char *s, enum cuda_sdpa_force *out);

/* Whether the own kernels take the call: head dims D, Dv at most
 * CUDA_SDPA_MAX_HEAD_DIM, no FP8 mask with per-row scales, B and H within
 * the grid's 65535. why (may be NULL) gets the reason when not. */
bool cuda_sdpa_kernels_support(const struct pictor_op_args *a, char *why, size_t whylen);

/* Whether the tensor-core flash kernel takes the call (possibly after
 * staging q/k/v): q, k, v all BF16 or all F16, D == Dv in {64, 128},
 * Lk >= 1. mask and o may be any float dtype and layout. */
bool cuda_sdpa_flash_eligible(const struct pictor_op_args *a);

/* Whether the flash kernel reads t ([B, H, L, D] 16-bit) in place: unit
 * last stride, base and every stride of a dim longer than 1 a multiple of
 * CUDA_SDPA_ALIGN_BYTES. Otherwise it is staged (copied contiguous). */
bool cuda_sdpa_flash_layout_ok(const pictor_tensor *t);

/* Fewest keys for which the GEMM route (two cuBLASLt GEMMs around the
 * softmax kernel) beats the SIMT kernel. */
#define CUDA_SDPA_GEMM_MIN_KEYS 1024
/* Scratch the GEMM route may hold for one query chunk's scores
 * (f32 S plus P in v's dtype). */
#define CUDA_SDPA_GEMM_BUDGET ((size_t)256 << 20)

/* Whether the GEMM route takes a call the flash kernel and cuDNN do not
 * (the VAE's single 512-channel head over 16384 tokens): no mask, not
 * causal, q/k/v/o one dtype in {f32, f16, bf16}, Lk >= CUDA_SDPA_GEMM_MIN_KEYS.
 * S = scale q k^T in f32, P = softmax(S) in v's dtype, o = P v, over query
 * chunks of cuda_sdpa_gemm_chunk rows. */
bool cuda_sdpa_gemm_eligible(const struct pictor_op_args *a);

/* Query rows per chunk so that B * H * rows * Lk * (4 + sizeof v's dtype)
 * fits `budget` bytes: at least 1, at most Lq, a multiple of 64 when
 * larger than 64. */
int64_t cuda_sdpa_gemm_chunk(const struct pictor_op_args *a, size_t budget);

/* Whether cuDNN's unified SDPA op can express the call: no mask, not
 * causal, q/k/v/o all BF16 or all F16, D == Dv a multiple of 8 and at
 * most 256, Lq and Lk >= 1, every operand with unit last stride, positive
 * strides on dims longer than 1, and 16-byte aligned base and strides.
 * why (may be NULL) gets the first reason it cannot. */
bool cuda_sdpa_dnn_eligible(const struct pictor_op_args *a, char *why, size_t whylen);

/* t's strides with those of dims of length 1 replaced by the packed value
 * (length x stride of the next dim; 1 for the last): such a stride never
 * addresses anything, so plans keyed on it would differ for nothing. */
void cuda_sdpa_norm_strides(const pictor_tensor *t, int64_t out[4]);

/* The cuDNN plan key of a call (memset to 0 before filling: compared with
 * memcmp). The scale is not part of it: cuDNN takes it by value. */
struct cuda_sdpa_dnn_key {
    int32_t dtype; /* enum pictor_dtype of q, k, v and o */
    int32_t pad_;
    int64_t B, H, Lq, Lk, D;
    int64_t qs[4], ks[4], vs[4], os[4]; /* cuda_sdpa_norm_strides */
};

/* Fills *key for an eligible call. */
void cuda_sdpa_dnn_key_of(const struct pictor_op_args *a, struct cuda_sdpa_dnn_key *key);

/* The probe's shape: bf16, contiguous [1, 1, 128, 128] q, k, v, o. */
void cuda_sdpa_dnn_probe_key(struct cuda_sdpa_dnn_key *key);

#ifdef __cplusplus
}
#endif

/* ---- the CUDA side (need the CUDA toolkit) ------------------------------ */
#ifdef PICTOR_HAVE_CUDA
#include "cuda_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* op_sdpa_flash.cu: runs the call on the tensor-core kernel with q, k, v
 * replaced by the given views (the originals, or staged contiguous copies):
 * requires cuda_sdpa_flash_eligible(a) and cuda_sdpa_flash_layout_ok() of
 * each. Queued on ctx->stream. */
int cuda_sdpa_flash(struct cuda_ctx *ctx, const struct pictor_op_args *a,
                    const pictor_tensor *q, const pictor_tensor *k, const pictor_tensor *v,
                    char *err, size_t errlen);

/* op_sdpa_generic.cu: runs any call cuda_sdpa_kernels_support accepts
 * (every float dtype, any strides). Queued on ctx->stream. */
int cuda_sdpa_generic(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                      size_t errlen);

/* op_sdpa_gemm.c: runs an eligible call (cuda_sdpa_gemm_eligible) as
 * matmul, softmax, matmul per query chunk. Queued on ctx->stream. */
int cuda_sdpa_gemm(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                   size_t errlen);

/* op_sdpa_cudnn.c: the probe (once per backend; sets ctx->sdpa.dnn and
 * note). PICTOR_OK when cuDNN SDPA is usable. */
int cuda_sdpa_dnn_probe(struct cuda_ctx *ctx, char *err, size_t errlen);

/* op_sdpa_cudnn.c: runs an eligible call (cuda_sdpa_dnn_eligible) after a
 * successful probe, building and caching the plan for its key on first
 * use. PICTOR_E_UNSUPPORTED (cached per key) when cuDNN has no engine for
 * the shape; other errors as the CHECK family reports them. */
int cuda_sdpa_dnn_run(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                      size_t errlen);

/* op_sdpa_cudnn.c: builds (and frees) the plan of key for target t —
 * a handle, or deviceless a devprop descriptor (dnn_graph.h) — for tests:
 * *viable gets the engine configs cuDNN's heuristics offered after their
 * support checks, *planned whether one finalized. The status of building. */
struct dnn_target;
int cuda_sdpa_dnn_viable(const struct cuda_libs *l, const struct cuda_sdpa_dnn_key *k,
                         const struct dnn_target *t, int64_t *viable, bool *planned, char *err,
                         size_t errlen);

/* op_sdpa_cudnn.c: frees the plan cache (ctx->sdpa.plans). */
void cuda_sdpa_dnn_release(struct cuda_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* PICTOR_HAVE_CUDA */

#endif /* PICTOR_OP_SDPA_INTERNAL_H */
