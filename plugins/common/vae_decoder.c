/*
 * plugins/common/vae_decoder.c — AutoencoderKL decoder forward pass; see
 * pictor/vae.h. Structure follows diffusers' Decoder (autoencoders/vae.py):
 * conv_in -> mid block (resnet, attention, resnet) -> up blocks (reversed
 * channels, layers_per_block + 1 resnets, nearest 2x + conv except the last)
 * -> GroupNorm + SiLU -> conv_out. Every GroupNorm has eps 1e-6 (diffusers
 * passes resnet_eps=1e-6 / eps=1e-6 throughout the decoder).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"
#include "pictor/upconv.h"
#include "pictor/vae.h"

#define VAE_EPS 1e-6f          /* diffusers Decoder: resnet_eps / eps */
#define VAE_MAX_RESNETS 8      /* layers_per_block + 1 */

struct vae_resnet {
    int cin, cout;
    pictor_tensor n1w, n1b, c1w, c1b, n2w, n2b, c2w, c2b;
    bool has_shortcut; /* 1x1 conv when cin != cout */
    pictor_tensor scw, scb;
};

struct vae_attn {
    int c;
    pictor_tensor gnw, gnb, qw, qb, kw, kb, vw, vb, ow, ob; /* [c, c], [c] */
};

struct vae_up {
    int n_res;
    struct vae_resnet res[VAE_MAX_RESNETS];
    bool upsample;
    pictor_tensor upw, upb; /* [cout, cout, 3, 3], [cout]; unset once folded */
    struct pictor_upconv uc; /* upw, upb folded (pictor/upconv.h), owned by params */
    bool folded;
};

struct pictor_vae_decoder {
    struct pictor_vae_config cfg;
    pictor_backend *be;
    struct pictor_params params;
    int act_dtype; /* dtype of intermediate activations */
    bool nhwc;     /* activations channels-last, conv weights KRSC (vae_channels_last) */
    pictor_tensor pqw, pqb; /* post_quant_conv [L, L, 1, 1] (SDXL) */
    pictor_tensor cinw, cinb;
    struct vae_resnet mid[2];
    bool has_attn;
    struct vae_attn attn;
    struct vae_up up[PICTOR_VAE_MAX_BLOCKS];
    pictor_tensor nw, nb, coutw, coutb;
};

/* ---- loading --------------------------------------------------------- */

static void load_conv(struct pictor_params *p, pictor_tensor *w,
                      pictor_tensor *b, int cout, int cin, int k,
                      const char *prefix)
{
    int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    pictor_params_get(p, w, 4, ws, "%s.weight", prefix);
    pictor_params_get(p, b, 1, bs, "%s.bias", prefix);
}

static void load_norm(struct pictor_params *p, pictor_tensor *w,
                      pictor_tensor *b, int c, const char *prefix)
{
    int64_t s[1] = {c};
    pictor_params_get(p, w, 1, s, "%s.weight", prefix);
    pictor_params_get(p, b, 1, s, "%s.bias", prefix);
}

static void load_resnet(struct pictor_params *p, struct vae_resnet *r,
                        int cin, int cout, const char *prefix)
{
    char n[160];
    r->cin = cin;
    r->cout = cout;
    snprintf(n, sizeof n, "%s.norm1", prefix);
    load_norm(p, &r->n1w, &r->n1b, cin, n);
    snprintf(n, sizeof n, "%s.conv1", prefix);
    load_conv(p, &r->c1w, &r->c1b, cout, cin, 3, n);
    snprintf(n, sizeof n, "%s.norm2", prefix);
    load_norm(p, &r->n2w, &r->n2b, cout, n);
    snprintf(n, sizeof n, "%s.conv2", prefix);
    load_conv(p, &r->c2w, &r->c2b, cout, cout, 3, n);
    r->has_shortcut = cin != cout;
    if (r->has_shortcut) {
        snprintf(n, sizeof n, "%s.conv_shortcut", prefix);
        load_conv(p, &r->scw, &r->scb, cout, cin, 1, n);
    }
}

