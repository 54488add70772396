/* The executor's supervision (workers/runtime/executor.c) with a fake lane built into this
 * test: a job that crashes, hangs, or eats memory costs that job (with an error a user can
 * read), never the worker, and the next job runs in a fresh executor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mf/clock.h"
#include "mf/executor.h"
#include "mf/fsutil.h"
#include "mf/worker.h"

static char root[256], inbox[300], outbox[300];
static mf_config cfg;

/* ---- the fake lane: what it does depends on the input's name -------------------------- */

static int fake_init(const mf_config *c, mf_err *err)
{
    return 0;
}

static int fake_hog(void)
{
    size_t chunk = 64u << 20, total;
    char *p;

    for (total = 0; total < (2048u << 20); total += chunk) {
        p = malloc(chunk);
        if (p == NULL)
            return MF_EINVAL;
        memset(p, 1, chunk); /* touched, so resident */
    }
    sleep(30); /* hold it: the supervisor must kill us before this returns */
    return 0;
}

static int fake_process(const mf_lane_job *job, mf_result *out, mf_err *err)
{
    char buf[64];
    ssize_t n;

    if (strcmp(job->rel_path, "crash.txt") == 0)
        raise(SIGSEGV); /* what a decoder's bad write ends in (a real one trips UBSan first) */
    if (strcmp(job->rel_path, "hang.txt") == 0) {
        mf_fs_write_atomic(job->outdir, "never", "x", 1, err); /* leaves nothing behind */
        for (;;)
            pause();
    }
    if (strcmp(job->rel_path, "hog.txt") == 0)
        return fake_hog();
    if (strcmp(job->rel_path, "exit.txt") == 0)
        _exit(7);
    if (strcmp(job->rel_path, "corrupt.txt") == 0)
        return mf_err_set(err, MF_ECORRUPT, "fake_decode() failed: bad header");
    n = read(job->fd, buf, sizeof(buf) - 1);
    if (n < 0)
        return mf_err_sys(err, -errno, "read()");
    if (mf_fs_write_atomic(job->outdir, "copy.txt", buf, (size_t)n, err) < 0)
        return err->code;
    mf_result_add_output(out, "copy.txt");
    json_object_set_new(out->meta, "bytes", json_integer(n));
    json_object_set_new(out->meta, "pid", json_integer(getpid()));
    json_object_set_new(out->meta, "path", json_string(job->path));
    return 0;
}

static const mf_lane fake_lane = {.name = "image", .init = fake_init, .process = fake_process};

static int failing_init(const mf_config *c, mf_err *err)
{
    return mf_err_set(err, MF_ECONFIG, "image_format \"bmp\" is not one of webp jpeg png avif");
}

static const mf_lane failing_lane = {
    .name = "image", .init = failing_init, .process = fake_process};

