/* The Redis job protocol: the one place that knows key names, record fields and stream
 * semantics of the user contract (../shared/PRODUCT.md). Every state change is one Lua
 * script, so a record, its stream entry and its event are written together or not at all,
 * and every state change appends to <prefix>events (capped) and is PUBLISHed there.
 *
 * Keys (prefix "mf:" by default):
 *   paths            HASH rel path -> id of its latest upload
 *   file:<id>        HASH the record
 *   sha:<sha256>     STRING id of the first upload with that content in the default profile
 *   sha:<profile>:<sha256>  the same for another profile: content is deduplicated per
 *                    profile (the same bytes in inbox/ocr/ after the default profile are new
 *                    work). An original counts only when its record has the upload's
 *                    profile, so keys written before this split (sha:<sha256> for every
 *                    profile) still work: a profile's upload also looks there.
 *   q:<lane>         STREAM of jobs (field "id"), consumer group "workers"
 *   dlq:<lane>       STREAM of dead jobs (fields id, error, attempts, entry)
 *   events           STREAM + channel
 *   phash:<b>:<hex4> HASH id -> "<phash>:<seq>": band b (0..3) of image perceptual hashes
 *   phash:seq        STRING counter ordering the indexed images
 *   stats            HASH of counters (below), kept by the scripts that change records
 *   workers          ZSET "<host>:<pid>" of every worker, scored by its last beat (ms)
 *   worker:<host>:<pid> HASH one live worker (host pid lane version job path since
 *                    started_at beat_ms), expiring MF_WORKER_TTL_MS after its last beat
 *   paused           SET lanes whose workers claim nothing new (mfctl pause/resume)
 *   plan:<host>      HASH lane -> worker count set by mfctl scale for that host's mfctl up
 *   host:<host>      HASH the host's running mfctl up (pid started_at plan reload beat_ms),
 *                    expiring like a worker's
 *   reload:<host>    STRING counter: mfctl reload bumps it, that host's mfctl up reloads
 *
 * Fields of <prefix>stats (all integers, HINCRBY; <lane> is a record's type: image, video,
 * doc, other...). Counting starts when a Redis first runs these scripts: records written
 * before are not in them.
 *   records:<lane>:<status>        records of that lane now in that status (a gauge: moved
 *                                  from one status to the next by every state change)
 *   finished:<lane>:<outcome>      deliveries ended, outcome done | failed (final, dead
 *                                  letter) | retried (failed, will be delivered again)
 *   duration:<lane>:le_ms:<ms>     deliveries (any outcome) that took at most <ms>
 *                                  (cumulative buckets MF_QUEUE_STATS_BUCKETS_MS)
 *   duration:<lane>:count          deliveries timed
 *   duration:<lane>:sum_ms         their total time
 *   dispatcher:files_seen          complete uploads the dispatcher submitted (enqueue.lua)
 *   dispatcher:files_recorded      of those, new records (queued, duplicate, unsupported)
 *   dispatcher:rescans             full inbox scans (start, Redis reconnect, overflow)
 *   dispatcher:inotify_overflows   inotify queue overflows (events lost, rescanned)
 *
 * Thread safety: as for the mf_redis passed in (one thread). */
#ifndef MF_QUEUE_H
#define MF_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "mf/err.h"
#include "mf/id.h"
#include "mf/redis.h"

#define MF_QUEUE_GROUP "workers"

/* Upper bounds in ms of the duration histogram buckets of <prefix>stats; the same list is
 * MF_BUCKETS_MS in lua/prelude.lua. */
#define MF_QUEUE_STATS_BUCKETS_MS                                                                  \
    {                                                                                              \
        100, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 1800000                           \
    }

/* ---- dispatcher side ---------------------------------------------------------------- */

