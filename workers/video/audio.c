/* AAC encoding shared by the transcode's audio and audio.m4a: decode, resample to the AAC encoder's
 * planar float, regroup into the encoder's 1024-sample frames through a FIFO, encode, mux. */
#include <errno.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>

#include "video.h"

struct mf_video_audio {
    int idx;
    AVCodecContext *dec, *enc;
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVStream *ost;
    AVFrame *frame, *conv;
    AVPacket *pkt;
    int64_t next_pts; /* in samples */
    int64_t start;    /* file start, AV_TIME_BASE units */
    int started;
    int64_t packets, bad, frames; /* packets fed, packets or frames skipped as damaged, decoded */
    char why[256];                /* the decoder's words for the last damaged one */
    int64_t gap_samples;          /* silence put where skipped packets were */
};

/* The input rate when AAC has it (it knows the 13 MPEG-4 rates), else 48 kHz. */
static int mf__audio_rate(const AVCodec *codec, int in_rate)
{
    for (const int *r = codec->supported_samplerates; r != NULL && *r != 0; r++)
        if (*r == in_rate)
            return in_rate;
    return 48000;
}

/* The input's layout when it is a plain one within max_channels; else the default layout of
 * as many channels as allowed (libswresample downmixes), mono or stereo for unusual ones. */
static void mf__audio_layout(mf_video_audio *a, int max_channels)
{
    const AVChannelLayout *in = &a->dec->ch_layout;
    int n = in->nb_channels < max_channels ? in->nb_channels : max_channels;

    if (in->order == AV_CHANNEL_ORDER_NATIVE && in->nb_channels <= max_channels)
        av_channel_layout_copy(&a->enc->ch_layout, in);
    else
        av_channel_layout_default(&a->enc->ch_layout, n > 2 ? 2 : n);
}

static int mf__audio_encoder(mf_video_audio *a, int bitrate, int max_channels,
                             AVFormatContext *ofmt, mf_err *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    int rc;

    if (codec == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "avcodec_find_encoder() failed: no aac encoder");
        goto out;
    }
    a->enc = avcodec_alloc_context3(codec);
    a->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->enc->sample_rate = mf__audio_rate(codec, a->dec->sample_rate);
    mf__audio_layout(a, max_channels);
    a->enc->bit_rate = bitrate;
    a->enc->time_base = (AVRational){1, a->enc->sample_rate};
    if (ofmt->oformat->flags & AVFMT_GLOBALHEADER)
        a->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    rc = avcodec_open2(a->enc, codec, NULL);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2(aac)");
        goto out;
    }
    a->ost = avformat_new_stream(ofmt, NULL);
    a->ost->time_base = a->enc->time_base;
    rc = avcodec_parameters_from_context(a->ost->codecpar, a->enc);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_parameters_from_context()");
out:
    return rc;
}

int mf_video_audio_new(mf_video_input *in, int aidx, int bitrate, int max_channels,
                       AVFormatContext *ofmt, mf_video_audio **out, mf_err *err)
{
    mf_video_audio *a = calloc(1, sizeof(*a));
    int rc;

    if (a == NULL)
        abort();
    a->idx = aidx;
    a->start = in->fmt->start_time != AV_NOPTS_VALUE ? in->fmt->start_time : 0;
    a->frame = av_frame_alloc();
    a->conv = av_frame_alloc();
    a->pkt = av_packet_alloc();
    rc = mf_video_decoder_open(in, aidx, 0, &a->dec, err);
    if (rc == 0 && a->dec->ch_layout.nb_channels <= 0)
        rc = mf_err_set(err, MF_ECORRUPT, "audio stream %d has no channel layout", aidx);
    if (rc == 0)
        rc = mf__audio_encoder(a, bitrate, max_channels, ofmt, err);
    if (rc < 0)
        goto out;
    rc = swr_alloc_set_opts2(&a->swr, &a->enc->ch_layout, a->enc->sample_fmt, a->enc->sample_rate,
                             &a->dec->ch_layout, a->dec->sample_fmt, a->dec->sample_rate, 0, NULL);
    if (rc >= 0)
        rc = swr_init(a->swr);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "swr_init()");
        goto out;
    }
    a->fifo = av_audio_fifo_alloc(a->enc->sample_fmt, a->enc->ch_layout.nb_channels,
                                  a->enc->frame_size * 4);
    rc = 0;
out:
    if (rc < 0) {
        mf_video_audio_free(a);
        a = NULL;
    }
    *out = a;
    return rc;
}

