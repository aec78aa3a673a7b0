/*
 * tests/gpu/test_cuda_graph.c — graphs on the CUDA backend (pictor/backend.h
 * "Graphs"), the rules the CPU recorder (tests/unit/test_graph.c) stands in
 * for in `make test`:
 *   - a captured program runs only at launch, on the memory's current
 *     contents, with the capture's scalars; memory allocated while
 *     capturing serves every replay;
 *   - an upload inside a capture is refused and capture_end fails saying
 *     so; the stream captures again afterwards;
 *   - the tiny FLUX.1-dev transformer (tests/fixtures) in bf16, and in fp8
 *     on compute capability 8.9+: the graphed forward gives the eager
 *     forward's bytes over calls with new inputs, other ids and another
 *     shape, and the backend counted the captures and launches.
 * Timings (printed, never asserted): eager vs replayed forward of the tiny
 * model (launch-bound: the per-kernel host cost a graph removes).
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cross.h"
#include "pictor/check.h"
#include "pictor/common_host.h"
#include "pictor/flux_transformer.h"
#include "pictor/params.h"
#include "pictor/plugins.h"

#define DEV_CASE "tests/fixtures/flux_transformer_dev/model"

static int up(pictor_backend *be, pictor_tensor *t, const float *v)
{
    return pictor_backend_upload(be, t->data, v, pictor_tensor_nbytes(t));
}

static void test_program(void)
{
    enum { N = 1000 };
    static float xv[N], ov[N];
    pictor_tensor x, t, y, out, z = {0};
    pictor_graph *g = NULL;
    check_rc("alloc", g_gpu, pictor_tensor_alloc(g_gpu, &x, PICTOR_F32, 1, (int64_t[]){N}));
    check_rc("alloc", g_gpu, pictor_tensor_alloc(g_gpu, &t, PICTOR_F32, 1, (int64_t[]){1}));
    check_rc("alloc", g_gpu, pictor_tensor_alloc(g_gpu, &y, PICTOR_F32, 1, (int64_t[]){N}));
    check_rc("alloc", g_gpu, pictor_tensor_alloc(g_gpu, &out, PICTOR_F32, 1, (int64_t[]){N}));
    for (int i = 0; i < N; i++)
        ov[i] = -7.0f;
    check_rc("upload", g_gpu, up(g_gpu, &out, ov));
    check_rc("begin", g_gpu, pictor_backend_capture_begin(g_gpu));
    int rc = pictor_fill(g_gpu, &t, 2.5f);
    rc = rc ? rc : pictor_mul(g_gpu, &x, &t, &y);
    rc = rc ? rc : pictor_add(g_gpu, &y, &x, &y);
    rc = rc ? rc : pictor_tensor_alloc(g_gpu, &z, PICTOR_F32, 1, (int64_t[]){N});
    rc = rc ? rc : pictor_unary(g_gpu, PICTOR_UNARY_SILU, &y, &z);
    rc = rc ? rc : pictor_add(g_gpu, &z, &y, &out);
    check_rc("recording", g_gpu, rc);
    pictor_tensor_free(g_gpu, &z); /* freed inside the graph */
    check_rc("end", g_gpu, pictor_backend_capture_end(g_gpu, &g));
    check_rc("download", g_gpu, pictor_backend_download(g_gpu, ov, out.data, sizeof ov));
    CHECK(ov[0] == -7.0f && ov[N - 1] == -7.0f, "nothing ran while capturing");
    for (int round = 0; round < 3 && g; round++) {
        for (int i = 0; i < N; i++)
            xv[i] = (float)(i % 17 - 8) * 0.25f + (float)round;
        check_rc("upload x", g_gpu, up(g_gpu, &x, xv));
        check_rc("launch", g_gpu, pictor_backend_graph_launch(g_gpu, g));
        check_rc("download", g_gpu, pictor_backend_download(g_gpu, ov, out.data, sizeof ov));
        int bad = 0;
        for (int i = 0; i < N; i++) {
            float yv = xv[i] * 2.5f + xv[i], want = yv / (1.0f + expf(-yv)) + yv;
            bad += fabsf(ov[i] - want) > 1e-5f * (1.0f + fabsf(want));
        }
        CHECK(bad == 0, "round %d: %d of %d outputs differ from the program's", round, bad, N);
    }
    struct pictor_cuda_stats st = gpu_stats(g_gpu);
    CHECK(!g_is_cuda || (st.graph_captures >= 1 && st.graph_launches >= 3),
          "stats count the capture (%llu) and launches (%llu)",
          (unsigned long long)st.graph_captures, (unsigned long long)st.graph_launches);
    pictor_backend_graph_destroy(g_gpu, g);
    pictor_tensor_free(g_gpu, &x);
    pictor_tensor_free(g_gpu, &t);
    pictor_tensor_free(g_gpu, &y);
    pictor_tensor_free(g_gpu, &out);
}

