/* queues/status.c and the counters of <prefix>stats (lua/prelude.lua), against a real
 * redis-server: every state change moves a record between the records:<lane>:<status>
 * counters, every delivery that ends is counted by outcome and timed into the lane's
 * histogram, and mf_queue_status_json() reports them with the queues, the dead letters, the
 * paused lanes and the live workers of the registry (a worker whose HASH expired is dead). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "mf/err.h"
#include "mf/queue.h"
#include "support/redis_server.h"

typedef mf_test_fx fx;

static long long stat_of(fx *f, const char *name)
{
    redisReply *rep = redisCommand(f->raw, "HGET mf:stats %s", name);
    long long v = 0;

    assert_non_null(rep);
    if (rep->type == REDIS_REPLY_STRING)
        v = strtoll(rep->str, NULL, 10);
    freeReplyObject(rep);
    return v;
}

static void cmd(fx *f, const char *fmt, ...)
{
    va_list ap;
    redisReply *rep;

    va_start(ap, fmt);
    rep = redisvCommand(f->raw, fmt, ap);
    va_end(ap);
    assert_non_null(rep);
    assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
}

static mf_upload upload(const char *path, const char *lane, const char *sha)
{
    mf_upload u = {.path = path,
                   .path_len = strlen(path),
                   .size = 10,
                   .mtime_ms = 1700000000000LL,
                   .mime = lane != NULL ? "image/jpeg" : "text/plain",
                   .lane = lane,
                   .sha256 = sha,
                   .profile = "default",
                   .received_ms = 1700000000000LL};
    return u;
}

static mf_queue_opts opts(void)
{
    mf_queue_opts o = {.prefix = "mf:",
                       .lane = "image",
                       .consumer = "box:1",
                       .visibility_ms = 60000,
                       .max_attempts = 2,
                       .retry_backoff_ms = 0,
                       .events_maxlen = 1000};
    return o;
}

static void claim_start(fx *f, const mf_queue_opts *o, mf_job *job)
{
    mf_err err;

    assert_int_equal(mf_queue_claim(f->r, o, 0, job, &err), 1);
    assert_int_equal(mf_queue_start(f->r, o, job, &err), 0);
}

/* The life of three images and a text file, counted at every step. */
static void test_counters_follow_states(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts();
    mf_upload ups[4] = {upload("a.jpg", "image", "aa"), upload("b.jpg", "image", "bb"),
                        upload("a2.jpg", "image", "aa"), upload("n.txt", NULL, "cc")};
    mf_enq_result res[4];
    mf_job job;
    mf_err err;
    int final;

    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 4, res, &err), 0);
    assert_int_equal(stat_of(f, "records:image:queued"), 2);
    assert_int_equal(stat_of(f, "records:image:duplicate"), 1);
    assert_int_equal(stat_of(f, "records:other:unsupported"), 1);
    assert_int_equal(stat_of(f, "dispatcher:files_seen"), 4);
    assert_int_equal(stat_of(f, "dispatcher:files_recorded"), 4);
    /* the same upload again is known: seen, not recorded */
    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 1, res, &err), 0);
    assert_int_equal(stat_of(f, "dispatcher:files_seen"), 5);
    assert_int_equal(stat_of(f, "dispatcher:files_recorded"), 4);

    claim_start(f, &o, &job); /* a.jpg */
    assert_int_equal(stat_of(f, "records:image:queued"), 1);
    assert_int_equal(stat_of(f, "records:image:processing"), 1);
    assert_int_equal(mf_queue_done(f->r, &o, &job, "[]", "{}", 700, &err), 0);
    mf_job_close(&job);
    assert_int_equal(stat_of(f, "records:image:processing"), 0);
    assert_int_equal(stat_of(f, "records:image:done"), 1);
    assert_int_equal(stat_of(f, "finished:image:done"), 1);
    assert_int_equal(stat_of(f, "duration:image:le_ms:500"), 0);
    assert_int_equal(stat_of(f, "duration:image:le_ms:1000"), 1);
    assert_int_equal(stat_of(f, "duration:image:le_ms:1800000"), 1);
    assert_int_equal(stat_of(f, "duration:image:count"), 1);
    assert_int_equal(stat_of(f, "duration:image:sum_ms"), 700);

    claim_start(f, &o, &job); /* b.jpg: handed back, retried, then failed for good */
    assert_int_equal(mf_queue_release(f->r, &o, &job, &err), 0);
    mf_job_close(&job);
    assert_int_equal(stat_of(f, "records:image:queued"), 1);
    assert_int_equal(stat_of(f, "records:image:processing"), 0);
    claim_start(f, &o, &job);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ETIMEOUT, "slow", 50, &final, &err), 0);
    assert_int_equal(final, 0);
    mf_job_close(&job);
    assert_int_equal(stat_of(f, "finished:image:retried"), 1);
    assert_int_equal(stat_of(f, "records:image:queued"), 1);
    claim_start(f, &o, &job);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ECORRUPT, "broken", 20, &final, &err), 0);
    assert_int_equal(final, 1);
    assert_int_equal(stat_of(f, "records:image:queued"), 0);
    assert_int_equal(stat_of(f, "records:image:failed"), 1);
    assert_int_equal(stat_of(f, "finished:image:failed"), 1);
    assert_int_equal(stat_of(f, "duration:image:count"), 3);
    assert_int_equal(stat_of(f, "duration:image:le_ms:100"), 2);
    /* mfctl retry: failed -> queued */
    assert_int_equal(mf_queue_retry(f->r, "mf:", 1000, job.id, NULL, &err), 0);
    mf_job_close(&job);
    assert_int_equal(stat_of(f, "records:image:failed"), 0);
    assert_int_equal(stat_of(f, "records:image:queued"), 1);
}

