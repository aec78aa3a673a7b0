/*
 * kernels/cpu/op_matmul.c — c = alpha * a @ b + bias on the CPU: batch dims
 * broadcast NumPy-style, any strides (a transposed operand is just a
 * strided view), any float dtypes. Non-f32 operands are converted once to
 * f32 (cpu_f32_view_make, FP8 scales applied); the product runs on the
 * blocked GEMM core (gemm.c) with f32 accumulation; a col_scale (a linear's
 * per-output-channel FP8 weight scales) multiplies each column of the f32
 * product before the bias is added, and an activation (has_act) comes
 * last, still in f32. A c that is not f32
 * with unit column stride is computed into a contiguous f32 buffer and
 * scattered (rounded) afterwards. With a gate (pictor_linear_gated) the
 * product always goes to that buffer, and c (f32) accumulates it:
 * c += gate * v, the very operations of pictor_gated_add (op_fused.c) on
 * an f32 y, so the fused op equals that composition bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_gemm.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

/* Matrix dims (M, K / K, N / M, N) are the last two; the rest are batch. */
#define MAT_DIMS 2
#define MAX_BATCH_DIMS (PICTOR_MAX_DIMS - MAT_DIMS)

struct matmul_job {
    int nb;                      /* batch dims of c */
    int64_t bshape[MAX_BATCH_DIMS];
    /* Batch strides aligned to c's batch dims (0 = broadcast). */
    int64_t bs_a[MAX_BATCH_DIMS], bs_b[MAX_BATCH_DIMS];
    int64_t bs_c[MAX_BATCH_DIMS];
    struct cpu_mat a, b; /* item 0's matrices */
    float *c;
};

/* Element offsets of batch item t in a, b and c. */
static void batch_offsets(const struct matmul_job *j, int64_t t,
                          int64_t *oa, int64_t *ob, int64_t *oc)
{
    *oa = *ob = *oc = 0;
    for (int d = j->nb - 1; d >= 0; d--) {
        int64_t i = t % j->bshape[d];

        t /= j->bshape[d];
        *oa += i * j->bs_a[d];
        *ob += i * j->bs_b[d];
        *oc += i * j->bs_c[d];
    }
}

static void pack_a(const void *ctx, int64_t t, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, float *dst)
{
    const struct matmul_job *j = ctx;
    int64_t oa, ob, oc;
    struct cpu_mat m = j->a;

    batch_offsets(j, t, &oa, &ob, &oc);
    m.p += oa;
    cpu_gemm_pack_a_mat(&m, i0, mc, k0, kc, dst);
}

static void pack_b(const void *ctx, int64_t t, int64_t k0, int64_t kc,
                   int64_t j0, int64_t nc, float *dst)
{
    const struct matmul_job *j = ctx;
    int64_t oa, ob, oc;
    struct cpu_mat m = j->b;

    batch_offsets(j, t, &oa, &ob, &oc);
    m.p += ob;
    cpu_gemm_pack_b_mat(&m, k0, kc, j0, nc, dst);
}

/* The epilogue over the f32 product (every batch item, rows of g->ldc):
 * with col_scale c = c * col_scale[n] + bias[n] (the GEMM added no bias),
 * then the activation when args ask for one. */
static void epilogue(const struct matmul_job *j, const struct cpu_gemm *g,
                     const struct pictor_op_args *args, const float *bias)
{
    const float *col_scale = args->u.matmul.col_scale;

    for (int64_t t = 0; t < g->batch; t++) {
        int64_t oa, ob, oc;

        batch_offsets(j, t, &oa, &ob, &oc);
        for (int64_t i = 0; i < g->M; i++) {
            float *row = j->c + oc + i * g->ldc;

            if (col_scale)
                for (int64_t n = 0; n < g->N; n++)
                    row[n] = row[n] * col_scale[n] + (bias ? bias[n] : 0.0f);
            if (args->u.matmul.has_act)
                cpu_unary_apply(args->u.matmul.act, row, row, g->N);
        }
    }
}

/* c += gate * v: v contiguous f32 in c's flat order, the gate gathered
 * into contiguous f32 g and addressed through its strides along c's dims
 * (0 where it repeats). */
struct gate_job {
    pictor_tensor *c;
    const float *v, *g;
    int64_t gs[PICTOR_MAX_DIMS];
};

static void gate_chunk(void *arg, int64_t begin, int64_t end)
{
    const struct gate_job *j = arg;
    const pictor_tensor *c = j->c;
    int64_t len = cpu_row_len(c), step = j->gs[c->ndim - 1], cnt;
    float buf[CPU_BLOCK];

    for (int64_t i = begin; i < end; i += cnt) {
        int64_t off = 0, rem = i;

        for (int d = c->ndim - 1; d >= 0 && rem > 0; d--) {
            off += (rem % c->shape[d]) * j->gs[d];
            rem /= c->shape[d];
        }
        cnt = cpu_seg_len(len, i, end);
        cpu_load_seg(c, i, cnt, buf);
        for (int64_t k = 0; k < cnt; k++) {
            float gv = j->g[off + k * step] * j->v[i + k];

            buf[k] += gv;
        }
        cpu_store_seg(j->c, i, cnt, buf, false);
    }
}

