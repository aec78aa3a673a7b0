/*
 * tests/tools/colour_regions.h — where the colours of a picture are, for the
 * demo model's semantic test (tests/scripts/demo_semantic.sh, docs/demo.md).
 *
 * A picture of "a red circle on a blue background" passes when the mean
 * colour of its centre region is nearest to red and the mean colour of each
 * of its four corner regions is nearest to blue, among the colours of the
 * demo palette (the very values tools/demo/dataset.py draws with). Regions
 * are squares of COLOUR_REGION_NUM / COLOUR_REGION_DEN of the shorter side
 * (24 px at 256x256): the centre one centred, the corner ones in the corners.
 * Distance: Euclidean in 8-bit sRGB. Nothing here knows about models.
 *
 * Thread: any (no global state but the const palette).
 */
#ifndef PICTOR_TESTS_COLOUR_REGIONS_H
#define PICTOR_TESTS_COLOUR_REGIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLOUR_REGION_NUM 3  /* region side = 3/32 of the shorter side */
#define COLOUR_REGION_DEN 32
#define COLOUR_CORNERS 4     /* top-left, top-right, bottom-left, bottom-right */

struct colour_named {
    const char *name;
    uint8_t rgb[3];
};

/* The demo palette, in tools/demo/dataset.py's order; n = *count. */
const struct colour_named *colour_palette(size_t *count);

/* Index of NAME in the palette, or -1. */
int colour_find(const char *name);

/* Index of the palette colour nearest to rgb (ties: the earlier one). */
int colour_nearest(const double rgb[3]);

/* An RGB8 picture, [height, width, 3] row-major; owns rgb. */
struct colour_image {
    int width, height;
    uint8_t *rgb;
};

/* Reads PATH (any PNG libpng reads: grey, palette, alpha, 16-bit are
 * converted to RGB8, alpha dropped by compositing on black). Returns 0, or
 * -1 with a message naming PATH in err. Free with colour_image_free. */
int colour_image_load(const char *path, struct colour_image *img, char *err, size_t errlen);
void colour_image_free(struct colour_image *img);

/* Mean RGB of the w x h rectangle at (x, y); the caller keeps it inside. */
void colour_region_mean(const struct colour_image *img, int x, int y, int w, int h,
                        double mean[3]);

/* What a picture shows: palette index and mean colour of the centre region
 * and of each corner region (order as COLOUR_CORNERS). */
struct colour_regions {
    int side; /* region side in pixels */
    int centre;
    double centre_rgb[3];
    int corner[COLOUR_CORNERS];
    double corner_rgb[COLOUR_CORNERS][3];
};

/* Fills out for img. Returns 0, or -1 when img is too small for regions
 * (shorter side under COLOUR_REGION_DEN / COLOUR_REGION_NUM pixels). */
int colour_regions_of(const struct colour_image *img, struct colour_regions *out);

/* True when the centre is palette index shape and every corner is bg. */
bool colour_regions_match(const struct colour_regions *r, int shape, int bg);

#endif
