/* The supervisor of `mfctl up`: forks the embedded redis, the dispatcher and the workers,
 * restarts whichever dies (with back-off, so a binary that cannot start does not spin), and
 * on SIGINT/SIGTERM stops them in the order that loses nothing: workers and dispatcher first
 * (they drain: finish or hand back the current job, which needs Redis), Redis last (it
 * writes its AOF on SIGTERM).
 *
 * One thread and no handlers doing work: the signals we care about stay blocked and are
 * taken synchronously with sigtimedwait(), so there is no async-signal-safety to get wrong. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/log.h"
#include "mfctl.h"

#define MF__STORE_STOP_MS 30000 /* redis rewriting a big AOF on shutdown may take a while */
#define MF__TICK_MS 1000

int64_t mf_ctl_backoff(int64_t *backoff_ms, int64_t ran_ms)
{
    if (ran_ms >= MF_CTL_BACKOFF_RESET_MS)
        *backoff_ms = 0;
    *backoff_ms = mf_backoff_next(*backoff_ms, MF_CTL_BACKOFF_MIN_MS, MF_CTL_BACKOFF_MAX_MS);
    return *backoff_ms;
}

mf_ctl_child *mf_ctl_fleet_add(mf_ctl_fleet *f, const char *name, const char *const *argv,
                               int store)
{
    mf_ctl_child *c;
    size_t argc = 0;

    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->kids = realloc(f->kids, f->cap * sizeof(*f->kids));
        if (f->kids == NULL)
            abort();
    }
    c = &f->kids[f->n++];
    memset(c, 0, sizeof(*c));
    c->id = ++f->next_id;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->store = store;
    while (argv[argc] != NULL)
        argc++;
    c->argv = calloc(argc + 1, sizeof(char *));
    if (c->argv == NULL)
        abort();
    for (size_t i = 0; i < argc; i++) {
        c->argv[i] = strdup(argv[i]);
        if (c->argv[i] == NULL)
            abort();
    }
    return c;
}

static void mf__sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
}

static void mf__on_sigchld(int sig)
{
    (void)sig; /* never runs while blocked; installed so SIGCHLD is not discarded */
}

void mf_ctl_fleet_signals(void)
{
    struct sigaction sa;
    sigset_t set;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mf__on_sigchld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    mf__sigset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* In the child: own process group, so a Ctrl-C on the terminal reaches mfctl alone and the
 * shutdown order stays ours; default signals; SIGTERM when mfctl dies, even by SIGKILL. */
static void mf__child_exec(const mf_ctl_child *c, pid_t parent)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE};
    sigset_t none;
    int fd;

    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(127);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    fd = open("/dev/null", O_RDONLY);
    if (fd > 0) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
    execv(c->argv[0], c->argv);
    mf_log(MF_LOG_ERROR, "child=%s msg=\"execv() failed: %s\"", c->name, strerror(errno));
    _exit(127);
}

int mf_ctl_fleet_spawn(mf_ctl_child *c, mf_err *err)
{
    pid_t parent = getpid();
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return mf_err_sys(err, -errno, "fork()");
    if (pid == 0)
        mf__child_exec(c, parent);
    c->pid = pid;
    c->started_ms = mf_clock_mono_ms();
    c->restart_at_ms = 0;
    mf_log(MF_LOG_INFO, "child=%s child_pid=%ld msg=\"started %s\"", c->name, (long)pid,
           c->argv[0]);
    return 0;
}

static mf_ctl_child *mf__find_pid(mf_ctl_fleet *f, pid_t pid)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->kids[i].pid == pid)
            return &f->kids[i];
    }
    return NULL;
}

static void mf__log_exit(const mf_ctl_child *c, pid_t pid, int status, const char *what)
{
    mf_log_level lvl = what ? MF_LOG_WARN : MF_LOG_INFO;

    if (WIFSIGNALED(status))
        mf_log(lvl, "child=%s child_pid=%ld signal=%d msg=\"killed by SIG%s%s\"", c->name,
               (long)pid, WTERMSIG(status), sigabbrev_np(WTERMSIG(status)), what ? what : "");
    else
        mf_log(lvl, "child=%s child_pid=%ld exit=%d msg=\"exited%s\"", c->name, (long)pid,
               WEXITSTATUS(status), what ? what : "");
}

