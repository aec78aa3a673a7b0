/* sched_dpm.c — DPMSolverMultistepScheduler, DPM-Solver++ 2M, midpoint
 * (MODELS.md §8.6): DPM's own spacings, optional Karras sigmas with rounded
 * sigma_to_t timesteps, data-prediction conversion, first-order update at
 * the first step and at the final step (final_sigmas_type zero,
 * lower_order_final with N < 15, or euler_at_final), second-order midpoint
 * update otherwise. Scalars are float32 as diffusers' 0-dim tensors.
 * Known difference: torch.exp on a 0-dim float32 CPU tensor runs torch's
 * vectorised exp, which differs from glibc expf by one ulp for ~1% of
 * arguments; with expf here the second-order samples differ from diffusers
 * by up to ~2e-7 relative (fixture scheduler_dpmpp_2m_n8: rel_l2 1.6e-7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"
#include "sched_internal.h"

/* diffusers: lower_order_final applies "for steps < 15" (stability). */
#define DPM_LOWER_ORDER_FINAL_MAX_STEPS 15

static int dpm_timesteps(const struct pictor_sched *s, int n, double *ts, char *err,
                         size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    /* clipped_idx = searchsorted(flip(lambda_t), lambda_min_clipped) */
    int clipped = 0;
    for (int t = 0; t < T; t++) {
        float a = s->alphas_cumprod[t];
        float lambda = logf(sqrtf(a)) - logf(sqrtf(1.0f - a));
        if ((double)lambda < c->lambda_min_clipped)
            clipped++;
    }
    int last = T - clipped;
    if (c->spacing == SPACING_LINSPACE) {
        /* linspace(0, last - 1, n + 1).round()[::-1][:-1] */
        double *lin = malloc((size_t)(n + 1) * sizeof *lin);
        if (!lin)
            return sched_errf(err, errlen, PICTOR_E_NOMEM, "dpm++: out of memory");
        sched_np_linspace(0.0, (double)(last - 1), n + 1, lin);
        for (int k = 0; k < n; k++)
            ts[k] = rint(lin[n - k]);
        free(lin);
        return n;
    }
    if (c->spacing == SPACING_LEADING) {
        int ratio = last / (n + 1);
        for (int k = 0; k < n; k++)
            ts[k] = (double)((n - k) * ratio + c->steps_offset);
        return n;
    }
    int len = sched_np_arange((double)last, 0.0, -((double)T / n), ts, n + 1);
    for (int k = 0; k < len; k++)
        ts[k] = rint(ts[k]) - 1.0;
    return len;
}

static int dpm_set_timesteps(struct pictor_sched *s, int n, const double *sigmas, int n_sigmas,
                             const double *mu, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    double *ts = malloc((size_t)(n + 1) * sizeof *ts), *sig = malloc((size_t)(n + 1) * sizeof *sig);
    int rc = PICTOR_OK, len = n;
    if (!ts || !sig) {
        rc = sched_errf(err, errlen, PICTOR_E_NOMEM, "dpm++: out of memory");
        goto cleanup;
    }
    if (c->use_karras_sigmas) {
        /* the full table reversed: sigma_max = table[T-1], sigma_min = table[0] */
        sched_karras(s->sigma_table[0], s->sigma_table[T - 1], n, sig);
        for (int k = 0; k < n; k++)
            ts[k] = rint(sched_sigma_to_t(sig[k], s->log_sigma_table, T));
    } else {
        len = dpm_timesteps(s, n, ts, err, errlen);
        if (len < 1) {
            rc = len < 0 ? PICTOR_E_NOMEM : sched_errf(err, errlen, PICTOR_E_INVALID,
                                                       "dpm++: no timesteps for %d steps", n);
            goto cleanup;
        }
        for (int k = 0; k < len; k++)
            sig[k] = sched_np_interp_index(ts[k], s->sigma_table, T);
    }
    rc = sched_alloc_schedule(s, len, len + 1);
    if (rc != PICTOR_OK) {
        sched_errf(err, errlen, rc, "dpm++: out of memory");
        goto cleanup;
    }
    for (int k = 0; k < len; k++) {
        s->timesteps[k] = (float)(int64_t)ts[k];
        s->sigmas[k] = (float)sig[k];
    }
    s->sigmas[len] = c->final_sigma_min ? s->sigma_table[0] : 0.0f;
    s->n_steps = len;
    s->init_noise_sigma = 1.0f;
cleanup:
    free(ts);
    free(sig);
    return rc;
}

/* _sigma_to_alpha_sigma_t and lambda = log(alpha) - log(sigma), float32 */
struct dpm_point {
    float alpha, sigma, lambda;
};

static struct dpm_point dpm_point(float sigma)
{
    struct dpm_point p;
    p.alpha = 1.0f / sched_sqrt_sq1(sigma);
    p.sigma = sigma * p.alpha;
    p.lambda = logf(p.alpha) - logf(p.sigma);
    return p;
}

static int dpm_step(struct pictor_sched *s, int i, const float *eps, const float *x,
                    const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int N = s->n_calls;
    bool lower_final = i == N - 1 &&
                       (c->euler_at_final ||
                        (c->lower_order_final && N < DPM_LOWER_ORDER_FINAL_MAX_STEPS) ||
                        !c->final_sigma_min);
    if (sched_state_reserve(s, n, 2) != PICTOR_OK)
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "dpm++: out of memory");
    /* convert_model_output -> x0 in state_b; state_a holds the previous x0 */
    struct dpm_point p_s0 = dpm_point(s->sigmas[i]);
    float *x0 = s->state_b, *m1 = s->state_a;
    for (size_t k = 0; k < n; k++)
        x0[k] = c->prediction == PICTOR_SCHED_PRED_V ? p_s0.alpha * x[k] - p_s0.sigma * eps[k]
                                                     : (x[k] - p_s0.sigma * eps[k]) / p_s0.alpha;
    struct dpm_point p_t = dpm_point(s->sigmas[i + 1]);
    float a = p_t.sigma / p_s0.sigma;
    if (c->solver_order == 1 || s->dpm_lower_order_nums < 1 || lower_final) {
        float h = p_t.lambda - p_s0.lambda;
        float b = p_t.alpha * (expf(-h) - 1.0f);
        for (size_t k = 0; k < n; k++)
            out[k] = a * x[k] - b * x0[k];
    } else {
        struct dpm_point p_s1 = dpm_point(s->sigmas[i - 1]);
        float h = p_t.lambda - p_s0.lambda, h0 = p_s0.lambda - p_s1.lambda;
        float r0 = h0 / h;
        float inv_r0 = 1.0f / r0;
        float b = p_t.alpha * (expf(-h) - 1.0f);
        float b_half = 0.5f * b;
        for (size_t k = 0; k < n; k++) {
            float d1 = inv_r0 * (x0[k] - m1[k]);
            out[k] = a * x[k] - b * x0[k] - b_half * d1;
        }
    }
    if (s->dpm_lower_order_nums < c->solver_order)
        s->dpm_lower_order_nums++;
    s->state_a = x0; /* this x0 becomes the previous one */
    s->state_b = m1;
    return PICTOR_OK;
}

const struct sched_ops pictor_sched_dpm_ops = {
    .set_timesteps = dpm_set_timesteps,
    .scale = NULL,
    .step = dpm_step,
};
