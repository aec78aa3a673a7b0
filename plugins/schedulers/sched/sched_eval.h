/*
 * sched_eval.h — fixture evaluators (pictor/eval.h) for the scheduler math
 * and the torch-compatible generator, run by `pictor check` on cases of the
 * components below (FIXTURES.md):
 *
 *   rng.torch        params: seed, shape, dtype ("float32" | "float16" |
 *                    "bfloat16" | "float64"), generator ("cpu"), optional
 *                    cpu_capability ("avx2"/"avx512" = default, "default" =
 *                    torch's scalar kernel). Output: noise (f32, shape).
 *   scheduler.<name> name = flow-match-euler | euler | euler-a | heun | ddim
 *                    | dpm++. Reads model_dir/scheduler_config.json; params:
 *                    num_inference_steps, optional mu, sigmas, eta, seed.
 *                    Inputs: sample_init, model_output_K, noise_K (where the
 *                    scheduler draws noise; when absent, drawn from
 *                    pictor_rng seeded with params.seed after the initial
 *                    latent draw, as the pipeline's generator continues).
 *                    Outputs: timesteps, sigmas (not for ddim),
 *                    init_noise_sigma [1], model_input_K (euler, euler-a,
 *                    heun), sample_K.
 *
 * Both compute in float32 on the CPU whatever req->precision says (the
 * pipelines keep scheduler math in float32).
 * Thread: [worker thread], like every pictor_eval_fn.
 */
#ifndef PICTOR_SCHED_EVAL_H
#define PICTOR_SCHED_EVAL_H

#include <stddef.h>

#include "pictor/eval.h"

int pictor_eval_rng_torch(const struct pictor_eval_request *req,
                          const struct pictor_eval_io *io, char *err,
                          size_t errlen);

int pictor_eval_scheduler(const struct pictor_eval_request *req,
                          const struct pictor_eval_io *io, char *err,
                          size_t errlen);

#endif /* PICTOR_SCHED_EVAL_H */
