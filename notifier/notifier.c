/* mf-notifier's loop: one libuv loop drives two hiredis async connections (one blocks in
 * XREADGROUP on <prefix>events, the other carries every other command, in order) and the
 * libcurl multi interface (curl_multi_socket_action on uv_poll and uv_timer handles).
 *
 * Redis is the truth, memory a cache. An event becomes one delivery per endpoint that
 * wants it: a HASH <prefix>webhooks:d:<msg>:<endpoint> and a member of the ZSET
 * <prefix>webhooks:pending scored by its due time; the event is XACKed after those writes,
 * on the same connection, so Redis has the deliveries before it forgets the event. The
 * delivery is then attempted at once; an attempt's outcome rewrites its score (retry), or
 * deletes it (delivered, or moved to <prefix>webhooks:dlq). A scan of the ZSET every second
 * picks up what is due and not in memory: retries, replays, and whatever a killed notifier
 * left. A delivery is forgotten from memory only when Redis has answered its last write,
 * so a scan never sees a stale score for a delivery we still hold. When Redis goes away both
 * connections are dropped and made again (back-off), and work resumes from what Redis has. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "internal.h"
#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/log.h"

/* ---- small helpers ---------------------------------------------------------------------- */

/* A copy of s, "" for NULL (Redis fields may be missing). */
static char *mf__xstrdup(const char *s)
{
    return mf_xstrdup(s != NULL ? s : "");
}

static unsigned mf__hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s != '\0')
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % MF__HTAB;
}

static mf__delivery *mf__known_find(mf__notifier *n, const char *key)
{
    for (mf__delivery *d = n->htab[mf__hash(key)]; d != NULL; d = d->hnext) {
        if (strcmp(d->key, key) == 0)
            return d;
    }
    return NULL;
}

static void mf__known_add(mf__notifier *n, mf__delivery *d)
{
    unsigned h = mf__hash(d->key);

    d->hnext = n->htab[h];
    n->htab[h] = d;
    n->known++;
}

static void mf__delivery_free(mf__delivery *d)
{
    if (d == NULL)
        return;
    free(d->url);
    free(d->type);
    free(d->body);
    free(d);
}

static void mf__maybe_read(mf__notifier *n);
static void mf__on_group(redisAsyncContext *c, void *r, void *priv);

void mf__forget(mf__delivery *d)
{
    mf__notifier *n = d->n;
    mf__delivery **pp = &n->htab[mf__hash(d->key)];

    while (*pp != NULL && *pp != d)
        pp = &(*pp)->hnext;
    if (*pp == d) {
        *pp = d->hnext;
        n->known--;
    }
    mf__delivery_free(d);
    mf__maybe_read(n);
    mf__maybe_finish_drain(n);
}

static mf__ep *mf__ep_by_url(mf__notifier *n, const char *url)
{
    for (int i = 0; i < n->neps; i++) {
        if (strcmp(n->eps[i].cfg->url, url) == 0)
            return &n->eps[i];
    }
    return NULL;
}

static const char *mf__reply_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str
                                                                                         : "";
}

/* The writer: every command but XREADGROUP. A NULL callback means fire-and-forget (an
 * error reply is logged by mf__on_checked). */
static void mf__on_checked(redisAsyncContext *c, void *r, void *priv)
{
    redisReply *reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        mf_log(MF_LOG_ERROR, "msg=\"redis command failed\" what=%s error=\"%s\"",
               (const char *)priv, reply->str);
}

static void mf__cmd(mf__notifier *n, redisCallbackFn *cb, void *priv, int argc, const char **argv)
{
    if (!n->wr_up)
        return;
    redisAsyncCommandArgv(n->wr, cb ? cb : mf__on_checked, cb ? priv : (void *)argv[0], argc, argv,
                          NULL);
}

/* ---- endpoint state: <prefix>webhooks:endpoints, one JSON object per URL ----------------- */

static void mf__ep_save(mf__notifier *n, mf__ep *ep)
{
    char at[MF_ISO_TIME_LEN], since[MF_ISO_TIME_LEN], dis[MF_ISO_TIME_LEN], events[256];
    json_t *o;
    char *text;

    /* ",done,failed," -> "done,failed" */
    snprintf(events, sizeof(events), "%s", ep->cfg->events + (ep->cfg->events[0] == ','));
    if (strlen(events) > 0 && events[strlen(events) - 1] == ',')
        events[strlen(events) - 1] = '\0';
    o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:s?, s:s?, s:s?}", "id", ep->cfg->id,
                  "url", ep->cfg->url, "state", ep->disabled ? "disabled" : "enabled", "events",
                  events, "reason", ep->disabled ? ep->reason : NULL, "ok", (json_int_t)ep->ok,
                  "failed", (json_int_t)ep->failed, "last_status", (json_int_t)ep->last_status,
                  "last_error", ep->last_error[0] ? ep->last_error : NULL, "last_attempt_at",
                  ep->last_attempt_ms ? mf_clock_iso(ep->last_attempt_ms, at, sizeof(at)) : NULL,
                  "failing_since",
                  ep->failing_since_ms ? mf_clock_iso(ep->failing_since_ms, since, sizeof(since))
                                       : NULL);

    if (o == NULL)
        abort();
    if (ep->disabled)
        json_object_set_new(o, "disabled_at",
                            json_string(mf_clock_iso(ep->disabled_at_ms, dis, sizeof(dis))));
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        abort();
    if (!ep->disabled || ep->disable_unsaved) {
        const char *argv[] = {"HSET", n->k_endpoints, ep->cfg->url, text};
        mf__cmd(n, NULL, NULL, 4, argv);
        ep->disable_unsaved = 0;
    } else {
        /* Disabled earlier: `mfctl webhooks enable` deletes the field, and a write of our
         * in-memory state made before the next scan noticed must not bring it back. */
        const char *argv[] = {"EVAL",
                              "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then "
                              "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
                              "return 0",
                              "1",
                              n->k_endpoints,
                              ep->cfg->url,
                              text};
        mf__cmd(n, NULL, NULL, 6, argv);
    }
    free(text);
}

