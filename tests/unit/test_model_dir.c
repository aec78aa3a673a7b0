/* tests/unit/test_model_dir.c — model folders (pictor/model_dir.h): a
 * diffusers folder, plain component folders, a single file, a Hugging Face
 * hub cache (models--ORG--NAME/refs/main → snapshots/REV/ with symlinks into
 * blobs/), and the errors for each missing piece. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/model_dir.h"
#include "pictor/weights.h"


static float w_data[4] = {1, 2, 3, 4};

static int write_weights(const char *rel)
{
    struct st_entry e = {"proj.weight", "F32", 2, {2, 2}, w_data, sizeof w_data};
    return st_write(test_tmp_at(rel), 1, &e);
}

static const char *flux_index =
    "{\"_class_name\":\"FluxPipeline\",\"_diffusers_version\":\"0.30.0\","
    "\"feature_extractor\":[null,null],\"image_encoder\":[null,null],"
    "\"scheduler\":[\"diffusers\",\"FlowMatchEulerDiscreteScheduler\"],"
    "\"text_encoder\":[\"transformers\",\"CLIPTextModel\"],"
    "\"text_encoder_2\":[\"transformers\",\"T5EncoderModel\"],"
    "\"tokenizer\":[\"transformers\",\"CLIPTokenizer\"],"
    "\"tokenizer_2\":[\"transformers\",\"T5TokenizerFast\"],"
    "\"transformer\":[\"diffusers\",\"FluxTransformer2DModel\"],"
    "\"vae\":[\"diffusers\",\"AutoencoderKL\"],\"requires_safety_checker\":false}";

/* A FLUX-shaped diffusers folder at REL (tokenizer_2 without a config). */
static void make_flux(const char *rel)
{
    static const char *const comps[][2] = {
        {"scheduler", "scheduler_config.json"}, {"text_encoder", "config.json"},
        {"text_encoder_2", "config.json"},      {"tokenizer", "tokenizer_config.json"},
        {"tokenizer_2", NULL},                  {"transformer", "config.json"},
        {"vae", "config.json"},
    };
    char p[256];
    test_tmp_mkdir(rel);
    snprintf(p, sizeof p, "%s/model_index.json", rel);
    CHECK(test_tmp_write(p, flux_index) == 0, "write index");
    for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", rel, comps[i][0]);
        test_tmp_mkdir(p);
        if (comps[i][1]) {
            snprintf(p, sizeof p, "%s/%s/%s", rel, comps[i][0], comps[i][1]);
            CHECK(test_tmp_write(p, "{}") == 0, "write config");
        }
    }
    snprintf(p, sizeof p, "%s/transformer/diffusion_pytorch_model.safetensors", rel);
    CHECK(write_weights(p) == 0, "write weights");
}

static void check_flux(const struct pictor_model_dir *md)
{
    static const char *const want[][3] = {
        {"scheduler", "diffusers", "FlowMatchEulerDiscreteScheduler"},
        {"text_encoder", "transformers", "CLIPTextModel"},
        {"text_encoder_2", "transformers", "T5EncoderModel"},
        {"tokenizer", "transformers", "CLIPTokenizer"},
        {"tokenizer_2", "transformers", "T5TokenizerFast"},
        {"transformer", "diffusers", "FluxTransformer2DModel"},
        {"vae", "diffusers", "AutoencoderKL"},
    };
    CHECK(md->layout == PICTOR_MODEL_DIFFUSERS, "layout %d", md->layout);
    CHECK(strcmp(md->class_name, "FluxPipeline") == 0, "pipeline class %s", md->class_name);
    CHECK(md->n_components == 7, "7 components, got %zu", md->n_components);
    for (size_t i = 0; i < 7 && i < md->n_components; i++) {
        const struct pictor_model_component *c = &md->components[i];
        CHECK(strcmp(c->name, want[i][0]) == 0, "component %zu is %s", i, c->name);
        CHECK(strcmp(c->library, want[i][1]) == 0 && strcmp(c->class_name, want[i][2]) == 0,
              "%s: %s %s", c->name, c->library, c->class_name);
        char expect[600];
        snprintf(expect, sizeof expect, "%s/%s", md->root, want[i][0]);
        CHECK(strcmp(c->path, expect) == 0, "%s path %s", c->name, c->path);
    }
    const struct pictor_model_component *s = pictor_model_dir_component(md, "scheduler");
    CHECK(s && s->config && strstr(s->config, "scheduler/scheduler_config.json"),
          "scheduler config");
    const struct pictor_model_component *t = pictor_model_dir_component(md, "tokenizer");
    CHECK(t && t->config && strstr(t->config, "tokenizer/tokenizer_config.json"),
          "tokenizer config");
    const struct pictor_model_component *t2 = pictor_model_dir_component(md, "tokenizer_2");
    CHECK(t2 && t2->config == NULL, "tokenizer_2 has no config");
    const struct pictor_model_component *v = pictor_model_dir_component(md, "vae");
    CHECK(v && v->config && strstr(v->config, "vae/config.json"), "vae config");
    CHECK(pictor_model_dir_component(md, "feature_extractor") == NULL, "[null,null] skipped");
    CHECK(pictor_model_dir_component(md, "requires_safety_checker") == NULL, "flag skipped");
    /* the component path is what the weights loader takes */
    const struct pictor_model_component *tr = pictor_model_dir_component(md, "transformer");
    char err[512] = "";
    struct pictor_weights *w = NULL;
    CHECK(tr && pictor_weights_open(tr->path, false, &w, err, sizeof err) == PICTOR_OK &&
              pictor_weights_count(w) == 1,
          "transformer weights: %s", err);
    pictor_tensor x;
    CHECK(w && pictor_weights_get(w, "proj.weight", &x) == PICTOR_OK &&
              ((float *)x.data)[3] == 4.0f,
          "weights data through the folder");
    pictor_weights_close(w);
}

