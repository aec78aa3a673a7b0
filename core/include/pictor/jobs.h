/*
 * pictor/jobs.h — pictord's job queue: one bounded FIFO of validated
 * generation requests and one worker thread per configured device (the CPU
 * counts as one). A worker creates its backend on its own thread, opens
 * every configured model once, then runs jobs through pictor_pipeline_run.
 * Model code only ever runs on worker threads.
 *
 * Lifecycle
 *   pictor_jobs_create  [main]   resolves and probes every model (no tensor
 *                                data read), starts the workers; returns
 *                                before the models are loaded.
 *   pictor_jobs_ready   [any]    true once every worker opened every model
 *                                and ran its warm-up generation (config
 *                                `warmup`; one log line each, with its time).
 *   pictor_jobs_load_error [any] a worker's load or warm-up failure (then
 *                                never ready).
 *   pictor_jobs_submit  [http]   admits a job or says why not, immediately.
 *   pictor_job_wait     [http]   blocks until the job finished, failed or
 *                                was cancelled; every submitted job does
 *                                finish (shutdown cancels what is left).
 *   pictor_job_poll     [http]   waits a bounded time for the next partial
 *                                image or the end (streaming, and waiters
 *                                that watch their client meanwhile).
 *   pictor_job_cancel   [any]    a queued job leaves the queue at once and
 *                                never reaches a model; a running one stops
 *                                between two denoising steps.
 *   pictor_jobs_drain   [main]   stops admitting; waits up to a timeout for
 *                                queued and running jobs to finish.
 *   pictor_jobs_stop    [main]   cancels what is left, joins the workers
 *                                (which close their models and backends).
 *   pictor_jobs_destroy [main]   frees the queue.
 *
 * Ownership: a job belongs to whoever created it (the HTTP thread); the
 * queue only borrows it between submit and the end of pictor_job_wait, so
 * pictor_job_destroy is called after wait returned (or when submit was
 * refused). The conf and plugin set given to create must outlive the queue.
 */
#ifndef PICTOR_JOBS_H
#define PICTOR_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/config.h"
#include "pictor/pipeline.h"
#include "pictor/plugins.h"

/* Histogram bucket upper bounds in seconds (Prometheus `le`; +Inf is the
 * implicit last bucket). Chosen to span a 64x64 CPU fixture (~0.1 s) to a
 * 1024² quality model on CPU (minutes). */
#define PICTOR_JOBS_N_BUCKETS 13
extern const double pictor_jobs_buckets[PICTOR_JOBS_N_BUCKETS];

/* One configured model as the queue knows it. Filled by create (probe) and,
 * for `defaults`, by the first worker that opened it; read-only after
 * pictor_jobs_ready. */
struct pictor_jobs_model {
    const struct pictor_model_conf *conf;   /* the conf's entry */
    char root[PICTOR_CONF_PATH_LEN];        /* resolved model folder */
    const struct pictor_plugin *family;     /* FAMILY plugin */
    struct pictor_probe_result probe;       /* variant, licence */
    struct pictor_family_defaults defaults; /* the family's, with the conf's
                                               steps/guidance/scheduler/
                                               step_ceiling applied */
    int precision;                          /* enum pictor_precision */
};

/* A validated request. Strings are copied by pictor_job_create. */
struct pictor_job_request {
    int model;                              /* index, pictor_jobs_model_at */
    const struct pictor_plugin *scheduler;  /* compatible SCHEDULER plugin */
    const char *prompt;
    const char *negative_prompt;            /* NULL: none */
    int width, height, n, steps;
    float guidance;
    uint64_t seed;
    /* 0..PICTOR_PIPELINE_MAX_PREVIEWS partial images, taken after evenly
     * spaced steps (pictor/pipeline.h) when the family draws previews and
     * handed out by pictor_job_poll. */
    int partial_images;
};

/* One partial image of a job: all n images of the batch at one step. */
struct pictor_job_preview {
    int index;    /* 0-based, in the order the steps produced them */
    uint8_t *rgb; /* [n, H, W, 3] u8, malloc'd: the caller frees it */
};

enum pictor_job_event {
    PICTOR_JOB_TIMEOUT = 0, /* nothing new within the timeout */
    PICTOR_JOB_PREVIEW,     /* *preview filled */
    PICTOR_JOB_DONE,        /* the job is over: its result is final */
};

