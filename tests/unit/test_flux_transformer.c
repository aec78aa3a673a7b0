/* tests/unit/test_flux_transformer.c — what the flux.transformer fixture
 * cases do not cover (pictor/flux_transformer.h): config errors, load errors
 * naming tensor and file, forward input checks, and
 * pictor_flux_transformer_check on full-size FLUX.1 checkpoints described by
 * the TSVs in tests/data/manifests (copies of the shared manifests), written as
 * sparse safetensors files: the header declares every real shape, the data
 * section is a hole (ftruncate), so no disk is used and no data is read.
 * Run from the repository root (as tests/run-all does); the data folder is
 * also searched upwards from the binary. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/manifest.h"
#include "../harness/test.h"
#include "pictor/common_host.h"
#include "pictor/flux_transformer.h"
#include "pictor/params.h"
#include "pictor/plugins.h"
#include "pictor/tensor_util.h"

#define SCHNELL_CASE "tests/fixtures/flux_transformer_schnell/model"
#define DEV_CASE "tests/fixtures/flux_transformer_dev/model"
#define MAX_TENSORS 2048

static char g_tmp[PATH_MAX];

/* ---- helpers ----------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A wsource over another one that hides one tensor or changes its shape. */
struct tamper {
    const struct pictor_wsource *inner;
    const char *hide;
    const char *reshape;
};

static int tamper_get(void *ctx, const char *name, pictor_tensor *out)
{
    struct tamper *t = ctx;
    if (t->hide && strcmp(name, t->hide) == 0)
        return PICTOR_E_NOT_FOUND;
    int rc = t->inner->get(t->inner->ctx, name, out);
    if (rc == PICTOR_OK && t->reshape && strcmp(name, t->reshape) == 0 && out->ndim == 2) {
        int64_t s[2] = {out->shape[1], out->shape[0]};
        pictor_tensor_reshape(out, 2, s, out);
    }
    return rc;
}

static const char *tamper_where(void *ctx, const char *name)
{
    struct tamper *t = ctx;
    return t->inner->where ? t->inner->where(t->inner->ctx, name) : NULL;
}

/* Listing for the tampered source: the inner (host) source's names. */
static size_t tamper_count(const struct pictor_wsource *src)
{
    const struct tamper *t = src->ctx;
    return pictor_common_host()->weights_count(t->inner);
}

static const char *tamper_name(const struct pictor_wsource *src, size_t i)
{
    const struct tamper *t = src->ctx;
    return pictor_common_host()->weights_name(t->inner, i);
}

/* ---- config ------------------------------------------------------------ */

static int load_cfg_text(const char *json, struct pictor_flux_config *cfg, char *err, size_t len)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", g_tmp);
    write_text(path, json);
    return pictor_flux_config_load(g_tmp, cfg, err, len);
}

static void test_config(void)
{
    struct pictor_flux_config cfg;
    char err[512] = "";
    int rc = load_cfg_text("{\"_class_name\": \"FluxTransformer2DModel\", \"guidance_embeds\": true,"
                           " \"out_channels\": null}", &cfg, err, sizeof err);
    CHECK(rc == PICTOR_OK, "released-style config: %s", err);
    CHECK(cfg.guidance_embeds && cfg.out_channels == 64 && cfg.num_layers == 19 &&
          cfg.num_single_layers == 38 && pictor_flux_inner_dim(&cfg) == 3072 &&
          cfg.n_axes == 3 && cfg.axes_dims_rope[1] == 56, "defaults are FLUX.1's");

    rc = load_cfg_text("{\"patch_size\": 2}", &cfg, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "patch_size 2") && strstr(err, "config.json"),
          "patch_size 2 rejected: %s", err);

    rc = load_cfg_text("{\"attention_head_dim\": 16, \"num_attention_heads\": 2,"
                       " \"axes_dims_rope\": [4, 4, 4]}", &cfg, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "axes_dims_rope") && strstr(err, "12") &&
          strstr(err, "16"), "axes not summing to the head dim rejected: %s", err);

    rc = load_cfg_text("{\"_class_name\": \"SD3Transformer2DModel\"}", &cfg, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "SD3Transformer2DModel"), "class name: %s", err);

    rc = load_cfg_text("{\"num_layers\": \"19\"}", &cfg, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "num_layers"), "wrong JSON type: %s", err);

    pictor_flux_config_default(&cfg);
    cfg.axes_dims_rope[0] = 15;
    cfg.axes_dims_rope[1] = 57;
    rc = pictor_flux_config_validate(&cfg, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "even"), "odd axis width: %s", err);
}

