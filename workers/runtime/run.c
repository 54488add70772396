/* The worker loop, written once for every lane: claim -> start -> execute -> write -> ack.
 *
 * The worker process only talks to Redis and supervises its executor (executor.c); it
 * never decodes a file. Redis going away is never fatal: every call that must land (done,
 * fail) is retried after mf_redis_ensure() until it does, because the outputs are already
 * written and the job must not be lost; the claim loop just waits for Redis to come back.
 *
 * Signals: the first SIGTERM/SIGINT stops claiming and lets the current job finish (drain);
 * a second one kills the executor and hands the job back (mf_queue_release). Either way
 * the exit status is 0. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mf/clock.h"
#include "mf/executor.h"
#include "mf/fsutil.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mf/redis.h"
#include "runtime.h"

/* The claim blocks this long, so a drain signal is noticed within about a second. */
#define MF__CLAIM_BLOCK_MS 1000
/* How long one executor wait lasts before the loop looks at signals and heartbeats. */
#define MF__WAIT_SLICE_MS 250
/* mf__worker_execute(): the job was abandoned on a second signal. */
#define MF__ABANDONED 2
/* The registry beat (well inside MF_WORKER_TTL_MS) and the least time between progress writes. */
#define MF__BEAT_MS 1000
#define MF__PROGRESS_MS 1000

static volatile int mf__stop;      /* first signal: drain */
static volatile int mf__hard_stop; /* second signal: abandon the current job */

typedef struct mf__worker {
    const mf_lane *lane;
    const mf_config *cfg;
    mf_redis *r;
    mf_executor *ex;
    mf_queue_opts o;
    char consumer[300]; /* "<host>:<pid>" */
    char host[256];
    int named;          /* CLIENT SETNAME sent (redis.c repeats it on reconnect) */
    int paused;         /* the lane is paused (mfctl pause): claim nothing new */
    int64_t started_ms; /* epoch ms */
    int64_t next_beat;  /* monotonic ms of the next registry beat */
    const mf_job *job;  /* the running job, NULL when idle */
    int64_t job_since;  /* epoch ms */
} mf__worker;

static void mf__on_signal(int sig)
{
    (void)sig;
    if (mf__stop)
        mf__hard_stop = 1;
    mf__stop = 1;
}

static void mf__signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mf__on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() and sleeps return early on a signal */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a dead executor's pipe is an error code, not a death */
}

static void mf__sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL); /* a signal ends it early, which is what we want */
}

/* Connects (retrying while Redis is down) and prepares the lane's stream and group. Returns
 * 0, MF_ECONFIG for a bad URL, or MF_EREDIS when a signal stopped the wait. */
static int mf__worker_connect(mf__worker *w, mf_err *err)
{
    int64_t backoff = 100;
    int rc;

    for (;;) {
        if (w->r == NULL)
            rc = mf_redis_new(&w->r, w->cfg->redis_url, err);
        else
            rc = mf_redis_ensure(w->r, &mf__stop, err);
        if (rc == 0 && !w->named) {
            char name[320];

            /* mfctl status counts live workers by this name */
            snprintf(name, sizeof(name), "worker-%s:%s", w->lane->name, w->o.consumer);
            rc = mf_redis_set_name(w->r, name, err);
            w->named = rc == 0;
        }
        if (rc == 0)
            rc = mf_queue_prepare(w->r, w->o.prefix, w->lane->name, err);
        if (rc == 0 || rc == MF_ECONFIG || mf__stop)
            return rc;
        mf_log_error(MF_LOG_WARN, err->msg, "msg=\"redis not ready, retrying\"");
        mf__sleep_ms(backoff);
        backoff = backoff < 5000 ? 2 * backoff : 5000;
    }
}

/* For a Redis write that must land because the outputs already exist:
 *   do { rc = mf_queue_done(...); } while (mf__worker_retry(w, rc, &err));
 * Returns 1 (after Redis is back) to try again, 0 when rc is final or on a hard stop. */
static int mf__worker_retry(mf__worker *w, int rc, mf_err *err)
{

    if (rc != MF_EREDIS || mf__hard_stop)
        return 0;
    mf_log_error(MF_LOG_WARN, err->msg, "msg=\"redis unavailable, holding the result\"");
    mf_redis_ensure(w->r, &mf__hard_stop, err);
    return !mf__hard_stop;
}

/* The live registry (mf_queue_worker_beat): at most once per MF__BEAT_MS, or now when
 * force is set (a job starts or ends). Learns whether the lane is paused. A failed beat is
 * only logged: the claim loop notices a Redis outage by itself. */
