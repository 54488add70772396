/* MP4 outputs (video-720p.mp4, audio.m4a) are written the same way: to a dot-name in the outdir
 * with the index first (+faststart, so a player starts before the whole file has arrived), and
 * renamed into place only when complete: a reader never sees half a file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "mf/fsutil.h"
#include "video.h"

int mf_video_mux_init(mf_video_mux *m, const char *outdir, const char *name, mf_err *err)
{
    char tmpname[64];
    int rc = 0;

    memset(m, 0, sizeof(*m));
    m->name = name;
    snprintf(tmpname, sizeof(tmpname), ".%s.tmp.%ld", name, (long)getpid());
    if (mf_fs_join(m->tmp, sizeof(m->tmp), outdir, tmpname) < 0 ||
        mf_fs_join(m->dst, sizeof(m->dst), outdir, name) < 0) {
        rc = mf_err_set(err, MF_EINVAL, "output path is too long");
        goto out;
    }
    rc = avformat_alloc_output_context2(&m->ofmt, NULL, "mp4", m->tmp);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avformat_alloc_output_context2()");
out:
    return rc < 0 ? rc : 0;
}

int mf_video_mux_start(mf_video_mux *m, mf_err *err)
{
    AVDictionary *mo = NULL;
    int rc = avio_open(&m->ofmt->pb, m->tmp, AVIO_FLAG_WRITE);

    if (rc < 0) {
        rc = mf_video_averr(err, rc, rc, "avio_open() of the output");
        goto out;
    }
    av_dict_set(&mo, "movflags", "+faststart", 0);
    rc = avformat_write_header(m->ofmt, &mo);
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "avformat_write_header()");
out:
    av_dict_free(&mo);
    return rc < 0 ? rc : 0;
}

int mf_video_mux_end(mf_video_mux *m, mf_err *err)
{
    int rc = av_write_trailer(m->ofmt);

    if (rc < 0) {
        rc = mf_video_averr(err, rc, rc, "av_write_trailer()");
        goto out;
    }
    if (avio_closep(&m->ofmt->pb) < 0)
        rc = mf_err_set(err, -EIO, "avio_closep() of the output failed");
out:
    return rc;
}

int mf_video_mux_commit(mf_video_mux *m, mf_result *out, mf_err *err)
{
    int rc = 0;

    if (rename(m->tmp, m->dst) < 0) {
        rc = mf_err_sys(err, -errno, "rename() of the output");
        goto out;
    }
    m->done = 1;
    mf_result_add_output(out, m->name);
out:
    return rc;
}

int mf_video_mux_finish(mf_video_mux *m, mf_result *out, mf_err *err)
{
    int rc = mf_video_mux_end(m, err);

    if (rc == 0)
        rc = mf_video_mux_commit(m, out, err);
    return rc;
}

void mf_video_mux_close(mf_video_mux *m)
{
    if (m->ofmt != NULL && m->ofmt->pb != NULL)
        avio_closep(&m->ofmt->pb);
    if (m->ofmt != NULL && !m->done)
        unlink(m->tmp);
    avformat_free_context(m->ofmt);
    m->ofmt = NULL;
}
