/*
 * kernels/cuda/op_conv2d_graph.c — a convolution with its bias and
 * residual fused, as a cuDNN operation graph (op_conv2d_graph.h).
 * Every descriptor goes into the plan's bag as soon as it exists.
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <string.h>

#include "op_conv2d_graph.h"

/* Unique ids of the real tensors (variant-pack keys); virtual from 100. */
enum { UID_X = 1, UID_W, UID_B, UID_R, UID_Y, UID_VIRTUAL = 100 };
#define MAX_OPS 3

void cuda_conv_packed_strides(const int64_t d[4], bool channels_last, int64_t s[4])
{
    if (channels_last) {
        s[1] = 1;
        s[3] = d[1];
        s[2] = d[3] * d[1];
        s[0] = d[2] * d[3] * d[1];
    } else {
        s[3] = 1;
        s[2] = d[3];
        s[1] = d[2] * d[3];
        s[0] = d[1] * d[2] * d[3];
    }
}

/* A packed tensor {N, C, H, W} of the key's layout, in the bag. */
static int tensor(struct dnn_bag *bag, const struct cuda_conv_graph_key *k, int64_t uid,
                  int dtype, const int64_t d[4], bool virt, cudnnBackendDescriptor_t *out,
                  char *err, size_t errlen)
{
    int64_t s[4];

    cuda_conv_packed_strides(d, k->channels_last, s);
    const struct dnn_tensor_spec spec = { .uid = uid, .dtype = dnn_data_type(dtype), .ndim = 4,
                                          .dims = d, .strides = s, .is_virtual = virt };
    return dnn_bag_tensor(bag, &spec, out, err, errlen);
}

/* The convolution descriptor of key k. */
static int conv_desc(struct dnn_bag *bag, const struct cuda_conv_graph_key *k,
                     cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    const struct cuda_libs *l = bag->l;
    const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    const int64_t spatial = 2, dil[2] = { 1, 1 }, str[2] = { k->stride_h, k->stride_w };
    const int64_t pad[2] = { k->pad_h, k->pad_w };
    cudnnBackendDescriptor_t c;
    int rc;

    if ((rc = dnn_bag_new(bag, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, &c, err, errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp,
                      err, errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1,
                      &mode, err, errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial,
                      err, errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dil, err,
                      errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, str, err,
                      errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err,
                      errlen)) ||
        (rc = DNN_SET(l, c, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad, err,
                      errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(c), err, errlen)))
        return rc;
    *out = c;
    return PICTOR_OK;
}

/* The fprop operation x * w -> y. */
static int conv_op(struct dnn_bag *bag, cudnnBackendDescriptor_t cd, cudnnBackendDescriptor_t x,
                   cudnnBackendDescriptor_t w, cudnnBackendDescriptor_t y,
                   cudnnBackendDescriptor_t *out, char *err, size_t errlen)
{
    const struct cuda_libs *l = bag->l;
    const float alpha = 1.0f, beta = 0.0f;
    cudnnBackendDescriptor_t op;
    int rc;

    if ((rc = dnn_bag_new(bag, CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR, &op, err,
                          errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x, err, errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w, err, errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y, err, errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cd, err, errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1,
                      &alpha, err, errlen)) ||
        (rc = DNN_SET(l, op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1,
                      &beta, err, errlen)) ||
        (rc = DNN_CHECK(l, l->dnn.cudnnBackendFinalize(op), err, errlen)))
        return rc;
    *out = op;
    return PICTOR_OK;
}

/* The graph's operations into ops[0..*n). */
static int build_ops(struct dnn_bag *bag, const struct cuda_conv_graph_key *k,
                     cudnnBackendDescriptor_t ops[MAX_OPS], int *n, char *err, size_t errlen)
{
    const int64_t oh = (k->h + 2 * k->pad_h - k->kh) / k->stride_h + 1;
    const int64_t ow = (k->w + 2 * k->pad_w - k->kw) / k->stride_w + 1;
    const int64_t xd[4] = { k->n, k->cin, k->h, k->w }, wd[4] = { k->cout, k->cin, k->kh, k->kw };
    const int64_t yd[4] = { k->n, k->cout, oh, ow }, bd[4] = { 1, k->cout, 1, 1 };
    const bool bias = k->bdtype >= 0, res = k->rdtype >= 0;
    int64_t vuid = UID_VIRTUAL;
    cudnnBackendDescriptor_t x, w, y, cd, c, b = NULL, r = NULL, t;
    int rc;

    *n = 0;
    rc = tensor(bag, k, UID_X, k->xdtype, xd, false, &x, err, errlen);
    rc = rc ? rc : tensor(bag, k, UID_W, k->xdtype, wd, false, &w, err, errlen);
    rc = rc ? rc : tensor(bag, k, UID_Y, k->ydtype, yd, false, &y, err, errlen);
    if (!rc && bias)
        rc = tensor(bag, k, UID_B, k->bdtype, bd, false, &b, err, errlen);
    if (!rc && res)
        rc = tensor(bag, k, UID_R, k->rdtype, yd, false, &r, err, errlen);
    /* The convolution writes y itself when nothing follows it. */
    c = y;
    if (!rc && (bias || res))
        rc = tensor(bag, k, vuid++, PICTOR_F32, yd, true, &c, err, errlen);
    rc = rc ? rc : conv_desc(bag, k, &cd, err, errlen);
    rc = rc ? rc : conv_op(bag, cd, x, w, c, &ops[(*n)++], err, errlen);
    if (!rc && bias) {
        t = y;
        if (res && (rc = tensor(bag, k, vuid++, PICTOR_F32, yd, true, &t, err, errlen)))
            return rc;
        rc = dnn_bag_pointwise(bag, CUDNN_POINTWISE_ADD, c, b, t, &ops[(*n)++], err, errlen);
        c = t;
    }
    if (!rc && res)
        rc = dnn_bag_pointwise(bag, CUDNN_POINTWISE_ADD, c, r, y, &ops[(*n)++], err, errlen);
    return rc;
}

int cuda_conv_graph_build(const struct cuda_libs *l, const struct cuda_conv_graph_key *key,
                          const struct dnn_target *t, struct dnn_graph_plan *p, char *err,
                          size_t errlen)
{
    cudnnBackendDescriptor_t ops[MAX_OPS];
    int n = 0;

    dnn_graph_plan_init(p, l, err);
    int rc = build_ops(&p->bag, key, ops, &n, err, errlen);

    return dnn_graph_plan_finish(p, rc, ops, n, t, "cuDNN convolution graph", err, errlen);
}

int cuda_conv_graph_execute(const struct cuda_libs *l, const struct dnn_graph_plan *p,
                            const struct cuda_conv_graph_io *io, char *err, size_t errlen)
{
    return cuda_conv_graph_execute_plan(l, p->plan, io, err, errlen);
}

int cuda_conv_graph_execute_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t plan,
                                 const struct cuda_conv_graph_io *io, char *err, size_t errlen)
{
    int64_t uids[5] = { UID_X, UID_W, UID_Y };
    void *ptrs[5] = { (void *)io->x, (void *)io->w, io->y };
    int n = 3;

    if (io->b) {
        uids[n] = UID_B;
        ptrs[n++] = (void *)io->b;
    }
    if (io->r) {
        uids[n] = UID_R;
        ptrs[n++] = (void *)io->r;
    }
    return dnn_execute(l, plan, n, uids, ptrs, io->workspace, err, errlen);
}

#endif /* PICTOR_HAVE_CUDA */
