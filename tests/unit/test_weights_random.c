/*
 * tests/unit/test_weights_random.c — the random-weights source
 * (pictor/weights_random.h), its host API hook and the random model folders
 * of pictor/random_model.h: determinism, shapes, dtypes, init scales, and a
 * message naming file and line for each kind of malformed file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../core/lib/host_weights.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/convert.h"
#include "pictor/model_dir.h"
#include "pictor/random_model.h"
#include "pictor/status.h"
#include "pictor/tensor_util.h"
#include "pictor/weights_random.h"

static const char GOOD[] =
    "# a comment\n"
    "name\tshape\tdtype\tinit\n"
    "\n"
    "blk.linear.weight\t64,256\tf32\tauto\n"
    "blk.linear.bias\t64\tf32\tauto\n"
    "blk.norm.weight\t64\tbf16\tauto\n"
    "conv.weight\t8,4,3,3\tf32\tfan_in\n"
    "big.weight\t2048,1024\tf32\tuniform:0.5\n"
    "half.weight\t32,32\tf16\tzeros\n"
    "scalar\t\tf32\tones\n";

static struct pictor_wrandom *open_text(const char *rel, const char *text, int *rc, char *err,
                                        size_t errlen)
{
    struct pictor_wrandom *w = NULL;
    test_tmp_write(rel, text);
    *rc = pictor_wrandom_open(test_tmp_at(rel), &w, err, errlen);
    return w;
}

static void test_listing_and_shapes(void)
{
    char err[512] = "";
    int rc;
    struct pictor_wrandom *w = open_text("good.tsv", GOOD, &rc, err, sizeof err);
    CHECK(rc == PICTOR_OK && w, "open: %s", err);
    if (!w)
        return;
    CHECK(pictor_wrandom_count(w) == 7, "count %zu", pictor_wrandom_count(w));
    CHECK(!strcmp(pictor_wrandom_name(w, 0), "big.weight"), "sorted: %s",
          pictor_wrandom_name(w, 0));
    CHECK(pictor_wrandom_name(w, 7) == NULL, "past the end");
    struct pictor_wrandom_info in;
    CHECK(pictor_wrandom_info(w, "conv.weight", &in) == PICTOR_OK && in.ndim == 4 &&
              in.shape[0] == 8 && in.shape[3] == 3 && in.numel == 288 && in.nbytes == 1152,
          "conv.weight facts");
    CHECK(pictor_wrandom_info(w, "blk.norm.weight", &in) == PICTOR_OK &&
              in.dtype == PICTOR_BF16 && in.nbytes == 128 && in.init == PICTOR_WRANDOM_ONES,
          "norm weight: bf16 ones");
    CHECK(pictor_wrandom_info(w, "blk.linear.bias", &in) == PICTOR_OK &&
              in.init == PICTOR_WRANDOM_ZEROS, "bias: zeros");
    CHECK(pictor_wrandom_info(w, "scalar", &in) == PICTOR_OK && in.ndim == 0 && in.numel == 1,
          "scalar");
    CHECK(pictor_wrandom_info(w, "nope", &in) == PICTOR_E_NOT_FOUND, "unknown name");
    uint64_t params = 64 * 256 + 64 + 64 + 288 + 2048 * 1024 + 1024 + 1;
    CHECK(pictor_wrandom_total_params(w) == params, "params %llu",
          (unsigned long long)pictor_wrandom_total_params(w));
    pictor_tensor t;
    CHECK(pictor_wrandom_get(w, "half.weight", &t) == PICTOR_OK && t.dtype == PICTOR_F16 &&
              t.ndim == 2 && t.shape[1] == 32 && t.stride[0] == 32 && t.device == PICTOR_DEVICE_CPU,
          "tensor descriptor");
    CHECK(pictor_wrandom_get(w, "nope", &t) == PICTOR_E_NOT_FOUND, "get unknown");
    pictor_wrandom_close(w);
}

/* max |x| and the mean square of an f32 tensor. */
static void stats(const pictor_tensor *t, double *maxabs, double *msq, double *mean)
{
    const float *x = t->data;
    int64_t n = pictor_tensor_numel(t);
    *maxabs = *msq = *mean = 0;
    for (int64_t i = 0; i < n; i++) {
        *maxabs = fmax(*maxabs, fabs(x[i]));
        *msq += (double)x[i] * x[i];
        *mean += x[i];
    }
    *msq /= (double)n;
    *mean /= (double)n;
}

