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
