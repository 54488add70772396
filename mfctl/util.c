/* What the subcommands share: finding binaries, the Redis URL, connecting, finding a record,
 * safe printing. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/fsutil.h"
#include "mf/id.h"
#include "mfctl.h"

#define MF__KEY_MAX 256

void mf_ctl_errorf(const char *fmt, ...)
{
    va_list ap;

    fputs("mfctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int mf__exe_in(const char *dir, size_t dirlen, const char *name, char *buf, size_t size)
{
    int n;

    if (dirlen == 0) /* an empty PATH entry means the current directory */
        n = snprintf(buf, size, "./%s", name);
    else
        n = snprintf(buf, size, "%.*s/%s", (int)dirlen, dir, name);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

/* Next to our own binary first, so a build tree or an install prefix runs its own
 * dispatcher and workers even when another version is on PATH. */
int mf_ctl_find_exe(const char *name, char *buf, size_t size)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    const char *path = getenv("PATH");
    const char *p;

    if (len > 0) {
        char *slash;

        self[len] = '\0';
        slash = strrchr(self, '/');
        if (slash != NULL && mf__exe_in(self, (size_t)(slash - self), name, buf, size) == 0)
            return 0;
    }
    for (p = path; p != NULL && *p != '\0';) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);

        if (mf__exe_in(p, dlen, name, buf, size) == 0)
            return 0;
        p = colon ? colon + 1 : NULL;
    }
    return -ENOENT;
}

int mf_ctl_socket_path(const mf_config *cfg, char *buf, size_t size, mf_err *err)
{
    char cwd[PATH_MAX];
    char real[PATH_MAX];
    const char *dir = cfg->state_dir;
    int n;

    /* the socket path is printed for redis-cli and must not depend on our cwd later */
    if (realpath(dir, real) != NULL) {
        dir = real;
    } else if (dir[0] != '/') {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return mf_err_sys(err, -errno, "getcwd()");
        while (dir[0] == '.' && dir[1] == '/')
            dir += 2;
        n = snprintf(real, sizeof(real), "%s/%s", cwd, dir);
        if (n < 0 || (size_t)n >= sizeof(real))
            return mf_err_set(err, MF_ECONFIG, "state_dir %s: path too long", cfg->state_dir);
        dir = real;
    }
    if (mf_fs_join(buf, size, dir, "redis.sock") < 0 || strlen(buf) > MF_CTL_SOCK_MAX)
        return mf_err_set(err, MF_ECONFIG,
                          "state_dir %s: path too long for a unix socket (%d bytes at most)",
                          cfg->state_dir, MF_CTL_SOCK_MAX);
    return 0;
}

int mf_ctl_redis_url(const mf_config *cfg, char *buf, size_t size, mf_err *err)
{
    char sock[PATH_MAX];
    int rc = 0;
    int n;

    if (cfg->redis_url[0] != '\0') {
        n = snprintf(buf, size, "%s", cfg->redis_url);
        goto check;
    }
    rc = mf_ctl_socket_path(cfg, sock, sizeof(sock), err);
    if (rc < 0)
        goto out;
    n = snprintf(buf, size, "unix://%s", sock);
check:
    if (n < 0 || (size_t)n >= size)
        rc = mf_err_set(err, MF_ECONFIG, "redis_url too long");
out:
    return rc;
}

int mf_ctl_connect(const mf_ctl *ctx, mf_redis **out, mf_err *err)
{
    char url[PATH_MAX + 16];
    int rc = mf_ctl_redis_url(&ctx->cfg, url, sizeof(url), err);

    *out = NULL;
    if (rc < 0) {
        mf_ctl_errorf("%s", err->msg);
        goto out;
    }
    rc = mf_redis_new(out, url, err);
    if (rc < 0) {
        if (ctx->cfg.redis_url[0] == '\0')
            mf_ctl_errorf("cannot reach the fleet's embedded redis (%s): %s\n"
                          "       is the fleet running? start it with `mfctl up` (state_dir %s)",
                          url, err->msg, ctx->cfg.state_dir);
        else
            mf_ctl_errorf("cannot reach redis (redis_url): %s", err->msg);
    }
out:
    return rc;
}

void mf_ctl_print_safe(FILE *out, const char *s, int keep_nl)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p < 0x20 && !(keep_nl && *p == '\n')) || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