/* A [c, c] projection stored as a Linear or as a 1x1 conv [c, c, 1, 1]. */
static void load_proj(struct pictor_params *p, pictor_tensor *w,
                      pictor_tensor *b, int c, const char *prefix,
                      const char *name)
{
    char full[160];
    pictor_tensor probe;
    int64_t s2[2] = {c, c}, s4[4] = {c, c, 1, 1}, sb[1] = {c};
    snprintf(full, sizeof full, "%s.%s.weight", prefix, name);
    bool conv = p->src->get(p->src->ctx, full, &probe) == PICTOR_OK &&
                probe.ndim == 4;
    if (conv && pictor_params_get(p, w, 4, s4, "%s", full) == PICTOR_OK)
        pictor_tensor_reshape(w, 2, s2, w);
    else if (!conv)
        pictor_params_get(p, w, 2, s2, "%s", full);
    pictor_params_get(p, b, 1, sb, "%s.%s.bias", prefix, name);
}

static void load_attn(struct pictor_params *p, struct vae_attn *a, int c)
{
    const char *pre = "decoder.mid_block.attentions.0";
    bool legacy = !pictor_params_has(p, "%s.to_q.weight", pre) &&
                  pictor_params_has(p, "%s.query.weight", pre);
    a->c = c;
    load_norm(p, &a->gnw, &a->gnb, c, "decoder.mid_block.attentions.0.group_norm");
    load_proj(p, &a->qw, &a->qb, c, pre, legacy ? "query" : "to_q");
    load_proj(p, &a->kw, &a->kb, c, pre, legacy ? "key" : "to_k");
    load_proj(p, &a->vw, &a->vb, c, pre, legacy ? "value" : "to_v");
    load_proj(p, &a->ow, &a->ob, c, pre, legacy ? "proj_attn" : "to_out.0");
}

/* Channels-last (NHWC) activations and KRSC conv weights, the layout
 * cuDNN's tensor-core convolutions want: the default on a GPU backend;
 * NCHW on the CPU. PICTOR_VAE_LAYOUT=nhwc or nchw picks one on any
 * backend. Measured on an H100 (docs/benchmarks.md, test_vae_variants): a
 * 1024x1024 FLUX decode in 27.4 ms NHWC against 42.3 ms NCHW, cuDNN's
 * NHWC convolutions running at 730 to 815 TFLOPS. make test runs both. */
static bool vae_channels_last(pictor_backend *be)
{
    const char *env = getenv("PICTOR_VAE_LAYOUT");
    if (env && !strcmp(env, "nhwc"))
        return true;
    if (env && !strcmp(env, "nchw"))
        return false;
    return pictor_backend_device(be) != PICTOR_DEVICE_CPU;
}

/* A 4-D conv weight [Cout, Cin, KH, KW] re-laid as KRSC (Cin fastest), the
 * filter layout cuDNN pairs with NHWC activations; the copy replaces the
 * loaded tensor in the parameter set. */
static void relayout_one(struct pictor_vae_decoder *d, pictor_tensor *w)
{
    struct pictor_params *p = &d->params;
    if (p->status != PICTOR_OK || !w->data || w->ndim != 4)
        return;
    const int64_t K = w->shape[0], C = w->shape[1], R = w->shape[2], S = w->shape[3];
    void *buf = NULL;
    int rc = pictor_backend_alloc(d->be, (size_t)pictor_tensor_nbytes(w), &buf);
    pictor_tensor t = pictor_tensor_make(buf, w->dtype, 4, w->shape);
    t.device = w->device;
    t.stride[0] = R * S * C;
    t.stride[1] = 1;
    t.stride[2] = S * C;
    t.stride[3] = C;
    if (rc == PICTOR_OK && (rc = pictor_copy(d->be, w, &t)) == PICTOR_OK &&
        (rc = pictor_params_replace(p, w->data, buf)) == PICTOR_OK) {
        *w = t;
        return;
    }
    pictor_backend_free(d->be, buf);
    p->status = rc;
    snprintf(p->err, p->errlen, "vae: re-laying conv weights [%lld, %lld, %lld, %lld] "
             "channels-last: %s", (long long)K, (long long)C, (long long)R, (long long)S,
             pictor_backend_error(d->be));
}

