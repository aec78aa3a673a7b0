/* tests/unit/test_weights.c — component weight sets (pictor/weights.h):
 * single files, a 2-shard index, a missing shard, a tensor missing from its
 * shard, a tensor in two shards, and fp16 variant selection in folders. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/weights.h"


static float a_data[4] = {1, 2, 3, 4};
static float b_data[2] = {5, 6};
static uint16_t h_data[4] = {0x3c00, 0x4000, 0x4200, 0x4400};

/* One tensor NAME of dtype F32 [n] (or F16 when half) into file REL. */
static int write_one(const char *rel, const char *name, bool half)
{
    struct st_entry e = half ? (struct st_entry){name, "F16", 1, {4}, h_data, sizeof h_data}
                             : (struct st_entry){name, "F32", 1, {4}, a_data, sizeof a_data};
    return st_write(test_tmp_at(rel), 1, &e);
}

static const char *index_json =
    "{\"metadata\":{\"total_size\":24},\"weight_map\":{"
    "\"enc.a\":\"model-00001-of-00002.safetensors\","
    "\"enc.b\":\"model-00002-of-00002.safetensors\","
    "\"enc.c\":\"model-00001-of-00002.safetensors\"}}";

/* Folder REL with a 2-shard model: enc.a, enc.c in shard 1, enc.b in 2. */
static void make_sharded(const char *rel)
{
    char p[256];
    test_tmp_mkdir(rel);
    struct st_entry s1[] = {
        {"enc.a", "F32", 2, {2, 2}, a_data, sizeof a_data},
        {"enc.c", "F16", 1, {4}, h_data, sizeof h_data},
    };
    struct st_entry s2[] = {{"enc.b", "F32", 1, {2}, b_data, sizeof b_data}};
    snprintf(p, sizeof p, "%s/model-00001-of-00002.safetensors", rel);
    CHECK(st_write(test_tmp_at(p), 2, s1) == 0, "write shard 1");
    snprintf(p, sizeof p, "%s/model-00002-of-00002.safetensors", rel);
    CHECK(st_write(test_tmp_at(p), 1, s2) == 0, "write shard 2");
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", rel);
    CHECK(test_tmp_write(p, index_json) == 0, "write index");
}

static void test_single_file(void)
{
    char err[512] = "";
    struct pictor_weights *w = NULL;
    CHECK(write_one("single.safetensors", "x.weight", false) == 0, "write");
    int rc = pictor_weights_open(test_tmp_at("single.safetensors"), false, &w, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc != PICTOR_OK)
        return;
    CHECK(pictor_weights_count(w) == 1 && strcmp(pictor_weights_name(w, 0), "x.weight") == 0,
          "one tensor");
    CHECK(pictor_weights_name(w, 1) == NULL, "name past the end");
    pictor_tensor t;
    CHECK(pictor_weights_get(w, "x.weight", &t) == PICTOR_OK &&
              memcmp(t.data, a_data, sizeof a_data) == 0,
          "get");
    CHECK(pictor_weights_get(w, "y", &t) == PICTOR_E_NOT_FOUND, "absent");
    CHECK(pictor_weights_file_of(w, "y") == NULL, "absent file_of");
    CHECK(strcmp(pictor_weights_file_of(w, "x.weight"), test_tmp_at("single.safetensors")) == 0,
          "file_of");
    CHECK(pictor_weights_total_bytes(w) == 16 && pictor_weights_total_params(w) == 4, "totals");
    struct pictor_wsource src = pictor_weights_wsource(w);
    CHECK(src.get(src.ctx, "x.weight", &t) == PICTOR_OK && t.shape[0] == 4, "wsource get");
    CHECK(strstr(src.where(src.ctx, "x.weight"), "single.safetensors") != NULL,
          "wsource where");
    pictor_weights_close(w);
    pictor_weights_close(NULL);
}