const char *mf_ctl_key(char *buf, size_t size, const char *prefix, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s%s%s", prefix, a, b ? b : "");

    if (n < 0 || (size_t)n >= size)
        buf[0] = '\0';
    return buf;
}

/* HGET <prefix>paths rel into id; 1 when found. */
static int mf__path_id(const mf_ctl *ctx, mf_redis *r, const char *rel, char *id, mf_err *err)
{
    char key[MF__KEY_MAX];
    redisReply *reply = NULL;
    int rc = mf_redis_cmd(r, &reply, err, "HGET %s %s",
                          mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "paths", NULL), rel);

    if (rc == 0 && reply->type == REDIS_REPLY_STRING && mf_id_valid(reply->str)) {
        memcpy(id, reply->str, MF_ID_LEN);
        rc = 1;
    }
    freeReplyObject(reply);
    return rc;
}

/* A path on disk inside the inbox -> the path relative to the inbox, as recorded. */
static const char *mf__inbox_rel(const mf_ctl *ctx, const char *target, char *buf, size_t size)
{
    char inbox[PATH_MAX];
    char real[PATH_MAX];
    size_t n;

    if (realpath(ctx->cfg.inbox, inbox) == NULL || realpath(target, real) == NULL)
        return NULL;
    n = strlen(inbox);
    if (strncmp(real, inbox, n) != 0 || real[n] != '/')
        return NULL;
    snprintf(buf, size, "%s", real + n + 1);
    return buf;
}

int mf_ctl_resolve(const mf_ctl *ctx, mf_redis *r, const char *target, char id[MF_ID_LEN],
                   mf_err *err)
{
    char key[MF__KEY_MAX];
    char rel[PATH_MAX];
    redisReply *reply = NULL;
    int rc = 0;

    if (mf_id_valid(target)) {
        rc = mf_redis_cmd(r, &reply, err, "EXISTS %s",
                          mf_ctl_key(key, sizeof(key), ctx->cfg.prefix, "file:", target));
        if (rc == 0 && reply->integer == 1) {
            memcpy(id, target, MF_ID_LEN);
            rc = 1;
        }
        freeReplyObject(reply);
        if (rc != 0)
            goto out;
    }
    rc = mf__path_id(ctx, r, target, id, err);
    if (rc == 0 && mf__inbox_rel(ctx, target, rel, sizeof(rel)) != NULL)
        rc = mf__path_id(ctx, r, rel, id, err);
out:
    return rc;
}

/* One SCAN batch: HMGET status type of every key, then fn for the matching ones. */
static int mf__scan_batch(const mf_ctl *ctx, mf_redis *r, const redisReply *keys,
                          const char *status, const char *lane, int (*fn)(const char *id, void *ud),
                          void *ud, mf_err *err)
{
    size_t plen = strlen(ctx->cfg.prefix) + 5; /* "<prefix>file:" */
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        redisReply *f = NULL;

        if (k->type != REDIS_REPLY_STRING || k->len <= plen)
            continue;
        rc = mf_redis_cmd(r, &f, err, "HMGET %b status type", k->str, (size_t)k->len);
        if (rc == 0 && f->type == REDIS_REPLY_ARRAY && f->elements == 2 &&
            f->element[0]->type == REDIS_REPLY_STRING && strcmp(f->element[0]->str, status) == 0 &&
            (lane == NULL ||
             (f->element[1]->type == REDIS_REPLY_STRING && strcmp(f->element[1]->str, lane) == 0)))
            rc = fn(k->str + plen, ud);
        freeReplyObject(f);
    }
    return rc;
}

int mf_ctl_scan_records(const mf_ctl *ctx, mf_redis *r, const char *status, const char *lane,
                        int (*fn)(const char *id, void *ud), void *ud, mf_err *err)
{
    char cursor[32] = "0", match[MF__KEY_MAX];
    redisReply *rep = NULL;
    int rc = 0;

    snprintf(match, sizeof(match), "%sfile:*", ctx->cfg.prefix);
    do {
        rc = mf_redis_cmd(r, &rep, err, "SCAN %s MATCH %s COUNT 1000", cursor, match);
        if (rc < 0)
            break;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY) {
            rc = mf_err_set(err, MF_EPROTO, "SCAN: unexpected reply");
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        rc = mf__scan_batch(ctx, r, rep->element[1], status, lane, fn, ud, err);
        freeReplyObject(rep);
        rep = NULL;
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    freeReplyObject(rep);
    return rc;
}
