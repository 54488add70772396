/* Unit tests of the video lane's pure parts: the demuxer allow-list and the geometry of
 * displayed pictures (rotation, SAR, fitted output sizes), and ISO 6709 locations. They are
 * linked from the lane library mf_video. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <libavutil/error.h>

#include "mf/config.h"
#include "video.h"

extern const mf_lane mf_lane_video;

static void test_allow_list(void **state)
{
    (void)state;
    assert_true(mf_video_demuxer_allowed("mov,mp4,m4a,3gp,3g2,mj2"));
    assert_true(mf_video_demuxer_allowed("matroska,webm"));
    assert_true(mf_video_demuxer_allowed("mp3"));
    assert_true(mf_video_demuxer_allowed("mpegts"));
    /* indirections: a playlist or list of files must never be opened */
    assert_false(mf_video_demuxer_allowed("hls"));
    assert_false(mf_video_demuxer_allowed("concat"));
    assert_false(mf_video_demuxer_allowed("dash"));
    assert_false(mf_video_demuxer_allowed("image2"));
    assert_false(mf_video_demuxer_allowed("tee"));
    /* an alias list is allowed only as a whole; no prefix or empty matches */
    assert_false(mf_video_demuxer_allowed("mov,hls"));
    assert_false(mf_video_demuxer_allowed("mp"));
    assert_false(mf_video_demuxer_allowed("mp4x"));
    assert_false(mf_video_demuxer_allowed(""));
    assert_false(mf_video_demuxer_allowed("mov,"));
    assert_false(mf_video_demuxer_allowed(NULL));
}

static void test_rotation(void **state)
{
    (void)state;
    assert_int_equal(mf_video_rotation_cw(NAN), 0);
    assert_int_equal(mf_video_rotation_cw(0.0), 0);
    assert_int_equal(mf_video_rotation_cw(-90.0), 90); /* a phone held upright */
    assert_int_equal(mf_video_rotation_cw(90.0), 270);
    assert_int_equal(mf_video_rotation_cw(180.0), 180);
    assert_int_equal(mf_video_rotation_cw(-180.0), 180);
    assert_int_equal(mf_video_rotation_cw(-89.99), 90); /* rounding noise in the matrix */
    assert_int_equal(mf_video_rotation_cw(450.0), 270);
}

static void test_display_size(void **state)
{
    int w, h;

    (void)state;
    mf_video_display_size(320, 240, 0, 0, 0, &w, &h);
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    mf_video_display_size(320, 240, 2, 1, 0, &w, &h); /* wide pixels: stretch the width */
    assert_int_equal(w, 640);
    assert_int_equal(h, 240);
    mf_video_display_size(720, 576, 16, 15, 0, &w, &h); /* PAL 4:3 */
    assert_int_equal(w, 768);
    assert_int_equal(h, 576);
    mf_video_display_size(320, 240, 1, 2, 0, &w, &h); /* tall pixels: stretch the height */
    assert_int_equal(w, 320);
    assert_int_equal(h, 480);
    mf_video_display_size(1920, 1080, 1, 1, 90, &w, &h);
    assert_int_equal(w, 1080);
    assert_int_equal(h, 1920);
    mf_video_display_size(320, 240, 2, 1, 270, &w, &h); /* SAR first, then the turn */
    assert_int_equal(w, 240);
    assert_int_equal(h, 640);
}

static void test_fit_even(void **state)
{
    int w, h;

    (void)state;
    mf_video_fit_even(1920, 1080, 1280, 720, &w, &h);
    assert_int_equal(w, 1280);
    assert_int_equal(h, 720);
    mf_video_fit_even(320, 240, 1280, 720, &w, &h); /* never upscaled */
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    mf_video_fit_even(1080, 1920, 720, 1280, &w, &h);
    assert_int_equal(w, 720);
    assert_int_equal(h, 1280);
    mf_video_fit_even(1440, 1080, 320, 1280, &w, &h); /* keyframe tile: 320 wide */
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    mf_video_fit_even(321, 241, 1280, 720, &w, &h); /* odd sizes become even */
    assert_int_equal(w % 2, 0);
    assert_int_equal(h % 2, 0);
    mf_video_fit_even(7680, 2, 1280, 720, &w, &h); /* degenerate: at least 2 */
    assert_int_equal(w, 1280);
    assert_int_equal(h, 2);
    mf_video_fit_even(1281, 721, 1281, 721, &w, &h); /* odd box: rounded down, not past it */
    assert_true(w <= 1281 && h <= 721);
}

