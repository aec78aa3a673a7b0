/*
 * tests/gpu/test_cross_backend.c — every op the CUDA backend implements,
 * run on the CPU backend and on the CUDA backend from the same bytes and
 * compared (ggml's test-backend-ops pattern, STYLE.md habit 5).
 *
 * Each case builds its operands once in host memory (random values rounded
 * to the dtype), uploads the identical bytes to the GPU, runs the op on
 * both backends — odd sizes, strided views (slices, transposes), in place
 * where the op allows it — and compares the outputs by relative L2 error:
 * f32 <= 1e-5, f16/bf16 <= 1e-2; conversions (copy, fill) must be
 * bit-identical.
 *
 * PICTOR_CROSS_SELFTEST=1 runs it against a second CPU backend instead (a
 * check of the test itself, e.g. in a CPU-only build).
 *
 * Needs a GPU: without one (no driver, CPU-only build) it prints one line
 * "SKIP cross-backend: <reason>" and exits 0 with no PASS line. It is not
 * part of `make test` (tests/run-all counts "ran no test" as a failure):
 * `make gpu-tests` builds it into BUILD/tests/gpu/, tools/gpu-check runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/backend_cuda.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Tolerances on the relative L2 error (per output dtype). */
#define TOL_F32 1e-5
#define TOL_HALF 1e-2

static pictor_backend *g_cpu, *g_gpu;

static const int k_dtypes[] = { PICTOR_F32, PICTOR_F16, PICTOR_BF16 };
#define N_DTYPES ((int)(sizeof k_dtypes / sizeof k_dtypes[0]))

static double tol_for(int dtype)
{
    return dtype == PICTOR_F32 ? TOL_F32 : TOL_HALF;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* One tensor on both backends with identical bytes. Roots own the host and
 * device storage; views (xt_slice, xt_transpose) share their root's. */
struct xt {
    pictor_tensor c, g;  /* CPU and CUDA descriptors (same offsets) */
    char *hbase, *dbase; /* storage bases */
    size_t bytes;
    bool owner;
};

/* A contiguous root; vals (numel floats) or uniform [lo, hi) from seed,
 * rounded to dtype (FP8 stores vals / scale, saturating; ints by value). */
static struct xt xt_make(int dtype, int ndim, const int64_t *shape, const float *vals,
                         uint64_t seed, float lo, float hi, float scale)
{
    struct xt t;
    int64_t n = 1;
    float *tmp;

    memset(&t, 0, sizeof t);
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    tmp = xmalloc((size_t)n * sizeof(float));
    if (vals)
        memcpy(tmp, vals, (size_t)n * sizeof(float));
    else
        test_fill_uniform(tmp, (size_t)n, seed, lo, hi);
    t.bytes = (size_t)n * pictor_dtype_size(dtype);
    t.hbase = xmalloc(t.bytes);
    pictor_row_from_f32(t.hbase, dtype, tmp, (size_t)n, scale, true);
    free(tmp);
    t.c = pictor_tensor_make(t.hbase, dtype, ndim, shape);
    t.c.scale = scale;
    if (pictor_backend_alloc(g_gpu, t.bytes, (void **)&t.dbase) ||
        pictor_backend_upload(g_gpu, t.dbase, t.hbase, t.bytes)) {
        fprintf(stderr, "GPU alloc/upload of %zu bytes failed: %s\n", t.bytes,
                pictor_backend_error(g_gpu));
        abort();
    }
    t.g = t.c;
    t.g.data = t.dbase;
    t.g.device = (int32_t)pictor_backend_device(g_gpu);
    t.owner = true;
    return t;
}

static struct xt xt_rand(int dtype, int ndim, const int64_t *shape, uint64_t seed, float lo,
                         float hi)
{
    return xt_make(dtype, ndim, shape, NULL, seed, lo, hi, 1.0f);
}

static struct xt xt_slice(const struct xt *r, int dim, int64_t start, int64_t len)
{
    struct xt v = *r;

    v.owner = false;
    v.c = pictor_tensor_slice(&r->c, dim, start, len);
    v.g = pictor_tensor_slice(&r->g, dim, start, len);
    return v;
}

static struct xt xt_transpose(const struct xt *r, int a, int b)
{
    struct xt v = *r;

    v.owner = false;
    v.c = pictor_tensor_transpose(&r->c, a, b);
    v.g = pictor_tensor_transpose(&r->g, a, b);
    return v;
}

static void xt_free(struct xt *t)
{
    if (t->owner) {
        free(t->hbase);
        pictor_backend_free(g_gpu, t->dbase);
    }
    memset(t, 0, sizeof *t);
}

/* The GPU storage, downloaded (caller frees). */
static char *xt_download(const struct xt *t)
{
    char *h = xmalloc(t->bytes);

    if (pictor_backend_download(g_gpu, h, t->dbase, t->bytes)) {
        fprintf(stderr, "download failed: %s\n", pictor_backend_error(g_gpu));
        abort();
    }
    return h;
}

/* The elements of view v (whose data lies in storage at base) in flat
 * order as f32, read from the copy of that storage at `copy`. */
static float *view_values(const pictor_tensor *v, const char *base, const char *copy)
{
    int64_t n = pictor_tensor_numel(v);
    size_t es = pictor_dtype_size(v->dtype);
    const char *p0 = copy + ((const char *)v->data - base);
    float *out = xmalloc((size_t)n * sizeof(float));

    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0, r = i;

        for (int d = v->ndim - 1; d >= 0; d--) {
            off += (r % v->shape[d]) * v->stride[d];
            r /= v->shape[d];
        }
        pictor_row_to_f32(out + i, p0 + off * (int64_t)es, v->dtype, 1, v->scale);
    }
    return out;
}

