/*
 * kernels/cpu/op_softmax.c — softmax over the last dim on the CPU,
 * max-subtracted: y = exp(x - max) / sum(exp(x - max)), the sum in f64.
 * -inf entries give 0; a row that is all -inf gives NaN, as torch.softmax
 * does (sdpa has its own fully-masked rule). Any dtypes and strides, in
 * place allowed (cpu_rows.h).
 */
#include <math.h>
#include <stdio.h>

#include "cpu_internal.h"
#include "cpu_rows.h"

static void softmax_row(const void *arg, int64_t r, float *x, float *tmp,
                        int64_t D)
{
    float mx = -INFINITY;
    double sum = 0.0;
    float inv;

    for (int64_t i = 0; i < D; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int64_t i = 0; i < D; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < D; i++)
        x[i] *= inv;
}

int cpu_op_softmax(void *vctx, const struct pictor_op_args *args, char *err,
                   size_t errlen)
{
    int rc = cpu_rows_run(vctx, args->u.softmax.x, args->u.softmax.y,
                          softmax_row, NULL);

    if (rc)
        snprintf(err, errlen, "softmax: out of memory for row buffers");
    return rc;
}
