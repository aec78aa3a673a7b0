/*
 * kernels/cpu/op_conv2d.c — NCHW conv2d (cross-correlation, groups 1, zero
 * padding, stride, optional bias) on the CPU as an implicit-im2col GEMM:
 * for image b, y[b] [Cout, OH*OW] = w [Cout, Cin*KH*KW] @ col(x[b]), where
 * col's element (k = (ci, kh, kw), j = (oh, ow)) is
 * x[b, ci, oh*sh - ph + kh, ow*sw - pw + kw] (0 outside the image). The
 * col matrix is never stored: the GEMM's B-pack callback reads it straight
 * from x, one KC x NC panel at a time, so memory stays O(tile).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_gemm.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

#define NR CPU_GEMM_NR

struct conv_job {
    const float *x;     /* f32 view of x */
    int64_t xs[4];      /* its strides */
    int64_t H, W, KH, KW, OW, sh, sw, ph, pw;
    struct cpu_mat w;   /* [Cout, Cin*KH*KW] row-major f32 */
    float *y;           /* f32 output, image t at y + t * ys */
    int64_t ys;
};

static void pack_w(const void *ctx, int64_t t, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, float *dst)
{
    const struct conv_job *j = ctx;

    cpu_gemm_pack_a_mat(&j->w, i0, mc, k0, kc, dst);
}

/* Address of packed element (k, jj) in a B panel of kc rows. */
static inline float *panel_at(float *dst, int64_t kc, int64_t k, int64_t jj)
{
    return dst + (jj / NR) * NR * kc + k * NR + jj % NR;
}

/* One im2col row (fixed ci, kh, kw) over output columns [j0, j0 + nc). */
static void pack_col_row(const struct conv_job *j, const float *xc,
                         int64_t kh, int64_t kw, int64_t j0, int64_t nc,
                         int64_t kc, int64_t k, float *dst)
{
    /* Columns ow with 0 <= ow*sw - pw + kw < W: [lo, hi). */
    int64_t lo = j->pw - kw > 0 ? (j->pw - kw + j->sw - 1) / j->sw : 0;
    int64_t hi = (j->W - 1 + j->pw - kw) >= 0
                     ? (j->W - 1 + j->pw - kw) / j->sw + 1 : 0;
    int64_t jj = 0;

    if (hi > j->OW)
        hi = j->OW;
    while (jj < nc) {
        int64_t oh = (j0 + jj) / j->OW, ow = (j0 + jj) % j->OW;
        int64_t end = ow + (nc - jj) < j->OW ? ow + (nc - jj) : j->OW;
        int64_t ih = oh * j->sh - j->ph + kh;
        bool row_in = ih >= 0 && ih < j->H;
        const float *xr = row_in ? xc + ih * j->xs[2] : xc;

        for (; ow < end; ow++, jj++) {
            float v = 0.0f;

            if (row_in && ow >= lo && ow < hi)
                v = xr[(ow * j->sw - j->pw + kw) * j->xs[3]];
            *panel_at(dst, kc, k, jj) = v;
        }
    }
}

static void pack_col(const void *ctx, int64_t t, int64_t k0, int64_t kc,
                     int64_t j0, int64_t nc, float *dst)
{
    const struct conv_job *j = ctx;
    int64_t taps = j->KH * j->KW;
    int64_t padded = (nc + NR - 1) / NR * NR;

    for (int64_t k = 0; k < kc; k++) {
        int64_t kk = k0 + k, ci = kk / taps, r = kk % taps;
        const float *xc = j->x + t * j->xs[0] + ci * j->xs[1];

        pack_col_row(j, xc, r / j->KW, r % j->KW, j0, nc, kc, k, dst);
        for (int64_t jj = nc; jj < padded; jj++)
            *panel_at(dst, kc, k, jj) = 0.0f;
    }
}

static float *y_of(const void *ctx, int64_t t)
{
    const struct conv_job *j = ctx;

    return j->y + t * j->ys;
}

int cpu_op_conv2d(void *vctx, const struct pictor_op_args *args, char *err,
                  size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    const pictor_tensor *x = args->u.conv2d.x, *w = args->u.conv2d.w;
    const pictor_tensor *bias = args->u.conv2d.bias;
    pictor_tensor *y = args->u.conv2d.y;
    int64_t B = x->shape[0], Cin = x->shape[1], Cout = w->shape[0];
    int64_t OH = y->shape[2], OW = y->shape[3];
    struct conv_job job = {
        .H = x->shape[2], .W = x->shape[3], .KH = w->shape[2],
        .KW = w->shape[3], .OW = OW, .sh = args->u.conv2d.stride_h,
        .sw = args->u.conv2d.stride_w, .ph = args->u.conv2d.pad_h,
        .pw = args->u.conv2d.pad_w,
    };
    struct cpu_gemm g = { .batch = B, .M = Cout, .N = OH * OW,
                          .K = Cin * job.KH * job.KW, .alpha = 1.0f };
    struct cpu_f32_view vx;
    float *wf, *bias_f = NULL, *ybuf = NULL;
    bool w_owned, bias_owned = false, direct;
    int rc = PICTOR_E_NOMEM;

    if (pictor_tensor_numel(y) == 0)
        return PICTOR_OK;
    if (cpu_f32_view_make(ctx, x, &vx))
        goto err;
    wf = cpu_gather_f32_mt(ctx, w, &w_owned);
    if (!wf)
        goto err_release_x;
    if (bias && !(bias_f = cpu_gather_f32(bias, &bias_owned)))
        goto err_release_w;

    direct = y->dtype == PICTOR_F32 && y->stride[3] == 1 &&
             (OH == 1 || y->stride[2] == OW) &&
             (Cout == 1 || y->stride[1] == OH * OW);
    if (direct) {
        job.y = y->data;
        job.ys = y->stride[0];
    } else {
        ybuf = malloc((size_t)pictor_tensor_numel(y) * sizeof(float));
        if (!ybuf)
            goto err_release_bias;
        job.y = ybuf;
        job.ys = Cout * OH * OW;
    }
    job.x = vx.p;
    for (int d = 0; d < 4; d++)
        job.xs[d] = vx.stride[d];
    job.w = (struct cpu_mat){ wf, g.K, 1 };

    g.bias_m = bias_f;
    g.ldc = OH * OW;
    g.pack_a = pack_w;
    g.pack_b = pack_col;
    g.c_of = y_of;
    g.ctx = &job;
    if ((rc = cpu_gemm(ctx, &g)))
        goto err_free_y;
    if (!direct)
        cpu_scatter_f32_mt(ctx, y, ybuf, false);

    free(ybuf);
    cpu_release(bias_f, bias_owned);
    cpu_release(wf, w_owned);
    cpu_f32_view_release(&vx);
    return PICTOR_OK;

err_free_y:
    free(ybuf);
err_release_bias:
    cpu_release(bias_f, bias_owned);
err_release_w:
    cpu_release(wf, w_owned);
err_release_x:
    cpu_f32_view_release(&vx);
err:
    snprintf(err, errlen, "conv2d: out of memory (x [%lld, %lld, %lld, "
             "%lld], %lld output channels)", (long long)B, (long long)Cin,
             (long long)job.H, (long long)job.W, (long long)Cout);
    return rc;
}
