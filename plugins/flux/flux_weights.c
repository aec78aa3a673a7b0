/* plugins/flux/flux_weights.c — the one list of FluxTransformer2DModel
 * tensors (MODELS.md §4.2, diffusers names) that both loading and
 * pictor_flux_transformer_check walk, so they cannot disagree. */
#include <stdarg.h>
#include <stdio.h>

#include "flux_internal.h"

struct walk {
    flux_param_fn fn;
    void *ctx;
    bool have_model;
};

#define FLUX_NAME_MAX 160

static void emit(struct walk *w, pictor_tensor *slot, int ndim, int64_t d0,
                 int64_t d1, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void emit(struct walk *w, pictor_tensor *slot, int ndim, int64_t d0,
                 int64_t d1, const char *fmt, ...)
{
    char name[FLUX_NAME_MAX];
    int64_t shape[2] = {d0, d1};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    w->fn(w->ctx, w->have_model ? slot : NULL, name, ndim, shape);
}

/* PREFIX.weight [out, in] and PREFIX.bias [out] */
static void linear(struct walk *w, struct flux_linear *l, int64_t out, int64_t in,
                   const char *prefix)
{
    emit(w, l ? &l->w : NULL, 2, out, in, "%s.weight", prefix);
    emit(w, l ? &l->b : NULL, 1, out, 0, "%s.bias", prefix);
}

static void mlp2(struct walk *w, struct flux_mlp2 *e, int64_t D, int64_t in,
                 const char *prefix)
{
    char n[FLUX_NAME_MAX];
    snprintf(n, sizeof n, "%s.linear_1", prefix);
    linear(w, e ? &e->l1 : NULL, D, in, n);
    snprintf(n, sizeof n, "%s.linear_2", prefix);
    linear(w, e ? &e->l2 : NULL, D, D, n);
}

static void double_block(struct walk *w, struct flux_double *b, int i, int64_t D,
                         int64_t Dh)
{
    static const struct { const char *name; size_t off; int rows; } lins[] = {
        /* rows: output features in units of D */
        {"norm1.linear", offsetof(struct flux_double, norm1), 6},
        {"norm1_context.linear", offsetof(struct flux_double, norm1_context), 6},
        {"attn.to_q", offsetof(struct flux_double, to_q), 1},
        {"attn.to_k", offsetof(struct flux_double, to_k), 1},
        {"attn.to_v", offsetof(struct flux_double, to_v), 1},
        {"attn.add_q_proj", offsetof(struct flux_double, add_q), 1},
        {"attn.add_k_proj", offsetof(struct flux_double, add_k), 1},
        {"attn.add_v_proj", offsetof(struct flux_double, add_v), 1},
        {"attn.to_out.0", offsetof(struct flux_double, to_out), 1},
        {"attn.to_add_out", offsetof(struct flux_double, to_add_out), 1},
    };
    static const struct { const char *name; size_t off; } norms[] = {
        {"attn.norm_q", offsetof(struct flux_double, norm_q)},
        {"attn.norm_k", offsetof(struct flux_double, norm_k)},
        {"attn.norm_added_q", offsetof(struct flux_double, norm_added_q)},
        {"attn.norm_added_k", offsetof(struct flux_double, norm_added_k)},
    };
    char n[FLUX_NAME_MAX];
    const int64_t F = FLUX_MLP_RATIO * D;
    for (size_t k = 0; k < sizeof lins / sizeof lins[0]; k++) {
        snprintf(n, sizeof n, "transformer_blocks.%d.%s", i, lins[k].name);
        linear(w, b ? (struct flux_linear *)((char *)b + lins[k].off) : NULL,
               lins[k].rows * D, D, n);
    }
    for (size_t k = 0; k < sizeof norms / sizeof norms[0]; k++)
        emit(w, b ? (pictor_tensor *)((char *)b + norms[k].off) : NULL, 1, Dh, 0,
             "transformer_blocks.%d.%s.weight", i, norms[k].name);
    snprintf(n, sizeof n, "transformer_blocks.%d.ff.net.0.proj", i);
    linear(w, b ? &b->ff0 : NULL, F, D, n);
    snprintf(n, sizeof n, "transformer_blocks.%d.ff.net.2", i);
    linear(w, b ? &b->ff2 : NULL, D, F, n);
    snprintf(n, sizeof n, "transformer_blocks.%d.ff_context.net.0.proj", i);
    linear(w, b ? &b->ffc0 : NULL, F, D, n);
    snprintf(n, sizeof n, "transformer_blocks.%d.ff_context.net.2", i);
    linear(w, b ? &b->ffc2 : NULL, D, F, n);
}

static void single_block(struct walk *w, struct flux_single *b, int j, int64_t D,
                         int64_t Dh)
{
    char n[FLUX_NAME_MAX];
    const int64_t F = FLUX_MLP_RATIO * D;
    const char *pre = "single_transformer_blocks";
    snprintf(n, sizeof n, "%s.%d.norm.linear", pre, j);
    linear(w, b ? &b->norm : NULL, 3 * D, D, n);
    snprintf(n, sizeof n, "%s.%d.attn.to_q", pre, j);
    linear(w, b ? &b->to_q : NULL, D, D, n);
    snprintf(n, sizeof n, "%s.%d.attn.to_k", pre, j);
    linear(w, b ? &b->to_k : NULL, D, D, n);
    snprintf(n, sizeof n, "%s.%d.attn.to_v", pre, j);
    linear(w, b ? &b->to_v : NULL, D, D, n);
    emit(w, b ? &b->norm_q : NULL, 1, Dh, 0, "%s.%d.attn.norm_q.weight", pre, j);
    emit(w, b ? &b->norm_k : NULL, 1, Dh, 0, "%s.%d.attn.norm_k.weight", pre, j);
    snprintf(n, sizeof n, "%s.%d.proj_mlp", pre, j);
    linear(w, b ? &b->proj_mlp : NULL, F, D, n);
    snprintf(n, sizeof n, "%s.%d.proj_out", pre, j);
    linear(w, b ? &b->proj_out : NULL, D, D + F, n);
}

void flux_for_each_param(const struct pictor_flux_config *cfg,
                         struct pictor_flux_transformer *m, flux_param_fn fn,
                         void *ctx)
{
    struct walk w = {.fn = fn, .ctx = ctx, .have_model = m != NULL};
    const int64_t D = pictor_flux_inner_dim(cfg), Dh = cfg->attention_head_dim;
    mlp2(&w, m ? &m->time_emb : NULL, D, FLUX_TIME_CHANNELS,
         "time_text_embed.timestep_embedder");
    if (cfg->guidance_embeds)
        mlp2(&w, m ? &m->guidance_emb : NULL, D, FLUX_TIME_CHANNELS,
             "time_text_embed.guidance_embedder");
    mlp2(&w, m ? &m->text_emb : NULL, D, cfg->pooled_projection_dim,
         "time_text_embed.text_embedder");
    linear(&w, m ? &m->context_embedder : NULL, D, cfg->joint_attention_dim,
           "context_embedder");
    linear(&w, m ? &m->x_embedder : NULL, D, cfg->in_channels, "x_embedder");
    for (int i = 0; i < cfg->num_layers; i++)
        double_block(&w, m ? &m->dbl[i] : NULL, i, D, Dh);
    for (int j = 0; j < cfg->num_single_layers; j++)
        single_block(&w, m ? &m->sgl[j] : NULL, j, D, Dh);
    linear(&w, m ? &m->norm_out : NULL, 2 * D, D, "norm_out.linear");
    linear(&w, m ? &m->proj_out : NULL,
           (int64_t)cfg->patch_size * cfg->patch_size * cfg->out_channels, D, "proj_out");
}

static void count_one(void *ctx, pictor_tensor *slot, const char *name, int ndim,
                      const int64_t *shape)
{
    (void)slot;
    (void)name;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    *(int64_t *)ctx += n;
}

int64_t pictor_flux_config_param_count(const struct pictor_flux_config *cfg)
{
    int64_t n = 0;
    flux_for_each_param(cfg, NULL, count_one, &n);
    return n;
}
