/*
 * kernels/cuda/op_sdpa_fp8.h — the CUDA backend's FP8 attention
 * (PICTOR_OP_SDPA_FP8; what it computes: pictor/ops.h "FP8 attention"):
 * cuDNN's per-tensor-scaled FP8 SDPA on Hopper (and Blackwell B200),
 * expressed from plain C as
 * the composite operation graph cudnn-frontend's sdpa_fp8 lowers to
 * (CUDA.md §2.1, §2.3), with three small kernels around it.
 *
 *   op_sdpa_fp8_select.c  the pure decisions (no CUDA): which calls the
 *                         graph can express, the plan key; built in every
 *                         configuration, unit-tested on the CPU
 *   op_sdpa_fp8_graph.c   the cuDNN graph, planned on a handle or
 *                         deviceless (op_sdpa_fp8_graph.h), and its
 *                         execution
 *   op_sdpa_fp8.c         the slot and supports(): the probe, the plan
 *                         cache, scratch, the order of the work
 *   op_sdpa_fp8.cu        the kernels before and after cuDNN's
 *
 * One call, all queued on ctx->stream: no synchronisation, no download,
 * nothing the host reads back, so it runs inside a CUDA graph capture
 * once its plan exists (built by an earlier call or supports(); a shape
 * first met while capturing is refused, not planned: cuDNN loads kernels
 * when a plan finalizes, CUDA.md §5):
 *   1. av's slot zeroed (cudaMemsetAsync); kernel 1: av = max |v| over v
 *      as an atomicMax on the f32 bits (for non-negative floats the bits
 *      order as the values; every NaN's magnitude bits exceed +inf's, so a
 *      NaN anywhere gives NaN);
 *   2. kernel 2: av raised to PICTOR_FP8_AMAX_FLOOR (NaN kept);
 *      v8 = e4m3(v * (448 / av)) into contiguous [B, H, Lk, D] scratch; the
 *      first thread writes the scalars the graph reads (slots below):
 *      descale_q = q->scale, descale_k = k->scale, descale_v = av / 448,
 *      descale_s = 1 / 448, scale_s = 448, scale_o = 448 / (av * 1.0625)
 *      (PICTOR_SDPA_FP8_*; the CPU's f32 operations);
 *   3. cuDNN: O8 = e4m3(((P8 V8) * descale_s * descale_v) * scale_o) with
 *      P8 = e4m3(softmax(Q8 K8^T * scale * descale_q * descale_k) * scale_s)
 *      into contiguous E4M3 [B, H, Lq, D] scratch (and Amax_S, Amax_O,
 *      which cuDNN's engines require as outputs; unused);
 *   4. kernel 3: o = decode(O8) / scale_o, rounded to o's dtype at o's
 *      strides.
 *
 * supports() is true only for a call the graph expresses
 * (cuda_sdpa_fp8_eligible), on compute capability 9.0 (Hopper: FP8 SDPA
 * with FP8 output, CUDA.md §2.3) or 10.0 (B200: the same graph; its
 * bf16-output variant is not used; cuDNN takes head dims up to 128 there
 * and says so per key), with cuDNN >= CUDA_SDPA_FP8_MIN_DNN loaded, a probe plan for a
 * fixed key built once per backend, and a plan for the call's key (built
 * on first use, cached per key like op_sdpa_cudnn.c's; a key without an
 * engine is cached with its reason). There is no fallback kernel: an
 * unsupported call is PICTOR_E_UNSUPPORTED, and the latest reason is kept
 * for pictor_backend_cuda_describe ("sdpa_fp8: ...").
 *
 * All of it: the backend's worker thread (pictor/backend.h).
 */
#ifndef PICTOR_OP_SDPA_FP8_H
#define PICTOR_OP_SDPA_FP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/ops.h"
#include "pictor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compute capabilities (major * 10 + minor) the graph runs on: Hopper
 * (9.0) and Blackwell B200/GB200 (10.0), where cuDNN plans it (checked
 * deviceless for an H100's and a B200's properties:
 * tests/unit/test_sdpa_fp8_dnn_plan.c); not Ada (8.9: no engine). */
#define CUDA_SDPA_FP8_SM_HOPPER 90
#define CUDA_SDPA_FP8_SM_BLACKWELL 100
/* Head dims cuDNN's FP8 SDPA takes on Hopper (cudnn-frontend Attention
 * support matrix: d <= 256, a multiple of 16). */
#define CUDA_SDPA_FP8_HEAD_DIM_MULTIPLE 16
#define CUDA_SDPA_FP8_MAX_HEAD_DIM 256
/* cuDNN versions: FP8 SDPA forward from 9.1.0, except 9.10.0 (known
 * bugs; cudnn-frontend Attention docs, CUDA.md §2.3). */
#define CUDA_SDPA_FP8_MIN_DNN 90100
#define CUDA_SDPA_FP8_BAD_DNN 91000
/* Byte alignment of q's and k's base and strides cuDNN is told
 * (dnn_graph.h DNN_TENSOR_ALIGN); E4M3 elements are bytes. */
#define CUDA_SDPA_FP8_ALIGN 16

/* ---- op_sdpa_fp8_select.c: pure decisions ---------------------------- */

