/*
 * kernels/cpu/op_sdpa_fp8.c — FP8 attention on the CPU (pictor_sdpa_fp8,
 * pictor/ops.h): the reference for cuDNN's per-tensor-scaled FP8 SDPA.
 *
 * The steps of the ops.h contract, in its order and with its f32
 * operations: V's per-tensor amax and E4M3 codes; per query row the scores
 * from the E4M3 codes of q and k (a dot product in index order, then the
 * scales), a max-subtracted softmax, the probabilities' E4M3 codes
 * (times 448), their product with V's codes (keys in index order), the
 * descales, and the E4M3 round trip of the output with scale_o. Codes are
 * held as their decoded f32 values (exact). Tasks are (b, h, block of
 * query rows), run on the pool; the arithmetic per row does not depend on
 * the split, so the result is the same for any thread count.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_internal.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Query rows per task. */
#define FQ 16

struct fp8_job {
    int64_t B, H, Lq, Lk, D, qblocks;
    const float *q, *k, *v; /* decoded codes, contiguous [B, H, L, D] */
    float scale, qs, ks;    /* attention scale, q's and k's descales */
    float dv, so;           /* V's descale, O's scale */
    float *o;               /* contiguous f32 [B, H, Lq, D] */
    atomic_int failed;
};

static float e4m3_round(float x)
{
    return pictor_e4m3_to_f32(pictor_f32_to_e4m3(x, true));
}

/* One query row i of head (b, h): s is scratch [Lk], out [D]. */
static void fp8_row(const struct fp8_job *j, int64_t bh, int64_t i, float *s, float *out)
{
    const float *q = j->q + (bh * j->Lq + i) * j->D;
    const float *k = j->k + bh * j->Lk * j->D, *v = j->v + bh * j->Lk * j->D;
    float mx = -INFINITY, sum = 0.0f, inv;

    for (int64_t c = 0; c < j->Lk; c++) {
        float acc = 0.0f;

        for (int64_t d = 0; d < j->D; d++)
            acc += q[d] * k[c * j->D + d];
        s[c] = acc * j->scale * j->qs * j->ks;
        mx = s[c] > mx ? s[c] : mx;
    }
    for (int64_t c = 0; c < j->Lk; c++) {
        s[c] = expf(s[c] - mx);
        sum += s[c];
    }
    inv = 1.0f / sum;
    for (int64_t d = 0; d < j->D; d++)
        out[d] = 0.0f;
    for (int64_t c = 0; c < j->Lk; c++) {
        float p8 = e4m3_round(s[c] * inv * PICTOR_SDPA_FP8_P_SCALE);

        for (int64_t d = 0; d < j->D; d++)
            out[d] += p8 * v[c * j->D + d];
    }
    for (int64_t d = 0; d < j->D; d++) {
        float o = out[d] / PICTOR_SDPA_FP8_P_SCALE * j->dv;

        out[d] = e4m3_round(o * j->so) / j->so;
    }
}

static void fp8_chunk(void *arg, int64_t begin, int64_t end)
{
    struct fp8_job *j = arg;
    float *s = malloc((size_t)j->Lk * sizeof(float));

    if (!s) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (int64_t t = begin; t < end; t++) {
        int64_t bh = t / j->qblocks, i0 = t % j->qblocks * FQ;
        int64_t i1 = i0 + FQ < j->Lq ? i0 + FQ : j->Lq;

        for (int64_t i = i0; i < i1; i++)
            fp8_row(j, bh, i, s, j->o + (bh * j->Lq + i) * j->D);
    }
    free(s);
}

/* The decoded E4M3 codes of t (its scales left out), contiguous. */
static float *codes_of(const pictor_tensor *t, bool *owned)
{
    pictor_tensor c = *t;

    c.scale = 1.0f;
    c.row_scale = NULL;
    return cpu_gather_f32(&c, owned);
}

/* V's codes in place over v; returns its amax (the floor, NaN kept). */
static float quantize_v(float *v, int64_t n)
{
    float amax = 0.0f, inv;
    bool nan = false;

    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(v[i]);

        nan |= isnan(a);
        amax = a > amax ? a : amax;
    }
    if (nan)
        amax = NAN;
    else if (amax < PICTOR_FP8_AMAX_FLOOR)
        amax = PICTOR_FP8_AMAX_FLOOR;
    inv = PICTOR_E4M3_MAX / amax;
    for (int64_t i = 0; i < n; i++)
        v[i] = e4m3_round(v[i] * inv);
    return amax;
}

int cpu_op_sdpa_fp8(void *vctx, const struct pictor_op_args *args, char *err, size_t errlen)
{
    const pictor_tensor *q = args->u.sdpa_fp8.q, *k = args->u.sdpa_fp8.k;
    const pictor_tensor *v = args->u.sdpa_fp8.v;
    struct fp8_job j = {
        .B = q->shape[0], .H = q->shape[1], .Lq = q->shape[2], .Lk = k->shape[2],
        .D = q->shape[3], .scale = args->u.sdpa_fp8.scale, .qs = q->scale, .ks = k->scale,
    };
    bool q_owned = false, k_owned = false;
    float *vv = NULL, *q8 = NULL, *k8 = NULL, *o = NULL;
    int64_t nv = pictor_tensor_numel(v);
    int rc = PICTOR_E_NOMEM;

    j.qblocks = (j.Lq + FQ - 1) / FQ;
    atomic_init(&j.failed, 0);
    if (!(q8 = codes_of(q, &q_owned)) || !(k8 = codes_of(k, &k_owned)) ||
        !(vv = malloc((size_t)(nv ? nv : 1) * sizeof(float))) ||
        !(o = malloc((size_t)pictor_tensor_numel(args->u.sdpa_fp8.o) * sizeof(float))))
        goto out;
    {
        bool v_owned;
        float *g = cpu_gather_f32(v, &v_owned);

        if (!g)
            goto out;
        for (int64_t i = 0; i < nv; i++)
            vv[i] = g[i];
        cpu_release(g, v_owned);
    }
    {
        float av = quantize_v(vv, nv);

        j.dv = av / PICTOR_E4M3_MAX;
        j.so = PICTOR_E4M3_MAX / (av * PICTOR_SDPA_FP8_O_MARGIN);
    }
    j.q = q8, j.k = k8, j.v = vv, j.o = o;
    if (j.Lk == 0) { /* no keys: softmax of nothing, zeros as pictor_sdpa */
        for (int64_t i = 0; i < pictor_tensor_numel(args->u.sdpa_fp8.o); i++)
            o[i] = 0.0f;
    } else {
        cpu_parallel_for(vctx, j.B * j.H * j.qblocks, 1, fp8_chunk, &j);
    }
    if (!atomic_load(&j.failed)) {
        cpu_scatter_f32(args->u.sdpa_fp8.o, o, false);
        rc = PICTOR_OK;
    }
out:
    cpu_release(q8, q_owned);
    cpu_release(k8, k_owned);
    free(vv);
    free(o);
    if (rc)
        snprintf(err, errlen, "sdpa_fp8: out of memory (B %lld, H %lld, Lq %lld, Lk %lld, D %lld)",
                 (long long)j.B, (long long)j.H, (long long)j.Lq, (long long)j.Lk,
                 (long long)j.D);
    return rc;
}
