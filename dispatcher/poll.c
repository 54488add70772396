/* Polling for folders inotify cannot see into: on NFS, CIFS/SMB and FUSE mounts a file
 * written by another machine (or behind a FUSE file system's back) raises no event here.
 * The scanner asks statfs() about every folder it opens (mf__poll_folder): with watch=auto a
 * folder on such a file system becomes a polled root (mixed trees: only the mount is
 * polled, the rest keeps inotify); with watch=poll the whole inbox is one polled root and no
 * inotify is used. Every poll_interval_s a libuv timer lists each root recursively and
 * keeps each file's size and mtime; a file is submitted once both are unchanged over two
 * polls (the writer is on another machine, so no close event and no lease can tell us it
 * finished) and not already recorded with them (one mf_queue_known() pipeline per
 * MF__SCAN_CHUNK files). Files changed later are submitted again once stable.
 *
 * The listing runs on the loop thread: one pass costs a readdir and a stat per file of the
 * polled trees (a share of 100,000 files is ~100,000 round trips per poll on NFS; raise
 * poll_interval_s for such trees). Symlinks are never followed; names the inbox ignores
 * (hidden, .part, ...) are skipped, as by the scanner. */
#include "disp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/fsutil.h"
#include "mf/log.h"
#include "mf/pathrule.h"

/* One file of a polled tree, as seen by the last poll. */
typedef struct mf__pfile {
    int64_t size;
    int64_t mtime_ms;
    uint32_t gen; /* the poll that last saw it; older ones are deleted after a pass */
    int done;     /* submitted (or found recorded) with this size and mtime */
} mf__pfile;

/* f_type of the file systems whose changes inotify does not report (statfs(2)). */
static const char *mf__poll_fs_name(long type)
{
    switch ((unsigned long)type & 0xffffffffUL) {
    case 0x6969UL:
        return "nfs";
    case 0x517bUL:
        return "smb";
    case 0xff534d42UL:
        return "cifs";
    case 0xfe534d42UL:
        return "smb2";
    case 0x65735546UL:
        return "fuse";
    case 0x00c36400UL:
        return "ceph";
    case 0x01021997UL:
        return "9p";
    case 0x47504653UL:
        return "gpfs";
    case 0x0bd00bd0UL:
        return "lustre";
    default:
        return NULL;
    }
}