typedef struct mf_upload {
    const char *path; /* relative to the inbox; any bytes */
    size_t path_len;
    int64_t size;
    int64_t mtime_ms;
    const char *mime;
    const char *lane;    /* "image" "video" "doc", or NULL: status unsupported */
    const char *sha256;  /* hex */
    const char *profile; /* "default" or a profile name */
    int64_t received_ms; /* close-write seen */
    /* NULL or "": a normal upload. Otherwise the dispatcher refused the file before any lane
     * saw it (empty, over max_input_bytes): its record is failed with this error, no job is
     * queued and its content is not deduplicated (sha256 may be ""). */
    const char *error;
} mf_upload;

typedef enum mf_enq_status {
    MF_ENQ_QUEUED = 0,      /* new record, job on the lane's stream */
    MF_ENQ_DUPLICATE = 1,   /* new record, status duplicate, duplicate_of set */
    MF_ENQ_UNSUPPORTED = 2, /* new record, status unsupported */
    MF_ENQ_KNOWN = 3,       /* same path, size and mtime already recorded: nothing written */
    MF_ENQ_FAILED = 4,      /* new record, status failed with mf_upload.error, no job */
} mf_enq_status;

typedef struct mf_enq_result {
    mf_enq_status status;
    char id[MF_ID_LEN]; /* the new record, or the known one */
} mf_enq_result;

/* Records and enqueues n uploads in one pipeline (one round trip). out[i] describes ups[i].
 * Returns 0, or MF_EREDIS when the connection failed (nothing can be assumed about which
 * uploads were written; calling again is safe: known uploads come back MF_ENQ_KNOWN). */
int mf_queue_enqueue(mf_redis *r, const char *prefix, int64_t events_maxlen, const mf_upload *ups,
                     size_t n, mf_enq_result *out, mf_err *err);

/* For a startup scan: known[i] = 1 when paths[i] is recorded with the same size and mtime.
 * One pipeline. Returns 0 or MF_EREDIS. */
int mf_queue_known(mf_redis *r, const char *prefix, const mf_upload *ups, size_t n, int *known,
                   mf_err *err);

/* Creates the lane streams and consumer group if missing (idempotent). */
int mf_queue_prepare(mf_redis *r, const char *prefix, const char *lane, mf_err *err);

/* ---- worker side -------------------------------------------------------------------- */

typedef struct mf_job {
    char lane[16];
    char entry[48]; /* stream entry id */
    char id[MF_ID_LEN];
    char *path; /* relative to the inbox (heap, may contain any byte but NUL) */
    char *profile;
    char *mime;
    char *sha256;
    int64_t attempts; /* deliveries so far, including this one (set by mf_queue_start) */
    int64_t started_mono_ms;
} mf_job;

void mf_job_close(mf_job *job); /* frees the strings; NULL-safe */

typedef struct mf_queue_opts {
    const char *prefix;
    const char *lane;
    const char *consumer;  /* "<host>:<pid>" */
    int64_t visibility_ms; /* XAUTOCLAIM min idle */
    int64_t max_attempts;
    int64_t max_crashes; /* MF_ECRASH failures of one file that make it final; 0: no limit */
    int64_t retry_backoff_ms;
    int64_t events_maxlen;
} mf_queue_opts;

/* Claims one job: first a job idle longer than the visibility timeout (XAUTOCLAIM: a dead
 * worker's job, or a retry whose back-off has passed), else a new one (XREADGROUP, blocking
 * up to block_ms). Fills job (strings from the record). Returns 1 with a job, 0 with none,
 * or MF_EREDIS. A stream entry whose record vanished is acknowledged and skipped. */
int mf_queue_claim(mf_redis *r, const mf_queue_opts *o, int block_ms, mf_job *job, mf_err *err);

/* Marks the job processing: attempts+1, started_at, worker=consumer. Sets job->attempts.
 * Returns 0 or MF_EREDIS; -ENOENT (nothing written, do not process) when the record is gone
 * or the job was meanwhile settled by a worker that reclaimed it. */
int mf_queue_start(mf_redis *r, const mf_queue_opts *o, mf_job *job, mf_err *err);

/* Resets the entry's idle time so other workers do not reclaim it while we work. */
int mf_queue_heartbeat(mf_redis *r, const mf_queue_opts *o, const mf_job *job, mf_err *err);

