/* Routing, access control, replies and the per-request log line.
 *
 *   GET  /healthz /readyz                      no token needed
 *   GET  /metrics /api/status /api/events
 *   GET  /api/files/<id>   /api/files?path=<rel>
 *   GET  /files/<id>/<output>
 *   PUT  /api/upload/<rel>?profile=<name>      POST /api/upload (multipart form)
 *   GET  /                                     the status page
 *
 * With http_token set, everything else needs "Authorization: Bearer <token>" (or
 * ?access_token=<token>, RFC 6750, for the page's EventSource, which cannot send headers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "mf/log.h"

#define MF__ERR_JSON_MAX 1024

/* Request times in the log to the microsecond: a scrape takes about one millisecond. */
static int64_t mf__mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum MHD_Result mf_gw_queue(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                            struct MHD_Response *r)
{
    enum MHD_Result ret;

    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    rq->status = status;
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result mf_gw_reply(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                            const char *type, const void *body, size_t len, int copy)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);

    if (r == NULL)
        return MHD_NO;
    if (type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    rq->bytes = len;
    return mf_gw_queue(c, rq, status, r);
}

enum MHD_Result mf_gw_reply_json(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                                 const char *json_text)
{
    return mf_gw_reply(c, rq, status, "application/json", json_text, strlen(json_text), 1);
}

enum MHD_Result mf_gw_reply_error(struct MHD_Connection *c, mf_gw_req *rq, unsigned status,
                                  const char *fmt, ...)
{
    char msg[MF__ERR_JSON_MAX];
    json_t *o;
    char *text;
    enum MHD_Result ret;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = json_pack("{s:s}", "error", msg);
    if (o == NULL) /* msg was not UTF-8 (a path): say less */
        o = json_pack("{s:s}", "error", "request refused");
    text = json_dumps(o, JSON_COMPACT);
    ret = mf_gw_reply_json(c, rq, status, text != NULL ? text : "{}");
    free(text);
    json_decref(o);
    return ret;
}

char *mf_gw_urlencode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *p = out;

    if (out == NULL)
        abort();
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return out;
}

/* Constant time in the length of the expected token. */
static int mf__token_eq(const char *got, const char *want)
{
    size_t n = strlen(want), m = got != NULL ? strlen(got) : 0;
    unsigned char diff = n != m;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < m ? got[i] : 0);
    return diff == 0;
}

static int mf__authorised(const mf_gw *g, struct MHD_Connection *c)
{
    const char *auth, *q;

    if (g->cfg->http_token[0] == '\0')
        return 1;
    auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
        return mf__token_eq(auth + 7, g->cfg->http_token);
    q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token");
    return q != NULL && mf__token_eq(q, g->cfg->http_token);
}

static enum MHD_Result mf__unauthorised(struct MHD_Connection *c, mf_gw_req *rq)
{
    static const char body[] = "{\"error\":\"authorization required\"}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mediafleet\"");
    rq->bytes = sizeof(body) - 1;
    return mf_gw_queue(c, rq, MHD_HTTP_UNAUTHORIZED, r);
}

static int mf__is(const char *method, const char *want)
{
    return strcmp(method, want) == 0;
}

/* GET routes (HEAD is answered by MHD from the same response). */
static enum MHD_Result mf__route_get(mf_gw *g, struct MHD_Connection *c, mf_gw_req *rq,
                                     const char *url)
{
    if (strcmp(url, "/metrics") == 0)
        return mf_gw_metrics(g, c, rq);
    if (strcmp(url, "/api/status") == 0)
        return mf_gw_status(g, c, rq);
    if (strcmp(url, "/api/events") == 0)
        return mf_gw_events(g, c, rq);
    if (strcmp(url, "/api/files") == 0)
        return mf_gw_file_by_path(g, c, rq);
    if (strncmp(url, "/api/files/", 11) == 0)
        return mf_gw_file_record(g, c, rq, url + 11);
    if (strncmp(url, "/files/", 7) == 0)
        return mf_gw_output(g, c, rq, url + 7);
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        return mf_gw_page(g, c, rq);
    return mf_gw_reply_error(c, rq, MHD_HTTP_NOT_FOUND, "no such endpoint");
}

enum MHD_Result mf_gw_access(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    mf_gw *g = cls;
    mf_gw_req *rq = *con_cls;
    int get = mf__is(method, MHD_HTTP_METHOD_GET) || mf__is(method, MHD_HTTP_METHOD_HEAD);
    int upload = (mf__is(method, MHD_HTTP_METHOD_PUT) && strncmp(url, "/api/upload/", 12) == 0) ||
                 (mf__is(method, MHD_HTTP_METHOD_POST) && strcmp(url, "/api/upload") == 0);

    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (rq == NULL)
            abort();
        rq->t0_us = mf__mono_us();
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        rq->path = strdup(url);
        if (rq->path == NULL)
            abort();
        *con_cls = rq;
        /* A GET is answered on the next call, once MHD knows the request has no body:
         * libmicrohttpd closes the connection after a response queued on the first call. */
        if (get)
            return MHD_YES;
        if (!mf__authorised(g, c))
            return mf__unauthorised(c, rq); /* the body is never read: MHD closes after it */
        if (!upload)
            return mf_gw_reply_error(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "%s not allowed here",
                                     method);
    }
    if (upload)
        return mf_gw_upload(g, c, rq, url, upload_data, upload_data_size);
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* a GET with a body: the body is ignored */
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0)
        return url[1] == 'h' ? mf_gw_healthz(g, c, rq) : mf_gw_readyz(g, c, rq);
    if (!mf__authorised(g, c))
        return mf__unauthorised(c, rq);
    return mf__route_get(g, c, rq, url);
}

void mf_gw_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
    mf_gw_req *rq = *con_cls;
    char qpath[512];

    if (rq == NULL)
        return;
    mf_log(MF_LOG_DEBUG, "method=%s path=%s status=%u bytes=%llu ms=%.3f%s", rq->method,
           mf_log_quote(qpath, sizeof(qpath), rq->path), rq->status, (unsigned long long)rq->bytes,
           (double)(mf__mono_us() - rq->t0_us) / 1000.0,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    mf_gw_upload_free(rq->up);
    free(rq->path);
    free(rq);
    *con_cls = NULL;
}

/* MHD's unescaper for the URL path and query: %XX decoded in place, except that %00 becomes
 * byte 0x01, so no NUL ever cuts a path short: every path check refuses control bytes, and
 * no output name or record path matches one. */
size_t mf_gw_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    char *w = s;

    for (const char *p = s; *p != '\0'; p++) {
        int hi, lo;

        if (*p == '%' && p[1] != '\0' && p[2] != '\0') {
            hi = p[1] <= '9' ? p[1] - '0' : (p[1] | 0x20) - 'a' + 10;
            lo = p[2] <= '9' ? p[2] - '0' : (p[2] | 0x20) - 'a' + 10;
            if (hi >= 0 && hi < 16 && lo >= 0 && lo < 16) {
                int v = hi * 16 + lo;
                *w++ = (char)(v == 0 ? 1 : v);
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
    return (size_t)(w - s);
}
