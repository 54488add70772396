#!/usr/bin/env bash
# Files no lane should see are refused by the dispatcher from their size, before hashing: an
# empty upload and one over max_input_bytes get a failed record that says why, no job, and
# are nobody's duplicate. (Issue 15, items 11 and 14.)
source "$(dirname "$0")/lib.sh"
mf_setup
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"

# two empty files: each failed on its own, neither a duplicate of the other
: >"$MF_INBOX/empty.jpg"
: >"$MF_INBOX/empty2.txt"
for p in empty.jpg empty2.txt; do
    mf_expect_status "$p" failed 10
    id=$(id_of "$p")
    mf_assert_eq "$(field "$id" error)" "file is empty" "error of $p"
    mf_assert_eq "$(field "$id" duplicate_of)" "" "duplicate_of of $p"
    mf_assert_eq "$(field "$id" size)" 0 "size of $p"
done

# a sparse 5 GiB file that starts like an MP4 (made by ffmpeg): refused at once, no hashing
ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=5 -t 1 -pix_fmt yuv420p "$T/head.mp4"
cp "$T/head.mp4" "$T/huge.mp4"
truncate -s 5G "$T/huge.mp4"
mv "$T/huge.mp4" "$MF_INBOX/huge.mp4"
mf_expect_status huge.mp4 failed 10
id=$(id_of huge.mp4)
mf_assert_eq "$(field "$id" error)" "file is 5.0 GiB, over the 4.0 GiB limit max_input_bytes" \
    "error of huge.mp4"
mf_assert_eq "$(field "$id" type)" video "type of huge.mp4"
mf_assert_eq "$(field "$id" mime)" video/mp4 "mime of huge.mp4"
mf_assert_eq "$(field "$id" size)" 5368709120 "size of huge.mp4"
mf_assert_eq "$(field "$id" sha256)" "" "sha256 of huge.mp4 (not hashed)"
# no job on any lane, and the refusals are in the events with their error
for lane in $MF_LANES; do
    mf_assert_eq "$(rraw XLEN "mf:q:$lane")" 0 "jobs on mf:q:$lane"
done
rraw XRANGE mf:events - + | grep -qx "file is 5.0 GiB, over the 4.0 GiB limit max_input_bytes" ||
    mf_fail "the refusal is not in mf:events"
grep -q 'status=failed .*path="huge.mp4" error="file is 5.0 GiB' "$T/logs/dispatcher.log" ||
    mf_fail "the dispatcher did not log the refusal"

# the same file again after a restart is known, not recorded twice
kill -TERM "$MF_PID_dispatcher"
wait "$MF_PID_dispatcher" || mf_fail "dispatcher exit status"
mf_start dispatcher2 "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher2.log"
mf_assert_eq "$(rraw KEYS 'mf:file:*' | wc -l)" 3 "records after the restart"

# a limit set lower is named with its figures; a file at the limit is accepted
export MF_MAX_INPUT_BYTES=$(stat -c %s "$T/head.mp4")
kill -TERM "$MF_PID_dispatcher2"
wait "$MF_PID_dispatcher2" || mf_fail "dispatcher exit status"
mf_start dispatcher3 "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher3.log"
mf_drop at-limit.mp4 "$T/head.mp4"
head -c 100000 /dev/urandom >>"$T/head.mp4"
mf_drop over.mp4 "$T/head.mp4"
mf_expect_status at-limit.mp4 queued 10
mf_expect_status over.mp4 failed 10
field "$(id_of over.mp4)" error | grep -Eq '^file is [0-9.]+ KiB, over the [0-9.]+ KiB limit max_input_bytes$' ||
    mf_fail "error of over.mp4: $(field "$(id_of over.mp4)" error)"
mf_pass
