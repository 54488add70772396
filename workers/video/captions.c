/* captions.vtt (profile "captions"): speech recognition of the main audio stream with
 * pocketsphinx (CMU Sphinx, the Debian en-us model). One pass over the audio alone: decode,
 * resample to the 16 kHz mono s16 the acoustic model was trained on, feed the recogniser.
 * Silence removal is off so that a frame is always 10 ms of input and word times are exact;
 * instead we close an utterance ourselves at a quiet 100 ms block once it is long enough,
 * which bounds the recogniser's memory on a 4-hour file. Words become WebVTT cues of a
 * readable length. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/bprint.h>
#include <libswresample/swresample.h>

#ifdef MF_HAVE_POCKETSPHINX
#include <pocketsphinx.h>
#endif

#include "mf/fsutil.h"
#include "video.h"

#define MF__CAP_RATE 16000
#define MF__CAP_BLOCK (MF__CAP_RATE / 10) /* 100 ms */
/* Utterances close at the first quiet block after 8 s and at 30 s whatever is said: longer
 * ones make the search slower and its memory larger for no gain in accuracy. */
#define MF__CAP_UTT_MIN (8 * MF__CAP_RATE)
#define MF__CAP_UTT_MAX (30 * MF__CAP_RATE)
#define MF__CAP_QUIET_RMS 300.0 /* s16 RMS of a block that is "quiet" (about -40 dBFS) */
/* A cue: at most 7 words and 4 s; a pause of 0.6 s starts a new one. */
#define MF__CAP_CUE_WORDS 7
#define MF__CAP_CUE_SECONDS 4.0
#define MF__CAP_CUE_GAP 0.6

#ifdef MF_HAVE_POCKETSPHINX
typedef struct mf__cap {
    ps_decoder_t *ps;
    int16_t block[MF__CAP_BLOCK];
    int nblock;
    int64_t utt_len; /* samples */
    AVBPrint vtt;
    double cue_start, cue_end; /* seconds; cue_start < 0: no open cue */
    char cue[1024];
    int cue_words, cues, words;
} mf__cap;

static void mf__cap_ts(AVBPrint *b, double t)
{
    int64_t ms = (int64_t)llround(t * 1000.0);

    av_bprintf(b, "%02d:%02d:%02d.%03d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
               (int)(ms / 1000 % 60), (int)(ms % 1000));
}

/* Writes the open cue; past MF_VIDEO_MAX_SUB_BYTES of text the rest is dropped (the same
 * bound as a subtitle track: several films of dialogue). */
static void mf__cap_flush_cue(mf__cap *c)
{
    if (c->cue_words > 0 && c->vtt.len < MF_VIDEO_MAX_SUB_BYTES) {
        av_bprintf(&c->vtt, "%d\n", ++c->cues);
        mf__cap_ts(&c->vtt, c->cue_start);
        av_bprintf(&c->vtt, " --> ");
        mf__cap_ts(&c->vtt, c->cue_end);
        av_bprintf(&c->vtt, "\n%s\n\n", c->cue);
    }
    c->cue_words = 0;
    c->cue[0] = '\0';
}

/* One recognised word at [t0, t1] seconds of the file. */
static void mf__cap_word(mf__cap *c, const char *word, double t0, double t1)
{
    char w[128];
    size_t n = strcspn(word, "("); /* "read(2)": the dictionary's second pronunciation */

    if (word[0] == '<' || word[0] == '[' || n == 0 || n >= sizeof(w))
        goto out; /* <s>, </s>, <sil>, [NOISE]: not words */
    memcpy(w, word, n);
    w[n] = '\0';
    if (c->cue_words > 0 &&
        (c->cue_words >= MF__CAP_CUE_WORDS || t0 - c->cue_end > MF__CAP_CUE_GAP ||
         t1 - c->cue_start > MF__CAP_CUE_SECONDS || strlen(c->cue) + n + 2 > sizeof(c->cue)))
        mf__cap_flush_cue(c);
    if (c->cue_words == 0)
        c->cue_start = t0;
    snprintf(c->cue + strlen(c->cue), sizeof(c->cue) - strlen(c->cue), "%s%s",
             c->cue_words > 0 ? " " : "", w);
    c->cue_end = t1;
    c->cue_words++;
    c->words++;
out:
    return;
}

