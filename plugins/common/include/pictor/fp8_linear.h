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

/*
 * Gated residual linear: y += gate * (x @ w^T + bias) (FLUX's gated output
 * projections; pictor_linear_gated in pictor/ops.h). y is the f32 residual
 * stream, read and written; gate broadcasts to y (NumPy rules: [B, 1, N]
 * against y [B, S, N], or [N]) and is f32, f16 or bf16; x as for
 * pictor_linear_fp8 (any float, or a pre-quantised rows view; then y's
 * leading dims hold its rows).
 * FP8 w: x is quantised per token as pictor_linear_fp8 does, and the
 * product is accumulated in f32 by pictor_linear_gated (never rounded to a
 * 16-bit dtype first: one rounding fewer than linear + gated_add). The
 * GEMM is split where it must be: one call per group of y's rows that
 * shares one gate row and forms one [rows, N] view of y (FLUX: one per
 * batch item when B > 1, a single call when B = 1).
 * Any other w: the plain composition, pictor_linear into scratch of x's
 * dtype (f32 for an FP8 x) of y's shape, then pictor_gated_add: the
 * arithmetic of the unfused layer, so callers need no branch.
 */
int pictor_linear_fp8_gated(pictor_backend *be, const pictor_tensor *x, const pictor_tensor *w,
                            const pictor_tensor *bias, const pictor_tensor *gate,
                            pictor_tensor *y);

/* Whether w is a per-channel quantised E4M3 weight (takes the FP8 path). */
bool pictor_weight_is_fp8(const pictor_tensor *w);

/* Whether x is an already quantised input (a 2-D E4M3 rows view with row
 * scales) that pictor_linear_fp8 uses as it is. */
bool pictor_input_is_fp8_rows(const pictor_tensor *x);

#endif /* PICTOR_FP8_LINEAR_H */
