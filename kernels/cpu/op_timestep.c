/*
 * kernels/cpu/op_timestep.c — diffusers get_timestep_embedding on the CPU,
 * with torch's f32 rounding at each step (MODELS.md §1.1):
 *   half = dim / 2
 *   exponent_k = f32(-ln(max_period)) * k / f32(half - shift)   (f32 ops)
 *   f_k = exp(exponent_k); arg = scale * (t * f_k)              (f32 ops)
 *   y = [sin(arg), cos(arg)], or [cos(arg), sin(arg)] when flip_sin_to_cos;
 *   an odd dim gets a zero last column.
 * t [B] any float dtype; y [B, dim] any dtype/strides. Serial: B x dim is
 * tiny (a few hundred values per step).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

int cpu_op_timestep(void *vctx, const struct pictor_op_args *args, char *err,
                    size_t errlen)
{
    const pictor_tensor *t = args->u.timestep.t;
    pictor_tensor *y = args->u.timestep.y;
    int64_t B = y->shape[0], dim = y->shape[1], half = dim / 2;
    float neg_log = (float)-log((double)args->u.timestep.max_period);
    float denom = (float)((double)half -
                          (double)args->u.timestep.downscale_freq_shift);
    float scale = args->u.timestep.scale;
    bool flip = args->u.timestep.flip_sin_to_cos;
    float *row, *freq, *tf;
    bool t_owned;

    if (B == 0 || dim == 0)
        return PICTOR_OK;
    row = malloc((size_t)(dim + half) * sizeof(float));
    if (!row)
        goto err;
    freq = row + dim;
    if (!(tf = cpu_gather_f32(t, &t_owned)))
        goto err_free_row;
    for (int64_t k = 0; k < half; k++)
        freq[k] = expf(neg_log * (float)k / denom);
    for (int64_t b = 0; b < B; b++) {
        float *first = row, *second = row + half;

        for (int64_t k = 0; k < half; k++) {
            float arg = scale * (tf[b] * freq[k]);

            first[k] = flip ? cosf(arg) : sinf(arg);
            second[k] = flip ? sinf(arg) : cosf(arg);
        }
        if (dim % 2)
            row[dim - 1] = 0.0f;
        cpu_store_range(y, b * dim, (b + 1) * dim, row, false);
    }
    cpu_release(tf, t_owned);
    free(row);
    return PICTOR_OK;

err_free_row:
    free(row);
err:
    snprintf(err, errlen, "timestep_embedding: out of memory for dim %lld",
             (long long)dim);
    return PICTOR_E_NOMEM;
}