/* ---- loading errors (tiny fixture model, one tensor hidden/reshaped) --- */

static void test_load_errors(void)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *m = NULL;
    char path[PATH_MAX], err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    CHECK(find_data(SCHNELL_CASE, path, sizeof path), "fixture %s not found", SCHNELL_CASE);
    if (pictor_flux_config_load(path, &cfg, err, sizeof err) ||
        host->weights_open(path, false, &src, err, sizeof err)) {
        CHECK(0, "open fixture: %s", err);
        goto out;
    }
    int rc = pictor_flux_transformer_open(&cfg, &src, be, &m, err, sizeof err);
    CHECK(rc == PICTOR_OK && m, "open: %s", err);
    CHECK(m && pictor_flux_transformer_param_count(m) == pictor_flux_config_param_count(&cfg),
          "param count %lld vs %lld", m ? pictor_flux_transformer_param_count(m) : -1LL,
          (long long)pictor_flux_config_param_count(&cfg));
    pictor_flux_transformer_close(m);
    m = NULL;

    struct tamper t = {.inner = &src, .hide = "transformer_blocks.1.attn.norm_added_k.weight"};
    struct pictor_wsource ts = {&t, tamper_get, tamper_where};
    rc = pictor_flux_transformer_open(&cfg, &ts, be, &m, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && !m, "missing tensor fails: %d", rc);
    CHECK(strstr(err, "'transformer_blocks.1.attn.norm_added_k.weight'") &&
          strstr(err, "diffusion_pytorch_model.safetensors"), "names tensor and file: %s", err);

    t.hide = NULL;
    t.reshape = "single_transformer_blocks.0.proj_out.weight"; /* [32, 160] -> [160, 32] */
    rc = pictor_flux_transformer_open(&cfg, &ts, be, &m, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && !m, "wrong shape fails: %d", rc);
    CHECK(strstr(err, "'single_transformer_blocks.0.proj_out.weight'") && strstr(err, "[160, 32]") &&
          strstr(err, "[32, 160]") && strstr(err, "diffusion_pytorch_model.safetensors"),
          "names tensor, both shapes and file: %s", err);

    /* the same problem through the data-free check (a source of our own:
     * the lister is passed explicitly) */
    rc = pictor_flux_transformer_check_names(&cfg, &ts, tamper_count, tamper_name, err,
                                             sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "'single_transformer_blocks.0.proj_out.weight' has "
                                          "shape [160, 32], expected [32, 160]"),
          "check reports the shape: %s", err);
    /* a dev config on schnell weights: the guidance embedder is missing */
    cfg.guidance_embeds = true;
    rc = pictor_flux_transformer_check(&cfg, &src, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT &&
          strstr(err, "missing 'time_text_embed.guidance_embedder.linear_1.weight'") &&
          strstr(err, "(4 problems)"), "check reports missing tensors: %s", err);
    rc = pictor_flux_transformer_open(&cfg, &src, be, &m, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "guidance_embedder"), "open fails too: %s", err);
out:
    pictor_flux_transformer_close(m);
    if (src.ctx)
        host->weights_close(&src);
    pictor_backend_destroy(be);
}

/* ---- forward input checks (dev fixture model) -------------------------- */

