/* tests/unit/test_safetensors.c — the safetensors reader (pictor/safetensors.h):
 * valid files of every dtype, zero-size, scalar and 5-D tensors, metadata,
 * misaligned data served from an aligned copy, and one file per malformed
 * class, each expecting its status code and a message naming the file and
 * the tensor. Files are written into a fresh temporary folder. */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "pictor/safetensors.h"
#include "pictor/tensor_util.h"

static char tmp[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    return p;
}

/* Writes a file whose length field says n_field, then hdr, then data. */
static int write_raw(const char *name, uint64_t n_field, const char *hdr, size_t hdr_len,
                     const void *data, size_t ndata)
{
    FILE *f = fopen(path_of(name), "wb");
    if (!f)
        return -1;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(n_field >> (8 * i));
    int ok = fwrite(le, 1, 8, f) == 8 && fwrite(hdr, 1, hdr_len, f) == hdr_len &&
             (!ndata || fwrite(data, 1, ndata, f) == ndata);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Header text + ndata zero bytes of data. */
static int write_hdr(const char *name, const char *hdr, size_t ndata)
{
    void *zeros = calloc(1, ndata ? ndata : 1);
    int rc = write_raw(name, strlen(hdr), hdr, strlen(hdr), zeros, ndata);
    free(zeros);
    return rc;
}

static void test_valid_all_dtypes(void)
{
    float f32[6] = {1, 2, 3, 4, 5, 6};
    uint16_t f16[3] = {0x3c00, 0x4000, 0xc000};
    uint16_t bf16[2] = {0x3f80, 0x4000};
    uint8_t e4m3[5] = {1, 2, 3, 4, 5}, e5m2[3] = {7, 8, 9};
    int32_t i32[2] = {-7, 7};
    int64_t i64[3] = {1, -2, 1LL << 40};
    float five[32];
    for (int i = 0; i < 32; i++)
        five[i] = (float)i;
    float scalar = 42;
    const struct st_entry e[] = {
        {"w.f32", "F32", 2, {2, 3}, f32, sizeof f32},
        {"w.f16", "F16", 1, {3}, f16, sizeof f16},
        {"w.bf16", "BF16", 2, {1, 2}, bf16, sizeof bf16},
        {"w.e4m3", "F8_E4M3", 1, {5}, e4m3, sizeof e4m3},
        {"w.e5m2", "F8_E5M2", 1, {3}, e5m2, sizeof e5m2},
        {"w.i32", "I32", 1, {2}, i32, sizeof i32},
        {"w.i64", "I64", 1, {3}, i64, sizeof i64},
        {"w.empty", "F32", 2, {0, 4}, NULL, 0},
        {"w.five", "F32", 5, {2, 2, 2, 2, 2}, five, sizeof five},
        {"w.scalar", "F32", 0, {0}, &scalar, sizeof scalar},
    };
    const size_t n = sizeof e / sizeof e[0];
    CHECK(st_write(path_of("ok.safetensors"), n, e) == 0, "write");
    char err[512] = "";
    struct pictor_st *st = NULL;
    int rc = pictor_st_open(path_of("ok.safetensors"), &st, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc != PICTOR_OK)
        return;
    CHECK(pictor_st_count(st) == n, "count %zu", pictor_st_count(st));
    for (size_t i = 1; i < pictor_st_count(st); i++)
        CHECK(strcmp(pictor_st_name(st, i - 1), pictor_st_name(st, i)) < 0, "names sorted");
    CHECK(pictor_st_name(st, n) == NULL, "name past the end");
    static const int want_dtype[] = {PICTOR_F32,     PICTOR_F16,     PICTOR_BF16, PICTOR_F8_E4M3,
                                     PICTOR_F8_E5M2, PICTOR_I32,     PICTOR_I64,  PICTOR_F32,
                                     PICTOR_F32,     PICTOR_F32};
    for (size_t i = 0; i < n; i++) {
        pictor_tensor t;
        rc = pictor_st_find(st, e[i].name, &t);
        CHECK(rc == PICTOR_OK, "find %s: %d", e[i].name, rc);
        if (rc != PICTOR_OK)
            continue;
        CHECK(t.dtype == want_dtype[i], "%s dtype %d", e[i].name, t.dtype);
        CHECK(t.ndim == e[i].ndim, "%s ndim %d", e[i].name, t.ndim);
        CHECK(t.device == PICTOR_DEVICE_CPU && t.row_scale == NULL, "%s cpu", e[i].name);
        CHECK(pictor_tensor_is_contiguous(&t), "%s contiguous", e[i].name);
        for (int d = 0; d < t.ndim; d++)
            CHECK(t.shape[d] == e[i].shape[d], "%s shape[%d]", e[i].name, d);
        CHECK(pictor_tensor_nbytes(&t) == e[i].nbytes, "%s nbytes", e[i].name);
        CHECK(e[i].nbytes == 0 || memcmp(t.data, e[i].data, e[i].nbytes) == 0, "%s bytes",
              e[i].name);
        CHECK((uintptr_t)t.data % pictor_dtype_size(t.dtype) == 0, "%s aligned", e[i].name);
        size_t idx = pictor_st_index(st, e[i].name);
        struct pictor_st_info info;
        CHECK(idx != (size_t)-1 && pictor_st_info(st, idx, &info) == PICTOR_OK, "info");
        CHECK(strcmp(info.name, e[i].name) == 0 && info.nbytes == e[i].nbytes, "info %s",
              e[i].name);
    }
    pictor_tensor t;
    CHECK(pictor_st_find(st, "nope", &t) == PICTOR_E_NOT_FOUND, "absent name");
    CHECK(pictor_st_index(st, "nope") == (size_t)-1, "absent index");
    CHECK(pictor_st_metadata(st, "format") == NULL, "no metadata");
    CHECK(strcmp(pictor_st_path(st), path_of("ok.safetensors")) == 0, "path");
    pictor_st_close(st);
    pictor_st_close(NULL);
}

static void test_metadata_and_unsupported(void)
{
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"h\\u00e9\"},"
                      "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                      "\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[16,19]}}";
    CHECK(write_hdr("meta.safetensors", hdr, 19) == 0, "write");
    char err[512] = "";
    struct pictor_st *st = NULL;
    int rc = pictor_st_open(path_of("meta.safetensors"), &st, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc != PICTOR_OK)
        return;
    CHECK(pictor_st_count(st) == 2, "metadata is not a tensor");
    const char *fmt = pictor_st_metadata(st, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "format metadata");
    const char *note = pictor_st_metadata(st, "note");
    CHECK(note && strcmp(note, "h\xc3\xa9") == 0, "unicode metadata");
    pictor_tensor t;
    CHECK(pictor_st_find(st, "d", &t) == PICTOR_E_UNSUPPORTED, "F64 unsupported");
    struct pictor_st_info info;
    CHECK(pictor_st_info(st, pictor_st_index(st, "m"), &info) == PICTOR_OK, "info m");
    CHECK(info.dtype == -1 && strcmp(info.dtype_name, "BOOL") == 0 && info.nbytes == 3,
          "BOOL info");
    CHECK(pictor_st_info(st, 2, &info) == PICTOR_E_NOT_FOUND, "info past the end");
    pictor_st_close(st);
}

