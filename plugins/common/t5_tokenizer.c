/* plugins/common/t5_tokenizer.c — SentencePiece-Unigram tokenizer; the
 * contract is in pictor/t5_tokenizer.h.
 *
 * What transformers 5.24's T5Tokenizer runs (models/t5/tokenization_t5.py):
 * whatever normaliser/pre-tokeniser tokenizer.json lists, it rebuilds the
 * pipeline as Precompiled(charsmap from the file) -> WhitespaceSplit ->
 * Metaspace("▁", prepend_scheme "always", split) -> Unigram, with the
 * template "$A </s>". This file implements exactly that pipeline, taking
 * vocabulary, scores, unk id, byte_fallback, added tokens and the charsmap
 * from tokenizer.json or spiece.model. Unigram details follow tokenizers
 * 0.23 models/unigram/model.rs (encode_optimized), the charsmap those of
 * SentencePiece normalizer.cc / spm_precompiled (darts-clone trie). */
#include "pictor/t5_tokenizer.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "pictor/status.h"
#include "t5_charsmap.h"
#include "tok_util.h"

#define T5_UNK_PENALTY 10.0 /* tokenizers unigram K_UNK_PENALTY (= SentencePiece kUnkPenalty) */
#define T5_SPACE "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK, Metaspace replacement */
#define T5_SPACE_LEN 3
#define T5_EXTRA_IDS 100 /* T5Tokenizer extra_ids default: <extra_id_0..99> */

struct pictor_t5_tokenizer {
    struct tok_strmap pieces; /* piece -> id */
    double *scores;           /* [n_pieces] */
    size_t n_pieces;
    size_t max_piece_len;     /* bytes */
    double unk_score;         /* min score - T5_UNK_PENALTY */
    int32_t unk, eos, pad;
    bool byte_fallback;
    struct t5_charsmap cmap;  /* empty when the model has none */
    struct tok_added *added;
    size_t n_added;
};

static int add_piece(struct pictor_t5_tokenizer *t, const char *s, size_t len, double score)
{
    int32_t id = (int32_t)t->n_pieces;
    if (tok_strmap_get(&t->pieces, s, len) < 0 && tok_strmap_put(&t->pieces, s, len, id))
        return PICTOR_E_NOMEM;
    t->scores[t->n_pieces++] = score;
    if (len > t->max_piece_len)
        t->max_piece_len = len;
    return PICTOR_OK;
}

static int add_added(struct pictor_t5_tokenizer *t, const char *s, int32_t id, bool normalized)
{
    struct tok_added *a = realloc(t->added, (t->n_added + 1) * sizeof *a);
    if (!a)
        return PICTOR_E_NOMEM;
    t->added = a;
    a += t->n_added;
    if (!(a->s = strdup(s)))
        return PICTOR_E_NOMEM;
    a->len = strlen(s);
    a->id = id;
    a->normalized = normalized;
    t->n_added++;
    return PICTOR_OK;
}

static int32_t lookup_token(const struct pictor_t5_tokenizer *t, const char *s)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (strcmp(t->added[i].s, s) == 0)
            return t->added[i].id;
    return tok_strmap_get(&t->pieces, s, strlen(s));
}

/* ---- tokenizer.json ------------------------------------------------------ */

static struct json_object *find_precompiled(struct json_object *n)
{
    struct json_object *type, *list;
    if (!n || !json_object_is_type(n, json_type_object) ||
        !json_object_object_get_ex(n, "type", &type))
        return NULL;
    if (strcmp(json_object_get_string(type), "Precompiled") == 0)
        return n;
    if (strcmp(json_object_get_string(type), "Sequence") == 0 &&
        json_object_object_get_ex(n, "normalizers", &list) &&
        json_object_is_type(list, json_type_array))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct json_object *p = find_precompiled(json_object_array_get_idx(list, i));
            if (p)
                return p;
        }
    return NULL;
}

