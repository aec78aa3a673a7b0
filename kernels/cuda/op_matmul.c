/*
 * kernels/cuda/op_matmul.c — c = alpha * a @ b + bias on the GPU through
 * cuBLASLt (twin of kernels/cpu/op_matmul.c; semantics in pictor/ops.h).
 * How row-major views and broadcast batches become column-major
 * strided-batched GEMMs is gemm_map.h's job (unit-tested on the CPU);
 * this file stages what cuBLASLt cannot take, plans and launches.
 *
 * Dtypes. a and b of one dtype in {f32, f16, bf16} go in as they are;
 * mixed dtypes are widened to f32 (exact, as the CPU twin does). Compute
 * is CUBLAS_COMPUTE_32F with f32 alpha: true f32 FMA for f32 inputs (no
 * TF32: the cross tests hold f32 to 1e-5), f32 accumulation of f16/bf16
 * products. D is c itself when its dtype is the input dtype or f32 and
 * cuBLASLt can describe its layout; otherwise an f32 scratch that the copy
 * kernel rounds into c (one RNE rounding, as on the CPU). An FP8 c or
 * bias is fine (copy kernel, scales applied).
 *
 * FP8. E4M3 a and b in the TN layout (a row-major, b a linear weight's
 * transposed view, c row-major) on sm_89+ go to cuBLASLt as FP8 codes
 * (fp8_direct: per-tensor scales folded into alpha, a's per-row scales and
 * the col_scale by one epilogue kernel, op_matmul_epilogue.cu). Every
 * other FP8 a or b (E5M2, a 16/32-bit partner, b's row_scale along K,
 * sm_80/86, other layouts) is dequantised by the copy
 * kernel into scratch of the GEMM dtype (gemm_dtype) and multiplied by the
 * ordinary path: correct everywhere, not fast (one read of the FP8 operand
 * and one 16-bit write on top of the GEMM).
 *
 * Staging. An operand cuBLASLt cannot describe (no unit row or column
 * stride, ld smaller than the matrix, negative stride) or of another
 * dtype is copied into contiguous stream-ordered scratch by the copy
 * kernel, freed (stream-ordered) once the GEMM is queued.
 *
 * Bias. With row-major c the bias [N] runs along cuBLASLt's m, so it is
 * the BIAS epilogue (not scaled by alpha, as on the CPU); it needs D's
 * dtype and unit stride, else a staged copy. When no algorithm offers the
 * epilogue, or c is column-major, the binary-add kernel adds it after the
 * GEMM (a 16-bit c is then rounded twice: within the f16/bf16 tolerance).
 *
 * Plans. The cuBLASLt descriptors and algorithms of each problem are
 * cached (lt_plan.h); the heuristic runs once per problem.
 * Thread: the backend's worker thread.
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_libs.h"
#include "gemm_map.h"
#include "lt_plan.h"
#include "pictor/tensor_util.h"

_Static_assert(CUBLAS_OP_N == GEMM_OP_N && CUBLAS_OP_T == GEMM_OP_T,
               "gemm_map.h's op values are cublasOperation_t's");

/* A tensor as cuBLASLt uses it: the caller's, or its staged copy. */
struct gemm_opnd {
    pictor_tensor t;
    void *owned; /* staged scratch, or NULL */
};

static bool is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

/* Every dtype combination runs (FP8 operands staged, see the header). */
bool cuda_matmul_supports(const struct pictor_op_args *args)
{
    (void)args;
    return true;
}

/* The dtype a and b are multiplied in. One dtype in {f32, f16, bf16}: that
 * one; FP8 beside f32: f32 (the dequantised codes are exact there); FP8
 * beside f16/bf16: that 16-bit dtype; FP8 with FP8: bf16 (a dequantised
 * E4M3 code times its scales keeps 8 significant bits in bf16: within the
 * FP8 tolerance). Other mixes widen to f32. */
