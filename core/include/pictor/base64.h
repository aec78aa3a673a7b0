/*
 * pictor/base64.h — standard base64 (RFC 4648 §4, '+' '/' with '='
 * padding) for the b64_json field of image responses.
 *
 * pictor_base64_encode writes a NUL-terminated string into a malloc'd
 * buffer (*out, free with free()) of pictor_base64_len(n) + 1 bytes.
 * Thread: any (no state).
 */
#ifndef PICTOR_BASE64_H
#define PICTOR_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters of the encoding of n bytes (without the NUL). */
size_t pictor_base64_len(size_t n);

/* PICTOR_OK, or PICTOR_E_NOMEM (or PICTOR_E_INVALID on overflow). */
int pictor_base64_encode(const uint8_t *data, size_t n, char **out, size_t *out_len);

#endif /* PICTOR_BASE64_H */
