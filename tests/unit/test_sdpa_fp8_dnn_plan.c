/*
 * tests/unit/test_sdpa_fp8_dnn_plan.c — the CUDA backend's FP8 attention
 * (kernels/cuda/op_sdpa_fp8.h) without a GPU:
 *   - which calls cuDNN's FP8 graph takes and their plan keys (pure C, in
 *     every build, the ASan one included);
 *   - in CUDA builds, cuDNN's own verdict on the graph (and on the bf16
 *     unified SDPA op of op_sdpa_cudnn.c at FLUX's shape): cuDNN is loaded
 *     without a handle, the driver too (the real libcuda.so.1, else the
 *     toolkit's stub, which lets cuDNN's support checks run but cannot load
 *     kernels), and the graph is planned "deviceless" for an H100 described
 *     by a devprop descriptor (cuDNN >= 9.8). The heuristics must offer at
 *     least one engine config after their support checks for FLUX's shape
 *     (B 1, H 24, L 4352, D 128, BSHD views) and a small odd one (B 2, H 3,
 *     L 300, D 64) — and none for the same graph without its Stats branch,
 *     which shows the check can fail; and for FLUX's shape on a B200 (the
 *     other compute capability supports() admits). With a GPU (the real driver finds a
 *     device) the plan must also finalize on a handle.
 * Without cuDNN, without any driver library, or with cuDNN < 9.8 the cuDNN
 * test prints "SKIP test_dnn_plan: <why>" (tests/run-all shows SKIP lines)
 * and does not run; so does it in a build without CUDA.
 * PICTOR_CUDA_STUB=PATH names the stub when it is not next to libcudart
 * (<toolkit>/lib64/stubs/libcuda.so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/op_sdpa_fp8.h"
#include "../harness/test.h"
#include "pictor/tensor_util.h"

#ifdef PICTOR_HAVE_CUDA
#include "../../kernels/cuda/op_sdpa_fp8_graph.h"
#include "dnn_deviceless.h"
#include "../../kernels/cuda/op_sdpa_internal.h"
#endif

/* FLUX.1's attention: 24 heads of 128 over 4096 image + 256 text tokens
 * (1024x1024, schnell's 256-token T5 prompt). */
#define FLUX_B 1
#define FLUX_H 24
#define FLUX_L 4352
#define FLUX_D 128

/* A [B, H, L, D] view of a [B, L, H, D] tensor (FLUX's q, k, v: permute
 * of the projection's output); data is never read here. */
static pictor_tensor bshd(int dtype, int64_t B, int64_t H, int64_t L, int64_t D)
{
    pictor_tensor t = pictor_tensor_make(NULL, dtype, 4, (int64_t[]){ B, L, H, D });

    return pictor_tensor_permute(&t, (int[]){ 0, 2, 1, 3 });
}

static pictor_tensor bhsd(int dtype, int64_t B, int64_t H, int64_t L, int64_t D)
{
    return pictor_tensor_make(NULL, dtype, 4, (int64_t[]){ B, H, L, D });
}

static struct pictor_op_args args_of(const pictor_tensor *q, const pictor_tensor *k,
                                     const pictor_tensor *v, pictor_tensor *o)
{
    struct pictor_op_args a;

    memset(&a, 0, sizeof a);
    a.op = PICTOR_OP_SDPA_FP8;
    a.u.sdpa_fp8.q = q;
    a.u.sdpa_fp8.k = k;
    a.u.sdpa_fp8.v = v;
    a.u.sdpa_fp8.o = o;
    a.u.sdpa_fp8.scale = 0.125f;
    return a;
}

/* Whether the call of q, k, v, o is eligible; why gets the reason. */
static bool eligible(pictor_tensor q, pictor_tensor k, pictor_tensor v, pictor_tensor o,
                     char *why, size_t whylen)
{
    struct pictor_op_args a = args_of(&q, &k, &v, &o);

    why[0] = '\0';
    return cuda_sdpa_fp8_eligible(&a, why, whylen);
}

