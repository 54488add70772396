/* Unit tests of face detection (workers/image/faces.h over OpenCV, imgfaces.c over libvips):
 * what a bad model gives, argument checks, strides, the cap and the order of boxes, and boxes
 * scaled to the displayed size. The face is the astronaut of tests/fixtures/image/ (public
 * domain); the model is opencv-data's, as the lane's default. Linked from mf_image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "faces.h"
#include "image.h"

#define MODEL "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
/* The face in astronaut.jpg, marked by hand (tests/fixtures/image/README.md). */
#define FACE_X 180
#define FACE_Y 72
#define FACE_W 88
#define FACE_H 104

/* tests/fixtures/image/<name>, found from this file's own path. */
static void fixture(char *buf, size_t size, const char *name)
{
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash != NULL ? (int)(slash - __FILE__) : 1;

    snprintf(buf, size, "%.*s/../fixtures/image/%s", dir, slash != NULL ? __FILE__ : ".", name);
}

/* Intersection over union of a box with the hand-marked face, scaled by s. */
static double iou_face(int x, int y, int w, int h, double s)
{
    double fx = FACE_X * s, fy = FACE_Y * s, fw = FACE_W * s, fh = FACE_H * s;
    double x0 = x > fx ? x : fx, y0 = y > fy ? y : fy;
    double x1 = x + w < fx + fw ? x + w : fx + fw, y1 = y + h < fy + fh ? y + h : fy + fh;
    double i = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;

    return i / ((double)w * h + fw * fh - i);
}

/* The astronaut as one-band uchar grey, at its own 512x512. */
static VipsImage *astronaut_grey(void)
{
    char path[1024];
    VipsImage *img, *grey = NULL;

    fixture(path, sizeof(path), "astronaut.jpg");
    img = vips_image_new_from_file(path, "access", VIPS_ACCESS_RANDOM, NULL);
    assert_non_null(img);
    assert_int_equal(vips_colourspace(img, &grey, VIPS_INTERPRETATION_B_W, NULL), 0);
    g_object_unref(img);
    assert_int_equal(vips_image_get_bands(grey), 1);
    return grey;
}

static void test_new_errors(void **state)
{
    const char *tmp = getenv("MF_TEST_TMP");
    char path[1024];
    mf_err err;
    int fd;

    (void)state;
    tmp = tmp != NULL ? tmp : "/tmp";
    mkdir(tmp, 0700);
    snprintf(path, sizeof(path), "%s/test_image_faces.XXXXXX", tmp);
    mf_faces_free(NULL);
    mf_err_clear(&err);
    assert_null(mf_faces_new("/nonexistent/cascade.xml", &err));
    assert_int_equal(err.code, MF_ECONFIG);
    assert_non_null(strstr(err.msg, "cv::CascadeClassifier::load(/nonexistent/cascade.xml)"));
    /* Not XML at all: OpenCV throws; the exception is caught and becomes the same code. */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a cascade\n", 14), 14);
    close(fd);
    mf_err_clear(&err);
    assert_null(mf_faces_new(path, &err));
    assert_int_equal(err.code, MF_ECONFIG);
    assert_non_null(strstr(err.msg, "failed: "));
    assert_null(strchr(err.msg, '\n'));
    unlink(path);
    /* The lane's wrapper adds what to do about it. */
    mf_err_clear(&err);
    assert_int_equal(mf_image_faces_init("/nonexistent/cascade.xml", &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "opencv-data"));
    assert_non_null(strstr(err.msg, "image_faces=0"));
}

