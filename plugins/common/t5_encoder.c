/*
 * plugins/common/t5_encoder.c — T5 encoder loading and forward; see
 * pictor/t5_encoder.h. Structure follows transformers' T5EncoderModel
 * (models/t5/modeling_t5.py, T5Stack with is_decoder false): embedding,
 * blocks of [RMS -> self-attention with relative position bias -> residual,
 * RMS -> (gated) feed-forward -> residual], final RMS. Dropout is identity.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/fp8_linear.h"
#include "pictor/params.h"
#include "pictor/t5_encoder.h"
#include "text_common.h"

struct t5_block {
    pictor_tensor ln0;              /* [d_model] */
    pictor_tensor q, k, v;          /* [inner, d_model] */
    pictor_tensor o;                /* [d_model, inner] */
    pictor_tensor ln1;              /* [d_model] */
    pictor_tensor wi0, wi1;         /* [d_ff, d_model] (wi1 unused if not gated) */
    pictor_tensor wo;               /* [d_model, d_ff] */
};

struct pictor_t5_encoder {
    struct pictor_t5_config cfg;
    pictor_backend *be;
    struct pictor_params params;
    pictor_tensor shared;   /* [V, d_model] */
    pictor_tensor rel_bias; /* [num_buckets, heads] (block 0) */
    struct t5_block *blocks;
    pictor_tensor lnf;      /* [d_model] */
};

/* ---- relative position buckets -------------------------------------- */

int pictor_t5_bucket(int64_t rel, int num_buckets, int max_distance)
{
    /* bidirectional: half of the buckets per direction */
    const int half = num_buckets / 2;
    const int max_exact = half / 2;
    int bucket = rel > 0 ? half : 0;
    int64_t n = rel < 0 ? -rel : rel;
    if (n < max_exact)
        return bucket + (int)n;
    /* torch: max_exact + (log(n.float() / max_exact) / math.log(max_distance
     * / max_exact) * (half - max_exact)).to(long), in float32 (the Python
     * float divisor is rounded to float32 by the tensor op) */
    float ratio = (float)n / (float)max_exact;
    float denom = (float)log((double)max_distance / (double)max_exact);
    float scaled = logf(ratio) / denom * (float)(half - max_exact);
    int large = max_exact + (int)scaled; /* .to(long) truncates toward 0 */
    if (large > half - 1)
        large = half - 1;
    return bucket + large;
}

/* ---- loading --------------------------------------------------------- */

