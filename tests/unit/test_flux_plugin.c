/*
 * tests/unit/test_flux_plugin.c — the `flux` family plugin through the
 * loader, as the host uses it: probe on diffusers folders (schnell vs dev
 * from metadata alone), on original BFL single-file checkpoints (bf16 and
 * fp8-e4m3, header only) and on folders that are not FLUX; open on broken
 * folders (missing component, truncated weights, wrong shape) ends in one
 * message naming what is wrong; a transformer/ file with the original BFL
 * key names (MODELS.md §4.2) opens, and one lacking a mapped BFL tensor
 * fails naming it (the numbers are compared by
 * tests/scripts/flux_bfl_names.sh).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/manifest.h"
#include "../harness/st_write.h"
#include "../harness/test.h"
#include "pictor/plugins.h"
#include "pictor/tensor_util.h"
#include "pictor/weights.h"

static struct pictor_plugin_set *set;
static const struct pictor_plugin *flux;
static char tmp[256];
static char schnell_dir[PATH_MAX], dev_dir[PATH_MAX];

static int probe(const char *dir, struct pictor_probe_result *r)
{
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
    return flux->family.probe(dir, r);
}

static void test_probe_diffusers(void)
{
    struct pictor_probe_result r;
    CHECK(probe(schnell_dir, &r) == PICTOR_OK && r.score > 50 &&
              strcmp(r.variant, "flux.1-schnell") == 0 && strstr(r.licence, "Apache"),
          "schnell folder: %d %s %s", r.score, r.variant, r.licence);
    CHECK(probe(dev_dir, &r) == PICTOR_OK && r.score > 50 &&
              strcmp(r.variant, "flux.1-dev") == 0 && strstr(r.licence, "Non-Commercial"),
          "dev folder: %d %s %s", r.score, r.variant, r.licence);
    char vae[PATH_MAX + 16];
    snprintf(vae, sizeof vae, "%s/vae", schnell_dir);
    CHECK(probe(vae, &r) == PICTOR_OK && r.score == 0, "a VAE folder is not FLUX: %d", r.score);
    CHECK(probe("/nonexistent", &r) == PICTOR_OK && r.score == 0, "missing folder: score 0");
}

/* A BFL-named single file: a few tensors of the original layout. */
static void write_bfl(const char *path, const char *dtype, bool dev)
{
    static uint8_t zeros[64];
    struct st_entry e[3] = {
        {"double_blocks.0.img_attn.qkv.weight", dtype, 2, {9, 3}, zeros,
         (size_t)27 * (strcmp(dtype, "BF16") == 0 ? 2 : 1)},
        {"img_in.weight", dtype, 2, {3, 4}, zeros, (size_t)12 * (strcmp(dtype, "BF16") == 0 ? 2 : 1)},
        {"guidance_in.in_layer.weight", dtype, 2, {3, 2}, zeros,
         (size_t)6 * (strcmp(dtype, "BF16") == 0 ? 2 : 1)},
    };
    st_write(path, dev ? 3 : 2, e);
}

static void test_probe_single_file(void)
{
    char a[300], b[300], err[512];
    struct pictor_probe_result r;
    snprintf(a, sizeof a, "%s/flux1-schnell.safetensors", tmp);
    snprintf(b, sizeof b, "%s/flux1-dev-fp8.safetensors", tmp);
    write_bfl(a, "BF16", false);
    write_bfl(b, "F8_E4M3", true);
    CHECK(probe(a, &r) == PICTOR_OK && r.score > 50 && strcmp(r.variant, "flux.1-schnell") == 0 &&
              strstr(r.detail, "bf16"), "bf16 single file: %d %s / %s", r.score, r.variant,
          r.detail);
    CHECK(probe(b, &r) == PICTOR_OK && r.score > 50 && strcmp(r.variant, "flux.1-dev") == 0 &&
              strstr(r.detail, "f8_e4m3"), "fp8 single file: %d %s / %s", r.score, r.variant,
          r.detail);
    void *m = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = a};
    int rc = flux->family.open(&op, &m, err, sizeof err);
    CHECK(rc == PICTOR_E_UNSUPPORTED && !m && strstr(err, "diffusers folder"),
          "open on a single file explains what is needed: %s", err);
}

static int copy_tree(const char *from, const char *to)
{
    char cmd[2 * PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    return system(cmd);
}

static int try_open(const char *dir, char *err, size_t len)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    void *m = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = dir, .backend = be};
    int rc = flux->family.open(&op, &m, err, len);
    if (m)
        flux->family.close(m);
    pictor_backend_destroy(be);
    return rc;
}