/* A header length that is not a multiple of 8 leaves F32 data misaligned:
 * it is served from an aligned copy, the same one every time. */
static void *find_ptr(void *arg)
{
    pictor_tensor t;
    return pictor_st_find(arg, "x", &t) == PICTOR_OK ? t.data : NULL;
}

static void test_misaligned_copy(void)
{
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    size_t n = strlen(hdr);
    CHECK(n % 4 != 0, "header length %zu must misalign the data", n);
    float v[3] = {1.5f, -2.0f, 3.25f};
    CHECK(write_raw("mis.safetensors", n, hdr, n, v, sizeof v) == 0, "write");
    char err[512] = "";
    struct pictor_st *st = NULL;
    int rc = pictor_st_open(path_of("mis.safetensors"), &st, err, sizeof err);
    CHECK(rc == PICTOR_OK, "open: %s", err);
    if (rc != PICTOR_OK)
        return;
    pthread_t th[4];
    void *got[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, find_ptr, st);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], &got[i]);
    CHECK(got[0] && (uintptr_t)got[0] % 4 == 0, "aligned copy");
    for (int i = 1; i < 4; i++)
        CHECK(got[i] == got[0], "one copy for all threads");
    CHECK(got[0] && memcmp(got[0], v, sizeof v) == 0, "copy holds the data");
    pictor_st_close(st);
}

