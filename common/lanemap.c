#include "mf/lanemap.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

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

const char *mf_lanemap_lane(const char *mime, const char *image_globs, const char *video_globs,
                            const char *doc_globs)
{
    if (mime == NULL)
        return NULL;
    if (mf__globs_match(mime, image_globs))
        return "image";
    if (mf__globs_match(mime, video_globs))
        return "video";
    if (mf__globs_match(mime, doc_globs))
        return "doc";
    return NULL;
}

static const char *mf__lane_name(const char *s, size_t n)
{
    static const char *const lanes[] = {"image", "video", "doc"};

    for (size_t i = 0; i < sizeof(lanes) / sizeof(lanes[0]); i++) {
        if (strlen(lanes[i]) == n && memcmp(lanes[i], s, n) == 0)
            return lanes[i];
    }
    return NULL;
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
