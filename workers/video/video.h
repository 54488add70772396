/* Internals of the video lane (workers/video): one module per file, shared through this header.
 * Nothing here is thread-safe beyond what is stated; the lane runs one job at a time in its
 * executor process (see mf/lane.h). Pointers returned by *_new / *_open belong to the caller,
 * released by the matching *_free / *_close (which accept NULL). */
#ifndef MF_VIDEO_H
#define MF_VIDEO_H

#include <stdint.h>
#include <jansson.h>

#include "mf/err.h"
#include "mf/lane.h"

/* Limits of the video lane, decided from headers before anything is decoded. The product
 * brief says "video 4 h and 8K": 7680x4320 in either orientation (phones record portrait). */
#define MF_VIDEO_MAX_WIDTH 7680
#define MF_VIDEO_MAX_HEIGHT 4320
#define MF_VIDEO_MAX_SECONDS (4 * 3600)
/* Real files carry a handful of streams (a few audio languages, a dozen subtitles); hundreds
 * are a fuzzed or hostile file that would make us allocate a decoder each. */
#define MF_VIDEO_MAX_STREAMS 64
/* Subtitle text kept per track: 8 MiB is several feature films of dialogue. */
#define MF_VIDEO_MAX_SUB_BYTES (8 * 1024 * 1024)

/* Outputs. Keyframes are small previews; the contact sheet lays them out in a grid. */
#define MF_VIDEO_KEYFRAMES 10
#define MF_VIDEO_KF_WIDTH 320
/* Mean luma (full range 0-255) under which a keyframe is "near black" and not a poster. */
#define MF_VIDEO_BLACK_LUMA 32
/* video-720p.mp4: fits in 1280x720 (landscape) or 720x1280 (portrait), never upscaled. */
#define MF_VIDEO_TC_LONG 1280
#define MF_VIDEO_TC_SHORT 720
#define MF_VIDEO_TC_NAME "video-720p.mp4"
/* captions.vtt: speech to text (profile "captions"), pocketsphinx with Debian's en-us model. */
#define MF_VIDEO_CAPTIONS_NAME "captions.vtt"
#ifndef MF_VIDEO_PS_MODEL
#define MF_VIDEO_PS_MODEL "/usr/share/pocketsphinx/model/en-us"
#endif

/* ---- safety/allow.c (pure) ---- */
/* 1 if every one of the comma-separated names of a demuxer (AVInputFormat.name, e.g.
 * "mov,mp4,m4a,3gp,3g2,mj2") is on the allow-list of plain media containers. Playlists and
 * other indirections (hls, concat, dash, image2, ...) never are. */
int mf_video_demuxer_allowed(const char *names);
/* The allow-list as a comma-separated string (AVFormatContext.format_whitelist). */
const char *mf_video_demuxer_list(void);

/* ---- geom.c (pure) ---- */
/* Clockwise degrees (0, 90, 180, 270) to turn a stored picture so it displays upright, from
 * av_display_rotation_get()'s counter-clockwise angle (NAN: none). */
int mf_video_rotation_cw(double ccw_degrees);
/* Display size of a w x h picture with sample aspect sar_num:sar_den (0 or invalid: square)
 * turned by rotation_cw: the SAR stretches one side (never shrinks one), then 90/270 swap. */
void mf_video_display_size(int w, int h, int sar_num, int sar_den, int rotation_cw, int *dw,
                           int *dh);
/* Fits dw x dh inside max_w x max_h keeping its aspect, never upscaling, both sides even and
 * at least 2. */
void mf_video_fit_even(int dw, int dh, int max_w, int max_h, int *ow, int *oh);
/* Parses an ISO 6709 location ("+48.8577+002.2950+035.000/") into degrees. Returns 0, or -1
 * when s is not one. */
int mf_video_iso6709(const char *s, double *lat, double *lon);

/* Forward declarations: only the modules that use FFmpeg include its headers. */
struct AVPacket;
struct SwsContext;

/* ---- lane.c ---- */
/* Threads for a job's decoders, scaler and encoder: configured when > 0; else 0 (libav's own
 * choice, one per core, as the ffmpeg CLI) when the other runnable tasks leave every core
 * idle, and otherwise one per core they leave idle, at least 1. running counts the runnable
 * tasks including the caller (/proc/loadavg). */
