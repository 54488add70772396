/* Decoders for untrusted streams: bounded picture size and the job's threads. */
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "video.h"

int mf_video_decoder_open(const mf_video_input *in, int idx, int keyframes_only,
                          AVCodecContext **dec, mf_err *err)
{
    const AVStream *st = in->fmt->streams[idx];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    int rc = 0;

    *dec = NULL;
    if (codec == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "no decoder for %s in this FFmpeg build",
                        avcodec_get_name(st->codecpar->codec_id));
        goto out;
    }
    *dec = avcodec_alloc_context3(codec);
    if (*dec == NULL)
        abort();
    rc = avcodec_parameters_to_context(*dec, st->codecpar);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_parameters_to_context()");
        goto out;
    }
    (*dec)->pkt_timebase = st->time_base;
    /* A stream whose pictures grow past its header's size is refused by the decoder itself. */
    (*dec)->max_pixels = (int64_t)in->lim->max_width * in->lim->max_height;
    (*dec)->thread_count = mf_video_threads(); /* 0: one per core */
    if (keyframes_only) {
        (*dec)->thread_type = FF_THREAD_SLICE;
        (*dec)->skip_frame = AVDISCARD_NONKEY;
    }
    rc = avcodec_open2(*dec, codec, NULL);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2()");
out:
    if (rc < 0) {
        char what[96];

        mf_video_err_prefix(err, "%s: ", mf_video_stream_what(in, idx, what, sizeof(what)));
        avcodec_free_context(dec);
    }
    return rc;
}