static void test_iso6709(void **state)
{
    double lat = 0, lon = 0;

    (void)state;
    assert_int_equal(mf_video_iso6709("+48.8577+002.2950+035.000/", &lat, &lon), 0);
    assert_true(fabs(lat - 48.8577) < 1e-9);
    assert_true(fabs(lon - 2.295) < 1e-9);
    assert_int_equal(mf_video_iso6709("-33.8688+151.2093/", &lat, &lon), 0);
    assert_true(lat < 0 && lon > 151);
    assert_int_equal(mf_video_iso6709("Paris", &lat, &lon), -1);
    assert_int_equal(mf_video_iso6709("+95.0+010.0/", &lat, &lon), -1);
    assert_int_equal(mf_video_iso6709(NULL, &lat, &lon), -1);
}

/* video_hw_encoder: the three names are taken, anything else is a configuration error that
 * names the setting (a typo must not silently mean libx264). */
static void test_hw_encoder_config(void **state)
{
    const char *good[] = {"none", "vaapi", "nvenc"};
    mf_config cfg = {0};
    mf_err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cfg.video_hw_encoder = (char *)good[i];
        assert_int_equal(mf_lane_video.init(&cfg, &err), 0);
    }
    cfg.video_hw_encoder = (char *)"cuda";
    assert_int_equal(mf_lane_video.init(&cfg, &err), MF_ECONFIG);
    assert_non_null(strstr(err.msg, "video_hw_encoder"));
}

/* video_threads: a number is used as given; auto leaves libav its one-per-core choice when the
 * job has the machine to itself, and takes the cores the other runnable tasks leave idle, at
 * least one, when it does not. */
static void test_threads_pick(void **state)
{
    (void)state;
    assert_int_equal(mf_video_threads_pick(3, 2, 9), 3);
    assert_int_equal(mf_video_threads_pick(0, 2, 1), 0); /* only this job runs */
    assert_int_equal(mf_video_threads_pick(0, 2, 0), 0);
    assert_int_equal(mf_video_threads_pick(0, 2, 2), 1); /* one other task: one core left */
    assert_int_equal(mf_video_threads_pick(0, 2, 4), 1); /* busy fleet: never 0 or less */
    assert_int_equal(mf_video_threads_pick(0, 8, 3), 6);
    assert_int_equal(mf_video_threads_pick(0, 1, 1), 0);
}

/* Errors read by a person: no descriptor paths, no "patches welcome", the part named first. */
static void test_error_words(void **state)
{
    char s[256] = "file:/proc/self/fd/6: bad seek to 1234 in /proc/self/fd/12";
    mf_err err = {0};

    (void)state;
    mf_video_scrub_paths(s, sizeof(s));
    assert_string_equal(s, "the input: bad seek to 1234 in the input");
    mf_video_note_av_error("[hevc @ 0x55d0c0] PPS extension is not implemented");
    mf_video_av_reason(AVERROR_PATCHWELCOME, s, sizeof(s));
    assert_string_equal(s, "this codec feature is not supported by FFmpeg (PPS extension is not "
                           "implemented)");
    assert_null(strstr(s, "patches welcome"));
    assert_int_equal(mf_video_averr(&err, AVERROR_PATCHWELCOME, MF_ECORRUPT, "decoding"),
                     MF_EUNSUPPORTED);
    mf_video_note_av_error("[mpegts @ 0x1] /proc/self/fd/6: bad seek to 99");
    mf_video_averr(&err, AVERROR(EIO), MF_ECORRUPT, "av_read_frame()");
    assert_null(strstr(err.msg, "/proc/self/fd"));
    assert_non_null(strstr(err.msg, "(the input: bad seek to 99)"));
    mf_video_err_prefix(&err, "video stream %d (%s): ", 0, "h264");
    mf_video_err_prefix(&err, "video stream %d (%s): ", 0, "h264"); /* said once */
    assert_int_equal(strncmp(err.msg, "video stream 0 (h264): av_read_frame() failed", 45), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_list),   cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_display_size), cmocka_unit_test(test_fit_even),
        cmocka_unit_test(test_iso6709),      cmocka_unit_test(test_hw_encoder_config),
        cmocka_unit_test(test_threads_pick), cmocka_unit_test(test_error_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
