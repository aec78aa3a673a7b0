/* plugins/flux/flux_bfl.c — diffusers names over an original BFL FLUX
 * checkpoint (see flux_bfl.h; mapping of MODELS.md §4.2). */
#include "flux_bfl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_internal.h"
#include "pictor/common_host.h"
#include "pictor/tensor_util.h"

#define BFL_NAME_MAX 192
#define BFL_PROBE "double_blocks.0.img_attn.qkv.weight"

enum bfl_kind { BFL_PLAIN, BFL_ROWS, BFL_SWAP };

/* dpre: diffusers name (exact) or prefix before "weight"/"bias"; rows in
 * units of D: [start, start + len) of a source of `total` units. */
struct bfl_rule {
    const char *dpre, *bpre;
    bool exact;
    int kind, start, len, total;
};

#define LIN(d, b) {d, b, false, BFL_PLAIN, 0, 0, 0}
#define NORM(d, b) {d, b, true, BFL_PLAIN, 0, 0, 0}
#define ROWS(d, b, s, l, t) {d, b, false, BFL_ROWS, s, l, t}

static const struct bfl_rule top_rules[] = {
    LIN("x_embedder.", "img_in."),
    LIN("context_embedder.", "txt_in."),
    LIN("time_text_embed.timestep_embedder.linear_1.", "time_in.in_layer."),
    LIN("time_text_embed.timestep_embedder.linear_2.", "time_in.out_layer."),
    LIN("time_text_embed.text_embedder.linear_1.", "vector_in.in_layer."),
    LIN("time_text_embed.text_embedder.linear_2.", "vector_in.out_layer."),
    LIN("time_text_embed.guidance_embedder.linear_1.", "guidance_in.in_layer."),
    LIN("time_text_embed.guidance_embedder.linear_2.", "guidance_in.out_layer."),
    {"norm_out.linear.", "final_layer.adaLN_modulation.1.", false, BFL_SWAP, 0, 0, 0},
    LIN("proj_out.", "final_layer.linear."),
};

static const struct bfl_rule double_rules[] = {
    LIN("norm1.linear.", "img_mod.lin."),
    LIN("norm1_context.linear.", "txt_mod.lin."),
    ROWS("attn.to_q.", "img_attn.qkv.", 0, 1, 3),
    ROWS("attn.to_k.", "img_attn.qkv.", 1, 1, 3),
    ROWS("attn.to_v.", "img_attn.qkv.", 2, 1, 3),
    ROWS("attn.add_q_proj.", "txt_attn.qkv.", 0, 1, 3),
    ROWS("attn.add_k_proj.", "txt_attn.qkv.", 1, 1, 3),
    ROWS("attn.add_v_proj.", "txt_attn.qkv.", 2, 1, 3),
    NORM("attn.norm_q.weight", "img_attn.norm.query_norm.scale"),
    NORM("attn.norm_k.weight", "img_attn.norm.key_norm.scale"),
    NORM("attn.norm_added_q.weight", "txt_attn.norm.query_norm.scale"),
    NORM("attn.norm_added_k.weight", "txt_attn.norm.key_norm.scale"),
    LIN("attn.to_out.0.", "img_attn.proj."),
    LIN("attn.to_add_out.", "txt_attn.proj."),
    LIN("ff.net.0.proj.", "img_mlp.0."),
    LIN("ff.net.2.", "img_mlp.2."),
    LIN("ff_context.net.0.proj.", "txt_mlp.0."),
    LIN("ff_context.net.2.", "txt_mlp.2."),
};

static const struct bfl_rule single_rules[] = {
    LIN("norm.linear.", "modulation.lin."),
    ROWS("attn.to_q.", "linear1.", 0, 1, 3 + FLUX_MLP_RATIO),
    ROWS("attn.to_k.", "linear1.", 1, 1, 3 + FLUX_MLP_RATIO),
    ROWS("attn.to_v.", "linear1.", 2, 1, 3 + FLUX_MLP_RATIO),
    ROWS("proj_mlp.", "linear1.", 3, FLUX_MLP_RATIO, 3 + FLUX_MLP_RATIO),
    NORM("attn.norm_q.weight", "norm.query_norm.scale"),
    NORM("attn.norm_k.weight", "norm.key_norm.scale"),
    LIN("proj_out.", "linear2."),
};

#define NRULES(a) (sizeof a / sizeof a[0])

struct bfl_target {
    char bfl[BFL_NAME_MAX];
    int kind, start, len, total;
    int leaf; /* 0 weight, 1 bias (rules with a leaf) */
};

struct bfl_pair {
    char *bfl, *diffusers;
};

struct bfl_copy {
    void *data;
    float *row_scale;
};

