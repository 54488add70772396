# mf-notifier and Redis outages: started before Redis it waits for it; Redis killed and
# restarted (persisted, as in production) while deliveries are due, it reconnects and
# delivers everything, the deliveries written before the outage included; events a dead
# notifier of another name left pending are taken over.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"
mf_setup persist

stop_redis() {
    kill -KILL "$MF_REDIS_PID"
    wait "$MF_REDIS_PID" 2>/dev/null || true
    rm -f "$T/redis.sock"
}
# event ID STATUS: a record and its event, the way the job scripts write them.
event() {
    rraw HSET "mf:file:$1" id "$1" path "$1.jpg" type image status "$2" process_duration_ms 7 \
        outputs '[]' >/dev/null
    rraw XADD mf:events '*' id "$1" status "$2" type image path "$1.jpg" >/dev/null
}

wh_receiver_start
wh_env 1
stop_redis
mf_start notifier "$MF_BIN_DIR/mf-notifier"
sleep 1.5
kill -0 "$MF_PID_notifier" || mf_fail "mf-notifier exited when Redis was not there yet"
mf_redis_start persist
mf_wait 30 "the notifier's consumer group" wh_group_exists
event A done
mf_wait 30 "A delivered" wh_has_ok A.jpg

# B's first attempt fails (500): its retry is in Redis when Redis dies.
echo "500 1" >"$WH_CONTROL"
event B failed
mf_wait 30 "B's first attempt" test "$(wh_statuses B.jpg)" = 500
stop_redis
sleep 2
kill -0 "$MF_PID_notifier" || mf_fail "mf-notifier died while Redis was down"
mf_redis_start persist
event C done
mf_wait 60 "B delivered after the outage" wh_has_ok B.jpg
mf_wait 60 "C delivered after the outage" wh_has_ok C.jpg
mf_assert_eq "$(wh_ids B.jpg | wc -w)" 1 "webhook-ids of B"
grep -q 'msg="redis connection back"' "$T/logs/notifier.log" || mf_fail "no reconnect logged"
mf_assert_eq "$(wh_jq '[.[] | select(.valid | not)] | length')" 0 "requests with a bad signature"
kill -TERM "$MF_PID_notifier"
wait "$MF_PID_notifier" || mf_fail "mf-notifier exited $? on SIGTERM"

# An event read by a notifier that died and never came back under its name (a new pod, another
# host) is taken over once it has been pending a minute (XCLAIM ... IDLE ages it here).
event D done
entry=$(rraw XREADGROUP GROUP notifier ghost COUNT 10 STREAMS mf:events '>' | grep -m1 -E '^[0-9]+-[0-9]+$')
[ -n "$entry" ] || mf_fail "no entry read by the ghost consumer"
rraw XCLAIM mf:events notifier ghost 0 "$entry" IDLE 120000 >/dev/null
mf_start notifier2 "$MF_BIN_DIR/mf-notifier"
mf_wait 60 "D delivered by the notifier that took it over" wh_has_ok D.jpg
grep -q 'msg="took over events another notifier left" count=1' "$T/logs/notifier2.log" ||
    mf_fail "no take-over logged"
kill -TERM "$MF_PID_notifier2"
wait "$MF_PID_notifier2" || mf_fail "mf-notifier exited $? on SIGTERM"
mf_pass
