/* tests/harness/manifest.c — see manifest.h. */
#include "manifest.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Repository-relative path `rel`, from the cwd or a folder above the binary. */
bool find_data(const char *rel, char *out, size_t len)
{
    if (access(rel, R_OK) == 0) {
        snprintf(out, len, "%s", rel);
        return true;
    }
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0)
        return false;
    dir[n] = 0;
    for (char *s = strrchr(dir, '/'); s; s = strrchr(dir, '/')) {
        *s = 0;
        int w = snprintf(out, len, "%s/%s", dir, rel);
        if (w > 0 && (size_t)w < len && access(out, R_OK) == 0)
            return true;
    }
    return false;
}


/* Reads name<TAB>d0,d1,... lines (header line skipped). Returns count or -1. */
int read_manifest(const char *file, struct mtensor *t, int cap)
{
    char path[PATH_MAX], rel[256], line[512];
    snprintf(rel, sizeof rel, "tests/data/manifests/%s", file);
    if (!find_data(rel, path, sizeof path))
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        char *tab = strchr(line, '\t');
        if (!tab || strncmp(line, "name\t", 5) == 0)
            continue;
        *tab = 0;
        if (snprintf(t[n].name, sizeof t[n].name, "%s", line) >= (int)sizeof t[n].name)
            continue;
        t[n].ndim = 0;
        for (char *s = tab + 1; *s && *s != '\n' && t[n].ndim < 5;) {
            t[n].shape[t[n].ndim++] = strtoll(s, &s, 10);
            if (*s == ',')
                s++;
        }
        n++;
    }
    fclose(f);
    return n;
}

/* Writes a BF16 safetensors header for t[0..n) (skipping index `skip`) and
 * extends the file sparsely over the whole data section. */
bool write_sparse_st(const char *path, const struct mtensor *t, int n, int skip)
{
    size_t cap = (size_t)n * 256 + 64, len = 0;
    char *h = malloc(cap);
    uint64_t off = 0;
    bool ok = h != NULL;
    if (ok)
        len += (size_t)snprintf(h + len, cap - len, "{");
    for (int i = 0; ok && i < n; i++) {
        if (i == skip)
            continue;
        uint64_t bytes = 2; /* BF16 */
        for (int d = 0; d < t[i].ndim; d++)
            bytes *= (uint64_t)t[i].shape[d];
        len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"BF16\",\"shape\":[",
                                len > 1 ? "," : "", t[i].name);
        for (int d = 0; d < t[i].ndim; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)t[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + bytes));
        off += bytes;
    }
    if (ok) {
        len += (size_t)snprintf(h + len, cap - len, "}");
        while (len % 8)
            h[len++] = ' ';
    }
    int fd = ok ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)((uint64_t)len >> (8 * i));
    ok = fd >= 0 && write(fd, le, 8) == 8 && write(fd, h, len) == (ssize_t)len &&
         ftruncate(fd, (off_t)(8 + len + off)) == 0;
    if (fd >= 0)
        close(fd);
    free(h);
    return ok;
}

