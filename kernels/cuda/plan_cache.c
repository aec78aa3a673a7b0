/*
 * kernels/cuda/plan_cache.c — the CUDA backend's plan cache (plan_cache.h):
 * open addressing with linear probing over a power-of-two table; no
 * deletion other than a full flush, so no tombstones.
 */
#include "plan_cache.h"

#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"

/* First table size (slots); doubles at 3/4 load. */
#define PLAN_CACHE_MIN_SLOTS 16
/* FNV-1a 64-bit parameters (Fowler, Noll, Vo; IETF draft-eastlake-fnv). */
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

struct plan_cache {
    size_t key_bytes, max_entries;
    plan_cache_free_fn free_value;
    size_t slots;        /* power of two */
    size_t count;
    unsigned char *keys; /* slots * key_bytes */
    void **values;       /* slots; NULL = empty slot */
};

static uint64_t hash_key(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = FNV64_OFFSET;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

/* Slot holding key, or the empty slot where it would go. */
static size_t find_slot(const struct plan_cache *pc, const void *key)
{
    size_t mask = pc->slots - 1;
    size_t i = (size_t)hash_key(key, pc->key_bytes) & mask;

    while (pc->values[i] &&
           memcmp(pc->keys + i * pc->key_bytes, key, pc->key_bytes) != 0)
        i = (i + 1) & mask;
    return i;
}

static int alloc_table(struct plan_cache *pc, size_t slots)
{
    unsigned char *keys = calloc(slots, pc->key_bytes);
    void **values = calloc(slots, sizeof *values);

    if (!keys || !values) {
        free(keys);
        free(values);
        return PICTOR_E_NOMEM;
    }
    pc->keys = keys;
    pc->values = values;
    pc->slots = slots;
    return PICTOR_OK;
}

struct plan_cache *plan_cache_create(size_t key_bytes, size_t max_entries,
                                     plan_cache_free_fn free_value)
{
    struct plan_cache *pc;

    if (!key_bytes || !max_entries)
        return NULL;
    pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->key_bytes = key_bytes;
    pc->max_entries = max_entries;
    pc->free_value = free_value;
    if (alloc_table(pc, PLAN_CACHE_MIN_SLOTS)) {
        free(pc);
        return NULL;
    }
    return pc;
}

void plan_cache_flush(struct plan_cache *pc)
{
    for (size_t i = 0; i < pc->slots; i++) {
        if (pc->values[i] && pc->free_value)
            pc->free_value(pc->values[i]);
        pc->values[i] = NULL;
    }
    pc->count = 0;
}

void plan_cache_destroy(struct plan_cache *pc)
{
    if (!pc)
        return;
    plan_cache_flush(pc);
    free(pc->keys);
    free(pc->values);
    free(pc);
}

void *plan_cache_get(const struct plan_cache *pc, const void *key)
{
    return pc->values[find_slot(pc, key)];
}

/* Doubles the table and re-inserts every entry. */
static int grow(struct plan_cache *pc)
{
    struct plan_cache old = *pc;

    if (alloc_table(pc, old.slots * 2))
        return PICTOR_E_NOMEM;
    for (size_t i = 0; i < old.slots; i++) {
        if (old.values[i]) {
            const unsigned char *k = old.keys + i * old.key_bytes;
            size_t j = find_slot(pc, k);

            memcpy(pc->keys + j * pc->key_bytes, k, pc->key_bytes);
            pc->values[j] = old.values[i];
        }
    }
    free(old.keys);
    free(old.values);
    return PICTOR_OK;
}

int plan_cache_put(struct plan_cache *pc, const void *key, void *value)
{
    size_t i;

    if (!value)
        return PICTOR_E_INVALID;
    i = find_slot(pc, key);
    if (pc->values[i]) { /* replace */
        if (pc->free_value && pc->values[i] != value)
            pc->free_value(pc->values[i]);
        pc->values[i] = value;
        return PICTOR_OK;
    }
    if (pc->count >= pc->max_entries)
        plan_cache_flush(pc);
    /* Keep the load at or below 3/4 after this insert. */
    if ((pc->count + 1) * 4 > pc->slots * 3 && grow(pc)) {
        if (pc->free_value)
            pc->free_value(value);
        return PICTOR_E_NOMEM;
    }
    i = find_slot(pc, key);
    memcpy(pc->keys + i * pc->key_bytes, key, pc->key_bytes);
    pc->values[i] = value;
    pc->count++;
    return PICTOR_OK;
}

size_t plan_cache_count(const struct plan_cache *pc)
{
    return pc->count;
}
