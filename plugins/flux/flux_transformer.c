/*
 * plugins/flux/flux_transformer.c — FluxTransformer2DModel open/close and
 * the top-level forward (MODELS.md §4.3); see pictor/flux_transformer.h.
 *   h[:, T:] = x_embedder(hidden_states); h[:, :T] = context_embedder(ctx)
 *   SiLU(temb), RoPE tables               (flux_embed.c)
 *   num_layers double-stream blocks        (flux_blocks.c)
 *   num_single_layers single-stream blocks (flux_single.c)
 *   out = proj_out(LN(x)(1 + scale) + shift), (scale, shift) =
 *         chunk2(norm_out.linear(SiLU temb))  (AdaLayerNormContinuous)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_internal.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

struct load_ctx {
    struct pictor_params *params;
    bool fp8;
};

/* Loads one tensor; under fp8_linears a block linear's weight is quantised
 * at once, so its 16-bit copy is freed before the next one is loaded. */
static void load_one(void *ctx, pictor_tensor *slot, const char *name, int ndim,
                     const int64_t *shape)
{
    struct load_ctx *l = ctx;
    if (pictor_params_get(l->params, slot, ndim, shape, "%s", name) == PICTOR_OK && l->fp8 &&
        slot && flux_fp8_weight(name, ndim))
        pictor_params_quantize_rows(l->params, slot, name);
}

int pictor_flux_transformer_open(const struct pictor_flux_config *cfg,
                                 const struct pictor_wsource *src, pictor_backend *be,
                                 struct pictor_flux_transformer **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    int rc = pictor_flux_config_validate(cfg, err, errlen);
    if (rc)
        return rc;
    struct pictor_flux_transformer *m = calloc(1, sizeof *m);
    if (m) {
        m->dbl = calloc((size_t)cfg->num_layers + 1, sizeof *m->dbl);
        m->sgl = calloc((size_t)cfg->num_single_layers + 1, sizeof *m->sgl);
    }
    if (!m || !m->dbl || !m->sgl) {
        snprintf(err, errlen, "flux transformer: out of memory");
        pictor_flux_transformer_close(m);
        return PICTOR_E_NOMEM;
    }
    m->cfg = *cfg;
    m->be = be;
    m->use_graphs = pictor_backend_graphs_offered(be);
    pictor_params_init(&m->params, be, src, err, errlen);
    pictor_params_set_dtype(&m->params, cfg->compute_dtype);
    struct load_ctx lc = {.params = &m->params, .fp8 = cfg->fp8_linears};
    flux_for_each_param(cfg, m, load_one, &lc);
    if ((rc = m->params.status) != PICTOR_OK || (rc = flux_attn_fp8_bounds(m, err, errlen))) {
        pictor_flux_transformer_close(m);
        return rc;
    }
    *out = m;
    return PICTOR_OK;
}

void pictor_flux_transformer_release_memory(struct pictor_flux_transformer *m)
{
    if (!m)
        return;
    flux_graphs_free(m);
    pictor_backend_synchronize(m->be); /* nothing queued may still use the arena */
    flux_arena_free(m);
    m->arena.gen++;
    pictor_backend_trim(m->be);
}

void pictor_flux_transformer_close(struct pictor_flux_transformer *m)
{
    if (!m)
        return;
    flux_graphs_free(m);
    flux_rope_cache_free(m->be, &m->rope);
    flux_arena_free(m);
    pictor_params_release(&m->params);
    free(m->dbl);
    free(m->sgl);
    free(m);
}

long long pictor_flux_transformer_param_count(const struct pictor_flux_transformer *m)
{
    return (long long)m->params.n_values;
}

const struct pictor_flux_config *pictor_flux_transformer_config(
    const struct pictor_flux_transformer *m)
{
    return &m->cfg;
}

/* ---- input validation ------------------------------------------------ */

static bool dims_are(const pictor_tensor *t, int ndim, const int64_t *shape)
{
    if (!t || t->ndim != ndim)
        return false;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != shape[i])
            return false;
    return true;
}

