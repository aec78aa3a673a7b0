/*
 * sched_internal.h — what the scheduler files share: the parsed config, the
 * scheduler struct, the per-kind operation table and the numeric helpers
 * that reproduce torch/numpy's table building (sched_tables.c).
 * Not part of any API; only plugins/schedulers/sched/ includes it.
 */
#ifndef PICTOR_SCHED_INTERNAL_H
#define PICTOR_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched.h"

enum sched_spacing { SPACING_LINSPACE, SPACING_LEADING, SPACING_TRAILING };
enum sched_beta { BETA_LINEAR, BETA_SCALED_LINEAR, BETA_TRAINED };

/* scheduler_config.json after defaults (diffusers class signatures). */
struct sched_config {
    int num_train_timesteps;
    double beta_start, beta_end;
    int beta_schedule;           /* enum sched_beta */
    double *trained_betas;       /* [num_train_timesteps] or NULL (owned) */
    int prediction;              /* enum pictor_sched_prediction */
    int spacing;                 /* enum sched_spacing */
    int steps_offset;
    bool use_karras_sigmas;
    bool final_sigma_min;        /* final_sigmas_type "sigma_min" (else zero) */
    double sigma_min, sigma_max; /* Euler karras overrides; NAN if null */
    bool clip_sample;
    double clip_sample_range;
    bool set_alpha_to_one;
    /* DPM-Solver */
    int solver_order;
    bool lower_order_final, euler_at_final;
    double lambda_min_clipped;
    /* FlowMatch */
    double shift;
    bool use_dynamic_shifting;
};

struct pictor_sched;

struct sched_ops {
    int (*set_timesteps)(struct pictor_sched *s, int n, const double *sigmas,
                         int n_sigmas, const double *mu, char *err,
                         size_t errlen);
    /* NULL: identity */
    void (*scale)(const struct pictor_sched *s, int i, const float *in,
                  float *out, size_t n);
    int (*step)(struct pictor_sched *s, int i, const float *eps,
                const float *x, const float *noise, float *out, size_t n,
                char *err, size_t errlen);
    /* NULL: no step is a plain linear combination (pictor_sched_linear_step) */
    bool (*linear)(const struct pictor_sched *s, int i, float *c_sample,
                   float *c_output);
};

struct pictor_sched {
    int kind;
    struct sched_config cfg;
    const struct sched_ops *ops;
    /* training tables ([T] f32, T = num_train_timesteps; discrete kinds) */
    float *alphas_cumprod;
    float *sigma_table;      /* sqrt((1 - acp) / acp) */
    float *log_sigma_table;  /* logf(sigma_table) */
    /* inference schedule */
    int n_steps;             /* num_inference_steps */
    int n_calls;
    float *timesteps;        /* [n_calls] */
    float *sigmas;           /* [n_sigmas] */
    int n_sigmas;
    float init_noise_sigma;
    double eta;              /* DDIM */
    /* step state */
    int next_call;
    size_t state_n;          /* elements of the buffers below, 0 if none */
    float *state_a;          /* Heun: derivative; DPM: previous x0 */
    float *state_b;          /* Heun: sample at the first-order half */
    float heun_dt;
    bool heun_second;        /* a first-order half is pending */
    int dpm_lower_order_nums;
};

extern const struct sched_ops pictor_sched_flow_ops;
extern const struct sched_ops pictor_sched_euler_ops;
extern const struct sched_ops pictor_sched_euler_a_ops;
extern const struct sched_ops pictor_sched_heun_ops;
extern const struct sched_ops pictor_sched_ddim_ops;
extern const struct sched_ops pictor_sched_dpm_ops;

/* sched_config.c: fills cfg with kind's defaults overridden by `config`. */
int sched_config_parse(int kind, struct json_object *config,
                       struct sched_config *cfg, char *err, size_t errlen);

/* ---- sched_tables.c ---- */

/* torch.linspace(start, end, n, dtype=float32) on x86 with AVX2/AVX-512:
 * per element fma(step, i, start) below n/2, fma(-step, n-1-i, end) above,
 * step = float32(end - start) / (n - 1). */
void sched_torch_linspace_f32(double start, double end, int n, float *out);
/* np.linspace(start, stop, n) in float64 (last element = stop). */
void sched_np_linspace(double start, double stop, int n, double *out);
/* np.arange(start, stop, step) (float64) into out (capacity cap); returns
 * the length, or -1 if it exceeds cap. */
int sched_np_arange(double start, double stop, double step, double *out,
                    int cap);
/* np.interp(x, arange(n), fp) for one x (fp given as float32 table). */
double sched_np_interp_index(double x, const float *fp, int n);
/* betas -> alphas_cumprod (float64 running product, float32 outputs) ->
 * sigma table and its log. Allocates the three tables of s. */
int sched_build_tables(struct pictor_sched *s, char *err, size_t errlen);
/* Karras et al. 2022 sigmas (rho = 7) between sigma_max and sigma_min. */
void sched_karras(double sigma_min, double sigma_max, int n, double *out);
/* diffusers _sigma_to_t over the float32 log-sigma table. */
double sched_sigma_to_t(double sigma, const float *log_sigmas, int n);
/* Timesteps for EulerDiscrete/EulerAncestral/Heun (float32 values). */
int sched_discrete_timesteps(const struct sched_config *c, int n, float *out,
                             char *err, size_t errlen);
/* ---- sched_euler.c, shared with Heun ---- */

/* Euler/EulerA/Heun schedule: N timesteps and N + 1 sigmas (f32, the last
 * the final sigma) into ts / sig, Karras optional. */
int sched_discrete_schedule(struct pictor_sched *s, int n, bool karras, float *ts, float *sig,
                            char *err, size_t errlen);
/* init_noise_sigma: max(sigmas), or sqrt(max^2 + 1) for "leading". */
float sched_discrete_init_sigma(const struct pictor_sched *s);
/* sample / ((sigmas[i] ** 2 + 1) ** 0.5) */
void sched_discrete_scale(const struct pictor_sched *s, int i, const float *in, float *out,
                          size_t n);

/* Allocates s->timesteps [n_calls] and s->sigmas [n_sigmas] (freeing old). */
int sched_alloc_schedule(struct pictor_sched *s, int n_calls, int n_sigmas);
/* (Re)allocates the step state buffers for n elements. */
int sched_state_reserve(struct pictor_sched *s, size_t n, int buffers);
/* torch's `(x ** 2 + 1) ** 0.5` on a float32 scalar. */
float sched_sqrt_sq1(float x);

int sched_errf(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* PICTOR_SCHED_INTERNAL_H */
