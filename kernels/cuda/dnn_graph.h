/*
 * kernels/cuda/dnn_graph.h — small helpers for cuDNN's backend (graph) API
 * from C, shared by the graph-built ops (op_sdpa_cudnn.c: the unified bf16
 * SDPA op; op_sdpa_fp8_graph.c: the FP8 SDPA composite graph):
 *
 *   descriptors  created, attributes set and finalized through the
 *                struct cuda_libs function table; every call checked with
 *                DNN_CHECK (cuda_libs.h), so a failure names the call,
 *                file:line and cuDNN's own last error string;
 *   bag          every descriptor one graph is built from, destroyed
 *                together (a plan keeps its graph's descriptors alive, as
 *                cudnn-frontend's graph object does);
 *   target       where a graph is planned: a cuDNN handle (the device the
 *                plan will run on), or a CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR
 *                describing a device (cuDNN >= 9.8, "deviceless"): the
 *                heuristics and their support checks then run without a
 *                GPU, which lets the CPU test suite check that cuDNN offers
 *                an engine for a graph (tests/unit/test_sdpa_fp8_dnn_plan.c);
 *   plan         heuristics mode A, then FALLBACK; the first engine config
 *                whose execution plan finalizes wins (with
 *                PICTOR_CUDA_DNN_TUNE=1, dnn_tune.h may replace it by the
 *                fastest of mode A's, timed on the device).
 *
 * Plain C; built only with CUDA (PICTOR_HAVE_CUDA). The function table may
 * come from a backend (ctx->libs) or from cuda_libs_load_dnn alone (no
 * handle, no GPU). Thread: whoever owns the struct cuda_libs (the
 * backend's worker thread).
 */
#ifndef PICTOR_DNN_GRAPH_H
#define PICTOR_DNN_GRAPH_H

#ifdef PICTOR_HAVE_CUDA
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_libs.h"

/* First cuDNN with CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR (deviceless
 * planning; cudnn-frontend gates its device-less compilation on 9.8.0). */
#define DNN_DEVICELESS_MIN_VERSION 90800
/* Byte alignment every graph tensor is declared with
 * (CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT): callers guarantee it of the data. */
#define DNN_TENSOR_ALIGN 16
/* Engine configurations tried per heuristics mode (cuDNN lists the best
 * first; more are not worth the finalize attempts). */
#define DNN_MAX_CONFIGS 16
/* Most descriptors one bag holds (the FP8 SDPA graph needs about 80). */
#define DNN_BAG_MAX 128

/* cudnnBackendSetAttribute through l's table, checked: PICTOR_OK or a
 * negative status with the message in err. */
#define DNN_SET(l, d, name, type, n, val, err, errlen)                                   \
    DNN_CHECK(l, (l)->dnn.cudnnBackendSetAttribute(d, name, type, n, val), err, errlen)

/* cuDNN's data type for a PICTOR_F16 / PICTOR_BF16 tensor; CUDNN_DATA_FLOAT
 * for any other dtype (f32, and what the callers widen to f32). */
cudnnDataType_t dnn_data_type(int dtype);

/* Destroys d (NULL is a no-op). */
void dnn_destroy(const struct cuda_libs *l, cudnnBackendDescriptor_t d);

/* Where a graph is planned: exactly one of the two is set. */
struct dnn_target {
    cudnnHandle_t handle;              /* the device the plan runs on */
    cudnnBackendDescriptor_t devprop;  /* deviceless: a finalized
                                          CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR */
};

/* A tensor of a graph. */
struct dnn_tensor_spec {
    int64_t uid;            /* unique in the graph (variant-pack key) */
    cudnnDataType_t dtype;
    int ndim;               /* dims/strides entries (cuDNN: 3..8) */
    const int64_t *dims;    /* logical dims */
    const int64_t *strides; /* elements */
    bool by_value;          /* a host scalar passed in the variant pack */
    bool is_virtual;        /* an intermediate no memory backs */
};

