#!/usr/bin/env bash
# Many hosts, simulated on this machine (deploy/sim/hosts.sh): four network + UTS
# namespaces on a bridge, Redis over TCP on host 1, the dispatcher on host 2, one video
# worker on each of hosts 3 and 4, all sharing the inbox and outbox folders. `mfctl status`
# shows the workers per host; every process of host 3 is killed (SIGKILL) in the middle of a
# transcode, and host 4 takes that job over once the visibility timeout has passed: both
# clips end `done` with their outputs, the killed job's record names host 4 and 2 attempts,
# and each clip has exactly one `done` event (nothing lost, nothing finished twice).
# Skips (77) when network namespaces cannot be made here (not root, no CAP_SYS_ADMIN).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/video_lib.sh"
SIM=$(cd "$(dirname "$0")/../../deploy/sim" && pwd)/hosts.sh
probe=mfsprobe$$
if ! ip netns add "$probe" 2>/dev/null; then
    echo "SKIP: ip netns add is not permitted here"
    exit 77
fi
ip netns del "$probe"
command -v unshare >/dev/null || {
    echo "SKIP: no unshare"
    exit 77
}
mkdir -p "$T/logs"
D=$T # the simulation's logs in $T/logs, shown on failure
mkdir -p "$D"
trap '"$SIM" down "$D" >/dev/null 2>&1 || true; mf_cleanup' EXIT
export MF_VISIBILITY_TIMEOUT=10 MF_LOG_LEVEL=info MF_RETRY_BACKOFF_MS=100
"$SIM" up "$D" 4 video=1 >"$T/logs/sim-up.log" 2>&1 || mf_fail "hosts.sh up: $(cat "$T/logs/sim-up.log")"
source "$D/sim.env"
export MF_REDIS_URL="redis://$SIM_NET.11:6379"
H3=mfs${SIM_ID}h3
H4=mfs${SIM_ID}h4
rr() { redis-cli -h "$SIM_NET.11" --raw "$@"; }
status_has_hosts() {
    "$SIM" status "$D" >"$T/status.out" 2>&1 &&
        grep -q "^host $H3: video=1 (1 workers)" "$T/status.out" &&
        grep -q "^host $H4: video=1 (1 workers)" "$T/status.out"
}
mf_wait 30 "mfctl status to show a video worker on $H3 and on $H4" status_has_hosts

# two 1080p clips of 12 s (different sound): each worker takes one (a transcode takes many seconds here)
f=440
for c in a b; do
    f=$((f + 220)) # different content: not a duplicate
    ff -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=12" -f lavfi \
        -i "sine=frequency=$f:duration=12" -c:v libx264 -preset ultrafast -c:a aac \
        -shortest "$T/$c.mp4"
done
mv "$T/a.mp4" "$T/b.mp4" "$D/inbox/"
worker_of() { rr HGET "mf:file:$(rr HGET mf:paths "$1")" worker; }
both_are() { # STATUS: both clips' records have it
    local c
    for c in a b; do
        [ "$(rr HGET "mf:file:$(rr HGET mf:paths "$c.mp4")" status)" = "$1" ] || return 1
    done
}
mf_wait 120 "both clips processing" both_are processing
on3=
for c in a b; do
    [[ "$(worker_of "$c.mp4")" == "$H3:"* ]] && on3=$c.mp4
done
[ -n "$on3" ] || mf_fail "no clip on $H3: $(worker_of a.mp4) $(worker_of b.mp4)"
id3=$(rr HGET mf:paths "$on3")
"$SIM" kill "$D" 3
mf_assert_eq "$(ip netns pids "$H3" | wc -l)" 0 "processes left on $H3"
mf_assert_eq "$(rr HGET "mf:file:$id3" status)" processing "status of $on3 right after the kill"

mf_wait 280 "both clips done" both_are done
for c in a b; do
    id=$(rr HGET mf:paths "$c.mp4")
    [ -s "$D/outbox/$id/video-720p.mp4" ] || mf_fail "$c.mp4: no video-720p.mp4"
    n=$(rr XRANGE mf:events - + | awk -v id="$id" 'prev == "id" && $0 == id { want = 1 }
        want && prev == "status" { if ($0 == "done") n++; want = 0 } { prev = $0 } END { print n + 0 }')
    mf_assert_eq "$n" 1 "done events of $c.mp4"
done
[[ "$(worker_of "$on3")" == "$H4:"* ]] || mf_fail "$on3 finished by $(worker_of "$on3"), not $H4"
mf_assert_eq "$(rr HGET "mf:file:$id3" attempts)" 2 "attempts of $on3"
mf_assert_eq "$(rr XLEN mf:dlq:video)" 0 "dead letters"
mf_pass
