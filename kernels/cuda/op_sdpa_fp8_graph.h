/*
 * kernels/cuda/op_sdpa_fp8_graph.h — cuDNN's FP8 SDPA as a backend-API
 * operation graph built from plain C (op_sdpa_fp8.h has the whole op).
 *
 * The graph is the composite cudnn-frontend's sdpa_fp8 lowers to
 * (node/scaled_dot_product_flash_attention.h CompositeSDPANode with
 * mma_core_mode FP8_E4M3, node/softmax.h, node/matmul_fp8.h), the form
 * cuDNN's fused FP8 flash engines recognise. All intermediates are
 * virtual f32 unless said otherwise; Q, K, V, O are E4M3; the scales are
 * device f32 {1,1,1,1} tensors except attn_scale (by value):
 *
 *   S  = matmul(Q {B,H,Lq,D}, K^T {B,H,D,Lk})   K^T: K's view, dims and
 *        * attn_scale * descale_q * descale_k    strides of L, D swapped
 *   M  = max_j S          {B,H,Lq,1}
 *   E  = exp(S - M);  Z = sum_j E
 *   Stats = M + log Z     virtual: no engine without this branch
 *   P  = E / Z
 *   Amax_S = amax(P)      a real output: no engine without it
 *   P8 = P * scale_s      virtual E4M3
 *   O' = matmul(P8, V {B,H,Lk,D}) * descale_s * descale_v
 *   O  = O' * scale_o     E4M3;  Amax_O = amax(O') (required likewise)
 *
 * Q and K carry the call's strides (the key); V and O are contiguous
 * [B, H, L, D] scratch. Planned for a target (dnn_graph.h): a handle to run
 * it, or a devprop descriptor to ask cuDNN's heuristics without a GPU —
 * tests/unit/test_sdpa_fp8_dnn_plan.c checks in `make test` that they
 * offer engines for this graph and none for one without the Stats branch.
 * Built only with CUDA (PICTOR_HAVE_CUDA). Thread: the owner of l.
 */
#ifndef PICTOR_OP_SDPA_FP8_GRAPH_H
#define PICTOR_OP_SDPA_FP8_GRAPH_H

#ifdef PICTOR_HAVE_CUDA
#include <stdint.h>

#include "dnn_graph.h"
#include "op_sdpa_fp8.h"

/* Which graph to build: the op's, or (tests only) one that lacks what
 * cuDNN's engines require, to show that their absence is detected. */
enum cuda_sdpa_fp8_graph_kind {
    CUDA_SDPA_FP8_GRAPH = 0,
    CUDA_SDPA_FP8_GRAPH_NO_STATS, /* without the Stats = M + log Z branch */
};

/* Builds and plans the graph of key for target t into *p (any previous
 * content is ignored: release it first). PICTOR_OK with p->plan set; else
 * p->plan is NULL, p->why and err say why, and the status is
 * PICTOR_E_UNSUPPORTED when cuDNN has no engine config that finalizes (a
 * deviceless target never finalizes with the driver stub, which cannot
 * load modules: p->viable tells whether engines were offered) or the
 * error of a failing cuDNN call. Either way p holds descriptors: call
 * dnn_graph_plan_release. */
int cuda_sdpa_fp8_plan_build(const struct cuda_libs *l, const struct cuda_sdpa_fp8_key *key,
                             const struct dnn_target *t, enum cuda_sdpa_fp8_graph_kind kind,
                             struct dnn_graph_plan *p, char *err, size_t errlen);

/* The memory one execution reads and writes (device pointers). */
struct cuda_sdpa_fp8_io {
    const void *q, *k;  /* E4M3 at the key's strides, 16-byte aligned */
    const void *v8;     /* E4M3 contiguous [B, H, Lk, D] */
    void *o8;           /* E4M3 contiguous [B, H, Lq, D] */
    float *scalars;     /* FP8_SLOT_* slots (op_sdpa_fp8.h) */
    void *workspace;    /* p->workspace bytes, or NULL when 0 */
    float attn_scale;   /* the call's scale, passed by value */
};

/* Queues the planned graph (p->plan set, built with the handle of l) on
 * the handle's stream. */
int cuda_sdpa_fp8_execute(const struct cuda_libs *l, const struct dnn_graph_plan *p,
                          const struct cuda_sdpa_fp8_io *io, char *err, size_t errlen);

/* The same with execution plan `plan` of such a graph (dnn_tune's
 * candidates), io->workspace sized for it. */
int cuda_sdpa_fp8_execute_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t plan,
                               const struct cuda_sdpa_fp8_io *io, char *err, size_t errlen);

#endif /* PICTOR_HAVE_CUDA */
#endif /* PICTOR_OP_SDPA_FP8_GRAPH_H */
