/* plugins/common/tok_util.c — see tok_util.h. */
#include "tok_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pictor/status.h"

int tok_read_file(const char *path, char **out, size_t *len, char *err,
                  size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;
    int rc = PICTOR_E_IO;
    *out = NULL;
    *len = 0;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? PICTOR_E_NOT_FOUND : PICTOR_E_IO;
    }
    if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        snprintf(err, errlen, "%s: cannot determine size", path);
        goto out;
    }
    if ((unsigned long)sz > TOK_MAX_FILE) {
        snprintf(err, errlen, "%s: %ld bytes, larger than %u", path, sz, TOK_MAX_FILE);
        goto out;
    }
    if (!(buf = malloc((size_t)sz + 1))) {
        rc = PICTOR_E_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        snprintf(err, errlen, "%s: read error", path);
        goto out;
    }
    buf[sz] = '\0';
    *out = buf;
    *len = (size_t)sz;
    buf = NULL;
    rc = PICTOR_OK;
out:
    free(buf);
    fclose(f);
    return rc;
}

int tok_utf8_decode(const char *text, size_t len, int32_t **cps, size_t *n)
{
    const uint8_t *s = (const uint8_t *)text;
    int32_t *o = malloc((len ? len : 1) * sizeof *o);
    size_t k = 0, i = 0;
    *cps = NULL;
    *n = 0;
    if (!o)
        return PICTOR_E_NOMEM;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t r = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &c);
        if (r <= 0) {
            o[k++] = 0xFFFD; /* U+FFFD REPLACEMENT CHARACTER */
            i++;
        } else {
            o[k++] = c;
            i += (size_t)r;
        }
    }
    *cps = o;
    *n = k;
    return PICTOR_OK;
}

int tok_buf_put(struct tok_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return PICTOR_E_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return PICTOR_OK;
}

int tok_buf_put_cp(struct tok_buf *b, int32_t c)
{
    uint8_t u[4];
    utf8proc_ssize_t k = utf8proc_encode_char(c, u);
    return tok_buf_put(b, (const char *)u, (size_t)k);
}

void tok_buf_free(struct tok_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

bool tok_is_white_space(int32_t c)
{
    if ((c >= 0x09 && c <= 0x0D) || c == 0x85)
        return true;
    if (c < 0x20 || c > 0x10FFFF)
        return false;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP;
}

/* FNV-1a, 64-bit (http://www.isthe.com/chongo/tech/comp/fnv/). */
static uint64_t hash_bytes(const char *k, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
    return h;
}

/* splitmix64 finaliser (Steele et al., "Fast splittable PRNGs"). */
static uint64_t hash_u64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n * 2) /* load factor <= 1/2 */
        c *= 2;
    return c;
}

int tok_strmap_init(struct tok_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expected);
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->klen = calloc(m->cap, sizeof *m->klen);
    m->vals = calloc(m->cap, sizeof *m->vals);
    if (!m->keys || !m->klen || !m->vals) {
        tok_strmap_free(m);
        return PICTOR_E_NOMEM;
    }
    return PICTOR_OK;
}

static size_t strmap_slot(const struct tok_strmap *m, const char *k, size_t n)
{
    size_t i = (size_t)hash_bytes(k, n) & (m->cap - 1);
    while (m->keys[i] && !(m->klen[i] == n && memcmp(m->keys[i], k, n) == 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int strmap_grow(struct tok_strmap *m)
{
    struct tok_strmap g;
    if (tok_strmap_init(&g, m->cap))
        return PICTOR_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = strmap_slot(&g, m->keys[i], m->klen[i]);
        g.keys[j] = m->keys[i];
        g.klen[j] = m->klen[i];
        g.vals[j] = m->vals[i];
        g.n++;
    }
    free(m->keys);
    free(m->klen);
    free(m->vals);
    *m = g;
    return PICTOR_OK;
}

int tok_strmap_put(struct tok_strmap *m, const char *k, size_t klen, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap && strmap_grow(m))
        return PICTOR_E_NOMEM;
    size_t i = strmap_slot(m, k, klen);
    if (!m->keys[i]) {
        char *c = malloc(klen + 1);
        if (!c)
            return PICTOR_E_NOMEM;
        memcpy(c, k, klen);
        c[klen] = '\0';
        m->keys[i] = c;
        m->klen[i] = klen;
        m->n++;
    }
    m->vals[i] = v;
    return PICTOR_OK;
}

int32_t tok_strmap_get(const struct tok_strmap *m, const char *k, size_t klen)
{
    if (!m->cap)
        return -1;
    size_t i = strmap_slot(m, k, klen);
    return m->keys[i] ? m->vals[i] : -1;
}

void tok_strmap_free(struct tok_strmap *m)
{
    if (m->keys)
        for (size_t i = 0; i < m->cap; i++)
            free(m->keys[i]);
    free(m->keys);
    free(m->klen);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

int tok_u64map_init(struct tok_u64map *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->cap = pow2_at_least(expected);
    m->keys = malloc(m->cap * sizeof *m->keys);
    m->vals = malloc(m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        tok_u64map_free(m);
        return PICTOR_E_NOMEM;
    }
    memset(m->keys, 0xff, m->cap * sizeof *m->keys); /* UINT64_MAX = empty */
    return PICTOR_OK;
}

static size_t u64_slot(const struct tok_u64map *m, uint64_t k)
{
    size_t i = (size_t)hash_u64(k) & (m->cap - 1);
    while (m->keys[i] != UINT64_MAX && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

int tok_u64map_put(struct tok_u64map *m, uint64_t k, uint64_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct tok_u64map g;
        if (tok_u64map_init(&g, m->cap))
            return PICTOR_E_NOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != UINT64_MAX) {
                size_t j = u64_slot(&g, m->keys[i]);
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
                g.n++;
            }
        tok_u64map_free(m);
        *m = g;
    }
    size_t i = u64_slot(m, k);
    if (m->keys[i] == UINT64_MAX)
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
    return PICTOR_OK;
}

bool tok_u64map_get(const struct tok_u64map *m, uint64_t k, uint64_t *v)
{
    if (!m->cap)
        return false;
    size_t i = u64_slot(m, k);
    if (m->keys[i] == UINT64_MAX)
        return false;
    *v = m->vals[i];
    return true;
}

void tok_u64map_free(struct tok_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

bool tok_find_added(const char *text, size_t len, size_t from,
                    const struct tok_added *toks, size_t n, bool normalized,
                    size_t *at, size_t *which)
{
    for (size_t p = from; p < len; p++) {
        size_t best = n, best_len = 0;
        for (size_t k = 0; k < n; k++) {
            const struct tok_added *t = &toks[k];
            if (t->normalized != normalized || t->len == 0 || t->len > len - p ||
                t->len <= best_len)
                continue;
            if (memcmp(text + p, t->s, t->len) == 0) {
                best = k;
                best_len = t->len;
            }
        }
        if (best < n) {
            *at = p;
            *which = best;
            return true;
        }
    }
    return false;
}

int tok_ids_push(struct tok_ids *v, int32_t id)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 128;
        int32_t *p = realloc(v->p, cap * sizeof *p);
        if (!p)
            return PICTOR_E_NOMEM;
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = id;
    return PICTOR_OK;
}
