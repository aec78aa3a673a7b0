/*
 * tests/unit/test_lt_algo_store.c — the cuBLASLt algorithm file
 * (kernels/cuda/lt_algo_store.h) on the CPU: a round trip keeps every
 * entry; a file written for another GPU, library, layout or format
 * version, a truncated one (cut at every byte), and garbage are refused
 * whole with a message naming the file; saves replace the file atomically
 * and merge what another writer (another process too) saved; a folder that
 * cannot be written is an error the store survives; the entry cap; the
 * file name; the backend API refusing a backend that is not CUDA.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../kernels/cuda/lt_algo_store.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/backend_cuda.h"
#include "pictor/status.h"

/* Sizes of lt_plan.c's struct gemm_key and stored blob, for realism. */
#define KEY_BYTES 144
#define BLOB_BYTES 264
#define MAX_ENTRIES 4096

/* TMP/rel in one of 16 rotating buffers (the harness's test_tmp_at has
 * two: too few for the paths a test here keeps). */
static const char *tmp_file(const char *rel)
{
    static char ring[16][512];
    static int k;

    k = (k + 1) % 16;
    snprintf(ring[k], sizeof ring[k], "%s/%s", test_tmp, rel);
    return ring[k];
}

static struct lt_algo_store_id test_id(void)
{
    return (struct lt_algo_store_id){.gpu_name = "NVIDIA H100 80GB HBM3", .cc_major = 9,
                                     .cc_minor = 0, .sm_count = 132, .lib_version = 130100,
                                     .layout = 1, .key_bytes = KEY_BYTES,
                                     .blob_bytes = BLOB_BYTES};
}

/* Deterministic bytes for entry i (seed separates keys from blobs). */
static void fill(unsigned char *p, size_t n, unsigned i, unsigned seed)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (i + 1) ^ seed;

    for (size_t j = 0; j < n; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[j] = (unsigned char)x;
    }
}

static void key_of(unsigned i, unsigned char k[KEY_BYTES])
{
    fill(k, KEY_BYTES, i, 1);
}

static void blob_of(unsigned i, unsigned version, unsigned char b[BLOB_BYTES])
{
    fill(b, BLOB_BYTES, i, 1000 + version);
}

/* Puts entries [from, to) with blob version v. */
static void put_range(struct lt_algo_store *s, unsigned from, unsigned to, unsigned v)
{
    unsigned char k[KEY_BYTES], b[BLOB_BYTES];

    for (unsigned i = from; i < to; i++) {
        key_of(i, k);
        blob_of(i, v, b);
        CHECK(lt_algo_store_put(s, k, b) == PICTOR_OK, "put %u", i);
    }
}

/* How many of entries [from, to) s holds with blob version v. */
static unsigned count_range(const struct lt_algo_store *s, unsigned from, unsigned to,
                            unsigned v)
{
    unsigned char k[KEY_BYTES], b[BLOB_BYTES];
    unsigned n = 0;

    for (unsigned i = from; i < to; i++) {
        const void *got;

        key_of(i, k);
        blob_of(i, v, b);
        got = lt_algo_store_get(s, k);
        n += got && memcmp(got, b, BLOB_BYTES) == 0;
    }
    return n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    fclose(f);
    return buf;
}

static int write_bytes(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;

    if (f)
        ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}

/* A store with entries [0, n) saved to path. */
static int save_fresh(const char *path, unsigned n)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);
    char err[512] = "";
    int rc;

    put_range(s, 0, n, 0);
    rc = lt_algo_store_save(s, path, err, sizeof err);
    CHECK(rc == PICTOR_OK, "save %s: %s", path, err);
    lt_algo_store_destroy(s);
    return rc;
}

/* Loads path into a fresh store: the status, the message, the count. */
static int load_fresh(const char *path, char *err, size_t errlen, size_t *count)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);
    int rc;

    err[0] = '\0';
    rc = lt_algo_store_load(s, path, err, errlen);
    *count = lt_algo_store_count(s);
    lt_algo_store_destroy(s);
    return rc;
}

