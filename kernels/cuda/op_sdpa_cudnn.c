/*
 * kernels/cuda/op_sdpa_cudnn.c — cuDNN's fused attention from C through
 * the backend (graph) API (op_sdpa_internal.h; CUDA.md §2.2):
 *
 *   tensors   Q, K, V, O: {B, H, L, D} with the call's strides (head dim
 *             stride 1), bf16 or f16, 16-byte aligned; the attention scale
 *             a by-value f32 {1, 1, 1, 1} tensor (a host pointer in the
 *             variant pack, so one plan serves every scale);
 *   operation CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR (the unified SDPA
 *             op of cuDNN >= 9.13.1: what cudnn-frontend's UnifiedSDPANode
 *             builds); no Stats output (inference), compute in f32;
 *   plan      operation graph -> heuristics (mode A, then FALLBACK) -> the
 *             first engine config whose execution plan finalizes;
 *   execute   variant pack {Q, K, V, O, scale} + workspace (the backend's
 *             shared one when large enough, else stream-ordered scratch)
 *             on the cuDNN handle, which cuda_libs.c bound to ctx->stream
 *             (dnn_execute);
 *   tuning    with PICTOR_CUDA_DNN_TUNE=1 the first eager call of a shape
 *             times the engine configs with its own operands and keeps the
 *             fastest (dnn_tune.h).
 *
 * Plans live in ctx->sdpa.plans keyed by cuda_sdpa_dnn_key (dtype, shape,
 * normalized strides). A shape without an engine is cached too, as a plan
 * with no descriptor and the reason, so it is asked once. Each plan keeps
 * every descriptor it was built from (tensors, op, graph, heuristics,
 * engine config) until it is freed, as cudnn-frontend's graph does.
 * Every cuDNN call goes through DNN_CHECK (its status and cuDNN's last
 * error string end up in the message); the descriptor, graph and plan
 * helpers are dnn_graph.h's, shared with the FP8 graph (op_sdpa_fp8.h).
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_libs.h"
#include "dnn_graph.h"
#include "dnn_tune.h"
#include "op_sdpa_internal.h"
#include "pictor/tensor_util.h"

/* Unique ids of the graph's tensors (the variant pack's keys). */
enum { UID_Q = 1, UID_K, UID_V, UID_O, UID_SCALE };
#define N_TENSORS 5

/* keep[]: the tensors, then these. */
enum { KEEP_OP = N_TENSORS, KEEP_GRAPH, KEEP_HEUR, KEEP_CFG, KEEP_OLD_PLAN, KEEP_TUNED_HEUR,
       KEEP_TUNED_CFG, N_KEEP };

struct dnn_plan {
    const struct cuda_libs *libs;      /* whose functions free it */
    cudnnBackendDescriptor_t plan;     /* NULL: no engine (see why) */
    int64_t workspace;                 /* bytes plan needs */
    bool tuned;                        /* PICTOR_CUDA_DNN_TUNE timed it */
    cudnnBackendDescriptor_t keep[N_KEEP]; /* tensors, op, graph, heur, cfg;
                                              after tuning replaced the plan:
                                              the heuristics' plan (a captured
                                              CUDA graph may still run it) and
                                              what the new one came from */
    char why[320];
};

static void dnn_plan_free(void *v)
{
    struct dnn_plan *p = v;

    dnn_destroy(p->libs, p->plan);
    for (size_t i = 0; i < sizeof p->keep / sizeof p->keep[0]; i++)
        dnn_destroy(p->libs, p->keep[i]);
    free(p);
}

/* A finalized tensor descriptor {dims} / {strides}. */
static int make_tensor(const struct cuda_libs *l, int64_t uid, cudnnDataType_t dt,
                       const int64_t dims[4], const int64_t strides[4], bool by_value,
                       cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    const struct dnn_tensor_spec s = { .uid = uid, .dtype = dt, .ndim = 4, .dims = dims,
                                       .strides = strides, .by_value = by_value };

    return dnn_tensor(l, &s, out, err, errlen);
}

/* The finalized SDPA_FWD operation over p->keep[0..4] (Q, K, V, O, scale). */
static int make_op(const struct cuda_libs *l, struct dnn_plan *p, cudnnBackendDescriptor_t *out,
                   char *err, size_t errlen)
{
    static const cudnnBackendAttributeName_t names[N_TENSORS] = {
        CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC,
    };
    cudnnBackendDescriptor_t op = NULL;
    int rc = DNN_CHECK(l, l->dnn.cudnnBackendCreateDescriptor(
                              CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, &op),
                       err, errlen);

    *out = NULL;
    if (rc)
        return rc;
    for (int i = 0; i < N_TENSORS && !rc; i++)
        rc = DNN_SET(l, op, names[i], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &p->keep[i], err, errlen);
    if (!rc)
        rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(op), err, errlen);
    if (rc) {
        dnn_destroy(l, op);
        return rc;
    }
    *out = op;
    return PICTOR_OK;
}

