/* core/lib/png_write.c — PNG container and stripe scheduling (pictor/png.h;
 * one stripe's filtering and deflate: png_stripe.c).
 *
 * Layout written (PNG spec, 5.6): signature, IHDR, the tEXt chunks, one
 * IDAT per stripe (the first starts with the zlib header, the last ends
 * with the Adler-32 of all filtered bytes), IEND. */
#include "pictor/png.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pictor/status.h"
#include "png_stripe.h"

#define PNG_MAX_TEXT 8
#define PNG_KEY_MAX 79          /* PNG spec 11.3.4.2: keywords are 1..79 bytes */
#define PNG_CHUNK_OVERHEAD 12   /* length, type, CRC */
#define PNG_CHUNK_MAX 0x7fffffffu /* spec 5.3: a chunk's length is below 2^31 */
#define PNG_IHDR_LEN 13
#define PNG_COLOR_RGB 2         /* IHDR colour type: truecolour */
#define PNG_BIT_DEPTH 8
/* zlib header (RFC 1950): CMF 0x78 = deflate with a 32 KiB window; FLG 0x01
 * = FLEVEL 0 (fastest), no dictionary, FCHECK making 0x7801 % 31 == 0. */
#define ZLIB_CMF 0x78
#define ZLIB_FLG 0x01
#define ZLIB_HEADER_LEN 2
#define ZLIB_TRAILER_LEN 4      /* Adler-32, big-endian */

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* ---- chunk writer ---------------------------------------------------------- */

struct out {
    uint8_t *p;        /* write position */
    uint8_t *len_at;   /* the open chunk's length field */
    uint32_t crc;      /* the open chunk's CRC so far (type + data) */
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void chunk_begin(struct out *o, const char type[4])
{
    o->len_at = o->p;
    memcpy(o->p + 4, type, 4);
    o->crc = (uint32_t)crc32(0L, o->p + 4, 4);
    o->p += 8;
}

static void chunk_add(struct out *o, const void *data, size_t n)
{
    if (!n)
        return;
    memcpy(o->p, data, n);
    o->crc = (uint32_t)crc32(o->crc, o->p, (uInt)n); /* n < 2^31 (see callers) */
    o->p += n;
}

static void chunk_end(struct out *o)
{
    put32(o->len_at, (uint32_t)(o->p - o->len_at - 8));
    put32(o->p, o->crc);
    o->p += 4;
}

/* ---- checks ------------------------------------------------------------------ */

/* PNG's keyword rule (spec 11.3.4.2): printable Latin-1, no leading,
 * trailing or consecutive spaces. */
static bool valid_keyword(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n < 1 || n > PNG_KEY_MAX || k[0] == ' ' || k[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if ((c < 32 || c > 126) && c < 161)
            return false;
        if (c == ' ' && k[i + 1] == ' ')
            return false;
    }
    return true;
}

static int check_args(int width, int height, const struct pictor_png_text *text, int n_text,
                      char *err, size_t errlen)
{
    if (width < 1 || height < 1 || width > PICTOR_PNG_MAX_SIDE ||
        height > PICTOR_PNG_MAX_SIDE || n_text < 0 || n_text > PNG_MAX_TEXT) {
        snprintf(err, errlen, "png: bad image %dx%d (1..%d a side) or %d text chunks (0..%d)",
                 width, height, PICTOR_PNG_MAX_SIDE, n_text, PNG_MAX_TEXT);
        return PICTOR_E_INVALID;
    }
    for (int i = 0; i < n_text; i++) {
        if (!valid_keyword(text[i].key) || !text[i].value ||
            strlen(text[i].value) > PNG_CHUNK_MAX - PNG_KEY_MAX - 1) {
            snprintf(err, errlen,
                     "png: text chunk %d: keyword '%s' is not 1..%d printable Latin-1 "
                     "characters without leading, trailing or double spaces, or its value is "
                     "missing or over 2 GiB",
                     i, text[i].key ? text[i].key : "(null)", PNG_KEY_MAX);
            return PICTOR_E_INVALID;
        }
    }
    return PICTOR_OK;
}

/* ---- stripes on threads -------------------------------------------------------- */

struct work {
    const uint8_t *rgb;
    int width, n;
    struct pictor_png_stripe *s;
    atomic_int next; /* the next stripe nobody took */
};

static void *work_run(void *arg)
{
    struct work *w = arg;
    for (int i; (i = atomic_fetch_add(&w->next, 1)) < w->n;)
        pictor_png_stripe_encode(w->rgb, w->width, &w->s[i], i == w->n - 1);
    return NULL;
}

static int cpus_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Runs every stripe on up to `threads` threads (this one included). */
static void encode_stripes(struct work *w, int threads)
{
    pthread_t helper[PICTOR_PNG_MAX_THREADS];
    int started = 0;
    if (threads > w->n)
        threads = w->n;
    if (threads > PICTOR_PNG_MAX_THREADS)
        threads = PICTOR_PNG_MAX_THREADS;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&helper[started], NULL, work_run, w) != 0)
            break; /* the threads already running (and this one) do the rest */
        started++;
    }
    work_run(w);
    for (int t = 0; t < started; t++)
        pthread_join(helper[t], NULL);
}

