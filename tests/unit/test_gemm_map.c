/*
 * tests/unit/test_gemm_map.c — the CUDA matmul's row-major -> cuBLASLt
 * mapping (kernels/cuda/gemm_map.h), checked on the CPU without a GPU.
 *
 * An emulator executes a gemm_lt exactly as cublasLtMatmul defines it
 * (column-major layouts, op N/T, leading dims, strided batch, plus the
 * host loop over outer batch dims), after checking the constraints
 * cuBLASLt enforces (dims consistent with the ops, ld >= rows, stride >=
 * 0). It reads and writes only through bounds-checked accessors and
 * counts writes, so a wrong leading dimension or batch stride shows up as
 * an out-of-range access, a c element written twice or never, or a wrong
 * value against a direct evaluation of pictor's matmul semantics
 * (NumPy batch broadcasting). Random problems cover transposed, sliced,
 * batch-permuted and broadcast operands and unit dims; operands the map
 * cannot describe are made contiguous first, as op_matmul.c stages them.
 */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/gemm_map.h"
#include "../harness/test.h"
#include "pictor/tensor_util.h"

/* Random problems in the sweep. */
#define TRIALS 3000

/* A float buffer with its extent, so accesses can be bounds-checked. */
struct buf {
    float *p;
    int64_t n;
    int *writes; /* per element (outputs only) */
};

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static int64_t rnd(int64_t n) /* uniform in [0, n) */
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((g_rng >> 33) % (uint64_t)n);
}

static bool g_oob; /* an emulator access fell outside its buffer */

static float rd(const struct buf *b, const float *base, int64_t off)
{
    int64_t i = (base - b->p) + off;

    if (i < 0 || i >= b->n) {
        g_oob = true;
        return 0.0f;
    }
    return b->p[i];
}

static void wr(struct buf *b, float *base, int64_t off, float v)
{
    int64_t i = (base - b->p) + off;

    if (i < 0 || i >= b->n) {
        g_oob = true;
        return;
    }
    b->p[i] = v;
    b->writes[i]++;
}

/* The constraints cublasLtMatmul checks; NULL when fine. */
static const char *lt_invalid(const struct gemm_lt *g)
{
    bool an = g->op_a == GEMM_OP_N, bn = g->op_b == GEMM_OP_N;

    if (g->m < 1 || g->n < 1 || g->k < 1 || g->batch < 1)
        return "empty problem";
    if (an ? (g->rows_a != g->m || g->cols_a != g->k) : (g->rows_a != g->k || g->cols_a != g->m))
        return "A dims do not match op and m/k";
    if (bn ? (g->rows_b != g->k || g->cols_b != g->n) : (g->rows_b != g->n || g->cols_b != g->k))
        return "B dims do not match op and k/n";
    if (g->ld_a < g->rows_a || g->ld_b < g->rows_b || g->ld_d < g->m)
        return "leading dimension below rows";
    if (g->stride_a < 0 || g->stride_b < 0 || g->stride_d < 0)
        return "negative batch stride";
    if (g->batch > 1 && g->stride_d == 0)
        return "D batch stride 0";
    return NULL;
}

/* cublasLtMatmul(alpha, beta 0) per its column-major definition, for
 * every host-loop iteration. */
static void emulate(const struct gemm_lt *g, float alpha, const struct buf *A, const float *a0,
                    const struct buf *B, const float *b0, struct buf *D, float *d0)
{
    int64_t outer = gemm_lt_outer_count(g);

    for (int64_t t = 0; t < outer; t++) {
        int64_t oa, ob, od;

        gemm_lt_outer_offsets(g, t, &oa, &ob, &od);
        for (int64_t bi = 0; bi < g->batch; bi++) {
            const float *pa = a0 + oa + bi * g->stride_a, *pb = b0 + ob + bi * g->stride_b;
            float *pd = d0 + od + bi * g->stride_d;

            for (int64_t j = 0; j < g->n; j++)
                for (int64_t r = 0; r < g->m; r++) {
                    float acc = 0.0f;

                    for (int64_t kk = 0; kk < g->k; kk++) {
                        float x = g->op_a == GEMM_OP_N ? rd(A, pa, r + kk * g->ld_a)
                                                       : rd(A, pa, kk + r * g->ld_a);
                        float y = g->op_b == GEMM_OP_N ? rd(B, pb, kk + j * g->ld_b)
                                                       : rd(B, pb, j + kk * g->ld_b);

                        acc += x * y;
                    }
                    wr(D, pd, r + j * g->ld_d, alpha * acc);
                }
        }
    }
}

