/* The Redis job protocol (queue.h). Each state change is one Lua script (lua/<name>.lua) so the
 * record, the stream entry and the event change together; this file builds their arguments,
 * pipelines the dispatcher's batches, and claims jobs for the workers.
 *
 * How delivery works with one consumer group per lane stream:
 *  - a job is an entry {id} in q:<lane>; a worker owns it while it sits in the group's
 *    pending list (PEL) under its consumer name;
 *  - an entry idle in the PEL for the visibility timeout is reclaimed with XAUTOCLAIM: a dead
 *    worker's job, or a retry (fail.lua sets the idle time so the wait is the back-off), or a
 *    job handed back by a draining worker (release.lua makes it look idle already);
 *  - done and final failures acknowledge and delete the entry, so the stream holds the
 *    backlog and nothing else, and is never trimmed. */
#include "mf/queue.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/utf8.h"
#include "internal.h"

/* XAUTOCLAIM ... COUNT 1 examines at most 10 pending entries per call (Redis scans
 * COUNT * 10), so a claim follows the cursor: up to 100 calls, 1,000 pending entries, far
 * more than one lane has workers. A dead worker's job further down is found by a later claim
 * once the entries before it are acknowledged. */
#define MF_QUEUE_AUTOCLAIM_ROUNDS 100
/* Read timeout beyond the BLOCK time of XREADGROUP before the connection counts as dead. */
#define MF_QUEUE_BLOCK_SLACK_MS 5000
#define MF_QUEUE_ARGS_MAX 16
#define MF_QUEUE_KEY_MAX 512

/* Arguments of one script call; numbers and times are formatted into buf. Not movable. */
typedef struct qargs {
    int argc;
    const char *argv[MF_QUEUE_ARGS_MAX];
    size_t len[MF_QUEUE_ARGS_MAX];
    char buf[MF_QUEUE_ARGS_MAX][32];
} qargs;

static void args_bin(qargs *a, const char *s, size_t len)
{
    if (a->argc >= MF_QUEUE_ARGS_MAX)
        abort(); /* a script grew an argument: raise MF_QUEUE_ARGS_MAX */
    a->argv[a->argc] = s;
    a->len[a->argc] = len;
    a->argc++;
}

static void args_str(qargs *a, const char *s)
{
    s = s != NULL ? s : "";
    args_bin(a, s, strlen(s));
}

static void args_int(qargs *a, int64_t v)
{
    char *b = a->buf[a->argc < MF_QUEUE_ARGS_MAX ? a->argc : 0];
    int n = snprintf(b, sizeof(a->buf[0]), "%" PRId64, v);

    args_bin(a, b, (size_t)n);
}

static void args_time(qargs *a, int64_t epoch_ms)
{
    char *b = a->buf[a->argc < MF_QUEUE_ARGS_MAX ? a->argc : 0];

    mf_clock_iso(epoch_ms, b, sizeof(a->buf[0]));
    args_bin(a, b, strlen(b));
}

/* Every script starts with: prefix events_maxlen. */
static void args_init(qargs *a, const char *prefix, int64_t events_maxlen)
{
    a->argc = 0;
    args_str(a, prefix);
    args_int(a, events_maxlen);
}

/* The arguments every worker-side script starts with: prefix, events_maxlen, id, lane, entry. */
static void args_job(qargs *a, const mf_queue_opts *o, const mf_job *job)
{
    args_init(a, o->prefix, o->events_maxlen);
    args_str(a, job->id);
    args_str(a, job->lane);
    args_str(a, job->entry);
}

/* <prefix><kind><name>, e.g. "mf:" "q:" "image". */
static int qkey(char *buf, size_t size, const char *prefix, const char *kind, const char *name,
                mf_err *err)
{
    int n = snprintf(buf, size, "%s%s%s", prefix, kind, name);

    if (n < 0 || (size_t)n >= size)
        return mf_err_set(err, MF_EINVAL, "redis key %s%s... is too long", prefix, kind);
    return 0;
}

