/* queues/: the Redis connection and the job protocol, against a real redis-server this test
 * starts on a private unix socket (no persistence). Each test starts from an empty database.
 * Times are short (visibility 200 ms) but a timing never decides an outcome: "not yet
 * claimable" is checked with long timeouts, "claimable again" after waiting past them. */
#include <errno.h>
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
#include <jansson.h>

#include "mf/clock.h"
#include "mf/err.h"
#include "mf/id.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mf/redis.h"
#include "support/redis_server.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define MTIME 1700000000123LL
#define RECEIVED 1700000000500LL

typedef mf_test_fx fx; /* tests/unit/support/redis_server.h */

/* ---- assertion helpers ---------------------------------------------------------------- */

/* A command on the assertion connection, which reconnects once after a server restart. */
static redisReply *raw(fx *f, const char *fmt, ...)
{
    redisReply *rep = NULL;
    va_list ap;
    int tries;

    for (tries = 0; tries < 2 && rep == NULL; tries++) {
        if (f->raw == NULL || f->raw->err != 0) {
            redisFree(f->raw);
            f->raw = mf_test_redis_raw();
        }
        assert_non_null(f->raw);
        va_start(ap, fmt);
        rep = redisvCommand(f->raw, fmt, ap);
        va_end(ap);
    }
    assert_non_null(rep);
    return rep;
}

static long long raw_int(fx *f, const char *fmt, const char *a, const char *b)
{
    redisReply *rep = raw(f, fmt, a, b);
    long long v;

    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    v = rep->integer;
    freeReplyObject(rep);
    return v;
}

/* A record field as a heap string, or NULL when absent. */
static char *field(fx *f, const char *id, const char *name)
{
    redisReply *rep = raw(f, "HGET mf:file:%s %s", id, name);
    char *v = rep->type == REDIS_REPLY_STRING ? strndup(rep->str, rep->len) : NULL;

    freeReplyObject(rep);
    return v;
}

static void assert_field(fx *f, const char *id, const char *name, const char *want)
{
    char *v = field(f, id, name);

    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void assert_iso_time(fx *f, const char *id, const char *name)
{
    char *v = field(f, id, name);

    assert_non_null(v);
    assert_int_equal(strlen(v), MF_ISO_TIME_LEN - 1);
    assert_int_equal(v[10], 'T');
    assert_int_equal(v[23], 'Z');
    free(v);
}

/* Pending entries of the image lane: count, and the idle time of the first. */
static long long pending(fx *f, long long *idle, char *consumer, size_t size)
{
    redisReply *rep = raw(f, "XPENDING mf:q:image workers - + 10");
    long long n;

    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    n = (long long)rep->elements;
    if (n > 0 && idle != NULL)
        *idle = rep->element[0]->element[2]->integer;
    if (n > 0 && consumer != NULL)
        snprintf(consumer, size, "%s", rep->element[0]->element[1]->str);
    freeReplyObject(rep);
    return n;
}

/* The statuses of the events stream, oldest first, space-separated. */
static void event_statuses(fx *f, char *buf, size_t size)
{
    redisReply *rep = raw(f, "XRANGE mf:events - +");
    size_t i, j, o = 0;

    buf[0] = '\0';
    for (i = 0; i < rep->elements; i++) {
        const redisReply *fv = rep->element[i]->element[1];

        for (j = 0; j + 1 < fv->elements; j += 2) {
            if (strcmp(fv->element[j]->str, "status") == 0)
                o += (size_t)snprintf(buf + o, size - o, "%s%s", o > 0 ? " " : "",
                                      fv->element[j + 1]->str);
        }
    }
    freeReplyObject(rep);
}

static mf_upload upload(const char *path, const char *lane, const char *sha)
{
    mf_upload u = {.path = path,
                   .path_len = strlen(path),
                   .size = 1234,
                   .mtime_ms = MTIME,
                   .mime = lane != NULL ? "image/jpeg" : "text/plain",
                   .lane = lane,
                   .sha256 = sha,
                   .profile = "default",
                   .received_ms = RECEIVED};
    return u;
}

static mf_queue_opts opts(const char *consumer, int64_t visibility_ms, int64_t backoff_ms)
{
    mf_queue_opts o = {.prefix = "mf:",
                       .lane = "image",
                       .consumer = consumer,
                       .visibility_ms = visibility_ms,
                       .max_attempts = 3,
                       .retry_backoff_ms = backoff_ms,
                       .events_maxlen = 1000};
    return o;
}

static void enqueue_one(fx *f, const mf_upload *u, mf_enq_result *res)
{
    mf_err err;

    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, u, 1, res, &err), 0);
}

