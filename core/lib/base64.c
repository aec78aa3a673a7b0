/* core/lib/base64.c — RFC 4648 base64 encoder (pictor/base64.h). */
#include <stdlib.h>

#include "pictor/base64.h"
#include "pictor/status.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t pictor_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

int pictor_base64_encode(const uint8_t *data, size_t n, char **out, size_t *out_len)
{
    if (n > (SIZE_MAX - 1) / 4 * 3 - 2)
        return PICTOR_E_INVALID;
    size_t len = pictor_base64_len(n);
    char *s = malloc(len + 1);
    if (!s)
        return PICTOR_E_NOMEM;
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        s[o++] = B64[v >> 18 & 63];
        s[o++] = B64[v >> 12 & 63];
        s[o++] = B64[v >> 6 & 63];
        s[o++] = B64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0);
        s[o++] = B64[v >> 18 & 63];
        s[o++] = B64[v >> 12 & 63];
        s[o++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        s[o++] = '=';
    }
    s[o] = '\0';
    *out = s;
    if (out_len)
        *out_len = o;
    return PICTOR_OK;
}