/* Reads what Redis knows of an endpoint: counters once, the disabled state every time (so
 * `mfctl webhooks enable` takes effect within a scan). */
static void mf__ep_load(mf__ep *ep, const char *text, int first)
{
    json_t *o = json_loads(text, 0, NULL);
    const char *state = json_string_value(json_object_get(o, "state"));
    const char *reason = json_string_value(json_object_get(o, "reason"));

    ep->disabled = state != NULL && strcmp(state, "disabled") == 0;
    snprintf(ep->reason, sizeof(ep->reason), "%s", reason ? reason : "");
    if (first) {
        ep->ok = json_integer_value(json_object_get(o, "ok"));
        ep->failed = json_integer_value(json_object_get(o, "failed"));
    }
    json_decref(o);
}

static void mf__on_endpoints(redisAsyncContext *c, void *r, void *priv)
{
    mf__notifier *n = c->data;
    redisReply *reply = r;
    unsigned seq = (unsigned)(uintptr_t)priv;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        return;
    for (int i = 0; i < n->neps; i++) {
        const char *text = NULL;

        /* read before our own last change (a 410 just now) reached Redis: stale */
        if (n->eps[i].changed_seq >= seq)
            continue;
        for (size_t k = 0; k + 1 < reply->elements; k += 2) {
            if (strcmp(mf__reply_str(reply->element[k]), n->eps[i].cfg->url) == 0)
                text = mf__reply_str(reply->element[k + 1]);
        }
        if (text != NULL) {
            mf__ep_load(&n->eps[i], text, !n->started);
        } else if (n->eps[i].disabled) {
            n->eps[i].disabled = 0; /* the field was deleted: enabled again */
            mf_log(MF_LOG_INFO, "msg=\"webhook endpoint enabled\" url=\"%s\"", n->eps[i].cfg->url);
        }
    }
    if (!n->started) {
        n->started = 1;
        mf__maybe_read(n);
    }
}

static void mf__ep_disable(mf__notifier *n, mf__ep *ep, const char *why)
{
    if (ep->disabled)
        return;
    ep->disabled = 1;
    ep->disable_unsaved = 1;
    ep->changed_seq = n->state_seq;
    ep->disabled_at_ms = mf_clock_now_ms();
    snprintf(ep->reason, sizeof(ep->reason), "%s", why);
    mf_log(MF_LOG_ERROR, "msg=\"webhook endpoint disabled\" url=\"%s\" reason=\"%s\"", ep->cfg->url,
           why);
}

/* ---- the outcome of an attempt ---------------------------------------------------------- */

static void mf__on_last_write(redisAsyncContext *c, void *r, void *priv)
{
    mf__on_checked(c, r, "delivery update");
    mf__forget(priv);
}

static void mf__log_attempt(mf__notifier *n, const mf__delivery *d, long http, int64_t ms,
                            const char *outcome)
{
    char attempt[16], status[16], msbuf[24];
    const char *argv[] = {"XADD",    n->k_log,  "MAXLEN", "~",         "100000",  "*",
                          "msg_id",  d->msg_id, "url",    d->url,      "attempt", attempt,
                          "status",  status,    "ms",     msbuf,       "error",   d->error,
                          "outcome", outcome,   "event",  d->event_id, "type",    d->type};

    snprintf(attempt, sizeof(attempt), "%d", d->attempt + 1);
    snprintf(status, sizeof(status), "%ld", http);
    snprintf(msbuf, sizeof(msbuf), "%lld", (long long)ms);
    mf__cmd(n, NULL, NULL, (int)(sizeof(argv) / sizeof(argv[0])), argv);
}