/* FNV-1a 64, as the format's end line uses (lt_algo_store.h). */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Writes header + records (each a whole line) + a correct end line. */
static void write_with_end(const char *path, const char *header, const char *records,
                           size_t n_records)
{
    size_t cap = strlen(header) + strlen(records) + 64;
    char *buf = malloc(cap);

    snprintf(buf, cap, "%s%send %zu %016llx\n", header, records, n_records,
             (unsigned long long)fnv1a(records, strlen(records)));
    CHECK(write_bytes(path, buf, strlen(buf)) == 0, "write %s", path);
    free(buf);
}

static void test_round_trip(void)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES), *t;
    const char *path = tmp_file("round.algos");
    char err[512] = "", *text;
    unsigned char k[KEY_BYTES], b[BLOB_BYTES];
    size_t len;

    CHECK(s && !lt_algo_store_dirty(s) && lt_algo_store_count(s) == 0, "empty store");
    put_range(s, 0, 300, 0);
    CHECK(lt_algo_store_dirty(s) && lt_algo_store_count(s) == 300, "300 put");
    key_of(7, k);
    blob_of(7, 0, b);
    CHECK(lt_algo_store_save(s, path, err, sizeof err) == PICTOR_OK, "save: %s", err);
    CHECK(!lt_algo_store_dirty(s), "clean after save");
    CHECK(lt_algo_store_put(s, k, b) == PICTOR_OK && !lt_algo_store_dirty(s),
          "the same blob again changes nothing");
    blob_of(7, 1, b);
    CHECK(lt_algo_store_put(s, k, b) == PICTOR_OK && lt_algo_store_dirty(s) &&
          lt_algo_store_count(s) == 300, "a new blob replaces the old one");
    blob_of(7, 0, b);
    lt_algo_store_put(s, k, b);
    lt_algo_store_destroy(s);

    text = read_file(path, &len);
    {
        static const char want[] = "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 "
                                   "sms=132 cublaslt=130100 layout=1 key=144 blob=264\n";

        CHECK(text && len > sizeof want && memcmp(text, want, sizeof want - 1) == 0,
              "line 1: %.120s", text ? text : "(none)");
    }
    free(text);
    CHECK(access(tmp_file("round.algos.tmp"), F_OK) != 0, "no temp file left");

    t = lt_algo_store_create(&id, MAX_ENTRIES);
    CHECK(lt_algo_store_load(t, path, err, sizeof err) == PICTOR_OK, "load: %s", err);
    CHECK(lt_algo_store_count(t) == 300 && count_range(t, 0, 300, 0) == 300,
          "%zu entries back, %u equal", lt_algo_store_count(t), count_range(t, 0, 300, 0));
    CHECK(!lt_algo_store_dirty(t), "a loaded store is clean");
    key_of(300, k);
    CHECK(lt_algo_store_get(t, k) == NULL, "absent key");
    lt_algo_store_destroy(t);

    /* Loading into a store keeps the entries it has. */
    t = lt_algo_store_create(&id, MAX_ENTRIES);
    put_range(t, 0, 10, 5);
    CHECK(lt_algo_store_load(t, path, err, sizeof err) == PICTOR_OK, "load: %s", err);
    CHECK(count_range(t, 0, 10, 5) == 10 && count_range(t, 10, 300, 0) == 290,
          "load adds only the keys the store lacks");
    lt_algo_store_destroy(t);
    CHECK(load_fresh(tmp_file("absent.algos"), err, sizeof err, &len) ==
          PICTOR_E_NOT_FOUND && !err[0] && len == 0, "no file: not found, no message");
}

/* Writes a copy of a valid file with line 1 replaced by `header`. */
static int check_header(const char *text, size_t len, const char *header, const char *want)
{
    const char *path = tmp_file("mismatch.algos");
    const char *nl = memchr(text, '\n', len);
    size_t hl = strlen(header), rest = len - (size_t)(nl - text);
    char *buf = malloc(hl + rest), err[512];
    size_t count;
    int rc;

    memcpy(buf, header, hl);
    memcpy(buf + hl, nl, rest);
    write_bytes(path, buf, hl + rest);
    free(buf);
    rc = load_fresh(path, err, sizeof err, &count);
    CHECK(rc == PICTOR_E_FORMAT && count == 0, "'%s' refused (rc %d, %zu loaded)", header, rc,
          count);
    CHECK(strstr(err, path) && strstr(err, want), "'%s': message names the file and '%s': %s",
          header, want, err);
    return rc;
}

