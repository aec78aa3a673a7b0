/*
 * tests/gpu/test_cuda_upload.c — host-to-device uploads of every size
 * class (kernels/cuda/cuda_upload.c: the plain path below 16 MiB, the
 * pinned two-buffer pipeline above, with a last piece of any length) come
 * back byte for byte; a 1 GiB upload's rate is printed (never asserted),
 * from ordinary memory and from an mmapped file in the page cache (what
 * loading weights reads).
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cross.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_bytes(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* Uploads n bytes of src, downloads them, compares; the upload's seconds. */
static double round_trip(const char *what, const unsigned char *src, size_t n)
{
    void *dev = NULL;
    unsigned char *back = xmalloc(n);
    double t = -1;
    check_rc(what, g_gpu, pictor_backend_alloc(g_gpu, n, &dev));
    if (dev) {
        memset(back, 0, n);
        double t0 = now_s();
        check_rc(what, g_gpu, pictor_backend_upload(g_gpu, dev, src, n));
        t = now_s() - t0;
        check_rc(what, g_gpu, pictor_backend_download(g_gpu, back, dev, n));
        CHECK(memcmp(back, src, n) == 0, "%s: %zu bytes come back unchanged", what, n);
        pictor_backend_free(g_gpu, dev);
    }
    free(back);
    return t;
}

static void test_sizes(void)
{
    static const size_t sizes[] = {1, 4097, (size_t)16 << 20, ((size_t)64 << 20) + 3,
                                   ((size_t)200 << 20) + 12345, (size_t)128 << 20};
    char what[64];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *src = xmalloc(sizes[i]);
        fill_bytes(src, sizes[i], (uint32_t)i + 1);
        snprintf(what, sizeof what, "upload %zu bytes", sizes[i]);
        round_trip(what, src, sizes[i]);
        free(src);
    }
}

static void test_rates(void)
{
    if (cross_emu_skip("timings"))
        return;
    const size_t n = (size_t)1 << 30;
    unsigned char *src = xmalloc(n);
    fill_bytes(src, n, 77);
    double t = round_trip("upload 1 GiB", src, n);
    if (t > 0)
        printf("TIME upload 1 GiB from memory: %.1f ms, %.1f GB/s\n", t * 1e3, (double)n / t / 1e9);
    char path[] = "/tmp/pictor-upload-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0 && write(fd, src, n) == (ssize_t)n) {
        void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            t = round_trip("upload 1 GiB mmapped", map, n);
            if (t > 0)
                printf("TIME upload 1 GiB from an mmapped file (page cache): %.1f ms, %.1f GB/s\n",
                       t * 1e3, (double)n / t / 1e9);
            munmap(map, n);
        }
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(src);
}

int main(void)
{
    int rc = cross_setup("cuda-upload");
    if (rc)
        return rc == 1 ? 0 : 1;
    RUN(test_sizes);
    RUN(test_rates);
    cross_teardown();
    TEST_MAIN_END();
}
