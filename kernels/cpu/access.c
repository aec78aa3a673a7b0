/*
 * kernels/cpu/access.c — operand access for the CPU ops: strided tensors of
 * any dtype read as f32 (cpu_gather_f32, cpu_load_*) and written from f32
 * (cpu_scatter_f32, cpu_store_*). See cpu_internal.h and cpu_block.h.
 *
 * Everything walks segments (runs inside one innermost row, one stride);
 * a unit-stride segment converts with one pictor_row_* call.
 * FP8 reads apply t->scale and, when set, t->row_scale[i] for index i of
 * dimension 0 (a 0-d tensor ignores row_scale). FP8 writes divide by
 * t->scale only (the pictor_copy rule: row_scale is ignored on output).
 * Integers convert by value.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/convert.h"
#include "pictor/tensor_util.h"

int64_t cpu_offset_of(const pictor_tensor *t, int64_t n)
{
    int64_t off = 0;

    for (int d = t->ndim - 1; d >= 0 && n > 0; d--) {
        int64_t size = t->shape[d];

        off += (n % size) * t->stride[d];
        n /= size;
    }
    return off;
}

int64_t cpu_row_len(const pictor_tensor *t)
{
    return t->ndim ? t->shape[t->ndim - 1] : 1;
}

int64_t cpu_seg_len(int64_t row_len, int64_t i, int64_t end)
{
    int64_t cnt = row_len - i % row_len;

    if (cnt > end - i)
        cnt = end - i;
    if (cnt > CPU_BLOCK)
        cnt = CPU_BLOCK;
    return cnt;
}

static bool is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

/* Element stride of the innermost dim (1 for a 0-d tensor). */
static int64_t inner_stride(const pictor_tensor *t)
{
    return t->ndim ? t->stride[t->ndim - 1] : 1;
}

static void apply_row_scale(const pictor_tensor *t, int64_t i, int64_t cnt,
                            float *dst)
{
    if (t->ndim == 1) { /* the innermost dim is dimension 0 itself */
        for (int64_t j = 0; j < cnt; j++)
            dst[j] *= t->row_scale[i + j];
        return;
    }
    /* All cnt elements share one index along dimension 0. */
    int64_t per_d0 = pictor_tensor_numel(t) / t->shape[0];
    float rs = t->row_scale[i / per_d0];

    for (int64_t j = 0; j < cnt; j++)
        dst[j] *= rs;
}

void cpu_load_seg(const pictor_tensor *t, int64_t i, int64_t cnt, float *dst)
{
    size_t es = pictor_dtype_size(t->dtype);
    int64_t stride = inner_stride(t);
    const char *p = (const char *)t->data + cpu_offset_of(t, i) * (int64_t)es;

    if (stride == 1 || cnt == 1) {
        pictor_row_to_f32(dst, p, t->dtype, (size_t)cnt, t->scale);
    } else if (t->dtype == PICTOR_F32) {
        for (int64_t j = 0; j < cnt; j++)
            memcpy(&dst[j], p + j * stride * (int64_t)sizeof(float),
                   sizeof(float));
    } else {
        for (int64_t j = 0; j < cnt; j++)
            pictor_row_to_f32(dst + j, p + j * stride * (int64_t)es, t->dtype,
                              1, t->scale);
    }
    if (is_fp8(t->dtype) && t->row_scale && t->ndim > 0)
        apply_row_scale(t, i, cnt, dst);
}

void cpu_store_seg(pictor_tensor *t, int64_t i, int64_t cnt, const float *src,
                   bool saturate)
{
    size_t es = pictor_dtype_size(t->dtype);
    int64_t stride = inner_stride(t);
    char *p = (char *)t->data + cpu_offset_of(t, i) * (int64_t)es;

    if (stride == 1 || cnt == 1) {
        pictor_row_from_f32(p, t->dtype, src, (size_t)cnt, t->scale,
                            saturate);
    } else if (t->dtype == PICTOR_F32) {
        for (int64_t j = 0; j < cnt; j++)
            memcpy(p + j * stride * (int64_t)sizeof(float), &src[j],
                   sizeof(float));
    } else {
        for (int64_t j = 0; j < cnt; j++)
            pictor_row_from_f32(p + j * stride * (int64_t)es, t->dtype,
                                src + j, 1, t->scale, saturate);
    }
}

void cpu_load_range(const pictor_tensor *t, int64_t begin, int64_t end,
                    float *dst)
{
    int64_t len = cpu_row_len(t), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        cnt = cpu_seg_len(len, i, end);
        cpu_load_seg(t, i, cnt, dst + (i - begin));
    }
}

void cpu_store_range(pictor_tensor *t, int64_t begin, int64_t end,
                     const float *src, bool saturate)
{
    int64_t len = cpu_row_len(t), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        cnt = cpu_seg_len(len, i, end);
        cpu_store_seg(t, i, cnt, src + (i - begin), saturate);
    }
}

float *cpu_gather_f32(const pictor_tensor *t, bool *owned)
{
    return cpu_gather_f32_mt(NULL, t, owned);
}

void cpu_release(float *p, bool owned)
{
    if (owned)
        free(p);
}

void cpu_scatter_f32(pictor_tensor *dst, const float *src, bool saturate)
{
    cpu_scatter_f32_mt(NULL, dst, src, saturate);
}

struct access_job {
    const pictor_tensor *t;
    pictor_tensor *out_t;
    float *buf;
    const float *src;
    bool saturate;
};

static void gather_chunk(void *arg, int64_t begin, int64_t end)
{
    struct access_job *j = arg;

    cpu_load_range(j->t, begin, end, j->buf + begin);
}

static void scatter_chunk(void *arg, int64_t begin, int64_t end)
{
    struct access_job *j = arg;

    cpu_store_range(j->out_t, begin, end, j->src + begin, j->saturate);
}

float *cpu_gather_f32_mt(struct cpu_ctx *ctx, const pictor_tensor *t,
                         bool *owned)
{
    int64_t numel = pictor_tensor_numel(t);
    struct access_job job = { .t = t };

    if (t->dtype == PICTOR_F32 && pictor_tensor_is_contiguous(t)) {
        *owned = false;
        return t->data;
    }
    /* Never malloc(0): NULL must mean out of memory. */
    job.buf = malloc((size_t)(numel > 0 ? numel : 1) * sizeof(float));
    if (!job.buf)
        return NULL;
    *owned = true;
    cpu_parallel_for(ctx, numel, CPU_GRAIN, gather_chunk, &job);
    return job.buf;
}

void cpu_scatter_f32_mt(struct cpu_ctx *ctx, pictor_tensor *dst,
                        const float *src, bool saturate)
{
    struct access_job job = { .out_t = dst, .src = src,
                              .saturate = saturate };

    cpu_parallel_for(ctx, pictor_tensor_numel(dst), CPU_GRAIN, scatter_chunk,
                     &job);
}
