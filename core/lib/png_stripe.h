/*
 * core/lib/png_stripe.h — internal to the PNG writer (pictor/png.h): one
 * stripe of rows filtered and deflated into a piece of a zlib stream.
 *
 * A stripe is rows [y0, y0 + rows) of an RGB8 image. Every row gets PNG
 * filter type 4 (Paeth) against the image's row above it (the row before
 * y0 for the stripe's first row: stripes need no other stripe's output),
 * the top row of the image type 1 (Sub: Paeth with no row above is Sub).
 * The filtered bytes are deflated as a raw stream (no zlib header or
 * trailer) with Z_RLE; a stripe that is not the image's last ends with
 * Z_SYNC_FLUSH (an empty stored block, byte-aligned, BFINAL clear), the
 * last with Z_FINISH, so the pieces concatenate into one deflate stream.
 * Thread: any (a stripe touches only its own struct).
 */
#ifndef PICTOR_PNG_STRIPE_H
#define PICTOR_PNG_STRIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pictor_png_stripe {
    int y0, rows;      /* in */
    uint8_t *z;        /* out: raw deflate bytes, malloc'd (caller frees) */
    size_t z_len;      /* out */
    uint32_t adler;    /* out: Adler-32 of the stripe's filtered bytes */
    size_t raw_len;    /* out: how many filtered bytes (for adler32_combine) */
    int status;        /* out: PICTOR_OK, PICTOR_E_NOMEM, PICTOR_E_INVALID (zlib) */
};

/* Filters and deflates stripe s of rgb ([height, width, 3] u8); `last`:
 * the stripe holding the image's bottom row. Sets every out field; on
 * error s->z is NULL. */
void pictor_png_stripe_encode(const uint8_t *rgb, int width, struct pictor_png_stripe *s,
                              bool last);

/* The Paeth filter of one row of n bytes (3 bytes per pixel): out[i] =
 * cur[i] - paeth(left, up, up-left). Exposed for the unit test, which
 * holds it to a plain scalar version. */
void pictor_png_filter_paeth(const uint8_t *cur, const uint8_t *prev, uint8_t *out,
                             size_t n);

#endif /* PICTOR_PNG_STRIPE_H */
