/*
 * pictor/backend_cuda.h — the CUDA backend's constructor. Present in every
 * build; without CUDA (CUDA=0, or no nvcc at build time) the constructor
 * reports that the build has no CUDA support.
 *
 * What the backend holds: one device, one stream, device memory through
 * cudaMallocAsync on that stream, a cuBLASLt handle and a 32 MiB workspace
 * for matmul, a cuDNN handle for conv2d (both libraries opened with dlopen
 * at creation: one that is missing makes only its op report why, and
 * conv2d then runs its own fallback kernel), and per-shape plan caches.
 * Ops are filled in slot by slot (one .cu per op, kernels/cuda/); a slot
 * not yet filled answers PICTOR_E_UNSUPPORTED with the op's name, never a
 * wrong result. Environment: PICTOR_CUDA_CONV_DIRECT=1 at creation puts
 * every conv2d on the fallback kernel (tests, diagnosis);
 * PICTOR_SDPA=flash|cudnn|auto at creation picks sdpa's path
 * (kernels/cuda/op_sdpa_internal.h): flash never uses cuDNN, cudnn makes a
 * cuDNN failure on a call cuDNN can express an error instead of a silent
 * fallback, auto (default) takes cuDNN where it has an engine;
 * PICTOR_FP8_SCALING=epilogue at creation makes FP8 linears apply their
 * scales with pictor's epilogue kernel after an f32 GEMM output even where
 * cuBLASLt could apply them (auto, the default: cuBLASLt's OUTER_VEC_32F
 * scaling on compute capability 9.0 with cuBLASLt 12.9+;
 * kernels/cuda/fp8_route.h).
 * Thread: [worker thread] — the worker that owns the device.
 */
#ifndef PICTOR_BACKEND_CUDA_H
#define PICTOR_BACKEND_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"

/* Whether this build includes the CUDA backend. */
bool pictor_cuda_available(void);

/* Opens GPU `device` (ordinal). NULL with a message in err when the build
 * has no CUDA, no driver or GPU is present, the ordinal is out of range,
 * or the GPU is older than compute capability 8.0. */
pictor_backend *pictor_backend_cuda_create(int device, char *err,
                                           size_t errlen);

/* Compute capability of the backend's GPU as major * 10 + minor (90 for an
 * H100); 0 for a backend that is not CUDA. */
int pictor_backend_cuda_sm(const pictor_backend *be);

/* One line for logs: device, compute capability, cuBLASLt and cuDNN
 * versions (run time and build time), or why cuDNN is unusable. "" for a
 * backend that is not CUDA. The string lives as long as the backend. */
const char *pictor_backend_cuda_describe(const pictor_backend *be);

/* Which path served the library-backed ops since the backend was created
 * (for tests and benchmarks: a fast path silently falling back shows here). */
