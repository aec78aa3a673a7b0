/*
 * plugins/common/clip_text.c — CLIP text transformer loading and forward;
 * see pictor/clip_text.h. Structure follows transformers' CLIPTextModel
 * (models/clip/modeling_clip.py): embeddings, pre-LN encoder layers with
 * causal self-attention, final LayerNorm, EOS pooling, optional
 * text_projection.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/clip_text.h"
#include "pictor/params.h"
#include "text_common.h"

/* transformers' legacy CLIP eos_token_id: configs carrying it pool at
 * argmax(ids) (modeling_clip.py, "eos_token_id was incorrect before PR
 * #24773"). */
#define CLIP_LEGACY_EOS_ID 2

struct clip_layer {
    pictor_tensor ln1w, ln1b, qw, qb, kw, kb, vw, vb, ow, ob; /* [D, D], [D] */
    pictor_tensor ln2w, ln2b;
    pictor_tensor fc1w, fc1b; /* [I, D], [I] */
    pictor_tensor fc2w, fc2b; /* [D, I], [D] */
};

struct pictor_clip_text {
    struct pictor_clip_text_config cfg;
    pictor_backend *be;
    struct pictor_params params;
    pictor_tensor tok;         /* [V, D] */
    pictor_tensor pos;         /* [max_positions, D] */
    struct clip_layer *layers; /* [cfg.layers] */
    pictor_tensor lnfw, lnfb;  /* [D] */
    bool has_proj;
    pictor_tensor proj;        /* [P, D] */
};

/* ---- loading --------------------------------------------------------- */

static void load_linear(struct pictor_params *p, pictor_tensor *w, pictor_tensor *b,
                        int out, int in, const char *pre, int i, const char *name)
{
    int64_t ws[2] = {out, in}, bs[1] = {out};
    pictor_params_get(p, w, 2, ws, "%sencoder.layers.%d.%s.weight", pre, i, name);
    pictor_params_get(p, b, 1, bs, "%sencoder.layers.%d.%s.bias", pre, i, name);
}

static void load_ln(struct pictor_params *p, pictor_tensor *w, pictor_tensor *b, int d,
                    const char *pre, int i, const char *name)
{
    int64_t s[1] = {d};
    if (i < 0) {
        pictor_params_get(p, w, 1, s, "%s%s.weight", pre, name);
        pictor_params_get(p, b, 1, s, "%s%s.bias", pre, name);
        return;
    }
    pictor_params_get(p, w, 1, s, "%sencoder.layers.%d.%s.weight", pre, i, name);
    pictor_params_get(p, b, 1, s, "%sencoder.layers.%d.%s.bias", pre, i, name);
}

int pictor_clip_text_open(const struct pictor_clip_text_config *cfg,
                          const struct pictor_wsource *src, pictor_backend *be,
                          struct pictor_clip_text **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->layers <= 0 || cfg->heads <= 0 || cfg->hidden % cfg->heads != 0) {
        snprintf(err, errlen, "clip text: unsupported config (%d layers, hidden %d, %d heads)",
                 cfg->layers, cfg->hidden, cfg->heads);
        return PICTOR_E_UNSUPPORTED;
    }
    struct pictor_clip_text *e = calloc(1, sizeof *e);
    if (e)
        e->layers = calloc((size_t)cfg->layers, sizeof *e->layers);
    if (!e || !e->layers) {
        free(e);
        snprintf(err, errlen, "clip text: out of memory");
        return PICTOR_E_NOMEM;
    }
    e->cfg = *cfg;
    e->be = be;
    struct pictor_params *p = &e->params;
    pictor_params_init(p, be, src, err, errlen);
    pictor_params_set_dtype(p, cfg->compute_dtype);

    const int D = cfg->hidden, I = cfg->intermediate;
    /* released checkpoints: "text_model." prefix; transformers 5 saves a
     * CLIPTextModel without it */
    const char *pre = pictor_params_has(p, "text_model.embeddings.token_embedding.weight")
                          ? "text_model." : "";
    int64_t ts[2] = {cfg->vocab_size, D}, ps[2] = {cfg->max_positions, D};
    pictor_params_get(p, &e->tok, 2, ts, "%sembeddings.token_embedding.weight", pre);
    pictor_params_get(p, &e->pos, 2, ps, "%sembeddings.position_embedding.weight", pre);
    for (int i = 0; i < cfg->layers; i++) {
        struct clip_layer *l = &e->layers[i];
        load_ln(p, &l->ln1w, &l->ln1b, D, pre, i, "layer_norm1");
        load_linear(p, &l->qw, &l->qb, D, D, pre, i, "self_attn.q_proj");
        load_linear(p, &l->kw, &l->kb, D, D, pre, i, "self_attn.k_proj");
        load_linear(p, &l->vw, &l->vb, D, D, pre, i, "self_attn.v_proj");
        load_linear(p, &l->ow, &l->ob, D, D, pre, i, "self_attn.out_proj");
        load_ln(p, &l->ln2w, &l->ln2b, D, pre, i, "layer_norm2");
        load_linear(p, &l->fc1w, &l->fc1b, I, D, pre, i, "mlp.fc1");
        load_linear(p, &l->fc2w, &l->fc2b, D, I, pre, i, "mlp.fc2");
    }
    load_ln(p, &e->lnfw, &e->lnfb, D, pre, -1, "final_layer_norm");
    e->has_proj = cfg->with_projection || pictor_params_has(p, "text_projection.weight");
    if (e->has_proj) {
        int64_t s[2] = {cfg->projection_dim, D};
        pictor_params_get(p, &e->proj, 2, s, "text_projection.weight");
    }
    if (p->status != PICTOR_OK) {
        int rc = p->status;
        pictor_clip_text_close(e);
        return rc;
    }
    *out = e;
    return PICTOR_OK;
}