/* Success: status done, outputs (JSON array text), meta (JSON object text), finished_at,
 * process_duration_ms; then XACK. One script. */
int mf_queue_done(mf_redis *r, const mf_queue_opts *o, const mf_job *job, const char *outputs_json,
                  const char *meta_json, int64_t duration_ms, mf_err *err);

/* Failure. An MF_ECRASH failure is counted in the record's `crashes`; the max_crashes-th one
 * is final whatever attempts remain (its error then says so). When the error is retryable
 * and attempts remain, the record goes back to queued
 * with the error and the entry becomes claimable again after the back-off
 * (retry_backoff_ms * 2^(attempts-1), capped at the visibility timeout). Otherwise (a
 * permanent error, or attempts exhausted) the record becomes failed with the error, the job
 * is copied to dlq:<lane> and acknowledged. Always one script. *final is set to 1 when the
 * record reached a terminal state, 0 when it will be retried, and 2 when the job had already
 * been settled by a worker that reclaimed it (its record is left alone: nothing to do). */
int mf_queue_fail(mf_redis *r, const mf_queue_opts *o, const mf_job *job, int code,
                  const char *error, int64_t duration_ms, int *final, mf_err *err);

/* Drain: hands the job back (status queued, immediately claimable by another worker) without
 * counting it as a failure (the delivery is taken off attempts). A job already settled
 * elsewhere is left alone. */
int mf_queue_release(mf_redis *r, const mf_queue_opts *o, const mf_job *job, mf_err *err);

/* Records how far the running job is: progress 0..100 and eta_s (seconds left, -1 when not
 * known). Written only while the job is ours and processing, and never downwards (a lower
 * value is ignored). Returns 0 or MF_EREDIS. */
int mf_queue_progress(mf_redis *r, const mf_queue_opts *o, const mf_job *job, int progress,
                      int64_t eta_s, mf_err *err);

/* ---- the live worker registry ------------------------------------------------------- */

/* A worker's heartbeat key lives this long after its last beat; workers beat every second. */
#define MF_WORKER_TTL_MS 5000

typedef struct mf_worker_beat {
    const char *member; /* "<host>:<pid>", the consumer name */
    const char *lane;
    const char *host;
    int64_t pid;
    const char *version;
    const char *job;    /* id of the running job, "" when idle */
    const char *path;   /* its path, "" when idle */
    int64_t since_ms;   /* epoch ms: the job's start, or the worker's when idle */
    int64_t started_ms; /* epoch ms: the worker's start */
} mf_worker_beat;

/* Renews the worker's registry entry (one script) and reports in *paused whether its lane is
 * paused. Returns 0 or MF_EREDIS. */
int mf_queue_worker_beat(mf_redis *r, const char *prefix, const mf_worker_beat *b, int *paused,
                         mf_err *err);
/* Takes the worker out of the registry (on a clean exit). */
int mf_queue_worker_gone(mf_redis *r, const char *prefix, const char *member, mf_err *err);

/* ---- near-duplicate images -------------------------------------------------------- */

typedef struct mf_near_dup {
    char id[MF_ID_LEN];
    int distance; /* Hamming distance of the perceptual hashes, bits */
} mf_near_dup;

/* Indexes the job's 64-bit perceptual hash phash (16 lowercase hex digits) and finds the
 * images indexed before it whose hash is at most max_bits (0..7) away: the nearest first
 * (then by id), at most cap of them, into out; *n is set to their number. One script
 * (lua/neardup.lua): 68 bucket probes, no scan; a bucket over MF_NEAR_DUP_BUCKET_MAX entries
 * is read only that far. Calling it again for the same id and hash writes nothing and gives
 * the same answer. Returns 0, MF_EINVAL (bad phash or max_bits), MF_EREDIS or MF_EPROTO. */
int mf_queue_near_dups(mf_redis *r, const mf_queue_opts *o, const char *id, const char *phash,
                       int max_bits, mf_near_dup *out, size_t cap, size_t *n, mf_err *err);

