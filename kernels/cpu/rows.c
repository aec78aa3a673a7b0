/*
 * kernels/cpu/rows.c — the row driver of cpu_rows.h.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_rows.h"
#include "pictor/convert.h"
#include "pictor/tensor_util.h"

struct rows_job {
    const pictor_tensor *x;
    pictor_tensor *y;
    int64_t D;
    cpu_row_fn fn;
    const void *arg;
    atomic_int failed;
};

static void rows_chunk(void *varg, int64_t begin, int64_t end)
{
    struct rows_job *j = varg;
    float *buf = malloc((size_t)j->D * 2 * sizeof(float));

    if (!buf) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (int64_t r = begin; r < end; r++) {
        cpu_load_range(j->x, r * j->D, (r + 1) * j->D, buf);
        j->fn(j->arg, r, buf, buf + j->D, j->D);
        cpu_store_range(j->y, r * j->D, (r + 1) * j->D, buf, false);
    }
    free(buf);
}

int cpu_rows_run(struct cpu_ctx *ctx, const pictor_tensor *x,
                 pictor_tensor *y, cpu_row_fn fn, const void *arg)
{
    struct rows_job job = { .x = x, .y = y, .fn = fn, .arg = arg };
    int64_t numel = pictor_tensor_numel(x), grain;

    job.D = x->ndim ? x->shape[x->ndim - 1] : 1;
    if (numel == 0 || job.D == 0)
        return PICTOR_OK;
    atomic_init(&job.failed, 0);
    /* Rows per chunk: about CPU_GRAIN elements' worth of work. */
    grain = CPU_GRAIN / job.D > 1 ? CPU_GRAIN / job.D : 1;
    cpu_parallel_for(ctx, numel / job.D, grain, rows_chunk, &job);
    return atomic_load(&job.failed) ? PICTOR_E_NOMEM : PICTOR_OK;
}

void cpu_row_layer_norm(float *x, int64_t D, double eps)
{
    double sum = 0.0, sq = 0.0, mean;
    float m, rstd;

    for (int64_t i = 0; i < D; i++)
        sum += x[i];
    mean = sum / (double)D;
    for (int64_t i = 0; i < D; i++) {
        double d = x[i] - mean;
        sq += d * d;
    }
    m = (float)mean;
    rstd = (float)(1.0 / sqrt(sq / (double)D + eps));
    for (int64_t i = 0; i < D; i++)
        x[i] = (x[i] - m) * rstd;
}

void cpu_row_rms_norm(float *x, const float *w, int64_t D, double eps)
{
    double sq = 0.0;
    float rs;

    for (int64_t i = 0; i < D; i++)
        sq += (double)x[i] * x[i];
    rs = (float)(1.0 / sqrt(sq / (double)D + eps));
    for (int64_t i = 0; i < D; i++)
        x[i] *= rs;
    if (w)
        for (int64_t i = 0; i < D; i++)
            x[i] *= w[i];
}

float cpu_row_quantize_e4m3(float *x, int64_t D)
{
    float amax = 0.0f, inv;
    bool nan = false;

    for (int64_t i = 0; i < D; i++) {
        float v = fabsf(x[i]);

        nan |= isnan(v);
        amax = v > amax ? v : amax;
    }
    if (nan)
        amax = NAN;
    else if (amax < PICTOR_FP8_AMAX_FLOOR)
        amax = PICTOR_FP8_AMAX_FLOOR;
    inv = PICTOR_E4M3_MAX / amax;
    for (int64_t i = 0; i < D; i++)
        x[i] *= inv;
    return nan ? NAN : amax / PICTOR_E4M3_MAX; /* NaN: the quiet NaN, every backend's bytes */
}
