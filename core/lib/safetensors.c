/*
 * core/lib/safetensors.c — see pictor/safetensors.h. Parsing goes in three
 * passes over the header: json-c (syntax, UTF-8), a raw scan of the
 * top-level keys (duplicates and \u0000, which json-c hides), then one
 * check per tensor; a last pass sorts by offset to find overlaps.
 */
#include "pictor/safetensors.h"
#include "pictor/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pictor/jsonutil.h"
#include "pictor/tensor_util.h"

#define ST_LEN_BYTES 8       /* the u64 header length */
#define ST_COPY_ALIGN 64     /* alignment of private copies (cache line) */

/* Where zero-size tensors point: non-NULL, aligned, never read. */
static _Alignas(ST_COPY_ALIGN) const uint8_t st_empty[ST_COPY_ALIGN];

struct st_entry {
    const char *name;       /* key string owned by root */
    const char *dtype_name; /* owned by root */
    int dtype;              /* enum pictor_dtype, -1 known but unsupported */
    unsigned elsize;
    int ndim;
    int64_t shape[PICTOR_MAX_DIMS];
    uint64_t numel, begin, end; /* begin/end relative to the data section */
    bool misaligned;
    void *copy; /* aligned private copy, made on first find (under lock) */
};

struct pictor_st {
    char *path;
    void *map;              /* owned mapping (NULL when borrowed) */
    size_t map_len;
    const uint8_t *data;    /* data section */
    uint64_t data_len;
    uint64_t data_offset;   /* 8 + N */
    struct json_object *root;
    struct json_object *meta; /* "__metadata__" inside root, or NULL */
    struct st_entry *e;     /* sorted by name */
    size_t n;
    pthread_mutex_t lock;
};

static const struct st_dtype {
    const char *name;
    int dtype;
    unsigned size;
} st_dtypes[] = {
    {"F32", PICTOR_F32, 4},         {"F16", PICTOR_F16, 2},
    {"BF16", PICTOR_BF16, 2},       {"F8_E4M3", PICTOR_F8_E4M3, 1},
    {"F8_E5M2", PICTOR_F8_E5M2, 1}, {"I32", PICTOR_I32, 4},
    {"I64", PICTOR_I64, 8},
    /* known to safetensors, listed but not served */
    {"F64", -1, 8}, {"BOOL", -1, 1}, {"U8", -1, 1}, {"I8", -1, 1},
    {"I16", -1, 2}, {"U16", -1, 2}, {"U32", -1, 4}, {"U64", -1, 8},
};

/* ---- raw scan of top-level keys ------------------------------------------ */

struct raw_key {
    const char *p; /* first byte after the opening quote */
    size_t n;      /* raw (still escaped) length */
};

static int raw_key_cmp(const void *a, const void *b)
{
    const struct raw_key *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Scans syntactically valid JSON text: collects the keys of the top-level
 * object into keys (capacity cap; *nkeys counts all of them) and reports
 * whether any string holds the escape \u0000. */
static void raw_scan(const char *s, size_t len, struct raw_key *keys, size_t cap,
                     size_t *nkeys, bool *has_nul)
{
    int depth = 0;
    char last = 0; /* last structural character outside strings */
    *nkeys = 0;
    *has_nul = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\') {
                    if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                        *has_nul = true;
                    i++;
                }
                i++;
            }
            if (depth == 1 && (last == '{' || last == ',')) {
                if (*nkeys < cap)
                    keys[*nkeys] = (struct raw_key){s + start, i - start};
                (*nkeys)++;
            }
            last = '"';
        } else if (c == '{' || c == '[') {
            depth++;
            last = c;
        } else if (c == '}' || c == ']') {
            depth--;
            last = c;
        } else if (c == ',' || c == ':') {
            last = c;
        }
    }
}

