/* Steering a running `mfctl up` (up.c starts the fleet, this keeps it shaped): once a second
 * it says it is alive (<prefix>host:<host>); four times a second it reads the host's plan
 * (<prefix>plan:<host>, what `mfctl scale` writes) and reload counter (<prefix>reload:<host>)
 * and lets the backlog planner (mf_ctl_plan_balance) move worker slots between the auto
 * lanes (a dozen small commands: the lanes' XLEN, the paused set, the duration counters). Then it
 * makes the processes match: workers are started at once, surplus ones retired (drain: finish
 * the job; the planner retires only idle ones), and a reload replaces every process, one at a
 * time, the new one first.
 *
 * Redis being away is never fatal here: the fleet keeps its shape and tries again next tick. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/lanes.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mfctl.h"

#define MF__STEER_TICK_MS 250    /* plan and reload counter: a scale acts well within 2 s */
#define MF__STEER_BEAT_MS 1000   /* the host's registry entry */
#define MF__STEER_AUTO_MS 250    /* the backlog planner: a backlog gets its workers within 0.25 s */
#define MF__STEER_LOWER_TICKS 24 /* a lower auto count must hold this many plans (6 s) */
#define MF__STEER_HOST_TTL_MS 5000
#define MF__STEER_READY_MS 15000 /* a replacement not ready by then: the old one goes anyway */

static void mf__steer_log_err(const char *what, const mf_err *err)
{

    mf_log_error(MF_LOG_DEBUG, err->msg, "msg=\"%s\"", what);
}

/* The connection, made (again) when needed. Returns 0 or MF_EREDIS. */
static int mf__steer_redis(mf_ctl_steer *st, mf_err *err)
{
    if (st->r != NULL)
        return mf_redis_ensure(st->r, NULL, err);
    return mf_redis_new(&st->r, st->url, err);
}

/* argv of a fleet process: exe, mfctl's config flags, --redis-url=<the one in use>. */
mf_ctl_child *mf_ctl_steer_add(mf_ctl_steer *st, const char *name, const char *lane,
                               const char *exe)
{
    const mf_ctl *ctx = st->ctx;
    char url_flag[PATH_MAX + 32];
    const char **argv = calloc((size_t)ctx->nfwd + 3, sizeof(char *));
    mf_ctl_child *c;
    int n = 0;

    if (argv == NULL)
        abort();
    snprintf(url_flag, sizeof(url_flag), "--redis-url=%s", st->url);
    argv[n++] = exe;
    for (int i = 0; i < ctx->nfwd; i++)
        argv[n++] = ctx->fwd[i];
    argv[n++] = url_flag;
    argv[n] = NULL;
    c = mf_ctl_fleet_add(st->fleet, name, argv, 0);
    snprintf(c->lane, sizeof(c->lane), "%s", lane != NULL ? lane : "");
    c->gen = st->gen;
    free(argv);
    return c;
}

/* Starts one more worker of lane i. Returns 0, or -ENOENT when its binary is missing. */
static int mf__steer_spawn(mf_ctl_steer *st, size_t i)
{
    const char *lane = mf_lanes[i].name;
    char exe[PATH_MAX], bin[64], name[40];
    mf_ctl_child *c;
    mf_err err;

    snprintf(bin, sizeof(bin), "mf-worker-%s", lane);
    if (mf_ctl_find_exe(bin, exe, sizeof(exe)) < 0) {
        if (!st->missing[i])
            mf_log(MF_LOG_WARN,
                   "lane=%s msg=\"%s not found next to mfctl or on PATH: no %s workers; its "
                   "jobs wait in %sq:%s\"",
                   lane, bin, lane, st->ctx->cfg.prefix, lane);
        st->missing[i] = 1;
        return -ENOENT;
    }
    snprintf(name, sizeof(name), "worker-%s/%u", lane, ++st->seq[i]);
    c = mf_ctl_steer_add(st, name, lane, exe);
    if (mf_ctl_fleet_spawn(c, &err) < 0) {
        /* scheduled like a crash: the supervisor tries again after the back-off */
        c->restart_at_ms = mf_clock_mono_ms() + mf_ctl_backoff(&c->backoff_ms, 0);
        mf__steer_log_err("spawn failed", &err);
    }
    return 0;
}