static void test_diffusers_folder(void)
{
    make_flux("flux");
    char err[512] = "";
    struct pictor_model_dir *md = NULL;
    int rc = pictor_model_dir_open(test_tmp_at("flux/"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc != PICTOR_OK)
        return;
    CHECK(strcmp(md->root, test_tmp_at("flux")) == 0, "root without trailing slash: %s", md->root);
    CHECK(md->revision == NULL, "no revision for a folder");
    check_flux(md);
    pictor_model_dir_close(md);
    pictor_model_dir_close(NULL);
}

static void test_diffusers_missing_component(void)
{
    make_flux("novae");
    CHECK(remove(test_tmp_at("novae/vae/config.json")) == 0 && remove(test_tmp_at("novae/vae")) == 0, "rm vae");
    char err[512] = "";
    struct pictor_model_dir *md = NULL;
    int rc = pictor_model_dir_open(test_tmp_at("novae"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && md == NULL, "status %s", pictor_status_name(rc));
    CHECK(strstr(err, "'vae'") && strstr(err, "novae/vae") && strstr(err, "AutoencoderKL"),
          "message: %s", err);
    test_tmp_mkdir("badindex");
    CHECK(test_tmp_write("badindex/model_index.json", "{\"vae\":") == 0, "write");
    rc = pictor_model_dir_open(test_tmp_at("badindex"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "badindex/model_index.json"), "bad json: %s",
          err);
}

static void test_component_folders(void)
{
    char err[512] = "";
    struct pictor_model_dir *md = NULL;
    test_tmp_mkdir("vae");
    CHECK(test_tmp_write("vae/config.json", "{\"_class_name\":\"AutoencoderKL\","
                                        "\"_diffusers_version\":\"0.30.0\"}") == 0,
          "write");
    CHECK(write_weights("vae/diffusion_pytorch_model.safetensors") == 0, "write");
    int rc = pictor_model_dir_open(test_tmp_at("vae"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc == PICTOR_OK) {
        CHECK(md->layout == PICTOR_MODEL_COMPONENT && md->n_components == 1, "one component");
        const struct pictor_model_component *c = &md->components[0];
        CHECK(strcmp(c->name, "vae") == 0 && strcmp(c->class_name, "AutoencoderKL") == 0 &&
                  strcmp(c->library, "diffusers") == 0 &&
                  strcmp(md->class_name, c->class_name) == 0,
              "vae component: %s %s %s", c->name, c->class_name, c->library);
        CHECK(c->config && strstr(c->config, "vae/config.json"), "config path");
        pictor_model_dir_close(md);
    }
    test_tmp_mkdir("t5");
    CHECK(test_tmp_write("t5/config.json", "{\"architectures\":[\"T5EncoderModel\"],"
                                       "\"transformers_version\":\"4.44.0\"}") == 0,
          "write");
    rc = pictor_model_dir_open(test_tmp_at("t5"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open t5: %s", err);
    if (rc == PICTOR_OK) {
        CHECK(strcmp(md->components[0].class_name, "T5EncoderModel") == 0 &&
                  strcmp(md->components[0].library, "transformers") == 0,
              "transformers component");
        pictor_model_dir_close(md);
    }
    rc = pictor_model_dir_open(test_tmp_at("vae/diffusion_pytorch_model.safetensors"), NULL, &md, err,
                               sizeof err);
    CHECK(rc == PICTOR_OK, "open file: %s", err);
    if (rc == PICTOR_OK) {
        CHECK(md->layout == PICTOR_MODEL_FILE && md->n_components == 1 &&
                  md->components[0].config == NULL &&
                  strcmp(md->components[0].path,
                         test_tmp_at("vae/diffusion_pytorch_model.safetensors")) == 0,
              "single file");
        pictor_model_dir_close(md);
    }
    test_tmp_mkdir("nothing");
    rc = pictor_model_dir_open(test_tmp_at("nothing"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "no model_index.json in") &&
              strstr(err, "nothing"),
          "empty folder: %s", err);
    rc = pictor_model_dir_open(test_tmp_at("does/not/exist"), NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "does/not/exist"), "missing: %s", err);
}

#define REV "0123456789abcdef0123456789abcdef01234567"

/* hub/models--acme--tiny-flux: blobs, refs/main, snapshots/REV with every
 * file a relative symlink into blobs/ (as huggingface_hub lays it out). */
static void make_hub(void)
{
    static const char *const dirs[] = {
        "hub", "hub/models--acme--tiny-flux", "hub/models--acme--tiny-flux/blobs",
        "hub/models--acme--tiny-flux/refs", "hub/models--acme--tiny-flux/snapshots",
        "hub/models--acme--tiny-flux/snapshots/" REV,
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        test_tmp_mkdir(dirs[i]);
    /* build the snapshot as a plain folder, then move every file into blobs/ */
    make_flux("hub/models--acme--tiny-flux/snapshots/" REV);
    static const char *const files[] = {
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
        "text_encoder_2/config.json", "tokenizer/tokenizer_config.json",
        "transformer/config.json", "transformer/diffusion_pytorch_model.safetensors",
        "vae/config.json",
    };
    char snap[512], blob[512], link[512];
    snprintf(snap, sizeof snap, "%s", test_tmp_at("hub/models--acme--tiny-flux/snapshots/" REV));
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char file[600];
        snprintf(file, sizeof file, "%s/%s", snap, files[i]);
        snprintf(blob, sizeof blob, "%s/blob%zu", test_tmp_at("hub/models--acme--tiny-flux/blobs"), i);
        CHECK(rename(file, blob) == 0, "move %s", files[i]);
        snprintf(link, sizeof link, "%s../../blobs/blob%zu", strchr(files[i], '/') ? "../" : "", i);
        CHECK(symlink(link, file) == 0, "link %s", files[i]);
    }
    CHECK(test_tmp_write("hub/models--acme--tiny-flux/refs/main", REV "\n") == 0, "ref");
}

static void test_hub_cache(void)
{
    make_hub();
    char err[512] = "";
    struct pictor_model_dir *md = NULL;
    int rc = pictor_model_dir_open("acme/tiny-flux", test_tmp_at("hub"), &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open id: %s", err);
    if (rc == PICTOR_OK) {
        CHECK(strstr(md->root, "models--acme--tiny-flux/snapshots/" REV) != NULL, "root %s",
              md->root);
        CHECK(md->revision && strcmp(md->revision, REV) == 0, "revision");
        CHECK(strcmp(md->source, "acme/tiny-flux") == 0, "source");
        check_flux(md);
        pictor_model_dir_close(md);
    }
    /* the snapshot folder passed directly */
    rc = pictor_model_dir_open(test_tmp_at("hub/models--acme--tiny-flux/snapshots/" REV), NULL, &md,
                               err, sizeof err);
    CHECK(rc == PICTOR_OK, "open snapshot: %s", err);
    if (rc == PICTOR_OK) {
        check_flux(md);
        pictor_model_dir_close(md);
    }
    /* @commit and @ref */
    rc = pictor_model_dir_open("acme/tiny-flux@" REV, test_tmp_at("hub"), &md, err, sizeof err);
    CHECK(rc == PICTOR_OK && md->revision && strcmp(md->revision, REV) == 0, "@commit: %s",
          err);
    pictor_model_dir_close(rc == PICTOR_OK ? md : NULL);
    CHECK(test_tmp_write("hub/models--acme--tiny-flux/refs/v1", REV) == 0, "ref v1");
    rc = pictor_model_dir_open("acme/tiny-flux@v1", test_tmp_at("hub"), &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "@ref: %s", err);
    pictor_model_dir_close(rc == PICTOR_OK ? md : NULL);
    /* the default root from the environment */
    char old[512] = "";
    const char *o = getenv("HF_HUB_CACHE");
    if (o)
        snprintf(old, sizeof old, "%s", o);
    setenv("HF_HUB_CACHE", test_tmp_at("hub"), 1);
    rc = pictor_model_dir_open("acme/tiny-flux", NULL, &md, err, sizeof err);
    CHECK(rc == PICTOR_OK, "HF_HUB_CACHE: %s", err);
    pictor_model_dir_close(rc == PICTOR_OK ? md : NULL);
    if (o)
        setenv("HF_HUB_CACHE", old, 1);
    else
        unsetenv("HF_HUB_CACHE");
}

static void test_hub_errors(void)
{
    char err[512] = "";
    struct pictor_model_dir *md = NULL;
    test_tmp_mkdir("hub2");
    int rc = pictor_model_dir_open("acme/other", test_tmp_at("hub2"), &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "HF cache") &&
              strstr(err, "has no models--acme--other"),
          "no repo: %s", err);
    test_tmp_mkdir("hub2/models--acme--norefs");
    rc = pictor_model_dir_open("acme/norefs", test_tmp_at("hub2"), &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "refs/main missing") &&
              strstr(err, "models--acme--norefs"),
          "no ref: %s", err);
    test_tmp_mkdir("hub2/models--acme--nosnap");
    test_tmp_mkdir("hub2/models--acme--nosnap/refs");
    CHECK(test_tmp_write("hub2/models--acme--nosnap/refs/main", "deadbeef\n") == 0, "ref");
    rc = pictor_model_dir_open("acme/nosnap", test_tmp_at("hub2"), &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "snapshot deadbeef") &&
              strstr(err, "missing"),
          "no snapshot: %s", err);
    test_tmp_mkdir("hub2/models--acme--badref");
    test_tmp_mkdir("hub2/models--acme--badref/refs");
    CHECK(test_tmp_write("hub2/models--acme--badref/refs/main", "\n") == 0, "ref");
    rc = pictor_model_dir_open("acme/badref", test_tmp_at("hub2"), &md, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "refs/main"), "empty ref: %s", err);
    test_tmp_mkdir("hub2/models--acme--nosnap/snapshots");
    test_tmp_mkdir("hub2/models--acme--nosnap/snapshots/deadbeef");
    rc = pictor_model_dir_open("acme/nosnap", test_tmp_at("hub2"), &md, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "no model_index.json in"),
          "empty snapshot: %s", err);
    CHECK(md == NULL, "no handle on failure");
}

