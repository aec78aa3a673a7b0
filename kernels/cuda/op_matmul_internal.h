/*
 * kernels/cuda/op_matmul_internal.h — what the CUDA matmul's two files
 * share: op_matmul.c (the slot, operand staging, the ordinary cuBLASLt
 * path and the helpers below) and op_matmul_fp8.c (E4M3 codes straight
 * to cuBLASLt, with the FP8 scales applied by cuBLASLt or by the epilogue
 * kernel: fp8_route.h). Plain C, built only with CUDA.
 * Thread: the backend's worker thread (plans and stats are per context).
 */
#ifndef PICTOR_OP_MATMUL_INTERNAL_H
#define PICTOR_OP_MATMUL_INTERNAL_H

#include <stdbool.h>

#include "cuda_libs.h"
#include "gemm_map.h"
#include "lt_plan.h"

/* A tensor as cuBLASLt uses it: the caller's, or its staged copy. */
struct gemm_opnd {
    pictor_tensor t;
    void *owned; /* staged scratch, or NULL */
};

/* Everything one call needs after operand preparation. */
struct gemm_call {
    struct gemm_opnd a, b, d, bias; /* bias.t valid when has_bias */
    bool has_bias, copy_back;
    struct gemm_lt lt;
    const void *A, *B; /* cuBLASLt's A and B: (b, a) when lt.swapped */
};

/* D into o: c itself when its dtype is in_dtype or f32 and cuBLASLt can
 * describe its layout, else f32 scratch of c's shape (*copy_back: round
 * it into c afterwards, matmul_finish). read_c (a gated call: c is read
 * by the epilogue kernel after the GEMM) always takes the scratch. */
int matmul_prep_output(struct cuda_ctx *ctx, pictor_tensor *c, int in_dtype, bool read_c,
                       struct gemm_opnd *o, bool *copy_back, char *err, size_t errlen);

/* The bias as the call uses it (g->has_bias set). With row-major D
 * (g->lt.swapped) it rides in the epilogue (*bias_ptr set): D's dtype and
 * unit stride, else staged. Otherwise the binary-add kernel adds it in
 * matmul_finish; an FP8 bias is widened first. */
int matmul_prep_bias(struct cuda_ctx *ctx, const pictor_tensor *bias, struct gemm_call *g,
                     const void **bias_ptr, char *err, size_t errlen);

/* The plan key of the mapped call g (SCALAR_32F, the default bias type;
 * the bias epilogue when bias_ptr), with the real pointer alignments. */
void matmul_make_key(const struct gemm_call *g, const void *bias_ptr, struct gemm_key *k);

/* Queues the GEMM(s) of g with plan p: the outer batch dims in a host
 * loop, the innermost as cuBLASLt's strided batch. */
int matmul_run_batches(struct cuda_ctx *ctx, struct gemm_plan *p, const struct gemm_call *g,
                       float alpha, const void *bias_ptr, char *err, size_t errlen);

/* After the GEMM: the bias (unless p's epilogue added it), then D rounded
 * into c when D was scratch. */
int matmul_finish(struct cuda_ctx *ctx, const struct gemm_plan *p, struct gemm_call *g,
                  const void *bias_ptr, pictor_tensor *c, char *err, size_t errlen);

/* The activation of args as an enum pictor_unary, -1 for none (what
 * cuda_matmul_scale_epilogue takes). */
int matmul_act_of(const struct pictor_op_args *args);

/* Where the GEMM wrote c without args' activation: the unary kernel
 * applies it in place (a 16-bit c is then rounded twice). */
int matmul_apply_act(struct cuda_ctx *ctx, const struct pictor_op_args *args, pictor_tensor *c,
                     char *err, size_t errlen);

/* After the GEMM into g's D: with row or column scales or args' gate, the
 * epilogue kernel (scales, bias, activation, one rounding into args' c, or
 * c += gate * that); without, matmul_finish then matmul_apply_act, unless
 * p's epilogue applied the GELU (cuda_op_matmul asks for it). */
int matmul_complete(struct cuda_ctx *ctx, const struct gemm_plan *p, struct gemm_call *g,
                    const void *bias_ptr, const float *row_scale, const float *col_scale,
                    const struct pictor_op_args *args, char *err, size_t errlen);

/* Frees g's scratch (stream-ordered: after the work queued so far). */
void matmul_release(struct cuda_ctx *ctx, struct gemm_call *g);

/* The FP8 matmul with E4M3 a and b fed to cuBLASLt as codes
 * (op_matmul_fp8.c). *done false: nothing was queued (not E4M3 x E4M3 in
 * the TN layout on sm_89+, or cuBLASLt has no algorithm) and the caller
 * takes its staged path; true: the call's result, or its failure. */
int cuda_matmul_fp8_direct(struct cuda_ctx *ctx, const struct pictor_op_args *args,
                           bool *done, char *err, size_t errlen);

#endif /* PICTOR_OP_MATMUL_INTERNAL_H */
