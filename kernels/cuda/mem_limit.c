/* kernels/cuda/mem_limit.c — see mem_limit.h. */
#include "mem_limit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "pictor/backend.h"

#ifdef PICTOR_HAVE_CUDA
#include <cuda_runtime.h>
#endif

int cuda_mem_limit_parse(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (!s || *s < '0' || *s > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    int shift = 0;
    switch (*p) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return -1;
    }
    if (*p && p[1])
        return -1;
    if (v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

static uint64_t g_limit;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void read_limit(void)
{
    const char *s = getenv("PICTOR_CUDA_MEMORY_LIMIT");
    if (s && *s && cuda_mem_limit_parse(s, &g_limit) != 0) {
        fprintf(stderr, "pictor: PICTOR_CUDA_MEMORY_LIMIT=%.64s is not a size (e.g. 20G): "
                "ignored\n", s);
        g_limit = 0;
    }
}

uint64_t cuda_mem_limit(void)
{
    pthread_once(&g_once, read_limit);
    return g_limit;
}

#ifdef PICTOR_HAVE_CUDA
int cuda_mem_admit(int device, size_t bytes, char *err, size_t errlen)
{
    uint64_t limit = cuda_mem_limit(), used = 0;
    cudaMemPool_t pool;
    if (!limit)
        return PICTOR_OK;
    if (cudaDeviceGetDefaultMemPool(&pool, device) != cudaSuccess ||
        cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used) != cudaSuccess)
        return PICTOR_OK; /* nothing to measure against: the driver decides */
    if (used + bytes <= limit)
        return PICTOR_OK;
    if (err && errlen)
        snprintf(err, errlen, "out of device memory: %zu more bytes would exceed "
                 "PICTOR_CUDA_MEMORY_LIMIT (%.2f GB; %.2f GB in use)", bytes,
                 (double)limit / 1e9, (double)used / 1e9);
    return PICTOR_E_NOMEM;
}
#endif
