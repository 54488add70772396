#!/usr/bin/env bash
# Progress while pictures are picked by time: a clip with a single keyframe is decoded from
# the start to find its ten pictures, which on a long clip is most of the job. The record's
# progress follows the decoding position instead of staying at 0: with the `preview` profile
# (pictures only, no transcode) it is seen between 0 and 100 while the job runs, it never goes
# down, and it ends at 100.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mfctl_lib.sh"

ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=40" \
    -c:v libx264 -preset ultrafast -g 100000 -keyint_min 100000 -sc_threshold 0 \
    -pix_fmt yuv420p "$T/onekf.mp4"
mf_assert_eq "$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 \
    "$T/onekf.mp4" | grep -c K)" 1 "keyframes in the clip"

# progress_log: every 0.2 s "status progress" of the clip's record
progress_log() {
    local id
    while :; do
        id=$(id_of preview/onekf.mp4)
        [ -n "$id" ] && rraw HMGET "mf:file:$id" status progress | paste -sd' '
        sleep 0.2
    done >>"$T/progress.log"
}

mfctl_up fleet --workers image=0,video=1,doc=0,model=0
mf_wait 20 "a video worker" workers_are video 1
progress_log &
MF_PIDS+=($!)
mf_drop preview/onekf.mp4 "$T/onekf.mp4"
mf_expect_status preview/onekf.mp4 done 120
id=$(id_of preview/onekf.mp4)
mf_assert_eq "$(field "$id" profile)" preview "profile"
mf_assert_eq "$(jq -r .meta.keyframes_by "$MF_OUTBOX/$id/meta.json")" time "keyframes_by"
mf_assert_eq "$(field "$id" progress)" 100 "progress when done"
sleep 0.5 # the log's last lines
awk '$1 != "processing" || $2 == "" { next }
     { if ($2 + 0 < p) { print "progress went down: " p " -> " $2; bad = 1 }
       p = $2 + 0
       if ($2 > 0 && $2 < 100) mid++ }
     END { if (mid < 2) { print "progress between 0 and 100 seen " mid + 0 " times"; bad = 1 }
           exit bad }' "$T/progress.log" ||
    mf_fail "progress while the pictures were picked: $(grep processing "$T/progress.log" | uniq | tail -n 8 | paste -sd'|')"
mf_log "progress readings while processing: $(grep processing "$T/progress.log" | uniq | cut -d' ' -f2 | paste -sd' ')"
mfctl_stop fleet
mf_pass
