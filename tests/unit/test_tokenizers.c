/* tests/unit/test_tokenizers.c — CLIP BPE and T5 Unigram tokenizers
 * (pictor/clip_tokenizer.h, pictor/t5_tokenizer.h): hard-wired ids, error
 * paths, invalid UTF-8. The ≥ 1,000-prompt comparisons against transformers
 * are the tokenizer_* fixture cases; this file pins a few ids so a
 * regression shows up here with a readable diff.
 *
 * The expected ids below were produced with transformers 5.24.0 /
 * tokenizers 0.23.3 from the committed fixture folders (run from the repo
 * root, as tests/run-all does):
 *   CLIPTokenizer.from_pretrained("tests/fixtures/tokenizer_clip_eot_0/model")
 *       (s, padding="max_length", max_length=16, truncation=True).input_ids
 *   T5TokenizerFast.from_pretrained("tests/fixtures/tokenizer_t5_l16/model")
 *       (s, padding="max_length", max_length=12, truncation=True).input_ids
 * The CLIP folder is the real CLIP-L vocabulary; the T5 model is trained by
 * tools/fixtures (families/tokenizers.py), so regenerating the T5 fixtures
 * with another sentencepiece may change the T5 ids here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pictor/clip_tokenizer.h"
#include "pictor/status.h"
#include "pictor/t5_tokenizer.h"
#include "../harness/test.h"

#define CLIP_EOT_DIR "tests/fixtures/tokenizer_clip_eot_0/model"
#define CLIP_BANG_DIR "tests/fixtures/tokenizer_clip_bang_0/model"
#define T5_JSON_DIR "tests/fixtures/tokenizer_t5_l16/model"
#define T5_SPM_DIR "tests/fixtures/tokenizer_t5_spiece_l64/model"

static void check_ids(const int64_t *got, const int64_t *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        CHECK(got[i] == want[i], "%s: id[%d] = %lld, want %lld", what, i, (long long)got[i],
              (long long)want[i]);
}

static int clip_enc(struct pictor_clip_tokenizer *t, const char *s, int n, int64_t *ids)
{
    char err[256];
    return pictor_clip_tokenizer_encode(t, s, strlen(s), n, ids, NULL, err, sizeof err);
}

static void test_clip_known_ids(void)
{
    static const int64_t astro[16] = {49406, 320, 1125, 539, 550, 18376, 6765, 320,
                                      4558,  525, 7496, 49407, 49407, 49407, 49407, 49407};
    static const int64_t cafe[16] = {49406, 15304, 48338, 21078, 361, 585, 568, 275,
                                     273,   748,   49407, 49407, 49407, 49407, 49407, 49407};
    static const int64_t bang[10] = {49406, 2781, 0, 0, 0, 585, 568, 49407, 0, 0};
    struct pictor_clip_tokenizer *t = NULL, *b = NULL;
    char err[256];
    int64_t ids[16], n = 0;
    int rc = pictor_clip_tokenizer_load(CLIP_EOT_DIR, &t, err, sizeof err);
    CHECK(rc == PICTOR_OK, "load %s: %s", CLIP_EOT_DIR, err);
    rc = pictor_clip_tokenizer_load(CLIP_BANG_DIR, &b, err, sizeof err);
    CHECK(rc == PICTOR_OK, "load %s: %s", CLIP_BANG_DIR, err);
    if (!t || !b)
        goto out;
    CHECK(pictor_clip_tokenizer_max_length(t) == 77, "model_max_length");
    CHECK(pictor_clip_tokenizer_pad_id(t) == 49407 && pictor_clip_tokenizer_pad_id(b) == 0,
          "pad ids");
    const char *s = "a photo of an astronaut riding a horse on mars";
    CHECK(pictor_clip_tokenizer_encode(t, s, strlen(s), 16, ids, &n, err, sizeof err) == 0, "%s",
          err);
    check_ids(ids, astro, 16, "astronaut");
    CHECK(n == 12, "n_tokens %lld", (long long)n);
    CHECK(clip_enc(t, "Café 東京 it's 42!!", 16, ids) == 0, "encode");
    check_ids(ids, cafe, 16, "cafe");
    /* SDXL tokenizer_2: "!" is an added token (id 0), not BPE's "!</w>" */
    CHECK(clip_enc(b, "wow!!! it's", 10, ids) == 0, "encode");
    check_ids(ids, bang, 10, "bang");
    /* truncation keeps bos + 2 ids + eos */
    CHECK(pictor_clip_tokenizer_encode(t, s, strlen(s), 4, ids, &n, err, sizeof err) == 0, "%s",
          err);
    check_ids(ids, (const int64_t[]){49406, 320, 1125, 49407}, 4, "truncated");
    CHECK(n == 12, "n_tokens before truncation %lld", (long long)n);
    CHECK(clip_enc(t, "x", 1, ids) == PICTOR_E_INVALID, "max_length 1 must be rejected");
