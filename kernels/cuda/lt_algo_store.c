/*
 * kernels/cuda/lt_algo_store.c — cuBLASLt algorithm choices in a file
 * (lt_algo_store.h): records in insertion order in one array, an open-
 * addressing index over them (no deletion, so no tombstones), the text
 * format's reader and writer, the locked atomic save.
 */
#include "lt_algo_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pictor/status.h"

/* Line 1's first word. */
#define STORE_MAGIC "pictor-cublaslt-algos"
/* First index size (slots); doubles to keep the load at or below 1/2. */
#define STORE_MIN_SLOTS 16
/* FNV-1a 64-bit parameters (Fowler, Noll, Vo; IETF draft-eastlake-fnv). */
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
/* Line 1 is at most this long: fixed words plus the name. */
#define STORE_HEADER_MAX (LT_ALGO_STORE_NAME_MAX + 256)
/* The end line: "end " + a count + " " + 16 hex digits + "\n". */
#define STORE_END_MAX 64

struct lt_algo_store {
    struct lt_algo_store_id id; /* id.gpu_name points at name */
    char name[LT_ALGO_STORE_NAME_MAX + 1];
    char header[STORE_HEADER_MAX]; /* line 1 without its newline */
    size_t max_entries, rec_bytes; /* rec_bytes = key_bytes + blob_bytes */
    size_t count, cap;             /* records stored, allocated */
    unsigned char *recs;           /* cap * rec_bytes: key then blob */
    size_t slots;                  /* power of two */
    size_t *index;                 /* slots; 0 empty, else record + 1 */
    bool dirty;
    bool disk_known;               /* disk: the file as last loaded or saved */
    struct stat disk;
};

/* Whether st is the file this store last loaded or saved (same inode,
 * size and time: nobody replaced it since; a save always makes a new
 * inode, so another writer's save shows). */
static bool same_file(const struct lt_algo_store *s, const struct stat *st)
{
    return s->disk_known && st->st_dev == s->disk.st_dev && st->st_ino == s->disk.st_ino &&
           st->st_size == s->disk.st_size && st->st_mtim.tv_sec == s->disk.st_mtim.tv_sec &&
           st->st_mtim.tv_nsec == s->disk.st_mtim.tv_nsec;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV64_PRIME;
    }
    return h;
}

static bool name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

struct lt_algo_store *lt_algo_store_create(const struct lt_algo_store_id *id,
                                           size_t max_entries)
{
    struct lt_algo_store *s;
    char clean[LT_ALGO_STORE_NAME_MAX + 1];
    size_t n;

    if (!id || !id->gpu_name || !id->key_bytes || !id->blob_bytes || !max_entries)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = *id;
    snprintf(s->name, sizeof s->name, "%s", id->gpu_name);
    s->id.gpu_name = s->name;
    n = strlen(s->name);
    for (size_t i = 0; i <= n; i++) /* the NUL too */
        clean[i] = i == n || name_byte_ok((unsigned char)s->name[i]) ? s->name[i] : '_';
    snprintf(s->header, sizeof s->header,
             "%s %d gpu=%s cc=%d.%d sms=%d cublaslt=%llu layout=%u key=%zu blob=%zu",
             STORE_MAGIC, LT_ALGO_STORE_FORMAT, clean, id->cc_major, id->cc_minor,
             id->sm_count, (unsigned long long)id->lib_version, (unsigned)id->layout,
             id->key_bytes, id->blob_bytes);
    s->max_entries = max_entries;
    s->rec_bytes = id->key_bytes + id->blob_bytes;
    s->slots = STORE_MIN_SLOTS;
    s->index = calloc(s->slots, sizeof *s->index);
    if (!s->index) {
        free(s);
        return NULL;
    }
    return s;
}

void lt_algo_store_destroy(struct lt_algo_store *s)
{
    if (!s)
        return;
    free(s->recs);
    free(s->index);
    free(s);
}

/* ---- the map ------------------------------------------------------------- */

static const unsigned char *rec_at(const struct lt_algo_store *s, size_t i)
{
    return s->recs + i * s->rec_bytes;
}

