/* Unit tests of the image lane's own parsing and hashing: libvips' EXIF strings to values,
 * exposure times as people write them, and the perceptual hash (stable under rescaling,
 * different for different pictures). Linked from the lane library mf_image. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image.h"

#define SIDE MF_IMAGE_PHASH_SIDE

static void test_exif_value(void **state)
{
    char v[64];

    (void)state;
    assert_int_equal(
        mf_image_exif_value("Canon (Canon, ASCII, 6 components, 6 bytes)", v, sizeof(v)), 0);
    assert_string_equal(v, "Canon");
    /* a value holding " (" itself: split by length, not at the first parenthesis */
    assert_int_equal(
        mf_image_exif_value("Lens (II) (Lens (II), ASCII, 10 components, 10 bytes)", v, sizeof(v)),
        0);
    assert_string_equal(v, "Lens (II)");
    assert_int_equal(
        mf_image_exif_value("1/250 (1/250 sec., Rational, 1 components, 8 bytes)", v, sizeof(v)),
        0);
    assert_string_equal(v, "1/250");
    assert_int_equal(mf_image_exif_value("51/1 30/1 2621/100 (51, 30, 26.21, Rational, 3 "
                                         "components, 24 bytes)",
                                         v, sizeof(v)),
                     0);
    assert_string_equal(v, "51/1 30/1 2621/100");
    assert_int_equal(mf_image_exif_value("400", v, sizeof(v)), 0);
    assert_string_equal(v, "400");
    /* nothing, or too long for the buffer */
    assert_int_equal(mf_image_exif_value(" (, ASCII, 1 components, 1 bytes)", v, sizeof(v)), -1);
    assert_int_equal(mf_image_exif_value("", v, sizeof(v)), -1);
    assert_int_equal(mf_image_exif_value("Canon (Canon, ASCII, 6 components, 6 bytes)", v, 5), -1);
}

static void test_exif_rationals(void **state)
{
    double d[3] = {0, 0, 0};

    (void)state;
    assert_int_equal(mf_image_exif_rationals("51/1 30/1 2621/100", d, 3), 3);
    assert_true(d[0] == 51 && d[1] == 30 && d[2] == 26.21);
    assert_int_equal(mf_image_exif_rationals("51/1 30/1 2621/100", d, 1), 1);
    assert_int_equal(mf_image_exif_rationals("35/1", d, 3), 1);
    assert_true(d[0] == 35);
    /* a zero denominator ends the list; text is no rational */
    assert_int_equal(mf_image_exif_rationals("1/0", d, 3), 0);
    assert_int_equal(mf_image_exif_rationals("5/1 1/0 3/1", d, 3), 1);
    assert_int_equal(mf_image_exif_rationals("Sea level", d, 3), 0);
    assert_int_equal(mf_image_exif_rationals("400", d, 3), 0);
}

static void test_exposure_format(void **state)
{
    char t[32];

    (void)state;
    mf_image_exposure_format(1.0 / 250, t, sizeof(t));
    assert_string_equal(t, "1/250");
    mf_image_exposure_format(10.0 / 2500, t, sizeof(t));
    assert_string_equal(t, "1/250");
    mf_image_exposure_format(1.0 / 3, t, sizeof(t));
    assert_string_equal(t, "1/3");
    mf_image_exposure_format(0.5, t, sizeof(t));
    assert_string_equal(t, "0.5");
    mf_image_exposure_format(2.5, t, sizeof(t));
    assert_string_equal(t, "2.5");
    mf_image_exposure_format(30, t, sizeof(t));
    assert_string_equal(t, "30");
}

/* meta from an image's fields, as the header of a file would set them. */
static json_t *meta_of(const char *const (*fields)[2], size_t n, const void *icc, size_t icc_len)
{
    VipsImage *img = vips_image_new_matrix(2, 2);
    json_t *meta = json_object();
    size_t i;

    for (i = 0; i < n; i++)
        vips_image_set_string(img, fields[i][0], fields[i][1]);
    if (icc != NULL)
        vips_image_set_blob_copy(img, VIPS_META_ICC_NAME, icc, icc_len);
    mf_image_meta_read(img, meta);
    g_object_unref(img);
    return meta;
}

/* South, east, below sea level; a longer exposure. */
static void test_meta_southern(void **state)
{
    static const char *const f[][2] = {
        {"exif-ifd3-GPSLatitudeRef", "S (S, ASCII, 2 components, 2 bytes)"},
        {"exif-ifd3-GPSLatitude", "33/1 52/1 0/1 (33, 52, 0, Rational, 3 components, 24 bytes)"},
        {"exif-ifd3-GPSLongitudeRef", "E (E, ASCII, 2 components, 2 bytes)"},
        {"exif-ifd3-GPSLongitude", "151/1 12/1 36/1 (151, 12, 36, Rational, 3 components, 24 "
                                   "bytes)"},
        {"exif-ifd3-GPSAltitudeRef", "Below sea level (Below sea level, Byte, 1 components, 1 "
                                     "bytes)"},
        {"exif-ifd3-GPSAltitude", "125/10 (12.5, Rational, 1 components, 8 bytes)"},
        {"exif-ifd2-ExposureTime", "5/2 (2.5 sec., Rational, 1 components, 8 bytes)"},
    };
    json_t *meta, *gps;

    (void)state;
    assert_int_equal(VIPS_INIT("test_image"), 0);
    meta = meta_of(f, sizeof(f) / sizeof(f[0]), NULL, 0);
    gps = json_object_get(json_object_get(meta, "exif"), "gps");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(meta, "exif"), "exposure")), "2.5");
    assert_true(fabs(json_number_value(json_object_get(gps, "lat")) + 33.866667) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(gps, "lon")) - 151.21) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(gps, "alt")) + 12.5) < 1e-9);
    assert_int_equal(json_object_size(json_object_get(meta, "exif")), 2);
    json_decref(meta);
}

