/*
 * tests/unit/test_conv_dnn_plan.c — cuDNN's verdict, without a GPU, on the
 * fused convolution graphs of kernels/cuda/op_conv2d_graph.h at the FLUX
 * VAE's shapes (1024x1024 image), NCHW and channels-last: conv + bias into
 * bf16 (3x3, the folded upsampler's 2x2, the 1x1 shortcut), and the unused
 * conv + bias + f32 residual graph for the record. cuDNN is loaded without a handle (tests/unit/dnn_deviceless.h)
 * and each graph is planned for an H100 and a B200 described by devprop
 * descriptors: the heuristics must offer at least one engine config after
 * their support checks, and every config's engine must say whether it is
 * runtime-compiled (printed: what PICTOR_CUDA_DNN_TUNE=1 would not try). With a GPU (the real driver finds a device) the
 * plans must also finalize on a handle.
 * Without cuDNN >= 9.8 or a driver library it prints "SKIP ..." and exits 0;
 * likewise in a build without CUDA.
 */
#include <stdio.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/tensor_util.h"

#ifdef PICTOR_HAVE_CUDA
#include "../../kernels/cuda/dnn_tune.h"
#include "../../kernels/cuda/op_conv2d_graph.h"
#include "dnn_deviceless.h"

struct conv_case {
    const char *what;
    int64_t cin, h, w, cout, k;
    int pad, bdtype, rdtype, ydtype;
    bool channels_last;
};

/* The VAE decoder's convolutions at 1024x1024 (FLUX: 16 latent channels,
 * block_out_channels 128/256/512/512) as the backend's fused path asks
 * (conv + bias, in both layouts), and for the record the conv + bias + f32
 * residual graph the backend does not use (its engines load a kernel
 * module when their plans finalize: docs/benchmarks.md). */
static const struct conv_case k_cases[] = {
    {"conv 128ch 1024^2 + bias, NHWC", 128, 1024, 1024, 128, 3, 1, PICTOR_BF16, -1, PICTOR_BF16,
     true},
    {"conv 128ch 1024^2 + bias, NCHW", 128, 1024, 1024, 128, 3, 1, PICTOR_BF16, -1, PICTOR_BF16,
     false},
    {"conv 256->128 1024^2 + bias, NHWC", 256, 1024, 1024, 128, 3, 1, PICTOR_BF16, -1,
     PICTOR_BF16, true},
    {"shortcut 1x1 256->128 1024^2 + bias, NCHW", 256, 1024, 1024, 128, 1, 0, PICTOR_BF16, -1,
     PICTOR_BF16, false},
    {"shortcut 1x1 256->128 1024^2 + bias, NHWC", 256, 1024, 1024, 128, 1, 0, PICTOR_BF16, -1,
     PICTOR_BF16, true},
    {"conv 512ch 256^2 + bias, NCHW", 512, 256, 256, 512, 3, 1, PICTOR_BF16, -1, PICTOR_BF16,
     false},
    {"folded upsampler 2x2 256->1024 512^2 + bias, NHWC", 256, 512, 512, 1024, 2, 1, PICTOR_BF16,
     -1, PICTOR_BF16, true},
    {"folded upsampler 2x2 256->1024 512^2 + bias, NCHW", 256, 512, 512, 1024, 2, 1, PICTOR_BF16,
     -1, PICTOR_BF16, false},
    {"conv_in 16->512 128^2 + bias, NCHW", 16, 128, 128, 512, 3, 1, PICTOR_BF16, -1, PICTOR_BF16,
     false},
    {"conv 128ch 1024^2 + bias + f32 residual -> f32, NHWC (unused)", 128, 1024, 1024, 128, 3, 1,
     PICTOR_BF16, PICTOR_F32, PICTOR_F32, true},
};

static struct cuda_conv_graph_key key_of(const struct conv_case *c)
{
    struct cuda_conv_graph_key k;

    memset(&k, 0, sizeof k);
    k.xdtype = PICTOR_BF16;
    k.bdtype = c->bdtype;
    k.rdtype = c->rdtype;
    k.ydtype = c->ydtype;
    k.channels_last = c->channels_last;
    k.stride_h = k.stride_w = 1;
    k.pad_h = k.pad_w = c->pad;
    k.n = 1;
    k.cin = c->cin;
    k.h = c->h;
    k.w = c->w;
    k.cout = c->cout;
    k.kh = k.kw = c->k;
    return k;
}

/* How many of the configs heuristics mode A offers for graph g on t note
 * runtime compilation (what PICTOR_CUDA_DNN_TUNE skips: dnn_tune.h); every
 * config's engine notes must be readable. -1 when the query failed. */
