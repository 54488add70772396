/* Opening an untrusted media file. The order matters:
 *   1. our own AVIOContext on the one file, with protocol_whitelist=file;
 *   2. probe the demuxer from its first bytes and refuse anything not on the allow-list
 *      (safety/allow.c) before a demuxer sees the file: an HLS playlist or a concat list
 *      renamed .mp4 is stopped here, having read nothing else;
 *   3. open with format_whitelist set and io_open replaced by a function that refuses every
 *      nested open, so even an allowed demuxer cannot reach a second file;
 *   4. check stream count, picture size and duration from the headers, then let
 *      avformat_find_stream_info() decode a little and check again.
 * An interrupt callback aborts any blocking call once the job's deadline passes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavformat/avformat.h>
#include <libavutil/avstring.h>

#include "mf/clock.h"
#include "mf/log.h"
#include "../video.h"

int mf_video_expired(const mf_video_limits *lim)
{
    return lim != NULL && lim->deadline_ms > 0 && mf_clock_mono_ms() > lim->deadline_ms;
}

static int mf__interrupt(void *opaque)
{
    return mf_video_expired(opaque);
}

/* Installed as AVFormatContext.io_open: the input is the only file a job may read. */
static int mf__io_refuse(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                         AVDictionary **options)
{
    char q[256];

    mf_log(MF_LOG_WARN, "msg=\"nested open refused\" url=%s", mf_log_quote(q, sizeof(q), url));
    return AVERROR(EPERM);
}

/* The executor runs one job at a time on one thread (mf/lane.h), so a static is enough. */
static char mf__av_last[160];

/* Our input is read through /proc/self/fd/N: a person knows it as "the input", and the number
 * means nothing to them. Rewrites every such path in s, in place. */
void mf_video_scrub_paths(char *s, size_t size)
{
    static const char *const pats[] = {"file:/proc/self/fd/", "/proc/self/fd/"};
    char tmp[1024];

    for (size_t k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
        char *p = strstr(s, pats[k]);

        while (p != NULL) {
            const char *e = p + strlen(pats[k]);

            while (*e >= '0' && *e <= '9')
                e++;
            snprintf(tmp, sizeof(tmp), "%s", e);
            snprintf(p, size - (size_t)(p - s), "the input%s", tmp);
            p = strstr(p + strlen("the input"), pats[k]);
        }
    }
}

void mf_video_note_av_error(const char *line)
{
    const char *p = line != NULL ? strstr(line, "] ") : NULL;

    if (line == NULL) {
        mf__av_last[0] = '\0';
        return;
    }
    snprintf(mf__av_last, sizeof(mf__av_last), "%s", line[0] == '[' && p != NULL ? p + 2 : line);
    mf_video_scrub_paths(mf__av_last, sizeof(mf__av_last));
}

void mf_video_av_reason(int averr, char *buf, size_t size)
{
    char why[AV_ERROR_MAX_STRING_SIZE] = "";

    if (averr == AVERROR_PATCHWELCOME) /* FFmpeg's words ask for patches; say what it means */
        snprintf(why, sizeof(why), "%s", "this codec feature is not supported by FFmpeg");
    else
        av_strerror(averr, why, sizeof(why));
    if (mf__av_last[0] != '\0')
        snprintf(buf, size, "%s (%s)", why, mf__av_last);
    else
        snprintf(buf, size, "%s", why);
    mf__av_last[0] = '\0';
}

int mf_video_averr(mf_err *err, int averr, int fallback, const char *call)
{
    char why[AV_ERROR_MAX_STRING_SIZE + sizeof(mf__av_last) + 4] = "";
    int code = fallback;

    mf_video_av_reason(averr, why, sizeof(why));
    if (averr == AVERROR_EXIT)
        code = MF_ETIMEOUT;
    else if (averr == AVERROR(ENOMEM) || averr == AVERROR(ENOSPC) || averr == AVERROR(EIO))
        code = averr; /* AVERROR(e) is -e: a system failure, maybe transient */
    else if (averr == AVERROR_DECODER_NOT_FOUND || averr == AVERROR_DEMUXER_NOT_FOUND ||
             averr == AVERROR_ENCODER_NOT_FOUND || averr == AVERROR_PATCHWELCOME ||
             averr == AVERROR(ENOSYS) || averr == AVERROR(EPERM))
        code = MF_EUNSUPPORTED;
    if (code == MF_ETIMEOUT)
        code = mf_err_set(err, code, "%s interrupted: the job's time limit passed", call);
    else
        code = mf_err_set(err, code, "%s failed: %s", call, why);
    return code;
}

