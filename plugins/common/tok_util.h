/*
 * plugins/common/tok_util.h — private helpers shared by the two tokenizers
 * (clip_tokenizer.c, t5_tokenizer.c): whole-file reading, UTF-8 decoding
 * with replacement of invalid bytes, and two open-addressing hash maps
 * (string -> int32, uint64 -> uint64).
 *
 * Ownership: every map/buffer belongs to the caller, freed with the matching
 * *_free. Maps copy their string keys. Thread: any (no shared state); a map
 * being filled must not be read concurrently, a filled map may be read by
 * many threads.
 */
#ifndef PICTOR_TOK_UTIL_H
#define PICTOR_TOK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest tokenizer file read (a T5 tokenizer.json is ~2.4 MB, CLIP
 * vocab.json ~1 MB; the bound only stops a runaway read). */
#define TOK_MAX_FILE (256u << 20)

/* Reads PATH whole into a NUL-terminated malloc'd buffer. PICTOR_E_IO with
 * "PATH: reason" in err when it cannot be read. */
int tok_read_file(const char *path, char **out, size_t *len, char *err,
                  size_t errlen);

/* Decodes UTF-8 text[0..len) into malloc'd code points (*cps, *n). Every
 * byte that does not start a valid UTF-8 sequence (bad lead, truncated
 * sequence, overlong form, surrogate, > U+10FFFF) becomes one U+FFFD, as
 * Python's bytes.decode("utf-8", "replace") does for most inputs. Embedded
 * NULs are kept. Returns PICTOR_OK or PICTOR_E_NOMEM. */
int tok_utf8_decode(const char *text, size_t len, int32_t **cps, size_t *n);

/* Appends code point c as UTF-8 to a growable byte buffer. */
struct tok_buf {
    char *p;
    size_t len, cap;
};
int tok_buf_put_cp(struct tok_buf *b, int32_t c);
int tok_buf_put(struct tok_buf *b, const char *s, size_t n);
void tok_buf_free(struct tok_buf *b);

/* Unicode White_Space (= categories Zs, Zl, Zp plus U+0009..U+000D and
 * U+0085 — the property list in PropList.txt), what Oniguruma's \s and
 * Rust's char::is_whitespace match. */
bool tok_is_white_space(int32_t c);

/* string -> int32 map. Keys are byte strings (may hold NUL). */
struct tok_strmap {
    char **keys;
    size_t *klen;
    int32_t *vals;
    size_t cap, n; /* cap is a power of two */
};
int tok_strmap_init(struct tok_strmap *m, size_t expected);
/* Inserts or overwrites. PICTOR_E_NOMEM on allocation failure. */
int tok_strmap_put(struct tok_strmap *m, const char *k, size_t klen,
                   int32_t v);
/* The value, or -1 when absent (values stored are >= 0). */
int32_t tok_strmap_get(const struct tok_strmap *m, const char *k,
                       size_t klen);
void tok_strmap_free(struct tok_strmap *m);

/* uint64 -> uint64 map (no key may be UINT64_MAX, the empty marker). */
struct tok_u64map {
    uint64_t *keys, *vals;
    size_t cap, n;
};
int tok_u64map_init(struct tok_u64map *m, size_t expected);
int tok_u64map_put(struct tok_u64map *m, uint64_t k, uint64_t v);
bool tok_u64map_get(const struct tok_u64map *m, uint64_t k, uint64_t *v);
void tok_u64map_free(struct tok_u64map *m);

/* An added (special) token: split off the text before the model runs, as
 * tokenizers' AddedVocabulary does. `normalized` false: matched on the raw
 * text; true: on the normalised text. */
struct tok_added {
    char *s; /* UTF-8, owned */
    size_t len;
    int32_t id;
    bool normalized;
};

/* Leftmost-longest match, at or after byte `from` of text[0..len), of the
 * tokens whose `normalized` flag equals `normalized`. Returns true and sets
 * *at (byte offset) and *which (index into toks) when one occurs. */
bool tok_find_added(const char *text, size_t len, size_t from,
                    const struct tok_added *toks, size_t n, bool normalized,
                    size_t *at, size_t *which);

/* Growable list of token ids (both tokenizers' encode output); free(p). */
struct tok_ids {
    int32_t *p;
    size_t n, cap;
};

/* Appends id; PICTOR_E_NOMEM when the list cannot grow. */
int tok_ids_push(struct tok_ids *v, int32_t id);

#endif /* PICTOR_TOK_UTIL_H */
