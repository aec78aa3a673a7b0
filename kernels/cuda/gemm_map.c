/*
 * kernels/cuda/gemm_map.c — pictor matmul -> cuBLASLt problem mapping
 * (gemm_map.h). Pure C: built in every configuration.
 */
#include "gemm_map.h"

#include <string.h>

/* Matrix dims (the last two); the rest are batch dims. */
#define MAT_DIMS 2
/* Operand slots while planning batches. */
enum { SLOT_A, SLOT_B, SLOT_D, N_SLOTS };

/* How a 2-D matrix X [R, C] sits in memory. */
struct mat_form {
    bool stored_t; /* memory holds X^T column-major (X row-major), else X */
    int64_t ld;    /* leading dimension of what memory holds */
};

/*
 * The memory form of X [R, C] with strides (rs, cs), R, C >= 1: row-major
 * rows (cs == 1, rs >= C) are X^T column-major with ld = rs; column-major
 * (rs == 1, cs >= R) is X with ld = cs. A unit dim takes whatever stride
 * fits. false when neither fits.
 */
static bool mat_form(int64_t R, int64_t C, int64_t rs, int64_t cs, struct mat_form *m)
{
    if ((C == 1 || cs == 1) && (R == 1 || rs >= C)) {
        m->stored_t = true;
        m->ld = R == 1 ? C : rs;
        return true;
    }
    if ((R == 1 || rs == 1) && (C == 1 || cs >= R)) {
        m->stored_t = false;
        m->ld = C == 1 ? R : cs;
        return true;
    }
    return false;
}

static bool form_of(const pictor_tensor *t, struct mat_form *m)
{
    int nd = t->ndim;

    for (int d = 0; d < nd - MAT_DIMS; d++)
        if (t->stride[d] < 0)
            return false;
    return mat_form(t->shape[nd - 2], t->shape[nd - 1], t->stride[nd - 2], t->stride[nd - 1],
                    m);
}

bool gemm_lt_describable(const pictor_tensor *t)
{
    struct mat_form m;

    return form_of(t, &m);
}

/* Batch strides of t right-aligned to nb batch dims; size-1 and missing
 * dims broadcast (stride 0), as kernels/cpu/op_matmul.c's align_batch. */
static void align_batch(const pictor_tensor *t, int nb, int64_t *out)
{
    int nbo = t->ndim - MAT_DIMS;

    for (int d = 0; d < nb; d++) {
        int k = d - (nb - nbo);

        out[d] = (k >= 0 && t->shape[k] != 1) ? t->stride[k] : 0;
    }
}

/* Batch dims left after dropping size-1 dims and merging nested ones. */
struct batch_dims {
    int nd;
    int64_t n[GEMM_MAX_BATCH];
    int64_t s[N_SLOTS][GEMM_MAX_BATCH];
};

/* Drops size-1 batch dims; merges dim d into the previous kept one when
 * every operand's strides nest (s_outer == n_d * s_d). */
static void batch_dims(int nb, const int64_t *shape, int64_t bs[N_SLOTS][GEMM_MAX_BATCH],
                       struct batch_dims *bp)
{
    bp->nd = 0;
    for (int d = 0; d < nb; d++) {
        int j = bp->nd;
        bool nest = j > 0;

        if (shape[d] == 1)
            continue;
        for (int o = 0; o < N_SLOTS && nest; o++)
            nest = bp->s[o][j - 1] == bs[o][d] * shape[d];
        if (nest) {
            j--;
            bp->n[j] *= shape[d];
        } else {
            bp->n[j] = shape[d];
            bp->nd++;
        }
        for (int o = 0; o < N_SLOTS; o++)
            bp->s[o][j] = bs[o][d];
    }
}

/* Folds the innermost batch dim into M while b is broadcast over it and a
 * and D (both row-major) continue row after row across it. */
static void fold_into_m(struct batch_dims *bp, const struct mat_form *fa,
                        const struct mat_form *fd, int64_t *M)
{
    while (bp->nd > 0 && fa->stored_t && fd->stored_t) {
        int j = bp->nd - 1;

        if (bp->s[SLOT_B][j] != 0 || bp->s[SLOT_A][j] != *M * fa->ld ||
            bp->s[SLOT_D][j] != *M * fd->ld)
            return;
        *M *= bp->n[j];
        bp->nd--;
    }
}

/* op and stored dims of an operand whose memory holds X [R, C] in form f,
 * when cuBLASLt must see X^T (want_t) or X. */
