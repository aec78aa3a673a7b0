/*
 * tests/tools/colour_regions_main.c — the semantic test's checker
 * (colour_regions.h says what it measures).
 *
 *   colour_regions IMAGE.png SHAPE_COLOUR BACKGROUND_COLOUR
 *       prints "centre=C corners=A,B,C,D PASS|FAIL"; exit 0 when the centre
 *       is SHAPE_COLOUR and every corner BACKGROUND_COLOUR, 1 when not
 *   colour_regions --classify IMAGE.png
 *       prints each region's class and mean RGB; exit 0
 * Exit 2: bad arguments, an unknown colour name or an unreadable PNG.
 */
#include <stdio.h>
#include <string.h>

#include "colour_regions.h"

static void usage(FILE *f)
{
    size_t n;
    const struct colour_named *p = colour_palette(&n);
    fprintf(f, "usage: colour_regions IMAGE.png SHAPE_COLOUR BACKGROUND_COLOUR\n"
               "       colour_regions --classify IMAGE.png\ncolours:");
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", p[i].name);
    fprintf(f, "\n");
}

static int load(const char *path, struct colour_image *img, struct colour_regions *r)
{
    char err[512];
    if (colour_image_load(path, img, err, sizeof err) != 0) {
        fprintf(stderr, "colour_regions: %s\n", err);
        return -1;
    }
    if (colour_regions_of(img, r) != 0) {
        fprintf(stderr, "colour_regions: %s: %dx%d is too small for regions\n", path,
                img->width, img->height);
        colour_image_free(img);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n;
    const struct colour_named *pal = colour_palette(&n);
    struct colour_image img;
    struct colour_regions r;
    if (argc == 3 && strcmp(argv[1], "--classify") == 0) {
        if (load(argv[2], &img, &r) != 0)
            return 2;
        printf("region %d px\ncentre   %-7s %5.1f %5.1f %5.1f\n", r.side, pal[r.centre].name,
               r.centre_rgb[0], r.centre_rgb[1], r.centre_rgb[2]);
        for (int k = 0; k < COLOUR_CORNERS; k++)
            printf("corner %d %-7s %5.1f %5.1f %5.1f\n", k, pal[r.corner[k]].name,
                   r.corner_rgb[k][0], r.corner_rgb[k][1], r.corner_rgb[k][2]);
        colour_image_free(&img);
        return 0;
    }
    if (argc != 4 || argv[1][0] == '-') {
        usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    int shape = colour_find(argv[2]), bg = colour_find(argv[3]);
    if (shape < 0 || bg < 0) {
        fprintf(stderr, "colour_regions: unknown colour '%s'\n", shape < 0 ? argv[2] : argv[3]);
        usage(stderr);
        return 2;
    }
    if (load(argv[1], &img, &r) != 0)
        return 2;
    bool ok = colour_regions_match(&r, shape, bg);
    printf("centre=%s corners=%s,%s,%s,%s %s\n", pal[r.centre].name, pal[r.corner[0]].name,
           pal[r.corner[1]].name, pal[r.corner[2]].name, pal[r.corner[3]].name,
           ok ? "PASS" : "FAIL");
    colour_image_free(&img);
    return ok ? 0 : 1;
}