/* Enqueues an image and claims and starts it as consumer c. */
static void queued_and_started(fx *f, const mf_queue_opts *o, mf_job *job, mf_enq_result *res)
{
    mf_upload u = upload("photos/cat.jpg", "image", SHA_A);
    mf_err err;

    enqueue_one(f, &u, res);
    assert_int_equal(res->status, MF_ENQ_QUEUED);
    assert_int_equal(mf_queue_claim(f->r, o, 0, job, &err), 1);
    assert_string_equal(job->id, res->id);
    assert_int_equal(mf_queue_start(f->r, o, job, &err), 0);
}

/* ---- dispatcher side ------------------------------------------------------------------ */

static void test_enqueue_queued_record(void **state)
{
    static const char *const names[] = {"id",
                                        "path",
                                        "size",
                                        "mime",
                                        "type",
                                        "sha256",
                                        "profile",
                                        "status",
                                        "received_at",
                                        "queued_at",
                                        "started_at",
                                        "finished_at",
                                        "process_duration_ms",
                                        "attempts",
                                        "worker",
                                        "outputs",
                                        "meta",
                                        "error",
                                        "duplicate_of",
                                        "mtime"};
    fx *f = *state;
    mf_upload u = upload("photos/cat.jpg", "image", SHA_A);
    mf_enq_result res;
    redisReply *rep;
    size_t i;

    enqueue_one(f, &u, &res);
    assert_int_equal(res.status, MF_ENQ_QUEUED);
    assert_true(mf_id_valid(res.id));
    /* exactly the contract's fields, plus mtime */
    rep = raw(f, "HGETALL mf:file:%s", res.id);
    assert_int_equal(rep->elements, 2 * (sizeof(names) / sizeof(names[0])));
    freeReplyObject(rep);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(raw_int(f, "HEXISTS mf:file:%s %s", res.id, names[i]), 1);
    assert_field(f, res.id, "id", res.id);
    assert_field(f, res.id, "path", "photos/cat.jpg");
    assert_field(f, res.id, "size", "1234");
    assert_field(f, res.id, "mtime", "1700000000123");
    assert_field(f, res.id, "mime", "image/jpeg");
    assert_field(f, res.id, "type", "image");
    assert_field(f, res.id, "sha256", SHA_A);
    assert_field(f, res.id, "profile", "default");
    assert_field(f, res.id, "status", "queued");
    assert_field(f, res.id, "received_at", "2023-11-14T22:13:20.500Z");
    assert_iso_time(f, res.id, "queued_at");
    assert_field(f, res.id, "started_at", "");
    assert_field(f, res.id, "attempts", "0");
    assert_field(f, res.id, "outputs", "[]");
    assert_field(f, res.id, "meta", "{}");
    assert_field(f, res.id, "error", "");
    assert_field(f, res.id, "duplicate_of", "");
}

static void test_enqueue_job_and_indexes(void **state)
{
    fx *f = *state;
    mf_upload u = upload("photos/cat.jpg", "image", SHA_A);
    mf_enq_result res;
    redisReply *rep;
    char ev[256];

    enqueue_one(f, &u, &res);
    /* indexes, the job (only its id) and one event */
    rep = raw(f, "HGET mf:paths photos/cat.jpg");
    assert_string_equal(rep->str, res.id);
    freeReplyObject(rep);
    rep = raw(f, "GET mf:sha:" SHA_A);
    assert_string_equal(rep->str, res.id);
    freeReplyObject(rep);
    rep = raw(f, "XRANGE mf:q:image - +");
    assert_int_equal(rep->elements, 1);
    assert_int_equal(rep->element[0]->element[1]->elements, 2);
    assert_string_equal(rep->element[0]->element[1]->element[0]->str, "id");
    assert_string_equal(rep->element[0]->element[1]->element[1]->str, res.id);
    freeReplyObject(rep);
    event_statuses(f, ev, sizeof(ev));
    assert_string_equal(ev, "queued");
}

static void test_enqueue_duplicate(void **state)
{
    fx *f = *state;
    mf_upload a = upload("a.jpg", "image", SHA_A), b = upload("copy/b.jpg", "image", SHA_A);
    mf_enq_result ra, rb;

    enqueue_one(f, &a, &ra);
    enqueue_one(f, &b, &rb);
    assert_int_equal(rb.status, MF_ENQ_DUPLICATE);
    assert_string_not_equal(rb.id, ra.id);
    assert_field(f, rb.id, "status", "duplicate");
    assert_field(f, rb.id, "duplicate_of", ra.id);
    assert_field(f, rb.id, "path", "copy/b.jpg");
    assert_iso_time(f, rb.id, "finished_at");
    /* no new work: one job only, and the content still points at the original */
    assert_int_equal(raw_int(f, "XLEN mf:q:image", NULL, NULL), 1);
    assert_int_equal(raw_int(f, "HLEN mf:paths", NULL, NULL), 2);
    assert_field(f, rb.id, "sha256", SHA_A);
}