static int mf__audio_drain_enc(mf_video_audio *a, AVFormatContext *ofmt, mf_err *err)
{
    int rc = 0;

    while (rc == 0) {
        rc = avcodec_receive_packet(a->enc, a->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            rc = 0;
            break;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_packet(aac)");
            break;
        }
        a->pkt->stream_index = a->ost->index;
        av_packet_rescale_ts(a->pkt, a->enc->time_base, a->ost->time_base);
        rc = av_interleaved_write_frame(ofmt, a->pkt);
        if (rc < 0)
            rc = mf_video_averr(err, rc, rc, "av_interleaved_write_frame()");
    }
    return rc;
}

/* Encodes whole encoder frames from the FIFO; at the end (flush) the short rest too. */
static int mf__audio_encode(mf_video_audio *a, AVFormatContext *ofmt, int flush, mf_err *err)
{
    int fs = a->enc->frame_size, rc = 0;

    while (rc == 0 &&
           (av_audio_fifo_size(a->fifo) >= fs || (flush && av_audio_fifo_size(a->fifo) > 0))) {
        AVFrame *f = av_frame_alloc();

        f->nb_samples = FFMIN(fs, av_audio_fifo_size(a->fifo));
        f->format = a->enc->sample_fmt;
        f->sample_rate = a->enc->sample_rate;
        av_channel_layout_copy(&f->ch_layout, &a->enc->ch_layout);
        if (av_frame_get_buffer(f, 0) < 0)
            abort();
        av_audio_fifo_read(a->fifo, (void **)f->data, f->nb_samples);
        f->pts = a->next_pts;
        a->next_pts += f->nb_samples;
        rc = avcodec_send_frame(a->enc, f);
        av_frame_free(&f);
        rc = rc < 0 ? mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_frame(aac)")
                    : mf__audio_drain_enc(a, ofmt, err);
    }
    if (rc == 0 && flush) {
        avcodec_send_frame(a->enc, NULL);
        rc = mf__audio_drain_enc(a, ofmt, err);
    }
    return rc;
}

/* Resamples one decoded frame (NULL: what the resampler still holds) into the FIFO. */
static int mf__audio_resample(mf_video_audio *a, const AVFrame *in)
{
    int cap = swr_get_out_samples(a->swr, in ? in->nb_samples : 0);
    int n = 0;

    if (cap <= 0)
        goto out;
    av_frame_unref(a->conv);
    a->conv->nb_samples = cap;
    a->conv->format = a->enc->sample_fmt;
    av_channel_layout_copy(&a->conv->ch_layout, &a->enc->ch_layout);
    if (av_frame_get_buffer(a->conv, 0) < 0)
        abort();
    n = swr_convert(a->swr, a->conv->data, cap, in ? (const uint8_t **)in->extended_data : NULL,
                    in ? in->nb_samples : 0);
    if (n > 0)
        av_audio_fifo_write(a->fifo, (void **)a->conv->data, n);
out:
    return n < 0 ? n : 0;
}

/* Where the track starts relative to the video: both keep their offset from the file start. */
static void mf__audio_first(mf_video_audio *a, const AVFrame *f)
{
    AVRational sr = {1, a->enc->sample_rate};
    int64_t pts;

    if (!a->started && f->pts != AV_NOPTS_VALUE) {
        pts = av_rescale_q(f->pts, a->dec->pkt_timebase, sr) -
              av_rescale_q(a->start, AV_TIME_BASE_Q, sr);
        a->next_pts = pts > 0 ? pts : 0;
    }
    a->started = 1;
}

/* Silence in place of what skipped packets held, so the sound after them stays in step with the
 * picture (the ffmpeg CLI's aresample=async does the same): a frame that starts more than
 * MF__AUDIO_GAP_MS after the samples so far gets the gap filled first, a chunk at a time. */
#define MF__AUDIO_GAP_MS 20
#define MF__AUDIO_SILENCE_CHUNK 4096
static int mf__audio_gap(mf_video_audio *a, const AVFrame *f, AVFormatContext *ofmt, mf_err *err)
{
    AVRational sr = {1, a->enc->sample_rate};
    int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp, gap;
    uint8_t **buf = NULL;
    int rc = 0;

    if (!a->started || ts == AV_NOPTS_VALUE)
        goto out;
    gap = av_rescale_q(ts, a->dec->pkt_timebase, sr) - av_rescale_q(a->start, AV_TIME_BASE_Q, sr) -
          (a->next_pts + av_audio_fifo_size(a->fifo) + swr_get_delay(a->swr, a->enc->sample_rate));
    if (gap * 1000 <= (int64_t)MF__AUDIO_GAP_MS * a->enc->sample_rate)
        goto out;
    if (av_samples_alloc_array_and_samples(&buf, NULL, a->enc->ch_layout.nb_channels,
                                           MF__AUDIO_SILENCE_CHUNK, a->enc->sample_fmt, 0) < 0)
        abort();
    av_samples_set_silence(buf, 0, MF__AUDIO_SILENCE_CHUNK, a->enc->ch_layout.nb_channels,
                           a->enc->sample_fmt);
    a->gap_samples += gap;
    while (gap > 0 && rc == 0) {
        int n = gap < MF__AUDIO_SILENCE_CHUNK ? (int)gap : MF__AUDIO_SILENCE_CHUNK;

        if (av_audio_fifo_write(a->fifo, (void **)buf, n) < n)
            abort();
        gap -= n;
        rc = mf__audio_encode(a, ofmt, 0, err);
    }
out:
    if (buf != NULL)
        av_freep(&buf[0]);
    av_freep(&buf);
    return rc;
}