static void test_refused(void)
{
    pictor_tensor a;
    float host[16] = {0};
    pictor_graph *g = (pictor_graph *)1;
    check_rc("alloc", g_gpu, pictor_tensor_alloc(g_gpu, &a, PICTOR_F32, 1, (int64_t[]){16}));
    check_rc("begin", g_gpu, pictor_backend_capture_begin(g_gpu));
    CHECK(pictor_backend_upload(g_gpu, a.data, host, sizeof host) != PICTOR_OK,
          "upload refused while capturing");
    int rc = pictor_backend_capture_end(g_gpu, &g);
    CHECK(rc != PICTOR_OK && g == NULL && strstr(pictor_backend_error(g_gpu), "while capturing"),
          "capture_end fails and says why: %s", pictor_backend_error(g_gpu));
    check_rc("begin again", g_gpu, pictor_backend_capture_begin(g_gpu));
    check_rc("fill", g_gpu, pictor_fill(g_gpu, &a, 1.0f));
    check_rc("end again", g_gpu, pictor_backend_capture_end(g_gpu, &g));
    check_rc("launch", g_gpu, pictor_backend_graph_launch(g_gpu, g));
    check_rc("download", g_gpu, pictor_backend_download(g_gpu, host, a.data, sizeof host));
    CHECK(host[0] == 1.0f && host[15] == 1.0f, "the stream captures again after a refusal");
    pictor_backend_graph_destroy(g_gpu, g);
    pictor_tensor_free(g_gpu, &a);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The tiny dev transformer in `precision`, graphed and eager. */
static void flux_case(int precision)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *mg = NULL, *me = NULL;
    char err[512] = "";
    if (pictor_flux_config_load(DEV_CASE, &cfg, err, sizeof err) ||
        host->weights_open(DEV_CASE, false, &src, err, sizeof err)) {
        CHECK(0, "open %s (run from the repository root): %s", DEV_CASE, err);
        return;
    }
    cfg.compute_dtype = pictor_precision_compute_dtype(precision);
    cfg.fp8_linears = pictor_precision_fp8_linears(precision);
    if (pictor_flux_transformer_open(&cfg, &src, g_gpu, &mg, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, g_gpu, &me, err, sizeof err)) {
        CHECK(0, "open on the GPU: %s", err);
        goto out;
    }
    pictor_flux_transformer_set_graphs(mg, true);
    pictor_flux_transformer_set_graphs(me, false);
    enum { B = 1, T = 7, LMAX = 64, CALLS = 6 };
    const int64_t Ls[CALLS] = {64, 64, 64, 48, 64, 64};
    static float ids[LMAX * 3], tids[T * 3], buf[1 << 18], o1[LMAX * 64], o2[LMAX * 64];
    for (int l = 0; l < LMAX; l++) {
        ids[3 * l + 1] = (float)(l / 8);
        ids[3 * l + 2] = (float)(l % 8);
    }
    pictor_tensor x = {0}, c = {0}, p = {0}, ts = {0}, gd = {0}, og = {0}, oe = {0};
    for (int k = 0; k < CALLS; k++) {
        const int64_t L = Ls[k];
        int64_t sx[3] = {B, L, cfg.in_channels}, sc[3] = {B, T, cfg.joint_attention_dim},
                sp[2] = {B, cfg.pooled_projection_dim}, so[3] = {B, L, cfg.out_channels};
        pictor_tensor *all[7] = {&x, &c, &p, &ts, &gd, &og, &oe};
        for (int i = 0; i < 7; i++)
            pictor_tensor_free(g_gpu, all[i]);
        check_rc("inputs", g_gpu,
                 pictor_tensor_alloc(g_gpu, &x, PICTOR_F32, 3, sx) ||
                     pictor_tensor_alloc(g_gpu, &c, PICTOR_F32, 3, sc) ||
                     pictor_tensor_alloc(g_gpu, &p, PICTOR_F32, 2, sp) ||
                     pictor_tensor_alloc(g_gpu, &ts, PICTOR_F32, 1, (int64_t[]){B}) ||
                     pictor_tensor_alloc(g_gpu, &gd, PICTOR_F32, 1, (int64_t[]){B}) ||
                     pictor_tensor_alloc(g_gpu, &og, PICTOR_F32, 3, so) ||
                     pictor_tensor_alloc(g_gpu, &oe, PICTOR_F32, 3, so));
        test_fill_uniform(buf, sizeof buf / sizeof buf[0], 500 + (uint64_t)k, -1.0f, 1.0f);
        buf[0] = 0.25f * (float)(k + 1); /* timestep */
        check_rc("upload", g_gpu, up(g_gpu, &ts, buf) || up(g_gpu, &gd, buf + 1) ||
                                      up(g_gpu, &x, buf + 16) || up(g_gpu, &c, buf + 65536) ||
                                      up(g_gpu, &p, buf + 200000));
        pictor_tensor img = pictor_tensor_make(ids, PICTOR_F32, 2, (int64_t[]){L, 3});
        pictor_tensor txt = pictor_tensor_make(tids, PICTOR_F32, 2, (int64_t[]){T, 3});
        struct pictor_flux_inputs in = {&x, &c, &p, &ts, &gd, &img, &txt};
        CHECK(pictor_flux_transformer_forward(mg, &in, &og, err, sizeof err) == PICTOR_OK,
              "%s graphed forward %d: %s", pictor_precision_name(precision), k, err);
        CHECK(pictor_flux_transformer_forward(me, &in, &oe, err, sizeof err) == PICTOR_OK,
              "%s eager forward %d: %s", pictor_precision_name(precision), k, err);
        size_t n = pictor_tensor_nbytes(&og);
        check_rc("download", g_gpu, pictor_backend_download(g_gpu, o1, og.data, n) ||
                                        pictor_backend_download(g_gpu, o2, oe.data, n));
        CHECK(memcmp(o1, o2, n) == 0, "%s call %d (L=%lld): graphed bytes = eager bytes",
              pictor_precision_name(precision), k, (long long)L);
    }
    uint64_t cap = 0, rep = 0;
    pictor_flux_transformer_graph_counts(mg, &cap, &rep);
    CHECK(cap >= 1 && rep >= 3, "%s: %llu captures, %llu replays", pictor_precision_name(precision),
          (unsigned long long)cap, (unsigned long long)rep);
    /* timing: the last shape, 20 forwards each way */
    struct pictor_flux_transformer *ms[2] = {me, mg};
    double ms_per[2] = {0, 0};
    pictor_tensor img = pictor_tensor_make(ids, PICTOR_F32, 2, (int64_t[]){Ls[CALLS - 1], 3});
    pictor_tensor txt = pictor_tensor_make(tids, PICTOR_F32, 2, (int64_t[]){T, 3});
    struct pictor_flux_inputs in = {&x, &c, &p, &ts, &gd, &img, &txt};
    for (int w = 0; w < 2; w++) {
        pictor_backend_synchronize(g_gpu);
        double t0 = now_ms();
        for (int r = 0; r < 20; r++)
            pictor_flux_transformer_forward(ms[w], &in, w ? &og : &oe, err, sizeof err);
        pictor_backend_synchronize(g_gpu);
        ms_per[w] = (now_ms() - t0) / 20;
    }
    printf("TIME flux tiny dev %s forward (L=%lld): eager %.3f ms, graph %.3f ms\n",
           pictor_precision_name(precision), (long long)Ls[CALLS - 1], ms_per[0], ms_per[1]);
    pictor_tensor *all[7] = {&x, &c, &p, &ts, &gd, &og, &oe};
    for (int i = 0; i < 7; i++)
        pictor_tensor_free(g_gpu, all[i]);
out:
    pictor_flux_transformer_close(mg);
    pictor_flux_transformer_close(me);
    host->weights_close(&src);
}

static void test_flux(void)
{
    flux_case(PICTOR_PRECISION_BF16);
    if (!g_is_cuda || pictor_backend_cuda_sm(g_gpu) >= 89)
        flux_case(PICTOR_PRECISION_FP8);
}

int main(void)
{
    int rc = cross_setup("cuda-graph");
    if (rc)
        return rc == 1 ? 0 : 1;
    pictor_common_set_host(pictor_default_host_api());
    if (!g_is_cuda) /* the self-test's CPU stand-in: its recorder */
        pictor_backend_cpu_set_graphs(g_gpu, true);
    RUN(test_program);
    RUN(test_refused);
    RUN(test_flux);
    cross_teardown();
    TEST_MAIN_END();
}
