/*
 * kernels/cuda/dnn_graph.c — cuDNN backend-API helpers (dnn_graph.h).
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <string.h>

#include "dnn_graph.h"

cudnnDataType_t dnn_data_type(int dtype)
{
    switch (dtype) {
    case PICTOR_F16:
        return CUDNN_DATA_HALF;
    case PICTOR_BF16:
        return CUDNN_DATA_BFLOAT16;
    default:
        return CUDNN_DATA_FLOAT;
    }
}

void dnn_destroy(const struct cuda_libs *l, cudnnBackendDescriptor_t d)
{
    if (d)
        l->dnn.cudnnBackendDestroyDescriptor(d);
}

/* A new descriptor of `type` (caller destroys it). */
static int create(const struct cuda_libs *l, cudnnBackendDescriptorType_t type,
                  cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    *out = NULL;
    return DNN_CHECK(l, l->dnn.cudnnBackendCreateDescriptor(type, out), err, errlen);
}

int dnn_tensor(const struct cuda_libs *l, const struct dnn_tensor_spec *s,
               cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    cudnnBackendDescriptor_t t;
    int64_t align = DNN_TENSOR_ALIGN;
    bool yes = true;
    int rc = create(l, CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t, err, errlen);

    *out = NULL;
    if (rc)
        return rc;
    if ((rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &s->dtype, err,
                      errlen)) ||
        (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, s->ndim, s->dims,
                      err, errlen)) ||
        (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, s->ndim, s->strides,
                      err, errlen)) ||
        (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &s->uid, err,
                      errlen)) ||
        (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align, err,
                      errlen)) ||
        (s->by_value && (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN,
                                      1, &yes, err, errlen))) ||
        (s->is_virtual && (rc = DNN_SET(l, t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN,
                                        1, &yes, err, errlen))) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(t), err, errlen))) {
        dnn_destroy(l, t);
        return rc;
    }
    *out = t;
    return PICTOR_OK;
}

int dnn_graph(const struct cuda_libs *l, const cudnnBackendDescriptor_t *ops, int n,
              const struct dnn_target *t, cudnnBackendDescriptor_t *out, char *err,
              size_t errlen)
{
    cudnnBackendDescriptor_t g;
    int rc = create(l, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &g, err, errlen);

    *out = NULL;
    if (rc)
        return rc;
    if ((rc = DNN_SET(l, g, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n, ops,
                      err, errlen)) ||
        (t->handle && (rc = DNN_SET(l, g, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1,
                                    &t->handle, err, errlen))) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(g), err, errlen))) {
        dnn_destroy(l, g);
        return rc;
    }
    *out = g;
    return PICTOR_OK;
}

int dnn_devprop_from_json(const struct cuda_libs *l, const char *json,
                          cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    cudnnBackendDescriptor_t d;
    int rc = create(l, CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR, &d, err, errlen);

    *out = NULL;
    if (rc)
        return rc;
    if ((rc = DNN_SET(l, d, CUDNN_ATTR_DEVICEPROP_JSON_REPRESENTATION, CUDNN_TYPE_CHAR,
                      (int64_t)strlen(json), json, err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(d), err, errlen))) {
        dnn_destroy(l, d);
        return rc;
    }
    *out = d;
    return PICTOR_OK;
}

int dnn_plan_of_config(const struct cuda_libs *l, cudnnBackendDescriptor_t cfg,
                       const struct dnn_target *t, cudnnBackendDescriptor_t *out, int64_t *ws,
                       char *err, size_t errlen)
{
    cudnnBackendDescriptor_t plan;
    int64_t cnt = 0;
    int rc = create(l, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan, err, errlen);

    *out = NULL;
    if (rc)
        return rc;
    if ((t->handle ? (rc = DNN_SET(l, plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE,
                                   1, &t->handle, err, errlen))
                   : (rc = DNN_SET(l, plan, CUDNN_ATTR_EXECUTION_PLAN_DEVICEPROP,
                                   CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &t->devprop, err,
                                   errlen))) ||
        (rc = DNN_SET(l, plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg, err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(plan), err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendGetAttribute(
                               plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64,
                               1, &cnt, ws),
                        err, errlen))) {
        dnn_destroy(l, plan);
        return rc;
    }
    *out = plan;
    return PICTOR_OK;
}

