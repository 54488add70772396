/* Scanning: at start, after every Redis reconnect, after an inotify overflow, and for every
 * folder that appears. Breadth-first with one folder open at a time (so fds stay bounded
 * however deep the tree), in steps of MF__SCAN_CHUNK files run from an idle handle, so the
 * loop keeps reading events and flushing batches while a large inbox is listed.
 *
 * Each folder is watched before it is listed: a file closed before the watch existed is
 * listed; one closed after it produces an event. Listed files already recorded with the same
 * path, size and mtime are skipped (one mf_queue_known() pipeline per step); files still
 * open for writing are refused by the inspection (their close is still to come). Symlinks
 * are never followed: every open uses O_NOFOLLOW, every stat AT_SYMLINK_NOFOLLOW. Files of a
 * polled folder (poll.c: a network share, or watch=poll) are left to the poller, which
 * records them once they stop changing; the scan still lists its subfolders to watch them. */
#include "disp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/pathrule.h"

/* A file found by the listing, waiting for the known-check of its step. */
typedef struct mf__found {
    char *rel;
    int64_t size;
    int64_t mtime_ms;
} mf__found;

static void mf__scan_on_idle(uv_idle_t *handle);

void mf__scan_init(mf__disp *d)
{
    uv_idle_init(d->loop, &d->scan_idle);
    d->scan_idle.data = d;
}

static void mf__scan_close_dir(mf__disp *d)
{
    if (d->scan_dir != NULL)
        closedir(d->scan_dir);
    d->scan_dir = NULL;
    free(d->scan_rel);
    d->scan_rel = NULL;
}

static void mf__scan_clear(mf__disp *d)
{
    mf__scan_close_dir(d);
    for (size_t i = d->scan_head; i < d->scan_len; i++)
        free(d->scan_queue[i]);
    d->scan_head = d->scan_len = 0;
}

static void mf__scan_push(mf__disp *d, char *rel)
{
    if (d->scan_head > 0 && d->scan_len == d->scan_cap) {
        memmove(d->scan_queue, d->scan_queue + d->scan_head,
                (d->scan_len - d->scan_head) * sizeof(*d->scan_queue));
        d->scan_len -= d->scan_head;
        d->scan_head = 0;
    }
    if (d->scan_len == d->scan_cap) {
        d->scan_cap = d->scan_cap ? d->scan_cap * 2 : 64;
        d->scan_queue = mf_xrealloc(d->scan_queue, d->scan_cap * sizeof(*d->scan_queue));
    }
    d->scan_queue[d->scan_len++] = rel;
}

void mf__scan_kick(mf__disp *d)
{
    int work = d->scan_dir != NULL || d->scan_head < d->scan_len;

    if (work && d->redis_up && !d->stopping && d->n_inflight < MF__SCAN_INFLIGHT_MAX / 2 &&
        !uv_is_active((uv_handle_t *)&d->scan_idle))
        uv_idle_start(&d->scan_idle, mf__scan_on_idle);
}

/* A counter of <prefix>stats for /metrics; only while Redis is up (never blocks the loop on
 * a Redis that is down), and a failure loses one count, nothing else. */
void mf__disp_stat(mf__disp *d, const char *field)
{
    mf_err err;

    if (d->redis_up)
        (void)mf_queue_stat_incr(d->redis, d->cfg->prefix, field, 1, &err);
}

void mf__scan_request(mf__disp *d, const char *rel)
{
    char *copy = mf_xstrdup(rel);

    if (d->stopping) {
        free(copy);
        return;
    }
    if (rel[0] == '\0') {
        /* everything: whatever was in progress is covered */
        mf__scan_clear(d);
        d->scan_seen = d->scan_new = 0;
        d->scan_running = 1;
        mf_log(MF_LOG_INFO, "msg=\"scanning the inbox\"");
        mf__disp_stat(d, "dispatcher:rescans");
    }
    mf__scan_push(d, copy);
    mf__scan_kick(d);
}

void mf__scan_stop(mf__disp *d)
{
    mf__scan_clear(d);
    free(d->scan_queue);
    d->scan_queue = NULL;
    d->scan_cap = 0;
    if (uv_is_active((uv_handle_t *)&d->scan_idle))
        uv_idle_stop(&d->scan_idle);
}

/* Opens the next queued folder beneath the inbox (no symlink on the way) and watches it.
 * Returns 1 with a folder open, 0 when the queue is empty. */
