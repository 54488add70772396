#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mf/lanemap.h"
#include "mf/lanes.h"
#include "mf/pathrule.h"

static void test_ignored_names(void **state)
{
    assert_true(mf_path_ignored(".hidden.jpg"));
    assert_true(mf_path_ignored("cat.jpg.part"));
    assert_true(mf_path_ignored("cat.jpg.tmp"));
    assert_true(mf_path_ignored("cat.jpg.crdownload"));
    assert_true(mf_path_ignored("cat.jpg~"));
    assert_false(mf_path_ignored("cat.jpg"));
    assert_false(mf_path_ignored("part"));
    assert_false(mf_path_ignored("cat.partial"));
    assert_false(mf_path_ignored("with space\nand newline.jpg"));
}

static void test_acceptable_paths(void **state)
{
    assert_true(mf_path_acceptable("photos/cat.jpg"));
    assert_true(mf_path_acceptable("a/b/c/d.pdf"));
    assert_false(mf_path_acceptable(""));
    assert_false(mf_path_acceptable("/etc/passwd"));
    assert_false(mf_path_acceptable("../outside.jpg"));
    assert_false(mf_path_acceptable("photos/../../x.jpg"));
    assert_false(mf_path_acceptable("./x.jpg"));
    assert_false(mf_path_acceptable(".git/config"));
    assert_false(mf_path_acceptable("photos/.cache/x.jpg"));
    assert_false(mf_path_acceptable("photos//x.jpg"));
    assert_false(mf_path_acceptable("upload.jpg.part"));
}

static void test_profile_from_first_folder(void **state)
{
    char buf[64];

    assert_string_equal(mf_path_profile("ocr/scan.pdf", "ocr captions", buf, sizeof(buf)), "ocr");
    assert_string_equal(mf_path_profile("captions/a/b.mp4", "ocr,captions", buf, sizeof(buf)),
                        "captions");
    /* a file named like a profile, or a deeper folder, selects nothing */
    assert_string_equal(mf_path_profile("ocr", "ocr", buf, sizeof(buf)), "default");
    assert_string_equal(mf_path_profile("photos/ocr/x.png", "ocr", buf, sizeof(buf)), "default");
    assert_string_equal(mf_path_profile("ocrx/x.png", "ocr", buf, sizeof(buf)), "default");
    assert_string_equal(mf_path_profile("oc/x.png", "ocr", buf, sizeof(buf)), "default");
    assert_string_equal(mf_path_profile("ocr/x.png", "", buf, sizeof(buf)), "default");
}

static void test_lane_map(void **state)
{
    const char *g[MF_LANE_COUNT] = {NULL};

    g[MF_LANE_image] = "image/jpeg image/png";
    g[MF_LANE_video] = "video/* audio/*";
    g[MF_LANE_doc] = "application/pdf";
    assert_string_equal(mf_lanemap_lane("image/jpeg", g, MF_LANE_COUNT), "image");
    assert_string_equal(mf_lanemap_lane("video/mp4", g, MF_LANE_COUNT), "video");
    assert_string_equal(mf_lanemap_lane("audio/mpeg", g, MF_LANE_COUNT), "video");
    assert_string_equal(mf_lanemap_lane("application/pdf", g, MF_LANE_COUNT), "doc");
    assert_null(mf_lanemap_lane("text/plain", g, MF_LANE_COUNT));
    assert_null(mf_lanemap_lane("image/svg+xml", g, MF_LANE_COUNT));
    assert_null(mf_lanemap_lane(NULL, g, MF_LANE_COUNT));
    /* fewer lists than lanes: the lanes past them take nothing */
    assert_null(mf_lanemap_lane("application/pdf", g, 1));
}

static void test_profile_routes(void **state)
{
    const char *routes = "ocr:image=doc captions:video=video";

    assert_string_equal(mf_lanemap_route("image", "ocr", routes), "doc");
    assert_string_equal(mf_lanemap_route("image", "default", routes), "image");
    assert_string_equal(mf_lanemap_route("doc", "ocr", routes), "doc");
    assert_string_equal(mf_lanemap_route("video", "ocr", routes), "video");
    assert_null(mf_lanemap_route(NULL, "ocr", routes)); /* unsupported stays unsupported */
    assert_string_equal(mf_lanemap_route("image", "ocr", ""), "image");
    /* malformed or unknown lanes are ignored, never returned */
    assert_string_equal(mf_lanemap_route("image", "ocr", "ocr:image=bogus ocr image=doc"), "image");
    assert_string_equal(mf_lanemap_route("image", "oc", "ocr:image=doc"), "image");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ignored_names),
        cmocka_unit_test(test_acceptable_paths),
        cmocka_unit_test(test_profile_from_first_folder),
        cmocka_unit_test(test_lane_map),
        cmocka_unit_test(test_profile_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
