/*
 * plugins/common/t5_charsmap.h — SentencePiece's precompiled normalisation
 * charsmap (NormalizerSpec.precompiled_charsmap, e.g. nmt_nfkc), private to
 * t5_tokenizer.c.
 *
 * Format (sentencepiece normalizer.cc, Normalizer::DecodePrecompiledCharsMap):
 * uint32 little-endian trie size in bytes, the darts-clone double-array trie
 * (uint32 units), then a blob of NUL-terminated replacement strings; a trie
 * key (UTF-8 bytes of the source text) maps to the offset of its replacement
 * in the blob.
 *
 * Normalisation as tokenizers' Precompiled normaliser applies it: split the
 * text into extended grapheme clusters (utf8proc, UAX #29); a cluster shorter
 * than 6 bytes whose bytes have a rule is replaced by the rule of the
 * SHORTEST matching prefix (the rest of the cluster is dropped — the
 * library's documented quirk, kept for exactness); otherwise each code point
 * is replaced by its own rule or kept.
 * Ownership: the struct owns its copy of the data. Thread: read-only use is
 * thread-safe.
 */
#ifndef PICTOR_T5_CHARSMAP_H
#define PICTOR_T5_CHARSMAP_H

#include <stddef.h>
#include <stdint.h>

#include "tok_util.h"

struct t5_charsmap {
    uint32_t *units; /* trie, n_units entries; NULL = no normaliser */
    size_t n_units;
    char *blob;      /* replacement strings */
    size_t blob_len;
};

/* PICTOR_E_FORMAT when the sizes are inconsistent. */
int t5_charsmap_parse(struct t5_charsmap *m, const uint8_t *data, size_t len);
int t5_charsmap_from_base64(struct t5_charsmap *m, const char *b64, size_t len);
void t5_charsmap_free(struct t5_charsmap *m);

/* Writes the normalised text[0..len) (valid UTF-8) into out (reset first). */
int t5_charsmap_normalize(const struct t5_charsmap *m, const char *text, size_t len,
                          struct tok_buf *out);

#endif /* PICTOR_T5_CHARSMAP_H */
