/* The registry of lanes: one line per lane, every per-lane fact in one place (like err.h's
 * error table). Code that needs the list of lanes, or a fact about one, derives it from
 * MF_LANES instead of spelling lane names out: the config entries timeout_<lane> and
 * mime_<lane> (common/config.c), the MIME -> lane map (common/lanemap.c), the dispatcher's
 * queues, mfctl's plan, status, scale and dlq, the lane binaries in CMake (the top-level
 * CMakeLists.txt reads the X( lines of this file with a regex: keep one lane per line,
 * starting with `X(name,`) and the tests' lane list (tests/integration/lib.sh reads it too).
 *
 *   X(name, auto_per_cpus, timeout_s, mime_globs, noun, job_ms)
 *     name           the lane: queue <prefix>q:<name>, binaries mf-worker-<name> and
 *                    mf-exec-<name> (folder workers/<name>/), the record's `type`
 *     auto_per_cpus  the static share of `workers=auto`: one worker per this many CPUs (at
 *                    least one); the backlog planner of `mfctl up` moves slots from there
 *     timeout_s      default of the config entry timeout_<name>: seconds one job may run
 *                    before its executor is killed and the job failed (retryable)
 *     mime_globs     default of the config entry mime_<name>: space-separated fnmatch(3)
 *                    globs of the MIME types (as the dispatcher names them) the lane takes;
 *                    the first lane in registry order whose globs match wins. One INI line
 *                    (libinih reads up to 200 characters).
 *     noun           what the lane's jobs are called in help texts ("seconds per <noun> job")
 *     job_ms         a typical job's milliseconds: what the backlog planner of `mfctl up`
 *                    weighs a waiting job by until the lane has finished jobs of its own (then
 *                    their mean, from the duration counters in <prefix>stats)
 *
 * Why these timeouts: image jobs are one decode and a few resizes (seconds); a video job
 * transcodes up to the length of the clip; a document job OCRs page by page; a model job
 * imports, renders and exports a mesh (the MIME types are the dispatcher's, dispatcher/sniff3d.c).
 * Why these typical jobs (bench/RESULTS.md, this project's 2-core machine): a 12 MP phone
 * photo is about 0.4 s of CPU (bench/image.sh); a phone clip of half a minute about 27 s
 * (1080p to 720p at 0.9 s per second of clip, bench/video.sh); a document of five scanned
 * pages about 1.5 s (OCR at 300 dpi, 0.3 s a page, bench/doc.sh); a model a few seconds. They
 * only weigh the lanes against each other until their first jobs finish.
 * The image globs cover the spellings libmagic versions use (image/bmp and image/x-ms-bmp,
 * image/vnd.microsoft.icon and image/x-icon, image/jp2 and image/x-jp2-codestream, the four
 * image/x-portable-*).
 *
 * Lane names are [a-z][a-z0-9_]* and shorter than MF_LANE_NAME_MAX. */
#ifndef MF_LANES_H
#define MF_LANES_H

#include <stddef.h>
#include <stdint.h>

/* clang-format off */
#define MF_LANES(X) \
    X(image, 1, 120, "image/jpeg image/png image/webp image/gif image/tiff image/hei[cf] " \
                     "image/avif image/*bmp image/*icon image/*photoshop image/*jp2* image/jpx " \
                     "image/jxl image/x-portable-*", "image", 400) \
    X(video, 4, 3600, "video/* audio/*", "video", 27000) \
    X(doc, 2, 900, "application/pdf", "document", 1500) \
    X(model, 2, 300, "model/*", "3D model", 3000)
/* clang-format on */

#define MF_LANE_NAME_MAX 16

/* MF_LANE_image, MF_LANE_video, ...: a lane's index in mf_lanes[]; MF_LANE_COUNT lanes. */
#define MF__LANE_ENUM(name, per, tmo, globs, noun, job_ms) MF_LANE_##name,
enum { MF_LANES(MF__LANE_ENUM) MF_LANE_COUNT };

typedef struct mf_lane_info {
    const char *name;
    int auto_per_cpus;
    int64_t timeout_s;
    const char *mime_globs;
    const char *noun;
    int job_ms;
} mf_lane_info;

/* The registry in order; mf_lanes_n (== MF_LANE_COUNT) entries. */
extern const mf_lane_info mf_lanes[];
extern const size_t mf_lanes_n;

/* The registry entry of a lane name (len bytes, need not be NUL-terminated), or NULL. */
const mf_lane_info *mf_lanes_find(const char *name, size_t len);

/* The index in mf_lanes[] of a NUL-terminated lane name, or -1 when it is not a lane. */
int mf_lanes_index(const char *name);

/* "image, video, doc": the lane names for error messages. */
const char *mf_lanes_list(void);

#endif
