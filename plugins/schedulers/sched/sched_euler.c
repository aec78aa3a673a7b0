/* sched_euler.c — EulerDiscreteScheduler and EulerAncestralDiscreteScheduler
 * (MODELS.md §8.3, §8.4): discrete sigma table interpolated at the spaced
 * timesteps (Euler: optional Karras sigmas and final sigma_min), input
 * scaling by 1/sqrt(sigma^2 + 1), Euler step (churn 0) and the ancestral
 * step that adds sigma_up * noise. */
#include <math.h>
#include <stdlib.h>

#include "pictor/status.h"
#include "sched_internal.h"

int sched_discrete_schedule(struct pictor_sched *s, int n, bool karras, float *ts, float *sig,
                            char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    int rc = sched_discrete_timesteps(c, n, ts, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "sigmas: out of memory");
    for (int k = 0; k < n; k++)
        v[k] = sched_np_interp_index((double)ts[k], s->sigma_table, T);
    if (karras) {
        /* the interpolated list's ends unless the config pins them */
        double lo = isnan(c->sigma_min) ? v[n - 1] : c->sigma_min;
        double hi = isnan(c->sigma_max) ? v[0] : c->sigma_max;
        sched_karras(lo, hi, n, v);
        for (int k = 0; k < n; k++)
            ts[k] = (float)sched_sigma_to_t(v[k], s->log_sigma_table, T);
    }
    for (int k = 0; k < n; k++)
        sig[k] = (float)v[k];
    sig[n] = c->final_sigma_min ? s->sigma_table[0] : 0.0f;
    free(v);
    return PICTOR_OK;
}

float sched_discrete_init_sigma(const struct pictor_sched *s)
{
    float m = s->sigmas[0];
    for (int k = 1; k < s->n_sigmas; k++)
        m = s->sigmas[k] > m ? s->sigmas[k] : m;
    return s->cfg.spacing == SPACING_LEADING ? sched_sqrt_sq1(m) : m;
}

static int euler_set_common(struct pictor_sched *s, int n, bool karras, char *err, size_t errlen)
{
    int rc = sched_alloc_schedule(s, n, n + 1);
    if (rc != PICTOR_OK)
        return sched_errf(err, errlen, rc, "%s: out of memory", pictor_sched_kind_name(s->kind));
    rc = sched_discrete_schedule(s, n, karras, s->timesteps, s->sigmas, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    s->n_steps = n;
    s->init_noise_sigma = sched_discrete_init_sigma(s);
    return PICTOR_OK;
}

static int euler_set_timesteps(struct pictor_sched *s, int n, const double *sigmas, int n_sigmas,
                               const double *mu, char *err, size_t errlen)
{
    return euler_set_common(s, n, s->cfg.use_karras_sigmas, err, errlen);
}

static int euler_a_set_timesteps(struct pictor_sched *s, int n, const double *sigmas,
                                 int n_sigmas, const double *mu, char *err, size_t errlen)
{
    return euler_set_common(s, n, false, err, errlen);
}

void sched_discrete_scale(const struct pictor_sched *s, int i, const float *in, float *out,
                          size_t n)
{
    float d = sched_sqrt_sq1(s->sigmas[i]);
    for (size_t k = 0; k < n; k++)
        out[k] = in[k] / d;
}

/* x0 from the model output at sigma (epsilon or v-prediction). */
static float x0_of(int prediction, float x, float eps, float sigma, float v_c, float v_d)
{
    if (prediction == PICTOR_SCHED_PRED_V) /* eps * (-sigma / sqrt(s^2+1)) + x / (s^2+1) */
        return eps * v_c + x / v_d;
    return x - sigma * eps;
}

static int euler_step(struct pictor_sched *s, int i, const float *eps, const float *x,
                      const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    float sigma = s->sigmas[i]; /* sigma_hat = sigma * (gamma + 1), gamma = 0 */
    float dt = s->sigmas[i + 1] - sigma;
    float v_c = -sigma / sched_sqrt_sq1(sigma), v_d = sigma * sigma + 1.0f;
    for (size_t k = 0; k < n; k++) {
        float x0 = x0_of(s->cfg.prediction, x[k], eps[k], sigma, v_c, v_d);
        float d = (x[k] - x0) / sigma;
        out[k] = x[k] + d * dt;
    }
    return PICTOR_OK;
}

static int euler_a_step(struct pictor_sched *s, int i, const float *eps, const float *x,
                        const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    float sf = s->sigmas[i], st = s->sigmas[i + 1];
    float up = sqrtf(st * st * (sf * sf - st * st) / (sf * sf));
    float down = sqrtf(st * st - up * up);
    float dt = down - sf;
    float v_c = -sf / sched_sqrt_sq1(sf), v_d = sf * sf + 1.0f;
    for (size_t k = 0; k < n; k++) {
        float x0 = x0_of(s->cfg.prediction, x[k], eps[k], sf, v_c, v_d);
        float d = (x[k] - x0) / sf;
        float prev = x[k] + d * dt;
        out[k] = prev + noise[k] * up;
    }
    return PICTOR_OK;
}

const struct sched_ops pictor_sched_euler_ops = {
    .set_timesteps = euler_set_timesteps,
    .scale = sched_discrete_scale,
    .step = euler_step,
};

const struct sched_ops pictor_sched_euler_a_ops = {
    .set_timesteps = euler_a_set_timesteps,
    .scale = sched_discrete_scale,
    .step = euler_a_step,
};
