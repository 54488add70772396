/* The demuxer allow-list. A demuxer that follows references (hls and dash playlists, concat
 * lists, image2 patterns, tee, ...) can make a harmless-looking "clip.mp4" read any other file
 * the worker can see, or a URL. Only plain containers that read nothing but their own bytes
 * are on this list; everything else is refused from the probe result, before reading further.
 * Pure string functions, so they are unit-tested without FFmpeg. */
#include <string.h>

#include "../video.h"

static const char *const mf__demuxers[] = {
    "mov",  "mp4", "m4a", "3gp", "3g2", "mj2",  "matroska", "webm", "avi", "mpegts",
    "mpeg", "flv", "ogg", "wav", "mp3", "flac", "aac",      "aiff", "asf", NULL,
};

/* The same names, comma-separated, for AVFormatContext.format_whitelist (a second line of
 * defence: libavformat refuses to open any other demuxer). */
static const char mf__demuxer_list[] =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg,wav,mp3,flac,aac,aiff,asf";

static int mf__demuxer_one(const char *name, size_t len)
{
    int ok = 0;

    for (size_t i = 0; mf__demuxers[i] != NULL && !ok; i++)
        ok = strlen(mf__demuxers[i]) == len && memcmp(mf__demuxers[i], name, len) == 0;
    return ok;
}

int mf_video_demuxer_allowed(const char *names)
{
    const char *p = names;
    int ok = 0;

    if (names == NULL)
        goto out;
    /* Every alias must be allowed: a demuxer is one piece of code whatever it is called. */
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == 0 || !mf__demuxer_one(p, len)) {
            ok = 0;
            goto out;
        }
        ok = 1;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
out:
    return ok;
}

const char *mf_video_demuxer_list(void)
{
    return mf__demuxer_list;
}
