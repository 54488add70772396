/* Keyframes, poster and contact sheet. Only keyframes are decoded: for each of N evenly spaced
 * times we seek back to the keyframe at or before it, feed that one packet to a decoder that
 * skips non-key frames, and drain it. A 2-hour film costs N intra pictures, not 2 hours of
 * decoding. Times that land on the same keyframe (short clips, long GOPs) give one picture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "mf/clock.h"
#include "video.h"

/* Packets read after a seek before giving up on finding a keyframe (broken key flags). */
#define MF__KF_MAX_PACKETS 2000
#define MF__SHEET_GAP 4

typedef struct mf__kf {
    mf_video_input *in;
    int vidx, rot;
    AVCodecContext *dec;
    struct SwsContext *sws;
    AVFrame *tiles[MF_VIDEO_KEYFRAMES];
    AVFrame *poster; /* the decoded picture of the poster, full size */
    double times[MF_VIDEO_KEYFRAMES];
    double kf_s[MF_VIDEO_KEYFRAMES]; /* keyframes the first pass found, seconds from start */
    int n, nkf;
    int64_t last_pts;
    int by_time;      /* pictures picked by time (second pass), not keyframes */
    double secs;      /* the stream's length (second pass), 0 when unknown */
    double skip_last; /* the keyframe the second pass last jumped to (-1: none) */
    json_t *meta;
    const mf_lane_job *job; /* progress of the second pass goes to it */
    double share;           /* the job's progress when the second pass reaches the end */
    char why[256];          /* the decoder's words for the last picture it refused */
    int tw, th;             /* tile size */
    int pw, ph;             /* poster size */
} mf__kf;

/* Seconds from the stream's start of a decoded picture, or -1 when it has no timestamp. */
static double mf__kf_secs(const mf__kf *k, const AVFrame *frame)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    int64_t pts = frame->best_effort_timestamp;

    if (pts == AV_NOPTS_VALUE)
        return -1.0;
    return (double)(pts - (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0)) *
           av_q2d(st->time_base);
}

/* Reads from the current position to the next keyframe packet of the stream and decodes it.
 * Returns 1 with a frame, 0 at end of file, or an error. */
static int mf__kf_next(mf__kf *k, AVPacket *pkt, AVFrame *frame, mf_err *err)
{
    int64_t ts;
    int rc = 0;

    avcodec_flush_buffers(k->dec);
    for (int i = 0; i < MF__KF_MAX_PACKETS; i++) {
        rc = av_read_frame(k->in->fmt, pkt);
        if (rc == AVERROR_EOF) {
            rc = 0;
            goto out;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_read_frame()");
            goto out;
        }
        if (pkt->stream_index == k->vidx && (pkt->flags & AV_PKT_FLAG_KEY))
            break;
        av_packet_unref(pkt);
    }
    if (pkt->data == NULL)
        goto out;
    ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    /* One packet, then drain: the picture comes out now, whatever the decoder's delay. */
    rc = avcodec_send_packet(k->dec, pkt);
    av_packet_unref(pkt);
    if (rc >= 0)
        rc = avcodec_send_packet(k->dec, NULL);
    if (rc >= 0)
        rc = avcodec_receive_frame(k->dec, frame);
    if (rc == AVERROR(ENOMEM)) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_frame()");
    } else if (rc < 0) { /* a damaged keyframe: skip it, the next time may land on a good one */
        if (rc != AVERROR_EOF)
            mf_video_av_reason(rc, k->why, sizeof(k->why));
        rc = 0;
    } else {
        rc = 1;
    }
    if (rc == 1 && frame->best_effort_timestamp == AV_NOPTS_VALUE) /* AVI: the packet's */
        frame->best_effort_timestamp = ts;
out:
    av_packet_unref(pkt);
    return rc;
}

/* Keeps one decoded picture: its tile, and it as the poster if it is the first that is not
 * near black. Files are written once the pictures are chosen (mf__kf_write). */
static int mf__kf_keep(mf__kf *k, const AVFrame *frame, mf_err *err)
{
    int64_t pts = frame->best_effort_timestamp;
    AVFrame *tile = NULL;
    int rc = 0;

    if (k->n >= MF_VIDEO_KEYFRAMES || (pts != AV_NOPTS_VALUE && pts == k->last_pts))
        goto out; /* the same picture as the previous time */
    k->last_pts = pts;
    rc =
        mf_video_frame_fit(frame, k->tw, k->th, k->rot, AV_PIX_FMT_YUV420P, 1, &k->sws, &tile, err);
    if (rc < 0)
        goto out;
    k->times[k->n] = mf__kf_secs(k, frame);
    k->tiles[k->n++] = tile;
    if (k->poster == NULL && mf_video_frame_luma(tile) >= MF_VIDEO_BLACK_LUMA)
        k->poster = av_frame_clone(frame);
out:
    return rc;
}

