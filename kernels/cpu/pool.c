/*
 * kernels/cpu/pool.c — the CPU backend's persistent thread pool and
 * cpu_parallel_for.
 *
 * A pool of n_threads has n_threads - 1 worker threads; the calling thread
 * is the last participant. cpu_parallel_for splits [0, n) into
 * k = min(n_threads, ceil(n / grain)) chunks with fixed boundaries
 * (chunk i = [n*i/k, n*(i+1)/k)), so the same call always hands the same
 * ranges to the same participants: results never depend on timing.
 * Chunk 0 runs on the caller, chunk i >= 1 on worker i - 1.
 *
 * Synchronisation: one mutex guards the job fields; workers sleep on `wake`
 * until `generation` changes, the caller sleeps on `done` until `pending`
 * (workers still busy with this generation) reaches zero. Every shared field
 * is read or written under the mutex only.
 * Thread: one caller at a time (the backend's owner); not re-entrant.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cpu_internal.h"

struct cpu_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* generation changed or stop set */
    pthread_cond_t done; /* pending reached zero */
    pthread_t *threads;
    int n_workers;
    int n_started;

    /* The current job, valid for one generation; guarded by mu. */
    uint64_t generation;
    int pending;
    bool stop;
    int n_chunks;
    int64_t n;
    void (*fn)(void *arg, int64_t begin, int64_t end);
    void *arg;
};

struct cpu_worker_arg {
    struct cpu_pool *pool;
    int index; /* 0-based worker index: runs chunk index + 1 */
};

static void chunk_range(int64_t n, int k, int i, int64_t *begin, int64_t *end)
{
    *begin = n / k * i + (n % k) * i / k;
    *end = n / k * (i + 1) + (n % k) * (i + 1) / k;
}

static void *cpu_worker_main(void *varg)
{
    struct cpu_worker_arg *wa = varg;
    struct cpu_pool *pool = wa->pool;
    int index = wa->index;
    uint64_t seen = 0;

    free(wa);
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->mu);
        if (pool->stop)
            break;
        seen = pool->generation;

        int chunk = index + 1;
        if (chunk < pool->n_chunks) {
            int64_t n = pool->n, begin, end;
            int k = pool->n_chunks;
            void (*fn)(void *, int64_t, int64_t) = pool->fn;
            void *arg = pool->arg;

            pthread_mutex_unlock(&pool->mu);
            chunk_range(n, k, chunk, &begin, &end);
            fn(arg, begin, end);
            pthread_mutex_lock(&pool->mu);
            if (--pool->pending == 0)
                pthread_cond_signal(&pool->done);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

struct cpu_pool *cpu_pool_create(int n_threads)
{
    struct cpu_pool *pool;

    if (n_threads < 2)
        return NULL;
    pool = calloc(1, sizeof *pool);
    if (!pool)
        goto err;
    pool->n_workers = n_threads - 1;
    pool->threads = calloc((size_t)pool->n_workers, sizeof *pool->threads);
    if (!pool->threads)
        goto err_free_pool;
    if (pthread_mutex_init(&pool->mu, NULL))
        goto err_free_threads;
    if (pthread_cond_init(&pool->wake, NULL))
        goto err_destroy_mu;
    if (pthread_cond_init(&pool->done, NULL))
        goto err_destroy_wake;

    for (int i = 0; i < pool->n_workers; i++) {
        struct cpu_worker_arg *wa = malloc(sizeof *wa);

        if (!wa)
            goto err_stop;
        wa->pool = pool;
        wa->index = i;
        if (pthread_create(&pool->threads[i], NULL, cpu_worker_main, wa)) {
            free(wa);
            goto err_stop;
        }
        pool->n_started++;
    }
    return pool;

err_stop:
    cpu_pool_destroy(pool); /* joins the started workers, frees the rest */
    return NULL;
err_destroy_wake:
    pthread_cond_destroy(&pool->wake);
err_destroy_mu:
    pthread_mutex_destroy(&pool->mu);
err_free_threads:
    free(pool->threads);
err_free_pool:
    free(pool);
err:
    return NULL;
}

void cpu_pool_destroy(struct cpu_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->n_started; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mu);
    free(pool->threads);
    free(pool);
}

void cpu_parallel_for(struct cpu_ctx *ctx, int64_t n, int64_t grain,
                      void (*fn)(void *arg, int64_t begin, int64_t end),
                      void *arg)
{
    struct cpu_pool *pool = ctx ? ctx->pool : NULL;
    int64_t max_chunks, begin, end;
    int k;

    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    /* k <= floor(n / grain) keeps every chunk (floor or ceil of n / k
     * elements) at least grain long. */
    max_chunks = n / grain;
    k = pool ? pool->n_workers + 1 : 1;
    if (max_chunks < k)
        k = (int)max_chunks;
    if (k <= 1) {
        fn(arg, 0, n);
        return;
    }

    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->n_chunks = k;
    pool->pending = k - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);

    chunk_range(n, k, 0, &begin, &end);
    fn(arg, begin, end);

    pthread_mutex_lock(&pool->mu);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