/* Every conv weight of the decoder to KRSC; a failure is the parameter
 * set's (its message in the caller's err). */
static void relayout_convs(struct pictor_vae_decoder *d)
{
    relayout_one(d, &d->pqw);
    relayout_one(d, &d->cinw);
    for (int i = 0; i < 2; i++) {
        relayout_one(d, &d->mid[i].c1w);
        relayout_one(d, &d->mid[i].c2w);
        relayout_one(d, &d->mid[i].scw);
    }
    for (int i = 0; i < d->cfg.n_blocks; i++) {
        struct vae_up *u = &d->up[i];
        for (int j = 0; j < u->n_res; j++) {
            relayout_one(d, &u->res[j].c1w);
            relayout_one(d, &u->res[j].c2w);
            relayout_one(d, &u->res[j].scw);
        }
        if (u->upsample)
            relayout_one(d, &u->upw);
    }
    relayout_one(d, &d->coutw);
}

/* The upsamplers run folded (pictor/upconv.h: 2.25x fewer multiply-adds,
 * no upsampled tensor) unless PICTOR_VAE_UPSAMPLE=naive asks for nearest 2x
 * then the 3x3 conv, kept to compare the two (bench and tests); another
 * value is reported on stderr and means folded. */
static bool vae_fold_upsamplers(void)
{
    const char *env = getenv("PICTOR_VAE_UPSAMPLE");
    if (!env || !*env || !strcmp(env, "folded"))
        return true;
    if (!strcmp(env, "naive"))
        return false;
    fprintf(stderr, "pictor: PICTOR_VAE_UPSAMPLE=%s is neither folded nor naive; "
            "folded\n", env);
    return true;
}

/* Folds up block u's upsampler conv; the folded tensors replace the 3x3
 * ones in the parameter set, which frees the device copies (a CPU weight
 * used in place is not the set's and stays in its file mapping). */
static void fold_one(struct pictor_vae_decoder *d, struct vae_up *u)
{
    struct pictor_params *p = &d->params;
    struct pictor_upconv uc;
    if (p->status != PICTOR_OK)
        return;
    int rc = pictor_upconv_fold(d->be, &u->upw, &u->upb, d->act_dtype, d->nhwc, &uc);
    if (rc == PICTOR_OK && (rc = pictor_params_replace(p, u->upw.data, uc.w.data)) != PICTOR_OK)
        pictor_upconv_free(d->be, &uc); /* neither is the set's yet */
    else if (rc == PICTOR_OK && (rc = pictor_params_replace(p, u->upb.data, uc.b.data)))
        pictor_tensor_free(d->be, &uc.b); /* uc.w is the set's already */
    if (rc != PICTOR_OK) {
        p->status = rc;
        snprintf(p->err, p->errlen, "vae: folding the upsampler conv [%lld, %lld, 3, 3]: %s",
                 (long long)u->upw.shape[0], (long long)u->upw.shape[1],
                 rc == PICTOR_E_NOMEM ? "out of memory" : pictor_backend_error(d->be));
        return;
    }
    u->uc = uc;
    u->folded = true;
    memset(&u->upw, 0, sizeof u->upw); /* freed, or no longer used */
    memset(&u->upb, 0, sizeof u->upb);
}