static int gemm_dtype(int da, int db)
{
    if (is_fp8(da) && is_fp8(db))
        return PICTOR_BF16;
    if (is_fp8(da))
        return db;
    if (is_fp8(db))
        return da;
    return da == db ? da : PICTOR_F32;
}

/* y += bias (broadcast over rows) with the binary-add kernel, in place. */
static int add_bias(struct cuda_ctx *ctx, pictor_tensor *y, const pictor_tensor *bias, char *err,
                    size_t errlen)
{
    struct pictor_op_args ba = { .op = PICTOR_OP_BINARY };

    ba.u.binary.fn = PICTOR_BINARY_ADD;
    ba.u.binary.a = y;
    ba.u.binary.b = bias;
    ba.u.binary.y = y;
    return cuda_op_binary(ctx, &ba, err, errlen);
}

/* K == 0: c = bias (or 0) everywhere. */
static int zero_k(struct cuda_ctx *ctx, const pictor_tensor *bias, pictor_tensor *c, char *err,
                  size_t errlen)
{
    struct pictor_op_args f = { .op = PICTOR_OP_FILL };
    int rc;

    f.u.fill.value = 0.0f;
    f.u.fill.y = c;
    if ((rc = cuda_op_fill(ctx, &f, err, errlen)))
        return rc;
    return bias ? add_bias(ctx, c, bias, err, errlen) : PICTOR_OK;
}

/* Copies src into fresh contiguous scratch of `dtype` (copy kernel: dtype
 * conversion, FP8 scale and row_scale). */
static int stage(struct cuda_ctx *ctx, const pictor_tensor *src, int dtype, const char *what,
                 struct gemm_opnd *o, char *err, size_t errlen)
{
    struct pictor_op_args cp = { .op = PICTOR_OP_COPY };
    size_t bytes = (size_t)pictor_tensor_numel(src) * pictor_dtype_size(dtype);
    int rc;

    if ((rc = cuda_scratch_alloc(ctx, bytes, what, &o->owned, err, errlen)))
        return rc;
    o->t = pictor_tensor_make(o->owned, dtype, src->ndim, src->shape);
    o->t.device = PICTOR_DEVICE_CUDA;
    o->t.device_index = src->device_index;
    cp.u.copy.src = src;
    cp.u.copy.dst = &o->t;
    cp.u.copy.saturate = false;
    ctx->libs->stats.matmul_staged++;
    return cuda_op_copy(ctx, &cp, err, errlen);
}

/* a or b as cuBLASLt will read it: itself, or staged as `dtype`. */
static int prep_input(struct cuda_ctx *ctx, const pictor_tensor *t, int dtype, const char *what,
                      struct gemm_opnd *o, char *err, size_t errlen)
{
    o->t = *t;
    if (t->dtype == dtype && gemm_lt_describable(t))
        return PICTOR_OK;
    return stage(ctx, t, dtype, what, o, err, errlen);
}

/* D: c itself when its dtype and layout allow, else f32 scratch of c's
 * shape (*copy_back: round it into c afterwards). */
static int prep_output(struct cuda_ctx *ctx, pictor_tensor *c, int in_dtype, struct gemm_opnd *o,
                       bool *copy_back, char *err, size_t errlen)
{
    size_t bytes = (size_t)pictor_tensor_numel(c) * sizeof(float);
    int rc;

    o->t = *c;
    *copy_back = false;
    if ((c->dtype == in_dtype || c->dtype == PICTOR_F32) && gemm_lt_describable(c))
        return PICTOR_OK;
    if ((rc = cuda_scratch_alloc(ctx, bytes, "matmul output", &o->owned, err, errlen)))
        return rc;
    o->t = pictor_tensor_make(o->owned, PICTOR_F32, c->ndim, c->shape);
    o->t.device = PICTOR_DEVICE_CUDA;
    o->t.device_index = c->device_index;
    *copy_back = true;
    ctx->libs->stats.matmul_staged++;
    return PICTOR_OK;
}