static void test_enqueue_unsupported(void **state)
{
    fx *f = *state;
    mf_upload u = upload("notes.txt", NULL, SHA_B);
    mf_enq_result res;
    char ev[256];

    enqueue_one(f, &u, &res);
    assert_int_equal(res.status, MF_ENQ_UNSUPPORTED);
    assert_field(f, res.id, "status", "unsupported");
    assert_field(f, res.id, "type", "other");
    assert_field(f, res.id, "error", "no lane handles text/plain");
    assert_field(f, res.id, "queued_at", "");
    assert_int_equal(raw_int(f, "EXISTS mf:q:image mf:q:video", NULL, NULL), 0);
    assert_int_equal(raw_int(f, "EXISTS mf:q:doc", NULL, NULL), 0);
    event_statuses(f, ev, sizeof(ev));
    assert_string_equal(ev, "unsupported");
}

static void test_enqueue_batch_known(void **state)
{
    fx *f = *state;
    mf_upload ups[3] = {upload("1.jpg", "image", SHA_A), upload("2.jpg", "image", SHA_B),
                        upload("3.txt", NULL, SHA_C)};
    mf_upload probe[3] = {ups[0], ups[1], upload("4.jpg", "image", SHA_C)};
    mf_enq_result first[3], again[3];
    int known[3] = {-1, -1, -1};
    mf_err err;
    int i;

    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 3, first, &err), 0);
    assert_int_equal(first[0].status, MF_ENQ_QUEUED);
    assert_int_equal(first[1].status, MF_ENQ_QUEUED);
    assert_int_equal(first[2].status, MF_ENQ_UNSUPPORTED);
    /* the same uploads again (a restarted dispatcher): nothing written, same ids */
    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 3, again, &err), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(again[i].status, MF_ENQ_KNOWN);
        assert_string_equal(again[i].id, first[i].id);
    }
    assert_int_equal(raw_int(f, "XLEN mf:events", NULL, NULL), 3);
    assert_int_equal(raw_int(f, "XLEN mf:q:image", NULL, NULL), 2);
    /* a changed mtime is a new upload of the same path */
    probe[1].mtime_ms = MTIME + 1000;
    assert_int_equal(mf_queue_known(f->r, "mf:", probe, 3, known, &err), 0);
    assert_int_equal(known[0], 1);
    assert_int_equal(known[1], 0);
    assert_int_equal(known[2], 0);
    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, &probe[1], 1, again, &err), 0);
    assert_int_equal(again[0].status, MF_ENQ_DUPLICATE); /* same content as before */
    assert_field(f, again[0].id, "duplicate_of", first[1].id);
    {
        redisReply *rep = raw(f, "HGET mf:paths 2.jpg");
        assert_string_equal(rep->str, again[0].id);
        freeReplyObject(rep);
    }
}

/* ---- worker side ---------------------------------------------------------------------- */

static void test_claim_start_done(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 1000);
    mf_enq_result res;
    mf_job job, none;
    mf_err err;
    char ev[256];

    queued_and_started(f, &o, &job, &res);
    assert_string_equal(job.lane, "image");
    assert_string_equal(job.path, "photos/cat.jpg");
    assert_string_equal(job.profile, "default");
    assert_string_equal(job.mime, "image/jpeg");
    assert_string_equal(job.sha256, SHA_A);
    assert_int_equal(job.attempts, 1);
    assert_field(f, res.id, "status", "processing");
    assert_field(f, res.id, "worker", "host:1");
    assert_field(f, res.id, "attempts", "1");
    assert_iso_time(f, res.id, "started_at");
    assert_int_equal(pending(f, NULL, NULL, 0), 1);

    assert_int_equal(
        mf_queue_done(f->r, &o, &job, "[\"thumb-256.webp\"]", "{\"width\":640}", 42, &err), 0);
    assert_field(f, res.id, "status", "done");
    assert_field(f, res.id, "outputs", "[\"thumb-256.webp\"]");
    assert_field(f, res.id, "meta", "{\"width\":640}");
    assert_field(f, res.id, "process_duration_ms", "42");
    assert_field(f, res.id, "error", "");
    assert_iso_time(f, res.id, "finished_at");
    /* acknowledged and gone from the stream; nothing left to claim */
    assert_int_equal(pending(f, NULL, NULL, 0), 0);
    assert_int_equal(raw_int(f, "XLEN mf:q:image", NULL, NULL), 0);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &none, &err), 0);
    event_statuses(f, ev, sizeof(ev));
    assert_string_equal(ev, "queued processing done");
    mf_job_close(&job);
}