static void test_header_mismatch(void)
{
    const char *path = tmp_file("good.algos");
    char *text;
    size_t len;

    save_fresh(path, 5);
    text = read_file(path, &len);
    if (!text)
        return;
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_A100-SXM4-80GB cc=9.0 sms=132 "
                 "cublaslt=130100 layout=1 key=144 blob=264", "gpu=NVIDIA_A100-SXM4-80GB");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=8.0 sms=132 "
                 "cublaslt=130100 layout=1 key=144 blob=264", "cc=8.0");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=114 "
                 "cublaslt=130100 layout=1 key=144 blob=264", "sms=114");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=120903 layout=1 key=144 blob=264", "cublaslt=120903");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=130100 layout=2 key=144 blob=264", "layout=2");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=130100 layout=1 key=152 blob=264", "key=152");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=130100 layout=1 key=144 blob=200", "blob=200");
    check_header(text, len, "pictor-cublaslt-algos 2 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=130100 layout=1 key=144 blob=264", "format version 2");
    check_header(text, len, "pictor-cublaslt-algos 1 gpu=NVIDIA_H100_80GB_HBM3 cc=9.0 sms=132 "
                 "cublaslt=130100 layout=1 key=144 blob=264 extra=1", "more words");
    check_header(text, len, "#!/bin/sh", "not a pictor cuBLASLt algorithm file");
    free(text);
}

static void test_truncated(void)
{
    const char *path = tmp_file("cut.algos");
    struct lt_algo_store_id id = test_id();
    char err[512], *text;
    size_t len, bad = 0, silent = 0, count;

    save_fresh(path, 12);
    text = read_file(path, &len);
    if (!text)
        return;
    /* Every proper prefix of the file is refused whole, with a reason. */
    for (size_t cut = 0; cut < len; cut++) {
        struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);

        err[0] = '\0';
        bad += lt_algo_store_parse(s, text, cut, path, err, sizeof err) != PICTOR_E_FORMAT ||
               lt_algo_store_count(s) != 0;
        silent += !strstr(err, path);
        lt_algo_store_destroy(s);
    }
    CHECK(bad == 0, "%zu of %zu prefixes were not refused whole", bad, len);
    CHECK(silent == 0, "%zu refusals did not name the file", silent);
    /* The same through a real file cut just before its end line. */
    {
        const char *end = strstr(text, "\nend ");
        size_t n = end ? (size_t)(end - text) + 1 : 0;

        write_bytes(path, text, n);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT && count == 0 &&
              strstr(err, "no end line"), "cut before the end line: %s", err);
    }
    free(text);
}

/* Replaces the first occurrence of `from` in a copy of text, loads it. */
static int load_edited(const char *text, size_t len, const char *from, const char *to,
                       char *err, size_t errlen, size_t *count)
{
    const char *path = tmp_file("edited.algos");
    const char *at = memmem(text, len, from, strlen(from));
    size_t fl = strlen(from), tl = strlen(to);
    char *buf = malloc(len + tl);
    size_t off = at ? (size_t)(at - text) : 0;

    CHECK(at != NULL, "'%s' found in the file", from);
    memcpy(buf, text, off);
    memcpy(buf + off, to, tl);
    memcpy(buf + off + tl, text + off + fl, len - off - fl);
    write_bytes(path, buf, len - fl + tl);
    free(buf);
    return load_fresh(path, err, errlen, count);
}