/* Alignment (bytes, <= 256) every batch item keeps: the base pointer's and
 * that of each batch stride in bytes. */
static unsigned batch_alignment(const void *base, int64_t stride, const int64_t *outer_s,
                                int n_outer, size_t es)
{
    unsigned al = cuda_ptr_alignment(base);

    for (int j = -1; j < n_outer; j++) {
        uint64_t bytes = (uint64_t)(j < 0 ? stride : outer_s[j]) * es;

        while (bytes && al > 1 && bytes % al)
            al /= 2;
    }
    return al;
}

/* Everything one call needs after operand preparation. */
struct gemm_call {
    struct gemm_opnd a, b, d, bias; /* bias.t valid when has_bias */
    bool has_bias, copy_back;
    struct gemm_lt lt;
    const void *A, *B; /* cuBLASLt's A and B: (b, a) when lt.swapped */
};

static void make_key(const struct gemm_call *g, const void *bias_ptr, struct gemm_key *k)
{
    const struct gemm_lt *lt = &g->lt;
    size_t es = pictor_dtype_size(g->a.t.dtype), esd = pictor_dtype_size(g->d.t.dtype);

    memset(k, 0, sizeof *k);
    k->type_ab = lt_type(g->a.t.dtype);
    k->type_d = lt_type(g->d.t.dtype);
    k->op_a = lt->op_a;
    k->op_b = lt->op_b;
    k->epilogue = bias_ptr != NULL;
    k->batch = (int32_t)lt->batch;
    k->m = lt->m;
    k->n = lt->n;
    k->k = lt->k;
    k->rows_a = lt->rows_a;
    k->cols_a = lt->cols_a;
    k->ld_a = lt->ld_a;
    k->rows_b = lt->rows_b;
    k->cols_b = lt->cols_b;
    k->ld_b = lt->ld_b;
    k->ld_d = lt->ld_d;
    k->stride_a = lt->stride_a;
    k->stride_b = lt->stride_b;
    k->stride_d = lt->stride_d;
    k->align_a = batch_alignment(g->A, lt->stride_a, lt->outer_sa, lt->n_outer, es);
    k->align_b = batch_alignment(g->B, lt->stride_b, lt->outer_sb, lt->n_outer, es);
    k->align_d = batch_alignment(g->d.t.data, lt->stride_d, lt->outer_sd, lt->n_outer, esd);
    k->align_bias = bias_ptr ? cuda_ptr_alignment(bias_ptr) : 0;
}

/* Queues the GEMM(s): the outer batch dims in a host loop, the innermost
 * as cuBLASLt's strided batch. */
static int run_batches(struct cuda_ctx *ctx, struct gemm_plan *p, const struct gemm_call *g,
                       float alpha, const void *bias_ptr, char *err, size_t errlen)
{
    size_t es = pictor_dtype_size(g->a.t.dtype), esd = pictor_dtype_size(g->d.t.dtype);
    int64_t outer = gemm_lt_outer_count(&g->lt);
    int rc;

    for (int64_t t = 0; t < outer; t++) {
        int64_t oa, ob, od;

        gemm_lt_outer_offsets(&g->lt, t, &oa, &ob, &od);
        if ((rc = lt_plan_run(ctx, p, alpha, (const char *)g->A + oa * (int64_t)es,
                              (const char *)g->B + ob * (int64_t)es,
                              (char *)g->d.t.data + od * (int64_t)esd, bias_ptr, err,
                              errlen)))
            return rc;
    }
    return PICTOR_OK;
}

static void release(struct cuda_ctx *ctx, struct gemm_call *g)
{
    cuda_scratch_free(ctx, g->a.owned);
    cuda_scratch_free(ctx, g->b.owned);
    cuda_scratch_free(ctx, g->d.owned);
    cuda_scratch_free(ctx, g->bias.owned);
}

