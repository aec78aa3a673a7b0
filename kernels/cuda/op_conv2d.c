/*
 * kernels/cuda/op_conv2d.c — conv2d on the GPU through cuDNN (twin of
 * kernels/cpu/op_conv2d.c; semantics in pictor/ops.h: cross-correlation,
 * groups 1, zero padding, stride, optional bias [Cout]).
 *
 * Which cuDNN API, and why. cuDNN 9 offers the backend graph API
 * (cudnnBackend*, what cuDNN itself and cudnn-frontend build on) and the
 * legacy convolution API (cudnnConvolutionForward and friends, in
 * cudnn_cnn.h / libcudnn_cnn.so.9, reached through the libcudnn.so.9
 * shim; marked deprecated in 9.x but present in 9.14 and 9.19 alike, and
 * still what ONNX Runtime's CUDA provider calls). This file uses the
 * legacy API: it is plain C, needs four descriptors, one heuristic query
 * (cudnnGetConvolutionForwardAlgorithm_v7: no benchmarking, no device
 * sync, so planning is cheap and capture-safe once cached) and one call,
 * which leaves far fewer ways to be wrong for a first GPU run that cannot
 * be rehearsed. What it cannot do is fusion: the bias is added by the
 * binary-add kernel after the convolution. The graph API (conv fprop +
 * pointwise bias/SiLU/residual epilogue, NHWC bf16) is the next step for
 * the VAE and must replace this before cuDNN drops the legacy API.
 *
 * Layouts. ops.h's conv2d takes x [B, Cin, H, W], w [Cout, Cin, KH, KW],
 * y [B, Cout, OH, OW] with any strides, so a channels-last (NHWC) tensor
 * is just these shapes with strides {H*W*C, 1, W*C, C}. cuDNN runs packed
 * NCHW or packed NHWC (filters KCRS / KRSC); the format is the one most of
 * x, y, w already have (x and y weigh double), NCHW on a tie. An operand
 * in another layout, 16-byte misaligned, or of another dtype is staged
 * through stream-ordered scratch by the copy kernel (weights that the VAE
 * keeps in the activations' layout are never copied).
 *
 * Dtypes. x, w, y all f32, all f16 or all bf16 run in that dtype; any
 * other mix (FP8 included) runs in f32 with x and w widened exactly (FP8
 * scales applied) and y rounded once from f32 — the CPU twin's arithmetic.
 * Compute type is always f32; f32 data uses CUDNN_FMA_MATH (no TF32, the
 * cross tests hold f32 to 1e-5) and only GEMM-form/direct algorithms (no
 * FFT/Winograd transform round-off), f16/bf16 tensor-op math and any
 * algorithm.
 *
 * Fusion. f16/bf16 x, w and y with a bias of their dtype, none of them
 * staged (either format), first try a cuDNN operation graph of the
 * convolution with the bias add as its epilogue (op_conv2d_graph.h): one
 * pass over y less. cuDNN plans it with precompiled engines (checked
 * without a GPU at the FLUX VAE's shapes: tests/unit/test_conv_dnn_plan.c);
 * a graph cuDNN refuses is remembered per shape and the legacy API runs
 * it. PICTOR_CUDA_CONV_FUSED=0 at backend creation turns fusion off.
 *
 * Plans. Per (dtype, format, shapes, stride, padding) a conv_plan keeps
 * the descriptors and the heuristic's algorithms (those whose workspace is
 * at most CONV_MAX_WORKSPACE) in ctx->libs->conv_plans; the first is used,
 * refused ones (NOT_SUPPORTED / BAD_PARAM at run time) are dropped. A
 * problem cuDNN has no algorithm for — or when cuDNN is unusable, or
 * PICTOR_CUDA_CONV_DIRECT=1 was set when the backend was created — runs
 * the fallback kernel (op_conv2d.cu: direct convolution, any dtype and
 * strides, slow but exact), and the reason is kept for
 * pictor_backend_cuda_describe.
 * Thread: the backend's worker thread.
 */