/* Moves a delivery to the dead-letter stream with everything replay needs. */
static void mf__dead(mf__delivery *d, const char *why)
{
    mf__notifier *n = d->n;
    char attempts[16], key[MF__DKEY_MAX];
    const char *xadd[] = {"XADD",
                          n->k_dlq,
                          "*",
                          "msg_id",
                          d->msg_id,
                          "url",
                          d->url,
                          "type",
                          d->type,
                          "event",
                          d->event_id,
                          "attempts",
                          attempts,
                          "error",
                          why,
                          "body",
                          d->body ? d->body : ""};
    const char *del[] = {"DEL", key};
    const char *zrem[] = {"ZREM", n->k_pending, d->key};

    snprintf(attempts, sizeof(attempts), "%d", d->attempt);
    snprintf(key, sizeof(key), "%s%s", n->k_d, d->key);
    if (mf__log_level <= MF_LOG_WARN) {
        mf_log_error(MF_LOG_WARN, why, "msg=\"webhook dead-lettered\" webhook_id=%s url=\"%s\"",
                     d->msg_id, d->url);
    }
    mf__cmd(n, NULL, NULL, (int)(sizeof(xadd) / sizeof(xadd[0])), xadd);
    mf__cmd(n, NULL, NULL, 2, del);
    if (n->wr_up)
        redisAsyncCommandArgv(n->wr, mf__on_last_write, d, 3, zrem, NULL);
    else
        mf__forget(d);
}

static void mf__delivered(mf__delivery *d)
{
    mf__notifier *n = d->n;
    char key[MF__DKEY_MAX];
    const char *del[] = {"DEL", key};
    const char *zrem[] = {"ZREM", n->k_pending, d->key};

    snprintf(key, sizeof(key), "%s%s", n->k_d, d->key);
    mf__cmd(n, NULL, NULL, 2, del);
    if (n->wr_up)
        redisAsyncCommandArgv(n->wr, mf__on_last_write, d, 3, zrem, NULL);
    else
        mf__forget(d);
}

static void mf__reschedule(mf__delivery *d, int64_t delay_ms)
{
    mf__notifier *n = d->n;
    char key[MF__DKEY_MAX], attempt[16], due[24];
    const char *hset[] = {"HSET", key, "attempt", attempt};
    const char *zadd[] = {"ZADD", n->k_pending, due, d->key};

    snprintf(key, sizeof(key), "%s%s", n->k_d, d->key);
    snprintf(attempt, sizeof(attempt), "%d", d->attempt);
    snprintf(due, sizeof(due), "%lld", (long long)(mf_clock_now_ms() + delay_ms));
    mf__cmd(n, NULL, NULL, 4, hset);
    if (n->wr_up)
        redisAsyncCommandArgv(n->wr, mf__on_last_write, d, 4, zadd, NULL);
    else
        mf__forget(d);
}

/* Counts an attempt against its endpoint; disables it on 410 or after failing for days. */
static void mf__ep_account(mf__notifier *n, mf__ep *ep, mf_wh_outcome outcome, long http,
                           const char *error, int64_t now)
{
    ep->last_status = http;
    ep->last_attempt_ms = now;
    snprintf(ep->last_error, sizeof(ep->last_error), "%.*s", (int)sizeof(ep->last_error) - 1,
             error);
    if (outcome == MF_WH_OK) {
        ep->ok++;
        ep->failing_since_ms = 0;
    } else {
        ep->failed++;
        if (ep->failing_since_ms == 0)
            ep->failing_since_ms = now;
    }
    if (outcome == MF_WH_DISABLE)
        mf__ep_disable(n, ep, "the receiver answered 410 Gone");
    else if (outcome != MF_WH_OK && n->cfg->webhook_disable_after > 0 &&
             now - ep->failing_since_ms > n->cfg->webhook_disable_after * 1000)
        mf__ep_disable(n, ep, "failing without a success for longer than webhook_disable_after");
    mf__ep_save(n, ep);
}

/* Records the attempt and applies the policy: delivered, retry later, dead-letter. */
void mf__settle(mf__delivery *d, long http, int64_t ms, int64_t retry_after_s,
                mf_wh_outcome outcome)
{
    mf__notifier *n = d->n;
    mf__ep *ep = d->ep;
    int64_t now = mf_clock_now_ms();
    static const char *const names[] = {"ok", "retry", "failed", "disabled"};
    const char *name = names[outcome];
    int last = d->attempt + 1 >= n->nsched;

    if (outcome == MF_WH_RETRY && last)
        name = "dead";
    if (outcome == MF_WH_FAIL || outcome == MF_WH_DISABLE)
        name = "dead";
    mf__log_attempt(n, d, http, ms, outcome == MF_WH_OK ? "ok" : name);
    if ((int)(outcome == MF_WH_OK ? MF_LOG_DEBUG : MF_LOG_INFO) >= mf__log_level) {
        char q[512]; /* the error may quote the receiver's answer */
        mf_log(outcome == MF_WH_OK ? MF_LOG_DEBUG : MF_LOG_INFO,
               "msg=\"webhook attempt\" webhook_id=%s url=\"%s\" attempt=%d status=%ld ms=%lld "
               "outcome=%s error=%s",
               d->msg_id, d->url, d->attempt + 1, http, (long long)ms, name,
               mf_log_quote(q, sizeof(q), d->error));
    }
    if (ep != NULL)
        mf__ep_account(n, ep, outcome, http, d->error, now);
    d->attempt++;
    if (outcome == MF_WH_OK)
        mf__delivered(d);
    else if (outcome == MF_WH_RETRY && !last)
        mf__reschedule(d, mf_wh_backoff_ms(n->schedule, d->attempt, retry_after_s,
                                           (double)rand() / ((double)RAND_MAX + 1)));
    else
        mf__dead(d, d->error);
}

/* ---- events -> deliveries --------------------------------------------------------------- */

