/*
 * kernels/src/profile.c — the op profiler (pictor/profile.h): rows in an
 * open-addressing table keyed by a text description of the op's operands,
 * marks recycled through a free list, pending (row, start, end) triples
 * read in batches.
 */
#include "pictor/profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/ops.h"
#include "pictor/tensor_util.h"

#define KEY_LEN 256
#define ROW_SLOTS 4096 /* distinct keys kept; later ones go to one overflow row */

struct prof_row {
    char key[KEY_LEN];
    uint64_t calls;
    double ms, flops, bytes; /* per call: flops, bytes */
};

struct prof_pending {
    struct prof_row *row;
    void *a, *b;
};

struct pictor_profile {
    struct prof_row *rows; /* ROW_SLOTS; key[0] == 0: empty */
    size_t n_rows;
    struct prof_pending pending[PICTOR_PROFILE_BATCH];
    size_t n_pending;
    void **free_marks;
    size_t n_free, cap_free;
};

static bool has_marks(const pictor_backend *be)
{
    const struct pictor_backend_iface *i = be->iface;
    return i->mark_new && i->mark_record && i->mark_ms && i->mark_free;
}

static void *take_mark(pictor_backend *be)
{
    struct pictor_profile *p = be->profile;
    void *m = NULL;
    if (p->n_free)
        return p->free_marks[--p->n_free];
    return be->iface->mark_new(be->ctx, &m) == PICTOR_OK ? m : NULL;
}

static void give_mark(pictor_backend *be, void *m)
{
    struct pictor_profile *p = be->profile;
    if (!m)
        return;
    if (p->n_free == p->cap_free) {
        size_t cap = p->cap_free ? 2 * p->cap_free : 2 * PICTOR_PROFILE_BATCH + 2;
        void **f = realloc(p->free_marks, cap * sizeof *f);
        if (!f) {
            be->iface->mark_free(be->ctx, m);
            return;
        }
        p->free_marks = f;
        p->cap_free = cap;
    }
    p->free_marks[p->n_free++] = m;
}

static void flush(pictor_backend *be)
{
    struct pictor_profile *p = be->profile;
    for (size_t i = 0; i < p->n_pending; i++) {
        struct prof_pending *q = &p->pending[i];
        double ms = be->iface->mark_ms(be->ctx, q->a, q->b);
        if (ms >= 0) {
            q->row->ms += ms;
            q->row->calls++;
        }
        give_mark(be, q->a);
        give_mark(be, q->b);
    }
    p->n_pending = 0;
}

int pictor_profile_enable(pictor_backend *be, bool on)
{
    struct pictor_profile *p = be->profile;
    if (on) {
        if (p)
            return PICTOR_OK;
        if (!has_marks(be))
            return pictor_backend_fail(be, PICTOR_E_UNSUPPORTED,
                                       "the %s backend has no timing marks to profile with",
                                       pictor_backend_name(be));
        p = calloc(1, sizeof *p);
        if (!p || !(p->rows = calloc(ROW_SLOTS, sizeof *p->rows))) {
            free(p);
            return pictor_backend_fail(be, PICTOR_E_NOMEM, "profiler: out of memory");
        }
        be->profile = p;
        return PICTOR_OK;
    }
    if (!p)
        return PICTOR_OK;
    flush(be);
    for (size_t i = 0; i < p->n_free; i++)
        be->iface->mark_free(be->ctx, p->free_marks[i]);
    free(p->free_marks);
    free(p->rows);
    free(p);
    be->profile = NULL;
    return PICTOR_OK;
}

/* ---- keys and arithmetic ------------------------------------------------ */

static size_t describe(const pictor_tensor *t, char *out, size_t len)
{
    size_t w = (size_t)snprintf(out, len, "[");
    for (int d = 0; d < t->ndim && w < len; d++)
        w += (size_t)snprintf(out + w, len - w, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (w < len)
        w += (size_t)snprintf(out + w, len - w, "]%s%s", pictor_dtype_name(t->dtype),
                              pictor_tensor_is_contiguous(t) ? "" : "~");
    return w < len ? w : len - 1;
}

/* The key: op name (unary/binary: with the function) then each operand;
 * "~" marks a strided view. */
static void make_key(const struct pictor_op_args *args, char *key)
{
    struct pictor_op_args a = *args;
    const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS];
    int n = pictor_op_args_tensors(&a, slots);
    size_t w = (size_t)snprintf(key, KEY_LEN, "%s", pictor_op_names[a.op]);
    if (a.op == PICTOR_OP_UNARY)
        w += (size_t)snprintf(key + w, KEY_LEN - w, ".%s", pictor_unary_names[a.u.unary.fn]);
    if (a.op == PICTOR_OP_BINARY)
        w += (size_t)snprintf(key + w, KEY_LEN - w, ".%s",
                              a.u.binary.fn == PICTOR_BINARY_ADD ? "add" : "mul");
    if (a.op == PICTOR_OP_MATMUL && a.u.matmul.has_act)
        w += (size_t)snprintf(key + w, KEY_LEN - w, "+%s", pictor_unary_names[a.u.matmul.act]);
    for (int i = 0; i < n && w + 2 < KEY_LEN; i++)
        if (*slots[i]) {
            key[w++] = ' ';
            w += describe(*slots[i], key + w, KEY_LEN - w);
        }
    key[w < KEY_LEN ? w : KEY_LEN - 1] = '\0';
}

static double numel(const pictor_tensor *t)
{
    return t ? (double)pictor_tensor_numel(t) : 0.0;
}