/* Element offset of flat index i of t's shape (row-major order). */
static int64_t offset_of(const pictor_tensor *t, int64_t i)
{
    int64_t off = 0;

    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return off;
}

/* c = alpha a @ b straight from pictor's semantics (batch broadcasting),
 * into a dense [numel(c)] array in c's flat order. */
static void reference(const pictor_tensor *a, const pictor_tensor *b, const pictor_tensor *c,
                      float alpha, float *out)
{
    int nb = c->ndim - 2;
    int64_t M = c->shape[nb], N = c->shape[nb + 1], K = a->shape[a->ndim - 1];
    int64_t items = pictor_tensor_numel(c) / (M * N);

    for (int64_t t = 0; t < items; t++) {
        int64_t ia[PICTOR_MAX_DIMS] = { 0 }, r = t, oa = 0, ob = 0;

        for (int d = nb - 1; d >= 0; d--) {
            ia[d] = r % c->shape[d];
            r /= c->shape[d];
        }
        for (int d = 0; d < nb; d++) {
            int da = d - (nb - (a->ndim - 2)), db = d - (nb - (b->ndim - 2));

            if (da >= 0 && a->shape[da] != 1)
                oa += ia[d] * a->stride[da];
            if (db >= 0 && b->shape[db] != 1)
                ob += ia[d] * b->stride[db];
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                float acc = 0.0f;

                for (int64_t kk = 0; kk < K; kk++)
                    acc += ((const float *)a->data)[oa + i * a->stride[a->ndim - 2] +
                                                    kk * a->stride[a->ndim - 1]] *
                           ((const float *)b->data)[ob + kk * b->stride[b->ndim - 2] +
                                                    j * b->stride[b->ndim - 1]];
                out[(t * M + i) * N + j] = alpha * acc;
            }
    }
}

/* A matmul operand for the emulator: the tensor cuBLASLt would see and
 * the buffer it lies in. */
struct opnd {
    pictor_tensor t;
    struct buf buf;
};

/* A tensor of `shape` in one of several memory layouts, in its own buffer
 * (o->buf, which the caller frees). */
static void make_operand(int ndim, const int64_t *shape, struct opnd *o)
{
    int64_t rshape[PICTOR_MAX_DIMS];
    int layout = (int)rnd(5);

    memcpy(rshape, shape, (size_t)ndim * sizeof *shape);
    if (layout == 1) { /* matrix transposed in memory */
        rshape[ndim - 2] = shape[ndim - 1];
        rshape[ndim - 1] = shape[ndim - 2];
    } else if (layout == 2) { /* padded rows: a slice of a wider matrix */
        rshape[ndim - 1] += 1 + rnd(3);
    } else if (layout == 3) { /* every other column: not describable */
        rshape[ndim - 1] *= 2;
    } else if (layout == 4 && ndim >= 4) { /* outer batch dims swapped */
        rshape[0] = shape[1];
        rshape[1] = shape[0];
    }
    o->buf.n = 1;
    for (int d = 0; d < ndim; d++)
        o->buf.n *= rshape[d];
    o->buf.p = malloc((size_t)o->buf.n * sizeof(float));
    o->buf.writes = NULL;
    test_fill_uniform(o->buf.p, (size_t)o->buf.n, (uint64_t)rnd(1 << 30), -1.0f, 1.0f);
    o->t = pictor_tensor_make(o->buf.p, PICTOR_F32, ndim, rshape);
    if (layout == 1) {
        o->t = pictor_tensor_transpose(&o->t, ndim - 2, ndim - 1);
    } else if (layout == 2) {
        o->t = pictor_tensor_slice(&o->t, ndim - 1, rshape[ndim - 1] - shape[ndim - 1],
                                   shape[ndim - 1]);
    } else if (layout == 3) {
        o->t.shape[ndim - 1] = shape[ndim - 1];
        o->t.stride[ndim - 1] = 2;
    } else if (layout == 4 && ndim >= 4) {
        o->t = pictor_tensor_transpose(&o->t, 0, 1);
    }
}

