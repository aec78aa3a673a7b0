/* core/lib/jobs.c — pictord's bounded job queue and device workers
 * (pictor/jobs.h). One mutex guards the queue, the counters and every
 * job's state (partial images included); each job has its own condition
 * variable (CLOCK_MONOTONIC, for timed polls) for its waiter. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictor/backend_cuda.h"
#include "pictor/check.h"
#include "pictor/jobs.h"
#include "pictor/model_dir.h"
#include "pictor/pipeline.h"
#include "jobs_warmup.h"

const double pictor_jobs_buckets[PICTOR_JOBS_N_BUCKETS] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

#define SCHED_JSON_MAX (1u << 20) /* scheduler_config.json is a few hundred bytes */

struct pictor_job {
    struct pictor_job_request req;  /* prompt/negative point into own copies */
    char *prompt, *negative;
    struct pictor_job_result res;
    atomic_bool cancelled;
    struct pictor_jobs *q;          /* set by submit */
    bool done;
    struct timespec submitted;
    pthread_cond_t cv;              /* signalled when done or a preview came */
    /* partial images [n, H, W, 3] u8 by index; made by the worker, handed
     * out (ownership and all) by pictor_job_poll in index order */
    uint8_t *preview[PICTOR_PIPELINE_MAX_PREVIEWS];
    int previews_made, previews_taken;
};

struct worker {
    struct pictor_jobs *q;
    pthread_t thread;
    bool started;
    char device[32];
    void *models[PICTOR_CONF_MAX_MODELS]; /* open instances, one per model */
};

struct pictor_jobs {
    const struct pictor_server_conf *conf;
    const struct pictor_plugin_set *set;
    struct pictor_jobs_model models[PICTOR_CONF_MAX_MODELS];
    char *sched_json[PICTOR_CONF_MAX_MODELS];
    size_t n_models;
    struct worker workers[PICTOR_CONF_MAX_DEVICES];
    int n_workers;

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* queue non-empty or stopping */
    pthread_cond_t idle_cv; /* a job finished */
    struct pictor_job **ring;
    int cap, head, count, running;
    int workers_loaded;     /* workers that opened every model */
    bool draining, stopping, failed;
    atomic_bool abort_all;  /* cancels running jobs at destroy */
    char load_error[512];
    bool defaults_set[PICTOR_CONF_MAX_MODELS];
    struct pictor_jobs_stats st;
};

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) * 1e-9;
}

