/* plugins/flux/flux_run.c — per-forward plumbing shared by the blocks: the
 * scratch stack, views, and the small compound steps (modulated LayerNorm,
 * gated residual, QK norm + RoPE: the fused ops of pictor/ops.h; attention);
 * see flux_internal.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "flux_internal.h"
#include "pictor/fp8_linear.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

size_t flux_scratch_mark(const struct flux_scratch *s)
{
    return s->n;
}

void flux_scratch_release(struct flux_scratch *s, size_t mark)
{
    while (s->n > mark) {
        struct flux_scratch_item *it = &s->items[--s->n];
        if (it->own)
            pictor_backend_free(s->be, it->p);
        s->top = it->top;
    }
    if (s->n == 0) {
        free(s->items);
        s->items = NULL;
        s->cap = 0;
    }
}

int flux_check(struct flux_run *r, int rc, const char *what)
{
    if (rc != PICTOR_OK)
        snprintf(r->err, r->errlen, "flux transformer: %s: %s", what,
                 pictor_backend_error(r->be));
    return rc;
}

int flux_alloc(struct flux_run *r, pictor_tensor *t, int ndim, const int64_t *shape)
{
    return flux_alloc_dtype(r, t, r->act, ndim, shape);
}

int flux_alloc_dtype(struct flux_run *r, pictor_tensor *t, int dtype, int ndim,
                     const int64_t *shape)
{
    struct flux_scratch *s = &r->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        struct flux_scratch_item *p = realloc(s->items, cap * sizeof *p);
        if (!p) {
            snprintf(r->err, r->errlen, "flux transformer: out of memory");
            return PICTOR_E_NOMEM;
        }
        s->items = p;
        s->cap = cap;
    }
    *t = pictor_tensor_make(NULL, dtype, ndim, shape);
    const size_t bytes = (pictor_tensor_nbytes(t) + FLUX_SCRATCH_ALIGN - 1) /
                         FLUX_SCRATCH_ALIGN * FLUX_SCRATCH_ALIGN;
    struct flux_scratch_item it = {.top = s->top, .own = true};
    if (s->arena && s->arena->base && s->top <= s->arena->size &&
        bytes <= s->arena->size - s->top) {
        it.p = (char *)s->arena->base + s->top;
        it.own = false;
        t->data = it.p;
        t->device = pictor_backend_device(r->be);
    } else {
        int rc = pictor_tensor_alloc(r->be, t, dtype, ndim, shape);
        if (rc != PICTOR_OK)
            return flux_check(r, rc, "allocating activations");
        it.p = t->data;
    }
    s->items[s->n++] = it;
    s->top += bytes;
    if (s->top > s->peak)
        s->peak = s->top;
    return PICTOR_OK;
}

void flux_arena_free(struct pictor_flux_transformer *m)
{
    pictor_backend_free(m->be, m->arena.base);
    m->arena.base = NULL;
    m->arena.size = 0;
}

int flux_arena_fit(struct pictor_flux_transformer *m, size_t peak)
{
    if (m->arena.base && peak <= m->arena.size)
        return PICTOR_OK;
    int rc = pictor_backend_synchronize(m->be);
    flux_arena_free(m);
    m->arena.gen++;
    if (rc)
        return rc;
    pictor_backend_trim(m->be); /* the overflow's cached blocks back to the driver */
    rc = pictor_backend_alloc(m->be, peak, &m->arena.base);
    if (rc == PICTOR_OK)
        m->arena.size = peak;
    return rc;
}

pictor_tensor flux_heads(const pictor_tensor *t3, int64_t H)
{
    pictor_tensor v = *t3;
    v.ndim = 4;
    v.shape[3] = t3->shape[2] / H;
    v.shape[2] = H;
    v.stride[3] = t3->stride[2];
    v.stride[2] = t3->stride[2] * v.shape[3];
    return v;
}

pictor_tensor flux_chunk(const pictor_tensor *mod, int i, int64_t D)
{
    pictor_tensor c = pictor_tensor_slice(mod, 1, (int64_t)i * D, D);
    return pictor_tensor_unsqueeze(&c, 1);
}

