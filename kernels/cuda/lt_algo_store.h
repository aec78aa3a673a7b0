/*
 * kernels/cuda/lt_algo_store.h — cuBLASLt algorithm choices kept in a file,
 * so a restarted server does not search again. A map from fixed-size
 * problem keys (bytes) to fixed-size algorithm blobs (bytes), read from and
 * written to one file. lt_plan.c stores there, per GEMM problem, the
 * algorithms cublasLtMatmulAlgoGetHeuristic chose (cublasLtMatmulAlgo_t is
 * 8 x uint64 of opaque data that cublasLt.h says "can be trivially
 * serialized and later restored for use with the same version of cuBLAS
 * library"); the store itself knows nothing of CUDA.
 *
 * File format (text, one file per GPU model; docs/configuration.md):
 *   line 1   "pictor-cublaslt-algos 1 gpu=NAME cc=9.0 sms=132 cublaslt=130100
 *            layout=1 key=144 blob=264"  (one line; NAME with every byte
 *            outside [A-Za-z0-9._-] written as '_')
 *   records  "<2*key hex digits> <2*blob hex digits>", one per line, in
 *            insertion order, no key twice
 *   last     "end <records> <FNV-1a 64 of the record lines, 16 hex digits>"
 * Every field of line 1 must equal the running GPU's and library's
 * (struct lt_algo_store_id), and the whole file must parse (record count
 * and checksum included): otherwise the file is not used at all
 * (all or nothing), and the load reports the file and the first reason.
 *
 * Saving (lt_algo_store_save): under an exclusive flock(2) on "PATH.lock",
 * the file on disk is read again and its records that this store lacks are
 * merged in (two workers on two GPUs of one model share a file), then the
 * whole file is written to "PATH.tmp" and renamed over PATH: a reader sees
 * the old file or the new one, never a mix, and a process killed while
 * saving leaves the previous file intact. No fsync: the file is a cache; a
 * power loss can at worst leave a file that fails its checksum, which is
 * then ignored with a warning and rewritten.
 *
 * Bounds: at most max_entries records; a put beyond that is refused
 * (PICTOR_E_NOMEM: the entries seen first, a server's usual shapes, stay)
 * and a file with more records is rejected.
 * Thread: none of it is thread-safe; one store per backend context, used
 * by the worker that owns the backend. Different stores (threads or
 * processes) may share a file: saves are serialised by the lock.
 * Pure C: built in every configuration, unit-tested on the CPU
 * (tests/unit/test_lt_algo_store.c).
 */
#ifndef PICTOR_LT_ALGO_STORE_H
#define PICTOR_LT_ALGO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file format's version (line 1's second word). */
#define LT_ALGO_STORE_FORMAT 1
/* Longest GPU name kept (cudaDeviceProp.name is char[256]). */
#define LT_ALGO_STORE_NAME_MAX 255

/* What a file must have been written for. Every field is part of line 1. */
struct lt_algo_store_id {
    const char *gpu_name;  /* cudaDeviceProp.name */
    int cc_major, cc_minor; /* compute capability */
    int sm_count;          /* multiprocessors (the heuristic sizes waves by it) */
    uint64_t lib_version;  /* cublasLtGetVersion() at run time */
    uint32_t layout;       /* the caller's version of what key and blob mean */
    size_t key_bytes, blob_bytes; /* > 0 */
};

struct lt_algo_store;

/* An empty store for id (copied, the name included) holding at most
 * max_entries records. NULL when out of memory or an argument is invalid
 * (no name, zero sizes or max_entries). */
struct lt_algo_store *lt_algo_store_create(const struct lt_algo_store_id *id,
                                           size_t max_entries);

/* Frees the store (unsaved entries are lost); NULL is a no-op. */
void lt_algo_store_destroy(struct lt_algo_store *s);

/* Adds the records of file `path` that the store lacks (an entry already
 * in the store is kept). All or nothing: PICTOR_OK (also when the file
 * holds no records); PICTOR_E_NOT_FOUND when there is no file (nothing
 * written to err); PICTOR_E_FORMAT when it was written for another GPU,
 * library, layout or format version, or is truncated or corrupt, and
 * PICTOR_E_IO when it cannot be read — both with "PATH: reason" in err,
 * and nothing added. PICTOR_E_NOMEM when memory runs out. */
int lt_algo_store_load(struct lt_algo_store *s, const char *path, char *err, size_t errlen);

/* lt_algo_store_load's parser on a buffer holding a whole file (len
 * bytes, need not be NUL-terminated); `name` is what messages call it. */
int lt_algo_store_parse(struct lt_algo_store *s, const char *buf, size_t len,
                        const char *name, char *err, size_t errlen);

/* The blob stored under key (blob_bytes bytes, valid until the next put,
 * load or save), or NULL. */
const void *lt_algo_store_get(const struct lt_algo_store *s, const void *key);

/* Stores a copy of blob under key, replacing an older blob, and marks the
 * store dirty when that changed anything. PICTOR_OK, or PICTOR_E_NOMEM
 * (out of memory, or a new key with max_entries already stored). */
int lt_algo_store_put(struct lt_algo_store *s, const void *key, const void *blob);

/* Writes the store to `path` atomically, merging in records another
 * writer left there first (see the top of this file); clears the dirty
 * mark. PICTOR_OK, or PICTOR_E_IO with "PATH: what failed: strerror" in
 * err (the folder is missing or not writable, the disk is full, ...): the
 * store stays as it was, dirty, and usable. A file on disk that is
 * unreadable or foreign is replaced, not merged. */
int lt_algo_store_save(struct lt_algo_store *s, const char *path, char *err, size_t errlen);

/* Whether a put changed the store since the last successful save (a load
 * does not count: what it adds is already on disk). */
bool lt_algo_store_dirty(const struct lt_algo_store *s);

/* Number of stored entries. */
size_t lt_algo_store_count(const struct lt_algo_store *s);

/* "DIR/cublaslt-NAME-smMN.algos" into out: NAME is gpu_name with every run
 * of bytes outside [A-Za-z0-9._-] written as one '-' (no leading or
 * trailing '-'). PICTOR_OK, or PICTOR_E_INVALID when it does not fit. */
int lt_algo_store_file_name(const char *dir, const char *gpu_name, int cc_major, int cc_minor,
                            char *out, size_t outlen);

#endif /* PICTOR_LT_ALGO_STORE_H */
