/* The fleet's status as JSON (queue.h mf_queue_status_json): what `mfctl status --json`
 * prints and the gateway serves at /api/status and turns into /metrics.
 *
 * Nothing here costs O(records): record totals come from the counters the state-changing
 * scripts keep in <prefix>stats (lua/prelude.lua), queue depths from the consumer group
 * (XINFO GROUPS: lag and pending), dead letters from XLEN, workers and running jobs from
 * the live registry the workers keep (<prefix>workers + one HASH per worker with a TTL).
 * Three pipelined round trips: counters, members and paused lanes; the workers' HASHes; the
 * lanes' streams and the running jobs' records. */
#include "mf/queue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mf/clock.h"
#include "mf/lanes.h"

#define MF__KEY_MAX 512
#define MF__LANE_MAX 32 /* lanes listed at most (contract lanes + extras) */
#define MF__LANE_NAME_MAX 32
#define MF__RUNNING_MAX 4096 /* running jobs listed at most */

static const char *const mf__statuses[] = {"queued", "processing", "done",
                                           "failed", "duplicate",  "unsupported"};
static const char *const mf__outcomes[] = {"done", "failed", "retried"};
static const char *const mf__disp_fields[] = {"files_seen", "files_recorded", "rescans",
                                              "inotify_overflows"};
#define MF__STALLED_MAX 100 /* stalled jobs listed per lane at most */
#define MF__N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct mf__lanes {
    char name[MF__LANE_MAX][MF__LANE_NAME_MAX];
    size_t n;
} mf__lanes;

static void mf__lanes_add(mf__lanes *l, const char *name, size_t len)
{
    if (len == 0 || len >= MF__LANE_NAME_MAX || l->n == MF__LANE_MAX)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (strncmp(l->name[i], name, len) == 0 && l->name[i][len] == '\0')
            return;
    }
    memcpy(l->name[l->n], name, len);
    l->name[l->n][len] = '\0';
    l->n++;
}

/* A field of a RESP2 flat map reply (name, value, name, value...). */
static const redisReply *mf__field(const redisReply *map, const char *name)
{
    if (map == NULL || map->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < map->elements; i += 2) {
        const redisReply *k = map->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return map->element[i + 1];
    }
    return NULL;
}

/* An integer reply or a decimal string; -1 for anything else (nil: Redis cannot tell). */
static long long mf__num(const redisReply *v)
{
    char *end = NULL;
    long long n;

    if (v != NULL && v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    if (v == NULL || v->type != REDIS_REPLY_STRING || v->len == 0)
        return -1;
    n = strtoll(v->str, &end, 10);
    return *end == '\0' ? n : -1;
}

static void mf__key(char *buf, size_t size, const char *prefix, const char *a, const char *b)
{
    snprintf(buf, size, "%s%s%s", prefix, a, b);
}

/* ---- pipelines: a status is three round trips, however many lanes and workers ---------- */

typedef struct mf__pipe {
    mf_redis *r;
    size_t n;          /* commands appended, replies not yet read */
    redisReply **reps; /* after mf__pipe_run: n replies (error replies included) */
} mf__pipe;

static int mf__pipe_add(mf__pipe *p, mf_err *err, const char *fmt, ...)
{
    redisContext *c = mf_redis_ctx(p->r);
    va_list ap;
    int rc = 0;

    if (c == NULL) {
        rc = mf_redis_ensure(p->r, NULL, err);
        c = mf_redis_ctx(p->r);
        if (rc < 0 || c == NULL)
            return rc < 0 ? rc : mf_err_set(err, MF_EREDIS, "redis is not connected");
    }
    va_start(ap, fmt);
    if (redisvAppendCommand(c, fmt, ap) != REDIS_OK)
        rc = mf_err_set(err, MF_EREDIS, "redis command failed: %s", c->errstr);
    va_end(ap);
    if (rc == 0)
        p->n++;
    return rc;
}

static void mf__pipe_clear(mf__pipe *p)
{
    for (size_t i = 0; p->reps != NULL && i < p->n; i++)
        freeReplyObject(p->reps[i]);
    free(p->reps);
    p->reps = NULL;
    p->n = 0;
}

/* Reads the replies of what was appended. On an I/O error the connection is marked broken
 * (the next command reconnects) and MF_EREDIS returned. */
static int mf__pipe_run(mf__pipe *p, mf_err *err)
{
    redisContext *c = mf_redis_ctx(p->r);
    int rc = 0;

    p->reps = calloc(p->n + 1, sizeof(*p->reps));
    if (p->reps == NULL)
        abort();
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        if (c == NULL || redisGetReply(c, (void **)&p->reps[i]) != REDIS_OK || !p->reps[i]) {
            rc = mf_err_set(err, MF_EREDIS, "redis read failed: %s",
                            c != NULL ? c->errstr : "not connected");
            mf_redis_mark_broken(p->r);
        }
    }
    if (rc < 0)
        mf__pipe_clear(p);
    return rc;
}

