/*
 * tests/unit/test_par_copy.c — par_copy (kernels/cuda/par_copy.h), the
 * threaded memcpy of the pinned upload path: every byte arrives, for every
 * thread count, at lengths around the page and thread-count boundaries
 * (an H100 machine found 64 MiB + 3 bytes coming back short with 8
 * threads: the 3-byte piece was split into 8 empty parts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/par_copy.h"
#include "../harness/test.h"

static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void test_part_bytes(void)
{
    static const size_t ns[] = {1, 3, 7, 8, 4095, 4096, 4097, 8 * 4096, 8 * 4096 + 3,
                                8 * 4096 * 5 + 1, (size_t)64 << 20, ((size_t)64 << 20) + 3};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int t = -1; t <= PAR_COPY_MAX_THREADS + 2; t++) {
            size_t per = par_copy_part_bytes(ns[i], t);
            int used = t < 1 ? 1 : t > PAR_COPY_MAX_THREADS ? PAR_COPY_MAX_THREADS : t;
            CHECK(per > 0 && per % 4096 == 0, "n %zu, %d threads: part %zu bytes", ns[i], t, per);
            CHECK(per * (size_t)used >= ns[i], "n %zu, %d threads: %d parts of %zu cover it",
                  ns[i], t, used, per);
        }
    CHECK(par_copy_part_bytes(0, 8) == 0, "n 0: part %zu", par_copy_part_bytes(0, 8));
}

static void test_copies(void)
{
    static const size_t ns[] = {0, 1, 3, 4096, 4099, 8 * 4096 + 3, 3 * 4096 * 7 + 11,
                                ((size_t)1 << 20) + 3};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int t = 1; t <= PAR_COPY_MAX_THREADS; t++) {
            size_t n = ns[i];
            unsigned char *src = malloc(n + 1), *dst = malloc(n + 2);
            if (!src || !dst)
                abort();
            fill(src, n, (uint32_t)(i * 16 + (size_t)t));
            memset(dst, 0xa5, n + 2);
            par_copy((char *)dst + 1, (const char *)src, n, t);
            CHECK(memcmp(dst + 1, src, n) == 0, "n %zu, %d threads: bytes arrive", n, t);
            CHECK(dst[0] == 0xa5 && dst[n + 1] == 0xa5, "n %zu, %d threads: nothing outside",
                  n, t);
            free(src);
            free(dst);
        }
}

int main(void)
{
    RUN(test_part_bytes);
    RUN(test_copies);
    TEST_MAIN_END();
}
