/* The lane registry (mf/lanes.h) as data. */
#include "mf/lanes.h"

#include <string.h>

#define MF__LANE_ENTRY(name, per, tmo, globs, noun, job_ms) {#name, per, tmo, globs, noun, job_ms},
const mf_lane_info mf_lanes[] = {MF_LANES(MF__LANE_ENTRY)};
const size_t mf_lanes_n = sizeof(mf_lanes) / sizeof(mf_lanes[0]);

#define MF__LANE_NAME(name, per, tmo, globs, noun, job_ms) ", " #name
static const char mf__lanes_list[] = MF_LANES(MF__LANE_NAME);

/* Checked at build time: a name must fit the buffers sized by MF_LANE_NAME_MAX. */
#define MF__LANE_LEN(name, per, tmo, globs, noun, job_ms)                                          \
    _Static_assert(sizeof(#name) <= MF_LANE_NAME_MAX, "lane name " #name " is too long");
MF_LANES(MF__LANE_LEN)

const mf_lane_info *mf_lanes_find(const char *name, size_t len)
{
    for (size_t i = 0; name != NULL && i < mf_lanes_n; i++) {
        if (strlen(mf_lanes[i].name) == len && memcmp(mf_lanes[i].name, name, len) == 0)
            return &mf_lanes[i];
    }
    return NULL;
}

int mf_lanes_index(const char *name)
{
    const mf_lane_info *l = name ? mf_lanes_find(name, strlen(name)) : NULL;

    return l ? (int)(l - mf_lanes) : -1;
}

const char *mf_lanes_list(void)
{
    return mf__lanes_list + 2; /* past the first ", " */
}
