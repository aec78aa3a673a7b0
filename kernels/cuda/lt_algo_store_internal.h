/*
 * kernels/cuda/lt_algo_store_internal.h — what the three files of the
 * cuBLASLt algorithm store share (lt_algo_store.c: the map, the file name;
 * lt_algo_store_read.c: parsing and loading; lt_algo_store_write.c: the
 * locked atomic save). The public contract is lt_algo_store.h.
 */
#ifndef PICTOR_LT_ALGO_STORE_INTERNAL_H
#define PICTOR_LT_ALGO_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "lt_algo_store.h"

/* Line 1's first word. */
#define STORE_MAGIC "pictor-cublaslt-algos"
/* First index size (slots); doubles to keep the load at or below 1/2. */
#define STORE_MIN_SLOTS 16
/* FNV-1a 64-bit parameters (Fowler, Noll, Vo; IETF draft-eastlake-fnv). */
#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
/* Line 1 is at most this long: fixed words plus the name. */
#define STORE_HEADER_MAX (LT_ALGO_STORE_NAME_MAX + 256)
/* The end line: "end " + a count + " " + 16 hex digits + "\n". */
#define STORE_END_MAX 64

struct lt_algo_store {
    struct lt_algo_store_id id; /* id.gpu_name points at name */
    char name[LT_ALGO_STORE_NAME_MAX + 1];
    char header[STORE_HEADER_MAX]; /* line 1 without its newline */
    size_t max_entries, rec_bytes; /* rec_bytes = key_bytes + blob_bytes */
    size_t count, cap;             /* records stored, allocated */
    unsigned char *recs;           /* cap * rec_bytes: key then blob */
    size_t slots;                  /* power of two */
    size_t *index;                 /* slots; 0 empty, else record + 1 */
    bool dirty;
    bool disk_known;               /* disk: the file as last loaded or saved */
    struct stat disk;
};

/* Whether st is the file this store last loaded or saved (same inode,
 * size and time: nobody replaced it since; a save always makes a new
 * inode, so another writer's save shows). */
bool lt_store_same_file(const struct lt_algo_store *s, const struct stat *st);
/* FNV-1a 64 over n bytes, continuing from h. */
uint64_t lt_store_fnv1a(uint64_t h, const void *p, size_t n);
/* Bytes kept from a GPU name in the file name (and accepted in line 1). */
bool lt_store_name_byte_ok(unsigned char c);
/* Record i: key then blob. */
const unsigned char *lt_store_rec_at(const struct lt_algo_store *s, size_t i);
/* Appends a record for a key the store lacks (room checked by callers). */
int lt_store_append(struct lt_algo_store *s, const void *key, const void *blob);

#endif /* PICTOR_LT_ALGO_STORE_INTERNAL_H */
