/*
 * kernels/cuda/op_group_norm.c — the host half of the CUDA GroupNorm
 * (+SiLU): which path each step takes, its launch shape, the scratch for
 * the statistics (op_group_norm.h describes the algorithm; the kernels are
 * in op_group_norm.cu). Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <limits.h>
#include <string.h>

#include "cuda_libs.h"
#include "op_group_norm.h"
#include "pictor/tensor_util.h"

/* Blocks per multiprocessor the launch shapes aim at: 2048 resident
 * threads per SM on sm_80..sm_100 / GN_THREADS, i.e. one full wave. */
#define GN_BLOCKS_PER_SM 8
/* Elements per statistics block: at least a few loads per thread (the
 * block's closing reduction is then a small part of its time), at most
 * enough that a large tensor still has many more blocks than SMs (small
 * blocks even out the last wave). */
#define GN_MIN_CHUNK 4096
#define GN_MAX_CHUNK 32768
/* Most vectors (NCHW) or rows (NHWC) one apply thread handles. */
#define GN_MAX_PER_THREAD 16
/* CUDA's limit on gridDim.y. */
#define GN_MAX_GRID_Y 65535
/* A channel row shorter than a warp's worth of loads leaves most of an
 * NCHW apply block idle: such (tiny) rows take the generic path. */
#define GN_MIN_ROW_VECS 32

static int64_t gn_ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static int64_t gn_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Whether the dtype has a fast path (16-bit and 32-bit floats). */
static bool gn_fast_dtype(int dtype)
{
    return dtype == PICTOR_F32 || dtype == PICTOR_F16 || dtype == PICTOR_BF16;
}

/* Elements per 16-byte load. */
static int64_t gn_vec_len(int dtype)
{
    return 16 / (int64_t)pictor_dtype_size(dtype);
}

/* GN_NCHW or GN_NHWC when t's elements [b, c, s] lie at b * *sb + c * S + s
 * or b * *sb + s * C + c (s the row-major index over dims 2..), else
 * GN_GENERIC. Dims of size 1 may have any stride. */
static enum gn_path gn_layout(const pictor_tensor *t, int64_t C, int64_t S, int64_t *sb)
{
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        int64_t want = nhwc ? C : 1;
        bool ok = C == 1 || t->stride[1] == (nhwc ? 1 : S);

        for (int d = t->ndim - 1; d >= 2; d--) {
            if (t->shape[d] != 1 && t->stride[d] != want)
                ok = false;
            want *= t->shape[d];
        }
        if (ok) {
            *sb = t->shape[0] > 1 ? t->stride[0] : 0;
            return nhwc ? GN_NHWC : GN_NCHW;
        }
    }
    return GN_GENERIC;
}

/* Whether t (on path `path`, batch stride sb) allows accesses of v
 * elements: the base, every batch and every contiguous row start on a
 * multiple of v elements' bytes. */
static bool gn_vec_ok(const pictor_tensor *t, enum gn_path path, int64_t sb, int64_t C,
                      int64_t S, int64_t v)
{
    return (uintptr_t)t->data % ((uintptr_t)v * pictor_dtype_size(t->dtype)) == 0 &&
           sb % v == 0 && (path == GN_NCHW ? S : C) % v == 0;
}

/* Whether step 3 has a fast kernel for x's and y's dtypes: one of f32,
 * f16 and bf16 for both, or f32 into f16/bf16. */
static bool gn_apply_dtypes(int xd, int yd)
{
    return gn_fast_dtype(xd) &&
           (xd == yd || (xd == PICTOR_F32 && (yd == PICTOR_F16 || yd == PICTOR_BF16)));
}

/* Channel vectors of an NHWC row, or 0 when a block's threads cannot
 * hold a whole row (then the generic path runs). */
static int64_t gn_nhwc_cols(int64_t C, int64_t v)
{
    return C / v <= GN_THREADS ? C / v : 0;
}

/* Step 1's path and shape. */
static void gn_plan_stats(struct gn_plan *p, const pictor_tensor *x, enum gn_path xl,
                          int64_t target)
{
    int64_t per_block = gn_clamp(gn_ceil_div(p->B * p->G * p->n, target), GN_MIN_CHUNK,
                                 GN_MAX_CHUNK);
    int64_t v = 1, cols = 0;

    p->stats = gn_fast_dtype(x->dtype) ? xl : GN_GENERIC;
    p->stats_vec = p->stats != GN_GENERIC &&
                   gn_vec_ok(x, xl, p->xb, p->C, p->S, gn_vec_len(x->dtype));
    if (p->stats_vec)
        v = gn_vec_len(x->dtype);
    if (p->stats == GN_NHWC) {
        cols = gn_nhwc_cols(p->C, v);
        if (!cols || p->B > GN_MAX_GRID_Y)
            p->stats = GN_GENERIC;
    }
    if (p->stats == GN_GENERIC) {
        p->stats_vec = false;
        v = 1;
    }
    if (p->stats == GN_NHWC) {
        int64_t slots = GN_THREADS / cols; /* rows a block reads at once */

        p->chunk = gn_ceil_div(gn_clamp(per_block / p->C, 1, p->S), slots) * slots;
        p->chunk = p->chunk < p->S ? p->chunk : p->S;
        p->chunks = gn_ceil_div(p->S, p->chunk);
    } else {
        p->chunk = gn_ceil_div(per_block, GN_THREADS * v) * GN_THREADS * v;
        p->chunk = p->chunk < p->n ? p->chunk : p->n; /* a multiple of v either way */
        p->chunks = gn_ceil_div(p->n, p->chunk);
    }
}

