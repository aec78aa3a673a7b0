/*
 * kernels/cuda/lt_algo_store.c — cuBLASLt algorithm choices in a file
 * (lt_algo_store.h): records in insertion order in one array, an open-
 * addressing index over them (no deletion, so no tombstones), and the
 * file's name. The text format's reader is lt_algo_store_read.c, the
 * locked atomic save lt_algo_store_write.c.
 */
#include "lt_algo_store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"

/* Whether st is the file this store last loaded or saved (same inode,
 * size and time: nobody replaced it since; a save always makes a new
 * inode, so another writer's save shows). */
bool lt_store_same_file(const struct lt_algo_store *s, const struct stat *st)
{
    return s->disk_known && st->st_dev == s->disk.st_dev && st->st_ino == s->disk.st_ino &&
           st->st_size == s->disk.st_size && st->st_mtim.tv_sec == s->disk.st_mtim.tv_sec &&
           st->st_mtim.tv_nsec == s->disk.st_mtim.tv_nsec;
}

uint64_t lt_store_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV64_PRIME;
    }
    return h;
}

bool lt_store_name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

struct lt_algo_store *lt_algo_store_create(const struct lt_algo_store_id *id,
                                           size_t max_entries)
{
    struct lt_algo_store *s;
    char clean[LT_ALGO_STORE_NAME_MAX + 1];
    size_t n;

    if (!id || !id->gpu_name || !id->key_bytes || !id->blob_bytes || !max_entries)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = *id;
    snprintf(s->name, sizeof s->name, "%s", id->gpu_name);
    s->id.gpu_name = s->name;
    n = strlen(s->name);
    for (size_t i = 0; i <= n; i++) /* the NUL too */
        clean[i] = i == n || lt_store_name_byte_ok((unsigned char)s->name[i]) ? s->name[i] : '_';
    snprintf(s->header, sizeof s->header,
             "%s %d gpu=%s cc=%d.%d sms=%d cublaslt=%llu layout=%u key=%zu blob=%zu",
             STORE_MAGIC, LT_ALGO_STORE_FORMAT, clean, id->cc_major, id->cc_minor,
             id->sm_count, (unsigned long long)id->lib_version, (unsigned)id->layout,
             id->key_bytes, id->blob_bytes);
    s->max_entries = max_entries;
    s->rec_bytes = id->key_bytes + id->blob_bytes;
    s->slots = STORE_MIN_SLOTS;
    s->index = calloc(s->slots, sizeof *s->index);
    if (!s->index) {
        free(s);
        return NULL;
    }
    return s;
}

void lt_algo_store_destroy(struct lt_algo_store *s)
{
    if (!s)
        return;
    free(s->recs);
    free(s->index);
    free(s);
}

/* ---- the map ------------------------------------------------------------- */

const unsigned char *lt_store_rec_at(const struct lt_algo_store *s, size_t i)
{
    return s->recs + i * s->rec_bytes;
}

/* Index slot holding key, or the empty slot where it would go. */
static size_t find_slot(const struct lt_algo_store *s, const void *key)
{
    size_t mask = s->slots - 1;
    size_t i = (size_t)lt_store_fnv1a(FNV64_OFFSET, key, s->id.key_bytes) & mask;

    while (s->index[i] && memcmp(lt_store_rec_at(s, s->index[i] - 1), key, s->id.key_bytes) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Doubles the index and re-inserts every record. */
static int grow_index(struct lt_algo_store *s)
{
    size_t *old = s->index, old_slots = s->slots;

    s->index = calloc(old_slots * 2, sizeof *s->index);
    if (!s->index) {
        s->index = old;
        return PICTOR_E_NOMEM;
    }
    s->slots = old_slots * 2;
    for (size_t i = 0; i < s->count; i++)
        s->index[find_slot(s, lt_store_rec_at(s, i))] = i + 1;
    free(old);
    return PICTOR_OK;
}

const void *lt_algo_store_get(const struct lt_algo_store *s, const void *key)
{
    size_t slot = find_slot(s, key);

    return s->index[slot] ? lt_store_rec_at(s, s->index[slot] - 1) + s->id.key_bytes : NULL;
}

/* Appends a record for a key the store lacks (room checked by callers). */
int lt_store_append(struct lt_algo_store *s, const void *key, const void *blob)
{
    unsigned char *r;

    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : STORE_MIN_SLOTS;
        unsigned char *recs = realloc(s->recs, cap * s->rec_bytes);

        if (!recs)
            return PICTOR_E_NOMEM;
        s->recs = recs;
        s->cap = cap;
    }
    if ((s->count + 1) * 2 > s->slots && grow_index(s))
        return PICTOR_E_NOMEM;
    r = s->recs + s->count * s->rec_bytes;
    memcpy(r, key, s->id.key_bytes);
    memcpy(r + s->id.key_bytes, blob, s->id.blob_bytes);
    s->index[find_slot(s, key)] = ++s->count;
    return PICTOR_OK;
}

int lt_algo_store_put(struct lt_algo_store *s, const void *key, const void *blob)
{
    size_t slot = find_slot(s, key);
    int rc;

    if (s->index[slot]) {
        unsigned char *b = s->recs + (s->index[slot] - 1) * s->rec_bytes + s->id.key_bytes;

        if (memcmp(b, blob, s->id.blob_bytes) != 0) {
            memcpy(b, blob, s->id.blob_bytes);
            s->dirty = true;
        }
        return PICTOR_OK;
    }
    if (s->count >= s->max_entries)
        return PICTOR_E_NOMEM;
    if ((rc = lt_store_append(s, key, blob)))
        return rc;
    s->dirty = true;
    return PICTOR_OK;
}

bool lt_algo_store_dirty(const struct lt_algo_store *s)
{
    return s->dirty;
}

size_t lt_algo_store_count(const struct lt_algo_store *s)
{
    return s->count;
}


int lt_algo_store_file_name(const char *dir, const char *gpu_name, int cc_major, int cc_minor,
                            char *out, size_t outlen)
{
    char clean[LT_ALGO_STORE_NAME_MAX + 1];
    size_t n = 0, dn = strlen(dir);
    bool gap = false;

    for (const char *p = gpu_name; *p && n + 2 < sizeof clean; p++) {
        if (!lt_store_name_byte_ok((unsigned char)*p)) {
            gap = n > 0;
            continue;
        }
        if (gap)
            clean[n++] = '-';
        clean[n++] = *p;
        gap = false;
    }
    clean[n] = '\0';
    while (dn > 1 && dir[dn - 1] == '/')
        dn--;
    if (!dn || (size_t)snprintf(out, outlen, "%.*s/cublaslt-%s-sm%d%d.algos", (int)dn, dir,
                                n ? clean : "gpu", cc_major, cc_minor) >= outlen)
        return PICTOR_E_INVALID;
    return PICTOR_OK;
}