int pictor_vae_decoder_open(const struct pictor_vae_config *cfg,
                            const struct pictor_wsource *src,
                            pictor_backend *be,
                            struct pictor_vae_decoder **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    if (cfg->n_blocks < 1 || cfg->n_blocks > PICTOR_VAE_MAX_BLOCKS ||
        cfg->layers_per_block + 1 > VAE_MAX_RESNETS) {
        snprintf(err, errlen, "vae: unsupported config (%d blocks, %d layers per block)",
                 cfg->n_blocks, cfg->layers_per_block);
        return PICTOR_E_UNSUPPORTED;
    }
    struct pictor_vae_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "vae: out of memory");
        return PICTOR_E_NOMEM;
    }
    d->cfg = *cfg;
    d->be = be;
    d->act_dtype = cfg->compute_dtype;
    struct pictor_params *p = &d->params;
    pictor_params_init(p, be, src, err, errlen);
    pictor_params_set_dtype(p, cfg->compute_dtype);

    const int nb = cfg->n_blocks, L = cfg->latent_channels;
    const int top = cfg->block_out_channels[nb - 1];
    char n[160];
    if (cfg->use_post_quant_conv)
        load_conv(p, &d->pqw, &d->pqb, L, L, 1, "post_quant_conv");
    load_conv(p, &d->cinw, &d->cinb, top, L, 3, "decoder.conv_in");
    for (int i = 0; i < 2; i++) {
        snprintf(n, sizeof n, "decoder.mid_block.resnets.%d", i);
        load_resnet(p, &d->mid[i], top, top, n);
    }
    d->has_attn = cfg->mid_block_add_attention;
    if (d->has_attn)
        load_attn(p, &d->attn, top);
    int prev = top;
    for (int i = 0; i < nb; i++) {
        struct vae_up *u = &d->up[i];
        int oc = cfg->block_out_channels[nb - 1 - i];
        u->n_res = cfg->layers_per_block + 1;
        for (int j = 0; j < u->n_res; j++) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.resnets.%d", i, j);
            load_resnet(p, &u->res[j], j == 0 ? prev : oc, oc, n);
        }
        u->upsample = i < nb - 1;
        if (u->upsample) {
            snprintf(n, sizeof n, "decoder.up_blocks.%d.upsamplers.0.conv", i);
            load_conv(p, &u->upw, &u->upb, oc, oc, 3, n);
        }
        prev = oc;
    }
    const int c0 = cfg->block_out_channels[0];
    load_norm(p, &d->nw, &d->nb, c0, "decoder.conv_norm_out");
    load_conv(p, &d->coutw, &d->coutb, cfg->out_channels, c0, 3, "decoder.conv_out");
    d->nhwc = vae_channels_last(be);
    if (vae_fold_upsamplers())
        for (int i = 0; i < nb; i++)
            if (d->up[i].upsample)
                fold_one(d, &d->up[i]);
    if (p->status == PICTOR_OK && d->nhwc)
        relayout_convs(d); /* folded weights are laid out by the fold */
    if (p->status != PICTOR_OK) {
        int rc = p->status;
        pictor_vae_decoder_close(d);
        return rc;
    }
    *out = d;
    return PICTOR_OK;
}

void pictor_vae_decoder_close(struct pictor_vae_decoder *dec)
{
    if (!dec)
        return;
    pictor_params_release(&dec->params);
    free(dec);
}

long long pictor_vae_decoder_param_count(const struct pictor_vae_decoder *dec)
{
    return (long long)dec->params.n_values;
}

/* ---- forward --------------------------------------------------------- */

struct vae_run {
    struct pictor_vae_decoder *d;
    pictor_backend *be;
    char *err;
    size_t errlen;
};

static int run_fail(struct vae_run *r, int rc, const char *what)
{
    snprintf(r->err, r->errlen, "vae decode: %s: %s", what,
             pictor_backend_error(r->be));
    return rc;
}

/* Allocates [b, c, h, w] of `dtype` in the decoder's layout (NCHW, or
 * NHWC strides {h*w*c, 1, w*c, c}). */
static int vae_alloc(struct vae_run *r, pictor_tensor *t, int dtype, int64_t b, int64_t c,
                     int64_t h, int64_t w)
{
    int64_t s[4] = {b, c, h, w};
    int rc = pictor_tensor_alloc(r->be, t, dtype, 4, s);
    if (rc != PICTOR_OK)
        return run_fail(r, rc, "allocating activations");
    if (r->d->nhwc) {
        t->stride[1] = 1;
        t->stride[2] = w * c;
        t->stride[3] = c;
    }
    return PICTOR_OK;
}

/* Allocates an activation tensor [b, c, h, w]. */
static int act_alloc(struct vae_run *r, pictor_tensor *t, int64_t b,
                     int64_t c, int64_t h, int64_t w)
{
    return vae_alloc(r, t, r->d->act_dtype, b, c, h, w);
}

/* x as the convolutions take it: itself, or (16-bit activations and an f32
 * x, such as the latents or an f32 residual sum) a copy in the activations'
 * dtype in *tmp, which the caller frees. */
