/*
 * tests/unit/test_ops_elementwise.c — the CPU backend's elementwise ops
 * (unary, binary, copy, fill, concat) against index formulas, the thread
 * pool's chunking, and the validation/dispatch rules of kernels/src/ops.c
 * (checked on a fake backend with empty or forwarding op slots, so every
 * wrapper is covered whatever the other CPU kernels do).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/cpu_internal.h"
#include "../harness/test.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Threads for the backend under test: more than one so the pool runs. */
#define TEST_THREADS 4
/* Above CPU_GRAIN (16384) several times, and odd, so chunks are uneven. */
#define BIG_N 100003

static pictor_backend *be;

/* ---- helpers ------------------------------------------------------------ */

static pictor_tensor host(void *data, int dtype, int ndim,
                          const int64_t *shape)
{
    return pictor_tensor_make(data, dtype, ndim, shape);
}

static int64_t offset_of(const pictor_tensor *t, const int64_t *idx)
{
    int64_t off = 0;

    for (int d = 0; d < t->ndim; d++)
        off += idx[d] * t->stride[d];
    return off;
}

/* Element idx of a float tensor as f32 (FP8 scaled, row_scale applied). */
static float get(const pictor_tensor *t, const int64_t *idx)
{
    size_t es = pictor_dtype_size(t->dtype);
    const char *p = (const char *)t->data + offset_of(t, idx) * (int64_t)es;
    float v;

    pictor_row_to_f32(&v, p, t->dtype, 1, t->scale);
    if (t->row_scale && t->ndim > 0 &&
        (t->dtype == PICTOR_F8_E4M3 || t->dtype == PICTOR_F8_E5M2))
        v *= t->row_scale[idx[0]];
    return v;
}

/* Advances a row-major multi-index; false after the last one. */
static bool next_index(int64_t *idx, const pictor_tensor *t)
{
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (++idx[d] < t->shape[d])
            return true;
        idx[d] = 0;
    }
    return false;
}

static bool message_has(const char *a, const char *b)
{
    const char *msg = pictor_backend_error(be);

    return strstr(msg, a) && (!b || strstr(msg, b));
}

/* ---- thread pool ---------------------------------------------------------- */

struct cover {
    int *hits;
    int64_t grain;
    int short_chunks;
};

static void cover_fn(void *arg, int64_t begin, int64_t end)
{
    struct cover *c = arg;

    if (end - begin < c->grain)
        __atomic_add_fetch(&c->short_chunks, 1, __ATOMIC_RELAXED);
    for (int64_t i = begin; i < end; i++)
        c->hits[i]++; /* chunks are disjoint: no two threads share i */
}

static void test_pool_parallel_for(void)
{
    struct cpu_ctx ctx = { .n_threads = TEST_THREADS,
                           .pool = cpu_pool_create(TEST_THREADS) };
    static const int64_t sizes[] = { 1, 2, 3, 7, 64, 1000, 4099 };
    static const int64_t grains[] = { 1, 3, 100, 5000 };
    int *hits = calloc(4099, sizeof *hits);

    CHECK(ctx.pool != NULL && hits != NULL, "pool created");
    if (!ctx.pool || !hits)
        goto out;
    for (int rep = 0; rep < 200; rep++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
                struct cover c = { hits, grains[g], 0 };
                int64_t n = sizes[s];
                bool ok = true;

                memset(hits, 0, (size_t)n * sizeof *hits);
                cpu_parallel_for(&ctx, n, c.grain, cover_fn, &c);
                for (int64_t i = 0; i < n; i++)
                    ok &= hits[i] == 1;
                if (rep == 0 || !ok) {
                    CHECK(ok, "n=%lld grain=%lld: every index once",
                          (long long)n, (long long)c.grain);
                    /* A range shorter than the grain runs as one chunk. */
                    CHECK(c.short_chunks == 0 || (n < c.grain &&
                                                  c.short_chunks == 1),
                          "chunks >= grain (n=%lld grain=%lld)",
                          (long long)n, (long long)c.grain);
                }
            }
        }
    }
    cpu_parallel_for(&ctx, 0, 1, cover_fn, NULL); /* n = 0: no call */
    CHECK(1, "n = 0 returns");
out:
    free(hits);
    cpu_pool_destroy(ctx.pool);
}

/* ---- unary ---------------------------------------------------------------- */

static double ref_unary(enum pictor_unary fn, double x)
{
    switch (fn) {
    case PICTOR_UNARY_GELU_ERF: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case PICTOR_UNARY_GELU_TANH:
        return 0.5 * x *
               (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case PICTOR_UNARY_QUICK_GELU: return x / (1 + exp(-1.702 * x));
    case PICTOR_UNARY_SILU: return x / (1 + exp(-x));
    default: return NAN;
    }
}

static void test_unary_contiguous(void)
{
    static const int64_t sizes[] = { 1, 7, 1023, BIG_N };
    float *x = malloc(BIG_N * sizeof *x), *y = malloc(BIG_N * sizeof *y);

    test_fill_uniform(x, BIG_N, 1, -6.0f, 6.0f);
    for (int fn = 0; fn < PICTOR_UNARY_COUNT; fn++) {
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int64_t n = sizes[s];
            pictor_tensor tx = host(x, PICTOR_F32, 1, &n);
            pictor_tensor ty = host(y, PICTOR_F32, 1, &n);
            double worst = 0;

            CHECK(pictor_unary(be, fn, &tx, &ty) == PICTOR_OK, "%s",
                  pictor_backend_error(be));
            for (int64_t i = 0; i < n; i++) {
                double r = ref_unary(fn, x[i]);
                double e = fabs(y[i] - r) / (1e-6 + 1e-6 * fabs(r));
                worst = e > worst ? e : worst;
            }
            CHECK(worst <= 2.0, "%s n=%lld: error %.3g x tolerance",
                  pictor_unary_names[fn], (long long)n, worst);
        }
    }
    free(x);
    free(y);
}