static void test_parse_in_memory(void)
{
    /* 60 bytes: the data lands 4-aligned in buf */
    const char *hdr = "{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}      ";
    _Alignas(8) uint8_t buf[128] = {0};
    size_t n = strlen(hdr);
    buf[0] = (uint8_t)n;
    memcpy(buf + 8, hdr, n);
    int32_t v = 77;
    memcpy(buf + 8 + n, &v, 4);
    char err[256] = "";
    CHECK(pictor_st_parse_header(buf, 8 + n + 4, "mem", NULL, err, sizeof err) == PICTOR_OK,
          "validate only: %s", err);
    struct pictor_st *st = NULL;
    CHECK(pictor_st_parse_header(buf, 8 + n + 4, "mem", &st, err, sizeof err) == PICTOR_OK,
          "parse: %s", err);
    pictor_tensor t;
    CHECK(st && pictor_st_find(st, "a", &t) == PICTOR_OK && t.data == buf + 8 + n,
          "view borrows the buffer");
    pictor_st_close(st);
    CHECK(pictor_st_parse_header(buf, 8 + n + 3, "mem", NULL, err, sizeof err) ==
                  PICTOR_E_FORMAT &&
              strstr(err, "mem") && strstr(err, "'a'"),
          "truncated data: %s", err);
}

struct bad_case {
    const char *file;
    const char *hdr;  /* header JSON (length field = its length) */
    size_t ndata;     /* zero bytes after it */
    int rc;
    const char *want1, *want2; /* substrings the message must hold */
};