#ifdef PICTOR_HAVE_CUDA
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_libs.h"
#include "dnn_tune.h"
#include "op_conv2d_graph.h"
#include "pictor/tensor_util.h"

/* Algorithms asked of the heuristic (all forward algorithms). */
#define CONV_ALGOS CUDNN_CONVOLUTION_FWD_ALGO_COUNT
/* Largest workspace an algorithm may ask for (beyond the shared one it is
 * allocated per call): 256 MiB, which keeps FFT/Winograd variants for the
 * VAE's 512-channel convs in play without risking the model's memory. */
#define CONV_MAX_WORKSPACE ((size_t)256 << 20)
/* Operand alignment cuDNN's vectorised kernels may assume (16 bytes =
 * one 128-bit load); cudaMalloc gives 256, views may give less. */
#define CONV_ALIGN 16

enum conv_fmt { FMT_NCHW, FMT_NHWC };

struct conv_key { /* memset to 0 before filling */
    int32_t dtype, fmt;
    int32_t stride_h, stride_w, pad_h, pad_w;
    int64_t n, cin, h, w, cout, kh, kw;
};

struct conv_algo {
    cudnnConvolutionFwdAlgo_t algo;
    cudnnMathType_t math;
    size_t workspace;
};

struct conv_plan {
    const struct cuda_libs *libs; /* the tables that made it (for freeing) */
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    int n_algos; /* 0: cuDNN cannot run it, use the fallback kernel */
    struct conv_algo algos[CONV_ALGOS];
    char why[160]; /* when n_algos == 0 */
};

size_t cuda_conv_plan_key_bytes(void)
{
    return sizeof(struct conv_key);
}

void cuda_conv_plan_free(void *vp)
{
    struct conv_plan *p = vp;

    if (!p)
        return;
    if (p->cd)
        p->libs->dnn.cudnnDestroyConvolutionDescriptor(p->cd);
    if (p->wd)
        p->libs->dnn.cudnnDestroyFilterDescriptor(p->wd);
    if (p->yd)
        p->libs->dnn.cudnnDestroyTensorDescriptor(p->yd);
    if (p->xd)
        p->libs->dnn.cudnnDestroyTensorDescriptor(p->xd);
    free(p);
}

static bool is_half(int dtype)
{
    return dtype == PICTOR_F16 || dtype == PICTOR_BF16;
}

/* Packed strides of a 4-D [N, C, H, W] shape in format f. */
static void fmt_strides(const int64_t *s, enum conv_fmt f, int64_t *st)
{
    cuda_conv_packed_strides(s, f == FMT_NHWC, st);
}

/* Whether t is packed in format f (strides of size-1 dims never matter). */
static bool in_fmt(const pictor_tensor *t, enum conv_fmt f)
{
    int64_t st[4];

    fmt_strides(t->shape, f, st);
    for (int d = 0; d < 4; d++)
        if (t->shape[d] > 1 && t->stride[d] != st[d])
            return false;
    return true;
}

static enum conv_fmt pick_fmt(const pictor_tensor *x, const pictor_tensor *w,
                              const pictor_tensor *y)
{
    /* Activations weigh double: they are the big operands. */
    int nchw = 2 * in_fmt(x, FMT_NCHW) + 2 * in_fmt(y, FMT_NCHW) + in_fmt(w, FMT_NCHW);
    int nhwc = 2 * in_fmt(x, FMT_NHWC) + 2 * in_fmt(y, FMT_NHWC) + in_fmt(w, FMT_NHWC);

    return nhwc > nchw ? FMT_NHWC : FMT_NCHW;
}

/* Whether cuDNN can use t where it is: dtype, layout, alignment. */
static bool usable_as_is(const pictor_tensor *t, int dtype, enum conv_fmt f)
{
    return t->dtype == dtype && in_fmt(t, f) && cuda_ptr_alignment(t->data) >= CONV_ALIGN;
}

