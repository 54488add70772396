# Image lane through Redis: jobs queued the way mf-dispatcher queues them (the record and
# stream entry of queues/lua/enqueue.lua, written here with redis-cli so this test needs
# only the worker), processed by a running mf-worker-image; asserts the records users read
# with redis-cli, the files in the outbox, meta.json, and the dead-letter queue.
source "$(dirname "$0")/lib.sh"
mf_setup

mk_jpeg "$MF_INBOX/cat.jpg" 2000 1500
mkdir -p "$MF_INBOX/sub"
mk_jpeg "$MF_INBOX/sub/dog.jpg" 800 600
vips black "$MF_INBOX/bomb.png" 20000 20000
mk_jpeg "$T/full.jpg" 1600 1200
head -c 30000 "$T/full.jpg" >"$MF_INBOX/cut.jpg"
ln -s /etc/hostname "$MF_INBOX/escape.jpg"

mf_start worker "$MF_BIN_DIR/mf-worker-image"
cat=$(mf_enqueue cat.jpg)
dog=$(mf_enqueue sub/dog.jpg)
bomb=$(mf_enqueue bomb.png image/png)
cut=$(mf_enqueue cut.jpg)
esc=$(mf_enqueue escape.jpg)

mf_expect_status cat.jpg done
mf_expect_status sub/dog.jpg done
mf_expect_status bomb.png failed
mf_expect_status cut.jpg failed
mf_expect_status escape.jpg failed

# The record of a done image.
mf_assert_eq "$(field "$cat" outputs)" "[\"$cat/thumb-256.webp\",\"$cat/preview-1280.webp\"]" outputs
mf_assert_eq "$(field "$cat" meta | jq -c '[.width, .height, .format]')" '[2000,1500,"jpeg"]' meta
mf_assert_eq "$(field "$cat" attempts)" 1 attempts
mf_assert_eq "$(field "$cat" error)" "" "error of a done record"
[[ "$(field "$cat" worker)" =~ ^.+:$MF_PID_worker$ ]] || mf_fail "worker is '$(field "$cat" worker)'"
[[ "$(field "$cat" process_duration_ms)" =~ ^[0-9]+$ ]] || mf_fail "no process_duration_ms"
for f in thumb-256.webp preview-1280.webp; do
    vipsheader "$MF_OUTBOX/$cat/$f" >/dev/null || mf_fail "$f missing or unreadable"
done
mf_assert_eq "$(vipsheader -f width "$MF_OUTBOX/$cat/thumb-256.webp")" 256 "thumb width"

# meta.json mirrors the record.
m=$MF_OUTBOX/$cat/meta.json
mf_assert_eq "$(jq -r .status "$m")" done "meta.json status"
mf_assert_eq "$(jq -r .id "$m")" "$cat" "meta.json id"
mf_assert_eq "$(jq -r .path "$m")" cat.jpg "meta.json path"
mf_assert_eq "$(jq -c .outputs "$m")" "$(field "$cat" outputs)" "meta.json outputs"
mf_assert_eq "$(jq -c .meta "$m")" "$(field "$cat" meta | jq -c .)" "meta.json meta"
mf_assert_eq "$(jq -r .attempts "$m")" 1 "meta.json attempts"

# Permanent failures: failed at the first attempt, with a readable error, in the DLQ.
mf_assert_eq "$(field "$bomb" error)" "image is 20000x20000 (400 MP), over the 100 MP limit" bomb
mf_assert_eq "$(field "$cut" error)" \
    "cannot decode the jpeg image: VipsJpeg: Premature end of input file" truncated
field "$esc" error | grep -qi symlink || mf_fail "symlink error: $(field "$esc" error)"
for id in "$bomb" "$cut" "$esc"; do
    mf_assert_eq "$(field "$id" attempts)" 1 "attempts of a permanent failure"
done
mf_assert_eq "$(rraw XLEN mf:dlq:image)" 3 "dlq length"
mf_assert_eq "$(rraw XPENDING mf:q:image workers | head -1)" 0 "pending entries"
[ -e "$MF_OUTBOX/$esc/thumb-256.webp" ] && mf_fail "a symlink out of the inbox was followed"

# The worker survived all of it.
kill -0 "$MF_PID_worker" || mf_fail "worker died"
mf_pass