int mf_video_threads_pick(int configured, int cpus, int running);
/* The current job's pick (0 before the first job). */
int mf_video_threads(void);

/* ---- safety/open.c ---- */
typedef struct AVFormatContext AVFormatContext;
typedef struct AVIOContext AVIOContext;

typedef struct mf_video_limits {
    int max_width, max_height;
    int64_t max_seconds;
    unsigned max_streams;
    int64_t deadline_ms; /* mf_clock_mono_ms() after which any I/O is interrupted; 0: none */
} mf_video_limits;

typedef struct mf_video_input {
    AVFormatContext *fmt; /* streams probed (avformat_find_stream_info done) */
    AVIOContext *pb;      /* our own I/O: the only file this input may read */
    int64_t size;         /* bytes */
    const mf_video_limits *lim;
} mf_video_input;

/* Opens job's input (fd through /proc/self/fd, else path) with only the file protocol, checks
 * the probed demuxer against the allow-list before it reads further, refuses any nested
 * open, then checks streams, dimensions and duration against lim from the headers. Returns 0,
 * or MF_ECORRUPT / MF_EUNSUPPORTED / MF_ELIMIT / MF_ETIMEOUT / -errno with err set naming the
 * problem; in->fmt is NULL then. */
int mf_video_input_open(mf_video_input *in, const mf_lane_job *job, const mf_video_limits *lim,
                        mf_err *err);
void mf_video_input_close(mf_video_input *in);
/* Maps an AVERROR from a call on this input to an mf error with "<call> failed: <reason>".
 * fallback is the code used for errors that say nothing more specific (usually
 * MF_ECORRUPT). */
int mf_video_averr(mf_err *err, int averr, int fallback, const char *call);
/* Remembers FFmpeg's last error line (from the log callback, without its "[ctx @ 0x...] "
 * prefix) so mf_video_averr() can add what the library said: "(moov atom not found)". NULL
 * forgets it (at the start of each job). */
void mf_video_note_av_error(const char *line);
/* 1 if the job's deadline has passed. */
int mf_video_expired(const mf_video_limits *lim);

/* ---- probe.c ---- */
/* Fills meta with container, duration_s, bitrate, size, tags and streams[]. Never fails. */
void mf_video_probe(const mf_video_input *in, json_t *meta);
/* Stream index of the best video stream that is a real video (not cover art), or -1. */
int mf_video_best_video(const mf_video_input *in);
/* Clockwise rotation of stream idx from its display matrix (0 when none). */
int mf_video_stream_rotation(const mf_video_input *in, int idx);

/* ---- frame.c ---- */
typedef struct AVFrame AVFrame;
/* Scales src to the display size ow x oh (already rotated) in pix_fmt, full or limited
 * (video) range, then turns it by rotation_cw. *sws is a cache kept by the caller
 * (sws_freeContext at its out:). Returns a new frame in *dst, or an mf error. pix_fmt must be
 * a planar 8-bit YUV format. */
int mf_video_frame_fit(const AVFrame *src, int ow, int oh, int rotation_cw, int pix_fmt,
                       int full_range, struct SwsContext **sws, AVFrame **dst, mf_err *err);
/* Mean of the luma plane (0-255). */
double mf_video_frame_luma(const AVFrame *f);

/* ---- decoder.c ---- */
typedef struct AVCodecContext AVCodecContext;
/* A decoder for stream idx of in, bounded to the lane's picture size (max_pixels).
 * keyframes_only: slice threads and skip_frame=AVDISCARD_NONKEY (no frame-thread delay when
 * decoding single pictures); else frame threads. Caller frees with avcodec_free_context(). */
int mf_video_decoder_open(const mf_video_input *in, int idx, int keyframes_only,
                          AVCodecContext **dec, mf_err *err);

/* ---- jpeg.c ---- */
/* Encodes f (AV_PIX_FMT_YUV420P, full range) as JPEG and writes it atomically as outdir/name. */
int mf_video_jpeg_write(const AVFrame *f, const char *outdir, const char *name, mf_err *err);

/* ---- keyframes.c ---- */
/* kf-NNNN.jpg (up to MF_VIDEO_KEYFRAMES, evenly spread), poster.jpg, contact-sheet.jpg for
 * video stream vidx. Adds the outputs and meta.keyframes (times in seconds). */