static void lt_side(const struct mat_form *f, bool want_t, int64_t R, int64_t C, int32_t *op,
                    int64_t *rows, int64_t *cols)
{
    *op = f->stored_t == want_t ? GEMM_OP_N : GEMM_OP_T;
    *rows = f->stored_t ? C : R;
    *cols = f->stored_t ? R : C;
}

void gemm_lt_map(const pictor_tensor *a, const pictor_tensor *b, const pictor_tensor *d,
                 struct gemm_lt *g)
{
    int nb = d->ndim - MAT_DIMS;
    int64_t M = d->shape[nb], N = d->shape[nb + 1], K = a->shape[a->ndim - 1];
    int64_t bs[N_SLOTS][GEMM_MAX_BATCH];
    struct mat_form fa, fb, fd;
    struct batch_dims bp;
    int sa, sb, last;
    int32_t op_d;

    memset(g, 0, sizeof *g);
    form_of(a, &fa);
    form_of(b, &fb);
    form_of(d, &fd);
    align_batch(a, nb, bs[SLOT_A]);
    align_batch(b, nb, bs[SLOT_B]);
    align_batch(d, nb, bs[SLOT_D]);
    batch_dims(nb, d->shape, bs, &bp);
    fold_into_m(&bp, &fa, &fd, &M);

    g->swapped = fd.stored_t;
    if (g->swapped) { /* D = c^T [N, M] = b^T a^T */
        lt_side(&fb, true, K, N, &g->op_a, &g->rows_a, &g->cols_a);
        lt_side(&fa, true, M, K, &g->op_b, &g->rows_b, &g->cols_b);
        g->ld_a = fb.ld;
        g->ld_b = fa.ld;
    } else { /* D = c [M, N] = a b */
        lt_side(&fa, false, M, K, &g->op_a, &g->rows_a, &g->cols_a);
        lt_side(&fb, false, K, N, &g->op_b, &g->rows_b, &g->cols_b);
        g->ld_a = fa.ld;
        g->ld_b = fb.ld;
    }
    lt_side(&fd, g->swapped, M, N, &op_d, &g->m, &g->n); /* op_d is N */
    g->k = K;
    g->ld_d = fd.ld;

    sa = g->swapped ? SLOT_B : SLOT_A;
    sb = g->swapped ? SLOT_A : SLOT_B;
    g->batch = 1;
    if (bp.nd > 0) {
        last = bp.nd - 1;
        g->batch = bp.n[last];
        g->stride_a = bp.s[sa][last];
        g->stride_b = bp.s[sb][last];
        g->stride_d = bp.s[SLOT_D][last];
        g->n_outer = last;
        for (int j = 0; j < last; j++) {
            g->outer[j] = bp.n[j];
            g->outer_sa[j] = bp.s[sa][j];
            g->outer_sb[j] = bp.s[sb][j];
            g->outer_sd[j] = bp.s[SLOT_D][j];
        }
    }
}

int64_t gemm_lt_outer_count(const struct gemm_lt *g)
{
    int64_t n = 1;

    for (int j = 0; j < g->n_outer; j++)
        n *= g->outer[j];
    return n;
}

void gemm_lt_outer_offsets(const struct gemm_lt *g, int64_t t, int64_t *oa, int64_t *ob,
                           int64_t *od)
{
    *oa = *ob = *od = 0;
    for (int j = g->n_outer - 1; j >= 0; j--) {
        int64_t i = t % g->outer[j];

        t /= g->outer[j];
        *oa += i * g->outer_sa[j];
        *ob += i * g->outer_sb[j];
        *od += i * g->outer_sd[j];
    }
}

bool gemm_epilogue_fallback(uint32_t e, bool bias_droppable, uint32_t *next)
{
    if (e & GEMM_EPI_GELU) {
        *next = e & ~GEMM_EPI_GELU;
        return true;
    }
    if ((e & GEMM_EPI_BIAS) && bias_droppable) {
        *next = e & ~GEMM_EPI_BIAS;
        return true;
    }
    return false;
}

bool gemm_epilogue_reachable(uint32_t want, uint32_t got, bool bias_droppable)
{
    uint32_t e = want;

    if ((want & ~GEMM_EPI_ALL) || (got & ~GEMM_EPI_ALL))
        return false;
    while (e != got)
        if (!gemm_epilogue_fallback(e, bias_droppable, &e))
            return false;
    return true;
}
