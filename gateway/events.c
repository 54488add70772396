/* GET /api/events: server-sent events from the <prefix>events stream, one event per record
 * state change:
 *
 *   id: 1733318400000-0
 *   data: {"id":"01J...","status":"done","type":"image","path":"a.jpg",...}
 *
 * Where it starts: after the entry named by Last-Event-ID (what a browser's EventSource
 * sends when it reconnects, so nothing still in the capped stream is missed), else with the
 * last ?last=N entries (N <= 1000; the status page's history), else with what comes next.
 * A comment line every few seconds keeps proxies from closing a quiet stream.
 *
 * The stream holds a Redis connection of its own (XREAD BLOCK would hold a pooled one as long
 * anyway) in its own libmicrohttpd thread, where blocking is fine. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"
#include "mf/log.h"

#define MF__SSE_BLOCK_MS                                                                           \
    2000 /* XREAD BLOCK: how often a quiet stream gets a comment, and the                          \
           longest a stream delays the gateway's exit */
#define MF__SSE_BATCH 100
#define MF__SSE_BACKLOG_MAX 1000
#define MF__SSE_ID_MAX 48

typedef struct mf__sse {
    mf_gw *g;
    mf_gw_req *rq;
    mf_redis *r;
    char key[256];
    char last[MF__SSE_ID_MAX]; /* entry id after which to read */
    char *buf;                 /* formatted events not yet sent */
    size_t len, off;
    long backlog; /* ?last=N still to replay, 0 when done */
} mf__sse;

/* A stream entry id: digits-digits. */
static int mf__entry_id_ok(const char *s)
{
    size_t n = strspn(s, "0123456789");

    if (n == 0 || s[n] != '-' || strlen(s) >= MF__SSE_ID_MAX)
        return 0;
    return s[n + 1 + strspn(s + n + 1, "0123456789")] == '\0' && isdigit((unsigned char)s[n + 1]);
}

/* A JSON string of any bytes: what is not UTF-8 becomes '?' (the page shows paths, never
 * uses them). */
static json_t *mf__jstr(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    char *copy;

    if (j != NULL)
        return j;
    copy = malloc(len + 1);
    if (copy == NULL)
        abort();
    for (size_t i = 0; i < len; i++)
        copy[i] = (unsigned char)s[i] >= 0x80 || s[i] == '\0' ? '?' : s[i];
    j = json_stringn(copy, len);
    free(copy);
    return j;
}

/* Appends one entry ([id, [k, v, ...]]) as an event to the send buffer. */
static void mf__sse_entry(mf__sse *s, FILE *f, const redisReply *e)
{
    const redisReply *id, *kv;
    json_t *o;
    char *text;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        return;
    id = e->element[0];
    kv = e->element[1];
    if (id->type != REDIS_REPLY_STRING || id->len >= MF__SSE_ID_MAX)
        return;
    memcpy(s->last, id->str, id->len + 1);
    o = json_object();
    for (size_t i = 0; kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        char *end = NULL;
        long long n;

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        n = strtoll(v->str, &end, 10);
        if ((strcmp(k->str, "attempts") == 0 || strcmp(k->str, "process_duration_ms") == 0 ||
             strcmp(k->str, "size") == 0 || strcmp(k->str, "progress") == 0) &&
            v->len > 0 && *end == '\0')
            json_object_set_new(o, k->str, json_integer(n));
        else
            json_object_set_new(o, k->str, mf__jstr(v->str, v->len));
    }
    text = json_dumps(o, JSON_COMPACT);
    fprintf(f, "id: %s\ndata: %s\n\n", s->last, text != NULL ? text : "{}");
    free(text);
    json_decref(o);
}

