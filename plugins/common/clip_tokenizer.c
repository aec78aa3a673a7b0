/* plugins/common/clip_tokenizer.c — CLIP byte-level BPE; the contract is in
 * pictor/clip_tokenizer.h. Sources: transformers 5.24
 * models/clip/tokenization_clip.py (normaliser, regex, BPE options) and
 * tokenizers 0.23 (BPE merge order, added-token splitting). */
#include "pictor/clip_tokenizer.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pictor/status.h"
#include "tok_util.h"

/* tokenizer_config.json model_max_length of every CLIP tokenizer in
 * MODELS.md §2.1. */
#define CLIP_DEFAULT_MAX_LENGTH 77
#define CLIP_EOW "</w>" /* BPE end_of_word_suffix */
#define CLIP_MAX_ADDED 64

struct pictor_clip_tokenizer {
    struct tok_strmap vocab;  /* token -> id */
    struct tok_u64map merges; /* (left id << 32 | right id) -> (rank << 32 | merged id) */
    int32_t byte_id[256];     /* byte-level symbol of each byte */
    int32_t byte_eow_id[256]; /* the same with </w> */
    int32_t bos, eos, unk, pad;
    int max_length;
    struct tok_added added[CLIP_MAX_ADDED];
    size_t n_added;
};

/* GPT-2 / CLIP bytes_to_unicode: printable bytes 33-126, 161-172, 174-255
 * keep their code point, the 68 others map to 256, 257, ... in byte order. */
static void bytes_to_unicode(int32_t cp[256])
{
    int32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        cp[b] = keep ? b : next++;
    }
}

