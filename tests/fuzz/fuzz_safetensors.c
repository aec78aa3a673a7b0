/*
 * tests/fuzz/fuzz_safetensors.c — libFuzzer target for the safetensors
 * header validator: the input is a whole file image. It must never crash,
 * leak or read out of bounds; a file it accepts must answer every query
 * consistently (each listed tensor is found, lies inside the image and has
 * numel * element size bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/safetensors.h"
#include "pictor/tensor_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct pictor_st *st = NULL;
    if (pictor_st_parse_header(data, size, "fuzz.safetensors", &st, err, sizeof err) !=
        PICTOR_OK)
        return 0;
    for (size_t i = 0; i < pictor_st_count(st); i++) {
        struct pictor_st_info info;
        pictor_tensor t;
        if (pictor_st_info(st, i, &info) != PICTOR_OK ||
            pictor_st_index(st, info.name) != i || info.offset + info.nbytes > size)
            abort();
        int rc = pictor_st_find(st, info.name, &t);
        if (info.dtype < 0 ? rc != PICTOR_E_UNSUPPORTED : rc != PICTOR_OK)
            abort();
        if (rc == PICTOR_OK && info.nbytes) {
            volatile uint8_t sum = 0; /* touch first and last byte */
            sum ^= ((const uint8_t *)t.data)[0];
            sum ^= ((const uint8_t *)t.data)[info.nbytes - 1];
            if ((uint64_t)pictor_tensor_numel(&t) * pictor_dtype_size(t.dtype) != info.nbytes)
                abort();
        }
    }
    (void)pictor_st_metadata(st, "format");
    pictor_st_close(st);
    return 0;
}