/* 1 when err holds the Redis error code (the first word of the reply: NOGROUP, BUSYGROUP). */
static int err_is(const mf_err *err, const char *code)
{
    const char *p = strstr(err->msg, "failed: ");

    return p != NULL && strncmp(p + 8, code, strlen(code)) == 0;
}

static int proto_error(mf_err *err, const char *what)
{
    return mf_err_set(err, MF_EPROTO, "redis %s returned an unexpected reply", what);
}

/* ---- pipelines (dispatcher) --------------------------------------------------------- */

/* One script per item, all in one round trip. */
typedef struct pipe_ops {
    const char *script;
    void (*fill)(void *ud, size_t i, qargs *a);
    int (*take)(void *ud, size_t i, const redisReply *rep, mf_err *err);
} pipe_ops;

/* After a SCRIPT FLUSH every EVALSHA of the pipeline fails with NOSCRIPT: they are redone
 * one by one through mf_redis_script(), which loads the script again. */
static int pipe_redo(mf_redis *r, const pipe_ops *ops, void *ud, size_t n,
                     const unsigned char *redo, mf_err *err)
{
    redisReply *rep = NULL;
    qargs a;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        if (!redo[i])
            continue;
        ops->fill(ud, i, &a);
        rc = mf_redis_script(r, ops->script, &rep, err, a.argc, a.argv, a.len);
        if (rc == 0)
            rc = ops->take(ud, i, rep, err);
        freeReplyObject(rep);
        rep = NULL;
    }
    return rc;
}

/* Reads n replies. A script error on one item does not stop the others (their replies must
 * be read anyway); the first error is returned. */
static int pipe_read(mf_redis *r, const pipe_ops *ops, void *ud, size_t n, unsigned char *redo,
                     mf_err *err)
{
    redisContext *c = mf_redis_ctx(r);
    redisReply *rep = NULL;
    size_t i;
    int rc = 0, one;

    for (i = 0; i < n; i++) {
        if (redisGetReply(c, (void **)&rep) != REDIS_OK) {
            rc = mf_err_set(err, MF_EREDIS, "redis script %s failed: %s", ops->script, c->errstr);
            mf_redis_mark_broken(r);
            return rc;
        }
        if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
            redo[i] = 1;
            one = 0;
        } else if (rep->type == REDIS_REPLY_ERROR) {
            one = mf_err_set(err, MF_EPROTO, "redis script %s failed: %s", ops->script, rep->str);
        } else {
            one = ops->take(ud, i, rep, err);
        }
        if (rc == 0)
            rc = one;
        freeReplyObject(rep);
    }
    return rc;
}

static int pipe_once(mf_redis *r, const pipe_ops *ops, void *ud, size_t n, mf_err *err)
{
    unsigned char *redo = NULL;
    qargs a;
    size_t i;
    int rc;

    rc = mf_redis_ensure(r, NULL, err);
    for (i = 0; i < n && rc == 0; i++) {
        ops->fill(ud, i, &a);
        rc = mf_redis_script_append(r, ops->script, a.argc, a.argv, a.len, err);
    }
    if (rc < 0 && i > 1)
        mf_redis_mark_broken(r); /* drop the commands already buffered */
    if (rc < 0)
        goto out;
    redo = mf_xcalloc(n, 1);
    rc = pipe_read(r, ops, ud, n, redo, err);
    if (rc == 0 && memchr(redo, 1, n) != NULL)
        rc = pipe_redo(r, ops, ud, n, redo, err);
out:
    free(redo);
    return rc;
}

/* A connection that died since the last batch (Redis restarted) fails the first try; one
 * more is safe because every pipelined script is idempotent when repeated: an upload the lost
 * pipeline did record comes back MF_ENQ_KNOWN with the same id. */
static int pipe_run(mf_redis *r, const pipe_ops *ops, void *ud, size_t n, mf_err *err)
{
    int rc;

    if (n == 0)
        return 0;
    rc = pipe_once(r, ops, ud, n, err);
    if (rc == MF_EREDIS)
        rc = pipe_once(r, ops, ud, n, err);
    return rc;
}

typedef struct enq_batch {
    const char *prefix;
    int64_t events_maxlen;
    int64_t now_ms;
    const mf_upload *ups;
    mf_enq_result *out;
    int *known;
} enq_batch;