void pictor_clip_text_close(struct pictor_clip_text *enc)
{
    if (!enc)
        return;
    pictor_params_release(&enc->params);
    free(enc->layers);
    free(enc);
}

bool pictor_clip_text_has_projection(const struct pictor_clip_text *enc)
{
    return enc->has_proj;
}

long long pictor_clip_text_param_count(const struct pictor_clip_text *enc)
{
    return (long long)enc->params.n_values;
}

int64_t pictor_clip_text_eos_position(const pictor_tensor *ids, int64_t b,
                                      int64_t eos_token_id)
{
    const int64_t L = ids->shape[1];
    int64_t best = 0;
    for (int64_t l = 0; l < L; l++) {
        int64_t id = txt_id_at(ids, b, l);
        if (eos_token_id == CLIP_LEGACY_EOS_ID) {
            if (id > txt_id_at(ids, b, best))
                best = l; /* strictly greater: the first maximum wins */
        } else if (id == eos_token_id) {
            return l;
        }
    }
    return best;
}

/* ---- forward --------------------------------------------------------- */

struct clip_run {
    struct pictor_clip_text *e;
    pictor_backend *be;
    char *err;
    size_t errlen;
    pictor_tensor h, a, q, k, v, o; /* [B, L, D]: h f32, the rest the compute dtype */
    pictor_tensor m;                /* [B, L, I] f32 */
};

static int run_fail(struct clip_run *r, int rc, int layer, const char *what)
{
    if (layer >= 0)
        snprintf(r->err, r->errlen, "clip text: layer %d %s: %s", layer, what,
                 pictor_backend_error(r->be));
    else
        snprintf(r->err, r->errlen, "clip text: %s: %s", what, pictor_backend_error(r->be));
    return rc;
}

/* One encoder layer, in place on r->h. */
static int clip_layer_forward(struct clip_run *r, int i)
{
    const struct clip_layer *l = &r->e->layers[i];
    const struct pictor_clip_text_config *c = &r->e->cfg;
    pictor_backend *be = r->be;
    const int64_t dh = c->hidden / c->heads;
    const float scale = (float)(1.0 / sqrt((double)dh)); /* head_dim ** -0.5 */
    int rc;
    if ((rc = pictor_layer_norm(be, &r->h, c->eps, &l->ln1w, &l->ln1b, &r->a)))
        return run_fail(r, rc, i, "layer_norm1");
    if ((rc = pictor_linear(be, &r->a, &l->qw, &l->qb, &r->q)) ||
        (rc = pictor_linear(be, &r->a, &l->kw, &l->kb, &r->k)) ||
        (rc = pictor_linear(be, &r->a, &l->vw, &l->vb, &r->v)))
        return run_fail(r, rc, i, "q/k/v projection");
    pictor_tensor q4 = txt_heads(&r->q, c->heads), k4 = txt_heads(&r->k, c->heads),
                  v4 = txt_heads(&r->v, c->heads), o4 = txt_heads(&r->o, c->heads);
    if ((rc = pictor_sdpa(be, &q4, &k4, &v4, NULL, scale, true, &o4)))
        return run_fail(r, rc, i, "attention");
    if ((rc = pictor_linear(be, &r->o, &l->ow, &l->ob, &r->a)) ||
        (rc = pictor_add(be, &r->h, &r->a, &r->h)))
        return run_fail(r, rc, i, "out_proj + residual");
    if ((rc = pictor_layer_norm(be, &r->h, c->eps, &l->ln2w, &l->ln2b, &r->a)))
        return run_fail(r, rc, i, "layer_norm2");
    if ((rc = pictor_linear(be, &r->a, &l->fc1w, &l->fc1b, &r->m)) ||
        (rc = pictor_unary(be, c->act, &r->m, &r->m)) ||
        (rc = pictor_linear(be, &r->m, &l->fc2w, &l->fc2b, &r->a)) ||
        (rc = pictor_add(be, &r->h, &r->a, &r->h)))
        return run_fail(r, rc, i, "mlp");
    return PICTOR_OK;
}