static void mf__kf_reset(mf__kf *k)
{
    for (int i = 0; i < k->n; i++)
        av_frame_free(&k->tiles[i]);
    av_frame_free(&k->poster);
    k->n = 0;
    k->last_pts = AV_NOPTS_VALUE;
}

static int mf__kf_seek(mf__kf *k, int i)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    int64_t dur = st->duration;
    int rc = -1; /* unknown length: read on from where we are */

    if (i == 0)
        return mf_video_rewind(k->in);
    if ((dur == AV_NOPTS_VALUE || dur <= 0) && k->in->fmt->duration != AV_NOPTS_VALUE)
        dur = av_rescale_q(k->in->fmt->duration, AV_TIME_BASE_Q, st->time_base);
    if (dur == AV_NOPTS_VALUE || dur <= 0)
        goto out;
    /* From the start to the end inclusive: the last time finds the last keyframe. */
    rc = av_seek_frame(k->in->fmt, k->vidx, start + (dur - 1) * i / (MF_VIDEO_KEYFRAMES - 1),
                       AVSEEK_FLAG_BACKWARD);
out:
    return rc;
}

/* First pass: keyframes only, one seek and one intra picture per time. */
static int mf__kf_collect(mf__kf *k, mf_err *err)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int rc = 0;

    for (int i = 0; i < MF_VIDEO_KEYFRAMES && rc >= 0; i++) {
        if (mf_video_expired(k->in->lim)) {
            rc = mf_err_set(err, MF_ETIMEOUT, "keyframes interrupted: the job's time limit passed");
            break;
        }
        mf__kf_seek(k, i); /* on failure, read on: the next keyframe is still a good one */
        rc = mf__kf_next(k, pkt, frame, err);
        if (rc == 1)
            rc = mf__kf_keep(k, frame, err);
        av_frame_unref(frame);
    }
    for (int i = 0; i < k->n; i++)
        k->kf_s[k->nkf++] = k->times[i];
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return rc < 0 ? rc : 0;
}

/* Pictures the stream holds, from its header or its length and rate; -1 when unknown. */
static int64_t mf__kf_frames(const mf__kf *k)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    double secs = mf_video_stream_seconds(k->in, k->vidx);

    if (st->nb_frames > 0)
        return st->nb_frames;
    if (secs > 0 && fr.num > 0 && fr.den > 0)
        return (int64_t)(secs * av_q2d(fr) + 0.5);
    return -1;
}

/* The second pass's next move toward target time t (seconds) from cur: a keyframe of the first
 * pass after cur and at or before t is where decoding may start again instead of going on
 * through everything between. */
static int mf__kf_skip(mf__kf *k, double cur, double t)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    double best = -1.0;
    int rc = 0;

    /* Only forward, and to each keyframe once: a seek may land a little before it (leading
     * pictures of an open GOP), which must not send us back there again. */
    for (int i = 0; i < k->nkf; i++)
        if (k->kf_s[i] > cur + 1e-3 && k->kf_s[i] > k->skip_last + 1e-3 && k->kf_s[i] <= t &&
            k->kf_s[i] > best)
            best = k->kf_s[i];
    if (best < 0 || !mf_video_seek_by_time_ok(k->in))
        goto out;
    k->skip_last = best;
    rc = av_seek_frame(k->in->fmt, k->vidx, start + (int64_t)(best / av_q2d(st->time_base)),
                       AVSEEK_FLAG_BACKWARD);
    if (rc >= 0) {
        avcodec_flush_buffers(k->dec);
        rc = 1;
    }
out:
    return rc;
}

/* One decoded picture of the second pass: kept when it is the first at or past the next
 * target time. Returns 1 when every target is taken. */
static int mf__kf_by_time_frame(mf__kf *k, const AVFrame *frame, double secs, int *j, double *cur,
                                mf_err *err)
{
    int rc = 0, take = 0;

    while (*j < MF_VIDEO_KEYFRAMES && secs + 1e-3 >= k->times[*j]) {
        take = 1;
        (*j)++;
    }
    if (take)
        rc = mf__kf_keep(k, frame, err);
    if (take && rc == 0 && k->n > 0 && k->times[k->n - 1] < 0)
        k->times[k->n - 1] = secs;
    *cur = secs;
    if (k->secs > 0)
        mf_lane_progress(k->job, k->share * (secs < k->secs ? secs / k->secs : 1.0));
    if (rc == 0 && *j >= MF_VIDEO_KEYFRAMES)
        rc = 1;
    /* Between targets, jump to a later keyframe when the first pass knows one (a failed seek
     * only means decoding on from here). */
    if (rc == 0)
        mf__kf_skip(k, secs, k->times[*j]);
    return rc;
}