static int mf__poll_under(const char *rel, const char *root)
{
    size_t n = strlen(root);

    return n == 0 || (strncmp(rel, root, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

static int mf__poll_covered(const mf__disp *d, const char *rel)
{
    for (size_t i = 0; i < d->n_poll_roots; i++) {
        if (mf__poll_under(rel, d->poll_roots[i]))
            return 1;
    }
    return 0;
}

static void mf__poll_add_root(mf__disp *d, const char *rel, const char *fs)
{
    char q[512];

    d->poll_roots = mf_xrealloc(d->poll_roots, (d->n_poll_roots + 1) * sizeof(*d->poll_roots));
    d->poll_roots[d->n_poll_roots++] = mf_xstrdup(rel);
    mf_log(MF_LOG_INFO, "msg=\"polling folder\" dir=%s fs=%s interval_s=%lld",
           mf_log_quote(q, sizeof(q), rel), fs, (long long)d->cfg->poll_interval_s);
}

int mf__poll_folder(mf__disp *d, int dirfd, const char *rel)
{
    struct statfs sfs;
    const char *fs;
    int polled = 0;

    if (!d->poll_on)
        goto out;
    polled = mf__poll_covered(d, rel);
    if (polled || fstatfs(dirfd, &sfs) < 0)
        goto out;
    fs = mf__poll_fs_name((long)sfs.f_type);
    if (fs != NULL) {
        mf__poll_add_root(d, rel, fs);
        polled = 1;
    }
out:
    return polled;
}

/* Submits the stable files of cand that Redis does not know yet; marks them done. Returns
 * 0 or MF_EREDIS (Redis went down: they stay not done and are tried at the next poll). */
static int mf__poll_submit(mf__disp *d, mf__hnode **cand, size_t n)
{
    mf_upload ups[MF__SCAN_CHUNK];
    int known[MF__SCAN_CHUNK];
    int64_t now_ms = mf_clock_now_ms();
    mf_err err = {0};
    int rc;

    memset(ups, 0, n * sizeof(*ups));
    for (size_t i = 0; i < n; i++) {
        const mf__pfile *f = cand[i]->value;

        ups[i].path = cand[i]->key;
        ups[i].path_len = cand[i]->klen;
        ups[i].size = f->size;
        ups[i].mtime_ms = f->mtime_ms;
    }
    rc = mf_queue_known(d->redis, d->cfg->prefix, ups, n, known, &err);
    if (rc < 0) {
        mf__pipeline_redis_down(d, &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        mf__pfile *f = cand[i]->value;

        f->done = 1;
        if (!known[i])
            mf__pipeline_submit(d, mf_xstrdup(cand[i]->key), now_ms, 0);
    }
out:
    return rc;
}

/* Notes one regular file seen by this poll; returns its node when it is stable and not
 * done yet (a candidate). */
static mf__hnode *mf__poll_note(mf__disp *d, const char *rel, const struct stat *st)
{
    int64_t mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    int created;
    mf__hnode *node = mf__htab_put(&d->poll_files, rel, strlen(rel), &created);
    mf__pfile *f = node->value;

    if (created) {
        f = mf_xcalloc(1, sizeof(*f));
        node->value = f;
    }
    f->gen = d->poll_gen;
    if (created || f->size != st->st_size || f->mtime_ms != mtime_ms) {
        f->size = st->st_size;
        f->mtime_ms = mtime_ms;
        f->done = 0;
        return NULL; /* new or changed: wait for the next poll */
    }
    return f->done ? NULL : node;
}

/* Lists one folder of a polled tree: files noted (candidates flushed by chunk), folders
 * pushed on the stack. Returns MF_EREDIS when Redis went down. */
static int mf__poll_dir(mf__disp *d, const char *rel, char ***stack, size_t *n_stack,
                        size_t *cap_stack)
{
    mf__hnode *cand[MF__SCAN_CHUNK];
    size_t n = 0;
    mf_err err = {0};
    struct dirent *de;
    DIR *dir;
    int fd, rc = 0;

    if (rel[0] == '\0')
        fd = openat(d->inbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    else
        fd = mf_fs_open_beneath(d->inbox_fd, rel, O_RDONLY | O_DIRECTORY, &err);
    if (fd < 0)
        goto out; /* gone, or a symlink now */
    dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        goto out;
    }
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        struct stat st;
        char *child;

        if (mf_path_ignored(de->d_name))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        child = mf__disp_join(rel, de->d_name);
        if (child == NULL)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (*n_stack == *cap_stack) {
                *cap_stack = *cap_stack ? *cap_stack * 2 : 16;
                *stack = mf_xrealloc(*stack, *cap_stack * sizeof(**stack));
            }
            (*stack)[(*n_stack)++] = child;
            continue;
        }
        if (S_ISREG(st.st_mode) && (cand[n] = mf__poll_note(d, child, &st)) != NULL)
            n++;
        free(child);
        if (n == MF__SCAN_CHUNK) {
            rc = mf__poll_submit(d, cand, n);
            n = 0;
        }
    }
    if (rc == 0 && n > 0)
        rc = mf__poll_submit(d, cand, n);
    closedir(dir);
out:
    return rc;
}

/* Deletes the files the last pass did not see (removed or renamed). */
static void mf__poll_sweep(mf__disp *d)
{
    size_t pos = 0, n = 0;
    mf__hnode **gone = mf_xmalloc((d->poll_files.n + 1) * sizeof(*gone));

    for (mf__hnode *h = mf__htab_next(&d->poll_files, &pos, NULL); h != NULL;
         h = mf__htab_next(&d->poll_files, &pos, h)) {
        if (((mf__pfile *)h->value)->gen != d->poll_gen)
            gone[n++] = h;
    }
    for (size_t i = 0; i < n; i++) {
        free(gone[i]->value);
        mf__htab_del(&d->poll_files, gone[i]);
    }
    free(gone);
}

static void mf__poll_on_timer(uv_timer_t *handle)
{
    mf__disp *d = handle->data;
    char **stack = NULL;
    size_t n_stack = 0, cap_stack = 0;
    int rc = 0;

    /* Redis down: nothing could be checked or recorded; the reconnect's rescan and the
     * next polls catch up */
    if (d->n_poll_roots == 0 || !d->redis_up || d->stopping)
        return;
    d->poll_gen++;
    for (size_t i = 0; i < d->n_poll_roots; i++) {
        if (n_stack == cap_stack) {
            cap_stack = cap_stack ? cap_stack * 2 : 16;
            stack = mf_xrealloc(stack, cap_stack * sizeof(*stack));
        }
        stack[n_stack++] = mf_xstrdup(d->poll_roots[i]);
    }
    while (n_stack > 0) {
        char *rel = stack[--n_stack];

        if (rc == 0)
            rc = mf__poll_dir(d, rel, &stack, &n_stack, &cap_stack);
        free(rel);
    }
    free(stack);
    if (rc == 0)
        mf__poll_sweep(d);
    mf_log(MF_LOG_DEBUG, "msg=polled pass=%u files=%zu", (unsigned)d->poll_gen, d->poll_files.n);
}

void mf__poll_start(mf__disp *d)
{
    uint64_t ms = (uint64_t)d->cfg->poll_interval_s * 1000;

    mf__htab_init(&d->poll_files);
    d->poll_on = strcmp(d->cfg->watch, "inotify") != 0;
    d->poll_all = strcmp(d->cfg->watch, "poll") == 0;
    uv_timer_init(d->loop, &d->poll_timer);
    d->poll_timer.data = d;
    if (!d->poll_on)
        return;
    if (d->poll_all)
        mf__poll_add_root(d, "", "any");
    uv_timer_start(&d->poll_timer, mf__poll_on_timer, ms, ms);
}

void mf__poll_stop(mf__disp *d)
{
    uv_timer_stop(&d->poll_timer);
}

static void mf__poll_free_value(void *v)
{
    free(v);
}

void mf__poll_close(mf__disp *d)
{
    for (size_t i = 0; i < d->n_poll_roots; i++)
        free(d->poll_roots[i]);
    free(d->poll_roots);
    d->poll_roots = NULL;
    d->n_poll_roots = 0;
    mf__htab_close(&d->poll_files, mf__poll_free_value);
}
