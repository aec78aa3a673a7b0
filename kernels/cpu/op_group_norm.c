/*
 * kernels/cpu/op_group_norm.c — torch.nn.GroupNorm on the CPU, optionally
 * followed by SiLU (the VAE's norm + activation pair). x [B, C, ...] with C
 * split into `groups` contiguous channel groups; mean and biased variance
 * over each (b, group) in f64 (two passes), then
 * y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c] [then x sigmoid(x)].
 * Streams through a stack block (three reads of each group, no copy of the
 * tensor), so any dtype, any strides and y == x in place all work: a
 * group's range is read completely before the third pass overwrites it.
 * Parallel over the B * groups (b, group) pairs.
 */
#include <math.h>
#include <stdio.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

struct gn_job {
    const pictor_tensor *x;
    pictor_tensor *y;
    const float *gamma, *beta; /* [C] f32 or NULL */
    int64_t C, S, groups;      /* S: elements per channel */
    double eps;
    bool silu;
};

/* Sum of x (mean == NULL) or of (x - *mean)^2 over [begin, end). */
static double gn_sum(const pictor_tensor *x, int64_t begin, int64_t end,
                     const double *mean)
{
    float buf[CPU_BLOCK];
    int64_t len = cpu_row_len(x), cnt;
    double s = 0.0;

    for (int64_t i = begin; i < end; i += cnt) {
        cnt = cpu_seg_len(len, i, end);
        cpu_load_seg(x, i, cnt, buf);
        if (!mean) {
            for (int64_t k = 0; k < cnt; k++)
                s += buf[k];
        } else {
            for (int64_t k = 0; k < cnt; k++) {
                double d = buf[k] - *mean;
                s += d * d;
            }
        }
    }
    return s;
}

static void gn_chunk(void *arg, int64_t begin, int64_t end)
{
    const struct gn_job *j = arg;
    int64_t cpg = j->C / j->groups, n = cpg * j->S;
    int64_t len = cpu_row_len(j->y), cnt;
    float buf[CPU_BLOCK];

    for (int64_t task = begin; task < end; task++) {
        int64_t lo = task * n, hi = lo + n; /* (b, g) is flat range */
        double mean = gn_sum(j->x, lo, hi, NULL) / (double)n;
        double var = gn_sum(j->x, lo, hi, &mean) / (double)n;
        float m = (float)mean, rstd = (float)(1.0 / sqrt(var + j->eps));

        for (int64_t i = lo; i < hi; i += cnt) {
            cnt = cpu_seg_len(len, i, hi);
            cpu_load_seg(j->x, i, cnt, buf);
            for (int64_t k = 0; k < cnt; k++) {
                /* A segment lies in one innermost row: one channel when
                 * S > 1, consecutive channels when S == 1. */
                int64_t c = (j->S == 1 ? i + k : i / j->S) % j->C;
                float v = (buf[k] - m) * rstd;

                if (j->gamma)
                    v *= j->gamma[c];
                if (j->beta)
                    v += j->beta[c];
                if (j->silu)
                    v = v / (1.0f + expf(-v));
                buf[k] = v;
            }
            cpu_store_seg(j->y, i, cnt, buf, false);
        }
    }
}

int cpu_op_group_norm(void *vctx, const struct pictor_op_args *args,
                      char *err, size_t errlen)
{
    const pictor_tensor *x = args->u.group_norm.x;
    const pictor_tensor *gamma = args->u.group_norm.gamma;
    const pictor_tensor *beta = args->u.group_norm.beta;
    struct gn_job job = {
        .x = x, .y = args->u.group_norm.y, .C = x->shape[1],
        .groups = args->u.group_norm.groups,
        .eps = args->u.group_norm.eps, .silu = args->u.group_norm.silu,
    };
    bool g_owned = false, b_owned = false;
    float *gf = NULL, *bf = NULL;
    int64_t numel = pictor_tensor_numel(x);

    if (numel == 0)
        return PICTOR_OK;
    job.S = numel / (x->shape[0] * job.C);
    if (gamma && !(gf = cpu_gather_f32(gamma, &g_owned)))
        goto err_nomem;
    if (beta && !(bf = cpu_gather_f32(beta, &b_owned)))
        goto err_free_gamma;
    job.gamma = gf;
    job.beta = bf;
    cpu_parallel_for(vctx, x->shape[0] * job.groups, 1, gn_chunk, &job);
    cpu_release(bf, b_owned);
    cpu_release(gf, g_owned);
    return PICTOR_OK;

err_free_gamma:
    cpu_release(gf, g_owned);
err_nomem:
    snprintf(err, errlen, "group_norm: out of memory for the affine "
             "parameters of %lld channels", (long long)job.C);
    return PICTOR_E_NOMEM;
}
