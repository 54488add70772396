/* Filesystem helpers that never follow a symlink out of a root and never show a reader a
 * half-written file. Thread-safe. */
#ifndef MF_FSUTIL_H
#define MF_FSUTIL_H

#include <stddef.h>
#include <sys/stat.h>
#include "mf/err.h"

/* Opens rel (relative, no "..", no leading '/') beneath the directory fd root_fd without
 * following any symlink on the way (each component opened with O_NOFOLLOW). flags are
 * open(2) flags for the last component (O_NOFOLLOW|O_CLOEXEC are added). Returns the fd or
 * MF_ESYMLINK / -errno with err set. */
int mf_fs_open_beneath(int root_fd, const char *rel, int flags, mf_err *err);

/* Opens the input file rel beneath root_fd for reading (as mf_fs_open_beneath), the one way
 * the dispatcher and the executors open uploads: the open itself never blocks (O_NONBLOCK,
 * so a FIFO or a device renamed over a queued file cannot hang the caller), anything but a
 * regular file is refused with MF_EUNSUPPORTED ("not a regular file (a FIFO)"), and
 * O_NONBLOCK is then cleared. st (may be NULL) receives the file's fstat(). Returns the fd
 * (O_CLOEXEC, caller closes) or MF_ESYMLINK / MF_EUNSUPPORTED / -errno with err set. */
int mf_fs_open_input(int root_fd, const char *rel, struct stat *st, mf_err *err);

/* write(2) of all len bytes, again after EINTR and short writes. Returns 0 or -errno. */
int mf_fs_write_all(int fd, const void *buf, size_t len);

/* Writes len bytes to dir/name atomically: dir/.name.tmp.<pid> then rename(2). Creates dir
 * (one level, mode 0755) if missing. Returns 0 or -errno with err set. */
int mf_fs_write_atomic(const char *dir, const char *name, const void *buf, size_t len, mf_err *err);

/* mkdir -p with mode 0755. Returns 0 or -errno with err set. */
int mf_fs_mkdirs(const char *path, mf_err *err);

/* rm -rf path without following symlinks (they are removed, not their targets). A missing
 * path is success. Returns 0 or -errno of the first failure (err set). */
int mf_fs_remove_tree(const char *path, mf_err *err);

/* Publishes the folder `from` as `to` in one step: when `to` exists the two are exchanged
 * (renameat2 RENAME_EXCHANGE) and the old contents, now at `from`, are removed; else a plain
 * rename. A reader sees the old set of files or the new one, never a mix. Same file system.
 * Returns 0 or -errno with err set. */
int mf_fs_publish_dir(const char *from, const char *to, mf_err *err);

/* Joins a and b with one '/' into buf. Returns 0 or -ENAMETOOLONG. */
int mf_fs_join(char *buf, size_t size, const char *a, const char *b);

#endif