/* 1-D view [D] of row (i, j) of a [B, L, D] tensor, or of row i of [B, D]
 * (j < 0). */
static pictor_tensor row_view(const pictor_tensor *t, int64_t i, int64_t j)
{
    pictor_tensor v = pictor_tensor_slice(t, 0, i, 1);
    if (j >= 0)
        v = pictor_tensor_slice(&v, 1, j, 1);
    v.shape[0] = t->shape[t->ndim - 1];
    v.stride[0] = t->stride[t->ndim - 1];
    v.ndim = 1;
    return v;
}

static bool shape_is(const pictor_tensor *t, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
    return t->ndim == ndim && t->shape[0] == d0 && t->shape[1] == d1 &&
           (ndim < 3 || t->shape[2] == d2);
}

/* Checks the caller's output tensors; sets *n_run (layers to compute) and
 * *hidden_at (layer whose output goes to out->hidden, -1 none). */
static int check_outputs(const struct pictor_clip_text *e, int64_t B, int64_t L,
                         const struct pictor_clip_text_out *out, int *n_run, int *hidden_at,
                         char *err, size_t errlen)
{
    const int N = e->cfg.layers, D = e->cfg.hidden;
    char b[96];
    const pictor_tensor *bad = NULL;
    if (out->last_hidden_state && !shape_is(out->last_hidden_state, 3, B, L, D))
        bad = out->last_hidden_state;
    else if (out->hidden && !shape_is(out->hidden, 3, B, L, D))
        bad = out->hidden;
    else if (out->pooled && !shape_is(out->pooled, 2, B, D, 0))
        bad = out->pooled;
    else if (out->text_embeds && !shape_is(out->text_embeds, 2, B, e->cfg.projection_dim, 0))
        bad = out->text_embeds;
    if (bad) {
        snprintf(err, errlen, "clip text: output %s does not match ids [%lld, %lld] "
                 "(hidden %d, projection %d)", pictor_tensor_describe(bad, b, sizeof b),
                 (long long)B, (long long)L, D, e->cfg.projection_dim);
        return PICTOR_E_INVALID;
    }
    if (out->text_embeds && !e->has_proj) {
        snprintf(err, errlen, "clip text: text_embeds asked of a model without text_projection");
        return PICTOR_E_INVALID;
    }
    *hidden_at = -1;
    *n_run = 0;
    if (out->hidden) {
        int k = out->hidden_index < 0 ? out->hidden_index + N + 1 : out->hidden_index;
        if (k < 0 || k > N) {
            snprintf(err, errlen, "clip text: hidden_index %d outside the %d hidden states",
                     out->hidden_index, N + 1);
            return PICTOR_E_INVALID;
        }
        *hidden_at = k;
        *n_run = k;
    }
    if (out->last_hidden_state || out->pooled || out->text_embeds)
        *n_run = N;
    return PICTOR_OK;
}