static void test_forward_inputs(void)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *m = NULL;
    char path[PATH_MAX], err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    CHECK(find_data(DEV_CASE, path, sizeof path), "fixture %s not found", DEV_CASE);
    if (pictor_flux_config_load(path, &cfg, err, sizeof err) ||
        host->weights_open(path, false, &src, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &m, err, sizeof err)) {
        CHECK(0, "open dev fixture: %s", err);
        goto out;
    }
    enum { B = 1, L = 2, T = 3 };
    static float buf[4096];
    pictor_tensor x = pictor_tensor_make(buf, PICTOR_F32, 3, (int64_t[]){B, L, cfg.in_channels});
    pictor_tensor c = pictor_tensor_make(buf, PICTOR_F32, 3,
                                         (int64_t[]){B, T, cfg.joint_attention_dim});
    pictor_tensor p = pictor_tensor_make(buf, PICTOR_F32, 2,
                                         (int64_t[]){B, cfg.pooled_projection_dim});
    pictor_tensor ts = pictor_tensor_make(buf, PICTOR_F32, 1, (int64_t[]){B});
    pictor_tensor img = pictor_tensor_make(buf, PICTOR_F32, 2, (int64_t[]){L, 3});
    pictor_tensor txt = pictor_tensor_make(buf, PICTOR_F32, 2, (int64_t[]){T, 3});
    pictor_tensor o = pictor_tensor_make(buf + 2048, PICTOR_F32, 3,
                                         (int64_t[]){B, L, cfg.out_channels});
    struct pictor_flux_inputs in = {&x, &c, &p, &ts, NULL, &img, &txt};
    int rc = pictor_flux_transformer_forward(m, &in, &o, err, sizeof err);
    CHECK(rc == PICTOR_E_INVALID && strstr(err, "guidance") && strstr(err, "absent"),
          "dev model without guidance: %s", err);
    in.guidance = &ts;
    in.img_ids = &txt;
    rc = pictor_flux_transformer_forward(m, &in, &o, err, sizeof err);
    CHECK(rc == PICTOR_E_INVALID && strstr(err, "img_ids") && strstr(err, "[2, 3]"),
          "img_ids rows must be L: %s", err);
    in.img_ids = &img;
    rc = pictor_flux_transformer_forward(m, &in, &o, err, sizeof err);
    CHECK(rc == PICTOR_OK, "valid call runs: %s", err);
    for (int i = 0; i < B * L * cfg.out_channels; i++)
        CHECK(isfinite(buf[2048 + i]), "finite output");
out:
    pictor_flux_transformer_close(m);
    if (src.ctx)
        host->weights_close(&src);
    pictor_backend_destroy(be);
}

/* The RoPE tables are cached across forwards while the ids stay the same:
 * a forward with other ids after one with the first must give the output
 * a fresh model gives for them, and the first ids again the first output. */
