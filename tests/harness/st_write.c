/* tests/harness/st_write.c — see st_write.h. */
#include "st_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_write(const char *path, size_t n, const struct st_entry *e)
{
    size_t cap = 256 + n * 256, len = 0, off = 0;
    char *hdr = malloc(cap);
    if (!hdr)
        return -1;
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                i ? "," : "", e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].ndim; d++)
            len += (size_t)snprintf(hdr + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)e[i].shape[d]);
        len += (size_t)snprintf(hdr + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off,
                                off + e[i].nbytes);
        off += e[i].nbytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8)
        hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return -1;
    }
    uint64_t n64 = len;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(n64 >> (8 * i));
    int rc = fwrite(le, 1, 8, f) == 8 && fwrite(hdr, 1, len, f) == len ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (e[i].nbytes && fwrite(e[i].data, 1, e[i].nbytes, f) != e[i].nbytes)
            rc = -1;
    if (fclose(f) != 0)
        rc = -1;
    free(hdr);
    return rc;
}