static void test_garbage(void)
{
    const char *path = tmp_file("garbage.algos");
    struct lt_algo_store_id id = test_id();
    char err[512], *text, header[512];
    char rec[2 * (KEY_BYTES + BLOB_BYTES) + 3]; /* a record line, newline, NUL */
    size_t len, count, bad = 0;
    int rc;

    /* Random bytes, with and without a valid line 1 in front. */
    for (unsigned seed = 0; seed < 64; seed++) {
        unsigned char junk[700];
        struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);
        size_t hl;

        fill(junk, sizeof junk, seed, 77);
        if (seed & 1) { /* a real header, then junk */
            save_fresh(path, 0);
            text = read_file(path, &len);
            hl = text ? (size_t)((char *)memchr(text, '\n', len) - text) + 1 : 0;
            memcpy(header, text, hl);
            free(text);
            memcpy(junk, header, hl);
        }
        rc = lt_algo_store_parse(s, (const char *)junk, sizeof junk, "junk", err, sizeof err);
        bad += rc != PICTOR_E_FORMAT || lt_algo_store_count(s) != 0;
        lt_algo_store_destroy(s);
    }
    CHECK(bad == 0, "%zu junk buffers accepted", bad);

    save_fresh(path, 3);
    text = read_file(path, &len);
    if (!text)
        return;
    /* One hex digit changed in a record: the checksum catches it. */
    {
        char *copy = malloc(len);
        char *r = memchr(text, '\n', len) + 1;
        size_t at = (size_t)(r - text) + 10;

        memcpy(copy, text, len);
        copy[at] = copy[at] == '0' ? '1' : '0';
        write_bytes(path, copy, len);
        free(copy);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT && count == 0 &&
              strstr(err, "checksum"), "flipped digit: %s", err);
    }
    CHECK(load_edited(text, len, "\nend 3 ", "\nend 4 ", err, sizeof err, &count) ==
          PICTOR_E_FORMAT && count == 0 && strstr(err, "counts 4"), "wrong count: %s", err);
    {
        char *tail = malloc(len + 8);

        memcpy(tail, text, len);
        memcpy(tail + len, "extra\n", 6);
        write_bytes(path, tail, len + 6);
        free(tail);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT && count == 0 &&
              strstr(err, "after the end line"), "data after the end line: %s", err);
    }
    /* A record line with upper-case hex, and a key stored twice, each with
     * a correct checksum: refused by the parser itself. */
    {
        const char *l2 = memchr(text, '\n', len) + 1;
        const char *l3 = memchr(l2, '\n', len - (size_t)(l2 - text)) + 1;
        size_t hl = (size_t)(l2 - text), rl = (size_t)(l3 - l2);
        char *two = malloc(2 * rl + 1);

        memcpy(header, text, hl);
        header[hl] = '\0';
        memcpy(rec, l2, rl);
        rec[rl] = '\0';
        snprintf(two, 2 * rl + 1, "%s%s", rec, rec);
        write_with_end(path, header, two, 2);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT && count == 0 &&
              strstr(err, "line 3") && strstr(err, "twice"), "duplicate key: %s", err);
        for (size_t i = 0; i < rl; i++)
            if (rec[i] >= 'a' && rec[i] <= 'f')
                rec[i] = (char)(rec[i] - 'a' + 'A');
        write_with_end(path, header, rec, 1);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT && count == 0 &&
              strstr(err, "line 2 is not a record"), "upper-case hex: %s", err);
        write_with_end(path, header, "", 0);
        CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_OK && count == 0,
              "no records is a valid file: %s", err);
        free(two);
    }
    free(text);
    /* A folder where the file should be. */
    test_tmp_mkdir("dir.algos");
    CHECK(load_fresh(tmp_file("dir.algos"), err, sizeof err, &count) == PICTOR_E_IO &&
          strstr(err, "dir.algos"), "a folder: %s", err);
    CHECK(write_bytes(path, "", 0) == 0 &&
          load_fresh(path, err, sizeof err, &count) == PICTOR_E_FORMAT &&
          strstr(err, "empty"), "an empty file: %s", err);
}