/* Whether the graph expresses the call (dtypes and shapes as the wrapper
 * validates them: q, k E4M3 without row scales, v, o f32/f16/bf16, 4-D,
 * Dv = D), and: D a positive multiple of CUDA_SDPA_FP8_HEAD_DIM_MULTIPLE
 * and at most CUDA_SDPA_FP8_MAX_HEAD_DIM; head dim stride 1 on q, k, v
 * and o; q's and k's strides positive multiples of CUDA_SDPA_FP8_ALIGN on
 * every dim longer than 1. Device, library and engine are not asked here.
 * why (may be NULL) gets the first reason it is not. */
bool cuda_sdpa_fp8_eligible(const struct pictor_op_args *a, char *why, size_t whylen);

/* The plan key (memset to 0 before filling: compared with memcmp). v and
 * o are not part of it: the graph reads and writes contiguous scratch. */
struct cuda_sdpa_fp8_key {
    int64_t B, H, Lq, Lk, D;
    int64_t qs[4], ks[4]; /* q's and k's strides, cuda_sdpa_norm_strides */
};

/* Fills *key for an eligible call. */
void cuda_sdpa_fp8_key_of(const struct pictor_op_args *a, struct cuda_sdpa_fp8_key *key);

/* The key of contiguous [B, H, L, D] q and k (staged operands, probe). */
void cuda_sdpa_fp8_key_contig(int64_t B, int64_t H, int64_t Lq, int64_t Lk, int64_t D,
                              struct cuda_sdpa_fp8_key *key);

/* The probe's key: contiguous B 1, H 1, Lq = Lk = 128, D 128. */
void cuda_sdpa_fp8_probe_key(struct cuda_sdpa_fp8_key *key);

/* Whether the graph may run on compute capability sm (major * 10 +
 * minor): CUDA_SDPA_FP8_SM_HOPPER or _BLACKWELL. */
bool cuda_sdpa_fp8_sm_ok(int sm);

/* Whether t's base address is CUDA_SDPA_FP8_ALIGN-aligned as cuDNN is
 * told; an eligible q or k that is not is staged contiguous first. */
bool cuda_sdpa_fp8_base_aligned(const pictor_tensor *t);

#ifdef __cplusplus
}
#endif

/* ---- the CUDA side ------------------------------------------------------ */
#ifdef PICTOR_HAVE_CUDA
#include "cuda_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The device f32 scalars of one call, each in its own 16-byte slot
 * (cuDNN's tensors are declared 16-byte aligned): slot i is
 * scalars[i * CUDA_SDPA_FP8_SLOT_FLOATS]. */
enum cuda_sdpa_fp8_slot {
    FP8_SLOT_AMAX_V,    /* kernel 1: max |v| as f32 bits (unsigned) */
    FP8_SLOT_DESCALE_Q, /* kernel 2 writes the six graph inputs */
    FP8_SLOT_DESCALE_K,
    FP8_SLOT_DESCALE_V,
    FP8_SLOT_DESCALE_S,
    FP8_SLOT_SCALE_S,
    FP8_SLOT_SCALE_O,
    FP8_SLOT_AMAX_S,    /* cuDNN's outputs (required by its engines) */
    FP8_SLOT_AMAX_O,
    FP8_SLOT_COUNT
};
#define CUDA_SDPA_FP8_SLOT_FLOATS 4
#define CUDA_SDPA_FP8_SCALAR_BYTES (FP8_SLOT_COUNT * CUDA_SDPA_FP8_SLOT_FLOATS * sizeof(float))

/* op_sdpa_fp8.cu, steps 1 and 2: zeroes av's slot, reduces max |v| into
 * it, writes v8 (E4M3 codes, contiguous [B, H, Lk, D], B * H * Lk * D
 * bytes) and the scalar slots from q_scale, k_scale and av. v: [B, H, Lk,
 * D] f32/f16/bf16, head dim stride 1, any other strides. Queued on
 * ctx->stream. */
int cuda_sdpa_fp8_prepare(struct cuda_ctx *ctx, const pictor_tensor *v, float q_scale,
                          float k_scale, uint8_t *v8, float *scalars, char *err, size_t errlen);

/* op_sdpa_fp8.cu, step 4: o = decode(o8) / scale_o (the slot) in o's
 * dtype at o's strides (head dim stride 1); o8 contiguous [B, H, Lq, D].
 * Queued on ctx->stream. */
int cuda_sdpa_fp8_finish(struct cuda_ctx *ctx, const uint8_t *o8, const float *scalars,
                         pictor_tensor *o, char *err, size_t errlen);

/* op_sdpa_fp8.c: the slot (validated arguments; PICTOR_E_UNSUPPORTED with
 * the reason for a call supports() refuses). */
int cuda_op_sdpa_fp8(void *ctx, const struct pictor_op_args *a, char *err, size_t errlen);

/* op_sdpa_fp8.c: supports() for PICTOR_OP_SDPA_FP8 (see the top); may
 * build and cache the key's plan. Data pointers are not read. */
bool cuda_sdpa_fp8_supports(struct cuda_ctx *ctx, const struct pictor_op_args *a);

/* op_sdpa_fp8.c: the latest reason a call was refused ("" if none), for
 * the backend's description. */
const char *cuda_sdpa_fp8_note(const struct cuda_ctx *ctx);

/* op_sdpa_fp8.c: frees the probe verdict and plan cache (before
 * cuda_libs_destroy: plans go before the cuDNN handle). */
void cuda_sdpa_fp8_release(struct cuda_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* PICTOR_HAVE_CUDA */

#endif /* PICTOR_OP_SDPA_FP8_H */
