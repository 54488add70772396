#!/usr/bin/env bash
# `mfctl up` with no Redis configured: it starts its own redis-server under state_dir, the
# dispatcher and an image worker. A dropped JPEG ends up done; `mfctl status` and `mfctl show`
# report it; a worker or the redis killed with -9 is restarted and the fleet goes on; SIGTERM
# stops everything (exit 0, no process left behind); a second `mfctl up` on the same state_dir
# still has the records (append-only file).
source "$(dirname "$0")/lib.sh"

trap mf_cleanup EXIT
mkdir -p "$T/inbox" "$T/outbox" "$T/logs"
unset MF_REDIS_URL MF_CONFIG
export MF_INBOX="$T/inbox" MF_OUTBOX="$T/outbox" MF_STATE_DIR="$T/state"
export MF_LOG_LEVEL=${MF_LOG_LEVEL:-debug} MF_RETRY_BACKOFF_MS=100
# long enough that the worker that did the job still counts as live in `mfctl status`
export MF_VISIBILITY_TIMEOUT=30
# mfctl up starts the gateway when http_listen is set: on a free loopback port here
GW_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MF_HTTP_LISTEN=127.0.0.1:$GW_PORT
MFCTL="$MF_BIN_DIR/mfctl"
S="$T/state/redis.sock"
# lib.sh's readers, pointed at the embedded redis
rcli() { redis-cli -s "$S" --no-raw "$@" 2>/dev/null | sed 's/^"\(.*\)"$/\1/'; }
rraw() { redis-cli -s "$S" --raw "$@" 2>/dev/null; }

descendants() {
    local p
    for p in $(pgrep -P "$1"); do
        echo "$p"
        descendants "$p"
    done
}
child_pid() { pgrep -P "$MFCTL_PID" -f "$1" | head -n 1; }
pid_changed() { local p; p=$(child_pid "$1") && [ -n "$p" ] && [ "$p" != "$2" ]; }

# mfctl_up NAME: `mfctl up --workers image=1` in the background, until its redis answers and
# its dispatcher and worker run.
mfctl_up() {
    mf_start "$1" "$MFCTL" up --workers image=1
    MFCTL_PID=$(eval echo "\$MF_PID_$1")
    mf_wait 15 "the embedded redis to answer" rraw ping
    mf_wait 15 "mfctl to start the dispatcher" child_pid mf-dispatcher
    mf_wait 15 "mfctl to start an image worker" child_pid mf-worker-image
}

# mfctl_stop NAME: SIGTERM; mfctl exits 0 within 15 s and leaves no process behind.
mfctl_stop() {
    local pid=$MFCTL_PID rc=0 kids p
    kids=$(descendants "$pid")
    [ -n "$kids" ] || mf_fail "$1: mfctl runs no children"
    kill -TERM "$pid"
    mf_wait 15 "mfctl ($1) to exit after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
    wait "$pid" || rc=$?
    mf_assert_eq "$rc" 0 "$1: exit status of mfctl after SIGTERM"
    for p in $kids; do
        if kill -0 "$p" 2>/dev/null; then
            mf_fail "$1: process $p ($(tr '\0' ' ' </proc/"$p"/cmdline)) outlived mfctl"
        fi
    done
    if rraw ping >/dev/null; then mf_fail "$1: the embedded redis still answers"; fi
}

mfctl_up first
mf_wait 15 "the gateway started by mfctl up to answer /healthz" curl -fsS "http://127.0.0.1:$GW_PORT/healthz"
grep -Fq "drop files into $T/inbox" "$T/logs/first.log" || mf_fail "the banner names no inbox"
grep -Fq "redis-cli -s $S HGETALL mf:file:<id>" "$T/logs/first.log" ||
    mf_fail "the banner does not show how to read a record"

mk_jpeg "$T/inbox/photo.jpg"
mf_expect_status photo.jpg done 60
id=$(id_of photo.jpg)
first=$(field "$id" outputs | jq -r '.[0]')
[ -n "$first" ] && [ "$first" != null ] || mf_fail "no outputs recorded for photo.jpg"
[ -s "$T/outbox/$first" ] || mf_fail "output $first missing from the outbox"

# status: the image lane is idle again with one live worker; one file, done
out=$("$MFCTL" status) || mf_fail "mfctl status failed"
printf '%s\n' "$out" >&2
row=$(awk '$1 == "image" {print $2, $3, $4, $5}' <<<"$out")
mf_assert_eq "$row" "0 0 0 1" "status, image lane: queued in_flight dlq workers"
grep -q '^files .*total=1 .*done=1 ' <<<"$out" || mf_fail "status: no done file"

# show: by recorded path, by a path to the file on disk, by id, and as JSON
"$MFCTL" show photo.jpg | grep -Eq '^status: +done$' || mf_fail "show photo.jpg: not done"
"$MFCTL" show "$T/inbox/photo.jpg" | grep -Eq "^id: +$id$" || mf_fail "show <file>: wrong id"
"$MFCTL" show "$id" | grep -Fxq "  $first" || mf_fail "show <id>: output $first not listed"
"$MFCTL" show --json photo.jpg | jq -e --arg id "$id" '.status == "done" and .id == $id' \
    >/dev/null || mf_fail "show --json: not the done record"
if "$MFCTL" show nothing-here.jpg 2>/dev/null; then mf_fail "show of an unknown path succeeded"; fi

# a worker killed with -9 is replaced, and the replacement works
w1=$(child_pid mf-worker-image)
kill -KILL "$w1"
mf_wait 10 "mfctl to restart the killed worker" pid_changed mf-worker-image "$w1"
grep -q 'child=worker-image/1 .*signal=9 .*restarting in 1000 ms' "$T/logs/first.log" ||
    mf_fail "the worker's death and restart are not logged"
mk_jpeg "$T/inbox/after-worker-kill.jpg"
mf_expect_status after-worker-kill.jpg done 60

# the embedded redis killed with -9 is restarted from its append-only file; the fleet
# reconnects and goes on
r1=$(child_pid redis-server)
kill -KILL "$r1"
mf_wait 15 "mfctl to restart redis" pid_changed redis-server "$r1"
mf_wait 15 "the restarted redis to answer" rraw ping
mf_assert_eq "$(field "$id" status)" done "photo.jpg's record after a redis kill -9"
mk_jpeg "$T/inbox/after-redis-kill.jpg"
mf_expect_status after-redis-kill.jpg done 60

mfctl_stop first

mfctl_up second
mf_assert_eq "$(field "$id" status)" done "photo.jpg's record after a restart of the fleet"
mf_assert_eq "$(id_of photo.jpg)" "$id" "photo.jpg's id after a restart of the fleet"
mfctl_stop second
mf_pass