static void test_eligible(void)
{
    const int e4 = PICTOR_F8_E4M3;
    pictor_tensor q = bshd(e4, 1, 24, 4352, 128), v = bshd(PICTOR_BF16, 1, 24, 4352, 128);
    pictor_tensor o = bshd(PICTOR_BF16, 1, 24, 4352, 128), t;
    char why[256];

    CHECK(eligible(q, q, v, o, why, sizeof why), "FLUX's BSHD views: %s", why);
    CHECK(eligible(bhsd(e4, 2, 3, 300, 64), bhsd(e4, 2, 3, 77, 64),
                   bhsd(PICTOR_F32, 2, 3, 77, 64), bhsd(PICTOR_F16, 2, 3, 300, 64), why,
                   sizeof why), "contiguous, Lq != Lk, f32 v, f16 o: %s", why);
    CHECK(eligible(bhsd(e4, 1, 2, 5, 256), bhsd(e4, 1, 2, 5, 256),
                   bhsd(PICTOR_BF16, 1, 2, 5, 256), bhsd(PICTOR_BF16, 1, 2, 5, 256), why,
                   sizeof why), "D 256: %s", why);

    /* Head dims: multiples of 16 up to 256 only. */
    for (int64_t D = 8; D <= 272; D += 8) {
        bool want = D % 16 == 0 && D <= 256;
        bool got = eligible(bhsd(e4, 1, 2, 32, D), bhsd(e4, 1, 2, 32, D),
                            bhsd(PICTOR_BF16, 1, 2, 32, D), bhsd(PICTOR_BF16, 1, 2, 32, D),
                            why, sizeof why);

        CHECK(got == want, "D %lld: eligible %d, want %d (%s)", (long long)D, got, want, why);
        CHECK(got || strstr(why, "head dim"), "D %lld: the reason names the head dim: %s",
              (long long)D, why);
    }
    /* Head dim stride 1 on every operand. */
    t = bhsd(PICTOR_BF16, 1, 24, 128, 4352);
    t = pictor_tensor_transpose(&t, 2, 3); /* [1, 24, 4352, 128], D stride 4352 */
    CHECK(!eligible(q, q, t, o, why, sizeof why) && strstr(why, "v's head dim stride"),
          "v with head stride 4352: %s", why);
    CHECK(!eligible(q, q, v, t, why, sizeof why) && strstr(why, "o's head dim stride"),
          "o with head stride 4352: %s", why);
    /* q/k strides that cuDNN cannot be told are 16-byte aligned: rows of
     * D 16 every 24 bytes (a slice of a wider tensor). */
    t = bhsd(e4, 1, 2, 8, 24);
    t = pictor_tensor_slice(&t, 3, 0, 16);
    CHECK(!eligible(t, bhsd(e4, 1, 2, 8, 16), bhsd(PICTOR_BF16, 1, 2, 8, 16),
                    bhsd(PICTOR_BF16, 1, 2, 8, 16), why, sizeof why) &&
              strstr(why, "q's stride 24"),
          "q rows 24 bytes apart: %s", why);
    CHECK(!eligible(bhsd(e4, 1, 2, 8, 16), t, bhsd(PICTOR_BF16, 1, 2, 8, 16),
                    bhsd(PICTOR_BF16, 1, 2, 8, 16), why, sizeof why) &&
              strstr(why, "k's stride 24"),
          "k rows 24 bytes apart: %s", why);
    /* ... but only along dims longer than 1 matter. */
    t = bhsd(e4, 1, 1, 1, 16);
    t.stride[2] = 24;
    CHECK(eligible(t, t, bhsd(PICTOR_BF16, 1, 1, 1, 16), bhsd(PICTOR_BF16, 1, 1, 1, 16), why,
                   sizeof why), "a single row's stride does not matter: %s", why);
    /* dtypes the wrapper would refuse are refused here too
     * (pictor_op_supported does not validate). */
    CHECK(!eligible(v, q, v, o, why, sizeof why) && strstr(why, "f8_e4m3"), "bf16 q: %s", why);
    CHECK(!eligible(q, q, q, o, why, sizeof why) && strstr(why, "v must be"), "f8 v: %s", why);
}

