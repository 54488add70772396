/* mfctl status: per lane, jobs waiting, jobs delivered and not yet acknowledged, dead jobs
 * and live workers, read from the streams' consumer group; then the records by status.
 *
 * The totals come from SCAN over <prefix>file:* (one pipelined HGET per record), so they
 * cost O(records): fine for an admin command on a fleet of a few million records, and it
 * needs no counter that every state change would have to keep right. */
#include <stdlib.h>
#include <string.h>

#include "mf/queue.h"
#include "mf/lanes.h"
#include "mfctl.h"

#define MF__KEY_MAX 256
#define MF__SCAN_COUNT "1000"

typedef struct mf__lane_stat {
    long long queued; /* -1: Redis could not tell (lag unknown after stream deletions) */
    long long in_flight;
    long long dlq;
    long long workers;
} mf__lane_stat;

static const char *const mf__statuses[] = {"queued",    "processing",  "done", "failed",
                                           "duplicate", "unsupported", "other"};
#define MF__NSTATUS (sizeof(mf__statuses) / sizeof(mf__statuses[0]))

/* A field of a RESP2 flat map (name, value, name, value...). */
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

static long long mf__num(const redisReply *v)
{
    if (v != NULL && v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    if (v != NULL && v->type == REDIS_REPLY_STRING)
        return strtoll(v->str, NULL, 10);
    return -1;
}

/* Live workers, two ways. Exact: connections named "worker-<lane>:<consumer>" (CLIENT
 * SETNAME) in CLIENT LIST. Else the consumers of the group seen within two visibility
 * timeouts; on Redis 7.0 a consumer's idle time only restarts when it is handed a job, so
 * that counts the workers busy lately, not an idle one (7.2 refreshes it on every read). */
static long long mf__status_named(const char *clients, const char *lane)
{
    char want[MF_CTL_LANE_NAME_MAX + 16];
    long long n = 0;
    size_t wlen;

    const char *p;

    wlen = (size_t)snprintf(want, sizeof(want), " name=worker-%s:", lane);
    p = clients != NULL ? strstr(clients, want) : NULL;
    while (p != NULL) {
        n++;
        p = strstr(p + wlen, want);
    }
    return n;
}

static int mf__status_workers(mf_redis *r, const char *qkey, long long idle_max_ms,
                              mf__lane_stat *st, mf_err *err)
{
    redisReply *reply = NULL;
    int rc = 0;

    if (st->workers > 0)
        goto out; /* named connections counted them */
    rc = mf_redis_cmd(r, &reply, err, "XINFO CONSUMERS %s %s", qkey, MF_QUEUE_GROUP);
    if (rc < 0)
        goto out;
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        long long idle = mf__num(mf__field(reply->element[i], "idle"));
        if (idle >= 0 && idle < idle_max_ms)
            st->workers++;
    }
out:
    freeReplyObject(reply);
    return rc;
}

static int mf__status_lane(const mf_ctl *ctx, mf_redis *r, const char *lane, const char *clients,
                           mf__lane_stat *st, mf_err *err)
{
    const char *prefix = ctx->cfg.prefix;
    char qkey[MF__KEY_MAX], dkey[MF__KEY_MAX];
    redisReply *reply = NULL;
    const redisReply *group = NULL;
    int rc;

    memset(st, 0, sizeof(*st));
    st->workers = mf__status_named(clients, lane);
    mf_ctl_key(qkey, sizeof(qkey), prefix, "q:", lane);
    mf_ctl_key(dkey, sizeof(dkey), prefix, "dlq:", lane);
    rc = mf_redis_cmd(r, &reply, err, "XLEN %s", dkey);
    if (rc < 0)
        goto out;
    st->dlq = reply->integer;
    freeReplyObject(reply);
    reply = NULL;
    rc = mf_redis_cmd(r, &reply, err, "EXISTS %s", qkey);
    if (rc < 0 || reply->integer == 0)
        goto out; /* no stream yet: nothing was ever queued on this lane */
    freeReplyObject(reply);
    reply = NULL;
    rc = mf_redis_cmd(r, &reply, err, "XINFO GROUPS %s", qkey);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < reply->elements && group == NULL; i++) {
        const redisReply *name = mf__field(reply->element[i], "name");
        if (name != NULL && name->type == REDIS_REPLY_STRING &&
            strcmp(name->str, MF_QUEUE_GROUP) == 0)
            group = reply->element[i];
    }
    if (group == NULL)
        goto out;
    st->queued = mf__num(mf__field(group, "lag"));
    st->in_flight = mf__num(mf__field(group, "pending"));
    rc = mf__status_workers(r, qkey, 2000LL * ctx->cfg.visibility_timeout, st, err);
