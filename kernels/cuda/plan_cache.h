/*
 * kernels/cuda/plan_cache.h — a small hash map from fixed-size byte keys to
 * owned values. The CUDA backend keeps its library plans in it, one entry
 * per problem: cuBLASLt matmul descriptors + the heuristic's algorithms
 * (lt_plan.c), cuDNN descriptors + the chosen algorithm (op_conv2d.c),
 * so the heuristics run once per shape, never inside a CUDA graph capture
 * of a repeated shape.
 *
 * Keys are compared byte for byte (memcmp): callers memset their key struct
 * to zero before filling it, so padding bytes compare equal.
 * Values are non-NULL pointers the cache owns: it frees them with the
 * free_value callback given at creation (on replacement, on flush and on
 * destroy).
 * Growth: open addressing, the table doubles at 3/4 load. When an insert
 * would exceed max_entries the whole cache is flushed first (plans are
 * cheap to rebuild; a model has a few dozen shapes per resolution), so
 * memory stays bounded for a server that sees many resolutions.
 *
 * Thread: none of it is thread-safe. Each backend context owns its caches
 * and a backend is used by one thread at a time (pictor/backend.h), so the
 * worker that owns the backend is the only caller.
 * Pure C without CUDA: built in every configuration and unit-tested on the
 * CPU (tests/unit/test_plan_cache.c).
 */
#ifndef PICTOR_PLAN_CACHE_H
#define PICTOR_PLAN_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct plan_cache;

typedef void (*plan_cache_free_fn)(void *value);

/* A cache for keys of key_bytes (> 0) bytes holding at most max_entries
 * (> 0) values. NULL when out of memory or an argument is 0. */
struct plan_cache *plan_cache_create(size_t key_bytes, size_t max_entries,
                                     plan_cache_free_fn free_value);

/* Frees every value and the cache; NULL is a no-op. */
void plan_cache_destroy(struct plan_cache *pc);

/* The value stored under key, or NULL. */
void *plan_cache_get(const struct plan_cache *pc, const void *key);

/* Stores value (non-NULL) under key, replacing (and freeing) a previous
 * value. Ownership of value passes to the cache in every case: on failure
 * (PICTOR_E_NOMEM, PICTOR_E_INVALID for a NULL value) it is freed at once.
 * Returns PICTOR_OK or a negative pictor_status. */
int plan_cache_put(struct plan_cache *pc, const void *key, void *value);

/* Frees every value; the cache stays usable. */
void plan_cache_flush(struct plan_cache *pc);

/* Number of stored values. */
size_t plan_cache_count(const struct plan_cache *pc);

#endif /* PICTOR_PLAN_CACHE_H */
