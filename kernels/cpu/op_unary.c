/*
 * kernels/cpu/op_unary.c — elementwise activations (GELU erf/tanh,
 * QuickGELU, SiLU) in f32, any input/output dtypes and strides, in place
 * allowed (x and y the same view: each block is read before it is written).
 */
#include <math.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

/* sqrt(2/pi), as in PyTorch's gelu(approximate="tanh"). */
#define GELU_TANH_K 0.7978845608028654f
/* Cubic coefficient of the tanh approximation (Hendrycks & Gimpel 2016). */
#define GELU_TANH_C 0.044715f
/* 1/sqrt(2) for the exact erf form. */
#define GELU_ERF_K 0.7071067811865476f
/* QuickGELU slope (OpenAI CLIP): x * sigmoid(1.702 x). */
#define QUICK_GELU_K 1.702f

/* Applies fn to n values (y may be x); one loop per fn so each
 * vectorises. */
void cpu_unary_apply(enum pictor_unary fn, const float *x, float *y, int64_t n)
{
    int64_t i;

    switch (fn) {
    case PICTOR_UNARY_GELU_ERF:
        for (i = 0; i < n; i++)
            y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * GELU_ERF_K));
        break;
    case PICTOR_UNARY_GELU_TANH:
        for (i = 0; i < n; i++) {
            float v = x[i];
            float inner = GELU_TANH_K * (v + GELU_TANH_C * v * v * v);
            y[i] = 0.5f * v * (1.0f + tanhf(inner));
        }
        break;
    case PICTOR_UNARY_QUICK_GELU:
        for (i = 0; i < n; i++)
            y[i] = x[i] / (1.0f + expf(-QUICK_GELU_K * x[i]));
        break;
    case PICTOR_UNARY_SILU:
        for (i = 0; i < n; i++)
            y[i] = x[i] / (1.0f + expf(-x[i]));
        break;
    default:
        break;
    }
}

struct unary_job {
    enum pictor_unary fn;
    const pictor_tensor *x;
    pictor_tensor *y;
};

static void unary_f32_chunk(void *arg, int64_t begin, int64_t end)
{
    struct unary_job *j = arg;
    const float *x = j->x->data;
    float *y = j->y->data;

    cpu_unary_apply(j->fn, x + begin, y + begin, end - begin);
}

static void unary_any_chunk(void *arg, int64_t begin, int64_t end)
{
    struct unary_job *j = arg;
    float buf[CPU_BLOCK];
    int64_t len = cpu_row_len(j->y), cnt;

    for (int64_t i = begin; i < end; i += cnt) {
        cnt = cpu_seg_len(len, i, end);
        cpu_load_seg(j->x, i, cnt, buf);
        cpu_unary_apply(j->fn, buf, buf, cnt);
        cpu_store_seg(j->y, i, cnt, buf, false);
    }
}

int cpu_op_unary(void *vctx, const struct pictor_op_args *a, char *err,
                 size_t errlen)
{
    struct unary_job job = { a->u.unary.fn, a->u.unary.x, a->u.unary.y };
    bool fast = job.x->dtype == PICTOR_F32 && job.y->dtype == PICTOR_F32 &&
                pictor_tensor_is_contiguous(job.x) &&
                pictor_tensor_is_contiguous(job.y);

    cpu_parallel_for(vctx, pictor_tensor_numel(job.y), CPU_GRAIN,
                     fast ? unary_f32_chunk : unary_any_chunk, &job);
    return PICTOR_OK;
}