out:
    freeReplyObject(reply);
    return rc;
}

/* One SCAN page's keys: pipelined HGET status, counted into counts. */
static int mf__status_count_page(mf_redis *r, const redisReply *keys, long long *counts,
                                 mf_err *err)
{
    redisContext *c = mf_redis_ctx(r);
    int rc = 0;

    if (c == NULL) {
        rc = mf_err_set(err, MF_EREDIS, "redis connection lost");
        goto out;
    }
    for (size_t i = 0; i < keys->elements; i++)
        redisAppendCommand(c, "HGET %b status", keys->element[i]->str,
                           (size_t)keys->element[i]->len);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *st = NULL;
        size_t k = 0;

        if (redisGetReply(c, (void **)&st) != REDIS_OK) {
            rc = mf_err_set(err, MF_EREDIS, "redis read failed: %s", c->errstr);
            mf_redis_mark_broken(r);
            goto out;
        }
        if (st->type == REDIS_REPLY_STRING) {
            while (k < MF__NSTATUS - 1 && strcmp(st->str, mf__statuses[k]) != 0)
                k++;
            counts[k]++;
        }
        freeReplyObject(st);
    }
out:
    return rc;
}

static int mf__status_files(const mf_ctl *ctx, mf_redis *r, long long *counts, mf_err *err)
{
    char match[MF__KEY_MAX];
    char cursor[32] = "0";
    redisReply *reply = NULL;
    int rc;

    mf_ctl_key(match, sizeof(match), ctx->cfg.prefix, "file:", "*");
    do {
        rc = mf_redis_cmd(r, &reply, err, "SCAN %s MATCH %s COUNT %s", cursor, match,
                          MF__SCAN_COUNT);
        if (rc < 0)
            goto out;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            rc = mf_err_set(err, MF_EPROTO, "SCAN: unexpected reply");
            goto out;
        }
        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        rc = mf__status_count_page(r, reply->element[1], counts, err);
        if (rc < 0)
            goto out;
        freeReplyObject(reply);
        reply = NULL;
    } while (strcmp(cursor, "0") != 0);
out:
    freeReplyObject(reply);
    return rc;
}

static void mf__status_print_lane(const char *lane, const mf__lane_stat *st)
{
    char queued[24];

    if (st->queued < 0)
        snprintf(queued, sizeof(queued), "?");
    else
        snprintf(queued, sizeof(queued), "%lld", st->queued);
    printf("%-8s %8s %10lld %8lld %8lld\n", lane, queued, st->in_flight, st->dlq, st->workers);
}

int mf_ctl_status(mf_ctl *ctx, int argc, char **argv)
{
    long long counts[MF__NSTATUS] = {0};
    long long total = 0;
    mf_redis *r = NULL;
    redisReply *clients = NULL;
    mf_err err;
    int rc;

    if (argc > 1) {
        mf_ctl_errorf("status: unexpected argument '%s'", argv[1]);
        return MF_CTL_EXIT_USAGE;
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc == 0)
        rc = mf_redis_cmd(r, &clients, &err, "CLIENT LIST");
    if (rc == MF_EPROTO)
        rc = 0; /* an ACL may forbid CLIENT LIST: count consumers instead */
    if (rc < 0)
        goto out;
    printf("%-8s %8s %10s %8s %8s\n", "lane", "queued", "in_flight", "dlq", "workers");
    for (size_t i = 0; i < mf_lanes_n; i++) {
        mf__lane_stat st;

        rc = mf__status_lane(ctx, r, mf_lanes[i].name, clients ? clients->str : NULL, &st, &err);
        if (rc < 0)
            goto out;
        mf__status_print_lane(mf_lanes[i].name, &st);
    }
    rc = mf__status_files(ctx, r, counts, &err);
    if (rc < 0)
        goto out;
    for (size_t k = 0; k < MF__NSTATUS; k++)
        total += counts[k];
    printf("files    total=%lld", total);
    for (size_t k = 0; k < MF__NSTATUS; k++) {
        if (k < MF__NSTATUS - 1 || counts[k] > 0)
            printf(" %s=%lld", mf__statuses[k], counts[k]);
    }
    printf("\n");
out:
    if (rc < 0 && r != NULL)
        mf_ctl_errorf("status: %s", err.msg);
    freeReplyObject(clients);
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}
