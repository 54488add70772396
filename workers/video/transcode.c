/* video-720p.mp4: H.264 (libx264) + AAC in MP4 with the index first (+faststart), at the
 * display size fitted into 1280x720 (or 720x1280 upright), never upscaled, with the SAR and a
 * right-angle rotation baked into the pixels so every player shows it the same way. Written
 * through mux.c: a reader never sees half a file. One demux pass feeds video, audio and the
 * subtitle writers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libswscale/swscale.h>

#include "mf/log.h"
#include "video.h"

typedef struct mf__tc {
    mf_video_input *in;
    int vidx, aidx, rot, ow, oh;
    int64_t last_pts, start; /* video pts and file start, in the stream's time base */
    AVCodecContext *dec, *enc;
    AVBufferRef *hwdev;    /* VAAPI device when that encoder runs */
    char hw_fallback[600]; /* "h264_vaapi: <why>" when the hardware encoder could not start */
    struct SwsContext *sws;
    mf_video_audio *audio;
    json_t *meta; /* the job's, for warnings */
    mf_video_mux mux;
    AVStream *vst;
    AVPacket *opkt;
    AVFrame *frame;
    int64_t step;               /* one frame at the average rate, in the stream's time base */
    int64_t pkt_first, pkt_end; /* span of the video packets as demuxed (stream time base) */
    mf_video_tc_seen seen;
    /* Where the loop is: seconds of the video done, of dur_s (-1: unknown). For progress. */
    double pos_s, dur_s;
    const mf_lane_job *job;
} mf__tc;

/* Fields every H.264 encoder shares; the caller opens it. */
static AVCodecContext *mf__tc_enc_alloc(mf__tc *t, const AVCodec *codec)
{
    const AVStream *ist = t->in->fmt->streams[t->vidx];
    AVCodecContext *enc = avcodec_alloc_context3(codec);

    if (enc == NULL)
        abort();
    enc->width = t->ow;
    enc->height = t->oh;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->sample_aspect_ratio = (AVRational){1, 1};
    enc->time_base = ist->time_base;
    enc->framerate = ist->avg_frame_rate.num > 0 ? ist->avg_frame_rate : ist->r_frame_rate;
    /* 0: x264's threads=auto, lookahead threads auto, as the ffmpeg CLI */
    enc->thread_count = mf_video_threads();
    if (t->mux.ofmt->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return enc;
}

/* VAAPI takes pictures in GPU surfaces: a device and a pool of yuv420p-backed surfaces that
 * mf__tc_picture() uploads each frame into. */
static int mf__tc_vaapi_frames(mf__tc *t, AVCodecContext *enc, mf_err *err)
{
    AVBufferRef *frames = NULL;
    AVHWFramesContext *fc;
    int rc = av_hwdevice_ctx_create(&t->hwdev, AV_HWDEVICE_TYPE_VAAPI, NULL, NULL, 0);

    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "av_hwdevice_ctx_create(vaapi)");
        goto out;
    }
    frames = av_hwframe_ctx_alloc(t->hwdev);
    fc = (AVHWFramesContext *)(void *)frames->data;
    fc->format = AV_PIX_FMT_VAAPI;
    fc->sw_format = AV_PIX_FMT_YUV420P;
    fc->width = t->ow;
    fc->height = t->oh;
    fc->initial_pool_size = 20;
    rc = av_hwframe_ctx_init(frames);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "av_hwframe_ctx_init(vaapi)");
        goto out;
    }
    enc->pix_fmt = AV_PIX_FMT_VAAPI;
    enc->hw_frames_ctx = av_buffer_ref(frames);
out:
    av_buffer_unref(&frames);
    return rc;
}

/* The hardware encoder named by opts->hw, opened into t->enc; an error says why not. */
static int mf__tc_hw_open(mf__tc *t, const mf_video_tc_opts *opts, const char *name, mf_err *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    AVDictionary *o = NULL;
    int rc = 0;

    if (codec == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "not in this FFmpeg build");
        goto out;
    }
    t->enc = mf__tc_enc_alloc(t, codec);
    if (strcmp(opts->hw, "vaapi") == 0) {
        rc = mf__tc_vaapi_frames(t, t->enc, err);
        av_dict_set(&o, "rc_mode", "CQP", 0);
        t->enc->global_quality = opts->crf;
    } else {
        av_dict_set_int(&o, "cq", opts->crf, 0); /* nvenc's constant quality, like x264's crf */
    }
    if (rc < 0)
        goto out;
    rc = avcodec_open2(t->enc, codec, &o);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2()");