static int mf__input_size(const mf_lane_job *job, int64_t *size, mf_err *err)
{
    struct stat st;
    int rc = job->fd >= 0 ? fstat(job->fd, &st) : stat(job->path, &st);

    if (rc < 0) {
        rc = mf_err_sys(err, -errno, "stat() of the input");
        goto out;
    }
    *size = st.st_size;
    if (!S_ISREG(st.st_mode))
        rc = mf_err_set(err, MF_EUNSUPPORTED, "input is not a regular file");
    else if (st.st_size == 0)
        rc = mf_err_set(err, MF_ECORRUPT, "input is empty (0 bytes)");
out:
    return rc;
}

/* Steps 1 and 2: our own I/O and the allow-list check on the probed demuxer. */
static int mf__probe(mf_video_input *in, const char *url, const AVInputFormat **ifmt, mf_err *err)
{
    AVDictionary *opts = NULL;
    AVIOInterruptCB icb = {mf__interrupt, (void *)in->lim};
    int rc;

    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    rc = avio_open2(&in->pb, url, AVIO_FLAG_READ, &icb, &opts);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "the input cannot be opened: avio_open2()");
        goto out;
    }
    rc = av_probe_input_buffer2(in->pb, ifmt, url, NULL, 0, 0);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT,
                            "the file's start is not a media container FFmpeg knows: "
                            "av_probe_input_buffer2()");
        goto out;
    }
    rc = 0;
    if (!mf_video_demuxer_allowed((*ifmt)->name))
        rc = mf_err_set(err, MF_EUNSUPPORTED,
                        "demuxer '%s' refused: only plain media containers are processed, not "
                        "playlists or files that refer to other files (allowed: %s)",
                        (*ifmt)->name, mf_video_demuxer_list());
out:
    av_dict_free(&opts);
    return rc;
}

static int mf__check_size(const mf_video_limits *lim, const AVStream *st, mf_err *err)
{
    int w = st->codecpar->width, h = st->codecpar->height;
    int ok = (w <= lim->max_width && h <= lim->max_height) ||
             (w <= lim->max_height && h <= lim->max_width);
    int rc = 0;

    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !ok)
        rc = mf_err_set(err, MF_ELIMIT, "video stream %d is %dx%d, over the %dx%d limit", st->index,
                        w, h, lim->max_width, lim->max_height);
    return rc;
}

/* Step 4: what the headers say, before (and again after) anything is decoded. */
static int mf__check_limits(const mf_video_input *in, mf_err *err)
{
    const AVFormatContext *fmt = in->fmt;
    const mf_video_limits *lim = in->lim;
    int rc = 0;

    if (fmt->nb_streams > lim->max_streams) {
        rc = mf_err_set(err, MF_ELIMIT, "input has %u streams, over the limit of %u",
                        fmt->nb_streams, lim->max_streams);
        goto out;
    }
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration / AV_TIME_BASE > lim->max_seconds) {
        rc = mf_err_set(err, MF_ELIMIT, "duration %.0f s is over the limit of %lld s",
                        (double)fmt->duration / AV_TIME_BASE, (long long)lim->max_seconds);
        goto out;
    }
    for (unsigned i = 0; i < fmt->nb_streams && rc == 0; i++)
        rc = mf__check_size(lim, fmt->streams[i], err);
out:
    return rc;
}

/* A file cut short often still opens (an MP4 with its index first): its index then points
 * past the end of the file. Saying so beats a transcode that silently stops half-way. */
static int mf__check_truncated(const mf_video_input *in, mf_err *err)
{
    int64_t end = 0;
    int rc = 0;

    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        AVStream *st = in->fmt->streams[i];
        int n = avformat_index_get_entries_count(st);
        const AVIndexEntry *e = n > 0 ? avformat_index_get_entry(st, n - 1) : NULL;

        if (e != NULL && e->pos + e->size > end)
            end = e->pos + e->size;
    }
    if (end > in->size)
        rc = mf_err_set(err, MF_ECORRUPT,
                        "input is truncated: its index needs %lld bytes, the file has %lld",
                        (long long)end, (long long)in->size);
    return rc;
}