static void observe(uint64_t *buckets, uint64_t *count, double *sum, double s)
{
    int i = 0;
    while (i < PICTOR_JOBS_N_BUCKETS && s > pictor_jobs_buckets[i])
        i++;
    buckets[i]++;
    (*count)++;
    *sum += s;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(SCHED_JSON_MAX + 1);
    size_t n = buf ? fread(buf, 1, SCHED_JSON_MAX, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* ---- workers ---------------------------------------------------------- */

static bool job_cancelled(void *ctx)
{
    struct pictor_job *job = ctx;
    return atomic_load(&job->cancelled) || atomic_load(&job->q->abort_all);
}

/* [worker] A partial image from the pipeline (which hands them over in
 * index order): a copy goes to the job's next slot and its waiter wakes.
 * Out of memory: that preview is skipped. */
static void job_preview(void *ctx, int index, const uint8_t *rgb)
{
    struct pictor_job *job = ctx;
    (void)index;
    const size_t bytes = (size_t)job->req.n * (size_t)job->req.width * (size_t)job->req.height * 3;
    uint8_t *copy = malloc(bytes);
    if (!copy)
        return;
    memcpy(copy, rgb, bytes);
    pthread_mutex_lock(&job->q->mu);
    int slot = job->previews_made;
    if (slot < PICTOR_PIPELINE_MAX_PREVIEWS) {
        job->preview[slot] = copy;
        job->previews_made++;
        copy = NULL;
        pthread_cond_signal(&job->cv);
    }
    pthread_mutex_unlock(&job->q->mu);
    free(copy);
}

static bool job_progress(void *ctx, int step, int total)
{
    (void)step;
    (void)total;
    return !job_cancelled(ctx);
}

/* Precision a model runs at on this device: the conf's, or "auto"
 * (pictor_precision_auto: fp32 on the CPU, fp8 on GPUs with FP8 tensor
 * cores, bf16 on older ones). */
static int model_precision(const struct pictor_jobs_model *m, const pictor_backend *be)
{
    if (m->precision >= 0)
        return m->precision;
    return pictor_precision_auto(be);
}

/* The state folder: the conf's state_dir, else the first folder of
 * systemd's $STATE_DIRECTORY (set for a unit with StateDirectory=); false
 * when neither names one. */
static bool state_dir(const struct pictor_server_conf *conf, char *out, size_t len)
{
    const char *env = getenv("STATE_DIRECTORY");
    if (conf->state_dir[0]) {
        snprintf(out, len, "%s", conf->state_dir);
        return true;
    }
    if (!env || !env[0] || env[0] == ':')
        return false;
    snprintf(out, len, "%.*s", (int)strcspn(env, ":"), env);
    return true;
}

static void worker_fail(struct pictor_jobs *q, const char *device, const char *msg)
{
    pthread_mutex_lock(&q->mu);
    if (!q->failed)
        snprintf(q->load_error, sizeof q->load_error, "%s: %s", device, msg);
    q->failed = true;
    pthread_mutex_unlock(&q->mu);
    fprintf(stderr, "pictord: worker %s: %s\n", device, msg);
}

/* Runs one job; false when it was cancelled before reaching the model. */
static bool run_job(struct worker *w, pictor_backend *be, struct pictor_job *job)
{
    struct pictor_jobs *q = w->q;
    const struct pictor_jobs_model *m = &q->models[job->req.model];
    struct pictor_job_result *res = &job->res;
    snprintf(res->device, sizeof res->device, "%s", w->device);
    snprintf(res->precision, sizeof res->precision, "%s",
             pictor_precision_name(model_precision(m, be)));
    if (atomic_load(&job->cancelled) || atomic_load(&q->abort_all)) {
        res->status = PICTOR_E_CANCELLED;
        snprintf(res->error, sizeof res->error, "cancelled before it started");
        return false;
    }
    struct pictor_pipeline_request r = {
        .family = m->family, .model = w->models[job->req.model],
        .scheduler = job->req.scheduler, .scheduler_config_json = q->sched_json[job->req.model],
        .gp = {.struct_size = sizeof r.gp, .prompt = job->req.prompt,
               .negative_prompt = job->req.negative_prompt, .width = job->req.width,
               .height = job->req.height, .batch = job->req.n, .guidance = job->req.guidance,
               .seed = job->req.seed},
        .steps = job->req.steps, .progress = job_progress, .cancelled = job_cancelled,
        .ctx = job, .preview_count = job->req.partial_images, .on_preview = job_preview};
    struct pictor_pipeline_timing tm = {0};
    res->status = pictor_pipeline_run(be, &r, &res->rgb, &tm, res->error, sizeof res->error);
    res->inference_ms = tm.encode_ms + tm.denoise_ms + tm.decode_ms;
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pictor_jobs *q = w->q;
    char err[512] = "";
    pictor_backend *be = NULL;
    bool cpu = !strcmp(w->device, "cpu");
    if (cpu)
        be = pictor_backend_cpu_create(0);
    else
        be = pictor_backend_cuda_create(w->device[4] ? atoi(w->device + 5) : 0, err, sizeof err);
    if (!be) {
        worker_fail(q, w->device, err[0] ? err : "cannot create the backend");
        goto out;
    }
    char sdir[PICTOR_CONF_PATH_LEN];
    if (!cpu && state_dir(q->conf, sdir, sizeof sdir)) { /* cuBLASLt choices kept */
        pictor_backend_cuda_set_plan_dir(be, sdir, err, sizeof err);
        if (err[0]) /* what was loaded, or why not: never fatal */
            fprintf(stderr, "pictord: %s: %s\n", w->device, err);
    }
    for (size_t i = 0; i < q->n_models; i++) {
        const struct pictor_jobs_model *m = &q->models[i];
        struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = m->root,
                                        .backend = be, .precision = model_precision(m, be)};
        if (pictor_precision_offered(be, op.precision, err, sizeof err) != PICTOR_OK ||
            m->family->family.open(&op, &w->models[i], err, sizeof err) != PICTOR_OK) {
            char msg[700];
            snprintf(msg, sizeof msg, "model %s: %s", m->conf->id, err);
            worker_fail(q, w->device, msg);
            goto out;
        }
        struct pictor_family_defaults d = {.struct_size = sizeof d};
        if (m->family->family.defaults)
            m->family->family.defaults(w->models[i], &d);
        pthread_mutex_lock(&q->mu);
        if (!q->defaults_set[i]) {
            const struct pictor_model_conf *c = m->conf;
            if (c->steps > 0)
                d.steps = c->steps;
            if (c->has_guidance)
                d.guidance = c->guidance;
            if (c->scheduler[0])
                snprintf(d.scheduler, sizeof d.scheduler, "%s", c->scheduler);
            if (c->step_ceiling > 0)
                d.step_ceiling = c->step_ceiling;
            if (d.size_granularity <= 0)
                d.size_granularity = 1;
            q->models[i].defaults = d;
            q->defaults_set[i] = true;
        }
        pthread_mutex_unlock(&q->mu);
        fprintf(stderr, "pictord: %s: loaded %s (%s)\n", w->device, m->conf->id,
                m->probe.variant);
        if (pictor_jobs_warmup_wanted(m->conf->warmup, cpu)) { /* before ready */
            double ms = 0;
            int wrc = pictor_jobs_warmup_run(be, q->set, m, w->models[i], q->sched_json[i],
                                             &q->abort_all, &ms, err, sizeof err);
            if (wrc == PICTOR_E_CANCELLED)
                goto out; /* stopped while warming up */
            if (wrc != PICTOR_OK) {
                char msg[700];
                snprintf(msg, sizeof msg, "model %s: warm-up generation failed: %s",
                         m->conf->id, err);
                worker_fail(q, w->device, msg);
                goto out;
            }
            fprintf(stderr, "pictord: %s: warmed up %s: %dx%d, %d steps in %.0f ms\n",
                    w->device, m->conf->id, m->defaults.default_width,
                    m->defaults.default_height, m->defaults.steps, ms);
        }
    }
    pthread_mutex_lock(&q->mu);
    q->workers_loaded++;
    if (q->workers_loaded == q->n_workers)
        q->st.models_loaded = (int)q->n_models;
    for (;;) {
        while (!q->stopping && q->count == 0)
            pthread_cond_wait(&q->work_cv, &q->mu);
        if (q->count == 0)
            break; /* stopping */
        struct pictor_job *job = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->running++;
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        job->res.queue_ms = elapsed_s(&job->submitted, &start) * 1e3;
        observe(q->st.wait_bucket, &q->st.wait_count, &q->st.wait_sum_s,
                job->res.queue_ms * 1e-3);
        pthread_mutex_unlock(&q->mu);

        bool started = run_job(w, be, job);
        clock_gettime(CLOCK_MONOTONIC, &end);

        pthread_mutex_lock(&q->mu);
        q->running--;
        if (job->res.status == PICTOR_OK) {
            q->st.done++;
            observe(q->st.infer_bucket, &q->st.infer_count, &q->st.infer_sum_s,
                    job->res.inference_ms * 1e-3);
        } else if (job->res.status == PICTOR_E_CANCELLED) {
            q->st.cancelled++;
            q->st.cancelled_queued += !started;
        } else {
            q->st.failed++;
        }
        job->done = true;
        pthread_cond_signal(&job->cv);
        pthread_cond_broadcast(&q->idle_cv);
    }
    pthread_mutex_unlock(&q->mu);
out:
    for (size_t i = 0; i < q->n_models; i++)
        if (w->models[i])
            q->models[i].family->family.close(w->models[i]);
    pictor_backend_destroy(be);
    return NULL;
}

/* ---- create / destroy --------------------------------------------------- */

static int probe_model(struct pictor_jobs *q, size_t i, char *err, size_t errlen)
{
    const struct pictor_model_conf *c = &q->conf->models[i];
    struct pictor_jobs_model *m = &q->models[i];
    struct pictor_model_dir *md = NULL;
    char e[1024] = "";
    int rc;
    m->conf = c;
    m->precision = -1;
    if (c->precision[0] && strcmp(c->precision, "auto")) {
        m->precision = pictor_precision_parse(c->precision);
        if (m->precision < 0) {
            snprintf(err, errlen, "model %s: unknown precision '%s'", c->id, c->precision);
            return PICTOR_E_INVALID;
        }
    }
    if ((rc = pictor_model_dir_open(c->path, NULL, &md, e, sizeof e)) != PICTOR_OK) {
        snprintf(err, errlen, "model %s: %s", c->id, e);
        return rc;
    }
    snprintf(m->root, sizeof m->root, "%s", md->root);
    pictor_model_dir_close(md);
    m->probe.struct_size = sizeof m->probe;
    if (c->plugin[0]) {
        m->family = pictor_plugins_find(q->set, PICTOR_PLUGIN_FAMILY, c->plugin);
        if (!m->family) {
            snprintf(err, errlen, "model %s: no family plugin '%s' loaded", c->id, c->plugin);
            return PICTOR_E_NOT_FOUND;
        }
        if (m->family->family.probe(m->root, &m->probe) != PICTOR_OK || m->probe.score <= 0) {
            snprintf(err, errlen, "model %s: plugin '%s' does not recognise %s", c->id,
                     c->plugin, m->root);
            return PICTOR_E_NOT_FOUND;
        }
    } else if ((rc = pictor_plugins_probe(q->set, m->root, &m->family, &m->probe, e,
                                          sizeof e)) != PICTOR_OK) {
        snprintf(err, errlen, "model %s: %s", c->id, e);
        return rc;
    }
    char path[PICTOR_CONF_PATH_LEN + 64];
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", m->root);
    q->sched_json[i] = slurp(path);
    return PICTOR_OK;
}

static bool device_valid(const char *d)
{
    if (!strcmp(d, "cpu") || !strcmp(d, "cuda"))
        return true;
    if (strncmp(d, "cuda:", 5) || !d[5])
        return false;
    for (const char *p = d + 5; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int pictor_jobs_create(const struct pictor_server_conf *conf,
                       const struct pictor_plugin_set *set, struct pictor_jobs **out,
                       char *err, size_t errlen)
{
    int rc = PICTOR_E_INVALID;
    struct pictor_jobs *q = calloc(1, sizeof *q);
    if (!q)
        return PICTOR_E_NOMEM;
    q->conf = conf;
    q->set = set;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work_cv, NULL);
    pthread_cond_init(&q->idle_cv, NULL);
    if (conf->n_models < 1 || conf->n_devices < 1 || conf->queue_length < 0) {
        snprintf(err, errlen, "need at least one model, one device and queue_length >= 0");
        goto fail;
    }
    /* The ring also holds jobs admitted for an idle worker that has not
     * taken them yet: queue_length waiting + one per device. */
    q->cap = conf->queue_length + conf->n_devices;
    q->st.queue_capacity = conf->queue_length;
    q->st.models_total = conf->n_models;
    if (!(q->ring = calloc((size_t)q->cap, sizeof *q->ring))) {
        rc = PICTOR_E_NOMEM;
        goto fail;
    }
    for (int i = 0; i < conf->n_devices; i++) {
        if (!device_valid(conf->devices[i])) {
            snprintf(err, errlen, "unknown device '%s' (cpu, cuda, cuda:N)", conf->devices[i]);
            goto fail;
        }
    }
    q->n_models = (size_t)conf->n_models;
    for (size_t i = 0; i < q->n_models; i++)
        if ((rc = probe_model(q, i, err, errlen)) != PICTOR_OK)
            goto fail;
    for (int i = 0; i < conf->n_devices; i++) {
        struct worker *w = &q->workers[i];
        w->q = q;
        snprintf(w->device, sizeof w->device, "%s", conf->devices[i]);
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            snprintf(err, errlen, "cannot start the worker for %s", w->device);
            rc = PICTOR_E_NOMEM;
            goto fail;
        }
        w->started = true;
        q->n_workers++;
    }
    *out = q;
    return PICTOR_OK;
fail:
    pictor_jobs_destroy(q);
    return rc;
}

void pictor_jobs_stop(struct pictor_jobs *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    q->draining = true;
    atomic_store(&q->abort_all, true);
    while (q->count > 0) { /* fail what is still queued: its waiters wake */
        struct pictor_job *job = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        job->res.status = PICTOR_E_CANCELLED;
        snprintf(job->res.error, sizeof job->res.error, "the server is shutting down");
        q->st.cancelled++;
        q->st.cancelled_queued++;
        job->done = true;
        pthread_cond_signal(&job->cv);
    }
    pthread_cond_broadcast(&q->work_cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < PICTOR_CONF_MAX_DEVICES; i++)
        if (q->workers[i].started) {
            pthread_join(q->workers[i].thread, NULL);
            q->workers[i].started = false;
        }
}

void pictor_jobs_destroy(struct pictor_jobs *q)
{
    if (!q)
        return;
    pictor_jobs_stop(q);
    for (size_t i = 0; i < PICTOR_CONF_MAX_MODELS; i++)
        free(q->sched_json[i]);
    free(q->ring);
    pthread_cond_destroy(&q->idle_cv);
    pthread_cond_destroy(&q->work_cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* ---- queries ------------------------------------------------------------- */

bool pictor_jobs_ready(struct pictor_jobs *q)
{
    pthread_mutex_lock(&q->mu);
    bool r = !q->failed && q->workers_loaded == q->n_workers;
    pthread_mutex_unlock(&q->mu);
    return r;
}

bool pictor_jobs_load_error(struct pictor_jobs *q, char *err, size_t errlen)
{
    pthread_mutex_lock(&q->mu);
    bool f = q->failed;
    if (f)
        snprintf(err, errlen, "%s", q->load_error);
    pthread_mutex_unlock(&q->mu);
    return f;
}

size_t pictor_jobs_model_count(const struct pictor_jobs *q)
{
    return q->n_models;
}

const struct pictor_jobs_model *pictor_jobs_model_at(const struct pictor_jobs *q, size_t i)
{
    return i < q->n_models ? &q->models[i] : NULL;
}

int pictor_jobs_find_model(const struct pictor_jobs *q, const char *id_or_alias)
{
    for (size_t i = 0; i < q->n_models; i++) {
        const struct pictor_model_conf *c = q->models[i].conf;
        if (!strcmp(c->id, id_or_alias))
            return (int)i;
        for (int a = 0; a < c->n_aliases; a++)
            if (!strcmp(c->aliases[a], id_or_alias))
                return (int)i;
    }
    return -1;
}

void pictor_jobs_get_stats(struct pictor_jobs *q, struct pictor_jobs_stats *st)
{
    pthread_mutex_lock(&q->mu);
    *st = q->st;
    st->queued = q->count;
    st->running = q->running;
    pthread_mutex_unlock(&q->mu);
}

bool pictor_jobs_drain(struct pictor_jobs *q, double timeout_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)timeout_s;
    deadline.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    q->draining = true;
    while (q->count + q->running > 0)
        if (pthread_cond_timedwait(&q->idle_cv, &q->mu, &deadline))
            break;
    bool drained = q->count + q->running == 0;
    pthread_mutex_unlock(&q->mu);
    return drained;
}

/* ---- jobs ------------------------------------------------------------------ */

int pictor_job_create(const struct pictor_job_request *req, struct pictor_job **out)
{
    struct pictor_job *job = calloc(1, sizeof *job);
    if (!job)
        return PICTOR_E_NOMEM;
    job->req = *req;
    job->prompt = strdup(req->prompt ? req->prompt : "");
    job->negative = req->negative_prompt ? strdup(req->negative_prompt) : NULL;
    if (!job->prompt || (req->negative_prompt && !job->negative)) {
        free(job->prompt);
        free(job->negative);
        free(job);
        return PICTOR_E_NOMEM;
    }
    job->req.prompt = job->prompt;
    job->req.negative_prompt = job->negative;
    atomic_init(&job->cancelled, false);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = job;
    return PICTOR_OK;
}

void pictor_job_destroy(struct pictor_job *job)
{
    if (!job)
        return;
    pthread_cond_destroy(&job->cv);
    for (int i = 0; i < PICTOR_PIPELINE_MAX_PREVIEWS; i++)
        free(job->preview[i]);
    free(job->res.rgb);
    free(job->prompt);
    free(job->negative);
    free(job);
}

enum pictor_jobs_admit pictor_jobs_submit(struct pictor_jobs *q, struct pictor_job *job)
{
    enum pictor_jobs_admit a = PICTOR_JOBS_ADMITTED;
    pthread_mutex_lock(&q->mu);
    if (q->draining) {
        a = PICTOR_JOBS_DRAINING;
    } else if (q->failed || q->workers_loaded < q->n_workers) {
        a = PICTOR_JOBS_NOT_READY;
    } else if (q->count + q->running >= q->cap) {
        /* every worker busy and queue_length jobs waiting */
        a = PICTOR_JOBS_FULL;
        q->st.rejected_full++;
    } else {
        clock_gettime(CLOCK_MONOTONIC, &job->submitted);
        job->q = q;
        q->ring[(q->head + q->count) % q->cap] = job;
        q->count++;
        pthread_cond_signal(&q->work_cv);
    }
    pthread_mutex_unlock(&q->mu);
    return a;
}

const struct pictor_job_result *pictor_job_wait(struct pictor_jobs *q, struct pictor_job *job)
{
    pthread_mutex_lock(&q->mu);
    while (!job->done)
        pthread_cond_wait(&job->cv, &q->mu);
    pthread_mutex_unlock(&q->mu);
    return &job->res;
}

enum pictor_job_event pictor_job_poll(struct pictor_jobs *q, struct pictor_job *job,
                                      int timeout_ms, struct pictor_job_preview *preview)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    enum pictor_job_event ev = PICTOR_JOB_TIMEOUT;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (job->previews_taken < job->previews_made) {
            preview->index = job->previews_taken;
            preview->rgb = job->preview[job->previews_taken];
            job->preview[job->previews_taken++] = NULL;
            ev = PICTOR_JOB_PREVIEW;
            break;
        }
        if (job->done) {
            ev = PICTOR_JOB_DONE;
            break;
        }
        if (pthread_cond_timedwait(&job->cv, &q->mu, &deadline))
            break;
    }
    pthread_mutex_unlock(&q->mu);
    return ev;
}

void pictor_job_cancel(struct pictor_job *job)
{
    atomic_store(&job->cancelled, true);
    struct pictor_jobs *q = job->q;
    if (!q)
        return; /* never submitted */
    pthread_mutex_lock(&q->mu);
    for (int k = 0; k < q->count && !job->done; k++) {
        if (q->ring[(q->head + k) % q->cap] != job)
            continue;
        for (int j = k; j + 1 < q->count; j++) /* close the gap, FIFO order kept */
            q->ring[(q->head + j) % q->cap] = q->ring[(q->head + j + 1) % q->cap];
        q->count--;
        job->res.status = PICTOR_E_CANCELLED;
        snprintf(job->res.error, sizeof job->res.error, "cancelled while queued");
        q->st.cancelled++;
        q->st.cancelled_queued++;
        job->done = true;
        pthread_cond_signal(&job->cv);
        pthread_cond_broadcast(&q->idle_cv);
    }
    pthread_mutex_unlock(&q->mu);
}
