#!/usr/bin/env bash
# `mfctl up` with no Redis configured: it starts its own redis-server under state_dir, the
# dispatcher and an image worker. A dropped JPEG ends up done; `mfctl status` and `mfctl show`
# report it; a worker or the redis killed with -9 is restarted and the fleet goes on; SIGTERM
# stops everything (exit 0, no process left behind); a second `mfctl up` on the same state_dir
# still has the records (append-only file).
source "$(dirname "$0")/lib.sh"
# long enough that the worker that did the job still counts as live in `mfctl status`
export MF_VISIBILITY_TIMEOUT=30
# mfctl up starts the gateway when http_listen is set: on a free loopback port here
GW_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MF_HTTP_LISTEN=127.0.0.1:$GW_PORT
source "$(dirname "$0")/mfctl_lib.sh"
pid_changed() { local p; p=$(child_pid "$1") && [ -n "$p" ] && [ "$p" != "$2" ]; }

# up NAME: `mfctl up --workers image=1`, until its image worker runs too.
up() {
    mfctl_up "$1" --workers image=1
    mf_wait 15 "mfctl to start an image worker" child_pid mf-worker-image
}
# down NAME: mfctl_stop, and the embedded redis is gone with it.
down() {
    mfctl_stop "$1"
    if rraw ping >/dev/null; then mf_fail "$1: the embedded redis still answers"; fi
}

up first
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

down first

up second
mf_assert_eq "$(field "$id" status)" done "photo.jpg's record after a restart of the fleet"
mf_assert_eq "$(id_of photo.jpg)" "$id" "photo.jpg's id after a restart of the fleet"
down second
mf_pass
