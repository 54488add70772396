#include "mf/lanemap.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "mf/lanes.h"

static int mf__globs_match(const char *mime, const char *globs)
{
    const char *p = globs ? globs : "";

    while (*p != '\0') {
        char glob[128];
        size_t n;

        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, " ,");
        if (n > 0 && n < sizeof(glob)) {
            memcpy(glob, p, n);
            glob[n] = '\0';
            if (fnmatch(glob, mime, 0) == 0)
                return 1;
        }
        p += n;
    }
    return 0;
}

const char *mf_lanemap_lane(const char *mime, const char *const *globs, size_t n)
{
    if (mime == NULL || globs == NULL)
        return NULL;
    for (size_t i = 0; i < n && i < mf_lanes_n; i++) {
        if (mf__globs_match(mime, globs[i]))
            return mf_lanes[i].name;
    }
    return NULL;
}

/* The registry's spelling of a lane name (n bytes), or NULL when it is not a lane. */
static const char *mf__lane_name(const char *s, size_t n)
{
    const mf_lane_info *l = mf_lanes_find(s, n);

    return l ? l->name : NULL;
}

const char *mf_lanemap_route(const char *lane, const char *profile, const char *routes)
{
    const char *p = routes ? routes : "";
    size_t plen = profile ? strlen(profile) : 0;

    if (lane == NULL || profile == NULL)
        return lane;
    while (*p != '\0') {
        size_t n;
        const char *colon;
        const char *eq;

        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, " ,");
        colon = memchr(p, ':', n);
        eq = colon ? memchr(colon, '=', n - (size_t)(colon - p)) : NULL;
        if (eq != NULL && (size_t)(colon - p) == plen && memcmp(p, profile, plen) == 0 &&
            mf__lane_name(colon + 1, (size_t)(eq - colon - 1)) ==
                mf__lane_name(lane, strlen(lane))) {
            const char *to = mf__lane_name(eq + 1, n - (size_t)(eq + 1 - p));

            if (to != NULL)
                return to;
        }
        p += n;
    }
    return lane;
}
