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
 * (op_matmul_fp8.c): a's per-row (token) scales and the col_scale
 * (output channels) are applied by cuBLASLt itself (OUTER_VEC_32F on
 * sm_90) or by one epilogue kernel after an f32 D, as fp8_route.h
 * decides. Every other FP8 a or b (E5M2, a 16/32-bit partner, b's
 * row_scale along K, sm_80/86, other layouts) is dequantised by the copy
 * kernel into scratch of the GEMM dtype (gemm_dtype) and multiplied by the
 * ordinary path: correct everywhere, not fast (one read of the FP8 operand
 * and one 16-bit write on top of the GEMM); a col_scale is then applied
 * by the epilogue kernel.
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
 * Activation (pictor_linear_act). A tanh-GELU into a 16-bit D rides the
 * epilogue too (GELU_BIAS: after the bias, before the one rounding) when
 * the bias does or there is none; otherwise, or when no algorithm offers
 * it, the unary kernel applies the activation to c afterwards.
 *
 * Gate (pictor_linear_gated: c f32 += gate * result). The GEMM writes f32
 * scratch, never c, and the epilogue kernel does the rest (scales, bias,
 * activation, c += gate * v) in one pass: every dtype and layout, bf16
 * matmuls included (none of the models gates one today: FLUX gates only
 * its FP8 linears). FP8 linears may instead fold the gate into cuBLASLt's
 * OUTER_VEC call (op_matmul_fp8.c, fp8_route.h).
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

#include "op_matmul_internal.h"
#include "pictor/tensor_util.h"

_Static_assert(CUBLAS_OP_N == GEMM_OP_N && CUBLAS_OP_T == GEMM_OP_T,
               "gemm_map.h's op values are cublasOperation_t's");

static bool is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

/* Every dtype combination runs (FP8 operands staged, see the header),
 * except an FP8 gate whose row scales no longer follow c's rows once
 * broadcast (the epilogue kernel's view drops them; no model does this). */
