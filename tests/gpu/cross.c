/*
 * tests/gpu/cross.c — the cross-backend tests' shared plumbing; see cross.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cross.h"
#include "../../kernels/cuda/fp8_route.h"


pictor_backend *g_cpu, *g_gpu;
static bool g_emulated; /* g_gpu is the CUDA emulator (tests/emu) */

const int k_dtypes[N_DTYPES] = { PICTOR_F32, PICTOR_F16, PICTOR_BF16 };

double tol_for(int dtype)
{
    return dtype == PICTOR_F32 ? TOL_F32 : TOL_HALF;
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}


/* A contiguous root; vals (numel floats) or uniform [lo, hi) from seed,
 * rounded to dtype (FP8 stores vals / scale, saturating; ints by value). */
struct xt xt_make(int dtype, int ndim, const int64_t *shape, const float *vals,
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

struct xt xt_rand(int dtype, int ndim, const int64_t *shape, uint64_t seed, float lo,
                         float hi)
{
    return xt_make(dtype, ndim, shape, NULL, seed, lo, hi, 1.0f);
}

struct xt xt_slice(const struct xt *r, int dim, int64_t start, int64_t len)
{
    struct xt v = *r;

    v.owner = false;
    v.c = pictor_tensor_slice(&r->c, dim, start, len);
    v.g = pictor_tensor_slice(&r->g, dim, start, len);
    return v;
}

struct xt xt_transpose(const struct xt *r, int a, int b)
{
    struct xt v = *r;

    v.owner = false;
    v.c = pictor_tensor_transpose(&r->c, a, b);
    v.g = pictor_tensor_transpose(&r->g, a, b);
    return v;
}

void xt_free(struct xt *t)
{
    if (t->owner) {
        free(t->hbase);
        pictor_backend_free(g_gpu, t->dbase);
    }
    memset(t, 0, sizeof *t);
}

/* The GPU storage, downloaded (caller frees). */
char *xt_download(const struct xt *t)
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
float *view_values(const pictor_tensor *v, const char *base, const char *copy)
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
void xt_compare(const char *what, const struct xt *t, double tol)
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
void xt_same_bytes(const char *what, const struct xt *t)
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
void check_rc(const char *what, pictor_backend *be, int rc)
{
    CHECK(rc == PICTOR_OK, "%s on %s: rc %d: %s", what, pictor_backend_name(be), rc,
          pictor_backend_error(be));
}

bool g_is_cuda;

/* The CUDA backend's path counters (zeros for the CPU stand-in). */
struct pictor_cuda_stats gpu_stats(pictor_backend *be)
{
    struct pictor_cuda_stats s;

    memset(&s, 0, sizeof s);
    if (g_is_cuda)
        pictor_backend_cuda_stats(be, &s);
    return s;
}

/* A 2-D view of root r's storage with explicit strides (elements). */
struct xt xt_view2d(const struct xt *r, int64_t rows, int64_t cols, int64_t rs,
                           int64_t cs)
{
    struct xt v = *r;

    v.owner = false;
    v.c.ndim = v.g.ndim = 2;
    v.c.shape[0] = v.g.shape[0] = rows;
    v.c.shape[1] = v.g.shape[1] = cols;
    v.c.stride[0] = v.g.stride[0] = rs;
    v.c.stride[1] = v.g.stride[1] = cs;
    return v;
}

/* [d0, d1, d2, d3] view of a root stored as [d0, d2, d3, d1]
 * (channels last: NHWC activations, KRSC filters). */
struct xt xt_channels_last(const struct xt *r)
{
    struct xt t = xt_transpose(r, 1, 3); /* [d0, d1, d3, d2] */

    return xt_transpose(&t, 2, 3);
}

struct xt xt_view(const struct xt *r, int ndim, const int64_t *shape, const int64_t *st,
                  int64_t off)
{
    struct xt v = *r;
    size_t es = pictor_dtype_size(r->c.dtype);

    v.owner = false;
    v.c.ndim = v.g.ndim = ndim;
    for (int d = 0; d < ndim; d++) {
        v.c.shape[d] = v.g.shape[d] = shape[d];
        v.c.stride[d] = v.g.stride[d] = st[d];
    }
    v.c.data = r->hbase + off * (int64_t)es;
    v.g.data = r->dbase + off * (int64_t)es;
    return v;
}

struct xt xt_view4(const struct xt *r, const int64_t shape[4], const int64_t st[4],
                          int64_t off)
{
    return xt_view(r, 4, shape, st, off);
}

struct xt xt_fp8_rand(int64_t r, int64_t c, uint64_t seed, float scale)
{
    return xt_make(PICTOR_F8_E4M3, 2, (int64_t[]){ r, c }, NULL, seed, -1.0f, 1.0f, scale);
}

/* Root r itself as a non-owning view. */
struct xt xt_alias(const struct xt *r)
{
    struct xt v = *r;

    v.owner = false;
    return v;
}


int cross_setup(const char *name)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";

    if (getenv("PICTOR_CROSS_SELFTEST"))
        g_gpu = pictor_backend_cpu_create(1);
    else
        g_gpu = pictor_backend_cuda_create(0, err, sizeof err);
    if (!g_gpu) {
        printf("SKIP %s: %s\n", name, err);
        return 1;
    }
    g_is_cuda = pictor_backend_device(g_gpu) == PICTOR_DEVICE_CUDA;
    if (g_is_cuda) {
        const char *d = pictor_backend_cuda_describe(g_gpu);

        printf("# %s\n", d);
        g_emulated = strstr(d, "CUDA emulator") != NULL;
    }
    g_cpu = pictor_backend_cpu_create(0);
    if (!g_cpu) {
        printf("FAIL setup: no CPU backend (out of memory)\n");
        pictor_backend_destroy(g_gpu);
        g_gpu = NULL;
        return 2;
    }
    return 0;
}