/* Second pass, when keyframes are too few for the pictures wanted (one keyframe in an MPEG-TS
 * capture, MPEG-4 Part 2 with a keyframe every 10 s): N times spread over the length, each
 * the first picture at or after its time, decoded forward from the keyframe before it. */
static int mf__kf_by_time(mf__kf *k, double secs, mf_err *err)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    AVRational fr = k->in->fmt->streams[k->vidx]->avg_frame_rate;
    double cur = -1.0, t;
    int64_t now = mf_clock_mono_ms(), budget = 0;
    int j = 0, eof = 0, rc;

    /* Decoding a long clip with one keyframe is decoding all of it: a quarter of the time the
     * job has left, then the pictures found so far (the transcode needs the rest). */
    if (k->in->lim->deadline_ms > now)
        budget = now + (k->in->lim->deadline_ms - now) / 4;
    mf__kf_reset(k);
    k->by_time = 1;
    k->secs = secs;
    for (int i = 0; i < MF_VIDEO_KEYFRAMES; i++)
        k->times[i] = secs * i / MF_VIDEO_KEYFRAMES; /* targets, then the times kept */
    avcodec_free_context(&k->dec);
    rc = mf_video_decoder_open(k->in, k->vidx, 0, &k->dec, err);
    if (rc == 0)
        mf_video_rewind(k->in);
    while (rc == 0) {
        if (budget > 0 && mf_clock_mono_ms() > budget) {
            mf_video_warn(k->meta,
                          "keyframes: picking by time stopped at %.1f s of %.1f s, after "
                          "a quarter of the job's time limit",
                          cur > 0 ? cur : 0.0, secs);
            break;
        }
        rc = av_read_frame(k->in->fmt, pkt);
        if (rc < 0 && rc != AVERROR_EOF) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_read_frame()");
            break;
        }
        /* At the end, NULL drains the pictures the decoder (and its threads) still hold. */
        eof = rc == AVERROR_EOF;
        if (eof)
            rc = avcodec_send_packet(k->dec, NULL);
        else
            rc = pkt->stream_index == k->vidx ? avcodec_send_packet(k->dec, pkt) : 0;
        av_packet_unref(pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR(ENOMEM))
            mf_video_av_reason(rc, k->why, sizeof(k->why));
        for (rc = rc == AVERROR(ENOMEM) ? rc : 0; rc == 0;) {
            if (avcodec_receive_frame(k->dec, frame) < 0)
                break;
            /* No timestamp: one frame on from the previous picture. */
            t = mf__kf_secs(k, frame);
            if (t < 0)
                t = cur + (fr.num > 0 ? av_q2d(av_inv_q(fr)) : 0.04);
            rc = mf__kf_by_time_frame(k, frame, t, &j, &cur, err);
            av_frame_unref(frame);
        }
        if (rc == AVERROR(ENOMEM))
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_packet()");
        if (eof)
            break;
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return rc < 0 ? rc : 0;
}

/* kf-NNNN.jpg and poster.jpg from the pictures chosen. */
static int mf__kf_write(mf__kf *k, const mf_lane_job *job, mf_result *out, mf_err *err)
{
    struct SwsContext *sws = NULL;
    AVFrame *pic = NULL;
    char name[32];
    int rc = 0;

    for (int i = 0; i < k->n && rc == 0; i++) {
        snprintf(name, sizeof(name), "kf-%04d.jpg", i + 1);
        rc = mf_video_jpeg_write(k->tiles[i], job->outdir, name, err);
        if (rc == 0)
            mf_result_add_output(out, name);
    }
    /* All near black (a night scene, a fade): the first picture is as good as any. */
    if (rc == 0 && k->poster != NULL)
        rc = mf_video_frame_fit(k->poster, k->pw, k->ph, k->rot, AV_PIX_FMT_YUV420P, 1, &sws, &pic,
                                err);
    if (rc == 0 && k->n > 0)
        rc = mf_video_jpeg_write(pic != NULL ? pic : k->tiles[0], job->outdir, "poster.jpg", err);
    if (rc == 0 && k->n > 0)
        mf_result_add_output(out, "poster.jpg");
    av_frame_free(&pic);
    sws_freeContext(sws);
    return rc;
}

