/* Steering commands: mfctl scale (a host's plan), pause / resume (a lane on every host) and
 * reload (a host's mfctl up replaces its processes). They only write Redis; the running
 * `mfctl up` of the host (steer.c) and the workers (their registry beat) act within about a
 * second, so they work from any terminal that reaches the fleet's Redis. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/lanes.h"
#include "mfctl.h"

#define MF__KEY_MAX 512
#define MF__RELOAD_WAIT_MS 5000

/* --host NAME / --host=NAME at argv[*i]: sets host, returns 1; 0 when argv[*i] is not it. */
static int mf__host_flag(int argc, char **argv, int *i, char *host, size_t size)
{
    const char *v = NULL;

    if (strncmp(argv[*i], "--host=", 7) == 0)
        v = argv[*i] + 7;
    else if (strcmp(argv[*i], "--host") == 0 && *i + 1 < argc)
        v = argv[++*i];
    if (v == NULL)
        return 0;
    snprintf(host, size, "%s", v);
    return 1;
}

static void mf__this_host(char *host, size_t size)
{
    if (gethostname(host, size) < 0)
        snprintf(host, size, "localhost");
    host[size - 1] = '\0';
}

/* Parses "lane=N" or "lane=auto" into *lane and *count (-1 for auto). */
static int mf__scale_item(const char *item, const mf_lane_info **lane, int *count)
{
    const char *eq = strchr(item, '=');
    char *end = NULL;
    long n;

    if (eq == NULL) {
        mf_ctl_errorf("scale: '%s' is not LANE=N or LANE=auto", item);
        return MF_CTL_EXIT_USAGE;
    }
    *lane = mf_lanes_find(item, (size_t)(eq - item));
    if (*lane == NULL) {
        mf_ctl_errorf("scale: unknown lane '%.*s' (lanes: %s)", (int)(eq - item), item,
                      mf_lanes_list());
        return MF_CTL_EXIT_USAGE;
    }
    if (strcmp(eq + 1, "auto") == 0) {
        *count = -1;
        return 0;
    }
    errno = 0;
    n = strtol(eq + 1, &end, 10);
    if (eq[1] < '0' || eq[1] > '9' || errno != 0 || *end != '\0' || n > MF_CTL_PLAN_MAX_WORKERS) {
        mf_ctl_errorf("scale: bad count '%s' for lane %s (want 0..%d or auto)", eq + 1,
                      (*lane)->name, MF_CTL_PLAN_MAX_WORKERS);
        return MF_CTL_EXIT_USAGE;
    }
    *count = (int)n;
    return 0;
}

int mf_ctl_scale(mf_ctl *ctx, int argc, char **argv)
{
    const mf_lane_info *lanes[64];
    int counts[64], n = 0, rc = 0;
    char host[256], key[MF__KEY_MAX];
    redisReply *rep = NULL;
    mf_redis *r = NULL;
    mf_err err;

    mf__this_host(host, sizeof(host));
    for (int i = 1; i < argc; i++) {
        if (mf__host_flag(argc, argv, &i, host, sizeof(host)))
            continue;
        if (argv[i][0] == '-' || n == 64) {
            mf_ctl_errorf("scale: unexpected argument '%s' (see mfctl scale --help)", argv[i]);
            return MF_CTL_EXIT_USAGE;
        }
        rc = mf__scale_item(argv[i], &lanes[n], &counts[n]);
        if (rc != 0)
            return rc;
        n++;
    }
    if (n == 0) {
        mf_ctl_errorf("usage: mfctl scale LANE=N|auto... [--host NAME]");
        return MF_CTL_EXIT_USAGE;
    }
    if (mf_ctl_connect(ctx, &r, &err) < 0)
        return MF_CTL_EXIT_FAIL;
    snprintf(key, sizeof(key), "%splan:%s", ctx->cfg.prefix, host);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (counts[i] < 0)
            rc = mf_redis_cmd(r, &rep, &err, "HDEL %s %s", key, lanes[i]->name);
        else
            rc = mf_redis_cmd(r, &rep, &err, "HSET %s %s %d", key, lanes[i]->name, counts[i]);
        freeReplyObject(rep);
        rep = NULL;
        if (rc == 0 && counts[i] < 0)
            printf("%s: %s follows the automatic plan\n", host, lanes[i]->name);
        else if (rc == 0)
            printf("%s: %s=%d\n", host, lanes[i]->name, counts[i]);
    }
    if (rc < 0)
        mf_ctl_errorf("scale: %s", err.msg);
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}