/* Closes the utterance, turns its words into cues and opens the next one. Segment frames
 * count from ps_start_stream() (this pocketsphinx keeps counting across utterances), and
 * with silence removal off a frame is 10 ms of the file. */
static void mf__cap_utt_end(mf__cap *c)
{
    int sf, ef;

    ps_end_utt(c->ps);
    for (ps_seg_t *seg = ps_seg_iter(c->ps); seg != NULL; seg = ps_seg_next(seg)) {
        ps_seg_frames(seg, &sf, &ef);
        mf__cap_word(c, ps_seg_word(seg), sf / 100.0, (ef + 1) / 100.0);
    }
    c->utt_len = 0;
    ps_start_utt(c->ps);
}

/* A full 100 ms block: recognise it, and end the utterance at a pause when it is long. */
static void mf__cap_block(mf__cap *c)
{
    double sq = 0;

    for (int i = 0; i < c->nblock; i++)
        sq += (double)c->block[i] * c->block[i];
    ps_process_raw(c->ps, c->block, (size_t)c->nblock, FALSE, FALSE);
    c->utt_len += c->nblock;
    if (c->utt_len >= MF__CAP_UTT_MAX ||
        (c->utt_len >= MF__CAP_UTT_MIN && sqrt(sq / c->nblock) < MF__CAP_QUIET_RMS))
        mf__cap_utt_end(c);
    c->nblock = 0;
}

static void mf__cap_feed(mf__cap *c, const int16_t *s, int n)
{
    while (n > 0) {
        int k = MF__CAP_BLOCK - c->nblock < n ? MF__CAP_BLOCK - c->nblock : n;

        memcpy(c->block + c->nblock, s, (size_t)k * sizeof(*s));
        c->nblock += k;
        s += k;
        n -= k;
        if (c->nblock == MF__CAP_BLOCK)
            mf__cap_block(c);
    }
}

static int mf__cap_ps_new(mf__cap *c, mf_err *err)
{
    cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", MF_VIDEO_PS_MODEL "/en-us", "-lm",
                                MF_VIDEO_PS_MODEL "/en-us.lm.bin", "-dict",
                                MF_VIDEO_PS_MODEL "/cmudict-en-us.dict", "-remove_silence", "no",
                                "-logfn", "/dev/null", NULL);
    int rc = 0;

    if (cfg != NULL)
        c->ps = ps_init(cfg);
    cmd_ln_free_r(cfg); /* ps_init keeps its own reference */
    if (c->ps == NULL || ps_start_stream(c->ps) < 0 || ps_start_utt(c->ps) < 0)
        rc = mf_err_set(err, MF_EUNSUPPORTED,
                        "ps_init() failed: no pocketsphinx en-us model in " MF_VIDEO_PS_MODEL);
    return rc;
}
#endif

#ifdef MF_HAVE_POCKETSPHINX
/* A packet of the audio stream (NULL: flush) through decoder and resampler to the recogniser. */
static int mf__cap_packet(mf__cap *c, AVCodecContext *dec, SwrContext *swr, AVFrame *f,
                          const AVPacket *pkt, mf_err *err)
{
    int16_t pcm[16384];
    uint8_t *o = (uint8_t *)pcm;
    int n, rc = avcodec_send_packet(dec, pkt);

    if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR_EOF) {
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_send_packet(audio)");
        goto out;
    }
    for (rc = 0; rc == 0;) {
        rc = avcodec_receive_frame(dec, f);
        if (rc < 0)
            break;
        /* What does not fit stays in swr and comes out with the next frame. */
        n = swr_convert(swr, &o, 16384, (const uint8_t **)f->extended_data, f->nb_samples);
        av_frame_unref(f);
        if (n > 0)
            mf__cap_feed(c, pcm, n);
    }
    rc = rc == AVERROR(EAGAIN) || rc == AVERROR_EOF || rc == AVERROR_INVALIDDATA ? 0 : rc;
    if (rc < 0)
        rc = mf_video_averr(err, rc, MF_ECORRUPT, "avcodec_receive_frame(audio)");
    while (rc == 0 && pkt == NULL && (n = swr_convert(swr, &o, 16384, NULL, 0)) > 0)
        mf__cap_feed(c, pcm, n);
out:
    return rc;
}

