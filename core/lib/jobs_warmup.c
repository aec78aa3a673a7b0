/* core/lib/jobs_warmup.c — a model's warm-up generation (jobs_warmup.h). */
#include "jobs_warmup.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pictor/pipeline.h"
#include "pictor/plugins.h"
#include "pictor/status.h"

bool pictor_jobs_warmup_wanted(int warmup, bool cpu)
{
    if (warmup == PICTOR_WARMUP_AUTO)
        return !cpu;
    return warmup == PICTOR_WARMUP_ON;
}

static bool warmup_cancelled(void *ctx)
{
    return atomic_load((const atomic_bool *)ctx);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int pictor_jobs_warmup_run(pictor_backend *be, const struct pictor_plugin_set *set,
                           const struct pictor_jobs_model *m, void *model,
                           const char *scheduler_config_json, const atomic_bool *stop,
                           double *ms, char *err, size_t errlen)
{
    const struct pictor_family_defaults *d = &m->defaults;
    *ms = 0;
    if (d->default_width <= 0 || d->default_height <= 0 || d->steps <= 0) {
        snprintf(err, errlen, "the family gives no default size or steps to warm up with "
                              "(%dx%d, %d steps); set warmup = false",
                 d->default_width, d->default_height, d->steps);
        return PICTOR_E_INVALID;
    }
    const struct pictor_plugin *sched = NULL;
    int rc = pictor_plugins_pick_scheduler(set, m->family->entry.name, d, NULL, &sched, err,
                                           errlen);
    if (rc != PICTOR_OK)
        return rc;
    struct pictor_pipeline_request r = {
        .family = m->family, .model = model, .scheduler = sched,
        .scheduler_config_json = scheduler_config_json,
        .gp = {.struct_size = sizeof r.gp, .prompt = PICTOR_WARMUP_PROMPT,
               .width = d->default_width, .height = d->default_height, .batch = 1,
               .guidance = d->guidance, .seed = PICTOR_WARMUP_SEED},
        .steps = d->steps, .cancelled = warmup_cancelled, .ctx = (void *)stop};
    struct pictor_pipeline_timing tm = {0};
    uint8_t *rgb = NULL;
    double t0 = now_ms();
    rc = pictor_pipeline_run(be, &r, &rgb, &tm, err, errlen);
    *ms = now_ms() - t0;
    free(rgb);
    return rc;
}
