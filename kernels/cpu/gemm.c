/*
 * kernels/cpu/gemm.c — the blocked f32 GEMM core of cpu_gemm.h and the
 * f32 operand views the GEMM users share.
 *
 * Structure (GotoBLAS / BLIS): C is cut into tiles of at most MC x NC; a
 * tile walks K in KC blocks, packs its A block (MC x KC) and B panel
 * (KC x NC) into scratch, then runs the 6 x 8 micro-kernel over it. Tiles
 * are the unit of parallelism (each packs its own operands, so threads
 * share nothing but the read-only inputs and write disjoint parts of C).
 * The micro-kernel is plain C: twelve named accumulator rows with constant
 * trip counts, which gcc -O2 -march=x86-64-v2 keeps in XMM registers and
 * vectorises (mulps/addps; checked in the generated assembly).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_block.h"
#include "cpu_gemm.h"
#include "pictor/tensor_util.h"

#define MR CPU_GEMM_MR
#define NR CPU_GEMM_NR
/* Block sizes for a 48 KiB L1d / 2 MiB L2 core: an A micro-panel (6 x 256
 * f32, 6 KiB) and a B micro-panel (8 x 256, 8 KiB) stay in L1, the packed
 * A block (96 x 256, 96 KiB) and B panel (256 x 512, 512 KiB) in L2. */
#define KC 256
#define MC 96
#define NC 512
/* MC and NC are multiples of MR and NR: tiles are whole micro-tiles. */
/* Aim for at least this many tiles per thread so uneven tiles balance. */
#define TILES_PER_THREAD 2

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static int64_t round_up(int64_t a, int64_t m)
{
    return ceil_div(a, m) * m;
}

/* ---- micro-kernel ----------------------------------------------------- */

/* One accumulator row: c_i[0..NR) += a[i] * b[0..NR). */
#define GEMM_ROW(i)                                                          \
    for (int j = 0; j < NR; j++)                                             \
        c##i[j] += a[i] * b[j];

/* acc[MR][NR] = sum over k of ap[k][0..MR) (outer) bp[k][0..NR). */
static void micro_kernel(int64_t kc, const float *restrict ap,
                         const float *restrict bp, float *restrict acc)
{
    float c0[NR] = { 0 }, c1[NR] = { 0 }, c2[NR] = { 0 };
    float c3[NR] = { 0 }, c4[NR] = { 0 }, c5[NR] = { 0 };

    for (int64_t k = 0; k < kc; k++) {
        const float *a = ap + k * MR, *b = bp + k * NR;

        GEMM_ROW(0) GEMM_ROW(1) GEMM_ROW(2) GEMM_ROW(3) GEMM_ROW(4)
        GEMM_ROW(5)
    }
    for (int j = 0; j < NR; j++) {
        acc[0 * NR + j] = c0[j];
        acc[1 * NR + j] = c1[j];
        acc[2 * NR + j] = c2[j];
        acc[3 * NR + j] = c3[j];
        acc[4 * NR + j] = c4[j];
        acc[5 * NR + j] = c5[j];
    }
}

/* C[i.., j..] (mr x nr) = alpha * acc (+ biases on the first K block), or
 * += alpha * acc on later blocks. */
static void store_tile(const struct cpu_gemm *g, float *c, int64_t i,
                       int64_t j, int64_t mr, int64_t nr, const float *acc,
                       bool first)
{
    float alpha = g->alpha;

    for (int64_t r = 0; r < mr; r++) {
        float *row = c + (i + r) * g->ldc + j;
        const float *ar = acc + r * NR;

        if (!first) {
            for (int64_t q = 0; q < nr; q++)
                row[q] += alpha * ar[q];
            continue;
        }
        float bm = g->bias_m ? g->bias_m[i + r] : 0.0f;
        if (g->bias_n) {
            for (int64_t q = 0; q < nr; q++)
                row[q] = alpha * ar[q] + (bm + g->bias_n[j + q]);
        } else {
            for (int64_t q = 0; q < nr; q++)
                row[q] = alpha * ar[q] + bm;
        }
    }
}

/* ---- packing of strided matrices -------------------------------------- */