static int load_json(struct pictor_t5_tokenizer *t, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len;
    struct json_object *root = NULL, *model, *v, *vocab, *added, *norm;
    struct json_tokener *jt = NULL;
    int rc = tok_read_file(path, &text, &len, err, errlen);
    if (rc)
        return rc;
    rc = PICTOR_E_FORMAT;
    if (!(jt = json_tokener_new())) {
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    root = json_tokener_parse_ex(jt, text, (int)len);
    if (!root || json_tokener_get_error(jt) != json_tokener_success ||
        !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        goto out;
    }
    if (!json_object_object_get_ex(root, "model", &model) ||
        !json_object_object_get_ex(model, "type", &v) ||
        !json_object_is_type(v, json_type_string)) {
        snprintf(err, errlen, "%s: no model.type", path);
        goto out;
    }
    if (strcmp(json_object_get_string(v), "Unigram") != 0) {
        snprintf(err, errlen, "%s: model type %s, expected Unigram", path,
                 json_object_get_string(v));
        rc = PICTOR_E_UNSUPPORTED;
        goto out;
    }
    if (!json_object_object_get_ex(model, "vocab", &vocab) ||
        !json_object_is_type(vocab, json_type_array) || json_object_array_length(vocab) == 0) {
        snprintf(err, errlen, "%s: model.vocab is not a non-empty list", path);
        goto out;
    }
    size_t n = json_object_array_length(vocab);
    if (tok_strmap_init(&t->pieces, n) || !(t->scores = malloc(n * sizeof *t->scores))) {
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(vocab, i), *p, *s;
        if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 2 ||
            !json_object_is_type(p = json_object_array_get_idx(e, 0), json_type_string) ||
            !(json_object_is_type(s = json_object_array_get_idx(e, 1), json_type_double) ||
              json_object_is_type(s, json_type_int))) {
            snprintf(err, errlen, "%s: model.vocab[%zu] is not [piece, score]", path, i);
            goto out;
        }
        if ((rc = add_piece(t, json_object_get_string(p), (size_t)json_object_get_string_len(p),
                            json_object_get_double(s))))
            goto out;
    }
    rc = PICTOR_E_FORMAT;
    t->unk = -1;
    if (json_object_object_get_ex(model, "unk_id", &v) && json_object_is_type(v, json_type_int))
        t->unk = json_object_get_int(v);
    if (t->unk < -1 || t->unk >= (int32_t)n) {
        snprintf(err, errlen, "%s: model.unk_id out of range", path);
        goto out;
    }
    t->byte_fallback = json_object_object_get_ex(model, "byte_fallback", &v) &&
                       json_object_get_boolean(v);
    if (json_object_object_get_ex(root, "added_tokens", &added) &&
        json_object_is_type(added, json_type_array))
        for (size_t i = 0; i < json_object_array_length(added); i++) {
            struct json_object *a = json_object_array_get_idx(added, i), *id, *c, *nz;
            if (!json_object_object_get_ex(a, "id", &id) || !json_object_is_type(id, json_type_int) ||
                !json_object_object_get_ex(a, "content", &c) ||
                !json_object_is_type(c, json_type_string)) {
                snprintf(err, errlen, "%s: added_tokens[%zu] lacks id/content", path, i);
                goto out;
            }
            bool normalized = json_object_object_get_ex(a, "normalized", &nz) &&
                              json_object_get_boolean(nz);
            if ((rc = add_added(t, json_object_get_string(c), json_object_get_int(id), normalized)))
                goto out;
            rc = PICTOR_E_FORMAT;
        }
    struct json_object *pc = NULL, *b64;
    if (json_object_object_get_ex(root, "normalizer", &norm))
        pc = find_precompiled(norm);
    if (pc && json_object_object_get_ex(pc, "precompiled_charsmap", &b64) &&
        json_object_is_type(b64, json_type_string) && json_object_get_string_len(b64) > 0) {
        if ((rc = t5_charsmap_from_base64(&t->cmap, json_object_get_string(b64),
                                          (size_t)json_object_get_string_len(b64)))) {
            snprintf(err, errlen, "%s: precompiled_charsmap is malformed", path);
            goto out;
        }
    }
    rc = PICTOR_OK;
out:
    if (rc == PICTOR_E_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    if (jt)
        json_tokener_free(jt);
    json_object_put(root);
    free(text);
    return rc;
}

/* ---- spiece.model (SentencePiece ModelProto, sentencepiece_model.proto) --- */

struct pb {
    const uint8_t *p, *end;
};

static bool pb_varint(struct pb *b, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end)
            return false;
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return true;
    }
    return false;
}

/* Next field: *field, *wire; for wire type 2 *sub is the payload; for 0/1/5
 * *v is the value (fixed32/64 little-endian). */
static bool pb_next(struct pb *b, uint32_t *field, int *wire, uint64_t *v, struct pb *sub)
{
    uint64_t key, len;
    if (!pb_varint(b, &key))
        return false;
    *field = (uint32_t)(key >> 3);
    *wire = (int)(key & 7);
    switch (*wire) {
    case 0:
        return pb_varint(b, v);
    case 1:
    case 5: {
        size_t n = *wire == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < n)
            return false;
        *v = 0;
        for (size_t i = 0; i < n; i++)
            *v |= (uint64_t)b->p[i] << (8 * i);
        b->p += n;
        return true;
    }
    case 2:
        if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
            return false;
        sub->p = b->p;
        sub->end = b->p + len;
        b->p += len;
        return true;
    default:
        return false; /* groups (3, 4) are not used by sentencepiece_model.proto */
    }
}

