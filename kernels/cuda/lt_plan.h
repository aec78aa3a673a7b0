/*
 * kernels/cuda/lt_plan.h — cached cuBLASLt plans for op_matmul.c: per
 * problem (struct gemm_key: types, ops, m/n/k, leading dims, strided
 * batch, bias epilogue, pointer alignments) the matmul descriptor, the
 * matrix layouts and up to GEMM_ALGOS algorithms from the heuristic, kept
 * in ctx->libs->gemm_plans (plan_cache.h).
 *
 * Compute is always CUBLAS_COMPUTE_32F with f32 scale (alpha), beta 0 and
 * C = D. The heuristic is told the real pointer alignments
 * (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*: part of the key), so a view at an
 * odd offset never gets an algorithm that assumes 256-byte alignment, and
 * may use the whole shared workspace. It runs once per problem: a
 * warmed-up step can be captured in a CUDA graph without querying it. A
 * plan asked for a bias epilogue falls back to none (bias_epilogue false:
 * the caller adds the bias) when no algorithm offers it.
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

/* Heuristic results kept per plan (fallbacks when one is refused). */
#define GEMM_ALGOS 4

/* Everything that selects a plan; memset to 0 before filling. */
struct gemm_key {
    int32_t type_ab, type_d; /* cudaDataType_t */
    int32_t op_a, op_b;      /* cublasOperation_t of cuBLASLt's A and B */
    int32_t epilogue;        /* 1: bias epilogue wanted */
    int32_t batch;           /* strided batch count */
    uint32_t align_a, align_b, align_d, align_bias; /* bytes, <= 256 */
    int64_t m, n, k;
    int64_t rows_a, cols_a, ld_a, rows_b, cols_b, ld_b, ld_d;
    int64_t stride_a, stride_b, stride_d; /* batch strides, elements */
};

struct gemm_plan {
    const struct cuda_libs *libs; /* the tables that made it (for freeing) */
    struct gemm_key key;          /* for messages */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld; /* ld also serves as C (beta 0) */
    bool bias_epilogue;                /* desc has CUBLASLT_EPILOGUE_BIAS */
    bool from_store;                   /* algos came from the plan folder
                                          and none has run yet */
    int n_algos;
    cublasLtMatmulHeuristicResult_t algos[GEMM_ALGOS];
};

/* What the plan folder's file keeps per problem (the blob of
 * lt_algo_store.h, key: struct gemm_key): a plan's algorithms in the
 * heuristic's order and its epilogue. memset to 0 before filling. */
struct lt_stored_algos {
    uint32_t n_algos;       /* 1..GEMM_ALGOS */
    uint32_t bias_epilogue; /* 0 or 1 (1 only for a key with epilogue) */
    cublasLtMatmulAlgo_t algos[GEMM_ALGOS];
};

/* Version of what struct gemm_key and struct lt_stored_algos mean, written
 * in the file's line 1 (layout=): bump it when a field's meaning changes
 * without a size change (a size change alone already rejects old files). */
#define LT_PLAN_STORE_LAYOUT 1
/* Most problems one file keeps (lt_algo_store.h: later ones are used but
 * not saved); ~830 bytes each in the file. */
#define LT_PLAN_STORE_MAX 4096

/* cudaDataType_t of a pictor float dtype (f32, f16, bf16, f8_e4m3). */
cudaDataType_t lt_type(int dtype);

/* The cached plan for k (memset-zeroed, then filled), built on first use.
 * bias_ptr: the bias the heuristic is told about when k->epilogue (its
 * alignment is k->align_bias). PICTOR_OK, or a negative status with the
 * cuBLAS status name and the problem in err. */
int lt_plan_get(struct cuda_libs *l, const struct gemm_key *k, const void *bias_ptr,
                struct gemm_plan **out, char *err, size_t errlen);

/* Queues D = alpha op(A) op(B) (+ bias when p->bias_epilogue) on the
 * stream with the plan's algorithms in order; refused ones (NOT_SUPPORTED,
 * INVALID_VALUE) are dropped from the plan. Pointers are the first batch
 * item's. */
int lt_plan_run(struct cuda_ctx *ctx, struct gemm_plan *p, float alpha, const void *A,
                const void *B, void *D, const void *bias, char *err, size_t errlen);

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