static void test_fail_retry_after_backoff(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 200, 50), other = opts("host:2", 200, 50);
    mf_enq_result res;
    mf_job job, again;
    long long idle = -1;
    int final = -1;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ETIMEOUT, "vips timed out", 10, &final, &err),
                     0);
    assert_int_equal(final, 0);
    assert_field(f, res.id, "status", "queued");
    assert_field(f, res.id, "error", "vips timed out");
    assert_field(f, res.id, "attempts", "1");
    /* still pending, looking idle for visibility - backoff (200 - 50 * 2^0) */
    assert_int_equal(pending(f, &idle, NULL, 0), 1);
    assert_true(idle >= 150); /* the upper bound is test_fail_backoff_not_yet's, with margin */
    mf_test_sleep_ms(120);
    assert_int_equal(mf_queue_claim(f->r, &other, 0, &again, &err), 1);
    assert_string_equal(again.entry, job.entry);
    assert_string_equal(again.path, "photos/cat.jpg");
    assert_int_equal(mf_queue_start(f->r, &other, &again, &err), 0);
    assert_int_equal(again.attempts, 2);
    assert_field(f, res.id, "worker", "host:2");
    mf_job_close(&job);
    mf_job_close(&again);
}

static void test_fail_backoff_not_yet(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 20000), other = opts("host:2", 60000, 20000);
    mf_enq_result res;
    mf_job job, none;
    long long idle = -1;
    int final = -1;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_EREDIS, "", 10, &final, &err), 0);
    assert_int_equal(final, 0);
    assert_field(f, res.id, "error", "redis unavailable"); /* empty message: the code's text */
    assert_int_equal(pending(f, &idle, NULL, 0), 1);
    assert_in_range(idle, 40000, 59999);
    assert_int_equal(mf_queue_claim(f->r, &other, 0, &none, &err), 0);
    mf_job_close(&job);
}

static void assert_dead_lettered(fx *f, const char *id, const char *error, const char *attempts)
{
    redisReply *rep = raw(f, "XRANGE mf:dlq:image - +");
    const redisReply *fv;

    assert_int_equal(rep->elements, 1);
    fv = rep->element[0]->element[1];
    assert_int_equal(fv->elements, 8);
    assert_string_equal(fv->element[0]->str, "id");
    assert_string_equal(fv->element[1]->str, id);
    assert_string_equal(fv->element[2]->str, "error");
    assert_string_equal(fv->element[3]->str, error);
    assert_string_equal(fv->element[4]->str, "attempts");
    assert_string_equal(fv->element[5]->str, attempts);
    assert_string_equal(fv->element[6]->str, "entry");
    freeReplyObject(rep);
    assert_field(f, id, "status", "failed");
    assert_field(f, id, "error", error);
    assert_iso_time(f, id, "finished_at");
    assert_int_equal(pending(f, NULL, NULL, 0), 0);
    assert_int_equal(raw_int(f, "XLEN mf:q:image", NULL, NULL), 0);
}

static void test_fail_attempts_exhausted(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 200, 10);
    mf_enq_result res;
    mf_job job, again, none;
    int final = -1;
    mf_err err;
    char ev[256];

    o.max_attempts = 2;
    queued_and_started(f, &o, &job, &res);
    assert_int_equal(
        mf_queue_fail(f->r, &o, &job, MF_ECRASH, "executor crashed (SIGSEGV)", 5, &final, &err), 0);
    assert_int_equal(final, 0);
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &again, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &again, &err), 0);
    assert_int_equal(again.attempts, 2);
    assert_int_equal(
        mf_queue_fail(f->r, &o, &again, MF_ECRASH, "executor crashed (SIGSEGV)", 7, &final, &err),
        0);
    assert_int_equal(final, 1);
    assert_dead_lettered(f, res.id, "executor crashed (SIGSEGV)", "2");
    assert_field(f, res.id, "process_duration_ms", "7");
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &none, &err), 0);
    event_statuses(f, ev, sizeof(ev));
    assert_string_equal(ev, "queued processing queued processing failed");
    mf_job_close(&job);
    mf_job_close(&again);
}

/* The second crash of one file is final whatever attempts are left; other failures between
 * the crashes do not count as crashes; mfctl retry starts the count over. */