/* CHECKs the GPU view against the CPU view by relative L2 error. */
static void xt_compare(const char *what, const struct xt *t, double tol)
{
    char *dev = xt_download(t);
    float *gv = view_values(&t->g, t->dbase, dev);
    float *cv = view_values(&t->c, t->hbase, t->hbase);
    size_t n = (size_t)pictor_tensor_numel(&t->c);
    double e = test_rel_l2(gv, cv, n);

    CHECK(e <= tol, "%s: rel_l2 %.3g > %.3g (%zu values)", what, e, tol, n);
    free(cv);
    free(gv);
    free(dev);
}

/* CHECKs that the whole GPU storage equals the CPU storage byte for byte. */
static void xt_same_bytes(const char *what, const struct xt *t)
{
    char *dev = xt_download(t);
    size_t first = t->bytes;

    for (size_t i = 0; i < t->bytes && first == t->bytes; i++)
        if (dev[i] != t->hbase[i])
            first = i;
    CHECK(first == t->bytes, "%s: byte %zu differs (gpu 0x%02x, cpu 0x%02x)", what, first,
          first < t->bytes ? (unsigned)(unsigned char)dev[first] : 0u,
          first < t->bytes ? (unsigned)(unsigned char)t->hbase[first] : 0u);
    free(dev);
}

/* CHECKs an op's status on one backend. */
static void check_rc(const char *what, pictor_backend *be, int rc)
{
    CHECK(rc == PICTOR_OK, "%s on %s: rc %d: %s", what, pictor_backend_name(be), rc,
          pictor_backend_error(be));
}

/* ---- elementwise ------------------------------------------------------ */

static void test_unary(void)
{
    char what[96];

    for (int fn = 0; fn < PICTOR_UNARY_COUNT; fn++) {
        for (int k = 0; k < N_DTYPES; k++) {
            int dt = k_dtypes[k];
            struct xt base = xt_rand(dt, 3, (int64_t[]){ 3, 19, 37 }, 11 + fn, -4.0f, 4.0f);
            struct xt x = xt_transpose(&base, 1, 2); /* [3, 37, 19] strided */
            struct xt y = xt_rand(dt, 3, (int64_t[]){ 3, 37, 19 }, 12, 0.0f, 1.0f);
            struct xt z = xt_rand(dt, 2, (int64_t[]){ 5, 33 }, 13 + fn, -6.0f, 6.0f);

            snprintf(what, sizeof what, "unary %s %s strided", pictor_unary_names[fn],
                     pictor_dtype_name(dt));
            check_rc(what, g_cpu, pictor_unary(g_cpu, fn, &x.c, &y.c));
            check_rc(what, g_gpu, pictor_unary(g_gpu, fn, &x.g, &y.g));
            xt_compare(what, &y, tol_for(dt));
            snprintf(what, sizeof what, "unary %s %s in place", pictor_unary_names[fn],
                     pictor_dtype_name(dt));
            check_rc(what, g_cpu, pictor_unary(g_cpu, fn, &z.c, &z.c));
            check_rc(what, g_gpu, pictor_unary(g_gpu, fn, &z.g, &z.g));
            xt_compare(what, &z, tol_for(dt));
            xt_free(&base);
            xt_free(&y);
            xt_free(&z);
        }
    }
}

