/* The Redis connection (redis.h): URL parsing, connection with timeouts, AUTH and SELECT,
 * reconnection with back-off, and the job protocol's Lua scripts, loaded again on every
 * (re)connect because a restarted Redis has forgotten them. hiredis 0.14, blocking API.
 *
 * Every command goes through call_run(), which reconnects once: after a Redis restart the
 * first command on the old socket fails with an I/O error, and one new connection is all it
 * takes to carry on. Anything longer (Redis down for a while) is mf_redis_ensure()'s job. */
#include "mf/redis.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "internal.h"

/* Connecting to a live Redis, local or on the LAN, takes milliseconds; 2 s allows for a
 * loaded host without making a reconnect loop deaf to its stop flag for long. */
#define MF_REDIS_CONNECT_TIMEOUT_MS 2000
/* Read/write timeout of one command. Our commands and scripts are O(1) or O(log n) and a
 * dispatcher pipeline of thousands of uploads takes well under a second, so 15 s only
 * trips on a hung server or a dead network path, which then counts as an I/O error. */
#define MF_REDIS_IO_TIMEOUT_MS 15000
#define MF_REDIS_SHA_LEN 41 /* 40 hex digits of SHA-1 + NUL */
#define MF_REDIS_SCRIPTS_MAX 16
#define MF_REDIS_SCRIPT_ARGS_MAX 32

struct mf_redis {
    redisContext *ctx; /* NULL while disconnected */
    char *host;        /* TCP host, or NULL for a unix socket */
    int port;
    char *sock; /* unix socket path, or NULL */
    char *user; /* ACL user, or NULL */
    char *password;
    long db;
    char *where;        /* "host:port" or the socket path, for messages (no password) */
    int64_t timeout_ms; /* command read/write timeout */
    char *name;         /* CLIENT SETNAME on every (re)connect, or NULL */
    char sha[MF_REDIS_SCRIPTS_MAX][MF_REDIS_SHA_LEN];
};

/* One command in either hiredis form: printf-style (fmt, ap) or argv. */
typedef struct redis_call {
    const char *what; /* names the command in messages: "XREADGROUP", "script enqueue" */
    const char *fmt;
    va_list *ap;
    int argc;
    const char **argv;
    const size_t *argvlen;
} redis_call;

