/* The job executor and its supervisor (see mf/executor.h and the isolation model in
 * mf/worker.h).
 *
 * Why a long-lived child rather than a fork per job: lane->init() loads libraries and
 * models (libvips, tesseract's traineddata) once, and a warm process decodes faster; a fork
 * per job would pay that on every file. Why a child at all: a decoder that crashes, spins or
 * balloons on one hostile file must cost one job, never the worker and its Redis state.
 *
 * Why execv() a separate program (mf-exec-<lane>) rather than run the lane in the forked
 * child: the worker then links no media library, so an idle worker costs its own few MB, not
 * the mapping and relocation of ~100 libraries it never calls. A fresh executor pays that
 * loading (tens of ms) when it starts, which happens once and after a kill or crash.
 *
 * Supervision is poll(2) on the reply pipe with a short period, so the parent also samples
 * the child's RSS from /proc/<pid>/statm (no cgroups needed) and enforces the wall clock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mf/clock.h"
#include "mf/executor.h"
#include "mf/fsutil.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "runtime.h"

/* Fixed descriptors of the child: jobs come in on 3, replies go out on 4. */
#define MF__EXEC_IN_FD 3
#define MF__EXEC_OUT_FD 4
/* Free heap an executor keeps from one job to the next of a burst, instead of giving it back
 * and faulting it in again (a 12 MP photo's buffers are ~20 MB). More than this after a job,
 * or whatever is free once no job has come for MF__EXEC_TRIM_IDLE_MS, goes back to the
 * kernel: one big image must not make the next small job look over job_memory_mb, and an
 * idle executor stays small. */
#define MF__EXEC_KEEP_FREE_BYTES (64 * 1024 * 1024)
#define MF__EXEC_TRIM_IDLE_MS 1000

/* A buffer of bytes read from a pipe, cut into '\n'-terminated lines. */
typedef struct mf__lines {
    char *buf;
    size_t len;  /* bytes buffered */
    size_t cap;  /* bytes allocated */
    size_t used; /* length (with '\n') of the line last returned, dropped on the next call */
} mf__lines;

struct mf_executor {
    const mf_lane *lane;
    const mf_config *cfg;
    char *program; /* NULL: the lane runs in the forked child; else execv() this */
    char **args;   /* the program's configuration arguments (NULL-terminated), heap copies */
    int nargs;
    pid_t pid;
    int to_child;   /* write end of the job pipe */
    int from_child; /* read end of the reply pipe, non-blocking */
    int statm_fd;   /* /proc/<pid>/statm */
    mf__lines in;
    int busy;               /* a job was sent and its reply not read */
    int64_t job_started_ms; /* monotonic */
    int64_t next_rss_ms;    /* monotonic */
    char *outdir;           /* the current job's, to sweep temporary files after a kill */
    int progress;           /* the current job's, per mille; -1 until the lane reports */
};

/* ---- line buffer ---------------------------------------------------------------------- */

/* Returns 1 with *line / *n (without the '\n') when a whole line is buffered, else 0. */
static int mf__lines_next(mf__lines *l, const char **line, size_t *n)
{
    char *nl;

    if (l->used > 0) {
        memmove(l->buf, l->buf + l->used, l->len - l->used);
        l->len -= l->used;
        l->used = 0;
    }
    nl = l->len > 0 ? memchr(l->buf, '\n', l->len) : NULL;
    if (nl == NULL)
        return 0;
    *line = l->buf;
    *n = (size_t)(nl - l->buf);
    l->used = *n + 1;
    return 1;
}

/* One read(2) into the buffer. Returns the byte count, 0 at EOF, -EAGAIN / -errno, or
 * -EMSGSIZE when a line grows past MF_EXEC_LINE_MAX. */