/* Builds the plan of key for target t into p (p->libs set, the rest
 * zero). PICTOR_OK with p->plan set, or an error with err (and p->why)
 * saying why; *viable (may be NULL) gets the engine configs the heuristics
 * offered after their support checks. */
static int build_plan_for(const struct cuda_libs *l, const struct cuda_sdpa_dnn_key *k,
                          const struct dnn_target *t, struct dnn_plan *p, int64_t *viable,
                          char *err, size_t errlen)
{
    struct dnn_plan_out planned = { 0 };
    cudnnDataType_t dt = k->dtype == PICTOR_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    const int64_t qd[4] = { k->B, k->H, k->Lq, k->D }, kd[4] = { k->B, k->H, k->Lk, k->D };
    const int64_t one[4] = { 1, 1, 1, 1 };
    cudnnBackendDescriptor_t op = NULL, graph = NULL;
    int rc;

    err[0] = '\0';
    if ((rc = make_tensor(l, UID_Q, dt, qd, k->qs, false, &p->keep[0], err, errlen)) ||
        (rc = make_tensor(l, UID_K, dt, kd, k->ks, false, &p->keep[1], err, errlen)) ||
        (rc = make_tensor(l, UID_V, dt, kd, k->vs, false, &p->keep[2], err, errlen)) ||
        (rc = make_tensor(l, UID_O, dt, qd, k->os, false, &p->keep[3], err, errlen)) ||
        (rc = make_tensor(l, UID_SCALE, CUDNN_DATA_FLOAT, one, one, true, &p->keep[4], err,
                          errlen)) ||
        (rc = make_op(l, p, &op, err, errlen)))
        goto out;
    p->keep[KEEP_OP] = op;
    if ((rc = dnn_graph(l, &op, 1, t, &graph, err, errlen)))
        goto out;
    p->keep[KEEP_GRAPH] = graph;
    rc = dnn_plan(l, graph, t, &planned, err, errlen);
    if (viable)
        *viable = planned.viable;
    p->plan = planned.plan;
    p->workspace = planned.workspace;
    p->keep[KEEP_HEUR] = planned.heur;
    p->keep[KEEP_CFG] = planned.cfg;
out:
    if (rc)
        snprintf(p->why, sizeof p->why, "%s", err);
    return rc;
}

static int build_plan(const struct cuda_libs *l, const struct cuda_sdpa_dnn_key *k,
                      struct dnn_plan *p, char *err, size_t errlen)
{
    const struct dnn_target target = { .handle = l->dnn_handle };

    return build_plan_for(l, k, &target, p, NULL, err, errlen);
}

int cuda_sdpa_dnn_viable(const struct cuda_libs *l, const struct cuda_sdpa_dnn_key *k,
                         const struct dnn_target *t, int64_t *viable, bool *planned, char *err,
                         size_t errlen)
{
    struct dnn_plan *p = calloc(1, sizeof *p);
    int rc;

    *viable = 0;
    *planned = false;
    if (!p) {
        snprintf(err, errlen, "out of memory for a cuDNN SDPA plan");
        return PICTOR_E_NOMEM;
    }
    p->libs = l;
    rc = build_plan_for(l, k, t, p, viable, err, errlen);
    *planned = p->plan != NULL;
    dnn_plan_free(p);
    return rc;
}

/* The cached plan of key, built on first use (NULL only when out of
 * memory; a plan without descriptor says why cuDNN cannot). */
static struct dnn_plan *plan_of(struct cuda_ctx *ctx, const struct cuda_sdpa_dnn_key *key,
                                char *err, size_t errlen)
{
    struct dnn_plan *p = plan_cache_get(ctx->sdpa.plans, key);

    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory for a cuDNN SDPA plan");
        return NULL;
    }
    p->libs = ctx->libs;
    if (build_plan(ctx->libs, key, p, err, errlen)) {
        /* Keep only the reason: the partial descriptors are not needed. */
        for (size_t i = 0; i < sizeof p->keep / sizeof p->keep[0]; i++) {
            dnn_destroy(p->libs, p->keep[i]);
            p->keep[i] = NULL;
        }
    }
    if (plan_cache_put(ctx->sdpa.plans, key, p)) { /* frees p */
        snprintf(err, errlen, "out of memory caching a cuDNN SDPA plan");
        return NULL;
    }
    return p;
}