static void test_binary(void)
{
    char what[96];

    for (int fn = 0; fn < PICTOR_BINARY_COUNT; fn++) {
        for (int k = 0; k < N_DTYPES; k++) {
            int dt = k_dtypes[k];
            struct xt abase = xt_rand(dt, 3, (int64_t[]){ 2, 5, 35 }, 21, -2.0f, 2.0f);
            struct xt a = xt_slice(&abase, 2, 1, 33); /* [2, 5, 33] strided */
            struct xt b = xt_rand(dt, 2, (int64_t[]){ 5, 1 }, 22, -2.0f, 2.0f);
            struct xt y = xt_rand(dt, 3, (int64_t[]){ 2, 5, 33 }, 23, 0.0f, 1.0f);
            struct xt p = xt_rand(dt, 2, (int64_t[]){ 4, 7 }, 24, -2.0f, 2.0f);
            struct xt q = xt_rand(dt, 1, (int64_t[]){ 7 }, 25, -2.0f, 2.0f);

            snprintf(what, sizeof what, "binary %d %s broadcast strided", fn,
                     pictor_dtype_name(dt));
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &a.c, &b.c, &y.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &a.g, &b.g, &y.g));
            xt_compare(what, &y, tol_for(dt));
            snprintf(what, sizeof what, "binary %d %s in place", fn, pictor_dtype_name(dt));
            check_rc(what, g_cpu, pictor_binary(g_cpu, fn, &p.c, &q.c, &p.c));
            check_rc(what, g_gpu, pictor_binary(g_gpu, fn, &p.g, &q.g, &p.g));
            xt_compare(what, &p, tol_for(dt));
            xt_free(&abase);
            xt_free(&b);
            xt_free(&y);
            xt_free(&p);
            xt_free(&q);
        }
    }
}

static void test_copy(void)
{
    static const int dsts[] = { PICTOR_F32, PICTOR_F16, PICTOR_BF16, PICTOR_F8_E4M3,
                                PICTOR_F8_E5M2, PICTOR_I32, PICTOR_I64 };
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        for (size_t j = 0; j < sizeof dsts / sizeof dsts[0]; j++) {
            int sd = k_dtypes[k], dd = dsts[j];
            /* Wide range: FP8 at scale 0.5 saturates beyond 224 (e4m3). */
            struct xt base = xt_rand(sd, 2, (int64_t[]){ 13, 7 }, 31 + j, -600.0f, 600.0f);
            struct xt s = xt_transpose(&base, 0, 1); /* [7, 13] strided */
            struct xt d = xt_rand(dd, 2, (int64_t[]){ 7, 13 }, 32, 0.0f, 1.0f);

            d.c.scale = d.g.scale = 0.5f;
            snprintf(what, sizeof what, "copy %s -> %s", pictor_dtype_name(sd),
                     pictor_dtype_name(dd));
            check_rc(what, g_cpu, pictor_copy_ex(g_cpu, &s.c, &d.c, true));
            check_rc(what, g_gpu, pictor_copy_ex(g_gpu, &s.g, &d.g, true));
            xt_same_bytes(what, &d);
            xt_free(&base);
            xt_free(&d);
        }
    }
    /* FP8 source with per-row scales (dim 0), strided, to every float dtype. */
    for (int k = 0; k < N_DTYPES; k++) {
        float rsv[4] = { 0.5f, 2.0f, 0.125f, 3.0f };
        struct xt rs = xt_make(PICTOR_F32, 1, (int64_t[]){ 4 }, rsv, 0, 0, 0, 1.0f);
        struct xt base = xt_make(PICTOR_F8_E4M3, 2, (int64_t[]){ 4, 11 }, NULL, 34, -300.0f,
                                 300.0f, 0.75f);
        struct xt s = xt_slice(&base, 1, 1, 9); /* [4, 9] strided */
        struct xt d = xt_rand(k_dtypes[k], 2, (int64_t[]){ 4, 9 }, 35, 0.0f, 1.0f);

        s.c.row_scale = (const float *)rs.c.data;
        s.g.row_scale = (const float *)rs.g.data;
        snprintf(what, sizeof what, "copy f8_e4m3 row_scale -> %s",
                 pictor_dtype_name(k_dtypes[k]));
        check_rc(what, g_cpu, pictor_copy(g_cpu, &s.c, &d.c));
        check_rc(what, g_gpu, pictor_copy(g_gpu, &s.g, &d.g));
        xt_same_bytes(what, &d);
        xt_free(&rs);
        xt_free(&base);
        xt_free(&d);
    }
    /* Integer to integer (i64 -> i32 narrows modulo 2^32). */
    {
        float v[6] = { -3.0f, 0.0f, 7.0f, 123456.0f, -9.0f, 1e9f };
        struct xt s = xt_make(PICTOR_I64, 2, (int64_t[]){ 2, 3 }, v, 0, 0, 0, 1.0f);
        struct xt d = xt_rand(PICTOR_I32, 2, (int64_t[]){ 2, 3 }, 33, 0.0f, 1.0f);

        check_rc("copy i64 -> i32", g_cpu, pictor_copy(g_cpu, &s.c, &d.c));
        check_rc("copy i64 -> i32", g_gpu, pictor_copy(g_gpu, &s.g, &d.g));
        xt_same_bytes("copy i64 -> i32", &d);
        xt_free(&s);
        xt_free(&d);
    }
}