/* The bias as the call uses it. With row-major D it rides in the epilogue
 * (*bias_ptr set): D's dtype and unit stride, else staged. Otherwise the
 * binary-add kernel adds it afterwards; an FP8 bias is widened first
 * (that kernel drops a broadcast operand's row_scale). */
static int prep_bias(struct cuda_ctx *ctx, const pictor_tensor *bias, struct gemm_call *g,
                     const void **bias_ptr, char *err, size_t errlen)
{
    int64_t N = bias->shape[0];
    int rc = PICTOR_OK;

    g->has_bias = true;
    g->bias.t = *bias;
    *bias_ptr = NULL;
    if (g->lt.swapped) {
        if (bias->dtype != g->d.t.dtype || (N > 1 && bias->stride[0] != 1))
            rc = stage(ctx, bias, g->d.t.dtype, "matmul bias", &g->bias, err, errlen);
        *bias_ptr = g->bias.t.data;
    } else if (bias->dtype == PICTOR_F8_E4M3 || bias->dtype == PICTOR_F8_E5M2) {
        rc = stage(ctx, bias, PICTOR_F32, "matmul bias", &g->bias, err, errlen);
    }
    return rc;
}

/* After the GEMM: the bias (unless the epilogue added it), then D rounded
 * into c when D was scratch. */
static int finish(struct cuda_ctx *ctx, const struct gemm_plan *plan, struct gemm_call *g,
                  const void *bias_ptr, pictor_tensor *c, char *err, size_t errlen)
{
    int rc;

    if (g->has_bias) {
        if (bias_ptr && plan->bias_epilogue)
            ctx->libs->stats.matmul_bias_epilogue++;
        else if ((rc = add_bias(ctx, &g->d.t, &g->bias.t, err, errlen)))
            return rc;
    }
    if (g->copy_back) {
        struct pictor_op_args cp = { .op = PICTOR_OP_COPY };

        cp.u.copy.src = &g->d.t;
        cp.u.copy.dst = c;
        cp.u.copy.saturate = false; /* as the CPU twin's scatter */
        return cuda_op_copy(ctx, &cp, err, errlen);
    }
    return PICTOR_OK;
}

/* The activation epilogue of args as cuda_matmul_scale_epilogue takes it
 * (-1: none). */
static int act_of(const struct pictor_op_args *args)
{
    return args->u.matmul.has_act ? (int)args->u.matmul.act : -1;
}

/* Where the GEMM wrote c without the activation: the unary kernel applies
 * it in place (c is then rounded twice at 16 bits: within tolerance). */
static int apply_act(struct cuda_ctx *ctx, const struct pictor_op_args *args, pictor_tensor *c,
                     char *err, size_t errlen)
{
    struct pictor_op_args u = { .op = PICTOR_OP_UNARY };

    if (!args->u.matmul.has_act)
        return PICTOR_OK;
    u.u.unary.fn = args->u.matmul.act;
    u.u.unary.x = c;
    u.u.unary.y = c;
    return cuda_op_unary(ctx, &u, err, errlen);
}

/* ---- direct FP8 GEMM (sm_89+) --------------------------------------- */

/* Oldest compute capability (major * 10 + minor) with FP8 tensor-core
 * GEMMs in cuBLASLt (CUDA.md §1.2: FP8 GEMM exists on 8.9+). */
#define FP8_GEMM_MIN_SM 89
/* cuBLASLt's FP8 alignment rule: K and N multiples of 16 (CUDA.md §1.1,
 * as torch._scaled_mm checks). */
#define FP8_GEMM_DIM_ALIGN 16

/* Compute capability of the context's device as major * 10 + minor (0 when
 * the runtime cannot say). */
static int device_sm(const struct cuda_ctx *ctx)
{
    int major = 0, minor = 0;

    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ctx->device) !=
            cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ctx->device) !=
            cudaSuccess)
        return 0;
    return major * 10 + minor;
}