static void test_sharded_index(void)
{
    make_sharded("sharded");
    char err[512] = "";
    struct pictor_weights *w = NULL;
    /* through the index file, then through the folder */
    for (int via = 0; via < 2; via++) {
        const char *p = via ? test_tmp_at("sharded") : test_tmp_at("sharded/model.safetensors.index.json");
        int rc = pictor_weights_open(p, false, &w, err, sizeof err);
        CHECK(rc == PICTOR_OK, "open %s: %s", p, err);
        if (rc != PICTOR_OK)
            continue;
        CHECK(strstr(pictor_weights_path(w), "model.safetensors.index.json") != NULL, "path");
        CHECK(pictor_weights_count(w) == 3, "three tensors, got %zu", pictor_weights_count(w));
        CHECK(strcmp(pictor_weights_name(w, 0), "enc.a") == 0 &&
                  strcmp(pictor_weights_name(w, 2), "enc.c") == 0,
              "sorted names");
        pictor_tensor t;
        CHECK(pictor_weights_get(w, "enc.b", &t) == PICTOR_OK &&
                  memcmp(t.data, b_data, sizeof b_data) == 0,
              "get from shard 2");
        CHECK(pictor_weights_get(w, "enc.a", &t) == PICTOR_OK && t.ndim == 2 && t.shape[1] == 2,
              "get from shard 1");
        CHECK(strstr(pictor_weights_file_of(w, "enc.b"), "model-00002-of-00002") != NULL,
              "file_of shard 2");
        CHECK(strstr(pictor_weights_file_of(w, "enc.c"), "model-00001-of-00002") != NULL,
              "file_of shard 1");
        CHECK(pictor_weights_total_bytes(w) == 32 && pictor_weights_total_params(w) == 10,
              "totals %llu %llu", (unsigned long long)pictor_weights_total_bytes(w),
              (unsigned long long)pictor_weights_total_params(w));
        struct pictor_st_info info;
        CHECK(pictor_weights_info(w, "enc.c", &info) == PICTOR_OK && info.dtype == PICTOR_F16,
              "info");
        CHECK(pictor_weights_info(w, "zz", &info) == PICTOR_E_NOT_FOUND, "info absent");
        pictor_weights_close(w);
    }
}

static void test_missing_shard(void)
{
    make_sharded("noshard");
    CHECK(remove(test_tmp_at("noshard/model-00002-of-00002.safetensors")) == 0, "remove shard");
    char err[512] = "";
    struct pictor_weights *w = NULL;
    int rc = pictor_weights_open(test_tmp_at("noshard"), false, &w, err, sizeof err);
    CHECK(rc == PICTOR_E_IO && w == NULL, "status %s", pictor_status_name(rc));
    CHECK(strstr(err, "model.safetensors.index.json") && strstr(err, "model-00002-of-00002") &&
              strstr(err, "'enc.b'"),
          "message names index, shard and tensor: %s", err);
}

static void test_tensor_missing_from_shard(void)
{
    make_sharded("notensor");
    /* shard 2 now holds enc.other instead of enc.b */
    struct st_entry e = {"enc.other", "F32", 1, {2}, b_data, sizeof b_data};
    CHECK(st_write(test_tmp_at("notensor/model-00002-of-00002.safetensors"), 1, &e) == 0, "rewrite");
    char err[512] = "";
    struct pictor_weights *w = NULL;
    int rc = pictor_weights_open(test_tmp_at("notensor/model.safetensors.index.json"), false, &w, err,
                                 sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && w == NULL, "status %s", pictor_status_name(rc));
    CHECK(strstr(err, "'enc.b'") && strstr(err, "model-00002-of-00002.safetensors") &&
              strstr(err, "index.json"),
          "message names tensor and shard: %s", err);
}

static void test_duplicate_across_shards(void)
{
    make_sharded("dupshard");
    struct st_entry e[] = {
        {"enc.b", "F32", 1, {2}, b_data, sizeof b_data},
        {"enc.a", "F32", 2, {2, 2}, a_data, sizeof a_data},
    };
    CHECK(st_write(test_tmp_at("dupshard/model-00002-of-00002.safetensors"), 2, e) == 0, "rewrite");
    char err[512] = "";
    struct pictor_weights *w = NULL;
    int rc = pictor_weights_open(test_tmp_at("dupshard"), false, &w, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT, "status %s", pictor_status_name(rc));
    CHECK(strstr(err, "'enc.a'") && strstr(err, "00001-of") && strstr(err, "00002-of"),
          "names both files: %s", err);
}

static void test_bad_index(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"weight_map\":[]}", "weight_map"},
        {"{\"metadata\":{}}", "weight_map"},
        {"{\"weight_map\":{}}", "empty"},
        {"{\"weight_map\":{\"t.x\":3}}", "'t.x'"},
        {"{\"weight_map\":{\"t.y\":\"../model.safetensors\"}}", "'t.y'"},
        {"{\"weight_map\":", "not valid JSON"},
    };
    test_tmp_mkdir("badindex");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(test_tmp_write("badindex/model.safetensors.index.json", cases[i].json) == 0, "write");
        char err[512] = "";
        struct pictor_weights *w = NULL;
        int rc = pictor_weights_open(test_tmp_at("badindex"), false, &w, err, sizeof err);
        CHECK(rc == PICTOR_E_FORMAT && w == NULL, "case %zu: %s", i, pictor_status_name(rc));
        CHECK(strstr(err, "model.safetensors.index.json") && strstr(err, cases[i].want),
              "case %zu: %s", i, err);
    }
}

