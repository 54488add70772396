/* Internals shared by the dispatcher's files (mf__ names). Everything here belongs to the
 * loop thread except an item's inspection results, which the pool thread writes before the
 * after-work callback hands the item back (libuv orders the two). */
#ifndef MF_DISPATCH_DISP_H
#define MF_DISPATCH_DISP_H

#include <dirent.h>
#include <stdint.h>
#include <uv.h>

#include "mf/config.h"
#include "mf/dispatch.h"
#include "mf/err.h"
#include "mf/queue.h"
#include "mf/redis.h"
#include "htab.h"

/* Uploads per mf_queue_enqueue() pipeline. Large enough that a burst costs a few round
 * trips, small enough that one pipeline (measured ~35 us of Redis time per upload) blocks
 * the loop for ~10 ms at most, the p99 latency target. */
#define MF__BATCH_MAX 256
/* Files stat'ed and checked with one mf_queue_known() pipeline per scan step. */
#define MF__SCAN_CHUNK 256
/* A scan stops feeding the pool above this many files in flight and resumes below half;
 * events are never throttled (the kernel queue would overflow instead). */
#define MF__SCAN_INFLIGHT_MAX 2048
/* Files between their event and their record (hashing, classifying, waiting for the next
 * pipeline) above which the inotify fd is no longer read, until half have gone: the kernel
 * keeps queuing (max_queued_events, 16384 by default) and past that reports an overflow that
 * a rescan repairs. The dispatcher's memory is bounded whatever the upload rate (~1 MB). */
#define MF__EVENT_INFLIGHT_MAX 4096
/* Hashed uploads kept while Redis is down. Beyond this they are dropped from memory: the
 * rescan that follows every reconnect finds them in the inbox again. */
#define MF__PENDING_MAX 65536
/* Statuses mf_queue_enqueue() reports (mf_enq_status), for the counters. */
#define MF__ENQ_STATUSES 5
/* inotify read()s per readiness callback, so a flood cannot starve the batch flush. */
#define MF__EVENT_READS 8
/* A file found still open for writing is looked at again after 2, 10, 50 and 250 ms. The
 * writer's IN_CLOSE_WRITE is queued a moment before the kernel drops its write access, so a
 * quick look can still see the very writer that just closed; after the last look a writer
 * that still holds the file is a real one, and its own close brings the file back. */
#define MF__BUSY_TRIES 4
#define MF__BUSY_FIRST_MS 2
/* Files inspected by one pool job: a burst costs one hand-off to the pool per chunk, not per
 * file (measured: the futex wake-ups of one uv_queue_work() per file were a quarter of the
 * dispatcher's CPU at 10,000 files/s). */
#define MF__CHUNK_MAX 32
/* A chunk this small, of files this small, is inspected on the loop thread: opening, hashing
 * and classifying a few small files costs less than the two thread switches of a pool job. */
#define MF__INLINE_ITEMS 4
#define MF__INLINE_BYTES (64 * 1024)
/* A new name whose writer has not closed it after this long is stat'ed once: a hard link
 * (more than one link) is an upload, anything else waits for its close. Checking at the
 * close instead of at IN_CREATE saves a stat per upload; the set is capped, and a name
 * beyond the cap is checked at once. */
#define MF__LINK_CHECK_MS 20
#define MF__LINK_PENDING_MAX 65536
/* Period of the stats log line. */
#define MF__STATS_MS 60000

typedef struct mf__disp mf__disp;

/* One upload on its way: created on the loop, inspected on the pool, recorded on the loop. */
typedef struct mf__item {
    mf__disp *d;
    char *path;          /* relative to the inbox (heap) */
    int64_t received_ms; /* wall clock when the event (or the scan) saw it */
    uint64_t seen_ns;    /* uv_hrtime() of the event, for the latency stats; 0 from a scan */
    int again;           /* another close arrived while in flight: inspect again after */
    int64_t again_ms;    /* received_ms and seen_ns of the first such close */
    uint64_t again_ns;
    int busy_tries;  /* looks that found a writer */
    uint64_t due_ns; /* when to look again */
    int rc;          /* inspection result */
    mf_err err;
    mf_inspect info;
} mf__item;

/* Items inspected together, on the pool or inline (pipeline.c). */
typedef struct mf__chunk {
    uv_work_t req;
    mf__disp *d;
    size_t n;
    mf__item *items[MF__CHUNK_MAX];
} mf__chunk;

struct mf__disp {
    uv_loop_t *loop;
    const mf_config *cfg;
    mf_classifier *magic;
    int inbox_fd;
    int loop_inited;
    int stopping;
    int finished; /* the last batch is flushed and the handles are closing */
    int exit_code;
    mf_err fatal; /* why exit_code is not 0 */

    /* watch.c */
    int ino_fd;
    uv_poll_t ino_poll;
    int ino_active;
    int ino_paused;   /* not read for now: too many files in flight (mf__watch_throttle) */
    size_t load_peak; /* most files in flight since the last trim */
    mf__htab wds;     /* int wd -> char *rel of the folder ("" for the inbox) */
    /* new names (IN_CREATE of a file) not closed yet -> uv_hrtime() of the event: a hard
     * link gets no close, so one still here after MF__LINK_CHECK_MS is looked at */
    mf__htab created;
    uv_timer_t link_timer;
    int root_wd;
    int watch_full_warned;

