/*
 * kernels/cuda/op_matmul_fp8.c — the CUDA matmul with E4M3 a and b fed to
 * cuBLASLt as codes (cuda_matmul_fp8_direct, op_matmul_internal.h): a an
 * activation quantised per token (row_scale), b a linear weight's
 * transposed view with its per-output-channel scales as col_scale.
 *
 * Operand mapping (gemm_map.h with a row-major c; anything else is left
 * to the staged path). cuBLASLt computes D [m, n] = op(A) op(B) column-
 * major, so the row-major c [M, N] is D with m = N, n = M ("swapped"):
 *   cuBLASLt A = our b = w^T [K, N] of the weight w [N, K] (row-major):
 *                stored K x N column-major, ld K, op T -> op(A) [N, K];
 *   cuBLASLt B = our a = x [M, K] (row-major): stored K x M column-major,
 *                ld K, op N -> op(B) [K, M];
 *   D          = c: N x M column-major, ld = c's row stride.
 * That is the TN layout FP8 GEMMs require on sm_89/90 (CUDA.md §1.1).
 * Hence, with OUTER_VEC_32F (a vector of m values for A, n for B; D[i, j]
 * scaled by scale_A[i] * scale_B[j], cublasLt.h), A's scale vector is our
 * col_scale (N output channels) and B's is our a's row_scale (M tokens):
 * the names cross, as the scale pointers do in torch's ScaledBlas (CUDA.md
 * §1.7). The bias [N] runs along m, D's rows: the BIAS epilogue's vector.
 *
 * Which route applies the scales is fp8_route.h's decision; the
 * per-tensor scales a->scale and b->scale fold into alpha (an f32 host
 * scalar) on both routes. A gated call (c f32 += gate * result) on the
 * OUTER_VEC route runs with A's scales col_scale ⊙ gate, the bias gate ⊙
 * bias (bf16) and C = D = c, beta 1 (fp8_route.h); when cuBLASLt has no
 * such algorithm (or the gate varies by row) the product takes the
 * OUTER_VEC route into bf16 scratch and the gated-add kernel follows; on
 * the epilogue route the GEMM writes f32 scratch and the kernel
 * accumulates into c.
 * Built only with CUDA. Thread: the backend's worker thread.
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fp8_route.h"
#include "op_matmul_gemv.h"
#include "op_matmul_internal.h"
#include "pictor/tensor_util.h"

/* ---- which calls go to cuBLASLt as FP8 codes ------------------------ */

/* Oldest compute capability (major * 10 + minor) with FP8 tensor-core
 * GEMMs in cuBLASLt (CUDA.md §1.2: FP8 GEMM exists on 8.9+). */
#define FP8_GEMM_MIN_SM 89
/* cuBLASLt's FP8 alignment rule: K and N multiples of 16 (CUDA.md §1.1,
 * as torch._scaled_mm checks). */
#define FP8_GEMM_DIM_ALIGN 16

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
           ctx->sm >= FP8_GEMM_MIN_SM;
}

/* ---- the scales applied by cuBLASLt (OUTER_VEC_32F, sm_90) ---------- */

/* Whether every row of c takes the same gate row: the gate's dims other
 * than the last are all 1 (so it broadcasts as one [N] or [1] vector). */
static bool gate_uniform(const pictor_tensor *gate)
{
    if (gate->row_scale && (gate->dtype == PICTOR_F8_E4M3 || gate->dtype == PICTOR_F8_E5M2))
        return false; /* per-row FP8 scales: the epilogue kernel's view */
    for (int d = 0; d + 1 < gate->ndim; d++)
        if (gate->shape[d] != 1)
            return false;
    return true;
}

/* The gate of a uniform-gate call as the 1-D [N] (or [1]) vector. */
static pictor_tensor gate_row(const pictor_tensor *gate)
{
    pictor_tensor v = *gate;

    v.ndim = 1;
    v.shape[0] = gate->ndim ? gate->shape[gate->ndim - 1] : 1;
    v.stride[0] = gate->ndim ? gate->stride[gate->ndim - 1] : 0;
    return v;
}

