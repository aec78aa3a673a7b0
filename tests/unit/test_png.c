/* tests/unit/test_png.c — PNG encoding round trip through libpng's reader:
 * size, pixels and the "parameters" text chunk survive. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/png.h"
#include "pictor/status.h"

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

static void test_round_trip(void)
{
    const int w = 37, h = 19;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++)
        rgb[i] = (uint8_t)(i * 7 + 3);
    struct pictor_png_text t[1] = {{"parameters", "a red circle\nSteps: 4, Seed: 42"}};
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    int rc = pictor_png_encode(rgb, w, h, t, 1, &buf, &len, err, sizeof err);
    CHECK(rc == PICTOR_OK && len > 8 && png_sig_cmp(buf, 0, 8) == 0, "encode: %s", err);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    struct reader r = {buf, len, 0};
    uint8_t *back = malloc((size_t)w * h * 3);
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_set_read_fn(png, &r, mem_read);
        png_read_info(png, info);
        CHECK(png_get_image_width(png, info) == (png_uint_32)w &&
                  png_get_image_height(png, info) == (png_uint_32)h &&
                  png_get_color_type(png, info) == PNG_COLOR_TYPE_RGB &&
                  png_get_bit_depth(png, info) == 8,
              "header");
        for (int y = 0; y < h; y++)
            png_read_row(png, back + (size_t)y * w * 3, NULL);
        png_read_end(png, info);
        CHECK(memcmp(rgb, back, (size_t)w * h * 3) == 0, "pixels identical");
        png_textp text = NULL;
        int n = png_get_text(png, info, &text, NULL);
        CHECK(n == 1 && strcmp(text[0].key, "parameters") == 0 &&
                  strcmp(text[0].text, t[0].value) == 0, "parameters chunk");
    } else {
        CHECK(0, "libpng could not read the image back");
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(back);
    free(buf);
    free(rgb);
}

static void test_bad_input(void)
{
    uint8_t px[3] = {0};
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;
    char err[256] = "";
    CHECK(pictor_png_encode(px, 0, 1, NULL, 0, &buf, &len, err, sizeof err) == PICTOR_E_INVALID &&
              buf == NULL && strstr(err, "0x1"), "zero width refused: %s", err);
    CHECK(pictor_png_write_file("/nonexistent/dir/x.png", px, 1, 1, NULL, 0, err, sizeof err) ==
              PICTOR_E_IO && strstr(err, "/nonexistent/dir/x.png"), "unwritable path: %s", err);
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_bad_input);
    TEST_MAIN_END();
}