/* Fresh scratch holding a tensor of t's shape, `dtype`, packed in f. */
static int alloc_fmt(struct cuda_ctx *ctx, const pictor_tensor *t, int dtype, enum conv_fmt f,
                     const char *what, pictor_tensor *out, void **owned, char *err,
                     size_t errlen)
{
    size_t bytes = (size_t)pictor_tensor_numel(t) * pictor_dtype_size(dtype);
    int rc;

    if ((rc = cuda_scratch_alloc(ctx, bytes, what, owned, err, errlen)))
        return rc;
    *out = pictor_tensor_make(*owned, dtype, 4, t->shape);
    out->device = PICTOR_DEVICE_CUDA;
    out->device_index = t->device_index;
    fmt_strides(t->shape, f, out->stride);
    ctx->libs->stats.conv_staged++;
    return PICTOR_OK;
}

/* Copy-kernel copy src -> dst (dtype conversion, FP8 scales). */
static int copy_into(struct cuda_ctx *ctx, const pictor_tensor *src, pictor_tensor *dst,
                     char *err, size_t errlen)
{
    struct pictor_op_args cp = { .op = PICTOR_OP_COPY };

    cp.u.copy.src = src;
    cp.u.copy.dst = dst;
    cp.u.copy.saturate = false; /* as the CPU twin's scatter */
    return cuda_op_copy(ctx, &cp, err, errlen);
}

/* t as cuDNN reads it: itself, or a staged copy (dtype, f, aligned). */
static int prep_input(struct cuda_ctx *ctx, const pictor_tensor *t, int dtype, enum conv_fmt f,
                      const char *what, pictor_tensor *out, void **owned, char *err,
                      size_t errlen)
{
    int rc;

    *out = *t;
    if (usable_as_is(t, dtype, f))
        return PICTOR_OK;
    if ((rc = alloc_fmt(ctx, t, dtype, f, what, out, owned, err, errlen)))
        return rc;
    return copy_into(ctx, t, out, err, errlen);
}

/* Creates and sets the four descriptors of key k. */
static int plan_descriptors(const struct cuda_libs *l, struct conv_plan *p,
                            const struct conv_key *k, char *err, size_t errlen)
{
    const struct cuda_dnn_fns *f = &l->dnn;
    cudnnTensorFormat_t tf = k->fmt == FMT_NHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    cudnnDataType_t dt = dnn_data_type(k->dtype);
    cudnnMathType_t math = k->dtype == PICTOR_F32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
    int on = 0, oc = 0, oh = 0, ow = 0, rc;

    if ((rc = DNN_CHECK(l, f->cudnnCreateTensorDescriptor(&p->xd), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnCreateTensorDescriptor(&p->yd), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnCreateFilterDescriptor(&p->wd), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnCreateConvolutionDescriptor(&p->cd), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnSetTensor4dDescriptor(p->xd, tf, dt, (int)k->n, (int)k->cin,
                                                         (int)k->h, (int)k->w), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnSetFilter4dDescriptor(p->wd, dt, tf, (int)k->cout,
                                                         (int)k->cin, (int)k->kh, (int)k->kw),
                        err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnSetConvolution2dDescriptor(p->cd, k->pad_h, k->pad_w,
                                                              k->stride_h, k->stride_w, 1, 1,
                                                              CUDNN_CROSS_CORRELATION,
                                                              CUDNN_DATA_FLOAT), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnSetConvolutionMathType(p->cd, math), err, errlen)) ||
        (rc = DNN_CHECK(l, f->cudnnGetConvolution2dForwardOutputDim(p->cd, p->xd, p->wd, &on,
                                                                    &oc, &oh, &ow),
                        err, errlen)))
        return rc;
    /* y's shape as pictor_conv2d validated it; cuDNN must agree before it
     * writes anything. */
    if (on != k->n || oc != k->cout || oh != (k->h + 2 * k->pad_h - k->kh) / k->stride_h + 1 ||
        ow != (k->w + 2 * k->pad_w - k->kw) / k->stride_w + 1) {
        snprintf(err, errlen, "cuDNN computes output [%d, %d, %d, %d], not y's shape", on, oc,
                 oh, ow);
        return PICTOR_E_UNSUPPORTED;
    }
    return DNN_CHECK(l, f->cudnnSetTensor4dDescriptor(p->yd, tf, dt, on, oc, oh, ow), err,
                     errlen);
}