typedef struct mf__evjob {
    mf__notifier *n;
    char entry[48];
    int64_t event_ms;
    char **kv; /* the event's fields */
    size_t nkv;
} mf__evjob;

static void mf__on_acked(redisAsyncContext *c, void *r, void *priv)
{
    mf__notifier *n = c->data;

    mf__on_checked(c, r, "XACK");
    n->events_busy--;
    mf__maybe_read(n);
}

static void mf__ack(mf__notifier *n, const char *entry)
{
    const char *argv[] = {"XACK", n->k_events, MF__GROUP, entry};

    if (n->wr_up)
        redisAsyncCommandArgv(n->wr, mf__on_acked, NULL, 4, argv, NULL);
}

static const char *mf__kv_get(char **kv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (strcmp(kv[i], name) == 0)
            return kv[i + 1];
    }
    return NULL;
}

static const char *mf__kv_str(char **kv, size_t n, const char *name)
{
    const char *v = mf__kv_get(kv, n, name);

    return v != NULL ? v : "";
}

/* Writes one delivery (hash + due now) and attempts it. */
static void mf__create(mf__notifier *n, mf__ep *ep, const mf__evjob *job, const char *body,
                       const char *type)
{
    mf__delivery *d = mf_xcalloc(1, sizeof(*d));
    char key[MF__DKEY_MAX], created[24], now[24];
    const char *hset[] = {"HSET",    key,        "url",     ep->cfg->url, "msg_id", d->msg_id,
                          "event",   job->entry, "type",    type,         "body",   body,
                          "attempt", "0",        "created", created};
    const char *zadd[] = {"ZADD", n->k_pending, now, d->key};

    d->n = n;
    d->ep = ep;
    d->loaded = 1;
    snprintf(d->msg_id, sizeof(d->msg_id), "msg_%s", job->entry);
    snprintf(d->key, sizeof(d->key), "%s:%s", d->msg_id, ep->cfg->id);
    snprintf(d->event_id, sizeof(d->event_id), "%s", job->entry);
    d->url = mf__xstrdup(ep->cfg->url);
    d->type = mf__xstrdup(type);
    d->body = mf__xstrdup(body);
    d->body_len = strlen(body);
    snprintf(key, sizeof(key), "%s%s", n->k_d, d->key);
    snprintf(created, sizeof(created), "%lld", (long long)job->event_ms);
    snprintf(now, sizeof(now), "%lld", (long long)mf_clock_now_ms());
    mf__cmd(n, NULL, NULL, (int)(sizeof(hset) / sizeof(hset[0])), hset);
    mf__cmd(n, NULL, NULL, 4, zadd);
    if (mf__known_find(n, d->key) != NULL) { /* re-read after a crash while we hold it */
        mf__delivery_free(d);
        return;
    }
    mf__known_add(n, d);
    mf__start(d);
}

static void mf__evjob_free(mf__evjob *job)
{
    for (size_t i = 0; i < job->nkv; i++)
        free(job->kv[i]);
    free(job->kv);
    free(job);
}

static void mf__on_record(redisAsyncContext *c, void *r, void *priv)
{
    mf__evjob *job = priv;
    mf__notifier *n = job->n;
    redisReply *reply = r;
    const char **rec = NULL;
    size_t nrec = 0;
    const char *status = mf__kv_get(job->kv, job->nkv, "status");
    char type[64];
    char *body;

    if (reply == NULL || n->draining) {
        n->events_busy--;
        mf__evjob_free(job);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY) {
        rec = mf_xcalloc(reply->elements + 1, sizeof(*rec));
        for (size_t i = 0; i < reply->elements; i++)
            rec[nrec++] = mf__reply_str(reply->element[i]);
    }
    body = mf_wh_body(rec, nrec, (const char *const *)job->kv, job->nkv, job->event_ms);
    snprintf(type, sizeof(type), "record.%s", status);
    for (int i = 0; i < n->neps; i++) {
        if (!n->eps[i].disabled && mf_wh_endpoint_wants(n->eps[i].cfg, status))
            mf__create(n, &n->eps[i], job, body, type);
    }
    mf__ack(n, job->entry);
    free(body);
    free(rec);
    mf__evjob_free(job);
}

/* One stream entry: read its record if an endpoint wants it, else acknowledge it. */
static void mf__event(mf__notifier *n, const redisReply *entry)
{
    const redisReply *fields = entry->element[1];
    const char *entry_id = mf__reply_str(entry->element[0]);
    mf__evjob *job;
    const char *status, *id;
    int wanted = 0;
    char key[MF__KEY_MAX];

    n->events_busy++;
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY) { /* trimmed from the stream */
        mf__ack(n, entry_id);
        return;
    }
    job = mf_xcalloc(1, sizeof(*job));
    job->n = n;
    snprintf(job->entry, sizeof(job->entry), "%s", entry_id);
    job->event_ms = strtoll(entry_id, NULL, 10);
    job->kv = mf_xcalloc(fields->elements + 1, sizeof(char *));
    for (size_t i = 0; i < fields->elements; i++)
        job->kv[job->nkv++] = mf__xstrdup(mf__reply_str(fields->element[i]));
    status = mf__kv_get(job->kv, job->nkv, "status");
    id = mf__kv_get(job->kv, job->nkv, "id");
    for (int i = 0; status && id && i < n->neps; i++)
        wanted |= !n->eps[i].disabled && mf_wh_endpoint_wants(n->eps[i].cfg, status);
    if (!wanted) {
        mf__ack(n, entry_id);
        mf__evjob_free(job);
        return;
    }
    snprintf(key, sizeof(key), "%s%s", n->k_file, id);
    if (!n->wr_up) {
        mf__evjob_free(job);
        return;
    }
    {
        const char *argv[] = {"HGETALL", key};
        redisAsyncCommandArgv(n->wr, mf__on_record, job, 2, argv, NULL);
    }
}

