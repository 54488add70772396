#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mf/fsutil.h"

static char root[256];
static int root_fd = -1;

static void put(const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    char path[512];

    snprintf(root, sizeof(root), "/tmp/mf-test-fs-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/inbox/sub", root);
    if (mf_fs_mkdirs(path, NULL) < 0)
        return -1;
    put("secret.txt", "outside");
    put("inbox/sub/ok.txt", "inside");
    snprintf(path, sizeof(path), "%s/inbox/link.txt", root);
    if (symlink("../secret.txt", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/inbox/linkdir", root);
    if (symlink("..", path) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/inbox", root);
    root_fd = open(path, O_RDONLY | O_DIRECTORY);
    return root_fd < 0 ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    close(root_fd);
    return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_open_inside(void **state)
{
    mf_err err;
    char buf[16] = {0};
    int fd = mf_fs_open_beneath(root_fd, "sub/ok.txt", O_RDONLY, &err);

    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
    assert_string_equal(buf, "inside");
    close(fd);
}

static void test_symlinks_refused(void **state)
{
    mf_err err;

    assert_int_equal(mf_fs_open_beneath(root_fd, "link.txt", O_RDONLY, &err), MF_ESYMLINK);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_int_equal(mf_fs_open_beneath(root_fd, "linkdir/secret.txt", O_RDONLY, &err),
                     MF_ESYMLINK);
    assert_int_equal(mf_fs_open_beneath(root_fd, "../secret.txt", O_RDONLY, &err), MF_ESYMLINK);
    assert_int_equal(mf_fs_open_beneath(root_fd, "/etc/passwd", O_RDONLY, &err), MF_EINVAL);
    assert_true(mf_fs_open_beneath(root_fd, "sub/missing", O_RDONLY, &err) < 0);
}

/* Inputs are opened without blocking and only when they are regular files: a FIFO renamed
 * over a queued upload fails at once, with a reason a person reads. */
static void test_open_input_only_regular_files(void **state)
{
    char path[512];
    struct stat st;
    mf_err err;
    char buf[16] = {0};
    int fd;

    snprintf(path, sizeof(path), "%s/inbox/sub/fifo.jpg", root);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(mf_fs_open_input(root_fd, "sub/fifo.jpg", &st, &err), MF_EUNSUPPORTED);
    assert_string_equal(err.msg, "not a regular file (a FIFO)");
    assert_int_equal(mf_fs_open_input(root_fd, "sub", NULL, &err), MF_EUNSUPPORTED);
    assert_string_equal(err.msg, "not a regular file (a folder)");
    assert_int_equal(mf_fs_open_input(root_fd, "link.txt", NULL, &err), MF_ESYMLINK);
    assert_int_equal(mf_fs_open_input(root_fd, "sub/missing", NULL, &err), -ENOENT);

    fd = mf_fs_open_input(root_fd, "sub/ok.txt", &st, &err);
    assert_true(fd >= 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 6);
    /* an ordinary descriptor for the lane: blocking, closed on exec */
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
    close(fd);
    unlink(path);
}

static void test_write_all(void **state)
{
    static char big[1 << 20];
    char *back = malloc(sizeof(big));
    int fds[2];
    size_t got = 0;
    int status = 0;
    pid_t pid;

    assert_non_null(back);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    /* more than a pipe holds: the write is finished in several parts */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(mf_fs_write_all(fds[1], big, sizeof(big)) == 0 ? 0 : 1);
    }
    close(fds[1]);
    while (got < sizeof(big)) {
        ssize_t n = read(fds[0], back + got, sizeof(big) - got);

        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_equal(back, big, sizeof(big));
    free(back);
    /* a closed reader is an error code, not a crash (SIGPIPE ignored here) */
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    assert_int_equal(mf_fs_write_all(fds[1], "x", 1), -EPIPE);
    close(fds[1]);
}

static void test_write_atomic_leaves_only_the_file(void **state)
{
    char dir[512];
    char path[600];
    char buf[32] = {0};
    mf_err err;
    DIR *d;
    struct dirent *de;
    int entries = 0;
    int fd;

    snprintf(dir, sizeof(dir), "%s/out", root);
    assert_int_equal(mf_fs_write_atomic(dir, "meta.json", "{\"a\":1}", 7, &err), 0);
    assert_int_equal(mf_fs_write_atomic(dir, "meta.json", "{\"a\":2}", 7, &err), 0);
    snprintf(path, sizeof(path), "%s/meta.json", dir);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "{\"a\":2}");
    close(fd);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_inside),
        cmocka_unit_test(test_symlinks_refused),
        cmocka_unit_test(test_open_input_only_regular_files),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_write_atomic_leaves_only_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