static size_t upload_path_len(const mf_upload *u)
{
    return u->path_len != 0 ? u->path_len : strlen(u->path);
}

static void enqueue_fill(void *ud, size_t i, qargs *a)
{
    const enq_batch *b = ud;
    const mf_upload *u = &b->ups[i];

    args_init(a, b->prefix, b->events_maxlen);
    args_str(a, b->out[i].id);
    args_bin(a, u->path, upload_path_len(u));
    args_int(a, u->size);
    args_int(a, u->mtime_ms);
    args_str(a, u->mime);
    args_str(a, u->lane);
    args_str(a, u->sha256);
    args_str(a, u->profile != NULL ? u->profile : "default");
    args_time(a, u->received_ms > 0 ? u->received_ms : b->now_ms);
    args_time(a, b->now_ms);
    args_str(a, u->error != NULL ? u->error : "");
}

static int enqueue_take(void *ud, size_t i, const redisReply *rep, mf_err *err)
{
    enq_batch *b = ud;
    const redisReply *code, *id;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
        return proto_error(err, "script enqueue");
    code = rep->element[0];
    id = rep->element[1];
    if (code->type != REDIS_REPLY_INTEGER || code->integer < MF_ENQ_QUEUED ||
        code->integer > MF_ENQ_FAILED || id->type != REDIS_REPLY_STRING || id->len != MF_ID_LEN - 1)
        return proto_error(err, "script enqueue");
    b->out[i].status = (mf_enq_status)code->integer;
    memcpy(b->out[i].id, id->str, MF_ID_LEN);
    return 0;
}

int mf_queue_enqueue(mf_redis *r, const char *prefix, int64_t events_maxlen, const mf_upload *ups,
                     size_t n, mf_enq_result *out, mf_err *err)
{
    static const pipe_ops ops = {"enqueue", enqueue_fill, enqueue_take};
    enq_batch b = {prefix, events_maxlen, mf_clock_now_ms(), ups, out, NULL};
    size_t i;

    /* ids are made once, before any try, so a repeated pipeline reuses them */
    for (i = 0; i < n; i++)
        mf_id_new(out[i].id, b.now_ms);
    return pipe_run(r, &ops, &b, n, err);
}

static void known_fill(void *ud, size_t i, qargs *a)
{
    const enq_batch *b = ud;
    const mf_upload *u = &b->ups[i];

    args_init(a, b->prefix, 0);
    args_bin(a, u->path, upload_path_len(u));
    args_int(a, u->size);
    args_int(a, u->mtime_ms);
}

static int known_take(void *ud, size_t i, const redisReply *rep, mf_err *err)
{
    enq_batch *b = ud;

    if (rep->type != REDIS_REPLY_INTEGER)
        return proto_error(err, "script known");
    b->known[i] = rep->integer == 1;
    return 0;
}

int mf_queue_known(mf_redis *r, const char *prefix, const mf_upload *ups, size_t n, int *known,
                   mf_err *err)
{
    static const pipe_ops ops = {"known", known_fill, known_take};
    enq_batch b = {prefix, 0, 0, ups, NULL, known};

    return pipe_run(r, &ops, &b, n, err);
}

int mf_queue_prepare(mf_redis *r, const char *prefix, const char *lane, mf_err *err)
{
    char q[MF_QUEUE_KEY_MAX];
    redisReply *rep = NULL;
    mf_err local;
    int rc;

    err = err != NULL ? err : &local;
    rc = qkey(q, sizeof(q), prefix, "q:", lane, err);
    if (rc < 0)
        return rc;
    /* from 0, not $: jobs queued before the group existed must be delivered too */
    rc = mf_redis_cmd(r, &rep, err, "XGROUP CREATE %s %s 0 MKSTREAM", q, MF_QUEUE_GROUP);
    if (rc == MF_EPROTO && err_is(err, "BUSYGROUP")) {
        mf_err_clear(err);
        rc = 0;
    }
    freeReplyObject(rep);
    return rc;
}