static void test_fail_second_crash_final(void **state)
{
    static const char *const crashed = "processing crashed: SIGSEGV (signal 11)";
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 200, 10);
    mf_enq_result res;
    mf_job job, again, third;
    int final = -1, removed = -1;
    mf_err err;

    o.max_attempts = 10;
    o.max_crashes = 2;
    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ECRASH, crashed, 5, &final, &err), 0);
    assert_int_equal(final, 0);
    assert_field(f, res.id, "crashes", "1");
    assert_field(f, res.id, "error", crashed);
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &again, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &again, &err), 0);
    assert_int_equal(mf_queue_fail(f->r, &o, &again, MF_ETIMEOUT, "timed out", 5, &final, &err), 0);
    assert_int_equal(final, 0);
    assert_field(f, res.id, "crashes", "1");
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &third, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &third, &err), 0);
    assert_int_equal(third.attempts, 3);
    assert_int_equal(mf_queue_fail(f->r, &o, &third, MF_ECRASH, crashed, 5, &final, &err), 0);
    assert_int_equal(final, 1);
    assert_field(f, res.id, "crashes", "2");
    assert_dead_lettered(f, res.id,
                         "processing crashed: SIGSEGV (signal 11); the file crashed the executor 2 "
                         "times: not retried again",
                         "3");
    assert_int_equal(mf_queue_retry(f->r, "mf:", 1000, res.id, &removed, &err), 0);
    assert_null(field(f, res.id, "crashes"));
    mf_job_close(&job);
    mf_job_close(&again);
    mf_job_close(&third);
}

static void test_fail_permanent(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 1000);
    mf_enq_result res;
    mf_job job;
    int final = -1;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ECORRUPT,
                                   "vips_thumbnail() failed: VipsJpeg: premature end of JPEG file",
                                   3, &final, &err),
                     0);
    assert_int_equal(final, 1);
    assert_dead_lettered(f, res.id, "vips_thumbnail() failed: VipsJpeg: premature end of JPEG file",
                         "1");
    mf_job_close(&job);
}

static void test_release(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 1000), other = opts("host:2", 60000, 1000);
    mf_enq_result res;
    mf_job job, again;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_release(f->r, &o, &job, &err), 0);
    assert_field(f, res.id, "status", "queued");
    assert_field(f, res.id, "attempts", "0"); /* a hand-back is not a delivery */
    /* another worker takes it at once, visibility timeout or not */
    assert_int_equal(mf_queue_claim(f->r, &other, 0, &again, &err), 1);
    assert_string_equal(again.entry, job.entry);
    assert_int_equal(mf_queue_start(f->r, &other, &again, &err), 0);
    assert_int_equal(again.attempts, 1);
    mf_job_close(&job);
    mf_job_close(&again);
}

static void test_dead_worker_reclaimed(void **state)
{
    fx *f = *state;
    mf_queue_opts dead = opts("host:1", 200, 10), patient = opts("host:2", 60000, 10),
                  other = opts("host:2", 200, 10);
    mf_enq_result res;
    mf_job job, none, again;
    char owner[64];
    mf_err err;

    queued_and_started(f, &dead, &job, &res);
    mf_job_close(&job); /* host:1 vanishes without a word */
    assert_int_equal(mf_queue_claim(f->r, &patient, 0, &none, &err), 0);
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &other, 0, &again, &err), 1);
    assert_string_equal(again.id, res.id);
    assert_int_equal(pending(f, NULL, owner, sizeof(owner)), 1);
    assert_string_equal(owner, "host:2");
    assert_int_equal(mf_queue_start(f->r, &other, &again, &err), 0);
    assert_int_equal(again.attempts, 2);
    assert_field(f, res.id, "worker", "host:2");
    mf_job_close(&again);
}

/* A slow worker whose job was reclaimed and finished elsewhere must not undo the result. */
static void test_settled_elsewhere_left_alone(void **state)
{
    fx *f = *state;
    mf_queue_opts slow = opts("host:1", 200, 10), fast = opts("host:2", 200, 10);
    mf_enq_result res;
    mf_job job, again;
    int final = -1;
    mf_err err;
    char ev[256];

    queued_and_started(f, &slow, &job, &res);
    mf_test_sleep_ms(250);
    assert_int_equal(mf_queue_claim(f->r, &fast, 0, &again, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &fast, &again, &err), 0);
    assert_int_equal(mf_queue_done(f->r, &fast, &again, "[]", "{}", 9, &err), 0);
    assert_int_equal(mf_queue_fail(f->r, &slow, &job, MF_ETIMEOUT, "timed out", 300, &final, &err),
                     0);
    assert_int_equal(final, 2);
    assert_int_equal(mf_queue_release(f->r, &slow, &job, &err), 0);
    assert_int_equal(mf_queue_start(f->r, &slow, &job, &err), -ENOENT);
    assert_field(f, res.id, "status", "done");
    assert_field(f, res.id, "worker", "host:2");
    assert_field(f, res.id, "attempts", "2");
    assert_int_equal(raw_int(f, "EXISTS mf:dlq:image", NULL, NULL), 0);
    event_statuses(f, ev, sizeof(ev));
    assert_string_equal(ev, "queued processing processing done");
    mf_job_close(&job);
    mf_job_close(&again);
}