/* Where a new stream starts: Last-Event-ID, else the newest entry now (or 0-0). */
static int mf__sse_start(mf__sse *s, const char *last_event_id, mf_err *err)
{
    redisReply *rep = NULL;
    int rc = 0;

    if (last_event_id != NULL && mf__entry_id_ok(last_event_id)) {
        snprintf(s->last, sizeof(s->last), "%s", last_event_id);
        s->backlog = 0;
        goto out;
    }
    snprintf(s->last, sizeof(s->last), "0-0");
    rc = mf_redis_cmd(s->r, &rep, err, "XREVRANGE %s + - COUNT %ld", s->key,
                      s->backlog > 0 ? s->backlog + 1 : 1);
    if (rc < 0)
        goto out;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
        /* with a backlog: start before the oldest of the N (the one past it, or 0-0) */
        size_t k = s->backlog > 0 ? rep->elements - 1 : 0;
        const redisReply *e = rep->element[k];

        if (s->backlog > 0 && rep->elements <= (size_t)s->backlog)
            goto out; /* fewer than N: all of them, from 0-0 */
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
            e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < MF__SSE_ID_MAX)
            memcpy(s->last, e->element[0]->str, e->element[0]->len + 1);
    }
out:
    freeReplyObject(rep);
    return rc;
}

/* Fills s->buf with the next events, a keep-alive comment, or an error comment. */
static void mf__sse_fill(mf__sse *s)
{
    redisReply *rep = NULL;
    FILE *f;
    mf_err err;
    int rc;

    free(s->buf);
    s->buf = NULL;
    s->len = s->off = 0;
    f = open_memstream(&s->buf, &s->len);
    if (f == NULL)
        abort();
    if (s->backlog > 0)
        rc = mf_redis_cmd(s->r, &rep, &err, "XREAD COUNT %ld STREAMS %s %s", s->backlog, s->key,
                          s->last);
    else
        rc = mf_redis_cmd(s->r, &rep, &err, "XREAD COUNT %d BLOCK %d STREAMS %s %s", MF__SSE_BATCH,
                          MF__SSE_BLOCK_MS, s->key, s->last);
    s->backlog = 0;
    if (rc < 0) {
        fprintf(f, ": redis unavailable\n\n");
        sleep(1); /* mf_redis_cmd reconnects on the next call */
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
               rep->element[0]->elements == 2) {
        const redisReply *entries = rep->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++)
            mf__sse_entry(s, f, entries->element[i]);
    }
    if (ftell(f) == 0)
        fprintf(f, ": keep-alive\n\n");
    fclose(f);
    freeReplyObject(rep);
}

static ssize_t mf__sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    mf__sse *s = cls;
    size_t n;

    if (atomic_load(&s->g->stopping))
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->off == s->len)
        mf__sse_fill(s);
    n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    s->rq->bytes += n;
    return (ssize_t)n;
}

static void mf__sse_free(void *cls)
{
    mf__sse *s = cls;

    mf_redis_free(s->r);
    free(s->buf);
    free(s);
}

enum MHD_Result mf_gw_events(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq)
{
    const char *lei = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    const char *last = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "last");
    struct MHD_Response *resp;
    mf__sse *s = calloc(1, sizeof(*s));
    mf_err err;
    int rc;

    if (s == NULL)
        abort();
    s->g = g;
    s->rq = rq;
    snprintf(s->key, sizeof(s->key), "%sevents", g->cfg->prefix);
    if (last != NULL) {
        s->backlog = strtol(last, NULL, 10);
        if (s->backlog < 0)
            s->backlog = 0;
        if (s->backlog > MF__SSE_BACKLOG_MAX)
            s->backlog = MF__SSE_BACKLOG_MAX;
    }
    rc = mf_redis_new(&s->r, g->cfg->redis_url, &err);
    if (rc == 0) {
        mf_redis_set_timeout(s->r, MF__SSE_BLOCK_MS + MF_GW_REDIS_TIMEOUT_MS);
        rc = mf__sse_start(s, lei, &err);
    }
    if (rc < 0) {
        mf__sse_free(s);
        return mf_gw_reply_error(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err.msg);
    }
    resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, mf__sse_read, s, mf__sse_free);
    if (resp == NULL) {
        mf__sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return mf_gw_queue(c, rq, MHD_HTTP_OK, resp);
}
