/* From a path to a record: inspection on the libuv pool, then batched recording.
 *
 * Threads: the loop thread owns everything here. Paths are inspected in chunks of up to
 * MF__CHUNK_MAX: a chunk goes to the pool when full or at the end of the loop phase that
 * filled it, and a chunk of a few small files is inspected on the loop thread instead (a pool
 * job costs two thread switches, more than hashing a small file). mf__work() runs on a pool
 * thread and only writes the items it was given. Chunks finish in any order; their after-work
 * callbacks append the items to `pending`, and the check handle (which runs once per loop
 * iteration, right after the poll phase that delivered those callbacks) records everything pending
 * with one mf_queue_enqueue() pipeline per MF__BATCH_MAX: no per-file round trip, no fsync.
 *
 * Ordering: one path is never inspected twice at once. A close that arrives while its path
 * is in flight sets `again`, and the path is inspected anew once the first result has been
 * queued behind it, so mf:paths always ends on the newest content.
 *
 * Redis down: pending items stay queued in order and a timer reconnects with back-off
 * (never blocking the loop longer than one connect attempt); after a reconnect the batch is
 * flushed and the inbox rescanned, which finds anything that changed meanwhile. */
#include "disp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf/alloc.h"
#include "mf/clock.h"
#include "mf/lanes.h"
#include "mf/limits.h"
#include "mf/log.h"

/* by mf_enq_status */
static const char *const mf__status_names[MF__ENQ_STATUSES] = {"queued", "duplicate", "unsupported",
                                                               "known", "failed"};

static void mf__on_flush_check(uv_check_t *handle);
static void mf__on_submit_prepare(uv_prepare_t *handle);
static void mf__on_busy_timer(uv_timer_t *handle);
static void mf__on_retry_timer(uv_timer_t *handle);

static void mf__item_free(mf__item *it)
{
    if (it == NULL)
        return;
    free(it->path);
    free(it);
}

static void mf__work(uv_work_t *req);
static void mf__after_work(uv_work_t *req, int status);

/* 1 when every file of c is a regular file of at most MF__INLINE_BYTES. Only a hint (the
 * inspection itself opens without following links): a stat that fails says no. */
