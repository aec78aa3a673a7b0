/*
 * kernels/cpu/cpu_rows.h — a small driver for the CPU ops that work on
 * whole innermost rows (layer_norm, rms_norm, softmax, rope): the tensor is
 * viewed as numel / D rows of D elements (D = the last dim), each row is
 * loaded into an f32 buffer of D floats, transformed, and stored back, in
 * parallel over rows. Each chunk allocates its own row buffers; an
 * allocation failure makes cpu_rows_run return PICTOR_E_NOMEM.
 * In place (y the same view as x) is safe: a row is loaded before it is
 * stored, and rows are disjoint.
 */
#ifndef PICTOR_CPU_ROWS_H
#define PICTOR_CPU_ROWS_H

#include <stdint.h>

#include "cpu_internal.h"

/* Transforms row r (index over the leading dims) held in buf[0..D) in
 * place; tmp is a second scratch row of D floats. [pool thread] */
typedef void (*cpu_row_fn)(const void *arg, int64_t r, float *buf,
                           float *tmp, int64_t D);

/* LayerNorm of one f32 row in place, no affine: mean and biased variance
 * in f64, x = (x - mean) * rstd in f32 (layer_norm, ada_layer_norm). */
void cpu_row_layer_norm(float *x, int64_t D, double eps);
/* RMSNorm of one f32 row in place: mean(x^2) in f64, x *= rs, then x *= w
 * when w is non-NULL (rms_norm, rms_norm_rope). */
void cpu_row_rms_norm(float *x, const float *w, int64_t D, double eps);
/* Dynamic E4M3 quantisation of one f32 row in place, pictor_quantize_rows'
 * recipe: amax of |x| (NaN when any x is NaN) floored at
 * PICTOR_FP8_AMAX_FLOOR, then x *= 448 / amax; returns the row's scale
 * amax / 448. Storing x into E4M3 with scale 1 then gives the codes
 * (quantize_rows, ada_layer_norm into an FP8 rows view). */
float cpu_row_quantize_e4m3(float *x, int64_t D);

/* For every row r of x: load x's row, fn, store into y's row r. */
int cpu_rows_run(struct cpu_ctx *ctx, const pictor_tensor *x,
                 pictor_tensor *y, cpu_row_fn fn, const void *arg);

#endif /* PICTOR_CPU_ROWS_H */
