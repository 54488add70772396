#!/usr/bin/env bash
# Dispatcher alone (no workers, so jobs stay `queued`): the record of an upload in a folder
# made after the start, its job on the lane's stream, duplicates, unsupported files, a path
# written again with new content, and --check-config.
source "$(dirname "$0")/lib.sh"
mf_setup
D=$MF_BIN_DIR/mf-dispatcher
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# --check-config: the effective config, exit 0; a bad value: exit 2 naming it
"$D" --check-config --max-input-bytes=1234 >"$T/cfg.ini" || mf_fail "--check-config exited $?"
grep -q '^max_input_bytes = 1234$' "$T/cfg.ini" || mf_fail "flag not in the effective config"
grep -q "^inbox = $MF_INBOX\$" "$T/cfg.ini" || mf_fail "MF_INBOX not in the effective config"
rc=0
"$D" --check-config --max-input-bytes=lots 2>"$T/cfg.err" || rc=$?
mf_assert_eq "$rc" 2 "exit status of a bad --check-config"
grep -q max_input_bytes "$T/cfg.err" || mf_fail "bad config error does not name the setting"

mf_start dispatcher "$D"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
# the consumer group of every lane exists from the start, before any job
for lane in $MF_LANES; do
    rraw XINFO GROUPS "mf:q:$lane" | grep -qx workers || mf_fail "no group workers on mf:q:$lane"
done

# 1. a folder created after the start, a file written into it at once
mk_jpeg "$T/cat.jpg"
mkdir "$MF_INBOX/photos"
cp "$T/cat.jpg" "$MF_INBOX/photos/cat.jpg"
mf_expect_status photos/cat.jpg queued 10
id=$(id_of photos/cat.jpg)
mf_assert_eq "$(field "$id" id)" "$id" "id"
mf_assert_eq "$(field "$id" path)" photos/cat.jpg "path"
mf_assert_eq "$(field "$id" size)" "$(stat -c %s "$T/cat.jpg")" "size"
mf_assert_eq "$(field "$id" mime)" image/jpeg "mime"
mf_assert_eq "$(field "$id" type)" image "type"
mf_assert_eq "$(field "$id" sha256)" "$(sha256sum "$T/cat.jpg" | cut -d' ' -f1)" "sha256"
mf_assert_eq "$(field "$id" profile)" default "profile"
mf_assert_eq "$(field "$id" attempts)" 0 "attempts"
[[ "$(field "$id" received_at)" =~ $ISO ]] || mf_fail "received_at not ISO: $(field "$id" received_at)"
[[ "$(field "$id" queued_at)" =~ $ISO ]] || mf_fail "queued_at not ISO: $(field "$id" queued_at)"
rraw XRANGE mf:q:image - + | grep -qx "$id" || mf_fail "no job for $id on mf:q:image"
mf_assert_eq "$(rraw XLEN mf:q:image)" 1 "jobs on mf:q:image (before the other images)"
mf_assert_eq "$(rraw GET "mf:sha:$(field "$id" sha256)")" "$id" "mf:sha entry"

# 1b. files that land before their folder's watch can exist: a tree made while the
# dispatcher is frozen, and a prepared tree moved in; only the scan of a new folder sees them
kill -STOP "$MF_PID_dispatcher"
mkdir -p "$MF_INBOX/burst/deeper/deepest"
mk_png "$MF_INBOX/burst/a.png"
mk_png "$MF_INBOX/burst/deeper/deepest/b.png"
kill -CONT "$MF_PID_dispatcher"
mkdir -p "$T/prepared/sub"
mk_png "$T/prepared/sub/c.png"
mv "$T/prepared" "$MF_INBOX/moved-in"
for p in burst/a.png burst/deeper/deepest/b.png moved-in/sub/c.png; do
    mf_expect_status "$p" queued 10
done
# and their folders are watched from then on
mk_png "$MF_INBOX/burst/deeper/deepest/later.png"
mk_png "$MF_INBOX/moved-in/sub/later.png"
mf_expect_status burst/deeper/deepest/later.png queued 10
mf_expect_status moved-in/sub/later.png queued 10
XLEN_BEFORE=$(rraw XLEN mf:q:image)

# 2. the same content again, elsewhere: duplicate of the first, no new job
cp "$T/cat.jpg" "$MF_INBOX/again.jpg"
mf_expect_status again.jpg duplicate 10
mf_assert_eq "$(field "$(id_of again.jpg)" duplicate_of)" "$id" "duplicate_of"
mf_assert_eq "$(rraw XLEN mf:q:image)" "$XLEN_BEFORE" "jobs after a duplicate"

# 3. a text file: unsupported, type other, with an error saying why
printf 'a note written at %s\n' "$(date +%s%N)" >"$MF_INBOX/photos/note.txt"
mf_expect_status photos/note.txt unsupported 10
nid=$(id_of photos/note.txt)
mf_assert_eq "$(field "$nid" type)" other "type of a text file"
mf_assert_eq "$(field "$nid" mime)" text/plain "mime of a text file"
[ -n "$(field "$nid" error)" ] || mf_fail "unsupported record without an error"

# 4. the same path written again with new content: a new upload, mf:paths points at it
mk_jpeg "$T/cat2.jpg"
cp "$T/cat2.jpg" "$T/cat2.tmp" && mv "$T/cat2.tmp" "$MF_INBOX/photos/cat.jpg"
id_changed() { [ "$(id_of "$1")" != "$2" ]; }
mf_wait 10 "photos/cat.jpg to get a new id" id_changed photos/cat.jpg "$id"
id2=$(id_of photos/cat.jpg)
mf_assert_eq "$(field "$id2" sha256)" "$(sha256sum "$T/cat2.jpg" | cut -d' ' -f1)" "new sha256"
mf_assert_eq "$(field "$id2" status)" queued "status of the new upload"
mf_assert_eq "$(field "$id" status)" queued "the first upload keeps its record"
mf_assert_eq "$(rraw XLEN mf:q:image)" $((XLEN_BEFORE + 1)) "jobs after the new upload"

# 5. an MP4 and a PDF go to their lanes
ffmpeg -loglevel error -f lavfi -i testsrc=d=1:s=64x64 -y "$T/clip.mp4"
cp "$T/clip.mp4" "$MF_INBOX/clip.mp4"
printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%% %s\n' \
    "$(date +%s%N)" >"$MF_INBOX/doc.pdf"
mf_expect_status clip.mp4 queued 10
mf_expect_status doc.pdf queued 10
mf_assert_eq "$(field "$(id_of clip.mp4)" type)" video "type of an mp4"
mf_assert_eq "$(field "$(id_of doc.pdf)" type)" doc "type of a pdf"
mf_assert_eq "$(rraw XLEN mf:q:video)" 1 "jobs on mf:q:video"
mf_assert_eq "$(rraw XLEN mf:q:doc)" 1 "jobs on mf:q:doc"

kill -TERM "$MF_PID_dispatcher"
rc=0
wait "$MF_PID_dispatcher" || rc=$?
mf_assert_eq "$rc" 0 "exit status after SIGTERM"
mf_pass
