/*
 * kernels/cuda/cuda_upload.c — large host-to-device copies (weights at
 * load) through two pinned staging buffers: while one buffer is on its way
 * to the device, up to UPLOAD_THREADS threads copy the next piece of the
 * source into the other. The source is usually an mmapped safetensors file
 * in the page cache, whose single-threaded read (page faults and copy) is
 * what bounds the driver's own pageable-memory path; pinned buffers also
 * let the DMA run at the bus's speed. Built only with CUDA.
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdlib.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "cuda_internal.h"
#include "par_copy.h"

/* Bytes of one staging buffer (two are kept per backend, pinned). */
#define UPLOAD_CHUNK ((size_t)64 << 20)
/* Most threads one piece is copied with (fewer on small machines). */
#define UPLOAD_THREADS PAR_COPY_MAX_THREADS
/* Below this a copy takes the plain path (cudaMemcpyAsync + wait). */
#define UPLOAD_STAGED_MIN ((size_t)16 << 20)

struct cuda_upload_state {
    void *pinned[2];
    cudaEvent_t done[2]; /* the DMA out of pinned[k] finished */
    int threads;
};

void cuda_upload_release(struct cuda_ctx *c)
{
    struct cuda_upload_state *u = c->upload;
    if (!u)
        return;
    for (int k = 0; k < 2; k++) {
        if (u->done[k])
            cudaEventDestroy(u->done[k]);
        if (u->pinned[k])
            cudaFreeHost(u->pinned[k]);
    }
    free(u);
    c->upload = NULL;
}

/* The staging state, made at the first large upload; NULL when pinned
 * memory or events cannot be had (the plain path then serves). */
static struct cuda_upload_state *state(struct cuda_ctx *c)
{
    if (c->upload)
        return c->upload;
    struct cuda_upload_state *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    c->upload = u;
    for (int k = 0; k < 2; k++)
        if (cudaMallocHost(&u->pinned[k], UPLOAD_CHUNK) != cudaSuccess ||
            cudaEventCreateWithFlags(&u->done[k], cudaEventDisableTiming) != cudaSuccess) {
            cudaGetLastError();
            cuda_upload_release(c);
            return NULL;
        }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    u->threads = cores >= 2 * UPLOAD_THREADS ? UPLOAD_THREADS : cores > 2 ? (int)(cores / 2) : 1;
    return u;
}

int cuda_upload_bytes(struct cuda_ctx *c, void *dst, const void *src, size_t n)
{
    struct cuda_upload_state *u = n >= UPLOAD_STAGED_MIN ? state(c) : NULL;
    if (!u) {
        if (cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, c->stream) != cudaSuccess)
            return PICTOR_E_DEVICE;
        /* src is caller memory that may be reused at once: wait for the copy. */
        return cudaStreamSynchronize(c->stream) == cudaSuccess ? PICTOR_OK : PICTOR_E_DEVICE;
    }
    for (size_t off = 0, i = 0; off < n; off += UPLOAD_CHUNK, i++) {
        const int k = (int)(i & 1);
        const size_t len = n - off < UPLOAD_CHUNK ? n - off : UPLOAD_CHUNK;
        /* pinned[k] is free again once its previous DMA is done (an event
         * never recorded counts as done) */
        if (cudaEventSynchronize(u->done[k]) != cudaSuccess)
            return PICTOR_E_DEVICE;
        par_copy(u->pinned[k], (const char *)src + off, len, u->threads);
        if (cudaMemcpyAsync((char *)dst + off, u->pinned[k], len, cudaMemcpyHostToDevice,
                            c->stream) != cudaSuccess ||
            cudaEventRecord(u->done[k], c->stream) != cudaSuccess)
            return PICTOR_E_DEVICE;
    }
    return cudaStreamSynchronize(c->stream) == cudaSuccess ? PICTOR_OK : PICTOR_E_DEVICE;
}
#endif /* PICTOR_HAVE_CUDA */
