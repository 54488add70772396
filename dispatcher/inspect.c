/* The per-file work of the dispatcher, run on the libuv thread pool: open without following
 * links, make sure the file is complete, hash it once while keeping its head, classify the
 * head. Nothing here touches the event loop or Redis. */
#include "mf/dispatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/fsutil.h"
#include "mf/lanemap.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/pathrule.h"

/* Hash passes over a file whose size or mtime changes under us before we give up and record
 * what we read: the writer's own close event will record the final content anyway. */
#define MF__INSPECT_PASSES 3

static int64_t mf__mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* 1 when some process has the file open for writing. A read lease can only be taken on a
 * file nobody writes (fcntl(2): EAGAIN); it is dropped at once. Any other failure (EACCES:
 * not our file and no CAP_LEASE; EINVAL: no leases on this filesystem) means we cannot tell,
 * and the file counts as complete. */
static int mf__being_written(int fd)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    int e;

    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        (void)fcntl(fd, F_SETLEASE, F_UNLCK);
        return 0;
    }
    e = errno;
    if (e != EAGAIN && !atomic_flag_test_and_set(&warned))
        mf_log_error(MF_LOG_WARN, strerror(e),
                     "msg=\"cannot tell whether a file is still being written: "
                     "fcntl(F_SETLEASE) failed; a file found by a scan while its upload is in "
                     "progress may be recorded early\" hint=\"%s\"",
                     e == EACCES ? "run as the files' owner or grant CAP_LEASE"
                                 : "filesystem has no leases");
    return e == EAGAIN;
}

/* Hashes fd from the start until two fstat() around a pass agree; fills out's size/mtime. */
static int mf__hash_stable(int fd, struct stat *st, unsigned char *head, size_t *head_len,
                           mf_inspect *out, mf_err *err)
{
    struct stat after;
    int64_t total = 0;
    int rc = 0;

    for (int pass = 0; pass < MF__INSPECT_PASSES; pass++) {
        if (lseek(fd, 0, SEEK_SET) < 0) {
            rc = mf_err_sys(err, -errno, "lseek()");
            goto out;
        }
        rc = mf_hash_fd(fd, out->sha256, head, MF_MAGIC_HEAD_BYTES, head_len, &total, err);
        if (rc < 0)
            goto out;
        if (fstat(fd, &after) < 0) {
            rc = mf_err_sys(err, -errno, "fstat()");
            goto out;
        }
        if (after.st_size == st->st_size && mf__mtime_ms(&after) == mf__mtime_ms(st) &&
            after.st_size == total)
            break;
        *st = after;
    }
    out->size = total;
    out->mtime_ms = mf__mtime_ms(&after);
out:
    return rc;
}

/* n bytes for a person: "512 bytes", "2.0 KiB", "5.0 GiB". */
static void mf__human_size(int64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = -1;

    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u < 0)
        snprintf(buf, size, "%lld bytes", (long long)n);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* "file is 5.0 GiB, over the 4.0 GiB limit max_input_bytes"; exact byte counts when the
 * rounded figures would read the same. */
static void mf__over_limit(int64_t size, int64_t limit, char *buf, size_t len)
{
    char a[32], b[32];

    mf__human_size(size, a, sizeof(a));
    mf__human_size(limit, b, sizeof(b));
    if (strcmp(a, b) == 0) {
        snprintf(a, sizeof(a), "%lld bytes", (long long)size);
        snprintf(b, sizeof(b), "%lld bytes", (long long)limit);
    }
    snprintf(buf, len, "file is %s, over the %s limit max_input_bytes", a, b);
}

/* Reads up to cap bytes of the head of fd (from offset 0) into head. */
static int mf__read_head(int fd, unsigned char *head, size_t cap, size_t *len, mf_err *err)
{
    size_t got = 0;
    int rc = 0;

    while (got < cap) {
        ssize_t n = pread(fd, head + got, cap - got, (off_t)got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mf_err_sys(err, -errno, "read()");
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *len = got;
out:
    return rc;
}

int mf_dispatch_inspect(int inbox_fd, const char *rel, const mf_config *cfg, mf_classifier *magic,
                        int check_writers, mf_inspect *out, mf_err *err)
{
    unsigned char *head = mf_xmalloc(MF_MAGIC_HEAD_BYTES);
    const char *model;
    size_t head_len = 0;
    struct stat st;
    int fd = -1;
    int rc = 0;

    out->refused[0] = '\0';
    out->sha256[0] = '\0';
    /* never blocks (a FIFO someone dropped in the inbox must not hang a pool thread) and
     * refuses anything but a regular file */
    fd = mf_fs_open_input(inbox_fd, rel, &st, err);
    if (fd < 0) {
        rc = fd;
        goto out;
    }
    if (check_writers && mf__being_written(fd)) {
        rc = mf_err_set(err, MF_EBUSY, "still open for writing");
        goto out;
    }
    /* decided from fstat() before hashing: hashing 5 GiB to refuse it costs 20 s of a pool
     * thread, and an empty file is nobody's duplicate */
    if (st.st_size == 0) {
        snprintf(out->refused, sizeof(out->refused), "file is empty");
    } else if (st.st_size > cfg->max_input_bytes) {
        mf__over_limit(st.st_size, cfg->max_input_bytes, out->refused, sizeof(out->refused));
        rc = mf__read_head(fd, head, MF_MAGIC_HEAD_BYTES, &head_len, err);
    } else {
        rc = mf__hash_stable(fd, &st, head, &head_len, out, err);
    }
    if (rc < 0)
        goto out;
    if (out->refused[0] != '\0') {
        out->size = st.st_size;
        out->mtime_ms = mf__mtime_ms(&st);
    }
    rc = mf_classify_buffer(magic, head, head_len, out->mime, sizeof(out->mime), err);
    if (rc < 0)
        goto out;
    /* 3D models hide behind generic containers (text/plain, application/zip, image/x-3ds) */
    model = mf_sniff_model(out->mime, head, head_len, st.st_size, rel);
    if (model != NULL)
        snprintf(out->mime, sizeof(out->mime), "%s", model);
    out->lane = mf_lanemap_lane(out->mime, (const char *const *)cfg->lane_mime, MF_LANE_COUNT);
    mf_path_profile(rel, cfg->profiles, out->profile, sizeof(out->profile));
    out->lane = mf_lanemap_route(out->lane, out->profile, cfg->profile_routes);
out:
    if (fd >= 0)
        close(fd);
    free(head);
    return rc;
}
