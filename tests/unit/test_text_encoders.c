/* tests/unit/test_text_encoders.c — what the clip.text / t5.encoder fixture
 * cases do not cover: the T5 bucket table against MODELS.md §3.3, CLIP EOS
 * pooling rules, missing-tensor and wrong-shape errors naming tensor and
 * file, config errors, the tied T5 embedding name, and the CLIP "stop after
 * layer k" path (hidden_index) against a full run. Model folders are tiny
 * and written here with st_write. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/clip_text.h"
#include "pictor/common_host.h"
#include "pictor/plugins.h"
#include "pictor/t5_encoder.h"
#include "pictor/tensor_util.h"
#include "pictor/text_eval.h"


static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---- a tiny safetensors model written from a list of (name, shape) ---- */

#define MAX_TENSORS 96
#define MAX_NUMEL 4096

struct model_spec {
    size_t n;
    struct st_entry e[MAX_TENSORS];
    char names[MAX_TENSORS][128];
};

static float weights[MAX_NUMEL];

static void add(struct model_spec *m, int ndim, int64_t a, int64_t b, const char *fmt, int i)
{
    struct st_entry *e = &m->e[m->n];
    snprintf(m->names[m->n], sizeof m->names[0], fmt, i);
    e->name = m->names[m->n];
    e->dtype = "F32";
    e->ndim = ndim;
    e->shape[0] = a;
    e->shape[1] = b;
    e->data = weights;
    e->nbytes = (size_t)(a * (ndim == 2 ? b : 1)) * sizeof(float);
    m->n++;
}

/* Writes DIR/config.json and DIR/model.safetensors; the tensor named
 * `omit` is left out, the one named `widen` gets one extra column/element. */
static int write_model(const char *dir, const char *config, struct model_spec *m,
                       const char *omit, const char *widen)
{
    struct st_entry out[MAX_TENSORS];
    size_t n = 0;
    char path[600];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (write_text(path, config))
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        if (omit && strcmp(m->e[i].name, omit) == 0)
            continue;
        out[n] = m->e[i];
        if (widen && strcmp(m->e[i].name, widen) == 0) {
            out[n].shape[out[n].ndim - 1]++;
            out[n].nbytes = (size_t)(out[n].shape[0] * (out[n].ndim == 2 ? out[n].shape[1] : 1)) *
                            sizeof(float);
        }
        n++;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return st_write(path, n, out);
}

/* CLIP: vocab 10, hidden 8, 2 layers, 2 heads, intermediate 16, 6 positions. */
enum { CV = 10, CD = 8, CN = 2, CH = 2, CI = 16, CP = 6 };
static const char *clip_config =
    "{\"architectures\": [\"CLIPTextModel\"], \"vocab_size\": 10, \"hidden_size\": 8,"
    " \"intermediate_size\": 16, \"num_hidden_layers\": 2, \"num_attention_heads\": 2,"
    " \"max_position_embeddings\": 6, \"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05,"
    " \"projection_dim\": 8, \"eos_token_id\": 9}";

static void clip_spec(struct model_spec *m)
{
    m->n = 0;
    add(m, 2, CV, CD, "text_model.embeddings.token_embedding.weight", 0);
    add(m, 2, CP, CD, "text_model.embeddings.position_embedding.weight", 0);
    for (int i = 0; i < CN; i++) {
        static const char *lin[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                    "self_attn.out_proj"};
        char f[128];
        for (int j = 0; j < 4; j++) {
            snprintf(f, sizeof f, "text_model.encoder.layers.%%d.%s.weight", lin[j]);
            add(m, 2, CD, CD, f, i);
            snprintf(f, sizeof f, "text_model.encoder.layers.%%d.%s.bias", lin[j]);
            add(m, 1, CD, 0, f, i);
        }
        add(m, 1, CD, 0, "text_model.encoder.layers.%d.layer_norm1.weight", i);
        add(m, 1, CD, 0, "text_model.encoder.layers.%d.layer_norm1.bias", i);
        add(m, 1, CD, 0, "text_model.encoder.layers.%d.layer_norm2.weight", i);
        add(m, 1, CD, 0, "text_model.encoder.layers.%d.layer_norm2.bias", i);
        add(m, 2, CI, CD, "text_model.encoder.layers.%d.mlp.fc1.weight", i);
        add(m, 1, CI, 0, "text_model.encoder.layers.%d.mlp.fc1.bias", i);
        add(m, 2, CD, CI, "text_model.encoder.layers.%d.mlp.fc2.weight", i);
        add(m, 1, CD, 0, "text_model.encoder.layers.%d.mlp.fc2.bias", i);
    }
    add(m, 1, CD, 0, "text_model.final_layer_norm.weight", 0);
    add(m, 1, CD, 0, "text_model.final_layer_norm.bias", 0);
}

