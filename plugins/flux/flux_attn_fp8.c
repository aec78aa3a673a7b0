/*
 * plugins/flux/flux_attn_fp8.c — FP8 attention for the FLUX transformer
 * (cfg.fp8_attention; pictor_sdpa_fp8 in pictor/ops.h).
 *
 * q and k go into E4M3 straight from the QK RMSNorm + RoPE op, so they
 * need their per-tensor scales before they exist. A static bound serves:
 * RMSNorm divides a head's vector by its rms, leaving an L2 norm of at most
 * sqrt(Dh) (sqrt(sum x^2) / sqrt(mean x^2 + eps) < sqrt(Dh)); the weight
 * multiplies each channel by at most max|w|; RoPE rotates channel pairs,
 * which keeps every channel at most the pair's norm, itself at most the
 * vector's. So |q| <= sqrt(Dh) * max|w_q| whatever the input, and the codes
 * never overflow. E4M3 is a float format: a bound looser than the real
 * amax costs no relative precision until values fall 2^15 below it (into
 * subnormals), so a loose bound loses nothing that matters. v and the
 * output are quantised inside pictor_sdpa_fp8 from v's own amax.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_internal.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

bool pictor_flux_fp8_attention_env(void)
{
    const char *v = getenv("PICTOR_FP8_ATTENTION");

    if (!v || !*v || strcmp(v, "0") == 0)
        return false;
    if (strcmp(v, "1") == 0)
        return true;
    fprintf(stderr, "pictor: flux: PICTOR_FP8_ATTENTION=%.32s is not 0 or 1: off\n", v);
    return false;
}

/* max |w| of a norm weight on the backend (1 for no weight). */
static int weight_amax(pictor_backend *be, const pictor_tensor *w, float *amax, char *err,
                       size_t errlen)
{
    int64_t n = pictor_tensor_numel(w);
    size_t bytes = pictor_tensor_nbytes(w);
    void *raw;
    float *f;
    int rc;

    *amax = 1.0f;
    if (!w->data)
        return PICTOR_OK;
    raw = malloc(bytes ? bytes : 1);
    f = malloc((size_t)(n ? n : 1) * sizeof *f);
    if (!raw || !f) {
        free(raw), free(f);
        snprintf(err, errlen, "flux transformer: out of memory");
        return PICTOR_E_NOMEM;
    }
    if ((rc = pictor_backend_download(be, raw, w->data, bytes))) {
        snprintf(err, errlen, "flux transformer: reading a QK norm weight: %s",
                 pictor_backend_error(be));
    } else {
        pictor_row_to_f32(f, raw, w->dtype, (size_t)n, w->scale);
        *amax = 0.0f;
        for (int64_t i = 0; i < n; i++)
            *amax = fmaxf(*amax, fabsf(f[i]));
        if (!isfinite(*amax) || *amax == 0.0f) {
            snprintf(err, errlen, "flux transformer: a QK norm weight's largest magnitude is "
                     "%g: no FP8 scale for attention", (double)*amax);
            rc = PICTOR_E_FORMAT;
        }
    }
    free(raw), free(f);
    return rc;
}

/* sqrt(Dh) * max(max|a|, max|b|) (b may be NULL). */
static int bound_of(const struct pictor_flux_transformer *m, const pictor_tensor *a,
                    const pictor_tensor *b, float *out, char *err, size_t errlen)
{
    float x = 0.0f, y = 0.0f;
    int rc = weight_amax(m->be, a, &x, err, errlen);

    if (!rc && b)
        rc = weight_amax(m->be, b, &y, err, errlen);
    *out = sqrtf((float)m->cfg.attention_head_dim) * fmaxf(x, y);
    return rc;
}

int flux_attn_fp8_bounds(struct pictor_flux_transformer *m, char *err, size_t errlen)
{
    int rc = PICTOR_OK;

    if (!m->cfg.fp8_attention)
        return PICTOR_OK;
    for (int i = 0; i < m->cfg.num_layers && !rc; i++) {
        struct flux_double *b = &m->dbl[i];

        if (!(rc = bound_of(m, &b->norm_q, &b->norm_added_q, &b->q_bound, err, errlen)))
            rc = bound_of(m, &b->norm_k, &b->norm_added_k, &b->k_bound, err, errlen);
    }
    for (int j = 0; j < m->cfg.num_single_layers && !rc; j++) {
        struct flux_single *b = &m->sgl[j];

        if (!(rc = bound_of(m, &b->norm_q, NULL, &b->q_bound, err, errlen)))
            rc = bound_of(m, &b->norm_k, NULL, &b->k_bound, err, errlen);
    }
    return rc;
}

void flux_attn_fp8_decide(struct flux_run *r)
{
    static const int bhld[4] = {0, 2, 1, 3};
    int64_t bl[4] = {r->B, r->N, r->H, r->Dh};
    struct pictor_op_args a = {.op = PICTOR_OP_SDPA_FP8};
    pictor_tensor q, v;

    r->fp8_attn = false;
    if (!r->m->cfg.fp8_attention)
        return;
    /* The layouts flux_attention passes: [B, N, H, Dh] storage seen as
     * [B, H, N, Dh]. */
    q = pictor_tensor_make(NULL, PICTOR_F8_E4M3, 4, bl);
    q = pictor_tensor_permute(&q, bhld);
    q.scale = 1.0f;
    q.device = r->h.device, q.device_index = r->h.device_index;
    v = pictor_tensor_make(NULL, r->act, 4, bl);
    v = pictor_tensor_permute(&v, bhld);
    v.device = q.device, v.device_index = q.device_index;
    a.u.sdpa_fp8.q = &q, a.u.sdpa_fp8.k = &q, a.u.sdpa_fp8.v = &v, a.u.sdpa_fp8.o = &v;
    a.u.sdpa_fp8.scale = 1.0f / sqrtf((float)r->Dh);
    r->fp8_attn = pictor_op_supported(r->be, &a);
    if (!r->fp8_attn && !r->m->fp8_attn_refused_said) {
        r->m->fp8_attn_refused_said = true;
        fprintf(stderr, "pictor: flux: FP8 attention (PICTOR_FP8_ATTENTION=1) is not offered by "
                "the %s backend for [%lld, %lld, %lld, %lld]: attention stays 16-bit (the CUDA "
                "backend's description says why)\n", pictor_backend_name(r->be),
                (long long)r->B, (long long)r->H, (long long)r->N, (long long)r->Dh);
    }
}

int flux_attn_fp8_alloc(struct flux_run *r, float q_bound, float k_bound, pictor_tensor *q8,
                        pictor_tensor *k8)
{
    int64_t s[3] = {r->B, r->N, r->D};
    int rc;

    if ((rc = flux_alloc_dtype(r, q8, PICTOR_F8_E4M3, 3, s)) ||
        (rc = flux_alloc_dtype(r, k8, PICTOR_F8_E4M3, 3, s)))
        return rc;
    q8->scale = q_bound / PICTOR_E4M3_MAX;
    k8->scale = k_bound / PICTOR_E4M3_MAX;
    return PICTOR_OK;
}