static void test_sm(void)
{
    CHECK(cuda_sdpa_fp8_sm_ok(90) && cuda_sdpa_fp8_sm_ok(100), "Hopper and B200 admitted");
    CHECK(!cuda_sdpa_fp8_sm_ok(89) && !cuda_sdpa_fp8_sm_ok(80) && !cuda_sdpa_fp8_sm_ok(86) &&
              !cuda_sdpa_fp8_sm_ok(120),
          "Ada, Ampere and consumer Blackwell refused (no engine there)");
}

static void test_keys(void)
{
    const int e4 = PICTOR_F8_E4M3;
    pictor_tensor q = bshd(e4, 1, 24, 4352, 128), k = bshd(e4, 1, 24, 1000, 128);
    pictor_tensor v = bshd(PICTOR_BF16, 1, 24, 1000, 128), o = bshd(PICTOR_F32, 1, 24, 4352, 128);
    struct pictor_op_args a = args_of(&q, &k, &v, &o), b;
    struct cuda_sdpa_fp8_key ka, kb, kc;
    pictor_tensor q2 = q, v2 = bhsd(PICTOR_F16, 1, 24, 1000, 128);

    cuda_sdpa_fp8_key_of(&a, &ka);
    CHECK(ka.B == 1 && ka.H == 24 && ka.Lq == 4352 && ka.Lk == 1000 && ka.D == 128,
          "shape: %lld %lld %lld %lld %lld", (long long)ka.B, (long long)ka.H,
          (long long)ka.Lq, (long long)ka.Lk, (long long)ka.D);
    CHECK(ka.qs[1] == 128 && ka.qs[2] == 24 * 128 && ka.qs[3] == 1,
          "q's BSHD strides kept: %lld %lld %lld", (long long)ka.qs[1], (long long)ka.qs[2],
          (long long)ka.qs[3]);
    /* B is 1: B's stride normalised to H's extent (24 x 128). */
    CHECK(ka.ks[2] == 24 * 128 && ka.ks[1] == 128 && ka.ks[0] == 24 * 128,
          "k's strides: %lld %lld %lld", (long long)ka.ks[0], (long long)ka.ks[1],
          (long long)ka.ks[2]);
    /* So q's B stride addresses nothing and does not change the key; nor
     * do v and o (the graph reads and writes contiguous scratch). */
    q2.stride[0] = 12345 * 16;
    b = args_of(&q2, &k, &v2, &o);
    cuda_sdpa_fp8_key_of(&b, &kb);
    CHECK(memcmp(&ka, &kb, sizeof ka) == 0, "B 1's stride and v's layout change the key");
    /* Another layout of q does change it. */
    q2 = bhsd(e4, 1, 24, 4352, 128);
    b = args_of(&q2, &k, &v, &o);
    cuda_sdpa_fp8_key_of(&b, &kb);
    CHECK(memcmp(&ka, &kb, sizeof ka) != 0, "BHSD q has the key of BSHD q");
    /* Contiguous operands: key_of and key_contig agree; the probe's key is
     * the contiguous 1 x 1 x 128 x 128. */
    q2 = bhsd(e4, 2, 3, 300, 64);
    k = bhsd(e4, 2, 3, 77, 64);
    b = args_of(&q2, &k, &v, &o);
    cuda_sdpa_fp8_key_of(&b, &kb);
    cuda_sdpa_fp8_key_contig(2, 3, 300, 77, 64, &kc);
    CHECK(memcmp(&kb, &kc, sizeof kb) == 0, "key_contig differs from key_of of packed tensors");
    cuda_sdpa_fp8_probe_key(&kb);
    cuda_sdpa_fp8_key_contig(1, 1, 128, 128, 128, &kc);
    CHECK(memcmp(&kb, &kc, sizeof kb) == 0, "probe key");
    /* Base alignment (staging decision). */
    q2.data = (void *)(uintptr_t)4096;
    CHECK(cuda_sdpa_fp8_base_aligned(&q2), "4096 is aligned");
    q2.data = (void *)(uintptr_t)4104;
    CHECK(!cuda_sdpa_fp8_base_aligned(&q2), "4104 is not 16-byte aligned");
}

