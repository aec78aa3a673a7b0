/*
 * pictor/png.h — RGB8 images to PNG, in memory or to a file, with tEXt
 * chunks (pictor writes one keyed "parameters": prompt, steps, guidance,
 * scheduler, seed, size, model — the convention image tools read).
 *
 * Built for latency (an image is encoded once per request, inside the
 * request's time budget), with zlib only:
 *   - every row is Paeth-filtered (the usual best single filter for
 *     photographs and generated pictures), in 8-byte vectors;
 *   - the rows are cut into stripes of about PICTOR_PNG_STRIPE_BYTES, each
 *     deflated on its own with zlib's Z_RLE strategy (runs of one byte:
 *     after filtering, smooth and flat areas are runs of zeros; no
 *     long-distance match search, the expensive part of deflate), the
 *     stripes on several threads at once;
 *   - the stripes are joined into one zlib stream (each but the last ends
 *     with a Z_SYNC_FLUSH: a byte-aligned empty stored block, the way pigz
 *     joins its blocks; the Adler-32s are combined), one IDAT chunk each.
 * The bytes written depend only on the image and the text, never on the
 * number of threads or the machine. The result is an ordinary 8-bit RGB,
 * non-interlaced PNG that any decoder reads.
 *
 * Ownership: pictor_png_encode allocates *out (free with free()); rgb is
 * [h, w, 3] u8 row-major and only read. Thread: any (no shared state; a
 * call starts and joins its own helper threads).
 */
#ifndef PICTOR_PNG_H
#define PICTOR_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Raw bytes per stripe (rounded to whole rows, at least one row): small
 * enough that a 1024x1024 image gives every core of a 16-core host work,
 * large enough that zlib's per-stream setup and block headers cost
 * nothing measurable. */
#define PICTOR_PNG_STRIPE_BYTES (128 * 1024)
/* Most threads one call uses (automatic choice). */
#define PICTOR_PNG_MAX_THREADS 8
/* Largest width or height accepted: libpng's default reading limit
 * (PNG_USER_WIDTH_MAX/PNG_USER_HEIGHT_MAX), so every image written can be
 * read back by a default libpng. */
#define PICTOR_PNG_MAX_SIDE 1000000

struct pictor_png_text {
    const char *key;   /* 1..79 printable Latin-1 characters, no leading,
                          trailing or double spaces (PNG's keyword rule) */
    const char *value; /* any length; written as it is (UTF-8 passes) */
};

/* Encodes with the automatic number of threads (see pictor_png_encode_mt).
 * PICTOR_E_INVALID: width/height not 1..PICTOR_PNG_MAX_SIDE, n_text not
 * 0..8, or a bad keyword; PICTOR_E_NOMEM. The message goes to err. */
int pictor_png_encode(const uint8_t *rgb, int width, int height,
                      const struct pictor_png_text *text, int n_text,
                      uint8_t **out, size_t *out_len, char *err,
                      size_t errlen);

/* As pictor_png_encode with at most `threads` threads, the caller's
 * included (1: everything on the caller's thread); 0: automatic, the CPUs
 * this process may run on. Never more than PICTOR_PNG_MAX_THREADS or than
 * there are stripes. A helper thread that cannot be started is done
 * without. Same bytes whatever `threads` is. */
int pictor_png_encode_mt(const uint8_t *rgb, int width, int height,
                         const struct pictor_png_text *text, int n_text,
                         int threads, uint8_t **out, size_t *out_len,
                         char *err, size_t errlen);

/* pictor_png_encode, then the bytes to PATH (created or truncated).
 * PICTOR_E_IO with the path in err when it cannot be written. */
int pictor_png_write_file(const char *path, const uint8_t *rgb, int width,
                          int height, const struct pictor_png_text *text,
                          int n_text, char *err, size_t errlen);

#endif /* PICTOR_PNG_H */
