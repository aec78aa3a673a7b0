/* tests/tools/colour_regions.c — see colour_regions.h. */
#include "colour_regions.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tools/demo/dataset.py COLOURS: keep both lists equal. */
static const struct colour_named palette[] = {
    {"red", {215, 40, 40}},    {"green", {40, 160, 60}},   {"blue", {40, 80, 210}},
    {"yellow", {240, 210, 40}}, {"white", {240, 240, 240}}, {"black", {20, 20, 20}},
    {"orange", {240, 140, 30}}, {"purple", {130, 60, 170}},
};
#define PALETTE_N (sizeof palette / sizeof palette[0])

const struct colour_named *colour_palette(size_t *count)
{
    *count = PALETTE_N;
    return palette;
}

int colour_find(const char *name)
{
    for (size_t i = 0; i < PALETTE_N; i++)
        if (strcmp(palette[i].name, name) == 0)
            return (int)i;
    return -1;
}

int colour_nearest(const double rgb[3])
{
    int best = 0;
    double best_d = -1;
    for (size_t i = 0; i < PALETTE_N; i++) {
        double d = 0;
        for (int c = 0; c < 3; c++) {
            double e = rgb[c] - palette[i].rgb[c];
            d += e * e;
        }
        if (best_d < 0 || d < best_d) {
            best_d = d;
            best = (int)i;
        }
    }
    return best;
}

int colour_image_load(const char *path, struct colour_image *img, char *err, size_t errlen)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    memset(img, 0, sizeof *img);
    if (!png_image_begin_read_from_file(&pi, path)) {
        snprintf(err, errlen, "%s: cannot read as PNG: %s", path, pi.message);
        return -1;
    }
    pi.format = PNG_FORMAT_RGB;
    size_t n = PNG_IMAGE_SIZE(pi);
    uint8_t *rgb = malloc(n ? n : 1);
    if (!rgb) {
        png_image_free(&pi);
        snprintf(err, errlen, "%s: out of memory (%zu bytes)", path, n);
        return -1;
    }
    /* background NULL: alpha is composited on black */
    if (!png_image_finish_read(&pi, NULL, rgb, 0, NULL)) {
        snprintf(err, errlen, "%s: bad PNG data: %s", path, pi.message);
        free(rgb);
        png_image_free(&pi);
        return -1;
    }
    img->width = (int)pi.width;
    img->height = (int)pi.height;
    img->rgb = rgb;
    return 0;
}

void colour_image_free(struct colour_image *img)
{
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

void colour_region_mean(const struct colour_image *img, int x, int y, int w, int h,
                        double mean[3])
{
    double s[3] = {0, 0, 0};
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            for (int c = 0; c < 3; c++)
                s[c] += img->rgb[((size_t)j * img->width + i) * 3 + c];
    for (int c = 0; c < 3; c++)
        mean[c] = s[c] / ((double)w * h);
}

int colour_regions_of(const struct colour_image *img, struct colour_regions *out)
{
    int shorter = img->width < img->height ? img->width : img->height;
    int side = shorter * COLOUR_REGION_NUM / COLOUR_REGION_DEN;
    if (side < 1)
        return -1;
    out->side = side;
    colour_region_mean(img, (img->width - side) / 2, (img->height - side) / 2, side, side,
                       out->centre_rgb);
    out->centre = colour_nearest(out->centre_rgb);
    const int xs[COLOUR_CORNERS] = {0, img->width - side, 0, img->width - side};
    const int ys[COLOUR_CORNERS] = {0, 0, img->height - side, img->height - side};
    for (int k = 0; k < COLOUR_CORNERS; k++) {
        colour_region_mean(img, xs[k], ys[k], side, side, out->corner_rgb[k]);
        out->corner[k] = colour_nearest(out->corner_rgb[k]);
    }
    return 0;
}

bool colour_regions_match(const struct colour_regions *r, int shape, int bg)
{
    if (r->centre != shape)
        return false;
    for (int k = 0; k < COLOUR_CORNERS; k++)
        if (r->corner[k] != bg)
            return false;
    return true;
}
