/*
 * kernels/cpu/op_embedding.c — table lookup on the CPU:
 * y[..., :] = table[ids[...], :] (torch.nn.Embedding). ids are I32 or I64
 * of any shape and strides; every id is checked against [0, V) before
 * anything is written, and the first bad one fails the op with
 * PICTOR_E_INVALID naming its value and flat position. Rows are copied
 * through f32 (table and y any float dtypes/strides), in parallel.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

struct emb_job {
    const pictor_tensor *table, *ids;
    pictor_tensor *y;
    int64_t D;
    atomic_int failed;
};

/* The id at flat position n of ids. */
static int64_t id_at(const pictor_tensor *ids, int64_t n)
{
    int64_t es = (int64_t)pictor_dtype_size(ids->dtype);
    const char *p = (const char *)ids->data + cpu_offset_of(ids, n) * es;

    if (ids->dtype == PICTOR_I32) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void emb_chunk(void *arg, int64_t begin, int64_t end)
{
    struct emb_job *j = arg;
    float *row = malloc((size_t)j->D * sizeof(float));

    if (!row) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (int64_t n = begin; n < end; n++) {
        int64_t id = id_at(j->ids, n);

        cpu_load_range(j->table, id * j->D, (id + 1) * j->D, row);
        cpu_store_range(j->y, n * j->D, (n + 1) * j->D, row, false);
    }
    free(row);
}

int cpu_op_embedding(void *vctx, const struct pictor_op_args *args,
                     char *err, size_t errlen)
{
    struct emb_job job = { .table = args->u.embedding.table,
                           .ids = args->u.embedding.ids,
                           .y = args->u.embedding.y };
    int64_t V = job.table->shape[0], n = pictor_tensor_numel(job.ids);

    job.D = job.table->shape[1];
    for (int64_t i = 0; i < n; i++) {
        int64_t id = id_at(job.ids, i);

        if (id < 0 || id >= V) {
            snprintf(err, errlen, "embedding: id %lld at position %lld is "
                     "outside [0, %lld)", (long long)id, (long long)i,
                     (long long)V);
            return PICTOR_E_INVALID;
        }
    }
    if (n == 0 || job.D == 0)
        return PICTOR_OK;
    atomic_init(&job.failed, 0);
    cpu_parallel_for(vctx, n, CPU_GRAIN / job.D > 1 ? CPU_GRAIN / job.D : 1,
                     emb_chunk, &job);
    if (atomic_load(&job.failed)) {
        snprintf(err, errlen, "embedding: out of memory for a row of %lld",
                 (long long)job.D);
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}