static struct timeval ms_tv(int64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

/* ---- URL ---------------------------------------------------------------------------- */

static int url_invalid(mf_err *err, const char *why)
{
    return mf_err_set(err, MF_ECONFIG,
                      "redis_url is invalid: %s (expected redis://[:password@]host[:port][/db] "
                      "or unix:///path[?db=N])",
                      why);
}

/* Parses n decimal digits into lo..hi. Returns 0 or -1. */
static int parse_long(const char *s, size_t n, long lo, long hi, long *out)
{
    long v = 0;
    size_t i;

    if (n == 0 || n > 9)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a heap string (passwords may hold '@', ':' or '/'). */
static char *pct_decode(const char *s, size_t n)
{
    char *out = mf_xmemdup(s, n);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int hi = i + 2 < n && s[i] == '%' ? hex_digit(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;

        if (lo >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* userinfo is "password", ":password" or "user:password", as redis-cli -u reads it. */
static void parse_userinfo(mf_redis *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);

    if (colon == NULL) {
        r->password = pct_decode(s, n);
        return;
    }
    if (colon > s)
        r->user = pct_decode(s, (size_t)(colon - s));
    r->password = pct_decode(colon + 1, n - (size_t)(colon + 1 - s));
}

/* host part of redis://: "host", "host:port", "[v6]" or "[v6]:port". */
static int parse_hostport(mf_redis *r, const char *s, size_t n, mf_err *err)
{
    const char *end = s + n, *host = s, *hend, *colon;
    long port = 6379;

    if (n > 0 && s[0] == '[') {
        hend = memchr(s, ']', n);
        if (hend == NULL)
            return url_invalid(err, "unterminated [ in host");
        host = s + 1;
        colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
        if (colon == NULL && hend + 1 != end)
            return url_invalid(err, "junk after ]");
    } else {
        colon = memrchr(s, ':', n);
        hend = colon != NULL ? colon : end;
    }
    if (hend == host)
        return url_invalid(err, "no host");
    if (colon != NULL && parse_long(colon + 1, (size_t)(end - colon - 1), 1, 65535, &port) < 0)
        return url_invalid(err, "port must be 1..65535");
    r->host = mf_xmemdup(host, (size_t)(hend - host));
    r->port = (int)port;
    return 0;
}

static int parse_tcp(mf_redis *r, const char *s, mf_err *err)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    const char *at = memrchr(s, '@', alen);
    const char *hp = at != NULL ? at + 1 : s;
    char where[300];
    int rc;

    if (strchr(s, '?') != NULL)
        return url_invalid(err, "query parameters are for unix:// URLs");
    if (at != NULL)
        parse_userinfo(r, s, (size_t)(at - s));
    rc = parse_hostport(r, hp, alen - (size_t)(hp - s), err);
    if (rc < 0)
        return rc;
    if (slash != NULL && slash[1] != '\0' &&
        parse_long(slash + 1, strlen(slash + 1), 0, 1000000, &r->db) < 0)
        return url_invalid(err, "the path must be a database number");
    snprintf(where, sizeof(where), "%s:%d", r->host, r->port);
    r->where = mf_xmemdup(where, strlen(where));
    return 0;
}

/* unix:///path[?db=N&password=P] */
static int parse_unix(mf_redis *r, const char *s, mf_err *err)
{
    const char *q = strchr(s, '?');
    size_t plen = q != NULL ? (size_t)(q - s) : strlen(s);

    if (plen == 0 || s[0] != '/')
        return url_invalid(err, "the socket path must be absolute");
    r->sock = mf_xmemdup(s, plen);
    r->where = mf_xmemdup(s, plen);
    while (q != NULL) {
        const char *p = q + 1, *amp = strchr(p, '&');
        size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p);

        if (n > 3 && strncmp(p, "db=", 3) == 0) {
            if (parse_long(p + 3, n - 3, 0, 1000000, &r->db) < 0)
                return url_invalid(err, "db must be a number");
        } else if (n >= 9 && strncmp(p, "password=", 9) == 0) {
            free(r->password);
            r->password = pct_decode(p + 9, n - 9);
        } else {
            return url_invalid(err, "unknown query parameter (db and password are known)");
        }
        q = amp;
    }
    return 0;
}

static int url_parse(mf_redis *r, const char *url, mf_err *err)
{
    if (url == NULL || url[0] == '\0')
        return url_invalid(err, "empty");
    if (strncmp(url, "redis://", 8) == 0)
        return parse_tcp(r, url + 8, err);
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(r, url + 7, err);
    if (strncmp(url, "rediss://", 9) == 0)
        return url_invalid(err, "TLS is not supported by hiredis 0.14");
    return url_invalid(err, "unknown scheme");
}

/* ---- connection --------------------------------------------------------------------- */

/* One command on a context being set up; error replies are failures. */
static int ctx_run(redisContext *c, const char *what, int argc, const char **argv, redisReply **out,
                   mf_err *err)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    int rc = 0;

    *out = NULL;
    if (rep == NULL)
        return mf_err_set(err, MF_EREDIS, "redis %s failed: %s", what, c->errstr);
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = mf_err_set(err, MF_EREDIS, "redis %s failed: %s", what, rep->str);
        freeReplyObject(rep);
        return rc;
    }
    *out = rep;
    return 0;
}

static int load_script(mf_redis *r, redisContext *c, size_t i, mf_err *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", mf__scripts[i].source};
    redisReply *rep = NULL;
    int rc;

    rc = ctx_run(c, "SCRIPT LOAD", 3, argv, &rep, err);
    if (rc < 0)
        goto out;
    if (rep->type != REDIS_REPLY_STRING || rep->len != MF_REDIS_SHA_LEN - 1) {
        rc = mf_err_set(err, MF_EPROTO, "redis SCRIPT LOAD of %s returned no SHA-1",
                        mf__scripts[i].name);
        goto out;
    }
    memcpy(r->sha[i], rep->str, MF_REDIS_SHA_LEN);
out:
    freeReplyObject(rep);
    return rc;
}