static void test_rope_cache(void)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *m = NULL, *fresh = NULL;
    char path[PATH_MAX], err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    CHECK(find_data(DEV_CASE, path, sizeof path), "fixture %s not found", DEV_CASE);
    if (pictor_flux_config_load(path, &cfg, err, sizeof err) ||
        host->weights_open(path, false, &src, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &m, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &fresh, err, sizeof err)) {
        CHECK(0, "open dev fixture: %s", err);
        goto out;
    }
    enum { B = 1, L = 4, T = 3 };
    static float in_buf[4096], ids1[L * 3], ids2[L * 3], tids[T * 3], o1[256], o2[256],
        o1b[256], o2f[256];
    test_fill_uniform(in_buf, 4096, 7, -1.0f, 1.0f);
    for (int l = 0; l < L; l++) {
        float row[3] = {0.0f, (float)(l / 2), (float)(l % 2)};
        memcpy(ids1 + 3 * l, row, sizeof row);
        row[1] += 5.0f; /* other positions: other tables */
        memcpy(ids2 + 3 * l, row, sizeof row);
    }
    pictor_tensor x = pictor_tensor_make(in_buf, PICTOR_F32, 3, (int64_t[]){B, L, cfg.in_channels});
    pictor_tensor c = pictor_tensor_make(in_buf + 512, PICTOR_F32, 3,
                                         (int64_t[]){B, T, cfg.joint_attention_dim});
    pictor_tensor p = pictor_tensor_make(in_buf + 1024, PICTOR_F32, 2,
                                         (int64_t[]){B, cfg.pooled_projection_dim});
    pictor_tensor ts = pictor_tensor_make(in_buf + 2000, PICTOR_F32, 1, (int64_t[]){B});
    pictor_tensor i1 = pictor_tensor_make(ids1, PICTOR_F32, 2, (int64_t[]){L, 3});
    pictor_tensor i2 = pictor_tensor_make(ids2, PICTOR_F32, 2, (int64_t[]){L, 3});
    pictor_tensor txt = pictor_tensor_make(tids, PICTOR_F32, 2, (int64_t[]){T, 3});
    int64_t so[3] = {B, L, cfg.out_channels};
    float *outs[4] = {o1, o2, o1b, o2f};
    const pictor_tensor *ids[4] = {&i1, &i2, &i1, &i2};
    for (int k = 0; k < 4; k++) {
        pictor_tensor o = pictor_tensor_make(outs[k], PICTOR_F32, 3, so);
        struct pictor_flux_inputs in = {&x, &c, &p, &ts, &ts, ids[k], &txt};
        CHECK(pictor_flux_transformer_forward(k == 3 ? fresh : m, &in, &o, err, sizeof err) ==
                  PICTOR_OK, "forward %d: %s", k, err);
    }
    size_t bytes = (size_t)(B * L * cfg.out_channels) * sizeof(float);
    CHECK(memcmp(o1, o2, bytes) != 0, "other ids change the output");
    CHECK(memcmp(o2, o2f, bytes) == 0, "after a cache refill: the fresh model's output");
    CHECK(memcmp(o1, o1b, bytes) == 0, "the first ids again: the first output");
out:
    pictor_flux_transformer_close(fresh);
    pictor_flux_transformer_close(m);
    if (src.ctx)
        host->weights_close(&src);
    pictor_backend_destroy(be);
}

/* One call of the graphed model g and of the eager model e on the same
 * fresh inputs (from seed) with L image tokens at ids [L, 3] and 3 text
 * tokens: whether both ran and their outputs are the same bytes. g's
 * output buffer is filled with garbage first, so an output the graph did
 * not write shows. */
static bool graphed_equals_eager(struct pictor_flux_transformer *g,
                                 struct pictor_flux_transformer *e,
                                 const struct pictor_flux_config *cfg, int64_t L,
                                 const float *ids, uint64_t seed, char *err, size_t errlen)
{
    enum { B = 1, T = 3 };
    static float buf[8192], tids[T * 3], og[512], oe[512];
    test_fill_uniform(buf, 8192, seed, -1.0f, 1.0f);
    pictor_tensor x = pictor_tensor_make(buf, PICTOR_F32, 3, (int64_t[]){B, L, cfg->in_channels});
    pictor_tensor c = pictor_tensor_make(buf + 1024, PICTOR_F32, 3,
                                         (int64_t[]){B, T, cfg->joint_attention_dim});
    pictor_tensor p = pictor_tensor_make(buf + 2048, PICTOR_F32, 2,
                                         (int64_t[]){B, cfg->pooled_projection_dim});
    pictor_tensor ts = pictor_tensor_make(buf + 3000, PICTOR_F32, 1, (int64_t[]){B});
    pictor_tensor gd = pictor_tensor_make(buf + 3001, PICTOR_F32, 1, (int64_t[]){B});
    pictor_tensor img = pictor_tensor_make((void *)ids, PICTOR_F32, 2, (int64_t[]){L, 3});
    pictor_tensor txt = pictor_tensor_make(tids, PICTOR_F32, 2, (int64_t[]){T, 3});
    int64_t so[3] = {B, L, cfg->out_channels};
    pictor_tensor o1 = pictor_tensor_make(og, PICTOR_F32, 3, so);
    pictor_tensor o2 = pictor_tensor_make(oe, PICTOR_F32, 3, so);
    struct pictor_flux_inputs in = {&x, &c, &p, &ts, &gd, &img, &txt};
    memset(og, 0xff, sizeof og);
    return pictor_flux_transformer_forward(g, &in, &o1, err, errlen) == PICTOR_OK &&
           pictor_flux_transformer_forward(e, &in, &o2, err, errlen) == PICTOR_OK &&
           memcmp(og, oe, (size_t)(B * L * cfg->out_channels) * sizeof(float)) == 0;
}

