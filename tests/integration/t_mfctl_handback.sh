#!/usr/bin/env bash
# Stopping a fleet loses and repeats nothing: a 40 s 1080p clip is being transcoded when
# `mfctl up --grace 2` gets SIGTERM; at the end of the grace the worker hands the job back, so
# the record is `queued` with its attempts unchanged (not `processing` until the visibility
# timeout of 120 s), and the next `mfctl up` starts it within 5 s and finishes it. While it
# runs, the record's progress (and eta_s) only goes up, and it ends at 100.
source "$(dirname "$0")/lib.sh"
export MF_VISIBILITY_TIMEOUT=120
source "$(dirname "$0")/mfctl_lib.sh"

ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=40" \
    -f lavfi -i "sine=frequency=440:duration=40" -c:v libx264 -preset ultrafast -g 60 \
    -pix_fmt yuv420p -c:a aac -b:a 96k "$T/clip.mp4"

# progress_log: every 0.2 s "attempts status progress eta_s" of the clip's record
progress_log() {
    local id
    while :; do
        id=$(id_of clip.mp4)
        [ -n "$id" ] && rraw HMGET "mf:file:$id" attempts status progress eta_s | paste -sd' '
        sleep 0.2
    done >>"$T/progress.log"
}

mfctl_up first --workers image=0,video=1,doc=0 --grace 2
mf_wait 20 "a video worker" workers_are video 1
progress_log &
MF_PIDS+=($!)
mf_drop clip.mp4 "$T/clip.mp4"
mf_expect_status clip.mp4 processing 30
id=$(id_of clip.mp4)
mf_wait 60 "progress reported" bash -c "[ -n \"\$(redis-cli -s '$S' --raw HGET mf:file:$id progress)\" ]"
sleep 2
t0=$(date +%s%N)
mfctl_stop first
ms=$((($(date +%s%N) - t0) / 1000000))
mf_log "stopped in ${ms} ms with --grace 2"
[ "$ms" -lt 15000 ] || mf_fail "stopping took ${ms} ms"
grep -q "hand" "$T/logs/first.log" || mf_fail "mfctl did not ask the worker to hand its job back"
# the fleet's redis stopped too: look at the record in its append-only file, read by a
# redis-server of our own on the same state_dir
redis-server --port 0 --unixsocket "$S" --dir "$T/state" --appendonly yes --save "" \
    --daemonize no >"$T/logs/peek.log" 2>&1 &
peek=$!
mf_wait 10 "the state's redis to answer" rraw ping
mf_assert_eq "$(field "$id" status)" queued "status after the hand-back"
mf_assert_eq "$(field "$id" attempts)" 0 "attempts after the hand-back (unchanged)"
[ -z "$(field "$id" progress)" ] || mf_fail "progress left on a handed-back job"
kill -TERM "$peek"
wait "$peek" || true
mfctl_up second --workers image=0,video=1,doc=0 --grace 2
t1=$(date +%s%N)
mf_expect_status clip.mp4 processing 20
ms=$((($(date +%s%N) - t1) / 1000000))
mf_log "taken again ${ms} ms after the restart (visibility_timeout 120 s)"
[ "$ms" -le 10000 ] || mf_fail "the handed-back job waited ${ms} ms (want within 5 s)"
mf_expect_status clip.mp4 done 280
mf_assert_eq "$(field "$id" attempts)" 1 "attempts when done"
mf_assert_eq "$(field "$id" progress)" 100 "progress when done"
[ -z "$(field "$id" eta_s)" ] || mf_fail "eta_s left on a done record"
# progress within a delivery only goes up (a delivery ends when the record leaves
# processing: the hand-back puts it back to queued, and attempts back to 0)
awk '$2 != "processing" { p = -1; next }
     $3 != "" {
        if ($3 + 0 < p) { print "progress went down: " p " -> " $3; bad = 1 }
        p = $3 + 0; n++ }
     END { if (n < 3) { print "too few progress readings: " n; bad = 1 } exit bad }' "$T/progress.log" ||
    mf_fail "progress: $(tail -n 5 "$T/progress.log")"
mfctl_stop second
mf_pass
