/* Recursive inotify through a raw fd polled by libuv. uv_fs_event_t would hide the
 * difference that matters most here: IN_CLOSE_WRITE (a writer finished) versus IN_MODIFY
 * (a writer is still busy), and IN_MOVED_TO (renamed into place). inotify is not recursive:
 * the scanner adds a watch for every folder it lists, before listing it, and new folders are
 * handed to the scanner, so files that land before their folder's watch exists are found by
 * the listing and files that land after it by their events. */
#include "disp.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/limits.h"
#include "mf/log.h"
#include "mf/pathrule.h"

static void mf__watch_on_readable(uv_poll_t *handle, int status, int events);

int mf__watch_start(mf__disp *d, mf_err *err)
{
    int rc = 0;

    mf__htab_init(&d->wds);
    mf__htab_init(&d->created);
    uv_timer_init(d->loop, &d->link_timer);
    d->link_timer.data = d;
    d->root_wd = -1;
    if (strcmp(d->cfg->watch, "poll") == 0)
        goto out; /* poll.c finds every file */
    d->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (d->ino_fd < 0) {
        rc = mf_err_sys(err, -errno, "inotify_init1()");
        goto out;
    }
    rc = uv_poll_init(d->loop, &d->ino_poll, d->ino_fd);
    if (rc < 0) {
        rc = mf_err_set(err, rc, "uv_poll_init() failed: %s", uv_strerror(rc));
        goto out;
    }
    d->ino_poll.data = d;
    d->ino_active = 1;
    rc = uv_poll_start(&d->ino_poll, UV_READABLE, mf__watch_on_readable);
    if (rc < 0)
        rc = mf_err_set(err, rc, "uv_poll_start() failed: %s", uv_strerror(rc));
    /* the inbox itself right away: top-level uploads are hashed even before Redis is up */
    mf__watch_add(d, d->inbox_fd, "");
out:
    return rc;
}

static void mf__watch_warn(mf__disp *d, const char *rel, int e)
{
    char q[512];

    if (e == ENOSPC && d->watch_full_warned++)
        return;
    mf_log_error(MF_LOG_ERROR, strerror(e),
                 "msg=\"inotify_add_watch() failed; files in this folder are found by rescans "
                 "only\" dir=%s%s",
                 mf_log_quote(q, sizeof(q), rel),
                 e == ENOSPC ? " hint=\"raise fs.inotify.max_user_watches\"" : "");
}

/* The watch goes on the very folder we opened (through /proc/self/fd, so no path is
 * resolved again and no symlink swapped in meanwhile can redirect it); without /proc, on
 * the path, with IN_DONT_FOLLOW for its last component. */
void mf__watch_add(mf__disp *d, int dirfd, const char *rel)
{
    char path[MF_PATH_MAX + 64];
    mf__hnode *node;
    int created;
    int wd;

    if (d->ino_fd < 0)
        return;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
    wd = inotify_add_watch(d->ino_fd, path, MF_DISPATCH_WATCH_MASK & ~(uint32_t)IN_DONT_FOLLOW);
    if (wd < 0 && errno == ENOENT) {
        if (rel[0] == '\0')
            snprintf(path, sizeof(path), "%s", d->cfg->inbox);
        if (rel[0] == '\0' || mf_fs_join(path, sizeof(path), d->cfg->inbox, rel) == 0)
            wd = inotify_add_watch(d->ino_fd, path, MF_DISPATCH_WATCH_MASK);
        else
            errno = ENAMETOOLONG;
    }
    if (wd < 0) {
        mf__watch_warn(d, rel, errno);
        return;
    }
    /* the same folder watched again (a rescan, a rename) keeps its wd: update its path */
    node = mf__htab_put(&d->wds, &wd, sizeof(wd), &created);
    free(node->value);
    node->value = mf_xstrdup(rel);
    if (rel[0] == '\0')
        d->root_wd = wd;
}

/* A folder moved away (or out of the inbox): drop the watches of it and everything below,
 * or their events would be reported under paths that no longer exist. If it moved within
 * the inbox, IN_MOVED_TO hands the new name to the scanner, which watches it again. */