/* ---- fixtures ------------------------------------------------------------------------- */

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", inbox, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    const char *tmp = getenv("MF_TEST_TMP");
    char *argv[] = {"test", NULL}, path[512];
    int argc = 1;
    mf_err err;

    mkdir(tmp != NULL ? tmp : "/tmp", 0755);
    snprintf(root, sizeof(root), "%s/mf-test-exec-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(inbox, sizeof(inbox), "%s/inbox", root);
    snprintf(outbox, sizeof(outbox), "%s/outbox", root);
    if (mf_fs_mkdirs(inbox, &err) < 0 || mf_fs_mkdirs(outbox, &err) < 0)
        return -1;
    if (mf_config_load(&cfg, NULL, &argc, argv, &err) < 0 ||
        mf_config_set(&cfg, "inbox", inbox, &err) < 0 ||
        mf_config_set(&cfg, "outbox", outbox, &err) < 0 ||
        mf_config_set(&cfg, "timeout_image", "1", &err) < 0 ||
        mf_config_set(&cfg, "job_memory_mb", "64", &err) < 0)
        return -1;
    put("hello.txt", "hello");
    put("crash.txt", "");
    put("hang.txt", "");
    put("hog.txt", "");
    put("exit.txt", "");
    put("corrupt.txt", "");
    snprintf(path, sizeof(path), "%s/secret.txt", root);
    fclose(fopen(path, "w"));
    snprintf(path, sizeof(path), "%s/link.txt", inbox);
    return symlink("../secret.txt", path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    mf_config_close(&cfg);
    if (getenv("MF_KEEP_TMP") == NULL)
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Runs one job to its end; returns mf_executor_wait()'s final value. */
static int run(mf_executor *ex, const char *rel, mf_result *res, mf_err *err)
{
    char outdir[512];
    mf_exec_job job = {.id = "T1", .rel_path = (char *)rel, .outdir = outdir};
    int rc;

    snprintf(outdir, sizeof(outdir), "%s/T1", outbox);
    *res = (mf_result){0};
    rc = mf_executor_submit(ex, &job, err);
    if (rc < 0)
        return rc;
    do {
        rc = mf_executor_wait(ex, 200, res, err);
    } while (rc == 0);
    return rc;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_ok_job(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    char path[PATH_MAX + 16], abs[PATH_MAX], buf[16] = {0};
    mf_result res;
    mf_err err;
    int fd;

    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    assert_string_equal(json_string_value(json_array_get(res.outputs, 0)), "copy.txt");
    assert_int_equal(json_integer_value(json_object_get(res.meta, "bytes")), 5);
    /* it ran in the executor, not here */
    assert_int_not_equal(json_integer_value(json_object_get(res.meta, "pid")), getpid());
    assert_int_equal(json_integer_value(json_object_get(res.meta, "pid")), mf_executor_pid(ex));
    /* the lane is told the absolute path of what it reads (through fd) */
    assert_non_null(realpath(inbox, abs));
    snprintf(path, sizeof(path), "%s/hello.txt", abs);
    assert_string_equal(json_string_value(json_object_get(res.meta, "path")), path);
    snprintf(path, sizeof(path), "%s/T1/copy.txt", outbox);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "hello");
    close(fd);
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_lane_error_keeps_executor(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    mf_result res;
    mf_err err;
    pid_t pid;

    assert_int_equal(run(ex, "corrupt.txt", &res, &err), MF_ECORRUPT);
    assert_string_equal(err.msg, "fake_decode() failed: bad header");
    pid = mf_executor_pid(ex);
    assert_true(pid > 0);
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    assert_int_equal(mf_executor_pid(ex), pid); /* a warm executor is reused */
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_crash_is_retryable_and_recovers(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    mf_result res;
    mf_err err;
    pid_t before;

    assert_int_equal(mf_executor_start(ex, &err), 0);
    before = mf_executor_pid(ex);
    assert_int_equal(run(ex, "crash.txt", &res, &err), MF_ECRASH);
    assert_string_equal(err.msg, "processing crashed: SIGSEGV (signal 11)");
    assert_true(mf_err_retryable(MF_ECRASH));
    assert_int_equal(mf_executor_pid(ex), 0);
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    assert_int_not_equal(mf_executor_pid(ex), before);
    mf_result_close(&res);

    assert_int_equal(run(ex, "exit.txt", &res, &err), MF_ECRASH);
    assert_string_equal(err.msg, "processing crashed: the executor exited with status 7");
    mf_executor_free(ex);
}

static void test_timeout_kills(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    char path[512];
    mf_result res;
    mf_err err;
    int64_t t0 = mf_clock_mono_ms();
    pid_t pid;
    struct stat st;

    assert_int_equal(mf_executor_start(ex, &err), 0);
    pid = mf_executor_pid(ex);
    assert_int_equal(run(ex, "hang.txt", &res, &err), MF_ETIMEOUT);
    assert_string_equal(err.msg, "killed: exceeded the image lane timeout of 1 s");
    assert_true(mf_clock_mono_ms() - t0 >= 1000);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
    /* the half-written output of the killed executor was swept */
    snprintf(path, sizeof(path), "%s/T1/.never.tmp.%ld", outbox, (long)pid);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_memory_limit_kills(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    mf_result res;
    mf_err err;

    assert_int_equal(run(ex, "hog.txt", &res, &err), MF_EMEMLIMIT);
    assert_string_equal(err.msg, "killed: exceeded the job memory limit of 64 MB");
    assert_false(mf_err_retryable(MF_EMEMLIMIT));
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_symlink_never_followed(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    mf_result res;
    mf_err err;

    assert_int_equal(run(ex, "link.txt", &res, &err), MF_ESYMLINK);
    assert_int_equal(run(ex, "../secret.txt", &res, &err), MF_ESYMLINK);
    mf_executor_free(ex);
}

static void test_idle_death_is_not_the_jobs_fault(void **state)
{
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);
    mf_result res;
    mf_err err;
    pid_t pid;

    assert_int_equal(mf_executor_start(ex, &err), 0);
    pid = mf_executor_pid(ex);
    kill(pid, SIGKILL);
    usleep(50 * 1000);
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    assert_int_not_equal(mf_executor_pid(ex), pid);
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_init_failure_reported(void **state)
{
    mf_executor *ex = mf_executor_new(&failing_lane, &cfg);
    mf_err err;

    assert_int_equal(mf_executor_start(ex, &err), MF_ECONFIG);
    assert_string_equal(err.msg, "image_format \"bmp\" is not one of webp jpeg png avif");
    assert_int_equal(mf_executor_pid(ex), 0);
    mf_executor_free(ex);
}

/* 1 when pid is gone or a zombie nobody reaped yet (it no longer runs). */
static int gone(pid_t pid)
{
    char path[64], stat_line[256] = {0}, *close_paren;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return 1;
    read(fd, stat_line, sizeof(stat_line) - 1);
    close(fd);
    close_paren = strrchr(stat_line, ')');
    return close_paren != NULL && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

/* kill -9 of the worker takes its executor with it (PR_SET_PDEATHSIG). */
static void test_executor_dies_with_worker(void **state)
{
    int fds[2], i;
    pid_t worker, exec_pid = 0;
    mf_err err;

    assert_int_equal(pipe(fds), 0);
    worker = fork();
    assert_true(worker >= 0);
    if (worker == 0) {
        mf_executor *ex = mf_executor_new(&fake_lane, &cfg);

        if (mf_executor_start(ex, &err) < 0)
            _exit(1);
        exec_pid = mf_executor_pid(ex);
        write(fds[1], &exec_pid, sizeof(exec_pid));
        for (;;)
            pause();
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &exec_pid, sizeof(exec_pid)), sizeof(exec_pid));
    close(fds[0]);
    assert_false(gone(exec_pid));
    kill(worker, SIGKILL);
    waitpid(worker, NULL, 0);
    for (i = 0; i < 100 && !gone(exec_pid); i++)
        usleep(20 * 1000);
    assert_true(gone(exec_pid));
}

/* ---- executor as a separate program (what mf-worker-<lane> does) ----------------------- */

/* An executor that execv()s this very test binary, which then runs the fake lane through
 * mf_exec_main() (see main()); the configuration reaches it only through the arguments. */
static mf_executor *exec_new(const char *program)
{
    char a_inbox[320], a_outbox[320];
    char *args[] = {a_inbox, a_outbox, "--timeout-image=1", "--job_memory_mb", "64"};
    mf_executor *ex = mf_executor_new(&fake_lane, &cfg);

    snprintf(a_inbox, sizeof(a_inbox), "--inbox=%s", inbox);
    snprintf(a_outbox, sizeof(a_outbox), "--outbox=%s", outbox);
    mf_executor_set_program(ex, program, 5, args);
    return ex;
}

static void test_exec_program_runs_jobs(void **state)
{
    mf_executor *ex = exec_new("/proc/self/exe");
    mf_result res = {0};
    mf_err err;
    pid_t pid;

    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    pid = mf_executor_pid(ex);
    assert_int_equal(json_integer_value(json_object_get(res.meta, "pid")), pid);
    assert_int_equal(json_integer_value(json_object_get(res.meta, "bytes")), 5);
    mf_result_close(&res);
    /* Same isolation as a forked lane: a crash costs the job, the next one gets a new one. */
    assert_int_equal(run(ex, "crash.txt", &res, &err), MF_ECRASH);
    assert_string_equal(err.msg, "processing crashed: SIGSEGV (signal 11)");
    assert_int_equal(run(ex, "hang.txt", &res, &err), MF_ETIMEOUT);
    assert_int_equal(run(ex, "hello.txt", &res, &err), 1);
    assert_int_not_equal(mf_executor_pid(ex), pid);
    mf_result_close(&res);
    mf_executor_free(ex);
}

static void test_exec_program_init_failure_reported(void **state)
{
    mf_executor *ex = exec_new("/proc/self/exe");
    mf_err err;

    setenv("MF_TEST_FAILING_LANE", "1", 1); /* inherited by the exec'd executor */
    assert_int_equal(mf_executor_start(ex, &err), MF_ECONFIG);
    unsetenv("MF_TEST_FAILING_LANE");
    assert_string_equal(err.msg, "image_format \"bmp\" is not one of webp jpeg png avif");
    assert_int_equal(mf_executor_pid(ex), 0);
    mf_executor_free(ex);
}

static void test_exec_program_missing(void **state)
{
    mf_executor *ex = exec_new("/nonexistent/mf-exec-image");
    char path[PATH_MAX];
    mf_err err;

    assert_int_equal(mf_executor_start(ex, &err), MF_ECONFIG);
    assert_string_equal(err.msg,
                        "execv() failed on /nonexistent/mf-exec-image: No such file or directory");
    mf_executor_free(ex);
    setenv("MF_EXEC_DIR", "/nonexistent", 1);
    assert_int_equal(mf_executor_find("image", path, sizeof(path), &err), MF_ECONFIG);
    unsetenv("MF_EXEC_DIR");
    assert_string_equal(err.msg, "executor mf-exec-image not found: tried "
                                 "/nonexistent/mf-exec-image (No such file or directory); install "
                                 "it there or set MF_EXEC_DIR to its folder");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_job),
        cmocka_unit_test(test_lane_error_keeps_executor),
        cmocka_unit_test(test_crash_is_retryable_and_recovers),
        cmocka_unit_test(test_timeout_kills),
        cmocka_unit_test(test_memory_limit_kills),
        cmocka_unit_test(test_symlink_never_followed),
        cmocka_unit_test(test_idle_death_is_not_the_jobs_fault),
        cmocka_unit_test(test_init_failure_reported),
        cmocka_unit_test(test_executor_dies_with_worker),
        cmocka_unit_test(test_exec_program_runs_jobs),
        cmocka_unit_test(test_exec_program_init_failure_reported),
        cmocka_unit_test(test_exec_program_missing),
    };

    /* Started as an executor program by the test_exec_* tests. */
    if (argc >= 2 && strncmp(argv[1], MF_EXEC_FLAG, strlen(MF_EXEC_FLAG)) == 0)
        return mf_exec_main(getenv("MF_TEST_FAILING_LANE") != NULL ? &failing_lane : &fake_lane,
                            argc, argv);
    return cmocka_run_group_tests(tests, setup, teardown);
}
