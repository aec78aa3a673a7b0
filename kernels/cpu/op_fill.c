/*
 * kernels/cpu/op_fill.c — y[...] = value for a tensor of any dtype and any
 * strides. The value is rounded once to the output dtype (as pictor_copy
 * would round it) and its bytes replicated, so every element is identical.
 */
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/convert.h"
#include "pictor/tensor_util.h"

struct fill_job {
    pictor_tensor *y;
    unsigned char elem[8]; /* one encoded element (i64 is the widest) */
    size_t esize;
};

static void fill_chunk(void *arg, int64_t begin, int64_t end)
{
    struct fill_job *j = arg;
    pictor_tensor *y = j->y;
    int64_t len = cpu_row_len(y), stride = y->ndim ? y->stride[y->ndim - 1] : 1;
    int64_t cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        char *p = (char *)y->data + cpu_offset_of(y, i) * (int64_t)j->esize;

        cnt = cpu_seg_len(len, i, end);
        for (int64_t k = 0; k < cnt; k++)
            memcpy(p + k * stride * (int64_t)j->esize, j->elem, j->esize);
    }
}

/* Contiguous f32: a plain store loop the compiler vectorises. */
static void fill_f32_chunk(void *arg, int64_t begin, int64_t end)
{
    struct fill_job *j = arg;
    float *y = j->y->data, v;

    memcpy(&v, j->elem, sizeof v);
    for (int64_t i = begin; i < end; i++)
        y[i] = v;
}

int cpu_op_fill(void *vctx, const struct pictor_op_args *a, char *err,
                size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    pictor_tensor *y = a->u.fill.y;
    float v = a->u.fill.value;
    struct fill_job job = { .y = y, .esize = pictor_dtype_size(y->dtype) };

    /* Encode through the same path as stores: FP8 divides by y->scale and
     * overflows as torch's fill_ does (NaN / inf, no saturation). */
    pictor_row_from_f32(job.elem, y->dtype, &v, 1, y->scale, false);
    if (y->dtype == PICTOR_F32 && pictor_tensor_is_contiguous(y))
        cpu_parallel_for(ctx, pictor_tensor_numel(y), CPU_GRAIN,
                         fill_f32_chunk, &job);
    else
        cpu_parallel_for(ctx, pictor_tensor_numel(y), CPU_GRAIN, fill_chunk,
                         &job);
    return PICTOR_OK;
}