/* Whether algo sums the products themselves in the compute type (GEMM
 * forms, direct): f32 convs keep to these so they match the CPU twin to
 * f32 round-off. FFT and Winograd transform the operands first, adding
 * transform round-off (fine for f16/bf16 data, not for f32's 1e-5). */
static bool direct_sum(cudnnConvolutionFwdAlgo_t algo)
{
    return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ||
           algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

/* Asks the heuristic; keeps algorithms cuDNN says can run, within the
 * workspace cap (f32: direct-sum ones only). None is not an error (the
 * fallback kernel runs). */
static int plan_algos(struct cuda_libs *l, struct conv_plan *p, const struct conv_key *k,
                      char *err, size_t errlen)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CONV_ALGOS];
    int n = 0;
    cudnnStatus_t s;

    memset(perf, 0, sizeof perf);
    s = l->dnn.cudnnGetConvolutionForwardAlgorithm_v7(l->dnn_handle, p->xd, p->wd, p->cd, p->yd,
                                                      CONV_ALGOS, &n, perf);
    if (s == CUDNN_STATUS_NOT_SUPPORTED || s == CUDNN_STATUS_BAD_PARAM) {
        cuda_dnn_check_(l, s, "cudnnGetConvolutionForwardAlgorithm_v7", __FILE__, __LINE__,
                        p->why, sizeof p->why);
        return PICTOR_OK;
    }
    if (s != CUDNN_STATUS_SUCCESS)
        return cuda_dnn_check_(l, s, "cudnnGetConvolutionForwardAlgorithm_v7", __FILE__, __LINE__,
                               err, errlen);
    for (int i = 0; i < n && i < CONV_ALGOS; i++) {
        struct conv_algo *a = &p->algos[p->n_algos];

        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > CONV_MAX_WORKSPACE ||
            (k->dtype == PICTOR_F32 && !direct_sum(perf[i].algo)))
            continue;
        a->algo = perf[i].algo;
        /* f32 stays on FMA whatever the entry says (no TF32). */
        a->math = k->dtype == PICTOR_F32 ? CUDNN_FMA_MATH : perf[i].mathType;
        a->workspace = perf[i].memory;
        p->n_algos++;
    }
    if (!p->n_algos)
        snprintf(p->why, sizeof p->why, "the cuDNN heuristic offered no algorithm (of %d) "
                 "with at most %zu MiB workspace", n, CONV_MAX_WORKSPACE >> 20);
    return PICTOR_OK;
}

/* The cached plan for k, built on first use. */
static int get_plan(struct cuda_libs *l, const struct conv_key *k, struct conv_plan **out,
                    char *err, size_t errlen)
{
    struct conv_plan *p;
    int rc;

    *out = plan_cache_get(l->conv_plans, k);
    if (*out)
        return PICTOR_OK;
    p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    p->libs = l;
    /* cuDNN refusing the problem's descriptors means the fallback kernel
     * runs it (p cached with no algorithm, the reason in p->why). */
    rc = plan_descriptors(l, p, k, p->why, sizeof p->why);
    if (rc == PICTOR_E_NOMEM) {
        snprintf(err, errlen, "%s", p->why);
        goto fail;
    }
    if (!rc && (rc = plan_algos(l, p, k, err, errlen)))
        goto fail;
    if ((rc = plan_cache_put(l->conv_plans, k, p))) { /* the cache freed p */
        snprintf(err, errlen, "out of memory caching a conv2d plan");
        return rc;
    }
    *out = p;
    return PICTOR_OK;

fail:
    cuda_conv_plan_free(p);
    return rc;
}