/* Multiply-adds x 2 of the three compute ops; 0 for the rest. */
static double op_flops(const struct pictor_op_args *a)
{
    switch (a->op) {
    case PICTOR_OP_MATMUL: { /* c [..., M, N], a [..., M, K] */
        const pictor_tensor *x = a->u.matmul.a;
        return 2.0 * numel(a->u.matmul.c) * (double)x->shape[x->ndim - 1];
    }
    case PICTOR_OP_CONV2D: {
        const pictor_tensor *w = a->u.conv2d.w;
        return 2.0 * numel(a->u.conv2d.y) * (double)(w->shape[1] * w->shape[2] * w->shape[3]);
    }
    case PICTOR_OP_SDPA: { /* QK^T and PV */
        const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k, *v = a->u.sdpa.v;
        double bhl = numel(q) / (double)q->shape[3];
        return 2.0 * bhl * (double)k->shape[2] * (double)(q->shape[3] + v->shape[3]);
    }
    case PICTOR_OP_SDPA_FP8: { /* QK^T and PV, Dv = D */
        const pictor_tensor *q = a->u.sdpa_fp8.q, *k = a->u.sdpa_fp8.k;
        return 4.0 * numel(q) * (double)k->shape[2];
    }
    default:
        return 0.0;
    }
}

static double op_bytes(const struct pictor_op_args *args)
{
    struct pictor_op_args a = *args;
    const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS];
    int n = pictor_op_args_tensors(&a, slots);
    double b = 0;
    for (int i = 0; i < n; i++)
        if (*slots[i])
            b += numel(*slots[i]) * (double)pictor_dtype_size((*slots[i])->dtype);
    return b;
}

static struct prof_row *row_for(struct pictor_profile *p, const struct pictor_op_args *a)
{
    char key[KEY_LEN];
    make_key(a, key);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = key; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    size_t i = (size_t)h % ROW_SLOTS;
    for (size_t probe = 0; probe < ROW_SLOTS; probe++, i = (i + 1) % ROW_SLOTS) {
        struct prof_row *r = &p->rows[i];
        if (r->key[0] && strcmp(r->key, key) != 0)
            continue;
        if (!r->key[0]) {
            if (p->n_rows + 1 >= ROW_SLOTS)
                break; /* keep one slot free: the overflow row below */
            memcpy(r->key, key, sizeof key);
            r->flops = op_flops(a);
            r->bytes = op_bytes(a);
            p->n_rows++;
        }
        return r;
    }
    for (i = 0; i < ROW_SLOTS && p->rows[i].key[0]; i++)
        if (strcmp(p->rows[i].key, "(other ops)") == 0)
            return &p->rows[i];
    snprintf(p->rows[i % ROW_SLOTS].key, KEY_LEN, "(other ops)");
    return &p->rows[i % ROW_SLOTS];
}

int pictor_profile_run_op(pictor_backend *be, const struct pictor_op_args *args, char *err,
                          size_t errlen)
{
    struct pictor_profile *p = be->profile;
    void *a = take_mark(be), *b = take_mark(be);
    bool timed = a && b && be->iface->mark_record(be->ctx, a) == PICTOR_OK;
    int rc = be->iface->op[args->op](be->ctx, args, err, errlen);
    timed = timed && rc == PICTOR_OK && be->iface->mark_record(be->ctx, b) == PICTOR_OK;
    if (!timed) {
        give_mark(be, a);
        give_mark(be, b);
        return rc;
    }
    p->pending[p->n_pending++] = (struct prof_pending){row_for(p, args), a, b};
    if (p->n_pending == PICTOR_PROFILE_BATCH)
        flush(be);
    return rc;
}

/* ---- report ------------------------------------------------------------- */

static int by_total(const void *x, const void *y)
{
    const struct prof_row *a = *(const struct prof_row *const *)x;
    const struct prof_row *b = *(const struct prof_row *const *)y;
    return a->ms < b->ms ? 1 : a->ms > b->ms ? -1 : strcmp(a->key, b->key);
}

void pictor_profile_report(pictor_backend *be, FILE *f, bool reset)
{
    struct pictor_profile *p = be ? be->profile : NULL;
    if (!p)
        return;
    flush(be);
    struct prof_row **order = malloc(ROW_SLOTS * sizeof *order);
    size_t n = 0;
    double total = 0;
    uint64_t calls = 0;
    for (size_t i = 0; i < ROW_SLOTS && order; i++)
        if (p->rows[i].key[0] && p->rows[i].calls) {
            order[n++] = &p->rows[i];
            total += p->rows[i].ms;
            calls += p->rows[i].calls;
        }
    if (order)
        qsort(order, n, sizeof *order, by_total);
    fprintf(f, "# op profile on %s: %.3f ms in %llu op calls (each op timed alone)\n",
            pictor_backend_name(be), total, (unsigned long long)calls);
    fprintf(f, "# %10s %6s %7s %10s %9s  %s\n", "total_ms", "share", "calls", "mean_us",
            "rate", "op and operands ([shape]dtype, ~ strided)");
    for (size_t i = 0; i < n; i++) {
        const struct prof_row *r = order[i];
        const double mean_s = r->ms / 1e3 / (double)r->calls;
        char rate[32];
        if (r->flops > 0)
            snprintf(rate, sizeof rate, "%.3gTF/s", r->flops / mean_s / 1e12);
        else
            snprintf(rate, sizeof rate, "%.3gGB/s", r->bytes / mean_s / 1e9);
        fprintf(f, "  %10.3f %5.1f%% %7llu %10.1f %9s  %s\n", r->ms,
                total > 0 ? 100.0 * r->ms / total : 0.0, (unsigned long long)r->calls,
                mean_s * 1e6, rate, r->key);
    }
    free(order);
    if (reset) {
        for (size_t i = 0; i < ROW_SLOTS; i++)
            p->rows[i].key[0] = '\0', p->rows[i].calls = 0, p->rows[i].ms = 0;
        p->n_rows = 0;
    }
}