static void test_fill(void)
{
    static const int dts[] = { PICTOR_F32, PICTOR_F16, PICTOR_BF16, PICTOR_F8_E4M3,
                               PICTOR_F8_E5M2, PICTOR_I32, PICTOR_I64 };
    char what[96];

    for (size_t j = 0; j < sizeof dts / sizeof dts[0]; j++) {
        struct xt base = xt_rand(dts[j], 2, (int64_t[]){ 6, 10 }, 41, -1.0f, 1.0f);
        struct xt y = xt_slice(&base, 1, 2, 7); /* [6, 7] strided */

        snprintf(what, sizeof what, "fill %s", pictor_dtype_name(dts[j]));
        check_rc(what, g_cpu, pictor_fill(g_cpu, &y.c, 1.7f));
        check_rc(what, g_gpu, pictor_fill(g_gpu, &y.g, 1.7f));
        xt_same_bytes(what, &base);
        xt_free(&base);
    }
}

/* ---- norms and softmax ----------------------------------------------- */

static void test_layer_norm(void)
{
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        /* Mean far from 0 checks the two-pass variance. */
        struct xt base = xt_rand(dt, 2, (int64_t[]){ 7, 131 }, 51, 2.0f, 5.0f);
        struct xt x = xt_slice(&base, 1, 1, 129);
        struct xt g = xt_rand(dt, 1, (int64_t[]){ 129 }, 52, 0.5f, 1.5f);
        struct xt b = xt_rand(dt, 1, (int64_t[]){ 129 }, 53, -1.0f, 1.0f);
        struct xt y = xt_rand(dt, 2, (int64_t[]){ 7, 129 }, 54, 0.0f, 1.0f);
        struct xt z = xt_rand(dt, 3, (int64_t[]){ 2, 3, 1000 }, 55, -3.0f, 3.0f);

        snprintf(what, sizeof what, "layer_norm %s affine strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_layer_norm(g_cpu, &x.c, 1e-6f, &g.c, &b.c, &y.c));
        check_rc(what, g_gpu, pictor_layer_norm(g_gpu, &x.g, 1e-6f, &g.g, &b.g, &y.g));
        xt_compare(what, &y, tol_for(dt));
        snprintf(what, sizeof what, "layer_norm %s in place", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_layer_norm(g_cpu, &z.c, 1e-6f, NULL, NULL, &z.c));
        check_rc(what, g_gpu, pictor_layer_norm(g_gpu, &z.g, 1e-6f, NULL, NULL, &z.g));
        xt_compare(what, &z, tol_for(dt));
        xt_free(&base);
        xt_free(&g);
        xt_free(&b);
        xt_free(&y);
        xt_free(&z);
    }
}