/* Runs the plan's algorithms in order until one is accepted; refused ones
 * are dropped. *refused: every algorithm was refused (no error then). */
static int dnn_run(struct cuda_ctx *ctx, struct conv_plan *p, const pictor_tensor *x,
                   const pictor_tensor *w, pictor_tensor *y, bool *refused, char *err,
                   size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    float alpha = 1.0f, beta = 0.0f;
    int rc;

    *refused = false;
    while (p->n_algos > 0) {
        struct conv_algo *a = &p->algos[0];
        void *ws = l->workspace, *ws_owned = NULL;
        size_t ws_bytes = l->workspace_bytes;
        cudnnStatus_t s;

        if (a->workspace > ws_bytes) { /* beyond the shared one: per call */
            if ((rc = cuda_scratch_alloc(ctx, a->workspace, "cuDNN workspace", &ws_owned, err,
                                         errlen)))
                return rc;
            ws = ws_owned;
            ws_bytes = a->workspace;
        }
        s = l->dnn.cudnnSetConvolutionMathType(p->cd, a->math);
        if (s == CUDNN_STATUS_SUCCESS)
            s = l->dnn.cudnnConvolutionForward(l->dnn_handle, &alpha, p->xd, x->data, p->wd,
                                               w->data, p->cd, a->algo, ws, ws_bytes, &beta,
                                               p->yd, y->data);
        cuda_scratch_free(ctx, ws_owned);
        if (s == CUDNN_STATUS_SUCCESS)
            return PICTOR_OK;
        if (s != CUDNN_STATUS_NOT_SUPPORTED && s != CUDNN_STATUS_BAD_PARAM)
            return cuda_dnn_check_(l, s, "cudnnConvolutionForward", __FILE__, __LINE__, err,
                                   errlen);
        cuda_dnn_check_(l, s, "cudnnConvolutionForward", __FILE__, __LINE__, p->why,
                        sizeof p->why);
        memmove(p->algos, p->algos + 1, (size_t)(p->n_algos - 1) * sizeof p->algos[0]);
        p->n_algos--;
    }
    *refused = true;
    return PICTOR_OK;
}

/* y += bias viewed as [Cout, 1, 1] (broadcast over B, OH, OW), in place. */
static int add_bias(struct cuda_ctx *ctx, pictor_tensor *y, const pictor_tensor *bias, char *err,
                    size_t errlen)
{
    struct pictor_op_args ba = { .op = PICTOR_OP_BINARY };
    pictor_tensor b3 = *bias;

    b3.ndim = 3;
    b3.shape[1] = b3.shape[2] = 1;
    b3.stride[1] = b3.stride[2] = 1;
    ba.u.binary.fn = PICTOR_BINARY_ADD;
    ba.u.binary.a = y;
    ba.u.binary.b = &b3;
    ba.u.binary.y = y;
    return cuda_op_binary(ctx, &ba, err, errlen);
}

/* bias as the binary kernel can add it: an FP8 bias (whose row_scale a
 * broadcast view would lose) is widened to f32 scratch first. */
static int prep_bias(struct cuda_ctx *ctx, const pictor_tensor *bias, pictor_tensor *out,
                     void **owned, char *err, size_t errlen)
{
    int rc;

    *out = *bias;
    if (bias->dtype != PICTOR_F8_E4M3 && bias->dtype != PICTOR_F8_E5M2)
        return PICTOR_OK;
    if ((rc = cuda_scratch_alloc(ctx, (size_t)bias->shape[0] * sizeof(float), "conv2d bias",
                                 owned, err, errlen)))
        return rc;
    *out = pictor_tensor_make(*owned, PICTOR_F32, 1, bias->shape);
    out->device = PICTOR_DEVICE_CUDA;
    out->device_index = bias->device_index;
    return copy_into(ctx, bias, out, err, errlen);
}