/* Index slot holding key, or the empty slot where it would go. */
static size_t find_slot(const struct lt_algo_store *s, const void *key)
{
    size_t mask = s->slots - 1;
    size_t i = (size_t)fnv1a(FNV64_OFFSET, key, s->id.key_bytes) & mask;

    while (s->index[i] && memcmp(rec_at(s, s->index[i] - 1), key, s->id.key_bytes) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Doubles the index and re-inserts every record. */
static int grow_index(struct lt_algo_store *s)
{
    size_t *old = s->index, old_slots = s->slots;

    s->index = calloc(old_slots * 2, sizeof *s->index);
    if (!s->index) {
        s->index = old;
        return PICTOR_E_NOMEM;
    }
    s->slots = old_slots * 2;
    for (size_t i = 0; i < s->count; i++)
        s->index[find_slot(s, rec_at(s, i))] = i + 1;
    free(old);
    return PICTOR_OK;
}

const void *lt_algo_store_get(const struct lt_algo_store *s, const void *key)
{
    size_t slot = find_slot(s, key);

    return s->index[slot] ? rec_at(s, s->index[slot] - 1) + s->id.key_bytes : NULL;
}

/* Appends a record for a key the store lacks (room checked by callers). */
static int append(struct lt_algo_store *s, const void *key, const void *blob)
{
    unsigned char *r;

    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : STORE_MIN_SLOTS;
        unsigned char *recs = realloc(s->recs, cap * s->rec_bytes);

        if (!recs)
            return PICTOR_E_NOMEM;
        s->recs = recs;
        s->cap = cap;
    }
    if ((s->count + 1) * 2 > s->slots && grow_index(s))
        return PICTOR_E_NOMEM;
    r = s->recs + s->count * s->rec_bytes;
    memcpy(r, key, s->id.key_bytes);
    memcpy(r + s->id.key_bytes, blob, s->id.blob_bytes);
    s->index[find_slot(s, key)] = ++s->count;
    return PICTOR_OK;
}

int lt_algo_store_put(struct lt_algo_store *s, const void *key, const void *blob)
{
    size_t slot = find_slot(s, key);
    int rc;

    if (s->index[slot]) {
        unsigned char *b = s->recs + (s->index[slot] - 1) * s->rec_bytes + s->id.key_bytes;

        if (memcmp(b, blob, s->id.blob_bytes) != 0) {
            memcpy(b, blob, s->id.blob_bytes);
            s->dirty = true;
        }
        return PICTOR_OK;
    }
    if (s->count >= s->max_entries)
        return PICTOR_E_NOMEM;
    if ((rc = append(s, key, blob)))
        return rc;
    s->dirty = true;
    return PICTOR_OK;
}

bool lt_algo_store_dirty(const struct lt_algo_store *s)
{
    return s->dirty;
}

size_t lt_algo_store_count(const struct lt_algo_store *s)
{
    return s->count;
}

/* ---- reading ------------------------------------------------------------- */

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
        const unsigned char *r = rec_at(tmp, i);

        if (!lt_algo_store_get(s, r) && (rc = append(s, r, r + s->id.key_bytes)))
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
        if (append(tmp, rec, rec + kb)) {
            snprintf(err, errlen, "%s: out of memory", name);
            rc = PICTOR_E_NOMEM;
            goto out;
        }
        sum = fnv1a(sum, line, n + 1);
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

/* ---- writing ------------------------------------------------------------- */

/* Writes the whole store to f; false on a write error. */
static bool write_all(const struct lt_algo_store *s, FILE *f)
{
    size_t kb = s->id.key_bytes, line_len = 2 * s->rec_bytes + 2;
    char *line = malloc(line_len);
    static const char digits[] = "0123456789abcdef";
    uint64_t sum = FNV64_OFFSET;
    bool ok = line != NULL;

    if (ok)
        ok = fprintf(f, "%s\n", s->header) > 0;
    for (size_t i = 0; ok && i < s->count; i++) {
        const unsigned char *r = rec_at(s, i);
        char *p = line;

        for (size_t j = 0; j < s->rec_bytes; j++) {
            if (j == kb)
                *p++ = ' ';
            *p++ = digits[r[j] >> 4];
            *p++ = digits[r[j] & 15];
        }
        *p++ = '\n';
        sum = fnv1a(sum, line, line_len);
        ok = fwrite(line, 1, line_len, f) == line_len;
    }
    if (ok)
        ok = fprintf(f, "end %zu %016llx\n", s->count, (unsigned long long)sum) > 0;
    free(line);
    return ok;
}

/* Writes the store to tmp (created or truncated), its stat into *st;
 * PICTOR_OK or E_IO. */
static int write_tmp(const struct lt_algo_store *s, const char *tmp, struct stat *st, char *err,
                     size_t errlen)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    FILE *f;
    bool ok;

    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return PICTOR_E_IO;
    }
    f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return PICTOR_E_IO;
    }
    ok = write_all(s, f) && fflush(f) == 0;
    if (!ok)
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    if (ok && fstat(fd, st) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fclose(f) != 0 && ok) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    return ok ? PICTOR_OK : PICTOR_E_IO;
}

int lt_algo_store_save(struct lt_algo_store *s, const char *path, char *err, size_t errlen)
{
    char lock[4200], tmp[4200], ignored[256];
    struct stat st;
    int fd, rc;

    if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return PICTOR_E_IO;
    }
    fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0644); /* flock needs no write */
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", lock, strerror(errno));
        return PICTOR_E_IO;
    }
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", lock, strerror(errno));
        close(fd);
        return PICTOR_E_IO;
    }
    /* What another writer saved meanwhile, unless the file is still the
     * one this store last read or wrote (a file that does not load is
     * replaced: its reason was reported when it was loaded). */
    if (stat(path, &st) != 0 || !same_file(s, &st))
        lt_algo_store_load(s, path, ignored, sizeof ignored);
    if (!(rc = write_tmp(s, tmp, &st, err, errlen))) {
        if (rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: cannot rename %s over it: %s", path, tmp,
                     strerror(errno));
            unlink(tmp);
            s->disk_known = false;
            rc = PICTOR_E_IO;
        } else {
            s->disk = st; /* rename keeps the inode, size and time */
            s->disk_known = true;
            s->dirty = false;
        }
    }
    close(fd); /* releases the lock */
    return rc;
}

int lt_algo_store_file_name(const char *dir, const char *gpu_name, int cc_major, int cc_minor,
                            char *out, size_t outlen)
{
    char clean[LT_ALGO_STORE_NAME_MAX + 1];
    size_t n = 0, dn = strlen(dir);
    bool gap = false;

    for (const char *p = gpu_name; *p && n + 2 < sizeof clean; p++) {
        if (!name_byte_ok((unsigned char)*p)) {
            gap = n > 0;
            continue;
        }
        if (gap)
            clean[n++] = '-';
        clean[n++] = *p;
        gap = false;
    }
    clean[n] = '\0';
    while (dn > 1 && dir[dn - 1] == '/')
        dn--;
    if (!dn || (size_t)snprintf(out, outlen, "%.*s/cublaslt-%s-sm%d%d.algos", (int)dn, dir,
                                n ? clean : "gpu", cc_major, cc_minor) >= outlen)
        return PICTOR_E_INVALID;
    return PICTOR_OK;
}