/* A finalized tensor descriptor (caller destroys it); *out NULL on error. */
int dnn_tensor(const struct cuda_libs *l, const struct dnn_tensor_spec *s,
               cudnnBackendDescriptor_t *out, char *err, size_t errlen);

/* The finalized operation graph of ops[0..n) (caller destroys it). The
 * handle attribute is set when t has one (marked deprecated in cuDNN 9.19,
 * optional since 9.8, still accepted; cudnn-frontend sets it too). */
int dnn_graph(const struct cuda_libs *l, const cudnnBackendDescriptor_t *ops, int n,
              const struct dnn_target *t, cudnnBackendDescriptor_t *out, char *err,
              size_t errlen);

/* A finalized CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR from its JSON form (the
 * keys cudnn-frontend writes: "deviceVer", "multiProcessorCount", ...);
 * needs cuDNN >= DNN_DEVICELESS_MIN_VERSION. Caller destroys it. */
int dnn_devprop_from_json(const struct cuda_libs *l, const char *json,
                          cudnnBackendDescriptor_t *out, char *err, size_t errlen);

/* What planning a graph gave. */
struct dnn_plan_out {
    cudnnBackendDescriptor_t plan;     /* NULL: no config finalized */
    cudnnBackendDescriptor_t heur, cfg; /* plan's heuristics and engine
                                          config (kept with it), or NULL */
    int64_t workspace;                 /* bytes plan needs */
    int64_t viable;                    /* engine configs the heuristics
                                          returned after their support checks,
                                          summed over the modes tried */
};

/* Plans graph g for target t (heuristics mode A, then FALLBACK; for a
 * devprop target both descriptors get it instead of a handle). PICTOR_OK
 * with out->plan set; otherwise out->plan is NULL, err says why (the
 * latest finalize failure, or "no engine configuration") and the status is
 * PICTOR_E_UNSUPPORTED, or the error of a mode that failed outright.
 * out->viable is set either way. The caller destroys plan, heur and cfg. */
int dnn_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t g, const struct dnn_target *t,
             struct dnn_plan_out *out, char *err, size_t errlen);

/* The engine configs heuristics `mode` offers for graph g on target t,
 * best first, after cuDNN's support checks: *heur and cfg[0..*got) (at
 * most DNN_MAX_CONFIGS). The caller destroys *heur and every cfg entry
 * (those past *got are NULL, as all are on an early error). */
int dnn_heur_configs(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
                     const struct dnn_target *t, cudnnBackendHeurMode_t mode,
                     cudnnBackendDescriptor_t *heur, cudnnBackendDescriptor_t cfg[DNN_MAX_CONFIGS],
                     int64_t *got, char *err, size_t errlen);

/* Of dnn_heur_configs' results, keeps cfg[chosen] in *cfg_out and heur in
 * *heur_out when chosen >= 0, and destroys every other config (and heur
 * when chosen < 0). */
void dnn_keep_config(const struct cuda_libs *l, cudnnBackendDescriptor_t heur,
                     cudnnBackendDescriptor_t cfg[DNN_MAX_CONFIGS], int64_t chosen,
                     cudnnBackendDescriptor_t *heur_out, cudnnBackendDescriptor_t *cfg_out);

/* The finalized execution plan of engine config cfg for t and the
 * workspace bytes it needs; a config that does not finalize is an error
 * (err says why) and leaves *out NULL. The caller destroys *out. */
int dnn_plan_of_config(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg,
                       const struct dnn_target *t, cudnnBackendDescriptor_t *out, int64_t *ws,
                       char *err, size_t errlen);

/* ---- a bag of descriptors --------------------------------------------- */

struct dnn_bag {
    const struct cuda_libs *l; /* whose table destroys them */
    int n;
    cudnnBackendDescriptor_t d[DNN_BAG_MAX];
};