/* 1 when the worker process pid has a job by the registry; 0 idle or unknown. */
static int mf__steer_busy(mf_ctl_steer *st, pid_t pid)
{
    char key[512];
    redisReply *rep = NULL;
    mf_err err;
    int busy = 0;

    if (st->r == NULL)
        return 0;
    snprintf(key, sizeof(key), "%sworker:%s:%ld", st->ctx->cfg.prefix, st->host, (long)pid);
    if (mf_redis_cmd(st->r, &rep, &err, "HGET %s job", key) == 0 &&
        rep->type == REDIS_REPLY_STRING && rep->len > 0)
        busy = 1;
    freeReplyObject(rep);
    return busy;
}

/* Retires up to n workers of the lane, idle ones first; busy ones only when idle_only is 0
 * (they finish their job first). Returns how many. */
static int mf__steer_retire(mf_ctl_steer *st, const char *lane, int n, int idle_only)
{
    int done = 0;

    for (int pass = 0; pass < 2 && done < n; pass++) {
        for (size_t k = st->fleet->n; k > 0 && done < n; k--) {
            mf_ctl_child *c = &st->fleet->kids[k - 1];

            if (c->retiring || strcmp(c->lane, lane) != 0)
                continue;
            if (pass == 0 && c->pid != 0 && mf__steer_busy(st, c->pid))
                continue;
            if (pass == 1 && idle_only)
                break;
            mf_ctl_fleet_retire(st->fleet, c, st->fleet->grace_ms);
            done++;
        }
    }
    return done;
}

/* The host's overrides (mfctl scale): st->scaled[i] = count, or -1 for none. */
static int mf__steer_read_plan(mf_ctl_steer *st, mf_err *err)
{
    char key[512];
    redisReply *rep = NULL;
    int rc;

    snprintf(key, sizeof(key), "%splan:%s", st->ctx->cfg.prefix, st->host);
    rc = mf_redis_cmd(st->r, &rep, err, "HGETALL %s", key);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < mf_lanes_n; i++)
        st->scaled[i] = -1;
    for (size_t k = 0; rep->type == REDIS_REPLY_ARRAY && k + 1 < rep->elements; k += 2) {
        const redisReply *f = rep->element[k], *v = rep->element[k + 1];
        const mf_lane_info *l =
            f->type == REDIS_REPLY_STRING ? mf_lanes_find(f->str, f->len) : NULL;
        long n = v->type == REDIS_REPLY_STRING ? strtol(v->str, NULL, 10) : -1;

        if (l != NULL && n >= 0 && n <= MF_CTL_PLAN_MAX_WORKERS)
            st->scaled[l - mf_lanes] = (int)n;
    }
out:
    freeReplyObject(rep);
    return rc;
}

/* Backlog per lane: a lane stream holds exactly the jobs not yet acknowledged (an ack deletes
 * its entry), so XLEN is waiting + in flight. A paused lane has no backlog to give cores to. */
static int mf__steer_backlog(mf_ctl_steer *st, long long *backlog, mf_err *err)
{
    char key[512];
    redisReply *rep = NULL;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < mf_lanes_n; i++) {
        snprintf(key, sizeof(key), "%sq:%s", st->ctx->cfg.prefix, mf_lanes[i].name);
        rc = mf_redis_cmd(st->r, &rep, err, "XLEN %s", key);
        backlog[i] = rc == 0 && rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        freeReplyObject(rep);
        rep = NULL;
        snprintf(key, sizeof(key), "%spaused", st->ctx->cfg.prefix);
        if (rc == 0)
            rc = mf_redis_cmd(st->r, &rep, err, "SISMEMBER %s %s", key, mf_lanes[i].name);
        if (rc == 0 && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1)
            backlog[i] = 0;
        freeReplyObject(rep);
        rep = NULL;
    }
    return rc;
}

/* What one job of each lane costs, in milliseconds: the mean of the lane's finished jobs
 * (duration counters in <prefix>stats, kept by done.lua and fail.lua), with the registry's
 * typical job counted as one more so a lane's first job, which also pays its executor's
 * start-up, does not decide alone. Unreadable counters leave the typical job. */