static void test_hub_ids_and_root(void)
{
    CHECK(pictor_hf_is_id("black-forest-labs/FLUX.1-schnell"), "plain id");
    CHECK(pictor_hf_is_id("org/name@main"), "id with revision");
    CHECK(!pictor_hf_is_id("a/b/c") && !pictor_hf_is_id("/abs") && !pictor_hf_is_id("org/") &&
              !pictor_hf_is_id("./x") && !pictor_hf_is_id("../x") &&
              !pictor_hf_is_id("org/na me") && !pictor_hf_is_id("name") &&
              !pictor_hf_is_id("org/name@") && !pictor_hf_is_id("org/.x"),
          "not ids");
    static const char *const vars[] = {"HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"};
    char *saved[4];
    for (int i = 0; i < 4; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    char root[512];
    CHECK(pictor_hf_cache_root(root, sizeof root) == PICTOR_E_NOT_FOUND, "nothing set");
    setenv("HOME", "/home/u", 1);
    CHECK(pictor_hf_cache_root(root, sizeof root) == PICTOR_OK &&
              strcmp(root, "/home/u/.cache/huggingface/hub") == 0,
          "HOME: %s", root);
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    CHECK(pictor_hf_cache_root(root, sizeof root) == PICTOR_OK &&
              strcmp(root, "/xdg/huggingface/hub") == 0,
          "XDG: %s", root);
    setenv("HF_HOME", "/hf", 1);
    CHECK(pictor_hf_cache_root(root, sizeof root) == PICTOR_OK && strcmp(root, "/hf/hub") == 0,
          "HF_HOME: %s", root);
    setenv("HF_HUB_CACHE", "/cache", 1);
    CHECK(pictor_hf_cache_root(root, sizeof root) == PICTOR_OK && strcmp(root, "/cache") == 0,
          "HF_HUB_CACHE: %s", root);
    CHECK(pictor_hf_cache_root(root, 4) == PICTOR_E_INVALID, "small buffer");
    for (int i = 0; i < 4; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

int main(void)
{
    if (test_tmp_create("pictor-md"))
        return 1;
    RUN(test_diffusers_folder);
    RUN(test_diffusers_missing_component);
    RUN(test_component_folders);
    RUN(test_hub_cache);
    RUN(test_hub_errors);
    RUN(test_hub_ids_and_root);
    test_tmp_remove();
    TEST_MAIN_END();
}
