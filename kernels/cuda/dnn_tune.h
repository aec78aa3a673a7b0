/*
 * kernels/cuda/dnn_tune.h — choosing a cuDNN graph's engine config by
 * timing, not by the heuristics' order alone (PICTOR_CUDA_DNN_TUNE=1; =2
 * tries the runtime-compiled configs too).
 *
 * dnn_plan (dnn_graph.h) takes the first config of heuristics mode A that
 * finalizes. On the H100 the VAE decode ran 46 ms in NCHW and 200 ms in
 * NHWC with the fused convolution graphs, and 239 ms with cuDNN's legacy
 * call: the engines cuDNN puts first are not always its fastest. dnn_tune
 * times what the heuristics offer on the device, with the caller's own
 * operands, and keeps the fastest, as cudnn-frontend's autotuning does:
 *
 *   - the configs of heuristics mode A (at most DNN_MAX_CONFIGS), best
 *     first; one whose engine carries CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION
 *     is not tried (its finalize compiles kernels: seconds each) unless
 *     l->dnn_tune_rtc (PICTOR_CUDA_DNN_TUNE=2), nor one
 *     needing more workspace than the caller has, nor one that does not
 *     finalize or whose execution cuDNN refuses;
 *   - each is run once, then DNN_TUNE_RUNS times between two events on the
 *     stream (the mean is its time); a config whose first timed run is over
 *     DNN_TUNE_GIVE_UP times the best so far is not run again;
 *   - the current plan is timed the same way first; another config replaces
 *     it only when it is faster by more than DNN_TUNE_MARGIN.
 *
 * It synchronizes the stream, so it never runs while the stream is being
 * captured (a CUDA graph): then it times nothing and the caller keeps its
 * plan, to be tuned at a later eager call. The runs write the caller's
 * outputs (with inputs that are not also outputs that is harmless: the
 * caller runs the chosen plan afterwards).
 *
 * Plain C; built only with CUDA (PICTOR_HAVE_CUDA). Thread: the owner of
 * l (the backend's worker thread).
 */
#ifndef PICTOR_DNN_TUNE_H
#define PICTOR_DNN_TUNE_H

#ifdef PICTOR_HAVE_CUDA
#include <stdbool.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#include "dnn_graph.h"

/* Timed runs per config after its warm-up run. */
#define DNN_TUNE_RUNS 3
/* A config whose first timed run takes over this many times the best so
 * far is not run again. */
#define DNN_TUNE_GIVE_UP 3.0
/* Another config replaces the current plan only when faster by more than
 * this fraction (timing noise must not flip choices). */
#define DNN_TUNE_MARGIN 0.03

/* Queues one execution of plan, with workspace ws (NULL when it needs
 * none), on the stream being tuned: the caller's variant pack. */
typedef int (*dnn_run_fn)(void *arg, cudnnBackendDescriptor_t plan, void *ws, char *err,
                          size_t errlen);

/* What to tune with. */
struct dnn_tune_args {
    cudaStream_t stream;  /* l's handle's stream: the runs are timed on it */
    void *ws;             /* workspace on hand (NULL when ws_bytes is 0) */
    int64_t ws_bytes;     /* configs needing more are not tried */
    dnn_run_fn run;
    void *arg;
};

/* The args of a tune on backend ctx: its stream and shared workspace, run
 * with arg. */
struct dnn_tune_args dnn_tune_args_of(const struct cuda_ctx *ctx, dnn_run_fn run, void *arg);

/* What tuning found. */
struct dnn_tuned {
    cudnnBackendDescriptor_t plan; /* a faster plan, or NULL: keep the current */
    cudnnBackendDescriptor_t heur, cfg; /* what plan was made from; the caller
                                           keeps all three alive together and
                                           destroys them (NULL with plan) */
    int64_t workspace;             /* bytes plan needs */
    int timed;                     /* configs timed, the current plan included
                                      (0: nothing ran, e.g. during a capture) */
    int compiled;                  /* runtime-compiled configs (not tried
                                      unless l->dnn_tune_rtc) */
    double ms_current, ms_best;    /* per run; equal when the current stays */
    double wall_ms;                /* what tuning took on the host clock
                                      (finalizing the candidates included) */
};

/* Times graph g's engine configs on the device of l's handle against the
 * finalized plan `current` (which needs current_ws bytes of workspace).
 * PICTOR_OK with *out filled (out->plan NULL when current stays or nothing
 * was timed); an error only when timing itself fails (events, or the
 * current plan's runs: err says why), *out then keeping nothing. */
int dnn_tune(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
             cudnnBackendDescriptor_t current, int64_t current_ws,
             const struct dnn_tune_args *a, struct dnn_tuned *out, char *err, size_t errlen);

/* Whether stream is being captured (or cannot say): no tuning then. */
bool dnn_tune_capturing(cudaStream_t stream);

/* Counts a finished tuning in l->stats and prints its line on stderr:
 * `what`, the configs timed, the heuristics' choice's time and, when
 * switched, the new plan's, and the tuning's own wall time. */
void dnn_tune_report(struct cuda_libs *l, const struct dnn_tuned *t, bool switched,
                     const char *what);

/* Tunes planned graph p once (dnn_tune on p->graph against p->plan, the
 * workspace of a): a faster plan replaces p->plan and p->workspace, the
 * old plan staying in p->bag (a captured CUDA graph may still run its
 * kernels). During a capture it does nothing (p->tuned stays false, for a
 * later call); otherwise p->tuned is set, l->stats counts it, and stderr
 * gets one line naming `what` with the times. An error only as dnn_tune's
 * (p unchanged but tuned). */
int dnn_graph_plan_tune(struct cuda_libs *l, struct dnn_graph_plan *p,
                        const struct dnn_tune_args *a, const char *what, char *err,
                        size_t errlen);

/* Whether engine config cfg's engine compiles kernels at run time
 * (CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION): PICTOR_OK with *compiles set,
 * or the failing cuDNN call in err (*compiles then true). */
int dnn_config_notes(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg, bool *compiles,
                     char *err, size_t errlen);

/* dnn_config_notes' answer; true when cuDNN cannot say. */
bool dnn_config_compiles(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg);

#endif /* PICTOR_HAVE_CUDA */
#endif /* PICTOR_DNN_TUNE_H */
