/*
 * pictor/t5_tokenizer.h — the T5 SentencePiece-Unigram tokenizer, as
 * transformers 5's `T5TokenizerFast` (Rust `tokenizers`) encodes a prompt
 * for FLUX (`tokenizer_2`) and SD3 (`tokenizer_3`):
 * `tokenizer(prompt, padding="max_length", max_length=N, truncation=True)`.
 *
 * Folder: `tokenizer.json` (preferred, what from_pretrained uses when it is
 * present) or else `spiece.model` (SentencePiece ModelProto, read by hand:
 * pieces, scores, types, normaliser spec).
 *
 * Encoding (MODELS.md §2.2):
 *   1. invalid UTF-8 bytes each become U+FFFD (see clip_tokenizer.h);
 *   2. added tokens (`<pad>`, `</s>`, `<unk>`, `<extra_id_N>`) whose
 *      `normalized` flag is false are split off the raw text and map straight
 *      to their ids;
 *   3. normaliser: SentencePiece precompiled charsmap (nmt_nfkc: a
 *      double-array trie of replacement rules, longest match, applied per
 *      grapheme as tokenizers' Precompiled does), then the other normaliser
 *      steps tokenizer.json lists (Replace " {2,}" -> " ", Strip, ...);
 *   4. pre-tokeniser: WhitespaceSplit (when listed) and Metaspace: spaces
 *      become U+2581, a U+2581 is prepended (prepend_scheme "always", or
 *      "first" for the first piece), split before each U+2581;
 *   5. Unigram Viterbi per piece (best total score; a character no piece
 *      covers is unk, scored min_score - 10 as SentencePiece does; adjacent
 *      unks fuse into one), byte_fallback when the model has it;
 *   6. first max_length-1 ids + [eos], right-padded with pad id (0).
 *
 * Ownership: the handle owns everything; free with pictor_t5_tokenizer_free.
 * Thread: encode on a loaded tokenizer is read-only (any threads).
 */
#ifndef PICTOR_T5_TOKENIZER_H
#define PICTOR_T5_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct pictor_t5_tokenizer;

/* Loads DIR/tokenizer.json, or DIR/spiece.model when there is no
 * tokenizer.json. PICTOR_E_NOT_FOUND when neither exists; PICTOR_E_FORMAT
 * (message naming the file) when malformed; PICTOR_E_UNSUPPORTED for a
 * model type or normaliser step this reader does not implement. */
int pictor_t5_tokenizer_load(const char *dir, struct pictor_t5_tokenizer **out,
                             char *err, size_t errlen);
void pictor_t5_tokenizer_free(struct pictor_t5_tokenizer *tok);

int64_t pictor_t5_tokenizer_pad_id(const struct pictor_t5_tokenizer *tok);

/* Encodes text[0..len) into exactly max_length (>= 1) ids. *n_tokens (may be
 * NULL) receives the untruncated length including eos. */
int pictor_t5_tokenizer_encode(const struct pictor_t5_tokenizer *tok,
                               const char *text, size_t len, int max_length,
                               int64_t *ids_out, int64_t *n_tokens, char *err,
                               size_t errlen);

#endif /* PICTOR_T5_TOKENIZER_H */
