/*
 * plugins/flux/flux_blocks.c — the double-stream block (diffusers
 * FluxTransformerBlock, MODELS.md §4.3 step 6) on r->h [B, N, D], whose
 * rows 0..T-1 are the text stream c and rows T..N-1 the image stream x:
 *   (shift, scale, gate)_msa, (shift, scale, gate)_mlp = chunk6(norm1.linear(SiLU temb))
 *   q, k, v [B, N, H, Dh]: text rows from add_*_proj(ĉ), image rows from
 *           to_*(x̂), each RMSNorm'd per head (norm_added_* / norm_*) and
 *           rotated (RoPE rows of its tokens) in one fused op per stream,
 *           then SDPA over all N tokens (text first)
 *   x += gate_msa * to_out.0(O[T:]);  c += c_gate_msa * to_add_out(O[:T])
 *   x += gate_mlp * ff(LN(x)(1 + scale_mlp) + shift_mlp), same for c
 *           (each gated residual one flux_linear_gated: with FP8 linears
 *           the projection accumulates into the f32 stream in the GEMM's
 *           epilogue, never rounded to the activation dtype)
 * Projections write straight into the token slices of q, k, v, so the joint
 * attention needs no concatenation copy. With FP8 linears each AdaLN
 * writes its tokens straight into E4M3 with per-token scales (flux_fp8_input:
 * norm1 for q/k/v, norm2 for the FF up-projection). With FP8 attention
 * (r->fp8_attn) the QK norm + RoPE op writes q and k in E4M3
 * (flux_attn_fp8.c) and attention is pictor_sdpa_fp8. All temporaries are
 * released at the end of the block.
 */
#include "flux_internal.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Indices into the 6-way AdaLayerNormZero chunk (diffusers order). */
enum { SHIFT_MSA, SCALE_MSA, GATE_MSA, SHIFT_MLP, SCALE_MLP, GATE_MLP };

struct stream { /* one side of the block: image or text */
    const char *name;
    pictor_tensor x;    /* [B, S, D] view into r->h */
    int64_t row0, S;    /* token rows in r->h / q / k / v */
    const struct flux_linear *mod, *q, *k, *v, *out, *ff0, *ff2;
    const pictor_tensor *norm_q, *norm_k;
    pictor_tensor m;    /* [B, 6D] modulation */
    pictor_tensor xn;   /* [B, S, D] scratch (the AdaLN output when not fp8) */
};

/* Modulation, normed input, q/k/v rows (RMSNorm'd and rotated with the
 * stream's rows of the RoPE tables) for one stream. */
static int stream_qkv(struct flux_run *r, struct stream *st, pictor_tensor *q,
                      pictor_tensor *k, pictor_tensor *v, pictor_tensor *q8, pictor_tensor *k8)
{
    int64_t sm[2] = {r->B, 6 * r->D}, sx[3] = {r->B, st->S, r->D};
    int rc;
    if ((rc = flux_alloc(r, &st->m, 2, sm)) ||
        (rc = flux_linear(r, &r->silu_temb, st->mod, &st->m, st->name)))
        return rc;
    pictor_tensor shift = flux_chunk(&st->m, SHIFT_MSA, r->D);
    pictor_tensor scale = flux_chunk(&st->m, SCALE_MSA, r->D);
    pictor_tensor qs = pictor_tensor_slice(q, 1, st->row0, st->S);
    pictor_tensor ks = pictor_tensor_slice(k, 1, st->row0, st->S);
    pictor_tensor vs = pictor_tensor_slice(v, 1, st->row0, st->S), xq;
    if ((rc = flux_alloc(r, &st->xn, 3, sx)) ||
        (rc = flux_fp8_input(r, &st->xn, st->q, &xq)) || /* fp8: one for q, k, v */
        (rc = flux_modulate(r, &st->x, &shift, &scale, &xq)) ||
        (rc = flux_linear(r, &xq, st->q, &qs, "q projection")) ||
        (rc = flux_linear(r, &xq, st->k, &ks, "k projection")) ||
        (rc = flux_linear(r, &xq, st->v, &vs, "v projection")))
        return rc;
    pictor_tensor qh = flux_heads(&qs, r->H), kh = flux_heads(&ks, r->H), qy = qh, ky = kh;
    if (r->fp8_attn) { /* normed and rotated straight into E4M3 */
        pictor_tensor q8s = pictor_tensor_slice(q8, 1, st->row0, st->S);
        pictor_tensor k8s = pictor_tensor_slice(k8, 1, st->row0, st->S);
        qy = flux_heads(&q8s, r->H), ky = flux_heads(&k8s, r->H);
    }
    if ((rc = flux_qk_norm_rope(r, &qh, st->norm_q, st->row0, &qy, "rms_norm + rope q")) ||
        (rc = flux_qk_norm_rope(r, &kh, st->norm_k, st->row0, &ky, "rms_norm + rope k")))
        return rc;
    return PICTOR_OK;
}