int pictor_t5_encoder_open(const struct pictor_t5_config *cfg, const struct pictor_wsource *src,
                           pictor_backend *be, struct pictor_t5_encoder **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    if (cfg->layers <= 0 || cfg->heads <= 0 || cfg->d_kv <= 0) {
        snprintf(err, errlen, "t5 encoder: unsupported config (%d layers, %d heads)",
                 cfg->layers, cfg->heads);
        return PICTOR_E_UNSUPPORTED;
    }
    struct pictor_t5_encoder *e = calloc(1, sizeof *e);
    if (e)
        e->blocks = calloc((size_t)cfg->layers, sizeof *e->blocks);
    if (!e || !e->blocks) {
        free(e);
        snprintf(err, errlen, "t5 encoder: out of memory");
        return PICTOR_E_NOMEM;
    }
    e->cfg = *cfg;
    e->be = be;
    struct pictor_params *p = &e->params;
    pictor_params_init(p, be, src, err, errlen);
    pictor_params_set_dtype(p, cfg->compute_dtype);

    const int64_t D = cfg->d_model, inner = (int64_t)cfg->heads * cfg->d_kv, F = cfg->d_ff;
    int64_t es[2] = {cfg->vocab_size, D}, rs[2] = {cfg->num_buckets, cfg->heads};
    int64_t qs[2] = {inner, D}, os[2] = {D, inner}, is[2] = {F, D}, ws[2] = {D, F}, ns[1] = {D};
    /* the token embedding is tied: either name may be the one stored */
    if (!pictor_params_has(p, "shared.weight") && pictor_params_has(p, "encoder.embed_tokens.weight"))
        pictor_params_get(p, &e->shared, 2, es, "encoder.embed_tokens.weight");
    else
        pictor_params_get(p, &e->shared, 2, es, "shared.weight");
    pictor_params_get(p, &e->rel_bias, 2, rs,
                      "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int i = 0; i < cfg->layers; i++) {
        struct t5_block *b = &e->blocks[i];
        const char *pre = "encoder.block";
        pictor_params_get(p, &b->ln0, 1, ns, "%s.%d.layer.0.layer_norm.weight", pre, i);
        pictor_params_get(p, &b->q, 2, qs, "%s.%d.layer.0.SelfAttention.q.weight", pre, i);
        pictor_params_get(p, &b->k, 2, qs, "%s.%d.layer.0.SelfAttention.k.weight", pre, i);
        pictor_params_get(p, &b->v, 2, qs, "%s.%d.layer.0.SelfAttention.v.weight", pre, i);
        pictor_params_get(p, &b->o, 2, os, "%s.%d.layer.0.SelfAttention.o.weight", pre, i);
        pictor_params_get(p, &b->ln1, 1, ns, "%s.%d.layer.1.layer_norm.weight", pre, i);
        if (cfg->gated) {
            pictor_params_get(p, &b->wi0, 2, is, "%s.%d.layer.1.DenseReluDense.wi_0.weight", pre, i);
            pictor_params_get(p, &b->wi1, 2, is, "%s.%d.layer.1.DenseReluDense.wi_1.weight", pre, i);
        } else {
            pictor_params_get(p, &b->wi0, 2, is, "%s.%d.layer.1.DenseReluDense.wi.weight", pre, i);
        }
        pictor_params_get(p, &b->wo, 2, ws, "%s.%d.layer.1.DenseReluDense.wo.weight", pre, i);
        if (cfg->fp8_linears) { /* E4M3 per output channel (pictor/fp8_linear.h) */
            pictor_tensor *lin[] = {&b->q, &b->k, &b->v, &b->o, &b->wi0, &b->wi1, &b->wo};
            const char *names[] = {"0.SelfAttention.q", "0.SelfAttention.k",
                                   "0.SelfAttention.v", "0.SelfAttention.o",
                                   cfg->gated ? "1.DenseReluDense.wi_0" : "1.DenseReluDense.wi",
                                   "1.DenseReluDense.wi_1", "1.DenseReluDense.wo"};
            char name[96];
            for (size_t j = 0; j < sizeof lin / sizeof lin[0]; j++) {
                if (lin[j] == &b->wi1 && !cfg->gated)
                    continue;
                snprintf(name, sizeof name, "%s.%d.layer.%s.weight", pre, i, names[j]);
                pictor_params_quantize_rows(p, lin[j], name);
            }
        }
    }
    pictor_params_get(p, &e->lnf, 1, ns, "encoder.final_layer_norm.weight");
    if (p->status != PICTOR_OK) {
        int rc = p->status;
        pictor_t5_encoder_close(e);
        return rc;
    }
    *out = e;
    return PICTOR_OK;
}

void pictor_t5_encoder_close(struct pictor_t5_encoder *enc)
{
    if (!enc)
        return;
    pictor_params_release(&enc->params);
    free(enc->blocks);
    free(enc);
}

long long pictor_t5_encoder_param_count(const struct pictor_t5_encoder *enc)
{
    return (long long)enc->params.n_values;
}

/* ---- forward --------------------------------------------------------- */

struct t5_run {
    struct pictor_t5_encoder *e;
    pictor_backend *be;
    char *err;
    size_t errlen;
    pictor_tensor h, a;          /* [B, L, D]: h f32, a the compute dtype */
    pictor_tensor q, k, v, o;    /* [B, L, inner] */
    pictor_tensor f0, f1;        /* [B, L, d_ff] */
    pictor_tensor bias;          /* [1, H, L, L] */
    pictor_tensor aq, as;        /* fp8_linears: a quantised once for the
                                    linears sharing it, codes [B, L, D] and
                                    row scales [B * L] */
};

/* The input of the FP8 linears that share r->a (q/k/v; wi_0 and wi_1),
 * quantised once per token (the very codes each pictor_linear_fp8 would
 * make); r->a itself when the weights are not FP8. */
static int shared_input(struct t5_run *r, const pictor_tensor *w, pictor_tensor *use)
{
    *use = r->a;
    if (!pictor_weight_is_fp8(w) || !r->aq.data)
        return PICTOR_OK;
    int rc = pictor_quantize_rows(r->be, &r->a, &r->aq, &r->as);
    if (rc == PICTOR_OK)
        *use = pictor_fp8_rows_view(&r->aq, &r->as);
    return rc;
}

static int run_fail(struct t5_run *r, int rc, int block, const char *what)
{
    if (block >= 0)
        snprintf(r->err, r->errlen, "t5 encoder: block %d %s: %s", block, what,
                 pictor_backend_error(r->be));
    else
        snprintf(r->err, r->errlen, "t5 encoder: %s: %s", what, pictor_backend_error(r->be));
    return rc;
}