static ssize_t mf__lines_fill(mf__lines *l, int fd)
{
    ssize_t r;
    char *grown;

    if (l->len == l->cap) {
        if (l->cap >= MF_EXEC_LINE_MAX)
            return -EMSGSIZE;
        grown = realloc(l->buf, l->cap == 0 ? 4096 : 2 * l->cap);
        if (grown == NULL)
            abort();
        l->buf = grown;
        l->cap = l->cap == 0 ? 4096 : 2 * l->cap;
    }
    do {
        r = read(fd, l->buf + l->len, l->cap - l->len);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    l->len += (size_t)r;
    return r;
}

static void mf__lines_reset(mf__lines *l)
{
    free(l->buf);
    memset(l, 0, sizeof(*l));
}

/* ---- child side ----------------------------------------------------------------------- */

/* The last progress sent for the current job (per mille, -1: none yet) and when. */
static int mf__progress_last = -1;
static int64_t mf__progress_ms;

void mf_lane_progress(const mf_lane_job *job, double done)
{
    char line[64];
    int64_t now;
    int pm;

    if (job == NULL || job->progress_fd <= 0 || !(done >= 0))
        return;
    pm = done >= 1 ? 1000 : (int)(done * 1000);
    now = mf_clock_mono_ms();
    /* A few lines a second at most, and only forward: the worker turns them into the record's
     * progress at most once a second. */
    if (pm <= mf__progress_last || now - mf__progress_ms < MF_EXEC_PROGRESS_MS)
        return;
    mf__progress_last = pm;
    mf__progress_ms = now;
    snprintf(line, sizeof(line), "{\"progress\":%d}\n", pm);
    /* The reply pipe is the parent's to read: a line the parent is too slow for would block
     * here, which only delays the job; a failed write is harmless. */
    if (mf_fs_write_all(job->progress_fd, line, strlen(line)) < 0)
        mf__progress_last = 1000;
}

/* Opens the input beneath the inbox (never through a symlink) and runs lane->process(). */
static int mf__exec_run(const mf_lane *lane, const mf_config *cfg, const mf_exec_job *job,
                        mf_result *res, mf_err *err)
{
    char path[PATH_MAX + MF_PATH_MAX], inbox_abs[PATH_MAX];
    int inbox_fd = -1, fd = -1, rc;
    mf_lane_job lj;

    mf_result_init(res);
    inbox_fd = open(cfg->inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (inbox_fd < 0) {
        rc = mf_err_set(err, -errno, "open() failed on the inbox %s: %s", cfg->inbox,
                        strerror(errno));
        goto out;
    }
    /* never blocks and takes only a regular file: a FIFO renamed over a queued file fails
     * the job at once instead of holding the executor until the lane's timeout */
    fd = mf_fs_open_input(inbox_fd, job->rel_path, NULL, err);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    rc = mf_fs_mkdirs(job->outdir, err);
    if (rc < 0)
        goto out;
    /* lane.h promises an absolute path (for messages and tools that need a name); the lane
     * reads through fd, so this is never what decides which file is decoded. */
    if (realpath(cfg->inbox, inbox_abs) == NULL ||
        mf_fs_join(path, sizeof(path), inbox_abs, job->rel_path) < 0)
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    lj = (mf_lane_job){.id = job->id,
                       .path = path,
                       .fd = fd,
                       .rel_path = job->rel_path,
                       .profile = job->profile != NULL ? job->profile : "default",
                       .mime = job->mime,
                       .outdir = job->outdir,
                       .progress_fd = MF__EXEC_OUT_FD};
    mf__progress_last = -1;
    rc = lane->process(&lj, res, err);
    if (rc == 0)
        rc = mf_result_describe(res, lane, cfg, job->id, job->outdir, err);
    if (rc < 0 && err->msg[0] == '\0')
        mf_err_set(err, rc, "%s", mf_strerror(rc));
    if (rc < 0)
        rmdir(job->outdir); /* a failed file leaves no empty folder (nothing if not empty) */
out:
    if (fd >= 0)
        close(fd);
    if (inbox_fd >= 0)
        close(inbox_fd);
    return rc < 0 ? rc : 0;
}

/* After a job: trims the heap when it holds more than MF__EXEC_KEEP_FREE_BYTES free, or,
 * with idle set, when no next job is waiting within MF__EXEC_TRIM_IDLE_MS. */
static void mf__exec_trim(int idle)
{
    struct pollfd p = {.fd = MF__EXEC_IN_FD, .events = POLLIN};
    struct mallinfo2 mi = mallinfo2();

    if (mi.fordblks > MF__EXEC_KEEP_FREE_BYTES || (idle && poll(&p, 1, MF__EXEC_TRIM_IDLE_MS) == 0))
        malloc_trim(0);
}

/* Jobs until the parent closes the pipe. */
static void mf__exec_loop(const mf_lane *lane, const mf_config *cfg)
{
    mf__lines in = {0};
    const char *line;
    size_t n;
    ssize_t r;
    mf_exec_job job;
    mf_result res;
    mf_err err;
    char *reply;
    int rc, trim = 0;

    /* free() trims the top of the heap past M_TRIM_THRESHOLD (128 KiB): the executor trims
     * for itself (mf__exec_trim) */
    mallopt(M_TRIM_THRESHOLD, MF__EXEC_KEEP_FREE_BYTES);
    for (;;) {
        if (!mf__lines_next(&in, &line, &n)) {
            if (trim) {
                mf__exec_trim(1);
                trim = 0;
            }
            r = mf__lines_fill(&in, MF__EXEC_IN_FD);
            if (r <= 0)
                break; /* EOF: the worker is stopping, or is gone */
            continue;
        }
        mf_err_clear(&err);
        res = (mf_result){0};
        rc = mf_exec_job_decode(line, n, &job, &err);
        if (rc == 0)
            rc = mf__exec_run(lane, cfg, &job, &res, &err);
        reply = mf_exec_reply_encode(rc, &res, &err);
        mf_exec_job_close(&job);
        mf_result_close(&res);
        rc = mf_fs_write_all(MF__EXEC_OUT_FD, reply, strlen(reply));
        free(reply);
        if (rc < 0)
            break;
        mf__exec_trim(0);
        trim = 1;
    }
    mf__lines_reset(&in);
}

/* Set-up common to a forked and an exec'd executor. Returns 0, or -1 when the worker that
 * started it is already gone. */
static int mf__exec_prepare(pid_t parent)
{
    /* Die with the worker: a kill -9 of the worker must not leave a decoder running. The
     * setting survives execve(); the exec'd program sets it again and re-checks the parent
     * after set-up, since the worker may have died in between. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        return -1;
    /* The worker decides when a job stops (SIGKILL); a Ctrl-C to the process group or a
     * SIGTERM from systemd to the whole cgroup must not cut the job the worker drains. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    /* A crash must end the process so the supervisor sees the signal, whatever handlers the
     * parent had (a test framework's, a sanitizer's). */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    return 0;
}

/* Puts the pipes on the fixed descriptors and keeps only those and stdio: no Redis socket, no
 * other child's pipe. Libraries that print go to stderr, never to the stdout a one-shot caller
 * parses. Returns 0 or -1. */
static int mf__exec_fds(int in, int out)
{
    in = fcntl(in, F_DUPFD, 100);
    out = fcntl(out, F_DUPFD, 100);
    if (in < 0 || out < 0 || dup2(in, MF__EXEC_IN_FD) < 0 || dup2(out, MF__EXEC_OUT_FD) < 0)
        return -1;
    close_range(MF__EXEC_OUT_FD + 1, ~0U, 0);
    dup2(STDERR_FILENO, STDOUT_FILENO);
    return 0;
}

/* Sends {"ready":true}, or {"ready":false,...} with rc and err when rc < 0. Returns 0 or -1. */
static int mf__exec_send_ready(int rc, const mf_err *err)
{
    char *ready;
    json_t *obj;
    int wrc = -1;

    obj = rc == 0 ? json_pack("{s:b}", "ready", 1)
                  : json_pack("{s:b,s:i,s:o}", "ready", 0, "code", rc, "error",
                              mf__json_text(err->msg));
    ready = json_dumps(obj, JSON_COMPACT | MF_JSON_REAL);
    json_decref(obj);
    if (ready != NULL && mf_fs_write_all(MF__EXEC_OUT_FD, ready, strlen(ready)) == 0 &&
        mf_fs_write_all(MF__EXEC_OUT_FD, "\n", 1) == 0)
        wrc = 0;
    free(ready);
    return wrc;
}

/* lane->init(), the ready line, the jobs, lane->shutdown(). Never returns. */
__attribute__((noreturn)) static void mf__exec_serve(const mf_lane *lane, const mf_config *cfg)
{
    mf_err err;
    int rc;

    mf_err_clear(&err);
    rc = lane->init(cfg, &err);
    if (mf__exec_send_ready(rc, &err) < 0 || rc < 0)
        _exit(3);
    mf__exec_loop(lane, cfg);
    if (lane->shutdown != NULL)
        lane->shutdown();
    _exit(0);
}

/* The forked child. Never returns: it runs the lane here, or execv()s the executor program
 * as `PROGRAM --executor=<parent pid> -- ARGS...` (see mf_exec_main()). */
static void mf__exec_child(const mf_executor *ex, char **argv, int in, int out, pid_t parent)
{
    mf_err err;

    if (mf__exec_prepare(parent) < 0 || mf__exec_fds(in, out) < 0)
        _exit(1);
    if (ex->program == NULL)
        mf__exec_serve(ex->lane, ex->cfg);
    execv(ex->program, argv);
    mf_err_set(&err, MF_ECONFIG, "execv() failed on %s: %s", ex->program, strerror(errno));
    mf__exec_send_ready(err.code, &err);
    _exit(127);
}

/* The exec'd executor: `PROGRAM --executor=<parent pid> -- ARGS...`, descriptors 3 and 4
 * already set up by mf__exec_child(). ARGS are the worker's configuration arguments, loaded
 * here the same way, so both processes see the same configuration. */
void mf__exec_program(const mf_lane *lane, int argc, char **argv)
{
    char *end, role[32];
    long parent = strtol(argv[1] + strlen(MF_EXEC_FLAG), &end, 10);
    mf_config cfg;
    mf_err err;
    int i = 2, rc;

    if (*end != '\0' || parent <= 0 || mf__exec_prepare((pid_t)parent) < 0)
        _exit(1);
    close_range(MF__EXEC_OUT_FD + 1, ~0U, 0);
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    /* Keep argv[0] for the loader; what it does not recognise (the worker vetted the command
     * line already) is left alone. */
    argv[i - 1] = argv[0];
    argc -= i - 1;
    argv += i - 1;
    memset(&cfg, 0, sizeof(cfg));
    mf_err_clear(&err);
    rc = mf_config_load(&cfg, NULL, &argc, argv, &err);
    snprintf(role, sizeof(role), "worker-%s", lane->name);
    if (rc == 0 && mf_log_init(role, cfg.log_level) < 0)
        rc = mf_err_set(&err, MF_ECONFIG, "unknown log_level \"%s\"", cfg.log_level);
    if (rc < 0) {
        mf__exec_send_ready(rc, &err);
        _exit(3);
    }
    mf__exec_serve(lane, &cfg);
}

/* ---- parent side ---------------------------------------------------------------------- */

mf_executor *mf_executor_new(const mf_lane *lane, const mf_config *cfg)
{
    mf_executor *ex = mf_xmalloc(sizeof(*ex));

    memset(ex, 0, sizeof(*ex));
    ex->lane = lane;
    ex->cfg = cfg;
    ex->to_child = -1;
    ex->from_child = -1;
    ex->statm_fd = -1;
    return ex;
}

static void mf__exec_forget_program(mf_executor *ex)
{
    for (char **a = ex->args; a != NULL && *a != NULL; a++)
        free(*a);
    free(ex->args);
    free(ex->program);
    ex->args = NULL;
    ex->program = NULL;
}

void mf_executor_set_program(mf_executor *ex, const char *path, int argc, char *const *argv)
{
    int i;

    mf__exec_forget_program(ex);
    ex->program = mf_xstrdup(path);
    ex->args = mf_xmalloc(((size_t)argc + 1) * sizeof(*ex->args));
    for (i = 0; i < argc; i++)
        ex->args[i] = mf_xstrdup(argv[i]);
    ex->args[argc] = NULL;
    ex->nargs = argc;
}

/* The exec'd program's argv: PROGRAM --executor=<parent> -- ARGS... (heap vector whose
 * strings belong to ex, but for the flag, which *flag holds), or NULL without a program. */
static char **mf__exec_argv(const mf_executor *ex, pid_t parent, char *flag, size_t size)
{
    char **argv;
    int i;

    if (ex->program == NULL)
        return NULL;
    snprintf(flag, size, "%s%ld", MF_EXEC_FLAG, (long)parent);
    argv = mf_xmalloc(((size_t)ex->nargs + 4) * sizeof(*argv));
    argv[0] = ex->program;
    argv[1] = flag;
    argv[2] = "--";
    for (i = 0; i < ex->nargs; i++)
        argv[3 + i] = ex->args[i];
    argv[3 + ex->nargs] = NULL;
    return argv;
}

/* Appends ", path (why)" to the list of paths tried; returns 0 when path is executable. */
static int mf__exec_try(const char *path, char *tried, size_t size)
{
    size_t n = strlen(tried);

    if (access(path, X_OK) == 0)
        return 0;
    snprintf(tried + n, size - n, "%s%s (%s)", n > 0 ? ", " : "", path, strerror(errno));
    return -1;
}

int mf_executor_find(const char *lane, char *path, size_t size, mf_err *err)
{
    char self[PATH_MAX], tried[3 * PATH_MAX + 200] = "", *slash;
    const char *dir = getenv("MF_EXEC_DIR");
    ssize_t n;
    int rc = 0;

    if (dir != NULL && dir[0] != '\0') {
        snprintf(path, size, "%s/mf-exec-%s", dir, lane);
        if (mf__exec_try(path, tried, sizeof(tried)) < 0)
            goto fail;
        goto out;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0) {
        rc =
            mf_err_set(err, MF_ECONFIG, "readlink() failed on /proc/self/exe: %s", strerror(errno));
        goto out;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(path, size, "%s/%s/mf-exec-%s", self, MF_EXEC_LIBEXEC, lane);
    if (mf__exec_try(path, tried, sizeof(tried)) == 0)
        goto out;
    snprintf(path, size, "%s/mf-exec-%s", self, lane);
    if (mf__exec_try(path, tried, sizeof(tried)) == 0)
        goto out;
fail:
    rc = mf_err_set(err, MF_ECONFIG,
                    "executor mf-exec-%s not found: tried %s; install it there or set "
                    "MF_EXEC_DIR to its folder",
                    lane, tried);
out:
    return rc;
}

pid_t mf_executor_pid(const mf_executor *ex)
{
    return ex->pid;
}

/* Removes the temporary files (".<name>.tmp.<pid>", see mf_fs_write_atomic) a killed executor
 * left in the job's output folder: nobody else will ever rename them. */
static void mf__exec_sweep(const char *outdir, pid_t pid)
{
    char suffix[32];
    size_t slen, nlen;
    struct dirent *de;
    DIR *d;

    if (outdir == NULL)
        return;
    d = opendir(outdir);
    if (d == NULL)
        return;
    slen = (size_t)snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)pid);
    while ((de = readdir(d)) != NULL) {
        nlen = strlen(de->d_name);
        if (de->d_name[0] == '.' && nlen > slen &&
            memcmp(de->d_name + nlen - slen, suffix, slen) == 0)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

/* Kills (if still alive) and reaps the executor; *status gets its wait status. */
static void mf__exec_reap(mf_executor *ex, int *status)
{
    pid_t pid = ex->pid;
    int st = 0;

    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        mf__exec_sweep(ex->outdir, pid);
    }
    if (ex->to_child >= 0)
        close(ex->to_child);
    if (ex->from_child >= 0)
        close(ex->from_child);
    if (ex->statm_fd >= 0)
        close(ex->statm_fd);
    ex->to_child = ex->from_child = ex->statm_fd = -1;
    ex->pid = 0;
    ex->busy = 0;
    mf__lines_reset(&ex->in);
    if (status != NULL)
        *status = st;
}

void mf_executor_kill(mf_executor *ex)
{
    if (ex->pid > 0)
        mf_log(MF_LOG_WARN, "lane=%s executor=%ld msg=\"killing the executor\"", ex->lane->name,
               (long)ex->pid);
    mf__exec_reap(ex, NULL);
}

void mf_executor_stop(mf_executor *ex)
{
    int64_t until;
    pid_t r;

    if (ex->pid > 0 && !ex->busy) {
        /* EOF on the job pipe: the child runs lane->shutdown() and exits by itself. */
        close(ex->to_child);
        ex->to_child = -1;
        until = mf_clock_mono_ms() + 2000;
        while (mf_clock_mono_ms() < until) {
            r = waitpid(ex->pid, NULL, WNOHANG);
            if (r == ex->pid || (r < 0 && errno == ECHILD)) {
                ex->pid = 0; /* reaped: never signal a pid that may be reused */
                break;
            }
            usleep(10 * 1000);
        }
    }
    mf__exec_reap(ex, NULL);
}

void mf_executor_free(mf_executor *ex)
{
    if (ex == NULL)
        return;
    mf_executor_stop(ex);
    mf__exec_forget_program(ex);
    free(ex->outdir);
    free(ex);
}

/* Says in words why the executor is gone, from its wait status. */
static int mf__exec_died(int status, const char *when, mf_err *err)
{
    const char *abbrev;

    if (WIFSIGNALED(status)) {
        abbrev = sigabbrev_np(WTERMSIG(status));
        return mf_err_set(err, MF_ECRASH, "%s crashed: SIG%s (signal %d)", when,
                          abbrev != NULL ? abbrev : "?", WTERMSIG(status));
    }
    return mf_err_set(err, MF_ECRASH, "%s crashed: the executor exited with status %d", when,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Reads one line from the executor within timeout_ms. Returns 1 with the line, 0 on timeout,
 * -EINTR when a signal arrived, -EPIPE when the executor closed its end (it died), or another
 * -errno. */
static int mf__exec_read_line(mf_executor *ex, int64_t timeout_ms, const char **line, size_t *n)
{
    int64_t until = mf_clock_mono_ms() + timeout_ms, left;
    struct pollfd pfd = {.fd = ex->from_child, .events = POLLIN};
    ssize_t r;
    int pr;

    for (;;) {
        if (mf__lines_next(&ex->in, line, n))
            return 1;
        left = until - mf_clock_mono_ms();
        pr = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (pr < 0)
            return -errno;
        if (pr == 0)
            return 0;
        r = mf__lines_fill(&ex->in, ex->from_child);
        if (r == 0)
            return -EPIPE;
        if (r < 0 && r != -EAGAIN)
            return (int)r;
    }
}

/* Waits for the child's {"ready": ...} line after lane->init(). */
static int mf__exec_ready(mf_executor *ex, mf_err *err)
{
    int64_t until = mf_clock_mono_ms() + MF_EXEC_INIT_TIMEOUT_MS;
    const char *line, *msg;
    json_t *obj = NULL;
    size_t n;
    int r = 0, rc = 0, st;

    while (r == 0 || r == -EINTR) {
        if (mf_clock_mono_ms() >= until) {
            rc = mf_err_set(err, MF_ETIMEOUT, "%s lane init timed out after %d s", ex->lane->name,
                            MF_EXEC_INIT_TIMEOUT_MS / 1000);
            goto out;
        }
        r = mf__exec_read_line(ex, until - mf_clock_mono_ms(), &line, &n);
    }
    if (r < 0) {
        mf__exec_reap(ex, &st);
        rc = mf__exec_died(st, "lane init", err);
        goto out;
    }
    obj = json_loadb(line, n, 0, NULL);
    if (json_is_true(json_object_get(obj, "ready")))
        goto out;
    rc = (int)json_integer_value(json_object_get(obj, "code"));
    msg = json_string_value(json_object_get(obj, "error"));
    rc = mf_err_set(err, rc < 0 ? rc : MF_EPROTO, "%s",
                    msg != NULL ? msg : "executor sent no ready line");
out:
    json_decref(obj);
    return rc;
}

int mf_executor_start(mf_executor *ex, mf_err *err)
{
    int down[2] = {-1, -1}, up[2] = {-1, -1}, rc = 0, i;
    pid_t parent = getpid(), pid;
    char statm[64], flag[64], **argv = NULL;

    if (ex->pid > 0)
        goto out;
    /* Every limit comes from the lane registry: a lane it does not know has none. */
    if (mf_config_lane_timeout(ex->cfg, ex->lane->name) < 0) {
        rc = mf_err_set(err, MF_ECONFIG, "lane '%s' is not in the lane registry (lanes: %s)",
                        ex->lane->name, mf_lanes_list());
        goto out;
    }
    argv = mf__exec_argv(ex, parent, flag, sizeof(flag)); /* built here, the child only execs */
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) {
        rc = mf_err_sys(err, -errno, "pipe2()");
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = mf_err_sys(err, -errno, "fork()");
        goto out;
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        mf__exec_child(ex, argv, down[0], up[1], parent);
    }
    ex->pid = pid;
    ex->to_child = down[1];
    ex->from_child = up[0];
    down[1] = up[0] = -1;
    /* The child's ends, closed now: an executor that dies before its ready line (killed while
     * it loads its libraries) must be an EOF here, not a wait for the init timeout. */
    close(down[0]);
    close(up[1]);
    down[0] = up[1] = -1;
    fcntl(ex->from_child, F_SETFL, O_NONBLOCK);
    snprintf(statm, sizeof(statm), "/proc/%ld/statm", (long)pid);
    ex->statm_fd = open(statm, O_RDONLY | O_CLOEXEC);
    rc = mf__exec_ready(ex, err);
    if (rc == 0)
        mf_log(MF_LOG_INFO, "lane=%s executor=%ld msg=\"executor ready\"", ex->lane->name,
               (long)pid);
out:
    for (i = 0; i < 2; i++) {
        if (down[i] >= 0)
            close(down[i]);
        if (up[i] >= 0)
            close(up[i]);
    }
    if (rc < 0)
        mf__exec_reap(ex, NULL);
    free(argv);
    return rc;
}

int mf_executor_submit(mf_executor *ex, const mf_exec_job *job, mf_err *err)
{
    char *line = mf_exec_job_encode(job);
    int rc = 0, tries, st;

    for (tries = 0; tries < 2; tries++) {
        if (ex->pid > 0 && waitpid(ex->pid, &st, WNOHANG) == ex->pid) {
            /* Died while idle (killed by hand, OOM killer): not this job's fault. */
            mf_log(MF_LOG_WARN, "lane=%s executor=%ld status=%d msg=\"idle executor died\"",
                   ex->lane->name, (long)ex->pid, st);
            ex->pid = 0;
            mf__exec_reap(ex, NULL);
        }
        rc = mf_executor_start(ex, err);
        if (rc < 0)
            goto out;
        rc = mf_fs_write_all(ex->to_child, line, strlen(line));
        if (rc != -EPIPE)
            break;
        mf__exec_reap(ex, NULL); /* it died between the check and the write */
    }
    if (rc < 0) {
        rc = mf_err_set(err, MF_ECRASH, "write() to the executor failed: %s", strerror(-rc));
        goto out;
    }
    ex->busy = 1;
    ex->job_started_ms = mf_clock_mono_ms();
    ex->next_rss_ms = ex->job_started_ms + MF_EXEC_RSS_INTERVAL_MS;
    free(ex->outdir);
    ex->outdir = mf_xstrdup(job->outdir);
    ex->progress = -1;
out:
    free(line);
    return rc;
}

/* Resident set of the executor in MiB, or -1 when unknown. */
static int64_t mf__exec_rss_mb(const mf_executor *ex)
{
    char buf[128], *end;
    ssize_t n;
    long long pages;

    if (ex->statm_fd < 0)
        return -1;
    n = pread(ex->statm_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    strtoll(buf, &end, 10); /* size */
    pages = strtoll(end, NULL, 10);
    return (int64_t)pages * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

/* Enforces the wall clock and the memory cap; kills the executor when one is exceeded. */
static int mf__exec_limits(mf_executor *ex, int64_t now, mf_err *err)
{
    int64_t timeout_s = mf_config_lane_timeout(ex->cfg, ex->lane->name);
    int64_t limit_mb = ex->cfg->job_memory_mb, rss_mb;

    if (timeout_s > 0 && now - ex->job_started_ms >= timeout_s * 1000) {
        mf_executor_kill(ex);
        return mf_err_set(err, MF_ETIMEOUT, "killed: exceeded the %s lane timeout of %lld s",
                          ex->lane->name, (long long)timeout_s);
    }
    if (now < ex->next_rss_ms)
        return 0;
    ex->next_rss_ms = now + MF_EXEC_RSS_INTERVAL_MS;
    rss_mb = mf__exec_rss_mb(ex);
    if (limit_mb > 0 && rss_mb > limit_mb) {
        mf_log(MF_LOG_WARN,
               "lane=%s executor=%ld rss_mb=%lld msg=\"executor over the memory limit\"",
               ex->lane->name, (long)ex->pid, (long long)rss_mb);
        mf_executor_kill(ex);
        return mf_err_set(err, MF_EMEMLIMIT, "killed: exceeded the job memory limit of %lld MB",
                          (long long)limit_mb);
    }
    return 0;
}

/* A progress line of the running job ({"progress":<per mille>}): noted, 1; else 0. */
static int mf__exec_progress_line(mf_executor *ex, const char *line, size_t n)
{
    static const char head[] = "{\"progress\":";
    long pm = 0;
    size_t i;

    if (n <= sizeof(head) - 1 || memcmp(line, head, sizeof(head) - 1) != 0)
        return 0;
    for (i = sizeof(head) - 1; i < n && line[i] >= '0' && line[i] <= '9' && pm <= 1000; i++)
        pm = pm * 10 + (line[i] - '0');
    if (pm > ex->progress && pm <= 1000)
        ex->progress = (int)pm;
    return 1;
}

int mf_executor_progress(const mf_executor *ex)
{
    return ex->busy ? ex->progress : -1;
}

int mf_executor_wait(mf_executor *ex, int slice_ms, mf_result *res, mf_err *err)
{
    int64_t now = mf_clock_mono_ms(), until = now + slice_ms, timeout_s, step;
    const char *line;
    size_t n;
    int rc = 0, st;

    if (!ex->busy)
        return mf_err_set(err, MF_EINVAL, "no job is running");
    timeout_s = mf_config_lane_timeout(ex->cfg, ex->lane->name);
    for (;;) {
        rc = mf__exec_limits(ex, now, err);
        if (rc < 0)
            goto out;
        step = until < ex->next_rss_ms ? until : ex->next_rss_ms;
        if (timeout_s > 0 && ex->job_started_ms + timeout_s * 1000 < step)
            step = ex->job_started_ms + timeout_s * 1000;
        rc = mf__exec_read_line(ex, step - now, &line, &n);
        if (rc == 1 && mf__exec_progress_line(ex, line, n)) {
            now = mf_clock_mono_ms();
            if (now >= until) {
                rc = 0;
                goto out;
            }
            continue;
        }
        if (rc == 1) {
            ex->busy = 0;
            rc = mf_exec_reply_decode(line, n, res, err);
            rc = rc == 0 ? 1 : rc;
            goto out;
        }
        if (rc == -EINTR) {
            rc = 0; /* let the caller look at its signal flags */
            goto out;
        }
        if (rc == -EPIPE) {
            mf__exec_reap(ex, &st);
            rc = mf__exec_died(st, "processing", err);
            goto out;
        }
        if (rc < 0) {
            mf__exec_reap(ex, NULL);
            rc = mf_err_set(err, MF_EPROTO, "read() of the executor reply failed: %s",
                            strerror(-rc));
            goto out;
        }
        now = mf_clock_mono_ms();
        if (now >= until)
            goto out;
    }
out:
    return rc;
}
