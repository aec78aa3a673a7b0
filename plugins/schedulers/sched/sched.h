/*
 * sched.h — diffusion scheduler math as a plain C library: the six diffusers
 * schedulers pictor supports, reproducing diffusers 0.42 (torch 2.15 /
 * numpy 2) step for step. MODELS.md §8 is the spec; each .c file names the
 * diffusers function it transcribes.
 *
 *   kind              diffusers class                      prediction
 *   flow-match-euler  FlowMatchEulerDiscreteScheduler      flow (velocity)
 *   euler             EulerDiscreteScheduler               epsilon / v
 *   euler-a           EulerAncestralDiscreteScheduler      epsilon / v
 *   heun              HeunDiscreteScheduler                epsilon / v
 *   ddim              DDIMScheduler                        epsilon / v
 *   dpm++             DPMSolverMultistepScheduler (2M, dpmsolver++,
 *                     midpoint; Karras sigmas optional)    epsilon / v
 *
 * Numerics: tables and timesteps are built in the float formats diffusers
 * uses (torch float32 linspace/cumprod-in-float64, numpy float64 interp,
 * Karras and sigma_to_t), so timesteps and sigmas match to the float32 ulp;
 * scale_model_input and step do the float32 elementwise operations in
 * diffusers' order (scalar coefficients formed as float32 0-dim tensors),
 * so samples match to float32 rounding.
 *
 * Usage: create (from scheduler_config.json: keys the file lacks take the
 * class defaults, unknown keys are ignored, configurations outside the list
 * above are rejected with a message), set_timesteps, then for each model
 * call i = 0 .. n_calls-1 in order: scale_model_input(i) (identity for
 * flow-match-euler, ddim and dpm++), step(i). Heun makes 2N-1 calls for N
 * steps. step is stateful (Heun's first-order half, DPM++'s previous x0),
 * so calls must come in order; set_timesteps resets the state. The
 * pipelines' set_begin_index(0) is assumed (step i uses index i).
 *
 * Noise: euler-a always and ddim with eta > 0 draw one standard-normal
 * tensor of the sample's shape per step from the pipeline generator; the
 * caller passes it to step (see pictor/rng.h for a torch-exact generator).
 *
 * Ownership: the scheduler owns its tables and state; accessors return
 * pointers valid until the next set_timesteps or destroy.
 * Thread: any; one scheduler must not be used by two threads at once.
 */
#ifndef PICTOR_SCHED_H
#define PICTOR_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum pictor_sched_kind {
    PICTOR_SCHED_FLOW_EULER = 0,
    PICTOR_SCHED_EULER,
    PICTOR_SCHED_EULER_A,
    PICTOR_SCHED_HEUN,
    PICTOR_SCHED_DDIM,
    PICTOR_SCHED_DPMPP,
    PICTOR_SCHED_KIND_COUNT
};

/* What the network predicts; decides which model families a scheduler can
 * drive (flow schedulers for FLUX/SD3, the others for SDXL). */
enum pictor_sched_prediction {
    PICTOR_SCHED_PRED_FLOW = 0,    /* velocity v = noise - x0 */
    PICTOR_SCHED_PRED_EPSILON = 1, /* the added noise */
    PICTOR_SCHED_PRED_V = 2,       /* v-prediction */
    PICTOR_SCHED_PRED_COUNT
};

struct pictor_sched;

/* "flow-match-euler", "euler", "euler-a", "heun", "ddim", "dpm++"; -1 if
 * unknown. */
int pictor_sched_kind_parse(const char *name);
const char *pictor_sched_kind_name(int kind);
/* diffusers class name ("EulerDiscreteScheduler", ...) -> kind; -1. */
int pictor_sched_kind_from_class(const char *class_name);

/* Builds a scheduler of `kind` from a parsed scheduler_config.json object
 * (may be NULL: all class defaults). Returns PICTOR_OK, or
 * PICTOR_E_UNSUPPORTED / PICTOR_E_FORMAT / PICTOR_E_NOMEM with a message. */
int pictor_sched_create(int kind, struct json_object *config,
                        struct pictor_sched **out, char *err, size_t errlen);
/* Same from a file path (json-c parses it). */
int pictor_sched_create_from_file(int kind, const char *path,
                                  struct pictor_sched **out, char *err,
                                  size_t errlen);
void pictor_sched_destroy(struct pictor_sched *s);

int pictor_sched_kind(const struct pictor_sched *s);
int pictor_sched_prediction(const struct pictor_sched *s);

/* Builds timesteps and sigmas for `num_steps` inference steps.
 * sigmas/n_sigmas: explicit sigma schedule (flow-match-euler only, as
 * FluxPipeline passes linspace(1, 1/N, N)); NULL to derive from num_steps
 * (num_steps may then be 0 when sigmas are given). mu: the dynamic-shift
 * parameter (required by a config with use_dynamic_shifting; ignored
 * otherwise); NULL if absent. */
int pictor_sched_set_timesteps(struct pictor_sched *s, int num_steps,
                               const double *sigmas, int n_sigmas,
                               const double *mu, char *err, size_t errlen);

/* DDIM's eta (default 0). PICTOR_E_UNSUPPORTED for other kinds unless 0. */
int pictor_sched_set_eta(struct pictor_sched *s, double eta);

/* Number of model calls (= len(timesteps); 2N-1 for Heun). */
int pictor_sched_n_calls(const struct pictor_sched *s);
/* [n_calls] f32: the timestep given to the network at each call. */
const float *pictor_sched_timesteps(const struct pictor_sched *s);
/* [*n] f32 sigmas incl. the terminal one; NULL and *n = 0 for DDIM. */
const float *pictor_sched_sigmas(const struct pictor_sched *s, int *n);
/* Factor the pipeline multiplies the initial N(0,1) noise by. */
float pictor_sched_init_noise_sigma(const struct pictor_sched *s);
/* Whether scale_model_input is not the identity (euler, euler-a, heun). */
bool pictor_sched_scales_input(const struct pictor_sched *s);
/* Whether step needs a noise tensor (euler-a; ddim with eta > 0). */
bool pictor_sched_draws_noise(const struct pictor_sched *s);

/* out[k] = in[k] scaled for call i (in == out allowed). */
int pictor_sched_scale_model_input(const struct pictor_sched *s, int i,
                                   const float *in, float *out, size_t n);

/* One scheduler step for call i (must be the next call): model_output,
 * sample and noise (NULL unless draws_noise) are [n] f32; the new sample
 * goes to out (may alias sample). */
int pictor_sched_step(struct pictor_sched *s, int i, const float *model_output,
                      const float *sample, const float *noise, float *out,
                      size_t n, char *err, size_t errlen);

/* Whether step i (the next call) is out = c_sample * sample + c_output *
 * model_output with no noise and an identity scale_model_input (the flow
 * scheduler); true: the coefficients are set and the scheduler advances to
 * call i + 1 as pictor_sched_step would. False (nothing changes) for every
 * other kind or an out-of-order i. */
bool pictor_sched_linear_step(struct pictor_sched *s, int i, float *c_sample,
                              float *c_output);

#endif /* PICTOR_SCHED_H */
