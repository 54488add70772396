/* See redis_server.h. */
#include "redis_server.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mf/log.h"

char mf_test_redis_sock[256];
char mf_test_redis_url[300];
static char mf__dir[200]; /* a unix socket path holds 107 bytes at most */
static pid_t mf__server = -1;

void mf_test_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

redisContext *mf_test_redis_raw(void)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectUnixWithTimeout(mf_test_redis_sock, tv);

    if (c != NULL && c->err != 0) {
        redisFree(c);
        c = NULL;
    }
    if (c != NULL)
        redisSetTimeout(c, tv);
    return c;
}

static int mf__answers(void)
{
    redisContext *c = mf_test_redis_raw();
    redisReply *rep = c != NULL ? redisCommand(c, "PING") : NULL;
    int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;

    freeReplyObject(rep);
    redisFree(c);
    return ok;
}

int mf_test_redis_start(const char *name)
{
    const char *tmp = getenv("MF_TEST_TMP");
    char log[PATH_MAX + 16];
    int i;

    if (mf__dir[0] == '\0') {
        snprintf(mf__dir, sizeof(mf__dir), "%s/%s.%ld", tmp != NULL ? tmp : "/tmp", name,
                 (long)getpid());
        if (tmp != NULL)
            mkdir(tmp, 0755);
        mkdir(mf__dir, 0700);
        snprintf(mf_test_redis_sock, sizeof(mf_test_redis_sock), "%s/redis.sock", mf__dir);
        snprintf(mf_test_redis_url, sizeof(mf_test_redis_url), "unix://%s", mf_test_redis_sock);
        signal(SIGPIPE, SIG_IGN);
    }
    snprintf(log, sizeof(log), "%s/redis.log", mf__dir);
    mf__server = fork();
    if (mf__server < 0)
        return -1;
    if (mf__server == 0) {
        if (freopen(log, "a", stdout) == NULL || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", mf_test_redis_sock,
               "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", mf__dir,
               (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200; i++) {
        if (mf__answers())
            return 0;
        mf_test_sleep_ms(50);
    }
    return -1;
}

void mf_test_redis_kill(int sig)
{
    if (mf__server > 0) {
        kill(mf__server, sig);
        waitpid(mf__server, NULL, 0);
    }
    mf__server = -1;
}

void mf_test_redis_stop(void)
{
    char path[PATH_MAX + 16];

    mf_test_redis_kill(SIGTERM);
    unlink(mf_test_redis_sock);
    snprintf(path, sizeof(path), "%s/redis.log", mf__dir);
    unlink(path);
    rmdir(mf__dir);
}

int mf_test_redis_group_setup(void **state)
{
    (void)state;
    mf_log_init(program_invocation_short_name, "error");
    return mf_test_redis_start(program_invocation_short_name);
}

int mf_test_redis_group_teardown(void **state)
{
    (void)state;
    mf_test_redis_stop();
    return 0;
}

int mf_test_redis_setup(void **state)
{
    mf_test_fx *f = calloc(1, sizeof(*f));
    mf_err err;

    *state = f;
    if (f == NULL)
        return -1;
    f->raw = mf_test_redis_raw();
    if (f->raw == NULL)
        return -1;
    freeReplyObject(redisCommand(f->raw, "FLUSHALL"));
    if (mf_redis_new(&f->r, mf_test_redis_url, &err) < 0) {
        fprintf(stderr, "mf_redis_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int mf_test_redis_teardown(void **state)
{
    mf_test_fx *f = *state;

    if (f != NULL) {
        mf_redis_free(f->r);
        if (f->raw != NULL)
            redisFree(f->raw);
        free(f);
    }
    return 0;
}