static void test_atomic_replace(void)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *a = lt_algo_store_create(&id, MAX_ENTRIES);
    struct lt_algo_store *b = lt_algo_store_create(&id, MAX_ENTRIES);
    const char *path = tmp_file("shared.algos");
    char err[512] = "", *before, *after;
    size_t before_len, after_len, old_len = 0, count;
    int old_fd;

    put_range(a, 0, 20, 0);
    CHECK(lt_algo_store_save(a, path, err, sizeof err) == PICTOR_OK, "save a: %s", err);
    before = read_file(path, &before_len);
    old_fd = open(path, O_RDONLY);
    /* A temp file left by a writer that was killed does not matter. */
    CHECK(write_bytes(tmp_file("shared.algos.tmp"), "half a fi", 9) == 0, "stale temp");
    put_range(b, 20, 50, 0);
    put_range(b, 0, 5, 9); /* b's own blobs for keys a saved: b's win */
    CHECK(lt_algo_store_save(b, path, err, sizeof err) == PICTOR_OK, "save b: %s", err);
    CHECK(lt_algo_store_count(b) == 50 && count_range(b, 5, 20, 0) == 15 &&
          count_range(b, 0, 5, 9) == 5, "b merged a's entries, kept its own");
    /* The reader that opened the old file still reads it whole: the save
     * replaced the file (rename), it did not rewrite it in place. */
    if (old_fd >= 0) {
        char *buf = malloc(before_len + 16);
        ssize_t r = read(old_fd, buf, before_len + 16);

        old_len = r > 0 ? (size_t)r : 0;
        CHECK(before && old_len == before_len && memcmp(buf, before, before_len) == 0,
              "the old file is intact for its reader (%zu of %zu bytes)", old_len, before_len);
        free(buf);
        close(old_fd);
    }
    after = read_file(path, &after_len);
    CHECK(after && after_len > before_len, "the new file is larger");
    CHECK(access(tmp_file("shared.algos.tmp"), F_OK) != 0, "no temp file left");
    CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_OK && count == 50,
          "the new file holds the union: %zu (%s)", count, err);
    free(before);
    free(after);
    lt_algo_store_destroy(a);
    lt_algo_store_destroy(b);
}

/* Four processes saving their own entries into one file 10 times each:
 * the lock and the merge keep every entry. */
static void test_concurrent_writers(void)
{
    const char *path = tmp_file("race.algos");
    enum { WRITERS = 4, ROUNDS = 10, PER_ROUND = 3 };
    pid_t pids[WRITERS];
    int failed = 0;
    size_t count;
    char err[512] = "";

    fflush(NULL);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            struct lt_algo_store_id id = test_id();
            struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);
            char e[512];
            int rc = 0;

            for (unsigned r = 0; r < ROUNDS && !rc; r++) {
                unsigned base = (unsigned)w * 1000 + r * PER_ROUND;

                put_range(s, base, base + PER_ROUND, 0);
                rc = lt_algo_store_save(s, path, e, sizeof e);
            }
            lt_algo_store_destroy(s);
            _exit(rc ? 1 : 0);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int st = 0;

        failed += pids[w] < 0 || waitpid(pids[w], &st, 0) != pids[w] || !WIFEXITED(st) ||
                  WEXITSTATUS(st) != 0;
    }
    CHECK(failed == 0, "%d writers failed", failed);
    CHECK(load_fresh(path, err, sizeof err, &count) == PICTOR_OK &&
          count == WRITERS * ROUNDS * PER_ROUND, "%zu of %d entries survived (%s)", count,
          WRITERS * ROUNDS * PER_ROUND, err);
}

static void test_unwritable(void)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *s = lt_algo_store_create(&id, MAX_ENTRIES);
    char err[512] = "";
    const char *missing = tmp_file("no/such/dir/x.algos");
    int rc;

    put_range(s, 0, 4, 0);
    rc = lt_algo_store_save(s, missing, err, sizeof err);
    CHECK(rc == PICTOR_E_IO && strstr(err, "no/such/dir/x.algos") &&
          strstr(err, strerror(ENOENT)), "missing folder: rc %d: %s", rc, err);
    CHECK(lt_algo_store_dirty(s) && count_range(s, 0, 4, 0) == 4, "the store survives");
    test_tmp_write("plain-file", "x");
    rc = lt_algo_store_save(s, tmp_file("plain-file/x.algos"), err, sizeof err);
    CHECK(rc == PICTOR_E_IO && strstr(err, strerror(ENOTDIR)), "a file as folder: %s", err);
    if (geteuid() != 0) { /* root writes anyway */
        test_tmp_mkdir("ro");
        chmod(tmp_file("ro"), 0555);
        rc = lt_algo_store_save(s, tmp_file("ro/x.algos"), err, sizeof err);
        CHECK(rc == PICTOR_E_IO && strstr(err, strerror(EACCES)), "read-only folder: %s", err);
        chmod(tmp_file("ro"), 0755);
    }
    put_range(s, 4, 8, 0);
    CHECK(lt_algo_store_save(s, tmp_file("later.algos"), err, sizeof err) == PICTOR_OK &&
          !lt_algo_store_dirty(s), "a later save elsewhere works: %s", err);
    lt_algo_store_destroy(s);
}

