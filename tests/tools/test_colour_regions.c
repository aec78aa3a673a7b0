/*
 * tests/tools/test_colour_regions.c — the semantic test's checker judged on
 * pictures whose answer is known: synthetic PNGs of a filled disc on a
 * plain background (written with pictor's own PNG encoder, read back by the
 * checker's libpng reader), including pictures that must fail.
 */
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "colour_regions.h"
#include "pictor/png.h"

#define W 256
#define H 256

/* rgb: a disc of radius r at (cx, cy) in fg on bg; fg/bg are palette names
 * or NULL for an explicit colour passed through fg_rgb/bg_rgb. */
static void draw(uint8_t *rgb, int w, int h, const uint8_t fg[3], const uint8_t bg[3], int cx,
                 int cy, int r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *c = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r ? fg : bg;
            memcpy(rgb + ((size_t)y * w + x) * 3, c, 3);
        }
}

static const uint8_t *pal(const char *name)
{
    size_t n;
    int i = colour_find(name);
    return i < 0 ? NULL : colour_palette(&n)[i].rgb;
}

/* Writes the picture to a PNG, loads it back and classifies it. */
static int roundtrip(const uint8_t *rgb, int w, int h, struct colour_regions *r)
{
    char err[256];
    const char *p = test_tmp_at("img.png");
    struct colour_image img;
    if (pictor_png_write_file(p, rgb, w, h, NULL, 0, err, sizeof err) != 0 ||
        colour_image_load(p, &img, err, sizeof err) != 0) {
        test_fail_(__FILE__, __LINE__, "%s", err);
        return -1;
    }
    CHECK(img.width == w && img.height == h, "size read back %dx%d", img.width, img.height);
    int rc = colour_regions_of(&img, r);
    colour_image_free(&img);
    return rc;
}

static void test_palette_names(void)
{
    size_t n;
    const struct colour_named *p = colour_palette(&n);
    static const char *need[] = {"red", "green", "blue", "yellow", "white", "black"};
    CHECK(n >= 6, "palette has %zu colours", n);
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        CHECK(colour_find(need[i]) >= 0, "%s missing", need[i]);
    CHECK(colour_find("mauve") == -1, "unknown name found");
    for (size_t i = 0; i < n; i++) {
        double c[3] = {p[i].rgb[0], p[i].rgb[1], p[i].rgb[2]};
        CHECK(colour_nearest(c) == (int)i, "%s is not nearest to itself", p[i].name);
    }
}

static void test_nearest_of_off_colours(void)
{
    /* pure primaries and greys, not the palette values themselves */
    CHECK(colour_nearest((double[3]){255, 0, 0}) == colour_find("red"), "pure red");
    CHECK(colour_nearest((double[3]){0, 0, 255}) == colour_find("blue"), "pure blue");
    CHECK(colour_nearest((double[3]){0, 200, 0}) == colour_find("green"), "green");
    CHECK(colour_nearest((double[3]){255, 255, 0}) == colour_find("yellow"), "pure yellow");
    CHECK(colour_nearest((double[3]){200, 200, 200}) == colour_find("white"), "light grey");
    CHECK(colour_nearest((double[3]){60, 60, 60}) == colour_find("black"), "dark grey");
}

static void test_disc_passes(void)
{
    static const char *pairs[][2] = {{"red", "blue"},    {"green", "white"}, {"blue", "yellow"},
                                     {"yellow", "black"}, {"white", "green"}, {"black", "red"}};
    uint8_t *rgb = malloc((size_t)W * H * 3);
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct colour_regions r;
        draw(rgb, W, H, pal(pairs[i][0]), pal(pairs[i][1]), W / 2, H / 2, 40);
        if (roundtrip(rgb, W, H, &r) != 0)
            break;
        CHECK(r.side == 24, "region side %d at 256 px", r.side);
        CHECK(colour_regions_match(&r, colour_find(pairs[i][0]), colour_find(pairs[i][1])),
              "%s on %s: centre %d corners %d %d %d %d", pairs[i][0], pairs[i][1], r.centre,
              r.corner[0], r.corner[1], r.corner[2], r.corner[3]);
        /* the swapped caption must fail */
        CHECK(!colour_regions_match(&r, colour_find(pairs[i][1]), colour_find(pairs[i][0])),
              "%s on %s also matches the swapped colours", pairs[i][0], pairs[i][1]);
    }
    free(rgb);
}

static void test_must_fail(void)
{
    uint8_t *rgb = malloc((size_t)W * H * 3);
    struct colour_regions r;
    int red = colour_find("red"), blue = colour_find("blue");
    /* disc off-centre: the centre region is background */
    draw(rgb, W, H, pal("red"), pal("blue"), 60, 60, 40);
    if (roundtrip(rgb, W, H, &r) == 0)
        CHECK(!colour_regions_match(&r, red, blue) && r.centre == blue, "off-centre disc passed");
    /* disc so large it covers the corners */
    draw(rgb, W, H, pal("red"), pal("blue"), W / 2, H / 2, 200);
    if (roundtrip(rgb, W, H, &r) == 0)
        CHECK(!colour_regions_match(&r, red, blue) && r.corner[0] == red, "corners red passed");
    /* one corner of another colour is enough to fail */
    draw(rgb, W, H, pal("red"), pal("blue"), W / 2, H / 2, 40);
    for (int y = H - 20; y < H; y++)
        for (int x = W - 20; x < W; x++)
            memcpy(rgb + ((size_t)y * W + x) * 3, pal("yellow"), 3);
    if (roundtrip(rgb, W, H, &r) == 0)
        CHECK(!colour_regions_match(&r, red, blue) && r.corner[3] == colour_find("yellow"),
              "a yellow corner passed");
    free(rgb);
}

static void test_region_mean_and_shape(void)
{
    /* left half black, right half white: the centre averages to mid grey */
    enum { w = 64, h = 32 };
    uint8_t rgb[w * h * 3];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memset(rgb + ((size_t)y * w + x) * 3, x < w / 2 ? 0 : 255, 3);
    struct colour_image img = {w, h, rgb};
    double m[3];
    colour_region_mean(&img, w / 2 - 2, 0, 4, 4, m);
    CHECK_NEAR(m[0], 127.5, 1e-9, "half/half mean");
    struct colour_regions r;
    CHECK(colour_regions_of(&img, &r) == 0 && r.side == 3, "side %d (3/32 of 32)", r.side);
    CHECK(r.corner[0] == colour_find("black") && r.corner[1] == colour_find("white"),
          "corners of a non-square picture");
    struct colour_image tiny = {8, 8, rgb};
    CHECK(colour_regions_of(&tiny, &r) == -1, "8x8 has no regions");
}

static void test_load_errors(void)
{
    char err[256] = "";
    struct colour_image img;
    CHECK(colour_image_load(test_tmp_at("missing.png"), &img, err, sizeof err) == -1 &&
              strstr(err, "missing.png"), "missing file: %s", err);
    test_tmp_write("text.png", "not a png\n");
    CHECK(colour_image_load(test_tmp_at("text.png"), &img, err, sizeof err) == -1 &&
              strstr(err, "text.png"), "text file: %s", err);
}

int main(void)
{
    if (test_tmp_create("colour-regions") != 0)
        return 1;
    RUN(test_palette_names);
    RUN(test_nearest_of_off_colours);
    RUN(test_disc_passes);
    RUN(test_must_fail);
    RUN(test_region_mean_and_shape);
    RUN(test_load_errors);
    test_tmp_remove();
    TEST_MAIN_END();
}
