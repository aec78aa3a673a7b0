/*
 * kernels/cpu/op_fused.c — the CPU twins of the fused FLUX ops (pictor/ops.h):
 *   ada_layer_norm  y = LN(x) * (1 + scale) + shift   (rows of the last dim)
 *   gated_add       x += gate * y                     (elementwise)
 *   rms_norm_rope   y = RoPE(RMSNorm(x) * weight)     (rows of one head)
 * Each does the arithmetic of the ops it replaces, in the same order and in
 * f32 with the same f64 row statistics (op_layer_norm.c, op_rms_norm.c,
 * op_rope.c, op_binary.c), but keeps the intermediate values in f32 and
 * rounds once into the output; at f32 it therefore equals the composition.
 * Any dtypes and strides; the row ops run in place through cpu_rows.h.
 * ada_layer_norm into an FP8 rows view (an f8_e4m3 y with row_scale)
 * quantises each modulated f32 row with cpu_row_quantize_e4m3 before the
 * driver stores it: the bytes of ada_layer_norm into f32 followed by
 * quantize_rows.
 *
 * Broadcast operands (scale, shift, gate) are gathered once into
 * contiguous f32 and addressed through broadcast strides aligned to x's
 * dims (0 along the dims they repeat), as op_binary.c does.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "cpu_rows.h"
#include "pictor/tensor_util.h"

/* An operand broadcast (NumPy rules, checked by the wrapper) to `to`. */
struct fused_bcast {
    float *data; /* contiguous f32 copy (or the tensor's own f32 data) */
    bool owned;
    int64_t bstride[PICTOR_MAX_DIMS]; /* per dim of `to`, into data */
};

/* Gathers t and sets its strides for `to`'s dims; false when out of
 * memory. */
static bool fused_bcast_setup(struct fused_bcast *b, const pictor_tensor *t,
                              const pictor_tensor *to)
{
    int lead = to->ndim - t->ndim;
    int64_t s = 1;

    memset(b, 0, sizeof *b);
    for (int d = to->ndim - 1; d >= 0; d--) {
        int dt = d - lead;

        b->bstride[d] = (dt < 0 || t->shape[dt] == 1) ? 0 : s;
        if (dt >= 0)
            s *= t->shape[dt];
    }
    b->data = cpu_gather_f32(t, &b->owned);
    return b->data != NULL;
}

/* Offset into b->data of `to`'s flat element i. */
static int64_t fused_bcast_offset(const struct fused_bcast *b,
                                  const pictor_tensor *to, int64_t i)
{
    int64_t off = 0;

    for (int d = to->ndim - 1; d >= 0 && i > 0; d--) {
        off += (i % to->shape[d]) * b->bstride[d];
        i /= to->shape[d];
    }
    return off;
}

/* Element step of b along `to`'s last dim (0 or 1). */
static int64_t fused_bcast_step(const struct fused_bcast *b,
                                const pictor_tensor *to)
{
    return to->ndim ? b->bstride[to->ndim - 1] : 0;
}

/* ---- ada_layer_norm --------------------------------------------------- */

struct ada_arg {
    const pictor_tensor *x;
    struct fused_bcast scale, shift;
    double eps;
    float *row_scale; /* [rows] of an FP8 rows view y, or NULL */
};

/* op_layer_norm.c's ln_row without affine, then the modulation, then (FP8
 * rows view y) quantize_rows' row recipe. */
static void ada_row(const void *varg, int64_t r, float *x, float *tmp,
                    int64_t D)
{
    const struct ada_arg *a = varg;
    const float *sc = a->scale.data + fused_bcast_offset(&a->scale, a->x, r * D);
    const float *sh = a->shift.data + fused_bcast_offset(&a->shift, a->x, r * D);
    int64_t ss = fused_bcast_step(&a->scale, a->x);
    int64_t hs = fused_bcast_step(&a->shift, a->x);

    cpu_row_layer_norm(x, D, a->eps);
    for (int64_t i = 0; i < D; i++) {
        float scaled = x[i] * (1.0f + sc[i * ss]);

        x[i] = scaled + sh[i * hs];
    }
    if (a->row_scale)
        a->row_scale[r] = cpu_row_quantize_e4m3(x, D);
}