static void test_retry_failed(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_enq_result res;
    mf_job job, again;
    int final = -1, removed = -1;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    assert_int_equal(mf_queue_retry(f->r, "mf:", 1000, res.id, &removed, &err), MF_EINVAL);
    assert_string_equal(err.msg, "status is processing; only failed files are retried");
    assert_int_equal(mf_queue_fail(f->r, &o, &job, MF_ECORRUPT, "truncated", 1, &final, &err), 0);
    assert_int_equal(final, 1);
    assert_int_equal(mf_queue_retry(f->r, "mf:", 1000, res.id, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(raw_int(f, "XLEN mf:dlq:image", NULL, NULL), 0);
    assert_field(f, res.id, "status", "queued");
    assert_field(f, res.id, "attempts", "0");
    assert_field(f, res.id, "error", "");
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &again, &err), 1);
    assert_string_equal(again.id, res.id);
    assert_int_equal(mf_queue_start(f->r, &o, &again, &err), 0);
    assert_int_equal(again.attempts, 1);
    assert_int_equal(mf_queue_retry(f->r, "mf:", 1000, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, &err),
                     -ENOENT);
    mf_job_close(&job);
    mf_job_close(&again);
}

static void test_heartbeat(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 500, 10), other = opts("host:2", 500, 10);
    mf_enq_result res;
    mf_job job, none;
    long long idle = -1;
    mf_err err;

    queued_and_started(f, &o, &job, &res);
    mf_test_sleep_ms(550);
    assert_int_equal(pending(f, &idle, NULL, 0), 1);
    assert_true(idle >= 550);
    assert_int_equal(mf_queue_heartbeat(f->r, &o, &job, &err), 0);
    assert_int_equal(pending(f, &idle, NULL, 0), 1);
    assert_true(idle < 500);
    assert_int_equal(mf_queue_claim(f->r, &other, 0, &none, &err), 0);
    mf_job_close(&job);
}

static void test_record_gone_skipped(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_upload u = upload("x.jpg", "image", SHA_A);
    mf_enq_result res;
    mf_job job;
    mf_err err;

    enqueue_one(f, &u, &res);
    freeReplyObject(raw(f, "DEL mf:file:%s", res.id));
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 0);
    assert_int_equal(pending(f, NULL, NULL, 0), 0);
    assert_int_equal(raw_int(f, "XLEN mf:q:image", NULL, NULL), 0);
}

static void test_claim_blocks_until_a_job(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_job job;
    mf_err err;
    int64_t t0;
    pid_t child;

    assert_int_equal(mf_queue_prepare(f->r, "mf:", "image", &err), 0);
    assert_int_equal(mf_queue_prepare(f->r, "mf:", "image", &err), 0); /* idempotent */
    t0 = mf_clock_mono_ms();
    assert_int_equal(mf_queue_claim(f->r, &o, 100, &job, &err), 0);
    assert_true(mf_clock_mono_ms() - t0 >= 90);
    child = fork();
    if (child == 0) {
        mf_redis *r2 = NULL;
        mf_upload u = upload("late.jpg", "image", SHA_A);
        mf_enq_result res;

        mf_test_sleep_ms(100);
        _exit(mf_redis_new(&r2, mf_test_redis_url, &err) == 0 &&
                      mf_queue_enqueue(r2, "mf:", 1000, &u, 1, &res, &err) == 0
                  ? 0
                  : 1);
    }
    assert_int_equal(mf_queue_claim(f->r, &o, 5000, &job, &err), 1);
    assert_string_equal(job.path, "late.jpg");
    waitpid(child, NULL, 0);
    mf_job_close(&job);
}

/* ---- events and the record as JSON ---------------------------------------------------- */

static json_t *next_message(redisContext *sub)
{
    redisReply *rep = NULL;
    json_t *j;

    assert_int_equal(redisGetReply(sub, (void **)&rep), REDIS_OK);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rep->elements, 3);
    assert_string_equal(rep->element[0]->str, "message");
    assert_string_equal(rep->element[1]->str, "mf:events");
    j = json_loadb(rep->element[2]->str, rep->element[2]->len, 0, NULL);
    assert_non_null(j); /* valid JSON (and so valid UTF-8), whatever the path bytes */
    freeReplyObject(rep);
    return j;
}