static int64_t compiled(const char *what, cudnnBackendDescriptor_t g, const struct dnn_target *t,
                        int64_t *got)
{
    cudnnBackendDescriptor_t heur = NULL, cfg[DNN_MAX_CONFIGS];
    int64_t n = -1;
    char err[512];
    int rc = dnn_heur_configs(&g_libs, g, t, CUDNN_HEUR_MODE_A, &heur, cfg, got, err,
                              sizeof err);

    CHECK(rc == PICTOR_OK, "%s: heuristics mode A: %s", what, err);
    for (int64_t i = 0; !rc && i < *got; i++) {
        bool c;

        rc = dnn_config_notes(&g_libs, cfg[i], &c, err, sizeof err);
        CHECK(rc == PICTOR_OK, "%s: config %lld's behavior notes: %s", what, (long long)i, err);
        n = (n < 0 ? 0 : n) + c;
    }
    for (int i = 0; i < DNN_MAX_CONFIGS; i++)
        dnn_destroy(&g_libs, cfg[i]);
    dnn_destroy(&g_libs, heur);
    return rc ? -1 : n < 0 ? 0 : n;
}

/* Engine configs cuDNN offers for c on target t (printed, with how many of
 * mode A's note runtime compilation). */
static int64_t viable(const char *dev, const struct conv_case *c, const struct dnn_target *t)
{
    struct cuda_conv_graph_key k = key_of(c);
    struct dnn_graph_plan p;
    char err[512];
    int rc = cuda_conv_graph_build(&g_libs, &k, t, &p, err, sizeof err);
    int64_t n = p.viable, got = 0, rtc = -1;

    CHECK(rc == PICTOR_OK || rc == PICTOR_E_UNSUPPORTED, "%s %s: %s", dev, c->what, err);
    if (p.graph)
        rtc = compiled(c->what, p.graph, t, &got);
    printf("# %s %s: %lld viable engine config(s)%s%s%s; mode A %lld, %lld runtime-compiled\n",
           dev, c->what, (long long)n, p.plan ? ", plan finalized" : "",
           !p.plan && rc ? "; " : "", p.plan ? "" : p.why, (long long)got, (long long)rtc);
    dnn_graph_plan_release(&p);
    return n;
}

static void plans_for(const char *dev, const char *json)
{
    cudnnBackendDescriptor_t devprop = NULL;
    char err[512];
    int rc = dnn_devprop_from_json(&g_libs, json, &devprop, err, sizeof err);

    CHECK(rc == PICTOR_OK, "%s devprop from JSON: %s", dev, err);
    if (rc)
        return;
    const struct dnn_target t = { .devprop = devprop };

    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++)
        CHECK(viable(dev, &k_cases[i], &t) >= 1, "cuDNN offers no engine for %s on %s",
              k_cases[i].what, dev);
    dnn_destroy(&g_libs, devprop);
}

static void test_conv_dnn_plan(void)
{
    plans_for("H100", k_h100_json);
    plans_for("B200", k_b200_json);
    if (!g_gpu)
        return;
    cudnnHandle_t h = NULL;

    if (g_libs.dnn.cudnnCreate(&h) != CUDNN_STATUS_SUCCESS) {
        CHECK(false, "cudnnCreate failed with a GPU present");
        return;
    }
    const struct dnn_target t = { .handle = h };

    g_libs.dnn_handle = h;
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        struct cuda_conv_graph_key k = key_of(&k_cases[i]);
        struct dnn_graph_plan p;
        char err[512] = "";
        int rc = cuda_conv_graph_build(&g_libs, &k, &t, &p, err, sizeof err);

        CHECK(rc == PICTOR_OK && p.plan, "%s: plan on this GPU: %s", k_cases[i].what, err);
        printf("# this GPU %s: %s (workspace %lld bytes)\n", k_cases[i].what,
               p.plan ? "plan finalized" : "no plan", (long long)p.workspace);
        dnn_graph_plan_release(&p);
    }
    g_libs.dnn_handle = NULL;
    g_libs.dnn.cudnnDestroy(h);
}
#endif /* PICTOR_HAVE_CUDA */

int main(void)
{
    char why[512] = "built without CUDA";

#ifdef PICTOR_HAVE_CUDA
    if (dnn_ready(why, sizeof why))
        RUN(test_conv_dnn_plan);
    else
#endif
        printf("SKIP test_conv_dnn_plan: %s\n", why);
    TEST_MAIN_END();
}
