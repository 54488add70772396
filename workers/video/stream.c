/* What the lane says about a stream in errors and warnings ("audio stream 1 (vorbis)"), going
 * back to the start of the file, and meta.warnings: the small things every pass shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video.h"

const char *mf_video_stream_what(const mf_video_input *in, int idx, char *buf, size_t n)
{
    const AVStream *st =
        idx >= 0 && (unsigned)idx < in->fmt->nb_streams ? in->fmt->streams[idx] : NULL;
    const char *type = st != NULL ? av_get_media_type_string(st->codecpar->codec_type) : NULL;

    if (st == NULL)
        snprintf(buf, n, "stream %d", idx);
    else
        snprintf(buf, n, "%s stream %d (%s)", type != NULL ? type : "data", idx,
                 avcodec_get_name(st->codecpar->codec_id));
    return buf;
}

int mf_video_err_prefix(mf_err *err, const char *fmt, ...)
{
    char pre[256], old[MF_ERR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return 0;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    /* Said once: a nested step may already have named the same part. */
    if (strncmp(err->msg, pre, strlen(pre)) != 0) {
        size_t plen = strlen(pre), olen;

        /* pre, then as much of the old message as fits (memcpy: no -Wformat-truncation) */
        memcpy(old, err->msg, sizeof(old));
        old[sizeof(old) - 1] = '\0';
        olen = strlen(old);
        if (plen > sizeof(err->msg) - 1)
            plen = sizeof(err->msg) - 1;
        if (olen > sizeof(err->msg) - 1 - plen)
            olen = sizeof(err->msg) - 1 - plen;
        memcpy(err->msg, pre, plen);
        memcpy(err->msg + plen, old, olen);
        err->msg[plen + olen] = '\0';
    }
    return err->code;
}

int mf_video_rewind(mf_video_input *in)
{
    int64_t start = in->fmt->start_time != AV_NOPTS_VALUE ? in->fmt->start_time : 0;
    int rc = mf_video_input_reopen(in);

    if (rc < 0)
        rc = av_seek_frame(in->fmt, -1, start, AVSEEK_FLAG_BACKWARD);
    if (rc < 0)
        rc = avformat_seek_file(in->fmt, -1, INT64_MIN, start, start, 0);
    return rc;
}

/* MPEG-TS and MPEG-PS have no index: a seek by time there bisects on timestamps and may land
 * a little after the keyframe wanted. */
int mf_video_seek_by_time_ok(const mf_video_input *in)
{
    return !(in->fmt->iformat->flags & AVFMT_TS_DISCONT);
}

void mf_video_warn(json_t *meta, const char *fmt, ...)
{
    json_t *w = json_object_get(meta, "warnings");
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!json_is_array(w)) {
        w = json_array();
        json_object_set_new(meta, "warnings", w);
    }
    json_array_append_new(w, json_string(line));
}

double mf_video_stream_seconds(const mf_video_input *in, int idx)
{
    const AVStream *st = in->fmt->streams[idx];

    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (double)st->duration * av_q2d(st->time_base);
    if (in->fmt->duration != AV_NOPTS_VALUE && in->fmt->duration > 0)
        return (double)in->fmt->duration / AV_TIME_BASE;
    return -1.0;
}
