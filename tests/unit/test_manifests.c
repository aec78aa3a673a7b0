/*
 * tests/unit/test_manifests.c — the FLUX family's text encoders and VAE
 * against the tensor manifests of the real full-size checkpoints (CLIP-L,
 * T5-v1.1-XXL, the 16-channel FLUX VAE), without weights: each manifest
 * becomes a header-only (sparse) safetensors file, the block opens it with
 * the released config, and every tensor of the manifest must be either
 * loaded with its exact shape or one the block deliberately leaves alone
 * (the VAE's encoder half, T5's tied duplicate of the embedding). A
 * missing or reshaped tensor must fail with its name.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/manifest.h"
#include "../harness/test.h"
#include "pictor/clip_text.h"
#include "pictor/common_host.h"
#include "pictor/plugins.h"
#include "pictor/t5_encoder.h"
#include "pictor/vae.h"

#define MAX_T 1024

static char tmp[256];
static pictor_backend *be;

/* A wsource that records which names the block asked for. */
struct rec {
    struct pictor_wsource inner;
    char *seen[MAX_T];
    int n;
};

static int rec_get(void *ctx, const char *name, pictor_tensor *out)
{
    struct rec *r = ctx;
    int rc = r->inner.get(r->inner.ctx, name, out);
    if (rc == PICTOR_OK && r->n < MAX_T)
        r->seen[r->n++] = strdup(name);
    return rc;
}

static const char *rec_where(void *ctx, const char *name)
{
    struct rec *r = ctx;
    return r->inner.where ? r->inner.where(r->inner.ctx, name) : NULL;
}

static bool rec_saw(const struct rec *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->seen[i], name) == 0)
            return true;
    return false;
}

static void rec_free(struct rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->seen[i]);
    r->n = 0;
}

static void write_config(const char *dir, const char *json)
{
    char p[PATH_MAX + 64];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    fputs(json, f);
    fclose(f);
}

enum block { CLIP, T5, VAE };

/* Opens block `b` from dir (config.json + model.safetensors written from
 * the manifest minus `skip`, with tensor `reshape` given a wrong last dim
 * when >= 0). Returns the status; fills r with the names used. */
static int open_block(enum block b, const char *dir, struct mtensor *t, int n, int skip,
                      int reshape, struct rec *r, char *err, size_t errlen)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    int64_t saved = 0;
    if (reshape >= 0) {
        saved = t[reshape].shape[t[reshape].ndim - 1];
        t[reshape].shape[t[reshape].ndim - 1] = saved + 1;
    }
    bool ok = write_sparse_st(p, t, n, skip);
    if (reshape >= 0)
        t[reshape].shape[t[reshape].ndim - 1] = saved;
    if (!ok) {
        snprintf(err, errlen, "cannot write %.900s", p);
        return -1000;
    }
    const struct pictor_host_api *host = pictor_common_host();
    memset(r, 0, sizeof *r);
    int rc = host->weights_open(dir, false, &r->inner, err, errlen);
    if (rc)
        return rc;
    struct pictor_wsource src = {r, rec_get, rec_where};
    if (b == CLIP) {
        struct pictor_clip_text_config cfg;
        struct pictor_clip_text *m = NULL;
        if (!(rc = pictor_clip_text_config_load(dir, &cfg, err, errlen)))
            rc = pictor_clip_text_open(&cfg, &src, be, &m, err, errlen);
        pictor_clip_text_close(m);
    } else if (b == T5) {
        struct pictor_t5_config cfg;
        struct pictor_t5_encoder *m = NULL;
        if (!(rc = pictor_t5_config_load(dir, &cfg, err, errlen)))
            rc = pictor_t5_encoder_open(&cfg, &src, be, &m, err, errlen);
        pictor_t5_encoder_close(m);
    } else {
        struct pictor_vae_config cfg;
        struct pictor_vae_decoder *m = NULL;
        if (!(rc = pictor_vae_config_load(dir, &cfg, err, errlen)))
            rc = pictor_vae_decoder_open(&cfg, &src, be, &m, err, errlen);
        pictor_vae_decoder_close(m);
    }
    host->weights_close(&r->inner);
    return rc;
}

/* Manifest names the block may leave alone, by prefix. */
static bool deliberately_unused(enum block b, const char *name)
{
    if (b == VAE) /* decoding needs the decoder half only */
        return strncmp(name, "encoder.", 8) == 0 || strncmp(name, "quant_conv.", 11) == 0;
    if (b == T5) /* tied to shared.weight, stored once in the files */
        return strcmp(name, "encoder.embed_tokens.weight") == 0;
    return false;
}

