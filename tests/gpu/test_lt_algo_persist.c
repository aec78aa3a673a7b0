/*
 * tests/gpu/test_lt_algo_persist.c — cuBLASLt algorithm choices kept in a
 * plan folder (pictor_backend_cuda_set_plan_dir) across backends, as
 * across a server's restarts: a first backend searches every GEMM problem
 * and saves its choices; a second one with the same folder finds every one
 * (matmul_algo_hits == problems, no search); stored choices that do not
 * check out (a zero algorithm count, algorithm bytes overwritten) are
 * refused and searched again, and the file is rewritten with good ones;
 * an unwritable folder is an error the backend works on without. Every
 * result is compared with the CPU backend's (relative L2: f32 1e-5,
 * f16/bf16 1e-2).
 *
 * Needs a GPU: without one it prints "SKIP lt-algo-persist: <reason>" and
 * exits 0 with no PASS line. Built by `make gpu-tests`; run it as
 * BUILD/tests/gpu/test_lt_algo_persist.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/backend_cuda.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

#define TOL_F32 1e-5
#define TOL_HALF 1e-2

/* GEMM problems of the shapes a model meets (distinct plan keys). */
struct prob {
    int dtype;
    int64_t batch, m, k, n; /* batch 0: 2-D a */
    bool bias;
};
static const struct prob k_probs[] = {
    {PICTOR_F32, 0, 64, 96, 80, false},
    {PICTOR_F32, 0, 33, 70, 45, true},
    {PICTOR_BF16, 0, 256, 3072, 1024, true}, /* FLUX-like widths, fewer rows */
    {PICTOR_F16, 0, 77, 768, 768, true},     /* CLIP-L */
    {PICTOR_BF16, 4, 128, 64, 128, false},   /* strided batch */
};
#define N_PROBS (sizeof k_probs / sizeof k_probs[0])

static pictor_backend *g_cpu;
static float *g_want[N_PROBS]; /* the CPU's results, computed once */
static char g_dir[512];  /* the plan folder */
static char g_file[600]; /* its .algos file, once written */