struct bfl {
    struct pictor_wsource inner;
    int64_t D;
    char path[1024];
    char where_buf[1024 + 2 * BFL_NAME_MAX];
    pthread_mutex_t lock;
    struct bfl_copy swap[2];
    struct bfl_pair *pairs; /* sorted by bfl name */
    size_t n_pairs, cap_pairs;
    const char **list; /* one entry per inner tensor */
    size_t n_list;
    bool nomem;
};

static bool apply(const struct bfl_rule *r, size_t n, const char *rest, const char *bpre,
                  struct bfl_target *t)
{
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(r[i].dpre);
        const char *leaf = rest + pl;
        if (r[i].exact ? strcmp(rest, r[i].dpre) != 0 : strncmp(rest, r[i].dpre, pl) != 0)
            continue;
        if (!r[i].exact && strcmp(leaf, "weight") != 0 && strcmp(leaf, "bias") != 0)
            continue;
        int w = snprintf(t->bfl, sizeof t->bfl, "%s%s%s", bpre, r[i].bpre,
                         r[i].exact ? "" : leaf);
        if (w < 0 || (size_t)w >= sizeof t->bfl)
            return false;
        t->kind = r[i].kind;
        t->start = r[i].start;
        t->len = r[i].len;
        t->total = r[i].total;
        t->leaf = !r[i].exact && strcmp(leaf, "bias") == 0;
        return true;
    }
    return false;
}

/* "PREFIX<digits>.REST": copies "<digits>" into idx and returns REST. */
static const char *block_rest(const char *name, const char *prefix, char *idx, size_t len)
{
    size_t pl = strlen(prefix), n = 0;
    if (strncmp(name, prefix, pl) != 0)
        return NULL;
    name += pl;
    while (name[n] >= '0' && name[n] <= '9')
        n++;
    if (n == 0 || n >= len || name[n] != '.')
        return NULL;
    memcpy(idx, name, n);
    idx[n] = '\0';
    return name + n + 1;
}

static bool translate(const char *name, struct bfl_target *t)
{
    char idx[16], pre[48];
    const char *rest;
    if ((rest = block_rest(name, "transformer_blocks.", idx, sizeof idx))) {
        snprintf(pre, sizeof pre, "double_blocks.%s.", idx);
        return apply(double_rules, NRULES(double_rules), rest, pre, t);
    }
    if ((rest = block_rest(name, "single_transformer_blocks.", idx, sizeof idx))) {
        snprintf(pre, sizeof pre, "single_blocks.%s.", idx);
        return apply(single_rules, NRULES(single_rules), rest, pre, t);
    }
    return apply(top_rules, NRULES(top_rules), name, "", t);
}

/* norm_out.linear: the inner tensor with its two row halves swapped. */
static int swapped(struct bfl *b, int leaf, pictor_tensor *t)
{
    if (!t->data || t->ndim < 1 || t->shape[0] % 2 || !pictor_tensor_is_contiguous(t))
        return PICTOR_OK; /* header only, or the shape check will report it */
    int rc = PICTOR_OK;
    pthread_mutex_lock(&b->lock);
    struct bfl_copy *c = &b->swap[leaf];
    if (!c->data) {
        size_t n = pictor_tensor_nbytes(t), h = n / 2, rows = (size_t)t->shape[0];
        void *d = malloc(n ? n : 1);
        float *rs = t->row_scale ? malloc(rows * sizeof *rs) : NULL;
        if (!d || (t->row_scale && !rs)) {
            free(d);
            free(rs);
            rc = PICTOR_E_NOMEM;
            goto unlock;
        }
        memcpy(d, (const char *)t->data + h, h);
        memcpy((char *)d + h, t->data, h);
        if (rs) {
            memcpy(rs, t->row_scale + rows / 2, rows / 2 * sizeof *rs);
            memcpy(rs + rows / 2, t->row_scale, rows / 2 * sizeof *rs);
        }
        c->data = d;
        c->row_scale = rs;
    }
    t->data = c->data;
    t->row_scale = c->row_scale;
unlock:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int bfl_get(void *ctx, const char *name, pictor_tensor *out)
{
    struct bfl *b = ctx;
    struct bfl_target t;
    if (!translate(name, &t))
        return PICTOR_E_NOT_FOUND;
    int rc = b->inner.get(b->inner.ctx, t.bfl, out);
    if (rc != PICTOR_OK)
        return rc;
    if (t.kind == BFL_ROWS && out->ndim >= 1 && out->shape[0] == t.total * b->D)
        *out = pictor_tensor_slice(out, 0, t.start * b->D, t.len * b->D);
    else if (t.kind == BFL_SWAP)
        return swapped(b, t.leaf, out);
    return PICTOR_OK;
}

static const char *bfl_where(void *ctx, const char *name)
{
    struct bfl *b = ctx;
    struct bfl_target t;
    if (!translate(name, &t))
        return b->path;
    const char *w = b->inner.where ? b->inner.where(b->inner.ctx, t.bfl) : NULL;
    snprintf(b->where_buf, sizeof b->where_buf, "%s (BFL tensor '%s')", w ? w : b->path,
             t.bfl);
    return b->where_buf;
}

bool flux_bfl_detect(const struct pictor_wsource *src)
{
    pictor_tensor t;
    return src && src->get && src->get(src->ctx, BFL_PROBE, &t) == PICTOR_OK;
}

bool flux_bfl_is_wrapper(const struct pictor_wsource *src)
{
    return src && src->get == bfl_get;
}

size_t flux_bfl_count(const struct pictor_wsource *src)
{
    return flux_bfl_is_wrapper(src) ? ((const struct bfl *)src->ctx)->n_list : 0;
}

const char *flux_bfl_name(const struct pictor_wsource *src, size_t i)
{
    const struct bfl *b = flux_bfl_is_wrapper(src) ? src->ctx : NULL;
    return b && i < b->n_list ? b->list[i] : NULL;
}

/* ---- name listing: each inner tensor as the diffusers name it feeds ---- */

static void add_pair(void *ctx, pictor_tensor *slot, const char *name, int ndim,
                     const int64_t *shape)
{
    struct bfl *b = ctx;
    struct bfl_target t;
    (void)slot;
    (void)ndim;
    (void)shape;
    if (b->nomem || !translate(name, &t))
        return;
    if (b->n_pairs == b->cap_pairs) {
        size_t cap = b->cap_pairs ? 2 * b->cap_pairs : 256;
        struct bfl_pair *p = realloc(b->pairs, cap * sizeof *p);
        if (!p) {
            b->nomem = true;
            return;
        }
        b->pairs = p;
        b->cap_pairs = cap;
    }
    struct bfl_pair *p = &b->pairs[b->n_pairs];
    p->bfl = strdup(t.bfl);
    p->diffusers = strdup(name);
    b->n_pairs++;
    if (!p->bfl || !p->diffusers)
        b->nomem = true;
}

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(((const struct bfl_pair *)a)->bfl, ((const struct bfl_pair *)b)->bfl);
}

