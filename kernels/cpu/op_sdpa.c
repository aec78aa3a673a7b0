/*
 * kernels/cpu/op_sdpa.c — scaled dot-product attention on the CPU
 * (torch.nn.functional.scaled_dot_product_attention semantics):
 *   o = softmax(scale * q k^T + mask [+ causal]) v
 * q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], any strides (e.g.
 * permuted [B, L, H, D] views) and float dtypes; mask additive, any dtype,
 * broadcastable to [B, H, Lq, Lk]; causal masks key j > query i (top-left).
 * A row whose every score is -inf (fully masked) gives zeros, not NaN.
 *
 * Work is split into tasks of BQ query rows of one (b, h); each task runs
 * two serial blocked GEMMs (gemm.c) on its own scratch: S = scale * Q K^T
 * for its rows (BQ x Lk), a per-row masked, max-subtracted softmax in
 * place, then O = P V. With causal, keys past the block's last query are
 * skipped entirely. Tasks run in parallel on the pool.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_gemm.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

/* Query rows per task: S is BQ x Lk floats (4 MiB at Lk = 16384, the
 * 1024^2 VAE mid-block), and the K/V panels are packed once per BQ rows. */
#define BQ 64
#define SCORE_DIMS 4

struct sdpa_job {
    int64_t B, H, Lq, Lk, D, Dv, qblocks;
    struct cpu_f32_view q, k, v;
    const float *mask;       /* gathered f32 or NULL */
    int64_t ms[SCORE_DIMS];  /* mask strides over [B, H, Lq, Lk], 0 = bcast */
    float scale;
    bool causal;
    pictor_tensor *o;
    bool direct;             /* o is f32 with unit last stride */
    int64_t scratch;         /* floats per chunk */
    atomic_int failed;
};

/* One task's state, the GEMM callbacks' context. */
struct sdpa_task {
    const struct sdpa_job *j;
    int64_t b, h, i0, nk;
    float *s;   /* [BQ, nk] scores, then probabilities */
    float *out; /* output rows, row stride ldo */
};

static const float *head(const struct cpu_f32_view *v, int64_t b, int64_t h)
{
    return v->p + b * v->stride[0] + h * v->stride[1];
}

static void pack_q(const void *ctx, int64_t t, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, float *dst)
{
    const struct sdpa_task *s = ctx;
    const struct cpu_f32_view *q = &s->j->q;
    struct cpu_mat m = { head(q, s->b, s->h) + s->i0 * q->stride[2],
                         q->stride[2], q->stride[3] };

    cpu_gemm_pack_a_mat(&m, i0, mc, k0, kc, dst);
}

/* B(d, j) = k[j, d]: K^T as a strided view. */
static void pack_kt(const void *ctx, int64_t t, int64_t k0, int64_t kc,
                    int64_t j0, int64_t nc, float *dst)
{
    const struct sdpa_task *s = ctx;
    const struct cpu_f32_view *k = &s->j->k;
    struct cpu_mat m = { head(k, s->b, s->h), k->stride[3], k->stride[2] };

    cpu_gemm_pack_b_mat(&m, k0, kc, j0, nc, dst);
}

static void pack_p(const void *ctx, int64_t t, int64_t i0, int64_t mc,
                   int64_t k0, int64_t kc, float *dst)
{
    const struct sdpa_task *s = ctx;
    struct cpu_mat m = { s->s, s->nk, 1 };

    cpu_gemm_pack_a_mat(&m, i0, mc, k0, kc, dst);
}

static void pack_v(const void *ctx, int64_t t, int64_t k0, int64_t kc,
                   int64_t j0, int64_t nc, float *dst)
{
    const struct sdpa_task *s = ctx;
    const struct cpu_f32_view *v = &s->j->v;
    struct cpu_mat m = { head(v, s->b, s->h), v->stride[2], v->stride[3] };

    cpu_gemm_pack_b_mat(&m, k0, kc, j0, nc, dst);
}

