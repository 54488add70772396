# Executor crashes: an executor SIGKILLed mid-job (as the OOM killer or a decoder crash
# would end it) costs one attempt; the job is retried and done on attempt 2 by the same,
# still running worker. A file that crashes the executor (SIGSEGV while it decodes) fails with
# the signal named, and its second crash fails it for good: failed after exactly 2 attempts
# although max_attempts allows 3, in the DLQ, never tried again; the worker lives on and
# does the next file.
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
# kill_mid_job ID ATTEMPT REL [SIGNAL]: waits until ID is processing attempt ATTEMPT and its
# executor (a fresh one after a crash, which first loads its libraries) has the input open,
# then sends it SIGNAL (default KILL) while it decodes.
kill_mid_job() {
    local id=$1 n=$2 rel=$3 sig=${4:-KILL} ex
    mf_wait 30 "$id processing attempt $n" \
        bash -c "[ \"\$(redis-cli -s $T/redis.sock --raw HMGET mf:file:$id status attempts | paste -sd' ')\" = 'processing $n' ]"
    mf_wait 30 "the executor to open $rel" decoding "$rel"
    sleep 0.2
    ex=$(executor_of "$MF_PID_worker")
    kill -"$sig" "$ex"
    mf_log "sent SIG$sig to executor $ex of $id on attempt $n"
}

# A PNG gets no shrink-on-load: decoding 81 MP of noise takes a second or more.
vips gaussnoise "$MF_INBOX/slow.png" 9000 9000
cp "$MF_INBOX/slow.png" "$MF_INBOX/doomed.png"
mk_png "$MF_INBOX/good.png"
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
for n in 1 2; do kill_mid_job "$id" "$n" doomed.png SEGV; done
mf_expect_status doomed.png failed 30
mf_assert_eq "$(field "$id" attempts)" 2 "attempts of a file that crashed twice"
mf_assert_eq "$(field "$id" crashes)" 2 "crashes recorded"
mf_assert_eq "$(field "$id" error)" \
    "processing crashed: SIGSEGV (signal 11); the file crashed the executor 2 times: not retried again" \
    "error"
mf_assert_eq "$(rraw XLEN mf:dlq:image)" 1 "dlq length"
mf_assert_eq "$(rraw XRANGE mf:dlq:image - + | sed -n 3p)" "$id" "dlq entry"
mf_assert_eq "$(rraw XRANGE mf:dlq:image - + | sed -n 7p)" 2 "dlq attempts"
[ -e "$MF_OUTBOX/$id" ] && mf_fail "a failed file has outputs: $(ls -A "$MF_OUTBOX/$id")"
grep -q 'processing crashed: SIGSEGV (signal 11)' "$T/logs/worker.log" ||
    mf_fail "the first crash was not logged with its signal"

# The same worker takes the next file; the crashed one is not delivered a third time.
good=$(mf_enqueue good.png image/png)
mf_expect_status good.png done 60
ls "$MF_OUTBOX/$good/"thumb-*.webp >/dev/null 2>&1 || mf_fail "no thumbnail of the file after the crashes"
mf_assert_eq "$(field "$good" attempts)" 1 "attempts of the next file"
sleep 2 # well past the retry back-off: a third delivery would have started by now
mf_assert_eq "$(field "$id" status) $(field "$id" attempts)" "failed 2" "crashed file left alone"

kill -0 "$MF_PID_worker" || mf_fail "the worker died with its executor"
mf_pass