/* Whether a @ b -> c may go to cuBLASLt as E4M3 codes: both E4M3, b
 * without row_scale (its rows are K: no GEMM scale runs along K), a's
 * row_scale only on a 2-D a (one scale per output row), c f32/f16/bf16,
 * every operand describable, K and N multiples of 16, sm_89+. The layout
 * (TN) is checked after mapping. */
static bool fp8_direct_ok(const struct cuda_ctx *ctx, const pictor_tensor *a,
                          const pictor_tensor *b, const pictor_tensor *c)
{
    int64_t K = a->shape[a->ndim - 1], N = c->shape[c->ndim - 1];

    return a->dtype == PICTOR_F8_E4M3 && b->dtype == PICTOR_F8_E4M3 && !b->row_scale &&
           (!a->row_scale || a->ndim == 2) &&
           (c->dtype == PICTOR_F32 || c->dtype == PICTOR_F16 || c->dtype == PICTOR_BF16) &&
           K % FP8_GEMM_DIM_ALIGN == 0 && N % FP8_GEMM_DIM_ALIGN == 0 &&
           gemm_lt_describable(a) && gemm_lt_describable(b) && gemm_lt_describable(c) &&
           device_sm(ctx) >= FP8_GEMM_MIN_SM;
}

/*
 * c = alpha * (a @ b) * col_scale + bias with E4M3 a and b fed to cuBLASLt
 * as they are (f32 accumulation). The per-tensor scales fold into alpha
 * (f32 host scalar: no device scale pointers needed). a's per-row scales
 * (tokens) and the col_scale (a linear's per-output-channel weight scales)
 * are applied by one epilogue kernel after an unscaled GEMM into f32 D, as
 * torch._scaled_mm does for row-wise scaling where cuBLASLt has no mode
 * for it (CUDA.md §1.7): c = D * sa[m] * sw[n] + bias, one rounding into
 * c. The row-major c makes cuBLASLt's A our b (column-major [K, N], i.e. a
 * linear weight w [N, K] seen through its transposed view) with op T and B
 * our a with op N: the TN layout that sm_89/90 require (CUDA.md §1.1); any
 * other mapping is left to the staged path. *done false: nothing was
 * queued and the caller stages instead (also when cuBLASLt has no FP8
 * algorithm for the problem).
 */
static int fp8_direct(struct cuda_ctx *ctx, const struct pictor_op_args *args, bool *done,
                      char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    pictor_tensor *c = args->u.matmul.c;
    float alpha = args->u.matmul.alpha * a->scale * b->scale;
    const float *col_scale = args->u.matmul.col_scale;
    bool scaled = a->row_scale || col_scale;
    const void *bias_ptr = NULL;
    struct gemm_plan *plan;
    struct gemm_call g;
    struct gemm_key key;
    int rc = PICTOR_OK;

    *done = false;
    if (!fp8_direct_ok(ctx, a, b, c))
        return PICTOR_OK;
    memset(&g, 0, sizeof g);
    g.a.t = *a;
    g.b.t = *b;
    /* With row/column scales D is f32 (c itself when f32, else scratch). */
    if ((rc = prep_output(ctx, c, scaled ? PICTOR_F32 : c->dtype, &g.d, &g.copy_back, err,
                          errlen)))
        goto out;
    gemm_lt_map(&g.a.t, &g.b.t, &g.d.t, &g.lt);
    if (!g.lt.swapped || g.lt.op_a != GEMM_OP_T || g.lt.op_b != GEMM_OP_N ||
        g.lt.batch > INT32_MAX)
        goto out; /* not TN: staged path */
    g.A = g.b.t.data;
    g.B = g.a.t.data;
    if (!scaled && bias && (rc = prep_bias(ctx, bias, &g, &bias_ptr, err, errlen)))
        goto out;
    /* With f32 D the FP8 kernels' default bias type is not D's
     * (cublasLt.h BIAS_DATA_TYPE, CUDA.md §1.2): the add kernel adds it. */
    if (g.d.t.dtype == PICTOR_F32)
        bias_ptr = NULL;
    make_key(&g, bias_ptr, &key);
    if ((rc = lt_plan_get(l, &key, bias_ptr, &plan, err, errlen))) {
        if (rc == PICTOR_E_UNSUPPORTED) { /* no FP8 algorithm: stage */
            rc = PICTOR_OK;
            if (errlen)
                err[0] = '\0';
        }
        goto out;
    }
    *done = true; /* from here on a failure is the call's */
    l->stats.matmul_calls++;
    if ((rc = run_batches(ctx, plan, &g, alpha, bias_ptr, err, errlen)))
        goto out;
    if (scaled)
        rc = cuda_matmul_scale_epilogue(ctx, &g.d.t, a->row_scale, col_scale, bias,
                                        act_of(args), c, err, errlen);
    else if (!(rc = finish(ctx, plan, &g, bias_ptr, c, err, errlen)))
        rc = apply_act(ctx, args, c, err, errlen);
out:
    release(ctx, &g);
    return rc;
}

