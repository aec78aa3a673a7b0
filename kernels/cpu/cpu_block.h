/*
 * kernels/cpu/cpu_block.h — block-wise operand access for the CPU ops
 * (implemented in access.c beside cpu_gather_f32 / cpu_scatter_f32).
 *
 * Elements are numbered by their flat row-major index over the shape. A
 * "segment" is a run of flat indices inside one innermost row, so it has a
 * single element stride; streaming ops walk their range in segments of at
 * most CPU_BLOCK elements through a stack buffer instead of materialising
 * whole f32 copies. Loads apply FP8 scale and row_scale; stores round as
 * pictor_row_from_f32 does (FP8: divide by t->scale, row_scale ignored).
 * Thread: any; distinct ranges of one tensor may be stored concurrently.
 */
#ifndef PICTOR_CPU_BLOCK_H
#define PICTOR_CPU_BLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu_internal.h"

/* Elements per stack block: 4 KiB of f32, small enough for L1. */
#define CPU_BLOCK 1024
/* Elements below which a parallel_for chunk is not worth a thread. */
#define CPU_GRAIN 16384

/* Length of the innermost row (1 for a 0-d tensor, >= 1 otherwise unless
 * the tensor is empty). */
int64_t cpu_row_len(const pictor_tensor *t);

/* Length of the segment starting at flat index i, capped by end and
 * CPU_BLOCK. */
int64_t cpu_seg_len(int64_t row_len, int64_t i, int64_t end);

/* Loads/stores flat elements [i, i + cnt) lying within one innermost row. */
void cpu_load_seg(const pictor_tensor *t, int64_t i, int64_t cnt, float *dst);
void cpu_store_seg(pictor_tensor *t, int64_t i, int64_t cnt, const float *src,
                   bool saturate);

/* Loads/stores any flat range [begin, end) (dst/src indexed from 0). */
void cpu_load_range(const pictor_tensor *t, int64_t begin, int64_t end,
                    float *dst);
void cpu_store_range(pictor_tensor *t, int64_t begin, int64_t end,
                     const float *src, bool saturate);

/* cpu_gather_f32 / cpu_scatter_f32 spread over the context's pool. */
float *cpu_gather_f32_mt(struct cpu_ctx *ctx, const pictor_tensor *t,
                         bool *owned);
void cpu_scatter_f32_mt(struct cpu_ctx *ctx, pictor_tensor *dst,
                        const float *src, bool saturate);

#endif /* PICTOR_CPU_BLOCK_H */