/* T5: vocab 12, d_model 8, d_kv 4, 2 heads, d_ff 16, 2 blocks, 8 buckets. */
enum { TV = 12, TD = 8, TK = 4, TH = 2, TF = 16, TN = 2, TB = 8 };
static const char *t5_config =
    "{\"architectures\": [\"T5EncoderModel\"], \"vocab_size\": 12, \"d_model\": 8, \"d_kv\": 4,"
    " \"num_heads\": 2, \"d_ff\": 16, \"num_layers\": 2, \"relative_attention_num_buckets\": 8,"
    " \"relative_attention_max_distance\": 16, \"feed_forward_proj\": \"gated-gelu\","
    " \"layer_norm_epsilon\": 1e-06}";

static void t5_spec(struct model_spec *m, const char *embed_name)
{
    m->n = 0;
    add(m, 2, TV, TD, embed_name, 0);
    add(m, 2, TB, TH, "encoder.block.%d.layer.0.SelfAttention.relative_attention_bias.weight", 0);
    for (int i = 0; i < TN; i++) {
        add(m, 1, TD, 0, "encoder.block.%d.layer.0.layer_norm.weight", i);
        add(m, 2, TH * TK, TD, "encoder.block.%d.layer.0.SelfAttention.q.weight", i);
        add(m, 2, TH * TK, TD, "encoder.block.%d.layer.0.SelfAttention.k.weight", i);
        add(m, 2, TH * TK, TD, "encoder.block.%d.layer.0.SelfAttention.v.weight", i);
        add(m, 2, TD, TH * TK, "encoder.block.%d.layer.0.SelfAttention.o.weight", i);
        add(m, 1, TD, 0, "encoder.block.%d.layer.1.layer_norm.weight", i);
        add(m, 2, TF, TD, "encoder.block.%d.layer.1.DenseReluDense.wi_0.weight", i);
        add(m, 2, TF, TD, "encoder.block.%d.layer.1.DenseReluDense.wi_1.weight", i);
        add(m, 2, TD, TF, "encoder.block.%d.layer.1.DenseReluDense.wo.weight", i);
    }
    add(m, 1, TD, 0, "encoder.final_layer_norm.weight", 0);
}

/* Opens DIR's CLIP model through the default host's weights API. */
static int clip_open_dir(const char *dir, pictor_backend *be, struct pictor_wsource *src,
                         struct pictor_clip_text **enc, char *err, size_t errlen)
{
    struct pictor_clip_text_config cfg;
    const struct pictor_host_api *host = pictor_default_host_api();
    int rc = pictor_clip_text_config_load(dir, &cfg, err, errlen);
    if (rc == PICTOR_OK)
        rc = host->weights_open(dir, false, src, err, errlen);
    if (rc == PICTOR_OK && (rc = pictor_clip_text_open(&cfg, src, be, enc, err, errlen)))
        host->weights_close(src);
    return rc;
}

static int t5_open_dir(const char *dir, pictor_backend *be, struct pictor_wsource *src,
                       struct pictor_t5_encoder **enc, char *err, size_t errlen)
{
    struct pictor_t5_config cfg;
    const struct pictor_host_api *host = pictor_default_host_api();
    int rc = pictor_t5_config_load(dir, &cfg, err, errlen);
    if (rc == PICTOR_OK)
        rc = host->weights_open(dir, false, src, err, errlen);
    if (rc == PICTOR_OK && (rc = pictor_t5_encoder_open(&cfg, src, be, enc, err, errlen)))
        host->weights_close(src);
    return rc;
}

