/*
 * pictor/fp8_linear.h — the linear layer the model code calls, FP8-aware:
 * y = x @ w^T + bias as pictor_linear, except that when w is an E4M3 weight
 * quantised per output channel (pictor_params_quantize_rows: row_scale
 * set), x is first quantised per token (pictor_quantize_rows, dynamic
 * row-wise FP8 as torchao's float8 recipe) into backend scratch, so the
 * GEMM runs on FP8 operands on the GPU (cuBLASLt E4M3 on sm_89+; the
 * dequantising path elsewhere; the CPU emulates it exactly in f32).
 * The precision policy (which weights are FP8) lives in the model code;
 * see pictor_precision_fp8_linears in pictor/params.h.
 * Thread: [worker thread] (the backend's owner).
 */
#ifndef PICTOR_FP8_LINEAR_H
#define PICTOR_FP8_LINEAR_H

#include "pictor/backend.h"

/* As pictor_linear (pictor/ops.h); failures leave the backend's message.
 * x may also be an input quantised once for several linears: the
 * [rows, K] E4M3 view with row scales of pictor_fp8_rows_view (w must then
 * be FP8); y then has any shape whose leading dims hold those rows. */
int pictor_linear_fp8(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                      const pictor_tensor *bias, pictor_tensor *y);

/* As pictor_linear_act: y = act(x @ w^T + bias), the activation as the
 * GEMM's epilogue (fused into the FP8 scaling kernel on the GPU). */
int pictor_linear_fp8_act(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                          const pictor_tensor *bias, enum pictor_unary act, pictor_tensor *y);

/* Whether w is a per-channel quantised E4M3 weight (takes the FP8 path). */
bool pictor_weight_is_fp8(const pictor_tensor *w);

/* Whether x is an already quantised input (a 2-D E4M3 rows view with row
 * scales) that pictor_linear_fp8 uses as it is. */
bool pictor_input_is_fp8_rows(const pictor_tensor *x);

#endif /* PICTOR_FP8_LINEAR_H */
