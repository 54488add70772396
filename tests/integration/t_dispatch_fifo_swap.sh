#!/usr/bin/env bash
# A FIFO renamed over a queued file: the dispatcher skips the FIFO, and the worker's executor
# opens the input without blocking and fails the job at once with "not a regular file (a
# FIFO)" instead of hanging until the lane's timeout (three times). (Issue 15, item 15.)
source "$(dirname "$0")/lib.sh"
mf_setup
# the timeout is what the old behaviour ran into: its error would be "...timed out..."
export MF_TIMEOUT_IMAGE=20
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mk_jpeg "$MF_INBOX/a.jpg"
mf_expect_status a.jpg queued 10
id=$(id_of a.jpg)
mkfifo "$T/fifo"
mv "$T/fifo" "$MF_INBOX/a.jpg"
mf_wait 10 "the dispatcher skipped the FIFO" \
    grep -q 'msg="skipped" path="a.jpg" error="not a regular file (a FIFO)"' "$T/logs/dispatcher.log"
mf_assert_eq "$(id_of a.jpg)" "$id" "the FIFO got no record of its own"

mf_start worker "$MF_BIN_DIR/mf-worker-image"
worker=$MF_PID_worker
mf_expect_status a.jpg failed 60
mf_assert_eq "$(field "$id" error)" "not a regular file (a FIFO)" "error"
mf_assert_eq "$(field "$id" attempts)" 1 "attempts (a permanent failure)"
kill -0 "$worker" || mf_fail "the worker died"
# the worker goes on with the next file
mk_jpeg "$MF_INBOX/b.jpg"
mf_expect_status b.jpg done 60
mf_pass
