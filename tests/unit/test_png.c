/* tests/unit/test_png.c — the PNG writer (pictor/png.h) checked by an
 * independent decoder: libpng reads every image back (CRCs, zlib stream,
 * filters) and the pixels must be identical; zlib inflates the joined IDAT
 * stream on its own (Adler-32 included). Sizes from 1x1 through odd widths
 * and rows longer than a stripe to 1024x1024 gradient+noise; the bytes must
 * not depend on the number of threads. */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/lib/png_stripe.h"
#include "../harness/test.h"
#include "pictor/png.h"
#include "pictor/status.h"

/* ---- images ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) /* xorshift64* */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* A picture-like image: a diagonal colour gradient, a hard-edged disc,
 * and +-noise per channel (noise = 0: smooth). */
static uint8_t *make_image(int w, int h, int noise, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    uint64_t s = seed | 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int dx = x - w / 2, dy = y - h / 3, r = (w < h ? w : h) / 4;
            bool disc = (long)dx * dx + (long)dy * dy < (long)r * r;
            int base[3] = {disc ? 220 : x * 255 / w, disc ? 40 : y * 255 / h,
                           disc ? 60 : (x + y) * 255 / (w + h)};
            for (int c = 0; c < 3; c++) {
                int n = noise ? (int)(rng_next(&s) % (uint64_t)(2 * noise + 1)) - noise : 0;
                p[((size_t)y * w + x) * 3 + c] = clamp8(base[c] + n);
            }
        }
    return p;
}

/* ---- decoding ------------------------------------------------------------------ */

struct reader {
    const uint8_t *p;
    size_t len, pos;
};

static void mem_read(png_structp png, png_bytep out, png_size_t n)
{
    struct reader *r = png_get_io_ptr(png);
    if (r->pos + n > r->len)
        png_error(png, "short read");
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
}

struct decoded {
    int ok;
    png_uint_32 w, h;
    int color, depth, interlace;
    uint8_t *rgb;
    char key[80], value[256];
    int n_text;
};

/* libpng reads buf; d->ok = 1 when it read the whole image without error. */
static void decode(const uint8_t *buf, size_t len, struct decoded *d)
{
    memset(d, 0, sizeof *d);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    struct reader r = {buf, len, 0};
    uint8_t *volatile rgb = NULL; /* survives the longjmp */
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_set_read_fn(png, &r, mem_read);
        png_read_info(png, info);
        d->w = png_get_image_width(png, info);
        d->h = png_get_image_height(png, info);
        d->color = png_get_color_type(png, info);
        d->depth = png_get_bit_depth(png, info);
        d->interlace = png_get_interlace_type(png, info);
        if (d->color == PNG_COLOR_TYPE_RGB && d->depth == 8 && d->w && d->h) {
            rgb = malloc((size_t)d->w * d->h * 3);
            for (png_uint_32 y = 0; y < d->h; y++)
                png_read_row(png, rgb + (size_t)y * d->w * 3, NULL);
            png_read_end(png, info);
            png_textp text = NULL;
            d->n_text = png_get_text(png, info, &text, NULL);
            if (d->n_text > 0) {
                snprintf(d->key, sizeof d->key, "%s", text[0].key);
                snprintf(d->value, sizeof d->value, "%s", text[0].text);
            }
            d->ok = r.pos == len; /* nothing after IEND */
        }
    }
    d->rgb = rgb;
    png_destroy_read_struct(&png, &info, NULL);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib alone: the IDAT chunks joined inflate to h * (3w + 1) bytes with a
 * good Adler-32; returns the number of IDAT chunks, -1 when it does not. */
static int inflate_idat(const uint8_t *buf, size_t len, int w, int h)
{
    size_t zlen = 0, pos = 8;
    uint8_t *z = malloc(len);
    int n_idat = 0;
    while (pos + 12 <= len) {
        uint32_t n = be32(buf + pos);
        if (pos + 12 + n > len)
            break;
        if (memcmp(buf + pos + 4, "IDAT", 4) == 0) {
            memcpy(z + zlen, buf + pos + 8, n);
            zlen += n;
            n_idat++;
        }
        pos += 12 + n;
    }
    uLongf want = (uLongf)h * ((uLongf)w * 3 + 1), got = want + 1;
    uint8_t *raw = malloc(got);
    int zrc = uncompress(raw, &got, z, (uLong)zlen);
    free(raw);
    free(z);
    return zrc == Z_OK && got == want ? n_idat : -1;
}

