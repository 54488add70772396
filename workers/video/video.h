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

/* The job's progress when the keyframes, poster and contact sheet are done and the transcode
 * (the rest of the job's time, by the transcode position) begins. */
#define MF_VIDEO_PROGRESS_KF 0.1

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
    const struct AVInputFormat *ifmt; /* the demuxer probed, to open it again */
    char url[4160];
} mf_video_input;

/* Opens job's input (fd through /proc/self/fd, else path) with only the file protocol, checks
 * the probed demuxer against the allow-list before it reads further, refuses any nested
 * open, then checks streams, dimensions and duration against lim from the headers. Returns 0,
 * or MF_ECORRUPT / MF_EUNSUPPORTED / MF_ELIMIT / MF_ETIMEOUT / -errno with err set naming the
 * problem; in->fmt is NULL then. */
int mf_video_input_open(mf_video_input *in, const mf_lane_job *job, const mf_video_limits *lim,
                        mf_err *err);
void mf_video_input_close(mf_video_input *in);
/* Opens the demuxer again on the same file from its first byte: the one sure way back to the
 * start (a seek by time lands after the first keyframe in MPEG-TS, and goes nowhere in a
 * Matroska file cut before its index). Stream indices and discard flags stay; in->fmt and its
 * AVStream pointers change. On failure in->fmt is kept and an error returned. */
int mf_video_input_reopen(mf_video_input *in);
/* Maps an AVERROR from a call on this input to an mf error with "<call> failed: <reason>".
 * fallback is the code used for errors that say nothing more specific (usually
 * MF_ECORRUPT). */
int mf_video_averr(mf_err *err, int averr, int fallback, const char *call);
/* FFmpeg's words for averr, plus its last error line in parentheses (then forgotten), into buf;
 * AVERROR_PATCHWELCOME reads "this codec feature is not supported by FFmpeg". */
void mf_video_av_reason(int averr, char *buf, size_t size);
/* Remembers FFmpeg's last error line (from the log callback, without its "[ctx @ 0x...] "
 * prefix) so mf_video_averr() can add what the library said: "(moov atom not found)". NULL
 * forgets it (at the start of each job). */
void mf_video_note_av_error(const char *line);
/* Rewrites "/proc/self/fd/N" (how the input is opened) as "the input" in s, in place. */
void mf_video_scrub_paths(char *s, size_t size);
/* 1 if the job's deadline has passed. */
int mf_video_expired(const mf_video_limits *lim);

/* ---- stream.c ---- */
/* "video stream 0 (h264)": how errors and warnings name stream idx of in; writes into buf. */
const char *mf_video_stream_what(const mf_video_input *in, int idx, char *buf, size_t n);
/* Puts "<fmt...>" in front of err->msg (unless it starts so already), naming the part of the
 * file that failed in the user's terms before the library's words. Returns err->code. */
