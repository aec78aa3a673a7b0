/*
 * kernels/cuda/op_sdpa_fp8_graph.c — cuDNN's FP8 SDPA composite graph
 * from C, its plan and its execution (op_sdpa_fp8_graph.h has the graph).
 * Every descriptor goes into the plan's bag as soon as it exists, so a
 * failure anywhere leaves nothing to undo but the bag.
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <string.h>

#include "op_sdpa_fp8_graph.h"

/* Unique ids of the graph's real tensors (the variant pack's keys), in
 * variant-pack order; virtual tensors count up from UID_VIRTUAL. */
enum {
    UID_Q = 1,
    UID_K,
    UID_V,
    UID_O,
    UID_ATTN_SCALE,
    UID_DESCALE_Q,
    UID_DESCALE_K,
    UID_DESCALE_V,
    UID_DESCALE_S,
    UID_SCALE_S,
    UID_SCALE_O,
    UID_AMAX_S,
    UID_AMAX_O,
    N_IO = UID_AMAX_O,
    UID_VIRTUAL = 100
};
/* Operations in the graph (18 with the Stats branch). */
#define MAX_OPS 24

/* The graph being built. */
struct gb {
    const struct cuda_libs *l;
    struct dnn_bag *bag;
    cudnnBackendDescriptor_t ops[MAX_OPS];
    int nops;
    int64_t next_uid; /* of the next virtual tensor */
    char *err;
    size_t errlen;
};

/* A tensor of the graph, in the bag. */
static int tensor(struct gb *g, int64_t uid, cudnnDataType_t dt, const int64_t dims[4],
                  const int64_t strides[4], bool by_value, bool is_virtual,
                  cudnnBackendDescriptor_t *out)
{
    const struct dnn_tensor_spec s = { .uid = uid, .dtype = dt, .ndim = 4, .dims = dims,
                                       .strides = strides, .by_value = by_value,
                                       .is_virtual = is_virtual };

    return dnn_bag_tensor(g->bag, &s, out, g->err, g->errlen);
}

/* Packed strides of dims (row-major). */
static void packed(const int64_t dims[4], int64_t strides[4])
{
    strides[3] = 1;
    for (int d = 2; d >= 0; d--)
        strides[d] = strides[d + 1] * dims[d + 1];
}

/* A virtual tensor {d0, d1, d2, d3} of dt, packed. */
static int vtensor(struct gb *g, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                   cudnnDataType_t dt, cudnnBackendDescriptor_t *out)
{
    const int64_t dims[4] = { d0, d1, d2, d3 };
    int64_t strides[4];

    packed(dims, strides);
    return tensor(g, g->next_uid++, dt, dims, strides, false, true, out);
}

/* A real f32 {1,1,1,1} scalar (device memory unless by_value). */
static int scalar(struct gb *g, int64_t uid, bool by_value, cudnnBackendDescriptor_t *out)
{
    static const int64_t one[4] = { 1, 1, 1, 1 };

    return tensor(g, uid, CUDNN_DATA_FLOAT, one, one, by_value, false, out);
}

/* Appends the finalized op to the graph's operations. */
static int append(struct gb *g, cudnnBackendDescriptor_t op)
{
    if (g->nops == MAX_OPS) {
        snprintf(g->err, g->errlen, "FP8 SDPA graph: more than %d operations", MAX_OPS);
        return PICTOR_E_INVALID;
    }
    g->ops[g->nops++] = op;
    return PICTOR_OK;
}

/* Finalizes op and appends it to the graph's operations. */
static int add_op(struct gb *g, cudnnBackendDescriptor_t op)
{
    int rc = DNN_CHECK(g->l, g->l->dnn.cudnnBackendFinalize(op), g->err, g->errlen);

    return rc ? rc : append(g, op);
}

/* y = mode(x[, b]) in f32. */
static int pointwise(struct gb *g, cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t x,
                     cudnnBackendDescriptor_t b, cudnnBackendDescriptor_t y)
{
    cudnnBackendDescriptor_t op;
    int rc = dnn_bag_pointwise(g->bag, mode, x, b, y, &op, g->err, g->errlen);

    return rc ? rc : append(g, op);
}