static void mf__steer_job_ms(mf_ctl_steer *st, double *job_ms)
{
    const char *argv[2 + 2 * MF_LANE_COUNT];
    char fields[2 * MF_LANE_COUNT][64], key[512];
    redisReply *rep = NULL;
    size_t k = 0;
    mf_err err;

    snprintf(key, sizeof(key), "%sstats", st->ctx->cfg.prefix);
    argv[k++] = "HMGET";
    argv[k++] = key;
    for (size_t i = 0; i < mf_lanes_n; i++) {
        job_ms[i] = mf_lanes[i].job_ms;
        snprintf(fields[2 * i], sizeof(fields[0]), "duration:%s:sum_ms", mf_lanes[i].name);
        snprintf(fields[2 * i + 1], sizeof(fields[0]), "duration:%s:count", mf_lanes[i].name);
        argv[k++] = fields[2 * i];
        argv[k++] = fields[2 * i + 1];
    }
    if (mf_redis_cmdargv(st->r, &rep, &err, (int)k, argv, NULL) == 0 &&
        rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 * mf_lanes_n) {
        for (size_t i = 0; i < mf_lanes_n; i++) {
            const redisReply *sum = rep->element[2 * i], *n = rep->element[2 * i + 1];
            double s = sum->type == REDIS_REPLY_STRING ? strtod(sum->str, NULL) : 0;
            double c = n->type == REDIS_REPLY_STRING ? strtod(n->str, NULL) : 0;

            if (s >= 0 && c >= 1)
                job_ms[i] = (s + mf_lanes[i].job_ms) / (c + 1);
        }
    }
    freeReplyObject(rep);
}

/* The configured count of lane i: -2 when the config says auto for it, else its count (0 for a
 * lane the plan leaves out). */
static int mf__steer_config_count(const mf_ctl_steer *st, size_t i)
{
    for (size_t k = 0; k < st->plan.n; k++) {
        if (strcmp(st->plan.lanes[k].lane, mf_lanes[i].name) == 0)
            return st->plan.lanes[k].from_auto ? -2 : st->plan.lanes[k].count;
    }
    return 0;
}

/* The backlog planner: new targets for the auto lanes, with hysteresis (a rise applies at
 * once, a fall only after MF__STEER_LOWER_TICKS plans in a row agree). */
static void mf__steer_auto(mf_ctl_steer *st)
{
    mf_ctl_balance_in in = {.n = mf_lanes_n,
                            .cpus = mf_ctl_cpus(),
                            .workers_min = (int)st->ctx->cfg.workers_min,
                            .workers_max = (int)st->ctx->cfg.workers_max};
    int out[MF_CTL_PLAN_MAX_LANES], best, changed = 0;
    char line[256], reason[128];
    size_t len = 0;
    mf_err err;

    if (mf__steer_backlog(st, in.backlog, &err) < 0) {
        mf__steer_log_err("backlog not readable", &err);
        return;
    }
    mf__steer_job_ms(st, in.job_ms);
    for (size_t i = 0; i < mf_lanes_n; i++) {
        int cfg = mf__steer_config_count(st, i);

        in.is_auto[i] = st->scaled[i] < 0 && cfg == -2;
        in.fixed[i] = st->scaled[i] >= 0 ? st->scaled[i] : cfg < 0 ? 0 : cfg;
    }
    best = mf_ctl_plan_balance(&in, out);
    for (size_t i = 0; i < mf_lanes_n; i++) {
        if (!in.is_auto[i] || out[i] == st->target[i]) {
            st->lower[i] = 0;
            continue;
        }
        if (out[i] < st->target[i] && ++st->lower[i] < MF__STEER_LOWER_TICKS)
            continue;
        st->target[i] = out[i];
        st->lower[i] = 0;
        changed = 1;
    }
    if (!changed)
        return;
    for (size_t i = 0; i < mf_lanes_n; i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s=%d", i ? " " : "",
                                mf_lanes[i].name, st->target[i]);
    if (best >= 0)
        snprintf(reason, sizeof(reason), "%s backlog %lld, %.1f s of work", mf_lanes[best].name,
                 in.backlog[best], (double)in.backlog[best] * in.job_ms[best] / 1000);
    else
        snprintf(reason, sizeof(reason), "no backlog");
    mf_log(MF_LOG_INFO, "msg=\"plan %s\" reason=\"%s\"", line, reason);
}

/* Targets of the lanes that are not auto: scale override, else the configured count. */
static void mf__steer_fixed(mf_ctl_steer *st)
{
    for (size_t i = 0; i < mf_lanes_n; i++) {
        int cfg = mf__steer_config_count(st, i);

        if (st->scaled[i] >= 0)
            st->target[i] = st->scaled[i];
        else if (cfg >= 0)
            st->target[i] = cfg;
        else if (st->target[i] < 0)
            st->target[i] = (int)st->ctx->cfg.workers_min; /* auto, before the first plan */
    }
}

/* Starts or retires workers until every lane has its target. */
static void mf__steer_apply(mf_ctl_steer *st)
{
    for (size_t i = 0; i < mf_lanes_n; i++) {
        const char *lane = mf_lanes[i].name;
        int have = mf_ctl_fleet_count(st->fleet, lane), want = st->target[i];
        int is_auto = st->scaled[i] < 0 && mf__steer_config_count(st, i) == -2;

        if (want < 0)
            continue;
        while (have < want && mf__steer_spawn(st, i) == 0)
            have++;
        /* the planner retires only workers between jobs; mfctl scale also busy ones, which
         * finish (or hand back) their job first */
        if (have > want)
            mf__steer_retire(st, lane, have - want, is_auto);
    }
}