out:
    if (rc < 0) {
        avcodec_free_context(&t->enc);
        av_buffer_unref(&t->hwdev);
    }
    av_dict_free(&o);
    return rc;
}

static int mf__tc_x264_open(mf__tc *t, const mf_video_tc_opts *opts, mf_err *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    AVDictionary *o = NULL;
    int rc;

    if (codec == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "avcodec_find_encoder_by_name() failed: no libx264");
        goto out;
    }
    t->enc = mf__tc_enc_alloc(t, codec);
    av_dict_set(&o, "preset", opts->preset, 0);
    av_dict_set_int(&o, "crf", opts->crf, 0);
    rc = avcodec_open2(t->enc, codec, &o);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2(libx264)");
out:
    av_dict_free(&o);
    return rc;
}

/* The hardware encoder when one is asked for and starts; else libx264, with the reason kept
 * for meta.transcode.hw_fallback and the log: a fallback is never silent. */
static int mf__tc_encoder(mf__tc *t, const mf_video_tc_opts *opts, mf_err *err)
{
    char name[32], q[1300];
    mf_err hwerr = {0};
    int rc = -1;

    if (opts->hw != NULL && opts->hw[0] != '\0' && strcmp(opts->hw, "none") != 0) {
        snprintf(name, sizeof(name), "h264_%s", opts->hw);
        rc = mf__tc_hw_open(t, opts, name, &hwerr);
        if (rc < 0) {
            snprintf(t->hw_fallback, sizeof(t->hw_fallback), "%s: %s", name, hwerr.msg);
            mf_log(MF_LOG_WARN, "msg=\"hardware encoder unavailable, using libx264\" reason=%s",
                   mf_log_quote(q, sizeof(q), t->hw_fallback));
        }
    }
    if (rc < 0)
        rc = mf__tc_x264_open(t, opts, err);
    if (rc < 0)
        goto out;
    t->vst = avformat_new_stream(t->mux.ofmt, NULL);
    rc = avcodec_parameters_from_context(t->vst->codecpar, t->enc);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_parameters_from_context()");
    t->vst->time_base = t->enc->time_base;
out:
    return rc;
}

static int mf__tc_drain(mf__tc *t, mf_err *err)
{
    int rc = 0;

    while (rc == 0) {
        rc = avcodec_receive_packet(t->enc, t->opkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            rc = 0;
            break;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_packet(video encoder)");
            break;
        }
        t->opkt->stream_index = t->vst->index;
        if (t->opkt->duration <= 0 && t->enc->framerate.num > 0) /* else the last frame has none */
            t->opkt->duration = av_rescale_q(1, av_inv_q(t->enc->framerate), t->enc->time_base);
        av_packet_rescale_ts(t->opkt, t->enc->time_base, t->vst->time_base);
        rc = av_interleaved_write_frame(t->mux.ofmt, t->opkt);
        if (rc < 0)
            rc = mf_video_averr(err, rc, rc, "av_interleaved_write_frame()");
    }
    return rc;
}

/* Replaces *pic by a GPU surface holding the same picture (VAAPI). */
static int mf__tc_upload(mf__tc *t, AVFrame **pic, mf_err *err)
{
    AVFrame *hw = av_frame_alloc();
    int rc = av_hwframe_get_buffer(t->enc->hw_frames_ctx, hw, 0);

    if (rc == 0)
        rc = av_hwframe_transfer_data(hw, *pic, 0);
    if (rc == 0)
        rc = av_frame_copy_props(hw, *pic);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "av_hwframe_transfer_data()");
        av_frame_free(&hw);
        goto out;
    }
    av_frame_free(pic);
    *pic = hw;
out:
    return rc;
}

