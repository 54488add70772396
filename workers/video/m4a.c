/* audio.m4a (profile "audio"): the best audio stream alone as AAC in MP4, at most stereo, for
 * players and podcast feeds that want sound only. Its own pass over the file: audio.c does the
 * decoding, resampling and encoding exactly as for the transcode's audio track, mux.c the
 * writing. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video.h"

/* Reads the whole file from its start, feeding the audio stream's packets to a; end_s: where
 * they end (mf_video_note_end). */
static int mf__m4a_read(mf_video_input *in, int aidx, mf_video_audio *a, AVFormatContext *ofmt,
                        double *end_s, mf_err *err)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;

    mf_video_rewind(in);
    while (rc == 0) {
        if (mf_video_expired(in->lim)) {
            rc = mf_err_set(err, MF_ETIMEOUT, "audio.m4a interrupted: the job's time limit passed");
            break;
        }
        rc = av_read_frame(in->fmt, pkt);
        if (rc == AVERROR_EOF) {
            rc = mf_video_audio_packet(a, NULL, ofmt, err);
            break;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_read_frame()");
            break;
        }
        if (pkt->stream_index == aidx) {
            mf_video_note_end(in, pkt, end_s);
            rc = mf_video_audio_packet(a, pkt, ofmt, err);
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return rc;
}

/* The pass with every other stream discarded (the demuxer drops their packets unparsed), the
 * streams' own settings put back afterwards for whatever reads the file next. */
static int mf__m4a_pass(mf_video_input *in, int aidx, mf_video_audio *a, AVFormatContext *ofmt,
                        double *end_s, mf_err *err)
{
    enum AVDiscard keep[MF_VIDEO_MAX_STREAMS];
    unsigned n =
        in->fmt->nb_streams < MF_VIDEO_MAX_STREAMS ? in->fmt->nb_streams : MF_VIDEO_MAX_STREAMS;
    int rc;

    for (unsigned i = 0; i < n; i++) {
        keep[i] = in->fmt->streams[i]->discard;
        in->fmt->streams[i]->discard = (int)i == aidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
    rc = mf__m4a_read(in, aidx, a, ofmt, end_s, err);
    for (unsigned i = 0; i < n; i++)
        in->fmt->streams[i]->discard = keep[i];
    return rc;
}

/* Whether the audio stream aidx is all the file holds (cover art aside): then the container's
 * length is the sound's, and a file cut short shows as sound that stops early. */
static int mf__m4a_sound_only(const mf_video_input *in, int aidx)
{
    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        const AVStream *st = in->fmt->streams[i];

        if ((int)i != aidx && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC) &&
            (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO ||
             st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO))
            return 0;
    }
    return 1;
}

int mf_video_m4a(mf_video_input *in, int bitrate, const mf_lane_job *job, mf_result *out,
                 mf_err *err)
{
    int aidx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    mf_video_tc_seen seen = {.end_s = -1.0};
    mf_video_audio *a = NULL;
    mf_video_mux mux = {0};
    const AVCodecParameters *par;
    int rc = 0;

    if (aidx < 0) {
        json_object_set_new(out->meta, "audio", json_pack("{s:s}", "skipped", "no audio stream"));
        goto out;
    }
    rc = mf_video_mux_init(&mux, job->outdir, MF_VIDEO_M4A_NAME, err);
    if (rc == 0)
        rc = mf_video_audio_new(in, aidx, bitrate, 2, mux.ofmt, &a, err);
    if (rc == 0)
        rc = mf_video_mux_start(&mux, err);
    if (rc == 0)
        rc = mf__m4a_pass(in, aidx, a, mux.ofmt, &seen.end_s, err);
    if (rc == 0 && mf__m4a_sound_only(in, aidx))
        rc = mf_video_check_whole(in, &seen, err);
    if (rc == 0)
        rc = mf_video_audio_check(a, in, out->meta, err);
    if (rc == 0)
        rc = mf_video_mux_finish(&mux, out, err);
    if (rc < 0) {
        mf_video_err_prefix(err, "%s: ", MF_VIDEO_M4A_NAME);
        goto out;
    }
    par = mux.ofmt->streams[0]->codecpar;
    json_object_set_new(out->meta, "audio",
                        json_pack("{s:s, s:i, s:i, s:I}", "codec", "aac", "channels",
                                  par->ch_layout.nb_channels, "sample_rate", par->sample_rate,
                                  "bitrate", (json_int_t)bitrate));
out:
    mf_video_audio_free(a);
    mf_video_mux_close(&mux);
    return rc;
}