/* Transposed f32 input, contiguous bf16 output, then in place on a view. */
static void test_unary_strided_bf16_inplace(void)
{
    int64_t s[2] = { 37, 29 };
    float x[37 * 29], copy[37 * 29];
    uint16_t y[29 * 37];
    pictor_tensor tx = host(x, PICTOR_F32, 2, s);
    pictor_tensor xt = pictor_tensor_transpose(&tx, 0, 1); /* [29, 37] */
    int64_t ys[2] = { 29, 37 }, idx[2] = { 0, 0 };
    pictor_tensor ty = host(y, PICTOR_BF16, 2, ys);
    bool exact = true;

    test_fill_uniform(x, 37 * 29, 2, -4.0f, 4.0f);
    memcpy(copy, x, sizeof x);
    CHECK(pictor_unary(be, PICTOR_UNARY_SILU, &xt, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    do {
        float xv = x[idx[1] * 29 + idx[0]];
        float want = xv / (1.0f + expf(-xv)); /* the f32 formula */
        exact &= y[idx[0] * 37 + idx[1]] == pictor_f32_to_bf16(want);
    } while (next_index(idx, &ty));
    CHECK(exact, "bf16(silu(x^T)) bit-exact with rounding the f32 result");

    CHECK(pictor_unary(be, PICTOR_UNARY_GELU_ERF, &xt, &xt) == PICTOR_OK,
          "in place on a transposed view: %s", pictor_backend_error(be));
    double worst = 0;
    for (int i = 0; i < 37 * 29; i++) {
        double r = ref_unary(PICTOR_UNARY_GELU_ERF, copy[i]);
        double e = fabs(x[i] - r);
        worst = e > worst ? e : worst;
    }
    CHECK(worst < 1e-5, "in-place gelu max error %g", worst);
}

/* ---- binary --------------------------------------------------------------- */

static void test_binary_broadcast_last(void)
{
    int64_t sa[3] = { 2, 3, 4 }, sb[1] = { 4 }, idx[3] = { 0 };
    float a[24], b[4], y[24];
    pictor_tensor ta = host(a, PICTOR_F32, 3, sa), tb = host(b, PICTOR_F32, 1, sb),
                  ty = host(y, PICTOR_F32, 3, sa);
    bool ok = true;

    test_fill_uniform(a, 24, 3, -1, 1);
    test_fill_uniform(b, 4, 4, -1, 1);
    CHECK(pictor_add(be, &ta, &tb, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    do {
        int64_t i = (idx[0] * 3 + idx[1]) * 4 + idx[2];
        ok &= y[i] == a[i] + b[idx[2]];
    } while (next_index(idx, &ty));
    CHECK(ok, "[2,3,4] + [4]");

    /* Broadcast along the innermost dim (stride 0 there): [2,3,4] + [3,1]. */
    int64_t sc[2] = { 3, 1 };
    float cc[3];
    pictor_tensor tc = host(cc, PICTOR_F32, 2, sc);
    test_fill_uniform(cc, 3, 12, -1, 1);
    CHECK(pictor_add(be, &tc, &ta, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    ok = true;
    idx[0] = idx[1] = idx[2] = 0;
    do {
        int64_t i = (idx[0] * 3 + idx[1]) * 4 + idx[2];
        ok &= y[i] == cc[idx[1]] + a[i];
    } while (next_index(idx, &ty));
    CHECK(ok, "[3,1] + [2,3,4]");
}

static void test_binary_broadcast_both(void)
{
    int64_t sa[3] = { 2, 1, 4 }, sb[2] = { 3, 1 }, sy[3] = { 2, 3, 4 },
            idx[3] = { 0 };
    float a[8], b[3], y[24];
    pictor_tensor ta = host(a, PICTOR_F32, 3, sa), tb = host(b, PICTOR_F32, 2, sb),
                  ty = host(y, PICTOR_F32, 3, sy);
    bool ok = true;

    test_fill_uniform(a, 8, 5, -1, 1);
    test_fill_uniform(b, 3, 6, -1, 1);
    CHECK(pictor_mul(be, &ta, &tb, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    do {
        float want = a[idx[0] * 4 + idx[2]] * b[idx[1]];
        ok &= y[(idx[0] * 3 + idx[1]) * 4 + idx[2]] == want;
    } while (next_index(idx, &ty));
    CHECK(ok, "[2,1,4] * [3,1] -> [2,3,4]");
    /* Commuted operands give the same result. */
    float y2[24];
    pictor_tensor ty2 = host(y2, PICTOR_F32, 3, sy);
    CHECK(pictor_mul(be, &tb, &ta, &ty2) == PICTOR_OK &&
              memcmp(y, y2, sizeof y) == 0, "[3,1] * [2,1,4]");
}

/* a transposed, b contiguous, y bf16; then in place into a strided view. */
static void test_binary_strided_inplace_bf16(void)
{
    int64_t s[2] = { 45, 33 }, st[2] = { 33, 45 }, idx[2] = { 0 };
    float a[45 * 33], b[33 * 45], a0[45 * 33];
    uint16_t y[33 * 45];
    pictor_tensor ta = host(a, PICTOR_F32, 2, s);
    pictor_tensor at = pictor_tensor_transpose(&ta, 0, 1);
    pictor_tensor tb = host(b, PICTOR_F32, 2, st), ty = host(y, PICTOR_BF16, 2, st);
    bool ok = true;

    test_fill_uniform(a, 45 * 33, 7, -3, 3);
    test_fill_uniform(b, 45 * 33, 8, -3, 3);
    memcpy(a0, a, sizeof a);
    CHECK(pictor_add(be, &at, &tb, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    do {
        float want = a[idx[1] * 33 + idx[0]] + b[idx[0] * 45 + idx[1]];
        ok &= y[idx[0] * 45 + idx[1]] == pictor_f32_to_bf16(want);
    } while (next_index(idx, &ty));
    CHECK(ok, "bf16(a^T + b) bit-exact");

    /* In place: at = at * b (the residual pattern of the VAE attention). */
    CHECK(pictor_mul(be, &at, &tb, &at) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    ok = true;
    idx[0] = idx[1] = 0;
    do {
        int64_t ia = idx[1] * 33 + idx[0];
        ok &= a[ia] == a0[ia] * b[idx[0] * 45 + idx[1]];
    } while (next_index(idx, &at));
    CHECK(ok, "in-place mul on a transposed view");
}

static void test_binary_big_inplace(void)
{
    int64_t n = BIG_N;
    float *a = malloc(BIG_N * sizeof *a), *b = malloc(BIG_N * sizeof *b),
          *a0 = malloc(BIG_N * sizeof *a0);
    pictor_tensor ta = host(a, PICTOR_F32, 1, &n), tb = host(b, PICTOR_F32, 1, &n);
    bool ok = true;

    test_fill_uniform(a, BIG_N, 9, -1, 1);
    test_fill_uniform(b, BIG_N, 10, -1, 1);
    memcpy(a0, a, BIG_N * sizeof *a);
    CHECK(pictor_add(be, &ta, &tb, &ta) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    for (int64_t i = 0; i < n; i++)
        ok &= a[i] == a0[i] + b[i];
    CHECK(ok, "a += b over %d elements", BIG_N);
    /* Mixed dtypes with a broadcast scalar: bf16 a * 0-d f16 b. */
    uint16_t *h = malloc(BIG_N * sizeof *h), two = pictor_f32_to_f16(2.0f);
    pictor_tensor th = host(h, PICTOR_BF16, 1, &n);
    pictor_tensor ts = host(&two, PICTOR_F16, 0, NULL);
    for (int64_t i = 0; i < n; i++)
        h[i] = pictor_f32_to_bf16(a0[i]);
    CHECK(pictor_mul(be, &th, &ts, &th) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    ok = true;
    for (int64_t i = 0; i < n; i++)
        ok &= h[i] == pictor_f32_to_bf16(
                          2.0f * pictor_bf16_to_f32(pictor_f32_to_bf16(a0[i])));
    CHECK(ok, "bf16 * f16 scalar, in place");
    free(h);
    free(a);
    free(b);
    free(a0);
}

/* ---- copy ----------------------------------------------------------------- */

static void test_copy_permute(void)
{
    int64_t s[4] = { 2, 3, 4, 5 }, idx[4] = { 0 };
    int perm[4] = { 3, 1, 0, 2 };
    float src[120], dst[120];
    pictor_tensor ts = host(src, PICTOR_F32, 4, s);
    pictor_tensor v = pictor_tensor_permute(&ts, perm); /* [5, 3, 2, 4] */
    pictor_tensor td = host(dst, PICTOR_F32, 4, v.shape);
    bool ok = true;

    for (int i = 0; i < 120; i++)
        src[i] = (float)i;
    CHECK(pictor_copy(be, &v, &td) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    do { /* dst[a, b, c, d] = src[c, b, d, a] */
        float want = (float)(((idx[2] * 3 + idx[1]) * 4 + idx[3]) * 5 + idx[0]);
        ok &= dst[((idx[0] * 3 + idx[1]) * 2 + idx[2]) * 4 + idx[3]] == want;
    } while (next_index(idx, &td));
    CHECK(ok, "permuted copy matches the index formula");
}

static void test_copy_dtypes(void)
{
    enum { N = 1031 };
    int64_t n = N;
    float f[N], back[N];
    uint16_t h[N], bb[N];
    pictor_tensor tf = host(f, PICTOR_F32, 1, &n), tback = host(back, PICTOR_F32, 1, &n),
                  th = host(h, PICTOR_F16, 1, &n), tb = host(bb, PICTOR_BF16, 1, &n);
    bool ok = true;

    test_fill_uniform(f, N, 11, -70000.0f, 70000.0f);
    f[0] = NAN, f[1] = -0.0f, f[2] = 65520.0f, f[3] = 1e-8f;
    CHECK(pictor_copy(be, &tf, &th) == PICTOR_OK, "f32 -> f16");
    for (int i = 0; i < N; i++)
        ok &= h[i] == pictor_f32_to_f16(f[i]);
    CHECK(ok, "f32 -> f16 bit-exact (inf beyond 65520, NaN kept)");
    CHECK(pictor_copy(be, &th, &tb) == PICTOR_OK, "f16 -> bf16");
    ok = true;
    for (int i = 0; i < N; i++)
        ok &= bb[i] == pictor_f32_to_bf16(pictor_f16_to_f32(h[i]));
    CHECK(ok, "f16 -> bf16 through f32");
    CHECK(pictor_copy(be, &tb, &tback) == PICTOR_OK, "bf16 -> f32");
    ok = true;
    for (int i = 1; i < N; i++)
        ok &= back[i] == pictor_bf16_to_f32(bb[i]);
    CHECK(ok && isnan(back[0]), "bf16 -> f32 exact, NaN stays NaN");

    /* Same dtype moves bytes: an f16 NaN payload survives. */
    uint16_t h2[N];
    pictor_tensor th2 = host(h2, PICTOR_F16, 1, &n);
    h[5] = 0x7d01; /* signalling-style NaN payload */
    CHECK(pictor_copy(be, &th, &th2) == PICTOR_OK &&
              memcmp(h, h2, sizeof h) == 0, "f16 -> f16 is a byte copy");
}

static void test_copy_ints(void)
{
    int64_t n = 4;
    int64_t big[4] = { 5, -3, (1LL << 32) + 7, (1LL << 40) };
    int32_t narrow[4], i32[4] = { -16777217, 2, 3, 16777217 };
    int64_t wide[4];
    float f[4];
    pictor_tensor t64 = host(big, PICTOR_I64, 1, &n), t32 = host(narrow, PICTOR_I32, 1, &n),
                  ti = host(i32, PICTOR_I32, 1, &n), tw = host(wide, PICTOR_I64, 1, &n),
                  tf = host(f, PICTOR_F32, 1, &n);

    CHECK(pictor_copy(be, &t64, &t32) == PICTOR_OK, "i64 -> i32");
    CHECK(narrow[0] == 5 && narrow[1] == -3 && narrow[2] == 7 &&
              narrow[3] == 0, "narrowing wraps modulo 2^32: %d %d %d %d",
          narrow[0], narrow[1], narrow[2], narrow[3]);
    CHECK(pictor_copy(be, &ti, &tw) == PICTOR_OK, "i32 -> i64");
    CHECK(wide[0] == -16777217 && wide[3] == 16777217,
          "widening is exact (not through f32)");
    CHECK(pictor_copy(be, &ti, &tf) == PICTOR_OK && f[3] == 16777216.0f &&
              f[1] == 2.0f, "i32 -> f32 by value");
    f[0] = -2.9f, f[1] = 2.9f, f[2] = 1e30f, f[3] = NAN;
    CHECK(pictor_copy(be, &tf, &ti) == PICTOR_OK && i32[0] == -2 &&
              i32[1] == 2 && i32[2] == INT32_MAX && i32[3] == 0,
          "f32 -> i32 truncates, clamps, NaN -> 0");
}

static void test_copy_fp8(void)
{
    int64_t s[2] = { 3, 4 }, idx[2] = { 0 };
    float f[12] = { 0.1f, -0.2f, 0.3f, 1.0f, 200.0f, -300.0f, 0.0f, 1e-3f,
                    -1.0f, 2.0f, 3.5f, 100.0f };
    float rs[3] = { 1.0f, 0.5f, 4.0f }, back[12];
    uint8_t q[12];
    pictor_tensor tf = host(f, PICTOR_F32, 2, s), tq = host(q, PICTOR_F8_E4M3, 2, s),
                  tb = host(back, PICTOR_F32, 2, s);
    bool ok = true;

    tq.scale = 0.5f;
    CHECK(pictor_copy(be, &tf, &tq) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    for (int i = 0; i < 12; i++)
        ok &= q[i] == pictor_f32_to_e4m3(f[i] / 0.5f, false);
    CHECK(ok, "FP8 stores encode(x / dst.scale)");
    CHECK(q[5] == 0xff, "-300/0.5 = -600 overflows to NaN without saturate");
    CHECK(pictor_copy_ex(be, &tf, &tq, true) == PICTOR_OK && q[5] == 0xfe,
          "saturated to -448");

    /* Reading FP8 applies scale and row_scale[row]. */
    tq.row_scale = rs;
    CHECK(pictor_copy(be, &tq, &tb) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    ok = true;
    do {
        int64_t i = idx[0] * 4 + idx[1];
        ok &= back[i] == pictor_e4m3_to_f32(q[i]) * 0.5f * rs[idx[0]];
    } while (next_index(idx, &tb));
    CHECK(ok, "FP8 load = decode * scale * row_scale[row]");

    /* A transposed FP8 view drops row_scale (it indexes dimension 0). */
    pictor_tensor qt = pictor_tensor_transpose(&tq, 0, 1);
    CHECK(qt.row_scale == NULL, "transpose clears row_scale");

    /* e5m2: overflow to inf, saturate to max. */
    uint8_t q5[12];
    pictor_tensor t5 = host(q5, PICTOR_F8_E5M2, 2, s);
    t5.scale = 1.0f / 1024.0f;
    CHECK(pictor_copy(be, &tf, &t5) == PICTOR_OK && q5[5] == 0xfc,
          "e5m2 -300*1024 -> -inf");
    CHECK(pictor_copy_ex(be, &tf, &t5, true) == PICTOR_OK && q5[5] == 0xfb,
          "e5m2 saturate -> -57344");
}

/* ---- fill ----------------------------------------------------------------- */

static void test_fill(void)
{
    int64_t n = BIG_N, s[2] = { 6, 5 };
    float *f = malloc(BIG_N * sizeof *f);
    uint16_t h[30];
    int64_t i64[7];
    pictor_tensor tf = host(f, PICTOR_F32, 1, &n), th = host(h, PICTOR_BF16, 2, s);
    pictor_tensor col = pictor_tensor_slice(&th, 1, 2, 2); /* strided view */
    bool ok = true;

    CHECK(pictor_fill(be, &tf, 1.25f) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    for (int64_t i = 0; i < n; i++)
        ok &= f[i] == 1.25f;
    CHECK(ok, "f32 fill");
    memset(h, 0, sizeof h);
    CHECK(pictor_fill(be, &col, 0.1f) == PICTOR_OK, "%s",
          pictor_backend_error(be));
    ok = true;
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 5; c++)
            ok &= h[r * 5 + c] == ((c == 2 || c == 3) ? 0x3dcd : 0);
    CHECK(ok, "bf16 fill of columns 2..3 only");
    int64_t s7 = 7;
    pictor_tensor ti = host(i64, PICTOR_I64, 1, &s7);
    CHECK(pictor_fill(be, &ti, -3.0f) == PICTOR_OK && i64[0] == -3 &&
              i64[6] == -3, "i64 fill by value");
    free(f);
}

/* ---- concat --------------------------------------------------------------- */

static void test_concat_each_dim(void)
{
    for (int dim = 0; dim < 3; dim++) {
        int64_t sa[3] = { 2, 3, 4 }, sb[3] = { 2, 3, 4 }, sd[3] = { 2, 3, 4 };
        float a[24], d[48];
        uint16_t b[24]; /* bf16 source: concat converts too */
        int64_t idx[3] = { 0 };
        bool ok = true;

        sb[dim] = 2 + dim % 2;
        sd[dim] = sa[dim] + sb[dim];
        pictor_tensor ta = host(a, PICTOR_F32, 3, sa), tb = host(b, PICTOR_BF16, 3, sb),
                      td = host(d, PICTOR_F32, 3, sd);
        const pictor_tensor *srcs[2] = { &ta, &tb };

        test_fill_uniform(a, 24, 20 + dim, -1, 1);
        for (int i = 0; i < 24; i++)
            b[i] = pictor_f32_to_bf16((float)i);
        CHECK(pictor_concat(be, srcs, 2, dim, &td) == PICTOR_OK, "%s",
              pictor_backend_error(be));
        do {
            int64_t j[3] = { idx[0], idx[1], idx[2] };
            float want;

            if (j[dim] < sa[dim]) {
                want = get(&ta, j);
            } else {
                j[dim] -= sa[dim];
                want = get(&tb, j);
            }
            ok &= get(&td, idx) == want;
        } while (next_index(idx, &td));
        CHECK(ok, "concat along dim %d", dim);
    }
    /* Negative dim counts from the end, as torch.cat's. */
    int64_t s1[2] = { 2, 1 }, s2[2] = { 2, 2 }, s3[2] = { 2, 3 };
    float x[2] = { 1, 2 }, y[4] = { 3, 4, 5, 6 }, z[6];
    pictor_tensor tx = host(x, PICTOR_F32, 2, s1), ty = host(y, PICTOR_F32, 2, s2),
                  tz = host(z, PICTOR_F32, 2, s3);
    const pictor_tensor *srcs[2] = { &tx, &ty };

    CHECK(pictor_concat(be, srcs, 2, -1, &tz) == PICTOR_OK && z[0] == 1 &&
              z[1] == 3 && z[2] == 4 && z[3] == 2 && z[4] == 5 && z[5] == 6,
          "dim -1");
}

/* ---- validation on the real backend --------------------------------------- */

static void test_validation_errors(void)
{
    int64_t sa[3] = { 2, 3, 4 }, sb[1] = { 3 }, s23[2] = { 2, 3 },
            s32[2] = { 3, 2 };
    float a[24], b[3], y[24];
    int32_t ids[3];
    pictor_tensor ta = host(a, PICTOR_F32, 3, sa), tb = host(b, PICTOR_F32, 1, sb),
                  ty = host(y, PICTOR_F32, 3, sa);

    CHECK(pictor_add(be, &ta, &tb, &ty) == PICTOR_E_INVALID, "[3] + [2,3,4]");
    CHECK(message_has("add", "[3] f32") && message_has("[2, 3, 4]", NULL),
          "message names op, operand and shapes: %s", pictor_backend_error(be));

    pictor_tensor x23 = host(a, PICTOR_F32, 2, s23), y32 = host(y, PICTOR_F32, 2, s32);
    CHECK(pictor_unary(be, PICTOR_UNARY_SILU, &x23, &y32) == PICTOR_E_INVALID,
          "unary shape");
    CHECK(message_has("unary", "[3, 2]"), "%s", pictor_backend_error(be));
    CHECK(pictor_unary(be, PICTOR_UNARY_COUNT, &x23, &x23) == PICTOR_E_INVALID,
          "unknown unary fn");
    CHECK(pictor_copy(be, &x23, &y32) == PICTOR_E_INVALID &&
              message_has("copy", "dst"), "copy shape: %s",
          pictor_backend_error(be));

    pictor_tensor ti = host(ids, PICTOR_I32, 1, sb);
    CHECK(pictor_mul(be, &ti, &tb, &tb) == PICTOR_E_INVALID &&
              message_has("mul", "float"), "ints refused by mul: %s",
          pictor_backend_error(be));
    CHECK(pictor_add(be, NULL, &tb, &tb) == PICTOR_E_INVALID &&
              message_has("add", "NULL"), "NULL: %s", pictor_backend_error(be));

    pictor_tensor cuda = tb;
    cuda.device = PICTOR_DEVICE_CUDA;
    CHECK(pictor_add(be, &cuda, &tb, &tb) == PICTOR_E_INVALID &&
              message_has("device", NULL), "device: %s",
          pictor_backend_error(be));

    uint8_t q[3];
    pictor_tensor tq = host(q, PICTOR_F8_E4M3, 1, sb);
    tq.scale = 0.0f;
    CHECK(pictor_copy(be, &tb, &tq) == PICTOR_E_INVALID &&
              message_has("scale", NULL), "FP8 scale 0: %s",
          pictor_backend_error(be));

    const pictor_tensor *srcs[2] = { &x23, &y32 };
    float d[12];
    int64_t s43[2] = { 4, 3 };
    pictor_tensor td = host(d, PICTOR_F32, 2, s43);
    CHECK(pictor_concat(be, srcs, 2, 0, &td) == PICTOR_E_INVALID &&
              message_has("concat", "srcs[1]"), "concat: %s",
          pictor_backend_error(be));
    CHECK(pictor_concat(be, srcs, 1, 2, &td) == PICTOR_E_INVALID &&
              message_has("concat", "dim 2"), "concat dim: %s",
          pictor_backend_error(be));
}

/* ---- fake backends: dispatch rules and every wrapper's validation --------- */

static int fake_alloc(void *ctx, size_t bytes, void **out)
{
    *out = aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
    return *out ? PICTOR_OK : PICTOR_E_NOMEM;
}

static void fake_free(void *ctx, void *p)
{
    free(p);
}

static int fake_bytes(void *ctx, void *d, const void *s, size_t n)
{
    memcpy(d, s, n);
    return PICTOR_OK;
}

static int fake_sync(void *ctx)
{
    return PICTOR_OK;
}

static bool fake_refuse(void *ctx, enum pictor_op op,
                        const struct pictor_op_args *a)
{
    return false;
}

static const struct pictor_backend_iface fake_empty = {
    .name = "fake", .device = PICTOR_DEVICE_CPU, .alloc = fake_alloc,
    .free = fake_free, .upload = fake_bytes, .download = fake_bytes,
    .synchronize = fake_sync,
};

/* Expect: valid call -> UNSUPPORTED (empty slot), naming op and backend. */
#define EXPECT_UNSUPPORTED(fb, call, opname)                                 \
    do {                                                                     \
        int rc_ = (call);                                                    \
        CHECK(rc_ == PICTOR_E_UNSUPPORTED &&                                 \
                  strstr(pictor_backend_error(fb), "op " opname " ") &&      \
                  strstr(pictor_backend_error(fb), "fake"),                  \
              "%s: rc %d, '%s'", #call, rc_, pictor_backend_error(fb));      \
    } while (0)
#define EXPECT_INVALID(fb, call, opname)                                     \
    do {                                                                     \
        int rc_ = (call);                                                    \
        CHECK(rc_ == PICTOR_E_INVALID &&                                     \
                  strncmp(pictor_backend_error(fb), opname ":",              \
                          strlen(opname ":")) == 0,                          \
              "%s: rc %d, '%s'", #call, rc_, pictor_backend_error(fb));      \
    } while (0)

static pictor_tensor ft(float *buf, int ndim, int64_t a, int64_t b, int64_t c,
                        int64_t d)
{
    int64_t s[4] = { a, b, c, d };
    return host(buf, PICTOR_F32, ndim, s);
}

static void test_wrappers_dispatch(void)
{
    struct pictor_backend fake = { .iface = &fake_empty };
    pictor_backend *fb = &fake;
    static float m[4096]; /* any float operand reads from here */
    pictor_tensor a = ft(m, 2, 2, 3, 0, 0), b = ft(m, 2, 3, 4, 0, 0),
                  c = ft(m, 2, 2, 4, 0, 0), b44 = ft(m, 2, 4, 4, 0, 0),
                  v4 = ft(m, 1, 4, 0, 0, 0), v5 = ft(m, 1, 5, 0, 0, 0),
                  v6 = ft(m, 1, 6, 0, 0, 0);

    EXPECT_UNSUPPORTED(fb, pictor_matmul(fb, &a, &b, &v4, 1, &c), "matmul");
    EXPECT_INVALID(fb, pictor_matmul(fb, &a, &b44, NULL, 1, &c), "matmul");
    EXPECT_INVALID(fb, pictor_matmul(fb, &a, &b, &v5, 1, &c), "matmul");
    pictor_tensor ba = ft(m, 4, 2, 1, 3, 5), bb = ft(m, 3, 4, 5, 6, 0),
                  bc = ft(m, 4, 2, 4, 3, 6), bx = ft(m, 4, 3, 1, 3, 5);
    EXPECT_UNSUPPORTED(fb, pictor_matmul(fb, &ba, &bb, NULL, 1, &bc),
                       "matmul");
    EXPECT_INVALID(fb, pictor_matmul(fb, &bx, &bb, NULL, 1, &bc), "matmul");

    pictor_tensor lx = ft(m, 2, 5, 3, 0, 0), lw = ft(m, 2, 4, 3, 0, 0),
                  ly = ft(m, 2, 5, 4, 0, 0), lw2 = ft(m, 2, 4, 2, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_linear(fb, &lx, &lw, &v4, &ly), "matmul");
    EXPECT_INVALID(fb, pictor_linear(fb, &lx, &lw2, &v4, &ly), "linear");

    pictor_tensor cx = ft(m, 4, 1, 2, 5, 5), cw = ft(m, 4, 3, 2, 3, 3),
                  cy = ft(m, 4, 1, 3, 3, 3), cy2 = ft(m, 4, 1, 3, 2, 2),
                  cb = ft(m, 1, 3, 0, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_conv2d(fb, &cx, &cw, &cb, 2, 2, 1, 1, &cy),
                       "conv2d");
    EXPECT_INVALID(fb, pictor_conv2d(fb, &cx, &cw, &cb, 2, 2, 1, 1, &cy2),
                   "conv2d");
    EXPECT_INVALID(fb, pictor_conv2d(fb, &cx, &cw, &cb, 0, 2, 1, 1, &cy),
                   "conv2d");

    pictor_tensor gx = ft(m, 4, 2, 6, 4, 4);
    EXPECT_UNSUPPORTED(fb, pictor_group_norm(fb, &gx, 3, 1e-6f, &v6, &v6,
                                             true, &gx), "group_norm");
    EXPECT_INVALID(fb, pictor_group_norm(fb, &gx, 4, 1e-6f, &v6, &v6, true,
                                         &gx), "group_norm");

    pictor_tensor nx = ft(m, 2, 2, 5, 0, 0), ny = ft(m, 2, 5, 2, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_layer_norm(fb, &nx, 1e-5f, &v5, NULL, &nx),
                       "layer_norm");
    EXPECT_INVALID(fb, pictor_layer_norm(fb, &nx, 1e-5f, &v4, NULL, &nx),
                   "layer_norm");
    EXPECT_UNSUPPORTED(fb, pictor_rms_norm(fb, &nx, 1e-6f, &v5, &nx),
                       "rms_norm");
    EXPECT_INVALID(fb, pictor_rms_norm(fb, &nx, 1e-6f, &v6, &nx), "rms_norm");
    EXPECT_UNSUPPORTED(fb, pictor_softmax(fb, &nx, &nx), "softmax");
    EXPECT_INVALID(fb, pictor_softmax(fb, &nx, &ny), "softmax");

    pictor_tensor q = ft(m, 4, 1, 2, 3, 4), k = ft(m, 4, 1, 2, 5, 4),
                  vv = ft(m, 4, 1, 2, 5, 6), o = ft(m, 4, 1, 2, 3, 6),
                  mask = ft(m, 2, 3, 5, 0, 0), badmask = ft(m, 2, 2, 5, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_sdpa(fb, &q, &k, &vv, &mask, 0.5f, false,
                                       &o), "sdpa");
    EXPECT_INVALID(fb, pictor_sdpa(fb, &q, &k, &vv, &badmask, 0.5f, false,
                                   &o), "sdpa");
    EXPECT_INVALID(fb, pictor_sdpa(fb, &q, &vv, &vv, NULL, 0.5f, false, &o),
                   "sdpa");

    pictor_tensor ux = ft(m, 4, 1, 2, 3, 4), uy = ft(m, 4, 1, 2, 6, 8),
                  uy2 = ft(m, 4, 1, 2, 6, 7);
    EXPECT_UNSUPPORTED(fb, pictor_upsample_nearest2x(fb, &ux, &uy),
                       "upsample_nearest2x");
    EXPECT_INVALID(fb, pictor_upsample_nearest2x(fb, &ux, &uy2),
                   "upsample_nearest2x");

    int64_t ids[6] = { 0, 9, 3, 4, 5, 1 }, is[2] = { 2, 3 };
    pictor_tensor table = ft(m, 2, 10, 4, 0, 0), ey = ft(m, 3, 2, 3, 4, 0);
    pictor_tensor tid = host(ids, PICTOR_I64, 2, is);
    EXPECT_UNSUPPORTED(fb, pictor_embedding(fb, &table, &tid, &ey),
                       "embedding");
    ids[1] = 10;
    EXPECT_INVALID(fb, pictor_embedding(fb, &table, &tid, &ey), "embedding");
    CHECK(strstr(pictor_backend_error(fb), "outside"), "id range: %s",
          pictor_backend_error(fb));
    EXPECT_INVALID(fb, pictor_embedding(fb, &table, &a, &ey), "embedding");

    pictor_tensor rx = ft(m, 4, 1, 3, 2, 4), rc = ft(m, 2, 3, 4, 0, 0),
                  rx5 = ft(m, 4, 1, 3, 2, 5), rc5 = ft(m, 2, 3, 5, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_rope(fb, &rx, &rc, &rc, &rx), "rope");
    EXPECT_INVALID(fb, pictor_rope(fb, &rx5, &rc5, &rc5, &rx5), "rope");

    pictor_tensor tt = ft(m, 1, 2, 0, 0, 0), ty = ft(m, 2, 2, 8, 0, 0),
                  ty3 = ft(m, 2, 3, 8, 0, 0);
    EXPECT_UNSUPPORTED(fb, pictor_timestep_embedding(fb, &tt, true, 0, 1,
                                                     10000, &ty),
                       "timestep_embedding");
    EXPECT_INVALID(fb, pictor_timestep_embedding(fb, &tt, true, 0, 1, 10000,
                                                 &ty3), "timestep_embedding");

    EXPECT_UNSUPPORTED(fb, pictor_fill(fb, &a, 0), "fill");
    EXPECT_UNSUPPORTED(fb, pictor_unary(fb, PICTOR_UNARY_SILU, &a, &a),
                       "unary");
    EXPECT_UNSUPPORTED(fb, pictor_add(fb, &a, &a, &a), "binary");
    EXPECT_UNSUPPORTED(fb, pictor_copy(fb, &a, &a), "copy");
    const pictor_tensor *srcs[1] = { &a };
    EXPECT_UNSUPPORTED(fb, pictor_concat(fb, srcs, 1, 0, &a), "copy");

    /* supports() refusing: still UNSUPPORTED, never a crash. */
    struct pictor_backend_iface refusing = fake_empty;
    refusing.supports = fake_refuse;
    refusing.op[PICTOR_OP_FILL] = NULL;
    struct pictor_backend fake2 = { .iface = &refusing };
    EXPECT_UNSUPPORTED(&fake2, pictor_fill(&fake2, &a, 0), "fill");
}

/* A naive f32 matmul slot (2-D only, reads any float dtype and strides). */
static int naive_matmul(void *ctx, const struct pictor_op_args *args,
                        char *err, size_t errlen)
{
    const pictor_tensor *A = args->u.matmul.a, *B = args->u.matmul.b,
                        *bias = args->u.matmul.bias;
    pictor_tensor *C = args->u.matmul.c;

    if (A->ndim != 2 || B->ndim != 2) {
        snprintf(err, errlen, "naive_matmul: 2-D only");
        return PICTOR_E_UNSUPPORTED;
    }
    for (int64_t i = 0; i < C->shape[0]; i++) {
        for (int64_t j = 0; j < C->shape[1]; j++) {
            double acc = 0;
            for (int64_t kk = 0; kk < A->shape[1]; kk++) {
                int64_t ia[2] = { i, kk }, ib[2] = { kk, j };
                acc += (double)get(A, ia) * get(B, ib);
            }
            int64_t ib1[1] = { j }, ic[2] = { i, j };
            const float *cs = args->u.matmul.col_scale;
            float v = (float)(args->u.matmul.alpha * acc) * (cs ? cs[j] : 1.0f) +
                      (bias ? get(bias, ib1) : 0.0f);
            pictor_row_from_f32((char *)C->data + offset_of(C, ic) *
                                    (int64_t)pictor_dtype_size(C->dtype),
                                C->dtype, &v, 1, C->scale, false);
        }
    }
    return PICTOR_OK;
}

/* Forwards elementwise ops to the real CPU backend (the context). */
static int forward_binary(void *ctx, const struct pictor_op_args *args,
                          char *err, size_t errlen)
{
    return pictor_binary(ctx, args->u.binary.fn, args->u.binary.a,
                         args->u.binary.b, args->u.binary.y);
}

/* pictor_linear: plain weights, then FP8 weights with per-row scales (handed
 * to the matmul slot as its col_scale). */
static void test_linear_row_scale(void)
{
    struct pictor_backend_iface iface = fake_empty;
    iface.op[PICTOR_OP_MATMUL] = naive_matmul;
    iface.op[PICTOR_OP_BINARY] = forward_binary;
    struct pictor_backend fake = { .iface = &iface, .ctx = be };
    int64_t sx[2] = { 2, 4 }, sw[2] = { 3, 4 }, sy[2] = { 2, 3 }, sb = 3;
    float x[8], w[12], bias[3] = { 0.5f, -1.0f, 2.0f }, y[6];
    float rs[3] = { 1.0f, 2.0f, 0.25f };
    uint8_t wq[12];
    pictor_tensor tx = host(x, PICTOR_F32, 2, sx), tw = host(w, PICTOR_F32, 2, sw),
                  tb = host(bias, PICTOR_F32, 1, &sb), ty = host(y, PICTOR_F32, 2, sy);
    bool ok = true;

    test_fill_uniform(x, 8, 30, -1, 1);
    test_fill_uniform(w, 12, 31, -1, 1);
    CHECK(pictor_linear(&fake, &tx, &tw, &tb, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(&fake));
    for (int i = 0; i < 2; i++)
        for (int n = 0; n < 3; n++) {
            double acc = bias[n];
            for (int kk = 0; kk < 4; kk++)
                acc += (double)x[i * 4 + kk] * w[n * 4 + kk];
            ok &= fabs(y[i * 3 + n] - acc) < 1e-5;
        }
    CHECK(ok, "linear = x @ w^T + bias");

    for (int i = 0; i < 12; i++)
        wq[i] = pictor_f32_to_e4m3(w[i] * 8.0f, false);
    pictor_tensor tq = host(wq, PICTOR_F8_E4M3, 2, sw);
    tq.scale = 0.125f;
    tq.row_scale = rs;
    CHECK(pictor_linear(&fake, &tx, &tq, &tb, &ty) == PICTOR_OK, "%s",
          pictor_backend_error(&fake));
    ok = true;
    for (int i = 0; i < 2; i++)
        for (int n = 0; n < 3; n++) {
            double acc = 0;
            for (int kk = 0; kk < 4; kk++)
                acc += (double)x[i * 4 + kk] *
                       pictor_e4m3_to_f32(wq[n * 4 + kk]) * 0.125 * rs[n];
            ok &= fabs(y[i * 3 + n] - (acc + bias[n])) < 1e-5;
        }
    CHECK(ok, "FP8 linear applies row_scale per output column");
}

int main(void)
{
    be = pictor_backend_cpu_create(TEST_THREADS);
    if (!be)
        return 1;
    RUN(test_pool_parallel_for);
    RUN(test_unary_contiguous);
    RUN(test_unary_strided_bf16_inplace);
    RUN(test_binary_broadcast_last);
    RUN(test_binary_broadcast_both);
    RUN(test_binary_strided_inplace_bf16);
    RUN(test_binary_big_inplace);
    RUN(test_copy_permute);
    RUN(test_copy_dtypes);
    RUN(test_copy_ints);
    RUN(test_copy_fp8);
    RUN(test_fill);
    RUN(test_concat_each_dim);
    RUN(test_validation_errors);
    RUN(test_wrappers_dispatch);
    RUN(test_linear_row_scale);
    pictor_backend_destroy(be);
    TEST_MAIN_END();
}