/* One decoded picture: to display size and upright, then to the encoder with a timestamp
 * from 0 that only grows (x264 refuses equal ones, which broken files do carry). */
static int mf__tc_picture(mf__tc *t, const AVFrame *frame, mf_err *err)
{
    AVFrame *pic = NULL;
    int rc =
        mf_video_frame_fit(frame, t->ow, t->oh, t->rot, AV_PIX_FMT_YUV420P, 0, &t->sws, &pic, err);

    if (rc < 0)
        goto out;
    /* A picture without a timestamp, or with one not after the previous picture's (x264 refuses
     * those), is placed one frame on: a tick on would squeeze the clip (25 untimed frames of
     * a 1 s clip played in 0.07 s). */
    if (pic->pts == AV_NOPTS_VALUE)
        pic->pts = t->last_pts < 0 ? 0 : t->last_pts + t->step;
    else
        pic->pts -= t->start;
    if (pic->pts <= t->last_pts)
        pic->pts = t->last_pts + t->step;
    t->last_pts = pic->pts;
    t->seen.frames++;
    t->pos_s = (double)pic->pts * av_q2d(t->enc->time_base);
    /* the pictures before the transcode were the first MF_VIDEO_PROGRESS_KF of the job */
    if (t->dur_s > 0)
        mf_lane_progress(t->job,
                         MF_VIDEO_PROGRESS_KF + (1 - MF_VIDEO_PROGRESS_KF) * t->pos_s / t->dur_s);
    pic->pict_type = AV_PICTURE_TYPE_NONE;
    if (t->enc->hw_frames_ctx != NULL) {
        rc = mf__tc_upload(t, &pic, err);
        if (rc < 0)
            goto out;
    }
    rc = avcodec_send_frame(t->enc, pic);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_frame(video encoder)");
        goto out;
    }
    rc = mf__tc_drain(t, err);
out:
    av_frame_free(&pic);
    return rc;
}

/* The span of the video packets as the demuxer gives them: the input's length to judge the
 * output by, whatever the decoder and encoder later make of the timestamps. */
static void mf__tc_span(mf__tc *t, const AVPacket *pkt)
{
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;

    if (ts == AV_NOPTS_VALUE)
        return;
    if (t->pkt_first == AV_NOPTS_VALUE || ts < t->pkt_first)
        t->pkt_first = ts;
    if (t->pkt_end == AV_NOPTS_VALUE || ts + (pkt->duration > 0 ? pkt->duration : 0) > t->pkt_end)
        t->pkt_end = ts + (pkt->duration > 0 ? pkt->duration : 0);
}

/* A video packet, or NULL to flush decoder and encoder. Damaged packets are skipped, whatever
 * the decoder calls them, and counted; only running out of memory stops here. A stream that
 * gives no picture at all is failed by the output check. */
static int mf__tc_video(mf__tc *t, const AVPacket *pkt, mf_err *err)
{
    int rc = avcodec_send_packet(t->dec, pkt);

    if (rc == AVERROR(ENOMEM)) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_packet()");
        goto out;
    }
    if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR(EAGAIN) && pkt != NULL) {
        t->seen.bad_packets++;
        mf_video_av_reason(rc, t->seen.why, sizeof(t->seen.why));
    }
    for (rc = 0; rc == 0;) {
        rc = avcodec_receive_frame(t->dec, t->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            rc = 1;
            continue;
        }
        if (rc == AVERROR(ENOMEM)) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_frame()");
            goto out;
        }
        if (rc < 0) {
            t->seen.bad_packets++;
            mf_video_av_reason(rc, t->seen.why, sizeof(t->seen.why));
            rc = 1;
            continue;
        }
        rc = mf__tc_picture(t, t->frame, err);
        av_frame_unref(t->frame);
    }
    rc = rc < 0 ? rc : 0;
    if (rc == 0 && pkt == NULL) {
        avcodec_send_frame(t->enc, NULL);
        rc = mf__tc_drain(t, err);
    }
out:
    return rc;
}

static int mf__tc_stream_err(const mf__tc *t, int idx, mf_err *err)
{
    char what[96];

    return mf_video_err_prefix(err, "%s: ", mf_video_stream_what(t->in, idx, what, sizeof(what)));
}