static void mf__worker_beat(mf__worker *w, int force)
{
    int64_t now = mf_clock_mono_ms();
    mf_worker_beat b;
    mf_err err;

    if (!force && now < w->next_beat)
        return;
    w->next_beat = now + MF__BEAT_MS;
    b = (mf_worker_beat){.member = w->consumer,
                         .lane = w->lane->name,
                         .host = w->host,
                         .pid = (int64_t)getpid(),
                         .version = MF_VERSION,
                         .job = w->job != NULL ? w->job->id : "",
                         .path = w->job != NULL ? w->job->path : "",
                         .since_ms = w->job != NULL ? w->job_since : w->started_ms,
                         .started_ms = w->started_ms};
    if (mf_queue_worker_beat(w->r, w->o.prefix, &b, &w->paused, &err) < 0)
        mf_log_error(MF_LOG_DEBUG, err.msg, "msg=\"registry beat failed\"");
}

/* The record's progress and eta_s from the executor's reports: at most once a second, and
 * only when the whole percentage moved. */
static void mf__worker_progress(mf__worker *w, const mf_job *job, int *last_pct, int64_t *last_ms)
{
    int pm = mf_executor_progress(w->ex);
    int64_t now = mf_clock_mono_ms(), elapsed, eta = -1;
    int pct = pm / 10;
    mf_err err;

    if (pm < 0 || pct <= *last_pct || now - *last_ms < MF__PROGRESS_MS)
        return;
    elapsed = now - job->started_mono_ms;
    if (pm > 0)
        eta = (elapsed * (1000 - pm) / pm + 999) / 1000;
    *last_pct = pct;
    *last_ms = now;
    if (mf_queue_progress(w->r, &w->o, job, pct, eta, &err) < 0)
        mf_log_error(MF_LOG_DEBUG, err.msg, "id=%s msg=\"progress not recorded\"", job->id);
}

/* Runs the job in the executor, renewing the claim every visibility/3 while it works.
 * Returns 1 on success (res filled), < 0 with err set, or MF__ABANDONED on a hard stop. */
static int mf__worker_execute(mf__worker *w, const mf_job *job, const char *outdir, mf_result *res,
                              mf_err *err)
{
    int64_t beat_every = w->o.visibility_ms / 3 > 100 ? w->o.visibility_ms / 3 : 100;
    int64_t next_beat = mf_clock_mono_ms() + beat_every;
    mf_exec_job ej = {.id = (char *)job->id,
                      .rel_path = job->path,
                      .profile = job->profile,
                      .mime = job->mime,
                      .outdir = (char *)outdir};
    int64_t progress_ms = 0;
    int progress_pct = -1;
    mf_err hb;
    int rc;

    rc = mf_executor_submit(w->ex, &ej, err);
    /* An executor that died before it took the job (its lane init crashed, or it went
     * between two writes) is not this file's crash: retried, never counted in `crashes`. */
    if (rc == MF_ECRASH) {
        err->code = MF_EBUSY;
        rc = MF_EBUSY;
    }
    while (rc == 0) {
        mf__worker_beat(w, 0);
        mf__worker_progress(w, job, &progress_pct, &progress_ms);
        if (mf__hard_stop) {
            mf_executor_kill(w->ex);
            rc = MF__ABANDONED;
            break;
        }
        rc = mf_executor_wait(w->ex, MF__WAIT_SLICE_MS, res, err);
        if (rc == 0 && mf_clock_mono_ms() >= next_beat) {
            next_beat = mf_clock_mono_ms() + beat_every;
            /* A missed beat is only logged: the job goes on, and at worst another worker
             * reclaims it and does the same (idempotent) work. */
            if (mf_queue_heartbeat(w->r, &w->o, job, &hb) < 0)
                mf_log_error(MF_LOG_WARN, hb.msg, "id=%s msg=\"heartbeat failed\"", job->id);
        }
    }
    return rc;
}

/* Removes a job's folder (<outbox>/<id> or its work folder); failures are only logged. */
static void mf__worker_rmdir(const mf_job *job, const char *dir)
{
    mf_err err;

    if (mf_fs_remove_tree(dir, &err) < 0)
        mf_log_error(MF_LOG_WARN, err.msg, "id=%s msg=\"could not remove the job's files\"",
                     job->id);
}

