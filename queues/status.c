/* The fleet's status as JSON (queue.h mf_queue_status_json): what `mfctl status --json`
 * prints and the gateway serves at /api/status and turns into /metrics.
 *
 * Nothing here costs O(records): record totals come from the counters the state-changing
 * scripts keep in <prefix>stats (lua/prelude.lua), queue depths from the consumer group
 * (XINFO GROUPS: lag and pending), dead letters from XLEN, workers and running jobs from
 * the live registry the workers keep (<prefix>workers + one HASH per worker with a TTL). */
#include "mf/queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mf/clock.h"
#include "mf/lanes.h"

#define MF__KEY_MAX 512
#define MF__LANE_MAX 32 /* lanes listed at most (contract lanes + extras) */
#define MF__LANE_NAME_MAX 32
#define MF__STALLED_MAX 100 /* stalled jobs listed per lane at most */

static const char *const mf__statuses[] = {"queued", "processing", "done",
                                           "failed", "duplicate",  "unsupported"};
static const char *const mf__outcomes[] = {"done", "failed", "retried"};
static const char *const mf__disp_fields[] = {"files_seen", "files_recorded", "rescans",
                                              "inotify_overflows"};
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

/* <prefix>stats as {field: integer}. */
static int mf__status_stats(mf_redis *r, const char *prefix, json_t **stats, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    *stats = json_object();
    mf__key(key, sizeof(key), prefix, "stats", "");
    rc = mf_redis_cmd(r, &rep, err, "HGETALL %s", key);
    if (rc < 0)
        goto out;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        json_object_set_new(*stats, rep->element[i]->str,
                            json_integer(mf__num(rep->element[i + 1])));
out:
    freeReplyObject(rep);
    return rc;
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

/* One lane's queue figures. */
static int mf__status_queue(mf_redis *r, const char *prefix, const char *lane, json_t *o,
                            mf_err *err)
{
    char qkey[MF__KEY_MAX], dkey[MF__KEY_MAX];
    redisReply *rep = NULL;
    const redisReply *group = NULL;
    long long lag;
    int rc;

    mf__key(qkey, sizeof(qkey), prefix, "q:", lane);
    mf__key(dkey, sizeof(dkey), prefix, "dlq:", lane);
    json_object_set_new(o, "queued", json_integer(0));
    json_object_set_new(o, "in_flight", json_integer(0));
    rc = mf_redis_cmd(r, &rep, err, "XLEN %s", dkey);
    if (rc < 0)
        goto out;
    json_object_set_new(o, "dlq",
                        json_integer(rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0));
    freeReplyObject(rep);
    rep = NULL;
    rc = mf_redis_cmd(r, &rep, err, "XINFO GROUPS %s", qkey);
    if (rc == MF_EPROTO) {
        rc = 0; /* no stream yet: nothing was ever queued on this lane */
        goto out;
    }
    if (rc < 0)
        goto out;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && !group; i++) {
        const redisReply *name = mf__field(rep->element[i], "name");
        if (name != NULL && name->type == REDIS_REPLY_STRING &&
            strcmp(name->str, MF_QUEUE_GROUP) == 0)
            group = rep->element[i];
    }
    if (group == NULL)
        goto out;
    lag = mf__num(mf__field(group, "lag"));
    json_object_set_new(o, "queued", lag >= 0 ? json_integer(lag) : json_null());
    json_object_set_new(o, "in_flight", json_integer(mf__num(mf__field(group, "pending"))));
out:
    freeReplyObject(rep);
    return rc;
}

/* The running job of a live worker, from its record. */
static int mf__status_running(mf_redis *r, const char *prefix, const redisReply *w,
                              const char *lane, int64_t now_ms, json_t *running, mf_err *err)
{
    const redisReply *job = mf__field(w, "job");
    const redisReply *host = mf__field(w, "host"), *since = mf__field(w, "since");
    char fkey[MF__KEY_MAX];
    redisReply *rec = NULL;
    json_t *j;
    int64_t t0;
    long long progress;
    int rc;

    if (job == NULL || job->type != REDIS_REPLY_STRING || job->len == 0 ||
        job->len >= MF__KEY_MAX / 2)
        return 0;
    mf__key(fkey, sizeof(fkey), prefix, "file:", job->str);
    rc = mf_redis_cmd(r, &rec, err, "HMGET %s path progress started_at eta_s", fkey);
    if (rc < 0)
        goto out;
    if (rec->type != REDIS_REPLY_ARRAY || rec->elements != 4 ||
        rec->element[0]->type != REDIS_REPLY_STRING)
        goto out; /* the record is gone: nothing to show */
    t0 = mf__parse_time_ms(since != NULL && since->type == REDIS_REPLY_STRING ? since->str : NULL);
    if (t0 < 0 && rec->element[2]->type == REDIS_REPLY_STRING)
        t0 = mf__parse_time_ms(rec->element[2]->str);
    progress = mf__num(rec->element[1]);
    j = json_object();
    json_object_set_new(j, "id", json_string(job->str));
    /* json_stringn() refuses a path that is not UTF-8: such a path is shown as null */
    json_object_set_new(j, "path",
                        rec->element[0]->type == REDIS_REPLY_STRING
                            ? json_stringn(rec->element[0]->str, rec->element[0]->len)
                            : json_null());
    json_object_set_new(j, "lane", json_string(lane));
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
out:
    freeReplyObject(rec);
    return rc;
}