/* A minimal eval io: input_ids from ctx, outputs counted. */
static int n_outputs;

static int io_get(void *ctx, const char *name, pictor_tensor *out)
{
    if (strcmp(name, "input_ids") != 0)
        return PICTOR_E_NOT_FOUND;
    *out = *(const pictor_tensor *)ctx;
    return PICTOR_OK;
}

static int io_put(void *ctx, const char *name, const pictor_tensor *t)
{
    (void)ctx, (void)name, (void)t;
    n_outputs++;
    return PICTOR_OK;
}

/* Runs evaluator fn on model folder dir with ids [2, L]. */
static int run_eval(pictor_eval_fn fn, const char *component, const char *dir,
                    pictor_tensor *ids, char *err, size_t errlen)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_eval_request req = {sizeof req, component, dir, "{}", be,
                                      PICTOR_PRECISION_FP32};
    struct pictor_eval_io io = {sizeof io, ids, io_get, io_put};
    pictor_common_set_host(pictor_default_host_api());
    n_outputs = 0;
    int rc = fn(&req, &io, err, errlen);
    pictor_backend_destroy(be);
    return rc;
}

/* ---- tests ------------------------------------------------------------ */

/* MODELS.md §3.3: magnitude buckets for 32 buckets / max distance 128. */
static int models_md_magnitude(int64_t n)
{
    static const struct { int64_t lo; int bucket; } table[] = {
        {8, 8}, {12, 9}, {16, 10}, {23, 11}, {32, 12}, {46, 13}, {64, 14}, {91, 15}};
    if (n < 8)
        return (int)n;
    int b = 8;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (n >= table[i].lo)
            b = table[i].bucket;
    return b;
}

static void test_t5_bucket_table(void)
{
    int bad = 0;
    for (int64_t n = 0; n < 1024; n++) {
        int want = models_md_magnitude(n);
        int neg = pictor_t5_bucket(-n, 32, 128), pos = pictor_t5_bucket(n, 32, 128);
        /* rel = key - query; rel > 0 (key after query) uses the upper half */
        if (neg != want || (n > 0 && pos != 16 + want) || (n == 0 && pos != 0)) {
            if (!bad++)
                CHECK(false, "|rel| %lld: buckets %d/%d, want %d/%d", (long long)n, neg, pos, want,
                      n ? 16 + want : 0);
        }
    }
    CHECK(bad == 0, "%d distances differ from the MODELS.md table", bad);
    /* another configuration: 8 buckets -> 4 per side, 2 exact, max distance 16 */
    CHECK(pictor_t5_bucket(-1, 8, 16) == 1 && pictor_t5_bucket(1, 8, 16) == 5, "8/16 exact");
    CHECK(pictor_t5_bucket(-100, 8, 16) == 3 && pictor_t5_bucket(100, 8, 16) == 7, "8/16 clamp");
}

static void test_clip_eos_position(void)
{
    int64_t rows[2][6] = {{5, 7, 2, 9, 9, 9}, {5, 9, 8, 2, 0, 0}};
    int32_t rows32[1][6] = {{5, 7, 2, 9, 9, 9}};
    pictor_tensor ids = pictor_tensor_make(rows, PICTOR_I64, 2, (int64_t[]){2, 6});
    pictor_tensor ids32 = pictor_tensor_make(rows32, PICTOR_I32, 2, (int64_t[]){1, 6});
    /* eos_token_id 9: first 9 */
    CHECK(pictor_clip_text_eos_position(&ids, 0, 9) == 3, "first eos");
    CHECK(pictor_clip_text_eos_position(&ids, 1, 9) == 1, "first eos, row 1");
    CHECK(pictor_clip_text_eos_position(&ids32, 0, 9) == 3, "i32 ids");
    /* legacy eos_token_id 2: argmax, first maximum; id 2 itself is ignored */
    CHECK(pictor_clip_text_eos_position(&ids, 0, 2) == 3, "argmax, first of equal maxima");
    CHECK(pictor_clip_text_eos_position(&ids, 1, 2) == 1, "argmax row 1");
    /* no eos in the row: argmax of all-false is 0 */
    CHECK(pictor_clip_text_eos_position(&ids, 1, 4) == 0, "absent eos -> 0");
}

