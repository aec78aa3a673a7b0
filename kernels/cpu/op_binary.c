/*
 * kernels/cpu/op_binary.c — y = a + b and y = a * b with NumPy
 * broadcasting, any dtypes and strides, in place allowed (y the same view
 * as a or b).
 *
 * An operand with as many elements as y is streamed block by block (or read
 * straight from memory when it is contiguous f32); a broadcast operand is
 * gathered once into contiguous f32 and indexed through broadcast strides
 * (0 along the dims it repeats). Work is split over y's flat index range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_internal.h"
#include "pictor/tensor_util.h"

struct bin_operand {
    const pictor_tensor *t;
    bool stream;     /* numel == numel(y): flat indices coincide */
    bool direct;     /* streamed and contiguous f32: read t->data itself */
    float *gathered; /* broadcast operands: contiguous f32 copy or view */
    bool owned;
    int64_t bstride[PICTOR_MAX_DIMS]; /* per y dim, into gathered */
};

struct bin_job {
    enum pictor_binary fn;
    struct bin_operand a, b;
    pictor_tensor *y;
    bool y_direct; /* y contiguous f32: write y->data itself */
};

static void bin_setup(struct bin_operand *o, const pictor_tensor *t,
                      const pictor_tensor *y)
{
    int lead = y->ndim - t->ndim;
    int64_t s = 1;

    memset(o, 0, sizeof *o);
    o->t = t;
    o->stream = pictor_tensor_numel(t) == pictor_tensor_numel(y);
    o->direct = o->stream && t->dtype == PICTOR_F32 &&
                pictor_tensor_is_contiguous(t);
    /* Strides into the contiguous gathered copy, aligned to y's dims. */
    for (int d = y->ndim - 1; d >= 0; d--) {
        int dt = d - lead;

        if (dt < 0 || t->shape[dt] == 1) {
            o->bstride[d] = 0;
        } else {
            o->bstride[d] = s;
        }
        if (dt >= 0)
            s *= t->shape[dt];
    }
}

/* Offset into the gathered copy of the operand for y's flat index i. */
static int64_t bin_offset(const struct bin_operand *o, const pictor_tensor *y,
                          int64_t i)
{
    int64_t off = 0;

    for (int d = y->ndim - 1; d >= 0 && i > 0; d--) {
        off += (i % y->shape[d]) * o->bstride[d];
        i /= y->shape[d];
    }
    return off;
}

/* Points *p at cnt values of the operand for y's [i, i + cnt), with element
 * step *step; may load them into buf. */
static void bin_fetch(const struct bin_operand *o, const pictor_tensor *y,
                      int64_t i, int64_t cnt, float *buf, const float **p,
                      int64_t *step)
{
    if (o->direct) {
        *p = (const float *)o->t->data + i;
        *step = 1;
    } else if (o->stream) {
        cpu_load_seg(o->t, i, cnt, buf);
        *p = buf;
        *step = 1;
    } else {
        *p = o->gathered + bin_offset(o, y, i);
        *step = y->ndim ? o->bstride[y->ndim - 1] : 0;
    }
}

static void bin_kernel(enum pictor_binary fn, const float *pa, int64_t sa,
                       const float *pb, int64_t sb, float *out, int64_t n)
{
    int64_t k;

    if (fn == PICTOR_BINARY_ADD) {
        if (sa == 1 && sb == 1)
            for (k = 0; k < n; k++)
                out[k] = pa[k] + pb[k];
        else
            for (k = 0; k < n; k++)
                out[k] = pa[k * sa] + pb[k * sb];
    } else {
        if (sa == 1 && sb == 1)
            for (k = 0; k < n; k++)
                out[k] = pa[k] * pb[k];
        else
            for (k = 0; k < n; k++)
                out[k] = pa[k * sa] * pb[k * sb];
    }
}

static void bin_chunk(void *arg, int64_t begin, int64_t end)
{
    struct bin_job *j = arg;
    float bufa[CPU_BLOCK], bufb[CPU_BLOCK], bufy[CPU_BLOCK];
    int64_t len = cpu_row_len(j->y), cnt, sa, sb;
    const float *pa, *pb;

    for (int64_t i = begin; i < end; i += cnt) {
        float *out = j->y_direct ? (float *)j->y->data + i : bufy;

        cnt = cpu_seg_len(len, i, end);
        bin_fetch(&j->a, j->y, i, cnt, bufa, &pa, &sa);
        bin_fetch(&j->b, j->y, i, cnt, bufb, &pb, &sb);
        bin_kernel(j->fn, pa, sa, pb, sb, out, cnt);
        if (!j->y_direct)
            cpu_store_seg(j->y, i, cnt, bufy, false);
    }
}

int cpu_op_binary(void *vctx, const struct pictor_op_args *a, char *err,
                  size_t errlen)
{
    struct cpu_ctx *ctx = vctx;
    struct bin_job job;
    int rc = PICTOR_OK;

    memset(&job, 0, sizeof job);
    job.fn = a->u.binary.fn;
    job.y = a->u.binary.y;
    job.y_direct = job.y->dtype == PICTOR_F32 &&
                   pictor_tensor_is_contiguous(job.y);
    bin_setup(&job.a, a->u.binary.a, job.y);
    bin_setup(&job.b, a->u.binary.b, job.y);
    if (!job.a.stream) {
        job.a.gathered = cpu_gather_f32_mt(ctx, job.a.t, &job.a.owned);
        if (!job.a.gathered)
            goto err_nomem;
    }
    if (!job.b.stream) {
        job.b.gathered = cpu_gather_f32_mt(ctx, job.b.t, &job.b.owned);
        if (!job.b.gathered)
            goto err_release_a;
    }
    cpu_parallel_for(ctx, pictor_tensor_numel(job.y), CPU_GRAIN, bin_chunk,
                     &job);
    cpu_release(job.b.gathered, job.b.owned);
    cpu_release(job.a.gathered, job.a.owned);
    return PICTOR_OK;

err_release_a:
    cpu_release(job.a.gathered, job.a.owned);
err_nomem:
    snprintf(err, errlen, "binary: out of memory gathering a broadcast operand");
    rc = PICTOR_E_NOMEM;
    return rc;
}