static void mf__claim(mf__notifier *n);

static void mf__on_read(redisAsyncContext *c, void *r, void *priv)
{
    mf__notifier *n = c->data;
    redisReply *reply = r;
    size_t got = 0;

    n->reading = 0;
    if (reply == NULL || n->draining)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* NOGROUP: Redis lost its data; the group is made again and reading resumes */
        const char *group[] = {"XGROUP", "CREATE", n->k_events, MF__GROUP, "$", "MKSTREAM"};

        mf_log(MF_LOG_ERROR, "msg=\"XREADGROUP failed\" error=\"%s\"", reply->str);
        mf__cmd(n, mf__on_group, NULL, 6, group);
        n->read_pause_mono = mf_clock_mono_ms() + MF__SCAN_MS;
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
        const redisReply *entries = reply->element[0]->element[1];
        got = entries->elements;
        for (size_t i = 0; i < entries->elements; i++) {
            const redisReply *e = entries->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2) {
                if (n->backlog)
                    snprintf(n->backlog_id, sizeof(n->backlog_id), "%s",
                             mf__reply_str(e->element[0]));
                mf__event(n, e);
            }
        }
    }
    if (n->backlog && got == 0) {
        n->backlog = 0;
        mf_log(MF_LOG_INFO, "msg=\"reading new events\" consumer=%s", n->consumer);
        mf__claim(n);
    }
    mf__maybe_read(n);
}

/* Reads the next batch when the last one is settled and memory has room. */
static void mf__maybe_read(mf__notifier *n)
{
    char count[16], block[16];

    if (!n->started || n->reading || n->draining || !n->rd_up || n->events_busy > 0 ||
        n->known >= MF__KNOWN_MAX || mf_clock_mono_ms() < n->read_pause_mono)
        return;
    snprintf(count, sizeof(count), "%d", MF__READ_COUNT);
    snprintf(block, sizeof(block), "%d", MF__READ_BLOCK_MS);
    n->reading = 1;
    if (n->backlog) {
        const char *argv[] = {"XREADGROUP", "GROUP",   MF__GROUP,   n->consumer,  "COUNT",
                              count,        "STREAMS", n->k_events, n->backlog_id};
        redisAsyncCommandArgv(n->rd, mf__on_read, NULL, 9, argv, NULL);
    } else {
        const char *argv[] = {"XREADGROUP", "GROUP", MF__GROUP, n->consumer, "COUNT", count,
                              "BLOCK",      block,   "STREAMS", n->k_events, ">"};
        redisAsyncCommandArgv(n->rd, mf__on_read, NULL, 11, argv, NULL);
    }
}

/* ---- the scan: due deliveries Redis has and memory does not ----------------------------- */

static void mf__on_loaded(redisAsyncContext *c, void *r, void *priv)
{
    mf__delivery *d = priv;
    redisReply *reply = r;
    mf__notifier *n = d->n;
    const char *kv[32];
    size_t nkv = 0;
    const char *v;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        /* gone meanwhile (delivered by another notifier) or Redis is going away; a pending
         * member without its hash is dropped */
        if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
            const char *zrem[] = {"ZREM", n->k_pending, d->key};
            mf__cmd(n, NULL, NULL, 3, zrem);
        }
        mf__forget(d);
        return;
    }
    for (size_t i = 0; i < reply->elements && nkv < 32; i++)
        kv[nkv++] = mf__reply_str(reply->element[i]);
    v = mf__kv_get((char **)kv, nkv, "url");
    d->url = mf__xstrdup(v);
    d->ep = mf__ep_by_url(n, d->url);
    snprintf(d->msg_id, sizeof(d->msg_id), "%s", mf__kv_str((char **)kv, nkv, "msg_id"));
    snprintf(d->event_id, sizeof(d->event_id), "%s", mf__kv_str((char **)kv, nkv, "event"));
    d->type = mf__xstrdup(mf__kv_get((char **)kv, nkv, "type"));
    d->body = mf__xstrdup(mf__kv_get((char **)kv, nkv, "body"));
    d->body_len = strlen(d->body);
    v = mf__kv_get((char **)kv, nkv, "attempt");
    d->attempt = v ? (int)strtol(v, NULL, 10) : 0;
    d->loaded = 1;
    if (d->attempt >= n->nsched) {
        mf__dead(d, "attempts exhausted");
        return;
    }
    mf__start(d);
}