/* Reads the file again from the start, audio stream aidx only. */
static int mf__cap_read(mf__cap *c, mf_video_input *in, int aidx, mf_err *err)
{
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    AVCodecContext *dec = NULL;
    SwrContext *swr = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int rc = mf_video_decoder_open(in, aidx, 0, &dec, err);

    if (rc < 0)
        goto out;
    rc = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_S16, MF__CAP_RATE, &dec->ch_layout,
                             dec->sample_fmt, dec->sample_rate, 0, NULL);
    if (rc == 0)
        rc = swr_init(swr);
    if (rc < 0) {
        rc = mf_video_averr(err, rc, MF_EUNSUPPORTED, "swr_init(16 kHz mono)");
        goto out;
    }
    mf_video_rewind(in);
    while (rc == 0) {
        if (mf_video_expired(in->lim)) {
            rc = mf_err_set(err, MF_ETIMEOUT, "captions interrupted: the job's time limit passed");
            break;
        }
        rc = av_read_frame(in->fmt, pkt);
        if (rc == AVERROR_EOF) {
            rc = mf__cap_packet(c, dec, swr, f, NULL, err);
            break;
        }
        if (rc < 0) {
            rc = mf_video_averr(err, rc, MF_ECORRUPT, "av_read_frame()");
            break;
        }
        if (pkt->stream_index == aidx)
            rc = mf__cap_packet(c, dec, swr, f, pkt, err);
        av_packet_unref(pkt);
    }
    if (rc == 0 && c->nblock > 0)
        mf__cap_block(c);
    if (rc == 0)
        mf__cap_utt_end(c);
    mf__cap_flush_cue(c);
out:
    av_frame_free(&f);
    av_packet_free(&pkt);
    swr_free(&swr);
    avcodec_free_context(&dec);
    return rc;
}
#endif

int mf_video_captions(mf_video_input *in, const mf_lane_job *job, mf_result *out, mf_err *err)
{
    int aidx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    int rc = 0;
#ifdef MF_HAVE_POCKETSPHINX
    enum AVDiscard keep[MF_VIDEO_MAX_STREAMS];
    mf__cap c = {.cue_start = -1};

    av_bprint_init(&c.vtt, 0, AV_BPRINT_SIZE_UNLIMITED);
    av_bprintf(&c.vtt, "WEBVTT\n\n");
    if (aidx < 0) {
        json_object_set_new(out->meta, "captions",
                            json_pack("{s:s}", "skipped", "no audio stream"));
        goto out;
    }
    rc = mf__cap_ps_new(&c, err);
    if (rc < 0)
        goto out;
    /* The demuxer still reads every packet, but drops the other streams' ones unparsed. */
    for (unsigned i = 0; i < in->fmt->nb_streams && i < MF_VIDEO_MAX_STREAMS; i++) {
        keep[i] = in->fmt->streams[i]->discard;
        in->fmt->streams[i]->discard = (int)i == aidx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    }
    rc = mf__cap_read(&c, in, aidx, err);
    for (unsigned i = 0; i < in->fmt->nb_streams && i < MF_VIDEO_MAX_STREAMS; i++)
        in->fmt->streams[i]->discard = keep[i];
    if (rc == 0 && !av_bprint_is_complete(&c.vtt))
        rc = mf_err_set(err, MF_ELIMIT, "captions: out of memory for the WebVTT text");
    if (rc == 0)
        rc = mf_fs_write_atomic(job->outdir, MF_VIDEO_CAPTIONS_NAME, c.vtt.str, c.vtt.len, err);
    if (rc < 0)
        goto out;
    mf_result_add_output(out, MF_VIDEO_CAPTIONS_NAME);
    json_object_set_new(out->meta, "captions",
                        json_pack("{s:s, s:s, s:i, s:i}", "engine", "pocketsphinx", "language",
                                  "en-us", "words", c.words, "cues", c.cues));
out:
    if (c.ps != NULL)
        ps_free(c.ps);
    av_bprint_finalize(&c.vtt, NULL);
#else
    (void)job;
    (void)err;
    json_object_set_new(
        out->meta, "captions",
        json_pack("{s:s}", "skipped", aidx < 0 ? "no audio stream" : "built without pocketsphinx"));
#endif
    return rc;
}
