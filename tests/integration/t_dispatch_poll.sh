#!/usr/bin/env bash
# watch=poll on a plain folder (no inotify at all): files are found by polling, catch-up
# included; a file is recorded only once its size and mtime held over two polls, so a file
# still growing between polls is recorded once, whole. Polls are told apart by the
# dispatcher's debug line `msg=polled pass=N`; the dispatcher is stopped (SIGSTOP) while the
# file changes, so each change lands between two known polls.
source "$(dirname "$0")/lib.sh"
mf_setup
D=$MF_BIN_DIR/mf-dispatcher
export MF_WATCH=poll MF_POLL_INTERVAL_S=2
LOG=$T/logs/dispatcher.log

# a file there before the start: found by the polls (the start-up scan leaves it to them)
mk_jpeg "$MF_INBOX/before.jpg"
rc=0
"$D" --check-config --watch=sometimes 2>"$T/cfg.err" || rc=$?
mf_assert_eq "$rc" 2 "exit status of watch=sometimes"
grep -q "watch 'sometimes' is not one of auto inotify poll" "$T/cfg.err" || mf_fail "bad watch not named"

mf_start dispatcher "$D"
mf_wait 10 "polling the inbox" grep -q 'msg="polling folder" dir="" fs=any' "$LOG"
mf_expect_status before.jpg queued 20
# no inotify: the dispatcher holds no inotify instance
if ls -l /proc/"$MF_PID_dispatcher"/fd 2>/dev/null | grep -q inotify; then
    mf_fail "watch=poll still uses inotify"
fi

# a new folder and a file in it, written while the dispatcher runs
mkdir -p "$MF_INBOX/a/b"
mk_png "$MF_INBOX/a/b/new.png"
mf_expect_status a/b/new.png queued 20

last_pass() { sed -n 's/.*msg=polled pass=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1; }
# waits for a poll after pass $1, then stops the dispatcher
poll_then_stop() {
    local after=$1
    mf_wait 20 "a poll after pass $after" bash -c "[ \"\$(sed -n 's/.*msg=polled pass=\([0-9]*\).*/\1/p' '$LOG' | tail -n 1)\" -gt $after ]"
    kill -STOP "$MF_PID_dispatcher"
}

# a growing file: half of it, one poll, the rest, one poll (changed: not recorded), then
# stable over the next poll: one record, with the whole file
head -c 300000 /dev/urandom >"$T/big.bin"
printf '%%PDF-1.4\n' | cat - "$T/big.bin" >"$T/whole.pdf"
kill -STOP "$MF_PID_dispatcher"
p=$(last_pass)
head -c 150000 "$T/whole.pdf" >"$MF_INBOX/growing.pdf"
kill -CONT "$MF_PID_dispatcher"
poll_then_stop "$p" # first sight of the half file
p=$(last_pass)
tail -c +150001 "$T/whole.pdf" >>"$MF_INBOX/growing.pdf"
kill -CONT "$MF_PID_dispatcher"
poll_then_stop "$p" # changed: still waiting
p=$(last_pass)
mf_assert_eq "$(id_of growing.pdf)" "" "record of a file that changed since the last poll"
kill -CONT "$MF_PID_dispatcher"
mf_expect_status growing.pdf queued 20
id=$(id_of growing.pdf)
mf_assert_eq "$(field "$id" size)" "$(stat -c %s "$T/whole.pdf")" "size of growing.pdf"
mf_assert_eq "$(field "$id" sha256)" "$(sha256sum "$T/whole.pdf" | cut -d' ' -f1)" "sha256 of growing.pdf"
n=0
for k in $(rraw --scan --pattern 'mf:file:*'); do
    [ "$(rraw HGET "$k" path)" = growing.pdf ] && n=$((n + 1))
done
mf_assert_eq "$n" 1 "records of growing.pdf"

# a restart does not record the polled files again
kill -TERM "$MF_PID_dispatcher"
wait "$MF_PID_dispatcher" 2>/dev/null || true
mf_start dispatcher2 "$D"
mf_wait 20 "two polls after the restart" bash -c "grep -c 'msg=polled pass=' '$T/logs/dispatcher2.log' | grep -qv '^[01]$'"
mf_assert_eq "$(rraw KEYS 'mf:file:*' | wc -l)" 3 "records after a restart"
mf_pass