static int check_unique(const char *label, const char *hdr, size_t len, size_t nobj,
                        char *err, size_t errlen)
{
    size_t nkeys;
    bool has_nul;
    raw_scan(hdr, len, NULL, 0, &nkeys, &has_nul); /* count only */
    if (has_nul)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: header holds a string with an escaped NUL (\\u0000)", label);
    if (nkeys == nobj)
        return PICTOR_OK;
    /* json-c dropped duplicates: collect the raw keys to name one. */
    struct raw_key *keys = malloc(nkeys * sizeof *keys);
    if (!keys)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", label);
    raw_scan(hdr, len, keys, nkeys, &nkeys, &has_nul);
    qsort(keys, nkeys, sizeof *keys, raw_key_cmp);
    size_t i = 1;
    while (i < nkeys && raw_key_cmp(&keys[i - 1], &keys[i]) != 0)
        i++;
    int rc;
    if (i < nkeys)
        rc = pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: tensor '%.*s' is listed twice", label,
                  (int)keys[i].n, keys[i].p);
    else
        rc = pictor_fail(err, errlen, PICTOR_E_FORMAT,
                  "%s: duplicate tensor names (written with different escapes)", label);
    free(keys);
    return rc;
}

/* ---- one tensor entry ------------------------------------------------------ */

static bool json_u64(struct json_object *v, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v); /* saturates above INT64_MAX */
    if (x < 0)
        return false;
    *out = (uint64_t)x;
    return true;
}

static int parse_shape(const char *label, const char *name, struct json_object *arr,
                       struct st_entry *e, char *err, size_t errlen)
{
    if (!arr || !json_object_is_type(arr, json_type_array))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': \"shape\" missing or not an array", label, name);
    size_t nd = json_object_array_length(arr);
    if (nd > PICTOR_MAX_DIMS)
        return pictor_fail(err, errlen, PICTOR_E_UNSUPPORTED,
                    "%s: tensor '%s': %zu dimensions, pictor supports at most %d", label, name,
                    nd, PICTOR_MAX_DIMS);
    e->ndim = (int)nd;
    e->numel = 1;
    for (size_t d = 0; d < nd; d++) {
        struct json_object *v = json_object_array_get_idx(arr, d);
        uint64_t dim;
        if (!json_u64(v, &dim))
            return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                        "%s: tensor '%s': shape[%zu] is %s, not an integer >= 0", label,
                        name, d, json_object_to_json_string(v));
        e->shape[d] = (int64_t)dim;
        if (__builtin_mul_overflow(e->numel, dim, &e->numel))
            return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                        "%s: tensor '%s': element count overflows 64 bits", label, name);
    }
    return PICTOR_OK;
}

static int parse_entry(const char *label, const char *name, struct json_object *v,
                       uint64_t data_len, struct st_entry *e, char *err, size_t errlen)
{
    struct json_object *dt = NULL, *shape = NULL, *offs = NULL;
    if (!json_object_is_type(v, json_type_object))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: tensor '%s': entry is not an object",
                    label, name);
    e->name = name;
    json_object_object_get_ex(v, "dtype", &dt);
    json_object_object_get_ex(v, "shape", &shape);
    json_object_object_get_ex(v, "data_offsets", &offs);
    if (!dt || !json_object_is_type(dt, json_type_string))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': \"dtype\" missing or not a string", label, name);
    e->dtype_name = json_object_get_string(dt);
    const struct st_dtype *d = NULL;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, e->dtype_name) == 0)
            d = &st_dtypes[i];
    if (!d)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': unknown dtype '%s' (pictor reads F32 F16 BF16 F8_E4M3 "
                    "F8_E5M2 I32 I64)",
                    label, name, e->dtype_name);
    e->dtype = d->dtype;
    e->elsize = d->size;
    int rc = parse_shape(label, name, shape, e, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    if (!offs || !json_object_is_type(offs, json_type_array) ||
        json_object_array_length(offs) != 2 ||
        !json_u64(json_object_array_get_idx(offs, 0), &e->begin) ||
        !json_u64(json_object_array_get_idx(offs, 1), &e->end))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': \"data_offsets\" must be [begin, end] of integers >= 0",
                    label, name);
    if (e->begin > e->end)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", label,
                    name, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > data_len)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': data_offsets [%llu, %llu] run past the data section "
                    "(%llu bytes; file truncated?)",
                    label, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)data_len);
    uint64_t want;
    if (__builtin_mul_overflow(e->numel, (uint64_t)e->elsize, &want))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': byte size of %llu %s elements overflows 64 bits", label,
                    name, (unsigned long long)e->numel, e->dtype_name);
    if (want != e->end - e->begin)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: tensor '%s': %llu elements of %s need %llu bytes but data_offsets "
                    "[%llu, %llu] hold %llu",
                    label, name, (unsigned long long)e->numel, e->dtype_name,
                    (unsigned long long)want, (unsigned long long)e->begin,
                    (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
    return PICTOR_OK;
}