/* Graphs on the CPU backend's recorder (the twin of CUDA stream capture):
 * a sequence of forwards — new timesteps, latents and conditioning at each
 * call, other ids, another shape and back, then more shapes than graphs
 * are kept — gives the eager model's output bit for bit at every call, and
 * graphs were captured and replayed as planned (the recorder freezes
 * addresses and scalars, so a replay that read a stale input or a baked-in
 * timestep would differ). */
/* FP8 attention (cfg.fp8_attention over FP8 linears) on the dev fixture:
 * graphed forwards equal eager ones bit for bit, as above (the E4M3 q/k
 * tensors, their static scales and the op's inner quantisation replay
 * like any other op), and the output differs from the same model with
 * 16-bit attention (the FP8 path did run). */
static void test_graphs_fp8_attention(void)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg, cfg16;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *g = NULL, *e = NULL, *a16 = NULL;
    char path[PATH_MAX], err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    static float ids[4 * 3];
    pictor_backend_cpu_set_graphs(be, true);
    CHECK(find_data(DEV_CASE, path, sizeof path), "fixture %s not found", DEV_CASE);
    for (int l = 0; l < 4; l++)
        ids[3 * l + 1] = (float)(l / 2), ids[3 * l + 2] = (float)(l % 2);
    if (pictor_flux_config_load(path, &cfg, err, sizeof err) ||
        host->weights_open(path, false, &src, err, sizeof err)) {
        CHECK(0, "open dev fixture: %s", err);
        goto out;
    }
    cfg.compute_dtype = pictor_precision_compute_dtype(PICTOR_PRECISION_FP8);
    cfg.fp8_linears = true;
    cfg16 = cfg;
    cfg.fp8_attention = true;
    if (pictor_flux_transformer_open(&cfg, &src, be, &g, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &e, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg16, &src, be, &a16, err, sizeof err)) {
        CHECK(0, "open dev fixture at fp8: %s", err);
        goto out;
    }
    pictor_flux_transformer_set_graphs(e, false);
    pictor_flux_transformer_set_graphs(a16, false);
    for (int k = 0; k < 4; k++)
        CHECK(graphed_equals_eager(g, e, &cfg, 4, ids, 500 + (uint64_t)k, err, sizeof err),
              "fp8 attention call %d: graphed output equals the eager one %s", k, err);
    uint64_t cap = 0, rep = 0;
    pictor_flux_transformer_graph_counts(g, &cap, &rep);
    CHECK(cap == 1 && rep == 3, "fp8 attention: %llu captures (want 1), %llu replays (want 3)",
          (unsigned long long)cap, (unsigned long long)rep);
    CHECK(!graphed_equals_eager(e, a16, &cfg, 4, ids, 600, err, sizeof err) && !err[0],
          "FP8 attention gives the output of 16-bit attention (not run?) %s", err);
out:
    pictor_flux_transformer_close(a16);
    pictor_flux_transformer_close(e);
    pictor_flux_transformer_close(g);
    if (src.ctx)
        host->weights_close(&src);
    pictor_backend_destroy(be);
}

