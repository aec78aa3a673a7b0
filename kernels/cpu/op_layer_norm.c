/*
 * kernels/cpu/op_layer_norm.c — torch.nn.functional.layer_norm over the
 * last dim on the CPU: mean and biased variance of each row in f64 (two
 * passes), y = (x - mean) / sqrt(var + eps) * gamma + beta, gamma/beta
 * optional (FLUX/SD3 use eps 1e-6 without affine). Any dtypes and strides,
 * in place allowed (cpu_rows.h).
 */
#include <math.h>
#include <stdio.h>

#include "cpu_internal.h"
#include "cpu_rows.h"

struct ln_arg {
    const float *gamma, *beta; /* [D] f32 or NULL */
    double eps;
};

static void ln_row(const void *varg, int64_t r, float *x, float *tmp,
                   int64_t D)
{
    const struct ln_arg *a = varg;

    cpu_row_layer_norm(x, D, a->eps);
    if (a->gamma)
        for (int64_t i = 0; i < D; i++)
            x[i] *= a->gamma[i];
    if (a->beta)
        for (int64_t i = 0; i < D; i++)
            x[i] += a->beta[i];
}

int cpu_op_layer_norm(void *vctx, const struct pictor_op_args *args,
                      char *err, size_t errlen)
{
    const pictor_tensor *gamma = args->u.layer_norm.gamma;
    const pictor_tensor *beta = args->u.layer_norm.beta;
    struct ln_arg a = { .eps = args->u.layer_norm.eps };
    bool g_owned = false, b_owned = false;
    float *gf = NULL, *bf = NULL;
    int rc = PICTOR_E_NOMEM;

    if (gamma && !(gf = cpu_gather_f32(gamma, &g_owned)))
        goto err;
    if (beta && !(bf = cpu_gather_f32(beta, &b_owned)))
        goto err_free_gamma;
    a.gamma = gf;
    a.beta = bf;
    rc = cpu_rows_run(vctx, args->u.layer_norm.x, args->u.layer_norm.y,
                      ln_row, &a);
    cpu_release(bf, b_owned);
err_free_gamma:
    cpu_release(gf, g_owned);
err:
    if (rc)
        snprintf(err, errlen, "layer_norm: out of memory");
    return rc;
}