#define T(dt, shape, offs) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static const struct bad_case bad[] = {
    {"badjson.safetensors", "{\"a\":", 0, PICTOR_E_FORMAT, "not valid JSON", NULL},
    {"notobj.safetensors", "[1,2,3]", 0, PICTOR_E_FORMAT, "not an object", NULL},
    {"trailing.safetensors", "{} x", 0, PICTOR_E_FORMAT, "not valid JSON", NULL},
    {"utf8.safetensors", "{\"a\xff\":" T("F32", "[1]", "[0,4]") "}", 4, PICTOR_E_FORMAT,
     "JSON", NULL},
    {"nul.safetensors", "{\"a\":1}\0", 0, PICTOR_E_FORMAT, "NUL", NULL},
    {"nulescape.safetensors", "{\"a\\u0000b\":" T("F32", "[1]", "[0,4]") "}", 4,
     PICTOR_E_FORMAT, "NUL", NULL},
    {"entry.safetensors", "{\"blk.e\":7}", 0, PICTOR_E_FORMAT, "'blk.e'", "not an object"},
    {"dtype.safetensors", "{\"blk.q\":" T("F99", "[1]", "[0,4]") "}", 4, PICTOR_E_FORMAT,
     "'blk.q'", "F99"},
    {"nodtype.safetensors", "{\"blk.n\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     PICTOR_E_FORMAT, "'blk.n'", "dtype"},
    {"mismatch.safetensors", "{\"blk.w\":" T("F32", "[2,3]", "[0,20]") "}", 24,
     PICTOR_E_FORMAT, "'blk.w'", "need 24 bytes"},
    {"span.safetensors", "{\"blk.s\":" T("F32", "[4]", "[0,16]") "}", 12, PICTOR_E_FORMAT,
     "'blk.s'", "past the data section"},
    {"overlap.safetensors",
     "{\"blk.a\":" T("F32", "[2]", "[0,8]") ",\"blk.b\":" T("F32", "[2]", "[4,12]") "}", 12,
     PICTOR_E_FORMAT, "'blk.b'", "'blk.a'"},
    {"negshape.safetensors", "{\"blk.g\":" T("F32", "[-1]", "[0,0]") "}", 0, PICTOR_E_FORMAT,
     "'blk.g'", "shape[0]"},
    {"fracshape.safetensors", "{\"blk.f\":" T("F32", "[1.5]", "[0,4]") "}", 4,
     PICTOR_E_FORMAT, "'blk.f'", "shape[0]"},
    {"order.safetensors", "{\"blk.o\":" T("F32", "[1]", "[8,4]") "}", 8, PICTOR_E_FORMAT,
     "'blk.o'", "[8, 4]"},
    {"offs.safetensors", "{\"blk.c\":" T("F32", "[1]", "[0]") "}", 4, PICTOR_E_FORMAT,
     "'blk.c'", "data_offsets"},
    {"negoffs.safetensors", "{\"blk.m\":" T("F32", "[1]", "[-4,0]") "}", 4, PICTOR_E_FORMAT,
     "'blk.m'", "data_offsets"},
    {"ndim.safetensors", "{\"blk.6\":" T("F32", "[1,1,1,1,1,1]", "[0,4]") "}", 4,
     PICTOR_E_UNSUPPORTED, "'blk.6'", "at most 5"},
    {"overflow.safetensors",
     "{\"blk.v\":" T("F32", "[4294967296,4294967296]", "[0,4]") "}", 4, PICTOR_E_FORMAT,
     "'blk.v'", "overflows"},
    {"overflow2.safetensors", "{\"blk.x\":" T("I64", "[4611686018427387904]", "[0,8]") "}", 8,
     PICTOR_E_FORMAT, "'blk.x'", "overflows"},
    {"dup.safetensors",
     "{\"blk.d\":" T("F32", "[1]", "[0,4]") ",\"blk.d\":" T("F32", "[1]", "[4,8]") "}", 8,
     PICTOR_E_FORMAT, "'blk.d'", "twice"},
    {"dupesc.safetensors",
     "{\"a\":" T("F32", "[1]", "[0,4]") ",\"\\u0061\":" T("F32", "[1]", "[4,8]") "}", 8,
     PICTOR_E_FORMAT, "duplicate", NULL},
    {"meta.safetensors", "{\"__metadata__\":{\"format\":1}}", 0, PICTOR_E_FORMAT,
     "__metadata__", "'format'"},
    {"metaobj.safetensors", "{\"__metadata__\":[]}", 0, PICTOR_E_FORMAT, "__metadata__",
     NULL},
};

static void test_malformed_headers(void)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const struct bad_case *b = &bad[i];
        /* the NUL case holds a NUL: its length is spelled out */
        size_t len = strcmp(b->file, "nul.safetensors") == 0 ? 8 : strlen(b->hdr);
        void *zeros = calloc(1, b->ndata + 1);
        CHECK(write_raw(b->file, len, b->hdr, len, zeros, b->ndata) == 0, "write %s", b->file);
        free(zeros);
        char err[512] = "";
        struct pictor_st *st = NULL;
        int rc = pictor_st_open(path_of(b->file), &st, err, sizeof err);
        CHECK(rc == b->rc, "%s: status %s, want %s (%s)", b->file, pictor_status_name(rc),
              pictor_status_name(b->rc), err);
        CHECK(st == NULL, "%s: no handle on failure", b->file);
        CHECK(strstr(err, b->file) != NULL, "%s: message names the file: %s", b->file, err);
        CHECK(strstr(err, b->want1) != NULL, "%s: message lacks '%s': %s", b->file, b->want1,
              err);
        CHECK(!b->want2 || strstr(err, b->want2) != NULL, "%s: message lacks '%s': %s",
              b->file, b->want2, err);
        pictor_st_close(st);
    }
}

