#!/usr/bin/env bash
# Video lane, profile "captions": word error rate of captions.vtt (pocketsphinx, en-us) against
# the known text, on the clip tests/integration/t_video_captions.sh makes: espeak-ng reading
# that text after 3 s of silence, muxed into an MP4 with a picture (and the same audio as an
# mp3). espeak's synthetic voice is far from the read speech the model was trained on: the
# figure tracks our pipeline (resampling, segmentation, cue text) from run to run, it is not
# the model's accuracy on real speech. No stock tool to compare with (Debian ships no
# pocketsphinx CLI); the speed is given as a multiple of real time on the audio-only file,
# where recognition is the whole job. Writes the "Video captions" section of bench/RESULTS.md.
# Usage: bench/captions.sh [RUNS]   (default 3; WER is deterministic, times are medians)
source "$(dirname "$0")/lib.sh"
RUNS=${1:-3}
WORKER=$BIN/mf-worker-video
[ -x "$WORKER" ] || { echo "no $WORKER (build it first)" >&2; exit 1; }
command -v espeak-ng >/dev/null || { echo "espeak-ng is needed" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
cd "$W"
ff() { ffmpeg -nostdin -v error -y "$@"; }

cat >speech.txt <<'TXT'
the quick brown fox jumps over the lazy dog. this is a test of the speech recognition system.
we will measure the word error rate of the captions. please read the numbers one two three
four five. the weather today is sunny and warm.
TXT
espeak-ng -v en-us -s 140 -w speech.wav -f speech.txt
ff -f lavfi -i anullsrc=r=22050:cl=mono:d=3 -i speech.wav -filter_complex concat=n=2:v=0:a=1 pad.wav
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 pad.wav)
durs=$(printf "%.1f" "$dur")
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=$dur" -i pad.wav -c:v libx264 -g 25 \
    -pix_fmt yuv420p -c:a aac -b:a 96k -shortest speech.mp4
ff -i pad.wav -c:a libmp3lame speech.mp3

# wer VTT: "errors/words wer hyp_words" of the cue text against speech.txt (word-level
# Levenshtein, lower case, the same computation as the test)
wer() {
    python3 - speech.txt "$1" <<'PY'
import re, sys
ref, vtt = open(sys.argv[1]).read(), open(sys.argv[2]).read()
cues = re.findall(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d\n(.+)\n", vtt)
ref = re.findall(r"[a-z']+", ref.lower())
hyp = re.findall(r"[a-z']+", " ".join(cues).lower())
d = list(range(len(hyp) + 1))
for i in range(1, len(ref) + 1):
    p, d[0] = d[:], i
    for j in range(1, len(hyp) + 1):
        d[j] = min(p[j] + 1, d[j - 1] + 1, p[j - 1] + (ref[i - 1] != hyp[j - 1]))
print("%d/%d %.3f %d" % (d[len(hyp)], len(ref), d[len(hyp)] / len(ref), len(hyp)))
PY
}
# process IN OUT: the worker with profile captions; prints "wall cpu" seconds
process() {
    rm -rf "$2"
    /usr/bin/time -f '%e %U %S' -o time "$WORKER" process "$1" --out "$2" --profile captions \
        >"$2.json" 2>>worker.log || { echo "process $1 failed: $(jq -r .error "$2.json")" >&2; exit 1; }
    [ "$(jq -r '.meta.captions.skipped // empty' "$2.json")" = "" ] ||
        { echo "captions skipped: $(jq -r .meta.captions.skipped "$2.json")" >&2; exit 1; }
    awk '{printf "%.3f %.3f", $1, $2 + $3}' time
}

wall=() cpu=()
for i in $(seq "$RUNS"); do
    r=$(process speech.mp3 mp3)
    wall+=("${r% *}") cpu+=("${r#* }")
done
process speech.mp4 mp4 >/dev/null
read -r e_mp4 w_mp4 h_mp4 <<<"$(wer mp4/captions.vtt)"
read -r e_mp3 w_mp3 h_mp3 <<<"$(wer mp3/captions.vtt)"
m_wall=$(median "${wall[@]}")
m_cpu=$(median "${cpu[@]}")
rt=$(awk -v d="$dur" -v t="$m_wall" 'BEGIN {printf "%.1f", d / t}')

summary="espeak-ng en-us clip, ${durs} s (3 s silence + $(wc -w <speech.txt) words). WER: MP4 (H.264+AAC 96k) $w_mp4 ($e_mp4 word errors, $h_mp4 words recognised, $(jq -r .meta.captions.cues mp4.json) cues); MP3 $w_mp3 ($e_mp3, $h_mp3 words). Speed, audio-only MP3, median of $RUNS: ${m_wall}s wall (${rt}x real time), ${m_cpu}s CPU; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/captions.sh $RUNS\` (\`mf-worker-video process FILE --profile captions\`, pocketsphinx $(dpkg-query -W -f '${Version}' libpocketsphinx3 2>/dev/null || echo '?') with Debian's en-us model)"
        echo "- result: $summary"
        echo "- bound: the test (t_video_captions.sh) fails above WER 0.95 or when \"two three four\" is lost"
    } >"$W/section.md"
    results_section "Video captions" "$W/section.md"
fi
