# Shutdown: SIGTERM drains (no new job is taken, the current one finishes and is recorded,
# exit 0); a second signal hands the current job back (queued again, at no cost of an
# attempt's verdict) and exits 0 at once, taking the executor with it.
source "$(dirname "$0")/lib.sh"
mf_setup

# exit_status PID: waits for a background worker; its exit status goes to $rc.
exit_status() { rc=0; wait "$1" || rc=$?; }

vips gaussnoise "$MF_INBOX/a.png" 9000 9000
cp "$MF_INBOX/a.png" "$MF_INBOX/b.png"
cp "$MF_INBOX/a.png" "$MF_INBOX/c.png"

# 1. One SIGTERM mid-job: a.png finishes, b.png is left for another worker.
mf_start w1 "$MF_BIN_DIR/mf-worker-image"
a=$(mf_enqueue a.png image/png)
b=$(mf_enqueue b.png image/png)
mf_expect_status a.png processing
kill -TERM "$MF_PID_w1"
exit_status "$MF_PID_w1"
mf_assert_eq "$rc" 0 "exit status after a drain"
mf_assert_eq "$(field "$a" status)" done "the job in flight when SIGTERM came"
[ -s "$MF_OUTBOX/$a/meta.json" ] || mf_fail "no meta.json for the drained job"
mf_assert_eq "$(field "$b" status)" queued "a job not yet taken"
mf_assert_eq "$(field "$b" attempts)" 0 "attempts of a job not yet taken"

# 2. Two signals: the job in flight is handed back at once, and picked up by the next worker.
mf_start w2 "$MF_BIN_DIR/mf-worker-image"
mf_expect_status b.png processing
ex=$(pgrep -P "$MF_PID_w2" | head -1)
kill -INT "$MF_PID_w2"
sleep 0.2
kill -INT "$MF_PID_w2"
exit_status "$MF_PID_w2"
mf_assert_eq "$rc" 0 "exit status after two signals"
[ -z "$ex" ] || ! kill -0 "$ex" 2>/dev/null || mf_fail "executor $ex outlived its worker"
mf_assert_eq "$(field "$b" status)" queued "a handed-back job (not finished, not failed)"
[ -e "$MF_OUTBOX/$b/meta.json" ] && mf_fail "the handed-back job was finished anyway"
mf_start w3 "$MF_BIN_DIR/mf-worker-image"
c=$(mf_enqueue c.png image/png)
mf_expect_status b.png done 60
mf_expect_status c.png done 60
mf_pass
