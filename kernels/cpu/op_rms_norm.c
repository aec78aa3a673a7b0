/*
 * kernels/cpu/op_rms_norm.c — RMSNorm over the last dim on the CPU:
 * y = x / sqrt(mean(x^2) + eps) * weight (torch.nn.RMSNorm; FLUX's QK norm
 * with head_dim 128, eps 1e-6). mean(x^2) in f64; weight optional. Any
 * dtypes and strides, in place allowed (cpu_rows.h).
 */
#include <math.h>
#include <stdio.h>

#include "cpu_internal.h"
#include "cpu_rows.h"

struct rms_arg {
    const float *w; /* [D] f32 or NULL */
    double eps;
};

static void rms_row(const void *varg, int64_t r, float *x, float *tmp,
                    int64_t D)
{
    const struct rms_arg *a = varg;

    cpu_row_rms_norm(x, a->w, D, a->eps);
}

int cpu_op_rms_norm(void *vctx, const struct pictor_op_args *args, char *err,
                    size_t errlen)
{
    const pictor_tensor *w = args->u.rms_norm.weight;
    struct rms_arg a = { .eps = args->u.rms_norm.eps };
    bool owned = false;
    float *wf = NULL;
    int rc = PICTOR_E_NOMEM;

    if (w && !(wf = cpu_gather_f32(w, &owned)))
        goto err;
    a.w = wf;
    rc = cpu_rows_run(vctx, args->u.rms_norm.x, args->u.rms_norm.y, rms_row,
                      &a);
    cpu_release(wf, owned);
err:
    if (rc)
        snprintf(err, errlen, "rms_norm: out of memory");
    return rc;
}
