/*
 * plugins/common/upconv.c — nearest 2x upsampling + 3x3 convolution as four
 * folded 2x2 convolutions; the math is in pictor/upconv.h.
 */
#include <string.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"
#include "pictor/upconv.h"

/* Kernel rows (or columns) that fold into tap t (0 or 1) of phase a (0 or
 * 1): phase 0 reads x rows {i-1 | i} with kernel rows {0 | 1, 2}, phase 1
 * reads {i | i+1} with kernel rows {0, 1 | 2}. first..last inclusive. */
static void folded_taps(int a, int t, int *first, int *last)
{
    static const int first_of[2][2] = {{0, 1}, {0, 2}};
    static const int last_of[2][2] = {{0, 2}, {1, 2}};

    *first = first_of[a][t];
    *last = last_of[a][t];
}

/* View of t's element (r, s) of dims 2 and 3, as [d0, d1, 1, 1]. */
static pictor_tensor tap(const pictor_tensor *t, int r, int s)
{
    pictor_tensor v = pictor_tensor_slice(t, 2, r, 1);

    return pictor_tensor_slice(&v, 3, s, 1);
}

/* acc [4*Cout, Cin, 2, 2] f32 (zeroed) += the folded taps of w. */
static int fold_weight(pictor_backend *be, const pictor_tensor *w, pictor_tensor *acc)
{
    const int64_t cout = w->shape[0];
    int rc;

    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            pictor_tensor ph = pictor_tensor_slice(acc, 0, (2 * a + b) * cout, cout);

            for (int r = 0; r < 2; r++)
                for (int s = 0; s < 2; s++) {
                    pictor_tensor dst = tap(&ph, r, s);
                    int kh0, kh1, kw0, kw1;

                    folded_taps(a, r, &kh0, &kh1);
                    folded_taps(b, s, &kw0, &kw1);
                    for (int kh = kh0; kh <= kh1; kh++)
                        for (int kw = kw0; kw <= kw1; kw++) {
                            pictor_tensor src = tap(w, kh, kw);

                            if ((rc = pictor_add(be, &dst, &src, &dst)))
                                return rc;
                        }
                }
        }
    return PICTOR_OK;
}

/* A [n, c, h, w] tensor of dtype on be, packed NCHW or channels-last. */
static int alloc4(pictor_backend *be, pictor_tensor *t, int dtype, const int64_t *shape,
                  bool channels_last)
{
    int rc = pictor_tensor_alloc(be, t, dtype, 4, shape);

    if (rc == PICTOR_OK && channels_last) {
        t->stride[1] = 1;
        t->stride[3] = shape[1];
        t->stride[2] = shape[3] * shape[1];
        t->stride[0] = shape[2] * shape[3] * shape[1];
    }
    return rc;
}

void pictor_upconv_free(pictor_backend *be, struct pictor_upconv *uc)
{
    if (!uc)
        return;
    pictor_tensor_free(be, &uc->w);
    pictor_tensor_free(be, &uc->b);
    memset(uc, 0, sizeof *uc);
}

int pictor_upconv_fold(pictor_backend *be, const pictor_tensor *w, const pictor_tensor *bias,
                       int dtype, bool channels_last, struct pictor_upconv *uc)
{
    pictor_tensor acc = {0};
    int rc;

    memset(uc, 0, sizeof *uc);
    if (w->ndim != 4 || w->shape[2] != 3 || w->shape[3] != 3 || bias->ndim != 1 ||
        bias->shape[0] != w->shape[0])
        return pictor_backend_fail(be, PICTOR_E_INVALID, "upconv: weight [Cout, Cin, 3, 3] "
                                   "and bias [Cout] expected");
    if (dtype != PICTOR_F32 && dtype != PICTOR_F16 && dtype != PICTOR_BF16)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "upconv: folded weights must be "
                                   "f32, f16 or bf16, not %s", pictor_dtype_name(dtype));
    const int64_t cout = w->shape[0], cin = w->shape[1];
    const int64_t ws[4] = {4 * cout, cin, 2, 2}, bs[1] = {4 * cout};

    if ((rc = pictor_tensor_alloc(be, &acc, PICTOR_F32, 4, ws)) ||
        (rc = pictor_fill(be, &acc, 0.0f)) || (rc = fold_weight(be, w, &acc)) ||
        (rc = alloc4(be, &uc->w, dtype, ws, channels_last)) ||
        (rc = pictor_copy(be, &acc, &uc->w)) ||
        (rc = pictor_tensor_alloc(be, &uc->b, dtype, 1, bs)))
        goto fail;
    for (int p = 0; p < 4; p++) {
        pictor_tensor dst = pictor_tensor_slice(&uc->b, 0, p * cout, cout);

        if ((rc = pictor_copy(be, bias, &dst)))
            goto fail;
    }
    pictor_tensor_free(be, &acc);
    return PICTOR_OK;

