/*
 * kernels/cuda/op_group_norm.h — the CUDA GroupNorm (+SiLU), twin of
 * kernels/cpu/op_group_norm.c: the plan that its host half
 * (op_group_norm.c: paths, launch shapes, scratch) hands to its kernels
 * (op_group_norm.cu: steps 1 and 2 and the launcher; op_group_norm_apply.cu:
 * step 3; op_group_norm.cuh: what they share). Internal to kernels/cuda;
 * plain C.
 *
 * x [B, C, ...] with C split into G groups of cpg = C / G contiguous
 * channels, S elements per channel, n = cpg * S elements per (b, group).
 * Three launches on the backend's stream, all reading x through one plan:
 *   1. stats: many blocks per (b, group) (enough to fill the GPU: the old
 *      kernel ran one block per group, 32 blocks on a 132-SM H100). Each
 *      block sums d = x - K and d * d over one chunk of the group, K being
 *      the group's first element: the shift keeps the sums well
 *      conditioned when the mean is large against the spread (values in
 *      [100, 101) lose every digit of the variance to a plain f32 sum of
 *      squares). Sums run in f32 over one 16-byte vector (NCHW) or at most
 *      GN_RUN values per lane (NHWC, generic), in f64 beyond; each block
 *      stores one f64 pair per group it covers:
 *      part[(b * G + g) * chunks + chunk].
 *   2. finalize: one block per (b, group) adds its partials in a fixed
 *      order (bit-reproducible), rounds as the CPU twin does
 *      mean = (float)(K + S1 / n) and rstd = (float)(1 / sqrt(var + eps)),
 *      var = S2 / n - (S1 / n)^2 in f64, and stores for each of its
 *      channels chan[b * C + c] = (mean, rstd * gamma[c], beta[c], 0).
 *   3. apply: y = (x - mean) * (rstd * gamma[c]) + beta[c] [then SiLU]
 *      (x - mean first: a large mean cancels exactly, as on the CPU).
 * Each step reads x (and writes y) through one of three paths:
 *   GN_NCHW    x[b, c, s] at b * xb + c * S + s (spatial dims row-major):
 *              a group is one contiguous range; stats blocks take chunks
 *              of it, apply blocks take (part of) one channel's row.
 *   GN_NHWC    x[b, c, s] at b * xb + s * C + c (channels last, as the VAE
 *              on the GPU and cuDNN's fast convolutions use): blocks take
 *              a range of spatial rows, each thread owns fixed channels
 *              (their parameters stay in registers), a warp reads whole
 *              rows.
 *   GN_GENERIC any strides and dtype (FP8 too) through cu_get / cu_set;
 *              correct, not fast.
 * The fast paths take f32/f16/bf16 (apply: x and y of one path, and of one
 * dtype or f32 into f16/bf16) and read 16 bytes per load when the base,
 * batch stride and row length allow it (else one element per load; an
 * f32 -> 16-bit apply writes 8 bytes per store). In place (y == x) is
 * safe: the statistics are complete before apply starts, and in apply
 * each element is read and then written by the same thread.
 * Thread: the backend's worker thread.
 */
#ifndef PICTOR_CUDA_OP_GROUP_NORM_H
#define PICTOR_CUDA_OP_GROUP_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Threads per block of every GroupNorm kernel (8 warps). */
#define GN_THREADS 256
/* Values a lane sums in f32 before adding them to its f64 total (the
 * error of an f32 run stays a few ulp of its own sum); NHWC loads them
 * all before the first add. */
#define GN_RUN 4
/* Loads an apply thread issues before its first store (memory-level
 * parallelism at the occupancy its registers allow). */
#define GN_UNROLL 4

enum gn_path { GN_GENERIC, GN_NCHW, GN_NHWC };

struct gn_plan {
    int64_t B, C, S, G;     /* batch, channels, elements per channel, groups */
    int64_t cpg, n;         /* channels per group; elements per (b, group) */
    enum gn_path stats;     /* path of steps 1 (x) */
    enum gn_path apply;     /* path of step 3 (x and y) */
    bool stats_vec;         /* 16-byte loads in step 1 */
    bool apply_vec;         /* 16-byte loads and stores in step 3 */
    int64_t xb, yb;         /* batch strides of x and y in elements (fast paths) */
    int64_t chunk;          /* step 1: elements (NCHW, GENERIC) or spatial rows
                               (NHWC) per block */
    int64_t chunks;         /* step 1: blocks per (b, group) (NCHW, GENERIC) or
                               per b (NHWC, each covering all groups) */
    int64_t per_thread;     /* step 3 fast paths: vectors (NCHW) or rows (NHWC)
                               per thread */
    int64_t tiles;          /* step 3 fast paths: blocks per channel row (NCHW)
                               or per b (NHWC) */
    size_t part_bytes;      /* scratch: B * G * chunks f64 pairs ... */
    size_t chan_bytes;      /* ... then B * C f32 quadruples (chan) */
};

/* Fills *p for the validated group_norm arguments a on a GPU with `sms`
 * multiprocessors. Pure host code (no CUDA call). */
void cuda_group_norm_plan(const struct pictor_op_args *a, int sms, struct gn_plan *p);

/* Queues the three steps of plan p on ctx->stream; scratch holds
 * p->part_bytes + p->chan_bytes device bytes (256-byte aligned) and must
 * stay allocated until they ran (stream-ordered). PICTOR_OK or a launch
 * error in err. */
int cuda_group_norm_run(struct cuda_ctx *ctx, const struct pictor_op_args *a,
                        const struct gn_plan *p, void *scratch, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* PICTOR_CUDA_OP_GROUP_NORM_H */
