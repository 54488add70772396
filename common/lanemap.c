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
