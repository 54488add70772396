# kill -9 of a worker mid-job: its executor dies with it (no orphan decoding), another
# worker reclaims the job after the visibility timeout and finishes it (attempts 2). When
# workers keep dying on a file, the next worker gives up after max_attempts with an error
# that says what happened, and the job goes to the DLQ.
source "$(dirname "$0")/lib.sh"
mf_setup

# kill_worker_mid_job NAME ID ATTEMPT: waits for ATTEMPT of ID on worker NAME, kill -9s it.
kill_worker_mid_job() {
    local pidvar=MF_PID_$1 id=$2 n=$3 pid ex
    pid=${!pidvar}
    mf_wait 30 "$id processing attempt $n" \
        bash -c "[ \"\$(redis-cli -s $T/redis.sock --raw HMGET mf:file:$id status attempts | paste -sd' ')\" = 'processing $n' ]"
    mf_assert_eq "$(field "$id" worker)" "$(hostname):$pid" "worker holding attempt $n"
    ex=$(pgrep -P "$pid" | head -1)
    [ -n "$ex" ] || mf_fail "no executor under $1"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    mf_wait 5 "executor $ex to die with its worker" bash -c "! kill -0 $ex 2>/dev/null || grep -q '^State:.*Z' /proc/$ex/status"
}

vips gaussnoise "$MF_INBOX/slow.png" 9000 9000
cp "$MF_INBOX/slow.png" "$MF_INBOX/cursed.png"

mf_start w1 "$MF_BIN_DIR/mf-worker-image"
id=$(mf_enqueue slow.png image/png)
kill_worker_mid_job w1 "$id" 1
mf_start w2 "$MF_BIN_DIR/mf-worker-image"
mf_expect_status slow.png done 60
mf_assert_eq "$(field "$id" attempts)" 2 "attempts after a dead worker"
mf_assert_eq "$(field "$id" worker)" "$(hostname):$MF_PID_w2" "worker of the finished attempt"
kill -TERM "$MF_PID_w2"
wait "$MF_PID_w2" || true

export MF_MAX_ATTEMPTS=2
id=$(mf_enqueue cursed.png image/png)
mf_start w3 "$MF_BIN_DIR/mf-worker-image"
kill_worker_mid_job w3 "$id" 1
mf_start w4 "$MF_BIN_DIR/mf-worker-image"
kill_worker_mid_job w4 "$id" 2
mf_start w5 "$MF_BIN_DIR/mf-worker-image"
mf_expect_status cursed.png failed 30
mf_assert_eq "$(field "$id" error)" \
    "gave up after 2 attempts: worker died while processing (crash, kill or timeout)" "error"
mf_assert_eq "$(rraw XLEN mf:dlq:image)" 1 "dlq length"
mf_pass