static float *scores_of(const void *ctx, int64_t t)
{
    return ((const struct sdpa_task *)ctx)->s;
}

static float *out_of(const void *ctx, int64_t t)
{
    return ((const struct sdpa_task *)ctx)->out;
}

/* Row of scores for query i (global index): mask, causal, softmax. */
static void softmax_row(const struct sdpa_job *j, const struct sdpa_task *s,
                        int64_t i, float *row)
{
    int64_t nk = s->nk;
    float mx = -INFINITY, sum = 0.0f, inv;

    if (j->mask) {
        const float *m = j->mask + s->b * j->ms[0] + s->h * j->ms[1] +
                         i * j->ms[2];
        for (int64_t c = 0; c < nk; c++)
            row[c] += m[c * j->ms[3]];
    }
    if (j->causal)
        for (int64_t c = i + 1; c < nk; c++)
            row[c] = -INFINITY;
    for (int64_t c = 0; c < nk; c++)
        mx = row[c] > mx ? row[c] : mx;
    if (mx == -INFINITY) { /* fully masked: zeros, not NaN */
        for (int64_t c = 0; c < nk; c++)
            row[c] = 0.0f;
        return;
    }
    for (int64_t c = 0; c < nk; c++) {
        row[c] = expf(row[c] - mx);
        sum += row[c];
    }
    inv = 1.0f / sum;
    for (int64_t c = 0; c < nk; c++)
        row[c] *= inv;
}

static void run_task(const struct sdpa_job *j, int64_t task, float *buf)
{
    int64_t bh = task / j->qblocks, i0 = task % j->qblocks * BQ;
    int64_t nq = j->Lq - i0 < BQ ? j->Lq - i0 : BQ;
    struct sdpa_task s = { .j = j, .b = bh / j->H, .h = bh % j->H, .i0 = i0,
                           .nk = j->Lk, .s = buf };
    float *obuf = buf + BQ * j->Lk, *gscratch = obuf + BQ * j->Dv;
    struct cpu_gemm g = { .batch = 1, .M = nq, .ctx = &s };
    pictor_tensor *o = j->o;

    /* Keys past the last query of the block are all causally masked. */
    if (j->causal && i0 + nq < s.nk)
        s.nk = i0 + nq;
    if (j->direct) {
        s.out = (float *)o->data + s.b * o->stride[0] + s.h * o->stride[1] +
                i0 * o->stride[2];
    } else {
        s.out = obuf;
    }

    g.N = s.nk, g.K = j->D, g.alpha = j->scale;
    g.pack_a = pack_q, g.pack_b = pack_kt, g.c_of = scores_of, g.ldc = s.nk;
    cpu_gemm_serial(&g, gscratch);
    for (int64_t r = 0; r < nq; r++)
        softmax_row(j, &s, i0 + r, s.s + r * s.nk);

    g.N = j->Dv, g.K = s.nk, g.alpha = 1.0f;
    g.pack_a = pack_p, g.pack_b = pack_v, g.c_of = out_of;
    g.ldc = j->direct ? o->stride[2] : j->Dv;
    cpu_gemm_serial(&g, gscratch);
    if (!j->direct) {
        int64_t row0 = (bh * j->Lq + i0) * j->Dv;
        cpu_store_range(o, row0, row0 + nq * j->Dv, obuf, false);
    }
}

static void sdpa_chunk(void *arg, int64_t begin, int64_t end)
{
    struct sdpa_job *j = arg;
    float *buf = malloc((size_t)j->scratch * sizeof(float));

    if (!buf) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (int64_t task = begin; task < end; task++)
        run_task(j, task, buf);
    free(buf);
}