struct pictor_cuda_stats {
    uint64_t matmul_calls;         /* matmul slot calls with work to do */
    uint64_t matmul_lt_launches;   /* cublasLtMatmul calls */
    uint64_t matmul_staged;        /* operands/outputs/biases copied through
                                      scratch (layout or dtype cuBLASLt lacks) */
    uint64_t matmul_bias_epilogue; /* biases fused as the cuBLASLt epilogue */
    uint64_t conv_calls;           /* conv2d slot calls with work to do */
    uint64_t conv_cudnn;           /* ... run by cuDNN (either API) */
    uint64_t conv_fused;           /* ... of which as a fused graph: conv +
                                      bias in one cuDNN call
                                      (kernels/cuda/op_conv2d_graph.h) */
    uint64_t conv_direct;          /* ... run by the fallback kernel */
    uint64_t conv_staged;          /* conv operands/outputs copied through
                                      scratch (layout, alignment) */
    uint64_t sdpa_calls;           /* sdpa slot calls with work to do */
    uint64_t sdpa_cudnn;           /* ... run by cuDNN's fused SDPA */
    uint64_t sdpa_flash;           /* ... run by the tensor-core flash kernel */
    uint64_t sdpa_gemm;            /* ... run as matmul, softmax, matmul
                                      (no mask, long keys: the VAE's) */
    uint64_t sdpa_generic;         /* ... run by the SIMT kernel (f32, FP8,
                                      mixed dtypes, other head dims) */
    uint64_t sdpa_staged;          /* q/k/v copied contiguous for the flash
                                      kernel (unaligned or strided views) */
    /* GEMM problems met for the first time (a plan built), by where their
     * cuBLASLt algorithms came from (pictor_backend_cuda_set_plan_dir): */
    uint64_t matmul_algo_hits;     /* the plan folder's file, accepted by
                                      cublasLtMatmulAlgoCheck */
    uint64_t matmul_algo_misses;   /* the heuristic (nothing stored, or the
                                      stored choice refused) */
    uint64_t matmul_algo_rejected; /* stored choices refused by the check or,
                                      at their first launch, by cublasLtMatmul
                                      (then searched: counted in misses too) */
    uint64_t graph_captures;       /* graphs captured and instantiated */
    uint64_t graph_launches;       /* graph replays queued */
    /* FP8 linears (E4M3 x E4M3 with per-token and per-channel scales), by
     * who applied the scales (kernels/cuda/fp8_route.h): */
    uint64_t matmul_fp8_outer_vec; /* cuBLASLt (OUTER_VEC_32F, sm_90): D
                                      written once, in y's dtype */
    uint64_t matmul_fp8_epilogue;  /* the epilogue kernel, after an f32 D */
    uint64_t matmul_act_epilogue;  /* activations fused as cuBLASLt's
                                      epilogue (tanh-GELU) */
    /* FP8 attention (pictor_sdpa_fp8, kernels/cuda/op_sdpa_fp8.h): */
    uint64_t sdpa_fp8_calls;       /* sdpa_fp8 slot calls with work to do */
    uint64_t sdpa_fp8_cudnn;       /* ... run by cuDNN's FP8 SDPA graph */
    uint64_t sdpa_fp8_staged;      /* q/k copied to 16-byte aligned scratch */
    /* Gated matmuls (pictor_linear_gated: c += gate * product), by where
     * the gate was applied (kernels/cuda/fp8_route.h): */
    uint64_t matmul_gate_outer_vec; /* folded into cuBLASLt's OUTER_VEC_32F
                                       scales and bias, C = D = c, beta 1 */
    uint64_t matmul_gate_epilogue;  /* the epilogue kernel, after an f32 D */
    uint64_t matmul_gate_unfused;   /* on sm_90 when cuBLASLt cannot
                                       accumulate: the OUTER_VEC product
                                       into bf16 scratch, then the
                                       gated-add kernel */
    /* cuDNN graphs whose engine configs were timed (PICTOR_CUDA_DNN_TUNE=1
     * or 2, kernels/cuda/dnn_tune.h): */
    uint64_t dnn_tuned;             /* graphs tuned */
    uint64_t dnn_tune_switched;     /* ... of which a faster config replaced
                                       the heuristics' first */
    uint64_t dnn_tune_timed;        /* engine configs timed in all (each
                                       graph's current plan included) */
    uint64_t matmul_gemv;           /* FP8 one-row matmuls run by the own
                                       GEMV kernel (kernels/cuda/op_matmul_gemv.cu) */
};

/* Keeps the cuBLASLt algorithm choices of this backend in folder dir, so a
 * restarted process does not search again: the file
 * dir/cublaslt-<GPU name>-sm<cc>.algos (one per GPU model; the format,
 * its checks and the atomic, locked saves: kernels/cuda/lt_algo_store.h)
 * is loaded now, a GEMM problem met for the first time takes its
 * algorithms from it when cublasLtMatmulAlgoCheck accepts them, and each
 * new choice is saved at once (a process killed with SIGKILL loses at most
 * the one in progress), the rest at destroy. Call right after create;
 * dir is created when missing (one level). NULL or "" stops keeping
 * (nothing is written). Backends on several GPUs of one model may share
 * dir: saves merge. err always receives one line for the log ("" for
 * none): how many choices were loaded, or why the file was ignored (made
 * for another GPU or cuBLASLt version, truncated, corrupt: it is rewritten
 * with fresh choices). Returns PICTOR_OK; PICTOR_E_IO when dir cannot be
 * created or written (the stored choices are still used, new ones are not
 * saved); PICTOR_E_UNSUPPORTED without cuBLASLt or in a build without
 * CUDA; PICTOR_E_INVALID when be is not a CUDA backend or the path is too
 * long. None of these is fatal: the backend works as without a folder.
 * [worker thread] */
int pictor_backend_cuda_set_plan_dir(pictor_backend *be, const char *dir, char *err,
                                     size_t errlen);

/* Whether channels-last f16/bf16 convolutions with a bias may run as a
 * fused cuDNN graph (kernels/cuda/op_conv2d_graph.h); the default comes
 * from PICTOR_CUDA_CONV_FUSED at creation (docs/configuration.md). For
 * comparisons (tests/gpu/test_vae_variants.c). PICTOR_E_INVALID when be is
 * not a CUDA backend. [worker thread] */
int pictor_backend_cuda_set_conv_fused(pictor_backend *be, bool on);

/* Copies the counters; PICTOR_E_INVALID when be is not a CUDA backend. */
int pictor_backend_cuda_stats(const pictor_backend *be,
                              struct pictor_cuda_stats *out);

#endif /* PICTOR_BACKEND_CUDA_H */
