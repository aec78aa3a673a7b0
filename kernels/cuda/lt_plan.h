/*
 * kernels/cuda/lt_plan.h — cached cuBLASLt plans for op_matmul.c: per
 * problem (struct gemm_key: types, ops, m/n/k, leading dims, strided
 * batch, epilogue, scale mode, bias type, pointer alignments) the matmul
 * descriptor, the matrix layouts and up to GEMM_ALGOS algorithms from the
 * heuristic, kept in ctx->libs->gemm_plans (plan_cache.h).
 *
 * Compute is always CUBLAS_COMPUTE_32F with f32 scale (alpha), beta 0 and
 * C = D (same type: the FP8 type table pairs C and D types alike for
 * 16/32-bit D); a key with `accumulate` set runs with beta 1 instead, D
 * read as C and written in place (D = alpha op(A) op(B) + bias + D: the
 * gated FP8 linear, fp8_route.h). Its plans are apart from beta-0 ones:
 * an algorithm cuBLASLt refuses at launch is dropped from its plan. The
 * heuristic is told the real pointer alignments
 * (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*: part of the key), so a view at an
 * odd offset never gets an algorithm that assumes 256-byte alignment, and
 * may use the whole shared workspace. It runs once per problem: a
 * warmed-up step can be captured in a CUDA graph without querying it.
 * Epilogue: the key asks for GEMM_EPI_* flags (gemm_map.h); when no
 * algorithm offers them the plan falls back along
 * gemm_epilogue_fallback (GELU first, then the bias, which only a
 * SCALAR_32F plan may drop) and p->epilogue says what it got: the caller
 * adds the rest. Scales: a key with scale_mode OUTER_VEC_32F sets A's and
 * B's SCALE_MODE to it (their pointers come per call, struct gemm_ptrs).
 * Verdicts: a problem with no algorithm at all (or whose descriptor
 * cuBLASLt refuses in OUTER_VEC_32F mode) is cached too, as a plan without
 * algorithms: lt_plan_get answers PICTOR_E_UNSUPPORTED for it at once, so
 * the heuristic is never asked twice.
 * Persisted choices (lt_plan_store.c): with a plan folder set, a problem
 * met for the first time takes its algorithms from the folder's file when
 * cublasLtMatmulAlgoCheck accepts them there (with the workspace we have),
 * and only searches when it holds none or they are refused; what the
 * heuristic chose is recorded and the file saved at once. A plan from the
 * file whose every algorithm cublasLtMatmul refuses searches again once.
 * Thread: the backend's worker thread (plans are per-context state; a run
 * writes the bias pointer into the plan's descriptor).
 */
#ifndef PICTOR_LT_PLAN_H
#define PICTOR_LT_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "cuda_libs.h"
#include "gemm_map.h"

/* Heuristic results kept per plan (fallbacks when one is refused). */
#define GEMM_ALGOS 4

/* Everything that selects a plan; memset to 0 before filling. */
struct gemm_key {
    int32_t type_ab, type_d; /* cudaDataType_t */
    int32_t op_a, op_b;      /* cublasOperation_t of cuBLASLt's A and B */
    int32_t epilogue;        /* GEMM_EPI_* wanted (gemm_map.h) */
    int32_t batch;           /* strided batch count */
    uint32_t align_a, align_b, align_d, align_bias; /* bytes, <= 256 */
    int32_t scale_mode;      /* cublasLtMatmulMatrixScale_t of A and B:
                                SCALAR_32F (0: none set, alpha only) or
                                OUTER_VEC_32F (per-row vectors) */
    int32_t bias_type;       /* cudaDataType_t set as BIAS_DATA_TYPE with
                                the bias epilogue; -1: left at the default
                                (D's type) */
    int32_t accumulate;      /* 1: beta 1, C = D (D += the product) */
    int64_t m, n, k;
    int64_t rows_a, cols_a, ld_a, rows_b, cols_b, ld_b, ld_d;
    int64_t stride_a, stride_b, stride_d; /* batch strides, elements */
};

struct gemm_plan {
    const struct cuda_libs *libs; /* the tables that made it (for freeing) */
    struct gemm_key key;          /* for messages */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld; /* ld also serves as C (C = D) */
    uint32_t epilogue;                 /* GEMM_EPI_* the descriptor has */
    bool from_store;                   /* algos came from the plan folder
                                          and none has run yet */
    int n_algos;                       /* 0: the cached verdict "no
                                          algorithm" (never launched) */
    cublasLtMatmulHeuristicResult_t algos[GEMM_ALGOS];
};

