/* The transcode's output is opened again and judged as a user would before it takes its name:
 * a file that plays the wrong length, or has lost its picture, is a failure with the reason,
 * never `done`. Real files did both: a variable-frame-rate clip shortened by 1.4 s, an MPEG-4
 * Part 2 clip that came out as sound only, a lossless clip of 1 s that came out 0.07 s long. */
#include <math.h>
#include <stdio.h>

#include <libavformat/avformat.h>

#include "video.h"

/* How far the output's length may be from the input's: 0.25 s, or 5 % of a longer clip. */
#define MF__CHECK_ABS_S 0.25
#define MF__CHECK_REL 0.05

static double mf__st_seconds(const AVFormatContext *fmt, const AVStream *st)
{
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        return (double)st->duration * av_q2d(st->time_base);
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        return (double)fmt->duration / AV_TIME_BASE;
    return -1.0;
}

/* Frames the input's container counts (an MP4's sample table), or -1 when it does not say. A
 * rate times a length is no count: Matroska's rate is guessed from the first seconds, and a
 * screen recording at 1 fps then 60 fps would be judged wrong. */
static double mf__expected_frames(const mf_video_input *in, int vidx)
{
    const AVStream *st = in->fmt->streams[vidx];

    return st->nb_frames > 0 ? (double)st->nb_frames : -1.0;
}

/* Why an output came out short: damaged packets when there were some, else timestamps. The
 * executor runs one job at a time on one thread (mf/lane.h): a static buffer is enough. */
static const char *mf__check_cause(const mf_video_tc_seen *seen)
{
    static char buf[320];

    if (seen->bad_packets > 0)
        snprintf(buf, sizeof(buf), "%lld damaged packets were skipped (%s)",
                 (long long)seen->bad_packets, seen->why);
    else
        snprintf(buf, sizeof(buf), "the input's timestamps were not kept");
    return buf;
}

void mf_video_note_end(const mf_video_input *in, const AVPacket *pkt, double *end_s)
{
    const AVFormatContext *fmt = in->fmt;
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    double end;

    if (ts == AV_NOPTS_VALUE || pkt->stream_index < 0 ||
        (unsigned)pkt->stream_index >= fmt->nb_streams)
        return;
    end = (double)(ts + (pkt->duration > 0 ? pkt->duration : 0)) *
          av_q2d(fmt->streams[pkt->stream_index]->time_base);
    if (fmt->start_time != AV_NOPTS_VALUE)
        end -= (double)fmt->start_time / AV_TIME_BASE;
    if (end > *end_s)
        *end_s = end;
}

int mf_video_check_whole(const mf_video_input *in, const mf_video_tc_seen *seen, mf_err *err)
{
    const AVFormatContext *fmt = in->fmt;
    double decl, tol;

    if (fmt->duration == AV_NOPTS_VALUE || fmt->duration <= 0 || seen->end_s < 0 ||
        fmt->duration_estimation_method != AVFMT_DURATION_FROM_STREAM)
        return 0;
    decl = (double)fmt->duration / AV_TIME_BASE;
    tol = decl * MF__CHECK_REL > MF__CHECK_ABS_S ? decl * MF__CHECK_REL : MF__CHECK_ABS_S;
    if (decl - seen->end_s <= tol)
        return 0;
    return mf_err_set(err, MF_ECORRUPT,
                      "the file is cut short: its container says it lasts %.2f s, its streams "
                      "end at %.2f s (an upload or a recording that did not finish?)",
                      decl, seen->end_s);
}

int mf_video_check_nothing(const mf_video_input *in, const mf_video_tc_seen *seen, mf_err *err)
{
    char what[96];

    mf_video_stream_what(in, seen->vidx, what, sizeof(what));
    if (seen->bad_packets > 0)
        return mf_err_set(err, MF_ECORRUPT,
                          "%s: no picture could be decoded, %lld packets were refused by the "
                          "decoder: %s",
                          what, (long long)seen->bad_packets, seen->why);
    return mf_err_set(err, MF_ECORRUPT, "%s: the decoder gave no picture", what);
}