/* mfctl up's own registry entry: what `mfctl reload` and `status` look for. */
static void mf__steer_beat(mf_ctl_steer *st)
{
    char key[512], plan[256], started[MF_ISO_TIME_LEN];
    redisReply *rep = NULL;
    size_t len = 0;
    mf_err err;
    int rc;

    for (size_t i = 0; i < mf_lanes_n; i++)
        len += (size_t)snprintf(plan + len, sizeof(plan) - len, "%s%s=%d", i ? "," : "",
                                mf_lanes[i].name, st->target[i] < 0 ? 0 : st->target[i]);
    snprintf(key, sizeof(key), "%shost:%s", st->ctx->cfg.prefix, st->host);
    mf_clock_iso(st->started_ms, started, sizeof(started));
    rc = mf_redis_cmd(st->r, &rep, &err,
                      "HSET %s pid %ld started_at %s plan %s generation %u beat_ms %lld", key,
                      (long)getpid(), started, plan, st->gen, (long long)mf_clock_now_ms());
    freeReplyObject(rep);
    rep = NULL;
    if (rc == 0)
        rc = mf_redis_cmd(st->r, &rep, &err, "PEXPIRE %s %d", key, MF__STEER_HOST_TTL_MS);
    freeReplyObject(rep);
    if (rc < 0)
        mf__steer_log_err("host beat failed", &err);
}

/* `mfctl reload` bumps <prefix>reload:<host>: a new value (after the first read) reloads. */
static void mf__steer_reload_counter(mf_ctl_steer *st)
{
    char key[512];
    redisReply *rep = NULL;
    long long v = 0;
    mf_err err;

    snprintf(key, sizeof(key), "%sreload:%s", st->ctx->cfg.prefix, st->host);
    if (mf_redis_cmd(st->r, &rep, &err, "GET %s", key) < 0)
        goto out;
    if (rep->type == REDIS_REPLY_STRING)
        v = strtoll(rep->str, NULL, 10);
    if (st->reload_seen_ok && v != st->reload_seen)
        mf_ctl_steer_reload(st);
    st->reload_seen = v;
    st->reload_seen_ok = 1;
out:
    freeReplyObject(rep);
}

static mf_ctl_child *mf__steer_child(mf_ctl_steer *st, unsigned id)
{
    for (size_t k = 0; id != 0 && k < st->fleet->n; k++) {
        if (st->fleet->kids[k].id == id)
            return &st->fleet->kids[k];
    }
    return NULL;
}

/* The replacement is ready: a worker once it is in the live registry (its executor started and
 * Redis answered), the dispatcher once it ran a second; or MF__STEER_READY_MS passed. */
static int mf__steer_ready(mf_ctl_steer *st, const mf_ctl_child *c)
{
    int64_t ran = mf_clock_mono_ms() - c->started_ms;
    char key[512];
    redisReply *rep = NULL;
    mf_err err;
    int ready;

    if (c->pid == 0 || ran >= MF__STEER_READY_MS)
        return ran >= MF__STEER_READY_MS;
    if (c->lane[0] == '\0' || st->r == NULL)
        return ran >= 1000;
    snprintf(key, sizeof(key), "%sworker:%s:%ld", st->ctx->cfg.prefix, st->host, (long)c->pid);
    ready = mf_redis_cmd(st->r, &rep, &err, "EXISTS %s", key) == 0 &&
            rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return ready;
}

/* One process of the old generation at a time: its replacement starts, and once it is ready
 * the old one retires (finishes or hands back its job); the next waits until it exited. */