/* Final LN, pooling and projection from r->h. */
static int clip_head(struct clip_run *r, const pictor_tensor *ids,
                     const struct pictor_clip_text_out *out)
{
    struct pictor_clip_text *e = r->e;
    pictor_backend *be = r->be;
    const int64_t B = ids->shape[0];
    pictor_tensor *fin = out->last_hidden_state ? out->last_hidden_state : &r->a;
    pictor_tensor pooled_tmp = {0};
    int rc;
    if ((rc = pictor_layer_norm(be, &r->h, e->cfg.eps, &e->lnfw, &e->lnfb, fin)))
        return run_fail(r, rc, -1, "final_layer_norm");
    if (!out->pooled && !out->text_embeds)
        return PICTOR_OK;
    pictor_tensor *pooled = out->pooled;
    if (!pooled) {
        int64_t s[2] = {B, e->cfg.hidden};
        if ((rc = pictor_tensor_alloc(be, &pooled_tmp, PICTOR_F32, 2, s)))
            return run_fail(r, rc, -1, "allocating pooled");
        pooled = &pooled_tmp;
    }
    for (int64_t b = 0; b < B && rc == PICTOR_OK; b++) {
        int64_t at = pictor_clip_text_eos_position(ids, b, e->cfg.eos_token_id);
        pictor_tensor src = row_view(fin, b, at), dst = row_view(pooled, b, -1);
        if ((rc = pictor_copy(be, &src, &dst)))
            rc = run_fail(r, rc, -1, "pooling");
    }
    if (rc == PICTOR_OK && out->text_embeds &&
        (rc = pictor_linear(be, pooled, &e->proj, NULL, out->text_embeds)))
        rc = run_fail(r, rc, -1, "text_projection");
    pictor_tensor_free(be, &pooled_tmp);
    return rc;
}

int pictor_clip_text_forward(struct pictor_clip_text *e, const pictor_tensor *ids,
                             const struct pictor_clip_text_out *out, char *err,
                             size_t errlen)
{
    struct clip_run r = {.e = e, .be = e->be, .err = err, .errlen = errlen};
    pictor_backend *be = e->be;
    pictor_tensor ids_dev = {0};
    const pictor_tensor *ids_use;
    int n_run, hidden_at, rc;
    if (ids->ndim != 2 || (ids->dtype != PICTOR_I64 && ids->dtype != PICTOR_I32) ||
        ids->shape[1] < 1 || ids->shape[1] > e->cfg.max_positions || ids->shape[0] < 1) {
        char b[96];
        snprintf(err, errlen, "clip text: ids %s, expected [B, L <= %d] i64 or i32",
                 pictor_tensor_describe(ids, b, sizeof b), e->cfg.max_positions);
        return PICTOR_E_INVALID;
    }
    const int64_t B = ids->shape[0], L = ids->shape[1];
    if ((rc = check_outputs(e, B, L, out, &n_run, &hidden_at, err, errlen)))
        return rc;
    const int64_t D = e->cfg.hidden, I = e->cfg.intermediate;
    const int act = e->cfg.compute_dtype;
    /* the residual stream r.h is f32 whatever the compute dtype */
    if ((rc = txt_alloc(be, PICTOR_F32, &r.h, B, L, D)) ||
        (rc = txt_alloc(be, act, &r.a, B, L, D)) || (rc = txt_alloc(be, act, &r.q, B, L, D)) ||
        (rc = txt_alloc(be, act, &r.k, B, L, D)) || (rc = txt_alloc(be, act, &r.v, B, L, D)) ||
        (rc = txt_alloc(be, act, &r.o, B, L, D)) || (rc = txt_alloc(be, act, &r.m, B, L, I))) {
        rc = run_fail(&r, rc, -1, "allocating activations");
        goto out;
    }
    if ((rc = txt_ids_on_device(be, ids, &ids_dev, &ids_use))) {
        rc = run_fail(&r, rc, -1, "uploading ids");
        goto out;
    }
    /* h0 = token_embedding[ids] + position_embedding[0..L-1] (broadcast) */
    pictor_tensor pos = pictor_tensor_slice(&e->pos, 0, 0, L);
    if ((rc = pictor_embedding(be, &e->tok, ids_use, &r.h)) ||
        (rc = pictor_add(be, &r.h, &pos, &r.h))) {
        rc = run_fail(&r, rc, -1, "embeddings");
        goto out;
    }
    for (int i = 0; i <= n_run; i++) {
        if (i == hidden_at && (rc = pictor_copy(be, &r.h, out->hidden))) {
            rc = run_fail(&r, rc, -1, "copying the hidden state");
            goto out;
        }
        if (i < n_run && (rc = clip_layer_forward(&r, i)))
            goto out;
    }
    if (n_run == e->cfg.layers && (out->last_hidden_state || out->pooled || out->text_embeds))
        rc = clip_head(&r, ids, out);
out:
    pictor_tensor_free(be, &ids_dev);
    pictor_tensor_free(be, &r.m);
    pictor_tensor_free(be, &r.o);
    pictor_tensor_free(be, &r.v);
    pictor_tensor_free(be, &r.k);
    pictor_tensor_free(be, &r.q);
    pictor_tensor_free(be, &r.a);
    pictor_tensor_free(be, &r.h);
    return rc;
}
