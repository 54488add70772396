/* The video lane: probe every file; for a file with a picture stream also keyframes, poster,
 * contact sheet, the 720p transcode and its text subtitles. Audio-only files (and video files
 * whose only picture is cover art) are probed and done. Profile "captions" adds captions.vtt
 * (speech to text) to either kind; profile "audio" adds audio.m4a (the sound alone, AAC). */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "mf/clock.h"
#include "mf/log.h"
#include "video.h"

/* What each profile makes; a profile not listed gets the first row. "preview" is probe,
 * keyframes, poster and contact sheet only: the quick look (and bench/video.sh's keyframe
 * timing). "captions" is the default plus captions.vtt. "audio" is the quick look plus audio.m4a
 * (AAC at tc.audio_bitrate, at most stereo), for audio-only files too. */
typedef struct mf__profile {
    const char *name;
    int transcode; /* video-720p.mp4 and subtitles */
    int captions;  /* captions.vtt (speech to text), also for audio-only files */
    int m4a;       /* audio.m4a, also for audio-only files */
    mf_video_tc_opts tc;
} mf__profile;

static const mf__profile mf__profiles[] = {
    {"default", 1, 0, 0, {"veryfast", 23, 128000, NULL}},
    {"preview", 0, 0, 0, {"veryfast", 23, 128000, NULL}},
    {"captions", 1, 1, 0, {"veryfast", 23, 128000, NULL}},
    {"audio", 0, 0, 1, {"veryfast", 23, 128000, NULL}},
};

static int64_t mf__timeout_s;
static char mf__hw[16];     /* config video_hw_encoder */
static int mf__threads_cfg; /* config video_threads */
static int mf__threads;     /* this job's */

int mf_video_threads_pick(int configured, int cpus, int running)
{
    int idle;

    if (configured > 0)
        return configured;
    idle = cpus - (running > 1 ? running - 1 : 0);
    if (idle >= cpus)
        return 0;
    return idle > 1 ? idle : 1;
}

int mf_video_threads(void)
{
    return mf__threads;
}

/* In a fleet whose other workers keep the cores busy, a job's frame and slice threads only
 * add their overhead (measured on 3 clips of 4 s 1080p H.264, whole lane: 10.7 s of CPU with
 * threads, 8.9 s with one), so the count is decided per job from the runnable tasks of the
 * moment. */
static int mf__threads_now(void)
{
    int running = 1, total = 0;
    cpu_set_t set;
    int cpus = 1;
    FILE *f;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        cpus = CPU_COUNT(&set);
    f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%*f %*f %*f %d/%d", &running, &total) != 2)
            running = 1;
        fclose(f);
    }
    return mf_video_threads_pick(mf__threads_cfg, cpus, running);
}

/* FFmpeg's own messages go through our logfmt logger, one line each, at our level. */
static void mf__av_log(void *avcl, int level, const char *fmt, va_list vl)
{
    static int print_prefix = 1;
    char line[1024], q[1100];
    size_t n;

    if (level > av_log_get_level())
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n > 0 && level <= AV_LOG_ERROR)
        mf_video_note_av_error(line);
    if (n > 0)
        mf_log(level <= AV_LOG_ERROR ? MF_LOG_WARN : MF_LOG_DEBUG, "lib=ffmpeg msg=%s",
               mf_log_quote(q, sizeof(q), line));
}

static int mf__video_init(const mf_config *cfg, mf_err *err)
{
    const char *hw = cfg->video_hw_encoder != NULL ? cfg->video_hw_encoder : "none";
    int rc = 0;

    if (strcmp(hw, "none") != 0 && strcmp(hw, "vaapi") != 0 && strcmp(hw, "nvenc") != 0) {
        rc = mf_err_set(err, MF_ECONFIG, "video_hw_encoder = '%s': use none, vaapi or nvenc", hw);
        goto out;
    }
    snprintf(mf__hw, sizeof(mf__hw), "%s", hw);
    mf__threads_cfg = (int)cfg->video_threads;
    mf__timeout_s = cfg->lane_timeout[MF_LANE_video];
    /* Errors reach the user through err; FFmpeg's chatter about damaged input is for debugging. */
    av_log_set_level(mf__log_level <= MF_LOG_DEBUG ? AV_LOG_WARNING : AV_LOG_ERROR);
    av_log_set_callback(mf__av_log);
out:
    return rc;
}

