/* core/lib/png_stripe.c — one stripe of a PNG: Paeth filter + raw deflate
 * (png_stripe.h). */
#include "png_stripe.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pictor/status.h"

#define BPP 3                /* bytes per pixel: RGB8 */
#define FILTER_SUB 1         /* PNG filter types (PNG spec, 9.2) */
#define FILTER_PAETH 4
#define ZLIB_LEVEL 1         /* ignored by Z_RLE except that 0 would mean "store" */
#define ZLIB_WINDOW_BITS 15  /* negative below: raw deflate, no zlib wrapper */
#define ZLIB_MEM_LEVEL 8     /* zlib's default (9 measured no faster) */
#define SYNC_FLUSH_SLACK 16  /* the empty stored block Z_SYNC_FLUSH adds
                                (deflateBound counts a Z_FINISH ending) */

/* Eight bytes widened to eight 16-bit lanes: GCC/clang vector extensions,
 * which compile to SSE2/NEON without target-specific code. */
typedef int16_t v8i16 __attribute__((vector_size(16)));
typedef uint8_t v8u8 __attribute__((vector_size(8)));

static inline v8i16 load8(const uint8_t *p)
{
    v8u8 b;
    memcpy(&b, p, sizeof b);
    return __builtin_convertvector(b, v8i16);
}

static inline void store8(uint8_t *p, v8i16 v)
{
    v8u8 b = __builtin_convertvector(v & 0xff, v8u8);
    memcpy(p, &b, sizeof b);
}

static inline v8i16 abs8(v8i16 x)
{
    v8i16 sign = x >> 15; /* lanes hold -510..510: the shift gives 0 or -1 */
    return (x ^ sign) - sign;
}

/* The PNG spec's PaethPredictor (9.4), ties broken a, b, c in that order. */
static inline int paeth_scalar(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

void pictor_png_filter_paeth(const uint8_t *cur, const uint8_t *prev, uint8_t *out, size_t n)
{
    size_t i = 0;
    for (; i < BPP && i < n; i++) /* no left neighbour: a = c = 0 */
        out[i] = (uint8_t)(cur[i] - prev[i]);
    /* Encoding reads only original pixels, so lanes are independent. */
    for (; i + 8 <= n; i += 8) {
        v8i16 a = load8(cur + i - BPP), b = load8(prev + i), c = load8(prev + i - BPP);
        v8i16 pa = abs8(b - c), pb = abs8(a - c), pc = abs8(a + b - c - c);
        v8i16 use_a = (pa <= pb) & (pa <= pc); /* lanes of -1 or 0 */
        v8i16 use_b = ~use_a & (pb <= pc);
        v8i16 use_c = ~(use_a | use_b);
        store8(out + i, load8(cur + i) - ((a & use_a) | (b & use_b) | (c & use_c)));
    }
    for (; i < n; i++)
        out[i] = (uint8_t)(cur[i] - paeth_scalar(cur[i - BPP], prev[i], prev[i - BPP]));
}

static void filter_sub(const uint8_t *cur, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(cur[i] - (i >= BPP ? cur[i - BPP] : 0));
}

/* Raw deflate of in[0..n) with Z_RLE into a malloc'd buffer. */
static int deflate_rle(const uint8_t *in, size_t n, bool last, uint8_t **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    int zrc = deflateInit2(&z, ZLIB_LEVEL, Z_DEFLATED, -ZLIB_WINDOW_BITS, ZLIB_MEM_LEVEL, Z_RLE);
    if (zrc != Z_OK)
        return zrc == Z_MEM_ERROR ? PICTOR_E_NOMEM : PICTOR_E_INVALID;
    int rc = PICTOR_OK;
    size_t cap = deflateBound(&z, (uLong)n) + SYNC_FLUSH_SLACK;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        rc = PICTOR_E_NOMEM;
        goto end;
    }
    z.next_in = (Bytef *)in; /* zlib's API is not const; it only reads */
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    zrc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
    /* done: all input taken and, for a sync flush, room left over (zlib
     * fills avail_out completely only when the flush is unfinished) */
    bool done = last ? zrc == Z_STREAM_END : zrc == Z_OK && z.avail_in == 0 && z.avail_out > 0;
    if (!done) {
        free(buf);
        buf = NULL;
        rc = PICTOR_E_INVALID;
        goto end;
    }
    *out = buf;
    *out_len = cap - z.avail_out;
end:
    deflateEnd(&z);
    return rc;
}

void pictor_png_stripe_encode(const uint8_t *rgb, int width, struct pictor_png_stripe *s,
                              bool last)
{
    const size_t row = (size_t)width * BPP, line = row + 1; /* filter byte + row */
    s->z = NULL;
    s->z_len = 0;
    s->raw_len = line * (size_t)s->rows;
    s->adler = (uint32_t)adler32(0L, Z_NULL, 0);
    uint8_t *f = malloc(s->raw_len);
    if (!f) {
        s->status = PICTOR_E_NOMEM;
        return;
    }
    for (int k = 0; k < s->rows; k++) {
        const int y = s->y0 + k;
        const uint8_t *cur = rgb + (size_t)y * row;
        uint8_t *o = f + (size_t)k * line;
        if (y == 0) {
            o[0] = FILTER_SUB;
            filter_sub(cur, o + 1, row);
        } else {
            o[0] = FILTER_PAETH;
            pictor_png_filter_paeth(cur, cur - row, o + 1, row);
        }
    }
    s->adler = (uint32_t)adler32(s->adler, f, (uInt)s->raw_len);
    s->status = deflate_rle(f, s->raw_len, last, &s->z, &s->z_len);
    free(f);
}