/* <prefix>stats as {field: integer}. */
static json_t *mf__stats_json(const redisReply *rep)
{
    json_t *stats = json_object();

    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        json_object_set_new(stats, rep->element[i]->str,
                            json_integer(mf__num(rep->element[i + 1])));
    return stats;
}

static long long mf__stat(const json_t *stats, const char *a, const char *b, const char *c)
{
    char name[MF__KEY_MAX];

    snprintf(name, sizeof(name), "%s%s%s", a, b, c);
    return (long long)json_integer_value(json_object_get(stats, name));
}

/* ISO-8601 UTC with or without milliseconds, or epoch ms digits -> epoch ms; -1 if neither. */
static int64_t mf__parse_time_ms(const char *s)
{
    struct tm tm;
    int ms = 0, n = 0;
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    v = strtoll(s, &end, 10);
    if (*end == '\0')
        return v;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (s[n] == '.')
        ms = (int)strtol(s + n + 1, NULL, 10) % 1000;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* One lane's queue figures from its XLEN dlq and XINFO GROUPS replies (an error reply: no
 * stream yet, nothing was ever queued on this lane). */
static void mf__status_queue(const redisReply *dlq, const redisReply *groups, json_t *o)
{
    const redisReply *group = NULL;
    long long lag;

    json_object_set_new(o, "queued", json_integer(0));
    json_object_set_new(o, "in_flight", json_integer(0));
    json_object_set_new(o, "dlq",
                        json_integer(dlq->type == REDIS_REPLY_INTEGER ? dlq->integer : 0));
    for (size_t i = 0; groups->type == REDIS_REPLY_ARRAY && i < groups->elements && !group; i++) {
        const redisReply *name = mf__field(groups->element[i], "name");
        if (name != NULL && name->type == REDIS_REPLY_STRING &&
            strcmp(name->str, MF_QUEUE_GROUP) == 0)
            group = groups->element[i];
    }
    if (group == NULL)
        return;
    lag = mf__num(mf__field(group, "lag"));
    json_object_set_new(o, "queued", lag >= 0 ? json_integer(lag) : json_null());
    json_object_set_new(o, "in_flight", json_integer(mf__num(mf__field(group, "pending"))));
}

/* The running job of a live worker w (its HASH reply), from its record's HMGET path progress
 * started_at eta_s reply. */
