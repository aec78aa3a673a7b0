/*
 * kernels/cpu/op_copy.c — strided copy with dtype conversion (torch's
 * .to() / .copy_()), split over the flat index range.
 *
 * Three paths, most faithful first:
 *   - same dtype and no rescaling: bytes move unchanged (NaN payloads and
 *     all), one memcpy per unit-stride segment;
 *   - integer to integer: by value through int64 (i64 -> i32 wraps modulo
 *     2^32, as a two's-complement narrowing cast does);
 *   - everything else: through f32 blocks (load: FP8 scale and row_scale;
 *     store: FP8 divides by dst->scale, saturating when asked).
 */
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

struct copy_job {
    const pictor_tensor *src;
    pictor_tensor *dst;
    bool saturate;
};

static int64_t inner_stride(const pictor_tensor *t)
{
    return t->ndim ? t->stride[t->ndim - 1] : 1;
}

static void copy_raw_chunk(void *arg, int64_t begin, int64_t end)
{
    struct copy_job *j = arg;
    size_t es = pictor_dtype_size(j->dst->dtype);
    int64_t len = cpu_row_len(j->dst), ss = inner_stride(j->src),
            ds = inner_stride(j->dst), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        const char *s = (const char *)j->src->data +
                        cpu_offset_of(j->src, i) * (int64_t)es;
        char *d = (char *)j->dst->data + cpu_offset_of(j->dst, i) * (int64_t)es;

        cnt = cpu_seg_len(len, i, end);
        if (ss == 1 && ds == 1) {
            memmove(d, s, (size_t)cnt * es);
            continue;
        }
        for (int64_t k = 0; k < cnt; k++)
            memcpy(d + k * ds * (int64_t)es, s + k * ss * (int64_t)es, es);
    }
}

static int64_t load_int(const char *p, int dtype)
{
    if (dtype == PICTOR_I32) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store_int(char *p, int dtype, int64_t v)
{
    if (dtype == PICTOR_I32) {
        /* Narrow modulo 2^32 without implementation-defined conversion. */
        uint32_t u = (uint32_t)((uint64_t)v & 0xffffffffu);
        int32_t w;
        memcpy(&w, &u, sizeof w);
        memcpy(p, &w, sizeof w);
        return;
    }
    memcpy(p, &v, sizeof v);
}

static void copy_int_chunk(void *arg, int64_t begin, int64_t end)
{
    struct copy_job *j = arg;
    size_t ses = pictor_dtype_size(j->src->dtype),
           des = pictor_dtype_size(j->dst->dtype);
    int64_t len = cpu_row_len(j->dst), ss = inner_stride(j->src),
            ds = inner_stride(j->dst), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        const char *s = (const char *)j->src->data +
                        cpu_offset_of(j->src, i) * (int64_t)ses;
        char *d = (char *)j->dst->data + cpu_offset_of(j->dst, i) * (int64_t)des;

        cnt = cpu_seg_len(len, i, end);
        for (int64_t k = 0; k < cnt; k++)
            store_int(d + k * ds * (int64_t)des, j->dst->dtype,
                      load_int(s + k * ss * (int64_t)ses, j->src->dtype));
    }
}

static void copy_f32_chunk(void *arg, int64_t begin, int64_t end)
{
    struct copy_job *j = arg;
    float buf[CPU_BLOCK];
    int64_t len = cpu_row_len(j->dst), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        cnt = cpu_seg_len(len, i, end);
        cpu_load_seg(j->src, i, cnt, buf);
        cpu_store_seg(j->dst, i, cnt, buf, j->saturate);
    }
}

static bool is_int(int dtype)
{
    return dtype == PICTOR_I32 || dtype == PICTOR_I64;
}

static bool is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

int cpu_op_copy(void *vctx, const struct pictor_op_args *a, char *err,
                size_t errlen)
{
    struct copy_job job = { a->u.copy.src, a->u.copy.dst, a->u.copy.saturate };
    void (*fn)(void *, int64_t, int64_t) = copy_f32_chunk;
    int sd = job.src->dtype, dd = job.dst->dtype;

    if (sd == dd && (!is_fp8(sd) || (job.src->scale == job.dst->scale &&
                                     !job.src->row_scale)))
        fn = copy_raw_chunk;
    else if (is_int(sd) && is_int(dd))
        fn = copy_int_chunk;
    cpu_parallel_for(vctx, pictor_tensor_numel(job.dst), CPU_GRAIN, fn, &job);
    return PICTOR_OK;
}
