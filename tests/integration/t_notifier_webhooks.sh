# Webhooks end to end: real redis-server, mf-dispatcher, mf-worker-image and mf-notifier,
# delivering to a receiver on the loopback interface (webhook_allow_private=1) that verifies
# every signature the way the Standard Webhooks specification says. Asserts what an
# integrator sees: one signed delivery per processed file with process_duration_ms; retries
# with the same webhook-id; no redirect followed; dead letters, `mfctl webhooks replay`;
# 410 disabling the endpoint and `mfctl webhooks enable`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/notifier_lib.sh"
mf_setup
MFCTL=$MF_BIN_DIR/mfctl

wh_receiver_start
wh_env 1
wh_notifier_start notifier
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"

drop_jpeg() {
    mk_jpeg "$T/src.jpg" 320 240
    mf_drop "$1" "$T/src.jpg"
}

# 20 files -> 20 signed deliveries of record.done with process_duration_ms.
for i in $(seq -w 1 20); do drop_jpeg "batch/p$i.jpg"; done
for i in $(seq -w 1 20); do mf_expect_status "batch/p$i.jpg" done 120; done
mf_wait 60 "20 deliveries" test "$(wh_jq '[.[] | select(.status == 200)] | length')" -ge 20
mf_assert_eq "$(wh_jq '[.[] | select(.valid | not)] | length')" 0 "requests with a bad signature"
mf_assert_eq "$(wh_jq '[.[] | .body.data.id] | unique | length')" 20 "records delivered"
mf_assert_eq "$(wh_jq '[.[] | .id] | unique | length')" 20 "distinct webhook-ids"
mf_assert_eq "$(wh_jq '[.[] | select(.body.type == "record.done")] | length')" 20 "record.done"
for i in $(seq -w 1 20); do
    p=batch/p$i.jpg
    id=$(id_of "$p")
    got=$(wh_jq "[.[] | select(.body.data.path == \"$p\")][0].body.data")
    mf_assert_eq "$(jq -r .id <<<"$got")" "$id" "record id in the body of $p"
    mf_assert_eq "$(jq -r .process_duration_ms <<<"$got")" "$(field "$id" process_duration_ms)" \
        "process_duration_ms of $p"
    mf_assert_eq "$(jq -r '[.lane, .status, .sha256] | join(" ")' <<<"$got")" \
        "image done $(field "$id" sha256)" "lane status sha256 of $p"
    mf_assert_eq "$(jq -c .outputs <<<"$got")" "$(field "$id" outputs)" "outputs of $p"
done
"$MFCTL" webhooks list | grep -q "^$WH_URL state=enabled ok=20 " ||
    mf_fail "webhooks list: $("$MFCTL" webhooks list)"

# 500 twice, then 200: the third attempt delivers, with the same webhook-id every time.
echo "500 2" >"$WH_CONTROL"
drop_jpeg retry.jpg
mf_wait 60 "retry.jpg delivered" wh_has_ok retry.jpg
mf_assert_eq "$(wh_statuses retry.jpg)" "500,500,200" "answers for retry.jpg"
mf_assert_eq "$(wh_ids retry.jpg | wc -w)" 1 "webhook-ids of retry.jpg"
msg=$(wh_ids retry.jpg)
mf_assert_eq "$("$MFCTL" webhooks log 100 | grep " $msg " | grep -o 'outcome=[a-z]*' | tr '\n' ' ')" \
    "outcome=retry outcome=retry outcome=ok " "log of retry.jpg"
"$MFCTL" webhooks log 100 | grep " $msg " | grep -q 'attempt=1 status=500 ms=[0-9]* outcome=retry type=record.done error="HTTP 500: ok"' ||
    mf_fail "log line of the first attempt: $("$MFCTL" webhooks log 100 | grep " $msg ")"

# A redirect is a failure: not followed, dead-lettered at once.
echo "302 1" >"$WH_CONTROL"
drop_jpeg redirect.jpg
mf_wait 60 "redirect.jpg dead-lettered" wh_dlq_len_is 1
mf_assert_eq "$(wh_statuses redirect.jpg)" "302" "answers for redirect.jpg"
mf_assert_eq "$(wh_jq '[.[] | select(.path != "/hook")] | length')" 0 "requests off /hook"
"$MFCTL" webhooks dlq | grep -q 'error="HTTP 302: redirects are not followed"' ||
    mf_fail "dlq: $("$MFCTL" webhooks dlq)"

# Every attempt failing: dead-lettered after the last of the 3, then replayed.
echo "500 3" >"$WH_CONTROL"
drop_jpeg dead.jpg
mf_wait 60 "dead.jpg dead-lettered" wh_dlq_len_is 2
mf_assert_eq "$(wh_statuses dead.jpg)" "500,500,500" "answers for dead.jpg"
"$MFCTL" webhooks dlq | grep -q "attempts=3 error=\"HTTP 500: ok\"" ||
    mf_fail "dlq: $("$MFCTL" webhooks dlq)"
dead_msg=$(wh_ids dead.jpg)
redirect_msg=$(wh_ids redirect.jpg)
"$MFCTL" webhooks replay --all >"$T/replay.out" || mf_fail "replay failed: $(cat "$T/replay.out")"
mf_assert_eq "$(grep -c 'queued again' "$T/replay.out")" 2 "replayed"
mf_wait 60 "dead.jpg delivered after replay" wh_has_ok dead.jpg
mf_wait 60 "redirect.jpg delivered after replay" wh_has_ok redirect.jpg
mf_assert_eq "$(wh_ids dead.jpg)" "$dead_msg" "webhook-id of dead.jpg after replay"
mf_assert_eq "$(wh_ids redirect.jpg)" "$redirect_msg" "webhook-id of redirect.jpg after replay"
mf_assert_eq "$(rraw XLEN mf:webhooks:dlq)" 0 "dlq after replay"
mf_assert_eq "$(rraw ZCARD mf:webhooks:pending)" 0 "pending deliveries"

# 410 Gone disables the endpoint: nothing more is sent until it is enabled again.
echo "410 1" >"$WH_CONTROL"
drop_jpeg gone.jpg
mf_wait 60 "the endpoint disabled" sh -c "'$MFCTL' webhooks list | grep -q 'state=disabled'"
"$MFCTL" webhooks list | grep -q 'reason="the receiver answered 410 Gone"' ||
    mf_fail "list: $("$MFCTL" webhooks list)"
drop_jpeg after.jpg
mf_expect_status after.jpg done 60
mf_wait 60 "the notifier read every event" wh_settled
mf_assert_eq "$(wh_statuses after.jpg)" "" "requests for after.jpg to a disabled endpoint"
"$MFCTL" webhooks enable "$WH_URL" | grep -q enabled || mf_fail "enable"
mf_wait 20 "the endpoint enabled" sh -c "'$MFCTL' webhooks list | grep -q 'state=enabled'"
# the notifier takes the change at its next scan (1 s); an event it reads before that is
# still one for a disabled endpoint
mf_wait 20 "the notifier to see the endpoint enabled" grep -q 'msg="webhook endpoint enabled"' \
    "$T/logs/notifier.log"
drop_jpeg again.jpg
mf_wait 60 "again.jpg delivered" wh_has_ok again.jpg

# SIGTERM drains and exits 0.
kill -TERM "$MF_PID_notifier"
wait "$MF_PID_notifier" || mf_fail "mf-notifier exited $? on SIGTERM"
grep -q 'msg="stopped"' "$T/logs/notifier.log" || mf_fail "no stop line"
mf_pass