/* The route of a call fp8_direct_ok accepted (fp8_route.h). */
static void fp8_pick(const struct cuda_ctx *ctx, const struct pictor_op_args *args,
                     struct fp8_route *r)
{
    const pictor_tensor *bias = args->u.matmul.bias, *gate = args->u.matmul.gate;
    struct fp8_route_in in = {
        .mode = ctx->libs->fp8_scaling,
        .sm = ctx->sm,
        .lt_version = ctx->libs->lt_version,
        .row_scale = args->u.matmul.a->row_scale,
        .col_scale = args->u.matmul.col_scale,
        .act = matmul_act_of(args),
        .y_dtype = args->u.matmul.c->dtype,
        .has_bias = bias != NULL,
        .bias_dtype = bias ? bias->dtype : PICTOR_F32,
        .bias_len = bias ? bias->shape[0] : 0,
        .bias_stride = bias ? bias->stride[0] : 0,
        .gated = gate != NULL,
        .gate_uniform = gate && gate_uniform(gate),
    };

    fp8_route_pick(&in, r);
}

/* Byte offset of the folded bias in a gated call's fold scratch (after
 * the [N] f32 scales, at the alignment cudaMallocAsync gives the start). */
#define FOLD_ALIGN 256
static size_t fold_bias_offset(int64_t N)
{
    return ((size_t)N * sizeof(float) + FOLD_ALIGN - 1) / FOLD_ALIGN * FOLD_ALIGN;
}

/* A gated call's operands for cuBLASLt (r->accumulate): stream-ordered
 * scratch *fold holding A's scales col_scale ⊙ gate [N] f32 and, with a
 * bias, gate ⊙ bias [N] in r->bias_dtype; ptrs pointed at them. The fold
 * kernel is queued only by fold_run, once cuBLASLt has a plan. */
static int fold_alloc(struct cuda_ctx *ctx, const struct pictor_op_args *args,
                      const struct fp8_route *r, void **fold, pictor_tensor *bias_out,
                      struct gemm_ptrs *ptrs, char *err, size_t errlen)
{
    const pictor_tensor *c = args->u.matmul.c;
    int64_t N = c->shape[c->ndim - 1];
    size_t off = fold_bias_offset(N);
    int rc;

    if ((rc = cuda_scratch_alloc(ctx, off + (size_t)N * pictor_dtype_size(r->bias_dtype),
                                 "gated matmul scales", fold, err, errlen)))
        return rc;
    ptrs->scale_a = *fold;
    if (args->u.matmul.bias) {
        *bias_out = pictor_tensor_make((char *)*fold + off, r->bias_dtype, 1, &N);
        bias_out->device = PICTOR_DEVICE_CUDA;
        bias_out->device_index = c->device_index;
        ptrs->bias = bias_out->data;
    }
    return PICTOR_OK;
}

static int fold_run(struct cuda_ctx *ctx, const struct pictor_op_args *args, void *fold,
                    pictor_tensor *bias_out, char *err, size_t errlen)
{
    const pictor_tensor *c = args->u.matmul.c, *bias = args->u.matmul.bias;
    pictor_tensor gv = gate_row(args->u.matmul.gate);

    return cuda_matmul_gate_fold(ctx, args->u.matmul.col_scale, &gv, bias,
                                 c->shape[c->ndim - 1], fold, bias ? bias_out : NULL, err,
                                 errlen);
}

/*
 * c[i, j] = act(alpha * row_scale[i] * col_scale[j] * (a @ b)[i, j] +
 * bias[j]) in one cuBLASLt call on route r (r->outer_vec): D is c in its
 * own dtype (one rounding from f32), the bias and a tanh-GELU in cuBLASLt's
 * epilogue (r->epilogue) with BIAS_DATA_TYPE r->bias_dtype. When the
 * plan's algorithms lack the GELU (lt_plan.h: the epilogue falls back to
 * the bias alone) the unary kernel applies it in place on c. A gated call
 * (r->accumulate) adds gate[j] times that to the f32 c instead: C = D =
 * c with beta 1, the gate folded into col_scale and the bias. *done false:
 * cuBLASLt has no algorithm for the problem in this mode (a verdict the
 * plan cache keeps), or the mapping is not one TN GEMM; the caller then
 * takes the epilogue route.
 */
