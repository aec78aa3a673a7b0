/*
 * kernels/cpu/op_upsample.c — nearest-neighbour 2x upsampling on the CPU
 * (torch F.interpolate(scale_factor=2, mode="nearest")):
 * y[b, c, 2h + dy, 2w + dx] = x[b, c, h, w]. Input row r = (b*C + c)*H + h
 * becomes output rows 2r and 2r + 1, each of 2W values. Any dtypes and
 * strides; parallel over input rows.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

struct up_job {
    const pictor_tensor *x;
    pictor_tensor *y;
    int64_t W;
    atomic_int failed;
};

static void up_chunk(void *arg, int64_t begin, int64_t end)
{
    struct up_job *j = arg;
    int64_t W = j->W, W2 = 2 * W;
    float *in = malloc((size_t)(W + W2) * sizeof(float)), *out;

    if (!in) {
        atomic_store(&j->failed, 1);
        return;
    }
    out = in + W;
    for (int64_t r = begin; r < end; r++) {
        cpu_load_range(j->x, r * W, (r + 1) * W, in);
        for (int64_t w = 0; w < W; w++)
            out[2 * w] = out[2 * w + 1] = in[w];
        cpu_store_range(j->y, 2 * r * W2, (2 * r + 1) * W2, out, false);
        cpu_store_range(j->y, (2 * r + 1) * W2, (2 * r + 2) * W2, out, false);
    }
    free(in);
}

int cpu_op_upsample(void *vctx, const struct pictor_op_args *args, char *err,
                    size_t errlen)
{
    const pictor_tensor *x = args->u.upsample.x;
    struct up_job job = { .x = x, .y = args->u.upsample.y, .W = x->shape[3] };
    int64_t rows = x->shape[0] * x->shape[1] * x->shape[2];

    if (rows == 0 || job.W == 0)
        return PICTOR_OK;
    atomic_init(&job.failed, 0);
    cpu_parallel_for(vctx, rows, CPU_GRAIN / job.W > 1 ? CPU_GRAIN / job.W : 1,
                     up_chunk, &job);
    if (atomic_load(&job.failed)) {
        snprintf(err, errlen, "upsample_nearest2x: out of memory for row "
                 "buffers of %lld values", (long long)(3 * job.W));
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}