static void mf__on_due(redisAsyncContext *c, void *r, void *priv)
{
    mf__notifier *n = c->data;
    redisReply *reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || n->draining)
        return;
    for (size_t i = 0; i < reply->elements && n->known < MF__KNOWN_MAX; i++) {
        const char *key = mf__reply_str(reply->element[i]);
        mf__delivery *d;
        char hkey[MF__DKEY_MAX];

        if (mf__known_find(n, key) != NULL || strlen(key) >= sizeof(d->key))
            continue;
        d = mf_xcalloc(1, sizeof(*d));
        d->n = n;
        snprintf(d->key, sizeof(d->key), "%s", key);
        mf__known_add(n, d);
        snprintf(hkey, sizeof(hkey), "%s%s", n->k_d, key);
        {
            const char *argv[] = {"HGETALL", hkey};
            redisAsyncCommandArgv(n->wr, mf__on_loaded, d, 2, argv, NULL);
        }
    }
}

/* Events another notifier read and never acknowledged (it died, and a restarted one has
 * another name: a new pod, another host) are taken over once idle for MF__CLAIM_IDLE_MS. */
static void mf__on_claimed(redisAsyncContext *c, void *r, void *priv)
{
    mf__notifier *n = c->data;
    redisReply *reply = r;
    const redisReply *entries;

    n->claiming = 0;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 || n->draining)
        return;
    entries = reply->element[1];
    if (entries->elements > 0)
        mf_log(MF_LOG_INFO, "msg=\"took over events another notifier left\" count=%zu",
               entries->elements);
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2)
            mf__event(n, e);
    }
}

static void mf__claim(mf__notifier *n)
{
    char idle[24], count[16];
    const char *argv[] = {"XAUTOCLAIM", n->k_events, MF__GROUP, n->consumer,
                          idle,         "0-0",       "COUNT",   count};

    if (n->claiming || !n->started || n->backlog || n->known >= MF__KNOWN_MAX)
        return;
    snprintf(idle, sizeof(idle), "%d", MF__CLAIM_IDLE_MS);
    snprintf(count, sizeof(count), "%d", MF__READ_COUNT);
    n->claiming = 1;
    mf__cmd(n, mf__on_claimed, NULL, 8, argv);
}

static void mf__on_scan(uv_timer_t *t)
{
    mf__notifier *n = t->data;
    char now[24], batch[16];
    const char *eps[] = {"HGETALL", n->k_endpoints};
    const char *due[] = {"ZRANGEBYSCORE", n->k_pending, "-inf", now, "LIMIT", "0", batch};

    if (n->draining || !n->wr_up)
        return;
    snprintf(now, sizeof(now), "%lld", (long long)mf_clock_now_ms());
    snprintf(batch, sizeof(batch), "%d", MF__SCAN_BATCH);
    mf__cmd(n, mf__on_endpoints, (void *)(uintptr_t)++n->state_seq, 2, eps);
    if (n->known < MF__KNOWN_MAX)
        mf__cmd(n, mf__on_due, NULL, 7, due);
    if (++n->scans % (MF__CLAIM_IDLE_MS / MF__SCAN_MS / 2) == 0)
        mf__claim(n);
    mf__maybe_read(n);
}

/* ---- Redis connections ------------------------------------------------------------------ */

static void mf__shutdown(mf__notifier *n);

static void mf__on_reconnect(uv_timer_t *t);

/* A connection is gone (or never came up): reconnect both after a back-off. Every reply
 * still owed on it has been handed to its callback as NULL by now (hiredis does that before
 * the disconnect callback), so nothing in memory waits for it. */
static void mf__redis_lost(mf__notifier *n, const redisAsyncContext *c)
{
    if (c == n->rd)
        n->rd_up = 0;
    else if (c == n->wr)
        n->wr_up = 0;
    if (n->resetting)
        return;
    if (n->draining) {
        if (!n->wr_up)
            mf__shutdown(n);
        return;
    }
    if (!n->redis_lost && c != NULL)
        mf_log(MF_LOG_WARN, "msg=\"redis connection lost, reconnecting\" error=\"%s\"",
               c->errstr[0] ? c->errstr : "closed");
    n->redis_lost = 1;
    if (uv_is_active((uv_handle_t *)&n->reconnect_timer))
        return;
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : MF__BACKOFF_MIN_MS;
    if (n->backoff_ms > MF__BACKOFF_MAX_MS)
        n->backoff_ms = MF__BACKOFF_MAX_MS;
    uv_timer_start(&n->reconnect_timer, mf__on_reconnect, (uint64_t)n->backoff_ms, 0);
}

static void mf__on_disconnect(const redisAsyncContext *c, int status)
{
    mf__redis_lost(c->data, c);
}

static void mf__on_connect(const redisAsyncContext *c, int status)
{
    mf__notifier *n = c->data;

    if (status != REDIS_OK) {
        mf_log(MF_LOG_DEBUG, "msg=\"cannot connect to redis\" error=\"%s\"", c->errstr);
        mf__redis_lost(n, c);
        return;
    }
    if (c == n->wr && n->redis_lost) {
        mf_log(MF_LOG_INFO, "msg=\"redis connection back\"");
        n->redis_lost = 0;
    }
    if (c == n->wr)
        n->backoff_ms = 0;
}

