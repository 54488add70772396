/* Turning a decoded picture into the picture a viewer sees: scale to the display size (which
 * undoes a non-square SAR) and turn by the display matrix's right angle. There is no
 * libavfilter here (one dependency less), so the quarter turns are done on the planes. */
#include <stdlib.h>

#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "video.h"

static AVFrame *mf__frame_new(int w, int h, int pix_fmt)
{
    AVFrame *f = av_frame_alloc();

    if (f == NULL)
        abort();
    f->width = w;
    f->height = h;
    f->format = pix_fmt;
    if (av_frame_get_buffer(f, 0) < 0)
        abort(); /* allocation failure aborts (STYLE.md): sizes here are bounded by limits */
    return f;
}

/* One plane of pw x ph bytes turned clockwise by rot into dst (ph x pw for 90 and 270). */
static void mf__plane_turn(const uint8_t *s, int sls, int pw, int ph, uint8_t *d, int dls, int rot)
{
    if (rot == 90) {
        for (int dy = 0; dy < pw; dy++)
            for (int dx = 0; dx < ph; dx++)
                d[dy * dls + dx] = s[(ph - 1 - dx) * sls + dy];
    } else if (rot == 270) {
        for (int dy = 0; dy < pw; dy++)
            for (int dx = 0; dx < ph; dx++)
                d[dy * dls + dx] = s[dx * sls + (pw - 1 - dy)];
    } else {
        for (int dy = 0; dy < ph; dy++)
            for (int dx = 0; dx < pw; dx++)
                d[dy * dls + dx] = s[(ph - 1 - dy) * sls + (pw - 1 - dx)];
    }
}

static AVFrame *mf__frame_turn(const AVFrame *src, int rot)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(src->format);
    int swap = rot == 90 || rot == 270;
    AVFrame *dst = mf__frame_new(swap ? src->height : src->width, swap ? src->width : src->height,
                                 src->format);

    for (int p = 0; p < desc->nb_components && src->data[p] != NULL; p++) {
        int pw = p == 0 ? src->width : AV_CEIL_RSHIFT(src->width, desc->log2_chroma_w);
        int ph = p == 0 ? src->height : AV_CEIL_RSHIFT(src->height, desc->log2_chroma_h);

        mf__plane_turn(src->data[p], src->linesize[p], pw, ph, dst->data[p], dst->linesize[p], rot);
    }
    return dst;
}

/* A scaler for src -> sw x sh in pix_fmt, kept while those stay the same. Built by hand, not
 * with sws_getCachedContext(), to turn on swscale's slice threads (one per core), as the
 * ffmpeg CLI's scale filter does: scaling 1080p is a good part of a 720p transcode. */
static int mf__sws_get(struct SwsContext **sws, const AVFrame *src, int sw, int sh, int pix_fmt)
{
    int64_t v[6] = {0};
    int rc = 0;

    if (*sws != NULL) {
        av_opt_get_int(*sws, "srcw", 0, &v[0]);
        av_opt_get_int(*sws, "srch", 0, &v[1]);
        av_opt_get_int(*sws, "src_format", 0, &v[2]);
        av_opt_get_int(*sws, "dstw", 0, &v[3]);
        av_opt_get_int(*sws, "dsth", 0, &v[4]);
        av_opt_get_int(*sws, "dst_format", 0, &v[5]);
        if (v[0] == src->width && v[1] == src->height && v[2] == src->format && v[3] == sw &&
            v[4] == sh && v[5] == pix_fmt)
            goto out;
        sws_freeContext(*sws);
    }
    *sws = sws_alloc_context();
    av_opt_set_int(*sws, "srcw", src->width, 0);
    av_opt_set_int(*sws, "srch", src->height, 0);
    av_opt_set_int(*sws, "src_format", src->format, 0);
    av_opt_set_int(*sws, "dstw", sw, 0);
    av_opt_set_int(*sws, "dsth", sh, 0);
    av_opt_set_int(*sws, "dst_format", pix_fmt, 0);
    av_opt_set_int(*sws, "sws_flags", SWS_BICUBIC, 0);
    av_opt_set_int(*sws, "threads", mf_video_threads(), 0); /* 0: auto */
    rc = sws_init_context(*sws, NULL, NULL);
    if (rc < 0) {
        sws_freeContext(*sws);
        *sws = NULL;
    }
out:
    return rc;
}

int mf_video_frame_fit(const AVFrame *src, int ow, int oh, int rotation_cw, int pix_fmt,
                       int full_range, struct SwsContext **sws, AVFrame **dst, mf_err *err)
{
    int swap = rotation_cw == 90 || rotation_cw == 270;
    int sw = swap ? oh : ow, sh = swap ? ow : oh;
    AVFrame *tmp = NULL;
    int *inv, *table, src_range, dst_range, bri, con, sat;
    int rc;

    *dst = NULL;
    rc = mf__sws_get(sws, src, sw, sh, pix_fmt);
    if (rc < 0) {
        rc = mf_err_set(err, MF_EUNSUPPORTED, "sws_init_context() failed: cannot convert %s %dx%d",
                        av_get_pix_fmt_name(src->format), src->width, src->height);
        goto out;
    }
    /* Setting the details rebuilds swscale's tables: only when they change, not per frame. */
    if (sws_getColorspaceDetails(*sws, &inv, &src_range, &table, &dst_range, &bri, &con, &sat) >=
            0 &&
        (src_range != (src->color_range == AVCOL_RANGE_JPEG) || dst_range != full_range))
        sws_setColorspaceDetails(*sws, inv, src->color_range == AVCOL_RANGE_JPEG, table, full_range,
                                 bri, con, sat);
    tmp = mf__frame_new(sw, sh, pix_fmt);
    rc = sws_scale_frame(*sws, tmp, src);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "sws_scale_frame()");
        goto out;
    }
    rc = 0;
    if (rotation_cw != 0) {
        *dst = mf__frame_turn(tmp, rotation_cw);
        av_frame_free(&tmp);
    } else {
        *dst = tmp;
        tmp = NULL;
    }
    (*dst)->color_range = full_range ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    (*dst)->sample_aspect_ratio = (AVRational){1, 1};
    (*dst)->pts =
        src->best_effort_timestamp != AV_NOPTS_VALUE ? src->best_effort_timestamp : src->pts;
out:
    av_frame_free(&tmp);
    return rc;
}

double mf_video_frame_luma(const AVFrame *f)
{
    uint64_t sum = 0;

    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++)
            sum += f->data[0][y * f->linesize[0] + x];
    return f->width > 0 && f->height > 0 ? (double)sum / ((double)f->width * f->height) : 0.0;
}
