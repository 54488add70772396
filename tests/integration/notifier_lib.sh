# Helpers for the mf-notifier tests (sourced after lib.sh): a Standard Webhooks receiver on
# the loopback interface (webhook_receiver.py) and queries on what it recorded.
WH_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# wh_receiver_start: runs the receiver; sets WH_URL, WH_OUT (one JSON line per request) and
# WH_CONTROL (fault injection, see webhook_receiver.py).
wh_receiver_start() {
    WH_OUT=$T/deliveries.jsonl WH_CONTROL=$T/control
    : >"$WH_OUT"
    : >"$WH_CONTROL"
    mf_start receiver python3 "$(dirname "$0")/webhook_receiver.py" --port-file "$T/port" \
        --secret "$WH_SECRET" --out "$WH_OUT" --control "$WH_CONTROL"
    mf_wait 20 "the receiver listens" test -s "$T/port"
    WH_URL="http://127.0.0.1:$(cat "$T/port")/hook"
}

# wh_env [allow_private]: the notifier's settings for the receiver (short retry schedule).
wh_env() {
    export MF_WEBHOOK_URLS=$WH_URL MF_WEBHOOK_SECRET=$WH_SECRET
    export MF_WEBHOOK_ALLOW_PRIVATE=${1:-1} MF_WEBHOOK_RETRY_SCHEDULE=0,1,1
}

# wh_notifier_start NAME: starts mf-notifier and waits for its consumer group.
wh_notifier_start() {
    mf_start "$1" "$MF_BIN_DIR/mf-notifier"
    mf_wait 20 "the notifier's consumer group" wh_group_exists
}
wh_group_exists() { rraw XINFO GROUPS mf:events 2>/dev/null | grep -qx notifier; }

# wh_jq FILTER: jq -s over the recorded requests.
wh_jq() { jq -r -s "$1" "$WH_OUT"; }
# wh_ok_count PATH: requests answered 200 with a valid signature for the record of PATH.
wh_ok_count() {
    wh_jq "[.[] | select(.status == 200 and .valid and .body.data.path == \"$1\")] | length"
}
wh_has_ok() { [ "$(wh_ok_count "$1")" -ge 1 ]; }
# wh_statuses PATH: the statuses answered for PATH's requests, in order, comma-separated.
wh_statuses() { wh_jq "[.[] | select(.body.data.path == \"$1\") | .status] | map(tostring) | join(\",\")"; }
# wh_ids PATH: the distinct webhook-ids of PATH's requests.
wh_ids() { wh_jq "[.[] | select(.body.data.path == \"$1\") | .id] | unique | join(\" \")"; }
wh_dlq_len_is() { [ "$(rraw XLEN mf:webhooks:dlq)" = "$1" ]; }
# wh_settled: the notifier has read every event in the stream and acknowledged it.
wh_settled() {
    local last
    last=$(rraw XREVRANGE mf:events + - COUNT 1 | head -1)
    rraw XINFO GROUPS mf:events | grep -qx "$last" &&
        [ "$(rraw XPENDING mf:events notifier | head -1)" = 0 ]
}
