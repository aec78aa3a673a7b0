/* core/server/metrics.c — /metrics in the Prometheus text format
 * [any thread]: requests by route and status, rejections, disconnects,
 * queue depth, queue-wait and inference histograms (pictor/jobs.h), loaded
 * models. Counters are lock-free atomics. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "server.h"

#define STATUS_MIN 100
#define STATUS_MAX 599

const char *const pictord_route_names[PICTORD_ROUTE_COUNT] = {
    [PICTORD_ROUTE_GENERATIONS] = "/v1/images/generations",
    [PICTORD_ROUTE_MODELS] = "/v1/models",
    [PICTORD_ROUTE_HEALTHZ] = "/healthz",
    [PICTORD_ROUTE_READYZ] = "/readyz",
    [PICTORD_ROUTE_METRICS] = "/metrics",
    [PICTORD_ROUTE_RECEIPTS] = "/v1/receipts",
    [PICTORD_ROUTE_OTHER] = "other",
};

static const char *const reject_names[PICTORD_REJECT_COUNT] = {
    [PICTORD_REJECT_QUEUE_FULL] = "queue_full",
    [PICTORD_REJECT_NOT_READY] = "not_ready",
    [PICTORD_REJECT_DRAINING] = "draining",
    [PICTORD_REJECT_BODY_TOO_LARGE] = "body_too_large",
};

static atomic_ullong requests[PICTORD_ROUTE_COUNT][STATUS_MAX - STATUS_MIN + 1];
static atomic_ullong rejects[PICTORD_REJECT_COUNT];
static atomic_ullong disconnects;

void pictord_metrics_request(int route, int status)
{
    if (route >= 0 && route < PICTORD_ROUTE_COUNT && status >= STATUS_MIN && status <= STATUS_MAX)
        atomic_fetch_add(&requests[route][status - STATUS_MIN], 1);
}

void pictord_metrics_reject(int reason)
{
    if (reason >= 0 && reason < PICTORD_REJECT_COUNT)
        atomic_fetch_add(&rejects[reason], 1);
}

void pictord_metrics_disconnect(void)
{
    atomic_fetch_add(&disconnects, 1);
}

static void histogram(FILE *f, const char *name, const char *help, const uint64_t *b,
                      uint64_t count, double sum)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < PICTOR_JOBS_N_BUCKETS; i++) {
        cum += b[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, pictor_jobs_buckets[i],
                (unsigned long long)cum);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
            (unsigned long long)count, name, sum, name, (unsigned long long)count);
}

char *pictord_metrics_text(struct pictord *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    struct pictor_jobs_stats st;
    pictor_jobs_get_stats(s->jobs, &st);
    fputs("# HELP pictord_requests_total HTTP requests by route and status.\n"
          "# TYPE pictord_requests_total counter\n", f);
    for (int r = 0; r < PICTORD_ROUTE_COUNT; r++)
        for (int c = 0; c <= STATUS_MAX - STATUS_MIN; c++) {
            unsigned long long v = atomic_load(&requests[r][c]);
            if (v)
                fprintf(f, "pictord_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        pictord_route_names[r], c + STATUS_MIN, v);
        }
    fputs("# HELP pictord_rejections_total Requests refused before running (429, 503, 413).\n"
          "# TYPE pictord_rejections_total counter\n", f);
    for (int r = 0; r < PICTORD_REJECT_COUNT; r++)
        fprintf(f, "pictord_rejections_total{reason=\"%s\"} %llu\n", reject_names[r],
                (unsigned long long)atomic_load(&rejects[r]));
    fprintf(f, "# HELP pictord_disconnects_total Clients that hung up before their answer "
               "was complete (their jobs are cancelled; counted as status 499).\n"
               "# TYPE pictord_disconnects_total counter\npictord_disconnects_total %llu\n",
            (unsigned long long)atomic_load(&disconnects));
    fprintf(f, "# HELP pictord_queue_depth Jobs waiting.\n# TYPE pictord_queue_depth gauge\n"
               "pictord_queue_depth %d\n"
               "# HELP pictord_queue_capacity Most jobs that may wait.\n"
               "# TYPE pictord_queue_capacity gauge\npictord_queue_capacity %d\n"
               "# HELP pictord_jobs_running Jobs on a device.\n"
               "# TYPE pictord_jobs_running gauge\npictord_jobs_running %d\n",
            st.queued, st.queue_capacity, st.running);
    fprintf(f, "# HELP pictord_jobs_total Finished jobs by outcome.\n"
               "# TYPE pictord_jobs_total counter\n"
               "pictord_jobs_total{outcome=\"done\"} %llu\n"
               "pictord_jobs_total{outcome=\"failed\"} %llu\n"
               "pictord_jobs_total{outcome=\"cancelled\"} %llu\n",
            (unsigned long long)st.done, (unsigned long long)st.failed,
            (unsigned long long)st.cancelled);
    fprintf(f, "# HELP pictord_jobs_cancelled_total Cancelled jobs (client gone, shutdown) by "
               "whether a model had started on them.\n"
               "# TYPE pictord_jobs_cancelled_total counter\n"
               "pictord_jobs_cancelled_total{stage=\"queued\"} %llu\n"
               "pictord_jobs_cancelled_total{stage=\"running\"} %llu\n",
            (unsigned long long)st.cancelled_queued,
            (unsigned long long)(st.cancelled - st.cancelled_queued));
    histogram(f, "pictord_queue_wait_seconds", "Time from admission to a worker taking the job.",
              st.wait_bucket, st.wait_count, st.wait_sum_s);
    histogram(f, "pictord_inference_seconds", "Text encoding + denoising + VAE decode per job.",
              st.infer_bucket, st.infer_count, st.infer_sum_s);
    fprintf(f, "# HELP pictord_models_loaded Models open on every device.\n"
               "# TYPE pictord_models_loaded gauge\npictord_models_loaded %d\n"
               "# HELP pictord_models_configured Models in the configuration.\n"
               "# TYPE pictord_models_configured gauge\npictord_models_configured %d\n",
            st.models_loaded, st.models_total);
    fclose(f);
    return buf;
}
