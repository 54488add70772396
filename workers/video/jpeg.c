/* JPEG through libavcodec's mjpeg encoder: already linked for the video, no libjpeg or vips
 * dependency for a few small previews. Encoded in memory, then written atomically. */
#include <libavcodec/avcodec.h>

#include "mf/fsutil.h"
#include "video.h"

/* mjpeg quantiser (2 best .. 31 worst): 3 looks like a typical quality-90 JPEG. */
#define MF__JPEG_Q 3

/* A JPEG we made decodes to a picture of the size we meant, or we say so instead of writing it. */
static int mf__jpeg_verify(const AVPacket *pkt, const AVFrame *f, const char *name, mf_err *err)
{
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *dec = codec != NULL ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *back = av_frame_alloc();
    int rc = dec != NULL ? avcodec_open2(dec, codec, NULL) : AVERROR_DECODER_NOT_FOUND;

    if (rc >= 0)
        rc = avcodec_send_packet(dec, pkt);
    if (rc >= 0)
        rc = avcodec_receive_frame(dec, back);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "decoding it back");
    else if (back->width != f->width || back->height != f->height)
        rc = mf_err_set(err, MF_ECORRUPT, "decoding it back gave %dx%d, not %dx%d", back->width,
                        back->height, f->width, f->height);
    if (rc < 0)
        mf_video_err_prefix(err, "%s as encoded is not a valid JPEG: ", name);
    av_frame_free(&back);
    avcodec_free_context(&dec);
    return rc < 0 ? rc : 0;
}

int mf_video_jpeg_write(const AVFrame *f, const char *outdir, const char *name, mf_err *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_clone(f);
    int rc;

    if (codec == NULL) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "avcodec_find_encoder() failed: no mjpeg encoder");
        goto out;
    }
    enc = avcodec_alloc_context3(codec);
    enc->width = f->width;
    enc->height = f->height;
    enc->pix_fmt = f->format;
    enc->color_range = AVCOL_RANGE_JPEG;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * MF__JPEG_Q;
    rc = avcodec_open2(enc, codec, NULL);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avcodec_open2(mjpeg)");
        goto out;
    }
    frame->quality = enc->global_quality;
    frame->pict_type = AV_PICTURE_TYPE_NONE;
    frame->pts = 0;
    rc = avcodec_send_frame(enc, frame);
    if (rc >= 0)
        rc = avcodec_receive_packet(enc, pkt);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_packet(mjpeg)");
        goto out;
    }
    rc = mf__jpeg_verify(pkt, f, name, err);
    if (rc == 0)
        rc = mf_fs_write_atomic(outdir, name, pkt->data, (size_t)pkt->size, err);
out:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return rc;
}