static void run_manifest(enum block b, const char *file, const char *config, int want_n)
{
    static struct mtensor t[MAX_T];
    char dir[512], err[1024] = "";
    struct rec r;
    int n = read_manifest(file, t, MAX_T);
    CHECK(n == want_n, "%s: %d tensors read", file, n);
    if (n <= 0)
        return;
    snprintf(dir, sizeof dir, "%s/%s", tmp, file);
    write_config(dir, config);
    int rc = open_block(b, dir, t, n, -1, -1, &r, err, sizeof err);
    CHECK(rc == PICTOR_OK, "%s: full-size block opens: %s", file, err);
    int unaccounted = 0, used = 0;
    for (int i = 0; i < n; i++) {
        if (rec_saw(&r, t[i].name))
            used++;
        else if (!deliberately_unused(b, t[i].name)) {
            if (!unaccounted++)
                CHECK(0, "%s: tensor '%s' neither used nor known", file, t[i].name);
        }
    }
    CHECK(unaccounted == 0 && used > 0, "%s: %d used, %d unaccounted", file, used, unaccounted);
    rec_free(&r);
    /* drop the first tensor the block needs (T5's embedding has a tied
     * stand-in, encoder.embed_tokens, that is rightly used instead) */
    int victim = -1;
    for (int i = 0; i < n && victim < 0; i++)
        if (!deliberately_unused(b, t[i].name) && strcmp(t[i].name, "shared.weight") != 0)
            victim = i;
    rc = open_block(b, dir, t, n, victim, -1, &r, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, t[victim].name), "%s: missing '%s' reported: %s", file,
          t[victim].name, err);
    rec_free(&r);
    rc = open_block(b, dir, t, n, -1, victim, &r, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, t[victim].name) && strstr(err, "shape"),
          "%s: reshaped '%s' reported: %s", file, t[victim].name, err);
    rec_free(&r);
}

/* Released configs (MODELS.md §3.1, §7.1). */
static void test_clip_l(void)
{
    run_manifest(CLIP, "clip-l-text.tsv",
                 "{\"architectures\": [\"CLIPTextModel\"], \"hidden_size\": 768, "
                 "\"intermediate_size\": 3072, \"num_hidden_layers\": 12, "
                 "\"num_attention_heads\": 12, \"max_position_embeddings\": 77, "
                 "\"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05, "
                 "\"vocab_size\": 49408, \"projection_dim\": 768, \"bos_token_id\": 0, "
                 "\"eos_token_id\": 2, \"pad_token_id\": 1}",
                 196);
}

static void test_t5_xxl(void)
{
    run_manifest(T5, "t5-v1_1-xxl-encoder.tsv",
                 "{\"architectures\": [\"T5EncoderModel\"], \"d_model\": 4096, \"d_kv\": 64, "
                 "\"d_ff\": 10240, \"num_layers\": 24, \"num_heads\": 64, "
                 "\"relative_attention_num_buckets\": 32, "
                 "\"relative_attention_max_distance\": 128, \"layer_norm_epsilon\": 1e-06, "
                 "\"feed_forward_proj\": \"gated-gelu\", \"dense_act_fn\": \"gelu_new\", "
                 "\"is_gated_act\": true, \"vocab_size\": 32128, \"tie_word_embeddings\": false}",
                 220);
}

static void test_vae_16ch(void)
{
    run_manifest(VAE, "vae-16ch-flux.tsv",
                 "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\", "
                 "\"block_out_channels\": [128, 256, 512, 512], \"in_channels\": 3, "
                 "\"latent_channels\": 16, \"layers_per_block\": 2, \"norm_num_groups\": 32, "
                 "\"out_channels\": 3, \"scaling_factor\": 0.3611, \"shift_factor\": 0.1159, "
                 "\"use_post_quant_conv\": false, \"use_quant_conv\": false, "
                 "\"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", "
                 "\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}",
                 244);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/pictor-manifests-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    pictor_common_set_host(pictor_default_host_api());
    be = pictor_backend_cpu_create(1);
    RUN(test_clip_l);
    RUN(test_t5_xxl);
    RUN(test_vae_16ch);
    pictor_backend_destroy(be);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    TEST_MAIN_END();
}