bool cuda_matmul_supports(const struct pictor_op_args *args)
{
    const pictor_tensor *g = args->u.matmul.gate, *c = args->u.matmul.c;

    return !g || !g->row_scale || !is_fp8(g->dtype) ||
           (g->ndim == c->ndim && (g->ndim == 0 || g->shape[0] == c->shape[0]));
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

/* K == 0 with a gate: c += gate * act(bias or 0), through a zeroed f32 D
 * and the epilogue kernel. */
static int zero_k_gated(struct cuda_ctx *ctx, const struct pictor_op_args *args, char *err,
                        size_t errlen)
{
    struct pictor_op_args f = { .op = PICTOR_OP_FILL };
    struct gemm_call g;
    int rc;

    memset(&g, 0, sizeof g);
    if ((rc = matmul_prep_output(ctx, args->u.matmul.c, PICTOR_F32, true, &g.d, &g.copy_back,
                                 err, errlen)))
        goto out;
    f.u.fill.value = 0.0f;
    f.u.fill.y = &g.d.t;
    if ((rc = cuda_op_fill(ctx, &f, err, errlen)))
        goto out;
    rc = matmul_complete(ctx, NULL, &g, NULL, NULL, NULL, args, err, errlen);
out:
    matmul_release(ctx, &g);
    return rc;
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

int matmul_prep_output(struct cuda_ctx *ctx, pictor_tensor *c, int in_dtype, bool read_c,
                       struct gemm_opnd *o, bool *copy_back, char *err, size_t errlen)
{
    size_t bytes = (size_t)pictor_tensor_numel(c) * sizeof(float);
    int rc;

    o->t = *c;
    *copy_back = false;
    if (!read_c && (c->dtype == in_dtype || c->dtype == PICTOR_F32) && gemm_lt_describable(c))
        return PICTOR_OK;
    if ((rc = cuda_scratch_alloc(ctx, bytes, "matmul output", &o->owned, err, errlen)))
        return rc;
    o->t = pictor_tensor_make(o->owned, PICTOR_F32, c->ndim, c->shape);
    o->t.device = PICTOR_DEVICE_CUDA;
    o->t.device_index = c->device_index;
    *copy_back = !read_c;
    if (!read_c) /* a gated call's D is its working buffer, not a stage */
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

void matmul_make_key(const struct gemm_call *g, const void *bias_ptr, struct gemm_key *k)
{
    const struct gemm_lt *lt = &g->lt;
    size_t es = pictor_dtype_size(g->a.t.dtype), esd = pictor_dtype_size(g->d.t.dtype);

    memset(k, 0, sizeof *k);
    k->type_ab = lt_type(g->a.t.dtype);
    k->type_d = lt_type(g->d.t.dtype);
    k->op_a = lt->op_a;
    k->op_b = lt->op_b;
    k->epilogue = bias_ptr ? (int32_t)GEMM_EPI_BIAS : 0;
    k->scale_mode = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
    k->bias_type = -1; /* D's type */
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

int matmul_run_batches(struct cuda_ctx *ctx, struct gemm_plan *p, const struct gemm_call *g,
                       float alpha, const void *bias_ptr, char *err, size_t errlen)
{
    size_t es = pictor_dtype_size(g->a.t.dtype), esd = pictor_dtype_size(g->d.t.dtype);
    int64_t outer = gemm_lt_outer_count(&g->lt);
    struct gemm_ptrs ptrs = { .bias = bias_ptr };
    int rc;

    for (int64_t t = 0; t < outer; t++) {
        int64_t oa, ob, od;

        gemm_lt_outer_offsets(&g->lt, t, &oa, &ob, &od);
        if ((rc = lt_plan_run(ctx, p, alpha, (const char *)g->A + oa * (int64_t)es,
                              (const char *)g->B + ob * (int64_t)es,
                              (char *)g->d.t.data + od * (int64_t)esd, &ptrs, err,
                              errlen)))
            return rc;
    }
    return PICTOR_OK;
}

void matmul_release(struct cuda_ctx *ctx, struct gemm_call *g)
{
    cuda_scratch_free(ctx, g->a.owned);
    cuda_scratch_free(ctx, g->b.owned);
    cuda_scratch_free(ctx, g->d.owned);
    cuda_scratch_free(ctx, g->bias.owned);
}

/* An FP8 bias added by the binary-add kernel is widened first: that
 * kernel drops a broadcast operand's row_scale. */
int matmul_prep_bias(struct cuda_ctx *ctx, const pictor_tensor *bias, struct gemm_call *g,
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

int matmul_finish(struct cuda_ctx *ctx, const struct gemm_plan *plan, struct gemm_call *g,
                  const void *bias_ptr, pictor_tensor *c, char *err, size_t errlen)
{
    int rc;

    if (g->has_bias) {
        if (bias_ptr && (plan->epilogue & GEMM_EPI_BIAS))
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

int matmul_act_of(const struct pictor_op_args *args)
{
    return args->u.matmul.has_act ? (int)args->u.matmul.act : -1;
}

int matmul_complete(struct cuda_ctx *ctx, const struct gemm_plan *p, struct gemm_call *g,
                    const void *bias_ptr, const float *row_scale, const float *col_scale,
                    const struct pictor_op_args *args, char *err, size_t errlen)
{
    pictor_tensor *c = args->u.matmul.c;
    const pictor_tensor *gate = args->u.matmul.gate;
    int rc;

    if (row_scale || col_scale || gate) {
        if (row_scale || col_scale)
            ctx->libs->stats.matmul_fp8_epilogue++;
        if (gate)
            ctx->libs->stats.matmul_gate_epilogue++;
        return cuda_matmul_scale_epilogue(ctx, &g->d.t, row_scale, col_scale,
                                          args->u.matmul.bias, matmul_act_of(args), gate, c,
                                          err, errlen);
    }
    if ((rc = matmul_finish(ctx, p, g, bias_ptr, c, err, errlen)))
        return rc;
    if (p && (p->epilogue & GEMM_EPI_GELU)) { /* asked for by cuda_op_matmul */
        ctx->libs->stats.matmul_act_epilogue++;
        return PICTOR_OK;
    }
    return matmul_apply_act(ctx, args, c, err, errlen);
}

/* A 16-bit c rounded twice: within the f16/bf16 tolerance. */
int matmul_apply_act(struct cuda_ctx *ctx, const struct pictor_op_args *args, pictor_tensor *c,
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

int cuda_op_matmul(void *vctx, const struct pictor_op_args *args, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    const float *col_scale = args->u.matmul.col_scale;
    pictor_tensor *c = args->u.matmul.c;
    const bool gated = args->u.matmul.gate != NULL;
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
        if (gated)
            return zero_k_gated(ctx, args, err, errlen);
        if ((rc = zero_k(ctx, bias, c, err, errlen)))
            return rc;
        return matmul_apply_act(ctx, args, c, err, errlen);
    }
    {
        bool done;

        if ((rc = cuda_matmul_fp8_direct(ctx, args, &done, err, errlen)) || done)
            return rc;
    }
    l->stats.matmul_calls++;

    memset(&g, 0, sizeof g);
    if ((rc = prep_input(ctx, a, in_dtype, "matmul a", &g.a, err, errlen)) ||
        (rc = prep_input(ctx, b, in_dtype, "matmul b", &g.b, err, errlen)) ||
        (rc = matmul_prep_output(ctx, c, col_scale || gated ? PICTOR_F32 : in_dtype, gated,
                                 &g.d, &g.copy_back, err, errlen)))
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
    /* With col_scale the bias comes after the scaling, with a gate before
     * it: the epilogue kernel. */
    if (!col_scale && !gated && bias &&
        (rc = matmul_prep_bias(ctx, bias, &g, &bias_ptr, err, errlen)))
        goto out;

    matmul_make_key(&g, bias_ptr, &key);
    /* A tanh-GELU rides cuBLASLt's epilogue on a 16-bit D (on the f32
     * value, before its one rounding, as the CPU does) when the bias, if
     * any, does too: it must come after the bias. An f32 D keeps the unary
     * kernel's IEEE tanhf (the f32 cross tests' 1e-5). Without an algorithm for it
     * the plan falls back to the bias alone (lt_plan.h) and the unary
     * kernel applies it, as before: FLUX's bf16 MLP-in then costs a
     * second pass over [tokens, 12288] (a slow strided one in the single
     * blocks, whose output is a column slice). */
    if (args->u.matmul.has_act && args->u.matmul.act == PICTOR_UNARY_GELU_TANH && !col_scale &&
        !gated && (!bias || bias_ptr) &&
        (g.d.t.dtype == PICTOR_BF16 || g.d.t.dtype == PICTOR_F16))
        key.epilogue |= (int32_t)GEMM_EPI_GELU;
    if ((rc = lt_plan_get(l, &key, &(struct gemm_ptrs){ .bias = bias_ptr }, &plan, err,
                          errlen)) ||
        (rc = matmul_run_batches(ctx, plan, &g, args->u.matmul.alpha, bias_ptr, err, errlen)))
        goto out;
    rc = matmul_complete(ctx, plan, &g, bias_ptr, NULL, col_scale, args, err, errlen);
out:
    matmul_release(ctx, &g);
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