static int as_act(struct vae_run *r, const pictor_tensor **x, pictor_tensor *tmp)
{
    const pictor_tensor *in = *x;
    int rc;
    if (r->d->act_dtype == PICTOR_F32 || in->dtype == r->d->act_dtype)
        return PICTOR_OK;
    if ((rc = act_alloc(r, tmp, in->shape[0], in->shape[1], in->shape[2], in->shape[3])))
        return rc;
    if ((rc = pictor_copy(r->be, in, tmp))) {
        pictor_tensor_free(r->be, tmp);
        return run_fail(r, rc, "conv2d input");
    }
    *x = tmp;
    return PICTOR_OK;
}

/* y = conv(x) with 'same' padding for k = 3, none for k = 1. */
static int conv(struct vae_run *r, const pictor_tensor *x, const pictor_tensor *w,
                const pictor_tensor *b, pictor_tensor *y)
{
    int k = (int)w->shape[2], pad = k / 2;
    pictor_tensor xc = {0};
    int rc = as_act(r, &x, &xc);
    if (rc == PICTOR_OK)
        rc = act_alloc(r, y, x->shape[0], w->shape[0], x->shape[2], x->shape[3]);
    if (rc == PICTOR_OK && (rc = pictor_conv2d(r->be, x, w, b, 1, 1, pad, pad, y)) != PICTOR_OK) {
        pictor_tensor_free(r->be, y);
        rc = run_fail(r, rc, "conv2d");
    }
    pictor_tensor_free(r->be, &xc);
    return rc;
}