bool cross_emulated(void)
{
    return g_emulated;
}

bool cross_emu_skip(const char *why)
{
    if (!g_emulated)
        return false;
    test_skip_("%s under the CUDA emulator (tests/emu/README.md)", why);
    return true;
}

void cross_teardown(void)
{
    pictor_backend_destroy(g_cpu);
    pictor_backend_destroy(g_gpu);
    g_cpu = g_gpu = NULL;
}

double cross_time_ms(const char *what, pictor_backend *be, int runs, cross_call_fn call,
                     const void *ctx)
{
    struct timespec t0, t1;
    int rc = call(be, ctx);

    if (!rc)
        rc = pictor_backend_synchronize(be);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < runs && !rc; i++)
        rc = call(be, ctx);
    if (!rc)
        rc = pictor_backend_synchronize(be);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check_rc(what, be, rc);
    if (rc)
        return -1.0;
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
           runs;
}

size_t cross_lt_version(pictor_backend *be)
{
    const char *p = strstr(pictor_backend_cuda_describe(be), "cuBLASLt ");

    return p ? (size_t)strtoull(p + strlen("cuBLASLt "), NULL, 10) : 0;
}

pictor_backend *cross_epilogue_backend(void)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";
    pictor_backend *be;

    if (!g_is_cuda)
        return pictor_backend_cpu_create(1);
    setenv("PICTOR_FP8_SCALING", "epilogue", 1);
    be = pictor_backend_cuda_create(0, err, sizeof err);
    unsetenv("PICTOR_FP8_SCALING");
    if (!be)
        printf("FAIL setup: CUDA backend with PICTOR_FP8_SCALING=epilogue: %s\n", err);
    return be;
}

bool cross_outer_vec_here(void)
{
    return g_is_cuda && pictor_backend_cuda_sm(g_gpu) == FP8_OUTER_VEC_SM &&
           cross_lt_version(g_gpu) >= FP8_OUTER_VEC_MIN_LT;
}
