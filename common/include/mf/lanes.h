/* The registry of lanes: one line per lane, every per-lane fact in one place (like err.h's
 * error table). Code that needs the list of lanes, or a fact about one, derives it from
 * MF_LANES instead of spelling lane names out.
 *
 *   X(name, auto_per_cpus)
 *     name           the lane: queue <prefix>q:<name>, binaries mf-worker-<name> and
 *                    mf-exec-<name>, the record's `type`
 *     auto_per_cpus  the static share of `workers=auto`: one worker per this many CPUs (at
 *                    least one); the backlog planner of `mfctl up` moves slots from there
 *
 * Lane names are [a-z][a-z0-9_]* and shorter than MF_LANE_NAME_MAX. */
#ifndef MF_LANES_H
#define MF_LANES_H

#include <stddef.h>

#define MF_LANES(X)                                                                                \
    X(image, 1)                                                                                    \
    X(video, 4)                                                                                    \
    X(doc, 2)

#define MF_LANE_NAME_MAX 16

typedef struct mf_lane_info {
    const char *name;
    int auto_per_cpus;
} mf_lane_info;

/* The registry in order; mf_lanes_n entries. */
extern const mf_lane_info mf_lanes[];
extern const size_t mf_lanes_n;

/* The registry entry of a lane name (len bytes, need not be NUL-terminated), or NULL. */
const mf_lane_info *mf_lanes_find(const char *name, size_t len);

/* "image, video, doc": the lane names for error messages. */
const char *mf_lanes_list(void);

#endif