/* ---- tests ----------------------------------------------------------------------- */

/* Encodes, decodes and compares; returns the encoded size (0 on failure). */
static size_t round_trip(const uint8_t *rgb, int w, int h, int threads, const char *what)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    int rc = pictor_png_encode_mt(rgb, w, h, NULL, 0, threads, &buf, &len, err, sizeof err);
    CHECK(rc == PICTOR_OK && len > 8 && png_sig_cmp(buf, 0, 8) == 0, "%s %dx%d: encode: %s",
          what, w, h, err);
    if (rc != PICTOR_OK)
        return 0;
    struct decoded d;
    decode(buf, len, &d);
    CHECK(d.ok && d.w == (png_uint_32)w && d.h == (png_uint_32)h &&
              d.color == PNG_COLOR_TYPE_RGB && d.depth == 8 &&
              d.interlace == PNG_INTERLACE_NONE,
          "%s %dx%d: libpng read %ux%u colour %d depth %d (ok %d)", what, w, h, d.w, d.h,
          d.color, d.depth, d.ok);
    CHECK(d.rgb && memcmp(d.rgb, rgb, (size_t)w * h * 3) == 0, "%s %dx%d: pixels identical",
          what, w, h);
    CHECK(inflate_idat(buf, len, w, h) > 0, "%s %dx%d: zlib inflates the IDAT stream", what, w,
          h);
    free(d.rgb);
    free(buf);
    return len;
}

static void test_sizes(void)
{
    /* 1x1, a single row and column, odd widths (a tail after the 8-byte
     * vectors), a row longer than a stripe (one row per stripe), a tall
     * image of many stripes */
    static const int sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {2, 2}, {3, 5}, {37, 19},
                                   {333, 77}, {1001, 3}, {50000, 5}, {61, 3000}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *noisy = make_image(w, h, 40, 1 + i), *smooth = make_image(w, h, 0, 1);
        round_trip(noisy, w, h, 0, "noisy");
        round_trip(smooth, w, h, 3, "smooth");
        free(noisy);
        free(smooth);
    }
}

/* Every byte value next to every other: the filter's wrap-around arithmetic. */
static void test_extreme_values(void)
{
    const int w = 255, h = 9;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    uint64_t s = 7;
    for (int i = 0; i < w * h * 3; i++)
        rgb[i] = (i / 3) % 2 ? 255 : (uint8_t)(rng_next(&s) % 2 ? 0 : i);
    round_trip(rgb, w, h, 2, "extremes");
    free(rgb);
}

/* 1024x1024 picture-like image: identical pixels, the same bytes on 1, 2, 3
 * and 8 threads, several IDAT chunks, and compression worth having. */
static void test_large_threads(void)
{
    const int w = 1024, h = 1024;
    const size_t raw = (size_t)w * h * 3;
    uint8_t *rgb = make_image(w, h, 6, 42);
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    char err[256] = "";
    CHECK(pictor_png_encode_mt(rgb, w, h, NULL, 0, 1, &ref, &ref_len, err, sizeof err) ==
              PICTOR_OK, "encode: %s", err);
    size_t len = round_trip(rgb, w, h, 0, "1024 auto");
    CHECK(len == ref_len, "automatic threads: %zu bytes, one thread: %zu", len, ref_len);
    static const int threads[] = {2, 3, 8};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        uint8_t *buf = NULL;
        size_t n = 0;
        pictor_png_encode_mt(rgb, w, h, NULL, 0, threads[i], &buf, &n, err, sizeof err);
        CHECK(buf && ref && n == ref_len && memcmp(buf, ref, n) == 0,
              "%d threads: the same bytes as one thread", threads[i]);
        free(buf);
    }
    int n_idat = ref ? inflate_idat(ref, ref_len, w, h) : -1;
    CHECK(n_idat > 1, "one IDAT per stripe: %d", n_idat);
    /* +-6 noise on a gradient holds ~3.7 bits of entropy per byte: the
     * encoder must win clearly over storing (measured ~57%), without a
     * bound tuned to the byte */
    CHECK(ref_len < raw * 7 / 10, "gradient+noise: %zu bytes of %zu raw", ref_len, raw);
    free(ref);
    free(rgb);

    /* a flat image is runs of zeros after filtering: Z_RLE must see them */
    uint8_t *flat = malloc(raw);
    memset(flat, 77, raw);
    len = round_trip(flat, w, h, 0, "flat");
    CHECK(len > 0 && len < raw / 100, "flat: %zu bytes of %zu raw", len, raw);
    free(flat);
}

