/* Embedded text subtitle tracks (subrip, ass/ssa, mov_text, webvtt, ...) to WebVTT, the one
 * format every browser plays: decode to libavcodec's ASS events, encode with its webvtt
 * encoder (which maps the styling), mux with the webvtt muxer into memory, write atomically.
 * Picture-based tracks (DVD, PGS) would need OCR: they are listed as skipped. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "mf/fsutil.h"
#include "video.h"

typedef struct mf__sub {
    int idx;
    char lang[16];
    AVCodecContext *dec, *enc;
    AVFormatContext *mux;
    int64_t bytes, cues;
} mf__sub;

struct mf_video_subs {
    mf__sub t[MF_VIDEO_MAX_STREAMS];
    int n;
    int64_t start; /* file start, AV_TIME_BASE units */
};

/* The language tag as a file-name part: [a-z0-9-] only, "und" when missing. */
static void mf__sub_lang(const AVStream *st, char *buf, size_t size)
{
    const AVDictionaryEntry *e = av_dict_get(st->metadata, "language", NULL, 0);
    size_t j = 0;

    for (const char *p = e ? e->value : ""; *p != '\0' && j + 1 < size; p++)
        if (isalnum((unsigned char)*p) || *p == '-')
            buf[j++] = (char)tolower((unsigned char)*p);
    buf[j] = '\0';
    if (j == 0)
        snprintf(buf, size, "und");
}

static int mf__sub_codecs(const mf_video_input *in, mf__sub *s, mf_err *err)
{
    const AVCodec *enc = avcodec_find_encoder(AV_CODEC_ID_WEBVTT);
    int rc = mf_video_decoder_open(in, s->idx, 0, &s->dec, err);

    if (rc < 0)
        goto out;
    if (enc == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "avcodec_find_encoder() failed: no webvtt encoder");
        goto out;
    }
    s->enc = avcodec_alloc_context3(enc);
    s->enc->time_base = (AVRational){1, 1000};
    if (s->dec->subtitle_header != NULL) {
        s->enc->subtitle_header = av_mallocz(s->dec->subtitle_header_size + 1);
        memcpy(s->enc->subtitle_header, s->dec->subtitle_header, s->dec->subtitle_header_size);
        s->enc->subtitle_header_size = s->dec->subtitle_header_size;
    }
    rc = avcodec_open2(s->enc, enc, NULL);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2(webvtt)");
        goto out;
    }
    rc = avformat_alloc_output_context2(&s->mux, NULL, "webvtt", NULL);
    if (rc >= 0) {
        AVStream *ost = avformat_new_stream(s->mux, NULL);

        ost->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
        ost->codecpar->codec_id = AV_CODEC_ID_WEBVTT;
        ost->time_base = (AVRational){1, 1000};
        rc = avio_open_dyn_buf(&s->mux->pb);
    }
    if (rc >= 0)
        rc = avformat_write_header(s->mux, NULL);
    rc = rc < 0 ? mf_video_averr(err, rc, MF_EUNSUPPORTED, "webvtt muxer") : 0;
out:
    return rc;
}

int mf_video_subs_new(const mf_video_input *in, mf_video_subs **out, json_t *meta, mf_err *err)
{
    mf_video_subs *subs = calloc(1, sizeof(*subs));
    json_t *skipped = json_array();
    int rc = 0;

    if (subs == NULL)
        abort();
    subs->start = in->fmt->start_time != AV_NOPTS_VALUE ? in->fmt->start_time : 0;
    for (unsigned i = 0; i < in->fmt->nb_streams && rc == 0; i++) {
        const AVStream *st = in->fmt->streams[i];
        const AVCodecDescriptor *d = avcodec_descriptor_get(st->codecpar->codec_id);

        if (st->codecpar->codec_type != AVMEDIA_TYPE_SUBTITLE)
            continue;
        if (d == NULL || !(d->props & AV_CODEC_PROP_TEXT_SUB) || subs->n >= MF_VIDEO_MAX_STREAMS) {
            json_array_append_new(skipped, json_pack("{s:i, s:s}", "stream", (int)i, "codec",
                                                     avcodec_get_name(st->codecpar->codec_id)));
            continue;
        }
        subs->t[subs->n].idx = (int)i;
        mf__sub_lang(st, subs->t[subs->n].lang, sizeof(subs->t[0].lang));
        rc = mf__sub_codecs(in, &subs->t[subs->n++], err);
    }
    if (json_array_size(skipped) > 0)
        json_object_set(meta, "subtitles_skipped", skipped);
    json_decref(skipped);
    if (rc < 0 || subs->n == 0) {
        mf_video_subs_free(subs);
        subs = NULL;
    }
    *out = subs;
    return rc;
}

