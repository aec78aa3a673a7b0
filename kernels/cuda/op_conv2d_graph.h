/*
 * kernels/cuda/op_conv2d_graph.h — a 2-D convolution with its epilogue
 * fused, as a cuDNN backend-API operation graph built from plain C (the
 * legacy-API path and the fallback kernel are op_conv2d.c):
 *
 *   C = conv_fprop(X {N,Cin,H,W}, W {Cout,Cin,KH,KW})   virtual f32
 *   T = C + B {1,Cout,1,1}                                when has_bias
 *   Y = T + R {N,Cout,OH,OW}                              when has_residual
 *
 * X, W, R and Y all packed NCHW (filters KCRS) or all channels-last (NHWC,
 * filters KRSC); X and W both f16 or both bf16; B, R and Y each f32,
 * f16 or bf16. Intermediates are virtual f32, so Y is rounded once from
 * f32, as the CPU twin does. op_conv2d.c builds conv + bias only: with R
 * (the VAE's f32 residual stream) cuDNN offers engines whose plans load a
 * kernel module at finalize, runtime-compiled ones by all signs, at a
 * first-use cost not measured yet (docs/benchmarks.md).
 *
 * Planned for a target (dnn_graph.h): a handle to run it, or a devprop
 * descriptor to ask cuDNN's heuristics without a GPU
 * (tests/unit/test_conv_dnn_plan.c checks in `make test` that they offer
 * engines at the FLUX VAE's shapes on an H100 and a B200).
 * Built only with CUDA (PICTOR_HAVE_CUDA). Thread: the owner of l.
 */
#ifndef PICTOR_OP_CONV2D_GRAPH_H
#define PICTOR_OP_CONV2D_GRAPH_H

#ifdef PICTOR_HAVE_CUDA
#include <stdbool.h>
#include <stdint.h>

#include "dnn_graph.h"

/* Packed strides s of a tensor of dims d {N, C, H, W}: channels-last
 * (NHWC; KRSC for filters) or NCHW (KCRS), in elements. */
void cuda_conv_packed_strides(const int64_t d[4], bool channels_last, int64_t s[4]);

/* What the graph computes (memset to 0 before filling: a plan cache key). */
struct cuda_conv_graph_key {
    int32_t xdtype;              /* PICTOR_F16 or PICTOR_BF16: X and W */
    int32_t bdtype, rdtype;      /* B's and R's dtypes, or -1 without them */
    int32_t ydtype;              /* PICTOR_F32, PICTOR_F16 or PICTOR_BF16 */
    int32_t channels_last;       /* 1: NHWC/KRSC, 0: NCHW/KCRS */
    int32_t stride_h, stride_w, pad_h, pad_w;
    int64_t n, cin, h, w, cout, kh, kw;
};

/* Builds and plans the graph of key for target t into *p. PICTOR_OK with
 * p->plan set; else p->plan is NULL, p->why and err say why, and the
 * status is PICTOR_E_UNSUPPORTED when cuDNN has no engine config that
 * finalizes (deviceless with the driver stub never finalizes: p->viable
 * tells whether engines were offered) or the error of a failing cuDNN
 * call. Either way call dnn_graph_plan_release. */
int cuda_conv_graph_build(const struct cuda_libs *l, const struct cuda_conv_graph_key *key,
                          const struct dnn_target *t, struct dnn_graph_plan *p, char *err,
                          size_t errlen);

/* The memory one execution reads and writes (device pointers, 16-byte
 * aligned, packed in the key's layout; b and r NULL without them). */
struct cuda_conv_graph_io {
    const void *x, *w, *b, *r;
    void *y;
    void *workspace; /* p->workspace bytes, or NULL when 0 */
};

/* Queues the planned graph (built with the handle of l) on its stream. */
int cuda_conv_graph_execute(const struct cuda_libs *l, const struct dnn_graph_plan *p,
                            const struct cuda_conv_graph_io *io, char *err, size_t errlen);

/* The same with execution plan `plan` of such a graph (dnn_tune's
 * candidates), io->workspace sized for it. */
int cuda_conv_graph_execute_plan(const struct cuda_libs *l, cudnnBackendDescriptor_t plan,
                                 const struct cuda_conv_graph_io *io, char *err, size_t errlen);

#endif /* PICTOR_HAVE_CUDA */
#endif /* PICTOR_OP_CONV2D_GRAPH_H */