/* The device pointers of one call that live in the plan's descriptor:
 * set before the heuristic (it reads their alignment) and before every
 * launch. */
struct gemm_ptrs {
    const void *bias;      /* with GEMM_EPI_BIAS: [m] of key.bias_type */
    const float *scale_a;  /* with OUTER_VEC_32F: [m] f32 (A's rows) */
    const float *scale_b;  /* with OUTER_VEC_32F: [n] f32 (B's columns) */
};

/* What the plan folder's file keeps per problem (the blob of
 * lt_algo_store.h, key: struct gemm_key): a plan's algorithms in the
 * heuristic's order and its epilogue. memset to 0 before filling. */
struct lt_stored_algos {
    uint32_t n_algos;  /* 1..GEMM_ALGOS */
    uint32_t epilogue; /* GEMM_EPI_* the algorithms were chosen with: the
                          key's or one of its fallbacks */
    cublasLtMatmulAlgo_t algos[GEMM_ALGOS];
};

/* Version of what struct gemm_key and struct lt_stored_algos mean, written
 * in the file's line 1 (layout=): bump it when a field's meaning changes
 * without a size change (a size change alone already rejects old files).
 * 2: epilogue flags (GEMM_EPI_*), scale_mode and bias_type in the key.
 * 3: accumulate (beta 1) in the key. */
#define LT_PLAN_STORE_LAYOUT 3
/* Most problems one file keeps (lt_algo_store.h: later ones are used but
 * not saved); ~830 bytes each in the file. */
#define LT_PLAN_STORE_MAX 4096

/* cudaDataType_t of a pictor float dtype (f32, f16, bf16, f8_e4m3). */
cudaDataType_t lt_type(int dtype);

/* The cached plan for k (memset-zeroed, then filled), built on first use.
 * ptrs: the call's bias and scale pointers, which the heuristic is told
 * about (the bias's alignment is k->align_bias). PICTOR_OK; or
 * PICTOR_E_UNSUPPORTED ("no algorithm" and the problem in err) when
 * cuBLASLt has no algorithm for it (also cached: asked once); or another
 * negative status with the cuBLAS status name and the problem in err. */
int lt_plan_get(struct cuda_libs *l, const struct gemm_key *k, const struct gemm_ptrs *ptrs,
                struct gemm_plan **out, char *err, size_t errlen);

/* Queues D = alpha scale_a[i] scale_b[j] op(A) op(B), then p->epilogue
 * (bias, GELU), plus D itself when p->key.accumulate (beta 1), on the
 * stream with the plan's algorithms in order; refused
 * ones (NOT_SUPPORTED, INVALID_VALUE) are dropped from the plan. Pointers
 * are the first batch item's. */
int lt_plan_run(struct cuda_ctx *ctx, struct gemm_plan *p, float alpha, const void *A,
                const void *B, void *D, const struct gemm_ptrs *ptrs, char *err,
                size_t errlen);

/* ---- the plan folder (lt_plan_store.c) ---- */

/* Opens the persisted algorithms of this GPU in folder dir (created when
 * missing, one level): "dir/cublaslt-<GPU name>-sm<cc>.algos". Saves and
 * drops a previous folder's first; NULL or "" leaves none. Always leaves a
 * line for the log in err ("" for none): what was loaded, or why the file
 * was ignored (wrong GPU or library, corrupt: it is searched again and
 * rewritten). PICTOR_OK; PICTOR_E_IO when dir cannot be created or written
 * (stored algorithms are still used, new ones are not saved);
 * PICTOR_E_UNSUPPORTED without cuBLASLt; PICTOR_E_INVALID for a path too
 * long; PICTOR_E_NOMEM. */
int lt_plan_store_attach(struct cuda_ctx *ctx, const char *dir, char *err, size_t errlen);

/* Saves unsaved choices (a failure is reported on stderr) and frees the
 * store; a no-op without one. Called at the backend's destroy. */
void lt_plan_store_detach(struct cuda_libs *l);

/* The stored choice for key k into *out; false when there is none. */
bool lt_plan_store_find(const struct cuda_libs *l, const struct gemm_key *k,
                        struct lt_stored_algos *out);

/* Records p's algorithms (n_algos > 0) under p->key and saves the file
 * when that changed it. Failures are reported once on stderr, never
 * returned: persistence is an optimisation. No-op without a store. */
void lt_plan_store_record(struct cuda_libs *l, const struct gemm_plan *p);

#endif /* PICTOR_LT_PLAN_H */