/* Records a failure. A file that failed for good owns no outputs: those of an earlier run
 * (mfctl reprocess) go with it, so a full disk is not kept full by failed files. */
static void mf__worker_fail(mf__worker *w, const mf_job *job, const mf_err *why,
                            int64_t duration_ms)
{
    char outdir[PATH_MAX];
    int rc, final = 0;
    mf_err err;

    do {
        rc = mf_queue_fail(w->r, &w->o, job, why->code, why->msg, duration_ms, &final, &err);
    } while (mf__worker_retry(w, rc, &err));
    if (rc == 0 && final == 1 && mf_fs_join(outdir, sizeof(outdir), w->cfg->outbox, job->id) == 0)
        mf__worker_rmdir(job, outdir);
    if (rc < 0)
        mf_log_error(MF_LOG_ERROR, err.msg, "id=%s msg=\"could not record the failure\"", job->id);
    else
        mf_log_error(final ? MF_LOG_WARN : MF_LOG_INFO, why->msg,
                     "id=%s attempts=%lld code=%s msg=\"%s\"", job->id, (long long)job->attempts,
                     mf_err_name(why->code), final ? "failed" : "failed, will retry");
}

/* <outbox>/<id>/meta.json: the record as it will read once done, written before the ack so a
 * reader who sees status done finds it. */
static int mf__worker_meta_json(mf__worker *w, const mf_job *job, const char *outdir,
                                json_t *outputs, json_t *meta, int64_t duration_ms, mf_err *err)
{
    char finished[MF_ISO_TIME_LEN], *text = NULL;
    json_t *rec = NULL;
    int rc;

    do {
        rc = mf_queue_record_json(w->r, w->o.prefix, job->id, &text, err);
    } while (mf__worker_retry(w, rc, err));
    if (rc < 0 && rc != -ENOENT)
        goto out;
    rec = text != NULL ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(rec)) {
        json_decref(rec);
        rec = json_pack("{s:s,s:o}", "id", job->id, "path", mf__json_text(job->path));
    }
    json_object_set_new(rec, "status", json_string("done"));
    json_object_set_new(rec, "finished_at",
                        json_string(mf_clock_iso(mf_clock_now_ms(), finished, sizeof(finished))));
    json_object_set_new(rec, "process_duration_ms", json_integer(duration_ms));
    json_object_set(rec, "outputs", outputs);
    json_object_set(rec, "meta", meta);
    json_object_set_new(rec, "error", json_string("")); /* as mf_queue_done() leaves it */
    free(text);
    text = json_dumps(rec, JSON_INDENT(2) | MF_JSON_REAL);
    if (text == NULL)
        abort();
    rc = mf_fs_write_atomic(outdir, "meta.json", text, strlen(text), err);
out:
    free(text);
    json_decref(rec);
    return rc;
}

/* The lane's finish step (mf_lane.finish), before meta.json and the record are written so
 * that both carry what it adds; retried while Redis is away. Returns 0 or an error. */
static int mf__worker_finish(mf__worker *w, const mf_job *job, json_t *meta, mf_err *err)
{
    mf_lane_finish_ctx ctx = {.cfg = w->cfg, .redis = w->r, .opts = &w->o, .id = job->id};
    int rc;

    if (w->lane->finish == NULL)
        return 0;
    do {
        rc = w->lane->finish(&ctx, meta, err);
    } while (mf__worker_retry(w, rc, err));
    return rc;
}

static void mf__worker_done(mf__worker *w, const mf_job *job, const char *workdir,
                            const char *outdir, mf_result *res, int64_t duration_ms)
{
    char path[PATH_MAX], *outputs_text = NULL, *meta_text = NULL;
    json_t *outputs = json_array(), *name;
    size_t i;
    mf_err err;
    int rc;

    /* The lane names files relative to its folder; the record names them from the outbox. */
    json_array_foreach(res->outputs, i, name)
    {
        if (json_is_string(name) &&
            mf_fs_join(path, sizeof(path), job->id, json_string_value(name)) == 0)
            json_array_append_new(outputs, json_string(path));
    }
    rc = mf__worker_finish(w, job, res->meta, &err);
    if (rc == 0)
        rc = mf__worker_meta_json(w, job, workdir, outputs, res->meta, duration_ms, &err);
    /* the whole set of outputs replaces the previous one (a reprocess) in one rename */
    if (rc == 0)
        rc = mf_fs_publish_dir(workdir, outdir, &err);
    if (rc < 0) {
        mf__worker_rmdir(job, workdir);
        if (!mf__hard_stop)
            mf__worker_fail(w, job, &err, duration_ms);
        goto out;
    }
    outputs_text = json_dumps(outputs, JSON_COMPACT | MF_JSON_REAL);
    meta_text = json_dumps(res->meta, JSON_COMPACT | MF_JSON_REAL);
    if (outputs_text == NULL || meta_text == NULL)
        abort();
    do {
        rc = mf_queue_done(w->r, &w->o, job, outputs_text, meta_text, duration_ms, &err);
    } while (mf__worker_retry(w, rc, &err));
    if (rc < 0)
        mf_log_error(MF_LOG_ERROR, err.msg, "id=%s msg=\"could not record the result\"", job->id);
    else
        mf_log(MF_LOG_INFO, "id=%s attempts=%lld duration_ms=%lld outputs=%zu msg=\"done\"",
               job->id, (long long)job->attempts, (long long)duration_ms, json_array_size(outputs));
out:
    free(outputs_text);
    free(meta_text);
    json_decref(outputs);
}

