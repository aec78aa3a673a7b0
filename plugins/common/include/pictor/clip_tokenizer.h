/*
 * pictor/clip_tokenizer.h — the CLIP byte-level BPE tokenizer, as
 * transformers 5's `CLIPTokenizer` (backed by the Rust `tokenizers` library,
 * no ftfy) encodes a prompt for the FLUX, SD3 and SDXL pipelines:
 * `tokenizer(prompt, padding="max_length", max_length=77, truncation=True)`.
 *
 * Folder: `vocab.json` (token -> id), `merges.txt` (`#version` header line,
 * then one "left right" merge per line, rank = line order), optionally
 * `tokenizer_config.json` / `special_tokens_map.json` for bos/eos/unk/pad
 * tokens, `added_tokens_decoder` and `model_max_length`. Defaults when those
 * are absent: bos `<|startoftext|>`, eos = unk = pad `<|endoftext|>`, 77.
 *
 * Encoding (MODELS.md §2.1; tokenizers' pipeline, checked against
 * transformers 5.24 / tokenizers 0.23.3):
 *   1. invalid UTF-8 bytes each become U+FFFD (documented choice: Python
 *      strings cannot hold them, so there is no reference; replacing keeps
 *      every prompt encodable);
 *   2. added tokens whose `normalized` flag is false (e.g. `<|endoftext|>`,
 *      SDXL tokenizer_2's pad `!`) are split off the raw text, leftmost-
 *      longest, and map straight to their ids;
 *   3. each remaining piece: NFC, every White_Space run -> one space,
 *      per-character Unicode lowercase (Rust char::to_lowercase:
 *      U+0130 -> "i\u0307");
 *   4. added tokens with `normalized` true (`<|startoftext|>`) are split off
 *      the normalised text;
 *   5. pre-tokenisation regex `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|
 *      've|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`, whitespace dropped;
 *      then ByteLevel's GPT-2 regex re-splits each match, which only cuts a
 *      matched special-token literal into "<|", its word, "|>";
 *   6. byte-level BPE per pre-token with `</w>` on the last symbol, lowest
 *      merge rank first; a symbol missing from vocab.json gives unk;
 *   7. [bos] + first max_length-2 ids + [eos], right-padded with pad.
 * Unicode data (categories, NFC, lowercase) is utf8proc's (Unicode 15 on
 * Debian 12); the reference uses Rust/Oniguruma tables, so code points
 * assigned after utf8proc's version may classify differently.
 *
 * Ownership: the handle owns all its tables; free with
 * pictor_clip_tokenizer_free. Thread: a loaded tokenizer is read-only, so
 * any number of threads may call encode on it concurrently.
 */
#ifndef PICTOR_CLIP_TOKENIZER_H
#define PICTOR_CLIP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

struct pictor_clip_tokenizer;

/* Loads the tokenizer folder DIR. Errors: PICTOR_E_NOT_FOUND / PICTOR_E_IO
 * (a required file missing or unreadable), PICTOR_E_FORMAT (malformed file;
 * the message names the file and, for merges.txt, the line),
 * PICTOR_E_NOMEM. */
int pictor_clip_tokenizer_load(const char *dir,
                               struct pictor_clip_tokenizer **out, char *err,
                               size_t errlen);
void pictor_clip_tokenizer_free(struct pictor_clip_tokenizer *tok);

/* model_max_length from tokenizer_config.json (77 when absent or
 * unbounded). */
int pictor_clip_tokenizer_max_length(const struct pictor_clip_tokenizer *tok);
int64_t pictor_clip_tokenizer_pad_id(const struct pictor_clip_tokenizer *tok);

/* Encodes text[0..len) (UTF-8, may contain NUL) into exactly max_length ids
 * written to ids_out (caller-allocated, max_length entries). max_length <= 0
 * means model_max_length; it must be >= 2 (bos + eos). *n_tokens (may be
 * NULL) receives the length before truncation, bos and eos included, so a
 * caller can tell that a prompt was cut. PICTOR_E_INVALID or
 * PICTOR_E_NOMEM on failure. */
int pictor_clip_tokenizer_encode(const struct pictor_clip_tokenizer *tok,
                                 const char *text, size_t len, int max_length,
                                 int64_t *ids_out, int64_t *n_tokens,
                                 char *err, size_t errlen);

#endif /* PICTOR_CLIP_TOKENIZER_H */
