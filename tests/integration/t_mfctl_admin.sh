#!/usr/bin/env bash
# Whole-fleet admin on a running `mfctl up`: status --json and dlq --json for scripts,
# retry --all [LANE] queues every failed file again, reprocess runs done files again (same id,
# outputs replaced, attempts start over), and a job whose worker was killed shows as stalled in
# `mfctl status` with when it will be reclaimed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mfctl_lib.sh"
export MF_VISIBILITY_TIMEOUT=20

mfctl_up fleet --workers image=1
mf_wait 15 "an image worker" workers_are image 1
mk_jpeg "$T/good1.jpg"
mk_jpeg "$T/good2.jpg"
for n in bad1 bad2; do mk_jpeg "$T/$n.jpg" && head -c 3000 "$T/$n.jpg" >"$T/$n.cut" && mv "$T/$n.cut" "$T/$n.jpg"; done
for n in good1 good2 bad1 bad2; do mf_drop "$n.jpg" "$T/$n.jpg"; done
for n in good1 good2; do mf_expect_status "$n.jpg" done 30; done
for n in bad1 bad2; do mf_expect_status "$n.jpg" failed 30; done

# --- JSON for scripts
st=$("$MFCTL" status --json) || mf_fail "status --json failed"
mf_assert_eq "$(jq -r '.lanes[] | select(.lane == "image") | .dlq' <<<"$st")" 2 "status --json: image dlq"
mf_assert_eq "$(jq -r '.lanes[] | select(.lane == "image") | .workers' <<<"$st")" 1 "status --json: image workers"
mf_assert_eq "$(jq -r '.totals.done' <<<"$st")" 2 "status --json: done"
mf_assert_eq "$(jq -r '.totals.failed' <<<"$st")" 2 "status --json: failed"
mf_assert_eq "$(jq -r ".workers.hosts[\"$(hostname)\"]" <<<"$st")" 1 "status --json: workers on this host"
dlq=$("$MFCTL" dlq --json) || mf_fail "dlq --json failed"
mf_assert_eq "$(jq -r .total <<<"$dlq")" 2 "dlq --json: total"
mf_assert_eq "$(jq -r '[.jobs[].path] | sort | join(",")' <<<"$dlq")" "bad1.jpg,bad2.jpg" "dlq --json: paths"
jq -e '.jobs[0].error | test("jpe?g|premature|truncat"; "i")' <<<"$dlq" >/dev/null || mf_fail "dlq --json: no error text: $dlq"

# --- retry --all LANE
out=$("$MFCTL" retry --all image) || mf_fail "retry --all image failed"
grep -q '^2 files queued again' <<<"$out" || mf_fail "retry --all: $out"
for n in bad1 bad2; do
    mf_wait 30 "$n.jpg failed again after the retry" bash -c \
        "[ \"\$(redis-cli -s '$S' --raw HGET mf:file:$(id_of "$n.jpg") attempts)\" = 1 ] && [ \"\$(redis-cli -s '$S' --raw HGET mf:file:$(id_of "$n.jpg") status)\" = failed ]"
done
"$MFCTL" retry --all video | grep -q '^0 files queued again' || mf_fail "retry --all video"

# --- reprocess: same id, new outputs, attempts start over; only done files
g1=$(id_of good1.jpg)
before=$(field "$g1" finished_at)
thumb_before=$(stat -c %Y.%N "$MF_OUTBOX/$g1/thumb-256.webp")
sleep 1
"$MFCTL" reprocess good1.jpg | grep -q "$g1 queued again" || mf_fail "reprocess good1.jpg"
mf_wait 30 "good1.jpg done again" bash -c "[ \"\$(redis-cli -s '$S' --raw HGET mf:file:$g1 finished_at)\" != '$before' ] && [ \"\$(redis-cli -s '$S' --raw HGET mf:file:$g1 status)\" = done ]"
mf_assert_eq "$(field "$g1" attempts)" 1 "attempts after reprocess"
mf_assert_eq "$(id_of good1.jpg)" "$g1" "the record keeps its id"
[ "$(stat -c %Y.%N "$MF_OUTBOX/$g1/thumb-256.webp")" != "$thumb_before" ] || mf_fail "thumbnail not replaced"
mf_assert_eq "$(jq -r .status "$MF_OUTBOX/$g1/meta.json")" done "meta.json after reprocess"
[ -z "$(ls -A "$MF_OUTBOX" | grep '^\.')" ] || mf_fail "work folders left in the outbox: $(ls -A "$MF_OUTBOX")"
if "$MFCTL" reprocess bad1.jpg 2>"$T/err"; then mf_fail "reprocess of a failed file succeeded"; fi
grep -q "only done files" "$T/err" || mf_fail "reprocess of a failed file: $(cat "$T/err")"
"$MFCTL" reprocess --lane image | grep -q '^2 files queued again' || mf_fail "reprocess --lane image"
mf_wait 30 "every done file done again" bash -c "[ \$(redis-cli -s '$S' XLEN mf:q:image) = 0 ]"
for n in good1 good2; do mf_expect_status "$n.jpg" done 30; done
[ ! -e "$MF_OUTBOX/$(id_of bad1.jpg)" ] || mf_fail "a failed file owns outputs"

# --- a killed worker's job is shown as stalled, with when it is reclaimed
vips gaussnoise "$T/big.v" 7000 7000 >/dev/null && vips copy "$T/big.v" "$T/big.jpg" && rm -f "$T/big.v"
mf_drop big.jpg "$T/big.jpg"
mf_expect_status big.jpg processing 30
kill -9 "$(child_pid mf-worker-image)"
big=$(id_of big.jpg)
mf_wait 10 "the job listed as stalled" bash -c "'$MFCTL' status --json | jq -e '.stalled[] | select(.id == \"$big\")'"
"$MFCTL" status | grep -A2 '^stalled' | grep "$big" | grep -Eq 'in [0-9]+ s' ||
    mf_fail "status does not say when the stalled job is reclaimed: $("$MFCTL" status)"
mf_expect_status big.jpg done 60
mf_assert_eq "$(field "$big" attempts)" 2 "attempts of the reclaimed job"
# what the killed delivery had written (temporary files, a work folder) is gone
[ -z "$(ls -A "$MF_OUTBOX" | grep '^\.')" ] || mf_fail "left in the outbox: $(ls -A "$MF_OUTBOX")"
[ -z "$(ls -A "$MF_OUTBOX/$big" | grep '^\.')" ] || mf_fail "temporary files: $(ls -A "$MF_OUTBOX/$big")"
"$MFCTL" status --json | jq -e '.stalled | length == 0' >/dev/null || mf_fail "still stalled after done"
mfctl_stop fleet
mf_pass
