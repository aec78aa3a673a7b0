/* sched_tables.c — training noise tables, spacings and the numpy/torch
 * helpers they need, reproducing diffusers' float formats (MODELS.md §8.1):
 * torch float32 linspace, cumprod accumulated in float64, numpy float64
 * linspace/arange/interp, Karras sigmas and _sigma_to_t. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"
#include "sched_internal.h"

/* Karras et al. 2022, "Elucidating the design space...", eq. 5: rho = 7. */
#define KARRAS_RHO 7.0
/* diffusers _sigma_to_t: log(max(sigma, 1e-10)). */
#define SIGMA_TO_T_FLOOR 1e-10

int sched_errf(char *err, size_t errlen, int status, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

void sched_torch_linspace_f32(double start, double end, int n, float *out)
{
    /* aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp linspace_kernel: the
     * scalar lambda `start + step * idx` / `end - step * (steps - idx - 1)`,
     * which torch's AVX2/AVX-512 builds (-mfma) contract into one FMA. */
    float s = (float)start, e = (float)end;
    if (n == 1) {
        out[0] = s;
        return;
    }
    float step = (e - s) / (float)(n - 1);
    int half = n / 2;
    for (int i = 0; i < n; i++)
        out[i] = i < half ? fmaf(step, (float)i, s) : fmaf(-step, (float)(n - i - 1), e);
}

void sched_np_linspace(double start, double stop, int n, double *out)
{
    /* numpy function_base.linspace: y = arange(n) * (delta / div) + start,
     * last element set to stop. */
    if (n <= 0)
        return;
    if (n == 1) {
        out[0] = start;
        return;
    }
    double step = (stop - start) / (double)(n - 1);
    for (int i = 0; i < n; i++)
        out[i] = (double)i * step + start;
    out[n - 1] = stop;
}

int sched_np_arange(double start, double stop, double step, double *out, int cap)
{
    /* numpy PyArray_Arange: len = ceil((stop - start) / step); a[0] = start,
     * a[1] = start + step, then DOUBLE_fill: a[i] = start + i * (a[1] - a[0]). */
    double len_d = ceil((stop - start) / step);
    if (!(len_d > 0))
        return 0;
    if (len_d > cap)
        return -1;
    int len = (int)len_d;
    out[0] = start;
    if (len > 1) {
        double delta = (start + step) - start;
        for (int i = 1; i < len; i++)
            out[i] = start + (double)i * delta;
    }
    return len;
}

double sched_np_interp_index(double x, const float *fp, int n)
{
    /* numpy arr_interp with xp = arange(n): clamp at the ends, exact hits
     * return fp[j], else slope * (x - xp[j]) + fp[j]. */
    if (x >= (double)(n - 1))
        return fp[n - 1];
    if (x < 0.0)
        return fp[0];
    int j = (int)floor(x);
    if ((double)j == x)
        return fp[j];
    double slope = (double)fp[j + 1] - (double)fp[j]; /* / (xp[j+1] - xp[j]) = 1 */
    return slope * (x - (double)j) + (double)fp[j];
}

int sched_build_tables(struct pictor_sched *s, char *err, size_t errlen)
{
    const struct sched_config *c = &s->cfg;
    int T = c->num_train_timesteps;
    float *betas = malloc((size_t)T * sizeof *betas);
    s->alphas_cumprod = malloc((size_t)T * sizeof(float));
    s->sigma_table = malloc((size_t)T * sizeof(float));
    s->log_sigma_table = malloc((size_t)T * sizeof(float));
    if (!betas || !s->alphas_cumprod || !s->sigma_table || !s->log_sigma_table) {
        free(betas);
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "scheduler tables: out of memory");
    }
    if (c->beta_schedule == BETA_TRAINED) {
        for (int i = 0; i < T; i++)
            betas[i] = (float)c->trained_betas[i];
    } else if (c->beta_schedule == BETA_SCALED_LINEAR) {
        /* torch.linspace(beta_start**0.5, beta_end**0.5, T) ** 2 */
        sched_torch_linspace_f32(sqrt(c->beta_start), sqrt(c->beta_end), T, betas);
        for (int i = 0; i < T; i++)
            betas[i] = betas[i] * betas[i];
    } else {
        sched_torch_linspace_f32(c->beta_start, c->beta_end, T, betas);
    }
    double prod = 1.0; /* torch CPU cumprod accumulates float32 in double */
    for (int i = 0; i < T; i++) {
        float alpha = 1.0f - betas[i];
        prod *= (double)alpha;
        float acp = (float)prod;
        s->alphas_cumprod[i] = acp;
        s->sigma_table[i] = sqrtf((1.0f - acp) / acp);
        s->log_sigma_table[i] = logf(s->sigma_table[i]);
    }
    free(betas);
    return PICTOR_OK;
}

