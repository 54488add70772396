#!/usr/bin/env bash
# Redis goes away while uploads keep arriving: the dispatcher keeps them, reconnects with
# back-off when Redis is back, records every one (including a folder made meanwhile, found
# by the rescan that follows a reconnect) and never loses or doubles a file.
source "$(dirname "$0")/lib.sh"
mf_setup persist
files() { rraw --scan --pattern 'mf:file:*' | wc -l; }
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mk_png "$MF_INBOX/before.png"
mf_expect_status before.png queued 10

kill -TERM "$MF_REDIS_PID"
wait "$MF_REDIS_PID" 2>/dev/null || true
for i in 1 2 3; do mk_png "$MF_INBOX/during-$i.png"; done
mkdir "$MF_INBOX/made-while-down"
mk_png "$MF_INBOX/made-while-down/x.png"
mf_wait 10 "the dispatcher to notice" grep -q 'cannot record in redis' "$T/logs/dispatcher.log"
sleep 1
kill -0 "$MF_PID_dispatcher" || mf_fail "dispatcher died while redis was down"

mf_redis_start persist
for p in during-1.png during-2.png during-3.png made-while-down/x.png; do
    mf_expect_status "$p" queued 20
done
mf_assert_eq "$(files)" 5 "records"
mf_assert_eq "$(rraw XLEN mf:q:image)" 5 "jobs"
# the folder made while Redis was down is watched now
mk_png "$MF_INBOX/made-while-down/y.png"
mf_expect_status made-while-down/y.png queued 10
kill -TERM "$MF_PID_dispatcher"
wait "$MF_PID_dispatcher" || mf_fail "dispatcher exited $? on SIGTERM"

# a dispatcher started before Redis waits for it, keeping what arrives meanwhile
kill -TERM "$MF_REDIS_PID"
wait "$MF_REDIS_PID" 2>/dev/null || true
mf_start early "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "the early dispatcher to retry" grep -q 'redis unavailable, retrying' "$T/logs/early.log"
mk_png "$MF_INBOX/early.png"
sleep 0.5
mf_redis_start persist
mf_expect_status early.png queued 20
mf_assert_eq "$(files)" 7 "records at the end"
kill -TERM "$MF_PID_early"
wait "$MF_PID_early" || mf_fail "early dispatcher exited $? on SIGTERM"
mf_pass