static void test_rms_norm(void)
{
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        struct xt base = xt_rand(dt, 3, (int64_t[]){ 2, 67, 5 }, 61, -2.0f, 2.0f);
        struct xt x = xt_transpose(&base, 1, 2); /* [2, 5, 67] strided */
        struct xt w = xt_rand(dt, 1, (int64_t[]){ 67 }, 62, 0.5f, 1.5f);
        struct xt y = xt_rand(dt, 3, (int64_t[]){ 2, 5, 67 }, 63, 0.0f, 1.0f);
        struct xt z = xt_rand(dt, 2, (int64_t[]){ 9, 128 }, 64, -2.0f, 2.0f);
        struct xt w2 = xt_rand(dt, 1, (int64_t[]){ 128 }, 65, 0.5f, 1.5f);

        snprintf(what, sizeof what, "rms_norm %s weight strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_rms_norm(g_cpu, &x.c, 1e-6f, &w.c, &y.c));
        check_rc(what, g_gpu, pictor_rms_norm(g_gpu, &x.g, 1e-6f, &w.g, &y.g));
        xt_compare(what, &y, tol_for(dt));
        snprintf(what, sizeof what, "rms_norm %s in place", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_rms_norm(g_cpu, &z.c, 1e-6f, &w2.c, &z.c));
        check_rc(what, g_gpu, pictor_rms_norm(g_gpu, &z.g, 1e-6f, &w2.g, &z.g));
        xt_compare(what, &z, tol_for(dt));
        xt_free(&base);
        xt_free(&w);
        xt_free(&w2);
        xt_free(&y);
        xt_free(&z);
    }
}

static void test_group_norm(void)
{
    char what[96];

    for (int silu = 0; silu < 2; silu++) {
        for (int k = 0; k < N_DTYPES; k++) {
            int dt = k_dtypes[k];
            struct xt base = xt_rand(dt, 4, (int64_t[]){ 2, 12, 5, 9 }, 71, 1.0f, 4.0f);
            struct xt x = xt_slice(&base, 3, 1, 7); /* [2, 12, 5, 7] strided */
            struct xt g = xt_rand(dt, 1, (int64_t[]){ 12 }, 72, 0.5f, 1.5f);
            struct xt b = xt_rand(dt, 1, (int64_t[]){ 12 }, 73, -1.0f, 1.0f);
            struct xt y = xt_rand(dt, 4, (int64_t[]){ 2, 12, 5, 7 }, 74, 0.0f, 1.0f);
            struct xt z = xt_rand(dt, 3, (int64_t[]){ 1, 8, 2001 }, 75, -3.0f, 3.0f);

            snprintf(what, sizeof what, "group_norm %s silu=%d strided", pictor_dtype_name(dt),
                     silu);
            check_rc(what, g_cpu, pictor_group_norm(g_cpu, &x.c, 4, 1e-6f, &g.c, &b.c, silu,
                                                    &y.c));
            check_rc(what, g_gpu, pictor_group_norm(g_gpu, &x.g, 4, 1e-6f, &g.g, &b.g, silu,
                                                    &y.g));
            xt_compare(what, &y, tol_for(dt));
            snprintf(what, sizeof what, "group_norm %s silu=%d in place",
                     pictor_dtype_name(dt), silu);
            check_rc(what, g_cpu, pictor_group_norm(g_cpu, &z.c, 2, 1e-5f, NULL, NULL, silu,
                                                    &z.c));
            check_rc(what, g_gpu, pictor_group_norm(g_gpu, &z.g, 2, 1e-5f, NULL, NULL, silu,
                                                    &z.g));
            xt_compare(what, &z, tol_for(dt));
            xt_free(&base);
            xt_free(&g);
            xt_free(&b);
            xt_free(&y);
            xt_free(&z);
        }
    }
}

static void test_softmax(void)
{
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        struct xt base = xt_rand(dt, 2, (int64_t[]){ 9, 260 }, 81, -8.0f, 8.0f);
        struct xt x = xt_slice(&base, 1, 2, 257);
        struct xt y = xt_rand(dt, 2, (int64_t[]){ 9, 257 }, 82, 0.0f, 1.0f);
        struct xt z = xt_rand(dt, 3, (int64_t[]){ 2, 2, 31 }, 83, -30.0f, 30.0f);

        snprintf(what, sizeof what, "softmax %s strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_softmax(g_cpu, &x.c, &y.c));
        check_rc(what, g_gpu, pictor_softmax(g_gpu, &x.g, &y.g));
        xt_compare(what, &y, tol_for(dt));
        snprintf(what, sizeof what, "softmax %s in place", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_softmax(g_cpu, &z.c, &z.c));
        check_rc(what, g_gpu, pictor_softmax(g_gpu, &z.g, &z.g));
        xt_compare(what, &z, tol_for(dt));
        xt_free(&base);
        xt_free(&y);
        xt_free(&z);
    }
}