static void test_events_published(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_upload u = upload("bad\xff\xfe name.jpg", "image", SHA_A);
    redisContext *sub = mf_test_redis_raw();
    redisReply *rep = redisCommand(sub, "SUBSCRIBE mf:events");
    mf_enq_result res;
    mf_job job;
    mf_err err;
    json_t *j;

    freeReplyObject(rep);
    enqueue_one(f, &u, &res);
    j = next_message(sub);
    assert_string_equal(json_string_value(json_object_get(j, "id")), res.id);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "queued");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "image");
    assert_string_equal(json_string_value(json_object_get(j, "path")),
                        "bad\xEF\xBF\xBD\xEF\xBF\xBD name.jpg");
    json_decref(j);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 1);
    assert_memory_equal(job.path, "bad\xff\xfe name.jpg", 15); /* the real bytes for the worker */
    assert_int_equal(mf_queue_start(f->r, &o, &job, &err), 0);
    json_decref(next_message(sub));
    assert_int_equal(mf_queue_done(f->r, &o, &job, "[]", "{}", 1234, &err), 0);
    j = next_message(sub);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
    assert_int_equal(json_integer_value(json_object_get(j, "process_duration_ms")), 1234);
    json_decref(j);
    assert_int_equal(raw_int(f, "XLEN mf:events", NULL, NULL), 3);
    redisFree(sub);
    mf_job_close(&job);
}

static void test_record_json(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_upload u = upload("dir/\xc3\x28.jpg", "image", SHA_A); /* invalid UTF-8 */
    mf_enq_result res;
    mf_job job;
    char *text = NULL;
    json_t *j;
    mf_err err;

    enqueue_one(f, &u, &res);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &job, &err), 0);
    assert_int_equal(mf_queue_done(f->r, &o, &job, "[\"a.webp\",\"b.webp\"]",
                                   "{\"width\":640,\"exif\":{\"Make\":\"X\"}}", 5, &err),
                     0);
    assert_int_equal(mf_queue_record_json(f->r, "mf:", res.id, &text, &err), 0);
    j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 21);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
    assert_int_equal(json_integer_value(json_object_get(j, "progress")), 100);
    assert_string_equal(json_string_value(json_object_get(j, "path")), "dir/\xEF\xBF\xBD(.jpg");
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 1234);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "process_duration_ms")), 5);
    assert_int_equal(json_array_size(json_object_get(j, "outputs")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "width")), 640);
    json_decref(j);
    free(text);
    assert_int_equal(mf_queue_record_json(f->r, "mf:", "01ARZ3NDEKTSV4RRFFQ69G5FAV", &text, &err),
                     -ENOENT);
    assert_null(text);
    mf_job_close(&job);
}

/* Record + job + indexes of a queued upload within the 1 KB per file target. */
static void test_memory_per_file(void **state)
{
    enum { N = 2000 };
    fx *f = *state;
    static mf_upload ups[N];
    static mf_enq_result res[N];
    static char paths[N][64], shas[N][65];
    long long before, after;
    redisReply *rep;
    mf_err err;
    int i;

    for (i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "camera/2024-06-01/IMG_%06d.jpg", i);
        snprintf(shas[i], sizeof(shas[i]), "%064x", i + 1);
        ups[i] = upload(paths[i], "image", shas[i]);
    }
    freeReplyObject(raw(f, "MEMORY PURGE"));
    rep = raw(f, "INFO memory");
    before = strtoll(strstr(rep->str, "used_memory:") + 12, NULL, 10);
    freeReplyObject(rep);
    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1, ups, N, res, &err), 0);
    rep = raw(f, "INFO memory");
    after = strtoll(strstr(rep->str, "used_memory:") + 12, NULL, 10);
    freeReplyObject(rep);
    print_message("bytes per queued file: %lld\n", (after - before) / N);
    assert_true((after - before) / N <= 1024);
}

/* ---- connection ----------------------------------------------------------------------- */

static void test_url_rejected(void **state)
{
    static const char *const bad[] = {"",
                                      "http://localhost",
                                      "redis://",
                                      "redis://host:0",
                                      "redis://host:70000",
                                      "redis://host:12ab",
                                      "redis://host/db",
                                      "redis://[::1",
                                      "redis://host?db=1",
                                      "rediss://host",
                                      "unix://relative.sock",
                                      "unix:///tmp/x.sock?bogus=1",
                                      "unix:///tmp/x.sock?db=x"};
    mf_redis *r = (mf_redis *)1;
    mf_err err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(mf_redis_new(&r, bad[i], &err), MF_ECONFIG);
        assert_null(r);
        assert_non_null(strstr(err.msg, "redis_url is invalid"));
    }
    assert_int_equal(mf_redis_new(&r, "redis://127.0.0.1:1", &err), MF_EREDIS);
    assert_null(r);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_int_equal(mf_redis_new(&r, "redis://:pw@[::1]:1/2", &err), MF_EREDIS);
    assert_non_null(strstr(err.msg, "at ::1:1 failed"));
}

