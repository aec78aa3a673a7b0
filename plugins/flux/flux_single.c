/*
 * plugins/flux/flux_single.c — the single-stream block (diffusers
 * FluxSingleTransformerBlock, MODELS.md §4.3 step 7) on r->h [B, N, D]:
 *   (shift, scale, gate) = chunk3(norm.linear(SiLU temb))
 *   ĥ = LN(h)(1 + scale) + shift
 *   cat [B, N, D + F]: cat[..., :D] = SDPA(RoPE(RMSNorm(q, k)), v) with
 *                      q, k, v = to_q/k/v(ĥ) (no output projection);
 *                      cat[..., D:] = GELU_tanh(proj_mlp(ĥ))
 *   h += gate * proj_out(cat)   (flux_linear_gated: fused under FP8 linears)
 * Attention and MLP write straight into their column ranges of cat (no
 * concatenation copy). With FP8 linears the AdaLN writes ĥ straight into
 * E4M3 with per-token scales (flux_fp8_input), read by proj_mlp, q, k, v;
 * with FP8 attention (r->fp8_attn) q and k are normed and rotated into E4M3
 * and attention is pictor_sdpa_fp8 (flux_attn_fp8.c).
 * Temporaries are released at the end of the block.
 */
#include "flux_internal.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

enum { SHIFT, SCALE, GATE }; /* AdaLayerNormZeroSingle chunk order */

int flux_single_block(struct flux_run *r, const struct flux_single *b)
{
    size_t mark = flux_scratch_mark(&r->s);
    const int64_t D = r->D, F = FLUX_MLP_RATIO * D;
    int64_t sm[2] = {r->B, 3 * D}, sx[3] = {r->B, r->N, D}, sc[3] = {r->B, r->N, D + F};
    pictor_tensor mod, hn, cat, q, k, v;
    int rc;
    if ((rc = flux_alloc(r, &mod, 2, sm)) ||
        (rc = flux_linear(r, &r->silu_temb, &b->norm, &mod, "norm.linear")))
        goto out;
    pictor_tensor shift = flux_chunk(&mod, SHIFT, D), scale = flux_chunk(&mod, SCALE, D);
    pictor_tensor gate = flux_chunk(&mod, GATE, D);
    pictor_tensor hq; /* ĥ: hn, or (fp8) its tokens in E4M3 for proj_mlp, q, k, v */
    if ((rc = flux_alloc(r, &hn, 3, sx)) || (rc = flux_fp8_input(r, &hn, &b->proj_mlp, &hq)) ||
        (rc = flux_modulate(r, &r->h, &shift, &scale, &hq)) ||
        (rc = flux_alloc(r, &cat, 3, sc)))
        goto out;
    pictor_tensor attn = pictor_tensor_slice(&cat, 2, 0, D);
    pictor_tensor mlp = pictor_tensor_slice(&cat, 2, D, F);
    if ((rc = flux_linear_gelu(r, &hq, &b->proj_mlp, &mlp, "proj_mlp")) ||
        (rc = flux_alloc(r, &q, 3, sx)) || (rc = flux_alloc(r, &k, 3, sx)) ||
        (rc = flux_alloc(r, &v, 3, sx)) ||
        (rc = flux_linear(r, &hq, &b->to_q, &q, "q projection")) ||
        (rc = flux_linear(r, &hq, &b->to_k, &k, "k projection")) ||
        (rc = flux_linear(r, &hq, &b->to_v, &v, "v projection")))
        goto out;
    pictor_tensor qh = flux_heads(&q, r->H), kh = flux_heads(&k, r->H), qy = qh, ky = kh;
    pictor_tensor vh = flux_heads(&v, r->H), oh = flux_heads(&attn, r->H), q8, k8;
    if (r->fp8_attn) { /* normed and rotated straight into E4M3 */
        if ((rc = flux_attn_fp8_alloc(r, b->q_bound, b->k_bound, &q8, &k8)))
            goto out;
        qy = flux_heads(&q8, r->H), ky = flux_heads(&k8, r->H);
    }
    if ((rc = flux_qk_norm_rope(r, &qh, &b->norm_q, 0, &qy, "rms_norm + rope q")) ||
        (rc = flux_qk_norm_rope(r, &kh, &b->norm_k, 0, &ky, "rms_norm + rope k")) ||
        (rc = flux_attention(r, &qy, &ky, &vh, &oh)) ||
        (rc = flux_linear_gated(r, &cat, &b->proj_out, &gate, &r->h, &hn, "proj_out")))
        goto out;
out:
    flux_scratch_release(&r->s, mark);
    return rc;
}