static void mf__status_running(const redisReply *w, const redisReply *rec, int64_t now_ms,
                               json_t *running)
{
    const redisReply *job = mf__field(w, "job"), *lane = mf__field(w, "lane");
    const redisReply *host = mf__field(w, "host"), *since = mf__field(w, "since");
    json_t *j;
    int64_t t0;
    long long progress;

    if (rec->type != REDIS_REPLY_ARRAY || rec->elements != 4 ||
        rec->element[0]->type != REDIS_REPLY_STRING)
        return; /* the record is gone: nothing to show */
    t0 = mf__parse_time_ms(since != NULL && since->type == REDIS_REPLY_STRING ? since->str : NULL);
    if (t0 < 0 && rec->element[2]->type == REDIS_REPLY_STRING)
        t0 = mf__parse_time_ms(rec->element[2]->str);
    progress = mf__num(rec->element[1]);
    j = json_object();
    json_object_set_new(j, "id", json_string(job->str));
    /* json_stringn() refuses a path that is not UTF-8: such a path is shown as null */
    json_object_set_new(j, "path", json_stringn(rec->element[0]->str, rec->element[0]->len));
    json_object_set_new(j, "lane", json_string(lane->str));
    json_object_set_new(j, "host",
                        host != NULL && host->type == REDIS_REPLY_STRING ? json_string(host->str)
                                                                         : json_null());
    json_object_set_new(j, "pid", json_integer(mf__num(mf__field(w, "pid"))));
    json_object_set_new(j, "elapsed_s",
                        t0 >= 0 ? json_real((double)(now_ms - t0) / 1000.0) : json_null());
    json_object_set_new(j, "progress", progress >= 0 ? json_integer(progress) : json_null());
    json_object_set_new(j, "eta_s",
                        mf__num(rec->element[3]) >= 0 ? json_integer(mf__num(rec->element[3]))
                                                      : json_null());
    json_array_append_new(running, j);
}

typedef struct mf__workers {
    json_t *per_lane;   /* lane -> count */
    json_t *lane_hosts; /* lane -> {host -> count} */
    json_t *live;       /* "<host>:<pid>" of every live worker -> true */
    json_t *hosts;      /* host -> count */
    json_t *running;
    long long total;
    const redisReply *busy[MF__RUNNING_MAX]; /* HASH replies of live workers with a job */
    size_t nbusy;
} mf__workers;

static void mf__count(json_t *o, const char *key)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + 1));
}

/* Live workers: members of <prefix>workers whose HASH still exists (it has a TTL). */
static void mf__status_workers(const redisReply *members, const redisReply *const *hashes, size_t n,
                               mf__lanes *lanes, mf__workers *ws)
{
    for (size_t i = 0; i < n; i++) {
        const redisReply *w = hashes[i], *lane, *host, *job;
        json_t *lh;

        if (w->type != REDIS_REPLY_ARRAY || w->elements == 0)
            continue; /* expired: a dead worker */
        if (i < members->elements && members->element[i]->type == REDIS_REPLY_STRING)
            json_object_set_new(ws->live, members->element[i]->str, json_true());
        lane = mf__field(w, "lane");
        host = mf__field(w, "host");
        job = mf__field(w, "job");
        ws->total++;
        mf__count(ws->hosts, host != NULL && host->type == REDIS_REPLY_STRING ? host->str : "?");
        if (lane == NULL || lane->type != REDIS_REPLY_STRING)
            continue;
        mf__lanes_add(lanes, lane->str, lane->len);
        mf__count(ws->per_lane, lane->str);
        lh = json_object_get(ws->lane_hosts, lane->str);
        if (lh == NULL) {
            lh = json_object();
            json_object_set_new(ws->lane_hosts, lane->str, lh);
        }
        mf__count(lh, host != NULL && host->type == REDIS_REPLY_STRING ? host->str : "?");
        if (job != NULL && job->type == REDIS_REPLY_STRING && job->len > 0 &&
            job->len < MF__KEY_MAX / 2 && ws->nbusy < MF__RUNNING_MAX)
            ws->busy[ws->nbusy++] = w;
    }
}

static void mf__status_paused(const redisReply *rep, mf__lanes *lanes, json_t *paused)
{
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        mf__lanes_add(lanes, rep->element[i]->str, rep->element[i]->len);
        json_object_set_new(paused, rep->element[i]->str, json_true());
    }
}

/* Lanes named by the records counters (records:<lane>:<status>), "other" excepted. */
static void mf__lanes_from_stats(mf__lanes *lanes, const json_t *stats)
{
    const char *name;
    json_t *v;

    json_object_foreach((json_t *)stats, name, v)
    {
        const char *lane = name + strlen("records:"), *colon;

        if (strncmp(name, "records:", strlen("records:")) != 0)
            continue;
        colon = strchr(lane, ':');
        if (colon != NULL && strncmp(lane, "other:", 6) != 0)
            mf__lanes_add(lanes, lane, (size_t)(colon - lane));
    }
}

