/*
 * kernels/cuda/mem_limit.h — an operator's cap on the device memory the
 * CUDA backend allocates: PICTOR_CUDA_MEMORY_LIMIT (bytes, or with a K, M,
 * G or T suffix, powers of 1024; read once per process), e.g. to share a
 * GPU or to see how a job fails when memory runs out. Every allocation of
 * the backend (tensors and scratch) is admitted against the bytes in use
 * in the device's default memory pool (cudaMemPoolAttrUsedMemCurrent), so
 * a refused allocation is the same clear PICTOR_E_NOMEM as a real
 * cudaErrorMemoryAllocation and the process goes on.
 * Thread: any (the limit is read under pthread_once).
 */
#ifndef PICTOR_CUDA_MEM_LIMIT_H
#define PICTOR_CUDA_MEM_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Parses a limit: digits with an optional K/M/G/T suffix (case-blind,
 * powers of 1024). 0 on success; -1 for anything else (empty, signs,
 * spaces, overflow, a value of 0). Pure C: unit-tested on the CPU. */
int cuda_mem_limit_parse(const char *s, uint64_t *out);

/* The limit in bytes (0: none; a malformed value in the environment is
 * reported once on stderr and ignored). */
uint64_t cuda_mem_limit(void);

#ifdef PICTOR_HAVE_CUDA
/* PICTOR_OK when `bytes` more fit under the limit on `device`, else
 * PICTOR_E_NOMEM with a message naming the limit in err. */
int cuda_mem_admit(int device, size_t bytes, char *err, size_t errlen);
#endif

#endif /* PICTOR_CUDA_MEM_LIMIT_H */
