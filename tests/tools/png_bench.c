/* tests/tools/png_bench.c — how long pictor_png_encode takes and how large
 * its output is (docs/benchmarks.md, "PNG encoding"). Not a test: it
 * asserts nothing and make test does not run it.
 *
 *   png_bench [--size WxH] [--runs N] [FILE.png ...]
 *
 * Encodes three synthetic WxH images (default 1024x1024) — "noise"
 * (uniform random bytes: the worst case, nothing to compress), "picture"
 * (a colour gradient with a hard-edged disc and +-6 noise per channel), and
 * "flat" (one colour) — and any FILE.png given (read with libpng), on one
 * thread and on the automatic number, and base64-encodes the result as
 * pictord does. Prints one line per image and thread count: the medians of
 * N runs (default 9) of the wall time and of the process CPU time (all
 * threads; on a loaded machine the CPU time of one thread is the steadier
 * number), the size in bytes and as a share of the raw RGB bytes. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictor/base64.h"
#include "pictor/png.h"
#include "pictor/status.h"

#define RUNS_MAX 101

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_next(uint64_t *s) /* xorshift64* */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static uint8_t *make_image(const char *kind, int w, int h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    uint64_t s = 12345;
    for (int y = 0; y < h && p; y++)
        for (int x = 0; x < w; x++) {
            int dx = x - w / 2, dy = y - h / 3, r = (w < h ? w : h) / 4;
            int disc = (long)dx * dx + (long)dy * dy < (long)r * r;
            int base[3] = {disc ? 220 : x * 255 / w, disc ? 40 : y * 255 / h,
                           disc ? 60 : (x + y) * 255 / (w + h)};
            for (int c = 0; c < 3; c++) {
                int v = 77;
                if (!strcmp(kind, "noise"))
                    v = (int)(rng_next(&s) & 255);
                else if (!strcmp(kind, "picture"))
                    v = base[c] + (int)(rng_next(&s) % 13) - 6;
                p[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    return p;
}

static uint8_t *read_png(const char *path, int *w, int *h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return NULL;
    im.format = PNG_FORMAT_RGB;
    uint8_t *p = malloc(PNG_IMAGE_SIZE(im));
    if (!p || !png_image_finish_read(&im, NULL, p, 0, NULL)) {
        png_image_free(&im);
        free(p);
        return NULL;
    }
    *w = (int)im.width;
    *h = (int)im.height;
    return p;
}

static int bench(const char *name, const uint8_t *rgb, int w, int h, int runs)
{
    struct pictor_png_text text = {"parameters", "a red circle on a blue background"};
    for (int threads = 1; threads >= 0; threads--) { /* 1, then automatic (0) */
        double png_ms[RUNS_MAX], cpu_ms[RUNS_MAX], b64_ms[RUNS_MAX];
        size_t len = 0;
        for (int r = 0; r < runs; r++) {
            uint8_t *buf = NULL;
            char *b64 = NULL, err[256];
            double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ms();
            if (pictor_png_encode_mt(rgb, w, h, &text, 1, threads, &buf, &len, err,
                                     sizeof err) != PICTOR_OK) {
                fprintf(stderr, "png_bench: %s: %s\n", name, err);
                return 1;
            }
            double t1 = now_ms();
            cpu_ms[r] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (pictor_base64_encode(buf, len, &b64, NULL) != PICTOR_OK) {
                fprintf(stderr, "png_bench: base64 failed\n");
                free(buf);
                return 1;
            }
            png_ms[r] = t1 - t0;
            b64_ms[r] = now_ms() - t1;
            free(b64);
            free(buf);
        }
        qsort(png_ms, (size_t)runs, sizeof png_ms[0], cmp_double);
        qsort(cpu_ms, (size_t)runs, sizeof cpu_ms[0], cmp_double);
        qsort(b64_ms, (size_t)runs, sizeof b64_ms[0], cmp_double);
        printf("%-24s %dx%d threads %-4s png %7.2f ms (cpu %7.2f ms)  base64 %6.2f ms  "
               "%9zu bytes  %5.1f%% of raw\n",
               name, w, h, threads ? "1" : "auto", png_ms[runs / 2], cpu_ms[runs / 2],
               b64_ms[runs / 2], len,
               100.0 * (double)len / ((double)w * h * 3));
    }
    return 0;
}

int main(int argc, char **argv)
{
    int w = 1024, h = 1024, runs = 9, rc = 0;
    int first_file = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc &&
            sscanf(argv[i + 1], "%dx%d", &w, &h) == 2 && w > 0 && h > 0) {
            i++;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: png_bench [--size WxH] [--runs N] [FILE.png ...]\n");
            return 2;
        } else {
            first_file = i;
            break;
        }
    }
    if (runs < 1 || runs > RUNS_MAX) {
        fprintf(stderr, "png_bench: --runs 1..%d\n", RUNS_MAX);
        return 2;
    }
    static const char *const kinds[] = {"noise", "picture", "flat"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !rc; k++) {
        uint8_t *rgb = make_image(kinds[k], w, h);
        rc = rgb ? bench(kinds[k], rgb, w, h, runs) : 1;
        free(rgb);
    }
    for (int i = first_file; i < argc && !rc; i++) {
        int fw = 0, fh = 0;
        uint8_t *rgb = read_png(argv[i], &fw, &fh);
        if (!rgb) {
            fprintf(stderr, "png_bench: cannot read %s\n", argv[i]);
            return 1;
        }
        rc = bench(argv[i], rgb, fw, fh, runs);
        free(rgb);
    }
    return rc;
}