int cuda_sdpa_dnn_probe(struct cuda_ctx *ctx, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct cuda_sdpa_state *s = &ctx->sdpa;
    struct cuda_sdpa_dnn_key key;
    struct dnn_plan *p;
    char why[320] = "";

    if (s->dnn == 0) {
        s->dnn = -1;
        if (!l || !l->dnn_handle) {
            snprintf(s->note, sizeof s->note, "cuDNN unusable: %.220s",
                     l ? l->dnn_error : "no library state");
        } else if (l->dnn_version < CUDA_SDPA_DNN_MIN_VERSION) {
            snprintf(s->note, sizeof s->note, "cuDNN %zu lacks the unified SDPA op (needs %d)",
                     l->dnn_version, CUDA_SDPA_DNN_MIN_VERSION);
        } else if (!(s->plans = plan_cache_create(sizeof key, CUDA_LIBS_MAX_PLANS,
                                                  dnn_plan_free))) {
            snprintf(s->note, sizeof s->note, "out of memory for the cuDNN SDPA plan cache");
        } else {
            cuda_sdpa_dnn_probe_key(&key);
            p = plan_of(ctx, &key, why, sizeof why);
            if (p && p->plan)
                s->dnn = 1;
            else
                snprintf(s->note, sizeof s->note,
                         "cuDNN %zu: no engine for the unified SDPA op (bf16, L 128, "
                         "D 128): %.160s",
                         l->dnn_version, p ? p->why : why);
        }
    }
    if (s->dnn > 0)
        return PICTOR_OK;
    snprintf(err, errlen, "%s", s->note);
    return PICTOR_E_UNSUPPORTED;
}

/* One candidate run of tuning (dnn_tune.h): the call's variant pack. */
struct sdpa_tune_run {
    const struct cuda_libs *l;
    const int64_t *uids;
    void *const *ptrs;
};

static int sdpa_tune_run(void *arg, cudnnBackendDescriptor_t plan, void *ws, char *err,
                         size_t errlen)
{
    const struct sdpa_tune_run *r = arg;

    return dnn_execute(r->l, plan, N_TENSORS, r->uids, r->ptrs, ws, err, errlen);
}

/* Times p's engine configs once per shape with this call's operands
 * (PICTOR_CUDA_DNN_TUNE=1, outside captures); a faster plan replaces
 * p->plan, the old one kept. */
static int sdpa_tune(struct cuda_ctx *ctx, struct dnn_plan *p, const struct pictor_op_args *a,
                     const int64_t *uids, void *const *ptrs, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct sdpa_tune_run r = { l, uids, ptrs };
    const struct dnn_tune_args ta = dnn_tune_args_of(ctx, sdpa_tune_run, &r);
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k;
    struct dnn_tuned t;
    char what[160];
    int rc;

    if (dnn_tune_capturing(ctx->stream))
        return PICTOR_OK;
    p->tuned = true;
    if ((rc = dnn_tune(l, p->keep[KEEP_GRAPH], p->plan, p->workspace, &ta, &t, err, errlen)))
        return rc;
    if (t.plan) {
        p->keep[KEEP_OLD_PLAN] = p->plan;
        p->keep[KEEP_TUNED_HEUR] = t.heur;
        p->keep[KEEP_TUNED_CFG] = t.cfg;
        p->plan = t.plan;
        p->workspace = t.workspace;
    }
    snprintf(what, sizeof what, "sdpa %s B %lld H %lld Lq %lld Lk %lld D %lld",
             pictor_dtype_name(q->dtype), (long long)q->shape[0], (long long)q->shape[1],
             (long long)q->shape[2], (long long)k->shape[2], (long long)q->shape[3]);
    dnn_tune_report(l, &t, t.plan != NULL, what);
    return PICTOR_OK;
}

int cuda_sdpa_dnn_run(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                      size_t errlen)
{
    const struct cuda_libs *l = ctx->libs;
    struct cuda_sdpa_dnn_key key;
    struct dnn_plan *p;
    const int64_t uids[N_TENSORS] = { UID_Q, UID_K, UID_V, UID_O, UID_SCALE };
    float scale = a->u.sdpa.scale; /* read by value during execute */
    void *const ptrs[N_TENSORS] = { a->u.sdpa.q->data, a->u.sdpa.k->data, a->u.sdpa.v->data,
                                    a->u.sdpa.o->data, &scale };
    void *ws = NULL, *scratch = NULL;
    int rc;

    cuda_sdpa_dnn_key_of(a, &key);
    p = plan_of(ctx, &key, err, errlen);
    if (!p)
        return PICTOR_E_NOMEM;
    if (!p->plan) {
        snprintf(err, errlen, "%s", p->why);
        return PICTOR_E_UNSUPPORTED;
    }
    if (l->dnn_tune && !p->tuned && (rc = sdpa_tune(ctx, p, a, uids, ptrs, err, errlen)))
        return rc;
    if (p->workspace > 0) {
        if ((size_t)p->workspace <= l->workspace_bytes)
            ws = l->workspace;
        else if ((rc = cuda_scratch_alloc(ctx, (size_t)p->workspace, "cuDNN SDPA workspace",
                                          &scratch, err, errlen)))
            return rc;
        else
            ws = scratch;
    }
    rc = dnn_execute(l, p->plan, N_TENSORS, uids, ptrs, ws, err, errlen);
    cuda_scratch_free(ctx, scratch); /* stream-ordered: after the kernels */
    return rc;
}

void cuda_sdpa_dnn_release(struct cuda_ctx *ctx)
{
    plan_cache_destroy(ctx->sdpa.plans);
    ctx->sdpa.plans = NULL;
}

#endif /* PICTOR_HAVE_CUDA */