/* One decoded event: times as the ffmpeg CLI computes them, relative to the file start. */
static int mf__sub_cue(mf_video_subs *subs, mf__sub *s, AVSubtitle *sub, mf_err *err)
{
    uint8_t buf[64 * 1024];
    AVPacket *pkt = av_packet_alloc();
    int n, rc = 0;

    if (sub->pts == AV_NOPTS_VALUE)
        goto out;
    sub->pts += av_rescale_q(sub->start_display_time, (AVRational){1, 1000}, AV_TIME_BASE_Q);
    sub->end_display_time -= sub->start_display_time;
    sub->start_display_time = 0;
    n = avcodec_encode_subtitle(s->enc, buf, sizeof(buf), sub);
    if (n <= 0 || s->bytes + n > MF_VIDEO_MAX_SUB_BYTES)
        goto out; /* an empty or oversized event; the track goes on */
    pkt->data = buf;
    pkt->size = n;
    pkt->pts = pkt->dts =
        av_rescale_q(sub->pts - subs->start, AV_TIME_BASE_Q, (AVRational){1, 1000});
    pkt->duration = sub->end_display_time;
    pkt->stream_index = 0;
    rc = av_write_frame(s->mux, pkt);
    rc = rc < 0 ? mf_video_averr(err, rc, MF_ECORRUPT, "av_write_frame(webvtt)") : 0;
    s->bytes += n;
    s->cues++;
out:
    pkt->data = NULL;
    pkt->size = 0;
    av_packet_free(&pkt);
    return rc;
}

int mf_video_subs_packet(mf_video_subs *subs, const AVPacket *pkt, mf_err *err)
{
    mf__sub *s = NULL;
    AVSubtitle sub;
    int got = 0, rc = 0;

    for (int i = 0; i < subs->n && s == NULL; i++)
        if (subs->t[i].idx == pkt->stream_index)
            s = &subs->t[i];
    if (s == NULL)
        goto out;
    /* A damaged event is dropped: one bad cue must not cost the whole transcode. */
    if (avcodec_decode_subtitle2(s->dec, &sub, &got, (AVPacket *)pkt) < 0 || !got)
        goto out;
    rc = mf__sub_cue(subs, s, &sub, err);
    avsubtitle_free(&sub);
out:
    return rc;
}

static int mf__sub_write(mf__sub *s, const char *name, const char *outdir, mf_err *err)
{
    uint8_t *buf = NULL;
    int len, rc = av_write_trailer(s->mux);

    len = avio_close_dyn_buf(s->mux->pb, &buf);
    s->mux->pb = NULL;
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_write_trailer(webvtt)");
    else
        rc = mf_fs_write_atomic(outdir, name, buf, (size_t)(len > 0 ? len : 0), err);
    av_free(buf);
    return rc;
}

int mf_video_subs_finish(mf_video_subs *subs, const char *outdir, mf_result *out, mf_err *err)
{
    json_t *list = json_array();
    int rc = 0;

    for (int i = 0; subs != NULL && i < subs->n && rc == 0; i++) {
        mf__sub *s = &subs->t[i];
        char name[64];
        int dup = 0;

        for (int j = 0; j < i; j++)
            dup |= strcmp(subs->t[j].lang, s->lang) == 0;
        if (dup)
            snprintf(name, sizeof(name), "subtitles-%s-%d.vtt", s->lang, s->idx);
        else
            snprintf(name, sizeof(name), "subtitles-%s.vtt", s->lang);
        rc = mf__sub_write(s, name, outdir, err);
        if (rc == 0) {
            mf_result_add_output(out, name);
            json_array_append_new(list,
                                  json_pack("{s:i, s:s, s:s, s:I}", "stream", s->idx, "language",
                                            s->lang, "file", name, "cues", (json_int_t)s->cues));
        }
    }
    if (json_array_size(list) > 0)
        json_object_set(out->meta, "subtitles", list);
    json_decref(list);
    return rc;
}

void mf_video_subs_free(mf_video_subs *subs)
{
    if (subs == NULL)
        return;
    for (int i = 0; i < subs->n; i++) {
        mf__sub *s = &subs->t[i];

        if (s->mux != NULL && s->mux->pb != NULL) {
            uint8_t *buf = NULL;

            avio_close_dyn_buf(s->mux->pb, &buf);
            av_free(buf);
        }
        avformat_free_context(s->mux);
        avcodec_free_context(&s->dec);
        avcodec_free_context(&s->enc);
    }
    free(subs);
}
