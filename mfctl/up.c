/* mfctl up: a whole fleet on one machine. Starts an embedded redis-server when redis_url is
 * empty (unix socket and append-only file under state_dir, so a restarted fleet keeps its
 * records), then the dispatcher and the workers of the plan, and supervises them (fleet.c).
 *
 * Children get the configuration the way mfctl got it: the same environment (MF_CONFIG
 * included), the config flags mfctl was given, and --redis-url naming the Redis in use. */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/log.h"
#include "mf/queue.h"
#include "mf/lanes.h"
#include "mfctl.h"

#define MF__UP_GRACE_S 30          /* default drain time for workers on shutdown */
#define MF__UP_STORE_WAIT_MS 10000 /* redis-server answering PING after start */

typedef struct mf__up {
    mf_ctl *ctx;
    mf_ctl_fleet fleet;
    mf_ctl_steer steer;
    char url[PATH_MAX + 16];
    char sock[PATH_MAX];
    char state[PATH_MAX]; /* absolute state_dir */
} mf__up;

/* One log line whose msg is "<what>: <why>", quoted for logfmt. */
static void mf__up_log(mf_log_level level, const char *what, const char *why)
{
    char msg[MF_ERR_MSG_MAX + 128];
    char q[sizeof(msg) + 64];

    snprintf(msg, sizeof(msg), "%s%s%s", what, why ? ": " : "", why ? why : "");
    mf_log(level, "msg=%s", mf_log_quote(q, sizeof(q), msg));
}

static int mf__up_args(mf__up *u, int argc, char **argv)
{
    long grace = MF__UP_GRACE_S;
    char *end = NULL;

    for (int i = 1; i < argc; i++) {
        const char *v = NULL;

        if (strncmp(argv[i], "--grace=", 8) == 0)
            v = argv[i] + 8;
        else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc)
            v = argv[++i];
        if (v == NULL) {
            mf_ctl_errorf("up: unexpected argument '%s' (see mfctl help)", argv[i]);
            return MF_CTL_EXIT_USAGE;
        }
        errno = 0;
        grace = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || grace < 0 || grace > 86400) {
            mf_ctl_errorf("up: --grace wants seconds (0..86400), got '%s'", v);
            return MF_CTL_EXIT_USAGE;
        }
    }
    u->fleet.grace_ms = (int64_t)grace * 1000;
    return 0;
}

static int mf__up_dirs(mf__up *u, mf_err *err)
{
    const mf_config *cfg = &u->ctx->cfg;
    const char *dirs[] = {cfg->inbox, cfg->outbox, cfg->state_dir};
    int rc = 0;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        rc = mf_fs_mkdirs(dirs[i], err);
        if (rc < 0)
            goto out;
    }
    if (realpath(cfg->state_dir, u->state) == NULL)
        rc = mf_err_sys(err, -errno, "realpath(state_dir)");
out:
    return rc;
}

/* The lines a person needs first: where files go and how to read what became of them. */
static void mf__up_banner(const mf__up *u)
{
    const mf_config *cfg = &u->ctx->cfg;
    char cli[PATH_MAX + 32];
    const char *sd = cfg->state_dir;

    while (sd[0] == '.' && sd[1] == '/')
        sd += 2;
    if (cfg->redis_url[0] == '\0')
        snprintf(cli, sizeof(cli), "redis-cli -s %s%sredis.sock", sd,
                 sd[0] && sd[strlen(sd) - 1] != '/' ? "/" : "");
    else
        snprintf(cli, sizeof(cli), "redis-cli -u <redis_url>"); /* no password on screen */
    printf("mediafleet: drop files into %s, outputs appear in %s/<id>/; "
           "read a record with `%s HGETALL %sfile:<id>` (id of a file: `%s HGET %spaths "
           "<path-in-inbox>` or `mfctl show <file>`). Ctrl-C stops (workers finish their "
           "current job first).\n",
           cfg->inbox, cfg->outbox, cli, cfg->prefix, cli, cfg->prefix);
    fflush(stdout);
}

/* Connects and PINGs once. */
static int mf__up_ping(const char *url, mf_err *err)
{
    mf_redis *r = NULL;
    redisReply *reply = NULL;
    int rc = mf_redis_new(&r, url, err);

    if (rc < 0)
        goto out;
    rc = mf_redis_cmd(r, &reply, err, "PING");
out:
    freeReplyObject(reply);
    mf_redis_free(r);
    return rc;
}

