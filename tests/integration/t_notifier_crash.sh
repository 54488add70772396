# mf-notifier at least once: kill -9 while deliveries are in flight loses no event (a
# duplicate is allowed and carries the same webhook-id), and a loopback receiver is refused
# unless webhook_allow_private=1.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"
mf_setup

wh_receiver_start
wh_env 1
echo "slow 0.2 -1" >"$WH_CONTROL" # a slow receiver: the kill lands mid-stream
wh_notifier_start notifier
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"

n=30
for i in $(seq -w 1 $n); do
    mk_jpeg "$T/src.jpg" 200 150
    mf_drop "f$i.jpg" "$T/src.jpg"
done
mf_wait 120 "a few deliveries" test "$(wh_jq 'length')" -ge 3
kill -KILL "$MF_PID_notifier"
wait "$MF_PID_notifier" 2>/dev/null || true
before=$(wh_jq 'length')
mf_log "killed mf-notifier after $before requests"
: >"$WH_CONTROL"
wh_notifier_start notifier2
for i in $(seq -w 1 $n); do mf_expect_status "f$i.jpg" done 120; done
for i in $(seq -w 1 $n); do mf_wait 60 "f$i.jpg delivered" wh_has_ok "f$i.jpg"; done
mf_assert_eq "$(wh_jq '[.[] | select(.valid | not)] | length')" 0 "requests with a bad signature"
mf_assert_eq "$(wh_jq '[.[] | select(.status == 200) | .body.data.id] | unique | length')" "$n" \
    "records delivered"
# one event per record: every request for a record carries the same webhook-id
mf_assert_eq "$(wh_jq 'group_by(.body.data.id) | map(map(.id) | unique | length) | max')" 1 \
    "webhook-ids per record"
mf_log "requests: $(wh_jq 'length') for $n records (duplicates are allowed)"
mf_wait 30 "the notifier read every event" wh_settled
mf_assert_eq "$(rraw ZCARD mf:webhooks:pending)" 0 "pending deliveries"

# Without webhook_allow_private the loopback receiver is refused: no request, a dead letter
# that says why.
kill -TERM "$MF_PID_notifier2"
wait "$MF_PID_notifier2" || mf_fail "mf-notifier exited $? on SIGTERM"
wh_env 0
wh_notifier_start notifier3
mk_jpeg "$T/src.jpg" 200 150
mf_drop private.jpg "$T/src.jpg"
mf_wait 60 "private.jpg dead-lettered" wh_dlq_len_is 1
mf_assert_eq "$(wh_statuses private.jpg)" "" "requests for private.jpg"
"$MF_BIN_DIR/mfctl" webhooks dlq | grep -q 'error="refused: 127.0.0.1 resolves to a loopback (127.0.0.0/8) address (webhook_allow_private=0)"' ||
    mf_fail "dlq: $("$MF_BIN_DIR/mfctl" webhooks dlq)"
mf_pass
