/* mfctl webhooks [list|log|dlq|replay|enable]: what mf-notifier keeps in Redis.
 *
 *   <prefix>webhooks:endpoints  HASH url -> JSON state (enabled/disabled, counters, last)
 *   <prefix>webhooks:pending    ZSET delivery key -> due time (ms)
 *   <prefix>webhooks:d:<key>    HASH one delivery (url msg_id event type body attempt created)
 *   <prefix>webhooks:log        STREAM (capped) one entry per attempt
 *   <prefix>webhooks:dlq        STREAM deliveries that failed for good
 *
 * The delivery key is "<webhook-id>:<first 16 hex digits of SHA-256(url)>", as
 * notifier/policy.c names it; replay writes a delivery back the way the notifier does. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf/clock.h"
#include "mf/log.h"
#include "mfctl.h"

#define MF__KEY_MAX 1024
#define MF__LOG_SHOW 20
#define MF__DLQ_SHOW 1000

static const char *mf__field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    }
    return "";
}

static void mf__print_kv(const char *name, const char *value)
{
    char q[1024];

    if (value == NULL || value[0] == '\0')
        return;
    /* logfmt: quoted only when it has to be */
    if (strcspn(value, " \"=\\") == strlen(value) && strlen(value) < sizeof(q)) {
        printf(" %s=", name);
        mf_ctl_print_safe(stdout, value, 0);
    } else {
        printf(" %s=%s", name, mf_log_quote(q, sizeof(q), value));
    }
}

/* ---- list ------------------------------------------------------------------------------- */

static void mf__list_one(const char *url, const char *state_json)
{
    json_t *o = state_json ? json_loads(state_json, 0, NULL) : NULL;
    const char *state = json_string_value(json_object_get(o, "state"));
    char num[32];

    mf_ctl_print_safe(stdout, url, 0);
    printf(" state=%s", state ? state : "enabled");
    if (o != NULL) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(json_object_get(o, "ok")));
        mf__print_kv("ok", num);
        snprintf(num, sizeof(num), "%lld",
                 (long long)json_integer_value(json_object_get(o, "failed")));
        mf__print_kv("failed", num);
        snprintf(num, sizeof(num), "%lld",
                 (long long)json_integer_value(json_object_get(o, "last_status")));
        mf__print_kv("last_status", num);
        mf__print_kv("last_attempt_at", json_string_value(json_object_get(o, "last_attempt_at")));
        mf__print_kv("failing_since", json_string_value(json_object_get(o, "failing_since")));
        mf__print_kv("reason", json_string_value(json_object_get(o, "reason")));
        mf__print_kv("last_error", json_string_value(json_object_get(o, "last_error")));
    } else {
        printf(" (no attempt yet)");
    }
    printf("\n");
    json_decref(o);
}

/* The configured URLs: webhook_endpoints items (url|...) then webhook_urls. */
static void mf__list_configured(const mf_config *cfg, const redisReply *states, int *shown)
{
    const char *lists[] = {cfg->webhook_endpoints, cfg->webhook_urls};

    for (int l = 0; l < 2; l++) {
        const char *p = lists[l];
        while (*p != '\0') {
            char url[1024];
            size_t len = strcspn(p, l == 0 ? " \t|" : " \t,");
            const char *state = NULL;

            if (len > 0 && len < sizeof(url)) {
                memcpy(url, p, len);
                url[len] = '\0';
                for (size_t i = 0; states && i + 1 < states->elements; i += 2) {
                    if (strcmp(states->element[i]->str, url) == 0)
                        state = states->element[i + 1]->str;
                }
                mf__list_one(url, state);
                (*shown)++;
            }
            p += len;
            if (l == 0)
                p += strcspn(p, " \t"); /* the rest of the item */
            p += strspn(p, l == 0 ? " \t" : " \t,");
        }
    }
}