static void test_init_scales(void)
{
    char err[512] = "";
    int rc;
    struct pictor_wrandom *w = open_text("scales.tsv", GOOD, &rc, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (!w)
        return;
    pictor_tensor t;
    double mx, msq, mean;
    /* fan_in 256: U(+-1/16), variance bound^2 / 3. */
    CHECK(pictor_wrandom_get(w, "blk.linear.weight", &t) == PICTOR_OK, "get linear");
    stats(&t, &mx, &msq, &mean);
    CHECK(mx <= 1.0 / 16 && mx > 0.9 / 16, "linear max %g vs bound 1/16", mx);
    CHECK_NEAR(msq, 1.0 / 256 / 3, 0.1 / 256 / 3, "linear mean square");
    /* conv fan_in = 4 * 3 * 3 = 36. */
    CHECK(pictor_wrandom_get(w, "conv.weight", &t) == PICTOR_OK, "get conv");
    stats(&t, &mx, &msq, &mean);
    CHECK(mx <= 1.0 / 6 && mx > 0.8 / 6, "conv max %g vs bound 1/6", mx);
    /* uniform:0.5 over 2M elements (filled by several threads). */
    CHECK(pictor_wrandom_get(w, "big.weight", &t) == PICTOR_OK, "get big");
    stats(&t, &mx, &msq, &mean);
    CHECK(mx <= 0.5 && mx > 0.499, "big max %g", mx);
    CHECK_NEAR(msq, 0.25 / 3, 0.002, "big mean square");
    CHECK_NEAR(mean, 0, 0.002, "big mean");
    CHECK(pictor_wrandom_get(w, "blk.linear.bias", &t) == PICTOR_OK, "get bias");
    stats(&t, &mx, &msq, &mean);
    CHECK(mx == 0, "bias zeros");
    CHECK(pictor_wrandom_get(w, "blk.norm.weight", &t) == PICTOR_OK, "get norm");
    const uint16_t *h = t.data;
    CHECK(pictor_bf16_to_f32(h[0]) == 1.0f && pictor_bf16_to_f32(h[63]) == 1.0f, "norm ones");
    pictor_wrandom_close(w);
}

static void test_deterministic(void)
{
    char err[512] = "";
    int rc;
    struct pictor_wrandom *a = open_text("det.tsv", GOOD, &rc, err, sizeof err);
    /* Another file, other tensors and order: NAME's data must not change. */
    struct pictor_wrandom *b = open_text("det2.tsv",
                                         "name\tshape\tdtype\tinit\n"
                                         "zzz\t3\tf32\tauto\n"
                                         "big.weight\t2048,1024\tf32\tuniform:0.5\n",
                                         &rc, err, sizeof err);
    CHECK(a && b, "open: %s", err);
    if (!a || !b)
        goto out;
    pictor_tensor ta, tb, ta2;
    CHECK(pictor_wrandom_get(b, "big.weight", &tb) == PICTOR_OK &&
              pictor_wrandom_get(a, "big.weight", &ta) == PICTOR_OK, "get");
    CHECK(memcmp(ta.data, tb.data, pictor_tensor_nbytes(&ta)) == 0, "same data in two sources");
    CHECK(pictor_wrandom_get(a, "big.weight", &ta2) == PICTOR_OK && ta2.data == ta.data,
          "second get serves the same buffer");
    pictor_tensor l;
    CHECK(pictor_wrandom_get(a, "blk.linear.weight", &l) == PICTOR_OK &&
              memcmp(l.data, ta.data, 64) != 0, "different names, different data");
out:
    pictor_wrandom_close(a);
    pictor_wrandom_close(b);
}

static void test_manifest_defaults(void)
{
    char err[512] = "";
    int rc;
    struct pictor_wrandom *w = open_text("manifest.tsv",
                                         "name\tshape\nx.weight\t16,8\nx.bias\t16\n", &rc, err,
                                         sizeof err);
    CHECK(rc == PICTOR_OK, "two-column manifest: %s", err);
    if (!w)
        return;
    struct pictor_wrandom_info in;
    pictor_tensor t;
    CHECK(pictor_wrandom_info(w, "x.weight", &in) == PICTOR_OK && in.dtype == PICTOR_BF16 &&
              in.init == PICTOR_WRANDOM_FAN_IN, "default bf16, fan_in");
    CHECK(pictor_wrandom_get(w, "x.weight", &t) == PICTOR_OK, "get");
    const uint16_t *h = t.data;
    double mx = 0;
    for (int i = 0; i < 128; i++)
        mx = fmax(mx, fabs(pictor_bf16_to_f32(h[i])));
    CHECK(mx <= 1 / sqrt(8.0) + 1e-3 && mx > 0.2, "bf16 fan_in max %g", mx);
    pictor_wrandom_close(w);
}

static void expect_error(const char *rel, const char *text, int status, const char *needle)
{
    char err[512] = "";
    int rc;
    struct pictor_wrandom *w = open_text(rel, text, &rc, err, sizeof err);
    CHECK(!w && rc == status, "%s: status %d, want %d (%s)", rel, rc, status, err);
    CHECK(strstr(err, rel) && strstr(err, needle), "%s: message '%s' lacks '%s'", rel, err,
          needle);
    pictor_wrandom_close(w);
}

static void test_errors(void)
{
    const char *hdr = "name\tshape\tdtype\tinit\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%sa\t4\tf32\tauto\nb\t4,x\tf32\tauto\n", hdr);
    expect_error("shape.tsv", buf, PICTOR_E_FORMAT, ":3: tensor 'b'");
    snprintf(buf, sizeof buf, "%sa\t-1\tf32\tauto\n", hdr);
    expect_error("neg.tsv", buf, PICTOR_E_FORMAT, ":2:");
    snprintf(buf, sizeof buf, "%sa\t1,2,3,4,5,6\tf32\tauto\n", hdr);
    expect_error("dims.tsv", buf, PICTOR_E_FORMAT, "more than 5 dims");
    snprintf(buf, sizeof buf, "%sa\t4\tf64\tauto\n", hdr);
    expect_error("dtype.tsv", buf, PICTOR_E_UNSUPPORTED, ":2: tensor 'a': dtype \"f64\"");
    snprintf(buf, sizeof buf, "%sa\t4\tf32\tgauss\n", hdr);
    expect_error("init.tsv", buf, PICTOR_E_FORMAT, ":2:");
    snprintf(buf, sizeof buf, "%sa\t4\tf32\tuniform:-1\n", hdr);
    expect_error("uniform.tsv", buf, PICTOR_E_FORMAT, "uniform:A");
    snprintf(buf, sizeof buf, "%sa\t4\tf32\n", hdr);
    expect_error("fields.tsv", buf, PICTOR_E_FORMAT, ":2: 3 tab-separated fields");
    snprintf(buf, sizeof buf, "%sa\t4\tf32\tauto\n# x\nb\t4\tf32\tauto\na\t8\tf32\tauto\n", hdr);
    expect_error("dup.tsv", buf, PICTOR_E_FORMAT, ":5: tensor 'a' is also on line 2");
    expect_error("header.tsv", "tensor\tdims\na\t4\n", PICTOR_E_FORMAT, ":1: the header");
    expect_error("empty.tsv", "# nothing\n", PICTOR_E_FORMAT, "no header");
    expect_error("none.tsv", hdr, PICTOR_E_FORMAT, "no tensors");
    char err[256] = "";
    struct pictor_wrandom *w = NULL;
    CHECK(pictor_wrandom_open(test_tmp_at("missing.tsv"), &w, err, sizeof err) ==
              PICTOR_E_NOT_FOUND && !w, "missing file");
}