int dnn_heur_configs(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
                     const struct dnn_target *t, cudnnBackendHeurMode_t mode,
                     cudnnBackendDescriptor_t *heur, cudnnBackendDescriptor_t cfg[DNN_MAX_CONFIGS],
                     int64_t *got, char *err, size_t errlen)
{
    int64_t n = 0;
    int rc;

    *got = 0;
    for (int i = 0; i < DNN_MAX_CONFIGS; i++)
        cfg[i] = NULL;
    if ((rc = create(l, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, heur, err, errlen)))
        return rc;
    if ((rc = DNN_SET(l, *heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &g, err, errlen)) ||
        (rc = DNN_SET(l, *heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode, err,
                      errlen)) ||
        (t->devprop && (rc = DNN_SET(l, *heur, CUDNN_ATTR_ENGINEHEUR_DEVICEPROP,
                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &t->devprop, err,
                                     errlen))) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(*heur), err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendGetAttribute(*heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                           CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &n,
                                                           NULL),
                        err, errlen)))
        return rc;
    if (n > DNN_MAX_CONFIGS)
        n = DNN_MAX_CONFIGS;
    for (int64_t i = 0; i < n && !rc; i++)
        rc = create(l, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfg[i], err, errlen);
    if (rc || n == 0)
        return rc;
    /* n counts every engine; the results are those that pass cuDNN's
     * support checks for this graph and device. */
    return DNN_CHECK(l, l->dnn.cudnnBackendGetAttribute(*heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                        CUDNN_TYPE_BACKEND_DESCRIPTOR, n, got,
                                                        cfg),
                     err, errlen);
}

void dnn_keep_config(const struct cuda_libs *l, cudnnBackendDescriptor_t heur,
                     cudnnBackendDescriptor_t cfg[DNN_MAX_CONFIGS], int64_t chosen,
                     cudnnBackendDescriptor_t *heur_out, cudnnBackendDescriptor_t *cfg_out)
{
    for (int64_t i = 0; i < DNN_MAX_CONFIGS; i++) {
        if (i == chosen)
            *cfg_out = cfg[i];
        else
            dnn_destroy(l, cfg[i]);
    }
    if (chosen >= 0)
        *heur_out = heur;
    else
        dnn_destroy(l, heur);
}

/* Tries the engine configs heuristics `mode` offers for graph g; on success
 * out->plan, workspace, heur and cfg are set. An empty list leaves
 * out->plan NULL with PICTOR_OK; err keeps the latest failure. Adds the
 * number of configs returned to out->viable. */
static int try_mode(const struct cuda_libs *l, cudnnBackendDescriptor_t g,
                    const struct dnn_target *t, cudnnBackendHeurMode_t mode,
                    struct dnn_plan_out *out, char *err, size_t errlen)
{
    cudnnBackendDescriptor_t heur = NULL, cfg[DNN_MAX_CONFIGS];
    int64_t got = 0, chosen = -1;
    int rc = dnn_heur_configs(l, g, t, mode, &heur, cfg, &got, err, errlen);

    if (!rc)
        out->viable += got;
    for (int64_t i = 0; !rc && i < got && chosen < 0; i++) {
        /* A config that does not finalize is skipped (err keeps why). */
        if (dnn_plan_of_config(l, cfg[i], t, &out->plan, &out->workspace, err, errlen) ==
            PICTOR_OK)
            chosen = i;
    }
    dnn_keep_config(l, heur, cfg, chosen, &out->heur, &out->cfg);
    return rc;
}

int dnn_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t g, const struct dnn_target *t,
             struct dnn_plan_out *out, char *err, size_t errlen)
{
    static const cudnnBackendHeurMode_t modes[] = { CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK };
    const size_t nmodes = sizeof modes / sizeof modes[0];
    int rc = PICTOR_OK;

    memset(out, 0, sizeof *out);
    err[0] = '\0';
    for (size_t m = 0; m < nmodes && !out->plan; m++) {
        /* A mode that fails outright is skipped: the next may answer. */
        int hrc = try_mode(l, g, t, modes[m], out, err, errlen);

        if (hrc && m + 1 == nmodes)
            rc = hrc;
    }
    if (out->plan)
        return PICTOR_OK;
    if (!rc) {
        if (!err[0])
            snprintf(err, errlen, "cuDNN heuristics offered no engine configuration");
        rc = PICTOR_E_UNSUPPORTED;
    }
    return rc;
}

/* ---- bag ----------------------------------------------------------------- */

void dnn_bag_init(struct dnn_bag *b, const struct cuda_libs *l)
{
    memset(b, 0, sizeof *b);
    b->l = l;
}

int dnn_bag_add(struct dnn_bag *b, cudnnBackendDescriptor_t d, char *err, size_t errlen)
{
    if (b->n == DNN_BAG_MAX) {
        dnn_destroy(b->l, d);
        snprintf(err, errlen, "more than %d cuDNN descriptors in one graph (DNN_BAG_MAX)",
                 DNN_BAG_MAX);
        return PICTOR_E_INVALID;
    }
    b->d[b->n++] = d;
    return PICTOR_OK;
}

int dnn_bag_new(struct dnn_bag *b, cudnnBackendDescriptorType_t type,
                cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    int rc = create(b->l, type, out, err, errlen);

    if (!rc && (rc = dnn_bag_add(b, *out, err, errlen)))
        *out = NULL;
    return rc;
}

void dnn_bag_free(struct dnn_bag *b)
{
    while (b->n > 0)
        dnn_destroy(b->l, b->d[--b->n]);
}