fail:
    pictor_tensor_free(be, &acc);
    pictor_upconv_free(be, uc);
    return rc;
}

/* The interleave of batch b as two 5-D views [C, H, 2, W, 2] (output
 * channel c, row i, row phase a, column j, column phase p): dst over y's
 * pixels (2i + a, 2j + p), src over the stacked phases of the 2x2
 * convolution's output o [B, 4C, H+1, W+1], where phase (a, p) of pixel
 * (i, j) is o[b, (2a + p) C + c, i + a, j + p]: offsets linear in a and p,
 * so one copy moves all four phases (its last dim, 2, rides the backend's
 * copy by tiles of the last two dims). */
static void phase_views(const pictor_tensor *o, const pictor_tensor *y, int64_t b,
                        pictor_tensor *src, pictor_tensor *dst)
{
    const int64_t C = y->shape[1], H = y->shape[2] / 2, W = y->shape[3] / 2;
    const int64_t shape[5] = { C, H, 2, W, 2 };
    const int64_t *os = o->stride, *ys = y->stride;
    const int64_t sst[5] = { os[1], os[2], 2 * C * os[1] + os[2], os[3], C * os[1] + os[3] };
    const int64_t dst_st[5] = { ys[1], 2 * ys[2], ys[2], 2 * ys[3], ys[3] };

    *src = *o;
    *dst = *y;
    src->data = (char *)o->data + b * os[0] * (int64_t)pictor_dtype_size(o->dtype);
    dst->data = (char *)y->data + b * ys[0] * (int64_t)pictor_dtype_size(y->dtype);
    src->ndim = dst->ndim = 5;
    for (int k = 0; k < 5; k++) {
        src->shape[k] = dst->shape[k] = shape[k];
        src->stride[k] = sst[k];
        dst->stride[k] = dst_st[k];
    }
}

int pictor_upconv_run(pictor_backend *be, const struct pictor_upconv *uc, const pictor_tensor *x,
                      pictor_tensor *y)
{
    pictor_tensor o = {0};
    int rc;

    if (x->ndim != 4 || y->ndim != 4 || uc->w.ndim != 4 || x->shape[1] != uc->w.shape[1] ||
        4 * y->shape[1] != uc->w.shape[0] || y->shape[0] != x->shape[0] ||
        y->shape[2] != 2 * x->shape[2] || y->shape[3] != 2 * x->shape[3])
        return pictor_backend_fail(be, PICTOR_E_INVALID, "upconv: x [B, Cin, H, W], y [B, "
                                   "Cout, 2H, 2W] and a folded [4 Cout, Cin, 2, 2] weight "
                                   "expected");
    const int64_t cout = y->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t os[4] = {x->shape[0], 4 * cout, h + 1, w + 1};
    const bool channels_last = y->stride[1] == 1 && cout > 1;

    if ((rc = alloc4(be, &o, y->dtype, os, channels_last)) ||
        (rc = pictor_conv2d(be, x, &uc->w, &uc->b, 1, 1, 1, 1, &o)))
        goto out;
    for (int64_t b = 0; b < y->shape[0]; b++) {
        pictor_tensor src, dst;

        phase_views(&o, y, b, &src, &dst);
        if ((rc = pictor_copy(be, &src, &dst)))
            goto out;
    }
out:
    pictor_tensor_free(be, &o);
    return rc;
}
