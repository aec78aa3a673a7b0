/*
 * pictor/png.h — RGB8 images to PNG (libpng), in memory or to a file, with
 * tEXt chunks (pictor writes one keyed "parameters": prompt, steps,
 * guidance, scheduler, seed, size, model — the convention image tools read).
 *
 * pictor_png_encode allocates *out (free with free()); rgb is [h, w, 3]
 * row-major. Thread: any (libpng state is per call).
 */
#ifndef PICTOR_PNG_H
#define PICTOR_PNG_H

#include <stddef.h>
#include <stdint.h>

struct pictor_png_text {
    const char *key;   /* 1..79 Latin-1 characters */
    const char *value; /* any length */
};

int pictor_png_encode(const uint8_t *rgb, int width, int height,
                      const struct pictor_png_text *text, int n_text,
                      uint8_t **out, size_t *out_len, char *err,
                      size_t errlen);

int pictor_png_write_file(const char *path, const uint8_t *rgb, int width,
                          int height, const struct pictor_png_text *text,
                          int n_text, char *err, size_t errlen);

#endif /* PICTOR_PNG_H */