static int mf__scan_next_dir(mf__disp *d)
{
    char q[512];

    while (d->scan_dir == NULL && d->scan_head < d->scan_len) {
        char *rel = d->scan_queue[d->scan_head++];
        mf_err err = {0};
        int fd;

        if (rel[0] == '\0')
            fd = openat(d->inbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else
            fd = mf_fs_open_beneath(d->inbox_fd, rel, O_RDONLY | O_DIRECTORY, &err);
        if (fd < 0) {
            /* gone already, or turned into a symlink: nothing of ours in it */
            mf_log_error(MF_LOG_DEBUG, err.msg[0] ? err.msg : strerror(errno),
                         "msg=\"folder not scanned\" dir=%s", mf_log_quote(q, sizeof(q), rel));
            free(rel);
            continue;
        }
        d->scan_polled = mf__poll_folder(d, fd, rel);
        mf__watch_add(d, fd, rel);
        d->scan_dir = fdopendir(fd);
        if (d->scan_dir == NULL) {
            close(fd);
            free(rel);
            continue;
        }
        d->scan_rel = rel;
    }
    return d->scan_dir != NULL;
}

char *mf__disp_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *rel;

    if (ld + ln + 2 > MF_PATH_MAX)
        return NULL;
    rel = mf_xmalloc(ld + ln + 2);
    if (ld > 0) {
        memcpy(rel, dir, ld);
        rel[ld++] = '/';
    }
    memcpy(rel + ld, name, ln + 1);
    return rel;
}

/* Looks at one entry of the open folder: queues folders, collects regular files into found,
 * logs symlinks. Returns 1 when a file was collected. */
static int mf__scan_entry(mf__disp *d, const struct dirent *de, mf__found *found)
{
    char q[512];
    struct stat st;
    char *rel;
    int rc = 0;

    if (mf_path_ignored(de->d_name))
        return 0; /* also "." and ".." */
    rel = mf__disp_join(d->scan_rel, de->d_name);
    if (rel == NULL)
        return 0;
    if (fstatat(dirfd(d->scan_dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        goto out; /* gone meanwhile */
    if (S_ISDIR(st.st_mode)) {
        mf__scan_push(d, rel);
        rel = NULL;
    } else if (S_ISLNK(st.st_mode)) {
        mf_log(MF_LOG_INFO, "msg=\"symlink skipped\" path=%s", mf_log_quote(q, sizeof(q), rel));
    } else if (S_ISREG(st.st_mode) && !d->scan_polled) {
        found->rel = rel;
        found->size = st.st_size;
        found->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        rel = NULL;
        rc = 1;
    }
out:
    free(rel);
    return rc;
}

/* Lists up to MF__SCAN_CHUNK files (and at most 8 times as many entries, so a tree of empty
 * folders cannot hold the loop either). Returns how many were collected into found. */
static size_t mf__scan_collect(mf__disp *d, mf__found *found)
{
    size_t n = 0, examined = 0;

    while (n < MF__SCAN_CHUNK && examined++ < 8 * MF__SCAN_CHUNK && mf__scan_next_dir(d)) {
        struct dirent *de;

        errno = 0;
        de = readdir(d->scan_dir);
        if (de == NULL) {
            mf__scan_close_dir(d);
            continue;
        }
        n += (size_t)mf__scan_entry(d, de, &found[n]);
    }
    return n;
}

/* Submits the files of found that Redis does not know yet. Returns 0 or MF_EREDIS. */
static int mf__scan_submit(mf__disp *d, mf__found *found, size_t n)
{
    mf_upload ups[MF__SCAN_CHUNK];
    int known[MF__SCAN_CHUNK];
    int64_t now_ms = mf_clock_now_ms();
    mf_err err = {0};
    int rc;

    memset(ups, 0, n * sizeof(*ups));
    for (size_t i = 0; i < n; i++) {
        ups[i].path = found[i].rel;
        ups[i].path_len = strlen(found[i].rel);
        ups[i].size = found[i].size;
        ups[i].mtime_ms = found[i].mtime_ms;
    }
    rc = mf_queue_known(d->redis, d->cfg->prefix, ups, n, known, &err);
    if (rc < 0) {
        mf__pipeline_redis_down(d, &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        d->scan_seen++;
        if (known[i])
            continue;
        d->scan_new++;
        mf__pipeline_submit(d, found[i].rel, now_ms, 0);
        found[i].rel = NULL;
    }
out:
    return rc;
}

static void mf__scan_on_idle(uv_idle_t *handle)
{
    mf__disp *d = handle->data;
    mf__found found[MF__SCAN_CHUNK];
    size_t n;

    if (!d->redis_up || d->stopping || d->n_inflight >= MF__SCAN_INFLIGHT_MAX) {
        /* paused: a reconnect restarts the scan, the pool draining resumes it */
        uv_idle_stop(&d->scan_idle);
        return;
    }
    n = mf__scan_collect(d, found);
    if (n > 0 && mf__scan_submit(d, found, n) < 0)
        mf__scan_clear(d); /* Redis down: the reconnect rescans everything */
    for (size_t i = 0; i < n; i++)
        free(found[i].rel);
    if (d->scan_dir == NULL && d->scan_head == d->scan_len) {
        uv_idle_stop(&d->scan_idle);
        if (d->scan_running)
            mf_log(MF_LOG_INFO, "msg=\"inbox scanned\" files=%llu new=%llu",
                   (unsigned long long)d->scan_seen, (unsigned long long)d->scan_new);
        d->scan_running = 0;
    }
}
