#!/usr/bin/env bash
# The spine, end to end, as a user meets it: `mfctl up` against a shared Redis (redis_url
# set), files dropped into a folder created after start, read back with redis-cli.
#   - photos in a new subfolder end done: the full contract record, outputs and meta.json;
#   - an upload written as .part and renamed is recorded once, under its final name;
#   - the same content again is a duplicate pointing at the first, with no outputs;
#   - a text file is unsupported; a truncated JPEG fails with a readable error and is in the DLQ;
#   - every state change of a file is in mf:events;
#   - the fleet stopped, files added, the fleet started again: the new files are processed and
#     nothing is recorded twice.
source "$(dirname "$0")/lib.sh"
mf_setup
export MF_VISIBILITY_TIMEOUT=30
export MF_HTTP_LISTEN= # no gateway: tests run side by side
MFCTL="$MF_BIN_DIR/mfctl"

fleet_up() {
    mf_start "$1" "$MFCTL" up --workers image=1
    FLEET=$(eval echo "\$MF_PID_$1")
    mf_wait 20 "the fleet's consumer group" rraw XINFO GROUPS mf:q:image
}
fleet_down() {
    local rc=0
    kill -TERM "$FLEET"
    wait "$FLEET" || rc=$?
    mf_assert_eq "$rc" 0 "exit status of mfctl up after SIGTERM"
}
records() { rraw --scan --pattern 'mf:file:*' | wc -l; }
iso() { [[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]; }

mk_jpeg "$T/a.jpg" 800 600
mk_jpeg "$T/b.jpg" 600 800
printf 'shopping list\n' >"$T/notes.txt"
head -c 3000 "$T/a.jpg" >"$T/broken.jpg"

fleet_up first
sleep 0.3
mkdir -p "$MF_INBOX/photos"                 # a folder created after the fleet started
cp "$T/a.jpg" "$MF_INBOX/photos/a.jpg"
cp "$T/b.jpg" "$MF_INBOX/photos/b.jpg.part" # a browser download, renamed when complete
sleep 0.3
mv "$MF_INBOX/photos/b.jpg.part" "$MF_INBOX/photos/b.jpg"
cp "$T/notes.txt" "$MF_INBOX/notes.txt"
cp "$T/broken.jpg" "$MF_INBOX/photos/broken.jpg"

mf_expect_status photos/a.jpg done 60
mf_expect_status photos/b.jpg done 60
mf_expect_status notes.txt unsupported 10
mf_expect_status photos/broken.jpg failed 60
cp "$T/a.jpg" "$MF_INBOX/photos/a-copy.jpg"  # same content, another name
mf_expect_status photos/a-copy.jpg duplicate 20

# the record of a processed photo: every contract field, with sensible values
a=$(id_of photos/a.jpg)
for f in id path size mime type sha256 profile status received_at queued_at started_at \
    finished_at process_duration_ms attempts worker outputs meta error duplicate_of; do
    [ "$(rraw HEXISTS "mf:file:$a" "$f")" = 1 ] || mf_fail "record lacks field $f"
done
mf_assert_eq "$(field "$a" path)" photos/a.jpg "path"
mf_assert_eq "$(field "$a" size)" "$(stat -c %s "$T/a.jpg")" "size"
mf_assert_eq "$(field "$a" mime)" image/jpeg "mime"
mf_assert_eq "$(field "$a" type)" image "type"
mf_assert_eq "$(field "$a" sha256)" "$(sha256sum "$T/a.jpg" | cut -d' ' -f1)" "sha256"
mf_assert_eq "$(field "$a" profile)" default "profile"
mf_assert_eq "$(field "$a" attempts)" 1 "attempts"
for f in received_at queued_at started_at finished_at; do
    iso "$(field "$a" "$f")" || mf_fail "$f is not ISO-8601 UTC with ms: $(field "$a" "$f")"
done
[[ $(field "$a" worker) =~ ^[^:]+:[0-9]+$ ]] || mf_fail "worker is not host:pid: $(field "$a" worker)"
[[ $(field "$a" process_duration_ms) =~ ^[0-9]+$ ]] || mf_fail "process_duration_ms"
mf_assert_eq "$(field "$a" outputs | jq -c .)" "[\"$a/thumb-256.webp\",\"$a/preview-1280.webp\"]" \
    "outputs"
mf_assert_eq "$(field "$a" meta | jq -c '[.width, .height, .format]')" '[800,600,"jpeg"]' "meta"
for o in thumb-256.webp preview-1280.webp; do
    mf_assert_eq "$(vipsheader -f vips-loader "$MF_OUTBOX/$a/$o")" webpload "$o is a WebP"
done
mf_assert_eq "$(vipsheader -f width "$MF_OUTBOX/$a/thumb-256.webp")" 256 "thumbnail width"
mf_assert_eq "$(jq -r '.status + " " + .id' "$MF_OUTBOX/$a/meta.json")" "done $a" "meta.json"
mf_assert_eq "$(mf_ls_dir "$MF_OUTBOX/$a")" "meta.json preview-1280.webp thumb-256.webp" \
    "outbox holds the outputs and nothing half-written"

# .part: one record, for the final name only
mf_assert_eq "$(rraw HEXISTS mf:paths photos/b.jpg.part)" 0 "a .part file is not recorded"
b=$(id_of photos/b.jpg)
mf_assert_eq "$(field "$b" meta | jq -c '[.width, .height]')" '[600,800]' "b meta"

# duplicate: points at the first upload, no new work
dup=$(id_of photos/a-copy.jpg)
mf_assert_eq "$(field "$dup" duplicate_of)" "$a" "duplicate_of"
[ ! -e "$MF_OUTBOX/$dup" ] || mf_fail "a duplicate produced outputs"

# unsupported and failed, with errors a person can act on
mf_assert_eq "$(field "$(id_of notes.txt)" type)" other "type of a text file"
broken=$(id_of photos/broken.jpg)
err=$(field "$broken" error)
[[ $err == *vips* || $err == *JPEG* || $err == *jpeg* ]] || mf_fail "unhelpful error: $err"
rraw XRANGE mf:dlq:image - + | grep -qx "$broken" || mf_fail "the failed job is not in the DLQ"

# events: queued -> processing -> done for the photo
mf_assert_eq "$(rraw XRANGE mf:events - + | awk -v id="$a" '
    prev == "id" {cur = $0} prev == "status" && cur == id {s = s $0 " "} {prev = $0}
    END {print s}')" "queued processing done " "events of photos/a.jpg"

# restart: files that arrive while the fleet is down are processed, nothing twice
before=$(records)
fleet_down
mk_jpeg "$MF_INBOX/photos/while-down-1.jpg" 320 240
mk_jpeg "$MF_INBOX/while-down-2.png" 300 200
fleet_up second
mf_expect_status photos/while-down-1.jpg done 60
mf_expect_status while-down-2.png done 60
sleep 1
mf_assert_eq "$(records)" "$((before + 2))" "records after the restart (no file recorded twice)"
mf_assert_eq "$(field "$a" status)" done "the first photo is untouched by the restart"
fleet_down
mf_pass