/* ---- positional / lookup ops ----------------------------------------- */

static void test_rope(void)
{
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        struct xt base = xt_rand(dt, 4, (int64_t[]){ 2, 5, 3, 18 }, 91, -2.0f, 2.0f);
        struct xt x = xt_slice(&base, 3, 1, 16); /* [2, 5, 3, 16] strided */
        struct xt cs = xt_rand(dt, 2, (int64_t[]){ 5, 16 }, 92, -1.0f, 1.0f);
        struct xt sn = xt_rand(dt, 2, (int64_t[]){ 5, 16 }, 93, -1.0f, 1.0f);
        struct xt y = xt_rand(dt, 4, (int64_t[]){ 2, 5, 3, 16 }, 94, 0.0f, 1.0f);
        struct xt z = xt_rand(dt, 4, (int64_t[]){ 1, 5, 2, 16 }, 95, -2.0f, 2.0f);

        snprintf(what, sizeof what, "rope %s strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_rope(g_cpu, &x.c, &cs.c, &sn.c, &y.c));
        check_rc(what, g_gpu, pictor_rope(g_gpu, &x.g, &cs.g, &sn.g, &y.g));
        xt_compare(what, &y, tol_for(dt));
        snprintf(what, sizeof what, "rope %s in place", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_rope(g_cpu, &z.c, &cs.c, &sn.c, &z.c));
        check_rc(what, g_gpu, pictor_rope(g_gpu, &z.g, &cs.g, &sn.g, &z.g));
        xt_compare(what, &z, tol_for(dt));
        xt_free(&base);
        xt_free(&cs);
        xt_free(&sn);
        xt_free(&y);
        xt_free(&z);
    }
}

static void test_upsample(void)
{
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        struct xt base = xt_rand(dt, 4, (int64_t[]){ 2, 3, 5, 9 }, 101, -2.0f, 2.0f);
        struct xt x = xt_slice(&base, 3, 2, 7); /* [2, 3, 5, 7] strided */
        struct xt y = xt_rand(dt, 4, (int64_t[]){ 2, 3, 10, 14 }, 102, 0.0f, 1.0f);

        snprintf(what, sizeof what, "upsample %s strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_upsample_nearest2x(g_cpu, &x.c, &y.c));
        check_rc(what, g_gpu, pictor_upsample_nearest2x(g_gpu, &x.g, &y.g));
        xt_same_bytes(what, &y); /* a pure copy: bit-identical */
        xt_free(&base);
        xt_free(&y);
    }
}

static void test_embedding(void)
{
    float ids_v[12] = { 0, 10, 3, 3, 7, 1, 9, 2, 5, 4, 6, 8 };
    char what[96];

    for (int k = 0; k < N_DTYPES; k++) {
        int dt = k_dtypes[k];
        struct xt table = xt_rand(dt, 2, (int64_t[]){ 11, 19 }, 111, -1.0f, 1.0f);
        struct xt i32 = xt_make(PICTOR_I32, 2, (int64_t[]){ 3, 4 }, ids_v, 0, 0, 0, 1.0f);
        struct xt i64b = xt_make(PICTOR_I64, 2, (int64_t[]){ 4, 3 }, ids_v, 0, 0, 0, 1.0f);
        struct xt i64 = xt_transpose(&i64b, 0, 1); /* [3, 4] strided */
        struct xt y = xt_rand(dt, 3, (int64_t[]){ 3, 4, 19 }, 112, 0.0f, 1.0f);

        snprintf(what, sizeof what, "embedding %s i32", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_embedding(g_cpu, &table.c, &i32.c, &y.c));
        check_rc(what, g_gpu, pictor_embedding(g_gpu, &table.g, &i32.g, &y.g));
        xt_same_bytes(what, &y);
        snprintf(what, sizeof what, "embedding %s i64 strided", pictor_dtype_name(dt));
        check_rc(what, g_cpu, pictor_embedding(g_cpu, &table.c, &i64.c, &y.c));
        check_rc(what, g_gpu, pictor_embedding(g_gpu, &table.g, &i64.g, &y.g));
        xt_same_bytes(what, &y);
        xt_free(&table);
        xt_free(&i32);
        xt_free(&i64b);
        xt_free(&y);
    }
}