/* GEMM scratch for the larger of the task's two products. */
static int64_t gemm_scratch(const struct sdpa_job *j)
{
    struct cpu_gemm g1 = { .batch = 1, .M = BQ, .N = j->Lk, .K = j->D };
    struct cpu_gemm g2 = { .batch = 1, .M = BQ, .N = j->Dv, .K = j->Lk };
    int64_t s1 = cpu_gemm_scratch_floats(&g1);
    int64_t s2 = cpu_gemm_scratch_floats(&g2);

    return s1 > s2 ? s1 : s2;
}

/* Gathers the mask and sets its strides broadcast over [B, H, Lq, Lk]. */
static int mask_setup(struct cpu_ctx *ctx, const pictor_tensor *mask,
                      struct sdpa_job *j, bool *owned)
{
    int64_t cs = 1;

    j->mask = cpu_gather_f32_mt(ctx, mask, owned);
    if (!j->mask)
        return PICTOR_E_NOMEM;
    for (int d = SCORE_DIMS - 1; d >= 0; d--) {
        int md = d - (SCORE_DIMS - mask->ndim);

        j->ms[d] = 0;
        if (md >= 0) {
            if (mask->shape[md] != 1)
                j->ms[d] = cs;
            cs *= mask->shape[md];
        }
    }
    return PICTOR_OK;
}

static void zero_output(pictor_tensor *o)
{
    float zeros[CPU_BLOCK] = { 0 };
    int64_t n = pictor_tensor_numel(o);

    for (int64_t i = 0; i < n; i += CPU_BLOCK)
        cpu_store_range(o, i, i + CPU_BLOCK < n ? i + CPU_BLOCK : n, zeros,
                        false);
}

int cpu_op_sdpa(void *vctx, const struct pictor_op_args *args, char *err,
                size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    const pictor_tensor *q = args->u.sdpa.q, *mask = args->u.sdpa.mask;
    pictor_tensor *o = args->u.sdpa.o;
    struct sdpa_job job = {
        .B = q->shape[0], .H = q->shape[1], .Lq = q->shape[2],
        .D = q->shape[3], .Lk = args->u.sdpa.k->shape[2],
        .Dv = args->u.sdpa.v->shape[3], .scale = args->u.sdpa.scale,
        .causal = args->u.sdpa.causal, .o = o,
    };
    bool mask_owned = false;
    int rc = PICTOR_E_NOMEM;

    if (pictor_tensor_numel(o) == 0)
        return PICTOR_OK;
    if (job.Lk == 0) { /* softmax over no keys: every row fully masked */
        zero_output(o);
        return PICTOR_OK;
    }
    job.qblocks = (job.Lq + BQ - 1) / BQ;
    job.direct = o->dtype == PICTOR_F32 && (job.Dv == 1 || o->stride[3] == 1);
    job.scratch = BQ * job.Lk + BQ * job.Dv + gemm_scratch(&job);
    atomic_init(&job.failed, 0);

    if (cpu_f32_view_make(ctx, q, &job.q))
        goto err;
    if (cpu_f32_view_make(ctx, args->u.sdpa.k, &job.k))
        goto err_release_q;
    if (cpu_f32_view_make(ctx, args->u.sdpa.v, &job.v))
        goto err_release_k;
    if (mask && mask_setup(ctx, mask, &job, &mask_owned))
        goto err_release_v;

    cpu_parallel_for(ctx, job.B * job.H * job.qblocks, 1, sdpa_chunk, &job);
    rc = atomic_load(&job.failed) ? PICTOR_E_NOMEM : PICTOR_OK;

    cpu_release((float *)job.mask, mask_owned);
err_release_v:
    cpu_f32_view_release(&job.v);
err_release_k:
    cpu_f32_view_release(&job.k);
err_release_q:
    cpu_f32_view_release(&job.q);
err:
    if (rc)
        snprintf(err, errlen, "sdpa: out of memory (Lq %lld, Lk %lld, D "
                 "%lld, Dv %lld)", (long long)job.Lq, (long long)job.Lk,
                 (long long)job.D, (long long)job.Dv);
    return rc;
}
