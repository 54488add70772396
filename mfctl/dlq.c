/* mfctl dlq [--json] [lane]: the jobs that exhausted their attempts (or failed permanently),
 * oldest first, one per line with the file's path and the error a person needs to act on.
 * --json: {"total": N, "jobs": [{"lane", "id", "entry", "attempts", "path", "error"}]}, the
 * first 1,000 per lane. */
#include <stdlib.h>
#include <string.h>

#include "mf/log.h"
#include "mf/queue.h"
#include "mf/lanes.h"
#include "mfctl.h"

#define MF__KEY_MAX 256
#define MF__DLQ_SHOW 1000 /* per lane; the rest is counted */

static const char *mf__dlq_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    }
    return "";
}

static void mf__dlq_print(const mf_ctl *ctx, mf_redis *r, const char *lane, const redisReply *entry,
                          json_t *jobs)
{
    const redisReply *fields = entry->element[1];
    const char *id = mf__dlq_field(fields, "id");
    char key[MF__KEY_MAX];
    char qpath[1024], qerr[2048];
    redisReply *path = NULL;
    mf_err err;

    mf_redis_cmd(r, &path, &err, "HGET %s path",
                 mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "file:", id));
    if (jobs != NULL) {
        json_t *p = path && path->type == REDIS_REPLY_STRING ? json_string(path->str) : NULL;
        json_t *e = json_string(mf__dlq_field(fields, "error"));

        /* json_string() refuses text that is not UTF-8: such a path or error is null */
        json_array_append_new(
            jobs,
            json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "lane", lane, "id", id, "entry",
                      entry->element[0]->str, "attempts",
                      (json_int_t)strtoll(mf__dlq_field(fields, "attempts"), NULL, 10), "path",
                      p != NULL ? p : json_null(), "error", e != NULL ? e : json_null()));
        freeReplyObject(path);
        return;
    }
    printf("%s %s attempts=%s path=%s error=%s\n", lane, id, mf__dlq_field(fields, "attempts"),
           mf_log_quote(qpath, sizeof(qpath),
                        path && path->type == REDIS_REPLY_STRING ? path->str : ""),
           mf_log_quote(qerr, sizeof(qerr), mf__dlq_field(fields, "error")));
    freeReplyObject(path);
}

/* Prints one lane's dead jobs; adds their number to *total. */
static int mf__dlq_lane(const mf_ctl *ctx, mf_redis *r, const char *lane, long long *total,
                        json_t *jobs, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *reply = NULL;
    long long len;
    int rc;

    mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "dlq:", lane);
    rc = mf_redis_cmd(r, &reply, err, "XLEN %s", key);
    if (rc < 0)
        goto out;
    len = reply->integer;
    *total += len;
    freeReplyObject(reply);
    reply = NULL;
    if (len == 0)
        goto out;
    rc = mf_redis_cmd(r, &reply, err, "XRANGE %s - + COUNT %d", key, MF__DLQ_SHOW);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *entry = reply->element[i];
        if (entry->type == REDIS_REPLY_ARRAY && entry->elements == 2)
            mf__dlq_print(ctx, r, lane, entry, jobs);
    }
    if (jobs == NULL && len > (long long)reply->elements)
        printf("%s ... and %lld more (XRANGE %s)\n", lane, len - (long long)reply->elements, key);
out:
    freeReplyObject(reply);
    return rc;
}

int mf_ctl_dlq(mf_ctl *ctx, int argc, char **argv)
{
    const char *lane = NULL;
    json_t *jobs = NULL;
    long long total = 0;
    mf_redis *r = NULL;
    mf_err err;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            jobs = jobs != NULL ? jobs : json_array();
        } else if (lane == NULL && mf_lanes_find(argv[i], strlen(argv[i])) != NULL) {
            lane = argv[i];
        } else {
            if (argv[i][0] != '-' && lane == NULL)
                mf_ctl_errorf("dlq: unknown lane '%s' (lanes: %s)", argv[i], mf_lanes_list());
            mf_ctl_errorf("usage: mfctl dlq [--json] [lane]");
            json_decref(jobs);
            return MF_CTL_EXIT_USAGE;
        }
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc < 0)
        goto out;
    for (size_t i = 0; rc == 0 && i < mf_lanes_n; i++) {
        if (lane == NULL || strcmp(lane, mf_lanes[i].name) == 0)
            rc = mf__dlq_lane(ctx, r, mf_lanes[i].name, &total, jobs, &err);
    }
    if (rc < 0) {
        mf_ctl_errorf("dlq: %s", err.msg);
        goto out;
    }
    if (jobs != NULL) {
        json_t *o = json_pack("{s:I,s:O}", "total", (json_int_t)total, "jobs", jobs);
        char *text = json_dumps(o, JSON_INDENT(2));

        if (text == NULL)
            abort();
        puts(text);
        free(text);
        json_decref(o);
    } else if (total == 0) {
        printf("no dead jobs\n");
    } else {
        printf("%lld dead job%s; `mfctl retry <id>` queues one again\n", total,
               total == 1 ? "" : "s");
    }
out:
    json_decref(jobs);
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}