static void test_url_password_and_db(void **state)
{
    fx *f = *state;
    char url[PATH_MAX + 64];
    mf_redis *r = NULL;
    redisReply *rep;
    mf_err err;

    freeReplyObject(raw(f, "CONFIG SET requirepass %s", "s3cr@t"));
    assert_int_equal(mf_redis_new(&r, mf_test_redis_url, &err), MF_EREDIS); /* NOAUTH */
    assert_null(r);
    snprintf(url, sizeof(url), "%s?db=3&password=s3cr%%40t", mf_test_redis_url);
    assert_int_equal(mf_redis_new(&r, url, &err), 0);
    assert_int_equal(mf_redis_cmd(r, &rep, &err, "SET %s %s", "where", "db3"), 0);
    freeReplyObject(rep);
    freeReplyObject(raw(f, "SELECT 3"));
    rep = raw(f, "GET where");
    assert_string_equal(rep->str, "db3");
    freeReplyObject(rep);
    freeReplyObject(raw(f, "CONFIG SET requirepass %s", ""));
    freeReplyObject(raw(f, "SELECT 0"));
    /* error replies come back as MF_EPROTO with the text, for a person */
    assert_int_equal(mf_redis_cmd(r, &rep, &err, "INCR %s", "where"), MF_EPROTO);
    assert_null(rep);
    assert_non_null(strstr(err.msg, "redis INCR failed: ERR"));
    mf_redis_free(r);
}

static void test_script_flush(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_upload ups[2] = {upload("1.jpg", "image", SHA_A), upload("2.jpg", "image", SHA_B)};
    mf_enq_result res[2];
    mf_job job;
    mf_err err;

    freeReplyObject(raw(f, "SCRIPT FLUSH"));
    assert_int_equal(mf_queue_enqueue(f->r, "mf:", 1000, ups, 2, res, &err), 0);
    assert_int_equal(res[0].status, MF_ENQ_QUEUED);
    assert_int_equal(res[1].status, MF_ENQ_QUEUED);
    freeReplyObject(raw(f, "SCRIPT FLUSH"));
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &job, &err), 0);
    assert_int_equal(job.attempts, 1);
    mf_job_close(&job);
}

static void test_reconnect_after_restart(void **state)
{
    fx *f = *state;
    mf_queue_opts o = opts("host:1", 60000, 10);
    mf_upload a = upload("a.jpg", "image", SHA_A), b = upload("b.jpg", "image", SHA_B);
    volatile int stop = 1;
    mf_enq_result res;
    redisReply *rep;
    mf_job job;
    mf_err err;

    enqueue_one(f, &a, &res);
    /* a crash and a restart between two batches: the next pipeline reconnects by itself */
    mf_test_redis_kill(SIGKILL);
    assert_int_equal(mf_test_redis_start(program_invocation_short_name), 0);
    enqueue_one(f, &b, &res);
    assert_int_equal(res.status, MF_ENQ_QUEUED);
    /* and so does the next command; the empty Redis has lost the group too */
    mf_test_redis_kill(SIGKILL);
    assert_int_equal(mf_test_redis_start(program_invocation_short_name), 0);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 0);
    assert_int_equal(raw_int(f, "EXISTS mf:q:image", NULL, NULL), 1);
    /* down: one try fails fast, a stop flag ends the wait; back up: reconnected */
    mf_test_redis_kill(SIGKILL);
    assert_int_equal(mf_redis_cmd(f->r, &rep, &err, "PING"), MF_EREDIS);
    assert_null(mf_redis_ctx(f->r));
    assert_int_equal(mf_redis_ensure(f->r, NULL, &err), MF_EREDIS);
    assert_int_equal(mf_redis_ensure(f->r, &stop, &err), MF_EREDIS);
    assert_int_equal(mf_test_redis_start(program_invocation_short_name), 0);
    stop = 0;
    assert_int_equal(mf_redis_ensure(f->r, &stop, &err), 0);
    assert_non_null(mf_redis_ctx(f->r));
    enqueue_one(f, &a, &res);
    assert_int_equal(res.status, MF_ENQ_QUEUED);
    assert_int_equal(mf_queue_claim(f->r, &o, 0, &job, &err), 1);
    assert_int_equal(mf_queue_start(f->r, &o, &job, &err), 0);
    mf_job_close(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_queued_record, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_job_and_indexes, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_duplicate, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_unsupported, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_batch_known, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_claim_start_done, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_fail_retry_after_backoff, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_fail_backoff_not_yet, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_fail_attempts_exhausted, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_fail_second_crash_final, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_fail_permanent, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_release, mf_test_redis_setup, mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_dead_worker_reclaimed, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_settled_elsewhere_left_alone, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_retry_failed, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_record_gone_skipped, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_claim_blocks_until_a_job, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_events_published, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_record_json, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_memory_per_file, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test(test_url_rejected),
        cmocka_unit_test_setup_teardown(test_url_password_and_db, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_script_flush, mf_test_redis_setup,
                                        mf_test_redis_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_restart, mf_test_redis_setup,
                                        mf_test_redis_teardown),
    };

    return cmocka_run_group_tests(tests, mf_test_redis_group_setup, mf_test_redis_group_teardown);
}
