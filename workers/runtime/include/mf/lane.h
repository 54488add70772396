/* The table every lane implements, so the worker loop (claim -> process -> finish -> write ->
 * ack) is written once (workers/runtime/run.c). Like nginx modules or curl's TLS backends.
 *
 * Processes: a lane has two binaries. mf-exec-<lane> links the lane's media code and gives
 * mf_exec_main() a table with init, process and shutdown; they run in the job executor, a
 * child process of the worker that the runtime starts and supervises (wall-clock timeout,
 * memory cap, crash detection): init() once per executor, process() once per job,
 * sequentially, shutdown() once at the end, all on the executor's one thread. In one-shot
 * mode (`mf-worker-<lane> process FILE`, which becomes mf-exec-<lane>) they run in the
 * calling process. mf-worker-<lane>, the supervisor, links no media library and gives
 * mf_worker_main_lane() a table with the name and, when the lane has a step that needs Redis,
 * finish; it runs in the supervisor after process() succeeded (never in one-shot mode).
 *
 * The name is the lane's entry in the registry (mf/lanes.h): [a-z][a-z0-9_]*, shorter than
 * MF_LANE_NAME_MAX; a name the registry does not know is refused when the worker starts. */
#ifndef MF_LANE_H
#define MF_LANE_H

#include <jansson.h>
#include "mf/config.h"
#include "mf/err.h"
#include "mf/queue.h"
#include "mf/redis.h"

/* json_dumps() flag for every JSON the runtime writes: 15 significant digits, so a longitude
 * of 151.21 reads 151.21 in the record and meta.json, not 151.21000000000001. */
#define MF_JSON_REAL JSON_REAL_PRECISION(15)

/* Ownership for process(): job and every string in it belong to the runtime and live until
 * process() returns (copy what must outlive the call; the fds are the runtime's to close).
 * out belongs to the runtime too: it is initialised (mf_result_init) before the call and
 * closed after it; the lane adds to out->meta and out->outputs and takes nothing out. On a
 * failure the runtime discards out and the work folder. */
typedef struct mf_lane_job {
    const char *id;       /* upload id (one-shot mode: "oneshot") */
    const char *path;     /* absolute path of the input, opened safely by the runtime */
    int fd;               /* the input, opened beneath the inbox without following links;
                             the lane may read it through /proc/self/fd/<fd> */
    const char *rel_path; /* path relative to the inbox, as recorded */
    const char *profile;  /* "default" or a profile name */
    const char *mime;
    const char *outdir; /* the job's output folder: exists and is empty when the job starts;
                           write outputs here with mf_fs_write_atomic */
    int progress_fd;    /* the runtime's: where mf_lane_progress() reports; 0 = nobody */
} mf_lane_job;

/* Reports that fraction `done` (0..1) of the job is done, for the record's `progress` and
 * `eta_s` (long lanes: video from the transcode position, doc from pages done). Cheap enough
 * to call per frame or page: the runtime passes on at most a few values a second and only
 * increases. Call it from the thread that runs process(). A no-op in one-shot mode. */
void mf_lane_progress(const mf_lane_job *job, double done);

typedef struct mf_result {
    json_t *meta;    /* object: what the lane extracted (owned by the result) */
    json_t *outputs; /* array of file names relative to outdir, in the order written */
} mf_result;

/* meta.outputs: the lane may set it to an object, output name -> what it knows of that output
 * ({"width": 256, "height": 171}, {"duration_s": 4.0}, {"pages": 3}); after process() the
 * runtime turns it into the record of every output, in the order of `outputs`:
 * [{"path": "<id>/<name>", "mime", "size", "sha256", ...what the lane knew}].
 * meta.provenance is the runtime's: worker_version, lane, libraries (the lane's provenance()
 * hook) and settings {sha256, values} (the <lane>_* settings, its timeout and input limits),
 * so a user can tell which files a settings change or an upgrade would alter. */

void mf_result_init(mf_result *res);  /* empty object and array */
void mf_result_close(mf_result *res); /* NULL-safe */
/* Records an output file name (relative to outdir). */
void mf_result_add_output(mf_result *res, const char *name);
/* Says what the lane knows of an output, meta.outputs[name][key] = value (value is taken):
 * width, height, duration_s, frames, pages... */
void mf_result_output_info(mf_result *res, const char *name, const char *key, json_t *value);

/* What finish() may use, valid only during the call (the runtime's objects). */
typedef struct mf_lane_finish_ctx {
    const mf_config *cfg;
    mf_redis *redis;           /* the worker's connection */
    const mf_queue_opts *opts; /* prefix, lane, consumer... of the worker's queue */
    const char *id;            /* the upload id */
} mf_lane_finish_ctx;

typedef struct mf_lane {
    const char *name; /* the registry name: "image", "video", "doc", ... (static storage) */
    /* Once per executor process. Returns 0 or an mf error with err set. */
    int (*init)(const mf_config *cfg, mf_err *err);
    /* One job: write outputs into job->outdir, fill out (ownership: above). Returns 0 or an
     * error code whose retryability (mf_err_retryable) decides retry vs fail; err->msg
     * becomes the record's `error`. */
    int (*process)(const mf_lane_job *job, mf_result *out, mf_err *err);
    /* Once, when the executor stops (its job pipe closed, or after --check-config): release
     * what init() made. It must not write outputs, touch the job's files or Redis, or block
     * on anything but its own threads; the process exits right after. May be NULL. */
    void (*shutdown)(void);
    /* In the supervisor, after process() succeeded and before meta.json and the record are
     * written: a lane's step that needs Redis (the image lane's near-duplicate index). It may
     * add to meta (owned by the runtime; values it sets are owned by meta) and must not keep
     * any pointer past the call. It must be idempotent: on MF_EREDIS the runtime waits for
     * Redis and calls it again, and a redelivered job calls it again. Any other error fails
     * the job (retryable or not as mf_err_retryable says). May be NULL. */
    int (*finish)(const mf_lane_finish_ctx *ctx, json_t *meta, mf_err *err);
    /* Adds the versions of the libraries (and models) that shape the outputs to libs, e.g.
     * {"libvips": "8.14.1"}: meta.provenance.libraries. May be NULL. */
    void (*provenance)(json_t *libs);
} mf_lane;

/* meta.outputs and meta.provenance (above) for a successful job whose outputs are in outdir;
 * id names the record. Returns 0, or an error when a listed output is missing. Called by the
 * runtime (executor and one-shot mode) after process(). */
int mf_result_describe(mf_result *res, const mf_lane *lane, const mf_config *cfg, const char *id,
                       const char *outdir, mf_err *err);

#endif