static json_t *mf__status_lane(const char *lane, const json_t *stats, const mf__workers *ws,
                               const json_t *paused, json_t *totals)
{
    json_t *o = json_object(), *recs = json_object(), *fin = json_object();
    json_t *hosts = json_object_get(ws->lane_hosts, lane);

    json_object_set_new(o, "lane", json_string(lane));
    json_object_set_new(o, "workers",
                        json_integer(json_integer_value(json_object_get(ws->per_lane, lane))));
    json_object_set_new(o, "paused", json_boolean(json_object_get(paused, lane) != NULL));
    json_object_set_new(o, "hosts", hosts != NULL ? json_incref(hosts) : json_object());
    for (size_t k = 0; k < MF__N(mf__statuses); k++) {
        char name[MF__LANE_NAME_MAX * 2];
        long long n;

        snprintf(name, sizeof(name), "%s:%s", lane, mf__statuses[k]);
        n = mf__stat(stats, "records:", name, "");
        json_object_set_new(recs, mf__statuses[k], json_integer(n));
        json_object_set_new(
            totals, mf__statuses[k],
            json_integer(json_integer_value(json_object_get(totals, mf__statuses[k])) + n));
    }
    for (size_t k = 0; k < MF__N(mf__outcomes); k++) {
        char name[MF__LANE_NAME_MAX * 2];

        snprintf(name, sizeof(name), "%s:%s", lane, mf__outcomes[k]);
        json_object_set_new(fin, mf__outcomes[k],
                            json_integer(mf__stat(stats, "finished:", name, "")));
    }
    json_object_set_new(o, "records", recs);
    json_object_set_new(o, "finished", fin);
    return o;
}

/* Records of type "other" (unsupported files) count in the totals, in no lane. */
static void mf__status_totals(const json_t *stats, json_t *totals)
{
    long long total = 0;

    for (size_t k = 0; k < MF__N(mf__statuses); k++) {
        char name[MF__KEY_MAX];
        long long n;

        snprintf(name, sizeof(name), "records:other:%s", mf__statuses[k]);
        n = (long long)json_integer_value(json_object_get(stats, name));
        n += (long long)json_integer_value(json_object_get(totals, mf__statuses[k]));
        json_object_set_new(totals, mf__statuses[k], json_integer(n));
        total += n;
    }
    json_object_set_new(totals, "total", json_integer(total));
}

/* Round 1: counters, registry members, paused lanes. */
static int mf__round1(mf__pipe *p, const char *prefix, mf_err *err)
{
    int rc = mf__pipe_add(p, err, "HGETALL %sstats", prefix);

    if (rc == 0)
        rc = mf__pipe_add(p, err, "ZRANGE %sworkers 0 -1", prefix);
    if (rc == 0)
        rc = mf__pipe_add(p, err, "SMEMBERS %spaused", prefix);
    if (rc == 0)
        rc = mf__pipe_run(p, err);
    return rc;
}

/* Round 2: every registered worker's HASH. */
static int mf__round2(mf__pipe *p, const char *prefix, const redisReply *members, mf_err *err)
{
    int rc = 0;

    for (size_t i = 0; members->type == REDIS_REPLY_ARRAY && i < members->elements && rc == 0; i++)
        rc = mf__pipe_add(p, err, "HGETALL %sworker:%b", prefix, members->element[i]->str,
                          (size_t)members->element[i]->len);
    if (rc == 0)
        rc = mf__pipe_run(p, err);
    return rc;
}