/* ---- claim (worker) ----------------------------------------------------------------- */

void mf_job_close(mf_job *job)
{
    if (job == NULL)
        return;
    free(job->path);
    free(job->profile);
    free(job->mime);
    free(job->sha256);
    job->path = job->profile = job->mime = job->sha256 = NULL;
}

/* Takes an entry [entry-id, [field, value, ...]] into job->entry and job->id. Returns 1 with
 * a job, 2 for an entry without a usable id (the caller acknowledges and skips it), or
 * MF_EPROTO. */
static int job_from_entry(const redisReply *e, mf_job *job, mf_err *err)
{
    const redisReply *f;
    size_t i;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(job->entry))
        return proto_error(err, "stream entry");
    memcpy(job->entry, e->element[0]->str, e->element[0]->len + 1);
    f = e->element[1];
    for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, "id") == 0 &&
            v->type == REDIS_REPLY_STRING && v->len == MF_ID_LEN - 1) {
            memcpy(job->id, v->str, MF_ID_LEN);
            return 1;
        }
    }
    return 2;
}

/* A job idle for the visibility timeout, following the XAUTOCLAIM cursor.
 * Reply (Redis 7): [next-cursor, [entries], [deleted ids]]. Returns 1, 0 or an error. */
static int claim_idle(mf_redis *r, const mf_queue_opts *o, const char *q, mf_job *job, mf_err *err)
{
    char cursor[48] = "0-0";
    redisReply *rep = NULL;
    int rc = 0, round;

    for (round = 0; round < MF_QUEUE_AUTOCLAIM_ROUNDS && rc == 0; round++) {
        rc = mf_redis_cmd(r, &rep, err, "XAUTOCLAIM %s %s %s %lld %s COUNT 1", q, MF_QUEUE_GROUP,
                          o->consumer, (long long)o->visibility_ms, cursor);
        if (rc < 0)
            break;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len >= sizeof(cursor) ||
            rep->element[1]->type != REDIS_REPLY_ARRAY)
            rc = proto_error(err, "XAUTOCLAIM");
        else if (rep->element[1]->elements > 0)
            rc = job_from_entry(rep->element[1]->element[0], job, err);
        else if (strcmp(rep->element[0]->str, "0-0") == 0)
            rc = 3;
        else
            memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
        freeReplyObject(rep);
        rep = NULL;
    }
    /* 2: an entry without an id, still to be acknowledged; 3: the end of the PEL */
    return rc == 3 ? 0 : rc;
}

/* A new job. Reply: nil on timeout, or [[q, [[entry, [field, value]]]]]. */
static int claim_new(mf_redis *r, const mf_queue_opts *o, const char *q, int block_ms, mf_job *job,
                     mf_err *err)
{
    redisReply *rep = NULL;
    const redisReply *s;
    int rc;

    if (block_ms > 0) {
        mf__redis_set_timeout(r, block_ms + MF_QUEUE_BLOCK_SLACK_MS);
        rc = mf_redis_cmd(r, &rep, err, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >",
                          MF_QUEUE_GROUP, o->consumer, block_ms, q);
        mf__redis_set_timeout(r, 0);
    } else {
        rc = mf_redis_cmd(r, &rep, err, "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s >",
                          MF_QUEUE_GROUP, o->consumer, q);
    }
    if (rc < 0 || rep->type == REDIS_REPLY_NIL)
        goto out;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
        rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements != 2) {
        rc = proto_error(err, "XREADGROUP");
        goto out;
    }
    s = rep->element[0]->element[1];
    if (s->type != REDIS_REPLY_ARRAY || s->elements == 0) {
        rc = proto_error(err, "XREADGROUP");
        goto out;
    }
    rc = job_from_entry(s->element[0], job, err);
out:
    freeReplyObject(rep);
    return rc;
}

