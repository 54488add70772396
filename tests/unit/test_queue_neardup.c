/* queues/lua/neardup.lua through mf_queue_near_dups(), against a real redis-server this test
 * starts on a private unix socket (no persistence). Each test starts from an empty database.
 * Checks the boundary the band index promises (7 bits found, 8 not), that only earlier images
 * are listed and never the image itself, that a re-run is idempotent, and the bucket cap. */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "mf/err.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mf/redis.h"
#include "support/redis_server.h"
#include "../../queues/internal.h" /* the script source, to run it with a small bucket cap */

#define BASE 0x0123456789abcdefULL

typedef mf_test_fx fx; /* tests/unit/support/redis_server.h */

static const mf_queue_opts g_opts = {.prefix = "mf:", .lane = "image", .events_maxlen = 100};

/* ---- helpers -------------------------------------------------------------------------- */

static long long raw_int(fx *f, const char *fmt, ...)
{
    redisReply *rep;
    long long v = 0;
    va_list ap;

    va_start(ap, fmt);
    rep = redisvCommand(f->raw, fmt, ap);
    va_end(ap);
    assert_non_null(rep);
    if (rep->type == REDIS_REPLY_STRING) /* GET of a counter */
        v = strtoll(rep->str, NULL, 10);
    else if (rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    else
        fail_msg("unexpected reply type %d", rep->type);
    freeReplyObject(rep);
    return v;
}

/* A 26-character id that sorts by n. */
static void make_id(char id[MF_ID_LEN], int n)
{
    snprintf(id, MF_ID_LEN, "01TEST%020d", n);
}

static void hex(char out[17], uint64_t h)
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* Indexes image n with hash h; returns how many near-duplicates it lists (into dups). */
static size_t near(fx *f, int n, uint64_t h, int bits, mf_near_dup *dups)
{
    char id[MF_ID_LEN], hx[17];
    size_t count = 99;
    mf_err err;

    make_id(id, n);
    hex(hx, h);
    if (mf_queue_near_dups(f->r, &g_opts, id, hx, bits, dups, MF_NEAR_DUP_LIST_MAX, &count, &err) !=
        0)
        fail_msg("mf_queue_near_dups: %s", err.msg);
    return count;
}

static void assert_dup(const mf_near_dup *d, int n, int distance)
{
    char id[MF_ID_LEN];

    make_id(id, n);
    assert_string_equal(d->id, id);
    assert_int_equal(d->distance, distance);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* 7 bits apart with every band differing (2+2+2+1 bits) is found through the one-bit probes
 * of the last band; 8 bits (2 per band) is not, and 7 is not found within 6. 8 bits in one
 * band (the other bands equal) is a candidate that the exact distance turns away. */
static void test_boundary_7_and_8(void **state)
{
    fx *f = *state;
    const uint64_t d7 = BASE ^ 0x0003000300030001ULL;
    const uint64_t d8 = BASE ^ 0x0300030003000300ULL;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];

    assert_int_equal(near(f, 1, BASE, 7, dups), 0);
    assert_int_equal(near(f, 2, d7, 7, dups), 1);
    assert_dup(&dups[0], 1, 7);
    assert_int_equal(near(f, 3, d8, 7, dups), 0);
    assert_int_equal(near(f, 4, d7, 6, dups), 1); /* only image 2, at 0 */
    assert_dup(&dups[0], 2, 0);
    assert_int_equal(near(f, 5, BASE ^ 0x00ff000000000000ULL, 7, dups), 0);
    assert_int_equal(near(f, 6, BASE ^ 0x007f000000000000ULL, 7, dups), 2);
    assert_dup(&dups[0], 5, 1);
    assert_dup(&dups[1], 1, 7);
}

/* Only images indexed before are listed, nearest first then by id, never the image itself;
 * an unrelated hash lists nothing. */
static void test_earlier_only_sorted(void **state)
{
    fx *f = *state;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];

    assert_int_equal(near(f, 5, BASE ^ 0x7, 6, dups), 0);
    assert_int_equal(near(f, 9, BASE ^ 0x1, 6, dups), 1);
    assert_int_equal(near(f, 7, BASE ^ 0x2, 6, dups), 2);
    assert_int_equal(near(f, 1, BASE, 6, dups), 3);
    assert_dup(&dups[0], 7, 1);
    assert_dup(&dups[1], 9, 1);
    assert_dup(&dups[2], 5, 3);
    assert_int_equal(near(f, 2, ~BASE, 6, dups), 0);
}

/* A re-run for the same id (a retry) writes nothing and answers the same, even when a near
 * image was indexed in between. */
static void test_rerun_idempotent(void **state)
{
    fx *f = *state;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];
    long long seq;

    assert_int_equal(near(f, 1, BASE, 6, dups), 0);
    assert_int_equal(near(f, 2, BASE ^ 0x3, 6, dups), 1);
    assert_int_equal(near(f, 3, BASE, 6, dups), 2);
    seq = raw_int(f, "GET mf:phash:seq");
    assert_int_equal(near(f, 2, BASE ^ 0x3, 6, dups), 1);
    assert_dup(&dups[0], 1, 2);
    assert_int_equal(near(f, 1, BASE, 6, dups), 0);
    assert_int_equal(raw_int(f, "GET mf:phash:seq"), seq);
    assert_int_equal(raw_int(f, "HLEN mf:phash:0:0123"), 3);
    assert_int_equal(raw_int(f, "HLEN mf:phash:3:cdef"), 2);
    assert_int_equal(raw_int(f, "HLEN mf:phash:3:cdec"), 1);
    assert_int_equal(raw_int(f, "DBSIZE"), 1 + 4 + 1); /* seq, 4 shared bands, cdec */
}