/* Through the clip.text evaluator (what `pictor check` runs): the message
 * names the missing tensor and the model folder; a complete folder gives the
 * three outputs. */
static void test_clip_missing_tensor(void)
{
    static struct model_spec m;
    char err[1024] = "";
    const char *missing = "text_model.encoder.layers.1.mlp.fc2.bias";
    int64_t idv[2][CP] = {{8, 3, 4, 9, 9, 9}, {8, 1, 2, 5, 6, 9}};
    pictor_tensor ids = pictor_tensor_make(idv, PICTOR_I64, 2, (int64_t[]){2, CP});
    clip_spec(&m);
    CHECK(write_model(test_tmp_at("clip_missing"), clip_config, &m, missing, NULL) == 0, "write");
    int rc = run_eval(pictor_eval_clip_text, "clip.text", test_tmp_at("clip_missing"), &ids, err,
                      sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND, "missing tensor: rc %d", rc);
    CHECK(strstr(err, missing) && strstr(err, test_tmp_at("clip_missing")), "message: %s", err);
    CHECK(write_model(test_tmp_at("clip_eval_ok"), clip_config, &m, NULL, NULL) == 0, "write");
    rc = run_eval(pictor_eval_clip_text, "clip.text", test_tmp_at("clip_eval_ok"), &ids, err, sizeof err);
    CHECK(rc == PICTOR_OK && n_outputs == 3, "complete folder: rc %d, %d outputs: %s", rc,
          n_outputs, err);
}

static void test_clip_wrong_shape(void)
{
    static struct model_spec m;
    char err[512] = "";
    struct pictor_wsource src = {0};
    struct pictor_clip_text *enc = NULL;
    pictor_backend *be = pictor_backend_cpu_create(1);
    const char *wide = "text_model.encoder.layers.0.mlp.fc1.weight";
    clip_spec(&m);
    CHECK(write_model(test_tmp_at("clip_shape"), clip_config, &m, NULL, wide) == 0, "write");
    int rc = clip_open_dir(test_tmp_at("clip_shape"), be, &src, &enc, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && !enc, "wrong shape: rc %d", rc);
    CHECK(strstr(err, wide) && strstr(err, "model.safetensors") && strstr(err, "[16, 9]") &&
          strstr(err, "[16, 8]"), "message names tensor, file and both shapes: %s", err);
    pictor_backend_destroy(be);
}

static void test_t5_missing_and_wrong_shape(void)
{
    static struct model_spec m;
    char err[512] = "";
    struct pictor_wsource src = {0};
    struct pictor_t5_encoder *enc = NULL;
    pictor_backend *be = pictor_backend_cpu_create(1);
    const char *missing = "encoder.block.1.layer.1.DenseReluDense.wi_1.weight";
    const char *wide = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    int64_t idv[2][3] = {{3, 1, 0}, {4, 5, 1}};
    pictor_tensor ids = pictor_tensor_make(idv, PICTOR_I64, 2, (int64_t[]){2, 3});
    t5_spec(&m, "shared.weight");
    CHECK(write_model(test_tmp_at("t5_missing"), t5_config, &m, missing, NULL) == 0, "write");
    int rc = run_eval(pictor_eval_t5_encoder, "t5.encoder", test_tmp_at("t5_missing"), &ids, err,
                      sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND, "missing: rc %d", rc);
    CHECK(strstr(err, missing) && strstr(err, test_tmp_at("t5_missing")), "message: %s", err);
    CHECK(write_model(test_tmp_at("t5_shape"), t5_config, &m, NULL, wide) == 0, "write");
    rc = t5_open_dir(test_tmp_at("t5_shape"), be, &src, &enc, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && !enc, "wrong shape: rc %d", rc);
    CHECK(strstr(err, wide) && strstr(err, "model.safetensors") && strstr(err, "[8, 3]") &&
          strstr(err, "[8, 2]"), "message: %s", err);
    pictor_backend_destroy(be);
}