static int bad_input(char *err, size_t errlen, const char *name, const pictor_tensor *t,
                     const char *want)
{
    char got[96] = "absent";
    if (t)
        pictor_tensor_describe(t, got, sizeof got);
    snprintf(err, errlen, "flux transformer: %s is %s, expected %s", name, got, want);
    return PICTOR_E_INVALID;
}

static int check_inputs(const struct pictor_flux_config *cfg,
                        const struct pictor_flux_inputs *in, const pictor_tensor *out,
                        char *err, size_t errlen)
{
    const pictor_tensor *x = in->hidden_states, *c = in->encoder_hidden_states;
    char want[128];
    if (!x || x->ndim != 3 || x->shape[2] != cfg->in_channels || x->shape[0] < 1 ||
        x->shape[1] < 1) {
        snprintf(want, sizeof want, "[B, L, %d]", cfg->in_channels);
        return bad_input(err, errlen, "hidden_states", x, want);
    }
    const int64_t B = x->shape[0], L = x->shape[1];
    if (!c || c->ndim != 3 || c->shape[0] != B || c->shape[2] != cfg->joint_attention_dim) {
        snprintf(want, sizeof want, "[%lld, T, %d]", (long long)B, cfg->joint_attention_dim);
        return bad_input(err, errlen, "encoder_hidden_states", c, want);
    }
    const int64_t T = c->shape[1], A = cfg->n_axes;
    struct { const char *name; const pictor_tensor *t; int ndim; int64_t shape[3]; } want_[] = {
        {"pooled_projections", in->pooled_projections, 2, {B, cfg->pooled_projection_dim}},
        {"timestep", in->timestep, 1, {B}},
        {"guidance", in->guidance, 1, {B}},
        {"img_ids", in->img_ids, 2, {L, A}},
        {"txt_ids", in->txt_ids, 2, {T, A}},
        {"output", out, 3, {B, L, cfg->out_channels}},
    };
    for (size_t i = 0; i < sizeof want_ / sizeof want_[0]; i++) {
        if (want_[i].t == in->guidance && !cfg->guidance_embeds)
            continue; /* schnell: guidance is ignored, as diffusers does */
        if (!dims_are(want_[i].t, want_[i].ndim, want_[i].shape)) {
            size_t w = 0;
            for (int d = 0; d < want_[i].ndim; d++)
                w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld", d ? ", " : "[",
                                      (long long)want_[i].shape[d]);
            snprintf(want + w, sizeof want - w, "]%s",
                     want_[i].t == in->guidance ? " (guidance_embeds is true)" : "");
            return bad_input(err, errlen, want_[i].name, want_[i].t, want);
        }
    }
    const pictor_tensor *ids[2] = {in->img_ids, in->txt_ids};
    for (int i = 0; i < 2; i++)
        if (ids[i]->dtype != PICTOR_F32 || ids[i]->device != PICTOR_DEVICE_CPU)
            return bad_input(err, errlen, i ? "txt_ids" : "img_ids", ids[i],
                             "a CPU f32 tensor (RoPE tables are computed on the host)");
    return PICTOR_OK;
}

/* ---- forward ------------------------------------------------------------ */

/* AdaLayerNormContinuous (scale first, then shift) and proj_out. */
static int final_layer(struct flux_run *r, pictor_tensor *out)
{
    const struct pictor_flux_transformer *m = r->m;
    int64_t sm[2] = {r->B, 2 * r->D}, sx[3] = {r->B, r->L, r->D};
    pictor_tensor mod, xn, x = pictor_tensor_slice(&r->h, 1, r->T, r->L);
    int rc;
    if ((rc = flux_alloc(r, &mod, 2, sm)) ||
        (rc = flux_linear(r, &r->silu_temb, &m->norm_out, &mod, "norm_out.linear")))
        return rc;
    pictor_tensor scale = flux_chunk(&mod, 0, r->D), shift = flux_chunk(&mod, 1, r->D);
    if ((rc = flux_alloc(r, &xn, 3, sx)) || (rc = flux_modulate(r, &x, &shift, &scale, &xn)) ||
        (rc = flux_linear(r, &xn, &m->proj_out, out, "proj_out")))
        return rc;
    return PICTOR_OK;
}

