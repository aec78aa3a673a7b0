/*
 * core/lib/weights_random_save.c — a random-weights source written out as
 * a real safetensors file (pictor_wrandom_save, pictor/weights_random.h),
 * and a random model folder turned into one that loads through the
 * ordinary safetensors path (pictor_random_model_write,
 * pictor/random_model.h): what `pictor bench --write-weights` uses to time
 * loading from the page cache.
 *
 * safetensors layout: an 8-byte little-endian header length, the JSON
 * header (name -> dtype, shape, data_offsets; padded with spaces to a
 * multiple of 8), then the data in header order.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pictor/errmsg.h"
#include "pictor/random_model.h"
#include "pictor/status.h"
#include "pictor/weights_random.h"

static const char *st_dtype(int dtype)
{
    switch (dtype) {
    case PICTOR_F32: return "F32";
    case PICTOR_F16: return "F16";
    case PICTOR_BF16: return "BF16";
    case PICTOR_F8_E4M3: return "F8_E4M3";
    default: return NULL;
    }
}

/* Appends to a growing string; false when out of memory. */
static bool put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return false;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return true;
        }
        size_t cap2 = 2 * *cap + (size_t)n;
        char *b = realloc(*buf, cap2);
        if (!b)
            return false;
        *buf = b;
        *cap = cap2;
    }
}

/* The JSON header, padded to a multiple of 8 (malloc'd; *len its size). */
static char *make_header(const struct pictor_wrandom *w, size_t *len, uint64_t *max_bytes)
{
    size_t cap = 4096, n = pictor_wrandom_count(w);
    char *h = malloc(cap);
    uint64_t off = 0;
    *len = 0;
    *max_bytes = 0;
    if (!h || !put(&h, len, &cap, "{\"__metadata__\":{\"format\":\"pt\"}"))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct pictor_wrandom_info in;
        const char *name = pictor_wrandom_name(w, i);
        if (pictor_wrandom_info(w, name, &in) != PICTOR_OK || !st_dtype(in.dtype) ||
            !put(&h, len, &cap, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", name, st_dtype(in.dtype)))
            goto fail;
        for (int d = 0; d < in.ndim; d++)
            if (!put(&h, len, &cap, "%s%lld", d ? "," : "", (long long)in.shape[d]))
                goto fail;
        if (!put(&h, len, &cap, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + in.nbytes)))
            goto fail;
        off += in.nbytes;
        if (in.nbytes > *max_bytes)
            *max_bytes = in.nbytes;
    }
    if (!put(&h, len, &cap, "}"))
        goto fail;
    while (*len % 8)
        if (!put(&h, len, &cap, " "))
            goto fail;
    return h;
fail:
    free(h);
    return NULL;
}

int pictor_wrandom_save(const struct pictor_wrandom *w, const char *path, char *err,
                        size_t errlen)
{
    char tmp[4200];
    size_t hlen = 0;
    uint64_t max_bytes = 0;
    void *buf = NULL;
    FILE *f = NULL;
    int rc = PICTOR_OK;
    char *header = make_header(w, &hlen, &max_bytes);
    if (!header)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: cannot make the header (out of "
                           "memory, or a dtype safetensors lacks)", path);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        free(header);
        return pictor_fail(err, errlen, PICTOR_E_INVALID, "%s: path too long", path);
    }
    if (!(buf = malloc(max_bytes ? (size_t)max_bytes : 1))) {
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory for a %llu-byte tensor",
                         path, (unsigned long long)max_bytes);
        goto out;
    }
    if (!(f = fopen(tmp, "wb"))) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    bool ok = fwrite(le, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    for (size_t i = 0; ok && i < pictor_wrandom_count(w); i++) {
        struct pictor_wrandom_info in;
        const char *name = pictor_wrandom_name(w, i);
        ok = pictor_wrandom_info(w, name, &in) == PICTOR_OK &&
             pictor_wrandom_fill(w, name, buf) == PICTOR_OK &&
             fwrite(buf, 1, (size_t)in.nbytes, f) == (size_t)in.nbytes;
    }
    if (fclose(f) != 0)
        ok = false;
    f = NULL;
    if (!ok || rename(tmp, path) != 0) {
        rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: writing failed: %s", path,
                         strerror(errno ? errno : EIO));
        unlink(tmp);
    }
out:
    free(buf);
    free(header);
    return rc;
}

int pictor_random_model_write(const char *dir, uint64_t *written, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = PICTOR_OK;
    *written = 0;
    if (!d)
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", dir, strerror(errno));
    while (rc == PICTOR_OK && (de = readdir(d))) {
        char sub[4200], tsv[4300], st[4300];
        struct pictor_wrandom *w = NULL;
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        snprintf(tsv, sizeof tsv, "%s/%s", sub, PICTOR_WRANDOM_FILE);
        if (access(tsv, F_OK) != 0)
            continue;
        snprintf(st, sizeof st, "%s/model.safetensors", sub);
        if ((rc = pictor_wrandom_open(tsv, &w, err, errlen)) ||
            (rc = pictor_wrandom_save(w, st, err, errlen)))
            goto next;
        *written += pictor_wrandom_total_bytes(w);
        if (unlink(tsv) != 0)
            rc = pictor_fail(err, errlen, PICTOR_E_IO, "%s: %s", tsv, strerror(errno));
next:
        pictor_wrandom_close(w);
    }
    closedir(d);
    return rc;
}