static void test_host_hook(void)
{
    char err[512] = "";
    test_tmp_mkdir("comp");
    test_tmp_write("comp/" PICTOR_WRANDOM_FILE, GOOD);
    CHECK(pictor_wrandom_present(test_tmp_at("comp")), "present in folder");
    CHECK(!pictor_wrandom_present(test_tmp_at("good.tsv")), "other file names are not");
    struct pictor_wsource src;
    int rc = pictor_host_weights_open(test_tmp_at("comp"), false, &src, err, sizeof err);
    CHECK(rc == PICTOR_OK && pictor_wrandom_is_wsource(&src), "host open: %s", err);
    if (rc != PICTOR_OK)
        return;
    CHECK(pictor_host_weights_count(&src) == 7, "host count");
    CHECK(!strcmp(pictor_host_weights_name(&src, 1), "blk.linear.bias"), "host name");
    pictor_tensor t;
    CHECK(src.get(src.ctx, "conv.weight", &t) == PICTOR_OK && t.shape[1] == 4, "wsource get");
    CHECK(strstr(src.where(src.ctx, "conv.weight"), PICTOR_WRANDOM_FILE), "where names file");
    pictor_host_weights_close(&src);
    CHECK(src.ctx == NULL, "closed");
}

static void test_model_from_dir(void)
{
    char err[1024] = "", p[4200];
    struct pictor_model_dir *md = NULL;
    char *dir = NULL;
    uint64_t bytes = 0;
    int rc = pictor_model_dir_open("tests/fixtures/pipeline_flux_schnell/model", NULL, &md, err,
                                   sizeof err);
    CHECK(rc == PICTOR_OK, "fixture: %s", err);
    if (rc)
        return;
    rc = pictor_random_model_from_dir(md, PICTOR_BF16, &dir, &bytes, err, sizeof err);
    CHECK(rc == PICTOR_OK && dir, "from_dir: %s", err);
    if (rc)
        goto out;
    snprintf(p, sizeof p, "%s/transformer", dir);
    struct pictor_wrandom *w = NULL;
    CHECK(pictor_wrandom_open(p, &w, err, sizeof err) == PICTOR_OK, "transformer tsv: %s", err);
    struct pictor_wrandom_info in;
    CHECK(w && pictor_wrandom_info(w, "x_embedder.weight", &in) == PICTOR_OK &&
              in.dtype == PICTOR_BF16 && in.ndim == 2 && in.shape[1] == 64,
          "x_embedder shape and dtype override");
    pictor_wrandom_close(w);
    snprintf(p, sizeof p, "%s/tokenizer/vocab.json", dir);
    struct stat sb;
    CHECK(stat(p, &sb) == 0, "tokenizer copied");
    snprintf(p, sizeof p, "%s/vae/diffusion_pytorch_model.safetensors", dir);
    CHECK(stat(p, &sb) != 0, "no safetensors copied");
    CHECK(bytes > 100000 && bytes < 4000000, "bytes %llu", (unsigned long long)bytes);
    pictor_random_model_remove(dir);
    CHECK(stat(dir, &sb) != 0, "removed");
out:
    free(dir);
    pictor_model_dir_close(md);
}

