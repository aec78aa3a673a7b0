/*
 * plugins/flux/flux_embed.c — FLUX conditioning embeddings (MODELS.md §4.3
 * steps 2, 3 and 5):
 *   temb = timestep_embedder(Timesteps256(t * 1000))
 *          [+ guidance_embedder(Timesteps256(g * 1000))]   (dev)
 *          + text_embedder(pooled)                          [B, D]
 * with Timesteps256 = get_timestep_embedding(flip_sin_to_cos=True, shift 0,
 * scale 1, max_period 10000) and each embedder linear_2(SiLU(linear_1(x)));
 * the sum is in diffusers' order ((time + guidance) + text). Only SiLU(temb)
 * is kept: every AdaLN consumer starts with it.
 * RoPE tables: ids = concat(txt_ids, img_ids) -> pictor_rope_tables (theta
 * 10000, axes_dims_rope), computed on the host and uploaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_internal.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* y [B, D] = l2(SiLU(l1(x))) */
static int mlp2(struct flux_run *r, const pictor_tensor *x, const struct flux_mlp2 *e,
                pictor_tensor *y, const char *what)
{
    pictor_tensor t;
    int64_t s[2] = {r->B, r->D};
    int rc;
    if ((rc = flux_alloc(r, &t, 2, s)) || (rc = flux_linear(r, x, &e->l1, &t, what)) ||
        (rc = flux_check(r, pictor_unary(r->be, PICTOR_UNARY_SILU, &t, &t), what)) ||
        (rc = flux_linear(r, &t, &e->l2, y, what)))
        return rc;
    return PICTOR_OK;
}

/* y [B, D] = embedder(Timesteps256(v * 1000)); v [B] */
static int scalar_embed(struct flux_run *r, const pictor_tensor *v, const pictor_tensor *k1000,
                        const struct flux_mlp2 *e, pictor_tensor *y, const char *what)
{
    pictor_tensor v1000, sinus;
    int64_t sb[1] = {r->B}, ss[2] = {r->B, FLUX_TIME_CHANNELS};
    int rc;
    /* in f32 whatever the activations' dtype (diffusers too computes the
     * sinusoids in f32 and casts them for the MLP): t * 1000 in bf16 would
     * keep 8 bits of the angle */
    if ((rc = flux_alloc_dtype(r, &v1000, PICTOR_F32, 1, sb)) ||
        (rc = flux_check(r, pictor_mul(r->be, v, k1000, &v1000), what)) ||
        (rc = flux_alloc_dtype(r, &sinus, PICTOR_F32, 2, ss)) ||
        (rc = flux_check(r, pictor_timestep_embedding(r->be, &v1000, true, 0.0f, 1.0f,
                                                      FLUX_MAX_PERIOD, &sinus), what)))
        return rc;
    return mlp2(r, &sinus, e, y, what);
}

int flux_embed_time(struct flux_run *r, const struct pictor_flux_inputs *in)
{
    const struct pictor_flux_transformer *m = r->m;
    pictor_tensor k1000, temb, extra;
    int64_t s1[1] = {1}, sd[2] = {r->B, r->D};
    int rc;
    /* r->silu_temb survives this call: allocate it below the mark */
    if ((rc = flux_alloc(r, &r->silu_temb, 2, sd)))
        return rc;
    size_t mark = flux_scratch_mark(&r->s);
    if ((rc = flux_alloc_dtype(r, &k1000, PICTOR_F32, 1, s1)) ||
        (rc = flux_check(r, pictor_fill(r->be, &k1000, FLUX_TIME_SCALE), "constant")) ||
        (rc = flux_alloc(r, &temb, 2, sd)) || (rc = flux_alloc(r, &extra, 2, sd)))
        goto out;
    if ((rc = scalar_embed(r, in->timestep, &k1000, &m->time_emb, &temb,
                           "time_text_embed.timestep_embedder")))
        goto out;
    if (m->cfg.guidance_embeds) {
        if ((rc = scalar_embed(r, in->guidance, &k1000, &m->guidance_emb, &extra,
                               "time_text_embed.guidance_embedder")) ||
            (rc = flux_check(r, pictor_add(r->be, &temb, &extra, &temb), "temb sum")))
            goto out;
    }
    if ((rc = mlp2(r, in->pooled_projections, &m->text_emb, &extra,
                   "time_text_embed.text_embedder")) ||
        (rc = flux_check(r, pictor_add(r->be, &temb, &extra, &temb), "temb sum")) ||
        (rc = flux_check(r, pictor_unary(r->be, PICTOR_UNARY_SILU, &temb, &r->silu_temb),
                         "silu(temb)")))
        goto out;
out:
    flux_scratch_release(&r->s, mark);
    return rc;
}