void sched_karras(double sigma_min, double sigma_max, int n, double *out)
{
    /* diffusers _convert_to_karras: ramp = np.linspace(0, 1, n). */
    double min_inv = pow(sigma_min, 1.0 / KARRAS_RHO);
    double max_inv = pow(sigma_max, 1.0 / KARRAS_RHO);
    sched_np_linspace(0.0, 1.0, n, out);
    for (int i = 0; i < n; i++)
        out[i] = pow(max_inv + out[i] * (min_inv - max_inv), KARRAS_RHO);
}

double sched_sigma_to_t(double sigma, const float *log_sigmas, int n)
{
    double ls = log(fmax(sigma, SIGMA_TO_T_FLOOR));
    /* argmax of cumsum(dists >= 0): the last index with ls >= log_sigmas[i],
     * 0 if none; clipped to n - 2. */
    int low = 0;
    for (int i = 0; i < n; i++)
        if (ls - (double)log_sigmas[i] >= 0.0)
            low = i;
    if (low > n - 2)
        low = n - 2;
    double lo = log_sigmas[low], hi = log_sigmas[low + 1];
    double w = (lo - ls) / (lo - hi);
    w = w < 0.0 ? 0.0 : (w > 1.0 ? 1.0 : w);
    return (1.0 - w) * (double)low + w * (double)(low + 1);
}

int sched_discrete_timesteps(const struct sched_config *c, int n, float *out, char *err,
                             size_t errlen)
{
    int T = c->num_train_timesteps;
    double *tmp = malloc((size_t)(n + 1) * sizeof *tmp);
    if (!tmp)
        return sched_errf(err, errlen, PICTOR_E_NOMEM, "timesteps: out of memory");
    int rc = PICTOR_OK;
    if (c->spacing == SPACING_LINSPACE) {
        /* np.linspace(0, T - 1, n, dtype=float32)[::-1] */
        sched_np_linspace(0.0, (double)(T - 1), n, tmp);
        for (int k = 0; k < n; k++)
            out[k] = (float)tmp[n - 1 - k];
    } else if (c->spacing == SPACING_LEADING) {
        /* (arange(n) * (T // n)).round()[::-1].astype(float32) + offset */
        int ratio = T / n;
        for (int k = 0; k < n; k++)
            out[k] = (float)((n - 1 - k) * ratio) + (float)c->steps_offset;
    } else {
        /* arange(T, 0, -T / n).round().astype(float32) - 1 */
        int len = sched_np_arange((double)T, 0.0, -((double)T / n), tmp, n + 1);
        if (len != n) {
            rc = sched_errf(err, errlen, PICTOR_E_INVALID,
                            "trailing spacing gives %d timesteps for %d steps", len, n);
        } else {
            for (int k = 0; k < n; k++)
                out[k] = (float)rint(tmp[k]) - 1.0f;
        }
    }
    free(tmp);
    return rc;
}

int sched_alloc_schedule(struct pictor_sched *s, int n_calls, int n_sigmas)
{
    free(s->timesteps);
    free(s->sigmas);
    s->timesteps = calloc((size_t)n_calls, sizeof(float));
    s->sigmas = n_sigmas ? calloc((size_t)n_sigmas, sizeof(float)) : NULL;
    s->n_calls = n_calls;
    s->n_sigmas = n_sigmas;
    s->next_call = 0;
    s->heun_second = false;
    s->dpm_lower_order_nums = 0;
    if (!s->timesteps || (n_sigmas && !s->sigmas))
        return PICTOR_E_NOMEM;
    return PICTOR_OK;
}

int sched_state_reserve(struct pictor_sched *s, size_t n, int buffers)
{
    if (s->state_n == n && s->state_a && (buffers < 2 || s->state_b))
        return PICTOR_OK;
    free(s->state_a);
    free(s->state_b);
    s->state_b = NULL;
    s->state_a = malloc(n * sizeof(float));
    if (buffers > 1)
        s->state_b = malloc(n * sizeof(float));
    s->state_n = n;
    if (!s->state_a || (buffers > 1 && !s->state_b)) {
        s->state_n = 0;
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}

float sched_sqrt_sq1(float x)
{
    /* torch: sigma ** 2 is x * x, ** 0.5 is sqrt (float32) */
    return sqrtf(x * x + 1.0f);
}