/* An empty bag for l's descriptors. */
void dnn_bag_init(struct dnn_bag *b, const struct cuda_libs *l);
/* Takes d (non-NULL) into the bag; when the bag is full d is destroyed and
 * PICTOR_E_INVALID returned (a programmer error: raise DNN_BAG_MAX). */
int dnn_bag_add(struct dnn_bag *b, cudnnBackendDescriptor_t d, char *err, size_t errlen);
/* A new descriptor of `type`, already in the bag. */
int dnn_bag_new(struct dnn_bag *b, cudnnBackendDescriptorType_t type,
                cudnnBackendDescriptor_t *out, char *err, size_t errlen);
/* Destroys every descriptor, newest first; the bag is empty afterwards. */
void dnn_bag_free(struct dnn_bag *b);

/* ---- building and running a graph, every descriptor in one bag -------- */

/* A finalized tensor descriptor of s, in the bag. */
int dnn_bag_tensor(struct dnn_bag *b, const struct dnn_tensor_spec *s,
                   cudnnBackendDescriptor_t *out, char *err, size_t errlen);

/* A finalized pointwise operation y = mode(x[, bd]) computed in f32 (bd
 * NULL for unary modes), in the bag; *op goes into the graph's ops. */
int dnn_bag_pointwise(struct dnn_bag *b, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                      cudnnBackendDescriptor_t bd, cudnnBackendDescriptor_t y,
                      cudnnBackendDescriptor_t *op, char *err, size_t errlen);

/* The graph of ops[0..n) planned for t (dnn_graph, dnn_plan), everything
 * it makes kept in the bag. PICTOR_OK with *plan and *workspace set; else
 * *plan NULL and dnn_plan's status and message. *viable is set either way
 * (0 when the graph itself failed); *graph_out (may be NULL) gets the
 * operation graph, or NULL when it failed. */
int dnn_bag_plan(struct dnn_bag *b, const cudnnBackendDescriptor_t *ops, int n,
                 const struct dnn_target *t, cudnnBackendDescriptor_t *plan, int64_t *workspace,
                 int64_t *viable, cudnnBackendDescriptor_t *graph_out, char *err, size_t errlen);

/* A planned graph: every descriptor it was built from, kept until it is
 * released (cudnn-frontend's graph object keeps them too). */
struct dnn_graph_plan {
    struct dnn_bag bag;            /* owns every descriptor below */
    cudnnBackendDescriptor_t graph; /* the operation graph (dnn_tune), or
                                       NULL when building it failed */
    cudnnBackendDescriptor_t plan; /* NULL: no engine config finalized */
    bool tuned;                    /* dnn_tune has timed its configs */
    int64_t workspace;             /* bytes plan needs */
    int64_t viable;                /* engine configs the heuristics offered
                                      after their support checks */
    char why[320];                 /* why plan is NULL */
};

/* Starts p empty, for l's descriptors; clears err. */
void dnn_graph_plan_init(struct dnn_graph_plan *p, const struct cuda_libs *l, char *err);

/* Finishes p once its operations ops[0..n) are built into p->bag with
 * status rc: plans them for t when rc is PICTOR_OK (dnn_bag_plan). On any
 * failure p->why gets err, or "<what> failed" when err is empty. Returns
 * the status. */
int dnn_graph_plan_finish(struct dnn_graph_plan *p, int rc, const cudnnBackendDescriptor_t *ops,
                          int n, const struct dnn_target *t, const char *what, char *err,
                          size_t errlen);

/* Destroys p's descriptors (p->plan becomes NULL; why is kept). */
void dnn_graph_plan_release(struct dnn_graph_plan *p);

/* Executes plan on the handle of l with the variant pack uids[i] ->
 * ptrs[i] (i < n) and workspace (NULL when the plan needs none). */
int dnn_execute(const struct cuda_libs *l, cudnnBackendDescriptor_t plan, int n,
                const int64_t *uids, void *const *ptrs, void *workspace, char *err,
                size_t errlen);

#endif /* PICTOR_HAVE_CUDA */
#endif /* PICTOR_DNN_GRAPH_H */
