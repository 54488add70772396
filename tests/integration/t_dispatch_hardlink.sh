#!/usr/bin/env bash
# A hard link made in the inbox (`ln`: no write, no rename, only IN_CREATE) is an upload and is
# recorded without a restart; a file copied in the ordinary way is still recorded once, at its
# close, not at its creation. (Issue 15, item 16.)
source "$(dirname "$0")/lib.sh"
mf_setup
mf_start dispatcher "$MF_BIN_DIR/mf-dispatcher"
mf_wait 10 "dispatcher ready" grep -q 'msg="inbox scanned"' "$T/logs/dispatcher.log"
mk_jpeg "$T/photo.jpg"
mkdir -p "$MF_INBOX/sub"

ln "$T/photo.jpg" "$MF_INBOX/sub/linked.jpg"
mf_expect_status sub/linked.jpg queued 10
id=$(id_of sub/linked.jpg)
mf_assert_eq "$(field "$id" sha256)" "$(sha256sum "$T/photo.jpg" | cut -d' ' -f1)" "sha256"
mf_assert_eq "$(field "$id" size)" "$(stat -c %s "$T/photo.jpg")" "size"

# a second name for a file already in the inbox: a new path, the same content
ln "$MF_INBOX/sub/linked.jpg" "$MF_INBOX/second.jpg"
mf_expect_status second.jpg duplicate 10
mf_assert_eq "$(field "$(id_of second.jpg)" duplicate_of)" "$id" "duplicate_of of second.jpg"

# an ordinary copy (IN_CREATE of a file with one link, then IN_CLOSE_WRITE): one record
mk_jpeg "$T/copy.jpg" 1600 1200
cp "$T/copy.jpg" "$MF_INBOX/copied.jpg"
mf_expect_status copied.jpg queued 10
mf_assert_eq "$(field "$(id_of copied.jpg)" size)" "$(stat -c %s "$T/copy.jpg")" "size of copied.jpg"
n=$(rraw XRANGE mf:events - + | grep -cx copied.jpg)
mf_assert_eq "$n" 1 "events for copied.jpg"
mf_pass
