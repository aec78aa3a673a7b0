/*
 * kernels/cuda/dnn_tune.c — timing a cuDNN graph's engine configs
 * (dnn_tune.h). Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dnn_tune.h"

int dnn_config_notes(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg, bool *compiles,
                     char *err, size_t errlen)
{
    cudnnBackendBehaviorNote_t notes[CUDNN_BEHAVIOR_NOTE_TYPE_COUNT];
    cudnnBackendDescriptor_t eng = NULL;
    int64_t n = 0;
    int rc;

    *compiles = true;
    if ((rc = DNN_CHECK(l, l->dnn.cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR,
                                                               &eng),
                        err, errlen)))
        return rc;
    if (!(rc = DNN_CHECK(l, l->dnn.cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE,
                                                            CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n,
                                                            &eng),
                         err, errlen)) &&
        !(rc = DNN_CHECK(l, l->dnn.cudnnBackendGetAttribute(eng, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE,
                                                            CUDNN_TYPE_BEHAVIOR_NOTE,
                                                            CUDNN_BEHAVIOR_NOTE_TYPE_COUNT, &n,
                                                            notes),
                         err, errlen))) {
        *compiles = false;
        for (int64_t i = 0; i < n && i < CUDNN_BEHAVIOR_NOTE_TYPE_COUNT; i++)
            *compiles |= notes[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION;
    }
    dnn_destroy(l, eng);
    return rc;
}

bool dnn_config_compiles(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg)
{
    bool compiles;
    char err[160];

    dnn_config_notes(l, cfg, &compiles, err, sizeof err);
    return compiles;
}

/* Events bracketing the timed runs. */
struct clock {
    cudaEvent_t start, stop;
};

static int cuda_fail(cudaError_t e, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, cudaGetErrorString(e));
    return PICTOR_E_DEVICE;
}

/* Milliseconds per run of plan: one warm-up run, then up to DNN_TUNE_RUNS
 * timed ones (only one when the first is over give_up ms; give_up <= 0:
 * no limit). A run cuDNN refuses is an error (err says why). */
static int time_plan(const struct dnn_tune_args *a, struct clock *c,
                     cudnnBackendDescriptor_t plan, void *ws, double give_up, double *ms,
                     char *err, size_t errlen)
{
    cudaError_t e;
    float t = 0.0f;
    int rc, runs = 0;

    if ((rc = a->run(a->arg, plan, ws, err, errlen)))
        return rc;
    while (runs < DNN_TUNE_RUNS) {
        if ((e = cudaEventRecord(c->start, a->stream)) != cudaSuccess)
            return cuda_fail(e, "cudaEventRecord", err, errlen);
        if ((rc = a->run(a->arg, plan, ws, err, errlen)))
            return rc;
        if ((e = cudaEventRecord(c->stop, a->stream)) != cudaSuccess ||
            (e = cudaEventSynchronize(c->stop)) != cudaSuccess ||
            (e = cudaEventElapsedTime(&t, c->start, c->stop)) != cudaSuccess)
            return cuda_fail(e, "timing a cuDNN plan", err, errlen);
        *ms = runs == 0 ? t : *ms + t;
        runs++;
        if (runs == 1 && give_up > 0.0 && t > give_up)
            break;
    }
    *ms /= runs;
    return PICTOR_OK;
}

/* The candidate configs of g, timed against *best_ms; the fastest that
 * beats it by the margin goes into out. */
static void try_configs(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
                        const struct dnn_tune_args *a, struct clock *c, double *best_ms,
                        struct dnn_tuned *out)
{
    const struct dnn_target t = { .handle = l->dnn_handle };
    cudnnBackendDescriptor_t heur = NULL, cfg[DNN_MAX_CONFIGS];
    int64_t got = 0, chosen = -1;
    char why[256];
    const double bar = *best_ms * (1.0 - DNN_TUNE_MARGIN);

