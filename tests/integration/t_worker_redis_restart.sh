# Redis is not there yet when the worker starts: it waits. Redis goes away while a job runs:
# the worker neither dies nor loses the result. The job
# finishes, the worker waits for Redis, records the result once it is back (persisted
# Redis, as in production), and goes on taking jobs.
source "$(dirname "$0")/lib.sh"
mf_setup persist

# stop_redis: kill -9, as a crash or an OOM kill would.
stop_redis() {
    kill -KILL "$MF_REDIS_PID"
    wait "$MF_REDIS_PID" 2>/dev/null || true
    rm -f "$T/redis.sock"
}

vips gaussnoise "$MF_INBOX/slow.png" 9000 9000
mk_jpeg "$MF_INBOX/after.jpg" 640 480

# A worker started before Redis waits for it.
stop_redis
mf_start worker "$MF_BIN_DIR/mf-worker-image"
sleep 1.5
kill -0 "$MF_PID_worker" || mf_fail "worker exited when Redis was not there yet"
mf_redis_start persist
mf_wait 30 "worker ready" grep -q 'worker ready' "$T/logs/worker.log"

id=$(mf_enqueue slow.png image/png)
mf_expect_status slow.png processing
stop_redis
# The job finishes during the outage; its outputs exist in its work folder, published with
# meta.json (which mirrors the record) once Redis is back.
mf_wait 30 "outputs written while Redis is down" test -s "$MF_OUTBOX/.$id.work/preview-1280.webp"
test ! -e "$MF_OUTBOX/$id" || mf_fail "outputs published before the result was recorded"
sleep 1
kill -0 "$MF_PID_worker" || mf_fail "worker died while Redis was down"
mf_redis_start persist
mf_expect_status slow.png done 30
mf_assert_eq "$(jq -r .status "$MF_OUTBOX/$id/meta.json")" done "meta.json after the outage"
mf_assert_eq "$(field "$id" attempts)" 1 "attempts (the result was kept, not redone)"
after=$(mf_enqueue after.jpg image/png)
mf_expect_status after.jpg done 30
mf_assert_eq "$(field "$after" worker)" "$(hostname):$MF_PID_worker" "same worker after the outage"
mf_pass