static void test_open_broken(void)
{
    char dir[300], p[400], err[1024] = "";
    snprintf(dir, sizeof dir, "%s/broken", tmp);
    CHECK(try_open(schnell_dir, err, sizeof err) == PICTOR_OK, "the intact folder opens: %s", err);

    CHECK(copy_tree(schnell_dir, dir) == 0, "copy");
    snprintf(p, sizeof p, "rm -rf '%s/vae'", dir);
    CHECK(system(p) == 0, "rm vae");
    int rc = try_open(dir, err, sizeof err);
    CHECK(rc != PICTOR_OK && strstr(err, "vae"), "missing vae/: %s", err);

    CHECK(copy_tree(schnell_dir, dir) == 0, "copy");
    snprintf(p, sizeof p, "%s/transformer/diffusion_pytorch_model.safetensors", dir);
    struct stat st;
    CHECK(stat(p, &st) == 0 && truncate(p, st.st_size / 2) == 0, "truncate");
    rc = try_open(dir, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "diffusion_pytorch_model.safetensors"),
          "truncated transformer weights: %s", err);

    CHECK(copy_tree(schnell_dir, dir) == 0, "copy");
    snprintf(p, sizeof p, "%s/text_encoder_2/config.json", dir);
    FILE *f = fopen(p, "r+");
    CHECK(f != NULL, "open t5 config");
    if (f) {
        /* a bigger d_ff than the weights have: every wi/wo shape is wrong */
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        char *k = strstr(buf, "\"d_ff\"");
        if (k) {
            char *colon = strchr(k, ':');
            long v = strtol(colon + 1, NULL, 10);
            char tail[8192];
            char *end = colon + 1;
            while (*end == ' ' || (*end >= '0' && *end <= '9'))
                end++;
            snprintf(tail, sizeof tail, "%s", end);
            snprintf(colon + 1, sizeof buf - (size_t)(colon + 1 - buf), " %ld%s", v + 8, tail);
        }
        f = fopen(p, "w");
        fputs(buf, f);
        fclose(f);
        rc = try_open(dir, err, sizeof err);
        CHECK(rc == PICTOR_E_FORMAT && strstr(err, "shape") && strstr(err, "text_encoder_2"),
              "wrong shapes: %s", err);
    }
}

/* diffusers → BFL for the fixture transformer: BFL name and row part
 * (q,k,v[,mlp] order inside qkv / linear1); false for an unknown name. */
static bool bfl_name_of(const char *n, char *out, size_t len, int *part)
{
    static const char *const top[][2] = {
        {"x_embedder.", "img_in."}, {"context_embedder.", "txt_in."},
        {"time_text_embed.timestep_embedder.linear_1.", "time_in.in_layer."},
        {"time_text_embed.timestep_embedder.linear_2.", "time_in.out_layer."},
        {"time_text_embed.text_embedder.linear_1.", "vector_in.in_layer."},
        {"time_text_embed.text_embedder.linear_2.", "vector_in.out_layer."},
        {"norm_out.linear.", "final_layer.adaLN_modulation.1."},
        {"proj_out.", "final_layer.linear."}};
    static const struct { const char *d, *b; int part; } dbl[] = {
        {"norm1.linear.", "img_mod.lin.", 0}, {"norm1_context.linear.", "txt_mod.lin.", 0},
        {"attn.to_q.", "img_attn.qkv.", 0}, {"attn.to_k.", "img_attn.qkv.", 1},
        {"attn.to_v.", "img_attn.qkv.", 2}, {"attn.add_q_proj.", "txt_attn.qkv.", 0},
        {"attn.add_k_proj.", "txt_attn.qkv.", 1}, {"attn.add_v_proj.", "txt_attn.qkv.", 2},
        {"attn.norm_q.weight", "img_attn.norm.query_norm.scale", 0},
        {"attn.norm_k.weight", "img_attn.norm.key_norm.scale", 0},
        {"attn.norm_added_q.weight", "txt_attn.norm.query_norm.scale", 0},
        {"attn.norm_added_k.weight", "txt_attn.norm.key_norm.scale", 0},
        {"attn.to_out.0.", "img_attn.proj.", 0}, {"attn.to_add_out.", "txt_attn.proj.", 0},
        {"ff.net.0.proj.", "img_mlp.0.", 0}, {"ff.net.2.", "img_mlp.2.", 0},
        {"ff_context.net.0.proj.", "txt_mlp.0.", 0}, {"ff_context.net.2.", "txt_mlp.2.", 0}},
      sgl[] = {
        {"norm.linear.", "modulation.lin.", 0}, {"attn.to_q.", "linear1.", 0},
        {"attn.to_k.", "linear1.", 1}, {"attn.to_v.", "linear1.", 2},
        {"proj_mlp.", "linear1.", 3}, {"proj_out.", "linear2.", 0},
        {"attn.norm_q.weight", "norm.query_norm.scale", 0},
        {"attn.norm_k.weight", "norm.key_norm.scale", 0}};
    int i, used = 0;
    *part = 0;
    for (size_t k = 0; k < sizeof top / sizeof top[0]; k++)
        if (strncmp(n, top[k][0], strlen(top[k][0])) == 0)
            return snprintf(out, len, "%s%s", top[k][1], n + strlen(top[k][0])) > 0;
    bool single = sscanf(n, "single_transformer_blocks.%d.%n", &i, &used) == 1 && used;
    if (!single && !(sscanf(n, "transformer_blocks.%d.%n", &i, &used) == 1 && used))
        return false;
    const char *rest = n + used;
    size_t nr = single ? sizeof sgl / sizeof sgl[0] : sizeof dbl / sizeof dbl[0];
    for (size_t k = 0; k < nr; k++) {
        const char *d = single ? sgl[k].d : dbl[k].d, *b = single ? sgl[k].b : dbl[k].b;
        if (strncmp(rest, d, strlen(d)) == 0) {
            *part = single ? sgl[k].part : dbl[k].part;
            return snprintf(out, len, "%s.%d.%s%s", single ? "single_blocks" : "double_blocks",
                            i, b, rest + strlen(d)) > 0;
        }
    }
    return false;
}