static int check_metadata(const char *label, struct json_object *meta, char *err,
                          size_t errlen)
{
    if (!json_object_is_type(meta, json_type_object))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: \"__metadata__\" is not an object",
                    label);
    json_object_object_foreach(meta, k, v) {
        if (!json_object_is_type(v, json_type_string))
            return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                        "%s: \"__metadata__\" value of '%s' is not a string", label, k);
    }
    return PICTOR_OK;
}

/* ---- whole header ---------------------------------------------------------- */

static int entry_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct st_entry *)a)->name, ((const struct st_entry *)b)->name);
}

static int entry_span_cmp(const void *a, const void *b)
{
    const struct st_entry *x = *(const struct st_entry *const *)a;
    const struct st_entry *y = *(const struct st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int check_overlaps(struct pictor_st *st, char *err, size_t errlen)
{
    struct st_entry **by = malloc((st->n ? st->n : 1) * sizeof *by);
    if (!by)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", st->path);
    size_t m = 0;
    for (size_t i = 0; i < st->n; i++)
        if (st->e[i].end > st->e[i].begin)
            by[m++] = &st->e[i];
    qsort(by, m, sizeof *by, entry_span_cmp);
    int rc = PICTOR_OK;
    for (size_t i = 1; i < m && rc == PICTOR_OK; i++)
        if (by[i]->begin < by[i - 1]->end)
            rc = pictor_fail(err, errlen, PICTOR_E_FORMAT,
                      "%s: tensor '%s' [%llu, %llu] overlaps tensor '%s' [%llu, %llu]",
                      st->path, by[i]->name, (unsigned long long)by[i]->begin,
                      (unsigned long long)by[i]->end, by[i - 1]->name,
                      (unsigned long long)by[i - 1]->begin,
                      (unsigned long long)by[i - 1]->end);
    free(by);
    return rc;
}

/* Validates the image buf[0..len) into st (path already set). */
static int parse_image(struct pictor_st *st, const uint8_t *buf, size_t len, char *err,
                       size_t errlen)
{
    const char *label = st->path;
    if (len < ST_LEN_BYTES)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: %zu bytes, shorter than the 8-byte header length", label, len);
    uint64_t n = 0;
    for (int i = 0; i < ST_LEN_BYTES; i++)
        n |= (uint64_t)buf[i] << (8 * i);
    if (n > PICTOR_ST_MAX_HEADER)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: header length %llu exceeds the %llu-byte limit", label,
                    (unsigned long long)n, PICTOR_ST_MAX_HEADER);
    if (n > len - ST_LEN_BYTES)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                    "%s: header length %llu runs past the end of the %zu-byte file", label,
                    (unsigned long long)n, len);
    const char *hdr = (const char *)buf + ST_LEN_BYTES;
    if (memchr(hdr, '\0', n))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: header holds a NUL byte", label);
    int rc = pictor_json_parse(hdr, n, label, &st->root, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    if (!json_object_is_type(st->root, json_type_object))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: header is JSON but not an object",
                    label);
    size_t nobj = (size_t)json_object_object_length(st->root);
    rc = check_unique(label, hdr, n, nobj, err, errlen);
    if (rc != PICTOR_OK)
        return rc;

    st->data_offset = ST_LEN_BYTES + n;
    st->data = buf + st->data_offset;
    st->data_len = len - st->data_offset;
    st->e = calloc(nobj ? nobj : 1, sizeof *st->e);
    if (!st->e)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", label);
    json_object_object_foreach(st->root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            rc = check_metadata(label, val, err, errlen);
            st->meta = val;
        } else {
            rc = parse_entry(label, key, val, st->data_len, &st->e[st->n], err, errlen);
            st->n++;
        }
        if (rc != PICTOR_OK)
            return rc;
    }
    qsort(st->e, st->n, sizeof *st->e, entry_name_cmp);
    for (size_t i = 0; i < st->n; i++) {
        uintptr_t at = (uintptr_t)(st->data + st->e[i].begin);
        st->e[i].misaligned = st->e[i].end > st->e[i].begin && at % st->e[i].elsize != 0;
    }
    return check_overlaps(st, err, errlen);
}