static const mf__profile *mf__profile_get(const char *name)
{
    for (size_t i = 0; i < sizeof(mf__profiles) / sizeof(mf__profiles[0]); i++)
        if (name != NULL && strcmp(mf__profiles[i].name, name) == 0)
            return &mf__profiles[i];
    return &mf__profiles[0];
}

/* Everything that needs a picture stream. Subtitles ride along the transcode's demux pass. */
static int mf__video_outputs(mf_video_input *in, int vidx, const mf_lane_job *job, mf_result *out,
                             mf_err *err)
{
    const mf__profile *prof = mf__profile_get(job->profile);
    mf_video_tc_opts tc;
    mf_video_subs *subs = NULL;
    int rc =
        mf_video_keyframes(in, vidx, job, prof->transcode ? MF_VIDEO_PROGRESS_KF : 1.0, out, err);

    if (rc < 0 || !prof->transcode)
        goto out;
    mf_lane_progress(job, MF_VIDEO_PROGRESS_KF);
    rc = mf_video_subs_new(in, &subs, out->meta, err);
    if (rc < 0)
        goto out;
    tc = prof->tc;
    tc.hw = mf__hw;
    rc = mf_video_transcode(in, vidx, &tc, subs, job, out, err);
    if (rc == 0 && subs != NULL)
        rc = mf_video_subs_finish(subs, job->outdir, out, err);
out:
    mf_video_subs_free(subs);
    return rc;
}

static int mf__video_process(const mf_lane_job *job, mf_result *out, mf_err *err)
{
    mf_video_limits lim = {.max_width = MF_VIDEO_MAX_WIDTH,
                           .max_height = MF_VIDEO_MAX_HEIGHT,
                           .max_seconds = MF_VIDEO_MAX_SECONDS,
                           .max_streams = MF_VIDEO_MAX_STREAMS,
                           .deadline_ms = 0};
    const mf__profile *prof = mf__profile_get(job->profile);
    mf_video_input in = {0};
    int vidx, rc;

    mf_video_note_av_error(NULL);
    mf__threads = mf__threads_now();
    /* A little before the runtime's own kill at the same timeout, so the user reads a clean
     * "time limit passed" and no output is left half-written. */
    if (mf__timeout_s > 0)
        lim.deadline_ms = mf_clock_mono_ms() + mf__timeout_s * 1000 -
                          (mf__timeout_s * 100 < 2000 ? mf__timeout_s * 100 : 2000);
    rc = mf_video_input_open(&in, job, &lim, err);
    if (rc < 0)
        goto out;
    mf_video_probe(&in, out->meta);
    vidx = mf_video_best_video(&in);
    json_object_set_new(out->meta, "media", json_string(vidx >= 0 ? "video" : "audio"));
    if (vidx >= 0)
        rc = mf__video_outputs(&in, vidx, job, out, err);
    if (rc == 0 && prof->m4a)
        rc = mf_video_m4a(&in, prof->tc.audio_bitrate, job, out, err);
    if (rc == 0 && prof->captions)
        rc = mf_video_captions(&in, job, out, err);
out:
    mf_video_input_close(&in);
    return rc;
}

static void mf__video_shutdown(void)
{
}

static void mf__video_version(json_t *libs, const char *name, unsigned v)
{
    char text[32];

    snprintf(text, sizeof(text), "%u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
    json_object_set_new(libs, name, json_string(text));
}

/* meta.provenance.libraries: FFmpeg's libraries as loaded (x264 is inside libavcodec's). */
static void mf__video_provenance(json_t *libs)
{
    json_object_set_new(libs, "ffmpeg", json_string(av_version_info()));
    mf__video_version(libs, "libavcodec", avcodec_version());
    mf__video_version(libs, "libavformat", avformat_version());
    mf__video_version(libs, "libswscale", swscale_version());
    mf__video_version(libs, "libswresample", swresample_version());
}

const mf_lane mf_lane_video = {
    .name = "video",
    .init = mf__video_init,
    .process = mf__video_process,
    .shutdown = mf__video_shutdown,
    .provenance = mf__video_provenance,
};
