/* core/lib/png_write.c — see pictor/png.h. */
#include "pictor/png.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"

#define PNG_MAX_TEXT 8

struct membuf {
    uint8_t *data;
    size_t len, cap;
    int failed;
};

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    struct membuf *m = png_get_io_ptr(png);
    if (m->failed)
        return;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->len + n)
            cap *= 2;
        uint8_t *d = realloc(m->data, cap);
        if (!d) {
            m->failed = 1;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

int pictor_png_encode(const uint8_t *rgb, int width, int height,
                      const struct pictor_png_text *text, int n_text, uint8_t **out,
                      size_t *out_len, char *err, size_t errlen)
{
    struct membuf m = {0};
    png_structp png = NULL;
    png_infop info = NULL;
    png_text chunks[PNG_MAX_TEXT];
    *out = NULL;
    *out_len = 0;
    if (width <= 0 || height <= 0 || n_text < 0 || n_text > PNG_MAX_TEXT) {
        snprintf(err, errlen, "png: bad image %dx%d or %d text chunks", width, height, n_text);
        return PICTOR_E_INVALID;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_write_struct(&png, NULL);
        snprintf(err, errlen, "png: out of memory");
        return PICTOR_E_NOMEM;
    }
    /* libpng reports errors by longjmp; nothing below allocates outside m */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(m.data);
        snprintf(err, errlen, "png: libpng failed to encode the image");
        return PICTOR_E_INVALID;
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* speed over size: images go out once, over a local network */
    png_set_compression_level(png, 3);
    for (int i = 0; i < n_text; i++) {
        memset(&chunks[i], 0, sizeof chunks[i]);
        chunks[i].compression = PNG_TEXT_COMPRESSION_NONE;
        chunks[i].key = (png_charp)text[i].key;
        chunks[i].text = (png_charp)text[i].value;
        chunks[i].text_length = strlen(text[i].value);
    }
    if (n_text)
        png_set_text(png, info, chunks, n_text);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * (size_t)width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (m.failed) {
        free(m.data);
        snprintf(err, errlen, "png: out of memory");
        return PICTOR_E_NOMEM;
    }
    *out = m.data;
    *out_len = m.len;
    return PICTOR_OK;
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