/* Staged buffers of one cuDNN call. */
struct conv_bufs {
    void *x, *w, *y, *bias;
};

static void release(struct cuda_ctx *ctx, struct conv_bufs *b)
{
    cuda_scratch_free(ctx, b->x);
    cuda_scratch_free(ctx, b->w);
    cuda_scratch_free(ctx, b->y);
    cuda_scratch_free(ctx, b->bias);
}

static void note_fallback(struct cuda_libs *l, const struct conv_key *k, const char *why)
{
    snprintf(l->conv_note, sizeof l->conv_note, "[%lld, %lld, %lld, %lld] * [%lld, %lld, %lld, "
             "%lld] %s: %s", (long long)k->n, (long long)k->cin, (long long)k->h,
             (long long)k->w, (long long)k->cout, (long long)k->cin, (long long)k->kh,
             (long long)k->kw, pictor_dtype_name(k->dtype), why);
}

/* ---- the fused path (op_conv2d_graph.h) ------------------------------- */

size_t cuda_conv_graph_key_bytes(void)
{
    return sizeof(struct cuda_conv_graph_key);
}

void cuda_conv_graph_plan_free(void *vp)
{
    if (vp)
        dnn_graph_plan_release(vp);
    free(vp);
}

/* Whether the fused graph may run x, w, bias, y as they are. */
static bool fusable(const struct cuda_libs *l, const pictor_tensor *x, const pictor_tensor *w,
                    const pictor_tensor *bias, const pictor_tensor *y, int dtype,
                    enum conv_fmt f)
{
    return l->conv_fused && is_half(dtype) && bias && bias->dtype == dtype &&
           (bias->shape[0] == 1 || bias->stride[0] == 1) &&
           cuda_ptr_alignment(bias->data) >= CONV_ALIGN && usable_as_is(x, dtype, f) &&
           usable_as_is(w, dtype, f) && usable_as_is(y, dtype, f);
}

/* The cached fused plan of k (built on first use; a refused one is kept
 * with plan NULL so it is not asked again). */
static int graph_plan(struct cuda_libs *l, const struct conv_key *k,
                      struct dnn_graph_plan **out, char *err, size_t errlen)
{
    struct cuda_conv_graph_key gk;
    struct dnn_graph_plan *p;
    const struct dnn_target t = { .handle = l->dnn_handle };
    char why[320];

    memset(&gk, 0, sizeof gk);
    gk.xdtype = gk.bdtype = gk.ydtype = k->dtype;
    gk.rdtype = -1;
    gk.channels_last = k->fmt == FMT_NHWC;
    gk.stride_h = k->stride_h, gk.stride_w = k->stride_w;
    gk.pad_h = k->pad_h, gk.pad_w = k->pad_w;
    gk.n = k->n, gk.cin = k->cin, gk.h = k->h, gk.w = k->w;
    gk.cout = k->cout, gk.kh = k->kh, gk.kw = k->kw;
    if ((*out = plan_cache_get(l->conv_graph_plans, &gk)))
        return PICTOR_OK;
    if (!(p = calloc(1, sizeof *p))) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    /* A graph cuDNN cannot plan is not an error: the legacy API runs it. */
    if (cuda_conv_graph_build(l, &gk, &t, p, why, sizeof why) == PICTOR_E_NOMEM) {
        cuda_conv_graph_plan_free(p);
        snprintf(err, errlen, "%s", why);
        return PICTOR_E_NOMEM;
    }
    if (plan_cache_put(l->conv_graph_plans, &gk, p)) { /* the cache freed p */
        snprintf(err, errlen, "out of memory caching a conv2d graph plan");
        return PICTOR_E_NOMEM;
    }
    *out = p;
    return PICTOR_OK;
}