/* AUTH, SELECT and SCRIPT LOAD on a new connection. */
static int handshake(mf_redis *r, redisContext *c, mf_err *err)
{
    char db[16];
    const char *argv[3];
    redisReply *rep = NULL;
    size_t i;
    int rc = 0;

    if (r->password != NULL) {
        argv[0] = "AUTH";
        argv[1] = r->user != NULL ? r->user : r->password;
        argv[2] = r->password;
        rc = ctx_run(c, "AUTH", r->user != NULL ? 3 : 2, argv, &rep, err);
        freeReplyObject(rep);
    }
    if (rc == 0 && r->db != 0) {
        snprintf(db, sizeof(db), "%ld", r->db);
        argv[0] = "SELECT";
        argv[1] = db;
        rc = ctx_run(c, "SELECT", 2, argv, &rep, err);
        freeReplyObject(rep);
    }
    if (rc == 0 && r->name != NULL) {
        argv[0] = "CLIENT";
        argv[1] = "SETNAME";
        argv[2] = r->name;
        rc = ctx_run(c, "CLIENT SETNAME", 3, argv, &rep, err);
        freeReplyObject(rep);
    }
    for (i = 0; rc == 0 && i < mf__nscripts; i++)
        rc = load_script(r, c, i, err);
    return rc;
}

static int redis_connect(mf_redis *r, mf_err *err)
{
    struct timeval tv = ms_tv(MF_REDIS_CONNECT_TIMEOUT_MS);
    redisContext *c;
    int rc = 0;

    if (r->sock != NULL)
        c = redisConnectUnixWithTimeout(r->sock, tv);
    else
        c = redisConnectWithTimeout(r->host, r->port, tv);
    if (c == NULL)
        abort(); /* hiredis returns NULL only when out of memory */
    if (c->err != 0) {
        rc = mf_err_set(err, MF_EREDIS, "connect to redis at %s failed: %s", r->where, c->errstr);
        goto out;
    }
    if (redisSetTimeout(c, ms_tv(r->timeout_ms)) != REDIS_OK) {
        rc = mf_err_set(err, MF_EREDIS, "redisSetTimeout() failed: %s", c->errstr);
        goto out;
    }
    if (r->host != NULL)
        redisEnableKeepAlive(c); /* notices a peer gone without a FIN */
    rc = handshake(r, c, err);
out:
    if (rc < 0)
        redisFree(c);
    else
        r->ctx = c;
    return rc;
}

/* hiredis writes with write(2): a Redis that closed the socket would kill the process with
 * SIGPIPE instead of returning EPIPE. Ignore it unless the program chose a handler. */
static void ignore_sigpipe(void)
{
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int mf_redis_new(mf_redis **out, const char *url, mf_err *err)
{
    mf_redis *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL || mf__nscripts > MF_REDIS_SCRIPTS_MAX)
        abort();
    *out = NULL;
    r->timeout_ms = MF_REDIS_IO_TIMEOUT_MS;
    ignore_sigpipe();
    rc = url_parse(r, url, err);
    if (rc < 0)
        goto out;
    rc = redis_connect(r, err);
out:
    if (rc < 0)
        mf_redis_free(r);
    else
        *out = r;
    return rc;
}

void mf_redis_free(mf_redis *r)
{
    if (r == NULL)
        return;
    redisFree(r->ctx);
    free(r->host);
    free(r->sock);
    free(r->user);
    free(r->password);
    free(r->where);
    free(r->name);
    free(r);
}

int mf_redis_set_name(mf_redis *r, const char *name, mf_err *err)
{
    const char *argv[3] = {"CLIENT", "SETNAME", name};
    redisReply *rep = NULL;
    int rc;

    free(r->name);
    r->name = strdup(name);
    if (r->name == NULL)
        abort();
    rc = mf_redis_cmdargv(r, &rep, err, 3, argv, NULL);
    freeReplyObject(rep);
    return rc;
}

redisContext *mf_redis_ctx(mf_redis *r)
{
    if (r->ctx != NULL && r->ctx->err != 0)
        mf_redis_mark_broken(r);
    return r->ctx;
}

void mf_redis_mark_broken(mf_redis *r)
{
    redisFree(r->ctx);
    r->ctx = NULL;
}