out:
    pictor_clip_tokenizer_free(t);
    pictor_clip_tokenizer_free(b);
}

/* Invalid UTF-8 bytes are replaced by U+FFFD, one per bad byte (the
 * documented choice), never a crash or an error. */
static void test_clip_invalid_utf8(void)
{
    struct pictor_clip_tokenizer *t = NULL;
    char err[256];
    int64_t a[77], b[77];
    if (pictor_clip_tokenizer_load(CLIP_EOT_DIR, &t, err, sizeof err)) {
        CHECK(0, "load: %s", err);
        return;
    }
    static const char bad[] = "a\xff\xfe" "b\xc3" "\xed\xa0\x80" "c\xe2\x82";
    static const char fixed[] = "a\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd"
                                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd";
    CHECK(pictor_clip_tokenizer_encode(t, bad, sizeof bad - 1, 77, a, NULL, err, sizeof err) == 0,
          "%s", err);
    CHECK(pictor_clip_tokenizer_encode(t, fixed, sizeof fixed - 1, 77, b, NULL, err, sizeof err) ==
              0, "%s", err);
    check_ids(a, b, 77, "invalid utf-8 == U+FFFD");
    /* embedded NUL is a character like any other */
    CHECK(pictor_clip_tokenizer_encode(t, "a\0b", 3, 77, a, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(a[1] == 320 && a[3] == 321, "NUL kept between a and b");
    pictor_clip_tokenizer_free(t);
}

static char tmp_root[64];

static const char *mkcase(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/pictor-tok-XXXXXX");
    return mkdtemp(tmp_root);
}

static void put(const char *dir, const char *name, const char *text, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
}

static void rm_case(const char *dir)
{
    static const char *const names[] = {"vocab.json", "merges.txt", "tokenizer.json",
                                        "spiece.model"};
    char p[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static void test_clip_errors(void)
{
    static const char vocab[] = "{\"a\": 0, \"b\": 1, \"a</w>\": 2, \"b</w>\": 3, \"ab</w>\": 4,"
                                " \"<|startoftext|>\": 5, \"<|endoftext|>\": 6}";
    struct pictor_clip_tokenizer *t = NULL;
    char err[512];
    const char *d = mkcase();
    CHECK(d != NULL, "mkdtemp");
    if (!d)
        return;
    int rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "vocab.json"), "missing vocab: %d %s", rc, err);
    put(d, "vocab.json", "{\"a\": ", 6);
    rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "vocab.json"), "bad vocab: %d %s", rc, err);
    put(d, "vocab.json", vocab, sizeof vocab - 1);
    rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "merges.txt"), "missing merges: %d %s", rc, err);
    put(d, "merges.txt", "#version: 0.2\na b</w>\na b c\n", 28);
    rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "merges.txt line 3"), "bad merges: %d %s", rc, err);
    put(d, "merges.txt", "#version: 0.2\na zz\n", 19);
    rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "merges.txt line 2"), "merge not in vocab: %d %s",
          rc, err);
    /* a valid tiny model: "ab" -> a + b</w> -> ab</w> */
    put(d, "merges.txt", "#version: 0.2\na b</w>\n", 22);
    rc = pictor_clip_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_OK, "tiny model: %s", err);
    if (t) {
        int64_t ids[5];
        CHECK(clip_enc(t, "AB a", 5, ids) == 0, "encode");
        check_ids(ids, (const int64_t[]){5, 4, 2, 6, 6}, 5, "tiny");
    }
    pictor_clip_tokenizer_free(t);
    rm_case(d);
}