/* Attention output projection, gated residual, then the gated FF. */
static int stream_finish(struct flux_run *r, struct stream *st, const pictor_tensor *o)
{
    pictor_tensor os = pictor_tensor_slice(o, 1, st->row0, st->S), f, xf;
    pictor_tensor gate = flux_chunk(&st->m, GATE_MSA, r->D);
    pictor_tensor shift = flux_chunk(&st->m, SHIFT_MLP, r->D);
    pictor_tensor scale = flux_chunk(&st->m, SCALE_MLP, r->D);
    pictor_tensor gate_mlp = flux_chunk(&st->m, GATE_MLP, r->D);
    int64_t sf[3] = {r->B, st->S, FLUX_MLP_RATIO * r->D};
    int rc;
    if ((rc = flux_linear_gated(r, &os, st->out, &gate, &st->x, &st->xn, "attention output")) ||
        (rc = flux_fp8_input(r, &st->xn, st->ff0, &xf)) ||
        (rc = flux_modulate(r, &st->x, &shift, &scale, &xf)) ||
        (rc = flux_alloc(r, &f, 3, sf)) ||
        (rc = flux_linear_gelu(r, &xf, st->ff0, &f, "ff")) ||
        (rc = flux_linear_gated(r, &f, st->ff2, &gate_mlp, &st->x, &st->xn, "ff")))
        return rc;
    return PICTOR_OK;
}

int flux_double_block(struct flux_run *r, const struct flux_double *b)
{
    size_t mark = flux_scratch_mark(&r->s);
    struct stream img = {
        .name = "norm1", .x = pictor_tensor_slice(&r->h, 1, r->T, r->L), .row0 = r->T,
        .S = r->L, .mod = &b->norm1, .q = &b->to_q, .k = &b->to_k, .v = &b->to_v,
        .out = &b->to_out, .ff0 = &b->ff0, .ff2 = &b->ff2, .norm_q = &b->norm_q,
        .norm_k = &b->norm_k};
    struct stream txt = {
        .name = "norm1_context", .x = pictor_tensor_slice(&r->h, 1, 0, r->T), .row0 = 0,
        .S = r->T, .mod = &b->norm1_context, .q = &b->add_q, .k = &b->add_k,
        .v = &b->add_v, .out = &b->to_add_out, .ff0 = &b->ffc0, .ff2 = &b->ffc2,
        .norm_q = &b->norm_added_q, .norm_k = &b->norm_added_k};
    pictor_tensor q, k, v, o, q8, k8;
    int64_t s[3] = {r->B, r->N, r->D};
    int rc;
    if ((rc = flux_alloc(r, &q, 3, s)) || (rc = flux_alloc(r, &k, 3, s)) ||
        (rc = flux_alloc(r, &v, 3, s)) || (rc = flux_alloc(r, &o, 3, s)) ||
        (r->fp8_attn && (rc = flux_attn_fp8_alloc(r, b->q_bound, b->k_bound, &q8, &k8))) ||
        (rc = stream_qkv(r, &img, &q, &k, &v, &q8, &k8)) ||
        (rc = stream_qkv(r, &txt, &q, &k, &v, &q8, &k8)))
        goto out;
    pictor_tensor qh = flux_heads(r->fp8_attn ? &q8 : &q, r->H);
    pictor_tensor kh = flux_heads(r->fp8_attn ? &k8 : &k, r->H);
    pictor_tensor vh = flux_heads(&v, r->H), oh = flux_heads(&o, r->H);
    if ((rc = flux_attention(r, &qh, &kh, &vh, &oh)) || (rc = stream_finish(r, &img, &o)) ||
        (rc = stream_finish(r, &txt, &o)))
        goto out;
out:
    flux_scratch_release(&r->s, mark);
    return rc;
}