static void test_config_errors(void)
{
    char err[512] = "";
    struct pictor_clip_text_config cc;
    struct pictor_t5_config tc;
    mkdir(test_tmp_at("cfg_clip"), 0755);
    mkdir(test_tmp_at("cfg_t5"), 0755);
    write_text(test_tmp_at("cfg_clip/config.json"), "{\"hidden_act\": \"relu\"}");
    int rc = pictor_clip_text_config_load(test_tmp_at("cfg_clip"), &cc, err, sizeof err);
    CHECK(rc == PICTOR_E_UNSUPPORTED && strstr(err, "relu") && strstr(err, "config.json"),
          "clip act: %d %s", rc, err);
    write_text(test_tmp_at("cfg_clip/config.json"), "{\"hidden_size\": 10, \"num_attention_heads\": 4}");
    rc = pictor_clip_text_config_load(test_tmp_at("cfg_clip"), &cc, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "divisible"), "clip heads: %d %s", rc, err);
    write_text(test_tmp_at("cfg_clip/config.json"), "{\"hidden_size\": \"big\"}");
    rc = pictor_clip_text_config_load(test_tmp_at("cfg_clip"), &cc, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "wrong JSON type"), "clip type: %d %s", rc, err);
    /* the T5Config default feed_forward_proj "relu" (original T5) is not supported */
    write_text(test_tmp_at("cfg_t5/config.json"), "{\"d_model\": 8}");
    rc = pictor_t5_config_load(test_tmp_at("cfg_t5"), &tc, err, sizeof err);
    CHECK(rc == PICTOR_E_UNSUPPORTED && strstr(err, "relu"), "t5 relu: %d %s", rc, err);
    write_text(test_tmp_at("cfg_t5/config.json"), "{\"feed_forward_proj\": \"gated-gelu\"}");
    rc = pictor_t5_config_load(test_tmp_at("cfg_t5"), &tc, err, sizeof err);
    CHECK(rc == PICTOR_OK && tc.gated && tc.act == PICTOR_UNARY_GELU_TANH && tc.d_model == 512 &&
          tc.num_buckets == 32 && tc.max_distance == 128, "t5 gated-gelu defaults: %s", err);
    rc = pictor_clip_text_config_load(test_tmp_at("nonexistent"), &cc, err, sizeof err);
    CHECK(rc == PICTOR_E_IO && strstr(err, "nonexistent/config.json"), "absent: %s", err);
}

/* T5 with the tied embedding stored as encoder.embed_tokens.weight gives the
 * same output as with shared.weight. */
static void test_t5_embed_tokens_name(void)
{
    static struct model_spec m;
    char err[512] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    const struct pictor_host_api *host = pictor_default_host_api();
    int64_t idv[2][5] = {{3, 4, 5, 1, 0}, {11, 2, 7, 6, 1}};
    pictor_tensor ids = pictor_tensor_make(idv, PICTOR_I64, 2, (int64_t[]){2, 5});
    float out[2][2 * 5 * TD];
    const char *dirs[2] = {"t5_shared", "t5_embed"};
    for (int k = 0; k < 2; k++) {
        struct pictor_wsource src = {0};
        struct pictor_t5_encoder *enc = NULL;
        t5_spec(&m, k ? "encoder.embed_tokens.weight" : "shared.weight");
        CHECK(write_model(test_tmp_at(dirs[k]), t5_config, &m, NULL, NULL) == 0, "write");
        int rc = t5_open_dir(test_tmp_at(dirs[k]), be, &src, &enc, err, sizeof err);
        CHECK(rc == PICTOR_OK, "open %s: %s", dirs[k], err);
        if (rc)
            continue;
        pictor_tensor o = pictor_tensor_make(out[k], PICTOR_F32, 3, (int64_t[]){2, 5, TD});
        rc = pictor_t5_encoder_forward(enc, &ids, &o, err, sizeof err);
        CHECK(rc == PICTOR_OK, "forward: %s", err);
        pictor_t5_encoder_close(enc);
        host->weights_close(&src);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0, "same output with either embedding name");
    CHECK(isfinite(out[0][0]) && out[0][0] != 0.0f, "output is computed");
    pictor_backend_destroy(be);
}

/* hidden_index -2 alone (stops after layer N-1) equals the full run's;
 * hidden_index 0 is token + position embedding; out-of-range is an error. */
