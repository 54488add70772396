/* Probe -> meta: what a person or a script wants to know about a media file without opening
 * it: container, duration, bitrate, and per stream the codec and how it displays. Sizes are
 * as displayed (SAR and rotation applied), because that is what every player shows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "mf/utf8.h"
#include "video.h"

/* Tags are bytes from the file: keep them when they are UTF-8, else replace what is not with
 * U+FFFD (mf_utf8_clean) rather than drop the field. */
static json_t *mf__text(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : json_null();
    char *buf;
    size_t n;

    if (j == NULL) {
        buf = mf_utf8_clean(s, strlen(s), &n);
        j = json_stringn(buf, n);
        free(buf);
    }
    return j;
}

static void mf__set_tag(json_t *obj, const char *key, const AVDictionary *tags, const char *tag)
{
    const AVDictionaryEntry *e = av_dict_get(tags, tag, NULL, 0);

    if (e != NULL && e->value[0] != '\0')
        json_object_set_new(obj, key, mf__text(e->value));
}

static double mf__round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

int mf_video_stream_rotation(const mf_video_input *in, int idx)
{
    const uint8_t *m = NULL;

    if (idx >= 0 && (unsigned)idx < in->fmt->nb_streams)
        m = av_stream_get_side_data(in->fmt->streams[idx], AV_PKT_DATA_DISPLAYMATRIX, NULL);
    return m != NULL ? mf_video_rotation_cw(av_display_rotation_get((const int32_t *)m)) : 0;
}

int mf_video_best_video(const mf_video_input *in)
{
    int best = -1;
    int64_t best_area = -1;

    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        const AVStream *st = in->fmt->streams[i];
        int64_t area = (int64_t)st->codecpar->width * st->codecpar->height;

        /* Cover art in an mp3 or m4a is a video stream of one picture: not a video. */
        if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
            (st->disposition & AV_DISPOSITION_ATTACHED_PIC) || area <= 0)
            continue;
        if (area > best_area) {
            best = (int)i;
            best_area = area;
        }
    }
    return best;
}

static void mf__video_json(const mf_video_input *in, const AVStream *st, json_t *s)
{
    const AVCodecParameters *par = st->codecpar;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    int rot = mf_video_stream_rotation(in, st->index);
    int dw, dh;
    const char *pix = av_get_pix_fmt_name(par->format);

    mf_video_display_size(par->width, par->height, par->sample_aspect_ratio.num,
                          par->sample_aspect_ratio.den, rot, &dw, &dh);
    json_object_set_new(s, "width", json_integer(dw));
    json_object_set_new(s, "height", json_integer(dh));
    json_object_set_new(s, "coded_width", json_integer(par->width));
    json_object_set_new(s, "coded_height", json_integer(par->height));
    if (par->sample_aspect_ratio.num > 0 && par->sample_aspect_ratio.den > 0) {
        char sar[32];

        snprintf(sar, sizeof(sar), "%d:%d", par->sample_aspect_ratio.num,
                 par->sample_aspect_ratio.den);
        json_object_set_new(s, "sar", json_string(sar));
    }
    /* As ffprobe shows it (the display matrix, counter-clockwise, -90..180); we turn the
     * picture the other way. */
    json_object_set_new(s, "rotation", json_integer(rot == 270 ? 90 : rot == 90 ? -90 : rot));
    if (fr.num > 0 && fr.den > 0)
        json_object_set_new(s, "fps", json_real(mf__round3(av_q2d(fr))));
    if (pix != NULL)
        json_object_set_new(s, "pix_fmt", json_string(pix));
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
        json_object_set_new(s, "attached_pic", json_true());
}

static void mf__audio_json(const AVStream *st, json_t *s)
{
    const AVCodecParameters *par = st->codecpar;
    char layout[128];
    const char *fmt = av_get_sample_fmt_name(par->format);

    json_object_set_new(s, "channels", json_integer(par->ch_layout.nb_channels));
    if (av_channel_layout_describe(&par->ch_layout, layout, sizeof(layout)) > 0)
        json_object_set_new(s, "channel_layout", json_string(layout));
    json_object_set_new(s, "sample_rate", json_integer(par->sample_rate));
    if (fmt != NULL)
        json_object_set_new(s, "sample_fmt", json_string(fmt));
}