/* y = mode-reduction of x over the dims where y has 1, in f32. */
static int reduction(struct gb *g, cudnnReduceTensorOp_t mode, cudnnBackendDescriptor_t x,
                     cudnnBackendDescriptor_t y)
{
    const struct cuda_libs *l = g->l;
    cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t r, op;
    int rc;

    if ((rc = dnn_bag_new(g->bag, CUDNN_BACKEND_REDUCTION_DESCRIPTOR, &r, g->err, g->errlen)) ||
        (rc = DNN_SET(l, r, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1,
                      &mode, g->err, g->errlen)) ||
        (rc = DNN_SET(l, r, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec,
                      g->err, g->errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(r), g->err, g->errlen)) ||
        (rc = dnn_bag_new(g->bag, CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR, &op, g->err,
                          g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x, g->err, g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y, g->err, g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                      1, &r, g->err, g->errlen)))
        return rc;
    return add_op(g, op);
}

/* c = a @ b (batched over the first two dims), accumulated in f32. */
static int matmul(struct gb *g, cudnnBackendDescriptor_t a, cudnnBackendDescriptor_t b,
                  cudnnBackendDescriptor_t c)
{
    const struct cuda_libs *l = g->l;
    cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t m, op;
    int rc;

    if ((rc = dnn_bag_new(g->bag, CUDNN_BACKEND_MATMUL_DESCRIPTOR, &m, g->err, g->errlen)) ||
        (rc = DNN_SET(l, m, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &prec, g->err,
                      g->errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(m), g->err, g->errlen)) ||
        (rc = dnn_bag_new(g->bag, CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR, &op, g->err,
                          g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &a, g->err, g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &b, g->err, g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &c, g->err, g->errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_MATMUL_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &m, g->err, g->errlen)))
        return rc;
    return add_op(g, op);
}

/* The operations of the graph (op_sdpa_fp8_graph.h) into g->ops. */
static int build_ops(struct gb *g, const struct cuda_sdpa_fp8_key *k,
                     enum cuda_sdpa_fp8_graph_kind kind)
{
    const cudnnDataType_t f8 = CUDNN_DATA_FP8_E4M3, f32 = CUDNN_DATA_FLOAT;
    const int64_t B = k->B, H = k->H, Lq = k->Lq, Lk = k->Lk, D = k->D;
    const int64_t qd[4] = { B, H, Lq, D }, vd[4] = { B, H, Lk, D };
    /* K^T: K's own memory seen as {B, H, D, Lk}. */
    const int64_t ktd[4] = { B, H, D, Lk }, kts[4] = { k->ks[0], k->ks[1], k->ks[3], k->ks[2] };
    int64_t vs[4], os[4];
    cudnnBackendDescriptor_t q = NULL, kt = NULL, v = NULL, o = NULL, attn = NULL, dq = NULL;
    cudnnBackendDescriptor_t dk = NULL, dv = NULL, ds = NULL, ss = NULL, so = NULL;
    cudnnBackendDescriptor_t amax_s = NULL, amax_o = NULL, s1 = NULL, s2 = NULL, s3 = NULL;
    cudnnBackendDescriptor_t s4 = NULL, mx = NULL, s5 = NULL, e = NULL, z = NULL, lz = NULL;
    cudnnBackendDescriptor_t st = NULL, p = NULL, p8 = NULL, o1 = NULL, o2 = NULL, o3 = NULL;
    int rc;

    packed(vd, vs);
    packed(qd, os);
    rc = tensor(g, UID_Q, f8, qd, k->qs, false, false, &q);
    rc = rc ? rc : tensor(g, UID_K, f8, ktd, kts, false, false, &kt);
    rc = rc ? rc : tensor(g, UID_V, f8, vd, vs, false, false, &v);
    rc = rc ? rc : tensor(g, UID_O, f8, qd, os, false, false, &o);
    rc = rc ? rc : scalar(g, UID_ATTN_SCALE, true, &attn);
    rc = rc ? rc : scalar(g, UID_DESCALE_Q, false, &dq);
    rc = rc ? rc : scalar(g, UID_DESCALE_K, false, &dk);
    rc = rc ? rc : scalar(g, UID_DESCALE_V, false, &dv);
    rc = rc ? rc : scalar(g, UID_DESCALE_S, false, &ds);
    rc = rc ? rc : scalar(g, UID_SCALE_S, false, &ss);
    rc = rc ? rc : scalar(g, UID_SCALE_O, false, &so);
    rc = rc ? rc : scalar(g, UID_AMAX_S, false, &amax_s);
    rc = rc ? rc : scalar(g, UID_AMAX_O, false, &amax_o);
    if (rc)
        return rc;

