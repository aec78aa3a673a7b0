/*
 * kernels/cpu/op_rope.c — FLUX's apply_rotary_emb (use_real, unbind_dim -1)
 * on the CPU: x [B, L, H, D] with interleaved channel pairs (2m, 2m + 1),
 * cos/sin [L, D] (tables of pictor_rope_tables):
 *   y[2m]     = x[2m] cos[2m]         - x[2m + 1] sin[2m]
 *   y[2m + 1] = x[2m + 1] cos[2m + 1] + x[2m] sin[2m + 1]
 * in f32. Any dtypes and strides; in place allowed (cpu_rows.h).
 */
#include <stdio.h>

#include "cpu_internal.h"
#include "cpu_rows.h"

struct rope_arg {
    const float *cos, *sin; /* [L, D] contiguous f32 */
    int64_t L, H;
};

static void rope_row(const void *varg, int64_t r, float *x, float *tmp,
                     int64_t D)
{
    const struct rope_arg *a = varg;
    int64_t l = (r / a->H) % a->L; /* row r = ((b * L) + l) * H + h */
    const float *c = a->cos + l * D, *s = a->sin + l * D;

    for (int64_t m = 0; m < D; m += 2) {
        float x0 = x[m], x1 = x[m + 1];

        x[m] = x0 * c[m] - x1 * s[m];
        x[m + 1] = x1 * c[m + 1] + x0 * s[m + 1];
    }
}

int cpu_op_rope(void *vctx, const struct pictor_op_args *args, char *err,
                size_t errlen)
{
    const pictor_tensor *x = args->u.rope.x;
    struct rope_arg a = { .L = x->shape[1], .H = x->shape[2] };
    bool c_owned = false, s_owned = false;
    float *cf, *sf;
    int rc = PICTOR_E_NOMEM;

    if (!(cf = cpu_gather_f32(args->u.rope.cos, &c_owned)))
        goto err;
    if (!(sf = cpu_gather_f32(args->u.rope.sin, &s_owned)))
        goto err_free_cos;
    a.cos = cf;
    a.sin = sf;
    rc = cpu_rows_run(vctx, x, args->u.rope.y, rope_row, &a);
    cpu_release(sf, s_owned);
err_free_cos:
    cpu_release(cf, c_owned);
err:
    if (rc)
        snprintf(err, errlen, "rope: out of memory");
    return rc;
}