static void test_bad_lengths(void)
{
    char err[512];
    struct pictor_st *st = NULL;
    /* shorter than the length field */
    FILE *f = fopen(path_of("short.safetensors"), "wb");
    CHECK(f && fwrite("\x02\0\0\0\0", 1, 5, f) == 5, "write short");
    if (f)
        fclose(f);
    CHECK(pictor_st_open(path_of("short.safetensors"), &st, err, sizeof err) ==
                  PICTOR_E_FORMAT && strstr(err, "short.safetensors") && strstr(err, "8-byte"),
          "short: %s", err);
    /* empty file */
    f = fopen(path_of("empty.safetensors"), "wb");
    if (f)
        fclose(f);
    CHECK(pictor_st_open(path_of("empty.safetensors"), &st, err, sizeof err) ==
                  PICTOR_E_FORMAT && strstr(err, "empty.safetensors"),
          "empty: %s", err);
    /* N above the 100 MB bound */
    CHECK(write_raw("huge.safetensors", 100000001ull, "{}", 2, NULL, 0) == 0, "write");
    CHECK(pictor_st_open(path_of("huge.safetensors"), &st, err, sizeof err) ==
                  PICTOR_E_FORMAT && strstr(err, "huge.safetensors") && strstr(err, "limit"),
          "huge: %s", err);
    /* N past the end of the file (truncated header) */
    CHECK(write_raw("trunc.safetensors", 64, "{\"a\":{", 6, NULL, 0) == 0, "write");
    CHECK(pictor_st_open(path_of("trunc.safetensors"), &st, err, sizeof err) ==
                  PICTOR_E_FORMAT && strstr(err, "trunc.safetensors") &&
              strstr(err, "past the end"),
          "trunc: %s", err);
    /* N = 2^64 - 1 must not wrap */
    CHECK(write_raw("wrap.safetensors", UINT64_MAX, "{}", 2, NULL, 0) == 0, "write");
    CHECK(pictor_st_open(path_of("wrap.safetensors"), &st, err, sizeof err) ==
              PICTOR_E_FORMAT,
          "wrap: %s", err);
    /* not there / not a file */
    CHECK(pictor_st_open(path_of("missing.safetensors"), &st, err, sizeof err) ==
                  PICTOR_E_IO && strstr(err, "missing.safetensors"),
          "missing: %s", err);
    CHECK(pictor_st_open(tmp, &st, err, sizeof err) == PICTOR_E_IO, "folder: %s", err);
    CHECK(st == NULL, "no handle");
}

/* Zero-size tensors may share an offset with anything; empty files with
 * only metadata are valid. */
static void test_edge_valid(void)
{
    const char *hdr = "{\"a\":" T("F16", "[2]", "[0,4]") ",\"z\":" T("F32", "[0]", "[2,2]")
                      ",\"y\":" T("BF16", "[3,0]", "[4,4]") "}";
    char err[512] = "";
    CHECK(write_hdr("edge.safetensors", hdr, 4) == 0, "write");
    struct pictor_st *st = NULL;
    CHECK(pictor_st_open(path_of("edge.safetensors"), &st, err, sizeof err) == PICTOR_OK,
          "edge: %s", err);
    pictor_tensor t;
    CHECK(st && pictor_st_find(st, "z", &t) == PICTOR_OK && pictor_tensor_numel(&t) == 0,
          "zero-size found");
    pictor_st_close(st);
    st = NULL;
    CHECK(write_hdr("onlymeta.safetensors", "{\"__metadata__\":{}}", 0) == 0, "write");
    CHECK(pictor_st_open(path_of("onlymeta.safetensors"), &st, err, sizeof err) == PICTOR_OK &&
              pictor_st_count(st) == 0,
          "only metadata: %s", err);
    pictor_st_close(st);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/pictor-st-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_valid_all_dtypes);
    RUN(test_metadata_and_unsupported);
    RUN(test_misaligned_copy);
    RUN(test_parse_in_memory);
    RUN(test_malformed_headers);
    RUN(test_bad_lengths);
    RUN(test_edge_valid);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_MAIN_END();
}