int cpu_op_ada_layer_norm(void *vctx, const struct pictor_op_args *args,
                          char *err, size_t errlen)
{
    const pictor_tensor *x = args->u.ada_layer_norm.x, *y = args->u.ada_layer_norm.y;
    struct ada_arg a = { .x = x, .eps = args->u.ada_layer_norm.eps };
    int rc = PICTOR_E_NOMEM;

    /* The wrapper checked the view; the scales are the caller's writable
     * [rows] f32 (pictor_fp8_rows_view). */
    if (y->dtype == PICTOR_F8_E4M3)
        a.row_scale = (float *)y->row_scale;

    if (!fused_bcast_setup(&a.scale, args->u.ada_layer_norm.scale, x))
        goto err;
    if (!fused_bcast_setup(&a.shift, args->u.ada_layer_norm.shift, x))
        goto err_free_scale;
    rc = cpu_rows_run(vctx, x, args->u.ada_layer_norm.y, ada_row, &a);
    cpu_release(a.shift.data, a.shift.owned);
err_free_scale:
    cpu_release(a.scale.data, a.scale.owned);
err:
    if (rc)
        snprintf(err, errlen, "ada_layer_norm: out of memory");
    return rc;
}

/* ---- gated_add -------------------------------------------------------- */

struct gated_job {
    pictor_tensor *x;
    const pictor_tensor *y;
    struct fused_bcast gate;
};

static void gated_chunk(void *arg, int64_t begin, int64_t end)
{
    const struct gated_job *j = arg;
    float bx[CPU_BLOCK], by[CPU_BLOCK];
    int64_t len = cpu_row_len(j->x), gs = fused_bcast_step(&j->gate, j->x);
    int64_t cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        const float *g = j->gate.data + fused_bcast_offset(&j->gate, j->x, i);

        cnt = cpu_seg_len(len, i, end); /* y has x's shape: same segments */
        cpu_load_seg(j->x, i, cnt, bx);
        cpu_load_seg(j->y, i, cnt, by);
        for (int64_t k = 0; k < cnt; k++) {
            float gy = g[k * gs] * by[k];

            bx[k] += gy;
        }
        cpu_store_seg(j->x, i, cnt, bx, false);
    }
}

int cpu_op_gated_add(void *vctx, const struct pictor_op_args *args, char *err,
                     size_t errlen)
{
    struct gated_job job = { .x = args->u.gated_add.x, .y = args->u.gated_add.y };

    if (!fused_bcast_setup(&job.gate, args->u.gated_add.gate, job.x)) {
        snprintf(err, errlen, "gated_add: out of memory gathering gate");
        return PICTOR_E_NOMEM;
    }
    cpu_parallel_for(vctx, pictor_tensor_numel(job.x), CPU_GRAIN, gated_chunk,
                     &job);
    cpu_release(job.gate.data, job.gate.owned);
    return PICTOR_OK;
}

/* ---- rms_norm_rope ---------------------------------------------------- */

struct qk_arg {
    const float *w;         /* [Dh] f32 or NULL */
    const float *cos, *sin; /* [L, Dh] contiguous f32 */
    int64_t L, H;
    double eps;
};

/* op_rms_norm.c's rms_row, then op_rope.c's rope_row. */
static void qk_row(const void *varg, int64_t r, float *x, float *tmp,
                   int64_t D)
{
    const struct qk_arg *a = varg;
    int64_t l = (r / a->H) % a->L; /* row r = ((b * L) + l) * H + h */
    const float *c = a->cos + l * D, *s = a->sin + l * D;

    cpu_row_rms_norm(x, a->w, D, a->eps);
    for (int64_t m = 0; m < D; m += 2) {
        float x0 = x[m], x1 = x[m + 1];

        x[m] = x0 * c[m] - x1 * s[m];
        x[m + 1] = x1 * c[m + 1] + x0 * s[m + 1];
    }
}

int cpu_op_rms_norm_rope(void *vctx, const struct pictor_op_args *args,
                         char *err, size_t errlen)
{
    const pictor_tensor *x = args->u.rms_norm_rope.x;
    const pictor_tensor *w = args->u.rms_norm_rope.weight;
    struct qk_arg a = { .L = x->shape[1], .H = x->shape[2],
                        .eps = args->u.rms_norm_rope.eps };
    bool w_owned = false, c_owned = false, s_owned = false;
    float *wf = NULL, *cf, *sf;
    int rc = PICTOR_E_NOMEM;

    if (w && !(wf = cpu_gather_f32(w, &w_owned)))
        goto err;
    if (!(cf = cpu_gather_f32(args->u.rms_norm_rope.cos, &c_owned)))
        goto err_free_w;
    if (!(sf = cpu_gather_f32(args->u.rms_norm_rope.sin, &s_owned)))
        goto err_free_cos;
    a.w = wf;
    a.cos = cf;
    a.sin = sf;
    rc = cpu_rows_run(vctx, x, args->u.rms_norm_rope.y, qk_row, &a);
    cpu_release(sf, s_owned);
err_free_cos:
    cpu_release(cf, c_owned);
err_free_w:
    cpu_release(wf, w_owned);
err:
    if (rc)
        snprintf(err, errlen, "rms_norm_rope: out of memory");
    return rc;
}