/* Which file a folder resolves to, or NULL on failure. */
static const char *picked(const char *rel, bool prefer_fp16, char *buf, size_t len)
{
    char err[512] = "";
    struct pictor_weights *w = NULL;
    if (pictor_weights_open(test_tmp_at(rel), prefer_fp16, &w, err, sizeof err) != PICTOR_OK) {
        snprintf(buf, len, "error: %s", err);
        return buf;
    }
    const char *p = pictor_weights_path(w);
    const char *base = strrchr(p, '/');
    snprintf(buf, len, "%s", base ? base + 1 : p);
    pictor_weights_close(w);
    return buf;
}

static void test_fp16_variant(void)
{
    char b[640];
    /* both variants present */
    test_tmp_mkdir("both");
    CHECK(write_one("both/diffusion_pytorch_model.safetensors", "w", false) == 0, "write");
    CHECK(write_one("both/diffusion_pytorch_model.fp16.safetensors", "w", true) == 0, "write");
    CHECK(strcmp(picked("both", false, b, sizeof b), "diffusion_pytorch_model.safetensors") == 0,
          "no preference: plain, got %s", b);
    CHECK(strcmp(picked("both", true, b, sizeof b), "diffusion_pytorch_model.fp16.safetensors") ==
              0,
          "prefer fp16, got %s", b);
    /* only the variant */
    test_tmp_mkdir("onlyfp16");
    CHECK(write_one("onlyfp16/model.fp16.safetensors", "w", true) == 0, "write");
    CHECK(strcmp(picked("onlyfp16", false, b, sizeof b), "model.fp16.safetensors") == 0,
          "falls back to the variant, got %s", b);
    /* only plain, fp16 preferred */
    test_tmp_mkdir("onlyplain");
    CHECK(write_one("onlyplain/model.safetensors", "w", false) == 0, "write");
    CHECK(strcmp(picked("onlyplain", true, b, sizeof b), "model.safetensors") == 0,
          "falls back to plain, got %s", b);
    /* a sharded fp16 variant next to a plain single file */
    test_tmp_mkdir("shardfp16");
    CHECK(write_one("shardfp16/diffusion_pytorch_model.safetensors", "w", false) == 0, "write");
    CHECK(write_one("shardfp16/diffusion_pytorch_model.fp16-00001-of-00001.safetensors", "w",
                    true) == 0,
          "write");
    CHECK(test_tmp_write("shardfp16/diffusion_pytorch_model.safetensors.index.fp16.json",
                     "{\"weight_map\":{\"w\":"
                     "\"diffusion_pytorch_model.fp16-00001-of-00001.safetensors\"}}") == 0,
          "write");
    CHECK(strcmp(picked("shardfp16", true, b, sizeof b),
                 "diffusion_pytorch_model.safetensors.index.fp16.json") == 0,
          "prefer fp16 index, got %s", b);
    char err[512];
    struct pictor_weights *w = NULL;
    pictor_tensor t;
    CHECK(pictor_weights_open(test_tmp_at("shardfp16"), true, &w, err, sizeof err) == PICTOR_OK &&
              pictor_weights_get(w, "w", &t) == PICTOR_OK && t.dtype == PICTOR_F16,
          "fp16 data");
    pictor_weights_close(w);
    CHECK(strcmp(picked("shardfp16", false, b, sizeof b),
                 "diffusion_pytorch_model.safetensors") == 0,
          "no preference: plain, got %s", b);
}

static void test_missing_paths(void)
{
    char err[512] = "";
    struct pictor_weights *w = NULL;
    test_tmp_mkdir("emptydir");
    int rc = pictor_weights_open(test_tmp_at("emptydir"), false, &w, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "emptydir") && strstr(err, "no weights"),
          "empty folder: %s", err);
    rc = pictor_weights_open(test_tmp_at("nothere"), false, &w, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "nothere"), "missing path: %s", err);
    CHECK(w == NULL, "no handle");
}

int main(void)
{
    if (test_tmp_create("pictor-w"))
        return 1;
    RUN(test_single_file);
    RUN(test_sharded_index);
    RUN(test_missing_shard);
    RUN(test_tensor_missing_from_shard);
    RUN(test_duplicate_across_shards);
    RUN(test_bad_index);
    RUN(test_fp16_variant);
    RUN(test_missing_paths);
    test_tmp_remove();
    TEST_MAIN_END();
}