/* One candidate run of the fused graph's tuning (dnn_tune.h). */
struct conv_tune_run {
    const struct cuda_libs *l;
    struct cuda_conv_graph_io io;
};

static int conv_tune_run(void *arg, cudnnBackendDescriptor_t plan, void *ws, char *err,
                         size_t errlen)
{
    struct conv_tune_run *r = arg;

    r->io.workspace = ws;
    return cuda_conv_graph_execute_plan(r->l, plan, &r->io, err, errlen);
}

/* Times the fused graph's engine configs once per shape, with this call's
 * operands (PICTOR_CUDA_DNN_TUNE=1; y is written by the runs and then by
 * the chosen plan). */
static int conv_tune(struct cuda_ctx *ctx, const struct conv_key *k, struct dnn_graph_plan *p,
                     const pictor_tensor *x, const pictor_tensor *w, const pictor_tensor *bias,
                     pictor_tensor *y, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct conv_tune_run r = { l, { .x = x->data, .w = w->data, .b = bias->data,
                                    .y = y->data } };
    const struct dnn_tune_args a = dnn_tune_args_of(ctx, conv_tune_run, &r);
    char what[160];

    snprintf(what, sizeof what, "conv2d %s %s [%lld, %lld, %lld, %lld] -> %lld, %lldx%lld",
             k->fmt == FMT_NHWC ? "NHWC" : "NCHW", pictor_dtype_name(k->dtype),
             (long long)k->n, (long long)k->cin, (long long)k->h, (long long)k->w,
             (long long)k->cout, (long long)k->kh, (long long)k->kw);
    return dnn_graph_plan_tune(l, p, &a, what, err, errlen);
}

/* Runs the fused graph when it applies; *done false: it does not, or
 * cuDNN refused it (the caller goes on with the legacy API). */
static int conv_fused(struct cuda_ctx *ctx, const struct conv_key *k, const pictor_tensor *x,
                      const pictor_tensor *w, const pictor_tensor *bias, pictor_tensor *y,
                      bool *done, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct dnn_graph_plan *p;
    void *ws = NULL, *ws_owned = NULL;
    char why[320];
    int rc;

    *done = false;
    if ((rc = graph_plan(l, k, &p, err, errlen)) || !p->plan)
        return rc;
    if (l->dnn_tune && !p->tuned && (rc = conv_tune(ctx, k, p, x, w, bias, y, err, errlen)))
        return rc;
    if (p->workspace > 0 && (size_t)p->workspace <= l->workspace_bytes)
        ws = l->workspace;
    else if (p->workspace > 0) {
        if ((rc = cuda_scratch_alloc(ctx, (size_t)p->workspace, "cuDNN workspace", &ws_owned,
                                     err, errlen)))
            return rc;
        ws = ws_owned;
    }
    const struct cuda_conv_graph_io io = { .x = x->data, .w = w->data, .b = bias->data,
                                           .y = y->data, .workspace = ws };

    rc = cuda_conv_graph_execute(l, p, &io, why, sizeof why);
    cuda_scratch_free(ctx, ws_owned);
    if (rc) { /* refused at execution: never again for this shape */
        snprintf(p->why, sizeof p->why, "%s", why);
        dnn_graph_plan_release(p);
        return PICTOR_OK;
    }
    l->stats.conv_fused++;
    l->stats.conv_cudnn++;
    *done = true;
    return PICTOR_OK;
}

/* The cuDNN path. *done false (and PICTOR_OK): cuDNN cannot run this
 * problem, the caller runs the fallback kernel. */