static void test_graphs(void)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_flux_config cfg;
    struct pictor_wsource src = {0};
    struct pictor_flux_transformer *g = NULL, *e = NULL;
    char path[PATH_MAX], err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    pictor_backend_cpu_set_graphs(be, true);
    CHECK(find_data(DEV_CASE, path, sizeof path), "fixture %s not found", DEV_CASE);
    if (pictor_flux_config_load(path, &cfg, err, sizeof err) ||
        host->weights_open(path, false, &src, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &g, err, sizeof err) ||
        pictor_flux_transformer_open(&cfg, &src, be, &e, err, sizeof err)) {
        CHECK(0, "open dev fixture: %s", err);
        goto out;
    }
    pictor_flux_transformer_set_graphs(e, false);
    enum { LMAX = 6, CALLS = 7 };
    static float ids[2][LMAX * 3];
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < LMAX; l++) {
            float row[3] = {0.0f, (float)(l / 2 + 3 * k), (float)(l % 2)};
            memcpy(ids[k] + 3 * l, row, sizeof row);
        }
    /* call: latent length, which ids. L=4 ids 0: eager, capture + replay,
     * replay; ids 1: eager; L=6: eager; L=4 ids 1: capture + replay, replay */
    const int Ls[CALLS] = {4, 4, 4, 4, 6, 4, 4}, idk[CALLS] = {0, 0, 0, 1, 0, 1, 1};
    for (int k = 0; k < CALLS; k++)
        CHECK(graphed_equals_eager(g, e, &cfg, Ls[k], ids[idk[k]], 100 + (uint64_t)k, err,
                                   sizeof err),
              "call %d (L=%d, ids %d): graphed output equals the eager one %s", k, Ls[k],
              idk[k], err);
    uint64_t cap0 = 0, rep0 = 0;
    pictor_flux_transformer_graph_counts(g, &cap0, &rep0);
    CHECK(cap0 == 2 && rep0 == 4, "graphs captured %llu (want 2), replays %llu (want 4)",
          (unsigned long long)cap0, (unsigned long long)rep0);
    /* more shapes than graphs are kept: L = 1..6, each twice in a row
     * (eager, then capture + replay), then L = 1 again (evicted: eager) */
    for (int k = 0; k < 13; k++) {
        const int64_t L = k < 12 ? k / 2 + 1 : 1;
        CHECK(graphed_equals_eager(g, e, &cfg, L, ids[0], 300 + (uint64_t)k, err, sizeof err),
              "evicting: L=%lld graphed = eager %s", (long long)L, err);
    }
    uint64_t cap1 = 0, rep1 = 0, cap_e = 0, rep_e = 0;
    pictor_flux_transformer_graph_counts(g, &cap1, &rep1);
    CHECK(cap1 - cap0 == 6 && rep1 - rep0 == 6, "six shapes: %llu captures, %llu replays",
          (unsigned long long)(cap1 - cap0), (unsigned long long)(rep1 - rep0));
    pictor_flux_transformer_graph_counts(e, &cap_e, &rep_e);
    CHECK(cap_e == 0 && rep_e == 0, "graphs off: none captured");
out:
    pictor_flux_transformer_close(e);
    pictor_flux_transformer_close(g);
    if (src.ctx)
        host->weights_close(&src);
    pictor_backend_destroy(be);
}

/* ---- full-size manifests as sparse safetensors --------------------------- */

static int check_manifest(const struct mtensor *t, int n, int skip,
                          const struct pictor_flux_config *cfg, char *err, size_t len)
{
    const struct pictor_host_api *host = pictor_common_host();
    char path[PATH_MAX + 32];
    struct pictor_wsource src = {0};
    snprintf(path, sizeof path, "%s/transformer.safetensors", g_tmp);
    if (!write_sparse_st(path, t, n, skip)) {
        int w = snprintf(err, len, "cannot write %s", path);
        return w < 0 ? -1001 : -1000;
    }
    int rc = host->weights_peek(path, &src, err, len);
    if (rc == PICTOR_OK) {
        rc = pictor_flux_transformer_check(cfg, &src, err, len);
        host->weights_close(&src);
    }
    unlink(path);
    return rc;
}

