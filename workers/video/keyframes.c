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

#include "video.h"

/* Packets read after a seek before giving up on finding a keyframe (broken key flags). */
#define MF__KF_MAX_PACKETS 2000
#define MF__SHEET_GAP 4

typedef struct mf__kf {
    mf_video_input *in;
    int vidx, rot;
    AVCodecContext *dec;
    struct SwsContext *sws, *sws_poster;
    AVFrame *tiles[MF_VIDEO_KEYFRAMES];
    double times[MF_VIDEO_KEYFRAMES];
    int n;
    int64_t last_pts;
    int poster_done;
    int tw, th; /* tile size */
    int pw, ph; /* poster size */
} mf__kf;

/* Reads from the current position to the next keyframe packet of the stream and decodes it.
 * Returns 1 with a frame, 0 at end of file, or an error. */
static int mf__kf_next(mf__kf *k, AVPacket *pkt, AVFrame *frame, mf_err *err)
{
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
    /* One packet, then drain: the picture comes out now, whatever the decoder's delay. */
    rc = avcodec_send_packet(k->dec, pkt);
    av_packet_unref(pkt);
    if (rc >= 0)
        rc = avcodec_send_packet(k->dec, NULL);
    if (rc >= 0)
        rc = avcodec_receive_frame(k->dec, frame);
    if (rc == AVERROR_EOF || rc == AVERROR_INVALIDDATA)
        rc = 0; /* a damaged keyframe: skip it, the next time may land on a good one */
    else if (rc < 0)
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_frame()");
    else
        rc = 1;
out:
    av_packet_unref(pkt);
    return rc;
}

static int mf__kf_poster(mf__kf *k, const AVFrame *frame, const mf_lane_job *job, mf_result *out,
                         mf_err *err)
{
    AVFrame *pic = NULL;
    int rc;

    rc = mf_video_frame_fit(frame, k->pw, k->ph, k->rot, AV_PIX_FMT_YUV420P, 1, &k->sws_poster,
                            &pic, err);
    if (rc == 0)
        rc = mf_video_jpeg_write(pic, job->outdir, "poster.jpg", err);
    if (rc == 0) {
        mf_result_add_output(out, "poster.jpg");
        k->poster_done = 1;
    }
    av_frame_free(&pic);
    return rc;
}

/* Keeps one decoded keyframe: tile, kf-NNNN.jpg, and the poster if it is the first that is
 * not near black. */
static int mf__kf_keep(mf__kf *k, const AVFrame *frame, const mf_lane_job *job, mf_result *out,
                       mf_err *err)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    int64_t pts = frame->best_effort_timestamp;
    AVFrame *tile = NULL;
    char name[32];
    int rc = 0;

    if (pts != AV_NOPTS_VALUE && pts == k->last_pts)
        goto out; /* the same keyframe as the previous time */
    k->last_pts = pts;
    rc =
        mf_video_frame_fit(frame, k->tw, k->th, k->rot, AV_PIX_FMT_YUV420P, 1, &k->sws, &tile, err);
    if (rc < 0)
        goto out;
    snprintf(name, sizeof(name), "kf-%04d.jpg", k->n + 1);
    rc = mf_video_jpeg_write(tile, job->outdir, name, err);
    if (rc < 0)
        goto out;
    mf_result_add_output(out, name);
    k->times[k->n] = pts != AV_NOPTS_VALUE
                         ? (pts - (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0)) *
                               av_q2d(st->time_base)
                         : -1.0;
    k->tiles[k->n++] = tile;
    tile = NULL;
    if (!k->poster_done && mf_video_frame_luma(k->tiles[k->n - 1]) >= MF_VIDEO_BLACK_LUMA)
        rc = mf__kf_poster(k, frame, job, out, err);
out:
    av_frame_free(&tile);
    return rc;
}

static int mf__kf_seek(mf__kf *k, int i)
{
    const AVStream *st = k->in->fmt->streams[k->vidx];
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    int64_t dur = st->duration;
    int rc = -1; /* unknown length: read on from where we are */

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

static int mf__kf_collect(mf__kf *k, const mf_lane_job *job, mf_result *out, mf_err *err)
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
            rc = mf__kf_keep(k, frame, job, out, err);
        av_frame_unref(frame);
    }
    /* All near black (a night scene, a fade): the first keyframe is as good as any. */
    if (rc >= 0 && !k->poster_done && k->n > 0) {
        rc = mf_video_jpeg_write(k->tiles[0], job->outdir, "poster.jpg", err);
        if (rc == 0)
            mf_result_add_output(out, "poster.jpg");
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    return rc < 0 ? rc : 0;
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

int mf_video_keyframes(mf_video_input *in, int vidx, const mf_lane_job *job, mf_result *out,
                       mf_err *err)
{
    const AVCodecParameters *par = in->fmt->streams[vidx]->codecpar;
    mf__kf k = {.in = in, .vidx = vidx, .last_pts = AV_NOPTS_VALUE};
    json_t *times = json_array();
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
    if (rc < 0)
        goto out;
    rc = mf__kf_collect(&k, job, out, err);
    if (rc == 0 && k.n > 0)
        rc = mf__kf_sheet(&k, job, out, err);
    for (int i = 0; i < k.n; i++)
        json_array_append_new(times, k.times[i] >= 0 ? json_real(round(k.times[i] * 1000) / 1000)
                                                     : json_null());
    json_object_set(out->meta, "keyframes_s", times);
    /* Leave the demuxer at the start for whoever reads the file next. */
    av_seek_frame(in->fmt, -1, in->fmt->start_time != AV_NOPTS_VALUE ? in->fmt->start_time : 0,
                  AVSEEK_FLAG_BACKWARD);
out:
    json_decref(times);
    for (int i = 0; i < k.n; i++)
        av_frame_free(&k.tiles[i]);
    sws_freeContext(k.sws);
    sws_freeContext(k.sws_poster);
    avcodec_free_context(&k.dec);
    return rc;
}