    /* scan.c: breadth-first, one folder open at a time */
    uv_idle_t scan_idle;
    int scan_running;
    DIR *scan_dir;
    char *scan_rel;
    char **scan_queue; /* folders still to list (heap strings) */
    size_t scan_head, scan_len, scan_cap;
    uint64_t scan_seen, scan_new;

    int scan_polled; /* the open folder is polled (poll.c): its files are left to the poller */

    /* poll.c */
    int poll_on;  /* watch=auto or poll */
    int poll_all; /* watch=poll: the whole inbox, no inotify */
    char **poll_roots;
    size_t n_poll_roots;
    mf__htab poll_files; /* path -> size and mtime at the last poll */
    uint32_t poll_gen;
    uv_timer_t poll_timer;

    /* pipeline.c */
    mf__htab inflight; /* path -> mf__item being inspected */
    size_t n_inflight;
    mf__chunk *chunk; /* being filled; submitted when full or at the end of a loop phase */
    uv_prepare_t submit_prepare;
    mf__item **pending; /* inspected, not yet recorded, in completion order */
    size_t n_pending, cap_pending;
    int pending_dropped;
    mf__item **busy; /* waiting for their writer, still in `inflight` */
    size_t n_busy, cap_busy;
    uv_timer_t busy_timer;
    mf_upload *ups;
    mf_enq_result *res;
    uv_check_t flush_check;
    mf_redis *redis;
    int redis_up;
    uv_timer_t retry_timer;
    int64_t retry_ms;

    /* dispatcher.c */
    uv_signal_t sig_term, sig_int;
    uv_timer_t stats_timer;
    uint64_t n_recorded[MF__ENQ_STATUSES]; /* by mf_enq_status */
    uint64_t n_skipped;
    uint64_t n_throttled;    /* times event reading was paused (mf__watch_throttle) */
    uint64_t lat_hist[1001]; /* 0.1 ms buckets up to 100 ms, then overflow */
    uint64_t lat_n;
};

/* watch.c */
int mf__watch_start(mf__disp *d, mf_err *err);
/* Watches the folder open as dirfd (found at rel). Failure is logged, not fatal: the folder's
 * files are then only found by scans. */
void mf__watch_add(mf__disp *d, int dirfd, const char *rel);
void mf__watch_stop(mf__disp *d);
void mf__watch_close(mf__disp *d);

/* scan.c */
void mf__scan_init(mf__disp *d);
/* Lists rel ("" = the whole inbox, which also cancels a scan in progress) and every folder
 * below it, watching each before listing it, and submits files not yet recorded. */
void mf__scan_request(mf__disp *d, const char *rel);
/* Resumes a paused scan (after Redis came back or the pool drained). */
void mf__scan_kick(mf__disp *d);
void mf__scan_stop(mf__disp *d);
/* HINCRBY 1 of a <prefix>stats counter (queue.h) while Redis is up. */
void mf__disp_stat(mf__disp *d, const char *field);

/* poll.c */
void mf__poll_start(mf__disp *d);
/* Called by the scanner for every folder it opens: 1 when the folder is polled (under a
 * polled root, or on a network or FUSE file system, which then becomes a polled root). */
int mf__poll_folder(mf__disp *d, int dirfd, const char *rel);
void mf__poll_stop(mf__disp *d);
void mf__poll_close(mf__disp *d);

/* pipeline.c */
int mf__pipeline_start(mf__disp *d, mf_err *err);
/* Takes ownership of path. */
void mf__pipeline_submit(mf__disp *d, char *path, int64_t received_ms, uint64_t seen_ns);
/* Pauses or resumes reading inotify events by the files in flight (MF__EVENT_INFLIGHT_MAX),
 * and gives freed memory back to the system once a burst is over. */
void mf__watch_throttle(mf__disp *d);
/* Records what is pending now (one pipeline per MF__BATCH_MAX). */
void mf__pipeline_flush(mf__disp *d);
/* Shutdown: one last connection attempt if Redis is down, then records what is pending.
 * Returns how many uploads could not be recorded (left to the next start's scan). */
size_t mf__pipeline_final_flush(mf__disp *d);
/* Forgets files waiting for a writer (shutdown: the next start's scan finds them). */
void mf__pipeline_drop_busy(mf__disp *d);
/* Marks Redis down and schedules reconnects. */
void mf__pipeline_redis_down(mf__disp *d, const mf_err *err);
void mf__pipeline_close(mf__disp *d);

/* dispatcher.c */
/* dir + "/" + name (just name when dir is ""), heap; NULL when longer than MF_PATH_MAX. */
char *mf__disp_join(const char *dir, const char *name);
void mf__disp_fatal(mf__disp *d, int code, const char *msg);
/* Called once per loop iteration while stopping: closes the loop when the pool is idle. */
void mf__disp_maybe_finish(mf__disp *d);
void mf__disp_record_latency(mf__disp *d, uint64_t seen_ns);

#endif