static int mf__connect(mf__notifier *n, const mf_wh_redis_url *u, redisAsyncContext **out, int *up,
                       mf_err *err)
{
    redisAsyncContext *c =
        u->sock[0] ? redisAsyncConnectUnix(u->sock) : redisAsyncConnect(u->host, u->port);

    if (c == NULL)
        abort();
    if (c->err) {
        int rc = mf_err_set(err, MF_EREDIS, "redisAsyncConnect() failed: %s", c->errstr);
        redisAsyncFree(c);
        return rc;
    }
    c->data = n;
    redisLibuvAttach(c, n->loop);
    redisAsyncSetConnectCallback(c, mf__on_connect);
    redisAsyncSetDisconnectCallback(c, mf__on_disconnect);
    if (u->password[0]) {
        const char *argv[] = {"AUTH", u->password};
        redisAsyncCommandArgv(c, mf__on_checked, "AUTH", 2, argv, NULL);
    }
    if (u->db != 0)
        redisAsyncCommand(c, mf__on_checked, "SELECT", "SELECT %ld", u->db);
    *out = c;
    *up = 1;
    return 0;
}

/* Opens both connections (again) and starts over from what Redis has: the endpoints' state,
 * our consumer's pending events, the due deliveries. */
static void mf__on_reconnect(uv_timer_t *t)
{
    mf__notifier *n = t->data;
    mf_err err;
    int rc;

    if (n->draining)
        return;
    /* a connection that survived is dropped too: both start over together */
    n->resetting = 1;
    if (n->rd_up) {
        n->rd_up = 0;
        redisAsyncFree(n->rd);
    }
    if (n->wr_up) {
        n->wr_up = 0;
        redisAsyncFree(n->wr);
    }
    n->resetting = 0;
    n->reading = 0;
    n->claiming = 0;
    n->events_busy = 0;
    n->started = 0;
    n->wr_closing = 0;
    n->backlog = 1;
    snprintf(n->backlog_id, sizeof(n->backlog_id), "0");
    rc = mf__connect(n, &n->url, &n->wr, &n->wr_up, &err);
    if (rc == 0)
        rc = mf__connect(n, &n->url, &n->rd, &n->rd_up, &err);
    if (rc < 0) {
        if (!n->redis_lost)
            mf_log(MF_LOG_WARN, "msg=\"redis unreachable, retrying\" error=\"%s\"", err.msg);
        n->redis_lost = 1;
        n->resetting = 1;
        if (n->wr_up) {
            n->wr_up = 0;
            redisAsyncFree(n->wr);
        }
        n->resetting = 0;
        mf__redis_lost(n, NULL);
        return;
    }
    {
        const char *group[] = {"XGROUP", "CREATE", n->k_events, MF__GROUP, "$", "MKSTREAM"};
        const char *eps[] = {"HGETALL", n->k_endpoints};
        redisAsyncCommandArgv(n->wr, mf__on_group, NULL, 6, group, NULL);
        redisAsyncCommandArgv(n->wr, mf__on_endpoints, (void *)(uintptr_t)++n->state_seq, 2, eps,
                              NULL);
    }
}

/* ---- start and stop --------------------------------------------------------------------- */

static void mf__on_group(redisAsyncContext *c, void *r, void *priv)
{
    redisReply *reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
        strstr(reply->str, "BUSYGROUP") == NULL)
        mf_log(MF_LOG_ERROR, "msg=\"XGROUP CREATE failed\" error=\"%s\"", reply->str);
}

static void mf__close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Everything is settled (or Redis is gone): close the handles so the loop ends. */
static void mf__shutdown(mf__notifier *n)
{
    if (n->closing)
        return;
    n->closing = 1;
    if (n->rd_up)
        redisAsyncDisconnect(n->rd);
    uv_timer_stop(&n->scan_timer);
    uv_timer_stop(&n->curl_timer);
    uv_timer_stop(&n->reconnect_timer);
    uv_signal_stop(&n->sig_term);
    uv_signal_stop(&n->sig_int);
}

void mf__maybe_finish_drain(mf__notifier *n)
{
    if (!n->draining || n->closing || n->inflight > 0)
        return;
    for (int i = 0; i < n->neps; i++) {
        if (n->eps[i].resolving)
            return;
    }
    if (n->wr_up && !n->wr_closing) {
        n->wr_closing = 1;
        redisAsyncDisconnect(n->wr); /* replies still owed arrive first */
    } else if (!n->wr_up) {
        mf__shutdown(n);
    }
}

static void mf__on_signal(uv_signal_t *h, int signum)
{
    mf__notifier *n = h->data;
    mf__delivery *d;

    if (n->draining)
        return;
    mf_log(MF_LOG_INFO, "msg=\"draining\" signal=%s in_flight=%d",
           signum == SIGTERM ? "TERM" : "INT", n->inflight);
    n->draining = 1;
    uv_timer_stop(&n->scan_timer);
    if (n->rd_up)
        redisAsyncDisconnect(n->rd);
    /* what waits for a slot stays in Redis for the next run */
    while ((d = n->ready_head) != NULL) {
        n->ready_head = d->next;
        mf__forget(d);
    }
    n->ready_tail = NULL;
    for (int i = 0; i < n->neps; i++) {
        while ((d = n->eps[i].q_head) != NULL) {
            n->eps[i].q_head = d->next;
            mf__forget(d);
        }
        n->eps[i].q_tail = NULL;
    }
    mf__maybe_finish_drain(n);
}

