/*
 * kernels/cuda/lt_algo_store_read.c — reading the algorithm store's text
 * file (lt_algo_store.h): line 1 checked against the store's identity,
 * records in hex, the end line's count and checksum; parse and load merge
 * into the store.
 */
#include "lt_algo_store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pictor/status.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* the writer uses lower case only */
}

/* n bytes from 2n hex digits; false on a non-hex digit. */
static bool hex_decode(const char *h, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(h[2 * i]), lo = hex_value(h[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* Length of the next word of s[0..n) (up to a blank or the end). */
static size_t word_len(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] != ' ')
        i++;
    return i;
}

/* Explains why header line h (n bytes) is not want: the first word that
 * differs. */
static void header_mismatch(const char *name, const char *h, size_t n, const char *want,
                            char *err, size_t errlen)
{
    size_t wn = strlen(want), word = 0;

    for (;;) {
        size_t a = word_len(h, n), b = word_len(want, wn);

        if (a != b || memcmp(h, want, a) != 0) {
            if (word == 0)
                snprintf(err, errlen, "%s: not a pictor cuBLASLt algorithm file", name);
            else if (word == 1)
                snprintf(err, errlen, "%s: format version %.*s, this pictor writes %.*s", name,
                         (int)(a < 16 ? a : 16), h, (int)b, want);
            else if (!a || !b)
                snprintf(err, errlen, "%s: line 1 has %s words than this pictor writes", name,
                         a ? "more" : "fewer");
            else
                snprintf(err, errlen, "%s: written for %.*s, this is %.*s (another GPU or "
                         "cuBLASLt, or another pictor)", name, (int)(a < 300 ? a : 300), h,
                         (int)b, want);
            return;
        }
        if (a == n && b == wn) /* cannot happen: the lines differ */
            break;
        h += a < n ? a + 1 : a;
        n -= a < n ? a + 1 : a;
        want += b < wn ? b + 1 : b;
        wn -= b < wn ? b + 1 : b;
        word++;
    }
    snprintf(err, errlen, "%s: line 1 differs", name);
}

/* Parses the end line e (n bytes, newline excluded) against what was read. */
static int check_end(const char *name, const char *e, size_t n, size_t records, uint64_t sum,
                     char *err, size_t errlen)
{
    char line[STORE_END_MAX], want[STORE_END_MAX];

    snprintf(want, sizeof want, "end %zu %016llx", records, (unsigned long long)sum);
    if (n >= sizeof line) {
        snprintf(err, errlen, "%s: malformed end line", name);
        return PICTOR_E_FORMAT;
    }
    memcpy(line, e, n);
    line[n] = '\0';
    if (strcmp(line, want) == 0)
        return PICTOR_OK;
    {
        size_t count;
        unsigned long long file_sum;
        int used = 0;

        if (sscanf(line, "end %zu %llx%n", &count, &file_sum, &used) != 2 ||
            (size_t)used != n)
            snprintf(err, errlen, "%s: malformed end line", name);
        else if (count != records)
            snprintf(err, errlen, "%s: the end line counts %zu records, %zu were read "
                     "(truncated or edited)", name, count, records);
        else
            snprintf(err, errlen, "%s: checksum mismatch (corrupt or edited)", name);
    }
    return PICTOR_E_FORMAT;
}

/* Merges tmp's records that s lacks into s, while there is room. */
static int merge(struct lt_algo_store *s, const struct lt_algo_store *tmp)
{
    int rc;

    for (size_t i = 0; i < tmp->count && s->count < s->max_entries; i++) {
        const unsigned char *r = lt_store_rec_at(tmp, i);

        if (!lt_algo_store_get(s, r) && (rc = lt_store_append(s, r, r + s->id.key_bytes)))
            return rc;
    }
    return PICTOR_OK;
}

/* The records of buf[pos..len) into tmp, then the end line; lineno is the
 * line number of buf[pos]. */
static int parse_records(struct lt_algo_store *tmp, const char *buf, size_t len, size_t pos,
                         size_t lineno, const char *name, char *err, size_t errlen)
{
    size_t kb = tmp->id.key_bytes, bb = tmp->id.blob_bytes;
    size_t rec_len = 2 * kb + 1 + 2 * bb; /* newline excluded */
    unsigned char *rec = malloc(tmp->rec_bytes);
    uint64_t sum = FNV64_OFFSET;
    int rc = PICTOR_E_FORMAT;

    if (!rec) {
        snprintf(err, errlen, "%s: out of memory", name);
        return PICTOR_E_NOMEM;
    }
    for (;; lineno++) {
        const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;

        if (pos == len) {
            snprintf(err, errlen, "%s: truncated: no end line after %zu records", name,
                     tmp->count);
            goto out;
        }
        if (!nl) {
            snprintf(err, errlen, "%s: truncated in line %zu", name, lineno);
            goto out;
        }
        if (n >= 4 && memcmp(line, "end ", 4) == 0) {
            if ((rc = check_end(name, line, n, tmp->count, sum, err, errlen)))
                goto out;
            if (pos + n + 1 != len) {
                snprintf(err, errlen, "%s: data after the end line", name);
                rc = PICTOR_E_FORMAT;
            }
            goto out;
        }
        if (n != rec_len || line[2 * kb] != ' ' || !hex_decode(line, kb, rec) ||
            !hex_decode(line + 2 * kb + 1, bb, rec + kb)) {
            snprintf(err, errlen, "%s: line %zu is not a record of %zu + %zu bytes in hex",
                     name, lineno, kb, bb);
            goto out;
        }
        if (lt_algo_store_get(tmp, rec)) {
            snprintf(err, errlen, "%s: line %zu: a key stored twice", name, lineno);
            goto out;
        }
        if (tmp->count >= tmp->max_entries) {
            snprintf(err, errlen, "%s: more than %zu records", name, tmp->max_entries);
            goto out;
        }
        if (lt_store_append(tmp, rec, rec + kb)) {
            snprintf(err, errlen, "%s: out of memory", name);
            rc = PICTOR_E_NOMEM;
            goto out;
        }
        sum = lt_store_fnv1a(sum, line, n + 1);
        pos += n + 1;
    }
out:
    free(rec);
    return rc;
}

int lt_algo_store_parse(struct lt_algo_store *s, const char *buf, size_t len,
                        const char *name, char *err, size_t errlen)
{
    const char *nl = memchr(buf, '\n', len);
    size_t hlen = nl ? (size_t)(nl - buf) : len;
    struct lt_algo_store *tmp;
    int rc;

    if (len == 0) {
        snprintf(err, errlen, "%s: empty file", name);
        return PICTOR_E_FORMAT;
    }
    if (hlen != strlen(s->header) || memcmp(buf, s->header, hlen) != 0) {
        header_mismatch(name, buf, hlen, s->header, err, errlen);
        return PICTOR_E_FORMAT;
    }
    if (!nl) {
        snprintf(err, errlen, "%s: truncated in line 1", name);
        return PICTOR_E_FORMAT;
    }
    /* Records go to a scratch store first: all or nothing. */
    tmp = lt_algo_store_create(&s->id, s->max_entries);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", name);
        return PICTOR_E_NOMEM;
    }
    rc = parse_records(tmp, buf, len, hlen + 1, 2, name, err, errlen);
    if (!rc && (rc = merge(s, tmp)))
        snprintf(err, errlen, "%s: out of memory", name);
    lt_algo_store_destroy(tmp);
    return rc;
}

int lt_algo_store_load(struct lt_algo_store *s, const char *path, char *err, size_t errlen)
{
    /* The largest file max_entries records make, plus slack. */
    size_t limit = STORE_HEADER_MAX + STORE_END_MAX +
                   s->max_entries * (2 * s->rec_bytes + 2);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int rc;

    if (fd < 0) {
        if (errno == ENOENT)
            return PICTOR_E_NOT_FOUND;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return PICTOR_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        rc = PICTOR_E_IO;
        goto out;
    }
    if ((uint64_t)st.st_size > (uint64_t)limit) {
        snprintf(err, errlen, "%s: %lld bytes, more than %zu records can fill", path,
                 (long long)st.st_size, s->max_entries);
        rc = PICTOR_E_FORMAT;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            rc = PICTOR_E_IO;
            goto out;
        }
        if (r == 0)
            break; /* shrank meanwhile: parse what is there */
        got += (size_t)r;
    }
    rc = lt_algo_store_parse(s, buf, got, path, err, errlen);
    if (rc == PICTOR_OK && got == (size_t)st.st_size) {
        s->disk = st;
        s->disk_known = true;
    }
out:
    free(buf);
    close(fd);
    return rc;
}