static int load_vocab(struct pictor_clip_tokenizer *t, const char *path,
                      char *err, size_t errlen)
{
    char *text = NULL;
    size_t len;
    struct json_object *root = NULL;
    int rc = tok_read_file(path, &text, &len, err, errlen);
    if (rc)
        return rc;
    struct json_tokener *jt = json_tokener_new();
    if (!jt) {
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    root = json_tokener_parse_ex(jt, text, (int)len);
    if (!root || json_tokener_get_error(jt) != json_tokener_success ||
        !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a JSON object (token -> id)", path);
        rc = PICTOR_E_FORMAT;
        goto out;
    }
    if ((rc = tok_strmap_init(&t->vocab, (size_t)json_object_object_length(root))))
        goto out;
    json_object_object_foreach(root, key, val)
    {
        if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
            json_object_get_int64(val) > INT32_MAX) {
            snprintf(err, errlen, "%s: id of \"%.40s\" is not a non-negative integer",
                     path, key);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        if ((rc = tok_strmap_put(&t->vocab, key, strlen(key),
                                 (int32_t)json_object_get_int64(val))))
            goto out;
    }
out:
    if (jt)
        json_tokener_free(jt);
    json_object_put(root);
    free(text);
    if (rc == PICTOR_E_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    return rc;
}

static int load_merges(struct pictor_clip_tokenizer *t, const char *path,
                       char *err, size_t errlen)
{
    char *text = NULL, *line, *next;
    size_t len;
    int rc = tok_read_file(path, &text, &len, err, errlen);
    uint64_t rank = 0;
    int lineno = 0;
    if (rc)
        return rc;
    if ((rc = tok_u64map_init(&t->merges, 65536)))
        goto nomem;
    for (line = text; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0 || (lineno == 1 && strncmp(line, "#version", 8) == 0))
            continue;
        char *sp = strchr(line, ' ');
        if (!sp || sp == line || !sp[1] || strchr(sp + 1, ' ')) {
            snprintf(err, errlen, "%s line %d: expected \"left right\"", path, lineno);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        *sp = '\0';
        const char *l = line, *r = sp + 1;
        int32_t a = tok_strmap_get(&t->vocab, l, strlen(l));
        int32_t b = tok_strmap_get(&t->vocab, r, strlen(r));
        char joined[512];
        int jn = snprintf(joined, sizeof joined, "%s%s", l, r);
        int32_t m = jn > 0 && (size_t)jn < sizeof joined
                        ? tok_strmap_get(&t->vocab, joined, (size_t)jn)
                        : -1;
        if (a < 0 || b < 0 || m < 0) {
            /* tokenizers refuses such a model too ("merge token out of vocabulary") */
            snprintf(err, errlen, "%s line %d: \"%.40s\", \"%.40s\" or their merge is not in vocab.json",
                     path, lineno, l, r);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        if ((rc = tok_u64map_put(&t->merges, (uint64_t)a << 32 | (uint32_t)b,
                                 rank << 32 | (uint32_t)m)))
            goto nomem;
        rank++;
    }
    goto out;
nomem:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    free(text);
    return rc;
}

/* A special token given as "text" or {"content": "text", ...}. */
static const char *token_content(struct json_object *v)
{
    struct json_object *c;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_is_type(v, json_type_object) &&
        json_object_object_get_ex(v, "content", &c) && json_object_is_type(c, json_type_string))
        return json_object_get_string(c);
    return NULL;
}

static int add_token(struct pictor_clip_tokenizer *t, const char *s, int32_t id,
                     bool normalized)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (strcmp(t->added[i].s, s) == 0)
            return PICTOR_OK;
    if (t->n_added == CLIP_MAX_ADDED)
        return PICTOR_E_FORMAT;
    struct tok_added *a = &t->added[t->n_added];
    if (!(a->s = strdup(s)))
        return PICTOR_E_NOMEM;
    a->len = strlen(s);
    a->id = id;
    a->normalized = normalized;
    t->n_added++;
    return PICTOR_OK;
}

/* tokenizer_config.json, then special_tokens_map.json for what it lacks. */
static int load_config(struct pictor_clip_tokenizer *t, const char *dir, char *err,
                       size_t errlen)
{
    static const char *const names[2] = {"tokenizer_config.json", "special_tokens_map.json"};
    static const char *const keys[4] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    const char *vals[4] = {"<|startoftext|>", "<|endoftext|>", "<|endoftext|>", "<|endoftext|>"};
    char *store[4] = {0};
    bool set[4] = {0};
    struct json_object *root[2] = {0};
    char path[4096];
    int rc = PICTOR_OK;
    t->max_length = CLIP_DEFAULT_MAX_LENGTH;
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        char *text = NULL;
        size_t len;
        char ierr[16];
        if (tok_read_file(path, &text, &len, ierr, sizeof ierr))
            continue; /* optional file */
        root[f] = json_tokener_parse(text);
        free(text);
        if (!root[f] || !json_object_is_type(root[f], json_type_object)) {
            snprintf(err, errlen, "%s: not a JSON object", path);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        for (int k = 0; k < 4; k++) {
            struct json_object *v;
            if (set[k] || !json_object_object_get_ex(root[f], keys[k], &v) ||
                json_object_is_type(v, json_type_null))
                continue;
            const char *s = token_content(v);
            if (!s) {
                snprintf(err, errlen, "%s: %s is neither a string nor {\"content\": ...}",
                         path, keys[k]);
                rc = PICTOR_E_FORMAT;
                goto out;
            }
            if (!(store[k] = strdup(s))) {
                rc = PICTOR_E_NOMEM;
                goto out;
            }
            vals[k] = store[k];
            set[k] = true;
        }
    }
    struct json_object *v, *added;
    if (root[0] && json_object_object_get_ex(root[0], "model_max_length", &v) &&
        (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
        double d = json_object_get_double(v);
        /* transformers writes ~1e30 for "no limit" */
        if (d >= 2 && d <= INT_MAX)
            t->max_length = (int)d;
    }
    /* added_tokens_decoder: {"49406": {"content": ..., "normalized": ...}} */
    if (root[0] && json_object_object_get_ex(root[0], "added_tokens_decoder", &added) &&
        json_object_is_type(added, json_type_object)) {
        json_object_object_foreach(added, idkey, tokv)
        {
            struct json_object *nv;
            const char *s = token_content(tokv);
            char *end;
            long id = strtol(idkey, &end, 10);
            if (!s || *end || id < 0 || id > INT32_MAX) {
                snprintf(err, errlen, "%s/tokenizer_config.json: bad added_tokens_decoder entry \"%.20s\"",
                         dir, idkey);
                rc = PICTOR_E_FORMAT;
                goto out;
            }
            bool norm = json_object_object_get_ex(tokv, "normalized", &nv) &&
                        json_object_get_boolean(nv);
            if ((rc = add_token(t, s, (int32_t)id, norm)))
                goto out;
        }
    }
    int32_t *ids[4] = {&t->bos, &t->eos, &t->unk, &t->pad};
    for (int k = 0; k < 4; k++) {
        int32_t id = -1;
        for (size_t i = 0; i < t->n_added && id < 0; i++)
            if (strcmp(t->added[i].s, vals[k]) == 0)
                id = t->added[i].id;
        if (id < 0)
            id = tok_strmap_get(&t->vocab, vals[k], strlen(vals[k]));
        if (id < 0) {
            snprintf(err, errlen, "%s: %s \"%.40s\" is not in vocab.json", dir, keys[k], vals[k]);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        *ids[k] = id;
        /* special tokens not listed in added_tokens_decoder: matched on the raw text */
        if ((rc = add_token(t, vals[k], id, false)))
            goto out;
    }
out:
    if (rc == PICTOR_E_NOMEM)
        snprintf(err, errlen, "%s: out of memory reading the tokenizer config", dir);
    for (int k = 0; k < 4; k++)
        free(store[k]);
    json_object_put(root[0]);
    json_object_put(root[1]);
    return rc;
}

int pictor_clip_tokenizer_load(const char *dir, struct pictor_clip_tokenizer **out,
                               char *err, size_t errlen)
{
    char path[4096];
    int32_t cp[256];
    int rc;
    struct pictor_clip_tokenizer *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) {
        snprintf(err, errlen, "clip tokenizer: out of memory");
        return PICTOR_E_NOMEM;
    }
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    if ((rc = load_vocab(t, path, err, errlen)))
        goto fail;
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    if ((rc = load_merges(t, path, err, errlen)))
        goto fail;
    if ((rc = load_config(t, dir, err, errlen)))
        goto fail;
    bytes_to_unicode(cp);
    for (int b = 0; b < 256; b++) {
        char s[16];
        int n = (int)utf8proc_encode_char(cp[b], (utf8proc_uint8_t *)s);
        t->byte_id[b] = tok_strmap_get(&t->vocab, s, (size_t)n);
        memcpy(s + n, CLIP_EOW, sizeof CLIP_EOW);
        t->byte_eow_id[b] = tok_strmap_get(&t->vocab, s, (size_t)n + strlen(CLIP_EOW));
        if (t->byte_id[b] < 0)
            t->byte_id[b] = t->unk;
        if (t->byte_eow_id[b] < 0)
            t->byte_eow_id[b] = t->unk;
    }
    *out = t;
    return PICTOR_OK;
fail:
    pictor_clip_tokenizer_free(t);
    return rc;
}

void pictor_clip_tokenizer_free(struct pictor_clip_tokenizer *t)
{
    if (!t)
        return;
    tok_strmap_free(&t->vocab);
    tok_u64map_free(&t->merges);
    for (size_t i = 0; i < t->n_added; i++)
        free(t->added[i].s);
    free(t);
}

int pictor_clip_tokenizer_max_length(const struct pictor_clip_tokenizer *t)
{
    return t->max_length;
}

int64_t pictor_clip_tokenizer_pad_id(const struct pictor_clip_tokenizer *t)
{
    return t->pad;
}

/* ---- encoding ------------------------------------------------------------ */

/* Scratch for bpe(), sized for the longest pre-token of a text: symbols
 * as a linked list (sym -1 = merged away) and a min-heap of candidate
 * merges keyed (rank << 32 | left position). */
struct bpe_work {
    int32_t *sym, *next, *prev;
    uint64_t *heap; /* 3 x cap: cap - 1 initial pairs + 2 per merge */
    size_t cap;     /* bytes of the longest pre-token */
};

static int bpe_work_init(struct bpe_work *w, size_t len)
{
    len = len ? len : 1;
    w->cap = len;
    w->sym = malloc(len * sizeof *w->sym);
    w->next = malloc(len * sizeof *w->next);
    w->prev = malloc(len * sizeof *w->prev);
    w->heap = malloc(3 * len * sizeof *w->heap);
    return w->sym && w->next && w->prev && w->heap ? PICTOR_OK : PICTOR_E_NOMEM;
}

static void bpe_work_free(struct bpe_work *w)
{
    free(w->sym);
    free(w->next);
    free(w->prev);
    free(w->heap);
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (v <= h[c])
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

/* The merge of the pair (a, b): rank << 32 | merged id. */
static bool merge_of(const struct pictor_clip_tokenizer *t, int32_t a, int32_t b, uint64_t *v)
{
    return tok_u64map_get(&t->merges, (uint64_t)a << 32 | (uint32_t)b, v);
}

/* BPE over the bytes of one pre-token, as tokenizers' Word::merge_all: the
 * lowest-ranked adjacent pair merges first, ties leftmost first, so every
 * non-overlapping occurrence of a pair merges left to right before any
 * higher-ranked pair. A heap of candidates makes it O(n log n) in the
 * pre-token's length: a 32000-letter word, which API.md's prompt limit
 * allows, would take seconds with a rescan per merge. */
static int bpe(const struct pictor_clip_tokenizer *t, const uint8_t *s, size_t len,
               struct bpe_work *w, struct tok_ids *out)
{
    int32_t *sym = w->sym, *next = w->next, *prev = w->prev;
    size_t nh = 0;
    uint64_t v;
    if (len > w->cap || len > INT32_MAX)
        return PICTOR_E_INVALID; /* the caller sized w for its whole text */
    for (size_t i = 0; i < len; i++) {
        sym[i] = i + 1 == len ? t->byte_eow_id[s[i]] : t->byte_id[s[i]];
        next[i] = i + 1 < len ? (int32_t)(i + 1) : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < len; i++)
        if (merge_of(t, sym[i], sym[i + 1], &v))
            heap_push(w->heap, &nh, (v >> 32) << 32 | i);
    while (nh > 0) {
        uint64_t c = heap_pop(w->heap, &nh);
        int32_t i = (int32_t)(uint32_t)c, j = next[i];
        /* stale: the left symbol merged away, or its pair changed (ranks
         * are unique per pair, so an equal rank is the same pair) */
        if (sym[i] < 0 || j < 0 || !merge_of(t, sym[i], sym[j], &v) || v >> 32 != c >> 32)
            continue;
        sym[i] = (int32_t)(uint32_t)v;
        sym[j] = -1;
        next[i] = next[j];
        if (next[j] >= 0)
            prev[next[j]] = i;
        if (prev[i] >= 0 && merge_of(t, sym[prev[i]], sym[i], &v))
            heap_push(w->heap, &nh, (v >> 32) << 32 | (uint32_t)prev[i]);
        if (next[i] >= 0 && merge_of(t, sym[i], sym[next[i]], &v))
            heap_push(w->heap, &nh, (v >> 32) << 32 | (uint32_t)i);
    }
    for (int32_t i = len ? 0 : -1; i >= 0; i = next[i])
        if (tok_ids_push(out, sym[i]))
            return PICTOR_E_NOMEM;
    return PICTOR_OK;
}

static bool is_letter(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

static bool is_number(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

/* Length in code points of the literal ASCII string lit at cps[i..n), or 0. */
static size_t match_lit(const int32_t *cps, size_t i, size_t n, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++)
        if (i + k >= n || cps[i + k] != (unsigned char)lit[k])
            return 0;
    return k;
}

/* The pre-tokenisation regex (header, step 5) over normalised text, each
 * match sent through BPE. */
static int pretokenize_bpe(const struct pictor_clip_tokenizer *t, const char *text,
                           size_t len, struct tok_ids *out)
{
    static const char *const lits[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re",
                                       "'ve", "'m", "'ll", "'d"};
    int32_t *cps = NULL;
    size_t n, i = 0;
    struct tok_buf piece = {0};
    struct bpe_work work = {0};
    int rc = tok_utf8_decode(text, len, &cps, &n);
    if (rc)
        return rc;
    if ((rc = bpe_work_init(&work, len)))
        goto out;
    while (i < n) {
        size_t j = i, m = 0;
        if (tok_is_white_space(cps[i])) {
            i++;
            continue;
        }
        for (size_t k = 0; k < sizeof lits / sizeof lits[0] && !m; k++)
            m = match_lit(cps, i, n, lits[k]);
        if (m)
            j = i + m;
        else if (is_letter(cps[i]))
            for (j = i + 1; j < n && is_letter(cps[j]); j++) {}
        else if (is_number(cps[i]))
            j = i + 1;
        else
            for (j = i + 1; j < n && !tok_is_white_space(cps[j]) && !is_letter(cps[j]) &&
                            !is_number(cps[j]);
                 j++) {}
        /* ByteLevel(use_regex=True) re-splits every match with GPT-2's
         * regex; that changes only the two special-token literals, which
         * become "<|", the word, "|>" (the other matches are already single
         * GPT-2 pre-tokens). */
        size_t cuts[4] = {i, j, j, j}, ncut = 1;
        if (m > 4 && cps[i] == '<') {
            cuts[1] = i + 2;
            cuts[2] = j - 2;
            ncut = 3;
        }
        for (size_t c = 0; c < ncut; c++) {
            piece.len = 0;
            for (size_t k = cuts[c]; k < cuts[c + 1]; k++)
                if ((rc = tok_buf_put_cp(&piece, cps[k])))
                    goto out;
            if ((rc = bpe(t, (const uint8_t *)piece.p, piece.len, &work, out)))
                goto out;
        }
        i = j;
    }
out:
    tok_buf_free(&piece);
    bpe_work_free(&work);
    free(cps);
    return rc;
}

/* Header step 3: NFC, White_Space runs -> ' ', lowercase. */
static int normalize(const char *text, size_t len, struct tok_buf *out)
{
    utf8proc_uint8_t *nfc = NULL;
    int32_t *cps = NULL;
    size_t n;
    bool in_space = false;
    int rc = PICTOR_OK;
    out->len = 0;
    if (len == 0)
        return tok_buf_put(out, "", 0);
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                      &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0)
        return m == UTF8PROC_ERROR_NOMEM ? PICTOR_E_NOMEM : PICTOR_E_INVALID;
    if ((rc = tok_utf8_decode((const char *)nfc, (size_t)m, &cps, &n)))
        goto out;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t c = cps[i];
        if (tok_is_white_space(c)) {
            if (!in_space)
                rc = tok_buf_put(out, " ", 1);
            in_space = true;
            continue;
        }
        in_space = false;
        if (c == 0x130) /* SpecialCasing.txt: İ lowercases to i + U+0307 */
            rc = tok_buf_put(out, "i\xCC\x87", 3);
        else
            rc = tok_buf_put_cp(out, utf8proc_tolower(c));
    }
out:
    free(cps);
    free(nfc);
    return rc;
}

/* Steps 3-6 for one piece of raw text between raw added tokens. */
static int encode_segment(const struct pictor_clip_tokenizer *t, const char *text,
                          size_t len, struct tok_ids *out)
{
    struct tok_buf norm = {0};
    size_t pos = 0, at, which;
    int rc = normalize(text, len, &norm);
    if (rc)
        goto out;
    while (pos < norm.len) {
        bool hit = tok_find_added(norm.p, norm.len, pos, t->added, t->n_added, true, &at, &which);
        size_t end = hit ? at : norm.len;
        if ((rc = pretokenize_bpe(t, norm.p + pos, end - pos, out)))
            goto out;
        if (!hit)
            break;
        if ((rc = tok_ids_push(out, t->added[which].id)))
            goto out;
        pos = at + t->added[which].len;
    }
out:
    tok_buf_free(&norm);
    return rc;
}

int pictor_clip_tokenizer_encode(const struct pictor_clip_tokenizer *t, const char *text,
                                 size_t len, int max_length, int64_t *ids_out,
                                 int64_t *n_tokens, char *err, size_t errlen)
{
    struct tok_buf clean = {0};
    struct tok_ids ids = {0};
    int32_t *cps = NULL;
    size_t n, pos = 0, at, which;
    int rc;
    if (max_length <= 0)
        max_length = t->max_length;
    if (max_length < 2) {
        snprintf(err, errlen, "clip tokenizer: max_length %d < 2 (bos + eos)", max_length);
        return PICTOR_E_INVALID;
    }
    /* step 1: a valid UTF-8 copy */
    if ((rc = tok_utf8_decode(text ? text : "", text ? len : 0, &cps, &n)))
        goto out;
    if ((rc = tok_buf_put(&clean, "", 0)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((rc = tok_buf_put_cp(&clean, cps[i])))
            goto out;
    /* step 2: raw added tokens */
    while (pos < clean.len) {
        bool hit = tok_find_added(clean.p, clean.len, pos, t->added, t->n_added, false, &at,
                                  &which);
        size_t end = hit ? at : clean.len;
        if ((rc = encode_segment(t, clean.p + pos, end - pos, &ids)))
            goto out;
        if (!hit)
            break;
        if ((rc = tok_ids_push(&ids, t->added[which].id)))
            goto out;
        pos = at + t->added[which].len;
    }
    /* step 7 */
    size_t keep = ids.n < (size_t)max_length - 2 ? ids.n : (size_t)max_length - 2;
    size_t k = 0;
    ids_out[k++] = t->bos;
    for (size_t i = 0; i < keep; i++)
        ids_out[k++] = ids.p[i];
    ids_out[k++] = t->eos;
    while (k < (size_t)max_length)
        ids_out[k++] = t->pad;
    if (n_tokens)
        *n_tokens = (int64_t)ids.n + 2;
out:
    if (rc == PICTOR_E_NOMEM)
        snprintf(err, errlen, "clip tokenizer: out of memory");
    else if (rc)
        snprintf(err, errlen, "clip tokenizer: cannot normalise the prompt (%s)",
                 pictor_status_name(rc));
    free(cps);
    free(ids.p);
    tok_buf_free(&clean);
    return rc;
}
