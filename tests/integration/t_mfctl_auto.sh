#!/usr/bin/env bash
# workers=auto follows the backlog by its work, not by its number of jobs: on 2 CPUs, two clips
# beside 20 scanned PDFs get a video worker each at once (a plan counting jobs gave the 20 PDFs
# the cores and left the second clip waiting for the first), the change is logged with its
# reason, and when the backlog is gone the lanes fall back to workers_min (1) after the
# plans of 6 s agree.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mfctl_lib.sh"

[ "$(nproc)" -ge 2 ] || { mf_log "needs 2 CPUs"; exit 77; }
# a cgroup v2 CPU limit below 2 lowers the budget as well (mf_ctl_cpus)
if read -r quota period 2>/dev/null </sys/fs/cgroup/cpu.max && [ "$quota" != max ] &&
    [ "$quota" -le "$period" ]; then
    mf_log "needs 2 CPUs, the cgroup allows $quota/$period"
    exit 77
fi
cpus=$(python3 -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0))[:2])))')

for i in 1 2; do
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=20,hue=h=$((i * 40))" \
        -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p "$T/clip-$i.mp4" ||
        mf_fail "ffmpeg made no clip"
done
"$MF_BIN_DIR/mf-doc-mkfixture" scan "$T/scan.pdf" 0 1 >/dev/null || mf_fail "no scan fixture"

# the CPU budget is the affinity mask: two CPUs, whatever this machine has
export MF_LOG_LEVEL=info
mf_start fleet taskset -c "$cpus" "$MFCTL" up
MFCTL_PID=$MF_PID_fleet
mf_wait 15 "the embedded redis to answer" rraw ping
mf_wait 15 "mfctl to start the dispatcher" child_pid mf-dispatcher
mf_wait 30 "a worker per lane" workers_are video 1
mf_wait 30 "a document worker" workers_are doc 1
# the backlog is built while both lanes are paused (a paused lane has no backlog to plan for),
# then handed to the planner at once
"$MFCTL" pause video doc >/dev/null || mf_fail "pause failed"
sleep 2
for i in 1 2; do mf_drop "clip-$i.mp4" "$T/clip-$i.mp4"; done
for i in $(seq 20); do
    { cat "$T/scan.pdf"; printf '%% copy %d\n' "$i"; } >"$T/s.pdf"
    mf_drop "scan-$i.pdf" "$T/s.pdf"
done
mf_expect_status clip-2.mp4 queued 30
mf_expect_status scan-20.pdf queued 30
"$MFCTL" resume video doc >/dev/null || mf_fail "resume failed"

both_clips_running() {
    [ "$(field "$(id_of clip-1.mp4)" status)" = processing ] &&
        [ "$(field "$(id_of clip-2.mp4)" status)" = processing ]
}
mf_wait 20 "both clips to be transcoded side by side" both_clips_running
w1=$(field "$(id_of clip-1.mp4)" worker)
w2=$(field "$(id_of clip-2.mp4)" worker)
[ "$w1" != "$w2" ] || mf_fail "both clips on worker $w1"
mf_assert_eq "$(live_workers video)" 2 "video workers while two clips wait"
grep -q 'msg="plan image=[0-9]* video=2 doc=[0-9]*.*reason="video backlog 2, [0-9.]* s of work"' \
    "$T/logs/fleet.log" || mf_fail "no plan line for the clips: $(grep 'msg="plan' "$T/logs/fleet.log")"
for i in 1 2; do mf_expect_status "clip-$i.mp4" done 180; done
for i in $(seq 20); do mf_expect_status "scan-$i.pdf" done 120; done
# nothing waits: back to one worker per lane, the surplus retired between jobs
mf_wait 30 "video back to workers_min" workers_are video 1
mf_wait 30 "doc back to workers_min" workers_are doc 1
grep 'msg="plan' "$T/logs/fleet.log" | tail -n 1 | grep -q 'reason="no backlog"' ||
    mf_fail "last plan: $(grep 'msg="plan' "$T/logs/fleet.log" | tail -n 1)"
mfctl_stop fleet
mf_pass