static void test_detect_args(void **state)
{
    unsigned char px[64 * 64];
    mf_face_box boxes[4];
    mf_faces *f;
    mf_err err;
    int n = -1;

    (void)state;
    f = mf_faces_new(MODEL, &err);
    assert_non_null(f);
    memset(px, 128, sizeof(px));
    assert_int_equal(mf_faces_detect(f, px, 64, 64, 63, boxes, 4, &n, &err), MF_EINVAL);
    assert_int_equal(mf_faces_detect(f, NULL, 64, 64, 64, boxes, 4, &n, &err), MF_EINVAL);
    assert_int_equal(mf_faces_detect(f, px, 0, 64, 64, boxes, 4, &n, &err), MF_EINVAL);
    assert_int_equal(mf_faces_detect(NULL, px, 64, 64, 64, boxes, 4, &n, &err), MF_EINVAL);
    /* A flat grey square: nothing, not an error. */
    assert_int_equal(mf_faces_detect(f, px, 64, 64, 64, boxes, 4, &n, &err), 0);
    assert_int_equal(n, 0);
    mf_faces_free(f);
}

/* Four astronauts in a 2x2 grid inside a wider buffer (stride > width): four boxes, in
 * reading order, each on its tile's face; a cap of 2 keeps two. */
static void test_detect_grid(void **state)
{
    const int side = 256, w = 2 * side, h = 2 * side, stride = w + 40;
    VipsImage *grey = astronaut_grey(), *small = NULL;
    unsigned char *tile, *buf = calloc((size_t)stride * h, 1);
    mf_face_box boxes[8];
    size_t len = 0;
    mf_faces *f;
    mf_err err;
    int i, y, n = 0;

    (void)state;
    assert_int_equal(vips_resize(grey, &small, 0.5, NULL), 0);
    tile = vips_image_write_to_memory(small, &len);
    assert_int_equal(len, (size_t)side * side);
    for (i = 0; i < 4; i++)
        for (y = 0; y < side; y++)
            memcpy(buf + (size_t)((i / 2) * side + y) * stride + (i % 2) * side,
                   tile + (size_t)y * side, side);
    f = mf_faces_new(MODEL, &err);
    assert_non_null(f);
    assert_int_equal(mf_faces_detect(f, buf, w, h, stride, boxes, 8, &n, &err), 0);
    assert_int_equal(n, 4);
    for (i = 0; i < 4; i++) {
        assert_true(iou_face(boxes[i].x - (i % 2) * side, boxes[i].y - (i / 2) * side, boxes[i].w,
                             boxes[i].h, 0.5) >= 0.5);
        if (i > 0)
            assert_true(boxes[i].y > boxes[i - 1].y ||
                        (boxes[i].y == boxes[i - 1].y && boxes[i].x > boxes[i - 1].x));
    }
    assert_int_equal(mf_faces_detect(f, buf, w, h, stride, boxes, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(mf_faces_detect(f, buf, w, h, stride, NULL, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    mf_faces_free(f);
    g_free(tile);
    free(buf);
    g_object_unref(small);
    g_object_unref(grey);
}

/* meta.faces is in the displayed size the caller gives, not the pixels searched. */
static void test_image_faces_scaled(void **state)
{
    VipsImage *grey = astronaut_grey();
    json_t *meta = json_object(), *box;
    mf_err err;

    (void)state;
    assert_int_equal(mf_image_faces_init(MODEL, &err), 0);
    assert_int_equal(mf_image_faces(grey, 2048, 2048, meta, &err), 0);
    assert_int_equal(json_array_size(json_object_get(meta, "faces")), 1);
    box = json_array_get(json_object_get(meta, "faces"), 0);
    assert_true(iou_face((int)json_integer_value(json_object_get(box, "x")),
                         (int)json_integer_value(json_object_get(box, "y")),
                         (int)json_integer_value(json_object_get(box, "w")),
                         (int)json_integer_value(json_object_get(box, "h")), 4.0) >= 0.5);
    /* Off: no key at all. */
    mf_image_faces_close();
    json_object_clear(meta);
    assert_int_equal(mf_image_faces(grey, 512, 512, meta, &err), 0);
    assert_null(json_object_get(meta, "faces"));
    json_decref(meta);
    g_object_unref(grey);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_detect_args),
        cmocka_unit_test(test_detect_grid),
        cmocka_unit_test(test_image_faces_scaled),
    };
    int failed;

    if (VIPS_INIT("test_image_faces") != 0)
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    mf_image_faces_close();
    vips_shutdown();
    return failed;
}