static void fill(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((seed >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
}

/* A tensor of dtype on be holding vals (rounded to dtype). */
static int make(pictor_backend *be, pictor_tensor *t, int dtype, int ndim, const int64_t *shape,
                const float *vals, size_t n)
{
    void *host = malloc(n * pictor_dtype_size(dtype));
    int rc = pictor_tensor_alloc(be, t, dtype, ndim, shape);

    if (!rc) {
        pictor_row_from_f32(host, dtype, vals, n, 1.0f, false);
        rc = pictor_backend_upload(be, t->data, host, n * pictor_dtype_size(dtype));
    }
    free(host);
    return rc;
}

/* c = a @ b (+ bias) on be; the result in out (f32). */
static int run_one(pictor_backend *be, const struct prob *p, float *out)
{
    int64_t rows = p->batch ? p->batch * p->m : p->m;
    int64_t sa[3] = {p->batch, p->m, p->k}, sb[3] = {p->batch, p->k, p->n};
    int64_t sc[3] = {p->batch, p->m, p->n};
    int nd = p->batch ? 3 : 2, off = p->batch ? 0 : 1;
    size_t na = (size_t)(rows * p->k), nb = (size_t)((p->batch ? p->batch : 1) * p->k * p->n);
    size_t nc = (size_t)(rows * p->n);
    float *va = malloc(na * sizeof *va), *vb = malloc(nb * sizeof *vb);
    float *vbias = malloc((size_t)p->n * sizeof *vbias);
    void *hc = malloc(nc * pictor_dtype_size(p->dtype));
    pictor_tensor a = {0}, b = {0}, bias = {0}, c = {0};
    int rc;

    fill(va, na, 1 + (uint64_t)p->m);
    fill(vb, nb, 2 + (uint64_t)p->n);
    fill(vbias, (size_t)p->n, 3);
    if (!(rc = make(be, &a, p->dtype, nd, sa + off, va, na)) &&
        !(rc = make(be, &b, p->dtype, nd, sb + off, vb, nb)) &&
        !(rc = p->bias ? make(be, &bias, p->dtype, 1, &p->n, vbias, (size_t)p->n) : 0) &&
        !(rc = pictor_tensor_alloc(be, &c, p->dtype, nd, sc + off)) &&
        !(rc = pictor_matmul(be, &a, &b, p->bias ? &bias : NULL, 1.0f, &c)) &&
        !(rc = pictor_backend_download(be, hc, c.data, nc * pictor_dtype_size(p->dtype))))
        pictor_row_to_f32(out, hc, p->dtype, nc, 1.0f);
    if (rc)
        fprintf(stderr, "  %s: %s\n", pictor_backend_error(be), pictor_status_name(rc));
    pictor_tensor_free(be, &a);
    pictor_tensor_free(be, &b);
    pictor_tensor_free(be, &bias);
    pictor_tensor_free(be, &c);
    free(va);
    free(vb);
    free(vbias);
    free(hc);
    return rc;
}

/* Every problem on a fresh CUDA backend with the plan folder `dir`,
 * compared with the CPU; the backend's counters in *st. note: the folder's
 * log line. Returns set_plan_dir's status (or -100 without a backend). */
static int run_all(const char *dir, struct pictor_cuda_stats *st, char *note, size_t notelen)
{
    char err[512];
    pictor_backend *gpu = pictor_backend_cuda_create(0, err, sizeof err);
    int set_rc;

    memset(st, 0, sizeof *st);
    CHECK(gpu != NULL, "CUDA backend: %s", err);
    if (!gpu)
        return -100;
    set_rc = pictor_backend_cuda_set_plan_dir(gpu, dir, note, notelen);
    for (size_t i = 0; i < N_PROBS; i++) {
        const struct prob *p = &k_probs[i];
        size_t nc = (size_t)((p->batch ? p->batch : 1) * p->m * p->n);
        float *got = malloc(nc * sizeof *got);
        double tol = p->dtype == PICTOR_F32 ? TOL_F32 : TOL_HALF;
        double e;

        CHECK(run_one(gpu, p, got) == PICTOR_OK, "problem %zu on the GPU", i);
        e = test_rel_l2(got, g_want[i], nc);
        CHECK(e <= tol, "problem %zu (%s %lldx%lldx%lld): rel_l2 %.3g > %.3g", i,
              pictor_dtype_name(p->dtype), (long long)p->m, (long long)p->k, (long long)p->n,
              e, tol);
        free(got);
    }
    pictor_backend_cuda_stats(gpu, st);
    pictor_backend_destroy(gpu); /* saves what is unsaved */
    return set_rc;
}

/* The .algos file in g_dir into g_file; false when there is none. */
static bool find_file(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    bool found = false;

    while (d && (e = readdir(d)))
        if (strlen(e->d_name) > 6 && !strcmp(e->d_name + strlen(e->d_name) - 6, ".algos")) {
            snprintf(g_file, sizeof g_file, "%s/%s", g_dir, e->d_name);
            found = true;
        }
    if (d)
        closedir(d);
    return found;
}

static void test_first_start_searches(void)
{
    struct pictor_cuda_stats st;
    char note[1024];

    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK, "set_plan_dir: %s", note);
    printf("# first start: %s\n", note);
    CHECK(st.matmul_algo_misses == N_PROBS && st.matmul_algo_hits == 0,
          "%llu searched, %llu found (want %zu, 0)", (unsigned long long)st.matmul_algo_misses,
          (unsigned long long)st.matmul_algo_hits, N_PROBS);
    CHECK(find_file(), "an .algos file in %s", g_dir);
}

static void test_second_start_finds_all(void)
{
    struct pictor_cuda_stats st;
    char note[1024];

    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK, "set_plan_dir: %s", note);
    printf("# second start: %s\n", note);
    CHECK(strstr(note, "loaded") != NULL, "the note says what was loaded: %s", note);
    CHECK(st.matmul_algo_hits == N_PROBS && st.matmul_algo_misses == 0 &&
          st.matmul_algo_rejected == 0, "%llu found, %llu searched, %llu refused (want %zu, 0, "
          "0)", (unsigned long long)st.matmul_algo_hits,
          (unsigned long long)st.matmul_algo_misses,
          (unsigned long long)st.matmul_algo_rejected, N_PROBS);
}

/* FNV-1a 64, the format's checksum (kernels/cuda/lt_algo_store.h). */
static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Rewrites every record's blob (hex after the blank) with edit(), and the
 * end line's checksum to match: a well-formed file with bad choices. */
