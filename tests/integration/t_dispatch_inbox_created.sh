#!/usr/bin/env bash
# A fresh shared volume (an empty Kubernetes claim) has no inbox folder: the dispatcher makes
# it and takes uploads into it; --check-config only reports it missing; an inbox path that is
# a file stays an error.
source "$(dirname "$0")/lib.sh"
mf_setup
D=$MF_BIN_DIR/mf-dispatcher
export MF_INBOX="$T/volume/inbox"

out=$("$D" --check-config 2>&1) && mf_fail "--check-config passed without an inbox: $out"
grep -q "inbox $MF_INBOX is not a folder" <<<"$out" || mf_fail "--check-config said: $out"
[ ! -e "$MF_INBOX" ] || mf_fail "--check-config made the inbox"

mf_start d "$D"
mf_wait 10 "the dispatcher to scan its new inbox" grep -q 'msg="inbox scanned"' "$T/logs/d.log"
[ -d "$MF_INBOX" ] || mf_fail "no inbox folder made"
"$D" --check-config >/dev/null || mf_fail "--check-config fails with the inbox made"
mk_png "$T/a.png"
mf_drop a.png "$T/a.png"
mf_expect_status a.png queued 10
kill -TERM "$MF_PID_d"
wait "$MF_PID_d" || mf_fail "dispatcher exit status $?"

# a file where the inbox should be is not replaced
rm -rf "$T/volume" && mkdir -p "$T/volume" && echo x >"$MF_INBOX"
out=$("$D" 2>&1) && mf_fail "dispatcher ran with a file as its inbox"
grep -q "is not a folder" <<<"$out" || mf_fail "dispatcher said: $out"
mf_pass