static void mf__watch_forget(mf__disp *d, const char *rel)
{
    size_t len = strlen(rel);
    size_t pos = 0, n = 0, cap = 16;
    mf__hnode **gone = mf_xmalloc(cap * sizeof(*gone));
    for (mf__hnode *h = mf__htab_next(&d->wds, &pos, NULL); h != NULL;
         h = mf__htab_next(&d->wds, &pos, h)) {
        const char *dir = h->value;

        if (strncmp(dir, rel, len) != 0 || (dir[len] != '\0' && dir[len] != '/'))
            continue;
        if (n == cap) {
            cap *= 2;
            gone = mf_xrealloc(gone, cap * sizeof(*gone));
        }
        gone[n++] = h;
    }
    for (size_t i = 0; i < n; i++) {
        int wd;

        memcpy(&wd, gone[i]->key, sizeof(wd));
        (void)inotify_rm_watch(d->ino_fd, wd);
        free(gone[i]->value);
        mf__htab_del(&d->wds, gone[i]);
    }
    free(gone);
}

static void mf__watch_gone(mf__disp *d, int wd)
{
    mf__hnode *node = mf__htab_get(&d->wds, &wd, sizeof(wd));

    if (node == NULL)
        return;
    free(node->value);
    mf__htab_del(&d->wds, node);
    if (wd == d->root_wd)
        mf__disp_fatal(d, -ENOENT, "the inbox folder was deleted or unmounted");
}

/* rel = folder + "/" + name, or NULL when too long or not acceptable (hidden folder...). */
static char *mf__watch_rel(const char *dir, const char *name)
{
    char *rel = mf__disp_join(dir, name);

    if (rel != NULL && !mf_path_acceptable(rel)) {
        free(rel);
        rel = NULL;
    }
    return rel;
}

/* 1 when the new name rel is a hard link to an existing file (`ln`), which no close or rename
 * will announce: a regular file with more than one link. A file being created has one link
 * and is recorded at its close. Whether the file is complete (nobody writing it) is decided
 * by the inspection, like for any upload. Only a hint: the stat follows no symlink at the
 * end, and the inspection opens the file safely again. */