/* The key layout users read with redis-cli. */
static void test_key_layout(void **state)
{
    fx *f = *state;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];
    char id[MF_ID_LEN];
    redisReply *rep;

    near(f, 1, BASE, 6, dups);
    make_id(id, 1);
    rep = redisCommand(f->raw, "HGET mf:phash:2:89ab %s", id);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_string_equal(rep->str, "0123456789abcdef:1");
    freeReplyObject(rep);
    rep = redisCommand(f->raw, "OBJECT ENCODING mf:phash:1:4567");
    assert_string_equal(rep->str, "listpack");
    freeReplyObject(rep);
}

/* The list is capped, and a bucket over MF_NEAR_DUP_BUCKET_MAX entries (thousands of flat
 * images with one hash) is read only that far: the call stays cheap and still answers. */
static void test_caps(void **state)
{
    fx *f = *state;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];
    const int n = MF_NEAR_DUP_BUCKET_MAX + 100;
    char id[MF_ID_LEN];
    int i, b;

    for (i = 0; i < n; i++) {
        make_id(id, 100 + i);
        for (b = 0; b < 4; b++)
            redisAppendCommand(f->raw, "HSET mf:phash:%d:0000 %s 0000000000000000:%d", b, id,
                               i + 1);
    }
    for (i = 0; i < 4 * n; i++) {
        redisReply *rep = NULL;

        assert_int_equal(redisGetReply(f->raw, (void **)&rep), REDIS_OK);
        freeReplyObject(rep);
    }
    freeReplyObject(redisCommand(f->raw, "SET mf:phash:seq %d", n));
    /* 2,101 images with one hash: about 2,000 are read, 20 listed */
    assert_int_equal(near(f, 99, 0, 6, dups), MF_NEAR_DUP_LIST_MAX);
    for (i = 0; i < MF_NEAR_DUP_LIST_MAX; i++)
        assert_int_equal(dups[i].distance, 0);
    assert_int_equal(near(f, 1, 0x4000000000000000ULL, 6, dups), MF_NEAR_DUP_LIST_MAX);
    for (i = 0; i < MF_NEAR_DUP_LIST_MAX; i++)
        assert_int_equal(dups[i].distance, 1);
    /* image 1 has its own band 0 bucket: image 2 finds it through that band */
    assert_int_equal(near(f, 2, 0xc000000000000000ULL, 6, dups), MF_NEAR_DUP_LIST_MAX);
    assert_dup(&dups[0], 1, 1);
    assert_int_equal(dups[1].distance, 2);
}

/* The script itself with a bucket cap of 3: a bucket is read in insertion order (a listpack)
 * up to the cap, so the 4th and 5th images of the bucket are not seen. */
static void test_bucket_cap_script(void **state)
{
    fx *f = *state;
    int s = mf__script_find("neardup");
    char sha[64], id[MF_ID_LEN];
    redisReply *rep;
    int i;

    assert_true(s >= 0);
    rep = redisCommand(f->raw, "SCRIPT LOAD %s", mf__scripts[s].source);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    snprintf(sha, sizeof(sha), "%s", rep->str);
    freeReplyObject(rep);
    for (i = 1; i <= 6; i++) {
        make_id(id, i);
        rep = redisCommand(f->raw, "EVALSHA %s 0 mf: 100 %s 0123456789abcdef 0 3 20", sha, id);
        assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
        assert_int_equal(rep->elements, 2 * (i - 1 < 3 ? i - 1 : 3));
        if (i == 6) {
            make_id(id, 3);
            assert_string_equal(rep->element[4]->str, id);
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(f->raw, "EVALSHA %s 0 mf: 100 %s 0123456789ABCDEF 0 3 20", sha, id);
    assert_int_equal(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
}

static void test_bad_input(void **state)
{
    fx *f = *state;
    mf_near_dup dups[MF_NEAR_DUP_LIST_MAX];
    size_t n = 5;
    mf_err err;

    assert_int_equal(mf_queue_near_dups(f->r, &g_opts, "01TEST00000000000000000001",
                                        "0123456789ABCDEF", 6, dups, 20, &n, &err),
                     MF_EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(mf_queue_near_dups(f->r, &g_opts, "01TEST00000000000000000001",
                                        "0123456789abcdef", 8, dups, 20, &n, &err),
                     MF_EINVAL);
    assert_int_equal(raw_int(f, "DBSIZE"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boundary_7_and_8, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_earlier_only_sorted, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_rerun_idempotent, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_key_layout, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_caps, mf_test_redis_setup, mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_bucket_cap_script, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, mf_test_redis_setup,
                                        mf_test_redis_teardown),
    };

    return cmocka_run_group_tests(tests, mf_test_redis_group_setup, mf_test_redis_group_teardown);
}