int cuda_op_matmul(void *vctx, const struct pictor_op_args *args, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    const float *col_scale = args->u.matmul.col_scale;
    pictor_tensor *c = args->u.matmul.c;
    int in_dtype = gemm_dtype(a->dtype, b->dtype);
    const void *bias_ptr = NULL;
    struct gemm_plan *plan;
    struct gemm_call g;
    struct gemm_key key;
    int rc;

    if (pictor_tensor_numel(c) == 0)
        return PICTOR_OK;
    if (!l->lt_handle) {
        snprintf(err, errlen, "matmul: cuBLASLt unusable: %s", l->lt_error);
        return PICTOR_E_UNSUPPORTED;
    }
    if (a->shape[a->ndim - 1] == 0) {
        l->stats.matmul_calls++;
        if ((rc = zero_k(ctx, bias, c, err, errlen)))
            return rc;
        return apply_act(ctx, args, c, err, errlen);
    }
    {
        bool done;

        if ((rc = fp8_direct(ctx, args, &done, err, errlen)) || done)
            return rc;
    }
    l->stats.matmul_calls++;

    memset(&g, 0, sizeof g);
    if ((rc = prep_input(ctx, a, in_dtype, "matmul a", &g.a, err, errlen)) ||
        (rc = prep_input(ctx, b, in_dtype, "matmul b", &g.b, err, errlen)) ||
        (rc = prep_output(ctx, c, col_scale ? PICTOR_F32 : in_dtype, &g.d, &g.copy_back, err,
                          errlen)))
        goto out;
    gemm_lt_map(&g.a.t, &g.b.t, &g.d.t, &g.lt);
    if (g.lt.batch > INT32_MAX) {
        snprintf(err, errlen, "matmul: batch of %lld exceeds cuBLASLt's int32 batch count",
                 (long long)g.lt.batch);
        rc = PICTOR_E_UNSUPPORTED;
        goto out;
    }
    g.A = g.lt.swapped ? g.b.t.data : g.a.t.data;
    g.B = g.lt.swapped ? g.a.t.data : g.b.t.data;
    /* With col_scale the bias comes after the scaling: the epilogue kernel. */
    if (!col_scale && bias && (rc = prep_bias(ctx, bias, &g, &bias_ptr, err, errlen)))
        goto out;

    make_key(&g, bias_ptr, &key);
    if ((rc = lt_plan_get(l, &key, bias_ptr, &plan, err, errlen)) ||
        (rc = run_batches(ctx, plan, &g, args->u.matmul.alpha, bias_ptr, err, errlen)))
        goto out;
    if (col_scale)
        rc = cuda_matmul_scale_epilogue(ctx, &g.d.t, NULL, col_scale, bias, act_of(args), c,
                                        err, errlen);
    else if (!(rc = finish(ctx, plan, &g, bias_ptr, c, err, errlen)))
        rc = apply_act(ctx, args, c, err, errlen);
out:
    release(ctx, &g);
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