static void test_variant_ids(void)
{
    CHECK(!strcmp(pictor_random_model_variant("flux-schnell"), "flux.1-schnell"), "short id");
    CHECK(!strcmp(pictor_random_model_variant("black-forest-labs/FLUX.1-dev"), "flux.1-dev"),
          "hub id");
    CHECK(pictor_random_model_variant("sdxl") == NULL, "unknown id");
    char d[4096], err[1024] = "", *dir = NULL;
    uint64_t bytes = 0;
    int rc = pictor_random_data_dir("share/pictor", d, sizeof d, err, sizeof err);
    CHECK(rc == PICTOR_OK, "data dir: %s", err);
    if (rc)
        return;
    rc = pictor_random_model_from_variant(d, "flux.1-schnell", PICTOR_BF16, &dir, &bytes, err,
                                          sizeof err);
    CHECK(rc == PICTOR_OK, "from_variant: %s", err);
    /* MODELS.md/manifests: transformer 11.89 G + CLIP-L 0.12 G + T5 4.89 G +
     * VAE 0.08 G parameters, 2 bytes each. */
    CHECK(bytes > 33.5e9 && bytes < 34.5e9, "full-size bf16 bytes %llu",
          (unsigned long long)bytes);
    char p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/tokenizer_2/tokenizer.json", dir ? dir : "");
    CHECK(stat(p, &sb) == 0, "common tokenizer copied");
    pictor_random_model_remove(dir);
    free(dir);
}

int main(void)
{
    if (test_tmp_create("wrandom"))
        return 1;
    RUN(test_listing_and_shapes);
    RUN(test_init_scales);
    RUN(test_deterministic);
    RUN(test_manifest_defaults);
    RUN(test_errors);
    RUN(test_host_hook);
    RUN(test_model_from_dir);
    RUN(test_variant_ids);
    test_tmp_remove();
    TEST_MAIN_END();
}