/* A contiguous copy of o in a new buffer (what op_matmul.c stages when
 * cuBLASLt cannot describe an operand). */
static struct opnd contiguous_copy(const struct opnd *o)
{
    struct opnd c;
    int64_t n = pictor_tensor_numel(&o->t);

    c.buf.p = malloc((size_t)n * sizeof(float));
    c.buf.n = n;
    c.buf.writes = NULL;
    for (int64_t i = 0; i < n; i++)
        c.buf.p[i] = ((const float *)o->t.data)[offset_of(&o->t, i)];
    c.t = pictor_tensor_make(c.buf.p, PICTOR_F32, o->t.ndim, o->t.shape);
    return c;
}

/* o itself when describable, else a staged copy (*staged set). */
static struct opnd as_used(const struct opnd *o, bool *staged)
{
    *staged = !gemm_lt_describable(&o->t);
    return *staged ? contiguous_copy(o) : *o;
}

/* One random problem through map + emulator; false on failure (CHECK has
 * recorded why). */
static bool one_trial(int trial)
{
    int nb = (int)rnd(4), nba = (int)rnd(nb + 1), nbb = (int)rnd(nb + 1);
    int64_t cs[PICTOR_MAX_DIMS], as[PICTOR_MAX_DIMS], bs[PICTOR_MAX_DIMS];
    int64_t M = 1 + rnd(6), K = 1 + rnd(6), N = 1 + rnd(6), n, total = 0;
    float alpha = 0.5f + (float)rnd(3), *ref;
    struct opnd a, b, c0, ua, ub, c;
    const struct opnd *first, *second;
    bool sa, sb, sc, ok;
    struct gemm_lt g;
    const char *bad;

    for (int d = 0; d < nb; d++)
        cs[d] = 1 + rnd(3);
    for (int d = 0; d < nba; d++) /* right-aligned, sometimes broadcast */
        as[d] = rnd(3) ? cs[nb - nba + d] : 1;
    for (int d = 0; d < nbb; d++)
        bs[d] = rnd(3) ? cs[nb - nbb + d] : 1;
    as[nba] = M;
    as[nba + 1] = K;
    bs[nbb] = K;
    bs[nbb + 1] = N;
    cs[nb] = M;
    cs[nb + 1] = N;
    make_operand(nba + 2, as, &a);
    make_operand(nbb + 2, bs, &b);
    make_operand(nb + 2, cs, &c0);
    ua = as_used(&a, &sa);
    ub = as_used(&b, &sb);
    c = as_used(&c0, &sc); /* op_matmul.c computes into contiguous scratch */
    n = pictor_tensor_numel(&c.t);
    c.buf.writes = calloc((size_t)c.buf.n, sizeof(int));

    gemm_lt_map(&ua.t, &ub.t, &c.t, &g);
    bad = lt_invalid(&g);
    CHECK(!bad, "trial %d: %s (m %lld n %lld k %lld)", trial, bad ? bad : "", (long long)g.m,
          (long long)g.n, (long long)g.k);
    ok = !bad;
    if (ok) {
        first = g.swapped ? &ub : &ua;
        second = g.swapped ? &ua : &ub;
        g_oob = false;
        emulate(&g, alpha, &first->buf, first->t.data, &second->buf, second->t.data, &c.buf,
                c.t.data);
        CHECK(!g_oob, "trial %d: access outside an operand's buffer", trial);
        ok = !g_oob;
        ref = malloc((size_t)n * sizeof(float));
        reference(&a.t, &b.t, &c.t, alpha, ref);
        for (int64_t i = 0; i < n && ok; i++) {
            int64_t off = offset_of(&c.t, i) + ((float *)c.t.data - c.buf.p);

            ok = c.buf.writes[off] == 1 && ref[i] == c.buf.p[off];
            CHECK(ok, "trial %d: c element %lld written %d times, %g vs %g (swapped %d, "
                  "batch %lld, outer %d)", trial, (long long)i, c.buf.writes[off],
                  (double)c.buf.p[off], (double)ref[i], g.swapped, (long long)g.batch,
                  g.n_outer);
        }
        for (int64_t i = 0; i < c.buf.n; i++)
            total += c.buf.writes[i];
        CHECK(!ok || total == n, "trial %d: %lld writes for %lld elements", trial,
              (long long)total, (long long)n);
        ok = ok && total == n;
        free(ref);
    }
    if (sa)
        free(ua.buf.p);
    if (sb)
        free(ub.buf.p);
    if (sc)
        free(c.buf.p);
    free(c.buf.writes);
    free(a.buf.p);
    free(b.buf.p);
    free(c0.buf.p);
    return ok;
}