static int mf__up_store_wait(mf__up *u, mf_ctl_child *store, mf_err *err)
{
    int64_t deadline = mf_clock_mono_ms() + MF__UP_STORE_WAIT_MS;
    struct timespec pause = {0, 50 * 1000000L};
    pid_t pid = store->pid;
    int rc;

    for (;;) {
        rc = mf__up_ping(u->url, err);
        if (rc == 0)
            break;
        mf_ctl_fleet_reap(&u->fleet);
        if (store->pid != pid) {
            rc = mf_err_set(err, MF_EREDIS, "redis-server exited at start; see %s/redis.log",
                            u->state);
            break;
        }
        if (mf_clock_mono_ms() > deadline) {
            rc = mf_err_set(err, MF_EREDIS, "redis-server did not answer within %d s: %s",
                            MF__UP_STORE_WAIT_MS / 1000, err->msg);
            break;
        }
        nanosleep(&pause, NULL);
    }
    return rc;
}

/* The embedded Redis: private unix socket, no TCP, AOF fsynced every second. A record whose
 * meta is longer than Redis' default 64-byte listpack value would switch the whole hash to a
 * hashtable (about twice the memory per file); 4096 keeps records compact. */
static int mf__up_store(mf__up *u, mf_err *err)
{
    char exe[PATH_MAX];
    char log[PATH_MAX + 16];
    /* one option and its value per line */
    /* clang-format off */
    const char *argv[] = {exe,
                          "--port", "0",
                          "--unixsocket", u->sock,
                          "--unixsocketperm", "700",
                          "--dir", u->state,
                          "--logfile", log,
                          "--appendonly", "yes",
                          "--appendfsync", "everysec",
                          "--save", "",
                          "--hash-max-listpack-value", "4096",
                          "--daemonize", "no",
                          NULL};
    /* clang-format on */
    mf_ctl_child *store;
    int rc = 0;

    if (mf_ctl_find_exe("redis-server", exe, sizeof(exe)) < 0) {
        rc = mf_err_set(err, -ENOENT,
                        "redis-server not found on PATH: install it (deploy/install-deps.sh) or "
                        "set redis_url");
        goto out;
    }
    snprintf(log, sizeof(log), "%s/redis.log", u->state);
    store = mf_ctl_fleet_add(&u->fleet, "redis", argv, 1);
    rc = mf_ctl_fleet_spawn(store, err);
    if (rc == 0)
        rc = mf__up_store_wait(u, store, err);
out:
    return rc;
}

/* Streams and consumer groups of every lane exist before anything is enqueued, so status
 * reads them and a lane without workers still holds its jobs for later. */
static void mf__up_prepare(const mf__up *u)
{
    const char *prefix = u->ctx->cfg.prefix;
    mf_redis *r = NULL;
    mf_err err;
    int rc = mf_redis_new(&r, u->url, &err);

    for (size_t i = 0; rc == 0 && i < mf_lanes_n; i++)
        rc = mf_queue_prepare(r, prefix, mf_lanes[i].name, &err);
    if (rc < 0)
        mf__up_log(MF_LOG_WARN, "cannot prepare the lane streams yet", err.msg);
    mf_redis_free(r);
}

/* An optional service (gateway, notifier): started when its setting is not empty and its
 * binary is there; a missing binary is logged, not fatal. */
static int mf__up_service(mf__up *u, const char *name, const char *bin, const char *setting,
                          mf_err *err)
{
    char exe[PATH_MAX];
    mf_ctl_child *c;

    if (setting == NULL || setting[0] == '\0')
        return 0;
    if (mf_ctl_find_exe(bin, exe, sizeof(exe)) < 0) {
        mf_log(MF_LOG_WARN, "msg=\"%s not found next to mfctl or on PATH: no %s\"", bin, name);
        return 0;
    }
    c = mf_ctl_steer_add(&u->steer, name, NULL, exe);
    return mf_ctl_fleet_spawn(c, err);
}

/* The dispatcher and the services now; the workers follow from the plan (steer.c), on the
 * first tick. */