/* flux_linear with an optional GELU-tanh epilogue. */
static int linear(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                  bool gelu, pictor_tensor *y, const char *what)
{
    const enum pictor_unary g = PICTOR_UNARY_GELU_TANH;
    pictor_tensor xc;
    if (pictor_weight_is_fp8(&l->w)) /* x quantised per token, any dtype */
        return flux_check(r, gelu ? pictor_linear_fp8_act(r->be, x, &l->w, &l->b, g, y)
                                  : pictor_linear_fp8(r->be, x, &l->w, &l->b, y), what);
    if (r->act != PICTOR_F32 && x->dtype != r->act && l->w.dtype == r->act) {
        int rc;
        if ((rc = flux_alloc(r, &xc, x->ndim, x->shape)) ||
            (rc = flux_check(r, pictor_copy(r->be, x, &xc), what)))
            return rc;
        x = &xc;
    }
    return flux_check(r, gelu ? pictor_linear_act(r->be, x, &l->w, &l->b, g, y)
                              : pictor_linear(r->be, x, &l->w, &l->b, y), what);
}

int flux_linear(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                pictor_tensor *y, const char *what)
{
    return linear(r, x, l, false, y, what);
}

int flux_linear_gelu(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                     pictor_tensor *y, const char *what)
{
    return linear(r, x, l, true, y, what);
}

int flux_linear_gated(struct flux_run *r, const pictor_tensor *x, const struct flux_linear *l,
                      const pictor_tensor *gate, pictor_tensor *y, pictor_tensor *scratch,
                      const char *what)
{
    int rc;
    if (pictor_weight_is_fp8(&l->w))
        return flux_check(r, pictor_linear_fp8_gated(r->be, x, &l->w, &l->b, gate, y), what);
    if ((rc = flux_linear(r, x, l, scratch, what)))
        return rc;
    return flux_gated_add(r, y, scratch, gate);
}

int flux_modulate(struct flux_run *r, const pictor_tensor *x, const pictor_tensor *shift,
                  const pictor_tensor *scale, pictor_tensor *y)
{
    return flux_check(r, pictor_ada_layer_norm(r->be, x, FLUX_NORM_EPS, scale, shift, y),
                      "modulated layer_norm");
}

int flux_gated_add(struct flux_run *r, pictor_tensor *x, const pictor_tensor *y,
                   const pictor_tensor *gate)
{
    return flux_check(r, pictor_gated_add(r->be, x, y, gate), "gated residual");
}

int flux_qk_norm_rope(struct flux_run *r, pictor_tensor *qh, const pictor_tensor *weight,
                      int64_t row0, pictor_tensor *y, const char *what)
{
    pictor_tensor cs = pictor_tensor_slice(&r->cos, 0, row0, qh->shape[1]);
    pictor_tensor sn = pictor_tensor_slice(&r->sin, 0, row0, qh->shape[1]);
    return flux_check(r, pictor_rms_norm_rope(r->be, qh, FLUX_NORM_EPS, weight, &cs, &sn, y),
                      what);
}

int flux_attention(struct flux_run *r, const pictor_tensor *q, const pictor_tensor *k,
                   const pictor_tensor *v, pictor_tensor *o)
{
    static const int bhld[4] = {0, 2, 1, 3}; /* [B, N, H, Dh] -> [B, H, N, Dh] */
    pictor_tensor qp = pictor_tensor_permute(q, bhld), kp = pictor_tensor_permute(k, bhld),
                  vp = pictor_tensor_permute(v, bhld), op = pictor_tensor_permute(o, bhld);
    float scale = 1.0f / sqrtf((float)r->Dh);
    if (q->dtype == PICTOR_F8_E4M3)
        return flux_check(r, pictor_sdpa_fp8(r->be, &qp, &kp, &vp, scale, &op), "sdpa_fp8");
    return flux_check(r, pictor_sdpa(r->be, &qp, &kp, &vp, NULL, scale, false, &op), "sdpa");
}