static bool tamper(void (*edit)(char *blob_hex, size_t len))
{
    FILE *f = fopen(g_file, "r");
    char *lines[4200];
    size_t n = 0, cap = 0;
    char *line = NULL;
    uint64_t sum = 0xcbf29ce484222325ull;
    bool ok = f != NULL;

    while (ok && getline(&line, &cap, f) > 0 && n < 4200) {
        lines[n++] = line;
        line = NULL;
        cap = 0;
    }
    free(line);
    if (f)
        fclose(f);
    ok = ok && n >= 3 && !strncmp(lines[n - 1], "end ", 4);
    for (size_t i = 1; ok && i + 1 < n; i++) {
        char *blank = strchr(lines[i], ' ');

        ok = blank != NULL;
        if (ok)
            edit(blank + 1, strlen(blank + 1) - 1); /* without the newline */
        if (ok)
            sum = fnv1a(sum, lines[i], strlen(lines[i]));
    }
    if (ok && (f = fopen(g_file, "w"))) {
        for (size_t i = 0; i + 1 < n; i++)
            fputs(lines[i], f);
        fprintf(f, "end %zu %016llx\n", n - 2, (unsigned long long)sum);
        ok = fclose(f) == 0;
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    return ok;
}

/* n_algos (the blob's first 4 bytes, little-endian) = 0. */
static void zero_count(char *hex, size_t len)
{
    memcpy(hex, "00000000", len < 8 ? len : 8);
}

/* Every algorithm byte (after n_algos and bias_epilogue) = 0xff. */
static void smash_algos(char *hex, size_t len)
{
    for (size_t i = 16; i < len; i++)
        hex[i] = 'f';
}

static void refused_then_rewritten(void (*edit)(char *, size_t), const char *what)
{
    struct pictor_cuda_stats st;
    char note[1024];

    CHECK(find_file() && tamper(edit), "%s: rewrite %s", what, g_file);
    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK, "set_plan_dir: %s", note);
    CHECK(st.matmul_algo_rejected == N_PROBS && st.matmul_algo_misses == N_PROBS &&
          st.matmul_algo_hits == 0, "%s: %llu refused, %llu searched, %llu found (want %zu, "
          "%zu, 0)", what, (unsigned long long)st.matmul_algo_rejected,
          (unsigned long long)st.matmul_algo_misses, (unsigned long long)st.matmul_algo_hits,
          N_PROBS, N_PROBS);
    /* The searched choices replaced the bad ones. */
    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK, "set_plan_dir: %s", note);
    CHECK(st.matmul_algo_hits == N_PROBS && st.matmul_algo_misses == 0,
          "%s, then: %llu found, %llu searched", what, (unsigned long long)st.matmul_algo_hits,
          (unsigned long long)st.matmul_algo_misses);
}

static void test_zero_count_refused(void)
{
    refused_then_rewritten(zero_count, "zero algorithm count");
}

/* Last: garbage algorithm bytes reach cublasLtMatmulAlgoCheck itself. */
static void test_garbage_algos_refused(void)
{
    refused_then_rewritten(smash_algos, "algorithm bytes 0xff");
}

static void test_foreign_file_ignored(void)
{
    struct pictor_cuda_stats st;
    char note[1024];
    FILE *f;

    CHECK(find_file() && (f = fopen(g_file, "r+")) != NULL, "open %s", g_file);
    if (f) { /* "pictor-cublaslt-algos 1" -> format 9 */
        fseek(f, 22, SEEK_SET);
        fputc('9', f);
        fclose(f);
    }
    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK, "set_plan_dir: %s", note);
    CHECK(strstr(note, "ignored") && strstr(note, g_file), "the note names the file: %s", note);
    CHECK(st.matmul_algo_misses == N_PROBS && st.matmul_algo_hits == 0, "all searched");
    CHECK(run_all(g_dir, &st, note, sizeof note) == PICTOR_OK && st.matmul_algo_hits == N_PROBS,
          "rewritten: %llu found (%s)", (unsigned long long)st.matmul_algo_hits, note);
}

static void test_unwritable_folder(void)
{
    struct pictor_cuda_stats st;
    char note[1024];
    int rc;

    test_tmp_write("a-file", "x");
    rc = run_all(test_tmp_at("a-file"), &st, note, sizeof note);
    CHECK(rc == PICTOR_E_IO && strstr(note, "a-file"), "a file as folder: rc %d: %s", rc, note);
    CHECK(st.matmul_algo_misses == N_PROBS, "still searched and computed");
}

int main(void)
{
    char err[512];
    pictor_backend *probe = pictor_backend_cuda_create(0, err, sizeof err);

    if (!probe) {
        printf("SKIP lt-algo-persist: %s\n", err);
        return 0;
    }
    pictor_backend_destroy(probe);
    g_cpu = pictor_backend_cpu_create(0);
    if (!g_cpu || test_tmp_create("pictor-algo-gpu"))
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s/state", test_tmp); /* created by set_plan_dir */
    for (size_t i = 0; i < N_PROBS; i++) {
        const struct prob *p = &k_probs[i];

        g_want[i] = malloc((size_t)((p->batch ? p->batch : 1) * p->m * p->n) * sizeof(float));
        if (!g_want[i] || run_one(g_cpu, p, g_want[i])) {
            printf("FAIL reference: problem %zu on the CPU\n", i);
            return 1;
        }
    }
    RUN(test_first_start_searches);
    RUN(test_second_start_finds_all);
    RUN(test_foreign_file_ignored);
    RUN(test_unwritable_folder);
    RUN(test_zero_count_refused);
    RUN(test_garbage_algos_refused);
    pictor_backend_destroy(g_cpu);
    for (size_t i = 0; i < N_PROBS; i++)
        free(g_want[i]);
    test_tmp_remove();
    TEST_MAIN_END();
}