static int load_spm(struct pictor_t5_tokenizer *t, const char *path, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len;
    int rc = tok_read_file(path, &data, &len, err, errlen);
    struct pb b = {(const uint8_t *)data, (const uint8_t *)data + len}, sub;
    uint32_t field;
    int wire;
    uint64_t v;
    size_t n = 0;
    if (rc)
        return rc;
    /* first pass: count pieces (field 1 of ModelProto) */
    while (b.p < b.end) {
        if (!pb_next(&b, &field, &wire, &v, &sub)) {
            snprintf(err, errlen, "%s: not a SentencePiece model (bad protobuf)", path);
            rc = PICTOR_E_FORMAT;
            goto out;
        }
        n += field == 1 && wire == 2;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: no pieces", path);
        rc = PICTOR_E_FORMAT;
        goto out;
    }
    if (tok_strmap_init(&t->pieces, n + T5_EXTRA_IDS) ||
        !(t->scores = malloc((n + T5_EXTRA_IDS) * sizeof *t->scores))) {
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    b.p = (const uint8_t *)data;
    while (b.p < b.end) {
        pb_next(&b, &field, &wire, &v, &sub);
        if (field == 1 && wire == 2) { /* SentencePiece { piece = 1; score = 2; type = 3 } */
            struct pb s = sub, f;
            const char *piece = NULL;
            size_t plen = 0;
            float score = 0.0f;
            while (s.p < s.end) {
                if (!pb_next(&s, &field, &wire, &v, &f))
                    goto bad;
                if (field == 1 && wire == 2) {
                    piece = (const char *)f.p;
                    plen = (size_t)(f.end - f.p);
                } else if (field == 2 && wire == 5) {
                    uint32_t u = (uint32_t)v;
                    memcpy(&score, &u, sizeof score);
                }
            }
            if (!piece)
                goto bad;
            if ((rc = add_piece(t, piece, plen, score)))
                goto out;
        } else if (field == 3 && wire == 2) { /* NormalizerSpec { precompiled_charsmap = 2 } */
            struct pb s = sub, f;
            while (s.p < s.end) {
                if (!pb_next(&s, &field, &wire, &v, &f))
                    goto bad;
                if (field == 2 && wire == 2 && f.end > f.p &&
                    t5_charsmap_parse(&t->cmap, f.p, (size_t)(f.end - f.p))) {
                    snprintf(err, errlen, "%s: precompiled_charsmap is malformed", path);
                    rc = PICTOR_E_FORMAT;
                    goto out;
                }
            }
        }
    }
    /* What T5Tokenizer builds from spiece.model: unk id 2, no byte fallback,
     * <extra_id_99> .. <extra_id_0> appended (score 0), and the special
     * pieces plus extra ids as added tokens matched on the raw text. */
    t->unk = 2;
    t->byte_fallback = false;
    for (int i = T5_EXTRA_IDS - 1; i >= 0; i--) {
        char s[32];
        int k = snprintf(s, sizeof s, "<extra_id_%d>", i);
        int32_t id = (int32_t)t->n_pieces;
        if ((rc = add_piece(t, s, (size_t)k, 0.0)) || (rc = add_added(t, s, id, false)))
            goto out;
    }
    static const char *const specials[] = {"<pad>", "</s>", "<unk>"};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        int32_t id = tok_strmap_get(&t->pieces, specials[i], strlen(specials[i]));
        if (id >= 0 && (rc = add_added(t, specials[i], id, false)))
            goto out;
    }
    rc = PICTOR_OK;
    goto out;
bad:
    snprintf(err, errlen, "%s: malformed SentencePiece entry", path);
    rc = PICTOR_E_FORMAT;
out:
    if (rc == PICTOR_E_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    free(data);
    return rc;
}

int pictor_t5_tokenizer_load(const char *dir, struct pictor_t5_tokenizer **out, char *err,
                             size_t errlen)
{
    char path[4096];
    int rc;
    struct pictor_t5_tokenizer *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) {
        snprintf(err, errlen, "t5 tokenizer: out of memory");
        return PICTOR_E_NOMEM;
    }
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    rc = load_json(t, path, err, errlen);
    if (rc == PICTOR_E_NOT_FOUND) {
        snprintf(path, sizeof path, "%s/spiece.model", dir);
        rc = load_spm(t, path, err, errlen);
        if (rc == PICTOR_E_NOT_FOUND)
            snprintf(err, errlen, "%s: neither tokenizer.json nor spiece.model", dir);
    }
    if (rc)
        goto fail;
    double min_score = INFINITY;
    for (size_t i = 0; i < t->n_pieces; i++)
        if (t->scores[i] < min_score)
            min_score = t->scores[i];
    t->unk_score = min_score - T5_UNK_PENALTY;
    t->eos = lookup_token(t, "</s>");
    t->pad = lookup_token(t, "<pad>");
    if (t->eos < 0) {
        snprintf(err, errlen, "%s: no </s> token", path);
        rc = PICTOR_E_FORMAT;
        goto fail;
    }
    if (t->pad < 0)
        t->pad = 0; /* T5: <pad> is id 0 */
    *out = t;
    return PICTOR_OK;
fail:
    pictor_t5_tokenizer_free(t);
    return rc;
}