/* out = shortcut(x) + conv2(silu(gn2(conv1(silu(gn1(x)))))); consumes x. */
static int resnet(struct vae_run *r, const struct vae_resnet *rs,
                  pictor_tensor *x, pictor_tensor *out)
{
    const int G = r->d->cfg.norm_num_groups;
    pictor_tensor t = {0}, h1 = {0}, h2 = {0}, sc = {0};
    int rc = act_alloc(r, &t, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    if (rc) goto fail;
    if ((rc = pictor_group_norm(r->be, x, G, VAE_EPS, &rs->n1w, &rs->n1b, true, &t))) {
        rc = run_fail(r, rc, "resnet norm1");
        goto fail;
    }
    if ((rc = conv(r, &t, &rs->c1w, &rs->c1b, &h1)))
        goto fail;
    pictor_tensor_free(r->be, &t);
    if ((rc = pictor_group_norm(r->be, &h1, G, VAE_EPS, &rs->n2w, &rs->n2b, true, &h1))) {
        rc = run_fail(r, rc, "resnet norm2");
        goto fail;
    }
    if ((rc = conv(r, &h1, &rs->c2w, &rs->c2b, &h2)))
        goto fail;
    pictor_tensor_free(r->be, &h1);
    if (rs->has_shortcut) {
        if ((rc = conv(r, x, &rs->scw, &rs->scb, &sc)))
            goto fail;
        pictor_tensor_free(r->be, x);
        *x = sc;
        sc.data = NULL;
    }
    /* the residual sum is kept in f32 whatever the activations' dtype (as
     * under torch.autocast): 16-bit sums lose too much over the blocks */
    pictor_tensor sum = h2;
    if (h2.dtype != PICTOR_F32 &&
        (rc = vae_alloc(r, &sum, PICTOR_F32, h2.shape[0], h2.shape[1], h2.shape[2],
                        h2.shape[3])))
        goto fail;
    if ((rc = pictor_add(r->be, &h2, x, &sum))) {
        if (sum.data != h2.data)
            pictor_tensor_free(r->be, &sum);
        rc = run_fail(r, rc, "resnet residual");
        goto fail;
    }
    if (sum.data != h2.data)
        pictor_tensor_free(r->be, &h2);
    pictor_tensor_free(r->be, x);
    *out = sum;
    return PICTOR_OK;
fail:
    pictor_tensor_free(r->be, &sc);
    pictor_tensor_free(r->be, &h2);
    pictor_tensor_free(r->be, &h1);
    pictor_tensor_free(r->be, &t);
    return rc;
}

/* View [B, C, H*W] of an NCHW or NHWC [B, C, H, W] tensor (H and W are
 * adjacent in both: stride[2] == W * stride[3]). */
static pictor_tensor flat_hw(const pictor_tensor *x)
{
    pictor_tensor v = *x;
    v.ndim = 3;
    v.shape[2] = x->shape[2] * x->shape[3];
    v.stride[2] = x->stride[3];
    return v;
}

/* Single-head self-attention over the h*w positions, residual; in place on x. */
static int attention(struct vae_run *r, const struct vae_attn *a, pictor_tensor *x)
{
    const int64_t B = x->shape[0], C = x->shape[1], N = x->shape[2] * x->shape[3];
    pictor_tensor gn = {0}, q = {0}, k = {0}, v = {0}, o = {0};
    int64_t tok[3] = {B, N, C};
    int rc = act_alloc(r, &gn, B, C, x->shape[2], x->shape[3]);
    if (rc) goto out;
    if ((rc = pictor_group_norm(r->be, x, r->d->cfg.norm_num_groups, VAE_EPS,
                                &a->gnw, &a->gnb, false, &gn))) {
        rc = run_fail(r, rc, "attention group_norm");
        goto out;
    }
    pictor_tensor gnf = flat_hw(&gn), gnt; /* [B, C, N] -> view [B, N, C] */
    gnt = pictor_tensor_transpose(&gnf, 1, 2);
    pictor_tensor *dst[3] = {&q, &k, &v};
    const pictor_tensor *ws[3] = {&a->qw, &a->kw, &a->vw}, *bs[3] = {&a->qb, &a->kb, &a->vb};
    for (int i = 0; i < 3; i++) {
        if ((rc = pictor_tensor_alloc(r->be, dst[i], r->d->act_dtype, 3, tok)) ||
            (rc = pictor_linear(r->be, &gnt, ws[i], bs[i], dst[i]))) {
            rc = run_fail(r, rc, "attention projection");
            goto out;
        }
    }
    pictor_tensor_free(r->be, &gn);
    if ((rc = pictor_tensor_alloc(r->be, &o, r->d->act_dtype, 3, tok))) {
        rc = run_fail(r, rc, "allocating attention output");
        goto out;
    }
    pictor_tensor q4 = pictor_tensor_unsqueeze(&q, 1), k4 = pictor_tensor_unsqueeze(&k, 1),
                  v4 = pictor_tensor_unsqueeze(&v, 1), o4 = pictor_tensor_unsqueeze(&o, 1);
    float scale = 1.0f / sqrtf((float)C); /* one head of dim C */
    if ((rc = pictor_sdpa(r->be, &q4, &k4, &v4, NULL, scale, false, &o4))) {
        rc = run_fail(r, rc, "attention sdpa");
        goto out;
    }
    /* q is free now: reuse it for to_out(o) [B, N, C] */
    if ((rc = pictor_linear(r->be, &o, &a->ow, &a->ob, &q))) {
        rc = run_fail(r, rc, "attention to_out");
        goto out;
    }
    pictor_tensor xf = flat_hw(x), xt;
    xt = pictor_tensor_transpose(&xf, 1, 2);
    if ((rc = pictor_add(r->be, &xt, &q, &xt)))
        rc = run_fail(r, rc, "attention residual");
out:
    pictor_tensor_free(r->be, &o);
    pictor_tensor_free(r->be, &v);
    pictor_tensor_free(r->be, &k);
    pictor_tensor_free(r->be, &q);
    pictor_tensor_free(r->be, &gn);
    return rc;
}

/* nearest 2x then 3x3 conv, folded (pictor/upconv.h) unless
 * PICTOR_VAE_UPSAMPLE=naive; consumes x. */
static int upsample(struct vae_run *r, const struct vae_up *u, pictor_tensor *x)
{
    pictor_tensor big = {0}, y = {0}, xc = {0};
    const pictor_tensor *in = x;
    int rc;
    if (u->folded) {
        const int64_t b = x->shape[0], h = x->shape[2], w = x->shape[3];
        if ((rc = as_act(r, &in, &xc)))
            goto out;
        if (in == &xc) /* the f32 sum is not needed any more */
            pictor_tensor_free(r->be, x);
        if ((rc = act_alloc(r, &y, b, u->uc.b.shape[0] / 4, 2 * h, 2 * w)))
            goto out;
        if ((rc = pictor_upconv_run(r->be, &u->uc, in, &y))) {
            pictor_tensor_free(r->be, &y);
            rc = run_fail(r, rc, "upsampler");
        }
        goto out;
    }
    if ((rc = act_alloc(r, &big, x->shape[0], x->shape[1], 2 * x->shape[2], 2 * x->shape[3])))
        return rc;
    if ((rc = pictor_upsample_nearest2x(r->be, x, &big))) {
        pictor_tensor_free(r->be, &big);
        return run_fail(r, rc, "upsample");
    }
    pictor_tensor_free(r->be, x);
    rc = conv(r, &big, &u->upw, &u->upb, &y);
    pictor_tensor_free(r->be, &big);
out:
    pictor_tensor_free(r->be, &xc);
    if (rc == PICTOR_OK) {
        pictor_tensor_free(r->be, x);
        *x = y;
    }
    return rc;
}

int pictor_vae_decode(struct pictor_vae_decoder *d, const pictor_tensor *latents,
                      pictor_tensor *image, char *err, size_t errlen)
{
    struct vae_run r = {.d = d, .be = d->be, .err = err, .errlen = errlen};
    const struct pictor_vae_config *cfg = &d->cfg;
    const int s = pictor_vae_scale(cfg);
    pictor_tensor z = {0}, h = {0};
    int rc;
    if (latents->ndim != 4 || latents->shape[1] != cfg->latent_channels) {
        char b[96];
        snprintf(err, errlen, "vae decode: latents %s, expected [B, %d, h, w]",
                 pictor_tensor_describe(latents, b, sizeof b), cfg->latent_channels);
        return PICTOR_E_INVALID;
    }
    if (image->ndim != 4 || image->shape[0] != latents->shape[0] ||
        image->shape[1] != cfg->out_channels || image->shape[2] != latents->shape[2] * s ||
        image->shape[3] != latents->shape[3] * s) {
        char b[96];
        snprintf(err, errlen, "vae decode: image %s does not match the latents x%d",
                 pictor_tensor_describe(image, b, sizeof b), s);
        return PICTOR_E_INVALID;
    }
    const pictor_tensor *in = latents;
    if (cfg->use_post_quant_conv) {
        if ((rc = conv(&r, latents, &d->pqw, &d->pqb, &z)))
            return rc;
        in = &z;
    }
    rc = conv(&r, in, &d->cinw, &d->cinb, &h);
    pictor_tensor_free(d->be, &z);
    if (rc)
        return rc;
    if ((rc = resnet(&r, &d->mid[0], &h, &h)))
        goto out;
    if (d->has_attn && (rc = attention(&r, &d->attn, &h)))
        goto out;
    if ((rc = resnet(&r, &d->mid[1], &h, &h)))
        goto out;
    for (int i = 0; i < cfg->n_blocks; i++) {
        const struct vae_up *u = &d->up[i];
        for (int j = 0; j < u->n_res; j++)
            if ((rc = resnet(&r, &u->res[j], &h, &h)))
                goto out;
        if (u->upsample && (rc = upsample(&r, u, &h)))
            goto out;
    }
    if ((rc = pictor_group_norm(d->be, &h, cfg->norm_num_groups, VAE_EPS, &d->nw, &d->nb,
                                true, &h))) {
        rc = run_fail(&r, rc, "conv_norm_out");
        goto out;
    }
    if (image->dtype == d->act_dtype) {
        if ((rc = pictor_conv2d(d->be, &h, &d->coutw, &d->coutb, 1, 1, 1, 1, image)))
            rc = run_fail(&r, rc, "conv_out");
    } else { /* 16-bit activations into an f32 image: convert after */
        pictor_tensor o;
        if ((rc = conv(&r, &h, &d->coutw, &d->coutb, &o)))
            goto out;
        if ((rc = pictor_copy(d->be, &o, image)))
            rc = run_fail(&r, rc, "conv_out");
        pictor_tensor_free(d->be, &o);
    }
out:
    pictor_tensor_free(d->be, &h);
    return rc;
}