static int fp8_outer_vec(struct cuda_ctx *ctx, const struct pictor_op_args *args,
                         const struct fp8_route *r, bool *done, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    pictor_tensor *c = args->u.matmul.c, bias_out = { 0 };
    float alpha = args->u.matmul.alpha * a->scale * b->scale;
    /* cuBLASLt's A is our b (scale per output channel, its m = N) and its
     * B our a (scale per token, its n = M): see the top of this file. */
    struct gemm_ptrs ptrs = {
        .bias = bias ? bias->data : NULL,
        .scale_a = args->u.matmul.col_scale,
        .scale_b = a->row_scale,
    };
    struct gemm_plan *plan;
    struct gemm_call g;
    struct gemm_key key;
    void *fold = NULL;
    int rc;

    *done = false;
    memset(&g, 0, sizeof g);
    g.a.t = *a;
    g.b.t = *b;
    g.d.t = *c; /* describable: fp8_direct_ok */
    gemm_lt_map(&g.a.t, &g.b.t, &g.d.t, &g.lt);
    if (!g.lt.swapped || g.lt.op_a != GEMM_OP_T || g.lt.op_b != GEMM_OP_N || g.lt.batch != 1 ||
        g.lt.n_outer != 0)
        return PICTOR_OK;
    g.A = b->data;
    g.B = a->data;
    if (r->accumulate && (rc = fold_alloc(ctx, args, r, &fold, &bias_out, &ptrs, err, errlen)))
        return rc;
    matmul_make_key(&g, ptrs.bias, &key);
    key.epilogue = (int32_t)r->epilogue;
    key.scale_mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    key.bias_type = bias ? (int32_t)lt_type(r->bias_dtype) : -1;
    key.accumulate = r->accumulate;
    rc = lt_plan_get(l, &key, &ptrs, &plan, err, errlen);
    if (rc == PICTOR_E_UNSUPPORTED) { /* no algorithm in this mode */
        if (errlen)
            err[0] = '\0';
        rc = PICTOR_OK;
        goto out;
    }
    if (rc)
        goto out;
    *done = true; /* from here on a failure is the call's */
    l->stats.matmul_calls++;
    l->stats.matmul_fp8_outer_vec++;
    if (r->accumulate) {
        l->stats.matmul_gate_outer_vec++;
        if ((rc = fold_run(ctx, args, fold, &bias_out, err, errlen)))
            goto out;
    }
    if ((rc = lt_plan_run(ctx, plan, alpha, g.A, g.B, c->data, &ptrs, err, errlen)))
        goto out;
    if (plan->epilogue & GEMM_EPI_BIAS) /* always, with a bias (lt_plan.h) */
        l->stats.matmul_bias_epilogue++;
    if (plan->epilogue & GEMM_EPI_GELU)
        l->stats.matmul_act_epilogue++;
    else /* never with a gate (fp8_route.h: no activation then) */
        rc = matmul_apply_act(ctx, args, c, err, errlen);
out:
    cuda_scratch_free(ctx, fold);
    return rc;
}

/* ---- the scales applied by the epilogue kernel ------------------------ */

/*
 * The epilogue route: an unscaled GEMM into f32 D, then a's per-row scales
 * (tokens) and the col_scale (a linear's per-output-channel weight scales)
 * applied by one epilogue kernel, as torch._scaled_mm does for row-wise
 * scaling where cuBLASLt has no mode for it (CUDA.md §1.7): c = act(D *
 * sa[m] * sw[n] + bias), one rounding into c. With a gate D is always
 * f32 scratch and the kernel does c += gate * that. Without scales or a
 * gate D is c (or scratch of the GEMM's choice) and the bias rides the
 * epilogue as on the ordinary path. *done as cuda_matmul_fp8_direct's.
 */
static int fp8_scale_kernel(struct cuda_ctx *ctx, const struct pictor_op_args *args, bool *done,
                            char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    pictor_tensor *c = args->u.matmul.c;
    float alpha = args->u.matmul.alpha * a->scale * b->scale;
    const float *col_scale = args->u.matmul.col_scale;
    const bool gated = args->u.matmul.gate != NULL;
    bool kernel = a->row_scale || col_scale || gated; /* the epilogue kernel ends it */
    const void *bias_ptr = NULL;
    struct gemm_plan *plan;
    struct gemm_call g;
    struct gemm_key key;
    int rc = PICTOR_OK;

    *done = false;
    memset(&g, 0, sizeof g);
    g.a.t = *a;
    g.b.t = *b;
    /* With row/column scales D is f32 (c itself when f32 and not gated,
     * else scratch). */
    if ((rc = matmul_prep_output(ctx, c, kernel ? PICTOR_F32 : c->dtype, gated, &g.d,
                                 &g.copy_back, err, errlen)))
        goto out;
    gemm_lt_map(&g.a.t, &g.b.t, &g.d.t, &g.lt);
    if (!g.lt.swapped || g.lt.op_a != GEMM_OP_T || g.lt.op_b != GEMM_OP_N ||
        g.lt.batch > INT32_MAX)
        goto out; /* not TN: staged path */
    g.A = g.b.t.data;
    g.B = g.a.t.data;
    if (!kernel && bias && (rc = matmul_prep_bias(ctx, bias, &g, &bias_ptr, err, errlen)))
        goto out;
    /* With f32 D the FP8 kernels' default bias type is not D's
     * (cublasLt.h BIAS_DATA_TYPE, CUDA.md §1.2): the add kernel adds it. */
    if (g.d.t.dtype == PICTOR_F32)
        bias_ptr = NULL;
    matmul_make_key(&g, bias_ptr, &key);
    if ((rc = lt_plan_get(l, &key, &(struct gemm_ptrs){ .bias = bias_ptr }, &plan, err,
                          errlen))) {
        if (rc == PICTOR_E_UNSUPPORTED) { /* no FP8 algorithm: stage */
            rc = PICTOR_OK;
            if (errlen)
                err[0] = '\0';
        }
        goto out;
    }
    *done = true; /* from here on a failure is the call's */
    l->stats.matmul_calls++;
    if ((rc = matmul_run_batches(ctx, plan, &g, alpha, bias_ptr, err, errlen)))
        goto out;
    rc = matmul_complete(ctx, plan, &g, bias_ptr, a->row_scale, col_scale, args, err, errlen);
out:
    matmul_release(ctx, &g);
    return rc;
}