static void test_random_problems(void)
{
    int failures = 0;

    for (int t = 0; t < TRIALS && failures < 5; t++)
        failures += !one_trial(t);
    CHECK(failures == 0, "%d of the random problems failed", failures);
}

/* The FLUX linear: x [4, 17, 33] @ w^T (w [21, 33]) is one GEMM, "TN"
 * (A = w transposed, B = x as is): the layout FP8 kernels will need. */
static void test_linear_is_one_tn_gemm(void)
{
    static float xs[4 * 17 * 33], ws[21 * 33], ys[4 * 17 * 21];
    pictor_tensor x = pictor_tensor_make(xs, PICTOR_F32, 3, (int64_t[]){ 4, 17, 33 });
    pictor_tensor w = pictor_tensor_make(ws, PICTOR_F32, 2, (int64_t[]){ 21, 33 });
    pictor_tensor wt = pictor_tensor_transpose(&w, 0, 1);
    pictor_tensor y = pictor_tensor_make(ys, PICTOR_F32, 3, (int64_t[]){ 4, 17, 21 });
    struct gemm_lt g;

    gemm_lt_map(&x, &wt, &y, &g);
    CHECK(g.swapped && g.op_a == GEMM_OP_T && g.op_b == GEMM_OP_N, "swapped %d ops %d/%d",
          g.swapped, g.op_a, g.op_b);
    CHECK(g.m == 21 && g.n == 68 && g.k == 33, "m %lld n %lld k %lld", (long long)g.m,
          (long long)g.n, (long long)g.k);
    CHECK(g.batch == 1 && g.n_outer == 0, "batch %lld outer %d", (long long)g.batch, g.n_outer);
    CHECK(g.ld_a == 33 && g.ld_b == 33 && g.ld_d == 21, "lds %lld %lld %lld",
          (long long)g.ld_a, (long long)g.ld_b, (long long)g.ld_d);
}

/* a [9, 16] @ b [5, 16, 11]: one strided batch of 5 with a's stride 0. */
static void test_broadcast_a_is_stride0(void)
{
    static float as[9 * 16], bs[5 * 16 * 11], cs[5 * 9 * 11];
    pictor_tensor a = pictor_tensor_make(as, PICTOR_F32, 2, (int64_t[]){ 9, 16 });
    pictor_tensor b = pictor_tensor_make(bs, PICTOR_F32, 3, (int64_t[]){ 5, 16, 11 });
    pictor_tensor c = pictor_tensor_make(cs, PICTOR_F32, 3, (int64_t[]){ 5, 9, 11 });
    struct gemm_lt g;

    gemm_lt_map(&a, &b, &c, &g);
    CHECK(g.swapped && g.batch == 5 && g.n_outer == 0, "swapped %d batch %lld outer %d",
          g.swapped, (long long)g.batch, g.n_outer);
    CHECK(g.stride_a == 16 * 11 && g.stride_b == 0 && g.stride_d == 9 * 11,
          "strides %lld %lld %lld", (long long)g.stride_a, (long long)g.stride_b,
          (long long)g.stride_d);
}

static void test_describable(void)
{
    static float p[64];
    pictor_tensor t = pictor_tensor_make(p, PICTOR_F32, 2, (int64_t[]){ 4, 8 });
    pictor_tensor tt = pictor_tensor_transpose(&t, 0, 1);
    pictor_tensor odd = t;

    odd.shape[1] = 4;
    odd.stride[1] = 2;
    CHECK(gemm_lt_describable(&t), "contiguous");
    CHECK(gemm_lt_describable(&tt), "transposed");
    CHECK(!gemm_lt_describable(&odd), "column stride 2 is not describable");
    odd.stride[0] = -8;
    odd.stride[1] = 1;
    CHECK(!gemm_lt_describable(&odd), "negative row stride");
}

int main(void)
{
    RUN(test_describable);
    RUN(test_linear_is_one_tn_gemm);
    RUN(test_broadcast_a_is_stride0);
    RUN(test_random_problems);
    TEST_MAIN_END();
}
