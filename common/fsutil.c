/* Safe opens beneath a root and atomic writes. */
#include "mf/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf/limits.h"

/* Walks rel one component at a time with O_NOFOLLOW, so neither a symlinked folder nor a
 * symlinked file can take us out of root_fd; ".." is refused outright. */
int mf_fs_open_beneath(int root_fd, const char *rel, int flags, mf_err *err)
{
    char comp[256];
    const char *p = rel;
    int dir = root_fd;
    int fd = -1;
    int rc = 0;

    if (rel == NULL || rel[0] == '\0' || rel[0] == '/') {
        rc = mf_err_set(err, MF_EINVAL, "open of %s refused: not a relative path",
                        rel ? rel : "(null)");
        goto out;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        int last = slash == NULL;
        int next;

        if (len == 0 || len >= sizeof(comp)) {
            rc = mf_err_set(err, MF_EINVAL, "open of path refused: empty or overlong component");
            goto out;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0) {
            rc = mf_err_set(err, MF_ESYMLINK, "open refused: path has a '%s' component", comp);
            goto out;
        }
        next = openat(dir, comp,
                      last ? (flags | O_NOFOLLOW | O_CLOEXEC)
                           : (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                      0644);
        if (next < 0) {
            int e = errno;
            rc = (e == ELOOP || (e == ENOTDIR && !last))
                     ? mf_err_set(err, MF_ESYMLINK, "open refused: '%s' is a symlink", comp)
                     : mf_err_sys(err, -e, "openat()");
            goto out;
        }
        if (dir != root_fd)
            close(dir);
        dir = next;
        if (last) {
            fd = next;
            dir = root_fd;
            break;
        }
        p = slash + 1;
    }
out:
    if (dir != root_fd && dir >= 0)
        close(dir);
    return rc < 0 ? rc : fd;
}

static const char *mf__file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "a special file";
}

int mf_fs_open_input(int root_fd, const char *rel, struct stat *st, mf_err *err)
{
    struct stat own;
    int fd;
    int rc = 0;

    if (st == NULL)
        st = &own;
    fd = mf_fs_open_beneath(root_fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, err);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    if (fstat(fd, st) < 0) {
        rc = mf_err_sys(err, -errno, "fstat()");
        goto out;
    }
    if (!S_ISREG(st->st_mode)) {
        rc =
            mf_err_set(err, MF_EUNSUPPORTED, "not a regular file (%s)", mf__file_kind(st->st_mode));
        goto out;
    }
    /* reads of a regular file ignore O_NONBLOCK, but a lane may hand the fd to code that
     * checks the flag (stdio, avio): give it an ordinary descriptor. No other status flag
     * was set by the open, so 0 clears just this one (one syscall, not F_GETFL first). */
    if (fcntl(fd, F_SETFL, 0) < 0)
        rc = mf_err_sys(err, -errno, "fcntl()");
out:
    if (rc < 0 && fd >= 0)
        close(fd);
    return rc < 0 ? rc : fd;
}

int mf_fs_join(char *buf, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a);
    int n;

    while (la > 1 && a[la - 1] == '/')
        la--;
    n = snprintf(buf, size, "%.*s/%s", (int)la, a, b);
    return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int mf_fs_mkdirs(const char *path, mf_err *err)
{
    char buf[MF_PATH_MAX];
    size_t len = strlen(path);
    int rc = 0;

    if (len == 0 || len >= sizeof(buf))
        return mf_err_set(err, -ENAMETOOLONG, "mkdir of '%s' failed: bad length", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            rc = mf_err_set(err, -errno, "mkdir(%s) failed: %s", buf, strerror(errno));
            goto out;
        }
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        rc = mf_err_set(err, -errno, "mkdir(%s) failed: %s", buf, strerror(errno));
out:
    return rc;
}

int mf_fs_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mf_fs_write_atomic(const char *dir, const char *name, const void *buf, size_t len, mf_err *err)
{
    char tmp[MF_PATH_MAX];
    char dst[MF_PATH_MAX];
    char tmpname[512];
    int fd = -1;
    int rc = 0;

    snprintf(tmpname, sizeof(tmpname), ".%s.tmp.%ld", name, (long)getpid());
    if (mf_fs_join(tmp, sizeof(tmp), dir, tmpname) < 0 ||
        mf_fs_join(dst, sizeof(dst), dir, name) < 0) {
        rc = mf_err_set(err, -ENAMETOOLONG, "output path too long: %s/%s", dir, name);
        goto out;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rc = mf_err_set(err, -errno, "mkdir(%s) failed: %s", dir, strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        rc = mf_err_set(err, -errno, "open(%s) failed: %s", tmp, strerror(errno));
        goto out;
    }
    rc = mf_fs_write_all(fd, buf, len);
    if (rc < 0) {
        mf_err_set(err, rc, "write(%s) failed: %s", tmp, strerror(-rc));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = mf_err_set(err, -errno, "close(%s) failed: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, dst) < 0)
        rc = mf_err_set(err, -errno, "rename(%s) failed: %s", dst, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int mf__rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int mf_fs_remove_tree(const char *path, mf_err *err)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) < 0)
        return errno == ENOENT
                   ? 0
                   : mf_err_set(err, -errno, "lstat() failed on %s: %s", path, strerror(errno));
    /* FTW_DEPTH: children before their folder; FTW_PHYS: a symlink is an entry, not a way out */
    rc = nftw(path, mf__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc != 0)
        return mf_err_set(err, rc < 0 ? rc : -EIO, "removing %s failed: %s", path,
                          strerror(rc < 0 ? -rc : EIO));
    return 0;
}

int mf_fs_publish_dir(const char *from, const char *to, mf_err *err)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0)
        return mf_fs_remove_tree(from, err);
    if (errno != ENOENT)
        return mf_err_set(err, -errno, "renameat2() failed exchanging %s and %s: %s", from, to,
                          strerror(errno));
    if (rename(from, to) < 0)
        return mf_err_set(err, -errno, "rename() failed on %s: %s", from, strerror(errno));
    return 0;
}
