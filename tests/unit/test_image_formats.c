/* Unit tests of the format list shared by the image and document lanes (workers/vipsutil):
 * formats found by content whatever the name, BMP/ICO/PSD by their signatures only, a damaged
 * TIFF still a TIFF, the decode memory estimate from a header (interlaced PNG whole, the
 * non-interlaced one streamed) and libvips errors without our /proc/self/fd paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vips/vips.h>

#include "mf/vipsutil.h"

static char dir[256];

/* Writes len bytes to dir/name; returns the path (static buffer). */
static const char *put(const char *name, const void *data, size_t len)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static const char *name_of(const char *path)
{
    const mf_vips_format *f = mf_vips_format_find(path);

    return f != NULL ? f->name : "none";
}

static void test_signatures(void **state)
{
    unsigned char bmp[64] = "BM", ico[64] = {0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0};
    unsigned char psd[64] = "8BPS\0\1", tif[] = "II*\0\x08\0\0\0\xff\xff";
    char text[] = "hello, not an image at all, just some text\n";

    (void)state;
    bmp[14] = 40; /* BITMAPINFOHEADER */
    assert_string_equal(name_of(put("x.jpg", bmp, sizeof(bmp))), "bmp");
    assert_string_equal(name_of(put("x.png", ico, sizeof(ico))), "ico");
    assert_string_equal(name_of(put("x.gif", psd, sizeof(psd))), "psd");
    /* a TIFF whose first directory is gone: still a TIFF (mf_vips_open() says what is wrong) */
    assert_string_equal(name_of(put("x.bin", tif, sizeof(tif) - 1)), "tiff");
    assert_string_equal(name_of(put("x.bmp", text, strlen(text))), "none");
    bmp[14] = 99; /* "BM" followed by garbage is not a bitmap */
    assert_string_equal(name_of(put("y.bmp", bmp, sizeof(bmp))), "none");
    assert_int_equal(mf_vips_format_index(NULL), 0);
    assert_null(mf_vips_format_at(0));
    assert_ptr_equal(mf_vips_format_at(mf_vips_format_index(mf_vips_format_at(3))),
                     mf_vips_format_at(3));
}

static const mf_vips_format *by_name(const char *name)
{
    const mf_vips_format *f;
    int i;

    for (i = 1; (f = mf_vips_format_at(i)) != NULL; i++)
        if (strcmp(f->name, name) == 0)
            return f;
    fail_msg("no format %s", name);
    return NULL;
}

static void test_decode_bytes(void **state)
{
    VipsImage *head = NULL;
    mf_err err;

    (void)state;
    /* a 10000x10000 16-bit RGBA header, no pixels computed */
    assert_int_equal(vips_black(&head, 10000, 10000, "bands", 4, NULL), 0);
    head->BandFmt = VIPS_FORMAT_USHORT;
    vips_image_set_int(head, "interlaced", 1);
    assert_true(mf_vips_decode_bytes(head, by_name("png"), 1, 0) == 800000000LL);
    assert_int_equal(mf_vips_check_budget(head, by_name("png"), 1, 0, 512, &err), MF_ELIMIT);
    assert_non_null(strstr(err.msg, "about 763 MB to decode (10000x10000, 4 bands of 16 bit, "
                                    "interlaced: decoded whole), over the 512 MB"));
    assert_int_equal(mf_vips_check_budget(head, by_name("png"), 1, 0, 1024, &err), 0);
    /* the same pixels not interlaced are streamed: nothing held whole */
    vips_image_set_int(head, "interlaced", 0);
    assert_true(mf_vips_decode_bytes(head, by_name("png"), 1, 0) == 0);
    /* unless the caller keeps the page whole (the document lane) */
    assert_true(mf_vips_decode_bytes(head, by_name("png"), 1, 1) == 800000000LL);
    /* JPEG 2000: OpenJPEG's 32-bit samples */
    assert_true(mf_vips_decode_bytes(head, by_name("jp2k"), 1, 0) == 1600000000LL);
    g_object_unref(head);
}

static void test_error_text(void **state)
{
    char buf[256];

    (void)state;
    vips_error("VipsForeignLoad", "%s", "/proc/self/fd/12: bad seek to 4365");
    assert_string_equal(mf_vips_error(buf, sizeof(buf)), "VipsForeignLoad: file: bad seek to 4365");
    /* nothing from libvips: said so, not "unknown libvips error" */
    assert_string_equal(mf_vips_error(buf, sizeof(buf)), "no reason given by the decoder");
}

static int setup(void **state)
{
    mf_err err;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/test_image_formats.XXXXXX",
             getenv("MF_TEST_TMP") != NULL ? getenv("MF_TEST_TMP") : "/tmp");
    g_mkdir_with_parents(getenv("MF_TEST_TMP") != NULL ? getenv("MF_TEST_TMP") : "/tmp", 0700);
    if (g_mkdtemp(dir) == NULL)
        return -1;
    return mf_vips_init("test_image_formats", &err);
}

static int teardown(void **state)
{
    static const char *const names[] = {"x.jpg", "x.png", "x.gif", "x.bin", "x.bmp", "y.bmp"};
    char path[600];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        remove(path);
    }
    remove(dir);
    vips_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_decode_bytes),
        cmocka_unit_test(test_error_text),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
