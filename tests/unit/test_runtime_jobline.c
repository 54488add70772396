/* The executor's line protocol (workers/runtime/jobline.c): what goes down the pipe comes
 * back byte for byte, including paths that are not UTF-8, and junk is refused, not trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mf/executor.h"

static void roundtrip(const mf_exec_job *in, mf_exec_job *out)
{
    char *line = mf_exec_job_encode(in);
    size_t n = strlen(line);
    mf_err err;

    assert_true(n > 0 && line[n - 1] == '\n');
    assert_null(memchr(line, '\n', n - 1)); /* exactly one line */
    assert_int_equal(mf_exec_job_decode(line, n - 1, out, &err), 0);
    free(line);
}

static void test_job_roundtrip(void **state)
{
    mf_exec_job in = {.id = "01JABCDEFGHJKMNPQRSTVWXYZ0",
                      .rel_path = "photos/été \"2024\"\\cat.jpg",
                      .profile = "default",
                      .mime = "image/jpeg",
                      .outdir = "/srv/outbox/01JABCDEFGHJKMNPQRSTVWXYZ0"};
    mf_exec_job out;

    roundtrip(&in, &out);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.rel_path, in.rel_path);
    assert_string_equal(out.profile, in.profile);
    assert_string_equal(out.mime, in.mime);
    assert_string_equal(out.outdir, in.outdir);
    mf_exec_job_close(&out);
}

/* A Latin-1 file name from an old camera card is a valid path and must reach the lane. */
static void test_job_non_utf8_path(void **state)
{
    char path[] = "scans/caf\xe9\xff\x01.png";
    mf_exec_job in = {.id = "x", .rel_path = path, .outdir = "/o/x"};
    mf_exec_job out;
    char *line = mf_exec_job_encode(&in);
    json_t *parsed = json_loads(line, 0, NULL);

    assert_non_null(parsed); /* still valid JSON on the wire */
    json_decref(parsed);
    free(line);
    roundtrip(&in, &out);
    assert_memory_equal(out.rel_path, path, sizeof(path));
    assert_null(out.profile);
    assert_null(out.mime);
    mf_exec_job_close(&out);
}

static void test_job_junk_refused(void **state)
{
    static const char *const junk[] = {
        "not json",
        "[1,2]",
        "{\"rel_path\":\"a\",\"outdir\":\"/o\"}",                           /* no id */
        "{\"id\":\"x\",\"rel_path\":7,\"outdir\":\"/o\"}",                  /* not a string */
        "{\"id\":\"x\",\"rel_path\":{\"hex\":\"616\"},\"outdir\":\"/o\"}",  /* odd hex */
        "{\"id\":\"x\",\"rel_path\":{\"hex\":\"6100\"},\"outdir\":\"/o\"}", /* NUL byte */
        "{\"id\":\"x\",\"rel_path\":{\"hex\":\"zz\"},\"outdir\":\"/o\"}",
    };
    mf_exec_job out;
    mf_err err;
    size_t i;

    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        assert_int_equal(mf_exec_job_decode(junk[i], strlen(junk[i]), &out, &err), MF_EPROTO);
        assert_null(out.id);
        assert_null(out.rel_path);
    }
}

static void test_reply_ok(void **state)
{
    mf_result res, back = {0};
    mf_err err;
    char *line;

    mf_result_init(&res);
    mf_result_add_output(&res, "thumb-256.webp");
    mf_result_add_output(&res, "preview-1280.webp");
    json_object_set_new(res.meta, "width", json_integer(4000));
    line = mf_exec_reply_encode(0, &res, NULL);
    assert_int_equal(mf_exec_reply_decode(line, strlen(line) - 1, &back, &err), 0);
    assert_true(json_equal(back.outputs, res.outputs));
    assert_int_equal(json_integer_value(json_object_get(back.meta, "width")), 4000);
    free(line);
    mf_result_close(&res);
    mf_result_close(&back);
    mf_result_close(NULL);
}

static void test_reply_error(void **state)
{
    mf_err in, out;
    mf_result back = {0};
    char *line;

    mf_err_set(&in, MF_ELIMIT, "image is 20000x20000 (400 MP), over the 100 MP limit");
    line = mf_exec_reply_encode(in.code, NULL, &in);
    assert_int_equal(mf_exec_reply_decode(line, strlen(line) - 1, &back, &out), MF_ELIMIT);
    assert_string_equal(out.msg, in.msg);
    assert_null(back.meta);
    free(line);

    /* A decoder message quoting a Latin-1 file name still makes a valid line and record; the
     * byte that is not UTF-8 becomes U+FFFD (mf_utf8_clean). */
    mf_err_set(&in, MF_ECORRUPT, "vips_thumbnail() failed: caf\xe9.jpg: bad");
    line = mf_exec_reply_encode(in.code, NULL, &in);
    assert_int_equal(mf_exec_reply_decode(line, strlen(line) - 1, &back, &out), MF_ECORRUPT);
    assert_string_equal(out.msg, "vips_thumbnail() failed: caf\xef\xbf\xbd.jpg: bad");
    free(line);
}

static void test_reply_junk_refused(void **state)
{
    static const char *const junk[] = {"", "{}", "{\"ok\":1}", "null", "{\"ok\":true"};
    mf_result back = {0};
    mf_err err;
    size_t i;

    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_int_equal(mf_exec_reply_decode(junk[i], strlen(junk[i]), &back, &err), MF_EPROTO);
    /* ok:false with a code that is not an error is not taken for success */
    assert_int_equal(mf_exec_reply_decode("{\"ok\":false,\"code\":0}", 22, &back, &err), MF_EPROTO);
    assert_null(back.meta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_roundtrip),    cmocka_unit_test(test_job_non_utf8_path),
        cmocka_unit_test(test_job_junk_refused), cmocka_unit_test(test_reply_ok),
        cmocka_unit_test(test_reply_error),      cmocka_unit_test(test_reply_junk_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