void pictor_t5_tokenizer_free(struct pictor_t5_tokenizer *t)
{
    if (!t)
        return;
    tok_strmap_free(&t->pieces);
    free(t->scores);
    t5_charsmap_free(&t->cmap);
    for (size_t i = 0; i < t->n_added; i++)
        free(t->added[i].s);
    free(t->added);
    free(t);
}

int64_t pictor_t5_tokenizer_pad_id(const struct pictor_t5_tokenizer *t)
{
    return t->pad;
}

/* ---- encoding ------------------------------------------------------------ */

struct node {
    double score;
    size_t start; /* SIZE_MAX: unreached */
    int32_t id;
};

/* Emits a fused run of unknown text s[0..len): byte pieces <0xXX> when the
 * model has byte_fallback and all exist, else one unk id. */
static int emit_unk(const struct pictor_t5_tokenizer *t, const char *s, size_t len,
                    struct tok_ids *out)
{
    if (t->byte_fallback) {
        bool all = true;
        for (size_t i = 0; i < len && all; i++) {
            char b[8];
            snprintf(b, sizeof b, "<0x%02X>", (unsigned char)s[i]);
            all = tok_strmap_get(&t->pieces, b, 6) >= 0;
        }
        if (all) {
            for (size_t i = 0; i < len; i++) {
                char b[8];
                snprintf(b, sizeof b, "<0x%02X>", (unsigned char)s[i]);
                if (tok_ids_push(out, tok_strmap_get(&t->pieces, b, 6)))
                    return PICTOR_E_NOMEM;
            }
            return PICTOR_OK;
        }
    }
    return tok_ids_push(out, t->unk);
}

/* Viterbi over one Metaspace piece s[0..len) (valid UTF-8). */
static int viterbi(const struct pictor_t5_tokenizer *t, const char *s, size_t len,
                   struct node *nodes, struct tok_ids *out)
{
    size_t pos = 0;
    for (size_t i = 0; i <= len; i++)
        nodes[i] = (struct node){0.0, SIZE_MAX, -1};
    nodes[0].start = 0;
    while (pos < len) {
        utf8proc_int32_t c;
        size_t mblen = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + pos,
                                                (utf8proc_ssize_t)(len - pos), &c);
        double base = nodes[pos].score;
        bool single = false;
        /* every piece starting here, shortest first (the trie's order) */
        for (size_t end = pos + mblen; end <= len && end - pos <= t->max_piece_len;) {
            int32_t id = tok_strmap_get(&t->pieces, s + pos, end - pos);
            if (id >= 0) {
                double cand = t->scores[id] + base;
                if (nodes[end].start == SIZE_MAX || cand > nodes[end].score)
                    nodes[end] = (struct node){cand, pos, id};
                single |= end - pos == mblen;
            }
            if (end == len)
                break;
            utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + end,
                                                  (utf8proc_ssize_t)(len - end), &c);
            end += (size_t)k;
        }
        if (!single) {
            double cand = t->unk_score + base;
            if (nodes[pos + mblen].start == SIZE_MAX || cand > nodes[pos + mblen].score)
                nodes[pos + mblen] = (struct node){cand, pos, t->unk};
        }
        pos += mblen;
    }
    /* backtrack, then emit in order, fusing adjacent unks */
    size_t n = 0;
    for (size_t e = len; e > 0; e = nodes[e].start)
        n++;
    size_t *ends = malloc((n ? n : 1) * sizeof *ends);
    if (!ends)
        return PICTOR_E_NOMEM;
    size_t k = n;
    for (size_t e = len; e > 0; e = nodes[e].start)
        ends[--k] = e;
    int rc = PICTOR_OK;
    for (size_t i = 0; i < n && !rc;) {
        size_t e = ends[i];
        if (nodes[e].id == t->unk && t->unk >= 0) {
            size_t st = nodes[e].start, j = i;
            while (j + 1 < n && nodes[ends[j + 1]].id == t->unk)
                j++;
            rc = emit_unk(t, s + st, ends[j] - st, out);
            i = j + 1;
        } else {
            rc = tok_ids_push(out, nodes[e].id);
            i++;
        }
    }
    free(ends);
    return rc;
}