static int mf__tc_loop(mf__tc *t, mf_video_subs *subs, mf_err *err)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;

    while (rc == 0) {
        if (mf_video_expired(t->in->lim)) {
            rc = mf_err_set(err, MF_ETIMEOUT, "transcode interrupted: the job's time limit passed");
            break;
        }
        rc = av_read_frame(t->in->fmt, pkt);
        if (rc == AVERROR_EOF) {
            rc = 0;
            break;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_read_frame()");
            break;
        }
        mf_video_note_end(t->in, pkt, &t->seen.end_s);
        if (pkt->stream_index == t->vidx) {
            mf__tc_span(t, pkt);
            rc = mf__tc_video(t, pkt, err);
            if (rc < 0)
                mf__tc_stream_err(t, t->vidx, err);
        } else if (pkt->stream_index == t->aidx && t->audio != NULL) {
            rc = mf_video_audio_packet(t->audio, pkt, t->mux.ofmt, err);
            if (rc < 0)
                mf__tc_stream_err(t, t->aidx, err);
        } else if (subs != NULL) {
            rc = mf_video_subs_packet(subs, pkt, err);
        }
        av_packet_unref(pkt);
    }
    if (rc == 0) {
        rc = mf__tc_video(t, NULL, err);
        if (rc < 0)
            mf__tc_stream_err(t, t->vidx, err);
    }
    if (rc == 0 && t->audio != NULL) {
        rc = mf_video_audio_packet(t->audio, NULL, t->mux.ofmt, err);
        if (rc < 0)
            mf__tc_stream_err(t, t->aidx, err);
    }
    if (rc == 0 && t->audio != NULL)
        rc = mf_video_audio_check(t->audio, t->in, t->meta, err);
    av_packet_free(&pkt);
    return rc;
}

static void mf__tc_size(mf__tc *t)
{
    const AVCodecParameters *par = t->in->fmt->streams[t->vidx]->codecpar;
    int dw, dh;

    mf_video_display_size(par->width, par->height, par->sample_aspect_ratio.num,
                          par->sample_aspect_ratio.den, t->rot, &dw, &dh);
    if (dw >= dh)
        mf_video_fit_even(dw, dh, MF_VIDEO_TC_LONG, MF_VIDEO_TC_SHORT, &t->ow, &t->oh);
    else
        mf_video_fit_even(dw, dh, MF_VIDEO_TC_SHORT, MF_VIDEO_TC_LONG, &t->ow, &t->oh);
}

/* Encoders, decoder and the output's header. */
static int mf__tc_open(mf__tc *t, const mf_video_tc_opts *opts, mf_err *err)
{
    int rc = mf__tc_encoder(t, opts, err);

    if (rc == 0 && t->aidx >= 0)
        rc =
            mf_video_audio_new(t->in, t->aidx, opts->audio_bitrate, 8, t->mux.ofmt, &t->audio, err);
    if (rc == 0)
        rc = mf_video_decoder_open(t->in, t->vidx, 0, &t->dec, err);
    if (rc == 0)
        rc = mf_video_mux_start(&t->mux, err);
    return rc;
}

/* What the output is judged by (check.c): the input video's length as the span of its packets
 * (what a player plays), else from the headers. */
static void mf__tc_seen(mf__tc *t)
{
    const AVStream *ist = t->in->fmt->streams[t->vidx];

    t->seen.vidx = t->vidx;
    /* A file cut before its first sound has an audio stream and nothing in it to carry over. */
    t->seen.aidx = mf_video_audio_frames(t->audio) > 0 ? t->aidx : -1;
    if (t->pkt_first != AV_NOPTS_VALUE && t->pkt_end > t->pkt_first)
        t->seen.in_s = (double)(t->pkt_end - t->pkt_first) * av_q2d(ist->time_base);
    else
        t->seen.in_s = mf_video_stream_seconds(t->in, t->vidx);
}