int mf_video_err_prefix(mf_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Back to the first packet of the file: mf_video_input_reopen(), else a seek by time. Returns
 * >= 0, or an AVERROR. in->fmt and its stream pointers may change: fetch them again after. */
int mf_video_rewind(mf_video_input *in);
/* 0 when seeking by time in this container may land after the wanted keyframe (MPEG-TS/PS). */
int mf_video_seek_by_time_ok(const mf_video_input *in);
/* Appends one line to meta.warnings (an array, created on first use): something the user may
 * want to know about a result that is still done (damaged packets skipped, ...). */
void mf_video_warn(json_t *meta, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Length of stream idx in seconds (the container's when the stream has none), or -1. */
double mf_video_stream_seconds(const mf_video_input *in, int idx);

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
 * video stream vidx. Adds the outputs and meta.keyframes (times in seconds). A stream with too
 * few keyframes is decoded from the start: its position reports the job's progress, from 0 up
 * to share (MF_VIDEO_PROGRESS_KF when a transcode follows, 1 when nothing does). */
int mf_video_keyframes(mf_video_input *in, int vidx, const mf_lane_job *job, double share,
                       mf_result *out, mf_err *err);

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
/* finish in two steps, to look at the complete file (m->tmp) before it takes its name: end
 * writes the trailer and closes, commit renames and lists it. */
int mf_video_mux_end(mf_video_mux *m, mf_err *err);
int mf_video_mux_commit(mf_video_mux *m, mf_result *out, mf_err *err);
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
/* After the flush: fails when the stream had packets and none decoded ("audio stream 1
 * (vorbis): none of its 96 packets could be decoded"); adds a meta.warnings line when some
 * were damaged and skipped. */
int mf_video_audio_check(const mf_video_audio *a, const mf_video_input *in, json_t *meta,
                         mf_err *err);
/* Frames decoded so far (0 for NULL). */
int64_t mf_video_audio_frames(const mf_video_audio *a);
void mf_video_audio_free(mf_video_audio *a);

/* audio.m4a: the best audio stream of in as AAC (at most stereo, bitrate bits/s) in MP4 with
 * +faststart, read in its own pass over the file; meta.audio {codec, channels, sample_rate,
 * bitrate}. No audio stream: meta.audio.skipped says so and nothing is written. */
#define MF_VIDEO_M4A_NAME "audio.m4a"
int mf_video_m4a(mf_video_input *in, int bitrate, const mf_lane_job *job, mf_result *out,
                 mf_err *err);

/* ---- check.c ---- */
/* What the transcode saw of the input, to judge its output by. */
typedef struct mf_video_tc_seen {
    int vidx, aidx;      /* input streams transcoded (aidx -1: none) */
    int64_t frames;      /* pictures sent to the encoder */
    int64_t bad_packets; /* video packets skipped as damaged */
    double in_s;         /* the input video stream's length in seconds (-1: unknown) */
    double end_s;        /* where the last packet of any stream ends, from the file's start */
    char why[256];       /* the decoder's words for the last damaged packet */
} mf_video_tc_seen;
/* A file cut short demuxes and decodes up to the cut, and a transcode of what is there passes
 * every check against what was read. Where the container declares its length (Matroska, WebM,
 * FLV, AVI, MP4: not a length guessed from the bitrate or read off the file's last packets),
 * the packets read (seen->end_s) must reach it within 0.25 s or 5 %. Returns 0, or
 * MF_ECORRUPT: "the file is cut short: its container says 3.01 s, its streams end at
 * 1.40 s...". */
int mf_video_check_whole(const mf_video_input *in, const mf_video_tc_seen *seen, mf_err *err);
/* Moves *end_s (seconds from the file's start, as the container's length counts) to where pkt
 * ends, when that is later: how far the file goes, whichever stream lasts longest. */
void mf_video_note_end(const mf_video_input *in, const struct AVPacket *pkt, double *end_s);
/* Re-opens the transcode's written MP4 (path) and checks it as a user would: a video stream
 * with pictures when the input had one, an audio stream when one was transcoded, a length within
 * 0.25 s or 5 % of the input's and a plausible frame count. Returns 0, or MF_ECORRUPT with err
 * saying what is wrong ("video-720p.mp4 lasts 0.07 s, the input's video stream 0 (ffv1)
 * 1.00 s: ..."). Adds meta.transcode.duration_s and frames (in out_meta). */
int mf_video_check_output(const char *path, const mf_video_input *in, const mf_video_tc_seen *seen,
                          json_t *out_meta, mf_err *err);
/* The failure of a video stream that gave no picture at all, with the decoder's words. */
int mf_video_check_nothing(const mf_video_input *in, const mf_video_tc_seen *seen, mf_err *err);

/* ---- captions.c ---- */
/* captions.vtt from the best audio stream of in (a second pass over the file, audio only):
 * timed WebVTT cues, meta.captions {engine, language, words, cues}. No audio stream, or a
 * build without pocketsphinx: meta.captions.skipped says so and nothing is written. */
int mf_video_captions(mf_video_input *in, const mf_lane_job *job, mf_result *out, mf_err *err);

#endif