static void test_cap(void)
{
    struct lt_algo_store_id id = test_id();
    struct lt_algo_store *s = lt_algo_store_create(&id, 8), *small;
    const char *path = tmp_file("cap.algos");
    unsigned char k[KEY_BYTES], b[BLOB_BYTES];
    char err[512] = "";

    put_range(s, 0, 8, 0);
    key_of(8, k);
    blob_of(8, 0, b);
    CHECK(lt_algo_store_put(s, k, b) == PICTOR_E_NOMEM && lt_algo_store_count(s) == 8,
          "a ninth key is refused");
    key_of(3, k);
    blob_of(3, 1, b);
    CHECK(lt_algo_store_put(s, k, b) == PICTOR_OK, "replacing still works when full");
    lt_algo_store_save(s, path, err, sizeof err);
    small = lt_algo_store_create(&id, 4);
    CHECK(lt_algo_store_load(small, path, err, sizeof err) == PICTOR_E_FORMAT &&
          lt_algo_store_count(small) == 0, "a file beyond the cap is refused: %s", err);
    lt_algo_store_destroy(small);
    lt_algo_store_destroy(s);
    id.key_bytes = 0;
    CHECK(lt_algo_store_create(&id, 8) == NULL, "zero key size refused");
}

static void test_file_name(void)
{
    char out[256];

    CHECK(lt_algo_store_file_name("/var/lib/pictor", "NVIDIA H100 80GB HBM3", 9, 0, out,
                                  sizeof out) == PICTOR_OK &&
          !strcmp(out, "/var/lib/pictor/cublaslt-NVIDIA-H100-80GB-HBM3-sm90.algos"), "%s", out);
    CHECK(lt_algo_store_file_name("state//", " A/B\\C  (x)", 8, 9, out, sizeof out) ==
          PICTOR_OK && !strcmp(out, "state/cublaslt-A-B-C-x-sm89.algos"), "%s", out);
    CHECK(lt_algo_store_file_name("s", "../..", 10, 0, out, sizeof out) == PICTOR_OK &&
          !strcmp(out, "s/cublaslt-..-..-sm100.algos"), "dots stay, slashes go: %s", out);
    CHECK(lt_algo_store_file_name("s", "???", 9, 0, out, sizeof out) == PICTOR_OK &&
          !strcmp(out, "s/cublaslt-gpu-sm90.algos"), "nothing left of the name: %s", out);
    CHECK(lt_algo_store_file_name("/a/long/dir", "NVIDIA H100", 9, 0, out, 16) ==
          PICTOR_E_INVALID, "too long for the buffer");
    CHECK(lt_algo_store_file_name("", "NVIDIA H100", 9, 0, out, sizeof out) ==
          PICTOR_E_INVALID, "no folder");
}

/* The backend API without a CUDA backend: an error with a message, never
 * a crash, nothing written. */
static void test_backend_api_refuses(void)
{
    pictor_backend *cpu = pictor_backend_cpu_create(1);
    const char *dir = tmp_file("api-state");
    char err[512] = "";
    int rc;

    CHECK(cpu != NULL, "CPU backend");
    rc = pictor_backend_cuda_set_plan_dir(cpu, dir, err, sizeof err);
    CHECK(rc == (pictor_cuda_available() ? PICTOR_E_INVALID : PICTOR_E_UNSUPPORTED) &&
          strstr(err, "cuBLASLt"), "a CPU backend: rc %d: %s", rc, err);
    CHECK(access(dir, F_OK) != 0, "nothing created");
    pictor_backend_destroy(cpu);
}

int main(void)
{
    if (test_tmp_create("pictor-algos"))
        return 1;
    RUN(test_round_trip);
    RUN(test_header_mismatch);
    RUN(test_truncated);
    RUN(test_garbage);
    RUN(test_atomic_replace);
    RUN(test_concurrent_writers);
    RUN(test_unwritable);
    RUN(test_cap);
    RUN(test_file_name);
    RUN(test_backend_api_refuses);
    test_tmp_remove();
    TEST_MAIN_END();
}