/* bias[0, h, i, j] = relative_attention_bias[bucket(j - i), h], built as an
 * embedding lookup of an [L, L] bucket table followed by a permuted copy. */
static int build_bias(struct t5_run *r, int64_t L)
{
    const struct pictor_t5_config *c = &r->e->cfg;
    pictor_backend *be = r->be;
    pictor_tensor buckets = {0}, lut = {0};
    int32_t *host = malloc((size_t)(L * L) * sizeof *host);
    int64_t bs[2] = {L, L}, ls[3] = {L, L, c->heads}, os[4] = {1, c->heads, L, L};
    int rc = PICTOR_E_NOMEM;
    if (!host) {
        snprintf(r->err, r->errlen, "t5 encoder: out of memory (bucket table %lld x %lld)",
                 (long long)L, (long long)L);
        return rc;
    }
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < L; j++)
            host[i * L + j] = pictor_t5_bucket(j - i, c->num_buckets, c->max_distance);
    if ((rc = pictor_tensor_alloc(be, &buckets, PICTOR_I32, 2, bs)) ||
        (rc = pictor_backend_upload(be, buckets.data, host, (size_t)(L * L) * sizeof *host)) ||
        (rc = pictor_tensor_alloc(be, &lut, PICTOR_F32, 3, ls)) ||
        (rc = pictor_tensor_alloc(be, &r->bias, PICTOR_F32, 4, os))) {
        rc = run_fail(r, rc, -1, "allocating the position bias");
        goto out;
    }
    static const int perm[3] = {2, 0, 1}; /* [L, L, H] -> [H, L, L] */
    pictor_tensor lutp = pictor_tensor_permute(&lut, perm);
    pictor_tensor bias3; /* [1, H, L, L] viewed as [H, L, L] */
    pictor_tensor_reshape(&r->bias, 3, os + 1, &bias3);
    if ((rc = pictor_embedding(be, &r->e->rel_bias, &buckets, &lut)) ||
        (rc = pictor_copy(be, &lutp, &bias3)))
        rc = run_fail(r, rc, -1, "relative position bias");
out:
    pictor_tensor_free(be, &lut);
    pictor_tensor_free(be, &buckets);
    free(host);
    return rc;
}

/* One block, in place on r->h. */
static int t5_block_forward(struct t5_run *r, int i)
{
    const struct t5_block *b = &r->e->blocks[i];
    const struct pictor_t5_config *c = &r->e->cfg;
    pictor_backend *be = r->be;
    int rc;
    pictor_tensor x;
    if ((rc = pictor_rms_norm(be, &r->h, c->eps, &b->ln0, &r->a)))
        return run_fail(r, rc, i, "layer.0 layer_norm");
    if ((rc = shared_input(r, &b->q, &x)) ||
        (rc = pictor_linear_fp8(be, &x, &b->q, NULL, &r->q)) ||
        (rc = pictor_linear_fp8(be, &x, &b->k, NULL, &r->k)) ||
        (rc = pictor_linear_fp8(be, &x, &b->v, NULL, &r->v)))
        return run_fail(r, rc, i, "q/k/v");
    pictor_tensor q4 = txt_heads(&r->q, c->heads), k4 = txt_heads(&r->k, c->heads),
                  v4 = txt_heads(&r->v, c->heads), o4 = txt_heads(&r->o, c->heads);
    /* T5 folds 1/sqrt(d_kv) into its weights: scale 1 */
    if ((rc = pictor_sdpa(be, &q4, &k4, &v4, &r->bias, 1.0f, false, &o4)))
        return run_fail(r, rc, i, "attention");
    if ((rc = pictor_linear_fp8(be, &r->o, &b->o, NULL, &r->a)) ||
        (rc = pictor_add(be, &r->h, &r->a, &r->h)))
        return run_fail(r, rc, i, "o + residual");
    if ((rc = pictor_rms_norm(be, &r->h, c->eps, &b->ln1, &r->a)))
        return run_fail(r, rc, i, "layer.1 layer_norm");
    if ((rc = shared_input(r, &b->wi0, &x)) ||
        (rc = pictor_linear_fp8(be, &x, &b->wi0, NULL, &r->f0)) ||
        (rc = pictor_unary(be, c->act, &r->f0, &r->f0)))
        return run_fail(r, rc, i, "wi_0");
    if (c->gated && ((rc = pictor_linear_fp8(be, &x, &b->wi1, NULL, &r->f1)) ||
                     (rc = pictor_mul(be, &r->f0, &r->f1, &r->f0))))
        return run_fail(r, rc, i, "wi_1 gate");
    if ((rc = pictor_linear_fp8(be, &r->f0, &b->wo, NULL, &r->a)) ||
        (rc = pictor_add(be, &r->h, &r->a, &r->h)))
        return run_fail(r, rc, i, "wo + residual");
    return PICTOR_OK;
}