    /* Scores: Q K^T, then the scale and both descales. */
    rc = vtensor(g, B, H, Lq, Lk, f32, &s1);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &s2);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &s3);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &s4);
    rc = rc ? rc : matmul(g, q, kt, s1);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, s1, attn, s2);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, s2, dq, s3);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, s3, dk, s4);
    /* Softmax over keys, with the Stats branch the engines expect. */
    rc = rc ? rc : vtensor(g, B, H, Lq, 1, f32, &mx);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &s5);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &e);
    rc = rc ? rc : vtensor(g, B, H, Lq, 1, f32, &z);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f32, &p);
    rc = rc ? rc : reduction(g, CUDNN_REDUCE_TENSOR_MAX, s4, mx);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_SUB, s4, mx, s5);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_EXP, s5, NULL, e);
    rc = rc ? rc : reduction(g, CUDNN_REDUCE_TENSOR_ADD, e, z);
    if (kind != CUDA_SDPA_FP8_GRAPH_NO_STATS) {
        rc = rc ? rc : vtensor(g, B, H, Lq, 1, f32, &lz);
        rc = rc ? rc : vtensor(g, B, H, Lq, 1, f32, &st);
        rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_LOG, z, NULL, lz);
        rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_ADD, mx, lz, st);
    }
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_DIV, e, z, p);
    /* P's amax, then its E4M3 codes times scale_s. */
    rc = rc ? rc : reduction(g, CUDNN_REDUCE_TENSOR_AMAX, p, amax_s);
    rc = rc ? rc : vtensor(g, B, H, Lq, Lk, f8, &p8);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, p, ss, p8);
    /* P8 V, descaled, scaled into O; O's amax before scale_o. */
    rc = rc ? rc : vtensor(g, B, H, Lq, D, f32, &o1);
    rc = rc ? rc : vtensor(g, B, H, Lq, D, f32, &o2);
    rc = rc ? rc : vtensor(g, B, H, Lq, D, f32, &o3);
    rc = rc ? rc : matmul(g, p8, v, o1);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, o1, ds, o2);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, o2, dv, o3);
    rc = rc ? rc : pointwise(g, CUDNN_POINTWISE_MUL, o3, so, o);
    rc = rc ? rc : reduction(g, CUDNN_REDUCE_TENSOR_AMAX, o3, amax_o);
    return rc;
}

int cuda_sdpa_fp8_plan_build(const struct cuda_libs *l, const struct cuda_sdpa_fp8_key *key,
                             const struct dnn_target *t, enum cuda_sdpa_fp8_graph_kind kind,
                             struct dnn_graph_plan *p, char *err, size_t errlen)
{
    struct gb g = { .l = l, .bag = &p->bag, .next_uid = UID_VIRTUAL, .err = err,
                    .errlen = errlen };

    dnn_graph_plan_init(p, l, err);
    int rc = build_ops(&g, key, kind);

    return dnn_graph_plan_finish(p, rc, g.ops, g.nops, t, "cuDNN FP8 SDPA graph", err, errlen);
}

int cuda_sdpa_fp8_execute(const struct cuda_libs *l, const struct dnn_graph_plan *p,
                          const struct cuda_sdpa_fp8_io *io, char *err, size_t errlen)
{
    return cuda_sdpa_fp8_execute_plan(l, p->plan, io, err, errlen);
}

int cuda_sdpa_fp8_execute_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t plan,
                               const struct cuda_sdpa_fp8_io *io, char *err, size_t errlen)
{
    static const int64_t uids[N_IO] = {
        UID_Q,         UID_K,         UID_V,         UID_O,       UID_ATTN_SCALE,
        UID_DESCALE_Q, UID_DESCALE_K, UID_DESCALE_V, UID_DESCALE_S, UID_SCALE_S,
        UID_SCALE_O,   UID_AMAX_S,    UID_AMAX_O,
    };
    float attn = io->attn_scale; /* read by value during execute */
    float *sc = io->scalars;
    const int n = CUDA_SDPA_FP8_SLOT_FLOATS;
    void *ptrs[N_IO] = {
        (void *)io->q,              (void *)io->k,              (void *)io->v8,
        io->o8,                     &attn,                      sc + FP8_SLOT_DESCALE_Q * n,
        sc + FP8_SLOT_DESCALE_K * n, sc + FP8_SLOT_DESCALE_V * n, sc + FP8_SLOT_DESCALE_S * n,
        sc + FP8_SLOT_SCALE_S * n,  sc + FP8_SLOT_SCALE_O * n,  sc + FP8_SLOT_AMAX_S * n,
        sc + FP8_SLOT_AMAX_O * n,
    };

    return dnn_execute(l, plan, N_IO, uids, ptrs, io->workspace, err, errlen);
}

#endif /* PICTOR_HAVE_CUDA */