/* An id out of range on the device: a clear PICTOR_E_INVALID naming it,
 * and the backend still works afterwards (no sticky CUDA error). */
static void test_embedding_bad_id(void)
{
    float ids_v[5] = { 0, 1, 2, 11, -4 };
    struct xt table = xt_rand(PICTOR_F32, 2, (int64_t[]){ 11, 8 }, 121, -1.0f, 1.0f);
    struct xt ids = xt_make(PICTOR_I64, 1, (int64_t[]){ 5 }, ids_v, 0, 0, 0, 1.0f);
    struct xt y = xt_rand(PICTOR_F32, 2, (int64_t[]){ 5, 8 }, 122, 0.0f, 1.0f);
    int rc = pictor_embedding(g_gpu, &table.g, &ids.g, &y.g);

    CHECK(rc == PICTOR_E_INVALID, "bad id: rc %d (%s)", rc, pictor_backend_error(g_gpu));
    CHECK(strstr(pictor_backend_error(g_gpu), "element 3 is 11, outside [0, 11)") != NULL,
          "message names the first bad id: '%s'", pictor_backend_error(g_gpu));
    check_rc("fill after bad id", g_gpu, pictor_fill(g_gpu, &y.g, 2.0f));
    check_rc("fill after bad id", g_cpu, pictor_fill(g_cpu, &y.c, 2.0f));
    check_rc("synchronize after bad id", g_gpu, pictor_backend_synchronize(g_gpu));
    xt_same_bytes("fill after bad id", &y);
    xt_free(&table);
    xt_free(&ids);
    xt_free(&y);
}

static void test_timestep(void)
{
    float tv[3] = { 0.0f, 1.5f, 999.0f };
    char what[96];

    for (int flip = 0; flip < 2; flip++) {
        for (int k = 0; k < N_DTYPES; k++) {
            int dt = k_dtypes[k];
            struct xt t = xt_make(dt, 1, (int64_t[]){ 3 }, tv, 0, 0, 0, 1.0f);
            struct xt base = xt_rand(dt, 2, (int64_t[]){ 33, 3 }, 131, 0.0f, 1.0f);
            struct xt y = xt_transpose(&base, 0, 1); /* [3, 33] strided, odd dim */

            snprintf(what, sizeof what, "timestep %s flip=%d", pictor_dtype_name(dt), flip);
            /* diffusers Timesteps defaults: shift 1, scale 1, max_period 10000. */
            check_rc(what, g_cpu, pictor_timestep_embedding(g_cpu, &t.c, flip, 1.0f, 1.0f,
                                                            10000.0f, &y.c));
            check_rc(what, g_gpu, pictor_timestep_embedding(g_gpu, &t.g, flip, 1.0f, 1.0f,
                                                            10000.0f, &y.g));
            xt_compare(what, &y, tol_for(dt));
            xt_free(&t);
            xt_free(&base);
        }
    }
}

int main(void)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";

    /* PICTOR_CROSS_SELFTEST=1: a second CPU backend stands in for the GPU,
     * to check this test's own plumbing on a machine without one. */
    if (getenv("PICTOR_CROSS_SELFTEST"))
        g_gpu = pictor_backend_cpu_create(1);
    else
        g_gpu = pictor_backend_cuda_create(0, err, sizeof err);
    if (!g_gpu) {
        printf("SKIP cross-backend: %s\n", err);
        return 0;
    }
    g_cpu = pictor_backend_cpu_create(0);
    if (!g_cpu) {
        printf("FAIL setup: no CPU backend (out of memory)\n");
        pictor_backend_destroy(g_gpu);
        return 1;
    }
    RUN(test_unary);
    RUN(test_binary);
    RUN(test_copy);
    RUN(test_fill);
    RUN(test_layer_norm);
    RUN(test_rms_norm);
    RUN(test_group_norm);
    RUN(test_softmax);
    RUN(test_rope);
    RUN(test_upsample);
    RUN(test_embedding);
    RUN(test_embedding_bad_id);
    RUN(test_timestep);
    pictor_backend_destroy(g_cpu);
    pictor_backend_destroy(g_gpu);
    TEST_MAIN_END();
}