/* The tiles in a grid, ceil(sqrt(n)) columns, on black (full-range YUV). */
static int mf__kf_sheet(mf__kf *k, const mf_lane_job *job, mf_result *out, mf_err *err)
{
    int cols = 1, rows, g = MF__SHEET_GAP;
    AVFrame *sheet = av_frame_alloc();
    int rc;

    while (cols * cols < k->n)
        cols++;
    rows = (k->n + cols - 1) / cols;
    sheet->width = cols * k->tw + (cols + 1) * g;
    sheet->height = rows * k->th + (rows + 1) * g;
    sheet->format = AV_PIX_FMT_YUV420P;
    if (av_frame_get_buffer(sheet, 0) < 0)
        abort();
    memset(sheet->data[0], 0, (size_t)sheet->linesize[0] * sheet->height);
    memset(sheet->data[1], 128, (size_t)sheet->linesize[1] * (sheet->height / 2));
    memset(sheet->data[2], 128, (size_t)sheet->linesize[2] * (sheet->height / 2));
    for (int i = 0; i < k->n; i++) {
        int x = g + (i % cols) * (k->tw + g), y = g + (i / cols) * (k->th + g);

        for (int p = 0; p < 3; p++) {
            int sh = p ? 1 : 0;
            for (int r = 0; r < k->th >> sh; r++)
                memcpy(sheet->data[p] + (size_t)((y >> sh) + r) * sheet->linesize[p] + (x >> sh),
                       k->tiles[i]->data[p] + (size_t)r * k->tiles[i]->linesize[p],
                       (size_t)(k->tw >> sh));
        }
    }
    rc = mf_video_jpeg_write(sheet, job->outdir, "contact-sheet.jpg", err);
    if (rc == 0)
        mf_result_add_output(out, "contact-sheet.jpg");
    av_frame_free(&sheet);
    return rc;
}

int mf_video_keyframes(mf_video_input *in, int vidx, const mf_lane_job *job, double share,
                       mf_result *out, mf_err *err)
{
    const AVCodecParameters *par = in->fmt->streams[vidx]->codecpar;
    mf__kf k = {.in = in,
                .vidx = vidx,
                .last_pts = AV_NOPTS_VALUE,
                .meta = out->meta,
                .job = job,
                .share = share,
                .skip_last = -1.0};
    json_t *times = json_array();
    double secs = mf_video_stream_seconds(in, vidx);
    int64_t frames;
    char what[96];
    int dw, dh, rc;

    k.rot = mf_video_stream_rotation(in, vidx);
    mf_video_display_size(par->width, par->height, par->sample_aspect_ratio.num,
                          par->sample_aspect_ratio.den, k.rot, &dw, &dh);
    mf_video_fit_even(dw, dh, MF_VIDEO_KF_WIDTH, 4 * MF_VIDEO_KF_WIDTH, &k.tw, &k.th);
    if (dw >= dh)
        mf_video_fit_even(dw, dh, MF_VIDEO_TC_LONG, MF_VIDEO_TC_SHORT, &k.pw, &k.ph);
    else
        mf_video_fit_even(dw, dh, MF_VIDEO_TC_SHORT, MF_VIDEO_TC_LONG, &k.pw, &k.ph);
    rc = mf_video_decoder_open(in, vidx, 1, &k.dec, err);
    if (rc == 0)
        rc = mf__kf_collect(&k, err);
    /* Too few keyframes for the pictures wanted, in a stream that has more pictures. */
    frames = mf__kf_frames(&k);
    if (rc == 0 && k.n < MF_VIDEO_KEYFRAMES && secs > 0 && (frames < 0 || frames > k.n))
        rc = mf__kf_by_time(&k, secs, err);
    if (rc == 0)
        rc = mf__kf_write(&k, job, out, err);
    if (rc == 0 && k.n > 0)
        rc = mf__kf_sheet(&k, job, out, err);
    if (rc < 0) {
        mf_video_stream_what(in, vidx, what, sizeof(what));
        if (strncmp(err->msg, what, strlen(what)) == 0) /* the decoder named it already */
            mf_video_err_prefix(err, "keyframes of ");
        else
            mf_video_err_prefix(err, "keyframes of %s: ", what);
        goto out;
    }
    for (int i = 0; i < k.n; i++)
        json_array_append_new(times, k.times[i] >= 0 ? json_real(round(k.times[i] * 1000) / 1000)
                                                     : json_null());
    json_object_set(out->meta, "keyframes_s", times);
    json_object_set_new(out->meta, "keyframes_by", json_string(k.by_time ? "time" : "keyframe"));
    /* A video stream that gives no picture at all fails the job: a result without one would
     * look done and show nothing. */
    if (k.n == 0)
        rc = mf_err_set(err, MF_ECORRUPT,
                        "%s: no picture could be decoded for keyframes or a poster%s%s",
                        mf_video_stream_what(in, vidx, what, sizeof(what)),
                        k.why[0] != '\0' ? ": " : "", k.why);
out:
    /* Leave the demuxer at the start for whoever reads the file next. */
    mf_video_rewind(in);
    json_decref(times);
    mf__kf_reset(&k);
    sws_freeContext(k.sws);
    avcodec_free_context(&k.dec);
    return rc;
}