static void test_clip_stop_after_layer(void)
{
    static struct model_spec m;
    char err[512] = "";
    struct pictor_wsource src = {0};
    struct pictor_clip_text *enc = NULL;
    pictor_backend *be = pictor_backend_cpu_create(1);
    const struct pictor_host_api *host = pictor_default_host_api();
    clip_spec(&m);
    CHECK(write_model(test_tmp_at("clip_ok"), clip_config, &m, NULL, NULL) == 0, "write");
    int rc = clip_open_dir(test_tmp_at("clip_ok"), be, &src, &enc, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc) {
        pictor_backend_destroy(be);
        return;
    }
    int64_t idv[2][CP] = {{8, 3, 4, 9, 9, 9}, {8, 1, 2, 5, 6, 9}};
    pictor_tensor ids = pictor_tensor_make(idv, PICTOR_I64, 2, (int64_t[]){2, CP});
    static float last[2 * CP * CD], pen[2 * CP * CD], pen2[2 * CP * CD], emb[2 * CP * CD],
        pooled[2 * CD];
    int64_t hs[3] = {2, CP, CD};
    pictor_tensor tl = pictor_tensor_make(last, PICTOR_F32, 3, hs),
                  tp = pictor_tensor_make(pen, PICTOR_F32, 3, hs),
                  tp2 = pictor_tensor_make(pen2, PICTOR_F32, 3, hs),
                  te = pictor_tensor_make(emb, PICTOR_F32, 3, hs),
                  tpo = pictor_tensor_make(pooled, PICTOR_F32, 2, (int64_t[]){2, CD});
    struct pictor_clip_text_out full = {.last_hidden_state = &tl, .hidden = &tp,
                                        .hidden_index = -2, .pooled = &tpo};
    rc = pictor_clip_text_forward(enc, &ids, &full, err, sizeof err);
    CHECK(rc == PICTOR_OK, "full forward: %s", err);
    struct pictor_clip_text_out only = {.hidden = &tp2, .hidden_index = CN - 1};
    rc = pictor_clip_text_forward(enc, &ids, &only, err, sizeof err);
    CHECK(rc == PICTOR_OK && memcmp(pen, pen2, sizeof pen) == 0,
          "penultimate alone equals the full run's: %s", err);
    CHECK(memcmp(pooled, last + 3 * CD, CD * sizeof(float)) == 0 &&
          memcmp(pooled + CD, last + (CP + 5) * CD, CD * sizeof(float)) == 0,
          "pooled rows are the first EOS (9) rows of last_hidden_state");
    struct pictor_clip_text_out e0 = {.hidden = &te, .hidden_index = 0};
    rc = pictor_clip_text_forward(enc, &ids, &e0, err, sizeof err);
    int bad = 0;
    for (int b = 0; b < 2; b++)
        for (int l = 0; l < CP; l++)
            for (int d = 0; d < CD; d++) {
                /* every tensor's data is `weights`: token row id, position row l */
                float want = weights[idv[b][l] * CD + d] + weights[l * CD + d];
                bad += emb[(b * CP + l) * CD + d] != want;
            }
    CHECK(rc == PICTOR_OK && bad == 0, "hidden_states[0] = embeddings (%d wrong): %s", bad, err);
    struct pictor_clip_text_out oob = {.hidden = &te, .hidden_index = CN + 1};
    rc = pictor_clip_text_forward(enc, &ids, &oob, err, sizeof err);
    CHECK(rc == PICTOR_E_INVALID && strstr(err, "hidden_index"), "out of range: %s", err);
    pictor_clip_text_close(enc);
    host->weights_close(&src);
    pictor_backend_destroy(be);
}

int main(void)
{
    if (test_tmp_create("pictor-txt"))
        return 1;
    test_fill_uniform(weights, MAX_NUMEL, 42, -0.5f, 0.5f);
    RUN(test_t5_bucket_table);
    RUN(test_clip_eos_position);
    RUN(test_clip_missing_tensor);
    RUN(test_clip_wrong_shape);
    RUN(test_t5_missing_and_wrong_shape);
    RUN(test_config_errors);
    RUN(test_t5_embed_tokens_name);
    RUN(test_clip_stop_after_layer);
    test_tmp_remove();
    TEST_MAIN_END();
}