static int mf__up_processes(mf__up *u, mf_err *err)
{
    char exe[PATH_MAX];
    mf_ctl_child *c;
    int rc = 0;

    if (mf_ctl_find_exe("mf-dispatcher", exe, sizeof(exe)) < 0) {
        rc = mf_err_set(err, -ENOENT, "mf-dispatcher not found next to mfctl or on PATH");
        goto out;
    }
    c = mf_ctl_steer_add(&u->steer, "dispatcher", NULL, exe);
    rc = mf_ctl_fleet_spawn(c, err);
    if (rc == 0)
        rc = mf__up_service(u, "gateway", "mf-gateway", u->ctx->cfg.http_listen, err);
    if (rc == 0)
        rc = mf__up_service(u, "notifier", "mf-notifier",
                            u->ctx->cfg.webhook_urls[0] != '\0' ? u->ctx->cfg.webhook_urls
                                                                : u->ctx->cfg.webhook_endpoints,
                            err);
out:
    return rc;
}

/* sd_notify(3) without libsystemd: one datagram to the unix socket systemd names in
 * $NOTIFY_SOCKET (Type=notify), "@..." being the abstract namespace. Nothing without it. */
static void mf__up_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len;
    int fd;

    if (path == NULL || (path[0] != '/' && path[0] != '@') ||
        (len = strlen(path)) >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        mf__up_log(MF_LOG_WARN, "sd_notify failed", strerror(errno));
    close(fd);
}

/* Supervises until SIGINT/SIGTERM: restarts, plan changes, reloads (SIGHUP). */
static void mf__up_run(mf__up *u)
{
    int sig = 0;

    for (int first = 1;; first = 0) {
        int64_t next;

        mf_ctl_steer_tick(&u->steer);
        if (first)
            mf__up_notify("READY=1"); /* the first workers are started */
        next = mf_ctl_fleet_tick(&u->fleet);
        sig = mf_ctl_fleet_wait(next < 250 ? next : 250);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig == SIGHUP)
            mf_ctl_steer_reload(&u->steer);
    }
    mf__up_notify("STOPPING=1");
    mf_log(MF_LOG_INFO, "signal=%s msg=\"stopping\"", sigabbrev_np(sig));
}

int mf_ctl_up(mf_ctl *ctx, int argc, char **argv)
{
    mf__up *u = calloc(1, sizeof(*u));
    mf_err err;
    int rc;

    if (u == NULL)
        abort();
    u->ctx = ctx;
    rc = mf__up_args(u, argc, argv);
    if (rc != 0)
        goto out;
    rc = mf__up_dirs(u, &err);
    if (rc == 0 && ctx->cfg.redis_url[0] == '\0')
        rc = mf_ctl_socket_path(&ctx->cfg, u->sock, sizeof(u->sock), &err);
    if (rc == 0)
        rc = mf_ctl_redis_url(&ctx->cfg, u->url, sizeof(u->url), &err);
    if (rc == 0)
        rc = mf_ctl_steer_init(&u->steer, ctx, &u->fleet, u->url, &err);
    if (rc < 0) {
        mf_ctl_errorf("up: %s", err.msg);
        rc = MF_CTL_EXIT_USAGE;
        goto out;
    }
    if (ctx->cfg.redis_url[0] == '\0' && mf__up_ping(u->url, &err) == 0) {
        mf_ctl_errorf("up: a fleet already runs on state_dir %s (its redis answers on %s); stop "
                      "it or choose another state_dir",
                      u->state, u->sock);
        rc = MF_CTL_EXIT_FAIL;
        goto out;
    }
    mf__up_banner(u);
    mf_ctl_fleet_signals();
    setenv("MF_REDIS_URL", u->url, 1);
    if (ctx->cfg.redis_url[0] == '\0')
        rc = mf__up_store(u, &err);
    else if (mf__up_ping(u->url, &err) < 0)
        mf__up_log(MF_LOG_WARN, "redis not reachable yet, the fleet keeps trying", err.msg);
    if (rc == 0) {
        mf__up_prepare(u);
        rc = mf__up_processes(u, &err);
    }
    if (rc < 0) {
        mf__up_log(MF_LOG_ERROR, "up failed", err.msg);
        mf_ctl_fleet_stop(&u->fleet);
        rc = MF_CTL_EXIT_FAIL;
        goto out;
    }
    mf__up_run(u);
    mf_ctl_steer_close(&u->steer); /* while Redis still runs */
    rc = mf_ctl_fleet_stop(&u->fleet) == 0 ? 0 : MF_CTL_EXIT_FAIL;
out:
    mf_ctl_steer_close(&u->steer);
    mf_ctl_fleet_close(&u->fleet);
    free(u);
    return rc;
}
