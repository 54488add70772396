# Executor crashes: an executor SIGKILLed mid-job (as the OOM killer or a decoder crash
# would end it) costs one attempt; the job is retried and done on attempt 2 by the same,
# still running worker. A file whose executor dies on every attempt ends failed, in the DLQ,
# after max_attempts, with an error that says so.
source "$(dirname "$0")/lib.sh"
mf_setup

# executor_of PID: the worker's executor child, once it exists.
executor_of() { pgrep -P "$1" | head -1; }
# decoding REL: true while the worker's executor has the input REL open.
decoding() {
    local ex
    ex=$(executor_of "$MF_PID_worker")
    [ -n "$ex" ] && ls -l "/proc/$ex/fd/" 2>/dev/null | grep -q -- "/$1\$"
}
# kill_mid_job ID ATTEMPT REL: waits until ID is processing attempt ATTEMPT and its executor
# (a fresh one after a crash, which first loads its libraries) has the input open, then
# SIGKILLs the executor while it decodes.
kill_mid_job() {
    local id=$1 n=$2 rel=$3 ex
    mf_wait 30 "$id processing attempt $n" \
        bash -c "[ \"\$(redis-cli -s $T/redis.sock --raw HMGET mf:file:$id status attempts | paste -sd' ')\" = 'processing $n' ]"
    mf_wait 30 "the executor to open $rel" decoding "$rel"
    sleep 0.2
    ex=$(executor_of "$MF_PID_worker")
    kill -KILL "$ex"
    mf_log "killed executor $ex of $id on attempt $n"
}

# A PNG gets no shrink-on-load: decoding 81 MP of noise takes a second or more.
vips gaussnoise "$MF_INBOX/slow.png" 9000 9000
cp "$MF_INBOX/slow.png" "$MF_INBOX/doomed.png"
export MF_MAX_ATTEMPTS=3
mf_start worker "$MF_BIN_DIR/mf-worker-image"

id=$(mf_enqueue slow.png image/png)
kill_mid_job "$id" 1 slow.png
mf_expect_status slow.png done 60
mf_assert_eq "$(field "$id" attempts)" 2 "attempts after one crash"
mf_assert_eq "$(field "$id" error)" "" "error cleared once done"
[ -s "$MF_OUTBOX/$id/preview-1280.webp" ] || mf_fail "no preview after the retry"
ls -A "$MF_OUTBOX/$id" | grep -q '\.tmp\.' && mf_fail "temporary files left: $(ls -A "$MF_OUTBOX/$id")"
grep -q 'processing crashed: SIGKILL (signal 9)' "$T/logs/worker.log" ||
    mf_fail "the crash was not reported as such"

id=$(mf_enqueue doomed.png image/png)
for n in 1 2 3; do kill_mid_job "$id" "$n" doomed.png; done
mf_expect_status doomed.png failed 30
mf_assert_eq "$(field "$id" attempts)" 3 "attempts of a file that always crashes"
mf_assert_eq "$(field "$id" error)" "processing crashed: SIGKILL (signal 9)" "error"
mf_assert_eq "$(rraw XLEN mf:dlq:image)" 1 "dlq length"
mf_assert_eq "$(rraw XRANGE mf:dlq:image - + | sed -n 3p)" "$id" "dlq entry"

kill -0 "$MF_PID_worker" || mf_fail "the worker died with its executor"
mf_pass