/* Rewrites the fixture's transformer file at `path` in place into BFL
 * names (rows concatenated by part, norm_out halves swapped), leaving out
 * the BFL tensor `drop` (NULL: none). */
static bool write_bfl_transformer(const char *path, const char *drop)
{
    struct pictor_weights *w = NULL;
    char err[256];
    bool ok = false;
    if (pictor_weights_open(path, false, &w, err, sizeof err) != PICTOR_OK)
        return false;
    size_t n = pictor_weights_count(w), ne = 0;
    struct st_entry *e = calloc(n, sizeof *e);
    char(*names)[160] = calloc(n, sizeof *names);
    uint8_t **bufs = calloc(n, sizeof *bufs);
    if (!e || !names || !bufs)
        goto cleanup;
    for (int part = 0; part < 4; part++) /* parts in row order */
        for (size_t i = 0; i < n; i++) {
            char bfl[160];
            int p;
            pictor_tensor t;
            if (!bfl_name_of(pictor_weights_name(w, i), bfl, sizeof bfl, &p))
                goto cleanup;
            if (p != part || (drop && strcmp(bfl, drop) == 0))
                continue;
            if (pictor_weights_get(w, pictor_weights_name(w, i), &t) != PICTOR_OK ||
                t.dtype != PICTOR_F32)
                goto cleanup;
            size_t k = 0, nb = pictor_tensor_nbytes(&t);
            while (k < ne && strcmp(names[k], bfl) != 0)
                k++;
            if (k == ne) {
                snprintf(names[ne], sizeof names[0], "%s", bfl);
                e[ne] = (struct st_entry){.name = names[ne], .dtype = "F32", .ndim = t.ndim};
                memcpy(e[ne].shape, t.shape, sizeof t.shape);
                e[ne++].shape[0] = 0;
            }
            uint8_t *b = realloc(bufs[k], e[k].nbytes + nb);
            if (!b)
                goto cleanup;
            bufs[k] = b;
            if (strncmp(bfl, "final_layer.adaLN_modulation", 28) == 0) { /* swap halves */
                memcpy(b, (uint8_t *)t.data + nb / 2, nb / 2);
                memcpy(b + nb / 2, t.data, nb / 2);
            } else {
                memcpy(b + e[k].nbytes, t.data, nb);
            }
            e[k].nbytes += nb;
            e[k].shape[0] += t.shape[0];
            e[k].data = b;
        }
    pictor_weights_close(w);
    w = NULL;
    ok = st_write(path, ne, e) == 0;
cleanup:
    pictor_weights_close(w);
    for (size_t i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(names);
    free(e);
    return ok;
}

static void test_open_bfl(void)
{
    char dir[300], p[400], err[1024] = "";
    static const char *const drops[] = {"double_blocks.0.img_attn.qkv.bias",
                                        "single_blocks.1.linear1.weight",
                                        "final_layer.adaLN_modulation.1.bias",
                                        "double_blocks.1.txt_attn.norm.query_norm.scale",
                                        "vector_in.out_layer.weight"};
    snprintf(dir, sizeof dir, "%s/bfl", tmp);
    snprintf(p, sizeof p, "%s/transformer/diffusion_pytorch_model.safetensors", dir);
    CHECK(copy_tree(schnell_dir, dir) == 0, "copy");
    CHECK(write_bfl_transformer(p, NULL), "BFL rewrite of %s", p);
    struct pictor_weights *w = NULL;
    CHECK(pictor_weights_open(p, false, &w, err, sizeof err) == PICTOR_OK &&
              pictor_weights_info(w, "double_blocks.0.img_attn.qkv.weight",
                                  &(struct pictor_st_info){0}) == PICTOR_OK &&
              pictor_weights_info(w, "x_embedder.weight", &(struct pictor_st_info){0}) ==
                  PICTOR_E_NOT_FOUND,
          "rewritten file has BFL names: %s", err);
    pictor_weights_close(w);
    CHECK(try_open(dir, err, sizeof err) == PICTOR_OK, "BFL-named transformer opens: %s", err);
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        CHECK(copy_tree(schnell_dir, dir) == 0 && write_bfl_transformer(p, drops[i]),
              "BFL rewrite without %s", drops[i]);
        int rc = try_open(dir, err, sizeof err);
        CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, drops[i]) &&
                  strstr(err, "diffusion_pytorch_model.safetensors"),
              "without %s: %d %s", drops[i], rc, err);
    }
}

