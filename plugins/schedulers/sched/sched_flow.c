/* sched_flow.c — FlowMatchEulerDiscreteScheduler (FLUX, SD3; MODELS.md
 * §8.2): static shift or dynamic ("exponential" time shift with mu),
 * explicit sigmas as FluxPipeline passes them, Euler step on the velocity. */
#include <math.h>
#include <stdlib.h>

#include "pictor/status.h"
#include "sched_internal.h"

/* shift * s / (1 + (shift - 1) * s) on float32 values (torch tensor or numpy
 * float32 array with a Python-float shift). */
static float shift_f32(double shift, float s)
{
    return (float)shift * s / (1.0f + (float)(shift - 1.0) * s);
}

static int flow_set_timesteps(struct pictor_sched *s, int n, const double *sigmas, int n_sigmas,
                              const double *mu, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    if (c->use_dynamic_shifting && !mu)
        return sched_errf(err, errlen, PICTOR_E_INVALID,
                          "flow-match-euler: use_dynamic_shifting needs mu");
    double *sig = malloc((size_t)n * sizeof *sig);
    if (!sig)
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "flow-match-euler: out of memory");
    if (!sigmas) {
        /* __init__: sigmas = linspace(1, T, T)[::-1] / T (float32), shifted
         * unless dynamic; sigma_max / sigma_min are its ends. Then
         * set_timesteps: linspace(T * max, T * min, n) / T in float64. */
        float smax = (float)T / (float)T, smin = 1.0f / (float)T;
        if (!c->use_dynamic_shifting) {
            smax = shift_f32(c->shift, smax);
            smin = shift_f32(c->shift, smin);
        }
        sched_np_linspace((double)smax * T, (double)smin * T, n, sig);
        for (int k = 0; k < n; k++) {
            double v = sig[k] / T;
            if (c->use_dynamic_shifting) {
                double em = exp(*mu);
                v = em / (em + (1.0 / v - 1.0));
            } else {
                v = c->shift * v / (1.0 + (c->shift - 1.0) * v);
            }
            sig[k] = (double)(float)v;
        }
    } else {
        /* np.array(sigmas).astype(float32); the shift stays in float32 */
        for (int k = 0; k < n_sigmas; k++) {
            float v = (float)sigmas[k];
            if (c->use_dynamic_shifting) {
                float em = (float)exp(*mu); /* math.exp(mu) meets a float32 array */
                v = em / (em + (1.0f / v - 1.0f));
            } else {
                v = shift_f32(c->shift, v);
            }
            sig[k] = v;
        }
    }
    int rc = sched_alloc_schedule(s, n, n + 1);
    if (rc != PICTOR_OK) {
        free(sig);
        return sched_errf(err, errlen, rc, "flow-match-euler: out of memory");
    }
    for (int k = 0; k < n; k++) {
        s->sigmas[k] = (float)sig[k];
        s->timesteps[k] = s->sigmas[k] * (float)T; /* sigmas * num_train_timesteps */
    }
    s->sigmas[n] = 0.0f;
    s->n_steps = n;
    s->init_noise_sigma = 1.0f; /* the pipelines use the noise as is */
    free(sig);
    return PICTOR_OK;
}

static int flow_step(struct pictor_sched *s, int i, const float *v, const float *x,
                     const float *noise, float *out, size_t n, char *err, size_t errlen)
{
    float dt = s->sigmas[i + 1] - s->sigmas[i];
    for (size_t k = 0; k < n; k++)
        out[k] = x[k] + dt * v[k];
    return PICTOR_OK;
}

/* The same step as 1 * x + dt * v (x * 1 is exact: bit-identical). */
static bool flow_linear(const struct pictor_sched *s, int i, float *c_sample, float *c_output)
{
    *c_sample = 1.0f;
    *c_output = s->sigmas[i + 1] - s->sigmas[i];
    return true;
}

const struct sched_ops pictor_sched_flow_ops = {
    .set_timesteps = flow_set_timesteps,
    .scale = NULL,
    .step = flow_step,
    .linear = flow_linear,
};
