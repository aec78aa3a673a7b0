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
    int n_algos;
    cublasLtMatmulHeuristicResult_t algos[GEMM_ALGOS];
};

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

#endif /* PICTOR_LT_PLAN_H */
