/* The table every lane implements, so the worker loop (claim -> process -> write -> ack) is
 * written once (workers/runtime/worker.c). Like nginx modules or curl's TLS backends.
 *
 * Threading and processes: a lane is linked into mf-exec-<lane> only, never into the
 * supervisor mf-worker-<lane>. init() and process() run in the job executor, a child process
 * of the worker that the runtime starts and supervises (wall-clock timeout, memory cap, crash
 * detection); init() once per executor, process() once per job, sequentially. In one-shot
 * mode (`mf-worker-<lane> process FILE`, which becomes mf-exec-<lane>) they run in the
 * calling process. */
#ifndef MF_LANE_H
#define MF_LANE_H

#include <jansson.h>
#include "mf/config.h"
#include "mf/err.h"

/* json_dumps() flag for every JSON the runtime writes: 15 significant digits, so a longitude
 * of 151.21 reads 151.21 in the record and meta.json, not 151.21000000000001. */
#define MF_JSON_REAL JSON_REAL_PRECISION(15)

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

void mf_result_init(mf_result *res);  /* empty object and array */
void mf_result_close(mf_result *res); /* NULL-safe */
/* Records an output file name (relative to outdir). */
void mf_result_add_output(mf_result *res, const char *name);

typedef struct mf_lane {
    const char *name; /* "image", "video", "doc" */
    /* Once per executor process. Returns 0 or an mf error with err set. */
    int (*init)(const mf_config *cfg, mf_err *err);
    /* One job: write outputs into job->outdir, fill out. Returns 0 or an error code whose
     * retryability (mf_err_retryable) decides retry vs fail; err->msg becomes the record's
     * `error`. */
    int (*process)(const mf_lane_job *job, mf_result *out, mf_err *err);
    /* Once, when the executor stops (its job pipe closed): release what init() made. It
     * must not write outputs; it may be NULL. */
    void (*shutdown)(void);
} mf_lane;

#endif