static void mf__steer_reload_step(mf_ctl_steer *st)
{
    mf_ctl_child *old = NULL, *c;
    char exe[PATH_MAX], name[40], lane[MF_CTL_LANE_NAME_MAX];
    mf_err err;

    if (!st->reloading)
        return;
    c = mf__steer_child(st, st->reload_new);
    old = mf__steer_child(st, st->reload_wait);
    if (old != NULL && !old->retiring) {
        if (c != NULL && !mf__steer_ready(st, c))
            return;
        mf_ctl_fleet_retire(st->fleet, old, st->fleet->grace_ms);
        return;
    }
    if (old != NULL)
        return; /* retiring: wait until it exited */
    for (size_t k = 0; old == NULL && k < st->fleet->n; k++) {
        c = &st->fleet->kids[k];
        if (!c->store && !c->retiring && c->gen < st->gen)
            old = c;
    }
    if (old == NULL) {
        st->reloading = 0;
        mf_log(MF_LOG_INFO, "generation=%u msg=\"reload done: every process replaced\"", st->gen);
        return;
    }
    snprintf(exe, sizeof(exe), "%s", old->argv[0]);
    snprintf(name, sizeof(name), "%s", old->name);
    snprintf(lane, sizeof(lane), "%s", old->lane);
    st->reload_wait = old->id;
    c = mf_ctl_steer_add(st, name, lane, exe); /* old may move: nothing of it is used below */
    st->reload_new = c->id;
    if (mf_ctl_fleet_spawn(c, &err) < 0) {
        c->restart_at_ms = mf_clock_mono_ms() + mf_ctl_backoff(&c->backoff_ms, 0);
        mf__steer_log_err("spawn failed", &err);
    }
}

void mf_ctl_steer_reload(mf_ctl_steer *st)
{
    mf_config cfg;
    mf_ctl_plan plan;
    char *argv[MF_CTL_FWD_MAX + 2];
    int argc = 0;
    mf_err err;

    /* the configuration as mfctl read it at start: INI (MF_CONFIG), environment, its flags */
    argv[argc++] = (char *)"mfctl";
    for (int i = 0; i < st->ctx->nfwd && argc < MF_CTL_FWD_MAX; i++)
        argv[argc++] = st->ctx->fwd[i];
    argv[argc] = NULL;
    memset(&cfg, 0, sizeof(cfg));
    if (mf_config_load(&cfg, NULL, &argc, argv, &err) < 0 ||
        mf_ctl_plan_parse(cfg.workers, &plan, &err) < 0) {

        mf_log_error(MF_LOG_ERROR, err.msg, "msg=\"reload refused: the configuration is invalid\"");
        mf_config_close(&cfg);
        return;
    }
    mf_config_close(&st->ctx->cfg);
    st->ctx->cfg = cfg;
    st->plan = plan;
    st->gen++;
    st->reloading = 1;
    st->reload_wait = st->reload_new = 0;
    mf_log(MF_LOG_INFO,
           "generation=%u msg=\"reload: configuration read again; replacing every process, one "
           "at a time\"",
           st->gen);
}

int mf_ctl_steer_init(mf_ctl_steer *st, mf_ctl *ctx, mf_ctl_fleet *fleet, const char *url,
                      mf_err *err)
{
    memset(st, 0, sizeof(*st));
    st->ctx = ctx;
    st->fleet = fleet;
    snprintf(st->url, sizeof(st->url), "%s", url);
    if (gethostname(st->host, sizeof(st->host)) < 0)
        snprintf(st->host, sizeof(st->host), "localhost");
    st->host[sizeof(st->host) - 1] = '\0';
    st->started_ms = mf_clock_now_ms();
    for (size_t i = 0; i < mf_lanes_n; i++) {
        st->scaled[i] = -1;
        st->target[i] = -1;
    }
    return mf_ctl_plan_parse(ctx->cfg.workers, &st->plan, err);
}

void mf_ctl_steer_tick(mf_ctl_steer *st)
{
    int64_t now = mf_clock_mono_ms();
    mf_err err;

    if (now < st->next_tick_ms)
        return;
    st->next_tick_ms = now + MF__STEER_TICK_MS;
    if (mf__steer_redis(st, &err) == 0 && mf__steer_read_plan(st, &err) == 0) {
        mf__steer_reload_counter(st);
        if (now >= st->next_auto_ms) {
            st->next_auto_ms = now + MF__STEER_AUTO_MS;
            mf__steer_auto(st);
        }
    } else {
        mf__steer_log_err("plan not readable; keeping the current one", &err);
    }
    mf__steer_fixed(st);
    mf__steer_apply(st);
    mf__steer_reload_step(st);
    if (st->r != NULL && now >= st->next_beat_ms) {
        st->next_beat_ms = now + MF__STEER_BEAT_MS;
        mf__steer_beat(st);
    }
}

void mf_ctl_steer_close(mf_ctl_steer *st)
{
    char key[512];
    redisReply *rep = NULL;
    mf_err err;

    if (st->r != NULL) {
        snprintf(key, sizeof(key), "%shost:%s", st->ctx->cfg.prefix, st->host);
        if (mf_redis_cmd(st->r, &rep, &err, "DEL %s", key) == 0)
            freeReplyObject(rep);
    }
    mf_redis_free(st->r);
    st->r = NULL;
}
