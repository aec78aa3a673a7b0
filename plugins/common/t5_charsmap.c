/* plugins/common/t5_charsmap.c — see t5_charsmap.h. */
#include "t5_charsmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pictor/status.h"

/* tokenizers' Precompiled: clusters of this many bytes or more are looked up
 * per code point only. */
#define CHARSMAP_MAX_CLUSTER 6

int t5_charsmap_parse(struct t5_charsmap *m, const uint8_t *d, size_t len)
{
    memset(m, 0, sizeof *m);
    if (len < 4)
        return PICTOR_E_FORMAT;
    uint32_t trie = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
                    (uint32_t)d[3] << 24;
    if (trie % 4 || trie == 0 || trie > len - 4)
        return PICTOR_E_FORMAT;
    m->n_units = trie / 4;
    m->blob_len = len - 4 - trie;
    m->units = malloc(trie);
    m->blob = malloc(m->blob_len + 1);
    if (!m->units || !m->blob) {
        t5_charsmap_free(m);
        return PICTOR_E_NOMEM;
    }
    for (size_t i = 0; i < m->n_units; i++) {
        const uint8_t *u = d + 4 + 4 * i;
        m->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                      (uint32_t)u[3] << 24;
    }
    memcpy(m->blob, d + 4 + trie, m->blob_len);
    m->blob[m->blob_len] = '\0';
    return PICTOR_OK;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* RFC 4648 standard alphabet, '=' padding optional. */
int t5_charsmap_from_base64(struct t5_charsmap *m, const char *s, size_t len)
{
    uint8_t *d = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0, rc;
    if (!d)
        return PICTOR_E_NOMEM;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=')
            break;
        int v = b64_value((unsigned char)s[i]);
        if (v < 0) {
            free(d);
            return PICTOR_E_FORMAT;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[n++] = (uint8_t)(acc >> bits);
        }
    }
    rc = t5_charsmap_parse(m, d, n);
    free(d);
    return rc;
}

void t5_charsmap_free(struct t5_charsmap *m)
{
    free(m->units);
    free(m->blob);
    memset(m, 0, sizeof *m);
}

/* darts-clone unit fields (darts.h DoubleArrayUnit). */
static bool unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xff); }
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

/* Replacement of the shortest key that prefixes key[0..len), or NULL. */
static const char *first_prefix(const struct t5_charsmap *m, const uint8_t *key, size_t len)
{
    size_t pos = unit_offset(m->units[0]);
    for (size_t i = 0; i < len; i++) {
        if (key[i] == 0)
            return NULL;
        pos ^= key[i];
        if (pos >= m->n_units)
            return NULL;
        uint32_t u = m->units[pos];
        if (unit_label(u) != key[i])
            return NULL;
        pos ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (pos >= m->n_units)
                return NULL;
            uint32_t v = unit_value(m->units[pos]);
            return v < m->blob_len ? m->blob + v : NULL;
        }
    }
    return NULL;
}

int t5_charsmap_normalize(const struct t5_charsmap *m, const char *text, size_t len,
                          struct tok_buf *out)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t pos = 0;
    int rc = PICTOR_OK;
    out->len = 0;
    if ((rc = tok_buf_put(out, "", 0)))
        return rc;
    if (!m->units)
        return tok_buf_put(out, text, len);
    while (pos < len && !rc) {
        /* one extended grapheme cluster [pos, end) */
        utf8proc_int32_t c, prev;
        utf8proc_int32_t state = 0;
        size_t end = pos + (size_t)utf8proc_iterate(s + pos, (utf8proc_ssize_t)(len - pos), &prev);
        while (end < len) {
            utf8proc_ssize_t k = utf8proc_iterate(s + end, (utf8proc_ssize_t)(len - end), &c);
            if (utf8proc_grapheme_break_stateful(prev, c, &state))
                break;
            prev = c;
            end += (size_t)k;
        }
        const char *r;
        if (end - pos < CHARSMAP_MAX_CLUSTER && (r = first_prefix(m, s + pos, end - pos))) {
            rc = tok_buf_put(out, r, strlen(r));
        } else {
            for (size_t p = pos; p < end && !rc;) {
                size_t k = (size_t)utf8proc_iterate(s + p, (utf8proc_ssize_t)(end - p), &c);
                r = first_prefix(m, s + p, k);
                rc = r ? tok_buf_put(out, r, strlen(r)) : tok_buf_put(out, (const char *)s + p, k);
                p += k;
            }
        }
        pos = end;
    }
    return rc;
}
