/*
 * core/lib/jobs_warmup.h — internal to the job queue (pictor/jobs.h): the
 * warm-up generation a device worker runs for a model right after opening
 * it, before the queue reports ready (config key `warmup`,
 * docs/configuration.md).
 *
 * Why: the first generation of a shape on a GPU pays for loading cuBLASLt
 * and cuDNN, choosing GEMM algorithms and building convolution and
 * attention plans (seconds); a warm-up at the model's default size and
 * steps — what a request that names neither gets — moves that cost from
 * the first client to start-up. Thread: [worker].
 */
#ifndef PICTOR_JOBS_WARMUP_H
#define PICTOR_JOBS_WARMUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "pictor/backend.h"
#include "pictor/jobs.h"

/* The warm-up's prompt and seed (any text does: the shapes are what count). */
#define PICTOR_WARMUP_PROMPT "warm-up"
#define PICTOR_WARMUP_SEED 0

/* Whether a model configured `warmup` runs one on this kind of device:
 * true / false as written; auto: on GPUs only (on the CPU there is nothing
 * to load or plan, and a 1024x1024 warm-up of even the demo model takes
 * seconds). */
bool pictor_jobs_warmup_wanted(int warmup, bool cpu);

/* Runs one generation of model `model` (open on be; m its queue entry with
 * defaults set) at m->defaults' size, steps, guidance and scheduler, batch
 * 1, and throws the image away. *ms: its wall time. PICTOR_E_CANCELLED as
 * soon as *stop becomes true (shutdown); other errors with the reason in
 * err (a scheduler that cannot be found, the family's or the backend's
 * error). */
int pictor_jobs_warmup_run(pictor_backend *be, const struct pictor_plugin_set *set,
                           const struct pictor_jobs_model *m, void *model,
                           const char *scheduler_config_json, const atomic_bool *stop,
                           double *ms, char *err, size_t errlen);

#endif /* PICTOR_JOBS_WARMUP_H */