static void test_text_chunk(void)
{
    const int w = 37, h = 19;
    uint8_t *rgb = make_image(w, h, 10, 3);
    struct pictor_png_text t[2] = {{"parameters", "a red circle\nSteps: 4, Seed: 42"},
                                   {"Software", "pictor"}};
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    int rc = pictor_png_encode(rgb, w, h, t, 2, &buf, &len, err, sizeof err);
    CHECK(rc == PICTOR_OK, "encode: %s", err);
    struct decoded d;
    decode(buf, len, &d);
    CHECK(d.ok && d.rgb && memcmp(d.rgb, rgb, (size_t)w * h * 3) == 0, "pixels identical");
    CHECK(d.n_text == 2 && strcmp(d.key, "parameters") == 0 && strcmp(d.value, t[0].value) == 0,
          "parameters chunk: %d chunks, '%s'", d.n_text, d.key);
    free(d.rgb);
    free(buf);
    free(rgb);
}

/* The vector Paeth filter equals the spec's predictor at every length. */
static void test_paeth_filter(void)
{
    enum { MAX = 200 };
    uint8_t cur[MAX], prev[MAX], out[MAX];
    uint64_t s = 99;
    int bad = -1;
    for (size_t n = 3; n <= MAX && bad < 0; n += 3) {
        for (size_t i = 0; i < n; i++) {
            cur[i] = (uint8_t)rng_next(&s);
            prev[i] = (uint8_t)(i % 5 == 0 ? cur[i] : rng_next(&s));
        }
        pictor_png_filter_paeth(cur, prev, out, n);
        for (size_t i = 0; i < n; i++) {
            int a = i >= 3 ? cur[i - 3] : 0, b = prev[i], c = i >= 3 ? prev[i - 3] : 0;
            int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
            int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            if (out[i] != (uint8_t)(cur[i] - pred)) {
                bad = (int)n;
                break;
            }
        }
    }
    CHECK(bad < 0, "paeth differs from the spec's predictor on a row of %d bytes", bad);
}

static void test_bad_input(void)
{
    uint8_t px[3] = {0};
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;
    char err[256] = "";
    CHECK(pictor_png_encode(px, 0, 1, NULL, 0, &buf, &len, err, sizeof err) == PICTOR_E_INVALID &&
              buf == NULL && strstr(err, "0x1"), "zero width refused: %s", err);
    CHECK(pictor_png_encode(px, 1, PICTOR_PNG_MAX_SIDE + 1, NULL, 0, &buf, &len, err,
                            sizeof err) == PICTOR_E_INVALID, "too tall refused: %s", err);
    static const char *bad_keys[] = {"", " lead", "trail ", "two  spaces", "tab\there",
                                     "0123456789012345678901234567890123456789"
                                     "0123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        struct pictor_png_text t = {bad_keys[i], "v"};
        err[0] = '\0';
        CHECK(pictor_png_encode(px, 1, 1, &t, 1, &buf, &len, err, sizeof err) ==
                  PICTOR_E_INVALID && strstr(err, "keyword"), "keyword '%s' refused: %s",
              bad_keys[i], err);
    }
    CHECK(pictor_png_write_file("/nonexistent/dir/x.png", px, 1, 1, NULL, 0, err, sizeof err) ==
              PICTOR_E_IO && strstr(err, "/nonexistent/dir/x.png"), "unwritable path: %s", err);
}

int main(void)
{
    RUN(test_sizes);
    RUN(test_extreme_values);
    RUN(test_large_threads);
    RUN(test_text_chunk);
    RUN(test_paeth_filter);
    RUN(test_bad_input);
    TEST_MAIN_END();
}