/*
 * A gated call cuBLASLt could not accumulate (no algorithm with f32 C = D
 * and beta 1, or a gate that varies by row) on a GPU whose FP8 GEMMs take
 * the OUTER_VEC route: the product on that route into bf16 scratch, then
 * the gated-add kernel. That is the unfused layer's memory traffic (a bf16
 * y written and read), less than the epilogue route's f32 D. *done false
 * when the ungated call has no OUTER_VEC algorithm either.
 */
static int fp8_outer_vec_then_add(struct cuda_ctx *ctx, const struct pictor_op_args *args,
                                  bool *done, char *err, size_t errlen)
{
    pictor_tensor *c = args->u.matmul.c;
    struct pictor_op_args u = *args, ga;
    pictor_tensor y = pictor_tensor_make(NULL, PICTOR_BF16, c->ndim, c->shape);
    struct fp8_route r;
    void *buf = NULL;
    int rc;

    *done = false;
    y.device = c->device;
    y.device_index = c->device_index;
    u.u.matmul.gate = NULL;
    u.u.matmul.c = &y;
    fp8_pick(ctx, &u, &r);
    if (!r.outer_vec)
        return PICTOR_OK;
    if ((rc = cuda_scratch_alloc(ctx, pictor_tensor_nbytes(&y), "gated matmul product", &buf,
                                 err, errlen)))
        return rc;
    y.data = buf;
    rc = fp8_outer_vec(ctx, &u, &r, done, err, errlen);
    if (!rc && *done) {
        memset(&ga, 0, sizeof ga);
        ga.op = PICTOR_OP_GATED_ADD;
        ga.u.gated_add.x = c;
        ga.u.gated_add.y = &y;
        ga.u.gated_add.gate = args->u.matmul.gate;
        if (!(rc = cuda_op_gated_add(ctx, &ga, err, errlen)))
            ctx->libs->stats.matmul_gate_unfused++;
    }
    cuda_scratch_free(ctx, buf); /* stream-ordered: after the add */
    return rc;
}

int cuda_matmul_fp8_direct(struct cuda_ctx *ctx, const struct pictor_op_args *args, bool *done,
                           char *err, size_t errlen)
{
    const pictor_tensor *a = args->u.matmul.a;
    struct fp8_route r;
    int rc, pieces;

    *done = false;
    if (!fp8_direct_ok(ctx, a, args->u.matmul.b, args->u.matmul.c))
        return PICTOR_OK;
    if ((pieces = cuda_gemv_fp8_pieces(args)) > 0) { /* one row: the own GEMV kernel */
        *done = true;
        ctx->libs->stats.matmul_calls++;
        ctx->libs->stats.matmul_gemv++;
        return cuda_gemv_fp8_launch(ctx, args, pieces, err, errlen);
    }
    if (a->row_scale || args->u.matmul.col_scale) {
        fp8_pick(ctx, args, &r);
        if (r.outer_vec && ((rc = fp8_outer_vec(ctx, args, &r, done, err, errlen)) || *done))
            return rc;
        if (args->u.matmul.gate &&
            ((rc = fp8_outer_vec_then_add(ctx, args, done, err, errlen)) || *done))
            return rc;
    }
    return fp8_scale_kernel(ctx, args, done, err, errlen);
}

#endif /* PICTOR_HAVE_CUDA */