/* Step 3's path and shape. */
static void gn_plan_apply(struct gn_plan *p, const pictor_tensor *x, const pictor_tensor *y,
                          enum gn_path xl, enum gn_path yl, int64_t target)
{
    const int64_t xv = gn_vec_len(x->dtype), yv = gn_vec_len(y->dtype);
    const int64_t vl = xv < yv ? xv : yv; /* gn_apply_vec's N */
    int64_t v;

    p->apply = gn_apply_dtypes(x->dtype, y->dtype) && xl == yl ? xl : GN_GENERIC;
    p->apply_vec = p->apply != GN_GENERIC && gn_vec_ok(x, xl, p->xb, p->C, p->S, vl) &&
                   gn_vec_ok(y, yl, p->yb, p->C, p->S, vl);
    v = p->apply_vec ? vl : 1;
    if (p->apply == GN_NCHW) {
        int64_t nv = p->S / v; /* vectors per channel row */

        p->per_thread = gn_clamp(gn_ceil_div(p->B * p->C * nv, target * GN_THREADS), 1,
                                 GN_MAX_PER_THREAD);
        p->per_thread = gn_clamp(gn_ceil_div(nv, GN_THREADS), 1, p->per_thread);
        p->tiles = gn_ceil_div(nv, GN_THREADS * p->per_thread);
        if (nv < GN_MIN_ROW_VECS || p->tiles > GN_MAX_GRID_Y || p->B * p->C > INT_MAX)
            p->apply = GN_GENERIC;
    } else if (p->apply == GN_NHWC) {
        int64_t cols = gn_nhwc_cols(p->C, v), slots = cols ? GN_THREADS / cols : 1;

        p->per_thread = gn_clamp(gn_ceil_div(p->B * p->S, target * slots), 1,
                                 GN_MAX_PER_THREAD);
        p->per_thread = gn_clamp(gn_ceil_div(p->S, slots), 1, p->per_thread);
        p->tiles = gn_ceil_div(p->S, slots * p->per_thread);
        if (!cols || p->B > GN_MAX_GRID_Y || p->tiles > INT_MAX)
            p->apply = GN_GENERIC;
    }
    if (p->apply == GN_GENERIC)
        p->apply_vec = false;
}

void cuda_group_norm_plan(const struct pictor_op_args *a, int sms, struct gn_plan *p)
{
    const pictor_tensor *x = a->u.group_norm.x, *y = a->u.group_norm.y;
    int64_t target = (int64_t)(sms > 0 ? sms : 1) * GN_BLOCKS_PER_SM;
    enum gn_path xl, yl;

    memset(p, 0, sizeof *p);
    p->B = x->shape[0];
    p->C = x->shape[1];
    p->G = a->u.group_norm.groups;
    p->S = pictor_tensor_numel(x) / (p->B * p->C);
    p->cpg = p->C / p->G;
    p->n = p->cpg * p->S;
    xl = gn_layout(x, p->C, p->S, &p->xb);
    yl = gn_layout(y, p->C, p->S, &p->yb);
    gn_plan_stats(p, x, xl, target);
    gn_plan_apply(p, x, y, xl, yl, target);
    p->part_bytes = (size_t)(p->B * p->G * p->chunks) * 2 * sizeof(double);
    p->chan_bytes = (size_t)(p->B * p->C) * 4 * sizeof(float);
}

int cuda_op_group_norm(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    struct gn_plan p;
    void *scratch;
    int sms = 0, rc;

    if (pictor_tensor_numel(a->u.group_norm.x) == 0)
        return PICTOR_OK;
    rc = RT_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, ctx->device),
                  err, errlen);
    if (rc)
        return rc;
    cuda_group_norm_plan(a, sms, &p);
    rc = cuda_scratch_alloc(ctx, p.part_bytes + p.chan_bytes, "group_norm statistics",
                            &scratch, err, errlen);
    if (rc)
        return rc;
    rc = cuda_group_norm_run(ctx, a, &p, scratch, err, errlen);
    cuda_scratch_free(ctx, scratch); /* stream-ordered: after the kernels */
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