int pictor_t5_encoder_forward(struct pictor_t5_encoder *e, const pictor_tensor *ids,
                              pictor_tensor *out, char *err, size_t errlen)
{
    struct t5_run r = {.e = e, .be = e->be, .err = err, .errlen = errlen};
    const struct pictor_t5_config *c = &e->cfg;
    pictor_backend *be = e->be;
    pictor_tensor ids_dev = {0};
    const pictor_tensor *ids_use;
    char b1[96], b2[96];
    int rc;
    if (ids->ndim != 2 || (ids->dtype != PICTOR_I64 && ids->dtype != PICTOR_I32) ||
        ids->shape[0] < 1 || ids->shape[1] < 1) {
        snprintf(err, errlen, "t5 encoder: ids %s, expected [B, L] i64 or i32",
                 pictor_tensor_describe(ids, b1, sizeof b1));
        return PICTOR_E_INVALID;
    }
    const int64_t B = ids->shape[0], L = ids->shape[1], D = c->d_model;
    const int act = c->compute_dtype;
    const int64_t inner = (int64_t)c->heads * c->d_kv;
    if (out->ndim != 3 || out->shape[0] != B || out->shape[1] != L || out->shape[2] != D) {
        snprintf(err, errlen, "t5 encoder: output %s does not match ids %s (d_model %lld)",
                 pictor_tensor_describe(out, b1, sizeof b1),
                 pictor_tensor_describe(ids, b2, sizeof b2), (long long)D);
        return PICTOR_E_INVALID;
    }
    /* the residual stream r.h is f32 whatever the compute dtype */
    if ((rc = txt_alloc(be, PICTOR_F32, &r.h, B, L, D)) ||
        (rc = txt_alloc(be, act, &r.a, B, L, D)) ||
        (rc = txt_alloc(be, act, &r.q, B, L, inner)) ||
        (rc = txt_alloc(be, act, &r.k, B, L, inner)) ||
        (rc = txt_alloc(be, act, &r.v, B, L, inner)) ||
        (rc = txt_alloc(be, act, &r.o, B, L, inner)) ||
        (rc = txt_alloc(be, act, &r.f0, B, L, c->d_ff)) ||
        (c->gated && (rc = txt_alloc(be, act, &r.f1, B, L, c->d_ff))) ||
        (c->fp8_linears && ((rc = txt_alloc(be, PICTOR_F8_E4M3, &r.aq, B, L, D)) ||
                            (rc = pictor_tensor_alloc(be, &r.as, PICTOR_F32, 1,
                                                      (int64_t[]){B * L}))))) {
        rc = run_fail(&r, rc, -1, "allocating activations");
        goto out;
    }
    if ((rc = build_bias(&r, L)))
        goto out;
    if ((rc = txt_ids_on_device(be, ids, &ids_dev, &ids_use))) {
        rc = run_fail(&r, rc, -1, "uploading ids");
        goto out;
    }
    if ((rc = pictor_embedding(be, &e->shared, ids_use, &r.h))) {
        rc = run_fail(&r, rc, -1, "embedding");
        goto out;
    }
    for (int i = 0; i < c->layers; i++)
        if ((rc = t5_block_forward(&r, i)))
            goto out;
    if ((rc = pictor_rms_norm(be, &r.h, c->eps, &e->lnf, out)))
        rc = run_fail(&r, rc, -1, "final_layer_norm");
out:
    pictor_tensor_free(be, &ids_dev);
    pictor_tensor_free(be, &r.bias);
    pictor_tensor_free(be, &r.f1);
    pictor_tensor_free(be, &r.f0);
    pictor_tensor_free(be, &r.o);
    pictor_tensor_free(be, &r.v);
    pictor_tensor_free(be, &r.k);
    pictor_tensor_free(be, &r.q);
    pictor_tensor_free(be, &r.as);
    pictor_tensor_free(be, &r.aq);
    pictor_tensor_free(be, &r.a);
    pictor_tensor_free(be, &r.h);
    return rc;
}