int mf_video_keyframes(mf_video_input *in, int vidx, const mf_lane_job *job, mf_result *out,
                       mf_err *err);

/* ---- subtitles.c ---- */
typedef struct mf_video_subs mf_video_subs;
/* One WebVTT writer per text subtitle stream of in (bitmap ones are listed in meta as
 * skipped). *subs is NULL when there is none. */
int mf_video_subs_new(const mf_video_input *in, mf_video_subs **subs, json_t *meta, mf_err *err);
/* Feeds a packet of any stream; those of other streams are ignored. */
int mf_video_subs_packet(mf_video_subs *subs, const struct AVPacket *pkt, mf_err *err);
/* Writes subtitles-<lang>.vtt files into outdir and lists them in out. */
int mf_video_subs_finish(mf_video_subs *subs, const char *outdir, mf_result *out, mf_err *err);
void mf_video_subs_free(mf_video_subs *subs);

/* ---- mux.c ---- */
/* An MP4 output written to a dot-name in the outdir with the index first (+faststart) and
 * renamed to name when complete. init: paths and ofmt (add streams to it); start: opens the
 * file and writes the header; finish: trailer, close, rename, lists name in out; close
 * (always, at out:) frees ofmt and removes the dot-name if finish did not complete. */
typedef struct mf_video_mux {
    AVFormatContext *ofmt;
    const char *name;
    char tmp[4096], dst[4096];
    int done;
} mf_video_mux;
int mf_video_mux_init(mf_video_mux *m, const char *outdir, const char *name, mf_err *err);
int mf_video_mux_start(mf_video_mux *m, mf_err *err);
int mf_video_mux_finish(mf_video_mux *m, mf_result *out, mf_err *err);
void mf_video_mux_close(mf_video_mux *m);

/* ---- transcode.c / audio.c / m4a.c ---- */
typedef struct mf_video_tc_opts {
    const char *preset; /* libx264 preset */
    int crf;
    int audio_bitrate;
    const char *hw; /* NULL or "none": libx264; "vaapi", "nvenc": h264_<hw>, else libx264 */
} mf_video_tc_opts;
/* Writes video-720p.mp4 (H.264 + AAC, +faststart) into job->outdir through a temporary name,
 * feeding subtitle packets to subs (may be NULL) on the way. vidx: video stream. */
int mf_video_transcode(mf_video_input *in, int vidx, const mf_video_tc_opts *opts,
                       mf_video_subs *subs, const mf_lane_job *job, mf_result *out, mf_err *err);

typedef struct mf_video_audio mf_video_audio;
struct AVFormatContext;
/* AAC encoding of one input audio stream (the transcode's audio, audio.m4a): decoder,
 * resampler, FIFO and AAC encoder for stream aidx of in, with its output stream added to ofmt.
 * At most max_channels channels (more are downmixed by libswresample). */
int mf_video_audio_new(mf_video_input *in, int aidx, int bitrate, int max_channels,
                       struct AVFormatContext *ofmt, mf_video_audio **a, mf_err *err);
/* A packet of the audio stream, or NULL to flush. Writes encoded packets to ofmt. */
int mf_video_audio_packet(mf_video_audio *a, const struct AVPacket *pkt,
                          struct AVFormatContext *ofmt, mf_err *err);
void mf_video_audio_free(mf_video_audio *a);

/* audio.m4a: the best audio stream of in as AAC (at most stereo, bitrate bits/s) in MP4 with
 * +faststart, read in its own pass over the file; meta.audio {codec, channels, sample_rate,
 * bitrate}. No audio stream: meta.audio.skipped says so and nothing is written. */
#define MF_VIDEO_M4A_NAME "audio.m4a"
int mf_video_m4a(mf_video_input *in, int bitrate, const mf_lane_job *job, mf_result *out,
                 mf_err *err);

/* ---- captions.c ---- */
/* captions.vtt from the best audio stream of in (a second pass over the file, audio only):
 * timed WebVTT cues, meta.captions {engine, language, words, cues}. No audio stream, or a
 * build without pocketsphinx: meta.captions.skipped says so and nothing is written. */
int mf_video_captions(mf_video_input *in, const mf_lane_job *job, mf_result *out, mf_err *err);

#endif