/* ---- public ---------------------------------------------------------------------- */

int pictor_png_encode_mt(const uint8_t *rgb, int width, int height,
                         const struct pictor_png_text *text, int n_text, int threads,
                         uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    int rc = check_args(width, height, text, n_text, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    const size_t line = (size_t)width * 3 + 1;
    int rows = (int)(PICTOR_PNG_STRIPE_BYTES / line);
    if (rows < 1)
        rows = 1;
    const int n = (height + rows - 1) / rows;
    struct work w = {.rgb = rgb, .width = width, .n = n, .s = calloc((size_t)n, sizeof *w.s)};
    if (!w.s) {
        snprintf(err, errlen, "png: out of memory");
        return PICTOR_E_NOMEM;
    }
    atomic_init(&w.next, 0);
    for (int i = 0; i < n; i++) {
        w.s[i].y0 = i * rows;
        w.s[i].rows = i == n - 1 ? height - i * rows : rows;
    }
    encode_stripes(&w, threads > 0 ? threads : cpus_available());

    size_t total = sizeof png_signature + PNG_CHUNK_OVERHEAD + PNG_IHDR_LEN +
                   ZLIB_HEADER_LEN + ZLIB_TRAILER_LEN + PNG_CHUNK_OVERHEAD /* IEND */;
    for (int i = 0; i < n_text; i++)
        total += PNG_CHUNK_OVERHEAD + strlen(text[i].key) + 1 + strlen(text[i].value);
    for (int i = 0; i < n && rc == PICTOR_OK; i++) {
        rc = w.s[i].status;
        total += PNG_CHUNK_OVERHEAD + w.s[i].z_len;
    }
    uint8_t *buf = rc == PICTOR_OK ? malloc(total) : NULL;
    if (!buf) {
        snprintf(err, errlen, rc == PICTOR_E_INVALID ? "png: zlib failed to compress the image"
                                                     : "png: out of memory");
        rc = rc == PICTOR_OK ? PICTOR_E_NOMEM : rc;
        goto done;
    }

    struct out o = {.p = buf};
    memcpy(o.p, png_signature, sizeof png_signature);
    o.p += sizeof png_signature;
    uint8_t ihdr[PNG_IHDR_LEN] = {0};
    put32(ihdr, (uint32_t)width);
    put32(ihdr + 4, (uint32_t)height);
    ihdr[8] = PNG_BIT_DEPTH;
    ihdr[9] = PNG_COLOR_RGB; /* compression, filter method, interlace: 0 */
    chunk_begin(&o, "IHDR");
    chunk_add(&o, ihdr, sizeof ihdr);
    chunk_end(&o);
    for (int i = 0; i < n_text; i++) { /* lengths checked in check_args */
        chunk_begin(&o, "tEXt");
        chunk_add(&o, text[i].key, strlen(text[i].key) + 1); /* with its NUL separator */
        chunk_add(&o, text[i].value, strlen(text[i].value));
        chunk_end(&o);
    }
    uint32_t adler = (uint32_t)adler32(0L, Z_NULL, 0);
    for (int i = 0; i < n; i++) {
        /* a stripe is at most max(STRIPE_BYTES, one row) raw bytes, so its
         * deflate output is far below PNG's 2^31 chunk limit */
        chunk_begin(&o, "IDAT");
        if (i == 0)
            chunk_add(&o, (const uint8_t[ZLIB_HEADER_LEN]){ZLIB_CMF, ZLIB_FLG}, ZLIB_HEADER_LEN);
        chunk_add(&o, w.s[i].z, w.s[i].z_len);
        adler = (uint32_t)adler32_combine(adler, w.s[i].adler, (z_off_t)w.s[i].raw_len);
        if (i == n - 1) {
            uint8_t trailer[ZLIB_TRAILER_LEN];
            put32(trailer, adler);
            chunk_add(&o, trailer, sizeof trailer);
        }
        chunk_end(&o);
    }
    chunk_begin(&o, "IEND");
    chunk_end(&o);
    *out = buf;
    *out_len = (size_t)(o.p - buf);
done:
    for (int i = 0; i < n; i++)
        free(w.s[i].z);
    free(w.s);
    return rc;
}

int pictor_png_encode(const uint8_t *rgb, int width, int height,
                      const struct pictor_png_text *text, int n_text, uint8_t **out,
                      size_t *out_len, char *err, size_t errlen)
{
    return pictor_png_encode_mt(rgb, width, height, text, n_text, 0, out, out_len, err,
                                errlen);
}

int pictor_png_write_file(const char *path, const uint8_t *rgb, int width, int height,
                          const struct pictor_png_text *text, int n_text, char *err,
                          size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = pictor_png_encode(rgb, width, height, text, n_text, &buf, &len, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %m", path);
        free(buf);
        return PICTOR_E_IO;
    }
    size_t written = fwrite(buf, 1, len, f);
    int closed = fclose(f);
    if (written != len || closed != 0) {
        snprintf(err, errlen, "%s: write failed: %m", path);
        free(buf);
        return PICTOR_E_IO;
    }
    free(buf);
    return PICTOR_OK;
}
