/* sched_ddim.c — DDIMScheduler (MODELS.md §8.7): integer timesteps, the
 * previous timestep is t - T // N (for every spacing), optional eta noise,
 * clip_sample, set_alpha_to_one. init_noise_sigma 1, no input scaling. */
#include <math.h>
#include <stdlib.h>

#include "pictor/status.h"
#include "sched_internal.h"

static int ddim_set_timesteps(struct pictor_sched *s, int n, const double *sigmas, int n_sigmas,
                              const double *mu, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    if (n > T)
        return sched_errf(err, errlen, PICTOR_E_INVALID, "ddim: %d steps > %d train timesteps",
                          n, T);
    double *tmp = malloc((size_t)(n + 1) * sizeof *tmp);
    int rc = sched_alloc_schedule(s, n, 0);
    if (!tmp || rc != PICTOR_OK) {
        free(tmp);
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "ddim: out of memory");
    }
    if (c->spacing == SPACING_LINSPACE) {
        sched_np_linspace(0.0, (double)(T - 1), n, tmp); /* .round()[::-1] */
        for (int k = 0; k < n; k++)
            s->timesteps[k] = (float)rint(tmp[n - 1 - k]);
    } else if (c->spacing == SPACING_LEADING) {
        for (int k = 0; k < n; k++)
            s->timesteps[k] = (float)((n - 1 - k) * (T / n) + c->steps_offset);
    } else {
        int len = sched_np_arange((double)T, 0.0, -((double)T / n), tmp, n + 1);
        if (len != n)
            rc = sched_errf(err, errlen, PICTOR_E_INVALID, "ddim: trailing gives %d of %d steps",
                            len, n);
        for (int k = 0; k < n && rc == PICTOR_OK; k++)
            s->timesteps[k] = (float)((int64_t)rint(tmp[k]) - 1);
    }
    free(tmp);
    for (int k = 0; k < n && rc == PICTOR_OK; k++)
        if (s->timesteps[k] < 0 || s->timesteps[k] >= (float)T)
            rc = sched_errf(err, errlen, PICTOR_E_INVALID, "ddim: timestep %g outside [0, %d)",
                            (double)s->timesteps[k], T);
    s->n_steps = n;
    s->init_noise_sigma = 1.0f;
    return rc;
}

static int ddim_step(struct pictor_sched *s, int i, const float *eps, const float *x,
                     const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int t = (int)s->timesteps[i];
    int prev_t = t - c->num_train_timesteps / s->n_steps;
    float a_t = s->alphas_cumprod[t];
    float a_prev = prev_t >= 0 ? s->alphas_cumprod[prev_t]
                               : (c->set_alpha_to_one ? 1.0f : s->alphas_cumprod[0]);
    float beta_t = 1.0f - a_t;
    float sq_a = sqrtf(a_t), sq_b = sqrtf(beta_t), sq_a_prev = sqrtf(a_prev);
    /* _get_variance, then std_dev_t = eta * variance ** 0.5 */
    float var = ((1.0f - a_prev) / beta_t) * (1.0f - a_t / a_prev);
    float std = (float)s->eta * sqrtf(var);
    float dir = sqrtf(1.0f - a_prev - std * std);
    float r = (float)c->clip_sample_range;
    for (size_t k = 0; k < n; k++) {
        float x0, pe;
        if (c->prediction == PICTOR_SCHED_PRED_V) {
            x0 = sq_a * x[k] - sq_b * eps[k];
            pe = sq_a * eps[k] + sq_b * x[k];
        } else {
            x0 = (x[k] - sq_b * eps[k]) / sq_a;
            pe = eps[k];
        }
        if (c->clip_sample)
            x0 = x0 < -r ? -r : (x0 > r ? r : x0);
        float prev = sq_a_prev * x0 + dir * pe;
        if (s->eta > 0.0)
            prev = prev + std * noise[k];
        out[k] = prev;
    }
    return PICTOR_OK;
}

const struct sched_ops pictor_sched_ddim_ops = {
    .set_timesteps = ddim_set_timesteps,
    .scale = NULL,
    .step = ddim_step,
};