typedef struct mf__workers {
    json_t *per_lane;   /* lane -> count */
    json_t *lane_hosts; /* lane -> {host -> count} */
    json_t *hosts;      /* host -> count */
    json_t *running;
    long long total;
} mf__workers;

/* Live workers: members of <prefix>workers whose HASH still exists (it has a TTL). */
static int mf__status_workers(mf_redis *r, const char *prefix, mf__lanes *lanes, mf__workers *ws,
                              mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *members = NULL, *w = NULL;
    int64_t now_ms = mf_clock_now_ms();
    int rc;

    mf__key(key, sizeof(key), prefix, "workers", "");
    rc = mf_redis_cmd(r, &members, err, "ZRANGE %s 0 -1", key);
    if (rc < 0)
        goto out;
    for (size_t i = 0; members->type == REDIS_REPLY_ARRAY && i < members->elements; i++) {
        const redisReply *lane, *host;
        const char *hname;

        mf__key(key, sizeof(key), prefix, "worker:", members->element[i]->str);
        rc = mf_redis_cmd(r, &w, err, "HGETALL %s", key);
        if (rc < 0)
            goto out;
        if (w->type == REDIS_REPLY_ARRAY && w->elements > 0) {
            lane = mf__field(w, "lane");
            host = mf__field(w, "host");
            hname = host != NULL && host->type == REDIS_REPLY_STRING ? host->str : "?";
            ws->total++;
            json_object_set_new(
                ws->hosts, hname,
                json_integer(json_integer_value(json_object_get(ws->hosts, hname)) + 1));
            if (lane != NULL && lane->type == REDIS_REPLY_STRING) {
                json_t *lh = json_object_get(ws->lane_hosts, lane->str);

                if (lh == NULL) {
                    lh = json_object();
                    json_object_set_new(ws->lane_hosts, lane->str, lh);
                }
                json_object_set_new(
                    lh, hname, json_integer(json_integer_value(json_object_get(lh, hname)) + 1));
                mf__lanes_add(lanes, lane->str, lane->len);
                json_object_set_new(
                    ws->per_lane, lane->str,
                    json_integer(json_integer_value(json_object_get(ws->per_lane, lane->str)) + 1));
                rc = mf__status_running(r, prefix, w, lane->str, now_ms, ws->running, err);
                if (rc < 0)
                    goto out;
            }
        }
        freeReplyObject(w);
        w = NULL;
    }
out:
    freeReplyObject(w);
    freeReplyObject(members);
    return rc;
}

static int mf__status_paused(mf_redis *r, const char *prefix, mf__lanes *lanes, json_t *paused,
                             mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *rep = NULL;
    int rc;

    mf__key(key, sizeof(key), prefix, "paused", "");
    rc = mf_redis_cmd(r, &rep, err, "SMEMBERS %s", key);
    if (rc < 0)
        goto out;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        mf__lanes_add(lanes, rep->element[i]->str, rep->element[i]->len);
        json_object_set_new(paused, rep->element[i]->str, json_true());
    }
out:
    freeReplyObject(rep);
    return rc;
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
    json_t *o = json_object(), *recs = json_object(), *fin = json_object(), *hosts;

    json_object_set_new(o, "lane", json_string(lane));
    json_object_set_new(o, "workers",
                        json_integer(json_integer_value(json_object_get(ws->per_lane, lane))));
    json_object_set_new(o, "paused", json_boolean(json_object_get(paused, lane) != NULL));
    hosts = json_object_get(ws->lane_hosts, lane);
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

/* Jobs delivered to a worker that has no heartbeat any more (killed, host gone, or a job it
 * handed back): reclaimed once idle for the visibility timeout. At most MF__STALLED_MAX per
 * lane, oldest first. */