static int gate_accumulate(struct cpu_ctx *ctx, pictor_tensor *c, const pictor_tensor *gate,
                           const float *v)
{
    struct gate_job j = { .c = c, .v = v };
    int lead = c->ndim - gate->ndim;
    int64_t s = 1;
    bool owned;

    for (int d = c->ndim - 1; d >= 0; d--) {
        int dg = d - lead;

        j.gs[d] = (dg < 0 || gate->shape[dg] == 1) ? 0 : s;
        if (dg >= 0)
            s *= gate->shape[dg];
    }
    j.g = cpu_gather_f32(gate, &owned);
    if (!j.g)
        return PICTOR_E_NOMEM;
    cpu_parallel_for(ctx, pictor_tensor_numel(c), CPU_GRAIN, gate_chunk, &j);
    cpu_release((float *)j.g, owned);
    return PICTOR_OK;
}

static float *c_of(const void *ctx, int64_t t)
{
    const struct matmul_job *j = ctx;
    int64_t oa, ob, oc;

    batch_offsets(j, t, &oa, &ob, &oc);
    return j->c + oc;
}

/* Batch strides of an operand with nd_op dims, right-aligned to c's nb
 * batch dims; size-1 and missing dims broadcast (stride 0). */
static void align_batch(const pictor_tensor *t, const int64_t *stride,
                        int nb, int64_t *out)
{
    int nbo = t->ndim - MAT_DIMS;

    for (int d = 0; d < nb; d++) {
        int k = d - (nb - nbo);
        out[d] = (k >= 0 && t->shape[k] != 1) ? stride[k] : 0;
    }
}

int cpu_op_matmul(void *vctx, const struct pictor_op_args *args, char *err,
                  size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    const pictor_tensor *a = args->u.matmul.a, *b = args->u.matmul.b;
    const pictor_tensor *bias = args->u.matmul.bias;
    pictor_tensor *c = args->u.matmul.c;
    const pictor_tensor *gate = args->u.matmul.gate;
    struct cpu_f32_view va, vb;
    struct matmul_job job = { .nb = c->ndim - MAT_DIMS };
    struct cpu_gemm g = { .alpha = args->u.matmul.alpha };
    float *cbuf = NULL, *bias_f = NULL;
    bool direct, bias_owned = false;
    int64_t cs[MAX_BATCH_DIMS];
    int rc;

    g.M = c->shape[c->ndim - 2];
    g.N = c->shape[c->ndim - 1];
    g.K = a->shape[a->ndim - 1];
    g.batch = 1;
    for (int d = 0; d < job.nb; d++) {
        job.bshape[d] = c->shape[d];
        g.batch *= c->shape[d];
    }
    if (pictor_tensor_numel(c) == 0)
        return PICTOR_OK;

    if ((rc = cpu_f32_view_make(ctx, a, &va)))
        goto err_nomem;
    if ((rc = cpu_f32_view_make(ctx, b, &vb)))
        goto err_release_a;
    if (bias) {
        bias_f = cpu_gather_f32(bias, &bias_owned);
        if (!bias_f) {
            rc = PICTOR_E_NOMEM;
            goto err_release_b;
        }
    }

    /* c straight from the GEMM when it is f32 with unit column stride
     * (and not accumulated into: no gate). */
    direct = !gate && c->dtype == PICTOR_F32 &&
             (g.N == 1 || c->stride[c->ndim - 1] == 1);
    if (direct) {
        job.c = c->data;
        g.ldc = c->stride[c->ndim - 2];
        for (int d = 0; d < job.nb; d++)
            cs[d] = c->stride[d];
    } else {
        cbuf = malloc((size_t)pictor_tensor_numel(c) * sizeof(float));
        if (!cbuf) {
            rc = PICTOR_E_NOMEM;
            goto err_release_bias;
        }
        job.c = cbuf;
        g.ldc = g.N;
        for (int64_t step = g.M * g.N, d = job.nb - 1; d >= 0; d--) {
            cs[d] = step;
            step *= c->shape[d];
        }
    }
    for (int d = 0; d < job.nb; d++)
        job.bs_c[d] = c->shape[d] == 1 ? 0 : cs[d];
    align_batch(a, va.stride, job.nb, job.bs_a);
    align_batch(b, vb.stride, job.nb, job.bs_b);
    job.a = (struct cpu_mat){ va.p, va.stride[a->ndim - 2],
                              va.stride[a->ndim - 1] };
    job.b = (struct cpu_mat){ vb.p, vb.stride[b->ndim - 2],
                              vb.stride[b->ndim - 1] };

    g.bias_n = args->u.matmul.col_scale ? NULL : bias_f;
    g.pack_a = pack_a;
    g.pack_b = pack_b;
    g.c_of = c_of;
    g.ctx = &job;
    if ((rc = cpu_gemm(ctx, &g)))
        goto err_free_c;
    if (args->u.matmul.col_scale || args->u.matmul.has_act)
        epilogue(&job, &g, args, bias_f);
    if (gate && (rc = gate_accumulate(ctx, c, gate, cbuf)))
        goto err_free_c;
    if (!direct && !gate)
        cpu_scatter_f32_mt(ctx, c, cbuf, false);

    free(cbuf);
    cpu_release(bias_f, bias_owned);
    cpu_f32_view_release(&vb);
    cpu_f32_view_release(&va);
    return PICTOR_OK;

err_free_c:
    free(cbuf);
err_release_bias:
    cpu_release(bias_f, bias_owned);
err_release_b:
    cpu_f32_view_release(&vb);
err_release_a:
    cpu_f32_view_release(&va);
err_nomem:
    snprintf(err, errlen, "matmul: out of memory for a [%lld, %lld] x "
             "[%lld, %lld] product (batch %lld)", (long long)g.M,
             (long long)g.K, (long long)g.K, (long long)g.N,
             (long long)g.batch);
    return rc;
}
