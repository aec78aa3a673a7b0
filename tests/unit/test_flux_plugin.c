/*
 * tests/unit/test_flux_plugin.c — the `flux` family plugin through the
 * loader, as the host uses it: probe on diffusers folders (schnell vs dev
 * from metadata alone), on original BFL single-file checkpoints (bf16 and
 * fp8-e4m3, header only) and on folders that are not FLUX; open on broken
 * folders (missing component, truncated weights, wrong shape) ends in one
 * message naming what is wrong.
 */
#include <fcntl.h>
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

int main(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64], err[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(path, sizeof path, "%s/../lib/pictor/plugins/flux.so", exe);
    pictor_plugins_create(pictor_default_host_api(), &set);
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
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    pictor_plugins_unload(set);
    TEST_MAIN_END();
}
