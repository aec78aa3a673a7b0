/*
 * tests/harness/st_write.h — writes small safetensors files for tests.
 * st_write(path, n, tensors) writes the tensors in order with a JSON header
 * padded to 8 bytes, as the reference writer does. dtype strings: "F32",
 * "F16", "BF16", "I64", ... Returns 0 on success.
 */
#ifndef PICTOR_ST_WRITE_H
#define PICTOR_ST_WRITE_H

#include <stddef.h>
#include <stdint.h>

struct st_entry {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[5];
    const void *data;
    size_t nbytes;
};

int st_write(const char *path, size_t n, const struct st_entry *e);

#endif