/* ---- admin (mfctl) ------------------------------------------------------------------ */

/* mfctl retry: a failed file gets a fresh start: status queued, attempts 0, crashes and error
 * cleared, a
 * new job on its lane, its dead-letter entries removed (*removed, may be NULL), one event.
 * Returns 0, -ENOENT (no record), MF_EINVAL (status is not failed; err names it) or
 * MF_EREDIS. */
int mf_queue_retry(mf_redis *r, const char *prefix, int64_t events_maxlen, const char *id,
                   int *removed, mf_err *err);

/* mfctl reprocess: a done file runs again: status queued, attempts 0, a new job on its lane,
 * one event; id, outputs and meta stay until the new run replaces them. Returns 0, -ENOENT (no
 * record), MF_EINVAL (status is not done; err names it) or MF_EREDIS. */
int mf_queue_reprocess(mf_redis *r, const char *prefix, int64_t events_maxlen, const char *id,
                       mf_err *err);

/* Reads the record as a JSON object text (all fields; outputs/meta embedded as JSON values).
 * *json is heap (free()). Returns 0, -ENOENT, or MF_EREDIS. Used by mfctl show. */
int mf_queue_record_json(mf_redis *r, const char *prefix, const char *id, char **json, mf_err *err);

/* Adds by to the field of <prefix>stats (dispatcher counters). Returns 0 or MF_EREDIS. */
int mf_queue_stat_incr(mf_redis *r, const char *prefix, const char *field, long long by,
                       mf_err *err);

/* ---- status (mfctl status --json, the gateway's /api/status and /metrics) ------------ */

/* The fleet at a glance, without a SCAN over records (cost: a few commands per lane plus
 * one HGETALL per live worker). *out is a new JSON object (json_decref):
 *   {
 *     "time": "2026-12-04T13:00:00.000Z",
 *     "lanes": [ {                     the contract's lanes (image video doc), then any
 *         "lane": "image",             other lane a worker, a record or `paused` names
 *         "queued": 3,                 jobs waiting: the group's lag (null: Redis cannot
 *                                      tell, after entries were deleted ahead of the group)
 *         "in_flight": 1,              delivered, not yet acknowledged (group pending)
 *         "dlq": 0,                    entries of dlq:<lane>
 *         "workers": 2,                live workers of the lane (registry)
 *         "paused": false,             the lane is in <prefix>paused
 *         "hosts": {"box1": 2},        live workers of the lane per host
 *         "records": {"queued": 3, "processing": 1, "done": 10, ...},   stats records:
 *         "finished": {"done": 10, "failed": 1, "retried": 0}           stats finished:
 *     } ],
 *     "workers": {"total": 2, "hosts": {"box1": 2}},   live workers (HASH present)
 *     "totals": {"total": 14, "queued": 3, "processing": 1, "done": 10, "failed": 0,
 *                "duplicate": 0, "unsupported": 0},    records by status, all lanes
 *     "running": [ {"id": "01J...", "path": "a/b.jpg", "lane": "image", "host": "box1",
 *                   "pid": 123, "elapsed_s": 1.5, "progress": 40 (null: not reported),
 *                   "eta_s": 12 (null: not known)} ],
 *     "stalled": [ {"id": "01J...", "lane": "video", "entry": "1700-0", "worker": "box2:77",
 *                   "idle_s": 31.2, "deliveries": 1} ],   delivered to a worker with no
 *                                      heartbeat: reclaimed once idle_s reaches the
 *                                      visibility timeout (at most 100 per lane)
 *     "dispatcher": {"files_seen": 0, "files_recorded": 0, "rescans": 0,
 *                    "inotify_overflows": 0}
 *   }
 * stats_out, when not NULL, receives the raw <prefix>stats HASH as a JSON object of integers
 * (the duration histograms for /metrics). Returns 0, MF_EREDIS or MF_EPROTO. */
int mf_queue_status_json(mf_redis *r, const char *prefix, json_t **out, json_t **stats_out,
                         mf_err *err);

#endif