static int mf__list(const mf_ctl *ctx, mf_redis *r, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *states = NULL, *pending = NULL, *dlq = NULL;
    int shown = 0;
    int rc;

    rc = mf_redis_cmd(r, &states, err, "HGETALL %s",
                      mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:endpoints", NULL));
    if (rc == 0)
        rc = mf_redis_cmd(r, &pending, err, "ZCARD %s",
                          mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:pending", NULL));
    if (rc == 0)
        rc = mf_redis_cmd(r, &dlq, err, "XLEN %s",
                          mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:dlq", NULL));
    if (rc < 0)
        goto out;
    mf__list_configured(&ctx->cfg, states, &shown);
    if (shown == 0)
        printf("no webhook endpoints configured (webhook_urls, webhook_endpoints)\n");
    printf("pending=%lld dead=%lld\n", pending->integer, dlq->integer);
out:
    freeReplyObject(states);
    freeReplyObject(pending);
    freeReplyObject(dlq);
    return rc;
}

/* ---- log and dlq ------------------------------------------------------------------------ */

static void mf__entry_time(const char *entry_id, char *buf, size_t size)
{
    mf_clock_iso(strtoll(entry_id, NULL, 10), buf, size);
}

static int mf__log(const mf_ctl *ctx, mf_redis *r, int count, mf_err *err)
{
    char key[MF__KEY_MAX], when[MF_ISO_TIME_LEN];
    redisReply *reply = NULL;
    int rc;

    rc = mf_redis_cmd(r, &reply, err, "XREVRANGE %s + - COUNT %d",
                      mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:log", NULL), count);
    if (rc < 0)
        goto out;
    if (reply->elements == 0)
        printf("no webhook attempts yet\n");
    for (size_t i = reply->elements; i-- > 0;) {
        const redisReply *e = reply->element[i];
        const redisReply *f = e->element[1];

        mf__entry_time(e->element[0]->str, when, sizeof(when));
        printf("%s %s", when, mf__field(f, "msg_id"));
        mf__print_kv("url", mf__field(f, "url"));
        mf__print_kv("attempt", mf__field(f, "attempt"));
        mf__print_kv("status", mf__field(f, "status"));
        mf__print_kv("ms", mf__field(f, "ms"));
        mf__print_kv("outcome", mf__field(f, "outcome"));
        mf__print_kv("type", mf__field(f, "type"));
        mf__print_kv("error", mf__field(f, "error"));
        printf("\n");
    }
out:
    freeReplyObject(reply);
    return rc;
}

static int mf__dlq(const mf_ctl *ctx, mf_redis *r, mf_err *err)
{
    char key[MF__KEY_MAX], when[MF_ISO_TIME_LEN];
    redisReply *reply = NULL;
    int rc;

    rc = mf_redis_cmd(r, &reply, err, "XRANGE %s - + COUNT %d",
                      mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:dlq", NULL),
                      MF__DLQ_SHOW);
    if (rc < 0)
        goto out;
    if (reply->elements == 0)
        printf("no dead webhook deliveries\n");
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        const redisReply *f = e->element[1];

        mf__entry_time(e->element[0]->str, when, sizeof(when));
        printf("%s %s %s", e->element[0]->str, when, mf__field(f, "msg_id"));
        mf__print_kv("url", mf__field(f, "url"));
        mf__print_kv("type", mf__field(f, "type"));
        mf__print_kv("attempts", mf__field(f, "attempts"));
        mf__print_kv("error", mf__field(f, "error"));
        printf("\n");
    }
    if (reply->elements > 0)
        printf("%zu dead deliver%s; `mfctl webhooks replay <entry>...|--all` sends again\n",
               reply->elements, reply->elements == 1 ? "y" : "ies");
out:
    freeReplyObject(reply);
    return rc;
}

/* ---- replay ----------------------------------------------------------------------------- */

static void mf__endpoint_id(const char *url, char out[17])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    EVP_Digest(url, strlen(url), md, &md_len, EVP_sha256(), NULL);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Writes a dead delivery back as due now (attempts start over) and removes it from the
 * dlq, in one MULTI/EXEC. */
static int mf__replay_entry(const mf_ctl *ctx, mf_redis *r, const redisReply *e, mf_err *err)
{
    const redisReply *f = e->element[1];
    const char *msg_id = mf__field(f, "msg_id"), *url = mf__field(f, "url");
    char epid[17], dkey[MF__KEY_MAX], key[MF__KEY_MAX], pending[MF__KEY_MAX], dlq[MF__KEY_MAX];
    char now[24];
    redisReply *reply = NULL;
    int rc;

    mf__endpoint_id(url, epid);
    snprintf(dkey, sizeof(dkey), "%s:%s", msg_id, epid);
    mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:d:", dkey);
    mf_ctl_key(pending, sizeof(pending), ctx->cfg.prefix, "webhooks:pending", NULL);
    mf_ctl_key(dlq, sizeof(dlq), ctx->cfg.prefix, "webhooks:dlq", NULL);
    snprintf(now, sizeof(now), "%lld", (long long)mf_clock_now_ms());
    rc = mf_redis_cmd(r, &reply, err, "MULTI");
    freeReplyObject(reply);
    if (rc == 0) {
        const char *argv[] = {"HSET",    key,
                              "url",     url,
                              "msg_id",  msg_id,
                              "event",   mf__field(f, "event"),
                              "type",    mf__field(f, "type"),
                              "body",    mf__field(f, "body"),
                              "attempt", "0",
                              "created", now};
        rc = mf_redis_cmdargv(r, &reply, err, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
        freeReplyObject(reply);
    }
    if (rc == 0) {
        rc = mf_redis_cmd(r, &reply, err, "ZADD %s %s %s", pending, now, dkey);
        freeReplyObject(reply);
    }
    if (rc == 0) {
        rc = mf_redis_cmd(r, &reply, err, "XDEL %s %s", dlq, e->element[0]->str);
        freeReplyObject(reply);
    }
    if (rc == 0) {
        rc = mf_redis_cmd(r, &reply, err, "EXEC");
        freeReplyObject(reply);
    }
    if (rc == 0)
        printf("%s %s queued again for %s\n", e->element[0]->str, msg_id, url);
    return rc;
}

static int mf__replay(const mf_ctl *ctx, mf_redis *r, int argc, char **argv, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *reply = NULL;
    int all = argc == 1 && strcmp(argv[0], "--all") == 0;
    int done = 0, rc = 0;

    mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:dlq", NULL);
    for (int i = 0; rc == 0 && i < (all ? 1 : argc); i++) {
        if (all)
            rc = mf_redis_cmd(r, &reply, err, "XRANGE %s - + COUNT %d", key, MF__DLQ_SHOW);
        else
            rc = mf_redis_cmd(r, &reply, err, "XRANGE %s %s %s", key, argv[i], argv[i]);
        if (rc < 0)
            break;
        if (reply->elements == 0 && !all)
            rc = mf_err_set(err, MF_EINVAL, "no entry %s in %s", argv[i], key);
        for (size_t k = 0; rc == 0 && k < reply->elements; k++) {
            rc = mf__replay_entry(ctx, r, reply->element[k], err);
            done += rc == 0;
        }
        freeReplyObject(reply);
        reply = NULL;
    }
    if (rc == 0 && done == 0)
        printf("no dead webhook deliveries\n");
    return rc;
}

static int mf__enable(const mf_ctl *ctx, mf_redis *r, const char *url, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *reply = NULL;
    int rc;

    rc = mf_redis_cmd(r, &reply, err, "HDEL %s %s",
                      mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "webhooks:endpoints", NULL),
                      url);
    if (rc == 0)
        printf("%s enabled%s\n", url, reply->integer ? "" : " (it had no state)");
    freeReplyObject(reply);
    return rc;
}

/* "N" for log; anything else shows the default. */
static int mf__count(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    return end != s && *end == '\0' && v > 0 && v <= 100000 ? (int)v : MF__LOG_SHOW;
}

static const char mf__usage[] =
    "usage: mfctl webhooks [list]            endpoints with their state, pending and dead\n"
    "       mfctl webhooks log [N]           the last N attempts (default 20)\n"
    "       mfctl webhooks dlq               dead deliveries\n"
    "       mfctl webhooks replay <entry>...|--all\n"
    "                                        send dead deliveries again (same webhook-id)\n"
    "       mfctl webhooks enable <url>      enable an endpoint disabled by 410 or failures";

int mf_ctl_webhooks(mf_ctl *ctx, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "list";
    mf_redis *r = NULL;
    mf_err err;
    int rc;
    int usage =
        !(strcmp(sub, "list") == 0 && argc <= 2) && !(strcmp(sub, "log") == 0 && argc <= 3) &&
        !(strcmp(sub, "dlq") == 0 && argc == 2) && !(strcmp(sub, "replay") == 0 && argc >= 3) &&
        !(strcmp(sub, "enable") == 0 && argc == 3);

    if (usage) {
        mf_ctl_errorf("%s", mf__usage);
        return MF_CTL_EXIT_USAGE;
    }
    rc = mf_ctl_connect(ctx, &r, &err);
    if (rc < 0)
        goto out;
    if (strcmp(sub, "list") == 0)
        rc = mf__list(ctx, r, &err);
    else if (strcmp(sub, "log") == 0)
        rc = mf__log(ctx, r, argc == 3 ? mf__count(argv[2]) : MF__LOG_SHOW, &err);
    else if (strcmp(sub, "dlq") == 0)
        rc = mf__dlq(ctx, r, &err);
    else if (strcmp(sub, "replay") == 0)
        rc = mf__replay(ctx, r, argc - 2, argv + 2, &err);
    else
        rc = mf__enable(ctx, r, argv[2], &err);
    if (rc < 0)
        mf_ctl_errorf("webhooks %s: %s", sub, err.msg);
out:
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}
