/*
 * kernels/cuda/gemm_map.h — how c = a @ b over pictor tensors (row-major
 * shapes, any strides, NumPy batch broadcasting: pictor/ops.h) maps onto
 * cuBLASLt's column-major, strided-batched GEMM. Pure C without CUDA, so
 * the mapping is unit-tested on the CPU against an emulation of
 * cuBLASLt's semantics (tests/unit/test_gemm_map.c); op_matmul.c and
 * lt_plan.c turn a gemm_lt into descriptors and cublasLtMatmul calls.
 *
 * The mapping. A row-major [R, C] matrix (unit column stride) is, byte for
 * byte, the column-major [C, R] matrix X^T with ld = its row stride; a
 * column-major one (unit row stride, e.g. a transposed view) is X itself
 * with ld = its column stride. When c is row-major (the usual case) the
 * GEMM computes c^T = b^T a^T: cuBLASLt's A is our b, its B our a,
 * m = N, n = M (`swapped`). When c is column-major it computes c = a b:
 * A = a, B = b, m = M, n = N. Each operand gets op N when its memory
 * already holds the matrix cuBLASLt must see, op T when it holds the
 * transpose. D is always op N, rows m, cols n.
 *
 * Batches. Batch dims of a and b broadcast to c's (stride 0). Size-1 dims
 * are dropped, adjacent dims merged where every operand's strides nest;
 * the innermost batch dim that b broadcasts over while a and c continue
 * row after row is folded into M (x [B, L, K] @ w [K, N] is one
 * [B*L, K] GEMM); the innermost dim left is cuBLASLt's strided batch
 * (stride 0 allowed for A and B), the outer ones a host loop.
 */
#ifndef PICTOR_GEMM_MAP_H
#define PICTOR_GEMM_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "pictor/tensor.h"

/* cublasOperation_t values (cublas_api.h: CUBLAS_OP_N 0, CUBLAS_OP_T 1;
 * op_matmul.c asserts the match). */
#define GEMM_OP_N 0
#define GEMM_OP_T 1
/* Batch dims a matmul operand can have. */
#define GEMM_MAX_BATCH (PICTOR_MAX_DIMS - 2)

struct gemm_lt {
    bool swapped;         /* cuBLASLt's A is our b and B our a (row-major c) */
    int32_t op_a, op_b;   /* GEMM_OP_N / GEMM_OP_T of cuBLASLt's A and B */
    int64_t m, n, k;      /* D [m, n] = op(A) [m, k] op(B) [k, n] */
    int64_t rows_a, cols_a, ld_a; /* A as stored (before op) */
    int64_t rows_b, cols_b, ld_b;
    int64_t ld_d;         /* D is rows m, cols n */
    int64_t batch;        /* strided batch count (>= 1) */
    int64_t stride_a, stride_b, stride_d; /* its strides, elements */
    int n_outer;          /* batch dims looped on the host, outermost first */
    int64_t outer[GEMM_MAX_BATCH];
    int64_t outer_sa[GEMM_MAX_BATCH], outer_sb[GEMM_MAX_BATCH], outer_sd[GEMM_MAX_BATCH];
};

/* What cuBLASLt's epilogue adds to D (flags: lt_plan.h's struct gemm_key
 * asks for them, a plan records what it got). The bias runs along m and
 * comes first, the activation last (cublasLt.h, CUBLASLT_EPILOGUE_*). */
#define GEMM_EPI_BIAS 1u /* D += bias[m] (CUBLASLT_EPILOGUE_BIAS) */
#define GEMM_EPI_GELU 2u /* D = gelu_tanh(D) (CUBLASLT_EPILOGUE_GELU, or
                            GELU_BIAS with the bias: cuBLASLt's GELU is the
                            tanh approximation, CUDA.md §1.4) */
#define GEMM_EPI_ALL (GEMM_EPI_BIAS | GEMM_EPI_GELU)

/* The next epilogue to ask cuBLASLt for when no algorithm offers e: the
 * activation is dropped first (the caller applies it after the GEMM),
 * then the bias when bias_droppable (the caller adds it after). false,
 * *next untouched, when nothing is left to drop. */
bool gemm_epilogue_fallback(uint32_t e, bool bias_droppable, uint32_t *next);

/* Whether got is want itself or one of its fallbacks (the check on an
 * epilogue read back from the plan folder's file). */
bool gemm_epilogue_reachable(uint32_t want, uint32_t got, bool bias_droppable);

/* Whether cuBLASLt can use t (a matmul operand, ndim >= 2, no zero dim)
 * where it is: unit row or unit column stride with a leading dimension
 * that covers the matrix, non-negative batch strides. */
bool gemm_lt_describable(const pictor_tensor *t);

/* Maps d = a @ b. Preconditions: shapes as pictor_matmul validates them
 * (d stands for c: its shape; it may be a stand-in buffer of that shape),
 * no zero dim in d, K >= 1, a, b and d describable. */
void gemm_lt_map(const pictor_tensor *a, const pictor_tensor *b, const pictor_tensor *d,
                 struct gemm_lt *g);

/* Iterations of the host loop (product of g->outer). */
int64_t gemm_lt_outer_count(const struct gemm_lt *g);

/* Element offsets into cuBLASLt's A, B and D of host iteration t. */
void gemm_lt_outer_offsets(const struct gemm_lt *g, int64_t t, int64_t *oa, int64_t *ob,
                           int64_t *od);

#endif /* PICTOR_GEMM_MAP_H */