static int mf__watch_is_link(mf__disp *d, const char *rel)
{
    struct stat st;

    return fstatat(d->inbox_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
           st.st_nlink > 1;
}

static void mf__link_check(mf__disp *d, char *rel, uint64_t now_ns)
{
    if (mf__watch_is_link(d, rel))
        mf__pipeline_submit(d, rel, mf_clock_now_ms(), now_ns);
    else
        free(rel);
}

/* Looks at the new names that got no close within MF__LINK_CHECK_MS. */
static void mf__on_link_timer(uv_timer_t *handle)
{
    mf__disp *d = handle->data;
    uint64_t now = uv_hrtime(), due = now - (uint64_t)MF__LINK_CHECK_MS * 1000000;
    size_t pos = 0, n = 0;
    mf__hnode **old = mf_xmalloc(d->created.n * sizeof(*old));

    for (mf__hnode *h = mf__htab_next(&d->created, &pos, NULL); h != NULL;
         h = mf__htab_next(&d->created, &pos, h)) {
        if ((uint64_t)(uintptr_t)h->value <= due)
            old[n++] = h;
    }
    for (size_t i = 0; i < n; i++) {
        char *rel = mf_xstrdup(old[i]->key);

        mf__htab_del(&d->created, old[i]);
        mf__link_check(d, rel, now);
    }
    free(old);
    if (d->created.n > 0)
        uv_timer_start(&d->link_timer, mf__on_link_timer, MF__LINK_CHECK_MS, 0);
}

/* A new name (IN_CREATE of a file): remembered until its close; takes rel. */
static void mf__watch_created(mf__disp *d, char *rel, uint64_t now_ns)
{
    mf__hnode *node;
    int created;

    if (d->created.n >= MF__LINK_PENDING_MAX) {
        mf__link_check(d, rel, now_ns);
        return;
    }
    node = mf__htab_put(&d->created, rel, strlen(rel), &created);
    node->value = (void *)(uintptr_t)now_ns;
    free(rel);
    if (!uv_is_active((uv_handle_t *)&d->link_timer))
        uv_timer_start(&d->link_timer, mf__on_link_timer, MF__LINK_CHECK_MS, 0);
}

/* A close or a rename into place: the name is an ordinary upload, no link check needed. */
static void mf__watch_closed(mf__disp *d, const char *rel)
{
    mf__hnode *node;

    if (d->created.n == 0)
        return;
    node = mf__htab_get(&d->created, rel, strlen(rel));
    if (node != NULL)
        mf__htab_del(&d->created, node);
}

static void mf__watch_event(mf__disp *d, const struct inotify_event *ev, int64_t now_ms,
                            uint64_t now_ns)
{
    const char *name = ev->len > 0 ? ev->name : NULL;
    mf_dispatch_action act = mf_dispatch_decide(ev->mask, name);
    mf__hnode *node;
    char *rel;

    if (act == MF_DISPATCH_NONE)
        return;
    if (act == MF_DISPATCH_RESCAN) {
        mf_log(MF_LOG_WARN, "msg=\"inotify queue overflowed, events lost; rescanning\"");
        mf__disp_stat(d, "dispatcher:inotify_overflows");
        mf__scan_request(d, "");
        return;
    }
    if (act == MF_DISPATCH_WATCH_GONE) {
        mf__watch_gone(d, ev->wd);
        return;
    }
    node = mf__htab_get(&d->wds, &ev->wd, sizeof(ev->wd));
    if (node == NULL)
        return; /* a watch we already dropped */
    rel = mf__watch_rel(node->value, name);
    if (rel == NULL)
        return;
    if (act == MF_DISPATCH_FILE_NAME) {
        mf__watch_created(d, rel, now_ns);
        return;
    }
    if (act == MF_DISPATCH_FILE) {
        mf__watch_closed(d, rel);
        mf__pipeline_submit(d, rel, now_ms, now_ns);
        return;
    }
    if (act == MF_DISPATCH_DIR_NEW)
        mf__scan_request(d, rel);
    else if (act == MF_DISPATCH_DIR_GONE)
        mf__watch_forget(d, rel);
    free(rel);
}

static void mf__watch_on_readable(uv_poll_t *handle, int status, int events)
{
    mf__disp *d = handle->data;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (int round = 0; round < MF__EVENT_READS && d->ino_fd >= 0; round++) {
        ssize_t n = read(d->ino_fd, buf, sizeof(buf));
        int64_t now_ms = mf_clock_now_ms();
        uint64_t now_ns = uv_hrtime();

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            mf_log_error(MF_LOG_ERROR, strerror(errno), "msg=\"read() of inotify failed\"");
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;

            mf__watch_event(d, ev, now_ms, now_ns);
            p += sizeof(*ev) + ev->len;
        }
    }
}

void mf__watch_throttle(mf__disp *d)
{
    size_t load = d->n_inflight + (d->redis_up ? d->n_pending : 0);

    if (load > d->load_peak)
        d->load_peak = load;
    /* A burst of 100,000 uploads left ~20 MB of freed item memory in malloc's arenas. */
    if (load == 0 && d->load_peak > MF__EVENT_INFLIGHT_MAX / 4) {
        malloc_trim(0);
        d->load_peak = 0;
    }
    if (!d->ino_active || d->ino_fd < 0)
        return;
    if (!d->ino_paused && load >= MF__EVENT_INFLIGHT_MAX) {
        uv_poll_stop(&d->ino_poll);
        d->ino_paused = 1;
        d->n_throttled++;
    } else if (d->ino_paused && load < MF__EVENT_INFLIGHT_MAX / 2) {
        if (uv_poll_start(&d->ino_poll, UV_READABLE, mf__watch_on_readable) == 0)
            d->ino_paused = 0;
    }
}

/* Stops taking events (shutdown): the inotify fd is closed with the poll handle. */
void mf__watch_stop(mf__disp *d)
{
    uv_timer_stop(&d->link_timer);
    if (d->ino_active) {
        uv_poll_stop(&d->ino_poll);
        uv_close((uv_handle_t *)&d->ino_poll, NULL);
        d->ino_active = 0;
    }
    if (d->ino_fd >= 0) {
        close(d->ino_fd);
        d->ino_fd = -1;
    }
}

static void mf__free_value(void *v)
{
    free(v);
}

void mf__watch_close(mf__disp *d)
{
    mf__watch_stop(d);
    mf__htab_close(&d->wds, mf__free_value);
    mf__htab_close(&d->created, NULL);
}