struct pictor_job_result {
    int status;             /* PICTOR_OK, PICTOR_E_CANCELLED, other errors */
    char error[512];
    uint8_t *rgb;           /* [n, H, W, 3] u8, owned by the job */
    double inference_ms;    /* encode + denoise + decode */
    double queue_ms;        /* submit to start */
    char device[32];        /* "cpu", "cuda:0" */
    char precision[16];     /* "fp32", "bf16", ... */
};

enum pictor_jobs_admit {
    PICTOR_JOBS_ADMITTED = 0,
    PICTOR_JOBS_FULL,       /* 429 */
    PICTOR_JOBS_NOT_READY,  /* 503: models loading or failed */
    PICTOR_JOBS_DRAINING,   /* 503: shutting down */
    PICTOR_JOBS_ADMIT_COUNT
};

/* Counters for /metrics (a consistent snapshot under the queue's lock).
 * Histogram counts are per bucket (not cumulative); index
 * PICTOR_JOBS_N_BUCKETS is +Inf. */
struct pictor_jobs_stats {
    int queued, running, queue_capacity;
    uint64_t done, failed, cancelled, rejected_full;
    uint64_t cancelled_queued;  /* of cancelled: before a model saw them */
    uint64_t wait_count, wait_bucket[PICTOR_JOBS_N_BUCKETS + 1];
    double wait_sum_s;
    uint64_t infer_count, infer_bucket[PICTOR_JOBS_N_BUCKETS + 1];
    double infer_sum_s;
    int models_loaded;      /* models open on every device */
    int models_total;
};

struct pictor_jobs;
struct pictor_job;

/* [main] Resolves (model_dir.h) and probes every model of conf, then starts
 * one worker per conf->devices entry. Errors (unknown path, no family
 * claiming a folder, bad device name) go to err. */
int pictor_jobs_create(const struct pictor_server_conf *conf,
                       const struct pictor_plugin_set *set,
                       struct pictor_jobs **out, char *err, size_t errlen);
/* [main] Cancels queued and running jobs (their waiters wake) and joins the
 * workers; the queue stays readable (models, stats) until destroy. */
void pictor_jobs_stop(struct pictor_jobs *q);
/* [main] NULL is a no-op. Stops first when not stopped. */
void pictor_jobs_destroy(struct pictor_jobs *q);

/* [any] */
bool pictor_jobs_ready(struct pictor_jobs *q);
/* [any] True (and the message in err) when a worker failed to start. */
bool pictor_jobs_load_error(struct pictor_jobs *q, char *err, size_t errlen);
size_t pictor_jobs_model_count(const struct pictor_jobs *q);
const struct pictor_jobs_model *pictor_jobs_model_at(const struct pictor_jobs *q, size_t i);
/* Index of the model with this id or alias, or -1. */
int pictor_jobs_find_model(const struct pictor_jobs *q, const char *id_or_alias);
void pictor_jobs_get_stats(struct pictor_jobs *q, struct pictor_jobs_stats *st);

/* [main] Stops admitting (submit answers DRAINING) and waits until nothing
 * is queued or running, or timeout_s passed. True when drained. */
bool pictor_jobs_drain(struct pictor_jobs *q, double timeout_s);

/* [http] A job for req (strings copied); PICTOR_E_NOMEM. */
int pictor_job_create(const struct pictor_job_request *req, struct pictor_job **out);
/* [http] NULL is a no-op. Only when not submitted or after wait returned. */
void pictor_job_destroy(struct pictor_job *job);
/* [http] Admits the job (FIFO) or answers why not, without blocking. */
enum pictor_jobs_admit pictor_jobs_submit(struct pictor_jobs *q, struct pictor_job *job);
/* [http] Blocks until the job is over; the result lives as long as the job. */
const struct pictor_job_result *pictor_job_wait(struct pictor_jobs *q, struct pictor_job *job);
/* [http] Waits up to timeout_ms for the job's next partial image (handed
 * over in *preview, in index order) or its end. Partial images produced
 * before the end are all handed out before PICTOR_JOB_DONE; after DONE,
 * pictor_job_wait returns at once. */
enum pictor_job_event pictor_job_poll(struct pictor_jobs *q, struct pictor_job *job,
                                      int timeout_ms, struct pictor_job_preview *preview);
/* [any] Asks a submitted job to stop (its client left): a queued job leaves
 * the queue at once, freeing its slot, and ends PICTOR_E_CANCELLED without
 * reaching a model; a running one stops between two denoising steps
 * (PICTOR_E_CANCELLED). No effect on a finished job. */
void pictor_job_cancel(struct pictor_job *job);

#endif /* PICTOR_JOBS_H */