void cpu_gemm_pack_a_mat(const struct cpu_mat *m, int64_t i0, int64_t mc,
                         int64_t k0, int64_t kc, float *dst)
{
    int64_t rs = m->rs, cs = m->cs;

    for (int64_t p = 0; p < mc; p += MR) {
        int64_t rows = min64(MR, mc - p);
        float *d = dst + p * kc; /* panel p / MR starts at (p / MR) MR kc */
        const float *src = m->p + (i0 + p) * rs + k0 * cs;

        if (rows == MR && cs != 1) { /* column-major A: MR values per k */
            for (int64_t k = 0; k < kc; k++)
                for (int64_t r = 0; r < MR; r++)
                    d[k * MR + r] = src[k * cs + r * rs];
            continue;
        }
        for (int64_t r = 0; r < rows; r++) {
            const float *s = src + r * rs;
            for (int64_t k = 0; k < kc; k++)
                d[k * MR + r] = s[k * cs];
        }
        for (int64_t r = rows; r < MR; r++)
            for (int64_t k = 0; k < kc; k++)
                d[k * MR + r] = 0.0f;
    }
}

void cpu_gemm_pack_b_mat(const struct cpu_mat *m, int64_t k0, int64_t kc,
                         int64_t j0, int64_t nc, float *dst)
{
    int64_t rs = m->rs, cs = m->cs;

    for (int64_t q = 0; q < nc; q += NR) {
        int64_t cols = min64(NR, nc - q);
        float *d = dst + q * kc;
        const float *src = m->p + k0 * rs + (j0 + q) * cs;

        if (cols == NR && cs == 1) { /* row-major B: NR contiguous per k */
            for (int64_t k = 0; k < kc; k++)
                for (int64_t c = 0; c < NR; c++)
                    d[k * NR + c] = src[k * rs + c];
            continue;
        }
        for (int64_t c = 0; c < cols; c++) {
            const float *s = src + c * cs;
            for (int64_t k = 0; k < kc; k++)
                d[k * NR + c] = s[k * rs];
        }
        for (int64_t c = cols; c < NR; c++)
            for (int64_t k = 0; k < kc; k++)
                d[k * NR + c] = 0.0f;
    }
}

/* ---- tiling ----------------------------------------------------------- */

struct gemm_plan {
    int64_t mc, nc;   /* tile size (multiples of MR / NR) */
    int64_t tm, tn;   /* tiles along M and N */
    int64_t tiles;    /* batch * tm * tn */
    int64_t kc;       /* largest K block (>= 1) */
    int64_t scratch;  /* floats: packed A block (mc x kc) + B panel */
};

static void plan_sizes(const struct cpu_gemm *g, struct gemm_plan *p)
{
    p->mc = round_up(ceil_div(g->M, p->tm), MR);
    p->nc = round_up(ceil_div(g->N, p->tn), NR);
    p->tm = ceil_div(g->M, p->mc);
    p->tn = ceil_div(g->N, p->nc);
}

/* Even tiles of at most MC x NC, split further until every thread gets
 * TILES_PER_THREAD of them (or tiles get down to 4 micro-tiles a side). */
static void plan_tiles(const struct cpu_gemm *g, int n_threads,
                       struct gemm_plan *p)
{
    int64_t want = (int64_t)n_threads * TILES_PER_THREAD;

    p->tm = ceil_div(g->M, MC);
    p->tn = ceil_div(g->N, NC);
    plan_sizes(g, p);
    while (n_threads > 1 && g->batch * p->tm * p->tn < want) {
        if (p->nc >= p->mc && p->nc > 4 * NR)
            p->tn *= 2;
        else if (p->mc > 4 * MR)
            p->tm *= 2;
        else
            break;
        plan_sizes(g, p);
    }
    p->tiles = g->batch * p->tm * p->tn;
    p->kc = g->K < KC ? (g->K > 0 ? g->K : 1) : KC;
    p->scratch = (p->mc + p->nc) * p->kc;
}

static void run_tile(const struct cpu_gemm *g, const struct gemm_plan *p,
                     int64_t tile, float *pa, float *pb)
{
    int64_t per_item = p->tm * p->tn;
    int64_t t = tile / per_item, rem = tile % per_item;
    int64_t i0 = rem / p->tn * p->mc, j0 = rem % p->tn * p->nc;
    int64_t mc = min64(p->mc, g->M - i0), nc = min64(p->nc, g->N - j0);
    float *c = g->c_of(g->ctx, t);
    float acc[MR * NR];

    if (mc <= 0 || nc <= 0)
        return;
    /* K == 0 still runs one (empty) block so C gets its biases. */
    for (int64_t pc = 0; pc == 0 || pc < g->K; pc += KC) {
        int64_t kc = min64(KC, g->K - pc);

        g->pack_b(g->ctx, t, pc, kc, j0, nc, pb);
        g->pack_a(g->ctx, t, i0, mc, pc, kc, pa);
        for (int64_t jr = 0; jr < nc; jr += NR) {
            for (int64_t ir = 0; ir < mc; ir += MR) {
                micro_kernel(kc, pa + ir * kc, pb + jr * kc, acc);
                store_tile(g, c, i0 + ir, j0 + jr, min64(MR, mc - ir),
                           min64(NR, nc - jr), acc, pc == 0);
            }
        }
    }
}