#ifdef PICTOR_HAVE_CUDA

/* Plans the graph of key deviceless for the devprop; returns the number
 * of viable engine configs (-1 when building failed before planning). */
static int64_t viable_configs(const char *what, cudnnBackendDescriptor_t devprop,
                              const struct cuda_sdpa_fp8_key *key,
                              enum cuda_sdpa_fp8_graph_kind kind)
{
    const struct dnn_target t = { .devprop = devprop };
    struct dnn_graph_plan p;
    char err[512];
    int rc = cuda_sdpa_fp8_plan_build(&g_libs, key, &t, kind, &p, err, sizeof err);
    int64_t n = p.viable;

    /* Building the graph itself must work; only planning may not. */
    CHECK(rc == PICTOR_OK || rc == PICTOR_E_UNSUPPORTED, "%s: %s", what, err);
    printf("# %s: %lld viable engine config(s)%s%s\n", what, (long long)n,
           p.plan ? ", plan finalized" : rc ? "; plan: " : "", p.plan ? "" : rc ? p.why : "");
    dnn_graph_plan_release(&p);
    return n;
}

/* With a GPU: the plan of key must finalize on a handle. */
static void finalizes_on_gpu(const char *what, const struct cuda_sdpa_fp8_key *key)
{
    cudnnHandle_t h = NULL;
    struct dnn_graph_plan p;
    char err[512] = "";
    int rc;

    if (g_libs.dnn.cudnnCreate(&h) != CUDNN_STATUS_SUCCESS) {
        CHECK(false, "%s: cudnnCreate failed with a GPU present", what);
        return;
    }
    const struct dnn_target t = { .handle = h };

    g_libs.dnn_handle = h;
    rc = cuda_sdpa_fp8_plan_build(&g_libs, key, &t, CUDA_SDPA_FP8_GRAPH, &p, err, sizeof err);
    CHECK(rc == PICTOR_OK && p.plan, "%s: plan on this GPU: %s", what, err);
    printf("# %s on this GPU: %s (workspace %lld bytes)\n", what,
           p.plan ? "plan finalized" : "no plan", (long long)p.workspace);
    dnn_graph_plan_release(&p);
    g_libs.dnn_handle = NULL;
    g_libs.dnn.cudnnDestroy(h);
}

static void test_dnn_plan(void)
{
    const int e4 = PICTOR_F8_E4M3;
    pictor_tensor fq = bshd(e4, FLUX_B, FLUX_H, FLUX_L, FLUX_D);
    pictor_tensor fv = bshd(PICTOR_BF16, FLUX_B, FLUX_H, FLUX_L, FLUX_D);
    pictor_tensor sq = bhsd(e4, 2, 3, 300, 64), sv = bhsd(PICTOR_F32, 2, 3, 300, 64);
    struct pictor_op_args fa = args_of(&fq, &fq, &fv, &fv), sa = args_of(&sq, &sq, &sv, &sv);
    struct cuda_sdpa_fp8_key flux, small;
    cudnnBackendDescriptor_t devprop = NULL;
    char err[512];
    int rc = dnn_devprop_from_json(&g_libs, k_h100_json, &devprop, err, sizeof err);

    CHECK(rc == PICTOR_OK, "H100 devprop from JSON: %s", err);
    if (rc)
        return;
    cuda_sdpa_fp8_key_of(&fa, &flux);
    cuda_sdpa_fp8_key_of(&sa, &small);
    CHECK(viable_configs("FLUX B 1 H 24 L 4352 D 128, BSHD", devprop, &flux,
                         CUDA_SDPA_FP8_GRAPH) >= 1,
          "cuDNN offers no engine for FLUX's FP8 attention on an H100 (see the # line)");
    CHECK(viable_configs("B 2 H 3 L 300 D 64, BHSD", devprop, &small, CUDA_SDPA_FP8_GRAPH) >= 1,
          "cuDNN offers no engine for the small FP8 attention on an H100");
    CHECK(viable_configs("FLUX without the Stats branch", devprop, &flux,
                         CUDA_SDPA_FP8_GRAPH_NO_STATS) == 0,
          "cuDNN offers engines for a graph without Stats: the check proves nothing");
    dnn_destroy(&g_libs, devprop);
    /* The other compute capability supports() admits: a B200. */
    devprop = NULL;
    rc = dnn_devprop_from_json(&g_libs, k_b200_json, &devprop, err, sizeof err);
    CHECK(rc == PICTOR_OK, "B200 devprop from JSON: %s", err);
    if (rc)
        return;
    CHECK(viable_configs("B200: FLUX B 1 H 24 L 4352 D 128, BSHD", devprop, &flux,
                         CUDA_SDPA_FP8_GRAPH) >= 1,
          "cuDNN offers no engine for FLUX's FP8 attention on a B200");
    dnn_destroy(&g_libs, devprop);
    if (g_gpu) {
        finalizes_on_gpu("FLUX shape", &flux);
        finalizes_on_gpu("small shape", &small);
    }
}