/* Round 3: per lane XLEN dlq and XINFO GROUPS; per running job its record. */
static int mf__round3(mf__pipe *p, const char *prefix, const mf__lanes *lanes,
                      const mf__workers *ws, mf_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < lanes->n && rc == 0; i++) {
        rc = mf__pipe_add(p, err, "XLEN %sdlq:%s", prefix, lanes->name[i]);
        if (rc == 0)
            rc = mf__pipe_add(p, err, "XINFO GROUPS %sq:%s", prefix, lanes->name[i]);
    }
    for (size_t i = 0; i < ws->nbusy && rc == 0; i++) {
        const redisReply *job = mf__field(ws->busy[i], "job");
        rc = mf__pipe_add(p, err, "HMGET %sfile:%b path progress started_at eta_s", prefix,
                          job->str, (size_t)job->len);
    }
    if (rc == 0)
        rc = mf__pipe_run(p, err);
    return rc;
}

/* Round 4: per lane the pending entries (at most MF__STALLED_MAX, oldest first). */
static int mf__round4(mf__pipe *p, const char *prefix, const mf__lanes *lanes, mf_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < lanes->n && rc == 0; i++)
        rc = mf__pipe_add(p, err, "XPENDING %sq:%s %s - + %d", prefix, lanes->name[i],
                          MF_QUEUE_GROUP, MF__STALLED_MAX);
    if (rc == 0)
        rc = mf__pipe_run(p, err);
    return rc;
}

/* Stalled: pending entries whose consumer has no heartbeat (its worker was killed, its host is
 * gone, or it handed the job back); another worker reclaims them once idle for the visibility
 * timeout. Fills stalled with {lane entry worker idle_s deliveries}; the ids come from round 5.
 * Returns how many. */
static size_t mf__status_stalled(const mf__lanes *lanes, const mf__pipe *p4, const mf__workers *ws,
                                 json_t *stalled)
{
    for (size_t i = 0; i < lanes->n && i < p4->n; i++) {
        const redisReply *pend = p4->reps[i];

        for (size_t k = 0; pend->type == REDIS_REPLY_ARRAY && k < pend->elements; k++) {
            const redisReply *e = pend->element[k];
            json_t *j;

            if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
                e->element[1]->type != REDIS_REPLY_STRING ||
                json_object_get(ws->live, e->element[1]->str) != NULL)
                continue;
            j = json_object();
            json_object_set_new(j, "lane", json_string(lanes->name[i]));
            json_object_set_new(j, "entry", json_string(e->element[0]->str));
            json_object_set_new(j, "worker", json_stringn(e->element[1]->str, e->element[1]->len));
            json_object_set_new(j, "idle_s", json_real((double)mf__num(e->element[2]) / 1000.0));
            json_object_set_new(j, "deliveries", json_integer(mf__num(e->element[3])));
            json_array_append_new(stalled, j);
        }
    }
    return json_array_size(stalled);
}

/* Round 5: the stalled entries' record ids (XRANGE entry entry), put into stalled. */
static int mf__round5(mf__pipe *p, const char *prefix, json_t *stalled, mf_err *err)
{
    size_t i;
    json_t *j;
    int rc = 0;

    json_array_foreach(stalled, i, j)
    {
        const char *e = json_string_value(json_object_get(j, "entry"));

        rc = mf__pipe_add(p, err, "XRANGE %sq:%s %s %s", prefix,
                          json_string_value(json_object_get(j, "lane")), e, e);
        if (rc < 0)
            return rc;
    }
    rc = mf__pipe_run(p, err);
    json_array_foreach(stalled, i, j)
    {
        const redisReply *r = rc == 0 && i < p->n ? p->reps[i] : NULL, *id = NULL;

        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->elements == 2)
            id = mf__field(r->element[0]->element[1], "id");
        json_object_set_new(j, "id",
                            id != NULL && id->type == REDIS_REPLY_STRING
                                ? json_stringn(id->str, id->len)
                                : json_null());
    }
    return rc;
}