/* Log lines the plugin writes through the host (last one kept). */
static char last_warn[2048];

static void capture_log(int level, const char *plugin, const char *fmt, ...)
{
    (void)plugin;
    if (level != PICTOR_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_warn, sizeof last_warn, fmt, ap);
    va_end(ap);
}

/* An extra tensor in the VAE file: the model still opens, and the tensor is
 * named in a warning; the untouched folder logs nothing. */
static void test_unexpected_tensor_reported(void)
{
    char dir[300], p[400], err[1024] = "";
    last_warn[0] = '\0';
    CHECK(try_open(schnell_dir, err, sizeof err) == PICTOR_OK && last_warn[0] == '\0',
          "intact folder: no warning (%s)", last_warn);
    snprintf(dir, sizeof dir, "%s/extra", tmp);
    CHECK(copy_tree(schnell_dir, dir) == 0, "copy");
    snprintf(p, sizeof p, "%s/vae/diffusion_pytorch_model.safetensors", dir);
    struct pictor_weights *w = NULL;
    int rc = pictor_weights_open(p, false, &w, err, sizeof err);
    CHECK(rc == PICTOR_OK, "read vae: %s", err);
    if (rc)
        return;
    size_t n = pictor_weights_count(w);
    struct st_entry *e = calloc(n + 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        pictor_tensor t;
        e[i].name = pictor_weights_name(w, i);
        pictor_weights_get(w, e[i].name, &t);
        e[i].dtype = "F32";
        e[i].ndim = t.ndim;
        memcpy(e[i].shape, t.shape, sizeof e[i].shape);
        e[i].data = t.data;
        e[i].nbytes = pictor_tensor_nbytes(&t);
    }
    static const float extra[3] = {1, 2, 3};
    e[n] = (struct st_entry){"decoder.mystery_block.weight", "F32", 1, {3}, extra, sizeof extra};
    char out[420];
    snprintf(out, sizeof out, "%s.new", p);
    CHECK(st_write(out, n + 1, e) == 0 && rename(out, p) == 0, "rewrite vae");
    free(e);
    pictor_weights_close(w);
    rc = try_open(dir, err, sizeof err);
    CHECK(rc == PICTOR_OK, "extra tensors do not stop the load: %s", err);
    CHECK(strstr(last_warn, "decoder.mystery_block.weight") && strstr(last_warn, "vae"),
          "warning names the tensor and component: '%s'", last_warn);
}

int main(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64], err[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(path, sizeof path, "%s/../lib/pictor/plugins/flux.so", exe);
    static struct pictor_host_api host;
    host = *pictor_default_host_api();
    host.log = capture_log;
    pictor_plugins_create(&host, &set);
    if (pictor_plugins_load_file(set, path, err, sizeof err) != PICTOR_OK ||
        !(flux = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "flux")) ||
        !find_data("tests/fixtures/pipeline_flux_schnell/model", schnell_dir,
                   sizeof schnell_dir) ||
        !find_data("tests/fixtures/pipeline_flux_dev/model", dev_dir, sizeof dev_dir)) {
        printf("FAIL setup: flux plugin or fixture folders missing (%s)\n", err);
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/pictor-flux-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    RUN(test_probe_diffusers);
    RUN(test_probe_single_file);
    RUN(test_open_broken);
    RUN(test_unexpected_tensor_reported);
    RUN(test_open_bfl);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    pictor_plugins_unload(set);
    TEST_MAIN_END();
}