    if (dnn_heur_configs(l, g, &t, CUDNN_HEUR_MODE_A, &heur, cfg, &got, why, sizeof why))
        got = 0;
    for (int64_t i = 0; i < got; i++) {
        cudnnBackendDescriptor_t plan = NULL;
        int64_t ws = 0;
        double ms = 0.0;

        if (dnn_config_compiles(l, cfg[i])) {
            out->compiled++;
            if (!l->dnn_tune_rtc)
                continue;
        }
        if (dnn_plan_of_config(l, cfg[i], &t, &plan, &ws, why, sizeof why) ||
            ws > a->ws_bytes ||
            time_plan(a, c, plan, ws > 0 ? a->ws : NULL, DNN_TUNE_GIVE_UP * *best_ms, &ms,
                      why, sizeof why)) {
            dnn_destroy(l, plan);
            continue;
        }
        out->timed++;
        if (ms < bar && ms < *best_ms) {
            dnn_destroy(l, out->plan); /* an earlier, slower winner */
            out->plan = plan;
            out->workspace = ws;
            *best_ms = ms;
            chosen = i;
        } else {
            dnn_destroy(l, plan);
        }
    }
    dnn_keep_config(l, heur, cfg, chosen, &out->heur, &out->cfg);
}

int dnn_tune(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
             cudnnBackendDescriptor_t current, int64_t current_ws,
             const struct dnn_tune_args *a, struct dnn_tuned *out, char *err, size_t errlen)
{
    struct clock c = { NULL, NULL };
    struct timespec t0, t1;
    cudaError_t e;
    int rc = PICTOR_OK;

    memset(out, 0, sizeof *out);
    if (dnn_tune_capturing(a->stream) || current_ws > a->ws_bytes)
        return PICTOR_OK;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((e = cudaEventCreate(&c.start)) != cudaSuccess ||
        (e = cudaEventCreate(&c.stop)) != cudaSuccess) {
        rc = cuda_fail(e, "cudaEventCreate", err, errlen);
        goto out;
    }
    if ((rc = time_plan(a, &c, current, current_ws > 0 ? a->ws : NULL, 0.0, &out->ms_current,
                        err, errlen)))
        goto out;
    out->timed = 1;
    out->ms_best = out->ms_current;
    try_configs(l, g, a, &c, &out->ms_best, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->wall_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
out:
    if (c.start)
        cudaEventDestroy(c.start);
    if (c.stop)
        cudaEventDestroy(c.stop);
    return rc;
}

struct dnn_tune_args dnn_tune_args_of(const struct cuda_ctx *ctx, dnn_run_fn run, void *arg)
{
    const struct dnn_tune_args a = { .stream = ctx->stream, .ws = ctx->libs->workspace,
                                     .ws_bytes = (int64_t)ctx->libs->workspace_bytes,
                                     .run = run, .arg = arg };

    return a;
}

bool dnn_tune_capturing(cudaStream_t stream)
{
    enum cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;

    return cudaStreamIsCapturing(stream, &cap) != cudaSuccess ||
           cap != cudaStreamCaptureStatusNone;
}

void dnn_tune_report(struct cuda_libs *l, const struct dnn_tuned *t, bool switched,
                     const char *what)
{
    l->stats.dnn_tuned++;
    l->stats.dnn_tune_switched += switched;
    l->stats.dnn_tune_timed += (uint64_t)t->timed;
    fprintf(stderr, "pictor: cuDNN tuning %s: %d engine configs timed (%d runtime-compiled %s), "
            "heuristics' choice %.3f ms, %s %.3f ms (tuning took %.0f ms)\n", what, t->timed,
            t->compiled, l->dnn_tune_rtc ? "tried" : "not tried", t->ms_current,
            switched ? "now" : "kept,",
            switched ? t->ms_best : t->ms_current, t->wall_ms);
}

int dnn_graph_plan_tune(struct cuda_libs *l, struct dnn_graph_plan *p,
                        const struct dnn_tune_args *a, const char *what, char *err,
                        size_t errlen)
{
    struct dnn_tuned t;
    bool switched = false;
    char why[64];
    int rc;

    if (p->tuned || !p->plan || !p->graph || dnn_tune_capturing(a->stream))
        return PICTOR_OK;
    p->tuned = true;
    if ((rc = dnn_tune(l, p->graph, p->plan, p->workspace, a, &t, err, errlen)))
        return rc;
    if (t.plan) {
        /* Into the bag in creation order; one it cannot take is destroyed
         * there, and the rest here: the current plan stays. */
        cudnnBackendDescriptor_t d[3] = { t.heur, t.cfg, t.plan };
        int k = 0;

        while (k < 3 && dnn_bag_add(&p->bag, d[k], why, sizeof why) == PICTOR_OK)
            k++;
        for (int j = k + 1; j < 3; j++)
            dnn_destroy(l, d[j]);
        if ((switched = k == 3)) {
            p->plan = t.plan;
            p->workspace = t.workspace;
        }
    }
    dnn_tune_report(l, &t, switched, what);
    return PICTOR_OK;
}

#endif /* PICTOR_HAVE_CUDA */