static void test_manifests(void)
{
    static struct mtensor sch[MAX_TENSORS], dev[MAX_TENSORS];
    int ns = read_manifest("flux1-schnell-transformer.tsv", sch, MAX_TENSORS);
    int nd = read_manifest("flux1-dev-transformer.tsv", dev, MAX_TENSORS);
    CHECK(ns == 1156 && nd == 1160, "manifests read: %d, %d tensors", ns, nd);
    if (ns <= 0 || nd <= 0)
        return;
    struct pictor_flux_config schnell, devcfg;
    pictor_flux_config_default(&schnell);
    devcfg = schnell;
    devcfg.guidance_embeds = true;
    CHECK(pictor_flux_config_param_count(&schnell) == 11891178560LL &&
          pictor_flux_config_param_count(&devcfg) == 11901408320LL,
          "param counts: %lld, %lld", (long long)pictor_flux_config_param_count(&schnell),
          (long long)pictor_flux_config_param_count(&devcfg));
    char err[2048] = "";
    int rc = check_manifest(sch, ns, -1, &schnell, err, sizeof err);
    CHECK(rc == PICTOR_OK, "schnell manifest, schnell config: %s", err);
    rc = check_manifest(dev, nd, -1, &devcfg, err, sizeof err);
    CHECK(rc == PICTOR_OK, "dev manifest, dev config: %s", err);
    rc = check_manifest(dev, nd, -1, &schnell, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT &&
          strstr(err, "unexpected 'time_text_embed.guidance_embedder.linear_1.weight'") &&
          strstr(err, "unexpected 'time_text_embed.guidance_embedder.linear_2.bias'") &&
          strstr(err, "(4 problems)"), "dev manifest, schnell config: %s", err);
    /* one tensor removed */
    int k = -1;
    for (int i = 0; i < ns; i++)
        if (strcmp(sch[i].name, "single_transformer_blocks.37.attn.norm_k.weight") == 0)
            k = i;
    CHECK(k >= 0, "manifest lists single block 37");
    rc = check_manifest(sch, ns, k, &schnell, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT &&
          strstr(err, "missing 'single_transformer_blocks.37.attn.norm_k.weight'") &&
          strstr(err, "(1 problem)"), "one tensor removed: %s", err);
    /* one tensor reshaped */
    for (int i = 0; i < ns; i++)
        if (strcmp(sch[i].name, "transformer_blocks.18.ff_context.net.2.weight") == 0) {
            k = i;
            sch[i].shape[1] = 3072;
        }
    rc = check_manifest(sch, ns, -1, &schnell, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT &&
          strstr(err, "'transformer_blocks.18.ff_context.net.2.weight' has shape [3072, 3072], "
                      "expected [3072, 12288]") &&
          strstr(err, "transformer.safetensors"), "one tensor reshaped: %s", err);
    sch[k].shape[1] = 12288;
    /* a config with one block fewer: the file's extra blocks are unexpected */
    schnell.num_single_layers = 37;
    rc = check_manifest(sch, ns, -1, &schnell, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "unexpected 'single_transformer_blocks.37."),
          "extra block: %s", err);
}

int main(void)
{
    snprintf(g_tmp, sizeof g_tmp, "%s/pictor-flux-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    pictor_common_set_host(pictor_default_host_api());
    RUN(test_config);
    RUN(test_load_errors);
    RUN(test_forward_inputs);
    RUN(test_rope_cache);
    RUN(test_graphs);
    RUN(test_graphs_fp8_attention);
    RUN(test_manifests);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/config.json", g_tmp);
    unlink(path);
    rmdir(g_tmp);
    TEST_MAIN_END();
}
