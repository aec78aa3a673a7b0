/*
 * kernels/cuda/lt_algo_store_write.c — saving the algorithm store
 * (lt_algo_store.h): the whole store written to a temporary file beside
 * the target under an exclusive lock, merged first with what another
 * writer saved meanwhile, then renamed over it.
 */
#include "lt_algo_store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pictor/status.h"

/* Writes the whole store to f; false on a write error. */
static bool write_all(const struct lt_algo_store *s, FILE *f)
{
    size_t kb = s->id.key_bytes, line_len = 2 * s->rec_bytes + 2;
    char *line = malloc(line_len);
    static const char digits[] = "0123456789abcdef";
    uint64_t sum = FNV64_OFFSET;
    bool ok = line != NULL;

    if (ok)
        ok = fprintf(f, "%s\n", s->header) > 0;
    for (size_t i = 0; ok && i < s->count; i++) {
        const unsigned char *r = lt_store_rec_at(s, i);
        char *p = line;

        for (size_t j = 0; j < s->rec_bytes; j++) {
            if (j == kb)
                *p++ = ' ';
            *p++ = digits[r[j] >> 4];
            *p++ = digits[r[j] & 15];
        }
        *p++ = '\n';
        sum = lt_store_fnv1a(sum, line, line_len);
        ok = fwrite(line, 1, line_len, f) == line_len;
    }
    if (ok)
        ok = fprintf(f, "end %zu %016llx\n", s->count, (unsigned long long)sum) > 0;
    free(line);
    return ok;
}

/* Writes the store to tmp (created or truncated), its stat into *st;
 * PICTOR_OK or E_IO. */
static int write_tmp(const struct lt_algo_store *s, const char *tmp, struct stat *st, char *err,
                     size_t errlen)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    FILE *f;
    bool ok;

    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return PICTOR_E_IO;
    }
    f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return PICTOR_E_IO;
    }
    ok = write_all(s, f) && fflush(f) == 0;
    if (!ok)
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
    if (ok && fstat(fd, st) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (fclose(f) != 0 && ok) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(tmp);
    return ok ? PICTOR_OK : PICTOR_E_IO;
}

int lt_algo_store_save(struct lt_algo_store *s, const char *path, char *err, size_t errlen)
{
    char lock[4200], tmp[4200], ignored[256];
    struct stat st;
    int fd, rc;

    if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return PICTOR_E_IO;
    }
    fd = open(lock, O_RDONLY | O_CREAT | O_CLOEXEC, 0644); /* flock needs no write */
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", lock, strerror(errno));
        return PICTOR_E_IO;
    }
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", lock, strerror(errno));
        close(fd);
        return PICTOR_E_IO;
    }
    /* What another writer saved meanwhile, unless the file is still the
     * one this store last read or wrote (a file that does not load is
     * replaced: its reason was reported when it was loaded). */
    if (stat(path, &st) != 0 || !lt_store_same_file(s, &st))
        lt_algo_store_load(s, path, ignored, sizeof ignored);
    if (!(rc = write_tmp(s, tmp, &st, err, errlen))) {
        if (rename(tmp, path) != 0) {
            snprintf(err, errlen, "%s: cannot rename %s over it: %s", path, tmp,
                     strerror(errno));
            unlink(tmp);
            s->disk_known = false;
            rc = PICTOR_E_IO;
        } else {
            s->disk = st; /* rename keeps the inode, size and time */
            s->disk_known = true;
            s->dirty = false;
        }
    }
    close(fd); /* releases the lock */
    return rc;
}