int mf_ctl_fleet_reap(mf_ctl_fleet *f)
{
    int64_t now = mf_clock_mono_ms();
    int status;
    int reaped = 0;
    pid_t pid;

    for (;;) {
        mf_ctl_child *c;
        char what[64];

        pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        reaped++;
        c = mf__find_pid(f, pid);
        if (c == NULL)
            continue;
        c->pid = 0;
        if (f->stopping || c->retiring) {
            mf__log_exit(c, pid, status, NULL);
            continue;
        }
        c->restart_at_ms = now + mf_ctl_backoff(&c->backoff_ms, now - c->started_ms);
        snprintf(what, sizeof(what), "; restarting in %lld ms", (long long)c->backoff_ms);
        mf__log_exit(c, pid, status, what);
    }
    return reaped;
}

int mf_ctl_fleet_wait(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    sigset_t set;
    int sig;

    mf__sigset(&set);
    sig = sigtimedwait(&set, NULL, &ts);
    return sig < 0 ? 0 : sig;
}

static int mf__is_stop_signal(int sig)
{
    return sig == SIGINT || sig == SIGTERM;
}

/* Restarts children whose back-off has passed; returns ms until the next one is due. */
static int64_t mf__restart_due(mf_ctl_fleet *f)
{
    int64_t now = mf_clock_mono_ms();
    int64_t next = MF__TICK_MS;
    mf_err err;

    for (size_t i = 0; i < f->n; i++) {
        mf_ctl_child *c = &f->kids[i];

        if (c->pid != 0 || c->restart_at_ms == 0 || c->retiring)
            continue;
        if (c->restart_at_ms > now) {
            if (c->restart_at_ms - now < next)
                next = c->restart_at_ms - now;
            continue;
        }
        if (mf_ctl_fleet_spawn(c, &err) < 0) {
            char q[MF_ERR_MSG_MAX + 16];

            mf_log(MF_LOG_ERROR, "child=%s msg=%s", c->name, mf_log_quote(q, sizeof(q), err.msg));
            c->restart_at_ms = now + mf_ctl_backoff(&c->backoff_ms, 0);
        }
    }
    return next;
}

static size_t mf__signal_all(mf_ctl_fleet *f, int store, int sig)
{
    size_t alive = 0;

    for (size_t i = 0; i < f->n; i++) {
        if (f->kids[i].pid != 0 && f->kids[i].store == store) {
            kill(f->kids[i].pid, sig);
            alive++;
        }
    }
    return alive;
}

/* SIGTERM to one class of children, then waits for them until deadline (a second stop
 * signal cuts the wait short), then SIGKILL to what is left. Returns how many needed it. */
static size_t mf__stop_class(mf_ctl_fleet *f, int store, int64_t wait_ms)
{
    int64_t deadline = mf_clock_mono_ms() + wait_ms;
    size_t killed = 0;

    if (mf__signal_all(f, store, SIGTERM) == 0)
        return 0;
    for (;;) {
        int64_t left = deadline - mf_clock_mono_ms();
        int sig;

        mf_ctl_fleet_reap(f);
        if (mf__signal_all(f, store, 0) == 0 || left <= 0)
            break;
        sig = mf_ctl_fleet_wait(left < MF__TICK_MS ? left : MF__TICK_MS);
        if (mf__is_stop_signal(sig)) {
            mf_log(MF_LOG_WARN, "msg=\"second stop signal: not waiting for the drain\"");
            break;
        }
    }
    /* What still runs gets the second SIGTERM: a worker kills its executor and hands its job
     * back (attempts unchanged, claimable at once) instead of leaving it to the visibility
     * timeout, which a SIGKILL would. */
    if (!store && mf__signal_all(f, store, 0) > 0) {
        mf_log(MF_LOG_INFO, "msg=\"drain time is over: workers hand their jobs back\"");
        mf__signal_all(f, store, SIGTERM);
        deadline = mf_clock_mono_ms() + MF_CTL_HANDBACK_MS;
        while (mf_ctl_fleet_reap(f),
               mf__signal_all(f, store, 0) > 0 && mf_clock_mono_ms() < deadline)
            mf_ctl_fleet_wait(100);
    }
    killed = mf__signal_all(f, store, SIGKILL);
    for (size_t i = 0; i < f->n; i++) {
        mf_ctl_child *c = &f->kids[i];
        int status;

        if (c->pid == 0 || c->store != store)
            continue;
        if (waitpid(c->pid, &status, 0) == c->pid)
            mf__log_exit(c, c->pid, status, NULL);
        c->pid = 0;
    }
    return killed;
}

