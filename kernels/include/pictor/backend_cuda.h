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
 * fallback, auto (default) takes cuDNN where it has an engine.
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
    uint64_t conv_cudnn;           /* ... run by cudnnConvolutionForward */
    uint64_t conv_direct;          /* ... run by the fallback kernel */
    uint64_t conv_staged;          /* conv operands/outputs copied through
                                      scratch (layout, alignment) */
    uint64_t sdpa_calls;           /* sdpa slot calls with work to do */
    uint64_t sdpa_cudnn;           /* ... run by cuDNN's fused SDPA */
    uint64_t sdpa_flash;           /* ... run by the tensor-core flash kernel */
    uint64_t sdpa_generic;         /* ... run by the SIMT kernel (f32, FP8,
                                      mixed dtypes, other head dims) */
    uint64_t sdpa_staged;          /* q/k/v copied contiguous for the flash
                                      kernel (unaligned or strided views) */
};

/* Copies the counters; PICTOR_E_INVALID when be is not a CUDA backend. */
int pictor_backend_cuda_stats(const pictor_backend *be,
                              struct pictor_cuda_stats *out);

#endif /* PICTOR_BACKEND_CUDA_H */