/* One claimed job, from start to its terminal (or handed-back) state. The lane writes into a
 * work folder, <outbox>/.<id>.work, emptied first (what an earlier delivery left when its
 * worker was killed goes), and published as <outbox>/<id> only when the job is done: a
 * failed or abandoned job leaves nothing behind. */
static void mf__worker_job(mf__worker *w, mf_job *job)
{
    char outdir[PATH_MAX], workdir[PATH_MAX], q[MF_PATH_MAX + 64];
    mf_result res = {0};
    int64_t t0;
    mf_err err;
    int rc;

    mf_err_clear(&err);
    rc = mf_queue_start(w->r, &w->o, job, &err);
    if (rc == -ENOENT) {
        /* Settled by a worker that reclaimed it, or its record was deleted: nothing to do. */
        mf_log(MF_LOG_INFO, "id=%s msg=\"job already settled, skipped\"", job->id);
        return;
    }
    if (rc < 0) {
        /* Still pending under our name: it is reclaimed after the visibility timeout. */
        mf_log_error(MF_LOG_WARN, err.msg, "id=%s msg=\"could not mark the job processing\"",
                     job->id);
        return;
    }
    t0 = mf_clock_mono_ms();
    mf_log(MF_LOG_INFO, "id=%s attempts=%lld path=%s msg=\"processing\"", job->id,
           (long long)job->attempts, mf_log_quote(q, sizeof(q), job->path));
    if (job->attempts > w->o.max_attempts) {
        /* Every earlier delivery ended without a verdict: the worker holding it died. */
        mf_err_set(&err, MF_EATTEMPTS,
                   "gave up after %lld attempt%s: worker died while processing (crash, kill or "
                   "timeout)",
                   (long long)(job->attempts - 1), job->attempts - 1 == 1 ? "" : "s");
        mf__worker_fail(w, job, &err, 0);
        return;
    }
    if (mf_fs_join(outdir, sizeof(outdir), w->cfg->outbox, job->id) < 0 ||
        snprintf(workdir, sizeof(workdir), "%s/.%s.work", w->cfg->outbox, job->id) >=
            (int)sizeof(workdir)) {
        mf_err_set(&err, MF_EINVAL, "outbox path too long: %s", w->cfg->outbox);
        mf__worker_fail(w, job, &err, 0);
        return;
    }
    mf__worker_rmdir(job, workdir);
    w->job = job;
    w->job_since = mf_clock_now_ms();
    mf__worker_beat(w, 1);
    rc = mf__worker_execute(w, job, workdir, &res, &err);
    if (rc == MF__ABANDONED) {
        mf__worker_rmdir(job, workdir);
        rc = mf_queue_release(w->r, &w->o, job, &err);
        mf_log(MF_LOG_WARN, "id=%s released=%s msg=\"job handed back on a second signal\"", job->id,
               rc == 0 ? "yes" : "no");
    } else if (rc < 0) {
        mf__worker_rmdir(job, workdir);
        mf__worker_fail(w, job, &err, mf_clock_mono_ms() - t0);
    } else {
        mf__worker_done(w, job, workdir, outdir, &res, mf_clock_mono_ms() - t0);
    }
    w->job = NULL;
    mf__worker_beat(w, 1);
    mf_result_close(&res);
}

static void mf__worker_consumer(mf__worker *w)
{
    if (gethostname(w->host, sizeof(w->host)) < 0)
        snprintf(w->host, sizeof(w->host), "localhost");
    w->host[sizeof(w->host) - 1] = '\0';
    snprintf(w->consumer, sizeof(w->consumer), "%s:%ld", w->host, (long)getpid());
}

