/*
 * kernels/cuda/par_copy.c — memcpy over several threads (par_copy.h).
 */
#include "par_copy.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define PAGE ((size_t)4096)

struct copy_part {
    char *dst;
    const char *src;
    size_t n;
};

static void *copy_part_run(void *arg)
{
    struct copy_part *p = arg;
    memcpy(p->dst, p->src, p->n);
    return NULL;
}

static int clamp_threads(int threads)
{
    return threads < 1 ? 1 : threads > PAR_COPY_MAX_THREADS ? PAR_COPY_MAX_THREADS : threads;
}

size_t par_copy_part_bytes(size_t n, int threads)
{
    const size_t t = (size_t)clamp_threads(threads);
    const size_t per = n / t + (n % t != 0); /* ceil: the parts reach n */
    return (per + PAGE - 1) & ~(PAGE - 1);
}

void par_copy(char *dst, const char *src, size_t n, int threads)
{
    struct copy_part part[PAR_COPY_MAX_THREADS];
    pthread_t tid[PAR_COPY_MAX_THREADS];
    bool started[PAR_COPY_MAX_THREADS] = {false};
    const size_t per = par_copy_part_bytes(n, threads);
    int used = 0;

    if (n == 0)
        return;
    for (size_t off = 0; off < n; off += per, used++)
        part[used] = (struct copy_part){dst + off, src + off, n - off < per ? n - off : per};
    for (int t = 1; t < used; t++)
        started[t] = pthread_create(&tid[t], NULL, copy_part_run, &part[t]) == 0;
    copy_part_run(&part[0]);
    for (int t = 1; t < used; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            copy_part_run(&part[t]);
    }
}