void mf_ctl_fleet_retire(mf_ctl_fleet *f, mf_ctl_child *c, int64_t grace_ms)
{
    (void)f;
    if (c->retiring)
        return;
    c->retiring = 1;
    c->restart_at_ms = 0;
    c->handback_at_ms = mf_clock_mono_ms() + grace_ms;
    if (c->pid != 0) {
        kill(c->pid, SIGTERM);
        mf_log(MF_LOG_INFO, "child=%s child_pid=%ld msg=\"retiring: finishing its job\"", c->name,
               (long)c->pid);
    }
}

/* Second SIGTERM at the end of the drain time, SIGKILL after the hand-back time; children
 * that exited leave the fleet. */
static void mf__retire_due(mf_ctl_fleet *f)
{
    int64_t now = mf_clock_mono_ms();
    size_t i, o = 0;

    for (i = 0; i < f->n; i++) {
        mf_ctl_child *c = &f->kids[i];

        if (c->retiring && c->pid != 0 && c->kill_at_ms == 0 && now >= c->handback_at_ms) {
            kill(c->pid, SIGTERM);
            c->kill_at_ms = now + MF_CTL_HANDBACK_MS;
            mf_log(MF_LOG_INFO, "child=%s msg=\"drain time over: handing its job back\"", c->name);
        } else if (c->retiring && c->pid != 0 && c->kill_at_ms != 0 && now >= c->kill_at_ms) {
            kill(c->pid, SIGKILL);
        }
        if (c->retiring && c->pid == 0) {
            for (char **a = c->argv; a != NULL && *a != NULL; a++)
                free(*a);
            free(c->argv);
            continue;
        }
        if (o != i)
            f->kids[o] = *c;
        o++;
    }
    f->n = o;
}

int64_t mf_ctl_fleet_tick(mf_ctl_fleet *f)
{
    mf_ctl_fleet_reap(f);
    mf__retire_due(f);
    return mf__restart_due(f);
}

int mf_ctl_fleet_count(const mf_ctl_fleet *f, const char *lane)
{
    int n = 0;

    for (size_t i = 0; i < f->n; i++)
        n += !f->kids[i].retiring && strcmp(f->kids[i].lane, lane) == 0;
    return n;
}

int mf_ctl_fleet_stop(mf_ctl_fleet *f)
{
    size_t killed;

    f->stopping = 1;
    if (mf__signal_all(f, 0, 0) > 0)
        mf_log(MF_LOG_INFO, "msg=\"draining workers and dispatcher (up to %lld s), then redis\"",
               (long long)(f->grace_ms / 1000));
    killed = mf__stop_class(f, 0, f->grace_ms);
    if (killed > 0)
        mf_log(MF_LOG_WARN,
               "killed=%zu msg=\"children that had not finished draining were killed; their "
               "jobs are redelivered after the visibility timeout\"",
               killed);
    killed = mf__stop_class(f, 1, MF__STORE_STOP_MS);
    if (killed > 0)
        mf_log(MF_LOG_WARN, "msg=\"redis did not stop in time and was killed\"");
    mf_log(MF_LOG_INFO, "msg=\"stopped\"");
    return 0;
}

void mf_ctl_fleet_close(mf_ctl_fleet *f)
{
    if (f == NULL)
        return;
    f->stopping = 1;
    for (size_t i = 0; i < f->n; i++) {
        mf_ctl_child *c = &f->kids[i];

        if (c->pid != 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
        for (char **a = c->argv; a != NULL && *a != NULL; a++)
            free(*a);
        free(c->argv);
    }
    free(f->kids);
    f->kids = NULL;
    f->n = f->cap = 0;
}