/* An executor without a job for executor_idle_s is stopped: an idle worker keeps only its
 * small supervisor in memory (the lane's libraries, models and decoder caches go), and the
 * next job starts a fresh executor (mf_executor_submit), paying the lane's start-up once. */
static void mf__worker_idle(mf__worker *w, int64_t last_job_ms)
{
    pid_t pid = mf_executor_pid(w->ex);

    if (w->cfg->executor_idle_s <= 0 || pid <= 0 ||
        mf_clock_mono_ms() - last_job_ms < w->cfg->executor_idle_s * 1000)
        return;
    mf_log(MF_LOG_INFO,
           "executor=%ld idle_s=%lld msg=\"idle: executor stopped until the next job\"", (long)pid,
           (long long)w->cfg->executor_idle_s);
    mf_executor_stop(w->ex);
}

int mf__worker_run(const mf_lane *lane, const mf_config *cfg, mf_executor *ex)
{
    int64_t last_job_ms;
    char q[MF_ERR_MSG_MAX + 64];
    int rc, status = MF_EXIT_OK;
    mf__worker w;
    mf_job job;
    mf_err err;

    memset(&w, 0, sizeof(w));
    w.lane = lane;
    w.cfg = cfg;
    mf__worker_consumer(&w);
    w.started_ms = mf_clock_now_ms();
    w.o = (mf_queue_opts){.prefix = cfg->prefix,
                          .lane = lane->name,
                          .consumer = w.consumer,
                          .visibility_ms = cfg->visibility_timeout * 1000,
                          .max_attempts = cfg->max_attempts,
                          .max_crashes = MF_MAX_CRASHES,
                          .retry_backoff_ms = cfg->retry_backoff_ms,
                          .events_maxlen = cfg->events_maxlen};
    mf__signals_install();
    /* The executor is started first, while this process has no thread and no socket; a lane
     * whose init fails (bad config, missing model) stops the worker here. */
    w.ex = ex;
    rc = mf_executor_start(w.ex, &err);
    if (rc < 0) {
        mf_log_error(MF_LOG_ERROR, err.msg, "msg=\"lane init failed\"");
        status = MF_EXIT_FAILED;
        goto out;
    }
    rc = mf__worker_connect(&w, &err);
    if (rc < 0) {
        if (rc == MF_ECONFIG)
            mf_log(MF_LOG_ERROR, "msg=%s", mf_log_quote(q, sizeof(q), err.msg));
        status = rc == MF_ECONFIG ? MF_EXIT_USAGE : MF_EXIT_OK;
        goto out;
    }
    mf_log(MF_LOG_INFO, "consumer=%s msg=\"worker ready\"", w.consumer);
    /* The executor started above has proved that the lane initialises; if no job is waiting
     * it is stopped at the first idle check, so a worker without work is small from the
     * start (the first job pays the lane's start-up, 0.05-0.1 s). */
    last_job_ms = mf_clock_mono_ms() - cfg->executor_idle_s * 1000;
    while (!mf__stop) {
        memset(&job, 0, sizeof(job));
        mf__worker_beat(&w, 0);
        if (w.paused) {
            /* mfctl pause: nothing new is claimed; the beat tells when to resume */
            mf__worker_idle(&w, last_job_ms);
            mf__sleep_ms(MF__BEAT_MS);
            continue;
        }
        rc = mf_queue_claim(w.r, &w.o, MF__CLAIM_BLOCK_MS, &job, &err);
        if (rc == 1) {
            mf__worker_job(&w, &job);
            last_job_ms = mf_clock_mono_ms();
        }
        mf_job_close(&job);
        mf__worker_idle(&w, last_job_ms);
        if (rc < 0 && !mf__stop) {
            mf_log_error(MF_LOG_WARN, err.msg, "msg=\"claim failed\"");
            mf__sleep_ms(rc == MF_EREDIS ? 100 : 1000);
            mf__worker_connect(&w, &err); /* Redis restarted empty: the group is gone */
        }
    }
    mf_log(MF_LOG_INFO, "msg=\"drained, exiting\"");
    if (mf_queue_worker_gone(w.r, w.o.prefix, w.consumer, &err) < 0)
        mf_log_error(MF_LOG_DEBUG, err.msg, "msg=\"could not leave the registry\"");
out:
    mf_redis_free(w.r);
    return status;
}