static json_t *mf__status_build(const mf__lanes *lanes, const json_t *stats, mf__workers *ws,
                                const json_t *paused, const mf__pipe *p3)
{
    json_t *o = json_object(), *arr = json_array(), *totals = json_object();
    json_t *disp = json_object(), *wo = json_object();
    int64_t now_ms = mf_clock_now_ms();
    char now[MF_ISO_TIME_LEN];

    for (size_t i = 0; i < lanes->n; i++) {
        json_t *l = mf__status_lane(lanes->name[i], stats, ws, paused, totals);

        mf__status_queue(p3->reps[2 * i], p3->reps[2 * i + 1], l);
        json_array_append_new(arr, l);
    }
    for (size_t i = 0; i < ws->nbusy; i++)
        mf__status_running(ws->busy[i], p3->reps[2 * lanes->n + i], now_ms, ws->running);
    mf__status_totals(stats, totals);
    for (size_t k = 0; k < MF__N(mf__disp_fields); k++)
        json_object_set_new(disp, mf__disp_fields[k],
                            json_integer(mf__stat(stats, "dispatcher:", mf__disp_fields[k], "")));
    json_object_set_new(o, "time", json_string(mf_clock_iso(now_ms, now, sizeof(now))));
    json_object_set_new(o, "lanes", arr);
    json_object_set_new(wo, "total", json_integer(ws->total));
    json_object_set(wo, "hosts", ws->hosts);
    json_object_set_new(o, "workers", wo);
    json_object_set_new(o, "totals", totals);
    json_object_set(o, "running", ws->running);
    json_object_set_new(o, "dispatcher", disp);
    return o;
}

int mf_queue_status_json(mf_redis *r, const char *prefix, json_t **out, json_t **stats_out,
                         mf_err *err)
{
    mf__pipe p1 = {r, 0, NULL}, p2 = {r, 0, NULL}, p3 = {r, 0, NULL}, p4 = {r, 0, NULL};
    mf__pipe p5 = {r, 0, NULL};
    json_t *stalled = json_array();
    mf__lanes lanes;
    mf__workers ws = {
        json_object(), json_object(), json_object(), json_object(), json_array(), 0, {NULL}, 0};
    json_t *stats = NULL, *paused = json_object();
    int rc;

    *out = NULL;
    memset(&lanes, 0, sizeof(lanes));
    for (size_t i = 0; i < mf_lanes_n; i++)
        mf__lanes_add(&lanes, mf_lanes[i].name, strlen(mf_lanes[i].name));
    rc = mf__round1(&p1, prefix, err);
    if (rc == MF_EREDIS) /* a connection that broke since its last use: once more, reconnected */
        rc = mf__round1(&p1, prefix, err);
    if (rc < 0)
        goto out;
    stats = mf__stats_json(p1.reps[0]);
    mf__status_paused(p1.reps[2], &lanes, paused);
    rc = mf__round2(&p2, prefix, p1.reps[1], err);
    if (rc < 0)
        goto out;
    mf__status_workers(p1.reps[1], (const redisReply *const *)p2.reps, p2.n, &lanes, &ws);
    mf__lanes_from_stats(&lanes, stats);
    rc = mf__round3(&p3, prefix, &lanes, &ws, err);
    if (rc < 0)
        goto out;
    rc = mf__round4(&p4, prefix, &lanes, err);
    if (rc == 0 && mf__status_stalled(&lanes, &p4, &ws, stalled) > 0)
        rc = mf__round5(&p5, prefix, stalled, err);
    if (rc < 0)
        goto out;
    *out = mf__status_build(&lanes, stats, &ws, paused, &p3);
    json_object_set(*out, "stalled", stalled);
    if (stats_out != NULL) {
        *stats_out = stats;
        stats = NULL;
    }
out:
    mf__pipe_clear(&p1);
    mf__pipe_clear(&p2);
    mf__pipe_clear(&p3);
    mf__pipe_clear(&p4);
    mf__pipe_clear(&p5);
    json_decref(stalled);
    json_decref(stats);
    json_decref(paused);
    json_decref(ws.per_lane);
    json_decref(ws.lane_hosts);
    json_decref(ws.live);
    json_decref(ws.hosts);
    json_decref(ws.running);
    return rc;
}

int mf_queue_stat_incr(mf_redis *r, const char *prefix, const char *field, long long by,
                       mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    mf__key(key, sizeof(key), prefix, "stats", "");
    rc = mf_redis_cmd(r, &rep, err, "HINCRBY %s %s %lld", key, field, by);
    freeReplyObject(rep);
    return rc;
}
