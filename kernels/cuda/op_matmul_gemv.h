/*
 * kernels/cuda/op_matmul_gemv.h — the FP8 GEMV kernel's host interface
 * (op_matmul_gemv.cu): E4M3 matmuls of one activation row against a
 * linear weight's transposed view, which cuBLASLt streams at about half
 * the card's bandwidth. op_matmul_fp8.c routes such calls here first.
 * Plain C; built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifndef PICTOR_CUDA_OP_MATMUL_GEMV_H
#define PICTOR_CUDA_OP_MATMUL_GEMV_H

#include "cuda_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pieces of 512 codes each lane takes (K / 512: 4, 6 or 8, i.e. K 2048,
 * 3072 or 4096) when the kernel takes the call, else 0. It takes calls
 * whose a is one row of K contiguous codes starting on 16 bytes, whose b
 * is w^T [K, N] of a weight w with K contiguous and rows starting on 16
 * bytes, with no gate and no activation; the caller has checked the rest
 * (both E4M3, b without row_scale, c f32/f16/bf16: fp8_direct_ok). Pure
 * host code. */
int cuda_gemv_fp8_pieces(const struct pictor_op_args *args);

/* Queues c = alpha * a @ b * col_scale + bias for a call with `pieces` =
 * cuda_gemv_fp8_pieces(args) > 0, on ctx's stream. PICTOR_OK or a launch
 * error in err. */
int cuda_gemv_fp8_launch(struct cuda_ctx *ctx, const struct pictor_op_args *args, int pieces,
                         char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PICTOR_CUDA_OP_MATMUL_GEMV_H */