/* Acknowledges and deletes an entry nobody can process (no id, or no record). */
static int claim_discard(mf_redis *r, const mf_queue_opts *o, const char *q, const mf_job *job,
                         const char *why, mf_err *err)
{
    redisReply *rep = NULL;
    char buf[64];
    int rc;

    mf_log(MF_LOG_WARN, "lane=%s entry=%s id=%s msg=%s", o->lane, job->entry, job->id,
           mf_log_quote(buf, sizeof(buf), why));
    rc = mf_redis_cmd(r, &rep, err, "XACK %s %s %s", q, MF_QUEUE_GROUP, job->entry);
    freeReplyObject(rep);
    rep = NULL;
    if (rc == 0)
        rc = mf_redis_cmd(r, &rep, err, "XDEL %s %s", q, job->entry);
    freeReplyObject(rep);
    return rc;
}

/* Fills the job's strings from its record. Returns 1, or 0 when the record is gone. */
static int claim_load(mf_redis *r, const mf_queue_opts *o, mf_job *job, mf_err *err)
{
    char key[MF_QUEUE_KEY_MAX];
    redisReply *rep = NULL;
    char **dst[4] = {&job->path, &job->profile, &job->mime, &job->sha256};
    size_t i;
    int rc;

    rc = qkey(key, sizeof(key), o->prefix, "file:", job->id, err);
    if (rc < 0)
        return rc;
    rc = mf_redis_cmd(r, &rep, err, "HMGET %s path profile mime sha256", key);
    if (rc < 0)
        goto out;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4) {
        rc = proto_error(err, "HMGET");
        goto out;
    }
    rc = rep->element[0]->type == REDIS_REPLY_STRING;
    for (i = 0; rc == 1 && i < 4; i++) {
        const redisReply *v = rep->element[i];

        *dst[i] = v->type == REDIS_REPLY_STRING ? mf_xmemdup(v->str, v->len) : mf_xmemdup("", 0);
    }
out:
    freeReplyObject(rep);
    return rc;
}

static int claim_entry(mf_redis *r, const mf_queue_opts *o, const char *q, int block_ms,
                       mf_job *job, mf_err *err)
{
    int rc = 0, tries;

    for (tries = 0; tries < 2; tries++) {
        rc = claim_idle(r, o, q, job, err);
        if (rc == 0)
            rc = claim_new(r, o, q, block_ms, job, err);
        if (rc != MF_EPROTO || !err_is(err, "NOGROUP") || tries > 0)
            break;
        /* the stream or group is gone (a Redis restarted without persistence) */
        rc = mf_queue_prepare(r, o->prefix, o->lane, err);
        if (rc < 0)
            break;
    }
    return rc;
}

int mf_queue_claim(mf_redis *r, const mf_queue_opts *o, int block_ms, mf_job *job, mf_err *err)
{
    char q[MF_QUEUE_KEY_MAX];
    mf_err local;
    int rc;

    err = err != NULL ? err : &local;
    memset(job, 0, sizeof(*job));
    snprintf(job->lane, sizeof(job->lane), "%s", o->lane);
    rc = qkey(q, sizeof(q), o->prefix, "q:", o->lane, err);
    if (rc < 0)
        return rc;
    rc = claim_entry(r, o, q, block_ms, job, err);
    if (rc == 1) {
        rc = claim_load(r, o, job, err);
        if (rc == 0)
            rc = claim_discard(r, o, q, job, "job whose record is gone skipped", err);
    } else if (rc == 2) {
        rc = claim_discard(r, o, q, job, "stream entry without an id skipped", err);
    }
    if (rc != 1) {
        mf_job_close(job);
        memset(job, 0, sizeof(*job));
    }
    return rc;
}

/* ---- state changes (worker) --------------------------------------------------------- */

/* Runs a script that returns an integer. */
static int run_int(mf_redis *r, const char *script, qargs *a, long long *out, mf_err *err)
{
    redisReply *rep = NULL;
    int rc;

    rc = mf_redis_script(r, script, &rep, err, a->argc, a->argv, a->len);
    if (rc < 0)
        return rc;
    if (rep->type == REDIS_REPLY_INTEGER)
        *out = rep->integer;
    else
        rc = proto_error(err, script);
    freeReplyObject(rep);
    return rc;
}