void mf_redis_set_timeout(mf_redis *r, int64_t ms)
{
    mf__redis_set_timeout(r, ms);
}

void mf__redis_set_timeout(mf_redis *r, int64_t ms)
{
    r->timeout_ms = ms > 0 ? ms : MF_REDIS_IO_TIMEOUT_MS;
    if (r->ctx != NULL && redisSetTimeout(r->ctx, ms_tv(r->timeout_ms)) != REDIS_OK)
        mf_redis_mark_broken(r);
}

/* Sleeps ms in short slices so that *stop (set by a signal handler) is seen promptly. */
static void sleep_watching(int64_t ms, volatile int *stop)
{
    struct timespec ts = {0, 50 * 1000 * 1000};

    while (ms > 0 && !*stop) {
        nanosleep(&ts, NULL);
        ms -= 50;
    }
}

int mf_redis_ensure(mf_redis *r, volatile int *stop, mf_err *err)
{
    int64_t delay = MF_REDIS_RETRY_MIN_MS;
    char quoted[256];
    int rc = 0, failed = 0;

    mf_redis_ctx(r); /* drops a context hiredis has marked failed */
    while (r->ctx == NULL) {
        rc = redis_connect(r, err);
        if (rc == 0 || stop == NULL || *stop)
            break;
        mf_log_error(MF_LOG_WARN, err != NULL ? err->msg : "",
                     "msg=\"redis unavailable, retrying\" retry_ms=%" PRId64, delay);
        failed = 1;
        sleep_watching(delay, stop);
        delay = mf_backoff_next(delay, MF_REDIS_RETRY_MIN_MS, MF_REDIS_RETRY_MAX_MS);
    }
    if (r->ctx != NULL && failed)
        mf_log(MF_LOG_INFO, "msg=\"redis reconnected\" where=%s",
               mf_log_quote(quoted, sizeof(quoted), r->where));
    return r->ctx != NULL ? 0 : rc;
}

/* ---- commands ----------------------------------------------------------------------- */

static redisReply *call_send(redisContext *c, const redis_call *call)
{
    redisReply *rep;
    va_list aq;

    if (call->fmt == NULL)
        return redisCommandArgv(c, call->argc, call->argv, call->argvlen);
    va_copy(aq, *call->ap);
    rep = redisvCommand(c, call->fmt, aq);
    va_end(aq);
    return rep;
}

/* Sends call and reads its reply, reconnecting once. Error replies come back as replies. */
static int call_run(mf_redis *r, const redis_call *call, redisReply **reply, mf_err *err)
{
    redisReply *rep = NULL;
    int rc = 0, tries;

    mf_redis_ctx(r);
    for (tries = 0; tries < 2 && rep == NULL; tries++) {
        if (r->ctx == NULL) {
            rc = redis_connect(r, err);
            if (rc < 0)
                break;
        }
        rep = call_send(r->ctx, call);
        if (rep == NULL) {
            rc = mf_err_set(err, MF_EREDIS, "redis %s failed: %s", call->what, r->ctx->errstr);
            mf_redis_mark_broken(r);
        }
    }
    *reply = rep;
    return rep != NULL ? 0 : rc;
}

/* An error reply becomes MF_EPROTO with the text in err: "redis XGROUP failed: BUSYGROUP ...". */
static int reply_check(redisReply **reply, const char *what, mf_err *err)
{
    int rc;

    if ((*reply)->type != REDIS_REPLY_ERROR)
        return 0;
    rc = mf_err_set(err, MF_EPROTO, "redis %s failed: %.*s", what, (int)(*reply)->len,
                    (*reply)->str);
    freeReplyObject(*reply);
    *reply = NULL;
    return rc;
}

/* The command word of a format ("XREADGROUP GROUP %s ..." -> "XREADGROUP"). */
static const char *fmt_word(const char *fmt, char *buf, size_t size)
{
    size_t n = strcspn(fmt, " ");

    if (n >= size)
        n = size - 1;
    memcpy(buf, fmt, n);
    buf[n] = '\0';
    return buf;
}