/* What a file garbles is left out, never a failure or a raw value. */
static void test_meta_garbage(void **state)
{
    static const char *const f[][2] = {
        {"exif-ifd0-Make", "\xff\xfe (\xff\xfe, ASCII, 3 components, 3 bytes)"},
        {"exif-ifd0-Model", " (, ASCII, 1 components, 1 bytes)"},
        {"exif-ifd2-DateTimeOriginal", "2023:13:45 99:00:00 (x, ASCII, 20 components, 20 bytes)"},
        {"exif-ifd2-ExposureTime", "1/0 (x, Rational, 1 components, 8 bytes)"},
        {"exif-ifd2-ISOSpeedRatings", "-5 (x, Short, 1 components, 2 bytes)"},
        {"exif-ifd3-GPSLatitude", "95/1 0/1 0/1 (x, Rational, 3 components, 24 bytes)"},
        {"exif-ifd3-GPSLongitude", "10/1 0/1 0/1 (x, Rational, 3 components, 24 bytes)"},
    };
    static const char not_icc[] = "this is no ICC profile, just bytes";
    json_t *meta;

    (void)state;
    assert_int_equal(VIPS_INIT("test_image"), 0);
    meta = meta_of(f, sizeof(f) / sizeof(f[0]), not_icc, sizeof(not_icc));
    assert_int_equal(json_object_size(meta), 0);
    json_decref(meta);
}

static int distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/* A picture with structure at low frequencies: a diagonal ramp with a bright disc. */
static void picture(unsigned char *px, int side, int seed)
{
    int x, y, dx, dy, v;

    srand((unsigned)seed);
    for (y = 0; y < side; y++)
        for (x = 0; x < side; x++) {
            dx = x - side / 3;
            dy = y - side / 2;
            v = (x + y) * 160 / (2 * side) + (dx * dx + dy * dy < side * side / 16 ? 90 : 0);
            v += seed != 0 ? rand() % 9 - 4 : 0; /* a little noise, as recompression adds */
            px[y * side + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

static void test_phash_grey(void **state)
{
    unsigned char pa[SIDE * SIDE], pb[SIDE * SIDE];
    float a[SIDE * SIDE], b[SIDE * SIDE], inv[SIDE * SIDE];
    uint64_t ha, hb, hi;
    int i;

    (void)state;
    picture(pa, SIDE, 0);
    picture(pb, SIDE, 7);
    for (i = 0; i < SIDE * SIDE; i++) {
        a[i] = pa[i];
        b[i] = pb[i];
        inv[i] = 255.0f - pa[i];
    }
    ha = mf_image_phash_grey(a);
    hb = mf_image_phash_grey(b);
    hi = mf_image_phash_grey(inv);
    assert_int_equal(ha, mf_image_phash_grey(a)); /* deterministic */
    assert_true(distance(ha, hb) <= 4);           /* noise barely moves it */
    assert_true(distance(ha, hi) >= 56);          /* the negative is another picture */
    /* half the bits above the median, half not */
    assert_in_range(__builtin_popcountll(ha), 28, 36);
}

/* The same picture at two sizes hashes alike through libvips' resampling; another does not. */
static void test_phash_image(void **state)
{
    unsigned char *big = malloc(640 * 640), *small = malloc(160 * 160);
    VipsImage *ib, *is, *other = NULL;
    uint64_t hb = 0, hs = 0, ho = 0;
    mf_err err;

    (void)state;
    assert_int_equal(VIPS_INIT("test_image"), 0);
    picture(big, 640, 0);
    picture(small, 160, 3);
    ib = vips_image_new_from_memory(big, 640 * 640, 640, 640, 1, VIPS_FORMAT_UCHAR);
    is = vips_image_new_from_memory(small, 160 * 160, 160, 160, 1, VIPS_FORMAT_UCHAR);
    assert_non_null(ib);
    assert_non_null(is);
    assert_int_equal(vips_rot(ib, &other, VIPS_ANGLE_D90, NULL), 0);
    assert_int_equal(mf_image_phash(ib, &hb, &err), 0);
    assert_int_equal(mf_image_phash(is, &hs, &err), 0);
    assert_int_equal(mf_image_phash(other, &ho, &err), 0);
    assert_true(distance(hb, hs) <= 6);
    assert_true(distance(hb, ho) >= 16);
    g_object_unref(other);
    g_object_unref(ib);
    g_object_unref(is);
    free(big);
    free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exif_value),      cmocka_unit_test(test_exif_rationals),
        cmocka_unit_test(test_exposure_format), cmocka_unit_test(test_phash_grey),
        cmocka_unit_test(test_phash_image),     cmocka_unit_test(test_meta_southern),
        cmocka_unit_test(test_meta_garbage),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    vips_shutdown();
    return failed;
}