/* WhitespaceSplit + Metaspace(always, split) + Viterbi over normalised text. */
static int pretokenize_encode(const struct pictor_t5_tokenizer *t, const char *s, size_t len,
                              struct tok_ids *out)
{
    struct tok_buf word = {0};
    struct node *nodes = NULL;
    size_t pos = 0;
    int rc = PICTOR_OK;
    if (!(nodes = malloc((len + T5_SPACE_LEN + 1) * sizeof *nodes)))
        return PICTOR_E_NOMEM;
    while (pos < len && !rc) {
        utf8proc_int32_t c;
        size_t k = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + pos,
                                            (utf8proc_ssize_t)(len - pos), &c);
        if (tok_is_white_space(c)) {
            pos += k;
            continue;
        }
        size_t end = pos;
        while (end < len) {
            k = (size_t)utf8proc_iterate((const utf8proc_uint8_t *)s + end,
                                         (utf8proc_ssize_t)(len - end), &c);
            if (tok_is_white_space(c))
                break;
            end += k;
        }
        word.len = 0;
        if (!(end - pos >= T5_SPACE_LEN && memcmp(s + pos, T5_SPACE, T5_SPACE_LEN) == 0))
            rc = tok_buf_put(&word, T5_SPACE, T5_SPACE_LEN);
        if (!rc)
            rc = tok_buf_put(&word, s + pos, end - pos);
        /* split before every U+2581 (MergedWithNext) */
        for (size_t a = 0; !rc && a < word.len;) {
            size_t b = a + T5_SPACE_LEN;
            while (b < word.len && !(word.len - b >= T5_SPACE_LEN &&
                                     memcmp(word.p + b, T5_SPACE, T5_SPACE_LEN) == 0))
                b++;
            rc = viterbi(t, word.p + a, b - a, nodes, out);
            a = b;
        }
        pos = end;
    }
    tok_buf_free(&word);
    free(nodes);
    return rc;
}

static int encode_segment(const struct pictor_t5_tokenizer *t, const char *text, size_t len,
                          struct tok_ids *out)
{
    struct tok_buf norm = {0};
    size_t pos = 0, at, which;
    int rc = t5_charsmap_normalize(&t->cmap, text, len, &norm);
    while (!rc && pos < norm.len) {
        bool hit = tok_find_added(norm.p, norm.len, pos, t->added, t->n_added, true, &at, &which);
        size_t end = hit ? at : norm.len;
        if ((rc = pretokenize_encode(t, norm.p + pos, end - pos, out)) || !hit)
            break;
        rc = tok_ids_push(out, t->added[which].id);
        pos = at + t->added[which].len;
    }
    tok_buf_free(&norm);
    return rc;
}

int pictor_t5_tokenizer_encode(const struct pictor_t5_tokenizer *t, const char *text,
                               size_t len, int max_length, int64_t *ids_out, int64_t *n_tokens,
                               char *err, size_t errlen)
{
    struct tok_buf clean = {0};
    struct tok_ids ids = {0};
    int32_t *cps = NULL;
    size_t n, pos = 0, at, which;
    int rc;
    if (max_length < 1) {
        snprintf(err, errlen, "t5 tokenizer: max_length %d < 1 (eos)", max_length);
        return PICTOR_E_INVALID;
    }
    if ((rc = tok_utf8_decode(text ? text : "", text ? len : 0, &cps, &n)) ||
        (rc = tok_buf_put(&clean, "", 0)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((rc = tok_buf_put_cp(&clean, cps[i])))
            goto out;
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
    size_t keep = ids.n < (size_t)max_length - 1 ? ids.n : (size_t)max_length - 1;
    size_t k = 0;
    for (size_t i = 0; i < keep; i++)
        ids_out[k++] = ids.p[i];
    ids_out[k++] = t->eos;
    while (k < (size_t)max_length)
        ids_out[k++] = t->pad;
    if (n_tokens)
        *n_tokens = (int64_t)ids.n + 1;
out:
    if (rc)
        snprintf(err, errlen, "t5 tokenizer: %s", rc == PICTOR_E_NOMEM ? "out of memory"
                                                                        : "cannot encode the prompt");
    free(cps);
    free(ids.p);
    tok_buf_free(&clean);
    return rc;
}
