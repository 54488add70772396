#!/usr/bin/env bash
# Video lane: the one-shot worker against the ffmpeg CLI doing the same work on the same
# generated 1080p H.264 clip (with AAC audio, 1 s GOP), in the same run, median of RUNS.
#   keyframes: `process --profile preview` (10 evenly spread keyframes decoded alone, 320 px
#              JPEGs, poster, contact sheet) vs `ffmpeg -skip_frame nokey ... scale=320:-2`
#              writing every keyframe as JPEG (it reads the whole file; we seek).
#   transcode: `process` (preview + video-720p.mp4) minus the preview time, vs
#              `ffmpeg -vf scale=-2:720 -c:v libx264 -preset veryfast -crf 23 -c:a aac -b:a 128k
#              -movflags +faststart` (the same settings).
# Ratios > 1 mean the worker is faster. Wall and CPU (user+sys) times are both reported: on a
# shared machine the CPU ratio is the steadier one. Writes the "Video" section of bench/RESULTS.md.
# Usage: bench/video.sh [SECONDS] [RUNS]   (default 20 s of 1080p30, 3 runs)
source "$(dirname "$0")/lib.sh"
SECS=${1:-20}
RUNS=${2:-3}
WORKER=$BIN/mf-worker-video
[ -x "$WORKER" ] || { echo "no $WORKER (build it first)" >&2; exit 1; }
IN=$W/in-1080p.mp4
ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$SECS" \
    -f lavfi -i "sine=frequency=440:duration=$SECS" -c:v libx264 -preset veryfast -g 30 \
    -pix_fmt yuv420p -c:a aac -b:a 128k "$IN"

# measure CMD...: prints "wall cpu" in seconds (cpu = user + sys of CMD and its children).
# On a shared machine the wall time swings with the neighbours' load; CPU time much less.
measure() {
    /usr/bin/time -f '%e %U %S' -o "$W/time" bash -c "$*" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    awk '{printf "%.3f %.3f", $1, $2 + $3}' "$W/time"
}
ff_kf() {
    rm -rf "$W/ffkf" && mkdir -p "$W/ffkf"
    ffmpeg -nostdin -v error -y -skip_frame nokey -i "$IN" -vf scale=320:-2 -fps_mode passthrough \
        -q:v 3 "$W/ffkf/kf-%04d.jpg"
}
ff_tc() {
    ffmpeg -nostdin -v error -y -i "$IN" -vf scale=-2:720 -c:v libx264 -preset veryfast -crf 23 \
        -c:a aac -b:a 128k -movflags +faststart "$W/ff-720p.mp4"
}
ours_kf() { rm -rf "$W/kf" && "$WORKER" process "$IN" --profile preview --out "$W/kf"; }
ours_all() { rm -rf "$W/all" && "$WORKER" process "$IN" --out "$W/all"; }
export -f ff_kf ff_tc ours_kf ours_all
export W IN WORKER

kf_o=() kf_f=() all_o=() tc_f=() cpu_kf_o=() cpu_kf_f=() cpu_all_o=() cpu_tc_f=()
# run NAME FN: appends wall time to NAME and CPU time to cpu_NAME
run() {
    local r
    r=$(measure "$2")
    eval "$1+=(${r% *}) cpu_$1+=(${r#* })"
}
for i in $(seq "$RUNS"); do
    # alternate who goes first, so a neighbour's burst does not always hit the same side
    if [ $((i % 2)) = 1 ]; then
        run kf_f ff_kf && run kf_o ours_kf && run tc_f ff_tc && run all_o ours_all
    else
        run kf_o ours_kf && run kf_f ff_kf && run all_o ours_all && run tc_f ff_tc
    fi
done
m_kf_o=$(median "${kf_o[@]}")
m_kf_f=$(median "${kf_f[@]}")
m_all_o=$(median "${all_o[@]}")
m_tc_f=$(median "${tc_f[@]}")
m_tc_o=$(awk -v a="$m_all_o" -v b="$m_kf_o" 'BEGIN {printf "%.3f", a - b}')
c_kf_o=$(median "${cpu_kf_o[@]}")
c_kf_f=$(median "${cpu_kf_f[@]}")
c_tc_o=$(awk -v a="$(median "${cpu_all_o[@]}")" -v b="$c_kf_o" 'BEGIN {printf "%.3f", a - b}')
c_tc_f=$(median "${cpu_tc_f[@]}")
n_kf=$(find "$W/kf" -name 'kf-*.jpg' | wc -l)
n_ffkf=$(find "$W/ffkf" -name 'kf-*.jpg' | wc -l)
rt=$(awk -v s="$SECS" -v t="$m_kf_o" 'BEGIN {printf "%.0f", s / t}')
# How many CPUs ffmpeg's transcode kept busy: ~1.9 of 2 on a quiet 2-core machine. Far below
# the core count, neighbours (or the host of a VM) took the rest and the wall ratios are noise;
# the CPU ratios still compare the work done.
busy=$(awk -v c="$c_tc_f" -v w="$m_tc_f" 'BEGIN {printf "%.2f", c / w}')
size_o=$(stat -c %s "$W/all/video-720p.mp4")
size_f=$(stat -c %s "$W/ff-720p.mp4")

summary="clip ${SECS}s 1080p30 H.264+AAC; median of $RUNS. keyframes: ours ${m_kf_o}s ($n_kf kf + poster + sheet, ${rt}x real time) vs ffmpeg ${m_kf_f}s ($n_ffkf kf), ratio $(ratio "$m_kf_f" "$m_kf_o")x. transcode 720p: ours ${m_tc_o}s (full job ${m_all_o}s) vs ffmpeg ${m_tc_f}s, ratio $(ratio "$m_tc_f" "$m_tc_o")x; output bytes ours $size_o, ffmpeg $size_f. CPU s (user+sys): keyframes ours $c_kf_o vs ffmpeg $c_kf_f (ratio $(ratio "$c_kf_f" "$c_kf_o")x), transcode ours $c_tc_o vs ffmpeg $c_tc_f (ratio $(ratio "$c_tc_f" "$c_tc_o")x); ffmpeg's transcode kept $busy of $(getconf _NPROCESSORS_ONLN) CPUs busy; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$summary"
if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    {
        echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(machine)"
        echo "- command: \`bench/video.sh $SECS $RUNS\`"
        echo "- result: $summary"
        echo "- targets: keyframes >= 10x real time on 1080p H.264; transcode within 5 % of ffmpeg (ratio >= 0.95)"
    } >"$W/section.md"
    results_section "Video" "$W/section.md"
fi
