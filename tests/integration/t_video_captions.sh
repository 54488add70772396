#!/usr/bin/env bash
# Video lane, one-shot, profile "captions": speech becomes captions.vtt with timed cues
# (pocketsphinx, en-us). The speech is espeak-ng reading a known text after 3 s of silence,
# muxed into an MP4 with a picture; the word error rate against that text is measured and
# printed (espeak's synthetic voice is far from the read speech the model was trained on, so
# the bound is loose: it catches garbage or lost words, not a slightly worse model). Skipped
# when espeak-ng or the lane's pocketsphinx is missing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
command -v python3 >/dev/null || mf_fail "python3 is needed"
cd "$T"
command -v espeak-ng >/dev/null || { mf_log "skipped: no espeak-ng"; mf_pass; exit 0; }

# captions FILE OUTDIR: one-shot with the captions profile
captions() { run "$1" "$2" --profile captions; }

cat >speech.txt <<'TXT'
the quick brown fox jumps over the lazy dog. this is a test of the speech recognition system.
we will measure the word error rate of the captions. please read the numbers one two three
four five. the weather today is sunny and warm.
TXT
espeak-ng -v en-us -s 140 -w speech.wav -f speech.txt || mf_fail "espeak-ng"
ff -f lavfi -i anullsrc=r=22050:cl=mono:d=3 -i speech.wav -filter_complex concat=n=2:v=0:a=1 pad.wav
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 pad.wav)
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$dur" -i pad.wav -c:v libx264 -g 25 \
    -pix_fmt yuv420p -c:a aac -b:a 96k -shortest speech.mp4
ff -i pad.wav -c:a libmp3lame speech.mp3

captions speech.mp4 out
if [ "$(jq -r '.meta.captions.skipped // empty' out.json)" = "built without pocketsphinx" ]; then
    mf_log "skipped: the lane was built without pocketsphinx"
    mf_pass
    exit 0
fi
jq -e '.outputs | index("captions.vtt")' out.json >/dev/null || mf_fail "captions.vtt not listed"
mf_assert_eq "$(jq -r .meta.captions.engine out.json)" pocketsphinx "engine"
[ -f out/video-720p.mp4 ] || mf_fail "the captions profile also transcodes"
# Cues: WebVTT, in order, none before the speech starts (3 s of silence), none after the end.
python3 - "$dur" speech.txt out/captions.vtt <<'PY' || mf_fail "captions.vtt: see above"
import re, sys
dur, ref, vtt = float(sys.argv[1]), open(sys.argv[2]).read(), open(sys.argv[3]).read()
assert vtt.startswith("WEBVTT\n\n"), "not WebVTT"
def sec(t):
    h, m, s = t.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
cues = re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)\n(.+)\n", vtt)
assert len(cues) >= 3, "%d cues" % len(cues)
last = 0.0
for a, b, text in cues:
    a, b = sec(a), sec(b)
    assert last <= a < b <= dur + 0.5, "cue %s-%s after %s (file %.2f s)" % (a, b, last, dur)
    last = b
assert sec(cues[0][0]) >= 2.5, "first cue at %s, the speech starts at 3 s" % cues[0][0]
ref = re.findall(r"[a-z']+", ref.lower())
hyp = re.findall(r"[a-z']+", " ".join(c[2] for c in cues).lower())
d = list(range(len(hyp) + 1))
for i in range(1, len(ref) + 1):
    p, d[0] = d[:], i
    for j in range(1, len(hyp) + 1):
        d[j] = min(p[j] + 1, d[j - 1] + 1, p[j - 1] + (ref[i - 1] != hyp[j - 1]))
wer = d[len(hyp)] / len(ref)
print("captions: %d cues, %d words; WER %.3f (%d/%d) against the espeak-ng text" % (len(cues), len(hyp), wer, d[len(hyp)], len(ref)))
assert wer <= 0.95, "WER %.3f" % wer
assert "two three four" in " ".join(hyp), "the counted numbers were not recognised"
PY

mf_log "audio-only file: captions too, no picture outputs"
captions speech.mp3 mp3
mf_assert_eq "$(jq -r .meta.media mp3.json)" audio "media"
mf_assert_eq "$(jq -c .outputs mp3.json)" '["captions.vtt"]' "outputs of an mp3"
mf_assert_eq "$(jq -r '.meta.captions.words > 20' mp3.json)" true "words of the mp3"

mf_log "no audio stream, or a blip of silence: done, and meta says what happened"
ff -f lavfi -i testsrc2=size=160x120:rate=25:duration=1 -c:v libx264 noaudio.mp4
captions noaudio.mp4 na
mf_assert_eq "$(jq -r .meta.captions.skipped na.json)" "no audio stream" "captions without audio"
ff -f lavfi -i anullsrc=r=44100:cl=stereo:d=0.05 -c:a libmp3lame blip.mp3
captions blip.mp3 blip
mf_assert_eq "$(jq -r .meta.captions.words blip.json)" 0 "words in silence"
head -1 blip/captions.vtt | grep -q '^WEBVTT' || mf_fail "empty captions.vtt is not WebVTT"

mf_log "the default profile makes no captions"
"$W" process speech.mp3 --out def >def.json 2>>"$T/logs/worker.log" || mf_fail "default profile"
mf_assert_eq "$(jq -r '.meta | has("captions")' def.json)" false "captions in the default profile"
mf_pass