/* "flux transformer: what: ..." -> "flux transformer: PREFIX.i: what: ..." */
static void name_block(char *err, size_t errlen, const char *prefix, int i)
{
    static const char head[] = "flux transformer: ";
    char rest[512];
    const char *tail = strncmp(err, head, sizeof head - 1) == 0 ? err + sizeof head - 1 : err;
    snprintf(rest, sizeof rest, "%s", tail);
    snprintf(err, errlen, "%s%s.%d: %s", head, prefix, i, rest);
}

int flux_forward_run(struct pictor_flux_transformer *m, const struct pictor_flux_inputs *in,
                     pictor_tensor *out, struct flux_rope_cache *rope, bool capturing,
                     char *err, size_t errlen)
{
    const struct pictor_flux_config *cfg = &m->cfg;
    struct flux_run r = {.m = m, .be = m->be, .s = {.be = m->be, .arena = &m->arena},
                         .err = err, .errlen = errlen, .act = cfg->compute_dtype, .rope = rope};
    r.B = in->hidden_states->shape[0];
    r.L = in->hidden_states->shape[1];
    r.T = in->encoder_hidden_states->shape[1];
    r.N = r.T + r.L;
    r.D = pictor_flux_inner_dim(cfg);
    r.H = cfg->num_attention_heads;
    r.Dh = cfg->attention_head_dim;
    int64_t sh[3] = {r.B, r.N, r.D};
    int rc;
    if ((rc = flux_alloc_dtype(&r, &r.h, PICTOR_F32, 3, sh))) /* residual stream: f32 */
        goto out;
    flux_attn_fp8_decide(&r);
    pictor_tensor hx = pictor_tensor_slice(&r.h, 1, r.T, r.L);
    pictor_tensor hc = pictor_tensor_slice(&r.h, 1, 0, r.T);
    if ((rc = flux_linear(&r, in->hidden_states, &m->x_embedder, &hx, "x_embedder")) ||
        (rc = flux_linear(&r, in->encoder_hidden_states, &m->context_embedder, &hc,
                          "context_embedder")) ||
        (rc = flux_embed_time(&r, in)) || (rc = flux_embed_rope(&r, in)))
        goto out;
    for (int i = 0; i < cfg->num_layers; i++)
        if ((rc = flux_double_block(&r, &m->dbl[i]))) {
            name_block(err, errlen, "transformer_blocks", i);
            goto out;
        }
    for (int j = 0; j < cfg->num_single_layers; j++)
        if ((rc = flux_single_block(&r, &m->sgl[j]))) {
            name_block(err, errlen, "single_transformer_blocks", j);
            goto out;
        }
    rc = final_layer(&r, out);
out:
    flux_scratch_release(&r.s, 0);
    if (rc == PICTOR_OK && !capturing && (rc = flux_arena_fit(m, r.s.peak)))
        snprintf(err, errlen, "flux transformer: activation arena of %zu bytes: %s", r.s.peak,
                 pictor_backend_error(m->be));
    return rc;
}

int pictor_flux_transformer_forward(struct pictor_flux_transformer *m,
                                    const struct pictor_flux_inputs *in, pictor_tensor *out,
                                    char *err, size_t errlen)
{
    int rc = check_inputs(&m->cfg, in, out, err, errlen);
    if (rc)
        return rc;
    if (m->use_graphs && pictor_backend_graphs_offered(m->be))
        return flux_forward_graphed(m, in, out, err, errlen);
    return flux_forward_run(m, in, out, &m->rope, false, err, errlen);
}

void pictor_flux_transformer_set_graphs(struct pictor_flux_transformer *m, bool on)
{
    m->use_graphs = on;
    if (!on)
        flux_graphs_free(m);
}