static json_t *lane_of(json_t *st, const char *name)
{
    size_t i;
    json_t *l;

    json_array_foreach(json_object_get(st, "lanes"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "lane")), name) == 0)
            return l;
    }
    fail_msg("lane %s not in status", name);
    return NULL;
}

static void test_status_json(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts();
    mf_upload ups[3] = {upload("a.jpg", "image", "aa"), upload("b.jpg", "image", "bb"),
                        upload("c.jpg", "image", "cc")};
    mf_enq_result res[3];
    mf_job job;
    json_t *st = NULL, *stats = NULL, *img, *run;
    mf_err err;
    int final;

    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 3, res, &err), 0);
    claim_start(f, &o, &job); /* a.jpg fails for good: one dead letter */
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ECORRUPT, "broken", 5, &final, &err), 0);
    mf_job_close(&job);
    claim_start(f, &o, &job); /* b.jpg runs, on a registered worker */
    cmd(f, "HSET mf:file:%s progress 40", job.id);
    cmd(f, "ZADD mf:workers 1 box:1 1 box:2 1 gone:3");
    cmd(f, "HSET mf:worker:box:1 host box pid 1 lane image job %s since 1000", job.id);
    cmd(f, "HSET mf:worker:box:2 host box pid 2 lane image job %s", ""); /* idle */
    cmd(f, "SADD mf:paused video");

    assert_int_equal(mf_queue_status_json(f->r, "mf:", &st, &stats, &err), 0);
    img = lane_of(st, "image");
    assert_int_equal(json_integer_value(json_object_get(img, "queued")), 1);
    assert_int_equal(json_integer_value(json_object_get(img, "in_flight")), 1);
    assert_int_equal(json_integer_value(json_object_get(img, "dlq")), 1);
    assert_int_equal(json_integer_value(json_object_get(img, "workers")), 2);
    assert_true(json_is_false(json_object_get(img, "paused")));
    assert_true(json_is_true(json_object_get(lane_of(st, "video"), "paused")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(img, "records"), "failed")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "totals"), "total")),
                     3);
    /* gone:3 has no HASH: dead, not counted */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "workers"), "total")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "workers"), "hosts"), "box")),
                     2);
    assert_int_equal(json_array_size(json_object_get(st, "running")), 1);
    run = json_array_get(json_object_get(st, "running"), 0);
    assert_string_equal(json_string_value(json_object_get(run, "id")), job.id);
    assert_string_equal(json_string_value(json_object_get(run, "path")), "b.jpg");
    assert_int_equal(json_integer_value(json_object_get(run, "progress")), 40);
    assert_int_equal(json_integer_value(json_object_get(run, "pid")), 1);
    assert_true(json_real_value(json_object_get(run, "elapsed_s")) > 1000.0);
    assert_int_equal(json_integer_value(json_object_get(stats, "finished:image:failed")), 1);
    mf_job_close(&job);
    json_decref(st);
    json_decref(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_follow_states, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_status_json, mf_test_redis_setup,
                                        mf_test_redis_teardown),
    };

    return cmocka_run_group_tests(tests, mf_test_redis_group_setup, mf_test_redis_group_teardown);
}