static int mf__status_stalled(mf_redis *r, const char *prefix, const char *lane, json_t *stalled,
                              mf_err *err)
{
    char q[MF__KEY_MAX], key[MF__KEY_MAX];
    redisReply *pend = NULL, *rep = NULL;
    int rc;

    mf__key(q, sizeof(q), prefix, "q:", lane);
    rc = mf_redis_cmd(r, &pend, err, "XPENDING %s %s - + %d", q, MF_QUEUE_GROUP, MF__STALLED_MAX);
    if (rc == MF_EPROTO) /* NOGROUP: no stream yet */
        return 0;
    for (size_t i = 0; rc == 0 && pend->type == REDIS_REPLY_ARRAY && i < pend->elements; i++) {
        const redisReply *e = pend->element[i];
        const redisReply *f;
        json_t *j;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
            e->element[1]->type != REDIS_REPLY_STRING)
            continue;
        mf__key(key, sizeof(key), prefix, "worker:", e->element[1]->str);
        rc = mf_redis_cmd(r, &rep, err, "EXISTS %s", key);
        if (rc < 0 || rep->integer == 1) {
            freeReplyObject(rep);
            rep = NULL;
            continue;
        }
        freeReplyObject(rep);
        rep = NULL;
        rc = mf_redis_cmd(r, &rep, err, "XRANGE %s %s %s", q, e->element[0]->str,
                          e->element[0]->str);
        if (rc < 0)
            break;
        f = rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 ? rep->element[0] : NULL;
        f = f != NULL && f->elements == 2 ? mf__field(f->element[1], "id") : NULL;
        j = json_object();
        json_object_set_new(j, "id", f != NULL ? json_stringn(f->str, f->len) : json_null());
        json_object_set_new(j, "lane", json_string(lane));
        json_object_set_new(j, "entry", json_string(e->element[0]->str));
        json_object_set_new(j, "worker", json_stringn(e->element[1]->str, e->element[1]->len));
        json_object_set_new(j, "idle_s", json_real((double)mf__num(e->element[2]) / 1000.0));
        json_object_set_new(j, "deliveries", json_integer(mf__num(e->element[3])));
        json_array_append_new(stalled, j);
        freeReplyObject(rep);
        rep = NULL;
    }
    freeReplyObject(rep);
    freeReplyObject(pend);
    return rc;
}

int mf_queue_status_json(mf_redis *r, const char *prefix, json_t **out, json_t **stats_out,
                         mf_err *err)
{
    mf__lanes lanes;
    mf__workers ws = {json_object(), json_object(), json_object(), json_array(), 0};
    json_t *stalled = json_array();
    json_t *stats = NULL, *paused = json_object(), *o = json_object();
    json_t *arr = json_array(), *totals = json_object(), *disp = json_object(), *wo;
    char now[MF_ISO_TIME_LEN];
    int rc;

    *out = NULL;
    memset(&lanes, 0, sizeof(lanes));
    for (size_t i = 0; i < mf_lanes_n; i++)
        mf__lanes_add(&lanes, mf_lanes[i].name, strlen(mf_lanes[i].name));
    rc = mf__status_stats(r, prefix, &stats, err);
    if (rc == 0)
        rc = mf__status_workers(r, prefix, &lanes, &ws, err);
    if (rc == 0)
        rc = mf__status_paused(r, prefix, &lanes, paused, err);
    if (rc < 0)
        goto out;
    mf__lanes_from_stats(&lanes, stats);
    for (size_t i = 0; i < lanes.n; i++) {
        json_t *l = mf__status_lane(lanes.name[i], stats, &ws, paused, totals);

        json_array_append_new(arr, l);
        rc = mf__status_queue(r, prefix, lanes.name[i], l, err);
        if (rc == 0)
            rc = mf__status_stalled(r, prefix, lanes.name[i], stalled, err);
        if (rc < 0)
            goto out;
    }
    mf__status_totals(stats, totals);
    for (size_t k = 0; k < MF__N(mf__disp_fields); k++)
        json_object_set_new(disp, mf__disp_fields[k],
                            json_integer(mf__stat(stats, "dispatcher:", mf__disp_fields[k], "")));
    json_object_set_new(o, "time", json_string(mf_clock_iso(mf_clock_now_ms(), now, sizeof(now))));
    json_object_set(o, "lanes", arr);
    wo = json_object();
    json_object_set_new(wo, "total", json_integer(ws.total));
    json_object_set(wo, "hosts", ws.hosts);
    json_object_set_new(o, "workers", wo);
    json_object_set(o, "totals", totals);
    json_object_set(o, "running", ws.running);
    json_object_set(o, "stalled", stalled);
    json_object_set(o, "dispatcher", disp);
    *out = o;
    o = NULL;
    if (stats_out != NULL) {
        *stats_out = stats;
        stats = NULL;
    }
out:
    json_decref(o);
    json_decref(stats);
    json_decref(paused);
    json_decref(arr);
    json_decref(totals);
    json_decref(disp);
    json_decref(stalled);
    json_decref(ws.lane_hosts);
    json_decref(ws.per_lane);
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
