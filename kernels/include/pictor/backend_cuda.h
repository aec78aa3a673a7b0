/*
 * pictor/backend_cuda.h — the CUDA backend's constructor. Present in every
 * build; without CUDA (CUDA=0, or no nvcc at build time) the constructor
 * reports that the build has no CUDA support.
 *
 * What the backend holds: one device, one stream, device memory through
 * cudaMallocAsync on that stream. Ops are filled in slot by slot (one .cu
 * per op, kernels/cuda/); a slot not yet filled answers
 * PICTOR_E_UNSUPPORTED with the op's name, never a wrong result.
 * Thread: [worker thread] — the worker that owns the device.
 */
#ifndef PICTOR_BACKEND_CUDA_H
#define PICTOR_BACKEND_CUDA_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/backend.h"

/* Whether this build includes the CUDA backend. */
bool pictor_cuda_available(void);

/* Opens GPU `device` (ordinal). NULL with a message in err when the build
 * has no CUDA, no driver or GPU is present, the ordinal is out of range,
 * or the GPU is older than compute capability 8.0. */
pictor_backend *pictor_backend_cuda_create(int device, char *err,
                                           size_t errlen);

#endif /* PICTOR_BACKEND_CUDA_H */