/* pause / resume LANE...: SADD / SREM <prefix>paused. */
static int mf__pause(mf_ctl *ctx, int argc, char **argv, int pause)
{
    const char *cmd = pause ? "pause" : "resume";
    char key[MF__KEY_MAX];
    redisReply *rep = NULL;
    mf_redis *r = NULL;
    mf_err err;
    int rc = 0;

    if (argc < 2) {
        mf_ctl_errorf("usage: mfctl %s LANE...", cmd);
        return MF_CTL_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (mf_lanes_find(argv[i], strlen(argv[i])) == NULL) {
            mf_ctl_errorf("%s: unknown lane '%s' (lanes: %s)", cmd, argv[i], mf_lanes_list());
            return MF_CTL_EXIT_USAGE;
        }
    }
    if (mf_ctl_connect(ctx, &r, &err) < 0)
        return MF_CTL_EXIT_FAIL;
    snprintf(key, sizeof(key), "%spaused", ctx->cfg.prefix);
    for (int i = 1; rc == 0 && i < argc; i++) {
        rc = mf_redis_cmd(r, &rep, &err, "%s %s %s", pause ? "SADD" : "SREM", key, argv[i]);
        freeReplyObject(rep);
        rep = NULL;
        if (rc == 0)
            printf(pause ? "%s paused: its workers finish their job and take no new one; "
                           "uploads are still queued\n"
                         : "%s resumed\n",
                   argv[i]);
    }
    if (rc < 0)
        mf_ctl_errorf("%s: %s", cmd, err.msg);
    mf_redis_free(r);
    return rc < 0 ? MF_CTL_EXIT_FAIL : 0;
}

int mf_ctl_pause(mf_ctl *ctx, int argc, char **argv)
{
    return mf__pause(ctx, argc, argv, 1);
}

int mf_ctl_resume(mf_ctl *ctx, int argc, char **argv)
{
    return mf__pause(ctx, argc, argv, 0);
}

/* The generation field of <prefix>host:<host>, or -1 when no mfctl up runs there. */
static long long mf__host_generation(mf_redis *r, const char *key, mf_err *err)
{
    redisReply *rep = NULL;
    long long gen = -1;

    if (mf_redis_cmd(r, &rep, err, "HGET %s generation", key) == 0 &&
        rep->type == REDIS_REPLY_STRING)
        gen = strtoll(rep->str, NULL, 10);
    freeReplyObject(rep);
    return gen;
}

int mf_ctl_reload(mf_ctl *ctx, int argc, char **argv)
{
    char host[256], hkey[MF__KEY_MAX], rkey[MF__KEY_MAX];
    redisReply *rep = NULL;
    mf_redis *r = NULL;
    long long gen, now;
    int64_t deadline;
    mf_err err;
    int rc = MF_CTL_EXIT_FAIL;

    mf__this_host(host, sizeof(host));
    for (int i = 1; i < argc; i++) {
        if (!mf__host_flag(argc, argv, &i, host, sizeof(host))) {
            mf_ctl_errorf("reload: unexpected argument '%s' (see mfctl reload --help)", argv[i]);
            return MF_CTL_EXIT_USAGE;
        }
    }
    if (mf_ctl_connect(ctx, &r, &err) < 0)
        return MF_CTL_EXIT_FAIL;
    snprintf(hkey, sizeof(hkey), "%shost:%s", ctx->cfg.prefix, host);
    snprintf(rkey, sizeof(rkey), "%sreload:%s", ctx->cfg.prefix, host);
    gen = mf__host_generation(r, hkey, &err);
    if (gen < 0) {
        mf_ctl_errorf("reload: no `mfctl up` is running for host %s", host);
        goto out;
    }
    if (mf_redis_cmd(r, &rep, &err, "INCR %s", rkey) < 0) {
        mf_ctl_errorf("reload: %s", err.msg);
        goto out;
    }
    /* the host's mfctl up reads the counter every second and starts a new generation */
    deadline = mf_clock_mono_ms() + MF__RELOAD_WAIT_MS;
    do {
        usleep(100 * 1000);
        now = mf__host_generation(r, hkey, &err);
    } while (now <= gen && mf_clock_mono_ms() < deadline);
    if (now <= gen) {
        mf_ctl_errorf("reload: %s did not start a reload within %d s (see its log)", host,
                      MF__RELOAD_WAIT_MS / 1000);
        goto out;
    }
    printf("%s: reloading (generation %lld): every process is replaced one at a time, the new "
           "one first; running jobs finish or are handed back\n",
           host, now);
    rc = 0;
out:
    freeReplyObject(rep);
    mf_redis_free(r);
    return rc;
}