/* Every frame the decoder has ready, resampled into the FIFO and encoded. */
static int mf__audio_frames(mf_video_audio *a, AVFormatContext *ofmt, mf_err *err)
{
    int rc = 0;

    while (rc == 0) {
        rc = avcodec_receive_frame(a->dec, a->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            rc = 0;
            break;
        }
        if (rc == AVERROR(ENOMEM)) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_frame(audio)");
            break;
        }
        if (rc < 0) { /* a damaged frame: skipped, as the ffmpeg CLI does */
            a->bad++;
            mf_video_av_reason(rc, a->why, sizeof(a->why));
            rc = 0;
            continue;
        }
        a->frames++;
        rc = mf__audio_gap(a, a->frame, ofmt, err);
        mf__audio_first(a, a->frame);
        if (rc == 0) {
            rc = mf__audio_resample(a, a->frame);
            if (rc < 0)
                rc = mf_video_averr(err, rc, MF_ECORRUPT, "swr_convert()");
        }
        av_frame_unref(a->frame);
        if (rc == 0)
            rc = mf__audio_encode(a, ofmt, 0, err);
    }
    return rc;
}

int mf_video_audio_packet(mf_video_audio *a, const AVPacket *pkt, AVFormatContext *ofmt,
                          mf_err *err)
{
    int rc = avcodec_send_packet(a->dec, pkt);

    /* A damaged audio packet is dropped, as players and the ffmpeg CLI do, whatever the decoder
     * calls it (Vorbis says EINVAL for some): the rest of the track still plays. Only running
     * out of memory stops the job; a track that yields nothing at all is failed by
     * mf_video_audio_check(). */
    if (pkt != NULL)
        a->packets++;
    if (rc == AVERROR(ENOMEM)) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_packet(audio)");
        goto out;
    }
    if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR(EAGAIN) && pkt != NULL) {
        a->bad++;
        mf_video_av_reason(rc, a->why, sizeof(a->why));
    }
    rc = mf__audio_frames(a, ofmt, err);
    if (rc < 0 || pkt != NULL)
        goto out;
    rc = mf__audio_resample(a, NULL);
    rc = rc < 0 ? mf_video_averr(err, rc, MF_ECORRUPT, "swr_convert()")
                : mf__audio_encode(a, ofmt, 1, err);
out:
    return rc;
}

int mf_video_audio_check(const mf_video_audio *a, const mf_video_input *in, json_t *meta,
                         mf_err *err)
{
    char what[96];
    int rc = 0;

    mf_video_stream_what(in, a->idx, what, sizeof(what));
    if (a->packets > 0 && a->frames == 0)
        rc = mf_err_set(err, MF_ECORRUPT,
                        "%s: none of its %lld packets could be decoded (%lld refused by the "
                        "decoder: %s)",
                        what, (long long)a->packets, (long long)a->bad, a->why);
    else if (a->bad > 0)
        mf_video_warn(meta,
                      "%s: %lld of %lld packets damaged and skipped (%s), %.2f s of silence "
                      "in their place",
                      what, (long long)a->bad, (long long)a->packets, a->why,
                      (double)a->gap_samples / a->enc->sample_rate);
    return rc;
}

int64_t mf_video_audio_frames(const mf_video_audio *a)
{
    return a != NULL ? a->frames : 0;
}

void mf_video_audio_free(mf_video_audio *a)
{
    if (a == NULL)
        return;
    avcodec_free_context(&a->dec);
    avcodec_free_context(&a->enc);
    swr_free(&a->swr);
    if (a->fifo != NULL)
        av_audio_fifo_free(a->fifo);
    av_frame_free(&a->frame);
    av_frame_free(&a->conv);
    av_packet_free(&a->pkt);
    free(a);
}