int mf_redis_cmd(mf_redis *r, redisReply **reply, mf_err *err, const char *fmt, ...)
{
    redis_call call = {0};
    char what[32];
    va_list ap;
    int rc;

    call.what = fmt_word(fmt, what, sizeof(what));
    call.fmt = fmt;
    va_start(ap, fmt);
    call.ap = &ap;
    rc = call_run(r, &call, reply, err);
    va_end(ap);
    if (rc == 0)
        rc = reply_check(reply, call.what, err);
    return rc;
}

int mf_redis_cmdargv(mf_redis *r, redisReply **reply, mf_err *err, int argc, const char **argv,
                     const size_t *argvlen)
{
    redis_call call = {0};
    char what[32];
    size_t n = argvlen != NULL ? argvlen[0] : strlen(argv[0]);
    int rc;

    snprintf(what, sizeof(what), "%.*s", (int)(n < sizeof(what) ? n : sizeof(what) - 1), argv[0]);
    call.what = what;
    call.argc = argc;
    call.argv = argv;
    call.argvlen = argvlen;
    rc = call_run(r, &call, reply, err);
    if (rc == 0)
        rc = reply_check(reply, call.what, err);
    return rc;
}

/* EVALSHA <sha> 0 argv... into vec/len (room for MF_REDIS_SCRIPT_ARGS_MAX). */
static int script_argv(mf_redis *r, const char *name, int argc, const char **argv,
                       const size_t *argvlen, const char **vec, size_t *len, mf_err *err)
{
    int i, idx = mf__script_find(name);

    if (idx < 0)
        return mf_err_set(err, MF_EINVAL, "no script named %s", name);
    if (argc + 3 > MF_REDIS_SCRIPT_ARGS_MAX)
        return mf_err_set(err, MF_EINVAL, "script %s: too many arguments", name);
    vec[0] = "EVALSHA";
    vec[1] = r->sha[idx];
    vec[2] = "0";
    for (i = 0; i < argc; i++) {
        vec[i + 3] = argv[i];
        len[i + 3] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
    }
    len[0] = 7;
    len[1] = strlen(r->sha[idx]);
    len[2] = 1;
    return idx;
}

static int is_noscript(const redisReply *rep)
{
    return rep->type == REDIS_REPLY_ERROR && rep->len >= 8 && memcmp(rep->str, "NOSCRIPT", 8) == 0;
}

int mf_redis_script(mf_redis *r, const char *name, redisReply **reply, mf_err *err, int argc,
                    const char **argv, const size_t *argvlen)
{
    const char *vec[MF_REDIS_SCRIPT_ARGS_MAX];
    size_t len[MF_REDIS_SCRIPT_ARGS_MAX];
    redis_call call = {0};
    char what[48];
    int rc, idx;

    *reply = NULL;
    idx = script_argv(r, name, argc, argv, argvlen, vec, len, err);
    if (idx < 0)
        return idx;
    snprintf(what, sizeof(what), "script %s", name);
    call.what = what;
    call.argc = argc + 3;
    call.argv = vec;
    call.argvlen = len;
    rc = call_run(r, &call, reply, err);
    if (rc == 0 && is_noscript(*reply)) {
        /* SCRIPT FLUSH since we connected: load it again (same SHA-1) and run it once more */
        freeReplyObject(*reply);
        *reply = NULL;
        rc = load_script(r, r->ctx, (size_t)idx, err);
        if (rc == 0)
            rc = call_run(r, &call, reply, err);
    }
    if (rc == 0)
        rc = reply_check(reply, call.what, err);
    return rc;
}

int mf_redis_script_append(mf_redis *r, const char *name, int argc, const char **argv,
                           const size_t *argvlen, mf_err *err)
{
    const char *vec[MF_REDIS_SCRIPT_ARGS_MAX];
    size_t len[MF_REDIS_SCRIPT_ARGS_MAX];
    int idx;

    idx = script_argv(r, name, argc, argv, argvlen, vec, len, err);
    if (idx < 0)
        return idx;
    if (mf_redis_ctx(r) == NULL)
        return mf_err_set(err, MF_EREDIS, "redis at %s is not connected", r->where);
    if (redisAppendCommandArgv(r->ctx, argc + 3, vec, len) != REDIS_OK)
        return mf_err_set(err, MF_EREDIS, "redisAppendCommandArgv() failed: %s", r->ctx->errstr);
    return 0;
}
