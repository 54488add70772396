#!/usr/bin/env bash
# A restarted dispatcher catches up on files that arrived while it was down and never
# records the same upload twice; SIGTERM exits 0; a file still being written when the
# dispatcher starts is recorded once, complete, when its writer closes it.
source "$(dirname "$0")/lib.sh"
mf_setup
D=$MF_BIN_DIR/mf-dispatcher
files() { rraw --scan --pattern 'mf:file:*' | wc -l; }
ready() { mf_wait 10 "dispatcher $1 ready" grep -q 'msg="inbox scanned"' "$T/logs/$1.log"; }

mkdir -p "$MF_INBOX/old"
for i in 1 2 3; do mk_png "$MF_INBOX/old/$i.png"; done
# 1. files present before the first start are recorded by the startup scan
mf_start d1 "$D"
ready d1
for i in 1 2 3; do mf_expect_status "old/$i.png" queued 10; done
mk_png "$MF_INBOX/live.png"
mf_expect_status live.png queued 10
mf_assert_eq "$(files)" 4 "records after the first run"
kill -TERM "$MF_PID_d1"
rc=0
wait "$MF_PID_d1" || rc=$?
mf_assert_eq "$rc" 0 "exit status after SIGTERM"

# 2. while it is down: new files, a new folder, an old path rewritten, a file being written
mkdir "$MF_INBOX/new"
for i in 1 2; do mk_png "$MF_INBOX/new/$i.png"; done
mk_png "$T/rewrite.png" && mv "$T/rewrite.png" "$MF_INBOX/old/3.png"
old3=$(id_of old/3.png)
mk_png "$T/slow.png"
exec 3>"$MF_INBOX/slow.png"
head -c 1000 "$T/slow.png" >&3

# 3. the second run records exactly the new uploads
# (3>&-: the dispatcher must not inherit the writer's fd, or it would be a writer too)
mf_start d2 "$D" 3>&-
ready d2
mf_expect_status new/1.png queued 10
mf_expect_status new/2.png queued 10
id_changed() { [ "$(id_of "$1")" != "$2" ]; }
mf_wait 10 "old/3.png to be recorded again" id_changed old/3.png "$old3"
mf_assert_eq "$(files)" 7 "records after the restart (4 + 2 new + 1 rewritten)"
# the half-written file waits for its writer
sleep 0.5
[ -z "$(id_of slow.png)" ] || mf_fail "slow.png recorded while still being written"
tail -c +1001 "$T/slow.png" >&3
exec 3>&-
mf_expect_status slow.png queued 10
mf_assert_eq "$(field "$(id_of slow.png)" size)" "$(stat -c %s "$T/slow.png")" "size of slow.png"
mf_assert_eq "$(field "$(id_of slow.png)" sha256)" "$(sha256sum "$T/slow.png" | cut -d' ' -f1)" \
    "sha256 of slow.png"
mf_assert_eq "$(files)" 8 "records after the slow file"

# 4. a third start with nothing new records nothing
kill -TERM "$MF_PID_d2"
wait "$MF_PID_d2" || mf_fail "second dispatcher exited $?"
mf_start d3 "$D"
ready d3
sleep 0.3
mf_assert_eq "$(files)" 8 "records after a restart with nothing new"
grep -q 'msg="inbox scanned" files=7 new=0' "$T/logs/d3.log" ||
    mf_fail "third scan: $(grep 'inbox scanned' "$T/logs/d3.log")"
mf_pass