/* "QuickTime / MOV" reads better than "mov,mp4,m4a,3gp,3g2,mj2". */
static const char *mf__fmt_name(const AVInputFormat *ifmt)
{
    return ifmt->long_name != NULL ? ifmt->long_name : ifmt->name;
}

static int mf__open_demuxer(mf_video_input *in, const char *url, const AVInputFormat *ifmt,
                            mf_err *err)
{
    AVDictionary *opts = NULL;
    int rc;

    in->fmt = avformat_alloc_context();
    in->fmt->pb = in->pb;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    in->fmt->interrupt_callback = (AVIOInterruptCB){mf__interrupt, (void *)in->lim};
    in->fmt->io_open = mf__io_refuse;
    in->fmt->format_whitelist = av_strdup(mf_video_demuxer_list());
    in->fmt->max_streams = (int)in->lim->max_streams + 1;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    rc = avformat_open_input(&in->fmt, url, ifmt, &opts); /* frees fmt on failure */
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avformat_open_input()");
        mf_video_err_prefix(err, "the %s container's header: ", mf__fmt_name(ifmt));
        /* An MP4 or MOV written front to back gets its index (moov) last: a recording or an
         * upload that stopped early has none, and libavformat says only that it is missing. */
        if (strstr(err->msg, "moov atom not found") != NULL &&
            strlen(err->msg) + 80 < sizeof(err->msg))
            strcat(err->msg, ": the file is cut short (an upload or a recording that did not "
                             "finish?)");
        goto out;
    }
    rc = mf__check_limits(in, err);
    if (rc < 0)
        goto out;
    rc = avformat_find_stream_info(in->fmt, NULL);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avformat_find_stream_info()");
        mf_video_err_prefix(err, "the %s container's streams: ", mf__fmt_name(ifmt));
        goto out;
    }
    rc = mf__check_limits(in, err);
    if (rc == 0)
        rc = mf__check_truncated(in, err);
out:
    av_dict_free(&opts);
    return rc;
}

int mf_video_input_open(mf_video_input *in, const mf_lane_job *job, const mf_video_limits *lim,
                        mf_err *err)
{
    const AVInputFormat *ifmt = NULL;
    char url[64 + 4096];
    int rc;

    memset(in, 0, sizeof(*in));
    in->lim = lim;
    rc = mf__input_size(job, &in->size, err);
    if (rc < 0)
        goto out;
    /* The runtime opened the file beneath the inbox without following links; reading it
     * through its descriptor keeps a rename or a swapped symlink from changing what we read. */
    if (job->fd >= 0)
        snprintf(url, sizeof(url), "file:/proc/self/fd/%d", job->fd);
    else if (snprintf(url, sizeof(url), "file:%s", job->path) >= (int)sizeof(url))
        rc = mf_err_set(err, MF_EINVAL, "input path is too long");
    if (rc < 0)
        goto out;
    rc = mf__probe(in, url, &ifmt, err);
    if (rc < 0)
        goto out;
    in->ifmt = ifmt;
    snprintf(in->url, sizeof(in->url), "%s", url);
    rc = mf__open_demuxer(in, url, ifmt, err);
out:
    if (rc < 0)
        mf_video_input_close(in);
    return rc;
}

int mf_video_input_reopen(mf_video_input *in)
{
    mf_video_input n = *in;
    mf_err err = {0};
    int64_t pos;
    int rc;

    n.fmt = NULL;
    pos = avio_seek(in->pb, 0, SEEK_SET);
    rc = pos < 0 ? (int)pos : mf__open_demuxer(&n, in->url, in->ifmt, &err);
    if (rc == 0 && n.fmt->nb_streams != in->fmt->nb_streams)
        rc = AVERROR_INVALIDDATA; /* not the same file any more: keep what we had */
    if (rc < 0) {
        avformat_close_input(&n.fmt);
        goto out;
    }
    for (unsigned i = 0; i < n.fmt->nb_streams; i++)
        n.fmt->streams[i]->discard = in->fmt->streams[i]->discard;
    avformat_close_input(&in->fmt); /* our own pb (AVFMT_FLAG_CUSTOM_IO) stays open */
    in->fmt = n.fmt;
out:
    return rc;
}

void mf_video_input_close(mf_video_input *in)
{
    if (in == NULL)
        return;
    avformat_close_input(&in->fmt);
    avio_closep(&in->pb);
}