int mf_queue_start(mf_redis *r, const mf_queue_opts *o, mf_job *job, mf_err *err)
{
    long long attempts = 0;
    qargs a;
    int rc;

    args_job(&a, o, job);
    args_str(&a, o->consumer);
    args_time(&a, mf_clock_now_ms());
    rc = run_int(r, "start", &a, &attempts, err);
    if (rc == 0 && attempts == 0)
        rc = mf_err_set(err, -ENOENT, "record %sfile:%s is gone", o->prefix, job->id);
    else if (rc == 0 && attempts < 0)
        rc = mf_err_set(err, -ENOENT, "job %s (entry %s) was settled by another worker", job->id,
                        job->entry);
    if (rc == 0) {
        job->attempts = attempts;
        job->started_mono_ms = mf_clock_mono_ms();
    }
    return rc;
}

int mf_queue_heartbeat(mf_redis *r, const mf_queue_opts *o, const mf_job *job, mf_err *err)
{
    char q[MF_QUEUE_KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    rc = qkey(q, sizeof(q), o->prefix, "q:", job->lane, err);
    if (rc == 0)
        rc = mf_redis_cmd(r, &rep, err, "XCLAIM %s %s %s 0 %s JUSTID", q, MF_QUEUE_GROUP,
                          o->consumer, job->entry);
    freeReplyObject(rep);
    return rc;
}

int mf_queue_done(mf_redis *r, const mf_queue_opts *o, const mf_job *job, const char *outputs_json,
                  const char *meta_json, int64_t duration_ms, mf_err *err)
{
    long long found = 0;
    qargs a;

    args_job(&a, o, job);
    args_str(&a, outputs_json != NULL ? outputs_json : "[]");
    args_str(&a, meta_json != NULL ? meta_json : "{}");
    args_time(&a, mf_clock_now_ms());
    args_int(&a, duration_ms);
    return run_int(r, "done", &a, &found, err);
}

int mf_queue_fail(mf_redis *r, const mf_queue_opts *o, const mf_job *job, int code,
                  const char *error, int64_t duration_ms, int *final, mf_err *err)
{
    long long fin = 1;
    qargs a;
    int rc;

    args_job(&a, o, job);
    args_str(&a, o->consumer);
    args_str(&a, error != NULL && error[0] != '\0' ? error : mf_strerror(code));
    args_str(&a, mf_err_retryable(code) ? "1" : "0");
    args_int(&a, o->max_attempts);
    args_int(&a, o->visibility_ms);
    args_int(&a, o->retry_backoff_ms);
    args_time(&a, mf_clock_now_ms());
    args_int(&a, duration_ms);
    args_str(&a, code == MF_ECRASH ? "1" : "0");
    args_int(&a, o->max_crashes);
    rc = run_int(r, "fail", &a, &fin, err);
    if (rc == 0 && fin < 0)
        mf_log(MF_LOG_INFO, "id=%s entry=%s msg=\"failure not recorded: job settled elsewhere\"",
               job->id, job->entry);
    if (rc == 0 && final != NULL)
        *final = fin < 0 ? 2 : fin != 0; /* settled elsewhere: nothing is left to do */
    return rc;
}

int mf_queue_release(mf_redis *r, const mf_queue_opts *o, const mf_job *job, mf_err *err)
{
    long long found = 0;
    qargs a;

    args_job(&a, o, job);
    args_str(&a, o->consumer);
    args_int(&a, o->visibility_ms);
    return run_int(r, "release", &a, &found, err);
}

int mf_queue_progress(mf_redis *r, const mf_queue_opts *o, const mf_job *job, int progress,
                      int64_t eta_s, mf_err *err)
{
    long long written = 0;
    qargs a;

    args_job(&a, o, job);
    args_int(&a, progress < 0 ? 0 : progress > 100 ? 100 : progress);
    args_int(&a, eta_s);
    return run_int(r, "progress", &a, &written, err);
}

/* ---- the live worker registry ------------------------------------------------------- */

int mf_queue_worker_beat(mf_redis *r, const char *prefix, const mf_worker_beat *b, int *paused,
                         mf_err *err)
{
    long long p = 0;
    qargs a;
    int rc;

    args_init(&a, prefix, 0);
    args_str(&a, b->member);
    args_str(&a, b->lane);
    args_str(&a, b->host);
    args_int(&a, b->pid);
    args_str(&a, b->version);
    args_str(&a, b->job);
    args_str(&a, b->path);
    args_time(&a, b->since_ms);
    args_time(&a, b->started_ms);
    args_int(&a, mf_clock_now_ms());
    args_int(&a, MF_WORKER_TTL_MS);
    rc = run_int(r, "beat", &a, &p, err);
    if (rc == 0 && paused != NULL)
        *paused = p == 1;
    return rc;
}

int mf_queue_worker_gone(mf_redis *r, const char *prefix, const char *member, mf_err *err)
{
    char key[MF_QUEUE_KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    rc = qkey(key, sizeof(key), prefix, "worker:", member, err);
    if (rc == 0)
        rc = mf_redis_cmd(r, &rep, err, "DEL %s", key);
    freeReplyObject(rep);
    rep = NULL;
    if (rc == 0 && qkey(key, sizeof(key), prefix, "workers", "", err) == 0)
        rc = mf_redis_cmd(r, &rep, err, "ZREM %s %s", key, member);
    freeReplyObject(rep);
    return rc;
}

/* ---- near-duplicate images ---------------------------------------------------------- */

static int phash_valid(const char *h)
{
    size_t i;

    for (i = 0; i < 16; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    }
    return h[16] == '\0';
}

/* Reply: {id, distance, id, distance, ...}. */
static int near_take(const redisReply *rep, mf_near_dup *out, size_t cap, size_t *n, mf_err *err)
{
    size_t i;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0)
        return proto_error(err, "script neardup");
    for (i = 0; i + 1 < rep->elements && *n < cap; i += 2) {
        const redisReply *id = rep->element[i], *d = rep->element[i + 1];

        if (id->type != REDIS_REPLY_STRING || id->len != MF_ID_LEN - 1 ||
            d->type != REDIS_REPLY_INTEGER || d->integer < 0 || d->integer > 64)
            return proto_error(err, "script neardup");
        memcpy(out[*n].id, id->str, MF_ID_LEN);
        out[*n].distance = (int)d->integer;
        (*n)++;
    }
    return 0;
}

int mf_queue_near_dups(mf_redis *r, const mf_queue_opts *o, const char *id, const char *phash,
                       int max_bits, mf_near_dup *out, size_t cap, size_t *n, mf_err *err)
{
    redisReply *rep = NULL;
    qargs a;
    int rc;

    *n = 0;
    if (!phash_valid(phash))
        return mf_err_set(err, MF_EINVAL, "perceptual hash '%.32s' is not 16 lowercase hex digits",
                          phash);
    if (max_bits < 0 || max_bits > MF_NEAR_DUP_BITS_MAX)
        return mf_err_set(err, MF_EINVAL, "near-duplicate distance %d is out of range [0, %d]",
                          max_bits, MF_NEAR_DUP_BITS_MAX);
    args_init(&a, o->prefix, o->events_maxlen);
    args_str(&a, id);
    args_str(&a, phash);
    args_int(&a, max_bits);
    args_int(&a, MF_NEAR_DUP_BUCKET_MAX);
    args_int(&a, (int64_t)(cap < MF_NEAR_DUP_LIST_MAX ? cap : MF_NEAR_DUP_LIST_MAX));
    rc = mf_redis_script(r, "neardup", &rep, err, a.argc, a.argv, a.len);
    if (rc == 0)
        rc = near_take(rep, out, cap, n, err);
    freeReplyObject(rep);
    return rc;
}

/* retry.lua for mf_queue_retry (from "failed") and mf_queue_reprocess (from "done"). */
static int mf__again(mf_redis *r, const char *prefix, int64_t events_maxlen, const char *id,
                     const char *from, int *removed, mf_err *err)
{
    redisReply *rep = NULL;
    const redisReply *code;
    qargs a;
    int rc;

    args_init(&a, prefix, events_maxlen);
    args_str(&a, id);
    args_time(&a, mf_clock_now_ms());
    args_str(&a, from);
    rc = mf_redis_script(r, "retry", &rep, err, a.argc, a.argv, a.len);
    if (rc < 0)
        return rc;
    code = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 ? rep->element[0] : NULL;
    if (code == NULL || code->type != REDIS_REPLY_INTEGER)
        rc = proto_error(err, "script retry");
    else if (code->integer == -1)
        rc = mf_err_set(err, -ENOENT, "no record %sfile:%s", prefix, id);
    else if (code->integer == -2 && rep->elements == 2 &&
             rep->element[1]->type == REDIS_REPLY_STRING)
        rc = mf_err_set(err, MF_EINVAL, "status is %s; only %s files are %s", rep->element[1]->str,
                        from, strcmp(from, "done") == 0 ? "reprocessed" : "retried");
    else if (code->integer < 0)
        rc = proto_error(err, "script retry");
    else if (removed != NULL)
        *removed = (int)code->integer;
    freeReplyObject(rep);
    return rc;
}

int mf_queue_retry(mf_redis *r, const char *prefix, int64_t events_maxlen, const char *id,
                   int *removed, mf_err *err)
{
    return mf__again(r, prefix, events_maxlen, id, "failed", removed, err);
}

int mf_queue_reprocess(mf_redis *r, const char *prefix, int64_t events_maxlen, const char *id,
                       mf_err *err)
{
    return mf__again(r, prefix, events_maxlen, id, "done", NULL, err);
}

/* ---- record as JSON ----------------------------------------------------------------- */

/* A JSON string of any bytes: what is not UTF-8 becomes U+FFFD (paths are any bytes). */
static json_t *json_text(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    char *buf;
    size_t n;

    if (v != NULL)
        return v;
    buf = mf_utf8_clean(s, len, &n);
    v = json_stringn(buf, n);
    free(buf);
    return v;
}

/* outputs and meta are embedded as JSON, the counters as numbers ("" as null). */
static json_t *field_json(const char *name, const char *s, size_t len)
{
    static const char *const numeric[] = {"size",     "mtime", "attempts", "process_duration_ms",
                                          "progress", "eta_s"};
    json_t *v = NULL;
    size_t i;

    if (strcmp(name, "outputs") == 0 || strcmp(name, "meta") == 0)
        v = json_loadb(s, len, 0, NULL);
    for (i = 0; v == NULL && i < sizeof(numeric) / sizeof(numeric[0]); i++) {
        char *end = NULL;
        long long n;

        if (strcmp(name, numeric[i]) != 0)
            continue;
        if (len == 0)
            return json_null();
        n = strtoll(s, &end, 10);
        if (end == s + len)
            v = json_integer(n);
    }
    return v != NULL ? v : json_text(s, len);
}

static int record_object(const redisReply *rep, json_t *obj)
{
    size_t i;

    for (i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        json_t *name;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return -1;
        name = json_text(k->str, k->len);
        json_object_set_new(obj, json_string_value(name), field_json(k->str, v->str, v->len));
        json_decref(name);
    }
    return 0;
}

int mf_queue_record_json(mf_redis *r, const char *prefix, const char *id, char **json, mf_err *err)
{
    char key[MF_QUEUE_KEY_MAX];
    redisReply *rep = NULL;
    json_t *obj = NULL;
    int rc;

    *json = NULL;
    rc = qkey(key, sizeof(key), prefix, "file:", id, err);
    if (rc < 0)
        return rc;
    rc = mf_redis_cmd(r, &rep, err, "HGETALL %s", key);
    if (rc < 0)
        goto out;
    if (rep->type != REDIS_REPLY_ARRAY) {
        rc = proto_error(err, "HGETALL");
        goto out;
    }
    if (rep->elements == 0) {
        rc = mf_err_set(err, -ENOENT, "no record %s", key);
        goto out;
    }
    obj = json_object();
    if (record_object(rep, obj) < 0) {
        rc = proto_error(err, "HGETALL");
        goto out;
    }
    *json = json_dumps(obj, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    if (*json == NULL)
        abort();
out:
    json_decref(obj);
    freeReplyObject(rep);
    return rc;
}
