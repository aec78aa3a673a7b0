/* sched_heun.c — HeunDiscreteScheduler (MODELS.md §8.5): sigmas and
 * timesteps interleaved so N steps take 2N - 1 model calls; a first-order
 * (Euler) call stores derivative, dt and sample, the following call
 * averages the two derivatives from the stored sample. The last segment
 * (to sigma 0) is a plain Euler call. No float32 casts (all float32). */
#include <math.h>
#include <stdlib.h>

#include "pictor/status.h"
#include "sched_internal.h"

static int heun_set_timesteps(struct pictor_sched *s, int n, const double *sigmas, int n_sigmas,
                              const double *mu, char *err, size_t errlen)
{
    float *ts = malloc((size_t)n * sizeof *ts), *sig = malloc((size_t)(n + 1) * sizeof *sig);
    int rc = PICTOR_E_NOMEM;
    if (!ts || !sig) {
        sched_errf(err, errlen, rc, "heun: out of memory");
        goto cleanup;
    }
    rc = sched_discrete_schedule(s, n, s->cfg.use_karras_sigmas, ts, sig, err, errlen);
    if (rc != PICTOR_OK)
        goto cleanup;
    rc = sched_alloc_schedule(s, 2 * n - 1, 2 * n);
    if (rc != PICTOR_OK) {
        sched_errf(err, errlen, rc, "heun: out of memory");
        goto cleanup;
    }
    /* sigmas = [s0, s1, s1, ..., s_{N-1}, s_{N-1}, 0]; timesteps alike */
    s->sigmas[0] = sig[0];
    s->timesteps[0] = ts[0];
    for (int k = 1; k < n; k++) {
        s->sigmas[2 * k - 1] = s->sigmas[2 * k] = sig[k];
        s->timesteps[2 * k - 1] = s->timesteps[2 * k] = ts[k];
    }
    s->sigmas[2 * n - 1] = sig[n];
    s->n_steps = n;
    s->init_noise_sigma = sched_discrete_init_sigma(s);
cleanup:
    free(ts);
    free(sig);
    return rc;
}

static float heun_x0(const struct pictor_sched *s, float x, float eps, float sigma)
{
    float x0;
    if (s->cfg.prediction == PICTOR_SCHED_PRED_V)
        x0 = eps * (-sigma / sched_sqrt_sq1(sigma)) + x / (sigma * sigma + 1.0f);
    else
        x0 = x - sigma * eps;
    if (s->cfg.clip_sample) {
        float r = (float)s->cfg.clip_sample_range;
        x0 = x0 < -r ? -r : (x0 > r ? r : x0);
    }
    return x0;
}

static int heun_step(struct pictor_sched *s, int i, const float *eps, const float *x,
                     const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    if (!s->heun_second) {
        float sigma = s->sigmas[i], next = s->sigmas[i + 1];
        if (sched_state_reserve(s, n, 2) != PICTOR_OK)
            return sched_errf(err, errlen, PICTOR_E_NOMEM, "heun: out of memory");
        float dt = next - sigma;
        for (size_t k = 0; k < n; k++) {
            float d = (x[k] - heun_x0(s, x[k], eps[k], sigma)) / sigma;
            s->state_a[k] = d;
            s->state_b[k] = x[k];
            out[k] = x[k] + d * dt;
        }
        s->heun_dt = dt;
        s->heun_second = true;
        return PICTOR_OK;
    }
    if (s->state_n != n)
        return sched_errf(err, errlen, PICTOR_E_INVALID, "heun: sample size changed mid-step");
    float next = s->sigmas[i];
    for (size_t k = 0; k < n; k++) {
        float d2 = (x[k] - heun_x0(s, x[k], eps[k], next)) / next;
        float d = (s->state_a[k] + d2) / 2.0f;
        out[k] = s->state_b[k] + d * s->heun_dt;
    }
    s->heun_second = false;
    return PICTOR_OK;
}

const struct sched_ops pictor_sched_heun_ops = {
    .set_timesteps = heun_set_timesteps,
    .scale = sched_discrete_scale,
    .step = heun_step,
};
