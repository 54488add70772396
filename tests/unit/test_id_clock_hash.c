#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/hash.h"
#include "mf/id.h"

static void test_ids_valid_unique_sortable(void **state)
{
    char a[MF_ID_LEN], b[MF_ID_LEN], c[MF_ID_LEN];

    mf_id_new(a, 1700000000000);
    mf_id_new(b, 1700000000000);
    mf_id_new(c, 1700000000001);
    assert_true(mf_id_valid(a));
    assert_string_not_equal(a, b);
    assert_memory_equal(a, b, 10); /* same millisecond: same time prefix */
    assert_true(strcmp(a, c) < 0 && strcmp(b, c) < 0);
    assert_false(mf_id_valid("not-an-id"));
    assert_false(mf_id_valid("0123456789ABCDEFGHJKMNPQRU")); /* U is not Crockford */
}

static void test_iso_time(void **state)
{
    char buf[MF_ISO_TIME_LEN];

    assert_string_equal(mf_clock_iso(0, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
    assert_string_equal(mf_clock_iso(1795309323456, buf, sizeof(buf)), "2026-11-22T01:02:03.456Z");
    assert_true(mf_clock_now_ms() > 1700000000000);
}

static void test_sha256_and_head(void **state)
{
    char path[] = "/tmp/mf-test-hash-XXXXXX";
    int fd = mkstemp(path);
    char hex[MF_SHA256_HEX_LEN];
    unsigned char head[2];
    size_t head_len = 0;
    int64_t total = 0;
    mf_err err;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    lseek(fd, 0, SEEK_SET);
    assert_int_equal(mf_hash_fd(fd, hex, head, sizeof(head), &head_len, &total, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(head_len, 2);
    assert_memory_equal(head, "ab", 2);
    assert_int_equal(total, 3);
    close(fd);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_valid_unique_sortable),
        cmocka_unit_test(test_iso_time),
        cmocka_unit_test(test_sha256_and_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
