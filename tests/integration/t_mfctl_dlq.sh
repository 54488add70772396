#!/usr/bin/env bash
# A file that cannot be processed shows up in `mfctl dlq` and `mfctl status`; `mfctl retry`
# gives it a fresh start (attempts from zero, processed again, one DLQ entry, not two);
# a file that is not failed is not retried. Runs against a private redis (MF_REDIS_URL).
source "$(dirname "$0")/lib.sh"

mf_setup
MFCTL="$MF_BIN_DIR/mfctl"
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_start worker "$MF_BIN_DIR/mf-worker-image"

# a JPEG header and nothing decodable after it: libmagic says image/jpeg, libvips fails
{
    printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'
    head -c 2000 /dev/zero | tr '\0' x
} >"$T/bad.jpg"
mv "$T/bad.jpg" "$T/inbox/bad.jpg"
mk_jpeg "$T/inbox/good.jpg"
mf_expect_status bad.jpg failed 60
mf_expect_status good.jpg done 60
id=$(id_of bad.jpg)
finished1=$(field "$id" finished_at)
attempts1=$(field "$id" attempts)

dlq=$("$MFCTL" dlq) || mf_fail "mfctl dlq failed"
printf '%s\n' "$dlq" >&2
grep -Eq "^image $id attempts=[0-9]+ path=\"bad.jpg\" error=\".+\"$" <<<"$dlq" ||
    mf_fail "mfctl dlq does not list bad.jpg with its error"
grep -q '^1 dead job;' <<<"$dlq" || mf_fail "mfctl dlq: wrong count"
"$MFCTL" dlq video | grep -qx 'no dead jobs' || mf_fail "mfctl dlq video: not empty"
row=$("$MFCTL" status | awk '$1 == "image" {print $4}')
mf_assert_eq "$row" 1 "status: image dlq"

if "$MFCTL" retry good.jpg 2>"$T/retry.err"; then mf_fail "retry of a done file succeeded"; fi
grep -q 'only failed files are retried' "$T/retry.err" || mf_fail "retry of a done file: no reason"
mf_assert_eq "$(field "$(id_of good.jpg)" status)" done "good.jpg after a refused retry"

"$MFCTL" retry bad.jpg | grep -q "^$id queued again (removed from the dlq)$" ||
    mf_fail "mfctl retry bad.jpg did not report the re-queue"
# processed again from scratch: fails again, at a later time, with one DLQ entry
finished_later() { [[ "$(field "$id" finished_at)" > "$finished1" ]]; }
mf_wait 60 "bad.jpg to fail again" finished_later
mf_assert_eq "$(field "$id" status)" failed "bad.jpg after retry"
mf_assert_eq "$(field "$id" attempts)" "$attempts1" "bad.jpg attempts after retry (counted anew)"
mf_assert_eq "$(rraw XLEN mf:dlq:image)" 1 "DLQ entries of bad.jpg after retry"
mf_assert_eq "$(id_of bad.jpg)" "$id" "retry keeps the record's id"
mf_pass