int dnn_bag_tensor(struct dnn_bag *b, const struct dnn_tensor_spec *s,
                   cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    int rc = dnn_tensor(b->l, s, out, err, errlen);

    if (!rc && (rc = dnn_bag_add(b, *out, err, errlen)))
        *out = NULL;
    return rc;
}

int dnn_bag_pointwise(struct dnn_bag *b, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                      cudnnBackendDescriptor_t bd, cudnnBackendDescriptor_t y,
                      cudnnBackendDescriptor_t *op, char *err, size_t errlen)
{
    const struct cuda_libs *l = b->l;
    cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t pw;
    int rc;

    *op = NULL;
    if ((rc = dnn_bag_new(b, CUDNN_BACKEND_POINTWISE_DESCRIPTOR, &pw, err, errlen)) ||
        (rc = DNN_SET(l, pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode, err,
                      errlen)) ||
        (rc = DNN_SET(l, pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec, err,
                      errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(pw), err, errlen)) ||
        (rc = dnn_bag_new(b, CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, op, err, errlen)) ||
        (rc = DNN_SET(l, *op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &pw, err, errlen)) ||
        (rc = DNN_SET(l, *op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x, err, errlen)) ||
        (bd && (rc = DNN_SET(l, *op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
                             CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &bd, err, errlen))) ||
        (rc = DNN_SET(l, *op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y, err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(*op), err, errlen)))
        *op = NULL;
    return rc;
}

int dnn_bag_plan(struct dnn_bag *b, const cudnnBackendDescriptor_t *ops, int n,
                 const struct dnn_target *t, cudnnBackendDescriptor_t *plan, int64_t *workspace,
                 int64_t *viable, cudnnBackendDescriptor_t *graph_out, char *err, size_t errlen)
{
    struct dnn_plan_out planned = { 0 };
    cudnnBackendDescriptor_t graph = NULL, got[3];
    int rc, arc = PICTOR_OK;

    *plan = NULL;
    *workspace = 0;
    *viable = 0;
    if (graph_out)
        *graph_out = NULL;
    if ((rc = dnn_graph(b->l, ops, n, t, &graph, err, errlen)) ||
        (rc = dnn_bag_add(b, graph, err, errlen)))
        return rc;
    if (graph_out)
        *graph_out = graph;
    rc = dnn_plan(b->l, graph, t, &planned, err, errlen);
    *viable = planned.viable;
    /* The bag takes the results in creation order: heuristics, engine
     * config, plan (NULL ones are left out). */
    got[0] = planned.heur, got[1] = planned.cfg, got[2] = planned.plan;
    for (int i = 0; i < 3; i++)
        if (got[i] && dnn_bag_add(b, got[i], err, errlen))
            arc = PICTOR_E_INVALID; /* destroyed by dnn_bag_add */
    if (!rc && arc)
        rc = arc;
    if (!rc) {
        *plan = planned.plan;
        *workspace = planned.workspace;
    }
    return rc;
}

void dnn_graph_plan_init(struct dnn_graph_plan *p, const struct cuda_libs *l, char *err)
{
    memset(p, 0, sizeof *p);
    dnn_bag_init(&p->bag, l);
    err[0] = '\0';
}

int dnn_graph_plan_finish(struct dnn_graph_plan *p, int rc, const cudnnBackendDescriptor_t *ops,
                          int n, const struct dnn_target *t, const char *what, char *err,
                          size_t errlen)
{
    cudnnBackendDescriptor_t plan = NULL;

    if (!rc)
        rc = dnn_bag_plan(&p->bag, ops, n, t, &plan, &p->workspace, &p->viable, &p->graph,
                          err, errlen);
    p->plan = plan;
    if (rc)
        snprintf(p->why, sizeof p->why, "%s%s", err[0] ? err : what, err[0] ? "" : " failed");
    return rc;
}

void dnn_graph_plan_release(struct dnn_graph_plan *p)
{
    dnn_bag_free(&p->bag);
    p->plan = NULL;
    p->graph = NULL;
}

int dnn_execute(const struct cuda_libs *l, cudnnBackendDescriptor_t plan, int n,
                const int64_t *uids, void *const *ptrs, void *workspace, char *err,
                size_t errlen)
{
    cudnnBackendDescriptor_t vp = NULL;
    int rc = create(l, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp, err, errlen);

    if (!rc &&
        !(rc = DNN_SET(l, vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids, err,
                       errlen)) &&
        !(rc = DNN_SET(l, vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n,
                       ptrs, err, errlen)) &&
        !(rc = DNN_SET(l, vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1,
                       &workspace, err, errlen)) &&
        !(rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(vp), err, errlen)))
        rc = DNN_CHECK(l, l->dnn.cudnnBackendExecute(l->dnn_handle, plan, vp), err, errlen);
    dnn_destroy(l, vp);
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