/* Row l of ids [rows, n_axes] (CPU f32, any strides) into dst. */
static void copy_ids(const pictor_tensor *ids, float *dst, int n_axes)
{
    const float *p = ids->data;
    for (int64_t l = 0; l < ids->shape[0]; l++)
        for (int a = 0; a < n_axes; a++)
            dst[l * n_axes + a] = p[l * ids->stride[0] + a * ids->stride[1]];
}

bool flux_rope_matches(const struct flux_rope_cache *c, const struct pictor_flux_inputs *in,
                       int n_axes)
{
    const int64_t T = in->txt_ids->shape[0], L = in->img_ids->shape[0];
    if (!c->ids || c->N != T + L)
        return false;
    const pictor_tensor *part[2] = {in->txt_ids, in->img_ids};
    const float *want = c->ids;
    for (int k = 0; k < 2; k++) {
        const float *p = part[k]->data;
        for (int64_t l = 0; l < part[k]->shape[0]; l++, want += n_axes)
            for (int a = 0; a < n_axes; a++)
                if (want[a] != p[l * part[k]->stride[0] + a * part[k]->stride[1]])
                    return false;
    }
    return true;
}

void flux_rope_cache_free(pictor_backend *be, struct flux_rope_cache *c)
{
    pictor_tensor_free(be, &c->cos);
    pictor_tensor_free(be, &c->sin);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

int flux_embed_rope(struct flux_run *r, const struct pictor_flux_inputs *in)
{
    const struct pictor_flux_config *cfg = &r->m->cfg;
    struct flux_rope_cache *c = r->rope;
    const int A = cfg->n_axes;
    int64_t s[2] = {r->N, r->Dh};
    size_t n = (size_t)(r->N * r->Dh), n_ids = (size_t)r->N * (size_t)A;
    float *ids = malloc(n_ids * sizeof *ids), *cs = NULL;
    int rc = PICTOR_E_NOMEM;
    if (!ids)
        goto nomem;
    copy_ids(in->txt_ids, ids, A); /* text first, then image (diffusers) */
    copy_ids(in->img_ids, ids + (size_t)r->T * (size_t)A, A);
    if (c->N == r->N && memcmp(c->ids, ids, n_ids * sizeof *ids) == 0)
        goto hit;
    flux_rope_cache_free(r->be, c);
    if (!(cs = malloc(2 * n * sizeof *cs)))
        goto nomem;
    pictor_rope_tables(ids, r->N, A, cfg->axes_dims_rope, PICTOR_FLUX_ROPE_THETA, cs,
                       cs + n);
    if ((rc = flux_check(r, pictor_tensor_alloc(r->be, &c->cos, PICTOR_F32, 2, s),
                         "rope tables")) ||
        (rc = flux_check(r, pictor_tensor_alloc(r->be, &c->sin, PICTOR_F32, 2, s),
                         "rope tables")) ||
        (rc = flux_check(r, pictor_backend_upload(r->be, c->cos.data, cs, n * sizeof *cs),
                         "uploading rope tables")) ||
        (rc = flux_check(r, pictor_backend_upload(r->be, c->sin.data, cs + n,
                                                  n * sizeof *cs), "uploading rope tables"))) {
        flux_rope_cache_free(r->be, c);
        goto out;
    }
    c->ids = ids;
    c->N = r->N;
    ids = NULL;
hit:
    r->cos = c->cos;
    r->sin = c->sin;
    rc = PICTOR_OK;
    goto out;
nomem:
    snprintf(r->err, r->errlen, "flux transformer: out of memory (rope tables)");
out:
    free(cs);
    free(ids);
    return rc;
}