/* The bf16 attention the CUDA backend already runs (op_sdpa_cudnn.c, the
 * unified SDPA_FWD op of cuDNN >= 9.13.1), planned the same way: cuDNN
 * must offer an engine at FLUX's shape. */
static void test_bf16_dnn_plan(void)
{
    pictor_tensor q = bshd(PICTOR_BF16, FLUX_B, FLUX_H, FLUX_L, FLUX_D);
    struct pictor_op_args a;
    struct cuda_sdpa_dnn_key key;
    cudnnBackendDescriptor_t devprop = NULL;
    int64_t viable = 0;
    bool planned = false;
    char err[512] = "";
    int rc;

    if (g_libs.dnn_version < CUDA_SDPA_DNN_MIN_VERSION) {
        printf("# cuDNN %zu has no unified SDPA op: bf16 plan not checked\n",
               g_libs.dnn_version);
        return;
    }
    memset(&a, 0, sizeof a);
    a.op = PICTOR_OP_SDPA;
    a.u.sdpa.q = a.u.sdpa.k = a.u.sdpa.v = &q;
    a.u.sdpa.o = &q;
    a.u.sdpa.scale = 0.125f;
    cuda_sdpa_dnn_key_of(&a, &key);
    rc = dnn_devprop_from_json(&g_libs, k_h100_json, &devprop, err, sizeof err);
    CHECK(rc == PICTOR_OK, "H100 devprop from JSON: %s", err);
    if (rc)
        return;
    const struct dnn_target t = { .devprop = devprop };

    rc = cuda_sdpa_dnn_viable(&g_libs, &key, &t, &viable, &planned, err, sizeof err);
    printf("# bf16 unified SDPA, FLUX BSHD: %lld viable engine config(s)%s%s\n",
           (long long)viable, planned ? ", plan finalized" : "; plan: ", planned ? "" : err);
    CHECK(rc == PICTOR_OK || rc == PICTOR_E_UNSUPPORTED, "bf16 graph: %s", err);
    CHECK(viable >= 1, "cuDNN offers no engine for FLUX's bf16 attention on an H100");
    dnn_destroy(&g_libs, devprop);
}
#endif /* PICTOR_HAVE_CUDA */

int main(void)
{
    char why[512] = "built without CUDA";

    RUN(test_eligible);
    RUN(test_keys);
    RUN(test_sm);
#ifdef PICTOR_HAVE_CUDA
    if (dnn_ready(why, sizeof why)) {
        RUN(test_dnn_plan);
        RUN(test_bf16_dnn_plan);
    } else
#endif
        printf("SKIP test_dnn_plan, test_bf16_dnn_plan: %s\n", why);
    TEST_MAIN_END();
}