static int mf__check_video(const AVFormatContext *o, const AVStream *vst, const mf_video_input *in,
                           const mf_video_tc_seen *seen, mf_err *err)
{
    double out_s = mf__st_seconds(o, vst), tol, exp_frames;
    int64_t frames = vst->nb_frames;
    char what[96];
    int rc = 0;

    mf_video_stream_what(in, seen->vidx, what, sizeof(what));
    if (frames <= 0 && seen->frames <= 0) {
        rc = mf_video_check_nothing(in, seen, err);
        goto out;
    }
    if (frames <= 0) {
        rc = mf_err_set(err, MF_ECORRUPT,
                        "the output has no video frames, though %lld were decoded from the "
                        "input's %s",
                        (long long)seen->frames, what);
        goto out;
    }
    tol =
        seen->in_s * MF__CHECK_REL > MF__CHECK_ABS_S ? seen->in_s * MF__CHECK_REL : MF__CHECK_ABS_S;
    if (seen->in_s > 0 && out_s >= 0 && fabs(out_s - seen->in_s) > tol) {
        rc = mf_err_set(err, MF_ECORRUPT,
                        "the output lasts %.2f s, the input's %s %.2f s (more "
                        "than %.2f s apart): %s",
                        out_s, what, seen->in_s, tol, mf__check_cause(seen));
        goto out;
    }
    /* Fewer frames out than decoded is ours; far fewer than the container counts, with no
     * damaged packet to explain it, too. */
    exp_frames = mf__expected_frames(in, seen->vidx);
    if (frames + 2 < seen->frames)
        rc = mf_err_set(err, MF_ECORRUPT,
                        "the output has %lld frames, %lld were decoded from the input's %s",
                        (long long)frames, (long long)seen->frames, what);
    else if (seen->bad_packets == 0 && exp_frames >= 4 && (double)seen->frames < exp_frames / 2)
        /* the decoder ran out, not the encoder: the input has fewer pictures than it says */
        rc = mf_err_set(err, MF_ECORRUPT,
                        "the file is cut short: the input's %s ends after %lld of the %.0f "
                        "frames its container counts (an upload or a recording that did not "
                        "finish?)",
                        what, (long long)seen->frames, exp_frames);
    else if (seen->bad_packets == 0 && exp_frames >= 4 && (double)frames < exp_frames / 2)
        rc = mf_err_set(err, MF_ECORRUPT,
                        "the output has %lld frames where the input's %s has %.0f: %s",
                        (long long)frames, what, exp_frames, mf__check_cause(seen));
out:
    return rc;
}

int mf_video_check_output(const char *path, const mf_video_input *in, const mf_video_tc_seen *seen,
                          json_t *out_meta, mf_err *err)
{
    AVFormatContext *o = NULL;
    const AVStream *vst = NULL, *ast = NULL;
    char what[96];
    int rc = avformat_open_input(&o, path, NULL, NULL);

    if (rc >= 0)
        rc = avformat_find_stream_info(o, NULL);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT,
                            "the output as written cannot be read: "
                            "avformat_open_input()");
        goto out;
    }
    rc = 0;
    for (unsigned i = 0; i < o->nb_streams; i++) {
        if (o->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && vst == NULL)
            vst = o->streams[i];
        if (o->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && ast == NULL)
            ast = o->streams[i];
    }
    if (vst == NULL) {
        rc = mf_video_check_nothing(in, seen, err);
        goto out;
    }
    rc = mf__check_video(o, vst, in, seen, err);
    if (rc == 0 && seen->aidx >= 0 && ast == NULL)
        rc = mf_err_set(err, MF_ECORRUPT, "the output has no audio, the input's %s had some",
                        mf_video_stream_what(in, seen->aidx, what, sizeof(what)));
    if (rc == 0) {
        json_object_set_new(out_meta, "duration_s",
                            json_real(round(mf__st_seconds(o, vst) * 1000) / 1000));
        json_object_set_new(out_meta, "frames", json_integer(vst->nb_frames));
    }
out:
    avformat_close_input(&o);
    return rc;
}