static json_t *mf__stream_json(const mf_video_input *in, const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    const char *type = av_get_media_type_string(par->codec_type);
    const char *profile = avcodec_profile_name(par->codec_id, par->profile);
    json_t *s = json_object();

    json_object_set_new(s, "index", json_integer(st->index));
    json_object_set_new(s, "type", json_string(type ? type : "unknown"));
    json_object_set_new(s, "codec", json_string(avcodec_get_name(par->codec_id)));
    if (profile != NULL)
        json_object_set_new(s, "profile", json_string(profile));
    if (par->bit_rate > 0)
        json_object_set_new(s, "bitrate", json_integer(par->bit_rate));
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        json_object_set_new(s, "duration_s",
                            json_real(mf__round3(st->duration * av_q2d(st->time_base))));
    if (par->codec_type == AVMEDIA_TYPE_VIDEO)
        mf__video_json(in, st, s);
    else if (par->codec_type == AVMEDIA_TYPE_AUDIO)
        mf__audio_json(st, s);
    mf__set_tag(s, "language", st->metadata, "language");
    mf__set_tag(s, "title", st->metadata, "title");
    if (st->disposition & AV_DISPOSITION_DEFAULT)
        json_object_set_new(s, "default", json_true());
    return s;
}

static void mf__location(const AVDictionary *tags, json_t *meta)
{
    static const char *const keys[] = {"location", "com.apple.quicktime.location.ISO6709",
                                       "location-eng", NULL};
    const AVDictionaryEntry *e = NULL;
    double lat, lon;

    for (size_t i = 0; keys[i] != NULL && e == NULL; i++)
        e = av_dict_get(tags, keys[i], NULL, 0);
    if (e == NULL)
        return;
    json_object_set_new(meta, "location", mf__text(e->value));
    if (mf_video_iso6709(e->value, &lat, &lon) == 0) {
        json_object_set_new(meta, "latitude", json_real(lat));
        json_object_set_new(meta, "longitude", json_real(lon));
    }
}

static void mf__tags(const AVFormatContext *fmt, json_t *meta)
{
    static const char *const keys[] = {
        "title", "artist", "album", "album_artist", "date", "genre", "comment", "encoder", NULL};
    json_t *tags = json_object();

    for (size_t i = 0; keys[i] != NULL; i++)
        mf__set_tag(tags, keys[i], fmt->metadata, keys[i]);
    if (json_object_size(tags) > 0)
        json_object_set(meta, "tags", tags);
    json_decref(tags);
    mf__set_tag(meta, "creation_time", fmt->metadata, "creation_time");
    for (unsigned i = 0; i < fmt->nb_streams && !json_object_get(meta, "creation_time"); i++)
        mf__set_tag(meta, "creation_time", fmt->streams[i]->metadata, "creation_time");
    mf__location(fmt->metadata, meta);
}

void mf_video_probe(const mf_video_input *in, json_t *meta)
{
    const AVFormatContext *fmt = in->fmt;
    json_t *streams = json_array();

    json_object_set_new(meta, "container", json_string(fmt->iformat->name));
    if (fmt->iformat->long_name != NULL)
        json_object_set_new(meta, "container_long", json_string(fmt->iformat->long_name));
    json_object_set_new(meta, "duration_s",
                        fmt->duration != AV_NOPTS_VALUE
                            ? json_real(mf__round3((double)fmt->duration / AV_TIME_BASE))
                            : json_null());
    if (fmt->bit_rate > 0)
        json_object_set_new(meta, "bitrate", json_integer(fmt->bit_rate));
    json_object_set_new(meta, "size", json_integer(in->size));
    mf__tags(fmt, meta);
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        json_array_append_new(streams, mf__stream_json(in, fmt->streams[i]));
    json_object_set_new(meta, "streams", streams);
}