static int mf__chunk_small(const mf__disp *d, const mf__chunk *c)
{
    struct stat st;

    if (c->n > MF__INLINE_ITEMS)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (fstatat(d->inbox_fd, c->items[i]->path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || st.st_size > MF__INLINE_BYTES)
            return 0;
    return 1;
}

/* Hands the chunk being filled to the pool, or inspects it here when it is a few small
 * files. Called when the chunk is full and at the end of each loop phase that can fill it
 * (prepare: before the loop waits; check: right after the events were read). */
static void mf__chunk_submit(mf__disp *d)
{
    mf__chunk *c = d->chunk;
    int rc;

    if (c == NULL)
        return;
    d->chunk = NULL; /* items queued again while this one finishes start a new chunk */
    if (mf__chunk_small(d, c)) {
        mf__work(&c->req);
        mf__after_work(&c->req, 0);
        return;
    }
    rc = uv_queue_work(d->loop, &c->req, mf__work, mf__after_work);
    if (rc < 0) {
        /* only fails for a NULL callback: a programming error */
        mf_log_error(MF_LOG_ERROR, uv_strerror(rc), "msg=\"uv_queue_work() failed\"");
        abort();
    }
}

static void mf__item_queue(mf__disp *d, mf__item *it)
{
    mf__chunk *c = d->chunk;

    if (c == NULL) {
        c = mf_xcalloc(1, sizeof(*c));
        c->d = d;
        c->req.data = c;
        d->chunk = c;
    }
    c->items[c->n++] = it;
    d->n_inflight++;
    if (c->n == MF__CHUNK_MAX)
        mf__chunk_submit(d);
    mf__watch_throttle(d);
}

static void mf__work(uv_work_t *req)
{
    mf__chunk *c = req->data;
    mf__disp *d = c->d;

    /* check_writers always: a close by one writer while another still writes is not the
     * end of the upload either; the last writer's close brings it back */
    for (size_t i = 0; i < c->n; i++) {
        mf__item *it = c->items[i];

        it->rc =
            mf_dispatch_inspect(d->inbox_fd, it->path, d->cfg, d->magic, 1, &it->info, &it->err);
    }
}

/* Logs why an inspected file is not recorded. */
static void mf__log_skip(const mf__item *it)
{
    char q[512];
    const char *path = mf_log_quote(q, sizeof(q), it->path);

    if (it->rc == MF_ESYMLINK)
        mf_log(MF_LOG_INFO, "msg=\"symlink skipped\" path=%s", path);
    else if (it->rc == MF_EBUSY)
        mf_log(MF_LOG_DEBUG, "msg=\"still being written, waiting for its close\" path=%s", path);
    else if (it->rc == -ENOENT)
        mf_log(MF_LOG_DEBUG, "msg=\"gone before it was read\" path=%s", path);
    else if (it->rc == MF_EUNSUPPORTED)
        mf_log_error(MF_LOG_INFO, it->err.msg, "msg=\"skipped\" path=%s", path);
    else
        mf_log_error(MF_LOG_WARN, it->err.msg, "msg=\"cannot read upload\" path=%s", path);
}

static void mf__pending_push(mf__disp *d, mf__item *it)
{
    if (!d->redis_up && d->n_pending >= MF__PENDING_MAX) {
        if (!d->pending_dropped++)
            mf_log(MF_LOG_WARN,
                   "msg=\"redis down and %d uploads waiting; later ones are left "
                   "to the rescan after reconnect\"",
                   MF__PENDING_MAX);
        mf__item_free(it);
        return;
    }
    if (d->n_pending == d->cap_pending) {
        d->cap_pending = d->cap_pending ? d->cap_pending * 2 : 1024;
        d->pending = mf_xrealloc(d->pending, d->cap_pending * sizeof(*d->pending));
    }
    d->pending[d->n_pending++] = it;
}

/* Arms the busy timer for the earliest item waiting for its writer. */
static void mf__busy_arm(mf__disp *d)
{
    uint64_t first = UINT64_MAX, now = uv_hrtime();

    for (size_t i = 0; i < d->n_busy; i++)
        first = d->busy[i]->due_ns < first ? d->busy[i]->due_ns : first;
    if (d->n_busy > 0)
        uv_timer_start(&d->busy_timer, mf__on_busy_timer,
                       first > now ? (first - now + 999999) / 1000000 : 0, 0);
}

static void mf__busy_defer(mf__disp *d, mf__item *it)
{
    uint64_t delay_ms = MF__BUSY_FIRST_MS;

    for (int i = 0; i < it->busy_tries; i++)
        delay_ms *= 5;
    it->busy_tries++;
    it->due_ns = uv_hrtime() + delay_ms * 1000000;
    if (d->n_busy == d->cap_busy) {
        d->cap_busy = d->cap_busy ? d->cap_busy * 2 : 64;
        d->busy = mf_xrealloc(d->busy, d->cap_busy * sizeof(*d->busy));
    }
    d->busy[d->n_busy++] = it;
    mf__busy_arm(d);
}

static void mf__on_busy_timer(uv_timer_t *handle)
{
    mf__disp *d = handle->data;
    uint64_t now = uv_hrtime();

    for (size_t i = 0; i < d->n_busy;) {
        mf__item *it = d->busy[i];

        if (it->due_ns > now) {
            i++;
            continue;
        }
        d->busy[i] = d->busy[--d->n_busy];
        mf__item_queue(d, it);
    }
    mf__busy_arm(d);
}

void mf__pipeline_drop_busy(mf__disp *d)
{
    for (size_t i = 0; i < d->n_busy; i++) {
        mf__item *it = d->busy[i];
        mf__hnode *node = mf__htab_get(&d->inflight, it->path, strlen(it->path));

        if (node != NULL)
            mf__htab_del(&d->inflight, node);
        mf__item_free(it);
    }
    d->n_busy = 0;
    if (d->loop_inited)
        uv_timer_stop(&d->busy_timer);
}

/* One inspected item back on the loop thread: recorded next, waiting for its writer, or
 * skipped; a close that came meanwhile submits the path again. */
static void mf__item_done(mf__disp *d, mf__item *it, int status)
{
    mf__hnode *node;
    int again;
    int64_t again_ms;
    uint64_t again_ns;
    char *path = NULL;

    d->n_inflight--;
    if (status == 0 && it->rc == MF_EBUSY && it->busy_tries < MF__BUSY_TRIES && !d->stopping) {
        mf__busy_defer(d, it); /* stays in `inflight`: new closes only set `again` */
        return;
    }
    node = mf__htab_get(&d->inflight, it->path, strlen(it->path));
    if (node != NULL)
        mf__htab_del(&d->inflight, node);
    again = it->again;
    again_ms = it->again_ms;
    again_ns = it->again_ns;
    if (again && !d->stopping) {
        path = mf_xstrdup(it->path);
    }
    if (status == 0 && it->rc == 0) {
        mf__pending_push(d, it);
    } else {
        d->n_skipped++;
        mf__log_skip(it);
        mf__item_free(it);
    }
    if (path != NULL)
        mf__pipeline_submit(d, path, again_ms, again_ns);
}

static void mf__after_work(uv_work_t *req, int status)
{
    mf__chunk *c = req->data;
    mf__disp *d = c->d;

    for (size_t i = 0; i < c->n; i++)
        mf__item_done(d, c->items[i], status);
    free(c);
    mf__scan_kick(d);
    mf__watch_throttle(d);
}

void mf__pipeline_submit(mf__disp *d, char *path, int64_t received_ms, uint64_t seen_ns)
{
    mf__item *it;
    mf__hnode *node;
    int created;

    if (d->stopping) {
        free(path);
        return;
    }
    node = mf__htab_put(&d->inflight, path, strlen(path), &created);
    if (!created) {
        it = node->value;
        if (!it->again) {
            it->again = 1;
            it->again_ms = received_ms;
            it->again_ns = seen_ns;
        }
        free(path);
        return;
    }
    it = mf_xcalloc(1, sizeof(*it));
    it->d = d;
    it->path = path;
    it->received_ms = received_ms;
    it->seen_ns = seen_ns;
    node->value = it;
    mf__item_queue(d, it);
}

int mf__pipeline_start(mf__disp *d, mf_err *err)
{
    mf__htab_init(&d->inflight);
    d->ups = mf_xcalloc(MF__BATCH_MAX, sizeof(*d->ups));
    d->res = mf_xcalloc(MF__BATCH_MAX, sizeof(*d->res));
    uv_prepare_init(d->loop, &d->submit_prepare);
    d->submit_prepare.data = d;
    uv_prepare_start(&d->submit_prepare, mf__on_submit_prepare);
    uv_check_init(d->loop, &d->flush_check);
    d->flush_check.data = d;
    uv_check_start(&d->flush_check, mf__on_flush_check);
    uv_timer_init(d->loop, &d->busy_timer);
    d->busy_timer.data = d;
    uv_timer_init(d->loop, &d->retry_timer);
    d->retry_timer.data = d;
    d->retry_ms = MF_REDIS_RETRY_MIN_MS;
    /* the first connection goes through the reconnect path: Redis may start after us */
    uv_timer_start(&d->retry_timer, mf__on_retry_timer, 0, 0);
    return 0;
}

/* Logs and counts the outcome of one recorded upload. */
static void mf__log_recorded(mf__disp *d, const mf__item *it, const mf_enq_result *res)
{
    char q[512];

    d->n_recorded[res->status % MF__ENQ_STATUSES]++;
    if (it->seen_ns != 0)
        mf__disp_record_latency(d, it->seen_ns);
    if (res->status == MF_ENQ_KNOWN) {
        mf_log(MF_LOG_DEBUG, "msg=\"already recorded\" id=%s path=%s", res->id,
               mf_log_quote(q, sizeof(q), it->path));
        return;
    }
    if (res->status == MF_ENQ_FAILED) {
        mf_log_error(MF_LOG_INFO, it->info.refused,
                     "msg=recorded id=%s status=failed type=%s mime=%s size=%" PRId64 " path=%s",
                     res->id, it->info.lane ? it->info.lane : "other", it->info.mime, it->info.size,
                     mf_log_quote(q, sizeof(q), it->path));
        return;
    }
    mf_log(MF_LOG_INFO, "msg=recorded id=%s status=%s type=%s mime=%s size=%" PRId64 " path=%s",
           res->id, mf__status_names[res->status % MF__ENQ_STATUSES],
           it->info.lane ? it->info.lane : "other", it->info.mime, it->info.size,
           mf_log_quote(q, sizeof(q), it->path));
}

/* Records pending[0..n) with one pipeline. Returns 0 or MF_EREDIS (nothing consumed). */
static int mf__flush_some(mf__disp *d, size_t n)
{
    mf_err err = {0};
    int rc;

    for (size_t i = 0; i < n; i++) {
        const mf__item *it = d->pending[i];
        mf_upload *u = &d->ups[i];

        u->path = it->path;
        u->path_len = strlen(it->path);
        u->size = it->info.size;
        u->mtime_ms = it->info.mtime_ms;
        u->mime = it->info.mime;
        u->lane = it->info.lane;
        u->sha256 = it->info.sha256;
        u->profile = it->info.profile;
        u->received_ms = it->received_ms;
        u->error = it->info.refused;
    }
    rc = mf_queue_enqueue(d->redis, d->cfg->prefix, d->cfg->events_maxlen, d->ups, n, d->res, &err);
    if (rc < 0) {
        mf__pipeline_redis_down(d, &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        mf__log_recorded(d, d->pending[i], &d->res[i]);
        mf__item_free(d->pending[i]);
    }
    d->n_pending -= n;
    memmove(d->pending, d->pending + n, d->n_pending * sizeof(*d->pending));
out:
    return rc;
}

void mf__pipeline_flush(mf__disp *d)
{
    while (d->n_pending > 0 && d->redis_up) {
        size_t n = d->n_pending < MF__BATCH_MAX ? d->n_pending : MF__BATCH_MAX;

        if (mf__flush_some(d, n) < 0)
            break;
    }
    mf__watch_throttle(d);
}

/* Before the loop waits: what timers and the scan queued goes to the pool now, and what was
 * inspected inline is recorded, not left until the next event wakes the loop. */
static void mf__on_submit_prepare(uv_prepare_t *handle)
{
    mf__disp *d = handle->data;

    mf__chunk_submit(d);
    if (d->n_pending > 0)
        mf__pipeline_flush(d);
}

static void mf__on_flush_check(uv_check_t *handle)
{
    mf__disp *d = handle->data;

    mf__chunk_submit(d);
    mf__pipeline_flush(d);
    if (d->stopping)
        mf__disp_maybe_finish(d);
}

static void mf__retry_schedule(mf__disp *d)
{
    if (d->stopping || uv_is_active((uv_handle_t *)&d->retry_timer))
        return;
    uv_timer_start(&d->retry_timer, mf__on_retry_timer, (uint64_t)d->retry_ms, 0);
    d->retry_ms = mf_backoff_next(d->retry_ms, MF_REDIS_RETRY_MIN_MS, MF_REDIS_RETRY_MAX_MS);
}

/* Any failure to record a batch lands here, an error reply (MF_EPROTO: out of memory, a
 * read-only replica) as well as a lost connection: the batch is kept, never dropped, and
 * retried with back-off after a reconnect. */
void mf__pipeline_redis_down(mf__disp *d, const mf_err *err)
{
    if (d->redis_up)
        mf_log_error(MF_LOG_WARN, err ? err->msg : "",
                     "msg=\"cannot record in redis; keeping uploads until it works again\" "
                     "pending=%zu",
                     d->n_pending);
    d->redis_up = 0;
    if (d->redis != NULL)
        mf_redis_mark_broken(d->redis);
    mf__retry_schedule(d);
}

/* One connection attempt plus the consumer groups. */
static int mf__connect(mf__disp *d, mf_err *err)
{
    int rc = 0;

    if (d->redis == NULL)
        rc = mf_redis_new(&d->redis, d->cfg->redis_url, err);
    else
        rc = mf_redis_ensure(d->redis, NULL, err);
    for (size_t i = 0; rc == 0 && i < mf_lanes_n; i++)
        rc = mf_queue_prepare(d->redis, d->cfg->prefix, mf_lanes[i].name, err);
    return rc;
}

static void mf__on_retry_timer(uv_timer_t *handle)
{
    mf__disp *d = handle->data;
    mf_err err = {0};
    int rc;

    if (d->stopping)
        return;
    rc = mf__connect(d, &err);
    if (rc == MF_ECONFIG) {
        mf__disp_fatal(d, rc, err.msg);
        return;
    }
    if (rc < 0) {
        mf_log_error(MF_LOG_WARN, err.msg, "msg=\"redis unavailable, retrying\" retry_ms=%" PRId64,
                     d->retry_ms);
        mf__retry_schedule(d);
        return;
    }
    mf_log(MF_LOG_INFO, "msg=\"redis connected\" pending=%zu", d->n_pending);
    d->redis_up = 1;
    d->pending_dropped = 0;
    mf__pipeline_flush(d);
    if (!d->redis_up)
        return; /* the flush failed again: back-off continues to grow */
    d->retry_ms = MF_REDIS_RETRY_MIN_MS;
    /* whatever happened while we could not record, the inbox has it */
    mf__scan_request(d, "");
}

size_t mf__pipeline_final_flush(mf__disp *d)
{
    mf_err err = {0};

    if (d->n_pending > 0 && !d->redis_up && mf__connect(d, &err) == 0)
        d->redis_up = 1;
    mf__pipeline_flush(d);
    if (d->n_pending > 0)
        mf_log(MF_LOG_WARN,
               "msg=\"redis unavailable at shutdown; the next start's scan records these\" "
               "pending=%zu",
               d->n_pending);
    return d->n_pending;
}

void mf__pipeline_close(mf__disp *d)
{
    if (d->chunk != NULL) {
        for (size_t i = 0; i < d->chunk->n; i++)
            mf__item_free(d->chunk->items[i]);
        free(d->chunk);
        d->chunk = NULL;
    }
    for (size_t i = 0; i < d->n_pending; i++)
        mf__item_free(d->pending[i]);
    free(d->pending);
    d->pending = NULL;
    d->n_pending = 0;
    mf__pipeline_drop_busy(d);
    free(d->busy);
    d->busy = NULL;
    free(d->ups);
    free(d->res);
    mf__htab_close(&d->inflight, NULL);
    mf_redis_free(d->redis);
    d->redis = NULL;
}