static struct pictor_st *st_new(const char *label)
{
    struct pictor_st *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->path = strdup(label);
    if (!st->path) {
        free(st);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    return st;
}

void pictor_st_close(struct pictor_st *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->e[i].copy);
    free(st->e);
    json_object_put(st->root);
    if (st->map)
        munmap(st->map, st->map_len);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

int pictor_st_parse_header(const uint8_t *buf, size_t len, const char *label,
                           struct pictor_st **out, char *err, size_t errlen)
{
    const char *lbl = label ? label : "(memory)";
    struct pictor_st *st = st_new(lbl);
    if (!st)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", lbl);
    int rc = parse_image(st, buf, len, err, errlen);
    if (rc != PICTOR_OK || !out)
        pictor_st_close(st);
    else
        *out = st;
    return rc;
}

int pictor_st_open(const char *path, struct pictor_st **out, char *err, size_t errlen)
{
    int rc;
    struct pictor_st *st = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: not a regular file", path);
        goto out_fd;
    }
    st = st_new(path);
    if (!st) {
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", path);
        goto out_fd;
    }
    size_t len = (size_t)sb.st_size;
    if (len >= ST_LEN_BYTES) {
        void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: cannot map %zu bytes: %s", path, len,
                      strerror(errno));
            goto out_st;
        }
        st->map = map;
        st->map_len = len;
    }
    /* Short files reach parse_image with no mapping, for its message. */
    static const uint8_t none[1];
    rc = parse_image(st, st->map ? st->map : none, len, err, errlen);
    if (rc != PICTOR_OK)
        goto out_st;
    *out = st;
    st = NULL;
out_st:
    pictor_st_close(st);
out_fd:
    close(fd);
    return rc;
}

/* ---- queries ------------------------------------------------------------- */

const char *pictor_st_path(const struct pictor_st *st)
{
    return st->path;
}

size_t pictor_st_count(const struct pictor_st *st)
{
    return st->n;
}

const char *pictor_st_name(const struct pictor_st *st, size_t i)
{
    return i < st->n ? st->e[i].name : NULL;
}

size_t pictor_st_index(const struct pictor_st *st, const char *name)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->e[mid].name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (size_t)-1;
}

int pictor_st_info(const struct pictor_st *st, size_t i, struct pictor_st_info *out)
{
    if (i >= st->n)
        return PICTOR_E_NOT_FOUND;
    const struct st_entry *e = &st->e[i];
    memset(out, 0, sizeof *out);
    out->name = e->name;
    out->dtype_name = e->dtype_name;
    out->dtype = e->dtype;
    out->ndim = e->ndim;
    memcpy(out->shape, e->shape, sizeof out->shape);
    out->numel = e->numel;
    out->offset = st->data_offset + e->begin;
    out->nbytes = e->end - e->begin;
    return PICTOR_OK;
}

int pictor_st_find(const struct pictor_st *cst, const char *name, pictor_tensor *out)
{
    /* The lazy copy is the one mutable part; the lock guards it. */
    struct pictor_st *st = (struct pictor_st *)cst;
    size_t i = pictor_st_index(st, name);
    if (i == (size_t)-1)
        return PICTOR_E_NOT_FOUND;
    struct st_entry *e = &st->e[i];
    if (e->dtype < 0)
        return PICTOR_E_UNSUPPORTED;
    void *data = (void *)(e->end > e->begin ? st->data + e->begin : st_empty);
    if (e->misaligned) {
        size_t nbytes = (size_t)(e->end - e->begin);
        pthread_mutex_lock(&st->lock);
        if (!e->copy) {
            size_t cap = (nbytes + ST_COPY_ALIGN - 1) / ST_COPY_ALIGN * ST_COPY_ALIGN;
            e->copy = aligned_alloc(ST_COPY_ALIGN, cap);
            if (e->copy)
                memcpy(e->copy, data, nbytes);
        }
        data = e->copy;
        pthread_mutex_unlock(&st->lock);
        if (!data)
            return PICTOR_E_NOMEM;
    }
    *out = pictor_tensor_make(data, e->dtype, e->ndim, e->shape);
    return PICTOR_OK;
}

const char *pictor_st_metadata(const struct pictor_st *st, const char *key)
{
    return st->meta ? pictor_json_str(st->meta, key) : NULL;
}