static int build_list(struct bfl *b, const struct pictor_flux_config *cfg)
{
    const struct pictor_host_api *host = pictor_common_host();
    flux_for_each_param(cfg, NULL, add_pair, b);
    if (b->nomem)
        return PICTOR_E_NOMEM;
    qsort(b->pairs, b->n_pairs, sizeof *b->pairs, cmp_pair);
    if (!host || !host->weights_count || !host->weights_name)
        return PICTOR_OK;
    size_t n = host->weights_count(&b->inner);
    if (n && !(b->list = calloc(n, sizeof *b->list)))
        return PICTOR_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *nm = host->weights_name(&b->inner, i);
        struct bfl_pair key = {.bfl = (char *)nm}, *hit;
        hit = nm ? bsearch(&key, b->pairs, b->n_pairs, sizeof *b->pairs, cmp_pair) : NULL;
        b->list[i] = hit ? hit->diffusers : nm;
    }
    b->n_list = n;
    return PICTOR_OK;
}

int flux_bfl_wrap(const struct pictor_wsource *inner, const struct pictor_flux_config *cfg,
                  struct pictor_wsource *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct bfl *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "flux: out of memory wrapping BFL transformer weights");
        return PICTOR_E_NOMEM;
    }
    b->inner = *inner;
    b->D = pictor_flux_inner_dim(cfg);
    pthread_mutex_init(&b->lock, NULL);
    const char *w = inner->where ? inner->where(inner->ctx, BFL_PROBE) : NULL;
    snprintf(b->path, sizeof b->path, "%s", w ? w : "BFL transformer weights");
    *out = (struct pictor_wsource){.ctx = b, .get = bfl_get, .where = bfl_where};
    int rc = build_list(b, cfg);
    if (rc != PICTOR_OK) {
        snprintf(err, errlen, "%s: out of memory wrapping BFL transformer weights", b->path);
        flux_bfl_unwrap(out);
    }
    return rc;
}

void flux_bfl_unwrap(struct pictor_wsource *out)
{
    struct bfl *b = out && flux_bfl_is_wrapper(out) ? out->ctx : NULL;
    if (!b)
        return;
    for (int i = 0; i < 2; i++) {
        free(b->swap[i].data);
        free(b->swap[i].row_scale);
    }
    for (size_t i = 0; i < b->n_pairs; i++) {
        free(b->pairs[i].bfl);
        free(b->pairs[i].diffusers);
    }
    free(b->pairs);
    free(b->list);
    pthread_mutex_destroy(&b->lock);
    free(b);
    memset(out, 0, sizeof *out);
}