static int mf__init(mf__notifier *n, const mf_config *cfg, mf_err *err)
{
    char host[64] = "host";
    int rc;

    n->cfg = cfg;
    rc = mf_wh_schedule_parse(cfg->webhook_retry_schedule, n->schedule, MF_WH_SCHEDULE_MAX, err);
    if (rc < 0)
        return rc;
    n->nsched = rc;
    rc = mf_wh_endpoints_parse(cfg, &n->cfg_eps, err);
    if (rc < 0)
        return rc;
    n->neps = rc;
    if (n->neps == 0)
        return mf_err_set(err, MF_ECONFIG,
                          "no webhook endpoints: set webhook_urls or webhook_endpoints");
    n->eps = mf_xcalloc((size_t)n->neps, sizeof(*n->eps));
    for (int i = 0; i < n->neps; i++) {
        n->eps[i].cfg = &n->cfg_eps[i];
        n->eps[i].n = n;
        n->eps[i].literal = mf_wh_url_host(n->eps[i].cfg->url, n->eps[i].host,
                                           sizeof(n->eps[i].host), &n->eps[i].port);
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(n->consumer, sizeof(n->consumer), "notifier@%s", host);
#define MF__K(field, suffix) snprintf(n->field, sizeof(n->field), "%s" suffix, cfg->prefix)
    MF__K(k_events, "events");
    MF__K(k_pending, "webhooks:pending");
    MF__K(k_log, "webhooks:log");
    MF__K(k_dlq, "webhooks:dlq");
    MF__K(k_endpoints, "webhooks:endpoints");
    MF__K(k_d, "webhooks:d:");
    MF__K(k_file, "file:");
#undef MF__K
    snprintf(n->backlog_id, sizeof(n->backlog_id), "0");
    n->backlog = 1;
    return 0;
}

int mf_notifier_run(const mf_config *cfg, mf_err *err)
{
    static mf__notifier n; /* reachable from everywhere for LeakSanitizer's sake too */
    char url[1024];
    uv_loop_t loop;
    int rc;

    memset(&n, 0, sizeof(n));
    rc = mf__init(&n, cfg, err);
    if (rc < 0)
        goto out;
    if (cfg->redis_url[0] != '\0')
        snprintf(url, sizeof(url), "%s", cfg->redis_url);
    else
        snprintf(url, sizeof(url), "unix://%s/redis.sock", cfg->state_dir);
    rc = mf_wh_redis_url_parse(url, &n.url, err);
    if (rc < 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    n.loop = &loop;
    n.multi = curl_multi_init();
    curl_multi_setopt(n.multi, CURLMOPT_SOCKETFUNCTION, mf__curl_socket);
    curl_multi_setopt(n.multi, CURLMOPT_SOCKETDATA, &n);
    curl_multi_setopt(n.multi, CURLMOPT_TIMERFUNCTION, mf__curl_timer);
    curl_multi_setopt(n.multi, CURLMOPT_TIMERDATA, &n);
    curl_multi_setopt(n.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->webhook_max_per_host);
    curl_multi_setopt(n.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    uv_timer_init(&loop, &n.curl_timer);
    uv_timer_init(&loop, &n.scan_timer);
    uv_timer_init(&loop, &n.reconnect_timer);
    n.curl_timer.data = n.scan_timer.data = n.reconnect_timer.data = &n;
    uv_signal_init(&loop, &n.sig_term);
    uv_signal_init(&loop, &n.sig_int);
    n.sig_term.data = n.sig_int.data = &n;
    uv_signal_start(&n.sig_term, mf__on_signal, SIGTERM);
    uv_signal_start(&n.sig_int, mf__on_signal, SIGINT);
    mf_log(MF_LOG_INFO, "msg=\"started\" endpoints=%d attempts=%d consumer=%s", n.neps, n.nsched,
           n.consumer);
    /* connecting is reconnecting from nothing: a Redis not up yet is waited for */
    mf__on_reconnect(&n.reconnect_timer);
    uv_timer_start(&n.scan_timer, mf__on_scan, 0, MF__SCAN_MS);
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = 0;
    /* an error stop leaves handles open: close them all and let the loop run them out */
    if (n.rd_up)
        redisAsyncFree(n.rd);
    if (n.wr_up)
        redisAsyncFree(n.wr);
    curl_multi_cleanup(n.multi);
    uv_walk(&loop, mf__close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
out:
    for (size_t i = 0; i < MF__HTAB; i++) {
        while (n.htab[i] != NULL) {
            mf__delivery *d = n.htab[i];
            n.htab[i] = d->hnext;
            if (d->easy != NULL) {
                curl_easy_cleanup(d->easy);
                curl_slist_free_all(d->headers);
                curl_slist_free_all(d->resolve);
            }
            mf__delivery_free(d);
        }
    }
    free(n.eps);
    mf_wh_endpoints_free(n.cfg_eps, n.neps);
    return rc;
}