static void test_t5_known_ids(void)
{
    static const int64_t cat[12] = {83, 86, 87, 83, 22, 1, 0, 0, 0, 0, 0, 0};
    static const int64_t uni[12] = {357, 271, 143, 3, 165, 8, 309, 314, 3, 1172, 1156, 1};
    const char *dirs[2] = {T5_JSON_DIR, T5_SPM_DIR}; /* same model, two file formats */
    for (int k = 0; k < 2; k++) {
        struct pictor_t5_tokenizer *t = NULL;
        char err[256];
        int64_t ids[12], n = 0;
        int rc = pictor_t5_tokenizer_load(dirs[k], &t, err, sizeof err);
        CHECK(rc == PICTOR_OK, "load %s: %s", dirs[k], err);
        if (!t)
            continue;
        CHECK(pictor_t5_tokenizer_pad_id(t) == 0, "pad id");
        const char *s = "a photo of a cat";
        CHECK(pictor_t5_tokenizer_encode(t, s, strlen(s), 12, ids, &n, err, sizeof err) == 0, "%s",
              err);
        check_ids(ids, cat, 12, dirs[k]);
        CHECK(n == 6, "n_tokens %lld", (long long)n);
        s = "ﬁne Ｃａｆé  東京\t42";
        CHECK(pictor_t5_tokenizer_encode(t, s, strlen(s), 12, ids, &n, err, sizeof err) == 0, "%s",
              err);
        check_ids(ids, uni, 12, dirs[k]);
        CHECK(n > 12, "truncated prompt reports its full length (%lld)", (long long)n);
        /* invalid UTF-8 -> U+FFFD, as in CLIP */
        int64_t a[12], b[12];
        CHECK(pictor_t5_tokenizer_encode(t, "x\xff y", 4, 12, a, NULL, err, sizeof err) == 0, "%s",
              err);
        CHECK(pictor_t5_tokenizer_encode(t, "x\xef\xbf\xbd y", 6, 12, b, NULL, err, sizeof err) ==
                  0, "%s", err);
        check_ids(a, b, 12, "t5 invalid utf-8");
        CHECK(pictor_t5_tokenizer_encode(t, "", 0, 3, a, NULL, err, sizeof err) == 0 && a[0] == 1 &&
                  a[1] == 0 && a[2] == 0, "empty prompt = </s> + pad");
        pictor_t5_tokenizer_free(t);
    }
}

static void test_t5_errors(void)
{
    struct pictor_t5_tokenizer *t = NULL;
    char err[512];
    const char *d = mkcase();
    CHECK(d != NULL, "mkdtemp");
    if (!d)
        return;
    int rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "spiece.model"), "empty folder: %d %s", rc, err);
    put(d, "tokenizer.json", "{\"model\": [", 11);
    rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "tokenizer.json"), "bad json: %d %s", rc, err);
    static const char bpe[] = "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}";
    put(d, "tokenizer.json", bpe, sizeof bpe - 1);
    rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_UNSUPPORTED && strstr(err, "BPE"), "BPE model: %d %s", rc, err);
    static const char badvocab[] = "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}}";
    put(d, "tokenizer.json", badvocab, sizeof badvocab - 1);
    rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "vocab[0]"), "bad vocab entry: %d %s", rc, err);
    static const char badmap[] = "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\":"
                                 " [[\"<unk>\", 0.0], [\"</s>\", 0.0]]}, \"normalizer\": {\"type\":"
                                 " \"Precompiled\", \"precompiled_charsmap\": \"AAAA!\"}}";
    put(d, "tokenizer.json", badmap, sizeof badmap - 1);
    rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "charsmap"), "bad charsmap: %d %s", rc, err);
    char p[256];
    snprintf(p, sizeof p, "%s/tokenizer.json", d);
    unlink(p);
    put(d, "spiece.model", "\x0a\xff\xff\xff", 4);
    rc = pictor_t5_tokenizer_load(d, &t, err, sizeof err);
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "spiece.model"), "bad protobuf: %d %s", rc, err);
    CHECK(t == NULL, "no handle on failure");
    rm_case(d);
}

int main(void)
{
    RUN(test_clip_known_ids);
    RUN(test_clip_invalid_utf8);
    RUN(test_clip_errors);
    RUN(test_t5_known_ids);
    RUN(test_t5_errors);
    TEST_MAIN_END();
}