/* The written file, checked (check.c) before it takes its name. */
static int mf__tc_finish(mf__tc *t, mf_result *out, json_t *m, mf_err *err)
{
    int rc = mf_video_mux_end(&t->mux, err);

    mf__tc_seen(t);
    if (rc == 0)
        rc = mf_video_check_whole(t->in, &t->seen, err);
    if (rc == 0)
        rc = mf_video_check_output(t->mux.tmp, t->in, &t->seen, m, err);
    if (rc == 0)
        rc = mf_video_mux_commit(&t->mux, out, err);
    if (rc == 0 && t->seen.bad_packets > 0) {
        char what[96];

        mf_video_warn(out->meta, "%s: %lld damaged packets or frames skipped (%s)",
                      mf_video_stream_what(t->in, t->vidx, what, sizeof(what)),
                      (long long)t->seen.bad_packets, t->seen.why);
    }
    return rc;
}

int mf_video_transcode(mf_video_input *in, int vidx, const mf_video_tc_opts *opts,
                       mf_video_subs *subs, const mf_lane_job *job, mf_result *out, mf_err *err)
{
    mf__tc t = {.in = in, .vidx = vidx, .last_pts = -1, .meta = out->meta, .job = job};
    json_t *m = json_object(), *desc;
    const AVStream *ist;
    AVRational fr;
    int rc;

    /* From the first packet (on failure, on from where the file is). First: it may replace
     * in->fmt's streams. */
    mf_video_rewind(in);
    ist = in->fmt->streams[vidx];
    fr = ist->avg_frame_rate.num > 0 ? ist->avg_frame_rate : ist->r_frame_rate;
    t.pkt_first = t.pkt_end = AV_NOPTS_VALUE;
    t.seen.end_s = -1.0;
    t.aidx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, vidx, NULL, 0);
    t.rot = mf_video_stream_rotation(in, vidx);
    t.dur_s = mf_video_stream_seconds(in, vidx);
    /* Every stream keeps its offset from the file start, as the ffmpeg CLI does. */
    t.start = in->fmt->start_time != AV_NOPTS_VALUE
                  ? av_rescale_q(in->fmt->start_time, AV_TIME_BASE_Q, ist->time_base)
                  : 0;
    t.step = fr.num > 0 && fr.den > 0 ? av_rescale_q(1, av_inv_q(fr), ist->time_base) : 1;
    if (t.step < 1)
        t.step = 1;
    t.opkt = av_packet_alloc();
    t.frame = av_frame_alloc();
    mf__tc_size(&t);
    rc = mf_video_mux_init(&t.mux, job->outdir, MF_VIDEO_TC_NAME, err);
    if (rc == 0)
        rc = mf__tc_open(&t, opts, err);
    if (rc == 0)
        rc = mf__tc_loop(&t, subs, err);
    if (rc == 0)
        rc = mf__tc_finish(&t, out, m, err);
    if (rc < 0) {
        mf_video_err_prefix(err, "transcode to %s: ", MF_VIDEO_TC_NAME);
        goto out;
    }
    desc =
        json_pack("{s:s, s:s, s:i, s:i, s:s, s:i}", "codec", "h264", "encoder", t.enc->codec->name,
                  "width", t.ow, "height", t.oh, "preset", opts->preset, "crf", opts->crf);
    json_object_update(m, desc);
    json_decref(desc);
    if (t.hw_fallback[0] != '\0')
        json_object_set_new(m, "hw_fallback", json_string(t.hw_fallback));
    json_object_set(out->meta, "transcode", m);
    mf_result_output_info(out, MF_VIDEO_TC_NAME, "width", json_integer(t.ow));
    mf_result_output_info(out, MF_VIDEO_TC_NAME, "height", json_integer(t.oh));
    mf_result_output_info(out, MF_VIDEO_TC_NAME, "duration_s",
                          json_deep_copy(json_object_get(m, "duration_s")));
out:
    json_decref(m);
    mf_video_mux_close(&t.mux);
    mf_video_audio_free(t.audio);
    avcodec_free_context(&t.dec);
    avcodec_free_context(&t.enc);
    av_buffer_unref(&t.hwdev);
    sws_freeContext(t.sws);
    av_frame_free(&t.frame);
    av_packet_free(&t.opkt);
    return rc;
}
