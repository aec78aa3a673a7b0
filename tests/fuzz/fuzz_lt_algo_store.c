/*
 * tests/fuzz/fuzz_lt_algo_store.c — libFuzzer target for the cuBLASLt
 * algorithm file's reader (kernels/cuda/lt_algo_store.h): the input is a
 * whole file. It must never crash, leak or read out of bounds; a file it
 * refuses adds nothing (all or nothing), and accepting one does not make
 * the store dirty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/lt_algo_store.h"
#include "pictor/status.h"

/* Small records, so the fuzzer can build valid ones; the seed corpus
 * (tests/fuzz/corpus/fuzz_lt_algo_store) is written for this id. */
#define KEY 4
#define BLOB 6
#define MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lt_algo_store *fresh(void)
{
    struct lt_algo_store_id id = {.gpu_name = "Fuzz GPU", .cc_major = 9, .cc_minor = 0,
                                  .sm_count = 132, .lib_version = 130100, .layout = 1,
                                  .key_bytes = KEY, .blob_bytes = BLOB};
    struct lt_algo_store *s = lt_algo_store_create(&id, MAX);

    if (!s)
        abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lt_algo_store *s = fresh();
    char err[512];
    int rc = lt_algo_store_parse(s, (const char *)data, size, "fuzz.algos", err, sizeof err);

    if (rc != PICTOR_OK && lt_algo_store_count(s) != 0)
        abort(); /* refused, yet something was added */
    if (rc == PICTOR_OK && lt_algo_store_dirty(s))
        abort(); /* loading is not a change */
    lt_algo_store_destroy(s);
    return 0;
}