/* ---- entry points ----------------------------------------------------- */

/* Tiles never exceed MC x NC nor the matrix rounded up to whole
 * micro-tiles, and K blocks never exceed KC, so this bound holds for any
 * plan and never decreases as M, N or K grow. */
int64_t cpu_gemm_scratch_floats(const struct cpu_gemm *g)
{
    int64_t mc = min64(MC, round_up(g->M > 0 ? g->M : 1, MR));
    int64_t nc = min64(NC, round_up(g->N > 0 ? g->N : 1, NR));
    int64_t kc = min64(KC, g->K > 0 ? g->K : 1);

    return (mc + nc) * kc;
}

void cpu_gemm_serial(const struct cpu_gemm *g, float *scratch)
{
    struct gemm_plan p;

    if (g->M <= 0 || g->N <= 0 || g->batch <= 0)
        return;
    plan_tiles(g, 1, &p);
    for (int64_t tile = 0; tile < p.tiles; tile++)
        run_tile(g, &p, tile, scratch, scratch + p.mc * p.kc);
}

struct gemm_job {
    const struct cpu_gemm *g;
    struct gemm_plan plan;
    atomic_int failed;
};

static void gemm_chunk(void *arg, int64_t begin, int64_t end)
{
    struct gemm_job *j = arg;
    float *scratch = malloc((size_t)j->plan.scratch * sizeof(float));

    if (!scratch) {
        atomic_store(&j->failed, 1);
        return;
    }
    for (int64_t tile = begin; tile < end; tile++)
        run_tile(j->g, &j->plan, tile, scratch,
                 scratch + j->plan.mc * j->plan.kc);
    free(scratch);
}

int cpu_gemm(struct cpu_ctx *ctx, const struct cpu_gemm *g)
{
    struct gemm_job job = { .g = g };

    if (g->M <= 0 || g->N <= 0 || g->batch <= 0)
        return PICTOR_OK;
    atomic_init(&job.failed, 0);
    plan_tiles(g, ctx ? ctx->n_threads : 1, &job.plan);
    cpu_parallel_for(ctx, job.plan.tiles, 1, gemm_chunk, &job);
    return atomic_load(&job.failed) ? PICTOR_E_NOMEM : PICTOR_OK;
}

/* ---- f32 views -------------------------------------------------------- */

static bool has_row_scale(const pictor_tensor *t)
{
    return (t->dtype == PICTOR_F8_E4M3 || t->dtype == PICTOR_F8_E5M2) &&
           t->row_scale && t->ndim > 0;
}

int cpu_f32_view_make(struct cpu_ctx *ctx, const pictor_tensor *t,
                      struct cpu_f32_view *v)
{
    int perm[PICTOR_MAX_DIMS];
    pictor_tensor pt = *t;
    int64_t cs = 1;
    bool owned;
    float *buf;

    memset(v, 0, sizeof *v);
    if (t->dtype == PICTOR_F32) {
        v->p = t->data;
        memcpy(v->stride, t->stride, sizeof v->stride);
        return PICTOR_OK;
    }
    for (int i = 0; i < t->ndim; i++)
        perm[i] = i;
    /* Memory order: dims by decreasing stride (stable insertion sort). A
     * row-scaled FP8 tensor keeps its order: row_scale follows dim 0. */
    if (!has_row_scale(t)) {
        for (int i = 1; i < t->ndim; i++)
            for (int k = i; k > 0 && t->stride[perm[k - 1]] <
                                         t->stride[perm[k]]; k--) {
                int tmp = perm[k];
                perm[k] = perm[k - 1];
                perm[k - 1] = tmp;
            }
        for (int i = 0; i < t->ndim; i++) {
            pt.shape[i] = t->shape[perm[i]];
            pt.stride[i] = t->stride[perm[i]];
        }
    }
    buf = cpu_gather_f32_mt(ctx, &pt, &owned);
    if (!buf)
        return PICTOR_E_NOMEM;
    for (int i = t->ndim - 1; i >= 0; i--) {
        v->stride[perm[i]] = cs;
        cs *= pt.shape[i];
    }
    v->p = buf;
    v->owned = owned ? buf : NULL;
    return PICTOR_OK;
}

void cpu_f32_view_release(struct cpu_f32_view *v)
{
    free(v->owned);
    v->owned = NULL;
    v->p = NULL;
}