static int conv_cudnn(struct cuda_ctx *ctx, const struct pictor_op_args *args, bool *done,
                      char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *x = args->u.conv2d.x, *w = args->u.conv2d.w;
    const pictor_tensor *bias = args->u.conv2d.bias;
    pictor_tensor *y = args->u.conv2d.y;
    bool same = x->dtype == w->dtype && w->dtype == y->dtype &&
                (x->dtype == PICTOR_F32 || is_half(x->dtype));
    int dtype = same ? x->dtype : PICTOR_F32;
    enum conv_fmt f = pick_fmt(x, w, y);
    pictor_tensor xs, ws, ys, bs;
    struct conv_bufs bufs = { 0 };
    struct conv_plan *plan;
    struct conv_key key;
    bool refused, y_staged;
    int rc;

    *done = false;
    memset(&key, 0, sizeof key);
    key.dtype = dtype;
    key.fmt = f;
    key.stride_h = args->u.conv2d.stride_h;
    key.stride_w = args->u.conv2d.stride_w;
    key.pad_h = args->u.conv2d.pad_h;
    key.pad_w = args->u.conv2d.pad_w;
    key.n = x->shape[0];
    key.cin = x->shape[1];
    key.h = x->shape[2];
    key.w = x->shape[3];
    key.cout = w->shape[0];
    key.kh = w->shape[2];
    key.kw = w->shape[3];
    /* cuDNN's legacy descriptors take int dims, none of them 0 (an empty
     * x with padding still gives y = bias: the fallback kernel's case). */
    if (key.n > INT_MAX || key.cin > INT_MAX || key.h > INT_MAX || key.w > INT_MAX ||
        key.cout > INT_MAX || key.kh > INT_MAX || key.kw > INT_MAX ||
        pictor_tensor_numel(x) == 0) {
        note_fallback(l, &key, "dims cuDNN's descriptors cannot hold");
        return PICTOR_OK;
    }
    if (fusable(l, x, w, bias, y, dtype, f) &&
        ((rc = conv_fused(ctx, &key, x, w, bias, y, done, err, errlen)) || *done))
        return rc;
    if ((rc = get_plan(l, &key, &plan, err, errlen)))
        return rc;
    if (!plan->n_algos) {
        note_fallback(l, &key, plan->why);
        return PICTOR_OK;
    }

    y_staged = !usable_as_is(y, dtype, f);
    ys = *y;
    if ((rc = prep_input(ctx, x, dtype, f, "conv2d x", &xs, &bufs.x, err, errlen)) ||
        (rc = prep_input(ctx, w, dtype, f, "conv2d w", &ws, &bufs.w, err, errlen)) ||
        (y_staged &&
         (rc = alloc_fmt(ctx, y, dtype, f, "conv2d y", &ys, &bufs.y, err, errlen))))
        goto out;
    if ((rc = dnn_run(ctx, plan, &xs, &ws, &ys, &refused, err, errlen)))
        goto out;
    if (refused) {
        note_fallback(l, &key, plan->why);
        goto out; /* *done stays false */
    }
    if (bias && ((rc = prep_bias(ctx, bias, &bs, &bufs.bias, err, errlen)) ||
                 (rc = add_bias(ctx, &ys, &bs, err, errlen))))
        goto out;
    if (y_staged && (rc = copy_into(ctx, &ys, y, err, errlen)))
        goto out;
    l->stats.conv_cudnn++;
    *done = true;
out:
    release(ctx, &bufs);
    return rc;
}

int cuda_op_conv2d(void *vctx, const struct pictor_op_args *args, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    struct cuda_libs *l = ctx->libs;
    bool done = false;
    int rc;

    if (pictor_tensor_numel(args->u.conv2d.y) == 0)
        return PICTOR_OK;
    l->stats.conv_calls++;
    if (l->dnn_handle && !l->conv_force_direct) {
        if ((rc = conv_cudnn(ctx, args, &done, err, errlen)) || done)
            return rc;
    }
    l->stats.conv_direct++;
    return cuda_conv2d_direct(ctx, args, err, errlen);
}

#endif /* PICTOR_HAVE_CUDA */
